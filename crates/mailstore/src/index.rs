//! Reading and writing one owner's index inside a single SQLite transaction: mailbox headers,
//! message records with their user flags and annotations, mailbox annotations, the owner's
//! modseq counter, seen state, subscriptions and sieve scripts.
//!
//! Both the mail-server operations (which allocate UIDs and modseqs) and the replica
//! operations (which store exactly what a master sent) are built on [`IndexTxn`].
//! Must not: touch the global mailbox list, body files or the sync log.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{OptionalExtension, Transaction, params};
use types::{Guid, Modseq, Uid};

use crate::db::{meta_get, meta_set, to_i64, to_u64};
use crate::error::{Result, StoreError};
use crate::model::{
    Annotation, MailboxHeader, MailboxOptions, MessageRecord, SeenState, SieveScript, SystemFlags,
};

/// Cyrus's limit on keyword slots per mailbox.
pub const MAX_USER_FLAGS: usize = 128;

/// The owner's modseq counter key in `meta`.
const MODSEQ_KEY: &str = "modseq";

/// One owner's index, inside an open transaction.
#[derive(Debug)]
pub struct IndexTxn<'c> {
    pub(crate) tx: Transaction<'c>,
}

/// True if `name` can be an IMAP keyword (an atom without `\`, RFC 3501 §9 flag-keyword).
pub fn valid_keyword(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 1024
        && name.bytes().all(|b| {
            (0x21..0x7f).contains(&b)
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

impl<'c> IndexTxn<'c> {
    pub(crate) fn new(tx: Transaction<'c>) -> Self {
        IndexTxn { tx }
    }

    pub(crate) fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }

    // ---- modseq counter -------------------------------------------------------------------

    /// Allocate the next modseq for this owner: above the counter and above `floor`.
    pub fn next_modseq(&self, floor: Modseq) -> Result<Modseq> {
        let next = meta_get(&self.tx, MODSEQ_KEY)?.max(floor.0) + 1;
        meta_set(&self.tx, MODSEQ_KEY, next)?;
        Ok(Modseq(next))
    }

    /// Raise the counter to at least `m` (replicated values; keeps modseqs monotonic after a
    /// fail-over, csync §3.15).
    pub fn raise_modseq_counter(&self, m: Modseq) -> Result<()> {
        if meta_get(&self.tx, MODSEQ_KEY)? < m.0 {
            meta_set(&self.tx, MODSEQ_KEY, m.0)?;
        }
        Ok(())
    }

    // ---- header ---------------------------------------------------------------------------

    pub fn header(&self, mailbox: &str) -> Result<Option<MailboxHeader>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT last_uid, highestmodseq, recentuid, recenttime, last_appenddate,
                    pop3_last_login, pop3_show_after, options, xconvmodseq, raclmodseq,
                    deletedmodseq FROM header WHERE uniqueid=?1",
        )?;
        Ok(stmt
            .query_row([mailbox], |r| {
                Ok(MailboxHeader {
                    last_uid: Uid(r.get::<_, i64>(0)? as u32),
                    highestmodseq: Modseq(to_u64(r.get(1)?)),
                    recentuid: Uid(r.get::<_, i64>(2)? as u32),
                    recenttime: r.get(3)?,
                    last_appenddate: r.get(4)?,
                    pop3_last_login: r.get(5)?,
                    pop3_show_after: r.get(6)?,
                    options: MailboxOptions::from_bits(r.get(7)?),
                    xconvmodseq: Modseq(to_u64(r.get(8)?)),
                    raclmodseq: Modseq(to_u64(r.get(9)?)),
                    deletedmodseq: Modseq(to_u64(r.get(10)?)),
                })
            })
            .optional()?)
    }

    /// The header, or an error naming the mailbox if its index is missing.
    pub fn header_required(&self, mailbox: &str) -> Result<MailboxHeader> {
        self.header(mailbox)?
            .ok_or_else(|| StoreError::MailboxNotFound(mailbox.to_owned()))
    }

    pub fn put_header(&self, mailbox: &str, h: &MailboxHeader) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO header(uniqueid, last_uid, highestmodseq, recentuid, recenttime,
                 last_appenddate, pop3_last_login, pop3_show_after, options, xconvmodseq,
                 raclmodseq, deletedmodseq)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(uniqueid) DO UPDATE SET last_uid=excluded.last_uid,
                 highestmodseq=excluded.highestmodseq, recentuid=excluded.recentuid,
                 recenttime=excluded.recenttime, last_appenddate=excluded.last_appenddate,
                 pop3_last_login=excluded.pop3_last_login,
                 pop3_show_after=excluded.pop3_show_after, options=excluded.options,
                 xconvmodseq=excluded.xconvmodseq, raclmodseq=excluded.raclmodseq,
                 deletedmodseq=excluded.deletedmodseq",
            )?
            .execute(params![
                mailbox,
                h.last_uid.0 as i64,
                to_i64(h.highestmodseq.0),
                h.recentuid.0 as i64,
                h.recenttime,
                h.last_appenddate,
                h.pop3_last_login,
                h.pop3_show_after,
                h.options.bits(),
                to_i64(h.xconvmodseq.0),
                to_i64(h.raclmodseq.0),
                to_i64(h.deletedmodseq.0),
            ])?;
        Ok(())
    }

    /// Remove a mailbox's index: header, records, flags, annotations. Returns the GUIDs its
    /// records referenced, so the caller can drop bodies nothing else uses.
    pub fn delete_mailbox(&self, mailbox: &str) -> Result<Vec<Guid>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT DISTINCT guid FROM record WHERE mailbox=?1")?;
        let guids = stmt
            .query_map([mailbox], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for sql in [
            "DELETE FROM record WHERE mailbox=?1",
            "DELETE FROM annotation WHERE mailbox=?1",
            "DELETE FROM userflag WHERE mailbox=?1",
            "DELETE FROM header WHERE uniqueid=?1",
        ] {
            self.tx.execute(sql, [mailbox])?;
        }
        Ok(guids
            .iter()
            .filter_map(|g| g.as_slice().try_into().ok().map(Guid))
            .collect())
    }

    /// True if any record of this owner references `guid`.
    pub fn guid_in_use(&self, guid: &Guid) -> Result<bool> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM record WHERE guid=?1 LIMIT 1")?;
        Ok(stmt.exists([&guid.0[..]])?)
    }

    // ---- user flags -----------------------------------------------------------------------

    /// Keyword names by slot (index = slot; `None` for an unused slot).
    pub fn user_flag_slots(&self, mailbox: &str) -> Result<Vec<Option<String>>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT slot, name FROM userflag WHERE mailbox=?1")?;
        let mut slots: Vec<Option<String>> = Vec::new();
        for row in stmt.query_map([mailbox], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))? {
            let (slot, name) = row?;
            let slot = usize::try_from(slot).unwrap_or(usize::MAX);
            if slot < MAX_USER_FLAGS {
                if slots.len() <= slot {
                    slots.resize(slot + 1, None);
                }
                slots[slot] = Some(name);
            }
        }
        Ok(slots)
    }

    /// Bitmask for `names`, matching existing keywords case-insensitively and defining new
    /// slots as needed (csync §3.8).
    fn flag_mask(&self, mailbox: &str, names: &[String]) -> Result<u128> {
        if names.is_empty() {
            return Ok(0);
        }
        let mut slots = self.user_flag_slots(mailbox)?;
        let mut mask = 0u128;
        for name in names {
            if !valid_keyword(name) {
                return Err(StoreError::BadFlag(name.clone()));
            }
            let found = slots
                .iter()
                .position(|s| s.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(name)));
            let slot = match found {
                Some(i) => i,
                None => {
                    let free = slots
                        .iter()
                        .position(Option::is_none)
                        .unwrap_or(slots.len());
                    if free >= MAX_USER_FLAGS {
                        return Err(StoreError::TooManyUserFlags(mailbox.to_owned()));
                    }
                    self.tx.execute(
                        "INSERT INTO userflag(mailbox, slot, name) VALUES(?1, ?2, ?3)",
                        params![mailbox, free as i64, name],
                    )?;
                    if free == slots.len() {
                        slots.push(Some(name.clone()));
                    } else {
                        slots[free] = Some(name.clone());
                    }
                    free
                }
            };
            mask |= 1u128 << slot;
        }
        Ok(mask)
    }

    // ---- records --------------------------------------------------------------------------

    fn annotations_by_uid(
        &self,
        mailbox: &str,
        uid: Option<Uid>,
    ) -> Result<HashMap<u32, Vec<Annotation>>> {
        let (sql, uid_arg) = match uid {
            Some(u) => (
                "SELECT uid, entry, userid, value, modseq FROM annotation
                 WHERE mailbox=?1 AND uid=?2",
                u.0 as i64,
            ),
            None => (
                "SELECT uid, entry, userid, value, modseq FROM annotation
                 WHERE mailbox=?1 AND uid>?2",
                0,
            ),
        };
        let mut stmt = self.tx.prepare_cached(sql)?;
        let mut out: HashMap<u32, Vec<Annotation>> = HashMap::new();
        for row in stmt.query_map(params![mailbox, uid_arg], |r| {
            Ok((
                r.get::<_, i64>(0)? as u32,
                Annotation {
                    entry: r.get(1)?,
                    userid: r.get(2)?,
                    value: r.get(3)?,
                    modseq: Modseq(to_u64(r.get(4)?)),
                },
            ))
        })? {
            let (u, a) = row?;
            out.entry(u).or_default().push(a);
        }
        for v in out.values_mut() {
            v.sort();
        }
        Ok(out)
    }

    fn query_records(
        &self,
        mailbox: &str,
        where_extra: &str,
        arg: i64,
        single_uid: Option<Uid>,
    ) -> Result<Vec<MessageRecord>> {
        let slots = self.user_flag_slots(mailbox)?;
        let mut annots = self.annotations_by_uid(mailbox, single_uid)?;
        let sql = format!(
            "SELECT uid, modseq, last_updated, internaldate, savedate, size, guid, cid, basecid,
                    createdmodseq, sysflags, expunged, userflags
             FROM record WHERE mailbox=?1 {where_extra} ORDER BY uid"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![mailbox, arg], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Vec<u8>>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, i64>(9)?,
                r.get::<_, i64>(10)?,
                r.get::<_, i64>(11)?,
                r.get::<_, Vec<u8>>(12)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (uid, modseq, lu, idate, sdate, size, guid, cid, bcid, cms, sf, exp, uf) = row?;
            let guid: [u8; 20] = guid
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Internal("record GUID is not 20 bytes"))?;
            let mask = uf
                .as_slice()
                .try_into()
                .map(u128::from_le_bytes)
                .unwrap_or(0);
            let user_flags = (0..MAX_USER_FLAGS)
                .filter(|i| mask & (1u128 << i) != 0)
                .filter_map(|i| slots.get(i).cloned().flatten())
                .collect();
            let uid = uid as u32;
            out.push(MessageRecord {
                uid: Uid(uid),
                modseq: Modseq(to_u64(modseq)),
                last_updated: lu,
                internaldate: idate,
                savedate: sdate,
                size: size as u64,
                guid: Guid(guid),
                cid: to_u64(cid),
                basecid: to_u64(bcid),
                createdmodseq: Modseq(to_u64(cms)),
                flags: SystemFlags::from_bits(sf),
                expunged: exp != 0,
                user_flags,
                annotations: annots.remove(&uid).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// All records of a mailbox (expunged ones included), in UID order.
    pub fn records(&self, mailbox: &str) -> Result<Vec<MessageRecord>> {
        self.query_records(mailbox, "AND uid>?2", 0, None)
    }

    /// Records with MODSEQ > `since`, in UID order (what a delta APPLY MAILBOX carries).
    pub fn records_since(&self, mailbox: &str, since: Modseq) -> Result<Vec<MessageRecord>> {
        self.query_records(mailbox, "AND modseq>?2", to_i64(since.0), None)
    }

    pub fn record(&self, mailbox: &str, uid: Uid) -> Result<Option<MessageRecord>> {
        Ok(self
            .query_records(mailbox, "AND uid=?2", uid.0 as i64, Some(uid))?
            .pop())
    }

    /// The existing records among `uids`, in UID order, each once. Large sets are read in one
    /// pass over the mailbox instead of one lookup per UID.
    pub fn records_for(&self, mailbox: &str, uids: &[Uid]) -> Result<Vec<MessageRecord>> {
        let wanted: BTreeSet<Uid> = uids.iter().copied().collect();
        if wanted.len() > 32 {
            let mut all = self.records(mailbox)?;
            all.retain(|r| wanted.contains(&r.uid));
            return Ok(all);
        }
        let mut out = Vec::with_capacity(wanted.len());
        for uid in wanted {
            out.extend(self.record(mailbox, uid)?);
        }
        Ok(out)
    }

    /// Update only the mutable state of an existing record — modseq, last_updated, system
    /// flags, expunged, user flags — leaving its annotations untouched (flag changes, expunge).
    pub fn update_record_state(&self, mailbox: &str, rec: &MessageRecord) -> Result<()> {
        let mask = self.flag_mask(mailbox, &rec.user_flags)?;
        let n = self
            .tx
            .prepare_cached(
                "UPDATE record SET modseq=?3, last_updated=?4, sysflags=?5, expunged=?6,
                     userflags=?7 WHERE mailbox=?1 AND uid=?2",
            )?
            .execute(params![
                mailbox,
                rec.uid.0 as i64,
                to_i64(rec.modseq.0),
                rec.last_updated,
                rec.flags.bits(),
                rec.expunged as i64,
                &mask.to_le_bytes()[..],
            ])?;
        if n == 0 {
            return Err(StoreError::Internal("record to update does not exist"));
        }
        Ok(())
    }

    /// Insert or overwrite a record exactly as given, replacing its annotation set.
    pub fn put_record(&self, mailbox: &str, rec: &MessageRecord) -> Result<()> {
        let mask = self.flag_mask(mailbox, &rec.user_flags)?;
        self.tx
            .prepare_cached(
                "INSERT INTO record(mailbox, uid, modseq, last_updated, internaldate, savedate,
                     size, guid, cid, basecid, createdmodseq, sysflags, expunged, userflags)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT(mailbox, uid) DO UPDATE SET modseq=excluded.modseq,
                     last_updated=excluded.last_updated, internaldate=excluded.internaldate,
                     savedate=excluded.savedate, size=excluded.size, guid=excluded.guid,
                     cid=excluded.cid, basecid=excluded.basecid,
                     createdmodseq=excluded.createdmodseq, sysflags=excluded.sysflags,
                     expunged=excluded.expunged, userflags=excluded.userflags",
            )?
            .execute(params![
                mailbox,
                rec.uid.0 as i64,
                to_i64(rec.modseq.0),
                rec.last_updated,
                rec.internaldate,
                rec.savedate,
                rec.size as i64,
                &rec.guid.0[..],
                to_i64(rec.cid),
                to_i64(rec.basecid),
                to_i64(rec.createdmodseq.0),
                rec.flags.bits(),
                rec.expunged as i64,
                &mask.to_le_bytes()[..],
            ])?;
        self.tx.execute(
            "DELETE FROM annotation WHERE mailbox=?1 AND uid=?2",
            params![mailbox, rec.uid.0 as i64],
        )?;
        for a in &rec.annotations {
            self.put_annotation(mailbox, rec.uid.0, a)?;
        }
        Ok(())
    }

    // ---- annotations ----------------------------------------------------------------------

    fn put_annotation(&self, mailbox: &str, uid: u32, a: &Annotation) -> Result<()> {
        if a.value.is_empty() {
            self.tx.execute(
                "DELETE FROM annotation WHERE mailbox=?1 AND uid=?2 AND entry=?3 AND userid=?4",
                params![mailbox, uid as i64, a.entry, a.userid],
            )?;
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO annotation(mailbox, uid, entry, userid, value, modseq)
                     VALUES(?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(mailbox, uid, entry, userid)
                     DO UPDATE SET value=excluded.value, modseq=excluded.modseq",
                )?
                .execute(params![
                    mailbox,
                    uid as i64,
                    a.entry,
                    a.userid,
                    a.value,
                    to_i64(a.modseq.0)
                ])?;
        }
        Ok(())
    }

    /// Mailbox-level annotations, sorted by (entry, userid, value).
    pub fn mailbox_annotations(&self, mailbox: &str) -> Result<Vec<Annotation>> {
        Ok(self
            .annotations_by_uid(mailbox, Some(Uid(0)))?
            .remove(&0)
            .unwrap_or_default())
    }

    /// Set (or, with an empty value, delete) one mailbox-level annotation.
    pub fn set_mailbox_annotation(&self, mailbox: &str, a: &Annotation) -> Result<()> {
        self.put_annotation(mailbox, 0, a)
    }

    /// Replace the mailbox-level annotation set exactly (replica: master wins).
    pub fn replace_mailbox_annotations(&self, mailbox: &str, set: &[Annotation]) -> Result<()> {
        self.tx.execute(
            "DELETE FROM annotation WHERE mailbox=?1 AND uid=0",
            [mailbox],
        )?;
        for a in set {
            self.put_annotation(mailbox, 0, a)?;
        }
        Ok(())
    }

    // ---- seen, subscriptions, sieve -------------------------------------------------------

    pub fn seen(&self, uniqueid: &str) -> Result<Option<SeenState>> {
        Ok(self
            .tx
            .query_row(
                "SELECT lastread, lastuid, lastchange, seenuids FROM seen WHERE uniqueid=?1",
                [uniqueid],
                |r| {
                    Ok(SeenState {
                        lastread: r.get(0)?,
                        lastuid: Uid(r.get::<_, i64>(1)? as u32),
                        lastchange: r.get(2)?,
                        seenuids: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn all_seen(&self) -> Result<Vec<(String, SeenState)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT uniqueid, lastread, lastuid, lastchange, seenuids FROM seen ORDER BY uniqueid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                SeenState {
                    lastread: r.get(1)?,
                    lastuid: Uid(r.get::<_, i64>(2)? as u32),
                    lastchange: r.get(3)?,
                    seenuids: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn put_seen(&self, uniqueid: &str, s: &SeenState) -> Result<()> {
        self.tx.execute(
            "INSERT INTO seen(uniqueid, lastread, lastuid, lastchange, seenuids)
             VALUES(?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(uniqueid) DO UPDATE SET lastread=excluded.lastread,
                 lastuid=excluded.lastuid, lastchange=excluded.lastchange,
                 seenuids=excluded.seenuids",
            params![
                uniqueid,
                s.lastread,
                s.lastuid.0 as i64,
                s.lastchange,
                s.seenuids
            ],
        )?;
        Ok(())
    }

    pub fn subscriptions(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT mboxname FROM subs ORDER BY mboxname")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Add or remove a subscription; returns whether anything changed.
    pub fn set_subscribed(&self, mboxname: &str, on: bool) -> Result<bool> {
        let n = if on {
            self.tx.execute(
                "INSERT OR IGNORE INTO subs(mboxname) VALUES(?1)",
                [mboxname],
            )?
        } else {
            self.tx
                .execute("DELETE FROM subs WHERE mboxname=?1", [mboxname])?
        };
        Ok(n > 0)
    }

    pub fn sieve_scripts(&self) -> Result<Vec<SieveScript>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT name, content, last_update, active FROM sieve ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(SieveScript {
                name: r.get(0)?,
                content: r.get(1)?,
                last_update: r.get(2)?,
                active: r.get::<_, i64>(3)? != 0,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn put_sieve(&self, name: &str, content: &[u8], last_update: i64) -> Result<()> {
        self.tx.execute(
            "INSERT INTO sieve(name, content, last_update, active) VALUES(?1, ?2, ?3, 0)
             ON CONFLICT(name) DO UPDATE SET content=excluded.content,
                 last_update=excluded.last_update",
            params![name, content, last_update],
        )?;
        Ok(())
    }

    /// Delete a script; returns false if it did not exist.
    pub fn delete_sieve(&self, name: &str) -> Result<bool> {
        Ok(self.tx.execute("DELETE FROM sieve WHERE name=?1", [name])? > 0)
    }

    /// Make `name` the only active script, or deactivate all with `None`.
    pub fn activate_sieve(&self, name: Option<&str>) -> Result<()> {
        if let Some(n) = name {
            let exists: bool = self
                .tx
                .prepare_cached("SELECT 1 FROM sieve WHERE name=?1")?
                .exists([n])?;
            if !exists {
                return Err(StoreError::ScriptNotFound(n.to_owned()));
            }
        }
        self.tx
            .execute("UPDATE sieve SET active=(name IS ?1)", params![name])?;
        Ok(())
    }

    /// Remove everything this owner has (user deletion).
    /// The user's own data (seen state, subscriptions, sieve), leaving mailbox contents.
    pub fn wipe_user_data(&self) -> Result<()> {
        self.tx
            .execute_batch("DELETE FROM seen; DELETE FROM subs; DELETE FROM sieve;")?;
        Ok(())
    }

    pub fn wipe(&self) -> Result<()> {
        self.tx.execute_batch(
            "DELETE FROM record; DELETE FROM annotation; DELETE FROM userflag; DELETE FROM header;
             DELETE FROM seen; DELETE FROM subs; DELETE FROM sieve;",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert!(valid_keyword("$Forwarded"));
        assert!(valid_keyword("Junk"));
        assert!(!valid_keyword("\\Seen"));
        assert!(!valid_keyword("a b"));
        assert!(!valid_keyword(""));
    }
}
