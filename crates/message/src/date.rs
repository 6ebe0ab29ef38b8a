//! Dates (placeholder replaced below).
