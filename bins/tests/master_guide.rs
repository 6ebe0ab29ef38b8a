#![allow(clippy::unwrap_used)]
//! The replication guide's cyrus.conf entries under our `master`, with our binaries in place
//! of `/usr/cyrus/bin` (paths written as the guide writes them; `-C` added so each side reads
//! its own imapd.conf, and numeric ports because Debian's /etc/services has no `csync`):
//! a replica master running `sync_server` as a SERVICE, a mail-server master running
//! `sync_client -r` from START and `sync_client -A` as an EVENT. Checks that a mailbox that
//! existed at start-up (via `-A`) and one created afterwards (via the rolling client) reach
//! the replica, then stops both masters with SIGTERM and checks that their process groups
//! are empty.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mailstore::CreateOptions;
use rustix::process::{Pid, Signal};
use types::MboxName;

const MASTER: &str = env!("CARGO_BIN_EXE_master");
const ADMIN_PW: &str = "adminpw";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
}

/// A `master` process leading its own process group; stopped with SIGTERM.
struct RunningMaster {
    child: Child,
    log: PathBuf,
}

impl RunningMaster {
    fn start(dir: &Path, cyrus_conf: &str) -> RunningMaster {
        let conf = dir.join("cyrus.conf");
        write(&conf, cyrus_conf);
        let log = dir.join("master.log");
        let child = Command::new(MASTER)
            .arg("-M")
            .arg(&conf)
            .arg("-C")
            .arg(dir.join("imapd.conf"))
            .arg("-p")
            .arg(dir.join("master.pid"))
            .arg("-L")
            .arg(&log)
            .spawn()
            .unwrap();
        RunningMaster { child, log }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; master exits 0 and nothing is left in its process group.
    fn stop(mut self) {
        let pid = self.pid();
        let _ = kill(pid, Some(Signal::Term));
        let t = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "master did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0), "{}", self.log_text());
        wait_until("process group empty", Duration::from_secs(10), || {
            kill(-pid, None).is_err()
        });
        assert!(
            self.log_text()
                .contains("All children have exited, closing down")
        );
    }
}

impl Drop for RunningMaster {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let pid = self.pid();
            let _ = kill(pid, Some(Signal::Term));
            std::thread::sleep(Duration::from_millis(500));
            let _ = kill(-pid, Some(Signal::Kill));
            let _ = self.child.wait();
        }
    }
}

/// `Some(signal)` to `target` (a negative number: its process group); `None` only tests that
/// it exists.
fn kill(target: i32, sig: Option<Signal>) -> std::io::Result<()> {
    let pid = Pid::from_raw(target.abs())
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let r = match (target < 0, sig) {
        (false, Some(s)) => rustix::process::kill_process(pid, s),
        (true, Some(s)) => rustix::process::kill_process_group(pid, s),
        (false, None) => rustix::process::test_kill_process(pid),
        (true, None) => rustix::process::test_kill_process_group(pid),
    };
    r.map_err(std::io::Error::from)
}

fn imapd_conf(root: &Path, extra: &str) -> PathBuf {
    for d in ["config", "spool"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let conf = root.join("imapd.conf");
    write(
        &conf,
        &format!(
            "configdirectory: {r}/config\npartition-default: {r}/spool\n\
             defaultpartition: default\nadmins: admin\nallowplaintext: yes\n\
             failedloginpause: 0\n{extra}\n",
            r = root.display()
        ),
    );
    conf
}

#[test]
fn guide_entries_replicate_under_our_master() {
    // Replica: sync_server as a SERVICE.
    let rdir = tempfile::tempdir().unwrap();
    let r = rdir.path();
    let rconf = imapd_conf(r, "servername: replica\nsync_log: 0");
    auth::PasswdFile::new(r.join("config/passwd"))
        .set_password(
            "admin",
            None,
            ADMIN_PW.as_bytes(),
            auth::SetMode::CreateOrReplace,
        )
        .unwrap();
    let csync = free_port();
    let replica = RunningMaster::start(
        r,
        &format!(
            "SERVICES {{\n  # Add or uncomment this line\n  syncserver       \
             cmd=\"/usr/cyrus/bin/sync_server -C {}\" listen=\"127.0.0.1:{csync}\"\n}}\n",
            rconf.display()
        ),
    );
    wait_until("sync_server", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", csync)).is_ok()
    });

    // Mail server: a mailbox that exists before master starts.
    let mdir = tempfile::tempdir().unwrap();
    let m = mdir.path();
    let mconf = imapd_conf(
        m,
        &format!(
            "servername: master\nsync_log: 1\nsync_host: 127.0.0.1:{csync}\n\
             sync_authname: admin\nsync_password: {ADMIN_PW}\nsync_try_imap: 0\n\
             sync_repeat_interval: 1s\nsync_reconnect_maxwait: 1s"
        ),
    );
    let (_c, store) = cyrus_bins::open_store(&mconf, "test").unwrap();
    store
        .create_mailbox(
            &MboxName::new("user.alice").unwrap(),
            CreateOptions::default(),
        )
        .unwrap();
    let c = mconf.display();
    let master = RunningMaster::start(
        m,
        &format!(
            "START {{\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -C {c} -r\"\n}}\n\
             EVENTS {{\n  syncall cmd=\"/usr/cyrus/bin/sync_client -C {c} -A\" period=240\n  \
             syncnight cmd=\"/usr/cyrus/bin/sync_client -C {c} -A\" at=0300\n}}\n"
        ),
    );

    let (_rc, rstore) = cyrus_bins::open_store(&rconf, "test").unwrap();
    let on_replica = |name: &str| {
        rstore
            .mailbox_entry(&MboxName::new(name).unwrap())
            .ok()
            .flatten()
            .is_some()
    };
    wait_until("user.alice on the replica", Duration::from_secs(60), || {
        on_replica("user.alice")
    });
    // A change after start-up travels through the sync log and the rolling client.
    store
        .create_mailbox(
            &MboxName::new("user.alice.Sent").unwrap(),
            CreateOptions::default(),
        )
        .unwrap();
    wait_until(
        "user.alice.Sent on the replica",
        Duration::from_secs(60),
        || on_replica("user.alice.Sent"),
    );
    let text = master.log_text();
    assert!(text.contains("name:syncall"), "{text}");
    master.stop();
    replica.stop();
}
