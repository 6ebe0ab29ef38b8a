//! Property tests: serialise → parse is the identity for arbitrary dlist trees in both roles;
//! splitting the input at any byte boundary does not change the result; no input panics.
#![allow(clippy::unwrap_used)]

use csync_proto::{
    Command, CommandParser, DValue, FileLit, FileRef, Flavour, Keyed, MemorySink, ParseLimits,
    Parsed, Response, ResponseParser, Role, Serializer,
};
use proptest::prelude::*;
use types::Guid;

/// A generated tree whose files carry their bodies inline.
#[derive(Debug, Clone)]
enum Gen {
    Nil,
    Str(Vec<u8>),
    Flag(Vec<u8>),
    File(Vec<u8>, [u8; 20], Vec<u8>),
    List(Vec<Gen>),
    Kv(Vec<(Vec<u8>, Gen)>),
}

fn arb_gen() -> impl Strategy<Value = Gen> {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        "[a-zA-Z0-9._]{1,8}".prop_map(String::into_bytes),
        Just(b"NIL".to_vec()),
        Just(b"fred\tlr\t".to_vec()),
    ];
    let leaf = prop_oneof![
        Just(Gen::Nil),
        bytes.clone().prop_map(Gen::Str),
        "\\\\[A-Za-z$]{0,6}".prop_map(|s| Gen::Flag(s.into_bytes())),
        (
            "[a-z]{1,8}",
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(p, g, b)| Gen::File(p.into_bytes(), g, b)),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Gen::List),
            proptest::collection::vec((bytes.clone(), inner), 0..6).prop_map(Gen::Kv),
        ]
    })
}

/// Build the DValue, numbering files in stream order as the parser's MemorySink will.
fn build(g: &Gen, bodies: &mut Vec<Vec<u8>>) -> DValue {
    match g {
        Gen::Nil => DValue::Nil,
        Gen::Str(s) => DValue::Str(s.clone()),
        Gen::Flag(f) => DValue::Flag(f.clone()),
        Gen::File(p, g, b) => {
            bodies.push(b.clone());
            DValue::File(FileLit {
                partition: p.clone(),
                guid: Guid(*g),
                size: b.len() as u64,
                body: FileRef(bodies.len() as u64 - 1),
            })
        }
        Gen::List(l) => DValue::List(l.iter().map(|x| build(x, bodies)).collect()),
        Gen::Kv(l) => DValue::KvList(
            l.iter()
                .map(|(k, x)| (k.clone(), build(x, bodies)))
                .collect(),
        ),
    }
}

fn serialise(prefix: &[u8], k: &Keyed, role: Role, bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut src = |f: &FileRef, w: &mut dyn std::io::Write| w.write_all(&bodies[f.0 as usize]);
    Serializer::new(role)
        .line(&mut out, prefix, k, &mut src)
        .unwrap();
    out
}

/// Parse one command from `chunks`; returns the command, files, and total consumed.
fn parse_cmd(chunks: &[&[u8]]) -> (Option<Command>, Vec<Vec<u8>>) {
    let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
    let mut sink = MemorySink::default();
    for c in chunks {
        let mut pos = 0;
        while pos < c.len() {
            let (n, r) = p.feed(&c[pos..], &mut sink).unwrap();
            pos += n;
            if let Parsed::Complete(cl) = r {
                assert_eq!(pos, c.len(), "consumed past the line");
                return (Some(cl.command), sink.files);
            }
        }
    }
    (None, sink.files)
}

fn parse_resp(input: &[u8]) -> (Option<Response>, Vec<Vec<u8>>) {
    let mut p = ResponseParser::new(Flavour::Csync, ParseLimits::default());
    let mut sink = MemorySink::default();
    let mut pos = 0;
    while pos < input.len() {
        let (n, r) = p.feed(&input[pos..], &mut sink).unwrap();
        pos += n;
        if let Parsed::Complete(r) = r {
            return (Some(r), sink.files);
        }
    }
    (None, sink.files)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_both_roles(g in arb_gen()) {
        let mut bodies = Vec::new();
        let v = build(&g, &mut bodies);
        let k = Keyed { key: b"KEY".to_vec(), value: v };
        let cmd = serialise(b"APPLY ", &k, Role::Client, &bodies);
        let (c, files) = parse_cmd(&[&cmd]);
        prop_assert_eq!(c, Some(Command::Apply(k.clone())));
        prop_assert_eq!(&files, &bodies);
        let resp = serialise(b"* ", &k, Role::Server, &bodies);
        let (r, files) = parse_resp(&resp);
        prop_assert_eq!(r, Some(Response::Data(k.clone())));
        prop_assert_eq!(&files, &bodies);
    }

    #[test]
    fn split_anywhere(g in arb_gen()) {
        let mut bodies = Vec::new();
        let k = Keyed { key: b"KEY".to_vec(), value: build(&g, &mut bodies) };
        let line = serialise(b"APPLY ", &k, Role::Client, &bodies);
        let whole = parse_cmd(&[&line]);
        for at in 0..=line.len() {
            prop_assert_eq!(&parse_cmd(&[&line[..at], &line[at..]]), &whole);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300), chunk in 1usize..40) {
        for flavour in [Flavour::Csync, Flavour::Imap] {
            let mut p = CommandParser::new(flavour, ParseLimits::default());
            let mut sink = MemorySink::default();
            'outer: for c in input.chunks(chunk) {
                let mut pos = 0;
                while pos < c.len() {
                    match p.feed(&c[pos..], &mut sink) {
                        Ok((n, _)) => pos += n,
                        Err(_) => break 'outer,
                    }
                }
            }
            let mut r = ResponseParser::new(flavour, ParseLimits::default());
            'outer2: for c in input.chunks(chunk) {
                let mut pos = 0;
                while pos < c.len() {
                    match r.feed(&c[pos..], &mut sink) {
                        Ok((n, _)) => pos += n,
                        Err(_) => break 'outer2,
                    }
                }
            }
        }
    }

    #[test]
    fn dlist_like_bytes_never_panic(input in "[A-Z]{0,5} [A-Z]{1,4} [()%{}\\\\\" a-z0-9\\r\\n+]{0,80}") {
        let mut p = CommandParser::new(Flavour::Csync, ParseLimits::default());
        let mut sink = MemorySink::default();
        let b = input.as_bytes();
        let mut pos = 0;
        while pos < b.len() {
            match p.feed(&b[pos..], &mut sink) {
                Ok((n, _)) => pos += n,
                Err(_) => break,
            }
        }
    }
}
