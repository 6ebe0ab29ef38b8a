//! A deterministic mail corpus for tests and benchmarks.
//!
//! Owns: generating N users × M messages from a seed, with DESIGN.md's reference size mix (60%
//! 1–8 KiB, 25% 8–64 KiB, 12% 64–256 KiB, 3% 256 KiB–1 MiB), INBOX plus folders, flags and
//! subscriptions, and loading it into a server over IMAP (APPEND as each user, through the admin
//! acting as the user). Messages are produced one at a time, so a large corpus is never held in
//! memory. Must not: depend on anything but the seed (same seed, same bytes, same order).

use std::net::SocketAddr;

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::imap::ImapClient;

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    /// Number of users (`user0000`, `user0001`, ...).
    pub users: usize,
    /// Messages per user.
    pub messages_per_user: usize,
    /// Folders besides INBOX (each user gets them all).
    pub folders: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Multiply every size by this (e.g. 0.01 for quick tests); 1.0 = the reference mix.
    pub size_scale: f64,
}

impl CorpusSpec {
    /// DESIGN.md's reference corpus: 20 users × 500 messages, INBOX + 3 folders (~416 MiB).
    pub fn reference() -> Self {
        Self::new(20, 500)
    }

    /// `users` × `messages` with the reference size mix and folders, seed 1.
    pub fn new(users: usize, messages: usize) -> Self {
        CorpusSpec {
            users,
            messages_per_user: messages,
            folders: vec!["Archive".into(), "Sent".into(), "Work".into()],
            seed: 1,
            size_scale: 1.0,
        }
    }

    /// User names.
    pub fn user_names(&self) -> Vec<String> {
        (0..self.users).map(|i| format!("user{i:04}")).collect()
    }

    /// Every message, in a fixed order (user by user).
    pub fn messages(&self) -> impl Iterator<Item = CorpusMessage> + '_ {
        (0..self.users)
            .flat_map(move |u| (0..self.messages_per_user).map(move |i| self.message(u, i)))
    }

    /// Message `i` of user `u` (independent of generation order).
    pub fn message(&self, u: usize, i: usize) -> CorpusMessage {
        let mut rng = StdRng::seed_from_u64(
            self.seed ^ ((u as u64) << 32) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let user = format!("user{u:04}");
        let folder = if self.folders.is_empty() || rng.gen_bool(0.5) {
            None
        } else {
            Some(self.folders[rng.gen_range(0..self.folders.len())].clone())
        };
        let p: f64 = rng.r#gen();
        let (lo, hi) = if p < 0.60 {
            (1024, 8 * 1024)
        } else if p < 0.85 {
            (8 * 1024, 64 * 1024)
        } else if p < 0.97 {
            (64 * 1024, 256 * 1024)
        } else {
            (256 * 1024, 1024 * 1024)
        };
        let target = ((rng.gen_range(lo..hi) as f64) * self.size_scale).max(200.0) as usize;
        let mut flags = Vec::new();
        if rng.gen_bool(0.6) {
            flags.push("\\Seen");
        }
        if rng.gen_bool(0.05) {
            flags.push("\\Flagged");
        }
        if rng.gen_bool(0.03) {
            flags.push("\\Answered");
        }
        if rng.gen_bool(0.02) {
            flags.push("$Label1");
        }
        // A fixed epoch (2024-01-01) plus up to a year, so dates never depend on the clock.
        let secs: i64 = 1_704_067_200 + rng.gen_range(0..365 * 86_400);
        let date = imap_date(secs);
        let body = make_body(&mut rng, &user, u, i, target, &date.1);
        CorpusMessage {
            user,
            folder,
            flags,
            internaldate: date.0,
            body,
        }
    }

    /// Creates users' mailboxes (as admin), appends every message as its user and subscribes
    /// each user to INBOX and its folders. Users must already exist in the server's auth
    /// database. Returns the number of messages appended.
    pub async fn load_imap(&self, addr: SocketAddr, admin: &str, password: &str) -> Result<usize> {
        let mut a = ImapClient::login_to(addr, admin, password).await?;
        for u in self.user_names() {
            a.create(&format!("user/{u}")).await?;
            for f in &self.folders {
                a.create(&format!("user/{u}/{f}")).await?;
            }
        }
        let _ = a.logout().await;
        let mut n = 0;
        for (ui, u) in self.user_names().into_iter().enumerate() {
            let mut c = ImapClient::proxy_to(addr, &u, admin, password).await?;
            c.subscribe("INBOX").await?;
            for f in &self.folders {
                c.subscribe(f).await?;
            }
            for i in 0..self.messages_per_user {
                let m = self.message(ui, i);
                c.append(
                    m.folder.as_deref().unwrap_or("INBOX"),
                    &m.flags,
                    Some(&m.internaldate),
                    &m.body,
                )
                .await?;
                n += 1;
            }
            let _ = c.logout().await;
        }
        Ok(n)
    }
}

/// One generated message.
#[derive(Debug, Clone)]
pub struct CorpusMessage {
    /// Owner.
    pub user: String,
    /// Folder (None = INBOX), as the user names it.
    pub folder: Option<String>,
    /// Flags to APPEND with.
    pub flags: Vec<&'static str>,
    /// INTERNALDATE (`dd-Mon-yyyy hh:mm:ss +0000`).
    pub internaldate: String,
    /// RFC 5322 message with CRLF line endings.
    pub body: Vec<u8>,
}

const WORDS: &[&str] = &[
    "the", "mail", "server", "replica", "sync", "mailbox", "message", "folder", "quota", "index",
    "cyrus", "about", "meeting", "tomorrow", "report", "attached", "please", "review", "thanks",
    "regards", "project", "update", "status", "question", "answer", "deadline", "budget", "team",
];

fn make_body(
    rng: &mut StdRng,
    user: &str,
    u: usize,
    i: usize,
    target: usize,
    date: &str,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(target + 512);
    let subject: Vec<&str> = (0..rng.gen_range(2..7))
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect();
    let head = format!(
        "From: Sender {s} <sender{s}@example.com>\r\nTo: {user} <{user}@example.com>\r\n\
         Subject: {}\r\nDate: {date}\r\nMessage-ID: <corpus-{u}-{i}@testkit.example>\r\n\
         MIME-Version: 1.0\r\n",
        subject.join(" "),
        s = rng.gen_range(0..100),
    );
    m.extend_from_slice(head.as_bytes());
    if target >= 64 * 1024 {
        // Big messages carry an incompressible attachment, like real mail.
        m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n");
        text(rng, &mut m, 2048);
        m.extend_from_slice(b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        use base64::Engine as _;
        // xorshift64* from the message's seed: much cheaper than ChaCha for bulk bytes and
        // just as deterministic.
        let mut x: u64 = rng.r#gen::<u64>() | 1;
        let mut raw = [0u8; 57];
        while m.len() + 80 < target {
            for chunk in raw.chunks_mut(8) {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            m.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(raw)
                    .as_bytes(),
            );
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(b"--b1--\r\n");
    } else {
        m.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        let need = target.saturating_sub(m.len());
        text(rng, &mut m, need);
    }
    m
}

fn text(rng: &mut StdRng, m: &mut Vec<u8>, bytes: usize) {
    let end = m.len() + bytes;
    let mut col = 0;
    while m.len() < end {
        let w = WORDS[rng.gen_range(0..WORDS.len())];
        if col + w.len() > 72 {
            m.extend_from_slice(b"\r\n");
            col = 0;
        } else if col > 0 {
            m.push(b' ');
            col += 1;
        }
        m.extend_from_slice(w.as_bytes());
        col += w.len();
    }
    m.extend_from_slice(b"\r\n");
}

/// (IMAP INTERNALDATE, RFC 5322 Date) for a Unix time, in UTC.
fn imap_date(secs: i64) -> (String, String) {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DOW: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mon = MON[(m - 1) as usize];
    let dow = DOW[days.rem_euclid(7) as usize];
    (
        format!("{d:02}-{mon}-{y} {h:02}:{mi:02}:{s:02} +0000"),
        format!("{dow}, {d} {mon} {y} {h:02}:{mi:02}:{s:02} +0000"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(imap_date(0).0, "01-Jan-1970 00:00:00 +0000");
        assert_eq!(imap_date(1_704_067_200).1, "Mon, 1 Jan 2024 00:00:00 +0000");
        assert_eq!(imap_date(1_709_210_096).0, "29-Feb-2024 12:34:56 +0000");
    }

    #[test]
    fn deterministic_and_sized() {
        let s = CorpusSpec::new(2, 60);
        let a: Vec<_> = s.messages().map(|m| m.body).collect();
        let b: Vec<_> = s.messages().map(|m| m.body).collect();
        assert_eq!(a, b);
        let small = a.iter().filter(|m| m.len() < 8 * 1024).count();
        assert!((50..=95).contains(&small), "{small} of 120 under 8 KiB");
        assert!(a.iter().all(|m| m.len() <= 1024 * 1024 + 1024));
        let mut other = s.clone();
        other.seed = 2;
        assert_ne!(other.message(0, 0).body, a[0]);
    }
}
