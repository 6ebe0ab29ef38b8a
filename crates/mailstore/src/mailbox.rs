//! Mailbox-level operations: lookup and listing, create (with intermediates for missing
//! ancestors), rename (within and across owners, leaving a tombstone), immediate and delayed
//! delete, ACL, mailbox and server annotations, quota roots, and the complete state a GET reply
//! needs (header, annotations, CRCs, quota root).
//!
//! Must not: check access rights (the servers do) or speak a protocol.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use sync_log::Record;
use types::{MboxName, Modseq, UidValidity, UniqueId};

use crate::blob::Owner;
use crate::crc::mailbox_crcs;
use crate::db::{self, meta_get, meta_set, to_i64, to_u64};
use crate::error::{Result, StoreError};
use crate::index::IndexTxn;
use crate::model::{
    Annotation, MailboxEntry, MailboxHeader, MailboxOptions, MailboxState, MbType, QuotaLimits,
    QuotaRoot, QuotaUsage,
};
use crate::store::Store;

/// Rights Cyrus grants a user on their own new INBOX.
pub const OWNER_RIGHTS: &str = "lrswipkxtecdan";

/// How to create a mailbox. `Default` gives an email mailbox on the default partition with the
/// inherited (or owner's) ACL and Cyrus's default options (`P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    pub partition: Option<String>,
    pub acl: Option<String>,
    pub mbtype: MbType,
    pub uniqueid: Option<UniqueId>,
    pub uidvalidity: Option<UidValidity>,
    pub options: MailboxOptions,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            partition: None,
            acl: None,
            mbtype: MbType::EMAIL,
            uniqueid: None,
            uidvalidity: None,
            options: MailboxOptions {
                pop3_new_uidl: true,
                ..Default::default()
            },
        }
    }
}

fn random_u64() -> u64 {
    rand::random()
}

impl Store {
    // ---- lookup ---------------------------------------------------------------------------

    /// The list entry of `name`, tombstones included.
    pub fn mailbox_entry(&self, name: &MboxName) -> Result<Option<MailboxEntry>> {
        self.global_read(|c| db::get_entry(c, name.as_str()))
    }

    /// The live entry (real mailbox or intermediate) of `name`, or `MailboxNotFound`.
    pub fn lookup(&self, name: &MboxName) -> Result<MailboxEntry> {
        match self.mailbox_entry(name)? {
            Some(e) if !e.mbtype.deleted => Ok(e),
            _ => Err(StoreError::MailboxNotFound(name.to_string())),
        }
    }

    /// The live real mailbox `name` (not an intermediate), or `MailboxNotFound`.
    pub(crate) fn lookup_real(&self, name: &MboxName) -> Result<MailboxEntry> {
        let e = self.lookup(name)?;
        if e.mbtype.intermediate {
            return Err(StoreError::MailboxNotFound(name.to_string()));
        }
        Ok(e)
    }

    /// The live entry carrying `uniqueid`.
    pub fn entry_by_uniqueid(&self, uniqueid: &str) -> Result<Option<MailboxEntry>> {
        self.global_read(|c| db::get_entry_by_uniqueid(c, uniqueid))
    }

    /// Every live entry (intermediates included) whose name starts with `prefix`, by name.
    pub fn list_mailboxes(&self, prefix: &str) -> Result<Vec<MailboxEntry>> {
        // Names are case-sensitive: compare bytes, not LIKE (case-insensitive for ASCII).
        self.global_read(|c| {
            db::query_entries(
                c,
                "WHERE tombstone=0 AND substr(name, 1, length(?1)) = ?1",
                &[&prefix],
            )
        })
    }

    /// Every entry, tombstones included, by name (for `-A` and tests).
    pub fn list_all_entries(&self) -> Result<Vec<MailboxEntry>> {
        self.global_read(|c| db::query_entries(c, "", &[]))
    }

    /// A user's mailboxes in Cyrus's list order: INBOX, its children by name, then the user's
    /// delayed-delete copies. Intermediates included, tombstones excluded.
    pub fn user_mailboxes(&self, userid: &str) -> Result<Vec<MailboxEntry>> {
        let owner = Some(userid.to_owned());
        let all = self
            .global_read(|c| db::query_entries(c, "WHERE tombstone=0 AND owner=?1", &[&owner]))?;
        let (mut deleted, mut live): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|e| e.name.is_deleted_copy(&self.cfg.names));
        live.sort_by(|a, b| a.name.cmp(&b.name));
        deleted.sort_by(|a, b| a.name.cmp(&b.name));
        live.extend(deleted);
        Ok(live)
    }

    /// Names this uniqueid had before (replication expands mailbox groups with them).
    pub fn former_names(&self, uniqueid: &str) -> Result<Vec<MboxName>> {
        self.global_read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT name FROM name_history WHERE uniqueid=?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([uniqueid], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for r in rows {
                out.push(MboxName::new(r?)?);
            }
            Ok(out)
        })
    }

    /// Everything a GET reply needs about one live mailbox, or None if it does not exist.
    pub fn mailbox_state(&self, name: &MboxName) -> Result<Option<MailboxState>> {
        let Some(entry) = self.mailbox_entry(name)? else {
            return Ok(None);
        };
        if entry.mbtype.deleted {
            return Ok(None);
        }
        let quotaroot = self.quota_root_of(name)?;
        if entry.mbtype.intermediate {
            return Ok(Some(MailboxState {
                entry,
                header: None,
                annotations: Vec::new(),
                sync_crc: 0,
                sync_crc_annot: 0,
                quotaroot,
            }));
        }
        let owner = self.owner_of(name);
        let id = entry.uniqueid.as_str().to_owned();
        let (header, annotations, crcs) = self.owner_read(&owner, |t| {
            let h = t.header(&id)?.unwrap_or_default();
            let a = t.mailbox_annotations(&id)?;
            let recs = t.records(&id)?;
            Ok((h, a, mailbox_crcs(&recs)))
        })?;
        Ok(Some(MailboxState {
            entry,
            header: Some(header),
            annotations,
            sync_crc: crcs.0,
            sync_crc_annot: crcs.1,
            quotaroot,
        }))
    }

    // ---- create ---------------------------------------------------------------------------

    fn next_uidvalidity(&self, t: &IndexTxn<'_>) -> Result<UidValidity> {
        let last = meta_get(&t.tx, "uidvalidity")?;
        let next = (last + 1).max(self.now().max(1) as u64) & 0xffff_ffff;
        meta_set(&t.tx, "uidvalidity", next)?;
        Ok(UidValidity(next as u32))
    }

    /// Missing ancestors of `name` that must become intermediates, top-down. Refuses a user
    /// sub-mailbox whose INBOX does not exist (Cyrus does too).
    fn missing_ancestors(&self, name: &MboxName) -> Result<Vec<MboxName>> {
        let names = &self.cfg.names;
        if name.is_user_inbox() || name.is_deleted_copy(names) {
            return Ok(Vec::new());
        }
        let is_user = name.userid(names).is_some();
        let mut missing = Vec::new();
        let mut cur = name.parent();
        while let Some(p) = cur {
            let live = matches!(self.mailbox_entry(&p)?, Some(e) if !e.mbtype.deleted);
            if is_user && p.is_user_inbox() {
                if !live {
                    return Err(StoreError::NoParent(p.to_string()));
                }
                break;
            }
            if live {
                break;
            }
            missing.push(p.clone());
            cur = p.parent();
        }
        missing.reverse();
        Ok(missing)
    }

    /// List entries for intermediate placeholders of `names`, with modseqs and UIDVALIDITYs
    /// from the owner's counters.
    fn intermediates(
        &self,
        t: &IndexTxn<'_>,
        names: &[MboxName],
        now: i64,
    ) -> Result<Vec<MailboxEntry>> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let m = t.next_modseq(Modseq(0))?;
            out.push(MailboxEntry {
                name: name.clone(),
                uniqueid: UniqueId::generate(&mut random_u64),
                mbtype: MbType::intermediate(),
                partition: None,
                acl: None,
                uidvalidity: self.next_uidvalidity(t)?,
                createdmodseq: m,
                foldermodseq: m,
                mtime: now,
            });
        }
        Ok(out)
    }

    fn default_acl(&self, name: &MboxName) -> Result<String> {
        if let Some(parent) = name.parent()
            && let Some(e) = self.mailbox_entry(&parent)?
            && e.mbtype.is_real()
            && let Some(acl) = e.acl
        {
            return Ok(acl);
        }
        Ok(match name.userid(&self.cfg.names) {
            Some(u) => format!("{u}\t{OWNER_RIGHTS}\t"),
            None => "anyone\tlrs\t".to_owned(),
        })
    }

    /// Create a mailbox (and intermediates for missing ancestors). Fails if a live mailbox of
    /// that name exists or the uniqueid is in use; replaces a tombstone of the same name.
    pub fn create_mailbox(&self, name: &MboxName, opts: CreateOptions) -> Result<MailboxEntry> {
        let partition = opts
            .partition
            .clone()
            .unwrap_or_else(|| self.cfg.default_partition.clone());
        self.partition_root(&partition)?;
        if let Some(e) = self.mailbox_entry(name)?
            && !e.mbtype.deleted
            && !e.mbtype.intermediate
        {
            return Err(StoreError::MailboxExists(name.to_string()));
        }
        if let Some(id) = &opts.uniqueid
            && let Some(other) = self.entry_by_uniqueid(id.as_str())?
            && other.name != *name
        {
            return Err(StoreError::UniqueIdInUse(id.to_string()));
        }
        let ancestors = self.missing_ancestors(name)?;
        let acl = match opts.acl.clone() {
            Some(a) => a,
            None => self.default_acl(name)?,
        };
        let owner = self.owner_of(name);
        let uniqueid = opts
            .uniqueid
            .clone()
            .unwrap_or_else(|| UniqueId::generate(&mut random_u64));
        let now = self.now();

        let mut records: Vec<Record> = ancestors
            .iter()
            .map(|a| Record::Mailbox(a.to_string()))
            .collect();
        records.push(Record::Mailbox(name.to_string()));
        let _log = self.log_begin(&records)?;

        let mut entries = Vec::new();
        self.owner_write(&owner, |t| {
            entries = self.intermediates(t, &ancestors, now)?;
            let m = t.next_modseq(Modseq(0))?;
            let uidvalidity = match opts.uidvalidity {
                Some(v) => v,
                None => self.next_uidvalidity(t)?,
            };
            if !opts.mbtype.intermediate && !opts.mbtype.deleted {
                t.put_header(
                    uniqueid.as_str(),
                    &MailboxHeader {
                        highestmodseq: m,
                        options: opts.options,
                        ..Default::default()
                    },
                )?;
            }
            entries.push(MailboxEntry {
                name: name.clone(),
                uniqueid: uniqueid.clone(),
                mbtype: opts.mbtype,
                partition: Some(partition.clone()),
                acl: Some(acl.clone()),
                uidvalidity,
                createdmodseq: m,
                foldermodseq: m,
                mtime: now,
            });
            Ok(())
        })?;
        let owner_key = Store::owner_key(&owner);
        self.global_write(|tx| {
            if let Some(e) = db::get_entry(tx, name.as_str())?
                && !e.mbtype.deleted
                && !e.mbtype.intermediate
            {
                return Err(StoreError::MailboxExists(name.to_string()));
            }
            for e in &entries {
                db::put_entry(tx, e, owner_key)?;
            }
            Ok(())
        })?;
        entries
            .pop()
            .ok_or(StoreError::Internal("create produced no entry"))
    }

    // ---- rename ---------------------------------------------------------------------------

    /// Rename `old` and every mailbox below it to the same place under `new` (IMAP RENAME).
    /// Each renamed mailbox keeps its uniqueid and leaves a tombstone under its old name.
    pub fn rename_mailbox_tree(
        &self,
        old: &MboxName,
        new: &MboxName,
        partition: Option<&str>,
    ) -> Result<()> {
        let mut all = vec![self.lookup(old)?];
        let prefix = format!("{}.", old.as_str());
        all.extend(self.list_mailboxes(&prefix)?);
        let mut targets = Vec::new();
        for e in &all {
            let suffix = &e.name.as_str()[old.as_str().len()..];
            targets.push(MboxName::new(format!("{}{suffix}", new.as_str()))?);
        }
        for t in &targets {
            if let Some(e) = self.mailbox_entry(t)?
                && !e.mbtype.deleted
            {
                return Err(StoreError::MailboxExists(t.to_string()));
            }
        }
        for (e, t) in all.iter().zip(&targets) {
            self.rename_mailbox(&e.name, t, partition)?;
        }
        Ok(())
    }

    /// Rename exactly one mailbox as a local change (a new modseq becomes its HIGHESTMODSEQ
    /// and FOLDERMODSEQ): uniqueid, records and annotations move; the old name becomes a
    /// tombstone. `new == old` with another partition only changes the partition label.
    pub fn rename_mailbox(
        &self,
        old: &MboxName,
        new: &MboxName,
        partition: Option<&str>,
    ) -> Result<MailboxEntry> {
        self.rename_one(old, new, partition, None, true)
    }

    /// csync APPLY RENAME on a replica: like [`Store::rename_mailbox`] but no modseq is
    /// allocated; FOLDERMODSEQ becomes the current HIGHESTMODSEQ and UIDVALIDITY is set if
    /// given (csync §5.5).
    pub fn replica_rename(
        &self,
        old: &MboxName,
        new: &MboxName,
        partition: Option<&str>,
        uidvalidity: Option<UidValidity>,
    ) -> Result<MailboxEntry> {
        self.rename_one(old, new, partition, uidvalidity, false)
    }

    fn rename_one(
        &self,
        old: &MboxName,
        new: &MboxName,
        partition: Option<&str>,
        uidvalidity: Option<UidValidity>,
        local_change: bool,
    ) -> Result<MailboxEntry> {
        let entry = self.lookup(old)?;
        if let Some(p) = partition {
            self.partition_root(p)?;
        }
        let same_name = old == new;
        if !same_name
            && let Some(e) = self.mailbox_entry(new)?
            && !e.mbtype.deleted
        {
            return Err(StoreError::MailboxExists(new.to_string()));
        }
        let ancestors = if same_name {
            Vec::new()
        } else {
            self.missing_ancestors(new)?
        };
        let old_owner = self.owner_of(old);
        let new_owner = self.owner_of(new);
        let id = entry.uniqueid.as_str().to_owned();
        let now = self.now();
        // No `APPEND <new>`: Cyrus 3.6 writes one only when it copies a legacy-layout mailbox
        // into a new structure (mailbox_rename_copy); uniqueid-addressed mailboxes are renamed
        // in place, even into another user (checked against 3.6.1 by sync_log_parity).
        let records = [
            Record::Rename(old.to_string(), new.to_string()),
            Record::Mailbox(old.to_string()),
            Record::Mailbox(new.to_string()),
        ];
        let _log = self.log_begin(&records)?;

        if old_owner != new_owner && entry.mbtype.is_real() {
            self.move_index(&entry, &old_owner, &new_owner)?;
        }
        let mut new_entry = entry.clone();
        new_entry.name = new.clone();
        if let Some(p) = partition {
            new_entry.partition = Some(p.to_owned());
        }
        if let Some(v) = uidvalidity {
            new_entry.uidvalidity = v;
        }
        new_entry.mtime = now;
        let mut inter = Vec::new();
        self.owner_write(&new_owner, |t| {
            inter = self.intermediates(t, &ancestors, now)?;
            if entry.mbtype.is_real() {
                let mut h = t.header_required(&id)?;
                new_entry.foldermodseq = h.highestmodseq.max(entry.foldermodseq);
                // A local (non-replica) rename is a change: give it a modseq of its own.
                if local_change {
                    h.highestmodseq = t.next_modseq(h.highestmodseq)?;
                    new_entry.foldermodseq = h.highestmodseq;
                    t.put_header(&id, &h)?;
                }
            }
            Ok(())
        })?;
        let new_key = Store::owner_key(&new_owner).map(str::to_owned);
        let old_key = Store::owner_key(&old_owner).map(str::to_owned);
        self.global_write(|tx| {
            if !same_name {
                if let Some(e) = db::get_entry(tx, new.as_str())?
                    && !e.mbtype.deleted
                {
                    return Err(StoreError::MailboxExists(new.to_string()));
                }
                let mut tomb = entry.clone();
                tomb.mbtype = entry.mbtype.tombstone();
                tomb.mtime = now;
                db::put_entry(tx, &tomb, old_key.as_deref())?;
            }
            for e in &inter {
                db::put_entry(tx, e, new_key.as_deref())?;
            }
            db::put_entry(tx, &new_entry, new_key.as_deref())?;
            tx.execute(
                "INSERT INTO name_history(uniqueid, name, time, uidvalidity, foldermodseq, mbtype,
                                          partition) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    entry.uniqueid.as_str(),
                    old.as_str(),
                    now,
                    entry.uidvalidity.0 as i64,
                    to_i64(entry.foldermodseq.0),
                    entry.mbtype.code(),
                    entry.partition,
                ],
            )?;
            Ok(())
        })?;
        Ok(new_entry)
    }

    /// Copy a mailbox's index and bodies from one owner to another, then drop the old copy.
    fn move_index(&self, entry: &MailboxEntry, from: &Owner, to: &Owner) -> Result<()> {
        let id = entry.uniqueid.as_str();
        let partition = entry
            .partition
            .clone()
            .unwrap_or_else(|| self.cfg.default_partition.clone());
        let root = self.partition_root(&partition)?.to_owned();
        let (header, recs, annots) = self.owner_read(from, |t| {
            Ok((
                t.header_required(id)?,
                t.records(id)?,
                t.mailbox_annotations(id)?,
            ))
        })?;
        for r in &recs {
            let src = crate::blob::body_path(&root, from, &r.guid);
            if src.exists() {
                let staged =
                    crate::blob::StagedBody::from_verified_file(src, &partition, r.guid, r.size);
                self.link_body(to, &staged)?;
            }
        }
        self.owner_write(to, |t| {
            t.put_header(id, &header)?;
            for r in &recs {
                t.put_record(id, r)?;
            }
            t.replace_mailbox_annotations(id, &annots)?;
            t.raise_modseq_counter(header.highestmodseq)
        })?;
        let guids = self.owner_write(from, |t| t.delete_mailbox(id))?;
        self.gc_bodies(from, &partition, &guids);
        Ok(())
    }

    // ---- delete ---------------------------------------------------------------------------

    /// Delete a mailbox now (`delete_mode: immediate`, replica UNMAILBOX): its records,
    /// annotations and now-unused bodies go; the name becomes a tombstone, or an intermediate
    /// if it still has children.
    pub fn delete_mailbox(&self, name: &MboxName) -> Result<()> {
        let entry = self.lookup(name)?;
        let prefix = format!("{}.", name.as_str());
        let has_children = !self.list_mailboxes(&prefix)?.is_empty();
        let owner = self.owner_of(name);
        // Cyrus 3.6 writes `UNMAILBOX <name>` from mailbox_delete and then `MAILBOX <name>`
        // when the deleted mailbox's lock is released (checked against a real 3.6.1 by
        // bins/tests/sync_log_parity.rs); both lead the rolling client to the tombstone.
        let records = if has_children {
            vec![Record::Mailbox(name.to_string())]
        } else {
            vec![
                Record::Unmailbox(name.to_string()),
                Record::Mailbox(name.to_string()),
            ]
        };
        let _log = self.log_begin(&records)?;
        let id = entry.uniqueid.as_str().to_owned();
        let (guids, modseq) = self.owner_write(&owner, |t| {
            let floor = t.header(&id)?.map(|h| h.highestmodseq).unwrap_or_default();
            let m = t.next_modseq(floor.max(entry.foldermodseq))?;
            Ok((t.delete_mailbox(&id)?, m))
        })?;
        let mut new_entry = entry.clone();
        new_entry.mbtype = if has_children {
            MbType::intermediate()
        } else {
            entry.mbtype.tombstone()
        };
        new_entry.foldermodseq = modseq;
        new_entry.mtime = self.now();
        if has_children {
            new_entry.uniqueid = UniqueId::generate(&mut random_u64);
        }
        let key = Store::owner_key(&owner).map(str::to_owned);
        self.global_write(|tx| db::put_entry(tx, &new_entry, key.as_deref()))?;
        if let Some(p) = &entry.partition {
            self.gc_bodies(&owner, p, &guids);
        }
        Ok(())
    }

    /// Delayed delete (`delete_mode: delayed`, the 3.6 default): rename the mailbox and its
    /// children to `<deletedprefix>.<name>.<hex time>`; returns the new name.
    pub fn delete_mailbox_delayed(&self, name: &MboxName) -> Result<MboxName> {
        let target = self.deleted_name(name)?;
        self.rename_mailbox_tree(name, &target, None)?;
        Ok(target)
    }

    /// Delayed delete of one mailbox only (its children, if any, stay where they are), as
    /// Cyrus's `mboxlist_delayed_deletemailbox`: rename to `<deletedprefix>.<name>.<hex time>`;
    /// returns the new name.
    pub fn delete_mailbox_delayed_one(&self, name: &MboxName) -> Result<MboxName> {
        let target = self.deleted_name(name)?;
        self.rename_mailbox(name, &target, None)?;
        Ok(target)
    }

    fn deleted_name(&self, name: &MboxName) -> Result<MboxName> {
        let hex = format!("{:X}", self.now().max(0) as u64);
        let target = match name.domain() {
            Some(d) => format!(
                "{d}!{}.{}.{hex}",
                self.cfg.names.deleted_prefix,
                name.local()
            ),
            None => format!("{}.{}.{hex}", self.cfg.names.deleted_prefix, name.as_str()),
        };
        Ok(MboxName::new(target)?)
    }

    /// Remove a tombstone or intermediate entry completely (replica cleanup, sync_reset).
    pub fn purge_entry(&self, name: &MboxName) -> Result<()> {
        self.global_write(|tx| {
            tx.execute(
                "DELETE FROM mailbox WHERE name=?1 AND (tombstone=1 OR mbtype LIKE '%i%')",
                [name.as_str()],
            )?;
            Ok(())
        })
    }

    // ---- ACL and annotations --------------------------------------------------------------

    /// Bump the mailbox's HIGHESTMODSEQ for a mailbox-level change and return the new value.
    fn folder_change(&self, entry: &MailboxEntry, t: &IndexTxn<'_>) -> Result<Modseq> {
        let id = entry.uniqueid.as_str();
        let mut h = t.header_required(id)?;
        h.highestmodseq = t.next_modseq(h.highestmodseq.max(entry.foldermodseq))?;
        t.put_header(id, &h)?;
        Ok(h.highestmodseq)
    }

    /// Set the ACL string verbatim.
    pub fn set_acl(&self, name: &MboxName, acl: &str) -> Result<()> {
        let entry = self.lookup_real(name)?;
        let owner = self.owner_of(name);
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        let m = self.owner_write(&owner, |t| self.folder_change(&entry, t))?;
        self.global_write(|tx| {
            tx.execute(
                "UPDATE mailbox SET acl=?2, foldermodseq=?3, mtime=?4 WHERE name=?1",
                params![name.as_str(), acl, to_i64(m.0), self.now()],
            )?;
            Ok(())
        })
    }

    /// Set (non-empty value) or delete (empty value) a mailbox-level annotation.
    pub fn set_mailbox_annotation(
        &self,
        name: &MboxName,
        entry_name: &str,
        userid: &str,
        value: &[u8],
    ) -> Result<()> {
        let entry = self.lookup_real(name)?;
        let owner = self.owner_of(name);
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        let m = self.owner_write(&owner, |t| {
            let m = self.folder_change(&entry, t)?;
            t.set_mailbox_annotation(
                entry.uniqueid.as_str(),
                &Annotation {
                    entry: entry_name.to_owned(),
                    userid: userid.to_owned(),
                    value: value.to_vec(),
                    modseq: m,
                },
            )?;
            Ok(m)
        })?;
        self.global_write(|tx| {
            tx.execute(
                "UPDATE mailbox SET foldermodseq=?2 WHERE name=?1",
                params![name.as_str(), to_i64(m.0)],
            )?;
            Ok(())
        })
    }

    pub fn mailbox_annotations(&self, name: &MboxName) -> Result<Vec<Annotation>> {
        let entry = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| {
            t.mailbox_annotations(entry.uniqueid.as_str())
        })
    }

    /// Server-level annotations (mailbox name `""`), sorted.
    pub fn server_annotations(&self) -> Result<Vec<Annotation>> {
        self.global_read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT entry, userid, value, modseq FROM server_annotation
                 ORDER BY entry, userid, value",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Annotation {
                    entry: r.get(0)?,
                    userid: r.get(1)?,
                    value: r.get(2)?,
                    modseq: Modseq(to_u64(r.get(3)?)),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Set (or with an empty value delete) a server annotation; logs `ANNOTATION ""`.
    pub fn set_server_annotation(&self, entry: &str, userid: &str, value: &[u8]) -> Result<()> {
        let _log = self.log_begin(&[Record::Annotation(String::new())])?;
        self.global_write(|tx| {
            if value.is_empty() {
                tx.execute(
                    "DELETE FROM server_annotation WHERE entry=?1 AND userid=?2",
                    params![entry, userid],
                )?;
            } else {
                let m = meta_get(tx, "server_annot_modseq")? + 1;
                meta_set(tx, "server_annot_modseq", m)?;
                tx.execute(
                    "INSERT INTO server_annotation(entry, userid, value, modseq)
                     VALUES(?1, ?2, ?3, ?4) ON CONFLICT(entry, userid)
                     DO UPDATE SET value=excluded.value, modseq=excluded.modseq",
                    params![entry, userid, value, to_i64(m)],
                )?;
            }
            Ok(())
        })
    }

    // ---- quota ----------------------------------------------------------------------------

    pub fn quota(&self, root: &MboxName) -> Result<Option<QuotaRoot>> {
        self.global_read(|c| {
            c.query_row(
                "SELECT storage, message, annot_storage, num_folders, modseq FROM quota
                 WHERE root=?1",
                [root.as_str()],
                |r| {
                    let opt = |i: usize| -> rusqlite::Result<Option<u64>> {
                        Ok(r.get::<_, Option<i64>>(i)?.map(to_u64))
                    };
                    Ok(QuotaRoot {
                        root: root.clone(),
                        limits: QuotaLimits {
                            storage: opt(0)?,
                            message: opt(1)?,
                            annotation_storage: opt(2)?,
                            num_folders: opt(3)?,
                        },
                        modseq: Modseq(to_u64(r.get(4)?)),
                    })
                },
            )
            .optional()
            .map_err(Into::into)
        })
    }

    /// Create or change a quota root. `modseq: Some` stores exactly that modseq (replica,
    /// "silent"); `None` allocates a new one.
    pub fn set_quota(
        &self,
        root: &MboxName,
        limits: QuotaLimits,
        modseq: Option<Modseq>,
    ) -> Result<()> {
        // A new root (local change) changes the QUOTAROOT of every mailbox it now governs
        // (those without a root or under a root above it); Cyrus 3.6 rewrites those
        // mailboxes' headers and so logs `MAILBOX` for each of them, before `QUOTA`.
        let mut records = Vec::new();
        if modseq.is_none() && self.quota(root)?.is_none() {
            let mut governed = vec![self.lookup(root)?];
            governed.extend(self.list_mailboxes(&format!("{}.", root.as_str()))?);
            for e in governed {
                let changes = match self.quota_root_of(&e.name)? {
                    None => true,
                    Some(r) => root.as_str().starts_with(&format!("{}.", r.as_str())),
                };
                if e.mbtype.is_real() && changes {
                    records.push(Record::Mailbox(e.name.to_string()));
                }
            }
        }
        records.push(Record::Quota(root.to_string()));
        let _log = self.log_begin(&records)?;
        let modseq = match modseq {
            Some(m) => m,
            None => self.owner_write(&self.owner_of(root), |t| t.next_modseq(Modseq(0)))?,
        };
        let v = |x: Option<u64>| x.map(to_i64);
        self.global_write(|tx| {
            tx.execute(
                "INSERT INTO quota(root, storage, message, annot_storage, num_folders, modseq)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(root) DO UPDATE SET
                 storage=excluded.storage, message=excluded.message,
                 annot_storage=excluded.annot_storage, num_folders=excluded.num_folders,
                 modseq=excluded.modseq",
                params![
                    root.as_str(),
                    v(limits.storage),
                    v(limits.message),
                    v(limits.annotation_storage),
                    v(limits.num_folders),
                    to_i64(modseq.0)
                ],
            )?;
            Ok(())
        })
    }

    /// Remove a quota root; Ok(false) if there was none.
    pub fn remove_quota(&self, root: &MboxName) -> Result<bool> {
        let _log = self.log_begin(&[Record::Quota(root.to_string())])?;
        self.global_write(|tx| {
            Ok(tx.execute("DELETE FROM quota WHERE root=?1", [root.as_str()])? > 0)
        })
    }

    /// The nearest quota root at or above `name`.
    pub fn quota_root_of(&self, name: &MboxName) -> Result<Option<MboxName>> {
        self.global_read(|c| {
            let mut stmt = c.prepare_cached("SELECT 1 FROM quota WHERE root=?1")?;
            let mut cur = Some(name.clone());
            while let Some(n) = cur {
                if stmt.exists([n.as_str()])? {
                    return Ok(Some(n));
                }
                cur = n.parent();
            }
            Ok(None)
        })
    }

    /// Quota roots governing any of `names`, without duplicates, in first-seen order.
    pub fn quota_roots_for(&self, names: &[MboxName]) -> Result<Vec<QuotaRoot>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for n in names {
            if let Some(r) = self.quota_root_of(n)?
                && seen.insert(r.clone())
                && let Some(q) = self.quota(&r)?
            {
                out.push(q);
            }
        }
        Ok(out)
    }

    /// Usage under `root`: mailboxes at or below it whose nearest root is `root`.
    pub fn quota_usage(&self, root: &MboxName) -> Result<QuotaUsage> {
        let mut usage = QuotaUsage::default();
        let mut mailboxes = vec![];
        if let Ok(e) = self.lookup(root) {
            mailboxes.push(e);
        }
        mailboxes.extend(self.list_mailboxes(&format!("{}.", root.as_str()))?);
        for e in mailboxes {
            if !e.mbtype.is_real() || self.quota_root_of(&e.name)?.as_ref() != Some(root) {
                continue;
            }
            usage.folders += 1;
            let id = e.uniqueid.as_str().to_owned();
            let (bytes, count) = self.owner_read(&self.owner_of(&e.name), |t| {
                Ok(t.tx.query_row(
                    "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM record
                     WHERE mailbox=?1 AND expunged=0",
                    [&id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )?)
            })?;
            usage.storage_bytes += bytes as u64;
            usage.messages += count as u64;
        }
        Ok(usage)
    }
}
