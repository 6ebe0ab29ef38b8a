//! IMAP command types (RFC 3501 §6 and the extensions imapd speaks), as the parser produces
//! them. Mailbox names are kept as sent (modified UTF-7, `INBOX` not yet normalised).
//!
//! Owns: the closed set of commands and their arguments. Must not: parse or execute.

use crate::seqset::SequenceSet;

/// A calendar date (RFC 3501 `date`), used by SEARCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01 (proleptic Gregorian).
    pub fn days_since_epoch(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Unix time of this date's midnight UTC.
    pub fn timestamp(&self) -> i64 {
        self.days_since_epoch() * 86_400
    }

    /// The UTC date of a Unix time.
    pub fn from_timestamp(t: i64) -> Date {
        let z = t.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

/// A part of `BODY[...]` (RFC 3501 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

/// `section` of BODY/BINARY: a part path (possibly empty) and an optional text specifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// One FETCH data item (RFC 3501 §6.4.5, RFC 7162, RFC 3516, Cyrus extensions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAtt {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` (non-extensible BODYSTRUCTURE).
    Body,
    BodyStructure,
    Uid,
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u32, u32)>,
    },
    BinarySize(Vec<u32>),
    ModSeq,
    /// Cyrus `DIGEST.SHA1`: the message GUID in hex.
    DigestSha1,
    SaveDate,
    EmailId,
    ThreadId,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    Replace,
    Add,
    Remove,
}

/// A SEARCH key (RFC 3501 §6.4.4, RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    SequenceSet(SequenceSet),
    And(Vec<SearchKey>),
    ModSeq(u64),
    Older(u64),
    Younger(u64),
}

/// STATUS items (RFC 3501 §6.3.10, RFC 7162, RFC 8438 SIZE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    HighestModSeq,
    Size,
}

/// QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QresyncParams {
    pub uidvalidity: u32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST-EXTENDED options (RFC 5258, RFC 5819, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ListOptions {
    /// Selection options, upper-cased: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE.
    pub selection: Vec<String>,
    /// RETURN options: SUBSCRIBED, CHILDREN, SPECIAL-USE, MYRIGHTS.
    pub ret: Vec<String>,
    /// RETURN (STATUS (...)).
    pub status: Option<Vec<StatusItem>>,
    /// Whether the extended syntax was used (parenthesised selection or RETURN).
    pub extended: bool,
}

/// One message of APPEND (RFC 3501 §6.3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<String>,
    /// INTERNALDATE as a Unix time.
    pub date: Option<i64>,
    pub message: Vec<u8>,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

/// Every command imapd understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    /// `AUTHENTICATE mech [initial-response]`; the response is still base64 (`=` = empty).
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    Login {
        user: Vec<u8>,
        password: Vec<u8>,
    },
    Select {
        mailbox: String,
        condstore: bool,
        qresync: Option<QresyncParams>,
        readonly: bool,
    },
    Create {
        mailbox: String,
        special_use: Vec<String>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List {
        reference: String,
        patterns: Vec<String>,
        options: ListOptions,
    },
    Lsub {
        reference: String,
        pattern: String,
    },
    Xlist {
        reference: String,
        pattern: String,
    },
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    /// APPEND, with MULTIAPPEND's further messages (RFC 3502) in `messages`.
    Append {
        mailbox: String,
        messages: Vec<AppendMessage>,
    },
    Check,
    Close,
    Unselect,
    Expunge,
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        charset: Option<String>,
        key: SearchKey,
        /// ESEARCH RETURN options, upper-cased (`None`: plain SEARCH).
        ret: Option<Vec<String>>,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchAtt>,
        changedsince: Option<u64>,
        vanished: bool,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: Vec<String>,
        unchangedsince: Option<u64>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Idle,
    Namespace,
    Id(Option<Vec<(String, Option<String>)>>),
    Enable(Vec<String>),
    Compress(String),
    GetAcl(String),
    SetAcl {
        mailbox: String,
        identifier: String,
        rights: String,
    },
    DeleteAcl {
        mailbox: String,
        identifier: String,
    },
    ListRights {
        mailbox: String,
        identifier: String,
    },
    MyRights(String),
    GetQuota(String),
    GetQuotaRoot(String),
    /// `limits`: resource name (upper case) and limit, `None` for Cyrus's `-1` (unlimited).
    SetQuota {
        root: String,
        limits: Vec<(String, Option<u64>)>,
    },
    GetMetadata {
        maxsize: Option<u64>,
        depth: Option<String>,
        mailbox: String,
        entries: Vec<String>,
    },
    SetMetadata {
        mailbox: String,
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
    Unauthenticate,
    /// Cyrus replication over IMAP (`SYNCAPPLY`, `SYNCGET`, `SYNCRESTART`): the verb and the
    /// raw csync arguments (everything after the verb, CRLF and literals included).
    Sync {
        verb: String,
        args: Vec<u8>,
    },
}

impl CommandBody {
    /// The command name as Cyrus reports it in errors.
    pub fn name(&self) -> &'static str {
        use CommandBody::*;
        match self {
            Capability => "Capability",
            Noop => "Noop",
            Logout => "Logout",
            StartTls => "Starttls",
            Authenticate { .. } => "Authenticate",
            Login { .. } => "Login",
            Select {
                readonly: false, ..
            } => "Select",
            Select { readonly: true, .. } => "Examine",
            Create { .. } => "Create",
            Delete(_) => "Delete",
            Rename { .. } => "Rename",
            Subscribe(_) => "Subscribe",
            Unsubscribe(_) => "Unsubscribe",
            List { .. } => "List",
            Lsub { .. } => "Lsub",
            Xlist { .. } => "Xlist",
            Status { .. } => "Status",
            Append { .. } => "Append",
            Check => "Check",
            Close => "Close",
            Unselect => "Unselect",
            Expunge | UidExpunge(_) => "Expunge",
            Search { .. } => "Search",
            Fetch { .. } => "Fetch",
            Store { .. } => "Store",
            Copy { .. } => "Copy",
            Move { .. } => "Move",
            Idle => "Idle",
            Namespace => "Namespace",
            Id(_) => "Id",
            Enable(_) => "Enable",
            Compress(_) => "Compress",
            GetAcl(_) => "Getacl",
            SetAcl { .. } => "Setacl",
            DeleteAcl { .. } => "Deleteacl",
            ListRights { .. } => "Listrights",
            MyRights(_) => "Myrights",
            GetQuota(_) => "Getquota",
            GetQuotaRoot(_) => "Getquotaroot",
            SetQuota { .. } => "Setquota",
            GetMetadata { .. } => "Getmetadata",
            SetMetadata { .. } => "Setmetadata",
            Unauthenticate => "Unauthenticate",
            Sync { .. } => "Sync",
        }
    }
}
