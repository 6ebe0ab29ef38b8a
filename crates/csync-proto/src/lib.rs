//! Cyrus 3.6 replication protocol ("csync") codec: dlist values, their incremental parser
//! and canonical serialiser, command/response line framing, typed GET/APPLY commands and
//! response data, and the exact status lines (csync spec §1–§6).
//!
//! Owns: everything between bytes and typed csync values, in both directions.
//! Must not: do I/O (bodies stream through caller-supplied sinks/sources), touch storage, or
//! decide policy (authentication, permissions, which error to send).
#![forbid(unsafe_code)]

pub mod cmd;
mod line;
mod parse;
mod ser;
mod status;
mod value;

pub use line::{
    Command, CommandLine, CommandParser, Flavour, Parsed, Response, ResponseParser, SimpleVerb,
};
pub use parse::{DiscardSink, FileSink, MemorySink, ParseError, ParseLimits};
pub use ser::{FileSource, NoFiles, Role, Serializer, to_vec};
pub use status::{Reply, ResultCode, StatusKind, StatusLine, SyncError, ValueVerb};
pub use value::{DValue, FieldError, FileLit, FileRef, Keyed, Kv, KvBuilder, parse_num64};
