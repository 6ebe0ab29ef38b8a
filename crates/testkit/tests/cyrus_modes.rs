#![allow(clippy::unwrap_used)]
//! Self-tests of the CyrusInstance builder options: rolling DAEMON client, replication over
//! IMAP (sync_try_imap), channels, the corpus loader with both body digests, and stop on drop.

use std::time::Duration;

use testkit::imap::ImapClient;
use testkit::{
    BodyDigest, CorpusSpec, CyrusInstance, DumpOptions, ServerDump, SyncTarget, assert_same,
    skip_without_cyrus, wait_for_same,
};

async fn alice_mail(m: &CyrusInstance) {
    let mut a = ImapClient::login_to(m.imap_addr(), "admin", "adminpw")
        .await
        .unwrap();
    a.create("user/alice").await.unwrap();
    a.create("user/alice/Sent").await.unwrap();
    let mut al = ImapClient::proxy_to(m.imap_addr(), "alice", "admin", "adminpw")
        .await
        .unwrap();
    al.append("INBOX", &["\\Seen"], None, b"Subject: a\r\n\r\na\r\n")
        .await
        .unwrap();
    al.append("Sent", &[], None, b"Subject: b\r\n\r\nb\r\n")
        .await
        .unwrap();
    al.subscribe("Sent").await.unwrap();
}

fn opts(m: &CyrusInstance) -> DumpOptions {
    let mut o = DumpOptions::new("admin", "adminpw");
    o.users = m.users().iter().map(|(u, _)| u.clone()).collect();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_daemon_client_replicates() {
    if skip_without_cyrus("rolling_daemon_client_replicates") {
        return;
    }
    let replica = CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .start()
        .unwrap();
    let master = CyrusInstance::builder()
        .master(replica.as_sync_target().unwrap())
        .rolling_client(true)
        .sync_repeat_interval(0)
        .user("alice", "pw")
        .start()
        .unwrap();
    alice_mail(&master).await;
    let d = wait_for_same(
        master.imap_addr(),
        replica.imap_addr(),
        &opts(&master),
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", master.diagnostics(), replica.diagnostics()));
    assert_eq!(d.mailboxes["user/alice"].messages.len(), 1);
    assert!(d.subscriptions["alice"].contains("Sent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_over_imap_with_sync_try_imap() {
    if skip_without_cyrus("replication_over_imap_with_sync_try_imap") {
        return;
    }
    let replica = CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .start()
        .unwrap();
    let master = CyrusInstance::builder()
        .master(replica.as_imap_sync_target())
        .sync_try_imap(true)
        .user("alice", "pw")
        .start()
        .unwrap();
    alice_mail(&master).await;
    tokio::task::block_in_place(|| master.run_tool_ok("sync_client", &["-u", "alice"])).unwrap();
    assert_same(
        &ServerDump::of_cyrus(&master).await.unwrap(),
        &ServerDump::of_cyrus(&replica).await.unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_config_is_used() {
    if skip_without_cyrus("channel_config_is_used") {
        return;
    }
    let replica = CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .start()
        .unwrap();
    // The default target is a closed port: only the channel's settings can reach the replica.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bogus = SyncTarget {
        addr: closed,
        authname: "admin".into(),
        password: "x".into(),
    };
    let master = CyrusInstance::builder()
        .master(bogus)
        .channel("c1", replica.as_sync_target().unwrap())
        .user("alice", "pw")
        .start()
        .unwrap();
    alice_mail(&master).await;
    let log = std::fs::read_to_string(master.channel_log_path("c1")).unwrap();
    assert!(log.contains("user.alice"), "{log}");
    assert!(!master.sync_log_path().exists());
    tokio::task::block_in_place(|| master.run_tool_ok("sync_client", &["-n", "c1", "-u", "alice"]))
        .unwrap();
    assert_same(
        &ServerDump::of_cyrus(&master).await.unwrap(),
        &ServerDump::of_cyrus(&replica).await.unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_syncs_and_digests_agree() {
    if skip_without_cyrus("corpus_syncs_and_digests_agree") {
        return;
    }
    let mut spec = CorpusSpec::new(3, 12);
    spec.size_scale = 0.05;
    let users = spec.user_names();
    let mut rb = CyrusInstance::builder().replica();
    let mut mb = CyrusInstance::builder();
    for u in &users {
        rb = rb.user(u, "pw");
        mb = mb.user(u, "pw");
    }
    let replica = rb.start().unwrap();
    let master = mb
        .master(replica.as_sync_target().unwrap())
        .start()
        .unwrap();
    let n = spec
        .load_imap(master.imap_addr(), "admin", "adminpw")
        .await
        .unwrap();
    assert_eq!(n, 36);
    tokio::task::block_in_place(|| master.run_tool_ok("sync_client", &["-A"])).unwrap();

    let fetch = ServerDump::of_cyrus(&master).await.unwrap();
    assert_eq!(fetch.message_count(), 36);
    let mut o = opts(&master);
    o.body = BodyDigest::CyrusDigest;
    let digest = ServerDump::collect(master.imap_addr(), &o).await.unwrap();
    // DIGEST.SHA1 (Cyrus's GUID) is the SHA-1 of the whole message.
    assert_same(&fetch, &digest);
    assert_same(
        &digest,
        &ServerDump::collect(replica.imap_addr(), &o).await.unwrap(),
    );
    assert_same(&fetch, &ServerDump::of_cyrus(&replica).await.unwrap());
}

#[test]
fn drop_stops_master_and_tool_output_is_captured() {
    if skip_without_cyrus("drop_stops_master_and_tool_output_is_captured") {
        return;
    }
    let inst = CyrusInstance::builder()
        .syslog(false)
        .pop3(false)
        .service("oracle", "sync_server", &[])
        .start()
        .unwrap();
    // The extra service answers like a csync server.
    let mut s = std::net::TcpStream::connect(inst.service_addr("oracle").unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 256];
    let n = std::io::Read::read(&mut s, &mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).contains("SASL"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    drop(s);
    let pid = inst.master_pid().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let out = inst.run_tool("mbpath", &["user/nobody"]).unwrap();
    assert!(!out.success(), "{out:?}");
    assert!(!out.stderr.is_empty() || !out.stdout.is_empty(), "{out:?}");
    let dir = inst.dir().to_path_buf();
    drop(inst);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap()
                .contains(") Z")
    );
    assert!(!dir.exists());
}

#[tokio::test]
async fn syslog_lines_reach_the_instance() {
    if skip_without_cyrus("syslog_lines_reach_the_instance") {
        return;
    }
    let inst = CyrusInstance::builder()
        .pop3(false)
        .sieve(false)
        .start()
        .unwrap();
    let c = ImapClient::login_to(inst.imap_addr(), "admin", "adminpw")
        .await
        .unwrap();
    c.logout().await.unwrap();
    if testkit::syslog::hub_pid().is_none() {
        eprintln!(
            "*** syslog_lines_reach_the_instance: /dev/log is not a testkit hub; not checked ***"
        );
        return;
    }
    for _ in 0..100 {
        if inst
            .syslog_lines()
            .iter()
            .any(|l| l.contains("admin plaintext User logged in"))
        {
            assert!(
                inst.syslog_lines()
                    .iter()
                    .all(|l| l.starts_with(inst.syslog_tag()))
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no login line in {:?}", inst.syslog_lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_rolling_client_and_shutdown_file() {
    if skip_without_cyrus("foreground_rolling_client_and_shutdown_file") {
        return;
    }
    let replica = CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .start()
        .unwrap();
    let master = CyrusInstance::builder()
        .master(replica.as_sync_target().unwrap())
        .sync_repeat_interval(0)
        .user("alice", "pw")
        .start()
        .unwrap();
    let mut client = master.spawn_tool("sync_client", &["-R"]).unwrap();
    alice_mail(&master).await;
    wait_for_same(
        master.imap_addr(),
        replica.imap_addr(),
        &opts(&master),
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", client.output(), master.diagnostics()));
    std::fs::write(master.sync_shutdown_file(), b"").unwrap();
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = client.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(Some(0)), "{}", client.output());
    assert!(!master.sync_shutdown_file().exists());
}
