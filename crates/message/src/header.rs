//! RFC 5322 header blocks: splitting a header block into fields, and Cyrus 3.6's lenient
//! parsers for the MIME header values (Content-Type, Content-Disposition, Content-Language,
//! Content-Transfer-Encoding, RFC 2231 parameters) and for unstructured strings.
//!
//! Owns: field iteration over a header byte range and the value parsers' exact quirks
//! (imap/message.c `message_parse_*` in Cyrus 3.6.1).
//! Must not: decode encoded words (see `decode`), parse addresses (see `address`), allocate
//! anything proportional to a body.

/// One header field of a header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name: the bytes before the first `:` (not trimmed; may be empty).
    pub name: &'a [u8],
    /// The raw value: after the `:` up to the end of the field, folds (CRLF + WSP) included,
    /// the final line break excluded.
    pub value: &'a [u8],
    /// The whole field including its final line break.
    pub raw: &'a [u8],
}

/// Iterate over the fields of a header block (which may include the blank line that ends
/// it; iteration stops there). Lines without a colon are returned with an empty name and the
/// whole line as value, so callers can skip them.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

/// Iterate over the header fields in `block`.
pub fn fields(block: &[u8]) -> Fields<'_> {
    Fields { rest: block }
}

/// Length of the line starting at `s[0]`, including its `\n` (or to the end).
fn line_len(s: &[u8]) -> usize {
    match memchr(b'\n', s) {
        Some(i) => i + 1,
        None => s.len(),
    }
}

pub(crate) fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

fn is_blank_line(s: &[u8]) -> bool {
    s.first() == Some(&b'\n') || s.starts_with(b"\r\n")
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let s = self.rest;
        if s.is_empty() || is_blank_line(s) {
            return None;
        }
        let mut end = line_len(s);
        while end < s.len() && matches!(s[end], b' ' | b'\t') {
            end += line_len(&s[end..]);
        }
        let raw = &s[..end];
        self.rest = &s[end..];
        let mut body_end = end;
        if body_end > 0 && raw[body_end - 1] == b'\n' {
            body_end -= 1;
            if body_end > 0 && raw[body_end - 1] == b'\r' {
                body_end -= 1;
            }
        }
        // Cyrus's field name: up to the first of ':' CR LF; no colon = not a field.
        let first_line = &raw[..line_len(raw).min(body_end)];
        match first_line
            .iter()
            .position(|&c| matches!(c, b':' | b'\r' | b'\n'))
        {
            Some(i) if first_line[i] == b':' => Some(Field {
                name: &raw[..i],
                value: &raw[i + 1..body_end],
                raw,
            }),
            _ => Some(Field {
                name: b"",
                value: &raw[..body_end],
                raw,
            }),
        }
    }
}

/// RFC 2045 tspecials as Cyrus's MIME_TSPECIALS.
const TSPECIALS: &[u8] = b"()<>@,;:\\\"/[]?=";

/// Cyrus's `Uisspace`: SP, HTAB, LF, VT, FF, CR.
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A byte that ends a MIME token as invalid (Cyrus: `*p < ' '` on signed char, so 8-bit too).
fn bad_token_byte(c: u8) -> bool {
    !(b' '..0x80).contains(&c) || TSPECIALS.contains(&c)
}

/// Skip RFC 822 whitespace and comments (Cyrus `message_parse_rfc822space`). Returns `None`
/// at the end of the value (including an unterminated comment).
fn skip_cfws(s: &[u8], mut p: usize) -> Option<usize> {
    while p < s.len() && (is_space(s[p]) || s[p] == b'(') {
        if s[p] == b'\n' {
            p += 1;
            if p >= s.len() || !matches!(s[p], b' ' | b'\t') {
                return None;
            }
        } else if s[p] == b'(' {
            p += 1;
            let mut level = 1u32;
            while level > 0 {
                match s.get(p) {
                    None => return None,
                    Some(b'\n') => {
                        p += 1;
                        if !matches!(s.get(p), Some(b' ' | b'\t')) {
                            return None;
                        }
                        continue;
                    }
                    Some(b'\\') => p += 1,
                    Some(b'(') => level += 1,
                    Some(b')') => level -= 1,
                    Some(_) => {}
                }
                p += 1;
            }
        } else {
            p += 1;
        }
    }
    if p >= s.len() || s[p] == 0 {
        None
    } else {
        Some(p)
    }
}

fn upper(s: &[u8]) -> Vec<u8> {
    s.to_ascii_uppercase()
}

/// A MIME parameter (attribute uppercased as Cyrus does; value as written, unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub attribute: Vec<u8>,
    pub value: Vec<u8>,
}

/// Parse an unstructured header value as Cyrus's `message_parse_string`: skip leading SP/HTAB,
/// remove the line breaks of folds (keeping the WSP that follows). Trailing WSP is kept.
pub fn parse_string(value: &[u8]) -> Vec<u8> {
    let mut p = 0;
    while p < value.len() && matches!(value[p], b' ' | b'\t') {
        p += 1;
    }
    let v = &value[p..];
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\r' && v.get(i + 1) == Some(&b'\n') {
            i += 2;
        } else if v[i] == b'\n' {
            i += 1;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out
}

/// Parse Content-Transfer-Encoding (Cyrus `message_parse_encoding`): one token, uppercased;
/// anything else makes the header count as absent.
pub fn parse_encoding(value: &[u8]) -> Option<Vec<u8>> {
    let start = skip_cfws(value, 0)?;
    let mut p = start;
    while p < value.len() && !is_space(value[p]) && value[p] != b'(' {
        if bad_token_byte(value[p]) {
            return None;
        }
        p += 1;
    }
    if skip_cfws(value, p).is_some() {
        return None;
    }
    Some(upper(&value[start..p]))
}

/// A parsed Content-Type: type and subtype uppercased, parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub media_type: Vec<u8>,
    pub subtype: Vec<u8>,
    pub params: Vec<Param>,
}

/// Parse Content-Type (Cyrus `message_parse_type`). `None` when the value is not usable,
/// in which case the part gets its default type.
pub fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let start = skip_cfws(value, 0)?;
    let mut p = start;
    while p < value.len() && !is_space(value[p]) && value[p] != b'/' && value[p] != b'(' {
        if bad_token_byte(value[p]) {
            return None;
        }
        p += 1;
    }
    let ty = &value[start..p];
    let mut p = skip_cfws(value, p)?;
    if value[p] != b'/' {
        return None;
    }
    p += 1;
    let sub_start = skip_cfws(value, p)?;
    let mut p = sub_start;
    while p < value.len() && !is_space(value[p]) && value[p] != b';' && value[p] != b'(' {
        if bad_token_byte(value[p]) {
            return None;
        }
        p += 1;
    }
    let sub = &value[sub_start..p];
    let after = skip_cfws(value, p);
    let mut params = Vec::new();
    match after {
        None => {}
        Some(q) if value[q] == b';' => {
            params = parse_params(value, q + 1);
            fold_params(&mut params);
        }
        Some(_) => return None,
    }
    Some(ContentType {
        media_type: upper(ty),
        subtype: upper(sub),
        params,
    })
}

/// A parsed Content-Disposition: value uppercased, parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub value: Vec<u8>,
    pub params: Vec<Param>,
}

/// Parse Content-Disposition (Cyrus `message_parse_disposition`).
pub fn parse_disposition(value: &[u8]) -> Option<Disposition> {
    let start = skip_cfws(value, 0)?;
    let mut p = start;
    while p < value.len() && !is_space(value[p]) && value[p] != b';' && value[p] != b'(' {
        if bad_token_byte(value[p]) {
            return None;
        }
        p += 1;
    }
    let disp = upper(&value[start..p]);
    let mut params = Vec::new();
    match skip_cfws(value, p) {
        None => {}
        Some(q) if value[q] == b';' => {
            params = parse_params(value, q + 1);
            fold_params(&mut params);
        }
        Some(_) => return None,
    }
    Some(Disposition {
        value: disp,
        params,
    })
}

/// Parse Content-Language (Cyrus `message_parse_language`): comma-separated tags of letters
/// and `-`, uppercased; parsing stops (keeping earlier tags) at the first malformed one.
pub fn parse_language(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        let Some(start) = skip_cfws(value, p) else {
            return out;
        };
        let mut q = start;
        while q < value.len() && !is_space(value[q]) && value[q] != b',' && value[q] != b'(' {
            if value[q] != b'-' && !value[q].is_ascii_alphabetic() {
                return out;
            }
            q += 1;
        }
        let tag = upper(&value[start..q]);
        match skip_cfws(value, q) {
            None => {
                out.push(tag);
                return out;
            }
            Some(r) if value[r] == b',' => {
                out.push(tag);
                p = r + 1;
            }
            Some(_) => return out,
        }
    }
}

/// Our bound on parameters kept from one header field (Cyrus has none); RFC 2231 folding is
/// quadratic in their number.
pub const MAX_PARAMS: usize = 256;

/// Is `s[p..]` a fold (optional CR, LF, then SP/HTAB)? Returns the length of the line break.
fn fold_at(s: &[u8], p: usize) -> Option<usize> {
    let lb = if s.get(p) == Some(&b'\r') && s.get(p + 1) == Some(&b'\n') {
        2
    } else if s.get(p) == Some(&b'\n') {
        1
    } else {
        return None;
    };
    matches!(s.get(p + lb), Some(b' ' | b'\t')).then_some(lb)
}

/// Parse a parameter list starting at `s[p]` (Cyrus `message_parse_params`, including its
/// skip-to-next-`;` recovery from malformed parameters).
fn parse_params(s: &[u8], mut p: usize) -> Vec<Param> {
    let mut out = Vec::new();
    loop {
        if out.len() >= MAX_PARAMS {
            return out;
        }
        let Some(a) = skip_cfws(s, p) else { return out };
        let attr_start = a;
        let mut q = a;
        let mut bad = false;
        while q < s.len() && !is_space(s[q]) && s[q] != b'=' && s[q] != b'(' {
            if bad_token_byte(s[q]) {
                bad = true;
                break;
            }
            q += 1;
        }
        let attr_end = q;
        if !bad {
            let Some(r) = skip_cfws(s, q) else { return out };
            if s[r] != b'=' {
                bad = true;
                q = r;
            } else {
                let Some(v) = skip_cfws(s, r + 1) else {
                    return out;
                };
                let value_start = v;
                let mut h = v;
                let mut value: Vec<u8> = Vec::new();
                if s[h] == b'"' {
                    h += 1;
                    loop {
                        match s.get(h) {
                            None => return out,
                            Some(b'"') => break,
                            Some(b'\\') => {
                                h += 1;
                                match s.get(h) {
                                    None => return out,
                                    Some(&c) => value.push(c),
                                }
                                h += 1;
                            }
                            Some(b'\r' | b'\n') => match fold_at(s, h) {
                                Some(lb) => h += lb,
                                None => return out,
                            },
                            Some(&c) => {
                                value.push(c);
                                h += 1;
                            }
                        }
                    }
                    h += 1; // closing quote
                } else {
                    let mut endval = h;
                    while h < s.len() && s[h] != b';' && s[h] != b'(' {
                        if matches!(s[h], b'\r' | b'\n') {
                            if let Some(lb) = fold_at(s, h) {
                                h += lb;
                                continue;
                            }
                            break;
                        }
                        if s[h] < b' ' && s[h] != b'\t' {
                            bad = true;
                            break;
                        }
                        if s[h] != b' ' && s[h] != b'\t' {
                            endval = h;
                        }
                        h += 1;
                    }
                    if !bad {
                        // Cyrus keeps the byte at `endval` even for an empty value.
                        h = (endval + 1).min(s.len());
                        value = s[value_start..h].to_vec();
                        // Folds inside an unquoted value stay as written (Cyrus copies the
                        // raw span).
                    }
                }
                if bad {
                    q = h;
                } else {
                    match skip_cfws(s, h) {
                        Some(t) if s[t] != b';' => {
                            q = t;
                            bad = true;
                        }
                        next => {
                            out.push(Param {
                                attribute: upper(&s[attr_start..attr_end]),
                                value,
                            });
                            match next {
                                None => return out,
                                Some(t) => {
                                    p = t + 1;
                                    continue;
                                }
                            }
                        }
                    }
                }
            }
        }
        debug_assert!(bad);
        // skip: to the next ';' or line break
        while q < s.len() && !matches!(s[q], b';' | b'\r' | b'\n') {
            q += 1;
        }
        if q < s.len() && s[q] == b';' {
            q += 1;
        }
        if q >= s.len() {
            return out;
        }
        p = q;
    }
}

fn pct_encode_into(out: &mut Vec<u8>, v: &[u8]) {
    for &c in v {
        if c <= b' ' || c >= 0x7f || c == b'*' || c == b'\'' || c == b'%' || TSPECIALS.contains(&c)
        {
            out.extend_from_slice(format!("%{c:02X}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

/// Join RFC 2231 continuations `NAME*0`, `NAME*1*`, ... into `NAME` or `NAME*` exactly as
/// Cyrus's `message_fold_params` (values stay percent-encoded; up to 100 sections).
fn fold_params(params: &mut Vec<Param>) {
    let mut i = 0;
    while i < params.len() {
        let attr = params[i].attribute.clone();
        let star = attr.iter().position(|&c| c == b'*');
        let initial = star.filter(|&a| {
            attr.get(a + 1) == Some(&b'0')
                && (attr.len() == a + 2 || (attr.len() == a + 3 && attr[a + 2] == b'*'))
        });
        let Some(a) = initial else {
            i += 1;
            continue;
        };
        let base = attr[..a].to_vec();
        let mut extended = attr.len() == a + 3;
        for section in 1..100u32 {
            let sect = format!("*{section}");
            let found = params.iter().position(|p| {
                p.attribute.starts_with(&base)
                    && p.attribute[base.len()..].starts_with(sect.as_bytes())
                    && (p.attribute.len() == base.len() + sect.len()
                        || (p.attribute.len() == base.len() + sect.len() + 1
                            && p.attribute[base.len() + sect.len()] == b'*'))
            });
            let Some(j) = found else { break };
            let cont = params.remove(j);
            if j < i {
                i -= 1;
            }
            let cont_ext = cont.attribute.len() == base.len() + sect.len() + 1;
            let this = &mut params[i];
            match (cont_ext, extended) {
                (false, true) => pct_encode_into(&mut this.value, &cont.value),
                (false, false) | (true, true) => this.value.extend_from_slice(&cont.value),
                (true, false) => {
                    let mut v = b"''".to_vec();
                    pct_encode_into(&mut v, &this.value);
                    v.extend_from_slice(&cont.value);
                    this.value = v;
                    extended = true;
                }
            }
        }
        let mut name = base;
        if extended {
            name.push(b'*');
        }
        params[i].attribute = name;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &str, v: &str) -> Param {
        Param {
            attribute: a.as_bytes().to_vec(),
            value: v.as_bytes().to_vec(),
        }
    }

    #[test]
    fn field_split() {
        let h = b"Subject: a\r\n b\r\nFrom:x\r\nbad line\r\n\r\nbody";
        let f: Vec<_> = fields(h).collect();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].value, b" a\r\n b");
        assert_eq!(f[1].value, b"x");
        assert_eq!(f[2].name, b"");
    }

    #[test]
    fn content_type() {
        let ct = parse_content_type(b" text/plain; charset=\"utf-8\"; format=flowed").unwrap();
        assert_eq!(ct.media_type, b"TEXT");
        assert_eq!(ct.subtype, b"PLAIN");
        assert_eq!(
            ct.params,
            vec![p("CHARSET", "utf-8"), p("FORMAT", "flowed")]
        );
        assert!(parse_content_type(b" text").is_none());
        assert!(parse_content_type(b" text/plain garbage").is_none());
        let ct = parse_content_type(b" Text/HTML (comment) ; a=b (c)").unwrap();
        assert_eq!(ct.params, vec![p("A", "b")]);
        let ct = parse_content_type(b" a/b; x=y z ; q=\"r\\\"s\"").unwrap();
        assert_eq!(ct.params, vec![p("X", "y z"), p("Q", "r\"s")]);
    }

    #[test]
    fn rfc2231() {
        let ct = parse_content_type(b" application/x; name*0=\"ab\"; name*1=\"cd\"; name*2*=%41")
            .unwrap();
        assert_eq!(ct.params, vec![p("NAME*", "''abcd%41")]);
        let ct = parse_content_type(b" application/x; name*1=\"cd\"; name*0=\"ab\"").unwrap();
        assert_eq!(ct.params, vec![p("NAME", "abcd")]);
    }

    #[test]
    fn others() {
        assert_eq!(parse_encoding(b" base64 "), Some(b"BASE64".to_vec()));
        assert_eq!(parse_encoding(b" base64 x"), None);
        assert_eq!(
            parse_language(b" en, de-CH"),
            vec![b"EN".to_vec(), b"DE-CH".to_vec()]
        );
        let d = parse_disposition(b" attachment; filename=a.txt").unwrap();
        assert_eq!(d.value, b"ATTACHMENT");
        assert_eq!(d.params, vec![p("FILENAME", "a.txt")]);
        assert_eq!(parse_string(b"  a\r\n b "), b"a b ");
    }
}
