//! Full update / repair ("copy-back", csync §9.7): when the replica keeps refusing a mailbox
//! with `IMAP_SYNC_CHECKSUM`, read its whole state (`GET FULLMAILBOX`), merge it into the
//! master's mailbox — renumber master records the replica lost or holds differently (split
//! brain), copy back replica-only messages (`GET FETCH`), take the replica's flags where its
//! change is newer, adopt a higher UIDVALIDITY/HIGHESTMODSEQ/LAST_UID — expunge the replaced
//! UIDs on the replica (`APPLY EXPUNGE`), and let the caller push the result.
//!
//! Owns: the merge decisions. Must not: run with `-O` (no copy-back; the caller checks).

use std::collections::BTreeMap;

use csync_proto::MemorySink;
use csync_proto::cmd::{self as wire, ApplyCommand, GetCommand, Mailbox, ResponseData};
use mailstore::{Annotation, MailboxEntry, MessageRecord, StagedBody, SystemFlags};
use types::{Guid, Modseq, Uid};

use super::engine::Engine;
use super::error::SyncErr;

/// What to do with one UID.
#[derive(Debug)]
enum Step {
    /// Give the local record a new UID (and expunge the old one locally).
    Renumber(Uid),
    /// Rewrite the local record with a new modseq, optionally taking the replica's state.
    Rewrite(Uid, Option<wire::Record>),
    /// Expunge the local record (the replica expunged it).
    ExpungeLocal(Uid),
    /// Append the replica's message locally: same UID (`true`) or a new one.
    CopyBack(wire::Record, bool),
}

fn local_record(r: &wire::Record, uid: Uid, modseq: Modseq, size: u64) -> MessageRecord {
    let s = &r.flags.system;
    MessageRecord {
        uid,
        modseq,
        last_updated: i64::try_from(r.last_updated).unwrap_or(0),
        internaldate: i64::try_from(r.internaldate).unwrap_or(0),
        savedate: i64::try_from(r.savedate).unwrap_or(0),
        size,
        guid: r.guid,
        cid: r.cid,
        basecid: 0,
        createdmodseq: r.createdmodseq,
        flags: SystemFlags {
            deleted: s.deleted,
            answered: s.answered,
            flagged: s.flagged,
            draft: s.draft,
            seen: s.seen,
        },
        expunged: s.expunged,
        user_flags: r.flags.user.clone(),
        annotations: r
            .annotations
            .iter()
            .map(|a| Annotation {
                entry: a.entry.clone(),
                userid: a.userid.clone(),
                value: a.value.clone(),
                modseq: a.modseq,
            })
            .collect(),
    }
}

/// Same message state apart from the modseq (csync §9.7 step 3 "any difference").
fn differs(l: &MessageRecord, r: &wire::Record) -> bool {
    let s = &r.flags.system;
    let mut lu: Vec<String> = l
        .user_flags
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect();
    let mut ru: Vec<String> = r
        .flags
        .user
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect();
    lu.sort();
    ru.sort();
    l.modseq != r.modseq
        || u64::try_from(l.last_updated).unwrap_or(0) != r.last_updated
        || u64::try_from(l.internaldate).unwrap_or(0) != r.internaldate
        || l.flags.deleted != s.deleted
        || l.flags.answered != s.answered
        || l.flags.flagged != s.flagged
        || l.flags.draft != s.draft
        || l.flags.seen != s.seen
        || l.expunged != s.expunged
        || lu != ru
        || l.cid != r.cid
        || u64::try_from(l.savedate).unwrap_or(0) != r.savedate
        || l.createdmodseq != r.createdmodseq
}

impl Engine<'_> {
    /// csync §9.7 for `entry` (steps 1–5); the caller pushes afterwards (step 6).
    pub(crate) fn full_update(&mut self, entry: &MailboxEntry) -> Result<(), SyncErr> {
        self.progress(&format!("FULLMAILBOX {}", entry.name));
        let reply = self.get(GetCommand::FullMailbox(entry.name.clone()))?;
        let Some(rm) = reply.data.into_iter().find_map(|d| match d {
            ResponseData::Mailbox(m) => Some(*m),
            _ => None,
        }) else {
            return Err(SyncErr::Protocol("GET FULLMAILBOX without MAILBOX".into()));
        };
        let Some(remote_records) = rm.records.clone() else {
            return Err(SyncErr::Protocol("GET FULLMAILBOX without RECORD".into()));
        };
        let header = self.store.header(&entry.name)?;
        let local = self.store.records(&entry.name)?;
        let (steps, expunge_remote) = plan(
            &local,
            &remote_records,
            &rm,
            header.deletedmodseq,
            header.last_uid,
        );

        // Fetch what is copied back before touching the local index.
        let partition = entry
            .partition
            .clone()
            .unwrap_or_else(|| self.store.config().default_partition.clone());
        let mut bodies: BTreeMap<Guid, StagedBody> = BTreeMap::new();
        for s in &steps {
            let Step::CopyBack(r, _) = s else { continue };
            if bodies.contains_key(&r.guid) {
                continue;
            }
            let body = self.fetch_body(&rm, &partition, r)?;
            bodies.insert(r.guid, body);
        }
        for b in bodies.values() {
            self.store.replica_store_body(&entry.name, b)?;
        }

        if rm.uidvalidity > entry.uidvalidity {
            tracing::info!(
                "SYNCNOTICE: uidvalidity higher on replica, updating: mailbox={} \
                 uidvalidity={} replica={}",
                entry.name,
                entry.uidvalidity,
                rm.uidvalidity
            );
            let mut e = self.store.lookup(&entry.name)?;
            e.uidvalidity = rm.uidvalidity;
            self.store.replica_update_entry(&e)?;
        }

        let name = entry.name.clone();
        self.store.replica_write(&name, |e, t| {
            let id = e.uniqueid.as_str();
            let mut h = t.header_required(id)?;
            if rm.highestmodseq > h.highestmodseq {
                tracing::info!(
                    "SYNCNOTICE: highestmodseq higher on replica, updating: mailbox={name} \
                     highestmodseq={} replica={}",
                    h.highestmodseq,
                    rm.highestmodseq
                );
                t.raise_modseq_counter(rm.highestmodseq)?;
                h.highestmodseq = rm.highestmodseq;
            }
            let mut next_uid = h.last_uid.0.max(rm.last_uid.0);
            let by_uid: BTreeMap<Uid, &MessageRecord> = local.iter().map(|r| (r.uid, r)).collect();
            let mut hms = h.highestmodseq;
            for s in &steps {
                match s {
                    Step::Renumber(uid) => {
                        let Some(old) = by_uid.get(uid) else { continue };
                        next_uid += 1;
                        let new_uid = Uid(next_uid);
                        let m = t.next_modseq(hms)?;
                        tracing::info!(
                            "SYNCNOTICE: record only exists on master, renumbering: \
                             mailbox={name} uid={uid} newuid={new_uid}"
                        );
                        let mut copy = (*old).clone();
                        copy.uid = new_uid;
                        copy.modseq = m;
                        t.put_record(id, &copy)?;
                        let mut gone = (*old).clone();
                        gone.expunged = true;
                        gone.modseq = m;
                        t.update_record_state(id, &gone)?;
                        hms = m;
                    }
                    Step::Rewrite(uid, theirs) => {
                        let Some(old) = by_uid.get(uid) else { continue };
                        let m = t.next_modseq(hms)?;
                        tracing::info!(
                            "SYNCNOTICE: bumping modseq: mailbox={name} uid={uid} modseq={m}"
                        );
                        let mut rec = (*old).clone();
                        if let Some(r) = theirs {
                            let s = &r.flags.system;
                            rec.flags = SystemFlags {
                                deleted: s.deleted,
                                answered: s.answered,
                                flagged: s.flagged,
                                draft: s.draft,
                                seen: s.seen,
                            };
                            rec.expunged = s.expunged;
                            rec.user_flags = r.flags.user.clone();
                            rec.cid = r.cid;
                        }
                        rec.modseq = m;
                        t.update_record_state(id, &rec)?;
                        hms = m;
                    }
                    Step::ExpungeLocal(uid) => {
                        let Some(old) = by_uid.get(uid) else { continue };
                        let m = t.next_modseq(hms)?;
                        let mut rec = (*old).clone();
                        rec.expunged = true;
                        rec.modseq = m;
                        t.update_record_state(id, &rec)?;
                        hms = m;
                    }
                    Step::CopyBack(r, same_uid) => {
                        let uid = if *same_uid {
                            r.uid
                        } else {
                            next_uid += 1;
                            Uid(next_uid)
                        };
                        let m = t.next_modseq(hms)?;
                        tracing::info!(
                            "SYNCNOTICE: record only exists on replica, copying back: \
                             mailbox={name} uid={} newuid={uid}",
                            r.uid
                        );
                        let size = bodies.get(&r.guid).map_or(u64::from(r.size), |b| b.size());
                        let mut rec = local_record(r, uid, m, size);
                        rec.expunged = false;
                        t.put_record(id, &rec)?;
                        hms = m;
                    }
                }
            }
            h.last_uid = Uid(next_uid);
            h.highestmodseq = hms;
            t.put_header(id, &h)?;
            Ok(())
        })?;

        if !expunge_remote.is_empty()
            && let Err(e) = self.apply(ApplyCommand::Expunge {
                mboxname: entry.name.clone(),
                uniqueid: entry.uniqueid.clone(),
                uids: expunge_remote,
            })
            && e.is_connection()
        {
            return Err(e);
        }
        Ok(())
    }

    fn fetch_body(
        &mut self,
        rm: &Mailbox,
        partition: &str,
        r: &wire::Record,
    ) -> Result<StagedBody, SyncErr> {
        let mut sink = MemorySink::default();
        let k = GetCommand::Fetch {
            mboxname: rm.mboxname.clone(),
            partition: rm.partition.clone().unwrap_or_else(|| partition.to_owned()),
            uniqueid: rm.uniqueid.clone(),
            guid: r.guid,
            uid: r.uid,
        }
        .to_keyed();
        let reply = self
            .conn
            .command_with("GET", &k, &mut csync_proto::NoFiles, &mut sink)?;
        let file = reply.data.into_iter().find_map(|d| match d {
            ResponseData::Message(Some(f)) => Some(f),
            _ => None,
        });
        let Some(f) = file else {
            return Err(SyncErr::Protocol(format!(
                "GET FETCH {} uid {}: no message",
                rm.mboxname, r.uid
            )));
        };
        let bytes = usize::try_from(f.body.0)
            .ok()
            .and_then(|i| sink.files.get(i))
            .ok_or_else(|| SyncErr::Protocol("GET FETCH: missing body".into()))?;
        if Guid::of(bytes) != r.guid {
            tracing::error!(
                "SYNCERROR: guid mismatch: mailbox={} uid={} rguid={} mguid={}",
                rm.mboxname,
                r.uid,
                r.guid,
                Guid::of(bytes)
            );
            return Err(SyncErr::Protocol(
                "GET FETCH: body does not match its GUID".into(),
            ));
        }
        Ok(self.store.stage_bytes(partition, bytes)?)
    }
}

/// csync §9.7 step 3: the merge plan and the UIDs to expunge on the replica. Split-brain
/// pairs are handled in GUID order (lower GUID first) for determinism.
fn plan(
    local: &[MessageRecord],
    remote: &[wire::Record],
    rm: &Mailbox,
    cleaned_up: Modseq,
    local_last: Uid,
) -> (Vec<Step>, Vec<Uid>) {
    let lmap: BTreeMap<Uid, &MessageRecord> = local.iter().map(|r| (r.uid, r)).collect();
    let rmap: BTreeMap<Uid, &wire::Record> = remote.iter().map(|r| (r.uid, r)).collect();
    let mut uids: Vec<Uid> = lmap.keys().chain(rmap.keys()).copied().collect();
    uids.sort();
    uids.dedup();
    let mut steps = Vec::new();
    let mut expunge = Vec::new();
    for uid in uids {
        match (lmap.get(&uid), rmap.get(&uid)) {
            (Some(l), Some(r)) => {
                let r_exp = r.flags.system.expunged;
                if l.expunged && r_exp {
                    continue;
                }
                if l.guid != r.guid {
                    tracing::error!(
                        "SYNCERROR: guid mismatch: mailbox={} uid={uid} rguid={} mguid={}",
                        rm.mboxname,
                        r.guid,
                        l.guid
                    );
                    let mine = (!l.expunged).then_some(Step::Renumber(uid));
                    let theirs = (!r_exp).then(|| Step::CopyBack((*r).clone(), false));
                    let pair = if l.guid < r.guid {
                        [mine, theirs]
                    } else {
                        [theirs, mine]
                    };
                    steps.extend(pair.into_iter().flatten());
                    expunge.push(uid);
                    continue;
                }
                if !differs(l, r) {
                    continue;
                }
                if l.expunged {
                    steps.push(Step::Rewrite(uid, None));
                } else if r_exp {
                    steps.push(Step::ExpungeLocal(uid));
                } else if r.modseq > l.modseq
                    && r.last_updated >= u64::try_from(l.last_updated).unwrap_or(0)
                {
                    steps.push(Step::Rewrite(uid, Some((*r).clone())));
                } else {
                    steps.push(Step::Rewrite(uid, None));
                }
            }
            (Some(l), None) => {
                if l.expunged {
                    continue;
                }
                if uid <= rm.last_uid {
                    steps.push(Step::Renumber(uid));
                } else if l.modseq <= rm.highestmodseq {
                    steps.push(Step::Rewrite(uid, None));
                }
            }
            (None, Some(r)) => {
                if r.flags.system.expunged {
                    continue;
                }
                if uid > local_last {
                    steps.push(Step::CopyBack((*r).clone(), true));
                } else if r.modseq <= cleaned_up {
                    expunge.push(uid);
                } else {
                    steps.push(Step::CopyBack((*r).clone(), false));
                    expunge.push(uid);
                }
            }
            (None, None) => {}
        }
    }
    (steps, expunge)
}
