//! Whole-line framing for both directions (csync §1.2, §1.4, §1.9, §1.12, §2.4): incremental
//! command parsing for servers, response parsing for clients, and writing both back.
//!
//! Owns: command words and tags, GET/APPLY/RESTORE lines, simple commands, unknown-command
//! and bad-line skipping, `*` data lines, status lines, `+` continuations, banner lines.
//! Must not: consume bytes after the end of the current line, send anything, or interpret
//! dlist values beyond the top-level key.

use std::io::{self, Write};

use wire::{LineSkipper, MAX_WORD, RestOfLine, WordReader, is_atom_char};

use crate::parse::{Event, FileSink, ParseError, ParseLimits, ValueParser};
use crate::ser::{FileSource, Role, Serializer};
use crate::status::{StatusKind, StatusLine, ValueVerb};
use crate::value::Keyed;

/// Framing flavour: plain csync, or csync carried in IMAP (tagged `SYNC…` commands, §1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Csync,
    Imap,
}

/// Result of a feed.
#[derive(Debug)]
pub enum Parsed<T> {
    Complete(T),
    /// Everything given was absorbed; feed more.
    NeedMore,
    /// A synchronising `{n}` literal was announced. A server SHOULD send `+ go ahead` CRLF
    /// (csync §2.2.3); then keep feeding.
    Continuation {
        literal_len: u64,
    },
}

/// Commands without a dlist argument (csync §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimpleVerb {
    Authenticate,
    Starttls,
    Compress,
    Noop,
    Exit,
    Restart,
}

impl SimpleVerb {
    /// Capitalised-first-letter name used in `BAD … to <Cmd>` replies.
    pub fn display(self) -> &'static str {
        match self {
            SimpleVerb::Authenticate => "Authenticate",
            SimpleVerb::Starttls => "Starttls",
            SimpleVerb::Compress => "Compress",
            SimpleVerb::Noop => "Noop",
            SimpleVerb::Exit => "Exit",
            SimpleVerb::Restart => "Restart",
        }
    }
}

/// A client command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Get(Keyed),
    Apply(Keyed),
    Restore(Keyed),
    Authenticate {
        mechanism: Vec<u8>,
        initial_response: Option<Vec<u8>>,
    },
    Starttls,
    Compress {
        algorithm: Vec<u8>,
    },
    Noop,
    Exit,
    Restart,
    /// Empty line → `BAD Null command`.
    Empty,
    /// Unknown command word; the rest of the line (incl. literals) was skipped.
    Unknown {
        word: Vec<u8>,
    },
    /// NOOP/EXIT/RESTART/STARTTLS with arguments, or AUTHENTICATE/COMPRESS without.
    BadArguments {
        verb: SimpleVerb,
        missing: bool,
    },
    /// GET/APPLY/RESTORE whose value did not parse; the rest of the line was skipped.
    /// Reply `BAD IMAP_PROTOCOL_ERROR Failed to parse <VERB> line`.
    Invalid {
        verb: ValueVerb,
        reason: String,
    },
}

/// A command with its IMAP-flavour tag, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub tag: Option<Vec<u8>>,
    pub command: Command,
}

impl Command {
    /// Write as a client would (`{n+}` literals). `tag` selects the IMAP flavour.
    pub fn write_to(
        &self,
        w: &mut dyn Write,
        tag: Option<&[u8]>,
        files: &mut dyn FileSource,
    ) -> io::Result<()> {
        if let Some(t) = tag {
            w.write_all(t)?;
            w.write_all(b" ")?;
        }
        let imap = tag.is_some();
        let ser = Serializer::new(Role::Client);
        let (word, kv) = match self {
            Command::Get(k) => (if imap { "SYNCGET" } else { "GET" }, k),
            Command::Apply(k) => (if imap { "SYNCAPPLY" } else { "APPLY" }, k),
            Command::Restore(k) => (if imap { "SYNCRESTORE" } else { "RESTORE" }, k),
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                w.write_all(b"AUTHENTICATE ")?;
                w.write_all(mechanism)?;
                if let Some(ir) = initial_response {
                    w.write_all(b" ")?;
                    w.write_all(ir)?;
                }
                return w.write_all(b"\r\n");
            }
            Command::Compress { algorithm } => {
                w.write_all(b"COMPRESS ")?;
                w.write_all(algorithm)?;
                return w.write_all(b"\r\n");
            }
            Command::Restart if imap => return w.write_all(b"SYNCRESTART\r\n"),
            Command::Starttls => return w.write_all(b"STARTTLS\r\n"),
            Command::Noop => return w.write_all(b"NOOP\r\n"),
            Command::Exit => return w.write_all(b"EXIT\r\n"),
            Command::Restart => return w.write_all(b"RESTART\r\n"),
            Command::Empty => return w.write_all(b"\r\n"),
            Command::Unknown { word } => {
                w.write_all(word)?;
                return w.write_all(b"\r\n");
            }
            Command::BadArguments { .. } | Command::Invalid { .. } => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot write an invalid command",
                ));
            }
        };
        w.write_all(word.as_bytes())?;
        w.write_all(b" ")?;
        ser.keyed(w, kv, files)?;
        w.write_all(b"\r\n")
    }
}

#[derive(Debug)]
enum RestKind {
    Empty,
    MissingValue(ValueVerb),
    Simple(SimpleVerb),
}

#[derive(Debug)]
enum CmdState {
    Tag(WordReader),
    Word {
        tag: Option<Vec<u8>>,
        reader: WordReader,
    },
    Value {
        tag: Option<Vec<u8>>,
        verb: ValueVerb,
        vp: Box<ValueParser>,
    },
    Rest {
        tag: Option<Vec<u8>>,
        kind: RestKind,
        reader: RestOfLine,
    },
    Skip {
        tag: Option<Vec<u8>>,
        command: Command,
        skipper: LineSkipper,
    },
    Poisoned,
}

fn is_word_end(b: u8) -> bool {
    matches!(b, b' ' | b'\r' | b'\n' | b'(' | b')' | b'"')
}

fn is_eol(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Incremental parser for client commands (server side).
#[derive(Debug)]
pub struct CommandParser {
    flavour: Flavour,
    limits: ParseLimits,
    state: CmdState,
}

impl CommandParser {
    pub fn new(flavour: Flavour, limits: ParseLimits) -> Self {
        CommandParser {
            flavour,
            limits,
            state: Self::start(flavour),
        }
    }

    fn start(flavour: Flavour) -> CmdState {
        match flavour {
            Flavour::Csync => CmdState::Word {
                tag: None,
                reader: WordReader::default(),
            },
            Flavour::Imap => CmdState::Tag(WordReader::default()),
        }
    }

    /// Feed bytes. Returns how many were consumed and the result. After `Complete`, bytes
    /// past the line are left unconsumed and the parser is ready for the next line.
    /// Errors are fatal (size limits, sink failures): drop the connection.
    pub fn feed(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Parsed<CommandLine>), ParseError> {
        let mut pos = 0;
        loop {
            let (n, out) = self.step(&input[pos..], sink).inspect_err(|_| {
                self.state = CmdState::Poisoned;
            })?;
            pos += n;
            match out {
                Some(Parsed::Complete(c)) => {
                    self.state = Self::start(self.flavour);
                    return Ok((pos, Parsed::Complete(c)));
                }
                Some(other) => return Ok((pos, other)),
                None if pos >= input.len() => return Ok((pos, Parsed::NeedMore)),
                None => {}
            }
        }
    }

    fn step(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Option<Parsed<CommandLine>>), ParseError> {
        let done = |tag, command| Some(Parsed::Complete(CommandLine { tag, command }));
        match &mut self.state {
            CmdState::Poisoned => Err(ParseError::Poisoned),
            CmdState::Tag(r) => {
                let (n, word) = r.feed(input, MAX_WORD, |b| b == b' ' || is_eol(b))?;
                let Some((tag, t)) = word else {
                    return Ok((n, None));
                };
                if t == b' ' {
                    self.state = CmdState::Word {
                        tag: Some(tag),
                        reader: WordReader::default(),
                    };
                    Ok((n + 1, None))
                } else {
                    let tag = (!tag.is_empty()).then_some(tag);
                    self.state = CmdState::Rest {
                        tag,
                        kind: RestKind::Empty,
                        reader: RestOfLine::default(),
                    };
                    Ok((n, None))
                }
            }
            CmdState::Word { tag, reader } => {
                let (n, word) = reader.feed(input, MAX_WORD, is_word_end)?;
                let Some((word, t)) = word else {
                    return Ok((n, None));
                };
                let tag = tag.take();
                let upper = word.to_ascii_uppercase();
                let imap = self.flavour == Flavour::Imap;
                let value_verb = match (imap, upper.as_slice()) {
                    (false, b"GET") | (true, b"SYNCGET") => Some(ValueVerb::Get),
                    (false, b"APPLY") | (true, b"SYNCAPPLY") => Some(ValueVerb::Apply),
                    (false, b"RESTORE") | (true, b"SYNCRESTORE") => Some(ValueVerb::Restore),
                    _ => None,
                };
                let simple = match (imap, upper.as_slice()) {
                    (_, b"AUTHENTICATE") => Some(SimpleVerb::Authenticate),
                    (false, b"STARTTLS") => Some(SimpleVerb::Starttls),
                    (false, b"COMPRESS") => Some(SimpleVerb::Compress),
                    (false, b"NOOP") => Some(SimpleVerb::Noop),
                    (false, b"EXIT") => Some(SimpleVerb::Exit),
                    (false, b"RESTART") | (true, b"SYNCRESTART") => Some(SimpleVerb::Restart),
                    _ => None,
                };
                let rest = |tag, kind| CmdState::Rest {
                    tag,
                    kind,
                    reader: RestOfLine::default(),
                };
                let skip = |tag, command| CmdState::Skip {
                    tag,
                    command,
                    skipper: LineSkipper::default(),
                };
                let (state, used) = if word.is_empty() && is_eol(t) {
                    (rest(tag, RestKind::Empty), n)
                } else if let Some(verb) = value_verb {
                    match t {
                        b' ' => {
                            let vp = ValueParser::new(self.limits, None, true);
                            (
                                CmdState::Value {
                                    tag,
                                    verb,
                                    vp: Box::new(vp),
                                },
                                n + 1,
                            )
                        }
                        b'\r' | b'\n' => (rest(tag, RestKind::MissingValue(verb)), n),
                        _ => {
                            let reason = "no space after command word".to_owned();
                            (skip(tag, Command::Invalid { verb, reason }), n)
                        }
                    }
                } else if let Some(verb) = simple {
                    (
                        rest(tag, RestKind::Simple(verb)),
                        if t == b' ' { n + 1 } else { n },
                    )
                } else {
                    (skip(tag, Command::Unknown { word }), n)
                };
                self.state = state;
                Ok((used, None))
            }
            CmdState::Value { tag, verb, vp } => match vp.feed(input, sink) {
                Ok((n, None)) => Ok((n, None)),
                Ok((n, Some(Event::SyncLiteral(len)))) => {
                    Ok((n, Some(Parsed::Continuation { literal_len: len })))
                }
                Ok((n, Some(Event::Done(k)))) => {
                    let cmd = match verb {
                        ValueVerb::Get => Command::Get(k),
                        ValueVerb::Apply => Command::Apply(k),
                        ValueVerb::Restore => Command::Restore(k),
                    };
                    Ok((n, done(tag.take(), cmd)))
                }
                Err(f) if f.error.is_fatal() => Err(f.error),
                Err(f) => {
                    let cmd = Command::Invalid {
                        verb: *verb,
                        reason: f.error.to_string(),
                    };
                    if f.line_ended {
                        Ok((f.consumed, done(tag.take(), cmd)))
                    } else {
                        let tag = tag.take();
                        self.state = CmdState::Skip {
                            tag,
                            command: cmd,
                            skipper: LineSkipper::default(),
                        };
                        Ok((f.consumed, None))
                    }
                }
            },
            CmdState::Rest { tag, kind, reader } => {
                let (n, line) = reader.feed(input, MAX_WORD)?;
                let Some(line) = line else {
                    return Ok((n, None));
                };
                let cmd = match kind {
                    RestKind::Empty => Command::Empty,
                    RestKind::MissingValue(verb) => Command::Invalid {
                        verb: *verb,
                        reason: ParseError::MissingValue.to_string(),
                    },
                    RestKind::Simple(verb) => simple_command(*verb, &line),
                };
                Ok((n, done(tag.take(), cmd)))
            }
            CmdState::Skip {
                tag,
                command,
                skipper,
            } => {
                let (n, ended) = skipper.feed(input);
                if ended {
                    Ok((
                        n,
                        done(tag.take(), std::mem::replace(command, Command::Empty)),
                    ))
                } else {
                    Ok((n, None))
                }
            }
        }
    }
}

fn simple_command(verb: SimpleVerb, line: &[u8]) -> Command {
    let mut args = line.split(|&b| b == b' ').filter(|a| !a.is_empty());
    let first = args.next().map(<[u8]>::to_vec);
    let bad = |missing| Command::BadArguments { verb, missing };
    match verb {
        SimpleVerb::Authenticate => match first {
            Some(mechanism) => Command::Authenticate {
                mechanism,
                initial_response: args.next().map(<[u8]>::to_vec),
            },
            None => bad(true),
        },
        SimpleVerb::Compress => match first {
            Some(algorithm) => Command::Compress { algorithm },
            None => bad(true),
        },
        _ if first.is_some() => bad(false),
        SimpleVerb::Starttls => Command::Starttls,
        SimpleVerb::Noop => Command::Noop,
        SimpleVerb::Exit => Command::Exit,
        SimpleVerb::Restart => Command::Restart,
    }
}

/// A server response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `* KEY value`.
    Data(Keyed),
    /// `OK/NO/BAD/BYE text`, tagged in the IMAP flavour.
    Status(StatusLine),
    /// `* OK/NO/BAD/BYE/PREAUTH text` (banner end, IMAP greeting, `* BYE LOGOUT received`).
    Untagged(StatusLine),
    /// `+ text` (SASL challenge or `+ go ahead`).
    Continuation(Vec<u8>),
    /// A banner capability line `* NAME params…` (banner mode only, §1.3).
    Capability { name: Vec<u8>, params: Vec<Vec<u8>> },
    /// `* Fatal <text>` (Cyrus writes `* Fatal error: …` before closing).
    Fatal(Vec<u8>),
}

impl Response {
    /// Write the line. `role` is normally [`Role::Server`] (`{n}` literals).
    pub fn write_to(
        &self,
        w: &mut dyn Write,
        role: Role,
        files: &mut dyn FileSource,
    ) -> io::Result<()> {
        match self {
            Response::Data(k) => Serializer::new(role).line(w, b"* ", k, files),
            Response::Status(s) => s.write_to(w),
            Response::Untagged(s) => {
                w.write_all(b"* ")?;
                StatusLine {
                    tag: None,
                    ..s.clone()
                }
                .write_to(w)
            }
            Response::Continuation(t) => {
                w.write_all(b"+ ")?;
                w.write_all(t)?;
                w.write_all(b"\r\n")
            }
            Response::Capability { name, params } => {
                w.write_all(b"* ")?;
                w.write_all(name)?;
                for p in params {
                    w.write_all(b" ")?;
                    w.write_all(p)?;
                }
                w.write_all(b"\r\n")
            }
            Response::Fatal(t) => {
                w.write_all(b"* Fatal ")?;
                w.write_all(t)?;
                w.write_all(b"\r\n")
            }
        }
    }
}

#[derive(Debug)]
enum RestResp {
    Status(Option<Vec<u8>>, StatusKind),
    Untagged(StatusKind),
    Continuation,
    Capability(Vec<u8>),
    Fatal,
}

#[derive(Debug)]
enum RespState {
    First(WordReader),
    Star(WordReader),
    TagStatus(Vec<u8>, WordReader),
    Value(Box<ValueParser>),
    Rest(RestResp, RestOfLine),
    Poisoned,
}

/// Incremental parser for server responses (client side).
#[derive(Debug)]
pub struct ResponseParser {
    flavour: Flavour,
    limits: ParseLimits,
    banner: bool,
    state: RespState,
}

impl ResponseParser {
    pub fn new(flavour: Flavour, limits: ParseLimits) -> Self {
        ResponseParser {
            flavour,
            limits,
            banner: false,
            state: RespState::First(WordReader::default()),
        }
    }

    /// In banner mode (§1.3) `* NAME params` lines are capabilities, not dlist data.
    pub fn set_banner_mode(&mut self, on: bool) {
        self.banner = on;
    }

    /// Feed bytes; see [`CommandParser::feed`]. Any error poisons the parser.
    pub fn feed(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Parsed<Response>), ParseError> {
        let mut pos = 0;
        loop {
            let (n, out) = self.step(&input[pos..], sink).inspect_err(|_| {
                self.state = RespState::Poisoned;
            })?;
            pos += n;
            match out {
                Some(r) => {
                    self.state = RespState::First(WordReader::default());
                    return Ok((pos, Parsed::Complete(r)));
                }
                None if pos >= input.len() => return Ok((pos, Parsed::NeedMore)),
                None => {}
            }
        }
    }

    fn step(
        &mut self,
        input: &[u8],
        sink: &mut dyn FileSink,
    ) -> Result<(usize, Option<Response>), ParseError> {
        let rest = |k| RespState::Rest(k, RestOfLine::default());
        let sep = |t: u8, n: usize| if t == b' ' { n + 1 } else { n };
        match &mut self.state {
            RespState::Poisoned => Err(ParseError::Poisoned),
            RespState::First(r) => {
                let (n, w) = r.feed(input, MAX_WORD, |b| b == b' ' || is_eol(b))?;
                let Some((w, t)) = w else {
                    return Ok((n, None));
                };
                let (state, used) = if w == b"*" && t == b' ' {
                    (RespState::Star(WordReader::default()), n + 1)
                } else if w == b"+" {
                    (rest(RestResp::Continuation), sep(t, n))
                } else if let (Flavour::Csync, Some(k)) = (self.flavour, StatusKind::from_word(&w))
                {
                    (rest(RestResp::Status(None, k)), sep(t, n))
                } else if self.flavour == Flavour::Imap && t == b' ' && !w.is_empty() {
                    (RespState::TagStatus(w, WordReader::default()), n + 1)
                } else {
                    return Err(ParseError::UnexpectedResponse);
                };
                self.state = state;
                Ok((used, None))
            }
            RespState::TagStatus(tag, r) => {
                let (n, w) = r.feed(input, MAX_WORD, |b| b == b' ' || is_eol(b))?;
                let Some((w, t)) = w else {
                    return Ok((n, None));
                };
                let k = StatusKind::from_word(&w).ok_or(ParseError::UnexpectedResponse)?;
                self.state = rest(RestResp::Status(Some(std::mem::take(tag)), k));
                Ok((sep(t, n), None))
            }
            RespState::Star(r) => {
                let (n, w) = r.feed(input, MAX_WORD, |b| !is_atom_char(b))?;
                let Some((w, t)) = w else {
                    return Ok((n, None));
                };
                let (state, used) = if let Some(k) = StatusKind::from_word(&w) {
                    (rest(RestResp::Untagged(k)), sep(t, n))
                } else if w.eq_ignore_ascii_case(b"Fatal") {
                    (rest(RestResp::Fatal), sep(t, n))
                } else if self.banner {
                    (rest(RestResp::Capability(w)), sep(t, n))
                } else if t == b' ' && wire::is_atom_safe(&w) {
                    // Response keys are atoms (csync §2.4); refusing others keeps every parsed
                    // line re-serialisable to itself.
                    let vp = ValueParser::new(self.limits, Some(w.to_ascii_uppercase()), false);
                    (RespState::Value(Box::new(vp)), n + 1)
                } else {
                    return Err(ParseError::MissingValue);
                };
                self.state = state;
                Ok((used, None))
            }
            RespState::Value(vp) => match vp.feed(input, sink) {
                Ok((n, Some(Event::Done(k)))) => Ok((n, Some(Response::Data(k)))),
                Ok((n, _)) => Ok((n, None)),
                Err(f) => Err(f.error),
            },
            RespState::Rest(kind, r) => {
                let (n, line) = r.feed(input, MAX_WORD)?;
                let Some(line) = line else {
                    return Ok((n, None));
                };
                let resp = match kind {
                    RestResp::Status(tag, k) => {
                        Response::Status(StatusLine::new(tag.take(), *k, line))
                    }
                    RestResp::Untagged(k) => Response::Untagged(StatusLine::new(None, *k, line)),
                    RestResp::Continuation => Response::Continuation(line),
                    RestResp::Fatal => Response::Fatal(line),
                    RestResp::Capability(name) => Response::Capability {
                        name: std::mem::take(name),
                        params: line
                            .split(|&b| b == b' ')
                            .filter(|p| !p.is_empty())
                            .map(<[u8]>::to_vec)
                            .collect(),
                    },
                };
                Ok((n, Some(resp)))
            }
        }
    }
}
