//! IMAP syntax for message data: ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 §7.4.2) written
//! byte for byte as Cyrus 3.6 writes them (imap/message.c `message_write_envelope`,
//! `message_write_body`, `message_write_nstring`), and the string/nstring writer they use.
//!
//! Owns: the response syntax of these three items. Must not: parse, decode encoded words
//! (ENVELOPE strings stay as written in the header), add atoms (Cyrus never writes an atom
//! here: strings are quoted, or literals when they hold CR, LF, NUL, 8-bit, `"`, `%`, `\`, or
//! are 1024 bytes or longer).

use crate::address::Address;
use crate::header::Param;
use crate::parse::{BodyPart, EnvelopeFields, default_text};

/// Write `s` as a quoted string when Cyrus would, else as a synchronising literal.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let literal = s.len() >= 1024
        || s.iter()
            .any(|&c| c == 0 || c & 0x80 != 0 || matches!(c, b'\r' | b'\n' | b'"' | b'%' | b'\\'));
    if literal {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    }
}

/// Write `NIL` for `None`, else [`write_string`].
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => write_string(out, s),
    }
}

fn write_addresses(out: &mut Vec<u8>, list: Option<&[Address]>) {
    let Some(list) = list else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_nstring(out, a.name.as_deref());
        out.push(b' ');
        write_nstring(out, a.route.as_deref());
        out.push(b' ');
        write_nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        write_nstring(out, a.domain.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// Write an ENVELOPE (RFC 3501 §7.4.2): sender and reply-to default to from.
pub fn write_envelope(out: &mut Vec<u8>, env: &EnvelopeFields) {
    out.push(b'(');
    write_nstring(out, env.date.as_deref());
    out.push(b' ');
    write_nstring(out, env.subject.as_deref());
    out.push(b' ');
    write_addresses(out, env.from.as_deref());
    out.push(b' ');
    write_addresses(out, env.sender.as_deref().or(env.from.as_deref()));
    out.push(b' ');
    write_addresses(out, env.reply_to.as_deref().or(env.from.as_deref()));
    out.push(b' ');
    write_addresses(out, env.to.as_deref());
    out.push(b' ');
    write_addresses(out, env.cc.as_deref());
    out.push(b' ');
    write_addresses(out, env.bcc.as_deref());
    out.push(b' ');
    write_nstring(out, env.in_reply_to.as_deref());
    out.push(b' ');
    write_nstring(out, env.message_id.as_deref());
    out.push(b')');
}

fn write_params(out: &mut Vec<u8>, params: &[Param]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_string(out, &p.attribute);
        out.push(b' ');
        write_string(out, &p.value);
    }
    out.push(b')');
}

fn write_ext_tail(out: &mut Vec<u8>, part: &BodyPart) {
    out.push(b' ');
    match &part.disposition {
        Some(d) => {
            out.push(b'(');
            write_string(out, &d.value);
            out.push(b' ');
            write_params(out, &d.params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    if part.language.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, l) in part.language.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            write_string(out, l);
        }
        out.push(b')');
    }
    out.push(b' ');
    write_nstring(out, part.location.as_deref());
}

/// The empty text/plain part Cyrus writes in place of a zero-part multipart.
fn zero_text() -> BodyPart {
    let mut b = BodyPart::default();
    let ct = default_text();
    b.media_type = ct.media_type;
    b.subtype = ct.subtype;
    b.params = ct.params;
    b
}

/// Write BODYSTRUCTURE (`extended`) or BODY (not `extended`) for `part`.
pub fn write_body(out: &mut Vec<u8>, part: &BodyPart, extended: bool) {
    if part.is_multipart() {
        if part.parts.is_empty() {
            write_body(out, &zero_text(), extended);
            return;
        }
        out.push(b'(');
        for p in &part.parts {
            write_body(out, p, extended);
        }
        out.push(b' ');
        write_string(out, &part.subtype);
        if extended {
            out.push(b' ');
            write_params(out, &part.params);
            write_ext_tail(out, part);
        }
        out.push(b')');
        return;
    }
    out.push(b'(');
    write_string(out, &part.media_type);
    out.push(b' ');
    write_string(out, &part.subtype);
    out.push(b' ');
    write_params(out, &part.params);
    out.push(b' ');
    write_nstring(out, part.id.as_deref());
    out.push(b' ');
    write_nstring(out, part.description.as_deref());
    out.push(b' ');
    write_string(out, part.encoding.as_deref().unwrap_or(b"7BIT"));
    out.push(b' ');
    out.extend_from_slice(part.content_size.to_string().as_bytes());
    if part.is_text() {
        out.push(b' ');
        out.extend_from_slice(part.content_lines.to_string().as_bytes());
    } else if part.is_rfc822() {
        let fallback;
        let sub = match &part.message {
            Some(m) => m.as_ref(),
            None => {
                fallback = zero_text();
                &fallback
            }
        };
        out.push(b' ');
        write_envelope(out, sub.envelope());
        out.push(b' ');
        write_body(out, sub, extended);
        out.push(b' ');
        out.extend_from_slice(part.content_lines.to_string().as_bytes());
    }
    if extended {
        out.push(b' ');
        write_nstring(out, part.md5.as_deref());
        write_ext_tail(out, part);
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        let mut v = Vec::new();
        write_nstring(&mut v, None);
        v.push(b' ');
        write_string(&mut v, b"a b");
        v.push(b' ');
        write_string(&mut v, b"100%");
        v.push(b' ');
        write_string(&mut v, "é".as_bytes());
        assert_eq!(v, b"NIL \"a b\" {4}\r\n100% {2}\r\n\xc3\xa9");
    }
}
