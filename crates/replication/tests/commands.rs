#![allow(clippy::unwrap_used)]
//! The replica core's answers to malformed, unauthorised and conflicting commands (csync §1.4,
//! §1.9, §5.3.1, §6, §9.10): each gets the NO/BAD Cyrus gives and changes nothing, except where
//! Cyrus documents otherwise (a CRC mismatch after APPLY MAILBOX keeps the changes).

use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, StaticPasswords};
use csync_proto::cmd::{ApplyCommand, Flags, Mailbox, MailboxApply, Record};
use csync_proto::{Command, NoFiles};
use mailstore::{Store, StoreConfig};
use replication::server::{ServerOptions, SyncCore};
use types::{Guid, MboxName, Modseq, Uid, UidValidity, UniqueId};

fn options() -> Arc<ServerOptions> {
    Arc::new(ServerOptions {
        servername: "test".into(),
        version: "3.6.1".into(),
        admins: Admins::parse("admin"),
        passwords: Arc::new(
            StaticPasswords::new()
                .with("admin", b"secret")
                .with("fred", b"fredpw"),
        ),
        allow_plaintext: true,
        sasl_mech_list: None,
        tls_available: false,
        offer_compress: true,
        offer_sieve_mailbox: true,
        allow_user_moves: false,
        failed_login_pause: Duration::ZERO,
    })
}

struct T {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    core: SyncCore,
}

impl T {
    fn new() -> T {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(StoreConfig::simple(dir.path())).unwrap());
        let core = SyncCore::csync(store.clone(), options(), "test", false);
        T {
            _dir: dir,
            store,
            core,
        }
    }

    fn admin() -> T {
        let mut t = T::new();
        assert_eq!(
            t.send(&login("admin", "secret")),
            "OK Success (no protection)\r\n"
        );
        t
    }

    fn send_bytes(&mut self, mut input: &[u8]) -> String {
        let mut out = Vec::new();
        while !input.is_empty() {
            let p = self.core.feed(input, &mut out).unwrap();
            if let Some(f) = &p.stream {
                f.append_to(&mut out).unwrap();
            }
            input = &input[p.consumed..];
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn send(&mut self, line: &str) -> String {
        self.send_bytes(format!("{line}\r\n").as_bytes())
    }

    fn apply(&mut self, cmd: ApplyCommand) -> String {
        let mut line = Vec::new();
        Command::Apply(cmd.to_keyed())
            .write_to(&mut line, None, &mut NoFiles)
            .unwrap();
        self.send_bytes(&line)
    }

    /// Everything observable about the store, for "changed nothing" checks.
    fn state(&self) -> String {
        let mut s = format!("{:?}", self.store.list_all_entries().unwrap());
        for e in self.store.list_all_entries().unwrap() {
            if e.mbtype.is_real() {
                s += &format!(
                    "{:?}{:?}",
                    self.store.mailbox_state(&e.name).unwrap(),
                    self.store.records(&e.name).unwrap()
                );
            }
        }
        s
    }
}

fn login(user: &str, pw: &str) -> String {
    let ir = auth::b64::encode(format!("\0{user}\0{pw}").as_bytes());
    format!("AUTHENTICATE PLAIN {ir}")
}

const BODY: &[u8] = b"From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n";

fn guid() -> Guid {
    Guid::of(BODY)
}

fn upload(t: &mut T) {
    let line = format!(
        "APPLY MESSAGE (%{{default {} {}}}\r\n",
        guid().to_hex(),
        BODY.len()
    );
    let mut bytes = line.into_bytes();
    bytes.extend_from_slice(BODY);
    bytes.extend_from_slice(b")\r\n");
    assert_eq!(t.send_bytes(&bytes), "OK success\r\n");
}

fn record(uid: u32, modseq: u64) -> Record {
    Record {
        uid: Uid(uid),
        modseq: Modseq(modseq),
        last_updated: 1_700_000_000,
        flags: Flags::default(),
        internaldate: 1_700_000_000,
        size: BODY.len() as u32,
        guid: guid(),
        annotations: vec![],
        cid: 0,
        savedate: 0,
        createdmodseq: Modseq(modseq),
    }
}

fn mailbox(name: &str, uniqueid: &str, records: Vec<Record>) -> Mailbox {
    let last = records.iter().map(|r| r.uid.0).max().unwrap_or(0);
    let hms = records.iter().map(|r| r.modseq.0).max().unwrap_or(1);
    Mailbox {
        uniqueid: UniqueId::new(uniqueid).unwrap(),
        mboxname: MboxName::new(name).unwrap(),
        mboxtype: None,
        sync_crc: None,
        sync_crc_annot: None,
        last_uid: Uid(last),
        highestmodseq: Modseq(hms),
        recentuid: Uid(0),
        recenttime: 0,
        last_appenddate: Some(0),
        pop3_last_login: 0,
        pop3_show_after: Some(0),
        xconvmodseq: None,
        raclmodseq: None,
        uidvalidity: UidValidity(1_700_000_000),
        partition: Some("default".into()),
        acl: Some("fred\tlrswipkxtecdan\t".into()),
        options: "P".into(),
        quotaroot: None,
        createdmodseq: Some(Modseq(1)),
        foldermodseq: Some(Modseq(1)),
        annotations: vec![],
        since_modseq: None,
        since_crc: None,
        since_crc_annot: None,
        records: Some(records),
    }
}

fn apply_mailbox(m: Mailbox) -> ApplyCommand {
    ApplyCommand::Mailbox {
        local: false,
        mailbox: MailboxApply::Full(Box::new(m)),
    }
}

/// A replica with user.fred holding UID 1 (modseq 5).
fn with_inbox() -> T {
    let mut t = T::admin();
    upload(&mut t);
    let r = t.apply(apply_mailbox(mailbox(
        "user.fred",
        "U1",
        vec![record(1, 5)],
    )));
    assert_eq!(r, "OK success\r\n");
    t
}

#[test]
fn framing_errors_are_answered_as_cyrus_does() {
    let mut t = T::new();
    assert_eq!(t.send(""), "BAD Null command\r\n");
    assert_eq!(
        t.send("C01 CAPABILITY"),
        "BAD IMAP_PROTOCOL_ERROR Unrecognized command\r\n"
    );
    assert_eq!(
        t.send("NOOP now"),
        "BAD Unexpected extra arguments to Noop\r\n"
    );
    assert_eq!(
        t.send("COMPRESS"),
        "BAD Missing required argument to Compress\r\n"
    );
    assert_eq!(
        t.send("STARTTLS"),
        "BAD IMAP_PROTOCOL_ERROR Unrecognized command\r\n"
    );
    assert_eq!(t.send("noop"), "OK Noop completed\r\n");
    assert_eq!(t.send("RESTART"), "OK Restarting\r\n");
    // Literals of an unknown command are skipped, not executed.
    assert_eq!(
        t.send_bytes(b"FOO {5+}\r\nAPPLY\r\nNOOP\r\n"),
        "BAD IMAP_PROTOCOL_ERROR Unrecognized command\r\nOK Noop completed\r\n"
    );
}

#[test]
fn unauthenticated_and_non_admin_peers_change_nothing() {
    let mut t = T::new();
    let before = t.state();
    assert_eq!(t.send("GET USER fred"), "NO Please authenticate first\r\n");
    assert_eq!(
        t.send("APPLY UNMAILBOX user.fred"),
        "NO Please authenticate first\r\n"
    );
    // Bodies sent before authentication are not staged.
    let line = format!(
        "APPLY MESSAGE (%{{default {} {}}}\r\n",
        guid().to_hex(),
        BODY.len()
    );
    let mut bytes = line.into_bytes();
    bytes.extend_from_slice(BODY);
    bytes.extend_from_slice(b")\r\n");
    assert_eq!(t.send_bytes(&bytes), "NO Please authenticate first\r\n");
    assert_eq!(
        t.send(&login("admin", "wrong")),
        "NO authentication failure\r\n"
    );
    assert_eq!(t.send("GET USER fred"), "NO Please authenticate first\r\n");

    // A user who is not an admin authenticates, then is refused everything.
    assert_eq!(
        t.send(&login("fred", "fredpw")),
        "OK Success (no protection)\r\n"
    );
    for cmd in [
        "NOOP",
        "EXIT",
        "GET USER fred",
        "APPLY UNUSER fred",
        "RESTART",
        "XYZZY",
    ] {
        assert_eq!(t.send(cmd), "NO Permission denied\r\n", "{cmd}");
    }
    let mut m = mailbox("user.fred", "U1", vec![]);
    m.records = Some(vec![]);
    assert_eq!(t.apply(apply_mailbox(m)), "NO Permission denied\r\n");
    assert_eq!(t.state(), before);
    assert!(t.store.list_all_entries().unwrap().is_empty());

    // An admin after the same staged-then-refused upload: the body is not there.
    let mut a = T::admin();
    a.store = t.store.clone();
    let r = a.apply(apply_mailbox(mailbox(
        "user.fred",
        "U1",
        vec![record(1, 5)],
    )));
    assert_eq!(r, "NO Unknown error\r\n");
}

#[test]
fn malformed_applies_get_no_or_bad_and_change_nothing() {
    let mut t = with_inbox();
    let before = t.state();
    assert_eq!(
        t.send("APPLY MAILBOX %(UNIQUEID x) junk"),
        "BAD IMAP_PROTOCOL_ERROR Failed to parse APPLY line\r\n"
    );
    assert_eq!(
        t.send("APPLY MAILBOX %(MBOXNAME user.fred)"),
        "NO IMAP_PROTOCOL_BAD_PARAMETERS Bad parameters\r\n"
    );
    assert_eq!(
        t.send("GET MAILBOXES %{default"),
        "BAD IMAP_PROTOCOL_ERROR Failed to parse GET line\r\n"
    );
    assert_eq!(
        t.send("APPLY FROB %()"),
        "NO IMAP_PROTOCOL_ERROR Protocol error\r\n"
    );
    assert_eq!(
        t.send("GET FROB x"),
        "NO IMAP_PROTOCOL_ERROR Protocol error\r\n"
    );
    assert_eq!(
        t.send("APPLY EXPUNGE %(MBOXNAME user.fred UID (1))"),
        "NO IMAP_PROTOCOL_BAD_PARAMETERS Bad parameters\r\n"
    );
    // A sieve mailbox while SIEVE-MAILBOX is not enabled.
    let mut m = mailbox("user.fred.#sieve", "S1", vec![]);
    m.mboxtype = Some("f".into());
    assert_eq!(
        t.apply(apply_mailbox(m)),
        "NO IMAP_PROTOCOL_BAD_PARAMETERS Bad parameters\r\n"
    );
    // A keyword that is not an atom fails the whole APPLY.
    let mut r = record(1, 6);
    r.flags.user.push("bad flag".into());
    assert_eq!(
        t.apply(apply_mailbox(mailbox("user.fred", "U1", vec![r]))),
        "NO Unknown error\r\n"
    );
    // Unknown partition.
    let mut m = mailbox("user.fred", "U1", vec![record(1, 6)]);
    m.partition = Some("nowhere".into());
    assert_eq!(t.apply(apply_mailbox(m)), "NO Unknown error\r\n");
    assert_eq!(t.state(), before);
}

#[test]
fn conflicts_are_answered_as_csync_section_6_says() {
    let mut t = with_inbox();
    let before = t.state();
    let checksum = "NO IMAP_SYNC_CHECKSUM Checksum Failure\r\n";
    // Same name, other uniqueid, replica not empty.
    assert_eq!(
        t.apply(apply_mailbox(mailbox(
            "user.fred",
            "U2",
            vec![record(1, 5)]
        ))),
        "NO IMAP_MAILBOX_MOVED Mailbox exists with another name or uniqueid\r\n"
    );
    // Same uniqueid under another name.
    assert_eq!(
        t.apply(apply_mailbox(mailbox("user.fred.Other", "U1", vec![]))),
        "NO IMAP_MAILBOX_MOVED Mailbox exists with another name or uniqueid\r\n"
    );
    // Replica ahead: lower HIGHESTMODSEQ / LAST_UID / UIDVALIDITY from the master.
    let mut m = mailbox("user.fred", "U1", vec![]);
    m.highestmodseq = Modseq(4);
    m.last_uid = Uid(1);
    assert_eq!(t.apply(apply_mailbox(m)), checksum);
    let mut m = mailbox("user.fred", "U1", vec![]);
    m.highestmodseq = Modseq(9);
    m.last_uid = Uid(0);
    assert_eq!(t.apply(apply_mailbox(m)), checksum);
    let mut m = mailbox("user.fred", "U1", vec![record(1, 6)]);
    m.uidvalidity = UidValidity(5);
    assert_eq!(t.apply(apply_mailbox(m)), checksum);
    // A record whose GUID differs from the replica's.
    let mut r = record(1, 6);
    r.guid = Guid::of(b"other");
    assert_eq!(
        t.apply(apply_mailbox(mailbox("user.fred", "U1", vec![r]))),
        checksum
    );
    // The replica's record is newer than the master's.
    let mut m = mailbox("user.fred", "U1", vec![record(1, 4)]);
    m.highestmodseq = Modseq(6);
    assert_eq!(t.apply(apply_mailbox(m)), checksum);
    // SINCE_MODSEQ that is not the replica's state.
    let mut m2 = mailbox("user.fred", "U1", vec![record(1, 7)]);
    m2.since_modseq = Some(Modseq(3));
    assert_eq!(
        t.apply(apply_mailbox(m2)),
        "NO IMAP_SYNC_CHANGED Changed since last sync\r\n"
    );
    // A new UID with no staged body.
    t.send("RESTART");
    assert_eq!(
        t.apply(apply_mailbox(mailbox(
            "user.fred",
            "U1",
            vec![record(1, 5), record(2, 6)]
        ))),
        "NO Unknown error\r\n"
    );
    // EXPUNGE against the wrong uniqueid.
    assert_eq!(
        t.apply(ApplyCommand::Expunge {
            mboxname: MboxName::new("user.fred").unwrap(),
            uniqueid: UniqueId::new("U9").unwrap(),
            uids: vec![Uid(1)],
        }),
        "NO IMAP_MAILBOX_MOVED Mailbox exists with another name or uniqueid\r\n"
    );
    // A sub-mailbox of a user the replica does not have.
    assert_eq!(
        t.apply(apply_mailbox(mailbox("user.nobody.Sub", "N1", vec![]))),
        "NO Unknown error\r\n"
    );
    assert_eq!(
        t.send("APPLY UNMAILBOX user.nobody"),
        "NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox\r\n"
    );
    assert_eq!(
        t.send(
            "APPLY RENAME %(OLDMBOXNAME user.nobody NEWMBOXNAME user.nobody2 PARTITION default)"
        ),
        "NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox\r\n"
    );
    assert_eq!(
        t.send("GET FULLMAILBOX user.nobody"),
        "NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox\r\n"
    );
    assert_eq!(t.state(), before);
}

#[test]
fn crc_mismatch_keeps_the_changes_and_force_overrides_checks() {
    let mut t = with_inbox();
    let mut r = record(1, 6);
    r.flags.system.flagged = true;
    let mut m = mailbox("user.fred", "U1", vec![r]);
    m.sync_crc = Some(1);
    assert_eq!(
        t.apply(apply_mailbox(m)),
        "NO IMAP_SYNC_CHECKSUM Checksum Failure\r\n"
    );
    let name = MboxName::new("user.fred").unwrap();
    let recs = t.store.records(&name).unwrap();
    assert!(
        recs[0].flags.flagged,
        "changes of a CRC-failed APPLY stay applied"
    );
    assert_eq!(recs[0].modseq, Modseq(6));

    // Replica ahead: refused, then accepted in force mode (csync §5.13).
    let mut m = mailbox("user.fred", "U1", vec![record(1, 3)]);
    m.highestmodseq = Modseq(3);
    assert_eq!(
        t.apply(apply_mailbox(m.clone())),
        "NO IMAP_SYNC_CHECKSUM Checksum Failure\r\n"
    );
    assert_eq!(t.send("APPLY FORCE %()"), "OK success\r\n");
    assert_eq!(t.apply(apply_mailbox(m)), "OK success\r\n");
    let st = t.store.mailbox_state(&name).unwrap().unwrap();
    assert_eq!(st.header.unwrap().highestmodseq, Modseq(3));
    assert_eq!(t.store.records(&name).unwrap()[0].modseq, Modseq(3));
}

#[test]
fn replica_changes_nothing_on_its_own() {
    let mut t = with_inbox();
    let name = MboxName::new("user.fred").unwrap();
    let h = t
        .store
        .mailbox_state(&name)
        .unwrap()
        .unwrap()
        .header
        .unwrap();
    // Mailbox annotations, seen, subscriptions and quota arrive without new modseqs.
    let r = t.send("APPLY ANNOTATION %(MBOXNAME user.fred ENTRY /comment USERID \"\" VALUE hi)");
    assert_eq!(r, "OK success\r\n");
    assert_eq!(
        t.send("APPLY SUB %(USERID fred MBOXNAME user.fred.Gone)"),
        "OK success\r\n"
    );
    assert_eq!(
        t.send("APPLY QUOTA %(ROOT user.fred LIMIT 4294967295 MESSAGE 10 MODSEQ 3)"),
        "OK success\r\n"
    );
    let st = t.store.mailbox_state(&name).unwrap().unwrap();
    assert_eq!(st.header.unwrap(), h);
    assert_eq!(st.annotations.len(), 1);
    assert_eq!(
        t.send("GET QUOTA user.fred"),
        "* QUOTA %(ROOT user.fred LIMIT 4294967295 MESSAGE 10 MODSEQ 3)\r\nOK success\r\n"
    );
    assert_eq!(
        t.send("GET ANNOTATION user.fred"),
        "* ANNOTATION %(MBOXNAME user.fred ENTRY /comment USERID \"\" VALUE hi)\r\nOK success\r\n"
    );
    assert_eq!(
        t.send("APPLY UNANNOTATION %(MBOXNAME user.fred ENTRY /comment USERID \"\")"),
        "OK success\r\n"
    );
    assert_eq!(t.send("GET ANNOTATION user.fred"), "OK success\r\n");
    // Capabilities: always an ENABLED line.
    assert_eq!(
        t.send("APPLY CAPABILITIES (FOO)"),
        "* ENABLED ()\r\nOK success\r\n"
    );
}

#[test]
fn fetch_and_reserve_find_existing_bodies() {
    let mut t = with_inbox();
    t.send("RESTART");
    let g = guid().to_hex();
    assert_eq!(
        t.send(&format!(
            "APPLY RESERVE %(PARTITION default MBOXNAME (user.fred user.none) GUID ({g} {}))",
            Guid::of(b"missing").to_hex()
        )),
        format!(
            "* MISSING ({})\r\nOK success\r\n",
            Guid::of(b"missing").to_hex()
        )
    );
    // The reserved body is usable for a new mailbox without an upload.
    assert_eq!(
        t.apply(apply_mailbox(mailbox(
            "user.fred.Copy",
            "U3",
            vec![record(1, 2)]
        ))),
        "OK success\r\n"
    );
    let got = t.send(&format!(
        "GET FETCH %(MBOXNAME user.fred.Copy PARTITION default UNIQUEID U3 GUID {g} UID 1)"
    ));
    let head = format!("* MESSAGE %{{default {g} {}}}\r\n", BODY.len());
    assert_eq!(
        got,
        format!("{head}{}\r\nOK success\r\n", String::from_utf8_lossy(BODY))
    );
}

#[test]
fn legacy_sieve_commands() {
    let mut t = T::admin();
    let put = "APPLY SIEVE %(USERID fred FILENAME main.script LAST_UPDATE 1700000000 CONTENT \
               {7+}\r\nkeep;\r\n)";
    assert_eq!(t.send(put), "OK success\r\n");
    // Not a `.script` name: ignored, as Cyrus does.
    let junk = "APPLY SIEVE %(USERID fred FILENAME notes.txt LAST_UPDATE 1 CONTENT x)";
    assert_eq!(t.send(junk), "OK success\r\n");
    assert_eq!(
        t.send("APPLY ACTIVATE_SIEVE %(USERID fred FILENAME other.bc)"),
        "NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox\r\n"
    );
    assert_eq!(
        t.send("APPLY ACTIVATE_SIEVE %(USERID fred FILENAME main.bc)"),
        "OK success\r\n"
    );
    let g = Guid::of(b"keep;\r\n").to_hex();
    assert_eq!(
        t.send("GET META fred"),
        format!(
            "* SIEVE %(FILENAME main.script LAST_UPDATE 1700000000 GUID {g} ISACTIVE 0)\r\n\
             * SIEVE %(FILENAME main.bc LAST_UPDATE 0 GUID {} ISACTIVE 1)\r\nOK success\r\n",
            "0".repeat(40)
        )
    );
    assert_eq!(
        t.send("GET FETCH_SIEVE %(USERID fred FILENAME main.script)"),
        "* SIEVE %(USERID fred FILENAME main.script CONTENT {7}\r\nkeep;\r\n)\r\nOK success\r\n"
    );
    assert_eq!(
        t.send("APPLY UNACTIVATE_SIEVE %(USERID fred)"),
        "OK success\r\n"
    );
    assert_eq!(
        t.send("APPLY UNSIEVE %(USERID fred FILENAME main.script)"),
        "OK success\r\n"
    );
    assert_eq!(t.send("GET META fred"), "OK success\r\n");
    assert_eq!(
        t.send("GET FETCH_SIEVE %(USERID fred FILENAME main.script)"),
        "NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox\r\n"
    );
    // In SIEVE-MAILBOX mode GET META has no SIEVE lines.
    t.send(put);
    assert_eq!(
        t.send("APPLY CAPABILITIES (SIEVE-MAILBOX)"),
        "* ENABLED (SIEVE-MAILBOX)\r\nOK success\r\n"
    );
    assert_eq!(t.send("GET META fred"), "OK success\r\n");
}

#[test]
fn unuser_removes_everything_of_the_user() {
    let mut t = with_inbox();
    t.send("APPLY SUB %(USERID fred MBOXNAME user.fred)");
    assert_eq!(t.send("APPLY UNUSER fred"), "OK success\r\n");
    assert_eq!(t.send("GET USER fred"), "OK success\r\n");
    assert_eq!(t.send("APPLY UNUSER \"\""), "OK success\r\n");
}

#[test]
fn imap_flavour_is_tagged_and_admin_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::simple(dir.path())).unwrap());
    let feed = |core: &mut SyncCore, input: &[u8]| {
        let mut out = Vec::new();
        let p = core.feed(input, &mut out).unwrap();
        assert!(p.done);
        assert_eq!(p.consumed, input.len());
        String::from_utf8(out).unwrap()
    };
    let mut user = SyncCore::imap(store.clone(), options(), "t", "fred", false);
    assert_eq!(
        feed(&mut user, b"S0 SYNCGET USER fred\r\n"),
        "S0 NO Permission denied\r\n"
    );
    let mut admin = SyncCore::imap(store.clone(), options(), "t", "admin", true);
    assert_eq!(
        feed(
            &mut admin,
            b"S1 SYNCAPPLY SUB %(USERID fred MBOXNAME user.fred)\r\n"
        ),
        "S1 OK success\r\n"
    );
    assert_eq!(
        feed(&mut admin, b"S2 SYNCGET META fred\r\n"),
        "* LSUB (user.fred)\r\nS2 OK success\r\n"
    );
    assert_eq!(
        feed(&mut admin, b"S3 SYNCRESTART\r\n"),
        "S3 OK Restarting\r\n"
    );
    assert_eq!(
        feed(&mut admin, b"S4 SYNCAPPLY FROB %()\r\n"),
        "S4 NO IMAP_PROTOCOL_ERROR Protocol error\r\n"
    );
}
