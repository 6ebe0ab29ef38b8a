//! The replica side of csync (csync §4–§6): [`Replica`] answers typed GET/APPLY commands
//! against the local mailstore; [`SyncCore`] adds framing, authentication and session commands
//! for both the csync port and the IMAP flavour (`SYNCAPPLY`/`SYNCGET`/`SYNCRESTART`, §1.12);
//! [`session`] runs a [`SyncCore`] over a socket.
//!
//! Replica rules: only an authenticated admin may sync; the replica refuses nothing a master
//! legitimately sends and changes nothing on its own (no modseq is allocated for replicated
//! state, csync §3.15).
//! Must not: block an async reactor (every method here is blocking; [`session`] runs them on
//! blocking threads), or keep message bodies in memory (they stream through [`Staging`]).

mod apply;
mod core;
mod get;
pub mod session;

use std::io::Write;
use std::sync::Arc;

use csync_proto::cmd::{ApplyCommand, GetCommand};
use csync_proto::{Keyed, ResultCode, SyncError};
use mailstore::{Store, StoreError};

use crate::stage::Staging;

pub use self::core::{Action, Progress, ServerOptions, StreamFile, SyncCore};

/// The only capability a 3.6 client can enable (csync §5.14).
pub const SIEVE_MAILBOX: &str = "SIEVE-MAILBOX";

/// Per-session replica state: the store, the reserve list and session flags.
#[derive(Debug)]
pub struct Replica {
    pub(crate) store: Arc<Store>,
    pub(crate) staging: Staging,
    /// APPLY FORCE seen (csync §5.13).
    pub(crate) force: bool,
    /// SIEVE-MAILBOX enabled by APPLY CAPABILITIES (csync §5.16).
    pub(crate) sieve_mailbox: bool,
    /// Whether we advertise (and so may enable) SIEVE-MAILBOX.
    pub(crate) offer_sieve_mailbox: bool,
    /// `allowusermoves` (csync §5.5).
    pub(crate) allow_user_moves: bool,
    /// A message file to stream after the reply's data (GET FETCH).
    pub(crate) pending_file: Option<(std::path::PathBuf, u64)>,
}

type Res<T> = std::result::Result<T, SyncError>;

/// How a store failure goes on the wire (csync §6.1).
pub(crate) fn store_err(e: StoreError) -> SyncError {
    store_err_ref(&e)
}

fn store_err_ref(e: &StoreError) -> SyncError {
    if e.is_busy() {
        return SyncError::Code(ResultCode::MailboxLocked);
    }
    match e {
        StoreError::MailboxNotFound(_) | StoreError::ScriptNotFound(_) => {
            SyncError::Code(ResultCode::MailboxNonexistent)
        }
        StoreError::UniqueIdInUse(_) => SyncError::Code(ResultCode::MailboxMoved),
        StoreError::NotSupported(_) => SyncError::Code(ResultCode::MailboxNotSupported),
        StoreError::Shared(inner) => store_err_ref(inner),
        other => {
            tracing::warn!("replica operation failed: {other}");
            SyncError::Unknown
        }
    }
}

impl Replica {
    pub fn new(store: Arc<Store>) -> Self {
        Replica {
            staging: Staging::new(store.clone()),
            store,
            force: false,
            sieve_mailbox: false,
            offer_sieve_mailbox: true,
            allow_user_moves: false,
            pending_file: None,
        }
    }

    /// RESTART / EXIT: drop the reserve list (csync §1.8).
    pub fn restart(&mut self) {
        self.staging.clear();
    }

    /// Answer one GET: data lines into `out` (untagged), then the result.
    pub fn get(&mut self, k: &Keyed, out: &mut dyn Write) -> Res<()> {
        let cmd = GetCommand::from_keyed(k)?;
        get::run(self, &cmd, out)
    }

    /// Apply one APPLY: data lines into `out`, then the result.
    pub fn apply(&mut self, k: &Keyed, out: &mut dyn Write) -> Res<()> {
        let cmd = ApplyCommand::from_keyed(k)?;
        apply::run(self, cmd, out)
    }
}
