//! pop3d (under construction).
