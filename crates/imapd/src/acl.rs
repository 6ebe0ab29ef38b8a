//! Access control lists (RFC 4314) as Cyrus stores them (`id TAB rights TAB ...`): parsing,
//! the rights a user holds, and editing for SETACL/DELETEACL.
//!
//! Owns: rights arithmetic. Must not: touch the store.

/// A set of RFC 4314 rights letters (`lrswipkxtecdan`, plus the obsolete `c`/`d` mapped as
/// Cyrus does: `c` = `k`, `d` = `xte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights(u32);

const LETTERS: &str = "lrswipkxtean";

impl Rights {
    pub const NONE: Rights = Rights(0);

    pub fn all() -> Rights {
        Rights::parse(LETTERS).unwrap_or_default()
    }

    /// Parse a rights string; `None` for an unknown letter.
    pub fn parse(s: &str) -> Option<Rights> {
        let mut r = 0u32;
        for c in s.chars() {
            match c {
                'c' => r |= bit('k'),
                'd' => r |= bit('x') | bit('t') | bit('e'),
                '0'..='9' => {}
                c if LETTERS.contains(c) => r |= bit(c),
                _ => return None,
            }
        }
        Some(Rights(r))
    }

    pub fn has(self, c: char) -> bool {
        let b = bit(c);
        b != 0 && self.0 & b == b
    }

    pub fn union(self, o: Rights) -> Rights {
        Rights(self.0 | o.0)
    }

    pub fn minus(self, o: Rights) -> Rights {
        Rights(self.0 & !o.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Rights {
    /// Cyrus's order, with `c` and `d` shown when their parts are all present.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in "lrswipkxte".chars() {
            if self.has(c) {
                write!(f, "{c}")?;
            }
        }
        if self.has('k') {
            f.write_str("c")?;
        }
        if self.has('x') && self.has('t') && self.has('e') {
            f.write_str("d")?;
        }
        for c in "an".chars() {
            if self.has(c) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

fn bit(c: char) -> u32 {
    LETTERS.find(c).map(|i| 1 << i).unwrap_or(0)
}

/// The entries of an ACL string, in order.
pub(crate) fn entries(acl: &str) -> Vec<(String, String)> {
    let parts: Vec<&str> = acl.split('\t').collect();
    parts
        .chunks(2)
        .filter(|c| c.len() == 2 && !c[0].is_empty())
        .map(|c| (c[0].to_owned(), c[1].to_owned()))
        .collect()
}

pub(crate) fn format(entries: &[(String, String)]) -> String {
    let mut s = String::new();
    for (id, r) in entries {
        s.push_str(id);
        s.push('\t');
        s.push_str(r);
        s.push('\t');
    }
    s
}

/// The rights `userid` holds under `acl`: its own and `anyone`'s entries, minus negative
/// (`-id`) entries.
pub(crate) fn rights_of(acl: &str, userid: &str) -> Rights {
    let mut pos = Rights::NONE;
    let mut neg = Rights::NONE;
    for (id, r) in entries(acl) {
        let r = Rights::parse(&r).unwrap_or_default();
        if let Some(nid) = id.strip_prefix('-') {
            if nid == userid || nid == "anyone" {
                neg = neg.union(r);
            }
        } else if id == userid || id == "anyone" {
            pos = pos.union(r);
        }
    }
    pos.minus(neg)
}

/// Apply SETACL (`+rights` adds, `-rights` removes, else replaces; empty removes the entry).
pub(crate) fn set(acl: &str, id: &str, rights: &str) -> Option<String> {
    let mut e = entries(acl);
    let current = e
        .iter()
        .find(|(i, _)| i == id)
        .and_then(|(_, r)| Rights::parse(r))
        .unwrap_or_default();
    let new = if let Some(add) = rights.strip_prefix('+') {
        current.union(Rights::parse(add)?)
    } else if let Some(rem) = rights.strip_prefix('-') {
        current.minus(Rights::parse(rem)?)
    } else {
        Rights::parse(rights)?
    };
    let text = new.to_string();
    if let Some(pos) = e.iter().position(|(i, _)| i == id) {
        if new.is_empty() {
            e.remove(pos);
        } else {
            e[pos].1 = text;
        }
    } else if !new.is_empty() {
        e.push((id.to_owned(), text));
    }
    Some(format(&e))
}

pub(crate) fn delete(acl: &str, id: &str) -> String {
    let e: Vec<_> = entries(acl).into_iter().filter(|(i, _)| i != id).collect();
    format(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights() {
        let acl = "alice\tlrswipkxtecdan\tanyone\tlr\t-bob\tr\t";
        assert_eq!(rights_of(acl, "alice").to_string(), "lrswipkxtecdan");
        assert_eq!(rights_of(acl, "carol").to_string(), "lr");
        assert_eq!(rights_of(acl, "bob").to_string(), "l");
        let a = set(acl, "carol", "lrs").unwrap();
        assert!(a.ends_with("carol\tlrs\t"));
        let a = set(&a, "carol", "-s").unwrap();
        assert!(a.ends_with("carol\tlr\t"));
        let a = set(&a, "carol", "").unwrap();
        assert!(!a.contains("carol"));
        assert_eq!(delete(acl, "anyone"), "alice\tlrswipkxtecdan\t-bob\tr\t");
        assert!(set(acl, "x", "lq").is_none());
    }
}
