//! The selected-mailbox view of one session (RFC 3501 §5.2): the message sequence, \Recent,
//! the viewer's \Seen, and how changes made elsewhere reach this client (EXISTS, EXPUNGE or
//! VANISHED, FETCH FLAGS).
//!
//! Owns: sequence numbers and the session's snapshot. Must not: call the store (the session
//! loads records and hands them in).

use std::collections::{BTreeSet, HashSet};

use imap_proto::SequenceSet;
use mailstore::MessageRecord;
use types::MboxName;

use crate::acl::Rights;

/// One message as this session sees it.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub rec: MessageRecord,
    pub recent: bool,
}

impl Msg {
    pub(crate) fn uid(&self) -> u32 {
        self.rec.uid.0
    }
}

/// The selected mailbox.
#[derive(Debug)]
pub(crate) struct Selected {
    pub name: MboxName,
    pub uniqueid: String,
    pub readonly: bool,
    pub uidvalidity: u32,
    pub msgs: Vec<Msg>,
    pub highestmodseq: u64,
    pub last_uid: u32,
    pub rights: Rights,
    /// `Some(uids)` when \Seen is kept per user (the viewer does not own the mailbox).
    pub seen: Option<BTreeSet<u32>>,
    /// UIDs this session reported as \Recent.
    pub recent: HashSet<u32>,
    /// Keywords in use, in first-seen order (for `* FLAGS`).
    pub keywords: Vec<String>,
}

impl Selected {
    pub(crate) fn exists(&self) -> u32 {
        self.msgs.len() as u32
    }

    pub(crate) fn max_uid(&self) -> u32 {
        self.msgs.last().map(Msg::uid).unwrap_or(0)
    }

    pub(crate) fn is_seen(&self, m: &Msg) -> bool {
        match &self.seen {
            Some(s) => s.contains(&m.uid()),
            None => m.rec.flags.seen,
        }
    }

    /// Indexes (0-based) of the messages a set names.
    /// Indexes (0-based, ascending) of the messages a set names. Ranges are merged first, so
    /// the cost is O(ranges·log ranges + messages) however the client writes the set.
    pub(crate) fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<usize> {
        if self.msgs.is_empty() {
            return Vec::new();
        }
        let star = if uid { self.max_uid() } else { self.exists() };
        let mut ranges: Vec<(u32, u32)> = set
            .0
            .iter()
            .map(|&(a, b)| {
                let r = |x: imap_proto::SeqNum| match x {
                    imap_proto::SeqNum::Value(v) => v,
                    imap_proto::SeqNum::Star => star,
                };
                (r(a).min(r(b)), r(a).max(r(b)))
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let mut out = Vec::new();
        let mut r = merged.iter().peekable();
        for (i, m) in self.msgs.iter().enumerate() {
            let key = if uid { m.uid() } else { i as u32 + 1 };
            while r.peek().is_some_and(|&&(_, hi)| hi < key) {
                r.next();
            }
            match r.peek() {
                Some(&&(lo, _)) if lo <= key => out.push(i),
                Some(_) => {}
                None => break,
            }
        }
        out
    }

    pub(crate) fn index_of_uid(&self, uid: u32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, Msg::uid).ok()
    }

    pub(crate) fn note_keywords(&mut self, rec: &MessageRecord) -> bool {
        let mut new = false;
        for k in &rec.user_flags {
            if !self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                self.keywords.push(k.clone());
                new = true;
            }
        }
        new
    }

    /// The FLAGS list of a message: `\Recent` first, then system flags in Cyrus's order, then
    /// keywords.
    pub(crate) fn flags_of(&self, m: &Msg) -> String {
        let f = &m.rec.flags;
        let mut v: Vec<&str> = Vec::new();
        if m.recent {
            v.push("\\Recent");
        }
        for (on, n) in [
            (f.answered, "\\Answered"),
            (f.flagged, "\\Flagged"),
            (f.draft, "\\Draft"),
            (f.deleted, "\\Deleted"),
        ] {
            if on {
                v.push(n);
            }
        }
        if self.is_seen(m) {
            v.push("\\Seen");
        }
        for k in &m.rec.user_flags {
            v.push(k);
        }
        format!("({})", v.join(" "))
    }
}

/// What changed since the session's snapshot, given the records with modseq above it.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Sequence numbers (as they were, highest first) of expunged messages, with their UIDs.
    pub expunged: Vec<(u32, u32)>,
    /// Indexes of messages whose flags changed.
    pub changed: Vec<usize>,
    /// Whether new messages arrived.
    pub grew: bool,
    pub new_keywords: bool,
}

impl Selected {
    /// Fold `records` (changed since our HIGHESTMODSEQ, expunged ones included) into the
    /// snapshot. `allow_expunge` false keeps expunged messages (RFC 3501 §7.4.1: no EXPUNGE
    /// during FETCH/STORE/SEARCH), to be reported later.
    pub(crate) fn apply(
        &mut self,
        records: Vec<MessageRecord>,
        highestmodseq: u64,
        allow_expunge: bool,
    ) -> Changes {
        let mut ch = Changes::default();
        let mut gone: BTreeSet<u32> = BTreeSet::new();
        let mut fully_applied = true;
        for rec in records {
            let uid = rec.uid.0;
            match self.index_of_uid(uid) {
                Some(i) => {
                    if rec.expunged {
                        if allow_expunge {
                            gone.insert(uid);
                        } else {
                            fully_applied = false;
                        }
                    } else if rec.modseq != self.msgs[i].rec.modseq {
                        ch.new_keywords |= self.note_keywords(&rec);
                        self.msgs[i].rec = rec;
                        ch.changed.push(i);
                    }
                }
                None if rec.expunged => {}
                None if uid > self.last_uid => {
                    ch.new_keywords |= self.note_keywords(&rec);
                    // A message arriving while the mailbox is selected read-write is \Recent
                    // to this session (as Cyrus reports `* n RECENT` after APPEND).
                    let recent = self.recent.contains(&uid) || !self.readonly;
                    if recent {
                        self.recent.insert(uid);
                    }
                    self.msgs.push(Msg { rec, recent });
                    ch.grew = true;
                }
                None => {}
            }
        }
        self.msgs.sort_by_key(Msg::uid);
        if !gone.is_empty() {
            let mut seq = self.msgs.len() as u32;
            let mut kept = Vec::with_capacity(self.msgs.len());
            for m in std::mem::take(&mut self.msgs).into_iter().rev() {
                if gone.contains(&m.uid()) {
                    ch.expunged.push((seq, m.uid()));
                } else {
                    kept.push(m);
                }
                seq -= 1;
            }
            kept.reverse();
            self.msgs = kept;
            // Indexes of changed messages moved; recompute by UID.
            let changed_uids: Vec<u32> = ch
                .changed
                .iter()
                .filter_map(|&i| self.msgs.get(i).map(Msg::uid))
                .collect();
            ch.changed = changed_uids
                .into_iter()
                .filter_map(|u| self.index_of_uid(u))
                .collect();
        }
        self.last_uid = self.last_uid.max(self.max_uid());
        if fully_applied {
            self.highestmodseq = self.highestmodseq.max(highestmodseq);
        }
        ch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstore::SystemFlags;
    use types::{Modseq, Uid};

    fn rec(uid: u32, modseq: u64, expunged: bool) -> MessageRecord {
        MessageRecord {
            uid: Uid(uid),
            modseq: Modseq(modseq),
            expunged,
            flags: SystemFlags::default(),
            ..Default::default()
        }
    }

    fn sel() -> Selected {
        Selected {
            name: MboxName::new("user.a").unwrap(),
            uniqueid: "x".into(),
            readonly: false,
            uidvalidity: 1,
            msgs: [1, 3, 5, 7]
                .iter()
                .map(|&u| Msg {
                    rec: rec(u, 1, false),
                    recent: false,
                })
                .collect(),
            highestmodseq: 1,
            last_uid: 7,
            rights: Rights::all(),
            seen: None,
            recent: HashSet::new(),
            keywords: vec![],
        }
    }

    #[test]
    fn expunge_and_grow() {
        let mut s = sel();
        let ch = s.apply(
            vec![rec(3, 2, true), rec(7, 3, true), rec(8, 4, false)],
            4,
            true,
        );
        assert_eq!(ch.expunged, vec![(4, 7), (2, 3)]);
        assert!(ch.grew);
        assert_eq!(
            s.msgs.iter().map(Msg::uid).collect::<Vec<_>>(),
            vec![1, 5, 8]
        );
        let set = SequenceSet::parse("2:*").unwrap();
        assert_eq!(s.resolve(&set, false), vec![1, 2]);
        let set = SequenceSet::parse("3,1,1:1,*:3").unwrap();
        assert_eq!(s.resolve(&set, false), vec![0, 2]);
        assert_eq!(
            s.resolve(&SequenceSet::parse("1:4,8").unwrap(), true),
            vec![0, 2]
        );
        assert_eq!(
            s.resolve(&SequenceSet::parse("6:*").unwrap(), true),
            vec![2]
        );
    }

    #[test]
    fn deferred_expunge() {
        let mut s = sel();
        let ch = s.apply(vec![rec(3, 2, true)], 2, false);
        assert!(ch.expunged.is_empty());
        assert_eq!(s.highestmodseq, 1);
    }
}
