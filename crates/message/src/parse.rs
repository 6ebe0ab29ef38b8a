//! The MIME part tree of one message, built in one pass over the raw bytes the way Cyrus 3.6
//! builds its `struct body` (imap/message.c `message_parse_body`, `_headers`, `_multipart`,
//! `_content`): header/content offsets and sizes, line counts, boundary bookkeeping, the
//! "last header wins" rule, default types, and the treatment of malformed MIME.
//!
//! Owns: [`BodyPart`] and [`parse_parts`].
//! Must not: copy bodies (only offsets are kept), panic on any input, recurse without bound.
//!
//! Input may use CRLF or bare LF line ends. Cyrus only ever sees CRLF (it converts on
//! delivery); for bare LF the same rules apply with one-byte line breaks.

use std::ops::Range;

use crate::address::{Address, parse_address_list};
use crate::header::{
    ContentType, Disposition, Param, fields, memchr, parse_content_type, parse_disposition,
    parse_encoding, parse_language, parse_string,
};

/// Cyrus's `boundary_limit` default: at most this many nested multipart boundaries.
pub const BOUNDARY_LIMIT: usize = 1000;

/// Our bound on the number of MIME parts in one message (Cyrus has none). When it is
/// reached the part being started runs to the end of the message, so memory stays a small
/// multiple of the message size even for millions of empty parts.
pub const MAX_PARTS: usize = 10_000;

/// Cyrus's `maxheaderlines` default: header fields starting after this many lines of a
/// header are ignored (Cyrus logs "has more than 1000 header lines").
pub const MAX_HEADER_LINES: usize = 1000;

/// Our own bound on nesting (multipart and message/rfc822 levels together; Cyrus has none
/// and recurses on the C stack). Deeper parts are treated as opaque leaves: a multipart
/// becomes a zero-part multipart, a message/rfc822 an unparsed part.
pub const MAX_DEPTH: usize = 64;

/// The RFC 5322 header fields Cyrus keeps for ENVELOPE, parsed from one part's header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeFields {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Option<Vec<Address>>,
    pub sender: Option<Vec<Address>>,
    pub reply_to: Option<Vec<Address>>,
    pub to: Option<Vec<Address>>,
    pub cc: Option<Vec<Address>>,
    pub bcc: Option<Vec<Address>>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

/// One MIME part. Offsets are into the whole message given to [`crate::Message::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyPart {
    /// Start of this part's header (its MIME header, or the message header for a message).
    pub header_offset: usize,
    /// Header length including the blank line that ends it (0 when there is no header).
    pub header_size: usize,
    /// Number of lines in the header (the blank line included).
    pub header_lines: usize,
    /// Start of the content (after the blank line).
    pub content_offset: usize,
    /// Content length, excluding the line break that precedes a boundary delimiter.
    pub content_size: usize,
    /// Number of lines of content (the BODYSTRUCTURE `body-fld-lines`).
    pub content_lines: usize,
    /// Bytes and lines of the delimiter line that ended this part (with its preceding line
    /// break); carried up to enclosing parts as Cyrus does.
    pub boundary_size: usize,
    pub boundary_lines: usize,
    /// Content-Type type, uppercased (`TEXT`, `MULTIPART`, ...).
    pub media_type: Vec<u8>,
    /// Content-Type subtype, uppercased.
    pub subtype: Vec<u8>,
    /// Content-Type parameters (attributes uppercased, RFC 2231 continuations folded).
    pub params: Vec<Param>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding, uppercased; `None` means 7BIT.
    pub encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Disposition>,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
    /// ENVELOPE fields from this part's header (meaningful for a message's top part);
    /// `None` when the header has none of them (see [`BodyPart::envelope`]).
    pub envelope_fields: Option<Box<EnvelopeFields>>,
    /// Sub-parts of a multipart (empty for a malformed multipart: see [`Self::is_zero_part_multipart`]).
    pub parts: Vec<BodyPart>,
    /// The encapsulated message of a message/rfc822 part.
    pub message: Option<Box<BodyPart>>,
}

static NO_ENVELOPE: EnvelopeFields = EnvelopeFields {
    date: None,
    subject: None,
    from: None,
    sender: None,
    reply_to: None,
    to: None,
    cc: None,
    bcc: None,
    in_reply_to: None,
    message_id: None,
};

impl BodyPart {
    /// The ENVELOPE fields of this part's header (all `None` when it has none).
    pub fn envelope(&self) -> &EnvelopeFields {
        self.envelope_fields.as_deref().unwrap_or(&NO_ENVELOPE)
    }

    pub fn is_multipart(&self) -> bool {
        self.media_type == b"MULTIPART"
    }
    pub fn is_rfc822(&self) -> bool {
        self.media_type == b"MESSAGE" && self.subtype == b"RFC822"
    }
    pub fn is_text(&self) -> bool {
        self.media_type == b"TEXT"
    }
    /// A multipart without parts (no boundary parameter, or cut short); Cyrus shows it as an
    /// empty text/plain part.
    pub fn is_zero_part_multipart(&self) -> bool {
        self.is_multipart() && self.parts.is_empty()
    }
    pub fn header_range(&self) -> Range<usize> {
        self.header_offset..self.header_offset + self.header_size
    }
    pub fn content_range(&self) -> Range<usize> {
        self.content_offset..self.content_offset + self.content_size
    }
    /// The value of a Content-Type parameter (attribute compared case-insensitively).
    pub fn param(&self, attribute: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|p| p.attribute.eq_ignore_ascii_case(attribute.as_bytes()))
            .map(|p| p.value.as_slice())
    }
    fn set_type(&mut self, ct: ContentType) {
        self.media_type = ct.media_type;
        self.subtype = ct.subtype;
        self.params = ct.params;
    }
    fn clear_type(&mut self) {
        self.media_type.clear();
        self.subtype.clear();
        self.params.clear();
    }
}

/// `TEXT/PLAIN; CHARSET=us-ascii`, Cyrus's DEFAULT_CONTENT_TYPE.
pub(crate) fn default_text() -> ContentType {
    ContentType {
        media_type: b"TEXT".to_vec(),
        subtype: b"PLAIN".to_vec(),
        params: vec![Param {
            attribute: b"CHARSET".to_vec(),
            value: b"us-ascii".to_vec(),
        }],
    }
}

fn default_rfc822() -> ContentType {
    ContentType {
        media_type: b"MESSAGE".to_vec(),
        subtype: b"RFC822".to_vec(),
        params: Vec::new(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Default {
    Text,
    Rfc822,
}

struct Parser<'a> {
    msg: &'a [u8],
    off: usize,
    /// Pending boundaries, outermost first.
    boundaries: Vec<Vec<u8>>,
    /// Parts created so far (see [`MAX_PARTS`]).
    parts: usize,
}

/// Does the line `s` (with its line break) match a pending boundary? Cyrus
/// `message_pendingboundary` with rfc2046_strict off: a prefix match, unless followed by a
/// non-space byte and more; a close delimiter pops that boundary and all inner ones.
fn pending_boundary(s: &[u8], boundaries: &mut Vec<Vec<u8>>) -> bool {
    if s.len() < 2 || s[0] != b'-' || s[1] != b'-' {
        return false;
    }
    let b = &s[2..];
    for i in 0..boundaries.len() {
        let id = &boundaries[i];
        let len = id.len();
        if b.len() < len || &b[..len] != id.as_slice() {
            continue;
        }
        if b.len() >= len + 2 && b[len] == b'-' && b[len + 1] == b'-' {
            boundaries.truncate(i);
        } else if b.len() > len + 1 && !crate::header::is_space(b[len]) {
            continue;
        }
        return true;
    }
    false
}

/// Length of the line break at the end of `line` (0, 1 for LF, 2 for CRLF).
fn eol_len(line: &[u8]) -> usize {
    if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    }
}

impl Parser<'_> {
    fn line_end(&self, from: usize) -> usize {
        match memchr(b'\n', &self.msg[from..]) {
            Some(i) => from + i + 1,
            None => self.msg.len(),
        }
    }

    /// message_parse_body
    fn body(&mut self, body: &mut BodyPart, default: Default, depth: usize) {
        let saw_boundary = self.headers(body, default);
        if body.is_multipart() {
            if !saw_boundary {
                if depth < MAX_DEPTH {
                    self.multipart(body, depth + 1);
                } else {
                    self.content(body);
                }
            }
        } else if body.is_rfc822() && depth < MAX_DEPTH {
            let mut sub = BodyPart::default();
            if saw_boundary {
                sub.set_type(default_text());
            } else {
                self.body(&mut sub, Default::Text, depth + 1);
                body.content_size = sub.header_size + sub.content_size;
                body.content_lines = sub.header_lines + sub.content_lines;
                body.boundary_size = sub.boundary_size;
                body.boundary_lines = sub.boundary_lines;
            }
            body.message = Some(Box::new(sub));
        } else if !saw_boundary {
            self.content(body);
        }
    }

    /// message_parse_headers: returns whether a boundary was met inside the header.
    fn headers(&mut self, body: &mut BodyPart, default: Default) -> bool {
        body.header_offset = self.off;
        let start = self.off;
        let mut saw_boundary = false;
        let header_end;
        loop {
            if self.off >= self.msg.len() {
                header_end = self.off;
                break;
            }
            let ls = self.off;
            let le = self.line_end(ls);
            self.off = le;
            let line = &self.msg[ls..le];
            if line == b"\r\n" || line == b"\n" {
                header_end = le;
                break;
            }
            if line[0] == b'-' && pending_boundary(line, &mut self.boundaries) {
                body.boundary_size = line.len();
                body.boundary_lines = 1;
                if ls > start {
                    // the line break before the delimiter belongs to the delimiter
                    let eol = eol_len(&self.msg[start..ls]);
                    body.boundary_size += eol;
                    body.boundary_lines += 1;
                    header_end = ls - eol;
                } else {
                    header_end = ls;
                }
                saw_boundary = true;
                break;
            }
        }
        body.content_offset = self.off;
        body.header_size = header_end - start;
        let block = &self.msg[start..header_end];
        body.header_lines = block.iter().filter(|&&c| c == b'\n').count();
        let mut ct: Option<ContentType> = None;
        let mut line_no = 0;
        for f in fields(block) {
            if line_no > MAX_HEADER_LINES {
                break;
            }
            line_no += f.raw.iter().filter(|&&c| c == b'\n').count();
            if f.name.is_empty() {
                continue;
            }
            let name = f.name;
            let v = f.value;
            let eq = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            if eq("content-type") {
                ct = parse_content_type(v);
                if ct.is_none() {
                    body.clear_type();
                }
            } else if eq("content-transfer-encoding") {
                body.encoding = parse_encoding(v);
            } else if eq("content-id") {
                body.id = Some(parse_string(v));
            } else if eq("content-description") {
                body.description = Some(parse_string(v));
            } else if eq("content-disposition") {
                body.disposition = parse_disposition(v);
            } else if eq("content-language") {
                body.language = parse_language(v);
            } else if eq("content-location") {
                body.location = Some(parse_string(v));
            } else if eq("content-md5") {
                body.md5 = Some(parse_string(v));
            } else if eq("date") {
                env(&mut body.envelope_fields).date = Some(parse_string(v));
            } else if eq("subject") {
                env(&mut body.envelope_fields).subject = Some(parse_string(v));
            } else if eq("in-reply-to") {
                env(&mut body.envelope_fields).in_reply_to = Some(parse_string(v));
            } else if eq("message-id") {
                env(&mut body.envelope_fields).message_id = Some(parse_string(v));
            } else if eq("from") {
                env(&mut body.envelope_fields).from = nonempty(parse_address_list(v));
            } else if eq("sender") {
                env(&mut body.envelope_fields).sender = nonempty(parse_address_list(v));
            } else if eq("reply-to") {
                env(&mut body.envelope_fields).reply_to = nonempty(parse_address_list(v));
            } else if eq("to") {
                env(&mut body.envelope_fields).to = nonempty(parse_address_list(v));
            } else if eq("cc") {
                env(&mut body.envelope_fields).cc = nonempty(parse_address_list(v));
            } else if eq("bcc") {
                env(&mut body.envelope_fields).bcc = nonempty(parse_address_list(v));
            }
        }
        match ct {
            Some(ct) => body.set_type(ct),
            None => body.set_type(match default {
                Default::Text => default_text(),
                Default::Rfc822 => default_rfc822(),
            }),
        }
        saw_boundary
    }

    /// message_parse_multipart
    fn multipart(&mut self, body: &mut BodyPart, depth: usize) {
        let default = if body.subtype == b"DIGEST" {
            Default::Rfc822
        } else {
            Default::Text
        };
        let boundary = body
            .params
            .iter()
            .find(|p| p.attribute == b"BOUNDARY" || p.attribute == b"BOUNDARY*")
            .map(|p| {
                if p.attribute.len() == 9 {
                    crate::decode::parse_mime_xvalue(&p.value).unwrap_or_else(|| p.value.clone())
                } else {
                    p.value.clone()
                }
            });
        let Some(boundary) = boundary else {
            self.content(body);
            return;
        };
        self.boundaries.push(boundary);
        let depth_b = self.boundaries.len();
        let mut preamble = BodyPart::default();
        self.content(&mut preamble);
        while self.boundaries.len() == depth_b && self.boundaries.len() < BOUNDARY_LIMIT {
            self.parts += 1;
            if self.parts >= MAX_PARTS {
                // stop splitting: this part takes the rest of the message
                self.boundaries.clear();
            }
            let mut part = BodyPart::default();
            self.body(&mut part, default, depth);
            if self.off == self.msg.len() && part.boundary_size == 0 {
                self.boundaries.clear();
            }
            body.parts.push(part);
        }
        let mut epilogue = BodyPart::default();
        if self.boundaries.len() + 1 == depth_b {
            self.content(&mut epilogue);
        } else if let Some(last) = body.parts.last_mut() {
            body.boundary_size = last.boundary_size;
            body.boundary_lines = last.boundary_lines;
            last.boundary_size = 0;
            last.boundary_lines = 0;
        } else {
            body.boundary_size = preamble.boundary_size;
            body.boundary_lines = preamble.boundary_lines;
            preamble.boundary_size = 0;
            preamble.boundary_lines = 0;
        }
        body.content_size = preamble.content_size + preamble.boundary_size;
        body.content_lines = preamble.content_lines + preamble.boundary_lines;
        for p in &body.parts {
            body.content_size += p.header_size + p.content_size + p.boundary_size;
            body.content_lines += p.header_lines + p.content_lines + p.boundary_lines;
        }
        body.content_size += epilogue.content_size;
        body.content_lines += epilogue.content_lines;
        body.boundary_size += epilogue.boundary_size;
        body.boundary_lines += epilogue.boundary_lines;
    }

    /// message_parse_content
    fn content(&mut self, body: &mut BodyPart) {
        body.content_offset = self.off;
        let mut prev_eol = 0;
        while self.off < self.msg.len() {
            let ls = self.off;
            let le = self.line_end(ls);
            self.off = le;
            let line = &self.msg[ls..le];
            if line.len() >= 2
                && line[0] == b'-'
                && line[1] == b'-'
                && pending_boundary(line, &mut self.boundaries)
            {
                body.boundary_size = line.len();
                body.boundary_lines = 1;
                if body.content_lines > 0 {
                    body.content_lines -= 1;
                    body.boundary_lines += 1;
                }
                // Cyrus subtracts 2 (CRLF) when it can; we subtract the actual line break.
                if prev_eol > 0 && body.content_size >= prev_eol {
                    body.content_size -= prev_eol;
                    body.boundary_size += prev_eol;
                }
                break;
            }
            body.content_size += line.len();
            prev_eol = eol_len(line);
            if line.ends_with(b"\n") {
                body.content_lines += 1;
            }
        }
    }
}

fn env(slot: &mut Option<Box<EnvelopeFields>>) -> &mut EnvelopeFields {
    slot.get_or_insert_with(Box::default)
}

fn nonempty(v: Vec<Address>) -> Option<Vec<Address>> {
    if v.is_empty() { None } else { Some(v) }
}

/// Parse `msg` into its top part (the message itself: its header is the message header).
pub fn parse_parts(msg: &[u8]) -> BodyPart {
    let mut p = Parser {
        msg,
        off: 0,
        boundaries: Vec::new(),
        parts: 0,
    };
    let mut root = BodyPart::default();
    p.body(&mut root, Default::Text, 0);
    root
}
