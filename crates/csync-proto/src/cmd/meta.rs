//! QUOTA (csync §3.12), SEEN (§3.13), SIEVE (§3.14, §4.9) and mailbox ANNOTATION (§4.7,
//! §5.10) kvlists.
//!
//! Owns: their decoding rules (e.g. quota LIMIT and 3.10 resource names) and key order.
//! Must not: store or apply any of them.

use types::{Guid, Modseq, Uid, UniqueId};

use super::{Result, kv_of, text, uniqueid};
use crate::value::{DValue, KvBuilder};

/// "Unlimited" on the wire (csync §3.12).
pub const UNLIMITED: u32 = u32::MAX;

/// Quota limits; `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaLimits {
    /// KiB.
    pub storage: Option<u32>,
    pub message: Option<u32>,
    /// KiB.
    pub annotation_storage: Option<u32>,
    pub num_folders: Option<u32>,
}

/// A QUOTA kvlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub root: String,
    pub limits: QuotaLimits,
    pub modseq: Option<Modseq>,
}

fn limit(n: u32) -> Option<u32> {
    (n != UNLIMITED).then_some(n)
}

impl Quota {
    /// §3.12 decoding: all unlimited; LIMIT sets STORAGE; named resources override (3.6
    /// `X-` names and the 3.10 names are both accepted).
    pub fn from_dvalue(v: &DValue) -> Result<Quota> {
        let kv = kv_of(v)?;
        let mut l = QuotaLimits::default();
        if let Some(n) = kv.opt_num32("LIMIT") {
            l.storage = limit(n);
        }
        if let Some(n) = kv.opt_num32("STORAGE") {
            l.storage = limit(n);
        }
        if let Some(n) = kv.opt_num32("MESSAGE") {
            l.message = limit(n);
        }
        for key in ["ANNOTATION-STORAGE", "X-ANNOTATION-STORAGE"] {
            if let Some(n) = kv.opt_num32(key) {
                l.annotation_storage = limit(n);
            }
        }
        for key in ["MAILBOX", "X-NUM-FOLDERS"] {
            if let Some(n) = kv.opt_num32(key) {
                l.num_folders = limit(n);
            }
        }
        Ok(Quota {
            root: text(&kv, "ROOT")?,
            limits: l,
            modseq: kv.opt_num64("MODSEQ").map(Modseq),
        })
    }

    pub fn to_dvalue(&self) -> DValue {
        let l = &self.limits;
        let mut b = KvBuilder::new();
        b.text("ROOT", &self.root)
            .num("LIMIT", l.storage.unwrap_or(UNLIMITED))
            .opt_num("STORAGE", l.storage)
            .opt_num("MESSAGE", l.message)
            .opt_num("X-ANNOTATION-STORAGE", l.annotation_storage)
            .opt_num("X-NUM-FOLDERS", l.num_folders)
            .opt_num("MODSEQ", self.modseq.map(|m| m.0));
        b.build()
    }
}

/// Per-user seen state for one mailbox (csync §3.13). `APPLY SEEN` adds USERID in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenState {
    pub uniqueid: UniqueId,
    pub lastread: u64,
    pub lastuid: Uid,
    pub lastchange: u64,
    /// IMAP sequence set, possibly empty.
    pub seenuids: String,
}

impl SeenState {
    pub fn from_dvalue(v: &DValue) -> Result<SeenState> {
        let kv = kv_of(v)?;
        Ok(SeenState {
            uniqueid: uniqueid(&kv, "UNIQUEID")?,
            lastread: kv.date("LASTREAD")?,
            lastuid: Uid(kv.num32("LASTUID")?),
            lastchange: kv.date("LASTCHANGE")?,
            seenuids: text(&kv, "SEENUIDS")?,
        })
    }

    pub(crate) fn put(&self, b: &mut KvBuilder) {
        b.text("UNIQUEID", self.uniqueid.as_str())
            .num("LASTREAD", self.lastread)
            .num("LASTUID", self.lastuid.0)
            .num("LASTCHANGE", self.lastchange)
            .text("SEENUIDS", &self.seenuids);
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        self.put(&mut b);
        b.build()
    }
}

/// A SIEVE line of GET USER/META (csync §3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveEntry {
    pub filename: String,
    pub last_update: u64,
    pub guid: Option<Guid>,
    pub isactive: Option<bool>,
}

impl SieveEntry {
    pub fn from_dvalue(v: &DValue) -> Result<SieveEntry> {
        let kv = kv_of(v)?;
        Ok(SieveEntry {
            filename: text(&kv, "FILENAME")?,
            last_update: kv.date("LAST_UPDATE")?,
            guid: kv.get("GUID").and_then(DValue::to_guid),
            isactive: kv.opt_num32("ISACTIVE").map(|n| n != 0),
        })
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.text("FILENAME", &self.filename)
            .num("LAST_UPDATE", self.last_update);
        if let Some(g) = &self.guid {
            b.put("GUID", DValue::guid(g));
        }
        b.opt_num("ISACTIVE", self.isactive.map(u32::from));
        b.build()
    }
}

/// A script with content: `* SIEVE` reply to GET FETCH_SIEVE (§4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveScript {
    pub userid: String,
    pub filename: String,
    pub content: Vec<u8>,
}

impl SieveScript {
    pub fn from_dvalue(v: &DValue) -> Result<SieveScript> {
        let kv = kv_of(v)?;
        Ok(SieveScript {
            userid: text(&kv, "USERID")?,
            filename: text(&kv, "FILENAME")?,
            content: kv.bytes("CONTENT")?.to_vec(),
        })
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.text("USERID", &self.userid)
            .text("FILENAME", &self.filename)
            .put("CONTENT", DValue::Str(self.content.clone()));
        b.build()
    }
}

/// A mailbox-level annotation: `* ANNOTATION` lines and APPLY (UN)ANNOTATION (§4.7, §5.10).
/// `mboxname` empty = server annotation; `userid` empty = shared. `value` is `None` for
/// UNANNOTATION (no VALUE key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxAnnotation {
    pub mboxname: String,
    pub entry: String,
    pub userid: String,
    pub value: Option<Vec<u8>>,
}

impl MailboxAnnotation {
    /// `need_value`: APPLY ANNOTATION and data lines require VALUE; UNANNOTATION has none.
    pub fn from_dvalue(v: &DValue, need_value: bool) -> Result<MailboxAnnotation> {
        let kv = kv_of(v)?;
        Ok(MailboxAnnotation {
            mboxname: text(&kv, "MBOXNAME")?,
            entry: text(&kv, "ENTRY")?,
            userid: kv.opt_text("USERID").unwrap_or_default().to_owned(),
            value: if need_value {
                Some(kv.bytes("VALUE")?.to_vec())
            } else {
                None
            },
        })
    }

    pub fn to_dvalue(&self) -> DValue {
        let mut b = KvBuilder::new();
        b.text("MBOXNAME", &self.mboxname)
            .text("ENTRY", &self.entry)
            .text("USERID", &self.userid);
        if let Some(v) = &self.value {
            b.put("VALUE", DValue::Str(v.clone()));
        }
        b.build()
    }
}
