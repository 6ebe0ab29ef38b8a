//! The command parser (RFC 3501 §9 grammar and extensions) over one complete command as the
//! [`crate::framer::Framer`] delimits it, literals inline.
//!
//! Owns: turning bytes into [`Command`]s and Cyrus-worded syntax errors. Must not: execute,
//! normalise mailbox names, or panic on any input.

use crate::command::*;
use crate::seqset::SequenceSet;

/// A syntax error: answer `tag BAD text` (or `* BAD text` without a tag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct ParseError {
    pub tag: Option<String>,
    pub text: String,
}

type R<T> = Result<T, String>;

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

fn is_atom_char(c: u8) -> bool {
    c > 0x20 && c < 0x7f && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

fn is_astring_char(c: u8) -> bool {
    is_atom_char(c) || c == b']'
}

fn is_list_char(c: u8) -> bool {
    is_astring_char(c) || c == b'%' || c == b'*'
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn sp(&mut self) -> R<()> {
        if self.eat(b' ') {
            Ok(())
        } else {
            Err("Missing required argument".into())
        }
    }
    fn at_end(&self) -> bool {
        matches!(&self.b[self.i.min(self.b.len())..], b"\r\n" | b"\n" | b"")
    }
    fn end(&mut self) -> R<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err("Unexpected extra arguments".into())
        }
    }
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let s = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        &self.b[s..self.i]
    }
    fn atom(&mut self) -> R<String> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return Err("Missing required argument".into());
        }
        Ok(String::from_utf8_lossy(a).into_owned())
    }
    fn keyword(&mut self, kw: &str) -> bool {
        let n = kw.len();
        if self.b.len() >= self.i + n
            && self.b[self.i..self.i + n].eq_ignore_ascii_case(kw.as_bytes())
        {
            let after = self.b.get(self.i + n).copied();
            if after.is_none_or(|c| !is_atom_char(c) || kw.ends_with('[')) {
                self.i += n;
                return true;
            }
        }
        false
    }
    fn number64(&mut self) -> R<u64> {
        let d = self.take_while(|c| c.is_ascii_digit());
        if d.is_empty() || d.len() > 19 {
            return Err("Invalid number".into());
        }
        std::str::from_utf8(d)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "Invalid number".into())
    }
    fn number(&mut self) -> R<u32> {
        u32::try_from(self.number64()?).map_err(|_| "Invalid number".into())
    }
    fn quoted(&mut self) -> R<Vec<u8>> {
        // caller saw '"'
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r') | Some(b'\n') => return Err("Invalid quoted string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.i += 1;
                        }
                        _ => return Err("Invalid quoted string".into()),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
    fn literal(&mut self) -> R<Vec<u8>> {
        // caller saw '{'
        self.i += 1;
        let n = self.number64()?;
        self.eat(b'+');
        if !self.eat(b'}') {
            return Err("Invalid literal".into());
        }
        self.eat(b'\r');
        if !self.eat(b'\n') {
            return Err("Invalid literal".into());
        }
        let n = usize::try_from(n).map_err(|_| "Invalid literal".to_owned())?;
        let end = self.i.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err("Invalid literal".into());
        };
        let v = self.b[self.i..end].to_vec();
        self.i = end;
        Ok(v)
    }
    fn string(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            _ => Err("Missing required argument".into()),
        }
    }
    fn astring(&mut self) -> R<Vec<u8>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    return Err("Missing required argument".into());
                }
                Ok(a.to_vec())
            }
        }
    }
    fn astr(&mut self) -> R<String> {
        String::from_utf8(self.astring()?).map_err(|_| "Invalid argument (not UTF-8)".into())
    }
    fn nstring(&mut self) -> R<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            return Ok(None);
        }
        self.string().map(Some)
    }
    fn mailbox(&mut self) -> R<String> {
        self.astr()
    }
    fn list_mailbox(&mut self) -> R<String> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.astr(),
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    return Err("Missing required argument".into());
                }
                Ok(String::from_utf8_lossy(a).into_owned())
            }
        }
    }
    fn seqset(&mut self) -> R<SequenceSet> {
        let s = self.take_while(|c| c.is_ascii_digit() || matches!(c, b':' | b',' | b'*'));
        let s = std::str::from_utf8(s).map_err(|_| "Invalid sequence".to_owned())?;
        SequenceSet::parse(s).map_err(|_| "Invalid sequence".into())
    }
    fn flag(&mut self) -> R<String> {
        let bs = self.eat(b'\\');
        if bs && self.eat(b'*') {
            return Ok("\\*".into());
        }
        let a = self.atom()?;
        Ok(if bs { format!("\\{a}") } else { a })
    }
    fn flag_list(&mut self) -> R<Vec<String>> {
        let mut v = Vec::new();
        if !self.eat(b'(') {
            return Err("Invalid flag list".into());
        }
        if self.eat(b')') {
            return Ok(v);
        }
        loop {
            v.push(self.flag()?);
            if self.eat(b')') {
                return Ok(v);
            }
            self.sp()?;
        }
    }
    fn paren_list<T>(&mut self, mut f: impl FnMut(&mut Self) -> R<T>) -> R<Vec<T>> {
        let mut v = Vec::new();
        if !self.eat(b'(') {
            return Err("Missing required argument".into());
        }
        if self.eat(b')') {
            return Ok(v);
        }
        loop {
            v.push(f(self)?);
            if self.eat(b')') {
                return Ok(v);
            }
            self.sp()?;
        }
    }
    fn date(&mut self) -> R<Date> {
        let quoted = self.eat(b'"');
        let d = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'-');
        if quoted && !self.eat(b'"') {
            return Err("Invalid date".into());
        }
        parse_date(d).ok_or_else(|| "Invalid date".into())
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(m: &[u8]) -> Option<u32> {
    let m = std::str::from_utf8(m).ok()?.to_ascii_lowercase();
    MONTHS.iter().position(|x| *x == m).map(|p| p as u32 + 1)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `d-MMM-yyyy` (RFC 3501 `date-text`).
pub fn parse_date(d: &[u8]) -> Option<Date> {
    let s = std::str::from_utf8(d).ok()?;
    let mut it = s.split('-');
    let (day, mon, year) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || day.is_empty() || day.len() > 2 || year.len() != 4 {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = month_of(mon.as_bytes())?;
    let year: i32 = year.parse().ok()?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date { year, month, day })
}

/// `"dd-MMM-yyyy hh:mm:ss +zzzz"` (RFC 3501 `date-time`) to a Unix time.
pub fn parse_date_time(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_prefix(' ').unwrap_or(s);
    let (date, rest) = s.split_once(' ')?;
    let (time, zone) = rest.split_once(' ')?;
    let date = parse_date(date.as_bytes())?;
    let t: Vec<&str> = time.split(':').collect();
    if t.len() != 3 || t.iter().any(|x| x.len() != 2) {
        return None;
    }
    let (h, m, sec): (i64, i64, i64) = (t[0].parse().ok()?, t[1].parse().ok()?, t[2].parse().ok()?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let zb = zone.as_bytes();
    if zb.len() != 5 || !matches!(zb[0], b'+' | b'-') {
        return None;
    }
    let zh: i64 = zone[1..3].parse().ok()?;
    let zm: i64 = zone[3..5].parse().ok()?;
    let off = (zh * 60 + zm) * 60 * if zb[0] == b'-' { -1 } else { 1 };
    Some(date.timestamp() + h * 3600 + m * 60 + sec - off)
}

fn status_item(c: &mut Cur<'_>) -> R<StatusItem> {
    let a = c.atom()?.to_ascii_uppercase();
    Ok(match a.as_str() {
        "MESSAGES" => StatusItem::Messages,
        "RECENT" => StatusItem::Recent,
        "UIDNEXT" => StatusItem::UidNext,
        "UIDVALIDITY" => StatusItem::UidValidity,
        "UNSEEN" => StatusItem::Unseen,
        "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
        "SIZE" => StatusItem::Size,
        _ => return Err("Invalid status attribute".into()),
    })
}

fn part_path(c: &mut Cur<'_>) -> R<Vec<u32>> {
    let mut part = Vec::new();
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = c.number()?;
        if n == 0 {
            return Err("Invalid body section".into());
        }
        part.push(n);
        if !c.eat(b'.') {
            break;
        }
    }
    Ok(part)
}

fn section(c: &mut Cur<'_>) -> R<Section> {
    // after '['
    let part = part_path(c)?;
    let mut s = Section { part, text: None };
    if c.eat(b']') {
        return Ok(s);
    }
    if !s.part.is_empty() && c.b.get(c.i.wrapping_sub(1)) != Some(&b'.') {
        return Err("Invalid body section".into());
    }
    let name = c
        .take_while(|b| b.is_ascii_alphanumeric() || b == b'.')
        .to_ascii_uppercase();
    s.text = Some(match name.as_slice() {
        b"HEADER" => SectionText::Header,
        b"TEXT" => SectionText::Text,
        b"MIME" if !s.part.is_empty() => SectionText::Mime,
        b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
            c.sp()?;
            let f = c.paren_list(|c| c.astr())?;
            if f.is_empty() {
                return Err("Invalid body section".into());
            }
            if name.len() == 13 {
                SectionText::HeaderFields(f)
            } else {
                SectionText::HeaderFieldsNot(f)
            }
        }
        _ => return Err("Invalid body section".into()),
    });
    if !c.eat(b']') {
        return Err("Invalid body section".into());
    }
    Ok(s)
}

fn partial(c: &mut Cur<'_>) -> R<Option<(u32, u32)>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let start = c.number()?;
    if !c.eat(b'.') {
        return Err("Invalid partial".into());
    }
    let len = c.number()?;
    if len == 0 || !c.eat(b'>') {
        return Err("Invalid partial".into());
    }
    Ok(Some((start, len)))
}

fn fetch_att(c: &mut Cur<'_>, out: &mut Vec<FetchAtt>) -> R<()> {
    let name = c
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        .to_ascii_uppercase();
    let a = match name.as_slice() {
        b"ALL" | b"FAST" | b"FULL" => {
            out.extend([
                FetchAtt::Flags,
                FetchAtt::InternalDate,
                FetchAtt::Rfc822Size,
            ]);
            if name != b"FAST" {
                out.push(FetchAtt::Envelope);
            }
            if name == b"FULL" {
                out.push(FetchAtt::Body);
            }
            return Ok(());
        }
        b"ENVELOPE" => FetchAtt::Envelope,
        b"FLAGS" => FetchAtt::Flags,
        b"INTERNALDATE" => FetchAtt::InternalDate,
        b"RFC822" => FetchAtt::Rfc822,
        b"RFC822.HEADER" => FetchAtt::Rfc822Header,
        b"RFC822.SIZE" => FetchAtt::Rfc822Size,
        b"RFC822.TEXT" => FetchAtt::Rfc822Text,
        b"BODYSTRUCTURE" => FetchAtt::BodyStructure,
        b"UID" => FetchAtt::Uid,
        b"MODSEQ" => FetchAtt::ModSeq,
        b"DIGEST.SHA1" => FetchAtt::DigestSha1,
        b"SAVEDATE" => FetchAtt::SaveDate,
        b"EMAILID" => FetchAtt::EmailId,
        b"THREADID" => FetchAtt::ThreadId,
        b"BODY" | b"BODY.PEEK" => {
            if !c.eat(b'[') {
                if name == b"BODY" {
                    out.push(FetchAtt::Body);
                    return Ok(());
                }
                return Err("Invalid fetch attribute".into());
            }
            let section = section(c)?;
            let partial = partial(c)?;
            FetchAtt::BodySection {
                peek: name.len() > 4,
                section,
                partial,
            }
        }
        b"BINARY" | b"BINARY.PEEK" | b"BINARY.SIZE" => {
            if !c.eat(b'[') {
                return Err("Invalid fetch attribute".into());
            }
            let part = part_path(c)?;
            if !c.eat(b']') {
                return Err("Invalid binary section".into());
            }
            if name == b"BINARY.SIZE" {
                FetchAtt::BinarySize(part)
            } else {
                FetchAtt::Binary {
                    peek: name.len() > 6,
                    part,
                    partial: partial(c)?,
                }
            }
        }
        _ => return Err("Invalid fetch attribute".into()),
    };
    out.push(a);
    Ok(())
}

fn search_key(c: &mut Cur<'_>, depth: usize) -> R<SearchKey> {
    if depth > 50 {
        return Err("Invalid Search criteria".into());
    }
    if c.eat(b'(') {
        let mut v = vec![search_key(c, depth + 1)?];
        while !c.eat(b')') {
            c.sp()?;
            v.push(search_key(c, depth + 1)?);
        }
        return Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            SearchKey::And(v)
        });
    }
    if c.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*') {
        return Ok(SearchKey::SequenceSet(c.seqset()?));
    }
    let name = c.atom()?.to_ascii_uppercase();
    let s = |c: &mut Cur<'_>| -> R<String> {
        c.sp()?;
        Ok(String::from_utf8_lossy(&c.astring()?).into_owned())
    };
    let d = |c: &mut Cur<'_>| -> R<Date> {
        c.sp()?;
        c.date()
    };
    let n = |c: &mut Cur<'_>| -> R<u64> {
        c.sp()?;
        c.number64()
    };
    use SearchKey as K;
    Ok(match name.as_str() {
        "ALL" => K::All,
        "ANSWERED" => K::Answered,
        "BCC" => K::Bcc(s(c)?),
        "BEFORE" => K::Before(d(c)?),
        "BODY" => K::Body(s(c)?),
        "CC" => K::Cc(s(c)?),
        "DELETED" => K::Deleted,
        "DRAFT" => K::Draft,
        "FLAGGED" => K::Flagged,
        "FROM" => K::From(s(c)?),
        "HEADER" => {
            let h = s(c)?;
            K::Header(h, s(c)?)
        }
        "KEYWORD" => {
            c.sp()?;
            K::Keyword(c.flag()?)
        }
        "LARGER" => K::Larger(n(c)?),
        "NEW" => K::New,
        "NOT" => {
            c.sp()?;
            K::Not(Box::new(search_key(c, depth + 1)?))
        }
        "OLD" => K::Old,
        "ON" => K::On(d(c)?),
        "OR" => {
            c.sp()?;
            let a = search_key(c, depth + 1)?;
            c.sp()?;
            K::Or(Box::new(a), Box::new(search_key(c, depth + 1)?))
        }
        "RECENT" => K::Recent,
        "SEEN" => K::Seen,
        "SENTBEFORE" => K::SentBefore(d(c)?),
        "SENTON" => K::SentOn(d(c)?),
        "SENTSINCE" => K::SentSince(d(c)?),
        "SINCE" => K::Since(d(c)?),
        "SMALLER" => K::Smaller(n(c)?),
        "SUBJECT" => K::Subject(s(c)?),
        "TEXT" => K::Text(s(c)?),
        "TO" => K::To(s(c)?),
        "UID" => {
            c.sp()?;
            K::Uid(c.seqset()?)
        }
        "UNANSWERED" => K::Unanswered,
        "UNDELETED" => K::Undeleted,
        "UNDRAFT" => K::Undraft,
        "UNFLAGGED" => K::Unflagged,
        "UNKEYWORD" => {
            c.sp()?;
            K::Unkeyword(c.flag()?)
        }
        "UNSEEN" => K::Unseen,
        "OLDER" => K::Older(n(c)?),
        "YOUNGER" => K::Younger(n(c)?),
        "MODSEQ" => {
            c.sp()?;
            // Optional entry-name and entry-type-req (RFC 7162 §3.1.5).
            if c.peek() == Some(b'"') {
                c.quoted()?;
                c.sp()?;
                c.atom()?;
                c.sp()?;
            }
            K::ModSeq(c.number64()?)
        }
        _ => return Err("Invalid Search criteria".into()),
    })
}

fn parse_search(c: &mut Cur<'_>, uid: bool) -> R<CommandBody> {
    c.sp()?;
    let mut ret = None;
    if c.keyword("RETURN") {
        c.sp()?;
        ret = Some(c.paren_list(|c| Ok(c.atom()?.to_ascii_uppercase()))?);
        c.sp()?;
    }
    let mut charset = None;
    if c.keyword("CHARSET") {
        c.sp()?;
        charset = Some(c.astr()?);
        c.sp()?;
    }
    let mut keys = vec![search_key(c, 0)?];
    while !c.at_end() {
        c.sp()?;
        keys.push(search_key(c, 0)?);
    }
    let key = if keys.len() == 1 {
        keys.remove(0)
    } else {
        SearchKey::And(keys)
    };
    Ok(CommandBody::Search {
        uid,
        charset,
        key,
        ret,
    })
}

fn parse_fetch(c: &mut Cur<'_>, uid: bool) -> R<CommandBody> {
    c.sp()?;
    let set = c.seqset()?;
    c.sp()?;
    let mut items = Vec::new();
    if c.eat(b'(') {
        loop {
            fetch_att(c, &mut items)?;
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    } else {
        fetch_att(c, &mut items)?;
    }
    let (mut changedsince, mut vanished) = (None, false);
    if c.eat(b' ') {
        let mods = c.paren_list(|c| {
            let m = c.atom()?.to_ascii_uppercase();
            match m.as_str() {
                "CHANGEDSINCE" => {
                    c.sp()?;
                    Ok((m, c.number64()?))
                }
                "VANISHED" => Ok((m, 0)),
                _ => Err("Invalid fetch modifier".into()),
            }
        })?;
        for (m, v) in mods {
            if m == "VANISHED" {
                vanished = true;
            } else {
                changedsince = Some(v);
            }
        }
    }
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        changedsince,
        vanished,
    })
}

fn parse_store(c: &mut Cur<'_>, uid: bool) -> R<CommandBody> {
    c.sp()?;
    let set = c.seqset()?;
    c.sp()?;
    let mut unchangedsince = None;
    if c.eat(b'(') {
        if !c.keyword("UNCHANGEDSINCE") {
            return Err("Invalid STORE modifier".into());
        }
        c.sp()?;
        unchangedsince = Some(c.number64()?);
        if !c.eat(b')') {
            return Err("Invalid STORE modifier".into());
        }
        c.sp()?;
    }
    let item = c
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        .to_ascii_uppercase();
    let (mode, rest) = match item.first() {
        Some(b'+') => (StoreMode::Add, &item[1..]),
        Some(b'-') => (StoreMode::Remove, &item[1..]),
        _ => (StoreMode::Replace, &item[..]),
    };
    let silent = match rest {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => return Err("Invalid Store attribute".into()),
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        c.flag_list()?
    } else {
        let mut v = vec![c.flag()?];
        while c.eat(b' ') {
            v.push(c.flag()?);
        }
        v
    };
    Ok(CommandBody::Store {
        uid,
        set,
        mode,
        silent,
        flags,
        unchangedsince,
    })
}

fn parse_select(c: &mut Cur<'_>, readonly: bool) -> R<CommandBody> {
    c.sp()?;
    let mailbox = c.mailbox()?;
    let (mut condstore, mut qresync) = (false, None);
    if c.eat(b' ') {
        if !c.eat(b'(') {
            return Err("Invalid select parameters".into());
        }
        loop {
            if c.keyword("CONDSTORE") {
                condstore = true;
            } else if c.keyword("QRESYNC") {
                c.sp()?;
                if !c.eat(b'(') {
                    return Err("Invalid QRESYNC parameters".into());
                }
                let uidvalidity = c.number()?;
                c.sp()?;
                let modseq = c.number64()?;
                let mut p = QresyncParams {
                    uidvalidity,
                    modseq,
                    known_uids: None,
                    seq_match: None,
                };
                if c.eat(b' ') {
                    if c.peek() != Some(b'(') {
                        p.known_uids = Some(c.seqset()?);
                        c.eat(b' ');
                    }
                    if c.eat(b'(') {
                        let a = c.seqset()?;
                        c.sp()?;
                        let b = c.seqset()?;
                        if !c.eat(b')') {
                            return Err("Invalid QRESYNC parameters".into());
                        }
                        p.seq_match = Some((a, b));
                    }
                }
                if !c.eat(b')') {
                    return Err("Invalid QRESYNC parameters".into());
                }
                qresync = Some(p);
            } else {
                // Unknown select parameters are an error (RFC 4466 §2.1).
                return Err("Invalid select parameters".into());
            }
            if c.eat(b')') {
                break;
            }
            c.sp()?;
        }
    }
    Ok(CommandBody::Select {
        mailbox,
        condstore,
        qresync,
        readonly,
    })
}

fn parse_list(c: &mut Cur<'_>) -> R<CommandBody> {
    c.sp()?;
    let mut options = ListOptions::default();
    if c.peek() == Some(b'(') {
        options.extended = true;
        options.selection = c.paren_list(|c| Ok(c.atom()?.to_ascii_uppercase()))?;
        c.sp()?;
    }
    let reference = c.mailbox()?;
    c.sp()?;
    let patterns = if c.peek() == Some(b'(') {
        options.extended = true;
        c.paren_list(|c| c.list_mailbox())?
    } else {
        vec![c.list_mailbox()?]
    };
    if c.eat(b' ') {
        if !c.keyword("RETURN") {
            return Err("Invalid LIST return options".into());
        }
        options.extended = true;
        c.sp()?;
        if !c.eat(b'(') {
            return Err("Invalid LIST return options".into());
        }
        if !c.eat(b')') {
            loop {
                let opt = c.atom()?.to_ascii_uppercase();
                if opt == "STATUS" {
                    c.sp()?;
                    options.status = Some(c.paren_list(status_item)?);
                } else {
                    options.ret.push(opt);
                }
                if c.eat(b')') {
                    break;
                }
                c.sp()?;
            }
        }
    }
    Ok(CommandBody::List {
        reference,
        patterns,
        options,
    })
}

fn parse_append(c: &mut Cur<'_>) -> R<CommandBody> {
    c.sp()?;
    let mailbox = c.mailbox()?;
    let mut messages = Vec::new();
    // MULTIAPPEND (RFC 3502): further `[flags] [date] literal` groups follow.
    while c.eat(b' ') {
        let mut flags = Vec::new();
        if c.peek() == Some(b'(') {
            flags = c.flag_list()?;
            c.sp()?;
        }
        let mut date = None;
        if c.peek() == Some(b'"') {
            let d = c.quoted()?;
            date = Some(parse_date_time(&d).ok_or("Invalid date-time")?);
            c.sp()?;
        }
        // RFC 3516 literal8 `~{n}` is accepted as a plain literal.
        c.eat(b'~');
        if c.peek() != Some(b'{') {
            return Err("Missing required argument to Append".into());
        }
        let message = c.literal()?;
        messages.push(AppendMessage {
            flags,
            date,
            message,
        });
    }
    if messages.is_empty() {
        return Err("Missing required argument to Append".into());
    }
    Ok(CommandBody::Append { mailbox, messages })
}

fn body(c: &mut Cur<'_>, name: &str) -> R<CommandBody> {
    use CommandBody as B;
    let one_mailbox = |c: &mut Cur<'_>| -> R<String> {
        c.sp()?;
        c.mailbox()
    };
    Ok(match name {
        "CAPABILITY" => B::Capability,
        "NOOP" => B::Noop,
        "LOGOUT" => B::Logout,
        "STARTTLS" => B::StartTls,
        "CHECK" => B::Check,
        "CLOSE" => B::Close,
        "UNSELECT" => B::Unselect,
        "EXPUNGE" => B::Expunge,
        "IDLE" => B::Idle,
        "NAMESPACE" => B::Namespace,
        "UNAUTHENTICATE" => B::Unauthenticate,
        "AUTHENTICATE" => {
            c.sp()?;
            let mechanism = c.atom()?;
            let initial = if c.eat(b' ') {
                let v =
                    c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                if v.is_empty() {
                    return Err("Invalid initial response".into());
                }
                Some(v.to_vec())
            } else {
                None
            };
            B::Authenticate { mechanism, initial }
        }
        "LOGIN" => {
            c.sp()?;
            let user = c.astring()?;
            c.sp()?;
            let password = c.astring()?;
            B::Login { user, password }
        }
        "SELECT" => parse_select(c, false)?,
        "EXAMINE" => parse_select(c, true)?,
        "CREATE" => {
            let mailbox = one_mailbox(c)?;
            let mut special_use = Vec::new();
            if c.eat(b' ') {
                let params = c.paren_list(|c| {
                    let k = c.atom()?.to_ascii_uppercase();
                    c.sp()?;
                    if k == "USE" {
                        c.paren_list(|c| c.flag())
                    } else {
                        Err("Invalid create parameters".into())
                    }
                })?;
                special_use = params.into_iter().flatten().collect();
            }
            B::Create {
                mailbox,
                special_use,
            }
        }
        "DELETE" => B::Delete(one_mailbox(c)?),
        "RENAME" => {
            let from = one_mailbox(c)?;
            let to = one_mailbox(c)?;
            // An optional partition argument (Cyrus) is accepted and ignored.
            if c.eat(b' ') {
                c.astring()?;
            }
            B::Rename { from, to }
        }
        "SUBSCRIBE" => B::Subscribe(one_mailbox(c)?),
        "UNSUBSCRIBE" => B::Unsubscribe(one_mailbox(c)?),
        "LIST" => parse_list(c)?,
        "LSUB" | "XLIST" => {
            let reference = one_mailbox(c)?;
            c.sp()?;
            let pattern = c.list_mailbox()?;
            if name == "LSUB" {
                B::Lsub { reference, pattern }
            } else {
                B::Xlist { reference, pattern }
            }
        }
        "STATUS" => {
            let mailbox = one_mailbox(c)?;
            c.sp()?;
            let items = c.paren_list(status_item)?;
            B::Status { mailbox, items }
        }
        "APPEND" => parse_append(c)?,
        "SEARCH" => parse_search(c, false)?,
        "FETCH" => parse_fetch(c, false)?,
        "STORE" => parse_store(c, false)?,
        "COPY" | "MOVE" => {
            c.sp()?;
            let set = c.seqset()?;
            let mailbox = one_mailbox(c)?;
            if name == "COPY" {
                B::Copy {
                    uid: false,
                    set,
                    mailbox,
                }
            } else {
                B::Move {
                    uid: false,
                    set,
                    mailbox,
                }
            }
        }
        "UID" => {
            c.sp()?;
            let sub = c.atom()?.to_ascii_uppercase();
            match sub.as_str() {
                "FETCH" => parse_fetch(c, true)?,
                "SEARCH" => parse_search(c, true)?,
                "STORE" => parse_store(c, true)?,
                "COPY" | "MOVE" => {
                    c.sp()?;
                    let set = c.seqset()?;
                    let mailbox = one_mailbox(c)?;
                    if sub == "COPY" {
                        B::Copy {
                            uid: true,
                            set,
                            mailbox,
                        }
                    } else {
                        B::Move {
                            uid: true,
                            set,
                            mailbox,
                        }
                    }
                }
                "EXPUNGE" => {
                    c.sp()?;
                    B::UidExpunge(c.seqset()?)
                }
                _ => return Err("Unrecognized UID subcommand".into()),
            }
        }
        "ID" => {
            c.sp()?;
            if c.keyword("NIL") {
                B::Id(None)
            } else {
                let mut v = Vec::new();
                if !c.eat(b'(') {
                    return Err("Invalid ID parameters".into());
                }
                if !c.eat(b')') {
                    loop {
                        let k = String::from_utf8_lossy(&c.string()?).into_owned();
                        c.sp()?;
                        let val = c
                            .nstring()?
                            .map(|x| String::from_utf8_lossy(&x).into_owned());
                        if v.len() >= 30 {
                            return Err("Too many parameters".into());
                        }
                        v.push((k, val));
                        if c.eat(b')') {
                            break;
                        }
                        c.sp()?;
                    }
                }
                B::Id(Some(v))
            }
        }
        "ENABLE" => {
            let mut v = Vec::new();
            while c.eat(b' ') {
                v.push(c.atom()?.to_ascii_uppercase());
            }
            if v.is_empty() {
                return Err("Missing required argument to Enable".into());
            }
            B::Enable(v)
        }
        "COMPRESS" => {
            c.sp()?;
            B::Compress(c.atom()?)
        }
        "GETACL" => B::GetAcl(one_mailbox(c)?),
        "MYRIGHTS" => B::MyRights(one_mailbox(c)?),
        "SETACL" => {
            let mailbox = one_mailbox(c)?;
            c.sp()?;
            let identifier = c.astr()?;
            c.sp()?;
            let rights = c.astr()?;
            B::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }
        "DELETEACL" | "LISTRIGHTS" => {
            let mailbox = one_mailbox(c)?;
            c.sp()?;
            let identifier = c.astr()?;
            if name == "DELETEACL" {
                B::DeleteAcl {
                    mailbox,
                    identifier,
                }
            } else {
                B::ListRights {
                    mailbox,
                    identifier,
                }
            }
        }
        "GETQUOTA" => B::GetQuota(one_mailbox(c)?),
        "GETQUOTAROOT" => B::GetQuotaRoot(one_mailbox(c)?),
        "SETQUOTA" => {
            let root = one_mailbox(c)?;
            c.sp()?;
            let bad = || "Invalid quota list in Setquota".to_owned();
            let mut limits = Vec::new();
            if !c.eat(b'(') {
                return Err(bad());
            }
            if !c.eat(b')') {
                loop {
                    let res = c.atom().map_err(|_| bad())?.to_ascii_uppercase();
                    c.sp().map_err(|_| bad())?;
                    // RFC 2087 limits are >= 0; Cyrus also takes -1 for "unlimited".
                    let limit = if c.eat(b'-') {
                        if c.number64().map_err(|_| bad())? != 1 {
                            return Err(bad());
                        }
                        None
                    } else {
                        Some(c.number64().map_err(|_| bad())?)
                    };
                    limits.push((res, limit));
                    if c.eat(b')') {
                        break;
                    }
                    c.sp().map_err(|_| bad())?;
                }
            }
            B::SetQuota { root, limits }
        }
        "GETMETADATA" => {
            c.sp()?;
            let (mut maxsize, mut depth) = (None, None);
            if c.peek() == Some(b'(') {
                let opts = c.paren_list(|c| {
                    let k = c.atom()?.to_ascii_uppercase();
                    c.sp()?;
                    let v = c.atom()?;
                    Ok((k, v))
                })?;
                for (k, v) in opts {
                    match k.as_str() {
                        "MAXSIZE" => maxsize = Some(v.parse().map_err(|_| "Invalid MAXSIZE")?),
                        "DEPTH" => depth = Some(v),
                        _ => return Err("Invalid GETMETADATA option".into()),
                    }
                }
                c.sp()?;
            }
            let mailbox = c.mailbox()?;
            c.sp()?;
            let entries = if c.peek() == Some(b'(') {
                c.paren_list(|c| c.astr())?
            } else {
                vec![c.astr()?]
            };
            B::GetMetadata {
                maxsize,
                depth,
                mailbox,
                entries,
            }
        }
        "SETMETADATA" => {
            let mailbox = one_mailbox(c)?;
            c.sp()?;
            let entries = c.paren_list(|c| {
                let k = c.astr()?;
                c.sp()?;
                let v = c.nstring()?;
                Ok((k, v))
            })?;
            B::SetMetadata { mailbox, entries }
        }
        "SYNCAPPLY" | "SYNCGET" | "SYNCRESTART" => {
            let args = c.b[c.i..].to_vec();
            c.i = c.b.len();
            return Ok(B::Sync {
                verb: name.to_owned(),
                args,
            });
        }
        _ => return Err("Unrecognized command".into()),
    })
}

/// Parse one complete command (as framed, trailing CRLF included or not).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut c = Cur { b: input, i: 0 };
    let tag = c.take_while(|b| is_astring_char(b) && b != b'+');
    if tag.is_empty() || tag.len() > 100 {
        return Err(ParseError {
            tag: None,
            text: "Invalid tag".into(),
        });
    }
    let tag = String::from_utf8_lossy(tag).into_owned();
    let err = |text: String| ParseError {
        tag: Some(tag.clone()),
        text,
    };
    if !c.eat(b' ') {
        return Err(err("Null command".into()));
    }
    let name = c
        .take_while(|b| b.is_ascii_alphabetic())
        .to_ascii_uppercase();
    let name = String::from_utf8_lossy(&name).into_owned();
    if name.is_empty() {
        return Err(err("Null command".into()));
    }
    let pretty = {
        let mut p = name.to_ascii_lowercase();
        if let Some(f) = p.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        p
    };
    let body = body(&mut c, &name).map_err(|e| {
        if e == "Missing required argument" || e == "Unexpected extra arguments" {
            err(format!("{e} to {pretty}"))
        } else {
            err(e)
        }
    })?;
    if !matches!(body, CommandBody::Sync { .. }) {
        c.end()
            .map_err(|e| err(format!("{e} to {}", body.name())))?;
    }
    Ok(Command { tag, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seqset::SeqNum;

    fn p(s: &str) -> CommandBody {
        parse_command(s.as_bytes()).unwrap().body
    }

    fn bad(s: &str) -> String {
        parse_command(s.as_bytes()).unwrap_err().text
    }

    #[test]
    fn simple_commands() {
        assert_eq!(p("a CAPABILITY\r\n"), CommandBody::Capability);
        assert_eq!(p("a noop"), CommandBody::Noop);
        assert_eq!(
            p("a LOGIN {5}\r\nalice \"se\\\"cret\"\r\n"),
            CommandBody::Login {
                user: b"alice".to_vec(),
                password: b"se\"cret".to_vec()
            }
        );
        assert_eq!(
            p("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(b"AGFsaWNlAHNlY3JldA==".to_vec())
            }
        );
        assert_eq!(
            p("a RENAME foo \"bar baz\""),
            CommandBody::Rename {
                from: "foo".into(),
                to: "bar baz".into()
            }
        );
    }

    #[test]
    fn fetch_items() {
        let CommandBody::Fetch {
            uid,
            set,
            items,
            changedsince,
            ..
        } = p(
            "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100> BODY[1.2.MIME] \
             RFC822.SIZE) (CHANGEDSINCE 5)",
        )
        else {
            panic!()
        };
        assert!(uid);
        assert_eq!(set.0, vec![(SeqNum::Value(1), SeqNum::Star)]);
        assert_eq!(changedsince, Some(5));
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[1],
            FetchAtt::BodySection {
                peek: true,
                section: Section {
                    part: vec![],
                    text: Some(SectionText::HeaderFields(vec![
                        "From".into(),
                        "Subject".into()
                    ]))
                },
                partial: Some((0, 100))
            }
        );
        assert_eq!(
            items[2],
            FetchAtt::BodySection {
                peek: false,
                section: Section {
                    part: vec![1, 2],
                    text: Some(SectionText::Mime)
                },
                partial: None
            }
        );
        let CommandBody::Fetch { items, .. } = p("a FETCH 1 ALL") else {
            panic!()
        };
        assert_eq!(items.len(), 4);
        let CommandBody::Fetch { items, .. } = p("a FETCH 1 body[]") else {
            panic!()
        };
        assert_eq!(
            items[0],
            FetchAtt::BodySection {
                peek: false,
                section: Section::default(),
                partial: None
            }
        );
    }

    #[test]
    fn search_and_store() {
        let CommandBody::Search { key, .. } =
            p("a SEARCH CHARSET UTF-8 OR FROM alice (SEEN 2:4) NOT SINCE 1-Feb-2024")
        else {
            panic!()
        };
        let SearchKey::And(v) = key else { panic!() };
        assert_eq!(v.len(), 2);
        assert!(matches!(v[1], SearchKey::Not(_)));
        assert_eq!(
            p("a STORE 1:2 +FLAGS.SILENT (\\Seen foo)"),
            CommandBody::Store {
                uid: false,
                set: SequenceSet::parse("1:2").unwrap(),
                mode: StoreMode::Add,
                silent: true,
                flags: vec!["\\Seen".into(), "foo".into()],
                unchangedsince: None
            }
        );
    }

    #[test]
    fn append_and_list() {
        let CommandBody::Append { mailbox, messages } =
            p("a APPEND INBOX (\\Seen) \" 1-Jan-2024 12:00:00 +0100\" {3+}\r\nabc {2+}\r\nde\r\n")
        else {
            panic!()
        };
        assert_eq!(mailbox, "INBOX");
        assert_eq!(messages.len(), 2);
        assert_eq!(
            (messages[0].flags.len(), messages[0].message.as_slice()),
            (1, &b"abc"[..])
        );
        assert_eq!(messages[0].date, Some(1_704_106_800));
        assert_eq!(messages[1].message, b"de");
        let CommandBody::List {
            options, patterns, ..
        } = p("a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))")
        else {
            panic!()
        };
        assert_eq!(patterns, vec!["*".to_string(), "%".to_string()]);
        assert_eq!(options.selection, vec!["SUBSCRIBED".to_string()]);
        assert_eq!(options.status.map(|s| s.len()), Some(2));
    }

    #[test]
    fn errors() {
        assert_eq!(bad("a FOO"), "Unrecognized command");
        assert_eq!(bad("a LOGIN alice"), "Missing required argument to Login");
        assert_eq!(bad("a NOOP x"), "Unexpected extra arguments to Noop");
        assert_eq!(bad("a FETCH 0 FLAGS"), "Invalid sequence");
        assert_eq!(
            bad("a FETCH 1 (FLAGS"),
            "Missing required argument to Fetch"
        );
        assert_eq!(bad("a LOGIN {10}\r\nabc"), "Invalid literal");
        assert_eq!(bad("a SEARCH FROB"), "Invalid Search criteria");
        assert_eq!(
            p("a SETQUOTA user/x (STORAGE 10 MESSAGE -1)"),
            CommandBody::SetQuota {
                root: "user/x".into(),
                limits: vec![("STORAGE".into(), Some(10)), ("MESSAGE".into(), None)]
            }
        );
        // cyradm 3.6 writes `(STORAGE 100MESSAGE 50 )`; Cyrus refuses it the same way.
        assert_eq!(
            bad("5 SETQUOTA user/dan (STORAGE 100MESSAGE 50 )"),
            "Invalid quota list in Setquota"
        );
        assert!(parse_command(b"").is_err());
        assert!(parse_command(b"\r\n").is_err());
        let deep = format!("a SEARCH {}ALL{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(bad(&deep), "Invalid Search criteria");
    }

    #[test]
    fn dates() {
        assert_eq!(
            Date {
                year: 1970,
                month: 1,
                day: 2
            }
            .timestamp(),
            86_400
        );
        let d = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(Date::from_timestamp(d.timestamp() + 5), d);
        assert!(parse_date(b"30-Feb-2024").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_command(&s);
        }

        #[test]
        fn never_panics_texty(s in "[a-zA-Z0-9 ()\\[\\]{}<>.*:,\"\\\\+\r\n-]{0,80}") {
            let _ = parse_command(format!("a {s}").as_bytes());
            let _ = parse_command(format!("a UID FETCH 1 {s}").as_bytes());
            let _ = parse_command(format!("a SEARCH {s}").as_bytes());
        }
    }
}
