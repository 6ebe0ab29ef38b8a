//! LMTP (RFC 2033) command lines and replies, as Cyrus 3.6 `lmtpengine.c` parses and words
//! them.
//!
//! Owns: recognising a command line (Cyrus dispatches on the first letter and compares
//! prefixes case-insensitively), the `MAIL FROM:`/`RCPT TO:` address syntax (`parseaddr`) and
//! ESMTP parameters (`AUTH=`, `BODY=`, `SIZE=`, `IGNOREQUOTA`), and the exact reply texts.
//! Must not: do I/O, look at the mailstore, or keep session state; the session decides which
//! checks come first (authentication, nesting) exactly in Cyrus's order.

/// One reply: one or more lines, each already carrying its code (`550-...`, `550 5.1.1 ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply(pub String);

impl Reply {
    pub fn new(text: impl Into<String>) -> Reply {
        Reply(text.into())
    }

    /// The wire form, each line CRLF-terminated.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.0.clone().into_bytes();
        v.extend_from_slice(b"\r\n");
        v
    }

    /// The three-digit code of the last line.
    pub fn code(&self) -> u16 {
        let last = self.0.rsplit("\r\n").next().unwrap_or("");
        last.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0)
    }
}

/// Replies whose text never varies (lmtpengine.c, lmtp_err.et).
pub mod replies {
    pub const SYNTAX_ERROR: &str = "500 5.5.2 Syntax error";
    pub const PARAM_SYNTAX: &str = "501 5.5.4 Syntax error in parameters";
    pub const PARAM_UNRECOGNIZED: &str = "501 5.5.4 Unrecognized parameters";
    pub const BODY_UNRECOGNIZED: &str = "501 5.5.4 Unrecognized BODY type";
    pub const SIZE_NEEDS_VALUE: &str = "501 5.5.2 SIZE requires a value";
    pub const NOOP: &str = "250 2.0.0 ok";
    pub const QUIT: &str = "221 2.0.0 bye";
    pub const MAIL_OK: &str = "250 2.1.0 ok";
    pub const RCPT_OK: &str = "250 2.1.5 ok";
    pub const NESTED_MAIL: &str = "503 5.5.1 Nested MAIL command";
    pub const NEED_MAIL: &str = "503 5.5.1 Need MAIL command";
    pub const NO_RECIPIENTS: &str = "503 5.5.1 No recipients";
    pub const GO_AHEAD: &str = "354 go ahead";
    pub const VRFY: &str = "252 2.3.3 try RCPT to attempt delivery";
    pub const AUTH_REQUIRED_SOFT: &str = "430 Authentication required";
    pub const AUTH_REQUIRED: &str = "530 Authentication required";
    pub const ALREADY_AUTHENTICATED: &str = "503 5.5.0 already authenticated";
    pub const AUTH_NOT_NOW: &str = "503 5.5.0 AUTH not permitted now";
    pub const AUTH_OK: &str = "235 Authenticated!";
    pub const AUTH_CANCELED: &str = "501 5.5.4 client canceled authentication";
    pub const AUTH_NOMECH: &str = "504 Unrecognized authentication type.";
    pub const STARTTLS_GO: &str = "220 Begin TLS negotiation now";
    pub const STARTTLS_AGAIN: &str = "454 4.3.3 Already successfully executed STARTTLS";
    pub const STARTTLS_NOT_NOW: &str = "503 5.5.0 STARTTLS not permitted now";
    pub const STARTTLS_FAILED: &str = "454 4.3.3 STARTTLS failed";
    /// `LMTP_USER_UNKNOWN_LONG` + `LMTP_USER_UNKNOWN`.
    pub const USER_UNKNOWN: &str = "550-Mailbox unknown.  Either there is no mailbox associated \
                                    with this\r\n550-name or you do not have authorization to \
                                    see it.\r\n550 5.1.1 User unknown";
}

/// `250 2.1.5 Success SESSIONID=<id>`: one delivered recipient (`LMTP_OK`).
pub fn delivered(session_id: &str) -> Reply {
    Reply(format!("250 2.1.5 Success SESSIONID=<{session_id}>"))
}

/// `452 4.2.2 Over quota SESSIONID=<id>` (or `552 5.2.2` with `lmtp_over_quota_perm_failure`).
pub fn over_quota(session_id: &str, permanent: bool) -> Reply {
    if permanent {
        Reply(format!("552 5.2.2 Over quota SESSIONID=<{session_id}>"))
    } else {
        Reply(format!("452 4.2.2 Over quota SESSIONID=<{session_id}>"))
    }
}

/// `550 5.7.1 Permission denied` with the long explanation naming the postmaster.
pub fn permission_denied(postmaster: &str) -> Reply {
    Reply(format!(
        "550-You do not have permission to post a message to this mailbox.\r\n550-Please \
         contact the owner of this mailbox in order to submit\r\n550-your message, or \
         {postmaster} if you believe you\r\n550-received this message in error.\r\n550 5.7.1 \
         Permission denied"
    ))
}

/// `451 4.3.0 <error>`: an unexpected failure (`LMTP_SYSTEM_ERROR`).
pub fn system_error(text: &str) -> Reply {
    Reply(format!("451 4.3.0 {text}"))
}

/// `554 5.6.0 <error>`: the message itself is unacceptable (`LMTP_MESSAGE_INVALID`).
pub fn message_invalid(text: &str) -> Reply {
    Reply(format!("554 5.6.0 {text}"))
}

/// `552 5.2.3` for `SIZE=` above `maxmessagesize`.
pub fn size_param_too_big(max: u64) -> Reply {
    Reply(format!(
        "552 5.2.3 Message SIZE exceeds fixed maximum message size ({max})"
    ))
}

/// `552 5.2.3` after DATA when the spooled message is above `maxmessagesize`.
pub fn message_too_big(size: u64, max: u64) -> Reply {
    Reply(format!(
        "552 5.2.3 Message size ({size}) exceeds fixed maximum message size ({max})"
    ))
}

/// `501 5.5.4 <sasl error>` after a failed AUTH exchange.
pub fn auth_failed(sasl_text: &str) -> Reply {
    Reply(format!("501 5.5.4 {sasl_text}"))
}

/// The LHLO response. `size` is `maxmessagesize` (None: unlimited); `auth` the mechanism
/// names (empty: no AUTH line).
pub fn lhlo(
    servername: &str,
    size: Option<u64>,
    starttls: bool,
    auth: &[&str],
    session_id: &str,
) -> Reply {
    let mut s = format!("250-{servername}\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n");
    s.push_str("250-PIPELINING\r\n");
    match size {
        Some(n) => s.push_str(&format!("250-SIZE {n}\r\n")),
        None => s.push_str("250-SIZE\r\n"),
    }
    if starttls {
        s.push_str("250-STARTTLS\r\n");
    }
    if !auth.is_empty() {
        s.push_str(&format!("250-AUTH {}\r\n", auth.join(" ")));
    }
    s.push_str("250-IGNOREQUOTA\r\n");
    s.push_str(&format!("250 Ok SESSIONID=<{session_id}>"));
    Reply(s)
}

/// `BODY=` values (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
}

/// A parsed `MAIL FROM:` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailFrom {
    /// The reverse path without its angle brackets (`""` for the null path `<>`).
    pub return_path: String,
    /// `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    pub body: Option<Body>,
    /// `AUTH=` (RFC 4954 §5), xtext-decoded; None for `AUTH=<>` or absent.
    pub auth: Option<String>,
}

/// A refused `MAIL FROM:` line. Cyrus records the reverse path before it looks at the
/// parameters, so when the address parsed, the transaction is open despite the error (a
/// second MAIL then gets `503 5.5.1 Nested MAIL command`, RCPT is accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    pub return_path: Option<String>,
    pub reply: Reply,
}

/// A parsed `RCPT TO:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptTo {
    /// The forward path without angle brackets or source route.
    pub address: String,
    /// Cyrus's `IGNOREQUOTA` parameter.
    pub ignore_quota: bool,
}

/// One command line, classified the way Cyrus dispatches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `LHLO <domain>`: the rest of the line, verbatim.
    Lhlo(String),
    /// Any line starting with `m`/`M` (Cyrus checks authentication before anything else):
    /// `None` when it is not `MAIL ...` at all.
    Mail(Option<Result<MailFrom, MailError>>),
    Rcpt(Result<RcptTo, Reply>),
    Data,
    Rset,
    Noop,
    Quit,
    /// `STARTTLS` (only a command when TLS is available; the session decides).
    StartTls,
    /// `AUTH <mech> [initial-response]`.
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    Vrfy,
    /// Anything else: `500 5.5.2 Syntax error`.
    Unknown,
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Longest command line Cyrus reads in one piece (its `buf[4096]`); longer lines are cut
/// there and the remainder read as the next "command".
pub const MAX_LINE: usize = 4095;

/// Classify one command line (without its CRLF or LF). `max_size` is `maxmessagesize`
/// (None: unlimited), needed because `SIZE=` above it is refused right away.
pub fn parse_command(line: &[u8], max_size: Option<u64>) -> Command {
    let first = line.first().map(u8::to_ascii_lowercase);
    match first {
        Some(b'a') if starts_with_ci(line, b"auth ") => {
            let rest = &line[5..];
            let (mech, initial) = match rest.iter().position(|&b| b == b' ') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            Command::Auth {
                mechanism: String::from_utf8_lossy(mech).into_owned(),
                initial: initial.map(|i| String::from_utf8_lossy(i).into_owned()),
            }
        }
        Some(b'd') if line.eq_ignore_ascii_case(b"data") => Command::Data,
        Some(b'l') if starts_with_ci(line, b"lhlo ") => {
            Command::Lhlo(String::from_utf8_lossy(&line[5..]).into_owned())
        }
        Some(b'm') => {
            if starts_with_ci(line, b"mail ") {
                Command::Mail(Some(parse_mail_from(&line[5..], max_size)))
            } else {
                Command::Mail(None)
            }
        }
        Some(b'n') if line.eq_ignore_ascii_case(b"noop") => Command::Noop,
        Some(b'q') if line.eq_ignore_ascii_case(b"quit") => Command::Quit,
        Some(b'r') if starts_with_ci(line, b"rcpt ") => Command::Rcpt(parse_rcpt_to(&line[5..])),
        Some(b'r') if line.eq_ignore_ascii_case(b"rset") => Command::Rset,
        Some(b's') if line.eq_ignore_ascii_case(b"starttls") => Command::StartTls,
        Some(b'v') if starts_with_ci(line, b"vrfy ") => Command::Vrfy,
        _ => Command::Unknown,
    }
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// Cyrus `parseaddr`: `<[@route,@route:]local[@domain]>`. Returns the address text between
/// the brackets with the source route kept, and the number of bytes consumed (through `>`).
/// A local part may be quoted; unquoted, it excludes controls, space, 8-bit and specials.
pub fn parse_addr(s: &[u8]) -> Option<(String, usize)> {
    let mut p = 0usize;
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    if at(p) != b'<' {
        return None;
    }
    p += 1;
    // at-domain-list
    while at(p) == b'@' {
        p += 1;
        if at(p) == b'[' {
            p += 1;
            while at(p).is_ascii_digit() || at(p) == b'.' {
                p += 1;
            }
            if at(p) != b']' {
                return None;
            }
            p += 1;
        } else {
            while is_domain_char(at(p)) {
                p += 1;
            }
        }
        let next_route = at(p) == b',' && at(p + 1) == b'@';
        let route_end = at(p) == b':' && at(p + 1) != b'@';
        if next_route || route_end {
            p += 1;
        } else {
            return None;
        }
    }
    // local-part
    if at(p) == b'"' {
        p += 1;
        while p < s.len() && s[p] != b'"' {
            if s[p] == b'\\' {
                p += 1;
                if p >= s.len() {
                    return None;
                }
            }
            p += 1;
        }
        if p >= s.len() {
            return None;
        }
        p += 1;
    } else {
        while p < s.len() && s[p] != b'@' && s[p] != b'>' {
            let c = s[p];
            if c == b'\\' {
                p += 1;
                if p >= s.len() {
                    return None;
                }
            } else if c <= b' ' || c >= 0x80 || b"<>()[]\\,;:\"".contains(&c) {
                return None;
            }
            p += 1;
        }
    }
    // @domain
    if at(p) == b'@' {
        p += 1;
        if at(p) == b'[' {
            p += 1;
            while at(p).is_ascii_digit() || at(p) == b'.' {
                p += 1;
            }
            if at(p) != b']' {
                return None;
            }
            p += 1;
        } else {
            while is_domain_char(at(p)) {
                p += 1;
            }
        }
    }
    if at(p) != b'>' {
        return None;
    }
    p += 1;
    if p < s.len() && s[p] != b' ' {
        return None;
    }
    let inner = String::from_utf8_lossy(&s[1..p - 1]).into_owned();
    Some((inner, p))
}

/// Cyrus `parseautheq`: an xtext (RFC 3461 §4) address or `<>`.
fn parse_auth_eq(s: &[u8]) -> (Option<String>, usize) {
    if s.starts_with(b"<>") {
        return (None, 2);
    }
    let mut out = Vec::new();
    let mut p = 0;
    while p < s.len() && s[p] != b' ' {
        let c = s[p];
        if c == b'+' {
            let hex = s
                .get(p + 1..p + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    p += 3;
                    continue;
                }
                None => return (None, p),
            }
        }
        if !(b'!'..=b'~').contains(&c) || c == b'=' {
            return (None, p);
        }
        out.push(c);
        p += 1;
    }
    let v = String::from_utf8_lossy(&out).into_owned();
    (if v.is_empty() { None } else { Some(v) }, p)
}

/// The part of a `MAIL ` line after `MAIL `.
fn parse_mail_from(rest: &[u8], max_size: Option<u64>) -> Result<MailFrom, MailError> {
    let no_path = |r: &str| MailError {
        return_path: None,
        reply: Reply::new(r),
    };
    if !starts_with_ci(rest, b"from:") {
        return Err(no_path(replies::PARAM_SYNTAX));
    }
    let s = &rest[5..];
    let (path, used) = parse_addr(s).ok_or_else(|| no_path(replies::PARAM_SYNTAX))?;
    mail_params(s, used, max_size, path.clone()).map_err(|reply| MailError {
        return_path: Some(path),
        reply,
    })
}

fn mail_params(
    s: &[u8],
    used: usize,
    max_size: Option<u64>,
    path: String,
) -> Result<MailFrom, Reply> {
    use replies::*;
    let mut out = MailFrom {
        return_path: path,
        ..MailFrom::default()
    };
    let mut p = used;
    while p < s.len() && s[p] == b' ' {
        p += 1;
        let tail = &s[p..];
        match tail.first().map(u8::to_ascii_lowercase) {
            Some(b'a') => {
                if !starts_with_ci(tail, b"auth=") {
                    return Err(Reply::new(PARAM_UNRECOGNIZED));
                }
                p += 5;
                let (who, n) = parse_auth_eq(&s[p..]);
                out.auth = who;
                p += n;
            }
            Some(b'b') => {
                if !starts_with_ci(tail, b"body=") {
                    return Err(Reply::new(PARAM_UNRECOGNIZED));
                }
                p += 5;
                let v = &s[p..];
                if starts_with_ci(v, b"7bit") {
                    out.body = Some(Body::SevenBit);
                    p += 4;
                } else if starts_with_ci(v, b"8bitmime") {
                    out.body = Some(Body::EightBitMime);
                    p += 8;
                } else {
                    return Err(Reply::new(BODY_UNRECOGNIZED));
                }
            }
            Some(b's') => {
                if !starts_with_ci(tail, b"size=") {
                    return Err(Reply::new(PARAM_UNRECOGNIZED));
                }
                p += 5;
                let digits = s[p..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 {
                    return Err(Reply::new(SIZE_NEEDS_VALUE));
                }
                let text = std::str::from_utf8(&s[p..p + digits]).unwrap_or("");
                let max = max_size.unwrap_or(i32::MAX as u64);
                let size = text.parse::<u64>().ok().filter(|&n| n <= max);
                match size {
                    Some(n) => out.size = Some(n),
                    None => return Err(size_param_too_big(max)),
                }
                p += digits;
            }
            _ => return Err(Reply::new(PARAM_UNRECOGNIZED)),
        }
    }
    if p != s.len() {
        return Err(Reply::new(PARAM_SYNTAX));
    }
    Ok(out)
}

/// The part of a `RCPT ` line after `RCPT `.
fn parse_rcpt_to(rest: &[u8]) -> Result<RcptTo, Reply> {
    use replies::*;
    if !starts_with_ci(rest, b"to:") {
        return Err(Reply::new(PARAM_SYNTAX));
    }
    let s = &rest[3..];
    let (addr, used) = parse_addr(s).ok_or_else(|| Reply::new(PARAM_SYNTAX))?;
    let mut ignore_quota = false;
    let mut p = used;
    while p < s.len() && s[p] == b' ' {
        p += 1;
        let tail = &s[p..];
        // Cyrus compares 12 bytes of "ignorequota" (its NUL included): the parameter must
        // end the line.
        if tail.eq_ignore_ascii_case(b"ignorequota") {
            ignore_quota = true;
            p = s.len();
        } else {
            return Err(Reply::new(PARAM_UNRECOGNIZED));
        }
    }
    if p != s.len() {
        return Err(Reply::new(PARAM_SYNTAX));
    }
    // Strip a source route (`@a,@b:local@domain`), as Cyrus's process_recipient does.
    let address = if addr.starts_with('@') {
        match addr.split_once(':') {
            Some((_, a)) => a.to_owned(),
            None => return Err(Reply::new("501 5.5.4 Syntax error in parameters")),
        }
    } else {
        addr
    };
    Ok(RcptTo {
        address,
        ignore_quota,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(line: &str) -> Result<MailFrom, Reply> {
        match parse_command(line.as_bytes(), Some(1000)) {
            Command::Mail(Some(r)) => r.map_err(|e| e.reply),
            other => panic!("{other:?}"),
        }
    }

    fn rcpt(line: &str) -> Result<RcptTo, Reply> {
        match parse_command(line.as_bytes(), None) {
            Command::Rcpt(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verbs() {
        assert_eq!(parse_command(b"NOOP", None), Command::Noop);
        assert_eq!(parse_command(b"noop", None), Command::Noop);
        assert_eq!(parse_command(b"NOOP x", None), Command::Unknown);
        assert_eq!(parse_command(b"QuIt", None), Command::Quit);
        assert_eq!(parse_command(b"RSET", None), Command::Rset);
        assert_eq!(parse_command(b"DATA", None), Command::Data);
        assert_eq!(parse_command(b"DATA ", None), Command::Unknown);
        assert_eq!(parse_command(b"", None), Command::Unknown);
        assert_eq!(parse_command(b"LHLO", None), Command::Unknown);
        assert_eq!(
            parse_command(b"lhlo a b", None),
            Command::Lhlo("a b".into())
        );
        assert_eq!(parse_command(b"MXYZ", None), Command::Mail(None));
        assert_eq!(parse_command(b"VRFY x", None), Command::Vrfy);
        assert_eq!(parse_command(b"STARTTLS", None), Command::StartTls);
        assert_eq!(
            parse_command(b"AUTH PLAIN AAA=", None),
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AAA=".into())
            }
        );
        assert_eq!(
            parse_command(b"auth login", None),
            Command::Auth {
                mechanism: "login".into(),
                initial: None
            }
        );
    }

    #[test]
    fn mail_from() {
        let m = mail("MAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME AUTH=x+2By@z").unwrap();
        assert_eq!(m.return_path, "a@b.c");
        assert_eq!(m.size, Some(100));
        assert_eq!(m.body, Some(Body::EightBitMime));
        assert_eq!(m.auth.as_deref(), Some("x+y@z"));
        assert_eq!(mail("mail from:<>").unwrap().return_path, "");
        assert_eq!(mail("MAIL FROM:<> AUTH=<>").unwrap().auth, None);
        assert_eq!(
            mail("MAIL FROM:<a> SIZE=1001").unwrap_err().0,
            "552 5.2.3 Message SIZE exceeds fixed maximum message size (1000)"
        );
        assert_eq!(
            mail("MAIL FROM:<a> SIZE=").unwrap_err().0,
            replies::SIZE_NEEDS_VALUE
        );
        assert_eq!(
            mail("MAIL FROM:<a> FOO=1").unwrap_err().0,
            replies::PARAM_UNRECOGNIZED
        );
        assert_eq!(
            mail("MAIL FROM:<a> BODY=BINARYMIME").unwrap_err().0,
            replies::BODY_UNRECOGNIZED
        );
        assert_eq!(mail("MAIL FROM: <a>").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(mail("MAIL FROM:a").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(mail("MAIL TO:<a>").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(mail("MAIL FROM:<a>x").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(
            mail("MAIL FROM:<a> SIZE=1x").unwrap_err().0,
            replies::PARAM_SYNTAX
        );
        assert_eq!(
            mail("MAIL FROM:<@r1,@r2:u@d>").unwrap().return_path,
            "@r1,@r2:u@d"
        );
        assert_eq!(
            mail("MAIL FROM:<\"a b\"@c>").unwrap().return_path,
            "\"a b\"@c"
        );
    }

    #[test]
    fn mail_error_keeps_the_path() {
        let Command::Mail(Some(Err(e))) = parse_command(b"MAIL FROM:<a@b> SIZE=9999", Some(10))
        else {
            panic!()
        };
        assert_eq!(e.return_path.as_deref(), Some("a@b"));
        let Command::Mail(Some(Err(e))) = parse_command(b"MAIL FROM:a@b", None) else {
            panic!()
        };
        assert_eq!(e.return_path, None);
    }

    #[test]
    fn rcpt_to() {
        let r = rcpt("RCPT TO:<alice+Archive@example.com>").unwrap();
        assert_eq!(r.address, "alice+Archive@example.com");
        assert!(!r.ignore_quota);
        assert!(rcpt("rcpt to:<bob> IGNOREQUOTA").unwrap().ignore_quota);
        assert_eq!(rcpt("RCPT TO:<@a:bob@b>").unwrap().address, "bob@b");
        assert_eq!(rcpt("RCPT TO:<>").unwrap().address, "");
        assert_eq!(
            rcpt("RCPT TO:<a> NOTIFY=NEVER").unwrap_err().0,
            replies::PARAM_UNRECOGNIZED
        );
        assert_eq!(rcpt("RCPT TO: <a>").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(rcpt("RCPT TO:a").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(rcpt("RCPT TO:<a b>").unwrap_err().0, replies::PARAM_SYNTAX);
        assert_eq!(
            rcpt("RCPT TO:<\u{e9}>").unwrap_err().0,
            replies::PARAM_SYNTAX
        );
    }

    #[test]
    fn reply_forms() {
        let r = lhlo("srv", None, false, &["PLAIN", "LOGIN"], "sid");
        assert_eq!(
            r.to_bytes(),
            b"250-srv\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n\
              250-SIZE\r\n250-AUTH PLAIN LOGIN\r\n250-IGNOREQUOTA\r\n250 Ok SESSIONID=<sid>\r\n"
        );
        assert_eq!(Reply::new(replies::USER_UNKNOWN).code(), 550);
        assert_eq!(over_quota("s", false).code(), 452);
        assert_eq!(lhlo("s", Some(5), true, &[], "x").code(), 250);
    }
}
