//! APPLY commands (csync §5): store exactly what the master sends, with the sanity checks,
//! error codes and split-brain answers of Cyrus 3.6.1's sync_server (§5.3.1, §6, §9.10).
//!
//! Must not: allocate modseqs or UIDs for replicated state, or refuse anything a master
//! legitimately sends.

use std::collections::HashMap;
use std::io::Write;

use csync_proto::cmd::{
    Annotation as WireAnnotation, ApplyCommand, IntermediateMailbox, Mailbox, MailboxApply, Record,
    ResponseData,
};
use csync_proto::{ResultCode, SyncError};
use mailstore::crc::{crcs_match, mailbox_crcs};
use mailstore::{
    Annotation, MailboxEntry, MailboxHeader, MailboxOptions, MbKind, MbType, MessageRecord,
    QuotaLimits, SeenState, StoreError, SystemFlags,
};
use types::{MboxName, Modseq, UniqueId};

use super::get::data_line;
use super::{Replica, Res, SIEVE_MAILBOX, store_err};

const BAD: SyncError = SyncError::BAD_PARAMETERS;
const CHECKSUM: SyncError = SyncError::Code(ResultCode::SyncChecksum);
const CHANGED: SyncError = SyncError::Code(ResultCode::SyncChanged);
const MOVED: SyncError = SyncError::Code(ResultCode::MailboxMoved);
const NONEXISTENT: SyncError = SyncError::Code(ResultCode::MailboxNonexistent);
const NOTSUPPORTED: SyncError = SyncError::Code(ResultCode::MailboxNotSupported);

const BASETHRID: &str = "/vendor/cmu/cyrus-imapd/basethrid";

fn mbox(s: &str) -> Res<MboxName> {
    MboxName::new(s).map_err(|_| BAD)
}

pub(crate) fn run(r: &mut Replica, cmd: ApplyCommand, out: &mut dyn Write) -> Res<()> {
    let store = r.store.clone();
    match cmd {
        ApplyCommand::Reserve {
            partition,
            mboxnames,
            guids,
        } => {
            let mut missing = Vec::new();
            for g in guids {
                if r.staging.has(&partition, &g) {
                    continue;
                }
                match store.find_body(&partition, &mboxnames, &g) {
                    Ok(Some(path)) if r.staging.add_found(&partition, g, &path).is_ok() => {}
                    Ok(_) => missing.push(g),
                    Err(e) => return Err(store_err(e)),
                }
            }
            if !missing.is_empty() {
                data_line(out, &ResponseData::Missing(missing))?;
            }
            Ok(())
        }
        // The bodies were staged by the sink while the line was parsed.
        ApplyCommand::Message(_) => Ok(()),
        ApplyCommand::Mailbox { mailbox, .. } => match mailbox {
            MailboxApply::Intermediate(i) => apply_intermediate(r, &i),
            MailboxApply::Full(m) => apply_mailbox(r, &m),
        },
        ApplyCommand::Unmailbox { mboxname, .. } => {
            store.delete_mailbox(&mboxname).map_err(store_err)
        }
        ApplyCommand::Rename {
            old,
            new,
            partition,
            uidvalidity,
            ..
        } => {
            store.lookup(&old).map_err(store_err)?;
            let names = &store.config().names;
            if old.is_user_inbox()
                && new.is_user_inbox()
                && old.userid(names) != new.userid(names)
                && !r.allow_user_moves
            {
                return Err(NOTSUPPORTED);
            }
            match store.replica_rename(&old, &new, Some(&partition), uidvalidity) {
                Ok(_) => Ok(()),
                Err(e @ StoreError::MailboxNotFound(_)) => Err(store_err(e)),
                Err(e) => {
                    tracing::warn!("RENAME {old} {new}: {e}");
                    Err(SyncError::Unknown)
                }
            }
        }
        ApplyCommand::Expunge {
            mboxname,
            uniqueid,
            uids,
        } => store
            .replica_write(&mboxname, |e, t| {
                if e.uniqueid != uniqueid {
                    return Ok(Err(MOVED));
                }
                let id = e.uniqueid.as_str();
                for mut rec in t.records_for(id, &uids)? {
                    if !rec.expunged {
                        rec.expunged = true;
                        t.update_record_state(id, &rec)?;
                    }
                }
                Ok(Ok(()))
            })
            .map_err(store_err)?,
        ApplyCommand::Quota(q) => {
            let root = mbox(&q.root)?;
            let l = q.limits;
            let limits = QuotaLimits {
                storage: l.storage.map(u64::from),
                message: l.message.map(u64::from),
                annotation_storage: l.annotation_storage.map(u64::from),
                num_folders: l.num_folders.map(u64::from),
            };
            let modseq = match q.modseq {
                Some(m) => m,
                None => store
                    .quota(&root)
                    .map_err(store_err)?
                    .map_or(Modseq(0), |q| q.modseq),
            };
            store
                .set_quota(&root, limits, Some(modseq))
                .map_err(store_err)
        }
        ApplyCommand::Unquota(root) => {
            store.remove_quota(&mbox(&root)?).map_err(store_err)?;
            Ok(())
        }
        ApplyCommand::Seen { userid, seen } => {
            let s = SeenState {
                lastread: seen.lastread as i64,
                lastuid: seen.lastuid,
                lastchange: seen.lastchange as i64,
                seenuids: seen.seenuids,
            };
            store
                .set_seen(&userid, seen.uniqueid.as_str(), &s)
                .map_err(store_err)
        }
        ApplyCommand::Sub { userid, mboxname } => subscribe(r, &userid, &mboxname, true),
        ApplyCommand::Unsub { userid, mboxname } => subscribe(r, &userid, &mboxname, false),
        ApplyCommand::Annotation(a) | ApplyCommand::Unannotation(a) => {
            let value = a.value.clone().unwrap_or_default();
            if a.mboxname.is_empty() {
                return store
                    .set_server_annotation(&a.entry, &a.userid, &value)
                    .map_err(store_err);
            }
            let name = mbox(&a.mboxname)?;
            // Silent: the annotation takes the mailbox's current HIGHESTMODSEQ, nothing is
            // bumped (a replica never changes on its own).
            store
                .replica_write(&name, |e, t| {
                    let id = e.uniqueid.as_str();
                    let h = t.header_required(id)?;
                    t.set_mailbox_annotation(
                        id,
                        &Annotation {
                            entry: a.entry.clone(),
                            userid: a.userid.clone(),
                            value: value.clone(),
                            modseq: h.highestmodseq,
                        },
                    )
                })
                .map_err(store_err)
        }
        ApplyCommand::Sieve {
            userid,
            filename,
            last_update,
            content,
        } => match filename.strip_suffix(".script") {
            Some(name) => store
                .put_sieve(&userid, name, &content, Some(last_update as i64))
                .map_err(store_err),
            None => Ok(()),
        },
        ApplyCommand::Unsieve { userid, filename } => match filename.strip_suffix(".script") {
            Some(name) => store
                .delete_sieve(&userid, name)
                .map(drop)
                .map_err(store_err),
            None => Ok(()),
        },
        ApplyCommand::ActivateSieve { userid, filename } => {
            // Cyrus strips the last three characters (`.bc`), whatever they are (§5.11).
            let cut = filename.len().saturating_sub(3);
            let name = filename.get(..cut).ok_or(BAD)?;
            let known = store
                .sieve_scripts(&userid)
                .map_err(store_err)?
                .iter()
                .any(|s| s.name == name);
            if !known {
                return Err(NONEXISTENT);
            }
            store.activate_sieve(&userid, Some(name)).map_err(store_err)
        }
        ApplyCommand::UnactivateSieve { userid } => {
            store.activate_sieve(&userid, None).map_err(store_err)
        }
        ApplyCommand::Unuser { userid, .. } => {
            if userid.is_empty() {
                return Ok(());
            }
            store.delete_user(&userid).map_err(store_err)
        }
        ApplyCommand::Force => {
            r.force = true;
            Ok(())
        }
        ApplyCommand::Capabilities(caps) => {
            let mut enabled = Vec::new();
            for c in caps {
                if c.eq_ignore_ascii_case(SIEVE_MAILBOX) && r.offer_sieve_mailbox {
                    r.sieve_mailbox = true;
                    enabled.push(SIEVE_MAILBOX.to_owned());
                }
            }
            data_line(out, &ResponseData::Enabled(enabled))
        }
    }
}

fn subscribe(r: &Replica, userid: &str, name: &str, on: bool) -> Res<()> {
    let name = mbox(name)?;
    r.store
        .set_subscribed(userid, &name, on)
        .map(drop)
        .map_err(store_err)
}

/// §5.3.2: a list entry of that name, type and uniqueid, without storage.
fn apply_intermediate(r: &Replica, i: &IntermediateMailbox) -> Res<()> {
    let mut mbtype = MbType::parse(&i.mboxtype).ok_or(BAD)?;
    if mbtype.kind == MbKind::Sieve && !r.sieve_mailbox {
        return Err(BAD);
    }
    // Cyrus keeps one of the two placeholder forms.
    if mbtype.deleted {
        mbtype.intermediate = false;
    }
    let old = r.store.mailbox_entry(&i.mboxname).map_err(store_err)?;
    let entry = MailboxEntry {
        name: i.mboxname.clone(),
        uniqueid: i.uniqueid.clone(),
        mbtype,
        partition: old.as_ref().and_then(|e| e.partition.clone()),
        acl: old.as_ref().and_then(|e| e.acl.clone()),
        uidvalidity: old
            .as_ref()
            .map_or(types::UidValidity(0), |e| e.uidvalidity),
        createdmodseq: i.createdmodseq.unwrap_or(Modseq(0)),
        foldermodseq: i.highestmodseq,
        mtime: r.store.now(),
    };
    if old.as_ref() == Some(&entry) {
        return Ok(());
    }
    r.store.replica_put_entry(&entry).map_err(store_err)
}

/// Missing ancestors become intermediates; a user sub-mailbox needs its INBOX (Cyrus refuses
/// with `NO Unknown error`, §5.3.1 step 3).
fn ensure_ancestors(r: &Replica, name: &MboxName, modseq: Modseq) -> Res<()> {
    let names = &r.store.config().names;
    if name.is_user_inbox() || name.is_deleted_copy(names) {
        return Ok(());
    }
    let is_user = name.userid(names).is_some();
    let mut missing = Vec::new();
    let mut cur = name.parent();
    while let Some(p) = cur {
        let live = matches!(r.store.mailbox_entry(&p).map_err(store_err)?,
                            Some(e) if !e.mbtype.deleted);
        if live {
            break;
        }
        if is_user && p.is_user_inbox() {
            return Err(SyncError::Unknown);
        }
        missing.push(p.clone());
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        let mut n = 0u64;
        let mut random = || {
            n += 1;
            rand_u64(n)
        };
        let entry = MailboxEntry {
            name: p,
            uniqueid: UniqueId::generate(&mut random),
            mbtype: MbType::intermediate(),
            partition: None,
            acl: None,
            uidvalidity: types::UidValidity(0),
            createdmodseq: modseq,
            foldermodseq: modseq,
            mtime: r.store.now(),
        };
        r.store.replica_put_entry(&entry).map_err(store_err)?;
    }
    Ok(())
}

/// Not cryptographic: uniqueids of replica-made intermediates only need to be unlikely to
/// collide.
fn rand_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The master's record as a mailstore record (virtual annotations become fields, §3.9).
fn to_record(rec: &Record, size: Option<u64>) -> Res<MessageRecord> {
    let f = &rec.flags;
    let mut basecid = 0;
    let mut annotations = Vec::with_capacity(rec.annotations.len());
    for a in &rec.annotations {
        if a.entry == BASETHRID
            && let Some(v) = std::str::from_utf8(&a.value)
                .ok()
                .and_then(|s| u64::from_str_radix(s, 16).ok())
        {
            basecid = v;
        }
        annotations.push(model_annotation(a));
    }
    annotations.sort();
    for u in &f.user {
        if !mailstore::valid_keyword(u) {
            return Err(SyncError::Unknown);
        }
    }
    Ok(MessageRecord {
        uid: rec.uid,
        modseq: rec.modseq,
        last_updated: rec.last_updated as i64,
        internaldate: rec.internaldate as i64,
        savedate: rec.savedate as i64,
        size: size.unwrap_or(u64::from(rec.size)),
        guid: rec.guid,
        cid: rec.cid,
        basecid,
        createdmodseq: rec.createdmodseq,
        flags: SystemFlags {
            deleted: f.system.deleted,
            answered: f.system.answered,
            flagged: f.system.flagged,
            draft: f.system.draft,
            seen: f.system.seen,
        },
        expunged: f.system.expunged,
        user_flags: f.user.clone(),
        annotations,
    })
}

fn model_annotation(a: &WireAnnotation) -> Annotation {
    Annotation {
        entry: a.entry.clone(),
        userid: a.userid.clone(),
        value: a.value.clone(),
        modseq: a.modseq,
    }
}

/// What the dry run decided for one master record.
enum Plan {
    Skip,
    Overwrite,
    Append,
}

/// §5.3.1 steps 4, 6 and 7 against the replica's current header and records. `None` header
/// means the mailbox is new.
fn dry_run(
    m: &Mailbox,
    records: &[Record],
    header: &MailboxHeader,
    uidvalidity: types::UidValidity,
    existing: &[MessageRecord],
    force: bool,
) -> Res<Vec<Plan>> {
    if let Some(since) = m.since_modseq
        && since.0 != 0
    {
        let ours = mailbox_crcs(existing);
        let theirs = (m.since_crc.unwrap_or(0), m.since_crc_annot.unwrap_or(0));
        if since != header.highestmodseq || !crcs_match(theirs, ours) {
            return Err(CHANGED);
        }
    }
    if !force
        && (m.highestmodseq < header.highestmodseq
            || m.uidvalidity < uidvalidity
            || m.last_uid < header.last_uid
            || m.xconvmodseq.is_some_and(|x| x < header.xconvmodseq))
    {
        return Err(CHECKSUM);
    }
    let by_uid: HashMap<u32, &MessageRecord> = existing.iter().map(|r| (r.uid.0, r)).collect();
    let mut plan = Vec::with_capacity(records.len());
    for rec in records {
        let expunged = rec.flags.system.expunged;
        let p = match by_uid.get(&rec.uid.0) {
            Some(ours) => {
                if ours.expunged && expunged {
                    Plan::Skip
                } else if ours.guid != rec.guid
                    || (ours.modseq > rec.modseq && !force)
                    || (ours.expunged && !expunged)
                {
                    return Err(CHECKSUM);
                } else {
                    Plan::Overwrite
                }
            }
            None if rec.uid <= header.last_uid => {
                if expunged {
                    Plan::Skip
                } else {
                    return Err(CHECKSUM);
                }
            }
            None => Plan::Append,
        };
        plan.push(p);
    }
    Ok(plan)
}

/// Link staged bodies into the mailbox owner's directory, durably, several at a time (each
/// link ends with a directory fsync; overlapping them lets the disk batch the commits).
fn link_bodies(
    store: &mailstore::Store,
    name: &MboxName,
    bodies: &[mailstore::StagedBody],
) -> Res<()> {
    const WORKERS: usize = 8;
    if bodies.len() <= 1 {
        for b in bodies {
            store.replica_store_body(name, b).map_err(store_err)?;
        }
        return Ok(());
    }
    let per = bodies.len().div_ceil(WORKERS);
    std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || -> Res<()> {
                    for b in chunk {
                        store.replica_store_body(name, b).map_err(store_err)?;
                    }
                    Ok(())
                })
            })
            .collect();
        let mut result = Ok(());
        for h in handles {
            let r = h.join().unwrap_or(Err(SyncError::Unknown));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

fn apply_mailbox(r: &mut Replica, m: &Mailbox) -> Res<()> {
    let store = r.store.clone();
    let mbtype = match &m.mboxtype {
        Some(t) => MbType::parse(t).ok_or(BAD)?,
        None => MbType::EMAIL,
    };
    if mbtype.kind == MbKind::Sieve && !r.sieve_mailbox {
        return Err(BAD);
    }
    let records = m.records.as_deref().unwrap_or(&[]);
    let partition = m.partition.clone().ok_or(BAD)?;
    let acl = m.acl.clone().ok_or(BAD)?;
    if store.partition_root(&partition).is_err() {
        tracing::warn!(
            "APPLY MAILBOX {}: unknown partition {partition}",
            m.mboxname
        );
        return Err(SyncError::Unknown);
    }

    // Step 3: find or create the mailbox.
    let old = store.mailbox_entry(&m.mboxname).map_err(store_err)?;
    let live = old.filter(|e| e.mbtype.is_real());
    let mut create = live.is_none();
    if let Some(e) = &live {
        if e.uniqueid != m.uniqueid {
            let h = store.header(&m.mboxname).map_err(store_err)?;
            if h.last_uid.0 != 0 && !r.force {
                return Err(MOVED);
            }
            create = true;
        } else if e.mbtype.kind != mbtype.kind {
            // Step 5.
            return Err(SyncError::Unknown);
        }
    }
    if create
        && let Some(other) = store
            .entry_by_uniqueid(m.uniqueid.as_str())
            .map_err(store_err)?
        && other.name != m.mboxname
    {
        return Err(MOVED);
    }

    // Dry run against the current state (none if new), before anything is written.
    let (header, existing, cur_validity) = match (&live, create) {
        (Some(e), false) => {
            let (h, recs) = store
                .read_index(&m.mboxname, |e, t| {
                    let id = e.uniqueid.as_str();
                    Ok((t.header_required(id)?, t.records(id)?))
                })
                .map_err(store_err)?;
            (h, recs, e.uidvalidity)
        }
        _ => (MailboxHeader::default(), Vec::new(), types::UidValidity(0)),
    };
    let plan = dry_run(m, records, &header, cur_validity, &existing, r.force)?;

    // Bodies for appended records: staged files of the mailbox's partition (§5.3.1 step 8).
    let mut sizes = HashMap::new();
    let mut bodies = Vec::new();
    for (rec, p) in records.iter().zip(&plan) {
        if !matches!(p, Plan::Append) {
            continue;
        }
        match r.staging.body(&partition, &rec.guid) {
            Some(body) => {
                sizes.insert(rec.uid.0, body.size());
                bodies.push(body);
            }
            None if rec.flags.system.expunged => {}
            None => {
                tracing::warn!(
                    "APPLY MAILBOX {}: no staged file for UID {} GUID {}",
                    m.mboxname,
                    rec.uid.0,
                    rec.guid
                );
                return Err(SyncError::Unknown);
            }
        }
    }
    link_bodies(&store, &m.mboxname, &bodies)?;
    for r in &existing {
        sizes.insert(r.uid.0, r.size);
    }
    let mut new_records = Vec::with_capacity(records.len());
    for (rec, p) in records.iter().zip(&plan) {
        if !matches!(p, Plan::Skip) {
            new_records.push(to_record(rec, sizes.get(&rec.uid.0).copied())?);
        }
    }

    if create {
        ensure_ancestors(r, &m.mboxname, m.createdmodseq.unwrap_or(Modseq(0)))?;
        let entry = MailboxEntry {
            name: m.mboxname.clone(),
            uniqueid: m.uniqueid.clone(),
            mbtype,
            partition: Some(partition.clone()),
            acl: Some(acl.clone()),
            uidvalidity: m.uidvalidity,
            createdmodseq: m.createdmodseq.unwrap_or(Modseq(0)),
            foldermodseq: m.foldermodseq.unwrap_or(m.highestmodseq),
            mtime: store.now(),
        };
        store.replica_put_entry(&entry).map_err(store_err)?;
    }

    // Step 8: write, re-checking inside the transaction in case the state moved meanwhile.
    let annotations: Vec<Annotation> = m.annotations.iter().map(model_annotation).collect();
    let force = r.force;
    let crcs = store
        .replica_write(&m.mboxname, |e, t| {
            let id = e.uniqueid.as_str();
            let cur = t.header(id)?.unwrap_or_default();
            let existing = t.records(id)?;
            let validity = if create {
                types::UidValidity(0)
            } else {
                e.uidvalidity
            };
            let base = if create {
                MailboxHeader::default()
            } else {
                cur
            };
            if let Err(err) = dry_run(m, records, &base, validity, &existing, force) {
                return Ok(Err(err));
            }
            for rec in &new_records {
                t.put_record(id, rec)?;
            }
            t.replace_mailbox_annotations(id, &annotations)?;
            let h = MailboxHeader {
                last_uid: m.last_uid,
                highestmodseq: m.highestmodseq,
                recentuid: m.recentuid,
                recenttime: m.recenttime as i64,
                last_appenddate: m.last_appenddate.unwrap_or(0) as i64,
                pop3_last_login: m.pop3_last_login as i64,
                pop3_show_after: m.pop3_show_after.unwrap_or(0) as i64,
                options: MailboxOptions::from_letters(&m.options),
                xconvmodseq: m.xconvmodseq.unwrap_or(cur.xconvmodseq),
                raclmodseq: m.raclmodseq.unwrap_or(cur.raclmodseq),
                deletedmodseq: cur.deletedmodseq,
            };
            t.put_header(id, &h)?;
            t.raise_modseq_counter(m.highestmodseq)?;
            Ok(Ok(mailbox_crcs(&t.records(id)?)))
        })
        .map_err(store_err)??;

    // The list entry: ACL always, UIDVALIDITY if different, FOLDERMODSEQ only upwards.
    let mut entry = store.lookup(&m.mboxname).map_err(store_err)?;
    let folder = m.foldermodseq.unwrap_or(m.highestmodseq);
    let mut changed = false;
    if entry.acl.as_deref() != Some(acl.as_str()) {
        entry.acl = Some(acl);
        changed = true;
    }
    if entry.uidvalidity != m.uidvalidity {
        entry.uidvalidity = m.uidvalidity;
        changed = true;
    }
    if folder > entry.foldermodseq {
        entry.foldermodseq = folder;
        changed = true;
    }
    if let Some(c) = m.createdmodseq
        && c != entry.createdmodseq
    {
        entry.createdmodseq = c;
        changed = true;
    }
    if changed {
        entry.mtime = store.now();
        store.replica_update_entry(&entry).map_err(store_err)?;
    }

    // Step 9: the CRCs after the apply must be the master's (0 = don't check).
    let theirs = (m.sync_crc.unwrap_or(0), m.sync_crc_annot.unwrap_or(0));
    if !crcs_match(theirs, crcs) {
        tracing::info!(
            "APPLY MAILBOX {}: CRC mismatch ours {:?} master {:?}",
            m.mboxname,
            crcs,
            theirs
        );
        return Err(CHECKSUM);
    }
    Ok(())
}
