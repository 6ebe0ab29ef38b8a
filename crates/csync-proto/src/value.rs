//! The dlist value tree (csync §2.1–§2.3) and its typed interpretation (csync §2.7).
//!
//! Owns: `DValue`, file references, kvlist lookup with "first occurrence wins", and the
//! num32/num64/date/hex64/guid conversions with distinct missing/unparsable errors.
//! Must not: parse or write bytes, hold message bodies (files are [`FileRef`] handles).

use types::Guid;

/// Opaque handle for a message body: allocated by the caller's [`crate::FileSink`] when
/// parsing, or chosen by the caller (and resolved by its [`crate::FileSource`]) when writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileRef(pub u64);

/// A file literal `%{partition guid size}` (csync §2.3.3); the bytes live elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLit {
    pub partition: Vec<u8>,
    pub guid: Guid,
    pub size: u64,
    pub body: FileRef,
}

/// One dlist value. Atoms, quoted strings and literals all become `Str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DValue {
    Nil,
    Str(Vec<u8>),
    /// An atom starting with `\` (csync §2.2.5).
    Flag(Vec<u8>),
    List(Vec<DValue>),
    /// Ordered pairs; repeated keys are kept, lookup returns the first (csync §2.3.2).
    KvList(Vec<(Vec<u8>, DValue)>),
    File(FileLit),
}

/// A top-level keyed value: `key SP value` (csync §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    pub key: Vec<u8>,
    pub value: DValue,
}

/// Why a field could not be read (→ `NO IMAP_PROTOCOL_BAD_PARAMETERS`, csync §2.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("missing field {0}")]
    Missing(String),
    #[error("unparsable field {0}")]
    Unparsable(String),
    #[error("value is not a kvlist")]
    NotKvList,
}

impl DValue {
    /// A string value from text.
    pub fn str(s: impl Into<Vec<u8>>) -> DValue {
        DValue::Str(s.into())
    }

    /// Decimal number as a string value (csync §2.5).
    pub fn num(n: impl Into<u64>) -> DValue {
        DValue::Str(n.into().to_string().into_bytes())
    }

    /// 16 lowercase hex digits (csync §2.5 hex64).
    pub fn hex64(n: u64) -> DValue {
        DValue::Str(format!("{n:016x}").into_bytes())
    }

    /// 40 lowercase hex digits.
    pub fn guid(g: &Guid) -> DValue {
        DValue::Str(g.to_hex().into_bytes())
    }

    /// The bytes of a `Str` (or a `Flag`, which is an atom too).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            DValue::Str(s) | DValue::Flag(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[DValue]> {
        match self {
            DValue::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_kvlist(&self) -> Option<Kv<'_>> {
        match self {
            DValue::KvList(l) => Some(Kv(l)),
            _ => None,
        }
    }

    /// Unsigned decimal (csync §2.7): all digits, at least one, value ≤ 2^64−1.
    pub fn to_num64(&self) -> Option<u64> {
        parse_num64(self.as_bytes()?)
    }

    /// num64 truncated to the low 32 bits, as Cyrus does (it does not range-check).
    pub fn to_num32(&self) -> Option<u32> {
        self.to_num64().map(|n| n as u32)
    }

    /// Up to 16 hex digits, either case.
    pub fn to_hex64(&self) -> Option<u64> {
        let s = self.as_bytes()?;
        if s.is_empty() || s.len() > 16 || !s.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
    }

    /// Exactly 40 hex digits.
    pub fn to_guid(&self) -> Option<Guid> {
        Guid::parse_hex(self.as_bytes()?).ok()
    }

    /// UTF-8 text of a `Str`.
    pub fn to_text(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()?).ok()
    }
}

/// Parse an unsigned decimal (csync §2.7).
pub fn parse_num64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A borrowed view of a kvlist with typed accessors.
#[derive(Debug, Clone, Copy)]
pub struct Kv<'a>(pub &'a [(Vec<u8>, DValue)]);

fn name(key: &str) -> String {
    key.to_owned()
}

impl<'a> Kv<'a> {
    /// First value for `key` (case-sensitive).
    pub fn get(&self, key: &str) -> Option<&'a DValue> {
        self.0
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v)
    }

    fn req(&self, key: &str) -> Result<&'a DValue, FieldError> {
        self.get(key).ok_or_else(|| FieldError::Missing(name(key)))
    }

    fn conv<T>(&self, key: &str, f: impl Fn(&'a DValue) -> Option<T>) -> Result<T, FieldError> {
        f(self.req(key)?).ok_or_else(|| FieldError::Unparsable(name(key)))
    }

    pub fn num32(&self, key: &str) -> Result<u32, FieldError> {
        self.conv(key, DValue::to_num32)
    }
    pub fn num64(&self, key: &str) -> Result<u64, FieldError> {
        self.conv(key, DValue::to_num64)
    }
    /// Seconds since the epoch.
    pub fn date(&self, key: &str) -> Result<u64, FieldError> {
        self.num64(key)
    }
    pub fn hex64(&self, key: &str) -> Result<u64, FieldError> {
        self.conv(key, DValue::to_hex64)
    }
    pub fn guid(&self, key: &str) -> Result<Guid, FieldError> {
        self.conv(key, DValue::to_guid)
    }
    /// Raw bytes of a string field (NIL is unparsable).
    pub fn bytes(&self, key: &str) -> Result<&'a [u8], FieldError> {
        self.conv(key, DValue::as_bytes)
    }
    /// UTF-8 string field.
    pub fn text(&self, key: &str) -> Result<&'a str, FieldError> {
        self.conv(key, DValue::to_text)
    }
    /// UTF-8 string field that may be `NIL` (→ `None`).
    pub fn text_or_nil(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.req(key)? {
            DValue::Nil => Ok(None),
            v => v
                .to_text()
                .map(Some)
                .ok_or_else(|| FieldError::Unparsable(name(key))),
        }
    }
    pub fn list(&self, key: &str) -> Result<&'a [DValue], FieldError> {
        self.conv(key, DValue::as_list)
    }
    pub fn kvlist(&self, key: &str) -> Result<Kv<'a>, FieldError> {
        self.conv(key, DValue::as_kvlist)
    }

    /// Optional fields follow Cyrus: absent or unparsable both read as "not given".
    pub fn opt_num32(&self, key: &str) -> Option<u32> {
        self.get(key).and_then(DValue::to_num32)
    }
    pub fn opt_num64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(DValue::to_num64)
    }
    pub fn opt_text(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(DValue::to_text)
    }
    pub fn opt_list(&self, key: &str) -> Option<&'a [DValue]> {
        self.get(key).and_then(DValue::as_list)
    }
}

/// Builder for kvlists in emission order.
#[derive(Debug, Default)]
pub struct KvBuilder(pub Vec<(Vec<u8>, DValue)>);

impl KvBuilder {
    pub fn new() -> Self {
        KvBuilder(Vec::new())
    }
    pub fn put(&mut self, key: &str, v: DValue) -> &mut Self {
        self.0.push((key.as_bytes().to_vec(), v));
        self
    }
    pub fn num(&mut self, key: &str, n: impl Into<u64>) -> &mut Self {
        self.put(key, DValue::num(n))
    }
    pub fn text(&mut self, key: &str, s: &str) -> &mut Self {
        self.put(key, DValue::str(s))
    }
    pub fn opt_num(&mut self, key: &str, n: Option<impl Into<u64>>) -> &mut Self {
        if let Some(n) = n {
            self.num(key, n);
        }
        self
    }
    pub fn build(self) -> DValue {
        DValue::KvList(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpretation() {
        assert_eq!(DValue::str("123").to_num32(), Some(123));
        assert_eq!(DValue::str("4294967297").to_num32(), Some(1));
        assert_eq!(
            DValue::str("18446744073709551615").to_num64(),
            Some(u64::MAX)
        );
        assert_eq!(DValue::str("18446744073709551616").to_num64(), None);
        assert_eq!(DValue::str("").to_num64(), None);
        assert_eq!(DValue::str("-1").to_num64(), None);
        assert_eq!(DValue::str(" 1").to_num64(), None);
        assert_eq!(DValue::Nil.to_num64(), None);
        assert_eq!(DValue::str("00000000000000Ff").to_hex64(), Some(255));
        assert_eq!(DValue::str("12345678901234567").to_hex64(), None);
        assert_eq!(DValue::hex64(255), DValue::str("00000000000000ff"));
        let kv = vec![
            (b"A".to_vec(), DValue::str("1")),
            (b"A".to_vec(), DValue::str("2")),
            (b"B".to_vec(), DValue::str("x")),
            (b"P".to_vec(), DValue::Nil),
        ];
        let kv = Kv(&kv);
        assert_eq!(kv.num32("A"), Ok(1));
        assert_eq!(kv.num32("B"), Err(FieldError::Unparsable("B".into())));
        assert_eq!(kv.num32("a"), Err(FieldError::Missing("a".into())));
        assert_eq!(kv.text_or_nil("P"), Ok(None));
        assert_eq!(kv.opt_num32("B"), None);
    }
}
