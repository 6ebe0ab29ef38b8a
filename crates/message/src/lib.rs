//! RFC 5322 / MIME for the IMAP server, behaving as Cyrus IMAP 3.6 does: a part tree with
//! byte offsets, ENVELOPE / BODY / BODYSTRUCTURE in IMAP syntax, FETCH section lookup, and
//! decoding and matching for SEARCH, plus IMAP date/date-time and RFC 5322 Date: parsing.
//!
//! Owns: everything that reads a message's bytes to answer FETCH and SEARCH.
//! Must not: do I/O, depend on a runtime or the store, panic on any input, copy bodies.
//! Memory: [`Message::parse`] keeps only offsets and parsed header values (a few hundred
//! bytes per MIME part); section data are ranges into the caller's bytes.
//!
//! # Usage
//!
//! ```
//! use message::{Message, Section};
//! let raw = b"From: Fred <fred@example.com>\r\nSubject: hi\r\n\r\nHello\r\n";
//! let msg = Message::parse(raw);
//! assert_eq!(
//!     msg.envelope(),
//!     b"(NIL \"hi\" ((\"Fred\" NIL \"fred\" \"example.com\")) ((\"Fred\" NIL \"fred\" \
//! \"example.com\")) ((\"Fred\" NIL \"fred\" \"example.com\")) NIL NIL NIL NIL NIL)"
//! );
//! assert_eq!(
//!     msg.bodystructure(),
//!     b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 7 1 NIL NIL NIL NIL)"
//! );
//! let text = msg.section(raw, &Section::parse(b"TEXT").unwrap()).unwrap();
//! assert_eq!(text.bytes(raw), b"Hello\r\n");
//! ```
//!
//! # Map of the API
//!
//! - [`Message::parse`] → [`Message`] (owned, no borrow of the bytes; cacheable) whose
//!   [`Message::root`] is a [`BodyPart`] tree with offsets and parsed MIME headers.
//! - FETCH ENVELOPE / BODYSTRUCTURE / BODY: [`Message::envelope`],
//!   [`Message::bodystructure`], [`Message::body`] (or the `write_*` variants appending to a
//!   `Vec<u8>`). Strings are quoted or `{n}` literals exactly as Cyrus chooses.
//! - FETCH `BODY[section]<partial>`: [`Section::parse`], [`Message::section`] →
//!   `Option<SectionData>` (`None` = NIL), [`SectionData::partial`],
//!   [`section::literal_prefix`] for the `""` / `{n}` / `~{n}` token. FETCH BINARY /
//!   BINARY.SIZE: [`Message::binary`] (decoded; `Err(UnknownCte)` → `NO [UNKNOWN-CTE]`). RFC822 =
//!   `BODY[]`, RFC822.HEADER = [`Message::rfc822_header`], RFC822.TEXT =
//!   [`Message::rfc822_text`], RFC822.SIZE = the raw length ([`Message::size`]).
//! - SEARCH: [`search::SearchText`] normalises a needle; [`Message::header_matches`],
//!   [`Message::address_matches`], [`Message::body_matches`], [`Message::text_matches`];
//!   [`Message::sent_date`] for SENTBEFORE/SENTON/SENTSINCE.
//! - Dates: [`date::parse_date_time`] (APPEND date-time, Cyrus-lenient) /
//!   [`date::format_date_time`] (INTERNALDATE `%2d-Mon-yyyy hh:mm:ss +zzzz`),
//!   [`date::parse_date`] (SEARCH `d-Mon-yyyy`), [`date::parse_rfc5322_date`] (Date:).
//! - APPEND: [`ingest::check_append`] — Cyrus's compliance check with its error texts and
//!   `munge8bit` rewriting (the stored bytes, hence the GUID, are the munged ones).
//! - Lower level: [`header`] (fields, MIME value parsers), [`address`], [`decode`]
//!   (QP, base64, RFC 2047, charsets), [`imap`] (the writers).
//!
//! # Deviations from Cyrus
//!
//! - Bare-LF input is accepted (Cyrus converts to CRLF on delivery before parsing); sizes
//!   and line counts then count one-byte line breaks.
//! - Nesting deeper than [`parse::MAX_DEPTH`] levels is not parsed further (Cyrus recurses
//!   without bound).
//! - Cyrus's decoding of a Content-Type written entirely as an RFC 2047 word (old macOS
//!   Mail) is not done: such a header gives the default type.
//! - 8-bit header bytes are left as they are (Cyrus's delivery-time `munge8bit` is the
//!   store's business, not the parser's).
#![forbid(unsafe_code)]

pub mod address;
pub mod date;
pub mod decode;
pub mod header;
pub mod imap;
pub mod ingest;
pub mod parse;
pub mod search;
pub mod section;

pub use address::Address;
pub use header::{ContentType, Disposition, Param};
pub use parse::{BodyPart, EnvelopeFields};
pub use section::{Section, SectionData, SectionError, SectionText};

/// A parsed message: the part tree of some raw bytes. It does not borrow them; pass the same
/// bytes to the methods that need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    root: BodyPart,
    size: usize,
}

impl Message {
    /// Parse `raw` (CRLF or bare LF, possibly malformed). Never fails.
    pub fn parse(raw: &[u8]) -> Message {
        Message {
            root: parse::parse_parts(raw),
            size: raw.len(),
        }
    }

    /// The top part: the message header and its body.
    pub fn root(&self) -> &BodyPart {
        &self.root
    }

    /// RFC822.SIZE: the length of the raw message.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Length of the message header including the blank line (the RFC822.HEADER size).
    pub fn header_size(&self) -> usize {
        self.root.header_size
    }

    /// The ENVELOPE fields of the message header.
    pub fn envelope_fields(&self) -> &EnvelopeFields {
        self.root.envelope()
    }

    /// Append the ENVELOPE to `out`.
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        imap::write_envelope(out, self.root.envelope())
    }

    /// Append the BODYSTRUCTURE to `out`.
    pub fn write_bodystructure(&self, out: &mut Vec<u8>) {
        imap::write_body(out, &self.root, true)
    }

    /// Append the BODY (non-extensible BODYSTRUCTURE) to `out`.
    pub fn write_body(&self, out: &mut Vec<u8>) {
        imap::write_body(out, &self.root, false)
    }

    /// The ENVELOPE in IMAP syntax.
    pub fn envelope(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_envelope(&mut v);
        v
    }

    /// The BODYSTRUCTURE in IMAP syntax.
    pub fn bodystructure(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_bodystructure(&mut v);
        v
    }

    /// The BODY in IMAP syntax.
    pub fn body(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_body(&mut v);
        v
    }

    /// FETCH `BINARY[part]` (RFC 3516): see [`section::resolve_binary`]. BINARY.SIZE is the
    /// length of the result (0 when `None`). Partial applies to the decoded data.
    pub fn binary(
        &self,
        raw: &[u8],
        part: &[u32],
    ) -> Option<Result<SectionData, section::UnknownCte>> {
        section::resolve_binary(&self.root, self.size, raw, part)
    }

    /// RFC822.HEADER: the message header with its blank line (`BODY[HEADER]` without
    /// setting \Seen).
    pub fn rfc822_header(&self) -> SectionData {
        SectionData::Range(0..self.root.header_size.min(self.size))
    }

    /// RFC822.TEXT: everything after the header (Cyrus computes it from the sizes, so unlike
    /// `BODY[TEXT]` it is never emptied for a malformed multipart).
    pub fn rfc822_text(&self) -> SectionData {
        SectionData::Range(self.root.header_size.min(self.size)..self.size)
    }

    /// Resolve a FETCH section; `None` = NIL. Plain sections are ranges (clamped to
    /// [`Message::size`]) and use no bytes; HEADER.FIELDS reads the addressed header from
    /// `raw`, so `raw` must be the message (a prefix covering that header is enough).
    pub fn section(&self, raw: &[u8], section: &Section) -> Option<SectionData> {
        section::resolve(&self.root, self.size, raw, section)
    }
}
