#![allow(clippy::unwrap_used)]
//! Our sync_client replicating into a real Cyrus 3.6 replica (its sync_server on loopback):
//! `-u`, `-m`, `-s`, `-A`, `-z`, then master-vs-replica comparison over the replica's IMAP.

mod sync_client_common;

use mailstore::{FlagOp, QuotaLimits};
use sync_client_common::*;
use testkit::{CyrusInstance, skip_without_cyrus};
use types::Uid;

fn replica() -> CyrusInstance {
    CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .user("bob", "pw")
        .start()
        .unwrap()
}

fn populate(m: &Master) {
    m.create("user.alice");
    m.create("user.alice.Work");
    m.create("user.alice.Work.Deep");
    m.create("user.bob");
    m.append("user.alice", &msg(1, 0), &["\\Seen"], Some(1_700_000_000));
    m.append(
        "user.alice",
        &msg(2, 5),
        &["\\Flagged", "$Label1"],
        Some(1_700_000_100),
    );
    m.append("user.alice", &msg(3, 50), &[], None);
    m.append("user.alice.Work", &msg(4, 1), &["\\Answered"], None);
    // The same body in two mailboxes is uploaded once.
    m.append("user.alice.Work.Deep", &msg(4, 1), &[], None);
    m.append("user.bob", &msg(5, 2000), &[], None);
    let s = &m.store;
    s.set_subscribed("alice", &Master::mbox("user.alice"), true)
        .unwrap();
    s.set_subscribed("alice", &Master::mbox("user.alice.Work"), true)
        .unwrap();
    s.set_quota(
        &Master::mbox("user.alice"),
        QuotaLimits {
            storage: Some(100_000),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.set_mailbox_annotation(
        &Master::mbox("user.alice.Work"),
        "/comment",
        "",
        b"work folder",
    )
    .unwrap();
    s.put_sieve(
        "alice",
        "main",
        b"require \"fileinto\";\r\nfileinto \"Work\";\r\n",
        None,
    )
    .unwrap();
    s.activate_sieve("alice", Some("main")).unwrap();
}

/// Cyrus 3.6 keeps replicated scripts as messages of `user/<u>/#sieve` and compiles them into
/// `<sievedir>/uuid/…/<name>.bc` with `defaultbc` for the active one, even when the script
/// arrived by legacy APPLY SIEVE.
fn assert_sieve_active(r: &CyrusInstance) {
    fn walk(d: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(&r.sieve_dir(), &mut files);
    assert!(files.iter().any(|f| f == "main.bc"), "{files:?}");
    assert!(files.iter().any(|f| f == "defaultbc"), "{files:?}");
}

#[test]
fn user_sync_then_incremental_into_cyrus() {
    if skip_without_cyrus("user_sync_then_incremental_into_cyrus") {
        return;
    }
    let r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    populate(&m);

    let out = m.sync_client(&["-v", "-u", "alice", "bob"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("USER alice"), "{stdout}");
    let d = dump(&r);
    assert_replica_matches(&m.store, &d);
    assert_eq!(
        d.subscriptions.get("alice").map(|s| s.len()),
        Some(2),
        "{:?}",
        d.subscriptions
    );
    assert!(
        d.quotas.get("user/alice").is_some_and(|q| q
            .iter()
            .any(|(res, _, lim)| res == "STORAGE" && *lim == 100_000)),
        "{:?}",
        d.quotas
    );
    assert_eq!(
        d.mailboxes["user/alice/Work"]
            .annotations
            .get("/shared/comment")
            .map(Vec::as_slice),
        Some(&b"work folder"[..])
    );
    assert_sieve_active(&r);

    // Nothing changed: a second run sends no mailbox.
    let out = m.sync_client(&["-v", "-u", "alice"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("MAILBOX "),
        "unchanged sync sent: {stdout}"
    );

    // Incremental: flags, expunge, new message, a rename, a delete with tombstone.
    m.flags("user.alice", &[1], FlagOp::Remove, &["\\Seen"]);
    m.flags("user.alice", &[3], FlagOp::Add, &["\\Deleted", "Junk"]);
    m.store
        .expunge(&Master::mbox("user.alice"), &[Uid(3)])
        .unwrap();
    m.append("user.alice.Work", &msg(6, 3), &[], None);
    m.store
        .rename_mailbox_tree(
            &Master::mbox("user.alice.Work"),
            &Master::mbox("user.alice.Projects"),
            None,
        )
        .unwrap();
    m.create("user.alice.Trash");
    m.append("user.alice.Trash", &msg(7, 0), &[], None);
    let out = m.sync_client(&["-u", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    assert_replica_matches(&m.store, &dump(&r));

    m.store
        .delete_mailbox(&Master::mbox("user.alice.Trash"))
        .unwrap();
    let out = m.sync_client(&["-u", "alice"]);
    assert_eq!(out.status.code(), Some(0));
    assert_replica_matches(&m.store, &dump(&r));
}

#[test]
fn mailbox_meta_all_and_compress_into_cyrus() {
    if skip_without_cyrus("mailbox_meta_all_and_compress_into_cyrus") {
        return;
    }
    let r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    populate(&m);
    m.create("shared");
    m.create("shared.lists");
    m.append("shared.lists", &msg(9, 9), &["\\Flagged"], None);

    // -m with admin external names: only those mailboxes.
    let out = m.sync_client(&["-m", "user/bob", "user/alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    let d = dump(&r);
    assert!(d.mailboxes.contains_key("user/bob"));
    assert!(d.mailboxes.contains_key("user/alice"));
    assert!(!d.mailboxes.contains_key("user/alice/Work"));

    // -s: meta only (subscriptions, sieve), no mailboxes.
    let out = m.sync_client(&["-s", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    let d = dump(&r);
    assert!(!d.mailboxes.contains_key("user/alice/Work"));
    // Cyrus lists only existing subscribed mailboxes.
    assert!(d.subscriptions.get("alice").is_some_and(|s| !s.is_empty()));
    assert_sieve_active(&r);

    // -A -z: every user and every shared mailbox, compression required (Cyrus offers it).
    let out = m.sync_client(&["-A", "-z"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    assert_replica_matches(&m.store, &dump(&r));

    // A non-existent local user is skipped, exit 0.
    let out = m.sync_client(&["-v", "-u", "nobody"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Does not exist locally nobody"));
}

#[test]
fn usage_errors() {
    let m = Master::new("127.0.0.1:1", "");
    assert_eq!(m.sync_client(&[]).status.code(), Some(64));
    assert_eq!(m.sync_client(&["-u", "-m", "x"]).status.code(), Some(64));
    assert_eq!(m.sync_client(&["-X"]).status.code(), Some(64));
    // -o: one connection attempt, then exit 1.
    assert_eq!(m.sync_client(&["-o", "-u", "x"]).status.code(), Some(1));
}

#[test]
fn over_the_replicas_imap_port() {
    if skip_without_cyrus("over_the_replicas_imap_port") {
        return;
    }
    let r = replica();
    // sync_host pointing at the replica's imapd: csync inside IMAP (SYNCGET/SYNCAPPLY).
    let m = Master::new(&r.imap_addr().to_string(), "");
    populate(&m);
    let out = m.sync_client(&["-v", "-v", "-u", "alice", "bob"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("S0 SYNCGET USER alice"), "{err}");
    assert_replica_matches(&m.store, &dump(&r));
    // Rolling over IMAP too, and -z refuses the (never compressed) IMAP flavour.
    m.append("user.alice", &msg(70, 1), &[], None);
    assert_eq!(m.sync_client(&["-R", "-1"]).status.code(), Some(0));
    assert_replica_matches(&m.store, &dump(&r));
    assert_eq!(
        m.sync_client(&["-z", "-o", "-u", "alice"]).status.code(),
        Some(1)
    );
}
