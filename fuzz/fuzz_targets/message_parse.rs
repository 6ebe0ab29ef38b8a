//! Parses arbitrary bytes as a message and checks what the IMAP server relies on: every
//! offset inside the input, ENVELOPE/BODY/BODYSTRUCTURE well-formed IMAP (balanced lists,
//! literals of the announced length), FETCH sections and partials inside the input, and the
//! SEARCH predicates and decoders not panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use message::search::{AddressField, SearchText};
use message::{BodyPart, Message, Section, SectionData};

fn check_part(p: &BodyPart, len: usize) {
    assert!(p.header_offset + p.header_size <= len);
    assert!(p.content_offset + p.content_size <= len);
    for c in &p.parts {
        check_part(c, len);
    }
    if let Some(m) = &p.message {
        check_part(m, len);
    }
}

/// Balanced parentheses outside quoted strings and literals; literals complete.
fn well_formed(s: &[u8]) {
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced )");
            }
            b'"' => {
                let end = s[i + 1..].iter().position(|&c| c == b'"').expect("open quote");
                assert!(!s[i + 1..i + 1 + end].iter().any(|&c| c == b'\r' || c == b'\n' || c >= 0x80));
                i += end + 1;
            }
            b'{' => {
                let close = s[i..].iter().position(|&c| c == b'}').expect("literal") + i;
                let n: usize = std::str::from_utf8(&s[i + 1..close]).unwrap().parse().unwrap();
                assert_eq!(&s[close + 1..close + 3], b"\r\n");
                i = close + 3 + n;
                assert!(i <= s.len(), "short literal");
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    assert_eq!(depth, 0, "unbalanced (");
}

const SPECS: &[&[u8]] = &[
    b"", b"HEADER", b"TEXT", b"1", b"1.MIME", b"2", b"2.HEADER", b"2.TEXT", b"1.1", b"2.1.2",
    b"3.MIME", b"HEADER.FIELDS (From Subject)", b"1.HEADER.FIELDS.NOT (Content-Type)",
];

fuzz_target!(|data: &[u8]| {
    let m = Message::parse(data);
    check_part(m.root(), data.len());
    well_formed(&m.envelope());
    well_formed(&m.bodystructure());
    well_formed(&m.body());
    for spec in SPECS {
        let sec = Section::parse(spec).expect("valid spec");
        if let Some(d) = m.section(data, &sec) {
            if let SectionData::Range(r) = &d {
                assert!(r.start <= r.end && r.end <= data.len());
            }
            let n = d.len();
            let p = d.partial(data.len() as u64 / 3, 17);
            assert!(p.len() <= n.min(17));
            assert_eq!(p.bytes(data).len(), p.len());
        }
    }
    let needle = SearchText::new("é a");
    let _ = m.body_matches(data, &needle);
    let _ = m.text_matches(data, &needle);
    let _ = m.address_matches(AddressField::To, &needle);
    let _ = m.subject_matches(&needle);
    let _ = m.header_matches(data, b"x-y", &needle);
    let _ = m.sent_date();
    let _ = m.sent_time();
    let _ = message::decode::decode_header(data);
    let _ = message::date::parse_date_time(data);
});
