#![allow(clippy::unwrap_used)]
//! End-to-end with real clients against our imapd: mbsync (isync) mirroring to a Maildir and
//! back, cyradm (Cyrus::IMAP::Admin) managing mailboxes, ACLs and quotas, and Cyrus's imtest
//! authenticating. A test whose client is not installed says so and passes.

#[path = "imapd/common.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn have(bin: &str) -> bool {
    let ok = Path::new(bin).exists()
        || Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("{bin} is not installed; skipping");
    }
    ok
}

fn run(cmd: &mut Command, stdin: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const SETUP: &str = r#"
import imaplib, os
P = int(os.environ['PORT'])
A = imaplib.IMAP4('127.0.0.1', P); A.login('admin', 'secret'); A.create('user/alice'); A.logout()
M = imaplib.IMAP4('127.0.0.1', P); M.login('alice', 'pw')
M.create('Folder')
for i in range(3):
    M.append('INBOX', '(\\Seen)', None, b'Subject: m%d\r\nMessage-ID: <%d@x>\r\n\r\nhello %d\r\n' % (i, i, i))
M.append('Folder', None, None, b'Subject: f\r\n\r\nfolder\r\n')
M.logout()
"#;

#[test]
fn mbsync_mirrors_both_ways() {
    if !have("mbsync") {
        return;
    }
    let srv = common::Server::start("");
    srv.python(SETUP);
    let md = srv.dir.path().join("maildir");
    std::fs::create_dir_all(&md).unwrap();
    let rc = srv.dir.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount t\nHost 127.0.0.1\nPort {}\nUser alice\nPass pw\nSSLType None\n\
             AuthMechs LOGIN\n\nIMAPStore remote\nAccount t\n\nMaildirStore local\nPath {m}/\n\
             Inbox {m}/INBOX\nSubFolders Verbatim\n\nChannel ch\nFar :remote:\nNear :local:\n\
             Patterns *\nCreate Both\nExpunge Both\nSyncState *\n",
            srv.port,
            m = md.display()
        ),
    )
    .unwrap();
    let sync = || {
        let out = Command::new("mbsync")
            .arg("-c")
            .arg(&rc)
            .arg("ch")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mbsync: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sync();
    let files = |dir: &str| -> Vec<String> {
        let mut v = Vec::new();
        for sub in ["cur", "new"] {
            if let Ok(rd) = std::fs::read_dir(md.join(dir).join(sub)) {
                v.extend(rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()));
            }
        }
        v.sort();
        v
    };
    let inbox = files("INBOX");
    assert_eq!(inbox.len(), 3, "{inbox:?}");
    assert!(inbox.iter().all(|f| f.ends_with(",S")), "{inbox:?}");
    assert_eq!(files("Folder").len(), 1);
    // Local changes: flag one, trash one, add a message and a folder.
    let cur = md.join("INBOX/cur");
    let f1 = inbox.iter().find(|f| f.contains(",U=1:")).unwrap();
    std::fs::rename(cur.join(f1), cur.join(format!("{f1}F"))).unwrap();
    let f2 = inbox.iter().find(|f| f.contains(",U=2:")).unwrap();
    std::fs::rename(cur.join(f2), cur.join(format!("{f2}T"))).unwrap();
    std::fs::write(
        md.join("INBOX/new/100.local.host"),
        "Subject: local\r\n\r\nfrom maildir\r\n",
    )
    .unwrap();
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join("Newbox").join(d)).unwrap();
    }
    std::fs::write(md.join("Newbox/new/1.x.host"), "Subject: nb\r\n\r\nnb\r\n").unwrap();
    sync();
    srv.python(
        r#"
import imaplib, os
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT'])); M.login('alice', 'pw')
ls = b' '.join(M.list()[1])
assert b'"/" Newbox' in ls, ls
M.select('INBOX')
typ, d = M.fetch('1:*', '(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
flat = b' '.join(x[0] + x[1] if isinstance(x, tuple) else x for x in d)
assert b'FLAGS (\\Flagged \\Seen) UID 1' in flat, flat
assert b'UID 2 ' not in flat, flat
assert b'Subject: local' in flat, flat
M.select('Newbox')
assert M.search(None, 'ALL') == ('OK', [b'1'])
"#,
    );
    let log = srv.sync_log();
    assert!(log.contains("MAILBOX user.alice.Newbox"), "{log}");
}

#[test]
fn cyradm_admin_commands() {
    if !have("cyradm") {
        return;
    }
    let srv = common::Server::start("");
    let script = "cm user/carol\ncm user/carol/Archive\nsam user/carol/Archive dave lrs\n\
                  lam user/carol/Archive\nsq user/carol STORAGE 5000\nlq user/carol\n\
                  lqr user/carol/Archive\nlm\ndm user/carol/Archive\nsam user/carol/Archive admin all\ndm user/carol/Archive\nlm user/*\n";
    let out = run(
        Command::new("cyradm").args([
            "--user",
            "admin",
            "--password",
            "secret",
            "--port",
            &srv.port.to_string(),
            "127.0.0.1",
        ]),
        script,
    );
    assert!(out.contains("dave lrs"), "{out}");
    assert!(out.contains("carol lrswipkxtecdan"), "{out}");
    assert!(out.contains("STORAGE 0/5000 (0%)"), "{out}");
    assert!(out.contains("user/carol STORAGE 0/5000"), "{out}");
    assert!(
        out.contains("user/carol/Archive (\\HasNoChildren)"),
        "{out}"
    );
    // As in Cyrus, even an admin needs `x` in the ACL to delete: the first `dm` is refused.
    assert_eq!(
        out.matches("deletemailbox: Permission denied").count(),
        1,
        "{out}"
    );
    let after = out.rsplit("lm user/*").next().unwrap_or("");
    assert!(
        after.contains("user/carol (\\HasNoChildren)") && !after.contains("Archive"),
        "{out}"
    );
    let log = srv.sync_log();
    for want in [
        "MAILBOX user.carol\n",
        "QUOTA user.carol\n",
        "MAILBOX user.carol.Archive\n",
    ] {
        assert!(log.contains(want), "{want:?} missing from {log}");
    }
}

#[test]
fn imtest_authenticates() {
    let imtest = "/usr/lib/cyrus/bin/imtest";
    if !have(imtest) {
        return;
    }
    let srv = common::Server::start("");
    for mech in ["PLAIN", "LOGIN"] {
        let out = run(
            Command::new(imtest).args([
                "-p",
                &srv.port.to_string(),
                "-a",
                "alice",
                "-w",
                "pw",
                "-m",
                mech,
                "127.0.0.1",
            ]),
            ". CAPABILITY\r\n. LOGOUT\r\n",
        );
        assert!(out.contains("Authenticated."), "{mech}: {out}");
        assert!(out.contains("* CAPABILITY IMAP4rev1"), "{mech}: {out}");
        assert!(out.contains("* BYE LOGOUT received"), "{mech}: {out}");
    }
    // Wrong password.
    let out = run(
        Command::new(imtest).args([
            "-p",
            &srv.port.to_string(),
            "-a",
            "alice",
            "-w",
            "nope",
            "-m",
            "PLAIN",
            "127.0.0.1",
        ]),
        ". LOGOUT\r\n",
    );
    assert!(out.contains("authentication failure"), "{out}");
}
