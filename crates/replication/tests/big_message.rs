#![allow(clippy::unwrap_used)]
//! A 50 MB message streams through the replica core to disk and back out without being held
//! in memory (DESIGN.md: memory bounded whatever the message size). Alone in its test binary
//! so the process's peak RSS means something.

use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, StaticPasswords};
use mailstore::{Store, StoreConfig};
use replication::server::{ServerOptions, SyncCore};
use types::{Guid, GuidHasher, MboxName};

const SIZE: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Deterministic body bytes, produced piecewise.
fn body_chunk(i: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(CHUNK);
    if i == 0 {
        v.extend_from_slice(b"Subject: big\r\n\r\n");
    }
    while v.len() < CHUNK {
        let line = format!(
            "line {i} {} of a large message body ..........\r\n",
            v.len()
        );
        v.extend_from_slice(line.as_bytes());
    }
    v.truncate(CHUNK);
    v
}

#[test]
fn fifty_megabyte_message_streams_to_disk_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::simple(dir.path())).unwrap());
    let opts = Arc::new(ServerOptions {
        servername: "t".into(),
        version: "3.6.1".into(),
        admins: Admins::parse("admin"),
        passwords: Arc::new(StaticPasswords::new().with("admin", b"pw")),
        allow_plaintext: true,
        sasl_mech_list: None,
        tls_available: false,
        offer_compress: false,
        offer_sieve_mailbox: false,
        allow_user_moves: false,
        failed_login_pause: Duration::ZERO,
    });
    let mut core = SyncCore::csync(store.clone(), opts, "t", true);
    let mut h = GuidHasher::new();
    for i in 0..SIZE / CHUNK {
        h.update(&body_chunk(i));
    }
    let guid: Guid = h.finish();

    let before = peak_rss_kib();
    let mut out = Vec::new();
    let head = format!("APPLY MESSAGE (%{{default {} {SIZE}}}\r\n", guid.to_hex());
    let p = core.feed(head.as_bytes(), &mut out).unwrap();
    assert_eq!(p.consumed, head.len());
    for i in 0..SIZE / CHUNK {
        let c = body_chunk(i);
        let p = core.feed(&c, &mut out).unwrap();
        // Everything is consumed at once: the core keeps no backlog of body bytes.
        assert_eq!(p.consumed, c.len());
        assert!(!p.done);
    }
    let p = core.feed(b")\r\n", &mut out).unwrap();
    assert!(p.done);
    assert_eq!(out, b"OK success\r\n");
    out.clear();

    let mailbox = format!(
        "APPLY MAILBOX %(UNIQUEID big1 MBOXNAME user.big LAST_UID 1 HIGHESTMODSEQ 2 RECENTUID 0 \
         RECENTTIME 0 LAST_APPENDDATE 0 POP3_LAST_LOGIN 0 UIDVALIDITY 7 PARTITION default \
         ACL \"big\tlrswipkxtecdan\t\" OPTIONS P RECORD (%(UID 1 MODSEQ 2 LAST_UPDATED 5 \
         FLAGS () INTERNALDATE 5 SIZE {SIZE} GUID {})))\r\n",
        guid.to_hex()
    );
    let p = core.feed(mailbox.as_bytes(), &mut out).unwrap();
    assert!(p.done);
    assert_eq!(String::from_utf8_lossy(&out), "OK success\r\n");
    out.clear();
    let rec = store.records(&MboxName::new("user.big").unwrap()).unwrap();
    assert_eq!(rec[0].size, SIZE as u64);

    // GET FETCH hands the body to the session as a file, not as bytes in memory.
    let fetch = format!(
        "GET FETCH %(MBOXNAME user.big PARTITION default UNIQUEID big1 GUID {} UID 1)\r\n",
        guid.to_hex()
    );
    let p = core.feed(fetch.as_bytes(), &mut out).unwrap();
    let f = p.stream.expect("body to stream");
    assert_eq!(f.size, SIZE as u64);
    assert_eq!(
        String::from_utf8_lossy(&out),
        format!("* MESSAGE %{{default {} {SIZE}}}\r\n", guid.to_hex())
    );
    assert_eq!(f.trailer, b"\r\nOK success\r\n");
    assert!(out.len() < 200);
    core.end();

    let grown = peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "peak RSS grew by {grown} KiB for a 50 MB message"
    );
}
