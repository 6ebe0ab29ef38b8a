//! SEARCH matching as Cyrus 3.6 does it without a search engine (imap/search_expr.c,
//! imap/message.c `body_foreach_section`, lib/charset.c): text is decoded to UTF-8 and put in
//! Cyrus's "search form" (case folded, diacritics stripped — `search_skipdiacrit: yes` —,
//! white-space runs merged to one space — `search_whitespace: merge`), then the needle in the
//! same form is looked for as a substring.
//!
//! - FROM/TO/CC/BCC match the address list rendered as `Name <mailbox@domain>` (names
//!   decoded, addresses lowercased: Cyrus's `message_write_searchaddr`).
//! - SUBJECT and HEADER match the decoded field values; `HEADER name ""` matches any message
//!   with a non-empty such field.
//! - BODY matches the MIME headers of every part except the top-level header (Cyrus quirk:
//!   nested message headers and part headers count as body) and the decoded content of every
//!   text/* part; TEXT is BODY plus the top-level header.
//!
//! Owns: normalisation and these predicates. Must not: keep decoded bodies beyond one call.

use crate::Message;
use crate::address::Address;
use crate::date::{Date, parse_rfc5322_date};
use crate::decode::{TransferEncoding, decode_header, decode_transfer, to_utf8};
use crate::header::fields;
use crate::parse::BodyPart;

/// Base letters for U+0100..=U+017F (Latin Extended-A), lowercase; `*` marks a letter
/// without a canonical decomposition (Đ, Ħ, ı, Ĳ, ĸ, Ŀ, Ł, ŉ, Ŋ, Œ, Ŧ, ſ), which Cyrus keeps.
const LATIN_EXT_A: &[u8; 128] = b"aaaaaaccccccccdd**eeeeeeeeeegggggggghh**iiiiiiiii***jjkk*llllll****nnnnnn***oooooo**rrrrrrsssssssstttt**uuuuuuuuuuuuwwyyyzzzzzz*";

/// Strip the diacritic of one lowercase char as Cyrus's canonical decomposition does
/// (letters without a decomposition — æ, ð, ø, þ, ß, ł, œ, ... — stay as they are).
fn base_char(c: char, out: &mut String) {
    let u = c as u32;
    match u {
        0x300..=0x36f => {} // combining marks
        0xe0..=0xe5 => out.push('a'),
        0xe7 => out.push('c'),
        0xe8..=0xeb => out.push('e'),
        0xec..=0xef => out.push('i'),
        0xf1 => out.push('n'),
        0xf2..=0xf6 => out.push('o'),
        0xf9..=0xfc => out.push('u'),
        0xfd | 0xff => out.push('y'),
        0x100..=0x17f => match LATIN_EXT_A[(u - 0x100) as usize] {
            b'*' => out.push(c),
            b => out.push(char::from(b)),
        },
        _ => out.push(c),
    }
}

/// Put `s` in search form: lowercase, no diacritics, white-space runs as one space.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
                in_space = true;
            }
            continue;
        }
        in_space = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            for l in c.to_lowercase() {
                base_char(l, &mut out);
            }
        }
    }
    out
}

/// A SEARCH string in search form, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    norm: String,
}

impl SearchText {
    /// From a UTF-8 search string (SEARCH CHARSET UTF-8 or US-ASCII).
    pub fn new(needle: &str) -> SearchText {
        SearchText {
            norm: normalize(needle),
        }
    }

    /// From bytes in the SEARCH CHARSET `charset` (`None` = US-ASCII/UTF-8). Returns `None`
    /// for a charset we do not know (Cyrus answers `NO [BADCHARSET]`).
    pub fn with_charset(needle: &[u8], charset: Option<&[u8]>) -> Option<SearchText> {
        if let Some(cs) = charset {
            crate::decode::charset(cs)?;
        }
        Some(SearchText {
            norm: normalize(&to_utf8(needle, charset)),
        })
    }

    /// The needle is empty (matches everything).
    pub fn is_empty(&self) -> bool {
        self.norm.is_empty()
    }

    /// Does `haystack` (any UTF-8 text, not yet normalised) contain the needle?
    pub fn matches(&self, haystack: &str) -> bool {
        self.norm.is_empty() || normalize(haystack).contains(&self.norm)
    }
}

/// Which address header to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressField {
    From,
    To,
    Cc,
    Bcc,
}

/// Cyrus's `message_write_searchaddr`.
fn search_addr(list: &[Address]) -> String {
    let mut out = String::new();
    let mut prev = false;
    for a in list {
        if a.domain.is_none() {
            if let Some(mb) = &a.mailbox {
                if prev {
                    out.push(',');
                }
                out.push_str(&decode_header(mb));
                out.push(':');
                prev = false;
            } else {
                out.push(';');
                prev = true;
            }
            continue;
        }
        if prev {
            out.push(',');
        }
        if let Some(name) = &a.name {
            let name = decode_header(name);
            let plain = name.chars().all(|c| {
                c.is_ascii_alphanumeric() || c.is_whitespace() || "!#$%&'*+-/=?^_`{|}~".contains(c)
            });
            if plain {
                out.push_str(&name);
            } else {
                out.push('"');
                for c in name.chars() {
                    if c == '\\' || c == '"' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            out.push(' ');
        }
        out.push('<');
        if let Some(r) = &a.route {
            out.push_str(&String::from_utf8_lossy(r).to_lowercase());
            out.push(':');
        }
        if let Some(m) = &a.mailbox {
            out.push_str(&String::from_utf8_lossy(m).to_lowercase());
        }
        out.push('@');
        if let Some(d) = &a.domain {
            out.push_str(&String::from_utf8_lossy(d).to_lowercase());
        }
        out.push('>');
        prev = true;
    }
    out
}

fn slice(raw: &[u8], r: std::ops::Range<usize>) -> &[u8] {
    let end = r.end.min(raw.len());
    &raw[r.start.min(end)..end]
}

/// Search a part's decoded text content.
fn part_content_matches(raw: &[u8], part: &BodyPart, needle: &SearchText) -> bool {
    let enc = TransferEncoding::for_search(part.encoding.as_deref());
    if enc == TransferEncoding::Unknown {
        return false;
    }
    let data = decode_transfer(slice(raw, part.content_range()), enc);
    let charset = part.param("charset").filter(|c| !c.is_empty());
    if charset.is_some_and(|c| crate::decode::charset(c).is_none()) {
        // Cyrus skips parts in a charset it does not know
        return false;
    }
    needle.matches(&to_utf8(&data, charset))
}

/// body_foreach_section: `skip_header` skips the first (top-level) header only. Cyrus
/// walks its cached structure, where a zero-part multipart is an us-ascii text/plain part
/// whose content is the whole body at the top level and empty below it.
fn walk(
    raw: &[u8],
    part: &BodyPart,
    needle: &SearchText,
    skip_header: &mut bool,
    top: bool,
) -> bool {
    if part.header_size > 0 {
        if *skip_header {
            *skip_header = false;
        } else if needle.matches(&decode_header(slice(raw, part.header_range()))) {
            return true;
        }
    }
    if part.is_zero_part_multipart() {
        return top && needle.matches(&String::from_utf8_lossy(slice(raw, part.content_range())));
    }
    if part.is_text() && part_content_matches(raw, part, needle) {
        return true;
    }
    if let Some(m) = &part.message
        && walk(raw, m, needle, skip_header, false)
    {
        return true;
    }
    part.parts
        .iter()
        .any(|p| walk(raw, p, needle, skip_header, false))
}

impl Message {
    /// SEARCH FROM/TO/CC/BCC.
    pub fn address_matches(&self, field: AddressField, needle: &SearchText) -> bool {
        let env = &self.root().envelope();
        let list = match field {
            AddressField::From => &env.from,
            AddressField::To => &env.to,
            AddressField::Cc => &env.cc,
            AddressField::Bcc => &env.bcc,
        };
        match list {
            Some(l) => {
                let s = search_addr(l);
                !s.is_empty() && needle.matches(&s)
            }
            None => false,
        }
    }

    /// SEARCH SUBJECT.
    pub fn subject_matches(&self, needle: &SearchText) -> bool {
        match &self.root().envelope().subject {
            Some(s) if !s.is_empty() => needle.matches(&decode_header(s)),
            _ => false,
        }
    }

    /// SEARCH HEADER `name` `needle`: any field of that name (top-level header) whose
    /// decoded value contains the needle; an empty needle matches a present, non-empty field.
    pub fn header_matches(&self, raw: &[u8], name: &[u8], needle: &SearchText) -> bool {
        let hdr = slice(raw, self.root().header_range());
        let mut all = String::new();
        let mut line_no = 0;
        for f in fields(hdr) {
            // fields past Cyrus's maxheaderlines are not seen
            if line_no > crate::parse::MAX_HEADER_LINES {
                break;
            }
            line_no += f.raw.iter().filter(|&&c| c == b'\n').count();
            if !f.name.is_empty() && f.name.eq_ignore_ascii_case(name) {
                all.push_str(decode_header(f.value).trim());
            }
        }
        if all.is_empty() {
            return false;
        }
        needle.matches(&all)
    }

    /// SEARCH BODY.
    pub fn body_matches(&self, raw: &[u8], needle: &SearchText) -> bool {
        walk(raw, self.root(), needle, &mut true, true)
    }

    /// SEARCH TEXT (header and body).
    pub fn text_matches(&self, raw: &[u8], needle: &SearchText) -> bool {
        walk(raw, self.root(), needle, &mut false, true)
    }

    /// The calendar day of the Date: header as written (its zone ignored), for SENTBEFORE,
    /// SENTON and SENTSINCE; `None` when absent or unparsable, in which case Cyrus 3.6.1
    /// compares the INTERNALDATE's day instead (observed: such messages match SENTSINCE
    /// of a past date and not SENTBEFORE).
    pub fn sent_date(&self) -> Option<Date> {
        let d = self.root().envelope().date.as_deref()?;
        parse_rfc5322_date(d, true).map(|dt| dt.date)
    }

    /// The Date: header as a UTC timestamp (for SORT DATE); `None` when unparsable.
    pub fn sent_time(&self) -> Option<i64> {
        let d = self.root().envelope().date.as_deref()?;
        parse_rfc5322_date(d, false).map(|dt| dt.unix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm() {
        assert_eq!(normalize("Håvard  CAFÉ\t\r\nx"), "havard cafe x");
        // as Cyrus 3.6.1: no decomposition, no folding to a base letter
        assert_eq!(normalize("Œuvre Łódź Grüße İ"), "œuvre łodz gruße i");
        assert!(SearchText::new("hav").matches("Håvard"));
        assert!(SearchText::new("he  qu").matches("the quick"));
        assert!(SearchText::with_charset(b"x", Some(b"klingon")).is_none());
        assert!(
            SearchText::with_charset(b"caf\xe9", Some(b"iso-8859-1"))
                .unwrap()
                .matches("CAFE")
        );
    }

    #[test]
    fn message_predicates() {
        let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <J@Example.COM>\r\nTo: a@b.c\r\n\
Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nX-Tag: one\r\nX-Tag: two\r\n\
Date: Fri, 4 Mar 2022 23:14:15 -0800\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
K=F6ln am Rhein\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nsecret\r\n--b--\r\n";
        let m = Message::parse(raw);
        let s = SearchText::new;
        assert!(m.address_matches(AddressField::From, &s("jurgen")));
        assert!(m.address_matches(AddressField::From, &s("j@example.com")));
        assert!(!m.address_matches(AddressField::Cc, &s("")));
        assert!(m.subject_matches(&s("GRUßE")));
        assert!(!m.subject_matches(&s("grusse")));
        assert!(m.header_matches(raw, b"x-tag", &s("two")));
        assert!(m.header_matches(raw, b"x-tag", &s("")));
        assert!(!m.header_matches(raw, b"x-none", &s("")));
        assert!(m.body_matches(raw, &s("köln am")));
        assert!(!m.body_matches(raw, &s("secret")));
        assert!(m.body_matches(raw, &s("octet-stream")));
        assert!(!m.body_matches(raw, &s("x-tag")));
        assert!(m.text_matches(raw, &s("x-tag")));
        assert_eq!(
            m.sent_date(),
            Some(Date {
                year: 2022,
                month: 3,
                day: 4
            })
        );
        assert_eq!(m.sent_time(), Some(1_646_464_455));
    }
}
