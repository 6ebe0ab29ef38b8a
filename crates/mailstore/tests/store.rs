//! Mailstore behaviour: mail-server operations, replica primitives, CRCs over stored state and
//! the sync log records each operation writes.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use mailstore::crc::mailbox_crcs;
use mailstore::sync_log::{Channel, SyncLogConfig};
use mailstore::types::{Guid, MboxName, Modseq, Uid, UidValidity, UniqueId};
use mailstore::*;

#[derive(Debug)]
struct FixedClock(AtomicI64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

fn open(dir: &Path, log: bool) -> Store {
    let mut cfg = StoreConfig::simple(dir);
    if log {
        cfg.sync_log = SyncLogConfig {
            enabled: true,
            config_dir: cfg.config_dir.clone(),
            channels: vec![Channel::Default, Channel::Named("repl1".into())],
        };
    }
    Store::open_with_clock(cfg, Arc::new(FixedClock(AtomicI64::new(1_700_000_000)))).unwrap()
}

fn n(s: &str) -> MboxName {
    MboxName::new(s).unwrap()
}

fn take_log(dir: &Path) -> String {
    let p = dir.join("config/sync/log");
    let s = fs::read_to_string(&p).unwrap_or_default();
    let _ = fs::remove_file(&p);
    s
}

const MSG_A: &[u8] =
    b"From: alice@example.com\r\nTo: fred@example.com\r\nSubject: hello\r\n\r\nHi Fred\r\n";
const MSG_B: &[u8] =
    b"From: bob@example.com\r\nTo: fred@example.com\r\nSubject: again\r\n\r\nHello again\r\n";

#[test]
fn create_append_and_log() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    let inbox = n("user.fred");
    let e = s.create_mailbox(&inbox, CreateOptions::default()).unwrap();
    assert_eq!(e.acl.as_deref(), Some("fred\tlrswipkxtecdan\t"));
    assert_eq!(e.uniqueid.as_str().len(), 24);
    assert!(matches!(
        s.create_mailbox(&inbox, CreateOptions::default()),
        Err(StoreError::MailboxExists(_))
    ));
    assert_eq!(take_log(tmp.path()), "MAILBOX user.fred\n");

    let body = s.stage_bytes("default", MSG_A).unwrap();
    assert_eq!(
        body.guid().to_hex(),
        "258554f4f919439e68f0b5fef2ed4eed80fe5660"
    );
    let opts = AppendOptions {
        flags: SystemFlags {
            seen: true,
            ..Default::default()
        },
        user_flags: vec!["$Forwarded".into()],
        internaldate: Some(1_699_999_000),
        annotations: vec![],
    };
    let a1 = s.append(&inbox, &body, &opts).unwrap();
    let a2 = s
        .append(
            &inbox,
            &s.stage_bytes("default", MSG_B).unwrap(),
            &Default::default(),
        )
        .unwrap();
    assert_eq!((a1.uid, a2.uid), (Uid(1), Uid(2)));
    assert!(a2.modseq > a1.modseq);
    assert_eq!(
        take_log(tmp.path()),
        "APPEND user.fred\nMAILBOX user.fred\nAPPEND user.fred\nMAILBOX user.fred\n"
    );
    assert!(
        fs::read_to_string(tmp.path().join("config/sync/repl1/log"))
            .unwrap()
            .contains("APPEND")
    );

    let recs = s.records(&inbox).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].user_flags, vec!["$Forwarded".to_owned()]);
    assert_eq!(recs[0].internaldate, 1_699_999_000);
    assert_eq!(recs[0].size, MSG_A.len() as u64);
    assert_eq!(recs[0].createdmodseq, recs[0].modseq);
    let path = s.message_path(&inbox, &recs[0]).unwrap();
    assert_eq!(read_body(&path).unwrap(), MSG_A);
    let h = s.header(&inbox).unwrap();
    assert_eq!(h.last_uid, Uid(2));
    assert_eq!(h.highestmodseq, a2.modseq);

    let st = s.mailbox_state(&inbox).unwrap().unwrap();
    assert_eq!((st.sync_crc, st.sync_crc_annot), mailbox_crcs(&recs));
}

#[test]
fn flags_expunge_copy_move() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    let inbox = n("user.fred");
    let arch = n("user.fred.Archive");
    s.create_mailbox(&inbox, Default::default()).unwrap();
    s.create_mailbox(&arch, Default::default()).unwrap();
    s.create_mailbox(&n("user.bob"), Default::default())
        .unwrap();
    let body = s.stage_bytes("default", MSG_A).unwrap();
    for _ in 0..3 {
        s.append(&inbox, &body, &Default::default()).unwrap();
    }
    take_log(tmp.path());

    let ch = FlagChange {
        system: SystemFlags {
            flagged: true,
            ..Default::default()
        },
        user: vec!["Work".into()],
    };
    let r = s
        .store_flags(&inbox, &[Uid(1), Uid(2), Uid(9)], FlagOp::Add, &ch, None)
        .unwrap();
    assert_eq!(r.changed.len(), 2);
    let m1 = r.changed[0].1;
    // UNCHANGEDSINCE below the record's modseq refuses it.
    let r2 = s
        .store_flags(
            &inbox,
            &[Uid(1), Uid(3)],
            FlagOp::Remove,
            &ch,
            Some(Modseq(m1.0 - 1)),
        )
        .unwrap();
    assert_eq!(r2.modified, vec![Uid(1)]);
    // Adding flags already present changes nothing.
    let r3 = s
        .store_flags(&inbox, &[Uid(2)], FlagOp::Add, &ch, None)
        .unwrap();
    assert!(r3.changed.is_empty());
    assert_eq!(take_log(tmp.path()), "MAILBOX user.fred\n".repeat(3));

    assert_eq!(s.expunge(&inbox, &[Uid(3), Uid(3)]).unwrap(), vec![Uid(3)]);
    let recs = s.records(&inbox).unwrap();
    assert!(recs[2].expunged);
    assert_eq!(recs[0].user_flags, vec!["Work".to_owned()]);
    take_log(tmp.path());

    let pairs = s
        .copy_messages(&inbox, &arch, &[Uid(1), Uid(3)], false)
        .unwrap();
    assert_eq!(pairs, vec![(Uid(1), Uid(1))]);
    assert_eq!(
        take_log(tmp.path()),
        "DOUBLEMAILBOX user.fred user.fred.Archive\nAPPEND user.fred.Archive\nMAILBOX user.fred.Archive\n"
    );
    let moved = s
        .copy_messages(&inbox, &n("user.bob"), &[Uid(2)], true)
        .unwrap();
    assert_eq!(moved, vec![(Uid(2), Uid(1))]);
    assert!(s.record(&inbox, Uid(2)).unwrap().unwrap().expunged);
    let bob = s.records(&n("user.bob")).unwrap();
    assert_eq!(
        read_body(&s.message_path(&n("user.bob"), &bob[0]).unwrap()).unwrap(),
        MSG_A
    );
    // One body file per owner, shared by all of fred's mailboxes.
    let fred_dir = tmp.path().join("spool/user/fred");
    let files: Vec<_> = walk(&fred_dir);
    assert_eq!(files.len(), 1, "{files:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hierarchy_rename_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    assert!(matches!(
        s.create_mailbox(&n("user.fred.Sent"), Default::default()),
        Err(StoreError::NoParent(_))
    ));
    s.create_mailbox(&n("user.fred"), Default::default())
        .unwrap();
    s.create_mailbox(&n("user.fred.a.b"), Default::default())
        .unwrap();
    let a = s.mailbox_entry(&n("user.fred.a")).unwrap().unwrap();
    assert!(a.mbtype.intermediate);
    assert_eq!(a.mbtype.code(), "ei");
    // Creating over an intermediate makes it real.
    s.create_mailbox(&n("user.fred.a"), Default::default())
        .unwrap();
    assert!(
        s.mailbox_entry(&n("user.fred.a"))
            .unwrap()
            .unwrap()
            .mbtype
            .is_real()
    );
    let names: Vec<_> = s
        .user_mailboxes("fred")
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(names, ["user.fred", "user.fred.a", "user.fred.a.b"]);
    take_log(tmp.path());

    let old = s.lookup(&n("user.fred.a.b")).unwrap();
    s.rename_mailbox_tree(&n("user.fred.a"), &n("user.fred.x"), None)
        .unwrap();
    let log = take_log(tmp.path());
    assert!(
        log.starts_with(
            "RENAME user.fred.a user.fred.x\nMAILBOX user.fred.a\nMAILBOX user.fred.x\n"
        ),
        "{log}"
    );
    assert!(log.contains("RENAME user.fred.a.b user.fred.x.b\n"));
    let moved = s.lookup(&n("user.fred.x.b")).unwrap();
    assert_eq!(moved.uniqueid, old.uniqueid);
    let st = s.mailbox_state(&n("user.fred.x.b")).unwrap().unwrap();
    assert_eq!(st.entry.foldermodseq, st.header.unwrap().highestmodseq);
    let tomb = s.mailbox_entry(&n("user.fred.a.b")).unwrap().unwrap();
    assert!(tomb.mbtype.deleted);
    assert!(s.mailbox_state(&n("user.fred.a.b")).unwrap().is_none());
    assert_eq!(
        s.former_names(old.uniqueid.as_str()).unwrap(),
        vec![n("user.fred.a.b")]
    );

    // Immediate delete of a parent with children leaves an intermediate.
    s.delete_mailbox(&n("user.fred.x")).unwrap();
    assert!(
        s.mailbox_entry(&n("user.fred.x"))
            .unwrap()
            .unwrap()
            .mbtype
            .intermediate
    );
    s.delete_mailbox(&n("user.fred.x.b")).unwrap();
    assert_eq!(
        take_log(tmp.path()),
        "MAILBOX user.fred.x\nUNMAILBOX user.fred.x.b\nMAILBOX user.fred.x.b\n"
    );

    // A replica rename allocates no modseq: FOLDERMODSEQ becomes the current HIGHESTMODSEQ.
    s.create_mailbox(&n("user.fred.Proj"), Default::default())
        .unwrap();
    let before = s.mailbox_state(&n("user.fred.Proj")).unwrap().unwrap();
    let hms = before.header.unwrap().highestmodseq;
    s.replica_rename(
        &n("user.fred.Proj"),
        &n("user.fred.Projects"),
        None,
        Some(UidValidity(5)),
    )
    .unwrap();
    let after = s.mailbox_state(&n("user.fred.Projects")).unwrap().unwrap();
    assert_eq!(after.header.unwrap().highestmodseq, hms);
    assert_eq!(after.entry.foldermodseq, hms);
    assert_eq!(after.entry.uidvalidity, UidValidity(5));
    assert_eq!(after.entry.uniqueid, before.entry.uniqueid);

    // Listing by prefix is case-sensitive.
    s.create_mailbox(&n("user.fred.work"), Default::default())
        .unwrap();
    let listed: Vec<_> = s
        .list_mailboxes("user.fred.P")
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(listed, ["user.fred.Projects"]);

    // Delayed delete renames into DELETED.
    s.create_mailbox(&n("user.fred.Old"), Default::default())
        .unwrap();
    let d = s.delete_mailbox_delayed(&n("user.fred.Old")).unwrap();
    assert!(d.as_str().starts_with("DELETED.user.fred.Old."), "{d}");
    let names: Vec<_> = s
        .user_mailboxes("fred")
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(names.last().map(String::as_str), Some(d.as_str()));
}

#[test]
fn per_user_data_quota_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    let inbox = n("user.fred");
    s.create_mailbox(&inbox, Default::default()).unwrap();
    s.create_mailbox(&n("user.fred.Sent"), Default::default())
        .unwrap();
    take_log(tmp.path());

    let seen = SeenState {
        lastread: 5,
        lastuid: Uid(2),
        lastchange: 6,
        seenuids: "1:2".into(),
    };
    s.set_seen("bob", "abc", &seen).unwrap();
    assert_eq!(s.seen("bob", "abc").unwrap(), Some(seen.clone()));
    assert!(
        s.set_subscribed("fred", &n("user.fred.Sent"), true)
            .unwrap()
    );
    assert!(
        !s.set_subscribed("fred", &n("user.fred.Sent"), true)
            .unwrap()
    );
    assert_eq!(
        s.subscriptions("fred").unwrap(),
        vec!["user.fred.Sent".to_owned()]
    );
    s.set_subscribed("fred", &n("user.fred.Sent"), false)
        .unwrap();
    assert!(s.subscriptions("fred").unwrap().is_empty());
    assert_eq!(
        take_log(tmp.path()),
        "SEEN bob abc\nSUB fred user.fred.Sent\nSUB fred user.fred.Sent\nSUB fred user.fred.Sent\n"
    );

    let script = b"require \"fileinto\";\r\nfileinto \"Junk\";\r\n";
    s.put_sieve("fred", "main", script, Some(1_700_000_000))
        .unwrap();
    s.put_sieve("fred", "vacation", b"keep;", None).unwrap();
    s.activate_sieve("fred", Some("main")).unwrap();
    let scripts = s.sieve_scripts("fred").unwrap();
    assert_eq!(scripts.len(), 2);
    assert!(scripts[0].active && !scripts[1].active);
    assert_eq!(
        scripts[0].guid().to_hex(),
        "b28d3a3ae27f34e91ea547c18631ff85ca93e40b"
    );
    assert!(matches!(
        s.activate_sieve("fred", Some("nope")),
        Err(StoreError::ScriptNotFound(_))
    ));
    assert!(s.delete_sieve("fred", "main").unwrap());
    assert!(!s.delete_sieve("fred", "main").unwrap());
    assert_eq!(take_log(tmp.path()), "META fred\n".repeat(6));

    let limits = QuotaLimits {
        storage: Some(102_400),
        ..Default::default()
    };
    s.set_quota(&inbox, limits, Some(Modseq(12))).unwrap();
    assert_eq!(take_log(tmp.path()), "QUOTA user.fred\n");
    let q = s.quota(&inbox).unwrap().unwrap();
    assert_eq!((q.limits, q.modseq), (limits, Modseq(12)));
    assert_eq!(
        s.quota_root_of(&n("user.fred.Sent")).unwrap(),
        Some(inbox.clone())
    );
    s.append(
        &inbox,
        &s.stage_bytes("default", MSG_A).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let u = s.quota_usage(&inbox).unwrap();
    assert_eq!((u.storage_bytes, u.messages, u.folders), (74, 1, 2));
    assert!(s.remove_quota(&inbox).unwrap());
    assert!(s.quota(&inbox).unwrap().is_none());
    take_log(tmp.path());

    s.set_mailbox_annotation(&n("user.fred.Sent"), "/specialuse", "fred", b"\\Sent")
        .unwrap();
    let ann = s.mailbox_annotations(&n("user.fred.Sent")).unwrap();
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].value, b"\\Sent");
    let st = s.mailbox_state(&n("user.fred.Sent")).unwrap().unwrap();
    assert_eq!(st.entry.foldermodseq, ann[0].modseq);
    s.set_server_annotation("/comment", "", b"hello").unwrap();
    assert_eq!(s.server_annotations().unwrap()[0].value, b"hello");
    assert_eq!(
        take_log(tmp.path()),
        "MAILBOX user.fred.Sent\nANNOTATION \"\"\n"
    );

    s.set_acl(&inbox, "fred\tlrswipkxtecdan\tanyone\tp\t")
        .unwrap();
    assert_eq!(
        s.lookup(&inbox).unwrap().acl.as_deref(),
        Some("fred\tlrswipkxtecdan\tanyone\tp\t")
    );

    s.delete_user("fred").unwrap();
    assert!(s.user_mailboxes("fred").unwrap().is_empty());
    assert!(s.sieve_scripts("fred").unwrap().is_empty());
    assert!(take_log(tmp.path()).ends_with("UNUSER fred\n"));
}

/// The §7.6 mailbox stored through the replica primitives reproduces the spec's CRCs, and the
/// values come back exactly as sent.
#[test]
fn replica_stores_exactly_what_master_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), false);
    let inbox = n("user.fred");
    let entry = MailboxEntry {
        name: inbox.clone(),
        uniqueid: UniqueId::new("6b1f3d0e-2c4a-4f7e-9b1d-1f2e3d4c5b6a").unwrap(),
        mbtype: MbType::EMAIL,
        partition: Some("default".into()),
        acl: Some("fred\tlrswipkxtecdan\t".into()),
        uidvalidity: UidValidity(1_699_990_000),
        createdmodseq: Modseq(1),
        foldermodseq: Modseq(1),
        mtime: 0,
    };
    s.replica_put_entry(&entry).unwrap();
    let a = s.stage_bytes("default", MSG_A).unwrap();
    let b = s.stage_bytes("default", MSG_B).unwrap();
    s.replica_store_body(&inbox, &a).unwrap();
    s.replica_store_body(&inbox, &b).unwrap();
    let g = |h: &str| Guid::parse_hex(h.as_bytes()).unwrap();
    let recs = vec![
        MessageRecord {
            uid: Uid(1),
            modseq: Modseq(5),
            last_updated: 1_700_000_000,
            internaldate: 1_699_999_000,
            savedate: 1_700_000_000,
            createdmodseq: Modseq(5),
            size: 74,
            guid: a.guid(),
            flags: SystemFlags {
                seen: true,
                ..Default::default()
            },
            user_flags: vec!["$Forwarded".into()],
            ..Default::default()
        },
        MessageRecord {
            uid: Uid(2),
            modseq: Modseq(7),
            last_updated: 1_700_000_100,
            internaldate: 1_700_000_050,
            savedate: 1_700_000_100,
            createdmodseq: Modseq(7),
            size: 76,
            guid: b.guid(),
            annotations: vec![Annotation {
                entry: "/comment".into(),
                userid: String::new(),
                value: b"important".to_vec(),
                modseq: Modseq(7),
            }],
            ..Default::default()
        },
        MessageRecord {
            uid: Uid(3),
            modseq: Modseq(9),
            last_updated: 1_700_000_200,
            internaldate: 1_700_000_150,
            savedate: 1_700_000_150,
            createdmodseq: Modseq(8),
            size: 73,
            guid: g("da3b9d4214bf4878f7ff8abbdae1b6ddeb74259d"),
            expunged: true,
            ..Default::default()
        },
    ];
    let header = MailboxHeader {
        last_uid: Uid(3),
        highestmodseq: Modseq(9),
        recentuid: Uid(3),
        recenttime: 1_700_000_200,
        last_appenddate: 1_700_000_150,
        options: MailboxOptions::from_letters("P"),
        ..Default::default()
    };
    s.replica_write(&inbox, |e, t| {
        let id = e.uniqueid.as_str();
        for r in &recs {
            t.put_record(id, r)?;
        }
        t.put_header(id, &header)?;
        t.raise_modseq_counter(header.highestmodseq)
    })
    .unwrap();
    let st = s.mailbox_state(&inbox).unwrap().unwrap();
    assert_eq!(
        (st.sync_crc, st.sync_crc_annot),
        (966_497_061, 1_497_743_152)
    );
    assert_eq!(st.header.unwrap(), header);
    assert_eq!(st.entry.uidvalidity, UidValidity(1_699_990_000));
    assert_eq!(st.entry.uniqueid, entry.uniqueid);
    assert_eq!(s.records(&inbox).unwrap(), recs);
    // RESERVE finds bodies by GUID in the listed mailboxes only.
    assert!(
        s.find_body("default", std::slice::from_ref(&inbox), &a.guid())
            .unwrap()
            .is_some()
    );
    assert!(
        s.find_body("default", &[n("user.other")], &a.guid())
            .unwrap()
            .is_none()
    );
    let missing = Guid::of(b"never stored");
    assert!(
        s.find_body("default", std::slice::from_ref(&inbox), &missing)
            .unwrap()
            .is_none()
    );
    // A local change after replication continues above the master's modseqs.
    let next = s.append(&inbox, &a, &Default::default()).unwrap();
    assert_eq!((next.uid, next.modseq), (Uid(4), Modseq(10)));

    // The intermediate form replaces a real mailbox and discards its contents.
    let mut inter = entry.clone();
    inter.uniqueid = UniqueId::new("7c2e").unwrap();
    inter.mbtype = MbType::intermediate();
    inter.partition = None;
    inter.foldermodseq = Modseq(42);
    s.replica_put_entry(&inter).unwrap();
    let st = s.mailbox_state(&inbox).unwrap().unwrap();
    assert!(st.header.is_none());
    assert!(s.records(&inbox).is_err());
}

#[test]
fn bad_input_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    let inbox = n("user.fred");
    s.create_mailbox(&inbox, Default::default()).unwrap();
    let body = s.stage_bytes("default", MSG_A).unwrap();
    let bad = AppendOptions {
        user_flags: vec!["bad flag".into()],
        ..Default::default()
    };
    assert!(matches!(
        s.append(&inbox, &body, &bad),
        Err(StoreError::BadFlag(_))
    ));
    assert!(s.records(&inbox).unwrap().is_empty());
    assert_eq!(s.header(&inbox).unwrap().last_uid, Uid(0));
    assert!(matches!(
        s.create_mailbox(
            &n("user.x"),
            CreateOptions {
                partition: Some("nope".into()),
                ..Default::default()
            }
        ),
        Err(StoreError::UnknownPartition(_))
    ));
    assert!(matches!(
        s.append(&n("user.none"), &body, &Default::default()),
        Err(StoreError::MailboxNotFound(_))
    ));
    let too_many: Vec<String> = (0..129).map(|i| format!("k{i}")).collect();
    let many = AppendOptions {
        user_flags: too_many,
        ..Default::default()
    };
    assert!(matches!(
        s.append(&inbox, &body, &many),
        Err(StoreError::TooManyUserFlags(_))
    ));
    assert!(s.records(&inbox).unwrap().is_empty());
}

/// LMTP-style delivery to several mailboxes: one body file per owner, and a failing target
/// (missing mailbox, bad keyword) does not fail the others, each reporting its own error.
#[test]
fn deliver_to_many_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    for m in ["user.fred", "user.fred.Work", "user.bob"] {
        s.create_mailbox(&n(m), Default::default()).unwrap();
    }
    take_log(tmp.path());
    let body = s.stage_bytes("default", MSG_A).unwrap();
    let bad = AppendOptions {
        user_flags: vec!["bad flag".into()],
        ..Default::default()
    };
    let targets = vec![
        (n("user.fred"), AppendOptions::default()),
        (n("user.fred.Work"), bad),
        (n("user.bob"), AppendOptions::default()),
        (n("user.nobody"), AppendOptions::default()),
    ];
    let r = s.append_to_many(&targets, &body);
    assert_eq!(r[0].as_ref().unwrap().uid, Uid(1));
    assert!(matches!(r[1], Err(StoreError::BadFlag(_))), "{:?}", r[1]);
    assert_eq!(r[2].as_ref().unwrap().uid, Uid(1));
    assert!(
        matches!(r[3], Err(StoreError::MailboxNotFound(_))),
        "{:?}",
        r[3]
    );
    assert!(s.records(&n("user.fred.Work")).unwrap().is_empty());
    assert_eq!(walk(&tmp.path().join("spool/user/fred")).len(), 1);
    assert_eq!(walk(&tmp.path().join("spool/user/bob")).len(), 1);
    let log = take_log(tmp.path());
    assert!(
        log.contains("APPEND user.fred\n") && log.contains("APPEND user.bob\n"),
        "{log}"
    );
}

/// Flag changes and expunge over many UIDs (the one-pass path) keep message annotations.
#[test]
fn bulk_flags_keep_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), false);
    let inbox = n("user.fred");
    s.create_mailbox(&inbox, Default::default()).unwrap();
    let body = s.stage_bytes("default", MSG_A).unwrap();
    for _ in 0..40 {
        s.append(&inbox, &body, &Default::default()).unwrap();
    }
    s.set_message_annotation(&inbox, Uid(7), "/comment", "", b"keep me")
        .unwrap();
    let uids: Vec<Uid> = (1..=45).map(Uid).collect();
    let ch = FlagChange {
        system: SystemFlags {
            seen: true,
            ..Default::default()
        },
        user: vec![],
    };
    let r = s
        .store_flags(&inbox, &uids, FlagOp::Add, &ch, None)
        .unwrap();
    assert_eq!(r.changed.len(), 40);
    assert_eq!(s.expunge(&inbox, &uids[..35]).unwrap().len(), 35);
    let rec = s.record(&inbox, Uid(7)).unwrap().unwrap();
    assert!(rec.flags.seen && rec.expunged);
    assert_eq!(rec.annotations.len(), 1);
    assert_eq!(rec.annotations[0].value, b"keep me");
    let recs = s.records(&inbox).unwrap();
    assert_eq!(recs.iter().filter(|r| r.expunged).count(), 35);
    let modseqs: std::collections::HashSet<_> = recs.iter().map(|r| r.modseq).collect();
    assert_eq!(modseqs.len(), 40);
    assert_eq!(
        s.header(&inbox).unwrap().highestmodseq,
        recs.iter().map(|r| r.modseq).max().unwrap()
    );
}

/// Records Cyrus 3.6.1 writes for these operations (checked against a real Cyrus by
/// bins/tests/sync_log_parity.rs).
#[test]
fn sync_log_records_as_cyrus() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    for m in ["user.fred", "user.fred.A", "user.fred.A.B", "user.fred.C"] {
        s.create_mailbox(&n(m), Default::default()).unwrap();
    }
    take_log(tmp.path());

    // A new quota root: MAILBOX for every mailbox whose root changes, then QUOTA.
    let lim = QuotaLimits {
        storage: Some(100),
        ..Default::default()
    };
    s.set_quota(&n("user.fred.A"), lim, None).unwrap();
    assert_eq!(
        take_log(tmp.path()),
        "MAILBOX user.fred.A\nMAILBOX user.fred.A.B\nQUOTA user.fred.A\n"
    );
    s.set_quota(&n("user.fred"), lim, None).unwrap();
    assert_eq!(
        take_log(tmp.path()),
        "MAILBOX user.fred\nMAILBOX user.fred.C\nQUOTA user.fred\n"
    );
    // Changing an existing root's limits: QUOTA only.
    s.set_quota(&n("user.fred"), QuotaLimits::default(), None)
        .unwrap();
    assert_eq!(take_log(tmp.path()), "QUOTA user.fred\n");

    // Immediate delete: UNMAILBOX then MAILBOX.
    s.delete_mailbox(&n("user.fred.C")).unwrap();
    assert_eq!(
        take_log(tmp.path()),
        "UNMAILBOX user.fred.C\nMAILBOX user.fred.C\n"
    );

    // Delayed user delete: each mailbox renamed on its own, then UNUSER; the DELETED copies
    // keep their contents, seen state and subscriptions go.
    s.set_subscribed("fred", &n("user.fred.A"), true).unwrap();
    let body = s.stage_bytes("default", MSG_A).unwrap();
    s.append(&n("user.fred.A.B"), &body, &AppendOptions::default())
        .unwrap();
    take_log(tmp.path());
    s.delete_user_delayed("fred").unwrap();
    let log = take_log(tmp.path());
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 10, "{log}");
    assert!(
        lines[0].starts_with("RENAME user.fred DELETED.user.fred."),
        "{log}"
    );
    assert_eq!(lines[1], "MAILBOX user.fred");
    assert!(
        lines[3].starts_with("RENAME user.fred.A DELETED.user.fred.A."),
        "{log}"
    );
    assert!(
        lines[6].starts_with("RENAME user.fred.A.B DELETED.user.fred.A.B."),
        "{log}"
    );
    assert_eq!(lines[9], "UNUSER fred");
    let left = s.user_mailboxes("fred").unwrap();
    assert_eq!(left.len(), 3);
    assert!(
        left.iter()
            .all(|e| e.name.is_deleted_copy(&Default::default()))
    );
    let b = left
        .iter()
        .find(|e| e.name.as_str().starts_with("DELETED.user.fred.A.B."))
        .unwrap();
    assert_eq!(s.records(&b.name).unwrap().len(), 1);
    assert!(s.subscriptions("fred").unwrap().is_empty());
    assert!(s.quota(&n("user.fred")).unwrap().is_none());
}

/// Duplicate delivery marks are per (Message-ID, mailbox) and survive a reopen.
#[test]
fn duplicate_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    let a = s
        .create_mailbox(&n("user.fred"), Default::default())
        .unwrap();
    let b = s
        .create_mailbox(&n("user.fred.B"), Default::default())
        .unwrap();
    take_log(tmp.path());
    assert!(!s.duplicate_check(&a, "<x@y>").unwrap());
    s.duplicate_mark(&a, "<x@y>", Uid(1)).unwrap();
    assert!(s.duplicate_check(&a, "<x@y>").unwrap());
    assert!(!s.duplicate_check(&b, "<x@y>").unwrap());
    assert!(!s.duplicate_check(&a, "<other@y>").unwrap());
    // Not replicated, so nothing is logged.
    assert_eq!(take_log(tmp.path()), "");
    drop(s);
    let s = open(tmp.path(), true);
    assert!(s.duplicate_check(&a, "<x@y>").unwrap());
    assert_eq!(s.duplicate_prune("fred", i64::MAX).unwrap(), 1);
    assert!(!s.duplicate_check(&a, "<x@y>").unwrap());
}

/// A user rename moves mailboxes (no APPEND) and the user's data, then UNUSER/USER.
#[test]
fn rename_user_moves_data_and_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path(), true);
    s.create_mailbox(&n("user.carol"), Default::default())
        .unwrap();
    let keep = s
        .create_mailbox(&n("user.carol.Keep"), Default::default())
        .unwrap();
    s.set_subscribed("carol", &n("user.carol.Keep"), true)
        .unwrap();
    s.set_subscribed("carol", &n("shared.x"), true).unwrap();
    let st = SeenState {
        lastread: 1,
        lastuid: Uid(3),
        lastchange: 1,
        seenuids: "1:3".into(),
    };
    s.set_seen("carol", "other-uniqueid", &st).unwrap();
    take_log(tmp.path());
    s.rename_user("carol", "dave").unwrap();
    assert_eq!(
        take_log(tmp.path()),
        "RENAME user.carol user.dave\nMAILBOX user.carol\nMAILBOX user.dave\n\
         RENAME user.carol.Keep user.dave.Keep\nMAILBOX user.carol.Keep\nMAILBOX user.dave.Keep\n\
         UNUSER carol\nUSER dave\n"
    );
    let moved = s.mailbox_entry(&n("user.dave.Keep")).unwrap().unwrap();
    assert_eq!(moved.uniqueid, keep.uniqueid);
    let mut subs = s.subscriptions("dave").unwrap();
    subs.sort();
    assert_eq!(subs, ["shared.x", "user.dave.Keep"]);
    assert!(s.subscriptions("carol").unwrap().is_empty());
    assert_eq!(s.seen("dave", "other-uniqueid").unwrap(), Some(st));
    assert_eq!(s.seen("carol", "other-uniqueid").unwrap(), None);
}
