//! Our servers for the benchmarks: one instance directory (imapd.conf with the same keys as
//! testkit's Cyrus instances, cyrus.conf, password file) run by our `master` from the release
//! build directory.
//!
//! Owns: writing the configuration, creating users with our `saslpasswd2`, starting our master
//! and waiting for its ports, finding its service processes, stopping it (SIGTERM to the pid we
//! started, SIGKILL after 20 s). Must not: touch anything outside its temporary directory.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// What the instance is.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// imapd + lmtpd.
    Standalone,
    /// imapd + sync_server, `sync_log: 0`.
    Replica,
    /// imapd + lmtpd, `sync_log: 1`, replicating to `target` (csync); with `rolling` a
    /// `sync_client -r` DAEMON.
    Master { target: SocketAddr, rolling: bool },
}

#[derive(Debug)]
pub(crate) struct Ours {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) conf: PathBuf,
    pub(crate) bindir: PathBuf,
    master: Option<Child>,
    pub(crate) imap: SocketAddr,
    pub(crate) lmtp: Option<SocketAddr>,
    pub(crate) sync: Option<SocketAddr>,
}

fn free_port() -> Result<u16> {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    for _ in 0..200 {
        let p = rng.gen_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return Ok(p);
        }
    }
    bail!("no free port")
}

fn addr(p: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p))
}

impl Ours {
    pub(crate) fn start(bindir: &Path, role: Role, users: &[String]) -> Result<Ours> {
        let dir = tempfile::Builder::new().prefix("bench-ours-").tempdir()?;
        let root = dir.path().to_owned();
        for d in ["config", "spool/default", "log", "run"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        let conf = root.join("imapd.conf");
        let r = root.display();
        let servername = match role {
            Role::Standalone => "ours-standalone",
            Role::Replica => "ours-replica",
            Role::Master { .. } => "ours-master",
        };
        let mut c = format!(
            "configdirectory: {r}/config\ndefaultpartition: default\n\
             partition-default: {r}/spool/default\nservername: {servername}\nadmins: admin\n\
             altnamespace: yes\nunixhierarchysep: yes\nvirtdomains: off\nallowplaintext: yes\n\
             sasl_mech_list: PLAIN LOGIN\n"
        );
        let imap = addr(free_port()?);
        let mut lmtp = None;
        let mut sync = None;
        let cc_conf = conf.display();
        let mut services =
            format!("  imap cmd=\"imapd -C {cc_conf}\" listen=\"{imap}\" prefork=0 maxchild=100\n");
        let mut daemon = String::new();
        match &role {
            Role::Standalone | Role::Master { .. } => {
                let a = addr(free_port()?);
                lmtp = Some(a);
                let _ = writeln!(
                    services,
                    "  lmtp cmd=\"lmtpd -C {cc_conf} -a\" listen=\"{a}\" prefork=0 maxchild=20"
                );
            }
            Role::Replica => {}
        }
        match &role {
            Role::Standalone => c.push_str("sync_log: 0\n"),
            Role::Replica => {
                c.push_str("sync_log: 0\n");
                let a = addr(free_port()?);
                sync = Some(a);
                let _ = writeln!(
                    services,
                    "  syncserver cmd=\"sync_server -C {cc_conf}\" listen=\"{a}\" prefork=0 \
                     maxchild=10"
                );
            }
            Role::Master { target, rolling } => {
                let _ = write!(
                    c,
                    "sync_log: 1\nsync_host: {}\nsync_port: {}\nsync_authname: admin\n\
                     sync_password: adminpw\nsync_try_imap: no\n\
                     sync_shutdown_file: {r}/config/sync/shutdown\n",
                    target.ip(),
                    target.port()
                );
                if *rolling {
                    let _ = writeln!(
                        daemon,
                        "DAEMON {{\n  syncclient cmd=\"sync_client -C {cc_conf} -r\"\n}}"
                    );
                }
            }
        }
        std::fs::write(&conf, c)?;
        std::fs::write(
            root.join("cyrus.conf"),
            format!("SERVICES {{\n{services}}}\n{daemon}"),
        )?;
        let mut all = vec![("admin".to_owned(), "adminpw".to_owned())];
        all.extend(users.iter().map(|u| (u.clone(), "pw".to_owned())));
        for (u, p) in all {
            let mut ch = Command::new(bindir.join("saslpasswd2"))
                .arg("-C")
                .arg(&conf)
                .args(["-p", "-c", &u])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("our saslpasswd2")?;
            if let Some(mut i) = ch.stdin.take() {
                i.write_all(format!("{p}\n").as_bytes())?;
            }
            let out = ch.wait_with_output()?;
            if !out.status.success() {
                bail!("saslpasswd2 {u}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let mut o = Ours {
            _dir: dir,
            root,
            conf,
            bindir: bindir.to_owned(),
            master: None,
            imap,
            lmtp,
            sync,
        };
        o.start_master()?;
        Ok(o)
    }

    fn start_master(&mut self) -> Result<()> {
        let log = self.root.join("log/master.log");
        let child = Command::new(self.bindir.join("master"))
            .arg("-C")
            .arg(&self.conf)
            .arg("-M")
            .arg(self.root.join("cyrus.conf"))
            .arg("-p")
            .arg(self.root.join("run/master.pid"))
            .arg("-L")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.root.join("log/master.err"))?)
            .spawn()
            .context("starting our master")?;
        self.master = Some(child);
        let mut ports = vec![self.imap];
        ports.extend(self.lmtp);
        ports.extend(self.sync);
        let deadline = Instant::now() + Duration::from_secs(30);
        for p in ports {
            while TcpStream::connect(p).is_err() {
                if let Some(c) = self.master.as_mut()
                    && let Some(st) = c.try_wait()?
                {
                    bail!("our master exited ({st}); see {}", log.display());
                }
                if Instant::now() > deadline {
                    bail!("port {p} never opened; see {}", log.display());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    pub(crate) fn master_pid(&self) -> Option<i32> {
        self.master.as_ref().map(|c| c.id() as i32)
    }

    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.master.take() else {
            return;
        };
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::Term);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Our sync_client with this instance's configuration.
    pub(crate) fn sync_client(&self) -> PathBuf {
        self.bindir.join("sync_client")
    }

    pub(crate) fn log_tail(&self) -> String {
        let t = std::fs::read_to_string(self.root.join("log/master.log")).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.stop();
        // Diagnostics: BENCH_KEEP=1 leaves the instance directory (logs, store) behind.
        if std::env::var_os("BENCH_KEEP").is_some() {
            let d = std::mem::replace(
                &mut self._dir,
                tempfile::Builder::new()
                    .prefix("bench-ours-empty-")
                    .tempdir()
                    .unwrap_or_else(|_| tempfile::TempDir::new_in("/").expect("temp dir")),
            );
            eprintln!("kept {}", d.keep().display());
        }
    }
}
