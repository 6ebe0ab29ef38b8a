//! Replica primitives: storing exactly the state a master sends — list entries (including the
//! intermediate and tombstone forms) with the master's uniqueid, UIDVALIDITY, partition, ACL
//! and modseqs; records with the master's UIDs, modseqs and times; bodies staged by GUID.
//! No modseq is allocated here (csync §3.15); the owner's counter is only raised.
//!
//! The policy of APPLY MAILBOX (sanity checks, CRC comparison) belongs to sync_server, which
//! runs its dry run and its writes inside [`Store::replica_write`].
//! Must not: allocate UIDs or modseqs, or speak csync.

use sync_log::Record;
use types::MboxName;

use crate::blob::StagedBody;
use crate::db;
use crate::error::{Result, StoreError};
use crate::index::IndexTxn;
use crate::model::{MailboxEntry, MailboxHeader};
use crate::store::Store;

impl Store {
    /// Write a list entry exactly as given (create, update, intermediate or tombstone form).
    /// If it replaces a real mailbox by an intermediate/tombstone, or a mailbox with another
    /// uniqueid, the old index and its unused bodies are discarded. A real entry gets an empty
    /// header if it has none yet.
    pub fn replica_put_entry(&self, entry: &MailboxEntry) -> Result<()> {
        if let Some(p) = &entry.partition
            && entry.mbtype.is_real()
        {
            self.partition_root(p)?;
        }
        let owner = self.owner_of(&entry.name);
        let old = self.mailbox_entry(&entry.name)?;
        let _log = self.log_begin(&[Record::Mailbox(entry.name.to_string())])?;
        if let Some(old) = &old {
            let replaced = old.uniqueid != entry.uniqueid || !entry.mbtype.is_real();
            if old.mbtype.is_real() && replaced {
                let id = old.uniqueid.as_str().to_owned();
                let guids = self.owner_write(&owner, |t| t.delete_mailbox(&id))?;
                if let Some(p) = &old.partition {
                    self.gc_bodies(&owner, p, &guids);
                }
            }
        }
        let id = entry.uniqueid.as_str().to_owned();
        let is_real = entry.mbtype.is_real();
        self.owner_write(&owner, |t| {
            t.raise_modseq_counter(entry.foldermodseq.max(entry.createdmodseq))?;
            if is_real && t.header(&id)?.is_none() {
                t.put_header(&id, &MailboxHeader::default())?;
            }
            Ok(())
        })?;
        let key = Store::owner_key(&owner).map(str::to_owned);
        self.global_write(|tx| {
            if let Some(other) = db::get_entry_by_uniqueid(tx, entry.uniqueid.as_str())?
                && other.name != entry.name
                && is_real
            {
                return Err(StoreError::UniqueIdInUse(entry.uniqueid.to_string()));
            }
            db::put_entry(tx, entry, key.as_deref())
        })
    }

    /// Run `f` on the index of the live real mailbox `name` in one write transaction; `f` sees
    /// the list entry and may read and write header, records and annotations exactly. Logs
    /// `MAILBOX <name>` (only to channels the replica's configuration enables).
    pub fn replica_write<T>(
        &self,
        name: &MboxName,
        f: impl FnOnce(&MailboxEntry, &IndexTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        let entry = self.lookup_real(name)?;
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        self.owner_write(&self.owner_of(name), |t| f(&entry, t))
    }

    /// Read the index of `name` in one consistent snapshot.
    pub fn read_index<T>(
        &self,
        name: &MboxName,
        f: impl FnOnce(&MailboxEntry, &IndexTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        let entry = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| f(&entry, t))
    }

    /// Make a staged body (its SHA-1 already verified by the caller) available to mailbox
    /// `name`; durable when this returns.
    pub fn replica_store_body(&self, name: &MboxName, body: &StagedBody) -> Result<()> {
        self.link_body(&self.owner_of(name), body).map(drop)
    }

    /// APPLY RESERVE support (csync §5.1): the body file of `guid` held for any of `mailboxes`
    /// (same-partition mailboxes first), verified to hash to `guid`. Mailboxes that do not
    /// exist are skipped; a file whose bytes no longer match is ignored.
    pub fn find_body(
        &self,
        partition: &str,
        mailboxes: &[MboxName],
        guid: &types::Guid,
    ) -> Result<Option<std::path::PathBuf>> {
        let mut candidates = Vec::new();
        for name in mailboxes {
            let Ok(e) = self.lookup_real(name) else {
                continue;
            };
            let p = e
                .partition
                .unwrap_or_else(|| self.cfg.default_partition.clone());
            let same = p == partition;
            candidates.push((!same, self.owner_of(name), p));
        }
        candidates.sort();
        candidates.dedup();
        for (_, owner, p) in candidates {
            let path = self.body_path(&owner, &p, guid)?;
            match crate::blob::hash_file(&path) {
                Ok(g) if g == *guid => return Ok(Some(path)),
                Ok(_) => tracing::warn!("body {} does not match its GUID", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Update ACL, partition label, UIDVALIDITY and FOLDERMODSEQ of a list entry exactly.
    pub fn replica_update_entry(&self, entry: &MailboxEntry) -> Result<()> {
        let owner = self.owner_of(&entry.name);
        let key = Store::owner_key(&owner).map(str::to_owned);
        self.global_write(|tx| db::put_entry(tx, entry, key.as_deref()))
    }
}
