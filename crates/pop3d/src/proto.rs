//! POP3 (RFC 1939, RFC 2449 CAPA, RFC 5034 SASL, RFC 2595 STLS) command lines and replies,
//! as Cyrus 3.6 `pop3d.c` splits and words them.
//!
//! Owns: splitting a line into keyword and argument (Cyrus rules: the keyword ends at the
//! first white space, the argument loses leading white space except for PASS, an argument that
//! is only white space is a syntax error except for AUTH), message-number and TOP argument
//! parsing, the CAPA list, and byte-stuffing a stored message for RETR/TOP.
//! Must not: do I/O or hold session state.

/// Longest command line read at once (Cyrus's input buffer).
pub const MAX_LINE: usize = 8191;

/// One command line, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Lower-cased keyword.
    pub keyword: String,
    /// The argument, if any.
    pub arg: Option<String>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Split a command line (without CRLF). Err is the reply to send (`-ERR Syntax error`).
pub fn split_line(line: &[u8]) -> Result<Line, &'static str> {
    let k = line.iter().position(|&b| is_space(b)).unwrap_or(line.len());
    let keyword = String::from_utf8_lossy(&line[..k]).to_ascii_lowercase();
    if k == line.len() {
        return Ok(Line { keyword, arg: None });
    }
    let mut rest = &line[k + 1..];
    if keyword != "pass" {
        let skip = rest.iter().take_while(|&&b| is_space(b)).count();
        rest = &rest[skip..];
    }
    if rest.is_empty() {
        if keyword == "auth" {
            return Ok(Line { keyword, arg: None });
        }
        return Err("-ERR Syntax error");
    }
    Ok(Line {
        keyword,
        arg: Some(String::from_utf8_lossy(rest).into_owned()),
    })
}

/// Cyrus `parseuint32`: decimal digits, at least one, no overflow. Returns value and rest.
fn parse_uint32(s: &str) -> Option<(u32, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let v = s[..n].parse::<u32>().ok()?;
    Some((v, &s[n..]))
}

/// Why a message-number argument was refused (the `-ERR` text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgError {
    NotANumber,
    ExtraArgument,
    Missing,
    InvalidLines,
}

impl ArgError {
    pub fn reply(self) -> &'static str {
        match self {
            ArgError::NotANumber => "-ERR Not a number",
            ArgError::ExtraArgument => "-ERR Unexpected extra argument",
            ArgError::Missing => "-ERR Missing argument",
            ArgError::InvalidLines => "-ERR Invalid number of lines",
        }
    }
}

fn trim_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

/// `parse_msgno`: a message number and nothing else (existence is checked by the caller).
pub fn parse_msgno(arg: &str) -> Result<u32, ArgError> {
    match parse_uint32(trim_start(arg)) {
        None => Err(ArgError::NotANumber),
        Some((_, rest)) if !rest.is_empty() => Err(ArgError::ExtraArgument),
        Some((n, _)) => Ok(n),
    }
}

/// `TOP msg n`.
pub fn parse_top(arg: Option<&str>) -> Result<(u32, u32), ArgError> {
    let p = trim_start(arg.unwrap_or(""));
    let Some((msg, rest)) = parse_uint32(p) else {
        return Err(ArgError::Missing);
    };
    if rest.is_empty() {
        return Err(ArgError::Missing);
    }
    let Some((lines, rest)) = parse_uint32(trim_start(rest)) else {
        return Err(ArgError::InvalidLines);
    };
    if !rest.is_empty() {
        return Err(ArgError::ExtraArgument);
    }
    Ok((msg, lines))
}

/// What CAPA shows (Cyrus `cmd_capa`).
#[derive(Debug, Clone, Default)]
pub struct Capa<'a> {
    /// SASL mechanisms (shown before login only).
    pub sasl: &'a [&'a str],
    pub stls: bool,
    /// `popexpiretime` in days (None: NEVER).
    pub expire_days: Option<i64>,
    /// `popminpoll` in seconds.
    pub login_delay: i64,
    pub user: bool,
    /// `IMPLEMENTATION Cyrus POP3 <version>`.
    pub implementation: Option<&'a str>,
}

pub fn capa(c: &Capa<'_>) -> String {
    let mut s = String::from("+OK List of capabilities follows\r\n");
    if !c.sasl.is_empty() {
        s.push_str(&format!("SASL {}\r\n", c.sasl.join(" ")));
    }
    if c.stls {
        s.push_str("STLS\r\n");
    }
    match c.expire_days {
        None => s.push_str("EXPIRE NEVER\r\n"),
        Some(d) => s.push_str(&format!("EXPIRE {d}\r\n")),
    }
    s.push_str(&format!("LOGIN-DELAY {}\r\n", c.login_delay));
    s.push_str("TOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n");
    if c.user {
        s.push_str("USER\r\n");
    }
    if let Some(v) = c.implementation {
        s.push_str(&format!("IMPLEMENTATION Cyrus POP3 {v}\r\n"));
    }
    s.push_str(".\r\n");
    s
}

/// Streams a stored message as a RETR/TOP response body (Cyrus `blat`): lines starting with
/// `.` get another `.`; with a line limit, the header and that many body lines are sent. The
/// caller writes `+OK Message follows` before and [`Stuffer::finish`]'s bytes after.
#[derive(Debug)]
pub struct Stuffer {
    limit: Option<u32>,
    /// -2 in the header, then the number of body lines sent (Cyrus's `thisline`).
    thisline: i64,
    at_line_start: bool,
    last_byte: Option<u8>,
    /// Bytes of the current line so far, and whether it began with CR.
    line_len: usize,
    first_cr: bool,
    done: bool,
}

impl Stuffer {
    /// `limit`: TOP's line count; None for RETR.
    pub fn new(limit: Option<u32>) -> Stuffer {
        Stuffer {
            limit,
            thisline: -2,
            at_line_start: true,
            last_byte: None,
            line_len: 0,
            first_cr: false,
            done: false,
        }
    }

    /// True once the line limit is reached (the rest of the file need not be read).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stuff the next piece of the file into `out`.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() && !self.done {
            if self.at_line_start {
                if self.limit.is_some_and(|l| i64::from(l) == self.thisline) {
                    self.done = true;
                    return;
                }
                if input[0] == b'.' {
                    out.push(b'.');
                }
                self.line_len = 0;
                self.first_cr = input[0] == b'\r';
            }
            let (line, complete) = match input.iter().position(|&b| b == b'\n') {
                Some(i) => (&input[..=i], true),
                None => (input, false),
            };
            self.line_len += line.len();
            if complete {
                // Count lines as Cyrus does: the header ends at the first empty line.
                if self.thisline < 0 {
                    if self.line_len == 2 && self.first_cr {
                        self.thisline = 0;
                    }
                } else {
                    self.thisline += 1;
                }
            }
            out.extend_from_slice(line);
            self.last_byte = line.last().copied();
            self.at_line_start = complete;
            input = &input[line.len()..];
        }
    }

    /// The tail: CRLF if the message did not end with a newline, then `.` CRLF.
    pub fn finish(&self, out: &mut Vec<u8>) {
        if self.last_byte.is_some_and(|b| b != b'\n') {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(msg: &[u8], limit: Option<u32>, chunk: usize) -> Vec<u8> {
        let mut s = Stuffer::new(limit);
        let mut out = Vec::new();
        for c in msg.chunks(chunk) {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn split() {
        assert_eq!(
            split_line(b"USER  bob").unwrap(),
            Line {
                keyword: "user".into(),
                arg: Some("bob".into())
            }
        );
        assert_eq!(split_line(b"PASS  x ").unwrap().arg.as_deref(), Some(" x "));
        assert_eq!(split_line(b"STAT").unwrap().arg, None);
        assert_eq!(split_line(b"LIST "), Err("-ERR Syntax error"));
        assert_eq!(split_line(b"AUTH ").unwrap().arg, None);
        assert_eq!(split_line(b"").unwrap().keyword, "");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_msgno("1"), Ok(1));
        assert_eq!(parse_msgno(" 12"), Ok(12));
        assert_eq!(parse_msgno("x"), Err(ArgError::NotANumber));
        assert_eq!(parse_msgno("-1"), Err(ArgError::NotANumber));
        assert_eq!(parse_msgno("1 2"), Err(ArgError::ExtraArgument));
        assert_eq!(parse_msgno("99999999999"), Err(ArgError::NotANumber));
        assert_eq!(parse_top(Some("1 0")), Ok((1, 0)));
        assert_eq!(parse_top(Some("1")), Err(ArgError::Missing));
        assert_eq!(parse_top(None), Err(ArgError::Missing));
        assert_eq!(parse_top(Some("x 1")), Err(ArgError::Missing));
        assert_eq!(parse_top(Some("1 x")), Err(ArgError::InvalidLines));
        assert_eq!(parse_top(Some("1 -1")), Err(ArgError::InvalidLines));
        assert_eq!(parse_top(Some("1 2 3")), Err(ArgError::ExtraArgument));
    }

    #[test]
    fn byte_stuffing_and_top() {
        let msg = b"A: b\r\n.H: x\r\n\r\n.one\r\ntwo\r\nthree";
        for chunk in [1, 3, 100] {
            assert_eq!(
                stuff(msg, None, chunk),
                b"A: b\r\n..H: x\r\n\r\n..one\r\ntwo\r\nthree\r\n.\r\n".to_vec()
            );
            assert_eq!(
                stuff(msg, Some(0), chunk),
                b"A: b\r\n..H: x\r\n\r\n.\r\n".to_vec()
            );
            assert_eq!(
                stuff(msg, Some(1), chunk),
                b"A: b\r\n..H: x\r\n\r\n..one\r\n.\r\n".to_vec()
            );
        }
        assert_eq!(stuff(b"", None, 1), b".\r\n".to_vec());
    }

    #[test]
    fn capa_list() {
        let c = capa(&Capa {
            sasl: &["PLAIN", "LOGIN"],
            user: true,
            implementation: Some("v"),
            ..Capa::default()
        });
        assert_eq!(
            c,
            "+OK List of capabilities follows\r\nSASL PLAIN LOGIN\r\nEXPIRE NEVER\r\n\
             LOGIN-DELAY 0\r\nTOP\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n\
             USER\r\nIMPLEMENTATION Cyrus POP3 v\r\n.\r\n"
        );
    }
}
