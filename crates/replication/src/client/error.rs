//! Errors of the sync client, classified as the Cyrus client classifies them (csync §6.2):
//! a remote NO with its code, a BYE, a broken connection, a local store failure.
//!
//! Must not: decide retries (the engine does).

use std::io;

use csync_proto::ResultCode;

/// One failed unit of work.
#[derive(Debug, thiserror::Error)]
pub enum SyncErr {
    /// The replica answered `NO [code] text`.
    #[error("{}", remote_text(.code, .text))]
    Remote {
        code: Option<ResultCode>,
        text: String,
    },
    /// The replica said BYE (shutting down).
    #[error("Connection reset by replica (BYE)")]
    Bye,
    /// Unexpected or unparsable reply, `BAD`.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Authentication refused or impossible.
    #[error("couldn't authenticate to backend server: {0}")]
    Auth(String),
    /// `-z` and compression could not be switched on.
    #[error("Failed to enable compression to server '{0}'")]
    CompressRequired(String),
    /// The local mailstore failed.
    #[error("{0}")]
    Store(#[from] mailstore::StoreError),
    /// Renames did not settle / state changed under us (`IMAP_SYNC_CHANGED`).
    #[error("Changed since last sync")]
    Changed,
    /// A per-user sync lock is held by another client (`-N`).
    #[error("Mailbox locked")]
    Locked,
}

fn remote_text(code: &Option<ResultCode>, text: &str) -> String {
    match code {
        Some(c) => format!("{} {text}", c.as_str()),
        None => text.to_owned(),
    }
}

impl SyncErr {
    /// The connection cannot be used any more.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            SyncErr::Io(_) | SyncErr::Bye | SyncErr::Protocol(_) | SyncErr::Auth(_)
        )
    }

    pub fn code(&self) -> Option<&ResultCode> {
        match self {
            SyncErr::Remote { code, .. } => code.as_ref(),
            _ => None,
        }
    }

    pub fn is_code(&self, c: ResultCode) -> bool {
        self.code() == Some(&c)
    }
}
