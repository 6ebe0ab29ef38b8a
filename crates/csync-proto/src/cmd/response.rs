//! Typed `*` data lines (csync §4, §5.1, §5.14).
//!
//! Owns: which keys a data line may carry and their typed payloads.
//! Must not: decide which lines a reply should contain.

use types::{Guid, MboxName};

use super::apply::MessageFile;
use super::mailbox::Mailbox;
use super::meta::{MailboxAnnotation, Quota, SeenState, SieveEntry, SieveScript};
use super::{BAD, Result, list_of, mbox_of, str_list, text_of};
use crate::status::SyncError;
use crate::value::{DValue, Keyed};

/// A typed data line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseData {
    /// With `records` only in GET FULLMAILBOX replies.
    Mailbox(Box<Mailbox>),
    Quota(Quota),
    Seen(SeenState),
    Lsub(Vec<MboxName>),
    Sieve(SieveEntry),
    /// `* SIEVE` with CONTENT (GET FETCH_SIEVE).
    SieveScript(SieveScript),
    Annotation(MailboxAnnotation),
    Missing(Vec<Guid>),
    Enabled(Vec<String>),
    /// `* MESSAGE` file literal, or `NIL` if the replica's file did not match.
    Message(Option<MessageFile>),
}

impl ResponseData {
    pub fn from_keyed(k: &Keyed) -> Result<ResponseData> {
        let v = &k.value;
        Ok(match k.key.as_slice() {
            b"MAILBOX" => ResponseData::Mailbox(Box::new(Mailbox::from_dvalue(v)?)),
            b"QUOTA" => ResponseData::Quota(Quota::from_dvalue(v)?),
            b"SEEN" => ResponseData::Seen(SeenState::from_dvalue(v)?),
            b"LSUB" => ResponseData::Lsub(list_of(v, mbox_of)?),
            b"SIEVE" if v.as_kvlist().is_some_and(|kv| kv.get("CONTENT").is_some()) => {
                ResponseData::SieveScript(SieveScript::from_dvalue(v)?)
            }
            b"SIEVE" => ResponseData::Sieve(SieveEntry::from_dvalue(v)?),
            b"ANNOTATION" => ResponseData::Annotation(MailboxAnnotation::from_dvalue(v, true)?),
            b"MISSING" => ResponseData::Missing(list_of(v, |g| g.to_guid().ok_or(BAD))?),
            b"ENABLED" => ResponseData::Enabled(list_of(v, text_of)?),
            b"MESSAGE" => ResponseData::Message(MessageFile::from_dvalue(v)?),
            _ => return Err(SyncError::PROTOCOL_ERROR),
        })
    }

    pub fn to_keyed(&self) -> Keyed {
        let (key, value) = match self {
            ResponseData::Mailbox(m) => ("MAILBOX", m.to_dvalue()),
            ResponseData::Quota(q) => ("QUOTA", q.to_dvalue()),
            ResponseData::Seen(s) => ("SEEN", s.to_dvalue()),
            ResponseData::Lsub(l) => ("LSUB", str_list(l.iter().map(MboxName::as_str))),
            ResponseData::Sieve(s) => ("SIEVE", s.to_dvalue()),
            ResponseData::SieveScript(s) => ("SIEVE", s.to_dvalue()),
            ResponseData::Annotation(a) => ("ANNOTATION", a.to_dvalue()),
            ResponseData::Missing(g) => (
                "MISSING",
                DValue::List(g.iter().map(DValue::guid).collect()),
            ),
            ResponseData::Enabled(c) => ("ENABLED", str_list(c.iter().map(String::as_str))),
            ResponseData::Message(f) => ("MESSAGE", MessageFile::to_dvalue(f)),
        };
        Keyed {
            key: key.as_bytes().to_vec(),
            value,
        }
    }
}
