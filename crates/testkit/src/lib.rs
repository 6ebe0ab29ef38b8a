//! testkit (under construction).
