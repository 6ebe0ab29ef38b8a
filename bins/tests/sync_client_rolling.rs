#![allow(clippy::unwrap_used)]
//! Rolling replication from our master (mailstore writing its sync log) into a real Cyrus 3.6
//! replica: `-R` with the shutdown file, lag, a replica that goes away and comes back, `-1`,
//! `-f`, `-r` detaching, manual `-u` runs alongside, and two channels at once.

mod sync_client_common;

use std::process::Child;
use std::time::{Duration, Instant};

use mailstore::FlagOp;
use sync_client_common::*;
use testkit::{CyrusInstance, skip_without_cyrus};

fn replica() -> CyrusInstance {
    CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .user("bob", "pw")
        .start()
        .unwrap()
}

/// Kills the child on drop (if a test fails half-way).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Running {
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn matches(m: &Master, r: &CyrusInstance) -> bool {
    let ours = store_view(&m.store);
    let Ok(d) = std::panic::catch_unwind(|| dump(r)) else {
        return false;
    };
    ours == replica_view(&d)
}

fn wait_match(m: &Master, r: &CyrusInstance, secs: u64) {
    if !wait_until(Duration::from_secs(secs), || matches(m, r)) {
        assert_replica_matches(&m.store, &dump(r));
    }
}

fn base(m: &Master) {
    m.create("user.alice");
    m.create("user.alice.Work");
    m.append("user.alice", &msg(1, 0), &["\\Seen"], None);
    m.append("user.alice.Work", &msg(2, 10), &[], None);
}

#[test]
fn rolling_lag_changes_and_shutdown_file() {
    if skip_without_cyrus("rolling_lag_changes_and_shutdown_file") {
        return;
    }
    let r = replica();
    let shutdown = tempfile::tempdir().unwrap();
    let sfile = shutdown.path().join("shutdown");
    let m = Master::new(
        &cyrus_target(&r),
        &format!("sync_shutdown_file: {}\n", sfile.display()),
    );
    base(&m);
    let mut c = Running(m.command(&["-R"]).spawn().unwrap());
    wait_match(&m, &r, 20);

    // One delivery: the replica has it well within a second (the interval is 1 s, but a
    // quiet client starts at once).
    let t0 = Instant::now();
    m.append("user.alice", &msg(3, 1), &[], None);
    wait_match(&m, &r, 10);
    let lag = t0.elapsed();
    assert!(lag < Duration::from_secs(2), "lag {lag:?}");

    m.flags("user.alice", &[1], FlagOp::Add, &["\\Flagged", "$Work"]);
    m.store
        .rename_mailbox_tree(
            &Master::mbox("user.alice.Work"),
            &Master::mbox("user.alice.Jobs"),
            None,
        )
        .unwrap();
    m.store
        .set_subscribed("alice", &Master::mbox("user.alice.Jobs"), true)
        .unwrap();
    wait_match(&m, &r, 10);
    assert!(wait_until(Duration::from_secs(5), || {
        dump(&r)
            .subscriptions
            .get("alice")
            .is_some_and(|s| s.iter().any(|x| x.contains("Jobs")))
    }));

    std::fs::write(&sfile, b"").unwrap();
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!sfile.exists(), "shutdown file must be removed");
    // Nothing left to process.
    assert!(!m.log_path(None).with_file_name("log-run").exists());
}

#[test]
fn replica_down_and_back_nothing_lost() {
    if skip_without_cyrus("replica_down_and_back_nothing_lost") {
        return;
    }
    let mut r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    base(&m);
    let mut c = Running(m.command(&["-R"]).spawn().unwrap());
    wait_match(&m, &r, 20);

    r.stop();
    for i in 10..20 {
        m.append("user.alice", &msg(i, i), &[], None);
    }
    m.flags("user.alice", &[1], FlagOp::Remove, &["\\Seen"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(c.0.try_wait().unwrap().is_none(), "client must keep going");
    r.restart().unwrap();
    wait_match(&m, &r, 30);
    // Still rolling after the outage.
    m.append("user.alice.Work", &msg(30, 0), &[], None);
    wait_match(&m, &r, 10);
    c.0.kill().unwrap();
}

#[test]
fn once_file_detach_and_manual_runs() {
    if skip_without_cyrus("once_file_detach_and_manual_runs") {
        return;
    }
    let r = replica();
    let shutdown = tempfile::tempdir().unwrap();
    let sfile = shutdown.path().join("shutdown");
    let m = Master::new(
        &cyrus_target(&r),
        &format!("sync_shutdown_file: {}\n", sfile.display()),
    );
    base(&m);

    // -1: one pass over the pending log, then exit 0; the log is consumed.
    let out = m.sync_client(&["-R", "-1"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!m.log_path(None).exists());
    assert!(!m.log_path(None).with_file_name("log-run").exists());
    assert_replica_matches(&m.store, &dump(&r));

    // -f: replay a hand-written file once; it stays in place.
    m.create("user.bob");
    m.append("user.bob", &msg(5, 5), &["\\Draft"], None);
    std::fs::remove_file(m.log_path(None)).unwrap();
    let f = m.dir.path().join("replay");
    std::fs::write(&f, "USER bob\n").unwrap();
    let out = m.sync_client(&["-r", "-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(f.exists());
    assert_replica_matches(&m.store, &dump(&r));

    // -r detaches: the parent returns at once, the daemon keeps replicating.
    // (The daemon keeps the standard descriptors, as Cyrus's fork does: don't capture them.)
    let t0 = Instant::now();
    let status = m
        .command(&["-r"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(t0.elapsed() < Duration::from_secs(5));
    m.append("user.alice", &msg(6, 6), &[], None);
    wait_match(&m, &r, 10);

    // Manual -u runs alongside rolling replication do not interfere.
    for i in 0..3 {
        m.append("user.alice", &msg(40 + i, 1), &[], None);
        let out = m.sync_client(&["-u", "alice"]);
        assert_eq!(out.status.code(), Some(0));
    }
    wait_match(&m, &r, 10);

    std::fs::write(&sfile, b"").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !sfile.exists()),
        "detached client did not take the shutdown file"
    );
}

#[test]
fn two_channels_two_replicas() {
    if skip_without_cyrus("two_channels_two_replicas") {
        return;
    }
    let r1 = replica();
    let r2 = replica();
    let tmp = tempfile::tempdir().unwrap();
    let s1 = tmp.path().join("s1");
    let s2 = tmp.path().join("s2");
    let m = Master::new(
        "127.0.0.1:1",
        &format!(
            "sync_log_channels: r1 r2\nr1_sync_host: {}\nr2_sync_host: {}\n\
             r1_sync_shutdown_file: {}\nr2_sync_shutdown_file: {}\nr2_sync_repeat_interval: 2\n",
            cyrus_target(&r1),
            cyrus_target(&r2),
            s1.display(),
            s2.display()
        ),
    );
    base(&m);
    assert!(m.log_path(Some("r1")).exists());
    assert!(m.log_path(Some("r2")).exists());
    let mut c1 = Running(m.command(&["-R", "-n", "r1"]).spawn().unwrap());
    let mut c2 = Running(m.command(&["-R", "-n", "r2"]).spawn().unwrap());
    wait_match(&m, &r1, 20);
    wait_match(&m, &r2, 20);
    m.append("user.alice", &msg(8, 8), &["\\Answered"], None);
    wait_match(&m, &r1, 10);
    wait_match(&m, &r2, 10);
    std::fs::write(&s1, b"").unwrap();
    std::fs::write(&s2, b"").unwrap();
    assert_eq!(c1.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(c2.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn interval_is_a_minimum_gap_but_quiet_systems_start_at_once() {
    if skip_without_cyrus("interval_is_a_minimum_gap_but_quiet_systems_start_at_once") {
        return;
    }
    let r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    base(&m);
    let mut c = Running(m.command(&["-R", "-d", "3"]).spawn().unwrap());
    wait_match(&m, &r, 20);
    // Quiet for longer than the interval: the next change goes at once.
    std::thread::sleep(Duration::from_secs(4));
    let t0 = Instant::now();
    m.append("user.alice", &msg(50, 0), &[], None);
    wait_match(&m, &r, 10);
    let quick = t0.elapsed();
    assert!(
        quick < Duration::from_millis(1500),
        "quiet start took {quick:?}"
    );
    // Right after a run: the next one waits for the 3 s gap.
    let t1 = Instant::now();
    m.append("user.alice", &msg(51, 0), &[], None);
    wait_match(&m, &r, 10);
    let gap = t1.elapsed();
    assert!(
        gap > Duration::from_millis(2000),
        "gap not respected: {gap:?}"
    );
    c.0.kill().unwrap();
}

#[test]
fn locked_user_is_deferred_on_a_named_channel_with_capital_n() {
    if skip_without_cyrus("locked_user_is_deferred_on_a_named_channel_with_capital_n") {
        return;
    }
    let r = replica();
    let target = cyrus_target(&r);
    let m = Master::new(
        "127.0.0.1:1",
        &format!("sync_log_channels: chan\nchan_sync_host: {target}\n"),
    );
    base(&m);
    // Another sync_client holds alice's sync lock for this replica.
    let dir = m
        .config_dir()
        .join("sync/lock")
        .join(format!("u_{}", target.replace(':', "%3a")));
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::File::create(dir.join("u_alice")).unwrap();
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).unwrap();

    let out = m.sync_client(&["-R", "-1", "-N", "-n", "chan"]);
    assert_eq!(out.status.code(), Some(0));
    let log = std::fs::read_to_string(m.log_path(Some("chan"))).unwrap();
    assert!(log.contains("MAILBOX user.alice\n"), "{log}");
    assert!(!dump(&r).mailboxes.contains_key("user/alice"));

    drop(f);
    let out = m.sync_client(&["-R", "-1", "-n", "chan"]);
    assert_eq!(out.status.code(), Some(0));
    assert_replica_matches(&m.store, &dump(&r));
}
