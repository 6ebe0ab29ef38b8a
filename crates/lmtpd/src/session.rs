//! One LMTP connection: reads command lines, applies Cyrus's checks in Cyrus's order, streams
//! DATA into a body file and answers once per recipient after delivery is durable.
//!
//! Owns: connection state (authentication, TLS, the current transaction), output batching
//! (replies are flushed before each blocking read, so pipelined commands get their replies in
//! one write), SASL exchanges, STARTTLS.
//! Must not: parse protocol syntax (see [`crate::proto`], [`crate::data`]) or block the
//! reactor: mailstore calls, password checks, body writes and fsync run on blocking threads.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth::sasl::server_mechanisms;
use auth::{AuthContext, Mechanism, ServerMechanism, Step};
use mailstore::{BodyWriter, StagedBody};
use net::Conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Server;
use crate::data::{DataDecoder, Trace, rfc5322_date, trace_headers};
use crate::deliver::{self, Accepted, Outcome};
use crate::proto::{self, Command, MAX_LINE, Reply, replies};
use crate::recipient;

/// Idle time after which a silent client is dropped.
const IDLE: Duration = Duration::from_secs(600);
/// Body bytes buffered before a write to the staging file.
const WRITE_CHUNK: usize = 256 * 1024;

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);
static MSGID_COUNTER: AtomicU64 = AtomicU64::new(0);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Cyrus `session_new_id`: `<servername>-<time>-<pid>-<counter>-<random>`.
fn new_session_id(servername: &str) -> String {
    let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    format!(
        "{servername}-{}-{}-{n}-{}",
        now(),
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Cyrus `get_clienthost`: `name [ip]` (we name only loopback addresses `localhost`), or
/// `[unix socket]`.
fn clienthost(peer: &str) -> (String, bool) {
    match peer.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => (format!("localhost [{}]", a.ip()), false),
        Ok(a) => (format!("[{}]", a.ip()), false),
        Err(_) => ("[unix socket]".to_owned(), true),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthState {
    /// Nothing yet.
    None,
    /// Pre-authorised (`-a` or a UNIX socket): commands allowed, AUTH EXTERNAL still accepted.
    External,
    /// AUTH succeeded.
    Did,
}

/// The transaction between MAIL and the end of DATA / RSET.
#[derive(Debug, Default)]
struct Txn {
    mail: Option<proto::MailFrom>,
    rcpts: Vec<Accepted>,
}

enum Flow {
    Continue,
    Close,
}

struct Session {
    srv: Arc<Server>,
    conn: Conn,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    eof: bool,
    auth: AuthState,
    tls: bool,
    lhlo: String,
    clienthost: String,
    session_id: String,
    txn: Txn,
}

/// Serve one connection until QUIT or disconnect.
pub async fn serve_conn(srv: Arc<Server>, conn: Conn) {
    let (host, unix) = clienthost(conn.peer_addr());
    let preauth = unix || srv.cfg.preauth;
    let mut s = Session {
        session_id: new_session_id(&srv.cfg.servername),
        srv,
        conn,
        rbuf: Vec::with_capacity(16 * 1024),
        wbuf: Vec::new(),
        eof: false,
        auth: if preauth {
            AuthState::External
        } else {
            AuthState::None
        },
        tls: false,
        lhlo: String::new(),
        clienthost: host,
        txn: Txn::default(),
    };
    if let Err(e) = s.run().await {
        tracing::debug!("lmtp session ended: {e}");
    }
}

impl Session {
    fn reply(&mut self, r: impl AsRef<str>) {
        self.wbuf.extend_from_slice(r.as_ref().as_bytes());
        self.wbuf.extend_from_slice(b"\r\n");
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.wbuf.is_empty() {
            self.conn.write_all(&self.wbuf).await?;
            self.conn.flush().await?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Read more input (flushing pending replies first). Ok(false) at EOF.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.flush().await?;
        let mut tmp = [0u8; 64 * 1024];
        let n = match tokio::time::timeout(IDLE, self.conn.read(&mut tmp)).await {
            Ok(r) => r?,
            Err(_) => return Err(std::io::Error::other("idle timeout")),
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.rbuf.extend_from_slice(&tmp[..n]);
        Ok(true)
    }

    /// The next line without CRLF/LF (Cyrus `prot_fgets` into a 4096-byte buffer: longer
    /// lines are returned in pieces). None at EOF.
    async fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let lf = self.rbuf.iter().take(MAX_LINE).position(|&b| b == b'\n');
            let take = match lf {
                Some(i) => Some(i + 1),
                None if self.rbuf.len() >= MAX_LINE => Some(MAX_LINE),
                None => None,
            };
            if let Some(n) = take {
                let mut l: Vec<u8> = self.rbuf.drain(..n).collect();
                if l.last() == Some(&b'\n') {
                    l.pop();
                }
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                return Ok(Some(l));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    fn greeting(&self) -> String {
        let c = &self.srv.cfg;
        if c.serverinfo {
            format!(
                "220 {} Cyrus LMTP {} server ready",
                c.servername,
                crate::VERSION
            )
        } else {
            format!("220 {} server ready", c.servername)
        }
    }

    async fn run(&mut self) -> std::io::Result<()> {
        let g = self.greeting();
        self.reply(g);
        loop {
            let Some(line) = self.line().await? else {
                return self.flush().await;
            };
            let cmd = proto::parse_command(&line, self.srv.cfg.max_size);
            match self.command(cmd).await? {
                Flow::Continue => {}
                Flow::Close => return self.flush().await,
            }
        }
    }

    fn mechanisms(&self) -> Vec<Mechanism> {
        server_mechanisms(
            self.tls,
            self.srv.cfg.allow_plaintext,
            self.srv.cfg.sasl_mech_list.as_deref(),
        )
    }

    fn tls_offered(&self) -> bool {
        self.srv.tls.is_some() && !self.tls && self.auth == AuthState::None
    }

    async fn command(&mut self, cmd: Command) -> std::io::Result<Flow> {
        match cmd {
            Command::Lhlo(param) => {
                let auth: Vec<&str> = match self.auth {
                    AuthState::None => self.mechanisms().iter().map(|m| m.name()).collect(),
                    AuthState::External => vec!["EXTERNAL"],
                    AuthState::Did => vec![],
                };
                let r = proto::lhlo(
                    &self.srv.cfg.servername,
                    self.srv.cfg.max_size,
                    self.tls_offered(),
                    &auth,
                    &self.session_id,
                );
                self.reply(r.0);
                self.lhlo = param;
                self.session_id = new_session_id(&self.srv.cfg.servername);
            }
            Command::Mail(m) => {
                if self.auth == AuthState::None {
                    self.reply(if self.srv.cfg.soft_noauth {
                        replies::AUTH_REQUIRED_SOFT
                    } else {
                        replies::AUTH_REQUIRED
                    });
                    return Ok(Flow::Continue);
                }
                match m {
                    None => self.reply(replies::SYNTAX_ERROR),
                    Some(_) if self.txn.mail.is_some() => self.reply(replies::NESTED_MAIL),
                    Some(Err(e)) => {
                        // Cyrus keeps the reverse path even when a parameter is refused.
                        if let Some(return_path) = e.return_path {
                            self.txn.mail = Some(proto::MailFrom {
                                return_path,
                                ..proto::MailFrom::default()
                            });
                        }
                        self.reply(e.reply.0);
                    }
                    Some(Ok(from)) => {
                        self.txn.mail = Some(from);
                        self.reply(replies::MAIL_OK);
                    }
                }
            }
            Command::Rcpt(r) => {
                let Some(mail) = &self.txn.mail else {
                    self.reply(replies::NEED_MAIL);
                    return Ok(Flow::Continue);
                };
                match r {
                    Err(r) => self.reply(r.0),
                    Ok(rcpt) => {
                        let size = mail.size.unwrap_or(0);
                        let authuser = mail.auth.clone();
                        let reply = self.rcpt(rcpt, size, authuser).await;
                        self.reply(reply.0);
                    }
                }
            }
            Command::Data => {
                if self.txn.rcpts.is_empty() {
                    self.reply(replies::NO_RECIPIENTS);
                } else {
                    return self.data().await;
                }
            }
            Command::Rset => {
                self.session_id = new_session_id(&self.srv.cfg.servername);
                let r = format!("250 2.0.0 Ok SESSIONID=<{}>", self.session_id);
                self.reply(r);
                self.txn = Txn::default();
            }
            Command::Noop => self.reply(replies::NOOP),
            Command::Quit => {
                self.reply(replies::QUIT);
                return Ok(Flow::Close);
            }
            Command::Vrfy => self.reply(replies::VRFY),
            Command::StartTls => {
                // Cyrus knows STARTTLS only with TLS configured and not pre-authorised.
                let Some(acceptor) = self.srv.tls.clone() else {
                    self.reply(replies::SYNTAX_ERROR);
                    return Ok(Flow::Continue);
                };
                if self.srv.cfg.preauth || self.auth == AuthState::External {
                    self.reply(replies::SYNTAX_ERROR);
                    return Ok(Flow::Continue);
                }
                // Input pipelined after STARTTLS is discarded (Cyrus `prot_flush(pin)`).
                self.rbuf.clear();
                if self.tls {
                    self.reply(replies::STARTTLS_AGAIN);
                } else if !self.txn.rcpts.is_empty() {
                    self.reply(replies::STARTTLS_NOT_NOW);
                } else {
                    self.reply(replies::STARTTLS_GO);
                    self.flush().await?;
                    if let Err(e) = self.conn.start_tls(&acceptor).await {
                        tracing::info!("STARTTLS failed: {e}");
                        return Ok(Flow::Close);
                    }
                    self.tls = true;
                }
            }
            Command::Auth { mechanism, initial } => return self.auth(mechanism, initial).await,
            Command::Unknown => self.reply(replies::SYNTAX_ERROR),
        }
        Ok(Flow::Continue)
    }

    async fn rcpt(&mut self, rcpt: proto::RcptTo, size: u64, authuser: Option<String>) -> Reply {
        let Some(target) = recipient::resolve(&rcpt.address, &self.srv.cfg.rules) else {
            return Reply::new(replies::USER_UNKNOWN);
        };
        let store = self.srv.store.clone();
        let policy = self.srv.cfg.policy;
        let t = target.clone();
        let ignore = rcpt.ignore_quota;
        let res = tokio::task::spawn_blocking(move || {
            deliver::verify(&store, &t, ignore, size, authuser.as_deref(), policy)
        })
        .await
        .unwrap_or_else(|_| Err(Outcome::Failed("System I/O error".to_owned())));
        match res {
            Ok(partition) => {
                self.txn.rcpts.push(Accepted {
                    target,
                    ignore_quota: ignore,
                    partition,
                });
                Reply::new(replies::RCPT_OK)
            }
            Err(o) => self.outcome_reply(&o),
        }
    }

    fn outcome_reply(&self, o: &Outcome) -> Reply {
        match o {
            Outcome::Delivered => proto::delivered(&self.session_id),
            Outcome::Unknown => Reply::new(replies::USER_UNKNOWN),
            Outcome::PermissionDenied => proto::permission_denied(&self.srv.cfg.postmaster),
            Outcome::OverQuota => proto::over_quota(&self.session_id, self.srv.cfg.over_quota_perm),
            Outcome::Failed(t) => proto::system_error(t),
        }
    }

    /// Write a chunk to the staging file on a blocking thread.
    /// The writer comes back unless the blocking task itself failed.
    async fn write_body(
        w: BodyWriter,
        buf: Vec<u8>,
    ) -> (Option<BodyWriter>, Vec<u8>, std::io::Result<()>) {
        match tokio::task::spawn_blocking(move || {
            let mut w = w;
            let r = w.write_all(&buf);
            (w, buf, r)
        })
        .await
        {
            Ok((w, buf, r)) => (Some(w), buf, r),
            Err(e) => (
                None,
                Vec::new(),
                Err(std::io::Error::other(format!(
                    "body write task failed: {e}"
                ))),
            ),
        }
    }

    async fn data(&mut self) -> std::io::Result<Flow> {
        let srv = self.srv.clone();
        let cfg = &srv.cfg;
        let partition = self.txn.rcpts[0].partition.clone();
        let store = srv.store.clone();
        let writer = tokio::task::spawn_blocking(move || store.new_body(&partition)).await;
        let mut writer = match writer {
            Ok(Ok(w)) => Some(w),
            other => {
                let msg = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "internal error".to_owned(),
                };
                self.reply(format!("451 4.3.2 cannot create temporary file: {msg}"));
                self.txn = Txn::default();
                return Ok(Flow::Continue);
            }
        };
        self.reply(replies::GO_AHEAD);

        let t = now();
        let date = rfc5322_date(t);
        let mail = self.txn.mail.clone().unwrap_or_default();
        let trace = trace_headers(&Trace {
            return_path: Some(&mail.return_path),
            servername: &cfg.servername,
            lhlo: &self.lhlo,
            clienthost: &self.clienthost,
            authuser: mail.auth.as_deref(),
            version: cfg.serverinfo.then_some(crate::VERSION),
            tls: self.tls,
            authenticated: self.auth != AuthState::None,
            date: &date,
            session_id: &self.session_id,
        });
        let msgid = format!(
            "<cmu-lmtpd-{}-{}-{}@{}>",
            std::process::id(),
            t,
            MSGID_COUNTER.fetch_add(1, Ordering::Relaxed),
            cfg.servername
        );
        let mut dec = DataDecoder::new(cfg.header, msgid, date.clone());
        let max = cfg.max_size;
        let mut size: u64 = 0;
        let mut out: Vec<u8> = trace.into_bytes();
        let mut io_error: Option<std::io::Error> = None;
        loop {
            let p = dec.push(&self.rbuf, &mut out);
            self.rbuf.drain(..p.consumed);
            if p.done {
                break;
            }
            if out.len() >= WRITE_CHUNK {
                out = self
                    .spool(&mut writer, out, max, &mut size, &mut io_error)
                    .await;
            }
            if !self.fill().await? {
                // Connection closed in the middle of DATA: nothing is delivered.
                return Ok(Flow::Close);
            }
        }
        let _ = self
            .spool(&mut writer, out, max, &mut size, &mut io_error)
            .await;

        let rcpts = std::mem::take(&mut self.txn.rcpts);
        if let Some(e) = dec.error() {
            let r = proto::message_invalid(&e.to_string());
            for _ in &rcpts {
                self.reply(&r.0);
            }
            self.txn = Txn::default();
            return Ok(Flow::Continue);
        }
        if let Some(e) = io_error {
            let r = format!("451 4.3.2 cannot copy message to temporary file: {e}");
            for _ in &rcpts {
                self.reply(&r);
            }
            self.txn = Txn::default();
            return Ok(Flow::Continue);
        }
        if let Some(m) = max
            && size > m
        {
            // Cyrus answers once and keeps the transaction (no implicit RSET).
            self.reply(proto::message_too_big(size, m).0);
            self.txn.rcpts = rcpts;
            return Ok(Flow::Continue);
        }
        let Some(w) = writer.take() else {
            self.txn = Txn::default();
            return Ok(Flow::Continue);
        };
        let store = srv.store.clone();
        let policy = cfg.policy;
        let authuser = mail.auth.clone();
        let rc = rcpts.clone();
        let res = tokio::task::spawn_blocking(move || -> Result<Vec<Outcome>, String> {
            let staged: StagedBody = w.finish().map_err(|e| e.to_string())?;
            Ok(deliver::deliver(
                &store,
                &rc,
                &staged,
                None,
                authuser.as_deref(),
                policy,
            ))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match res {
            Ok(outcomes) => {
                for o in &outcomes {
                    let r = self.outcome_reply(o);
                    self.reply(r.0);
                }
            }
            Err(e) => {
                tracing::error!("lmtp: cannot finish the message body: {e}");
                let r = format!("451 4.3.2 cannot copy message to temporary file: {e}");
                for _ in &rcpts {
                    self.reply(&r);
                }
            }
        }
        self.txn = Txn::default();
        Ok(Flow::Continue)
    }

    /// Account for `out` and write it unless the message is already over the size limit or
    /// writing failed; returns the emptied buffer.
    async fn spool(
        &mut self,
        writer: &mut Option<BodyWriter>,
        out: Vec<u8>,
        max: Option<u64>,
        size: &mut u64,
        io_error: &mut Option<std::io::Error>,
    ) -> Vec<u8> {
        let mut out = out;
        if out.is_empty() {
            return out;
        }
        *size += out.len() as u64;
        let over = max.is_some_and(|m| *size > m);
        if over || io_error.is_some() {
            *writer = None;
            out.clear();
            return out;
        }
        if let Some(w) = writer.take() {
            let (w, mut buf, r) = Session::write_body(w, out).await;
            match r {
                Ok(()) => *writer = w,
                Err(e) => *io_error = Some(e),
            }
            buf.clear();
            return buf;
        }
        out.clear();
        out
    }

    async fn auth(&mut self, mechanism: String, initial: Option<String>) -> std::io::Result<Flow> {
        if self.auth == AuthState::Did {
            self.reply(replies::ALREADY_AUTHENTICATED);
            return Ok(Flow::Continue);
        }
        if !self.txn.rcpts.is_empty() {
            self.reply(replies::AUTH_NOT_NOW);
            return Ok(Flow::Continue);
        }
        if self.auth == AuthState::External {
            // Pre-authorised connections offer EXTERNAL only.
            if mechanism.eq_ignore_ascii_case("EXTERNAL") {
                self.auth = AuthState::Did;
                self.reply(replies::AUTH_OK);
            } else {
                self.reply(replies::AUTH_NOMECH);
            }
            return Ok(Flow::Continue);
        }
        let mechs = self.mechanisms();
        if !mechs
            .iter()
            .any(|m| m.name().eq_ignore_ascii_case(&mechanism))
        {
            self.reply(replies::AUTH_NOMECH);
            return Ok(Flow::Continue);
        }
        let initial = match initial.as_deref().map(|i| auth::b64::decode(i.as_bytes())) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => {
                self.reply(proto::auth_failed("bad protocol / cancel").0);
                return Ok(Flow::Continue);
            }
        };
        let srv = self.srv.clone();
        let mechs2 = mechs.clone();
        let (mut mech, mut step) = run_sasl(srv.clone(), mechs2, move |ctx| {
            ServerMechanism::start(&mechanism, initial.as_deref(), ctx)
        })
        .await;
        loop {
            match step {
                Step::Challenge(c) => {
                    let line = format!("334 {}", auth::b64::encode(&c));
                    self.reply(line);
                    let Some(resp) = self.line().await? else {
                        return Ok(Flow::Close);
                    };
                    match auth::b64::decode_client_line(&resp) {
                        Ok(auth::b64::ClientLine::Cancel) => {
                            self.reply(replies::AUTH_CANCELED);
                            return Ok(Flow::Continue);
                        }
                        Ok(auth::b64::ClientLine::Response(r)) => {
                            let m2 = mech.clone();
                            let (m, s) = run_sasl(srv.clone(), mechs.clone(), move |ctx| {
                                let mut m = m2;
                                let s = m.step(&r, ctx);
                                (m, s)
                            })
                            .await;
                            mech = m;
                            step = s;
                        }
                        Err(_) => {
                            self.reply(proto::auth_failed("bad protocol / cancel").0);
                            return Ok(Flow::Continue);
                        }
                    }
                }
                Step::Done { authzid, .. } => {
                    tracing::info!(user = authzid, "lmtp login");
                    self.auth = AuthState::Did;
                    self.reply(replies::AUTH_OK);
                    return Ok(Flow::Continue);
                }
                Step::Failed(f) => {
                    tracing::info!("lmtp badlogin: {f}");
                    self.reply(proto::auth_failed(f.sasl_text()).0);
                    return Ok(Flow::Continue);
                }
            }
        }
    }
}

/// Run a SASL step (which may verify a password, slowly) on a blocking thread.
async fn run_sasl<F>(srv: Arc<Server>, mechs: Vec<Mechanism>, f: F) -> (ServerMechanism, Step)
where
    F: FnOnce(&AuthContext<'_>) -> (ServerMechanism, Step) + Send + 'static,
{
    let r = tokio::task::spawn_blocking(move || {
        let ctx = AuthContext {
            passwords: srv.passwd.as_ref(),
            admins: srv.admins.as_ref(),
            mechanisms: &mechs,
        };
        f(&ctx)
    })
    .await;
    match r {
        Ok(v) => v,
        Err(_) => {
            let ctx_fail = auth::Failure::Internal("authentication task failed".to_owned());
            let (m, _) = ServerMechanism::start(
                "",
                None,
                &AuthContext {
                    passwords: &auth::StaticPasswords::new(),
                    admins: &auth::Admins::default(),
                    mechanisms: &[],
                },
            );
            (m, Step::Failed(ctx_fail))
        }
    }
}
