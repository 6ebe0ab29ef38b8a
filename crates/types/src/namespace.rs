//! IMAP mailbox names as a client sees them ("external") versus Cyrus internal names, under
//! the `altnamespace`, `unixhierarchysep`, `userprefix` and `sharedprefix` settings.
//!
//! Owns: the two-way mapping for one viewer (a userid, or an admin), the hierarchy separator
//! and the NAMESPACE response data. Names stay in modified UTF-7 on both sides, as Cyrus
//! stores them; this module never transcodes.
//! Must not: check rights or existence — a name that maps is not a name that exists.
//!
//! Rules (Cyrus 3.6 `mboxname_to_external` / `mboxname_from_external`):
//! - Internal names always use `.` between levels. With `unixhierarchysep: yes` the client's
//!   separator is `/` and a `.` inside a level is stored as `^`.
//! - The viewer's own `user.<id>` is `INBOX` (any case on input). In the standard namespace its
//!   children are `INBOX<sep>child`; in the alternate namespace they are top level.
//! - Other users: `user<sep>bob...` (standard) or `<userprefix><sep>bob...` (alternate).
//! - Shared mailboxes: as is (standard) or under `<sharedprefix><sep>` (alternate).
//! - Admins always get the standard namespace (Cyrus initialises theirs with `isadmin`).
//! - With virtual domains, a viewer `alice@example.com` sees only `example.com!` names, with
//!   the domain dropped; an admin without a domain sees `user<sep>bob@example.com`.

use std::fmt;

use crate::mboxname::MboxName;

/// A viewer's namespace settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// `altnamespace` (and the viewer is not an admin).
    pub alt: bool,
    /// `unixhierarchysep`: `/` instead of `.`.
    pub unix_sep: bool,
    /// `userprefix` (default "Other Users").
    pub user_prefix: String,
    /// `sharedprefix` (default "Shared Folders").
    pub shared_prefix: String,
}

/// Why an external name has no internal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceError {
    /// Empty, or an empty level (`a//b`, trailing separator).
    Empty,
    /// A character Cyrus refuses in mailbox names (control characters, `^` typed by the client
    /// when `/` is the separator is allowed but `.` levels are not, …).
    BadCharacter(char),
    /// A name inside the prefixes that names no mailbox (`Other Users` alone, `INBOX` for a
    /// viewer with no userid).
    NotAMailbox,
}

impl fmt::Display for NamespaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespaceError::Empty => f.write_str("Invalid mailbox name"),
            NamespaceError::BadCharacter(c) => write!(f, "Invalid mailbox name (character {c:?})"),
            NamespaceError::NotAMailbox => f.write_str("Invalid mailbox name"),
        }
    }
}

impl std::error::Error for NamespaceError {}

/// Who is looking: a user (possibly `user@domain`) or an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer<'a> {
    /// The authorisation identity, `None` for an anonymous or pre-auth view.
    pub userid: Option<&'a str>,
    /// Admins see the standard namespace.
    pub admin: bool,
}

impl Default for Namespace {
    fn default() -> Namespace {
        Namespace {
            alt: false,
            unix_sep: false,
            user_prefix: "Other Users".to_owned(),
            shared_prefix: "Shared Folders".to_owned(),
        }
    }
}

impl Namespace {
    /// The hierarchy separator clients see.
    pub fn sep(&self) -> char {
        if self.unix_sep { '/' } else { '.' }
    }

    fn is_alt(&self, viewer: Viewer<'_>) -> bool {
        self.alt && !viewer.admin
    }

    /// Split `user@domain` into (`user`, `Some(domain)`).
    fn split_userid(userid: &str) -> (&str, Option<&str>) {
        match userid.rsplit_once('@') {
            Some((u, d)) if !u.is_empty() && !d.is_empty() => (u, Some(d)),
            _ => (userid, None),
        }
    }

    /// One external level to its internal form.
    fn level_to_internal(&self, level: &str, out: &mut String) -> Result<(), NamespaceError> {
        if level.is_empty() {
            return Err(NamespaceError::Empty);
        }
        for c in level.chars() {
            if c.is_control() {
                return Err(NamespaceError::BadCharacter(c));
            }
            match c {
                '.' if self.unix_sep => out.push('^'),
                '.' => return Err(NamespaceError::Empty),
                '!' => return Err(NamespaceError::BadCharacter(c)),
                c => out.push(c),
            }
        }
        Ok(())
    }

    /// A userid as one internal level: `.` is always stored as `^` (as `MboxName::user_inbox`).
    fn user_to_internal(&self, local: &str, out: &mut String) -> Result<(), NamespaceError> {
        if local.is_empty() {
            return Err(NamespaceError::Empty);
        }
        for c in local.chars() {
            match c {
                '.' => out.push('^'),
                '!' | '^' => return Err(NamespaceError::BadCharacter(c)),
                c if c.is_control() => return Err(NamespaceError::BadCharacter(c)),
                c => out.push(c),
            }
        }
        Ok(())
    }

    fn levels_to_internal(&self, levels: &[&str], out: &mut String) -> Result<(), NamespaceError> {
        for level in levels {
            out.push('.');
            self.level_to_internal(level, out)?;
        }
        Ok(())
    }

    /// The internal name of `external` as `viewer` means it.
    pub fn to_internal(
        &self,
        external: &str,
        viewer: Viewer<'_>,
    ) -> Result<MboxName, NamespaceError> {
        if external.is_empty() {
            return Err(NamespaceError::Empty);
        }
        let levels: Vec<&str> = external.split(self.sep()).collect();
        if levels.iter().any(|l| l.is_empty()) {
            return Err(NamespaceError::Empty);
        }
        let (viewer_local, viewer_domain) = match viewer.userid {
            Some(u) => {
                let (l, d) = Self::split_userid(u);
                (Some(l), d)
            }
            None => (None, None),
        };
        let alt = self.is_alt(viewer);
        let mut out = String::new();
        let domain_prefix = |out: &mut String, domain: Option<&str>| {
            if let Some(d) = domain {
                out.push_str(d);
                out.push('!');
            }
        };

        let first = levels[0];
        let rest = &levels[1..];
        if first.eq_ignore_ascii_case("INBOX") {
            let Some(local) = viewer_local else {
                return Err(NamespaceError::NotAMailbox);
            };
            domain_prefix(&mut out, viewer_domain);
            out.push_str("user.");
            self.user_to_internal(local, &mut out)?;
            self.levels_to_internal(rest, &mut out)?;
        } else if alt && first == self.user_prefix {
            let Some((user, sub)) = rest.split_first() else {
                return Err(NamespaceError::NotAMailbox);
            };
            let (ulocal, udomain) = Self::split_userid(user);
            domain_prefix(&mut out, udomain.or(viewer_domain));
            out.push_str("user.");
            self.user_to_internal(ulocal, &mut out)?;
            self.levels_to_internal(sub, &mut out)?;
        } else if alt && first == self.shared_prefix {
            let Some((top, sub)) = rest.split_first() else {
                return Err(NamespaceError::NotAMailbox);
            };
            domain_prefix(&mut out, viewer_domain);
            self.level_to_internal(top, &mut out)?;
            self.levels_to_internal(sub, &mut out)?;
        } else if alt {
            // A personal folder at top level.
            let Some(local) = viewer_local else {
                return Err(NamespaceError::NotAMailbox);
            };
            domain_prefix(&mut out, viewer_domain);
            out.push_str("user.");
            self.user_to_internal(local, &mut out)?;
            self.levels_to_internal(&levels, &mut out)?;
        } else if first == "user" {
            let Some((user, sub)) = rest.split_first() else {
                return Err(NamespaceError::NotAMailbox);
            };
            let (ulocal, udomain) = Self::split_userid(user);
            domain_prefix(&mut out, udomain.or(viewer_domain));
            out.push_str("user.");
            self.user_to_internal(ulocal, &mut out)?;
            self.levels_to_internal(sub, &mut out)?;
        } else {
            domain_prefix(&mut out, viewer_domain);
            self.level_to_internal(first, &mut out)?;
            self.levels_to_internal(rest, &mut out)?;
        }
        MboxName::new(out).map_err(|_| NamespaceError::Empty)
    }

    fn level_to_external(&self, level: &str, out: &mut String) {
        for c in level.chars() {
            match c {
                '^' if self.unix_sep => out.push('.'),
                c => out.push(c),
            }
        }
    }

    fn push_levels(&self, levels: &[&str], out: &mut String) {
        for level in levels {
            out.push(self.sep());
            self.level_to_external(level, out);
        }
    }

    /// The name `viewer` sees for `internal`, or `None` when the viewer cannot name it (another
    /// domain, a deleted-mailbox copy seen in the alternate namespace is still named).
    pub fn to_external(&self, internal: &MboxName, viewer: Viewer<'_>) -> Option<String> {
        let (viewer_local, viewer_domain) = match viewer.userid {
            Some(u) => {
                let (l, d) = Self::split_userid(u);
                (Some(l), d)
            }
            None => (None, None),
        };
        let domain = internal.domain();
        if viewer_domain.is_some() && domain != viewer_domain {
            return None;
        }
        let show_domain = viewer_domain.is_none() && domain.is_some();
        let levels: Vec<&str> = internal.local().split('.').collect();
        let alt = self.is_alt(viewer);
        let sep = self.sep();
        let mut out = String::new();
        if levels.len() >= 2 && levels[0] == "user" {
            let owner = levels[1];
            let sub = &levels[2..];
            let is_own = viewer_local.is_some_and(|v| v.replace('.', "^") == owner);
            if is_own && !show_domain {
                out.push_str("INBOX");
                if alt {
                    out.clear();
                    if sub.is_empty() {
                        out.push_str("INBOX");
                    } else {
                        self.level_to_external(sub[0], &mut out);
                        self.push_levels(&sub[1..], &mut out);
                    }
                } else {
                    self.push_levels(sub, &mut out);
                }
                return Some(out);
            }
            if alt {
                out.push_str(&self.user_prefix);
            } else {
                out.push_str("user");
            }
            out.push(sep);
            // A userid's `^` is always a `.` of the userid, whatever the separator.
            out.push_str(&owner.replace('^', "."));
            if show_domain {
                out.push('@');
                out.push_str(domain.unwrap_or_default());
            }
            self.push_levels(sub, &mut out);
            return Some(out);
        }
        if alt {
            out.push_str(&self.shared_prefix);
            out.push(sep);
        }
        self.level_to_external(levels[0], &mut out);
        self.push_levels(&levels[1..], &mut out);
        if show_domain {
            // Cyrus appends the domain to the top level for shared names seen by a global admin.
            out.push('@');
            out.push_str(domain.unwrap_or_default());
        }
        Some(out)
    }

    /// The NAMESPACE response (RFC 2342) for `viewer`: (personal, other users, shared) prefixes
    /// with the separator, as Cyrus gives them.
    pub fn namespaces(&self, viewer: Viewer<'_>) -> [(String, char); 3] {
        let sep = self.sep();
        if self.is_alt(viewer) {
            [
                (String::new(), sep),
                (format!("{}{sep}", self.user_prefix), sep),
                (format!("{}{sep}", self.shared_prefix), sep),
            ]
        } else {
            [
                (format!("INBOX{sep}"), sep),
                (format!("user{sep}"), sep),
                (String::new(), sep),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(alt: bool, unix: bool) -> Namespace {
        Namespace {
            alt,
            unix_sep: unix,
            ..Namespace::default()
        }
    }

    fn user(u: &str) -> Viewer<'_> {
        Viewer {
            userid: Some(u),
            admin: false,
        }
    }

    const ADMIN: Viewer<'static> = Viewer {
        userid: Some("admin"),
        admin: true,
    };

    fn int(s: &str) -> MboxName {
        MboxName::new(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn alt_unix_round_trips() {
        let n = ns(true, true);
        let cases = [
            ("INBOX", "user.alice"),
            ("Archive", "user.alice.Archive"),
            ("Archive/2024", "user.alice.Archive.2024"),
            ("a.b", "user.alice.a^b"),
            ("Other Users/bob", "user.bob"),
            ("Other Users/bob/Sent", "user.bob.Sent"),
            ("Shared Folders/shared", "shared"),
            ("Shared Folders/shared/x", "shared.x"),
        ];
        for (ext, internal) in cases {
            assert_eq!(
                n.to_internal(ext, user("alice")).unwrap().as_str(),
                internal
            );
            assert_eq!(n.to_external(&int(internal), user("alice")).unwrap(), ext);
        }
        assert_eq!(
            n.to_internal("inbox", user("alice")).unwrap().as_str(),
            "user.alice"
        );
    }

    #[test]
    fn admin_gets_standard_namespace() {
        let n = ns(true, true);
        assert_eq!(
            n.to_internal("user/alice/Archive", ADMIN).unwrap().as_str(),
            "user.alice.Archive"
        );
        assert_eq!(
            n.to_external(&int("user.alice.Archive"), ADMIN).unwrap(),
            "user/alice/Archive"
        );
        assert_eq!(n.to_external(&int("shared.x"), ADMIN).unwrap(), "shared/x");
        assert_eq!(
            n.to_external(&int("DELETED.user.alice.F.5F0A"), ADMIN)
                .unwrap(),
            "DELETED/user/alice/F/5F0A"
        );
    }

    #[test]
    fn standard_dot_namespace() {
        let n = ns(false, false);
        assert_eq!(
            n.to_internal("INBOX.Sent", user("alice")).unwrap().as_str(),
            "user.alice.Sent"
        );
        assert_eq!(
            n.to_external(&int("user.alice.Sent"), user("alice"))
                .unwrap(),
            "INBOX.Sent"
        );
        assert_eq!(
            n.to_external(&int("user.bob.Sent"), user("alice")).unwrap(),
            "user.bob.Sent"
        );
        assert!(n.to_internal("a..b", user("alice")).is_err());
    }

    #[test]
    fn domains() {
        let n = ns(true, true);
        assert_eq!(
            n.to_internal("Archive", user("alice@example.com"))
                .unwrap()
                .as_str(),
            "example.com!user.alice.Archive"
        );
        assert_eq!(
            n.to_external(&int("example.com!user.alice"), user("alice@example.com"))
                .unwrap(),
            "INBOX"
        );
        assert_eq!(
            n.to_external(&int("other.org!user.bob"), user("alice@example.com")),
            None
        );
        assert_eq!(
            n.to_external(&int("example.com!user.bob"), ADMIN).unwrap(),
            "user/bob@example.com"
        );
        assert_eq!(
            n.to_internal("user/bob@example.com", ADMIN)
                .unwrap()
                .as_str(),
            "example.com!user.bob"
        );
    }

    #[test]
    fn dotted_userids() {
        for n in [ns(true, true), ns(false, false)] {
            assert_eq!(
                n.to_internal("INBOX", user("first.last")).unwrap().as_str(),
                "user.first^last"
            );
            assert_eq!(
                n.to_external(&int("user.first^last"), user("first.last"))
                    .unwrap(),
                "INBOX"
            );
        }
        assert_eq!(
            ns(false, false)
                .to_external(&int("user.first^last"), ADMIN)
                .unwrap(),
            "user.first.last"
        );
    }

    #[test]
    fn refusals() {
        let n = ns(true, true);
        assert_eq!(n.to_internal("", user("a")), Err(NamespaceError::Empty));
        assert_eq!(n.to_internal("a//b", user("a")), Err(NamespaceError::Empty));
        assert_eq!(
            n.to_internal("Other Users", user("a")),
            Err(NamespaceError::NotAMailbox)
        );
        assert!(
            n.to_internal(
                "INBOX",
                Viewer {
                    userid: None,
                    admin: false
                }
            )
            .is_err()
        );
    }

    #[test]
    fn namespace_response() {
        assert_eq!(
            ns(true, true).namespaces(user("a")),
            [
                (String::new(), '/'),
                ("Other Users/".to_owned(), '/'),
                ("Shared Folders/".to_owned(), '/')
            ]
        );
        assert_eq!(
            ns(true, true).namespaces(ADMIN)[0],
            ("INBOX/".to_owned(), '/')
        );
    }
}
