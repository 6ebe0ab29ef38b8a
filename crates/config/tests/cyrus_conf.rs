//! cyrus.conf: one test per replication entry of the guide, plus syntax edge cases.

use config::{CyrusConf, CyrusConfError, Listen};

fn parse(text: &str) -> CyrusConf {
    CyrusConf::parse(text, "/etc/cyrus.conf").expect("parses")
}

fn err(text: &str) -> CyrusConfError {
    CyrusConf::parse(text, "/etc/cyrus.conf").expect_err("must fail")
}

fn argv(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_owned).collect()
}

#[test]
fn services_syncserver() {
    let c = parse(
        "SERVICES {\n  syncserver       cmd=\"/usr/cyrus/bin/sync_server\" listen=\"csync\"\n}\n",
    );
    let s = &c.services[0];
    assert_eq!(s.name, "syncserver");
    assert_eq!(s.cmd, argv("/usr/cyrus/bin/sync_server"));
    assert_eq!(s.listen, "csync");
    assert_eq!(
        s.listen_addr(),
        Ok(Listen::Inet {
            host: None,
            port: Some("csync".into())
        })
    );
    assert_eq!(
        (s.proto.as_str(), s.prefork, s.maxchild, s.maxfds),
        ("tcp", 0, -1, 0)
    );
    assert_eq!((s.maxforkrate, s.babysit, s.line), (0, false, 2));
    assert_eq!(s.max_workers(), None);
}

#[test]
fn start_sync_client_r() {
    let c = parse("START {\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -r\"\n}\n");
    assert_eq!(c.start[0].name, "syncclient");
    assert_eq!(c.start[0].cmd, argv("/usr/cyrus/bin/sync_client -r"));
}

#[test]
fn start_sync_client_r_z() {
    let c = parse("START {\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -r -z\"\n}\n");
    assert_eq!(c.start[0].cmd, argv("/usr/cyrus/bin/sync_client -r -z"));
}

#[test]
fn start_sync_client_channel1() {
    let c =
        parse("START {\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -r -n channel1\"\n}\n");
    assert_eq!(
        c.start[0].cmd,
        argv("/usr/cyrus/bin/sync_client -r -n channel1")
    );
}

#[test]
fn events_period_240() {
    let c =
        parse("EVENTS {\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -A\" period=240\n}\n");
    let e = &c.events[0];
    assert_eq!((e.name.as_str(), e.period, e.at), ("syncclient", 240, None));
    assert_eq!(e.cmd, argv("/usr/cyrus/bin/sync_client -A"));
}

#[test]
fn events_at_0800() {
    let c =
        parse("EVENTS {\n  syncclient       cmd=\"/usr/cyrus/bin/sync_client -A\" at=0800\n}\n");
    assert_eq!((c.events[0].period, c.events[0].at), (0, Some((8, 0))));
}

#[test]
fn daemon_repl1sync() {
    let c =
        parse("DAEMON {\n  repl1sync        cmd=\"/usr/cyrus/bin/sync_client -r -n repl1\"\n}\n");
    let d = &c.daemons[0];
    assert_eq!(d.name, "repl1sync");
    assert_eq!(d.cmd, argv("/usr/cyrus/bin/sync_client -r -n repl1"));
    assert_eq!((d.wait, d.maxfds, d.maxforkrate), (false, 0, 10));
}

#[test]
fn daemon_repl2sync() {
    let c =
        parse("DAEMON {\n  repl2sync        cmd=\"/usr/cyrus/bin/sync_client -r -n repl2\"\n}\n");
    assert_eq!(
        c.daemons[0].cmd,
        argv("/usr/cyrus/bin/sync_client -r -n repl2")
    );
}

#[test]
fn start_offsitesync() {
    let c =
        parse("START {\n  offsitesync      cmd=\"/usr/cyrus/bin/sync_client -r -n offsite\"\n}\n");
    assert_eq!(c.start[0].name, "offsitesync");
    assert_eq!(
        c.start[0].cmd,
        argv("/usr/cyrus/bin/sync_client -r -n offsite")
    );
}

#[test]
fn event_at_variants() {
    let at = |v: &str| parse(&format!("EVENTS {{\n e cmd=x at={v}\n}}\n")).events[0].at;
    assert_eq!(at("400"), Some((4, 0)));
    assert_eq!(at("0"), Some((0, 0)));
    assert_eq!(at("2359"), Some((23, 59)));
    assert_eq!(at("2400"), None);
    assert_eq!(at("1260"), None);
    assert_eq!(at("noon"), None);
    assert_eq!(at("-5"), None);
}

#[test]
fn keys_ints_switches() {
    let c = parse(
        "SERVICES {\n imap cmd=imapd listen=imap prefork=5 prefork=9 maxchild=100 babysit=yes \
         maxfds=x prefrok=3 proto=tcp6\n\
         lmtpunix cmd=\"lmtpd\" listen=\"/run/cyrus/lmtp\" babysit=On maxforkrate=-2\n}\n",
    );
    let s = &c.services[0];
    assert_eq!(
        (s.prefork, s.maxchild, s.maxfds, s.babysit),
        (5, 100, 0, true)
    );
    assert_eq!(s.proto, "tcp6");
    assert_eq!((s.effective_prefork(), s.effective_maxforkrate()), (5, 10));
    let u = &c.services[1];
    // Switches are case-sensitive in master: "On" is not understood, default kept.
    assert!(!u.babysit);
    assert_eq!(u.maxforkrate, -2);
    assert_eq!(u.listen_addr(), Ok(Listen::Unix("/run/cyrus/lmtp".into())));
}

#[test]
fn comment_inside_quotes_is_missing_quote() {
    let e = err("START {\n  foo cmd=\"foo #1\"\n}\n");
    assert!(
        matches!(e, CyrusConfError::MissingQuote { line: 2, .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "configuration file /etc/cyrus.conf: missing \" on line 2"
    );
}

#[test]
fn bad_character_in_name() {
    let e = err("SERVICES {\n  sync-server cmd=x listen=csync\n}\n");
    assert!(matches!(
        e,
        CyrusConfError::BadName {
            c: '-',
            line: 2,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "configuration file /etc/cyrus.conf: bad character '-' in name on line 2"
    );
}

#[test]
fn bad_character_in_argument() {
    let e = err("SERVICES {\n  imap cmd=x listen=imap pre_fork=1\n}\n");
    assert!(
        matches!(
            e,
            CyrusConfError::BadArgument {
                c: '_',
                line: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = err("DAEMON {\n  d cmd=\"x\" }\n");
    assert!(
        matches!(e, CyrusConfError::BadArgument { c: '}', .. }),
        "{e}"
    );
}

#[test]
fn comments_blank_lines_unknown_sections_and_order() {
    let c = parse(
        "# cyrus.conf\n\nFOO {\n  x cmd=y\n}\nDAEMON { # comment\n\n  # only a comment\n  \
         d cmd=\"sync_client -r\"\n}\nSTART {\n  recover cmd=\"ctl_cyrusdb -r\"\n}\n",
    );
    assert_eq!(c.daemons.len(), 1);
    assert_eq!(c.start[0].cmd, argv("ctl_cyrusdb -r"));
    // Lower-case section names do not open a section in 3.6 (first letter compared exactly).
    assert!(parse("start {\n x cmd=y\n}\n").start.is_empty());
    assert_eq!(parse("Start {\n x cmd=y\n}\n").start.len(), 1);
    // `{` must be on the name's line.
    assert!(parse("START\n{\n x cmd=y\n}\n").start.is_empty());
    // Name followed by a letter is another word.
    assert!(parse("STARTUP {\n x cmd=y\n}\n").start.is_empty());
}

#[test]
fn section_appearing_twice_only_first_is_read() {
    // 3.6.1 masterconf.c leaves its brace level at 1 after the first processed section, so a
    // second occurrence of the same section is never opened.
    let c =
        parse("START {\n a cmd=one\n}\nSERVICES {\n s cmd=x listen=1\n}\nSTART {\n b cmd=two\n}\n");
    assert_eq!(
        c.start.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        vec!["a"]
    );
    assert_eq!(c.services.len(), 1);
}

#[test]
fn missing_cmd_or_listen() {
    let e = err("SERVICES {\n  syncserver cmd=\"sync_server\"\n}\n");
    assert!(
        e.to_string()
            .starts_with("unable to find command or port for service 'syncserver'")
    );
    let e = err("START {\n  nothing\n}\n");
    assert!(
        e.to_string()
            .starts_with("unable to find command for nothing"),
        "{e}"
    );
    let e = err("EVENTS {\n  ev period=5\n}\n");
    assert!(
        e.to_string()
            .starts_with("unable to find command or port for event 'ev'"),
        "{e}"
    );
    // On reload the entry is dropped with a warning instead.
    let c = CyrusConf::parse_reload("SERVICES {\n  s cmd=x\n  t cmd=y listen=1\n}\n", "/c")
        .expect("reload");
    assert_eq!(c.services.len(), 1);
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn names_unique_across_services_and_daemon() {
    let e = err("SERVICES {\n  sync cmd=x listen=csync\n}\nDAEMON {\n  sync cmd=y\n}\n");
    assert_eq!(
        e.to_string(),
        "multiple entries for service 'sync' (line 5 of /etc/cyrus.conf)"
    );
    let e = err("DAEMON {\n  d cmd=y\n  d cmd=z wait=y\n}\n");
    assert!(
        e.to_string()
            .starts_with("multiple entries for waitdaemon 'd'"),
        "{e}"
    );
    // START and EVENTS names may repeat.
    let c = parse("EVENTS {\n e cmd=a\n e cmd=b\n}\nSTART {\n s cmd=a\n s cmd=b\n}\n");
    assert_eq!((c.events.len(), c.start.len()), (2, 2));
}

#[test]
fn listen_values() {
    let s = |l: &str| {
        parse(&format!("SERVICES {{\n x cmd=y listen=\"{l}\"\n}}\n")).services[0].listen_addr()
    };
    let inet = |h: Option<&str>, p: Option<&str>| {
        Ok(Listen::Inet {
            host: h.map(str::to_owned),
            port: p.map(str::to_owned),
        })
    };
    assert_eq!(s("[::1]:2005"), inet(Some("::1"), Some("2005")));
    assert_eq!(s("2005"), inet(None, Some("2005")));
    assert_eq!(
        s("replica.example.org:csync"),
        inet(Some("replica.example.org"), Some("csync"))
    );
    assert_eq!(
        s("/var/run/cyrus/socket/lmtp"),
        Ok(Listen::Unix("/var/run/cyrus/socket/lmtp".into()))
    );
}

#[test]
fn first_key_wins_and_quotes_need_no_space() {
    let c = parse("SERVICES {\n x cmd=\"a b\"listen=\"1\" cmd=other listen=2\n}\n");
    assert_eq!(c.services[0].cmd, argv("a b"));
    assert_eq!(c.services[0].listen, "1");
}

#[test]
fn too_many_arguments() {
    let args: String = (0..65).map(|i| format!(" k{i}=v")).collect();
    let e = err(&format!("START {{\n x cmd=y{args}\n}}\n"));
    assert!(matches!(
        e,
        CyrusConfError::TooManyArguments { line: 2, .. }
    ));
}

#[test]
fn load_from_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("cyrus.conf");
    std::fs::write(&p, "START {\n a cmd=b\n}\n").expect("write");
    assert_eq!(CyrusConf::load(&p).expect("load").start.len(), 1);
    assert!(matches!(
        CyrusConf::load(dir.path().join("nope")),
        Err(CyrusConfError::Open { .. })
    ));
}

proptest::proptest! {
    #[test]
    fn parser_never_panics(text in "(?s).{0,400}") {
        let _ = CyrusConf::parse(&text, "/c");
        let _ = CyrusConf::parse_reload(&text, "/c");
    }

    #[test]
    fn parser_never_panics_sectioned(
        lines in proptest::collection::vec("[ a-zA-Z0-9={}\"#_-]{0,30}", 0..20)
    ) {
        let text = format!("SERVICES {{\n{}\n}}\nDAEMON {{\n{}\n", lines.join("\n"), lines.join("\n"));
        let _ = CyrusConf::parse(&text, "/c");
    }
}
