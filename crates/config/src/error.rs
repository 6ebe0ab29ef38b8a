//! Errors of reading imapd.conf. Every variant names the file and, where there is one, the
//! line, because Cyrus treats all of these as fatal and the admin has to find the spot.
//!
//! Owns the error type only; must not decide what is fatal (callers exit, we report).

use std::path::PathBuf;

/// A fatal problem in imapd.conf (or a file it includes). Messages follow Cyrus' wording.
#[derive(Debug, thiserror::Error)]
pub enum ImapdConfError {
    /// The file could not be read.
    #[error("can't open configuration file {}: {source}", path.display())]
    Open {
        /// File that failed.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `@include` of a file already read (by the name as written, like Cyrus).
    #[error("configuration file {} included twice (line {line} of {})", path.display(),
            from.display())]
    IncludedTwice {
        /// The file included again.
        path: PathBuf,
        /// File holding the second `@include`.
        from: PathBuf,
        /// Line of that `@include`.
        line: u32,
    },
    /// Key with a character other than letters, digits, `-`, `_` before the `:`, or no `:`.
    #[error("invalid option name on line {line} of configuration file {}", path.display())]
    InvalidOptionName {
        /// File.
        path: PathBuf,
        /// Line (the last physical line of a continued line).
        line: u32,
    },
    /// `@something:` other than `@include`.
    #[error("invalid directive on line {line} of configuration file {}", path.display())]
    InvalidDirective {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// `key:` with nothing after it.
    #[error("empty option value on line {line} of configuration file {}", path.display())]
    EmptyValue {
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// The same key twice (a service-specific form may still override the generic one).
    #[error("option '{key}' was specified twice in config file (second occurrence on line \
             {line} of {})", path.display())]
    Duplicate {
        /// Key as written (lower-cased).
        key: String,
        /// File of the second occurrence.
        path: PathBuf,
        /// Line of the second occurrence.
        line: u32,
    },
    /// A known option whose value does not fit its type.
    #[error("{what} value '{value}' for {option} in line {line} of {}", path.display())]
    BadValue {
        /// "non-integer", "non-switch", "invalid", "unparsable duration".
        what: &'static str,
        /// Option name.
        option: &'static str,
        /// Offending value.
        value: String,
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
    /// `configdirectory` missing, relative or `/`.
    #[error("{problem} (in {})", path.display())]
    ConfigDirectory {
        /// What is wrong, in Cyrus' words.
        problem: &'static str,
        /// Main configuration file.
        path: PathBuf,
    },
    /// `defaultpartition` with a character other than letters and digits.
    #[error("defaultpartition option contains non-alnum character: '{value}' (line {line} of \
             {})", path.display())]
    DefaultPartition {
        /// The value.
        value: String,
        /// File.
        path: PathBuf,
        /// Line.
        line: u32,
    },
}
