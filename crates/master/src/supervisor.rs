//! The supervisor: START, SERVICES, DAEMON and EVENTS from cyrus.conf (spec §8.4–§8.9) in
//! our process model — one long-running process per listening socket of a service, which
//! accepts connections itself (`docs/design/master.md`).
//!
//! Owns: the child table, restarts with back-off, the EVENTS schedule, reload and shutdown.
//! Must not: install signal handlers, touch stdio, daemonise or write the pid file (the
//! command line front end does that), and must not block on anything but its wake-up pipe
//! and the START commands it waits for.

use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use config::{CyrusConf, CyrusConfError, DaemonEntry, EventEntry, ServiceEntry};

use crate::clock::{Clock, next_at};
use crate::control::Control;
use crate::resolve::ProgramPath;
use crate::socket::{BoundSocket, bind_service};
use crate::spawn::{ChildKind, SpawnSpec, command};

/// A child that ran less than this long and then exited counts as a failure for back-off.
const QUICK_EXIT: Duration = Duration::from_secs(10);
/// First restart delay after a quick exit; doubles per further quick exit.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest restart delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Consecutive quick exits after which master logs "too many failures".
const TOO_MANY_FAILURES: u32 = 5;
/// Exit status Cyrus programs use for "stopped on request" (EX_TEMPFAIL).
const EX_TEMPFAIL: i32 = 75;

/// How master is set up.
#[derive(Debug, Clone)]
pub struct MasterOptions {
    /// cyrus.conf (`-M`).
    pub cyrus_conf: PathBuf,
    /// Services database for `listen=` names (normally `/etc/services`).
    pub services_file: PathBuf,
    /// Where `cmd` programs are found.
    pub programs: ProgramPath,
    /// Listen backlog (`-l`, default 32).
    pub backlog: i32,
    /// `master_bind_errors_fatal` from imapd.conf.
    pub bind_errors_fatal: bool,
    /// Longest sleep of the main loop. Children are reaped at least this often even
    /// without a SIGCHLD handler (library use), and a manual clock is looked at this often.
    pub poll_interval: Duration,
    /// At shutdown, also send SIGTERM to master's process group when master leads it (what
    /// stops a `sync_client -r` that a START entry left running in the background).
    pub signal_process_group: bool,
}

impl MasterOptions {
    /// Defaults for `cyrus_conf`: `/etc/services`, our programs next to the running binary,
    /// backlog 32, one-second polling, no process-group signal.
    pub fn new(cyrus_conf: impl Into<PathBuf>) -> MasterOptions {
        MasterOptions {
            cyrus_conf: cyrus_conf.into(),
            services_file: PathBuf::from(config::SERVICES_FILE),
            programs: ProgramPath::default(),
            backlog: 32,
            bind_errors_fatal: false,
            poll_interval: Duration::from_secs(1),
            signal_process_group: false,
        }
    }
}

/// Why master cannot start (or, for reload, why the old configuration stays).
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// cyrus.conf unreadable or invalid.
    #[error(transparent)]
    Conf(#[from] CyrusConfError),
    /// A SERVICES or DAEMON program does not exist.
    #[error("cannot find executable for service '{0}'")]
    NoExecutable(String),
    /// A START command failed.
    #[error("can't run startup: {0}")]
    Startup(String),
    /// `master_bind_errors_fatal` and a socket could not be bound.
    #[error("{0}")]
    BindFatal(String),
    /// A `wait=y` daemon did not report readiness.
    #[error("waitdaemon {0}/daemon did not write \"ok\\r\\n\" to fd 3")]
    WaitDaemon(String),
    /// Anything else from the system.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running child.
#[derive(Debug)]
struct Running {
    child: Child,
    kind: ChildKind,
    /// Entry name.
    name: String,
    /// Name in log lines (`imap/ipv4` for a service socket).
    label: String,
    path: PathBuf,
    started: Instant,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: libc::c_int) {
        let Ok(pid) = libc::pid_t::try_from(self.pid()) else {
            return;
        };
        // SAFETY: kill(2) on the pid of a child we have not reaped yet, so it cannot have
        // been reused by another process.
        unsafe { libc::kill(pid, sig) };
    }

    fn log_exit(&self, status: ExitStatus) {
        let head = format!(
            "process type:{} name:{} path:{} age:{}s pid:{}",
            self.kind.label(),
            self.label,
            self.path.display(),
            self.started.elapsed().as_secs(),
            self.pid()
        );
        match (status.code(), status.signal()) {
            (Some(0), _) => tracing::info!("{head} exited normally"),
            (Some(EX_TEMPFAIL), _) => tracing::info!("{head} was killed"),
            (Some(code), _) => tracing::error!("{head} exited, status {code}"),
            (None, Some(sig)) => tracing::error!(
                "{head} signaled to death by signal {sig} ({}{})",
                signal_name(sig),
                if status.core_dumped() {
                    ", core dumped"
                } else {
                    ""
                }
            ),
            (None, None) => tracing::error!("{head} exited, status unknown"),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "Hangup",
        libc::SIGINT => "Interrupt",
        libc::SIGQUIT => "Quit",
        libc::SIGILL => "Illegal instruction",
        libc::SIGABRT => "Aborted",
        libc::SIGBUS => "Bus error",
        libc::SIGFPE => "Floating point exception",
        libc::SIGKILL => "Killed",
        libc::SIGSEGV => "Segmentation fault",
        libc::SIGPIPE => "Broken pipe",
        libc::SIGALRM => "Alarm clock",
        libc::SIGTERM => "Terminated",
        _ => "Unknown signal",
    }
}

/// One supervised process slot: a listening socket of a service, or a daemon.
#[derive(Debug)]
struct Slot {
    kind: ChildKind,
    name: String,
    argv: Vec<String>,
    program: PathBuf,
    /// For services: `listen` and `proto` (what decides whether a reload keeps the socket).
    listen: Option<(String, String)>,
    socket: Option<BoundSocket>,
    id: usize,
    maxchild: Option<i64>,
    maxfds: i64,
    /// Shortest time between two starts (`maxforkrate`).
    min_gap: Duration,
    /// `maxchild=0`: bound but never started.
    enabled: bool,
    /// DAEMON `wait=y`: own process group, stopped last at shutdown.
    wait: bool,
    child: Option<Running>,
    next_start: Option<Instant>,
    last_start: Option<Instant>,
    failures: u32,
}

impl Slot {
    fn label(&self) -> String {
        match &self.socket {
            Some(s) => format!("{}/{}", self.name, s.family),
            None => format!("{}/daemon", self.name),
        }
    }
}

#[derive(Debug)]
struct EventSlot {
    entry: EventEntry,
    next: Option<SystemTime>,
}

/// The supervisor. Create with [`Master::new`], then [`Master::run`] (blocks until shut
/// down through its [`Control`]).
#[derive(Debug)]
pub struct Master {
    opts: MasterOptions,
    clock: Arc<dyn Clock>,
    control: Control,
    slots: Vec<Slot>,
    events: Vec<EventSlot>,
    /// Children of removed or replaced slots: reaped and logged, never restarted.
    retiring: Vec<Running>,
    event_children: Vec<Running>,
    shutting_down: bool,
    /// Shutdown requests counted when the shutdown began (our own process-group SIGTERM
    /// included); one more means "kill what is left".
    shutdown_baseline: u32,
    killed: bool,
    /// The `wait=y` daemon being stopped at shutdown.
    stopping: Option<u32>,
}

impl Master {
    /// A supervisor for `opts`, using `clock` for EVENTS.
    pub fn new(opts: MasterOptions, clock: Arc<dyn Clock>) -> std::io::Result<Master> {
        Ok(Master {
            opts,
            clock,
            control: Control::new()?,
            slots: Vec::new(),
            events: Vec::new(),
            retiring: Vec::new(),
            event_children: Vec::new(),
            shutting_down: false,
            shutdown_baseline: 0,
            killed: false,
            stopping: None,
        })
    }

    /// The handle that reloads or stops this supervisor.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Reads cyrus.conf, runs START, binds and starts everything, and supervises until a
    /// shutdown request has stopped every child.
    pub fn run(&mut self) -> Result<(), MasterError> {
        let conf = CyrusConf::load(&self.opts.cyrus_conf)?;
        for w in &conf.warnings {
            tracing::warn!("{w}");
        }
        self.run_start(&conf)?;
        self.configure(&conf, true)?;
        if let Err(e) = self.start_wait_daemons() {
            self.for_each_child(|r| r.signal(libc::SIGTERM));
            while self.child_count() > 0 {
                self.reap();
                std::thread::sleep(Duration::from_millis(20));
            }
            return Err(e);
        }
        self.supervise();
        Ok(())
    }

    /// §8.6 `wait=y`: each such daemon in file order, before any service, in a process group
    /// of its own; master blocks until it writes `ok\r\n` to descriptor 3.
    fn start_wait_daemons(&mut self) -> Result<(), MasterError> {
        for i in 0..self.slots.len() {
            if !self.slots[i].wait {
                continue;
            }
            let s = &mut self.slots[i];
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` is a valid two-int array for pipe2 to fill.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            use std::os::fd::FromRawFd;
            // SAFETY: pipe2 succeeded; we own both new descriptors.
            let (r, w) = unsafe {
                (
                    std::fs::File::from_raw_fd(fds[0]),
                    std::os::fd::OwnedFd::from_raw_fd(fds[1]),
                )
            };
            let spec = SpawnSpec {
                kind: s.kind,
                name: &s.name,
                argv: &s.argv,
                program: &s.program,
                listen_fd: None,
                id: 0,
                maxchild: None,
                maxfds: s.maxfds,
                own_group: true,
                status_fd: Some(w.as_raw_fd()),
            };
            let child = command(&spec)
                .spawn()
                .map_err(|e| MasterError::Startup(format!("{}: {e}", s.name)))?;
            drop(w);
            let now = Instant::now();
            tracing::info!(
                "process type:DAEMON name:{} path:{} pid:{} started, waiting for it",
                s.label(),
                s.program.display(),
                child.id()
            );
            s.child = Some(Running {
                child,
                kind: s.kind,
                name: s.name.clone(),
                label: s.label(),
                path: s.program.clone(),
                started: now,
            });
            s.next_start = None;
            s.last_start = Some(now);
            let mut got = Vec::new();
            let mut buf = [0u8; 4];
            while got.len() < 4 {
                match std::io::Read::read(&mut &r, &mut buf[..4 - got.len()]) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            if got != b"ok\r\n" {
                return Err(MasterError::WaitDaemon(s.name.clone()));
            }
        }
        Ok(())
    }

    /// §8.4 step 4: every START command in file order, each to completion.
    fn run_start(&mut self, conf: &CyrusConf) -> Result<(), MasterError> {
        for e in &conf.start {
            if self.control.shutdown_requests() > 0 {
                return Err(MasterError::Startup("shutdown requested".into()));
            }
            let argv0 = e.cmd.first().map(String::as_str).unwrap_or("");
            let program =
                self.opts.programs.resolve(argv0).ok_or_else(|| {
                    MasterError::Startup(format!("{}: cannot find {argv0}", e.name))
                })?;
            let spec = SpawnSpec {
                kind: ChildKind::Start,
                name: &e.name,
                argv: &e.cmd,
                program: &program,
                listen_fd: None,
                id: 0,
                maxchild: None,
                maxfds: 0,
                own_group: false,
                status_fd: None,
            };
            tracing::info!(
                "about to run startup command {}: {}",
                e.name,
                e.cmd.join(" ")
            );
            let status = command(&spec).status().map_err(|err| {
                MasterError::Startup(format!("{}: {}: {err}", e.name, program.display()))
            })?;
            match status.code() {
                Some(0 | EX_TEMPFAIL) => {}
                Some(code) => {
                    return Err(MasterError::Startup(format!(
                        "{} exited, status {code}",
                        e.name
                    )));
                }
                None => {
                    return Err(MasterError::Startup(format!(
                        "{} signaled to death by signal {}",
                        e.name,
                        status.signal().unwrap_or(0)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Builds the slots and events of `conf`. At start-up (`initial`) missing programs and,
    /// with `master_bind_errors_fatal`, bind failures are fatal; on reload the caller keeps
    /// the old configuration when this fails, and nothing has been changed yet.
    fn configure(&mut self, conf: &CyrusConf, initial: bool) -> Result<(), MasterError> {
        // Everything that can fail without side effects first.
        let mut programs = Vec::new();
        for (name, cmd) in conf
            .services
            .iter()
            .map(|s| (&s.name, &s.cmd))
            .chain(conf.daemons.iter().map(|d| (&d.name, &d.cmd)))
        {
            let argv0 = cmd.first().map(String::as_str).unwrap_or("");
            let p = self
                .opts
                .programs
                .resolve(argv0)
                .ok_or_else(|| MasterError::NoExecutable(name.clone()))?;
            programs.push(p);
        }
        let mut programs = programs.into_iter();

        let mut old = std::mem::take(&mut self.slots);
        let mut new = Vec::new();
        // Sockets kept across a reload: same name, listen and proto.
        let mut kept: Vec<(String, BoundSocket)> = Vec::new();
        for s in &mut old {
            let same = conf.services.iter().any(|e| {
                s.kind == ChildKind::Service
                    && e.name == s.name
                    && s.listen.as_ref() == Some(&(e.listen.clone(), e.proto.clone()))
            });
            if same && let Some(sock) = s.socket.take() {
                kept.push((s.name.clone(), sock));
            }
        }
        // Old children: daemons whose command is unchanged keep running (they get SIGHUP,
        // as in Cyrus); everything else is asked to stop and replaced.
        let mut daemon_children: Vec<(String, Vec<String>, Running, Option<Instant>)> = Vec::new();
        for mut s in old {
            let Some(child) = s.child.take() else {
                continue;
            };
            let unchanged_daemon = s.kind == ChildKind::Daemon
                && conf
                    .daemons
                    .iter()
                    .any(|d| d.name == s.name && d.cmd == s.argv);
            if unchanged_daemon {
                child.signal(libc::SIGHUP);
                daemon_children.push((s.name, s.argv, child, s.last_start));
            } else {
                child.signal(libc::SIGTERM);
                self.retiring.push(child);
            }
            // `s` (and any socket not kept) is dropped here: the listening socket closes.
        }

        for e in &conf.services {
            let program = programs.next().unwrap_or_default();
            let mut sockets: Vec<BoundSocket> = Vec::new();
            let mut i = 0;
            while i < kept.len() {
                if kept[i].0 == e.name {
                    sockets.push(kept.remove(i).1);
                } else {
                    i += 1;
                }
            }
            if sockets.is_empty() {
                if !initial {
                    self.wait_retiring(&e.name, Duration::from_secs(2));
                }
                let (bound, errors) = bind_service(e, &self.opts.services_file, self.opts.backlog);
                for msg in &errors {
                    tracing::error!("{msg}");
                }
                if initial && self.opts.bind_errors_fatal && !errors.is_empty() {
                    return Err(MasterError::BindFatal(errors.join("; ")));
                }
                sockets = bound;
            }
            for (id, sock) in sockets.into_iter().enumerate() {
                new.push(service_slot(e, &program, sock, id));
            }
        }
        for d in &conf.daemons {
            let program = programs.next().unwrap_or_default();
            let mut slot = daemon_slot(d, &program);
            if let Some(pos) = daemon_children.iter().position(|c| c.0 == d.name) {
                let (_, _, child, last) = daemon_children.remove(pos);
                slot.child = Some(child);
                slot.last_start = last;
                slot.next_start = None;
            }
            new.push(slot);
        }
        self.slots = new;

        let now = self.clock.now();
        self.events = conf
            .events
            .iter()
            .map(|e| EventSlot {
                next: Some(match e.at {
                    Some((h, m)) => next_at(now, h, m),
                    None => now,
                }),
                entry: e.clone(),
            })
            .collect();
        for s in &self.slots {
            match &s.socket {
                Some(sock) => tracing::info!(
                    "service {} listening on {} ({}){}",
                    s.name,
                    sock.addr,
                    sock.family,
                    if s.enabled {
                        ""
                    } else {
                        ", maxchild=0: not started"
                    }
                ),
                None => tracing::debug!("daemon {}", s.name),
            }
        }
        Ok(())
    }

    /// Waits up to `limit` for retiring children named `name` to exit (so that a changed
    /// `listen` can bind the address they held).
    fn wait_retiring(&mut self, name: &str, limit: Duration) {
        let t = Instant::now();
        while self.retiring.iter().any(|r| r.name == name) && t.elapsed() < limit {
            self.reap();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// §8.9 SIGHUP.
    fn reload(&mut self) {
        tracing::info!("got SIGHUP");
        let path = self.opts.cyrus_conf.clone();
        let conf = match std::fs::read_to_string(&path) {
            Ok(text) => CyrusConf::parse_reload(&text, &path),
            Err(source) => Err(CyrusConfError::Open { path, source }),
        };
        let result = conf
            .map_err(MasterError::from)
            .and_then(|c| self.configure(&c, false));
        match result {
            Ok(()) => tracing::info!(
                "Services reconfigured. {} services, {} events",
                self.slots.len(),
                self.events.len()
            ),
            Err(e) => tracing::error!("reload failed, keeping the running configuration: {e}"),
        }
    }

    fn supervise(&mut self) {
        loop {
            let requests = self.control.shutdown_requests();
            if requests > 0 && !self.shutting_down {
                self.begin_shutdown();
            } else if self.shutting_down && requests > self.shutdown_baseline && !self.killed {
                tracing::warn!("shutdown requested again: killing the remaining children");
                self.killed = true;
                self.for_each_child(|r| r.signal(libc::SIGKILL));
            }
            if !self.shutting_down && self.control.take_reload() {
                self.reload();
            }
            self.reap();
            if self.shutting_down {
                if self.child_count() == 0 {
                    tracing::info!("All children have exited, closing down");
                    return;
                }
                self.stop_wait_daemons();
            } else {
                self.start_due();
                self.run_due_events();
            }
            let timeout = self.next_timeout();
            self.control.wait(timeout);
        }
    }

    fn begin_shutdown(&mut self) {
        tracing::info!("attempting clean shutdown on signal");
        self.shutting_down = true;
        // wait=y daemons are stopped last (see `stop_wait_daemons`).
        self.slots
            .iter()
            .filter(|s| !s.wait)
            .filter_map(|s| s.child.as_ref())
            .chain(&self.retiring)
            .chain(&self.event_children)
            .for_each(|r| r.signal(libc::SIGTERM));
        for s in &mut self.slots {
            s.socket = None;
            s.next_start = None;
        }
        self.events.clear();
        // SAFETY: getpgrp/getpid cannot fail; kill(0, SIGTERM) signals our own process
        // group, which we lead (checked), so nothing outside what we started is reached.
        if self.opts.signal_process_group && unsafe { libc::getpgrp() == libc::getpid() } {
            unsafe { libc::kill(0, libc::SIGTERM) };
        }
        self.shutdown_baseline = self.control.shutdown_requests();
    }

    /// Once every other child has exited: SIGTERM the `wait=y` daemons one at a time, in
    /// reverse start order.
    fn stop_wait_daemons(&mut self) {
        let others = self.slots.iter().any(|s| !s.wait && s.child.is_some())
            || !self.retiring.is_empty()
            || !self.event_children.is_empty();
        if others {
            return;
        }
        if let Some(s) = self.slots.iter_mut().rev().find(|s| s.child.is_some())
            && let Some(r) = &s.child
            && self.stopping != Some(r.pid())
        {
            tracing::info!("waiting for child {} of {} to exit...", r.pid(), s.label());
            r.signal(libc::SIGTERM);
            self.stopping = Some(r.pid());
        }
    }

    fn for_each_child(&self, f: impl Fn(&Running)) {
        self.slots
            .iter()
            .filter_map(|s| s.child.as_ref())
            .chain(&self.retiring)
            .chain(&self.event_children)
            .for_each(f);
    }

    fn child_count(&self) -> usize {
        self.slots.iter().filter(|s| s.child.is_some()).count()
            + self.retiring.len()
            + self.event_children.len()
    }

    fn reap(&mut self) {
        let now = Instant::now();
        let shutting_down = self.shutting_down;
        for s in &mut self.slots {
            let Some(r) = s.child.as_mut() else {
                continue;
            };
            match r.child.try_wait() {
                Ok(Some(status)) => r.log_exit(status),
                Ok(None) => continue,
                // Someone else reaped it (ECHILD): it is gone all the same.
                Err(e) => tracing::error!("waitpid for {}: {e}", r.pid()),
            }
            let age = r.started.elapsed();
            s.child = None;
            if shutting_down {
                continue;
            }
            if age < QUICK_EXIT {
                s.failures = s.failures.saturating_add(1);
            } else {
                s.failures = 0;
            }
            let backoff = if s.failures == 0 {
                Duration::ZERO
            } else {
                let shift = (s.failures - 1).min(16);
                BACKOFF_START.saturating_mul(1 << shift).min(BACKOFF_MAX)
            };
            if s.failures >= TOO_MANY_FAILURES {
                tracing::error!(
                    "too many failures for service {}, restarting in {:.1}s",
                    s.label(),
                    backoff.as_secs_f64()
                );
            }
            let gap = s
                .last_start
                .map_or(Duration::ZERO, |l| s.min_gap.saturating_sub(now - l));
            s.next_start = Some(now + backoff.max(gap));
        }
        for list in [&mut self.retiring, &mut self.event_children] {
            list.retain_mut(|r| match r.child.try_wait() {
                Ok(Some(st)) => {
                    r.log_exit(st);
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    tracing::error!("waitpid for {}: {e}", r.pid());
                    false
                }
            });
        }
    }

    fn start_due(&mut self) {
        let now = Instant::now();
        for s in &mut self.slots {
            if s.child.is_some() || !s.enabled || s.next_start.is_none_or(|t| t > now) {
                continue;
            }
            s.next_start = None;
            s.last_start = Some(now);
            let spec = SpawnSpec {
                kind: s.kind,
                name: &s.name,
                argv: &s.argv,
                program: &s.program,
                listen_fd: s.socket.as_ref().map(|b| b.fd.as_raw_fd()),
                id: s.id,
                maxchild: s.maxchild,
                maxfds: s.maxfds,
                own_group: s.wait,
                status_fd: None,
            };
            match command(&spec).spawn() {
                Ok(child) => {
                    tracing::info!(
                        "process type:{} name:{} path:{} pid:{} started",
                        s.kind.label(),
                        s.label(),
                        s.program.display(),
                        child.id()
                    );
                    s.child = Some(Running {
                        child,
                        kind: s.kind,
                        name: s.name.clone(),
                        label: s.label(),
                        path: s.program.clone(),
                        started: now,
                    });
                }
                Err(e) => {
                    s.failures = s.failures.saturating_add(1);
                    let shift = (s.failures - 1).min(16);
                    let delay = BACKOFF_START.saturating_mul(1 << shift).min(BACKOFF_MAX);
                    tracing::error!(
                        "can't exec {} for {}: {e}; retrying in {:.1}s",
                        s.program.display(),
                        s.label(),
                        delay.as_secs_f64()
                    );
                    s.next_start = Some(now + delay);
                }
            }
        }
    }

    /// §8.7: launch every event whose time has come, then compute its next time.
    fn run_due_events(&mut self) {
        let now = self.clock.now();
        for ev in &mut self.events {
            let Some(when) = ev.next.filter(|t| *t <= now) else {
                continue;
            };
            let e = &ev.entry;
            ev.next = if let Some((h, m)) = e.at {
                Some(next_at(now.max(when) + Duration::from_secs(1), h, m))
            } else if e.period > 0 {
                let mins = u64::try_from(e.period).unwrap_or(0);
                Some(now + Duration::from_secs(mins * 60))
            } else {
                None
            };
            let argv0 = e.cmd.first().map(String::as_str).unwrap_or("");
            let Some(program) = self.opts.programs.resolve(argv0) else {
                tracing::error!("can't exec {argv0} on schedule: no such executable");
                continue;
            };
            let spec = SpawnSpec {
                kind: ChildKind::Event,
                name: &e.name,
                argv: &e.cmd,
                program: &program,
                listen_fd: None,
                id: 0,
                maxchild: None,
                maxfds: 0,
                own_group: false,
                status_fd: None,
            };
            match command(&spec).spawn() {
                Ok(child) => {
                    tracing::info!(
                        "process type:EVENT name:{} path:{} pid:{} started",
                        e.name,
                        program.display(),
                        child.id()
                    );
                    self.event_children.push(Running {
                        child,
                        kind: ChildKind::Event,
                        name: e.name.clone(),
                        label: e.name.clone(),
                        path: program,
                        started: Instant::now(),
                    });
                }
                Err(err) => {
                    tracing::error!("can't exec {} on schedule: {err}", program.display());
                }
            }
        }
    }

    fn next_timeout(&self) -> Duration {
        let mut t = self.opts.poll_interval;
        let now = Instant::now();
        for s in &self.slots {
            if let Some(at) = s.next_start
                && s.child.is_none()
                && s.enabled
            {
                t = t.min(at.saturating_duration_since(now));
            }
        }
        let wall = self.clock.now();
        for ev in &self.events {
            if let Some(at) = ev.next {
                t = t.min(at.duration_since(wall).unwrap_or(Duration::ZERO));
            }
        }
        t
    }
}

impl Drop for Master {
    /// [`Master::run`] returns only when every child has exited; this covers a panic or an
    /// early return in library use, so that no child outlives its supervisor.
    fn drop(&mut self) {
        self.for_each_child(|r| r.signal(libc::SIGKILL));
        for s in &mut self.slots {
            if let Some(r) = s.child.as_mut() {
                let _ = r.child.wait();
            }
        }
        for r in self.retiring.iter_mut().chain(&mut self.event_children) {
            let _ = r.child.wait();
        }
    }
}

fn min_gap(rate: i64) -> Duration {
    match u32::try_from(rate) {
        Ok(r) if r > 0 => Duration::from_secs(1) / r,
        _ => Duration::ZERO,
    }
}

fn service_slot(e: &ServiceEntry, program: &Path, socket: BoundSocket, id: usize) -> Slot {
    let maxchild = e.max_workers();
    Slot {
        kind: ChildKind::Service,
        name: e.name.clone(),
        argv: e.cmd.clone(),
        program: program.to_owned(),
        listen: Some((e.listen.clone(), e.proto.clone())),
        socket: Some(socket),
        id,
        maxchild,
        maxfds: e.maxfds,
        min_gap: min_gap(e.effective_maxforkrate()),
        enabled: maxchild != Some(0),
        wait: false,
        child: None,
        next_start: Some(Instant::now()),
        last_start: None,
        failures: 0,
    }
}

fn daemon_slot(d: &DaemonEntry, program: &Path) -> Slot {
    Slot {
        kind: ChildKind::Daemon,
        name: d.name.clone(),
        argv: d.cmd.clone(),
        program: program.to_owned(),
        listen: None,
        socket: None,
        id: 0,
        maxchild: None,
        maxfds: d.maxfds,
        min_gap: min_gap(d.maxforkrate),
        enabled: true,
        wait: d.wait,
        child: None,
        next_start: Some(Instant::now()),
        last_start: None,
        failures: 0,
    }
}
