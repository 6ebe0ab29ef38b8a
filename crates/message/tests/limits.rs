#![allow(clippy::unwrap_used)]
//! Pathological inputs stay linear in time and bounded in memory (these would take hours if
//! a scan were quadratic).

use std::time::{Duration, Instant};

use message::parse::MAX_PARTS;
use message::search::SearchText;
use message::{Message, Section};

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let v = f();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "{what} took {:?}",
        t.elapsed()
    );
    v
}

#[test]
fn million_empty_parts() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..1_000_000 {
        raw.extend_from_slice(b"--b\r\n\r\n");
    }
    raw.extend_from_slice(b"--b--\r\n");
    let m = timed("parse", || Message::parse(&raw));
    assert_eq!(m.root().parts.len(), MAX_PARTS);
    let last = m.root().parts.last().unwrap();
    assert_eq!(last.content_offset + last.content_size, raw.len());
    timed("bodystructure", || m.bodystructure());
}

#[test]
fn header_without_colons() {
    let mut raw = Vec::new();
    for _ in 0..200_000 {
        raw.extend_from_slice(b"no colon on this line at all\r\n");
    }
    raw.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
    let m = timed("parse", || Message::parse(&raw));
    let sec = Section::parse(b"HEADER.FIELDS.NOT (Subject)").unwrap();
    timed("prune", || m.section(&raw, &sec));
    timed("search", || {
        m.header_matches(&raw, b"subject", &SearchText::new("x"))
    });
}

#[test]
fn unterminated_encoded_words() {
    let mut raw = b"Subject: ".to_vec();
    for _ in 0..300_000 {
        raw.extend_from_slice(b"=?a?q?x");
    }
    raw.extend_from_slice(b"\r\n\r\n");
    let m = timed("parse", || Message::parse(&raw));
    timed("search", || m.subject_matches(&SearchText::new("zz")));
}

#[test]
fn many_params_and_addresses() {
    // one line each: fields starting after 1000 header lines are ignored (maxheaderlines)
    let mut raw = b"To: ".to_vec();
    for _ in 0..500_000 {
        raw.extend_from_slice(b"a,");
    }
    raw.extend_from_slice(b"\r\nContent-Type: text/plain");
    for i in 0..100_000 {
        raw.extend_from_slice(format!("; a{i}*0=x").as_bytes());
    }
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    let m = timed("parse", || Message::parse(&raw));
    assert!(m.root().params.len() <= message::header::MAX_PARAMS);
    assert!(m.envelope_fields().to.as_ref().unwrap().len() <= message::address::MAX_ADDRESSES);
    timed("envelope", || m.envelope());
}
