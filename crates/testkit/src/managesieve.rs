//! A minimal ManageSieve (RFC 5804) client for tests: upload and activate scripts.
//!
//! Owns: AUTHENTICATE PLAIN (with an authzid, so an admin can act as a user), PUTSCRIPT,
//! SETACTIVE, DELETESCRIPT, LISTSCRIPTS, GETSCRIPT. Must not: be used beyond loopback tests (no TLS, the
//! peer is trusted, replies are read line by line and literals in NO texts are not decoded).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// A logged-in ManageSieve session.
#[derive(Debug)]
pub struct SieveClient {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl SieveClient {
    /// Connects and authenticates as `authcid` acting as `authzid`.
    pub async fn connect(addr: SocketAddr, authzid: &str, authcid: &str, pw: &str) -> Result<Self> {
        let s = TcpStream::connect(addr)
            .await
            .context("connect ManageSieve")?;
        let (r, w) = s.into_split();
        let mut c = SieveClient {
            r: BufReader::new(r),
            w,
        };
        c.response().await?.context("ManageSieve greeting")?;
        let ir =
            base64::engine::general_purpose::STANDARD.encode(format!("{authzid}\0{authcid}\0{pw}"));
        c.send(format!("AUTHENTICATE \"PLAIN\" \"{ir}\"\r\n").as_bytes())
            .await?;
        c.response()
            .await?
            .with_context(|| format!("AUTHENTICATE as {authzid}"))?;
        Ok(c)
    }

    async fn send(&mut self, b: &[u8]) -> Result<()> {
        self.w.write_all(b).await?;
        self.w.flush().await?;
        Ok(())
    }

    /// Reads up to the final OK/NO/BYE; returns the data lines, or an error for NO/BYE.
    async fn response(&mut self) -> Result<Result<Vec<String>>> {
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            let n = tokio::time::timeout(Duration::from_secs(60), self.r.read_line(&mut l))
                .await
                .map_err(|_| anyhow!("ManageSieve server silent for 60 s"))??;
            if n == 0 {
                bail!("ManageSieve connection closed");
            }
            let l = l.trim_end().to_string();
            let up = l.to_ascii_uppercase();
            if up.starts_with("OK") {
                return Ok(Ok(lines));
            }
            if up.starts_with("NO") || up.starts_with("BYE") {
                return Ok(Err(anyhow!("{l}")));
            }
            lines.push(l);
        }
    }

    /// PUTSCRIPT `name` with `script`.
    pub async fn put_script(&mut self, name: &str, script: &[u8]) -> Result<()> {
        let mut b = format!("PUTSCRIPT \"{name}\" {{{}+}}\r\n", script.len()).into_bytes();
        b.extend_from_slice(script);
        b.extend_from_slice(b"\r\n");
        self.send(&b).await?;
        self.response()
            .await?
            .with_context(|| format!("PUTSCRIPT {name}"))?;
        Ok(())
    }

    /// SETACTIVE `name` (empty deactivates).
    pub async fn set_active(&mut self, name: &str) -> Result<()> {
        self.send(format!("SETACTIVE \"{name}\"\r\n").as_bytes())
            .await?;
        self.response()
            .await?
            .with_context(|| format!("SETACTIVE {name}"))?;
        Ok(())
    }

    /// DELETESCRIPT `name`.
    pub async fn delete_script(&mut self, name: &str) -> Result<()> {
        self.send(format!("DELETESCRIPT \"{name}\"\r\n").as_bytes())
            .await?;
        self.response()
            .await?
            .with_context(|| format!("DELETESCRIPT {name}"))?;
        Ok(())
    }

    /// GETSCRIPT `name`: the script's bytes.
    pub async fn get_script(&mut self, name: &str) -> Result<Vec<u8>> {
        self.send(format!("GETSCRIPT \"{name}\"\r\n").as_bytes())
            .await?;
        let mut l = String::new();
        self.read_line(&mut l).await?;
        let t = l.trim_end();
        let Some(n) = t
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .map(|r| r.trim_end_matches('+'))
            .and_then(|r| r.parse::<usize>().ok())
        else {
            bail!("GETSCRIPT {name}: {t}");
        };
        let mut body = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(60), self.r.read_exact(&mut body))
            .await
            .map_err(|_| anyhow!("ManageSieve server silent for 60 s"))??;
        self.response()
            .await?
            .with_context(|| format!("GETSCRIPT {name}"))?;
        Ok(body)
    }

    /// LISTSCRIPTS parsed: `(name, active)`.
    pub async fn scripts(&mut self) -> Result<Vec<(String, bool)>> {
        Ok(self
            .list_scripts()
            .await?
            .iter()
            .filter_map(|l| {
                let rest = l.strip_prefix('"')?;
                let (name, tail) = rest.split_once('"')?;
                Some((name.to_string(), tail.trim().eq_ignore_ascii_case("ACTIVE")))
            })
            .collect())
    }

    async fn read_line(&mut self, l: &mut String) -> Result<()> {
        let n = tokio::time::timeout(Duration::from_secs(60), self.r.read_line(l))
            .await
            .map_err(|_| anyhow!("ManageSieve server silent for 60 s"))??;
        if n == 0 {
            bail!("ManageSieve connection closed");
        }
        Ok(())
    }

    /// LISTSCRIPTS: raw lines (`"name" ACTIVE`).
    pub async fn list_scripts(&mut self) -> Result<Vec<String>> {
        self.send(b"LISTSCRIPTS\r\n").await?;
        self.response().await?.context("LISTSCRIPTS")
    }

    /// LOGOUT.
    pub async fn logout(mut self) -> Result<()> {
        self.send(b"LOGOUT\r\n").await?;
        let _ = self.response().await;
        Ok(())
    }
}
