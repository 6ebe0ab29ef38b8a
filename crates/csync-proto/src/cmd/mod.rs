//! Typed csync commands (placeholder).
