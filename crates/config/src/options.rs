//! The closed set of imapd.conf options Cyrus 3.6.1 knows (lib/imapoptions), with type,
//! default and deprecation, plus our one extension `sync_compress`.
//!
//! Owns the descriptor table and name lookup. Must not read files or hold parsed values
//! (that is `imapd_conf`); the table is data, so it never changes at run time.

mod table;

use table::OPTIONS;
pub use table::Opt;

pub use crate::value::Unit;

/// Type of an option, as declared in lib/imapoptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKind {
    /// Free string (`STRING`).
    Str,
    /// C long, parsed like `strtol(…, 0)` (`INT`).
    Int,
    /// Boolean (`SWITCH`).
    Switch,
    /// Seconds; a bare trailing number takes the unit given here (`DURATION`).
    Duration(Unit),
    /// Exactly one of the listed values; `1/yes/t/true` → `on`, `0/no/f/false` → `off`.
    Enum(&'static [&'static str]),
    /// Exactly one of the listed values, kept as a string (`STRINGLIST`, the `*_db` options).
    StringList(&'static [&'static str]),
    /// Whitespace-separated subset of the listed values. `a=b` lists aliases of one bit.
    Bitfield(&'static [&'static str]),
}

/// Built-in default as written in lib/imapoptions (durations, enums and bitfields as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptDefault {
    /// Unset (`NULL`).
    None,
    /// Text default; may start with `{configdirectory}`.
    Str(&'static str),
    /// Integer default.
    Int(i64),
    /// Switch default.
    Switch(bool),
}

/// One row of the option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptDesc {
    /// The option.
    pub opt: Opt,
    /// Name as written in imapd.conf (lower case).
    pub name: &'static str,
    /// Type.
    pub kind: OptKind,
    /// Default.
    pub default: OptDefault,
    /// Cyrus version that introduced or last changed it; `"ext"` for our extensions.
    pub since: &'static str,
    /// `(since, replacement)` for deprecated options.
    pub deprecated: Option<(&'static str, Option<Opt>)>,
}

impl Opt {
    /// The descriptor row of this option.
    pub fn desc(self) -> &'static OptDesc {
        // The macro in `table` builds the enum and OPTIONS from one list, in the same order,
        // so the discriminant is always a valid index.
        &OPTIONS[self as usize]
    }

    /// Name as written in imapd.conf.
    pub fn name(self) -> &'static str {
        self.desc().name
    }

    /// Type of the option.
    pub fn kind(self) -> OptKind {
        self.desc().kind
    }

    /// Looks a (lower-case) option name up; Cyrus compares case-insensitively.
    pub fn from_name(name: &str) -> Option<Opt> {
        let lower = name.to_ascii_lowercase();
        OPTIONS.iter().find(|d| d.name == lower).map(|d| d.opt)
    }

    /// Every known option, in table order.
    pub fn all() -> impl Iterator<Item = Opt> {
        OPTIONS.iter().map(|d| d.opt)
    }

    /// True for the options sync_client resolves per channel (spec §5.3).
    pub fn is_channel_aware(self) -> bool {
        matches!(
            self,
            Opt::SyncHost
                | Opt::SyncPort
                | Opt::SyncAuthname
                | Opt::SyncPassword
                | Opt::SyncRealm
                | Opt::SyncShutdownFile
                | Opt::SyncCacheDbPath
                | Opt::SyncRepeatInterval
                | Opt::SyncTryImap
        )
    }
}

impl std::fmt::Display for Opt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Declares `Opt` and `OPTIONS` from one list so they cannot drift apart.
macro_rules! options {
    ($($variant:ident = $name:literal, $kind:expr, $default:expr, $since:literal, $dep:expr;)*) => {
        /// A known imapd.conf option (lib/imapoptions of Cyrus 3.6.1, plus `sync_compress`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Opt {
            $(
                #[doc = concat!("`", $name, "` (since ", $since, ")")]
                $variant,
            )*
        }

        pub(super) static OPTIONS: &[OptDesc] = &[
            $(OptDesc {
                opt: Opt::$variant,
                name: $name,
                kind: $kind,
                default: $default,
                since: $since,
                deprecated: $dep,
            },)*
        ];
    };
}
use options;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, d) in OPTIONS.iter().enumerate() {
            assert_eq!(d.opt as usize, i, "{}", d.name);
            assert_eq!(Opt::from_name(d.name), Some(d.opt));
            assert!(
                d.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
            if let (OptKind::Duration(u), OptDefault::Str(s)) = (d.kind, d.default) {
                assert!(crate::value::parse_duration(s, u).is_ok(), "{}", d.name);
            }
            if let (OptKind::Enum(v) | OptKind::StringList(v), OptDefault::Str(s)) =
                (d.kind, d.default)
            {
                assert!(v.contains(&s), "{}", d.name);
            }
        }
    }

    #[test]
    fn defaults_that_matter() {
        use OptDefault as D;
        assert_eq!(Opt::SyncRepeatInterval.desc().default, D::Str("1s"));
        assert_eq!(Opt::SyncBatchsize.desc().default, D::Int(8192));
        assert_eq!(
            Opt::SyncLogUnsuppressableChannels.desc().default,
            D::Str("squatter")
        );
        assert_eq!(Opt::Altnamespace.desc().default, D::Switch(true));
        assert_eq!(Opt::Unixhierarchysep.desc().default, D::Switch(true));
        assert_eq!(Opt::SyncTryImap.desc().default, D::Switch(true));
        assert_eq!(Opt::Timeout.kind(), OptKind::Duration(Unit::Minutes));
        assert_eq!(Opt::SyncCompress.kind(), OptKind::Switch);
        assert_eq!(Opt::from_name("SYNC_HOST"), Some(Opt::SyncHost));
        assert_eq!(Opt::from_name("partition-default"), None);
        assert!(Opt::SyncHost.is_channel_aware());
        assert!(!Opt::SyncTimeout.is_channel_aware());
    }
}
