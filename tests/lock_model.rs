//! The IR's lock model agrees with what PostgreSQL 15 was measured to take
//! (`../shared/reference/pg15-locks.md`): for every measured statement pgsafe models, the strongest
//! lock it records on the target table is the strongest lock measured there.

mod common;

use pgsafe::ir::lock::LockMode;
use pgsafe::ir::migration::Migration;

fn mode(name: &str) -> Option<LockMode> {
    Some(match name.trim() {
        "AccessShare" => LockMode::AccessShare,
        "RowShare" => LockMode::RowShare,
        "RowExclusive" => LockMode::RowExclusive,
        "ShareUpdateExclusive" => LockMode::ShareUpdateExclusive,
        "Share" => LockMode::Share,
        "ShareRowExclusive" => LockMode::ShareRowExclusive,
        "Exclusive" => LockMode::Exclusive,
        "AccessExclusive" => LockMode::AccessExclusive,
        _ => return None,
    })
}

/// Statements whose lock pgsafe deliberately does not model on the table: index statements name
/// the index, not its table; catalog-only statements take no lock that matters for traffic.
const NOT_MODELLED: &[&str] = &[
    "DROP INDEX",
    "DROP INDEX CONCURRENTLY",
    "REINDEX INDEX",
    "REINDEX INDEX CONCURRENTLY",
    "VACUUM FULL",
    "CLUSTER",
    "CREATE TRIGGER",
    "COMMENT ON TABLE",
    "COMMENT ON COLUMN",
    "GRANT",
    "CREATE TABLE",
    "CREATE TABLE with FK to orders",
    "ALTER TYPE enum ADD VALUE",
    // SHARE on the table, but ACCESS EXCLUSIVE on every index, which blocks SELECTs too (the
    // planner opens all indexes): pgsafe models that effect on traffic as ACCESS EXCLUSIVE.
    "REINDEX TABLE",
];

#[test]
fn lock_model_agrees_with_measurements_on_postgresql_15() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("../reference/pg15-locks.md");
    let table = std::fs::read_to_string(&path).expect("pg15-locks.md");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in table.lines().filter(|l| l.starts_with("| **")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let title = cells[1].trim_start_matches("**").split("**").next().unwrap_or_default();
        let sql = cells[1].split('`').nth(1).unwrap_or_default();
        if NOT_MODELLED.contains(&title) || sql.is_empty() {
            continue;
        }
        // "orders: AccessShare, ShareRowExclusive" → the strongest of those modes.
        let Some((target, modes)) = cells[2].split_once(':') else { continue };
        let Some(measured) = modes.split(',').filter_map(mode).max() else { continue };
        let pieces = pgsafe::front::split::split(sql).unwrap();
        let m = Migration::lower(sql, &pieces);
        let modelled = m.stmts[0]
            .ops
            .iter()
            .flat_map(|o| o.locks.iter())
            .filter(|l| l.table.base() == target.trim())
            .map(|l| l.mode)
            .max();
        checked += 1;
        if modelled != Some(measured) {
            wrong.push(format!("{title}: `{sql}` measured {measured:?}, modelled {modelled:?}"));
        }
    }
    assert!(checked >= 25, "the reference table was read ({checked} rows)");
    assert!(wrong.is_empty(), "lock model disagrees with measurements:\n{}", wrong.join("\n"));
}
