//! Feeds arbitrary bytes (in two chunks, split by the first byte) into the csync command and
//! response parsers; every GET/APPLY/data value that parses is re-serialised and must parse
//! back to the same value.
#![no_main]

use csync_proto::{
    Command, CommandParser, FileRef, Flavour, Keyed, MemorySink, ParseLimits, Parsed, Response,
    ResponseParser, Role, Serializer,
};
use libfuzzer_sys::fuzz_target;

fn reparse(prefix: &[u8], k: &Keyed, role: Role, files: &[Vec<u8>]) {
    let mut out = Vec::new();
    let mut src = |f: &FileRef, w: &mut dyn std::io::Write| w.write_all(&files[f.0 as usize]);
    Serializer::new(role)
        .line(&mut out, prefix, k, &mut src)
        .expect("serialise");
    let mut sink = MemorySink::default();
    let got = if role == Role::Client {
        let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
        match p.feed(&out, &mut sink).expect("reparse") {
            (n, Parsed::Complete(c)) if n == out.len() => match c.command {
                Command::Apply(k) => k,
                other => panic!("reparsed as {other:?}"),
            },
            other => panic!("incomplete reparse {other:?}"),
        }
    } else {
        let mut p = ResponseParser::new(Flavour::Csync, ParseLimits::default());
        match p.feed(&out, &mut sink).expect("reparse") {
            (n, Parsed::Complete(Response::Data(k))) if n == out.len() => k,
            other => panic!("bad reparse {other:?}"),
        }
    };
    assert_eq!(&got, k);
    assert_eq!(sink.files, files);
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(data.len());
    for flavour in [Flavour::Csync, Flavour::Imap] {
        let mut p = CommandParser::new(flavour, ParseLimits::default());
        let mut sink = MemorySink::default();
        let mut seen = 0;
        'c: for chunk in [&data[..at], &data[at..]] {
            let mut pos = 0;
            while pos < chunk.len() {
                let Ok((n, r)) = p.feed(&chunk[pos..], &mut sink) else {
                    break 'c;
                };
                pos += n;
                if let Parsed::Complete(cl) = r {
                    let files = sink.files[seen..].to_vec();
                    if let Command::Get(k) | Command::Apply(k) | Command::Restore(k) = &cl.command {
                        // Files are numbered from `seen`; renumber for the round trip.
                        let k = renumber(k, seen as u64);
                        reparse(b"APPLY ", &k, Role::Client, &files);
                    }
                    seen = sink.files.len();
                }
            }
        }
        let mut r = ResponseParser::new(flavour, ParseLimits::default());
        let mut sink = MemorySink::default();
        let mut seen = 0;
        'r: for chunk in [&data[..at], &data[at..]] {
            let mut pos = 0;
            while pos < chunk.len() {
                let Ok((n, res)) = r.feed(&chunk[pos..], &mut sink) else {
                    break 'r;
                };
                pos += n;
                if let Parsed::Complete(Response::Data(k)) = res {
                    let files = sink.files[seen..].to_vec();
                    reparse(b"* ", &renumber(&k, seen as u64), Role::Server, &files);
                    seen = sink.files.len();
                }
            }
        }
    }
});

fn renumber(k: &Keyed, base: u64) -> Keyed {
    use csync_proto::DValue;
    fn walk(v: &DValue, base: u64) -> DValue {
        match v {
            DValue::File(f) => {
                let mut f = f.clone();
                f.body = FileRef(f.body.0 - base);
                DValue::File(f)
            }
            DValue::List(l) => DValue::List(l.iter().map(|x| walk(x, base)).collect()),
            DValue::KvList(l) => {
                DValue::KvList(l.iter().map(|(k, x)| (k.clone(), walk(x, base))).collect())
            }
            other => other.clone(),
        }
    }
    Keyed {
        key: k.key.clone(),
        value: walk(&k.value, base),
    }
}
