//! imapd (under construction).
