//! Finding the program a cyrus.conf `cmd` names (spec §8.1), so that entries written for
//! Cyrus run our binaries.
//!
//! Owns: the lookup rule. Must not: spawn or check anything beyond "is an executable file".
//!
//! Rule (documented in `docs/design/master.md`):
//! 1. A bare name (`sync_server`) is looked up in the program directory (where our `master`
//!    binary lives), then in the Cyrus tool directories ([`CYRUS_TOOL_DIRS`]), first hit wins.
//! 2. An absolute path in one of the Cyrus tool directories (`/usr/cyrus/bin/sync_client`,
//!    as the replication guide writes it, or Debian's `/usr/lib/cyrus/bin/imapd`) runs our
//!    program of the same base name when the program directory has one; otherwise the path
//!    as written.
//! 3. Any other absolute path runs as written; a relative path with a `/` is tried below the
//!    program directory, then below the tool directories.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where Cyrus installations keep their tools: the guide's `/usr/cyrus/bin`, Debian's
/// `/usr/lib/cyrus/bin`, Fedora's `/usr/libexec/cyrus-imapd`; `/usr/sbin` is Cyrus's second
/// lookup directory for bare names.
pub const CYRUS_TOOL_DIRS: &[&str] = &[
    "/usr/cyrus/bin",
    "/usr/lib/cyrus/bin",
    "/usr/libexec/cyrus-imapd",
    "/usr/sbin",
];

/// Where programs are looked up.
#[derive(Debug, Clone)]
pub struct ProgramPath {
    /// Our programs (normally the directory of the running `master`).
    pub program_dir: Option<PathBuf>,
    /// Cyrus tool directories, in lookup order.
    pub tool_dirs: Vec<PathBuf>,
}

impl Default for ProgramPath {
    fn default() -> Self {
        ProgramPath {
            program_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_owned)),
            tool_dirs: CYRUS_TOOL_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl ProgramPath {
    /// Only `program_dir`, no Cyrus directories (tests).
    pub fn only(program_dir: impl Into<PathBuf>) -> ProgramPath {
        ProgramPath {
            program_dir: Some(program_dir.into()),
            tool_dirs: Vec::new(),
        }
    }

    /// The executable for `argv0`, or `None` when nothing executable is found.
    pub fn resolve(&self, argv0: &str) -> Option<PathBuf> {
        if argv0.is_empty() {
            return None;
        }
        let path = Path::new(argv0);
        let ours = |rel: &Path| {
            self.program_dir
                .as_ref()
                .map(|d| d.join(rel))
                .filter(|p| is_executable(p))
        };
        if path.is_absolute() {
            let in_tool_dir = path.parent().is_some_and(|parent| {
                CYRUS_TOOL_DIRS.iter().any(|d| Path::new(d) == parent)
                    || self.tool_dirs.iter().any(|d| d == parent)
            });
            if in_tool_dir && let Some(p) = path.file_name().and_then(|n| ours(Path::new(n))) {
                return Some(p);
            }
            return is_executable(path).then(|| path.to_owned());
        }
        ours(path).or_else(|| {
            self.tool_dirs
                .iter()
                .map(|d| d.join(path))
                .find(|p| is_executable(p))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn exe(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn guide_paths_run_our_programs() {
        let ours = tempfile::tempdir().unwrap();
        let cyrus = tempfile::tempdir().unwrap();
        let sc = exe(ours.path(), "sync_client");
        let theirs = exe(cyrus.path(), "ctl_cyrusdb");
        std::fs::write(ours.path().join("notexec"), "x").unwrap();
        let pp = ProgramPath {
            program_dir: Some(ours.path().to_owned()),
            tool_dirs: vec![cyrus.path().to_owned()],
        };
        assert_eq!(pp.resolve("sync_client"), Some(sc.clone()));
        assert_eq!(pp.resolve("/usr/cyrus/bin/sync_client"), Some(sc.clone()));
        assert_eq!(pp.resolve("/usr/lib/cyrus/bin/sync_client"), Some(sc));
        assert_eq!(pp.resolve("ctl_cyrusdb"), Some(theirs.clone()));
        let written = cyrus.path().join("ctl_cyrusdb");
        assert_eq!(pp.resolve(written.to_str().unwrap()), Some(theirs));
        assert_eq!(pp.resolve("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(pp.resolve("notexec"), None);
        assert_eq!(pp.resolve("nosuch"), None);
        assert_eq!(pp.resolve("/usr/cyrus/bin/nosuch"), None);
        assert_eq!(pp.resolve(""), None);
    }
}
