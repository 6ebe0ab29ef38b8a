//! Issue 3: LMTP delivery throughput (1 and 10 recipients per transaction, one connection,
//! sequential) and IMAP `FETCH 1:N BODY.PEEK[]` / `BODY[]` of a whole mailbox, ours vs Cyrus.
//!
//! Owns: the raw FETCH reader (literal-aware; every body is SHA-1'd and checked against the
//! corpus) and the LMTP loops. The server processes' CPU and peak RSS come from a [`Watch`].

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use sha1::{Digest as _, Sha1};
use testkit::{CorpusSpec, ImapClient};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{ADMIN, ADMIN_PW};
use crate::lag::{Lmtp, stuff};
use crate::procs::{Select, Usage, Watch};

#[derive(Debug, Clone)]
pub(crate) struct LmtpResult {
    pub(crate) rcpts: usize,
    pub(crate) transactions: usize,
    pub(crate) bytes: u64,
    pub(crate) wall: f64,
    pub(crate) server: Usage,
}

/// LMTP users `lmtp00`..`lmtp09`.
pub(crate) fn lmtp_users() -> Vec<String> {
    (0..10).map(|i| format!("lmtp{i:02}")).collect()
}

/// Delivers `n` corpus-mix messages with `rcpts` recipients each over one connection.
pub(crate) async fn lmtp_bench(
    lmtp: SocketAddr,
    imap: SocketAddr,
    master_pid: i32,
    rcpts: usize,
    n: usize,
    scale: f64,
) -> Result<LmtpResult> {
    let users = lmtp_users();
    let mut before = Vec::new();
    for u in &users {
        let mut c = ImapClient::proxy_to(imap, u, ADMIN, ADMIN_PW).await?;
        before.push(
            c.status("INBOX", "MESSAGES")
                .await?
                .get("MESSAGES")
                .copied()
                .unwrap_or(0),
        );
        let _ = c.logout().await;
    }
    let mut spec = CorpusSpec::new(1, n);
    spec.folders.clear();
    spec.seed = 7 + rcpts as u64;
    spec.size_scale = scale;
    // Unique Message-IDs per run (duplicate suppression would otherwise drop repeats).
    let tag = format!("Message-ID: <lmtp{rcpts}-");
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let b = spec.message(0, i).body;
            let s = String::from_utf8_lossy(&b).replacen("Message-ID: <", &tag, 1);
            stuff(s.as_bytes())
        })
        .collect();
    let bytes: u64 = msgs.iter().map(|m| m.len() as u64).sum();
    let mut l = Lmtp::connect(lmtp).await?;
    let watch = Watch::start(Select::ChildrenOf {
        ppid: master_pid,
        comm: "lmtpd".into(),
    });
    let strace = std::env::var_os("BENCH_STRACE")
        .map(|out| crate::procs::strace_child(master_pid, "lmtpd", std::path::PathBuf::from(out)));
    let t0 = Instant::now();
    let mut expect = vec![0u64; users.len()];
    for (i, m) in msgs.iter().enumerate() {
        let r: Vec<&str> = (0..rcpts)
            .map(|j| users[(i + j) % users.len()].as_str())
            .collect();
        for j in 0..rcpts {
            expect[(i + j) % users.len()] += 1;
        }
        l.deliver(&r, m).await?;
    }
    let wall = t0.elapsed().as_secs_f64();
    let server = watch.finish();
    if let Some(s) = strace {
        s.finish();
    }
    for (k, u) in users.iter().enumerate() {
        let mut c = ImapClient::proxy_to(imap, u, ADMIN, ADMIN_PW).await?;
        let now = c
            .status("INBOX", "MESSAGES")
            .await?
            .get("MESSAGES")
            .copied()
            .unwrap_or(0);
        let _ = c.logout().await;
        if now != before[k] + expect[k] {
            bail!("{u}: {now} messages, expected {}", before[k] + expect[k]);
        }
    }
    Ok(LmtpResult {
        rcpts,
        transactions: n,
        bytes,
        wall,
        server,
    })
}

#[derive(Debug, Clone)]
pub(crate) struct FetchResult {
    pub(crate) walls: Vec<f64>,
    pub(crate) bytes: u64,
    pub(crate) server: Usage,
}

/// Loads `n` corpus messages (user `user0000`, INBOX only) for the FETCH benchmark; returns
/// their SHA-1s in order.
pub(crate) fn fetch_spec(n: usize, scale: f64) -> CorpusSpec {
    let mut spec = CorpusSpec::new(1, n);
    spec.folders.clear();
    spec.size_scale = scale;
    spec.seed = 3;
    spec
}

/// `FETCH 1:n <item>` `runs` times in one session; every body is checked.
pub(crate) async fn fetch_bench(
    imap: SocketAddr,
    master_pid: i32,
    spec: &CorpusSpec,
    item: &'static str,
    runs: usize,
) -> Result<FetchResult> {
    let want: Vec<[u8; 20]> = spec
        .messages()
        .map(|m| Sha1::digest(&m.body).into())
        .collect();
    let user = spec.user_names().remove(0);
    let mut c = ImapClient::proxy_to(imap, &user, ADMIN, ADMIN_PW).await?;
    let sel = c.select("INBOX").await?;
    let _ = sel;
    let mut s = c.into_inner();
    s.set_nodelay(true)?;
    let watch = Watch::start(Select::ChildrenOf {
        ppid: master_pid,
        comm: "imapd".into(),
    });
    let mut walls = Vec::new();
    let mut bytes = 0;
    for r in 0..runs {
        let tag = format!("F{r}");
        let t0 = Instant::now();
        s.write_all(format!("{tag} FETCH 1:{} {item}\r\n", want.len()).as_bytes())
            .await?;
        let (bodies, total) = read_fetch(&mut s, &tag).await?;
        walls.push(t0.elapsed().as_secs_f64());
        bytes = total;
        if bodies.len() != want.len() {
            bail!("{item}: {} bodies, expected {}", bodies.len(), want.len());
        }
        for (i, (a, b)) in bodies.iter().zip(&want).enumerate() {
            if a != b {
                bail!("{item}: body {} differs", i + 1);
            }
        }
    }
    let server = watch.finish();
    let _ = s.write_all(b"L LOGOUT\r\n").await;
    Ok(FetchResult {
        walls,
        bytes,
        server,
    })
}

/// Reads responses until `tag`'s; returns the SHA-1 of every literal (one per FETCH
/// response here) and the bytes read.
async fn read_fetch(s: &mut tokio::net::TcpStream, tag: &str) -> Result<(Vec<[u8; 20]>, u64)> {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut pos = 0usize;
    let mut total = 0u64;
    let mut out = Vec::new();
    // Literal still being read: bytes left and its hasher.
    let mut lit: Option<(usize, Sha1)> = None;
    loop {
        // Consume what we can.
        loop {
            if let Some((left, h)) = lit.as_mut() {
                let take = (*left).min(buf.len() - pos);
                h.update(&buf[pos..pos + take]);
                pos += take;
                *left -= take;
                if *left == 0 {
                    if let Some((_, h)) = lit.take() {
                        out.push(h.finalize().into());
                    }
                    continue;
                }
                break;
            }
            let Some(nl) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line = &buf[pos..pos + nl];
            pos += nl + 2;
            if line.starts_with(tag.as_bytes()) && line.get(tag.len()) == Some(&b' ') {
                let rest = String::from_utf8_lossy(&line[tag.len() + 1..]).into_owned();
                if !rest.starts_with("OK") {
                    bail!("FETCH failed: {rest}");
                }
                return Ok((out, total));
            }
            if line.ends_with(b"}")
                && let Some(open) = line.iter().rposition(|&b| b == b'{')
            {
                let n: usize = std::str::from_utf8(&line[open + 1..line.len() - 1])?
                    .trim_end_matches('+')
                    .parse()
                    .context("literal length")?;
                lit = Some((n, Sha1::new()));
            }
        }
        if pos > 0 {
            buf.drain(..pos);
            pos = 0;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed during FETCH");
        }
        total += n as u64;
        buf.extend_from_slice(&chunk[..n]);
    }
}
