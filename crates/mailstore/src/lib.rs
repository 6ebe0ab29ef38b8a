//! The mailstore: the complete data model that replication preserves, stored as SQLite
//! metadata (a global `mailboxes.db` plus one database per user, WAL mode) and GUID-addressed
//! message files, safe for several processes at once, with Cyrus-format sync log records
//! written for every change.
//!
//! Owns: domain types (mailboxes, records, annotations, seen, quotas, sieve), the operations a
//! mail server needs (create/rename/delete, append, flags, expunge, copy/move, seen, subscribe,
//! ACL, quota, annotations, sieve) and the primitives a replica needs (store exactly what a
//! master sends), SYNC_CRC/SYNC_CRC_ANNOT, and the durability order of DESIGN.md.
//! Must not: know any protocol (IMAP, LMTP, POP3, csync), check access rights, or block an
//! async reactor (callers run it on blocking threads).
#![forbid(unsafe_code)]

mod blob;
pub mod crc;
mod db;
mod duplicate;
mod error;
mod index;
mod mailbox;
mod message;
pub mod model;
mod replica;
mod store;
mod user;

pub use blob::{BodyWriter, Owner, StagedBody, body_path, read_body};
pub use error::{Result, StoreError};
pub use index::{IndexTxn, MAX_USER_FLAGS, valid_keyword};
pub use mailbox::{CreateOptions, OWNER_RIGHTS};
pub use message::{AppendOptions, Appended, FlagChange, FlagOp, FlagResult};
pub use model::*;
pub use store::{Clock, Store, StoreConfig, SystemClock};
pub use sync_log;
pub use types;
