//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): encoding UTF-8 names for the wire and
//! decoding/validating what clients send.
//!
//! Owns: the `&`-shifted modified base64 of UTF-16. Must not: know hierarchy separators.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Encode a UTF-8 name as modified UTF-7.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                let idx = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[idx as usize]));
            }
        }
        out.push('-');
        pending.clear();
    };
    for ch in s.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid modified UTF-7 mailbox name")]
pub struct Mutf7Error;

/// Decode a modified UTF-7 name to UTF-8, rejecting non-canonical or malformed input.
pub fn decode(s: &str) -> Result<String, Mutf7Error> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(0x20..=0x7e).contains(&c) {
            return Err(Mutf7Error);
        }
        if c != b'&' {
            out.push(char::from(c));
            i += 1;
            continue;
        }
        let end = b[i + 1..]
            .iter()
            .position(|&x| x == b'-')
            .ok_or(Mutf7Error)?
            + i
            + 1;
        let run = &b[i + 1..end];
        if run.is_empty() {
            out.push('&');
            i = end + 1;
            continue;
        }
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        for &ch in run {
            let v = b64_value(ch).ok_or(Mutf7Error)?;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                bytes.push(((bits >> nbits) & 0xff) as u8);
            }
        }
        // Leftover bits must be zero padding (< 6 bits).
        if nbits >= 6 || bits & ((1 << nbits) - 1) != 0 || !bytes.len().is_multiple_of(2) {
            return Err(Mutf7Error);
        }
        for pair in bytes.chunks(2) {
            units.push(u16::from_be_bytes([pair[0], pair[1]]));
        }
        let decoded = String::from_utf16(&units).map_err(|_| Mutf7Error)?;
        // A shifted run must not encode printable ASCII (non-canonical).
        if decoded.chars().any(|c| (' '..='~').contains(&c)) {
            return Err(Mutf7Error);
        }
        out.push_str(&decoded);
        i = end + 1;
    }
    Ok(out)
}

/// Whether `s` is valid modified UTF-7.
pub fn is_valid(s: &str) -> bool {
    decode(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(encode("INBOX"), "INBOX");
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("台北"), "&U,BTFw-");
        assert_eq!(decode("Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(decode("&U,BTFw-").unwrap(), "台北");
        assert_eq!(decode("A&-B").unwrap(), "A&B");
        assert!(decode("&").is_err());
        assert!(decode("&AGE-").is_err()); // encodes "a"
        assert!(decode("&Jjo!-").is_err());
        assert!(decode("é").is_err());
    }

    proptest::proptest! {
        #[test]
        fn round_trip(s in "\\PC{0,20}") {
            let e = encode(&s);
            proptest::prop_assert_eq!(decode(&e).unwrap(), s);
        }
    }
}
