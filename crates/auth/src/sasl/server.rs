//! Server side of PLAIN (RFC 4616) and LOGIN, as a state machine over decoded bytes.
//!
//! Owns: parsing client messages, the admin-only authzid rule, and the order "verify the
//! password, then authorise".
//!
//! Must not: frame lines, decode base64, sleep after failures (`failedloginpause` is the
//! session's job) or canonicalise identities.
//!
//! Driving it: `let (mut mech, mut step) = ServerMechanism::start(name, initial, &ctx);` then,
//! while `step` is [`Step::Challenge`], send it (`+ ` and base64) and feed the decoded answer
//! to [`ServerMechanism::step`]. A client `*` is handled by the protocol layer (it cancels
//! without calling us).

use crate::sasl::{AuthContext, Mechanism};

/// Longest identity or password we accept in a client message, in bytes. RFC 4616 §2 asks
/// for at least 255; Cyrus userids are far shorter.
pub const MAX_FIELD_LEN: usize = 1024;

/// Longest PLAIN message: three fields and two separators.
pub const MAX_PLAIN_LEN: usize = 3 * MAX_FIELD_LEN + 2;

/// LOGIN's first challenge.
pub const LOGIN_USERNAME_CHALLENGE: &[u8] = b"Username:";
/// LOGIN's second challenge.
pub const LOGIN_PASSWORD_CHALLENGE: &[u8] = b"Password:";

/// Why an exchange failed. `Display` is for logs; [`Failure::sasl_text`] is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Not a mechanism we implement, or not offered on this connection.
    #[error("mechanism {0:?} not available")]
    UnsupportedMechanism(String),
    /// The client message breaks the mechanism's syntax.
    #[error("malformed client response: {0}")]
    Malformed(&'static str),
    /// Unknown user or wrong password (deliberately indistinguishable).
    #[error("authentication failure for {authcid:?}")]
    BadCredentials {
        /// The login name tried.
        authcid: String,
    },
    /// Right password, but the authcid may not act as the requested authzid.
    #[error("{authcid:?} is not allowed to authorize as {authzid:?}")]
    NotAuthorized {
        /// Who authenticated.
        authcid: String,
        /// Whom they asked to act as.
        authzid: String,
    },
    /// The password backend failed (unreadable file, unusable stored hash).
    #[error("password check failed: {0}")]
    Internal(String),
    /// `step` called after the exchange ended.
    #[error("SASL exchange already finished")]
    Finished,
}

impl Failure {
    /// The text to put after `NO` (libsasl's `sasl_errstring` wording, which Cyrus sends),
    /// revealing nothing about users or internals.
    pub fn sasl_text(&self) -> &'static str {
        match self {
            Failure::UnsupportedMechanism(_) => "no mechanism available",
            Failure::Malformed(_) | Failure::Finished => "bad protocol / cancel",
            Failure::BadCredentials { .. } => "authentication failure",
            Failure::NotAuthorized { .. } => "authorization failure",
            Failure::Internal(_) => "generic failure",
        }
    }
}

/// The outcome of one server step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (possibly empty) and call [`ServerMechanism::step`] with the answer.
    Challenge(Vec<u8>),
    /// Authenticated as `authcid`, acting as `authzid` (equal to `authcid` unless an admin
    /// asked to act as someone else).
    Done {
        /// The identity whose password was checked.
        authcid: String,
        /// The identity the session runs as.
        authzid: String,
    },
    /// The exchange failed; answer `NO` (or `BAD` for syntax, at the caller's choice).
    Failed(Failure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    PlainAwaiting,
    LoginUsername,
    LoginPassword { username: String },
    Finished,
}

/// One server-side SASL exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMechanism {
    mechanism: Option<Mechanism>,
    state: State,
}

impl ServerMechanism {
    /// Begin an exchange for the mechanism the client named, with its initial response if it
    /// sent one (`None`: absent; `Some(b"")`: the `=` empty response).
    pub fn start(
        mech_name: &str,
        initial_response: Option<&[u8]>,
        ctx: &AuthContext<'_>,
    ) -> (Self, Step) {
        let Some(mechanism) =
            Mechanism::from_name(mech_name).filter(|m| ctx.mechanisms.contains(m))
        else {
            let this = ServerMechanism {
                mechanism: None,
                state: State::Finished,
            };
            return (
                this,
                Step::Failed(Failure::UnsupportedMechanism(mech_name.to_owned())),
            );
        };
        let mut this = ServerMechanism {
            mechanism: Some(mechanism),
            state: State::Finished,
        };
        let step = match (mechanism, initial_response) {
            (Mechanism::Plain, None) => {
                this.state = State::PlainAwaiting;
                Step::Challenge(Vec::new())
            }
            (Mechanism::Plain, Some(msg)) => plain(msg, ctx),
            // Like libsasl's LOGIN plugin, an empty initial response is no initial response.
            (Mechanism::Login, None) | (Mechanism::Login, Some(b"")) => {
                this.state = State::LoginUsername;
                Step::Challenge(LOGIN_USERNAME_CHALLENGE.to_vec())
            }
            (Mechanism::Login, Some(user)) => this.login_username(user),
        };
        (this, step)
    }

    /// Feed the client's (decoded) answer to the last challenge.
    pub fn step(&mut self, response: &[u8], ctx: &AuthContext<'_>) -> Step {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::PlainAwaiting => plain(response, ctx),
            State::LoginUsername => self.login_username(response),
            State::LoginPassword { username } => login_password(username, response, ctx),
            State::Finished => Step::Failed(Failure::Finished),
        }
    }

    /// The mechanism in use (`None` if `start` refused the name).
    pub fn mechanism(&self) -> Option<Mechanism> {
        self.mechanism
    }

    /// Whether the exchange has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    fn login_username(&mut self, user: &[u8]) -> Step {
        match identity(user, "empty username") {
            Ok(username) => {
                self.state = State::LoginPassword {
                    username: username.to_owned(),
                };
                Step::Challenge(LOGIN_PASSWORD_CHALLENGE.to_vec())
            }
            Err(f) => Step::Failed(f),
        }
    }
}

/// A non-empty UTF-8 identity without control characters, within [`MAX_FIELD_LEN`].
fn identity<'b>(bytes: &'b [u8], empty: &'static str) -> Result<&'b str, Failure> {
    if bytes.is_empty() {
        return Err(Failure::Malformed(empty));
    }
    if bytes.len() > MAX_FIELD_LEN {
        return Err(Failure::Malformed("identity too long"));
    }
    let s = std::str::from_utf8(bytes).map_err(|_| Failure::Malformed("identity not UTF-8"))?;
    if s.chars().any(char::is_control) {
        return Err(Failure::Malformed("control character in identity"));
    }
    Ok(s)
}

fn check_password(authcid: &str, password: &[u8], ctx: &AuthContext<'_>) -> Result<(), Failure> {
    match ctx.passwords.verify(authcid, password) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::BadCredentials {
            authcid: authcid.to_owned(),
        }),
        Err(e) => Err(Failure::Internal(e.to_string())),
    }
}

/// RFC 4616 §2: `[authzid] UTF8NUL authcid UTF8NUL passwd`.
fn plain(msg: &[u8], ctx: &AuthContext<'_>) -> Step {
    match plain_inner(msg, ctx) {
        Ok((authcid, authzid)) => Step::Done { authcid, authzid },
        Err(f) => Step::Failed(f),
    }
}

fn plain_inner(msg: &[u8], ctx: &AuthContext<'_>) -> Result<(String, String), Failure> {
    if msg.is_empty() {
        return Err(Failure::Malformed("empty PLAIN message"));
    }
    if msg.len() > MAX_PLAIN_LEN {
        return Err(Failure::Malformed("PLAIN message too long"));
    }
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Failure::Malformed(
            "expected authzid NUL authcid NUL password",
        ));
    };
    let authcid = identity(authcid, "empty authcid")?;
    let authzid = if authzid.is_empty() {
        authcid
    } else {
        identity(authzid, "empty authzid")?
    };
    if password.is_empty() {
        return Err(Failure::Malformed("empty password"));
    }
    if password.len() > MAX_FIELD_LEN {
        return Err(Failure::Malformed("password too long"));
    }
    // RFC 4616 wants UTF-8 passwords, but clients with Latin-1 passwords exist and libsasl
    // accepts them: the stored hash decides.
    check_password(authcid, password, ctx)?;
    if authzid != authcid && !ctx.admins.is_admin(authcid) {
        return Err(Failure::NotAuthorized {
            authcid: authcid.to_owned(),
            authzid: authzid.to_owned(),
        });
    }
    Ok((authcid.to_owned(), authzid.to_owned()))
}

fn login_password(username: String, password: &[u8], ctx: &AuthContext<'_>) -> Step {
    if password.is_empty() {
        return Step::Failed(Failure::Malformed("empty password"));
    }
    if password.len() > MAX_FIELD_LEN {
        return Step::Failed(Failure::Malformed("password too long"));
    }
    match check_password(&username, password, ctx) {
        Ok(()) => Step::Done {
            authzid: username.clone(),
            authcid: username,
        },
        Err(f) => Step::Failed(f),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::admins::Admins;
    use crate::sasl::{CheckError, PasswordCheck, StaticPasswords};

    fn users() -> StaticPasswords {
        StaticPasswords::new()
            .with("repl", b"secret")
            .with("alice", b"wonder")
            .with("admin", b"root")
    }

    fn with_ctx<R>(f: impl FnOnce(&AuthContext<'_>) -> R) -> R {
        let p = users();
        let admins = Admins::parse("admin");
        let ctx = AuthContext {
            passwords: &p,
            admins: &admins,
            mechanisms: &Mechanism::ALL,
        };
        f(&ctx)
    }

    fn done(authcid: &str, authzid: &str) -> Step {
        Step::Done {
            authcid: authcid.into(),
            authzid: authzid.into(),
        }
    }

    #[test]
    fn plain_with_initial_response() {
        with_ctx(|ctx| {
            let (m, s) = ServerMechanism::start("PLAIN", Some(b"\0repl\0secret"), ctx);
            assert_eq!(s, done("repl", "repl"));
            assert!(m.is_finished());
            assert_eq!(m.mechanism(), Some(Mechanism::Plain));
            // authzid equal to authcid is always fine.
            let (_, s) = ServerMechanism::start("plain", Some(b"alice\0alice\0wonder"), ctx);
            assert_eq!(s, done("alice", "alice"));
        });
    }

    #[test]
    fn plain_without_initial_response() {
        with_ctx(|ctx| {
            let (mut m, s) = ServerMechanism::start("PLAIN", None, ctx);
            assert_eq!(s, Step::Challenge(vec![]));
            assert!(!m.is_finished());
            assert_eq!(m.step(b"\0alice\0wonder", ctx), done("alice", "alice"));
            assert_eq!(
                m.step(b"\0alice\0wonder", ctx),
                Step::Failed(Failure::Finished)
            );
        });
    }

    #[test]
    fn plain_admin_may_act_as_another_user() {
        with_ctx(|ctx| {
            let (_, s) = ServerMechanism::start("PLAIN", Some(b"alice\0admin\0root"), ctx);
            assert_eq!(s, done("admin", "alice"));
            let (_, s) = ServerMechanism::start("PLAIN", Some(b"admin\0alice\0wonder"), ctx);
            assert_eq!(
                s,
                Step::Failed(Failure::NotAuthorized {
                    authcid: "alice".into(),
                    authzid: "admin".into()
                })
            );
            // Wrong password: authentication failure, whatever the authzid.
            let (_, s) = ServerMechanism::start("PLAIN", Some(b"alice\0admin\0nope"), ctx);
            assert!(matches!(s, Step::Failed(Failure::BadCredentials { .. })));
            assert_eq!(
                Failure::NotAuthorized {
                    authcid: "a".into(),
                    authzid: "b".into()
                }
                .sasl_text(),
                "authorization failure"
            );
        });
    }

    #[test]
    fn plain_rejects_bad_credentials_and_malformed() {
        with_ctx(|ctx| {
            let bad = |msg: &[u8]| {
                let (m, s) = ServerMechanism::start("PLAIN", Some(msg), ctx);
                assert!(m.is_finished());
                match s {
                    Step::Failed(f) => f,
                    other => panic!("{msg:?}: {other:?}"),
                }
            };
            assert!(matches!(
                bad(b"\0repl\0wrong"),
                Failure::BadCredentials { .. }
            ));
            assert!(matches!(
                bad(b"\0nobody\0secret"),
                Failure::BadCredentials { .. }
            ));
            assert!(matches!(
                bad(b"\0repl\0\xff\xfe"),
                Failure::BadCredentials { .. }
            ));
            for msg in [
                &b""[..],
                b"repl",
                b"\0repl",
                b"\0repl\0",
                b"\0\0secret",
                b"\0repl\0secret\0",
                b"\0repl\0sec\0ret",
                b"\0\0\0",
                b"\0re\xffpl\0secret",
                b"\0re\npl\0secret",
            ] {
                assert!(matches!(bad(msg), Failure::Malformed(_)), "{msg:?}");
            }
            let mut long = b"\0repl\0".to_vec();
            long.extend(std::iter::repeat_n(b'x', MAX_PLAIN_LEN));
            assert_eq!(bad(&long), Failure::Malformed("PLAIN message too long"));
            let mut long_user = vec![0];
            long_user.extend(std::iter::repeat_n(b'u', MAX_FIELD_LEN + 1));
            long_user.extend(b"\0pw");
            assert!(matches!(bad(&long_user), Failure::Malformed(_)));
        });
    }

    #[test]
    fn unsupported_or_not_offered() {
        with_ctx(|ctx| {
            let (m, s) = ServerMechanism::start("CRAM-MD5", None, ctx);
            assert!(m.is_finished());
            assert_eq!(m.mechanism(), None);
            assert_eq!(
                s,
                Step::Failed(Failure::UnsupportedMechanism("CRAM-MD5".into()))
            );
        });
        // allowplaintext off and no TLS: nothing offered, PLAIN refused.
        let p = users();
        let admins = Admins::default();
        let ctx = AuthContext {
            passwords: &p,
            admins: &admins,
            mechanisms: &[],
        };
        let (_, s) = ServerMechanism::start("PLAIN", Some(b"\0repl\0secret"), &ctx);
        assert!(matches!(s, Step::Failed(Failure::UnsupportedMechanism(_))));
    }

    #[test]
    fn login_full_exchange() {
        with_ctx(|ctx| {
            let (mut m, s) = ServerMechanism::start("LOGIN", None, ctx);
            assert_eq!(s, Step::Challenge(b"Username:".to_vec()));
            assert_eq!(
                m.step(b"alice", ctx),
                Step::Challenge(b"Password:".to_vec())
            );
            assert_eq!(m.step(b"wonder", ctx), done("alice", "alice"));
            assert!(m.is_finished());

            let (mut m, s) = ServerMechanism::start("login", Some(b"repl"), ctx);
            assert_eq!(s, Step::Challenge(b"Password:".to_vec()));
            assert!(matches!(
                m.step(b"bad", ctx),
                Step::Failed(Failure::BadCredentials { .. })
            ));

            let (mut m, s) = ServerMechanism::start("LOGIN", Some(b""), ctx);
            assert_eq!(s, Step::Challenge(b"Username:".to_vec()));
            assert!(matches!(
                m.step(b"", ctx),
                Step::Failed(Failure::Malformed(_))
            ));
            assert!(matches!(
                m.step(b"alice", ctx),
                Step::Failed(Failure::Finished)
            ));

            let (mut m, _) = ServerMechanism::start("LOGIN", Some(b"alice"), ctx);
            assert!(matches!(
                m.step(b"", ctx),
                Step::Failed(Failure::Malformed(_))
            ));
            let (_, s) = ServerMechanism::start("LOGIN", Some(b"al\0ice"), ctx);
            assert!(matches!(s, Step::Failed(Failure::Malformed(_))));
        });
    }

    struct Broken;
    impl PasswordCheck for Broken {
        fn verify(&self, _: &str, _: &[u8]) -> Result<bool, CheckError> {
            Err(CheckError::Other("disk on fire".into()))
        }
    }

    #[test]
    fn backend_errors_are_internal_failures() {
        let admins = Admins::default();
        let ctx = AuthContext {
            passwords: &Broken,
            admins: &admins,
            mechanisms: &Mechanism::ALL,
        };
        let (_, s) = ServerMechanism::start("PLAIN", Some(b"\0a\0b"), &ctx);
        let Step::Failed(f) = s else { panic!("{s:?}") };
        assert_eq!(f, Failure::Internal("disk on fire".into()));
        assert_eq!(f.sasl_text(), "generic failure");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            mech in prop::sample::select(vec!["PLAIN", "LOGIN", "plain", "XOAUTH2", ""]),
            initial in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
            responses in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..4),
        ) {
            with_ctx(|ctx| {
                let (mut m, first) = ServerMechanism::start(mech, initial.as_deref(), ctx);
                let mut steps = vec![first];
                for r in &responses {
                    steps.push(m.step(r, ctx));
                }
                for s in steps {
                    if let Step::Done { authcid, authzid } = &s {
                        // Success only ever for a real user, acting as self unless admin.
                        prop_assert!(["repl", "alice", "admin"].contains(&authcid.as_str()));
                        prop_assert!(authcid == authzid || authcid == "admin");
                    }
                }
                Ok(())
            })?;
        }

        #[test]
        fn plain_fields_round_trip(
            authzid in "[a-z]{0,8}",
            pw in "[ -~]{1,16}",
        ) {
            let p = StaticPasswords::new().with("user", pw.as_bytes());
            let admins = Admins::parse("user");
            let ctx = AuthContext { passwords: &p, admins: &admins, mechanisms: &Mechanism::ALL };
            let msg = format!("{authzid}\0user\0{pw}");
            let (_, s) = ServerMechanism::start("PLAIN", Some(msg.as_bytes()), &ctx);
            let expect_z = if authzid.is_empty() { "user".to_owned() } else { authzid };
            prop_assert_eq!(s, Step::Done { authcid: "user".into(), authzid: expect_z });
        }
    }
}
