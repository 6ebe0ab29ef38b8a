//! Command framing (RFC 3501 §2.2, §4.3; RFC 7888 LITERAL+): finds where a command ends in a
//! byte buffer, across any number of `{n}` / `{n+}` literals, and says when the server must
//! send a `+` continuation. Enforces line and literal size limits before buffering.
//!
//! Owns: the incremental scan state. Must not: parse command grammar or do I/O.

/// Size limits applied while framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest line (between literals), in bytes, CRLF excluded.
    pub max_line: usize,
    /// Largest single literal.
    pub max_literal: u64,
    /// Largest whole command (lines and literals).
    pub max_command: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_line: 131_072 + 1024,
            max_literal: 100 * 1024 * 1024,
            max_command: 101 * 1024 * 1024,
        }
    }
}

/// What the buffer holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Read more bytes and call again.
    Incomplete,
    /// A synchronising literal was announced: send `+ go ahead`, read more, call again.
    NeedContinuation,
    /// The command is `buf[..len]`.
    Complete(usize),
    /// A line grew past the limit without ending: the connection cannot resynchronise.
    LineTooLong,
    /// A literal announcement exceeds the limit. `consumed` bytes (through the announcing
    /// line) belong to the refused command; `sync` tells whether the client waits for `+`
    /// (then the session may answer NO and go on after discarding `consumed` bytes; with a
    /// non-synchronising literal the data follows regardless, so the session must close).
    LiteralTooLarge {
        sync: bool,
        consumed: usize,
        tag_end: usize,
    },
}

/// Incremental framer; feed it the same growing buffer (starting at the command) each time.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    limits: FrameLimits,
    pos: usize,
    literal_end: Option<usize>,
}

/// If `line` ends with `{n}` or `{n+}`, the length and whether it is synchronising.
pub fn literal_announcement(line: &[u8]) -> Option<(u64, bool)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let inner = &body[open + 1..];
    let (digits, sync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (inner, true),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
    Some((n, sync))
}

impl Framer {
    pub fn new(limits: FrameLimits) -> Self {
        Framer {
            limits,
            pos: 0,
            literal_end: None,
        }
    }

    /// Forget the current command (after it was taken out of the buffer).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.literal_end = None;
    }

    /// Change the limits (e.g. after login).
    pub fn set_limits(&mut self, limits: FrameLimits) {
        self.limits = limits;
    }

    /// Scan `buf` (the bytes of the current command received so far).
    pub fn feed(&mut self, buf: &[u8]) -> Frame {
        loop {
            if let Some(end) = self.literal_end {
                if buf.len() < end {
                    return Frame::Incomplete;
                }
                self.pos = end;
                self.literal_end = None;
            }
            let rest = &buf[self.pos.min(buf.len())..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.limits.max_line {
                    return Frame::LineTooLong;
                }
                return Frame::Incomplete;
            };
            if nl > self.limits.max_line + 1 {
                return Frame::LineTooLong;
            }
            let mut line = &rest[..nl];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            let line_end = self.pos + nl + 1;
            match literal_announcement(line) {
                Some((n, sync)) => {
                    let total = (line_end as u64).saturating_add(n);
                    if n > self.limits.max_literal || total > self.limits.max_command {
                        let tag_end = buf.iter().position(|&b| b == b' ').unwrap_or(0);
                        self.reset();
                        return Frame::LiteralTooLarge {
                            sync,
                            consumed: line_end,
                            tag_end,
                        };
                    }
                    // total <= max_command, which fits in memory by configuration.
                    self.literal_end = Some(usize::try_from(total).unwrap_or(usize::MAX));
                    self.pos = line_end;
                    if sync {
                        return Frame::NeedContinuation;
                    }
                }
                None => {
                    self.reset();
                    return Frame::Complete(line_end);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_literals() {
        let mut f = Framer::default();
        let mut buf = b"a LOGIN {5}\r\n".to_vec();
        assert_eq!(f.feed(&buf), Frame::NeedContinuation);
        assert_eq!(f.feed(&buf), Frame::Incomplete);
        buf.extend_from_slice(b"alice {3+}\r\nabc");
        assert_eq!(f.feed(&buf), Frame::Incomplete);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(f.feed(&buf), Frame::Complete(buf.len()));
        let mut f = Framer::default();
        assert_eq!(f.feed(b"a NOOP\r\nb"), Frame::Complete(8));
        assert_eq!(f.feed(b"a NOOP"), Frame::Incomplete);
    }

    #[test]
    fn limits() {
        let lim = FrameLimits {
            max_line: 10,
            max_literal: 5,
            max_command: 100,
        };
        let mut f = Framer::new(lim);
        assert_eq!(f.feed(b"a 12345678901234"), Frame::LineTooLong);
        let mut f = Framer::new(lim);
        assert_eq!(
            f.feed(b"a X {6}\r\n"),
            Frame::LiteralTooLarge {
                sync: true,
                consumed: 9,
                tag_end: 1
            }
        );
        assert_eq!(literal_announcement(b"x {12+}"), Some((12, false)));
        assert_eq!(literal_announcement(b"x {}"), None);
        assert_eq!(literal_announcement(b"x {a}"), None);
    }
}
