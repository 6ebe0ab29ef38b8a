//! Shared helpers for the command-line programs (one `[[bin]]` per Cyrus tool name).
//!
//! Owns: argument conventions and process set-up common to every tool.
//! Must not: hold protocol or storage logic; that lives in the library crates.
