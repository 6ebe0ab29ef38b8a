//! The password file: a small text user database shared by every server process and
//! `saslpasswd2`.
//!
//! Owns: the on-disk format, validation of userids/realms/new passwords, crash-safe and
//! multi-process-safe updates, and reloading when another process has changed the file.
//!
//! Must not: speak SASL or decide authorisation; it answers "does this password match this
//! user" and nothing else.
//!
//! # Format
//!
//! UTF-8 text, one entry per line, `key:hash` (LF line ends; a trailing CR is tolerated):
//!
//! ```text
//! # cyrus-rs password file (userid[@realm]:hash); edit with saslpasswd2
//! admin@cyrus-replica:$argon2id$v=19$m=7168,t=5,p=1$c2FsdHNhbHQ$…
//! alice:$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHc…
//! ```
//!
//! * `key` is `userid` or `userid@realm`, as Cyrus SASL's sasldb keys users by (user, realm)
//!   and `saslpasswd2 -u realm user` creates `user@realm`. The realm is the part after the
//!   **last** `@` (as libsasl's `_plug_parseuser`), so a virtual-domain userid
//!   `alice@example.com` is user `alice` in realm `example.com`.
//! * `hash` is a PHC argon2 string (what we write) or a glibc SHA-512-crypt `$6$` /
//!   SHA-256-crypt `$5$` string (accepted for imported users). Anything else (plaintext in
//!   particular) is kept in the file but never matches: [`PasswdFile::verify_key`] reports
//!   [`PasswdError::Hash`].
//! * Blank lines and lines starting with `#` are ignored; a rewrite keeps only the header
//!   comment above. A duplicate key or a line without `:` makes the whole file unreadable
//!   (reported with its line number) rather than silently picking one entry.
//!
//! # Lookup with a default realm
//!
//! A server built with [`PasswdFile::with_default_realm`] (Cyrus uses `servername`) looks up a
//! login `admin` as `admin@<default realm>` first, then as bare `admin`; a login that already
//! contains `@` is looked up exactly. So both `saslpasswd2 -u cyrus-replica -c admin` (as the
//! Cyrus replication guide says) and plain `saslpasswd2 -c admin` work.
//!
//! # Concurrency and durability
//!
//! Writers take an exclusive `flock` on `<file>.lock` (the data file itself is replaced, so it
//! cannot carry the lock), re-read the file, write the new contents to a temporary file in the
//! same directory, fsync it, rename it over the original and fsync the directory. Readers
//! never lock: they see the old or the new file, never a mix, and reload whenever the file's
//! device, inode, size, mtime or ctime differ from what they cached. The new file keeps the
//! old file's permission bits (0600 for a new file); ownership is the writer's, so run the
//! tool as the `cyrus` user.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::fs::{FlockOperation, flock};

use crate::hash::{self, HashError};

/// File name of the password file inside `configdirectory`.
pub const DEFAULT_FILE_NAME: &str = "passwd";

/// Longest userid, realm or password we accept, in bytes.
pub const MAX_FIELD_LEN: usize = 1024;

const HEADER: &str = "# cyrus-rs password file (userid[@realm]:hash); edit with saslpasswd2\n";

/// Where the servers look for the password file: the explicit override (the
/// `sasl_sasldb_path` option) if given, else `<configdirectory>/passwd`.
pub fn passwd_path(config_directory: &Path, sasldb_path: Option<&Path>) -> PathBuf {
    match sasldb_path {
        Some(p) => p.to_path_buf(),
        None => config_directory.join(DEFAULT_FILE_NAME),
    }
}

/// Errors from reading or updating the password file.
#[derive(Debug, thiserror::Error)]
pub enum PasswdError {
    /// The userid cannot be stored (empty, too long, `:`, control character, leading `#`).
    #[error("invalid userid: {0}")]
    InvalidUserid(&'static str),
    /// The realm cannot be stored (as userid, and no `@`).
    #[error("invalid realm: {0}")]
    InvalidRealm(&'static str),
    /// The new password cannot be stored (empty, too long, `:`, CR, LF or NUL).
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    /// `delete` or a replace-only set for a key that is not in the file.
    #[error("user {0} does not exist")]
    NoSuchUser(String),
    /// A create-only set for a key already in the file.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The file exists but is not in our format.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The password file.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is unreadable).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A stored hash is unusable, or hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Reading, writing, locking or syncing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PasswdError + '_ {
    move |source| PasswdError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn check_field(s: &str, allow_at: bool) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.len() > MAX_FIELD_LEN {
        return Err("too long");
    }
    if s.contains(':') {
        return Err("contains ':'");
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character (newline, NUL, …)");
    }
    if s.starts_with('#') {
        return Err("starts with '#'");
    }
    if !allow_at && s.contains('@') {
        return Err("contains '@'");
    }
    Ok(())
}

/// Build the file key for `user` in `realm` (`user@realm`, or `user` without a realm),
/// validating both.
pub fn user_key(user: &str, realm: Option<&str>) -> Result<String, PasswdError> {
    check_field(user, true).map_err(PasswdError::InvalidUserid)?;
    match realm {
        None => Ok(user.to_owned()),
        Some(r) => {
            check_field(r, false).map_err(PasswdError::InvalidRealm)?;
            Ok(format!("{user}@{r}"))
        }
    }
}

/// Validate a new password: non-empty, at most [`MAX_FIELD_LEN`] bytes, no `:`, CR, LF, NUL.
pub fn check_new_password(password: &[u8]) -> Result<(), PasswdError> {
    if password.is_empty() {
        return Err(PasswdError::InvalidPassword("empty"));
    }
    if password.len() > MAX_FIELD_LEN {
        return Err(PasswdError::InvalidPassword("too long"));
    }
    if password
        .iter()
        .any(|b| matches!(b, b':' | b'\n' | b'\r' | 0))
    {
        return Err(PasswdError::InvalidPassword(
            "contains ':', a newline or NUL",
        ));
    }
    Ok(())
}

/// What [`PasswdFile::set_password`] does when the key exists or does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// Create the entry or replace its hash (`saslpasswd2 -c`).
    CreateOrReplace,
    /// Only change an existing entry (`saslpasswd2` without `-c`).
    ReplaceExisting,
    /// Only add a new entry.
    CreateNew,
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &fs::Metadata) -> Self {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

type Entries = BTreeMap<String, String>;

#[derive(Debug)]
struct Cached {
    /// `None`: the file did not exist.
    stamp: Option<Stamp>,
    entries: Arc<Entries>,
}

/// A password file at a fixed path, with a reload-on-change cache.
///
/// Cheap to share (`Arc<PasswdFile>`); every method takes `&self`.
#[derive(Debug)]
pub struct PasswdFile {
    path: PathBuf,
    default_realm: Option<String>,
    cache: Mutex<Option<Cached>>,
}

impl PasswdFile {
    /// A handle on the file at `path`. Nothing is read yet; a missing file is an empty
    /// database until the first update creates it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PasswdFile {
            path: path.into(),
            default_realm: None,
            cache: Mutex::new(None),
        }
    }

    /// The password file a server uses: `sasl_sasldb_path` when set (non-empty), else
    /// `<configdirectory>/passwd`, with the server's `servername` as the default realm (as
    /// Cyrus's SASL realm). Callers pass the option values.
    pub fn for_server(
        config_directory: &Path,
        sasldb_path: Option<&str>,
        servername: &str,
    ) -> Self {
        let sasldb = sasldb_path.filter(|s| !s.is_empty()).map(Path::new);
        PasswdFile::new(passwd_path(config_directory, sasldb))
            .with_default_realm(Some(servername.to_owned()))
    }

    /// Set the realm tried first for logins without `@` (see the module docs).
    pub fn with_default_realm(mut self, realm: Option<String>) -> Self {
        self.default_realm = realm.filter(|r| !r.is_empty());
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current entries, reloading if the file changed since the last call.
    fn entries(&self) -> Result<Arc<Entries>, PasswdError> {
        let current = match fs::metadata(&self.path) {
            Ok(m) => Some(Stamp::of(&m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.path)(e)),
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = cache.as_ref()
            && c.stamp == current
        {
            return Ok(Arc::clone(&c.entries));
        }
        let (stamp, entries) = read_file(&self.path)?;
        let entries = Arc::new(entries);
        *cache = Some(Cached {
            stamp,
            entries: Arc::clone(&entries),
        });
        Ok(entries)
    }

    /// All keys (`user` or `user@realm`), sorted.
    pub fn keys(&self) -> Result<Vec<String>, PasswdError> {
        Ok(self.entries()?.keys().cloned().collect())
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: &str) -> Result<bool, PasswdError> {
        Ok(self.entries()?.contains_key(key))
    }

    /// Check `password` for exactly `key`. An unknown key costs about as much time as a wrong
    /// password and returns `Ok(false)`. `Err(Hash)` means the stored entry is unusable.
    pub fn verify_key(&self, key: &str, password: &[u8]) -> Result<bool, PasswdError> {
        let entries = self.entries()?;
        match entries.get(key) {
            Some(stored) => Ok(hash::verify_password(password, stored)?),
            None => Ok(hash::dummy_verify(password)),
        }
    }

    /// The key a login name resolves to, following the default-realm rule of the module docs,
    /// or `None` when no entry matches.
    pub fn resolve_login(&self, login: &str) -> Result<Option<String>, PasswdError> {
        let entries = self.entries()?;
        let mut candidates = Vec::with_capacity(2);
        if !login.contains('@')
            && let Some(realm) = &self.default_realm
        {
            candidates.push(format!("{login}@{realm}"));
        }
        candidates.push(login.to_owned());
        Ok(candidates.into_iter().find(|k| entries.contains_key(k)))
    }

    /// Check `password` for a login name (authcid), following the default-realm rule.
    pub fn verify_login(&self, login: &str, password: &[u8]) -> Result<bool, PasswdError> {
        match self.resolve_login(login)? {
            Some(key) => self.verify_key(&key, password),
            None => Ok(hash::dummy_verify(password)),
        }
    }

    /// Hash `password` with argon2id and store it for `user` (in `realm`, if given).
    pub fn set_password(
        &self,
        user: &str,
        realm: Option<&str>,
        password: &[u8],
        mode: SetMode,
    ) -> Result<(), PasswdError> {
        let key = user_key(user, realm)?;
        check_new_password(password)?;
        let stored = hash::hash_password(password)?;
        self.update(|entries| put(entries, key, stored, mode))
    }

    /// Store an existing hash (argon2 PHC, `$6$` or `$5$`) for `user`, e.g. when importing
    /// users from another system. Plaintext and unknown schemes are refused.
    pub fn set_hash(
        &self,
        user: &str,
        realm: Option<&str>,
        stored: &str,
        mode: SetMode,
    ) -> Result<(), PasswdError> {
        let key = user_key(user, realm)?;
        hash::validate_stored_hash(stored)?;
        if stored.contains(':') || stored.chars().any(char::is_control) {
            return Err(HashError::Unsupported.into());
        }
        let stored = stored.to_owned();
        self.update(|entries| put(entries, key, stored, mode))
    }

    /// Remove `user` (in `realm`, if given). [`PasswdError::NoSuchUser`] if absent.
    pub fn delete(&self, user: &str, realm: Option<&str>) -> Result<(), PasswdError> {
        let key = user_key(user, realm)?;
        self.update(|entries| match entries.remove(&key) {
            Some(_) => Ok(()),
            None => Err(PasswdError::NoSuchUser(key)),
        })
    }

    /// Locked read-modify-write-rename; see the module docs for the ordering.
    fn update(
        &self,
        change: impl FnOnce(&mut Entries) -> Result<(), PasswdError>,
    ) -> Result<(), PasswdError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut lock_name = self.path.clone().into_os_string();
        lock_name.push(".lock");
        let lock_path = PathBuf::from(lock_name);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        flock(&lock, FlockOperation::LockExclusive)
            .map_err(|e| io_err(&lock_path)(io::Error::from(e)))?;

        let (_, mut entries) = read_file(&self.path)?;
        change(&mut entries)?;

        let mut text = String::from(HEADER);
        for (k, v) in &entries {
            text.push_str(k);
            text.push(':');
            text.push_str(v);
            text.push('\n');
        }
        let mode = match fs::metadata(&self.path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(_) => 0o600,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".passwd.tmp")
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        let tmp_path = tmp.path().to_path_buf();
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err(&tmp_path))?;
        tmp.write_all(text.as_bytes()).map_err(io_err(&tmp_path))?;
        tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
        tmp.persist(&self.path)
            .map_err(|e| io_err(&self.path)(e.error))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))?;

        // Our own change: drop the cache so the next read sees it even if the stamp were
        // somehow equal.
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = None;
        drop(lock);
        Ok(())
    }
}

fn put(
    entries: &mut Entries,
    key: String,
    stored: String,
    mode: SetMode,
) -> Result<(), PasswdError> {
    let exists = entries.contains_key(&key);
    match (mode, exists) {
        (SetMode::ReplaceExisting, false) => Err(PasswdError::NoSuchUser(key)),
        (SetMode::CreateNew, true) => Err(PasswdError::UserExists(key)),
        _ => {
            entries.insert(key, stored);
            Ok(())
        }
    }
}

/// Read and parse the file; a missing file is empty. The stamp comes from the open
/// descriptor, so it describes exactly the bytes read.
fn read_file(path: &Path) -> Result<(Option<Stamp>, Entries), PasswdError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, Entries::new())),
        Err(e) => return Err(io_err(path)(e)),
    };
    let stamp = Stamp::of(&file.metadata().map_err(io_err(path))?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_err(path))?;
    let entries = parse(path, &bytes)?;
    Ok((Some(stamp), entries))
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Entries, PasswdError> {
    let parse_err = |line: usize, reason: String| PasswdError::Parse {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| {
        parse_err(
            0,
            "not UTF-8 text (a Berkeley DB sasldb2? this server uses a text password file; \
             recreate users with saslpasswd2)"
                .into(),
        )
    })?;
    let mut entries = Entries::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, stored)) = line.split_once(':') else {
            return Err(parse_err(i + 1, "expected userid[@realm]:hash".into()));
        };
        if let Err(why) = check_field(key, true) {
            return Err(parse_err(i + 1, format!("bad userid: {why}")));
        }
        if entries.insert(key.to_owned(), stored.to_owned()).is_some() {
            return Err(parse_err(i + 1, format!("duplicate entry for {key}")));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, PasswdFile) {
        let dir = tempfile::tempdir().unwrap();
        let f = PasswdFile::new(dir.path().join("passwd"));
        (dir, f)
    }

    #[test]
    fn default_path() {
        assert_eq!(
            passwd_path(Path::new("/var/lib/cyrus"), None),
            Path::new("/var/lib/cyrus/passwd")
        );
        assert_eq!(
            passwd_path(Path::new("/var/lib/cyrus"), Some(Path::new("/etc/x"))),
            Path::new("/etc/x")
        );
    }

    #[test]
    fn create_verify_change_delete() {
        let (_d, f) = store();
        assert!(f.keys().unwrap().is_empty());
        assert!(!f.verify_key("alice", b"pw").unwrap());
        f.set_password("alice", None, b"one", SetMode::CreateOrReplace)
            .unwrap();
        assert!(f.verify_key("alice", b"one").unwrap());
        assert!(!f.verify_key("alice", b"two").unwrap());
        f.set_password("alice", None, b"two", SetMode::ReplaceExisting)
            .unwrap();
        assert!(f.verify_key("alice", b"two").unwrap());
        assert!(!f.verify_key("alice", b"one").unwrap());
        assert!(matches!(
            f.set_password("alice", None, b"x", SetMode::CreateNew),
            Err(PasswdError::UserExists(_))
        ));
        assert!(matches!(
            f.set_password("bob", None, b"x", SetMode::ReplaceExisting),
            Err(PasswdError::NoSuchUser(_))
        ));
        f.delete("alice", None).unwrap();
        assert!(!f.contains_key("alice").unwrap());
        assert!(matches!(
            f.delete("alice", None),
            Err(PasswdError::NoSuchUser(_))
        ));
        let mode = fs::metadata(f.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn realms_and_default_realm() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        let f = PasswdFile::new(&path).with_default_realm(Some("cyrus-replica".into()));
        f.set_password(
            "admin",
            Some("cyrus-replica"),
            b"a",
            SetMode::CreateOrReplace,
        )
        .unwrap();
        f.set_password("bob", None, b"b", SetMode::CreateOrReplace)
            .unwrap();
        f.set_password("carol", Some("example.com"), b"c", SetMode::CreateOrReplace)
            .unwrap();
        assert_eq!(
            f.keys().unwrap(),
            ["admin@cyrus-replica", "bob", "carol@example.com"]
        );
        assert!(f.verify_login("admin", b"a").unwrap());
        assert!(f.verify_login("admin@cyrus-replica", b"a").unwrap());
        assert!(f.verify_login("bob", b"b").unwrap());
        assert!(!f.verify_login("carol", b"c").unwrap());
        assert!(f.verify_login("carol@example.com", b"c").unwrap());
        let plain = PasswdFile::new(&path);
        assert!(!plain.verify_login("admin", b"a").unwrap());
    }

    #[test]
    fn invalid_inputs_rejected() {
        let (_d, f) = store();
        for bad in ["", "a:b", "a\nb", "a\rb", "a\0b", "#x"] {
            assert!(
                matches!(
                    f.set_password(bad, None, b"pw", SetMode::CreateOrReplace),
                    Err(PasswdError::InvalidUserid(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            f.set_password("u", Some("a@b"), b"pw", SetMode::CreateOrReplace),
            Err(PasswdError::InvalidRealm(_))
        ));
        for bad in [&b""[..], b"a:b", b"a\nb", b"a\0b", b"x\r"] {
            assert!(matches!(
                f.set_password("u", None, bad, SetMode::CreateOrReplace),
                Err(PasswdError::InvalidPassword(_))
            ));
        }
        assert!(matches!(
            f.set_hash("u", None, "plaintext", SetMode::CreateOrReplace),
            Err(PasswdError::Hash(HashError::Unsupported))
        ));
        assert!(!f.path().exists());
    }

    #[test]
    fn imported_sha512_and_plaintext_line() {
        let (_d, f) = store();
        let h = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts.";
        f.set_hash("old", None, h, SetMode::CreateOrReplace)
            .unwrap();
        assert!(f.verify_login("old", b"secret").unwrap());
        // A hand-written plaintext line is kept but never matches.
        let mut text = fs::read_to_string(f.path()).unwrap();
        text.push_str("plain:secret\r\n\n# comment\n");
        fs::write(f.path(), text).unwrap();
        assert!(matches!(
            f.verify_key("plain", b"secret"),
            Err(PasswdError::Hash(_))
        ));
        assert!(f.verify_login("old", b"secret").unwrap());
    }

    #[test]
    fn reloads_after_external_change() {
        let (d, f) = store();
        f.set_password("a", None, b"1", SetMode::CreateOrReplace)
            .unwrap();
        assert!(f.contains_key("a").unwrap());
        let other = PasswdFile::new(d.path().join("passwd"));
        other
            .set_password("b", None, b"2", SetMode::CreateOrReplace)
            .unwrap();
        assert!(f.contains_key("b").unwrap());
        other.delete("a", None).unwrap();
        assert!(!f.contains_key("a").unwrap());
    }

    #[test]
    fn parse_errors_have_line_numbers() {
        let (_d, f) = store();
        fs::write(f.path(), "# c\nok:$6$x$y\nbroken\n").unwrap();
        match f.keys() {
            Err(PasswdError::Parse { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        fs::write(f.path(), "a:1\na:2\n").unwrap();
        assert!(matches!(f.keys(), Err(PasswdError::Parse { line: 2, .. })));
        fs::write(f.path(), [0u8, 0x61, 0x62, 0xff, 0x00, 0x05]).unwrap();
        assert!(matches!(f.keys(), Err(PasswdError::Parse { line: 0, .. })));
        // A broken file is never overwritten.
        assert!(
            f.set_password("x", None, b"y", SetMode::CreateOrReplace)
                .is_err()
        );
        assert_eq!(
            fs::read(f.path()).unwrap(),
            [0u8, 0x61, 0x62, 0xff, 0x00, 0x05]
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse(Path::new("p"), &bytes);
        }
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Separate handles: like separate processes, they only share the file.
                    let f = PasswdFile::new(path);
                    for i in 0..5 {
                        f.set_password(&format!("u{t}-{i}"), None, b"pw", SetMode::CreateOrReplace)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let f = PasswdFile::new(&path);
        assert_eq!(f.keys().unwrap().len(), 20);
        assert!(f.verify_key("u3-4", b"pw").unwrap());
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
