//! Message bodies as plain files addressed by GUID, per owner and partition:
//! `<partition>/user/<userid>/<gg>/<guid>` and `<partition>/shared/<gg>/<guid>`, staged under
//! `<partition>/tmp/` first. One body delivered to many mailboxes of the same owner is one file;
//! the same bytes for several owners on one partition are hard links to one inode.
//!
//! Durability: a body is fsynced before it is linked into place, and the directory that
//! receives the link is fsynced before the link is reported done (DESIGN.md order).
//!
//! Must not: touch metadata; callers reference bodies from index records afterwards.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use types::{Guid, GuidHasher};

use crate::error::StoreError;

/// Whose body directory a message lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    User(String),
    Shared,
}

/// Encode a userid as one safe path component: `[A-Za-z0-9._@+-]` stay (a leading `.` does
/// not), everything else becomes `%XX`.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'@' | b'+' | b'-')
            || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Owner {
    fn dir(&self, partition_root: &Path) -> PathBuf {
        match self {
            Owner::User(u) => partition_root.join("user").join(encode_component(u)),
            Owner::Shared => partition_root.join("shared"),
        }
    }
}

/// The file of `guid` for `owner` under `partition_root`.
pub fn body_path(partition_root: &Path, owner: &Owner, guid: &Guid) -> PathBuf {
    let hex = guid.to_hex();
    owner.dir(partition_root).join(&hex[..2]).join(hex)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn tmp_name() -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}.{}.{n}", std::process::id(), rand::random::<u32>())
}

/// Streams a new body to a temporary file on a partition, computing its GUID on the way.
#[derive(Debug)]
pub struct BodyWriter {
    file: Option<File>,
    path: PathBuf,
    partition: String,
    hasher: GuidHasher,
    size: u64,
}

impl BodyWriter {
    pub(crate) fn create(partition: &str, partition_root: &Path) -> Result<BodyWriter, StoreError> {
        let dir = partition_root.join("tmp");
        ensure_dir(&dir)?;
        let path = dir.join(tmp_name());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(BodyWriter {
            file: Some(file),
            path,
            partition: partition.to_owned(),
            hasher: GuidHasher::new(),
            size: 0,
        })
    }

    /// Flush and fsync the file; the body is now durable under its temporary name.
    pub fn finish(mut self) -> Result<StagedBody, StoreError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Internal("body finished twice"))?;
        file.sync_all()?;
        let path = std::mem::take(&mut self.path);
        Ok(StagedBody {
            path,
            partition: std::mem::take(&mut self.partition),
            guid: std::mem::take(&mut self.hasher).finish(),
            size: self.size,
            owned: true,
        })
    }
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("body already finished"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        if self.file.is_some() && !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A durable body file whose GUID (SHA-1 of its bytes) is known, ready to be linked into an
/// owner's directory. A staged body made by [`BodyWriter`] is deleted when dropped.
#[derive(Debug)]
pub struct StagedBody {
    path: PathBuf,
    partition: String,
    guid: Guid,
    size: u64,
    owned: bool,
}

impl StagedBody {
    /// A file somewhere on `partition`'s filesystem (e.g. sync_server's staging area) whose
    /// SHA-1 the caller has computed while writing and fsynced. It is not deleted on drop.
    pub fn from_verified_file(path: PathBuf, partition: &str, guid: Guid, size: u64) -> Self {
        StagedBody {
            path,
            partition: partition.to_owned(),
            guid,
            size,
            owned: false,
        }
    }

    pub fn guid(&self) -> Guid {
        self.guid
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn partition(&self) -> &str {
        &self.partition
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagedBody {
    fn drop(&mut self) {
        if self.owned {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Link `staged` into `owner`'s directory under its GUID; fsync the receiving directory.
/// Idempotent: an existing file of that GUID is the same content.
pub(crate) fn link_into(
    partition_root: &Path,
    owner: &Owner,
    staged: &StagedBody,
) -> Result<PathBuf, StoreError> {
    let target = body_path(partition_root, owner, &staged.guid);
    let dir = target
        .parent()
        .ok_or(StoreError::Internal("body path has no parent"))?;
    ensure_dir(dir)?;
    match fs::hard_link(&staged.path, &target) {
        Ok(()) => {}
        // Same GUID, same bytes. The existing link may come from a process that crashed
        // before syncing the directory, so the directory is synced below all the same, before
        // any record can reference the file.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) => {
            copy_durable(&staged.path, &target)?;
        }
        Err(e) => return Err(e.into()),
    }
    sync_dir(dir)?;
    Ok(target)
}

/// Copy `src` to `dst` through a temporary name, fsyncing the data before the rename.
fn copy_durable(src: &Path, dst: &Path) -> Result<(), StoreError> {
    let dir = dst
        .parent()
        .ok_or(StoreError::Internal("body path has no parent"))?;
    let tmp = dir.join(format!(".{}", tmp_name()));
    let result = (|| -> io::Result<()> {
        let mut from = File::open(src)?;
        let mut to = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        io::copy(&mut from, &mut to)?;
        to.sync_all()?;
        fs::rename(&tmp, dst)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(result?)
}

/// Read a whole body (tests, small messages). Servers stream with `File::open` instead.
pub fn read_body(path: &Path) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    File::open(path)?.read_to_end(&mut v)?;
    Ok(v)
}

/// SHA-1 of a file's bytes, streamed.
pub(crate) fn hash_file(path: &Path) -> io::Result<Guid> {
    let mut f = File::open(path)?;
    let mut h = GuidHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

/// Create `dir` and any missing parents, fsyncing each parent that gained an entry.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent)?;
        match fs::create_dir(dir) {
            Ok(()) => sync_dir(parent)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Remove a body file if present; ignore "not found".
pub(crate) fn remove_body(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_encoding() {
        assert_eq!(encode_component("fred"), "fred");
        assert_eq!(
            encode_component("first.last@example.com"),
            "first.last@example.com"
        );
        assert_eq!(encode_component("../x"), "%2E.%2Fx");
        assert_eq!(encode_component("a b"), "a%20b");
    }

    #[test]
    fn stage_and_link_once() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let mut w = BodyWriter::create("default", root).unwrap();
        w.write_all(b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let staged = w.finish().unwrap();
        assert_eq!(staged.guid(), Guid::of(b"Subject: x\r\n\r\nbody\r\n"));
        let fred = Owner::User("fred".into());
        let p1 = link_into(root, &fred, &staged).unwrap();
        let p2 = link_into(root, &fred, &staged).unwrap();
        assert_eq!(p1, p2);
        let p3 = link_into(root, &Owner::Shared, &staged).unwrap();
        assert_eq!(read_body(&p3).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
        let tmp_path = staged.path().to_owned();
        drop(staged);
        assert!(!tmp_path.exists());
        assert!(p1.exists());
    }
}
