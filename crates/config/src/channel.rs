//! Replication channels: which channels the sync log writes (spec §5.1) and per-channel
//! resolution of the channel-aware `sync_*` options (spec §5.3; imap/sync_support.c
//! `sync_get_config`, `sync_get_durationconfig`, `sync_get_switchconfig` of 3.6.1).
//!
//! Owns lookup order and per-channel value parsing. Must not apply command-line overrides
//! (`-S`, `-F`, `-d` belong to sync_client) nor touch the log files.
//!
//! Extension over 3.6: `<channel>_shutdown_file` (the spelling of the Cyrus replication guide,
//! ignored by 3.6) is honoured as a fallback after `<channel>_sync_shutdown_file`.

use std::time::Duration;

use crate::imapd_conf::ImapdConf;
use crate::options::Opt;
use crate::value::{Unit, atoi, parse_duration};

/// A sync log channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// The unnamed channel (`""` in the option value; log `{configdirectory}/sync/log`).
    Unnamed,
    /// A named channel (log `{configdirectory}/sync/<name>/log`).
    Named(String),
}

impl Channel {
    /// Channel name for lookups, `None` for the unnamed channel.
    pub fn name(&self) -> Option<&str> {
        match self {
            Channel::Unnamed => None,
            Channel::Named(n) => Some(n),
        }
    }
}

/// Splits a channel list as sync_log.c does: on spaces only (not tabs), empty tokens
/// skipped, and the first `""` token meaning the unnamed channel.
pub fn parse_channel_list(s: &str) -> Vec<Channel> {
    let mut seen_unnamed = false;
    s.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t == "\"\"" && !seen_unnamed {
                seen_unnamed = true;
                Channel::Unnamed
            } else {
                Channel::Named(t.to_owned())
            }
        })
        .collect()
}

/// Which key supplied a resolved value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A channel-specific key (`<ident>_C_sync_X`, `C_sync_X` or `C_shutdown_file`), as
    /// written in the file.
    Channel(String),
    /// The plain option or its service override (`sync_X`, `<ident>_sync_X`).
    Global(String),
    /// Built-in default.
    Default,
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    /// The value.
    pub value: T,
    /// The key it came from.
    pub origin: Origin,
}

/// The channel-aware options resolved for one channel (spec §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The channel.
    pub channel: Channel,
    /// `sync_host`.
    pub host: Resolved<Option<String>>,
    /// `sync_port` (service name or number, as text).
    pub port: Resolved<Option<String>>,
    /// `sync_authname`.
    pub authname: Resolved<Option<String>>,
    /// `sync_password`.
    pub password: Resolved<Option<String>>,
    /// `sync_realm`.
    pub realm: Resolved<Option<String>>,
    /// `sync_shutdown_file`.
    pub shutdown_file: Resolved<Option<String>>,
    /// `sync_cache_db_path`.
    pub cache_db_path: Resolved<Option<String>>,
    /// `sync_repeat_interval` in seconds (sign kept).
    pub repeat_interval_secs: Resolved<i64>,
    /// `sync_try_imap`.
    pub try_imap: Resolved<bool>,
}

impl ChannelConfig {
    /// `repeat_interval_secs` as a `Duration` (negative reads as zero).
    pub fn repeat_interval(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.repeat_interval_secs.value).unwrap_or(0))
    }
}

impl ImapdConf {
    /// `sync_log_channels`; unset means just the unnamed channel.
    pub fn sync_log_channels(&self) -> Vec<Channel> {
        parse_channel_list(self.string(Opt::SyncLogChannels).unwrap_or("\"\""))
    }

    /// `sync_log_unsuppressable_channels` (default `squatter`).
    pub fn sync_log_unsuppressable_channels(&self) -> Vec<Channel> {
        self.string(Opt::SyncLogUnsuppressableChannels)
            .map(parse_channel_list)
            .unwrap_or_default()
    }

    /// `sync_rightnow_channel`: `None` when unset, `Unnamed` for `""`.
    pub fn sync_rightnow_channel(&self) -> Option<Channel> {
        self.string(Opt::SyncRightnowChannel).map(|s| match s {
            "\"\"" => Channel::Unnamed,
            n => Channel::Named(n.to_owned()),
        })
    }

    /// Resolves the channel-aware options for `channel` (`None` = the unnamed channel).
    pub fn channel(&self, channel: Option<&str>) -> ChannelConfig {
        ChannelConfig {
            channel: channel.map_or(Channel::Unnamed, |c| Channel::Named(c.to_owned())),
            host: self.channel_string(channel, Opt::SyncHost),
            port: self.channel_string(channel, Opt::SyncPort),
            authname: self.channel_string(channel, Opt::SyncAuthname),
            password: self.channel_string(channel, Opt::SyncPassword),
            realm: self.channel_string(channel, Opt::SyncRealm),
            shutdown_file: self.channel_string(channel, Opt::SyncShutdownFile),
            cache_db_path: self.channel_string(channel, Opt::SyncCacheDbPath),
            repeat_interval_secs: self.channel_repeat_interval(channel),
            try_imap: self.channel_try_imap(channel),
        }
    }

    /// `<ident>_C_<opt>` then `C_<opt>` (Cyrus' overflow lookup), with the key used.
    fn channel_key(&self, channel: &str, opt_name: &str) -> Option<(String, &str)> {
        let s = self.overflow_source(&format!("{channel}_{opt_name}"))?;
        Some((s.key.clone(), s.raw.as_str()))
    }

    fn global_origin(&self, opt: Opt) -> Origin {
        self.source(opt)
            .map_or(Origin::Default, |s| Origin::Global(s.key.clone()))
    }

    fn channel_string(&self, channel: Option<&str>, opt: Opt) -> Resolved<Option<String>> {
        if let Some(c) = channel {
            if let Some((key, v)) = self.channel_key(c, opt.name()) {
                return Resolved {
                    value: Some(v.to_owned()),
                    origin: Origin::Channel(key),
                };
            }
            if opt == Opt::SyncShutdownFile
                && let Some((key, v)) = self.channel_key(c, "shutdown_file")
            {
                tracing::info!(
                    channel = c,
                    key = %key,
                    "using {key} as the shutdown file (Cyrus 3.6 ignores this spelling; \
                     {c}_sync_shutdown_file is the 3.6 name)"
                );
                return Resolved {
                    value: Some(v.to_owned()),
                    origin: Origin::Channel(key),
                };
            }
        }
        Resolved {
            value: self.string(opt).map(str::to_owned),
            origin: self.global_origin(opt),
        }
    }

    /// Per-channel value parsed as a duration in seconds; unparsable, or exactly `-1` (3.6
    /// uses -1 as "not found"), falls back to the global option.
    fn channel_repeat_interval(&self, channel: Option<&str>) -> Resolved<i64> {
        let opt = Opt::SyncRepeatInterval;
        if let Some((key, v)) = channel.and_then(|c| self.channel_key(c, opt.name())) {
            match parse_duration(v, Unit::Seconds) {
                Ok(secs) if secs != -1 => {
                    return Resolved {
                        value: secs,
                        origin: Origin::Channel(key),
                    };
                }
                _ => {
                    tracing::warn!(key = %key, value = v, "unparsable; using sync_repeat_interval")
                }
            }
        }
        Resolved {
            value: self.duration_secs(opt),
            origin: self.global_origin(opt),
        }
    }

    /// Per-channel value parsed with C `atoi`, as 3.6 does: `1` (any non-zero number) is
    /// true, everything else including `yes`/`on`/`true` is false; `-1` falls back to the
    /// global switch.
    fn channel_try_imap(&self, channel: Option<&str>) -> Resolved<bool> {
        let opt = Opt::SyncTryImap;
        if let Some((key, v)) = channel.and_then(|c| self.channel_key(c, opt.name())) {
            let n = atoi(v);
            if n != -1 {
                return Resolved {
                    value: n != 0,
                    origin: Origin::Channel(key),
                };
            }
        }
        Resolved {
            value: self.switch(opt),
            origin: self.global_origin(opt),
        }
    }
}
