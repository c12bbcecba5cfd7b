//! What the user can tune: timeouts and the target PostgreSQL major version.

/// Settings that shape the plan. Defaults follow the article pgsafe comes from: a migration that
/// cannot get its lock within 2 s gives up and lets traffic resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `lock_timeout` for transactional steps that take locks blocking reads or writes.
    pub lock_timeout: String,
    /// `statement_timeout` for those steps.
    pub statement_timeout: String,
    /// The oldest PostgreSQL major version the plan must run on.
    pub pg_version: u32,
    /// Rows per transaction in batched backfills.
    pub batch_size: u32,
    /// What pgsafe knows of the database the migration runs against (`--schema`): column types,
    /// indexes, partitions. `None`: pgsafe stays conservative and says what it assumed.
    pub catalog: Option<std::sync::Arc<crate::ir::catalog::Catalog>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            lock_timeout: "2s".into(),
            statement_timeout: "5s".into(),
            pg_version: 12,
            batch_size: 10_000,
            catalog: None,
        }
    }
}
