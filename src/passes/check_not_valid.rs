//! `check-not-valid`: `ADD [CONSTRAINT] CHECK (…)` on a table with traffic → `… NOT VALID`, then
//! `VALIDATE CONSTRAINT` in a later transaction; so too PostgreSQL 18's `ADD CONSTRAINT n NOT NULL
//! c` for a plan that runs on 18 or later (`pg-version`).
//!
//! Why: a plain add holds ACCESS EXCLUSIVE (blocking reads and writes) while it checks every row.
//! `NOT VALID` still takes ACCESS EXCLUSIVE, but only for an instant; `VALIDATE` scans under SHARE
//! UPDATE EXCLUSIVE, which blocks no reads or writes.

use super::in_case_of;
use super::not_valid::{kept_on_a_column_that_may_exist, move_inline, split, unnamed, Inline};
use super::{Ctx, Rewritten};
use crate::ir::action::Action;
use crate::ir::name::Name;
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "check-not-valid";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.stmts() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for (k, op) in s.ops.iter().enumerate() {
            match &op.kind {
                OpKind::AddConstraint { table, name, kind: ConstraintKind::Check { .. }, not_valid: false, .. }
                    if !ctx.quiet(table, i) =>
                {
                    let Some(name) = name else {
                        out.diagnose(RULE, op.span.start, unnamed("check", table));
                        continue;
                    };
                    split(ctx.m, out, RULE, i, table, &op.span, name);
                    out.change(RULE, op.span.start, reason("check", name, table));
                }
                OpKind::AddColumn { table, column, check: Some(c), if_not_exists, .. } if !ctx.quiet(table, i) => {
                    if *if_not_exists && ctx.column_may_exist(i, k, column) {
                        out.diagnose(RULE, c.clause.start, kept_on_a_column_that_may_exist("check", column, table));
                        continue;
                    }
                    let Some(name) = c.constraint_name.clone() else {
                        out.diagnose(RULE, c.clause.start, unnamed("check", table));
                        continue;
                    };
                    let sample = &ctx.m.src[op.span.start..op.span.start + 3];
                    let definition = format!("{} {}", in_case_of(sample, "CHECK"), c.body);
                    let inline = Inline { clause: c.clause.clone(), name: name.clone(), definition };
                    move_inline(ctx.m, out, RULE, i, &op.span, table, inline);
                    out.change(RULE, c.clause.start, reason("check", &name, table));
                }
                // PostgreSQL 18's named NOT NULL constraint takes `NOT VALID` too (measured on 18.4,
                // `tests/postgresql_18.rs`); before 18 the draft's own syntax fails.
                OpKind::AlterTable { table, action: Action::AddNotNull { name, not_valid: false, .. }, .. }
                    if ctx.config.pg_version >= 18 && !ctx.quiet(table, i) =>
                {
                    let Some(name) = name else {
                        out.diagnose(RULE, op.span.start, unnamed("not-null constraint", table));
                        continue;
                    };
                    split(ctx.m, out, RULE, i, table, &op.span, name);
                    out.change(RULE, op.span.start, reason("not-null constraint", name, table));
                }
                _ => {}
            }
        }
    }
}

/// Why `what` (a check, a not-null constraint) named `name` is split.
fn reason(what: &str, name: &str, table: &Name) -> String {
    format!(
        "add {what} {name} NOT VALID, then VALIDATE it in a later transaction: checking every row now \
         would hold ACCESS EXCLUSIVE on {} (blocking reads and writes) for the whole scan",
        table.text
    )
}
