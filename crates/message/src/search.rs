//! Search (placeholder replaced below).
