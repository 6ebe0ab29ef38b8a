//! Decoding to UTF-8 for SEARCH and for callers that need text: content transfer encodings
//! (RFC 2045 quoted-printable and base64, lenient as Cyrus), RFC 2047 encoded words in
//! header values, RFC 2231 extended parameter values, and charsets through `encoding_rs`.
//!
//! Owns: byte-level decoders. Must not: fail on malformed input (bad sequences are kept or
//! replaced, never an error), keep state between calls.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// A Content-Transfer-Encoding as Cyrus classifies it (`message_parse_charset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// 7BIT, 8BIT, BINARY, or absent.
    Identity,
    QuotedPrintable,
    Base64,
    /// RFC 4648 §5 alphabet (`-`, `_`); Cyrus accepts it for BINARY fetches.
    Base64Url,
    /// Anything else: the content cannot be decoded.
    Unknown,
}

impl TransferEncoding {
    /// Classify a Content-Transfer-Encoding value (`None` = absent) as Cyrus's
    /// `encoding_lookupname` (FETCH BINARY): also accepts `7-BIT`, `8-BIT`, `NONE`, `UTF-8`,
    /// `UTF8` (seen in the wild) and `BASE64URL`, case-insensitively.
    pub fn from_header(enc: Option<&[u8]>) -> Self {
        let Some(e) = enc else { return Self::Identity };
        let e = e.to_ascii_uppercase();
        match e.as_slice() {
            b"7BIT" | b"7-BIT" | b"8BIT" | b"8-BIT" | b"BINARY" | b"NONE" | b"UTF-8" | b"UTF8" => {
                Self::Identity
            }
            b"QUOTED-PRINTABLE" => Self::QuotedPrintable,
            b"BASE64" => Self::Base64,
            b"BASE64URL" => Self::Base64Url,
            _ => Self::Unknown,
        }
    }

    /// The stricter classification Cyrus's SEARCH uses (`message_parse_charset`): only
    /// 7BIT, 8BIT, BINARY, BASE64 and QUOTED-PRINTABLE (as parsed, uppercased) are known.
    pub fn for_search(enc: Option<&[u8]>) -> Self {
        match enc {
            None | Some(b"7BIT" | b"8BIT" | b"BINARY") => Self::Identity,
            Some(b"QUOTED-PRINTABLE") => Self::QuotedPrintable,
            Some(b"BASE64") => Self::Base64,
            Some(_) => Self::Unknown,
        }
    }
}

/// Look up a charset by its MIME name or alias (WHATWG labels; `utf-7` is not supported).
pub fn charset(name: &[u8]) -> Option<&'static Encoding> {
    let name = trim(name);
    if name.eq_ignore_ascii_case(b"us-ascii") || name.eq_ignore_ascii_case(b"ascii") {
        return Some(encoding_rs::WINDOWS_1252);
    }
    Encoding::for_label_no_replacement(name)
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let b = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(a, |i| i + 1);
    &s[a..b]
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decode quoted-printable (RFC 2045 §6.7). Soft line breaks (`=` CRLF / `=` LF, with
/// trailing white space before the break) are removed; a malformed `=` is kept literally.
pub fn decode_qp(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'=' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|&c| hexval(c)),
                s.get(i + 2).and_then(|&c| hexval(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            // soft line break: '=' [WSP...] (CRLF | LF)
            let mut j = i + 1;
            while j < s.len() && matches!(s[j], b' ' | b'\t') {
                j += 1;
            }
            if s.get(j) == Some(&b'\n') {
                i = j + 1;
                continue;
            }
            if s.get(j) == Some(&b'\r') && s.get(j + 1) == Some(&b'\n') {
                i = j + 2;
                continue;
            }
            if j >= s.len() {
                break;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The RFC 2047 "Q" encoding: like quoted-printable, with `_` for space.
fn decode_q(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    s.get(i + 1).and_then(|&c| hexval(c)),
                    s.get(i + 2).and_then(|&c| hexval(c)),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn b64val(c: u8, url: bool) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' if !url => Some(62),
        b'/' if !url => Some(63),
        b'-' if url => Some(62),
        b'_' if url => Some(63),
        _ => None,
    }
}

/// Decode base64 leniently: bytes outside the alphabet are skipped, `=` ends the data.
pub fn decode_base64(s: &[u8]) -> Vec<u8> {
    decode_b64(s, false)
}

fn decode_b64(s: &[u8], url: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in s {
        if c == b'=' {
            break;
        }
        let Some(v) = b64val(c, url) else { continue };
        acc = acc << 6 | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Undo a content transfer encoding (`Unknown` leaves the bytes as they are).
pub fn decode_transfer(s: &[u8], enc: TransferEncoding) -> Cow<'_, [u8]> {
    match enc {
        TransferEncoding::Identity | TransferEncoding::Unknown => Cow::Borrowed(s),
        TransferEncoding::QuotedPrintable => Cow::Owned(decode_qp(s)),
        TransferEncoding::Base64 => Cow::Owned(decode_b64(s, false)),
        TransferEncoding::Base64Url => Cow::Owned(decode_b64(s, true)),
    }
}

/// Convert bytes in `charset` (unknown or `None`: UTF-8 with replacement) to UTF-8.
pub fn to_utf8<'a>(s: &'a [u8], charset_name: Option<&[u8]>) -> Cow<'a, str> {
    match charset_name.and_then(charset) {
        Some(enc) if enc != encoding_rs::UTF_8 => enc.decode_without_bom_handling(s).0,
        _ => String::from_utf8_lossy(s),
    }
}

/// Decode an RFC 2231 extended value `charset'language'percent-encoded` to UTF-8 bytes
/// (Cyrus `charset_parse_mimexvalue`). `None` if it is not of that form.
pub fn parse_mime_xvalue(v: &[u8]) -> Option<Vec<u8>> {
    let q1 = v.iter().position(|&c| c == b'\'')?;
    let q2 = q1 + 1 + v[q1 + 1..].iter().position(|&c| c == b'\'')?;
    let cs = &v[..q1];
    let raw = &v[q2 + 1..];
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|&c| hexval(c)),
                raw.get(i + 2).and_then(|&c| hexval(c)),
            )
        {
            bytes.push(h << 4 | l);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    let cs = if cs.is_empty() { None } else { Some(cs) };
    Some(to_utf8(&bytes, cs).into_owned().into_bytes())
}

/// Positions of every `?=` and of every white-space byte in a header value, so that each
/// candidate encoded word finds its end by binary search: a value full of unterminated
/// `=?` starts stays linear.
struct Marks {
    ends: Vec<usize>,
    spaces: Vec<usize>,
}

impl Marks {
    fn new(v: &[u8]) -> Marks {
        let ends = v
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w == b"?=")
            .map(|(i, _)| i)
            .collect();
        let spaces = v
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_whitespace())
            .map(|(i, _)| i)
            .collect();
        Marks { ends, spaces }
    }
    fn first_at_or_after(list: &[usize], i: usize) -> Option<usize> {
        let k = list.partition_point(|&p| p < i);
        list.get(k).copied()
    }
}

/// Try to read an encoded word `=?charset[*lang]?enc?text?=` at `value[i..]`. Returns the
/// decoded text and the length consumed.
fn encoded_word(value: &[u8], i: usize, marks: &Marks) -> Option<(String, usize)> {
    let s = &value[i..];
    if !s.starts_with(b"=?") {
        return None;
    }
    let rest = &s[2..];
    // The charset token ends at the next '?'; invalid bytes stop the scan early, and the
    // next '?' is never further than the next "=?" start, so this stays linear overall.
    let q1 = rest
        .iter()
        .position(|&c| c == b'?' || c <= b' ' || c >= 0x7f)?;
    if rest[q1] != b'?' || q1 == 0 {
        return None;
    }
    let cs = &rest[..q1];
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = i + 2 + q1 + 3;
    let end = Marks::first_at_or_after(&marks.ends, text_start)?;
    if Marks::first_at_or_after(&marks.spaces, text_start).is_some_and(|w| w < end) {
        return None;
    }
    let text = &value[text_start..end];
    let bytes = match enc {
        b'Q' | b'q' => decode_q(text),
        b'B' | b'b' => decode_base64(text),
        _ => return None,
    };
    // RFC 2231 §5: charset*language
    let cs = match cs.iter().position(|&c| c == b'*') {
        Some(i) => &cs[..i],
        None => cs,
    };
    let decoded = match charset(cs) {
        Some(e) => e.decode_without_bom_handling(&bytes).0.into_owned(),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Some((decoded, end + 2 - i))
}

/// Decode a header value to UTF-8: RFC 2047 encoded words are decoded (white space between
/// two adjacent encoded words is dropped), folds are unfolded, other bytes are read as
/// UTF-8 (invalid sequences replaced).
pub fn decode_header(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let marks = Marks::new(value);
    let mut pending_ws: Vec<u8> = Vec::new();
    let mut last_was_word = false;
    let mut plain: Vec<u8> = Vec::new();
    let mut i = 0;
    let flush = |plain: &mut Vec<u8>, out: &mut String| {
        if !plain.is_empty() {
            out.push_str(&String::from_utf8_lossy(plain));
            plain.clear();
        }
    };
    while i < value.len() {
        let c = value[i];
        if c == b'\r' || c == b'\n' {
            i += 1;
            continue;
        }
        if c == b' ' || c == b'\t' {
            pending_ws.push(c);
            i += 1;
            continue;
        }
        if c == b'='
            && let Some((text, n)) = encoded_word(value, i, &marks)
        {
            if !last_was_word {
                plain.extend_from_slice(&pending_ws);
            }
            pending_ws.clear();
            flush(&mut plain, &mut out);
            out.push_str(&text);
            last_was_word = true;
            i += n;
            continue;
        }
        plain.append(&mut pending_ws);
        plain.push(c);
        last_was_word = false;
        i += 1;
    }
    plain.append(&mut pending_ws);
    flush(&mut plain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qp_b64() {
        assert_eq!(decode_qp(b"a=3Db=\r\nc= \nd=zz"), b"a=bcd=zz");
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"aGk"), b"hi");
    }

    #[test]
    fn words() {
        assert_eq!(
            decode_header(b" =?utf-8?q?caf=C3=A9?= =?ISO-8859-1?B?4A==?= x"),
            " café\u{e0} x"
        );
        assert_eq!(decode_header(b"a =?bogus?Q?x?= b"), "a x b");
        assert_eq!(decode_header(b"=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
        assert_eq!(
            decode_header(b"Re:\r\n =?iso-8859-15?q?=A4?="),
            "Re: \u{20ac}"
        );
    }

    #[test]
    fn xvalue() {
        assert_eq!(
            parse_mime_xvalue(b"iso-8859-1'en'a%E9").unwrap(),
            "a\u{e9}".as_bytes()
        );
        assert!(parse_mime_xvalue(b"abc").is_none());
    }
}
