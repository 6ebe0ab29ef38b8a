//! Message-level operations of a mail server: append (one or many mailboxes, UID and modseq
//! allocation), flag changes (with CONDSTORE's UNCHANGEDSINCE), expunge, copy and move,
//! message annotations, and the \Recent and POP3 bookkeeping that replicates.
//!
//! Every change allocates a fresh modseq from the owner's counter, so modseqs are unique and
//! increasing across all of a user's mailboxes, as in Cyrus 3.
//! Must not: check ACLs or quotas (servers do), or speak a protocol.

use std::path::PathBuf;
use std::sync::Arc;

use sync_log::Record;
use types::{MboxName, Modseq, Uid};

use crate::blob::{Owner, StagedBody};
use crate::error::{Result, StoreError};
use crate::index::IndexTxn;
use crate::model::{Annotation, MailboxEntry, MessageRecord, SystemFlags};
use crate::store::Store;

/// Flags and dates for a new message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOptions {
    pub flags: SystemFlags,
    pub user_flags: Vec<String>,
    /// INTERNALDATE; `None` = now.
    pub internaldate: Option<i64>,
    pub annotations: Vec<Annotation>,
}

/// What a successful append produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub uid: Uid,
    pub modseq: Modseq,
}

/// How STORE changes flags (RFC 3501 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// Flags named by a STORE command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagChange {
    pub system: SystemFlags,
    pub user: Vec<String>,
}

/// Outcome of a flag change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagResult {
    /// Records whose flags changed, with their new modseq.
    pub changed: Vec<(Uid, Modseq)>,
    /// UIDs refused because their modseq exceeded UNCHANGEDSINCE (RFC 7162 §3.1.3).
    pub modified: Vec<Uid>,
}

fn apply_flags(rec: &mut MessageRecord, op: FlagOp, change: &FlagChange) {
    let s = &change.system;
    let f = &mut rec.flags;
    match op {
        FlagOp::Replace => {
            *f = *s;
            rec.user_flags = change.user.clone();
        }
        FlagOp::Add | FlagOp::Remove => {
            let on = op == FlagOp::Add;
            for (named, slot) in [
                (s.deleted, &mut f.deleted),
                (s.answered, &mut f.answered),
                (s.flagged, &mut f.flagged),
                (s.draft, &mut f.draft),
                (s.seen, &mut f.seen),
            ] {
                if named {
                    *slot = on;
                }
            }
            for u in &change.user {
                let pos = rec
                    .user_flags
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(u));
                match (on, pos) {
                    (true, None) => rec.user_flags.push(u.clone()),
                    (false, Some(i)) => {
                        rec.user_flags.remove(i);
                    }
                    _ => {}
                }
            }
        }
    }
}

fn same_user_flags(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|x| b.iter().any(|y| y.eq_ignore_ascii_case(x)))
}

impl Store {
    fn append_in(
        &self,
        t: &IndexTxn<'_>,
        entry: &MailboxEntry,
        body: (&types::Guid, u64),
        opts: &AppendOptions,
    ) -> Result<Appended> {
        let id = entry.uniqueid.as_str();
        let mut h = t.header_required(id)?;
        let now = self.now();
        let modseq = t.next_modseq(h.highestmodseq)?;
        let uid = Uid(h
            .last_uid
            .0
            .checked_add(1)
            .ok_or_else(|| StoreError::NotSupported(entry.name.to_string()))?);
        let mut annotations = opts.annotations.clone();
        for a in &mut annotations {
            a.modseq = modseq;
        }
        annotations.sort();
        t.put_record(
            id,
            &MessageRecord {
                uid,
                modseq,
                last_updated: now,
                internaldate: opts.internaldate.unwrap_or(now),
                savedate: now,
                size: body.1,
                guid: *body.0,
                cid: 0,
                basecid: 0,
                createdmodseq: modseq,
                flags: opts.flags,
                expunged: false,
                user_flags: opts.user_flags.clone(),
                annotations,
            },
        )?;
        h.last_uid = uid;
        h.highestmodseq = modseq;
        h.last_appenddate = now;
        t.put_header(id, &h)?;
        Ok(Appended { uid, modseq })
    }

    /// Append one staged body to `name`. The body is linked (durably) before the sync log and
    /// the index commit; when this returns Ok the message is on disk.
    pub fn append(
        &self,
        name: &MboxName,
        body: &StagedBody,
        opts: &AppendOptions,
    ) -> Result<Appended> {
        let mut v = self.append_batch(name, &[(body, opts.clone())])?;
        v.pop()
            .ok_or(StoreError::Internal("append produced no result"))
    }

    /// Append several bodies to one mailbox in one transaction (MULTIAPPEND, copy-in).
    pub fn append_batch(
        &self,
        name: &MboxName,
        items: &[(&StagedBody, AppendOptions)],
    ) -> Result<Vec<Appended>> {
        let entry = self.lookup_real(name)?;
        let owner = self.owner_of(name);
        for (body, _) in items {
            self.check_partition(&entry, body)?;
            self.link_body(&owner, body)?;
        }
        let _log = self.log_begin(&[
            Record::Append(name.to_string()),
            Record::Mailbox(name.to_string()),
        ])?;
        self.owner_write(&owner, |t| {
            items
                .iter()
                .map(|(b, o)| self.append_in(t, &entry, (&b.guid(), b.size()), o))
                .collect()
        })
    }

    /// Deliver one body to several mailboxes (LMTP with many recipients): the body is linked
    /// once per owner, all records are logged in one write, and each owner's index commits
    /// once. Results are per target, in order; a failing target does not fail the others.
    pub fn append_to_many(
        &self,
        targets: &[(MboxName, AppendOptions)],
        body: &StagedBody,
    ) -> Vec<Result<Appended>> {
        let mut results: Vec<Option<Result<Appended>>> = targets.iter().map(|_| None).collect();
        let mut entries = Vec::new();
        let mut records = Vec::new();
        let mut linked: Vec<Owner> = Vec::new();
        for (i, (name, _)) in targets.iter().enumerate() {
            let r = (|| {
                let e = self.lookup_real(name)?;
                self.check_partition(&e, body)?;
                let owner = self.owner_of(name);
                if !linked.contains(&owner) {
                    self.link_body(&owner, body)?;
                    linked.push(owner.clone());
                }
                Ok((e, owner))
            })();
            match r {
                Ok((e, owner)) => {
                    records.push(Record::Append(name.to_string()));
                    records.push(Record::Mailbox(name.to_string()));
                    entries.push((i, e, owner));
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let finish = |results: Vec<Option<Result<Appended>>>| -> Vec<Result<Appended>> {
            results
                .into_iter()
                .map(|r| r.unwrap_or(Err(StoreError::Internal("append target without result"))))
                .collect()
        };
        let guard = match self.log_begin(&records) {
            Ok(g) => g,
            Err(e) => {
                let e = Arc::new(e);
                for (i, _, _) in &entries {
                    results[*i] = Some(Err(StoreError::Shared(e.clone())));
                }
                return finish(results);
            }
        };
        let append = |t: &IndexTxn<'_>, i: usize, e: &MailboxEntry| {
            self.append_in(t, e, (&body.guid(), body.size()), &targets[i].1)
        };
        // Group by owner so each owner's database commits once.
        let mut owners: Vec<Owner> = entries.iter().map(|(_, _, o)| o.clone()).collect();
        owners.sort();
        owners.dedup();
        for owner in owners {
            let mine: Vec<&(usize, MailboxEntry, Owner)> =
                entries.iter().filter(|(_, _, o)| *o == owner).collect();
            let group = self.owner_write(&owner, |t| {
                mine.iter()
                    .map(|(i, e, _)| append(t, *i, e))
                    .collect::<Result<Vec<_>>>()
            });
            match group {
                Ok(v) => {
                    for ((i, _, _), a) in mine.iter().zip(v) {
                        results[*i] = Some(Ok(a));
                    }
                }
                // One bad target must not fail the others: redo them one by one, so each
                // gets its own outcome and error.
                Err(_) => {
                    for (i, e, _) in &mine {
                        results[*i] = Some(self.owner_write(&owner, |t| append(t, *i, e)));
                    }
                }
            }
        }
        drop(guard);
        finish(results)
    }

    fn check_partition(&self, entry: &MailboxEntry, body: &StagedBody) -> Result<()> {
        let p = entry
            .partition
            .as_deref()
            .unwrap_or(&self.cfg.default_partition);
        if p != body.partition() {
            return Err(StoreError::Invalid(format!(
                "body staged on partition {} but mailbox {} is on {p}",
                body.partition(),
                entry.name
            )));
        }
        Ok(())
    }

    /// All records of a mailbox in UID order (expunged ones included).
    pub fn records(&self, name: &MboxName) -> Result<Vec<MessageRecord>> {
        let e = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| t.records(e.uniqueid.as_str()))
    }

    /// Records with MODSEQ > `since`.
    pub fn records_since(&self, name: &MboxName, since: Modseq) -> Result<Vec<MessageRecord>> {
        let e = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| {
            t.records_since(e.uniqueid.as_str(), since)
        })
    }

    pub fn record(&self, name: &MboxName, uid: Uid) -> Result<Option<MessageRecord>> {
        let e = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| t.record(e.uniqueid.as_str(), uid))
    }

    pub fn header(&self, name: &MboxName) -> Result<crate::model::MailboxHeader> {
        let e = self.lookup_real(name)?;
        self.owner_read(&self.owner_of(name), |t| {
            t.header_required(e.uniqueid.as_str())
        })
    }

    /// The file holding a message of mailbox `name`.
    pub fn message_path(&self, name: &MboxName, rec: &MessageRecord) -> Result<PathBuf> {
        let e = self.lookup_real(name)?;
        let p = e
            .partition
            .as_deref()
            .unwrap_or(&self.cfg.default_partition);
        self.body_path(&self.owner_of(name), p, &rec.guid)
    }

    /// Change flags of `uids` (non-existent or expunged UIDs are skipped). Each changed record
    /// gets a new modseq.
    pub fn store_flags(
        &self,
        name: &MboxName,
        uids: &[Uid],
        op: FlagOp,
        change: &FlagChange,
        unchanged_since: Option<Modseq>,
    ) -> Result<FlagResult> {
        let entry = self.lookup_real(name)?;
        let id = entry.uniqueid.as_str().to_owned();
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        self.owner_write(&self.owner_of(name), |t| {
            let mut h = t.header_required(&id)?;
            let mut out = FlagResult::default();
            let now = self.now();
            for mut rec in t.records_for(&id, uids)? {
                let uid = rec.uid;
                if rec.expunged {
                    continue;
                }
                if unchanged_since.is_some_and(|u| rec.modseq > u) {
                    out.modified.push(uid);
                    continue;
                }
                let before = (rec.flags, rec.user_flags.clone());
                apply_flags(&mut rec, op, change);
                if rec.flags == before.0 && same_user_flags(&rec.user_flags, &before.1) {
                    continue;
                }
                rec.modseq = t.next_modseq(h.highestmodseq)?;
                rec.last_updated = now;
                h.highestmodseq = rec.modseq;
                t.update_record_state(&id, &rec)?;
                out.changed.push((uid, rec.modseq));
            }
            if !out.changed.is_empty() {
                t.put_header(&id, &h)?;
            }
            Ok(out)
        })
    }

    /// Expunge `uids` (delayed expunge: the record stays, flagged expunged, with a new
    /// modseq). Returns the UIDs actually expunged.
    pub fn expunge(&self, name: &MboxName, uids: &[Uid]) -> Result<Vec<Uid>> {
        let entry = self.lookup_real(name)?;
        let id = entry.uniqueid.as_str().to_owned();
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        self.owner_write(&self.owner_of(name), |t| {
            let mut h = t.header_required(&id)?;
            let now = self.now();
            let mut done = Vec::new();
            for mut rec in t.records_for(&id, uids)? {
                if rec.expunged {
                    continue;
                }
                rec.expunged = true;
                rec.modseq = t.next_modseq(h.highestmodseq)?;
                rec.last_updated = now;
                h.highestmodseq = rec.modseq;
                t.update_record_state(&id, &rec)?;
                done.push(rec.uid);
            }
            if !done.is_empty() {
                t.put_header(&id, &h)?;
            }
            Ok(done)
        })
    }

    /// Copy `uids` from `src` to `dst` (flags, internaldate and annotations kept; new UIDs).
    /// Returns (source UID, new UID) pairs in order. With `expunge_source` it is a MOVE.
    pub fn copy_messages(
        &self,
        src: &MboxName,
        dst: &MboxName,
        uids: &[Uid],
        expunge_source: bool,
    ) -> Result<Vec<(Uid, Uid)>> {
        let s = self.lookup_real(src)?;
        let d = self.lookup_real(dst)?;
        let (so, dw) = (self.owner_of(src), self.owner_of(dst));
        let sp = s
            .partition
            .clone()
            .unwrap_or_else(|| self.cfg.default_partition.clone());
        let dp = d
            .partition
            .clone()
            .unwrap_or_else(|| self.cfg.default_partition.clone());
        let mut recs = self.owner_read(&so, |t| t.records_for(s.uniqueid.as_str(), uids))?;
        recs.retain(|r| !r.expunged);
        if recs.is_empty() {
            return Ok(Vec::new());
        }
        if so != dw || sp != dp {
            for r in &recs {
                let path = self.body_path(&so, &sp, &r.guid)?;
                let staged = StagedBody::from_verified_file(path, &dp, r.guid, r.size);
                self.link_body(&dw, &staged)?;
            }
        }
        let mut records = vec![
            Record::DoubleMailbox(src.to_string(), dst.to_string()),
            Record::Append(dst.to_string()),
            Record::Mailbox(dst.to_string()),
        ];
        if expunge_source {
            records.push(Record::Mailbox(src.to_string()));
        }
        let _log = self.log_begin(&records)?;
        let pairs = self.owner_write(&dw, |t| {
            let mut out = Vec::new();
            for r in &recs {
                let opts = AppendOptions {
                    flags: r.flags,
                    user_flags: r.user_flags.clone(),
                    internaldate: Some(r.internaldate),
                    annotations: r.annotations.clone(),
                };
                let a = self.append_in(t, &d, (&r.guid, r.size), &opts)?;
                out.push((r.uid, a.uid));
            }
            Ok(out)
        })?;
        if expunge_source {
            let sid = s.uniqueid.as_str().to_owned();
            self.owner_write(&so, |t| {
                let mut h = t.header_required(&sid)?;
                let now = self.now();
                for r in &recs {
                    let mut r = r.clone();
                    r.expunged = true;
                    r.modseq = t.next_modseq(h.highestmodseq)?;
                    r.last_updated = now;
                    h.highestmodseq = r.modseq;
                    t.update_record_state(&sid, &r)?;
                }
                t.put_header(&sid, &h)
            })?;
        }
        Ok(pairs)
    }

    /// Set (or with an empty value delete) a per-message annotation.
    pub fn set_message_annotation(
        &self,
        name: &MboxName,
        uid: Uid,
        entry_name: &str,
        userid: &str,
        value: &[u8],
    ) -> Result<Modseq> {
        let entry = self.lookup_real(name)?;
        let id = entry.uniqueid.as_str().to_owned();
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        self.owner_write(&self.owner_of(name), |t| {
            let mut h = t.header_required(&id)?;
            let mut rec = t
                .record(&id, uid)?
                .filter(|r| !r.expunged)
                .ok_or_else(|| StoreError::Invalid(format!("no message with UID {uid}")))?;
            rec.modseq = t.next_modseq(h.highestmodseq)?;
            rec.last_updated = self.now();
            rec.annotations
                .retain(|a| !(a.entry == entry_name && a.userid == userid));
            if !value.is_empty() {
                rec.annotations.push(Annotation {
                    entry: entry_name.to_owned(),
                    userid: userid.to_owned(),
                    value: value.to_vec(),
                    modseq: rec.modseq,
                });
                rec.annotations.sort();
            }
            h.highestmodseq = rec.modseq;
            t.put_record(&id, &rec)?;
            t.put_header(&id, &h)?;
            Ok(rec.modseq)
        })
    }

    /// Owner's \Recent bookkeeping on SELECT (replicated as RECENTUID/RECENTTIME).
    pub fn set_recent(&self, name: &MboxName, recentuid: Uid, recenttime: i64) -> Result<()> {
        self.update_header(name, |h| {
            h.recentuid = recentuid;
            h.recenttime = recenttime;
        })
    }

    /// POP3 login time (replicated as POP3_LAST_LOGIN).
    pub fn set_pop3_login(&self, name: &MboxName, time: i64) -> Result<()> {
        self.update_header(name, |h| h.pop3_last_login = time)
    }

    fn update_header(
        &self,
        name: &MboxName,
        f: impl FnOnce(&mut crate::model::MailboxHeader),
    ) -> Result<()> {
        let entry = self.lookup_real(name)?;
        let id = entry.uniqueid.as_str().to_owned();
        let _log = self.log_begin(&[Record::Mailbox(name.to_string())])?;
        self.owner_write(&self.owner_of(name), |t| {
            let mut h = t.header_required(&id)?;
            f(&mut h);
            t.put_header(&id, &h)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_ops() {
        let mut r = MessageRecord {
            user_flags: vec!["$Junk".into()],
            ..Default::default()
        };
        let ch = FlagChange {
            system: SystemFlags {
                seen: true,
                ..Default::default()
            },
            user: vec!["$junk".into(), "Work".into()],
        };
        apply_flags(&mut r, FlagOp::Add, &ch);
        assert!(r.flags.seen);
        assert_eq!(r.user_flags, vec!["$Junk".to_owned(), "Work".to_owned()]);
        apply_flags(&mut r, FlagOp::Remove, &ch);
        assert!(!r.flags.seen);
        assert!(r.user_flags.is_empty());
        apply_flags(&mut r, FlagOp::Replace, &ch);
        assert_eq!(r.user_flags.len(), 2);
    }
}
