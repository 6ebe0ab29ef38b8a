//! `cyrus-bench`: our servers against Debian's Cyrus IMAP 3.6.1 on this machine, in the same
//! run, on the same corpus (DESIGN.md "Performance and scale targets"). Run by hand through
//! `scripts/bench-replication`; not a test.
//!
//! Sections (`--only a,b,…`; default all):
//! - `sync`: `sync_client -A` into an empty replica, then `-A` with nothing changed: a Cyrus
//!   master into our sync_server and into Cyrus's (issue 4), our master's sync_client and
//!   Cyrus's into a Cyrus replica (issue 5); compression as negotiated, with `-z`, and off.
//!   Wall time, client CPU and peak RSS (`/usr/bin/time`), replica sync_server CPU and peak RSS
//!   (/proc), bytes each way (counting proxy). Every replica is compared with its master over
//!   IMAP (bodies SHA-1'd).
//! - `lag`: rolling replication, LMTP delivery to the master → visible over IMAP on the
//!   replica, at 1/s and 50/s; Cyrus master + `sync_client -r` into a Cyrus replica vs our
//!   master + our `sync_client -r` into our replica; default `sync_repeat_interval`.
//! - `lmtp`: delivery throughput, 1 and 10 recipients, ours vs Cyrus lmtpd.
//! - `fetch`: `FETCH 1:N BODY.PEEK[]` and `BODY[]` of an N-message mailbox, ours vs Cyrus.
//!
//! Our programs come from `--bindir` (the release build: master, imapd, lmtpd, sync_server,
//! sync_client, saslpasswd2). Needs root (Cyrus runs as `cyrus`) and /usr/bin/time.

mod common;
mod lag;
mod ours;
mod procs;
mod proxy;
mod serve;
mod sync;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use testkit::{CorpusSpec, CyrusInstance, ImapClient, SyncTarget};

use common::{ADMIN, ADMIN_PW, load_corpus, mb, mib, ratio};
use ours::{Ours, Role};
use sync::{Compress, MasterRef, Side};

const USAGE: &str = "usage: cyrus-bench --bindir DIR [--users N] [--messages N] [--scale F] \
    [--only sync,lag,lmtp,fetch] [--lag-slow N] [--lag-fast N] [--lmtp-n N] [--fetch-n N] \
    [--out FILE] [--cases cc-default,co-off,oc-z,...]";

#[derive(Debug, Clone)]
struct Args {
    bindir: PathBuf,
    users: usize,
    messages: usize,
    scale: f64,
    only: Vec<String>,
    lag_slow: usize,
    lag_fast: usize,
    lmtp_n: usize,
    fetch_n: usize,
    out: Option<PathBuf>,
    /// `--cases`: sync cases to run, as client+server letters and a compression word
    /// (`cc-default`, `co-off`, `oc-z`, …); empty = all.
    cases: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        bindir: PathBuf::new(),
        users: 20,
        messages: 500,
        scale: 1.0,
        only: vec!["sync".into(), "lag".into(), "lmtp".into(), "fetch".into()],
        lag_slow: 30,
        lag_fast: 1000,
        lmtp_n: 1000,
        fetch_n: 1000,
        out: None,
        cases: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().context(USAGE);
        match k.as_str() {
            "--bindir" => a.bindir = PathBuf::from(v()?),
            "--users" => a.users = v()?.parse()?,
            "--messages" => a.messages = v()?.parse()?,
            "--scale" => a.scale = v()?.parse()?,
            "--only" => a.only = v()?.split(',').map(str::to_owned).collect(),
            "--lag-slow" => a.lag_slow = v()?.parse()?,
            "--lag-fast" => a.lag_fast = v()?.parse()?,
            "--lmtp-n" => a.lmtp_n = v()?.parse()?,
            "--fetch-n" => a.fetch_n = v()?.parse()?,
            "--out" => a.out = Some(PathBuf::from(v()?)),
            "--cases" => a.cases = v()?.split(',').map(str::to_owned).collect(),
            _ => bail!("{USAGE}"),
        }
    }
    if !a.bindir.join("sync_server").exists() {
        bail!("--bindir must hold our release binaries\n{USAGE}");
    }
    a.bindir = a.bindir.canonicalize()?;
    Ok(a)
}

pub(crate) fn now() -> String {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02} UTC, load {}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        procs::loadavg()
    )
}

/// The report, printed as it grows.
#[derive(Debug, Default)]
struct Report(String);

impl Report {
    fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if !testkit::cyrus_available() {
        bail!("Cyrus is not installed ({})", testkit::cyrus::CYRUS_BIN);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rep = Report::default();
    rep.line(format!(
        "Run started {}; corpus {} users × {} messages, size scale {}; our binaries {}",
        now(),
        args.users,
        args.messages,
        args.scale,
        args.bindir.display()
    ));
    let res = run(&rt, &args, &mut rep);
    rep.line(format!("Run ended {}", now()));
    if let Some(p) = &args.out {
        std::fs::write(p, &rep.0)?;
    }
    res
}

fn run(rt: &tokio::runtime::Runtime, args: &Args, rep: &mut Report) -> Result<()> {
    if args.only.iter().any(|s| s == "sync") {
        sync_section(rt, args, rep)?;
    }
    if args.only.iter().any(|s| s == "lag") {
        lag_section(rt, args, rep)?;
    }
    if args.only.iter().any(|s| s == "lmtp" || s == "fetch") {
        serve_section(rt, args, rep)?;
    }
    Ok(())
}

fn sync_section(rt: &tokio::runtime::Runtime, args: &Args, rep: &mut Report) -> Result<()> {
    let mut spec = CorpusSpec::new(args.users, args.messages);
    spec.size_scale = args.scale;
    let users = spec.user_names();
    let cproxy = rt.block_on(proxy::Proxy::start())?;
    let oproxy = rt.block_on(proxy::Proxy::start())?;
    let mut b = CyrusInstance::builder()
        .master(SyncTarget {
            addr: cproxy.addr,
            authname: ADMIN.into(),
            password: ADMIN_PW.into(),
        })
        .syslog(false)
        .pop3(false)
        .sieve(false);
    for u in &users {
        b = b.user(u, "pw");
    }
    let cm = b.start()?;
    let om = Ours::start(
        &args.bindir,
        Role::Master {
            target: oproxy.addr,
            rolling: false,
        },
        &users,
    )?;
    eprintln!("[{}] loading the corpus into both masters …", now());
    let t0 = std::time::Instant::now();
    let n = rt.block_on(load_corpus(&spec, &[cm.imap_addr(), om.imap]))?;
    eprintln!(
        "[{}] loaded {n} messages into each in {:.1} s; dumping masters …",
        now(),
        t0.elapsed().as_secs_f64()
    );
    let cdump = rt.block_on(common::dump(cm.imap_addr(), &users))?;
    let odump = rt.block_on(common::dump(om.imap, &users))?;
    let bytes: u64 = cdump
        .mailboxes
        .values()
        .flat_map(|m| m.messages.iter().map(|x| x.size))
        .sum();
    let masters_same = testkit::diff(&cdump, &odump);
    rep.line(format!(
        "\nCorpus: {} mailboxes, {} messages, {:.1} MiB (Cyrus master); our master holds {} \
         messages; the two masters' dumps differ in {} places (ids and modseqs are each \
         server's own).",
        cdump.mailboxes.len(),
        cdump.message_count(),
        bytes as f64 / 1048576.0,
        odump.message_count(),
        masters_same.len()
    ));

    let env = sync::CaseEnv {
        rt,
        users: &users,
        bindir: &args.bindir,
    };
    let mut results = Vec::new();
    let cases: [(bool, Side, Compress); 8] = [
        (true, Side::Cyrus, Compress::Default),
        (true, Side::Ours, Compress::Default),
        (true, Side::Cyrus, Compress::Off),
        (true, Side::Ours, Compress::Off),
        (true, Side::Cyrus, Compress::Required),
        (false, Side::Cyrus, Compress::Default),
        (false, Side::Cyrus, Compress::Off),
        (false, Side::Cyrus, Compress::Required),
    ];
    for (cyrus_client, server, compress) in cases {
        let key = format!(
            "{}{}-{}",
            if cyrus_client { 'c' } else { 'o' },
            if server == Side::Cyrus { 'c' } else { 'o' },
            match compress {
                Compress::Default => "default",
                Compress::Off => "off",
                Compress::Required => "z",
            }
        );
        if !args.cases.is_empty() && !args.cases.contains(&key) {
            continue;
        }
        let (master, mdump, proxy) = if cyrus_client {
            (MasterRef::Cyrus(&cm), &cdump, &cproxy)
        } else {
            (MasterRef::Ours(&om), &odump, &oproxy)
        };
        match sync::run_case(&env, &master, mdump, proxy, server, compress) {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("    FAILED: {e:#}");
                rep.line(format!(
                    "\n**FAILED**: {} client → {} replica, compression {}: {e:#}",
                    if cyrus_client { "Cyrus" } else { "our" },
                    server.name(),
                    compress.name()
                ));
            }
        }
    }

    rep.line(format!(
        "\n### Full `sync_client -A` into an empty replica ({})\n",
        now()
    ));
    rep.line(
        "| client → replica | compression | wall | client CPU | client peak RSS | replica \
         sync_server CPU (processes) | replica peak RSS (after login) | bytes c→s / s→c (connections) | replica \
         check |",
    );
    rep.line("|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        rep.line(format!(
            "| {} → {} | {} | {:.2} s | {:.2} s | {} | {:.2} s ({}) | {} ({}) | {} / {} ({}) | {} |",
            r.client.name(),
            r.server.name(),
            r.compress.name(),
            r.full.client.wall,
            r.full.client.cpu(),
            mib(r.full.client.maxrss_kib),
            r.full.server.cpu,
            r.full.server.procs,
            mib(r.full.server.hwm_kib),
            mib(r.full.server.hwm_late_kib),
            mb(r.full.wire.c2s),
            mb(r.full.wire.s2c),
            r.full.wire.conns,
            r.verdict.short()
        ));
    }
    rep.line("\n### `sync_client -A` again, nothing changed\n");
    rep.line(
        "| client → replica | compression | wall | client CPU | replica CPU | bytes c→s / s→c |",
    );
    rep.line("|---|---|---|---|---|---|");
    for r in &results {
        rep.line(format!(
            "| {} → {} | {} | {:.3} s | {:.3} s | {:.3} s | {} / {} |",
            r.client.name(),
            r.server.name(),
            r.compress.name(),
            r.nochange.client.wall,
            r.nochange.client.cpu(),
            r.nochange.server.cpu,
            mb(r.nochange.wire.c2s),
            mb(r.nochange.wire.s2c)
        ));
    }
    // Ratios for the two comparisons the issues ask about.
    let find = |c: Side, s: Side, z: Compress| {
        results
            .iter()
            .find(|r| r.client == c && r.server == s && r.compress == z)
    };
    rep.line("\nRatios (ours ÷ Cyrus; below 1 is better):\n");
    for z in [Compress::Default, Compress::Off, Compress::Required] {
        if let (Some(o), Some(c)) = (
            find(Side::Cyrus, Side::Ours, z),
            find(Side::Cyrus, Side::Cyrus, z),
        ) {
            rep.line(format!(
                "- issue 4, Cyrus client into our sync_server vs Cyrus's, compression {}: wall \
                 {}, replica CPU {}, replica peak RSS {}",
                z.name(),
                ratio(o.full.client.wall, c.full.client.wall),
                ratio(o.full.server.cpu, c.full.server.cpu),
                ratio(o.full.server.hwm_kib as f64, c.full.server.hwm_kib as f64)
            ));
        }
        if let (Some(o), Some(c)) = (
            find(Side::Ours, Side::Cyrus, z),
            find(Side::Cyrus, Side::Cyrus, z),
        ) {
            rep.line(format!(
                "- issue 5, our sync_client vs Cyrus's into a Cyrus replica, compression {}: \
                 wall {}, client CPU {}, client peak RSS {}, bytes c→s {}; nothing changed: \
                 wall {}",
                z.name(),
                ratio(o.full.client.wall, c.full.client.wall),
                ratio(o.full.client.cpu(), c.full.client.cpu()),
                ratio(
                    o.full.client.maxrss_kib as f64,
                    c.full.client.maxrss_kib as f64
                ),
                ratio(o.full.wire.c2s as f64, c.full.wire.c2s as f64),
                ratio(o.nochange.client.wall, c.nochange.client.wall)
            ));
        }
    }
    drop(om);
    drop(cm);
    Ok(())
}

fn lag_section(rt: &tokio::runtime::Runtime, args: &Args, rep: &mut Report) -> Result<()> {
    let users: Vec<String> = (0..10).map(|i| format!("lag{i:02}")).collect();
    rep.line(format!(
        "\n### Rolling replication lag, default `sync_repeat_interval` ({})\n",
        now()
    ));
    rep.line(
        "LMTP delivery to the master (clock starts at the 250 after DATA) until the message is \
         visible over IMAP on the replica (STATUS INBOX UIDNEXT as the user, polled \
         back-to-back). 10 users round-robin over 5 LMTP connections (each user on one), Poisson \
         arrivals at the given mean rate (fixed seed), ~2.5 KiB messages.\n",
    );
    rep.line("| pair | rate asked / achieved | n | lag median | p99 | max | LMTP reply median |");
    rep.line("|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for side in [Side::Cyrus, Side::Ours] {
        // Diagnostics: BENCH_LAG_SIDES=ours (or cyrus) runs one pair only.
        if let Ok(only) = std::env::var("BENCH_LAG_SIDES")
            && !side.name().to_lowercase().contains(&only)
        {
            continue;
        }
        eprintln!("[{}] lag: {} pair …", now(), side.name());
        let r = (|| -> Result<Vec<lag::LagResult>> {
            // Keep the instances alive for the whole measurement.
            let (_keep_c, _keep_o, lmtp, mimap, rimap);
            match side {
                Side::Cyrus => {
                    let replica = sync::cyrus_replica(&users)?;
                    let mut b = CyrusInstance::builder()
                        .master(replica.as_sync_target()?)
                        .rolling_client(true)
                        .syslog(false)
                        .pop3(false)
                        .sieve(false);
                    for u in &users {
                        b = b.user(u, "pw");
                    }
                    let master = b.start()?;
                    lmtp = master.lmtp_addr();
                    mimap = master.imap_addr();
                    rimap = replica.imap_addr();
                    _keep_c = Some((master, replica));
                    _keep_o = None;
                }
                Side::Ours => {
                    let replica = Ours::start(&args.bindir, Role::Replica, &users)?;
                    let target = replica.sync.context("replica csync port")?;
                    let master = Ours::start(
                        &args.bindir,
                        Role::Master {
                            target,
                            rolling: true,
                        },
                        &users,
                    )?;
                    lmtp = master.lmtp.context("lmtp port")?;
                    mimap = master.imap;
                    rimap = replica.imap;
                    _keep_o = Some((master, replica));
                    _keep_c = None;
                }
            }
            rt.block_on(async {
                let mut a = ImapClient::login_to(mimap, ADMIN, ADMIN_PW).await?;
                for u in &users {
                    a.create(&format!("user/{u}")).await?;
                }
                let _ = a.logout().await;
                lag::wait_replica_caught_up(mimap, rimap, &users, Duration::from_secs(60)).await?;
                let mut out = Vec::new();
                out.push(lag::measure(lmtp, rimap, &users, 1.0, args.lag_slow).await?);
                out.push(lag::measure(lmtp, rimap, &users, 50.0, args.lag_fast).await?);
                anyhow::Ok(out)
            })
        })();
        match r {
            Ok(v) => {
                for l in &v {
                    rep.line(format!(
                        "| {} | {:.0}/s / {:.1}/s | {} | {:.3} s | {:.3} s | {:.3} s | {:.4} s |",
                        side.name(),
                        l.rate_asked,
                        l.rate_done,
                        l.n,
                        l.median,
                        l.p99,
                        l.max,
                        l.lmtp_median
                    ));
                }
                rows.push((side, v));
            }
            Err(e) => {
                eprintln!("    FAILED: {e:#}");
                rep.line(format!("| {} | **FAILED**: {e:#} | | | | | |", side.name()));
            }
        }
    }
    if let (Some((_, c)), Some((_, o))) = (
        rows.iter().find(|(s, _)| *s == Side::Cyrus),
        rows.iter().find(|(s, _)| *s == Side::Ours),
    ) {
        for (x, y) in c.iter().zip(o) {
            rep.line(format!(
                "\nRatio at {:.0}/s (ours ÷ Cyrus): median {}, p99 {}",
                x.rate_asked,
                ratio(y.median, x.median),
                ratio(y.p99, x.p99)
            ));
        }
    }
    Ok(())
}

fn serve_section(rt: &tokio::runtime::Runtime, args: &Args, rep: &mut Report) -> Result<()> {
    let mut users = serve::lmtp_users();
    let fspec = serve::fetch_spec(args.fetch_n, args.scale);
    users.extend(fspec.user_names());
    let mut b = CyrusInstance::builder()
        .syslog(false)
        .pop3(false)
        .sieve(false);
    for u in &users {
        b = b.user(u, "pw");
    }
    let cy = b.start()?;
    let ours = Ours::start(&args.bindir, Role::Standalone, &users)?;
    let ours_lmtp = ours.lmtp.context("lmtp port")?;
    for imap in [cy.imap_addr(), ours.imap] {
        rt.block_on(async {
            let mut a = ImapClient::login_to(imap, ADMIN, ADMIN_PW).await?;
            for u in serve::lmtp_users() {
                a.create(&format!("user/{u}")).await?;
            }
            let _ = a.logout().await;
            anyhow::Ok(())
        })?;
    }
    let cpid = cy.master_pid().unwrap_or(-1);
    let opid = ours.master_pid().unwrap_or(-1);
    if args.only.iter().any(|s| s == "lmtp") {
        rep.line(format!("\n### LMTP delivery throughput ({})\n", now()));
        rep.line(format!(
            "One connection, transactions back to back (MAIL/RCPT/DATA pipelined), {} \
             corpus-mix messages (size scale {}); each recipient's INBOX count checked \
             afterwards.\n",
            args.lmtp_n, args.scale
        ));
        rep.line("| server | recipients | transactions/s | deliveries/s | MB/s in | lmtpd CPU | lmtpd peak RSS |");
        rep.line("|---|---|---|---|---|---|---|");
        let mut got = Vec::new();
        for rcpts in [1usize, 10] {
            for (side, lmtp, imap, pid) in [
                (Side::Cyrus, cy.lmtp_addr(), cy.imap_addr(), cpid),
                (Side::Ours, ours_lmtp, ours.imap, opid),
            ] {
                let n = if rcpts == 1 {
                    args.lmtp_n
                } else {
                    args.lmtp_n / 5
                };
                eprintln!(
                    "[{}] lmtp {} × {rcpts} rcpt into {} …",
                    now(),
                    n,
                    side.name()
                );
                match rt.block_on(serve::lmtp_bench(lmtp, imap, pid, rcpts, n, args.scale)) {
                    Ok(r) => {
                        rep.line(format!(
                            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} s | {} |",
                            side.name(),
                            rcpts,
                            r.transactions as f64 / r.wall,
                            (r.transactions * r.rcpts) as f64 / r.wall,
                            r.bytes as f64 / 1e6 / r.wall,
                            r.server.cpu,
                            mib(r.server.hwm_kib)
                        ));
                        got.push((side, r));
                    }
                    Err(e) => rep.line(format!(
                        "| {} | {rcpts} | **FAILED**: {e:#} | | | | |",
                        side.name()
                    )),
                }
            }
        }
        for rcpts in [1usize, 10] {
            let f = |s: Side| {
                got.iter()
                    .find(|(x, r)| *x == s && r.rcpts == rcpts)
                    .map(|(_, r)| r.transactions as f64 / r.wall)
            };
            if let (Some(o), Some(c)) = (f(Side::Ours), f(Side::Cyrus)) {
                rep.line(format!(
                    "\nThroughput ratio, {rcpts} recipient(s) (ours ÷ Cyrus; above 1 is better): {}",
                    ratio(o, c)
                ));
            }
        }
    }
    if args.only.iter().any(|s| s == "fetch") {
        eprintln!("[{}] loading {} messages for FETCH …", now(), args.fetch_n);
        rt.block_on(load_corpus(&fspec, &[cy.imap_addr(), ours.imap]))?;
        rep.line(format!(
            "\n### IMAP FETCH of a {}-message mailbox ({})\n",
            args.fetch_n,
            now()
        ));
        rep.line(
            "One session, `FETCH 1:N item`, timed from sending the command to the tagged OK; \
             every body SHA-1'd and compared with the corpus. PEEK runs 3 times; then `BODY[]` \
             twice (the first sets `\\Seen` on every message).\n",
        );
        rep.line(
            "| server | item | wall per run | MB/s | imapd CPU (all runs) | imapd RSS before → \
             peak |",
        );
        rep.line("|---|---|---|---|---|---|");
        let mut best = Vec::new();
        for (item, runs) in [("BODY.PEEK[]", 3usize), ("BODY[]", 2)] {
            for (side, imap, pid) in [
                (Side::Cyrus, cy.imap_addr(), cpid),
                (Side::Ours, ours.imap, opid),
            ] {
                eprintln!("[{}] fetch {item} from {} …", now(), side.name());
                match rt.block_on(serve::fetch_bench(imap, pid, &fspec, item, runs)) {
                    Ok(r) => {
                        let walls: Vec<String> =
                            r.walls.iter().map(|w| format!("{w:.3} s")).collect();
                        let min = r.walls.iter().copied().fold(f64::INFINITY, f64::min);
                        rep.line(format!(
                            "| {} | {} | {} | {:.0} | {:.2} s | {} → {} |",
                            side.name(),
                            item,
                            walls.join(", "),
                            r.bytes as f64 / 1e6 / min,
                            r.server.cpu,
                            mib(r.server.rss_start_kib),
                            mib(r.server.hwm_kib)
                        ));
                        best.push((side, item, min));
                    }
                    Err(e) => rep.line(format!(
                        "| {} | {item} | **FAILED**: {e:#} | | | |",
                        side.name()
                    )),
                }
            }
        }
        for item in ["BODY.PEEK[]", "BODY[]"] {
            let f = |s: Side| {
                best.iter()
                    .find(|(x, i, _)| *x == s && *i == item)
                    .map(|(_, _, w)| *w)
            };
            if let (Some(o), Some(c)) = (f(Side::Ours), f(Side::Cyrus)) {
                rep.line(format!(
                    "\nFETCH {item} best wall ratio (ours ÷ Cyrus; below 1 is better): {}",
                    ratio(o, c)
                ));
            }
        }
    }
    drop(ours);
    drop(cy);
    Ok(())
}
