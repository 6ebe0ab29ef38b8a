//! `sync_reset`: destroy users locally ("DANGER"), typically on a replica before a clean full
//! resync (replication-behaviour §4.5).
//!
//! ```text
//! sync_reset [-C config] [-v] [-L] -f user...
//! ```
//!
//! Without `-f` it prints a reminder and does nothing. For each user: delete every mailbox
//! (delayed-delete copies included, children first), the user's seen state, subscriptions,
//! sieve scripts and quota roots, then remove their mailbox list entries including
//! tombstones, and log `UNUSER <user>`. A user whose INBOX does not exist stops the run
//! ("Bailing out!"). `-v` and `-L` are accepted and do nothing. Exit status is always 0, as in
//! Cyrus (usage errors: 64).

use std::path::PathBuf;
use std::process::ExitCode;

use types::MboxName;

const USAGE: &str = "usage: sync_reset [-C <alt_config>] [-v] [-L] -f user...";

fn main() -> ExitCode {
    let mut config = PathBuf::from("/etc/imapd.conf");
    let mut force = false;
    let mut users = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-C" {
            match args.next() {
                Some(p) => config = PathBuf::from(p),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(64);
                }
            }
        } else if let Some(p) = a.strip_prefix("-C") {
            config = PathBuf::from(p);
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            for c in flags.chars() {
                match c {
                    'f' => force = true,
                    'v' | 'L' => {}
                    _ => {
                        eprintln!("{USAGE}");
                        return ExitCode::from(64);
                    }
                }
            }
        } else {
            users.push(a);
        }
    }
    if !force {
        eprintln!("Usage: sync_reset [-C <alt_config>] [-v] [-L] -f user...");
        eprintln!("       -f  force (required: this DESTROYS the named accounts)");
        return ExitCode::SUCCESS;
    }
    let (_conf, store) = match cyrus_bins::open_store(&config, "sync_reset") {
        Ok(x) => x,
        Err(e) => {
            eprintln!("Fatal error: {e:#}");
            return ExitCode::from(78);
        }
    };
    for u in &users {
        let Ok(inbox) = MboxName::user_inbox(u) else {
            eprintln!("Invalid userid {u}: Bailing out!");
            break;
        };
        match store.mailbox_entry(&inbox) {
            Ok(Some(e)) if !e.mbtype.deleted => {}
            _ => {
                eprintln!("No such user {u}: Bailing out!");
                break;
            }
        }
        if let Err(e) = reset_user(&store, u) {
            eprintln!("Failed to reset user {u}: {e}: Bailing out!");
            break;
        }
    }
    ExitCode::SUCCESS
}

fn reset_user(store: &mailstore::Store, userid: &str) -> mailstore::Result<()> {
    for m in store.subscriptions(userid)? {
        if let Ok(name) = MboxName::new(m) {
            store.set_subscribed(userid, &name, false)?;
        }
    }
    store.delete_user(userid)?;
    // Remove what is left of the user's entries: tombstones and placeholders.
    let names = &store.config().names;
    for e in store.list_all_entries()? {
        if e.name.userid(names).as_deref() == Some(userid) {
            store.purge_entry(&e.name)?;
        }
    }
    Ok(())
}
