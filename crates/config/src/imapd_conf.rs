//! imapd.conf reader and the typed, per-service view of it (spec §6.4; lib/libconfig.c
//! `config_read_file` of Cyrus 3.6.1).
//!
//! Owns: line syntax (comments, continuation, `@include`), key validation, duplicate
//! detection, service-specific overrides (`<ident>_<option>`), type checking of known
//! options, the overflow table for unknown keys, and typed accessors. Must not interpret
//! options beyond their type (policy lives with the programs) and must not touch the network.
//!
//! Like Cyrus, the service ident is applied while reading: build one `ImapdConf` per process
//! with the process' service name (`syncserver`, `sync_client`, …).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ImapdConfError;
use crate::options::{Opt, OptDefault, OptKind};
use crate::value::{parse_c_long, parse_duration, parse_switch};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// File holding the line.
    pub file: PathBuf,
    /// Line number (last physical line of a continued line).
    pub line: u32,
    /// Key as written, lower-cased (e.g. `syncserver_admins`).
    pub key: String,
    /// Value text, trimmed.
    pub raw: String,
}

/// Something worth telling the admin that is not fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfWarning {
    /// A key that is neither an option nor a recognised dynamic form; kept in the overflow
    /// table (Cyrus accepts it silently, which hides typos).
    UnknownOption {
        /// File.
        file: PathBuf,
        /// Line.
        line: u32,
        /// Key.
        key: String,
    },
    /// A deprecated option was set (Cyrus logs the same).
    Deprecated {
        /// The option set.
        opt: Opt,
        /// Its replacement, which receives the value unless set itself.
        replaced_by: Option<Opt>,
    },
}

/// A typed option value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(Option<String>),
    Int(i64),
    Switch(bool),
    Duration(i64),
    Enum(&'static str),
    Bitfield(u64),
}

/// Parsed imapd.conf as one service sees it.
#[derive(Debug, Clone)]
pub struct ImapdConf {
    path: PathBuf,
    ident: Option<String>,
    values: Vec<Value>,
    sources: Vec<Option<Source>>,
    overflow: BTreeMap<String, Source>,
    warnings: Vec<ConfWarning>,
}

/// Seen-state of a known option while reading (Cyrus `seen`: 1 generic, 2 service-specific).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    No,
    Generic,
    Service,
}

struct Builder {
    ident: Option<String>,
    values: Vec<Value>,
    sources: Vec<Option<Source>>,
    seen: Vec<Seen>,
    overflow: BTreeMap<String, Source>,
    included: HashSet<String>,
    warnings: Vec<ConfWarning>,
}

impl ImapdConf {
    /// Reads `path` (and its `@include`s) for the service `ident` (`None`: no overrides).
    pub fn load(path: impl AsRef<Path>, ident: Option<&str>) -> Result<Self, ImapdConfError> {
        let path = path.as_ref();
        let mut b = Builder::new(ident);
        b.read_file(path, None)?;
        b.finish(path)
    }

    /// Parses `text` as if read from `path` (used for messages and `@include` bookkeeping;
    /// included files are read from disk, relative names from the current directory as in
    /// Cyrus).
    pub fn parse(
        text: &str,
        path: impl AsRef<Path>,
        ident: Option<&str>,
    ) -> Result<Self, ImapdConfError> {
        let path = path.as_ref();
        let mut b = Builder::new(ident);
        b.included.insert(path.to_string_lossy().into_owned());
        b.read_text(text.as_bytes(), path)?;
        b.finish(path)
    }

    /// Main file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Service ident the view was built for.
    pub fn ident(&self) -> Option<&str> {
        self.ident.as_deref()
    }

    /// Non-fatal findings (also logged with `tracing::warn!`).
    pub fn warnings(&self) -> &[ConfWarning] {
        &self.warnings
    }

    /// Where the effective value of `opt` came from; `None` when it is the default.
    pub fn source(&self, opt: Opt) -> Option<&Source> {
        self.sources[opt as usize].as_ref()
    }

    /// True when `opt` was set in the file (generically or for this service).
    pub fn is_set(&self, opt: Opt) -> bool {
        self.source(opt).is_some()
    }

    /// String option (`STRING`, `STRINGLIST`, `ENUM`): value or default, `{configdirectory}`
    /// expanded; `None` when unset without default.
    pub fn string(&self, opt: Opt) -> Option<&str> {
        match &self.values[opt as usize] {
            Value::Str(s) => s.as_deref(),
            Value::Enum(s) => Some(s),
            other => {
                debug_assert!(false, "{opt} is not a string option: {other:?}");
                None
            }
        }
    }

    /// Integer option.
    pub fn int(&self, opt: Opt) -> i64 {
        match self.values[opt as usize] {
            Value::Int(i) => i,
            ref other => {
                debug_assert!(false, "{opt} is not an int option: {other:?}");
                0
            }
        }
    }

    /// Switch option.
    pub fn switch(&self, opt: Opt) -> bool {
        match self.values[opt as usize] {
            Value::Switch(b) => b,
            ref other => {
                debug_assert!(false, "{opt} is not a switch option: {other:?}");
                false
            }
        }
    }

    /// Duration option in seconds, sign kept (some options give meaning to `-1`/`0`).
    pub fn duration_secs(&self, opt: Opt) -> i64 {
        match self.values[opt as usize] {
            Value::Duration(s) => s,
            ref other => {
                debug_assert!(false, "{opt} is not a duration option: {other:?}");
                0
            }
        }
    }

    /// Duration option; negative values read as zero (use [`Self::duration_secs`] when the
    /// sign matters).
    pub fn duration(&self, opt: Opt) -> Duration {
        Duration::from_secs(u64::try_from(self.duration_secs(opt)).unwrap_or(0))
    }

    /// Enum or string-list option: the canonical value name.
    pub fn enumeration(&self, opt: Opt) -> &'static str {
        match self.values[opt as usize] {
            Value::Enum(s) => s,
            ref other => {
                debug_assert!(false, "{opt} is not an enum option: {other:?}");
                ""
            }
        }
    }

    /// Bitfield option: bit `i` set for the `i`-th listed value (aliases share a bit).
    pub fn bitfield(&self, opt: Opt) -> u64 {
        match self.values[opt as usize] {
            Value::Bitfield(x) => x,
            ref other => {
                debug_assert!(false, "{opt} is not a bitfield option: {other:?}");
                0
            }
        }
    }

    /// Bitfield option as the canonical names of the set values.
    pub fn bitfield_names(&self, opt: Opt) -> Vec<&'static str> {
        let bits = self.bitfield(opt);
        match opt.kind() {
            OptKind::Bitfield(names) => names
                .iter()
                .enumerate()
                .filter(|(i, _)| *i < 64 && bits & (1 << i) != 0)
                .filter_map(|(_, n)| n.split('=').next())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Overflow (unknown-key) value by exact key, no service override.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.overflow.get(key).map(|s| s.raw.as_str())
    }

    /// Overflow lookup as Cyrus' `config_getoverflowstring`: `<ident>_<key>` (lower-cased)
    /// first, then `key` exactly as given.
    pub fn overflow(&self, key: &str) -> Option<&str> {
        self.overflow_source(key).map(|s| s.raw.as_str())
    }

    /// Like [`Self::overflow`], returning where the value came from.
    pub fn overflow_source(&self, key: &str) -> Option<&Source> {
        if let Some(ident) = &self.ident {
            let k = format!("{ident}_{key}").to_ascii_lowercase();
            if let Some(s) = self.overflow.get(&k) {
                return Some(s);
            }
        }
        self.overflow.get(key)
    }

    /// All overflow keys and values, sorted by key.
    pub fn overflow_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.overflow
            .iter()
            .map(|(k, s)| (k.as_str(), s.raw.as_str()))
    }

    /// `partition-<name>` entries: name → directory (service overrides honoured).
    pub fn partitions(&self) -> BTreeMap<&str, &str> {
        self.overflow
            .keys()
            .filter_map(|k| k.strip_prefix("partition-"))
            .filter_map(|name| Some((name, self.partition_dir(name)?)))
            .collect()
    }

    /// Directory of partition `name` (`partition-<name>`).
    pub fn partition_dir(&self, name: &str) -> Option<&str> {
        self.overflow(&format!("partition-{name}"))
    }

    /// Metadata directory of partition `name` (`metapartition-<name>`).
    pub fn metapartition_dir(&self, name: &str) -> Option<&str> {
        self.overflow(&format!("metapartition-{name}"))
    }

    /// Archive directory of partition `name`; `None` unless `archive_enabled` (as Cyrus).
    pub fn archivepartition_dir(&self, name: &str) -> Option<&str> {
        if !self.switch(Opt::ArchiveEnabled) {
            return None;
        }
        self.overflow(&format!("archivepartition-{name}"))
    }

    /// A SASL option (`sasl_<name>`, e.g. `pwcheck_method`, `mech_list`) as Cyrus hands it to
    /// libsasl: overflow lookup, so `<ident>_sasl_<name>` wins for this service.
    pub fn sasl_option(&self, name: &str) -> Option<&str> {
        self.overflow(&format!("sasl_{name}"))
    }

    /// `admins`, split on whitespace.
    pub fn admins(&self) -> Vec<&str> {
        self.string(Opt::Admins)
            .map(|s| s.split_ascii_whitespace().collect())
            .unwrap_or_default()
    }

    /// `configdirectory` (always set: reading fails without it).
    pub fn config_directory(&self) -> &str {
        self.string(Opt::Configdirectory).unwrap_or("")
    }
}

impl Builder {
    fn new(ident: Option<&str>) -> Self {
        let n = Opt::all().count();
        Builder {
            ident: ident.map(str::to_owned),
            values: Opt::all().map(default_value).collect(),
            sources: vec![None; n],
            seen: vec![Seen::No; n],
            overflow: BTreeMap::new(),
            included: HashSet::new(),
            warnings: Vec::new(),
        }
    }

    fn read_file(&mut self, path: &Path, from: Option<(&Path, u32)>) -> Result<(), ImapdConfError> {
        let bytes = std::fs::read(path).map_err(|source| ImapdConfError::Open {
            path: path.to_owned(),
            source,
        })?;
        // Cyrus keys the include table by the name as written, not a canonical path.
        if !self.included.insert(path.to_string_lossy().into_owned()) {
            let (from, line) = from.map(|(p, l)| (p.to_owned(), l)).unwrap_or_default();
            return Err(ImapdConfError::IncludedTwice {
                path: path.to_owned(),
                from,
                line,
            });
        }
        self.read_text(&bytes, path)
    }

    fn read_text(&mut self, bytes: &[u8], path: &Path) -> Result<(), ImapdConfError> {
        let mut lineno: u32 = 0;
        let mut pending: Vec<u8> = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (phys, had_nl) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let l = &rest[..i];
                    rest = &rest[i + 1..];
                    (l, true)
                }
                None => {
                    let l = rest;
                    rest = &[];
                    (l, false)
                }
            };
            lineno = lineno.saturating_add(1);
            // C strings end at NUL; a NUL inside a line truncates it.
            let phys = phys.split(|&b| b == 0).next().unwrap_or_default();
            pending.extend_from_slice(phys);
            if had_nl && pending.last() == Some(&b'\\') {
                pending.pop();
                continue;
            }
            let logical = std::mem::take(&mut pending);
            self.line(&logical, path, lineno)?;
        }
        // A continuation on the very last line is dropped, as fgets hits EOF in Cyrus.
        Ok(())
    }

    fn line(&mut self, buf: &[u8], path: &Path, line: u32) -> Result<(), ImapdConfError> {
        let p = trim_start(buf);
        if p.is_empty() || p[0] == b'#' {
            return Ok(());
        }
        let start = usize::from(p[0] == b'@');
        let klen = p[start..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .map_or(p.len(), |i| i + start);
        if p.get(klen) != Some(&b':') {
            return Err(ImapdConfError::InvalidOptionName {
                path: path.to_owned(),
                line,
            });
        }
        let key = String::from_utf8_lossy(&p[..klen]).to_ascii_lowercase();
        let value = trim_end(trim_start(&p[klen + 1..]));
        if value.is_empty() {
            return Err(ImapdConfError::EmptyValue {
                path: path.to_owned(),
                line,
            });
        }
        let value = String::from_utf8_lossy(value).into_owned();
        if key.starts_with('@') {
            if key == "@include" {
                return self.read_file(Path::new(&value), Some((path, line)));
            }
            return Err(ImapdConfError::InvalidDirective {
                path: path.to_owned(),
                line,
            });
        }
        let source = Source {
            file: path.to_owned(),
            line,
            key: key.clone(),
            raw: value,
        };
        let service_opt = self.ident.as_deref().and_then(|id| {
            let srv = key.get(id.len()..)?.strip_prefix('_')?;
            key[..id.len()]
                .eq_ignore_ascii_case(id)
                .then(|| Opt::from_name(srv))
                .flatten()
        });
        let (opt, service_specific) = match service_opt {
            Some(o) => (Some(o), true),
            None => (Opt::from_name(&key), false),
        };
        match opt {
            Some(opt) => self.known(opt, service_specific, source),
            None => self.unknown(source),
        }
    }

    fn known(&mut self, opt: Opt, service: bool, src: Source) -> Result<(), ImapdConfError> {
        let i = opt as usize;
        match (self.seen[i], service) {
            (Seen::Generic, false) | (Seen::Service, true) => {
                return Err(ImapdConfError::Duplicate {
                    key: src.key,
                    path: src.file,
                    line: src.line,
                });
            }
            // A generic line after the service-specific one is skipped silently.
            (Seen::Service, false) => return Ok(()),
            _ => {}
        }
        let value = typed_value(opt, &src)?;
        if opt.desc().deprecated.is_some() {
            // Cyrus also keeps deprecated options in the overflow table under the full key.
            self.insert_overflow(src.clone())?;
        }
        self.seen[i] = if service {
            Seen::Service
        } else {
            Seen::Generic
        };
        self.values[i] = value;
        self.sources[i] = Some(src);
        Ok(())
    }

    fn unknown(&mut self, src: Source) -> Result<(), ImapdConfError> {
        if !is_expected_dynamic_key(&src.key) {
            tracing::warn!(
                file = %src.file.display(),
                line = src.line,
                key = %src.key,
                "unknown imapd.conf option (kept, not type-checked)"
            );
            self.warnings.push(ConfWarning::UnknownOption {
                file: src.file.clone(),
                line: src.line,
                key: src.key.clone(),
            });
        }
        self.insert_overflow(src)
    }

    fn insert_overflow(&mut self, src: Source) -> Result<(), ImapdConfError> {
        if self.overflow.contains_key(&src.key) {
            return Err(ImapdConfError::Duplicate {
                key: src.key,
                path: src.file,
                line: src.line,
            });
        }
        self.overflow.insert(src.key.clone(), src);
        Ok(())
    }

    fn finish(mut self, path: &Path) -> Result<ImapdConf, ImapdConfError> {
        let dir = match &self.values[Opt::Configdirectory as usize] {
            Value::Str(Some(d)) => d.clone(),
            _ => {
                return Err(config_dir_error(
                    "configdirectory option not specified",
                    path,
                ));
            }
        };
        if !dir.starts_with('/') {
            return Err(config_dir_error(
                "configdirectory must be fully qualified",
                path,
            ));
        }
        if dir == "/" {
            return Err(config_dir_error("configdirectory must not be '/'", path));
        }
        for opt in Opt::all() {
            if opt == Opt::Configdirectory {
                continue;
            }
            if let Value::Str(Some(s)) = &mut self.values[opt as usize] {
                let prefix = "{configdirectory}";
                if s.get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                {
                    *s = format!("{dir}{}", &s[prefix.len()..]);
                }
            }
        }
        // Deprecated options hand their value to the replacement unless that was set too.
        for opt in Opt::all() {
            let Some((_, replaced_by)) = opt.desc().deprecated else {
                continue;
            };
            if self.seen[opt as usize] == Seen::No {
                continue;
            }
            tracing::warn!(option = opt.name(), "deprecated imapd.conf option");
            self.warnings
                .push(ConfWarning::Deprecated { opt, replaced_by });
            if let Some(new) = replaced_by
                && self.seen[new as usize] == Seen::No
                && std::mem::discriminant(&self.values[new as usize])
                    == std::mem::discriminant(&self.values[opt as usize])
            {
                self.values[new as usize] = self.values[opt as usize].clone();
                self.sources[new as usize] = self.sources[opt as usize].clone();
            }
        }
        let dp = Opt::Defaultpartition as usize;
        if let Value::Str(Some(p)) = &mut self.values[dp] {
            if !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                let (file, line) = self.sources[dp]
                    .as_ref()
                    .map(|s| (s.file.clone(), s.line))
                    .unwrap_or_default();
                return Err(ImapdConfError::DefaultPartition {
                    value: p.clone(),
                    path: file,
                    line,
                });
            }
            p.make_ascii_lowercase();
        }
        Ok(ImapdConf {
            path: path.to_owned(),
            ident: self.ident,
            values: self.values,
            sources: self.sources,
            overflow: self.overflow,
            warnings: self.warnings,
        })
    }
}

fn config_dir_error(problem: &'static str, path: &Path) -> ImapdConfError {
    ImapdConfError::ConfigDirectory {
        problem,
        path: path.to_owned(),
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|c| !is_c_space(*c)).unwrap_or(b.len());
    &b[i..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let i = b.iter().rposition(|c| !is_c_space(*c)).map_or(0, |i| i + 1);
    &b[..i]
}

/// C `isspace` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Keys that are unknown to the option table but normal in a Cyrus configuration, so they
/// do not deserve a warning: partition paths, SASL options, `<service>_<option>` overrides,
/// `<channel>_<sync option>`, per-host SASL/TLS settings and our `<channel>_shutdown_file`.
pub fn is_expected_dynamic_key(key: &str) -> bool {
    const PREFIXES: &[&str] = &["partition-", "metapartition-", "archivepartition-", "sasl_"];
    const SUFFIXES: &[&str] = &[
        "_mechs",
        "_client_cert",
        "_client_key",
        "_password",
        "_shutdown_file",
    ];
    if PREFIXES.iter().any(|p| key.starts_with(p))
        || SUFFIXES.iter().any(|s| key.ends_with(s))
        || key.contains("searchpartition-")
        || key.contains("_sasl_")
    {
        return true;
    }
    key.match_indices('_').any(|(i, _)| {
        let tail = &key[i + 1..];
        Opt::from_name(tail).is_some()
            || ["partition-", "metapartition-", "archivepartition-"]
                .iter()
                .any(|p| tail.starts_with(p))
    })
}

fn default_value(opt: Opt) -> Value {
    let d = opt.desc();
    match (d.kind, d.default) {
        (OptKind::Str, OptDefault::Str(s)) => Value::Str(Some(s.to_owned())),
        (OptKind::Str, _) => Value::Str(None),
        (OptKind::Int, OptDefault::Int(i)) => Value::Int(i),
        (OptKind::Int, _) => Value::Int(0),
        (OptKind::Switch, OptDefault::Switch(b)) => Value::Switch(b),
        (OptKind::Switch, _) => Value::Switch(false),
        (OptKind::Duration(u), OptDefault::Str(s)) => {
            Value::Duration(parse_duration(s, u).unwrap_or(0))
        }
        (OptKind::Duration(_), _) => Value::Duration(0),
        (OptKind::Enum(v) | OptKind::StringList(v), OptDefault::Str(s)) => {
            Value::Enum(v.iter().copied().find(|x| *x == s).unwrap_or(""))
        }
        (OptKind::Enum(v) | OptKind::StringList(v), _) => {
            Value::Enum(v.first().copied().unwrap_or(""))
        }
        (OptKind::Bitfield(v), OptDefault::Str(s)) => {
            Value::Bitfield(parse_bitfield(v, s).unwrap_or(0))
        }
        (OptKind::Bitfield(_), _) => Value::Bitfield(0),
    }
}

/// Parses a bitfield value; `Err` carries the first unknown word.
fn parse_bitfield(names: &[&str], s: &str) -> Result<u64, String> {
    let mut bits = 0u64;
    for word in s
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        let i = names
            .iter()
            .position(|n| n.split('=').any(|alias| alias == word))
            .ok_or_else(|| word.to_owned())?;
        if i < 64 {
            bits |= 1 << i;
        }
    }
    Ok(bits)
}

fn typed_value(opt: Opt, src: &Source) -> Result<Value, ImapdConfError> {
    let bad = |what: &'static str| ImapdConfError::BadValue {
        what,
        option: opt.name(),
        value: src.raw.clone(),
        path: src.file.clone(),
        line: src.line,
    };
    let v = src.raw.as_str();
    Ok(match opt.kind() {
        OptKind::Str => Value::Str(Some(v.to_owned())),
        OptKind::Int => Value::Int(parse_c_long(v).ok_or_else(|| bad("non-integer"))?),
        OptKind::Switch => Value::Switch(parse_switch(v).ok_or_else(|| bad("non-switch"))?),
        OptKind::Duration(u) => {
            Value::Duration(parse_duration(v, u).map_err(|_| bad("unparsable duration"))?)
        }
        OptKind::Enum(names) => {
            let norm = match v {
                "1" | "yes" | "t" | "true" => "on",
                "0" | "no" | "f" | "false" => "off",
                other => other,
            };
            Value::Enum(
                names
                    .iter()
                    .copied()
                    .find(|n| *n == norm)
                    .ok_or_else(|| bad("invalid"))?,
            )
        }
        OptKind::StringList(names) => Value::Enum(
            names
                .iter()
                .copied()
                .find(|n| *n == v)
                .ok_or_else(|| bad("invalid"))?,
        ),
        OptKind::Bitfield(names) => {
            Value::Bitfield(parse_bitfield(names, v).map_err(|_| bad("invalid"))?)
        }
    })
}
