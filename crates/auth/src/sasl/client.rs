//! Client side of PLAIN (RFC 4616) and LOGIN, for `sync_client` and tests: builds the initial
//! response and answers challenges.
//!
//! Owns: message construction and the order of LOGIN answers.
//!
//! Must not: frame lines or decode base64 (see [`crate::b64`]), or choose a mechanism on its
//! own (see [`crate::sasl::choose_client_mechanism`]).

use crate::sasl::Mechanism;

/// What the client authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Login name (`sync_authname`, possibly `user@realm`).
    pub authcid: String,
    /// Identity to act as; `None` (what Cyrus's sync_client sends) means "myself". PLAIN only.
    pub authzid: Option<String>,
    /// The password (`sync_password`).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("authcid", &self.authcid)
            .field("authzid", &self.authzid)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why the client cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Credentials the mechanism cannot carry (empty authcid or password, NUL inside).
    #[error("invalid credentials: {0}")]
    InvalidCredentials(&'static str),
    /// LOGIN has no authorization identity.
    #[error("mechanism {0} cannot carry an authorization identity")]
    AuthzidUnsupported(Mechanism),
    /// The server sent a challenge the mechanism does not expect here.
    #[error("unexpected server challenge for {0}")]
    UnexpectedChallenge(Mechanism),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing sent yet.
    Start,
    /// PLAIN message sent / LOGIN username sent.
    Sent,
    /// LOGIN password sent.
    Finished,
}

/// One client-side SASL exchange.
#[derive(Debug, Clone)]
pub struct ClientMechanism {
    mechanism: Mechanism,
    credentials: Credentials,
    state: State,
}

impl ClientMechanism {
    /// Prepare an exchange, checking the credentials fit the mechanism.
    pub fn new(mechanism: Mechanism, credentials: Credentials) -> Result<Self, ClientError> {
        if credentials.authcid.is_empty() {
            return Err(ClientError::InvalidCredentials("empty authcid"));
        }
        if credentials.password.is_empty() {
            return Err(ClientError::InvalidCredentials("empty password"));
        }
        let has_nul = |s: &str| s.contains('\0');
        if has_nul(&credentials.authcid)
            || has_nul(&credentials.password)
            || credentials.authzid.as_deref().is_some_and(has_nul)
        {
            return Err(ClientError::InvalidCredentials(
                "NUL in identity or password",
            ));
        }
        if mechanism == Mechanism::Login
            && credentials
                .authzid
                .as_deref()
                .is_some_and(|z| !z.is_empty() && *z != credentials.authcid)
        {
            return Err(ClientError::AuthzidUnsupported(mechanism));
        }
        Ok(ClientMechanism {
            mechanism,
            credentials,
            state: State::Start,
        })
    }

    /// The mechanism in use.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response to send with `AUTHENTICATE` (encode it with
    /// [`crate::b64::encode_initial_response`]), or `None` to send none. PLAIN has one; LOGIN
    /// waits for `Username:` (not every server accepts a LOGIN initial response).
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        match (self.mechanism, self.state) {
            (Mechanism::Plain, State::Start) => {
                self.state = State::Sent;
                Some(self.plain_message())
            }
            _ => None,
        }
    }

    /// Answer a (decoded) server challenge.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        match (self.mechanism, self.state) {
            // No initial response was sent: the server asks with an empty challenge.
            (Mechanism::Plain, State::Start) if challenge.is_empty() => {
                self.state = State::Sent;
                Ok(self.plain_message())
            }
            // LOGIN answers by position ("Username:", then "Password:"), as every client does;
            // the challenge text is not standardised.
            (Mechanism::Login, State::Start) => {
                self.state = State::Sent;
                Ok(self.credentials.authcid.as_bytes().to_vec())
            }
            (Mechanism::Login, State::Sent) => {
                self.state = State::Finished;
                Ok(self.credentials.password.as_bytes().to_vec())
            }
            _ => Err(ClientError::UnexpectedChallenge(self.mechanism)),
        }
    }

    fn plain_message(&self) -> Vec<u8> {
        let c = &self.credentials;
        let authzid = c.authzid.as_deref().unwrap_or("");
        let mut msg = Vec::with_capacity(authzid.len() + c.authcid.len() + c.password.len() + 2);
        msg.extend_from_slice(authzid.as_bytes());
        msg.push(0);
        msg.extend_from_slice(c.authcid.as_bytes());
        msg.push(0);
        msg.extend_from_slice(c.password.as_bytes());
        msg
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::admins::Admins;
    use crate::b64;
    use crate::sasl::server::{ServerMechanism, Step};
    use crate::sasl::{AuthContext, StaticPasswords};

    fn creds(authcid: &str, authzid: Option<&str>, password: &str) -> Credentials {
        Credentials {
            authcid: authcid.into(),
            authzid: authzid.map(Into::into),
            password: password.into(),
        }
    }

    #[test]
    fn plain_initial_response_matches_csync_example() {
        let mut c = ClientMechanism::new(Mechanism::Plain, creds("repl", None, "secret")).unwrap();
        let ir = c.initial_response().unwrap();
        assert_eq!(b64::encode_initial_response(&ir), "AHJlcGwAc2VjcmV0");
        assert_eq!(c.initial_response(), None);
        assert_eq!(
            c.step(b""),
            Err(ClientError::UnexpectedChallenge(Mechanism::Plain))
        );
    }

    #[test]
    fn plain_without_initial_response_and_authzid() {
        let mut c =
            ClientMechanism::new(Mechanism::Plain, creds("admin", Some("alice"), "pw")).unwrap();
        assert_eq!(c.step(b"").unwrap(), b"alice\0admin\0pw");
        assert!(c.step(b"").is_err());
        let mut c = ClientMechanism::new(Mechanism::Plain, creds("a", None, "pw")).unwrap();
        assert!(c.step(b"nonempty").is_err());
    }

    #[test]
    fn login_answers_in_order() {
        let mut c = ClientMechanism::new(Mechanism::Login, creds("alice", None, "wonder")).unwrap();
        assert_eq!(c.initial_response(), None);
        assert_eq!(c.step(b"Username:").unwrap(), b"alice");
        assert_eq!(c.step(b"Password:").unwrap(), b"wonder");
        assert_eq!(
            c.step(b"?"),
            Err(ClientError::UnexpectedChallenge(Mechanism::Login))
        );
    }

    #[test]
    fn invalid_credentials() {
        assert!(ClientMechanism::new(Mechanism::Plain, creds("", None, "x")).is_err());
        assert!(ClientMechanism::new(Mechanism::Plain, creds("a", None, "")).is_err());
        assert!(ClientMechanism::new(Mechanism::Plain, creds("a\0b", None, "x")).is_err());
        assert!(ClientMechanism::new(Mechanism::Plain, creds("a", Some("\0"), "x")).is_err());
        assert_eq!(
            ClientMechanism::new(Mechanism::Login, creds("a", Some("b"), "x")).unwrap_err(),
            ClientError::AuthzidUnsupported(Mechanism::Login)
        );
        assert!(ClientMechanism::new(Mechanism::Login, creds("a", Some("a"), "x")).is_ok());
        let dbg = format!("{:?}", creds("a", None, "topsecret"));
        assert!(!dbg.contains("topsecret"));
    }

    /// Run a client against a server through base64 text, as over the wire.
    fn converse(mech: Mechanism, c: Credentials, use_ir: bool) -> Step {
        let p = StaticPasswords::new()
            .with("alice", b"wonder")
            .with("admin", b"root");
        let admins = Admins::parse("admin");
        let ctx = AuthContext {
            passwords: &p,
            admins: &admins,
            mechanisms: &Mechanism::ALL,
        };
        let mut client = ClientMechanism::new(mech, c).unwrap();
        let ir = if use_ir {
            client.initial_response()
        } else {
            None
        };
        let ir_text = ir.map(|r| b64::encode_initial_response(&r));
        let ir_bytes = ir_text.map(|t| b64::decode(t.as_bytes()).unwrap());
        let (mut server, mut step) = ServerMechanism::start(mech.name(), ir_bytes.as_deref(), &ctx);
        for _ in 0..5 {
            let Step::Challenge(ch) = &step else {
                return step;
            };
            let ch = b64::decode(b64::encode(ch).as_bytes()).unwrap();
            let answer = client.step(&ch).unwrap();
            let line = b64::encode(&answer);
            let b64::ClientLine::Response(r) = b64::decode_client_line(line.as_bytes()).unwrap()
            else {
                panic!("cancel")
            };
            step = server.step(&r, &ctx);
        }
        step
    }

    #[test]
    fn client_against_server() {
        let ok = |z: &str| Step::Done {
            authcid: "alice".into(),
            authzid: z.into(),
        };
        assert_eq!(
            converse(Mechanism::Plain, creds("alice", None, "wonder"), true),
            ok("alice")
        );
        assert_eq!(
            converse(Mechanism::Plain, creds("alice", None, "wonder"), false),
            ok("alice")
        );
        assert_eq!(
            converse(Mechanism::Login, creds("alice", None, "wonder"), true),
            ok("alice")
        );
        assert_eq!(
            converse(
                Mechanism::Plain,
                creds("admin", Some("alice"), "root"),
                true
            ),
            Step::Done {
                authcid: "admin".into(),
                authzid: "alice".into()
            }
        );
        assert!(matches!(
            converse(Mechanism::Login, creds("alice", None, "nope"), false),
            Step::Failed(_)
        ));
    }

    proptest! {
        #[test]
        fn client_never_panics_on_challenges(
            mech in prop::sample::select(vec![Mechanism::Plain, Mechanism::Login]),
            use_ir in any::<bool>(),
            challenges in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..32), 0..5),
        ) {
            let mut c = ClientMechanism::new(mech, creds("u", None, "p")).unwrap();
            if use_ir {
                let _ = c.initial_response();
            }
            for ch in &challenges {
                let _ = c.step(ch);
            }
        }

        #[test]
        fn b64_decode_never_panics(text in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(b64::ClientLine::Response(bytes)) = b64::decode_client_line(&text) {
                // Whatever decodes re-encodes to the same canonical text.
                if !text.is_empty() && text != b"=" {
                    let again = b64::encode(&bytes);
                    prop_assert_eq!(again.as_bytes(), &text[..]);
                }
            }
        }
    }
}
