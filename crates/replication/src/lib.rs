//! replication (under construction).
