//! Errors of mailstore operations: "the request cannot be done" cases a protocol maps to
//! NO/BAD with a code, kept apart from internal failures (I/O, SQLite).
//!
//! Must not: format protocol replies.

use std::io;

use types::MboxNameError;

/// A failed mailstore operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("mailbox does not exist: {0}")]
    MailboxNotFound(String),
    #[error("mailbox already exists: {0}")]
    MailboxExists(String),
    #[error("mailbox unique id {0} is already used by another mailbox")]
    UniqueIdInUse(String),
    #[error("parent mailbox does not exist: {0}")]
    NoParent(String),
    #[error("unknown partition: {0}")]
    UnknownPartition(String),
    #[error("invalid mailbox name: {0}")]
    BadName(#[from] MboxNameError),
    #[error("too many user flags in mailbox {0} (Cyrus allows 128)")]
    TooManyUserFlags(String),
    #[error("invalid user flag name: {0:?}")]
    BadFlag(String),
    #[error("message body for GUID {0} is not available")]
    BodyMissing(String),
    #[error("message body does not match GUID {0}")]
    GuidMismatch(String),
    #[error("sieve script not found: {0}")]
    ScriptNotFound(String),
    #[error("operation not supported on mailbox {0}")]
    NotSupported(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("sync log: {0}")]
    SyncLog(#[from] sync_log::WriteError),
    #[error("metadata database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// One failure shared by several results (e.g. every target of a delivery when the sync
    /// log cannot be written).
    #[error("{0}")]
    Shared(std::sync::Arc<StoreError>),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl StoreError {
    /// True when SQLite reported that another process held the database too long.
    pub fn is_busy(&self) -> bool {
        if let StoreError::Shared(inner) = self {
            return inner.is_busy();
        }
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    || e.code == rusqlite::ErrorCode::DatabaseLocked
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
