//! The `master` command line (spec §8.8): options, stdio, daemon mode, the pid file, signal
//! handlers, then the supervisor.
//!
//! Owns: process-level set-up that must happen once, in order, while master is still
//! single-threaded (the `-d` fork happens before anything could start a thread). Must not:
//! supervise anything itself.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use config::{ImapdConf, Opt};

use crate::clock::SystemClock;
use crate::control::install_signal_handlers;
use crate::supervisor::{Master, MasterOptions};

/// Where Cyrus reads cyrus.conf when `-M` is not given.
pub const DEFAULT_CYRUS_CONF: &str = "/etc/cyrus.conf";
/// Cyrus 3.6's compile-time default pid file (`-p`).
pub const DEFAULT_PIDFILE: &str = "/var/run/cyrus-master.pid";
/// Default listen backlog (`-l`).
pub const DEFAULT_BACKLOG: i32 = 32;

const EX_OK: i32 = 0;
const EX_OSERR: i32 = 71;
const EX_CONFIG: i32 = 78;

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterArgs {
    /// `-C`: imapd.conf for master itself (not passed to children).
    pub imapd_conf: PathBuf,
    /// `-M`: cyrus.conf.
    pub cyrus_conf: PathBuf,
    /// `-l`: listen backlog.
    pub backlog: i32,
    /// `-p`: pid file.
    pub pidfile: PathBuf,
    /// `-d`: daemon mode.
    pub daemon: bool,
    /// `-D`: keep stdio open (debug).
    pub debug: bool,
    /// `-L`: append stdout/stderr to this file.
    pub logfile: Option<PathBuf>,
    /// `-j`: janitor rate (accepted; our reaping is driven by SIGCHLD).
    pub janitor: u32,
    /// `-v` count (plus `CYRUS_VERBOSE`).
    pub verbose: u32,
    /// `-V`: print the version and exit.
    pub version: bool,
    /// Problems the option parser reported (printed on stderr, otherwise ignored).
    pub warnings: Vec<String>,
}

impl MasterArgs {
    /// Parses `args` (without the program name) like getopt `C:M:p:l:dDL:j:vV`: flags may
    /// be grouped (`-Dv`), values attached (`-M/x`) or separate (`-M /x`).
    pub fn parse<I, S>(args: I) -> Result<MasterArgs, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut a = MasterArgs {
            imapd_conf: PathBuf::from(net::DEFAULT_CONFIG),
            cyrus_conf: PathBuf::from(DEFAULT_CYRUS_CONF),
            backlog: DEFAULT_BACKLOG,
            pidfile: PathBuf::from(DEFAULT_PIDFILE),
            daemon: false,
            debug: false,
            logfile: None,
            janitor: 1,
            verbose: 0,
            version: false,
            warnings: Vec::new(),
        };
        let args: Vec<String> = args
            .into_iter()
            .map(|s| s.into().to_string_lossy().into_owned())
            .collect();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                break;
            }
            let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
                a.warnings.push(format!("ignoring argument '{arg}'"));
                continue;
            };
            for (pos, c) in flags.char_indices() {
                if "CMpljL".contains(c) {
                    let rest = &flags[pos + c.len_utf8()..];
                    let value = if !rest.is_empty() {
                        rest.to_owned()
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].clone()
                    } else {
                        return Err(format!("option requires an argument -- '{c}'"));
                    };
                    match c {
                        'C' => a.imapd_conf = PathBuf::from(value),
                        'M' => a.cyrus_conf = PathBuf::from(value),
                        'p' => a.pidfile = PathBuf::from(value),
                        'L' => a.logfile = Some(PathBuf::from(value)),
                        'l' => {
                            a.backlog = value
                                .parse()
                                .map_err(|_| format!("invalid listen backlog '{value}'"))?;
                        }
                        _ => {
                            a.janitor = value
                                .parse::<u32>()
                                .ok()
                                .filter(|j| *j >= 1)
                                .ok_or_else(|| format!("invalid janitor rate '{value}'"))?;
                        }
                    }
                    break;
                }
                match c {
                    'd' => a.daemon = true,
                    'D' => a.debug = true,
                    'v' => a.verbose += 1,
                    'V' => a.version = true,
                    other => a.warnings.push(format!("invalid option -- '{other}'")),
                }
            }
        }
        Ok(a)
    }
}

/// Runs `master` with `args` (without the program name); returns the exit status.
pub fn main_with_args<I, S>(args: I) -> i32
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut a = match MasterArgs::parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("master: {e}");
            return EX_CONFIG;
        }
    };
    for w in &a.warnings {
        eprintln!("master: {w}");
    }
    if a.version {
        println!("cyrus-rs master {}", env!("CARGO_PKG_VERSION"));
        return EX_OK;
    }
    if a.debug && a.daemon {
        eprintln!("master: Unable to be both debug and daemon mode");
        return EX_CONFIG;
    }
    if let Ok(v) = std::env::var("CYRUS_VERBOSE") {
        a.verbose += v.parse::<u32>().unwrap_or(1);
    }
    let conf = match ImapdConf::load(&a.imapd_conf, Some("master")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("master: fatal error: {e}");
            return EX_CONFIG;
        }
    };
    if let Err(e) = redirect_stdio(a.debug, a.logfile.as_deref()) {
        eprintln!("master: fatal error: {e}");
        return EX_OSERR;
    }
    init_tracing(a.verbose);

    // Daemon mode: fork now, while single-threaded. The parent waits for the child's
    // start-up status (after the pid file is locked) and exits with it.
    let mut report: Option<File> = None;
    if a.daemon {
        match daemonize(conf.config_directory()) {
            Ok(pipe) => report = Some(pipe),
            Err(e) => {
                tracing::error!("fatal error: cannot daemonize: {e}");
                return EX_OSERR;
            }
        }
    } else if !a.debug {
        // Lead our own process group so that the shutdown SIGTERM to the group reaches
        // what START left running and nothing else. Fails harmlessly if we lead a session.
        let _ = rustix::process::setpgid(None, None);
    }
    let tell = |report: &mut Option<File>, code: u8| {
        if let Some(f) = report.as_mut() {
            let _ = f.write_all(&[code]);
        }
        *report = None;
    };

    let pid_lock = match lock_pidfile(&a.pidfile) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("{e}");
            tell(&mut report, EX_OSERR as u8);
            return EX_OSERR;
        }
    };

    let mut opts = MasterOptions::new(&a.cyrus_conf);
    opts.backlog = a.backlog;
    opts.bind_errors_fatal = conf.switch(Opt::MasterBindErrorsFatal);
    opts.poll_interval = Duration::from_secs(1);
    opts.signal_process_group = true;
    let mut master = match Master::new(opts, Arc::new(SystemClock)) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("fatal error: {e}");
            tell(&mut report, EX_OSERR as u8);
            return EX_OSERR;
        }
    };
    if let Err(e) = install_signal_handlers(&master.control()) {
        tracing::error!("fatal error: signal handlers: {e}");
        tell(&mut report, EX_OSERR as u8);
        return EX_OSERR;
    }
    tracing::info!("process started");
    tell(&mut report, EX_OK as u8);
    let status = match master.run() {
        Ok(()) => EX_OK,
        Err(e) => {
            tracing::error!("fatal error: {e}");
            // What START left running in our process group (a detached `sync_client -r`)
            // must not outlive a master that could not start.
            if !a.debug && rustix::process::getpgrp() == rustix::process::getpid() {
                // SAFETY: signals only our own process group, which we lead (checked); our
                // own handler merely counts the SIGTERM.
                unsafe { libc::kill(0, libc::SIGTERM) };
            }
            EX_CONFIG
        }
    };
    let _ = std::fs::remove_file(&a.pidfile);
    drop(pid_lock);
    status
}

/// Unless `debug`: stdin from /dev/null, stdout and stderr to `logfile` (appended) or
/// /dev/null. With `debug`, `logfile` still receives stdout and stderr when given.
fn redirect_stdio(debug: bool, logfile: Option<&Path>) -> std::io::Result<()> {
    let devnull = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let log = match logfile {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o640)
                .open(p)?,
        ),
        None => None,
    };
    let dup = |from: &File, to: libc::c_int| -> std::io::Result<()> {
        // SAFETY: dup2 onto a standard descriptor; both descriptors are valid and the
        // process is still single-threaded.
        if unsafe { libc::dup2(from.as_raw_fd(), to) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    if !debug {
        dup(&devnull, 0)?;
    }
    match (&log, debug) {
        (Some(l), _) => {
            dup(l, 1)?;
            dup(l, 2)?;
        }
        (None, false) => {
            dup(&devnull, 1)?;
            dup(&devnull, 2)?;
        }
        (None, true) => {}
    }
    Ok(())
}

fn init_tracing(verbose: u32) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// Forks. The parent waits for one status byte from the child and exits with it; the child
/// starts a new session, moves to `configdirectory` (or its `cores` subdirectory) and gets
/// the pipe to report on.
fn daemonize(configdir: &str) -> std::io::Result<File> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid two-int array for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    use std::os::fd::FromRawFd;
    // SAFETY: pipe2 succeeded; we own both new descriptors.
    let (r, w) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: master is single-threaded here (nothing has started a thread yet: the
    // tracing subscriber does not), so the child may continue running Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        drop(w);
        let mut b = [0u8; 1];
        let code = match std::io::Read::read(&mut &r, &mut b) {
            Ok(1) => i32::from(b[0]),
            _ => EX_OSERR,
        };
        std::process::exit(code);
    }
    drop(r);
    let _ = rustix::process::setsid();
    if !configdir.is_empty() {
        let dir = Path::new(configdir);
        let cores = dir.join("cores");
        let _ = std::env::set_current_dir(if cores.is_dir() { &cores } else { dir });
    }
    Ok(w)
}

/// Creates, locks and fills the pid file; the returned file keeps the lock.
fn lock_pidfile(path: &Path) -> Result<File, String> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(|e| format!("can't open pidfile {}: {e}", path.display()))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        "cannot get exclusive lock on pidfile (is another master still running?)".to_owned()
    })?;
    f.set_len(0)
        .and_then(|()| writeln!(f, "{}", std::process::id()))
        .map_err(|e| format!("can't write pidfile {}: {e}", path.display()))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn getopt_style() {
        let a =
            MasterArgs::parse(["-M/x/cyrus.conf", "-C", "/x/imapd.conf", "-Dv", "-l64"]).unwrap();
        assert_eq!(a.cyrus_conf, PathBuf::from("/x/cyrus.conf"));
        assert_eq!(a.imapd_conf, PathBuf::from("/x/imapd.conf"));
        assert!(a.debug && !a.daemon);
        assert_eq!((a.verbose, a.backlog), (1, 64));
        assert_eq!(a.pidfile, PathBuf::from(DEFAULT_PIDFILE));
        let a =
            MasterArgs::parse(["-p", "/run/m.pid", "-d", "-L", "/log", "-P", "-j", "2"]).unwrap();
        assert_eq!(a.pidfile, PathBuf::from("/run/m.pid"));
        assert_eq!(a.logfile, Some(PathBuf::from("/log")));
        assert_eq!(a.janitor, 2);
        assert_eq!(a.warnings, vec!["invalid option -- 'P'".to_owned()]);
        assert!(MasterArgs::parse(["-M"]).is_err());
        assert!(MasterArgs::parse(["-l", "x"]).is_err());
    }

    #[test]
    fn pidfile_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.pid");
        let held = lock_pidfile(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let e = lock_pidfile(&p).unwrap_err();
        assert!(e.contains("is another master still running?"), "{e}");
        drop(held);
        lock_pidfile(&p).unwrap();
    }
}
