#![allow(clippy::unwrap_used)]
//! The socket session (`server::session::run`) over in-memory connections: greeting,
//! STARTTLS with the banner re-sent over TLS (csync §1.6), COMPRESS DEFLATE (§1.7), EXIT.

use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, StaticPasswords};
use mailstore::{Store, StoreConfig};
use net::{Conn, TlsAcceptor, TlsConnector};
use replication::server::ServerOptions;
use replication::server::session::{SessionConfig, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(dir: &std::path::Path, tls: Option<TlsAcceptor>) -> SessionConfig {
    let store = Arc::new(Store::open(StoreConfig::simple(dir)).unwrap());
    SessionConfig {
        store,
        opts: Arc::new(ServerOptions {
            servername: "replica".into(),
            version: "3.6.1".into(),
            admins: Admins::parse("admin"),
            passwords: Arc::new(StaticPasswords::new().with("admin", b"secret")),
            allow_plaintext: false,
            sasl_mech_list: None,
            tls_available: false,
            offer_compress: true,
            offer_sieve_mailbox: true,
            allow_user_moves: false,
            failed_login_pause: Duration::ZERO,
        }),
        tls,
        idle_timeout: Duration::from_secs(30),
    }
}

/// Read until `buf` ends with a line starting with `stop` (e.g. `* OK`, `OK`).
async fn read_until(c: &mut Conn, stop: &str) -> String {
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if text.ends_with("\r\n") && text.lines().last().is_some_and(|l| l.starts_with(stop)) {
            return text;
        }
        let mut chunk = [0u8; 4096];
        let n = c.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed; got {text:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn send(c: &mut Conn, line: &str) {
    c.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
    c.flush().await.unwrap();
}

fn plain() -> String {
    format!(
        "AUTHENTICATE PLAIN {}",
        auth::b64::encode(b"\0admin\0secret")
    )
}

#[tokio::test]
async fn starttls_then_plain_then_exit() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let acceptor = TlsAcceptor::from_pem_files(&cert, &key).unwrap();
    let connector = TlsConnector::from_ca_file(&cert).unwrap();
    let cfg = config(dir.path(), Some(acceptor));
    let (s, mut c) = Conn::pair();
    let server = tokio::spawn(run(s, cfg));

    // allowplaintext: no — PLAIN is offered only under TLS.
    let banner = read_until(&mut c, "* OK").await;
    assert_eq!(
        banner,
        "* STARTTLS\r\n* COMPRESS DEFLATE\r\n* SIEVE-MAILBOX\r\n* OK replica Cyrus sync server 3.6.1\r\n"
    );
    send(&mut c, &plain()).await;
    assert_eq!(
        read_until(&mut c, "NO").await,
        "NO no mechanism available\r\n"
    );
    send(&mut c, "STARTTLS").await;
    assert_eq!(
        read_until(&mut c, "OK").await,
        "OK Begin TLS negotiation now\r\n"
    );
    c.start_tls_client(&connector, "localhost").await.unwrap();
    let banner = read_until(&mut c, "* OK").await;
    assert_eq!(
        banner,
        "* SASL PLAIN LOGIN\r\n* SIEVE-MAILBOX\r\n* OK replica Cyrus sync server 3.6.1\r\n"
    );
    send(&mut c, "STARTTLS").await;
    assert_eq!(
        read_until(&mut c, "BAD").await,
        "BAD Already did a successful Starttls\r\n"
    );
    send(&mut c, &plain()).await;
    assert_eq!(
        read_until(&mut c, "OK").await,
        "OK Success (tls protection)\r\n"
    );
    send(&mut c, "GET USER nobody").await;
    assert_eq!(read_until(&mut c, "OK").await, "OK success\r\n");
    send(&mut c, "EXIT").await;
    assert_eq!(read_until(&mut c, "OK").await, "OK Finished\r\n");
    let stats = server.await.unwrap().unwrap();
    assert_eq!(stats.commands, 6);
}

#[tokio::test]
async fn compress_deflate_after_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), None);
    let mut o = (*cfg.opts).clone();
    o.allow_plaintext = true;
    cfg.opts = Arc::new(o);
    let (s, mut c) = Conn::pair();
    let server = tokio::spawn(run(s, cfg));
    let banner = read_until(&mut c, "* OK").await;
    assert!(
        banner.starts_with("* SASL PLAIN LOGIN\r\n* COMPRESS DEFLATE\r\n"),
        "{banner}"
    );
    assert!(!banner.contains("STARTTLS"));
    send(&mut c, "STARTTLS").await;
    assert_eq!(
        read_until(&mut c, "BAD").await,
        "BAD IMAP_PROTOCOL_ERROR Unrecognized command\r\n"
    );
    send(&mut c, &plain()).await;
    assert_eq!(
        read_until(&mut c, "OK").await,
        "OK Success (no protection)\r\n"
    );
    send(&mut c, "COMPRESS deflate").await;
    assert_eq!(read_until(&mut c, "OK").await, "OK deflate active\r\n");
    c.start_compress();
    send(&mut c, "APPLY SUB %(USERID fred MBOXNAME user.fred)").await;
    assert_eq!(read_until(&mut c, "OK").await, "OK success\r\n");
    send(&mut c, "GET META fred").await;
    assert_eq!(
        read_until(&mut c, "OK").await,
        "* LSUB (user.fred)\r\nOK success\r\n"
    );
    send(&mut c, "COMPRESS DEFLATE").await;
    assert_eq!(
        read_until(&mut c, "NO").await,
        "NO Compression already active: DEFLATE\r\n"
    );
    send(&mut c, "EXIT").await;
    assert_eq!(read_until(&mut c, "OK").await, "OK Finished\r\n");
    server.await.unwrap().unwrap();
}
