//! Running a [`SyncCore`] over a socket: greeting, read → parse/apply (on a blocking thread) →
//! write, STARTTLS and COMPRESS DEFLATE switches, idle timeout, per-session logging; and the
//! accept loop of a standalone `sync_server`.
//!
//! Must not: interpret commands (that is [`SyncCore`]) or touch the mailstore directly.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, PasswdFile};
use config::{ImapdConf, Opt};
use mailstore::Store;
use net::{Conn, Listener, TlsAcceptor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::core::{Action, ServerOptions, StreamFile, SyncCore};

/// Read size; also the most plain input handed to the core at once.
const READ_CHUNK: usize = 64 * 1024;

/// Settings of one listener.
#[derive(Clone)]
pub struct SessionConfig {
    pub store: Arc<Store>,
    pub opts: Arc<ServerOptions>,
    /// STARTTLS; `None` = not offered.
    pub tls: Option<TlsAcceptor>,
    /// Idle timeout (`sync_timeout`, default 30 minutes).
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("opts", &self.opts)
            .field("tls", &self.tls.is_some())
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// [`ServerOptions`] from the replica's imapd.conf: `servername`, `admins`,
/// `allowplaintext`, `sasl_mech_list`, `allowusermoves`, `failedloginpause`, the password
/// file (`<configdirectory>/passwd` or `sasl_sasldb_path`).
pub fn options_from_conf(conf: &ImapdConf, tls_available: bool) -> ServerOptions {
    let servername = conf
        .string(Opt::Servername)
        .map(str::to_owned)
        .unwrap_or_else(local_hostname);
    let passwords = PasswdFile::for_server(
        Path::new(conf.config_directory()),
        conf.sasl_option("sasldb_path"),
        &servername,
    );
    ServerOptions {
        servername,
        version: "3.6.1".to_owned(),
        admins: Admins::parse(conf.string(Opt::Admins).unwrap_or("")),
        passwords: Arc::new(passwords),
        allow_plaintext: conf.switch(Opt::Allowplaintext),
        sasl_mech_list: conf.sasl_option("mech_list").map(str::to_owned),
        tls_available,
        offer_compress: true,
        offer_sieve_mailbox: true,
        allow_user_moves: conf.switch(Opt::Allowusermoves),
        failed_login_pause: conf.duration(Opt::Failedloginpause),
    }
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Byte counts of a finished session (for the log).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub commands: u64,
}

struct Io {
    conn: Conn,
    stats: Stats,
}

impl Io {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.stats.bytes_out += bytes.len() as u64;
        self.conn.write_all(bytes).await?;
        self.conn.flush().await
    }
}

/// Stream a message file (GET FETCH) then its trailer: one blocking reader hands 64 KiB chunks
/// through a small bounded channel, so memory stays a few chunks whatever the file size.
async fn send_file(io: &mut Io, sf: &StreamFile) -> io::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(4);
    let path = sf.path.clone();
    let size = sf.size;
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f.take(size),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; READ_CHUNK];
            match f.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let mut sent = 0u64;
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk?;
        io.conn.write_all(&chunk).await?;
        sent += chunk.len() as u64;
    }
    let _ = reader.await;
    io.stats.bytes_out += sent;
    if sent != size {
        return Err(io::Error::other("message file shrank while sending"));
    }
    io.send(&sf.trailer).await
}

/// Serve one connection until EXIT, EOF, timeout or error. `preauth`: a UNIX-socket peer
/// (csync §1.1).
pub async fn run(conn: Conn, cfg: SessionConfig) -> io::Result<Stats> {
    let peer = conn.peer_addr().to_owned();
    // A UNIX-socket peer is the pre-authenticated admin (csync §1.1).
    let preauth = peer == "unix";
    let mut opts = (*cfg.opts).clone();
    opts.tls_available = cfg.tls.is_some();
    let mut core = Some(Box::new(SyncCore::csync(
        cfg.store.clone(),
        Arc::new(opts),
        &peer,
        preauth,
    )));
    let mut io = Io {
        conn,
        stats: Stats::default(),
    };
    let mut banner = Vec::new();
    if let Some(c) = &core {
        c.banner(&mut banner);
    }
    io.send(&banner).await?;
    let mut input: Vec<u8> = Vec::new();
    let mut raw = vec![0u8; READ_CHUNK];
    let result = loop {
        if input.is_empty() {
            let n = match tokio::time::timeout(cfg.idle_timeout, io.conn.read(&mut raw)).await {
                Err(_) => {
                    tracing::info!(%peer, "idle timeout");
                    break Ok(());
                }
                Ok(Err(e)) => break Err(e),
                Ok(Ok(0)) => break Ok(()),
                Ok(Ok(n)) => n,
            };
            io.stats.bytes_in += n as u64;
            input.extend_from_slice(&raw[..n]);
        }
        let Some(mut c) = core.take() else {
            break Ok(());
        };
        let chunk = std::mem::take(&mut input);
        let joined = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let r = c.feed(&chunk, &mut out);
            (c, r, out, chunk)
        })
        .await;
        let (c, r, out, mut chunk) = match joined {
            Ok(v) => v,
            Err(e) => break Err(io::Error::other(e)),
        };
        core = Some(c);
        let p = match r {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%peer, "protocol error, closing: {e}");
                let _ = io.send(b"* BYE Fatal error: protocol error\r\n").await;
                break Ok(());
            }
        };
        chunk.drain(..p.consumed.min(chunk.len()));
        input = chunk;
        if p.done {
            io.stats.commands += 1;
        }
        if let Some(d) = p.delay {
            tokio::time::sleep(d).await;
        }
        if let Err(e) = io.send(&out).await {
            break Err(e);
        }
        if let Some(sf) = &p.stream {
            match send_file(&mut io, sf).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(%peer, "sending {}: {e}; closing", sf.path.display());
                    break Err(e);
                }
            }
        }
        match p.action {
            None => {}
            Some(Action::Close) => break Ok(()),
            Some(Action::StartCompress) => {
                if !input.is_empty() {
                    // Cyrus clients wait for the OK; bytes sent before it cannot be decoded.
                    tracing::warn!(%peer, "data pipelined after COMPRESS: closing");
                    break Ok(());
                }
                io.conn.start_compress();
                tracing::info!(%peer, "compress: DEFLATE active");
            }
            Some(Action::StartTls) => {
                let Some(acceptor) = cfg.tls.clone() else {
                    break Ok(());
                };
                // Input pipelined after STARTTLS is discarded (csync §1.6).
                input.clear();
                if let Err(e) = io.conn.start_tls(&acceptor).await {
                    tracing::warn!(%peer, "TLS handshake failed: {e}");
                    break Ok(());
                }
                let mut banner = Vec::new();
                if let Some(c) = &mut core {
                    c.tls_started();
                    c.banner(&mut banner);
                }
                if let Err(e) = io.send(&banner).await {
                    break Err(e);
                }
            }
        }
    };
    if let Some(mut c) = core {
        let _ = tokio::task::spawn_blocking(move || c.end()).await;
    }
    let _ = io.conn.shutdown().await;
    result.map(|()| io.stats)
}

/// Accept connections until SIGTERM/SIGINT/SIGQUIT; one task per connection, each session
/// logged.
pub async fn serve_listener(listener: Listener, cfg: SessionConfig) -> io::Result<()> {
    tracing::info!("listening on {}", listener.local_addr());
    net::serve(listener, move |conn: Conn| {
        let cfg = cfg.clone();
        async move {
            let peer = conn.peer_addr().to_owned();
            tracing::info!(%peer, "connection opened");
            match run(conn, cfg).await {
                Ok(s) => tracing::info!(
                    %peer,
                    "connection closed: {} commands, {} bytes in, {} bytes out",
                    s.commands,
                    s.bytes_in,
                    s.bytes_out
                ),
                Err(e) => tracing::info!(%peer, "connection closed: {e}"),
            }
        }
    })
    .await
}
