//! Emission helpers implementing Cyrus's output rules (csync §2.5, §2.2.1–§2.2.3): when a
//! string may go out as an atom, when as a quoted string, and otherwise as a literal.
//!
//! Owns: the atom-safe and QCHAR tests and string/literal writing.
//! Must not: parse, or decide the literal form itself (the caller's role decides).

use std::io::{self, Write};

/// Which literal syntax to write (csync §2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralForm {
    /// `{n}`: synchronising; what a server sends in responses.
    Sync,
    /// `{n+}`: LITERAL+, non-synchronising; what a client sends in commands.
    NonSync,
}

/// How a string will be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringForm {
    Atom,
    Quoted,
    Literal,
}

/// Cyrus's "safe to send as a bare atom" test (csync §2.2.1, emitter view). Note the quirk:
/// 0x1F is not excluded, 0x7F is.
pub fn is_atom_safe(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() < 1024
        && s != b"NIL"
        && s.iter().all(|&b| {
            b < 0x80
                && b > 0x1E
                && b != 0x7F
                && !matches!(b, b' ' | b'{' | b'(' | b')' | b'"' | b'%' | b'*' | b'\\')
        })
}

/// Cyrus's quotable test (csync §2.2.2): shorter than 1024 bytes and every byte a QCHAR (HTAB
/// allowed; no 8-bit, CR, LF, `"`, `%`, `\`, NUL). Cyrus never writes backslash escapes.
pub fn is_qchar_safe(s: &[u8]) -> bool {
    s.len() < 1024
        && s.iter()
            .all(|&b| b < 0x80 && !matches!(b, b'\r' | b'\n' | b'"' | b'%' | b'\\' | 0))
}

/// The form Cyrus uses for `s` (csync §2.5): atom, else `""` for empty, else quoted, else
/// literal.
pub fn string_form(s: &[u8]) -> StringForm {
    if is_atom_safe(s) {
        StringForm::Atom
    } else if is_qchar_safe(s) {
        StringForm::Quoted
    } else {
        StringForm::Literal
    }
}

/// Write a literal header `{n}` or `{n+}` followed by CRLF.
pub fn write_literal_header(w: &mut dyn Write, len: u64, form: LiteralForm) -> io::Result<()> {
    match form {
        LiteralForm::Sync => write!(w, "{{{len}}}\r\n"),
        LiteralForm::NonSync => write!(w, "{{{len}+}}\r\n"),
    }
}

/// Write `s` as atom, quoted string or literal per [`string_form`].
pub fn write_string(w: &mut dyn Write, s: &[u8], form: LiteralForm) -> io::Result<()> {
    match string_form(s) {
        StringForm::Atom => w.write_all(s),
        StringForm::Quoted => {
            w.write_all(b"\"")?;
            w.write_all(s)?;
            w.write_all(b"\"")
        }
        StringForm::Literal => {
            write_literal_header(w, s.len() as u64, form)?;
            w.write_all(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &[u8], f: LiteralForm) -> Vec<u8> {
        let mut v = Vec::new();
        write_string(&mut v, s, f).unwrap();
        v
    }

    #[test]
    fn forms() {
        assert_eq!(out(b"user.fred", LiteralForm::Sync), b"user.fred");
        assert_eq!(out(b"", LiteralForm::Sync), b"\"\"");
        assert_eq!(out(b"NIL", LiteralForm::Sync), b"\"NIL\"");
        assert_eq!(out(b"fred\tlr\t", LiteralForm::Sync), b"\"fred\tlr\t\"");
        assert_eq!(out(b"\\Sent", LiteralForm::NonSync), b"{5+}\r\n\\Sent");
        assert_eq!(out(b"\\Sent", LiteralForm::Sync), b"{5}\r\n\\Sent");
        assert_eq!(out(b"hello world", LiteralForm::Sync), b"\"hello world\"");
        assert_eq!(out(b"100% spam", LiteralForm::Sync), b"{9}\r\n100% spam");
        assert_eq!(out(&[0x1F], LiteralForm::Sync), [0x1F]);
        assert_eq!(string_form(&[b'a'; 1024]), StringForm::Literal);
        assert_eq!(string_form(&[b'a'; 1023]), StringForm::Atom);
        assert_eq!(string_form(b"a*"), StringForm::Quoted);
    }
}
