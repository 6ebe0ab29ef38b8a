//! LMTP delivery for tests (RFC 2033 over TCP, loopback).
//!
//! Owns: one LHLO/MAIL/RCPT/DATA transaction per call, dot-stuffing, and collecting one reply
//! per accepted recipient. Must not: retry, queue or interpret replies beyond their codes.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// The server's verdict for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptResult {
    /// Recipient as given.
    pub rcpt: String,
    /// Reply code (RCPT's if it was refused, else the post-DATA one).
    pub code: u16,
    /// Reply text (last line).
    pub text: String,
}

impl RcptResult {
    /// 2xx.
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// Delivers `msg` (CRLF line endings expected; bare LF is converted) from `from` to `rcpts`.
/// Returns one result per recipient, in order. Gives up after 60 s.
pub async fn deliver(
    addr: SocketAddr,
    from: &str,
    rcpts: &[&str],
    msg: &[u8],
) -> Result<Vec<RcptResult>> {
    tokio::time::timeout(
        Duration::from_secs(60),
        deliver_inner(addr, from, rcpts, msg),
    )
    .await
    .map_err(|_| anyhow::anyhow!("LMTP delivery to {addr} timed out"))?
}

async fn deliver_inner(
    addr: SocketAddr,
    from: &str,
    rcpts: &[&str],
    msg: &[u8],
) -> Result<Vec<RcptResult>> {
    let s = TcpStream::connect(addr).await.context("connect LMTP")?;
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let (c, t) = reply(&mut r).await?;
    if c != 220 {
        bail!("LMTP greeting {c} {t}");
    }
    w.write_all(b"LHLO testkit\r\n").await?;
    let (c, t) = reply(&mut r).await?;
    if c != 250 {
        bail!("LHLO: {c} {t}");
    }
    w.write_all(format!("MAIL FROM:<{from}>\r\n").as_bytes())
        .await?;
    let (c, t) = reply(&mut r).await?;
    if c != 250 {
        bail!("MAIL FROM: {c} {t}");
    }
    let mut results = Vec::new();
    let mut accepted = Vec::new();
    for (i, rc) in rcpts.iter().enumerate() {
        w.write_all(format!("RCPT TO:<{rc}>\r\n").as_bytes())
            .await?;
        let (c, t) = reply(&mut r).await?;
        if (200..300).contains(&c) {
            accepted.push(i);
        }
        results.push(RcptResult {
            rcpt: rc.to_string(),
            code: c,
            text: t,
        });
    }
    if accepted.is_empty() {
        let _ = w.write_all(b"QUIT\r\n").await;
        return Ok(results);
    }
    w.write_all(b"DATA\r\n").await?;
    let (c, t) = reply(&mut r).await?;
    if c != 354 {
        bail!("DATA: {c} {t}");
    }
    w.write_all(&dot_stuff(msg)).await?;
    w.write_all(b".\r\n").await?;
    for i in accepted {
        let (c, t) = reply(&mut r).await?;
        if let Some(res) = results.get_mut(i) {
            res.code = c;
            res.text = t;
        }
    }
    let _ = w.write_all(b"QUIT\r\n").await;
    let _ = reply(&mut r).await;
    Ok(results)
}

/// Delivers and fails unless every recipient got a 2xx.
pub async fn deliver_ok(addr: SocketAddr, from: &str, rcpts: &[&str], msg: &[u8]) -> Result<()> {
    let res = deliver(addr, from, rcpts, msg).await?;
    if let Some(bad) = res.iter().find(|r| !r.delivered()) {
        bail!(
            "LMTP delivery to {} failed: {} {}",
            bad.rcpt,
            bad.code,
            bad.text
        );
    }
    Ok(())
}

async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Result<(u16, String)> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            bail!("LMTP connection closed");
        }
        let line = line.trim_end();
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .with_context(|| format!("bad LMTP reply {line:?}"))?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, line.get(4..).unwrap_or_default().to_string()));
        }
    }
}

/// Normalises line endings to CRLF, doubles leading dots and ends with CRLF.
fn dot_stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in msg {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n");
    }
}
