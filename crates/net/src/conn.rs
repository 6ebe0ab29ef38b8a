//! [`Conn`]: one connection's byte stream, whatever it is wrapped in.
//!
//! A session owns a `Conn` for its whole life. STARTTLS and COMPRESS replace the inner stream
//! in place (`start_tls`, `start_compress`), so session code keeps one type. The caller must
//! have consumed every byte it buffered before re-wrapping: bytes read ahead belong to the
//! old layer (RFC 3501 §6.2.1, RFC 4978 §3).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::DeflateDecoder;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, DuplexStream, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UnixStream};

use crate::tls::{TlsAcceptor, TlsConnector};

/// The layers a connection can be made of.
enum Inner {
    Tcp(TcpStream),
    Unix(UnixStream),
    Duplex(DuplexStream),
    TlsServer(Box<tokio_rustls::server::TlsStream<Inner>>),
    TlsClient(Box<tokio_rustls::client::TlsStream<Inner>>),
    Deflate(Box<Deflate>),
    /// Only while a layer is being swapped, or after a failed upgrade.
    Gone,
}

/// RFC 4978: raw DEFLATE (no zlib header) in each direction, every flush a sync flush.
struct Deflate {
    reader: DeflateDecoder<BufReader<ReadHalf<Inner>>>,
    writer: crate::deflate::DeflateWriter<WriteHalf<Inner>>,
}

/// A connection: TCP, UNIX-domain or in-memory, possibly under TLS and/or DEFLATE.
pub struct Conn {
    inner: Inner,
    peer: String,
    local: String,
    tls: bool,
    compressed: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("tls", &self.tls)
            .field("compressed", &self.compressed)
            .finish()
    }
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "connection closed by a failed upgrade",
    )
}

impl Conn {
    fn new(inner: Inner, peer: String, local: String) -> Conn {
        Conn {
            inner,
            peer,
            local,
            tls: false,
            compressed: false,
        }
    }

    /// A TCP connection (accepted or connected). Disables Nagle: the protocols here are
    /// request/response and flush whole replies.
    pub fn from_tcp(stream: TcpStream) -> Conn {
        let _ = stream.set_nodelay(true);
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown".to_owned());
        let local = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown".to_owned());
        Conn::new(Inner::Tcp(stream), peer, local)
    }

    /// A UNIX-domain connection.
    pub fn from_unix(stream: UnixStream) -> Conn {
        let local = stream
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
            .unwrap_or_else(|| "unix".to_owned());
        Conn::new(Inner::Unix(stream), "unix".to_owned(), local)
    }

    /// Two connected in-memory ends, for tests.
    pub fn pair() -> (Conn, Conn) {
        let (a, b) = tokio::io::duplex(256 * 1024);
        (
            Conn::new(Inner::Duplex(a), "pair-a".to_owned(), "pair-b".to_owned()),
            Conn::new(Inner::Duplex(b), "pair-b".to_owned(), "pair-a".to_owned()),
        )
    }

    /// Connect to `host:port` (TCP) or to a UNIX socket path (starting with `/`).
    pub async fn connect(addr: &str) -> io::Result<Conn> {
        if addr.starts_with('/') {
            Ok(Conn::from_unix(UnixStream::connect(addr).await?))
        } else {
            Ok(Conn::from_tcp(TcpStream::connect(addr).await?))
        }
    }

    /// The peer's address as text (`127.0.0.1:40000`, `unix`).
    pub fn peer_addr(&self) -> &str {
        &self.peer
    }

    /// Our end's address as text.
    pub fn local_addr(&self) -> &str {
        &self.local
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether COMPRESS=DEFLATE is active.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Server side of a TLS handshake on this connection (STARTTLS, or `-s` services).
    pub async fn start_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        let inner = std::mem::replace(&mut self.inner, Inner::Gone);
        let stream = acceptor.inner().accept(inner).await?;
        self.inner = Inner::TlsServer(Box::new(stream));
        self.tls = true;
        Ok(())
    }

    /// Client side of a TLS handshake, checking the server's certificate for `server_name`.
    pub async fn start_tls_client(
        &mut self,
        connector: &TlsConnector,
        server_name: &str,
    ) -> io::Result<()> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let inner = std::mem::replace(&mut self.inner, Inner::Gone);
        let stream = connector.inner().connect(name, inner).await?;
        self.inner = Inner::TlsClient(Box::new(stream));
        self.tls = true;
        Ok(())
    }

    /// Start raw DEFLATE in both directions (RFC 4978; csync `COMPRESS DEFLATE`). Every
    /// `flush` ends with a sync flush so the peer can decode all that was written.
    pub fn start_compress(&mut self) {
        let inner = std::mem::replace(&mut self.inner, Inner::Gone);
        let (r, w) = tokio::io::split(inner);
        let mut reader = DeflateDecoder::new(BufReader::new(r));
        reader.multiple_members(true);
        let writer = crate::deflate::DeflateWriter::new(w);
        self.inner = Inner::Deflate(Box::new(Deflate { reader, writer }));
        self.compressed = true;
    }
}

impl AsyncRead for Inner {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Duplex(s) => Pin::new(s).poll_read(cx, buf),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Inner::Deflate(d) => Pin::new(&mut d.reader).poll_read(cx, buf),
            Inner::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Inner {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Duplex(s) => Pin::new(s).poll_write(cx, buf),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Inner::Deflate(d) => Pin::new(&mut d.writer).poll_write(cx, buf),
            Inner::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            Inner::Unix(s) => Pin::new(s).poll_flush(cx),
            Inner::Duplex(s) => Pin::new(s).poll_flush(cx),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::Deflate(d) => Pin::new(&mut d.writer).poll_flush(cx),
            Inner::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Duplex(s) => Pin::new(s).poll_shutdown(cx),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Inner::Deflate(d) => Pin::new(&mut d.writer).poll_shutdown(cx),
            Inner::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{Read, Write};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn compress_both_ways_with_sync_flush() {
        let (mut a, mut b) = Conn::pair();
        a.write_all(b"OK before\r\n").await.unwrap();
        a.flush().await.unwrap();
        let mut line = [0u8; 11];
        b.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"OK before\r\n");
        a.start_compress();
        b.start_compress();
        for i in 0..50 {
            let msg = format!("line {i} {}\r\n", "x".repeat(i * 37));
            a.write_all(msg.as_bytes()).await.unwrap();
            a.flush().await.unwrap();
            let mut got = vec![0u8; msg.len()];
            b.read_exact(&mut got).await.unwrap();
            assert_eq!(got, msg.as_bytes());
            b.write_all(b"ack\r\n").await.unwrap();
            b.flush().await.unwrap();
            let mut ack = [0u8; 5];
            a.read_exact(&mut ack).await.unwrap();
            assert_eq!(&ack, b"ack\r\n");
        }
        assert!(a.is_compressed());
    }

    /// Large text-like writes, each followed by a flush: the peer can always read all of it
    /// (a sync flush that returns early would leave the peer waiting for ever).
    #[tokio::test]
    async fn compressed_flush_delivers_everything_written() {
        let (mut a, mut b) = Conn::pair();
        a.start_compress();
        b.start_compress();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"APPLY MESSAGE %{default 0123456789abcdef} \r\n";
        let mut got = vec![0u8; 400_001];
        for _ in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 400_000) as usize;
            let piece: Vec<u8> = (0..len)
                .map(|j| {
                    alphabet[((j as u64).wrapping_mul(seed | 1) >> 9) as usize % alphabet.len()]
                })
                .collect();
            let writer = async {
                a.write_all(&piece).await.unwrap();
                a.flush().await.unwrap();
            };
            let read = async {
                tokio::time::timeout(
                    std::time::Duration::from_secs(20),
                    b.read_exact(&mut got[..len]),
                )
                .await
                .expect("peer still waiting for flushed data")
                .unwrap();
            };
            tokio::join!(writer, read);
            assert!(got[..len] == piece[..]);
        }
    }

    /// What we send decodes with plain zlib raw inflate (as Cyrus's prot layer does), and what
    /// a raw deflater with sync flush sends reads back through us.
    #[tokio::test]
    async fn compress_interoperates_with_raw_zlib() {
        let (mut ours, mut theirs) = Conn::pair();
        ours.start_compress();
        ours.write_all(b"* OK hello\r\n").await.unwrap();
        ours.flush().await.unwrap();
        let mut wire = vec![0u8; 4096];
        let n = theirs.read(&mut wire).await.unwrap();
        let mut dec = flate2::Decompress::new(false);
        let mut out = Vec::with_capacity(100);
        dec.decompress_vec(&wire[..n], &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, b"* OK hello\r\n");

        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(b"A1 NOOP\r\n").unwrap();
        enc.flush().unwrap();
        theirs.write_all(enc.get_ref()).await.unwrap();
        theirs.flush().await.unwrap();
        let mut r = tokio::io::BufReader::new(ours);
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "A1 NOOP\r\n");
        let _ = flate2::read::DeflateDecoder::new(&b""[..]).read(&mut [0u8; 1]);
    }
}
