//! One POP3 connection: AUTHORIZATION (USER/PASS, AUTH, STLS), TRANSACTION (STAT, LIST,
//! RETR, DELE, NOOP, RSET, TOP, UIDL) and UPDATE (QUIT), in Cyrus's order of checks and words.
//!
//! Owns: the session state (an enum carrying the maildrop once logged in), output batching
//! (flushed before each blocking read, so pipelined commands are answered together), login
//! pauses, streaming message bodies from disk.
//! Must not: parse protocol syntax (see [`crate::proto`]) or block the reactor: mailstore
//! calls and password checks run on blocking threads.

use std::sync::Arc;
use std::time::Duration;

use auth::sasl::server_mechanisms;
use auth::{AuthContext, Mechanism, ServerMechanism, Step};
use mailstore::{FlagChange, FlagOp, MessageRecord, SystemFlags};
use net::Conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use types::{MboxName, Uid};

use crate::proto::{self, Capa, Stuffer};
use crate::{Server, UidlFormat};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn new_session_id(servername: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{servername}-{}-{}-{}-{}",
        now(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed) + 1,
        rand::random::<u64>()
    )
}

/// One message of the maildrop.
#[derive(Debug, Clone)]
struct Msg {
    rec: MessageRecord,
    deleted: bool,
    seen: bool,
}

/// The logged-in state.
#[derive(Debug)]
struct Maildrop {
    inbox: MboxName,
    uidvalidity: u32,
    new_uidl: bool,
    login_time: i64,
    msgs: Vec<Msg>,
}

#[derive(Debug)]
enum State {
    /// AUTHORIZATION; `user` is set after a good USER.
    Auth {
        user: Option<String>,
    },
    Transaction(Maildrop),
}

struct Session {
    srv: Arc<Server>,
    conn: Conn,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    eof: bool,
    tls: bool,
    state: State,
    session_id: String,
}

/// Serve one connection until QUIT or disconnect.
pub async fn serve_conn(srv: Arc<Server>, mut conn: Conn) {
    let mut tls = false;
    if srv.tls_on_connect {
        let Some(acceptor) = srv.tls.as_ref() else {
            tracing::error!("pop3s needs tls_server_cert and tls_server_key");
            return;
        };
        if let Err(e) = conn.start_tls(acceptor).await {
            tracing::info!("pop3s handshake failed: {e}");
            return;
        }
        tls = true;
    }
    let mut s = Session {
        session_id: new_session_id(&srv.cfg.servername),
        srv,
        conn,
        rbuf: Vec::with_capacity(8192),
        wbuf: Vec::new(),
        eof: false,
        tls,
        state: State::Auth { user: None },
    };
    if let Err(e) = s.run().await {
        tracing::debug!("pop3 session ended: {e}");
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

    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.flush().await?;
        let mut tmp = [0u8; 16 * 1024];
        let idle = Duration::from_secs(self.srv.cfg.timeout);
        let n = match tokio::time::timeout(idle, self.conn.read(&mut tmp)).await {
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

    async fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let lf = self
                .rbuf
                .iter()
                .take(proto::MAX_LINE)
                .position(|&b| b == b'\n');
            let take = match lf {
                Some(i) => Some(i + 1),
                None if self.rbuf.len() >= proto::MAX_LINE => Some(proto::MAX_LINE),
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
        let mut s = String::from("+OK");
        if c.serverinfo != "off" {
            s.push(' ');
            s.push_str(&c.servername);
        }
        if c.serverinfo == "on" {
            s.push_str(&format!(" Cyrus POP3 {}", crate::VERSION));
        }
        // No APOP challenge: passwords are stored hashed (Cyrus without APOP says the same).
        s.push_str(" server ready ");
        s
    }

    fn mechanisms(&self) -> Vec<Mechanism> {
        server_mechanisms(
            self.tls,
            self.srv.cfg.allow_plaintext,
            self.srv.cfg.sasl_mech_list.as_deref(),
        )
    }

    fn logged_in(&self) -> bool {
        matches!(self.state, State::Transaction(_))
    }

    async fn run(&mut self) -> std::io::Result<()> {
        let g = self.greeting();
        self.reply(g);
        loop {
            let Some(line) = self.line().await? else {
                return self.flush().await;
            };
            let l = match proto::split_line(&line) {
                Ok(l) => l,
                Err(e) => {
                    self.reply(e);
                    continue;
                }
            };
            if self.command(l).await? {
                return self.flush().await;
            }
        }
    }

    /// Handle one command; Ok(true) to close.
    async fn command(&mut self, l: proto::Line) -> std::io::Result<bool> {
        let arg = l.arg;
        match l.keyword.as_str() {
            "quit" => {
                if arg.is_some() {
                    self.reply("-ERR Unexpected extra argument");
                    return Ok(false);
                }
                self.quit().await;
                self.reply("+OK");
                return Ok(true);
            }
            "capa" => {
                if arg.is_some() {
                    self.reply("-ERR Unexpected extra argument");
                } else {
                    self.capa();
                }
                return Ok(false);
            }
            _ => {}
        }
        if !self.logged_in() {
            match l.keyword.as_str() {
                "user" => match arg {
                    None => self.reply("-ERR Missing argument"),
                    Some(a) => self.user(a),
                },
                "pass" => match arg {
                    None => self.reply("-ERR Missing argument"),
                    Some(a) => self.pass(a).await,
                },
                "auth" => return self.auth(arg).await,
                "stls" if self.srv.tls.is_some() => {
                    if arg.is_some() {
                        self.reply("-ERR Unexpected extra argument");
                    } else {
                        return self.stls().await;
                    }
                }
                _ => self.reply("-ERR Unrecognized command"),
            }
            return Ok(false);
        }
        match l.keyword.as_str() {
            "stat" => {
                if arg.is_some() {
                    self.reply("-ERR Unexpected extra argument");
                } else {
                    let (n, size) = self
                        .drop_ref()
                        .msgs
                        .iter()
                        .filter(|m| !m.deleted)
                        .fold((0u64, 0u64), |(n, s), m| (n + 1, s + m.rec.size));
                    self.reply(format!("+OK {n} {size}"));
                }
            }
            "list" => match arg {
                Some(a) => {
                    if let Some(i) = self.msgno(&a) {
                        let size = self.drop_ref().msgs[i].rec.size;
                        self.reply(format!("+OK {} {size}", i + 1));
                    }
                }
                None => {
                    let mut s = String::from("+OK scan listing follows\r\n");
                    for (i, m) in self.drop_ref().msgs.iter().enumerate() {
                        if !m.deleted {
                            s.push_str(&format!("{} {}\r\n", i + 1, m.rec.size));
                        }
                    }
                    s.push('.');
                    self.reply(s);
                }
            },
            "retr" => match arg {
                None => self.reply("-ERR Missing argument"),
                Some(a) => {
                    if let Some(i) = self.msgno(&a) {
                        self.blat(i, None).await?;
                        if let State::Transaction(d) = &mut self.state {
                            d.msgs[i].seen = true;
                        }
                    }
                }
            },
            "dele" => match arg {
                None => self.reply("-ERR Missing argument"),
                Some(a) => {
                    if let Some(i) = self.msgno(&a) {
                        if let State::Transaction(d) = &mut self.state {
                            d.msgs[i].deleted = true;
                        }
                        self.reply("+OK message deleted");
                    }
                }
            },
            "noop" => {
                if arg.is_some() {
                    self.reply("-ERR Unexpected extra argument");
                } else {
                    self.reply("+OK");
                }
            }
            "rset" => {
                if arg.is_some() {
                    self.reply("-ERR Unexpected extra argument");
                } else {
                    if let State::Transaction(d) = &mut self.state {
                        for m in &mut d.msgs {
                            m.deleted = false;
                            m.seen = false;
                        }
                    }
                    self.reply("+OK");
                }
            }
            "top" => match proto::parse_top(arg.as_deref()) {
                Err(e) => self.reply(e.reply()),
                Ok((n, lines)) => {
                    if let Some(i) = self.exists(n) {
                        self.blat(i, Some(lines)).await?;
                    }
                }
            },
            "uidl" => match arg {
                Some(a) => {
                    if let Some(i) = self.msgno(&a) {
                        let u = self.uidl(i);
                        self.reply(format!("+OK {u}"));
                    }
                }
                None => {
                    let mut s = String::from("+OK unique-id listing follows\r\n");
                    let n = self.drop_ref().msgs.len();
                    for i in 0..n {
                        if !self.drop_ref().msgs[i].deleted {
                            s.push_str(&self.uidl(i));
                            s.push_str("\r\n");
                        }
                    }
                    s.push('.');
                    self.reply(s);
                }
            },
            _ => self.reply("-ERR Unrecognized command"),
        }
        Ok(false)
    }

    fn drop_ref(&self) -> &Maildrop {
        match &self.state {
            State::Transaction(d) => d,
            // Only called in the TRANSACTION state (checked by `command`).
            State::Auth { .. } => unreachable!("maildrop used before login"),
        }
    }

    /// `msg_exists_or_err`: index of an existing, undeleted message.
    fn exists(&mut self, n: u32) -> Option<usize> {
        let d = self.drop_ref();
        let i = (n as usize).checked_sub(1)?;
        if n == 0 || i >= d.msgs.len() || d.msgs[i].deleted {
            self.reply("-ERR No such message");
            return None;
        }
        Some(i)
    }

    fn msgno(&mut self, arg: &str) -> Option<usize> {
        match proto::parse_msgno(arg) {
            Ok(0) => {
                self.reply("-ERR No such message");
                None
            }
            Ok(n) => self.exists(n),
            Err(e) => {
                self.reply(e.reply());
                None
            }
        }
    }

    fn uidl(&self, i: usize) -> String {
        let d = self.drop_ref();
        let uid = d.msgs[i].rec.uid.0;
        let v = d.uidvalidity;
        let n = i + 1;
        if !d.new_uidl {
            return format!("{n} {uid}");
        }
        match self.srv.cfg.uidl_format {
            UidlFormat::UidOnly => format!("{n} {uid}"),
            UidlFormat::Cyrus => format!("{n} {v}.{uid}"),
            UidlFormat::Dovecot => format!("{n} {uid:08x}{v:08x}"),
            UidlFormat::Courier => format!("{n} {v}-{uid}"),
        }
    }

    /// Send a message (RETR) or its header and `lines` body lines (TOP), byte-stuffed,
    /// streaming it from disk.
    async fn blat(&mut self, i: usize, lines: Option<u32>) -> std::io::Result<()> {
        let (inbox, rec) = {
            let d = self.drop_ref();
            (d.inbox.clone(), d.msgs[i].rec.clone())
        };
        let store = self.srv.store.clone();
        let path = tokio::task::spawn_blocking(move || store.message_path(&inbox, &rec))
            .await
            .ok()
            .and_then(Result::ok);
        let file = match path {
            Some(p) => tokio::fs::File::open(p).await.ok(),
            None => None,
        };
        let Some(mut file) = file else {
            self.reply("-ERR [SYS/PERM] Could not read message file");
            return Ok(());
        };
        self.reply("+OK Message follows");
        let mut st = Stuffer::new(lines);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            st.push(&buf[..n], &mut self.wbuf);
            if st.is_done() {
                break;
            }
            if self.wbuf.len() >= 64 * 1024 {
                self.flush().await?;
            }
        }
        st.finish(&mut self.wbuf);
        Ok(())
    }

    fn capa(&mut self) {
        let mechs = self.mechanisms();
        let names: Vec<&str> = if self.logged_in() {
            vec![]
        } else {
            mechs.iter().map(|m| m.name()).collect()
        };
        let authed = self.logged_in();
        let c = &self.srv.cfg;
        let implementation = (authed || c.serverinfo == "on").then_some(crate::VERSION);
        let s = proto::capa(&Capa {
            sasl: &names,
            stls: self.srv.tls.is_some() && !self.tls && !authed,
            expire_days: c.expire_days,
            login_delay: c.minpoll,
            user: !authed && (self.tls || c.allow_plaintext),
            implementation,
        });
        self.wbuf.extend_from_slice(s.as_bytes());
    }

    fn user(&mut self, name: String) {
        if !(self.tls || self.srv.cfg.allow_plaintext) {
            self.reply("-ERR [AUTH] USER command only available under a layer");
            return;
        }
        let State::Auth { user } = &mut self.state else {
            return;
        };
        if user.is_some() {
            self.reply("-ERR [AUTH] Must give PASS command");
            return;
        }
        // '.' is not allowed in a userid when it is the hierarchy separator (except in the
        // domain part with virtual domains).
        let bad_dot = !self.srv.cfg.unix_sep
            && match name.find('.') {
                None => false,
                Some(dot) => {
                    !(self.srv.cfg.virtdomains && name.find('@').is_some_and(|at| dot > at))
                }
            };
        if bad_dot
            || name.is_empty()
            || name.len() + 6 >= 1024
            || MboxName::user_inbox(&name).is_err()
        {
            self.reply("-ERR [AUTH] Invalid user");
            return;
        }
        *user = Some(name);
        self.reply("+OK Name is a valid mailbox");
    }

    async fn pause(&mut self, secs: u64) -> std::io::Result<()> {
        if secs > 0 {
            self.flush().await?;
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
        Ok(())
    }

    async fn pass(&mut self, pass: String) {
        let State::Auth { user } = &mut self.state else {
            return;
        };
        let Some(login) = user.take() else {
            self.reply("-ERR [AUTH] Must give USER command");
            return;
        };
        let passwd = self.srv.passwd.clone();
        let l2 = login.clone();
        let ok = tokio::task::spawn_blocking(move || passwd.verify_login(&l2, pass.as_bytes()))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if !ok {
            tracing::info!(user = login, "pop3 badlogin (plaintext)");
            let _ = self.pause(self.srv.cfg.failed_login_pause).await;
            self.reply("-ERR [AUTH] Invalid login");
            return;
        }
        if !self.tls {
            let _ = self.pause(self.srv.cfg.plaintext_login_pause).await;
        }
        self.open_inbox(login).await;
    }

    async fn stls(&mut self) -> std::io::Result<bool> {
        let Some(acceptor) = self.srv.tls.clone() else {
            self.reply("-ERR Unrecognized command");
            return Ok(false);
        };
        self.rbuf.clear();
        if self.tls {
            self.reply("-ERR Already successfully executed STLS");
            return Ok(false);
        }
        self.reply("+OK Begin TLS negotiation now");
        self.flush().await?;
        if let Err(e) = self.conn.start_tls(&acceptor).await {
            tracing::info!("STLS failed: {e}");
            return Ok(true);
        }
        self.tls = true;
        Ok(false)
    }

    async fn auth(&mut self, arg: Option<String>) -> std::io::Result<bool> {
        let mechs = self.mechanisms();
        let Some(arg) = arg else {
            let mut s = String::from("+OK List of supported mechanisms follows\r\n");
            for m in &mechs {
                s.push_str(m.name());
                s.push_str("\r\n");
            }
            s.push('.');
            self.reply(s);
            return Ok(false);
        };
        let (mechanism, initial) = match arg.split_once([' ', '\t']) {
            Some((m, i)) => (m.to_owned(), Some(i.to_owned())),
            None => (arg, None),
        };
        let initial = match initial.as_deref().map(|i| auth::b64::decode(i.as_bytes())) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => {
                self.auth_failed("bad protocol / cancel").await?;
                return Ok(false);
            }
        };
        let srv = self.srv.clone();
        let (mut mech, mut step) = run_sasl(srv.clone(), mechs.clone(), move |ctx| {
            ServerMechanism::start(&mechanism, initial.as_deref(), ctx)
        })
        .await;
        loop {
            match step {
                Step::Challenge(c) => {
                    self.reply(format!("+ {}", auth::b64::encode(&c)));
                    let Some(resp) = self.line().await? else {
                        return Ok(true);
                    };
                    match auth::b64::decode_client_line(&resp) {
                        Ok(auth::b64::ClientLine::Cancel) => {
                            self.reply("-ERR [AUTH] Client canceled authentication");
                            return Ok(false);
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
                            self.auth_failed("bad protocol / cancel").await?;
                            return Ok(false);
                        }
                    }
                }
                Step::Done { authzid, .. } => {
                    self.open_inbox(authzid).await;
                    return Ok(false);
                }
                Step::Failed(f) => {
                    tracing::info!("pop3 badlogin: {f}");
                    self.auth_failed(f.sasl_text()).await?;
                    return Ok(false);
                }
            }
        }
    }

    async fn auth_failed(&mut self, text: &str) -> std::io::Result<()> {
        self.pause(self.srv.cfg.failed_login_pause).await?;
        self.reply(format!("-ERR [AUTH] authenticating: {text}"));
        Ok(())
    }

    /// Cyrus `openinbox`: open the user's INBOX, enforce `popminpoll`, build the maildrop.
    async fn open_inbox(&mut self, userid: String) {
        let store = self.srv.store.clone();
        let minpoll = self.srv.cfg.minpoll;
        let use_flags = self.srv.cfg.use_imap_flags;
        let login_time = now();
        let res = tokio::task::spawn_blocking(move || -> Result<Maildrop, OpenError> {
            let inbox = MboxName::user_inbox(&userid).map_err(|_| OpenError::NoMailbox)?;
            let entry = match store.lookup(&inbox) {
                Ok(e) if e.mbtype.is_real() && !e.mbtype.intermediate => e,
                Ok(_) | Err(mailstore::StoreError::MailboxNotFound(_)) => {
                    return Err(OpenError::NoMailbox);
                }
                Err(e) => return Err(OpenError::Io(e.to_string())),
            };
            let header = store
                .header(&inbox)
                .map_err(|e| OpenError::Io(e.to_string()))?;
            if minpoll > 0 && header.pop3_last_login + minpoll > login_time {
                return Err(OpenError::LoginDelay(minpoll / 60));
            }
            let records = store
                .records(&inbox)
                .map_err(|e| OpenError::Io(e.to_string()))?;
            let show_after = header.pop3_show_after;
            let msgs = records
                .into_iter()
                .filter(|r| !r.expunged)
                .filter(|r| !(use_flags && r.flags.deleted))
                .filter(|r| show_after == 0 || r.internaldate > show_after)
                .map(|rec| Msg {
                    rec,
                    deleted: false,
                    seen: false,
                })
                .collect();
            Ok(Maildrop {
                inbox,
                uidvalidity: entry.uidvalidity.0,
                new_uidl: header.options.pop3_new_uidl,
                login_time,
                msgs,
            })
        })
        .await
        .unwrap_or_else(|e| Err(OpenError::Io(e.to_string())));
        match res {
            Ok(d) => {
                self.state = State::Transaction(d);
                let r = format!(
                    "+OK Mailbox locked and ready SESSIONID=<{}>",
                    self.session_id
                );
                self.reply(r);
            }
            Err(OpenError::NoMailbox) => {
                let _ = self.pause(3).await;
                self.reply("-ERR [SYS/TEMP] Unable to open maildrop: Mailbox does not exist");
            }
            Err(OpenError::Io(e)) => {
                tracing::error!("pop3: cannot open maildrop: {e}");
                let _ = self.pause(3).await;
                self.reply("-ERR [SYS/PERM] Unable to open maildrop: System I/O error");
            }
            Err(OpenError::LoginDelay(m)) => {
                let s = if m > 1 { "s" } else { "" };
                self.reply(format!(
                    "-ERR [LOGIN-DELAY] Logins must be at least {m} minute{s} apart"
                ));
            }
        }
    }

    /// UPDATE state: record the login time, expunge DELEted messages, set \Seen on RETRieved
    /// ones (with `popuseimapflags`).
    async fn quit(&mut self) {
        let State::Transaction(d) = std::mem::replace(&mut self.state, State::Auth { user: None })
        else {
            return;
        };
        let store = self.srv.store.clone();
        let minpoll = self.srv.cfg.minpoll;
        let padding = self.srv.cfg.pollpadding;
        let use_flags = self.srv.cfg.use_imap_flags;
        let r = tokio::task::spawn_blocking(move || -> mailstore::Result<()> {
            let header = store.header(&d.inbox)?;
            let last = if minpoll > 0 && padding > 1 {
                let mintime = d.login_time - minpoll * padding;
                if header.pop3_last_login < mintime {
                    mintime + minpoll
                } else {
                    header.pop3_last_login + minpoll
                }
            } else {
                d.login_time
            };
            store.set_pop3_login(&d.inbox, last)?;
            let deleted: Vec<Uid> = d
                .msgs
                .iter()
                .filter(|m| m.deleted)
                .map(|m| m.rec.uid)
                .collect();
            if !deleted.is_empty() {
                let change = FlagChange {
                    system: SystemFlags {
                        deleted: true,
                        ..SystemFlags::default()
                    },
                    user: vec![],
                };
                store.store_flags(&d.inbox, &deleted, FlagOp::Add, &change, None)?;
                store.expunge(&d.inbox, &deleted)?;
            }
            if use_flags {
                let seen: Vec<Uid> = d
                    .msgs
                    .iter()
                    .filter(|m| m.seen && !m.deleted && !m.rec.flags.seen)
                    .map(|m| m.rec.uid)
                    .collect();
                if !seen.is_empty() {
                    let change = FlagChange {
                        system: SystemFlags {
                            seen: true,
                            ..SystemFlags::default()
                        },
                        user: vec![],
                    };
                    store.store_flags(&d.inbox, &seen, FlagOp::Add, &change, None)?;
                }
            }
            Ok(())
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("pop3 QUIT: {e}"),
            Err(e) => tracing::error!("pop3 QUIT task: {e}"),
        }
    }
}

#[derive(Debug)]
enum OpenError {
    NoMailbox,
    LoginDelay(i64),
    Io(String),
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
            let (m, _) = ServerMechanism::start(
                "",
                None,
                &AuthContext {
                    passwords: &auth::StaticPasswords::new(),
                    admins: &auth::Admins::default(),
                    mechanisms: &[],
                },
            );
            (
                m,
                Step::Failed(auth::Failure::Internal(
                    "authentication task failed".to_owned(),
                )),
            )
        }
    }
}
