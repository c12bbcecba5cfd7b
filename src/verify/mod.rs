//! Checks against a real PostgreSQL server.
pub mod cluster;
