//! MAILBOX kvlists (csync §3.11, §5.3), RECORD kvlists (§3.10), FLAGS (§3.8) and annotation
//! entries (§3.9), including the three virtual record annotations.
//!
//! Owns: field sets, required/optional rules and Cyrus emission order for these items.
//! Must not: apply or compare mailbox state.

use types::{Guid, MboxName, Modseq, Uid, UidValidity, UniqueId};

use super::{BAD, Result, kv_of, list_of, mbox, text, uniqueid};
use crate::value::{DValue, Kv, KvBuilder};

const THRID: &str = "/vendor/cmu/cyrus-imapd/thrid";
const SAVEDATE: &str = "/vendor/cmu/cyrus-imapd/savedate";
const CREATEDMODSEQ: &str = "/vendor/cmu/cyrus-imapd/createdmodseq";

/// One annotation entry (csync §3.9). `userid` empty = shared value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub entry: String,
    pub userid: String,
    pub modseq: Modseq,
    pub value: Vec<u8>,
}

impl Annotation {
    pub fn from_dvalue(v: &DValue) -> Result<Annotation> {
        let kv = kv_of(v)?;
        Ok(Annotation {
            entry: text(&kv, "ENTRY")?,
            userid: text(&kv, "USERID")?,
            modseq: Modseq(kv.num64("MODSEQ")?),
            value: kv.bytes("VALUE")?.to_vec(),
        })
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.text("ENTRY", &self.entry)
            .text("USERID", &self.userid)
            .num("MODSEQ", self.modseq.0)
            .put("VALUE", DValue::Str(self.value.clone()));
        b.build()
    }

    fn virtual_entry(entry: &str, value: String) -> DValue {
        Annotation {
            entry: entry.into(),
            userid: String::new(),
            modseq: Modseq(0),
            value: value.into_bytes(),
        }
        .to_dvalue()
    }
}

fn annotations(v: &DValue) -> Result<Vec<Annotation>> {
    list_of(v, Annotation::from_dvalue)
}

/// System flags of a record (csync §3.8), including the `\Expunged` pseudo-flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SystemFlags {
    pub deleted: bool,
    pub answered: bool,
    pub flagged: bool,
    pub draft: bool,
    pub expunged: bool,
    pub seen: bool,
}

/// A record's FLAGS list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flags {
    pub system: SystemFlags,
    /// User flags (keywords) in the mailbox's slot order.
    pub user: Vec<String>,
}

impl Flags {
    /// System flags match case-insensitively; unknown `\…` flags are ignored (as Cyrus does).
    pub fn from_dvalue(v: &DValue) -> Result<Flags> {
        let mut f = Flags::default();
        for item in v.as_list().ok_or(BAD)? {
            match item {
                DValue::Flag(name) => {
                    let s = &mut f.system;
                    let lower = name.to_ascii_lowercase();
                    match lower.as_slice() {
                        b"\\deleted" => s.deleted = true,
                        b"\\answered" => s.answered = true,
                        b"\\flagged" => s.flagged = true,
                        b"\\draft" => s.draft = true,
                        b"\\expunged" => s.expunged = true,
                        b"\\seen" => s.seen = true,
                        _ => {}
                    }
                }
                DValue::Str(_) => f.user.push(item.to_text().ok_or(BAD)?.to_owned()),
                _ => return Err(BAD),
            }
        }
        Ok(f)
    }

    /// Cyrus order: `\Deleted \Answered \Flagged \Draft \Expunged \Seen`, then user flags.
    pub fn to_dvalue(&self) -> DValue {
        let s = &self.system;
        let mut out: Vec<DValue> = [
            (s.deleted, "\\Deleted"),
            (s.answered, "\\Answered"),
            (s.flagged, "\\Flagged"),
            (s.draft, "\\Draft"),
            (s.expunged, "\\Expunged"),
            (s.seen, "\\Seen"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| DValue::Flag(n.as_bytes().to_vec()))
        .collect();
        out.extend(self.user.iter().map(|u| DValue::str(u.as_str())));
        DValue::List(out)
    }
}

/// One message record (csync §3.10). The virtual annotations are split out into `cid`,
/// `savedate` and `createdmodseq` (0 = not sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub uid: Uid,
    pub modseq: Modseq,
    pub last_updated: u64,
    pub flags: Flags,
    pub internaldate: u64,
    pub size: u32,
    pub guid: Guid,
    /// Real per-message annotations (§3.9), in wire order.
    pub annotations: Vec<Annotation>,
    /// Conversation id (`thrid`, hex64).
    pub cid: u64,
    pub savedate: u64,
    pub createdmodseq: Modseq,
}

impl Record {
    pub fn from_dvalue(v: &DValue) -> Result<Record> {
        let kv = kv_of(v)?;
        let mut r = Record {
            uid: Uid(kv.num32("UID")?),
            modseq: Modseq(kv.num64("MODSEQ")?),
            last_updated: kv.date("LAST_UPDATED")?,
            flags: Flags::from_dvalue(kv.get("FLAGS").ok_or(BAD)?)?,
            internaldate: kv.date("INTERNALDATE")?,
            size: kv.num32("SIZE")?,
            guid: kv.guid("GUID")?,
            annotations: Vec::new(),
            cid: 0,
            savedate: 0,
            createdmodseq: Modseq(0),
        };
        if let Some(list) = kv.get("ANNOTATIONS") {
            for a in annotations(list)? {
                let val = DValue::Str(a.value.clone());
                match a.entry.as_str() {
                    THRID => r.cid = val.to_hex64().ok_or(BAD)?,
                    SAVEDATE => r.savedate = val.to_num64().ok_or(BAD)?,
                    CREATEDMODSEQ => r.createdmodseq = Modseq(val.to_num64().ok_or(BAD)?),
                    _ => r.annotations.push(a),
                }
            }
        }
        Ok(r)
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.num("UID", self.uid.0)
            .num("MODSEQ", self.modseq.0)
            .num("LAST_UPDATED", self.last_updated)
            .put("FLAGS", self.flags.to_dvalue())
            .num("INTERNALDATE", self.internaldate)
            .num("SIZE", self.size)
            .put("GUID", DValue::guid(&self.guid));
        let mut annots: Vec<DValue> = self.annotations.iter().map(Annotation::to_dvalue).collect();
        if self.cid != 0 {
            annots.push(Annotation::virtual_entry(
                THRID,
                format!("{:016x}", self.cid),
            ));
        }
        if self.savedate != 0 {
            annots.push(Annotation::virtual_entry(
                SAVEDATE,
                self.savedate.to_string(),
            ));
        }
        if self.createdmodseq.0 != 0 {
            annots.push(Annotation::virtual_entry(
                CREATEDMODSEQ,
                self.createdmodseq.0.to_string(),
            ));
        }
        if !annots.is_empty() {
            b.put("ANNOTATIONS", DValue::List(annots));
        }
        b.build()
    }
}

/// A MAILBOX kvlist (csync §3.11) as sent in APPLY MAILBOX or GET replies. Optional fields
/// are `None` when absent and are then not emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub uniqueid: UniqueId,
    pub mboxname: MboxName,
    /// §3.7; `None` = plain email.
    pub mboxtype: Option<String>,
    pub sync_crc: Option<u32>,
    pub sync_crc_annot: Option<u32>,
    pub last_uid: Uid,
    pub highestmodseq: Modseq,
    pub recentuid: Uid,
    pub recenttime: u64,
    /// Required in APPLY, optional in GET replies.
    pub last_appenddate: Option<u64>,
    pub pop3_last_login: u64,
    pub pop3_show_after: Option<u64>,
    pub xconvmodseq: Option<Modseq>,
    pub raclmodseq: Option<Modseq>,
    pub uidvalidity: UidValidity,
    /// `None` = `NIL` (intermediates in GET replies).
    pub partition: Option<String>,
    /// `None` = `NIL` (intermediates in GET replies).
    pub acl: Option<String>,
    pub options: String,
    pub quotaroot: Option<String>,
    pub createdmodseq: Option<Modseq>,
    pub foldermodseq: Option<Modseq>,
    /// Mailbox-level annotations (emitted only if non-empty).
    pub annotations: Vec<Annotation>,
    pub since_modseq: Option<Modseq>,
    pub since_crc: Option<u32>,
    pub since_crc_annot: Option<u32>,
    /// Present in APPLY MAILBOX and GET FULLMAILBOX replies.
    pub records: Option<Vec<Record>>,
}

fn opt_text(kv: &Kv<'_>, key: &str) -> Result<Option<String>> {
    match kv.get(key) {
        None => Ok(None),
        Some(v) => v.to_text().map(|s| Some(s.to_owned())).ok_or(BAD),
    }
}

fn nil_text(kv: &Kv<'_>, key: &str) -> Result<Option<String>> {
    Ok(kv.text_or_nil(key)?.map(str::to_owned))
}

impl Mailbox {
    /// Lenient form (GET replies): LAST_APPENDDATE and RECORD optional, PARTITION/ACL may be
    /// NIL. Use [`MailboxApply::from_dvalue`] for APPLY MAILBOX.
    pub fn from_dvalue(v: &DValue) -> Result<Mailbox> {
        let kv = kv_of(v)?;
        let records = match kv.get("RECORD") {
            Some(r) => Some(list_of(r, Record::from_dvalue)?),
            None => None,
        };
        let annotations = match kv.get("ANNOTATIONS") {
            Some(a) => annotations(a)?,
            None => Vec::new(),
        };
        Ok(Mailbox {
            uniqueid: uniqueid(&kv, "UNIQUEID")?,
            mboxname: mbox(&kv, "MBOXNAME")?,
            mboxtype: opt_text(&kv, "MBOXTYPE")?,
            sync_crc: kv.opt_num32("SYNC_CRC"),
            sync_crc_annot: kv.opt_num32("SYNC_CRC_ANNOT"),
            last_uid: Uid(kv.num32("LAST_UID")?),
            highestmodseq: Modseq(kv.num64("HIGHESTMODSEQ")?),
            recentuid: Uid(kv.num32("RECENTUID")?),
            recenttime: kv.date("RECENTTIME")?,
            last_appenddate: kv.opt_num64("LAST_APPENDDATE"),
            pop3_last_login: kv.date("POP3_LAST_LOGIN")?,
            pop3_show_after: kv.opt_num64("POP3_SHOW_AFTER"),
            xconvmodseq: kv.opt_num64("XCONVMODSEQ").map(Modseq),
            raclmodseq: kv.opt_num64("RACLMODSEQ").map(Modseq),
            uidvalidity: UidValidity(kv.num32("UIDVALIDITY")?),
            partition: nil_text(&kv, "PARTITION")?,
            acl: nil_text(&kv, "ACL")?,
            options: text(&kv, "OPTIONS")?,
            quotaroot: opt_text(&kv, "QUOTAROOT")?,
            createdmodseq: kv.opt_num64("CREATEDMODSEQ").map(Modseq),
            foldermodseq: kv.opt_num64("FOLDERMODSEQ").map(Modseq),
            annotations,
            since_modseq: kv.opt_num64("SINCE_MODSEQ").map(Modseq),
            since_crc: kv.opt_num32("SINCE_CRC"),
            since_crc_annot: kv.opt_num32("SINCE_CRC_ANNOT"),
            records,
        })
    }

    /// Emit in Cyrus's key order (§3.11).
    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.text("UNIQUEID", self.uniqueid.as_str())
            .text("MBOXNAME", self.mboxname.as_str());
        if let Some(t) = &self.mboxtype {
            b.text("MBOXTYPE", t);
        }
        b.opt_num("SYNC_CRC", self.sync_crc)
            .opt_num("SYNC_CRC_ANNOT", self.sync_crc_annot)
            .num("LAST_UID", self.last_uid.0)
            .num("HIGHESTMODSEQ", self.highestmodseq.0)
            .num("RECENTUID", self.recentuid.0)
            .num("RECENTTIME", self.recenttime)
            .opt_num("LAST_APPENDDATE", self.last_appenddate)
            .num("POP3_LAST_LOGIN", self.pop3_last_login)
            .opt_num("POP3_SHOW_AFTER", self.pop3_show_after)
            .opt_num("XCONVMODSEQ", self.xconvmodseq.map(|m| m.0))
            .opt_num("RACLMODSEQ", self.raclmodseq.map(|m| m.0))
            .num("UIDVALIDITY", self.uidvalidity.0)
            .put(
                "PARTITION",
                self.partition.as_deref().map_or(DValue::Nil, DValue::str),
            )
            .put("ACL", self.acl.as_deref().map_or(DValue::Nil, DValue::str))
            .text("OPTIONS", &self.options);
        if let Some(q) = &self.quotaroot {
            b.text("QUOTAROOT", q);
        }
        b.opt_num("CREATEDMODSEQ", self.createdmodseq.map(|m| m.0))
            .opt_num("FOLDERMODSEQ", self.foldermodseq.map(|m| m.0));
        if !self.annotations.is_empty() {
            b.put(
                "ANNOTATIONS",
                DValue::List(self.annotations.iter().map(Annotation::to_dvalue).collect()),
            );
        }
        b.opt_num("SINCE_MODSEQ", self.since_modseq.map(|m| m.0))
            .opt_num("SINCE_CRC", self.since_crc)
            .opt_num("SINCE_CRC_ANNOT", self.since_crc_annot);
        if let Some(r) = &self.records {
            b.put(
                "RECORD",
                DValue::List(r.iter().map(Record::to_dvalue).collect()),
            );
        }
        b.build()
    }

    /// True if MBOXTYPE carries the intermediate (`i`) or deleted (`d`) flag (§3.7).
    pub fn is_placeholder_type(mboxtype: Option<&str>) -> bool {
        mboxtype.is_some_and(|t| t.contains(['i', 'd']))
    }
}

/// The intermediate / tombstone form of APPLY MAILBOX (csync §5.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediateMailbox {
    pub uniqueid: UniqueId,
    pub mboxname: MboxName,
    pub mboxtype: String,
    pub highestmodseq: Modseq,
    pub createdmodseq: Option<Modseq>,
    pub foldermodseq: Option<Modseq>,
}

/// What an APPLY MAILBOX carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxApply {
    Full(Box<Mailbox>),
    Intermediate(IntermediateMailbox),
}

impl MailboxApply {
    /// Server-side rules of §5.3.1 step 1.
    pub fn from_dvalue(v: &DValue) -> Result<MailboxApply> {
        let kv = kv_of(v)?;
        let uniqueid = uniqueid(&kv, "UNIQUEID")?;
        let mboxname = mbox(&kv, "MBOXNAME")?;
        let highestmodseq = Modseq(kv.num64("HIGHESTMODSEQ")?);
        let mboxtype = opt_text(&kv, "MBOXTYPE")?;
        if Mailbox::is_placeholder_type(mboxtype.as_deref()) {
            return Ok(MailboxApply::Intermediate(IntermediateMailbox {
                uniqueid,
                mboxname,
                mboxtype: mboxtype.unwrap_or_default(),
                highestmodseq,
                createdmodseq: kv.opt_num64("CREATEDMODSEQ").map(Modseq),
                foldermodseq: kv.opt_num64("FOLDERMODSEQ").map(Modseq),
            }));
        }
        let m = Mailbox::from_dvalue(v)?;
        if m.last_appenddate.is_none()
            || m.records.is_none()
            || m.partition.is_none()
            || m.acl.is_none()
        {
            return Err(BAD);
        }
        Ok(MailboxApply::Full(Box::new(m)))
    }

    pub fn to_dvalue(&self) -> DValue {
        match self {
            MailboxApply::Full(m) => m.to_dvalue(),
            MailboxApply::Intermediate(i) => {
                let mut b = KvBuilder::new();
                b.text("UNIQUEID", i.uniqueid.as_str())
                    .text("MBOXNAME", i.mboxname.as_str())
                    .text("MBOXTYPE", &i.mboxtype)
                    .num("HIGHESTMODSEQ", i.highestmodseq.0)
                    .opt_num("CREATEDMODSEQ", i.createdmodseq.map(|m| m.0))
                    .opt_num("FOLDERMODSEQ", i.foldermodseq.map(|m| m.0));
                b.build()
            }
        }
    }

    pub fn mboxname(&self) -> &MboxName {
        match self {
            MailboxApply::Full(m) => &m.mboxname,
            MailboxApply::Intermediate(i) => &i.mboxname,
        }
    }
}
