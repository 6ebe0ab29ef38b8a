//! Multi-process behaviour of the mailstore, with real processes: this test binary re-runs
//! itself as the writer (`MAILSTORE_CHILD` set) so a parent can SIGKILL it or run two at once.
//!
//! * Crash safety: a writer appends and flags messages and is killed at random points, many
//!   times; after each kill the store opens cleanly, every operation that had returned success
//!   is there (and in the sync log), and nothing half-written is visible.
//! * Concurrency: two processes appending to one mailbox get distinct, increasing UIDs and
//!   modseqs; nothing is lost.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailstore::crc::mailbox_crcs;
use mailstore::sync_log::{Channel, SyncLogConfig, parse_line};
use mailstore::types::{Guid, MboxName, Uid};
use mailstore::*;

const CHILD_ENV: &str = "MAILSTORE_CHILD";
const DIR_ENV: &str = "MAILSTORE_DIR";
const TAG_ENV: &str = "MAILSTORE_TAG";
const COUNT_ENV: &str = "MAILSTORE_COUNT";

fn config(dir: &Path) -> StoreConfig {
    let mut cfg = StoreConfig::simple(dir);
    cfg.sync_log = SyncLogConfig {
        enabled: true,
        config_dir: cfg.config_dir.clone(),
        channels: vec![Channel::Default],
    };
    cfg
}

fn inbox() -> MboxName {
    MboxName::new("user.fred").unwrap()
}

/// Re-run this test binary as a child executing `test_name` with the given environment.
fn spawn_child(test_name: &str, dir: &Path, tag: &str, count: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(DIR_ENV, dir)
        .env(TAG_ENV, tag)
        .env(COUNT_ENV, count.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn message(tag: &str, i: usize) -> Vec<u8> {
    // Sizes vary so some bodies take several write calls.
    let filler = "x".repeat((i * 797) % 20_000);
    format!("From: w@example.org\r\nSubject: {tag} {i}\r\n\r\n{filler}\r\n").into_bytes()
}

/// The writer: append, then flag, acknowledging each success in an ack file (plain writes:
/// SIGKILL does not lose page-cache data, so every ack written is seen by the parent).
fn writer_body() {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).unwrap());
    let tag = std::env::var(TAG_ENV).unwrap();
    let count: usize = std::env::var(COUNT_ENV).unwrap().parse().unwrap();
    let store = Store::open(config(&dir)).unwrap();
    let mut acks = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("acks-{tag}")))
        .unwrap();
    let flag = FlagChange {
        system: SystemFlags {
            flagged: true,
            ..Default::default()
        },
        user: vec![format!("w{tag}")],
    };
    for i in 0..count {
        let body = store.stage_bytes("default", &message(&tag, i)).unwrap();
        let a = store
            .append(&inbox(), &body, &AppendOptions::default())
            .unwrap();
        writeln!(acks, "A {} {} {}", a.uid.0, a.modseq.0, body.guid()).unwrap();
        if i % 2 == 0 {
            store
                .store_flags(&inbox(), &[a.uid], FlagOp::Add, &flag, None)
                .unwrap();
            writeln!(acks, "F {}", a.uid.0).unwrap();
        }
    }
}

#[test]
fn child_writer() {
    if std::env::var_os(CHILD_ENV).is_some() {
        writer_body();
    }
}

#[derive(Debug, Default)]
struct Acked {
    appends: BTreeMap<u32, (u64, Guid)>,
    flagged: HashSet<u32>,
}

fn read_acks(path: &Path) -> Acked {
    let mut out = Acked::default();
    let text = fs::read_to_string(path).unwrap_or_default();
    // Only complete lines count: a writer killed while writing an ack leaves a torn last line,
    // which acknowledges nothing.
    for line in text
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
    {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["A", uid, modseq, guid] => {
                let g = Guid::parse_hex(guid.as_bytes()).unwrap();
                out.appends
                    .insert(uid.parse().unwrap(), (modseq.parse().unwrap(), g));
            }
            ["F", uid] => {
                out.flagged.insert(uid.parse().unwrap());
            }
            other => panic!("unexpected ack line {other:?}"),
        }
    }
    out
}

/// Everything visible in the store is whole: each record's body exists and hashes to its GUID,
/// the header covers every record, CRCs compute.
fn check_consistent(store: &Store) -> Vec<MessageRecord> {
    let recs = store.records(&inbox()).unwrap();
    let h = store.header(&inbox()).unwrap();
    for r in &recs {
        let path = store.message_path(&inbox(), r).unwrap();
        let bytes =
            read_body(&path).unwrap_or_else(|e| panic!("body of UID {} missing: {e}", r.uid));
        assert_eq!(Guid::of(&bytes), r.guid, "body of UID {} is damaged", r.uid);
        assert_eq!(bytes.len() as u64, r.size);
        assert!(r.uid <= h.last_uid && r.modseq <= h.highestmodseq);
    }
    let _ = mailbox_crcs(&recs);
    recs
}

#[test]
fn crash_safety_sigkill_at_random_points() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Store::open(config(dir))
        .unwrap()
        .create_mailbox(&inbox(), Default::default())
        .unwrap();
    let kills = 30;
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut total_acked = 0;
    for round in 0..kills {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let delay = Duration::from_millis(20 + rng_state % 180);
        let tag = format!("r{round}");
        let mut child = spawn_child("child_writer", dir, &tag, 100_000);
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();

        // The store opens cleanly and every acknowledged operation is there.
        let store = Store::open(config(dir)).unwrap();
        let recs = check_consistent(&store);
        let by_uid: BTreeMap<u32, &MessageRecord> = recs.iter().map(|r| (r.uid.0, r)).collect();
        let acked = read_acks(&dir.join(format!("acks-{tag}")));
        for (uid, (modseq, guid)) in &acked.appends {
            let r = by_uid
                .get(uid)
                .unwrap_or_else(|| panic!("acked UID {uid} lost in {tag}"));
            assert_eq!(r.guid, *guid);
            assert!(r.modseq.0 >= *modseq);
        }
        for uid in &acked.flagged {
            let r = by_uid[uid];
            assert!(
                r.flags.flagged && r.user_flags == vec![format!("w{tag}")],
                "flag lost on {uid}"
            );
        }
        total_acked += acked.appends.len();
    }
    assert!(
        total_acked > kills,
        "the writer made too little progress to test anything"
    );

    // The sync log names the mailbox for every acknowledged change (logged before commit).
    let log = fs::read(dir.join("config/sync/log")).unwrap();
    let appends = log
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.ends_with(b"\n"))
        .filter_map(|l| parse_line(l).ok().flatten())
        .filter(|r| *r == sync_log::Record::Append("user.fred".into()))
        .count();
    assert!(
        appends >= total_acked,
        "{appends} APPEND records for {total_acked} acked appends"
    );
    eprintln!("crash test: {kills} kills, {total_acked} acknowledged appends verified");
}

#[test]
fn two_processes_append_concurrently() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Store::open(config(dir))
        .unwrap()
        .create_mailbox(&inbox(), Default::default())
        .unwrap();
    let per = 150;
    let a = spawn_child("child_writer", dir, "a", per);
    let b = spawn_child("child_writer", dir, "b", per);
    for mut c in [a, b] {
        assert!(c.wait().unwrap().success());
    }
    let store = Store::open(config(dir)).unwrap();
    let recs = check_consistent(&store);
    assert_eq!(recs.len(), 2 * per);
    let mut all_uids = HashSet::new();
    let mut all_modseqs = HashSet::new();
    for tag in ["a", "b"] {
        let acked = read_acks(&dir.join(format!("acks-{tag}")));
        assert_eq!(acked.appends.len(), per);
        // Within one writer, UIDs and modseqs increase in the order the appends returned.
        let mut last = (0u32, 0u64);
        let mut in_order: Vec<(u32, u64)> =
            acked.appends.iter().map(|(u, (m, _))| (*u, *m)).collect();
        in_order.sort_by_key(|(_, m)| *m);
        for (u, m) in in_order {
            assert!(u > last.0 && m > last.1);
            last = (u, m);
            assert!(all_uids.insert(u), "UID {u} given twice");
            assert!(all_modseqs.insert(m), "modseq {m} given twice");
        }
    }
    let h = store.header(&inbox()).unwrap();
    assert_eq!(h.last_uid, Uid(2 * per as u32));
}
