//! lmtpd: local mail delivery over LMTP (RFC 2033), behaving on the wire like Cyrus 3.6
//! `lmtpd` (greeting, LHLO capabilities, reply codes and texts, trace headers).
//!
//! Owns: the LMTP session over a [`net::Conn`] ([`session`]), its sans-I/O protocol core
//! ([`proto`] for command lines and replies, [`data`] for the DATA stream), recipient
//! resolution ([`recipient`]) and delivery into the mailstore ([`deliver`]).
//! Must not: parse imapd.conf beyond [`LmtpConfig::from_conf`], touch SQL or body paths (the
//! mailstore does), or run blocking work on the reactor.
//!
//! Durability: the body is written to a partition's staging file while DATA streams in,
//! fsynced, then linked and committed by `Store::append_to_many`; the per-recipient `250` is
//! sent only after that returns (DESIGN.md order).

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod data;
pub mod deliver;
pub mod proto;
pub mod recipient;
pub mod session;

use std::sync::Arc;

use auth::{Admins, PasswdFile};
use config::{ImapdConf, Opt};
use mailstore::Store;

pub use session::serve_conn;

/// The version string we report where Cyrus reports `CYRUS_VERSION`.
pub const VERSION: &str = concat!("3.6.1-cyrus-rs-", env!("CARGO_PKG_VERSION"));

/// lmtpd settings, from imapd.conf and the command line.
#[derive(Debug, Clone)]
pub struct LmtpConfig {
    /// `servername` (default: the host name).
    pub servername: String,
    /// `serverinfo: on` (version in the greeting and Received header).
    pub serverinfo: bool,
    /// `maxmessagesize` (0 = unlimited).
    pub max_size: Option<u64>,
    /// `soft_noauth`: 430 rather than 530 before authentication.
    pub soft_noauth: bool,
    /// `allowplaintext`.
    pub allow_plaintext: bool,
    /// `sasl_mech_list`.
    pub sasl_mech_list: Option<String>,
    /// `-a`: TCP connections are pre-authorised (UNIX-socket ones always are).
    pub preauth: bool,
    pub rules: recipient::AddressRules,
    pub header: data::HeaderOptions,
    pub policy: deliver::Policy,
    /// `lmtp_over_quota_perm_failure`.
    pub over_quota_perm: bool,
    /// `postmaster`.
    pub postmaster: String,
}

/// The host name, as Cyrus uses when `servername` is unset.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl LmtpConfig {
    pub fn from_conf(conf: &ImapdConf, preauth: bool) -> LmtpConfig {
        let max = conf.int(Opt::Maxmessagesize);
        LmtpConfig {
            servername: conf
                .string(Opt::Servername)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(hostname),
            serverinfo: conf.enumeration(Opt::Serverinfo) == "on",
            max_size: (max > 0).then_some(max as u64),
            soft_noauth: conf.switch(Opt::SoftNoauth),
            allow_plaintext: conf.switch(Opt::Allowplaintext),
            sasl_mech_list: conf.sasl_option("mech_list").map(str::to_owned),
            preauth,
            rules: recipient::AddressRules {
                virtdomains: conf.enumeration(Opt::Virtdomains) != "off",
                default_domain: conf
                    .string(Opt::Defaultdomain)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                unix_sep: conf.switch(Opt::Unixhierarchysep),
                downcase: conf.switch(Opt::LmtpDowncaseRcpt),
                postuser: conf.string(Opt::Postuser).unwrap_or("").to_owned(),
            },
            header: data::HeaderOptions {
                munge8bit: conf.switch(Opt::Munge8bit),
                reject8bit: conf.switch(Opt::Reject8bit),
            },
            policy: deliver::Policy {
                strict_quota: conf.switch(Opt::LmtpStrictQuota),
                dupelim: conf.switch(Opt::Duplicatesuppression),
            },
            over_quota_perm: conf.switch(Opt::LmtpOverQuotaPermFailure),
            postmaster: conf
                .string(Opt::Postmaster)
                .unwrap_or("postmaster")
                .to_owned(),
        }
    }
}

/// Everything a session needs, shared by all connections of the process.
#[derive(Debug)]
pub struct Server {
    pub cfg: LmtpConfig,
    pub store: Arc<Store>,
    pub passwd: Arc<PasswdFile>,
    pub admins: Arc<Admins>,
    pub tls: Option<net::TlsAcceptor>,
}

impl Server {
    /// Build from imapd.conf: password file (`sasl_sasldb_path` or
    /// `<configdirectory>/passwd`, realm `servername`), `admins`, TLS from
    /// `tls_server_cert`/`tls_server_key`.
    pub fn from_conf(
        conf: &ImapdConf,
        store: Arc<Store>,
        preauth: bool,
    ) -> Result<Server, net::TlsError> {
        let cfg = LmtpConfig::from_conf(conf, preauth);
        let passwd = PasswdFile::for_server(
            std::path::Path::new(conf.config_directory()),
            conf.sasl_option("sasldb_path"),
            &cfg.servername,
        );
        Ok(Server {
            admins: Arc::new(Admins::parse(conf.string(Opt::Admins).unwrap_or(""))),
            passwd: Arc::new(passwd),
            tls: net::TlsAcceptor::from_conf(conf)?,
            store,
            cfg,
        })
    }
}
