//! LMTP recipients: from a `RCPT TO:` address to the mailbox Cyrus would deliver to
//! (`mbname_from_recipient`, `process_recipient`, `verify_user`, `deliver_local`), and the ACL
//! test for the `p` (post) right.
//!
//! Address forms: `user`, `user+detail`, `user@domain`, `user+detail@domain`; the detail is a
//! folder relative to the user's INBOX, levels separated by the IMAP hierarchy separator
//! (`/` with `unixhierarchysep`, where a `.` inside a level is stored as `^`). With
//! `virtdomains` off the domain is ignored; on, it selects the domain (`defaultdomain` maps to
//! no domain). `lmtp_downcase_rcpt` lower-cases the user part. A user part equal to `postuser`
//! with a detail addresses the shared mailbox named by the detail.
//!
//! Must not: do I/O; the session checks existence and quota with the mailstore.

use types::MboxName;
use types::namespace::{Namespace, Viewer};

/// How addresses map to mailboxes (from imapd.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRules {
    /// `virtdomains` is `userid` or `on`.
    pub virtdomains: bool,
    /// `defaultdomain`.
    pub default_domain: Option<String>,
    /// `unixhierarchysep`.
    pub unix_sep: bool,
    /// `lmtp_downcase_rcpt`.
    pub downcase: bool,
    /// `postuser` (Cyrus default: empty).
    pub postuser: String,
}

impl Default for AddressRules {
    fn default() -> Self {
        AddressRules {
            virtdomains: false,
            default_domain: None,
            unix_sep: true,
            downcase: true,
            postuser: String::new(),
        }
    }
}

/// Where a recipient address points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A user's INBOX, and the folder named by the detail if there was one (delivery falls
    /// back to the INBOX when the folder is missing or not postable).
    User {
        userid: String,
        inbox: MboxName,
        folder: Option<MboxName>,
    },
    /// A shared mailbox (`postuser+name`): needs the `p` right.
    Shared(MboxName),
}

/// Convert one external level to its internal form.
fn level(l: &str, unix_sep: bool, out: &mut String) -> Option<()> {
    if l.is_empty() {
        return None;
    }
    for c in l.chars() {
        match c {
            '.' if unix_sep => out.push('^'),
            '!' => return None,
            c if c.is_control() => return None,
            c => out.push(c),
        }
    }
    Some(())
}

fn folder_levels(base: &str, detail: &str, unix_sep: bool) -> Option<String> {
    let sep = if unix_sep { '/' } else { '.' };
    let mut s = base.to_owned();
    for l in detail.split(sep) {
        if !s.is_empty() {
            s.push('.');
        }
        level(l, unix_sep, &mut s)?;
    }
    Some(s)
}

/// Resolve an address (brackets and source route already removed). None: no such mailbox
/// can exist (`550 5.1.1 User unknown`).
pub fn resolve(address: &str, rules: &AddressRules) -> Option<Target> {
    if address.is_empty() {
        return None;
    }
    let (local, domain) = match address.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (address, None),
    };
    let local = local
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or(local);
    let (user, detail) = match local.split_once('+') {
        Some((u, d)) => (u, Some(d)),
        None => (local, None),
    };
    let user = if rules.downcase {
        user.to_ascii_lowercase()
    } else {
        user.to_owned()
    };
    let domain = match domain {
        Some(d) if rules.virtdomains => {
            let d = d.to_ascii_lowercase();
            (rules.default_domain.as_deref() != Some(d.as_str())).then_some(d)
        }
        _ => None,
    };
    if user == rules.postuser {
        let detail = detail.filter(|d| !d.is_empty())?;
        let local = folder_levels("", detail, rules.unix_sep)?;
        let name = match &domain {
            Some(d) => format!("{d}!{local}"),
            None => local,
        };
        return MboxName::new(name).ok().map(Target::Shared);
    }
    if user.is_empty() || user.contains(['^', '!']) || user.chars().any(char::is_control) {
        return None;
    }
    let userid = match &domain {
        Some(d) => format!("{user}@{d}"),
        None => user.clone(),
    };
    let inbox = MboxName::user_inbox(&userid).ok()?;
    // The detail names a folder below the INBOX in the user's own view (types::namespace);
    // a detail that is not a valid name simply means the INBOX.
    let folder = match detail.filter(|d| !d.is_empty()) {
        Some(d) => {
            let ns = Namespace {
                alt: false,
                unix_sep: rules.unix_sep,
                ..Namespace::default()
            };
            let external = format!("INBOX{}{d}", ns.sep());
            let viewer = Viewer {
                userid: Some(&userid),
                admin: false,
            };
            ns.to_internal(&external, viewer)
                .ok()
                .filter(|n| n.is_within(&inbox) && *n != inbox)
        }
        None => None,
    };
    Some(Target::User {
        userid,
        inbox,
        folder,
    })
}

/// Cyrus ACL letters this server needs.
pub const RIGHT_POST: char = 'p';
pub const RIGHT_LOOKUP: char = 'l';

/// The rights `identities` hold in a Cyrus ACL string (`id\trights\t...`, negative entries
/// `-id`): the union of their positive entries minus the union of their negative ones.
/// `anyone` always applies; `anonymous` applies when `identities` is empty.
pub fn rights(acl: &str, identities: &[&str]) -> String {
    let mut fields = acl.split('\t');
    let mut pos = String::new();
    let mut neg = String::new();
    let applies = |id: &str| {
        id == "anyone" || (identities.is_empty() && id == "anonymous") || identities.contains(&id)
    };
    while let (Some(id), Some(r)) = (fields.next(), fields.next()) {
        if id.is_empty() {
            break;
        }
        match id.strip_prefix('-') {
            Some(id) if applies(id) => neg.push_str(r),
            None if applies(id) => pos.push_str(r),
            _ => {}
        }
    }
    let mut out: Vec<char> = pos.chars().filter(|c| !neg.contains(*c)).collect();
    out.sort_unstable();
    out.dedup();
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(addr: &str, rules: &AddressRules) -> (String, String, Option<String>) {
        match resolve(addr, rules) {
            Some(Target::User {
                userid,
                inbox,
                folder,
            }) => (userid, inbox.to_string(), folder.map(|f| f.to_string())),
            other => panic!("{addr}: {other:?}"),
        }
    }

    #[test]
    fn plain_and_detail() {
        let r = AddressRules::default();
        assert_eq!(
            user("alice", &r),
            ("alice".into(), "user.alice".into(), None)
        );
        assert_eq!(
            user("ALICE+Archive@any.where", &r),
            (
                "alice".into(),
                "user.alice".into(),
                Some("user.alice.Archive".into())
            )
        );
        assert_eq!(user("bob+a/b.c", &r).2.as_deref(), Some("user.bob.a.b^c"));
        let dots = AddressRules {
            unix_sep: false,
            ..AddressRules::default()
        };
        assert_eq!(user("bob+a.b", &dots).2.as_deref(), Some("user.bob.a.b"));
        assert_eq!(user("bob+", &r).2, None);
        assert_eq!(user("bob+a//b", &r).2, None);
        assert_eq!(user("first.last", &r).1, "user.first^last");
        assert!(resolve("", &r).is_none());
        assert!(resolve("a!b", &r).is_none());
        assert!(resolve("@dom", &r).is_none());
    }

    #[test]
    fn domains_and_postuser() {
        let v = AddressRules {
            virtdomains: true,
            default_domain: Some("main.org".into()),
            ..AddressRules::default()
        };
        assert_eq!(
            user("Fred+X@Example.COM", &v),
            (
                "fred@example.com".into(),
                "example.com!user.fred".into(),
                Some("example.com!user.fred.X".into())
            )
        );
        assert_eq!(user("fred@main.org", &v).1, "user.fred");
        assert_eq!(
            resolve("+shared/box", &AddressRules::default()),
            Some(Target::Shared(MboxName::new("shared.box").unwrap()))
        );
        assert!(resolve("+", &AddressRules::default()).is_none());
        let keep = AddressRules {
            downcase: false,
            ..AddressRules::default()
        };
        assert_eq!(user("Bob", &keep).0, "Bob");
    }

    #[test]
    fn acl_rights() {
        let acl = "alice\tlrswipkxtecdan\tanyone\tp\t-bob\tp\t";
        assert_eq!(rights(acl, &[]), "p");
        assert_eq!(rights(acl, &["bob"]), "");
        assert!(rights(acl, &["alice"]).contains('p'));
        assert_eq!(rights("alice\tlr\t", &[]), "");
        assert_eq!(rights("anonymous\tp\t", &[]), "p");
        assert_eq!(rights("anonymous\tp\t", &["x"]), "");
        assert_eq!(rights("garbage", &[]), "");
    }
}
