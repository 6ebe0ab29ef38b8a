//! lmtpd end to end: the built binary on a loopback port (or UNIX socket), driven byte by byte,
//! by Python's smtplib.LMTP and by Cyrus's own `lmtptest`, checked through the mailstore and
//! the sync log.

#![allow(clippy::unwrap_used)]

#[path = "lmtp_pop_support/mod.rs"]
mod support;

use std::time::Duration;

use support::{Client, Env, SERVERNAME, messages, python};

const LMTPD: &str = env!("CARGO_BIN_EXE_lmtpd");

fn env_with_users() -> Env {
    let env = Env::new("");
    env.add_user("alice", "alicepw");
    env.add_user("bob", "bobpw");
    env.create(&[
        "user.alice",
        "user.alice.Archive",
        "user.alice.Private",
        "user.bob",
    ]);
    let store = env.store();
    store
        .set_acl(
            &types::MboxName::new("user.alice.Archive").unwrap(),
            "alice\tlrswipkxtecdan\tanyone\tp\t",
        )
        .unwrap();
    env
}

#[test]
fn transcript_matches_cyrus() {
    let env = env_with_users();
    let srv = env.spawn(LMTPD, &["-a"]);
    let mut c = Client::connect(&srv.addr);
    let greeting = c.line();
    assert!(
        greeting.starts_with(&format!("220 {SERVERNAME} Cyrus LMTP 3.6.1"))
            && greeting.ends_with(" server ready\r\n"),
        "{greeting}"
    );
    let lhlo = c.cmd("LHLO client.example");
    let lines: Vec<&str> = lhlo.split("\r\n").collect();
    assert_eq!(
        &lines[..7],
        &[
            "250-test-server",
            "250-8BITMIME",
            "250-ENHANCEDSTATUSCODES",
            "250-PIPELINING",
            "250-SIZE",
            "250-AUTH EXTERNAL",
            "250-IGNOREQUOTA"
        ]
    );
    assert!(
        lines[7].starts_with("250 Ok SESSIONID=<test-server-"),
        "{lhlo}"
    );
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 ok\r\n");
    assert_eq!(
        c.cmd("VRFY alice"),
        "252 2.3.3 try RCPT to attempt delivery\r\n"
    );
    assert_eq!(c.cmd("RCPT TO:<alice>"), "503 5.5.1 Need MAIL command\r\n");
    assert_eq!(c.cmd("DATA"), "503 5.5.1 No recipients\r\n");
    assert_eq!(c.cmd("FOO"), "500 5.5.2 Syntax error\r\n");
    assert_eq!(
        c.cmd("MAIL FROM: <a@b.c>"),
        "501 5.5.4 Syntax error in parameters\r\n"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@b.c> SIZE=100"), "250 2.1.0 ok\r\n");
    assert_eq!(
        c.cmd("MAIL FROM:<a@b.c>"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    assert_eq!(c.cmd("RCPT TO:<alice>"), "250 2.1.5 ok\r\n");
    let unknown = "550-Mailbox unknown.  Either there is no mailbox associated with this\r\n\
                   550-name or you do not have authorization to see it.\r\n\
                   550 5.1.1 User unknown\r\n";
    assert_eq!(c.cmd("RCPT TO:<nobody>"), unknown);
    assert_eq!(c.cmd("RCPT TO:<>"), unknown);
    assert_eq!(c.cmd("RCPT TO:<user.alice>"), unknown);
    assert_eq!(
        c.cmd("RCPT TO:<alice> NOTIFY=NEVER"),
        "501 5.5.4 Unrecognized parameters\r\n"
    );
    assert_eq!(c.cmd("RCPT TO:<alice+Archive>"), "250 2.1.5 ok\r\n");
    // No `p` for anyone on Private: delivered to the INBOX instead.
    assert_eq!(
        c.cmd("RCPT TO:<ALICE+Private@elsewhere>"),
        "250 2.1.5 ok\r\n"
    );
    assert_eq!(
        c.cmd("RCPT TO:<bob+nosuch> IGNOREQUOTA"),
        "250 2.1.5 ok\r\n"
    );
    assert_eq!(c.cmd("DATA"), "354 go ahead\r\n");
    c.send(b"Subject: hi\r\nReturn-Path: <forged@x>\r\n\r\n..dot\nbare lf\r\n.\r\n");
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(c.line());
    }
    for r in &replies {
        assert!(
            r.starts_with("250 2.1.5 Success SESSIONID=<test-server-"),
            "{r}"
        );
    }
    let rset = c.cmd("RSET");
    assert!(rset.starts_with("250 2.0.0 Ok SESSIONID=<"), "{rset}");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 bye\r\n");
    assert_eq!(c.rest(), "");

    let store = env.store();
    let inbox = messages(&store, "user.alice");
    // alice and alice+Private both land in the INBOX: one copy (duplicate suppression).
    assert_eq!(inbox.len(), 1);
    assert_eq!(messages(&store, "user.alice.Archive").len(), 1);
    assert_eq!(messages(&store, "user.alice.Private").len(), 0);
    assert_eq!(messages(&store, "user.bob").len(), 1);
    let text = String::from_utf8(inbox[0].clone()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "Return-Path: <a@b.c>");
    assert_eq!(
        lines[1],
        "Received: from client.example (localhost [127.0.0.1])"
    );
    assert!(
        lines[2].starts_with("\t by test-server (Cyrus 3.6.1"),
        "{text}"
    );
    assert!(lines[2].ends_with(") with LMTPA;"), "{text}");
    assert!(
        lines[3].starts_with("\t ") && lines[3].ends_with(" +0000"),
        "{text}"
    );
    assert!(lines[4].starts_with("X-Cyrus-Session-Id: test-server-"));
    assert_eq!(lines[5], "X-Sieve: CMU Sieve 3.0");
    assert_eq!(lines[6], "Subject: hi");
    assert!(lines[7].starts_with("Message-ID: <cmu-lmtpd-") && lines[7].ends_with("@test-server>"));
    assert!(lines[8].starts_with("Date: "));
    assert_eq!(&lines[9..], &["", ".dot", "bare lf", ""]);
    assert!(!text.contains("forged"));

    let log = env.sync_log();
    for name in ["user.alice", "user.alice.Archive", "user.bob"] {
        let a = log.iter().position(|l| *l == format!("APPEND {name}"));
        let m = log.iter().rposition(|l| *l == format!("MAILBOX {name}"));
        assert!(a.is_some() && m.is_some() && a < m, "{name}: {log:?}");
    }
}

#[test]
fn authentication_required_without_a() {
    let env = env_with_users();
    env.add_user("admin", "adminpw");
    let srv = env.spawn(LMTPD, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    let lhlo = c.cmd("LHLO x");
    assert!(lhlo.contains("250-AUTH PLAIN LOGIN\r\n"), "{lhlo}");
    assert_eq!(c.cmd("MAIL FROM:<a@b>"), "430 Authentication required\r\n");
    assert_eq!(
        c.cmd("AUTH FOO"),
        "504 Unrecognized authentication type.\r\n"
    );
    // "\0admin\0wrong"
    assert_eq!(
        c.cmd("AUTH PLAIN AGFkbWluAHdyb25n"),
        "501 5.5.4 authentication failure\r\n"
    );
    assert_eq!(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    assert_eq!(c.cmd("*"), "501 5.5.4 client canceled authentication\r\n");
    assert_eq!(c.cmd("AUTH PLAIN"), "334 \r\n");
    assert_eq!(c.cmd("AGFkbWluAGFkbWlucHc="), "235 Authenticated!\r\n");
    assert_eq!(c.cmd("AUTH PLAIN"), "503 5.5.0 already authenticated\r\n");
    let lhlo = c.cmd("LHLO x");
    assert!(!lhlo.contains("AUTH"), "{lhlo}");
    assert_eq!(c.cmd("MAIL FROM:<a@b>"), "250 2.1.0 ok\r\n");
    assert_eq!(c.cmd("RCPT TO:<bob>"), "250 2.1.5 ok\r\n");
    assert_eq!(c.cmd("DATA"), "354 go ahead\r\n");
    let r = c.cmd("Subject: s\r\n\r\nx\r\n.");
    assert!(r.starts_with("250 2.1.5 Success"), "{r}");
    let store = env.store();
    let m = String::from_utf8(messages(&store, "user.bob")[0].clone()).unwrap();
    assert!(m.contains(") with LMTPA;\r\n"), "{m}");
    drop(srv);

    // soft_noauth: no gives 530.
    let env = Env::new("soft_noauth: no\nallowplaintext: no");
    let srv = env.spawn(LMTPD, &[]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    let lhlo = c.cmd("LHLO x");
    assert!(
        !lhlo.contains("AUTH"),
        "no plaintext mechanisms without TLS: {lhlo}"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@b>"), "530 Authentication required\r\n");
}

#[test]
fn unix_socket_is_preauthorised() {
    let env = env_with_users();
    let path = env.root().join("lmtp.sock");
    let path_s = path.to_str().unwrap().to_owned();
    let _srv = env.spawn_at(LMTPD, &path_s, &[]);
    let t = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&path).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = python(
        r#"
import smtplib, sys
s = smtplib.LMTP(sys.argv[1])
s.ehlo("unixclient")
print(s.esmtp_features.get("auth"))
r = s.sendmail("from@x", ["alice", "bob"], b"Subject: unix\r\n\r\nbody\r\n")
print(r)
s.quit()
"#,
        &[&path_s],
    );
    assert_eq!(out, " EXTERNAL\n{}\n");
    let store = env.store();
    let m = String::from_utf8(messages(&store, "user.alice")[0].clone()).unwrap();
    assert!(
        m.contains("Received: from unixclient ([unix socket])\r\n"),
        "{m}"
    );
}

#[test]
fn smtplib_lmtp_deliveries() {
    let env = env_with_users();
    let srv = env.spawn(LMTPD, &["-a"]);
    let out = python(
        r#"
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.LMTP(host, int(port))
code, msg = s.ehlo("py.example")
assert code == 250, (code, msg)
assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("ignorequota")

def lmtp_send(frm, rcpts, msg, opts=()):
    # smtplib reads one reply after DATA; LMTP sends one per accepted recipient.
    code, resp = s.mail(frm, list(opts))
    assert code == 250, (code, resp)
    accepted, out = [], {}
    for r in rcpts:
        code, resp = s.rcpt(r)
        if code == 250:
            accepted.append(r)
        else:
            out[r] = code
    if not accepted:
        s.rset()
        return out
    code, resp = s.data(msg)
    out[accepted[0]] = code
    for r in accepted[1:]:
        out[r] = s.getreply()[0]
    return out

msg = b"From: x@y\r\nTo: alice\r\nSubject: one\r\nMessage-ID: <m1@py>\r\nDate: Sat, 1 Jan 2000 00:00:00 +0000\r\n\r\n.leading dot\r\nline\r\n"
print("r1", lmtp_send("sender@example.org", ["alice", "bob", "alice+Archive"], msg))
print("r2", lmtp_send("sender@example.org", ["alice", "nosuchuser"], b"Subject: two\r\n\r\nx\r\n"))
print("r3", lmtp_send("s@x", ["ghost"], b"Subject: three\r\n\r\nx\r\n"))
print("r4", lmtp_send("", ["bob"], "Subject: caf\u00e9\r\n\r\nna\u00efve\r\n".encode("utf-8"), ["BODY=8BITMIME"]))
# A plain sendmail with one recipient works as with SMTP.
print("r5", s.sendmail("x@y", ["bob+whatever"], b"Subject: five\r\n\r\n5\r\n"))
s.quit()
"#,
        &[&srv.addr],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "r1 {'alice': 250, 'bob': 250, 'alice+Archive': 250}",
            "r2 {'nosuchuser': 550, 'alice': 250}",
            "r3 {'ghost': 550}",
            "r4 {'bob': 250}",
            "r5 {}",
        ]
    );

    let store = env.store();
    let alice = messages(&store, "user.alice");
    assert_eq!(alice.len(), 2);
    assert_eq!(messages(&store, "user.bob").len(), 3);
    let a0 = String::from_utf8(alice[0].clone()).unwrap();
    assert!(a0.starts_with("Return-Path: <sender@example.org>\r\nReceived: from py.example"));
    assert!(a0.contains("\r\nMessage-ID: <m1@py>\r\n") && !a0.contains("cmu-lmtpd"));
    assert!(a0.ends_with("\r\n\r\n.leading dot\r\nline\r\n"), "{a0}");
    assert_eq!(messages(&store, "user.alice.Archive").len(), 1);
    let bob = messages(&store, "user.bob");
    let b1 = String::from_utf8(bob[1].clone()).unwrap();
    assert!(b1.starts_with("Return-Path: <>\r\n"), "{b1}");
    // 8-bit in the header is munged to X (munge8bit), the body is kept.
    assert!(
        b1.contains("Subject: cafXX\r\n") && b1.ends_with("na\u{ef}ve\r\n"),
        "{b1}"
    );
    // Same GUID for alice and bob's first message: one body, linked per user.
    let recs = store
        .records(&types::MboxName::new("user.alice").unwrap())
        .unwrap();
    let brecs = store
        .records(&types::MboxName::new("user.bob").unwrap())
        .unwrap();
    assert_eq!(recs[0].guid, brecs[0].guid);
}

#[test]
fn lmtptest_delivers() {
    if !std::path::Path::new("/usr/lib/cyrus/bin/lmtptest").exists() {
        eprintln!("lmtptest not installed; skipping");
        return;
    }
    let env = env_with_users();
    env.add_user("admin", "adminpw");
    let srv = env.spawn(LMTPD, &[]);
    let script = env.root().join("script");
    std::fs::write(
        &script,
        "MAIL FROM:<x@y>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\nSubject: lmtptest\r\n\r\nhello\r\n.\r\nQUIT\r\n",
    )
    .unwrap();
    let out = std::process::Command::new("timeout")
        .args(["20", "/usr/lib/cyrus/bin/lmtptest", "-p"])
        .arg(srv.port().to_string())
        .args(["-a", "admin", "-w", "adminpw", "-m", "PLAIN", "-f"])
        .arg(&script)
        .arg("127.0.0.1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("S: 235 Authenticated!"), "{text}");
    assert!(text.contains("Authenticated."), "{text}");
    assert_eq!(
        text.matches("250 2.1.5 Success SESSIONID=<").count(),
        2,
        "{text}"
    );
    assert!(text.contains("221 2.0.0 bye"), "{text}");
    let store = env.store();
    for u in ["user.alice", "user.bob"] {
        let m = messages(&store, u);
        assert_eq!(m.len(), 1);
        let s = String::from_utf8(m[0].clone()).unwrap();
        assert!(
            s.contains("Received: from lmtptest (localhost [127.0.0.1])"),
            "{s}"
        );
        assert!(s.contains("\r\nSubject: lmtptest\r\n") && s.ends_with("\r\n\r\nhello\r\n"));
    }
}

#[test]
fn starttls_then_auth_and_deliver() {
    let env = env_with_users();
    env.add_user("admin", "adminpw");
    let cert = env.root().join("cert.pem");
    let key = env.root().join("key.pem");
    let Ok(st) = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg("/CN=test-server")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
    else {
        eprintln!("openssl not available; skipping");
        return;
    };
    assert!(st.status.success());
    let mut text = std::fs::read_to_string(&env.conf).unwrap();
    text = text.replace("allowplaintext: yes", "allowplaintext: no");
    text.push_str(&format!(
        "tls_server_cert: {}\ntls_server_key: {}\n",
        cert.display(),
        key.display()
    ));
    std::fs::write(&env.conf, text).unwrap();
    let srv = env.spawn(LMTPD, &[]);
    let out = python(
        r#"
import smtplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.LMTP(host, int(port))
s.ehlo("tls.example")
print(s.has_extn("starttls"), s.has_extn("auth"))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
print(s.starttls(context=ctx)[0])
s.ehlo("tls.example")
print(s.has_extn("starttls"), s.esmtp_features.get("auth"))
print(s.login("admin", "adminpw")[0])
print(s.sendmail("a@b", ["alice"], b"Subject: tls\r\n\r\nsecret\r\n"))
s.quit()
"#,
        &[&srv.addr],
    );
    assert_eq!(out, "True False\n220\nFalse  PLAIN LOGIN\n235\n{}\n");
    let m = String::from_utf8(messages(&env.store(), "user.alice")[0].clone()).unwrap();
    assert!(m.contains(") with LMTPSA;\r\n"), "{m}");
}

#[test]
fn shared_mailbox_needs_post_right() {
    let env = env_with_users();
    env.create(&["shared", "shared.closed", "hidden"]);
    let store = env.store();
    for (name, acl) in [
        ("shared", "anyone\tp\t"),
        ("shared.closed", "anyone\tlr\t"),
        ("hidden", "admin\tlrswipkxtecdan\t"),
    ] {
        store
            .set_acl(&types::MboxName::new(name).unwrap(), acl)
            .unwrap();
    }
    let srv = env.spawn(LMTPD, &["-a"]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    c.cmd("LHLO x");
    c.cmd("MAIL FROM:<a@b>");
    assert_eq!(c.cmd("RCPT TO:<+shared>"), "250 2.1.5 ok\r\n");
    assert_eq!(
        c.cmd("RCPT TO:<+shared/closed>"),
        "550-You do not have permission to post a message to this mailbox.\r\n\
         550-Please contact the owner of this mailbox in order to submit\r\n\
         550-your message, or postmaster if you believe you\r\n\
         550-received this message in error.\r\n\
         550 5.7.1 Permission denied\r\n"
    );
    assert!(
        c.cmd("RCPT TO:<+hidden>")
            .ends_with("550 5.1.1 User unknown\r\n")
    );
    c.cmd("DATA");
    assert!(
        c.cmd("Subject: s\r\n\r\nx\r\n.")
            .starts_with("250 2.1.5 Success")
    );
    assert_eq!(messages(&env.store(), "shared").len(), 1);
    assert!(env.sync_log().contains(&"APPEND shared".to_owned()));
}
