//! SASL (RFC 4422) for our servers and for `sync_client`: the mechanisms we implement, which
//! ones to offer, and the password-check seam.
//!
//! Owns: mechanism names and selection (`sasl_mech_list`, `allowplaintext`), the
//! [`PasswordCheck`] trait and the [`AuthContext`] a server exchange runs against. The
//! exchanges themselves are in [`server`] and [`client`].
//!
//! Must not: do I/O. Everything here works on decoded bytes; base64 and line framing belong to
//! the protocol layer (helpers in [`crate::b64`]). Password checks are synchronous and may
//! cost tens of milliseconds (argon2): an async server runs `start`/`step` on a blocking
//! thread.

pub mod client;
pub mod server;

use std::collections::BTreeMap;

use crate::admins::Admins;
use crate::passwd::{PasswdError, PasswdFile};

/// The SASL mechanisms we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    /// RFC 4616.
    Plain,
    /// The de-facto LOGIN mechanism (draft-murchison-sasl-login): `Username:`, `Password:`.
    Login,
}

impl Mechanism {
    /// Every mechanism, in our order of preference.
    pub const ALL: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

    /// Look a mechanism up by its registered name, case-insensitively (RFC 4422 §3.1).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The registered (upper-case) name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }

    /// Whether the password crosses the wire in the clear (so it needs TLS or
    /// `allowplaintext`).
    pub fn is_plaintext(self) -> bool {
        match self {
            Mechanism::Plain | Mechanism::Login => true,
        }
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The mechanisms a server offers: those named in `sasl_mech_list` (space-separated, its
/// order, unknown names ignored) or all of ours when it is unset or blank, minus plaintext
/// mechanisms unless TLS is active or `allowplaintext` is on.
pub fn server_mechanisms(
    tls_active: bool,
    allow_plaintext: bool,
    sasl_mech_list: Option<&str>,
) -> Vec<Mechanism> {
    let configured: Vec<Mechanism> = match sasl_mech_list {
        Some(list) if !list.trim().is_empty() => {
            let mut out = Vec::new();
            for m in list.split_whitespace().filter_map(Mechanism::from_name) {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            out
        }
        _ => Mechanism::ALL.to_vec(),
    };
    configured
        .into_iter()
        .filter(|m| !m.is_plaintext() || tls_active || allow_plaintext)
        .collect()
}

/// Space-separated names, for an IMAP `AUTH=` capability list or a csync `* SASL` line.
pub fn mechanism_names(mechs: &[Mechanism]) -> String {
    mechs.iter().map(|m| m.name()).collect::<Vec<_>>().join(" ")
}

/// The mechanism a client uses: the first of ours (PLAIN, then LOGIN) that the server offered
/// and, if `restrict` is given (`force_sasl_client_mech`, space-separated), that it names.
pub fn choose_client_mechanism<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    restrict: Option<&str>,
) -> Option<Mechanism> {
    let offered: Vec<Mechanism> = offered
        .into_iter()
        .filter_map(Mechanism::from_name)
        .collect();
    let allowed = |m: &Mechanism| match restrict {
        Some(r) if !r.trim().is_empty() => r
            .split_whitespace()
            .any(|n| n.eq_ignore_ascii_case(m.name())),
        _ => true,
    };
    Mechanism::ALL
        .into_iter()
        .find(|m| offered.contains(m) && allowed(m))
}

/// Why a password could not be checked at all (as opposed to "wrong password").
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The password file could not be read or holds an unusable entry.
    #[error(transparent)]
    Passwd(#[from] PasswdError),
    /// Any other backend failure.
    #[error("{0}")]
    Other(String),
}

/// The seam between SASL and the user database.
pub trait PasswordCheck {
    /// Whether `password` is right for the login name `authcid`. `Ok(false)` for an unknown
    /// user or a wrong password, without saying which.
    fn verify(&self, authcid: &str, password: &[u8]) -> Result<bool, CheckError>;
}

impl PasswordCheck for PasswdFile {
    fn verify(&self, authcid: &str, password: &[u8]) -> Result<bool, CheckError> {
        Ok(self.verify_login(authcid, password)?)
    }
}

/// A fixed in-memory user table, for tests and examples (passwords held in the clear).
#[derive(Clone, Default)]
pub struct StaticPasswords {
    users: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for StaticPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticPasswords")
            .field("users", &self.users.keys())
            .finish()
    }
}

impl StaticPasswords {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a user.
    pub fn with(mut self, authcid: &str, password: &[u8]) -> Self {
        self.users.insert(authcid.to_owned(), password.to_vec());
        self
    }
}

impl PasswordCheck for StaticPasswords {
    fn verify(&self, authcid: &str, password: &[u8]) -> Result<bool, CheckError> {
        let Some(expected) = self.users.get(authcid) else {
            return Ok(false);
        };
        // Length leaks; content does not.
        let diff = expected.len() ^ password.len();
        let acc = expected
            .iter()
            .zip(password)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        Ok(diff == 0 && acc == 0)
    }
}

/// What a server-side exchange needs: the user database, the admin list (for PLAIN's
/// authzid), and the mechanisms this connection offers (normally [`server_mechanisms`];
/// starting any other fails, so `allowplaintext` cannot be bypassed).
///
/// Cyrus also lets `proxyservers` act for others; a caller that wants that passes an
/// [`Admins`] holding both lists.
#[derive(Clone, Copy)]
pub struct AuthContext<'a> {
    /// The password database.
    pub passwords: &'a dyn PasswordCheck,
    /// Identities allowed to authorise as someone else.
    pub admins: &'a Admins,
    /// Mechanisms offered on this connection.
    pub mechanisms: &'a [Mechanism],
}

impl std::fmt::Debug for AuthContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthContext")
            .field("admins", self.admins)
            .field("mechanisms", &self.mechanisms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("LOGIN"), Some(Mechanism::Login));
        assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
        assert_eq!(Mechanism::Plain.to_string(), "PLAIN");
    }

    #[test]
    fn offered_list_honours_tls_and_allowplaintext() {
        use Mechanism::*;
        assert_eq!(server_mechanisms(false, false, None), []);
        assert_eq!(server_mechanisms(true, false, None), [Plain, Login]);
        assert_eq!(server_mechanisms(false, true, None), [Plain, Login]);
        assert_eq!(
            server_mechanisms(false, true, Some("login DIGEST-MD5 plain LOGIN")),
            [Login, Plain]
        );
        assert_eq!(server_mechanisms(true, false, Some("PLAIN")), [Plain]);
        assert_eq!(server_mechanisms(true, false, Some("  ")), [Plain, Login]);
        assert_eq!(server_mechanisms(true, true, Some("SCRAM-SHA-256")), []);
        assert_eq!(mechanism_names(&[Plain, Login]), "PLAIN LOGIN");
    }

    #[test]
    fn client_choice() {
        assert_eq!(
            choose_client_mechanism(["LOGIN", "PLAIN"], None),
            Some(Mechanism::Plain)
        );
        assert_eq!(
            choose_client_mechanism(["login"], None),
            Some(Mechanism::Login)
        );
        assert_eq!(
            choose_client_mechanism(["LOGIN", "PLAIN"], Some("login")),
            Some(Mechanism::Login)
        );
        assert_eq!(choose_client_mechanism(["SCRAM-SHA-1"], None), None);
        assert_eq!(choose_client_mechanism(["PLAIN"], Some("LOGIN")), None);
    }

    #[test]
    fn static_passwords() {
        let p = StaticPasswords::new().with("a", b"pw");
        assert!(p.verify("a", b"pw").unwrap());
        assert!(!p.verify("a", b"pW").unwrap());
        assert!(!p.verify("a", b"pw2").unwrap());
        assert!(!p.verify("b", b"pw").unwrap());
    }
}
