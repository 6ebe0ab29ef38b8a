#![allow(clippy::unwrap_used)]
#![allow(unsafe_code)]
//! master end to end: services reached through master's sockets, restarts, DAEMON, EVENTS
//! with a manual clock, reload, shutdown, the replication guide's entries, and the real
//! binary driven by signals. Every process started here is stopped by pid.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use master::{Control, ManualClock, Master, MasterOptions, ProgramPath, local_time_on};

const SVC: &str = env!("CARGO_BIN_EXE_master-test-service");

fn svc_dir() -> PathBuf {
    Path::new(SVC).parent().unwrap().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Reads the greeting of a test service and checks that it echoes.
fn talk<S: std::io::Read + Write>(s: S) -> Option<String> {
    let mut r = BufReader::new(s);
    let mut greeting = String::new();
    r.read_line(&mut greeting).ok()?;
    if greeting.is_empty() {
        return None;
    }
    r.get_mut().write_all(b"hello\r\n").ok()?;
    let mut echo = String::new();
    r.read_line(&mut echo).ok()?;
    assert_eq!(echo, "hello\r\n");
    Some(greeting.trim_end().to_owned())
}

fn greet_tcp(port: u16) -> Option<String> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    talk(s)
}

fn greet_unix(path: &Path) -> Option<String> {
    let s = UnixStream::connect(path).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    talk(s)
}

fn field(greeting: &str, key: &str) -> String {
    greeting
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_default()
        .to_owned()
}

fn pid_of(greeting: &str) -> i32 {
    field(greeting, "pid").parse().unwrap()
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(pid, sig) };
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count(file: &Path, word: &str) -> usize {
    lines(file)
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(word))
        .count()
}

struct Running {
    control: Control,
    thread: Option<JoinHandle<Result<(), master::MasterError>>>,
}

impl Running {
    fn stop(mut self) {
        self.control.shutdown();
        let t = self.thread.take().unwrap();
        let r = t.join().unwrap();
        assert!(r.is_ok(), "{r:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.control.shutdown();
            let _ = t.join();
        }
    }
}

fn start(
    conf: &Path,
    services_file: &Path,
    programs: ProgramPath,
    clock: Arc<dyn master::Clock>,
) -> Running {
    let mut opts = MasterOptions::new(conf);
    opts.services_file = services_file.to_owned();
    opts.programs = programs;
    opts.poll_interval = Duration::from_millis(20);
    let mut m = Master::new(opts, clock).unwrap();
    let control = m.control();
    let thread = std::thread::spawn(move || m.run());
    Running {
        control,
        thread: Some(thread),
    }
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
}

#[test]
fn services_through_master_sockets_restart_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p1, log) = (free_port(), d.join("log"));
    let sock = d.join("lmtp.sock");
    let conf = d.join("cyrus.conf");
    write(
        &conf,
        &format!(
            "SERVICES {{\n  imap cmd=\"master-test-service -U 30\" listen=\"127.0.0.1:{p1}\" \
             prefork=0 maxchild=7\n  lmtpunix cmd=\"master-test-service\" listen=\"{}\"\n}}\n\
             DAEMON {{\n  idled cmd=\"master-test-service --daemon {}\"\n}}\n",
            sock.display(),
            log.display()
        ),
    );
    let m = start(
        &conf,
        &d.join("services"),
        ProgramPath::only(svc_dir()),
        Arc::new(master::SystemClock),
    );
    let g = wait_until("imap", Duration::from_secs(10), || greet_tcp(p1));
    assert_eq!(field(&g, "service"), "imap");
    assert_eq!(field(&g, "id"), "0");
    assert_eq!(field(&g, "maxchild"), "7");
    // One process serves many connections.
    assert_eq!(pid_of(&greet_tcp(p1).unwrap()), pid_of(&g));
    let u = wait_until("lmtpunix", Duration::from_secs(10), || greet_unix(&sock));
    assert_eq!(field(&u, "service"), "lmtpunix");
    assert_eq!(field(&u, "maxchild"), "-");

    // Killed service: restarted, same socket, new process.
    let old = pid_of(&g);
    kill(old, libc::SIGKILL);
    let g2 = wait_until("restarted imap", Duration::from_secs(10), || {
        greet_tcp(p1).filter(|g| pid_of(g) != old)
    });
    assert!(!alive(old));

    // Daemon: CYRUS_ISDAEMON set, restarted when killed.
    let first = wait_until("daemon", Duration::from_secs(10), || {
        lines(&log).first().cloned()
    });
    assert!(first.ends_with("daemon isdaemon=1"), "{first}");
    let dpid: i32 = first.split_whitespace().next().unwrap().parse().unwrap();
    kill(dpid, libc::SIGKILL);
    let second = wait_until("daemon restart", Duration::from_secs(10), || {
        lines(&log).get(1).cloned()
    });
    let dpid2: i32 = second.split_whitespace().next().unwrap().parse().unwrap();
    assert_ne!(dpid, dpid2);

    let pids = [pid_of(&g2), pid_of(&u), dpid2];
    m.stop();
    for pid in pids {
        assert!(!alive(pid), "child {pid} left behind");
    }
    assert!(TcpStream::connect(("127.0.0.1", p1)).is_err());
}

#[test]
fn events_fire_on_period_and_at_with_a_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("events");
    let conf = d.join("cyrus.conf");
    let touch = format!("master-test-service --touch {}", log.display());
    write(
        &conf,
        &format!(
            "EVENTS {{\n  tick cmd=\"{touch} tick\" period=1\n  daily cmd=\"{touch} daily\" \
             at=0400\n  once cmd=\"{touch} once\"\n}}\n"
        ),
    );
    let start_time = local_time_on(SystemTime::now(), 3, 59, 30).unwrap();
    let clock = ManualClock::new(start_time);
    let m = start(
        &conf,
        &d.join("services"),
        ProgramPath::only(svc_dir()),
        Arc::new(clock.clone()),
    );
    let settle = || std::thread::sleep(Duration::from_millis(300));
    // period= and no schedule: at once; at=: not before 04:00.
    wait_until("first tick", Duration::from_secs(10), || {
        (count(&log, "tick") == 1 && count(&log, "once") == 1).then_some(())
    });
    settle();
    assert_eq!(count(&log, "daily"), 0);
    clock.advance(Duration::from_secs(20)); // 03:59:50
    settle();
    assert_eq!((count(&log, "tick"), count(&log, "daily")), (1, 0));
    clock.advance(Duration::from_secs(15)); // 04:00:05
    wait_until("daily", Duration::from_secs(10), || {
        (count(&log, "daily") == 1).then_some(())
    });
    assert_eq!(count(&log, "tick"), 1);
    clock.advance(Duration::from_secs(60)); // 04:01:05: a minute after the first tick
    wait_until("second tick", Duration::from_secs(10), || {
        (count(&log, "tick") == 2).then_some(())
    });
    settle();
    assert_eq!((count(&log, "daily"), count(&log, "once")), (1, 1));
    clock.advance(Duration::from_secs(24 * 3600));
    wait_until("next day", Duration::from_secs(10), || {
        (count(&log, "daily") == 2 && count(&log, "tick") == 3).then_some(())
    });
    settle();
    // No catching up on missed periods; `once` never again.
    assert_eq!((count(&log, "tick"), count(&log, "once")), (3, 1));
    m.stop();
}

#[test]
fn reload_applies_new_changed_and_removed_entries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p1, p2, p3, p4, p5) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let log = d.join("log");
    let conf = d.join("cyrus.conf");
    let touch = format!("master-test-service --touch {}", log.display());
    let daemon = format!("master-test-service --daemon {}", log.display());
    write(
        &conf,
        &format!(
            "SERVICES {{\n  keep cmd=\"master-test-service\" listen=\"127.0.0.1:{p1}\"\n  \
             moved cmd=\"master-test-service\" listen=\"127.0.0.1:{p2}\"\n  \
             gone cmd=\"master-test-service\" listen=\"127.0.0.1:{p3}\"\n}}\n\
             DAEMON {{\n  idled cmd=\"{daemon}\"\n}}\nEVENTS {{\n  tick cmd=\"{touch} tick\" period=60\n}}\n"
        ),
    );
    let m = start(
        &conf,
        &d.join("services"),
        ProgramPath::only(svc_dir()),
        Arc::new(master::SystemClock),
    );
    let keep = wait_until("keep", Duration::from_secs(10), || greet_tcp(p1));
    let moved = wait_until("moved", Duration::from_secs(10), || greet_tcp(p2));
    let gone = wait_until("gone", Duration::from_secs(10), || greet_tcp(p3));
    wait_until("tick and daemon", Duration::from_secs(10), || {
        (count(&log, "tick") == 1 && count(&log, "daemon") == 1).then_some(())
    });

    write(
        &conf,
        &format!(
            "SERVICES {{\n  keep cmd=\"master-test-service\" listen=\"127.0.0.1:{p1}\"\n  \
             moved cmd=\"master-test-service\" listen=\"127.0.0.1:{p4}\"\n  \
             added cmd=\"master-test-service\" listen=\"127.0.0.1:{p5}\"\n}}\n\
             DAEMON {{\n  idled cmd=\"{daemon}\"\n}}\nEVENTS {{\n  tick cmd=\"{touch} tick\" period=60\n}}\n"
        ),
    );
    m.control.reload();
    let added = wait_until("added", Duration::from_secs(10), || greet_tcp(p5));
    assert_eq!(field(&added, "service"), "added");
    let moved2 = wait_until("moved", Duration::from_secs(10), || greet_tcp(p4));
    assert_eq!(field(&moved2, "service"), "moved");
    // Unchanged service: same socket, recycled process (it re-reads its configuration).
    let keep2 = wait_until("keep recycled", Duration::from_secs(10), || {
        greet_tcp(p1).filter(|g| pid_of(g) != pid_of(&keep))
    });
    wait_until("old listeners closed", Duration::from_secs(10), || {
        (TcpStream::connect(("127.0.0.1", p2)).is_err()
            && TcpStream::connect(("127.0.0.1", p3)).is_err())
        .then_some(())
    });
    for old in [&keep, &moved, &gone] {
        let pid = pid_of(old);
        wait_until("old child gone", Duration::from_secs(10), || {
            (!alive(pid)).then_some(())
        });
    }
    // Events are rescheduled from scratch: a period event runs again at once.
    wait_until("tick after reload", Duration::from_secs(10), || {
        (count(&log, "tick") == 2).then_some(())
    });
    // An unchanged daemon keeps running.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&log, "daemon"), 1);
    let daemon_pid: i32 = lines(&log)
        .iter()
        .find(|l| l.contains("daemon"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(alive(daemon_pid));

    // A broken file on reload: the running configuration stays.
    write(&conf, "SERVICES {\n  bad-name cmd=\"x\" listen=\"1\"\n}\n");
    m.control.reload();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pid_of(&greet_tcp(p5).unwrap()), pid_of(&added));

    let pids = [pid_of(&keep2), pid_of(&moved2), pid_of(&added), daemon_pid];
    m.stop();
    for pid in pids {
        assert!(!alive(pid), "child {pid} left behind");
    }
}

fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    write(&p, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The replication guide's entries, written with `/usr/cyrus/bin/…` paths and
/// `listen="csync"`, run our programs (here stand-ins installed next to "master").
#[test]
fn replication_guide_entries_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = d.join("sync.log");
    script(&bin, "sync_server", &format!("exec {SVC} \"$@\""));
    script(
        &bin,
        "sync_client",
        &format!("exec {SVC} --sync-client {} \"$@\"", log.display()),
    );
    let port = free_port();
    let services = d.join("services");
    write(&services, &format!("imap 143/tcp\ncsync {port}/tcp\n"));
    let conf = d.join("cyrus.conf");
    write(
        &conf,
        "START {\n\
         \x20 recover cmd=\"/bin/true\"\n\
         \x20 syncclient cmd=\"/usr/cyrus/bin/sync_client -r\"\n\
         \x20 syncclient1 cmd=\"/usr/cyrus/bin/sync_client -r -n repl1\"\n\
         \x20 syncclient2 cmd=\"/usr/cyrus/bin/sync_client -r -n repl2\"\n\
         \x20 syncclient3 cmd=\"/usr/cyrus/bin/sync_client -r -n offsite\"\n\
         }\n\
         SERVICES {\n\
         \x20 # Add or uncomment this line\n\
         \x20 syncserver cmd=\"/usr/cyrus/bin/sync_server\" listen=\"csync\"\n\
         }\n\
         EVENTS {\n\
         \x20 syncall cmd=\"/usr/cyrus/bin/sync_client -A\" period=240\n\
         \x20 syncnight cmd=\"/usr/cyrus/bin/sync_client -A\" at=0300\n\
         }\n",
    );
    let clock = ManualClock::new(local_time_on(SystemTime::now(), 2, 0, 0).unwrap());
    let m = start(
        &conf,
        &services,
        ProgramPath {
            program_dir: Some(bin.clone()),
            tool_dirs: vec![],
        },
        Arc::new(clock.clone()),
    );
    let g = wait_until("sync_server on csync", Duration::from_secs(10), || {
        greet_tcp(port)
    });
    assert_eq!(field(&g, "service"), "syncserver");
    // START ran each rolling client, which detached (parent exited 0) before services.
    let rolling = wait_until("rolling clients", Duration::from_secs(10), || {
        let l: Vec<String> = lines(&log)
            .into_iter()
            .filter(|l| l.contains(" rolling "))
            .collect();
        (l.len() == 4).then_some(l)
    });
    let mut channels: Vec<&str> = rolling
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    channels.sort_unstable();
    assert_eq!(channels, ["-", "offsite", "repl1", "repl2"]);
    wait_until("syncall", Duration::from_secs(10), || {
        (count(&log, "once") == 1).then_some(())
    });
    clock.advance(Duration::from_secs(3600 + 5)); // 03:00:05
    wait_until("syncnight", Duration::from_secs(10), || {
        (count(&log, "once") == 2).then_some(())
    });
    assert!(lines(&log).iter().any(|l| l.ends_with("once -A")));
    m.stop();
    assert!(!alive(pid_of(&g)));
    // The detached clients are not master's children; in library use nobody signals the
    // process group, so stop them here.
    for l in &rolling {
        let pid: i32 = l.split_whitespace().next().unwrap().parse().unwrap();
        kill(pid, libc::SIGTERM);
        wait_until("rolling client exit", Duration::from_secs(10), || {
            (!alive(pid)).then_some(())
        });
    }
}

#[test]
fn missing_program_is_fatal_and_failing_start_stops_master() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let conf = d.join("cyrus.conf");
    write(
        &conf,
        "SERVICES {\n  imap cmd=\"no-such-imapd\" listen=\"127.0.0.1:0\"\n}\n",
    );
    let mut opts = MasterOptions::new(&conf);
    opts.programs = ProgramPath::only(svc_dir());
    let mut m = Master::new(opts.clone(), Arc::new(master::SystemClock)).unwrap();
    let e = m.run().unwrap_err();
    assert_eq!(e.to_string(), "cannot find executable for service 'imap'");

    write(
        &conf,
        "START {\n  recover cmd=\"master-test-service --exit 3\"\n}\n",
    );
    let mut m = Master::new(opts, Arc::new(master::SystemClock)).unwrap();
    let e = m.run().unwrap_err();
    assert!(e.to_string().starts_with("can't run startup"), "{e}");
}

/// The `master` program itself (the same entry point as bins' `master`): pid file,
/// START leftovers stopped through the process group, SIGHUP, SIGTERM, nothing left.
#[test]
fn master_program_signals_pidfile_and_no_child_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p1, p2) = (free_port(), free_port());
    let log = d.join("log");
    let conf = d.join("cyrus.conf");
    let imapd = d.join("imapd.conf");
    let pidfile = d.join("master.pid");
    let masterlog = d.join("master.log");
    write(&imapd, &format!("configdirectory: {}\n", d.display()));
    let conf_text = |port: u16| {
        format!(
            "START {{\n syncclient cmd=\"master-test-service --sync-client {log} -r\"\n}}\n\
             SERVICES {{\n imap cmd=\"master-test-service\" listen=\"127.0.0.1:{port}\"\n \
             nosuch cmd=\"master-test-service\" listen=\"cyrusrsnosuch\"\n}}\n\
             DAEMON {{\n idled cmd=\"master-test-service --daemon {log}\"\n}}\n\
             EVENTS {{\n tick cmd=\"master-test-service --touch {log} tick\" period=30\n}}\n",
            log = log.display()
        )
    };
    write(&conf, &conf_text(p1));
    let mut child = std::process::Command::new(SVC)
        .arg("--master")
        .arg("-M")
        .arg(&conf)
        .arg("-C")
        .arg(&imapd)
        .arg("-p")
        .arg(&pidfile)
        .arg("-L")
        .arg(&masterlog)
        .spawn()
        .unwrap();
    let mpid = i32::try_from(child.id()).unwrap();
    let guard = scopeguard(mpid);
    wait_until("pid file", Duration::from_secs(10), || {
        let t = std::fs::read_to_string(&pidfile).ok()?;
        (t.trim() == mpid.to_string()).then_some(())
    });
    let g = wait_until("imap", Duration::from_secs(10), || greet_tcp(p1));
    wait_until("rolling, daemon, tick", Duration::from_secs(10), || {
        (count(&log, "rolling") == 1 && count(&log, "daemon") == 1 && count(&log, "tick") == 1)
            .then_some(())
    });

    // A second master with the same pid file refuses to run.
    let second = std::process::Command::new(SVC)
        .args(["--master", "-D", "-M"])
        .arg(&conf)
        .arg("-C")
        .arg(&imapd)
        .arg("-p")
        .arg(&pidfile)
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("is another master still running?"), "{err}");

    // Kill the service: restarted.
    kill(pid_of(&g), libc::SIGKILL);
    wait_until("restart", Duration::from_secs(10), || {
        greet_tcp(p1).filter(|n| pid_of(n) != pid_of(&g))
    });

    // SIGHUP with a new port.
    write(&conf, &conf_text(p2));
    kill(mpid, libc::SIGHUP);
    let g2 = wait_until("imap on new port", Duration::from_secs(10), || {
        greet_tcp(p2)
    });
    wait_until("old port closed", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", p1)).is_err().then_some(())
    });

    let pids: Vec<i32> = lines(&log)
        .iter()
        .filter(|l| l.contains("rolling") || l.contains("daemon"))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .chain([pid_of(&g2)])
        .collect();
    kill(mpid, libc::SIGTERM);
    let status = wait_until("master exit", Duration::from_secs(20), || {
        child.try_wait().unwrap()
    });
    std::mem::forget(guard);
    assert_eq!(status.code(), Some(0));
    assert!(!pidfile.exists());
    for pid in pids {
        wait_until("child gone", Duration::from_secs(5), || {
            (!alive(pid)).then_some(())
        });
    }
    let text = std::fs::read_to_string(&masterlog).unwrap();
    for needle in [
        "got SIGHUP",
        "attempting clean shutdown on signal",
        "All children have exited, closing down",
        "signaled to death by signal 9 (Killed)",
        "port 'cyrusrsnosuch' not found in /etc/services: add `cyrusrsnosuch <port>/tcp` to \
         /etc/services, disabling nosuch",
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
}

#[test]
fn master_program_daemon_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let conf = d.join("cyrus.conf");
    let imapd = d.join("imapd.conf");
    let pidfile = d.join("master.pid");
    write(&imapd, &format!("configdirectory: {}\n", d.display()));
    write(
        &conf,
        &format!(
            "SERVICES {{\n imap cmd=\"master-test-service\" listen=\"127.0.0.1:{port}\"\n}}\n"
        ),
    );
    let run = |extra: &[&str]| {
        std::process::Command::new(SVC)
            .arg("--master")
            .args(extra)
            .arg("-M")
            .arg(&conf)
            .arg("-C")
            .arg(&imapd)
            .arg("-p")
            .arg(&pidfile)
            .output()
            .unwrap()
    };
    let both = run(&["-d", "-D"]);
    assert_eq!(both.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&both.stderr).contains("Unable to be both debug and daemon"));
    // The parent returns once the daemon holds the pid file.
    let out = run(&["-d", "-L", d.join("log").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let daemon: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let guard = scopeguard(daemon);
    let g = wait_until("imap", Duration::from_secs(10), || greet_tcp(port));
    kill(daemon, libc::SIGTERM);
    wait_until("daemon exit", Duration::from_secs(20), || {
        (!alive(daemon) && !pidfile.exists()).then_some(())
    });
    std::mem::forget(guard);
    assert!(!alive(pid_of(&g)));
}

/// Kills master (SIGKILL to its process group, which it leads) if the test fails midway.
struct Guard(i32);

fn scopeguard(pid: i32) -> Guard {
    Guard(pid)
}

impl Drop for Guard {
    fn drop(&mut self) {
        kill(self.0, libc::SIGTERM);
        std::thread::sleep(Duration::from_millis(500));
        kill(-self.0, libc::SIGKILL);
    }
}

#[test]
fn wait_daemons_start_first_and_stop_last() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let conf = d.join("cyrus.conf");
    let l = log.display();
    write(
        &conf,
        &format!(
            "DAEMON {{\n  plain cmd=\"master-test-service --daemon {l}\"\n  \
             ready cmd=\"master-test-service --wait-daemon {l} ok\" wait=y\n}}\n"
        ),
    );
    let m = start(
        &conf,
        &d.join("services"),
        ProgramPath::only(svc_dir()),
        Arc::new(master::SystemClock),
    );
    wait_until("both daemons", Duration::from_secs(10), || {
        (lines(&log).len() == 2).then_some(())
    });
    let l0 = lines(&log);
    // The wait=y daemon ran first, had fd 3 and its own process group.
    assert!(l0[0].ends_with("waitd fd3=true own_group=true"), "{l0:?}");
    assert!(l0[1].ends_with("daemon isdaemon=1"), "{l0:?}");
    m.stop();
    let l1 = lines(&log);
    assert!(l1[2].ends_with("stopping daemon"), "{l1:?}");
    assert!(l1[3].ends_with("stopping waitd"), "{l1:?}");

    // A wait=y daemon that does not say "ok\r\n" stops master's start-up.
    write(
        &conf,
        &format!(
            "DAEMON {{\n  ready cmd=\"master-test-service --wait-daemon {l} bad\" wait=y\n}}\n"
        ),
    );
    let mut opts = MasterOptions::new(&conf);
    opts.programs = ProgramPath::only(svc_dir());
    let mut m = Master::new(opts, Arc::new(master::SystemClock)).unwrap();
    let e = m.run().unwrap_err();
    assert_eq!(
        e.to_string(),
        "waitdaemon ready/daemon did not write \"ok\\r\\n\" to fd 3"
    );
    let pid: i32 = lines(&log)
        .last()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap();
    wait_until("bad wait daemon stopped", Duration::from_secs(10), || {
        (!alive(pid)).then_some(())
    });
}

#[test]
fn a_failing_daemon_is_restarted_with_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let conf = d.join("cyrus.conf");
    // Exits at once, every time: restarts after 0.25 s, 0.5 s, 1 s, 2 s, …
    write(
        &conf,
        &format!(
            "DAEMON {{\n  flappy cmd=\"master-test-service --touch {} start\"\n}}\n",
            log.display()
        ),
    );
    let m = start(
        &conf,
        &d.join("services"),
        ProgramPath::only(svc_dir()),
        Arc::new(master::SystemClock),
    );
    std::thread::sleep(Duration::from_millis(2200));
    let n = count(&log, "start");
    // Without back-off (maxforkrate 10/s) this would be about 20.
    assert!((2..=6).contains(&n), "{n} starts in 2.2 s");
    m.stop();
}
