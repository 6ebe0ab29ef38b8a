//! Requests to a running supervisor (reload, shutdown) and the wake-up pipe its loop sleeps
//! on; the signal handlers of the `master` binary feed the same requests (spec §8.9).
//!
//! Owns: the self-pipe, the request flags and the async-signal-safe handlers. Must not: act
//! on a request (the supervisor loop does, outside any handler).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug)]
struct Inner {
    reload: AtomicBool,
    shutdown: AtomicU32,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

/// A handle to ask a supervisor to reload or shut down; cheap to clone, usable from any
/// thread.
#[derive(Debug, Clone)]
pub struct Control(Arc<Inner>);

impl Control {
    /// A new handle with its own wake-up pipe.
    pub fn new() -> io::Result<Control> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Control(Arc::new(Inner {
            reload: AtomicBool::new(false),
            shutdown: AtomicU32::new(0),
            wake_read: r,
            wake_write: w,
        })))
    }

    /// Ask for a reload of cyrus.conf (what SIGHUP does).
    pub fn reload(&self) {
        self.0.reload.store(true, Ordering::SeqCst);
        wake(self.0.wake_write.as_raw_fd());
    }

    /// Ask for a clean shutdown (what SIGTERM, SIGINT and SIGQUIT do). A second request
    /// while shutting down kills the children that are still running.
    pub fn shutdown(&self) {
        self.0.shutdown.fetch_add(1, Ordering::SeqCst);
        wake(self.0.wake_write.as_raw_fd());
    }

    /// Takes a pending reload request.
    pub(crate) fn take_reload(&self) -> bool {
        self.0.reload.swap(false, Ordering::SeqCst)
    }

    /// How many shutdown requests have arrived.
    pub(crate) fn shutdown_requests(&self) -> u32 {
        self.0.shutdown.load(Ordering::SeqCst)
    }

    /// Sleeps until woken or `timeout` passes, then empties the pipe.
    pub(crate) fn wait(&self, timeout: Duration) {
        let mut pfd = libc::pollfd {
            fd: self.0.wake_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd; EINTR (a signal arrived) simply ends the wait.
        unsafe { libc::poll(&mut pfd, 1, ms) };
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer from our own non-blocking pipe.
        while unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

fn wake(fd: libc::c_int) {
    let b = 1u8;
    // SAFETY: write(2) is async-signal-safe; a full pipe (EAGAIN) already means "woken".
    unsafe { libc::write(fd, (&raw const b).cast(), 1) };
}

/// The handle the process-wide signal handlers act on (set once by [`install_signal_handlers`]).
static TARGET: AtomicPtr<Inner> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: errno is thread-local; saving and restoring it keeps the interrupted code's
    // view intact.
    let saved = unsafe { *libc::__errno_location() };
    let p = TARGET.load(Ordering::SeqCst);
    if !p.is_null() {
        // SAFETY: `p` comes from Arc::into_raw in install_signal_handlers and is never freed.
        let inner = unsafe { &*p };
        match sig {
            libc::SIGHUP => inner.reload.store(true, Ordering::SeqCst),
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
                inner.shutdown.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
        wake(inner.wake_write.as_raw_fd());
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Routes SIGHUP (reload), SIGTERM/SIGINT/SIGQUIT (shutdown) and SIGCHLD (wake up to reap)
/// to `control`. For the `master` binary; call once, before spawning anything.
pub fn install_signal_handlers(control: &Control) -> io::Result<()> {
    let raw = Arc::into_raw(Arc::clone(&control.0)).cast_mut();
    let old = TARGET.swap(raw, Ordering::SeqCst);
    if !old.is_null() {
        // Keep the previous target alive: a handler may be running on it right now.
        tracing::debug!("signal handlers re-targeted");
    }
    for sig in [
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGCHLD,
    ] {
        // SAFETY: an all-zero sigaction is valid; we fill in the handler, an empty mask and
        // SA_RESTART before passing it to sigaction.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: `sa.sa_mask` is a valid sigset_t to clear.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: installing a handler that only touches atomics and calls write(2).
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Instant;

    use super::*;

    #[test]
    fn requests_wake_the_waiter() {
        let c = Control::new().unwrap();
        let t = Instant::now();
        c.wait(Duration::from_millis(20));
        assert!(t.elapsed() >= Duration::from_millis(15));
        c.reload();
        let t = Instant::now();
        c.wait(Duration::from_secs(5));
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(c.take_reload());
        assert!(!c.take_reload());
        c.shutdown();
        c.shutdown();
        assert_eq!(c.shutdown_requests(), 2);
    }
}
