//! pop3d end to end: the built binary on a loopback port, driven by Python's poplib (every
//! command) and byte by byte, checked through the mailstore (expunge on QUIT, POP3 login
//! time) and the sync log.

#![allow(clippy::unwrap_used)]

#[path = "lmtp_pop_support/mod.rs"]
mod support;

use mailstore::AppendOptions;
use support::{Client, Env, python};
use types::MboxName;

const POP3D: &str = env!("CARGO_BIN_EXE_pop3d");

const M1: &[u8] = b"From: a@b\r\nSubject: first\r\n\r\nline one\r\n.dotted\r\nline three\r\n";
const M2: &[u8] = b"From: a@b\r\nSubject: second\r\n\r\nbody two\r\n";
const M3: &[u8] = b"Subject: third\r\n\r\nno final newline";

fn env_with_mail(extra: &str) -> Env {
    let env = Env::new(extra);
    env.add_user("alice", "alicepw");
    env.add_user("admin", "adminpw");
    env.create(&["user.alice", "user.bob"]);
    let store = env.store();
    let inbox = MboxName::new("user.alice").unwrap();
    for m in [M1, M2, M3] {
        let b = store.stage_bytes("default", m).unwrap();
        store.append(&inbox, &b, &AppendOptions::default()).unwrap();
    }
    env
}

#[test]
fn poplib_every_command() {
    let env = env_with_mail("");
    let srv = env.spawn(POP3D, &[]);
    let uidvalidity = env
        .store()
        .lookup(&MboxName::new("user.alice").unwrap())
        .unwrap()
        .uidvalidity
        .0;
    let out = python(
        r#"
import poplib, sys
host, port = sys.argv[1].rsplit(":", 1)
p = poplib.POP3(host, int(port))
print(p.getwelcome())
print(sorted(p.capa().items()))
print(p.user("alice"))
print(p.pass_("alicepw"))
print(sorted(p.capa().items()))
print(p.stat())
print(p.list())
print(p.list(2))
print(p.uidl())
print(p.uidl(3))
print(p.top(1, 0))
print(p.top(1, 1))
print(p.retr(1))
print(p.retr(3))
print(p.dele(2))
for cmd in (lambda: p.retr(2), lambda: p.dele(2), lambda: p.list(9), lambda: p.top(9, 1)):
    try:
        cmd()
    except poplib.error_proto as e:
        print(e)
print(p.stat())
print(p.list())
print(p.rset())
print(p.stat())
print(p.noop())
print(p.dele(2))
print(p.quit())
"#,
        &[&srv.addr],
    );
    let s1 = M1.len();
    let s2 = M2.len();
    let s3 = M3.len();
    let expected = format!(
        "b'+OK test-server Cyrus POP3 {v} server ready '\n\
[('AUTH-RESP-CODE', []), ('EXPIRE', ['NEVER']), ('IMPLEMENTATION', ['Cyrus', 'POP3', '{v}']), ('LOGIN-DELAY', ['0']), ('PIPELINING', []), ('RESP-CODES', []), ('SASL', ['PLAIN', 'LOGIN']), ('TOP', []), ('UIDL', []), ('USER', [])]\n\
b'+OK Name is a valid mailbox'\n\
{login}\n\
[('AUTH-RESP-CODE', []), ('EXPIRE', ['NEVER']), ('IMPLEMENTATION', ['Cyrus', 'POP3', '{v}']), ('LOGIN-DELAY', ['0']), ('PIPELINING', []), ('RESP-CODES', []), ('TOP', []), ('UIDL', [])]\n\
(3, {total})\n\
(b'+OK scan listing follows', [b'1 {s1}', b'2 {s2}', b'3 {s3}'], {listlen})\n\
b'+OK 2 {s2}'\n\
(b'+OK unique-id listing follows', [b'1 {uv}.1', b'2 {uv}.2', b'3 {uv}.3'], {uidllen})\n\
b'+OK 3 {uv}.3'\n\
(b'+OK Message follows', [b'From: a@b', b'Subject: first', b''], 29)\n\
(b'+OK Message follows', [b'From: a@b', b'Subject: first', b'', b'line one'], 39)\n\
(b'+OK Message follows', [b'From: a@b', b'Subject: first', b'', b'line one', b'.dotted', b'line three'], {r1})\n\
(b'+OK Message follows', [b'Subject: third', b'', b'no final newline'], {r3})\n\
b'+OK message deleted'\n\
b'-ERR No such message'\n\
b'-ERR No such message'\n\
b'-ERR No such message'\n\
b'-ERR No such message'\n\
(2, {total13})\n\
(b'+OK scan listing follows', [b'1 {s1}', b'3 {s3}'], {list13})\n\
b'+OK'\n\
(3, {total})\n\
b'+OK'\n\
b'+OK message deleted'\n\
b'+OK'\n",
        v = pop3d::VERSION,
        login = "LOGIN",
        total = s1 + s2 + s3,
        total13 = s1 + s3,
        uv = uidvalidity,
        listlen = format!("1 {s1}").len() + format!("2 {s2}").len() + format!("3 {s3}").len() + 6,
        list13 = format!("1 {s1}").len() + format!("3 {s3}").len() + 4,
        uidllen = 3 * (format!("{uidvalidity}.1").len() + 4),
        r1 = M1.len(),
        r3 = M3.len() + 2,
    );
    let mut got = out.lines().map(|l| format!("{l}\n")).collect::<Vec<_>>();
    // The login line carries a session id.
    assert!(
        got[3].starts_with("b'+OK Mailbox locked and ready SESSIONID=<test-server-"),
        "{}",
        got[3]
    );
    got[3] = "LOGIN\n".to_owned();
    assert_eq!(got.concat(), expected);

    // QUIT expunged message 2 and recorded the login.
    let store = env.store();
    let inbox = MboxName::new("user.alice").unwrap();
    let recs = store.records(&inbox).unwrap();
    let live: Vec<u32> = recs
        .iter()
        .filter(|r| !r.expunged)
        .map(|r| r.uid.0)
        .collect();
    assert_eq!(live, [1, 3]);
    assert!(recs[1].flags.deleted);
    let h = store.header(&inbox).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - h.pop3_last_login).abs() < 60,
        "{}",
        h.pop3_last_login
    );
    let log = env.sync_log();
    assert!(
        log.iter().filter(|l| *l == "MAILBOX user.alice").count() >= 2,
        "{log:?}"
    );

    // A second session sees the result.
    let mut c = Client::connect(&srv.addr);
    c.line();
    assert_eq!(c.cmd("USER alice"), "+OK Name is a valid mailbox\r\n");
    assert!(
        c.cmd("PASS alicepw")
            .starts_with("+OK Mailbox locked and ready")
    );
    assert_eq!(c.cmd("STAT"), format!("+OK 2 {}\r\n", s1 + s3));
    assert_eq!(c.cmd("QUIT"), "+OK\r\n");
}

#[test]
fn raw_errors_and_auth() {
    let env = env_with_mail("");
    let srv = env.spawn(POP3D, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    assert_eq!(c.cmd("STAT"), "-ERR Unrecognized command\r\n");
    assert_eq!(c.cmd("APOP alice 0123"), "-ERR Unrecognized command\r\n");
    assert_eq!(c.cmd("PASS x"), "-ERR [AUTH] Must give USER command\r\n");
    assert_eq!(c.cmd("USER"), "-ERR Missing argument\r\n");
    assert_eq!(c.cmd("LIST "), "-ERR Syntax error\r\n");
    assert_eq!(c.cmd("CAPA x"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("USER alice"), "+OK Name is a valid mailbox\r\n");
    assert_eq!(
        c.cmd("USER alice"),
        "-ERR [AUTH] Must give PASS command\r\n"
    );
    assert_eq!(c.cmd("PASS wrong"), "-ERR [AUTH] Invalid login\r\n");
    assert_eq!(
        c.cmd("AUTH FOO"),
        "-ERR [AUTH] authenticating: no mechanism available\r\n"
    );
    assert_eq!(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6\r\n");
    assert_eq!(c.cmd("*"), "-ERR [AUTH] Client canceled authentication\r\n");
    assert_eq!(
        c.cmd("AUTH PLAIN !!!"),
        "-ERR [AUTH] authenticating: bad protocol / cancel\r\n"
    );
    // "\0alice\0wrong"
    assert_eq!(
        c.cmd("AUTH PLAIN AGFsaWNlAHdyb25n"),
        "-ERR [AUTH] authenticating: authentication failure\r\n"
    );
    c.send(b"AUTH\r\n");
    assert_eq!(c.line(), "+OK List of supported mechanisms follows\r\n");
    assert_eq!(c.line(), "PLAIN\r\n");
    assert_eq!(c.line(), "LOGIN\r\n");
    assert_eq!(c.line(), ".\r\n");
    // The admin acts as alice: PLAIN "alice\0admin\0adminpw".
    assert_eq!(c.cmd("AUTH PLAIN"), "+ \r\n");
    let r = c.cmd("YWxpY2UAYWRtaW4AYWRtaW5wdw==");
    assert!(
        r.starts_with("+OK Mailbox locked and ready SESSIONID=<"),
        "{r}"
    );
    assert_eq!(c.cmd("USER bob"), "-ERR Unrecognized command\r\n");
    assert_eq!(c.cmd("STLS"), "-ERR Unrecognized command\r\n");
    assert_eq!(c.cmd("LIST x"), "-ERR Not a number\r\n");
    assert_eq!(c.cmd("LIST 1 2"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("LIST 0"), "-ERR No such message\r\n");
    assert_eq!(c.cmd("RETR"), "-ERR Missing argument\r\n");
    assert_eq!(c.cmd("DELE"), "-ERR Missing argument\r\n");
    assert_eq!(c.cmd("TOP 1"), "-ERR Missing argument\r\n");
    assert_eq!(c.cmd("TOP 1 x"), "-ERR Invalid number of lines\r\n");
    assert_eq!(c.cmd("TOP 1 -1"), "-ERR Invalid number of lines\r\n");
    assert_eq!(c.cmd("TOP 1 2 3"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("NOOP x"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("RSET x"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("LAST"), "-ERR Unrecognized command\r\n");
    assert_eq!(c.cmd("UIDL 99999999999"), "-ERR Not a number\r\n");
    assert_eq!(c.cmd("QUIT now"), "-ERR Unexpected extra argument\r\n");
    assert_eq!(c.cmd("quit"), "+OK\r\n");

    // A user without a mailbox.
    env.add_user("carol", "carolpw");
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.cmd("USER carol");
    assert_eq!(
        c.cmd("PASS carolpw"),
        "-ERR [SYS/TEMP] Unable to open maildrop: Mailbox does not exist\r\n"
    );
}

#[test]
fn popminpoll_and_allowplaintext() {
    let env = env_with_mail("popminpoll: 1\nallowplaintext: no\npopexpiretime: 7");
    let srv = env.spawn(POP3D, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.send(b"CAPA\r\n");
    let mut capa = String::new();
    loop {
        let l = c.line();
        capa.push_str(&l);
        if l == ".\r\n" {
            break;
        }
    }
    assert!(!capa.contains("USER") && !capa.contains("SASL"), "{capa}");
    assert!(capa.contains("EXPIRE 7\r\nLOGIN-DELAY 60\r\n"), "{capa}");
    assert_eq!(
        c.cmd("USER alice"),
        "-ERR [AUTH] USER command only available under a layer\r\n"
    );
    assert_eq!(
        c.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlcHc="),
        "-ERR [AUTH] authenticating: no mechanism available\r\n"
    );
    drop(c);
    drop(srv);

    // With plaintext allowed, the second login within popminpoll is refused.
    let text = std::fs::read_to_string(&env.conf)
        .unwrap()
        .replace("allowplaintext: no", "allowplaintext: yes");
    std::fs::write(&env.conf, text).unwrap();
    let srv = env.spawn(POP3D, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.cmd("USER alice");
    assert!(c.cmd("PASS alicepw").starts_with("+OK Mailbox locked"));
    assert_eq!(c.cmd("QUIT"), "+OK\r\n");
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.cmd("USER alice");
    assert_eq!(
        c.cmd("PASS alicepw"),
        "-ERR [LOGIN-DELAY] Logins must be at least 1 minute apart\r\n"
    );
}

#[test]
fn stls_with_poplib() {
    let env = env_with_mail("allowplaintext: no");
    let cert = env.root().join("cert.pem");
    let key = env.root().join("key.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg("/CN=test-server")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    let Ok(st) = st else {
        eprintln!("openssl not available; skipping");
        return;
    };
    assert!(st.status.success());
    let mut text = std::fs::read_to_string(&env.conf).unwrap();
    text.push_str(&format!(
        "tls_server_cert: {}\ntls_server_key: {}\n",
        cert.display(),
        key.display()
    ));
    std::fs::write(&env.conf, text).unwrap();
    let srv = env.spawn(POP3D, &[]);
    let out = python(
        r#"
import poplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
p = poplib.POP3(host, int(port))
caps = p.capa()
print("STLS" in caps, "USER" in caps)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
print(p.stls(ctx))
caps = p.capa()
print("STLS" in caps, "USER" in caps, caps.get("SASL"))
p.user("alice")
print(p.pass_("alicepw")[:28])
print(p.stat()[0])
print(p.quit())
"#,
        &[&srv.addr],
    );
    assert_eq!(
        out,
        "True False\nb'+OK Begin TLS negotiation now'\nFalse True ['PLAIN', 'LOGIN']\n\
         b'+OK Mailbox locked and ready'\n3\nb'+OK'\n"
    );

    drop(srv);

    // pop3s: TLS from the first byte (`-s`).
    let srv = env.spawn(POP3D, &["-s"]);
    let out = python(
        r#"
import poplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL(host, int(port), context=ctx)
print(p.getwelcome()[:26])
caps = p.capa()
print("STLS" in caps, "USER" in caps)
p.user("alice")
p.pass_("alicepw")
print(p.stat()[0])
p.quit()
"#,
        &[&srv.addr],
    );
    assert_eq!(out, "b'+OK test-server Cyrus POP3'\nFalse True\n3\n");
}

#[test]
fn popuseimapflags_sets_seen_and_hides_deleted() {
    let env = env_with_mail("popuseimapflags: yes");
    let store = env.store();
    let inbox = MboxName::new("user.alice").unwrap();
    let change = mailstore::FlagChange {
        system: mailstore::SystemFlags {
            deleted: true,
            ..Default::default()
        },
        user: vec![],
    };
    store
        .store_flags(
            &inbox,
            &[types::Uid(2)],
            mailstore::FlagOp::Add,
            &change,
            None,
        )
        .unwrap();
    let srv = env.spawn(POP3D, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.cmd("USER alice");
    assert!(c.cmd("PASS alicepw").starts_with("+OK"));
    assert_eq!(c.cmd("STAT"), format!("+OK 2 {}\r\n", M1.len() + M3.len()));
    c.send(b"RETR 1\r\n");
    while c.line() != ".\r\n" {}
    assert_eq!(c.cmd("QUIT"), "+OK\r\n");
    let recs = store.records(&inbox).unwrap();
    assert!(recs[0].flags.seen);
    assert!(!recs[2].flags.seen);
    assert!(
        !recs[1].expunged,
        "a \\Deleted message hidden from POP is not expunged"
    );
}
