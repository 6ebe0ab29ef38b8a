//! testkit: dev-only helpers for tests against a real Cyrus IMAP 3.6 and our servers.
//!
//! Never used by production code. Modules:
//! - [`cyrus`]: [`CyrusInstance`], a real Cyrus (master, replica or standalone) in a temp dir on
//!   free 127.0.0.1 ports, stopped on drop; [`CyrusInstance::run_tool`] runs Cyrus tools with
//!   its `-C`.
//! - [`imap`]: [`ImapClient`], a small async IMAP client (literals, AUTHENTICATE PLAIN with
//!   authzid, ACL/QUOTA/METADATA helpers, a raw escape hatch).
//! - [`dump`]: [`ServerDump`], the observable state of a server over IMAP, with [`diff`] and
//!   [`assert_same`].
//! - [`lmtp`]: LMTP delivery; [`managesieve`]: upload sieve scripts; [`corpus`]: a
//!   deterministic N × M corpus.
//! - [`syslog`]: best-effort capture of Cyrus's syslog lines (shown by
//!   [`CyrusInstance::diagnostics`]).
//!
//! Tests that need Cyrus start with [`skip_without_cyrus`], which prints a loud notice and
//! returns true when `/usr/lib/cyrus/bin/master` is absent. `.ci/install-cyrus` installs it.
//!
//! [`CyrusInstance`] is blocking (it starts processes); [`ImapClient`], [`ServerDump`] and the
//! LMTP/ManageSieve helpers are async (tokio). In a `#[tokio::test(flavor = "multi_thread")]`
//! wrap blocking calls such as [`CyrusInstance::run_tool`] in
//! `tokio::task::block_in_place`, or use `spawn_blocking`. [`ImapClient::from_stream`] takes any
//! `AsyncRead + AsyncWrite` stream, so it also drives an in-process server.
//!
//! Comparing a Cyrus master with our replica: `DumpOptions::for_cyrus(&cyrus)` for the Cyrus
//! side; for ours, `DumpOptions::new(admin, pw)` with `users` and `sieve =
//! SieveSource::ManageSieve(addr)` or `SieveSource::Provided(..)`, then [`diff`]. Cyrus-computed annotations
//! ([`dump::COMPUTED_ANNOTATIONS`]) are left out of dumps.
//!
//! Cyrus 3.6.1 facts the harness relies on (checked by this crate's tests): RFC 8474
//! `MAILBOXID` is offered (`OBJECTID`) and equals the mailbox uniqueid; `DIGEST.SHA1` is the
//! SHA-1 of the whole message; server annotations (mailbox `""`) are not replicated; a user's
//! `\Seen` on another user's folder travels with that *reader's* `sync_client -u`; the admin
//! has no `r`/`i` on non-user mailboxes unless an ACL grants it; with `sync_log_channels` only
//! `configdirectory/sync/<channel>/log` is written; sieve scripts live as messages in a
//! `user/<name>/#sieve` mailbox (not selectable; left out of dumps) with only bytecode in
//! `sievedir`, so dumps read them over ManageSieve; mailboxes are stored under
//! `spool/default/uuid/<a>/<b>/<uniqueid>/`.
//!
//! # Example
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use testkit::{CyrusInstance, ImapClient, ServerDump, assert_same};
//!
//! let replica = CyrusInstance::builder().replica().user("alice", "pw").start()?;
//! let master = CyrusInstance::builder()
//!     .master(replica.as_sync_target()?)
//!     .user("alice", "pw")
//!     .start()?;
//!
//! let mut admin = ImapClient::login_to(master.imap_addr(), "admin", "adminpw").await?;
//! admin.create("user/alice").await?;
//! // The admin acting as alice (SASL PLAIN authzid):
//! let mut alice = ImapClient::proxy_to(master.imap_addr(), "alice", "admin", "adminpw").await?;
//! alice.append("INBOX", &["\\Seen"], None, b"Subject: hi\r\n\r\nhello\r\n").await?;
//! testkit::lmtp::deliver_ok(master.lmtp_addr(), "a@b.c", &["alice"], b"Subject: x\r\n\r\ny\r\n")
//!     .await?;
//!
//! let out = master.run_tool_ok("sync_client", &["-u", "alice"])?;
//! assert!(out.success());
//! assert_same(&ServerDump::of_cyrus(&master).await?, &ServerDump::of_cyrus(&replica).await?);
//! # Ok(()) }
//! ```

pub mod corpus;
pub mod cyrus;
pub mod dump;
pub mod imap;
pub mod lmtp;
pub mod managesieve;
pub mod syslog;

pub use corpus::{CorpusMessage, CorpusSpec};
pub use cyrus::{
    CyrusBuilder, CyrusInstance, SyncTarget, ToolOutput, ToolProcess, cyrus_available,
    skip_without_cyrus,
};
pub use dump::{
    BodyDigest, DumpOptions, MailboxDump, MessageDump, ServerDump, SieveSource, SieveUser,
    assert_same, diff, wait_for_same,
};
pub use imap::ImapClient;
