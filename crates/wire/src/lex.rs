//! Incremental tokenizer for IMAP-like value syntax (csync §2.2, §2.6; RFC 3501 §4): atoms,
//! quoted strings, literal announcements, parentheses, `%`, whitespace runs and line ends.
//!
//! Owns: byte classes, size limits, the resumable lexer state.
//! Must not: read literal bodies (the caller does, after [`Token::Literal`]), build values,
//! or panic on any input. Input is absorbed: a `NeedMore` step has consumed everything.

/// Cyrus `maxword`: longest command word / error text line (csync §2.8).
pub const MAX_WORD: usize = 131_072;
/// Cyrus `maxquoted`: longest quoted string (csync §2.8).
pub const MAX_QUOTED: usize = 131_072;
/// Literal lengths must be below 2^31 (csync §2.2.3).
pub const MAX_LITERAL: u64 = (1 << 31) - 1;

/// Size limits for the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest atom kept in memory (Cyrus has no limit; we must bound memory).
    pub max_atom: usize,
    /// Longest quoted string.
    pub max_quoted: usize,
    /// Largest announced literal length accepted.
    pub max_literal: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_atom: MAX_WORD,
            max_quoted: MAX_QUOTED,
            max_literal: MAX_LITERAL,
        }
    }
}

/// Lexing errors. All are protocol errors of the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    #[error("atom too long")]
    AtomTooLong,
    #[error("quoted value too long")]
    QuotedTooLong,
    #[error("line break inside a quoted string")]
    LineBreakInQuoted,
    #[error("bad literal header")]
    BadLiteral,
    #[error("literal too big")]
    LiteralTooBig,
    #[error("CR not followed by LF")]
    BareCr,
    #[error("line too long")]
    LineTooLong,
}

/// Lexing context chosen by the caller's grammar position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ctx {
    /// CR and LF count as whitespace (inside dlist lists, csync §2.6); otherwise they end the
    /// line and produce [`Token::Eol`].
    pub newline_is_space: bool,
    /// `}` ends an atom and is returned as [`Token::CloseBrace`] (file literal headers).
    pub brace_ends_atom: bool,
}

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    /// `{n}` or `{n+}` and its line end have been consumed; `n` raw bytes follow, which the
    /// caller reads itself. `sync` is true for `{n}` (the peer may wait for `+`).
    Literal {
        len: u64,
        sync: bool,
    },
    Open,
    Close,
    Percent,
    CloseBrace,
    /// A run of whitespace (may be reported in several pieces across feeds).
    Space,
    /// CRLF or bare LF.
    Eol,
}

/// Result of one lexing step: `consumed` bytes of the input were used; `token` is `None`
/// when more input is needed (then all input was consumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub consumed: usize,
    pub token: Option<Token>,
}

/// Whitespace between dlist elements (csync §2.6), excluding CR/LF.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0B | 0x0C)
}

/// Bytes that may continue an atom (parser view, csync §2.2.1).
pub fn is_atom_char(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C | b'(' | b')' | b'"'
    )
}

#[derive(Debug, Clone, Default)]
enum State {
    #[default]
    Idle,
    Cr,
    Atom,
    Quoted {
        escape: bool,
    },
    LitDigits {
        len: u64,
        digits: bool,
        plus: bool,
    },
    LitCr {
        len: u64,
        sync: bool,
        cr: bool,
    },
}

/// The resumable tokenizer.
#[derive(Debug, Clone, Default)]
pub struct Lexer {
    limits: Limits,
    state: State,
    buf: Vec<u8>,
    err_at: usize,
}

impl Lexer {
    pub fn new(limits: Limits) -> Self {
        Lexer {
            limits,
            state: State::Idle,
            buf: Vec::new(),
            err_at: 0,
        }
    }

    /// Forget any partial token.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.buf.clear();
    }

    /// True if no partial token is pending.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// After an error from [`Lexer::next`]: how many input bytes were consumed, including the
    /// offending byte. Lets a caller resynchronise by skipping the rest of the line.
    pub fn error_offset(&self) -> usize {
        self.err_at
    }

    /// Lex the next token from `input` in context `ctx`.
    pub fn next(&mut self, input: &[u8], ctx: Ctx) -> Result<Step, LexError> {
        let mut i = 0;
        let r = self.next_inner(input, ctx, &mut i);
        if r.is_err() {
            self.err_at = i.max(1).min(input.len());
            self.reset();
        }
        r
    }

    fn next_inner(&mut self, input: &[u8], ctx: Ctx, pos: &mut usize) -> Result<Step, LexError> {
        let i = pos;
        while *i < input.len() {
            let b = input[*i];
            match &mut self.state {
                State::Idle => {
                    *i += 1;
                    let tok = match b {
                        b'\r' | b'\n' if ctx.newline_is_space => Some(Token::Space),
                        b'\r' => {
                            self.state = State::Cr;
                            None
                        }
                        b'\n' => Some(Token::Eol),
                        b if is_space(b) => Some(Token::Space),
                        b'(' => Some(Token::Open),
                        b')' => Some(Token::Close),
                        b'%' => Some(Token::Percent),
                        b'}' if ctx.brace_ends_atom => Some(Token::CloseBrace),
                        b'"' => {
                            self.buf.clear();
                            self.state = State::Quoted { escape: false };
                            None
                        }
                        b'{' => {
                            self.state = State::LitDigits {
                                len: 0,
                                digits: false,
                                plus: false,
                            };
                            None
                        }
                        _ => {
                            self.buf.clear();
                            self.buf.push(b);
                            self.state = State::Atom;
                            None
                        }
                    };
                    if let Some(t) = tok {
                        if t == Token::Space {
                            // Swallow the whole run now.
                            while *i < input.len()
                                && (is_space(input[*i])
                                    || (ctx.newline_is_space && matches!(input[*i], b'\r' | b'\n')))
                            {
                                *i += 1;
                            }
                        }
                        return Ok(Step {
                            consumed: *i,
                            token: Some(t),
                        });
                    }
                }
                State::Cr => {
                    *i += 1;
                    if b == b'\n' {
                        self.state = State::Idle;
                        return Ok(Step {
                            consumed: *i,
                            token: Some(Token::Eol),
                        });
                    }
                    return Err(LexError::BareCr);
                }
                State::Atom => {
                    let rest = &input[*i..];
                    let end = rest
                        .iter()
                        .position(|&c| !is_atom_char(c) || (ctx.brace_ends_atom && c == b'}'))
                        .unwrap_or(rest.len());
                    if self.buf.len() + end > self.limits.max_atom {
                        return Err(LexError::AtomTooLong);
                    }
                    self.buf.extend_from_slice(&rest[..end]);
                    *i += end;
                    if *i < input.len() {
                        self.state = State::Idle;
                        return Ok(Step {
                            consumed: *i,
                            token: Some(Token::Atom(std::mem::take(&mut self.buf))),
                        });
                    }
                }
                State::Quoted { escape } => {
                    *i += 1;
                    if *escape {
                        *escape = false;
                        if b == b'\r' || b == b'\n' {
                            return Err(LexError::LineBreakInQuoted);
                        }
                        self.buf.push(b);
                    } else {
                        match b {
                            b'\\' => *escape = true,
                            b'"' => {
                                self.state = State::Idle;
                                return Ok(Step {
                                    consumed: *i,
                                    token: Some(Token::Quoted(std::mem::take(&mut self.buf))),
                                });
                            }
                            b'\r' | b'\n' => return Err(LexError::LineBreakInQuoted),
                            _ => self.buf.push(b),
                        }
                    }
                    if self.buf.len() > self.limits.max_quoted {
                        return Err(LexError::QuotedTooLong);
                    }
                }
                State::LitDigits { len, digits, plus } => {
                    *i += 1;
                    match b {
                        b'0'..=b'9' if !*plus => {
                            *len = len.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                            *digits = true;
                            if *len > self.limits.max_literal {
                                return Err(LexError::LiteralTooBig);
                            }
                        }
                        b'+' if *digits && !*plus => *plus = true,
                        b'}' if *digits => {
                            self.state = State::LitCr {
                                len: *len,
                                sync: !*plus,
                                cr: false,
                            };
                        }
                        _ => return Err(LexError::BadLiteral),
                    }
                }
                State::LitCr { len, sync, cr } => {
                    *i += 1;
                    match b {
                        b'\r' if !*cr => *cr = true,
                        b'\n' => {
                            let tok = Token::Literal {
                                len: *len,
                                sync: *sync,
                            };
                            self.state = State::Idle;
                            return Ok(Step {
                                consumed: *i,
                                token: Some(tok),
                            });
                        }
                        _ => return Err(LexError::BadLiteral),
                    }
                }
            }
        }
        Ok(Step {
            consumed: input.len(),
            token: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], ctx: Ctx) -> Result<Vec<Token>, LexError> {
        let mut lx = Lexer::default();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            let s = lx.next(&input[pos..], ctx)?;
            pos += s.consumed;
            match s.token {
                Some(t) => out.push(t),
                None => break,
            }
        }
        Ok(out)
    }

    #[test]
    fn tokens() {
        let t = all(b"a \"b\\\"c\" {3+}\r\nxyz(%)\r\n", Ctx::default()).unwrap();
        assert_eq!(
            t,
            vec![
                Token::Atom(b"a".to_vec()),
                Token::Space,
                Token::Quoted(b"b\"c".to_vec()),
                Token::Space,
                Token::Literal {
                    len: 3,
                    sync: false
                },
                Token::Atom(b"xyz".to_vec()),
                Token::Open,
                Token::Percent,
                Token::Close,
                Token::Eol,
            ]
        );
        let t = all(b"{0}\nx\n", Ctx::default()).unwrap();
        assert_eq!(t[0], Token::Literal { len: 0, sync: true });
        assert_eq!(t[2], Token::Eol);
    }

    #[test]
    fn errors_and_limits() {
        assert_eq!(
            all(b"\"a\r\"", Ctx::default()),
            Err(LexError::LineBreakInQuoted)
        );
        assert_eq!(
            all(b"{2147483648}\r\n", Ctx::default()),
            Err(LexError::LiteralTooBig)
        );
        assert!(all(b"{2147483647}\r\n", Ctx::default()).is_ok());
        assert_eq!(all(b"{+}\r\n", Ctx::default()), Err(LexError::BadLiteral));
        assert_eq!(all(b"a\rb", Ctx::default()), Err(LexError::BareCr));
        let long = vec![b'"'; 1]
            .into_iter()
            .chain(vec![b'a'; MAX_QUOTED + 1])
            .collect::<Vec<_>>();
        assert_eq!(all(&long, Ctx::default()), Err(LexError::QuotedTooLong));
    }

    #[test]
    fn newline_as_space_and_braces() {
        let ctx = Ctx {
            newline_is_space: true,
            brace_ends_atom: true,
        };
        let t = all(b"a\r\n\tb}", ctx).unwrap();
        assert_eq!(
            t,
            vec![
                Token::Atom(b"a".to_vec()),
                Token::Space,
                Token::Atom(b"b".to_vec()),
                Token::CloseBrace
            ]
        );
    }
}
