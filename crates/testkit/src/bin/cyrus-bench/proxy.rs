//! A counting TCP proxy between a sync_client and a sync_server: bytes each way, and
//! optionally the `* COMPRESS DEFLATE` line removed from the server's greeting so that neither
//! client negotiates compression (Cyrus 3.6.1 has no option to turn it off).
//!
//! Owns: one listener on 127.0.0.1, the upstream address (changed between benchmark cases),
//! counters. Must not: alter anything but that one greeting line.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct State {
    upstream: Mutex<Option<SocketAddr>>,
    strip_compress: AtomicBool,
    c2s: AtomicU64,
    s2c: AtomicU64,
    conns: AtomicU64,
}

/// Handle to a running proxy (it lives as long as the runtime).
#[derive(Debug, Clone)]
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    st: Arc<State>,
}

/// Bytes client→server and server→client, and connections, since the last reset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) c2s: u64,
    pub(crate) s2c: u64,
    pub(crate) conns: u64,
}

impl Proxy {
    pub(crate) async fn start() -> anyhow::Result<Proxy> {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let addr = l.local_addr()?;
        let st = Arc::new(State::default());
        let st2 = st.clone();
        tokio::spawn(async move {
            while let Ok((c, _)) = l.accept().await {
                let st = st2.clone();
                tokio::spawn(async move {
                    let _ = relay(c, st).await;
                });
            }
        });
        Ok(Proxy { addr, st })
    }

    /// Points the proxy at `up`, sets the greeting filter and zeroes the counters.
    pub(crate) fn set(&self, up: SocketAddr, strip_compress: bool) {
        if let Ok(mut u) = self.st.upstream.lock() {
            *u = Some(up);
        }
        self.st
            .strip_compress
            .store(strip_compress, Ordering::Relaxed);
        self.reset();
    }

    pub(crate) fn reset(&self) {
        self.st.c2s.store(0, Ordering::Relaxed);
        self.st.s2c.store(0, Ordering::Relaxed);
        self.st.conns.store(0, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            c2s: self.st.c2s.load(Ordering::Relaxed),
            s2c: self.st.s2c.load(Ordering::Relaxed),
            conns: self.st.conns.load(Ordering::Relaxed),
        }
    }
}

async fn relay(client: TcpStream, st: Arc<State>) -> anyhow::Result<()> {
    let up = st
        .upstream
        .lock()
        .ok()
        .and_then(|u| *u)
        .ok_or_else(|| anyhow::anyhow!("no upstream"))?;
    let server = TcpStream::connect(up).await?;
    st.conns.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let strip = st.strip_compress.load(Ordering::Relaxed);
    let st1 = st.clone();
    // Diagnostics: BENCH_RECORD=DIR keeps each connection's client→server bytes.
    let mut record = std::env::var_os("BENCH_RECORD").and_then(|d| {
        let n = st.conns.load(Ordering::Relaxed);
        let p = std::path::PathBuf::from(d).join(format!("c2s-{}-{n}", std::process::id()));
        std::fs::File::create(p).ok()
    });
    let up_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(f) = record.as_mut() {
                use std::io::Write as _;
                let _ = f.write_all(&buf[..n]);
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            st1.c2s.fetch_add(n as u64, Ordering::Relaxed);
        }
        let _ = sw.shutdown().await;
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut banner = strip;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !banner {
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            st.s2c.fetch_add(n as u64, Ordering::Relaxed);
            continue;
        }
        pending.extend_from_slice(&buf[..n]);
        let mut out = Vec::new();
        while let Some(i) = pending.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = pending.drain(..i + 2).collect();
            if line.eq_ignore_ascii_case(b"* COMPRESS DEFLATE\r\n") {
                continue;
            }
            let end = line.starts_with(b"* OK") || !line.starts_with(b"* ");
            out.extend_from_slice(&line);
            if end {
                banner = false;
                out.append(&mut pending);
                break;
            }
        }
        if cw.write_all(&out).await.is_err() {
            break;
        }
        st.s2c.fetch_add(out.len() as u64, Ordering::Relaxed);
    }
    let _ = cw.shutdown().await;
    let _ = up_task.await;
    Ok(())
}
