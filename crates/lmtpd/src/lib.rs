//! lmtpd (under construction).
