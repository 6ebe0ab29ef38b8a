#![allow(clippy::unwrap_used)]
//! Property tests: parsing never panics and every offset stays inside the message, for
//! arbitrary bytes and for generated MIME trees; sections resolve inside the message; the
//! decoders never panic and round-trip where they should.

use base64::Engine;
use message::search::SearchText;
use message::{BodyPart, Message, Section, SectionText};
use proptest::prelude::*;

fn check_part(p: &BodyPart, len: usize, depth: usize) {
    assert!(
        p.header_offset + p.header_size <= len,
        "header out of bounds"
    );
    assert!(
        p.content_offset + p.content_size <= len,
        "content out of bounds"
    );
    assert!(p.header_offset <= p.content_offset || p.header_size == 0);
    assert!(depth < 200);
    for c in &p.parts {
        assert!(c.header_offset >= p.content_offset);
        check_part(c, len, depth + 1);
    }
    if let Some(m) = &p.message {
        check_part(m, len, depth + 1);
    }
}

fn exercise(raw: &[u8]) -> Message {
    let m = Message::parse(raw);
    check_part(m.root(), raw.len(), 0);
    let _ = m.envelope();
    let _ = m.bodystructure();
    let _ = m.body();
    let needle = SearchText::new("a");
    let _ = m.body_matches(raw, &needle);
    let _ = m.text_matches(raw, &needle);
    let _ = m.header_matches(raw, b"subject", &needle);
    let _ = m.sent_date();
    m
}

fn section_strategy() -> impl Strategy<Value = Section> {
    let text = prop_oneof![
        Just(None),
        Just(Some(SectionText::Header)),
        Just(Some(SectionText::Text)),
        Just(Some(SectionText::Mime)),
        Just(Some(SectionText::HeaderFields {
            not: false,
            fields: vec![b"Subject".to_vec()]
        })),
        Just(Some(SectionText::HeaderFields {
            not: true,
            fields: vec![b"From".to_vec()]
        })),
    ];
    (prop::collection::vec(1u32..4, 0..4), text).prop_map(|(part, text)| Section { part, text })
}

/// A generated MIME entity (CRLF or LF line ends).
fn mime(depth: u32) -> BoxedStrategy<String> {
    let leaf = (
        prop_oneof![
            Just("text/plain"),
            Just("text/html"),
            Just("application/octet-stream")
        ],
        "[a-zA-Z0-9 =.-]{0,40}",
        0usize..4,
    )
        .prop_map(|(ct, line, n)| {
            let mut s = format!("Content-Type: {ct}\r\n\r\n");
            for _ in 0..n {
                s.push_str(&line);
                s.push_str("\r\n");
            }
            s
        })
        .boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = mime(depth - 1);
    prop_oneof![
        2 => leaf,
        1 => (prop::collection::vec(inner.clone(), 0..4), "[a-z]{1,8}", any::<bool>(), any::<bool>())
            .prop_map(|(parts, b, close, preamble)| {
                let mut s = format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n");
                if preamble {
                    s.push_str("preamble\r\n");
                }
                for p in parts {
                    s.push_str(&format!("--{b}\r\n{p}"));
                }
                if close {
                    s.push_str(&format!("--{b}--\r\nepilogue\r\n"));
                }
                s
            }),
        1 => inner.prop_map(|p| format!("Content-Type: message/rfc822\r\n\r\nSubject: x\r\n{p}")),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&raw);
    }

    #[test]
    fn header_like_bytes_never_panic(
        lines in prop::collection::vec(
            "(From|To|Cc|Subject|Date|Content-Type|Content-Disposition|Content-Language|X)\
             :[ -~\t]{0,60}(\r\n|\n)( [ -~]{0,20}\r\n)?",
            0..12),
        body in "[ -~\r\n-]{0,200}",
    ) {
        let raw = format!("{}\r\n{}", lines.concat(), body);
        exercise(raw.as_bytes());
    }

    #[test]
    fn generated_mime_in_bounds(entity in mime(3), lf in any::<bool>(), sec in section_strategy()) {
        let mut raw = format!("From: a@b.c\r\nSubject: gen\r\n{entity}");
        if lf {
            raw = raw.replace("\r\n", "\n");
        }
        let raw = raw.into_bytes();
        let m = exercise(&raw);
        if let Some(d) = m.section(&raw, &sec) {
            if let message::SectionData::Range(r) = &d {
                prop_assert!(r.start <= r.end && r.end <= raw.len());
            }
            let p = d.clone().partial(3, 7);
            prop_assert!(p.len() <= 7);
            prop_assert!(p.bytes(&raw).len() == p.len());
        }
    }

    #[test]
    fn sections_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..1024), sec in section_strategy(),
                                   start in 0u64..2000, count in 0u64..2000) {
        let m = Message::parse(&raw);
        if let Some(d) = m.section(&raw, &sec) {
            let n = d.len();
            let p = d.partial(start, count);
            prop_assert!(p.len() <= n.min(count as usize));
            prop_assert_eq!(p.bytes(&raw).len(), p.len());
        }
    }

    #[test]
    fn base64_roundtrip(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let enc = base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped: String = enc.as_bytes().chunks(76).map(|c| format!("{}\r\n", String::from_utf8_lossy(c))).collect();
        prop_assert_eq!(message::decode::decode_base64(wrapped.as_bytes()), data);
    }

    #[test]
    fn decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = message::decode::decode_qp(&data);
        let _ = message::decode::decode_header(&data);
        let _ = message::decode::parse_mime_xvalue(&data);
        let _ = message::date::parse_rfc5322_date(&data, false);
        let _ = message::date::parse_rfc5322_date(&data, true);
        let _ = message::date::parse_date_time(&data);
        let _ = message::date::parse_date(&data);
        let _ = Section::parse(&data);
    }

    #[test]
    fn date_time_roundtrip(t in 0i64..4_102_444_800, off in -720i32..=840) {
        let s = message::date::format_date_time(t, off);
        let dt = message::date::parse_date_time(s.as_bytes()).unwrap();
        prop_assert_eq!(dt.unix(), t);
        prop_assert_eq!(dt.offset_minutes, off);
    }
}

/// A 50 MB single-part message: the parse keeps offsets only (no copy of the body).
#[test]
fn big_message_is_offsets_only() {
    let mut raw = b"Subject: big\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let line = b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
    while raw.len() < 50 * 1024 * 1024 {
        raw.extend_from_slice(line);
    }
    let m = Message::parse(&raw);
    assert_eq!(m.root().content_size, raw.len() - m.header_size());
    let d = m.section(&raw, &Section::parse(b"1").unwrap()).unwrap();
    assert!(matches!(d, message::SectionData::Range(_)));
    assert_eq!(d.len(), m.root().content_size);
}
