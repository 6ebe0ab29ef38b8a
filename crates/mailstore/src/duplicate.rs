//! Duplicate delivery suppression (Cyrus `duplicate.db` / `deliver.db`): which Message-IDs
//! have been delivered into which mailbox, so that lmtpd answers 250 for a repeat without
//! appending it again (Cyrus lmtpd `deliver_mailbox`: `duplicate_check` before, and
//! `duplicate_mark` after, a committed append). Entries live in the mailbox owner's database,
//! keyed by (Message-ID, mailbox uniqueid); nothing here is replicated or logged.
//!
//! Must not: decide whether suppression applies (`duplicatesuppression`, the caller's choice).

use rusqlite::{OptionalExtension as _, params};
use types::Uid;

use crate::error::Result;
use crate::model::MailboxEntry;
use crate::store::Store;

impl Store {
    /// True if `message_id` was already delivered into `mailbox`.
    pub fn duplicate_check(&self, mailbox: &MailboxEntry, message_id: &str) -> Result<bool> {
        let owner = self.owner_of(&mailbox.name);
        let id = mailbox.uniqueid.as_str();
        self.owner_read(&owner, |t| {
            Ok(t.tx
                .query_row(
                    "SELECT 1 FROM duplicate WHERE id=?1 AND mailbox=?2",
                    params![message_id, id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    /// Record that `message_id` was delivered into `mailbox` as `uid`.
    pub fn duplicate_mark(&self, mailbox: &MailboxEntry, message_id: &str, uid: Uid) -> Result<()> {
        let owner = self.owner_of(&mailbox.name);
        let id = mailbox.uniqueid.as_str();
        let now = self.now();
        self.owner_write(&owner, |t| {
            t.tx.execute(
                "INSERT INTO duplicate(id, mailbox, mark, uid) VALUES(?1, ?2, ?3, ?4)
                 ON CONFLICT(id, mailbox) DO UPDATE SET mark=excluded.mark, uid=excluded.uid",
                params![message_id, id, now, i64::from(uid.0)],
            )?;
            Ok(())
        })
    }

    /// Forget the marks of `userid`'s mailboxes older than `before` (seconds since the epoch;
    /// cyr_expire `-E`). Returns how many went.
    pub fn duplicate_prune(&self, userid: &str, before: i64) -> Result<usize> {
        let owner = crate::blob::Owner::User(userid.to_owned());
        self.owner_write(&owner, |t| {
            Ok(t.tx.execute("DELETE FROM duplicate WHERE mark < ?1", [before])?)
        })
    }
}
