//! `listen=` values of cyrus.conf SERVICES (spec §8.3; master/master.c `parse_inet_listen`)
//! and port lookup in the services database.
//!
//! Owns the syntax and the `/etc/services` lookup. Must not create sockets or resolve host
//! names (that is the master's job, with the address families `proto` allows).

use std::path::{Path, PathBuf};

/// A parsed `listen` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// Starts with `/`: UNIX-domain socket path.
    Unix(PathBuf),
    /// Internet socket. `host` is `None` for a bare port (wildcard); `port` is `None` only
    /// for `[addr]` without a port.
    Inet {
        /// Host name or address literal (brackets removed).
        host: Option<String>,
        /// Port number or service name, as written.
        port: Option<String>,
    },
}

/// Why a `listen` value or port is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    /// Malformed (`[addr` without `]`, junk after `]`, empty port after `:`).
    #[error("invalid listen '{0}'")]
    Invalid(String),
    /// Unknown service name.
    #[error("port '{name}' not found in {}: add `{name} {suggested}/{proto}` to {}",
            services.display(), services.display())]
    UnknownService {
        /// The name looked up.
        name: String,
        /// `tcp` or `udp`.
        proto: &'static str,
        /// Port to suggest (the well-known one for Cyrus services, else `<port>`).
        suggested: String,
        /// Services file consulted.
        services: PathBuf,
    },
    /// The services file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    ServicesFile {
        /// File.
        path: PathBuf,
        /// Error text.
        reason: String,
    },
}

impl Listen {
    /// Parses a `listen` value exactly as master does.
    pub fn parse(s: &str) -> Result<Listen, ListenError> {
        let invalid = || ListenError::Invalid(s.to_owned());
        if s.starts_with('/') {
            return Ok(Listen::Unix(PathBuf::from(s)));
        }
        if let Some(inner) = s.strip_prefix('[') {
            let close = inner.rfind(']').ok_or_else(invalid)?;
            let host = Some(inner[..close].to_owned());
            let after = &inner[close + 1..];
            return match after.strip_prefix(':') {
                Some("") => Err(invalid()),
                Some(port) => Ok(Listen::Inet {
                    host,
                    port: Some(port.to_owned()),
                }),
                None if after.is_empty() => Ok(Listen::Inet { host, port: None }),
                None => Err(invalid()),
            };
        }
        match s.rfind(':') {
            Some(i) if i + 1 == s.len() => Err(invalid()),
            Some(i) => Ok(Listen::Inet {
                host: Some(s[..i].to_owned()),
                port: Some(s[i + 1..].to_owned()),
            }),
            None => Ok(Listen::Inet {
                host: None,
                port: Some(s.to_owned()),
            }),
        }
    }

    /// The port text, if any.
    pub fn port(&self) -> Option<&str> {
        match self {
            Listen::Unix(_) => None,
            Listen::Inet { port, .. } => port.as_deref(),
        }
    }
}

/// Default services database.
pub const SERVICES_FILE: &str = "/etc/services";

/// Well-known ports of the Cyrus services, used to suggest the missing `/etc/services` line.
const CYRUS_PORTS: &[(&str, u16)] = &[
    ("csync", 2005),
    ("imap", 143),
    ("imaps", 993),
    ("pop3", 110),
    ("pop3s", 995),
    ("lmtp", 2003),
    ("sieve", 4190),
    ("mupdate", 3905),
    ("nntp", 119),
    ("nntps", 563),
    ("http", 80),
    ("https", 443),
];

/// Resolves a port given as a number or a service name for `proto` (`tcp…` → tcp, `udp…` →
/// udp), looking names up in `services_file` (normally [`SERVICES_FILE`]).
pub fn resolve_port(port: &str, proto: &str, services_file: &Path) -> Result<u16, ListenError> {
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return port
            .parse()
            .map_err(|_| ListenError::Invalid(port.to_owned()));
    }
    let proto: &'static str = if proto.starts_with("udp") {
        "udp"
    } else {
        "tcp"
    };
    let text = std::fs::read(services_file).map_err(|e| ListenError::ServicesFile {
        path: services_file.to_owned(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&text);
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_ascii_whitespace();
        let (Some(name), Some(pp)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((num, p)) = pp.split_once('/') else {
            continue;
        };
        if p != proto || !(name == port || words.any(|alias| alias == port)) {
            continue;
        }
        if let Ok(n) = num.parse::<u16>() {
            return Ok(n);
        }
    }
    let suggested = CYRUS_PORTS
        .iter()
        .find(|(n, _)| *n == port)
        .map_or_else(|| "<port>".to_owned(), |(_, p)| p.to_string());
    Err(ListenError::UnknownService {
        name: port.to_owned(),
        proto,
        suggested,
        services: services_file.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn inet(host: Option<&str>, port: Option<&str>) -> Listen {
        Listen::Inet {
            host: host.map(str::to_owned),
            port: port.map(str::to_owned),
        }
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            Listen::parse("/var/run/cyrus/socket/lmtp"),
            Ok(Listen::Unix("/var/run/cyrus/socket/lmtp".into()))
        );
        assert_eq!(
            Listen::parse("[::1]:2005"),
            Ok(inet(Some("::1"), Some("2005")))
        );
        assert_eq!(
            Listen::parse("[2001:db8::5]:csync"),
            Ok(inet(Some("2001:db8::5"), Some("csync")))
        );
        assert_eq!(
            Listen::parse("[127.0.0.1]"),
            Ok(inet(Some("127.0.0.1"), None))
        );
        assert_eq!(Listen::parse("2005"), Ok(inet(None, Some("2005"))));
        assert_eq!(Listen::parse("csync"), Ok(inet(None, Some("csync"))));
        assert_eq!(
            Listen::parse("localhost:imap"),
            Ok(inet(Some("localhost"), Some("imap")))
        );
        assert_eq!(Listen::parse("::1:143"), Ok(inet(Some("::1"), Some("143"))));
        assert_eq!(
            Listen::parse("host:"),
            Err(ListenError::Invalid("host:".into()))
        );
        assert_eq!(
            Listen::parse("[::1"),
            Err(ListenError::Invalid("[::1".into()))
        );
        assert_eq!(
            Listen::parse("[::1]x"),
            Err(ListenError::Invalid("[::1]x".into()))
        );
        assert_eq!(
            Listen::parse("[::1]:"),
            Err(ListenError::Invalid("[::1]:".into()))
        );
    }

    #[test]
    fn services_lookup() {
        let mut f = tempfile::NamedTempFile::new().expect("tempfile");
        writeln!(
            f,
            "# services\nimap\t\t143/tcp\t\timap2 # comment\nsieve 4190/tcp"
        )
        .expect("w");
        let p = f.path();
        assert_eq!(resolve_port("2005", "tcp", p), Ok(2005));
        assert_eq!(resolve_port("imap", "tcp", p), Ok(143));
        assert_eq!(resolve_port("imap2", "tcp4", p), Ok(143));
        assert_eq!(resolve_port("sieve", "tcp6", p), Ok(4190));
        assert!(resolve_port("imap", "udp", p).is_err());
        assert!(resolve_port("70000", "tcp", p).is_err());
        let e = resolve_port("csync", "tcp", p).expect_err("csync missing");
        assert!(e.to_string().contains("add `csync 2005/tcp` to"), "{e}");
        let e = resolve_port("frob", "tcp", p).expect_err("frob missing");
        assert!(e.to_string().contains("add `frob <port>/tcp`"), "{e}");
        let missing = resolve_port("csync", "tcp", Path::new("/nonexistent/services"));
        assert!(matches!(missing, Err(ListenError::ServicesFile { .. })));
    }
}
