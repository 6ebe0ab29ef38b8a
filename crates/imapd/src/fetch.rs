//! FETCH (RFC 3501 §6.4.5, RFC 7162 CHANGEDSINCE/VANISHED, Cyrus DIGEST.SHA1): building each
//! message's data items, reading bodies from the store off the reactor, and setting \Seen
//! for non-PEEK body fetches.
//!
//! Owns: FETCH response formatting. Must not: parse MIME (the message crate does).

use imap_proto::response::date_time;
use imap_proto::{FetchAtt, SectionText, SequenceSet};
use mailstore::{FlagChange, FlagOp, SystemFlags};
use types::{Modseq, Uid};

use crate::session::{Reply, Session, no, ok, store_reply};

fn needs_body(a: &FetchAtt) -> bool {
    matches!(
        a,
        FetchAtt::Envelope
            | FetchAtt::Body
            | FetchAtt::BodyStructure
            | FetchAtt::BodySection { .. }
            | FetchAtt::Binary { .. }
            | FetchAtt::BinarySize(_)
            | FetchAtt::Rfc822
            | FetchAtt::Rfc822Header
            | FetchAtt::Rfc822Text
    )
}

fn sets_seen(a: &FetchAtt) -> bool {
    matches!(
        a,
        FetchAtt::BodySection { peek: false, .. }
            | FetchAtt::Binary { peek: false, .. }
            | FetchAtt::Rfc822
            | FetchAtt::Rfc822Text
    )
}

fn to_msg_section(s: &imap_proto::Section) -> message::Section {
    message::Section {
        part: s.part.clone(),
        text: s.text.as_ref().map(|t| match t {
            SectionText::Header => message::SectionText::Header,
            SectionText::Text => message::SectionText::Text,
            SectionText::Mime => message::SectionText::Mime,
            SectionText::HeaderFields(f) => message::SectionText::HeaderFields {
                not: false,
                fields: f.iter().map(|x| x.as_bytes().to_vec()).collect(),
            },
            SectionText::HeaderFieldsNot(f) => message::SectionText::HeaderFields {
                not: true,
                fields: f.iter().map(|x| x.as_bytes().to_vec()).collect(),
            },
        }),
    }
}

/// The section spec as echoed in the response (`1.HEADER.FIELDS (From)`).
fn section_label(s: &imap_proto::Section) -> String {
    let mut out: Vec<String> = s.part.iter().map(u32::to_string).collect();
    if let Some(t) = &s.text {
        out.push(match t {
            SectionText::Header => "HEADER".into(),
            SectionText::Text => "TEXT".into(),
            SectionText::Mime => "MIME".into(),
            SectionText::HeaderFields(f) => format!("HEADER.FIELDS ({})", quote_fields(f)),
            SectionText::HeaderFieldsNot(f) => {
                format!("HEADER.FIELDS.NOT ({})", quote_fields(f))
            }
        });
    }
    out.join(".")
}

fn quote_fields(f: &[String]) -> String {
    f.iter()
        .map(|x| {
            let mut v = Vec::new();
            imap_proto::response::astring(&mut v, x.as_bytes());
            String::from_utf8_lossy(&v).into_owned()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn section_data(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        None => out.extend_from_slice(b"NIL"),
        Some(d) => {
            out.extend_from_slice(&message::section::literal_prefix(d));
            if !d.is_empty() {
                out.extend_from_slice(d);
            }
        }
    }
}

/// The part a BINARY section path names (RFC 3516): numbers index a multipart's parts, or go
/// through an encapsulated message; a leaf part is its own part 1.
fn part_at<'a>(root: &'a message::BodyPart, path: &[u32]) -> Option<&'a message::BodyPart> {
    let mut node = root;
    for &n in path {
        let idx = usize::try_from(n).ok()?.checked_sub(1)?;
        let container = match &node.message {
            Some(m) if node.parts.is_empty() => m.as_ref(),
            _ => node,
        };
        node = if container.parts.is_empty() {
            if idx == 0 { container } else { return None }
        } else {
            container.parts.get(idx)?
        };
    }
    Some(node)
}

/// BINARY[path]: the part's content with its Content-Transfer-Encoding removed; `None` when
/// the part does not exist or its encoding is unknown (NIL).
fn binary(msg: &message::Message, raw: &[u8], path: &[u32]) -> Option<Vec<u8>> {
    if path.is_empty() {
        return Some(raw.to_vec());
    }
    let part = part_at(msg.root(), path)?;
    let end = part
        .content_offset
        .saturating_add(part.content_size)
        .min(raw.len());
    let content = raw.get(part.content_offset.min(end)..end)?;
    let enc = message::decode::TransferEncoding::from_header(part.encoding.as_deref());
    if enc == message::decode::TransferEncoding::Unknown {
        return None;
    }
    Some(message::decode::decode_transfer(content, enc).into_owned())
}

fn item_rank(a: &FetchAtt) -> u8 {
    match a {
        FetchAtt::Flags => 0,
        FetchAtt::Uid => 1,
        FetchAtt::DigestSha1 => 2,
        FetchAtt::InternalDate => 3,
        FetchAtt::ModSeq => 4,
        FetchAtt::Rfc822Size => 5,
        FetchAtt::EmailId => 6,
        FetchAtt::ThreadId => 7,
        FetchAtt::SaveDate => 8,
        FetchAtt::Envelope => 9,
        FetchAtt::BodyStructure => 10,
        FetchAtt::Body => 11,
        FetchAtt::Rfc822Header => 12,
        FetchAtt::Rfc822Text => 13,
        FetchAtt::Rfc822 => 14,
        FetchAtt::BodySection { .. } | FetchAtt::Binary { .. } | FetchAtt::BinarySize(_) => 15,
    }
}

impl Session {
    pub(crate) async fn fetch(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mut items: Vec<FetchAtt>,
        changedsince: Option<u64>,
        vanished: bool,
    ) -> Reply {
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        if !uid && !set.within(sel.exists()) {
            return Reply::Bad("Invalid sequence in Fetch".into());
        }
        if vanished && (!uid || !self.qresync || changedsince.is_none()) {
            return Reply::Bad("Invalid Fetch modifier VANISHED".into());
        }
        if uid && !items.contains(&FetchAtt::Uid) {
            items.insert(0, FetchAtt::Uid);
        }
        if (changedsince.is_some() || items.contains(&FetchAtt::ModSeq)) && !self.condstore {
            let hms = self.sel.as_ref().map(|s| s.highestmodseq).unwrap_or(0);
            self.out.extend(
                format!("* OK [HIGHESTMODSEQ {hms}] CONDSTORE enabled by MODSEQ fetch\r\n")
                    .into_bytes(),
            );
            self.condstore = true;
        }
        // CHANGEDSINCE implies MODSEQ (RFC 7162 §3.1.4.1).
        if changedsince.is_some() && !items.contains(&FetchAtt::ModSeq) {
            items.push(FetchAtt::ModSeq);
        }
        // Deliver pending changes (no expunges in a non-UID command).
        self.refresh(uid).await;
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        if vanished && let Some(since) = changedsince {
            let name = sel.name.clone();
            let star = sel.last_uid;
            let set2 = set.clone();
            if let Ok(recs) = self
                .st(move |s| s.records_since(&name, Modseq(since)))
                .await
            {
                let gone: Vec<u32> = recs
                    .iter()
                    .filter(|r| r.expunged && set2.contains(r.uid.0, star))
                    .map(|r| r.uid.0)
                    .collect();
                if let Some(g) = SequenceSet::from_values(&gone) {
                    self.out
                        .extend(format!("* VANISHED (EARLIER) {g}\r\n").into_bytes());
                }
            }
        }
        let Some(sel) = &self.sel else {
            return Reply::Bad("Please select a mailbox first".into());
        };
        let mut idx = sel.resolve(set, uid);
        if let Some(cs) = changedsince {
            idx.retain(|&i| sel.msgs[i].rec.modseq.0 > cs);
        }
        // Cyrus's order of data items (index_fetchreply), body sections last in request order.
        let mut seen_items = Vec::new();
        items.retain(|a| {
            if seen_items.contains(a) {
                false
            } else {
                seen_items.push(a.clone());
                true
            }
        });
        items.sort_by_key(item_rank);
        let want_body = items.iter().any(needs_body);
        let want_seen = items.iter().any(sets_seen) && !sel.readonly && sel.rights.has('s');
        // Set \Seen first so the FLAGS we report include it (RFC 3501 §6.4.5).
        let mut newly_seen: Vec<u32> = Vec::new();
        if want_seen {
            newly_seen = idx
                .iter()
                .map(|&i| &sel.msgs[i])
                .filter(|m| !sel.is_seen(m))
                .map(|m| m.uid())
                .collect();
            if !newly_seen.is_empty() {
                self.mark_seen(&newly_seen).await;
            }
        }
        let condstore = self.condstore;
        let Some(sel) = &self.sel else {
            return ok();
        };
        let name = sel.name.clone();
        let mut io_failed = false;
        for i in idx {
            let Some(sel) = &self.sel else { break };
            let Some(m) = sel.msgs.get(i) else { break };
            let rec = m.rec.clone();
            let flags = sel.flags_of(m);
            let seq = i + 1;
            let raw = if want_body {
                let (n2, r2) = (name.clone(), rec.clone());
                match self
                    .st(move |s| {
                        let p = s.message_path(&n2, &r2)?;
                        Ok(mailstore::read_body(&p)?)
                    })
                    .await
                {
                    Ok(b) => Some(b),
                    Err(e) => {
                        tracing::error!("reading message {}: {e}", rec.uid.0);
                        io_failed = true;
                        continue;
                    }
                }
            } else {
                None
            };
            let parsed = raw.as_deref().map(message::Message::parse);
            let mut v = format!("* {seq} FETCH (").into_bytes();
            let mut first = true;
            if newly_seen.contains(&rec.uid.0) && !items.contains(&FetchAtt::Flags) {
                v.extend_from_slice(format!("FLAGS {flags}").as_bytes());
                first = false;
            }
            for a in &items {
                if !first {
                    v.push(b' ');
                }
                first = false;
                match a {
                    FetchAtt::Uid => v.extend_from_slice(format!("UID {}", rec.uid.0).as_bytes()),
                    FetchAtt::Flags => v.extend_from_slice(format!("FLAGS {flags}").as_bytes()),
                    FetchAtt::InternalDate => v.extend_from_slice(
                        format!("INTERNALDATE {}", date_time(rec.internaldate)).as_bytes(),
                    ),
                    FetchAtt::SaveDate => v.extend_from_slice(
                        format!("SAVEDATE {}", date_time(rec.savedate)).as_bytes(),
                    ),
                    FetchAtt::Rfc822Size => {
                        v.extend_from_slice(format!("RFC822.SIZE {}", rec.size).as_bytes())
                    }
                    FetchAtt::ModSeq => {
                        v.extend_from_slice(format!("MODSEQ ({})", rec.modseq.0).as_bytes())
                    }
                    FetchAtt::DigestSha1 => {
                        v.extend_from_slice(format!("DIGEST.SHA1 {}", rec.guid.to_hex()).as_bytes())
                    }
                    FetchAtt::EmailId => v.extend_from_slice(
                        format!("EMAILID (M{})", &rec.guid.to_hex()[..24]).as_bytes(),
                    ),
                    FetchAtt::ThreadId => {
                        if rec.cid == 0 {
                            v.extend_from_slice(b"THREADID NIL");
                        } else {
                            v.extend_from_slice(format!("THREADID (T{:016x})", rec.cid).as_bytes());
                        }
                    }
                    FetchAtt::Envelope => {
                        v.extend_from_slice(b"ENVELOPE ");
                        if let Some(p) = &parsed {
                            p.write_envelope(&mut v);
                        }
                    }
                    FetchAtt::Body => {
                        v.extend_from_slice(b"BODY ");
                        if let Some(p) = &parsed {
                            p.write_body(&mut v);
                        }
                    }
                    FetchAtt::BodyStructure => {
                        v.extend_from_slice(b"BODYSTRUCTURE ");
                        if let Some(p) = &parsed {
                            p.write_bodystructure(&mut v);
                        }
                    }
                    FetchAtt::Rfc822 | FetchAtt::Rfc822Header | FetchAtt::Rfc822Text => {
                        let (label, text) = match a {
                            FetchAtt::Rfc822 => ("RFC822", None),
                            FetchAtt::Rfc822Header => {
                                ("RFC822.HEADER", Some(message::SectionText::Header))
                            }
                            _ => ("RFC822.TEXT", Some(message::SectionText::Text)),
                        };
                        v.extend_from_slice(label.as_bytes());
                        v.push(b' ');
                        let sec = message::Section { part: vec![], text };
                        if let (Some(p), Some(r)) = (&parsed, &raw) {
                            let d = p.section(r, &sec);
                            section_data(&mut v, d.as_ref().map(|d| d.bytes(r)));
                        }
                    }
                    FetchAtt::BodySection {
                        section, partial, ..
                    } => {
                        let label = section_label(section);
                        match partial {
                            Some((start, _)) => {
                                v.extend_from_slice(format!("BODY[{label}]<{start}> ").as_bytes())
                            }
                            None => v.extend_from_slice(format!("BODY[{label}] ").as_bytes()),
                        }
                        if let (Some(p), Some(r)) = (&parsed, &raw) {
                            let d = p.section(r, &to_msg_section(section));
                            let d = match (d, partial) {
                                (Some(d), Some((s, n))) => {
                                    Some(d.partial(u64::from(*s), u64::from(*n)))
                                }
                                (d, _) => d,
                            };
                            section_data(&mut v, d.as_ref().map(|d| d.bytes(r)));
                        }
                    }
                    FetchAtt::Binary { part, partial, .. } => {
                        let label: Vec<String> = part.iter().map(u32::to_string).collect();
                        let label = label.join(".");
                        match partial {
                            Some((start, _)) => {
                                v.extend_from_slice(format!("BINARY[{label}]<{start}> ").as_bytes())
                            }
                            None => v.extend_from_slice(format!("BINARY[{label}] ").as_bytes()),
                        }
                        if let (Some(p), Some(r)) = (&parsed, &raw) {
                            let d = binary(p, r, part).map(|d| match partial {
                                Some((s, n)) => {
                                    let rg = message::section::partial_range(
                                        d.len(),
                                        u64::from(*s),
                                        u64::from(*n),
                                    );
                                    d[rg].to_vec()
                                }
                                None => d,
                            });
                            section_data(&mut v, d.as_deref());
                        }
                    }
                    FetchAtt::BinarySize(part) => {
                        let label: Vec<String> = part.iter().map(u32::to_string).collect();
                        let n = match (&parsed, &raw) {
                            (Some(p), Some(r)) => binary(p, r, part).map(|d| d.len()).unwrap_or(0),
                            _ => 0,
                        };
                        v.extend_from_slice(
                            format!("BINARY.SIZE[{}] {n}", label.join(".")).as_bytes(),
                        );
                    }
                }
            }
            if condstore && newly_seen.contains(&rec.uid.0) && !items.contains(&FetchAtt::ModSeq) {
                v.extend_from_slice(format!(" MODSEQ ({})", rec.modseq.0).as_bytes());
            }
            v.extend_from_slice(b")\r\n");
            self.out.extend(v);
            if self.out.len() > 256 * 1024 && self.flush().await.is_err() {
                return no("System I/O error");
            }
        }
        if io_failed {
            return no("Some messages could not be read");
        }
        ok()
    }

    /// Set \Seen on `uids` of the selected mailbox (record flag for the owner, seen state
    /// for anyone else) and update the snapshot.
    pub(crate) async fn mark_seen(&mut self, uids: &[u32]) {
        let Some(sel) = &self.sel else { return };
        if sel.seen.is_some() {
            let uniqueid = sel.uniqueid.clone();
            let name = sel.name.clone();
            let last_uid = sel.last_uid;
            let snapshot = {
                let Some(sel) = self.sel.as_mut() else { return };
                let Some(set) = sel.seen.as_mut() else { return };
                set.extend(uids.iter().copied());
                set.clone()
            };
            self.save_seen(&name, &uniqueid, &snapshot, last_uid).await;
            return;
        }
        let name = sel.name.clone();
        let list: Vec<Uid> = uids.iter().map(|&u| Uid(u)).collect();
        let change = FlagChange {
            system: SystemFlags {
                seen: true,
                ..Default::default()
            },
            user: vec![],
        };
        match self
            .st(move |s| s.store_flags(&name, &list, FlagOp::Add, &change, None))
            .await
        {
            Ok(res) => {
                if let Some(sel) = self.sel.as_mut() {
                    for (u, m) in res.changed {
                        if let Some(i) = sel.index_of_uid(u.0) {
                            sel.msgs[i].rec.flags.seen = true;
                            sel.msgs[i].rec.modseq = m;
                        }
                    }
                }
            }
            Err(e) => {
                let _ = store_reply(&e);
            }
        }
    }
}
