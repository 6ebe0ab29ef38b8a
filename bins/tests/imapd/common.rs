//! Shared harness for the imapd end-to-end tests: a temporary configuration with users, our
//! `imapd` on a free loopback port, stopped when dropped.
#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Server {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    #[allow(dead_code)]
    pub(crate) conf: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Start imapd with users admin/secret, alice/pw, bob/pw and extra imapd.conf lines.
    pub(crate) fn start(extra_conf: &str) -> Server {
        Server::start_with_args(extra_conf, &[])
    }

    /// As [`Server::start`], with extra imapd flags (`-s`).
    pub(crate) fn start_with_args(extra_conf: &str, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("config")).unwrap();
        std::fs::create_dir_all(root.join("spool")).unwrap();
        let conf = root.join("imapd.conf");
        let base = format!(
            "configdirectory: {0}/config\npartition-default: {0}/spool\nservername: \
             testhost\nadmins: admin\nallowplaintext: yes\nsync_log: 1\n\
             failedloginpause: 0\n",
            root.display()
        );
        // Options in `extra_conf` replace the defaults (a repeated option is an error).
        let key = |l: &str| l.split(':').next().unwrap_or("").trim().to_owned();
        let extra_keys: Vec<String> = extra_conf.lines().map(key).collect();
        let mut text: String = base
            .lines()
            .filter(|l| !extra_keys.contains(&key(l)))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(extra_conf);
        std::fs::write(&conf, text).unwrap();
        for (u, p) in [("admin", "secret"), ("alice", "pw"), ("bob", "pw")] {
            let mut c = Command::new(env!("CARGO_BIN_EXE_saslpasswd2"))
                .args(["-C", conf.to_str().unwrap(), "-p", "-c", u])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{p}\n").as_bytes())
                .unwrap();
            assert!(c.wait().unwrap().success());
        }
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_imapd"))
            .args([
                "-C",
                conf.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(args)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "imapd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            dir,
            port,
            conf,
            child,
        }
    }

    /// The sync log's lines.
    pub(crate) fn sync_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("config/sync/log")).unwrap_or_default()
    }

    /// Run a Python script with `PORT` set; panics with its output unless it exits 0.
    pub(crate) fn python(&self, script: &str) -> String {
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .env("PORT", self.port.to_string())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "python failed:\n{text}");
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
