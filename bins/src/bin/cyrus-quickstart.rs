//! `cyrus-quickstart`: a replicated pair on loopback in one command (`scripts/run`).
//!
//! Writes an embedded default configuration for a master and a replica instance under one
//! directory (imapd.conf, cyrus.conf, password files, partitions), creates a demo user with
//! the folders a mail client expects, starts both instances with our `master` (services
//! imapd, pop3d, lmtpd, sync_server; rolling `sync_client` on the master as a DAEMON), delivers
//! a welcome message over LMTP, prints how to connect, and shows replication status while it
//! runs: records queued in the master's sync log, mailboxes not yet identical on the replica,
//! and how long the last change took to arrive. Ctrl-C (or SIGTERM) stops both cleanly.
//!
//! Data is kept between runs; the configuration files are rewritten each time from the
//! embedded default (edit this program, not the generated files).

use std::fs;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use auth::passwd::{PasswdFile, SetMode, passwd_path};
use cyrus_bins::open_store;
use mailstore::{CreateOptions, Store, StoreError};
use types::MboxName;

const USAGE: &str = "usage: cyrus-quickstart [--dir DIR] [--user NAME] [--password PASSWORD] \
                     [--base-port PORT] [--interval SECONDS]";

#[derive(Debug, Clone, Copy)]
struct Ports {
    imap: u16,
    pop3: u16,
    lmtp: u16,
    csync: u16,
}

impl Ports {
    fn from_base(base: u16) -> Ports {
        Ports {
            imap: base + 143,
            pop3: base + 110,
            lmtp: base + 24,
            csync: base + 205,
        }
    }

    fn all(&self) -> [u16; 4] {
        [self.imap, self.pop3, self.lmtp, self.csync]
    }
}

const REPL_USER: &str = "repl";
const REPL_PASSWORD: &str = "repl-secret";
const ADMIN_USER: &str = "admin";

fn imapd_conf(dir: &Path, servername: &str, replica_csync: Option<u16>) -> String {
    let d = dir.display();
    let mut s = format!(
        "# imapd.conf written by cyrus-quickstart ({servername}); rewritten at every start\n\
         configdirectory: {d}/config\n\
         defaultpartition: default\n\
         partition-default: {d}/spool/default\n\
         servername: {servername}\n\
         admins: {REPL_USER} {ADMIN_USER}\n\
         allowplaintext: yes\n\
         altnamespace: yes\n\
         unixhierarchysep: yes\n\
         sasl_pwcheck_method: auxprop\n\
         sasl_mech_list: PLAIN LOGIN\n\
         sasl_sasldb_path: {d}/config/passwd\n"
    );
    match replica_csync {
        Some(port) => s.push_str(&format!(
            "sync_log: on\n\
             sync_host: 127.0.0.1\n\
             sync_port: {port}\n\
             sync_try_imap: no\n\
             sync_authname: {REPL_USER}\n\
             sync_password: {REPL_PASSWORD}\n\
             sync_repeat_interval: 1\n\
             sync_shutdown_file: {d}/config/sync/shutdown\n"
        )),
        None => s.push_str("sync_log: off\n"),
    }
    s
}

fn cyrus_conf(dir: &Path, p: &Ports, master: bool) -> String {
    let c = dir.join("conf/imapd.conf");
    let c = c.display();
    let mut s = format!(
        "# cyrus.conf written by cyrus-quickstart; rewritten at every start\n\
         SERVICES {{\n\
         \x20 imap       cmd=\"imapd -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=100\n\
         \x20 pop3       cmd=\"pop3d -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=50\n\
         \x20 lmtp       cmd=\"lmtpd -C {c} -a\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=20\n\
         \x20 syncserver cmd=\"sync_server -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=10\n\
         }}\n",
        p.imap, p.pop3, p.lmtp, p.csync
    );
    if master {
        s.push_str(&format!(
            "DAEMON {{\n\
             \x20 syncclient cmd=\"sync_client -C {c} -r\"\n\
             }}\n"
        ));
    }
    s
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One instance: its directory, ports, and (while running) its master process.
struct Instance {
    name: &'static str,
    dir: PathBuf,
    ports: Ports,
    store: Store,
    master: Option<Child>,
}

impl Instance {
    fn prepare(
        root: &Path,
        name: &'static str,
        ports: Ports,
        replica_csync: Option<u16>,
        users: &[(&str, &str)],
    ) -> anyhow::Result<Instance> {
        let dir = root.join(name);
        let conf_path = dir.join("conf/imapd.conf");
        write_file(
            &conf_path,
            &imapd_conf(&dir, &format!("cyrus-rs-{name}"), replica_csync),
        )?;
        write_file(
            &dir.join("conf/cyrus.conf"),
            &cyrus_conf(&dir, &ports, replica_csync.is_some()),
        )?;
        fs::create_dir_all(dir.join("log"))?;
        fs::create_dir_all(dir.join("run"))?;
        // Validate both files exactly as the servers will read them.
        config::CyrusConf::load(dir.join("conf/cyrus.conf"))?;
        let (conf, store) = open_store(&conf_path, "cyrus-quickstart")?;
        let sasldb = conf.sasl_option("sasldb_path").map(PathBuf::from);
        let passwd = PasswdFile::new(passwd_path(
            Path::new(conf.config_directory()),
            sasldb.as_deref(),
        ));
        for (user, password) in users {
            if !passwd
                .verify_login(user, password.as_bytes())
                .unwrap_or(false)
            {
                passwd.set_password(user, None, password.as_bytes(), SetMode::CreateOrReplace)?;
            }
        }
        Ok(Instance {
            name,
            dir,
            ports,
            store,
            master: None,
        })
    }

    fn start(&mut self, bindir: &Path) -> anyhow::Result<()> {
        for port in self.ports.all() {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "127.0.0.1:{port} is in use (is another quickstart running? stop it, or \
                     pick other ports with --base-port)"
                );
            }
        }
        let log = self.dir.join("log/master.log");
        let child = Command::new(bindir.join("master"))
            .arg("-C")
            .arg(self.dir.join("conf/imapd.conf"))
            .arg("-M")
            .arg(self.dir.join("conf/cyrus.conf"))
            .arg("-p")
            .arg(self.dir.join("run/master.pid"))
            .arg("-L")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}/master", bindir.display()))?;
        self.master = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in self.ports.all() {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(c) = self.master.as_mut()
                    && let Some(status) = c.try_wait()?
                {
                    bail!(
                        "the {} master exited ({status}) during start-up; see {}",
                        self.name,
                        log.display()
                    );
                }
                if Instant::now() > deadline {
                    bail!(
                        "the {} instance did not open port {port} within 30 s; see {}",
                        self.name,
                        log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// SIGTERM to our master (which stops its children), then wait; SIGKILL after 20 s.
    fn stop(&mut self) {
        let Some(mut child) = self.master.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::Term);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ignore_exists(r: Result<mailstore::MailboxEntry, StoreError>) -> anyhow::Result<()> {
    match r {
        Ok(_) | Err(StoreError::MailboxExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn welcome(user: &str) -> String {
    format!(
        "From: cyrus-rs <postmaster@localhost>\r\n\
         To: {user}@localhost\r\n\
         Subject: Welcome to cyrus-rs\r\n\
         Message-ID: <welcome-{}@cyrus-rs.localhost>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This message was delivered to the master over LMTP by cyrus-quickstart.\r\n\
         Rolling replication has copied it to the replica: read it on either side.\r\n",
        std::process::id()
    )
}

/// Deliver one message over LMTP (RFC 2033), checking every reply.
fn lmtp_deliver(port: u16, rcpt: &str, message: &str) -> anyhow::Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let expect = |r: &mut BufReader<TcpStream>, code: &str| -> anyhow::Result<()> {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line)? == 0 {
                bail!("LMTP: connection closed");
            }
            if !line.starts_with(code) {
                bail!("LMTP: expected {code}, got {}", line.trim_end());
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    };
    expect(&mut r, "220")?;
    w.write_all(b"LHLO quickstart\r\n")?;
    expect(&mut r, "250")?;
    w.write_all(b"MAIL FROM:<postmaster@localhost>\r\n")?;
    expect(&mut r, "250")?;
    w.write_all(format!("RCPT TO:<{rcpt}>\r\n").as_bytes())?;
    expect(&mut r, "250")?;
    w.write_all(b"DATA\r\n")?;
    expect(&mut r, "354")?;
    for line in message.split_inclusive("\r\n") {
        if line.starts_with('.') {
            w.write_all(b".")?;
        }
        w.write_all(line.as_bytes())?;
    }
    w.write_all(b".\r\n")?;
    expect(&mut r, "250")?;
    w.write_all(b"QUIT\r\n")?;
    Ok(())
}

/// Records waiting in the master's sync log (cheap: two small files).
fn queued(master: &Instance) -> usize {
    let sync = master.store.config().sync_log.config_dir.join("sync");
    ["log", "log-run"]
        .iter()
        .map(|f| {
            fs::read_to_string(sync.join(f))
                .map(|s| s.lines().count())
                .unwrap_or(0)
        })
        .sum()
}

/// The mailboxes not yet identical on the replica (reads every mailbox's state on both sides).
fn behind(master: &Instance, replica: &Instance) -> anyhow::Result<Vec<String>> {
    let mut behind = Vec::new();
    for entry in master.store.list_all_entries()? {
        if entry.mbtype.deleted {
            if let Some(r) = replica.store.mailbox_entry(&entry.name)?
                && !r.mbtype.deleted
            {
                behind.push(entry.name.as_str().to_owned());
            }
            continue;
        }
        let Some(m) = master.store.mailbox_state(&entry.name)? else {
            continue;
        };
        let same = match replica.store.mailbox_state(&entry.name)? {
            Some(r) => {
                r.entry.uniqueid == m.entry.uniqueid
                    && r.header.map(|h| h.highestmodseq) == m.header.map(|h| h.highestmodseq)
                    && r.sync_crc == m.sync_crc
                    && r.sync_crc_annot == m.sync_crc_annot
            }
            None => false,
        };
        if !same {
            behind.push(entry.name.as_str().to_owned());
        }
    }
    Ok(behind)
}

struct Args {
    dir: PathBuf,
    user: String,
    password: String,
    base_port: u16,
    interval: Duration,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut a = Args {
        dir: PathBuf::from("run"),
        user: "demo".to_owned(),
        password: "demo-password".to_owned(),
        base_port: 24000,
        interval: Duration::from_secs(2),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| USAGE.to_owned());
        match arg.as_str() {
            "--dir" => a.dir = PathBuf::from(value()?),
            "--user" => a.user = value()?,
            "--password" => a.password = value()?,
            "--base-port" => {
                a.base_port = value()?
                    .parse()
                    .ok()
                    .filter(|&p: &u16| (1024..=63000).contains(&p))
                    .context("--base-port: a port number from 1024 to 63000")?;
            }
            "--interval" => {
                a.interval = Duration::from_secs_f64(
                    value()?
                        .parse::<f64>()
                        .ok()
                        .filter(|s| *s >= 0.1 && *s <= 3600.0)
                        .context("--interval: seconds, 0.1 to 3600")?,
                );
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(Some(a))
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let bindir = std::env::current_exe()?
        .parent()
        .context("no directory for this program")?
        .to_owned();
    for prog in [
        "master",
        "imapd",
        "pop3d",
        "lmtpd",
        "sync_server",
        "sync_client",
    ] {
        if !bindir.join(prog).exists() {
            bail!(
                "{}/{prog} is missing: build all programs first (scripts/run does)",
                bindir.display()
            );
        }
    }
    let root = std::path::absolute(&args.dir)?;
    let master_ports = Ports::from_base(args.base_port);
    let replica_ports = Ports::from_base(args.base_port + 1000);
    let users = [
        (REPL_USER, REPL_PASSWORD),
        (args.user.as_str(), args.password.as_str()),
    ];
    let mut replica = Instance::prepare(&root, "replica", replica_ports, None, &users)?;
    let mut master = Instance::prepare(
        &root,
        "master",
        master_ports,
        Some(replica_ports.csync),
        &users,
    )?;

    let inbox = MboxName::user_inbox(&args.user)?;
    let fresh = master.store.mailbox_entry(&inbox)?.is_none();
    ignore_exists(
        master
            .store
            .create_mailbox(&inbox, CreateOptions::default()),
    )?;
    master.store.set_subscribed(&args.user, &inbox, true)?;
    for (folder, special) in [
        ("Sent", "\\Sent"),
        ("Drafts", "\\Drafts"),
        ("Trash", "\\Trash"),
    ] {
        let name = MboxName::new(format!("{inbox}.{folder}"))?;
        if master.store.mailbox_entry(&name)?.is_none() {
            ignore_exists(master.store.create_mailbox(&name, CreateOptions::default()))?;
            master.store.set_mailbox_annotation(
                &name,
                "/specialuse",
                &args.user,
                special.as_bytes(),
            )?;
            master.store.set_subscribed(&args.user, &name, true)?;
        }
    }

    replica.start(&bindir)?;
    master.start(&bindir)?;
    if fresh {
        lmtp_deliver(master.ports.lmtp, &args.user, &welcome(&args.user))
            .context("delivering the welcome message")?;
    }

    println!(
        "cyrus-rs: a master and a replica are running (data under {})",
        root.display()
    );
    for inst in [&master, &replica] {
        let p = inst.ports;
        println!(
            "  {:8} IMAP 127.0.0.1:{}  POP3 127.0.0.1:{}  LMTP 127.0.0.1:{}  csync 127.0.0.1:{}  \
             (log {}/log/master.log)",
            inst.name,
            p.imap,
            p.pop3,
            p.lmtp,
            p.csync,
            inst.dir.display()
        );
    }
    println!(
        "  user {} / password {} (admins: {ADMIN_USER} has no password until you set one with \
         saslpasswd2; {REPL_USER} / {REPL_PASSWORD} replicates)",
        args.user, args.password
    );
    println!(
        "  try: python3 -c \"import imaplib; m=imaplib.IMAP4('127.0.0.1',{}); \
         m.login('{}','{}'); print(m.select('INBOX'))\"",
        master.ports.imap, args.user, args.password
    );
    println!(
        "  rolling replication: master sync_client -r -> replica sync_server; Ctrl-C stops both"
    );
    println!("ready");
    std::io::stdout().flush()?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(monitor(&mut master, &mut replica, args.interval));
    master.stop();
    replica.stop();
    println!("stopped: master and replica shut down");
    result
}

/// Print the replication status every `interval` until Ctrl-C / SIGTERM, or until either
/// instance's master exits.
async fn monitor(
    master: &mut Instance,
    replica: &mut Instance,
    interval: Duration,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let tty = std::io::stdout().is_terminal();
    let mut behind_since: Option<Instant> = None;
    let mut last_caught_up: Option<(Duration, Instant)> = None;
    let mut last_key = String::new();
    let mut last_behind: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(interval.min(Duration::from_millis(250)));
    let mut last_print = Instant::now() - interval;
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {}
        }
        for inst in [&mut *master, &mut *replica] {
            if let Some(c) = inst.master.as_mut()
                && let Some(st) = c.try_wait()?
            {
                inst.master = None;
                bail!(
                    "the {} master exited ({st}); see {}/log/master.log",
                    inst.name,
                    inst.dir.display()
                );
            }
        }
        let queued = queued(master);
        let now = Instant::now();
        let print_due = now - last_print >= interval;
        // The full comparison only while something is moving, or when a line is due.
        if queued > 0 || behind_since.is_some() || print_due {
            last_behind = behind(master, replica)?;
        }
        match (last_behind.is_empty(), behind_since) {
            (false, None) => behind_since = Some(now),
            (true, Some(t0)) => {
                last_caught_up = Some((now - t0, now));
                behind_since = None;
            }
            _ => {}
        }
        if !print_due {
            continue;
        }
        last_print = now;
        let state = if last_behind.is_empty() {
            "replica identical".to_owned()
        } else {
            format!(
                "{} mailbox(es) differ ({})",
                last_behind.len(),
                last_behind
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let last = match last_caught_up {
            Some((lag, at)) => format!(
                "last change replicated within {} ms, {} s ago",
                lag.as_millis().max(1),
                at.elapsed().as_secs()
            ),
            None => "no change replicated yet this run".to_owned(),
        };
        let line = format!("[status] queued {} record(s); {state}; {last}", queued);
        // Off a terminal, print a line only when the state changes (not every "N s ago").
        let key = format!("{} {state} {:?}", queued, last_caught_up.map(|l| l.1));
        if tty {
            print!("\r{line:<110}");
            std::io::stdout().flush()?;
        } else if key != last_key {
            println!("{line}");
            std::io::stdout().flush()?;
        }
        last_key = key;
    }
    if tty {
        println!();
    }
    Ok(())
}
