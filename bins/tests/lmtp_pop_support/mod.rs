//! Shared set-up for the lmtpd/pop3d end-to-end tests: a temporary configdirectory and
//! partition, users in the password file (through the `auth` library), mailboxes (through the
//! mailstore), and the server binaries on free loopback ports, killed when dropped.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth::{PasswdFile, SetMode};
use mailstore::{CreateOptions, Store};
use types::MboxName;

pub const SERVERNAME: &str = "test-server";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
}

impl Env {
    /// A fresh instance with `extra` imapd.conf lines.
    pub fn new(extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("config")).unwrap();
        std::fs::create_dir_all(root.join("spool")).unwrap();
        let conf = root.join("imapd.conf");
        let base = format!(
            "configdirectory: {r}/config\npartition-default: {r}/spool\n\
             defaultpartition: default\nservername: {SERVERNAME}\nadmins: admin\n\
             allowplaintext: yes\nsync_log: 1\nunixhierarchysep: yes\naltnamespace: yes\n\
             failedloginpause: 0\n",
            r = root.display()
        );
        // `extra` overrides base lines with the same key.
        let keys: Vec<&str> = extra.lines().filter_map(|l| l.split(':').next()).collect();
        let mut text: String = base
            .lines()
            .filter(|l| !keys.contains(&l.split(':').next().unwrap_or("")))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(extra);
        text.push('\n');
        std::fs::write(&conf, text).unwrap();
        Env { dir, conf }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> Store {
        cyrus_bins::open_store(&self.conf, "test").unwrap().1
    }

    pub fn add_user(&self, user: &str, password: &str) {
        PasswdFile::new(self.root().join("config/passwd"))
            .set_password(user, None, password.as_bytes(), SetMode::CreateOrReplace)
            .unwrap();
    }

    /// Create mailboxes by internal name.
    pub fn create(&self, names: &[&str]) {
        let store = self.store();
        for n in names {
            store
                .create_mailbox(&MboxName::new(*n).unwrap(), CreateOptions::default())
                .unwrap();
        }
    }

    /// The sync log lines written so far (unnamed channel).
    pub fn sync_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.root().join("config/sync/log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Start `bin` (`lmtpd`/`pop3d` path) on a kernel-chosen loopback port with extra flags;
    /// the port is read from the server's "listening on" log line (no port races).
    pub fn spawn(&self, bin: &str, flags: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .arg("-C")
            .arg(&self.conf)
            .args(["--listen", "127.0.0.1:0"])
            .args(flags)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut line = String::new();
        while addr.is_none() {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                let st = child.wait().unwrap();
                panic!("{bin} exited before listening: {st}");
            }
            eprint!("{line}");
            if let Some(i) = line.find("listening on ") {
                addr = Some(line[i + "listening on ".len()..].trim().to_owned());
            }
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut l = String::new();
            while err.read_line(&mut l).map(|n| n > 0).unwrap_or(false) {
                eprint!("{l}");
                l.clear();
            }
        });
        let addr = addr.unwrap();
        wait_tcp(&addr);
        Server { child, addr }
    }

    pub fn spawn_at(&self, bin: &str, listen: &str, flags: &[&str]) -> Server {
        let child = Command::new(bin)
            .arg("-C")
            .arg(&self.conf)
            .arg("--listen")
            .arg(listen)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Server {
            child,
            addr: listen.to_owned(),
        }
    }
}

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn wait_tcp(addr: &str) {
    let t = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{addr} never came up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A line-oriented test client over TCP.
pub struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    pub fn connect(addr: &str) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    /// One line with its CRLF.
    pub fn line(&mut self) -> String {
        let mut v = Vec::new();
        self.r.read_until(b'\n', &mut v).unwrap();
        String::from_utf8_lossy(&v).into_owned()
    }

    /// An SMTP-style reply (continuation lines `NNN-`), all lines with CRLF.
    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let l = self.line();
            assert!(!l.is_empty(), "connection closed; got so far: {all:?}");
            all.push_str(&l);
            if l.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Send a command and return its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Everything until the server closes.
    pub fn rest(&mut self) -> String {
        let mut s = String::new();
        let _ = self.r.read_to_string(&mut s);
        s
    }
}

/// Run a Python 3 script with arguments; panics with its output when it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Message files of a mailbox, in UID order (expunged excluded).
pub fn messages(store: &Store, name: &str) -> Vec<Vec<u8>> {
    let n = MboxName::new(name).unwrap();
    store
        .records(&n)
        .unwrap()
        .into_iter()
        .filter(|r| !r.expunged)
        .map(|r| std::fs::read(store.message_path(&n, &r).unwrap()).unwrap())
        .collect()
}
