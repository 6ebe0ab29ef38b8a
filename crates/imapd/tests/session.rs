#![allow(clippy::unwrap_used)]
//! Session tests over an in-memory connection pair: byte-level exchanges with the state
//! machine, without processes or sockets.

use std::sync::Arc;

use auth::StaticPasswords;
use imapd::{Server, serve_conn};
use mailstore::{Store, StoreConfig};
use net::Conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Client {
    conn: Conn,
    buf: Vec<u8>,
}

impl Client {
    async fn line(&mut self) -> String {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=p).collect();
                return String::from_utf8_lossy(&l).into_owned();
            }
            let mut b = [0u8; 4096];
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.conn.read(&mut b))
                    .await
                    .expect("server answered in time")
                    .unwrap();
            assert!(
                n > 0,
                "server closed; had {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&b[..n]);
        }
    }

    /// Send `cmd` (tag `t`), return every line up to and including the tagged one.
    async fn cmd(&mut self, cmd: &str) -> Vec<String> {
        self.conn
            .write_all(format!("t {cmd}\r\n").as_bytes())
            .await
            .unwrap();
        self.conn.flush().await.unwrap();
        let mut out = Vec::new();
        loop {
            let l = self.line().await;
            let done = l.starts_with("t ");
            out.push(l);
            if done {
                return out;
            }
        }
    }
}

async fn setup() -> (tempfile::TempDir, Client, Arc<Server>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::simple(dir.path())).unwrap();
    let pw = StaticPasswords::new()
        .with("admin", b"secret")
        .with("alice", b"pw")
        .with("bob", b"pw");
    let srv = Arc::new(Server::for_tests(store, Arc::new(pw)));
    let (a, b) = Conn::pair();
    tokio::spawn(serve_conn(b, srv.clone()));
    let mut c = Client {
        conn: a,
        buf: Vec::new(),
    };
    assert!(c.line().await.starts_with("* OK [CAPABILITY IMAP4rev1 "));
    (dir, c, srv)
}

async fn login(srv: &Arc<Server>, user: &str, pw: &str) -> Client {
    let (a, b) = Conn::pair();
    tokio::spawn(serve_conn(b, srv.clone()));
    let mut c = Client {
        conn: a,
        buf: Vec::new(),
    };
    c.line().await;
    let r = c.cmd(&format!("LOGIN {user} {pw}")).await;
    assert!(r.last().unwrap().starts_with("t OK [CAPABILITY"), "{r:?}");
    c
}

#[tokio::test]
async fn states_and_errors() {
    let (_d, mut c, _srv) = setup().await;
    assert_eq!(
        c.cmd("SELECT INBOX").await,
        ["t BAD Please login first\r\n"]
    );
    assert_eq!(
        c.cmd("FETCH 1 FLAGS").await,
        ["t BAD Please login first\r\n"]
    );
    let r = c.cmd("LOGIN alice nope").await;
    assert_eq!(r, ["t NO Login failed: authentication failure\r\n"]);
    let r = c.cmd("LOGIN alice pw").await;
    assert!(r[0].contains("User logged in SESSIONID=<"), "{r:?}");
    assert_eq!(
        c.cmd("LOGIN alice pw").await,
        ["t BAD Already logged in\r\n"]
    );
    assert_eq!(
        c.cmd("FETCH 1 FLAGS").await,
        ["t BAD Please select a mailbox first\r\n"]
    );
    assert_eq!(
        c.cmd("SELECT INBOX").await,
        ["t NO Mailbox does not exist\r\n"]
    );
    let r = c.cmd("LOGOUT").await;
    assert_eq!(r, ["* BYE LOGOUT received\r\n", "t OK Completed\r\n"]);
}

#[tokio::test]
async fn select_append_fetch_store_expunge() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    let r = admin.cmd("CREATE user/alice").await;
    assert!(r[0].starts_with("t OK [MAILBOXID ("), "{r:?}");
    let mut c = login(&srv, "alice", "pw").await;
    let r = c.cmd("SELECT INBOX").await;
    assert_eq!(r[0], "* 0 EXISTS\r\n");
    assert_eq!(r[1], "* 0 RECENT\r\n");
    assert!(r.last().unwrap().starts_with("t OK [READ-WRITE]"));
    c.conn
        .write_all(b"t APPEND INBOX (\\Seen) {21}\r\n")
        .await
        .unwrap();
    assert_eq!(c.line().await, "+ go ahead\r\n");
    c.conn
        .write_all(b"Subject: hi\r\n\r\nbody\r\n\r\n")
        .await
        .unwrap();
    let mut lines = vec![c.line().await];
    while !lines.last().unwrap().starts_with("t ") {
        lines.push(c.line().await);
    }
    assert_eq!(lines[0], "* 1 EXISTS\r\n");
    assert!(
        lines.last().unwrap().starts_with("t OK [APPENDUID "),
        "{lines:?}"
    );
    let r = c.cmd("FETCH 1 (UID FLAGS RFC822.SIZE BODY[TEXT])").await;
    assert_eq!(
        r,
        [
            "* 1 FETCH (FLAGS (\\Recent \\Seen) UID 1 RFC822.SIZE 21 BODY[TEXT] {6}\r\n",
            "body\r\n",
            ")\r\n",
            "t OK Completed\r\n"
        ]
    );
    let r = c.cmd("STORE 1 +FLAGS (\\Deleted)").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Recent \\Deleted \\Seen))\r\n");
    // Another session sees the change on NOOP.
    let mut other = login(&srv, "alice", "pw").await;
    let r = other.cmd("EXAMINE INBOX").await;
    assert!(r.last().unwrap().starts_with("t OK [READ-ONLY]"), "{r:?}");
    let r = c.cmd("EXPUNGE").await;
    assert_eq!(r, ["* 1 EXPUNGE\r\n", "t OK Completed\r\n"]);
    let r = other.cmd("NOOP").await;
    assert_eq!(r, ["* 1 EXPUNGE\r\n", "t OK Completed\r\n"]);
    let r = c.cmd("STATUS INBOX (MESSAGES UIDNEXT)").await;
    assert_eq!(r[0], "* STATUS INBOX (MESSAGES 0 UIDNEXT 2)\r\n");
}

#[tokio::test]
async fn acl_controls_access() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    admin.cmd("CREATE user/alice/Shared").await;
    // Admins hold only `la` implicitly (Cyrus): they may not read mail.
    assert_eq!(
        admin.cmd("MYRIGHTS user/alice").await[0],
        "* MYRIGHTS user/alice la\r\n"
    );
    assert_eq!(
        admin.cmd("SELECT user/alice").await,
        ["t NO Permission denied\r\n"]
    );
    let mut bob = login(&srv, "bob", "pw").await;
    let r = bob.cmd("SELECT \"Other Users/alice/Shared\"").await;
    assert_eq!(r, ["t NO Mailbox does not exist\r\n"]);
    assert_eq!(
        admin.cmd("SETACL user/alice/Shared bob lr").await,
        ["t OK Completed\r\n"]
    );
    let r = bob.cmd("EXAMINE \"Other Users/alice/Shared\"").await;
    assert!(r.last().unwrap().starts_with("t OK [READ-ONLY]"), "{r:?}");
    let r = bob.cmd("CREATE \"Other Users/alice/Shared/x\"").await;
    assert_eq!(r, ["t NO Permission denied\r\n"]);
    let r = bob.cmd("GETACL \"Other Users/alice/Shared\"").await;
    assert_eq!(r, ["t NO Permission denied\r\n"]);
    let r = admin.cmd("GETACL user/alice/Shared").await;
    assert_eq!(
        r[0],
        "* ACL user/alice/Shared alice lrswipkxtecdan bob lr\r\n"
    );
    assert_eq!(
        admin.cmd("DELETEACL user/alice/Shared bob").await,
        ["t OK Completed\r\n"]
    );
    let r = bob.cmd("EXAMINE \"Other Users/alice/Shared\"").await;
    assert!(r[0].starts_with("* OK [CLOSED]"), "{r:?}");
    assert_eq!(r[1], "t NO Mailbox does not exist\r\n");
}

#[tokio::test]
async fn literal_limits_and_garbage() {
    let (_d, mut c, _srv) = setup().await;
    c.conn
        .write_all(b"t LOGIN {999999999999}\r\n")
        .await
        .unwrap();
    assert_eq!(c.line().await, "t NO Literal too large\r\n");
    assert_eq!(c.cmd("NOOP").await, ["t OK Completed\r\n"]);
    c.conn.write_all(b"\x00\xff\x01 garbage\r\n").await.unwrap();
    assert!(c.line().await.starts_with("* BAD"));
    assert_eq!(c.cmd("NOOP").await, ["t OK Completed\r\n"]);
    c.conn
        .write_all(b"t LOGIN {5+}\r\nalice {2+}\r\npw\r\n")
        .await
        .unwrap();
    assert!(c.line().await.starts_with("t OK [CAPABILITY"));
    // A line longer than the limit ends the connection with BYE.
    let long = vec![b'a'; 200 * 1024];
    c.conn.write_all(&long).await.unwrap();
    assert_eq!(c.line().await, "* BYE Line too long\r\n");
}

#[tokio::test]
async fn rename_inbox_moves_messages() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    let mut c = login(&srv, "alice", "pw").await;
    for _ in 0..2 {
        c.conn
            .write_all(b"t APPEND INBOX {9+}\r\nSubj: x\r\n")
            .await
            .unwrap();
        c.conn.write_all(b"\r\n").await.unwrap();
        assert!(c.line().await.starts_with("t OK [APPENDUID"));
    }
    assert_eq!(c.cmd("RENAME INBOX Old").await, ["t OK Completed\r\n"]);
    let r = c.cmd("STATUS INBOX (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS INBOX (MESSAGES 0)\r\n");
    let r = c.cmd("STATUS Old (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS Old (MESSAGES 2)\r\n");
    assert_eq!(
        c.cmd("RENAME INBOX Old").await,
        ["t NO Mailbox already exists\r\n"]
    );
}

/// Random, mostly well-formed commands with random arguments in every state: each gets a
/// tagged answer and the session survives (no panic, no hang).
#[tokio::test]
async fn random_commands_never_break_the_session() {
    use rand::{Rng, SeedableRng};
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    admin.cmd("CREATE user/alice/Sub").await;
    let mut c = login(&srv, "alice", "pw").await;
    c.cmd("APPEND INBOX {14+}\r\nSubject: x\r\n\r\n").await;
    let verbs = [
        "NOOP",
        "CAPABILITY",
        "SELECT",
        "EXAMINE",
        "FETCH",
        "UID FETCH",
        "STORE",
        "UID STORE",
        "SEARCH",
        "UID SEARCH",
        "COPY",
        "MOVE",
        "UID EXPUNGE",
        "EXPUNGE",
        "STATUS",
        "LIST",
        "LSUB",
        "CREATE",
        "DELETE",
        "RENAME",
        "SUBSCRIBE",
        "GETACL",
        "SETACL",
        "MYRIGHTS",
        "LISTRIGHTS",
        "GETQUOTA",
        "GETQUOTAROOT",
        "SETQUOTA",
        "GETMETADATA",
        "SETMETADATA",
        "ENABLE",
        "ID",
        "NAMESPACE",
        "UNSELECT",
        "CLOSE",
        "CHECK",
        "APPEND",
        "XLIST",
    ];
    let args = [
        "1",
        "1:*",
        "*",
        "0",
        "2,3:4",
        "INBOX",
        "Sub",
        "\"Other Users/bob\"",
        "()",
        "(FLAGS)",
        "(BODY[1.MIME] ENVELOPE)",
        "BODY.PEEK[HEADER.FIELDS (A)]<0.1>",
        "+FLAGS",
        "(\\Seen)",
        "ALL",
        "OR",
        "NOT",
        "(",
        ")",
        "\"\"",
        "%",
        "\"*\"",
        "NIL",
        "(STORAGE 1)",
        "lrs",
        "/private/x",
        "(/shared/x \"v\")",
        "CONDSTORE",
        "(MESSAGES UNSEEN)",
        "{3+}\r\nabc",
        "(CHANGEDSINCE 1)",
        "UID",
        "\\Deleted",
        "\u{e9}",
        "x\ty",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for _ in 0..400 {
        let mut cmd = verbs[rng.gen_range(0..verbs.len())].to_owned();
        for _ in 0..rng.gen_range(0..5) {
            cmd.push(' ');
            cmd.push_str(args[rng.gen_range(0..args.len())]);
        }
        let r = c.cmd(&cmd).await;
        let last = r.last().unwrap();
        assert!(
            last.starts_with("t OK") || last.starts_with("t NO") || last.starts_with("t BAD"),
            "{cmd:?} -> {r:?}"
        );
    }
    assert_eq!(c.cmd("NOOP").await.last().unwrap(), "t OK Completed\r\n");
}

#[tokio::test]
async fn condstore_and_qresync() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    let mut c = login(&srv, "alice", "pw").await;
    for _ in 0..3 {
        c.cmd("APPEND INBOX {14+}\r\nSubject: x\r\n\r\n").await;
    }
    let r = c.cmd("ENABLE QRESYNC").await;
    assert_eq!(r[0], "* ENABLED QRESYNC\r\n");
    let r = c.cmd("SELECT INBOX").await;
    let hms: u64 = r
        .iter()
        .find_map(|l| l.strip_prefix("* OK [HIGHESTMODSEQ "))
        .and_then(|l| l.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let uidvalidity: u32 = r
        .iter()
        .find_map(|l| l.strip_prefix("* OK [UIDVALIDITY "))
        .and_then(|l| l.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // Changes after the client's snapshot: a flag on UID 2, UID 3 expunged.
    c.cmd("UID STORE 2 +FLAGS (\\Flagged)").await;
    c.cmd("UID STORE 3 +FLAGS (\\Deleted)").await;
    let r = c.cmd("UID EXPUNGE 3").await;
    assert_eq!(r[0], "* VANISHED 3\r\n");
    c.cmd("UNSELECT").await;
    let r = c
        .cmd(&format!("SELECT INBOX (QRESYNC ({uidvalidity} {hms}))"))
        .await;
    assert!(
        r.contains(&"* VANISHED (EARLIER) 3\r\n".to_owned()),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|l| l.starts_with("* 2 FETCH (FLAGS (\\Flagged) UID 2 MODSEQ (")),
        "{r:?}"
    );
    assert!(!r.iter().any(|l| l.starts_with("* 1 FETCH")), "{r:?}");
    let r = c
        .cmd(&format!(
            "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)"
        ))
        .await;
    assert_eq!(r[0], "* VANISHED (EARLIER) 3\r\n", "{r:?}");
    assert!(
        r[1].starts_with("* 2 FETCH (FLAGS (\\Flagged) UID 2 MODSEQ ("),
        "{r:?}"
    );
    let r = c
        .cmd("UID STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)")
        .await;
    assert_eq!(r.last().unwrap(), "t OK [MODIFIED 1] Completed\r\n");
    let r = c.cmd("STATUS INBOX (HIGHESTMODSEQ)").await;
    assert!(r[0].starts_with("* STATUS INBOX (HIGHESTMODSEQ "), "{r:?}");
}

/// `altnamespace: no`, `unixhierarchysep: no`: the standard namespace with `.`, and a `.`
/// typed by the user is a hierarchy separator.
#[tokio::test]
async fn standard_namespace_with_dots() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::simple(dir.path())).unwrap();
    let pw = StaticPasswords::new()
        .with("admin", b"secret")
        .with("alice", b"pw");
    let mut srv = Server::for_tests(store, Arc::new(pw));
    srv.ns.alt = false;
    srv.ns.unix_sep = false;
    let srv = Arc::new(srv);
    let mut admin = login(&srv, "admin", "secret").await;
    admin.cmd("CREATE user.alice").await;
    let mut c = login(&srv, "alice", "pw").await;
    assert_eq!(
        c.cmd("CREATE INBOX.Sub").await.last().unwrap().get(..4),
        Some("t OK")
    );
    let r = c.cmd("LIST \"\" *").await;
    assert_eq!(
        r,
        [
            "* LIST (\\HasChildren) \".\" INBOX\r\n",
            "* LIST (\\HasNoChildren) \".\" INBOX.Sub\r\n",
            "t OK Completed\r\n"
        ]
    );
    let r = c.cmd("NAMESPACE").await;
    assert_eq!(
        r[0],
        "* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n"
    );
    let r = admin.cmd("LIST \"\" user.*").await;
    assert_eq!(r[0], "* LIST (\\HasChildren) \".\" user.alice\r\n");
    assert_eq!(r[1], "* LIST (\\HasNoChildren) \".\" user.alice.Sub\r\n");
}

#[tokio::test]
async fn multiappend_is_atomic() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    let mut c = login(&srv, "alice", "pw").await;
    let r = c
        .cmd("APPEND INBOX (\\Seen) {14+}\r\nSubject: a\r\n\r\n (\\Flagged) {14+}\r\nSubject: b\r\n\r\n")
        .await;
    assert!(r.last().unwrap().starts_with("t OK [APPENDUID "), "{r:?}");
    assert!(r.last().unwrap().contains(" 1:2] "), "{r:?}");
    // A bad second message refuses both.
    let r = c
        .cmd("APPEND INBOX {14+}\r\nSubject: c\r\n\r\n {9+}\r\nbad\nline\n")
        .await;
    assert_eq!(r, ["t NO Message contains bare newlines\r\n"]);
    let r = c.cmd("STATUS INBOX (MESSAGES UNSEEN)").await;
    assert_eq!(r[0], "* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n");
}

#[tokio::test]
async fn binary_fetch_decodes_parts() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    let mut c = login(&srv, "alice", "pw").await;
    let msg = "Subject: b\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\
               Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
               caf=C3=A9\r\n--XX\r\nContent-Type: application/octet-stream\r\n\
               Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX--\r\n";
    let r = c
        .cmd(&format!("APPEND INBOX {{{}+}}\r\n{msg}", msg.len()))
        .await;
    assert!(r[0].starts_with("t OK [APPENDUID"), "{r:?}");
    c.cmd("SELECT INBOX").await;
    let r = c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2])").await;
    assert_eq!(r[0], "* 1 FETCH (BINARY[1] {5}\r\n", "{r:?}");
    assert_eq!(r[1], "café BINARY.SIZE[2] 3)\r\n", "{r:?}");
    c.conn
        .write_all(b"t FETCH 1 (BINARY.PEEK[2])\r\n")
        .await
        .unwrap();
    assert_eq!(c.line().await, "* 1 FETCH (BINARY[2] ~{3}\r\n");
    let mut rest = std::mem::take(&mut c.buf);
    while !rest.ends_with(b"t OK Completed\r\n") {
        let mut b = [0u8; 64];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), c.conn.read(&mut b))
            .await
            .expect("answer in time")
            .unwrap();
        assert!(n > 0);
        rest.extend_from_slice(&b[..n]);
    }
    assert!(rest.starts_with(b"\x00\x01\x02)\r\n"), "{rest:?}");
    let r = c.cmd("FETCH 1 (BINARY.PEEK[9])").await;
    assert_eq!(r[0], "* 1 FETCH (BINARY[9] NIL)\r\n");
}

/// Cyrus 3.6.1 (checked against it): an admin may SETMETADATA a shared entry on any mailbox;
/// others need `r` and `w` (not `n`), and `a` for server settings such as `expire`.
#[tokio::test]
async fn setmetadata_shared_rights_as_cyrus() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    for (m, acl) in [("W", "lrw"), ("N", "lrn"), ("R", "lr")] {
        admin.cmd(&format!("CREATE user/alice/{m}")).await;
        admin.cmd(&format!("SETACL user/alice/{m} bob {acl}")).await;
    }
    assert_eq!(
        admin
            .cmd("SETMETADATA user/alice (/shared/comment \"x\")")
            .await,
        ["t OK Completed\r\n"]
    );
    let mut bob = login(&srv, "bob", "pw").await;
    for (m, want) in [
        ("W", "t OK Completed\r\n"),
        ("N", "t NO Permission denied\r\n"),
        ("R", "t NO Permission denied\r\n"),
    ] {
        let r = bob
            .cmd(&format!(
                "SETMETADATA \"Other Users/alice/{m}\" (/shared/comment \"y\")"
            ))
            .await;
        assert_eq!(r, [want], "{m}");
    }
    let r = bob
        .cmd("SETMETADATA \"Other Users/alice/W\" (/shared/vendor/cmu/cyrus-imapd/expire \"3\")")
        .await;
    assert_eq!(r, ["t NO Permission denied\r\n"]);
    let r = bob
        .cmd("SETMETADATA \"Other Users/alice/R\" (/private/comment \"mine\")")
        .await;
    assert_eq!(r, ["t OK Completed\r\n"]);
}

/// Found by bins/tests/sync_server_interop.rs comparing with Cyrus 3.6.1: the admin reads
/// mailbox annotations without `r` ("Admins can do anything", annotate.c), and `LSUB "" *`
/// lists only subscribed names (no unsubscribed parents), while `LSUB "" %` shows the parent
/// `(\Noselect \HasChildren)` in place of a deeper subscription (both checked against Cyrus
/// there).
#[tokio::test]
async fn admin_getmetadata_and_lsub_parents_as_cyrus() {
    let (_d, mut admin, srv) = setup().await;
    admin.cmd("LOGIN admin secret").await;
    admin.cmd("CREATE user/alice").await;
    admin.cmd("CREATE user/alice/Archive").await;
    admin.cmd("CREATE user/bob").await;
    admin.cmd("SETACL user/alice/Archive bob lrs").await;
    admin
        .cmd("SETMETADATA user/alice/Archive (/shared/comment \"old\")")
        .await;
    let r = admin
        .cmd("GETMETADATA user/alice/Archive /shared/comment")
        .await;
    assert_eq!(
        r,
        [
            "* METADATA user/alice/Archive (\"/shared/comment\" \"old\")\r\n",
            "t OK Completed\r\n"
        ]
    );
    let mut bob = login(&srv, "bob", "pw").await;
    bob.cmd("SUBSCRIBE \"Other Users/alice/Archive\"").await;
    assert_eq!(
        bob.cmd("LSUB \"\" *").await,
        [
            "* LSUB () \"/\" \"Other Users/alice/Archive\"\r\n",
            "t OK Completed\r\n"
        ]
    );
    let r = bob.cmd("LSUB \"\" \"Other Users/%\"").await;
    assert_eq!(
        r,
        [
            "* LSUB (\\Noselect \\HasChildren) \"/\" \"Other Users/alice\"\r\n",
            "t OK Completed\r\n"
        ]
    );
}

/// Cyrus 3.6.1 (checked against it): GETMETADATA shows the mailbox's unique id as the derived
/// shared entry `/vendor/cmu/cyrus-imapd/uniqueid`; a delayed-delete copy (`DELETED/…`) opens
/// only for admins (others: "Mailbox does not exist"; the admin without `r`: "Permission denied").
#[tokio::test]
async fn uniqueid_entry_and_deleted_copies_as_cyrus() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::simple(dir.path())).unwrap();
    let pw = StaticPasswords::new()
        .with("admin", b"secret")
        .with("alice", b"pw");
    let mut server = Server::for_tests(store, Arc::new(pw));
    server.delete_delayed = true;
    let srv = Arc::new(server);
    let mut admin = login(&srv, "admin", "secret").await;
    admin.cmd("CREATE user/alice").await;
    admin.cmd("CREATE user/alice/Old").await;
    let mut alice = login(&srv, "alice", "pw").await;
    let r = alice.cmd("SELECT Old").await;
    let id = r
        .iter()
        .find_map(|l| l.split("[MAILBOXID (").nth(1))
        .and_then(|x| x.split(')').next())
        .unwrap()
        .to_owned();
    alice.cmd("UNSELECT").await;
    let r = admin
        .cmd("GETMETADATA user/alice/Old (/shared/vendor/cmu/cyrus-imapd/uniqueid)")
        .await;
    assert_eq!(
        r[0],
        format!(
            "* METADATA user/alice/Old (\"/shared/vendor/cmu/cyrus-imapd/uniqueid\" \"{id}\")\r\n"
        )
    );
    assert_eq!(alice.cmd("DELETE Old").await, ["t OK Completed\r\n"]);
    let r = admin.cmd("LIST \"\" \"DELETED/*\"").await;
    let name = r[0].rsplit("\"/\" ").next().unwrap().trim_end().to_owned();
    assert!(name.starts_with("DELETED/user/alice/Old/"), "{r:?}");
    assert_eq!(
        alice
            .cmd(&format!("EXAMINE \"Shared Folders/{name}\""))
            .await,
        ["t NO Mailbox does not exist\r\n"]
    );
    assert_eq!(
        admin.cmd(&format!("EXAMINE {name}")).await,
        ["t NO Permission denied\r\n"]
    );
    let r = admin
        .cmd(&format!(
            "GETMETADATA {name} (/shared/vendor/cmu/cyrus-imapd/uniqueid)"
        ))
        .await;
    assert!(r[0].contains(&format!("\"{id}\"")), "{r:?}");
}
