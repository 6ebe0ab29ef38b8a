//! Who is a Cyrus administrator: the `admins:` option (or a service's `<service>_admins`,
//! which the config layer resolves before calling us).
//!
//! Owns: parsing the whitespace-separated list and the membership test.
//!
//! Must not: read configuration files or canonicalise userids (lower-casing, default-domain
//! stripping); callers pass the canonical identity the session authenticated as. Group
//! entries (`group:name`) are kept verbatim and only match an identical identity, since we
//! have no group membership source yet.

use std::collections::BTreeSet;

/// The parsed `admins:` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admins {
    ids: BTreeSet<String>,
}

impl Admins {
    /// Parse a whitespace-separated list of identities, as Cyrus's `global_authisa` splits it.
    /// Empty or blank means nobody is an admin.
    pub fn parse(value: &str) -> Self {
        Admins {
            ids: value.split_whitespace().map(str::to_owned).collect(),
        }
    }

    /// Whether `userid` is listed (exact, case-sensitive match).
    pub fn is_admin(&self, userid: &str) -> bool {
        self.ids.contains(userid)
    }

    /// Whether no identity is listed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The listed identities, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let a = Admins::parse("  admin\tcyrus   repl@example.com\n");
        assert!(a.is_admin("admin"));
        assert!(a.is_admin("cyrus"));
        assert!(a.is_admin("repl@example.com"));
        assert!(!a.is_admin("Admin"));
        assert!(!a.is_admin(""));
        assert!(!a.is_admin("adm"));
        assert_eq!(a.iter().count(), 3);
        assert!(Admins::parse("").is_empty());
        assert!(!Admins::parse("   ").is_admin(""));
    }
}
