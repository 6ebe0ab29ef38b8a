//! Shared helpers for the sync_client integration tests: our master (a mailstore populated
//! through the library API plus an imapd.conf pointing at a replica), running our binaries,
//! and comparing our store with a replica read over IMAP (testkit ServerDump).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mailstore::{AppendOptions, CreateOptions, FlagChange, FlagOp, Store, SystemFlags};
use testkit::ServerDump;
use types::{MboxName, Uid};

pub(crate) struct Master {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) conf: PathBuf,
    pub(crate) store: Store,
}

/// The replica's csync address for a Cyrus replica.
pub(crate) fn cyrus_target(r: &testkit::CyrusInstance) -> String {
    r.sync_addr().unwrap().to_string()
}

impl Master {
    /// A master whose `sync_host` is `host` (`127.0.0.1:port`); `extra` lines are appended.
    pub(crate) fn new(host: &str, extra: &str) -> Master {
        let dir = tempfile::Builder::new()
            .prefix("syncclient-master-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("config")).unwrap();
        std::fs::create_dir_all(d.join("spool")).unwrap();
        let conf = d.join("imapd.conf");
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {cfg}\npartition-default: {spool}\ndefaultpartition: default\n\
                 sync_log: 1\nsync_host: {host}\nsync_authname: admin\nsync_password: adminpw\n\
                 sync_try_imap: 0\nsync_reconnect_maxwait: 1s\n{extra}\n",
                cfg = d.join("config").display(),
                spool = d.join("spool").display(),
            ),
        )
        .unwrap();
        let (_c, store) = cyrus_bins::open_store(&conf, "test").unwrap();
        Master { dir, conf, store }
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Run our sync_client with `-C conf` and `args`.
    pub(crate) fn sync_client(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        eprintln!(
            "sync_client {args:?} -> {:?}\n--- stdout\n{}--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sync_client"));
        c.arg("-C").arg(&self.conf).args(args);
        c
    }

    pub(crate) fn mbox(name: &str) -> MboxName {
        MboxName::new(name).unwrap()
    }

    pub(crate) fn create(&self, name: &str) {
        self.store
            .create_mailbox(&Self::mbox(name), CreateOptions::default())
            .unwrap();
    }

    pub(crate) fn append(&self, name: &str, body: &[u8], flags: &[&str], date: Option<i64>) -> Uid {
        let staged = self.store.stage_bytes("default", body).unwrap();
        let mut sys = SystemFlags::default();
        let mut user = Vec::new();
        for f in flags {
            if !sys.set_by_name(f, true) {
                user.push((*f).to_owned());
            }
        }
        self.store
            .append(
                &Self::mbox(name),
                &staged,
                &AppendOptions {
                    flags: sys,
                    user_flags: user,
                    internaldate: date,
                    annotations: Vec::new(),
                },
            )
            .unwrap()
            .uid
    }

    pub(crate) fn flags(&self, name: &str, uids: &[u32], op: FlagOp, flags: &[&str]) {
        let mut change = FlagChange::default();
        for f in flags {
            if !change.system.set_by_name(f, true) {
                change.user.push((*f).to_owned());
            }
        }
        let uids: Vec<Uid> = uids.iter().map(|u| Uid(*u)).collect();
        self.store
            .store_flags(&Self::mbox(name), &uids, op, &change, None)
            .unwrap();
    }

    /// Path of the channel's sync log.
    pub(crate) fn log_path(&self, channel: Option<&str>) -> PathBuf {
        let base = self.config_dir().join("sync");
        match channel {
            Some(c) => base.join(c).join("log"),
            None => base.join("log"),
        }
    }
}

pub(crate) fn msg(i: usize, extra: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender{i}@example.org\r\nTo: rcpt@example.org\r\nSubject: message {i}\r\n\
         Message-ID: <{i}.{extra}@example.org>\r\n\r\n"
    )
    .into_bytes();
    for l in 0..(3 + extra) {
        m.extend_from_slice(format!("line {l} of message {i}\r\n").as_bytes());
    }
    m
}

/// Admin-namespace name (unixhierarchysep) of an internal name.
pub(crate) fn external(internal: &str) -> String {
    internal
        .split('.')
        .map(|p| p.replace('^', "."))
        .collect::<Vec<_>>()
        .join("/")
}

fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// IMAP INTERNALDATE in UTC, as Cyrus prints it with TZ=UTC.
pub(crate) fn imap_date(t: i64) -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{d:02}-{}-{y} {:02}:{:02}:{:02} +0000",
        MON[(m - 1) as usize],
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// One message as both sides show it: (uid, sorted flags, internaldate, modseq, size, sha1).
pub(crate) type Msg = (u32, Vec<String>, String, u64, u64, String);

/// Per mailbox: (uniqueid, uidvalidity, uidnext, highestmodseq, messages).
pub(crate) type Mbox = (String, u32, u32, u64, Vec<Msg>);

/// Our store's state in the shape of [`replica_view`].
pub(crate) fn store_view(store: &Store) -> BTreeMap<String, Mbox> {
    let mut out = BTreeMap::new();
    for e in store.list_all_entries().unwrap() {
        if !e.mbtype.is_real() {
            continue;
        }
        let h = store.header(&e.name).unwrap();
        let mut msgs = Vec::new();
        for r in store.records(&e.name).unwrap() {
            if r.expunged {
                continue;
            }
            let mut flags: Vec<String> = r.flags.names().iter().map(|s| s.to_string()).collect();
            flags.extend(r.user_flags.iter().cloned());
            flags.sort();
            msgs.push((
                r.uid.0,
                flags,
                imap_date(r.internaldate),
                r.modseq.0,
                r.size,
                r.guid.to_hex(),
            ));
        }
        out.insert(
            external(e.name.as_str()),
            (
                e.uniqueid.as_str().to_owned(),
                e.uidvalidity.0,
                h.last_uid.0 + 1,
                h.highestmodseq.0,
                msgs,
            ),
        );
    }
    out
}

/// A replica's state read over IMAP.
pub(crate) fn replica_view(d: &ServerDump) -> BTreeMap<String, Mbox> {
    // Cyrus 3.6 keeps replicated sieve scripts in a `#sieve` mailbox even in legacy mode.
    d.mailboxes
        .iter()
        .filter(|(name, _)| !name.ends_with("/#sieve"))
        .map(|(name, m)| {
            let msgs = m
                .messages
                .iter()
                .map(|x| {
                    (
                        x.uid,
                        x.flags.clone(),
                        x.internaldate.clone(),
                        x.modseq,
                        x.size,
                        x.sha1.clone(),
                    )
                })
                .collect();
            (
                name.clone(),
                (
                    m.uniqueid.clone().unwrap_or_default(),
                    m.uidvalidity.unwrap_or(0),
                    m.uidnext.unwrap_or(0),
                    m.highestmodseq.unwrap_or(0),
                    msgs,
                ),
            )
        })
        .collect()
}

/// Assert the replica shows exactly our store's mailboxes and messages.
pub(crate) fn assert_replica_matches(store: &Store, d: &ServerDump) {
    let ours = store_view(store);
    let theirs = replica_view(d);
    for (k, v) in &ours {
        assert_eq!(Some(v), theirs.get(k), "mailbox {k} differs");
    }
    let extra: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(extra.is_empty(), "replica has extra mailboxes {extra:?}");
}

/// Read the replica through IMAP.
pub(crate) fn dump(r: &testkit::CyrusInstance) -> ServerDump {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(ServerDump::of_cyrus(r))
        .unwrap()
}

pub(crate) fn wait_until(timeout: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}

pub(crate) fn path_exists(p: &Path) -> bool {
    p.exists()
}
