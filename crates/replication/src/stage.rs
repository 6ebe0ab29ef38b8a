//! The session's reserve list (csync §5.1, §5.2): message files a master has made available on
//! this replica, by partition and GUID, until RESTART or EXIT.
//!
//! Owns: streaming APPLY MESSAGE bodies to disk as they are parsed (a [`FileSink`]), checking
//! each against its GUID, and keeping files found by APPLY RESERVE alive (hard links) even if
//! their source message is expunged meanwhile.
//! Must not: hold message bodies in memory, or touch mailbox metadata.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use csync_proto::{FileRef, FileSink};
use mailstore::{BodyWriter, StagedBody, Store, StoreError};
use types::Guid;

static LINK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Uploads whose fsync runs in the background at once; more wait for the oldest. Overlapping
/// the fsyncs of a batch of messages lets the disk commit them together.
const MAX_PENDING: usize = 16;

/// An upload being made durable on a helper thread.
type Pending = (String, Guid, JoinHandle<Result<StagedBody, StoreError>>);

/// A staged file.
#[derive(Debug)]
enum Staged {
    /// Uploaded by APPLY MESSAGE (deleted when dropped).
    Uploaded(StagedBody),
    /// A hard link to a body the replica already had (APPLY RESERVE); we delete it ourselves.
    Linked { path: PathBuf, size: u64 },
    /// Found by APPLY RESERVE but could not be linked (other filesystem): used in place.
    InPlace { path: PathBuf, size: u64 },
}

/// An upload in progress.
#[derive(Debug)]
struct Upload {
    partition: String,
    guid: Guid,
    /// `None` after a write error (Cyrus reports those only at APPLY MAILBOX).
    writer: Option<BodyWriter>,
}

/// The reserve list of one session.
#[derive(Debug)]
pub struct Staging {
    store: Arc<Store>,
    files: HashMap<(String, Guid), Staged>,
    pending: VecDeque<Pending>,
    uploads: Vec<Option<Upload>>,
    /// Bodies are only written once the peer is an authenticated admin.
    accept: bool,
}

impl Staging {
    pub fn new(store: Arc<Store>) -> Self {
        Staging {
            store,
            files: HashMap::new(),
            pending: VecDeque::new(),
            uploads: Vec::new(),
            accept: false,
        }
    }

    /// Whether uploads are kept (authenticated admin) or discarded.
    pub fn set_accept(&mut self, on: bool) {
        self.accept = on;
    }

    /// Forget everything (RESTART, EXIT, end of session): staged files are deleted.
    pub fn clear(&mut self) {
        self.uploads.clear();
        self.settle();
        self.files.clear();
    }

    /// Wait for every background fsync; record the bodies that match their GUID.
    fn settle(&mut self) {
        while let Some(p) = self.pending.pop_front() {
            self.settle_one(p);
        }
    }

    fn settle_one(&mut self, (partition, guid, handle): Pending) {
        match handle.join() {
            Ok(Ok(body)) if body.guid() == guid => {
                self.files.insert((partition, guid), Staged::Uploaded(body));
            }
            Ok(Ok(body)) => {
                tracing::warn!(
                    "uploaded message {guid} hashes to {}: discarded",
                    body.guid()
                );
            }
            Ok(Err(e)) => tracing::warn!("staging {guid}: {e}"),
            Err(_) => tracing::warn!("staging {guid}: fsync thread panicked"),
        }
    }

    /// A command line ended: its upload handles are no longer needed.
    pub fn end_command(&mut self) {
        self.uploads.clear();
    }

    /// Whether `guid` is staged (or being staged) on `partition`.
    pub fn has(&self, partition: &str, guid: &Guid) -> bool {
        self.files.contains_key(&(partition.to_owned(), *guid))
            || self
                .pending
                .iter()
                .any(|(p, g, _)| p == partition && g == guid)
    }

    pub fn len(&self) -> usize {
        self.files.len() + self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stage an existing body file found by APPLY RESERVE (already verified against `guid`).
    pub fn add_found(&mut self, partition: &str, guid: Guid, path: &Path) -> io::Result<()> {
        let size = fs::metadata(path)?.len();
        let staged = match self.store.partition_root(partition) {
            Ok(root) => {
                let dir = root.join("tmp");
                fs::create_dir_all(&dir)?;
                let n = LINK_COUNTER.fetch_add(1, Ordering::Relaxed);
                let link = dir.join(format!("sync.{}.{n}", std::process::id()));
                match fs::hard_link(path, &link) {
                    Ok(()) => Staged::Linked { path: link, size },
                    Err(_) => Staged::InPlace {
                        path: path.to_owned(),
                        size,
                    },
                }
            }
            Err(_) => Staged::InPlace {
                path: path.to_owned(),
                size,
            },
        };
        self.files.insert((partition.to_owned(), guid), staged);
        Ok(())
    }

    /// The staged body of `guid` on `partition`, durable and ready for
    /// [`Store::replica_store_body`].
    pub fn body(&mut self, partition: &str, guid: &Guid) -> Option<StagedBody> {
        if !self.pending.is_empty() {
            self.settle();
        }
        let (path, size) = match self.files.get(&(partition.to_owned(), *guid))? {
            Staged::Uploaded(b) => (b.path().to_owned(), b.size()),
            Staged::Linked { path, size } | Staged::InPlace { path, size } => (path.clone(), *size),
        };
        Some(StagedBody::from_verified_file(path, partition, *guid, size))
    }

    fn upload(&mut self, f: FileRef) -> Option<&mut Upload> {
        let i = usize::try_from(f.0).ok()?;
        self.uploads.get_mut(i)?.as_mut()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Staged::Linked { path, .. } = self {
            let _ = fs::remove_file(path);
        }
    }
}

impl FileSink for Staging {
    fn begin(&mut self, partition: &[u8], guid: &Guid, _size: u64) -> io::Result<FileRef> {
        let partition = String::from_utf8_lossy(partition).into_owned();
        let writer = if self.accept && !self.has(&partition, guid) {
            match self.store.new_body(&partition) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("cannot stage {} on partition {partition}: {e}", guid);
                    None
                }
            }
        } else {
            None
        };
        self.uploads.push(Some(Upload {
            partition,
            guid: *guid,
            writer,
        }));
        Ok(FileRef(self.uploads.len() as u64 - 1))
    }

    fn write(&mut self, file: FileRef, bytes: &[u8]) -> io::Result<()> {
        if let Some(u) = self.upload(file)
            && let Some(w) = &mut u.writer
            && let Err(e) = w.write_all(bytes)
        {
            tracing::warn!("staging {}: {e}", u.guid);
            u.writer = None;
        }
        Ok(())
    }

    fn finish(&mut self, file: FileRef) -> io::Result<()> {
        let Some(u) = usize::try_from(file.0)
            .ok()
            .and_then(|i| self.uploads.get_mut(i))
            .and_then(Option::take)
        else {
            return Ok(());
        };
        let Some(w) = u.writer else {
            return Ok(());
        };
        if self.pending.len() >= MAX_PENDING
            && let Some(oldest) = self.pending.pop_front()
        {
            self.settle_one(oldest);
        }
        match std::thread::Builder::new()
            .name("stage-fsync".into())
            .spawn(move || w.finish())
        {
            Ok(h) => self.pending.push_back((u.partition, u.guid, h)),
            Err(e) => tracing::warn!("staging {}: cannot start fsync thread: {e}", u.guid),
        }
        Ok(())
    }
}
