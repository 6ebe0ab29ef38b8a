//! Recipient checks and delivery against the mailstore (blocking: callers run these on a
//! blocking thread), following Cyrus `lmtpd.c`: `verify_user` at RCPT, `deliver_local` at the
//! end of DATA.
//!
//! - RCPT: the user's INBOX (or the shared mailbox) must exist; a shared mailbox needs `p` for
//!   the MAIL `AUTH=` identity (or anonymous); the quota root must not already be over its
//!   limit unless `IGNOREQUOTA` (with `lmtp_strict_quota`, the `SIZE=` and one message count).
//! - DATA: `user+folder` goes to the folder when it exists, grants `p` to the poster and is not
//!   over quota; otherwise to the INBOX. Several recipients resolving to the same mailbox get
//!   one copy (Cyrus's duplicate suppression by Message-ID within the transaction).
//! - One body file per partition; [`mailstore::Store::append_to_many`] links it once per owner,
//!   writes `APPEND`+`MAILBOX` sync-log records, and commits each owner once, so every 250
//!   is sent after the message is durable.
//!
//! Must not: speak LMTP beyond choosing the per-recipient [`Outcome`].

use std::collections::BTreeMap;
use std::io::Write;

use mailstore::{AppendOptions, MailboxEntry, StagedBody, Store, StoreError};
use types::MboxName;

use crate::recipient::{RIGHT_LOOKUP, RIGHT_POST, Target, rights};

/// The result for one recipient (RCPT or DATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// `550 5.1.1 User unknown`.
    Unknown,
    /// `550 5.7.1 Permission denied` (shared mailbox without `p`, but visible).
    PermissionDenied,
    /// `452 4.2.2 Over quota`.
    OverQuota,
    /// `451 4.3.0 <text>`.
    Failed(String),
}

/// Settings that shape checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `lmtp_strict_quota`: count the incoming message against the quota.
    pub strict_quota: bool,
    /// `duplicatesuppression`.
    pub dupelim: bool,
}

/// A recipient accepted at RCPT time.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub target: Target,
    pub ignore_quota: bool,
    /// Partition of the mailbox checked at RCPT (the INBOX or the shared mailbox).
    pub partition: String,
}

fn internal(e: &StoreError) -> Outcome {
    tracing::error!("lmtp delivery: {e}");
    match e {
        StoreError::MailboxNotFound(_) => Outcome::Unknown,
        _ => Outcome::Failed("System I/O error".to_owned()),
    }
}

fn partition_of(store: &Store, e: &MailboxEntry) -> String {
    e.partition
        .clone()
        .unwrap_or_else(|| store.config().default_partition.clone())
}

fn live_entry(store: &Store, name: &MboxName) -> Result<Option<MailboxEntry>, StoreError> {
    Ok(store
        .mailbox_entry(name)?
        .filter(|e| e.mbtype.is_real() && !e.mbtype.deleted && !e.mbtype.intermediate))
}

/// Whether adding `bytes`/`msgs` to `name`'s quota root would exceed a limit (Cyrus
/// `quota_check`: usage + diff > limit; storage limits are in KiB).
pub fn over_quota(
    store: &Store,
    name: &MboxName,
    bytes: u64,
    msgs: u64,
) -> Result<bool, StoreError> {
    let Some(root) = store.quota_root_of(name)? else {
        return Ok(false);
    };
    let Some(q) = store.quota(&root)? else {
        return Ok(false);
    };
    if q.limits.storage.is_none() && q.limits.message.is_none() {
        return Ok(false);
    }
    let usage = store.quota_usage(&root)?;
    if let Some(kib) = q.limits.storage
        && usage.storage_bytes + bytes > kib.saturating_mul(1024)
    {
        return Ok(true);
    }
    if let Some(n) = q.limits.message
        && usage.messages + msgs > n
    {
        return Ok(true);
    }
    Ok(false)
}

fn quota_diff(policy: Policy, ignore: bool, size: u64) -> Option<(u64, u64)> {
    if ignore {
        None
    } else if policy.strict_quota {
        Some((size, 1))
    } else {
        Some((0, 0))
    }
}

/// RCPT-time check. `size` is the MAIL `SIZE=` value (0 if absent).
pub fn verify(
    store: &Store,
    target: &Target,
    ignore_quota: bool,
    size: u64,
    authuser: Option<&str>,
    policy: Policy,
) -> Result<String, Outcome> {
    let name = match target {
        Target::User { inbox, .. } => inbox,
        Target::Shared(name) => name,
    };
    let entry = match live_entry(store, name) {
        Ok(Some(e)) => e,
        Ok(None) => return Err(Outcome::Unknown),
        Err(e) => return Err(internal(&e)),
    };
    if let Target::Shared(_) = target {
        let ids: Vec<&str> = authuser.into_iter().collect();
        let r = rights(entry.acl.as_deref().unwrap_or(""), &ids);
        if !r.contains(RIGHT_POST) {
            return Err(if r.contains(RIGHT_LOOKUP) {
                Outcome::PermissionDenied
            } else {
                Outcome::Unknown
            });
        }
    }
    if let Some((b, m)) = quota_diff(policy, ignore_quota, size) {
        match over_quota(store, name, b, m) {
            Ok(true) => return Err(Outcome::OverQuota),
            Ok(false) => {}
            Err(e) => return Err(internal(&e)),
        }
    }
    Ok(partition_of(store, &entry))
}

/// Choose the mailbox for one accepted recipient at DATA time.
fn choose(
    store: &Store,
    a: &Accepted,
    size: u64,
    authuser: Option<&str>,
    policy: Policy,
) -> Result<MailboxEntry, Outcome> {
    let diff = quota_diff(policy, a.ignore_quota, size);
    let fits = |name: &MboxName| -> Result<bool, Outcome> {
        match diff {
            None => Ok(true),
            Some((b, m)) => over_quota(store, name, b, m)
                .map(|o| !o)
                .map_err(|e| internal(&e)),
        }
    };
    let ids: Vec<&str> = authuser.into_iter().collect();
    match &a.target {
        Target::Shared(name) => {
            let e = live_entry(store, name)
                .map_err(|e| internal(&e))?
                .ok_or(Outcome::Unknown)?;
            let r = rights(e.acl.as_deref().unwrap_or(""), &ids);
            if !r.contains(RIGHT_POST) {
                return Err(if r.contains(RIGHT_LOOKUP) {
                    Outcome::PermissionDenied
                } else {
                    Outcome::Unknown
                });
            }
            if !fits(name)? {
                return Err(Outcome::OverQuota);
            }
            Ok(e)
        }
        Target::User { inbox, folder, .. } => {
            if let Some(f) = folder
                && let Some(e) = live_entry(store, f).map_err(|e| internal(&e))?
                && rights(e.acl.as_deref().unwrap_or(""), &ids).contains(RIGHT_POST)
                && fits(f)?
            {
                return Ok(e);
            }
            let e = live_entry(store, inbox)
                .map_err(|e| internal(&e))?
                .ok_or(Outcome::Unknown)?;
            if !fits(inbox)? {
                return Err(Outcome::OverQuota);
            }
            Ok(e)
        }
    }
}

/// Copy a staged body to another partition (recipients spread over partitions).
fn restage(store: &Store, body: &StagedBody, partition: &str) -> Result<StagedBody, StoreError> {
    let mut w = store.new_body(partition)?;
    let mut f = std::fs::File::open(body.path())?;
    std::io::copy(&mut f, &mut w)?;
    w.flush()?;
    w.finish()
}

/// Deliver a durable staged body to every accepted recipient; one outcome per recipient, in
/// order. Returns only after every successful append is committed.
pub fn deliver(
    store: &Store,
    recipients: &[Accepted],
    body: &StagedBody,
    internaldate: Option<i64>,
    authuser: Option<&str>,
    policy: Policy,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::with_capacity(recipients.len());
    // Across transactions, a Message-ID already delivered into a mailbox is answered 250 and
    // not appended again (Cyrus `duplicate_check`/`duplicate_mark`).
    let message_id = if policy.dupelim {
        message_id_of(body.path())
    } else {
        None
    };
    // (recipient index, mailbox entry) of real appends, grouped by partition.
    let mut groups: BTreeMap<String, Vec<(usize, MailboxEntry)>> = BTreeMap::new();
    let mut seen: Vec<(MboxName, usize)> = Vec::new();
    // (duplicate recipient, first recipient of the same mailbox): same outcome.
    let mut dups: Vec<(usize, usize)> = Vec::new();
    for (i, a) in recipients.iter().enumerate() {
        match choose(store, a, body.size(), authuser, policy) {
            Ok(e) => {
                out.push(Outcome::Delivered);
                if let Some(id) = &message_id
                    && store.duplicate_check(&e, id).unwrap_or(false)
                {
                    tracing::info!(
                        "dupelim: eliminated duplicate message to {} id {id} (delivery)",
                        e.name
                    );
                    continue;
                }
                if policy.dupelim
                    && let Some((_, first)) = seen.iter().find(|(n, _)| *n == e.name)
                {
                    dups.push((i, *first));
                    continue;
                }
                seen.push((e.name.clone(), i));
                groups
                    .entry(partition_of(store, &e))
                    .or_default()
                    .push((i, e));
            }
            Err(o) => out.push(o),
        }
    }
    let opts = AppendOptions {
        internaldate,
        ..AppendOptions::default()
    };
    for (partition, targets) in groups {
        let copy;
        let staged = if partition == body.partition() {
            body
        } else {
            match restage(store, body, &partition) {
                Ok(b) => {
                    copy = b;
                    &copy
                }
                Err(e) => {
                    let o = internal(&e);
                    for (i, _) in &targets {
                        out[*i] = o.clone();
                    }
                    continue;
                }
            }
        };
        let list: Vec<(MboxName, AppendOptions)> = targets
            .iter()
            .map(|(_, e)| (e.name.clone(), opts.clone()))
            .collect();
        let results = store.append_to_many(&list, staged);
        for ((i, entry), r) in targets.iter().zip(results) {
            match r {
                Err(e) => out[*i] = internal(&e),
                Ok(a) => {
                    if let Some(id) = &message_id
                        && let Err(e) = store.duplicate_mark(entry, id, a.uid)
                    {
                        tracing::error!("dupelim: cannot mark {id} in {}: {e}", entry.name);
                    }
                }
            }
        }
    }
    for (dup, first) in dups {
        out[dup] = out[first].clone();
    }
    out
}

/// The duplicate-suppression key of a stored message, as Cyrus 3.6 keys it (`lmtpd.c`
/// `deliver_mailbox`: message id, mailbox, and the `Date` header): the first `Message-ID`
/// (unfolded, trimmed) followed by the first `Date` when present. Read from the header only
/// (at most 64 KiB). `None` if there is no Message-ID, or the file is unreadable.
fn message_id_of(path: &std::path::Path) -> Option<String> {
    use std::io::{BufRead as _, Read as _};
    let f = std::fs::File::open(path).ok()?;
    let mut r = std::io::BufReader::new(f.take(64 * 1024));
    let mut line = Vec::new();
    let mut id: Option<String> = None;
    let mut date: Option<String> = None;
    // Which field the current folded line continues: 1 = Message-ID, 2 = Date.
    let mut current = 0u8;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        if text.starts_with([' ', '\t']) {
            match current {
                1 => id.as_mut().map(|v| v.push_str(text)),
                2 => date.as_mut().map(|v| v.push_str(text)),
                _ => None,
            };
            continue;
        }
        current = 0;
        if let Some((name, rest)) = text.split_once(':') {
            if name.eq_ignore_ascii_case("message-id") && id.is_none() {
                id = Some(rest.to_owned());
                current = 1;
            } else if name.eq_ignore_ascii_case("date") && date.is_none() {
                date = Some(rest.to_owned());
                current = 2;
            }
        }
    }
    let id = id.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    Some(
        match date.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()) {
            Some(d) => format!("{id} {d}"),
            None => id,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::message_id_of;

    fn key(text: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, text).unwrap();
        message_id_of(&p)
    }

    /// Cyrus keys duplicates by Message-ID and Date: a resent message with a new Date is
    /// delivered again; the same message twice is not.
    #[test]
    fn duplicate_key_is_message_id_and_date() {
        let a = key("Message-ID: <1@x>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n");
        let b = key("Date: Sat, 28 Nov 2026 11:00:00 +0000\r\nMessage-ID:\r\n <1@x>\r\n\r\nb\r\n");
        let c = key("Message-ID: <1@x>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\nother\r\n");
        assert_eq!(a.as_deref(), Some("<1@x> Sat, 28 Nov 2026 10:00:00 +0000"));
        assert_ne!(a, b);
        assert_eq!(a, c);
        assert_eq!(key("Message-ID: <2@x>\r\n\r\n").as_deref(), Some("<2@x>"));
        assert_eq!(key("Subject: none\r\n\r\nMessage-ID: <3@x>\r\n"), None);
    }
}
