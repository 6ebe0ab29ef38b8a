//! `cyr_synclog` writes one record to every active channel, exactly as a server would, and
//! nothing when `sync_log` is off.

use std::fs;
use std::path::Path;
use std::process::Command;

fn write_conf(dir: &Path, extra: &str) -> std::path::PathBuf {
    let conf = dir.join("imapd.conf");
    let text = format!(
        "configdirectory: {}/config\npartition-default: {}/spool\n{extra}",
        dir.display(),
        dir.display()
    );
    fs::write(&conf, text).expect("write imapd.conf");
    conf
}

fn run(conf: &Path, args: &[&str]) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_cyr_synclog"))
        .arg("-C")
        .arg(conf)
        .args(args)
        .status()
        .expect("run cyr_synclog")
        .code()
        .unwrap_or(-1)
}

#[test]
fn writes_every_channel() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = write_conf(tmp.path(), "sync_log: on\nsync_log_channels: repl1 \"\"\n");
    assert_eq!(run(&conf, &["-u", "fred"]), 0);
    assert_eq!(run(&conf, &["-m", "user.fred.two words"]), 0);
    assert_eq!(run(&conf, &["-s", "fred", "0a1b2c"]), 0);
    assert_eq!(run(&conf, &["-b", "fred", "user.fred.Sent"]), 0);
    assert_eq!(run(&conf, &["APPEND user.fred"]), 0);
    assert_eq!(run(&conf, &["-s", "fred"]), 255);
    assert_eq!(run(&conf, &[]), 255);
    let want = "USER fred\nMAILBOX \"user.fred.two words\"\nSEEN fred 0a1b2c\n\
                SUB fred user.fred.Sent\nAPPEND user.fred\n";
    for log in ["config/sync/log", "config/sync/repl1/log"] {
        assert_eq!(
            fs::read_to_string(tmp.path().join(log)).expect(log),
            want,
            "{log}"
        );
    }
}

#[test]
fn sync_log_off_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = write_conf(tmp.path(), "");
    assert_eq!(run(&conf, &["-u", "fred"]), 0);
    assert!(!tmp.path().join("config/sync").exists());
}
