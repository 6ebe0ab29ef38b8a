//! Cyrus 3.6 configuration: imapd.conf (typed option table, service overrides, per-channel
//! replication lookups) and cyrus.conf (START/SERVICES/EVENTS/DAEMON, `listen` values).
//!
//! Owns parsing and typed access only. Must not depend on a runtime or the store, open
//! sockets, spawn processes or decide policy; callers (master, sync_client, servers) do that.

#![forbid(unsafe_code)]

pub mod value;
pub mod options;

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
