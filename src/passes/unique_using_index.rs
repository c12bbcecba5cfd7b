//! `unique-using-index`: `ADD [CONSTRAINT c] UNIQUE (…)` / `PRIMARY KEY (…)` on a table with traffic
//! → `CREATE UNIQUE INDEX CONCURRENTLY c ON t (…)` in an autocommit step, then
//! `ADD CONSTRAINT c UNIQUE|PRIMARY KEY USING INDEX c` in a short transaction. A primary key's
//! columns are first made NOT NULL the safe way (see `not_null`), unless known NOT NULL already.
//!
//! Why: building the index inside `ADD CONSTRAINT` holds ACCESS EXCLUSIVE (reads and writes wait)
//! for the whole build; `USING INDEX` only attaches a finished index (measured on PostgreSQL 15).

use super::{in_case_of, not_null, Ctx, Edit, Mode, Phase, Rewritten, Unit};
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::name::{make_object_name, quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "unique-using-index";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    for (i, s) in m.stmts.iter().enumerate() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        let mut k = 0;
        for (n_op, op) in s.ops.iter().enumerate() {
            let OpKind::AddConstraint { table, name, kind, .. } = &op.kind else { continue };
            let (primary, key) = match kind {
                ConstraintKind::Unique(key) => (false, key),
                ConstraintKind::PrimaryKey(key) => (true, key),
                _ => continue,
            };
            if ctx.quiet(table, i) {
                continue;
            }
            let before = ctx.before(i, n_op);
            if before.is_partitioned() {
                out.diagnose(
                    RULE,
                    op.span.start,
                    format!(
                        "{} is partitioned: PostgreSQL builds neither a concurrent index nor USING INDEX on a partitioned \
                         table; build the unique index on each partition concurrently, then add the constraint",
                        table.text
                    ),
                );
                continue;
            }
            let action = &m.src[op.span.clone()];
            let Some(cols) = key.plain_list.as_ref().map(|r| m.text(r)) else {
                // `USING INDEX` already, or INCLUDE/WITH/DEFERRABLE… that USING INDEX cannot express here.
                if key.using_index.is_none() {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "this constraint builds its index under ACCESS EXCLUSIVE on {}: build it with CREATE UNIQUE \
                             INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
                            table.text
                        ),
                    );
                }
                continue;
            };
            let columns: Vec<String> = cols.split(',').map(|c| Name::new(c).key).collect();
            let index = match name {
                Some(n) => n.clone(),
                None => {
                    let base = if primary {
                        make_object_name(&table.base_unquoted(), "", "pkey")
                    } else {
                        make_object_name(&table.base_unquoted(), &columns.join("_"), "key")
                    };
                    quote_ident(&out.unique_name(base))
                }
            };
            let sample: String = action.chars().take(3).collect();
            let kw = |k: &str| in_case_of(&sample, k);
            let create = format!(
                "{} {index} {} {} ({})",
                kw("CREATE UNIQUE INDEX CONCURRENTLY"),
                kw("ON"),
                table.text,
                cols.trim()
            );
            let mut build = Unit {
                sub: -500 + k,
                mode: Mode::Autocommit,
                long_running: true,
                locks: vec![LockUse { table: table.clone(), mode: LockMode::ShareUpdateExclusive, scans: true }],
                ..Unit::generated(i, op.span.start, create, Phase::Main, RULE)
            };
            build.ends_step = true;
            out.units.push(build);
            // A primary key needs NOT NULL columns; prove them without a long scan.
            let mut not_null_first = String::new();
            if primary {
                for (n, col) in columns.iter().enumerate() {
                    let fact = not_null::fact(table, col);
                    let known = ctx.m.has_fact(&fact)
                        || out.units.iter().any(|u| u.stmt < i && u.facts.contains(&fact))
                        || before.table.as_ref().and_then(|t| t.column(col)).is_some_and(|c| !c.nullable);
                    if known {
                        // Proven before this statement: the step says so, to stay a fixed point.
                        out.units[i].facts.push(fact);
                    } else {
                        not_null::recipe(m, out, i, k * 10 + n as i32, table, col, RULE);
                    }
                    not_null_first.push_str(&format!(
                        "{} {} {}, ",
                        kw("ALTER COLUMN"),
                        quote_ident(col),
                        kw("SET NOT NULL")
                    ));
                }
            }
            let attach = format!(
                "{not_null_first}{} {index} {} {} {index}",
                kw("ADD CONSTRAINT"),
                kw(if primary { "PRIMARY KEY" } else { "UNIQUE" }),
                kw("USING INDEX"),
            );
            let unit = &mut out.units[i];
            unit.edits.push(Edit { at: op.span.clone(), text: attach });
            unit.starts_step = true;
            if !unit.rules.contains(&RULE) {
                unit.rules.push(RULE);
            }
            for l in &mut unit.locks {
                l.scans = false;
            }
            k += 1;
            out.change(
                RULE,
                op.span.start,
                format!(
                    "build the index of {index} with CREATE UNIQUE INDEX CONCURRENTLY in its own step, then attach it \
                     with USING INDEX: building it inside ADD CONSTRAINT holds ACCESS EXCLUSIVE on {} for the whole build",
                    table.text
                ),
            );
        }
    }
}
