#![allow(clippy::unwrap_used)]
//! Known-answer tests against real Cyrus 3.6.1: `tests/golden/*.golden` hold what Cyrus's
//! imapd answered for the messages of `tests/corpus/` (captured with
//! `tests/golden/capture.py`). Each record is `=== ITEM LEN\n` + the exact value bytes + `\n`;
//! `STORED` is `BODY[]`, the message as Cyrus stored it, which is what we parse.

use std::path::Path;

use message::section::literal_prefix;
use message::{Message, Section};

fn records(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let nl = rest.iter().position(|&c| c == b'\n').unwrap();
        let head = std::str::from_utf8(&rest[..nl]).unwrap();
        let head = head.strip_prefix("=== ").unwrap();
        let (name, len) = head.rsplit_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        let value = rest[nl + 1..nl + 1 + len].to_vec();
        assert_eq!(rest[nl + 1 + len], b'\n');
        rest = &rest[nl + 2 + len..];
        out.push((name.to_string(), value));
    }
    out
}

fn literal_body(v: &[u8]) -> Vec<u8> {
    let close = v.iter().position(|&c| c == b'}').unwrap();
    let n: usize = std::str::from_utf8(&v[1..close]).unwrap().parse().unwrap();
    let data = v[close + 3..].to_vec();
    assert_eq!(data.len(), n);
    data
}

fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut v = literal_prefix(bytes);
    if !bytes.is_empty() {
        v.extend_from_slice(bytes);
    }
    v
}

fn section_answer(msg: &Message, raw: &[u8], item: &str) -> Vec<u8> {
    // item: BODY.PEEK[spec]<a.b>
    let open = item.find('[').unwrap();
    let close = item.rfind(']').unwrap();
    let spec = &item[open + 1..close];
    let sec = Section::parse(spec.as_bytes()).unwrap();
    let mut data = msg.section(raw, &sec);
    let tail = &item[close + 1..];
    if let Some(p) = tail.strip_prefix('<') {
        let (a, b) = p.trim_end_matches('>').split_once('.').unwrap();
        data = data.map(|d| d.partial(a.parse().unwrap(), b.parse().unwrap()));
    }
    match data {
        None => b"NIL".to_vec(),
        Some(d) => literal(d.bytes(raw)),
    }
}

fn part_path(s: &str) -> Vec<u32> {
    s.split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap())
        .collect()
}

fn binary_answer(msg: &Message, raw: &[u8], item: &str) -> Vec<u8> {
    let close = item.rfind(']').unwrap();
    let part = part_path(&item[12..close]);
    let d = match msg.binary(raw, &part) {
        None => return b"NIL".to_vec(),
        Some(Err(_)) => return b"OMITTED".to_vec(),
        Some(Ok(d)) => d,
    };
    let d = match item[close + 1..].strip_prefix('<') {
        Some(p) => {
            let (a, b) = p.trim_end_matches('>').split_once('.').unwrap();
            d.partial(a.parse().unwrap(), b.parse().unwrap())
        }
        None => d,
    };
    literal(d.bytes(raw))
}

fn check(name: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let data = std::fs::read(dir.join(format!("{name}.golden"))).unwrap();
    let recs = records(&data);
    let raw = literal_body(&recs.iter().find(|(n, _)| n == "STORED").unwrap().1);
    let msg = Message::parse(&raw);
    let mut failures = Vec::new();
    for (item, want) in &recs {
        let got = match item.as_str() {
            "STORED" => continue,
            "ENVELOPE" => msg.envelope(),
            "BODYSTRUCTURE" => msg.bodystructure(),
            "BODY" => msg.body(),
            "RFC822.SIZE" => msg.size().to_string().into_bytes(),
            "RFC822.HEADER" => literal(msg.rfc822_header().bytes(&raw)),
            "RFC822.TEXT" => literal(msg.rfc822_text().bytes(&raw)),
            s if s.starts_with("BODY.PEEK[") => section_answer(&msg, &raw, s),
            s if s.starts_with("BINARY.PEEK[") => binary_answer(&msg, &raw, s),
            s if s.starts_with("BINARY.SIZE[") => {
                let part = part_path(&s[12..s.len() - 1]);
                match msg.binary(&raw, &part) {
                    None => b"0".to_vec(),
                    Some(Ok(d)) => d.len().to_string().into_bytes(),
                    Some(Err(_)) => b"OMITTED".to_vec(),
                }
            }
            other => panic!("unknown item {other}"),
        };
        if &got != want {
            failures.push(format!(
                "{name} {item}:\n  cyrus: {}\n  ours:  {}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    failures
}

macro_rules! golden {
    ($($f:ident => $n:literal),* $(,)?) => {
        $(
            #[test]
            fn $f() {
                let f = check($n);
                assert!(f.is_empty(), "{}", f.join("\n"));
            }
        )*
    };
}

golden! {
    simple => "simple",
    alternative => "alternative",
    mixed_attach => "mixed-attach",
    nested_rfc822 => "nested-rfc822",
    malformed_headers => "malformed-headers",
    missing_boundary => "missing-boundary",
    missing_close => "missing-close",
    inner_unclosed => "inner-unclosed",
    digest => "digest",
    rfc822_top => "rfc822-top",
    literals => "literals",
    headers_only => "headers-only",
    boundary_in_header => "boundary-in-header",
    text_noparams => "text-noparams",
    bare_lf_as_stored => "bare-lf",
    eightbit => "eightbit",
    params_edge => "params-edge",
    addresses => "addresses",
    many_headers => "many-headers",
}

/// A bare-LF message parses to the same structure as its CRLF form (Cyrus stores the CRLF
/// form), with sizes counting one-byte line breaks.
#[test]
fn bare_lf_same_shape() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let lf = std::fs::read(dir.join("bare-lf.eml")).unwrap();
    assert!(!lf.contains(&b'\r'));
    let msg = Message::parse(&lf);
    assert_eq!(
        msg.bodystructure(),
        b"((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 17 1 NIL NIL NIL NIL) \"MIXED\" \
(\"BOUNDARY\" \"q\") NIL NIL NIL)"
            .to_vec()
    );
    let part = msg.section(&lf, &Section::parse(b"1").unwrap()).unwrap();
    assert_eq!(part.bytes(&lf), b"line one\nline two");
    let hdr = msg
        .section(&lf, &Section::parse(b"HEADER").unwrap())
        .unwrap();
    assert!(hdr.bytes(&lf).ends_with(b"boundary=q\n\n"));
}
