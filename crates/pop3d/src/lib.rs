//! pop3d: POP3 access to a user's INBOX (RFC 1939, RFC 2449 CAPA, RFC 5034 SASL, RFC 2595
//! STLS), behaving on the wire like Cyrus 3.6 `pop3d`.
//!
//! Owns: the POP3 session over a [`net::Conn`] ([`session`]) and its sans-I/O protocol core
//! ([`proto`]). The maildrop is the INBOX as it was at login (messages not yet expunged);
//! DELE marks, RSET unmarks, QUIT (UPDATE state) expunges the marked messages and records the
//! login time (`POP3_LAST_LOGIN`, which replication carries), each through the mailstore so
//! that the `MAILBOX` sync-log records are written.
//! Must not: parse imapd.conf beyond [`PopConfig::from_conf`], touch SQL or body paths, or
//! block the reactor.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod proto;
pub mod session;

use std::sync::Arc;

use auth::{Admins, PasswdFile};
use config::{ImapdConf, Opt};
use mailstore::Store;

pub use session::serve_conn;

/// The version string we report where Cyrus reports `CYRUS_VERSION`.
pub const VERSION: &str = concat!("3.6.1-cyrus-rs-", env!("CARGO_PKG_VERSION"));

/// `uidl_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidlFormat {
    UidOnly,
    Cyrus,
    Dovecot,
    Courier,
}

/// pop3d settings from imapd.conf.
#[derive(Debug, Clone)]
pub struct PopConfig {
    pub servername: String,
    /// `serverinfo`: "off", "min" or "on".
    pub serverinfo: &'static str,
    pub allow_plaintext: bool,
    pub sasl_mech_list: Option<String>,
    /// `popminpoll` in seconds (0: no limit).
    pub minpoll: i64,
    /// `poppollpadding`.
    pub pollpadding: i64,
    /// `popexpiretime` in days (None: never).
    pub expire_days: Option<i64>,
    /// `popuseimapflags`: skip \Deleted messages, set \Seen on RETR.
    pub use_imap_flags: bool,
    pub uidl_format: UidlFormat,
    /// `failedloginpause` in seconds.
    pub failed_login_pause: u64,
    /// `plaintextloginpause` in seconds.
    pub plaintext_login_pause: u64,
    /// `poptimeout` in seconds (at least 10 minutes, as Cyrus).
    pub timeout: u64,
    /// `unixhierarchysep` (with `.` as separator, `.` is refused in USER names).
    pub unix_sep: bool,
    pub virtdomains: bool,
}

impl PopConfig {
    pub fn from_conf(conf: &ImapdConf) -> PopConfig {
        let expire = conf.duration_secs(Opt::Popexpiretime);
        PopConfig {
            servername: conf
                .string(Opt::Servername)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(hostname),
            serverinfo: conf.enumeration(Opt::Serverinfo),
            allow_plaintext: conf.switch(Opt::Allowplaintext),
            sasl_mech_list: conf.sasl_option("mech_list").map(str::to_owned),
            minpoll: opt_secs(conf, Opt::Popminpoll),
            pollpadding: conf.int(Opt::Poppollpadding),
            expire_days: (expire >= 0).then_some(expire / 86_400),
            use_imap_flags: conf.switch(Opt::Popuseimapflags),
            uidl_format: match conf.enumeration(Opt::UidlFormat) {
                "uidonly" => UidlFormat::UidOnly,
                "dovecot" => UidlFormat::Dovecot,
                "courier" => UidlFormat::Courier,
                _ => UidlFormat::Cyrus,
            },
            failed_login_pause: conf.duration_secs(Opt::Failedloginpause).max(0) as u64,
            plaintext_login_pause: opt_secs(conf, Opt::Plaintextloginpause) as u64,
            timeout: (conf.duration_secs(Opt::Poptimeout).max(600)) as u64,
            unix_sep: conf.switch(Opt::Unixhierarchysep),
            virtdomains: conf.enumeration(Opt::Virtdomains) != "off",
        }
    }
}

/// A duration option without a default: 0 when unset.
fn opt_secs(conf: &ImapdConf, opt: Opt) -> i64 {
    if conf.is_set(opt) {
        conf.duration_secs(opt).max(0)
    } else {
        0
    }
}

/// The host name, as Cyrus uses when `servername` is unset.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Everything a session needs, shared by all connections of the process.
#[derive(Debug)]
pub struct Server {
    pub cfg: PopConfig,
    pub store: Arc<Store>,
    pub passwd: Arc<PasswdFile>,
    pub admins: Arc<Admins>,
    pub tls: Option<net::TlsAcceptor>,
    /// `-s` (pop3s): TLS from the first byte.
    pub tls_on_connect: bool,
}

impl Server {
    pub fn from_conf(conf: &ImapdConf, store: Arc<Store>) -> Result<Server, net::TlsError> {
        let cfg = PopConfig::from_conf(conf);
        let passwd = PasswdFile::for_server(
            std::path::Path::new(conf.config_directory()),
            conf.sasl_option("sasldb_path"),
            &cfg.servername,
        );
        Ok(Server {
            admins: Arc::new(Admins::parse(conf.string(Opt::Admins).unwrap_or(""))),
            passwd: Arc::new(passwd),
            tls: net::TlsAcceptor::from_conf(conf)?,
            tls_on_connect: false,
            store,
            cfg,
        })
    }
}
