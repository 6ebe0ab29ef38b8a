//! SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH RETURN options (RFC 4731) and the
//! CONDSTORE MODSEQ key (RFC 7162 §3.1.5).
//!
//! Owns: evaluating search keys over the selected view. Text keys use `message::search`
//! (Cyrus's search form: decoded, case-folded, diacritics stripped, white space merged).
//! Must not: change any state.

use imap_proto::{Date, SearchKey, SequenceSet};
use message::search::{AddressField, SearchText};

use crate::selected::{Msg, Selected};
use crate::session::{Reply, Session, ok};

fn needs_body(k: &SearchKey) -> bool {
    use SearchKey as K;
    match k {
        K::Bcc(_)
        | K::Body(_)
        | K::Cc(_)
        | K::From(_)
        | K::Header(..)
        | K::Subject(_)
        | K::Text(_)
        | K::To(_)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_) => true,
        K::Not(a) => needs_body(a),
        K::Or(a, b) => needs_body(a) || needs_body(b),
        K::And(v) => v.iter().any(needs_body),
        _ => false,
    }
}

fn has_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(a) => has_modseq(a),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(v) => v.iter().any(has_modseq),
        _ => false,
    }
}

struct Ctx<'a> {
    sel: &'a Selected,
    seq: u32,
    m: &'a Msg,
    raw: Option<&'a [u8]>,
    parsed: Option<&'a message::Message>,
    charset: Option<&'a [u8]>,
    now: i64,
}

fn needle(c: &Ctx<'_>, s: &str) -> Option<SearchText> {
    SearchText::with_charset(s.as_bytes(), c.charset)
}

fn eval(k: &SearchKey, c: &Ctx<'_>) -> bool {
    use SearchKey as K;
    let r = &c.m.rec;
    let f = &r.flags;
    let seen = c.sel.is_seen(c.m);
    let idate = Date::from_timestamp(r.internaldate);
    let msg = || c.raw.zip(c.parsed);
    let addr = |f: AddressField, s: &str| {
        msg().is_some_and(|(_, p)| needle(c, s).is_some_and(|n| p.address_matches(f, &n)))
    };
    // Cyrus 3.6.1 falls back to the INTERNALDATE's day when Date: is absent or unparsable.
    let sent = || {
        c.parsed
            .and_then(|p| p.sent_date())
            .map(|d| Date {
                year: d.year,
                month: u32::from(d.month),
                day: u32::from(d.day),
            })
            .unwrap_or(idate)
    };
    match k {
        K::All => true,
        K::Answered => f.answered,
        K::Deleted => f.deleted,
        K::Draft => f.draft,
        K::Flagged => f.flagged,
        K::Seen => seen,
        K::Unanswered => !f.answered,
        K::Undeleted => !f.deleted,
        K::Undraft => !f.draft,
        K::Unflagged => !f.flagged,
        K::Unseen => !seen,
        K::Recent => c.m.recent,
        K::New => c.m.recent && !seen,
        K::Old => !c.m.recent,
        K::Keyword(kw) => keyword(r, kw),
        K::Unkeyword(kw) => !keyword(r, kw),
        K::Larger(n) => r.size > *n,
        K::Smaller(n) => r.size < *n,
        K::Before(d) => idate < *d,
        K::On(d) => idate == *d,
        K::Since(d) => idate >= *d,
        K::Older(s) => c.now - r.internaldate >= *s as i64,
        K::Younger(s) => c.now - r.internaldate <= *s as i64,
        K::SentBefore(d) => sent() < *d,
        K::SentOn(d) => sent() == *d,
        K::SentSince(d) => sent() >= *d,
        K::From(s) => addr(AddressField::From, s),
        K::To(s) => addr(AddressField::To, s),
        K::Cc(s) => addr(AddressField::Cc, s),
        K::Bcc(s) => addr(AddressField::Bcc, s),
        K::Subject(s) => {
            msg().is_some_and(|(_, p)| needle(c, s).is_some_and(|n| p.subject_matches(&n)))
        }
        K::Header(h, s) => msg().is_some_and(|(raw, p)| {
            needle(c, s).is_some_and(|n| p.header_matches(raw, h.as_bytes(), &n))
        }),
        K::Body(s) => {
            msg().is_some_and(|(raw, p)| needle(c, s).is_some_and(|n| p.body_matches(raw, &n)))
        }
        K::Text(s) => {
            msg().is_some_and(|(raw, p)| needle(c, s).is_some_and(|n| p.text_matches(raw, &n)))
        }
        K::Uid(set) => set.contains(r.uid.0, c.sel.max_uid()),
        K::SequenceSet(set) => set.contains(c.seq, c.sel.exists()),
        K::ModSeq(m) => r.modseq.0 >= *m,
        K::Not(a) => !eval(a, c),
        K::Or(a, b) => eval(a, c) || eval(b, c),
        K::And(v) => v.iter().all(|x| eval(x, c)),
    }
}

fn keyword(r: &mailstore::MessageRecord, kw: &str) -> bool {
    if kw.starts_with('\\') {
        let mut f = mailstore::SystemFlags::default();
        if f.set_by_name(kw, true) {
            let g = &r.flags;
            return (f.seen && g.seen)
                || (f.deleted && g.deleted)
                || (f.answered && g.answered)
                || (f.flagged && g.flagged)
                || (f.draft && g.draft);
        }
        return false;
    }
    r.user_flags.iter().any(|u| u.eq_ignore_ascii_case(kw))
}

impl Session {
    pub(crate) async fn search(
        &mut self,
        tag: &str,
        uid: bool,
        charset: Option<String>,
        key: SearchKey,
        ret: Option<Vec<String>>,
    ) -> Reply {
        if let Some(cs) = &charset
            && SearchText::with_charset(b"", Some(cs.as_bytes())).is_none()
        {
            return Reply::No(
                Some("BADCHARSET (US-ASCII UTF-8)".into()),
                "Unrecognized character set".into(),
            );
        }
        self.refresh(uid).await;
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        let body = needs_body(&key);
        let name = sel.name.clone();
        let now = self.srv.store.now();
        let mut hits: Vec<(u32, u32, u64)> = Vec::new();
        let n = sel.msgs.len();
        for i in 0..n {
            let Some(sel) = &self.sel else { break };
            let Some(m) = sel.msgs.get(i) else { break };
            let raw = if body {
                let (n2, r2) = (name.clone(), m.rec.clone());
                self.st(move |s| {
                    let p = s.message_path(&n2, &r2)?;
                    Ok(mailstore::read_body(&p)?)
                })
                .await
                .ok()
            } else {
                None
            };
            let Some(sel) = &self.sel else { break };
            let Some(m) = sel.msgs.get(i) else { break };
            let parsed = raw.as_deref().map(message::Message::parse);
            let c = Ctx {
                sel,
                seq: i as u32 + 1,
                m,
                raw: raw.as_deref(),
                parsed: parsed.as_ref(),
                charset: charset.as_deref().map(str::as_bytes),
                now,
            };
            if eval(&key, &c) {
                hits.push((i as u32 + 1, m.uid(), m.rec.modseq.0));
            }
        }
        let ids: Vec<u32> = hits.iter().map(|h| if uid { h.1 } else { h.0 }).collect();
        let maxmod = hits.iter().map(|h| h.2).max().unwrap_or(0);
        let modseq = has_modseq(&key);
        if modseq {
            self.condstore = true;
        }
        match ret {
            None => {
                let mut line = "* SEARCH".to_owned();
                for id in &ids {
                    line.push_str(&format!(" {id}"));
                }
                if modseq && !ids.is_empty() {
                    line.push_str(&format!(" (MODSEQ {maxmod})"));
                }
                line.push_str("\r\n");
                self.out.extend(line.into_bytes());
            }
            Some(opts) => {
                let opts: Vec<String> = if opts.is_empty() {
                    vec!["ALL".into()]
                } else {
                    opts
                };
                let mut line = String::from("* ESEARCH");
                line.push_str(&format!(" (TAG \"{tag}\")"));
                if uid {
                    line.push_str(" UID");
                }
                // Cyrus's order: COUNT, MIN, MAX, ALL (then MODSEQ).
                let want = |o: &str| opts.iter().any(|x| x == o);
                if want("COUNT") {
                    line.push_str(&format!(" COUNT {}", ids.len()));
                }
                if !ids.is_empty() {
                    if want("MIN") {
                        line.push_str(&format!(" MIN {}", ids[0]));
                    }
                    if want("MAX") {
                        line.push_str(&format!(" MAX {}", ids[ids.len() - 1]));
                    }
                    if want("ALL")
                        && let Some(s) = SequenceSet::from_values(&ids)
                    {
                        line.push_str(&format!(" ALL {s}"));
                    }
                }
                if modseq && !ids.is_empty() {
                    line.push_str(&format!(" MODSEQ {maxmod}"));
                }
                line.push_str("\r\n");
                self.out.extend(line.into_bytes());
            }
        }
        ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_use_search_form() {
        let raw: &[u8] =
            b"From: Zo\xc3\xab <zoe@example.com>\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\n\
                  Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nSome   Body\r\n";
        let p = message::Message::parse(raw);
        let n = SearchText::new("CAFE");
        assert!(p.subject_matches(&n));
        assert!(p.body_matches(raw, &SearchText::new("some body")));
        assert!(p.address_matches(AddressField::From, &SearchText::new("zoe@EXAMPLE")));
        assert_eq!(
            p.sent_date().map(|d| (d.year, d.month, d.day)),
            Some((2024, 1, 1))
        );
    }
}
