//! imapd.conf: one test per line of the replication guide example, parser edge cases,
//! service overrides and channel lookup order.

use std::path::Path;
use std::time::Duration;

use config::{Channel, ConfWarning, ImapdConf, ImapdConfError, Opt, Origin};

const BASE: &str = "configdirectory: /var/lib/imap\n";

fn conf(text: &str) -> ImapdConf {
    conf_for(text, None)
}

fn conf_for(text: &str, ident: Option<&str>) -> ImapdConf {
    ImapdConf::parse(&format!("{BASE}{text}"), "/etc/imapd.conf", ident).expect("parses")
}

fn err(text: &str) -> ImapdConfError {
    ImapdConf::parse(&format!("{BASE}{text}"), "/etc/imapd.conf", None).expect_err("must fail")
}

const GUIDE: &str = "\
sync_host: replica.example.org
sync_port: 2005
sync_authname: repluser
sync_realm: example.org
sync_password: secret
sync_compress: On
sync_log: On
sync_repeat_interval: 300
sync_shutdown_file: /var/lib/imap/syncstop
sync_log_channels: repl1 repl2 offsite
repl1_sync_repeat_interval: 180
repl1_shutdown_file: /var/lib/imap/sync/repl1_shutdown
repl2_sync_repeat_interval: 180
repl2_shutdown_file: /var/lib/imap/sync/repl2_shutdown
offsite_sync_port: 19205
offsite_sync_repeat_interval: 360
offsite_shutdown_file: /var/lib/imap/sync/offsite_shutdown
";

#[test]
fn guide_sync_host() {
    assert_eq!(
        conf("sync_host: replica.example.org").string(Opt::SyncHost),
        Some("replica.example.org")
    );
}

#[test]
fn guide_sync_port() {
    assert_eq!(conf("sync_port: 2005").string(Opt::SyncPort), Some("2005"));
}

#[test]
fn guide_sync_authname() {
    assert_eq!(
        conf("sync_authname: repluser").string(Opt::SyncAuthname),
        Some("repluser")
    );
}

#[test]
fn guide_sync_realm() {
    assert_eq!(
        conf("sync_realm: example.org").string(Opt::SyncRealm),
        Some("example.org")
    );
}

#[test]
fn guide_sync_password() {
    assert_eq!(
        conf("sync_password: secret").string(Opt::SyncPassword),
        Some("secret")
    );
}

#[test]
fn guide_sync_compress() {
    let c = conf("sync_compress: On");
    assert!(c.switch(Opt::SyncCompress));
    assert!(c.warnings().is_empty());
}

#[test]
fn guide_sync_log() {
    assert!(conf("sync_log: On").switch(Opt::SyncLog));
    assert!(!conf("").switch(Opt::SyncLog));
}

#[test]
fn guide_sync_repeat_interval() {
    let c = conf("sync_repeat_interval: 300");
    assert_eq!(
        c.duration(Opt::SyncRepeatInterval),
        Duration::from_secs(300)
    );
    assert_eq!(
        conf("").duration(Opt::SyncRepeatInterval),
        Duration::from_secs(1)
    );
}

#[test]
fn guide_sync_shutdown_file() {
    let c = conf("sync_shutdown_file: /var/lib/imap/syncstop");
    assert_eq!(
        c.string(Opt::SyncShutdownFile),
        Some("/var/lib/imap/syncstop")
    );
}

#[test]
fn guide_sync_log_channels() {
    let c = conf("sync_log_channels: repl1 repl2 offsite");
    let named = |n: &str| Channel::Named(n.to_owned());
    assert_eq!(
        c.sync_log_channels(),
        vec![named("repl1"), named("repl2"), named("offsite")]
    );
}

#[test]
fn guide_repl1_sync_repeat_interval() {
    let c = conf("repl1_sync_repeat_interval: 180");
    assert_eq!(c.raw("repl1_sync_repeat_interval"), Some("180"));
    assert_eq!(
        c.channel(Some("repl1")).repeat_interval(),
        Duration::from_secs(180)
    );
    assert!(c.warnings().is_empty());
}

#[test]
fn guide_repl1_shutdown_file() {
    let c = conf("repl1_shutdown_file: /var/lib/imap/sync/repl1_shutdown");
    let ch = c.channel(Some("repl1"));
    assert_eq!(
        ch.shutdown_file.value.as_deref(),
        Some("/var/lib/imap/sync/repl1_shutdown")
    );
    assert_eq!(
        ch.shutdown_file.origin,
        Origin::Channel("repl1_shutdown_file".into())
    );
    assert!(c.warnings().is_empty());
}

#[test]
fn guide_repl2_sync_repeat_interval() {
    let c = conf("repl2_sync_repeat_interval: 180");
    assert_eq!(c.channel(Some("repl2")).repeat_interval_secs.value, 180);
}

#[test]
fn guide_repl2_shutdown_file() {
    let c = conf("repl2_shutdown_file: /var/lib/imap/sync/repl2_shutdown");
    let v = c.channel(Some("repl2")).shutdown_file.value;
    assert_eq!(v.as_deref(), Some("/var/lib/imap/sync/repl2_shutdown"));
}

#[test]
fn guide_offsite_sync_port() {
    let c = conf("offsite_sync_port: 19205");
    let port = c.channel(Some("offsite")).port;
    assert_eq!(port.value.as_deref(), Some("19205"));
    assert_eq!(port.origin, Origin::Channel("offsite_sync_port".into()));
}

#[test]
fn guide_offsite_sync_repeat_interval() {
    let c = conf("offsite_sync_repeat_interval: 360");
    assert_eq!(
        c.channel(Some("offsite")).repeat_interval(),
        Duration::from_secs(360)
    );
}

#[test]
fn guide_offsite_shutdown_file() {
    let c = conf("offsite_shutdown_file: /var/lib/imap/sync/offsite_shutdown");
    let v = c.channel(Some("offsite")).shutdown_file.value;
    assert_eq!(v.as_deref(), Some("/var/lib/imap/sync/offsite_shutdown"));
}

#[test]
fn guide_whole_file_channels() {
    let c = conf(GUIDE);
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let r1 = c.channel(Some("repl1"));
    assert_eq!(r1.repeat_interval_secs.value, 180);
    assert_eq!(
        r1.repeat_interval_secs.origin,
        Origin::Channel("repl1_sync_repeat_interval".into())
    );
    assert_eq!(
        r1.shutdown_file.value.as_deref(),
        Some("/var/lib/imap/sync/repl1_shutdown")
    );
    assert_eq!(
        r1.shutdown_file.origin,
        Origin::Channel("repl1_shutdown_file".into())
    );
    let off = c.channel(Some("offsite"));
    assert_eq!(off.port.value.as_deref(), Some("19205"));
    assert_eq!(off.repeat_interval_secs.value, 360);
    assert_eq!(off.host.value.as_deref(), Some("replica.example.org"));
    let r2 = c.channel(Some("repl2"));
    assert_eq!(r2.host.value.as_deref(), Some("replica.example.org"));
    assert_eq!(r2.host.origin, Origin::Global("sync_host".into()));
    assert_eq!(r2.port.value.as_deref(), Some("2005"));
    assert_eq!(r2.authname.value.as_deref(), Some("repluser"));
    assert_eq!(r2.realm.value.as_deref(), Some("example.org"));
    assert_eq!(r2.password.value.as_deref(), Some("secret"));
    assert_eq!(r2.cache_db_path.origin, Origin::Default);
    assert!(r2.try_imap.value);
    let none = c.channel(None);
    assert_eq!(none.repeat_interval_secs.value, 300);
    assert_eq!(
        none.shutdown_file.value.as_deref(),
        Some("/var/lib/imap/syncstop")
    );
}

#[test]
fn comments_blank_lines_and_whitespace() {
    let c = conf("# a comment\n\n   \n   # indented comment\n  sync_host:   h1  \t\n");
    assert_eq!(c.string(Opt::SyncHost), Some("h1"));
}

#[test]
fn continuation_lines() {
    let c = conf("admins: alice \\\nbob\nsync_host: h\n");
    assert_eq!(c.admins(), vec!["alice", "bob"]);
    // The error names the last physical line of the continued line.
    match err("sync_host: a\\\nb\\\nc\nsync_host: d\n") {
        ImapdConfError::Duplicate { line, .. } => assert_eq!(line, 5),
        e => panic!("{e}"),
    }
}

#[test]
fn include_and_include_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inc = dir.path().join("inc.conf");
    std::fs::write(&inc, "sync_host: included\n").expect("write");
    let main = dir.path().join("imapd.conf");
    std::fs::write(&main, format!("{BASE}@include: {}\n", inc.display())).expect("write");
    let c = ImapdConf::load(&main, None).expect("loads");
    assert_eq!(c.string(Opt::SyncHost), Some("included"));
    assert_eq!(
        c.source(Opt::SyncHost).map(|s| s.file.as_path()),
        Some(inc.as_path())
    );

    std::fs::write(
        &main,
        format!("{BASE}@include: {0}\n@INCLUDE: {0}\n", inc.display()),
    )
    .expect("write");
    match ImapdConf::load(&main, None) {
        Err(ImapdConfError::IncludedTwice { path, line, .. }) => {
            assert_eq!(path, inc);
            assert_eq!(line, 3);
        }
        other => panic!("{other:?}"),
    }
    let e = ImapdConf::load(dir.path().join("missing.conf"), None).expect_err("missing");
    assert!(e.to_string().contains("missing.conf"), "{e}");
}

#[test]
fn duplicate_key_is_an_error() {
    let e = err("sync_host: a\nsync_host: b\n");
    assert!(matches!(e, ImapdConfError::Duplicate { ref key, line: 3, .. } if key == "sync_host"));
    assert!(e.to_string().contains("line 3"), "{e}");
    let e = err("partition-default: /a\nPARTITION-default: /b\n");
    assert!(matches!(e, ImapdConfError::Duplicate { line: 3, .. }));
}

#[test]
fn bad_key_reports_line() {
    let e = err("sync_host: a\nsync.host: b\n");
    assert!(matches!(
        e,
        ImapdConfError::InvalidOptionName { line: 3, .. }
    ));
    assert_eq!(
        e.to_string(),
        "invalid option name on line 3 of configuration file /etc/imapd.conf"
    );
    assert!(matches!(
        err("no colon here\n"),
        ImapdConfError::InvalidOptionName { line: 2, .. }
    ));
    assert!(matches!(
        err("@frob: x\n"),
        ImapdConfError::InvalidDirective { line: 2, .. }
    ));
}

#[test]
fn empty_value_is_an_error() {
    let e = err("sync_host:   \n");
    assert!(
        matches!(e, ImapdConfError::EmptyValue { line: 2, .. }),
        "{e}"
    );
}

#[test]
fn typed_values_are_checked() {
    assert!(matches!(
        err("sync_log: maybe\n"),
        ImapdConfError::BadValue {
            what: "non-switch",
            ..
        }
    ));
    assert!(matches!(
        err("sync_batchsize: 12k\n"),
        ImapdConfError::BadValue {
            what: "non-integer",
            ..
        }
    ));
    assert!(matches!(
        err("delete_mode: later\n"),
        ImapdConfError::BadValue {
            what: "invalid",
            ..
        }
    ));
    assert!(matches!(
        err("sync_timeout: 5 m\n"),
        ImapdConfError::BadValue { .. }
    ));
    assert_eq!(conf("sync_batchsize: 0x10").int(Opt::SyncBatchsize), 16);
    assert_eq!(conf("virtdomains: yes").enumeration(Opt::Virtdomains), "on");
    assert_eq!(
        conf("delete_mode: immediate").enumeration(Opt::DeleteMode),
        "immediate"
    );
    assert_eq!(conf("").enumeration(Opt::DeleteMode), "delayed");
    assert_eq!(conf("").enumeration(Opt::SyncCacheDb), "twoskip");
}

#[test]
fn unknown_kept_with_warning_dynamic_silent() {
    let c = conf(
        "frobnicate: 1\npartition-default: /var/spool/imap\nsasl_pwcheck_method: saslauthd\n\
                  metapartition-default: /m\nrepl1_sync_host: r1\nimap_mechs: PLAIN\n",
    );
    assert_eq!(c.raw("frobnicate"), Some("1"));
    assert_eq!(c.raw("sasl_pwcheck_method"), Some("saslauthd"));
    assert_eq!(c.warnings().len(), 1);
    assert!(
        matches!(&c.warnings()[0], ConfWarning::UnknownOption { key, line: 2, .. } if key == "frobnicate")
    );
    assert_eq!(c.partitions().get("default"), Some(&"/var/spool/imap"));
    assert_eq!(c.metapartition_dir("default"), Some("/m"));
}

#[test]
fn booleans_every_spelling() {
    for t in ["1", "yes", "on", "On", "ON", "t", "true", "True", "y"] {
        assert!(conf(&format!("sync_log: {t}")).switch(Opt::SyncLog), "{t}");
    }
    for f in ["0", "no", "off", "Off", "OFF", "f", "false", "False", "n"] {
        assert!(
            !conf(&format!("allowplaintext: {f}")).switch(Opt::Allowplaintext),
            "{f}"
        );
    }
}

#[test]
fn durations() {
    let d = |v: &str| conf(&format!("sync_timeout: {v}")).duration_secs(Opt::SyncTimeout);
    assert_eq!(d("1h30m"), 5400);
    assert_eq!(d("90"), 90);
    assert_eq!(d("3m"), 180);
    assert_eq!(d("-5s"), -5);
    // `timeout` counts bare numbers in minutes.
    assert_eq!(conf("timeout: 30").duration_secs(Opt::Timeout), 1800);
    assert_eq!(
        conf("").duration(Opt::SyncTimeout),
        Duration::from_secs(1800)
    );
    assert_eq!(
        conf("").duration(Opt::SyncReconnectMaxwait),
        Duration::from_secs(1200)
    );
}

#[test]
fn defaults_and_configdirectory() {
    let c = conf("");
    assert!(c.switch(Opt::Altnamespace));
    assert!(c.switch(Opt::Unixhierarchysep));
    assert_eq!(c.int(Opt::SyncBatchsize), 8192);
    assert_eq!(c.string(Opt::Lmtpsocket), Some("/var/lib/imap/socket/lmtp"));
    assert_eq!(c.string(Opt::Sievedir), Some("/usr/sieve"));
    assert_eq!(c.string(Opt::SyncHost), None);
    assert_eq!(c.sync_log_channels(), vec![Channel::Unnamed]);
    assert_eq!(
        c.sync_log_unsuppressable_channels(),
        vec![Channel::Named("squatter".into())]
    );
    assert_eq!(c.admins(), Vec::<&str>::new());
    let e =
        ImapdConf::parse("sync_host: x\n", Path::new("/etc/imapd.conf"), None).expect_err("no cd");
    assert!(matches!(e, ImapdConfError::ConfigDirectory { .. }));
    let e = ImapdConf::parse("configdirectory: var\n", "/x", None).expect_err("relative");
    assert!(matches!(e, ImapdConfError::ConfigDirectory { .. }));
}

#[test]
fn channel_list_with_unnamed() {
    let c = conf("sync_log_channels: \"\" squatter  repl1");
    assert_eq!(
        c.sync_log_channels(),
        vec![
            Channel::Unnamed,
            Channel::Named("squatter".into()),
            Channel::Named("repl1".into())
        ]
    );
    assert_eq!(
        conf("sync_rightnow_channel: \"\"").sync_rightnow_channel(),
        Some(Channel::Unnamed)
    );
}

#[test]
fn service_override() {
    let text = "admins: cyrus\nsyncserver_admins: repluser\n";
    assert_eq!(
        conf_for(text, Some("syncserver")).admins(),
        vec!["repluser"]
    );
    assert_eq!(conf_for(text, Some("imap")).admins(), vec!["cyrus"]);
    assert_eq!(conf_for(text, None).admins(), vec!["cyrus"]);
    // Order does not matter: a later generic line does not undo the override.
    let c = conf_for(
        "syncserver_admins: repluser\nadmins: cyrus\n",
        Some("syncserver"),
    );
    assert_eq!(c.admins(), vec!["repluser"]);
    assert_eq!(
        c.source(Opt::Admins).map(|s| s.key.as_str()),
        Some("syncserver_admins")
    );
    // Unrelated services keep the override line in the overflow table, silently.
    assert!(conf_for(text, Some("imap")).warnings().is_empty());
    // The service form is type-checked only for that service.
    let bad = "syncserver_sync_log: maybe\n";
    assert!(ImapdConf::parse(&format!("{BASE}{bad}"), "/x", Some("syncserver")).is_err());
    assert!(ImapdConf::parse(&format!("{BASE}{bad}"), "/x", Some("imap")).is_ok());
    // The prefix trap of §6.4: service "sync" reads sync_timeout as its `timeout`.
    let c = conf_for("sync_timeout: 5", Some("sync"));
    assert_eq!(c.duration_secs(Opt::Timeout), 5 * 60);
    assert_eq!(c.duration_secs(Opt::SyncTimeout), 1800);
    // Service-specific overflow lookups (partitions, sasl_*).
    let c = conf_for(
        "partition-default: /a\nimap_partition-default: /b\n",
        Some("imap"),
    );
    assert_eq!(c.partition_dir("default"), Some("/b"));
}

#[test]
fn channel_fallback_order() {
    let text = "sync_host: global\nrepl1_sync_host: channel\nsync_client_repl1_sync_host: ident\n\
                sync_shutdown_file: /g\nrepl1_shutdown_file: /ext\n";
    let c = conf_for(text, Some("sync_client"));
    let ch = c.channel(Some("repl1"));
    assert_eq!(ch.host.value.as_deref(), Some("ident"));
    assert_eq!(
        ch.host.origin,
        Origin::Channel("sync_client_repl1_sync_host".into())
    );
    assert_eq!(ch.shutdown_file.value.as_deref(), Some("/ext"));
    let c = conf(text);
    let ch = c.channel(Some("repl1"));
    assert_eq!(ch.host.value.as_deref(), Some("channel"));
    assert_eq!(ch.host.origin, Origin::Channel("repl1_sync_host".into()));
    // The 3.6 spelling beats our extension.
    let c = conf(
        "repl1_sync_shutdown_file: /real\nrepl1_shutdown_file: /ext\nsync_shutdown_file: /g\n",
    );
    let sf = c.channel(Some("repl1")).shutdown_file;
    assert_eq!(sf.value.as_deref(), Some("/real"));
    assert_eq!(
        sf.origin,
        Origin::Channel("repl1_sync_shutdown_file".into())
    );
    let sf = c.channel(Some("other")).shutdown_file;
    assert_eq!(
        (sf.value.as_deref(), sf.origin),
        (Some("/g"), Origin::Global("sync_shutdown_file".into()))
    );
    // Service override of the plain option comes before the default.
    let c = conf_for("sync_client_sync_host: svc\n", Some("sync_client"));
    let h = c.channel(Some("repl1")).host;
    assert_eq!(
        (h.value.as_deref(), h.origin),
        (Some("svc"), Origin::Global("sync_client_sync_host".into()))
    );
    // Channel names are looked up as written, keys are lower-cased: `Repl1` never matches.
    let c = conf("repl1_sync_host: lower\n");
    assert_eq!(c.channel(Some("Repl1")).host.value, None);
}

#[test]
fn channel_repeat_interval_and_try_imap_quirks() {
    let c = conf(
        "sync_repeat_interval: 7\nrepl1_sync_repeat_interval: 3m\nbad_sync_repeat_interval: soon\n",
    );
    assert_eq!(c.channel(Some("repl1")).repeat_interval_secs.value, 180);
    let bad = c.channel(Some("bad")).repeat_interval_secs;
    assert_eq!(
        (bad.value, bad.origin),
        (7, Origin::Global("sync_repeat_interval".into()))
    );
    let c = conf(
        "a_sync_try_imap: 1\nb_sync_try_imap: yes\nc_sync_try_imap: 0\nd_sync_try_imap: on\n\
                  sync_try_imap: on\n",
    );
    assert!(c.channel(Some("a")).try_imap.value);
    assert!(!c.channel(Some("b")).try_imap.value, "atoi(\"yes\") is 0");
    assert!(!c.channel(Some("c")).try_imap.value);
    assert!(!c.channel(Some("d")).try_imap.value, "atoi(\"on\") is 0");
    assert!(c.channel(Some("e")).try_imap.value);
}

#[test]
fn deprecated_option_feeds_replacement() {
    let c = conf("tls_cert_file: /old.pem\n");
    assert_eq!(c.string(Opt::TlsServerCert), Some("/old.pem"));
    assert!(
        c.warnings()
            .iter()
            .any(|w| matches!(w, ConfWarning::Deprecated { .. }))
    );
    let c = conf("tls_cert_file: /old.pem\ntls_server_cert: /new.pem\n");
    assert_eq!(c.string(Opt::TlsServerCert), Some("/new.pem"));
}

#[test]
fn defaultpartition_is_checked_and_lowercased() {
    assert_eq!(
        conf("defaultpartition: Default").string(Opt::Defaultpartition),
        Some("default")
    );
    assert!(matches!(
        err("defaultpartition: my-part\n"),
        ImapdConfError::DefaultPartition { .. }
    ));
}

proptest::proptest! {
    #[test]
    fn parser_never_panics(text in "(?s).{0,400}", ident in proptest::option::of("[a-z_]{1,8}")) {
        let _ = ImapdConf::parse(&text, "/p", ident.as_deref());
        let _ = ImapdConf::parse(&format!("{BASE}{text}"), "/p", ident.as_deref());
    }

    #[test]
    fn parser_never_panics_on_liney_input(
        lines in proptest::collection::vec("[ a-zA-Z0-9_@:#\\\\.\"-]{0,30}", 0..20)
    ) {
        let text = format!("{BASE}{}", lines.join("\n"));
        if let Ok(c) = ImapdConf::parse(&text, "/p", Some("sync_client")) {
            let _ = c.channel(Some("x"));
            let _ = c.sync_log_channels();
            let _ = c.partitions();
        }
    }
}

#[test]
fn sasl_options_honour_service_override() {
    let text = "sasl_pwcheck_method: saslauthd\nsasl_mech_list: PLAIN\nsyncserver_sasl_mech_list: PLAIN LOGIN\n";
    let c = conf_for(text, Some("syncserver"));
    assert_eq!(c.sasl_option("pwcheck_method"), Some("saslauthd"));
    assert_eq!(c.sasl_option("mech_list"), Some("PLAIN LOGIN"));
    assert_eq!(
        conf_for(text, Some("imap")).sasl_option("mech_list"),
        Some("PLAIN")
    );
    assert!(c.warnings().is_empty());
}
