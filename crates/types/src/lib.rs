//! Domain newtypes shared by the protocol crates and the mailstore: UIDs, modseqs, GUIDs,
//! mailbox unique ids and Cyrus internal mailbox names (with the user they belong to).
//!
//! Owns: parsing and formatting of these values, and the mapping between internal mailbox
//! names and userids (replication-behaviour §9.10, csync §3.1).
//! Must not: do I/O, know any protocol framing, or depend on any other crate of ours.
#![forbid(unsafe_code)]

mod mboxname;
pub mod namespace;

use std::fmt;

pub use mboxname::{MboxName, MboxNameError, NameConfig};
pub use namespace::{Namespace, NamespaceError, Viewer};

/// An IMAP UID (RFC 3501 §2.3.1.1); 0 is "no UID".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uid(pub u32);

/// A modification sequence (RFC 7162); 0 is "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Modseq(pub u64);

/// A mailbox UIDVALIDITY (RFC 3501 §2.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UidValidity(pub u32);

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for Modseq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A message GUID: the SHA-1 of the exact stored message bytes (csync §7.1).
/// The all-zero GUID means "no GUID".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 20]);

/// Error from [`Guid::parse_hex`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a GUID must be exactly 40 hexadecimal digits")]
pub struct GuidError;

impl Guid {
    /// The all-zero GUID ("no GUID").
    pub const ZERO: Guid = Guid([0; 20]);

    /// SHA-1 of `bytes`.
    pub fn of(bytes: &[u8]) -> Guid {
        use sha1::Digest;
        Guid(sha1::Sha1::digest(bytes).into())
    }

    /// Parse exactly 40 hex digits, either case (csync §2.7).
    pub fn parse_hex(text: &[u8]) -> Result<Guid, GuidError> {
        if text.len() != 40 {
            return Err(GuidError);
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(text, &mut out).map_err(|_| GuidError)?;
        Ok(Guid(out))
    }

    /// 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({})", self.to_hex())
    }
}

/// Incremental SHA-1, for computing a GUID while a body streams to disk.
#[derive(Debug, Default, Clone)]
pub struct GuidHasher(sha1::Sha1);

impl GuidHasher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, bytes: &[u8]) {
        use sha1::Digest;
        self.0.update(bytes);
    }
    pub fn finish(self) -> Guid {
        use sha1::Digest;
        Guid(self.0.finalize().into())
    }
}

/// A mailbox unique id: opaque text that identifies a mailbox across renames (csync §3.3).
/// Compared byte-wise and stored exactly; no format is imposed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UniqueId(String);

impl UniqueId {
    /// Wrap an id received from a peer or read from the store. Empty ids are refused.
    pub fn new(id: impl Into<String>) -> Option<UniqueId> {
        let id = id.into();
        (!id.is_empty()).then_some(UniqueId(id))
    }

    /// A fresh id in the 24-character `[0-9a-z]` form Debian's Cyrus 3.6 generates.
    pub fn generate(random: &mut impl FnMut() -> u64) -> UniqueId {
        const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut s = String::with_capacity(24);
        while s.len() < 24 {
            let mut r = random();
            for _ in 0..8 {
                if s.len() == 24 {
                    break;
                }
                s.push(ALPHABET[(r % 36) as usize] as char);
                r /= 36;
            }
        }
        UniqueId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_of_spec_examples() {
        // csync §7.1 message A.
        let a =
            b"From: alice@example.com\r\nTo: fred@example.com\r\nSubject: hello\r\n\r\nHi Fred\r\n";
        assert_eq!(a.len(), 74);
        assert_eq!(
            Guid::of(a).to_hex(),
            "258554f4f919439e68f0b5fef2ed4eed80fe5660"
        );
        let mut h = GuidHasher::new();
        h.update(&a[..10]);
        h.update(&a[10..]);
        assert_eq!(h.finish(), Guid::of(a));
    }

    #[test]
    fn guid_parse_rules() {
        let g = Guid::parse_hex(b"258554F4F919439E68F0B5FEF2ED4EED80FE5660").unwrap();
        assert_eq!(g.to_hex(), "258554f4f919439e68f0b5fef2ed4eed80fe5660");
        assert!(Guid::parse_hex(b"258554").is_err());
        assert!(Guid::parse_hex(b"z58554f4f919439e68f0b5fef2ed4eed80fe5660").is_err());
        assert!(Guid::ZERO.is_zero());
    }

    #[test]
    fn uniqueid_generation_shape() {
        let mut n = 12345u64;
        let mut rnd = || {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
            n
        };
        let id = UniqueId::generate(&mut rnd);
        assert_eq!(id.as_str().len(), 24);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert!(UniqueId::new("").is_none());
    }
}
