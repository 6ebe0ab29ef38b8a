//! The data model replication must preserve (replication-behaviour §9, csync §3): mailbox list
//! entries, index headers, message records, annotations, seen state, quotas, sieve scripts.
//!
//! Must not: know how these are stored or put on the wire.

use std::fmt;

use types::{Guid, MboxName, Modseq, Uid, UidValidity, UniqueId};

/// Mailbox kind: the first character of csync MBOXTYPE (csync §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MbKind {
    #[default]
    Email,
    Netnews,
    JmapSubmission,
    JmapPush,
    Sieve,
    Collection,
    Calendar,
    Addressbook,
}

/// Mailbox type and status bits (csync §3.7). `legacy directory layout` is a local storage
/// detail Cyrus never sends, so it is not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MbType {
    pub kind: MbKind,
    pub intermediate: bool,
    pub deleted: bool,
    pub moving: bool,
    pub remote: bool,
    pub reserved: bool,
}

impl MbType {
    pub const EMAIL: MbType = MbType {
        kind: MbKind::Email,
        intermediate: false,
        deleted: false,
        moving: false,
        remote: false,
        reserved: false,
    };

    pub fn intermediate() -> MbType {
        MbType {
            intermediate: true,
            ..MbType::EMAIL
        }
    }

    pub fn tombstone(self) -> MbType {
        MbType {
            deleted: true,
            intermediate: false,
            ..self
        }
    }

    /// A live, real mailbox (neither tombstone nor intermediate placeholder).
    pub fn is_real(&self) -> bool {
        !self.deleted && !self.intermediate
    }

    /// The same type without status bits, for "type mismatch" comparisons.
    pub fn kind_only(&self) -> MbKind {
        self.kind
    }

    /// csync MBOXTYPE text: `e`, `ei`, `c`, `ed` … (Cyrus omits it on the wire for plain email;
    /// that is the protocol layer's choice).
    pub fn code(&self) -> String {
        let mut s = String::with_capacity(3);
        s.push(match self.kind {
            MbKind::Email => 'e',
            MbKind::Netnews => 'n',
            MbKind::JmapSubmission => 's',
            MbKind::JmapPush => 'p',
            MbKind::Sieve => 'f',
            MbKind::Collection => 'b',
            MbKind::Calendar => 'c',
            MbKind::Addressbook => 'a',
        });
        for (on, c) in [
            (self.deleted, 'd'),
            (self.moving, 'm'),
            (self.remote, 'r'),
            (self.reserved, 'z'),
            (self.intermediate, 'i'),
        ] {
            if on {
                s.push(c);
            }
        }
        s
    }

    /// Parse csync MBOXTYPE. A string starting with a flag character is email + flags; `l` is
    /// accepted and dropped. Unknown characters are refused (a real Cyrus aborts on them).
    pub fn parse(code: &str) -> Option<MbType> {
        let mut t = MbType::EMAIL;
        let mut chars = code.chars().peekable();
        if let Some(&c) = chars.peek() {
            let kind = match c {
                'e' => Some(MbKind::Email),
                'n' => Some(MbKind::Netnews),
                's' => Some(MbKind::JmapSubmission),
                'p' => Some(MbKind::JmapPush),
                'f' => Some(MbKind::Sieve),
                'b' => Some(MbKind::Collection),
                'c' => Some(MbKind::Calendar),
                'a' => Some(MbKind::Addressbook),
                _ => None,
            };
            if let Some(k) = kind {
                t.kind = k;
                chars.next();
            }
        }
        for c in chars {
            match c {
                'd' => t.deleted = true,
                'm' => t.moving = true,
                'r' => t.remote = true,
                'z' => t.reserved = true,
                'i' => t.intermediate = true,
                'l' => {}
                _ => return None,
            }
        }
        Some(t)
    }
}

impl fmt::Display for MbType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// An entry of the global mailbox list (replication-behaviour §9.1), including tombstones
/// (`mbtype.deleted`) and intermediate placeholders (`mbtype.intermediate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    pub name: MboxName,
    pub uniqueid: UniqueId,
    pub mbtype: MbType,
    /// `None` only for intermediates/tombstones that never had one.
    pub partition: Option<String>,
    /// Verbatim ACL string (`id TAB rights TAB …`).
    pub acl: Option<String>,
    pub uidvalidity: UidValidity,
    pub createdmodseq: Modseq,
    pub foldermodseq: Modseq,
    /// Time of the last change to the entry (ages tombstones).
    pub mtime: i64,
}

/// Mailbox options that replicate (csync §3.6), as their letters `P S D A`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MailboxOptions {
    pub pop3_new_uidl: bool,
    pub shared_seen: bool,
    pub dup_deliver: bool,
    pub has_alarms: bool,
}

impl MailboxOptions {
    /// The letters in Cyrus's order, `""` if none.
    pub fn letters(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.pop3_new_uidl, 'P'),
            (self.shared_seen, 'S'),
            (self.dup_deliver, 'D'),
            (self.has_alarms, 'A'),
        ] {
            if on {
                s.push(c);
            }
        }
        s
    }

    /// Parse letters; unknown letters are ignored (csync §3.6).
    pub fn from_letters(s: &str) -> MailboxOptions {
        MailboxOptions {
            pop3_new_uidl: s.contains('P'),
            shared_seen: s.contains('S'),
            dup_deliver: s.contains('D'),
            has_alarms: s.contains('A'),
        }
    }

    pub(crate) fn bits(&self) -> i64 {
        (self.pop3_new_uidl as i64)
            | (self.shared_seen as i64) << 1
            | (self.dup_deliver as i64) << 2
            | (self.has_alarms as i64) << 3
    }

    pub(crate) fn from_bits(b: i64) -> MailboxOptions {
        MailboxOptions {
            pop3_new_uidl: b & 1 != 0,
            shared_seen: b & 2 != 0,
            dup_deliver: b & 4 != 0,
            has_alarms: b & 8 != 0,
        }
    }
}

/// The per-mailbox index header (replication-behaviour §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailboxHeader {
    pub last_uid: Uid,
    pub highestmodseq: Modseq,
    pub recentuid: Uid,
    pub recenttime: i64,
    pub last_appenddate: i64,
    pub pop3_last_login: i64,
    pub pop3_show_after: i64,
    pub options: MailboxOptions,
    pub xconvmodseq: Modseq,
    pub raclmodseq: Modseq,
    /// Highest modseq of a record that was permanently removed (compared, not replicated).
    pub deletedmodseq: Modseq,
}

/// System flags of a record (csync §3.8). `\Recent` is session state, `\Expunged` is
/// [`MessageRecord::expunged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemFlags {
    pub deleted: bool,
    pub answered: bool,
    pub flagged: bool,
    pub draft: bool,
    pub seen: bool,
}

impl SystemFlags {
    pub(crate) fn bits(&self) -> i64 {
        (self.deleted as i64)
            | (self.answered as i64) << 1
            | (self.flagged as i64) << 2
            | (self.draft as i64) << 3
            | (self.seen as i64) << 4
    }

    pub(crate) fn from_bits(b: i64) -> SystemFlags {
        SystemFlags {
            deleted: b & 1 != 0,
            answered: b & 2 != 0,
            flagged: b & 4 != 0,
            draft: b & 8 != 0,
            seen: b & 16 != 0,
        }
    }

    /// Set or clear a system flag by its IMAP name (`\Seen`, case-insensitive). Returns false
    /// if the name is not one of the five.
    pub fn set_by_name(&mut self, name: &str, on: bool) -> bool {
        let slot = match name.to_ascii_lowercase().as_str() {
            "\\deleted" => &mut self.deleted,
            "\\answered" => &mut self.answered,
            "\\flagged" => &mut self.flagged,
            "\\draft" => &mut self.draft,
            "\\seen" => &mut self.seen,
            _ => return false,
        };
        *slot = on;
        true
    }

    /// IMAP names of the set flags in Cyrus's emission order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (on, n) in [
            (self.deleted, "\\Deleted"),
            (self.answered, "\\Answered"),
            (self.flagged, "\\Flagged"),
            (self.draft, "\\Draft"),
            (self.seen, "\\Seen"),
        ] {
            if on {
                v.push(n);
            }
        }
        v
    }
}

/// One annotation value: mailbox-level, message-level or server-level (csync §3.9).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Annotation {
    pub entry: String,
    /// `""` for the shared value, else the owning userid of a private value.
    pub userid: String,
    pub value: Vec<u8>,
    pub modseq: Modseq,
}

/// A message index record (replication-behaviour §9.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageRecord {
    pub uid: Uid,
    pub modseq: Modseq,
    pub last_updated: i64,
    pub internaldate: i64,
    pub savedate: i64,
    pub size: u64,
    pub guid: Guid,
    /// Conversation id (CID), 0 if none.
    pub cid: u64,
    pub basecid: u64,
    pub createdmodseq: Modseq,
    pub flags: SystemFlags,
    pub expunged: bool,
    /// User flags (keywords) by name, in the mailbox's flag-slot order.
    pub user_flags: Vec<String>,
    /// Real per-message annotations (the virtual thrid/savedate/createdmodseq are fields above),
    /// sorted by (entry, userid, value).
    pub annotations: Vec<Annotation>,
}

/// A user's seen state for a mailbox they do not own (replication-behaviour §9.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeenState {
    pub lastread: i64,
    pub lastuid: Uid,
    pub lastchange: i64,
    /// IMAP sequence-set of seen UIDs, e.g. `1:5,7`, possibly empty.
    pub seenuids: String,
}

/// Quota limits of one root (csync §3.12); `None` = unlimited. STORAGE and ANNOTATION-STORAGE
/// are in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaLimits {
    pub storage: Option<u64>,
    pub message: Option<u64>,
    pub annotation_storage: Option<u64>,
    pub num_folders: Option<u64>,
}

/// A quota root with its limits and modseq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRoot {
    pub root: MboxName,
    pub limits: QuotaLimits,
    pub modseq: Modseq,
}

/// Current usage under a quota root (computed locally; never replicated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaUsage {
    /// Bytes of all non-expunged messages.
    pub storage_bytes: u64,
    pub messages: u64,
    pub folders: u64,
}

/// A sieve script of a user (legacy, non-#sieve-mailbox representation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    pub content: Vec<u8>,
    pub last_update: i64,
    pub active: bool,
}

impl SieveScript {
    /// SHA-1 of the script source (csync §7.1).
    pub fn guid(&self) -> Guid {
        Guid::of(&self.content)
    }
}

/// Everything a GET reply needs about one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxState {
    pub entry: MailboxEntry,
    /// `None` for intermediates and tombstones (no index).
    pub header: Option<MailboxHeader>,
    /// Mailbox-level annotations, sorted by (entry, userid, value).
    pub annotations: Vec<Annotation>,
    pub sync_crc: u32,
    pub sync_crc_annot: u32,
    /// The quota root governing this mailbox, if any.
    pub quotaroot: Option<MboxName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbtype_codes() {
        for code in ["e", "ei", "ed", "c", "f", "a", "b", "s", "p", "n", "edi"] {
            let t = MbType::parse(code).unwrap();
            assert_eq!(MbType::parse(&t.code()), Some(t), "{code}");
        }
        assert_eq!(MbType::parse("").unwrap(), MbType::EMAIL);
        assert_eq!(MbType::parse("i").unwrap(), MbType::intermediate());
        assert_eq!(MbType::parse("el").unwrap(), MbType::EMAIL);
        assert_eq!(MbType::parse("ex"), None);
        assert_eq!(MbType::intermediate().code(), "ei");
    }

    #[test]
    fn options_letters() {
        let o = MailboxOptions::from_letters("PSQ");
        assert_eq!(o.letters(), "PS");
        assert_eq!(MailboxOptions::from_bits(o.bits()), o);
        assert_eq!(MailboxOptions::default().letters(), "");
    }

    #[test]
    fn system_flags() {
        let mut f = SystemFlags::default();
        assert!(f.set_by_name("\\SEEN", true));
        assert!(f.set_by_name("\\Deleted", true));
        assert!(!f.set_by_name("\\Recent", true));
        assert_eq!(f.names(), vec!["\\Deleted", "\\Seen"]);
        assert_eq!(SystemFlags::from_bits(f.bits()), f);
    }
}
