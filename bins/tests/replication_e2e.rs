#![allow(clippy::unwrap_used)]
//! End-to-end replication: OUR mail server (our `master` running imapd, `lmtpd -a` and a
//! DAEMON `sync_client -r`) where every change is made by a client through our imapd and our
//! lmtpd, replicating into (a) a real Cyrus 3.6.1 replica and (b) our replica (our `master`
//! running sync_server and imapd). After each step both servers are dumped over IMAP
//! (`testkit::ServerDump`) and must agree within a few seconds.
//!
//! The scenario: LMTP delivery, flags and `\Seen`, expunge, create/rename/delete folders,
//! subscribe/unsubscribe, ACLs with another user's seen state, quota and annotations; manual
//! `sync_client -u`/`-m`/`-s`/`-A -z` and `-f` runs while the rolling client runs; the
//! shutdown file ending the rolling client (it exits 0, the file is removed, master starts it
//! again); the replica stopped while changes continue and restarted (it catches up, and the
//! rolling client never exited); then, without the DAEMON, `sync_client -R -1`. Plus two
//! named channels at once, one replica ours and one Cyrus. Cyrus tests skip loudly when Cyrus
//! is not installed.

mod replication_e2e_support;

use std::time::Duration;

use replication_e2e_support::*;
use testkit::ImapClient;
use testkit::lmtp::deliver_ok;

fn msg(i: u32) -> Vec<u8> {
    format!(
        "From: sender@example.com\r\nTo: alice@example.com\r\nSubject: m{i}\r\n\
         Message-ID: <m{i}.e2e@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n\
         body {i}\r\n"
    )
    .into_bytes()
}

async fn all_same(step: &str, m: &OurInstance, reps: &[&Replica], secs: u64) {
    for r in reps {
        Box::pin(same(step, m, r, secs)).await;
    }
}

async fn login(m: &OurInstance, user: &str) -> ImapClient {
    let pw = if user == "admin" { "adminpw" } else { "pw" };
    ImapClient::login_to(m.imap, user, pw).await.unwrap()
}

/// The mixed workload, every change through our imapd or lmtpd; compares after each step.
async fn mixed_workload(m: &OurInstance, reps: &[&Replica]) {
    let lmtp = m.lmtp.unwrap();
    let mut admin = login(m, "admin").await;
    admin.create("user/alice").await.unwrap();
    admin.create("user/bob").await.unwrap();
    all_same("create users", m, reps, 20).await;

    for i in 1..=3 {
        let rcpts: &[&str] = if i == 1 {
            &["alice", "bob"]
        } else {
            &["alice"]
        };
        deliver_ok(lmtp, "sender@example.com", rcpts, &msg(i))
            .await
            .unwrap();
    }
    all_same("lmtp delivery", m, reps, 10).await;

    let mut alice = login(m, "alice").await;
    alice.create("Work").await.unwrap();
    alice.create("Archive").await.unwrap();
    alice.create("Archive/2024").await.unwrap();
    alice
        .append(
            "Work",
            &["\\Draft"],
            Some("01-Jan-2024 10:00:00 +0000"),
            &msg(10),
        )
        .await
        .unwrap();
    alice
        .append("Archive/2024", &[], None, &msg(11))
        .await
        .unwrap();
    all_same("create folders and append", m, reps, 10).await;

    alice.select("INBOX").await.unwrap();
    alice
        .uid_store("1", "+FLAGS", &["\\Flagged", "$Label1"])
        .await
        .unwrap();
    alice.uid_store("2", "+FLAGS", &["\\Seen"]).await.unwrap();
    alice.uid_store("1", "-FLAGS", &["\\Seen"]).await.unwrap();
    all_same("flags and seen", m, reps, 10).await;

    alice
        .uid_store("3", "+FLAGS", &["\\Deleted"])
        .await
        .unwrap();
    alice.expunge().await.unwrap();
    alice.unselect().await.unwrap();
    all_same("expunge", m, reps, 10).await;

    alice.rename("Work", "Jobs").await.unwrap();
    alice.delete("Archive/2024").await.unwrap();
    alice.subscribe("Jobs").await.unwrap();
    alice.subscribe("Archive").await.unwrap();
    alice.unsubscribe("Archive").await.unwrap();
    all_same("rename, delete, subscribe, unsubscribe", m, reps, 10).await;

    alice.setacl("Jobs", "bob", "lrsw").await.unwrap();
    all_same("setacl", m, reps, 10).await;
    let mut bob = login(m, "bob").await;
    bob.select("Other Users/alice/Jobs").await.unwrap();
    bob.uid_store("1", "+FLAGS", &["\\Seen"]).await.unwrap();
    bob.unselect().await.unwrap();
    bob.subscribe("Other Users/alice/Jobs").await.unwrap();
    all_same("another user's seen state and subscription", m, reps, 10).await;

    admin
        .raw("SETQUOTA user/alice (STORAGE 100000)")
        .await
        .unwrap()
        .ok()
        .unwrap();
    admin
        .raw("SETMETADATA user/alice (/shared/comment \"set by the admin\")")
        .await
        .unwrap()
        .ok()
        .unwrap();
    alice
        .raw("SETMETADATA Jobs (/shared/comment \"shared note\")")
        .await
        .unwrap()
        .ok()
        .unwrap();
    alice
        .raw("SETMETADATA Jobs (/private/comment \"alice's note\")")
        .await
        .unwrap()
        .ok()
        .unwrap();
    all_same("quota and annotations", m, reps, 10).await;

    alice.setacl("Jobs", "bob", "lr").await.unwrap();
    alice.deleteacl("Jobs", "bob").await.unwrap();
    admin
        .raw("SETQUOTA user/alice (STORAGE 200000)")
        .await
        .unwrap()
        .ok()
        .unwrap();
    deliver_ok(lmtp, "sender@example.com", &["bob"], &msg(12))
        .await
        .unwrap();
    all_same("acl removed, quota changed, more mail", m, reps, 10).await;
}

fn shutdown_file(m: &OurInstance, channel: Option<&str>) -> std::path::PathBuf {
    m.root().join("config/sync").join(match channel {
        None => "shutdown".to_owned(),
        Some(n) => format!("{n}.shutdown"),
    })
}

/// The single-channel scenario against one replica.
async fn scenario(mut replica: Replica) {
    let m = OurInstance::mail_server(&[Channel {
        name: None,
        addr: replica.csync(),
    }]);
    Box::pin(mixed_workload(&m, &[&replica])).await;
    let lmtp = m.lmtp.unwrap();
    let mut alice = login(&m, "alice").await;

    // Manual runs while the rolling client runs.
    deliver_ok(lmtp, "sender@example.com", &["bob"], &msg(20))
        .await
        .unwrap();
    m.sync_client_ok(&["-u", "bob"]);
    Box::pin(same("manual -u", &m, &replica, 10)).await;
    alice
        .append("Jobs", &["\\Answered"], None, &msg(21))
        .await
        .unwrap();
    m.sync_client_ok(&["-m", "user/alice/Jobs"]);
    Box::pin(same("manual -m", &m, &replica, 10)).await;
    m.sync_client_ok(&["-s", "alice"]);
    alice.create("Lists").await.unwrap();
    m.sync_client_ok(&["-A", "-z"]);
    Box::pin(same("manual -A -z", &m, &replica, 10)).await;
    let replay = m.root().join("replay");
    std::fs::write(&replay, "USER alice\nUSER bob\n").unwrap();
    m.sync_client_ok(&["-r", "-f", replay.to_str().unwrap()]);
    assert!(replay.exists(), "-f leaves its file in place");
    Box::pin(same("manual -f", &m, &replica, 10)).await;

    // The shutdown file ends the rolling client: exit 0, file removed; master starts it again.
    let sfile = shutdown_file(&m, None);
    std::fs::write(&sfile, b"").unwrap();
    wait_until("shutdown file taken", Duration::from_secs(15), || {
        !sfile.exists()
    });
    wait_until(
        "rolling client's normal exit in master's log",
        Duration::from_secs(15),
        || {
            m.master_log()
                .lines()
                .any(|l| l.contains("type:DAEMON name:syncclient") && l.contains("exited normally"))
        },
    );
    alice.append("INBOX", &[], None, &msg(22)).await.unwrap();
    Box::pin(same(
        "rolling again after the shutdown file",
        &m,
        &replica,
        20,
    ))
    .await;

    // The replica goes away while changes continue, then comes back and catches up.
    replica.stop();
    for i in 30..36 {
        deliver_ok(lmtp, "sender@example.com", &["alice", "bob"], &msg(i))
            .await
            .unwrap();
    }
    alice.select("INBOX").await.unwrap();
    alice.uid_store("1:*", "+FLAGS", &["\\Seen"]).await.unwrap();
    alice
        .uid_store("1", "+FLAGS", &["\\Deleted"])
        .await
        .unwrap();
    alice.expunge().await.unwrap();
    alice.unselect().await.unwrap();
    alice.create("WhileDown").await.unwrap();
    alice.rename("Lists", "Lists2").await.unwrap();
    alice.unsubscribe("Jobs").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    replica.restart();
    Box::pin(same("replica restarted: caught up", &m, &replica, 45)).await;
    alice
        .append("WhileDown", &[], None, &msg(40))
        .await
        .unwrap();
    Box::pin(same("still rolling after the outage", &m, &replica, 10)).await;
    // The rolling client rode out the outage: its only exit was the shutdown file's.
    let exits: Vec<String> = m
        .master_log()
        .lines()
        .filter(|l| l.contains("type:DAEMON name:syncclient") && l.contains("exited"))
        .map(str::to_owned)
        .collect();
    assert_eq!(exits.len(), 1, "{exits:#?}");

    drop(alice);
    let mut m = m;

    // -1: without the rolling client, one pass over the pending log, then exit 0.
    m.stop();
    m.drop_daemons();
    m.start();
    let mut alice = login(&m, "alice").await;
    alice
        .append("Jobs", &["\\Seen"], None, &msg(41))
        .await
        .unwrap();
    alice.create("Once").await.unwrap();
    drop(alice);
    let log = m.root().join("config/sync/log");
    assert!(log.exists(), "changes are logged");
    m.sync_client_ok(&["-R", "-1"]);
    assert!(!log.exists() && !log.with_file_name("log-run").exists());
    let d = Box::pin(same("sync_client -R -1", &m, &replica, 5)).await;
    assert_readable(&d);
    for n in [
        "user/alice/Jobs",
        "user/alice/WhileDown",
        "user/alice/Lists2",
        "user/alice/Once",
    ] {
        assert!(
            d.mailboxes.contains_key(n),
            "{n} missing: {:?}",
            d.mailboxes.keys()
        );
    }
    assert!(!d.mailboxes.contains_key("user/alice/Work"));
    let inbox = &d.mailboxes["user/alice"];
    assert!(inbox.messages.len() >= 8, "{inbox:?}");
    assert_eq!(d.mailboxes["user/alice"].quotaroots, ["user/alice"]);
    assert!(
        d.mailboxes["user/alice/Jobs"]
            .annotations
            .contains_key("/shared/comment")
    );
    eprintln!(
        "final dump: {} mailboxes, {} messages",
        d.mailboxes.len(),
        d.message_count()
    );

    assert!(
        !m.master_log().contains("signaled to death"),
        "{}",
        m.master_log()
    );
    replica.stop();
}

/// Runs `f` on a runtime in a thread with a large stack (the scenario's futures, with the
/// dump collection inside, are deep in debug builds).
fn run<F: std::future::Future<Output = ()> + 'static>(f: impl FnOnce() -> F + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .unwrap()
                .block_on(f());
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

#[test]
fn e2e_our_master_into_cyrus_replica() {
    if testkit::skip_without_cyrus("e2e_our_master_into_cyrus_replica") {
        return;
    }
    run(|| scenario(Replica::cyrus()));
}

#[test]
fn e2e_our_master_into_our_replica() {
    run(|| scenario(Replica::ours()));
}

#[test]
fn e2e_two_channels_ours_and_cyrus() {
    if testkit::skip_without_cyrus("e2e_two_channels_ours_and_cyrus") {
        return;
    }
    run(two_channels);
}

async fn two_channels() {
    let mut cyrus = Replica::cyrus();
    let mut ours = Replica::ours();
    let mut m = OurInstance::mail_server(&[
        Channel {
            name: Some("cyr".into()),
            addr: cyrus.csync(),
        },
        Channel {
            name: Some("own".into()),
            addr: ours.csync(),
        },
    ]);
    Box::pin(mixed_workload(&m, &[&cyrus, &ours])).await;
    // Each channel's shutdown file ends only that channel's client.
    let s = shutdown_file(&m, Some("own"));
    std::fs::write(&s, b"").unwrap();
    wait_until("own channel shutdown", Duration::from_secs(15), || {
        !s.exists()
    });
    wait_until(
        "own channel's client exit in master's log",
        Duration::from_secs(15),
        || {
            m.master_log()
                .lines()
                .any(|l| l.contains("type:DAEMON name:syncown") && l.contains("exited normally"))
        },
    );
    assert!(
        !m.master_log()
            .lines()
            .any(|l| l.contains("type:DAEMON name:synccyr") && l.contains("exited")),
        "the other channel's client must keep running"
    );
    let mut alice = login(&m, "alice").await;
    alice
        .append("INBOX", &["\\Flagged"], None, &msg(50))
        .await
        .unwrap();
    alice.create("Both").await.unwrap();
    all_same("after one channel restarted", &m, &[&cyrus, &ours], 20).await;
    for r in [&cyrus, &ours] {
        let d = Box::pin(same("final", &m, r, 5)).await;
        assert!(assert_readable(&d) >= 5);
        assert!(d.mailboxes.contains_key("user/alice/Both"));
    }
    drop(alice);
    m.stop();
    cyrus.stop();
    ours.stop();
}
