//! SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH RETURN options (RFC 4731) and the
//! CONDSTORE MODSEQ key (RFC 7162 §3.1.5).
//!
//! Owns: evaluating search keys over the selected view. Header and body text matching use the
//! message crate's header splitting and RFC 2047 decoding, case-insensitively as Cyrus's
//! default comparator; switch to `message::search` once that API lands.
//! Must not: change any state.

use imap_proto::{Date, SearchKey, SequenceSet};

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

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    needle.is_empty() || lower(hay).contains(&lower(needle))
}

fn header_block(raw: &[u8]) -> &[u8] {
    let p = message::Message::parse(raw);
    &raw[..p.header_size().min(raw.len())]
}

fn header_values(raw: &[u8], name: &str) -> Vec<String> {
    message::header::fields(header_block(raw))
        .filter(|f| f.name.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| message::decode::decode_header(f.value).trim().to_owned())
        .collect()
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The calendar date of an RFC 5322 `Date:` value (its own time zone).
fn sent_date(raw: &[u8]) -> Option<Date> {
    let v = header_values(raw, "Date").into_iter().next()?;
    let toks: Vec<&str> = v
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let start = toks
        .iter()
        .position(|t| t.chars().all(|c| c.is_ascii_digit()))?;
    let day: u32 = toks.get(start)?.parse().ok()?;
    let mon = toks.get(start + 1)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| mon.starts_with(m))? as u32 + 1;
    let mut year: i32 = toks.get(start + 2)?.parse().ok()?;
    if year < 50 {
        year += 2000;
    } else if year < 1000 {
        year += 1900;
    }
    (1..=31).contains(&day).then_some(Date { year, month, day })
}

struct Ctx<'a> {
    sel: &'a Selected,
    seq: u32,
    m: &'a Msg,
    raw: Option<&'a [u8]>,
    now: i64,
}

fn eval(k: &SearchKey, c: &Ctx<'_>) -> bool {
    use SearchKey as K;
    let r = &c.m.rec;
    let f = &r.flags;
    let seen = c.sel.is_seen(c.m);
    let idate = Date::from_timestamp(r.internaldate);
    let text = |name: &str, needle: &str| -> bool {
        c.raw.is_some_and(|raw| {
            header_values(raw, name)
                .iter()
                .any(|v| contains_ci(v, needle))
        })
    };
    let sent = || c.raw.and_then(sent_date);
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
        K::SentBefore(d) => sent().is_some_and(|x| x < *d),
        K::SentOn(d) => sent().is_some_and(|x| x == *d),
        K::SentSince(d) => sent().is_some_and(|x| x >= *d),
        K::From(s) => text("From", s),
        K::To(s) => text("To", s),
        K::Cc(s) => text("Cc", s),
        K::Bcc(s) => text("Bcc", s),
        K::Subject(s) => text("Subject", s),
        K::Header(h, s) => text(h, s),
        K::Body(s) => c.raw.is_some_and(|raw| {
            let hs = header_block(raw).len();
            contains_ci(&String::from_utf8_lossy(&raw[hs..]), s)
        }),
        K::Text(s) => c
            .raw
            .is_some_and(|raw| contains_ci(&String::from_utf8_lossy(raw), s)),
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
            && !["US-ASCII", "UTF-8"]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(cs))
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
            let c = Ctx {
                sel,
                seq: i as u32 + 1,
                m,
                raw: raw.as_deref(),
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
                if !ids.is_empty() {
                    for o in &opts {
                        match o.as_str() {
                            "MIN" => line.push_str(&format!(" MIN {}", ids[0])),
                            "MAX" => line.push_str(&format!(" MAX {}", ids[ids.len() - 1])),
                            "ALL" => {
                                if let Some(s) = SequenceSet::from_values(&ids) {
                                    line.push_str(&format!(" ALL {s}"));
                                }
                            }
                            "COUNT" => {}
                            _ => {}
                        }
                    }
                }
                if opts.iter().any(|o| o == "COUNT") {
                    line.push_str(&format!(" COUNT {}", ids.len()));
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
    fn sent_dates() {
        let raw =
            b"Date: Mon, 01 Jan 2024 12:00:00 +0000\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody";
        assert_eq!(
            sent_date(raw),
            Some(Date {
                year: 2024,
                month: 1,
                day: 1
            })
        );
        assert_eq!(header_values(raw, "subject"), vec!["café".to_string()]);
        assert!(contains_ci("Hello World", "WORLD"));
    }
}
