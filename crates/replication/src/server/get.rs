//! GET commands (csync §4): the replica's state as a Cyrus 3.6.1 sync_server reports it, field
//! for field, so a master compares like with like.
//!
//! Must not: change anything.

use std::fs::File;
use std::io::{self, Write};

use csync_proto::cmd::{
    Annotation as WireAnnotation, Flags, GetCommand, Mailbox, MailboxAnnotation, Quota,
    QuotaLimits as WireLimits, Record, ResponseData, SeenState as WireSeen, SieveEntry,
    SieveScript as WireScript, SystemFlags as WireSysFlags,
};
use csync_proto::{
    DValue, FileLit, FileRef, Keyed, NoFiles, ResultCode, Role, Serializer, SyncError,
};
use mailstore::{
    Annotation, MailboxState, MbKind, MessageRecord, QuotaRoot, SeenState, SieveScript, Store,
};
use types::{Guid, MboxName, Modseq, Uid};

use super::{Replica, Res, store_err};

const NONEXISTENT: SyncError = SyncError::Code(ResultCode::MailboxNonexistent);

pub(crate) fn data_line(out: &mut dyn Write, d: &ResponseData) -> Res<()> {
    write_keyed(out, &d.to_keyed())
}

fn write_keyed(out: &mut dyn Write, k: &Keyed) -> Res<()> {
    Serializer::new(Role::Server)
        .line(out, b"* ", k, &mut NoFiles)
        .map_err(|_| SyncError::Unknown)
}

pub(crate) fn run(r: &mut Replica, cmd: &GetCommand, out: &mut dyn Write) -> Res<()> {
    let store = r.store.clone();
    let store = &*store;
    match cmd {
        GetCommand::User(userid) => {
            let boxes = user_mailboxes(r, userid)?;
            let mut names = Vec::new();
            let mut any_real = false;
            for st in &boxes {
                any_real |= st.entry.mbtype.is_real();
                names.push(st.entry.name.clone());
                data_line(
                    out,
                    &ResponseData::Mailbox(Box::new(wire_mailbox(store, st))),
                )?;
            }
            for q in store.quota_roots_for(&names).map_err(store_err)? {
                data_line(out, &ResponseData::Quota(wire_quota(&q)))?;
            }
            if any_real {
                meta(r, userid, out)?;
            }
            Ok(())
        }
        GetCommand::Meta(userid) => meta(r, userid, out),
        GetCommand::Mailboxes(names) => {
            for name in names {
                if let Some(st) = state(r, name)? {
                    data_line(
                        out,
                        &ResponseData::Mailbox(Box::new(wire_mailbox(store, &st))),
                    )?;
                }
            }
            Ok(())
        }
        GetCommand::UniqueIds(ids) => {
            for id in ids {
                let Some(e) = store.entry_by_uniqueid(id.as_str()).map_err(store_err)? else {
                    continue;
                };
                if let Some(st) = state(r, &e.name)? {
                    data_line(
                        out,
                        &ResponseData::Mailbox(Box::new(wire_mailbox(store, &st))),
                    )?;
                }
            }
            Ok(())
        }
        GetCommand::FullMailbox(name) => {
            let st = state(r, name)?.ok_or(NONEXISTENT)?;
            if !st.entry.mbtype.is_real() {
                return Err(NONEXISTENT);
            }
            let recs = store.records(name).map_err(store_err)?;
            let mut m = wire_mailbox(store, &st);
            m.records = Some(recs.iter().map(wire_record).collect());
            data_line(out, &ResponseData::Mailbox(Box::new(m)))
        }
        GetCommand::Quota(root) => {
            let Ok(root) = MboxName::new(root.as_str()) else {
                return Ok(());
            };
            if let Some(q) = store.quota(&root).map_err(store_err)? {
                data_line(out, &ResponseData::Quota(wire_quota(&q)))?;
            }
            Ok(())
        }
        GetCommand::Annotation(name) => {
            let annots = if name.is_empty() {
                store.server_annotations().map_err(store_err)?
            } else {
                let Ok(mbox) = MboxName::new(name.as_str()) else {
                    return Ok(());
                };
                match store.mailbox_annotations(&mbox) {
                    Ok(a) => a,
                    Err(mailstore::StoreError::MailboxNotFound(_)) => Vec::new(),
                    Err(e) => return Err(store_err(e)),
                }
            };
            for a in annots {
                data_line(
                    out,
                    &ResponseData::Annotation(MailboxAnnotation {
                        mboxname: name.clone(),
                        entry: a.entry,
                        userid: a.userid,
                        value: Some(a.value),
                    }),
                )?;
            }
            Ok(())
        }
        GetCommand::Fetch {
            mboxname,
            partition,
            uniqueid,
            guid,
            uid,
        } => {
            let rec = store.record(mboxname, *uid).map_err(store_err)?;
            let entry = store.lookup(mboxname).map_err(store_err)?;
            let Some(rec) = rec.filter(|_| entry.uniqueid == *uniqueid) else {
                return Err(NONEXISTENT);
            };
            let path = store.message_path(mboxname, &rec).map_err(store_err)?;
            let matches = match mailstore_hash(&path) {
                Ok(g) => g == *guid,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(NONEXISTENT),
                Err(_) => return Err(SyncError::Unknown),
            };
            if !matches {
                return data_line(out, &ResponseData::Message(None));
            }
            let size = std::fs::metadata(&path).map_err(|_| NONEXISTENT)?.len();
            let k = Keyed {
                key: b"MESSAGE".to_vec(),
                value: DValue::File(FileLit {
                    partition: partition.clone().into_bytes(),
                    guid: *guid,
                    size,
                    body: FileRef(0),
                }),
            };
            // The body is not copied here: the session streams it from the file after the
            // header (memory stays bounded whatever the size, DESIGN.md). Partition names are
            // atoms in practice; anything else goes the buffered way, quoted by the serialiser.
            if partition.is_empty() || !partition.bytes().all(wire::is_atom_char) {
                let mut source = |_: &FileRef, w: &mut dyn Write| -> io::Result<()> {
                    let f = File::open(&path)?;
                    io::copy(&mut io::Read::take(f, size), w).map(drop)
                };
                return Serializer::new(Role::Server)
                    .line(out, b"* ", &k, &mut source)
                    .map_err(|_| SyncError::Unknown);
            }
            write!(
                out,
                "* MESSAGE %{{{partition} {} {size}}}\r\n",
                guid.to_hex()
            )
            .map_err(|_| SyncError::Unknown)?;
            r.pending_file = Some((path, size));
            Ok(())
        }
        GetCommand::FetchSieve { userid, filename } => {
            let name = filename.strip_suffix(".script").ok_or(NONEXISTENT)?;
            let scripts = store.sieve_scripts(userid).map_err(store_err)?;
            let s = scripts
                .into_iter()
                .find(|s| s.name == name)
                .ok_or(NONEXISTENT)?;
            data_line(
                out,
                &ResponseData::SieveScript(WireScript {
                    userid: userid.clone(),
                    filename: filename.clone(),
                    content: s.content,
                }),
            )
        }
    }
}

fn mailstore_hash(path: &std::path::Path) -> io::Result<Guid> {
    let mut f = File::open(path)?;
    let mut h = types::GuidHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// A live mailbox's state, hiding `#sieve` mailboxes unless SIEVE-MAILBOX is on.
fn state(r: &Replica, name: &MboxName) -> Res<Option<MailboxState>> {
    let st = r.store.mailbox_state(name).map_err(store_err)?;
    Ok(st.filter(|s| r.sieve_mailbox || s.entry.mbtype.kind != MbKind::Sieve))
}

fn user_mailboxes(r: &Replica, userid: &str) -> Res<Vec<MailboxState>> {
    let mut out = Vec::new();
    for e in r.store.user_mailboxes(userid).map_err(store_err)? {
        if let Some(st) = state(r, &e.name)? {
            out.push(st);
        }
    }
    Ok(out)
}

/// SEEN*, LSUB?, SIEVE* (csync §4.1 step 3, §4.5).
fn meta(r: &Replica, userid: &str, out: &mut dyn Write) -> Res<()> {
    let store = &*r.store;
    for (uniqueid, s) in store.all_seen(userid).map_err(store_err)? {
        let Some(uniqueid) = types::UniqueId::new(uniqueid) else {
            continue;
        };
        data_line(out, &ResponseData::Seen(wire_seen(uniqueid, &s)))?;
    }
    let subs: Vec<MboxName> = store
        .subscriptions(userid)
        .map_err(store_err)?
        .into_iter()
        .filter_map(|s| MboxName::new(s).ok())
        .collect();
    if !subs.is_empty() {
        data_line(out, &ResponseData::Lsub(subs))?;
    }
    if !r.sieve_mailbox {
        for e in sieve_entries(&store.sieve_scripts(userid).map_err(store_err)?) {
            data_line(out, &ResponseData::Sieve(e))?;
        }
    }
    Ok(())
}

/// `<name>.script` per script, plus `<name>.bc` for the active one (csync §3.14).
pub(crate) fn sieve_entries(scripts: &[SieveScript]) -> Vec<SieveEntry> {
    let mut out = Vec::new();
    for s in scripts {
        out.push(SieveEntry {
            filename: format!("{}.script", s.name),
            last_update: s.last_update.max(0) as u64,
            guid: Some(s.guid()),
            isactive: Some(false),
        });
        if s.active {
            out.push(SieveEntry {
                filename: format!("{}.bc", s.name),
                last_update: 0,
                guid: Some(Guid([0; 20])),
                isactive: Some(true),
            });
        }
    }
    out
}

fn wire_seen(uniqueid: types::UniqueId, s: &SeenState) -> WireSeen {
    WireSeen {
        uniqueid,
        lastread: s.lastread.max(0) as u64,
        lastuid: s.lastuid,
        lastchange: s.lastchange.max(0) as u64,
        seenuids: s.seenuids.clone(),
    }
}

fn limit32(v: Option<u64>) -> Option<u32> {
    v.map(|n| u32::try_from(n).unwrap_or(u32::MAX - 1))
}

pub(crate) fn wire_quota(q: &QuotaRoot) -> Quota {
    Quota {
        root: q.root.to_string(),
        limits: WireLimits {
            storage: limit32(q.limits.storage),
            message: limit32(q.limits.message),
            annotation_storage: limit32(q.limits.annotation_storage),
            num_folders: limit32(q.limits.num_folders),
        },
        modseq: Some(q.modseq),
    }
}

fn wire_annotation(a: &Annotation) -> WireAnnotation {
    WireAnnotation {
        entry: a.entry.clone(),
        userid: a.userid.clone(),
        modseq: a.modseq,
        value: a.value.clone(),
    }
}

fn nonzero(m: Modseq) -> Option<Modseq> {
    (m.0 != 0).then_some(m)
}

/// A MAILBOX line as Cyrus 3.6.1's `mailbox_cb` writes it (csync §4.1 step 1).
pub(crate) fn wire_mailbox(store: &Store, st: &MailboxState) -> Mailbox {
    let e = &st.entry;
    let Some(h) = st.header.filter(|_| e.mbtype.is_real()) else {
        return Mailbox {
            uniqueid: e.uniqueid.clone(),
            mboxname: e.name.clone(),
            mboxtype: Some(e.mbtype.code()),
            sync_crc: Some(0),
            sync_crc_annot: None,
            last_uid: Uid(0),
            highestmodseq: Modseq(0),
            recentuid: Uid(0),
            recenttime: 0,
            last_appenddate: Some(0),
            pop3_last_login: 0,
            pop3_show_after: Some(0),
            xconvmodseq: None,
            raclmodseq: None,
            uidvalidity: e.uidvalidity,
            partition: e.partition.clone(),
            acl: e.acl.clone(),
            options: String::new(),
            quotaroot: None,
            createdmodseq: Some(e.createdmodseq),
            foldermodseq: Some(e.foldermodseq),
            annotations: Vec::new(),
            since_modseq: None,
            since_crc: None,
            since_crc_annot: None,
            records: None,
        };
    };
    let plain = e.mbtype.kind == MbKind::Email && e.mbtype.code() == "e";
    Mailbox {
        uniqueid: e.uniqueid.clone(),
        mboxname: e.name.clone(),
        mboxtype: (!plain).then(|| e.mbtype.code()),
        sync_crc: Some(st.sync_crc),
        sync_crc_annot: Some(st.sync_crc_annot),
        last_uid: h.last_uid,
        highestmodseq: h.highestmodseq,
        recentuid: h.recentuid,
        recenttime: h.recenttime.max(0) as u64,
        last_appenddate: Some(h.last_appenddate.max(0) as u64),
        pop3_last_login: h.pop3_last_login.max(0) as u64,
        pop3_show_after: Some(h.pop3_show_after.max(0) as u64),
        xconvmodseq: nonzero(h.xconvmodseq),
        raclmodseq: nonzero(h.raclmodseq),
        uidvalidity: e.uidvalidity,
        partition: Some(
            e.partition
                .clone()
                .unwrap_or_else(|| store.config().default_partition.clone()),
        ),
        acl: Some(e.acl.clone().unwrap_or_default()),
        options: h.options.letters(),
        quotaroot: st.quotaroot.as_ref().map(ToString::to_string),
        createdmodseq: nonzero(e.createdmodseq),
        foldermodseq: nonzero(e.foldermodseq),
        annotations: st.annotations.iter().map(wire_annotation).collect(),
        since_modseq: None,
        since_crc: None,
        since_crc_annot: None,
        records: None,
    }
}

/// A RECORD kvlist (csync §3.10).
pub(crate) fn wire_record(r: &MessageRecord) -> Record {
    Record {
        uid: r.uid,
        modseq: r.modseq,
        last_updated: r.last_updated.max(0) as u64,
        flags: Flags {
            system: WireSysFlags {
                deleted: r.flags.deleted,
                answered: r.flags.answered,
                flagged: r.flags.flagged,
                draft: r.flags.draft,
                expunged: r.expunged,
                seen: r.flags.seen,
            },
            user: r.user_flags.clone(),
        },
        internaldate: r.internaldate.max(0) as u64,
        size: u32::try_from(r.size).unwrap_or(u32::MAX),
        guid: r.guid,
        annotations: r.annotations.iter().map(wire_annotation).collect(),
        cid: r.cid,
        savedate: r.savedate.max(0) as u64,
        createdmodseq: r.createdmodseq,
    }
}
