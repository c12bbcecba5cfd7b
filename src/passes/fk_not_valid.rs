//! `fk-not-valid`: `ADD [CONSTRAINT] FOREIGN KEY` on a table with traffic (as a table action, or
//! inline on `ADD COLUMN … REFERENCES`) → `… NOT VALID` in a short transaction, then
//! `VALIDATE CONSTRAINT` in a later one.
//!
//! Why: a plain add holds SHARE ROW EXCLUSIVE on *both* tables while it checks every row, blocking
//! writes to both. `NOT VALID` skips the check, so the lock is brief; `VALIDATE` then scans under
//! SHARE UPDATE EXCLUSIVE (and ROW SHARE on the referenced table), which blocks no reads or writes.
//!
//! Not on a table `--schema` says is partitioned, before PostgreSQL 18: it refuses `NOT VALID` there
//! (`partitions` gives the per-partition recipe).

use super::not_valid::{
    alter_if_exists, default_name, has_placeholder, split, unnamed_with_placeholder, validate_unit,
};
use super::partitions::fk_not_valid_refused;
use super::{in_case_of, Ctx, Edit, Rewritten};
use crate::ir::name::quote_ident;
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "fk-not-valid";

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
                    kind: ConstraintKind::ForeignKey { references, columns },
                    not_valid: false,
                } if !ctx.quiet(table, i) && !fk_not_valid_refused(ctx, table) => {
                    if name.is_none() && has_placeholder(table) {
                        out.diagnose(RULE, op.span.start, unnamed_with_placeholder());
                        continue;
                    }
                    let name = split(
                        ctx.m.src,
                        out,
                        RULE,
                        i,
                        table,
                        &op.span,
                        name.as_deref().ok_or_else(|| default_name(table, columns, "fkey")),
                    );
                    out.change(
                        RULE,
                        op.span.start,
                        format!(
                            "add foreign key {name} NOT VALID, then VALIDATE it in a later transaction: \
                             checking every row now would block writes on {} and {} for the whole scan",
                            table.text, references.text
                        ),
                    );
                }
                OpKind::AddColumn { table, column, reference: Some(r), def_end, .. }
                    if !ctx.quiet(table, i) && !fk_not_valid_refused(ctx, table) =>
                {
                    if r.constraint_name.is_none() && has_placeholder(table) {
                        out.diagnose(RULE, op.span.start, unnamed_with_placeholder());
                        continue;
                    }
                    let name = match &r.constraint_name {
                        Some(n) => n.clone(),
                        None => quote_ident(&default_name(table, std::slice::from_ref(column), "fkey")),
                    };
                    let unit = &mut out.units[i];
                    // Drop the inline clause; re-add it as a table constraint right after the column definition.
                    let src = ctx.m.src;
                    unit.edits.push(Edit::remove(ctx.m.src, r.clause.clone()));
                    unit.edits.push(Edit {
                        at: *def_end..*def_end,
                        text: format!(
                            ", {} {name} {} ({}) {} {} {}",
                            in_case_of(&src[op.span.start..op.span.start + 3], "ADD CONSTRAINT"),
                            in_case_of(&src[op.span.start..op.span.start + 3], "FOREIGN KEY"),
                            quote_ident(column),
                            in_case_of(&src[op.span.start..op.span.start + 3], "REFERENCES"),
                            r.target,
                            in_case_of(&src[op.span.start..op.span.start + 3], "NOT VALID"),
                        ),
                    });
                    unit.rules.push(RULE);
                    for l in &mut unit.locks {
                        l.scans = false;
                    }
                    let sample = &src[op.span.start..op.span.start + 3];
                    let if_exists = alter_if_exists(src, i, out);
                    out.units.push(validate_unit(i, op.span.start, sample, table, &name, if_exists, RULE));
                    out.change(
                        RULE,
                        r.clause.start,
                        format!(
                            "move the inline REFERENCES of {column} into a NOT VALID constraint {name}, then VALIDATE it \
                             in a later transaction: the lock on {} stays brief",
                            r.references.text
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}
