//! net (under construction).
