//! The sending half of COMPRESS=DEFLATE: raw DEFLATE whose `flush` is a complete sync flush.
//!
//! Written on `flate2::Compress` directly because the stream adapters built on it
//! (`flate2::write::DeflateEncoder`, async-compression's encoder) can end a sync flush early
//! with the miniz_oxide backend, leaving part of a reply in the compressor: the peer then
//! waits for ever (a test in `conn.rs` reproduces it). A completed sync flush ends with the
//! empty stored block `00 00 FF FF`; we keep flushing until the output does.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Compress, Compression, FlushCompress};
use tokio::io::AsyncWrite;

const SYNC_MARKER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Compressed output buffered before `poll_write` waits for the socket.
const HIGH_WATER: usize = 256 * 1024;
/// Input compressed per `poll_write`.
const CHUNK: usize = 64 * 1024;

/// Raw DEFLATE (RFC 1951, no zlib header) over `W`.
pub(crate) struct DeflateWriter<W> {
    inner: W,
    comp: Compress,
    out: Vec<u8>,
    sent: usize,
    /// Input accepted since the last completed sync flush.
    dirty: bool,
}

fn zerr(e: flate2::CompressError) -> io::Error {
    io::Error::other(e)
}

impl<W: AsyncWrite + Unpin> DeflateWriter<W> {
    pub(crate) fn new(inner: W) -> DeflateWriter<W> {
        DeflateWriter {
            inner,
            comp: Compress::new(Compression::fast(), false),
            out: Vec::new(),
            sent: 0,
            dirty: false,
        }
    }

    /// Write buffered output to the socket until it is all gone (or the socket blocks).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.out.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Compress `input` into the output buffer; with `Sync`, until the sync flush is
    /// complete (all input consumed, output not cut short, stream ending with the marker).
    fn compress(&mut self, input: &[u8], flush: FlushCompress) -> io::Result<()> {
        let mut consumed = 0usize;
        for _ in 0..100_000 {
            self.out.reserve(64 * 1024);
            let before_in = self.comp.total_in();
            self.comp
                .compress_vec(&input[consumed..], &mut self.out, flush)
                .map_err(zerr)?;
            consumed += (self.comp.total_in() - before_in) as usize;
            let done_input = consumed >= input.len();
            let filled = self.out.len() == self.out.capacity();
            let complete = match flush {
                FlushCompress::Sync => !filled && self.out.ends_with(&SYNC_MARKER),
                _ => true,
            };
            if done_input && complete {
                return Ok(());
            }
        }
        Err(io::Error::other("deflate: compressor made no progress"))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for DeflateWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() - this.sent >= HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        // Take at most one chunk per call, so a large write_all (a message body) never makes
        // the compressed backlog larger than HIGH_WATER plus one chunk.
        let take = &buf[..buf.len().min(CHUNK)];
        this.compress(take, FlushCompress::None)?;
        if !take.is_empty() {
            this.dirty = true;
        }
        Poll::Ready(Ok(take.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dirty {
            this.compress(&[], FlushCompress::Sync)?;
            this.dirty = false;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
