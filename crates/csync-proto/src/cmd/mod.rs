//! Typed csync commands and response data (csync §3–§5): each with `from_keyed`/`from_dvalue`
//! (strict where Cyrus's server is strict, lenient where it ignores) and `to_keyed`/`to_dvalue`
//! emitting keys in Cyrus's order so output is byte-identical to captures.
//!
//! Owns: the mapping between dlist trees and Rust values for every GET/APPLY and data line.
//! Must not: perform the operations, or know about storage.

mod apply;
mod get;
mod mailbox;
mod meta;
mod response;

pub use apply::{ApplyCommand, MessageFile};
pub use get::GetCommand;
pub use mailbox::{
    Annotation, Flags, IntermediateMailbox, Mailbox, MailboxApply, Record, SystemFlags,
};
pub use meta::{
    MailboxAnnotation, Quota, QuotaLimits, SeenState, SieveEntry, SieveScript, UNLIMITED,
};
pub use response::ResponseData;

use types::MboxName;

use crate::status::SyncError;
use crate::value::{DValue, Kv};

type Result<T> = std::result::Result<T, SyncError>;

const BAD: SyncError = SyncError::BAD_PARAMETERS;

fn kv_of(v: &DValue) -> Result<Kv<'_>> {
    v.as_kvlist().ok_or(BAD)
}

fn text_of(v: &DValue) -> Result<String> {
    v.to_text().map(str::to_owned).ok_or(BAD)
}

fn mbox_of(v: &DValue) -> Result<MboxName> {
    MboxName::new(text_of(v)?).map_err(|_| BAD)
}

fn text(kv: &Kv<'_>, key: &str) -> Result<String> {
    Ok(kv.text(key)?.to_owned())
}

fn mbox(kv: &Kv<'_>, key: &str) -> Result<MboxName> {
    MboxName::new(kv.text(key)?).map_err(|_| BAD)
}

fn uniqueid(kv: &Kv<'_>, key: &str) -> Result<types::UniqueId> {
    types::UniqueId::new(kv.text(key)?).ok_or(BAD)
}

fn list_of<T>(v: &DValue, f: impl Fn(&DValue) -> Result<T>) -> Result<Vec<T>> {
    v.as_list().ok_or(BAD)?.iter().map(f).collect()
}

fn str_list<'a, I: IntoIterator<Item = &'a str>>(items: I) -> DValue {
    DValue::List(items.into_iter().map(DValue::str).collect())
}
