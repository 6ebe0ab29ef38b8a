#![allow(clippy::unwrap_used)]
//! The README's run command as a new user meets it: `cyrus-quickstart` (what `scripts/run`
//! starts) brings up a master and a replica, delivers the welcome message, and a real IMAP
//! client (Python's imaplib) appends to the master and reads the same message back from the
//! replica. Ctrl-C (SIGINT) then stops both instances and leaves no process behind.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

const QUICKSTART: &str = env!("CARGO_BIN_EXE_cyrus-quickstart");

/// A base port whose eight derived ports (base+24..base+1205) are all free right now.
fn free_base() -> u16 {
    let start = 36000 + (std::process::id() % 50) as u16 * 20;
    for base in (start..50000).step_by(20) {
        let ports = [24, 110, 143, 205]
            .iter()
            .flat_map(|o| [base + o, base + 1000 + o]);
        if ports
            .into_iter()
            .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        {
            return base;
        }
    }
    panic!("no free port range");
}

fn pid_alive(pid: i32) -> bool {
    Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

fn master_pids(dir: &Path) -> Vec<i32> {
    ["master", "replica"]
        .iter()
        .filter_map(|i| std::fs::read_to_string(dir.join(i).join("run/master.pid")).ok())
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

const PY: &str = r#"
import imaplib, sys, time
master_port, replica_port = int(sys.argv[1]), int(sys.argv[2])
m = imaplib.IMAP4('127.0.0.1', master_port)
m.login('demo', 'demo-password')
typ, data = m.select('INBOX')
assert typ == 'OK' and int(data[0]) >= 1, ('welcome message missing', typ, data)
body = b'From: a@example.org\r\nSubject: quickstart test\r\n\r\nreplicate me\r\n'
typ, data = m.append('INBOX', '(\\Flagged)', None, body)
assert typ == 'OK', (typ, data)
typ, data = m.uid('SEARCH', None, 'SUBJECT', '"quickstart test"')
uid = data[0].split()[-1]
m.logout()
deadline = time.time() + 20
while True:
    r = imaplib.IMAP4('127.0.0.1', replica_port)
    r.login('demo', 'demo-password')
    r.select('INBOX', readonly=True)
    typ, data = r.uid('FETCH', uid, '(FLAGS BODY.PEEK[])')
    r.logout()
    if typ == 'OK' and data and data[0] is not None and isinstance(data[0], tuple):
        assert data[0][1] == body, data
        assert b'\\Flagged' in data[0][0], data
        print('replicated')
        break
    assert time.time() < deadline, ('not on the replica', data)
    time.sleep(0.2)
"#;

#[test]
fn quickstart_pair_replicates_an_imap_append_and_stops_on_ctrl_c() {
    if Command::new("python3").arg("--version").output().is_err() {
        panic!("python3 is needed for this test (a real IMAP client)");
    }
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let mut child = Command::new(QUICKSTART)
        .args(["--dir"])
        .arg(dir.path())
        .args(["--base-port", &base.to_string(), "--interval", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let t0 = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let ready = line == "ready";
                seen.push(line);
                if ready {
                    break;
                }
            }
            Err(_) => {
                if let Some(st) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err)
                        .unwrap();
                    panic!(
                        "quickstart exited early ({st}):\n{}\n{err}",
                        seen.join("\n")
                    );
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "quickstart not ready:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let out = seen.join("\n");
    assert!(
        out.contains(&format!("IMAP 127.0.0.1:{}", base + 143)),
        "{out}"
    );
    assert!(out.contains("user demo / password demo-password"), "{out}");

    let py = Command::new("python3")
        .args([
            "-c",
            PY,
            &(base + 143).to_string(),
            &(base + 1143).to_string(),
        ])
        .output()
        .unwrap();
    let py_ok = py.status.success();

    let pids = master_pids(dir.path());
    assert_eq!(pids.len(), 2, "pid files of both masters");
    rustix::process::kill_process(Pid::from_raw(child.id() as i32).unwrap(), Signal::Int).unwrap();
    let t1 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(40),
            "quickstart did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        py_ok,
        "IMAP check failed:\n{}\n{}\nquickstart:\n{out}\n{}\nmaster log:\n{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr),
        rest.join("\n"),
        std::fs::read_to_string(dir.path().join("master/log/master.log")).unwrap_or_default()
    );
    assert!(status.success(), "quickstart exit: {status}");
    assert!(
        rest.iter()
            .any(|l| l.contains("stopped: master and replica shut down")),
        "{rest:?}"
    );
    for pid in pids {
        assert!(!pid_alive(pid), "master {pid} still running");
    }
}
