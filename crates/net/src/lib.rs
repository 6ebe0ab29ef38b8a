//! Sockets for the servers and clients of cyrus-rs: listening (a `--listen` address or the
//! socket inherited from `master`), the connection type every session owns (plain, TLS,
//! COMPRESS=DEFLATE, re-wrapped in place), service command-line conventions and the accept
//! loop with clean shutdown.
//!
//! Owns: transport only. Must not: parse any mail protocol, touch the mailstore, or read
//! imapd.conf beyond the TLS options.
//!
//! The process model and the inherited-socket convention are in `docs/design/process-model.md`.

mod alloc;
mod args;
mod conn;
mod deflate;
mod listener;
mod serve;
mod tls;

pub use alloc::tune_allocator;
pub use args::{ArgsError, DEFAULT_CONFIG, ServiceArgs, init_tracing};
pub use conn::Conn;
pub use listener::{LISTEN_FD_ENV, Listener};
pub use serve::{MAXCHILD_ENV, serve, serve_limited, serve_until};
pub use tls::{TlsAcceptor, TlsConnector, TlsError};
