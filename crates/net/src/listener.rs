//! Listening sockets: bound here from a `--listen` address, or inherited from `master`.
//!
//! Inheritance convention (ours; Cyrus's master uses fixed descriptor numbers): master binds
//! the `listen=` address, leaves the socket open across `exec` and names its descriptor number
//! in the environment variable [`LISTEN_FD_ENV`]. The service takes it over, marks it
//! close-on-exec so its own children never see it, and removes the variable.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::path::PathBuf;

use tokio::net::{TcpListener, UnixListener};

use crate::{Conn, ServiceArgs};

/// The environment variable holding the inherited listening descriptor's number.
pub const LISTEN_FD_ENV: &str = "CYRUS_LISTEN_FD";

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP (IPv4 or IPv6).
    Tcp(TcpListener),
    /// UNIX-domain stream socket, with its path when known.
    Unix(UnixListener, Option<PathBuf>),
}

impl Listener {
    /// Bind `addr`: `host:port`, `[v6addr]:port`, or an absolute UNIX socket path (a stale
    /// socket file at that path is replaced). Must run inside a tokio runtime.
    pub async fn bind(addr: &str) -> io::Result<Listener> {
        if addr.starts_with('/') {
            let path = PathBuf::from(addr);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
                    std::fs::remove_file(&path)?;
                }
                _ => {}
            }
            return Ok(Listener::Unix(UnixListener::bind(&path)?, Some(path)));
        }
        Ok(Listener::Tcp(TcpListener::bind(addr).await?))
    }

    /// The socket named by [`LISTEN_FD_ENV`], if any. Call at most once per process, inside
    /// a tokio runtime.
    pub fn inherited() -> io::Result<Option<Listener>> {
        let Ok(value) = std::env::var(LISTEN_FD_ENV) else {
            return Ok(None);
        };
        let fd: RawFd = value.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{LISTEN_FD_ENV}={value}: not a descriptor number"),
            )
        })?;
        // SAFETY: F_GETFD only inspects the descriptor table; an invalid fd yields -1.
        if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{LISTEN_FD_ENV}={fd}: no such open descriptor"),
            ));
        }
        // SAFETY: as above; setting FD_CLOEXEC on our own open descriptor.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        // SAFETY: the removal happens before any thread of ours reads the environment
        // concurrently: services call this once at start-up, before spawning sessions.
        unsafe { std::env::remove_var(LISTEN_FD_ENV) };
        // SAFETY: master passed us this descriptor for our exclusive use; nothing else in this
        // process owns it, so taking ownership cannot double-close.
        let tcp = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        if tcp.local_addr().is_ok() {
            tcp.set_nonblocking(true)?;
            return Ok(Some(Listener::Tcp(TcpListener::from_std(tcp)?)));
        }
        let fd = tcp.into_raw_fd();
        // SAFETY: the same descriptor, ownership moved from the TcpListener just released.
        let unix = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        unix.local_addr()?;
        unix.set_nonblocking(true)?;
        let path = unix
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.to_owned()));
        Ok(Some(Listener::Unix(UnixListener::from_std(unix)?, path)))
    }

    /// `--listen` when given, else the inherited socket, else an error saying both are absent.
    pub async fn from_args(args: &ServiceArgs) -> io::Result<Listener> {
        if let Some(addr) = &args.listen {
            return Listener::bind(addr).await;
        }
        Listener::inherited()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no --listen address given and no socket inherited ({LISTEN_FD_ENV})"),
            )
        })
    }

    /// Accept one connection.
    pub async fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(l) => Ok(Conn::from_tcp(l.accept().await?.0)),
            Listener::Unix(l, _) => Ok(Conn::from_unix(l.accept().await?.0)),
        }
    }

    /// The bound address as text (`127.0.0.1:1143`, or the socket path).
    pub fn local_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "unknown".to_owned()),
            Listener::Unix(_, p) => p
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "unix".to_owned()),
        }
    }
}
