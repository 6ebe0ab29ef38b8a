//! Sync log record types and the line syntax of replication-behaviour §4.1–4.2: how writers
//! quote arguments and how readers parse lines.
//!
//! Must not: do I/O.

use std::fmt;

/// One sync log record. Names are Cyrus internal mailbox names; userids as Cyrus stores them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    Append(String),
    Mailbox(String),
    DoubleMailbox(String, String),
    Rename(String, String),
    Unmailbox(String),
    Quota(String),
    Annotation(String),
    /// `SEEN <userid> <mailbox uniqueid>`.
    Seen(String, String),
    /// `SUB <userid> <mailbox>`: subscription *or* unsubscription.
    Sub(String, String),
    Unsub(String, String),
    User(String),
    Unuser(String),
    Meta(String),
    Sieve(String),
}

/// A record that cannot be written: Cyrus refuses line breaks in names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal line break in sync log argument {0:?}")]
pub struct RecordError(pub String);

impl Record {
    /// The record type word as Cyrus writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Append(_) => "APPEND",
            Record::Mailbox(_) => "MAILBOX",
            Record::DoubleMailbox(..) => "DOUBLEMAILBOX",
            Record::Rename(..) => "RENAME",
            Record::Unmailbox(_) => "UNMAILBOX",
            Record::Quota(_) => "QUOTA",
            Record::Annotation(_) => "ANNOTATION",
            Record::Seen(..) => "SEEN",
            Record::Sub(..) => "SUB",
            Record::Unsub(..) => "UNSUB",
            Record::User(_) => "USER",
            Record::Unuser(_) => "UNUSER",
            Record::Meta(_) => "META",
            Record::Sieve(_) => "SIEVE",
        }
    }

    fn args(&self) -> (&str, Option<&str>) {
        match self {
            Record::Append(a)
            | Record::Mailbox(a)
            | Record::Unmailbox(a)
            | Record::Quota(a)
            | Record::Annotation(a)
            | Record::User(a)
            | Record::Unuser(a)
            | Record::Meta(a)
            | Record::Sieve(a) => (a, None),
            Record::DoubleMailbox(a, b)
            | Record::Rename(a, b)
            | Record::Seen(a, b)
            | Record::Sub(a, b)
            | Record::Unsub(a, b) => (a, Some(b)),
        }
    }

    /// The complete line, LF-terminated, exactly as a Cyrus 3.6 writer produces it.
    pub fn to_line(&self) -> Result<String, RecordError> {
        let (a, b) = self.args();
        let mut line = String::with_capacity(16 + a.len() + b.map_or(0, str::len));
        line.push_str(self.kind());
        for arg in std::iter::once(a).chain(b) {
            if arg.contains(['\r', '\n']) {
                return Err(RecordError(arg.to_owned()));
            }
            line.push(' ');
            push_arg(&mut line, arg);
        }
        line.push('\n');
        Ok(line)
    }

    fn from_parts(kind: &str, a: String, b: Option<String>) -> Result<Record, ParseError> {
        let one = |b: Option<String>, r: Record| match b {
            None => Ok(r),
            Some(_) => Err(ParseError::Garbage),
        };
        let two = |b: Option<String>, f: fn(String, String) -> Record, a: String| match b {
            Some(b) => Ok(f(a, b)),
            None => Err(ParseError::MissingArgument(kind.to_ascii_uppercase())),
        };
        match kind.to_ascii_uppercase().as_str() {
            "APPEND" => one(b, Record::Append(a)),
            "MAILBOX" => one(b, Record::Mailbox(a)),
            "UNMAILBOX" => one(b, Record::Unmailbox(a)),
            "QUOTA" => one(b, Record::Quota(a)),
            "ANNOTATION" => one(b, Record::Annotation(a)),
            "USER" => one(b, Record::User(a)),
            "UNUSER" => one(b, Record::Unuser(a)),
            "META" => one(b, Record::Meta(a)),
            "SIEVE" => one(b, Record::Sieve(a)),
            "DOUBLEMAILBOX" => two(b, Record::DoubleMailbox, a),
            "RENAME" => two(b, Record::Rename, a),
            "SEEN" => two(b, Record::Seen, a),
            "SUB" => two(b, Record::Sub, a),
            "UNSUB" => two(b, Record::Unsub, a),
            other => Err(ParseError::UnknownType(other.to_owned())),
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.args();
        write!(f, "{} {a}", self.kind())?;
        if let Some(b) = b {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}

/// Cyrus's writer rule: quote if empty or containing SP, TAB, `(`, `)`, `\`, `"`, `{`, `}`;
/// inside quotes escape `\`, `"`, `{` and `}` with a backslash.
fn push_arg(out: &mut String, arg: &str) {
    let needs_quotes = arg.is_empty() || arg.contains([' ', '\t', '(', ')', '\\', '"', '{', '}']);
    if !needs_quotes {
        out.push_str(arg);
        return;
    }
    out.push('"');
    for c in arg.chars() {
        if matches!(c, '\\' | '"' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Why a log line was skipped (the texts are the ERR lines Cyrus's reader logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("Invalid input")]
    InvalidInput,
    #[error("Garbage at end of input line")]
    Garbage,
    #[error("Unknown action type: {0}")]
    UnknownType(String),
    #[error("Missing mailbox name: {0}")]
    MissingArgument(String),
    #[error("sync log line is not UTF-8")]
    NotUtf8,
}

/// Parse one line (without or with its LF / CRLF). `Ok(None)` for lines a Cyrus reader skips
/// silently: blank lines and lines with only a type word.
pub fn parse_line(line: &[u8]) -> Result<Option<Record>, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut cur = Cursor {
        s: line.as_bytes(),
        pos: 0,
    };
    let kind = cur.word();
    if kind.is_empty() {
        return Err(ParseError::InvalidInput);
    }
    if cur.at_end() {
        return Ok(None);
    }
    if !cur.eat(b' ') {
        return Err(ParseError::InvalidInput);
    }
    let a = cur.arg()?;
    let b = if cur.at_end() {
        None
    } else if cur.eat(b' ') {
        Some(cur.arg()?)
    } else {
        return Err(ParseError::InvalidInput);
    };
    if !cur.at_end() {
        return Err(ParseError::Garbage);
    }
    let kind = std::str::from_utf8(kind).map_err(|_| ParseError::NotUtf8)?;
    Record::from_parts(kind, a, b).map(Some)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(&b) = self.s.get(self.pos) {
            if b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b'"') {
                break;
            }
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn arg(&mut self) -> Result<String, ParseError> {
        if self.eat(b'"') {
            let mut out = Vec::new();
            loop {
                match self.s.get(self.pos) {
                    None => return Err(ParseError::InvalidInput),
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let next = *self.s.get(self.pos + 1).ok_or(ParseError::InvalidInput)?;
                        out.push(next);
                        self.pos += 2;
                    }
                    Some(&b) => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
            String::from_utf8(out).map_err(|_| ParseError::NotUtf8)
        } else {
            // Literals (`{n+}`) are never written by Cyrus writers; we refuse them.
            if self.s.get(self.pos) == Some(&b'{') {
                return Err(ParseError::InvalidInput);
            }
            let w = self.word();
            if w.is_empty() {
                return Err(ParseError::InvalidInput);
            }
            std::str::from_utf8(w)
                .map(str::to_owned)
                .map_err(|_| ParseError::NotUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(r: Record) -> String {
        r.to_line().unwrap()
    }

    #[test]
    fn cyrus_examples_byte_exact() {
        // replication-behaviour §4.1 examples.
        assert_eq!(
            line(Record::Mailbox("user.fred".into())),
            "MAILBOX user.fred\n"
        );
        assert_eq!(
            line(Record::Mailbox("user.fred.2nd level with spaces".into())),
            "MAILBOX \"user.fred.2nd level with spaces\"\n"
        );
        assert_eq!(
            line(Record::Mailbox("user.fred.odd\"name{x}".into())),
            "MAILBOX \"user.fred.odd\\\"name\\{x\\}\"\n"
        );
        assert_eq!(
            line(Record::Mailbox("example.com!user.fred.Sent".into())),
            "MAILBOX example.com!user.fred.Sent\n"
        );
        assert_eq!(
            line(Record::DoubleMailbox(
                "user.fred".into(),
                "user.fred.Archive".into()
            )),
            "DOUBLEMAILBOX user.fred user.fred.Archive\n"
        );
        assert_eq!(line(Record::Annotation(String::new())), "ANNOTATION \"\"\n");
        assert_eq!(
            line(Record::Seen(
                "fred".into(),
                "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d".into()
            )),
            "SEEN fred 0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d\n"
        );
        assert_eq!(
            line(Record::User("fred@example.com".into())),
            "USER fred@example.com\n"
        );
        // `%`, `*`, `!`, `^` and 8-bit bytes stay raw.
        assert_eq!(
            line(Record::Mailbox("user.a^b%*é".into())),
            "MAILBOX user.a^b%*é\n"
        );
        assert!(Record::Mailbox("a\nb".into()).to_line().is_err());
    }

    #[test]
    fn reader_rules() {
        assert_eq!(parse_line(b""), Ok(None));
        assert_eq!(parse_line(b"   \n"), Ok(None));
        assert_eq!(parse_line(b"MAILBOX\n"), Ok(None));
        assert_eq!(
            parse_line(b"mailbox user.fred\r\n"),
            Ok(Some(Record::Mailbox("user.fred".into())))
        );
        assert_eq!(
            parse_line(b"SUB fred \"user.fred.a b\"\n"),
            Ok(Some(Record::Sub("fred".into(), "user.fred.a b".into())))
        );
        assert_eq!(parse_line(b"MAILBOX a b c\n"), Err(ParseError::Garbage));
        assert_eq!(parse_line(b"MAILBOX a b\n"), Err(ParseError::Garbage));
        assert_eq!(parse_line(b"MAILBOX  a\n"), Err(ParseError::InvalidInput));
        assert_eq!(
            parse_line(b"FROB a\n"),
            Err(ParseError::UnknownType("FROB".into()))
        );
        assert_eq!(
            parse_line(b"RENAME a\n"),
            Err(ParseError::MissingArgument("RENAME".into()))
        );
        assert_eq!(
            parse_line(b"MAILBOX \"open\n"),
            Err(ParseError::InvalidInput)
        );
    }

    fn arb_arg() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ -~\t é]{0,20}").expect("valid regex")
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (0usize..14, arb_arg(), arb_arg()).prop_map(|(k, a, b)| match k {
            0 => Record::Append(a),
            1 => Record::Mailbox(a),
            2 => Record::DoubleMailbox(a, b),
            3 => Record::Rename(a, b),
            4 => Record::Unmailbox(a),
            5 => Record::Quota(a),
            6 => Record::Annotation(a),
            7 => Record::Seen(a, b),
            8 => Record::Sub(a, b),
            9 => Record::Unsub(a, b),
            10 => Record::User(a),
            11 => Record::Unuser(a),
            12 => Record::Meta(a),
            _ => Record::Sieve(a),
        })
    }

    proptest! {
        #[test]
        fn round_trip(r in arb_record()) {
            let l = r.to_line().unwrap();
            prop_assert_eq!(parse_line(l.as_bytes()), Ok(Some(r)));
        }

        #[test]
        fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_line(&bytes);
        }
    }
}
