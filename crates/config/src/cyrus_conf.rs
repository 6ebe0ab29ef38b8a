//! cyrus.conf reader (spec §8.1, §8.2, §8.7; master/masterconf.c and the `add_*` functions
//! of master/master.c, Cyrus 3.6.1) producing typed START, SERVICES, EVENTS and DAEMON
//! entries.
//!
//! Owns syntax, per-section keys, defaults and the name checks master does while reading.
//! Must not look for executables, bind sockets or schedule anything (master does that).
//!
//! Behaviour of 3.6.1 kept on purpose, where it differs from the prose spec:
//! * A section opens at a line whose first character equals the section name's (upper case)
//!   and whose rest matches case-insensitively, when the braces on that line bring the nesting
//!   level from 0 to 1. Braces on every other line are counted too, and the closing `}` of a
//!   processed section is not, so after the first occurrence of a section the level never
//!   returns to 0: a second occurrence of the same section is ignored.
//! * The "entry line containing `}` ends the section" check of masterconf.c only ever sees the
//!   name's tail and first key (the argument parser has cut the buffer), so an entry line never
//!   ends a section; `name cmd="x" }` is a "bad character '}' in argument" error.
//! * Integer and switch values are read like masterconf.c: integers must start with a digit or
//!   `-digit`, switches are case-sensitive; anything else means "use the default".

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::imapd_conf::is_c_space;
use crate::listen::{Listen, ListenError};
use crate::value::atoi;

/// Most `key=value` pairs master accepts on one line.
const MAX_ARGS: usize = 64;
/// master reads lines with `fgets` into 4 KiB buffers; longer lines come in pieces.
const LINE_BUF: usize = 4096;

/// A fatal problem in cyrus.conf. Messages follow master's wording.
#[derive(Debug, thiserror::Error)]
pub enum CyrusConfError {
    /// The file could not be read.
    #[error("can't open configuration file {}: {source}", path.display())]
    Open {
        /// File.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A character other than a letter or digit ends the entry name.
    #[error("configuration file {}: bad character '{}' in name on line {line}", path.display(),
            c.escape_default())]
    BadName {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
        /// Offending character.
        c: char,
    },
    /// A key not made of letters/digits followed by `=` (`'\0'` = end of line).
    #[error("configuration file {}: bad character '{}' in argument on line {line}",
            path.display(), c.escape_default())]
    BadArgument {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
        /// Offending character.
        c: char,
    },
    /// A quoted value without closing quote (also what `cmd="foo #1"` becomes).
    #[error("configuration file {}: missing \" on line {line}", path.display())]
    MissingQuote {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// More than 64 `key=value` pairs.
    #[error("configuration file {}: too many arguments on line {line}", path.display())]
    TooManyArguments {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// START entry without `cmd`.
    #[error("unable to find command for {name} (line {line} of {})", path.display())]
    MissingCommand {
        /// Entry name.
        name: String,
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// SERVICES entry without `cmd` or `listen`, DAEMON or EVENTS entry without `cmd`.
    #[error("unable to find command or port for {what} '{name}' (line {line} of {})",
            path.display())]
    MissingCommandOrPort {
        /// `service` or `event`.
        what: &'static str,
        /// Entry name.
        name: String,
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// A SERVICES/DAEMON name used twice.
    #[error("multiple entries for {what} '{name}' (line {line} of {})", path.display())]
    MultipleEntries {
        /// `service` or `waitdaemon`.
        what: &'static str,
        /// Entry name.
        name: String,
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
}

/// A START entry: run to completion before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartEntry {
    /// Entry name.
    pub name: String,
    /// `cmd` split on whitespace.
    pub cmd: Vec<String>,
    /// Line in cyrus.conf.
    pub line: u32,
}

/// A SERVICES entry, values as configured (see the `effective_*` methods for master's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// Entry name (service name, `CYRUS_SERVICE`, imapd.conf override prefix).
    pub name: String,
    /// `cmd` split on whitespace.
    pub cmd: Vec<String>,
    /// `listen` as written; see [`ServiceEntry::listen_addr`].
    pub listen: String,
    /// `proto`, default `tcp`.
    pub proto: String,
    /// `prefork`, default 0.
    pub prefork: i64,
    /// `maxchild` (read with `atoi`), default -1 = unlimited.
    pub maxchild: i64,
    /// `maxfds`, default 0 = leave unchanged.
    pub maxfds: i64,
    /// `maxforkrate`, default 0 = unlimited.
    pub maxforkrate: i64,
    /// `babysit`, default off.
    pub babysit: bool,
    /// Line in cyrus.conf.
    pub line: u32,
}

impl ServiceEntry {
    /// Parsed `listen` value.
    pub fn listen_addr(&self) -> Result<Listen, ListenError> {
        Listen::parse(&self.listen)
    }

    /// True for `udp`, `udp4`, `udp6` (and, for UNIX sockets, anything but `tcp`).
    pub fn is_datagram(&self) -> bool {
        !matches!(self.proto.as_str(), "tcp" | "tcp4" | "tcp6")
    }

    /// Idle processes master keeps: `babysit` forces at least 1, UDP at most 1.
    pub fn effective_prefork(&self) -> i64 {
        let p = if self.babysit && self.prefork == 0 {
            1
        } else {
            self.prefork
        };
        if self.is_datagram() { p.min(1) } else { p }
    }

    /// Fork-rate limit: `babysit` turns an unset (0) limit into 10.
    pub fn effective_maxforkrate(&self) -> i64 {
        if self.babysit && self.maxforkrate == 0 {
            10
        } else {
            self.maxforkrate
        }
    }

    /// Process limit: `None` = unlimited (negative `maxchild`); UDP is always 1.
    pub fn max_workers(&self) -> Option<i64> {
        if self.is_datagram() {
            Some(1)
        } else if self.maxchild < 0 {
            None
        } else {
            Some(self.maxchild)
        }
    }
}

/// An EVENTS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEntry {
    /// Entry name.
    pub name: String,
    /// `cmd` split on whitespace.
    pub cmd: Vec<String>,
    /// `period` in minutes, default 0 (run once at start).
    pub period: i64,
    /// `at=HHMM` when valid (hour ≤ 23, minute ≤ 59); then the event runs daily.
    pub at: Option<(u8, u8)>,
    /// Line in cyrus.conf.
    pub line: u32,
}

/// A DAEMON entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonEntry {
    /// Entry name.
    pub name: String,
    /// `cmd` split on whitespace.
    pub cmd: Vec<String>,
    /// `wait`, default off.
    pub wait: bool,
    /// `maxfds`, default 0.
    pub maxfds: i64,
    /// `maxforkrate`; 0 or unset becomes 10, as in master.
    pub maxforkrate: i64,
    /// Line in cyrus.conf.
    pub line: u32,
}

/// Parsed cyrus.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CyrusConf {
    /// START entries in file order.
    pub start: Vec<StartEntry>,
    /// SERVICES entries in file order.
    pub services: Vec<ServiceEntry>,
    /// EVENTS entries in file order.
    pub events: Vec<EventEntry>,
    /// DAEMON entries in file order.
    pub daemons: Vec<DaemonEntry>,
    /// Entries dropped on reload (master logs "WARNING: … -- ignored").
    pub warnings: Vec<String>,
}

/// One `name key=value…` line.
#[derive(Debug)]
struct RawEntry {
    name: String,
    args: Vec<(String, String)>,
    line: u32,
}

impl RawEntry {
    /// First occurrence wins, as `masterconf_getstring`.
    fn get(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_owned()
    }

    /// `masterconf_getint`.
    fn int(&self, key: &str, default: i64) -> i64 {
        match self.get(key).map(str::as_bytes) {
            Some([d, ..] | [b'-', d, ..]) if d.is_ascii_digit() => {
                atoi(self.get(key).unwrap_or(""))
            }
            _ => default,
        }
    }

    /// `masterconf_getswitch` (case-sensitive).
    fn switch(&self, key: &str, default: bool) -> bool {
        match self.get(key).map(str::as_bytes) {
            Some([b'0' | b'n' | b'f', ..] | [b'o', b'f', ..]) => false,
            Some([b'1' | b'y' | b't', ..] | [b'o', b'n', ..]) => true,
            _ => default,
        }
    }

    fn cmd(&self) -> Vec<String> {
        self.get("cmd")
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl CyrusConf {
    /// Reads cyrus.conf with start-up semantics (every problem is fatal).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CyrusConfError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| CyrusConfError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::build(&bytes, path, false)
    }

    /// Parses `text` with start-up semantics; `path` is used in messages.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, CyrusConfError> {
        Self::build(text.as_bytes(), path.as_ref(), false)
    }

    /// Parses `text` as master does on SIGHUP: START is not read, and entries with a missing
    /// command/port or a duplicate name are dropped with a warning instead of being fatal.
    /// Syntax errors stay fatal.
    pub fn parse_reload(text: &str, path: impl AsRef<Path>) -> Result<Self, CyrusConfError> {
        Self::build(text.as_bytes(), path.as_ref(), true)
    }

    fn build(bytes: &[u8], path: &Path, reload: bool) -> Result<Self, CyrusConfError> {
        let lines = split_lines(bytes);
        let mut conf = CyrusConf::default();
        let mut names: HashSet<String> = HashSet::new();
        let fail = |conf: &mut CyrusConf, e: CyrusConfError| {
            if reload {
                conf.warnings.push(format!("WARNING: {e} -- ignored"));
                tracing::warn!("{e} -- ignored");
                Ok(())
            } else {
                Err(e)
            }
        };
        if !reload {
            for e in section(&lines, "START", path)? {
                if e.get("cmd").unwrap_or("").is_empty() {
                    return Err(CyrusConfError::MissingCommand {
                        name: e.name,
                        path: path.to_owned(),
                        line: e.line,
                    });
                }
                conf.start.push(StartEntry {
                    cmd: e.cmd(),
                    name: e.name,
                    line: e.line,
                });
            }
        }
        for e in section(&lines, "SERVICES", path)? {
            let (cmd, listen) = (e.string("cmd", ""), e.string("listen", ""));
            if cmd.is_empty() || listen.is_empty() {
                let err = missing(&e, "service", path);
                fail(&mut conf, err)?;
                continue;
            }
            if !names.insert(e.name.clone()) {
                fail(&mut conf, multiple(&e, "service", path))?;
                continue;
            }
            conf.services.push(ServiceEntry {
                cmd: e.cmd(),
                listen,
                proto: e.string("proto", "tcp"),
                prefork: e.int("prefork", 0),
                maxchild: atoi(&e.string("maxchild", "-1")),
                maxfds: e.int("maxfds", 0),
                maxforkrate: e.int("maxforkrate", 0),
                babysit: e.switch("babysit", false),
                name: e.name,
                line: e.line,
            });
        }
        for e in section(&lines, "EVENTS", path)? {
            if e.get("cmd").unwrap_or("").is_empty() {
                fail(&mut conf, missing(&e, "event", path))?;
                continue;
            }
            let at = e.int("at", -1);
            let at = (at >= 0 && at / 100 <= 23 && at % 100 <= 59)
                .then(|| (u8::try_from(at / 100).ok(), u8::try_from(at % 100).ok()))
                .and_then(|(h, m)| Some((h?, m?)));
            conf.events.push(EventEntry {
                cmd: e.cmd(),
                period: e.int("period", 0),
                at,
                name: e.name,
                line: e.line,
            });
        }
        for e in section(&lines, "DAEMON", path)? {
            let wait = e.switch("wait", false);
            if e.get("cmd").unwrap_or("").is_empty() {
                fail(&mut conf, missing(&e, "service", path))?;
                continue;
            }
            if !names.insert(e.name.clone()) {
                let what = if wait { "waitdaemon" } else { "service" };
                fail(&mut conf, multiple(&e, what, path))?;
                continue;
            }
            let rate = e.int("maxforkrate", 0);
            conf.daemons.push(DaemonEntry {
                cmd: e.cmd(),
                wait,
                maxfds: e.int("maxfds", 0),
                maxforkrate: if rate == 0 { 10 } else { rate },
                name: e.name,
                line: e.line,
            });
        }
        Ok(conf)
    }
}

fn missing(e: &RawEntry, what: &'static str, path: &Path) -> CyrusConfError {
    CyrusConfError::MissingCommandOrPort {
        what,
        name: e.name.clone(),
        path: path.to_owned(),
        line: e.line,
    }
}

fn multiple(e: &RawEntry, what: &'static str, path: &Path) -> CyrusConfError {
    CyrusConfError::MultipleEntries {
        what,
        name: e.name.clone(),
        path: path.to_owned(),
        line: e.line,
    }
}

/// Splits like repeated `fgets(buf, 4096)`: pieces end after `\n` or at 4095 bytes; the
/// newline is removed. Returns (line number, content cut at a `#` comment and at NUL,
/// leading whitespace removed).
fn split_lines(bytes: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut n: u32 = 0;
    while !rest.is_empty() {
        let max = rest.len().min(LINE_BUF - 1);
        let end = rest[..max]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(max, |i| i + 1);
        let mut piece = &rest[..end];
        rest = &rest[end..];
        n = n.saturating_add(1);
        if piece.last() == Some(&b'\n') {
            piece = &piece[..piece.len() - 1];
        }
        let piece = piece.split(|&b| b == 0).next().unwrap_or_default();
        let start = piece
            .iter()
            .position(|&b| !is_c_space(b))
            .unwrap_or(piece.len());
        let piece = &piece[start..];
        let piece = piece.split(|&b| b == b'#').next().unwrap_or_default();
        out.push((n, piece));
    }
    out
}

/// `masterconf_getsection`: the entries of every opening of `name` found at nesting level 0.
fn section(
    lines: &[(u32, &[u8])],
    name: &str,
    path: &Path,
) -> Result<Vec<RawEntry>, CyrusConfError> {
    let mut out = Vec::new();
    let mut level: i64 = 0;
    let mut i = 0;
    let sec = name.as_bytes();
    while i < lines.len() {
        let p = lines[i].1;
        i += 1;
        if p.is_empty() {
            continue;
        }
        let opens = level == 0
            && p.first() == sec.first()
            && p.len() >= sec.len()
            && p[..sec.len()].eq_ignore_ascii_case(sec)
            && !p.get(sec.len()).is_some_and(u8::is_ascii_alphanumeric);
        let tail = if opens { &p[sec.len()..] } else { p };
        for &b in tail {
            match b {
                b'{' => level += 1,
                b'}' => level -= 1,
                _ => {}
            }
        }
        if opens && level == 1 {
            i = section_body(lines, i, path, &mut out)?;
        }
    }
    Ok(out)
}

/// `process_section`: entries until a line starting with `}`; returns the next line index.
fn section_body(
    lines: &[(u32, &[u8])],
    mut i: usize,
    path: &Path,
    out: &mut Vec<RawEntry>,
) -> Result<usize, CyrusConfError> {
    while i < lines.len() {
        let (line, p) = lines[i];
        i += 1;
        if p.is_empty() {
            continue;
        }
        if p[0] == b'}' {
            break;
        }
        let q = p
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(p.len());
        let rest = if q < p.len() {
            if q > 0 && !is_c_space(p[q]) {
                return Err(CyrusConfError::BadName {
                    path: path.to_owned(),
                    line,
                    c: char::from(p[q]),
                });
            }
            q + 1
        } else {
            q
        };
        if rest > 0 {
            let args = split_args(&p[rest..], line, path)?;
            out.push(RawEntry {
                name: String::from_utf8_lossy(&p[..q]).into_owned(),
                args,
                line,
            });
        }
    }
    Ok(i)
}

/// `split_args`: `key=value` pairs, value quoted (no escapes) or a bare word.
fn split_args(s: &[u8], line: u32, path: &Path) -> Result<Vec<(String, String)>, CyrusConfError> {
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < s.len() && is_c_space(s[p]) {
            p += 1;
        }
        if p >= s.len() {
            return Ok(args);
        }
        let k0 = p;
        while p < s.len() && s[p].is_ascii_alphanumeric() {
            p += 1;
        }
        if s.get(p) != Some(&b'=') {
            let c = s.get(p).map_or('\0', |&b| char::from(b));
            return Err(CyrusConfError::BadArgument {
                path: path.to_owned(),
                line,
                c,
            });
        }
        let key = String::from_utf8_lossy(&s[k0..p]).into_owned();
        p += 1;
        let value;
        if s.get(p) == Some(&b'"') {
            let v0 = p + 1;
            let close = s[v0..].iter().position(|&b| b == b'"').ok_or_else(|| {
                CyrusConfError::MissingQuote {
                    path: path.to_owned(),
                    line,
                }
            })?;
            value = &s[v0..v0 + close];
            p = v0 + close + 1;
        } else {
            let v0 = p;
            while p < s.len() && !is_c_space(s[p]) {
                p += 1;
            }
            value = &s[v0..p];
            if p < s.len() {
                p += 1;
            }
        }
        if args.len() == MAX_ARGS {
            return Err(CyrusConfError::TooManyArguments {
                path: path.to_owned(),
                line,
            });
        }
        args.push((key, String::from_utf8_lossy(value).into_owned()));
    }
}
