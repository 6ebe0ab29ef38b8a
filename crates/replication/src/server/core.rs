//! [`SyncCore`]: one csync conversation without I/O — bytes in, reply bytes and actions out.
//! It frames commands (csync §1.2, §1.4), runs AUTHENTICATE (§1.5), enforces "admin only",
//! answers NOOP/EXIT/RESTART (§1.8), asks its caller to start TLS or DEFLATE (§1.6, §1.7),
//! and hands GET/APPLY to [`Replica`]. The same core serves the IMAP flavour (§1.12), where
//! imapd has already authenticated an admin and hands over tagged `SYNC…` lines.
//!
//! Must not: do socket I/O, sleep, or decide TLS/compression mechanics (see `session`).
//! Every call may block on the mailstore: run it on a blocking thread.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, AuthContext, Mechanism, PasswordCheck, ServerMechanism, Step};
use csync_proto::{
    Command, CommandParser, Flavour, ParseError, ParseLimits, Parsed, Reply, SimpleVerb, SyncError,
    ValueVerb,
};
use mailstore::Store;

use super::Replica;

/// Longest SASL continuation line we accept.
const MAX_SASL_LINE: usize = 64 * 1024;

/// Server settings, from the replica's imapd.conf (see `from_conf` in the binary).
#[derive(Clone)]
pub struct ServerOptions {
    /// `servername`, shown in the banner.
    pub servername: String,
    /// Version text after "Cyrus sync server".
    pub version: String,
    /// `admins`: who may sync.
    pub admins: Admins,
    /// The password database.
    pub passwords: Arc<dyn PasswordCheck + Send + Sync>,
    /// `allowplaintext`.
    pub allow_plaintext: bool,
    /// `sasl_mech_list`.
    pub sasl_mech_list: Option<String>,
    /// TLS is configured (STARTTLS offered before TLS is active).
    pub tls_available: bool,
    /// Offer `COMPRESS DEFLATE` (Cyrus always does when built with zlib).
    pub offer_compress: bool,
    /// Offer `SIEVE-MAILBOX` (Cyrus 3.6 always does).
    pub offer_sieve_mailbox: bool,
    /// `allowusermoves`.
    pub allow_user_moves: bool,
    /// `failedloginpause`.
    pub failed_login_pause: Duration,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("servername", &self.servername)
            .field("admins", &self.admins)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("tls_available", &self.tls_available)
            .field("offer_compress", &self.offer_compress)
            .finish_non_exhaustive()
    }
}

/// What the caller must do after writing the output of a [`SyncCore::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start TLS (server side); then write [`SyncCore::banner`] over it.
    StartTls,
    /// Switch both directions to raw DEFLATE (RFC 4978) from the next byte on.
    StartCompress,
    /// Close the connection (after EXIT).
    Close,
}

/// A file to send after the output of a [`SyncCore::feed`] (the body of a `* MESSAGE` file
/// literal, GET FETCH): exactly `size` bytes of `path`, then `trailer`. If the file cannot
/// supply them, the protocol stream is broken: close the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFile {
    pub path: std::path::PathBuf,
    pub size: u64,
    pub trailer: Vec<u8>,
}

impl StreamFile {
    /// Blocking helper: append the body and the trailer to `out` (tests, small files).
    pub fn append_to(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        use std::io::Read;
        let f = std::fs::File::open(&self.path)?;
        let n = f.take(self.size).read_to_end(out)?;
        if n as u64 != self.size {
            return Err(std::io::Error::other("message file shrank"));
        }
        out.extend_from_slice(&self.trailer);
        Ok(())
    }
}

/// The result of one [`SyncCore::feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes consumed.
    pub consumed: usize,
    /// A command was completed (its reply is in the output).
    pub done: bool,
    /// Wait this long before sending the output (failed login pause).
    pub delay: Option<Duration>,
    pub action: Option<Action>,
    /// Send this file after the output (see [`StreamFile`]).
    pub stream: Option<StreamFile>,
}

#[derive(Debug)]
enum Auth {
    None,
    /// A SASL exchange waiting for the client's next line.
    Sasl {
        mech: ServerMechanism,
        line: Vec<u8>,
    },
    Done {
        userid: String,
        admin: bool,
    },
}

/// One csync conversation (or the csync part of one IMAP connection).
pub struct SyncCore {
    flavour: Flavour,
    parser: CommandParser,
    replica: Replica,
    opts: Arc<ServerOptions>,
    auth: Auth,
    tls: bool,
    compressed: bool,
    peer: String,
}

impl std::fmt::Debug for SyncCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncCore")
            .field("flavour", &self.flavour)
            .field("auth", &self.auth)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl SyncCore {
    /// A csync-port session, not yet authenticated. `preauth`: a UNIX-socket peer, treated as
    /// the pre-authenticated admin (csync §1.1).
    pub fn csync(store: Arc<Store>, opts: Arc<ServerOptions>, peer: &str, preauth: bool) -> Self {
        let mut core = Self::new(Flavour::Csync, store, opts, peer);
        if preauth {
            core.set_user("cyrus".to_owned(), true);
        }
        core
    }

    /// The IMAP flavour (csync §1.12) for an imapd session authenticated as `userid`. imapd
    /// calls [`SyncCore::feed`] with its input starting at the tag of a `SYNCAPPLY`, `SYNCGET`,
    /// `SYNCRESTORE` or `SYNCRESTART` line, until [`Progress::done`]; keep one core per IMAP
    /// connection (it holds the reserve list).
    pub fn imap(
        store: Arc<Store>,
        opts: Arc<ServerOptions>,
        peer: &str,
        userid: &str,
        is_admin: bool,
    ) -> Self {
        let mut core = Self::new(Flavour::Imap, store, opts, peer);
        core.set_user(userid.to_owned(), is_admin);
        core
    }

    fn new(flavour: Flavour, store: Arc<Store>, opts: Arc<ServerOptions>, peer: &str) -> Self {
        let mut replica = Replica::new(store);
        replica.offer_sieve_mailbox = opts.offer_sieve_mailbox;
        replica.allow_user_moves = opts.allow_user_moves;
        SyncCore {
            flavour,
            parser: CommandParser::new(flavour, ParseLimits::default()),
            replica,
            opts,
            auth: Auth::None,
            tls: false,
            compressed: false,
            peer: peer.to_owned(),
        }
    }

    fn set_user(&mut self, userid: String, admin: bool) {
        self.replica.staging.set_accept(admin);
        self.auth = Auth::Done { userid, admin };
    }

    /// The authenticated identity, if any.
    pub fn userid(&self) -> Option<&str> {
        match &self.auth {
            Auth::Done { userid, .. } => Some(userid),
            _ => None,
        }
    }

    fn mechanisms(&self) -> Vec<Mechanism> {
        auth::sasl::server_mechanisms(
            self.tls,
            self.opts.allow_plaintext,
            self.opts.sasl_mech_list.as_deref(),
        )
    }

    /// The greeting (csync §1.3), at connect and again after STARTTLS.
    pub fn banner(&self, out: &mut Vec<u8>) {
        if matches!(self.auth, Auth::None) {
            let mechs = self.mechanisms();
            if !mechs.is_empty() {
                out.extend_from_slice(b"* SASL ");
                out.extend_from_slice(auth::sasl::mechanism_names(&mechs).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            if self.opts.tls_available && !self.tls {
                out.extend_from_slice(b"* STARTTLS\r\n");
            }
            if self.opts.offer_compress && !self.tls && !self.compressed {
                out.extend_from_slice(b"* COMPRESS DEFLATE\r\n");
            }
            if self.opts.offer_sieve_mailbox {
                out.extend_from_slice(b"* SIEVE-MAILBOX\r\n");
            }
        }
        let _ = write!(
            out,
            "* OK {} Cyrus sync server {}\r\n",
            self.opts.servername, self.opts.version
        );
    }

    /// Tell the core TLS is now active (after [`Action::StartTls`] succeeded).
    pub fn tls_started(&mut self) {
        self.tls = true;
    }

    /// The session ended: drop staged files.
    pub fn end(&mut self) {
        self.replica.restart();
    }

    /// Feed input. Processes at most one command; returns how much was consumed. Output
    /// (continuations, data lines, status lines) is appended to `out`. A parse error is fatal
    /// (limits exceeded, or an I/O error while staging): close the connection.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, ParseError> {
        let mut p = Progress {
            consumed: 0,
            done: false,
            delay: None,
            action: None,
            stream: None,
        };
        if matches!(self.auth, Auth::Sasl { .. }) {
            return Ok(self.sasl_line(input, out));
        }
        let (n, parsed) = self.parser.feed(input, &mut self.replica.staging)?;
        p.consumed = n;
        match parsed {
            Parsed::NeedMore => {}
            Parsed::Continuation { .. } => out.extend_from_slice(b"+ go ahead\r\n"),
            Parsed::Complete(line) => {
                p.done = true;
                let tag = line.tag.as_deref();
                let (reply, action, delay) = self.command(line.command, tag, out);
                match self.replica.pending_file.take() {
                    Some((path, size)) => {
                        let mut trailer = b"\r\n".to_vec();
                        if let Some(r) = reply {
                            let _ = r.write_to(&mut trailer, tag);
                        }
                        p.stream = Some(StreamFile {
                            path,
                            size,
                            trailer,
                        });
                    }
                    None => {
                        if let Some(r) = reply {
                            let _ = r.write_to(out, tag);
                        }
                    }
                }
                p.action = action;
                p.delay = delay;
            }
        }
        Ok(p)
    }

    fn command(
        &mut self,
        cmd: Command,
        tag: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> (Option<Reply>, Option<Action>, Option<Duration>) {
        let reply = |r| (Some(r), None, None);
        if matches!(cmd, Command::Empty) {
            return reply(Reply::NullCommand);
        }
        let (authed, admin) = match &self.auth {
            Auth::Done { admin, .. } => (true, *admin),
            _ => (false, false),
        };
        if authed && !admin {
            return reply(Reply::PermissionDenied);
        }
        match cmd {
            Command::Empty => reply(Reply::NullCommand),
            Command::Unknown { .. } => reply(Reply::UnrecognizedCommand),
            Command::BadArguments { verb, missing } => {
                if verb == SimpleVerb::Starttls && !self.opts.tls_available {
                    return reply(Reply::UnrecognizedCommand);
                }
                reply(if missing {
                    Reply::MissingArgument(verb.display())
                } else {
                    Reply::ExtraArguments(verb.display())
                })
            }
            Command::Invalid { verb, reason } => {
                if !authed {
                    return reply(Reply::PleaseAuthenticate);
                }
                tracing::info!(peer = %self.peer, "bad {} line: {reason}", verb.as_str());
                reply(Reply::Error(SyncError::ParseFailed(verb)))
            }
            Command::Get(_) | Command::Apply(_) | Command::Restore(_) if !authed => {
                reply(Reply::PleaseAuthenticate)
            }
            Command::Get(k) => {
                let mut data = Vec::new();
                let r = self.replica.get(&k, &mut data);
                self.finish_value(ValueVerb::Get, &k.key, r, data, out)
            }
            Command::Apply(k) => {
                let mut data = Vec::new();
                let r = self.replica.apply(&k, &mut data);
                self.replica.staging.end_command();
                self.finish_value(ValueVerb::Apply, &k.key, r, data, out)
            }
            // RESTORE is for Cyrus's restore tool, not sync_client (csync §5.15).
            Command::Restore(_) => reply(Reply::Error(SyncError::PROTOCOL_ERROR)),
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                if authed {
                    return (
                        None,
                        None,
                        self.raw_line(out, tag, b"BAD Already authenticated"),
                    );
                }
                if mechanism.is_empty() || !mechanism.iter().all(|&b| wire::is_atom_char(b)) {
                    return (
                        None,
                        None,
                        self.raw_line(out, tag, b"BAD Invalid mechanism"),
                    );
                }
                self.authenticate(&mechanism, initial_response.as_deref(), tag, out)
            }
            Command::Starttls => {
                if !self.opts.tls_available || self.flavour == Flavour::Imap {
                    return reply(Reply::UnrecognizedCommand);
                }
                if authed {
                    return (
                        None,
                        None,
                        self.raw_line(out, tag, b"BAD Can't Starttls after authentication"),
                    );
                }
                if self.tls {
                    return (
                        None,
                        None,
                        self.raw_line(out, tag, b"BAD Already did a successful Starttls"),
                    );
                }
                self.raw_line(out, tag, b"OK Begin TLS negotiation now");
                (None, Some(Action::StartTls), None)
            }
            Command::Compress { algorithm } => {
                let alg = String::from_utf8_lossy(&algorithm).into_owned();
                if self.compressed {
                    let line = format!("NO Compression already active: {alg}");
                    self.raw_line(out, tag, line.as_bytes());
                    return (None, None, None);
                }
                if !alg.eq_ignore_ascii_case("DEFLATE") || self.flavour == Flavour::Imap {
                    let line = format!("NO Unknown compression algorithm: {alg}");
                    self.raw_line(out, tag, line.as_bytes());
                    return (None, None, None);
                }
                self.compressed = true;
                let line = format!("OK {alg} active");
                self.raw_line(out, tag, line.as_bytes());
                (None, Some(Action::StartCompress), None)
            }
            Command::Noop => reply(Reply::NoopCompleted),
            Command::Exit => {
                self.replica.restart();
                (Some(Reply::Finished), Some(Action::Close), None)
            }
            Command::Restart => {
                self.replica.restart();
                reply(Reply::Restarting)
            }
        }
    }

    fn finish_value(
        &mut self,
        verb: ValueVerb,
        key: &[u8],
        r: Result<(), SyncError>,
        data: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> (Option<Reply>, Option<Action>, Option<Duration>) {
        let name = String::from_utf8_lossy(key);
        match r {
            Ok(()) => {
                tracing::debug!(peer = %self.peer, "{} {name}: OK", verb.as_str());
                out.extend_from_slice(&data);
                (Some(Reply::Success), None, None)
            }
            Err(e) => {
                self.replica.pending_file = None;
                tracing::info!(peer = %self.peer, "{} {name}: {e}", verb.as_str());
                // Data lines of a failed command are not sent, except a half-written
                // literal, which cannot be taken back: there is none, as replies are
                // buffered until complete.
                (Some(Reply::Error(e)), None, None)
            }
        }
    }

    fn raw_line(&self, out: &mut Vec<u8>, tag: Option<&[u8]>, line: &[u8]) -> Option<Duration> {
        if let Some(t) = tag {
            out.extend_from_slice(t);
            out.push(b' ');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        None
    }

    fn authenticate(
        &mut self,
        mechanism: &[u8],
        initial: Option<&[u8]>,
        tag: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> (Option<Reply>, Option<Action>, Option<Duration>) {
        let mechs = self.mechanisms();
        let passwords = self.opts.passwords.clone();
        let ctx = AuthContext {
            passwords: &*passwords,
            admins: &self.opts.admins,
            mechanisms: &mechs,
        };
        let ir = match initial {
            None => None,
            Some(b"=") => Some(Vec::new()),
            Some(t) => match auth::b64::decode(t) {
                Ok(v) => Some(v),
                Err(_) => {
                    let d =
                        self.raw_line(out, tag, b"NO Error reading client response: bad base64");
                    return (None, None, d);
                }
            },
        };
        let name = String::from_utf8_lossy(mechanism).into_owned();
        let (mech, step) = ServerMechanism::start(&name, ir.as_deref(), &ctx);
        let delay = self.auth_step(mech, step, tag, out);
        (None, None, delay)
    }

    fn auth_step(
        &mut self,
        mech: ServerMechanism,
        step: Step,
        tag: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Option<Duration> {
        match step {
            Step::Challenge(c) => {
                out.extend_from_slice(b"+ ");
                out.extend_from_slice(auth::b64::encode(&c).as_bytes());
                out.extend_from_slice(b"\r\n");
                self.auth = Auth::Sasl {
                    mech,
                    line: Vec::new(),
                };
                None
            }
            Step::Done { authzid, .. } => {
                let admin = self.opts.admins.is_admin(&authzid);
                tracing::info!(peer = %self.peer, "login: {authzid} admin={admin}");
                self.set_user(authzid, admin);
                let text = if self.tls {
                    "OK Success (tls protection)"
                } else {
                    "OK Success (no protection)"
                };
                self.raw_line(out, tag, text.as_bytes());
                None
            }
            Step::Failed(f) => {
                tracing::warn!(peer = %self.peer, "badlogin: {f}");
                self.auth = Auth::None;
                let line = format!("NO {}", f.sasl_text());
                self.raw_line(out, tag, line.as_bytes());
                Some(self.opts.failed_login_pause)
            }
        }
    }

    /// A client line during a SASL exchange: base64, `*` to cancel.
    fn sasl_line(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        let mut p = Progress {
            consumed: 0,
            done: false,
            delay: None,
            action: None,
            stream: None,
        };
        let Auth::Sasl { line, .. } = &mut self.auth else {
            return p;
        };
        let Some(end) = input.iter().position(|&b| b == b'\n') else {
            p.consumed = input.len();
            line.extend_from_slice(input);
            if line.len() > MAX_SASL_LINE {
                self.auth = Auth::None;
                out.extend_from_slice(b"NO Error reading client response: line too long\r\n");
                p.done = true;
            }
            return p;
        };
        p.consumed = end + 1;
        p.done = true;
        line.extend_from_slice(&input[..end]);
        let Auth::Sasl { mut mech, line } = std::mem::replace(&mut self.auth, Auth::None) else {
            return p;
        };
        let text = line.strip_suffix(b"\r").unwrap_or(&line);
        if text == b"*" {
            out.extend_from_slice(b"BAD Client canceled authentication\r\n");
            return p;
        }
        let Ok(resp) = auth::b64::decode(text) else {
            out.extend_from_slice(b"NO Error reading client response: bad base64\r\n");
            return p;
        };
        let mechs = self.mechanisms();
        let passwords = self.opts.passwords.clone();
        let ctx = AuthContext {
            passwords: &*passwords,
            admins: &self.opts.admins,
            mechanisms: &mechs,
        };
        let step = mech.step(&resp, &ctx);
        p.delay = self.auth_step(mech, step, None, out);
        p
    }
}
