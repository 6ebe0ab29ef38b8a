//! Runs the built `saslpasswd2` against a temporary password file and checks the result
//! through the `auth` library, as the servers will read it.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use auth::PasswdFile;

fn saslpasswd2(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_saslpasswd2"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tool may exit before reading (usage or validation errors): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_verify_list_change_delete() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sasldb2");
    let f = file.to_str().unwrap();

    // As the Cyrus replication guide does it.
    let o = saslpasswd2(
        &["-f", f, "-u", "cyrus-replica", "-p", "-c", "admin"],
        b"s3cret\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = saslpasswd2(&["-p", "-c", "-f", f, "alice"], b"wonder\r\n");
    assert!(o.status.success(), "{}", stderr(&o));

    let db = PasswdFile::new(&file).with_default_realm(Some("cyrus-replica".into()));
    assert!(db.verify_login("admin", b"s3cret").unwrap());
    assert!(db.verify_login("alice", b"wonder").unwrap());
    assert!(!db.verify_login("alice", b"wonder\r").unwrap());

    let o = saslpasswd2(&["-l", "-f", f], b"");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "admin@cyrus-replica: userPassword\nalice: userPassword\n"
    );

    // Change without -c: existing users only.
    let o = saslpasswd2(&["-p", "-f", f, "alice"], b"looking-glass\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(db.verify_login("alice", b"looking-glass").unwrap());
    let o = saslpasswd2(&["-p", "-f", f, "nobody"], b"x\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let o = saslpasswd2(&["-d", "-f", f, "alice"], b"");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!db.contains_key("alice").unwrap());
    let o = saslpasswd2(&["-d", "-f", f, "alice"], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(db.verify_login("admin", b"s3cret").unwrap());
}

#[test]
fn config_file_locates_passwd() {
    let dir = tempfile::tempdir().unwrap();
    let confdir = dir.path().join("config");
    std::fs::create_dir(&confdir).unwrap();
    let conf = dir.path().join("imapd.conf");
    std::fs::write(
        &conf,
        format!("configdirectory: {}\nadmins: admin\n", confdir.display()),
    )
    .unwrap();
    let o = saslpasswd2(&["-C", conf.to_str().unwrap(), "-p", "-c", "bob"], b"pw\n");
    assert!(o.status.success(), "{}", stderr(&o));
    let db = PasswdFile::new(auth::passwd::passwd_path(&confdir, None));
    assert!(db.verify_login("bob", b"pw").unwrap());
}

#[test]
fn errors_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    let f = file.to_str().unwrap();
    for (args, input) in [
        (&["-p", "-c", "-f", f, "a:b"][..], &b"pw\n"[..]),
        (&["-p", "-c", "-f", f, "alice"], b"\n"),
        (&["-p", "-c", "-f", f, "alice"], b"pa:ss\n"),
        (&["-p", "-c", "-u", "a@b", "-f", f, "alice"], b"pw\n"),
    ] {
        let o = saslpasswd2(args, input);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).starts_with("saslpasswd2: invalid"),
            "{}",
            stderr(&o)
        );
    }
    assert!(!Path::new(f).exists());
    let o = saslpasswd2(&["-c", "-d", "x"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("usage:"));
    let missing = dir.path().join("nope.conf");
    let o = saslpasswd2(&["-C", missing.to_str().unwrap(), "-p", "-c", "x"], b"pw\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

#[test]
fn concurrent_processes_keep_every_user() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    let f = file.to_str().unwrap().to_owned();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_saslpasswd2"))
                .args(["-p", "-c", "-f", &f, &format!("user{i}")])
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin.take().unwrap().write_all(b"pw\n").unwrap();
            c
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let db = PasswdFile::new(&file);
    assert_eq!(db.keys().unwrap().len(), 6);
    assert!(db.verify_login("user5", b"pw").unwrap());
}
