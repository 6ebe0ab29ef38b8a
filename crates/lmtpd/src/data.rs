//! The DATA phase as a byte-stream transform (RFC 2033 §4.2, RFC 5321 §4.5.2), reproducing
//! what Cyrus's `spool_fill_hdrcache` + `spool_copy_msg` store:
//!
//! - the end is a line holding a single `.`; one leading `.` is removed from other lines;
//! - every line ends in CRLF in the stored message (a bare LF becomes CRLF) and CRs not
//!   followed by LF are dropped;
//! - a NUL anywhere fails the message (`Message contains NUL characters`);
//! - in the header: field names must be printable ASCII without `:` (else `Message contains
//!   invalid header`), `Return-Path` fields are dropped (the server writes its own), 8-bit
//!   bytes in field bodies become `X` (`munge8bit`, the default) or fail the message
//!   (`reject8bit`); a missing `Message-ID` or `Date` is appended at the end of the header, an
//!   empty `Message-ID` fails the message.
//!
//! Also the trace header block Cyrus puts first (`Return-Path`, `Received`,
//! `X-Cyrus-Session-Id`, `X-Sieve`) and the RFC 5322 date format.
//!
//! Must not: do I/O or know about recipients; the session feeds bytes in and writes the output
//! to a body file.

use std::fmt;

/// Longest piece of a line handled at once (Cyrus reads 8 KiB lines); longer lines are passed
/// through in pieces.
const SEGMENT: usize = 8190;

/// Why a message is refused after DATA (per recipient, `554 5.6.0 <text>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataError {
    ContainsNul,
    BadHeader,
    EightBitHeader,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataError::ContainsNul => "Message contains NUL characters",
            DataError::BadHeader => "Message contains invalid header",
            DataError::EightBitHeader => "Message contains non-ASCII characters in headers",
        })
    }
}

/// Header options from imapd.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderOptions {
    /// `munge8bit` (default on).
    pub munge8bit: bool,
    /// `reject8bit` (default off; wins over munge8bit).
    pub reject8bit: bool,
}

impl Default for HeaderOptions {
    fn default() -> Self {
        HeaderOptions {
            munge8bit: true,
            reject8bit: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MsgId {
    Absent,
    /// The first Message-ID field, whose body is still all white space.
    Empty,
    Present,
}

/// Streaming DATA decoder. Feed it with [`DataDecoder::push`] until it reports the end.
#[derive(Debug)]
pub struct DataDecoder {
    opts: HeaderOptions,
    phase: Phase,
    at_line_start: bool,
    /// A field is open (continuation lines belong to it).
    in_field: bool,
    /// The open field is being dropped (Return-Path).
    skipping: bool,
    /// The open field is the first Message-ID.
    in_msgid: bool,
    msgid: MsgId,
    date_seen: bool,
    error: Option<DataError>,
    /// Appended when the header has none.
    add_message_id: String,
    add_date: String,
    done: bool,
}

/// What one [`DataDecoder::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// Input bytes used; the rest must be offered again with more data.
    pub consumed: usize,
    /// The terminating `.` line was seen; nothing after it was consumed.
    pub done: bool,
}

impl DataDecoder {
    /// `message_id` (with brackets) and `date` are added if the header lacks them.
    pub fn new(opts: HeaderOptions, message_id: String, date: String) -> DataDecoder {
        DataDecoder {
            opts,
            phase: Phase::Header,
            at_line_start: true,
            in_field: false,
            skipping: false,
            in_msgid: false,
            msgid: MsgId::Absent,
            date_seen: false,
            error: None,
            add_message_id: message_id,
            add_date: date,
            done: false,
        }
    }

    /// The first problem found, if any (the message must then be refused).
    pub fn error(&self) -> Option<DataError> {
        self.error
    }

    /// The Message-ID the decoder added (None if the message had its own).
    pub fn added_message_id(&self) -> Option<&str> {
        (self.msgid == MsgId::Absent).then_some(self.add_message_id.as_str())
    }

    fn fail(&mut self, e: DataError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Consume complete lines (and pieces of very long lines) from `input`, appending the
    /// stored form to `out`. With `eof` set, a final line without LF is processed too (the
    /// client closed the connection; the caller treats that as an aborted transfer anyway).
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Pushed {
        let mut used = 0;
        while !self.done {
            let rest = &input[used..];
            let (piece, complete) = match memchr_lf(rest) {
                Some(i) => (&rest[..=i], true),
                None if rest.len() >= SEGMENT => {
                    // Keep a trailing CR for the next round: it may start a CRLF.
                    let mut n = SEGMENT;
                    if rest[n - 1] == b'\r' {
                        n -= 1;
                    }
                    (&rest[..n], false)
                }
                None => break,
            };
            used += piece.len();
            self.line(piece, complete, out);
        }
        Pushed {
            consumed: used,
            done: self.done,
        }
    }

    fn line(&mut self, raw: &[u8], complete: bool, out: &mut Vec<u8>) {
        let line_start = self.at_line_start;
        self.at_line_start = complete;
        let mut content: &[u8] = raw;
        if complete {
            content = &content[..content.len() - 1];
            if content.last() == Some(&b'\r') {
                content = &content[..content.len() - 1];
            }
        }
        if content.contains(&0) {
            self.fail(DataError::ContainsNul);
        }
        // Lone CRs are dropped.
        let cleaned: std::borrow::Cow<'_, [u8]> = if content.contains(&b'\r') {
            content
                .iter()
                .copied()
                .filter(|&b| b != b'\r')
                .collect::<Vec<u8>>()
                .into()
        } else {
            content.into()
        };
        let mut content: &[u8] = &cleaned;
        if line_start && content.first() == Some(&b'.') {
            if complete && content.len() == 1 {
                if self.phase == Phase::Header {
                    self.end_of_header(out, false);
                }
                self.done = true;
                return;
            }
            content = &content[1..];
        }
        match self.phase {
            Phase::Body => {
                out.extend_from_slice(content);
                if complete {
                    out.extend_from_slice(b"\r\n");
                }
            }
            Phase::Header => self.header_line(content, line_start, complete, out),
        }
    }

    fn end_of_header(&mut self, out: &mut Vec<u8>, blank_line: bool) {
        self.in_field = false;
        match self.msgid {
            MsgId::Empty => self.fail(DataError::BadHeader),
            MsgId::Absent => {
                out.extend_from_slice(b"Message-ID: ");
                out.extend_from_slice(self.add_message_id.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            MsgId::Present => {}
        }
        if !self.date_seen {
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(self.add_date.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if blank_line {
            out.extend_from_slice(b"\r\n");
        }
        self.phase = Phase::Body;
    }

    /// Copy a piece of a field body, with 8-bit bytes handled per the options.
    fn field_body(&mut self, body: &[u8], out: &mut Vec<u8>) {
        if self.in_msgid
            && self.msgid == MsgId::Empty
            && body.iter().any(|&b| b != b' ' && b != b'\t')
        {
            self.msgid = MsgId::Present;
        }
        if self.skipping {
            return;
        }
        for &b in body {
            if b >= 0x80 {
                if self.opts.reject8bit {
                    self.fail(DataError::EightBitHeader);
                    out.push(b);
                } else if self.opts.munge8bit {
                    out.push(b'X');
                } else {
                    out.push(b);
                }
            } else {
                out.push(b);
            }
        }
    }

    fn header_line(&mut self, content: &[u8], line_start: bool, complete: bool, out: &mut Vec<u8>) {
        if !line_start {
            // The rest of a long physical line.
            self.field_body(content, out);
        } else if content.is_empty() && complete {
            self.end_of_header(out, true);
            return;
        } else if matches!(content.first(), Some(b' ' | b'\t')) {
            if !self.in_field {
                return self.bad_header(content, complete, out);
            }
            self.field_body(content, out);
        } else {
            // A new field: 1*ftext, optional WSP, ':'.
            let ftext = |b: u8| (33..=57).contains(&b) || (59..=126).contains(&b);
            let name_len = content.iter().take_while(|&&b| ftext(b)).count();
            let after = &content[name_len..];
            let wsp = after
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            if name_len == 0 || after.get(wsp) != Some(&b':') {
                return self.bad_header(content, complete, out);
            }
            let name = &content[..name_len];
            self.in_field = true;
            self.skipping = name.eq_ignore_ascii_case(b"return-path");
            self.in_msgid = name.eq_ignore_ascii_case(b"message-id") && self.msgid == MsgId::Absent;
            if self.in_msgid {
                self.msgid = MsgId::Empty;
            }
            if name.eq_ignore_ascii_case(b"date") {
                self.date_seen = true;
            }
            let head = name_len + wsp + 1;
            if !self.skipping {
                out.extend_from_slice(&content[..head]);
            }
            self.field_body(&content[head..], out);
        }
        if complete && !self.skipping {
            out.extend_from_slice(b"\r\n");
        }
    }

    /// An invalid header line: the message is refused; the rest is consumed as body.
    fn bad_header(&mut self, content: &[u8], complete: bool, out: &mut Vec<u8>) {
        self.fail(DataError::BadHeader);
        self.phase = Phase::Body;
        self.skipping = false;
        out.extend_from_slice(content);
        if complete {
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn memchr_lf(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// What goes into the trace header block.
#[derive(Debug, Clone)]
pub struct Trace<'a> {
    /// MAIL FROM path without brackets (None: no Return-Path is written).
    pub return_path: Option<&'a str>,
    pub servername: &'a str,
    /// The LHLO argument.
    pub lhlo: &'a str,
    /// `localhost [127.0.0.1]`, `[unix socket]`.
    pub clienthost: &'a str,
    /// MAIL FROM's `AUTH=` identity.
    pub authuser: Option<&'a str>,
    /// `serverinfo: on` adds `(Cyrus <version>)`.
    pub version: Option<&'a str>,
    pub tls: bool,
    pub authenticated: bool,
    pub date: &'a str,
    pub session_id: &'a str,
}

/// The header lines Cyrus's `savemsg` writes before the client's header.
pub fn trace_headers(t: &Trace<'_>) -> String {
    let mut s = String::new();
    if let Some(rp) = t.return_path {
        // Append the server name to a path without a domain (Cyrus `savemsg`).
        if !rp.contains('@') && !rp.is_empty() {
            s.push_str(&format!("Return-Path: <{rp}@{}>\r\n", t.servername));
        } else {
            s.push_str(&format!("Return-Path: <{rp}>\r\n"));
        }
    }
    let mut segs = vec![format!("from {} ({})", t.lhlo, t.clienthost)];
    if let Some(u) = t.authuser {
        segs.push(format!(" (authenticated user={u} bits=0)"));
    }
    let mut by = format!(" by {}", t.servername);
    if let Some(v) = t.version {
        by.push_str(&format!(" (Cyrus {v})"));
    }
    by.push_str(" with LMTP");
    if t.tls {
        by.push('S');
    }
    if t.authenticated {
        by.push('A');
    }
    by.push(';');
    segs.push(by);
    segs.push(format!(" {}", t.date));
    s.push_str("Received: ");
    s.push_str(&segs.join("\r\n\t"));
    s.push_str("\r\n");
    s.push_str(&format!("X-Cyrus-Session-Id: {}\r\n", t.session_id));
    s.push_str("X-Sieve: CMU Sieve 3.0\r\n");
    s
}

/// RFC 5322 §3.3 date-time in UTC, as Cyrus's `time_to_rfc5322` writes it on a UTC host:
/// `Sat, 28 Nov 2026 20:53:05 +0000`.
pub fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], opts: HeaderOptions) -> (Vec<u8>, Option<DataError>, usize) {
        let mut d = DataDecoder::new(opts, "<id@x>".into(), "DATE".into());
        let mut out = Vec::new();
        // Feed byte by byte to exercise resumption.
        let mut buf = Vec::new();
        let mut total = 0;
        for &b in input {
            buf.push(b);
            let p = d.push(&buf, &mut out);
            total += p.consumed;
            buf.drain(..p.consumed);
            if p.done {
                return (out, d.error(), total);
            }
        }
        panic!("no end seen: {:?}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn unstuffing_and_line_ends() {
        let (out, err, used) = run(
            b"Subject: hi\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\n..dot\nbare lf\r\nlone\rcr\r\n.\r\nNEXT",
            HeaderOptions::default(),
        );
        assert_eq!(err, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Subject: hi\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\n.dot\r\nbare lf\r\nlonecr\r\n"
        );
        assert_eq!(used, 70);
    }

    #[test]
    fn adds_message_id_and_date_drops_return_path() {
        let (out, err, _) = run(
            b"Return-Path: <evil>\r\n  folded\r\nSubject: s\xc3\xa9\r\n\r\nb\xc3\xa9\r\n.\r\n",
            HeaderOptions::default(),
        );
        assert_eq!(err, None);
        assert_eq!(
            out,
            b"Subject: sXX\r\nMessage-ID: <id@x>\r\nDate: DATE\r\n\r\nb\xc3\xa9\r\n".to_vec()
        );
    }

    #[test]
    fn errors() {
        let strict = HeaderOptions {
            munge8bit: true,
            reject8bit: true,
        };
        assert_eq!(
            run(b"Subject: \xff\r\n\r\n.\r\n", strict).1,
            Some(DataError::EightBitHeader)
        );
        assert_eq!(
            run(b"Bad header\r\n\r\n.\r\n", HeaderOptions::default()).1,
            Some(DataError::BadHeader)
        );
        assert_eq!(
            run(b" leading\r\n\r\n.\r\n", HeaderOptions::default()).1,
            Some(DataError::BadHeader)
        );
        assert_eq!(
            run(b"Message-ID:  \r\n\r\n.\r\n", HeaderOptions::default()).1,
            Some(DataError::BadHeader)
        );
        assert_eq!(
            run(b"A: b\r\n\r\nx\0y\r\n.\r\n", HeaderOptions::default()).1,
            Some(DataError::ContainsNul)
        );
        assert_eq!(
            run(
                b"Message-ID:\r\n <a@b>\r\n\r\n.\r\n",
                HeaderOptions::default()
            )
            .1,
            None
        );
    }

    #[test]
    fn no_blank_line_and_empty_message() {
        let (out, err, _) = run(b"A: b\r\n.\r\n", HeaderOptions::default());
        assert_eq!(err, None);
        assert_eq!(
            out,
            b"A: b\r\nMessage-ID: <id@x>\r\nDate: DATE\r\n".to_vec()
        );
        let (out, _, _) = run(b".\r\n", HeaderOptions::default());
        assert_eq!(out, b"Message-ID: <id@x>\r\nDate: DATE\r\n".to_vec());
    }

    #[test]
    fn long_lines_pass_through() {
        let mut msg = b"A: b\r\n\r\n".to_vec();
        msg.extend(std::iter::repeat_n(b'x', 20_000));
        msg.extend_from_slice(b"\r\n.\r\n");
        let mut d = DataDecoder::new(HeaderOptions::default(), "<i>".into(), "D".into());
        let mut out = Vec::new();
        let p = d.push(&msg, &mut out);
        assert!(p.done);
        assert_eq!(p.consumed, msg.len());
        assert!(out.ends_with(b"xxx\r\n"));
        assert_eq!(out.iter().filter(|&&b| b == b'x').count(), 20_000);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_899_185),
            "Sat, 28 Nov 2026 20:53:05 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn trace_block_like_cyrus() {
        let t = Trace {
            return_path: Some("a@b.c"),
            servername: "cyrus-peer",
            lhlo: "client.example",
            clienthost: "localhost [127.0.0.1]",
            authuser: None,
            version: Some("3.6.1"),
            tls: false,
            authenticated: true,
            date: "Sat, 28 Nov 2026 20:53:05 +0000",
            session_id: "sid",
        };
        assert_eq!(
            trace_headers(&t),
            "Return-Path: <a@b.c>\r\nReceived: from client.example (localhost [127.0.0.1])\r\n\
             \t by cyrus-peer (Cyrus 3.6.1) with LMTPA;\r\n\t Sat, 28 Nov 2026 20:53:05 +0000\r\n\
             X-Cyrus-Session-Id: sid\r\nX-Sieve: CMU Sieve 3.0\r\n"
        );
        let t2 = Trace {
            return_path: Some("local"),
            ..t
        };
        assert!(trace_headers(&t2).starts_with("Return-Path: <local@cyrus-peer>\r\n"));
    }
}
