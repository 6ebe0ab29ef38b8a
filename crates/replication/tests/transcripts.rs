#![allow(clippy::unwrap_used)]
//! Replays the captured Cyrus 3.6.1 sessions (`../shared/spec/transcripts/`, README there)
//! against our replica core, in recording order on one store (each capture starts from the
//! state the previous ones left), and byte-compares every reply with the real sync_server's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, StaticPasswords};
use mailstore::{Store, StoreConfig};
use replication::server::{ServerOptions, SyncCore};

fn transcripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec/transcripts")
}

/// One connection: the banner, then (client bytes, server bytes) exchanges.
#[derive(Default, Debug)]
struct Conn {
    banner: Vec<u8>,
    steps: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Undo the README's escaping and add the line end.
fn unescape(line: &str) -> Vec<u8> {
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(b.len() + 2);
    let mut i = 0;
    let mut eol: &[u8] = b"\r\n";
    while i < b.len() {
        if b[i] == b'\\' {
            let rest = &b[i + 1..];
            if rest == b"n" {
                eol = b"\n";
                break;
            }
            if rest == b"<no-eol>" {
                eol = b"";
                break;
            }
            if rest.first() == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if rest.first() == Some(&b'x') && rest.len() >= 3 {
                let hex = std::str::from_utf8(&rest[1..3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out.extend_from_slice(eol);
    out
}

fn parse(text: &str) -> Vec<Conn> {
    let mut conns: Vec<Conn> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# connection") && line.ends_with("opened") {
            conns.push(Conn::default());
            continue;
        }
        let (dir, rest) = if let Some(r) = line.strip_prefix("C: ") {
            ('C', r)
        } else if let Some(r) = line.strip_prefix("S: ") {
            ('S', r)
        } else if line == "C:" || line == "S:" {
            (line.as_bytes()[0] as char, "")
        } else {
            continue;
        };
        let c = conns.last_mut().unwrap();
        let bytes = unescape(rest);
        match dir {
            'S' if c.steps.is_empty() => c.banner.extend(bytes),
            'S' => c.steps.last_mut().unwrap().1.extend(bytes),
            _ => match c.steps.last_mut() {
                Some((_, s)) if s.is_empty() => c.steps.last_mut().unwrap().0.extend(bytes),
                _ => c.steps.push((bytes, Vec::new())),
            },
        }
    }
    conns
}

fn options() -> Arc<ServerOptions> {
    Arc::new(ServerOptions {
        servername: "cyrus-replica".into(),
        version: "3.6.1-Debian-3.6.1-4+deb12u5".into(),
        admins: Admins::parse("admin"),
        passwords: Arc::new(StaticPasswords::new().with("admin", b"secret")),
        allow_plaintext: true,
        sasl_mech_list: None,
        tls_available: false,
        // The recording proxy removed this line (transcripts README).
        offer_compress: false,
        offer_sieve_mailbox: true,
        allow_user_moves: false,
        failed_login_pause: Duration::ZERO,
    })
}

fn feed_all(core: &mut SyncCore, mut input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let p = core.feed(input, &mut out).unwrap();
        if let Some(f) = &p.stream {
            f.append_to(&mut out).unwrap();
        }
        input = &input[p.consumed..];
    }
    out
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 3000 {
        format!("{}…", &s[..3000])
    } else {
        s.into_owned()
    }
}

fn replay(store: &Arc<Store>, file: &str) -> usize {
    let mut compared = 0;
    let text = std::fs::read_to_string(transcripts_dir().join(file)).unwrap();
    let imap = file.starts_with("12-");
    for (ci, conn) in parse(&text).into_iter().enumerate() {
        let mut core = if imap {
            SyncCore::imap(store.clone(), options(), "test", "admin", true)
        } else {
            let core = SyncCore::csync(store.clone(), options(), "test", false);
            let mut banner = Vec::new();
            core.banner(&mut banner);
            assert_eq!(
                show(&banner),
                show(&conn.banner),
                "{file} conn {ci}: banner"
            );
            core
        };
        for (si, (client, server)) in conn.steps.iter().enumerate() {
            // The IMAP flavour: only the tagged SYNC… commands are ours (imapd does the rest).
            if imap && !(client[0] == b'S' && client[1].is_ascii_digit()) {
                continue;
            }
            let got = feed_all(&mut core, client);
            compared += 1;
            assert_eq!(
                show(&got),
                show(server),
                "{file} connection {ci} step {si}, client sent:\n{}",
                show(client)
            );
        }
        core.end();
    }
    compared
}

#[test]
fn captured_sessions_replay_byte_for_byte() {
    let dir = transcripts_dir();
    if !dir.exists() {
        panic!("transcripts not found at {}", dir.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::simple(tmp.path())).unwrap());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut compared = 0;
    for f in &files {
        let n = replay(&store, f);
        assert!(n >= 2, "{f}: only {n} exchanges");
        compared += n;
    }
    eprintln!("compared {compared} exchanges");
    // 01–12 hold 86 request/response exchanges.
    assert!(compared >= 80, "{compared} exchanges compared");
    let inbox = types::MboxName::new("user.capuser").unwrap();
    let st = store.mailbox_state(&inbox).unwrap().unwrap();
    assert_eq!(st.header.unwrap().last_uid, types::Uid(7));
}

#[test]
fn transcript_parser_rebuilds_literals() {
    let conns = parse(
        "# connection 1 opened\nS: * OK x\nC: APPLY X {3+}\nC: ab\\\\\nC: )\nS: OK success\n",
    );
    assert_eq!(conns[0].banner, b"* OK x\r\n");
    assert_eq!(conns[0].steps[0].0, b"APPLY X {3+}\r\nab\\\r\n)\r\n");
}
