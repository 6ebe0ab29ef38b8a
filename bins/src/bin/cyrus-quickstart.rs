//! `cyrus-quickstart`: lay out a master and a replica instance on loopback from an embedded
//! default (imapd.conf, cyrus.conf, password files, partitions), create a demo user on the
//! master with the folders a mail client expects, deliver a welcome message, and show what the
//! master has queued in its sync log for rolling replication.
//!
//! Used by `scripts/run`. The network services (imapd, lmtpd, pop3d, sync_server, sync_client,
//! master) are built by later issues; this program says so instead of pretending.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auth::passwd::{PasswdFile, SetMode, passwd_path};
use cyrus_bins::open_store;
use mailstore::{AppendOptions, CreateOptions, Store, StoreError};
use types::MboxName;

const USAGE: &str = "usage: cyrus-quickstart [--dir DIR] [--user NAME] [--password PASSWORD]";

struct Ports {
    imap: u16,
    pop3: u16,
    lmtp: u16,
    csync: u16,
}

const MASTER_PORTS: Ports = Ports {
    imap: 24143,
    pop3: 24110,
    lmtp: 24024,
    csync: 24205,
};
const REPLICA_PORTS: Ports = Ports {
    imap: 25143,
    pop3: 25110,
    lmtp: 25024,
    csync: 25205,
};
const REPL_USER: &str = "repl";

fn imapd_conf(dir: &Path, servername: &str, master: bool, repl_password: &str) -> String {
    let d = dir.display();
    let mut s = format!(
        "# imapd.conf written by cyrus-quickstart ({servername})\n\
         configdirectory: {d}/config\n\
         defaultpartition: default\n\
         partition-default: {d}/spool/default\n\
         servername: {servername}\n\
         admins: {REPL_USER}\n\
         allowplaintext: yes\n\
         altnamespace: yes\n\
         unixhierarchysep: yes\n\
         sasl_pwcheck_method: auxprop\n\
         sasl_mech_list: PLAIN LOGIN\n\
         sasl_sasldb_path: {d}/config/passwd\n"
    );
    if master {
        s.push_str(&format!(
            "sync_log: on\n\
             sync_host: 127.0.0.1\n\
             sync_port: {}\n\
             sync_try_imap: no\n\
             sync_authname: {REPL_USER}\n\
             sync_password: {repl_password}\n\
             sync_repeat_interval: 1\n\
             sync_shutdown_file: {d}/config/sync/shutdown\n",
            REPLICA_PORTS.csync
        ));
    } else {
        s.push_str("sync_log: off\n");
    }
    s
}

fn cyrus_conf(dir: &Path, p: &Ports, master: bool) -> String {
    let c = dir.join("conf/imapd.conf");
    let c = c.display();
    let mut s = format!(
        "# cyrus.conf written by cyrus-quickstart\n\
         SERVICES {{\n\
         \x20 imap       cmd=\"imapd -C {c}\" listen=\"127.0.0.1:{}\" prefork=0\n\
         \x20 pop3       cmd=\"pop3d -C {c}\" listen=\"127.0.0.1:{}\" prefork=0\n\
         \x20 lmtp       cmd=\"lmtpd -C {c} -a\" listen=\"127.0.0.1:{}\" prefork=0\n\
         \x20 syncserver cmd=\"sync_server -C {c}\" listen=\"127.0.0.1:{}\" prefork=0\n\
         }}\n",
        p.imap, p.pop3, p.lmtp, p.csync
    );
    if master {
        s.push_str(&format!(
            "DAEMON {{\n  syncclient cmd=\"sync_client -C {c} -r\"\n}}\n"
        ));
    }
    s
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Write an instance's configuration (kept if already there) and open its store.
fn instance(
    root: &Path,
    name: &str,
    ports: &Ports,
    master: bool,
    repl_password: &str,
) -> anyhow::Result<(PathBuf, Store)> {
    let dir = root.join(name);
    let conf_path = dir.join("conf/imapd.conf");
    write_new(
        &conf_path,
        &imapd_conf(&dir, &format!("cyrus-rs-{name}"), master, repl_password),
    )?;
    write_new(
        &dir.join("conf/cyrus.conf"),
        &cyrus_conf(&dir, ports, master),
    )?;
    // Validate both files exactly as the servers will read them.
    config::CyrusConf::load(dir.join("conf/cyrus.conf"))?;
    let (conf, store) = open_store(&conf_path, "cyrus-quickstart")?;
    let sasldb = conf.sasl_option("sasldb_path").map(PathBuf::from);
    let passwd = PasswdFile::new(passwd_path(
        Path::new(conf.config_directory()),
        sasldb.as_deref(),
    ));
    passwd.set_password(
        REPL_USER,
        None,
        repl_password.as_bytes(),
        SetMode::CreateOrReplace,
    )?;
    Ok((passwd.path().to_owned(), store))
}

fn ignore_exists(r: Result<mailstore::MailboxEntry, StoreError>) -> anyhow::Result<()> {
    match r {
        Ok(_) | Err(StoreError::MailboxExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn welcome(user: &str, now: i64) -> Vec<u8> {
    format!(
        "Return-Path: <postmaster@localhost>\r\n\
         From: cyrus-rs <postmaster@localhost>\r\n\
         To: {user}@localhost\r\n\
         Subject: Welcome to cyrus-rs\r\n\
         Message-ID: <welcome-{now}@cyrus-rs.localhost>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This message was delivered into the master's mailstore by cyrus-quickstart.\r\n\
         Rolling replication copies it to the replica once sync_client runs.\r\n"
    )
    .into_bytes()
}

fn main() -> anyhow::Result<()> {
    let mut dir = PathBuf::from("run");
    let mut user = "demo".to_owned();
    let mut password = "demo-password".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| USAGE.to_owned());
        match a.as_str() {
            "--dir" => dir = PathBuf::from(value()?),
            "--user" => user = value()?,
            "--password" => password = value()?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let root = std::path::absolute(&dir)?;
    let repl_password = "repl-secret";
    let (master_pw, master) = instance(&root, "master", &MASTER_PORTS, true, repl_password)?;
    let (replica_pw, replica) = instance(&root, "replica", &REPLICA_PORTS, false, repl_password)?;
    for pw in [&master_pw, &replica_pw] {
        PasswdFile::new(pw).set_password(
            &user,
            None,
            password.as_bytes(),
            SetMode::CreateOrReplace,
        )?;
    }

    let inbox = MboxName::user_inbox(&user)?;
    ignore_exists(master.create_mailbox(&inbox, CreateOptions::default()))?;
    for (folder, special) in [
        ("Sent", "\\Sent"),
        ("Drafts", "\\Drafts"),
        ("Trash", "\\Trash"),
    ] {
        let name = MboxName::new(format!("{inbox}.{folder}"))?;
        ignore_exists(master.create_mailbox(&name, CreateOptions::default()))?;
        master.set_mailbox_annotation(&name, "/specialuse", &user, special.as_bytes())?;
        master.set_subscribed(&user, &name, true)?;
    }
    master.set_subscribed(&user, &inbox, true)?;
    let body = master.stage_bytes("default", &welcome(&user, master.now()))?;
    let appended = master.append(&inbox, &body, &AppendOptions::default())?;

    println!("cyrus-rs quickstart — instances under {}", root.display());
    for (name, p) in [("master", &MASTER_PORTS), ("replica", &REPLICA_PORTS)] {
        println!(
            "  {name:8} imapd.conf {}/{name}/conf/imapd.conf  (IMAP 127.0.0.1:{}, POP3 :{}, LMTP :{}, csync :{})",
            root.display(),
            p.imap,
            p.pop3,
            p.lmtp,
            p.csync
        );
    }
    println!(
        "  user {user} / password {password}; replication identity {REPL_USER} (admin on both)"
    );
    println!();
    println!("master mailboxes:");
    for e in master.user_mailboxes(&user)? {
        let st = master.mailbox_state(&e.name)?.context("mailbox vanished")?;
        let h = st.header.unwrap_or_default();
        println!(
            "  {:24} uniqueid {} uidvalidity {} last_uid {} highestmodseq {} SYNC_CRC {} SYNC_CRC_ANNOT {}",
            e.name.as_str(),
            e.uniqueid,
            e.uidvalidity,
            h.last_uid,
            h.highestmodseq,
            st.sync_crc,
            st.sync_crc_annot
        );
    }
    println!(
        "welcome message delivered as UID {} (GUID {})",
        appended.uid,
        body.guid()
    );
    let log = master.config().sync_log.config_dir.join("sync/log");
    let queued = fs::read_to_string(&log).unwrap_or_default();
    println!();
    println!(
        "queued for rolling replication in {} ({} records):",
        log.display(),
        queued.lines().count()
    );
    for line in queued.lines().take(20) {
        println!("  {line}");
    }
    println!();
    println!(
        "replica mailboxes: {} (empty until sync_client runs)",
        replica.list_mailboxes("")?.len()
    );
    println!();
    println!(
        "Not yet running: the IMAP/POP3/LMTP servers, sync_server, sync_client and master are \
         the next issues of this project. Until they land, this command prepares both instances \
         and the master's replication queue, and stops."
    );
    Ok(())
}
