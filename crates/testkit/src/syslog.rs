//! Best-effort capture of Cyrus's syslog(3) output in tests.
//!
//! Cyrus logs only through syslog(3), i.e. datagrams to `/dev/log`. When the machine has no
//! `/dev/log` (or only a stale one left by a finished test process), one test process binds it
//! and becomes the *hub*: it forwards every datagram to each per-process subscriber socket in
//! [`HUB_DIR`]`/subs/`. Every process that wants lines binds its own subscriber socket and keeps a
//! watcher thread that takes over the hub role (under an `flock`) when the hub process is gone, so
//! parallel test processes (nextest) all see the lines. Inside a process, lines are routed to
//! each [`SyslogTap`] by the instance's `syslog_prefix` tag.
//!
//! Must not: replace a live `/dev/log` that is not a socket or that answers (a real syslogd or
//! another hub) — then we only subscribe, or capture nothing. Lines are for diagnostics only;
//! tests must not depend on them arriving.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use std::{fs, io};

/// Rendezvous directory for the cross-process hub.
pub const HUB_DIR: &str = "/tmp/cyrus-rs-testkit-syslog";
const DEV_LOG: &str = "/dev/log";
const MAX_LINES: usize = 20_000;

type Sink = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Default)]
struct Router {
    taps: Mutex<Vec<(String, Sink)>>,
}

static ROUTER: OnceLock<Option<Arc<Router>>> = OnceLock::new();
static TAG_SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique `syslog_prefix` for one instance: `ct<pid>x<n>`.
pub fn next_tag() -> String {
    format!(
        "ct{}x{}",
        std::process::id(),
        TAG_SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Lines captured for one tag (one Cyrus instance).
#[derive(Debug, Clone)]
pub struct SyslogTap {
    sink: Sink,
}

impl SyslogTap {
    /// All lines so far, without the `<PRI>` and timestamp prefix.
    pub fn lines(&self) -> Vec<String> {
        self.sink.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Subscribes to lines whose ident starts with `tag` (`tag/service[pid]: ...`). `None` when no
/// catcher can be set up on this machine.
pub fn tap(tag: &str) -> Option<SyslogTap> {
    let router = ROUTER.get_or_init(start_router).clone()?;
    let sink: Sink = Arc::default();
    if let Ok(mut t) = router.taps.lock() {
        t.push((tag.to_string(), sink.clone()));
    }
    Some(SyslogTap { sink })
}

fn start_router() -> Option<Arc<Router>> {
    let subs = Path::new(HUB_DIR).join("subs");
    fs::create_dir_all(&subs).ok()?;
    let _ = fs::set_permissions(HUB_DIR, fs::Permissions::from_mode(0o755));
    let me = subs.join(format!("{}.sock", std::process::id()));
    let _ = fs::remove_file(&me);
    let sock = UnixDatagram::bind(&me).ok()?;
    let router = Arc::new(Router::default());
    let r = router.clone();
    std::thread::Builder::new()
        .name("syslog-sub".into())
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = sock.recv(&mut buf) {
                let line = clean(&buf[..n]);
                if let Ok(taps) = r.taps.lock() {
                    for (tag, sink) in taps.iter() {
                        if line.starts_with(tag.as_str())
                            && line.as_bytes().get(tag.len()).is_some_and(|b| *b == b'/')
                            && let Ok(mut v) = sink.lock()
                            && v.len() < MAX_LINES
                        {
                            v.push(line.clone());
                        }
                    }
                }
            }
        })
        .ok()?;
    std::thread::Builder::new()
        .name("syslog-hub-watch".into())
        .spawn(move || {
            loop {
                if !dev_log_alive()
                    && let Some(hub) = try_become_hub()
                {
                    run_hub(hub);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
        .ok()?;
    // Give the watcher a moment so the first instance's start-up lines are not lost.
    for _ in 0..20 {
        if dev_log_alive() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(router)
}

/// The pid of the testkit process acting as the `/dev/log` hub, if one is running (then lines
/// reach every [`SyslogTap`]; otherwise `/dev/log` belongs to something else or nobody).
pub fn hub_pid() -> Option<u32> {
    let pid: u32 = fs::read_to_string(Path::new(HUB_DIR).join("hub.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (Path::new(&format!("/proc/{pid}")).exists() && dev_log_alive()).then_some(pid)
}

/// True when something answers on `/dev/log` (a real syslogd or a hub).
fn dev_log_alive() -> bool {
    match UnixDatagram::unbound() {
        Ok(s) => s.connect(DEV_LOG).is_ok(),
        Err(_) => false,
    }
}

fn try_become_hub() -> Option<UnixDatagram> {
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(Path::new(HUB_DIR).join("lock"))
        .ok()?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).ok()?;
    // Re-check under the lock: another process may have just taken over.
    if dev_log_alive() {
        return None;
    }
    match fs::symlink_metadata(DEV_LOG) {
        Ok(m) if m.file_type().is_socket() => {
            fs::remove_file(DEV_LOG).ok()?;
        }
        Ok(_) => return None, // not ours to replace
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    let sock = UnixDatagram::bind(DEV_LOG).ok()?;
    // Cyrus processes run as the cyrus user and must be able to send.
    let _ = fs::set_permissions(DEV_LOG, fs::Permissions::from_mode(0o666));
    let _ = fs::write(
        Path::new(HUB_DIR).join("hub.pid"),
        std::process::id().to_string(),
    );
    Some(sock)
    // lock released on drop
}

fn run_hub(sock: UnixDatagram) {
    let subs = PathBuf::from(HUB_DIR).join("subs");
    let out = match UnixDatagram::unbound() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = sock.recv(&mut buf) {
        let Ok(entries) = fs::read_dir(&subs) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if let Err(err) = out.send_to(&buf[..n], &p)
                && err.kind() == io::ErrorKind::ConnectionRefused
            {
                // Its process is gone.
                let _ = fs::remove_file(&p);
            }
        }
    }
}

/// Strips `<PRI>` and the RFC 3164 timestamp (`Mmm dd hh:mm:ss `).
fn clean(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_end_matches(['\n', '\0']);
    let s = match s.strip_prefix('<').and_then(|r| r.split_once('>')) {
        Some((_, rest)) => rest,
        None => s,
    };
    // "Nov 28 20:52:33 " is 16 bytes.
    if s.len() > 16 && s.as_bytes().get(15) == Some(&b' ') && s.as_bytes().get(6) == Some(&b' ') {
        s.get(16..).unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_pri_and_time() {
        assert_eq!(
            clean(b"<22>Nov 28 20:52:33 ct1x0/imap[42]: login: x"),
            "ct1x0/imap[42]: login: x"
        );
        assert_eq!(clean(b"plain"), "plain");
    }
}
