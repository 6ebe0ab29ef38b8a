//! The master side of replication: `sync_client` (replication-behaviour §2, §3; csync §9).
//!
//! Owns: connecting to a replica with Cyrus's retry loop, the per-user sync locks, and the
//! one-shot modes (`-u`, `-m`, `-s`, `-A`); [`rolling`] owns `-r`/`-R`/`-1`/`-f`.
//! [`engine`] holds the per-connection algorithms (compare, reserve, upload, apply),
//! [`meta`] the non-mailbox state, [`repair`] the full update / copy-back, [`conn`] the wire.
//! Must not: parse command lines (bins/src/bin/sync_client.rs does) or write sync logs other
//! than deferrals.
//!
//! Entry points for the binary: build a [`ClientConfig`], then call [`run_users`],
//! [`run_mailboxes`], [`run_meta`], [`run_all`] or [`rolling::run`]; each returns the process
//! exit status Cyrus would use.
//!
//! Deliberate differences from 3.6 (see also [`rolling`] and [`conn`]): `-o` really connects
//! once (3.9+ behaviour); a per-user sync lock is a `flock` on
//! `<configdirectory>/sync/lock/<replica>/<user>`; progress lines and errors go to
//! stdout/stderr (tracing) instead of syslog; `-A`/`-u` show progress when stderr is a
//! terminal; the sync cache (`sync_cache_db_path`) and SIEVE-MAILBOX mode are not used.

pub mod conn;
mod deflate;
pub mod engine;
pub mod error;
pub mod meta;
pub mod repair;
pub mod rolling;

use std::fs::{self, File};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use csync_proto::cmd::ApplyCommand;
use mailstore::Store;
use rustix::fs::{FlockOperation, flock};
use types::MboxName;

pub use conn::{SyncConn, Target};
pub use engine::{Engine, EngineOptions};
pub use error::SyncErr;

/// Exit status: success.
pub const EX_OK: i32 = 0;
/// Exit status: something failed.
pub const EX_FAIL: i32 = 1;
/// Exit status: terminated by a signal (EX_TEMPFAIL).
pub const EX_TEMPFAIL: i32 = 75;

/// Everything a sync_client run needs besides the store.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub target: Target,
    pub engine: EngineOptions,
    /// `-v -v`: protocol on stderr.
    pub trace: bool,
    /// `-z`.
    pub require_compress: bool,
    /// `sync_reconnect_maxwait` (zero = uncapped).
    pub reconnect_maxwait: Duration,
    /// `-o`: give up after the first failed connection attempt (3.9+ behaviour; 3.6 parsed
    /// the flag and ignored it).
    pub connect_once: bool,
    /// `-N`: do not wait for per-user sync locks.
    pub nonblock_lock: bool,
    /// Where per-user sync locks live (`<configdirectory>/sync/lock`).
    pub lock_dir: PathBuf,
    /// Set by the signal handler; checked at every poll point.
    pub stop: Arc<AtomicBool>,
}

impl ClientConfig {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Sleep up to `d`, waking early when a stop was requested. Returns false if stopping.
pub fn sleep_unless_stopped(cfg: &ClientConfig, d: Duration) -> bool {
    let end = Instant::now() + d;
    loop {
        if cfg.stopping() {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// Why no connection could be made.
#[derive(Debug)]
pub enum ConnectFail {
    /// A stop signal arrived while retrying.
    Stopped,
    /// `-o`, or a condition retrying cannot fix (`-z` without compression, FORCE refused).
    Fatal(i32),
}

/// Connect with Cyrus's retry loop (§2.6): 15 s, doubling, capped by
/// `sync_reconnect_maxwait`. Sends FORCE for `-O`.
pub fn connect(cfg: &ClientConfig) -> Result<SyncConn, ConnectFail> {
    let mut wait = Duration::from_secs(15);
    loop {
        if cfg.stopping() {
            return Err(ConnectFail::Stopped);
        }
        match SyncConn::open(&cfg.target, cfg.trace, cfg.require_compress) {
            Ok(mut c) => {
                if cfg.engine.no_copyback {
                    let k = ApplyCommand::Force.to_keyed();
                    if c.command("APPLY", &k).is_err() {
                        tracing::error!("SYNCERROR: failed to enable force mode");
                        c.abort();
                        return Err(ConnectFail::Fatal(EX_FAIL));
                    }
                }
                return Ok(c);
            }
            Err(SyncErr::CompressRequired(s)) => {
                tracing::error!("Failed to enable compression to server '{s}'");
                eprintln!("Failed to enable compression to server '{s}'");
                return Err(ConnectFail::Fatal(EX_FAIL));
            }
            Err(e) => {
                match &e {
                    SyncErr::Auth(_) => tracing::error!("{e}"),
                    _ => tracing::error!("connect({}) failed: {e}", cfg.target.display),
                }
                if cfg.connect_once {
                    tracing::error!("Can not connect to server '{}'", cfg.target.display);
                    eprintln!("Can not connect to server '{}'", cfg.target.display);
                    return Err(ConnectFail::Fatal(EX_FAIL));
                }
                if !cfg.reconnect_maxwait.is_zero() {
                    wait = wait.min(cfg.reconnect_maxwait);
                }
                eprintln!(
                    "Can not connect to server '{}', retrying in {} seconds",
                    cfg.target.display,
                    wait.as_secs()
                );
                if !sleep_unless_stopped(cfg, wait) {
                    return Err(ConnectFail::Stopped);
                }
                wait *= 2;
                if !cfg.reconnect_maxwait.is_zero() {
                    wait = wait.min(cfg.reconnect_maxwait);
                }
            }
        }
    }
}

/// A per-user sync lock (§2.8): named after the replica and the userid ("" = shared
/// mailboxes), so clients for one replica serialise per user and others never block.
#[derive(Debug)]
pub struct UserLock {
    _file: File,
}

fn lock_file_name(userid: &str) -> String {
    let mut s = String::from("u_");
    for b in userid.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' || b == b'@' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02x}"));
        }
    }
    s
}

/// Take the sync lock for `userid`; `Err(Locked)` with `-N` when busy.
pub fn lock_user(cfg: &ClientConfig, userid: &str) -> Result<UserLock, SyncErr> {
    let dir = cfg.lock_dir.join(lock_file_name(&cfg.target.display));
    fs::create_dir_all(&dir)?;
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(lock_file_name(userid)))?;
    let op = if cfg.nonblock_lock {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::LockExclusive
    };
    match flock(&f, op) {
        Ok(()) => Ok(UserLock { _file: f }),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(SyncErr::Locked),
        Err(e) => Err(SyncErr::Io(e.into())),
    }
}

/// The users owning `names` (sorted, deduplicated; "" for shared mailboxes).
pub fn owners(store: &Store, names: &[MboxName]) -> Vec<String> {
    let mut v: Vec<String> = names
        .iter()
        .map(|n| n.userid(&store.config().names).unwrap_or_default())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A connection that is re-established on demand after connection-level errors.
#[derive(Debug)]
pub struct Session<'a> {
    pub cfg: &'a ClientConfig,
    pub store: &'a Store,
    engine: Option<Engine<'a>>,
}

impl<'a> Session<'a> {
    pub fn new(cfg: &'a ClientConfig, store: &'a Store) -> Session<'a> {
        Session {
            cfg,
            store,
            engine: None,
        }
    }

    /// The engine, connecting first if needed.
    pub fn engine(&mut self) -> Result<&mut Engine<'a>, ConnectFail> {
        if self.engine.is_none() {
            let conn = connect(self.cfg)?;
            self.engine = Some(Engine {
                store: self.store,
                conn,
                opts: self.cfg.engine.clone(),
            });
        }
        // Just set above when it was None.
        self.engine.as_mut().ok_or(ConnectFail::Fatal(EX_FAIL))
    }

    /// Run `f` on the engine; a connection-level error drops the connection so the next
    /// call reconnects.
    pub fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Engine<'a>) -> Result<T, SyncErr>,
    ) -> Result<Result<T, SyncErr>, ConnectFail> {
        let e = self.engine()?;
        let r = f(e);
        if let Err(err) = &r
            && err.is_connection()
            && let Some(e) = self.engine.take()
        {
            e.conn.abort();
        }
        Ok(r)
    }

    pub fn is_connected(&self) -> bool {
        self.engine.is_some()
    }

    /// Drop the connection without EXIT.
    pub fn drop_connection(&mut self) {
        if let Some(e) = self.engine.take() {
            e.conn.abort();
        }
    }

    /// `EXIT` and close.
    pub fn close(&mut self) {
        if let Some(e) = self.engine.take() {
            e.conn.exit();
        }
    }
}

fn fail_status(f: ConnectFail) -> i32 {
    match f {
        ConnectFail::Stopped => EX_TEMPFAIL,
        ConnectFail::Fatal(c) => c,
    }
}

/// `-u user…` (§2.3).
pub fn run_users(cfg: &ClientConfig, store: &Store, users: &[String]) -> i32 {
    let mut s = Session::new(cfg, store);
    let mut status = EX_OK;
    let mut progress = Progress::new(users.len());
    for u in users {
        if cfg.stopping() {
            progress.finish();
            s.close();
            return EX_TEMPFAIL;
        }
        progress.step(u);
        let r = match lock_user(cfg, u) {
            Ok(_lock) => match s.run(|e| e.sync_user(u)) {
                Ok(r) => r,
                Err(f) => return fail_status(f),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            tracing::error!("Error in sync_do_user({u}): bailing out!");
            if cfg.engine.verbose > 0 {
                eprintln!("Error in sync_do_user({u}): bailing out! {e}");
            }
            status = EX_FAIL;
        }
    }
    progress.finish();
    s.close();
    status
}

/// `-s user…` (§2.3).
pub fn run_meta(cfg: &ClientConfig, store: &Store, users: &[String]) -> i32 {
    let mut s = Session::new(cfg, store);
    let mut status = EX_OK;
    for u in users {
        let r = match lock_user(cfg, u) {
            Ok(_lock) => match s.run(|e| e.sync_meta(u)) {
                Ok(r) => r,
                Err(f) => return fail_status(f),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            tracing::error!("Error in sync_do_meta({u}): bailing out!");
            if cfg.engine.verbose > 0 {
                eprintln!("Error in sync_do_meta({u}): bailing out! {e}");
            }
            status = EX_FAIL;
        }
    }
    s.close();
    status
}

/// `-m mailbox…` with internal names (§2.3): one batch.
pub fn run_mailboxes(cfg: &ClientConfig, store: &Store, names: &[MboxName]) -> i32 {
    let mut s = Session::new(cfg, store);
    let mut locks = Vec::new();
    for u in owners(store, names) {
        match lock_user(cfg, &u) {
            Ok(l) => locks.push(l),
            Err(e) => {
                tracing::error!("Error in sync_do_mailboxes(): bailing out! {e}");
                return EX_FAIL;
            }
        }
    }
    let r = match s.run(|e| e.sync_mailboxes(names)) {
        Ok(r) => r,
        Err(f) => return fail_status(f),
    };
    drop(locks);
    s.close();
    match r {
        Ok(()) => EX_OK,
        Err(e) => {
            tracing::error!("Error in sync_do_mailboxes(): bailing out!");
            if cfg.engine.verbose > 0 {
                eprintln!("Error in sync_do_mailboxes(): bailing out! {e}");
            }
            EX_FAIL
        }
    }
}

/// Progress on a terminal for `-A` / `-u` (overwritten in place).
#[derive(Debug)]
pub struct Progress {
    on: bool,
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            total,
            done: 0,
            started: Instant::now(),
        }
    }

    /// Called as each item (user or shared mailbox) starts.
    pub fn step(&mut self, what: &str) {
        self.done += 1;
        if self.on {
            let mut e = std::io::stderr();
            let _ = write!(e, "\r\x1b[K{}", self.line(what));
            let _ = e.flush();
        }
    }

    /// `[3/20] users/items, 41 mailboxes, 12.5 MiB sent, 2.1s: alice`.
    fn line(&self, what: &str) -> String {
        format!(
            "[{}/{}] {} mailboxes, {:.1} MiB sent, {:.1}s: {what}",
            self.done,
            self.total,
            engine::mailboxes_done(),
            conn::bytes_sent() as f64 / (1024.0 * 1024.0),
            self.started.elapsed().as_secs_f64()
        )
    }

    pub fn finish(&self) {
        if self.on && self.total > 0 {
            eprintln!("\r\x1b[K{}", self.line("done"));
        }
    }
}

/// `-A [prefix]` (§2.3): every user (once) and every non-user mailbox on its own.
pub fn run_all(cfg: &ClientConfig, store: &Store, prefix: Option<&str>) -> i32 {
    let entries = match store.list_all_entries() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("IOERROR: reading mailbox list: {e}");
            return EX_FAIL;
        }
    };
    enum Item {
        User(String),
        Shared(MboxName),
    }
    let names = &store.config().names;
    let mut items = Vec::new();
    let mut last_user: Option<String> = None;
    for e in entries {
        if !e.mbtype.is_real() {
            continue;
        }
        if let Some(p) = prefix
            && !e.name.as_str().starts_with(p)
        {
            continue;
        }
        match e.name.userid(names) {
            Some(u) => {
                if e.name.is_deleted_copy(names) {
                    continue;
                }
                if last_user.as_deref() != Some(u.as_str()) {
                    last_user = Some(u.clone());
                    items.push(Item::User(u));
                }
            }
            None => items.push(Item::Shared(e.name)),
        }
    }
    // Users' mailboxes are adjacent in name order except for DELETED copies, which are
    // skipped above; remove any repeats that remain (e.g. domains interleaving).
    let mut seen_users = std::collections::HashSet::new();
    items.retain(|i| match i {
        Item::User(u) => seen_users.insert(u.clone()),
        Item::Shared(_) => true,
    });
    let mut progress = Progress::new(items.len());
    let mut s = Session::new(cfg, store);
    let mut status = EX_OK;
    for item in &items {
        if cfg.stopping() {
            s.close();
            progress.finish();
            return EX_TEMPFAIL;
        }
        let (label, lockname) = match item {
            Item::User(u) => (u.clone(), u.clone()),
            Item::Shared(m) => (m.to_string(), String::new()),
        };
        progress.step(&label);
        let lock = match lock_user(cfg, &lockname) {
            Ok(l) => l,
            Err(SyncErr::Locked) => {
                if cfg.engine.verbose > 0 {
                    println!("Skipping locked user {label}");
                }
                continue;
            }
            Err(e) => {
                tracing::error!("Error in do_user({label}): bailing out! {e}");
                status = EX_FAIL;
                continue;
            }
        };
        let r = match s.run(|e| match item {
            Item::User(u) => e.sync_user(u),
            Item::Shared(m) => e.sync_mailboxes(std::slice::from_ref(m)),
        }) {
            Ok(r) => r,
            Err(f) => {
                progress.finish();
                return fail_status(f);
            }
        };
        drop(lock);
        if let Err(e) = r {
            tracing::error!("Error in do_user({label}): bailing out!");
            if cfg.engine.verbose > 0 {
                eprintln!("Error in do_user({label}): bailing out! {e}");
            }
            status = EX_FAIL;
            // Cyrus drops and re-establishes the connection for the next item.
            s.drop_connection();
        }
    }
    progress.finish();
    s.close();
    status
}

/// Read a `-f` list file for `-u`/`-m` (§2.5): one item per line, empty lines and `#`
/// comments skipped, no trimming beyond the newline.
pub fn read_list_file(path: &Path) -> std::io::Result<Vec<String>> {
    let text = fs::read(path)?;
    Ok(text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect())
}
