#![allow(clippy::unwrap_used)]
//! A real Cyrus 3.6 master (`sync_try_imap: no`) replicating into our `sync_server`, checked
//! after every step against the master itself.
//!
//! The oracle: the master also runs a Cyrus `sync_server` on its own data. After each step we
//! ask both servers the same csync questions — `GET USER` for every user, `GET FULLMAILBOX` for
//! every mailbox (every record: UID, MODSEQ, flags, INTERNALDATE, SIZE, GUID = SHA-1 of the
//! body, annotations), `GET META`, `GET QUOTA` and `GET ANNOTATION` — and require identical
//! answers (name, uniqueid, UIDVALIDITY, LAST_UID, HIGHESTMODSEQ, ACL, annotations, CRCs,
//! seen, subscriptions, quotas, sieve mailbox). Bodies are also fetched back from our replica
//! with `GET FETCH` and hashed.
//!
//! Skips loudly when /usr/lib/cyrus/bin/sync_client is absent (CI installs it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use csync_proto::cmd::ResponseData;
use csync_proto::{Flavour, MemorySink, ParseLimits, Parsed, Response, ResponseParser, StatusKind};
use testkit::{CyrusInstance, ImapClient, SyncTarget};

const SYNC_CLIENT: &str = "/usr/lib/cyrus/bin/sync_client";
const ADMIN_PW: &str = "adminpw";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Our sync_server on a temporary replica.
struct OurReplica {
    _dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl OurReplica {
    fn start() -> OurReplica {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        for d in ["config", "spool"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let conf = root.join("imapd.conf");
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {r}/config\npartition-default: {r}/spool\n\
                 defaultpartition: default\nservername: ours-replica\nadmins: admin\n\
                 allowplaintext: yes\nsync_log: 0\nfailedloginpause: 0\n",
                r = root.display()
            ),
        )
        .unwrap();
        auth::PasswdFile::new(root.join("config/passwd"))
            .set_password(
                "admin",
                None,
                ADMIN_PW.as_bytes(),
                auth::SetMode::CreateOrReplace,
            )
            .unwrap();
        auth::PasswdFile::new(root.join("config/passwd"))
            .set_password("alice", None, b"alicepw", auth::SetMode::CreateOrReplace)
            .unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = root.join("sync_server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_sync_server"))
            .arg("-C")
            .arg(&conf)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("-D")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "sync_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OurReplica {
            _dir: dir,
            child,
            addr,
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OurReplica {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::Term);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal csync client for asking GET questions.
struct Peer {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    fn connect(addr: SocketAddr) -> Peer {
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut p = Peer {
            sock,
            buf: Vec::new(),
        };
        let mut parser = ResponseParser::new(Flavour::Csync, ParseLimits::default());
        parser.set_banner_mode(true);
        loop {
            match p.next(&mut parser) {
                Response::Untagged(s) if s.kind == StatusKind::Ok => break,
                _ => {}
            }
        }
        let ir = auth::b64::encode(format!("\0admin\0{ADMIN_PW}").as_bytes());
        let st = p.command(&format!("AUTHENTICATE PLAIN {ir}"));
        assert_eq!(st.0.kind, StatusKind::Ok, "{addr} auth: {:?}", st.0);
        let (st, data) = p.command("APPLY CAPABILITIES (SIEVE-MAILBOX)");
        assert_eq!(st.kind, StatusKind::Ok);
        assert_eq!(data.len(), 1);
        p
    }

    fn next(&mut self, parser: &mut ResponseParser) -> Response {
        let mut sink = MemorySink::default();
        loop {
            if !self.buf.is_empty() {
                let (n, r) = parser.feed(&self.buf, &mut sink).unwrap();
                self.buf.drain(..n);
                if let Parsed::Complete(r) = r {
                    return r;
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.sock.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Send a line; return the status and the typed data lines.
    fn command(&mut self, line: &str) -> (csync_proto::StatusLine, Vec<ResponseData>) {
        self.sock.write_all(line.as_bytes()).unwrap();
        self.sock.write_all(b"\r\n").unwrap();
        let mut parser = ResponseParser::new(Flavour::Csync, ParseLimits::default());
        let mut data = Vec::new();
        loop {
            match self.next(&mut parser) {
                Response::Data(k) => data.push(
                    ResponseData::from_keyed(&k)
                        .unwrap_or_else(|e| panic!("bad data line for {line}: {e}")),
                ),
                Response::Status(s) => return (s, data),
                other => panic!("unexpected {other:?} after {line}"),
            }
        }
    }

    fn get(&mut self, line: &str) -> Vec<ResponseData> {
        let (st, data) = self.command(line);
        match st.kind {
            StatusKind::Ok => data.into_iter().map(normalise).collect(),
            _ => vec![],
        }
    }
}

fn atom(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_^#".contains(&b))
    {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Everything csync can see of `users` (and shared mailboxes `extra`), as text lines.
/// The quota MODSEQ moves with usage on a Cyrus master, and a Cyrus client sends QUOTA only
/// when the limits differ, so a Cyrus replica's quota modseq lags too: not compared.
fn normalise(mut d: ResponseData) -> ResponseData {
    if let ResponseData::Quota(q) = &mut d {
        q.modseq = None;
    }
    d
}

fn snapshot(peer: &mut Peer, users: &[&str], extra: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for u in users {
        for d in peer.get(&format!("GET USER {}", atom(u))) {
            if let ResponseData::Mailbox(m) = &d {
                names.push((m.mboxname.to_string(), m.mboxtype.clone()));
            }
            out.push(format!("USER {u}: {d:?}"));
        }
        for d in peer.get(&format!("GET META {}", atom(u))) {
            out.push(format!("META {u}: {d:?}"));
        }
    }
    let list = extra.iter().map(|n| atom(n)).collect::<Vec<_>>().join(" ");
    for d in peer.get(&format!("GET MAILBOXES ({list})")) {
        if let ResponseData::Mailbox(m) = &d {
            names.push((m.mboxname.to_string(), m.mboxtype.clone()));
        }
        out.push(format!("MAILBOXES: {d:?}"));
    }
    // Mailbox annotations are compared inside the MAILBOX lines. (GET ANNOTATION <mailbox> is
    // never sent by a 3.6 client, and a 3.6.1 server with unixhierarchysep answers it with
    // nothing; only the server-level form is used, by rolling ANNOTATION records.)
    for d in peer.get("GET ANNOTATION \"\"") {
        out.push(format!("SERVER ANNOT: {d:?}"));
    }
    for (n, t) in &names {
        if t.as_deref().is_some_and(|t| t.contains(['i', 'd'])) {
            continue;
        }
        for d in peer.get(&format!("GET FULLMAILBOX {}", atom(n))) {
            out.push(format!("FULL {n}: {d:?}"));
        }
        for d in peer.get(&format!("GET QUOTA {}", atom(n))) {
            out.push(format!("QUOTA {n}: {d:?}"));
        }
    }
    out
}

fn compare(master: SocketAddr, ours: SocketAddr, users: &[&str], extra: &[&str]) -> Vec<String> {
    let a = snapshot(&mut Peer::connect(master), users, extra);
    let b = snapshot(&mut Peer::connect(ours), users, extra);
    let mut diffs = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            diffs.push(format!("master: {x:?}\n  ours: {y:?}"));
        }
    }
    if a.is_empty() {
        diffs.push("master reported nothing".into());
    }
    diffs
}

fn assert_same(step: &str, master: SocketAddr, ours: SocketAddr, users: &[&str], extra: &[&str]) {
    let d = compare(master, ours, users, extra);
    assert!(
        d.is_empty(),
        "{step}: replica differs from master:\n{}",
        d.join("\n")
    );
}

fn wait_same(step: &str, master: SocketAddr, ours: SocketAddr, users: &[&str], extra: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = compare(master, ours, users, extra);
        if d.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{step}: replica still differs after 30 s:\n{}",
                d.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Give the master instance a Cyrus sync_server on its own data (the oracle) and, if asked,
/// the rolling sync_client DAEMON; restart it.
fn reconfigure(inst: &mut CyrusInstance, oracle_port: u16, rolling: bool) {
    let path = inst.cyrus_conf();
    let mut cc = std::fs::read_to_string(&path).unwrap();
    let c = inst.imapd_conf();
    let bin = "/usr/lib/cyrus/bin";
    if !cc.contains("oracle") {
        let line = format!(
            "SERVICES {{\n  oracle cmd=\"{bin}/sync_server -C {c}\" listen=\"127.0.0.1:{oracle_port}\" \
             prefork=0 maxchild=10\n",
            c = c.display()
        );
        cc = cc.replacen("SERVICES {\n", &line, 1);
    }
    if rolling && !cc.contains("syncclient") {
        cc.push_str(&format!(
            "DAEMON {{\n  syncclient cmd=\"{bin}/sync_client -C {} -r\"\n}}\n",
            c.display()
        ));
    }
    std::fs::write(&path, cc).unwrap();
    inst.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", oracle_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "oracle sync_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// ManageSieve (RFC 5804) on the master's timsieved: upload `script` for `user` as `name`
/// (the admin acting as the user) and make it active.
fn put_sieve(port: u16, user: &str, name: &str, script: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    let read_ok = |s: &mut TcpStream, buf: &mut Vec<u8>| loop {
        let text = String::from_utf8_lossy(buf).into_owned();
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("OK") || l.starts_with("NO"))
        {
            assert!(line.starts_with("OK"), "managesieve: {text}");
            buf.clear();
            return;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "managesieve closed: {text}");
        buf.extend_from_slice(&chunk[..n]);
    };
    read_ok(&mut s, &mut buf);
    let ir = auth::b64::encode(format!("{user}\0admin\0{ADMIN_PW}").as_bytes());
    write!(s, "AUTHENTICATE \"PLAIN\" \"{ir}\"\r\n").unwrap();
    read_ok(&mut s, &mut buf);
    write!(
        s,
        "PUTSCRIPT \"{name}\" {{{}+}}\r\n{script}\r\n",
        script.len()
    )
    .unwrap();
    read_ok(&mut s, &mut buf);
    write!(s, "SETACTIVE \"{name}\"\r\n").unwrap();
    read_ok(&mut s, &mut buf);
    write!(s, "LOGOUT\r\n").unwrap();
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.org>\r\nTo: someone@example.org\r\nSubject: {subject}\r\n\
         Date: Mon, 01 Jan 2024 12:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn sync_client(inst: &CyrusInstance, args: &[&str]) -> String {
    let out = inst.run_tool_ok("sync_client", args).unwrap();
    let text = format!("{}{}", out.stdout, out.stderr);
    eprintln!("sync_client {args:?}:\n{text}");
    text
}

/// The APPLY commands (other than CAPABILITIES) our server logged after `from`.
fn applies_since(replica: &OurReplica, from: usize) -> Vec<String> {
    replica.log_text()[from..]
        .lines()
        .filter(|l| l.contains("APPLY ") && !l.contains("APPLY CAPABILITIES"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn cyrus_master_replicates_into_our_sync_server() {
    if !Path::new(SYNC_CLIENT).exists() {
        eprintln!(
            "\n*** SKIPPED cyrus_master_replicates_into_our_sync_server: {SYNC_CLIENT} is absent (CI installs Cyrus) ***\n"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let replica = OurReplica::start();
    let users = ["alice", "bob", "carol", "dave"];
    let mut b = CyrusInstance::builder()
        .admin("admin", ADMIN_PW)
        .master(SyncTarget {
            addr: replica.addr,
            authname: "admin".into(),
            password: ADMIN_PW.into(),
        })
        .pop3(false);
    for u in users {
        b = b.user(u, &format!("{u}pw"));
    }
    let mut master = b.start().unwrap();
    let oracle_port = free_port();
    let sieve_port = master.sieve_addr().expect("timsieved").port();
    reconfigure(&mut master, oracle_port, false);
    let oracle: SocketAddr = format!("127.0.0.1:{oracle_port}").parse().unwrap();
    let ours = replica.addr;
    let imap = master.imap_addr();
    let lmtp = master.lmtp_addr();

    // Master state: users with folders, mail, flags, subscriptions, ACL, quota, annotations.
    rt.block_on(async {
        let mut admin = ImapClient::login_to(imap, "admin", ADMIN_PW).await.unwrap();
        for u in users {
            admin.create(&format!("user/{u}")).await.unwrap();
        }
        admin.create("user/alice/Archive").await.unwrap();
        admin.create("user/alice/Archive/2024").await.unwrap();
        admin.create("shared").await.unwrap();
        admin
            .setacl("user/alice/Archive", "bob", "lrs")
            .await
            .unwrap();
        admin
            .raw("SETQUOTA user/alice (STORAGE 100000 MESSAGE 500)")
            .await
            .unwrap()
            .ok()
            .unwrap();
        admin
            .raw("SETMETADATA user/alice/Archive (/shared/comment \"old mail\")")
            .await
            .unwrap()
            .ok()
            .unwrap();
        for (i, u) in users.iter().enumerate() {
            for n in 0..=i {
                let msg = message(&format!("m{n}-{u}"), &format!("body {n} for {u}"));
                testkit::lmtp::deliver_ok(
                    lmtp,
                    "sender@example.org",
                    &[&format!("{u}@example.org")],
                    &msg,
                )
                .await
                .unwrap();
            }
        }
        let mut alice = ImapClient::proxy_to(imap, "alice", "admin", ADMIN_PW)
            .await
            .unwrap();
        alice
            .append("Archive", &["\\Seen"], None, &message("archived", "old"))
            .await
            .unwrap();
        alice.select("INBOX").await.unwrap();
        alice
            .uid_store("1", "+FLAGS", &["\\Flagged", "$Label1"])
            .await
            .unwrap();
        alice.subscribe("INBOX").await.unwrap();
        alice.subscribe("Archive").await.unwrap();
    });

    // sync_client -u
    sync_client(&master, &["-v", "-u", "alice"]);
    assert_same("-u alice", oracle, ours, &["alice"], &[]);

    // sync_client -A (all users)
    sync_client(&master, &["-v", "-A"]);
    assert_same("-A", oracle, ours, &users, &["shared"]);

    // -m: one mailbox after a change there.
    rt.block_on(async {
        let mut bob = ImapClient::proxy_to(imap, "bob", "admin", ADMIN_PW)
            .await
            .unwrap();
        bob.select("INBOX").await.unwrap();
        bob.uid_store("1:*", "+FLAGS", &["\\Answered"])
            .await
            .unwrap();
    });
    // -m takes the external (admin namespace) name.
    sync_client(&master, &["-v", "-m", "user/bob"]);
    assert_same("-m user/bob", oracle, ours, &users, &["shared"]);

    // -s: seen state of a non-owner and subscriptions.
    rt.block_on(async {
        let mut bob = ImapClient::proxy_to(imap, "bob", "admin", ADMIN_PW)
            .await
            .unwrap();
        bob.raw("SELECT \"Other Users/alice/Archive\"")
            .await
            .unwrap();
        bob.raw("UID STORE 1 +FLAGS (\\Seen)").await.unwrap();
        bob.subscribe("Other Users/alice/Archive").await.unwrap();
    });
    sync_client(&master, &["-v", "-s", "bob"]);
    sync_client(&master, &["-v", "-u", "alice"]);
    assert_same("-s bob", oracle, ours, &users, &["shared"]);

    // -z: compression required (our server must negotiate COMPRESS DEFLATE).
    rt.block_on(async {
        let msg = message("compressed", &"z".repeat(100_000));
        testkit::lmtp::deliver_ok(lmtp, "sender@example.org", &["carol@example.org"], &msg)
            .await
            .unwrap();
    });
    sync_client(&master, &["-v", "-z", "-u", "carol"]);
    assert_same("-z -u carol", oracle, ours, &users, &["shared"]);
    assert!(
        replica.log_text().contains("compress"),
        "-z: no compressed session in our log"
    );

    // Rolling replication from master's DAEMON while we change things on the master.
    reconfigure(&mut master, oracle_port, true);
    let imap = master.imap_addr();
    let lmtp = master.lmtp_addr();
    rt.block_on(async {
        for u in ["alice", "dave"] {
            let msg = message(&format!("rolling-{u}"), "rolling");
            testkit::lmtp::deliver_ok(lmtp, "s@example.org", &[&format!("{u}@example.org")], &msg)
                .await
                .unwrap();
        }
    });
    wait_same("rolling: deliver", oracle, ours, &users, &["shared"]);
    rt.block_on(async {
        let mut a = ImapClient::proxy_to(imap, "alice", "admin", ADMIN_PW)
            .await
            .unwrap();
        a.select("INBOX").await.unwrap();
        a.uid_store("1", "+FLAGS", &["\\Deleted", "\\Seen"])
            .await
            .unwrap();
        a.expunge().await.unwrap();
    });
    wait_same(
        "rolling: flags and expunge",
        oracle,
        ours,
        &users,
        &["shared"],
    );
    rt.block_on(async {
        let mut d = ImapClient::proxy_to(imap, "dave", "admin", ADMIN_PW)
            .await
            .unwrap();
        d.create("Projects").await.unwrap();
        d.create("Projects/Sub").await.unwrap();
        d.subscribe("Projects").await.unwrap();
        d.rename("Projects", "Done").await.unwrap();
        d.create("Tmp").await.unwrap();
        d.delete("Tmp").await.unwrap();
        d.unsubscribe("Projects").await.unwrap();
    });
    wait_same(
        "rolling: create rename delete",
        oracle,
        ours,
        &users,
        &["shared"],
    );
    rt.block_on(async {
        let mut ad = ImapClient::login_to(imap, "admin", ADMIN_PW).await.unwrap();
        ad.setacl("user/dave", "alice", "lr").await.unwrap();
        for cmd in [
            "SETQUOTA user/dave (STORAGE 5000)",
            "SETQUOTA user/alice (MESSAGE 900)",
            "SETMETADATA user/dave (/shared/comment \"hello\")",
            "SETMETADATA user/alice/Archive (/shared/comment NIL)",
        ] {
            ad.raw(cmd).await.unwrap().ok().unwrap();
        }
    });
    wait_same(
        "rolling: acl quota annotation",
        oracle,
        ours,
        &users,
        &["shared"],
    );
    rt.block_on(async {
        let mut b = ImapClient::proxy_to(imap, "bob", "admin", ADMIN_PW)
            .await
            .unwrap();
        b.raw("SELECT \"Other Users/alice/Archive\"").await.unwrap();
        b.raw("UID STORE 1 -FLAGS (\\Seen)").await.unwrap();
    });
    wait_same("rolling: seen", oracle, ours, &users, &["shared"]);
    put_sieve(
        sieve_port,
        "carol",
        "main",
        "require \"fileinto\";\r\nif header :contains \"subject\" \"x\" { fileinto \"INBOX\"; }\r\n",
    );
    wait_same("rolling: sieve", oracle, ours, &users, &["shared"]);
    let seen_by_master = snapshot(&mut Peer::connect(oracle), &["carol"], &[]);
    assert!(
        seen_by_master
            .iter()
            .any(|l| l.contains("#sieve") || l.contains("SIEVE")),
        "the sieve script is not visible over csync:\n{}",
        seen_by_master.join("\n")
    );

    // Stop the rolling client; a second -A must only compare.
    std::fs::write(master.sync_shutdown_file(), b"").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let mark = replica.log_text().len();
    assert!(
        replica.log_text().contains("APPLY MAILBOX: OK"),
        "our server logged no APPLY at all"
    );
    sync_client(&master, &["-v", "-A"]);
    assert_same("second -A", oracle, ours, &users, &["shared"]);
    let applied = applies_since(&replica, mark);
    assert!(
        applied.is_empty(),
        "second -A changed the replica:\n{}",
        applied.join("\n")
    );
    master.stop();
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A 50 MB message from a real Cyrus master (compressed, as stock masters do) reaches our
/// replica intact while sync_server's memory stays bounded.
#[test]
fn fifty_megabyte_message_from_cyrus_keeps_memory_bounded() {
    if !Path::new(SYNC_CLIENT).exists() {
        eprintln!(
            "\n*** SKIPPED fifty_megabyte_message_from_cyrus_keeps_memory_bounded: {SYNC_CLIENT} is absent (CI installs Cyrus) ***\n"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let replica = OurReplica::start();
    let mut master = CyrusInstance::builder()
        .admin("admin", ADMIN_PW)
        .master(SyncTarget {
            addr: replica.addr,
            authname: "admin".into(),
            password: ADMIN_PW.into(),
        })
        .user("big", "bigpw")
        .pop3(false)
        .start()
        .unwrap();
    let oracle_port = free_port();
    reconfigure(&mut master, oracle_port, false);
    let oracle: SocketAddr = format!("127.0.0.1:{oracle_port}").parse().unwrap();
    let mut body = String::with_capacity(50 << 20);
    let mut i = 0u64;
    while body.len() < 50 << 20 {
        body.push_str(&format!(
            "{i:08} the quick brown fox jumps over the lazy dog {}\r\n",
            i * 7919 % 104729
        ));
        i += 1;
    }
    let (imap, lmtp) = (master.imap_addr(), master.lmtp_addr());
    rt.block_on(async {
        let mut admin = ImapClient::login_to(imap, "admin", ADMIN_PW).await.unwrap();
        admin.create("user/big").await.unwrap();
        testkit::lmtp::deliver_ok(
            lmtp,
            "s@example.org",
            &["big@example.org"],
            &message("big", &body),
        )
        .await
        .unwrap();
    });
    drop(body);
    let before = peak_rss_kib(replica.child.id());
    sync_client(&master, &["-v", "-u", "big"]);
    assert_same("-u big", oracle, replica.addr, &["big"], &[]);
    let after_sync = peak_rss_kib(replica.child.id());
    eprintln!("sync_server peak RSS: {before} KiB before, {after_sync} KiB after a 50 MB message");
    // Most of this is one password check (argon2id, m = 19 MiB, auth crate); the message
    // itself adds nothing measurable (see crates/replication/tests/big_message.rs).
    assert!(
        after_sync < 40 * 1024,
        "sync_server peak RSS {after_sync} KiB"
    );
    // The body comes back byte-identical (GET FETCH streams it from the file).
    let mut peer = Peer::connect(replica.addr);
    let full = peer.get("GET FULLMAILBOX user.big");
    let Some(ResponseData::Mailbox(m)) = full.first() else {
        panic!("no mailbox: {full:?}");
    };
    let rec = &m.records.as_ref().unwrap()[0];
    assert!(rec.size > 50 << 20);
    let fetched = peer.command(&format!(
        "GET FETCH %(MBOXNAME user.big PARTITION default UNIQUEID {} GUID {} UID {})",
        m.uniqueid.as_str(),
        rec.guid.to_hex(),
        rec.uid.0
    ));
    assert_eq!(fetched.0.kind, StatusKind::Ok);
    assert!(
        matches!(&fetched.1[..], [ResponseData::Message(Some(f))] if f.size == u64::from(rec.size))
    );
    master.stop();
}

/// utime + stime of a process, in milliseconds (assumes 100 clock ticks per second).
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) * 10
}

/// Timing, not correctness (run with `--ignored --nocapture`): `sync_client -A` of a corpus
/// from a Cyrus master into our sync_server and into a Cyrus replica, then a second `-A` with
/// nothing to do. Users/messages from `CORPUS_USERS`/`CORPUS_MESSAGES` (default 5 × 200).
#[test]
#[ignore]
fn full_sync_timing_against_cyrus_replica() {
    if !Path::new(SYNC_CLIENT).exists() {
        eprintln!(
            "\n*** SKIPPED full_sync_timing_against_cyrus_replica: {SYNC_CLIENT} is absent ***\n"
        );
        return;
    }
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let spec = testkit::CorpusSpec::new(env("CORPUS_USERS", 5), env("CORPUS_MESSAGES", 200));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = OurReplica::start();
    let cyrus_replica = CyrusInstance::builder()
        .admin("admin", ADMIN_PW)
        .replica()
        .pop3(false)
        .start()
        .unwrap();
    let mut results = Vec::new();
    for (label, target) in [
        ("ours", ours.addr),
        ("cyrus", cyrus_replica.sync_addr().unwrap()),
    ] {
        let mut b = CyrusInstance::builder()
            .admin("admin", ADMIN_PW)
            .master(SyncTarget {
                addr: target,
                authname: "admin".into(),
                password: ADMIN_PW.into(),
            })
            .pop3(false);
        for u in spec.user_names() {
            b = b.user(&u, "pw");
        }
        let mut master = b.start().unwrap();
        let n = rt
            .block_on(spec.load_imap(master.imap_addr(), "admin", ADMIN_PW))
            .unwrap();
        let t = Instant::now();
        sync_client(&master, &["-A"]);
        let full = t.elapsed();
        let t = Instant::now();
        sync_client(&master, &["-A"]);
        let noop = t.elapsed();
        let cpu = if label == "ours" {
            format!(", sync_server CPU {} ms", cpu_ms(ours.child.id()))
        } else {
            String::new()
        };
        results.push(format!(
            "{label}: {n} messages, -A {full:?}, second -A {noop:?}{cpu}"
        ));
        master.stop();
    }
    eprintln!("{}", results.join("\n"));
}
