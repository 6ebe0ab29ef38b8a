//! SQLite files and schemas: the global `mailboxes.db` (mailbox list, name history, quota
//! roots, server annotations) and one database per user — and one for shared mailboxes —
//! holding index headers, records, annotations, seen state, subscriptions and sieve scripts.
//!
//! Every database runs in WAL mode with `synchronous=FULL`, so a committed transaction is on
//! disk when `COMMIT` returns; several processes share the files under SQLite's locking, and
//! writers take the write lock up front (`BEGIN IMMEDIATE`).
//!
//! Must not: hold policy; the store modules decide what to write.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};
use types::{MboxName, Modseq, UidValidity, UniqueId};

use crate::error::{Result, StoreError};
use crate::model::{MailboxEntry, MbType};

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const GLOBAL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mailbox(
    name TEXT PRIMARY KEY,
    uniqueid TEXT NOT NULL,
    mbtype TEXT NOT NULL,
    tombstone INTEGER NOT NULL,
    partition TEXT,
    acl TEXT,
    uidvalidity INTEGER NOT NULL,
    createdmodseq INTEGER NOT NULL,
    foldermodseq INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    owner TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mailbox_uniqueid ON mailbox(uniqueid);
CREATE TABLE IF NOT EXISTS name_history(
    uniqueid TEXT NOT NULL,
    name TEXT NOT NULL,
    time INTEGER NOT NULL,
    uidvalidity INTEGER NOT NULL,
    foldermodseq INTEGER NOT NULL,
    mbtype TEXT NOT NULL,
    partition TEXT
);
CREATE INDEX IF NOT EXISTS name_history_uniqueid ON name_history(uniqueid);
CREATE TABLE IF NOT EXISTS quota(
    root TEXT PRIMARY KEY,
    storage INTEGER,
    message INTEGER,
    annot_storage INTEGER,
    num_folders INTEGER,
    modseq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_annotation(
    entry TEXT NOT NULL,
    userid TEXT NOT NULL,
    value BLOB NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY(entry, userid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
";

const USER_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS header(
    uniqueid TEXT PRIMARY KEY,
    last_uid INTEGER NOT NULL,
    highestmodseq INTEGER NOT NULL,
    recentuid INTEGER NOT NULL,
    recenttime INTEGER NOT NULL,
    last_appenddate INTEGER NOT NULL,
    pop3_last_login INTEGER NOT NULL,
    pop3_show_after INTEGER NOT NULL,
    options INTEGER NOT NULL,
    xconvmodseq INTEGER NOT NULL,
    raclmodseq INTEGER NOT NULL,
    deletedmodseq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS userflag(
    mailbox TEXT NOT NULL,
    slot INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY(mailbox, slot)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record(
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    internaldate INTEGER NOT NULL,
    savedate INTEGER NOT NULL,
    size INTEGER NOT NULL,
    guid BLOB NOT NULL,
    cid INTEGER NOT NULL,
    basecid INTEGER NOT NULL,
    createdmodseq INTEGER NOT NULL,
    sysflags INTEGER NOT NULL,
    expunged INTEGER NOT NULL,
    userflags BLOB NOT NULL,
    PRIMARY KEY(mailbox, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_guid ON record(guid);
CREATE TABLE IF NOT EXISTS annotation(
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    entry TEXT NOT NULL,
    userid TEXT NOT NULL,
    value BLOB NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY(mailbox, uid, entry, userid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen(
    uniqueid TEXT PRIMARY KEY,
    lastread INTEGER NOT NULL,
    lastuid INTEGER NOT NULL,
    lastchange INTEGER NOT NULL,
    seenuids TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subs(mboxname TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS duplicate(
    id TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    mark INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    PRIMARY KEY(id, mailbox)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sieve(
    name TEXT PRIMARY KEY,
    content BLOB NOT NULL,
    last_update INTEGER NOT NULL,
    active INTEGER NOT NULL
) WITHOUT ROWID;
";

fn open(path: &Path, schema: &str) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        crate::blob::ensure_dir(dir)?;
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with a row; query it rather than execute.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal("database refused WAL journal mode"));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")?;
    conn.execute_batch(schema)?;
    Ok(conn)
}

pub(crate) fn open_global(path: &Path) -> Result<Connection> {
    open(path, GLOBAL_SCHEMA)
}

pub(crate) fn open_user(path: &Path) -> Result<Connection> {
    open(path, USER_SCHEMA)
}

/// u64 values (modseqs, CIDs) are stored bit-for-bit in SQLite's signed integers.
pub(crate) fn to_i64(v: u64) -> i64 {
    v as i64
}

pub(crate) fn to_u64(v: i64) -> u64 {
    v as u64
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<u64> {
    let v: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
        .optional()?;
    Ok(v.map(to_u64).unwrap_or(0))
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: u64) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES(?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        params![key, to_i64(value)],
    )?;
    Ok(())
}

pub(crate) const ENTRY_COLUMNS: &str =
    "name, uniqueid, mbtype, partition, acl, uidvalidity, createdmodseq, foldermodseq, mtime";

/// Decode a row selected with [`ENTRY_COLUMNS`]. A row whose text does not decode (written by
/// a newer version or damaged) is reported, never trusted.
pub(crate) fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Result<MailboxEntry>> {
    let name: String = row.get(0)?;
    let uniqueid: String = row.get(1)?;
    let mbtype: String = row.get(2)?;
    let entry = (|| {
        Ok(MailboxEntry {
            name: MboxName::new(name)?,
            uniqueid: UniqueId::new(uniqueid)
                .ok_or(StoreError::Internal("empty uniqueid in mailboxes.db"))?,
            mbtype: MbType::parse(&mbtype)
                .ok_or(StoreError::Internal("bad mailbox type in mailboxes.db"))?,
            partition: row.get(3)?,
            acl: row.get(4)?,
            uidvalidity: UidValidity(row.get::<_, i64>(5)? as u32),
            createdmodseq: Modseq(to_u64(row.get(6)?)),
            foldermodseq: Modseq(to_u64(row.get(7)?)),
            mtime: row.get(8)?,
        })
    })();
    Ok(entry)
}

pub(crate) fn put_entry(conn: &Connection, e: &MailboxEntry, owner: Option<&str>) -> Result<()> {
    conn.execute(
        "INSERT INTO mailbox(name, uniqueid, mbtype, tombstone, partition, acl, uidvalidity,
                             createdmodseq, foldermodseq, mtime, owner)
         VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(name) DO UPDATE SET uniqueid=excluded.uniqueid, mbtype=excluded.mbtype,
             tombstone=excluded.tombstone, partition=excluded.partition, acl=excluded.acl,
             uidvalidity=excluded.uidvalidity, createdmodseq=excluded.createdmodseq,
             foldermodseq=excluded.foldermodseq, mtime=excluded.mtime, owner=excluded.owner",
        params![
            e.name.as_str(),
            e.uniqueid.as_str(),
            e.mbtype.code(),
            e.mbtype.deleted as i64,
            e.partition,
            e.acl,
            e.uidvalidity.0 as i64,
            to_i64(e.createdmodseq.0),
            to_i64(e.foldermodseq.0),
            e.mtime,
            owner,
        ],
    )?;
    Ok(())
}

pub(crate) fn get_entry(conn: &Connection, name: &str) -> Result<Option<MailboxEntry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM mailbox WHERE name=?1");
    conn.query_row(&sql, [name], entry_from_row)
        .optional()?
        .transpose()
}

/// The live (non-tombstone) entry carrying `uniqueid`, if any.
pub(crate) fn get_entry_by_uniqueid(conn: &Connection, id: &str) -> Result<Option<MailboxEntry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM mailbox WHERE uniqueid=?1 AND tombstone=0");
    conn.query_row(&sql, [id], entry_from_row)
        .optional()?
        .transpose()
}

pub(crate) fn query_entries(
    conn: &Connection,
    where_clause: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<MailboxEntry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM mailbox {where_clause} ORDER BY name");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, entry_from_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}
