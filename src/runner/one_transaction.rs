//! Does a runner run the draft's file in one transaction? What the compile must know to keep the
//! stretches that depend on it (`now()` read twice, a `LOCK TABLE`, a deferred check: see
//! `passes::transactions`). A runner may open a block around the file, or send the file as one
//! query, which PostgreSQL runs as one implicit transaction when it holds several statements
//! ("Multiple Statements in a Simple Query"): an opt-out that still sends the file whole keeps
//! it one transaction. The facts per runner are in `../shared/reference/runners.md`.

use super::Runner;
use std::path::Path;

impl Runner {
    /// Does this runner run the draft at `path`, whose text is `text`, in one transaction (a
    /// block or a query's implicit one)? Settings pgsafe cannot see (golang-migrate's
    /// `x-multi-statement`, Flyway's or Atlas's global transaction mode) are taken at their
    /// defaults.
    pub fn runs_in_one_transaction(self, path: &Path, text: &str) -> bool {
        match self {
            // psql and sqitch (which runs psql) open none. goose's markers (`-- +goose Up`, `NO
            // TRANSACTION`) are read by the front end, as dbmate's are. Django and Alembic never
            // run the draft's SQL file: pgsafe writes their migrations from it.
            Runner::Psql | Runner::Sqitch | Runner::Goose | Runner::Django | Runner::Alembic => false,
            // A block; opted out (sqlx `-- no-transaction`, dbmate `transaction:false`, diesel
            // `run_in_transaction = false`, graphile-migrate `--! no-transaction`) the file still
            // goes to the server whole, as one query.
            Runner::Sqlx | Runner::Dbmate | Runner::Diesel | Runner::GraphileMigrate => true,
            // No block, but the file is one query.
            Runner::GolangMigrate | Runner::Prisma => true,
            // A `.sql` migration cannot opt out of its transaction.
            Runner::NodePgMigrate => true,
            // Opted out, statements are sent one by one, each committing on its own.
            Runner::Atlas => !atlas_txmode_none(text),
            Runner::Flyway => !flyway_outside_transaction(path),
        }
    }
}

/// Does the file start with Atlas's `-- atlas:txmode none` directive (among its leading comments)?
fn atlas_txmode_none(text: &str) -> bool {
    let head = text.lines().map(str::trim).take_while(|l| l.is_empty() || l.starts_with("--"));
    head.filter_map(|l| l.strip_prefix("--")).any(|c| {
        let mut words = c.split_whitespace();
        words.next() == Some("atlas:txmode") && words.next() == Some("none")
    })
}

/// Does the script's `<script>.sql.conf` say `executeInTransaction=false`?
fn flyway_outside_transaction(path: &Path) -> bool {
    let mut conf = path.as_os_str().to_owned();
    conf.push(".conf");
    let Ok(text) = std::fs::read_to_string(&conf) else { return false };
    text.lines().any(|l| {
        let Some(rest) = l.trim().strip_prefix("executeInTransaction") else { return false };
        let value = rest.trim_start().trim_start_matches(['=', ':']).trim();
        value.eq_ignore_ascii_case("false")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runners_that_wrap_a_file_and_their_opt_outs() {
        let p = Path::new("/nonexistent/V1__a.sql");
        for r in [Runner::Sqlx, Runner::Dbmate, Runner::Diesel, Runner::Prisma, Runner::GolangMigrate] {
            assert!(r.runs_in_one_transaction(p, "-- no-transaction\nSELECT 1;\n"), "{r}");
        }
        for r in [Runner::Psql, Runner::Sqitch, Runner::Goose, Runner::Django, Runner::Alembic] {
            assert!(!r.runs_in_one_transaction(p, "SELECT 1;\n"), "{r}");
        }
        assert!(Runner::Atlas.runs_in_one_transaction(p, "SELECT 1;\n"));
        assert!(!Runner::Atlas.runs_in_one_transaction(p, "-- atlas:txmode none\n\nSELECT 1;\n"));
        assert!(Runner::Atlas.runs_in_one_transaction(p, "SELECT 1;\n-- atlas:txmode none\n"));
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("V2__b.sql");
        assert!(Runner::Flyway.runs_in_one_transaction(&script, "SELECT 1;\n"));
        std::fs::write(dir.path().join("V2__b.sql.conf"), "executeInTransaction = false\n").unwrap();
        assert!(!Runner::Flyway.runs_in_one_transaction(&script, "SELECT 1;\n"));
    }
}
