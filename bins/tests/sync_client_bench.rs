#![allow(clippy::unwrap_used)]
//! Rough timing of our sync_client into a real Cyrus 3.6 replica (ignored by default; run with
//! `cargo test --release -p cyrus-bins --test sync_client_bench -- --ignored --nocapture`, or
//! point `SYNC_CLIENT_BIN` at a release binary). Corpus size: `BENCH_USERS` × `BENCH_MSGS`
//! (default 10 × 100) with the size mix of DESIGN.md.

mod sync_client_common;

use std::time::Instant;

use sync_client_common::*;
use testkit::{CyrusInstance, skip_without_cyrus};

fn env_num(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Deterministic size from the DESIGN.md mix: 60% 1–8 KiB, 25% 8–64 KiB, 12% 64–256 KiB,
/// 3% 256 KiB–1 MiB.
fn size_of(i: usize) -> usize {
    let x = (i.wrapping_mul(2_654_435_761)) % 100;
    let r = (i.wrapping_mul(40_503)) % 1000;
    match x {
        0..60 => 1024 + r * 7,
        60..85 => 8192 + r * 57,
        85..97 => 65_536 + r * 196,
        _ => 262_144 + r * 786,
    }
}

fn body(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: a{i}@example.org\r\nTo: b@example.org\r\nSubject: bench {i}\r\n\
         Message-ID: <bench{i}@example.org>\r\n\r\n"
    )
    .into_bytes();
    let target = size_of(i);
    let mut n = i as u64;
    while m.len() < target {
        // Text-like, moderately compressible lines.
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        m.extend_from_slice(
            format!("word{} line {} of {i} lorem ipsum\r\n", n % 997, m.len()).as_bytes(),
        );
    }
    m
}

#[test]
#[ignore = "benchmark"]
fn bench_full_sync_into_cyrus() {
    if skip_without_cyrus("bench_full_sync_into_cyrus") {
        return;
    }
    let users = env_num("BENCH_USERS", 10);
    let msgs = env_num("BENCH_MSGS", 100);
    let r = CyrusInstance::builder().replica().start().unwrap();
    let m = Master::new(&cyrus_target(&r), "");
    let t = Instant::now();
    let mut bytes = 0usize;
    for u in 0..users {
        let inbox = format!("user.u{u}");
        m.create(&inbox);
        for f in ["Archive", "Sent", "Lists"] {
            m.create(&format!("{inbox}.{f}"));
        }
        for i in 0..msgs {
            let b = body(u * msgs + i);
            bytes += b.len();
            let folder = match i % 4 {
                0 => inbox.clone(),
                1 => format!("{inbox}.Archive"),
                2 => format!("{inbox}.Sent"),
                _ => format!("{inbox}.Lists"),
            };
            m.append(
                &folder,
                &b,
                if i % 3 == 0 { &["\\Seen"] } else { &[] },
                None,
            );
        }
    }
    eprintln!(
        "corpus: {users} users x {msgs} messages, {:.1} MiB, built in {:.1}s",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let bin = std::env::var("SYNC_CLIENT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sync_client").to_owned());
    let run = |args: &[&str]| {
        let t = Instant::now();
        let out = std::process::Command::new(&bin)
            .arg("-C")
            .arg(&m.conf)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed().as_secs_f64()
    };
    let full = run(&["-A"]);
    let noop = run(&["-A"]);
    eprintln!("our -A into Cyrus (deflate negotiated): full {full:.2}s, unchanged {noop:.3}s");
    let d = dump(&r);
    assert_eq!(d.message_count(), users * msgs);
}

#[test]
#[ignore = "benchmark"]
fn bench_rolling_lag_into_cyrus() {
    if skip_without_cyrus("bench_rolling_lag_into_cyrus") {
        return;
    }
    let r = CyrusInstance::builder()
        .replica()
        .user("lag", "pw")
        .start()
        .unwrap();
    let m = Master::new(&cyrus_target(&r), "");
    m.create("user.lag");
    let bin = std::env::var("SYNC_CLIENT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sync_client").to_owned());
    let mut child = std::process::Command::new(&bin)
        .arg("-C")
        .arg(&m.conf)
        .arg("-R")
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut lags = Vec::new();
    rt.block_on(async {
        let mut c = testkit::ImapClient::proxy_to(r.imap_addr(), "lag", "admin", "adminpw")
            .await
            .unwrap();
        // Wait for the INBOX to arrive.
        let start = Instant::now();
        while c.status("INBOX", "MESSAGES").await.is_err() {
            assert!(start.elapsed().as_secs() < 30, "INBOX never arrived");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        for i in 0..20usize {
            // Quiet for longer than the default 1 s interval, then one delivery.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            let t = Instant::now();
            m.append("user.lag", &body(i), &[], None);
            loop {
                let s = c.status("INBOX", "MESSAGES").await.unwrap();
                if s.get("MESSAGES").copied() == Some(i as u64 + 1) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            lags.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    lags.sort_by(|a, b| a.total_cmp(b));
    eprintln!(
        "rolling lag into Cyrus after a quiet second: median {:.1} ms, max {:.1} ms",
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );
}
