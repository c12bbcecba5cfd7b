//! `check-not-valid`: `ADD [CONSTRAINT] CHECK (…)` on a table with traffic → `… NOT VALID`, then
//! `VALIDATE CONSTRAINT` in a later transaction.
//!
//! Why: a plain add holds ACCESS EXCLUSIVE (blocking reads and writes) while it checks every row.
//! `NOT VALID` still takes ACCESS EXCLUSIVE, but only for an instant; `VALIDATE` scans under SHARE
//! UPDATE EXCLUSIVE, which blocks no reads or writes.

use super::in_case_of;
use super::not_valid::{default_name, has_placeholder, move_inline, split, unnamed_with_placeholder, Inline};
use super::{Ctx, Rewritten};
use crate::ir::name::{quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "check-not-valid";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.m.stmts.iter().enumerate() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for op in &s.ops {
            match &op.kind {
                OpKind::AddConstraint {
                    table,
                    name,
                    kind: ConstraintKind::Check { columns, .. },
                    not_valid: false,
                    ..
                } if !ctx.quiet(table, i) => {
                    if name.is_none() && has_placeholder(table) {
                        out.diagnose(RULE, op.span.start, unnamed_with_placeholder());
                        continue;
                    }
                    // PostgreSQL names an unnamed check after its column only when it uses exactly one.
                    let cols: &[String] = if columns.len() == 1 { columns } else { &[] };
                    let name = split(
                        ctx.m,
                        out,
                        RULE,
                        i,
                        table,
                        &op.span,
                        name.as_deref().ok_or_else(|| default_name(table, cols, "check")),
                    );
                    out.change(RULE, op.span.start, reason(&name, table));
                }
                OpKind::AddColumn { table, column, check: Some(c), .. } if !ctx.quiet(table, i) => {
                    if c.constraint_name.is_none() && has_placeholder(table) {
                        out.diagnose(RULE, op.span.start, unnamed_with_placeholder());
                        continue;
                    }
                    let name = match &c.constraint_name {
                        Some(n) => n.clone(),
                        None => {
                            quote_ident(&out.unique_name(default_name(table, std::slice::from_ref(column), "check")))
                        }
                    };
                    let sample = &ctx.m.src[op.span.start..op.span.start + 3];
                    let definition = format!("{} {}", in_case_of(sample, "CHECK"), c.body);
                    let inline = Inline { clause: c.clause.clone(), name: name.clone(), definition };
                    move_inline(ctx.m, out, RULE, i, &op.span, table, inline);
                    out.change(RULE, c.clause.start, reason(&name, table));
                }
                _ => {}
            }
        }
    }
}

fn reason(name: &str, table: &Name) -> String {
    format!(
        "add check {name} NOT VALID, then VALIDATE it in a later transaction: checking every row now \
         would hold ACCESS EXCLUSIVE on {} (blocking reads and writes) for the whole scan",
        table.text
    )
}
