//! `cyr_synclog`: append one record to every active sync log channel by hand, exactly as a
//! server process would (replication-behaviour §4.4). With `sync_log` off nothing is written
//! and the exit status is 0, as in Cyrus.
//!
//! ```text
//! cyr_synclog [-C imapd.conf] [-u|-U|-v|-m|-M|-q|-n|-s|-b] value [value2]
//! cyr_synclog [-C imapd.conf] "<raw log line>"
//! ```
//! `-s userid uniqueid` writes `SEEN`, `-b userid mailbox` writes `SUB`; the one-value options
//! write USER, UNUSER, META, MAILBOX, UNMAILBOX, QUOTA and ANNOTATION. If several are given the
//! last wins. `-a`/`-c` are broken in Cyrus 3.6 (they write the value as a raw line); we keep
//! that behaviour. Values are internal names and userids, quoted by the sync log rules.

use std::path::PathBuf;
use std::process::ExitCode;

use config::ImapdConf;
use sync_log::{Record, SyncLogWriter};

const USAGE: &str = "usage: cyr_synclog [-C alt_config] [-{type}] value [value2]\n\
     \x20      cyr_synclog [-C alt_config] \"<raw log line>\"\n\
     types: -u USER -U UNUSER -v META -m MAILBOX -M UNMAILBOX -q QUOTA -n ANNOTATION\n\
     \x20      -s SEEN userid uniqueid -b SUB userid mailbox";

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(255)
}

fn main() -> ExitCode {
    let mut config = PathBuf::from("/etc/imapd.conf");
    let mut kind: Option<char> = None;
    let mut operands = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-C" {
            match args.next() {
                Some(p) => config = PathBuf::from(p),
                None => return usage(),
            }
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            for c in flags.chars() {
                if !"uUvmMqnsbac".contains(c) {
                    return usage();
                }
                kind = Some(c);
            }
        } else {
            operands.push(a);
        }
    }
    let first = operands.first().filter(|v| !v.is_empty());
    let Some(first) = first.cloned() else {
        return usage();
    };
    let two = |f: fn(String, String) -> Record| {
        operands
            .get(1)
            .filter(|v| !v.is_empty())
            .map(|b| f(first.clone(), b.clone()))
    };
    let record = match kind {
        Some('u') => Some(Record::User(first.clone())),
        Some('U') => Some(Record::Unuser(first.clone())),
        Some('v') => Some(Record::Meta(first.clone())),
        Some('m') => Some(Record::Mailbox(first.clone())),
        Some('M') => Some(Record::Unmailbox(first.clone())),
        Some('q') => Some(Record::Quota(first.clone())),
        Some('n') => Some(Record::Annotation(first.clone())),
        Some('s') => match two(Record::Seen) {
            Some(r) => Some(r),
            None => return usage(),
        },
        Some('b') => match two(Record::Sub) {
            Some(r) => Some(r),
            None => return usage(),
        },
        // No type, or the 3.6 `-a`/`-c` behaviour: the value is a raw line.
        _ => None,
    };

    let conf = match ImapdConf::load(&config, Some("cyr_synclog")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cyr_synclog: {e}");
            return ExitCode::from(78);
        }
    };
    let writer = SyncLogWriter::new(cyrus_bins::sync_log_config(&conf));
    let result = match record {
        Some(r) => writer.append(&[r]),
        None => writer.append_raw_line(&first),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cyr_synclog: {e}");
            ExitCode::FAILURE
        }
    }
}
