//! FETCH `BODY[section]<partial>` (RFC 3501 §6.4.5) resolved the way Cyrus 3.6 resolves it
//! (imap/index.c `index_fetchsection`, `index_fetchfsection`, `find_part`,
//! imap/message.c `message_pruneheader`), plus RFC822.* and partial slicing.
//!
//! Owns: the section-spec type and its parser, part lookup, HEADER.FIELDS pruning, the
//! `<start.count>` arithmetic, and the literal header Cyrus writes for section data.
//! Must not: copy a body (plain sections resolve to byte ranges), write the response around
//! the data.
//!
//! Cyrus's rules, for reference:
//! - The message is wrapped in an implicit message/rfc822 "top": `HEADER`/`TEXT` at the top
//!   are the message header/body; `MIME` at the top is NIL.
//! - A part number inside a message/rfc822 (or at the top) addresses the sub-parts of its
//!   multipart body, or, for a non-multipart body, part 1 is that body itself (so `1` of a
//!   single-part message is its body and `1.MIME` its message header).
//! - `n.HEADER`/`n.TEXT` need part n to be message/rfc822, else NIL; `n.MIME` is part n's
//!   own MIME header. `n.HEADER.FIELDS` on a part that is not message/rfc822 prunes that
//!   part's MIME header (a Cyrus quirk kept).
//! - A zero-part multipart has an empty body when addressed as a sub-part or as `TEXT`
//!   (but RFC822.TEXT, which Cyrus takes from the index record, is everything after the
//!   header: see `Message::rfc822_text`).

use std::ops::Range;

use crate::parse::BodyPart;

/// The text part of a section spec (RFC 3501 `section-text` / `section-msgtext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// HEADER.FIELDS (`not` = false) or HEADER.FIELDS.NOT (`not` = true) with field names.
    HeaderFields {
        not: bool,
        fields: Vec<Vec<u8>>,
    },
    Text,
    Mime,
}

/// A parsed section spec: part path (empty = whole message) and optional text part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// Why a section spec did not parse (the caller answers BAD).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    #[error("Invalid body section")]
    Invalid,
}

impl Section {
    /// Parse the text between `[` and `]`, e.g. `1.2.HEADER.FIELDS (From To)`, `TEXT`,
    /// `3.MIME`, or `` (empty). Field names may be atoms or quoted strings.
    pub fn parse(spec: &[u8]) -> Result<Section, SectionError> {
        let mut sec = Section::default();
        let mut rest = spec;
        while let Some(c) = rest.first() {
            if !c.is_ascii_digit() {
                break;
            }
            let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            let num: u32 = std::str::from_utf8(&rest[..n])
                .ok()
                .and_then(|s| s.parse().ok())
                .filter(|&v| v > 0)
                .ok_or(SectionError::Invalid)?;
            sec.part.push(num);
            rest = &rest[n..];
            if rest.is_empty() {
                return Ok(sec);
            }
            if rest[0] != b'.' {
                return Err(SectionError::Invalid);
            }
            rest = &rest[1..];
            if rest.is_empty() {
                return Err(SectionError::Invalid);
            }
        }
        if rest.is_empty() {
            return Ok(sec);
        }
        let upper = rest.to_ascii_uppercase();
        let text = if upper == b"HEADER" {
            SectionText::Header
        } else if upper == b"TEXT" {
            SectionText::Text
        } else if upper == b"MIME" {
            if sec.part.is_empty() {
                return Err(SectionError::Invalid);
            }
            SectionText::Mime
        } else if let Some(list) = strip_prefix_ci(&upper, b"HEADER.FIELDS.NOT ") {
            let off = rest.len() - list.len();
            SectionText::HeaderFields {
                not: true,
                fields: parse_field_list(&rest[off..])?,
            }
        } else if let Some(list) = strip_prefix_ci(&upper, b"HEADER.FIELDS ") {
            let off = rest.len() - list.len();
            SectionText::HeaderFields {
                not: false,
                fields: parse_field_list(&rest[off..])?,
            }
        } else {
            return Err(SectionError::Invalid);
        };
        sec.text = Some(text);
        Ok(sec)
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], p: &[u8]) -> Option<&'a [u8]> {
    s.strip_prefix(p)
}

fn parse_field_list(s: &[u8]) -> Result<Vec<Vec<u8>>, SectionError> {
    let inner = s
        .strip_prefix(b"(")
        .and_then(|s| s.strip_suffix(b")"))
        .ok_or(SectionError::Invalid)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b' ' => i += 1,
            b'"' => {
                let mut v = Vec::new();
                i += 1;
                loop {
                    match inner.get(i) {
                        None => return Err(SectionError::Invalid),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            v.push(*inner.get(i + 1).ok_or(SectionError::Invalid)?);
                            i += 2;
                        }
                        Some(&c) => {
                            v.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(v);
            }
            _ => {
                let n = inner[i..].iter().take_while(|&&c| c != b' ').count();
                out.push(inner[i..i + n].to_vec());
                i += n;
            }
        }
    }
    if out.is_empty() {
        return Err(SectionError::Invalid);
    }
    Ok(out)
}

/// Where section data comes from: a range of the raw message, or bytes built for the
/// answer (HEADER.FIELDS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionData {
    Range(Range<usize>),
    Owned(Vec<u8>),
}

impl SectionData {
    /// The bytes, given the raw message the section was resolved against.
    pub fn bytes<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        match self {
            SectionData::Range(r) => {
                let end = r.end.min(raw.len());
                &raw[r.start.min(end)..end]
            }
            SectionData::Owned(v) => v,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            SectionData::Range(r) => r.len(),
            SectionData::Owned(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Apply `<start.count>` (RFC 3501 §6.4.5): the bytes from `start`, at most `count`.
    pub fn partial(self, start: u64, count: u64) -> SectionData {
        let r = partial_range(self.len(), start, count);
        match self {
            SectionData::Range(base) => {
                SectionData::Range(base.start + r.start..base.start + r.end)
            }
            SectionData::Owned(mut v) => {
                v.truncate(r.end);
                v.drain(..r.start);
                SectionData::Owned(v)
            }
        }
    }
}

/// The sub-range `<start.count>` of data of length `len` (empty when `start >= len`).
pub fn partial_range(len: usize, start: u64, count: u64) -> Range<usize> {
    let s = usize::try_from(start).unwrap_or(usize::MAX).min(len);
    let c = usize::try_from(count).unwrap_or(usize::MAX);
    s..s.saturating_add(c).min(len)
}

/// How Cyrus introduces section data of `data`: `""` when empty (returned as the whole
/// token, to be followed by nothing), else `{n}\r\n`, or `~{n}\r\n` (RFC 3516 literal8)
/// when the data holds a NUL byte.
pub fn literal_prefix(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        b"\"\"".to_vec()
    } else if data.contains(&0) {
        format!("~{{{}}}\r\n", data.len()).into_bytes()
    } else {
        format!("{{{}}}\r\n", data.len()).into_bytes()
    }
}

/// The node the section walk is at: the implicit top, or a real part.
#[derive(Clone, Copy)]
enum Node<'a> {
    Top(&'a BodyPart),
    Part(&'a BodyPart),
}

impl<'a> Node<'a> {
    /// The encapsulated message if this node is message/rfc822 (the top always is).
    fn rfc822_sub(self) -> Option<&'a BodyPart> {
        match self {
            Node::Top(root) => Some(root),
            Node::Part(p) if p.is_rfc822() => p.message.as_deref(),
            Node::Part(_) => None,
        }
    }
    fn body(self) -> &'a BodyPart {
        match self {
            Node::Top(p) | Node::Part(p) => p,
        }
    }
}

/// Cyrus `find_part`.
fn find_part(node: Node<'_>, n: u32) -> Option<Node<'_>> {
    let body = match node.rfc822_sub() {
        Some(sub) => sub,
        None => {
            let b = node.body();
            if b.parts.is_empty() {
                return None;
            }
            b
        }
    };
    if !body.parts.is_empty() {
        body.parts
            .get(usize::try_from(n).ok()?.checked_sub(1)?)
            .map(Node::Part)
    } else if n == 1 {
        Some(Node::Part(body))
    } else {
        None
    }
}

/// Content range of a part addressed as a sub-part (zero-part multiparts are empty).
fn content_of(node: Node<'_>) -> Range<usize> {
    match node {
        Node::Part(p) if p.is_zero_part_multipart() => p.content_offset..p.content_offset,
        n => n.body().content_range(),
    }
}

/// Resolve `section` against the message of `size` bytes whose top part is `root`; `raw`
/// (the message or a prefix of it) is read only for HEADER.FIELDS.
/// `None` means the section does not exist (Cyrus answers NIL).
pub fn resolve(root: &BodyPart, size: usize, raw: &[u8], section: &Section) -> Option<SectionData> {
    if section.part.is_empty() && section.text.is_none() {
        return Some(SectionData::Range(0..size));
    }
    let mut node = Node::Top(root);
    for &n in &section.part {
        node = find_part(node, n)?;
    }
    let range = match &section.text {
        None => {
            // A top-level path can only end here after at least one number.
            content_of(node)
        }
        Some(SectionText::Header) => node.rfc822_sub()?.header_range(),
        Some(SectionText::Text) => {
            let sub = node.rfc822_sub()?;
            if sub.is_zero_part_multipart() {
                sub.content_offset..sub.content_offset
            } else {
                sub.content_range()
            }
        }
        Some(SectionText::Mime) => match node {
            Node::Top(_) => return None,
            Node::Part(p) => p.header_range(),
        },
        Some(SectionText::HeaderFields { not, fields }) => {
            let target = node.rfc822_sub().unwrap_or(node.body());
            if target.header_size == 0 {
                return None;
            }
            let hdr = SectionData::Range(target.header_range());
            let mut v = if *not {
                prune_header(hdr.bytes(raw), &[], fields)
            } else {
                prune_header(hdr.bytes(raw), fields, &[])
            };
            v.extend_from_slice(b"\r\n");
            return Some(SectionData::Owned(v));
        }
    };
    let end = range.end.min(size);
    Some(SectionData::Range(range.start.min(end)..end))
}

/// FETCH `BINARY[part]` failed: the part's Content-Transfer-Encoding is not one we can undo
/// (Cyrus answers `NO [UNKNOWN-CTE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("[UNKNOWN-CTE] Can not process the binary data")]
pub struct UnknownCte;

/// FETCH `BINARY[part]` / `BINARY.SIZE[part]` (RFC 3516) as Cyrus: `part` empty = the whole
/// message, undecoded; otherwise the part's content with its transfer encoding undone.
/// `None` = the part does not exist (NIL, or size 0 for BINARY.SIZE).
///
/// Cyrus decodes with the encoding it cached (`message_parse_charset`): 7BIT, 8BIT, BINARY,
/// BASE64 and QUOTED-PRINTABLE are known, message/* parts are never decoded, anything else —
/// and a zero-part multipart — is [`UnknownCte`]. Observed in 3.6.1: for such a part the
/// BINARY / BINARY.SIZE item is left out of the FETCH response and the command still ends OK.
pub fn resolve_binary(
    root: &BodyPart,
    size: usize,
    raw: &[u8],
    part: &[u32],
) -> Option<Result<SectionData, UnknownCte>> {
    let sec = Section {
        part: part.to_vec(),
        text: None,
    };
    let data = resolve(root, size, raw, &sec)?;
    if part.is_empty() {
        return Some(Ok(data));
    }
    let mut node = Node::Top(root);
    for &n in part {
        node = find_part(node, n)?;
    }
    let body = node.body();
    if body.is_zero_part_multipart() {
        return Some(Err(UnknownCte));
    }
    let enc = if body.media_type == b"MESSAGE" {
        crate::decode::TransferEncoding::Identity
    } else {
        crate::decode::TransferEncoding::for_search(body.encoding.as_deref())
    };
    Some(match enc {
        crate::decode::TransferEncoding::Identity => Ok(data),
        crate::decode::TransferEncoding::Unknown => Err(UnknownCte),
        e => Ok(SectionData::Owned(
            crate::decode::decode_transfer(data.bytes(raw), e).into_owned(),
        )),
    })
}

/// Keep the header fields named in `keep` (or, if `keep` is empty, those not named in
/// `drop`), as Cyrus's `message_pruneheader`: names compare case-insensitively, a field keeps
/// its folds and line breaks, and pruning stops at the blank line (or after 1001 fields, as
/// Cyrus's `maxheaderlines` guard does).
pub fn prune_header(header: &[u8], keep: &[Vec<u8>], drop: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut p = 0;
    let mut count = 0;
    // Position of the next ':' at or after p (cached: positions only grow, so the whole
    // prune stays linear).
    let mut next_colon: Option<usize> = None;
    while p < header.len() && header[p] != b'\r' && header[p] != b'\n' && header[p] != 0 {
        let rest = &header[p..];
        // Cyrus looks for the colon anywhere ahead, not only on this line.
        if next_colon.is_none_or(|c| c < p) {
            next_colon = header[p..].iter().position(|&c| c == b':').map(|i| p + i);
            if next_colon.is_none() {
                next_colon = Some(usize::MAX);
            }
        }
        let colon = next_colon.filter(|&c| c != usize::MAX).map(|c| c - p);
        let name = colon.map(|c| &rest[..c]);
        let matches =
            |list: &[Vec<u8>]| name.is_some_and(|n| list.iter().any(|l| l.eq_ignore_ascii_case(n)));
        let mut good = !drop.is_empty() && colon.is_some() && !matches(drop);
        if !keep.is_empty() && matches(keep) {
            good = true;
        }
        // end of this field: past each line break followed by WSP
        let mut end = p;
        loop {
            match header[end..].iter().position(|&c| c == b'\n') {
                Some(i) => end += i + 1,
                None => end = header.len(),
            }
            if end >= header.len() || !matches!(header[end], b' ' | b'\t') {
                break;
            }
        }
        if good {
            out.extend_from_slice(&header[p..end]);
        }
        p = end;
        // Cyrus's maxheaderlines guard: stop after 1001 fields
        count += 1;
        if count > crate::parse::MAX_HEADER_LINES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_specs() {
        assert_eq!(Section::parse(b"").unwrap(), Section::default());
        let s = Section::parse(b"1.2.MIME").unwrap();
        assert_eq!(s.part, vec![1, 2]);
        assert_eq!(s.text, Some(SectionText::Mime));
        let s = Section::parse(b"HEADER.FIELDS.NOT (From \"To\")").unwrap();
        assert_eq!(
            s.text,
            Some(SectionText::HeaderFields {
                not: true,
                fields: vec![b"From".to_vec(), b"To".to_vec()]
            })
        );
        assert!(Section::parse(b"MIME").is_err());
        assert!(Section::parse(b"0").is_err());
        assert!(Section::parse(b"1.").is_err());
        assert!(Section::parse(b"HEADER.FIELDS ()").is_err());
    }

    #[test]
    fn prune() {
        let h = b"From: a\r\nTo: b\r\n c\r\nSubject: s\r\n\r\n";
        assert_eq!(prune_header(h, &[b"to".to_vec()], &[]), b"To: b\r\n c\r\n");
        assert_eq!(
            prune_header(h, &[], &[b"to".to_vec()]),
            b"From: a\r\nSubject: s\r\n"
        );
    }

    #[test]
    fn partial() {
        assert_eq!(partial_range(10, 2, 3), 2..5);
        assert_eq!(partial_range(10, 8, 5), 8..10);
        assert_eq!(partial_range(10, 20, 5), 10..10);
        assert_eq!(partial_range(10, 0, u64::MAX), 0..10);
    }
}
