//! APPLY commands (csync §5), including the `LOCAL_` synonyms (the `local` flag).
//!
//! Owns: typed APPLY arguments and their parse/emit.
//! Must not: perform them.

use types::{Guid, MboxName, Uid, UidValidity, UniqueId};

use super::mailbox::MailboxApply;
use super::meta::{MailboxAnnotation, Quota, SeenState};
use super::{BAD, Result, kv_of, list_of, mbox, mbox_of, str_list, text, text_of, uniqueid};
use crate::status::SyncError;
use crate::value::{DValue, FileLit, FileRef, Keyed, KvBuilder};

/// One element of APPLY MESSAGE / `* MESSAGE`: a file literal (§2.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFile {
    pub partition: String,
    pub guid: Guid,
    pub size: u64,
    pub body: FileRef,
}

impl MessageFile {
    /// `NIL` → `None` (a sender that could not read the file, §2.3.3).
    pub fn from_dvalue(v: &DValue) -> Result<Option<MessageFile>> {
        match v {
            DValue::Nil => Ok(None),
            DValue::File(f) => Ok(Some(MessageFile {
                partition: String::from_utf8(f.partition.clone()).map_err(|_| BAD)?,
                guid: f.guid,
                size: f.size,
                body: f.body,
            })),
            _ => Err(BAD),
        }
    }

    pub fn to_dvalue(f: &Option<MessageFile>) -> DValue {
        match f {
            None => DValue::Nil,
            Some(f) => DValue::File(FileLit {
                partition: f.partition.clone().into_bytes(),
                guid: f.guid,
                size: f.size,
                body: f.body,
            }),
        }
    }
}

/// A typed APPLY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyCommand {
    Reserve {
        partition: String,
        mboxnames: Vec<MboxName>,
        guids: Vec<Guid>,
    },
    /// Files to stage; `None` entries were `NIL` and are ignored by receivers.
    Message(Vec<Option<MessageFile>>),
    Mailbox {
        local: bool,
        mailbox: MailboxApply,
    },
    Unmailbox {
        local: bool,
        mboxname: MboxName,
    },
    Rename {
        local: bool,
        old: MboxName,
        new: MboxName,
        partition: String,
        uidvalidity: Option<UidValidity>,
    },
    Expunge {
        mboxname: MboxName,
        uniqueid: UniqueId,
        uids: Vec<Uid>,
    },
    Quota(Quota),
    Unquota(String),
    Seen {
        userid: String,
        seen: SeenState,
    },
    Sub {
        userid: String,
        mboxname: String,
    },
    Unsub {
        userid: String,
        mboxname: String,
    },
    Annotation(MailboxAnnotation),
    /// `value` is `None`.
    Unannotation(MailboxAnnotation),
    Sieve {
        userid: String,
        filename: String,
        last_update: u64,
        content: Vec<u8>,
    },
    Unsieve {
        userid: String,
        filename: String,
    },
    /// FILENAME is `<name>.bc` (§5.11).
    ActivateSieve {
        userid: String,
        filename: String,
    },
    UnactivateSieve {
        userid: String,
    },
    Unuser {
        local: bool,
        userid: String,
    },
    Force,
    Capabilities(Vec<String>),
}

fn user_mbox(v: &DValue) -> Result<(String, String)> {
    let kv = kv_of(v)?;
    Ok((text(&kv, "USERID")?, text(&kv, "MBOXNAME")?))
}

impl ApplyCommand {
    /// Unknown name → `NO IMAP_PROTOCOL_ERROR`; bad arguments → `NO IMAP_PROTOCOL_BAD_PARAMETERS`.
    pub fn from_keyed(k: &Keyed) -> Result<ApplyCommand> {
        let (local, name) = match k.key.strip_prefix(b"LOCAL_") {
            Some(rest) => (true, rest),
            None => (false, k.key.as_slice()),
        };
        let v = &k.value;
        let cmd = match name {
            b"MAILBOX" => ApplyCommand::Mailbox {
                local,
                mailbox: MailboxApply::from_dvalue(v)?,
            },
            b"UNMAILBOX" => ApplyCommand::Unmailbox {
                local,
                mboxname: mbox_of(v)?,
            },
            b"RENAME" => {
                let kv = kv_of(v)?;
                ApplyCommand::Rename {
                    local,
                    old: mbox(&kv, "OLDMBOXNAME")?,
                    new: mbox(&kv, "NEWMBOXNAME")?,
                    partition: text(&kv, "PARTITION")?,
                    uidvalidity: kv.opt_num32("UIDVALIDITY").map(UidValidity),
                }
            }
            b"UNUSER" => ApplyCommand::Unuser {
                local,
                userid: text_of(v)?,
            },
            _ if local => return Err(SyncError::PROTOCOL_ERROR),
            b"RESERVE" => {
                let kv = kv_of(v)?;
                ApplyCommand::Reserve {
                    partition: text(&kv, "PARTITION")?,
                    mboxnames: list_of(kv.get("MBOXNAME").ok_or(BAD)?, mbox_of)?,
                    guids: list_of(kv.get("GUID").ok_or(BAD)?, |g| g.to_guid().ok_or(BAD))?,
                }
            }
            b"MESSAGE" => ApplyCommand::Message(list_of(v, MessageFile::from_dvalue)?),
            b"EXPUNGE" => {
                let kv = kv_of(v)?;
                ApplyCommand::Expunge {
                    mboxname: mbox(&kv, "MBOXNAME")?,
                    uniqueid: uniqueid(&kv, "UNIQUEID")?,
                    uids: list_of(kv.get("UID").ok_or(BAD)?, |u| {
                        u.to_num32().map(Uid).ok_or(BAD)
                    })?,
                }
            }
            b"QUOTA" => ApplyCommand::Quota(Quota::from_dvalue(v)?),
            b"UNQUOTA" => ApplyCommand::Unquota(text_of(v)?),
            b"SEEN" => {
                let kv = kv_of(v)?;
                ApplyCommand::Seen {
                    userid: text(&kv, "USERID")?,
                    seen: SeenState::from_dvalue(v)?,
                }
            }
            b"SUB" => {
                let (userid, mboxname) = user_mbox(v)?;
                ApplyCommand::Sub { userid, mboxname }
            }
            b"UNSUB" => {
                let (userid, mboxname) = user_mbox(v)?;
                ApplyCommand::Unsub { userid, mboxname }
            }
            b"ANNOTATION" => ApplyCommand::Annotation(MailboxAnnotation::from_dvalue(v, true)?),
            b"UNANNOTATION" => {
                ApplyCommand::Unannotation(MailboxAnnotation::from_dvalue(v, false)?)
            }
            b"SIEVE" => {
                let kv = kv_of(v)?;
                ApplyCommand::Sieve {
                    userid: text(&kv, "USERID")?,
                    filename: text(&kv, "FILENAME")?,
                    last_update: kv.date("LAST_UPDATE")?,
                    content: kv.bytes("CONTENT")?.to_vec(),
                }
            }
            b"UNSIEVE" | b"ACTIVATE_SIEVE" => {
                let kv = kv_of(v)?;
                let (userid, filename) = (text(&kv, "USERID")?, text(&kv, "FILENAME")?);
                if name == b"UNSIEVE" {
                    ApplyCommand::Unsieve { userid, filename }
                } else {
                    ApplyCommand::ActivateSieve { userid, filename }
                }
            }
            b"UNACTIVATE_SIEVE" => ApplyCommand::UnactivateSieve {
                userid: text(&kv_of(v)?, "USERID")?,
            },
            b"FORCE" => ApplyCommand::Force,
            b"CAPABILITIES" => ApplyCommand::Capabilities(list_of(v, text_of)?),
            _ => return Err(SyncError::PROTOCOL_ERROR),
        };
        Ok(cmd)
    }

    /// The keyed value in Cyrus's key order.
    pub fn to_keyed(&self) -> Keyed {
        let local_key = |local: bool, k: &str| {
            if local {
                format!("LOCAL_{k}")
            } else {
                k.to_owned()
            }
        };
        let kv = |f: &dyn Fn(&mut KvBuilder)| {
            let mut b = KvBuilder::new();
            f(&mut b);
            b.build()
        };
        let (key, value) = match self {
            ApplyCommand::Reserve {
                partition,
                mboxnames,
                guids,
            } => (
                "RESERVE".into(),
                kv(&|b| {
                    b.text("PARTITION", partition)
                        .put("MBOXNAME", str_list(mboxnames.iter().map(MboxName::as_str)))
                        .put(
                            "GUID",
                            DValue::List(guids.iter().map(DValue::guid).collect()),
                        );
                }),
            ),
            ApplyCommand::Message(files) => (
                "MESSAGE".into(),
                DValue::List(files.iter().map(MessageFile::to_dvalue).collect()),
            ),
            ApplyCommand::Mailbox { local, mailbox } => {
                (local_key(*local, "MAILBOX"), mailbox.to_dvalue())
            }
            ApplyCommand::Unmailbox { local, mboxname } => (
                local_key(*local, "UNMAILBOX"),
                DValue::str(mboxname.as_str()),
            ),
            ApplyCommand::Rename {
                local,
                old,
                new,
                partition,
                uidvalidity,
            } => (
                local_key(*local, "RENAME"),
                kv(&|b| {
                    b.text("OLDMBOXNAME", old.as_str())
                        .text("NEWMBOXNAME", new.as_str())
                        .text("PARTITION", partition)
                        .opt_num("UIDVALIDITY", uidvalidity.map(|u| u.0));
                }),
            ),
            ApplyCommand::Expunge {
                mboxname,
                uniqueid,
                uids,
            } => (
                "EXPUNGE".into(),
                kv(&|b| {
                    b.text("MBOXNAME", mboxname.as_str())
                        .text("UNIQUEID", uniqueid.as_str())
                        .put(
                            "UID",
                            DValue::List(uids.iter().map(|u| DValue::num(u.0)).collect()),
                        );
                }),
            ),
            ApplyCommand::Quota(q) => ("QUOTA".into(), q.to_dvalue()),
            ApplyCommand::Unquota(r) => ("UNQUOTA".into(), DValue::str(r.as_str())),
            ApplyCommand::Seen { userid, seen } => (
                "SEEN".into(),
                kv(&|b| {
                    b.text("USERID", userid);
                    seen.put(b);
                }),
            ),
            ApplyCommand::Sub { userid, mboxname } | ApplyCommand::Unsub { userid, mboxname } => (
                if matches!(self, ApplyCommand::Sub { .. }) {
                    "SUB"
                } else {
                    "UNSUB"
                }
                .into(),
                kv(&|b| {
                    b.text("USERID", userid).text("MBOXNAME", mboxname);
                }),
            ),
            ApplyCommand::Annotation(a) => ("ANNOTATION".into(), a.to_dvalue()),
            ApplyCommand::Unannotation(a) => (
                "UNANNOTATION".into(),
                MailboxAnnotation {
                    value: None,
                    ..a.clone()
                }
                .to_dvalue(),
            ),
            ApplyCommand::Sieve {
                userid,
                filename,
                last_update,
                content,
            } => (
                "SIEVE".into(),
                kv(&|b| {
                    b.text("USERID", userid)
                        .text("FILENAME", filename)
                        .num("LAST_UPDATE", *last_update)
                        .put("CONTENT", DValue::Str(content.clone()));
                }),
            ),
            ApplyCommand::Unsieve { userid, filename }
            | ApplyCommand::ActivateSieve { userid, filename } => (
                if matches!(self, ApplyCommand::Unsieve { .. }) {
                    "UNSIEVE"
                } else {
                    "ACTIVATE_SIEVE"
                }
                .into(),
                kv(&|b| {
                    b.text("USERID", userid).text("FILENAME", filename);
                }),
            ),
            ApplyCommand::UnactivateSieve { userid } => (
                "UNACTIVATE_SIEVE".into(),
                kv(&|b| {
                    b.text("USERID", userid);
                }),
            ),
            ApplyCommand::Unuser { local, userid } => {
                (local_key(*local, "UNUSER"), DValue::str(userid.as_str()))
            }
            ApplyCommand::Force => ("FORCE".into(), DValue::KvList(Vec::new())),
            ApplyCommand::Capabilities(c) => (
                "CAPABILITIES".into(),
                str_list(c.iter().map(String::as_str)),
            ),
        };
        Keyed {
            key: key.into_bytes(),
            value,
        }
    }
}
