//! Authentication for cyrus-rs: the password file, the admin list and SASL PLAIN/LOGIN for
//! the IMAP, POP3, LMTP and csync servers and for `sync_client`.
//!
//! Owns: user credentials (store and verification), the `admins:` membership test, SASL
//! exchanges as sans-I/O state machines, and the base64 conventions of `AUTHENTICATE` lines.
//!
//! Must not: open sockets, frame protocol lines, read `imapd.conf` (callers pass option
//! values), or sleep after failures (`failedloginpause` belongs to the session).
//!
//! # Modules
//!
//! * [`passwd`]: the text password file, by default `<configdirectory>/passwd`
//!   ([`passwd::passwd_path`]; `sasl_sasldb_path` overrides it), managed with `saslpasswd2`.
//! * [`hash`]: argon2id for new passwords (m = 7 MiB, t = 5, p = 1, an OWASP minimum);
//!   SHA-512-crypt `$6$` and SHA-256-crypt `$5$` accepted when verifying imported users.
//! * [`admins`]: [`Admins::parse`] / [`Admins::is_admin`].
//! * [`sasl`]: [`ServerMechanism`], [`ClientMechanism`], mechanism lists, [`PasswordCheck`].
//! * [`b64`]: base64 for `AUTHENTICATE` (padding mandatory, `=` = empty, `*` = cancel).
//!
//! # Password file format (docs note)
//!
//! One user per line, `userid[@realm]:hash`, UTF-8, LF line ends, `#` comments and blank
//! lines ignored. Realms are stored in the key the way `saslpasswd2 -u realm user` names them
//! (`user@realm`, split at the last `@`); a server with a default realm (Cyrus uses
//! `servername`) tries `login@realm` then `login`. Hashes are PHC argon2 strings or glibc
//! `$6$`/`$5$` crypt strings; plaintext is never accepted. Updates are atomic (temp file,
//! fsync, rename, directory fsync) under a `flock` on `<file>.lock`; readers reload when the
//! file's inode, size, mtime or ctime change. This is not Cyrus's Berkeley DB `sasldb2`:
//! users are re-created with our `saslpasswd2` when migrating. Full details in [`passwd`].

#![forbid(unsafe_code)]
// Tests unwrap fixed, known-good data; a failure there is the test failing.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod admins;
pub mod b64;
pub mod hash;
pub mod passwd;
pub mod sasl;

pub use admins::Admins;
pub use passwd::{PasswdError, PasswdFile, SetMode};
pub use sasl::client::{ClientError, ClientMechanism, Credentials};
pub use sasl::server::{Failure, ServerMechanism, Step};
pub use sasl::{AuthContext, CheckError, Mechanism, PasswordCheck, StaticPasswords};
