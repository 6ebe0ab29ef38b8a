//! The local mailstore: configuration, the database handles of each owner, the write protocol
//! shared by every mutating operation, and read access for servers and replication.
//!
//! Write protocol (docs/design/durability.md): body files are written and fsynced first (see
//! `blob`); then the sync-log records are appended and fsynced to every channel *with the log
//! locks held*; then the SQLite transaction(s) commit (WAL, synchronous=FULL); then the locks
//! are released and the caller may answer OK. Log locks are always taken before any database
//! write lock, so processes cannot deadlock.
//!
//! Must not: speak any protocol, or decide access rights (servers check ACLs).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};
use sync_log::{LockedAppend, Record, SyncLogConfig, SyncLogWriter, begin_batch};
use types::{MboxName, NameConfig};

use crate::blob::{self, BodyWriter, Owner, StagedBody};
use crate::db;
use crate::error::{Result, StoreError};
use crate::index::IndexTxn;

/// Wall-clock seconds since the epoch; injectable for tests.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// Where things live and what to log, from imapd.conf.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `configdirectory`: mailboxes.db, per-user databases, the sync log.
    pub config_dir: PathBuf,
    /// `partition-<name>` paths.
    pub partitions: BTreeMap<String, PathBuf>,
    /// `defaultpartition`.
    pub default_partition: String,
    pub names: NameConfig,
    pub sync_log: SyncLogConfig,
}

impl StoreConfig {
    /// A store with one `default` partition under `root/spool`, metadata under `root/config`,
    /// sync log off. Handy for tools and tests.
    pub fn simple(root: &Path) -> StoreConfig {
        let config_dir = root.join("config");
        StoreConfig {
            partitions: BTreeMap::from([("default".to_owned(), root.join("spool"))]),
            default_partition: "default".to_owned(),
            names: NameConfig::default(),
            sync_log: SyncLogConfig::disabled(config_dir.clone()),
            config_dir,
        }
    }
}

/// The mailstore. Cheap to share behind an `Arc`; every method is safe to call from several
/// threads and several processes at once.
#[derive(Debug)]
pub struct Store {
    pub(crate) cfg: StoreConfig,
    pub(crate) global: Mutex<Connection>,
    owners: Mutex<HashMap<Owner, Arc<Mutex<Connection>>>>,
    log: SyncLogWriter,
    pub(crate) clock: Arc<dyn Clock>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a connection whose open transaction was rolled
    // back by its drop; the connection itself is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    pub fn open(cfg: StoreConfig) -> Result<Store> {
        Store::open_with_clock(cfg, Arc::new(SystemClock))
    }

    pub fn open_with_clock(cfg: StoreConfig, clock: Arc<dyn Clock>) -> Result<Store> {
        if !cfg.partitions.contains_key(&cfg.default_partition) {
            return Err(StoreError::UnknownPartition(cfg.default_partition.clone()));
        }
        let global = db::open_global(&cfg.config_dir.join("mailboxes.db"))?;
        let log = SyncLogWriter::new(cfg.sync_log.clone());
        Ok(Store {
            cfg,
            global: Mutex::new(global),
            owners: Mutex::default(),
            log,
            clock,
        })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The owner whose database and body directory hold `name`.
    pub fn owner_of(&self, name: &MboxName) -> Owner {
        match name.userid(&self.cfg.names) {
            Some(u) => Owner::User(u),
            None => Owner::Shared,
        }
    }

    pub(crate) fn owner_key(owner: &Owner) -> Option<&str> {
        match owner {
            Owner::User(u) => Some(u.as_str()),
            Owner::Shared => None,
        }
    }

    /// Root directory of a configured partition.
    pub fn partition_root(&self, partition: &str) -> Result<&Path> {
        self.cfg
            .partitions
            .get(partition)
            .map(PathBuf::as_path)
            .ok_or_else(|| StoreError::UnknownPartition(partition.to_owned()))
    }

    fn owner_db_path(&self, owner: &Owner) -> PathBuf {
        match owner {
            Owner::Shared => self.cfg.config_dir.join("shared.db"),
            Owner::User(u) => {
                let enc = blob::encode_component(u);
                let first = enc
                    .chars()
                    .next()
                    .filter(char::is_ascii_alphanumeric)
                    .map_or('q', |c| c.to_ascii_lowercase());
                self.cfg
                    .config_dir
                    .join("user")
                    .join(first.to_string())
                    .join(format!("{enc}.db"))
            }
        }
    }

    fn owner_conn(&self, owner: &Owner) -> Result<Arc<Mutex<Connection>>> {
        let mut map = lock(&self.owners);
        if let Some(c) = map.get(owner) {
            return Ok(c.clone());
        }
        let conn = Arc::new(Mutex::new(db::open_user(&self.owner_db_path(owner))?));
        map.insert(owner.clone(), conn.clone());
        Ok(conn)
    }

    /// Append `records` to the sync log (fsynced) and keep the log locks until the returned
    /// guard is dropped, which callers do after their commits.
    pub(crate) fn log_begin(&self, records: &[Record]) -> Result<LockedAppend> {
        Ok(begin_batch(&self.log, records)?)
    }

    /// Append records to the sync log outside any mailbox change (e.g. `cyr_synclog`).
    pub fn log_records(&self, records: &[Record]) -> Result<()> {
        Ok(self.log.append(records)?)
    }

    /// Run `f` in a write transaction on `owner`'s database and commit.
    pub(crate) fn owner_write<T>(
        &self,
        owner: &Owner,
        f: impl FnOnce(&IndexTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        self.owner_txn(owner, TransactionBehavior::Immediate, true, f)
    }

    /// Run `f` in a read transaction on `owner`'s database (a consistent snapshot).
    pub(crate) fn owner_read<T>(
        &self,
        owner: &Owner,
        f: impl FnOnce(&IndexTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        self.owner_txn(owner, TransactionBehavior::Deferred, false, f)
    }

    fn owner_txn<T>(
        &self,
        owner: &Owner,
        behavior: TransactionBehavior,
        commit: bool,
        f: impl FnOnce(&IndexTxn<'_>) -> Result<T>,
    ) -> Result<T> {
        let conn = self.owner_conn(owner)?;
        let mut c = lock(&conn);
        let txn = IndexTxn::new(c.transaction_with_behavior(behavior)?);
        let v = f(&txn)?;
        if commit {
            txn.commit()?;
        }
        Ok(v)
    }

    /// Run `f` in a write transaction on mailboxes.db and commit.
    pub(crate) fn global_write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut c = lock(&self.global);
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let v = f(&tx)?;
        tx.commit()?;
        Ok(v)
    }

    pub(crate) fn global_read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let c = lock(&self.global);
        f(&c)
    }

    // ---- bodies ---------------------------------------------------------------------------

    /// Start writing a new message body on `partition`.
    pub fn new_body(&self, partition: &str) -> Result<BodyWriter> {
        BodyWriter::create(partition, self.partition_root(partition)?)
    }

    /// Write a whole body from memory (small messages, tests).
    pub fn stage_bytes(&self, partition: &str, bytes: &[u8]) -> Result<StagedBody> {
        use std::io::Write;
        let mut w = self.new_body(partition)?;
        w.write_all(bytes)?;
        w.finish()
    }

    /// The file holding `guid` for the owner of `name` on `partition`, if present.
    pub fn body_path(&self, owner: &Owner, partition: &str, guid: &types::Guid) -> Result<PathBuf> {
        Ok(blob::body_path(
            self.partition_root(partition)?,
            owner,
            guid,
        ))
    }

    /// Link a staged body into an owner's directory (durably); idempotent.
    pub(crate) fn link_body(&self, owner: &Owner, staged: &StagedBody) -> Result<PathBuf> {
        blob::link_into(self.partition_root(staged.partition())?, owner, staged)
    }

    /// Drop body files of `owner` on `partition` that no record references any more.
    pub(crate) fn gc_bodies(&self, owner: &Owner, partition: &str, guids: &[types::Guid]) {
        if guids.is_empty() {
            return;
        }
        let Ok(root) = self.partition_root(partition) else {
            return;
        };
        let unused: Vec<types::Guid> = match self.owner_read(owner, |t| {
            let mut v = Vec::new();
            for g in guids {
                if !t.guid_in_use(g)? {
                    v.push(*g);
                }
            }
            Ok(v)
        }) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("body cleanup skipped: {e}");
                return;
            }
        };
        for g in unused {
            if let Err(e) = blob::remove_body(&blob::body_path(root, owner, &g)) {
                tracing::warn!("cannot remove unused body {g}: {e}");
            }
        }
    }
}
