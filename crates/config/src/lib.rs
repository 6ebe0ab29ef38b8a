//! Cyrus 3.6 configuration: imapd.conf (typed option table, service overrides, per-channel
//! replication lookups) and cyrus.conf (START/SERVICES/EVENTS/DAEMON, `listen` values).
//!
//! Owns parsing and typed access only. Must not depend on a runtime or the store, open
//! sockets, spawn processes or decide policy; callers (master, sync_client, servers) do that.
//!
//! Entry points: [`ImapdConf::load`] (one view per service ident), [`ImapdConf::channel`]
//! for sync_client's per-channel options, [`CyrusConf::load`], [`Listen::parse`] and
//! [`resolve_port`].
//!
//! Where we knowingly differ from Cyrus 3.6.1 (everything else follows its code, which wins
//! over the man pages and the spec prose):
//! * imapd.conf switches are case-insensitive (`sync_log: On` is fatal in 3.6).
//! * `sync_compress` is a known switch (3.6 keeps it as an unused unknown key).
//! * `<channel>_shutdown_file` is a fallback for `<channel>_sync_shutdown_file`.
//! * Unknown keys are logged with `tracing::warn!` unless they are a normal dynamic form.
//! * Durations beyond 32 bits are an error (3.6 wraps silently).
//! * `CYRUS_PREFIX` is not consulted; files are read as given.

#![forbid(unsafe_code)]

pub mod options;
pub mod value;

pub use options::{Opt, OptDefault, OptDesc, OptKind};
pub use value::Unit;
pub mod error;
pub mod imapd_conf;

pub use error::ImapdConfError;
pub use imapd_conf::{ConfWarning, ImapdConf, Source};
pub mod channel;

pub use channel::{Channel, ChannelConfig, Origin, Resolved};
pub mod cyrus_conf;
pub mod listen;

pub use cyrus_conf::{
    CyrusConf, CyrusConfError, DaemonEntry, EventEntry, ServiceEntry, StartEntry,
};
pub use listen::{Listen, ListenError, SERVICES_FILE, resolve_port};
