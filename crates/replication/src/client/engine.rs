//! The sync engine over one connection: mailbox batches (`-m`, rolling groups), full user
//! syncs (`-u`, `-A`, rolling USER) and their reconciliation (csync §9.2–§9.5): compare by
//! uniqueid, rename, delete leftovers that have a local tombstone, RESERVE by GUID, upload
//! only what the replica lacks (APPLY MESSAGE), then APPLY MAILBOX, retrying once on a CRC
//! mismatch.
//!
//! Owns: the order of commands and what to send. Must not: parse options or log files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use csync_proto::cmd::{
    self as wire, ApplyCommand, GetCommand, IntermediateMailbox, Mailbox, MailboxApply,
    MessageFile, ResponseData,
};
use csync_proto::{FileRef, ResultCode};
use mailstore::{MailboxEntry, MailboxHeader, MessageRecord, Store};
use types::{Guid, MboxName, Modseq, Uid};

use super::conn::{PathFiles, Reply, SyncConn, is_nonexistent};
use super::error::SyncErr;

/// Files per APPLY MESSAGE (Cyrus sends at most 1024).
const MAX_FILES_PER_MESSAGE: usize = 1024;
/// GUIDs per APPLY RESERVE.
const MAX_RESERVE: usize = 8192;

/// Engine settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// `-v` count.
    pub verbose: u8,
    /// `-l`: progress lines to the log as well.
    pub log_progress: bool,
    /// `-L`: LOCAL_ variants.
    pub local_only: bool,
    /// `-p`: partition for every mailbox sent.
    pub partition: Option<String>,
    /// `-O`: no copy-back (FORCE sent at connect).
    pub no_copyback: bool,
}

/// One connection's worth of sync work.
#[derive(Debug)]
pub struct Engine<'a> {
    pub store: &'a Store,
    pub conn: SyncConn,
    pub opts: EngineOptions,
}

/// Result of one reconciliation pass.
#[derive(Debug, PartialEq, Eq)]
enum Folders {
    Done,
    Renamed,
}

/// What GET USER / GET META returned.
#[derive(Debug, Default)]
pub(crate) struct UserState {
    pub mailboxes: Vec<Mailbox>,
    pub quotas: Vec<wire::Quota>,
    pub seen: Vec<wire::SeenState>,
    pub lsub: Option<Vec<MboxName>>,
    pub sieve: Vec<wire::SieveEntry>,
}

impl UserState {
    pub(crate) fn from_reply(r: Reply) -> UserState {
        let mut s = UserState::default();
        for d in r.data {
            match d {
                ResponseData::Mailbox(m) => s.mailboxes.push(*m),
                ResponseData::Quota(q) => s.quotas.push(q),
                ResponseData::Seen(x) => s.seen.push(x),
                ResponseData::Lsub(l) => s.lsub = Some(l),
                ResponseData::Sieve(e) => s.sieve.push(e),
                _ => {}
            }
        }
        s
    }
}

/// Mailboxes compared (and updated where needed) by this process, for the progress display.
static MAILBOXES_DONE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Mailboxes this process has compared with the replica so far.
pub fn mailboxes_done() -> u64 {
    MAILBOXES_DONE.load(std::sync::atomic::Ordering::Relaxed)
}

/// A local mailbox read in one snapshot.
struct LocalMailbox {
    entry: MailboxEntry,
    header: MailboxHeader,
    annotations: Vec<mailstore::Annotation>,
    records: Vec<MessageRecord>,
    crcs: (u32, u32),
}

fn to_i(x: i64) -> u64 {
    u64::try_from(x).unwrap_or(0)
}

fn wire_annotation(a: &mailstore::Annotation) -> wire::Annotation {
    wire::Annotation {
        entry: a.entry.clone(),
        userid: a.userid.clone(),
        modseq: a.modseq,
        value: a.value.clone(),
    }
}

fn wire_record(r: &MessageRecord) -> wire::Record {
    wire::Record {
        uid: r.uid,
        modseq: r.modseq,
        last_updated: to_i(r.last_updated),
        flags: wire::Flags {
            system: wire::SystemFlags {
                deleted: r.flags.deleted,
                answered: r.flags.answered,
                flagged: r.flags.flagged,
                draft: r.flags.draft,
                expunged: r.expunged,
                seen: r.flags.seen,
            },
            user: r.user_flags.clone(),
        },
        internaldate: to_i(r.internaldate),
        size: u32::try_from(r.size).unwrap_or(u32::MAX),
        guid: r.guid,
        annotations: r.annotations.iter().map(wire_annotation).collect(),
        cid: r.cid,
        savedate: to_i(r.savedate),
        createdmodseq: r.createdmodseq,
    }
}

/// Mailbox-level annotation sets compare on (entry, userid, value) (csync §9.2 step 5).
fn same_annotations(local: &[mailstore::Annotation], remote: &[wire::Annotation]) -> bool {
    let mut a: Vec<(&str, &str, &[u8])> = local
        .iter()
        .filter(|x| !x.value.is_empty())
        .map(|x| (x.entry.as_str(), x.userid.as_str(), x.value.as_slice()))
        .collect();
    let mut b: Vec<(&str, &str, &[u8])> = remote
        .iter()
        .filter(|x| !x.value.is_empty())
        .map(|x| (x.entry.as_str(), x.userid.as_str(), x.value.as_slice()))
        .collect();
    a.sort();
    b.sort();
    a == b
}

fn crc_eq(a: u32, b: Option<u32>) -> bool {
    let b = b.unwrap_or(0);
    a == 0 || b == 0 || a == b
}

impl Engine<'_> {
    /// Progress line: stdout with `-v`, the log with `-l`.
    pub(crate) fn progress(&self, line: &str) {
        if self.opts.verbose > 0 {
            println!("{line}");
        }
        if self.opts.log_progress {
            tracing::info!("{line}");
        }
    }

    pub(crate) fn get(&mut self, g: GetCommand) -> Result<Reply, SyncErr> {
        self.conn.command("GET", &g.to_keyed())
    }

    pub(crate) fn apply(&mut self, a: ApplyCommand) -> Result<Reply, SyncErr> {
        let r = self.conn.command("APPLY", &a.to_keyed());
        if let Err(SyncErr::Remote { .. }) = &r {
            let e = r
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            tracing::error!("{} received NO response: {e}", apply_name(&a));
        }
        r
    }

    fn target_partition(&self, entry: &MailboxEntry) -> String {
        self.opts.partition.clone().unwrap_or_else(|| {
            entry
                .partition
                .clone()
                .unwrap_or_else(|| self.store.config().default_partition.clone())
        })
    }

    fn read_local(&self, name: &MboxName) -> Result<Option<LocalMailbox>, SyncErr> {
        let r = self.store.read_index(name, |entry, t| {
            let id = entry.uniqueid.as_str();
            let header = t.header(id)?.unwrap_or_default();
            let annotations = t.mailbox_annotations(id)?;
            let records = t.records(id)?;
            Ok((entry.clone(), header, annotations, records))
        });
        match r {
            Ok((entry, header, annotations, records)) => {
                let crcs = mailstore::crc::mailbox_crcs(&records);
                Ok(Some(LocalMailbox {
                    entry,
                    header,
                    annotations,
                    records,
                    crcs,
                }))
            }
            Err(mailstore::StoreError::MailboxNotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET MAILBOXES (names)`: the replica's states (nonexistent = none).
    fn get_mailboxes(&mut self, names: &[MboxName]) -> Result<Vec<Mailbox>, SyncErr> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        match self.get(GetCommand::Mailboxes(names.to_vec())) {
            Ok(r) => Ok(UserState::from_reply(r).mailboxes),
            Err(e) if is_nonexistent(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    // ---- mailbox batches ------------------------------------------------------------------

    /// Sync a set of mailboxes without deleting anything on the replica (csync §9.9 `-m`,
    /// rolling mailbox groups). Names that do not exist locally are skipped.
    pub fn sync_mailboxes(&mut self, names: &[MboxName]) -> Result<(), SyncErr> {
        let mut names: Vec<MboxName> = names.to_vec();
        names.sort();
        names.dedup();
        self.progress(&format!(
            "MAILBOXES {}",
            names
                .iter()
                .map(MboxName::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        ));
        for _ in 0..3 {
            // Local live entries (intermediates included) in list order, plus every former
            // name so renames are found on the replica.
            let mut local = Vec::new();
            let mut ask: Vec<MboxName> = names.clone();
            for n in &names {
                if let Some(e) = self.store.mailbox_entry(n)?
                    && !e.mbtype.deleted
                {
                    for f in self.store.former_names(e.uniqueid.as_str())? {
                        ask.push(f);
                    }
                    local.push(e);
                }
            }
            local.sort_by(|a, b| a.name.cmp(&b.name));
            ask.sort();
            ask.dedup();
            let replica = self.get_mailboxes(&ask)?;
            if self.do_folders(&local, replica, false)? == Folders::Done {
                return Ok(());
            }
        }
        tracing::error!("failed to settle renames after 3 tries!");
        Err(SyncErr::Changed)
    }

    // ---- user sync ------------------------------------------------------------------------

    /// Full user sync (csync §9.5).
    pub fn sync_user(&mut self, userid: &str) -> Result<(), SyncErr> {
        self.progress(&format!("USER {userid}"));
        let inbox = MboxName::user_inbox(userid)
            .map_err(|_| SyncErr::Protocol(format!("invalid userid {userid}")))?;
        let mut state = None;
        for _ in 0..3 {
            let remote = match self.get(GetCommand::User(userid.to_owned())) {
                Ok(r) => UserState::from_reply(r),
                Err(e) if is_nonexistent(&e) => UserState::default(),
                Err(e) => return Err(e),
            };
            if !matches!(self.store.mailbox_entry(&inbox)?, Some(e) if e.mbtype.is_real()) {
                self.progress(&format!("Does not exist locally {userid}"));
                return Ok(());
            }
            let local = self.store.user_mailboxes(userid)?;
            let mailboxes = std::mem::take(&mut state_mailboxes(&remote));
            if self.do_folders(&local, mailboxes, true)? == Folders::Done {
                state = Some((remote, local));
                break;
            }
        }
        let Some((remote, local)) = state else {
            tracing::error!("failed to sync user {userid} after 3 tries");
            return Err(SyncErr::Changed);
        };
        let names: Vec<MboxName> = local.iter().map(|e| e.name.clone()).collect();
        self.sync_quotas(&names, &remote.quotas)?;
        self.sync_meta_with(userid, &remote)?;
        Ok(())
    }

    /// Reconcile local mailboxes with the replica's (csync §9.4).
    fn do_folders(
        &mut self,
        local: &[MailboxEntry],
        replica: Vec<Mailbox>,
        delete: bool,
    ) -> Result<Folders, SyncErr> {
        let by_id: HashMap<String, &Mailbox> = replica
            .iter()
            .map(|m| (m.uniqueid.as_str().to_owned(), m))
            .collect();

        // Reserve (§9.3): GUIDs of records above the replica's LAST_UID, per partition.
        let mut wanted: BTreeMap<String, Vec<Guid>> = BTreeMap::new();
        for e in local.iter().filter(|e| e.mbtype.is_real()) {
            let last = by_id
                .get(e.uniqueid.as_str())
                .map_or(Uid(0), |r| r.last_uid);
            let part = self.target_partition(e);
            let recs = match self.store.records(&e.name) {
                Ok(r) => r,
                Err(mailstore::StoreError::MailboxNotFound(_)) => continue,
                Err(err) => return Err(err.into()),
            };
            let list = wanted.entry(part).or_default();
            list.extend(
                recs.iter()
                    .filter(|r| r.uid > last && !r.expunged)
                    .map(|r| r.guid),
            );
        }
        let mut needs_upload: HashSet<(String, Guid)> = HashSet::new();
        for (part, mut guids) in wanted {
            guids.sort();
            guids.dedup();
            if replica.is_empty() {
                needs_upload.extend(guids.into_iter().map(|g| (part.clone(), g)));
                continue;
            }
            let names: Vec<MboxName> = replica.iter().map(|m| m.mboxname.clone()).collect();
            for chunk in guids.chunks(MAX_RESERVE) {
                let r = self.apply(ApplyCommand::Reserve {
                    partition: part.clone(),
                    mboxnames: names.clone(),
                    guids: chunk.to_vec(),
                })?;
                for d in r.data {
                    if let ResponseData::Missing(m) = d {
                        needs_upload.extend(m.into_iter().map(|g| (part.clone(), g)));
                    }
                }
            }
        }

        // Renames (§9.4 step 2, 4).
        let mut renames: Vec<(MboxName, MboxName, String, types::UidValidity)> = Vec::new();
        let mut matched: HashSet<&str> = HashSet::new();
        for e in local {
            if let Some(r) = by_id.get(e.uniqueid.as_str()) {
                matched.insert(r.uniqueid.as_str());
                if e.mbtype.intermediate {
                    continue;
                }
                let part = self.target_partition(e);
                if r.mboxname != e.name || r.partition.as_deref() != Some(part.as_str()) {
                    renames.push((r.mboxname.clone(), e.name.clone(), part, e.uidvalidity));
                }
            }
        }

        // Leftovers on the replica (§9.4 step 3).
        if delete {
            for r in &replica {
                if matched.contains(r.uniqueid.as_str()) {
                    continue;
                }
                match self.store.mailbox_entry(&r.mboxname)? {
                    Some(e) if e.mbtype.deleted => {
                        self.progress(&format!("UNMAILBOX {}", r.mboxname));
                        match self.apply(ApplyCommand::Unmailbox {
                            local: self.opts.local_only,
                            mboxname: r.mboxname.clone(),
                        }) {
                            Ok(_) => {}
                            Err(e) if is_nonexistent(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    _ => tracing::error!(
                        "SYNCERROR: no tombstone for deleted mailbox {} ({})",
                        r.mboxname,
                        r.uniqueid
                    ),
                }
            }
        }

        if !renames.is_empty() {
            self.do_renames(renames)?;
            return Ok(Folders::Renamed);
        }

        let mut uploaded: HashSet<(String, Guid)> = HashSet::new();
        for e in local {
            let r = by_id.get(e.uniqueid.as_str()).copied();
            if let Err(err) = self.update_mailbox(e, r, &needs_upload, &mut uploaded) {
                tracing::error!("do_folders(): update failed: {} '{err}'", e.name);
                return Err(err);
            }
        }
        Ok(Folders::Done)
    }

    fn do_renames(
        &mut self,
        mut pending: Vec<(MboxName, MboxName, String, types::UidValidity)>,
    ) -> Result<(), SyncErr> {
        while !pending.is_empty() {
            let pos = pending.iter().position(|(_, new, _, _)| {
                !pending
                    .iter()
                    .any(|(old, other_new, _, _)| old == new && other_new != new)
            });
            let Some(i) = pos else {
                tracing::error!("do_folders(): failed to order renames");
                return Err(SyncErr::Changed);
            };
            let (old, new, part, uv) = pending.remove(i);
            self.progress(&format!("RENAME {old} -> {new} ({part})"));
            if let Err(e) = self.apply(ApplyCommand::Rename {
                local: self.opts.local_only,
                old: old.clone(),
                new: new.clone(),
                partition: part,
                uidvalidity: Some(uv),
            }) {
                tracing::error!("do_folders(): failed to rename: {old} -> {new} ");
                return Err(e);
            }
        }
        Ok(())
    }

    /// Update one mailbox (csync §9.2): skip when unchanged, else upload what is missing and
    /// APPLY MAILBOX; on a CRC mismatch re-read both sides and try once more.
    fn update_mailbox(
        &mut self,
        entry: &MailboxEntry,
        remote: Option<&Mailbox>,
        needs_upload: &HashSet<(String, Guid)>,
        uploaded: &mut HashSet<(String, Guid)>,
    ) -> Result<(), SyncErr> {
        MAILBOXES_DONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if entry.mbtype.intermediate {
            let m = MailboxApply::Intermediate(IntermediateMailbox {
                uniqueid: entry.uniqueid.clone(),
                mboxname: entry.name.clone(),
                mboxtype: entry.mbtype.code(),
                highestmodseq: entry.foldermodseq,
                createdmodseq: Some(entry.createdmodseq),
                foldermodseq: Some(entry.foldermodseq),
            });
            self.apply(ApplyCommand::Mailbox {
                local: self.opts.local_only,
                mailbox: m,
            })?;
            return Ok(());
        }
        let mut remote = remote.cloned();
        for attempt in 0..3 {
            let retry = attempt > 0;
            if retry {
                remote = self
                    .get_mailboxes(std::slice::from_ref(&entry.name))?
                    .into_iter()
                    .find(|m| m.uniqueid == entry.uniqueid);
            }
            let Some(local) = self.read_local(&entry.name)? else {
                return Ok(());
            };
            if self.unchanged(&local, remote.as_ref()) {
                return Ok(());
            }
            self.progress(&format!("MAILBOX {}", entry.name));
            let part = self.target_partition(&local.entry);
            let since = remote.as_ref().map_or(Modseq(0), |r| r.highestmodseq);
            let last_uid = remote.as_ref().map_or(Uid(0), |r| r.last_uid);
            if let Some(r) = &remote
                && local.header.deletedmodseq > r.highestmodseq
                && r.highestmodseq.0 != 0
            {
                tracing::info!(
                    "SYNCNOTICE: expunges cleaned up beyond the replica's state: mailbox={}",
                    entry.name
                );
            }
            // On a retry the set's RESERVE may be stale (renumbered records): ask again for
            // this mailbox's new records.
            let mut extra: HashSet<(String, Guid)> = HashSet::new();
            if retry {
                let mut guids: Vec<Guid> = local
                    .records
                    .iter()
                    .filter(|r| r.uid > last_uid && !r.expunged)
                    .map(|r| r.guid)
                    .filter(|g| !uploaded.contains(&(part.clone(), *g)))
                    .collect();
                guids.sort();
                guids.dedup();
                for chunk in guids.chunks(MAX_RESERVE) {
                    let r = self.apply(ApplyCommand::Reserve {
                        partition: part.clone(),
                        mboxnames: vec![entry.name.clone()],
                        guids: chunk.to_vec(),
                    })?;
                    for d in r.data {
                        if let ResponseData::Missing(m) = d {
                            extra.extend(m.into_iter().map(|g| (part.clone(), g)));
                        }
                    }
                }
            }
            // Upload what the replica lacks.
            let mut files: Vec<(MessageFile, PathBuf)> = Vec::new();
            for rec in local
                .records
                .iter()
                .filter(|r| r.uid > last_uid && !r.expunged)
            {
                let key = (part.clone(), rec.guid);
                if !(needs_upload.contains(&key) || extra.contains(&key)) || uploaded.contains(&key)
                {
                    continue;
                }
                let path = self.store.message_path(&entry.name, rec)?;
                let Ok(meta) = std::fs::metadata(&path) else {
                    tracing::error!(
                        "IOERROR: message file missing: mailbox={} uid={} path={}",
                        entry.name,
                        rec.uid,
                        path.display()
                    );
                    continue;
                };
                uploaded.insert(key);
                files.push((
                    MessageFile {
                        partition: part.clone(),
                        guid: rec.guid,
                        size: meta.len(),
                        body: FileRef(0),
                    },
                    path,
                ));
            }
            for chunk in files.chunks(MAX_FILES_PER_MESSAGE) {
                let paths: Vec<PathBuf> = chunk.iter().map(|(_, p)| p.clone()).collect();
                let list: Vec<Option<MessageFile>> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, (f, _))| {
                        Some(MessageFile {
                            body: FileRef(i as u64),
                            ..f.clone()
                        })
                    })
                    .collect();
                let k = ApplyCommand::Message(list).to_keyed();
                self.conn.command_with(
                    "APPLY",
                    &k,
                    &mut PathFiles { paths: &paths },
                    &mut csync_proto::DiscardSink::default(),
                )?;
            }
            let records: Vec<wire::Record> = local
                .records
                .iter()
                .filter(|r| r.modseq > since)
                .map(wire_record)
                .collect();
            let mut m = self.wire_mailbox(&local, part);
            if !retry
                && let Some(r) = &remote
                && r.highestmodseq.0 != 0
            {
                m.since_modseq = Some(r.highestmodseq);
                m.since_crc = Some(r.sync_crc.unwrap_or(0));
                m.since_crc_annot = Some(r.sync_crc_annot.unwrap_or(0));
            }
            m.records = Some(records);
            match self.apply(ApplyCommand::Mailbox {
                local: self.opts.local_only,
                mailbox: MailboxApply::Full(Box::new(m)),
            }) {
                Ok(_) => return Ok(()),
                Err(e) if attempt == 0 && e.is_code(ResultCode::SyncChecksum) => {
                    tracing::info!(
                        "SYNC_NOTICE: CRC failure on sync {}, recalculating counts and trying again",
                        entry.name
                    );
                }
                Err(e)
                    if attempt == 1
                        && e.is_code(ResultCode::SyncChecksum)
                        && !self.opts.no_copyback =>
                {
                    tracing::error!("CRC failure on sync for {}, trying full update", entry.name);
                    self.full_update(entry)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// csync §9.2 step 5.
    fn unchanged(&self, l: &LocalMailbox, r: Option<&Mailbox>) -> bool {
        let Some(r) = r else { return false };
        let h = &l.header;
        let part = self.target_partition(&l.entry);
        let mboxtype_same = match &r.mboxtype {
            None => l.entry.mbtype.code() == "e",
            Some(t) => *t == l.entry.mbtype.code() || (t == "e" && l.entry.mbtype.code() == "e"),
        };
        mboxtype_same
            && r.mboxname == l.entry.name
            && r.partition.as_deref() == Some(part.as_str())
            && r.last_uid == h.last_uid
            && r.highestmodseq == h.highestmodseq
            && r.uidvalidity == l.entry.uidvalidity
            && r.recentuid == h.recentuid
            && r.recenttime == to_i(h.recenttime)
            && r.pop3_last_login == to_i(h.pop3_last_login)
            && r.pop3_show_after.unwrap_or(0) == to_i(h.pop3_show_after)
            && r.options == h.options.letters()
            && r.acl.as_deref() == l.entry.acl.as_deref()
            && r.foldermodseq
                .is_none_or(|f| f.0 == 0 || f == l.entry.foldermodseq)
            && same_annotations(&l.annotations, &r.annotations)
            && crc_eq(l.crcs.0, r.sync_crc)
            && crc_eq(l.crcs.1, r.sync_crc_annot)
    }

    fn wire_mailbox(&self, l: &LocalMailbox, partition: String) -> Mailbox {
        let h = &l.header;
        let code = l.entry.mbtype.code();
        let quotaroot = self
            .store
            .quota_root_of(&l.entry.name)
            .ok()
            .flatten()
            .map(|q| q.to_string());
        Mailbox {
            uniqueid: l.entry.uniqueid.clone(),
            mboxname: l.entry.name.clone(),
            mboxtype: (code != "e").then_some(code),
            sync_crc: Some(l.crcs.0),
            sync_crc_annot: Some(l.crcs.1),
            last_uid: h.last_uid,
            highestmodseq: h.highestmodseq,
            recentuid: h.recentuid,
            recenttime: to_i(h.recenttime),
            last_appenddate: Some(to_i(h.last_appenddate)),
            pop3_last_login: to_i(h.pop3_last_login),
            pop3_show_after: Some(to_i(h.pop3_show_after)),
            xconvmodseq: None,
            raclmodseq: None,
            uidvalidity: l.entry.uidvalidity,
            partition: Some(partition),
            acl: Some(l.entry.acl.clone().unwrap_or_default()),
            options: h.options.letters(),
            quotaroot,
            createdmodseq: Some(l.entry.createdmodseq),
            foldermodseq: Some(l.entry.foldermodseq),
            annotations: l
                .annotations
                .iter()
                .filter(|a| !a.value.is_empty())
                .map(wire_annotation)
                .collect(),
            since_modseq: None,
            since_crc: None,
            since_crc_annot: None,
            records: None,
        }
    }
}

fn state_mailboxes(s: &UserState) -> Vec<Mailbox> {
    s.mailboxes.clone()
}

/// The log word of an APPLY (for `<CMD> received NO response`).
fn apply_name(a: &ApplyCommand) -> String {
    String::from_utf8_lossy(&a.to_keyed().key).into_owned()
}
