//! Shared pieces: corpus loading into several servers at once, dumps and their comparison,
//! statistics and formatting.
//!
//! Owns: nothing persistent. Must not: measure (loading and verifying are outside timings).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use testkit::{CorpusSpec, DumpOptions, ImapClient, ServerDump};

pub(crate) const ADMIN: &str = "admin";
pub(crate) const ADMIN_PW: &str = "adminpw";

/// Creates every user's mailboxes and appends the corpus to each of `targets` (IMAP addresses
/// with admin/adminpw), generating each message once. Users are loaded 4 at a time.
pub(crate) async fn load_corpus(spec: &CorpusSpec, targets: &[SocketAddr]) -> Result<usize> {
    for t in targets {
        let mut a = ImapClient::login_to(*t, ADMIN, ADMIN_PW).await?;
        for u in spec.user_names() {
            a.create(&format!("user/{u}")).await?;
            for f in &spec.folders {
                a.create(&format!("user/{u}/{f}")).await?;
            }
        }
        let _ = a.logout().await;
    }
    let spec = Arc::new(spec.clone());
    let sem = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = Vec::new();
    for (ui, u) in spec.user_names().into_iter().enumerate() {
        let (spec, sem, targets) = (spec.clone(), sem.clone(), targets.to_vec());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await?;
            let mut sess = Vec::new();
            for t in &targets {
                let mut c = ImapClient::proxy_to(*t, &u, ADMIN, ADMIN_PW).await?;
                c.subscribe("INBOX").await?;
                for f in &spec.folders {
                    c.subscribe(f).await?;
                }
                sess.push(c);
            }
            for i in 0..spec.messages_per_user {
                let m = spec.message(ui, i);
                let folder = m.folder.as_deref().unwrap_or("INBOX");
                for c in &mut sess {
                    c.append(folder, &m.flags, Some(&m.internaldate), &m.body)
                        .await
                        .with_context(|| format!("APPEND for {u}"))?;
                }
            }
            for c in sess {
                let _ = c.logout().await;
            }
            anyhow::Ok(spec.messages_per_user)
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t.await??;
    }
    Ok(n)
}

/// Everything observable over IMAP (bodies fetched and hashed here).
pub(crate) async fn dump(addr: SocketAddr, users: &[String]) -> Result<ServerDump> {
    let mut o = DumpOptions::new(ADMIN, ADMIN_PW);
    o.users = users.to_vec();
    ServerDump::collect(addr, &o).await
}

/// Differences that matter for replication: mailboxes, their ids/UIDVALIDITY/UIDNEXT/
/// HIGHESTMODSEQ, every message (UID, flags, INTERNALDATE, MODSEQ, size, SHA-1 of the bytes),
/// subscriptions, ACLs, annotations, quotas (testkit's `diff`).
pub(crate) fn compare(master: &ServerDump, replica: &ServerDump) -> Verdict {
    // Our imapd answers an admin's GETMETADATA on another user's mailbox with "NO Permission
    // denied" where Cyrus answers; that is an IMAP-server difference, not a replication one.
    // Where either side could not read a mailbox's metadata, leave metadata out on both.
    let (mut a, mut b) = (master.clone(), replica.clone());
    let mut unreadable = 0;
    for (name, ma) in a.mailboxes.iter_mut() {
        let Some(mb) = b.mailboxes.get_mut(name) else {
            continue;
        };
        let meta_err =
            |m: &testkit::MailboxDump| m.errors.iter().any(|e| e.starts_with("GETMETADATA"));
        if meta_err(ma) || meta_err(mb) {
            unreadable += 1;
            for m in [&mut *ma, &mut *mb] {
                m.errors.retain(|e| !e.starts_with("GETMETADATA"));
                m.annotations.clear();
                m.private_annotations.clear();
            }
        }
    }
    // Cyrus's imapd shows two per-mailbox options as annotations that our imapd does not
    // show at all; their absence on one side is presentation, not replication.
    const OPTION_ANNOTS: [&str; 2] = [
        "/shared/vendor/cmu/cyrus-imapd/duplicatedeliver",
        "/shared/vendor/cmu/cyrus-imapd/sharedseen",
    ];
    let mut options = 0;
    for (name, ma) in a.mailboxes.iter_mut() {
        let Some(mb) = b.mailboxes.get_mut(name) else {
            continue;
        };
        for k in OPTION_ANNOTS {
            if ma.annotations.contains_key(k) != mb.annotations.contains_key(k) {
                options += 1;
                ma.annotations.remove(k);
                mb.annotations.remove(k);
            }
        }
    }
    Verdict {
        mailboxes: replica.mailboxes.len(),
        messages: replica.message_count(),
        diffs: testkit::diff(&a, &b),
        metadata_skipped: unreadable,
        option_annotations: options,
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    pub(crate) mailboxes: usize,
    pub(crate) messages: usize,
    pub(crate) diffs: Vec<String>,
    /// Mailboxes whose annotations could not be compared (see [`compare`]).
    pub(crate) metadata_skipped: usize,
    /// Cyrus option annotations shown by one side only (see [`compare`]).
    pub(crate) option_annotations: usize,
}

impl Verdict {
    pub(crate) fn short(&self) -> String {
        let mut skipped = if self.metadata_skipped > 0 {
            format!(
                "; annotations not compared for {} (GETMETADATA refused)",
                self.metadata_skipped
            )
        } else {
            String::new()
        };
        if self.option_annotations > 0 {
            skipped.push_str(&format!(
                "; {} duplicatedeliver/sharedseen option annotations shown by one side only",
                self.option_annotations
            ));
        }
        if self.diffs.is_empty() {
            format!(
                "identical ({} mailboxes, {} messages{skipped})",
                self.mailboxes, self.messages
            )
        } else {
            format!(
                "**{} differences** ({} mailboxes, {} messages), first: {}",
                self.diffs.len(),
                self.mailboxes,
                self.messages,
                self.diffs.first().map(String::as_str).unwrap_or_default()
            )
        }
    }
}

/// Median and p99 (nearest rank) of seconds.
pub(crate) fn percentiles(v: &[f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = |p: f64| s[((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
    (rank(0.5), rank(0.99), s[s.len() - 1])
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(crate) fn mb(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}
