//! Sans-I/O lexing and emission shared by the IMAP-like protocols (csync now, IMAP and
//! ManageSieve later): atoms, quoted strings, `{n}`/`{n+}` literals, line ends, word and
//! rest-of-line readers, and Cyrus's rules for choosing atom / quoted / literal on output.
//!
//! Owns: byte classes, size limits, an incremental tokenizer, emission helpers.
//! Must not: do I/O, know any command or response grammar, allocate message bodies (literal
//! bodies are read by the caller after a [`Token::Literal`] announcement).
#![forbid(unsafe_code)]

mod emit;
mod lex;
mod line;

pub use emit::{
    LiteralForm, StringForm, is_atom_safe, is_qchar_safe, string_form, write_literal_header,
    write_string,
};
pub use lex::{
    Ctx, LexError, Lexer, Limits, MAX_LITERAL, MAX_QUOTED, MAX_WORD, Step, Token, is_atom_char,
    is_space,
};
pub use line::{LineSkipper, RestOfLine, Word, WordReader};
