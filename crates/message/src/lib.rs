//! message (under construction).
