//! The minimal RFC 5322 compliance check Cyrus 3.6 applies to an APPENDed message before
//! storing it (imap/message.c `message_copy_strict`): NUL bytes, bare newlines, 8-bit bytes
//! in the header (rejected with `reject8bit`, else replaced by `X` with `munge8bit`, the
//! default), and header field names.
//!
//! Owns: that check and the in-place 8-bit munging. It matters beyond error texts: the
//! stored bytes (hence the GUID that replication compares) are the munged ones.
//! Must not: convert line ends (Cyrus rejects bare LF on APPEND; lmtpd converts on delivery,
//! which is the LMTP server's business).

/// What the check rejects, worded as Cyrus's error table (imap/imap_err.et).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("Message contains NUL characters")]
    ContainsNull,
    #[error("Message contains bare newlines")]
    ContainsNl,
    #[error("Message contains non-ASCII characters in headers")]
    Contains8bit,
    #[error("Message contains invalid header")]
    BadHeader,
}

/// The imapd.conf switches and APPEND form the check depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendCheck {
    /// `reject8bit` (default off).
    pub reject8bit: bool,
    /// `munge8bit` (default on): replace 8-bit header bytes by `X`.
    pub munge8bit: bool,
    /// The message came as a `literal8` (RFC 3516 APPEND): NULs and bare LF are allowed in
    /// the body.
    pub binary: bool,
}

impl Default for AppendCheck {
    fn default() -> Self {
        AppendCheck {
            reject8bit: false,
            munge8bit: true,
            binary: false,
        }
    }
}

/// Cyrus reads the message in 4096-byte chunks; a NUL check per chunk decides whether the
/// chunk is scanned at all, which fixes which error wins. We keep that order.
const CHUNK: usize = 4096;

/// Check (and, with `munge8bit`, rewrite in place) an APPENDed message.
pub fn check_append(msg: &mut [u8], opts: AppendCheck) -> Result<(), AppendError> {
    let mut r: Option<AppendError> = None;
    let mut sawcr = false;
    let mut inheader = true;
    let mut blankline = true;
    for chunk in msg.chunks_mut(CHUNK) {
        if !opts.binary && chunk.contains(&0) {
            r = Some(AppendError::ContainsNull);
        }
        if r.is_some() {
            continue;
        }
        for b in chunk.iter_mut() {
            match *b {
                0 if inheader => r = Some(AppendError::ContainsNull),
                b'\n' => {
                    if !sawcr && (inheader || !opts.binary) {
                        r = Some(AppendError::ContainsNl);
                    }
                    sawcr = false;
                    if blankline {
                        inheader = false;
                    }
                    blankline = true;
                }
                b'\r' => sawcr = true,
                c => {
                    sawcr = false;
                    blankline = false;
                    if inheader && c >= 0x80 {
                        if opts.reject8bit {
                            r.get_or_insert(AppendError::Contains8bit);
                        } else if opts.munge8bit {
                            *b = b'X';
                        }
                    }
                }
            }
        }
    }
    if let Some(e) = r {
        return Err(e);
    }
    check_header_names(msg)
}

/// The second pass: every header line that starts a field must have a name of bytes above
/// SP before its colon (an mbox `From ` line excepted), and the header must end in a line
/// break. Lines are read as `fgets` into a 4097-byte buffer does.
fn check_header_names(msg: &[u8]) -> Result<(), AppendError> {
    let mut sawnl = true;
    let mut cur = 0;
    loop {
        if cur >= msg.len() {
            return if sawnl {
                Ok(())
            } else {
                Err(AppendError::BadHeader)
            };
        }
        let rest = &msg[cur..];
        let mut n = match rest.iter().position(|&c| c == b'\n') {
            Some(i) => i + 1,
            None => rest.len(),
        };
        n = n.min(CHUNK);
        let line = &rest[..n];
        cur += n;
        if sawnl && line[0] == b'\r' {
            return Ok(());
        }
        if sawnl && line[0] != b' ' && line[0] != b'\t' {
            if line[0] == b':' {
                return Err(AppendError::BadHeader);
            }
            if !line.starts_with(b"From ") {
                // C stops at the string's NUL too; only possible for a binary append
                for &c in line.iter().take_while(|&&c| c != b':' && c != 0) {
                    if c <= b' ' {
                        return Err(AppendError::BadHeader);
                    }
                }
            }
        }
        sawnl = line.last() == Some(&b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &[u8]) -> (Result<(), AppendError>, Vec<u8>) {
        let mut v = s.to_vec();
        let r = check_append(&mut v, AppendCheck::default());
        (r, v)
    }

    #[test]
    fn cases() {
        assert_eq!(check(b"Subject: x\r\n\r\nbody\r\n").0, Ok(()));
        assert_eq!(check(b"").0, Ok(()));
        assert_eq!(
            check(b"Subject: x\n\nbody\n").0,
            Err(AppendError::ContainsNl)
        );
        assert_eq!(
            check(b"Subject: x\r\n\r\nbo\0dy\r\n").0,
            Err(AppendError::ContainsNull)
        );
        assert_eq!(
            check(b"No colon here\r\n\r\n").0,
            Err(AppendError::BadHeader)
        );
        assert_eq!(check(b"X-Weird :v\r\n\r\n").0, Err(AppendError::BadHeader));
        assert_eq!(check(b": v\r\n\r\n").0, Err(AppendError::BadHeader));
        assert_eq!(check(b"Subject: x").0, Err(AppendError::BadHeader));
        assert_eq!(check(b"From someone\r\nSubject: x\r\n\r\n").0, Ok(()));
        let (r, v) = check("Subject: Grüße\r\n\r\nGrüße\r\n".as_bytes());
        assert_eq!(r, Ok(()));
        assert_eq!(v, "Subject: GrXXXXe\r\n\r\nGrüße\r\n".as_bytes());
        let mut v = "Subject: é\r\n\r\n".as_bytes().to_vec();
        let opts = AppendCheck {
            reject8bit: true,
            ..AppendCheck::default()
        };
        assert_eq!(check_append(&mut v, opts), Err(AppendError::Contains8bit));
        let mut v = b"Subject: x\r\n\r\nbin\0ary\n".to_vec();
        let opts = AppendCheck {
            binary: true,
            ..AppendCheck::default()
        };
        assert_eq!(check_append(&mut v, opts), Ok(()));
    }
}
