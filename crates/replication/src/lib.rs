//! Cyrus 3.6 replication ("csync"): the replica side now, the master side (sync_client) later.
//!
//! Owns: [`server`] — `sync_server` and the replica half of replication over the IMAP port;
//! [`stage`] — the per-session reserve list of message files; [`deflate`] — the raw DEFLATE
//! layer of `COMPRESS DEFLATE`.
//! Must not: parse or serialise csync itself (that is `csync-proto`), or store anything except
//! through `mailstore`.
//!
//! # Entry points
//!
//! * `sync_server`: [`server::session::serve_listener`] (accept loop) or
//!   [`server::session::run`] (one connection), with a [`server::ServerOptions`] built by
//!   [`server::session::options_from_conf`].
//! * imapd (`SYNCAPPLY`/`SYNCGET`/`SYNCRESTART`/`SYNCRESTORE`, csync §1.12): keep one
//!   [`server::SyncCore::imap`] per IMAP connection once an admin has authenticated, and
//!   advertise `X-REPLICATION` to admins. When a tagged line's command word is one of those,
//!   call [`server::SyncCore::feed`] with the input starting at the tag, write what it appends
//!   to `out` (it may contain a `+ go ahead` continuation before completion), and repeat with
//!   more input until [`server::Progress::done`]; then resume IMAP parsing after
//!   `consumed` bytes. `feed` blocks on the mailstore: call it from `spawn_blocking`.
#![forbid(unsafe_code)]

pub mod deflate;
pub mod server;
pub mod stage;
pub mod client;
