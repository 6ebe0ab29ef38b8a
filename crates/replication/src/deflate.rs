//! Raw DEFLATE (RFC 1951, no zlib header, window 2^15) for `COMPRESS DEFLATE` (csync §1.7,
//! RFC 4978): every flush ends with a sync flush so each reply is decodable at once.
//!
//! Owns: the two zlib streams of one connection, buffer in / buffer out.
//! Must not: do I/O or decide when compression starts.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Both directions of one compressed connection.
#[derive(Debug)]
pub struct Deflate {
    comp: Compress,
    decomp: Decompress,
}

impl Default for Deflate {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflate {
    pub fn new() -> Self {
        Deflate {
            comp: Compress::new(Compression::default(), false),
            decomp: Decompress::new(false),
        }
    }

    /// Compress `input` and sync-flush, appending to `out`.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let mut pos = 0;
        loop {
            out.reserve(input.len() - pos + 64 + 8192);
            let before = self.comp.total_in();
            self.comp
                .compress_vec(&input[pos..], out, FlushCompress::Sync)
                .map_err(io::Error::other)?;
            pos += (self.comp.total_in() - before) as usize;
            // Done when all input is in and zlib left room (the flush completed).
            if pos >= input.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }

    /// Inflate `input`, appending the plain bytes to `out`.
    pub fn decompress(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let mut pos = 0;
        loop {
            out.reserve((input.len() - pos) * 4 + 8192);
            let before = self.decomp.total_in();
            let status = self
                .decomp
                .decompress_vec(&input[pos..], out, FlushDecompress::None)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            pos += (self.decomp.total_in() - before) as usize;
            if status == Status::StreamEnd {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "deflate stream ended",
                ));
            }
            if pos >= input.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_pieces() {
        let mut a = Deflate::new();
        let mut b = Deflate::new();
        let mut wire = Vec::new();
        a.compress(b"OK DEFLATE active\r\n", &mut wire).unwrap();
        assert!(wire.ends_with(&[0, 0, 0xff, 0xff]));
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        a.compress(&big, &mut wire).unwrap();
        let mut plain = Vec::new();
        for chunk in wire.chunks(777) {
            b.decompress(chunk, &mut plain).unwrap();
        }
        assert_eq!(&plain[..19], b"OK DEFLATE active\r\n");
        assert_eq!(&plain[19..], &big[..]);
    }
}
