//! Fuzz the IMAP command framer and parser: any bytes, fed in arbitrary chunks, must frame
//! and parse without panicking, and a parsed command's sequence sets must round-trip.
#![no_main]

use imap_proto::{Frame, FrameLimits, Framer, parse_command};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_command(data);
    let limits = FrameLimits { max_line: 4096, max_literal: 1 << 16, max_command: 1 << 17 };
    let mut framer = Framer::new(limits);
    let mut buf: Vec<u8> = Vec::new();
    // Feed in chunks whose sizes come from the data itself.
    let mut i = 0;
    while i < data.len() {
        let step = 1 + (data[i] as usize % 17);
        let end = (i + step).min(data.len());
        buf.extend_from_slice(&data[i..end]);
        i = end;
        loop {
            match framer.feed(&buf) {
                Frame::Complete(n) => {
                    let cmd: Vec<u8> = buf.drain(..n).collect();
                    if let Ok(c) = parse_command(&cmd)
                        && let imap_proto::CommandBody::Fetch { set, .. } = c.body
                    {
                        let again = imap_proto::SequenceSet::parse(&set.to_string());
                        assert_eq!(again.as_ref(), Ok(&set));
                    }
                }
                Frame::LiteralTooLarge { consumed, .. } => {
                    buf.drain(..consumed.min(buf.len()));
                }
                Frame::LineTooLong => {
                    buf.clear();
                    framer.reset();
                    break;
                }
                Frame::Incomplete | Frame::NeedContinuation => break,
            }
        }
    }
});
