//! Password hashes: creating new ones (argon2id) and checking stored ones.
//!
//! Owns: the choice of hash scheme and parameters for new passwords, recognition of the stored
//! schemes we accept (`$argon2id$…`, `$argon2i$…`, `$argon2d$…`, `$6$…` SHA-512-crypt,
//! `$5$…` SHA-256-crypt) and constant-time verification where the libraries provide it
//! (argon2's `Output` comparison and sha-crypt's `subtle` comparison both are).
//!
//! Must not: touch files or know about userids; plaintext "hashes" are never compared.
//!
//! Parameters for new hashes are one of OWASP's equivalent argon2id minimums, the one with the
//! least memory (m = 7 MiB, t = 5, p = 1): about 20–40 ms per login on current hardware, small
//! enough that a burst of IMAP logins does not starve the server, large enough to make offline
//! guessing expensive — and it keeps a server's peak memory low (the 19 MiB variant alone
//! exceeded sync_server's whole memory budget). Verification always uses the parameters
//! recorded in the stored PHC string, so changing them only affects passwords set afterwards.
//!
//! At most [`MAX_CONCURRENT_ARGON2`] argon2 computations run at once per process (the others
//! wait), so a burst of logins costs bounded memory rather than one buffer per login.

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2 memory cost for new hashes, in KiB (7 MiB; OWASP's m=7 MiB, t=5 argon2id setting).
pub const ARGON2_M_COST_KIB: u32 = 7 * 1024;
/// Argon2 iteration count for new hashes.
pub const ARGON2_T_COST: u32 = 5;
/// Argon2 parallelism for new hashes.
pub const ARGON2_P_COST: u32 = 1;

/// Errors from creating or interpreting a stored hash.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The stored value is not a scheme we accept (plaintext, `{CRYPT}`, DES crypt, …).
    #[error("unsupported password hash scheme (plaintext and legacy schemes are refused)")]
    Unsupported,
    /// The stored value names a known scheme but cannot be parsed.
    #[error("malformed {scheme} password hash: {detail}")]
    Malformed {
        /// Which scheme the prefix announced.
        scheme: HashScheme,
        /// What was wrong.
        detail: String,
    },
    /// Hashing a new password failed (parameter or RNG problem).
    #[error("cannot hash password: {0}")]
    Hashing(String),
}

/// A stored hash scheme we recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashScheme {
    /// PHC string `$argon2id$…` (also `$argon2i$`/`$argon2d$`).
    Argon2,
    /// glibc SHA-512-crypt, `$6$[rounds=N$]salt$hash`.
    Sha512Crypt,
    /// glibc SHA-256-crypt, `$5$[rounds=N$]salt$hash`.
    Sha256Crypt,
}

impl std::fmt::Display for HashScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Argon2 => "argon2",
            Self::Sha512Crypt => "SHA-512-crypt",
            Self::Sha256Crypt => "SHA-256-crypt",
        })
    }
}

impl HashScheme {
    /// Recognise the scheme of a stored hash from its prefix, or `None` for anything else
    /// (which includes plaintext).
    pub fn detect(stored: &str) -> Option<Self> {
        if stored.starts_with("$argon2id$")
            || stored.starts_with("$argon2i$")
            || stored.starts_with("$argon2d$")
        {
            Some(Self::Argon2)
        } else if stored.starts_with("$6$") {
            Some(Self::Sha512Crypt)
        } else if stored.starts_with("$5$") {
            Some(Self::Sha256Crypt)
        } else {
            None
        }
    }
}

/// How many argon2 computations may run at once in one process.
pub const MAX_CONCURRENT_ARGON2: usize = 2;

/// A counting gate around argon2: its memory (m KiB per computation) is the largest single
/// allocation a login makes.
fn with_argon2_permit<T>(f: impl FnOnce() -> T) -> T {
    static GATE: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());
    let (lock, cvar) = &GATE;
    {
        let mut running = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= MAX_CONCURRENT_ARGON2 {
            running = cvar.wait(running).unwrap_or_else(|p| p.into_inner());
        }
        *running += 1;
    }
    struct Release<'a>(&'a Mutex<usize>, &'a Condvar);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            let mut running = self.0.lock().unwrap_or_else(|p| p.into_inner());
            *running -= 1;
            self.1.notify_one();
        }
    }
    let _release = Release(lock, cvar);
    f()
}

fn argon2_for_new_hashes() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None)
        .map_err(|e| HashError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hash a new password with argon2id and a fresh random salt; returns the PHC string.
pub fn hash_password(password: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let argon2 = argon2_for_new_hashes()?;
    let hash = with_argon2_permit(|| argon2.hash_password(password, &salt))
        .map_err(|e| HashError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

/// Check that `stored` is a hash we could verify against (used before importing a hash).
pub fn validate_stored_hash(stored: &str) -> Result<HashScheme, HashError> {
    let scheme = HashScheme::detect(stored).ok_or(HashError::Unsupported)?;
    let malformed = |detail: String| HashError::Malformed { scheme, detail };
    match scheme {
        HashScheme::Argon2 => {
            let parsed = PasswordHash::new(stored).map_err(|e| malformed(e.to_string()))?;
            if parsed.hash.is_none() || parsed.salt.is_none() {
                return Err(malformed("missing salt or hash output".into()));
            }
        }
        HashScheme::Sha512Crypt | HashScheme::Sha256Crypt => {
            // Shape: `$N$[rounds=R$]salt$hash`, crypt alphabet only.
            let parts: Vec<&str> = stored.split('$').collect();
            let ok_len = parts.len() == 4 || (parts.len() == 5 && parts[2].starts_with("rounds="));
            let ok_chars = stored
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"$./=".contains(&b));
            if !ok_len || !ok_chars {
                return Err(malformed("expected $N$[rounds=R$]salt$hash".into()));
            }
        }
    }
    Ok(scheme)
}

/// Verify `password` against a stored hash.
///
/// `Ok(false)` is a wrong password; `Err` means the stored value cannot be used at all
/// (unsupported scheme or malformed), which the caller should log: nobody can log in with it.
/// SHA-crypt schemes need the password as UTF-8 (library limitation); a non-UTF-8 password
/// simply does not match.
pub fn verify_password(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let scheme = HashScheme::detect(stored).ok_or(HashError::Unsupported)?;
    let malformed = |detail: String| HashError::Malformed { scheme, detail };
    match scheme {
        HashScheme::Argon2 => {
            validate_stored_hash(stored)?;
            let parsed = PasswordHash::new(stored).map_err(|e| malformed(e.to_string()))?;
            // `Argon2::default()` takes algorithm, version and costs from the PHC string.
            match with_argon2_permit(|| Argon2::default().verify_password(password, &parsed)) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(e) => Err(malformed(e.to_string())),
            }
        }
        HashScheme::Sha512Crypt | HashScheme::Sha256Crypt => {
            validate_stored_hash(stored)?;
            let Ok(password) = std::str::from_utf8(password) else {
                return Ok(false);
            };
            let result = if scheme == HashScheme::Sha512Crypt {
                sha_crypt::sha512_check(password, stored)
            } else {
                sha_crypt::sha256_check(password, stored)
            };
            match result {
                Ok(()) => Ok(true),
                // sha-crypt 0.5 does not export its `CheckError` type, so the variant can only
                // be told apart through `Debug`; the shape was validated above, so anything
                // other than a mismatch is a bad rounds value or bad base64.
                Err(e) => {
                    let detail = format!("{e:?}");
                    if detail == "HashMismatch" {
                        Ok(false)
                    } else {
                        Err(malformed(detail))
                    }
                }
            }
        }
    }
}

/// Spend about as long as a real verification, for unknown users, so response time does not
/// reveal whether a userid exists. The result is always `false`.
pub fn dummy_verify(password: &[u8]) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash_password(b"cyrus-rs dummy password").ok()) {
        let _ = verify_password(password, stored);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_gate_bounds_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NOW: AtomicUsize = AtomicUsize::new(0);
        static MAX: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    with_argon2_permit(|| {
                        let n = NOW.fetch_add(1, Ordering::SeqCst) + 1;
                        MAX.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        NOW.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let max = MAX.load(Ordering::SeqCst);
        assert!((1..=MAX_CONCURRENT_ARGON2).contains(&max), "{max}");
    }

    /// `openssl passwd -6 -salt saltsaltsalt secret`
    const SHA512_SECRET: &str = "$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts.";
    /// `openssl passwd -5 -salt saltsalt secret`
    const SHA256_SECRET: &str = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

    #[test]
    fn argon2_round_trip_with_documented_params() {
        let h = hash_password(b"hunter2").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{h}");
        assert!(verify_password(b"hunter2", &h).unwrap());
        assert!(!verify_password(b"hunter3", &h).unwrap());
        assert_eq!(validate_stored_hash(&h).unwrap(), HashScheme::Argon2);
        // Fresh salt each time.
        assert_ne!(h, hash_password(b"hunter2").unwrap());
    }

    #[test]
    fn sha512_crypt_known_vector() {
        assert!(verify_password(b"secret", SHA512_SECRET).unwrap());
        assert!(!verify_password(b"Secret", SHA512_SECRET).unwrap());
        assert!(!verify_password(&[0xff, 0xfe], SHA512_SECRET).unwrap());
        assert_eq!(
            validate_stored_hash(SHA512_SECRET).unwrap(),
            HashScheme::Sha512Crypt
        );
    }

    #[test]
    fn sha256_crypt_known_vector() {
        assert!(verify_password(b"secret", SHA256_SECRET).unwrap());
        assert!(!verify_password(b"secrets", SHA256_SECRET).unwrap());
    }

    #[test]
    fn plaintext_and_garbage_refused() {
        assert!(matches!(
            verify_password(b"secret", "secret"),
            Err(HashError::Unsupported)
        ));
        assert!(matches!(
            verify_password(b"", ""),
            Err(HashError::Unsupported)
        ));
        assert!(matches!(
            validate_stored_hash("{PLAIN}x"),
            Err(HashError::Unsupported)
        ));
        assert!(matches!(
            verify_password(b"x", "$argon2id$garbage"),
            Err(HashError::Malformed { .. })
        ));
        assert!(matches!(
            verify_password(b"x", "$6$"),
            Err(HashError::Malformed { .. })
        ));
        assert!(validate_stored_hash("$6$salt$h:x").is_err());
    }

    #[test]
    fn dummy_is_false() {
        assert!(!dummy_verify(b"cyrus-rs dummy password"));
    }
}
