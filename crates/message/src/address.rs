//! RFC 5322 address lists as Cyrus 3.6 parses them for ENVELOPE (lib/parseaddr.c): lenient,
//! never failing, with group markers, `unspecified-domain` for addresses without a domain and
//! the trailing-comment-as-name rule for bare `user@domain (Name)`.
//!
//! Owns: turning one raw address header value into [`Address`] entries.
//! Must not: decode RFC 2047 words (ENVELOPE leaves them encoded), lowercase anything.

use crate::header::is_space;

/// One ENVELOPE address (RFC 3501 §7.4.2). A group start is `mailbox = Some(name)`,
/// `domain = None`; a group end has every field `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub route: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub domain: Option<Vec<u8>>,
}

impl Address {
    /// A group start marker (`(NIL NIL "name" NIL)`).
    pub fn is_group_start(&self) -> bool {
        self.domain.is_none() && self.mailbox.is_some()
    }
    /// A group end marker (`(NIL NIL NIL NIL)`).
    pub fn is_group_end(&self) -> bool {
        self.domain.is_none() && self.mailbox.is_none()
    }
}

const UNSPECIFIED_DOMAIN: &[u8] = b"unspecified-domain";

/// Our bound on addresses kept from one header field (Cyrus has none); the rest are
/// dropped so that memory stays proportional to the message.
pub const MAX_ADDRESSES: usize = 10_000;

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }
    /// Read a byte and advance; at the end returns 0 and still advances (like C past NUL is
    /// never read again because every caller stops at 0).
    fn next(&mut self) -> u8 {
        let c = self.peek();
        self.i += 1;
        c
    }
    /// SKIPWHITESPACE: spaces and (nested) comments.
    fn skip_ws(&mut self) {
        loop {
            let c = self.peek();
            if c == 0 {
                return;
            }
            if c == b'(' {
                let mut level = 1u32;
                self.i += 1;
                while level > 0 {
                    let c = self.peek();
                    if c == 0 {
                        break;
                    }
                    self.i += 1;
                    if c == b'\\' && self.peek() != 0 {
                        self.i += 1;
                    } else if c == b'(' {
                        level += 1;
                    } else if c == b')' {
                        level -= 1;
                    }
                }
                // C does (s)-- then (s)++: net position is just past the comment.
                continue;
            } else if !is_space(c) {
                return;
            }
            self.i += 1;
        }
    }

    /// parseaddr_phrase: returns (phrase, terminating special or 0). On an unbalanced quote
    /// the phrase is empty and the token 0 (end of input).
    fn phrase(&mut self, specials: &[u8]) -> (Vec<u8>, u8) {
        self.skip_ws();
        let mut dst: Vec<u8> = Vec::new();
        loop {
            let c = self.next();
            if c == b'"' {
                let mut closed = false;
                loop {
                    let mut c = self.peek();
                    if c == 0 {
                        break;
                    }
                    self.i += 1;
                    if c == b'\\' && self.peek() == b'\r' && self.s.get(self.i + 1) == Some(&b'\n')
                    {
                        c = b'\r';
                        self.i += 1;
                    }
                    if c == b'\r' && self.peek() == b'\n' {
                        self.i += 1;
                        if matches!(self.peek(), b' ' | b'\t') {
                            continue;
                        }
                        return (Vec::new(), 0);
                    } else if c < 0x20 || c == 0x7f {
                        if c == b'\r' || c == b'\n' {
                            c = b' ';
                        } else if c != b'\t' {
                            continue;
                        }
                    }
                    if c == b'"' {
                        closed = true;
                        break;
                    }
                    if c == b'\\' {
                        let e = self.peek();
                        if e == 0 {
                            return (Vec::new(), 0);
                        }
                        self.i += 1;
                        c = e;
                    }
                    dst.push(c);
                }
                if !closed {
                    return (Vec::new(), 0);
                }
            } else if is_space(c) || c == b'(' {
                self.i -= 1;
                self.skip_ws();
                dst.push(b' ');
            } else if c == 0 || specials.contains(&c) {
                if dst.last() == Some(&b' ') {
                    dst.pop();
                }
                return (dst, c);
            } else {
                dst.push(c);
            }
        }
    }

    /// parseaddr_domain: returns (domain, comment, token, invalid).
    fn domain(&mut self, want_comment: bool) -> (Vec<u8>, Option<Vec<u8>>, u8) {
        let mut comment: Option<Vec<u8>> = None;
        self.skip_ws();
        let mut dst: Vec<u8> = Vec::new();
        loop {
            let c = self.next();
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'[' | b']' | b':') {
                dst.push(c);
                comment = None;
            } else if c == b'.' {
                if dst.last().is_some_and(|&l| l != b'.') {
                    dst.push(c);
                }
                comment = None;
            } else if c == b'(' {
                if want_comment {
                    let mut cm = Vec::new();
                    let mut level = 1u32;
                    while level > 0 {
                        let mut c = self.peek();
                        if c == 0 {
                            break;
                        }
                        self.i += 1;
                        if c == b'(' {
                            level += 1;
                        } else if c == b')' {
                            level -= 1;
                        } else if c == b'\\' && self.peek() != 0 {
                            c = self.peek();
                            self.i += 1;
                        }
                        if level > 0 {
                            cm.push(c);
                        }
                    }
                    comment = Some(cm);
                } else {
                    self.i -= 1;
                    self.skip_ws();
                }
            } else if c == b'@' {
                dst.push(c);
                comment = None;
            } else if !is_space(c) {
                if dst.last() == Some(&b'.') {
                    dst.pop();
                }
                return (dst, comment, c);
            }
        }
    }

    /// parseaddr_route.
    fn route(&mut self) -> (Vec<u8>, u8) {
        self.skip_ws();
        let mut dst: Vec<u8> = Vec::new();
        loop {
            let c = self.next();
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'[' | b']' | b',' | b'@') {
                dst.push(c);
            } else if c == b'.' {
                if dst.last().is_some_and(|&l| l != b'.') {
                    dst.push(c);
                }
            } else if is_space(c) || c == b'(' {
                self.i -= 1;
                self.skip_ws();
            } else {
                while dst.last().is_some_and(|&l| matches!(l, b'.' | b',' | b'@')) {
                    dst.pop();
                }
                return (dst, c);
            }
        }
    }
}

fn push(
    out: &mut Vec<Address>,
    name: Option<Vec<u8>>,
    route: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    domain: Option<Vec<u8>>,
) {
    out.push(Address {
        name: name.filter(|n| !n.is_empty()),
        route: route.filter(|r| !r.is_empty()),
        mailbox,
        domain: domain.map(|d| {
            if d.is_empty() {
                UNSPECIFIED_DOMAIN.to_vec()
            } else {
                d
            }
        }),
    });
}

/// Parse an address header value (Cyrus `parseaddr_list`). A NUL byte ends the value, as
/// in C.
pub fn parse_address_list(value: &[u8]) -> Vec<Address> {
    let value = match value.iter().position(|&c| c == 0) {
        Some(n) => &value[..n],
        None => value,
    };
    let mut p = P { s: value, i: 0 };
    let mut out = Vec::new();
    let mut ingroup = false;
    let mut tok = b' ';
    while tok != 0 && out.len() < MAX_ADDRESSES {
        let (phrase, t) = p.phrase(if ingroup { b",@<;" } else { b",@<:" });
        tok = t;
        match tok {
            b',' | 0 | b';' => {
                if !phrase.is_empty() {
                    push(&mut out, None, None, Some(phrase), Some(Vec::new()));
                }
                if tok == b';' {
                    push(&mut out, None, None, None, None);
                    ingroup = false;
                }
            }
            b':' => {
                push(&mut out, None, None, Some(phrase), None);
                ingroup = true;
            }
            b'@' => {
                let (domain, comment, t) = p.domain(true);
                tok = t;
                push(&mut out, comment, None, Some(phrase), Some(domain));
                if tok == b';' {
                    push(&mut out, None, None, None, None);
                    ingroup = false;
                }
            }
            b'<' => {
                let (mut mailbox, t) = p.phrase(b"@>");
                tok = t;
                if tok == b'@' {
                    let mut route = None;
                    if mailbox.is_empty() {
                        p.i -= 1; // back onto the '@'
                        let (r, t) = p.route();
                        tok = t;
                        if tok != b':' {
                            push(
                                &mut out,
                                Some(phrase),
                                Some(r),
                                Some(Vec::new()),
                                Some(Vec::new()),
                            );
                            while tok != 0 && tok != b'>' {
                                tok = p.next();
                            }
                            continue;
                        }
                        route = Some(r);
                        let (m, t) = p.phrase(b"@>");
                        tok = t;
                        mailbox = m;
                        if tok != b'@' {
                            push(
                                &mut out,
                                Some(phrase),
                                route,
                                Some(mailbox),
                                Some(Vec::new()),
                            );
                            continue;
                        }
                    }
                    let (domain, _, t) = p.domain(false);
                    tok = t;
                    push(&mut out, Some(phrase), route, Some(mailbox), Some(domain));
                    while tok != 0 && tok != b'>' {
                        tok = p.next();
                    }
                } else {
                    push(
                        &mut out,
                        Some(phrase),
                        None,
                        Some(mailbox),
                        Some(Vec::new()),
                    );
                }
            }
            _ => {}
        }
    }
    if ingroup {
        push(&mut out, None, None, None, None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mb: Option<&str>, d: Option<&str>) -> Address {
        Address {
            name: name.map(|s| s.as_bytes().to_vec()),
            route: None,
            mailbox: mb.map(|s| s.as_bytes().to_vec()),
            domain: d.map(|s| s.as_bytes().to_vec()),
        }
    }

    #[test]
    fn basic() {
        assert_eq!(
            parse_address_list(b" \"Fred, Jr\" <fred@Example.com>, bob@b.org (Bob B)"),
            vec![
                a(Some("Fred, Jr"), Some("fred"), Some("Example.com")),
                a(Some("Bob B"), Some("bob"), Some("b.org"))
            ]
        );
        assert_eq!(
            parse_address_list(b" undisclosed-recipients:;"),
            vec![
                a(None, Some("undisclosed-recipients"), None),
                a(None, None, None)
            ]
        );
        assert_eq!(
            parse_address_list(b" joe"),
            vec![a(None, Some("joe"), Some("unspecified-domain"))]
        );
        assert_eq!(parse_address_list(b""), vec![]);
        let r = parse_address_list(b" <@a.com,@b.com:joe@c.com>");
        assert_eq!(r[0].route.as_deref(), Some(&b"@a.com,@b.com"[..]));
        assert_eq!(r[0].mailbox.as_deref(), Some(&b"joe"[..]));
    }
}
