#![allow(clippy::unwrap_used)]
//! Divergence repair against a real Cyrus 3.6 replica (csync §9.7): split brain (same UID,
//! different messages), a flag change made on the replica, and `-O` refusing copy-back.

mod sync_client_common;

use sync_client_common::*;
use testkit::{CyrusInstance, ImapClient, skip_without_cyrus};
use types::Guid;

fn replica() -> CyrusInstance {
    CyrusInstance::builder()
        .replica()
        .user("alice", "pw")
        .start()
        .unwrap()
}

/// Append on the replica as alice, and optionally flag a UID there.
fn replica_side(r: &CyrusInstance, mailbox: &str, body: &[u8], flag_uid: Option<u32>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = ImapClient::proxy_to(r.imap_addr(), "alice", "admin", "adminpw")
            .await
            .unwrap();
        c.append(mailbox, &[], None, body).await.unwrap();
        if let Some(u) = flag_uid {
            c.select(mailbox).await.unwrap();
            c.uid_store(&u.to_string(), "+FLAGS", &["\\Flagged"])
                .await
                .unwrap();
        }
        c.logout().await.unwrap();
    });
}

fn live_guids(m: &Master, name: &str) -> Vec<Guid> {
    let mut v: Vec<Guid> = m
        .store
        .records(&Master::mbox(name))
        .unwrap()
        .into_iter()
        .filter(|r| !r.expunged)
        .map(|r| r.guid)
        .collect();
    v.sort();
    v
}

#[test]
fn split_brain_and_replica_flag_are_merged() {
    if skip_without_cyrus("split_brain_and_replica_flag_are_merged") {
        return;
    }
    let r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    m.create("user.alice");
    m.append("user.alice", &msg(1, 0), &[], None);
    m.append("user.alice", &msg(2, 0), &[], None);
    assert_eq!(m.sync_client(&["-u", "alice"]).status.code(), Some(0));

    // Both sides take UID 3 for different messages; the replica also flags UID 1.
    let theirs = msg(100, 3);
    replica_side(&r, "INBOX", &theirs, Some(1));
    let ours = msg(200, 4);
    m.append("user.alice", &ours, &[], None);

    let out = m.sync_client(&["-v", "-u", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", r.diagnostics());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FULLMAILBOX user.alice"));
    // Both messages survive on the master, under new UIDs, and the replica's flag won.
    let g = live_guids(&m, "user.alice");
    assert!(g.contains(&Guid::of(&theirs)), "copy-back missing");
    assert!(g.contains(&Guid::of(&ours)), "our message lost");
    assert_eq!(g.len(), 4);
    let first = m
        .store
        .record(&Master::mbox("user.alice"), types::Uid(1))
        .unwrap()
        .unwrap();
    assert!(first.flags.flagged, "replica's newer flag change must win");
    assert_replica_matches(&m.store, &dump(&r));
}

#[test]
fn no_copyback_with_capital_o() {
    if skip_without_cyrus("no_copyback_with_capital_o") {
        return;
    }
    let r = replica();
    let m = Master::new(&cyrus_target(&r), "");
    m.create("user.alice");
    m.append("user.alice", &msg(1, 0), &[], None);
    assert_eq!(m.sync_client(&["-u", "alice"]).status.code(), Some(0));

    let theirs = msg(300, 1);
    replica_side(&r, "INBOX", &theirs, None);
    m.append("user.alice", &msg(301, 2), &[], None);
    let before = live_guids(&m, "user.alice");
    let out = m.sync_client(&["-v", "-O", "-u", "alice"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FULLMAILBOX"));
    // Nothing is pulled back from the replica with -O.
    assert_eq!(live_guids(&m, "user.alice"), before);
    assert!(!before.contains(&Guid::of(&theirs)));
}
