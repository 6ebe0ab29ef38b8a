//! Rolling-replication lag: LMTP delivery to a master (timestamped at the post-DATA 250) until
//! the message is visible on the replica over IMAP (STATUS INBOX UIDNEXT, as the user).
//!
//! Owns: a Poisson-paced LMTP sender on one connection and a replica watcher. Deliveries to a user's
//! INBOX are sequential, so the k-th one is visible once the replica's UIDNEXT passes
//! base+k (UIDs are replicated as they are).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use testkit::ImapClient;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::common::{ADMIN, ADMIN_PW, percentiles};

/// A persistent LMTP session (LHLO once, then transactions).
pub(crate) struct Lmtp {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl std::fmt::Debug for Lmtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lmtp")
    }
}

impl Lmtp {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Lmtp> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        let mut l = Lmtp {
            r: BufReader::new(r),
            w,
        };
        l.expect(220).await?;
        l.w.write_all(b"LHLO bench\r\n").await?;
        l.expect(250).await?;
        Ok(l)
    }

    async fn reply(&mut self) -> Result<(u16, String)> {
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).await? == 0 {
                bail!("LMTP connection closed");
            }
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .with_context(|| format!("bad LMTP reply {line:?}"))?;
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, line.trim_end().to_owned()));
            }
        }
    }

    async fn expect(&mut self, code: u16) -> Result<()> {
        let (c, l) = self.reply().await?;
        if c != code {
            bail!("LMTP: expected {code}, got {l}");
        }
        Ok(())
    }

    /// One transaction; `body` must already be dot-stuffed with CRLF line ends. Fails unless
    /// every recipient gets 2xx.
    pub(crate) async fn deliver(&mut self, rcpts: &[&str], body: &[u8]) -> Result<()> {
        let mut cmd = String::from("MAIL FROM:<bench@example.com>\r\n");
        for r in rcpts {
            cmd.push_str(&format!("RCPT TO:<{r}>\r\n"));
        }
        cmd.push_str("DATA\r\n");
        // Pipelined (RFC 2920, which LMTP servers announce).
        self.w.write_all(cmd.as_bytes()).await?;
        self.expect(250).await?;
        for _ in rcpts {
            self.expect(250).await?;
        }
        self.expect(354).await?;
        self.w.write_all(body).await?;
        self.w.write_all(b".\r\n").await?;
        for r in rcpts {
            let (c, l) = self.reply().await?;
            if !(200..300).contains(&c) {
                bail!("delivery to {r}: {l}");
            }
        }
        Ok(())
    }
}

/// CRLF-terminated, dot-stuffed copy of a message.
pub(crate) fn stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    let mut bol = true;
    for &b in msg {
        if bol && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        bol = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[derive(Debug, Clone)]
pub(crate) struct LagResult {
    pub(crate) rate_asked: f64,
    pub(crate) rate_done: f64,
    pub(crate) n: usize,
    pub(crate) median: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) lmtp_median: f64,
}

fn small_message(run: u64, i: usize) -> Vec<u8> {
    // Unique Message-IDs across runs: duplicate suppression would drop repeats.
    let mut m = format!(
        "From: bench <bench@example.com>\r\nTo: rcpt@example.com\r\nSubject: lag {i}\r\n\
         Message-ID: <lag-{run}-{i}-{}@bench.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain\r\n\r\n",
        std::process::id()
    )
    .into_bytes();
    for l in 0..40 {
        m.extend_from_slice(
            format!("line {l} of lag message {i}, some text to fill it\r\n").as_bytes(),
        );
    }
    m
}

/// Waits until each user's INBOX exists on the replica with the master's UIDNEXT.
pub(crate) async fn wait_replica_caught_up(
    master: SocketAddr,
    replica: SocketAddr,
    users: &[String],
    timeout: Duration,
) -> Result<()> {
    let end = Instant::now() + timeout;
    for u in users {
        let mut m = ImapClient::proxy_to(master, u, ADMIN, ADMIN_PW).await?;
        let want = m.status("INBOX", "UIDNEXT").await?.get("UIDNEXT").copied();
        let _ = m.logout().await;
        loop {
            let got = match ImapClient::proxy_to(replica, u, ADMIN, ADMIN_PW).await {
                Ok(mut r) => {
                    let v = r.status("INBOX", "UIDNEXT").await.ok();
                    let _ = r.logout().await;
                    v.and_then(|v| v.get("UIDNEXT").copied())
                }
                Err(_) => None,
            };
            if got.is_some() && got == want {
                break;
            }
            if Instant::now() > end {
                bail!("replica never caught up for {u}: {got:?} vs {want:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Delivers `count` messages at `rate`/s round-robin over `users` and measures each one's lag.
pub(crate) async fn measure(
    lmtp: SocketAddr,
    replica: SocketAddr,
    users: &[String],
    rate: f64,
    count: usize,
) -> Result<LagResult> {
    // Replica sessions and base UIDNEXTs.
    let mut sess = Vec::new();
    let mut base = Vec::new();
    for u in users {
        let mut c = ImapClient::proxy_to(replica, u, ADMIN, ADMIN_PW).await?;
        let b = c
            .status("INBOX", "UIDNEXT")
            .await?
            .get("UIDNEXT")
            .copied()
            .context("UIDNEXT")?;
        sess.push(c);
        base.push(b);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, Instant, Duration)>();
    let nusers = users.len();
    // Poisson arrivals (exponential gaps, fixed seed): a fixed period equal to the repeat
    // interval would resonate with it and measure one phase only. Message i goes to user
    // i % users over connection (i % users) % CONNS, so each user's deliveries stay in order
    // (UIDs follow) while several connections keep up with the rate, as an MTA would.
    const CONNS: usize = 5;
    let run = (rate * 1000.0) as u64 * 1_000_000 + count as u64;
    let t0 = Instant::now();
    let mut plan: Vec<Vec<(usize, Instant)>> = vec![Vec::new(); CONNS];
    {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut due = t0 + Duration::from_millis(50);
        for i in 0..count {
            if i > 0 {
                let u: f64 = rng.gen_range(f64::EPSILON..1.0);
                due += Duration::from_secs_f64(-u.ln() / rate);
            }
            plan[(i % nusers) % CONNS].push((i, due));
        }
    }
    let users_owned = std::sync::Arc::new(users.to_vec());
    let mut senders = Vec::new();
    for p in plan {
        let (tx, users_owned) = (tx.clone(), users_owned.clone());
        senders.push(tokio::spawn(async move {
            let mut l = Lmtp::connect(lmtp).await?;
            let mut last_start = t0;
            for (i, due) in p {
                tokio::time::sleep_until(due.into()).await;
                let u = i % nusers;
                let msg = stuff(&small_message(run, i));
                let s = Instant::now();
                last_start = last_start.max(s);
                l.deliver(&[users_owned[u].as_str()], &msg).await?;
                let ack = Instant::now();
                // The k-th delivery to user u is message i = u + k * nusers.
                let _ = tx.send((u, (i / nusers) as u64, ack, ack - s));
            }
            anyhow::Ok(last_start)
        }));
    }
    drop(tx);
    let sender = tokio::spawn(async move {
        let mut last = t0;
        for s in senders {
            last = last.max(s.await??);
        }
        // Achieved rate: intervals between the first and the last delivery's start.
        anyhow::Ok(last - t0 - Duration::from_millis(50))
    });
    // Watcher.
    let mut pending: HashMap<usize, Vec<(u64, Instant)>> = HashMap::new();
    let mut lags = Vec::new();
    let mut lmtp_lat = Vec::new();
    let mut received = 0usize;
    let deadline_after_send = Duration::from_secs(60);
    let mut sender_done_at: Option<Instant> = None;
    let mut sender = Some(sender);
    let mut send_elapsed = Duration::ZERO;
    while lags.len() < count {
        while let Ok((u, k, ack, lat)) = rx.try_recv() {
            pending.entry(u).or_default().push((k, ack));
            lmtp_lat.push(lat.as_secs_f64());
            received += 1;
        }
        if let Some(s) = &sender
            && s.is_finished()
        {
            if let Some(s) = sender.take() {
                send_elapsed = s.await??;
            }
            sender_done_at = Some(Instant::now());
        }
        if sender_done_at.is_some_and(|t| t.elapsed() > deadline_after_send) {
            bail!(
                "{} of {received} messages never reached the replica within 60 s",
                count - lags.len()
            );
        }
        let users_pending: Vec<usize> = pending
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(u, _)| *u)
            .collect();
        if users_pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        for u in users_pending {
            let next = sess[u]
                .status("INBOX", "UIDNEXT")
                .await?
                .get("UIDNEXT")
                .copied()
                .unwrap_or(0);
            let now = Instant::now();
            let visible = next.saturating_sub(base[u]);
            if let Some(v) = pending.get_mut(&u) {
                v.retain(|(k, ack)| {
                    if *k < visible {
                        lags.push(now.saturating_duration_since(*ack).as_secs_f64());
                        false
                    } else {
                        true
                    }
                });
            }
        }
    }
    if let Some(s) = sender.take() {
        send_elapsed = s.await??;
    }
    for c in sess {
        let _ = c.logout().await;
    }
    if std::env::var_os("BENCH_LAGS").is_some() {
        let v: Vec<String> = lags.iter().map(|l| format!("{:.0}", l * 1000.0)).collect();
        eprintln!("    lags (ms, in order seen): {}", v.join(" "));
    }
    let (median, p99, max) = percentiles(&lags);
    let (lmtp_median, _, _) = percentiles(&lmtp_lat);
    Ok(LagResult {
        rate_asked: rate,
        rate_done: (count.saturating_sub(1)) as f64 / send_elapsed.as_secs_f64().max(1e-9),
        n: count,
        median,
        p99,
        max,
        lmtp_median,
    })
}
