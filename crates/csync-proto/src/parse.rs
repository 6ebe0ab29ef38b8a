//! Incremental dlist value parser (csync §2.2–§2.6): turns bytes into one keyed top-level
//! value, streaming file-literal bodies to the caller's [`FileSink`] as they pass.
//!
//! Owns: the container stack, literal and file-literal body handling, value size limits.
//! Must not: read past the end of the current line, keep file bodies in memory, recurse on
//! peer-controlled depth (nesting is bounded), or panic on any input.

use std::io;

use types::Guid;
use wire::{Ctx, LexError, Lexer, Token};

use crate::value::{DValue, FileLit, FileRef, Keyed};

/// Receives file-literal bodies as they stream past (csync §2.3.3).
///
/// A sink error aborts parsing (the connection must then be dropped). A sink that wants
/// Cyrus's behaviour (staging write errors only surface at APPLY MAILBOX) should remember
/// the error itself and return `Ok`.
pub trait FileSink {
    fn begin(&mut self, partition: &[u8], guid: &Guid, size: u64) -> io::Result<FileRef>;
    fn write(&mut self, file: FileRef, bytes: &[u8]) -> io::Result<()>;
    fn finish(&mut self, file: FileRef) -> io::Result<()>;
}

/// A sink that drops all bodies (handles count up from 0).
#[derive(Debug, Default, Clone)]
pub struct DiscardSink {
    next: u64,
}

impl FileSink for DiscardSink {
    fn begin(&mut self, _p: &[u8], _g: &Guid, _s: u64) -> io::Result<FileRef> {
        self.next += 1;
        Ok(FileRef(self.next - 1))
    }
    fn write(&mut self, _f: FileRef, _b: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _f: FileRef) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps bodies in memory, indexed by `FileRef.0` (tests, small fetches).
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    pub files: Vec<Vec<u8>>,
}

impl FileSink for MemorySink {
    fn begin(&mut self, _p: &[u8], _g: &Guid, size: u64) -> io::Result<FileRef> {
        self.files.push(Vec::with_capacity(
            usize::try_from(size.min(1 << 20)).unwrap_or(0),
        ));
        Ok(FileRef(self.files.len() as u64 - 1))
    }
    fn write(&mut self, f: FileRef, b: &[u8]) -> io::Result<()> {
        let file = usize::try_from(f.0)
            .ok()
            .and_then(|i| self.files.get_mut(i));
        file.ok_or_else(|| io::Error::other("unknown file"))?
            .extend_from_slice(b);
        Ok(())
    }
    fn finish(&mut self, _f: FileRef) -> io::Result<()> {
        Ok(())
    }
}

/// Limits on what a line may make us hold in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    pub lex: wire::Limits,
    /// Largest non-file literal kept in memory (annotation values, sieve scripts).
    pub max_literal_in_memory: u64,
    /// Deepest nesting of lists/kvlists.
    pub max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            lex: wire::Limits::default(),
            max_literal_in_memory: 64 << 20,
            max_depth: 64,
        }
    }
}

/// Errors in a dlist line.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Lex(#[from] LexError),
    #[error("unexpected {0} in dlist")]
    Unexpected(&'static str),
    #[error("`%` not followed by `(` or `{{`")]
    BadPercent,
    #[error("bad file literal header")]
    BadFileHeader,
    #[error("literal of {0} bytes exceeds the in-memory limit")]
    LiteralTooLarge(u64),
    #[error("nesting too deep")]
    TooDeep,
    #[error("line ended without a value")]
    MissingValue,
    #[error("file sink failed: {0}")]
    Sink(#[from] io::Error),
    #[error("unexpected response line")]
    UnexpectedResponse,
    #[error("parser unusable after an earlier error")]
    Poisoned,
}

impl ParseError {
    /// Fatal errors mean the stream cannot be resynchronised (Cyrus drops the connection).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ParseError::Lex(
                LexError::AtomTooLong
                    | LexError::QuotedTooLong
                    | LexError::LiteralTooBig
                    | LexError::LineTooLong
            ) | ParseError::LiteralTooLarge(_)
                | ParseError::Sink(_)
                | ParseError::Poisoned
        )
    }
}

#[derive(Debug)]
enum Frame {
    Top {
        key: Option<Vec<u8>>,
        value: Option<DValue>,
        spaced: bool,
    },
    List(Vec<DValue>),
    Kv {
        items: Vec<(Vec<u8>, DValue)>,
        key: Option<Vec<u8>>,
    },
    FileHdr(Vec<Vec<u8>>),
}

#[derive(Debug)]
enum Mode {
    Tokens,
    Percent,
    Literal {
        remaining: u64,
        buf: Vec<u8>,
    },
    FileEol {
        cr: bool,
        partition: Vec<u8>,
        guid: Guid,
        size: u64,
    },
    FileBody {
        file: FileLit,
        remaining: u64,
    },
}

/// What a feed produced.
#[derive(Debug)]
pub(crate) enum Event {
    Done(Keyed),
    /// A `{n}` literal was announced (the server may send `+ go ahead`).
    SyncLiteral(u64),
}

/// A failure with the number of bytes consumed and whether the line end was consumed.
#[derive(Debug)]
pub(crate) struct Failure {
    pub consumed: usize,
    pub line_ended: bool,
    pub error: ParseError,
}

/// Parses `key SP value EOL` incrementally.
#[derive(Debug)]
pub(crate) struct ValueParser {
    lex: Lexer,
    limits: ParseLimits,
    stack: Vec<Frame>,
    mode: Mode,
    upper_key: bool,
}

fn atom_value(a: Vec<u8>) -> DValue {
    if a == b"NIL" {
        DValue::Nil
    } else if a.first() == Some(&b'\\') {
        DValue::Flag(a)
    } else {
        DValue::Str(a)
    }
}

impl ValueParser {
    /// `key`: already read (response data lines) or `None` to read it here (commands).
    pub(crate) fn new(limits: ParseLimits, key: Option<Vec<u8>>, upper_key: bool) -> Self {
        let spaced = key.is_some();
        ValueParser {
            lex: Lexer::new(limits.lex),
            limits,
            stack: vec![Frame::Top {
                key,
                value: None,
                spaced,
            }],
            mode: Mode::Tokens,
            upper_key,
        }
    }

    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Option<Event>), Failure> {
        let mut pos = 0;
        loop {
            match self.step(&input[pos..], sink) {
                Ok((n, ev)) => {
                    pos += n;
                    if ev.is_some() || pos >= input.len() {
                        return Ok((pos, ev));
                    }
                }
                Err((n, line_ended, error)) => {
                    return Err(Failure {
                        consumed: pos + n,
                        line_ended,
                        error,
                    });
                }
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn step(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Option<Event>), (usize, bool, ParseError)> {
        match &mut self.mode {
            Mode::Tokens => {}
            Mode::Percent => {
                let Some(&b) = input.first() else {
                    return Ok((0, None));
                };
                self.mode = Mode::Tokens;
                let frame = match b {
                    b'(' => Frame::Kv {
                        items: Vec::new(),
                        key: None,
                    },
                    b'{' => Frame::FileHdr(Vec::new()),
                    _ => return Err((1, b == b'\n', ParseError::BadPercent)),
                };
                self.push(frame).map_err(|e| (1, false, e))?;
                return Ok((1, None));
            }
            Mode::Literal { remaining, buf } => {
                let n = clamp(*remaining, input.len());
                buf.extend_from_slice(&input[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    let v = DValue::Str(std::mem::take(buf));
                    self.mode = Mode::Tokens;
                    self.deliver(v).map_err(|e| (n, false, e))?;
                }
                return Ok((n, None));
            }
            Mode::FileEol {
                cr,
                partition,
                guid,
                size,
            } => {
                let Some(&b) = input.first() else {
                    return Ok((0, None));
                };
                match b {
                    b'\r' if !*cr => {
                        *cr = true;
                        return Ok((1, None));
                    }
                    b'\n' => {}
                    _ => return Err((1, false, ParseError::BadFileHeader)),
                }
                let (partition, guid, size) = (std::mem::take(partition), *guid, *size);
                let body = sink
                    .begin(&partition, &guid, size)
                    .map_err(|e| (1, false, e.into()))?;
                self.mode = Mode::FileBody {
                    file: FileLit {
                        partition,
                        guid,
                        size,
                        body,
                    },
                    remaining: size,
                };
                if size == 0 {
                    self.finish_file(sink).map_err(|e| (1, false, e))?;
                }
                return Ok((1, None));
            }
            Mode::FileBody { file, remaining } => {
                let n = clamp(*remaining, input.len());
                sink.write(file.body, &input[..n])
                    .map_err(|e| (n, false, e.into()))?;
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.finish_file(sink).map_err(|e| (n, false, e))?;
                }
                return Ok((n, None));
            }
        }
        let ctx = match self.stack.last() {
            Some(Frame::List(_) | Frame::Kv { .. }) => Ctx {
                newline_is_space: true,
                brace_ends_atom: false,
            },
            Some(Frame::FileHdr(_)) => Ctx {
                newline_is_space: false,
                brace_ends_atom: true,
            },
            _ => Ctx::default(),
        };
        let step = match self.lex.next(input, ctx) {
            Ok(s) => s,
            Err(e) => {
                let at = self.lex.error_offset();
                let ended = at > 0 && input.get(at - 1) == Some(&b'\n');
                return Err((at, ended, e.into()));
            }
        };
        let n = step.consumed;
        let Some(tok) = step.token else {
            return Ok((n, None));
        };
        let ended = tok == Token::Eol;
        self.token(tok).map(|ev| (n, ev)).map_err(|e| (n, ended, e))
    }

    fn finish_file(&mut self, sink: &mut dyn FileSink) -> Result<(), ParseError> {
        if let Mode::FileBody { file, .. } = std::mem::replace(&mut self.mode, Mode::Tokens) {
            sink.finish(file.body)?;
            self.deliver(DValue::File(file))?;
        }
        Ok(())
    }

    fn push(&mut self, f: Frame) -> Result<(), ParseError> {
        if self.stack.len() > self.limits.max_depth {
            return Err(ParseError::TooDeep);
        }
        if let Some(Frame::Top { key: None, .. } | Frame::FileHdr(_)) = self.stack.last() {
            return Err(ParseError::Unexpected("container"));
        }
        if let Some(Frame::Kv { key: None, .. }) = self.stack.last() {
            return Err(ParseError::Unexpected("container as key"));
        }
        self.stack.push(f);
        Ok(())
    }

    fn token(&mut self, tok: Token) -> Result<Option<Event>, ParseError> {
        let top = self
            .stack
            .last_mut()
            .ok_or(ParseError::Unexpected("token after end"))?;
        match tok {
            Token::Space => match top {
                Frame::Top {
                    key: Some(_),
                    value: None,
                    spaced,
                } => *spaced = true,
                Frame::Top { .. } => return Err(ParseError::Unexpected("whitespace")),
                _ => {}
            },
            Token::Eol => match top {
                Frame::Top {
                    key: Some(_),
                    value: Some(_),
                    ..
                } => {
                    if let Some(Frame::Top {
                        key: Some(mut key),
                        value: Some(value),
                        ..
                    }) = self.stack.pop()
                    {
                        if self.upper_key {
                            key.make_ascii_uppercase();
                        }
                        return Ok(Some(Event::Done(Keyed { key, value })));
                    }
                    return Err(ParseError::Unexpected("end of line"));
                }
                Frame::Top { .. } => return Err(ParseError::MissingValue),
                _ => return Err(ParseError::Unexpected("end of line")),
            },
            Token::Atom(a) => self.deliver(atom_value(a))?,
            Token::Quoted(q) => self.deliver(DValue::Str(q))?,
            Token::Literal { len, sync } => {
                if matches!(top, Frame::FileHdr(_)) {
                    return Err(ParseError::BadFileHeader);
                }
                self.check_value_position()?;
                if len > self.limits.max_literal_in_memory {
                    return Err(ParseError::LiteralTooLarge(len));
                }
                if len == 0 {
                    self.deliver(DValue::Str(Vec::new()))?;
                } else {
                    let cap = usize::try_from(len.min(1 << 16)).unwrap_or(0);
                    self.mode = Mode::Literal {
                        remaining: len,
                        buf: Vec::with_capacity(cap),
                    };
                }
                if sync {
                    return Ok(Some(Event::SyncLiteral(len)));
                }
            }
            Token::Open => {
                self.check_value_position()?;
                self.push(Frame::List(Vec::new()))?;
            }
            Token::Percent => {
                self.check_value_position()?;
                self.mode = Mode::Percent;
            }
            Token::Close => match top {
                Frame::List(_) | Frame::Kv { key: None, .. } => {
                    let v = match self.stack.pop() {
                        Some(Frame::List(l)) => DValue::List(l),
                        Some(Frame::Kv { items, .. }) => DValue::KvList(items),
                        _ => return Err(ParseError::Unexpected("`)`")),
                    };
                    self.deliver(v)?;
                }
                _ => return Err(ParseError::Unexpected("`)`")),
            },
            Token::CloseBrace => {
                let Some(Frame::FileHdr(parts)) = self.stack.pop() else {
                    return Err(ParseError::Unexpected("`}`"));
                };
                let [partition, guid, size] =
                    <[Vec<u8>; 3]>::try_from(parts).map_err(|_| ParseError::BadFileHeader)?;
                let guid = Guid::parse_hex(&guid).map_err(|_| ParseError::BadFileHeader)?;
                let size = crate::value::parse_num64(&size)
                    .filter(|&s| s <= u64::from(u32::MAX))
                    .ok_or(ParseError::BadFileHeader)?;
                self.mode = Mode::FileEol {
                    cr: false,
                    partition,
                    guid,
                    size,
                };
            }
        }
        Ok(None)
    }

    /// A container or literal may only start where a value (not a key) is expected.
    fn check_value_position(&self) -> Result<(), ParseError> {
        match self.stack.last() {
            Some(Frame::Top {
                key: Some(_),
                value: None,
                spaced: true,
            }) => Ok(()),
            Some(Frame::Top { key: None, .. }) => Ok(()), // literal key; containers refused in push
            Some(Frame::List(_) | Frame::Kv { .. } | Frame::FileHdr(_)) => Ok(()),
            _ => Err(ParseError::Unexpected("value")),
        }
    }

    fn deliver(&mut self, v: DValue) -> Result<(), ParseError> {
        match self.stack.last_mut() {
            Some(Frame::Top {
                key: key @ None, ..
            }) => match v {
                DValue::Str(s) | DValue::Flag(s) => *key = Some(s),
                DValue::Nil => *key = Some(b"NIL".to_vec()),
                _ => return Err(ParseError::Unexpected("container as key")),
            },
            Some(Frame::Top {
                value: value @ None,
                spaced: true,
                ..
            }) => *value = Some(v),
            Some(Frame::Top { .. }) => return Err(ParseError::Unexpected("second value")),
            Some(Frame::List(l)) => l.push(v),
            Some(Frame::Kv { items, key }) => match key.take() {
                Some(k) => items.push((k, v)),
                None => match v {
                    DValue::Str(s) | DValue::Flag(s) => *key = Some(s),
                    DValue::Nil => *key = Some(b"NIL".to_vec()),
                    _ => return Err(ParseError::Unexpected("container as key")),
                },
            },
            Some(Frame::FileHdr(parts)) => match v {
                DValue::Str(s) if parts.len() < 3 => parts.push(s),
                _ => return Err(ParseError::BadFileHeader),
            },
            None => return Err(ParseError::Unexpected("value after end")),
        }
        Ok(())
    }
}

fn clamp(remaining: u64, avail: usize) -> usize {
    usize::try_from(remaining).map_or(avail, |r| r.min(avail))
}
