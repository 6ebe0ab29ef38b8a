//! imapd: the IMAP4rev1 server session (RFC 3501 and the extensions Cyrus 3.6 clients and
//! replication use) over a [`net::Conn`] and the [`mailstore::Store`].
//!
//! Owns: the per-connection state machine (not authenticated → authenticated → selected),
//! access-rights checks (the mailstore checks none), mapping store outcomes to Cyrus's
//! response texts and codes, and the server-wide settings read from imapd.conf.
//! Must not: parse the wire grammar (imap-proto does), touch SQL or files directly (the
//! mailstore does), or block the reactor (every store call goes through `spawn_blocking`).
//!
//! Replication over IMAP (`X-REPLICATION`: `SYNCAPPLY`, `SYNCGET`, `SYNCRESTART`,
//! `SYNCRESTORE` from an admin) is delegated to `replication::server::SyncCore` in its IMAP
//! flavour: the session hands it the raw input from the command's tag on, because csync file
//! literals (`%{partition guid size}`) are not IMAP literals.

mod acl;
mod append_check;
mod fetch;
mod list;
mod search;
mod selected;
mod session;

use std::sync::Arc;
use std::time::Duration;

use auth::{Admins, PasswdFile, PasswordCheck};
use config::{ImapdConf, Opt};
use imap_proto::FrameLimits;
use mailstore::Store;
use types::Namespace;

pub use acl::Rights;
pub use session::serve_conn;

/// Server-wide settings shared by every session.
pub struct Server {
    pub store: Arc<Store>,
    pub ns: Namespace,
    pub admins: Admins,
    pub passwords: Arc<dyn PasswordCheck + Send + Sync>,
    pub allow_plaintext: bool,
    pub sasl_mech_list: Option<String>,
    pub servername: String,
    pub tls: Option<net::TlsAcceptor>,
    pub limits: FrameLimits,
    /// Autologout after this long without a command (`timeout`, Cyrus's default 32 minutes,
    /// never under 30 as RFC 3501 §5.4 asks).
    pub autologout: Duration,
    /// How often IDLE looks for changes.
    pub idle_poll: Duration,
    pub id_response: bool,
    /// `implicit_owner_rights`.
    pub owner_rights: String,
    /// Pause after a failed login.
    pub failed_login_pause: Duration,
    /// `imapd -s` (imaps): TLS from the first byte.
    pub tls_on_connect: bool,
    /// `reject8bit` / `munge8bit`: 8-bit bytes in an APPENDed header.
    pub reject8bit: bool,
    pub munge8bit: bool,
    /// Replication over IMAP for admins; `None` disables `X-REPLICATION`.
    pub replication: Option<Arc<replication::server::ServerOptions>>,
    /// `delete_mode: delayed` (Cyrus's default): DELETE renames into `DELETED.…`.
    pub delete_delayed: bool,
    /// `allowusermoves`: an admin may rename a user (`RENAME user/a user/b`).
    pub allow_user_moves: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("servername", &self.servername)
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

/// Version string in greetings and ID, in Cyrus's shape.
pub const VERSION: &str = concat!("cyrus-rs ", env!("CARGO_PKG_VERSION"));

impl Server {
    /// Settings from imapd.conf: namespace (`altnamespace`, `unixhierarchysep`, `userprefix`,
    /// `sharedprefix`), `admins`, `allowplaintext`, `sasl_mech_list`, `servername`, TLS,
    /// `maxmessagesize`, `imapidresponse`, `implicit_owner_rights`, `failedloginpause`, and
    /// the password file (`sasl_sasldb_path` or `<configdirectory>/passwd`).
    pub fn from_conf(conf: &ImapdConf, store: Store) -> Result<Server, String> {
        let servername = conf
            .string(Opt::Servername)
            .map(str::to_owned)
            .unwrap_or_else(hostname);
        let passwords = PasswdFile::for_server(
            std::path::Path::new(conf.config_directory()),
            conf.sasl_option("sasldb_path"),
            &servername,
        );
        let tls = net::TlsAcceptor::from_conf(conf).map_err(|e| e.to_string())?;
        let replication = Arc::new(replication::server::session::options_from_conf(
            conf,
            tls.is_some(),
        ));
        let mut limits = FrameLimits::default();
        let maxmsg = conf.int(Opt::Maxmessagesize);
        if maxmsg > 0 {
            limits.max_literal = maxmsg as u64;
            limits.max_command = maxmsg as u64 + 1024 * 1024;
        }
        Ok(Server {
            store: Arc::new(store),
            ns: Namespace {
                alt: conf.switch(Opt::Altnamespace),
                unix_sep: conf.switch(Opt::Unixhierarchysep),
                user_prefix: conf
                    .string(Opt::Userprefix)
                    .unwrap_or("Other Users")
                    .to_owned(),
                shared_prefix: conf
                    .string(Opt::Sharedprefix)
                    .unwrap_or("Shared Folders")
                    .to_owned(),
            },
            admins: Admins::parse(conf.string(Opt::Admins).unwrap_or("")),
            passwords: Arc::new(passwords),
            allow_plaintext: conf.switch(Opt::Allowplaintext),
            sasl_mech_list: conf.sasl_option("mech_list").map(str::to_owned),
            servername,
            tls,
            limits,
            autologout: conf
                .duration(Opt::Timeout)
                .max(Duration::from_secs(30 * 60)),
            idle_poll: Duration::from_secs(1),
            id_response: conf.switch(Opt::Imapidresponse),
            owner_rights: conf
                .string(Opt::ImplicitOwnerRights)
                .unwrap_or("lkxan")
                .to_owned(),
            failed_login_pause: conf.duration(Opt::Failedloginpause),
            tls_on_connect: false,
            reject8bit: conf.switch(Opt::Reject8bit),
            munge8bit: conf.switch(Opt::Munge8bit),
            replication: Some(replication),
            delete_delayed: conf.string(Opt::DeleteMode) != Some("immediate"),
            allow_user_moves: conf.switch(Opt::Allowusermoves),
        })
    }

    /// Settings for tests: a store, a password table, everything else at Cyrus's defaults
    /// with plaintext allowed.
    pub fn for_tests(store: Store, passwords: Arc<dyn PasswordCheck + Send + Sync>) -> Server {
        Server {
            store: Arc::new(store),
            ns: Namespace {
                alt: true,
                unix_sep: true,
                ..Namespace::default()
            },
            admins: Admins::parse("admin"),
            passwords,
            allow_plaintext: true,
            sasl_mech_list: None,
            servername: "localhost".into(),
            tls: None,
            limits: FrameLimits::default(),
            autologout: Duration::from_secs(32 * 60),
            idle_poll: Duration::from_millis(200),
            id_response: true,
            owner_rights: "lkxan".into(),
            failed_login_pause: Duration::ZERO,
            tls_on_connect: false,
            reject8bit: false,
            munge8bit: true,
            replication: None,
            delete_delayed: false,
            allow_user_moves: true,
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
