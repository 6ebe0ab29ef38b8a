#![allow(clippy::unwrap_used)]
//! Self-test: a Cyrus master replicates to a Cyrus replica with `sync_client -u` then `-A`, and
//! the two ServerDumps must be equal; a deliberate difference must be reported.

use testkit::imap::ImapClient;
use testkit::{CyrusInstance, ServerDump, assert_same, diff, skip_without_cyrus};

const MSG: &[u8] =
    b"From: a@example.com\r\nTo: alice@example.com\r\nSubject: one\r\n\r\nbody one\r\n";

async fn populate(m: &CyrusInstance) {
    let mut a = ImapClient::login_to(m.imap_addr(), "admin", "adminpw")
        .await
        .unwrap();
    for mb in [
        "user/alice",
        "user/alice/Archive",
        "user/alice/Work",
        "user/bob",
        "shared",
        "user/bob/deep/er",
    ] {
        a.create(mb).await.unwrap();
    }
    a.setacl("user/alice/Work", "bob", "lrs").await.unwrap();
    a.setacl("shared", "anyone", "lrs").await.unwrap();
    a.setacl("shared", "admin", "lrswipkxtecda").await.unwrap();
    a.setquota("user/alice", &[("STORAGE", 100_000)])
        .await
        .unwrap();
    a.setmetadata(
        "user/alice/Archive",
        &[("/shared/comment", Some(b"archive folder"))],
    )
    .await
    .unwrap();
    a.setmetadata("", &[("/shared/comment", Some(b"server note"))])
        .await
        .unwrap();
    a.append(
        "shared",
        &["\\Flagged"],
        Some("01-Feb-2024 10:00:00 +0000"),
        MSG,
    )
    .await
    .unwrap();
    a.logout().await.unwrap();

    let mut al = ImapClient::proxy_to(m.imap_addr(), "alice", "admin", "adminpw")
        .await
        .unwrap();
    al.append(
        "INBOX",
        &["\\Seen"],
        Some("02-Jan-2024 09:00:00 +0000"),
        MSG,
    )
    .await
    .unwrap();
    al.append("INBOX", &[], None, b"Subject: two\r\n\r\nbody two\r\n")
        .await
        .unwrap();
    al.append(
        "INBOX",
        &["$Label1"],
        None,
        b"Subject: three\r\n\r\n.dot line\r\n",
    )
    .await
    .unwrap();
    al.append("Work", &[], None, b"Subject: work\r\n\r\nwork\r\n")
        .await
        .unwrap();
    al.append(
        "Archive",
        &["\\Answered"],
        None,
        b"Subject: old\r\n\r\nold\r\n",
    )
    .await
    .unwrap();
    al.select("INBOX").await.unwrap();
    al.uid_store("2", "+FLAGS", &["\\Flagged"]).await.unwrap();
    al.uid_store("3", "+FLAGS", &["\\Deleted"]).await.unwrap();
    al.expunge().await.unwrap();
    al.subscribe("INBOX").await.unwrap();
    al.subscribe("Archive").await.unwrap();
    al.setmetadata("Archive", &[("/private/comment", Some(b"mine"))])
        .await
        .unwrap();
    al.logout().await.unwrap();

    let mut bob = ImapClient::proxy_to(m.imap_addr(), "bob", "admin", "adminpw")
        .await
        .unwrap();
    bob.subscribe("Other Users/alice/Work").await.unwrap();
    bob.select("Other Users/alice/Work").await.unwrap();
    bob.uid_store("1", "+FLAGS", &["\\Seen"]).await.unwrap();
    bob.logout().await.unwrap();

    let mut sv = testkit::managesieve::SieveClient::connect(
        m.sieve_addr().unwrap(),
        "alice",
        "admin",
        "adminpw",
    )
    .await
    .unwrap();
    sv.put_script(
        "main",
        b"require \"fileinto\";\nif header :contains \"subject\" \"work\" { fileinto \"Work\"; }\n",
    )
    .await
    .unwrap();
    sv.put_script("spare", b"keep;\n").await.unwrap();
    sv.set_active("main").await.unwrap();
    sv.logout().await.unwrap();

    testkit::lmtp::deliver_ok(
        m.lmtp_addr(),
        "x@example.com",
        &["bob", "alice"],
        b"Subject: lmtp\r\n\r\nvia lmtp\r\n",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cyrus_master_replica_dumps_match() {
    if skip_without_cyrus("cyrus_master_replica_dumps_match") {
        return;
    }
    let replica = CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .user("bob", "pw")
        .start()
        .unwrap();
    let master = CyrusInstance::builder()
        .master(replica.as_sync_target().unwrap())
        .user("alice", "pw")
        .user("bob", "pw")
        .start()
        .unwrap();
    Box::pin(populate(&master)).await;

    let before = ServerDump::of_cyrus(&master).await.unwrap();
    assert!(before.message_count() >= 6, "{before:#?}");
    assert!(!diff(&before, &ServerDump::of_cyrus(&replica).await.unwrap()).is_empty());

    // Alice alone first: her mailboxes match, bob's do not exist yet.
    let m2 = &master;
    tokio::task::block_in_place(|| m2.run_tool_ok("sync_client", &["-v", "-u", "alice"])).unwrap();
    let r = ServerDump::of_cyrus(&replica).await.unwrap();
    let m = ServerDump::of_cyrus(&master).await.unwrap();
    for (name, mb) in &m.mailboxes {
        if name.starts_with("user/alice") {
            // Bob's \Seen on alice's folder lives in bob's seen db: it travels with -u bob.
            let mut mb = mb.clone();
            let mut rb = r.mailboxes.get(name).cloned().unwrap_or_default();
            mb.seen.clear();
            rb.seen.clear();
            assert_eq!(mb, rb, "{name} after -u alice\n{}", replica.diagnostics());
        }
    }
    assert!(!r.mailboxes.contains_key("user/bob"));

    tokio::task::block_in_place(|| m2.run_tool_ok("sync_client", &["-v", "-A"])).unwrap();
    let mut m = ServerDump::of_cyrus(&master).await.unwrap();
    let mut r = ServerDump::of_cyrus(&replica).await.unwrap();
    // Cyrus 3.6.1 does not replicate server annotations (mailbox ""): that is the only
    // expected difference.
    assert_eq!(
        diff(&m, &r),
        vec!["server annotation /shared/comment: \"server note\" only in a".to_string()]
    );
    m.server_annotations.clear();
    r.server_annotations.clear();
    let d = diff(&m, &r);
    assert!(
        d.is_empty(),
        "{}\n{}\n{}",
        d.join("\n"),
        master.diagnostics(),
        replica.diagnostics()
    );
    assert_same(&m, &r);
    // The dump saw what we made.
    let inbox = &m.mailboxes["user/alice"];
    assert_eq!(inbox.messages.len(), 3);
    assert!(inbox.uniqueid.is_some());
    assert_eq!(
        m.mailboxes["user/alice/Work"].seen.get("bob"),
        Some(&vec![1])
    );
    assert!(m.subscriptions["alice"].contains("Archive"));
    assert!(m.quotas.contains_key("user/alice"));
    assert_eq!(
        m.mailboxes["user/alice/Archive"].annotations["/shared/comment"],
        b"archive folder"
    );

    assert_eq!(
        m.sieve["alice"].active.as_deref(),
        Some("main"),
        "{:?}",
        m.sieve
    );
    assert_eq!(m.sieve["alice"].scripts.len(), 2);
    assert_eq!(
        m.sieve["alice"].scripts["spare"],
        hex::encode(<sha1::Sha1 as sha1::Digest>::digest(b"keep;\n"))
    );

    // Renames, deletes and moves replicate too.
    let mut al = ImapClient::proxy_to(master.imap_addr(), "alice", "admin", "adminpw")
        .await
        .unwrap();
    al.rename("Work", "Projects").await.unwrap();
    al.create("Tmp").await.unwrap();
    al.delete("Tmp").await.unwrap();
    al.select("INBOX").await.unwrap();
    let uids = al.uid_search("ALL").await.unwrap();
    assert_eq!(uids.len(), 3, "{uids:?}");
    al.uid_move(&uids[0].to_string(), "Projects").await.unwrap();
    al.logout().await.unwrap();
    tokio::task::block_in_place(|| m2.run_tool_ok("sync_client", &["-A"])).unwrap();
    let mut m = ServerDump::of_cyrus(&master).await.unwrap();
    let r = ServerDump::of_cyrus(&replica).await.unwrap();
    m.server_annotations.clear();
    assert_same(&m, &r);
    assert!(m.mailboxes.contains_key("user/alice/Projects"));
    assert!(!m.mailboxes.contains_key("user/alice/Work"));
    assert_eq!(m.mailboxes["user/alice/Projects"].messages.len(), 2);

    // A deliberate difference on the replica is reported.
    let mut ra = ImapClient::proxy_to(replica.imap_addr(), "alice", "admin", "adminpw")
        .await
        .unwrap();
    ra.select("INBOX").await.unwrap();
    ra.uid_store("2", "-FLAGS", &["\\Flagged"]).await.unwrap();
    ra.logout().await.unwrap();
    let r2 = ServerDump::of_cyrus(&replica).await.unwrap();
    let d = diff(&m, &r2);
    assert!(
        d.iter().any(|l| l.contains("user/alice: uid 2: flags")),
        "{d:?}"
    );
    assert!(
        d.iter().any(|l| l.contains("user/alice: highestmodseq")),
        "{d:?}"
    );
    let caught = std::panic::catch_unwind(|| assert_same(&m, &r2));
    assert!(caught.is_err());
}
