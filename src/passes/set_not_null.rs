//! `set-not-null`: `ALTER COLUMN c SET NOT NULL` on a table with traffic → a `CHECK (c IS NOT NULL)`
//! added `NOT VALID`, validated in its own transaction, then `SET NOT NULL` (which then skips its
//! scan, PostgreSQL 12+), then the check dropped.
//!
//! Why: a plain `SET NOT NULL` scans every row while holding ACCESS EXCLUSIVE, blocking reads and
//! writes for the whole scan (measured on PostgreSQL 15; with a validated check: no scan).

use super::{not_null, Ctx, Rewritten};
use crate::ir::op::{ConstraintKind, OpKind};
use std::collections::HashSet;

pub const RULE: &str = "set-not-null";

/// Columns the draft itself proves NOT NULL with a check it validates, as far as it has gone.
#[derive(Default)]
pub struct Proofs {
    /// (constraint name, `table.column` fact) of a `NOT VALID` check not validated yet.
    pending: Vec<(String, String)>,
    proven: HashSet<String>,
}

/// `proofs`: what the statements before the window prove.
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, proofs: &mut Proofs) {
    let m = ctx.m;
    let Proofs { pending, proven } = proofs;
    for (i, s) in ctx.stmts() {
        let mut k = 0;
        for (n_op, op) in s.ops.iter().enumerate() {
            match &op.kind {
                OpKind::AddConstraint {
                    table, name, kind: ConstraintKind::Check { columns, expr }, not_valid, ..
                } => {
                    if let [col] = columns.as_slice() {
                        if *expr == format!("{col} is not null") {
                            let fact = not_null::fact(table, col);
                            match (not_valid, name) {
                                // A valid check proves it, unless check-not-valid defers its
                                // validation to the end of the plan.
                                (false, _) if ctx.quiet(table, i) || !ctx.applies("check-not-valid", i) => {
                                    proven.insert(fact);
                                }
                                (false, _) => {}
                                (true, Some(n)) => pending.push((n.to_lowercase(), fact)),
                                (true, None) => {}
                            }
                        }
                    }
                }
                OpKind::ValidateConstraint { name, .. } => {
                    if let Some(p) = pending.iter().position(|(n, _)| *n == name.to_lowercase()) {
                        proven.insert(pending.remove(p).1);
                    }
                }
                OpKind::SetNotNull { table, column } => {
                    let fact = not_null::fact(table, column);
                    if proven.contains(&fact) {
                        // The draft proves it itself; say so in the plan, so the step stays a fixed point.
                        out.units[i].facts.push(fact);
                        continue;
                    }
                    if !ctx.applies(RULE, i) || ctx.quiet(table, i) || m.has_fact(&fact) || ctx.config.pg_version < 12 {
                        continue;
                    }
                    // A column this statement adds is new: it holds only its default, and a recipe
                    // that runs before the statement would not find it.
                    if ctx.added_by_statement(i, n_op, column) {
                        continue;
                    }
                    let name = not_null::recipe(m, out, i, k, table, column, RULE);
                    k += 1;
                    out.change(
                        RULE,
                        op.span.start,
                        format!(
                            "prove {column} NOT NULL with check {name} (added NOT VALID, validated in its own transaction) \
                             first: a plain SET NOT NULL scans {} under ACCESS EXCLUSIVE, blocking reads and writes",
                            table.text
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}
