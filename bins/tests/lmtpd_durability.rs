//! lmtpd durability, scale and robustness: an acknowledged delivery survives SIGKILL; one
//! body for 100 recipients is stored once per user and every fsync happens before the first
//! 250 (checked with strace); quota and size limits; malformed input.

#![allow(clippy::unwrap_used)]

#[path = "lmtp_pop_support/mod.rs"]
mod support;

use std::path::Path;

use support::{Client, Env, messages};
use types::MboxName;

const LMTPD: &str = env!("CARGO_BIN_EXE_lmtpd");

fn session(addr: &str) -> Client {
    let mut c = Client::connect(addr);
    c.line();
    c.cmd("LHLO test");
    c
}

#[test]
fn killed_after_ack_loses_nothing() {
    let env = Env::new("");
    env.create(&["user.alice"]);
    for round in 0..5 {
        let mut srv = env.spawn(LMTPD, &["-a"]);
        let mut c = session(&srv.addr);
        assert_eq!(c.cmd("MAIL FROM:<a@b>"), "250 2.1.0 ok\r\n");
        assert_eq!(c.cmd("RCPT TO:<alice>"), "250 2.1.5 ok\r\n");
        assert_eq!(c.cmd("DATA"), "354 go ahead\r\n");
        let body = format!(
            "Subject: round {round}\r\n\r\n{}\r\n.\r\n",
            "x".repeat(5000)
        );
        c.send(body.as_bytes());
        let r = c.line();
        assert!(r.starts_with("250 2.1.5 Success"), "{r}");
        // No QUIT: kill the server the moment the 250 arrived.
        srv.kill();
        let store = env.store();
        let m = messages(&store, "user.alice");
        assert_eq!(m.len(), round + 1);
        let last = String::from_utf8(m[round].clone()).unwrap();
        assert!(last.contains(&format!("Subject: round {round}\r\n")));
        assert!(last.ends_with(&format!("{}\r\n", "x".repeat(5000))));
        assert!(env.sync_log().contains(&"APPEND user.alice".to_owned()));
    }
}

/// Files under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hundred_recipients_one_body_per_user_fsynced_before_ack() {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("strace not installed; skipping");
        return;
    }
    let env = Env::new("");
    let users: Vec<String> = (0..100).map(|i| format!("u{i:03}")).collect();
    let mut names: Vec<String> = users.iter().map(|u| format!("user.{u}")).collect();
    names.push("user.u000.Work".to_owned());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    env.create(&refs);
    env.store()
        .set_acl(
            &MboxName::new("user.u000.Work").unwrap(),
            "u000\tlrswipkxtecdan\tanyone\tp\t",
        )
        .unwrap();

    let mut srv = env.spawn(LMTPD, &["-a"]);
    let addr = srv.addr.clone();
    // Attach strace to the running server (all its threads); it exits with the server.
    let trace = env.root().join("strace.out");
    let attach_log = env.root().join("strace.err");
    let mut tracer = std::process::Command::new("strace")
        .args([
            "-f",
            "-y",
            "-s",
            "40",
            "-e",
            "trace=fsync,fdatasync,write,sendto,writev",
        ])
        .arg("-o")
        .arg(&trace)
        .arg("-p")
        .arg(srv.child.id().to_string())
        .stderr(std::fs::File::create(&attach_log).unwrap())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while !std::fs::read_to_string(&attach_log)
        .unwrap_or_default()
        .contains("attached")
    {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "strace did not attach"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut c = session(&addr);
    assert_eq!(c.cmd("MAIL FROM:<bulk@example.org>"), "250 2.1.0 ok\r\n");
    let mut rcpts: Vec<String> = users.clone();
    rcpts.push("u000+Work".to_owned());
    for r in &rcpts {
        assert_eq!(c.cmd(&format!("RCPT TO:<{r}>")), "250 2.1.5 ok\r\n", "{r}");
    }
    assert_eq!(c.cmd("DATA"), "354 go ahead\r\n");
    c.send(b"Subject: bulk\r\n\r\nsame body for everyone\r\n.\r\n");
    for _ in &rcpts {
        let r = c.line();
        assert!(r.starts_with("250 2.1.5 Success"), "{r}");
    }
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 bye\r\n");
    srv.kill();
    let _ = tracer.wait();

    let store = env.store();
    let first = store.records(&MboxName::new("user.u000").unwrap()).unwrap()[0].guid;
    for u in &users {
        let recs = store
            .records(&MboxName::new(format!("user.{u}")).unwrap())
            .unwrap();
        assert_eq!(recs.len(), 1, "{u}");
        assert_eq!(recs[0].guid, first);
        let dir = env.root().join("spool/user").join(u);
        let bodies = files(&dir);
        assert_eq!(bodies.len(), 1, "{u}: {bodies:?}");
    }
    assert_eq!(messages(&store, "user.u000.Work").len(), 1);
    assert!(files(&env.root().join("spool/tmp")).is_empty());
    let log = env.sync_log();
    assert_eq!(log.iter().filter(|l| l.starts_with("APPEND ")).count(), 101);

    // Ordering: every fsync of the delivery (body file, its directories, the sync log, the
    // databases) happens before the first 250 reaches the socket.
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_ack = lines
        .iter()
        .position(|l| l.contains("250 2.1.5 Success"))
        .expect("no 250 write traced");
    let data_start = lines
        .iter()
        .position(|l| l.contains("354 go ahead"))
        .unwrap();
    let syncs: Vec<&&str> = lines[data_start..first_ack]
        .iter()
        .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
        .collect();
    let synced = |what: &str| syncs.iter().any(|l| l.contains(what));
    assert!(
        synced("/spool/tmp/") || synced("/spool/"),
        "body fsync: {syncs:#?}"
    );
    assert!(synced("/config/sync/log"), "sync log fsync: {syncs:#?}");
    assert!(synced("/config/user/"), "user db fsync: {syncs:#?}");
    let quit = lines
        .iter()
        .position(|l| l.contains("221 2.0.0 bye"))
        .unwrap();
    let late: Vec<&&str> = lines[first_ack..quit]
        .iter()
        .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
        .collect();
    assert!(late.is_empty(), "fsync after the first 250: {late:#?}");
}

#[test]
fn quota_and_ignorequota() {
    let env = Env::new("");
    env.create(&["user.bob"]);
    let store = env.store();
    let bob = MboxName::new("user.bob").unwrap();
    store
        .set_quota(
            &bob,
            mailstore::QuotaLimits {
                storage: Some(1),
                ..Default::default()
            },
            None,
        )
        .unwrap();
    let srv = env.spawn(LMTPD, &["-a"]);
    let mut c = session(&srv.addr);
    let big = format!("Subject: big\r\n\r\n{}\r\n.", "y".repeat(3000));
    // Not over yet: one message may exceed the limit (Cyrus checks usage before delivery).
    c.cmd("MAIL FROM:<a@b>");
    assert_eq!(c.cmd("RCPT TO:<bob>"), "250 2.1.5 ok\r\n");
    c.cmd("DATA");
    assert!(c.cmd(&big).starts_with("250 2.1.5 Success"));
    c.cmd("MAIL FROM:<a@b>");
    let r = c.cmd("RCPT TO:<bob>");
    assert!(
        r.starts_with("452 4.2.2 Over quota SESSIONID=<test-server-"),
        "{r}"
    );
    assert_eq!(c.cmd("RCPT TO:<bob> IGNOREQUOTA"), "250 2.1.5 ok\r\n");
    c.cmd("DATA");
    assert!(c.cmd(&big).starts_with("250 2.1.5 Success"));
    assert_eq!(messages(&store, "user.bob").len(), 2);
}

#[test]
fn size_limit() {
    let env = Env::new("maxmessagesize: 2000");
    env.create(&["user.bob"]);
    let srv = env.spawn(LMTPD, &["-a"]);
    let mut c = Client::connect(&srv.addr);
    c.line();
    assert!(c.cmd("LHLO x").contains("\r\n250-SIZE 2000\r\n"));
    assert_eq!(
        c.cmd("MAIL FROM:<a@b> SIZE=3000"),
        "552 5.2.3 Message SIZE exceeds fixed maximum message size (2000)\r\n"
    );
    // As Cyrus, the path is kept although SIZE was refused: the transaction is open.
    assert_eq!(
        c.cmd("MAIL FROM:<a@b> SIZE=100"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    assert_eq!(c.cmd("RCPT TO:<bob>"), "250 2.1.5 ok\r\n");
    c.cmd("DATA");
    let r = c.cmd(&format!("Subject: big\r\n\r\n{}\r\n.", "z".repeat(5000)));
    assert!(
        r.starts_with("552 5.2.3 Message size (")
            && r.ends_with(") exceeds fixed maximum message size (2000)\r\n"),
        "{r}"
    );
    // As Cyrus, the transaction is still open afterwards.
    assert_eq!(
        c.cmd("MAIL FROM:<a@b>"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    assert!(c.cmd("RSET").starts_with("250 2.0.0 Ok"));
    assert!(messages(&env.store(), "user.bob").is_empty());
    assert!(files(&env.root().join("spool/tmp")).is_empty());
}

#[test]
fn malformed_input() {
    let env = Env::new("");
    env.create(&["user.bob"]);
    let srv = env.spawn(LMTPD, &["-a"]);
    let mut c = session(&srv.addr);
    let deliver = |c: &mut Client, msg: &[u8]| -> String {
        assert_eq!(c.cmd("MAIL FROM:<a@b>"), "250 2.1.0 ok\r\n");
        assert_eq!(c.cmd("RCPT TO:<bob>"), "250 2.1.5 ok\r\n");
        assert_eq!(c.cmd("RCPT TO:<BOB>"), "250 2.1.5 ok\r\n");
        assert_eq!(c.cmd("DATA"), "354 go ahead\r\n");
        c.send(msg);
        let a = c.line();
        let b = c.line();
        assert_eq!(a, b);
        a
    };
    assert_eq!(
        deliver(&mut c, b"Subject: x\r\n\r\nnul\0here\r\n.\r\n"),
        "554 5.6.0 Message contains NUL characters\r\n"
    );
    assert_eq!(
        deliver(&mut c, b"Bad Header Line\r\n\r\nbody\r\n.\r\n"),
        "554 5.6.0 Message contains invalid header\r\n"
    );
    assert_eq!(
        deliver(&mut c, b"Message-ID: \r\n\r\nbody\r\n.\r\n"),
        "554 5.6.0 Message contains invalid header\r\n"
    );
    // Bare LF everywhere, lone CRs, a dot-stuffed terminator look-alike.
    let r = deliver(&mut c, b"Subject: lf\n\n..\nline\rwith cr\n.\n");
    assert!(r.starts_with("250 2.1.5 Success"), "{r}");
    let m = messages(&env.store(), "user.bob");
    assert_eq!(m.len(), 1, "duplicate recipients get one copy");
    let s = String::from_utf8(m[0].clone()).unwrap();
    assert!(s.contains("\r\nSubject: lf\r\n"), "{s:?}");
    assert!(s.ends_with("\r\n\r\n.\r\nlinewith cr\r\n"), "{s:?}");

    // Garbage commands: every line gets an answer and the session stays usable.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut line = Vec::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 60) as usize;
        for i in 0..len {
            let b = (seed.rotate_left(i as u32 * 7) & 0xff) as u8;
            if b != b'\n' && b != b'\r' {
                line.push(b);
            }
        }
        // Avoid commands with side effects on the connection.
        let lower = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if lower.starts_with("quit")
            || lower.starts_with("data")
            || lower.starts_with("auth ")
            || lower.starts_with("starttls")
        {
            continue;
        }
        line.extend_from_slice(b"\r\n");
        c.send(&line);
        let r = c.reply();
        assert!(
            r.len() >= 5 && r.as_bytes()[..3].iter().all(u8::is_ascii_digit),
            "{r:?}"
        );
    }
    c.cmd("RSET");
    // An over-long line is read in pieces, each answered.
    c.send(&[b'X'; 5000]);
    c.send(b"\r\n");
    assert_eq!(c.reply(), "500 5.5.2 Syntax error\r\n");
    assert_eq!(c.reply(), "500 5.5.2 Syntax error\r\n");
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 ok\r\n");

    // Disconnect in the middle of DATA: nothing delivered, the server keeps serving.
    let before = messages(&env.store(), "user.bob").len();
    let mut d = session(&srv.addr);
    d.cmd("MAIL FROM:<a@b>");
    d.cmd("RCPT TO:<bob>");
    d.cmd("DATA");
    d.send(b"Subject: cut\r\n\r\npartial");
    drop(d);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut e = session(&srv.addr);
    assert_eq!(e.cmd("NOOP"), "250 2.0.0 ok\r\n");
    assert_eq!(messages(&env.store(), "user.bob").len(), before);
}
