//! Line-level readers: a bounded word reader (command words, tags), a bounded rest-of-line
//! reader (status text, simple command arguments) and a literal-aware line skipper (the
//! "discard the rest of a bad line" routine, csync §1.4).
//!
//! Owns: incremental line framing outside value syntax.
//! Must not: interpret words or text, or consume bytes past the end of the current line.

use crate::lex::LexError;

/// A finished word and the terminator byte after it (left unconsumed in the input).
pub type Word = (Vec<u8>, u8);

/// Reads bytes until a terminator byte (not consumed). Resumable; bounded.
#[derive(Debug, Clone, Default)]
pub struct WordReader {
    buf: Vec<u8>,
}

impl WordReader {
    /// Feed input; returns bytes consumed and, when the word is complete, the word and the
    /// terminator byte that follows it (still unconsumed in `input`).
    pub fn feed(
        &mut self,
        input: &[u8],
        max: usize,
        is_term: impl Fn(u8) -> bool,
    ) -> Result<(usize, Option<Word>), LexError> {
        let end = input.iter().position(|&b| is_term(b));
        let take = end.unwrap_or(input.len());
        if self.buf.len() + take > max {
            return Err(LexError::LineTooLong);
        }
        self.buf.extend_from_slice(&input[..take]);
        match end {
            Some(e) => Ok((e, Some((std::mem::take(&mut self.buf), input[e])))),
            None => Ok((input.len(), None)),
        }
    }
}

/// Reads the rest of a line up to and including LF; yields the bytes without CR LF.
#[derive(Debug, Clone, Default)]
pub struct RestOfLine {
    buf: Vec<u8>,
}

impl RestOfLine {
    /// Feed input; returns bytes consumed and the line once its LF has been consumed.
    pub fn feed(&mut self, input: &[u8], max: usize) -> Result<(usize, Option<Vec<u8>>), LexError> {
        let end = input.iter().position(|&b| b == b'\n');
        let take = end.unwrap_or(input.len());
        if self.buf.len() + take > max + 1 {
            return Err(LexError::LineTooLong);
        }
        self.buf.extend_from_slice(&input[..take]);
        match end {
            Some(e) => {
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok((e + 1, Some(line)))
            }
            None => Ok((input.len(), None)),
        }
    }
}

const MAX_HEADER: usize = 1100;

/// Skips to the end of the current line. A line ending in a literal announcement (`{n}`,
/// `{n+}`, or a csync file literal `%{part guid n}`) continues after the `n` literal bytes.
/// Cyrus only knows `{n+}` here (csync §2.2.3 quirk); we accept both forms.
#[derive(Debug, Clone, Default)]
pub struct LineSkipper {
    remaining: u64,
    recording: bool,
    percent_before: bool,
    prev: u8,
    header: Vec<u8>,
}

impl LineSkipper {
    /// Feed input; returns bytes consumed and `true` once the end of the line was consumed.
    pub fn feed(&mut self, input: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            if self.remaining > 0 {
                let n =
                    (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                i += n;
                self.remaining -= n as u64;
                continue;
            }
            let b = input[i];
            i += 1;
            if b == b'\n' {
                let n = self.literal_len();
                self.recording = false;
                self.header.clear();
                self.prev = b;
                match n {
                    Some(n) => self.remaining = n,
                    None => return (i, true),
                }
                continue;
            }
            if b == b'{' {
                self.recording = true;
                self.percent_before = self.prev == b'%';
                self.header.clear();
            } else if self.recording {
                if self.header.len() < MAX_HEADER {
                    self.header.push(b);
                } else {
                    self.recording = false;
                }
            }
            self.prev = b;
        }
        (i, false)
    }

    fn literal_len(&self) -> Option<u64> {
        if !self.recording {
            return None;
        }
        let h = self.header.strip_suffix(b"\r").unwrap_or(&self.header);
        let inner = h.strip_suffix(b"}")?;
        let digits = if self.percent_before {
            let mut parts = inner.split(|&b| b == b' ');
            let (_p, _g, n, none) = (parts.next()?, parts.next()?, parts.next()?, parts.next());
            if none.is_some() {
                return None;
            }
            n
        } else {
            inner.strip_suffix(b"+").unwrap_or(inner)
        };
        if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipper_literals() {
        let input = b"FOO bar {3+}\r\na\nb baz %{default g 2}\r\nxy)\r\nNEXT";
        for split in 0..input.len() {
            let mut s = LineSkipper::default();
            let (a, done) = s.feed(&input[..split]);
            let total = if done {
                a
            } else {
                assert_eq!(a, split);
                let (b, done) = s.feed(&input[split..]);
                assert!(done);
                a + b
            };
            assert_eq!(&input[total..], b"NEXT", "split {split}");
        }
    }

    #[test]
    fn words_and_lines() {
        let mut w = WordReader::default();
        assert_eq!(w.feed(b"AP", 10, |b| b == b' ').unwrap(), (2, None));
        assert_eq!(
            w.feed(b"PLY x", 10, |b| b == b' ').unwrap(),
            (3, Some((b"APPLY".to_vec(), b' ')))
        );
        assert!(w.feed(&[b'a'; 11], 10, |b| b == b' ').is_err());
        let mut r = RestOfLine::default();
        assert_eq!(r.feed(b"ok th", 100).unwrap(), (5, None));
        assert_eq!(
            r.feed(b"ere\r\nX", 100).unwrap(),
            (5, Some(b"ok there".to_vec()))
        );
    }
}
