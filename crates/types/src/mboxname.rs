//! Cyrus internal mailbox names (replication-behaviour §9.10, csync §3.1) and the owner a
//! name belongs to.
//!
//! Internal form: hierarchy separator `.`, a `.` inside a component written `^`, personal
//! mailboxes `user.<local>[.<folder>…]`, virtual domains as a `<domain>!` prefix, delayed-delete
//! copies `<deletedprefix>.<name>.<hex time>`. Everything else is a shared mailbox.

use std::fmt;

/// The settings that change how internal names map to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameConfig {
    /// `deletedprefix` (default `DELETED`).
    pub deleted_prefix: String,
}

impl Default for NameConfig {
    fn default() -> Self {
        NameConfig {
            deleted_prefix: "DELETED".to_owned(),
        }
    }
}

/// Why a string is not an acceptable internal mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MboxNameError {
    #[error("empty mailbox name")]
    Empty,
    #[error("mailbox name contains a control character (NUL, CR or LF)")]
    ControlChar,
    #[error("mailbox name has an empty hierarchy component")]
    EmptyComponent,
    #[error("invalid userid for a mailbox name")]
    BadUserid,
}

/// An internal mailbox name such as `user.fred.Sent` or `example.com!user.fred`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MboxName(String);

impl MboxName {
    /// Validate an internal name: non-empty, no NUL/CR/LF, no empty component.
    pub fn new(name: impl Into<String>) -> Result<MboxName, MboxNameError> {
        let name = name.into();
        if name.is_empty() {
            return Err(MboxNameError::Empty);
        }
        if name.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
            return Err(MboxNameError::ControlChar);
        }
        let local = match name.split_once('!') {
            Some((_, rest)) => rest,
            None => name.as_str(),
        };
        if local.is_empty() || local.split('.').any(str::is_empty) {
            return Err(MboxNameError::EmptyComponent);
        }
        Ok(MboxName(name))
    }

    /// The INBOX of `userid` (`fred` → `user.fred`, `first.last@example.com` →
    /// `example.com!user.first^last`).
    pub fn user_inbox(userid: &str) -> Result<MboxName, MboxNameError> {
        let (local, domain) = match userid.rsplit_once('@') {
            Some((l, d)) if !d.is_empty() => (l, Some(d)),
            _ => (userid, None),
        };
        if local.is_empty() || local.contains(['^', '!']) {
            return Err(MboxNameError::BadUserid);
        }
        let local = local.replace('.', "^");
        let name = match domain {
            Some(d) => format!("{d}!user.{local}"),
            None => format!("user.{local}"),
        };
        MboxName::new(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The domain prefix, if any (`example.com` for `example.com!user.fred`).
    pub fn domain(&self) -> Option<&str> {
        self.0.split_once('!').map(|(d, _)| d)
    }

    /// The name without its domain prefix.
    pub fn local(&self) -> &str {
        match self.0.split_once('!') {
            Some((_, rest)) => rest,
            None => &self.0,
        }
    }

    /// Local part with a leading `<deletedprefix>.` removed, if it is a delayed-delete name.
    fn undeleted<'a>(&'a self, cfg: &NameConfig) -> (&'a str, bool) {
        let local = self.local();
        let prefix = cfg.deleted_prefix.as_str();
        match local.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
            Some(rest) if !prefix.is_empty() => (rest, true),
            _ => (local, false),
        }
    }

    /// True for a delayed-delete copy (`DELETED.user.fred.Old.65A1B2C3`).
    pub fn is_deleted_copy(&self, cfg: &NameConfig) -> bool {
        self.undeleted(cfg).1
    }

    /// The userid owning this mailbox (`fred`, `first.last@example.com`), or None for a shared
    /// mailbox. Delayed-delete copies belong to the user they were deleted from.
    pub fn userid(&self, cfg: &NameConfig) -> Option<String> {
        let (rest, _) = self.undeleted(cfg);
        let after = rest.strip_prefix("user.")?;
        let local = after.split('.').next().filter(|s| !s.is_empty())?;
        let local = local.replace('^', ".");
        Some(match self.domain() {
            Some(d) => format!("{local}@{d}"),
            None => local,
        })
    }

    /// True if this is a user's INBOX (`user.fred`, `example.com!user.fred`).
    pub fn is_user_inbox(&self) -> bool {
        match self.local().strip_prefix("user.") {
            Some(rest) => !rest.is_empty() && !rest.contains('.'),
            None => false,
        }
    }

    /// The parent in the hierarchy (`user.fred.a.b` → `user.fred.a`), or None at the top.
    pub fn parent(&self) -> Option<MboxName> {
        let local = self.local();
        let (head, _) = local.rsplit_once('.')?;
        let name = match self.domain() {
            Some(d) => format!("{d}!{head}"),
            None => head.to_owned(),
        };
        Some(MboxName(name))
    }

    /// True if `self` is `other` or lies below it in the hierarchy.
    pub fn is_within(&self, other: &MboxName) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&other.0)
                && self.0.as_bytes()[other.0.len()] == b'.')
    }
}

impl fmt::Display for MboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> MboxName {
        MboxName::new(s).unwrap()
    }

    #[test]
    fn owners() {
        let c = NameConfig::default();
        assert_eq!(n("user.fred").userid(&c).as_deref(), Some("fred"));
        assert_eq!(n("user.fred.Sent").userid(&c).as_deref(), Some("fred"));
        assert_eq!(
            n("user.first^last.a^b").userid(&c).as_deref(),
            Some("first.last")
        );
        assert_eq!(
            n("example.com!user.fred.Sent").userid(&c).as_deref(),
            Some("fred@example.com")
        );
        assert_eq!(
            n("DELETED.user.fred.Old.65A1B2C3").userid(&c).as_deref(),
            Some("fred")
        );
        assert_eq!(
            n("example.com!DELETED.user.fred.Sent.65A1B2C3")
                .userid(&c)
                .as_deref(),
            Some("fred@example.com")
        );
        assert_eq!(n("shared.lists").userid(&c), None);
        assert_eq!(n("user").userid(&c), None);
        assert!(n("DELETED.user.fred.Old.65A1B2C3").is_deleted_copy(&c));
        assert!(!n("user.fred").is_deleted_copy(&c));
    }

    #[test]
    fn inbox_and_parents() {
        assert_eq!(MboxName::user_inbox("fred").unwrap().as_str(), "user.fred");
        assert_eq!(
            MboxName::user_inbox("first.last@example.com")
                .unwrap()
                .as_str(),
            "example.com!user.first^last"
        );
        assert!(MboxName::user_inbox("").is_err());
        assert!(n("user.fred").is_user_inbox());
        assert!(!n("user.fred.Sent").is_user_inbox());
        assert!(n("example.com!user.fred").is_user_inbox());
        assert_eq!(n("user.fred.a.b").parent().unwrap().as_str(), "user.fred.a");
        assert_eq!(
            n("example.com!user.fred").parent().unwrap().as_str(),
            "example.com!user"
        );
        assert_eq!(n("shared").parent(), None);
        assert!(n("user.fred.a").is_within(&n("user.fred")));
        assert!(!n("user.freddy").is_within(&n("user.fred")));
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(MboxName::new(""), Err(MboxNameError::Empty));
        assert_eq!(MboxName::new("user..x"), Err(MboxNameError::EmptyComponent));
        assert_eq!(MboxName::new("user.x\r"), Err(MboxNameError::ControlChar));
    }
}
