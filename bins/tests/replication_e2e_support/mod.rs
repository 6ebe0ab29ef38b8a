//! Harness for `replication_e2e`: instances of ours run under our `master` binary with a
//! cyrus.conf (a mail server: SERVICES imapd and `lmtpd -a`, DAEMON `sync_client -r` per
//! channel; a replica: SERVICES imapd and sync_server), on fixed loopback ports so that a
//! stopped instance comes back on the same ones; a replica that is either ours or a real
//! Cyrus 3.6.1 ([`CyrusInstance`] in the replica role); and the IMAP dump comparison.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use testkit::{CyrusInstance, DumpOptions};

pub(crate) const MASTER: &str = env!("CARGO_BIN_EXE_master");
pub(crate) const IMAPD: &str = env!("CARGO_BIN_EXE_imapd");
pub(crate) const LMTPD: &str = env!("CARGO_BIN_EXE_lmtpd");
pub(crate) const SYNC_CLIENT: &str = env!("CARGO_BIN_EXE_sync_client");
pub(crate) const SYNC_SERVER: &str = env!("CARGO_BIN_EXE_sync_server");

/// Users every instance has (password `pw`); the admin is `admin` / `adminpw` everywhere.
pub(crate) const USERS: &[&str] = &["alice", "bob"];

pub(crate) fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub(crate) fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One instance of ours under our `master`.
pub(crate) struct OurInstance {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) conf: PathBuf,
    pub(crate) imap: SocketAddr,
    pub(crate) lmtp: Option<SocketAddr>,
    pub(crate) csync: Option<SocketAddr>,
    master: Option<Child>,
}

/// Where a mail server of ours replicates to: `None` for the unnamed channel, or a name.
pub(crate) struct Channel {
    pub(crate) name: Option<String>,
    pub(crate) addr: SocketAddr,
}

fn base_conf(root: &Path, servername: &str, extra: &str) -> PathBuf {
    for d in ["config", "spool"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let conf = root.join("imapd.conf");
    std::fs::write(
        &conf,
        format!(
            "configdirectory: {r}/config\npartition-default: {r}/spool\n\
             defaultpartition: default\nservername: {servername}\nadmins: admin\n\
             allowplaintext: yes\nfailedloginpause: 0\naltnamespace: yes\n\
             unixhierarchysep: yes\nvirtdomains: off\n{extra}",
            r = root.display()
        ),
    )
    .unwrap();
    let pw = auth::PasswdFile::new(root.join("config/passwd"));
    for (u, p) in std::iter::once(("admin", "adminpw")).chain(USERS.iter().map(|u| (*u, "pw"))) {
        pw.set_password(u, None, p.as_bytes(), auth::SetMode::CreateOrReplace)
            .unwrap();
    }
    conf
}

impl OurInstance {
    /// A mail server replicating to `channels` (rolling `sync_client -r` as DAEMON entries).
    pub(crate) fn mail_server(channels: &[Channel]) -> OurInstance {
        let dir = tempfile::Builder::new()
            .prefix("repl-e2e-master-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        let mut extra = String::from(
            "sync_log: 1\nsync_authname: admin\nsync_password: adminpw\nsync_try_imap: 0\n\
             sync_repeat_interval: 1s\nsync_reconnect_maxwait: 1s\n",
        );
        let mut daemons = String::new();
        let conf_path = root.join("imapd.conf");
        let c = conf_path.display().to_string();
        for ch in channels {
            match &ch.name {
                None => {
                    extra.push_str(&format!(
                        "sync_host: {}\nsync_shutdown_file: {}/config/sync/shutdown\n",
                        ch.addr,
                        root.display()
                    ));
                    daemons.push_str(&format!("  syncclient cmd=\"{SYNC_CLIENT} -C {c} -r\"\n"));
                }
                Some(n) => {
                    extra.push_str(&format!(
                        "{n}_sync_host: {}\n{n}_sync_shutdown_file: {}/config/sync/{n}.shutdown\n",
                        ch.addr,
                        root.display()
                    ));
                    daemons.push_str(&format!(
                        "  sync{n} cmd=\"{SYNC_CLIENT} -C {c} -r -n {n}\"\n"
                    ));
                }
            }
        }
        let names: Vec<&str> = channels.iter().filter_map(|c| c.name.as_deref()).collect();
        if !names.is_empty() {
            extra.push_str(&format!("sync_log_channels: {}\n", names.join(" ")));
        }
        let conf = base_conf(root, "ours-master", &extra);
        assert_eq!(conf, conf_path);
        let mut i = OurInstance {
            dir,
            conf,
            imap: free_addr(),
            lmtp: None,
            csync: None,
            master: None,
        };
        // Ports come from bind-and-release: another test may take one first, so retry.
        for attempt in 0..3 {
            let (imap, lmtp) = (free_addr(), free_addr());
            (i.imap, i.lmtp) = (imap, Some(lmtp));
            std::fs::write(
                i.root().join("cyrus.conf"),
                format!(
                    "SERVICES {{\n  imap cmd=\"{IMAPD} -C {c}\" listen=\"{imap}\"\n  \
                     lmtp cmd=\"{LMTPD} -C {c} -a\" listen=\"{lmtp}\"\n}}\n\
                     DAEMON {{\n{daemons}}}\n"
                ),
            )
            .unwrap();
            if i.try_start() || attempt == 2 {
                break;
            }
        }
        assert!(i.master.is_some(), "{}", i.master_log());
        i
    }

    /// A replica: imapd and sync_server.
    pub(crate) fn replica() -> OurInstance {
        let dir = tempfile::Builder::new()
            .prefix("repl-e2e-replica-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        let conf = base_conf(root, "ours-replica", "sync_log: 0\n");
        let c = conf.display().to_string();
        let mut i = OurInstance {
            dir,
            conf,
            imap: free_addr(),
            lmtp: None,
            csync: None,
            master: None,
        };
        for attempt in 0..3 {
            let (imap, csync) = (free_addr(), free_addr());
            (i.imap, i.csync) = (imap, Some(csync));
            std::fs::write(
                i.root().join("cyrus.conf"),
                format!(
                    "SERVICES {{\n  imap cmd=\"{IMAPD} -C {c}\" listen=\"{imap}\"\n  \
                     syncserver cmd=\"{SYNC_SERVER} -C {c}\" listen=\"{csync}\"\n}}\n"
                ),
            )
            .unwrap();
            if i.try_start() || attempt == 2 {
                break;
            }
        }
        assert!(i.master.is_some(), "{}", i.master_log());
        i
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn master_log(&self) -> String {
        std::fs::read_to_string(self.root().join("master.log")).unwrap_or_default()
    }

    /// Starts `master` and waits for every listener; panics if it does not come up.
    pub(crate) fn start(&mut self) {
        assert!(self.try_start(), "master exited\n{}", self.master_log());
    }

    /// Starts `master` and waits (up to 30 s) for every listener; false (and no master) if
    /// master exits first, e.g. because a port was taken.
    pub(crate) fn try_start(&mut self) -> bool {
        assert!(self.master.is_none());
        let root = self.root().to_path_buf();
        let child = Command::new(MASTER)
            .arg("-M")
            .arg(root.join("cyrus.conf"))
            .arg("-C")
            .arg(&self.conf)
            .arg("-p")
            .arg(root.join("master.pid"))
            .arg("-L")
            .arg(root.join("master.log"))
            .spawn()
            .unwrap();
        self.master = Some(child);
        let addrs: Vec<SocketAddr> = [Some(self.imap), self.lmtp, self.csync]
            .into_iter()
            .flatten()
            .collect();
        let t = Instant::now();
        for a in addrs {
            while TcpStream::connect(a).is_err() {
                if let Some(c) = self.master.as_mut()
                    && c.try_wait().ok().flatten().is_some()
                {
                    self.master = None;
                    return false;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(30),
                    "{a} never came up\n{}",
                    self.master_log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        true
    }

    /// SIGTERM to master; waits until it and its process group are gone.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.master.take() else {
            return;
        };
        let pid = i32::try_from(child.id()).unwrap();
        let p = Pid::from_raw(pid).unwrap();
        let _ = rustix::process::kill_process(p, Signal::Term);
        let t = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = rustix::process::kill_process_group(p, Signal::Kill);
                let _ = child.wait();
                panic!("our master did not stop on SIGTERM\n{}", self.master_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Leftovers in its group (there should be none).
        let t = Instant::now();
        while rustix::process::test_kill_process_group(p).is_ok() {
            if t.elapsed() > Duration::from_secs(10) {
                let _ = rustix::process::kill_process_group(p, Signal::Kill);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Takes the DAEMON section out of cyrus.conf (for the next [`Self::start`]).
    pub(crate) fn drop_daemons(&self) {
        let p = self.root().join("cyrus.conf");
        let text = std::fs::read_to_string(&p).unwrap();
        let kept = text.split("DAEMON {").next().unwrap().to_owned();
        std::fs::write(&p, kept).unwrap();
    }

    /// Runs our sync_client with `-C conf` and `args`.
    pub(crate) fn sync_client(&self, args: &[&str]) -> Output {
        let out = Command::new(SYNC_CLIENT)
            .arg("-C")
            .arg(&self.conf)
            .args(args)
            .output()
            .unwrap();
        eprintln!(
            "sync_client {args:?} -> {:?}\n--- stdout\n{}--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub(crate) fn sync_client_ok(&self, args: &[&str]) {
        let out = self.sync_client(args);
        assert_eq!(out.status.code(), Some(0), "sync_client {args:?}");
    }
}

impl Drop for OurInstance {
    fn drop(&mut self) {
        if let Some(mut child) = self.master.take() {
            let pid = i32::try_from(child.id()).unwrap();
            let p = Pid::from_raw(pid).unwrap();
            let _ = rustix::process::kill_process(p, Signal::Term);
            let t = Instant::now();
            while child.try_wait().ok().flatten().is_none() && t.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = rustix::process::kill_process_group(p, Signal::Kill);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A replica: a real Cyrus 3.6.1 or ours.
pub(crate) enum Replica {
    Cyrus(Box<CyrusInstance>),
    Ours(OurInstance),
}

impl Replica {
    pub(crate) fn cyrus() -> Replica {
        let mut b = CyrusInstance::builder().replica().sieve(false);
        for u in USERS {
            b = b.user(u, "pw");
        }
        Replica::Cyrus(Box::new(b.start().unwrap()))
    }

    pub(crate) fn ours() -> Replica {
        Replica::Ours(OurInstance::replica())
    }

    pub(crate) fn label(&self) -> &'static str {
        match self {
            Replica::Cyrus(_) => "cyrus",
            Replica::Ours(_) => "ours",
        }
    }

    pub(crate) fn imap(&self) -> SocketAddr {
        match self {
            Replica::Cyrus(c) => c.imap_addr(),
            Replica::Ours(o) => o.imap,
        }
    }

    pub(crate) fn csync(&self) -> SocketAddr {
        match self {
            Replica::Cyrus(c) => c.sync_addr().unwrap(),
            Replica::Ours(o) => o.csync.unwrap(),
        }
    }

    pub(crate) fn stop(&mut self) {
        match self {
            Replica::Cyrus(c) => c.stop(),
            Replica::Ours(o) => o.stop(),
        }
    }

    pub(crate) fn restart(&mut self) {
        match self {
            Replica::Cyrus(c) => c.restart().unwrap(),
            Replica::Ours(o) => o.start(),
        }
    }
}

/// Dump options shared by both sides: the admin, and both users' subscriptions and seen state.
pub(crate) fn dump_options() -> DumpOptions {
    let mut o = DumpOptions::new("admin", "adminpw");
    o.users = USERS.iter().map(|u| (*u).to_owned()).collect();
    // Cyrus derives these two from mailbox OPTIONS bits (shown as "false" on every mailbox);
    // our imapd does not report them (the same exclusion as in sync_server_interop).
    o.ignore_annotations.extend(
        [
            "/vendor/cmu/cyrus-imapd/sharedseen",
            "/vendor/cmu/cyrus-imapd/duplicatedeliver",
        ]
        .map(String::from),
    );
    o
}

/// Waits (up to `secs`) until the replica's dump equals the master's; panics with the
/// differences otherwise.
pub(crate) async fn same(
    step: &str,
    master: &OurInstance,
    replica: &Replica,
    secs: u64,
) -> testkit::ServerDump {
    let t = Instant::now();
    let o = dump_options();
    let dump = match Box::pin(testkit::wait_for_same(
        master.imap,
        replica.imap(),
        &o,
        Duration::from_secs(secs),
    ))
    .await
    {
        Ok(d) => d,
        Err(e) => panic!(
            "[{}] after step {step:?}: replica differs from master: {e:#}\n--- master log\n{}",
            replica.label(),
            master.master_log()
        ),
    };
    eprintln!(
        "[{}] step {step:?}: same after {:?}",
        replica.label(),
        t.elapsed()
    );
    dump
}

/// Fails unless the (equal) dumps read every live mailbox without errors, so that equality
/// is not that of two failures; returns the message count.
pub(crate) fn assert_readable(d: &testkit::ServerDump) -> usize {
    for (n, mb) in &d.mailboxes {
        if !n.starts_with("DELETED/") {
            assert!(mb.errors.is_empty(), "{n}: {:?}", mb.errors);
            assert!(
                mb.uniqueid.is_some() && mb.uidvalidity.is_some(),
                "{n}: {mb:?}"
            );
        }
    }
    d.message_count()
}
