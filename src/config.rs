//! What the user can tune: timeouts and the target PostgreSQL major version.

/// Settings that shape the plan.
///
/// `lock_timeout` defaults to 100 ms, not the article's 2 s: while a step waits for its lock,
/// every later query on the table queues behind it, so the lock timeout *is* the stall the plan
/// can cause. Measured on 2,000,000 rows behind an idle writer (bench/stall): 2 s → reads and
/// writes stalled 2.00 s; 100 ms → 0.11 s, ordinary noise. The steps are built to take their locks
/// for milliseconds, so a short timeout only fails while something long holds the table, and
/// `pgsafe apply` retries then with back-off.
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
    /// Tables small enough to skip the scan-avoiding recipes (`--stats` + `--small-table-rows`):
    /// a scan of a few thousand rows is over before traffic notices. Off by default.
    pub small_tables: Vec<crate::ir::name::Name>,
    /// Rules turned off (`[rules] <rule> = false` in pgsafe.toml): as if every statement said
    /// `-- pgsafe:ignore <rule>`.
    pub disabled_rules: Vec<String>,
    /// Which `-- pgsafe:ignore` directives hold (fewer than all only to find directives that
    /// suppress nothing).
    pub ignores: Ignores,
    /// psql runs the file (no migration tool was named or detected): a `SET LOCAL` outside the
    /// draft's own `BEGIN` does nothing there, where a tool that runs each file in a transaction
    /// (sqlx, Flyway, …) gives it one to work in.
    pub runs_under_psql: bool,
    /// The migration tool runs the whole file in one transaction: a block it opens around it
    /// (sqlx, Flyway, diesel, …), or the implicit one PostgreSQL runs several statements sent as
    /// one query in (dbmate's `transaction:false`, sqlx's `-- no-transaction`, golang-migrate,
    /// Prisma). Then `now()` is the same for every statement, a `LOCK TABLE` holds to the file's
    /// end and deferred checks wait for it, and the plan must keep what depends on that. Set from
    /// the runner ([`crate::runner::Runner::runs_in_one_transaction`]); off by default (psql),
    /// where only goose and dbmate markers say so.
    pub runner_transaction: bool,
    /// The migration tool sends each step file as one query (sqlx, dbmate, golang-migrate,
    /// Prisma, diesel, graphile-migrate): a step that must run alone cannot repeat a draft's
    /// session `SET` (see `passes::tool_locals`). Set from the runner
    /// ([`crate::runner::Runner::sends_a_step_as_one_query`]); off by default.
    pub one_query_steps: bool,
}

/// Which `-- pgsafe:ignore` directives a compile honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignores {
    All,
    None,
    /// Every directive but what it says of this rule.
    AllBut(&'static str),
}

impl Ignores {
    /// Does a directive that names `rule` (or every rule) hold for `rule`?
    pub fn hold_for(&self, rule: &str) -> bool {
        match self {
            Ignores::All => true,
            Ignores::None => false,
            Ignores::AllBut(lifted) => *lifted != rule,
        }
    }
}

impl Config {
    /// Is `table` known to be small (see `small_tables`)?
    pub fn is_small(&self, table: &crate::ir::name::Name) -> bool {
        self.small_tables.iter().any(|t| t.same(table))
    }

    /// Is `rule` turned off for this compilation?
    pub fn disabled(&self, rule: &str) -> bool {
        self.disabled_rules.iter().any(|r| r == rule)
    }
}

/// Read table sizes: one `table,rows` (or `table rows`) per line, `#` comments — e.g. the output of
/// `psql -At -F, -c "SELECT oid::regclass, reltuples::bigint FROM pg_class WHERE relkind IN ('r','p')"`.
/// Returns the tables with at most `max_rows` rows, or the line that could not be read. A small
/// table that shares its name with a larger one in another schema is left out: a draft's
/// unqualified `orders` may be either (`oid::regclass` prints the search path's tables
/// unqualified), and a plain `CREATE INDEX` on the 5M-row one held SHARE for the whole build.
pub fn small_tables(stats: &str, max_rows: u64) -> Result<Vec<crate::ir::name::Name>, (usize, String)> {
    let (mut out, mut large) = (Vec::new(), std::collections::HashSet::new());
    for (n, line) in stats.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (table, rows) = line
            .rsplit_once([',', ' ', '\t', '|'])
            .ok_or_else(|| (n + 1, format!("expected `table,rows`, found {line:?}")))?;
        let rows: f64 = rows.trim().parse().map_err(|_| (n + 1, format!("{:?} is not a row count", rows.trim())))?;
        let name = crate::ir::name::Name::new(table.trim());
        if rows <= max_rows as f64 {
            out.push(name);
        } else {
            large.insert(name.base().to_string());
        }
    }
    out.retain(|t| !large.contains(t.base()));
    Ok(out)
}

impl Default for Config {
    fn default() -> Config {
        Config {
            lock_timeout: "100ms".into(),
            statement_timeout: "5s".into(),
            pg_version: 12,
            batch_size: 10_000,
            catalog: None,
            small_tables: Vec::new(),
            disabled_rules: Vec::new(),
            ignores: Ignores::All,
            runs_under_psql: true,
            runner_transaction: false,
            one_query_steps: false,
        }
    }
}

/// Is `v` a duration PostgreSQL accepts for a timeout setting (`100ms`, `2s`, `1min`, `0`)?
pub fn check_duration(v: &str) -> Result<(), String> {
    let number = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[number.len()..];
    let ok = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && ["", "ms", "s", "min", "h"].contains(&unit);
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?}: expected a duration like 2s, 500ms, 1min"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_small_table_named_like_a_large_one_is_not_small() {
        let small = super::small_tables("billing.orders,5\norders,5000000\nusers,10\n", 1000).unwrap();
        let names: Vec<&str> = small.iter().map(|n| &*n.text).collect();
        assert_eq!(names, ["users"]);
    }
}
