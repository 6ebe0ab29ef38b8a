//! imap-proto (under construction).
