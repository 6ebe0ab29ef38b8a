//! IMAP protocol, sans-I/O: command framing (lines, `{n}`/`{n+}` literals, size limits), the
//! command parser and types, sequence sets, modified UTF-7, and response serialisation
//! helpers (RFC 3501 and the extensions imapd speaks).
//!
//! Owns: bytes ⇄ typed commands/responses. Must not: do I/O, touch the mailstore, or decide
//! policy (which commands are allowed in which state belongs to imapd).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod command;
pub mod framer;
pub mod mutf7;
pub mod parse;
pub mod response;
pub mod seqset;

pub use command::*;
pub use framer::{Frame, FrameLimits, Framer};
pub use parse::{ParseError, parse_command, parse_date_time};
pub use seqset::{SeqNum, SequenceSet};
