//! Response serialisation helpers (RFC 3501 §7): strings as quoted or literal, `NIL`,
//! astrings for mailbox names, date-time, and tagged/untagged status lines.
//!
//! Owns: byte-exact formatting. Must not: decide what to answer.

use crate::command::Date;

/// Append `s` as an IMAP `string`: quoted when every byte is a safe QUOTED-CHAR, else a
/// synchronising literal.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() < 1024 && s.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t');
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, s);
    }
}

/// Append `s` as a literal `{n}\r\n...`.
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Append an `nstring`.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Append an `astring` the way Cyrus writes mailbox names: an atom when possible.
pub fn astring(out: &mut Vec<u8>, s: &[u8]) {
    let atom = !s.is_empty()
        && s != b"NIL"
        && s.iter().all(|&b| {
            b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
        });
    if atom {
        out.extend_from_slice(s);
    } else {
        string(out, s);
    }
}

const MON: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// RFC 3501 `date-time` in UTC: `"dd-Mon-yyyy hh:mm:ss +0000"` (quotes included).
pub fn date_time(t: i64) -> String {
    let d = Date::from_timestamp(t);
    let s = t.rem_euclid(86_400);
    format!(
        "\"{:2}-{}-{:04} {:02}:{:02}:{:02} +0000\"",
        d.day,
        MON[(d.month as usize).saturating_sub(1) % 12],
        d.year,
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// `tag OK [code] text\r\n` (or `* ...` when `tag` is `*`).
pub fn status(tag: &str, kind: &str, code: Option<&str>, text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(tag.len() + text.len() + 16);
    v.extend_from_slice(tag.as_bytes());
    v.push(b' ');
    v.extend_from_slice(kind.as_bytes());
    v.push(b' ');
    if let Some(c) = code {
        v.push(b'[');
        v.extend_from_slice(c.as_bytes());
        v.extend_from_slice(b"] ");
    }
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let mut v = Vec::new();
        string(&mut v, b"a \"b\"");
        assert_eq!(v, b"\"a \\\"b\\\"\"");
        let mut v = Vec::new();
        string(&mut v, b"x\r\ny");
        assert_eq!(v, b"{4}\r\nx\r\ny");
        let mut v = Vec::new();
        astring(&mut v, b"Sent Items");
        assert_eq!(v, b"\"Sent Items\"");
        assert_eq!(date_time(0), "\" 1-Jan-1970 00:00:00 +0000\"");
        assert_eq!(
            status("a", "OK", Some("READ-WRITE"), "Completed"),
            b"a OK [READ-WRITE] Completed\r\n"
        );
    }
}
