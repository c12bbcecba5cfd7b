//! `check-not-valid`: `ADD [CONSTRAINT] CHECK (…)` on a table with traffic → `… NOT VALID`, then
//! `VALIDATE CONSTRAINT` in a later transaction.
//!
//! Why: a plain add holds ACCESS EXCLUSIVE (blocking reads and writes) while it checks every row.
//! `NOT VALID` still takes ACCESS EXCLUSIVE, but only for an instant; `VALIDATE` scans under SHARE
//! UPDATE EXCLUSIVE, which blocks no reads or writes.

use super::not_valid::{default_name, split};
use super::{Ctx, Rewritten};
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "check-not-valid";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.m.stmts.iter().enumerate() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for op in &s.ops {
            let OpKind::AddConstraint {
                table,
                name,
                kind: ConstraintKind::Check { columns },
                not_valid: false,
            } = &op.kind
            else {
                continue;
            };
            if ctx.m.created_before(table, i) {
                continue;
            }
            // PostgreSQL names an unnamed check after its column only when it uses exactly one.
            let cols: &[String] = if columns.len() == 1 { columns } else { &[] };
            let name = split(
                ctx.m.src,
                out,
                RULE,
                i,
                table,
                &op.span,
                name.as_deref()
                    .ok_or_else(|| default_name(table, cols, "check")),
            );
            out.change(
                RULE,
                op.span.start,
                format!(
                    "add check {name} NOT VALID, then VALIDATE it in a later transaction: checking every row now \
                     would hold ACCESS EXCLUSIVE on {} (blocking reads and writes) for the whole scan",
                    table.text
                ),
            );
        }
    }
}
