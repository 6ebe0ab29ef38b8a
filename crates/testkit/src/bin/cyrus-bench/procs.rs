//! Process measurements: CPU (user+sys), peak RSS (VmHWM) and wall time, from /proc for
//! servers we did not start directly (children of a Cyrus or our `master`) and from
//! `/usr/bin/time` (wait4 rusage) for clients we run.
//!
//! Owns: reading /proc, a polling [`Watch`] over a set of processes, [`run_timed`].
//! Must not: signal or otherwise touch the processes it watches.

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux x86-64).
const TICKS: f64 = 100.0;

/// One sample of a process.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    /// utime + stime, seconds.
    pub(crate) cpu: f64,
    /// VmHWM, KiB.
    pub(crate) hwm_kib: u64,
}

/// (ppid, comm, sample) of a live, non-zombie process.
fn read(pid: i32) -> Option<(i32, String, Sample)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let f: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // Fields after "(comm) ": state(0) ppid(1) ... utime(11) stime(12).
    if f.first() == Some(&"Z") {
        return None;
    }
    let ppid = f.get(1)?.parse().ok()?;
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Some((
        ppid,
        comm,
        Sample {
            cpu: (ut + st) / TICKS,
            hwm_kib,
        },
    ))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Which processes a [`Watch`] follows.
#[derive(Debug, Clone)]
pub(crate) enum Select {
    /// Direct children of `ppid` whose command name is `comm` (services under a master).
    ChildrenOf { ppid: i32, comm: String },
}

impl Select {
    fn matches(&self, ppid: i32, comm: &str) -> bool {
        match self {
            Select::ChildrenOf { ppid: p, comm: c } => *p == ppid && c == comm,
        }
    }

    fn scan(&self) -> Vec<(i32, Sample)> {
        all_pids()
            .into_iter()
            .filter_map(|pid| {
                let (ppid, comm, s) = read(pid)?;
                self.matches(ppid, &comm).then_some((pid, s))
            })
            .collect()
    }
}

/// What a [`Watch`] saw.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    /// CPU used during the watch, summed over the processes, seconds.
    pub(crate) cpu: f64,
    /// Largest VmHWM of any of them, KiB (reset at the start for processes that already ran).
    pub(crate) hwm_kib: u64,
    /// Largest VmHWM after [`Watch::reset_peak_after`] fired (0 if it did not), KiB.
    pub(crate) hwm_late_kib: u64,
    /// Largest VmRSS when the watch started, KiB.
    pub(crate) rss_start_kib: u64,
    /// How many processes matched.
    pub(crate) procs: usize,
}

/// VmRSS of `pid`, KiB.
fn rss(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Polls matching processes every 10 ms until [`Watch::finish`]. Processes that exist when the
/// watch starts get their peak-RSS counter reset (`clear_refs` 5) and their CPU so far taken as
/// the baseline; processes that appear later count from zero. A process that exits loses at
/// most its last 10 ms.
#[derive(Debug)]
pub(crate) struct Watch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<HashMap<i32, (f64, Sample)>>>,
    rss_start_kib: u64,
    /// Peak RSS per process since the late reset (None until it fires).
    late: Arc<Mutex<Option<HashMap<i32, u64>>>>,
    handle: Option<std::thread::JoinHandle<()>>,
    select: Select,
}

impl Watch {
    pub(crate) fn start(select: Select) -> Watch {
        let seen: Arc<Mutex<HashMap<i32, (f64, Sample)>>> = Arc::default();
        let mut rss_start_kib = 0;
        for (pid, s) in select.scan() {
            rss_start_kib = rss_start_kib.max(rss(pid));
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
            let hwm = read(pid).map(|r| r.2.hwm_kib).unwrap_or(s.hwm_kib);
            if let Ok(mut m) = seen.lock() {
                m.insert(
                    pid,
                    (
                        s.cpu,
                        Sample {
                            cpu: s.cpu,
                            hwm_kib: hwm,
                        },
                    ),
                );
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let late: Arc<Mutex<Option<HashMap<i32, u64>>>> = Arc::default();
        let handle = {
            let (stop, seen, select, late) =
                (stop.clone(), seen.clone(), select.clone(), late.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    Self::poll(&select, &seen, &late);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Watch {
            stop,
            seen,
            rss_start_kib,
            late,
            handle: Some(handle),
            select,
        }
    }

    /// After `delay` (on a thread), resets the peak-RSS counter of every matching process and
    /// tracks the peak from then on separately: the peak of the data phase, without the login
    /// (our password check, argon2id with m = 19 MiB, is a short spike at the start).
    pub(crate) fn reset_peak_after(&self, delay: Duration) {
        let (late, select) = (self.late.clone(), self.select.clone());
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let mut m = HashMap::new();
            for (pid, _) in select.scan() {
                let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
                m.insert(pid, read(pid).map(|r| r.2.hwm_kib).unwrap_or(0));
            }
            if let Ok(mut l) = late.lock() {
                *l = Some(m);
            }
        });
    }

    fn poll(
        select: &Select,
        seen: &Mutex<HashMap<i32, (f64, Sample)>>,
        late: &Mutex<Option<HashMap<i32, u64>>>,
    ) {
        let now = select.scan();
        if let Ok(mut l) = late.lock()
            && let Some(l) = l.as_mut()
        {
            for (pid, s) in &now {
                let e = l.entry(*pid).or_insert(0);
                *e = (*e).max(s.hwm_kib);
            }
        }
        if let Ok(mut m) = seen.lock() {
            for (pid, s) in now {
                let e = m.entry(pid).or_insert((0.0, Sample::default()));
                e.1.cpu = e.1.cpu.max(s.cpu);
                e.1.hwm_kib = e.1.hwm_kib.max(s.hwm_kib);
            }
        }
    }

    pub(crate) fn finish(mut self) -> Usage {
        Self::poll(&self.select, &self.seen, &self.late);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let m = self.seen.lock().map(|m| m.clone()).unwrap_or_default();
        Usage {
            cpu: m.values().map(|(base, s)| s.cpu - base).sum(),
            hwm_kib: m.values().map(|(_, s)| s.hwm_kib).max().unwrap_or(0),
            hwm_late_kib: self
                .late
                .lock()
                .ok()
                .and_then(|l| l.as_ref().and_then(|l| l.values().copied().max()))
                .unwrap_or(0),
            rss_start_kib: self.rss_start_kib,
            procs: m.len(),
        }
    }
}

/// A client run under `/usr/bin/time`.
#[derive(Debug, Clone)]
pub(crate) struct Timed {
    pub(crate) wall: f64,
    pub(crate) user: f64,
    pub(crate) sys: f64,
    pub(crate) maxrss_kib: u64,
    pub(crate) status: Option<i32>,
    /// Killed because nothing moved on the wire for a while (see [`run_timed`]).
    pub(crate) stalled: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Timed {
    pub(crate) fn cpu(&self) -> f64 {
        self.user + self.sys
    }
}

/// Runs `program args` under `/usr/bin/time` (as `uid:gid` if given), in `dir`. Every 100 ms
/// `stalled()` is asked; when it says yes the program (the child of `time`) gets SIGTERM and
/// the result has `stalled` set.
pub(crate) fn run_timed(
    program: &Path,
    args: &[&str],
    ids: Option<(u32, u32)>,
    dir: &Path,
    stalled: &mut dyn FnMut() -> bool,
) -> Result<Timed> {
    let tf = tempfile::Builder::new().prefix("bench-time-").tempfile()?;
    let tpath = tf.path().to_owned();
    if let Some((u, g)) = ids {
        std::os::unix::fs::chown(&tpath, Some(u), Some(g))?;
    }
    let out_f = tempfile::tempfile()?;
    let err_f = tempfile::tempfile()?;
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&tpath)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out_f.try_clone()?)
        .stderr(err_f.try_clone()?);
    if let Some((u, g)) = ids {
        c.uid(u).gid(g);
    }
    let t0 = Instant::now();
    let mut child = c
        .spawn()
        .with_context(|| format!("running {}", program.display()))?;
    let time_pid = child.id() as i32;
    let mut was_stalled = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if !was_stalled && stalled() {
            was_stalled = true;
            for pid in all_pids() {
                if read(pid).is_some_and(|(ppid, _, _)| ppid == time_pid)
                    && let Some(p) = rustix::process::Pid::from_raw(pid)
                {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::Term);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let wall = t0.elapsed().as_secs_f64();
    let t = std::fs::read_to_string(&tpath)?;
    // With a non-zero exit, time writes "Command exited with non-zero status N" first.
    let last = t.lines().last().unwrap_or_default();
    let f: Vec<&str> = last.split_whitespace().collect();
    if f.len() != 4 {
        bail!("unexpected /usr/bin/time output {t:?}");
    }
    let slurp = |mut f: std::fs::File| {
        use std::io::{Read as _, Seek as _};
        let mut v = Vec::new();
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = f.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    };
    Ok(Timed {
        wall,
        user: f[1].parse()?,
        sys: f[2].parse()?,
        maxrss_kib: f[3].parse()?,
        status: status.code(),
        stalled: was_stalled,
        stdout: slurp(out_f),
        stderr: slurp(err_f),
    })
}

/// `/proc/loadavg`'s first three fields.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// uid of `cyrus` and gid of `mail` (the owners Cyrus runs as).
pub(crate) fn cyrus_ids() -> Result<(u32, u32)> {
    let field = |file: &str, name: &str| -> Result<u32> {
        std::fs::read_to_string(file)?
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(2)?.parse().ok())
            .with_context(|| format!("no {name} in {file}"))
    };
    Ok((field("/etc/passwd", "cyrus")?, field("/etc/group", "mail")?))
}

/// Diagnostics (`BENCH_STRACE=FILE`): strace -c of one server process.
#[derive(Debug)]
pub(crate) struct Strace {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Strace {
    /// Stops tracing (SIGINT to our strace, which then prints its summary) and waits.
    pub(crate) fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// Waits up to 30 s for a child `comm` of `ppid`, then runs `strace -c -f -p` on it until it
/// exits or [`Strace::finish`], appending the summary to `out`.
pub(crate) fn strace_child(ppid: i32, comm: &str, out: std::path::PathBuf) -> Strace {
    let sel = Select::ChildrenOf {
        ppid,
        comm: comm.to_owned(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let comm = comm.to_owned();
    let handle = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(30);
        let pid = loop {
            if let Some((p, _)) = sel.scan().first() {
                break *p;
            }
            if Instant::now() > end || stop2.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let tmp = out.with_extension(format!("{pid}"));
        let Ok(mut child) = Command::new("strace")
            .args(["-c", "-f", "-p", &pid.to_string(), "-o"])
            .arg(&tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return;
        };
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if stop2.load(Ordering::Relaxed) {
                if let Some(p) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::Int);
                }
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&tmp).unwrap_or_default();
        let _ = std::fs::remove_file(&tmp);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
        {
            use std::io::Write as _;
            let _ = writeln!(f, "=== {comm} pid {pid} (parent {ppid})\n{text}");
        }
    });
    Strace { stop, handle }
}
