//! Shared helpers for the command-line programs (one `[[bin]]` per Cyrus tool name).
//!
//! Owns: argument conventions and process set-up common to every tool.
//! Must not: hold protocol or storage logic; that lives in the library crates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use config::{ImapdConf, Opt};
use mailstore::StoreConfig;
use sync_log::{Channel, SyncLogConfig};
use types::NameConfig;

/// The mailstore settings of an imapd.conf: `configdirectory`, `partition-*`,
/// `defaultpartition`, `deletedprefix`, and the sync log (`sync_log`, `sync_log_channels`).
pub fn store_config(conf: &ImapdConf) -> anyhow::Result<StoreConfig> {
    let config_dir = PathBuf::from(conf.config_directory());
    let partitions: BTreeMap<String, PathBuf> = conf
        .partitions()
        .into_iter()
        .map(|(name, dir)| (name.to_owned(), PathBuf::from(dir)))
        .collect();
    let default_partition = conf
        .string(Opt::Defaultpartition)
        .unwrap_or("default")
        .to_owned();
    if !partitions.contains_key(&default_partition) {
        bail!(
            "{}: partition-{default_partition} is not set (defaultpartition is {default_partition})",
            conf.path().display()
        );
    }
    Ok(StoreConfig {
        sync_log: sync_log_config(conf),
        config_dir,
        partitions,
        default_partition,
        names: NameConfig {
            deleted_prefix: conf
                .string(Opt::Deletedprefix)
                .unwrap_or("DELETED")
                .to_owned(),
        },
    })
}

/// The sync log writer settings of an imapd.conf: `sync_log`, `configdirectory`,
/// `sync_log_channels` (unset = the unnamed channel only).
pub fn sync_log_config(conf: &ImapdConf) -> SyncLogConfig {
    let channels = conf
        .sync_log_channels()
        .into_iter()
        .map(|c| match c {
            config::Channel::Unnamed => Channel::Default,
            config::Channel::Named(n) => Channel::Named(n),
        })
        .collect();
    SyncLogConfig {
        enabled: conf.switch(Opt::SyncLog),
        config_dir: PathBuf::from(conf.config_directory()),
        channels,
    }
}

/// Load imapd.conf for the program `ident` and open its mailstore.
pub fn open_store(
    path: &std::path::Path,
    ident: &str,
) -> anyhow::Result<(ImapdConf, mailstore::Store)> {
    let conf = ImapdConf::load(path, Some(ident))
        .with_context(|| format!("reading {}", path.display()))?;
    let store = mailstore::Store::open(store_config(&conf)?)
        .with_context(|| format!("opening the mailstore of {}", path.display()))?;
    Ok((conf, store))
}
