//! GET commands (csync §4).
//!
//! Owns: typed GET arguments and their parse/emit.
//! Must not: answer them.

use types::{Guid, MboxName, Uid, UniqueId};

use super::{BAD, Result, kv_of, list_of, mbox, mbox_of, str_list, text, text_of, uniqueid};
use crate::status::SyncError;
use crate::value::{DValue, Keyed, KvBuilder};

/// A typed GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetCommand {
    User(String),
    Mailboxes(Vec<MboxName>),
    UniqueIds(Vec<UniqueId>),
    FullMailbox(MboxName),
    Meta(String),
    Quota(String),
    /// Mailbox name, `""` = server annotations.
    Annotation(String),
    Fetch {
        mboxname: MboxName,
        partition: String,
        uniqueid: UniqueId,
        guid: Guid,
        uid: Uid,
    },
    FetchSieve {
        userid: String,
        filename: String,
    },
}

impl GetCommand {
    /// Unknown name → `NO IMAP_PROTOCOL_ERROR`; bad arguments → `NO IMAP_PROTOCOL_BAD_PARAMETERS`.
    pub fn from_keyed(k: &Keyed) -> Result<GetCommand> {
        let v = &k.value;
        Ok(match k.key.as_slice() {
            b"USER" => GetCommand::User(text_of(v)?),
            b"MAILBOXES" => GetCommand::Mailboxes(list_of(v, mbox_of)?),
            b"UNIQUEIDS" => {
                GetCommand::UniqueIds(list_of(v, |u| UniqueId::new(text_of(u)?).ok_or(BAD))?)
            }
            b"FULLMAILBOX" => GetCommand::FullMailbox(mbox_of(v)?),
            b"META" => GetCommand::Meta(text_of(v)?),
            b"QUOTA" => GetCommand::Quota(text_of(v)?),
            b"ANNOTATION" => GetCommand::Annotation(text_of(v)?),
            b"FETCH" => {
                let kv = kv_of(v)?;
                GetCommand::Fetch {
                    mboxname: mbox(&kv, "MBOXNAME")?,
                    partition: text(&kv, "PARTITION")?,
                    uniqueid: uniqueid(&kv, "UNIQUEID")?,
                    guid: kv.guid("GUID")?,
                    uid: Uid(kv.num32("UID")?),
                }
            }
            b"FETCH_SIEVE" => {
                let kv = kv_of(v)?;
                GetCommand::FetchSieve {
                    userid: text(&kv, "USERID")?,
                    filename: text(&kv, "FILENAME")?,
                }
            }
            _ => return Err(SyncError::PROTOCOL_ERROR),
        })
    }

    pub fn to_keyed(&self) -> Keyed {
        let (key, value) = match self {
            GetCommand::User(u) => ("USER", DValue::str(u.as_str())),
            GetCommand::Mailboxes(m) => ("MAILBOXES", str_list(m.iter().map(MboxName::as_str))),
            GetCommand::UniqueIds(u) => ("UNIQUEIDS", str_list(u.iter().map(UniqueId::as_str))),
            GetCommand::FullMailbox(m) => ("FULLMAILBOX", DValue::str(m.as_str())),
            GetCommand::Meta(u) => ("META", DValue::str(u.as_str())),
            GetCommand::Quota(r) => ("QUOTA", DValue::str(r.as_str())),
            GetCommand::Annotation(m) => ("ANNOTATION", DValue::str(m.as_str())),
            GetCommand::Fetch {
                mboxname,
                partition,
                uniqueid,
                guid,
                uid,
            } => {
                let mut b = KvBuilder::new();
                b.text("MBOXNAME", mboxname.as_str())
                    .text("PARTITION", partition)
                    .text("UNIQUEID", uniqueid.as_str())
                    .put("GUID", DValue::guid(guid))
                    .num("UID", uid.0);
                ("FETCH", b.build())
            }
            GetCommand::FetchSieve { userid, filename } => {
                let mut b = KvBuilder::new();
                b.text("USERID", userid).text("FILENAME", filename);
                ("FETCH_SIEVE", b.build())
            }
        };
        Keyed {
            key: key.as_bytes().to_vec(),
            value,
        }
    }
}
