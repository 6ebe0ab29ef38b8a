#![allow(clippy::unwrap_used)]
//! Our master into our replica: our sync_client (`-A -z`, rolling `-R -1`) driving our
//! sync_server, both stores compared directly; `sync_reset` on the replica followed by a
//! resync; SIGTERM ends a rolling client with 75.

mod sync_client_common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailstore::{FlagOp, QuotaLimits, SeenState, Store};
use sync_client_common::*;
use types::{MboxName, Uid};

struct OurReplica {
    _dir: tempfile::TempDir,
    conf: PathBuf,
    child: Child,
    addr: SocketAddr,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OurReplica {
    fn start() -> OurReplica {
        Self::start_with("allowplaintext: yes\n")
    }

    fn start_with(extra: &str) -> OurReplica {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        for d in ["config", "spool"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let conf = root.join("imapd.conf");
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {r}/config\npartition-default: {r}/spool\n\
                 defaultpartition: default\nservername: ours-replica\nadmins: admin\n\
                 sync_log: 0\nfailedloginpause: 0\n{extra}",
                r = root.display()
            ),
        )
        .unwrap();
        auth::PasswdFile::new(root.join("config/passwd"))
            .set_password("admin", None, b"adminpw", auth::SetMode::CreateOrReplace)
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(
            std::path::Path::new(env!("CARGO_BIN_EXE_sync_client")).with_file_name("sync_server"),
        )
        .arg("-C")
        .arg(&conf)
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(root.join("sync_server.log")).unwrap())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "sync_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OurReplica {
            _dir: dir,
            conf,
            child,
            addr,
        }
    }

    fn store(&self) -> Store {
        cyrus_bins::open_store(&self.conf, "test").unwrap().1
    }
}

impl Drop for OurReplica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mb(n: &str) -> MboxName {
    MboxName::new(n).unwrap()
}

fn populate(m: &Master) {
    m.create("user.alice");
    m.create("user.alice.Work");
    m.create("user.bob");
    m.create("shared");
    m.create("shared.news");
    m.append(
        "user.alice",
        &msg(1, 0),
        &["\\Seen", "$Label1"],
        Some(1_700_000_000),
    );
    m.append("user.alice", &msg(2, 100), &["\\Flagged"], None);
    m.append("user.alice.Work", &msg(3, 5), &[], None);
    m.append("user.bob", &msg(4, 7), &["\\Draft"], None);
    m.append("shared.news", &msg(5, 1), &[], None);
    let s = &m.store;
    s.set_subscribed("alice", &mb("user.alice.Work"), true)
        .unwrap();
    s.set_subscribed("bob", &mb("shared.news"), true).unwrap();
    s.set_quota(
        &mb("user.alice"),
        QuotaLimits {
            storage: Some(5000),
            message: Some(100),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.set_mailbox_annotation(&mb("user.alice.Work"), "/comment", "", b"w")
        .unwrap();
    s.set_server_annotation("/motd", "", b"hello").unwrap();
    let id = s.lookup(&mb("shared.news")).unwrap().uniqueid;
    s.set_seen(
        "bob",
        id.as_str(),
        &SeenState {
            lastread: 1_700_000_000,
            lastuid: Uid(1),
            lastchange: 1_700_000_001,
            seenuids: "1".into(),
        },
    )
    .unwrap();
    s.put_sieve("bob", "vacation", b"keep;\r\n", Some(1_700_000_000))
        .unwrap();
    s.activate_sieve("bob", Some("vacation")).unwrap();
}

/// Everything replication carries, from one store.
fn full_view(s: &Store) -> String {
    let mut out = format!("{:#?}\n", store_view(s));
    for e in s.list_all_entries().unwrap() {
        if !e.mbtype.is_real() {
            continue;
        }
        let st = s.mailbox_state(&e.name).unwrap().unwrap();
        out.push_str(&format!(
            "{} acl={:?} crc={}/{} annots={:?} quota={:?}\n",
            e.name,
            e.acl,
            st.sync_crc,
            st.sync_crc_annot,
            st.annotations
                .iter()
                .map(|a| (&a.entry, &a.userid, &a.value))
                .collect::<Vec<_>>(),
            st.quotaroot
                .and_then(|q| s.quota(&q).unwrap())
                .map(|q| q.limits),
        ));
    }
    for u in ["alice", "bob"] {
        out.push_str(&format!(
            "{u}: subs={:?} seen={:?} sieve={:?}\n",
            s.subscriptions(u).unwrap(),
            s.all_seen(u).unwrap(),
            s.sieve_scripts(u)
                .unwrap()
                .iter()
                .map(|x| (&x.name, &x.content, x.active))
                .collect::<Vec<_>>()
        ));
    }
    out
}

fn assert_same(m: &Master, r: &OurReplica) {
    let a = full_view(&m.store);
    let b = full_view(&r.store());
    assert_eq!(a, b);
}

#[test]
fn our_master_into_our_replica() {
    let r = OurReplica::start();
    let m = Master::new(&r.addr.to_string(), "");
    populate(&m);

    let out = m.sync_client(&["-A", "-z"]);
    assert_eq!(out.status.code(), Some(0));
    assert_same(&m, &r);
    // Server annotations are replicated by rolling ANNOTATION records (not by -A, as Cyrus).
    assert!(r.store().server_annotations().unwrap().is_empty());

    // Changes, replayed from the sync log by one rolling pass.
    m.flags("user.alice", &[1], FlagOp::Remove, &["\\Seen"]);
    m.append("user.alice.Work", &msg(6, 0), &[], None);
    m.store
        .rename_mailbox_tree(&mb("user.alice.Work"), &mb("user.alice.Old"), None)
        .unwrap();
    m.store
        .set_subscribed("alice", &mb("user.alice.Old"), true)
        .unwrap();
    m.store.remove_quota(&mb("user.alice")).unwrap();
    m.store.delete_sieve("bob", "vacation").unwrap();
    m.store.set_server_annotation("/motd", "", b"bye").unwrap();
    let out = m.sync_client(&["-R", "-1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_same(&m, &r);
    assert_eq!(
        r.store().server_annotations().unwrap()[0].value,
        b"bye".to_vec()
    );

    // sync_reset wipes a user on the replica; a user sync brings it back.
    let reset = Command::new(
        std::path::Path::new(env!("CARGO_BIN_EXE_sync_client")).with_file_name("sync_reset"),
    )
    .arg("-C")
    .arg(&r.conf)
    .args(["-f", "alice"])
    .output()
    .unwrap();
    assert_eq!(reset.status.code(), Some(0));
    assert!(r.store().user_mailboxes("alice").unwrap().is_empty());
    assert!(
        r.store()
            .mailbox_entry(&mb("user.alice.Work"))
            .unwrap()
            .is_none()
    );
    let out = m.sync_client(&["-u", "alice"]);
    assert_eq!(out.status.code(), Some(0));
    assert_same(&m, &r);
}

#[test]
fn sigterm_ends_rolling_with_75_and_sync_reset_needs_f() {
    let r = OurReplica::start();
    let m = Master::new(&r.addr.to_string(), "");
    m.create("user.alice");
    let mut c = m.command(&["-R"]).spawn().unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        r.store()
            .mailbox_entry(&mb("user.alice"))
            .unwrap()
            .is_some()
    }));
    let pid = rustix::process::Pid::from_raw(c.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::Term).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "client ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(75));

    // Without -f sync_reset does nothing.
    let out = Command::new(
        std::path::Path::new(env!("CARGO_BIN_EXE_sync_client")).with_file_name("sync_reset"),
    )
    .arg("-C")
    .arg(&r.conf)
    .arg("alice")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        r.store()
            .mailbox_entry(&mb("user.alice"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn starttls_when_plain_needs_tls() {
    let certs = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let r = OurReplica::start_with(&format!(
        "allowplaintext: no\ntls_server_cert: {}\ntls_server_key: {}\n",
        cert.display(),
        key.display()
    ));
    let host = format!("localhost:{}", r.addr.port());
    // Without trust anchors the client refuses to go on (and -o stops it retrying).
    let m = Master::new(&host, "");
    m.create("user.alice");
    m.append("user.alice", &msg(1, 1), &[], None);
    assert_eq!(m.sync_client(&["-o", "-u", "alice"]).status.code(), Some(1));
    // With tls_client_ca_file: STARTTLS, then PLAIN inside TLS.
    let m2 = Master::new(&host, &format!("tls_client_ca_file: {}\n", cert.display()));
    m2.create("user.alice");
    m2.append("user.alice", &msg(1, 1), &["\\Seen"], None);
    let out = m2.sync_client(&["-v", "-v", "-o", "-u", "alice"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("STARTTLS"));
    assert_eq!(full_view(&m2.store), full_view(&r.store()));
}

#[test]
fn rolling_unuser_unmailbox_and_periodic_restart() {
    let r = OurReplica::start();
    let m = Master::new(&r.addr.to_string(), "");
    populate(&m);
    // -t 1: reconnect every second; replication keeps working across reconnects.
    let mut c = m.command(&["-R", "-t", "1"]).spawn().unwrap();
    let synced = || full_view(&m.store) == full_view(&r.store());
    assert!(wait_until(Duration::from_secs(20), synced));
    std::thread::sleep(Duration::from_millis(2500));
    m.append("user.bob", &msg(60, 0), &[], None);
    assert!(wait_until(Duration::from_secs(10), synced));

    // An immediate delete (tombstone + UNMAILBOX record), then a whole user.
    m.store.delete_mailbox(&mb("user.alice.Work")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        r.store()
            .mailbox_entry(&mb("user.alice.Work"))
            .unwrap()
            .is_none_or(|e| e.mbtype.deleted)
    }));
    m.store.delete_user("alice").unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        r.store().user_mailboxes("alice").unwrap().is_empty()
    }));
    assert!(r.store().user_mailboxes("bob").unwrap().len() == 1);
    let _ = c.kill();
    let _ = c.wait();
}

/// `-L`: the same sync with the LOCAL_ forms of the commands (csync §5: the replica applies
/// them without logging them for onward replication); the protocol trace of `-v -v` shows
/// them, and the replica ends identical.
#[test]
fn capital_l_uses_local_commands() {
    let r = OurReplica::start();
    let m = Master::new(&r.addr.to_string(), "");
    populate(&m);
    let out = m.sync_client(&["-v", "-v", "-L", "-A"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("LOCAL_MAILBOX"),
        "no LOCAL_MAILBOX in the trace:\n{err}"
    );
    assert!(
        !err.contains("APPLY MAILBOX"),
        "plain APPLY MAILBOX sent with -L:\n{err}"
    );
    assert_same(&m, &r);
}

/// On a terminal, `-A` shows its progress (items, mailboxes, bytes sent) on one line that it
/// rewrites, ending with a final "done" line; off a terminal it prints none of it.
#[test]
fn progress_on_a_terminal_only() {
    let r = OurReplica::start();
    let m = Master::new(&r.addr.to_string(), "");
    populate(&m);
    let cmd = format!(
        "{} -C {} -A",
        env!("CARGO_BIN_EXE_sync_client"),
        m.conf.display()
    );
    // util-linux `script` runs the command on a pseudo-terminal.
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" mailboxes, "), "{text}");
    assert!(text.contains(" MiB sent, "), "{text}");
    assert!(text.contains("s: done"), "{text}");
    assert!(text.contains("[1/"), "{text}");
    assert_same(&m, &r);

    let plain = m.sync_client(&["-A"]);
    assert_eq!(plain.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("MiB sent"));
}
