//! One IMAP connection: reading framed commands (with `+ go ahead` for synchronising
//! literals), the not-authenticated / authenticated / selected states, and every command
//! handler except FETCH, SEARCH and LIST, which live in their own modules.
//!
//! Owns: the socket, per-session state, rights checks and Cyrus's response wording.
//! Must not: block the reactor (store calls go through [`Session::st`]) or panic on input.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use auth::sasl::{AuthContext, server_mechanisms};
use auth::{ServerMechanism, Step};
use imap_proto::response::{astring, status};
use imap_proto::{
    Command, CommandBody, Frame, Framer, SequenceSet, StatusItem, StoreMode, mutf7, parse_command,
};
use mailstore::{
    AppendOptions, CreateOptions, FlagChange, FlagOp, MailboxEntry, MessageRecord, QuotaLimits,
    SeenState, Store, StoreError, SystemFlags,
};
use net::Conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use types::{MboxName, Modseq, Uid, Viewer};

use crate::Server;
use crate::acl::{self, Rights};
use crate::selected::{Msg, Selected};

/// Longest AUTHENTICATE continuation or IDLE line.
const MAX_AUX_LINE: usize = 16 * 1024;

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Serve one connection until LOGOUT, EOF, an I/O error or autologout.
pub async fn serve_conn(conn: Conn, server: Arc<Server>) {
    let mut s = Session::new(conn, server);
    if let Err(e) = s.run().await {
        tracing::debug!("imapd session ended: {e}");
    }
}

/// The tagged completion of a command.
#[derive(Debug)]
pub(crate) enum Reply {
    Ok(Option<String>, String),
    No(Option<String>, String),
    Bad(String),
}

pub(crate) fn ok() -> Reply {
    Reply::Ok(None, "Completed".into())
}

pub(crate) fn no(text: &str) -> Reply {
    Reply::No(None, text.to_owned())
}

pub(crate) fn no_code(code: &str, text: &str) -> Reply {
    Reply::No(Some(code.to_owned()), text.to_owned())
}

pub(crate) const NONEXISTENT: &str = "Mailbox does not exist";
pub(crate) const DENIED: &str = "Permission denied";

/// Cyrus's wording for a store failure.
pub(crate) fn store_reply(e: &StoreError) -> Reply {
    match e {
        StoreError::MailboxNotFound(_) | StoreError::NoParent(_) => no(NONEXISTENT),
        StoreError::MailboxExists(_) => no("Mailbox already exists"),
        StoreError::BadName(_) => no("Invalid mailbox name"),
        StoreError::TooManyUserFlags(_) => no("Too many user flags in mailbox"),
        StoreError::BadFlag(_) => Reply::Bad("Invalid flag name".into()),
        StoreError::NotSupported(_) => no("Operation is not supported on mailbox"),
        StoreError::UnknownPartition(_) => no("Unknown partition"),
        StoreError::Shared(inner) => store_reply(inner),
        other => {
            tracing::error!("store failure: {other}");
            no("System I/O error")
        }
    }
}

/// Who is logged in.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub userid: String,
    pub admin: bool,
}

pub(crate) struct Session {
    pub srv: Arc<Server>,
    conn: Conn,
    rbuf: Vec<u8>,
    pub out: Vec<u8>,
    framer: Framer,
    pub user: Option<User>,
    pub sel: Option<Selected>,
    pub condstore: bool,
    pub qresync: bool,
    session_id: String,
    logout: bool,
    sync_core: Option<replication::server::SyncCore>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn session_id(servername: &str) -> String {
    let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{servername}-{now}-{}-{n}-{}",
        std::process::id(),
        rand_u64()
    )
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SESSION_COUNTER.load(Ordering::Relaxed));
    h.finish()
}

/// Most UIDs a stored seen set expands to: the set comes from a file, so a hostile or corrupt
/// `1:4294967295` must not exhaust memory (a mailbox with more messages than this reports
/// the excess as unseen).
const MAX_SEEN_EXPANSION: usize = 1 << 20;

/// Parse a stored seen set (`1:5,7`, `*` meaning `max`) into UIDs.
fn seen_uids(s: &str, max: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(set) = SequenceSet::parse(s) else {
        return out;
    };
    for &(a, b) in &set.0 {
        let r = |x: imap_proto::SeqNum| match x {
            imap_proto::SeqNum::Value(v) => v,
            imap_proto::SeqNum::Star => max,
        };
        let (lo, hi) = (r(a).min(r(b)), r(a).max(r(b)));
        for u in lo..=hi {
            if out.len() >= MAX_SEEN_EXPANSION {
                return out;
            }
            out.insert(u);
        }
    }
    out
}

impl Session {
    fn new(conn: Conn, srv: Arc<Server>) -> Session {
        let framer = Framer::new(srv.limits);
        let session_id = session_id(&srv.servername);
        Session {
            srv,
            conn,
            rbuf: Vec::new(),
            out: Vec::new(),
            framer,
            user: None,
            sel: None,
            condstore: false,
            qresync: false,
            session_id,
            logout: false,
            sync_core: None,
        }
    }

    // ---- I/O ------------------------------------------------------------------------------

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            self.conn.write_all(&out).await?;
        }
        self.conn.flush().await
    }

    async fn fill(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 16 * 1024];
        let n = tokio::time::timeout(self.srv.autologout, self.conn.read(&mut buf))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "autologout"))??;
        if n == 0 {
            return Ok(false);
        }
        self.rbuf.extend_from_slice(&buf[..n]);
        Ok(true)
    }

    /// The next complete command's bytes, `None` at EOF or after a fatal framing error.
    async fn read_command(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            match self.framer.feed(&self.rbuf) {
                Frame::Complete(n) => {
                    let rest = self.rbuf.split_off(n);
                    let cmd = std::mem::replace(&mut self.rbuf, rest);
                    return Ok(Some(cmd));
                }
                Frame::NeedContinuation => {
                    self.out.extend_from_slice(b"+ go ahead\r\n");
                    self.flush().await?;
                }
                Frame::Incomplete => {
                    self.flush().await?;
                    if !self.fill().await? {
                        return Ok(None);
                    }
                }
                Frame::LineTooLong => {
                    self.out.extend_from_slice(b"* BYE Line too long\r\n");
                    self.flush().await?;
                    return Ok(None);
                }
                Frame::LiteralTooLarge {
                    sync,
                    consumed,
                    tag_end,
                } => {
                    let tag = String::from_utf8_lossy(&self.rbuf[..tag_end]).into_owned();
                    let tag = if tag.is_empty() { "*".to_owned() } else { tag };
                    if sync {
                        self.out
                            .extend(status(&tag, "NO", None, "Literal too large"));
                        self.rbuf.drain(..consumed.min(self.rbuf.len()));
                    } else {
                        self.out
                            .extend(status("*", "BYE", None, "Literal too large"));
                        self.flush().await?;
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// One raw line (AUTHENTICATE responses, IDLE's DONE), without CRLF.
    async fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(p) = self.rbuf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.rbuf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            if self.rbuf.len() > MAX_AUX_LINE {
                return Ok(None);
            }
            self.flush().await?;
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Run a blocking store operation off the reactor.
    pub(crate) async fn st<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.srv.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or(Err(StoreError::Internal("store task failed")))
    }

    // ---- main loop ------------------------------------------------------------------------

    async fn run(&mut self) -> io::Result<()> {
        if self.srv.tls_on_connect {
            let Some(acceptor) = self.srv.tls.clone() else {
                return Err(io::Error::other(
                    "imaps without tls_server_cert/tls_server_key",
                ));
            };
            self.conn.start_tls(&acceptor).await?;
        }
        let caps = self.capability_list(true);
        let greeting = format!(
            "* OK [CAPABILITY {caps}] {} Cyrus IMAP {} server ready\r\n",
            self.srv.servername,
            crate::VERSION
        );
        self.out.extend_from_slice(greeting.as_bytes());
        self.flush().await?;
        while !self.logout {
            if self.is_admin() && self.srv.replication.is_some() {
                match self.next_is_sync().await? {
                    None => break,
                    Some(true) => {
                        self.sync_mode().await?;
                        self.flush().await?;
                        continue;
                    }
                    Some(false) => {}
                }
            }
            let Some(bytes) = self.read_command().await? else {
                break;
            };
            match parse_command(&bytes) {
                Ok(cmd) => self.command(cmd).await?,
                Err(e) => {
                    let tag = e.tag.unwrap_or_else(|| "*".into());
                    self.out.extend(status(&tag, "BAD", None, &e.text));
                }
            }
            self.flush().await?;
        }
        self.flush().await
    }

    fn write_reply(&mut self, tag: &str, r: Reply) {
        let line = match r {
            Reply::Ok(code, text) => status(tag, "OK", code.as_deref(), &text),
            Reply::No(code, text) => status(tag, "NO", code.as_deref(), &text),
            Reply::Bad(text) => status(tag, "BAD", None, &text),
        };
        self.out.extend(line);
    }

    async fn command(&mut self, cmd: Command) -> io::Result<()> {
        use CommandBody as B;
        let Command { tag, body } = cmd;
        let authed = self.user.is_some();
        let selected = self.sel.is_some();
        let needs_auth = !matches!(
            body,
            B::Capability
                | B::Noop
                | B::Logout
                | B::Id(_)
                | B::StartTls
                | B::Authenticate { .. }
                | B::Login { .. }
        );
        let needs_sel = matches!(
            body,
            B::Check
                | B::Close
                | B::Unselect
                | B::Expunge
                | B::UidExpunge(_)
                | B::Search { .. }
                | B::Fetch { .. }
                | B::Store { .. }
                | B::Copy { .. }
                | B::Move { .. }
        );
        if needs_auth && !authed {
            self.write_reply(&tag, Reply::Bad("Please login first".into()));
            return Ok(());
        }
        if needs_sel && !selected {
            self.write_reply(&tag, Reply::Bad("Please select a mailbox first".into()));
            return Ok(());
        }
        let reply = match body {
            B::Capability => {
                let caps = self.capabilities();
                self.out
                    .extend(format!("* CAPABILITY {caps}\r\n").into_bytes());
                ok()
            }
            B::Noop | B::Check => {
                self.refresh(true).await;
                ok()
            }
            B::Logout => {
                self.out.extend_from_slice(b"* BYE LOGOUT received\r\n");
                self.logout = true;
                ok()
            }
            B::Id(_) => {
                if self.srv.id_response {
                    let mut v = b"* ID (\"name\" \"Cyrus IMAPD\" \"version\" ".to_vec();
                    imap_proto::response::string(&mut v, crate::VERSION.as_bytes());
                    v.extend_from_slice(b" \"vendor\" \"cyrus-rs\")\r\n");
                    self.out.extend(v);
                } else {
                    self.out.extend_from_slice(b"* ID NIL\r\n");
                }
                ok()
            }
            B::StartTls => return self.starttls(&tag).await,
            B::Login { user, password } => {
                if authed {
                    Reply::Bad("Already logged in".into())
                } else {
                    self.login(user, password).await
                }
            }
            B::Authenticate { mechanism, initial } => {
                if authed {
                    Reply::Bad("Already authenticated".into())
                } else {
                    self.authenticate(&mechanism, initial).await?
                }
            }
            B::Compress(mech) => return self.compress(&tag, &mech).await,
            B::Enable(caps) => {
                let mut on = Vec::new();
                for c in caps {
                    match c.as_str() {
                        "CONDSTORE" if !self.condstore => {
                            self.condstore = true;
                            on.push(c);
                        }
                        "QRESYNC" if !self.qresync => {
                            self.qresync = true;
                            self.condstore = true;
                            on.push(c);
                        }
                        _ => {}
                    }
                }
                let mut line = "* ENABLED".to_owned();
                for c in on {
                    line.push(' ');
                    line.push_str(&c);
                }
                line.push_str("\r\n");
                self.out.extend(line.into_bytes());
                ok()
            }
            B::Namespace => {
                let ns = self.srv.ns.namespaces(self.viewer());
                let mut v = b"* NAMESPACE".to_vec();
                for (i, (prefix, sep)) in ns.into_iter().enumerate() {
                    // Admins have no personal namespace (Cyrus 3.6 sends NIL).
                    if i == 0 && self.is_admin() {
                        v.extend_from_slice(b" NIL");
                        continue;
                    }
                    v.extend_from_slice(b" ((");
                    imap_proto::response::string(&mut v, prefix.as_bytes());
                    v.extend_from_slice(format!(" \"{sep}\"))").as_bytes());
                }
                v.extend_from_slice(b"\r\n");
                self.out.extend(v);
                ok()
            }
            B::Select {
                mailbox,
                condstore,
                qresync,
                readonly,
            } => self.select(&mailbox, condstore, qresync, readonly).await,
            B::Create {
                mailbox,
                special_use,
            } => self.create(&mailbox, special_use).await,
            B::Delete(m) => self.delete(&m).await,
            B::Rename { from, to } => self.rename(&from, &to).await,
            B::Subscribe(m) => self.subscribe(&m, true).await,
            B::Unsubscribe(m) => self.subscribe(&m, false).await,
            B::List {
                reference,
                patterns,
                options,
            } => self.list(&reference, &patterns, options, false).await,
            B::Xlist { reference, pattern } => {
                let options = imap_proto::ListOptions {
                    ret: vec!["SPECIAL-USE".into()],
                    ..Default::default()
                };
                self.list(&reference, &[pattern], options, false).await
            }
            B::Lsub { reference, pattern } => {
                let options = imap_proto::ListOptions {
                    selection: vec!["SUBSCRIBED".into()],
                    ..Default::default()
                };
                self.list(&reference, &[pattern], options, true).await
            }
            B::Status { mailbox, items } => self.status_cmd(&mailbox, &items).await,
            B::Append { mailbox, messages } => self.append(&mailbox, messages).await,
            B::Close => {
                if let Some(sel) = &self.sel
                    && !sel.readonly
                    && sel.rights.has('e')
                {
                    let uids: Vec<Uid> = sel
                        .msgs
                        .iter()
                        .filter(|m| m.rec.flags.deleted)
                        .map(|m| m.rec.uid)
                        .collect();
                    let name = sel.name.clone();
                    if !uids.is_empty() {
                        let _ = self.st(move |s| s.expunge(&name, &uids)).await;
                    }
                }
                self.sel = None;
                ok()
            }
            B::Unselect => {
                self.sel = None;
                ok()
            }
            B::Expunge => self.expunge(None).await,
            B::UidExpunge(set) => self.expunge(Some(set)).await,
            B::Search {
                uid,
                charset,
                key,
                ret,
            } => self.search(&tag, uid, charset, key, ret).await,
            B::Fetch {
                uid,
                set,
                items,
                changedsince,
                vanished,
            } => self.fetch(uid, &set, items, changedsince, vanished).await,
            B::Store {
                uid,
                set,
                mode,
                silent,
                flags,
                unchangedsince,
            } => {
                self.store_cmd(uid, &set, mode, silent, flags, unchangedsince)
                    .await
            }
            B::Copy { uid, set, mailbox } => self.copy(uid, &set, &mailbox, false).await,
            B::Move { uid, set, mailbox } => self.copy(uid, &set, &mailbox, true).await,
            B::Idle => return self.idle(&tag).await,
            B::GetAcl(m) => self.getacl(&m).await,
            B::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.setacl(&mailbox, &identifier, Some(&rights)).await,
            B::DeleteAcl {
                mailbox,
                identifier,
            } => self.setacl(&mailbox, &identifier, None).await,
            B::ListRights {
                mailbox,
                identifier,
            } => self.listrights(&mailbox, &identifier).await,
            B::MyRights(m) => self.myrights(&m).await,
            B::GetQuota(root) => self.getquota(&root).await,
            B::GetQuotaRoot(m) => self.getquotaroot(&m).await,
            B::SetQuota { root, limits } => self.setquota(&root, &limits).await,
            B::GetMetadata {
                maxsize,
                depth,
                mailbox,
                entries,
            } => {
                self.getmetadata(maxsize, depth.as_deref(), &mailbox, &entries)
                    .await
            }
            B::SetMetadata { mailbox, entries } => self.setmetadata(&mailbox, entries).await,
            B::Unauthenticate => Reply::Bad("Unrecognized command".into()),
            // Reached only when replication is off or the user is not an admin.
            B::Sync { .. } if self.is_admin() => Reply::Bad("Unrecognized command".into()),
            B::Sync { .. } => no(DENIED),
        };
        self.write_reply(&tag, reply);
        Ok(())
    }

    // ---- identity, names, rights ----------------------------------------------------------

    pub(crate) fn viewer(&self) -> Viewer<'_> {
        match &self.user {
            Some(u) => Viewer {
                userid: Some(&u.userid),
                admin: u.admin,
            },
            None => Viewer {
                userid: None,
                admin: false,
            },
        }
    }

    pub(crate) fn userid(&self) -> &str {
        self.user.as_ref().map(|u| u.userid.as_str()).unwrap_or("")
    }

    pub(crate) fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.admin)
    }

    /// The internal name of a client's mailbox argument.
    pub(crate) fn internal(&self, external: &str) -> Result<MboxName, Reply> {
        if !mutf7::is_valid(external) {
            return Err(no("Invalid mailbox name"));
        }
        self.srv
            .ns
            .to_internal(external, self.viewer())
            .map_err(|_| no("Invalid mailbox name"))
    }

    pub(crate) fn external(&self, name: &MboxName) -> Option<String> {
        self.srv.ns.to_external(name, self.viewer())
    }

    pub(crate) fn owns(&self, name: &MboxName) -> bool {
        let cfg = &self.srv.store.config().names;
        self.user.is_some() && name.userid(cfg).as_deref() == Some(self.userid())
    }

    /// The rights this session's user holds on a mailbox.
    pub(crate) fn rights(&self, entry: &MailboxEntry) -> Rights {
        let mut r = acl::rights_of(entry.acl.as_deref().unwrap_or(""), self.userid());
        if self.is_admin() {
            // Cyrus: global admins implicitly hold `l` and `a` everywhere; creating,
            // deleting and renaming are allowed to them by name (see `entry_with`).
            r = r.union(Rights::parse("la").unwrap_or_default());
        }
        if self.owns(&entry.name) {
            r = r.union(Rights::parse(&self.srv.owner_rights).unwrap_or_default());
        }
        r
    }

    /// Look a mailbox up and check `right`; the Cyrus error when it is missing or hidden.
    pub(crate) async fn entry_with(
        &self,
        external: &str,
        right: char,
        trycreate: bool,
    ) -> Result<(MboxName, MailboxEntry), Reply> {
        let name = self.internal(external)?;
        let n2 = name.clone();
        let entry = self
            .st(move |s| s.mailbox_entry(&n2))
            .await
            .map_err(|e| store_reply(&e))?;
        let missing = || {
            if trycreate {
                no_code("TRYCREATE", NONEXISTENT)
            } else {
                no(NONEXISTENT)
            }
        };
        let Some(entry) = entry.filter(|e| !e.mbtype.deleted) else {
            return Err(missing());
        };
        let rights = self.rights(&entry);
        if !rights.has('l') && !rights.has(right) {
            return Err(missing());
        }
        if entry.mbtype.intermediate && right != 'l' {
            return Err(missing());
        }
        let admin_may = self.is_admin() && matches!(right, 'x' | 'k' | 'a');
        if !rights.has(right) && !admin_may {
            return Err(no(DENIED));
        }
        Ok((name, entry))
    }

    // ---- capabilities and authentication --------------------------------------------------

    fn mechanisms(&self) -> Vec<auth::Mechanism> {
        server_mechanisms(
            self.conn.is_tls(),
            self.srv.allow_plaintext,
            self.srv.sasl_mech_list.as_deref(),
        )
    }

    /// The CAPABILITY command's list (pre-authentication it names the post-authentication
    /// extensions too, as Cyrus does).
    pub(crate) fn capabilities(&self) -> String {
        self.capability_list(false)
    }

    /// `greeting`: the short list Cyrus puts in its banner.
    fn capability_list(&self, greeting: bool) -> String {
        let mut c = vec!["IMAP4rev1", "LITERAL+", "ID", "ENABLE"];
        let mut owned: Vec<String> = Vec::new();
        if self.user.is_none() && greeting {
            if self.srv.tls.is_some() && !self.conn.is_tls() {
                c.push("STARTTLS");
            }
            let mechs = self.mechanisms();
            for m in &mechs {
                owned.push(format!("AUTH={}", m.name()));
            }
            owned.push("SASL-IR".into());
            if !self.srv.allow_plaintext && !self.conn.is_tls() {
                owned.push("LOGINDISABLED".into());
            }
        } else {
            if self.user.is_none() {
                for m in self.mechanisms() {
                    owned.push(format!("AUTH={}", m.name()));
                }
                owned.push("SASL-IR".into());
                if self.srv.tls.is_some() && !self.conn.is_tls() {
                    owned.push("STARTTLS".into());
                }
            }
            c.extend([
                "ACL",
                "RIGHTS=kxten",
                "QUOTA",
                "CHILDREN",
                "CONDSTORE",
                "QRESYNC",
                "CREATE-SPECIAL-USE",
                "ESEARCH",
                "LIST-EXTENDED",
                "LIST-MYRIGHTS",
                "LIST-STATUS",
                "METADATA",
                "MOVE",
                "NAMESPACE",
                "SPECIAL-USE",
                "STATUS=SIZE",
                "UIDPLUS",
                "UNSELECT",
                "MULTIAPPEND",
                "BINARY",
                "DIGEST=SHA1",
                "XLIST",
            ]);
            if self.is_admin()
                && let Some(r) = &self.srv.replication
            {
                c.push("X-REPLICATION");
                // A 3.6 sync_client sends #sieve mailboxes (SIEVE-MAILBOX) only when it sees
                // this; without it the scripts would not travel at all.
                if r.offer_sieve_mailbox {
                    c.push("X-SIEVE-MAILBOX");
                }
            }
            if !self.conn.is_compressed() {
                c.push("COMPRESS=DEFLATE");
            }
            c.push("IDLE");
        }
        let mut s = c.join(" ");
        for o in owned {
            s.push(' ');
            s.push_str(&o);
        }
        s
    }

    fn login_ok(&mut self, userid: String, text: &str) -> Reply {
        let admin = self.srv.admins.is_admin(&userid);
        self.user = Some(User { userid, admin });
        Reply::Ok(
            Some(format!("CAPABILITY {}", self.capabilities())),
            format!("{text} SESSIONID=<{}>", self.session_id),
        )
    }

    async fn login(&mut self, user: Vec<u8>, password: Vec<u8>) -> Reply {
        if !self.srv.allow_plaintext && !self.conn.is_tls() {
            return no("Login only available under a layer");
        }
        let Ok(user) = String::from_utf8(user) else {
            return no("Login failed: authentication failure");
        };
        let pw = self.srv.passwords.clone();
        let u2 = user.clone();
        let good = tokio::task::spawn_blocking(move || pw.verify(&u2, &password))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if !good {
            tracing::info!(user, "badlogin");
            tokio::time::sleep(self.srv.failed_login_pause).await;
            return no("Login failed: authentication failure");
        }
        self.login_ok(user, "User logged in")
    }

    async fn authenticate(&mut self, mech: &str, initial: Option<Vec<u8>>) -> io::Result<Reply> {
        let initial = match initial {
            Some(v) => match auth::b64::decode(&v) {
                Ok(d) => Some(d),
                Err(_) => return Ok(Reply::Bad("Invalid base64 string".into())),
            },
            None => None,
        };
        let mechs = self.mechanisms();
        let srv = self.srv.clone();
        let mech_name = mech.to_owned();
        let started = tokio::task::spawn_blocking(move || {
            let ctx = AuthContext {
                passwords: &*srv.passwords,
                admins: &srv.admins,
                mechanisms: &mechs,
            };
            ServerMechanism::start(&mech_name, initial.as_deref(), &ctx)
        })
        .await;
        let Ok((mut sm, mut step)) = started else {
            return Ok(no("generic failure"));
        };
        loop {
            match step {
                Step::Done { authzid, .. } => {
                    return Ok(self.login_ok(authzid, "Success (no protection)"));
                }
                Step::Failed(f) => {
                    if matches!(f, auth::Failure::BadCredentials { .. }) {
                        tokio::time::sleep(self.srv.failed_login_pause).await;
                    }
                    return Ok(no(f.sasl_text()));
                }
                Step::Challenge(ch) => {
                    self.out
                        .extend(format!("+ {}\r\n", auth::b64::encode(&ch)).into_bytes());
                    self.flush().await?;
                    let Some(line) = self.read_line().await? else {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in auth"));
                    };
                    let resp = match auth::b64::decode_client_line(&line) {
                        Ok(auth::b64::ClientLine::Cancel) => {
                            return Ok(Reply::Bad("Client canceled authentication".into()));
                        }
                        Ok(auth::b64::ClientLine::Response(r)) => r,
                        Err(_) => return Ok(Reply::Bad("Invalid base64 string".into())),
                    };
                    let srv = self.srv.clone();
                    let mechs = self.mechanisms();
                    let r = tokio::task::spawn_blocking(move || {
                        let ctx = AuthContext {
                            passwords: &*srv.passwords,
                            admins: &srv.admins,
                            mechanisms: &mechs,
                        };
                        let s = sm.step(&resp, &ctx);
                        (sm, s)
                    })
                    .await;
                    let Ok((m, s)) = r else {
                        return Ok(no("generic failure"));
                    };
                    sm = m;
                    step = s;
                }
            }
        }
    }

    async fn starttls(&mut self, tag: &str) -> io::Result<()> {
        let Some(acceptor) = self.srv.tls.clone() else {
            self.write_reply(tag, Reply::Bad("Unrecognized command".into()));
            return Ok(());
        };
        if self.conn.is_tls() {
            self.write_reply(
                tag,
                Reply::Bad("Already successfully executed STARTTLS".into()),
            );
            return Ok(());
        }
        if self.user.is_some() {
            self.write_reply(tag, Reply::Bad("Already logged in".into()));
            return Ok(());
        }
        self.write_reply(tag, Reply::Ok(None, "Begin TLS negotiation now".into()));
        self.flush().await?;
        // Anything pipelined after STARTTLS is discarded (RFC 3501 §6.2.1 / CVE-2011-0411).
        self.rbuf.clear();
        self.conn.start_tls(&acceptor).await
    }

    async fn compress(&mut self, tag: &str, mech: &str) -> io::Result<()> {
        if self.conn.is_compressed() {
            self.write_reply(
                tag,
                no_code("COMPRESSIONACTIVE", "DEFLATE active via COMPRESS"),
            );
            return Ok(());
        }
        if !mech.eq_ignore_ascii_case("DEFLATE") {
            self.write_reply(tag, Reply::Bad("Unknown COMPRESS algorithm".into()));
            return Ok(());
        }
        if !self.rbuf.is_empty() {
            self.write_reply(tag, Reply::Bad("Unexpected data after COMPRESS".into()));
            return Ok(());
        }
        self.write_reply(tag, Reply::Ok(None, "DEFLATE active".into()));
        self.flush().await?;
        self.conn.start_compress();
        Ok(())
    }

    // ---- mailbox management ---------------------------------------------------------------

    async fn create(&mut self, external: &str, special_use: Vec<String>) -> Reply {
        let sep = self.srv.ns.sep();
        let trimmed = external.strip_suffix(sep).unwrap_or(external);
        let name = match self.internal(trimmed) {
            Ok(n) => n,
            Err(r) => return r,
        };
        if name.parent().is_none() && !self.is_admin() {
            return no(DENIED);
        }
        if name.is_user_inbox() && !self.is_admin() {
            return if self.owns(&name) {
                no("Mailbox already exists")
            } else {
                no(DENIED)
            };
        }
        // Rights: admin, or 'k' on the nearest existing ancestor.
        if !self.is_admin() {
            let mut cur = name.parent();
            let mut allowed = false;
            while let Some(p) = cur {
                let p2 = p.clone();
                if let Ok(Some(e)) = self.st(move |s| s.mailbox_entry(&p2)).await
                    && !e.mbtype.deleted
                {
                    allowed = self.rights(&e).has('k');
                    break;
                }
                cur = p.parent();
            }
            if !allowed {
                return no(DENIED);
            }
        }
        for u in &special_use {
            if !SPECIAL_USES.iter().any(|s| s.eq_ignore_ascii_case(u)) {
                return no_code("USEATTR", "Invalid annotation entry");
            }
        }
        let n2 = name.clone();
        let created = match self
            .st(move |s| s.create_mailbox(&n2, CreateOptions::default()))
            .await
        {
            Ok(e) => e,
            Err(e) => return store_reply(&e),
        };
        if !special_use.is_empty() {
            let owner = name
                .userid(&self.srv.store.config().names)
                .unwrap_or_default();
            let value = special_use.join(" ").into_bytes();
            let n2 = name.clone();
            if let Err(e) = self
                .st(move |s| s.set_mailbox_annotation(&n2, "/specialuse", &owner, &value))
                .await
            {
                return store_reply(&e);
            }
        }
        Reply::Ok(
            Some(format!("MAILBOXID ({})", created.uniqueid.as_str())),
            "Completed".into(),
        )
    }

    async fn delete(&mut self, external: &str) -> Reply {
        let name = match self.internal(external) {
            Ok(n) => n,
            Err(r) => return r,
        };
        if name.is_user_inbox() && !self.is_admin() {
            return no(DENIED);
        }
        // Cyrus cmd_delete refuses a mailbox (or intermediate) with children before looking
        // at rights; `DELETED.…` copies and user INBOXes are exempt.
        if !name.is_user_inbox() && !name.is_deleted_copy(&self.srv.store.config().names) {
            let n2 = name.clone();
            let prefix = format!("{}.", name.as_str());
            let found = self
                .st(move |s| Ok((s.mailbox_entry(&n2)?, s.list_mailboxes(&prefix)?)))
                .await;
            if let Ok((Some(e), children)) = found
                && !e.mbtype.deleted
                && !children.is_empty()
            {
                return no_code("HASCHILDREN", "Mailbox has inferior hierarchical names");
            }
        }
        let (name, entry) = match self.entry_with(external, 'x', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if entry.mbtype.intermediate {
            return no(NONEXISTENT);
        }
        // Cyrus checks the ACL's `x` for admins too (mboxlist_[delayed_]deletemailbox with
        // CHECKACL: "Permission denied"); only `DELETED.…` copies go without it.
        if self.is_admin()
            && !self.rights(&entry).has('x')
            && !name.is_deleted_copy(&self.srv.store.config().names)
        {
            return no(DENIED);
        }
        if self.sel.as_ref().is_some_and(|s| s.name == name) {
            self.sel = None;
        }
        let cfg = self.srv.store.config().names.clone();
        // As Cyrus 3.6 cmd_delete: `DELETED.…` copies always go at once; otherwise
        // `delete_mode` decides (delayed renames into `DELETED.…`, which is what the sync log
        // and the replica see).
        let delayed = self.srv.delete_delayed && !name.is_deleted_copy(&cfg);
        let r = if name.is_user_inbox() {
            let userid = name.userid(&cfg).unwrap_or_default();
            if delayed {
                self.st(move |s| s.delete_user_delayed(&userid)).await
            } else {
                self.st(move |s| s.delete_user(&userid)).await
            }
        } else {
            let prefix = format!("{}.", name.as_str());
            match self.st(move |s| s.list_mailboxes(&prefix)).await {
                Ok(children) if !children.is_empty() => {
                    return no_code("HASCHILDREN", "Mailbox has inferior hierarchical names");
                }
                Ok(_) => {}
                Err(e) => return store_reply(&e),
            }
            if delayed {
                self.st(move |s| s.delete_mailbox_delayed_one(&name).map(|_| ()))
                    .await
            } else {
                self.st(move |s| s.delete_mailbox(&name)).await
            }
        };
        match r {
            Ok(()) => ok(),
            Err(e) => store_reply(&e),
        }
    }

    async fn rename(&mut self, from: &str, to: &str) -> Reply {
        let (old, _) = match self.entry_with(from, 'x', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let new = match self.internal(to) {
            Ok(n) => n,
            Err(r) => return r,
        };
        if old.is_user_inbox() && self.owns(&old) {
            return self.rename_inbox(old, new).await;
        }
        if old.is_user_inbox() && !self.is_admin() {
            return no(DENIED);
        }
        // Cyrus (mboxlist_renamemailbox): a user's INBOX may only become another user's
        // INBOX, and only with `allowusermoves: yes`.
        if old.is_user_inbox() && (!new.is_user_inbox() || !self.srv.allow_user_moves) {
            return no("Operation is not supported on mailbox");
        }
        if !self.is_admin() {
            if new.parent().is_none() || new.is_user_inbox() {
                return no(DENIED);
            }
            let cfg = &self.srv.store.config().names;
            if new.userid(cfg).as_deref() != Some(self.userid()) {
                return no(DENIED);
            }
        }
        if old == new {
            return no("Mailbox already exists");
        }
        if self.sel.as_ref().is_some_and(|s| s.name == old) {
            self.sel = None;
        }
        let (o2, n2) = (old.clone(), new.clone());
        let moved = self
            .st(move |s| {
                let mut names = vec![o2.clone()];
                let children = s.list_mailboxes(&format!("{}.", o2.as_str()))?;
                names.extend(
                    children
                        .into_iter()
                        .filter(|e| !e.mbtype.deleted)
                        .map(|e| e.name),
                );
                let cfg = s.config().names.clone();
                match (o2.userid(&cfg), n2.userid(&cfg)) {
                    // A user rename moves the user's data too and logs UNUSER/USER.
                    (Some(a), Some(b)) if o2.is_user_inbox() && n2.is_user_inbox() => {
                        s.rename_user(&a, &b)?
                    }
                    _ => s.rename_mailbox_tree(&o2, &n2, None)?,
                }
                Ok(names)
            })
            .await;
        match moved {
            Ok(names) => {
                for n in names {
                    let suffix = &n.as_str()[old.as_str().len()..];
                    let Ok(target) = MboxName::new(format!("{}{suffix}", new.as_str())) else {
                        continue;
                    };
                    if let (Some(a), Some(b)) = (self.external(&n), self.external(&target)) {
                        let mut v = b"* OK rename ".to_vec();
                        astring(&mut v, a.as_bytes());
                        v.push(b' ');
                        astring(&mut v, b.as_bytes());
                        v.extend_from_slice(b"\r\n");
                        self.out.extend(v);
                    }
                }
                ok()
            }
            Err(e) => store_reply(&e),
        }
    }

    /// RENAME INBOX (RFC 3501 §6.3.5): create the new mailbox and move every message of
    /// INBOX into it; INBOX stays, empty.
    async fn rename_inbox(&mut self, inbox: MboxName, new: MboxName) -> Reply {
        let cfg = &self.srv.store.config().names;
        if new.userid(cfg).as_deref() != Some(self.userid()) || new.is_user_inbox() {
            return no(DENIED);
        }
        if self.sel.as_ref().is_some_and(|s| s.name == inbox) {
            self.sel = None;
        }
        let r = self
            .st(move |s| {
                s.create_mailbox(&new, CreateOptions::default())?;
                let uids: Vec<Uid> = s
                    .records(&inbox)?
                    .into_iter()
                    .filter(|r| !r.expunged)
                    .map(|r| r.uid)
                    .collect();
                if !uids.is_empty() {
                    s.copy_messages(&inbox, &new, &uids, true)?;
                }
                Ok(())
            })
            .await;
        match r {
            Ok(()) => ok(),
            Err(e) => store_reply(&e),
        }
    }

    async fn subscribe(&mut self, external: &str, on: bool) -> Reply {
        // Cyrus cmd_changesub words failures "NO Subscribe: <error>" / "NO Unsubscribe: …".
        let cmd = if on { "Subscribe" } else { "Unsubscribe" };
        let named = |r: Reply| match r {
            Reply::No(code, text) => Reply::No(code, format!("{cmd}: {text}")),
            other => other,
        };
        let name = if on {
            match self.entry_with(external, 'l', false).await {
                Ok((n, _)) => n,
                Err(r) => return named(r),
            }
        } else {
            match self.internal(external) {
                Ok(n) => n,
                Err(r) => return named(r),
            }
        };
        let userid = self.userid().to_owned();
        match self.st(move |s| s.set_subscribed(&userid, &name, on)).await {
            Ok(_) => ok(),
            Err(e) => named(store_reply(&e)),
        }
    }

    /// STATUS data items for one mailbox, as `(MESSAGES 3 ...)`.
    pub(crate) async fn status_items(
        &self,
        name: &MboxName,
        entry: &MailboxEntry,
        items: &[StatusItem],
    ) -> Result<String, Reply> {
        let n2 = name.clone();
        let (records, header) = self
            .st(move |s| Ok((s.records(&n2)?, s.header(&n2)?)))
            .await
            .map_err(|e| store_reply(&e))?;
        let live: Vec<&MessageRecord> = records.iter().filter(|r| !r.expunged).collect();
        let seen = self.seen_set_for(name, entry).await;
        let mut parts = Vec::new();
        for it in items {
            let s = match it {
                StatusItem::Messages => format!("MESSAGES {}", live.len()),
                StatusItem::Recent => format!(
                    "RECENT {}",
                    live.iter().filter(|r| r.uid.0 > header.recentuid.0).count()
                ),
                StatusItem::UidNext => format!("UIDNEXT {}", header.last_uid.0 + 1),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", entry.uidvalidity.0),
                StatusItem::Unseen => {
                    let n = live
                        .iter()
                        .filter(|r| match &seen {
                            Some(set) => !set.contains(&r.uid.0),
                            None => !r.flags.seen,
                        })
                        .count();
                    format!("UNSEEN {n}")
                }
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", header.highestmodseq.0),
                StatusItem::Size => {
                    format!("SIZE {}", live.iter().map(|r| r.size).sum::<u64>())
                }
            };
            parts.push(s);
        }
        Ok(format!("({})", parts.join(" ")))
    }

    async fn status_cmd(&mut self, external: &str, items: &[StatusItem]) -> Reply {
        let (name, entry) = match self.entry_with(external, 'r', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        match self.status_items(&name, &entry, items).await {
            Ok(s) => {
                let mut v = b"* STATUS ".to_vec();
                astring(&mut v, external.as_bytes());
                v.push(b' ');
                v.extend_from_slice(s.as_bytes());
                v.extend_from_slice(b"\r\n");
                self.out.extend(v);
                ok()
            }
            Err(r) => r,
        }
    }

    /// The viewer's seen UIDs when they are kept per user (not the owner), else `None`.
    pub(crate) async fn seen_set_for(
        &self,
        name: &MboxName,
        entry: &MailboxEntry,
    ) -> Option<BTreeSet<u32>> {
        if self.owns(name) {
            return None;
        }
        let userid = self.userid().to_owned();
        let uniqueid = entry.uniqueid.as_str().to_owned();
        let st = self
            .st(move |s| s.seen(&userid, &uniqueid))
            .await
            .ok()
            .flatten();
        Some(
            st.map(|s| seen_uids(&s.seenuids, s.lastuid.0.max(1)))
                .unwrap_or_default(),
        )
    }

    /// The reader's \Recent mark on a mailbox they do not own (LASTUID of their seen entry).
    pub(crate) async fn seen_lastuid(&self, entry: &MailboxEntry) -> u32 {
        let userid = self.userid().to_owned();
        let uniqueid = entry.uniqueid.as_str().to_owned();
        self.st(move |s| s.seen(&userid, &uniqueid))
            .await
            .ok()
            .flatten()
            .map_or(0, |s| s.lastuid.0)
    }

    /// Writes a non-owner's seen entry for mailbox `name` (`SEEN <user> <uniqueid>`) and, as
    /// Cyrus's index_writeseen dirties the mailbox index, logs `MAILBOX <name>` too.
    pub(crate) async fn save_seen(
        &self,
        name: &MboxName,
        uniqueid: &str,
        set: &BTreeSet<u32>,
        last_uid: u32,
    ) {
        let userid = self.userid().to_owned();
        let uniqueid = uniqueid.to_owned();
        let values: Vec<u32> = set.iter().copied().collect();
        let seenuids = SequenceSet::from_values(&values)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let now = self.srv.store.now();
        let state = SeenState {
            lastread: now,
            lastuid: Uid(last_uid),
            lastchange: now,
            seenuids,
        };
        let rec = mailstore::sync_log::Record::Mailbox(name.to_string());
        if let Err(e) = self
            .st(move |s| {
                s.set_seen(&userid, &uniqueid, &state)?;
                s.log_records(&[rec])
            })
            .await
        {
            tracing::error!("saving seen state: {e}");
        }
    }

    // ---- APPEND, quota ------------------------------------------------------------------------

    /// `Err(NO [OVERQUOTA])` when adding `bytes` in `count` messages to `name` would exceed
    /// its quota root.
    async fn check_quota(&self, name: &MboxName, bytes: u64, count: u64) -> Result<(), Reply> {
        let n2 = name.clone();
        let r = self
            .st(move |s| {
                let Some(root) = s.quota_root_of(&n2)? else {
                    return Ok(None);
                };
                let q = s.quota(&root)?;
                let u = s.quota_usage(&root)?;
                Ok(q.map(|q| (q.limits, u)))
            })
            .await
            .map_err(|e| store_reply(&e))?;
        if let Some((lim, usage)) = r {
            if let Some(st) = lim.storage
                && usage.storage_bytes + bytes > st.saturating_mul(1024)
            {
                return Err(no_code("OVERQUOTA", "Over quota"));
            }
            if let Some(m) = lim.message
                && usage.messages + count > m
            {
                return Err(no_code("OVERQUOTA", "Over quota"));
            }
        }
        Ok(())
    }

    /// The append options for one message's flags and date, and whether the (non-owner)
    /// user asked for \Seen. Flags the user may not set are dropped, as Cyrus does.
    fn append_options(
        &self,
        flags: &[String],
        date: Option<i64>,
        rights: Rights,
        owner: bool,
    ) -> Result<(AppendOptions, bool), Reply> {
        let mut opts = AppendOptions {
            internaldate: date,
            ..Default::default()
        };
        let mut want_seen = false;
        for f in flags {
            if f.eq_ignore_ascii_case("\\Recent") {
                continue;
            }
            if f.starts_with('\\') {
                let mut tmp = SystemFlags::default();
                if !tmp.set_by_name(f, true) {
                    return Err(Reply::Bad("Invalid flag name".into()));
                }
                if tmp.seen {
                    want_seen = rights.has('s');
                    continue;
                }
                if (tmp.deleted && !rights.has('t')) || (!tmp.deleted && !rights.has('w')) {
                    continue;
                }
                opts.flags.set_by_name(f, true);
            } else if rights.has('w') && !opts.user_flags.iter().any(|u| u.eq_ignore_ascii_case(f))
            {
                opts.user_flags.push(f.clone());
            }
        }
        opts.flags.seen = owner && want_seen;
        Ok((opts, want_seen && !owner))
    }

    /// APPEND and MULTIAPPEND (RFC 3502: all messages or none, in one transaction).
    async fn append(&mut self, external: &str, messages: Vec<imap_proto::AppendMessage>) -> Reply {
        let (name, entry) = match self.entry_with(external, 'i', true).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let rights = self.rights(&entry);
        let owner = self.owns(&name);
        let mut items: Vec<(Vec<u8>, AppendOptions)> = Vec::with_capacity(messages.len());
        let mut seen_wanted: Vec<bool> = Vec::with_capacity(messages.len());
        let mut total = 0u64;
        for m in messages {
            let mut message = m.message;
            if message.is_empty() {
                return no("Message contains no data");
            }
            if let Err(text) =
                crate::append_check::check(&mut message, self.srv.reject8bit, self.srv.munge8bit)
            {
                return no(text);
            }
            let (opts, seen) = match self.append_options(&m.flags, m.date, rights, owner) {
                Ok(x) => x,
                Err(r) => return r,
            };
            total += message.len() as u64;
            items.push((message, opts));
            seen_wanted.push(seen);
        }
        if let Err(r) = self.check_quota(&name, total, items.len() as u64).await {
            return r;
        }
        let partition = entry
            .partition
            .clone()
            .unwrap_or_else(|| self.srv.store.config().default_partition.clone());
        let n2 = name.clone();
        let r = self
            .st(move |s| {
                let mut staged = Vec::with_capacity(items.len());
                for (bytes, opts) in items {
                    staged.push((s.stage_bytes(&partition, &bytes)?, opts));
                }
                let refs: Vec<(&mailstore::StagedBody, AppendOptions)> =
                    staged.iter().map(|(b, o)| (b, o.clone())).collect();
                s.append_batch(&n2, &refs)
            })
            .await;
        let appended = match r {
            Ok(a) => a,
            Err(e) => return store_reply(&e),
        };
        let new_seen: Vec<u32> = appended
            .iter()
            .zip(&seen_wanted)
            .filter(|(_, w)| **w)
            .map(|(a, _)| a.uid.0)
            .collect();
        if !new_seen.is_empty() {
            let mut set = self.seen_set_for(&name, &entry).await.unwrap_or_default();
            set.extend(new_seen);
            // Cyrus (append_commit) adds the UIDs to the seen list but leaves LASTUID, the
            // reader's \Recent mark, alone.
            let last = self.seen_lastuid(&entry).await;
            self.save_seen(&name, entry.uniqueid.as_str(), &set, last)
                .await;
        }
        if self.sel.as_ref().is_some_and(|s| s.name == name) {
            self.refresh(false).await;
        }
        let uids: Vec<u32> = appended.iter().map(|a| a.uid.0).collect();
        Reply::Ok(
            Some(format!(
                "APPENDUID {} {}",
                entry.uidvalidity.0,
                compact_list(&uids)
            )),
            "Completed".into(),
        )
    }

    // ---- SELECT and the selected state -----------------------------------------------------

    async fn select(
        &mut self,
        external: &str,
        condstore: bool,
        qresync: Option<imap_proto::QresyncParams>,
        readonly: bool,
    ) -> Reply {
        // Cyrus 3.6 sends [CLOSED] whenever a selected mailbox is replaced, QRESYNC or not.
        if self.sel.take().is_some() {
            self.out.extend_from_slice(b"* OK [CLOSED] Ok\r\n");
        }
        if qresync.is_some() && !self.qresync {
            return Reply::Bad("QRESYNC not enabled".into());
        }
        if condstore {
            self.condstore = true;
        }
        let (name, entry) = match self.entry_with(external, 'r', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        // Cyrus 3.6 cmd_select: only admins may open a delayed-delete copy.
        if !self.is_admin() && name.is_deleted_copy(&self.srv.store.config().names) {
            return no(NONEXISTENT);
        }
        let n2 = name.clone();
        let loaded = self
            .st(move |s| Ok((s.records(&n2)?, s.header(&n2)?)))
            .await;
        let (records, header) = match loaded {
            Ok(x) => x,
            Err(e) => return store_reply(&e),
        };
        let rights = self.rights(&entry);
        let seen = self.seen_set_for(&name, &entry).await;
        // \Recent: the owner's mark is the mailbox's RECENTUID; anyone else's is LASTUID in
        // their own seen entry (Cyrus index_refresh_locked / index_writeseen).
        let owner = self.owns(&name);
        let recent_floor = if owner {
            header.recentuid.0
        } else {
            self.seen_lastuid(&entry).await
        };
        let mut sel = Selected {
            name: name.clone(),
            uniqueid: entry.uniqueid.as_str().to_owned(),
            readonly,
            uidvalidity: entry.uidvalidity.0,
            msgs: Vec::new(),
            highestmodseq: header.highestmodseq.0,
            last_uid: header.last_uid.0,
            rights,
            seen,
            recent: Default::default(),
            keywords: Vec::new(),
        };
        let mut vanished_set = Vec::new();
        for rec in records {
            if rec.expunged {
                vanished_set.push(rec);
                continue;
            }
            sel.note_keywords(&rec);
            let recent = rec.uid.0 > recent_floor;
            if recent {
                sel.recent.insert(rec.uid.0);
            }
            sel.msgs.push(Msg { rec, recent });
        }
        sel.msgs.sort_by_key(Msg::uid);
        // Only a live message above the mark makes Cyrus move it (index_refresh_locked sets
        // seen_dirty for newly seen, unexpunged records only).
        if !readonly && owner && !sel.recent.is_empty() {
            let n2 = name.clone();
            let last = header.last_uid;
            let now = self.srv.store.now();
            let _ = self.st(move |s| s.set_recent(&n2, last, now)).await;
        } else if !readonly && !owner && !sel.recent.is_empty() {
            // Cyrus writes the reader's seen entry with the new LASTUID (`SEEN <user>
            // <uniqueid>`) and dirties the mailbox index (`MAILBOX <name>`, no modseq).
            if let Some(set) = &sel.seen {
                self.save_seen(&name, &sel.uniqueid, set, header.last_uid.0)
                    .await;
            }
        }
        let mut o = String::new();
        o.push_str(&format!("* {} EXISTS\r\n", sel.exists()));
        o.push_str(&format!("* {} RECENT\r\n", sel.recent.len()));
        o.push_str(&self.flags_lines(&sel));
        if let Some(pos) = sel.msgs.iter().position(|m| !sel.is_seen(m)) {
            o.push_str(&format!("* OK [UNSEEN {}] Ok\r\n", pos + 1));
        }
        o.push_str(&format!("* OK [UIDVALIDITY {}] Ok\r\n", sel.uidvalidity));
        o.push_str(&format!("* OK [UIDNEXT {}] Ok\r\n", header.last_uid.0 + 1));
        o.push_str(&format!(
            "* OK [HIGHESTMODSEQ {}] Ok\r\n",
            sel.highestmodseq
        ));
        o.push_str(&format!("* OK [MAILBOXID ({})] Ok\r\n", sel.uniqueid));
        o.push_str("* OK [URLMECH INTERNAL] Ok\r\n");
        o.push_str("* OK [ANNOTATIONS 65536] Ok\r\n");
        self.out.extend(o.into_bytes());
        if let Some(q) = qresync
            && q.uidvalidity == sel.uidvalidity
        {
            let star = sel.last_uid;
            let known = |u: u32| q.known_uids.as_ref().is_none_or(|k| k.contains(u, star));
            let gone: Vec<u32> = vanished_set
                .iter()
                .filter(|r| r.modseq.0 > q.modseq && known(r.uid.0))
                .map(|r| r.uid.0)
                .collect();
            if let Some(set) = SequenceSet::from_values(&gone) {
                self.out
                    .extend(format!("* VANISHED (EARLIER) {set}\r\n").into_bytes());
            }
            let mut lines = String::new();
            for (i, m) in sel.msgs.iter().enumerate() {
                if m.rec.modseq.0 > q.modseq {
                    lines.push_str(&format!(
                        "* {} FETCH (FLAGS {} UID {} MODSEQ ({}))\r\n",
                        i + 1,
                        sel.flags_of(m),
                        m.uid(),
                        m.rec.modseq.0
                    ));
                }
            }
            self.out.extend(lines.into_bytes());
        }
        self.sel = Some(sel);
        let code = if readonly { "READ-ONLY" } else { "READ-WRITE" };
        Reply::Ok(Some(code.into()), "Completed".into())
    }

    fn flags_lines(&self, sel: &Selected) -> String {
        flags_lines(sel)
    }
}

/// `* FLAGS` and `* OK [PERMANENTFLAGS]` for a selected mailbox.
fn flags_lines(sel: &Selected) -> String {
    {
        let mut kw = String::new();
        for k in &sel.keywords {
            kw.push(' ');
            kw.push_str(k);
        }
        let mut o = format!("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen{kw})\r\n");
        let mut perm: Vec<String> = Vec::new();
        if !sel.readonly {
            if sel.rights.has('w') {
                perm.extend(["\\Answered", "\\Flagged", "\\Draft"].map(String::from));
            }
            if sel.rights.has('t') {
                perm.push("\\Deleted".into());
            }
            if sel.rights.has('s') {
                perm.push("\\Seen".into());
            }
            if sel.rights.has('w') {
                perm.extend(sel.keywords.iter().cloned());
                perm.push("\\*".into());
            }
        }
        o.push_str(&format!(
            "* OK [PERMANENTFLAGS ({})] Ok\r\n",
            perm.join(" ")
        ));
        o
    }
}

impl Session {
    /// Bring the selected view up to date and report changes. `allow_expunge` false defers
    /// expunges (during FETCH, STORE, SEARCH).
    pub(crate) async fn refresh(&mut self, allow_expunge: bool) {
        let Some(sel) = &self.sel else {
            return;
        };
        let name = sel.name.clone();
        let since = Modseq(sel.highestmodseq);
        let r = self
            .st(move |s| Ok((s.records_since(&name, since)?, s.header(&name)?)))
            .await;
        let Ok((records, header)) = r else {
            return;
        };
        let own = self.sel.as_ref().is_some_and(|s| self.owns(&s.name));
        let seen_reload = if !own {
            let s = self.sel.as_ref();
            match s {
                Some(s) => {
                    let e = self.srv.store.clone();
                    let (userid, uniq) = (self.userid().to_owned(), s.uniqueid.clone());
                    tokio::task::spawn_blocking(move || e.seen(&userid, &uniq))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                }
                None => None,
            }
        } else {
            None
        };
        let qresync = self.qresync;
        let condstore = self.condstore;
        let Some(sel) = self.sel.as_mut() else {
            return;
        };
        let mut ch = sel.apply(records, header.highestmodseq.0, allow_expunge);
        if let Some(st) = seen_reload
            && let Some(cur) = sel.seen.as_mut()
        {
            let new = seen_uids(&st.seenuids, st.lastuid.0.max(1));
            if new != *cur {
                for (i, m) in sel.msgs.iter().enumerate() {
                    if cur.contains(&m.uid()) != new.contains(&m.uid()) {
                        ch.changed.push(i);
                    }
                }
                *cur = new;
            }
        }
        let mut o = String::new();
        if qresync && !ch.expunged.is_empty() {
            let uids: Vec<u32> = ch.expunged.iter().map(|&(_, u)| u).collect();
            if let Some(set) = SequenceSet::from_values(&uids) {
                o.push_str(&format!("* VANISHED {set}\r\n"));
            }
        } else {
            for (seq, _) in &ch.expunged {
                o.push_str(&format!("* {seq} EXPUNGE\r\n"));
            }
        }
        if ch.new_keywords {
            o.push_str(&flags_lines(sel));
        }
        if ch.grew {
            o.push_str(&format!("* {} EXISTS\r\n", sel.exists()));
            let recent = sel.msgs.iter().filter(|m| m.recent).count();
            o.push_str(&format!("* {recent} RECENT\r\n"));
        }
        ch.changed.sort_unstable();
        ch.changed.dedup();
        for i in ch.changed {
            if let Some(m) = sel.msgs.get(i) {
                let modseq = if condstore {
                    format!(" MODSEQ ({})", m.rec.modseq.0)
                } else {
                    String::new()
                };
                let uid = if qresync {
                    format!(" UID {}", m.uid())
                } else {
                    String::new()
                };
                o.push_str(&format!(
                    "* {} FETCH (FLAGS {}{uid}{modseq})\r\n",
                    i + 1,
                    sel.flags_of(m)
                ));
            }
        }
        self.out.extend(o.into_bytes());
    }

    async fn expunge(&mut self, set: Option<SequenceSet>) -> Reply {
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        if sel.readonly || !sel.rights.has('e') {
            return no(DENIED);
        }
        let uids: Vec<Uid> = sel
            .msgs
            .iter()
            .filter(|m| m.rec.flags.deleted)
            .filter(|m| {
                set.as_ref()
                    .is_none_or(|s| s.contains(m.uid(), sel.max_uid()))
            })
            .map(|m| m.rec.uid)
            .collect();
        let name = sel.name.clone();
        if !uids.is_empty()
            && let Err(e) = self.st(move |s| s.expunge(&name, &uids)).await
        {
            return store_reply(&e);
        }
        self.refresh(true).await;
        ok()
    }

    async fn store_cmd(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: Vec<String>,
        unchangedsince: Option<u64>,
    ) -> Reply {
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        if !uid && !set.within(sel.exists()) {
            return Reply::Bad("Invalid sequence in Store".into());
        }
        if sel.readonly {
            return no(DENIED);
        }
        let mut change = FlagChange::default();
        let mut seen_named = false;
        for f in &flags {
            if f.starts_with('\\') {
                if f.eq_ignore_ascii_case("\\Recent") {
                    continue;
                }
                if !change.system.set_by_name(f, true) {
                    return Reply::Bad("Invalid system flag in Store command".into());
                }
            } else {
                if !mailstore::valid_keyword(f) {
                    return Reply::Bad("Invalid flag name".into());
                }
                if !change.user.iter().any(|u| u.eq_ignore_ascii_case(f)) {
                    change.user.push(f.clone());
                }
            }
        }
        let r = sel.rights;
        if change.system.seen {
            seen_named = true;
        }
        let needs_w = change.system.answered
            || change.system.flagged
            || change.system.draft
            || !change.user.is_empty()
            || mode == StoreMode::Replace;
        if (needs_w && !r.has('w'))
            || (change.system.deleted && !r.has('t'))
            || (seen_named && !r.has('s'))
        {
            return no(DENIED);
        }
        let idx = sel.resolve(set, uid);
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.msgs[i].rec.uid).collect();
        let per_user_seen = sel.seen.is_some();
        let name = sel.name.clone();
        let uniqueid = sel.uniqueid.clone();
        let last_uid = sel.last_uid;
        let op = match mode {
            StoreMode::Replace => FlagOp::Replace,
            StoreMode::Add => FlagOp::Add,
            StoreMode::Remove => FlagOp::Remove,
        };
        let mut record_change = change.clone();
        if per_user_seen {
            record_change.system.seen = false;
        }
        let mut modified: Vec<u32> = Vec::new();
        if !uids.is_empty() {
            let uids2 = uids.clone();
            let unchanged = unchangedsince.map(Modseq);
            // With per-user \Seen, Replace must keep the record's own (owner's) \Seen.
            let res = if per_user_seen && op == FlagOp::Replace {
                let (name2, rc) = (name.clone(), record_change.clone());
                self.st(move |s| {
                    let mut out = mailstore::FlagResult::default();
                    for u in uids2 {
                        let Some(rec) = s.record(&name2, u)? else {
                            continue;
                        };
                        let mut c = rc.clone();
                        c.system.seen = rec.flags.seen;
                        let r = s.store_flags(&name2, &[u], FlagOp::Replace, &c, unchanged)?;
                        out.changed.extend(r.changed);
                        out.modified.extend(r.modified);
                    }
                    Ok(out)
                })
                .await
            } else {
                let name2 = name.clone();
                self.st(move |s| s.store_flags(&name2, &uids2, op, &record_change, unchanged))
                    .await
            };
            match res {
                Ok(fr) => modified = fr.modified.iter().map(|u| u.0).collect(),
                Err(e) => return store_reply(&e),
            }
        }
        if per_user_seen && (seen_named || mode == StoreMode::Replace) {
            let Some(sel) = self.sel.as_mut() else {
                return ok();
            };
            let Some(set_seen) = sel.seen.as_mut() else {
                return ok();
            };
            for u in &uids {
                if modified.contains(&u.0) {
                    continue;
                }
                let on = match mode {
                    StoreMode::Add => true,
                    StoreMode::Remove => false,
                    StoreMode::Replace => seen_named,
                };
                if mode == StoreMode::Remove && !seen_named {
                    continue;
                }
                if on {
                    set_seen.insert(u.0);
                } else {
                    set_seen.remove(&u.0);
                }
            }
            let snapshot = set_seen.clone();
            self.save_seen(&name, &uniqueid, &snapshot, last_uid).await;
        }
        // Pick up the new modseqs and anything else that changed.
        let before: Vec<(u32, String)> = self
            .sel
            .as_ref()
            .map(|s| {
                idx.iter()
                    .filter_map(|&i| s.msgs.get(i))
                    .map(|m| (m.uid(), s.flags_of(m)))
                    .collect()
            })
            .unwrap_or_default();
        let _ = before;
        self.refresh_after_store(&uids, uid, silent).await;
        if !modified.is_empty() {
            if !uid && let Some(sel) = &self.sel {
                modified = modified
                    .iter()
                    .filter_map(|u| sel.index_of_uid(*u).map(|i| i as u32 + 1))
                    .collect();
            }
            let set = SequenceSet::from_values(&modified)
                .map(|s| s.to_string())
                .unwrap_or_default();
            return Reply::Ok(Some(format!("MODIFIED {set}")), "Completed".into());
        }
        ok()
    }

    /// After STORE: report FETCH FLAGS for the stored messages (unless silent) and for
    /// anything else that changed.
    async fn refresh_after_store(&mut self, uids: &[Uid], uid_cmd: bool, silent: bool) {
        let Some(sel) = &self.sel else { return };
        let name = sel.name.clone();
        let since = Modseq(sel.highestmodseq);
        let Ok((records, header)) = self
            .st(move |s| Ok((s.records_since(&name, since)?, s.header(&name)?)))
            .await
        else {
            return;
        };
        let condstore = self.condstore;
        let qresync = self.qresync;
        // With CONDSTORE on, Cyrus reports stored messages even for .SILENT (with MODSEQ).
        let silent = silent && !condstore;
        let Some(sel) = self.sel.as_mut() else { return };
        let ch = sel.apply(records, header.highestmodseq.0, false);
        let mut report: BTreeSet<usize> = ch.changed.into_iter().collect();
        for u in uids {
            if let Some(i) = sel.index_of_uid(u.0) {
                if silent {
                    report.remove(&i);
                } else {
                    report.insert(i);
                }
            }
        }
        let mut o = String::new();
        if ch.new_keywords {
            o.push_str(&flags_lines(sel));
        }
        if ch.grew {
            o.push_str(&format!("* {} EXISTS\r\n", sel.exists()));
        }
        for i in report {
            let m = &sel.msgs[i];
            let mut items = Vec::new();
            items.push(format!("FLAGS {}", sel.flags_of(m)));
            if uid_cmd || qresync {
                items.push(format!("UID {}", m.uid()));
            }
            if condstore {
                items.push(format!("MODSEQ ({})", m.rec.modseq.0));
            }
            o.push_str(&format!("* {} FETCH ({})\r\n", i + 1, items.join(" ")));
        }
        self.out.extend(o.into_bytes());
    }

    async fn copy(&mut self, uid: bool, set: &SequenceSet, external: &str, is_move: bool) -> Reply {
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        if !uid && !set.within(sel.exists()) {
            return Reply::Bad(format!(
                "Invalid sequence in {}",
                if is_move { "Move" } else { "Copy" }
            ));
        }
        if is_move && (sel.readonly || !sel.rights.has('e') || !sel.rights.has('t')) {
            return no(DENIED);
        }
        let idx = sel.resolve(set, uid);
        let uids: Vec<Uid> = idx.iter().map(|&i| sel.msgs[i].rec.uid).collect();
        let bytes: u64 = idx.iter().map(|&i| sel.msgs[i].rec.size).sum();
        let src = sel.name.clone();
        let (dst, dentry) = match self.entry_with(external, 'i', true).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if uids.is_empty() {
            return if uid {
                ok()
            } else {
                no("No matching messages")
            };
        }
        if let Err(r) = self.check_quota(&dst, bytes, uids.len() as u64).await {
            return r;
        }
        let (s2, d2) = (src.clone(), dst.clone());
        let pairs = match self
            .st(move |s| s.copy_messages(&s2, &d2, &uids, is_move))
            .await
        {
            Ok(p) => p,
            Err(e) => return store_reply(&e),
        };
        let code = if pairs.is_empty() {
            None
        } else {
            let a: Vec<u32> = pairs.iter().map(|p| p.0.0).collect();
            let b: Vec<u32> = pairs.iter().map(|p| p.1.0).collect();
            Some(format!(
                "COPYUID {} {} {}",
                dentry.uidvalidity.0,
                compact_list(&a),
                compact_list(&b)
            ))
        };
        if is_move {
            if let Some(c) = &code {
                self.out.extend(format!("* OK [{c}] Ok\r\n").into_bytes());
            }
            self.refresh(true).await;
            return ok();
        }
        if dst == src {
            self.refresh(false).await;
        }
        Reply::Ok(code, "Completed".into())
    }

    async fn idle(&mut self, tag: &str) -> io::Result<()> {
        self.out.extend_from_slice(b"+ idling\r\n");
        self.refresh(true).await;
        self.flush().await?;
        loop {
            if let Some(p) = self.rbuf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.rbuf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.eq_ignore_ascii_case(b"DONE") {
                    self.write_reply(tag, ok());
                } else {
                    self.write_reply(tag, Reply::Bad("Invalid Idle continuation".into()));
                }
                return Ok(());
            }
            if self.rbuf.len() > MAX_AUX_LINE {
                self.write_reply(tag, Reply::Bad("Invalid Idle continuation".into()));
                self.rbuf.clear();
                return Ok(());
            }
            let mut buf = [0u8; 4096];
            tokio::select! {
                r = self.conn.read(&mut buf) => {
                    let n = r?;
                    if n == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in idle"));
                    }
                    self.rbuf.extend_from_slice(&buf[..n]);
                }
                _ = tokio::time::sleep(self.srv.idle_poll) => {
                    self.refresh(true).await;
                    self.flush().await?;
                }
            }
        }
    }

    // ---- ACL, quota, metadata ----------------------------------------------------------------

    async fn getacl(&mut self, external: &str) -> Reply {
        let (_, entry) = match self.entry_with(external, 'a', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        let mut v = b"* ACL ".to_vec();
        astring(&mut v, external.as_bytes());
        for (id, r) in acl::entries(entry.acl.as_deref().unwrap_or("")) {
            v.push(b' ');
            astring(&mut v, id.as_bytes());
            v.push(b' ');
            astring(&mut v, r.as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        self.out.extend(v);
        ok()
    }

    async fn setacl(&mut self, external: &str, id: &str, rights: Option<&str>) -> Reply {
        let (name, entry) = match self.entry_with(external, 'a', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if id.is_empty() || id.contains(['\t', '\r', '\n']) {
            return no("Invalid identifier");
        }
        let cur = entry.acl.clone().unwrap_or_default();
        let new = match rights {
            Some(r) => match acl::set(&cur, id, r) {
                Some(a) => a,
                None => return Reply::Bad("Invalid rights".into()),
            },
            None => acl::delete(&cur, id),
        };
        match self.st(move |s| s.set_acl(&name, &new)).await {
            Ok(()) => ok(),
            Err(e) => store_reply(&e),
        }
    }

    async fn listrights(&mut self, external: &str, id: &str) -> Reply {
        let (name, _) = match self.entry_with(external, 'a', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        // Cyrus: the implicit rights are required (the owner's `implicit_owner_rights`,
        // `p` on anyone's INBOX), everything else is optional, in `lrswipkxtecdan` order
        // followed by the ten user-defined digits.
        let cfg = &self.srv.store.config().names;
        let implicit = if name.userid(cfg).is_some_and(|u| u == id) {
            Rights::parse(&self.srv.owner_rights).unwrap_or_default()
        } else if name.is_user_inbox() {
            Rights::parse("p").unwrap_or_default()
        } else {
            Rights::NONE
        };
        let required = if implicit.is_empty() {
            "\"\"".to_owned()
        } else {
            implicit.to_string()
        };
        let optional = Rights::all().minus(implicit).to_string();
        let mut v = b"* LISTRIGHTS ".to_vec();
        astring(&mut v, external.as_bytes());
        v.push(b' ');
        astring(&mut v, id.as_bytes());
        v.push(b' ');
        v.extend_from_slice(required.as_bytes());
        for c in optional.chars() {
            v.extend_from_slice(format!(" {c}").as_bytes());
        }
        v.extend_from_slice(b" 0 1 2 3 4 5 6 7 8 9\r\n");
        self.out.extend(v);
        ok()
    }

    async fn myrights(&mut self, external: &str) -> Reply {
        let name = match self.internal(external) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let entry = match self.st(move |s| s.mailbox_entry(&name)).await {
            Ok(Some(e)) if !e.mbtype.deleted => e,
            Ok(_) => return no(NONEXISTENT),
            Err(e) => return store_reply(&e),
        };
        let r = self.rights(&entry);
        if r.is_empty() {
            return no(NONEXISTENT);
        }
        let mut v = b"* MYRIGHTS ".to_vec();
        astring(&mut v, external.as_bytes());
        v.push(b' ');
        astring(&mut v, r.to_string().as_bytes());
        v.extend_from_slice(b"\r\n");
        self.out.extend(v);
        ok()
    }

    async fn quota_line(&self, root: &MboxName) -> Result<Option<String>, Reply> {
        let r2 = root.clone();
        let got = self
            .st(move |s| {
                let q = s.quota(&r2)?;
                let u = s.quota_usage(&r2)?;
                Ok(q.map(|q| (q, u)))
            })
            .await
            .map_err(|e| store_reply(&e))?;
        let Some((q, u)) = got else { return Ok(None) };
        let ext = self.external(root).unwrap_or_else(|| root.to_string());
        let mut parts = Vec::new();
        if let Some(l) = q.limits.storage {
            parts.push(format!("STORAGE {} {l}", u.storage_bytes / 1024));
        }
        if let Some(l) = q.limits.message {
            parts.push(format!("MESSAGE {} {l}", u.messages));
        }
        if let Some(l) = q.limits.annotation_storage {
            parts.push(format!("X-ANNOTATION-STORAGE 0 {l}"));
        }
        if let Some(l) = q.limits.num_folders {
            parts.push(format!("X-NUM-FOLDERS {} {l}", u.folders));
        }
        let mut v = b"* QUOTA ".to_vec();
        astring(&mut v, ext.as_bytes());
        v.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        Ok(Some(String::from_utf8_lossy(&v).into_owned()))
    }

    async fn getquota(&mut self, external: &str) -> Reply {
        let root = match self.internal(external) {
            Ok(n) => n,
            Err(r) => return r,
        };
        if !self.is_admin() && !self.owns(&root) {
            return no(DENIED);
        }
        match self.quota_line(&root).await {
            Ok(Some(l)) => {
                self.out.extend(l.into_bytes());
                ok()
            }
            Ok(None) => no("Quota root does not exist"),
            Err(r) => r,
        }
    }

    async fn getquotaroot(&mut self, external: &str) -> Reply {
        let (name, entry) = match self.entry_with(external, 'l', false).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if !self.is_admin() && !self.rights(&entry).has('r') {
            return no(DENIED);
        }
        let n2 = name.clone();
        let root = match self.st(move |s| s.quota_root_of(&n2)).await {
            Ok(r) => r,
            Err(e) => return store_reply(&e),
        };
        let mut v = b"* QUOTAROOT ".to_vec();
        astring(&mut v, external.as_bytes());
        if let Some(root) = &root {
            v.push(b' ');
            let ext = self.external(root).unwrap_or_else(|| root.to_string());
            astring(&mut v, ext.as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        self.out.extend(v);
        if let Some(root) = root {
            match self.quota_line(&root).await {
                Ok(Some(l)) => self.out.extend(l.into_bytes()),
                Ok(None) => {}
                Err(r) => return r,
            }
        }
        ok()
    }

    async fn setquota(&mut self, external: &str, limits: &[(String, Option<u64>)]) -> Reply {
        if !self.is_admin() {
            return no(DENIED);
        }
        let root = match self.internal(external) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let r2 = root.clone();
        match self.st(move |s| s.mailbox_entry(&r2)).await {
            Ok(Some(e)) if !e.mbtype.deleted => {}
            Ok(_) => return no(NONEXISTENT),
            Err(e) => return store_reply(&e),
        }
        // An empty list makes every resource unlimited but keeps the root, as Cyrus 3.6
        // (cmd_setquota → mboxlist_setquotas; it never removes a root).
        let mut q = QuotaLimits::default();
        for (res, v) in limits {
            match res.as_str() {
                "STORAGE" => q.storage = *v,
                "MESSAGE" => q.message = *v,
                "X-ANNOTATION-STORAGE" | "ANNOTATION-STORAGE" => q.annotation_storage = *v,
                "X-NUM-FOLDERS" | "MAILBOX" => q.num_folders = *v,
                _ => return no("Unsupported quota resource"),
            }
        }
        match self.st(move |s| s.set_quota(&root, q, None)).await {
            Ok(()) => ok(),
            Err(e) => store_reply(&e),
        }
    }

    /// `/shared/x` → (`/x`, ""), `/private/x` → (`/x`, me).
    fn annot_key(&self, entry: &str) -> Option<(String, String)> {
        let split = |p: &str| -> Option<String> {
            let head = entry.get(..p.len())?;
            if !head.eq_ignore_ascii_case(p) {
                return None;
            }
            let rest = &entry[p.len()..];
            if rest.is_empty() {
                Some("/".into())
            } else if rest.starts_with('/') && !rest.contains("//") && !rest.ends_with('/') {
                Some(rest.to_owned())
            } else {
                None
            }
        };
        if let Some(k) = split("/shared") {
            return Some((k, String::new()));
        }
        split("/private").map(|k| (k, self.userid().to_owned()))
    }

    async fn getmetadata(
        &mut self,
        maxsize: Option<u64>,
        depth: Option<&str>,
        external: &str,
        entries: &[String],
    ) -> Reply {
        let server_level = external.is_empty();
        let annots = if server_level {
            match self.st(|s| s.server_annotations()).await {
                Ok(a) => a,
                Err(e) => return store_reply(&e),
            }
        } else {
            // Cyrus: "Admins can do anything" (annotate.c, _annotate_may_fetch); others need r.
            let right = if self.is_admin() { 'l' } else { 'r' };
            let (name, entry) = match self.entry_with(external, right, false).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            match self.st(move |s| s.mailbox_annotations(&name)).await {
                Ok(mut a) => {
                    // Cyrus derives the mailbox's unique id as a shared entry.
                    a.push(mailstore::Annotation {
                        entry: "/vendor/cmu/cyrus-imapd/uniqueid".into(),
                        userid: String::new(),
                        value: entry.uniqueid.as_str().as_bytes().to_vec(),
                        modseq: Default::default(),
                    });
                    a
                }
                Err(e) => return store_reply(&e),
            }
        };
        let depth = match depth.map(|d| d.to_ascii_lowercase()) {
            None => 0,
            Some(d) if d == "0" => 0,
            Some(d) if d == "1" => 1,
            Some(d) if d == "infinity" => usize::MAX,
            Some(_) => return Reply::Bad("Invalid depth".into()),
        };
        // Entries in request order; a requested entry with no value is reported as NIL,
        // names always quoted (Cyrus 3.6).
        let mut found: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        let mut longer = 0usize;
        for e in entries {
            let Some((key, who)) = self.annot_key(e) else {
                return Reply::Bad("Invalid entry name".into());
            };
            let prefix = if e.to_ascii_lowercase().starts_with("/shared") {
                "/shared"
            } else {
                "/private"
            };
            let before = found.len();
            for a in &annots {
                if a.userid != who {
                    continue;
                }
                let matches = if a.entry == key {
                    true
                } else if let Some(rest) = a.entry.strip_prefix(key.trim_end_matches('/'))
                    && rest.starts_with('/')
                {
                    rest[1..].split('/').count() <= depth
                } else {
                    false
                };
                if matches {
                    if maxsize.is_some_and(|m| a.value.len() as u64 > m) {
                        longer = longer.max(a.value.len());
                        continue;
                    }
                    let full = format!("{prefix}{}", a.entry);
                    if !found.iter().any(|(k, _)| *k == full) {
                        found.push((full, Some(a.value.clone())));
                    }
                }
            }
            if found.len() == before && !found.iter().any(|(k, _)| k == e) {
                found.push((e.clone(), None));
            }
        }
        if !found.is_empty() {
            let mut v = b"* METADATA ".to_vec();
            astring(&mut v, external.as_bytes());
            v.extend_from_slice(b" (");
            for (i, (k, val)) in found.iter().enumerate() {
                if i > 0 {
                    v.push(b' ');
                }
                imap_proto::response::string(&mut v, k.as_bytes());
                v.push(b' ');
                imap_proto::response::nstring(&mut v, val.as_deref());
            }
            v.extend_from_slice(b")\r\n");
            self.out.extend(v);
        }
        if longer > 0 {
            return Reply::Ok(
                Some(format!("METADATA LONGENTRIES {longer}")),
                "Completed".into(),
            );
        }
        ok()
    }

    async fn setmetadata(
        &mut self,
        external: &str,
        entries: Vec<(String, Option<Vec<u8>>)>,
    ) -> Reply {
        let server_level = external.is_empty();
        let target = if server_level {
            if !self.is_admin() {
                return no(DENIED);
            }
            None
        } else {
            match self.entry_with(external, 'l', false).await {
                Ok((n, e)) => Some((n, self.rights(&e))),
                Err(r) => return r,
            }
        };
        for (entry, value) in entries {
            let Some((key, who)) = self.annot_key(&entry) else {
                return Reply::Bad("Invalid entry name".into());
            };
            if key == "/" {
                return Reply::Bad("Invalid entry name".into());
            }
            let value = value.unwrap_or_default();
            let r = match &target {
                None => {
                    self.st(move |s| s.set_server_annotation(&key, &who, &value))
                        .await
                }
                Some((name, rights)) => {
                    // Cyrus 3.6 (annotate.c, _annotate_may_store): admins may store anything;
                    // others need `l r w` for a shared mailbox entry, plus `a` for the
                    // server-side settings (archive, delete, expire, news2mail, sieve, squat).
                    if who.is_empty() && !self.is_admin() {
                        let admin_only = key
                            .to_ascii_lowercase()
                            .strip_prefix("/vendor/cmu/cyrus-imapd/")
                            .is_some_and(|k| {
                                matches!(
                                    k,
                                    "archive"
                                        | "delete"
                                        | "expire"
                                        | "news2mail"
                                        | "sieve"
                                        | "squat"
                                )
                            });
                        if !rights.has('r') || !rights.has('w') || (admin_only && !rights.has('a'))
                        {
                            return no(DENIED);
                        }
                    }
                    if key.eq_ignore_ascii_case("/specialuse") {
                        for u in String::from_utf8_lossy(&value).split_whitespace() {
                            if !SPECIAL_USES.iter().any(|s| s.eq_ignore_ascii_case(u)) {
                                return no_code("USEATTR", "Invalid annotation entry");
                            }
                        }
                    }
                    let name = name.clone();
                    self.st(move |s| s.set_mailbox_annotation(&name, &key, &who, &value))
                        .await
                }
            };
            if let Err(e) = r {
                return store_reply(&e);
            }
        }
        ok()
    }

    /// Whether the next command line is a replication command (`<tag> SYNC...`); reads
    /// until a whole first line is buffered. `None` at EOF.
    async fn next_is_sync(&mut self) -> io::Result<Option<bool>> {
        loop {
            if let Some(nl) = self.rbuf.iter().position(|&b| b == b'\n') {
                let line = &self.rbuf[..nl];
                let mut words = line.split(|&b| b == b' ');
                let _tag = words.next();
                let verb = words.next().unwrap_or_default().to_ascii_uppercase();
                let verb = verb.strip_suffix(b"\r").unwrap_or(&verb);
                return Ok(Some(matches!(
                    verb,
                    b"SYNCAPPLY" | b"SYNCGET" | b"SYNCRESTART" | b"SYNCRESTORE"
                )));
            }
            if self.rbuf.len() > self.srv.limits.max_line {
                return Ok(Some(false));
            }
            self.flush().await?;
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Run one replication command through the csync core, streaming input to it.
    async fn sync_mode(&mut self) -> io::Result<()> {
        let Some(opts) = self.srv.replication.clone() else {
            return Ok(());
        };
        if self.sync_core.is_none() {
            self.sync_core = Some(replication::server::SyncCore::imap(
                self.srv.store.clone(),
                opts,
                self.conn.peer_addr(),
                self.userid(),
                true,
            ));
        }
        loop {
            let Some(mut core) = self.sync_core.take() else {
                return Ok(());
            };
            let input = std::mem::take(&mut self.rbuf);
            let joined = tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                let r = core.feed(&input, &mut out);
                let mut file_err = None;
                if let Ok(p) = &r
                    && let Some(sf) = &p.stream
                    && let Err(e) = sf.append_to(&mut out)
                {
                    file_err = Some(e);
                }
                (core, input, r, out, file_err)
            })
            .await;
            let Ok((core, input, r, out, file_err)) = joined else {
                return Err(io::Error::other("replication task failed"));
            };
            self.sync_core = Some(core);
            let p = match r {
                Ok(p) => p,
                Err(e) => {
                    self.out.extend(status("*", "BYE", None, &format!("{e}")));
                    self.logout = true;
                    return Ok(());
                }
            };
            self.rbuf = input[p.consumed.min(input.len())..].to_vec();
            if let Some(d) = p.delay {
                tokio::time::sleep(d).await;
            }
            self.out.extend(out);
            if let Some(e) = file_err {
                return Err(e);
            }
            if p.action == Some(replication::server::Action::Close) {
                self.logout = true;
            }
            if p.done {
                return Ok(());
            }
            if p.consumed == 0 {
                self.flush().await?;
                if !self.fill().await? {
                    self.logout = true;
                    return Ok(());
                }
            }
        }
    }
}

/// RFC 6154 attributes Cyrus accepts.
pub(crate) const SPECIAL_USES: [&str; 8] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
    "\\Important",
];

/// A UID list as a sequence set in the given order, ranges compacted (COPYUID keeps order).
fn compact_list(v: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j].wrapping_add(1) {
            j += 1;
        }
        if j > i {
            out.push(format!("{start}:{}", v[j]));
        } else {
            out.push(start.to_string());
        }
        i = j + 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(compact_list(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(
            seen_uids("1:3,7", 10).into_iter().collect::<Vec<_>>(),
            vec![1, 2, 3, 7]
        );
        assert!(seen_uids("", 10).is_empty());
        assert_eq!(seen_uids("1:*", 0).len(), 2);
        assert_eq!(seen_uids("1:4294967295", 5).len(), MAX_SEEN_EXPANSION);
    }
}
