//! Which runner a migration file belongs to, from its own markers and from where it sits, with
//! the evidence (so `pgsafe` can say why it chose a layout). No evidence: psql, the default.

use super::Runner;
use std::path::Path;

/// The runner for `path` (whose text is `text`) and the evidence, or `None` for no evidence.
pub fn detect(path: &Path, text: &str) -> Option<(Runner, String)> {
    let first = text.lines().next().unwrap_or("").trim_end();
    let name = path.file_name()?.to_str()?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let has = |d: &Path, f: &str| d.join(f).exists();
    if line_starts(text, "-- migrate:up") {
        return Some((Runner::Dbmate, "a `-- migrate:up` section".into()));
    }
    if name == "current.sql" && (has(dir, "committed") || dir.parent().is_some_and(|p| has(p, ".gmrc"))) {
        return Some((Runner::GraphileMigrate, "current.sql next to committed/ (graphile-migrate)".into()));
    }
    if line_starts(text, "-- Up Migration") {
        return Some((Runner::NodePgMigrate, "a `-- Up Migration` section (node-pg-migrate)".into()));
    }
    if line_starts(text, "-- +goose ") {
        return Some((Runner::Goose, "`-- +goose` annotations".into()));
    }
    if first.starts_with("-- atlas:") || has(dir, "atlas.sum") {
        return Some((Runner::Atlas, "atlas.sum next to it".into()));
    }
    if dir.file_name().is_some_and(|d| d == "deploy") && dir.parent().is_some_and(|p| has(p, "sqitch.plan")) {
        return Some((Runner::Sqitch, "deploy/ next to sqitch.plan".into()));
    }
    if name == "migration.sql" {
        let root = dir.parent().unwrap_or(Path::new("."));
        if has(root, "migration_lock.toml") || root.file_name().is_some_and(|n| n == "migrations") {
            return Some((Runner::Prisma, "<timestamp>_<name>/migration.sql in a Prisma migrations folder".into()));
        }
    }
    if name == "up.sql" {
        return Some((Runner::Diesel, "<version>_<name>/up.sql, diesel's layout".into()));
    }
    if name.starts_with('V') && name.contains("__") && name.ends_with(".sql") {
        return Some((Runner::Flyway, "a Flyway name (V<version>__<description>.sql)".into()));
    }
    if first == "-- no-transaction" {
        return Some((Runner::Sqlx, "sqlx's `-- no-transaction` first line".into()));
    }
    let numbered = super::version::prefix(name).is_some();
    if numbered && name.ends_with(".up.sql") && !dir.parent().is_some_and(|p| has(p, "Cargo.toml")) {
        return Some((Runner::GolangMigrate, "a <version>_<title>.up.sql name (golang-migrate)".into()));
    }
    if numbered
        && dir.file_name().is_some_and(|d| d == "migrations")
        && dir.parent().is_some_and(|p| has(p, "Cargo.toml"))
    {
        return Some((Runner::Sqlx, "a <VERSION>_<DESCRIPTION>.sql in the migrations/ folder of a Rust crate".into()));
    }
    None
}

/// Does a line of `text` start with `prefix` after blanks? The lines are read only when the
/// prefix occurs at all (a substring search): a draft of 100k statements has 300k lines.
fn line_starts(text: &str, prefix: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), prefix.as_bytes()).is_some()
        && text.lines().any(|l| l.trim_start().starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_count_at_the_start_of_a_line_only_and_in_linear_time() {
        let d = |t: &str| detect(Path::new("x/1_a.sql"), t).map(|(r, _)| r);
        assert_eq!(d("SELECT 1;\n \t-- +goose Up\n"), Some(Runner::Goose));
        assert_eq!(d("SELECT 1; -- +goose Up\n"), None);
        // Half a million markers on one line, none at its start: a look back to the line's start
        // for each of them would take minutes.
        assert_eq!(d(&format!("SELECT 1; {}\n", "-- +goose ".repeat(500_000))), None);
    }

    #[test]
    fn markers_and_names() {
        let d = |p: &str, t: &str| detect(Path::new(p), t).map(|(r, _)| r);
        assert_eq!(d("x/1_a.sql", "-- migrate:up\nSELECT 1;\n"), Some(Runner::Dbmate));
        assert_eq!(d("x/1_a.sql", "-- +goose Up\nSELECT 1;\n"), Some(Runner::Goose));
        assert_eq!(d("x/V3__a.sql", "SELECT 1;\n"), Some(Runner::Flyway));
        assert_eq!(d("x/2024_a/up.sql", "SELECT 1;\n"), Some(Runner::Diesel));
        assert_eq!(d("x/1_a.sql", "-- no-transaction\nSELECT 1;\n"), Some(Runner::Sqlx));
        assert_eq!(d("/nonexistent/1_a.up.sql", "SELECT 1;\n"), Some(Runner::GolangMigrate));
        assert_eq!(d("x/1_a.sql", "-- Up Migration\nSELECT 1;\n"), Some(Runner::NodePgMigrate));
        assert_eq!(d("x/draft.sql", "SELECT 1;\n"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("committed")).unwrap();
        let current = dir.path().join("current.sql");
        assert_eq!(detect(&current, "SELECT 1;\n").map(|(r, _)| r), Some(Runner::GraphileMigrate));
    }
}
