//! A raw-DEFLATE writer whose `flush` really is a sync flush (RFC 4978 §4, csync
//! `COMPRESS DEFLATE`): after `flush` returns, everything written so far can be decoded by
//! the peer.
//!
//! `flate2::write::DeflateEncoder::flush` alone does not guarantee that with the miniz_oxide
//! backend: it stops repeating the sync flush as soon as one round does not fill its buffer,
//! and miniz_oxide can return short while input is still pending. A Cyrus replica then waits
//! forever for the rest of a command (seen in the benchmark: `-A` into Cyrus stalled after
//! 166 MB). A completed sync flush always ends the stream with the empty stored block's
//! `00 00 FF FF`, so we flush until the bytes that reached the socket end with it.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// The end of every completed sync flush.
const SYNC_MARKER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Remembers the last four bytes that went through it.
struct Tail<W> {
    inner: W,
    last: [u8; 4],
}

impl<W: Write> Write for Tail<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = &buf[..n];
        if written.len() >= 4 {
            self.last.copy_from_slice(&written[written.len() - 4..]);
        } else {
            for &b in written {
                self.last.rotate_left(1);
                self.last[3] = b;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Raw DEFLATE over `W` with a complete sync flush on every `flush`.
pub(crate) struct SyncDeflate<W: Write> {
    enc: DeflateEncoder<Tail<W>>,
    /// Input accepted since the last completed flush.
    dirty: bool,
}

impl<W: Write> SyncDeflate<W> {
    pub(crate) fn new(inner: W, level: Compression) -> SyncDeflate<W> {
        SyncDeflate {
            enc: DeflateEncoder::new(
                Tail {
                    inner,
                    last: [0xAA; 4],
                },
                level,
            ),
            dirty: false,
        }
    }
}

impl<W: Write> Write for SyncDeflate<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.enc.write(buf)?;
        if n > 0 {
            self.dirty = true;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.dirty {
            // Each round emits the pending output and a sync block; bounded, as each round
            // makes progress on a finite amount of pending input.
            let mut rounds = 0;
            loop {
                self.enc.flush()?;
                if self.enc.get_ref().last == SYNC_MARKER {
                    break;
                }
                rounds += 1;
                if rounds > 64 {
                    return Err(io::Error::other("deflate sync flush did not complete"));
                }
            }
            self.dirty = false;
        }
        self.enc.get_mut().inner.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    /// Text-like input of many sizes, each piece followed by a flush: after every flush the
    /// stream so far decodes to everything written so far (what the peer needs to answer).
    #[test]
    fn every_flush_makes_all_input_decodable() {
        let mut w = SyncDeflate::new(Vec::new(), Compression::fast());
        let mut dec = flate2::Decompress::new(false);
        let mut decoded: Vec<u8> = Vec::new();
        let mut expected_len = 0usize;
        let mut fed = 0usize;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 400_000) as usize;
            let alphabet = b"APPLY MESSAGE %{default 0123456789abcdef} \r\n";
            let piece: Vec<u8> = (0..len)
                .map(|j| {
                    alphabet[((j as u64).wrapping_mul(seed | 1) >> 9) as usize % alphabet.len()]
                })
                .collect();
            w.write_all(&piece).unwrap();
            w.flush().unwrap();
            expected_len += piece.len();
            let stream = &w.enc.get_ref().inner;
            while fed < stream.len() {
                decoded.reserve(1 << 20);
                let before = dec.total_in();
                dec.decompress_vec(&stream[fed..], &mut decoded, flate2::FlushDecompress::Sync)
                    .unwrap();
                fed += (dec.total_in() - before) as usize;
            }
            assert_eq!(decoded.len(), expected_len, "decodable after flush");
            assert_eq!(&decoded[decoded.len() - piece.len()..], &piece[..]);
            decoded.clear();
            expected_len = 0;
        }
    }

    #[test]
    fn flush_output_ends_with_marker_each_time() {
        let mut w = SyncDeflate::new(Vec::new(), Compression::fast());
        for size in [1usize, 10, 1000, 70_000, 300_000, 5] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            w.write_all(&data).unwrap();
            w.flush().unwrap();
            let buf = &w.enc.get_ref().inner;
            assert_eq!(&buf[buf.len() - 4..], &SYNC_MARKER, "after {size}");
        }
    }
}
