//! Command-line conventions shared by every service (`imapd`, `pop3d`, `lmtpd`,
//! `sync_server`): Cyrus's `-C <imapd.conf>`, `-D`, `-s`, `-U <uses>`, `-T <timeout>`, plus our
//! `--listen <addr>` for running a service without `master`.

use std::ffi::OsString;
use std::path::PathBuf;

/// Where Cyrus looks for imapd.conf when `-C` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/imapd.conf";

/// The parsed common flags of a service; the flags a service has of its own stay in `rest`
/// in their original order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceArgs {
    /// `-C`: the imapd.conf to read.
    pub config: PathBuf,
    /// `--listen ADDR` (`host:port`, `[v6]:port`, `/unix/path`): bind this instead of using
    /// the socket inherited from master.
    pub listen: Option<String>,
    /// `-D`: debug logging.
    pub debug: bool,
    /// `-s`: TLS from the first byte (imaps, pop3s).
    pub tls_on_connect: bool,
    /// `-U`: Cyrus's "uses before exit" (accepted; one process serves all connections here).
    pub max_uses: Option<u32>,
    /// `-T`: Cyrus's idle-process timeout (accepted, see `max_uses`).
    pub timeout: Option<u32>,
    /// Everything else, for the service to interpret.
    pub rest: Vec<String>,
}

/// A malformed command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A flag that needs a value came last.
    #[error("option {0} requires an argument")]
    MissingValue(String),
    /// A numeric flag with a non-number.
    #[error("option {flag}: invalid number '{value}'")]
    BadNumber {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
    },
    /// Not valid UTF-8.
    #[error("arguments must be UTF-8")]
    NotUtf8,
}

impl ServiceArgs {
    /// From the process's arguments (the program name skipped).
    pub fn parse() -> Result<ServiceArgs, ArgsError> {
        ServiceArgs::parse_from(std::env::args_os().skip(1))
    }

    /// From an explicit list (without the program name).
    pub fn parse_from<I, S>(args: I) -> Result<ServiceArgs, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut out = ServiceArgs {
            config: PathBuf::from(DEFAULT_CONFIG),
            listen: None,
            debug: false,
            tls_on_connect: false,
            max_uses: None,
            timeout: None,
            rest: Vec::new(),
        };
        let args = args
            .into_iter()
            .map(|a| a.into().into_string().map_err(|_| ArgsError::NotUtf8))
            .collect::<Result<Vec<String>, ArgsError>>()?;
        let mut it = args.into_iter();
        let number = |flag: &str, v: String| {
            v.parse::<u32>().map_err(|_| ArgsError::BadNumber {
                flag: flag.to_owned(),
                value: v,
            })
        };
        while let Some(arg) = it.next() {
            let mut value = |flag: &str| {
                it.next()
                    .ok_or_else(|| ArgsError::MissingValue(flag.to_owned()))
            };
            match arg.as_str() {
                "-C" => out.config = PathBuf::from(value("-C")?),
                "--listen" => out.listen = Some(value("--listen")?),
                "-D" => out.debug = true,
                "-s" => out.tls_on_connect = true,
                "-U" => out.max_uses = Some(number("-U", value("-U")?)?),
                "-T" => out.timeout = Some(number("-T", value("-T")?)?),
                a if a.starts_with("--listen=") => {
                    out.listen = Some(a["--listen=".len()..].to_owned());
                }
                a if a.starts_with("-C") && a.len() > 2 => out.config = PathBuf::from(&a[2..]),
                _ => out.rest.push(arg),
            }
        }
        Ok(out)
    }
}

/// Log to stderr (`RUST_LOG` filters; `-D` means debug), one line per event.
pub fn init_tracing(ident: &str, debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    tracing::debug!(ident, "logging started");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn common_flags_and_rest() {
        let a = ServiceArgs::parse_from([
            "-C",
            "/x/imapd.conf",
            "-a",
            "--listen",
            "127.0.0.1:24",
            "-U",
            "30",
            "-D",
            "-r",
        ])
        .unwrap();
        assert_eq!(a.config, PathBuf::from("/x/imapd.conf"));
        assert_eq!(a.listen.as_deref(), Some("127.0.0.1:24"));
        assert_eq!(a.max_uses, Some(30));
        assert!(a.debug && !a.tls_on_connect);
        assert_eq!(a.rest, vec!["-a", "-r"]);
        let d = ServiceArgs::parse_from(Vec::<String>::new()).unwrap();
        assert_eq!(d.config, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(
            ServiceArgs::parse_from(["-C"]),
            Err(ArgsError::MissingValue("-C".to_owned()))
        );
        assert!(ServiceArgs::parse_from(["-U", "x"]).is_err());
        assert_eq!(
            ServiceArgs::parse_from(["--listen=/tmp/s"])
                .unwrap()
                .listen
                .as_deref(),
            Some("/tmp/s")
        );
    }
}
