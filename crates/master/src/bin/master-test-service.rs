//! Test-only helper for master's tests. Not installed; not a Cyrus program.
//!
//! Modes (first argument):
//! * (none, or `-C`/`--listen` service flags): a service on the socket inherited from master
//!   (`net::Listener::from_args`). Each connection gets
//!   `* OK pid=<pid> service=<CYRUS_SERVICE> id=<CYRUS_ID> maxchild=<CYRUS_MAXCHILD>` and then
//!   every line echoed back. Stops on SIGTERM like our real services (`net::serve`).
//! * `--touch FILE WORDS…`: append `<pid> WORDS…` to FILE and exit 0 (START and EVENTS).
//! * `--daemon FILE`: append `<pid> daemon isdaemon=<CYRUS_ISDAEMON>`, then wait for SIGTERM
//!   and exit 75 as Cyrus programs do (SIGHUP is ignored, as in sync_client).
//!   On SIGTERM it appends `<pid> stopping daemon` before exiting.
//! * `--wait-daemon FILE ok|bad`: a `wait=y` daemon: appends `<pid> waitd fd3=<has fd 3>
//!   own_group=<leads its group>`, then writes `ok\r\n` (or `no\r\n`) to fd 3, waits for
//!   SIGTERM and appends `<pid> stopping waitd`.
//! * `--sync-client FILE ARGS…`: a stand-in for `sync_client` as the replication guide runs
//!   it. With `-r` it forks and the parent exits 0 (unless `CYRUS_ISDAEMON` is set, as in
//!   Cyrus), the child appends `<pid> rolling <channel>` and waits for SIGTERM; otherwise
//!   it appends `<pid> once ARGS…` and exits 0.
//! * `--master ARGS…`: run `master` itself (the same code as the `master` binary).
//! * `--exit CODE`: exit at once with CODE (a service that keeps failing).
#![allow(unsafe_code)]

use std::io::Write;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn append(file: &str, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        // One write(2) per line: with O_APPEND it cannot interleave with another process's
        // line (a formatted `writeln!` may split into several writes).
        let _ = f.write_all(format!("{} {line}\n", std::process::id()).as_bytes());
    }
}

fn wait_for_term() -> i32 {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 71;
    };
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // SIGHUP is caught and ignored, as sync_client does.
        let (Ok(mut t), Ok(mut i), Ok(mut h)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return 71;
        };
        loop {
            tokio::select! {
                _ = t.recv() => return 75,
                _ = i.recv() => return 75,
                _ = h.recv() => {}
            }
        }
    })
}

fn serve(args: Vec<String>) -> i32 {
    let Ok(args) = net::ServiceArgs::parse_from(args) else {
        return 64;
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        return 71;
    };
    rt.block_on(async move {
        let listener = match net::Listener::from_args(&args).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("master-test-service: {e}");
                return 71;
            }
        };
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| "-".to_owned());
        let greeting = format!(
            "* OK pid={} service={} id={} maxchild={}\r\n",
            std::process::id(),
            var("CYRUS_SERVICE"),
            var("CYRUS_ID"),
            var(master::MAXCHILD_ENV)
        );
        let r = net::serve(listener, move |conn| {
            let greeting = greeting.clone();
            async move {
                let (r, mut w) = tokio::io::split(conn);
                if w.write_all(greeting.as_bytes()).await.is_err() {
                    return;
                }
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if w.write_all(format!("{l}\r\n").as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        })
        .await;
        i32::from(r.is_err())
    })
}

fn sync_client(file: &str, args: &[String]) -> i32 {
    if args.iter().any(|a| a == "-r") {
        let channel = args
            .iter()
            .position(|a| a == "-n")
            .and_then(|i| args.get(i + 1))
            .map_or("-", String::as_str);
        if std::env::var_os("CYRUS_ISDAEMON").is_none() {
            // SAFETY: single-threaded at this point (no runtime started yet), so the child
            // may go on running Rust code.
            let pid = unsafe { libc::fork() };
            if pid != 0 {
                return if pid > 0 { 0 } else { 71 };
            }
        }
        append(file, &format!("rolling {channel}"));
        return wait_for_term();
    }
    append(file, &format!("once {}", args.join(" ")));
    0
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("--touch") if args.len() >= 2 => {
            append(&args[1], &args[2..].join(" "));
            0
        }
        Some("--daemon") if args.len() >= 2 => {
            let d = std::env::var("CYRUS_ISDAEMON").unwrap_or_else(|_| "-".to_owned());
            append(&args[1], &format!("daemon isdaemon={d}"));
            let code = wait_for_term();
            append(&args[1], "stopping daemon");
            code
        }
        Some("--wait-daemon") if args.len() >= 3 => {
            let reply: &[u8] = if args[2] == "ok" {
                b"ok\r\n"
            } else {
                b"no\r\n"
            };
            // SAFETY: getpgrp cannot fail.
            let pgrp = unsafe { libc::getpgrp() };
            // SAFETY: F_GETFD only inspects the descriptor table.
            let has_fd3 = unsafe { libc::fcntl(3, libc::F_GETFD) } >= 0;
            append(
                &args[1],
                &format!(
                    "waitd fd3={has_fd3} own_group={}",
                    i64::from(pgrp) == i64::from(std::process::id())
                ),
            );
            // Readiness last, so the line above precedes everything master starts next.
            // SAFETY: writing a local buffer to descriptor 3 (master's readiness pipe).
            unsafe { libc::write(3, reply.as_ptr().cast(), reply.len()) };
            let code = wait_for_term();
            append(&args[1], "stopping waitd");
            code
        }
        Some("--sync-client") if args.len() >= 2 => sync_client(&args[1], &args[2..]),
        Some("--master") => master::main_with_args(args.split_off(1)),
        Some("--exit") => args.get(1).and_then(|c| c.parse().ok()).unwrap_or(1),
        _ => serve(args),
    };
    std::process::exit(code);
}
