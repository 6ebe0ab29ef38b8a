//! Per-user and per-object state outside mailboxes (csync §9.5 steps 4–7, §9.6, §9.8 steps
//! 3–7, 10): quota roots, seen state, subscriptions, legacy sieve scripts, mailbox and server
//! annotations, UNMAILBOX and UNUSER.
//!
//! Owns: comparing these with the replica and the APPLY commands that fix them.
//! Must not: touch mailbox contents.

use std::collections::{HashMap, HashSet};

use csync_proto::cmd::{self as wire, ApplyCommand, GetCommand, ResponseData};
use mailstore::QuotaRoot;
use types::{MboxName, UniqueId};

use super::conn::is_nonexistent;
use super::engine::{Engine, UserState};
use super::error::SyncErr;

fn clamp(x: Option<u64>) -> Option<u32> {
    x.map(|v| u32::try_from(v).unwrap_or(wire::UNLIMITED - 1))
}

fn wire_quota(q: &QuotaRoot) -> wire::Quota {
    wire::Quota {
        root: q.root.to_string(),
        limits: wire::QuotaLimits {
            storage: clamp(q.limits.storage),
            message: clamp(q.limits.message),
            annotation_storage: clamp(q.limits.annotation_storage),
            num_folders: clamp(q.limits.num_folders),
        },
        modseq: Some(q.modseq),
    }
}

fn to_u(x: i64) -> u64 {
    u64::try_from(x).unwrap_or(0)
}

impl Engine<'_> {
    /// Quotas of a user sync (§9.5 step 4): push differing roots, drop replica-only ones.
    pub(crate) fn sync_quotas(
        &mut self,
        names: &[MboxName],
        remote: &[wire::Quota],
    ) -> Result<(), SyncErr> {
        let local = self.store.quota_roots_for(names)?;
        let mut seen = HashSet::new();
        for q in &local {
            let w = wire_quota(q);
            seen.insert(w.root.clone());
            let same = remote
                .iter()
                .any(|r| r.root == w.root && r.limits == w.limits);
            if !same {
                self.progress(&format!("QUOTA {}", w.root));
                self.apply(ApplyCommand::Quota(w))?;
            }
        }
        for r in remote {
            if !seen.contains(&r.root) {
                self.progress(&format!("UNQUOTA {}", r.root));
                self.apply(ApplyCommand::Unquota(r.root.clone()))?;
            }
        }
        Ok(())
    }

    /// One QUOTA record (§9.8 step 3): push the local limits, or remove the root.
    pub fn push_quota(&mut self, root: &str) -> Result<(), SyncErr> {
        let name =
            MboxName::new(root).map_err(|_| SyncErr::Protocol(format!("bad root {root}")))?;
        match self.store.quota(&name)? {
            Some(q) => {
                self.progress(&format!("QUOTA {root}"));
                self.apply(ApplyCommand::Quota(wire_quota(&q)))?;
            }
            None => {
                self.progress(&format!("UNQUOTA {root}"));
                match self.apply(ApplyCommand::Unquota(root.to_owned())) {
                    Ok(_) => {}
                    Err(e) if is_nonexistent(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Meta-only sync (§9.6): `GET META`, then seen, subscriptions, sieve.
    pub fn sync_meta(&mut self, userid: &str) -> Result<(), SyncErr> {
        self.progress(&format!("META {userid}"));
        let remote = match self.get(GetCommand::Meta(userid.to_owned())) {
            Ok(r) => UserState::from_reply(r),
            Err(e) if is_nonexistent(&e) => UserState::default(),
            Err(e) => return Err(e),
        };
        self.sync_meta_with(userid, &remote)
    }

    pub(crate) fn sync_meta_with(
        &mut self,
        userid: &str,
        remote: &UserState,
    ) -> Result<(), SyncErr> {
        self.sync_seen_all(userid, &remote.seen)?;
        self.sync_subs(userid, remote.lsub.as_deref().unwrap_or(&[]))?;
        self.sync_sieve(userid, &remote.sieve)?;
        Ok(())
    }

    fn wire_seen(uniqueid: &str, s: &mailstore::SeenState) -> Option<wire::SeenState> {
        Some(wire::SeenState {
            uniqueid: UniqueId::new(uniqueid)?,
            lastread: to_u(s.lastread),
            lastuid: s.lastuid,
            lastchange: to_u(s.lastchange),
            seenuids: s.seenuids.clone(),
        })
    }

    fn sync_seen_all(&mut self, userid: &str, remote: &[wire::SeenState]) -> Result<(), SyncErr> {
        let by_id: HashMap<&str, &wire::SeenState> =
            remote.iter().map(|s| (s.uniqueid.as_str(), s)).collect();
        for (id, s) in self.store.all_seen(userid)? {
            let Some(w) = Self::wire_seen(&id, &s) else {
                continue;
            };
            if by_id.get(id.as_str()).is_some_and(|r| **r == w) {
                continue;
            }
            self.progress(&format!("SEEN {userid} {id}"));
            // Errors are ignored, as Cyrus does (§9.5 step 7), unless the link broke.
            match self.apply(ApplyCommand::Seen {
                userid: userid.to_owned(),
                seen: w,
            }) {
                Err(e) if e.is_connection() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// One SEEN record (§9.8 step 5).
    pub fn push_seen(&mut self, userid: &str, uniqueid: &str) -> Result<(), SyncErr> {
        let Some(s) = self.store.seen(userid, uniqueid)? else {
            return Ok(());
        };
        let Some(w) = Self::wire_seen(uniqueid, &s) else {
            return Ok(());
        };
        self.progress(&format!("SEEN {userid} {uniqueid}"));
        self.apply(ApplyCommand::Seen {
            userid: userid.to_owned(),
            seen: w,
        })?;
        Ok(())
    }

    fn sync_subs(&mut self, userid: &str, remote: &[MboxName]) -> Result<(), SyncErr> {
        let local: HashSet<String> = self.store.subscriptions(userid)?.into_iter().collect();
        let remote: HashSet<String> = remote.iter().map(|m| m.to_string()).collect();
        let mut add: Vec<&String> = local.difference(&remote).collect();
        add.sort();
        for m in add {
            self.progress(&format!("SUB {userid} {m}"));
            self.apply(ApplyCommand::Sub {
                userid: userid.to_owned(),
                mboxname: m.clone(),
            })?;
        }
        let mut del: Vec<&String> = remote.difference(&local).collect();
        del.sort();
        for m in del {
            self.progress(&format!("UNSUB {userid} {m}"));
            self.apply(ApplyCommand::Unsub {
                userid: userid.to_owned(),
                mboxname: m.clone(),
            })?;
        }
        Ok(())
    }

    /// One SUB/UNSUB record (§9.8 step 6): make the replica match the local state.
    pub fn push_sub(&mut self, userid: &str, mbox: &str) -> Result<(), SyncErr> {
        let on = self.store.subscriptions(userid)?.iter().any(|m| m == mbox);
        let (userid, mboxname) = (userid.to_owned(), mbox.to_owned());
        if on {
            self.progress(&format!("SUB {userid} {mboxname}"));
            self.apply(ApplyCommand::Sub { userid, mboxname })?;
        } else {
            self.progress(&format!("UNSUB {userid} {mboxname}"));
            self.apply(ApplyCommand::Unsub { userid, mboxname })?;
        }
        Ok(())
    }

    /// Legacy sieve (§9.6 step 3). Skipped when the replica keeps scripts in `#sieve` and we
    /// enabled that mode (we never do).
    fn sync_sieve(&mut self, userid: &str, remote: &[wire::SieveEntry]) -> Result<(), SyncErr> {
        let scripts = self.store.sieve_scripts(userid)?;
        let mut local_names = HashSet::new();
        for s in &scripts {
            let filename = format!("{}.script", s.name);
            local_names.insert(filename.clone());
            let skip = remote.iter().any(|r| {
                r.filename == filename
                    && match r.guid {
                        Some(g) => g == s.guid(),
                        None => r.last_update >= to_u(s.last_update),
                    }
            });
            if skip {
                continue;
            }
            self.progress(&format!("SIEVE {userid} {filename}"));
            self.apply(ApplyCommand::Sieve {
                userid: userid.to_owned(),
                filename,
                last_update: to_u(s.last_update),
                content: s.content.clone(),
            })?;
        }
        for r in remote {
            if r.filename.ends_with(".script") && !local_names.contains(&r.filename) {
                self.progress(&format!("UNSIEVE {userid} {}", r.filename));
                self.apply(ApplyCommand::Unsieve {
                    userid: userid.to_owned(),
                    filename: r.filename.clone(),
                })?;
            }
        }
        let active = scripts.iter().find(|s| s.active);
        let remote_active = remote
            .iter()
            .find(|r| r.filename.ends_with(".bc") && r.isactive == Some(true));
        match active {
            Some(s) => {
                let bc = format!("{}.bc", s.name);
                if remote_active.is_none_or(|r| r.filename != bc) {
                    self.progress(&format!("ACTIVATE_SIEVE {userid} {bc}"));
                    self.apply(ApplyCommand::ActivateSieve {
                        userid: userid.to_owned(),
                        filename: bc,
                    })?;
                }
            }
            None if remote_active.is_some() => {
                self.progress(&format!("UNACTIVATE_SIEVE {userid}"));
                self.apply(ApplyCommand::UnactivateSieve {
                    userid: userid.to_owned(),
                })?;
            }
            None => {}
        }
        Ok(())
    }

    /// One ANNOTATION record (§9.8 step 4): diff the mailbox's (or server's, `""`) annotations.
    pub fn sync_annotation(&mut self, mbox: &str) -> Result<(), SyncErr> {
        let local = if mbox.is_empty() {
            self.store.server_annotations()?
        } else {
            let name =
                MboxName::new(mbox).map_err(|_| SyncErr::Protocol(format!("bad name {mbox}")))?;
            match self.store.mailbox_annotations(&name) {
                Ok(a) => a,
                Err(mailstore::StoreError::MailboxNotFound(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        };
        let remote: Vec<wire::MailboxAnnotation> =
            match self.get(GetCommand::Annotation(mbox.to_owned())) {
                Ok(r) => r
                    .data
                    .into_iter()
                    .filter_map(|d| match d {
                        ResponseData::Annotation(a) => Some(a),
                        _ => None,
                    })
                    .collect(),
                Err(e) if is_nonexistent(&e) => Vec::new(),
                Err(e) => return Err(e),
            };
        let local: Vec<&mailstore::Annotation> =
            local.iter().filter(|a| !a.value.is_empty()).collect();
        for r in &remote {
            if !local
                .iter()
                .any(|l| l.entry == r.entry && l.userid == r.userid)
            {
                self.apply(ApplyCommand::Unannotation(wire::MailboxAnnotation {
                    mboxname: mbox.to_owned(),
                    entry: r.entry.clone(),
                    userid: r.userid.clone(),
                    value: None,
                }))?;
            }
        }
        for l in local {
            let same = remote.iter().any(|r| {
                r.entry == l.entry && r.userid == l.userid && r.value.as_deref() == Some(&l.value)
            });
            if !same {
                self.apply(ApplyCommand::Annotation(wire::MailboxAnnotation {
                    mboxname: mbox.to_owned(),
                    entry: l.entry.clone(),
                    userid: l.userid.clone(),
                    value: Some(l.value.clone()),
                }))?;
            }
        }
        Ok(())
    }

    /// One UNMAILBOX record (§3.5.4): delete on the replica only with a local tombstone.
    pub fn unmailbox(&mut self, mbox: &str) -> Result<(), SyncErr> {
        let name =
            MboxName::new(mbox).map_err(|_| SyncErr::Protocol(format!("bad name {mbox}")))?;
        match self.store.mailbox_entry(&name)? {
            None => {
                tracing::info!(
                    "SYNCNOTICE: attempt to UNMAILBOX without a tombstone: mailbox={mbox}"
                );
                Ok(())
            }
            Some(e) if !e.mbtype.deleted => {
                if !e.mbtype.is_real() {
                    tracing::error!("attempt to UNMAILBOX non-tombstone: \"{mbox}\"");
                }
                Ok(())
            }
            Some(_) => {
                self.progress(&format!("UNMAILBOX {mbox}"));
                match self.apply(ApplyCommand::Unmailbox {
                    local: self.opts.local_only,
                    mboxname: name,
                }) {
                    Ok(_) => Ok(()),
                    Err(e) if is_nonexistent(&e) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// One UNUSER record (§9.8 step 10): only when the user's INBOX is gone locally.
    pub fn unuser(&mut self, userid: &str) -> Result<(), SyncErr> {
        let inbox = MboxName::user_inbox(userid)
            .map_err(|_| SyncErr::Protocol(format!("invalid userid {userid}")))?;
        if matches!(self.store.mailbox_entry(&inbox)?, Some(e) if !e.mbtype.deleted) {
            return Ok(());
        }
        self.progress(&format!("UNUSER {userid}"));
        match self.apply(ApplyCommand::Unuser {
            local: self.opts.local_only,
            userid: userid.to_owned(),
        }) {
            Ok(_) => Ok(()),
            Err(e) if is_nonexistent(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
