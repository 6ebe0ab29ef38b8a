//! Process-wide allocator settings for the long-running programs.
#![allow(unsafe_code)]

/// Large allocations (bodies being parsed, argon2's memory during a login, compression
/// buffers) come from `mmap` and go back to the system when freed. glibc otherwise raises its
/// mmap threshold after the first such free, so each thread's arena keeps the largest buffer
/// it ever used: a server's memory would grow with every thread that once verified a
/// password. Call once at the start of `main`, before any thread exists.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; called before other threads start,
    // with a documented parameter and value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
