//! Building the command line and environment of a child (spec §8.5, §8.6, §8.7), and
//! handing a service its listening socket.
//!
//! Owns: the child contract. Must not: decide when to spawn (the supervisor does).
//!
//! Children are started with `std::process::Command` (fork and exec at once; nothing runs
//! between them but the `pre_exec` hook below, which only makes async-signal-safe system
//! calls). The listening socket stays close-on-exec in master; the hook clears that flag in
//! the child only, so no other child can inherit it, and the descriptor number goes into
//! `CYRUS_LISTEN_FD` (`docs/design/process-model.md`).

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The environment variable carrying a service's `maxchild` (when ≥ 1): the most
/// connections it should serve at once.
pub const MAXCHILD_ENV: &str = "CYRUS_MAXCHILD";

/// Kinds of child, named as in master's log lines (`process type:SERVICE …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// START entry.
    Start,
    /// SERVICES entry.
    Service,
    /// DAEMON entry.
    Daemon,
    /// EVENTS entry.
    Event,
}

impl ChildKind {
    /// Upper-case name used in log lines.
    pub fn label(self) -> &'static str {
        match self {
            ChildKind::Start => "START",
            ChildKind::Service => "SERVICE",
            ChildKind::Daemon => "DAEMON",
            ChildKind::Event => "EVENT",
        }
    }
}

/// What to start.
#[derive(Debug)]
pub(crate) struct SpawnSpec<'a> {
    /// Kind of entry.
    pub(crate) kind: ChildKind,
    /// Entry name (`CYRUS_SERVICE` for services and daemons).
    pub(crate) name: &'a str,
    /// `cmd` split into words; `argv[0]` is passed as written.
    pub(crate) argv: &'a [String],
    /// The resolved executable.
    pub(crate) program: &'a Path,
    /// Listening socket for a service.
    pub(crate) listen_fd: Option<RawFd>,
    /// `CYRUS_ID` (socket index of the service, 0 for daemons).
    pub(crate) id: usize,
    /// `maxchild` when it limits (≥ 1).
    pub(crate) maxchild: Option<i64>,
    /// `maxfds` when non-zero.
    pub(crate) maxfds: i64,
    /// `wait=y` daemon: run in a process group of its own.
    pub(crate) own_group: bool,
    /// `wait=y` daemon at start-up: the write end of the readiness pipe, given to the child
    /// as descriptor 3.
    pub(crate) status_fd: Option<RawFd>,
}

/// The command for `spec`, ready to spawn.
pub(crate) fn command(spec: &SpawnSpec<'_>) -> Command {
    let mut cmd = Command::new(spec.program);
    if let Some(a0) = spec.argv.first() {
        cmd.arg0(a0);
    }
    cmd.args(spec.argv.iter().skip(1));
    for var in [
        "CYRUS_SERVICE",
        "CYRUS_ID",
        "CYRUS_ISDAEMON",
        net::LISTEN_FD_ENV,
        MAXCHILD_ENV,
    ] {
        cmd.env_remove(var);
    }
    match spec.kind {
        ChildKind::Service => {
            cmd.env("CYRUS_SERVICE", spec.name);
            cmd.env("CYRUS_ID", spec.id.to_string());
            if let Some(fd) = spec.listen_fd {
                cmd.env(net::LISTEN_FD_ENV, fd.to_string());
            }
            if let Some(n) = spec.maxchild.filter(|n| *n >= 1) {
                cmd.env(MAXCHILD_ENV, n.to_string());
            }
        }
        ChildKind::Daemon => {
            cmd.env("CYRUS_SERVICE", spec.name);
            cmd.env("CYRUS_ID", "0");
            cmd.env("CYRUS_ISDAEMON", "1");
        }
        ChildKind::Start | ChildKind::Event => {}
    }
    let fd = spec.listen_fd;
    let (own_group, status_fd) = (spec.own_group, spec.status_fd);
    let maxfds = u64::try_from(spec.maxfds).unwrap_or(0);
    if fd.is_some() || maxfds > 0 || own_group || status_fd.is_some() {
        // SAFETY: the hook runs in the forked child before exec and only makes the
        // async-signal-safe calls fcntl, dup2, setpgid, getrlimit and setrlimit on the
        // child's own state; it allocates nothing and touches no lock.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(fd) = fd
                    && libc::fcntl(fd, libc::F_SETFD, 0) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if own_group && libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(w) = status_fd {
                    // dup2 onto 3 clears close-on-exec; if the pipe already is 3, clear it.
                    let r = if w == 3 {
                        libc::fcntl(3, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(w, 3)
                    };
                    if r < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if maxfds > 0 {
                    let mut rl = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 {
                        rl.rlim_cur = maxfds.min(rl.rlim_max);
                        libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
                    }
                }
                Ok(())
            });
        }
    }
    cmd
}
