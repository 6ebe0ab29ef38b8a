//! SASL exchanges checked against a real password file, the way the servers will wire it.

#![allow(clippy::unwrap_used)]

use auth::sasl::server_mechanisms;
use auth::{Admins, AuthContext, Failure, PasswdFile, ServerMechanism, SetMode, Step, b64};

/// `openssl passwd -6 -salt saltsaltsalt secret`
const SHA512_SECRET: &str = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts.";

#[test]
fn csync_authenticate_against_passwd_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = auth::passwd::passwd_path(dir.path(), None);
    let file = PasswdFile::new(&path).with_default_realm(Some("cyrus-replica".into()));
    file.set_hash(
        "repl",
        Some("cyrus-replica"),
        SHA512_SECRET,
        SetMode::CreateNew,
    )
    .unwrap();
    file.set_password("alice", None, b"wonder", SetMode::CreateNew)
        .unwrap();

    let admins = Admins::parse("repl");
    let mechs = server_mechanisms(false, true, Some("PLAIN LOGIN"));
    let ctx = AuthContext {
        passwords: &file,
        admins: &admins,
        mechanisms: &mechs,
    };

    // csync-protocol §1.5 example line: AUTHENTICATE PLAIN AHJlcGwAc2VjcmV0
    let ir = b64::decode(b"AHJlcGwAc2VjcmV0").unwrap();
    let (_, step) = ServerMechanism::start("PLAIN", Some(&ir), &ctx);
    assert_eq!(
        step,
        Step::Done {
            authcid: "repl".into(),
            authzid: "repl".into()
        }
    );
    assert!(admins.is_admin("repl"));

    // Admin acting as alice; alice cannot act as repl.
    let (_, step) = ServerMechanism::start("PLAIN", Some(b"alice\0repl\0secret"), &ctx);
    assert_eq!(
        step,
        Step::Done {
            authcid: "repl".into(),
            authzid: "alice".into()
        }
    );
    let (_, step) = ServerMechanism::start("PLAIN", Some(b"repl\0alice\0wonder"), &ctx);
    assert!(matches!(step, Step::Failed(Failure::NotAuthorized { .. })));

    // LOGIN over the same file.
    let (mut m, _) = ServerMechanism::start("LOGIN", None, &ctx);
    m.step(b"alice", &ctx);
    assert_eq!(
        m.step(b"wonder", &ctx),
        Step::Done {
            authcid: "alice".into(),
            authzid: "alice".into()
        }
    );

    // A broken file is an internal failure, not "wrong password".
    std::fs::write(&path, "no colon here\n").unwrap();
    let (_, step) = ServerMechanism::start("PLAIN", Some(b"\0alice\0wonder"), &ctx);
    let Step::Failed(f) = step else {
        panic!("{step:?}")
    };
    assert!(matches!(f, Failure::Internal(_)), "{f:?}");
    assert_eq!(f.sasl_text(), "generic failure");
}
