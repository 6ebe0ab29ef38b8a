//! Per-user data: seen state for mailboxes the user does not own, subscriptions, sieve scripts
//! and the active script, and deleting a whole user.
//!
//! Must not: decide whose seen state goes where (the owner's \Seen lives in the records; the
//! servers choose), or speak a protocol.

use sync_log::Record;
use types::MboxName;

use crate::blob::Owner;
use crate::error::{Result, StoreError};
use crate::model::{SeenState, SieveScript};
use crate::store::Store;

fn user(userid: &str) -> Result<Owner> {
    if userid.is_empty() || userid.contains(['\r', '\n', '\0']) {
        return Err(StoreError::Invalid(format!("bad userid {userid:?}")));
    }
    Ok(Owner::User(userid.to_owned()))
}

impl Store {
    pub fn seen(&self, userid: &str, uniqueid: &str) -> Result<Option<SeenState>> {
        self.owner_read(&user(userid)?, |t| t.seen(uniqueid))
    }

    /// Every seen entry of the user, by mailbox uniqueid.
    pub fn all_seen(&self, userid: &str) -> Result<Vec<(String, SeenState)>> {
        self.owner_read(&user(userid)?, |t| t.all_seen())
    }

    /// Store (replace) the user's seen state for a mailbox; logs `SEEN <user> <uniqueid>`.
    pub fn set_seen(&self, userid: &str, uniqueid: &str, state: &SeenState) -> Result<()> {
        let owner = user(userid)?;
        let _log = self.log_begin(&[Record::Seen(userid.to_owned(), uniqueid.to_owned())])?;
        self.owner_write(&owner, |t| t.put_seen(uniqueid, state))
    }

    pub fn subscriptions(&self, userid: &str) -> Result<Vec<String>> {
        self.owner_read(&user(userid)?, |t| t.subscriptions())
    }

    /// Subscribe or unsubscribe (mailboxes need not exist); logs `SUB <user> <mailbox>` for
    /// both, as Cyrus does. Returns whether anything changed.
    pub fn set_subscribed(&self, userid: &str, name: &MboxName, on: bool) -> Result<bool> {
        let owner = user(userid)?;
        let _log = self.log_begin(&[Record::Sub(userid.to_owned(), name.to_string())])?;
        self.owner_write(&owner, |t| t.set_subscribed(name.as_str(), on))
    }

    pub fn sieve_scripts(&self, userid: &str) -> Result<Vec<SieveScript>> {
        self.owner_read(&user(userid)?, |t| t.sieve_scripts())
    }

    /// Store a script (replacing one of the same name); logs `META <user>`.
    pub fn put_sieve(
        &self,
        userid: &str,
        name: &str,
        content: &[u8],
        last_update: Option<i64>,
    ) -> Result<()> {
        if name.is_empty() || name.contains(['/', '\0', '\r', '\n']) {
            return Err(StoreError::Invalid(format!(
                "bad sieve script name {name:?}"
            )));
        }
        let owner = user(userid)?;
        let when = last_update.unwrap_or_else(|| self.now());
        let _log = self.log_begin(&[Record::Meta(userid.to_owned())])?;
        self.owner_write(&owner, |t| t.put_sieve(name, content, when))
    }

    /// Delete a script (deactivating it first if active); Ok(false) if it did not exist.
    pub fn delete_sieve(&self, userid: &str, name: &str) -> Result<bool> {
        let owner = user(userid)?;
        let _log = self.log_begin(&[Record::Meta(userid.to_owned())])?;
        self.owner_write(&owner, |t| t.delete_sieve(name))
    }

    /// Make `name` the active script, or none with `None`.
    pub fn activate_sieve(&self, userid: &str, name: Option<&str>) -> Result<()> {
        let owner = user(userid)?;
        let _log = self.log_begin(&[Record::Meta(userid.to_owned())])?;
        self.owner_write(&owner, |t| t.activate_sieve(name))
    }

    /// Delete a user completely: every mailbox (children first, INBOX last, delayed-delete
    /// copies included), seen state, subscriptions, sieve scripts and quota roots; logs
    /// `UNUSER <user>` (csync APPLY UNUSER, sync_reset).
    pub fn delete_user(&self, userid: &str) -> Result<()> {
        let owner = user(userid)?;
        let mut mailboxes = self.user_mailboxes(userid)?;
        mailboxes.sort_by(|a, b| b.name.cmp(&a.name));
        for e in &mailboxes {
            if e.mbtype.is_real() {
                self.delete_mailbox(&e.name)?;
            }
        }
        let _log = self.log_begin(&[Record::Unuser(userid.to_owned())])?;
        self.owner_write(&owner, |t| t.wipe())?;
        let key = Some(userid.to_owned());
        self.global_write(|tx| {
            let mut stmt = tx.prepare("SELECT name FROM mailbox WHERE owner=?1")?;
            let names: Vec<String> = stmt
                .query_map([&key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            for n in &names {
                tx.execute("DELETE FROM quota WHERE root=?1", [n])?;
            }
            tx.execute("DELETE FROM mailbox WHERE owner=?1 AND tombstone=0", [&key])?;
            Ok(())
        })
    }

    /// Rename a user (admin `RENAME user/a user/b`, `allowusermoves: yes`), as Cyrus 3.6:
    /// every mailbox of the user moves (RENAME + MAILBOX old + MAILBOX new each, keeping
    /// uniqueids), the user's seen state, subscriptions (names under the old INBOX follow)
    /// and sieve scripts move to the new userid, then `UNUSER <old>` and `USER <new>` are
    /// logged.
    pub fn rename_user(&self, old: &str, new: &str) -> Result<()> {
        let (from, to) = (user(old)?, user(new)?);
        let old_inbox = MboxName::user_inbox(old)?;
        let new_inbox = MboxName::user_inbox(new)?;
        self.rename_mailbox_tree(&old_inbox, &new_inbox, None)?;
        let (seen, subs, sieve) = self.owner_read(&from, |t| {
            Ok((t.all_seen()?, t.subscriptions()?, t.sieve_scripts()?))
        })?;
        let old_prefix = format!("{}.", old_inbox.as_str());
        let _log =
            self.log_begin(&[Record::Unuser(old.to_owned()), Record::User(new.to_owned())])?;
        self.owner_write(&to, |t| {
            for (uniqueid, st) in &seen {
                t.put_seen(uniqueid, st)?;
            }
            for m in &subs {
                let renamed = if m == old_inbox.as_str() {
                    new_inbox.to_string()
                } else if let Some(rest) = m.strip_prefix(&old_prefix) {
                    format!("{}.{rest}", new_inbox.as_str())
                } else {
                    m.clone()
                };
                t.set_subscribed(&renamed, true)?;
            }
            for sc in &sieve {
                t.put_sieve(&sc.name, &sc.content, sc.last_update)?;
                if sc.active {
                    t.activate_sieve(Some(&sc.name))?;
                }
            }
            Ok(())
        })?;
        self.owner_write(&from, |t| t.wipe_user_data())
    }

    /// Delete a user with `delete_mode: delayed`, as Cyrus 3.6 imapd does for `DELETE
    /// user/<u>`: every live mailbox of the user (INBOX first, then the others in name order)
    /// is renamed on its own to `<deletedprefix>.<name>.<hex>` (logging `RENAME`, `MAILBOX`
    /// old, `MAILBOX` new each); then the user's seen state, subscriptions, sieve scripts and
    /// quota roots go, and `UNUSER <user>` is logged. The `DELETED.…` copies keep their
    /// messages until removed (cyr_expire).
    pub fn delete_user_delayed(&self, userid: &str) -> Result<()> {
        let owner = user(userid)?;
        let mailboxes = self.user_mailboxes(userid)?;
        for e in &mailboxes {
            if e.mbtype.is_real() && !e.name.is_deleted_copy(&self.cfg.names) {
                self.delete_mailbox_delayed_one(&e.name)?;
            }
        }
        let _log = self.log_begin(&[Record::Unuser(userid.to_owned())])?;
        self.owner_write(&owner, |t| t.wipe_user_data())?;
        let inbox = MboxName::user_inbox(userid)?.to_string();
        let prefix = format!("{inbox}.");
        self.global_write(|tx| {
            tx.execute(
                "DELETE FROM quota WHERE root=?1 OR substr(root, 1, length(?2)) = ?2",
                [inbox.as_str(), prefix.as_str()],
            )?;
            tx.execute(
                "DELETE FROM mailbox WHERE owner=?1 AND tombstone=0 AND mbtype LIKE '%i%'",
                [userid],
            )?;
            Ok(())
        })
    }
}
