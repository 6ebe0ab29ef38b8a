//! Known-answer tests from csync §2.9, §4.7, §5.7, §10.2 and the command/response framing
//! rules of §1.4, §1.9, §6.1.
#![allow(clippy::unwrap_used)]

use csync_proto::cmd::{ApplyCommand, MailboxApply, Quota, ResponseData};
use csync_proto::{
    Command, CommandLine, CommandParser, DValue, FileRef, Flavour, Keyed, MemorySink, NoFiles,
    ParseLimits, Parsed, Response, ResponseParser, ResultCode, Role, Serializer, StatusKind,
    to_vec,
};
use types::Guid;

fn parse_cmds(input: &[u8], sink: &mut MemorySink) -> (Vec<CommandLine>, usize) {
    let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
    let mut out = Vec::new();
    let (mut pos, mut last_complete) = (0, 0);
    while pos < input.len() {
        let (n, r) = p.feed(&input[pos..], sink).unwrap();
        pos += n;
        match r {
            Parsed::Complete(c) => {
                out.push(c);
                last_complete = pos;
            }
            Parsed::NeedMore => break,
            Parsed::Continuation { .. } => {}
        }
    }
    (out, last_complete)
}

fn one(input: &[u8]) -> Command {
    let (mut v, _) = parse_cmds(input, &mut MemorySink::default());
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0).command
}

fn write_cmd(c: &Command, sink: &MemorySink) -> Vec<u8> {
    let mut out = Vec::new();
    let mut src = |f: &FileRef, w: &mut dyn std::io::Write| w.write_all(&sink.files[f.0 as usize]);
    c.write_to(&mut out, None, &mut src).unwrap();
    out
}

fn apply(input: &[u8]) -> ApplyCommand {
    match one(input) {
        Command::Apply(k) => ApplyCommand::from_keyed(&k).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn seen_example_2_9() {
    let line = b"APPLY SEEN %(USERID fred UNIQUEID 6b1f3d0e-2c4a-4f7e-9b1d-1f2e3d4c5b6a LASTREAD 1700000300 LASTUID 2 LASTCHANGE 1700000300 SEENUIDS 1:2)\r\n";
    let c = apply(line);
    let ApplyCommand::Seen { userid, seen } = &c else {
        panic!()
    };
    assert_eq!(userid, "fred");
    assert_eq!(seen.lastuid.0, 2);
    assert_eq!(seen.seenuids, "1:2");
    assert_eq!(
        write_cmd(&Command::Apply(c.to_keyed()), &MemorySink::default()),
        line
    );
}

#[test]
fn acl_empty_and_flags_2_9() {
    let v = DValue::KvList(vec![
        (b"ACL".to_vec(), DValue::str("fred\tlrswipkxtecdan\t")),
        (b"OPTIONS".to_vec(), DValue::str("")),
        (
            b"FLAGS".to_vec(),
            DValue::List(vec![
                DValue::Flag(b"\\Seen".to_vec()),
                DValue::str("$Forwarded"),
            ]),
        ),
    ]);
    let want = b"%(ACL \"fred\tlrswipkxtecdan\t\" OPTIONS \"\" FLAGS (\\Seen $Forwarded))";
    assert_eq!(to_vec(&v, Role::Client), want);
    assert_eq!(to_vec(&v, Role::Server), want);
}

#[test]
fn specialuse_forces_literal() {
    let v = DValue::KvList(vec![
        (b"ENTRY".to_vec(), DValue::str("/specialuse")),
        (b"USERID".to_vec(), DValue::str("fred")),
        (b"MODSEQ".to_vec(), DValue::num(4u64)),
        (b"VALUE".to_vec(), DValue::str("\\Sent")),
    ]);
    assert_eq!(
        to_vec(&v, Role::Client),
        b"%(ENTRY /specialuse USERID fred MODSEQ 4 VALUE {5+}\r\n\\Sent)"
    );
    assert_eq!(
        to_vec(&v, Role::Server),
        b"%(ENTRY /specialuse USERID fred MODSEQ 4 VALUE {5}\r\n\\Sent)"
    );
}

#[test]
fn nil_versus_quoted_nil() {
    assert_eq!(to_vec(&DValue::Nil, Role::Client), b"NIL");
    assert_eq!(to_vec(&DValue::str("NIL"), Role::Client), b"\"NIL\"");
    let Command::Apply(k) = one(b"APPLY X (NIL \"NIL\" nil)\r\n") else {
        panic!()
    };
    assert_eq!(
        k.value,
        DValue::List(vec![DValue::Nil, DValue::str("NIL"), DValue::str("nil")])
    );
}

const MSG_A: &[u8] =
    b"From: alice@example.com\r\nTo: fred@example.com\r\nSubject: hello\r\n\r\nHi Fred\r\n";
const MSG_B: &[u8] =
    b"From: bob@example.com\r\nTo: fred@example.com\r\nSubject: again\r\n\r\nHello again\r\n";

#[test]
fn apply_message_two_files_2_9() {
    let mut line = Vec::new();
    line.extend_from_slice(
        b"APPLY MESSAGE (%{default 258554f4f919439e68f0b5fef2ed4eed80fe5660 74}\r\n",
    );
    line.extend_from_slice(MSG_A);
    line.extend_from_slice(b" %{default 6713ac2c9fe1428c12202f33be9044694d7ab876 76}\r\n");
    line.extend_from_slice(MSG_B);
    line.extend_from_slice(b")\r\nEXIT\r\n");
    let mut sink = MemorySink::default();
    let (cmds, _) = parse_cmds(&line, &mut sink);
    assert_eq!(cmds.len(), 2);
    assert_eq!(sink.files, vec![MSG_A.to_vec(), MSG_B.to_vec()]);
    let Command::Apply(k) = &cmds[0].command else {
        panic!()
    };
    let ApplyCommand::Message(files) = ApplyCommand::from_keyed(k).unwrap() else {
        panic!()
    };
    assert_eq!(files.len(), 2);
    for (f, body) in files.iter().zip([MSG_A, MSG_B]) {
        let f = f.as_ref().unwrap();
        assert_eq!(f.guid, Guid::of(body));
        assert_eq!(f.size, body.len() as u64);
    }
    assert_eq!(write_cmd(&cmds[0].command, &sink), line[..line.len() - 6]);
    // NIL in place of a file is tolerated.
    let c =
        apply(b"APPLY MESSAGE (NIL %{default 258554f4f919439e68f0b5fef2ed4eed80fe5660 0}\n)\r\n");
    let ApplyCommand::Message(files) = c else {
        panic!()
    };
    assert!(files[0].is_none() && files[1].as_ref().unwrap().size == 0);
}

fn example_10_2() -> Vec<u8> {
    let text = "APPLY MAILBOX %(UNIQUEID 6b1f3d0e-2c4a-4f7e-9b1d-1f2e3d4c5b6a MBOXNAME user.fred \
SYNC_CRC 966497061 SYNC_CRC_ANNOT 1497743152 LAST_UID 3 HIGHESTMODSEQ 9 \
RECENTUID 3 RECENTTIME 1700000200 LAST_APPENDDATE 1700000150 POP3_LAST_LOGIN 0 \
POP3_SHOW_AFTER 0 UIDVALIDITY 1699990000 PARTITION default \
ACL \"fred\tlrswipkxtecdan\t\" OPTIONS P QUOTAROOT user.fred CREATEDMODSEQ 1 FOLDERMODSEQ 1 \
RECORD (%(UID 1 MODSEQ 5 LAST_UPDATED 1700000000 FLAGS (\\Seen $Forwarded) INTERNALDATE 1699999000 \
SIZE 74 GUID 258554f4f919439e68f0b5fef2ed4eed80fe5660 \
ANNOTATIONS (%(ENTRY /vendor/cmu/cyrus-imapd/savedate USERID \"\" MODSEQ 0 VALUE 1700000000) \
%(ENTRY /vendor/cmu/cyrus-imapd/createdmodseq USERID \"\" MODSEQ 0 VALUE 5))) \
%(UID 2 MODSEQ 7 LAST_UPDATED 1700000100 FLAGS () INTERNALDATE 1700000050 \
SIZE 76 GUID 6713ac2c9fe1428c12202f33be9044694d7ab876 \
ANNOTATIONS (%(ENTRY /comment USERID \"\" MODSEQ 7 VALUE important) \
%(ENTRY /vendor/cmu/cyrus-imapd/savedate USERID \"\" MODSEQ 0 VALUE 1700000100) \
%(ENTRY /vendor/cmu/cyrus-imapd/createdmodseq USERID \"\" MODSEQ 0 VALUE 7))) \
%(UID 3 MODSEQ 9 LAST_UPDATED 1700000200 FLAGS (\\Expunged) INTERNALDATE 1700000150 \
SIZE 73 GUID da3b9d4214bf4878f7ff8abbdae1b6ddeb74259d \
ANNOTATIONS (%(ENTRY /vendor/cmu/cyrus-imapd/savedate USERID \"\" MODSEQ 0 VALUE 1700000150) \
%(ENTRY /vendor/cmu/cyrus-imapd/createdmodseq USERID \"\" MODSEQ 0 VALUE 8)))))\r\n";
    text.as_bytes().to_vec()
}

#[test]
fn apply_mailbox_10_2() {
    let line = example_10_2();
    let c = apply(&line);
    let ApplyCommand::Mailbox {
        local: false,
        mailbox: MailboxApply::Full(m),
    } = &c
    else {
        panic!("{c:?}")
    };
    assert_eq!(m.sync_crc, Some(966497061));
    assert_eq!(m.acl.as_deref(), Some("fred\tlrswipkxtecdan\t"));
    let recs = m.records.as_ref().unwrap();
    assert_eq!(recs.len(), 3);
    assert!(recs[0].flags.system.seen && recs[0].flags.user == ["$Forwarded"]);
    assert_eq!((recs[0].savedate, recs[0].createdmodseq.0), (1700000000, 5));
    assert!(recs[0].annotations.is_empty());
    assert_eq!(recs[1].annotations.len(), 1);
    assert_eq!(recs[1].annotations[0].value, b"important");
    assert!(recs[2].flags.system.expunged);
    assert_eq!(
        write_cmd(&Command::Apply(c.to_keyed()), &MemorySink::default()),
        line
    );
    // LOCAL_ synonym keeps the bit and the key.
    let local = String::from_utf8(line.clone())
        .unwrap()
        .replacen("MAILBOX", "LOCAL_MAILBOX", 1);
    let c = apply(local.as_bytes());
    assert!(matches!(c, ApplyCommand::Mailbox { local: true, .. }));
    assert_eq!(
        write_cmd(&Command::Apply(c.to_keyed()), &MemorySink::default()),
        local.as_bytes()
    );
}

#[test]
fn intermediate_and_missing_fields() {
    let c = apply(b"APPLY MAILBOX %(UNIQUEID 7c2e MBOXNAME user.fred.a MBOXTYPE ei HIGHESTMODSEQ 42 CREATEDMODSEQ 40 FOLDERMODSEQ 42)\r\n");
    let ApplyCommand::Mailbox {
        mailbox: MailboxApply::Intermediate(i),
        ..
    } = &c
    else {
        panic!()
    };
    assert_eq!((i.highestmodseq.0, i.mboxtype.as_str()), (42, "ei"));
    let Command::Apply(k) = one(b"APPLY MAILBOX %(UNIQUEID x MBOXNAME user.fred LAST_UID 1)\r\n")
    else {
        panic!()
    };
    let e = ApplyCommand::from_keyed(&k).unwrap_err();
    assert_eq!(
        e.to_string(),
        "NO IMAP_PROTOCOL_BAD_PARAMETERS Bad parameters"
    );
    let Command::Apply(k) = one(b"APPLY BOGUS x\r\n") else {
        panic!()
    };
    assert_eq!(
        ApplyCommand::from_keyed(&k).unwrap_err().to_string(),
        "NO IMAP_PROTOCOL_ERROR Protocol error"
    );
}

#[test]
fn quota_decoding_3_12() {
    let q = |s: &str| {
        let ApplyCommand::Quota(q) = apply(format!("APPLY QUOTA {s}\r\n").as_bytes()) else {
            panic!()
        };
        q
    };
    let a = q("%(ROOT user.fred LIMIT 4294967295 MESSAGE 5000 MODSEQ 13)");
    assert_eq!((a.limits.storage, a.limits.message), (None, Some(5000)));
    let b = q("%(ROOT user.fred LIMIT 102400 STORAGE 102400 MODSEQ 4)");
    assert_eq!(b.limits.storage, Some(102400));
    assert_eq!(
        to_vec(&b.to_dvalue(), Role::Client),
        b"%(ROOT user.fred LIMIT 102400 STORAGE 102400 MODSEQ 4)"
    );
    let c = q("%(ROOT r LIMIT 10 ANNOTATION-STORAGE 7 MAILBOX 3)");
    assert_eq!(
        (c.limits.annotation_storage, c.limits.num_folders),
        (Some(7), Some(3))
    );
    assert_eq!(
        to_vec(&c.to_dvalue(), Role::Client),
        b"%(ROOT r LIMIT 10 STORAGE 10 X-ANNOTATION-STORAGE 7 X-NUM-FOLDERS 3)"
    );
    let _ = Quota::from_dvalue;
}

#[test]
fn simple_commands_and_recovery() {
    assert_eq!(one(b"\r\n"), Command::Empty);
    assert_eq!(one(b"noop\r\n"), Command::Noop);
    assert!(matches!(
        one(b"NOOP x\r\n"),
        Command::BadArguments { missing: false, .. }
    ));
    assert!(matches!(
        one(b"COMPRESS\r\n"),
        Command::BadArguments { missing: true, .. }
    ));
    assert_eq!(
        one(b"COMPRESS deflate\n"),
        Command::Compress {
            algorithm: b"deflate".to_vec()
        }
    );
    assert_eq!(
        one(b"AUTHENTICATE PLAIN AGFkbWluAHNlY3JldA==\r\n"),
        Command::Authenticate {
            mechanism: b"PLAIN".to_vec(),
            initial_response: Some(b"AGFkbWluAHNlY3JldA==".to_vec())
        }
    );
    // Unknown command with a literal, then a bad APPLY, then a good one: all in sync.
    let input =
        b"FOO bar {3+}\r\na\nb\r\nAPPLY X (a b\r\n {2+}\r\n)\nc)) junk\r\nget user fred\r\nNOOP";
    let (cmds, used) = parse_cmds(input, &mut MemorySink::default());
    assert_eq!(cmds.len(), 3);
    assert_eq!(
        cmds[0].command,
        Command::Unknown {
            word: b"FOO".to_vec()
        }
    );
    assert!(matches!(cmds[1].command, Command::Invalid { .. }));
    assert_eq!(
        cmds[2].command,
        Command::Get(Keyed {
            key: b"USER".to_vec(),
            value: DValue::str("fred")
        })
    );
    assert_eq!(
        &input[used..],
        b"NOOP",
        "pipelined bytes must stay unconsumed"
    );
    assert!(matches!(one(b"APPLY USER\r\n"), Command::Invalid { .. }));
    assert!(matches!(
        one(b"APPLY USER fred \r\n"),
        Command::Invalid { .. }
    ));
}

#[test]
fn sync_literal_is_announced() {
    let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
    let mut sink = MemorySink::default();
    let input = b"APPLY X {3}\r\nabc\r\n";
    let (n, r) = p.feed(input, &mut sink).unwrap();
    assert!(matches!(r, Parsed::Continuation { literal_len: 3 }));
    let (_, r) = p.feed(&input[n..], &mut sink).unwrap();
    let Parsed::Complete(c) = r else { panic!() };
    assert_eq!(
        c.command,
        Command::Apply(Keyed {
            key: b"X".to_vec(),
            value: DValue::str("abc")
        })
    );
}

#[test]
fn limits_and_depth() {
    let mut p = CommandParser::new(
        Flavour::Csync,
        ParseLimits {
            max_literal_in_memory: 10,
            ..Default::default()
        },
    );
    assert!(
        p.feed(b"APPLY X {11+}\r\n", &mut MemorySink::default())
            .is_err()
    );
    let deep: Vec<u8> = b"APPLY X "
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'(', 100_000))
        .collect();
    let c = one(&[deep.as_slice(), b"\r\n"].concat());
    assert!(matches!(c, Command::Invalid { .. }));
}

fn responses(input: &[u8], flavour: Flavour) -> Vec<Response> {
    let mut p = ResponseParser::new(flavour, ParseLimits::default());
    let mut sink = MemorySink::default();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let (n, r) = p.feed(&input[pos..], &mut sink).unwrap();
        pos += n;
        if let Parsed::Complete(r) = r {
            out.push(r);
        }
    }
    out
}

#[test]
fn response_lines() {
    let r = responses(
        b"NO IMAP_PROTOCOL_BAD_PARAMETERS\r\nNO IMAP_SYNC_CHECKSUM Checksum Failure\r\nBYE shutting down\r\n* Fatal error: boom\r\n+ \r\n",
        Flavour::Csync,
    );
    let Response::Status(s) = &r[0] else { panic!() };
    assert_eq!(
        (s.kind, s.code.clone(), s.text.as_slice()),
        (
            StatusKind::No,
            Some(ResultCode::ProtocolBadParameters),
            &b""[..]
        )
    );
    let Response::Status(s) = &r[1] else { panic!() };
    assert_eq!(s.code, Some(ResultCode::SyncChecksum));
    assert!(matches!(&r[2], Response::Status(s) if s.kind == StatusKind::Bye));
    assert_eq!(r[3], Response::Fatal(b"error: boom".to_vec()));
    assert_eq!(r[4], Response::Continuation(Vec::new()));
    let r = responses(b"S3 OK success\r\n* BYE LOGOUT received\r\n", Flavour::Imap);
    assert!(matches!(&r[0], Response::Status(s) if s.tag.as_deref() == Some(&b"S3"[..])));
    assert!(matches!(&r[1], Response::Untagged(s) if s.kind == StatusKind::Bye));
}

#[test]
fn annotation_reply_4_7() {
    let line =
        b"* ANNOTATION %(MBOXNAME user.fred ENTRY /comment USERID \"\" VALUE {9}\r\n100% spam)\r\n";
    let r = responses(line, Flavour::Csync);
    let Response::Data(k) = &r[0] else { panic!() };
    let ResponseData::Annotation(a) = ResponseData::from_keyed(k).unwrap() else {
        panic!()
    };
    assert_eq!(a.value.as_deref(), Some(&b"100% spam"[..]));
    let mut out = Vec::new();
    Response::Data(k.clone())
        .write_to(&mut out, Role::Server, &mut NoFiles)
        .unwrap();
    assert_eq!(out, line);
    let mut out = Vec::new();
    Serializer::new(Role::Client)
        .line(&mut out, b"* ", k, &mut NoFiles)
        .unwrap();
    assert_eq!(
        out,
        String::from_utf8_lossy(line)
            .replace("{9}", "{9+}")
            .as_bytes()
    );
}
