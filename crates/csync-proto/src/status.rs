//! Result codes and the exact status-line texts of Cyrus 3.6.1 (csync §1.4, §1.8, §1.9, §6.1).
//!
//! Owns: `ResultCode`, `SyncError` (a failed GET/APPLY as it goes on the wire), `Reply` (every
//! fixed server status line), and `StatusLine` (a parsed OK/NO/BAD/BYE line).
//! Must not: decide which error a situation deserves (that is the server's business).

use std::io::{self, Write};

/// The machine-readable first token after `NO`/`BAD` (csync §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultCode {
    InvalidUser,
    MailboxNonexistent,
    MailboxLocked,
    MailboxMoved,
    MailboxNotSupported,
    SyncChecksum,
    SyncChanged,
    SyncBadSieve,
    ProtocolError,
    ProtocolBadParameters,
    /// Any other `IMAP_…` token.
    Other(String),
}

const CODES: [(ResultCode, &str, &str); 10] = [
    (ResultCode::InvalidUser, "IMAP_INVALID_USER", "No Such User"),
    (
        ResultCode::MailboxNonexistent,
        "IMAP_MAILBOX_NONEXISTENT",
        "No Such Mailbox",
    ),
    (
        ResultCode::MailboxLocked,
        "IMAP_MAILBOX_LOCKED",
        "Mailbox locked",
    ),
    (
        ResultCode::MailboxMoved,
        "IMAP_MAILBOX_MOVED",
        "Mailbox exists with another name or uniqueid",
    ),
    (
        ResultCode::MailboxNotSupported,
        "IMAP_MAILBOX_NOTSUPPORTED",
        "Operation is not supported on mailbox",
    ),
    (
        ResultCode::SyncChecksum,
        "IMAP_SYNC_CHECKSUM",
        "Checksum Failure",
    ),
    (
        ResultCode::SyncChanged,
        "IMAP_SYNC_CHANGED",
        "Changed since last sync",
    ),
    (
        ResultCode::SyncBadSieve,
        "IMAP_SYNC_BADSIEVE",
        "Sieve script compilation failure",
    ),
    (
        ResultCode::ProtocolError,
        "IMAP_PROTOCOL_ERROR",
        "Protocol error",
    ),
    // Cyrus sends no text here; we add some so Cyrus clients see the code (§6.1 quirk).
    (
        ResultCode::ProtocolBadParameters,
        "IMAP_PROTOCOL_BAD_PARAMETERS",
        "Bad parameters",
    ),
];

impl ResultCode {
    pub fn as_str(&self) -> &str {
        match self {
            ResultCode::Other(s) => s,
            c => CODES
                .iter()
                .find(|(k, _, _)| k == c)
                .map_or("", |(_, s, _)| s),
        }
    }

    /// The text Cyrus puts after the code.
    pub fn standard_text(&self) -> &'static str {
        CODES
            .iter()
            .find(|(k, _, _)| k == self)
            .map_or("", |(_, _, t)| t)
    }

    /// Recognise a code token: any token starting with `IMAP_`.
    pub fn from_token(tok: &[u8]) -> Option<ResultCode> {
        if !tok.starts_with(b"IMAP_") {
            return None;
        }
        let s = std::str::from_utf8(tok).ok()?;
        Some(
            CODES
                .iter()
                .find(|(_, n, _)| *n == s)
                .map_or_else(|| ResultCode::Other(s.to_owned()), |(c, _, _)| c.clone()),
        )
    }
}

/// Which GET-like verb a line used (for "Failed to parse APPLY line").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueVerb {
    Get,
    Apply,
    Restore,
}

impl ValueVerb {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueVerb::Get => "GET",
            ValueVerb::Apply => "APPLY",
            ValueVerb::Restore => "RESTORE",
        }
    }
}

/// A failed GET/APPLY/RESTORE as sent by a server (csync §6.1). Displays as its status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncError {
    /// `NO <CODE> <text>`.
    Code(ResultCode),
    /// `NO Unknown error`: everything without a code.
    Unknown,
    /// `BAD IMAP_PROTOCOL_ERROR Failed to parse <VERB> line`.
    ParseFailed(ValueVerb),
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&Reply::Error(self.clone()).line()))
    }
}

impl std::error::Error for SyncError {}

impl SyncError {
    pub const BAD_PARAMETERS: SyncError = SyncError::Code(ResultCode::ProtocolBadParameters);
    pub const PROTOCOL_ERROR: SyncError = SyncError::Code(ResultCode::ProtocolError);
}

impl From<crate::value::FieldError> for SyncError {
    fn from(_: crate::value::FieldError) -> Self {
        SyncError::BAD_PARAMETERS
    }
}

/// Every fixed status line a csync server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `OK success`
    Success,
    /// `OK Noop completed`
    NoopCompleted,
    /// `OK Finished`
    Finished,
    /// `OK Restarting`
    Restarting,
    /// `BAD IMAP_PROTOCOL_ERROR Unrecognized command`
    UnrecognizedCommand,
    /// `BAD Null command`
    NullCommand,
    /// `NO Please authenticate first`
    PleaseAuthenticate,
    /// `NO Permission denied`
    PermissionDenied,
    /// `BAD Unexpected extra arguments to <Cmd>`
    ExtraArguments(&'static str),
    /// `BAD Missing required argument to <Cmd>`
    MissingArgument(&'static str),
    /// `BYE shutting down`
    ShuttingDown,
    /// A failed GET/APPLY/RESTORE.
    Error(SyncError),
}

impl Reply {
    /// The line without CRLF.
    pub fn line(&self) -> Vec<u8> {
        let s: String = match self {
            Reply::Success => "OK success".into(),
            Reply::NoopCompleted => "OK Noop completed".into(),
            Reply::Finished => "OK Finished".into(),
            Reply::Restarting => "OK Restarting".into(),
            Reply::UnrecognizedCommand => "BAD IMAP_PROTOCOL_ERROR Unrecognized command".into(),
            Reply::NullCommand => "BAD Null command".into(),
            Reply::PleaseAuthenticate => "NO Please authenticate first".into(),
            Reply::PermissionDenied => "NO Permission denied".into(),
            Reply::ExtraArguments(c) => format!("BAD Unexpected extra arguments to {c}"),
            Reply::MissingArgument(c) => format!("BAD Missing required argument to {c}"),
            Reply::ShuttingDown => "BYE shutting down".into(),
            Reply::Error(SyncError::Code(c)) => match c.standard_text() {
                "" => format!("NO {}", c.as_str()),
                t => format!("NO {} {t}", c.as_str()),
            },
            Reply::Error(SyncError::Unknown) => "NO Unknown error".into(),
            Reply::Error(SyncError::ParseFailed(v)) => {
                format!(
                    "BAD IMAP_PROTOCOL_ERROR Failed to parse {} line",
                    v.as_str()
                )
            }
        };
        s.into_bytes()
    }

    /// Write the line with CRLF, prefixed by `tag SP` in the IMAP flavour.
    pub fn write_to(&self, w: &mut dyn Write, tag: Option<&[u8]>) -> io::Result<()> {
        if let Some(t) = tag {
            w.write_all(t)?;
            w.write_all(b" ")?;
        }
        w.write_all(&self.line())?;
        w.write_all(b"\r\n")
    }
}

/// Status word of a response line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Ok => "OK",
            StatusKind::No => "NO",
            StatusKind::Bad => "BAD",
            StatusKind::Bye => "BYE",
            StatusKind::Preauth => "PREAUTH",
        }
    }

    pub fn from_word(w: &[u8]) -> Option<StatusKind> {
        [
            StatusKind::Ok,
            StatusKind::No,
            StatusKind::Bad,
            StatusKind::Bye,
            StatusKind::Preauth,
        ]
        .into_iter()
        .find(|k| w.eq_ignore_ascii_case(k.as_str().as_bytes()))
    }
}

/// A parsed status line. For NO/BAD the first token is taken as the code if it looks like
/// one (`IMAP_…`), ending at SP or end of line (csync §6.1: our client must accept a code
/// without text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// IMAP-flavour tag (`S0`), `None` for csync.
    pub tag: Option<Vec<u8>>,
    pub kind: StatusKind,
    pub code: Option<ResultCode>,
    /// The text after the code (or the whole text if there is no code).
    pub text: Vec<u8>,
}

impl StatusLine {
    /// Split `text` (everything after `KIND SP`) into code and text.
    pub fn new(tag: Option<Vec<u8>>, kind: StatusKind, text: Vec<u8>) -> StatusLine {
        if matches!(kind, StatusKind::No | StatusKind::Bad) {
            let (tok, rest) = match text.iter().position(|&b| b == b' ') {
                Some(p) => (&text[..p], &text[p + 1..]),
                None => (&text[..], &b""[..]),
            };
            if let Some(code) = ResultCode::from_token(tok) {
                return StatusLine {
                    tag,
                    kind,
                    code: Some(code),
                    text: rest.to_vec(),
                };
            }
        }
        StatusLine {
            tag,
            kind,
            code: None,
            text,
        }
    }

    /// The error this NO/BAD line stands for, as the Cyrus client would classify it.
    pub fn sync_error(&self) -> Option<SyncError> {
        match (self.kind, &self.code) {
            (StatusKind::No | StatusKind::Bad, Some(c)) => Some(SyncError::Code(c.clone())),
            (StatusKind::No | StatusKind::Bad, None) => Some(SyncError::Unknown),
            _ => None,
        }
    }

    /// Write back exactly as parsed (with CRLF).
    pub fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        if let Some(t) = &self.tag {
            w.write_all(t)?;
            w.write_all(b" ")?;
        }
        w.write_all(self.kind.as_str().as_bytes())?;
        if let Some(c) = &self.code {
            w.write_all(b" ")?;
            w.write_all(c.as_str().as_bytes())?;
        }
        if !self.text.is_empty() || self.code.is_none() {
            w.write_all(b" ")?;
            w.write_all(&self.text)?;
        }
        w.write_all(b"\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: Reply) -> String {
        String::from_utf8(r.line()).unwrap()
    }

    #[test]
    fn exact_texts() {
        assert_eq!(s(Reply::Success), "OK success");
        assert_eq!(
            s(Reply::Error(SyncError::Code(ResultCode::SyncChecksum))),
            "NO IMAP_SYNC_CHECKSUM Checksum Failure"
        );
        assert_eq!(
            s(Reply::Error(SyncError::BAD_PARAMETERS)),
            "NO IMAP_PROTOCOL_BAD_PARAMETERS Bad parameters"
        );
        assert_eq!(
            s(Reply::Error(SyncError::Code(ResultCode::MailboxMoved))),
            "NO IMAP_MAILBOX_MOVED Mailbox exists with another name or uniqueid"
        );
        assert_eq!(
            s(Reply::Error(SyncError::ParseFailed(ValueVerb::Apply))),
            "BAD IMAP_PROTOCOL_ERROR Failed to parse APPLY line"
        );
        assert_eq!(s(Reply::Error(SyncError::Unknown)), "NO Unknown error");
        assert_eq!(
            s(Reply::ExtraArguments("Noop")),
            "BAD Unexpected extra arguments to Noop"
        );
        assert_eq!(
            s(Reply::MissingArgument("Compress")),
            "BAD Missing required argument to Compress"
        );
        assert_eq!(s(Reply::PleaseAuthenticate), "NO Please authenticate first");
    }

    #[test]
    fn code_split() {
        let l = StatusLine::new(
            None,
            StatusKind::No,
            b"IMAP_PROTOCOL_BAD_PARAMETERS".to_vec(),
        );
        assert_eq!(l.code, Some(ResultCode::ProtocolBadParameters));
        assert!(l.text.is_empty());
        let mut out = Vec::new();
        l.write_to(&mut out).unwrap();
        assert_eq!(out, b"NO IMAP_PROTOCOL_BAD_PARAMETERS\r\n");
        let l = StatusLine::new(None, StatusKind::No, b"Unknown error".to_vec());
        assert_eq!(l.code, None);
        assert_eq!(l.sync_error(), Some(SyncError::Unknown));
    }
}
