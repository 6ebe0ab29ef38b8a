#![allow(clippy::unwrap_used)]
//! Replication over IMAP into our imapd: a real Cyrus 3.6 master with `sync_try_imap: yes`
//! pointed at our IMAP port finds `X-REPLICATION` and replicates a user with SYNCAPPLY /
//! SYNCGET / SYNCRESTART. Skipped when Cyrus is not installed.

#[path = "imapd/common.rs"]
mod common;

use testkit::{CyrusInstance, SyncTarget};

#[test]
fn cyrus_sync_client_replicates_over_our_imap_port() {
    if testkit::skip_without_cyrus("cyrus_sync_client_replicates_over_our_imap_port") {
        return;
    }
    let ours = common::Server::start("");
    let target = SyncTarget {
        addr: format!("127.0.0.1:{}", ours.port).parse().unwrap(),
        authname: "admin".into(),
        password: "secret".into(),
    };
    let master = CyrusInstance::builder()
        .admin("admin", "adminpw")
        .user("alice", "pw")
        .master(target)
        .sync_try_imap(true)
        .start()
        .unwrap();
    let py = format!(
        r#"
import imaplib
A = imaplib.IMAP4('127.0.0.1', {p}); A.login('admin', 'adminpw'); A.create('user/alice'); A.logout()
M = imaplib.IMAP4('127.0.0.1', {p}); M.login('alice', 'pw')
M.create('Sub')
for i in range(3):
    M.append('INBOX', '(\\Flagged)', None, b'Subject: r%d\r\n\r\nreplicated %d\r\n' % (i, i))
M.select('INBOX'); M.store('2', '+FLAGS', '(\\Seen)')
typ, d = M.fetch('1:*', '(DIGEST.SHA1)')
open('{dir}/digests', 'w').write(repr(d))
M.logout()
"#,
        p = master.imap_port(),
        dir = ours.dir.path().display()
    );
    ours.python(&py);
    master
        .run_tool_ok("sync_client", &["-v", "-u", "alice"])
        .unwrap();
    let check = r#"
import imaplib, os, re
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT'])); M.login('alice', 'pw')
ls = b' '.join(M.list()[1])
assert b'"/" Sub' in ls and b'"/" INBOX' in ls, ls
M.select('INBOX')
typ, d = M.fetch('1:*', '(UID FLAGS DIGEST.SHA1 BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
flat = b' '.join(x[0] + x[1] if isinstance(x, tuple) else x for x in d)
assert flat.count(b'\\Flagged') == 3, flat
assert b'FLAGS (\\Flagged \\Seen) UID 2' in flat, flat
print('ALL OK')
"#;
    let out = ours.python(check);
    assert!(out.contains("ALL OK"), "{out}");
    let digests = std::fs::read_to_string(ours.dir.path().join("digests")).unwrap();
    let check2 = format!(
        r#"
import imaplib, os
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT'])); M.login('alice', 'pw')
M.select('INBOX')
typ, d = M.fetch('1:*', '(DIGEST.SHA1)')
assert repr(d) == {digests:?}, (d, {digests:?})
"#
    );
    ours.python(&check2);
}
