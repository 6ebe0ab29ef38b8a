//! Fuzz the POP3 sans-I/O core: line splitting, message-number and TOP arguments, and the
//! RETR/TOP byte-stuffer fed in arbitrary chunks (its output must un-stuff to the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3d::proto::{Stuffer, parse_msgno, parse_top, split_line};

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if let Ok(l) = split_line(line) {
            assert_eq!(l.keyword, l.keyword.to_ascii_lowercase());
            if let Some(a) = &l.arg {
                let _ = parse_msgno(a);
                let _ = parse_top(Some(a));
            }
        }
    }
    // RETR: the stuffed output, un-stuffed, is the input (plus a final CRLF if missing).
    let mut s = Stuffer::new(None);
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let step = 1 + (data[i] as usize % 13);
        let end = (i + step).min(data.len());
        s.push(&data[i..end], &mut out);
        i = end;
    }
    s.finish(&mut out);
    assert!(out.ends_with(b".\r\n"));
    let body = &out[..out.len() - 3];
    let mut unstuffed = Vec::new();
    for (n, piece) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        let _ = n;
        if piece.first() == Some(&b'.') {
            unstuffed.extend_from_slice(&piece[1..]);
        } else {
            unstuffed.extend_from_slice(piece);
        }
    }
    let mut expect = data.to_vec();
    if !expect.is_empty() && !expect.ends_with(b"\n") {
        expect.extend_from_slice(b"\r\n");
    }
    assert_eq!(unstuffed, expect);
    // TOP with a line limit never sends more than RETR.
    let mut t = Stuffer::new(Some(data.first().copied().unwrap_or(0) as u32 % 5));
    let mut tout = Vec::new();
    t.push(data, &mut tout);
    assert!(tout.len() <= out.len());
});
