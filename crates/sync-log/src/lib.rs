//! The Cyrus sync log: the text records every mutating process appends for rolling replication
//! (replication-behaviour §3.1–3.3 and §4, csync §8), their exact quoting, the multi-process
//! writer protocol (append under an exclusive lock, re-open if the reader renamed the file), and
//! the reader side (rotate `log` to `log-run`, parse).
//!
//! Owns: the record types, the line format (byte-identical to Cyrus 3.6), file layout
//! `<configdirectory>/sync[/<channel>]/log`, locking.
//! Must not: know what the records mean to a replica (that is sync_client's business) or
//! touch the mailstore.
#![forbid(unsafe_code)]

mod format;
mod writer;

pub use format::{ParseError, Record, RecordError, parse_line};
pub use writer::{
    Channel, LockedAppend, SyncLogConfig, SyncLogWriter, WriteError, begin_batch, begin_read,
};
