//! The client end of one csync connection (csync §1): connect (TCP `host:port`, `/tls`,
//! `/noauth`, or a UNIX socket path), read the banner, STARTTLS when no mechanism is usable in
//! clear text (trust anchors from `tls_client_ca_file`), AUTHENTICATE PLAIN, COMPRESS DEFLATE
//! whenever offered (`-z` makes it mandatory), then send GET/APPLY/RESTART/NOOP/EXIT and
//! collect `*` data lines up to the status line. When the greeting is an IMAP one (`* OK
//! [CAPABILITY …]`), it logs in over IMAP and speaks the IMAP flavour (tagged `SYNCGET`,
//! `SYNCAPPLY`, `SYNCRESTART`, `LOGOUT`, csync §1.12) if `X-REPLICATION` is offered.
//!
//! Blocking I/O on purpose: a sync_client does one thing at a time, and a blocking writer lets
//! file literals stream straight from the message file to the (possibly compressing) socket,
//! so memory stays bounded whatever the message size.
//!
//! Differences from 3.6: the flavour is chosen from the greeting of the one configured port
//! instead of trying the IMAP port first (`sync_try_imap` is not consulted, so no 10 s stall
//! on a csync port); only PLAIN is implemented (inside TLS when the replica demands it).
//!
//! Owns: transport, framing, the verbose protocol copy on stderr (`-v -v`).
//! Must not: decide what to sync, or touch the mailstore.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csync_proto::{
    FileSink, FileSource, Keyed, NoFiles, ParseLimits, Parsed, Response, ResponseParser,
    ResultCode, Serializer, StatusKind, cmd::ResponseData,
};
use flate2::Compression;

use super::error::SyncErr;

/// Where and how to connect (replication-behaviour §2.6).
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, or an absolute UNIX socket path.
    pub server: String,
    /// The host part (TLS server name).
    pub host: String,
    /// The server name as the user wrote it (for messages).
    pub display: String,
    pub authname: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    /// `/noauth`, or a UNIX socket (sync_server treats that peer as an admin).
    pub noauth: bool,
    /// `/tls`: TLS from the first byte.
    pub implicit_tls: bool,
    /// `tls_client_ca_file`: trust anchors for the replica's certificate (STARTTLS, `/tls`).
    pub tls_ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl Target {
    /// Parse `-S`/`sync_host` forms: `host`, `host:port`, `host:port/tls`, `host:port/noauth`,
    /// `/path/to/socket`. `port` is `sync_port` (default `csync`, i.e. 2005).
    pub fn parse(server: &str, port: Option<&str>) -> Result<Target, String> {
        let mut t = Target {
            server: String::new(),
            host: String::new(),
            display: server.to_owned(),
            authname: None,
            password: None,
            realm: None,
            noauth: false,
            implicit_tls: false,
            tls_ca_file: None,
            timeout: Duration::from_secs(1800),
        };
        if server.starts_with('/') {
            t.server = server.to_owned();
            t.noauth = true;
            return Ok(t);
        }
        let (hostport, flags) = match server.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (server, None),
        };
        match flags {
            None => {}
            Some("noauth") => t.noauth = true,
            Some("tls") => t.implicit_tls = true,
            Some(other) => return Err(format!("unknown connection option /{other}")),
        }
        let (host, p) = match hostport.split_once(':') {
            Some((h, p)) => (h, p.to_owned()),
            None => (hostport, port.unwrap_or("csync").to_owned()),
        };
        let p = match p.as_str() {
            "csync" => "2005".to_owned(),
            "imap" => "143".to_owned(),
            _ => p,
        };
        if p.parse::<u16>().is_err() {
            return Err(format!("unknown service '{p}'"));
        }
        t.server = format!("{host}:{p}");
        t.host = host.to_owned();
        Ok(t)
    }
}

#[derive(Debug)]
enum Raw {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Raw {
    fn try_clone(&self) -> io::Result<Raw> {
        Ok(match self {
            Raw::Tcp(s) => Raw::Tcp(s.try_clone()?),
            Raw::Unix(s) => Raw::Unix(s.try_clone()?),
        })
    }
    fn shutdown(&self) {
        let _ = match self {
            Raw::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Raw::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Raw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Raw::Tcp(s) => s.read(buf),
            Raw::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Raw {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Raw::Tcp(s) => s.write(buf),
            Raw::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Raw::Tcp(s) => s.flush(),
            Raw::Unix(s) => s.flush(),
        }
    }
}

/// The transport both halves use. The client never reads while it writes, so one lock held
/// per call is uncontended; it lets TLS (one object for both directions) and plain sockets
/// share the code.
trait Transport: Read + Write + Send {}
impl<T: Read + Write + Send> Transport for T {}

type Shared = Arc<Mutex<Box<dyn Transport>>>;

struct Half(Shared);

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Box<dyn Transport>> {
    // A panic while holding the lock leaves the stream as it was; keep using it.
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl Read for Half {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        lock(&self.0).read(buf)
    }
}

impl Write for Half {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        lock(&self.0).flush()
    }
}

fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, SyncErr> {
    let Some(ca) = ca_file else {
        return Err(SyncErr::Auth(
            "TLS needed but tls_client_ca_file is not set (cannot verify the replica)".into(),
        ));
    };
    let data = std::fs::read(ca)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut data.as_slice()) {
        roots
            .add(c?)
            .map_err(|e| SyncErr::Auth(format!("{}: {e}", ca.display())))?;
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SyncErr::Auth(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Copies everything written to stderr as well (`-v -v`).
struct Tee<W: Write> {
    inner: W,
    on: bool,
}

/// Protocol bytes this process has sent to replicas (before compression), for the progress
/// display of `-A`/`-u`.
static SENT_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Bytes of csync sent so far by this process (uncompressed).
pub fn bytes_sent() -> u64 {
    SENT_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        SENT_BYTES.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        if self.on {
            let _ = io::stderr().write_all(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Capabilities from the banner (csync §1.3).
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    pub sasl: Vec<String>,
    pub starttls: bool,
    pub compress: bool,
    pub sieve_mailbox: bool,
}

/// A connected, authenticated csync session.
pub struct SyncConn {
    raw: Raw,
    reader: Box<dyn Read + Send>,
    writer: Tee<BufWriter<Box<dyn Write + Send>>>,
    rbuf: Vec<u8>,
    rpos: usize,
    parser: ResponseParser,
    trace: bool,
    pub caps: Capabilities,
    compressed: bool,
    tls: bool,
    /// csync carried in IMAP (`SYNCGET`/`SYNCAPPLY`, csync §1.12): the replica's imapd
    /// answered and advertised `X-REPLICATION` after login.
    imap: bool,
    /// Next `S<n>` tag in the IMAP flavour.
    tag: u32,
    /// The greeting's `* OK` text.
    greeting: String,
}

impl std::fmt::Debug for SyncConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConn")
            .field("caps", &self.caps)
            .field("compressed", &self.compressed)
            .finish()
    }
}

fn limits() -> ParseLimits {
    ParseLimits {
        // Replies carry mailbox states and, for GET FETCH, whole messages.
        max_literal_in_memory: 64 << 20,
        ..ParseLimits::default()
    }
}

/// What a GET/APPLY produced.
#[derive(Debug, Default)]
pub struct Reply {
    pub data: Vec<ResponseData>,
}

impl SyncConn {
    /// Connect, read the banner, authenticate, and switch on compression when offered.
    /// `require_compress` is `-z`.
    pub fn open(t: &Target, trace: bool, require_compress: bool) -> Result<SyncConn, SyncErr> {
        let raw = if t.server.starts_with('/') {
            let s = UnixStream::connect(&t.server)?;
            s.set_read_timeout(Some(t.timeout))?;
            Raw::Unix(s)
        } else {
            let s = TcpStream::connect(&t.server)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(t.timeout))?;
            Raw::Tcp(s)
        };
        let shared: Shared = Arc::new(Mutex::new(Box::new(raw.try_clone()?)));
        let mut c = SyncConn {
            raw,
            reader: Box::new(Half(shared.clone())),
            writer: Tee {
                inner: BufWriter::with_capacity(64 << 10, Box::new(Half(shared))),
                on: trace,
            },
            rbuf: Vec::with_capacity(64 << 10),
            rpos: 0,
            parser: ResponseParser::new(csync_proto::Flavour::Csync, limits()),
            trace,
            caps: Capabilities::default(),
            compressed: false,
            tls: false,
            imap: false,
            tag: 0,
            greeting: String::new(),
        };
        if t.implicit_tls {
            c.start_tls(t)?;
        }
        c.banner()?;
        if c.greeting.contains("[CAPABILITY") {
            // An IMAP server (csync §1.12): log in over IMAP and use SYNC* commands.
            c.imap_login(t)?;
            if require_compress {
                // 3.6 never compresses the IMAP flavour, so -z always fails there (§2.6).
                return Err(SyncErr::CompressRequired(t.display.clone()));
            }
            return Ok(c);
        }
        if !t.noauth {
            let plain = |c: &SyncConn| c.caps.sasl.iter().any(|m| m.eq_ignore_ascii_case("PLAIN"));
            if !plain(&c) && c.caps.starttls && !c.tls {
                // §1.5: STARTTLS only when no offered mechanism is usable in clear text.
                c.simple("STARTTLS")?;
                c.start_tls(t)?;
                c.caps = Capabilities::default();
                c.banner()?;
            }
            c.authenticate(t)?;
        }
        if c.caps.compress && !c.tls {
            match c.simple("COMPRESS DEFLATE") {
                Ok(()) => c.start_compress()?,
                Err(SyncErr::Remote { .. }) => {
                    tracing::info!("Failed to enable compression, continuing uncompressed");
                }
                Err(e) => return Err(e),
            }
        }
        if require_compress && !c.compressed {
            return Err(SyncErr::CompressRequired(t.display.clone()));
        }
        Ok(c)
    }

    /// True when replicating over the replica's IMAP port (csync §1.12).
    pub fn is_imap(&self) -> bool {
        self.imap
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    fn banner(&mut self) -> Result<(), SyncErr> {
        self.parser.set_banner_mode(true);
        let r = loop {
            match self.read_response(&mut csync_proto::DiscardSink::default())? {
                Response::Capability { name, params } => {
                    let p: Vec<String> = params
                        .iter()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect();
                    match name.to_ascii_uppercase().as_slice() {
                        b"SASL" => self.caps.sasl = p,
                        b"STARTTLS" => self.caps.starttls = true,
                        b"COMPRESS" => {
                            self.caps.compress = p.iter().any(|x| x.eq_ignore_ascii_case("DEFLATE"))
                        }
                        b"SIEVE-MAILBOX" => self.caps.sieve_mailbox = true,
                        _ => {}
                    }
                }
                Response::Untagged(s) if s.kind == StatusKind::Ok => {
                    self.greeting = String::from_utf8_lossy(&s.text).into_owned();
                    break Ok(());
                }
                Response::Untagged(s) => {
                    break Err(SyncErr::Protocol(format!(
                        "bad banner: {}",
                        String::from_utf8_lossy(&s.text)
                    )));
                }
                Response::Fatal(t) => {
                    break Err(SyncErr::Protocol(String::from_utf8_lossy(&t).into_owned()));
                }
                other => break Err(SyncErr::Protocol(format!("bad banner line {other:?}"))),
            }
        };
        self.parser.set_banner_mode(false);
        r
    }

    /// IMAP flavour login (csync §1.12): `A01 AUTHENTICATE PLAIN <ir>` (SASL-IR), then require
    /// `X-REPLICATION` in the capabilities of the tagged OK (or of a CAPABILITY reply).
    fn imap_login(&mut self, t: &Target) -> Result<(), SyncErr> {
        self.parser = ResponseParser::new(csync_proto::Flavour::Imap, limits());
        let caps_of = |text: &str| -> Vec<String> {
            text.split_once("[CAPABILITY ")
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(c, _)| c.split(' ').map(str::to_ascii_uppercase).collect())
                .unwrap_or_default()
        };
        let greeting_caps = caps_of(&self.greeting);
        if !t.noauth {
            if !greeting_caps.iter().any(|c| c == "AUTH=PLAIN") {
                return Err(SyncErr::Auth(
                    "the replica's IMAP server offers no AUTH=PLAIN".into(),
                ));
            }
            let creds = auth::Credentials {
                authcid: t
                    .authname
                    .clone()
                    .ok_or_else(|| SyncErr::Auth("sync_authname is not set".into()))?,
                authzid: None,
                password: t.password.clone().unwrap_or_default(),
            };
            let mut mech = auth::ClientMechanism::new(auth::Mechanism::Plain, creds)
                .map_err(|e| SyncErr::Auth(e.to_string()))?;
            let ir = mech.initial_response().unwrap_or_default();
            let line = format!(
                "A01 AUTHENTICATE PLAIN {}\r\n",
                auth::b64::encode_initial_response(&ir)
            );
            self.write_raw(line.as_bytes())?;
            self.flush()?;
        } else {
            self.write_raw(b"C01 CAPABILITY\r\n")?;
            self.flush()?;
        }
        let mut caps = Vec::new();
        loop {
            match self.read_response(&mut csync_proto::DiscardSink::default())? {
                Response::Status(s) if s.kind == StatusKind::Ok => {
                    caps.extend(caps_of(&String::from_utf8_lossy(&s.text)));
                    break;
                }
                Response::Status(s) => {
                    return Err(SyncErr::Auth(String::from_utf8_lossy(&s.text).into_owned()));
                }
                Response::Untagged(s) if s.kind == StatusKind::Bye => return Err(SyncErr::Bye),
                Response::Continuation(_) => {
                    self.write_raw(b"*\r\n")?;
                    self.flush()?;
                }
                // `* CAPABILITY …` arrives as a data line the dlist parser may refuse; any
                // other untagged line is informational.
                _ => {}
            }
        }
        if !caps.iter().any(|c| c == "X-REPLICATION") {
            let _ = self
                .write_raw(b"Q01 LOGOUT\r\n")
                .and_then(|()| self.flush());
            return Err(SyncErr::Protocol(
                "the replica's IMAP server does not offer X-REPLICATION".into(),
            ));
        }
        self.imap = true;
        Ok(())
    }

    fn next_tag(&mut self) -> String {
        let t = format!("S{}", self.tag);
        self.tag += 1;
        t
    }

    fn authenticate(&mut self, t: &Target) -> Result<(), SyncErr> {
        if !self
            .caps
            .sasl
            .iter()
            .any(|m| m.eq_ignore_ascii_case("PLAIN"))
        {
            return Err(SyncErr::Auth(format!(
                "no usable mechanism (server offers: {})",
                self.caps.sasl.join(" ")
            )));
        }
        let authcid = match (&t.authname, &t.realm) {
            (Some(a), _) => a.clone(),
            (None, _) => return Err(SyncErr::Auth("sync_authname is not set".into())),
        };
        let creds = auth::Credentials {
            authcid,
            authzid: None,
            password: t.password.clone().unwrap_or_default(),
        };
        let mut mech = auth::ClientMechanism::new(auth::Mechanism::Plain, creds)
            .map_err(|e| SyncErr::Auth(e.to_string()))?;
        let ir = mech.initial_response().unwrap_or_default();
        let line = format!(
            "AUTHENTICATE PLAIN {}\r\n",
            auth::b64::encode_initial_response(&ir)
        );
        self.write_raw(line.as_bytes())?;
        self.flush()?;
        loop {
            match self.read_response(&mut csync_proto::DiscardSink::default())? {
                Response::Status(s) if s.kind == StatusKind::Ok => return Ok(()),
                Response::Status(s) => {
                    return Err(SyncErr::Auth(String::from_utf8_lossy(&s.text).into_owned()));
                }
                Response::Continuation(_) => {
                    // PLAIN has no second round: cancel.
                    self.write_raw(b"*\r\n")?;
                    self.flush()?;
                }
                other => {
                    return Err(SyncErr::Auth(format!("unexpected reply {other:?}")));
                }
            }
        }
    }

    fn start_tls(&mut self, t: &Target) -> Result<(), SyncErr> {
        if self.rpos < self.rbuf.len() {
            return Err(SyncErr::Protocol("data after STARTTLS reply".into()));
        }
        self.flush()?;
        let Raw::Tcp(tcp) = &self.raw else {
            return Err(SyncErr::Protocol("TLS over a UNIX socket".into()));
        };
        let cfg = tls_config(t.tls_ca_file.as_deref())?;
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| SyncErr::Auth(format!("bad TLS server name {}: {e}", t.host)))?;
        let conn = rustls::ClientConnection::new(cfg, name)
            .map_err(|e| SyncErr::Auth(format!("TLS: {e}")))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp.try_clone()?);
        // Handshake now, so certificate errors surface as connection failures.
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| SyncErr::Auth(format!("TLS handshake failed: {e}")))?;
        }
        let shared: Shared = Arc::new(Mutex::new(Box::new(stream)));
        self.reader = Box::new(Half(shared.clone()));
        self.writer = Tee {
            inner: BufWriter::with_capacity(64 << 10, Box::new(Half(shared))),
            on: self.trace,
        };
        self.tls = true;
        Ok(())
    }

    fn start_compress(&mut self) -> Result<(), SyncErr> {
        if self.rpos < self.rbuf.len() {
            return Err(SyncErr::Protocol("data after COMPRESS reply".into()));
        }
        self.flush()?;
        let r = self.raw.try_clone()?;
        let w = self.raw.try_clone()?;
        self.reader = Box::new(flate2::read::DeflateDecoder::new(r));
        let enc: Box<dyn Write + Send> =
            Box::new(super::deflate::SyncDeflate::new(w, Compression::fast()));
        self.writer = Tee {
            inner: BufWriter::with_capacity(64 << 10, enc),
            on: self.trace,
        };
        self.compressed = true;
        Ok(())
    }

    fn write_raw(&mut self, b: &[u8]) -> Result<(), SyncErr> {
        self.writer.write_all(b)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SyncErr> {
        self.writer.flush()?;
        Ok(())
    }

    fn read_response(&mut self, sink: &mut dyn FileSink) -> Result<Response, SyncErr> {
        loop {
            if self.rpos < self.rbuf.len() {
                let start = self.rpos;
                let (n, p) = self
                    .parser
                    .feed(&self.rbuf[self.rpos..], sink)
                    .map_err(|e| SyncErr::Protocol(format!("bad response: {e:?}")))?;
                self.rpos += n;
                if self.trace {
                    let _ = io::stderr().write_all(&self.rbuf[start..self.rpos]);
                }
                if let Parsed::Complete(r) = p {
                    return Ok(r);
                }
                continue;
            }
            self.rbuf.clear();
            self.rpos = 0;
            self.rbuf.resize(64 << 10, 0);
            let n = match self.reader.read(&mut self.rbuf) {
                Ok(n) => n,
                Err(e) => {
                    self.rbuf.clear();
                    return Err(e.into());
                }
            };
            self.rbuf.truncate(n);
            if n == 0 {
                return Err(SyncErr::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by replica",
                )));
            }
        }
    }

    /// Read data lines up to the status line of the current command.
    fn finish(&mut self, sink: &mut dyn FileSink) -> Result<Reply, SyncErr> {
        let mut reply = Reply::default();
        loop {
            match self.read_response(sink)? {
                Response::Data(k) => {
                    let d = ResponseData::from_keyed(&k).map_err(|e| {
                        SyncErr::Protocol(format!(
                            "bad data line {}: {e}",
                            String::from_utf8_lossy(&k.key)
                        ))
                    })?;
                    reply.data.push(d);
                }
                Response::Status(s) => {
                    return match s.kind {
                        StatusKind::Ok => Ok(reply),
                        StatusKind::Bye => Err(SyncErr::Bye),
                        StatusKind::No => Err(SyncErr::Remote {
                            code: s.code.clone(),
                            text: String::from_utf8_lossy(&s.text).into_owned(),
                        }),
                        _ => Err(SyncErr::Protocol(format!(
                            "{} {}",
                            s.kind.as_str(),
                            String::from_utf8_lossy(&s.text)
                        ))),
                    };
                }
                Response::Untagged(s) if s.kind == StatusKind::Bye => {
                    if self.imap && s.text.starts_with(b"LOGOUT") {
                        continue;
                    }
                    return Err(SyncErr::Bye);
                }
                Response::Untagged(_) if self.imap => {}
                Response::Fatal(t) => {
                    return Err(SyncErr::Protocol(String::from_utf8_lossy(&t).into_owned()));
                }
                other => return Err(SyncErr::Protocol(format!("unexpected {other:?}"))),
            }
        }
    }

    /// `NOOP`, `RESTART`, `EXIT`, `COMPRESS DEFLATE`: one line, one status.
    pub fn simple(&mut self, line: &str) -> Result<(), SyncErr> {
        if self.imap {
            let tag = self.next_tag();
            let cmd = match line {
                "RESTART" => "SYNCRESTART",
                "EXIT" => "LOGOUT",
                other => other,
            };
            self.write_raw(format!("{tag} {cmd}\r\n").as_bytes())?;
            self.flush()?;
            return self
                .finish(&mut csync_proto::DiscardSink::default())
                .map(|_| ());
        }
        self.write_raw(line.as_bytes())?;
        self.write_raw(b"\r\n")?;
        self.flush()?;
        self.finish(&mut csync_proto::DiscardSink::default())
            .map(|_| ())
    }

    /// Send `GET <keyed>` or `APPLY <keyed>` and wait for the answer.
    pub fn command(&mut self, verb: &str, k: &Keyed) -> Result<Reply, SyncErr> {
        self.command_with(
            verb,
            k,
            &mut NoFiles,
            &mut csync_proto::DiscardSink::default(),
        )
    }

    /// Like [`SyncConn::command`] with file literal bodies supplied by `files` and received ones
    /// going to `sink`.
    pub fn command_with(
        &mut self,
        verb: &str,
        k: &Keyed,
        files: &mut dyn FileSource,
        sink: &mut dyn FileSink,
    ) -> Result<Reply, SyncErr> {
        if self.imap {
            let tag = self.next_tag();
            self.writer.write_all(format!("{tag} SYNC").as_bytes())?;
        }
        self.writer.write_all(verb.as_bytes())?;
        self.writer.write_all(b" ")?;
        Serializer::new(csync_proto::Role::Client).keyed(&mut self.writer, k, files)?;
        self.writer.write_all(b"\r\n")?;
        self.flush()?;
        self.finish(sink)
    }

    /// `EXIT`, reading (and ignoring) one reply line, then close.
    pub fn exit(mut self) {
        let _ = self.simple("EXIT");
        self.raw.shutdown();
    }

    /// Close without EXIT (after an I/O error).
    pub fn abort(self) {
        self.raw.shutdown();
    }
}

/// Streams message files from disk for APPLY MESSAGE: `FileRef(i)` is `paths[i]`.
#[derive(Debug)]
pub struct PathFiles<'a> {
    pub paths: &'a [PathBuf],
}

impl FileSource for PathFiles<'_> {
    fn copy_body(&mut self, file: &csync_proto::FileLit, out: &mut dyn Write) -> io::Result<()> {
        let p = usize::try_from(file.body.0)
            .ok()
            .and_then(|i| self.paths.get(i))
            .ok_or_else(|| io::Error::other("unknown file reference"))?;
        let f = File::open(p)?;
        let n = io::copy(&mut f.take(file.size), out)?;
        if n != file.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank while sending", p.display()),
            ));
        }
        Ok(())
    }
}

/// True for the remote codes the Cyrus client treats as "nothing there" on GETs.
pub fn is_nonexistent(e: &SyncErr) -> bool {
    matches!(
        e,
        SyncErr::Remote {
            code: Some(ResultCode::MailboxNonexistent),
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn server_name_forms() {
        let t = Target::parse("replica.example.com", None).unwrap();
        assert_eq!(t.server, "replica.example.com:2005");
        assert!(!t.noauth && !t.implicit_tls);
        let t = Target::parse("replica", Some("19205")).unwrap();
        assert_eq!(t.server, "replica:19205");
        // A port in the name beats sync_port.
        let t = Target::parse("replica:2006/noauth", Some("19205")).unwrap();
        assert_eq!((t.server.as_str(), t.noauth), ("replica:2006", true));
        let t = Target::parse("replica:2006/tls", None).unwrap();
        assert!(t.implicit_tls);
        assert_eq!(t.host, "replica");
        let t = Target::parse("/run/cyrus/socket/csync", None).unwrap();
        assert!(t.noauth);
        assert_eq!(t.server, "/run/cyrus/socket/csync");
        assert!(Target::parse("replica:notaport", None).is_err());
        assert!(Target::parse("replica:1/frob", None).is_err());
    }

    #[test]
    fn banner_auth_compress_and_commands_against_a_fake_server() {
        use std::io::BufRead;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = std::io::BufReader::new(s);
            w.write_all(
                b"* SASL PLAIN\r\n* SIEVE-MAILBOX\r\n* OK test Cyrus sync server 3.6.1\r\n",
            )
            .unwrap();
            let mut lines = Vec::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            lines.push(line.clone());
            w.write_all(b"OK Success (no protection)\r\n").unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            lines.push(line.clone());
            w.write_all(
                b"* MAILBOX %(UNIQUEID abc MBOXNAME user.x LAST_UID 0 HIGHESTMODSEQ 1 \
                  RECENTUID 0 RECENTTIME 0 POP3_LAST_LOGIN 0 UIDVALIDITY 7 PARTITION default \
                  ACL \"x\tlrs\t\" OPTIONS P)\r\nOK success\r\n",
            )
            .unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            lines.push(line.clone());
            w.write_all(b"NO IMAP_SYNC_CHECKSUM Checksum Failure\r\n")
                .unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            lines.push(line.clone());
            w.write_all(b"OK Finished\r\n").unwrap();
            lines
        });
        let mut t = Target::parse(&addr.to_string(), None).unwrap();
        t.authname = Some("repl".into());
        t.password = Some("secret".into());
        let mut c = SyncConn::open(&t, false, false).unwrap();
        assert!(c.caps.sieve_mailbox && !c.caps.compress);
        let k = csync_proto::cmd::GetCommand::User("x".into()).to_keyed();
        let r = c.command("GET", &k).unwrap();
        assert_eq!(r.data.len(), 1);
        let e = c.command("GET", &k).unwrap_err();
        assert!(e.is_code(ResultCode::SyncChecksum));
        assert!(!e.is_connection());
        c.exit();
        let lines = server.join().unwrap();
        assert_eq!(lines[0], "AUTHENTICATE PLAIN AHJlcGwAc2VjcmV0\r\n");
        assert_eq!(lines[1], "GET USER x\r\n");
        assert_eq!(lines[3], "EXIT\r\n");
    }

    #[test]
    fn require_compress_fails_without_offer() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"* OK test\r\n").unwrap();
            let mut b = [0u8; 64];
            let _ = s.read(&mut b);
        });
        let mut t = Target::parse(&format!("{addr}/noauth"), None).unwrap();
        t.timeout = Duration::from_secs(5);
        let e = SyncConn::open(&t, false, true).unwrap_err();
        assert!(matches!(e, SyncErr::CompressRequired(_)));
        drop(server);
    }
}
