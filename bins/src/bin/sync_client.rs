//! `sync_client`: the master side of Cyrus replication (replication-behaviour §2, §3).
//!
//! ```text
//! sync_client [-C config] [-v]... [-l] [-L] [-z] [-O] [-N] [-o] [-S server] [-n channel]
//!             [-f file] [-F shutdown-file] [-w secs] [-t secs] [-d secs] [-p partition] [-1]
//!             ( -r | -R | -u | -m | -s | -A )  [objects...]
//! ```
//!
//! Exit statuses as Cyrus: 0 success, 1 failure, 64 usage, 70 `sync_host not defined`,
//! 75 terminated by a signal, 78 configuration error. `-r` detaches (re-executes itself in the
//! background and the parent exits 0) unless `-f` is given or `CYRUS_ISDAEMON` is set.
//! Differences from 3.6: `-o` works (as in 3.9+), and `-r` re-executes instead of fork(2).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use config::{ImapdConf, Opt};
use replication::client::{
    self, ClientConfig, EngineOptions, Target,
    rolling::{self, RollingConfig},
};
use types::MboxName;
use types::namespace::{Namespace, Viewer};

const USAGE: &str = "usage: sync_client [-C <alt_config>] [-v] [-l] [-L] [-z] [-O] [-N] [-o]\n\
    \x20                  [-S <servername>] [-n <channel>] [-f <file>] [-F <shutdown_file>]\n\
    \x20                  [-w <wait_interval>] [-t <timeout>] [-d <delay>] [-p <partition>] [-1]\n\
    \x20                  (-r | -R | -u | -m | -s | -A) [<objects>...]";

const DETACHED_ENV: &str = "CYRUS_SYNC_CLIENT_DETACHED";

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Rolling { background: bool },
    Users,
    Mailboxes,
    Meta,
    All,
}

#[derive(Debug, Default)]
struct Args {
    config: Option<PathBuf>,
    verbose: u8,
    log: bool,
    local_only: bool,
    compress: bool,
    no_copyback: bool,
    nonblock: bool,
    once_connect: bool,
    server: Option<String>,
    channel: Option<String>,
    file: Option<PathBuf>,
    shutdown_file: Option<PathBuf>,
    wait: u64,
    timeout: Option<i64>,
    delay: Option<i64>,
    partition: Option<String>,
    one: bool,
    mode: Option<Mode>,
    operands: Vec<String>,
}

enum ParseOutcome {
    Ok(Box<Args>),
    Usage(&'static str),
}

fn parse_args(argv: &[String]) -> ParseOutcome {
    let mut a = Args::default();
    let mut i = 0;
    let mut only_operands = false;
    let set_mode = |a: &mut Args, m: Mode| -> bool {
        if a.mode.is_some() {
            return false;
        }
        a.mode = Some(m);
        true
    };
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if only_operands || !arg.starts_with('-') || arg == "-" {
            a.operands.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_operands = true;
            continue;
        }
        let flags: Vec<char> = arg[1..].chars().collect();
        let mut j = 0;
        while j < flags.len() {
            let c = flags[j];
            j += 1;
            if "CSFfwtdnp".contains(c) {
                let val: String = if j < flags.len() {
                    let v: String = flags[j..].iter().collect();
                    j = flags.len();
                    v
                } else if i < argv.len() {
                    i += 1;
                    argv[i - 1].clone()
                } else {
                    return ParseOutcome::Usage("");
                };
                let num = |v: &str| v.trim().parse::<i64>().unwrap_or(0);
                match c {
                    'C' => a.config = Some(PathBuf::from(val)),
                    'S' => a.server = Some(val),
                    'F' => a.shutdown_file = Some(PathBuf::from(val)),
                    'f' => a.file = Some(PathBuf::from(val)),
                    'w' => a.wait = u64::try_from(num(&val)).unwrap_or(0),
                    't' => a.timeout = Some(num(&val)),
                    'd' => a.delay = Some(num(&val)),
                    'n' => a.channel = Some(val),
                    _ => a.partition = Some(val),
                }
                continue;
            }
            let ok = match c {
                'v' => {
                    a.verbose = a.verbose.saturating_add(1);
                    true
                }
                'l' => {
                    a.log = true;
                    true
                }
                'L' => {
                    a.local_only = true;
                    true
                }
                'z' => {
                    a.compress = true;
                    true
                }
                'O' => {
                    a.no_copyback = true;
                    true
                }
                'N' => {
                    a.nonblock = true;
                    true
                }
                'o' => {
                    a.once_connect = true;
                    true
                }
                '1' => {
                    a.one = true;
                    true
                }
                'r' => set_mode(&mut a, Mode::Rolling { background: true }),
                'R' => set_mode(&mut a, Mode::Rolling { background: false }),
                'u' => set_mode(&mut a, Mode::Users),
                'm' => set_mode(&mut a, Mode::Mailboxes),
                's' => set_mode(&mut a, Mode::Meta),
                'A' => set_mode(&mut a, Mode::All),
                _ => return ParseOutcome::Usage(""),
            };
            if !ok {
                return ParseOutcome::Usage("Mutually exclusive options defined");
            }
        }
    }
    ParseOutcome::Ok(Box::new(a))
}

/// `-r`: start ourselves again in the background (as `-R`) and let the parent exit 0.
fn detach(argv: &[String]) -> Option<ExitCode> {
    let exe = std::env::current_exe().ok()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(argv).env(DETACHED_ENV, "1");
    match cmd.spawn() {
        Ok(_child) => Some(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("Fatal error: unable to start in the background: {e}");
            Some(ExitCode::from(71))
        }
    }
}

fn init_logging(a: &Args) {
    // Cyrus logs through syslog; we log to stderr. Errors always; INFO with -l or -v -v.
    let default = if a.log || a.verbose > 1 {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// SIGTERM/SIGINT/SIGQUIT set the stop flag (exit 75 at the next poll point); a second one
/// exits at once. SIGHUP is ignored.
fn install_signals(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int), Ok(mut quit), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::quit()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = quit.recv() => {}
                    _ = hup.recv() => continue,
                }
                if stop.swap(true, Ordering::SeqCst) {
                    std::process::exit(75);
                }
                tracing::info!("graceful shutdown");
            }
        });
    });
}

fn main() -> ExitCode {
    net::tune_allocator();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse_args(&argv) {
        ParseOutcome::Ok(a) => a,
        ParseOutcome::Usage(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            return usage();
        }
    };
    let Some(mode) = a.mode else {
        eprintln!("No replication mode specified");
        return usage();
    };
    if let Mode::Rolling { background: true } = mode
        && a.file.is_none()
        && std::env::var_os("CYRUS_ISDAEMON").is_none()
        && std::env::var_os(DETACHED_ENV).is_none()
        && let Some(code) = detach(&argv)
    {
        return code;
    }
    init_logging(&a);
    let conf_path = a
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/imapd.conf"));
    let conf = match ImapdConf::load(&conf_path, Some("sync_client")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::from(78);
        }
    };
    if a.wait > 0 {
        eprintln!("Waiting for {} seconds for gdb attach...", a.wait);
        std::thread::sleep(Duration::from_secs(a.wait));
    }
    let store_cfg = match cyrus_bins::store_config(&conf) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Fatal error: {e:#}");
            return ExitCode::from(78);
        }
    };
    let store = match mailstore::Store::open(store_cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Fatal error: opening the mailstore: {e}");
            return ExitCode::from(75);
        }
    };
    let chan = conf.channel(a.channel.as_deref());
    let Some(server) = a.server.clone().or_else(|| chan.host.value.clone()) else {
        tracing::error!("Fatal error: sync_host not defined");
        eprintln!("Fatal error: sync_host not defined");
        return ExitCode::from(70);
    };
    let mut target = match Target::parse(&server, chan.port.value.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            return ExitCode::from(70);
        }
    };
    target.authname = chan.authname.value.clone();
    target.password = chan.password.value.clone();
    target.realm = chan.realm.value.clone();
    target.tls_ca_file = conf
        .string(Opt::TlsClientCaFile)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    target.timeout = conf.duration(Opt::SyncTimeout).max(Duration::from_secs(3));
    let stop = Arc::new(AtomicBool::new(false));
    install_signals(stop.clone());
    let maxwait = u64::try_from(conf.duration_secs(Opt::SyncReconnectMaxwait)).unwrap_or(0);
    let config_dir = PathBuf::from(conf.config_directory());
    let cfg = ClientConfig {
        target,
        engine: EngineOptions {
            verbose: a.verbose,
            log_progress: a.log,
            local_only: a.local_only,
            partition: match mode {
                Mode::Users | Mode::Mailboxes => a.partition.clone(),
                _ => None,
            },
            no_copyback: a.no_copyback,
        },
        trace: a.verbose > 1,
        require_compress: a.compress,
        reconnect_maxwait: Duration::from_secs(maxwait),
        connect_once: a.once_connect,
        nonblock_lock: a.nonblock,
        lock_dir: config_dir.join("sync").join("lock"),
        stop,
    };
    let read_list = |a: &Args| -> Result<Vec<String>, ExitCode> {
        match &a.file {
            Some(f) => client::read_list_file(f).map_err(|e| {
                tracing::warn!("Unable to open {}: {e}", f.display());
                eprintln!("Unable to open {}: {e}", f.display());
                ExitCode::from(1)
            }),
            None => Ok(a.operands.clone()),
        }
    };
    let status = match mode {
        Mode::Users => match read_list(&a) {
            Ok(users) => client::run_users(&cfg, &store, &users),
            Err(c) => return c,
        },
        Mode::Meta => client::run_meta(&cfg, &store, &a.operands),
        Mode::Mailboxes => {
            let list = match read_list(&a) {
                Ok(l) => l,
                Err(c) => return c,
            };
            let ns = Namespace {
                alt: conf.switch(Opt::Altnamespace),
                unix_sep: conf.switch(Opt::Unixhierarchysep),
                ..Namespace::default()
            };
            let admin = Viewer {
                userid: None,
                admin: true,
            };
            let mut names: Vec<MboxName> = Vec::new();
            for m in &list {
                match ns.to_internal(m, admin) {
                    Ok(n) => names.push(n),
                    Err(e) => tracing::error!("Invalid mailbox name {m}: {e}"),
                }
            }
            client::run_mailboxes(&cfg, &store, &names)
        }
        Mode::All => client::run_all(&cfg, &store, a.operands.first().map(String::as_str)),
        Mode::Rolling { .. } => {
            let interval = match a.delay {
                Some(d) if d > 0 => Duration::from_secs(u64::try_from(d).unwrap_or(0)),
                _ => chan.repeat_interval(),
            };
            let restart_after = match a.timeout {
                Some(t) if t <= 0 => None,
                Some(t) => Some(Duration::from_secs(u64::try_from(t).unwrap_or(600))),
                None => Some(Duration::from_secs(600)),
            };
            let rc = RollingConfig {
                channel: a.channel.clone(),
                config_dir,
                interval,
                restart_after,
                shutdown_file: a
                    .shutdown_file
                    .clone()
                    .or_else(|| chan.shutdown_file.value.clone().map(PathBuf::from)),
                once: a.one,
                file: a.file.clone(),
            };
            rolling::run(&cfg, &store, &rc)
        }
    };
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}
