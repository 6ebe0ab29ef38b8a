//! Fuzz the LMTP sans-I/O core: command lines (MAIL/RCPT address and parameter syntax,
//! recipient resolution) and the DATA decoder fed in arbitrary chunks. No panics; replies are
//! well-formed; the stored form has only CRLF line ends and the decoder never consumes past
//! the terminating dot line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lmtpd::data::{DataDecoder, HeaderOptions};
use lmtpd::proto::{Command, parse_command};
use lmtpd::recipient::{AddressRules, resolve, rights};

fn check_reply(r: &lmtpd::proto::Reply) {
    let code = r.code();
    assert!((200..600).contains(&code), "{r:?}");
    assert!(!r.0.contains('\n') || r.0.contains("\r\n"));
}

fuzz_target!(|data: &[u8]| {
    // Every line of the input as a command.
    for line in data.split(|&b| b == b'\n') {
        match parse_command(line, Some(1 << 20)) {
            Command::Mail(Some(Err(e))) => check_reply(&e.reply),
            Command::Rcpt(Err(r)) => check_reply(&r),
            Command::Rcpt(Ok(rcpt)) => {
                let _ = resolve(&rcpt.address, &AddressRules::default());
                let _ = resolve(
                    &rcpt.address,
                    &AddressRules {
                        virtdomains: true,
                        unix_sep: false,
                        ..AddressRules::default()
                    },
                );
            }
            _ => {}
        }
    }
    let _ = rights(&String::from_utf8_lossy(data), &["anyone", "x"]);

    // The whole input as a DATA stream, in chunks sized by the data itself.
    let opts = HeaderOptions {
        munge8bit: data.first().is_some_and(|b| b & 1 == 1),
        reject8bit: data.first().is_some_and(|b| b & 2 == 2),
    };
    let mut dec = DataDecoder::new(opts, "<id@fuzz>".into(), "date".into());
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    let mut consumed = 0usize;
    let mut i = 0;
    let mut done = false;
    while i < data.len() && !done {
        let step = 1 + (data[i] as usize % 23);
        let end = (i + step).min(data.len());
        buf.extend_from_slice(&data[i..end]);
        fed += end - i;
        i = end;
        let p = dec.push(&buf, &mut out);
        assert!(p.consumed <= buf.len());
        buf.drain(..p.consumed);
        consumed += p.consumed;
        done = p.done;
    }
    assert!(consumed <= fed);
    if done {
        // The terminator is a line holding one dot (CRs aside).
        let used = &data[..consumed];
        let start = used[..used.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |k| k + 1);
        let last: Vec<u8> = used[start..]
            .iter()
            .copied()
            .filter(|&b| b != b'\r')
            .collect();
        assert_eq!(last, b".\n");
        for (k, &b) in out.iter().enumerate() {
            if b == b'\n' {
                assert!(k > 0 && out[k - 1] == b'\r', "bare LF stored");
            }
            if b == b'\r' {
                assert_eq!(out.get(k + 1), Some(&b'\n'), "lone CR stored");
            }
        }
        if out.contains(&0) {
            assert!(dec.error().is_some());
        }
    }
});
