//! What Cyrus accepts as a message on APPEND (imap/message.c `message_copy_strict`): no NUL,
//! no bare LF, a well-formed header block, and 8-bit header bytes refused (`reject8bit`) or
//! replaced by `X` (`munge8bit`, the default).
//!
//! Owns: that validation. Must not: parse MIME.

/// Cyrus's error texts.
pub(crate) const NUL: &str = "Message contains NUL characters";
pub(crate) const BARE_NL: &str = "Message contains bare newlines";
pub(crate) const EIGHT_BIT: &str = "Message contains non-ASCII characters in headers";
pub(crate) const BAD_HEADER: &str = "Message contains invalid header";

/// Check (and with `munge8bit` rewrite) a message; `Err(text)` for `NO text`.
pub(crate) fn check(msg: &mut [u8], reject8bit: bool, munge8bit: bool) -> Result<(), &'static str> {
    let mut err: Option<&'static str> = None;
    let (mut in_header, mut blank, mut saw_cr) = (true, true, false);
    for b in msg.iter_mut() {
        match *b {
            0 => err = err.or(Some(NUL)),
            b'\n' => {
                if !saw_cr {
                    err = err.or(Some(BARE_NL));
                }
                saw_cr = false;
                if blank {
                    in_header = false;
                }
                blank = true;
            }
            b'\r' => saw_cr = true,
            c => {
                saw_cr = false;
                blank = false;
                if in_header && c >= 0x80 {
                    if reject8bit {
                        err = err.or(Some(EIGHT_BIT));
                    } else if munge8bit {
                        *b = b'X';
                    }
                }
            }
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    // Header lines: a field name of printable non-space characters before `:`.
    let mut rest: &[u8] = msg;
    let mut saw_nl = true;
    loop {
        if rest.is_empty() {
            return if saw_nl { Ok(()) } else { Err(BAD_HEADER) };
        }
        let end = rest
            .iter()
            .position(|&c| c == b'\n')
            .map(|p| p + 1)
            .unwrap_or(rest.len());
        let line = &rest[..end];
        rest = &rest[end..];
        if saw_nl && line.first() == Some(&b'\r') {
            return Ok(());
        }
        if saw_nl && !matches!(line.first(), Some(b' ') | Some(b'\t')) {
            if line.first() == Some(&b':') {
                return Err(BAD_HEADER);
            }
            if !line.starts_with(b"From ") {
                for &c in line {
                    if c == b':' {
                        break;
                    }
                    if c <= b' ' {
                        return Err(BAD_HEADER);
                    }
                }
            }
        }
        saw_nl = line.last() == Some(&b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(m: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut v = m.to_vec();
        check(&mut v, false, true).map(|()| v)
    }

    #[test]
    fn cyrus_rules() {
        assert!(c(b"Subject: x\r\n\r\nbody\r\n").is_ok());
        assert!(c(b"Subject: x\r\n folded\r\n\r\nbody").is_ok());
        assert_eq!(c(b"Subject: x"), Err(BAD_HEADER));
        assert_eq!(c(b"Subject: x\r\nno colon here\r\n\r\n"), Err(BAD_HEADER));
        assert_eq!(c(b": x\r\n\r\n"), Err(BAD_HEADER));
        assert_eq!(c(b"Subject: x\n\nbody"), Err(BARE_NL));
        assert_eq!(c(b"Subject: x\r\n\r\nbo\0dy"), Err(NUL));
        assert!(c(b"From someone\r\nSubject: x\r\n\r\n").is_ok());
        assert_eq!(
            c(b"Subject: caf\xc3\xa9\r\n\r\n\xc3\xa9").unwrap(),
            b"Subject: cafXX\r\n\r\n\xc3\xa9"
        );
        let mut v = b"Subject: \xff\r\n\r\n".to_vec();
        assert_eq!(check(&mut v, true, true), Err(EIGHT_BIT));
    }
}
