//! Cyrus 3.6 replication ("csync"): the replica side and the master side.
//!
//! Owns: [`server`] — `sync_server` and the replica half of replication over the IMAP port;
//! [`stage`] — the replica's per-session reserve list of message files; [`client`] —
//! `sync_client` (see its module docs).
//! Must not: parse or serialise csync itself (that is `csync-proto`), or store anything except
//! through `mailstore`.
//!
//! # Entry points
//!
//! * `sync_server`: [`server::session::serve_listener`] (accept loop) or
//!   [`server::session::run`] (one `net::Conn`), with a [`server::session::SessionConfig`]
//!   whose [`server::ServerOptions`] come from [`server::session::options_from_conf`].
//! * imapd (`SYNCAPPLY`/`SYNCGET`/`SYNCRESTART`/`SYNCRESTORE`, csync §1.12): keep one
//!   [`server::SyncCore::imap`] per IMAP connection once an admin has authenticated, and
//!   advertise `X-REPLICATION` to admins. When a tagged line's command word is one of those,
//!   call [`server::SyncCore::feed`] with the input starting at the tag, write what it appends
//!   to `out` (it may contain a `+ go ahead` continuation before completion), and repeat with
//!   more input until [`server::Progress::done`]; then resume IMAP parsing after
//!   `consumed` bytes. If [`server::Progress::stream`] is set (GET FETCH), send that file's
//!   bytes and its trailer after the output. Honour [`server::Progress::delay`]. `feed` blocks
//!   on the mailstore: call it from `spawn_blocking`; call [`server::SyncCore::end`] when the
//!   connection ends (it drops the staged files). Build the options with
//!   [`server::session::options_from_conf`] (only `admins`, `allowusermoves` and SIEVE-MAILBOX
//!   matter in this flavour).
#![forbid(unsafe_code)]

pub mod client;
pub mod server;
pub mod stage;
