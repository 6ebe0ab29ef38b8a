//! Parse and serialise throughput for a realistic APPLY MAILBOX (1000 records) and an
//! APPLY MESSAGE carrying 100 × 100 KiB file literals (bodies discarded / copied from memory).
#![allow(clippy::unwrap_used)]

use csync_proto::cmd::{
    Annotation, ApplyCommand, Flags, Mailbox, MailboxApply, MessageFile, Record,
};
use csync_proto::{
    Command, CommandParser, DiscardSink, FileRef, Flavour, Keyed, ParseLimits, Parsed,
};
use divan::counter::BytesCount;
use types::{Guid, MboxName, Modseq, Uid, UidValidity, UniqueId};

fn main() {
    divan::main();
}

const BODY_LEN: usize = 100 * 1024;

fn mailbox_cmd() -> Keyed {
    let records = (1..=1000u32)
        .map(|i| Record {
            uid: Uid(i),
            modseq: Modseq(u64::from(i) + 10),
            last_updated: 1_795_896_059 + u64::from(i),
            flags: Flags {
                system: csync_proto::cmd::SystemFlags {
                    seen: i % 2 == 0,
                    flagged: i % 7 == 0,
                    ..Default::default()
                },
                user: if i % 5 == 0 {
                    vec!["$Label1".into()]
                } else {
                    vec![]
                },
            },
            internaldate: 1_795_896_000 + u64::from(i),
            size: 500 + i,
            guid: Guid::of(&i.to_be_bytes()),
            annotations: if i % 10 == 0 {
                vec![Annotation {
                    entry: "/comment".into(),
                    userid: String::new(),
                    modseq: Modseq(3),
                    value: b"hello world".to_vec(),
                }]
            } else {
                vec![]
            },
            cid: 0,
            savedate: 1_795_896_058,
            createdmodseq: Modseq(u64::from(i) + 1),
        })
        .collect();
    let m = Mailbox {
        uniqueid: UniqueId::new("2rdj0d1gw3u7xjmqgelt5mo7").unwrap(),
        mboxname: MboxName::new("user.capuser").unwrap(),
        mboxtype: None,
        sync_crc: Some(4047410407),
        sync_crc_annot: Some(94203578),
        last_uid: Uid(1000),
        highestmodseq: Modseq(1010),
        recentuid: Uid(1000),
        recenttime: 1795896059,
        last_appenddate: Some(1795896058),
        pop3_last_login: 0,
        pop3_show_after: Some(0),
        xconvmodseq: None,
        raclmodseq: None,
        uidvalidity: UidValidity(1795896059),
        partition: Some("default".into()),
        acl: Some("capuser\tlrswipkxtecdan\t".into()),
        options: "P".into(),
        quotaroot: None,
        createdmodseq: Some(Modseq(1)),
        foldermodseq: Some(Modseq(1)),
        annotations: vec![],
        since_modseq: None,
        since_crc: None,
        since_crc_annot: None,
        records: Some(records),
    };
    ApplyCommand::Mailbox {
        local: false,
        mailbox: MailboxApply::Full(Box::new(m)),
    }
    .to_keyed()
}

fn message_cmd() -> Keyed {
    let files = (0..100u64)
        .map(|i| {
            Some(MessageFile {
                partition: "default".into(),
                guid: Guid::of(&i.to_be_bytes()),
                size: BODY_LEN as u64,
                body: FileRef(i),
            })
        })
        .collect();
    ApplyCommand::Message(files).to_keyed()
}

fn write(k: &Keyed, out: &mut Vec<u8>) {
    static BODY: [u8; BODY_LEN] = [b'x'; BODY_LEN];
    let mut src = |_: &FileRef, w: &mut dyn std::io::Write| w.write_all(&BODY);
    Command::Apply(k.clone())
        .write_to(out, None, &mut src)
        .unwrap();
}

fn bytes_of(k: &Keyed) -> Vec<u8> {
    let mut v = Vec::new();
    write(k, &mut v);
    v
}

fn parse(input: &[u8]) -> Command {
    let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
    let mut sink = DiscardSink::default();
    // Feed in 64 KiB reads, like a socket.
    for chunk in input.chunks(65536) {
        let mut pos = 0;
        while pos < chunk.len() {
            let (n, r) = p.feed(&chunk[pos..], &mut sink).unwrap();
            pos += n;
            if let Parsed::Complete(c) = r {
                return c.command;
            }
        }
    }
    panic!("incomplete")
}

#[divan::bench]
fn parse_apply_mailbox_1000(b: divan::Bencher<'_, '_>) {
    let input = bytes_of(&mailbox_cmd());
    b.counter(BytesCount::new(input.len()))
        .bench(|| parse(divan::black_box(&input)));
}

#[divan::bench]
fn parse_and_type_apply_mailbox_1000(b: divan::Bencher<'_, '_>) {
    let input = bytes_of(&mailbox_cmd());
    b.counter(BytesCount::new(input.len())).bench(|| {
        let Command::Apply(k) = parse(divan::black_box(&input)) else {
            panic!()
        };
        ApplyCommand::from_keyed(&k).unwrap()
    });
}

#[divan::bench]
fn serialise_apply_mailbox_1000(b: divan::Bencher<'_, '_>) {
    let k = mailbox_cmd();
    let len = bytes_of(&k).len();
    let mut out = Vec::with_capacity(len);
    b.counter(BytesCount::new(len)).bench_local(|| {
        out.clear();
        write(divan::black_box(&k), &mut out);
    });
}

#[divan::bench]
fn parse_apply_message_100x100k(b: divan::Bencher<'_, '_>) {
    let input = bytes_of(&message_cmd());
    b.counter(BytesCount::new(input.len()))
        .bench(|| parse(divan::black_box(&input)));
}

#[divan::bench]
fn serialise_apply_message_100x100k(b: divan::Bencher<'_, '_>) {
    let k = message_cmd();
    let len = bytes_of(&k).len();
    let mut out = Vec::with_capacity(len);
    b.counter(BytesCount::new(len)).bench_local(|| {
        out.clear();
        write(divan::black_box(&k), &mut out);
    });
}
