//! Base64 as SASL exchanges carry it on IMAP `AUTHENTICATE` (RFC 3501 §6.2.2, RFC 4959) and
//! csync `AUTHENTICATE` lines (csync-protocol §1.5).
//!
//! Owns: the standard alphabet with mandatory canonical padding (RFC 4648 §4), the `=`
//! convention for an empty initial response, the empty line for an empty continuation
//! response and `*` for cancellation.
//!
//! Must not: read or write lines; the protocol layer frames them and passes the text here.
//! The SASL state machines in [`crate::sasl`] work on decoded bytes.

use ::base64::Engine as _;
use ::base64::engine::general_purpose::STANDARD;

/// Why a base64 text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A byte outside the alphabet (including whitespace and misplaced `=`).
    #[error("invalid base64: byte 0x{byte:02x} at offset {offset}")]
    InvalidByte {
        /// Offset in the input.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The length is not a multiple of 4 (padding is mandatory).
    #[error("invalid base64: length {0} is not a multiple of 4")]
    InvalidLength(usize),
    /// The last symbol has non-zero unused bits (non-canonical encoding).
    #[error("invalid base64: non-canonical last symbol 0x{byte:02x} at offset {offset}")]
    InvalidLastSymbol {
        /// Offset in the input.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// Padding is missing or wrong.
    #[error("invalid base64: bad padding")]
    InvalidPadding,
}

impl From<::base64::DecodeError> for Base64Error {
    fn from(e: ::base64::DecodeError) -> Self {
        use ::base64::DecodeError as D;
        match e {
            D::InvalidByte(offset, byte) => Base64Error::InvalidByte { offset, byte },
            D::InvalidLength(len) => Base64Error::InvalidLength(len),
            D::InvalidLastSymbol(offset, byte) => Base64Error::InvalidLastSymbol { offset, byte },
            D::InvalidPadding => Base64Error::InvalidPadding,
        }
    }
}

/// Encode a server challenge or a continuation response: empty data is the empty string (the
/// protocol then sends `+ ` CRLF, or an empty line).
pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Encode a client initial response for the command line: empty data is `=` (RFC 4959 §3,
/// csync-protocol §1.5), since an absent argument means "no initial response".
pub fn encode_initial_response(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        STANDARD.encode(data)
    }
}

/// Decode base64 text. Both the empty string and a lone `=` decode to empty data.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if text.is_empty() || text == b"=" {
        return Ok(Vec::new());
    }
    // Foreign bytes first (whitespace, URL-safe alphabet), then length, so a missing `=`
    // gets the clearer "length" message; the library reports the rest.
    let foreign = |b: &u8| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if let Some(offset) = text.iter().position(foreign) {
        return Err(Base64Error::InvalidByte {
            offset,
            byte: text[offset],
        });
    }
    if !text.len().is_multiple_of(4) {
        return Err(Base64Error::InvalidLength(text.len()));
    }
    Ok(STANDARD.decode(text)?)
}

/// A client's answer to a `+ ` challenge line, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientLine {
    /// `*`: the client cancels the exchange (answer `BAD`).
    Cancel,
    /// The decoded response (empty line: empty response).
    Response(Vec<u8>),
}

/// Interpret one client continuation line (without its CRLF).
pub fn decode_client_line(line: &[u8]) -> Result<ClientLine, Base64Error> {
    if line == b"*" {
        return Ok(ClientLine::Cancel);
    }
    decode(line).map(ClientLine::Response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csync_example() {
        assert_eq!(decode(b"AHJlcGwAc2VjcmV0").unwrap(), b"\0repl\0secret");
        assert_eq!(encode(b"\0repl\0secret"), "AHJlcGwAc2VjcmV0");
    }

    #[test]
    fn empty_forms() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode_initial_response(b""), "=");
        assert_eq!(encode_initial_response(b"a"), "YQ==");
        assert_eq!(decode(b"").unwrap(), b"");
        assert_eq!(decode(b"=").unwrap(), b"");
        assert_eq!(decode_client_line(b"*").unwrap(), ClientLine::Cancel);
        assert_eq!(
            decode_client_line(b"").unwrap(),
            ClientLine::Response(vec![])
        );
    }

    #[test]
    fn precise_errors() {
        assert_eq!(decode(b"YQ="), Err(Base64Error::InvalidLength(3)));
        assert_eq!(decode(b"YQ"), Err(Base64Error::InvalidLength(2)));
        assert_eq!(
            decode(b"YQ=a"),
            Err(Base64Error::InvalidByte {
                offset: 2,
                byte: b'='
            })
        );
        assert_eq!(
            decode(b"Y Q=="),
            Err(Base64Error::InvalidByte {
                offset: 1,
                byte: b' '
            })
        );
        assert!(matches!(
            decode(b"YR=="),
            Err(Base64Error::InvalidLastSymbol { .. })
        ));
        assert!(decode(b"YQ==\r").is_err());
        assert!(decode(b"==").is_err());
        assert!(decode(b"-_8=").is_err(), "URL-safe alphabet refused");
    }
}
