//! Long steps: a statement whose work grows with a table (a rewrite, a scan, a row copy) inside a
//! step that runs under the short `statement_timeout`. On a large table it is cancelled (SQLSTATE
//! 57014) while it holds its lock; the user must choose: the expand/contract recipe, or run it
//! deliberately with a larger `statement_timeout`. The hint is a warning at rewrite time, and the
//! manifest keeps it (`on_timeout`) so that `pgsafe apply` repeats it when the step is cancelled.

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity};
use crate::ir::action::Action;
use crate::ir::code_locks::RunsCode;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::Migration;
use crate::ir::op::{ConstraintKind, OpKind, MOVE_ALL_INDEXES, MOVE_ALL_MATERIALIZED_VIEWS, MOVE_ALL_TABLES};
use crate::passes::Rewritten;
use crate::plan::{Item, Plan, Step, StepMode, Timeouts};

pub const RULE: &str = "long-step";

/// Where the `type-change` rule found a change that rewrites its table, or keeps it and rebuilds
/// only the indexes on the column (`true`), in order: found once per plan, not by a scan of every
/// finding for each step.
pub struct TypeChanges(Vec<(usize, bool)>);

/// What the type changes in a stretch of the draft do to their table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeWork {
    Rewrite,
    /// The table stays; the indexes on the changed column are built again.
    Indexes,
}

impl TypeChanges {
    pub fn new(r: &Rewritten) -> TypeChanges {
        let only_indexes = |d: &Diagnostic| d.message.contains(crate::passes::REBUILDS_ONLY_INDEXES);
        let mut at: Vec<(usize, bool)> =
            r.diagnostics.iter().filter(|d| d.rule == "type-change").map(|d| (d.at, only_indexes(d))).collect();
        at.sort_unstable();
        TypeChanges(at)
    }

    fn within(&self, body: &std::ops::Range<usize>) -> bool {
        self.work(body).is_some()
    }

    /// The most a type change within `body` does: a rewrite when one rewrites.
    fn work(&self, body: &std::ops::Range<usize>) -> Option<TypeWork> {
        let first = self.0.partition_point(|&(at, _)| at < body.start);
        let found = self.0[first..].iter().take_while(|&&(at, _)| at < body.end);
        found.fold(None, |work, &(_, indexes)| match (work, indexes) {
            (Some(TypeWork::Rewrite), _) | (_, false) => Some(TypeWork::Rewrite),
            _ => Some(TypeWork::Indexes),
        })
    }
}

/// The first unit of `step` that may outlast the step's short `statement_timeout`, and why.
pub fn long_unit(
    m: &Migration<'_>,
    r: &Rewritten,
    type_changes: &TypeChanges,
    step: &Step,
    config: &Config,
) -> Option<(usize, String)> {
    if step.timeouts != Timeouts::Short {
        return None;
    }
    // The step's strongest traffic-blocking lock: what a long statement keeps held.
    let held = step.units().filter_map(|u| r.units[u].blocking_lock()).max_by_key(|l| l.mode)?.clone();
    let timeout = &config.statement_timeout;
    let mut own_timeout = false;
    // Code of unknown duration, told only when nothing in the step surely scans.
    let mut unknown = None;
    for item in &step.items {
        let (u, stmt) = match item {
            Item::Unit(u) => (Some(*u), r.units[*u].stmt),
            Item::Replay(s) | Item::ReplayLocal(s) => (None, *s),
            Item::Trivia(_) => continue,
        };
        let draft_unit = u.is_none_or(|u| r.units[u].generated.is_none());
        let ops = &m.stmts[stmt].ops;
        // The draft chose its own statement_timeout for what follows: its choice, not ours.
        if draft_unit && ops.iter().any(|o| matches!(&o.kind, OpKind::Set { name, .. } if name == "statement_timeout"))
        {
            own_timeout = true;
        }
        let Some(u) = u else { continue };
        let unit = &r.units[u];
        if own_timeout || unit.generated.is_some() || config.ignores.hold_for(RULE) && m.stmts[stmt].ignores(RULE) {
            continue;
        }
        if let Some((code, takes)) = code_of_unknown_duration(m, stmt) {
            unknown.get_or_insert_with(|| {
                (
                    u,
                    format!(
                    "{code} runs for as long as {takes}, which pgsafe cannot tell, in a step under statement_timeout = '{timeout}' (set for its {} on {}): if it runs longer it is cancelled (SQLSTATE 57014) where the draft ran it to its end. {}",
                    held.mode,
                    held.table.text,
                    apart_or_deliberately(step, &held, "If it can take that long, commit the schema change apart (its own transaction) so that the code runs in a step without the timeout")
                    ),
                )
            });
            continue;
        }
        for op in ops {
            // A column of a domain with a constraint, which the `type-change` rule found to
            // rewrite the table: whatever the recipes did to the rest of the column.
            let domain = matches!(op.kind, OpKind::AddColumn { .. }) && type_changes.within(&op.span);
            if !domain
                && (removes_scan(&op.kind).iter().any(|rule| unit.rules.contains(rule)) || !scans(m, unit, &op.kind))
            {
                continue;
            }
            // The scanned table is the statement's own (a foreign key's referenced table is only
            // probed row by row); a new bound scans the parent's default partition too, whose lock
            // the `partitions` pass added to the unit (the op, lowered without the catalogue, does
            // not know it).
            let own = match &op.kind {
                OpKind::AddConstraint { .. } => op.locks.first().filter(|l| l.scans),
                // The index's lock, on its table where `concurrent-drop-index` found it.
                OpKind::AlterIndex { .. } => unit.locks.iter().find(|l| l.scans),
                _ if domain => op.locks.first(),
                _ => op.locks.iter().find(|l| l.scans),
            };
            let default = match &op.kind {
                OpKind::AlterTable { action: Action::AttachPartition { .. }, .. } | OpKind::CreateTable { .. } => {
                    unit.locks.iter().find(|l| l.scans && !op.locks.iter().any(|o| o.table.same(&l.table)))
                }
                _ => None,
            };
            let live = |l: &&LockUse| !m.created_before(&l.table, stmt) && !config.is_small(&l.table);
            let scanned: Vec<&LockUse> = own.into_iter().chain(default).filter(live).collect();
            let Some(&lock) = scanned.first() else {
                continue;
            };
            let table = &lock.table.text;
            let tables = scanned.iter().map(|l| &*l.table.text).collect::<Vec<_>>().join(" and ");
            let deliberate = deliberately(step, &held);
            let why = match &op.kind {
                // Only a type change the `type-change` rule found to rewrite the table (it gives
                // the expand/contract recipe; binary-compatible changes do not scan).
                OpKind::AlterTable { what, .. } if what.contains("TYPE") => match type_changes.work(&m.stmts[stmt].body) {
                    None => continue,
                    Some(TypeWork::Rewrite) => format!(
                        "this rewrites {table} under ACCESS EXCLUSIVE (reads and writes wait) for as long as the copy takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table, after holding the lock all that time. Use the type-change recipe (expand/contract); or, {deliberate}"
                    ),
                    // A change that keeps the table: only the indexes on the column are built
                    // again, still under the lock.
                    Some(TypeWork::Indexes) => format!(
                        "this keeps the rows of {table} where they are (no table rewrite) but rebuilds the indexes on the changed column under ACCESS EXCLUSIVE (reads and writes wait) for as long as the index builds take; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table, after holding the lock all that time. Use the type-change recipe (expand/contract); or, {deliberate}"
                    ),
                },
                OpKind::AddConstraint { kind: ConstraintKind::PrimaryKey(key) | ConstraintKind::Unique(key), .. }
                    if key.without_overlaps =>
                {
                    format!(
                        "this builds the GiST index of a WITHOUT OVERLAPS key on {table} under ACCESS EXCLUSIVE (reads and writes wait), checking every row, for as long as the build takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table, after holding the lock all that time. pgsafe does not rewrite it: {}. {}",
                        crate::passes::NO_CONCURRENT_TEMPORAL_KEY,
                        capitalised(&deliberate)
                    )
                }
                OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { period: true, references, .. }, .. } => {
                    format!(
                        "this checks every row of {table} against {} under SHARE ROW EXCLUSIVE on both (writes wait) for as long as the scan takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table. pgsafe does not split it: {}. {}",
                        references.text,
                        crate::passes::TEMPORAL_FK_VALIDATE,
                        capitalised(&deliberate)
                    )
                }
                OpKind::AlterTable { action: Action::Rewrite { what }, .. } => format!(
                    "{what} copies {table} under ACCESS EXCLUSIVE (reads and writes wait) for as long as the copy takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table, after holding the lock all that time. {}",
                    capitalised(&deliberate)
                ),
                OpKind::AlterIndex { index, .. } => {
                    let of = if lock.table.same(index) { String::new() } else { format!(" of {table}") };
                    format!(
                        "SET TABLESPACE copies the index {i}{of} under ACCESS EXCLUSIVE (reads and writes of its table wait, as they open its indexes) for as long as the copy takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large index, after holding the lock all that time. `REINDEX (TABLESPACE …) INDEX CONCURRENTLY {i}` moves it under a lock no read or write waits for (PostgreSQL 14+, outside a transaction block); or, {deliberate}",
                        i = index.text
                    )
                }
                OpKind::Other { what } if what == MOVE_ALL_INDEXES => format!(
                    "ALTER INDEX ALL IN TABLESPACE copies {}, one after another, each under ACCESS EXCLUSIVE held to the end of the transaction (reads and writes of their tables wait, as they open their indexes) for as long as all the copies take; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) when they are large, after holding the locks all that time. `REINDEX (TABLESPACE …) INDEX CONCURRENTLY` moves one index at a time under a lock no read or write waits for (PostgreSQL 14+, outside a transaction block); or, {deliberate}",
                    // The stand-in's words, `every index in tablespace a`.
                    table.trim_matches(|c| c == '"' || c == '(' || c == ')')
                ),
                OpKind::Other { what } if what == MOVE_ALL_TABLES || what == MOVE_ALL_MATERIALIZED_VIEWS => {
                    let (waits, one) = if what == MOVE_ALL_TABLES {
                        ("reads and writes of each wait", "ALTER TABLE t SET TABLESPACE")
                    } else {
                        ("every query of each waits", "ALTER MATERIALIZED VIEW v SET TABLESPACE")
                    };
                    format!(
                        "{what} copies {}, one after another, each under ACCESS EXCLUSIVE held to the end of the transaction ({waits}) for as long as all the copies take; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) when they are large, after holding the locks all that time. Moving one at a time (`{one}`, each in its own transaction) holds each lock for its own copy alone; or, {deliberate}",
                        // The stand-in's words, `every table in tablespace a`.
                        table.trim_matches(|c| c == '"' || c == '(' || c == ')')
                    )
                }
                OpKind::AddColumn { type_text, .. } if domain => format!(
                    "this rewrites {table} under ACCESS EXCLUSIVE (reads and writes wait) to check the constraint of the domain {type_text} on every row, for as long as the copy takes; under statement_timeout = '{timeout}' it is cancelled (SQLSTATE 57014) on a large table, after holding the lock all that time. {}",
                    capitalised(&deliberate)
                ),
                _ if lock.mode == LockMode::RowExclusive || lock.mode == LockMode::AccessShare => format!(
                    "this reads or changes every matching row of {table} inside a step that holds {} on {}: the lock stays for the whole statement, and under statement_timeout = '{timeout}' it is cancelled on a large table. {}",
                    held.mode, held.table.text,
                    apart_or_deliberately(step, &held, "Commit the schema change first (its own transaction), so that the row work runs apart (pgsafe batches an UPDATE or DELETE it can prove safe)")
                ),
                _ => {
                    // The scan runs under the strongest lock its statement takes on the table
                    // (`VALIDATE CONSTRAINT c, ALTER COLUMN x SET NOT NULL` scans under ACCESS
                    // EXCLUSIVE).
                    let on_table =
                        unit.locks.iter().filter(|l| scanned.iter().any(|s| l.table.same(&s.table))).map(|l| l.mode);
                    let mode = on_table.fold(lock.mode, Ord::max);
                    let takes = if scanned.len() > 1 { "the tables take" } else { "the table takes" };
                    format!(
                        "this scans {tables} under {mode} (blocks {}) for as long as {takes}; under statement_timeout = '{timeout}' it is cancelled on a large table. {}",
                        mode.blocks(),
                        capitalised(&deliberate)
                    )
                }
            };
            return Some((u, why));
        }
    }
    unknown
}

/// How to run a long statement of `step` deliberately.
/// `apart` (advice to commit the schema change in a transaction of its own), then the way to run
/// it deliberately; in a step pgsafe keeps one transaction, only the latter: splitting it would
/// change what the draft does (a copy and the trigger that keeps it current, committed apart,
/// would miss or double the rows written between them).
fn apart_or_deliberately(step: &Step, held: &LockUse, apart: &str) -> String {
    match step.kept.as_ref().filter(|k| k.needs_one_transaction()) {
        Some(keep) => format!(
            "pgsafe keeps this transaction whole ({}): committing the schema change apart would change what the draft does. To run it {}",
            super::render::kept_because(keep),
            deliberately(step, held).trim_start_matches("to run it ")
        ),
        None => format!("{apart}; or, {}", deliberately(step, held)),
    }
}

fn deliberately(step: &Step, held: &LockUse) -> String {
    // A statement that cannot run in a transaction block runs alone, where SET LOCAL does nothing.
    let alone = step.mode == StepMode::Autocommit && step.kept.is_none();
    let set = if alone { "SET" } else { "SET LOCAL" };
    format!(
        "to run it deliberately (in a quiet hour), put `{set} statement_timeout = '30min';` right before it in the draft: pgsafe keeps that setting, and its step then waits as long as the work takes, holding {} on {}",
        held.mode, held.table.text
    )
}

/// What statement `stmt` is, when it runs code whose duration pgsafe cannot tell: a `DO` block, a
/// `CALL`, a call of a function the draft or `--schema` created (a data migration's usual forms).
/// And what its duration depends on.
fn code_of_unknown_duration(m: &Migration<'_>, stmt: usize) -> Option<(String, &'static str)> {
    let s = &m.stmts[stmt];
    let code = "its code takes";
    match &s.runs_code {
        Some(RunsCode::Block) => Some(("this DO block".into(), code)),
        Some(RunsCode::Calls(k)) => Some((format!("this call of {}", m.called[*k as usize].function), code)),
        None if s.ops.iter().any(|o| matches!(&o.kind, OpKind::Other { what } if what.starts_with("CALL "))) => {
            Some(("this CALL".into(), code))
        }
        // A `SELECT count(*) FROM orders`, a `SELECT my_fill()`, a `SELECT pg_sleep(6)`.
        None if s.query_may_run_long => Some(("this query".into(), "what it reads and the code it calls take")),
        None => None,
    }
}

/// Does this op still scan when the step runs it? Not an index `ON ONLY` a partitioned parent (it
/// builds nothing), not an inline key built apart, not a `SET NOT NULL` an earlier validated check
/// proves (PostgreSQL 12+).
fn scans(m: &Migration<'_>, unit: &crate::passes::Unit, kind: &OpKind) -> bool {
    match kind {
        OpKind::CreateIndex { only, .. } => !only,
        // An inline UNIQUE alone scans; its recipe builds the index in a step of its own.
        OpKind::AddColumn { unique: Some(_), primary_key: false, check: None, .. } if kind.adds_column_of_nulls() => {
            !unit.rules.contains(&"unique-using-index")
        }
        OpKind::SetNotNull { table, column } => {
            let fact = crate::passes::not_null_fact(table, column);
            !unit.facts.contains(&fact) && !m.has_fact(&fact)
        }
        _ => true,
    }
}

/// The rules whose recipe takes the scan out of this op's step (`NOT VALID`, a validated CHECK, …).
fn removes_scan(kind: &OpKind) -> &'static [&'static str] {
    match kind {
        OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { .. }, .. } => &["fk-not-valid"],
        OpKind::AddConstraint { kind: ConstraintKind::Check { .. }, .. } => &["check-not-valid"],
        OpKind::AddConstraint { .. } => &["unique-using-index"],
        OpKind::SetNotNull { .. } => &["set-not-null"],
        OpKind::AddColumn { .. } => &["volatile-default", "fk-not-valid", "check-not-valid", "set-not-null"],
        OpKind::CreateIndex { .. } => &["concurrent-index"],
        OpKind::AlterTable { action: Action::AddNotNull { .. }, .. } => &["check-not-valid"],
        _ => &[],
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// A warning for every long step, at the statement that makes it long.
pub fn warnings(m: &Migration<'_>, r: &Rewritten, plan: &Plan, config: &Config) -> Vec<Diagnostic> {
    let type_changes = TypeChanges::new(r);
    plan.steps
        .iter()
        .filter_map(|step| long_unit(m, r, &type_changes, step, config))
        .map(|(u, why)| Diagnostic::new(RULE, Severity::Warning, m.stmts[r.units[u].stmt].body.clone(), why))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    fn long_steps(draft: &str) -> Vec<String> {
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        c.diagnostics.iter().filter(|d| d.rule == super::RULE).map(|d| d.message.clone()).collect()
    }

    #[test]
    fn a_type_change_that_keeps_the_table_says_it_rebuilds_indexes() {
        let schema =
            "CREATE TABLE orders (id bigint PRIMARY KEY, email text, status varchar(50), qty int, at timestamp);\n\
                      CREATE INDEX orders_email ON orders (email);\nCREATE INDEX orders_status ON orders (status);\n\
                      CREATE INDEX orders_at ON orders (at);";
        let catalog = Some(std::sync::Arc::new(crate::ir::catalog::Catalog::from_sql(schema)));
        let found = |draft: &str| -> Vec<String> {
            let c = compile("d.sql", draft, &Config { catalog: catalog.clone(), ..Config::default() }).unwrap();
            c.diagnostics.iter().filter(|d| d.rule == super::RULE).map(|d| d.message.clone()).collect()
        };
        // A new operator class: the indexes on the column are rebuilt, the table stays.
        for change in [
            "ALTER TABLE orders ALTER email TYPE citext;",
            "SET timezone = 'UTC';\nALTER TABLE orders ALTER at TYPE timestamptz;",
        ] {
            let w = found(change);
            assert_eq!(w.len(), 1, "{change}: {w:?}");
            assert!(
                w[0].contains("no table rewrite") && w[0].contains("rebuilds the indexes on the changed column"),
                "{w:?}"
            );
            assert!(!w[0].contains("this rewrites"), "{w:?}");
        }
        // A rewrite beside it in the same statement: a rewrite.
        let w = found("ALTER TABLE orders ALTER email TYPE citext, ALTER qty TYPE bigint;");
        assert!(w.len() == 1 && w[0].starts_with("this rewrites orders"), "{w:?}");
        let w = found("ALTER TABLE orders ALTER qty TYPE bigint;");
        assert!(w.len() == 1 && w[0].starts_with("this rewrites orders"), "{w:?}");
        // Binary-compatible: no work, no warning.
        assert!(found("ALTER TABLE orders ALTER status TYPE varchar(100);").is_empty());
    }

    #[test]
    fn code_of_unknown_duration_beside_a_lock_is_flagged() {
        let alter = "BEGIN;\nALTER TABLE orders ADD COLUMN x int;\n";
        for (code, what) in
            [("DO $$ BEGIN PERFORM pg_sleep(6); END $$;", "this DO block"), ("CALL fill_orders();", "this CALL")]
        {
            let found = long_steps(&format!("{alter}{code}\nCOMMIT;\n"));
            assert_eq!(found.len(), 1, "{code}: {found:?}");
            assert!(found[0].starts_with(what) && found[0].contains("under statement_timeout = '5s'"), "{found:?}");
            assert!(found[0].contains("ACCESS EXCLUSIVE on orders"), "{found:?}");
            // Alone, it runs to its end, as in the draft (under the lock timeout only, where its
            // code takes a lock): nothing to flag.
            assert!(long_steps(&format!("{code}\n")).is_empty(), "{code}");
        }
        // A call of a function whose code the draft shows, in a transaction kept whole.
        let fill = "CREATE FUNCTION fill() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE users ADD y int; \
                    UPDATE orders SET x = 1; END $$;\nBEGIN;\nLOCK TABLE orders;\n\
                    ALTER TABLE orders ADD COLUMN x int;\nSELECT fill();\nCOMMIT;\n";
        assert!(long_steps(fill).iter().any(|w| w.starts_with("this call of fill runs")), "{:?}", long_steps(fill));
        // A plain query beside the lock is not code pgsafe cannot time; one that reads a table or
        // calls a function of unknown duration is.
        for quick in
            ["SELECT 1;", "SELECT setval('s', 10), now(), lower('A') || 'b';", "SELECT pg_advisory_xact_lock(1);"]
        {
            assert!(long_steps(&format!("{alter}{quick}\nCOMMIT;\n")).is_empty(), "{quick}");
        }
        for long in [
            "SELECT pg_sleep(6);",
            "SELECT count(*) FROM orders;",
            "SELECT fill_orders();",
            "SELECT 1 WHERE EXISTS (SELECT FROM orders WHERE x IS NULL);",
            "SELECT * FROM generate_series(1, 100000000);",
        ] {
            let found = long_steps(&format!("{alter}{long}\nCOMMIT;\n"));
            assert_eq!(found.len(), 1, "{long}: {found:?}");
            assert!(found[0].starts_with("this query runs for as long as what it reads"), "{found:?}");
        }
        // The draft chose its own statement_timeout: its choice.
        assert!(long_steps(&format!("{alter}SET LOCAL statement_timeout = '1h';\nCALL fill_orders();\nCOMMIT;\n"))
            .is_empty());
    }

    #[test]
    fn moving_an_index_to_another_tablespace_is_a_long_step() {
        let built = "CREATE INDEX CONCURRENTLY orders_status ON orders (status);\n";
        let found = long_steps(&format!("{built}ALTER INDEX orders_status SET TABLESPACE fast;\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("SET TABLESPACE copies the index orders_status of orders under ACCESS EXCLUSIVE"));
        assert!(found[0].contains("REINDEX (TABLESPACE …) INDEX CONCURRENTLY orders_status"), "{found:?}");
        // Its storage parameters are not copied; a new table's index has no traffic to hold up.
        assert!(long_steps(&format!("{built}ALTER INDEX orders_status SET (fastupdate = off);\n")).is_empty());
        let new = "CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);\nALTER INDEX i SET TABLESPACE fast;\n";
        assert!(long_steps(new).is_empty());
        // The draft's own statement_timeout: its choice.
        let own = "BEGIN;\nSET LOCAL statement_timeout = '1h';\nALTER INDEX i SET TABLESPACE fast;\nCOMMIT;\n";
        assert!(long_steps(own).is_empty());
    }
}
