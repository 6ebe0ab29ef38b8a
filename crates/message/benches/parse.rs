//! Parse a ~100 KiB multipart/mixed message (text, HTML, base64 attachment, forwarded
//! message) and write its BODYSTRUCTURE and ENVELOPE; also a BODY search over it.
#![allow(clippy::unwrap_used, missing_docs)]

use message::Message;
use message::search::SearchText;

fn main() {
    divan::main();
}

fn sample() -> Vec<u8> {
    let mut m = String::from(
        "From: Alice <alice@example.com>\r\nTo: bob@example.net, Carol <carol@example.org>\r\n\
Subject: quarterly numbers\r\nDate: Tue, 1 Mar 2022 10:00:00 +0100\r\n\
Message-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer-boundary\"\r\n\r\n--outer-boundary\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    for i in 0..300 {
        m.push_str(&format!(
            "Line {i} of the plain text part, caf=C3=A9 and more words here.\r\n"
        ));
    }
    m.push_str("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n");
    for i in 0..300 {
        m.push_str(&format!(
            "<p>Line {i} of the <b>HTML</b> part with some markup.</p>\r\n"
        ));
    }
    m.push_str(
        "--alt--\r\n--outer-boundary\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n",
    );
    while m.len() < 95 * 1024 {
        m.push_str(
            "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZUR\r\n",
        );
    }
    m.push_str(
        "--outer-boundary\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.z\r\n\
Subject: fwd\r\n\r\nforwarded body\r\n--outer-boundary--\r\n",
    );
    m.into_bytes()
}

#[divan::bench]
fn parse_100k(b: divan::Bencher<'_, '_>) {
    let raw = sample();
    b.counter(divan::counter::BytesCount::new(raw.len()))
        .bench(|| Message::parse(divan::black_box(&raw)));
}

#[divan::bench]
fn parse_and_bodystructure_100k(b: divan::Bencher<'_, '_>) {
    let raw = sample();
    b.counter(divan::counter::BytesCount::new(raw.len()))
        .bench(|| {
            let m = Message::parse(divan::black_box(&raw));
            let mut out = Vec::with_capacity(1024);
            m.write_bodystructure(&mut out);
            m.write_envelope(&mut out);
            out
        });
}

#[divan::bench]
fn search_body_100k(b: divan::Bencher<'_, '_>) {
    let raw = sample();
    let m = Message::parse(&raw);
    let needle = SearchText::new("not present anywhere");
    b.counter(divan::counter::BytesCount::new(raw.len()))
        .bench(|| m.body_matches(divan::black_box(&raw), &needle));
}
