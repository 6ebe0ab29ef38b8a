//! Appending records to every active channel's log, and the reader's rotation, with the file
//! protocol of replication-behaviour §3.2–3.3 so that Cyrus's processes and ours can share a
//! spool.
//!
//! Writers open `log` for append, take a blocking exclusive `flock`, and re-open if the path
//! now names another inode (the reader renamed it meanwhile). A [`LockedAppend`] keeps the
//! locks until dropped: the mailstore commits its metadata while holding them, so a reader that
//! rotates the log and then waits for the lock of `log-run` is guaranteed to see the committed
//! change (see docs/design/durability.md).
//!
//! Must not: decide what to log (callers do), or swallow errors silently.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use crate::format::{Record, RecordError};

/// How many times a writer re-opens a log that was rotated under it (Cyrus uses 64).
const MAX_LOCK_ATTEMPTS: usize = 64;

/// A replication channel: the unnamed one (`sync/log`) or a named one (`sync/<name>/log`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Default,
    Named(String),
}

impl Channel {
    /// From a `sync_log_channels` token: `""` is the unnamed channel.
    pub fn from_token(token: &str) -> Channel {
        if token == "\"\"" || token.is_empty() {
            Channel::Default
        } else {
            Channel::Named(token.to_owned())
        }
    }

    /// `<configdirectory>/sync[/<name>]`.
    pub fn dir(&self, config_dir: &Path) -> PathBuf {
        let base = config_dir.join("sync");
        match self {
            Channel::Default => base,
            Channel::Named(n) => base.join(n),
        }
    }

    /// `<configdirectory>/sync[/<name>]/log`.
    pub fn log_path(&self, config_dir: &Path) -> PathBuf {
        self.dir(config_dir).join("log")
    }
}

/// What the writer needs from imapd.conf: `sync_log`, `configdirectory`, `sync_log_channels`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLogConfig {
    pub enabled: bool,
    pub config_dir: PathBuf,
    /// The active channels; `sync_log_channels` unset means just [`Channel::Default`].
    pub channels: Vec<Channel>,
}

impl SyncLogConfig {
    /// Logging switched off.
    pub fn disabled(config_dir: impl Into<PathBuf>) -> Self {
        SyncLogConfig {
            enabled: false,
            config_dir: config_dir.into(),
            channels: vec![],
        }
    }

    /// Parse the `sync_log_channels` value (split on spaces, `""` = unnamed channel).
    pub fn channels_from_option(value: Option<&str>) -> Vec<Channel> {
        match value {
            None => vec![Channel::Default],
            Some(v) => {
                let mut out: Vec<Channel> = v
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(Channel::from_token)
                    .collect();
                out.dedup();
                out
            }
        }
    }
}

/// A failure to write the sync log.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("sync_log(): Failed to lock {path} after {MAX_LOCK_ATTEMPTS} attempts")]
    LockRace { path: PathBuf },
    #[error("sync_log(): Unable to write to log file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Appends records to every active channel's log.
#[derive(Debug, Clone)]
pub struct SyncLogWriter {
    config: SyncLogConfig,
}

/// Records written and fsynced to every channel, with the exclusive locks still held.
/// Dropping it releases the locks.
#[derive(Debug)]
pub struct LockedAppend {
    _files: Vec<File>,
}

impl SyncLogWriter {
    pub fn new(config: SyncLogConfig) -> Self {
        SyncLogWriter { config }
    }

    pub fn config(&self) -> &SyncLogConfig {
        &self.config
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled && !self.config.channels.is_empty()
    }

    /// Write `records` to every channel in one write each, fsync, and release.
    pub fn append(&self, records: &[Record]) -> Result<(), WriteError> {
        begin_batch(self, records).map(drop)
    }

    /// Write one raw line as given (LF added if missing), unquoted, to every channel: what
    /// `cyr_synclog "<line>"` does. Line breaks inside the line are refused.
    pub fn append_raw_line(&self, line: &str) -> Result<(), WriteError> {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.contains(['\r', '\n']) {
            return Err(WriteError::Record(RecordError(line.to_owned())));
        }
        if !self.enabled() {
            return Ok(());
        }
        write_locked(self, &format!("{body}\n")).map(drop)
    }
}

/// Write `records` to every channel (sorted channel order, so concurrent writers never
/// deadlock), fsync each, and return with the locks held.
pub fn begin_batch(writer: &SyncLogWriter, records: &[Record]) -> Result<LockedAppend, WriteError> {
    if !writer.enabled() || records.is_empty() {
        return Ok(LockedAppend { _files: Vec::new() });
    }
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_line()?);
    }
    write_locked(writer, &text)
}

/// Write `text` (whole lines) to every channel, fsync, and return with the locks held.
fn write_locked(writer: &SyncLogWriter, text: &str) -> Result<LockedAppend, WriteError> {
    let mut channels = writer.config.channels.clone();
    channels.sort();
    let mut files = Vec::with_capacity(channels.len());
    for ch in &channels {
        let path = ch.log_path(&writer.config.config_dir);
        let mut file = open_locked(&path)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|source| WriteError::Io {
                path: path.clone(),
                source,
            })?;
        files.push(file);
    }
    Ok(LockedAppend { _files: files })
}

fn open_locked(path: &Path) -> Result<File, WriteError> {
    let io_err = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    for _ in 0..MAX_LOCK_ATTEMPTS {
        let file = match open_append(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    create_dir_0755(dir).map_err(io_err)?;
                }
                open_append(path).map_err(io_err)?
            }
            Err(e) => return Err(io_err(e)),
        };
        flock(&file, FlockOperation::LockExclusive).map_err(|e| io_err(e.into()))?;
        let opened = file.metadata().map_err(io_err)?;
        match fs::metadata(path) {
            Ok(now) if now.ino() == opened.ino() && now.dev() == opened.dev() => return Ok(file),
            // Renamed (or removed) by a reader between our open and our lock: start over.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Err(WriteError::LockRace {
        path: path.to_owned(),
    })
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
}

fn create_dir_0755(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

/// Reader side (§3.3 steps 1–4): the work file to process next in `dir`, if any. A leftover
/// `log-run` comes first; otherwise `log` is renamed to `log-run` and we wait for every writer
/// that still holds the old inode's lock.
pub fn begin_read(dir: &Path) -> io::Result<Option<PathBuf>> {
    let run = dir.join("log-run");
    if run.exists() {
        return Ok(Some(run));
    }
    let log = dir.join("log");
    match fs::rename(&log, &run) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let f = File::open(&run)?;
    flock(&f, FlockOperation::LockExclusive)?;
    flock(&f, FlockOperation::Unlock)?;
    Ok(Some(run))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_line;

    fn cfg(dir: &Path, channels: Option<&str>) -> SyncLogConfig {
        SyncLogConfig {
            enabled: true,
            config_dir: dir.to_owned(),
            channels: SyncLogConfig::channels_from_option(channels),
        }
    }

    #[test]
    fn channel_tokens() {
        assert_eq!(
            SyncLogConfig::channels_from_option(None),
            vec![Channel::Default]
        );
        assert_eq!(
            SyncLogConfig::channels_from_option(Some("repl1 \"\" offsite")),
            vec![
                Channel::Named("repl1".into()),
                Channel::Default,
                Channel::Named("offsite".into())
            ]
        );
    }

    #[test]
    fn writes_every_channel_and_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let w = SyncLogWriter::new(cfg(tmp.path(), Some("repl1 repl2 \"\"")));
        w.append(&[
            Record::Append("user.fred".into()),
            Record::Mailbox("user.fred".into()),
        ])
        .unwrap();
        w.append(&[Record::Sub("fred".into(), "user.fred.Sent".into())])
            .unwrap();
        let want = "APPEND user.fred\nMAILBOX user.fred\nSUB fred user.fred.Sent\n";
        for p in ["sync/log", "sync/repl1/log", "sync/repl2/log"] {
            assert_eq!(fs::read_to_string(tmp.path().join(p)).unwrap(), want, "{p}");
        }
    }

    #[test]
    fn disabled_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = cfg(tmp.path(), None);
        c.enabled = false;
        SyncLogWriter::new(c)
            .append(&[Record::User("fred".into())])
            .unwrap();
        assert!(!tmp.path().join("sync").exists());
    }

    #[test]
    fn rotation_under_concurrent_writers_loses_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let w = SyncLogWriter::new(cfg(tmp.path(), None));
        let dir = Channel::Default.dir(tmp.path());
        let n_threads = 4;
        let per = 200;
        let mut seen = Vec::new();
        std::thread::scope(|s| {
            for t in 0..n_threads {
                let w = w.clone();
                s.spawn(move || {
                    for i in 0..per {
                        w.append(&[Record::User(format!("u{t}-{i}"))]).unwrap();
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..50 {
                    if let Some(run) = begin_read(&dir).unwrap() {
                        let text = fs::read(&run).unwrap();
                        for l in text.split_inclusive(|&b| b == b'\n') {
                            if let Some(r) = parse_line(l).unwrap() {
                                seen.push(r);
                            }
                        }
                        fs::remove_file(&run).unwrap();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            });
        });
        while let Some(run) = begin_read(&dir).unwrap() {
            let text = fs::read(&run).unwrap();
            for l in text.split_inclusive(|&b| b == b'\n') {
                seen.push(parse_line(l).unwrap().unwrap());
            }
            fs::remove_file(&run).unwrap();
        }
        assert_eq!(seen.len(), n_threads * per);
        seen.sort_by_key(|r| r.to_string());
        seen.dedup();
        assert_eq!(seen.len(), n_threads * per);
    }
}
