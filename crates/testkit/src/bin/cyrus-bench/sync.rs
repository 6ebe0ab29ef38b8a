//! Full `sync_client -A` into an empty replica, then `-A` again with nothing changed, for every
//! combination the issues ask about, all through the counting proxy.
//!
//! Owns: fresh replicas per case, running the client under `/usr/bin/time`, watching the
//! replica's sync_server processes, verifying the replica against its master over IMAP.

use std::path::PathBuf;

use anyhow::{Result, bail};
use testkit::{CyrusInstance, ServerDump};

use crate::common::{Verdict, compare, dump};
use crate::ours::{Ours, Role};
use crate::procs::{Select, Timed, Usage, Watch, cyrus_ids, run_timed};
use crate::proxy::{Counts, Proxy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Cyrus,
    Ours,
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Cyrus => "Cyrus 3.6.1",
            Side::Ours => "ours",
        }
    }
}

/// How compression is arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compress {
    /// What the peers negotiate by themselves (both servers offer DEFLATE, both clients take it).
    Default,
    /// `sync_client -z` (compression required).
    Required,
    /// The proxy hides `* COMPRESS DEFLATE`: an uncompressed session.
    Off,
}

impl Compress {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compress::Default => "default (DEFLATE negotiated)",
            Compress::Required => "`-z`",
            Compress::Off => "off (proxy hides COMPRESS)",
        }
    }
}

/// One client run with the replica's usage during it.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) client: Timed,
    pub(crate) server: Usage,
    pub(crate) wire: Counts,
}

#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    pub(crate) client: Side,
    pub(crate) server: Side,
    pub(crate) compress: Compress,
    pub(crate) full: Run,
    pub(crate) nochange: Run,
    pub(crate) verdict: Verdict,
}

/// A loaded master of either kind.
#[derive(Debug)]
pub(crate) enum MasterRef<'a> {
    Cyrus(&'a CyrusInstance),
    Ours(&'a Ours),
}

enum Replica {
    Cyrus(CyrusInstance),
    Ours(Ours),
}

impl Replica {
    fn sync_addr(&self) -> Result<std::net::SocketAddr> {
        match self {
            Replica::Cyrus(c) => c.as_sync_target().map(|t| t.addr),
            Replica::Ours(o) => o
                .sync
                .ok_or_else(|| anyhow::anyhow!("our replica has no csync port")),
        }
    }
    fn imap(&self) -> std::net::SocketAddr {
        match self {
            Replica::Cyrus(c) => c.imap_addr(),
            Replica::Ours(o) => o.imap,
        }
    }
    fn master_pid(&self) -> i32 {
        match self {
            Replica::Cyrus(c) => c.master_pid().unwrap_or(-1),
            Replica::Ours(o) => o.master_pid().unwrap_or(-1),
        }
    }
}

pub(crate) fn cyrus_replica(users: &[String]) -> Result<CyrusInstance> {
    let mut b = CyrusInstance::builder()
        .replica()
        .syslog(false)
        .pop3(false)
        .sieve(false);
    for u in users {
        b = b.user(u, "pw");
    }
    b.start()
}

fn client_run(
    master: &MasterRef<'_>,
    args: &[&str],
    replica: &Replica,
    proxy: &Proxy,
) -> Result<Run> {
    proxy.reset();
    let watch = Watch::start(Select::ChildrenOf {
        ppid: replica.master_pid(),
        comm: "sync_server".into(),
    });
    // Peak after the login, too (see Watch::reset_peak_after).
    watch.reset_peak_after(std::time::Duration::from_millis(700));
    let strace = std::env::var_os("BENCH_STRACE").map(|out| {
        crate::procs::strace_child(replica.master_pid(), "sync_server", PathBuf::from(out))
    });
    // A session where no byte moves either way for 30 s is stuck: stop the client.
    let mut last = (0u64, 0u64);
    let mut since = std::time::Instant::now();
    let mut stalled = || {
        let c = proxy.counts();
        if (c.c2s, c.s2c) != last {
            last = (c.c2s, c.s2c);
            since = std::time::Instant::now();
        }
        since.elapsed() > std::time::Duration::from_secs(30)
    };
    let client = match master {
        MasterRef::Cyrus(c) => {
            let conf = c.imapd_conf();
            let mut a = vec!["-C", conf.to_str().unwrap_or_default()];
            a.extend_from_slice(args);
            run_timed(
                &PathBuf::from(testkit::cyrus::CYRUS_BIN).join("sync_client"),
                &a,
                Some(cyrus_ids()?),
                c.dir(),
                &mut stalled,
            )?
        }
        MasterRef::Ours(o) => {
            let conf = o.conf.clone();
            let mut a = vec!["-C", conf.to_str().unwrap_or_default()];
            a.extend_from_slice(args);
            run_timed(&o.sync_client(), &a, None, &o.root, &mut stalled)?
        }
    };
    // Let a server that is still finishing (Cyrus's exits after EXIT) be sampled once more.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let server = watch.finish();
    if let Some(s) = strace {
        s.finish();
    }
    let wire = proxy.counts();
    if client.stalled {
        bail!(
            "sync_client {args:?} STALLED: no byte moved either way for 30 s after {} bytes \
             client→server and {} server→client; stopped it (SIGTERM)\nstderr: {}",
            wire.c2s,
            wire.s2c,
            client
                .stderr
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    if client.status != Some(0) {
        bail!(
            "sync_client {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            client.status,
            client.stdout,
            client.stderr
        );
    }
    Ok(Run {
        client,
        server,
        wire,
    })
}

/// What every case shares.
#[derive(Debug)]
pub(crate) struct CaseEnv<'a> {
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) users: &'a [String],
    pub(crate) bindir: &'a std::path::Path,
}

/// One case: fresh replica of kind `server`, `-A` from `master` through `proxy`, `-A` again,
/// verify against `master_dump`.
pub(crate) fn run_case(
    env: &CaseEnv<'_>,
    master: &MasterRef<'_>,
    master_dump: &ServerDump,
    proxy: &Proxy,
    server: Side,
    compress: Compress,
) -> Result<CaseResult> {
    let CaseEnv { rt, users, bindir } = *env;
    let replica = match server {
        Side::Cyrus => Replica::Cyrus(cyrus_replica(users)?),
        Side::Ours => Replica::Ours(Ours::start(bindir, Role::Replica, users)?),
    };
    proxy.set(replica.sync_addr()?, compress == Compress::Off);
    let mut args = vec!["-A"];
    if compress == Compress::Required {
        args.push("-z");
    }
    let client = match master {
        MasterRef::Cyrus(_) => Side::Cyrus,
        MasterRef::Ours(_) => Side::Ours,
    };
    eprintln!(
        "  [{}] {} → {} replica, compression {} …",
        crate::now(),
        client.name(),
        server.name(),
        compress.name()
    );
    let full = client_run(master, &args, &replica, proxy)?;
    eprintln!(
        "    full -A: {:.2} s wall, client {:.2} s CPU, server {:.2} s CPU",
        full.client.wall,
        full.client.cpu(),
        full.server.cpu
    );
    let nochange = client_run(master, &args, &replica, proxy)?;
    let rd = rt.block_on(dump(replica.imap(), users))?;
    let verdict = compare(master_dump, &rd);
    eprintln!("    verify: {}", verdict.short());
    for d in verdict.diffs.iter().take(10) {
        eprintln!("      {d}");
    }
    if let Replica::Ours(o) = &replica
        && !verdict.diffs.is_empty()
    {
        eprintln!("    our replica's log:\n{}", o.log_tail());
    }
    Ok(CaseResult {
        client,
        server,
        compress,
        full,
        nochange,
        verdict,
    })
}
