//! `partitions`: partitioned tables need their own recipes.
//!
//! - `ALTER TABLE … DETACH PARTITION p` takes ACCESS EXCLUSIVE on the partitioned table and on `p`,
//!   and on its default partition if it has one (no scan, measured on 15; added to the unit like a
//!   new bound's lock below), blocking every read and write of the whole table while it waits. It
//!   is kept as written (with timeouts) and a diagnostic: `DETACH PARTITION p CONCURRENTLY` (14+)
//!   takes SHARE UPDATE EXCLUSIVE instead but leaves `p` with a CHECK constraint the plain form does
//!   not, so it would change the schema, and PostgreSQL refuses it next to a default partition. A
//!   draft's own `CONCURRENTLY` gets an autocommit step (and that diagnostic where it will fail).
//! - `ATTACH PARTITION p`: scans `p` under ACCESS EXCLUSIVE to prove its bound (PostgreSQL 12+ holds
//!   only SHARE UPDATE EXCLUSIVE on the parent). Diagnostic: a validated `CHECK` matching the bound
//!   makes PostgreSQL skip the scan.
//! - A new bound (`ATTACH PARTITION p FOR VALUES …`, `CREATE TABLE p PARTITION OF t FOR VALUES …`)
//!   where `t` has a default partition: PostgreSQL also takes ACCESS EXCLUSIVE on the default one
//!   and scans it for rows of the new bound (measured on 15). The lowered statement cannot know
//!   that (it is lowered without the catalogue), so this pass adds the lock, with its scan, to the
//!   unit: the timeouts, the planner and `long-step` then see it. Diagnostic: a validated `CHECK` on
//!   the default partition that excludes the bound makes PostgreSQL skip that scan (not the lock).
//! - `CREATE INDEX` on a table `--schema` knows is partitioned: PostgreSQL cannot build it
//!   `CONCURRENTLY` (`concurrent-index` leaves it alone), and the plain build holds SHARE on every
//!   partition. Diagnostic with the per-partition recipe (`ON ONLY`, `CONCURRENTLY` per partition,
//!   `ATTACH PARTITION`).
//! - A foreign key on a partitioned table: PostgreSQL before 18 refuses `NOT VALID` there
//!   (`fk-not-valid` leaves it alone). Diagnostic: add it `NOT VALID` + `VALIDATE` per partition,
//!   then on the parent, which adopts the validated constraints without a scan (measured on 15).

use super::{Ctx, Mode, Rewritten};
use crate::ir::action::{Action, PartitionBound};
use crate::ir::catalog::Table;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::lower_action::partition_of_bound;
use crate::ir::migration::{partitioned_fact, Section};
use crate::ir::name::{key_of, make_object_name, quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};
use crate::ir::timeline::{main_table, Before, Partitions};

pub const RULE: &str = "partitions";

/// Does a foreign key on the table of an op have to stay as written (no `NOT VALID` on a
/// partitioned table before PostgreSQL 18)? `before`: the catalogue before that op.
pub fn fk_not_valid_refused(ctx: &Ctx<'_, '_>, before: &Before) -> bool {
    ctx.config.pg_version < 18 && before.is_partitioned()
}

/// Write [`partitioned_fact`] into statement `i`'s step for each table it works on that the draft
/// (not `--schema`, which a later check is given too) shows partitioned and did not create: the
/// rules judged the statement knowing it, and its step alone does not show it.
fn record_partitioned(ctx: &Ctx<'_, '_>, out: &mut Rewritten, i: usize) {
    for (k, op) in ctx.m.stmts[i].ops.iter().enumerate() {
        let Some(table) = main_table(&op.kind) else { continue };
        // An ATTACH or DETACH shows it itself.
        if matches!(
            &op.kind,
            OpKind::AlterTable { action: Action::AttachPartition { .. } | Action::DetachPartition { .. }, .. }
        ) {
            continue;
        }
        let from_schema = ctx.config.catalog.as_ref().is_some_and(|c| c.is_partitioned(table));
        if ctx.before(i, k).is_partitioned() && !from_schema && !ctx.m.created_before(table, i) {
            let fact = partitioned_fact(table);
            if !out.units[i].facts.contains(&fact) {
                out.add_fact(i, fact);
            }
        }
    }
}

/// Does the op give its parent a partition with a bound (not `DEFAULT`), so that PostgreSQL scans
/// the parent's default partition, if it has one, for the bound's rows?
fn adds_bound(kind: &OpKind) -> bool {
    match kind {
        OpKind::AlterTable { action: Action::AttachPartition { parsed, .. }, .. } => *parsed != PartitionBound::Default,
        OpKind::CreateTable { def, .. } => def.partition_of.is_some() && !def.default_partition,
        _ => false,
    }
}

/// Does the op lock its parent's default partition, if it has one, and does it scan it? A new
/// bound scans it for the bound's rows; a plain `DETACH` only locks it (its partition constraint
/// changes). `DETACH … CONCURRENTLY` is refused where there is one, `FINALIZE` takes no lock on it
/// (each measured on 15).
fn default_partition_scan(kind: &OpKind) -> Option<bool> {
    match kind {
        OpKind::AlterTable { action: Action::DetachPartition { concurrently: false, finalize: false, .. }, .. } => {
            Some(false)
        }
        _ => adds_bound(kind).then_some(true),
    }
}

/// Add to statement `i`'s unit the lock its op takes on the parent's default partition: ACCESS
/// EXCLUSIVE, held while PostgreSQL scans it for rows of a new bound (measured on 15, for `ATTACH`
/// and `CREATE TABLE … PARTITION OF`; a validated CHECK that excludes the bound skips the scan,
/// not the lock), or without a scan for `DETACH`. A fact about the statement, not a rule's choice:
/// recorded whatever the rules the statement ignores.
///
/// An `ATTACH` takes only SHARE UPDATE EXCLUSIVE on its parent, which blocks no traffic: where
/// pgsafe cannot rule out a default partition only the database knows (no `--schema`, a parent
/// the draft did not create), it records the lock on a stand-in for it, so that the step waits
/// for it under `lock_timeout` (without, blockprobe saw an insert queue 4.6 s behind such an
/// `ATTACH` waiting for the default partition).
fn default_partition_locks(ctx: &Ctx<'_, '_>, out: &mut Rewritten, i: usize) {
    for (k, op) in ctx.m.stmts[i].ops.iter().enumerate() {
        let Some(scans) = default_partition_scan(&op.kind) else { continue };
        let Some(d) = ctx.before(i, k).default_partition() else {
            if let OpKind::AlterTable { table, action: Action::AttachPartition { partition, .. }, .. } = &op.kind {
                let unknown = ctx.config.catalog.is_none() && !ctx.m.created_before(table, i) && adds_bound(&op.kind);
                if unknown {
                    let stand_in = Name::new(&format!("\"(the default partition of {}, if any)\"", table.base()));
                    let unit = &mut out.units[i];
                    unit.locks.push(LockUse { table: stand_in, mode: LockMode::AccessExclusive, scans: false });
                    // A new table (no traffic) attached: only the wait for the stand-in's lock is
                    // bounded. Its scans, of the new table and of a default partition that may not
                    // exist, run as long as the draft's, which a short statement_timeout cancelled.
                    unit.lock_wait_only |= ctx.m.created_before(partition, i);
                }
            }
            continue;
        };
        let locks = &mut out.units[i].locks;
        match locks.iter_mut().find(|l| l.table.same(&d.name)) {
            Some(l) => {
                l.mode = l.mode.max(LockMode::AccessExclusive);
                l.scans |= scans;
            }
            None => locks.push(LockUse { table: d.name.clone(), mode: LockMode::AccessExclusive, scans }),
        }
    }
}

/// `in_tx`: inside a transaction block of the draft (where the window starts, then as it goes).
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, in_tx: &mut bool) {
    let m = ctx.m;
    for (i, s) in ctx.stmts() {
        for op in &s.ops {
            match &op.kind {
                OpKind::Begin => *in_tx = true,
                OpKind::Commit { .. } => *in_tx = false,
                _ => {}
            }
        }
        record_partitioned(ctx, out, i);
        if s.section == Section::Up {
            default_partition_locks(ctx, out, i);
        }
        if !ctx.applies(RULE, i) {
            continue;
        }
        for (k, op) in s.ops.iter().enumerate() {
            let before = ctx.before(i, k);
            match &op.kind {
                OpKind::CreateIndex { table, only: false, concurrently, name, unique, column_names, tail, .. }
                    if !m.created_before(table, i) && before.is_partitioned() =>
                {
                    let index = Index { table, name: name.as_ref(), unique: *unique, column_names, tail };
                    out.diagnose(RULE, op.span.start, create_index(before.partitions(), &index, *concurrently));
                }
                OpKind::AddConstraint {
                    table,
                    name,
                    kind: ConstraintKind::ForeignKey { references, columns, .. },
                    not_valid,
                    definition,
                } if !m.created_before(table, i) && fk_not_valid_refused(ctx, before) => {
                    let body = m.text(definition);
                    out.diagnose(
                        RULE,
                        op.span.start,
                        foreign_key(before.partitions(), table, name.as_deref(), columns, references, body, *not_valid),
                    );
                }
                OpKind::AddColumn { table, reference: Some(r), .. }
                    if !m.created_before(table, i) && fk_not_valid_refused(ctx, before) =>
                {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "{t} is partitioned and PostgreSQL before 18 refuses NOT VALID foreign keys on it, so the inline \
                             REFERENCES {r} stays as written: it checks every row of every partition while holding SHARE ROW \
                             EXCLUSIVE on {t} and {r}. Add the column without it, then add the foreign key NOT VALID and \
                             VALIDATE it on each partition, and last on {t}, which adopts the validated constraints without a \
                             scan",
                            t = table.text,
                            r = r.references.text
                        ),
                    );
                }
                OpKind::AlterTable {
                    table,
                    action: Action::DetachPartition { partition, concurrently, finalize, .. },
                    ..
                } => {
                    let detached = Detached { table, partition, concurrently: *concurrently, finalize: *finalize };
                    detach(ctx, out, i, op.span.start, before, &detached, *in_tx);
                }
                OpKind::AlterTable { table, action: Action::AttachPartition { partition, bound, parsed }, .. }
                    if !m.created_before(table, i) =>
                {
                    if !m.created_before(partition, i) {
                        out.diagnose(RULE, op.span.start, attach(before, table, partition, bound, parsed));
                    } else if let Some(d) = before.default_partition().filter(|d| !m.created_before(&d.name, i)) {
                        // The new partition has no rows to scan; the default one has.
                        let new = NewBound { parent: table, partition, parsed, created: false };
                        out.diagnose(RULE, op.span.start, default_scan(before, d, &new));
                    }
                }
                OpKind::CreateTable { table: partition, def } if adds_bound(&op.kind) => {
                    let Some(table) = def.partition_of.as_ref().filter(|t| !m.created_before(t, i)) else { continue };
                    let Some(d) = before.default_partition().filter(|d| !m.created_before(&d.name, i)) else {
                        continue;
                    };
                    let parsed = partition_of_bound(m.text(&op.span));
                    let new = NewBound { parent: table, partition, parsed: &parsed, created: true };
                    out.diagnose(RULE, op.span.start, default_scan(before, d, &new));
                }
                _ => {}
            }
        }
    }
}

/// A `CREATE INDEX` on a partitioned table, as the draft wrote it.
struct Index<'a> {
    table: &'a Name,
    name: Option<&'a Name>,
    unique: bool,
    /// PostgreSQL's names for the key elements, for default index names.
    column_names: &'a [String],
    /// The text after the table name, blanks collapsed.
    tail: &'a str,
}

fn create_index(parts: &Partitions, ix: &Index<'_>, concurrently: bool) -> String {
    let (table, t, tail) = (ix.table, &ix.table.text, ix.tail);
    let unique = if ix.unique { "UNIQUE " } else { "" };
    let cols = ix.column_names;
    let col_part = if cols.is_empty() { "idx".to_string() } else { cols.join("_") };
    let index = match ix.name {
        Some(n) => n.text.to_string(),
        None => quote_ident(&make_object_name(&table.base_unquoted(), &col_part, "idx")),
    };
    let mut steps = vec![format!("CREATE {unique}INDEX {index} ON ONLY {t} {tail};")];
    for p in &parts.first {
        let pi = quote_ident(&make_object_name(&p.name.base_unquoted(), &col_part, "idx"));
        steps.push(format!(
            "CREATE {unique}INDEX CONCURRENTLY {pi} ON {p} {tail}; ALTER INDEX {index} ATTACH PARTITION {pi};",
            p = p.name.text
        ));
    }
    match parts.count {
        0 => steps.push(format!(
            "for each partition: CREATE {unique}INDEX CONCURRENTLY <partition>_idx ON <partition> {tail}; ALTER INDEX \
             {index} ATTACH PARTITION <partition>_idx;"
        )),
        n if n <= Partitions::NAMED => {}
        n => steps.push(format!("the same for the {} other partitions", n - Partitions::NAMED)),
    }
    format!(
        "{t} is partitioned: {} Build it per partition instead, each step its own file: {} {index} becomes valid when every \
         partition's index is attached",
        if concurrently {
            "PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table."
        } else {
            "CREATE INDEX on it holds SHARE on every partition for the whole build (writes wait), and PostgreSQL cannot \
             build it CONCURRENTLY."
        },
        steps.join(" ")
    )
}

fn foreign_key(
    parts: &Partitions,
    table: &Name,
    name: Option<&str>,
    columns: &[String],
    references: &Name,
    body: &str,
    not_valid: bool,
) -> String {
    let t = &table.text;
    let r = &references.text;
    let cols: Vec<String> = columns.iter().map(|c| key_of(c)).collect();
    // The constraint's definition without its name, for per-partition constraints.
    let fk_body = body;
    let example = match parts.first.first() {
        Some(p) => {
            let pname = quote_ident(&make_object_name(&p.name.base_unquoted(), &cols.join("_"), "fkey"));
            format!(
                ": ALTER TABLE {pt} ADD CONSTRAINT {pname} {fk_body} NOT VALID; then, in a later transaction, ALTER TABLE \
                 {pt} VALIDATE CONSTRAINT {pname}{more}",
                pt = p.name.text,
                more = if parts.count > 1 { format!(" (and the same for the {} other partitions)", parts.count - 1) } else { String::new() }
            )
        }
        None => String::new(),
    };
    let head = if not_valid {
        format!("PostgreSQL before 18 refuses a NOT VALID foreign key on partitioned table {t}.")
    } else {
        format!(
            "{t} is partitioned and PostgreSQL before 18 refuses NOT VALID foreign keys on it, so pgsafe leaves {} as \
             written: it checks every row of every partition while holding SHARE ROW EXCLUSIVE on {t} and {r}, blocking \
             their writes.",
            name.map_or("this foreign key".to_string(), |n| format!("foreign key {n}"))
        )
    };
    format!(
        "{head} Add it per partition, NOT VALID then VALIDATE in a later transaction{example}; then add it to {t} (without \
         NOT VALID): the parent adopts the partitions' validated constraints without a scan"
    )
}

/// `ALTER TABLE table DETACH PARTITION partition [CONCURRENTLY | FINALIZE]`.
struct Detached<'a> {
    table: &'a Name,
    partition: &'a Name,
    concurrently: bool,
    finalize: bool,
}

fn detach(ctx: &Ctx<'_, '_>, out: &mut Rewritten, i: usize, at: usize, before: &Before, d: &Detached<'_>, in_tx: bool) {
    let m = ctx.m;
    let s = &m.stmts[i];
    let Detached { table, partition, concurrently, finalize } = *d;
    let (t, p) = (&table.text, &partition.text);
    let default = before.default_partition().map(|d| d.name.clone());
    if let (true, Some(d)) = (concurrently, &default) {
        let d = &d.text;
        out.diagnose(
            RULE,
            at,
            format!(
                "PostgreSQL refuses DETACH PARTITION … CONCURRENTLY where {t} has a default partition ({d}): this \
                 statement fails (\"cannot detach partitions concurrently when a default partition exists\", measured on \
                 15), in the draft and in the plan. Without CONCURRENTLY it takes ACCESS EXCLUSIVE on {t}, {p} and {d}"
            ),
        );
    }
    if concurrently {
        if s.ops.len() == 1 {
            out.units[i].mode = Mode::Autocommit;
            out.units[i].long_running = true;
            if in_tx {
                out.units[i].rules.push(RULE);
                out.change(
                    RULE,
                    at,
                    "move DETACH PARTITION … CONCURRENTLY out of the draft's transaction: PostgreSQL refuses it inside a \
                     transaction block"
                        .into(),
                );
            }
        }
        return;
    }
    if finalize || m.created_before(table, i) {
        return;
    }
    let on = match &default {
        Some(d) if !d.same(partition) => format!("{t}, {p} and the default partition {}", d.text),
        _ => format!("{t} and {p}"),
    };
    let blocks = format!(
        "DETACH PARTITION takes ACCESS EXCLUSIVE on {on}: every read and write of the whole partitioned table waits while \
         it queues for the lock"
    );
    if let Some(d) = default.map(|d| d.text.clone()) {
        out.diagnose(
            RULE,
            at,
            format!("{blocks}, and the CONCURRENTLY form is refused because {t} has a default partition ({d})"),
        );
        return;
    }
    if ctx.config.pg_version < 14 {
        out.diagnose(
            RULE,
            at,
            format!("{blocks}. DETACH PARTITION {p} CONCURRENTLY (PostgreSQL 14+, --pg-version 14) takes SHARE UPDATE EXCLUSIVE instead"),
        );
        return;
    }
    if s.ops.len() > 1 {
        out.diagnose(
            RULE,
            at,
            format!("{blocks}. Write DETACH PARTITION {p} CONCURRENTLY in an ALTER TABLE of its own: it cannot be combined with other actions"),
        );
        return;
    }
    // The concurrent form adds a CHECK constraint copying the bound to the detached table, which
    // the plain one does not: the plan would not leave the draft's schema. Which constraint that is
    // (or whether PostgreSQL adds one at all: not when an existing constraint implies the bound)
    // depends on the table's constraints, which pgsafe does not know, so it cannot undo it safely.
    out.diagnose(
        RULE,
        at,
        format!(
            "{blocks}. DETACH PARTITION {p} CONCURRENTLY takes SHARE UPDATE EXCLUSIVE instead, but it leaves {p} with a \
             CHECK constraint copying its old bound, which this plain DETACH does not: kept as written (with timeouts) \
             so that the plan leaves the draft's schema. To detach without blocking, write CONCURRENTLY in the draft \
             (alone in its ALTER TABLE; if interrupted, finish with ALTER TABLE {t} DETACH PARTITION {p} FINALIZE)"
        ),
    );
}

/// `CHECK` condition equivalent to a partition bound on a single-column key, when pgsafe can write it.
fn bound_check(key: &str, bound: &PartitionBound) -> Option<String> {
    match bound {
        PartitionBound::Range { from, to } => {
            let ([from], [to]) = (from.as_slice(), to.as_slice()) else { return None };
            let mut parts = vec![format!("{key} IS NOT NULL")];
            if !from.eq_ignore_ascii_case("minvalue") {
                parts.push(format!("{key} >= {from}"));
            }
            if !to.eq_ignore_ascii_case("maxvalue") {
                parts.push(format!("{key} < {to}"));
            }
            Some(parts.join(" AND "))
        }
        PartitionBound::List { values, null: false } => Some(format!("{key} IS NOT NULL AND {key} IN ({values})")),
        _ => None,
    }
}

/// The single key column of a partitioned table (`RANGE (created_at)` → `created_at`), quoted as
/// SQL needs it.
fn single_key(parent: Option<&Table>) -> Option<String> {
    match parent?.partition_key.as_ref()?.columns.as_slice() {
        [Some(k)] => Some(quote_ident(k)),
        _ => None,
    }
}

/// A partition given a bound, by `CREATE TABLE … PARTITION OF` (`created`) or `ATTACH PARTITION`.
struct NewBound<'a> {
    parent: &'a Name,
    partition: &'a Name,
    parsed: &'a PartitionBound,
    created: bool,
}

/// The recipe for the scan of the default partition `d` (which the draft did not create) that a
/// new bound makes PostgreSQL run: a validated CHECK on `d` that excludes the bound (measured on
/// 15: `NOT (<the bound as a condition>)` is enough; the lock stays).
fn default_scan(before: &Before, d: &Table, new: &NewBound<'_>) -> String {
    let (t, p, dn) = (&new.parent.text, &new.partition.text, &d.name.text);
    let c = quote_ident(&make_object_name(&d.name.base_unquoted(), &new.partition.base_unquoted(), "excluded"));
    let check = match single_key(before.table.as_deref()).and_then(|k| bound_check(&k, new.parsed)) {
        Some(expr) => format!("NOT ({expr})"),
        None => "<NOT (the new bound as a condition on the partition key)>".to_string(),
    };
    let (what, parent) = if new.created {
        (
            format!("CREATE TABLE {p} PARTITION OF {t}"),
            format!(
                ", all the while holding ACCESS EXCLUSIVE on {t} itself (every read and write of the partitioned table \
                 waits; a table created on its own and then attached holds only SHARE UPDATE EXCLUSIVE on {t}, though \
                 its ATTACH scans {dn} the same)"
            ),
        )
    } else {
        (format!("ATTACH PARTITION {p}"), String::new())
    };
    format!(
        "{t} has a default partition, {dn}: {what} takes ACCESS EXCLUSIVE on {dn} and scans it for rows that belong to \
         the new bound (every read and write of {dn} waits){parent}. A validated CHECK on {dn} that excludes the bound \
         makes PostgreSQL skip that scan: ALTER TABLE {dn} ADD CONSTRAINT {c} CHECK ({check}) NOT VALID; then, in a later \
         transaction, ALTER TABLE {dn} VALIDATE CONSTRAINT {c}; then the {}; then ALTER TABLE {dn} DROP CONSTRAINT {c}",
        if new.created { "CREATE TABLE" } else { "ATTACH" }
    )
}

fn attach(before: &Before, table: &Name, partition: &Name, bound: &str, parsed: &PartitionBound) -> String {
    let (t, p) = (&table.text, &partition.text);
    let c = quote_ident(&make_object_name(&partition.base_unquoted(), "", "bound"));
    let default = before.default_partition().map(|d| d.name.text.clone());
    let key = single_key(before.table.as_deref());
    let also = match &default {
        Some(d) => format!(
            "; it also scans the default partition {d} under ACCESS EXCLUSIVE for rows of the new bound (a validated CHECK on \
             {d} that excludes them{} skips that scan too)",
            key.as_ref().and_then(|k| bound_check(k, parsed)).map_or(String::new(), |e| format!(", CHECK (NOT ({e})),"))
        ),
        None => String::new(),
    };
    if *parsed == PartitionBound::Default {
        return format!(
            "attaching {p} as the default partition of {t} scans it under ACCESS EXCLUSIVE to prove no row belongs to another \
             partition: add a CHECK that excludes every other partition's bound NOT VALID, VALIDATE it in a later \
             transaction, then attach (the scan is skipped) and drop the CHECK"
        );
    }
    let check = match key.and_then(|k| bound_check(&k, parsed)) {
        Some(expr) => expr,
        None => "<the bound as a condition on the partition key, with IS NOT NULL>".to_string(),
    };
    format!(
        "ATTACH PARTITION scans {p} under ACCESS EXCLUSIVE to prove every row fits {bound} (on PostgreSQL 12+ {t} itself \
         only gets SHARE UPDATE EXCLUSIVE){also}. A validated CHECK that implies the bound makes PostgreSQL skip the scan: \
         ALTER TABLE {p} ADD CONSTRAINT {c} CHECK ({check}) NOT VALID; then, in a later transaction, ALTER TABLE {p} VALIDATE \
         CONSTRAINT {c}; then the ATTACH; then ALTER TABLE {p} DROP CONSTRAINT {c}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::catalog::Catalog;
    use crate::{compile, Config};

    const SCHEMA: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
        CREATE TABLE events (id bigint, user_id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);\n\
        CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n\
        CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n\
        CREATE TABLE events_2026 (LIKE events);";

    fn config(pg: u32, schema: Option<&str>) -> Config {
        Config {
            pg_version: pg,
            catalog: schema.map(|s| std::sync::Arc::new(Catalog::from_sql(s))),
            ..Config::default()
        }
    }

    #[test]
    fn index_on_a_partitioned_table_is_not_made_concurrent() {
        let c =
            compile("t.sql", "CREATE INDEX idx_events_user ON events (user_id);", &config(15, Some(SCHEMA))).unwrap();
        assert!(c.changes.iter().all(|ch| ch.rule != "concurrent-index"), "{:?}", c.changes);
        let d = &c.diagnostics.iter().find(|d| d.rule == RULE).unwrap().message;
        assert!(d.contains("CREATE INDEX idx_events_user ON ONLY events (user_id);"), "{d}");
        assert!(d.contains("CREATE INDEX CONCURRENTLY events_2025_user_id_idx ON events_2025 (user_id); ALTER INDEX idx_events_user ATTACH PARTITION events_2025_user_id_idx;"), "{d}");
        // Without a schema pgsafe does not know, and builds it CONCURRENTLY…
        let c = compile("t.sql", "CREATE INDEX idx_events_user ON events (user_id);", &config(15, None)).unwrap();
        assert!(c.changes.iter().any(|ch| ch.rule == "concurrent-index"));
        // … unless the draft shows it is partitioned, before or after the index.
        for draft in [
            "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n\
             CREATE INDEX idx_events_user ON events (user_id);",
            "CREATE INDEX idx_events_user ON events (user_id);\nALTER TABLE events DETACH PARTITION events_2024;",
        ] {
            let c = compile("t.sql", draft, &config(15, None)).unwrap();
            assert!(c.changes.iter().all(|ch| ch.rule != "concurrent-index"), "{draft}: {:?}", c.changes);
            assert!(c.diagnostics.iter().any(|d| d.rule == RULE), "{draft}");
        }
    }

    #[test]
    fn foreign_key_on_a_partitioned_table_stays_valid_before_18() {
        let fk = "ALTER TABLE events ADD CONSTRAINT events_user_fk FOREIGN KEY (user_id) REFERENCES users (id);";
        let c = compile("t.sql", fk, &config(15, Some(SCHEMA))).unwrap();
        assert!(c.changes.iter().all(|ch| ch.rule != "fk-not-valid"), "{:?}", c.changes);
        let d = &c.diagnostics.iter().find(|d| d.rule == RULE).unwrap().message;
        assert!(d.contains("ALTER TABLE events_2024 ADD CONSTRAINT events_2024_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;"), "{d}");
        let c = compile("t.sql", fk, &config(18, Some(SCHEMA))).unwrap();
        assert!(c.changes.iter().any(|ch| ch.rule == "fk-not-valid"));
    }

    #[test]
    fn detach_stays_as_written_with_timeouts() {
        let sql = "ALTER TABLE events DETACH PARTITION events_2024;";
        let c = compile("t.sql", sql, &config(14, None)).unwrap();
        let step = c.steps().next().unwrap().text();
        assert!(step.contains("DETACH PARTITION events_2024;") && step.contains("lock_timeout"), "{step}");
        assert!(c.diagnostics.iter().any(|d| d.rule == RULE && d.message.contains("CHECK constraint")));
        let c = compile("t.sql", sql, &config(13, None)).unwrap();
        assert!(!c.changed() || c.changes.iter().all(|ch| ch.rule != RULE));
        assert!(c.diagnostics.iter().any(|d| d.rule == RULE && d.message.contains("PostgreSQL 14+")));
        let with_default = format!("{SCHEMA}\nCREATE TABLE events_other PARTITION OF events DEFAULT;");
        let c = compile("t.sql", sql, &config(14, Some(&with_default))).unwrap();
        assert!(c.diagnostics.iter().any(|d| d.message.contains("default partition (events_other)")));
        assert!(c
            .diagnostics
            .iter()
            .any(|d| d.message.contains("on events, events_2024 and the default partition events_other")));
        let concurrently = "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;";
        let c = compile("t.sql", concurrently, &config(15, Some(&with_default))).unwrap();
        assert!(c.diagnostics.iter().any(|d| d.rule == RULE && d.message.contains("this statement fails")));
        let c = compile("t.sql", concurrently, &config(15, Some(SCHEMA))).unwrap();
        assert!(c.diagnostics.iter().all(|d| d.rule != RULE), "{:?}", c.diagnostics);
    }

    const DEFAULT: &str = "CREATE TABLE events_other PARTITION OF events DEFAULT;";

    /// The locks of the unit of the draft's last statement, and the table it blocks.
    fn last_locks(draft: &str, schema: &str) -> (Vec<LockUse>, Option<String>) {
        let m = crate::ir::migration::Migration::split_and_lower(draft).unwrap();
        let out = crate::passes::run(&m, &config(15, Some(schema)));
        let unit = &out.units[m.stmts.len() - 1];
        (unit.locks.to_vec(), unit.blocking_lock().map(|l| l.table.text.to_string()))
    }

    #[test]
    fn a_new_bound_locks_and_scans_the_default_partition() {
        let with_default = format!("{SCHEMA}\n{DEFAULT}");
        let on_default = |locks: &[LockUse]| locks.iter().find(|l| &*l.table.key == "events_other").cloned();
        let scan = LockUse { table: Name::new("events_other"), mode: LockMode::AccessExclusive, scans: true };
        for (draft, blocked) in [
            (
                "ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
                "events_2026",
            ),
            (
                "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');",
                "events",
            ),
            // The new table has no rows and no traffic: the default partition is what the step blocks.
            (
                "CREATE TABLE events_2027 (LIKE events);\n\
                 ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');",
                "events_other",
            ),
        ] {
            let (locks, blocking) = last_locks(draft, &with_default);
            assert_eq!(on_default(&locks), Some(scan.clone()), "{draft}");
            assert_eq!(blocking.as_deref(), Some(blocked), "{draft}");
            // No default partition: no such lock.
            let (locks, _) = last_locks(draft, SCHEMA);
            assert_eq!(on_default(&locks), None, "{draft}");
        }
        // A default partition made by the draft is locked too, but has no traffic to block.
        let draft = format!(
            "{DEFAULT}\nCREATE TABLE events_2027 (LIKE events);\n\
             ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');"
        );
        let (locks, blocking) = last_locks(&draft, SCHEMA);
        assert_eq!((on_default(&locks), blocking), (Some(scan), None));
        // A default partition of its own scans nothing of the other one (PostgreSQL refuses a second).
        let (locks, _) = last_locks("CREATE TABLE events_else PARTITION OF events DEFAULT;", &with_default);
        assert_eq!(on_default(&locks), None);
    }

    #[test]
    fn detach_locks_the_default_partition_without_a_scan() {
        let with_default = format!("{SCHEMA}\n{DEFAULT}");
        let on_default = |locks: &[LockUse]| locks.iter().find(|l| &*l.table.key == "events_other").cloned();
        let lock = LockUse { table: Name::new("events_other"), mode: LockMode::AccessExclusive, scans: false };
        let (locks, _) = last_locks("ALTER TABLE events DETACH PARTITION events_2024;", &with_default);
        assert_eq!(on_default(&locks), Some(lock.clone()));
        // The default partition detached: its own lock, once.
        let (locks, _) = last_locks("ALTER TABLE events DETACH PARTITION events_other;", &with_default);
        assert_eq!(locks.iter().filter(|l| &*l.table.key == "events_other").count(), 1);
        assert_eq!(on_default(&locks), Some(lock));
        // No default partition; CONCURRENTLY (refused where there is one) and FINALIZE (no lock on it).
        let (locks, _) = last_locks("ALTER TABLE events DETACH PARTITION events_2024;", SCHEMA);
        assert_eq!(on_default(&locks), None);
        for draft in [
            "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
            "ALTER TABLE events DETACH PARTITION events_2024 FINALIZE;",
        ] {
            let (locks, _) = last_locks(draft, &with_default);
            assert_eq!(on_default(&locks), None, "{draft}");
        }
        // A new parent whose default partition is a table with traffic: that is what the step blocks.
        let draft = "CREATE TABLE by_user (LIKE users) PARTITION BY RANGE (id);\n\
                     ALTER TABLE by_user ATTACH PARTITION users DEFAULT;\n\
                     CREATE TABLE by_user_later PARTITION OF by_user FOR VALUES FROM (10000) TO (20000);\n\
                     ALTER TABLE by_user DETACH PARTITION by_user_later;";
        let (locks, blocking) = last_locks(draft, SCHEMA);
        assert!(locks.iter().any(|l| &*l.table.key == "users" && l.mode == LockMode::AccessExclusive), "{locks:?}");
        assert_eq!(blocking.as_deref(), Some("users"));
    }

    #[test]
    fn attaching_a_new_table_next_to_a_default_partition_runs_under_timeouts() {
        let draft = "CREATE TABLE events_2027 (LIKE events);\n\
                     ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');";
        let with_default = format!("{SCHEMA}\n{DEFAULT}");
        let c = compile("t.sql", draft, &config(15, Some(&with_default))).unwrap();
        let step = c.steps().next().unwrap().text();
        assert!(step.contains("lock_timeout"), "{step}");
        let d = &c.diagnostics.iter().find(|d| d.rule == RULE).expect("a partitions finding").message;
        assert!(d.contains("events has a default partition, events_other: ATTACH PARTITION events_2027 takes ACCESS EXCLUSIVE on events_other and scans it"), "{d}");
        assert!(
            d.contains("ALTER TABLE events_other ADD CONSTRAINT events_other_events_2027_excluded CHECK (NOT (created_at IS NOT NULL AND created_at >= '2027-01-01' AND created_at < '2028-01-01')) NOT VALID;"),
            "{d}"
        );
        let long = &c.diagnostics.iter().find(|d| d.rule == "long-step").expect("a long-step warning").message;
        assert!(long.starts_with("this scans events_other under ACCESS EXCLUSIVE"), "{long}");
        let manifest = c.manifest.as_ref().unwrap();
        assert!(manifest.steps[0].locks.iter().any(|l| l.table == "events_other" && l.scans));
        // Without a default partition the ATTACH of a new table blocks nothing: no timeouts.
        let c = compile("t.sql", draft, &config(15, Some(SCHEMA))).unwrap();
        assert!(!c.steps().next().unwrap().text().contains("lock_timeout"));
        assert!(c.diagnostics.iter().all(|d| d.rule != RULE && d.rule != "long-step"), "{:?}", c.diagnostics);
    }

    #[test]
    fn a_partition_created_next_to_a_default_partition_gets_the_recipe() {
        let draft = "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');";
        let c = compile("t.sql", draft, &config(15, Some(&format!("{SCHEMA}\n{DEFAULT}")))).unwrap();
        let d = &c.diagnostics.iter().find(|d| d.rule == RULE).expect("a partitions finding").message;
        assert!(
            d.contains(
                "CREATE TABLE events_2027 PARTITION OF events takes ACCESS EXCLUSIVE on events_other and scans it"
            ),
            "{d}"
        );
        assert!(d.contains("CHECK (NOT (created_at IS NOT NULL AND created_at >= '2027-01-01' AND created_at < '2028-01-01')) NOT VALID"), "{d}");
        let long = &c.diagnostics.iter().find(|d| d.rule == "long-step").expect("a long-step warning").message;
        assert!(
            long.contains("this scans events_other under ACCESS EXCLUSIVE")
                && long.contains("holding ACCESS EXCLUSIVE on events"),
            "{long}"
        );
        // No default partition, or one the draft made: nothing to say.
        let c = compile("t.sql", draft, &config(15, Some(SCHEMA))).unwrap();
        assert!(c.diagnostics.iter().all(|d| d.rule != RULE && d.rule != "long-step"), "{:?}", c.diagnostics);
        let c = compile("t.sql", &format!("{DEFAULT}\n{draft}"), &config(15, Some(SCHEMA))).unwrap();
        assert!(c.diagnostics.iter().all(|d| d.rule != RULE && d.rule != "long-step"), "{:?}", c.diagnostics);
    }

    #[test]
    fn attach_recipe_writes_the_bound_check() {
        let sql = "ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');";
        let c = compile("t.sql", sql, &config(15, Some(SCHEMA))).unwrap();
        let d = &c.diagnostics.iter().find(|d| d.rule == RULE).unwrap().message;
        assert!(
            d.contains(
                "CHECK (created_at IS NOT NULL AND created_at >= '2026-01-01' AND created_at < '2027-01-01') NOT VALID"
            ),
            "{d}"
        );
        let list = PartitionBound::List { values: "1, 2".into(), null: false };
        assert_eq!(bound_check("k", &list).as_deref(), Some("k IS NOT NULL AND k IN (1, 2)"));
        let range = PartitionBound::Range { from: vec!["MINVALUE".into()], to: vec!["10".into()] };
        assert_eq!(bound_check("k", &range).as_deref(), Some("k IS NOT NULL AND k < 10"));
        assert_eq!(bound_check("k", &PartitionBound::Other), None);
    }
}
