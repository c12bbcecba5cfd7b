//! `fk-not-valid`: `ADD [CONSTRAINT] FOREIGN KEY` on a table with traffic (as a table action, or
//! inline on `ADD COLUMN … REFERENCES`) → `… NOT VALID` in a short transaction, then
//! `VALIDATE CONSTRAINT` in a later one.
//!
//! Why: a plain add holds SHARE ROW EXCLUSIVE on *both* tables while it checks every row, blocking
//! writes to both. `NOT VALID` skips the check, so the lock is brief; `VALIDATE` then scans under
//! SHARE UPDATE EXCLUSIVE (and ROW SHARE on the referenced table), which blocks no reads or writes.
//!
//! Not PostgreSQL 18's temporal foreign key (`PERIOD`): on 18.4 its `VALIDATE` accepts a row whose
//! period the referenced rows cover only in part, which its plain add refuses.
//!
//! Not on a partitioned table (as `--schema` or the draft shows), before PostgreSQL 18: it refuses `NOT VALID` there
//! (`partitions` gives the per-partition recipe).

use super::not_valid::{kept_on_a_column_that_may_exist, move_inline, split, unnamed, Inline};
use super::partitions::fk_not_valid_refused;
use super::{in_case_of, Ctx, Rewritten};
use crate::ir::name::quote_ident;
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "fk-not-valid";

/// Why PostgreSQL 18's temporal foreign key is kept as written (measured on 18.4,
/// `tests/postgresql_18.rs`): its `VALIDATE` accepts what its plain add refuses.
pub const TEMPORAL_FK_VALIDATE: &str = "on PostgreSQL 18.4 VALIDATE CONSTRAINT of a temporal foreign key \
     (PERIOD) accepts a row whose period the referenced rows cover only in part, which the plain ADD refuses \
     (measured), so NOT VALID and a later VALIDATE would let rows through that the draft refuses";

fn temporal_kept(table: &crate::ir::name::Name, references: &crate::ir::name::Name) -> String {
    format!(
        "this temporal foreign key checks every row while holding SHARE ROW EXCLUSIVE on {} and {}, and pgsafe keeps it \
         as written: {TEMPORAL_FK_VALIDATE}",
        table.text, references.text
    )
}

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.stmts() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for (k, op) in s.ops.iter().enumerate() {
            let refused = fk_not_valid_refused(ctx, ctx.before(i, k));
            match &op.kind {
                OpKind::AddConstraint {
                    table,
                    name,
                    kind: ConstraintKind::ForeignKey { references, period, .. },
                    not_valid: false,
                    ..
                } if !ctx.quiet(table, i) && !refused => {
                    // PostgreSQL 18's temporal foreign key: its VALIDATE does not check what its
                    // plain add checks (measured on 18.4, `tests/postgresql_18.rs`).
                    if *period {
                        out.diagnose(RULE, op.span.start, temporal_kept(table, references));
                        continue;
                    }
                    let Some(name) = name else {
                        out.diagnose(RULE, op.span.start, unnamed("foreign key", table));
                        continue;
                    };
                    split(ctx.m, out, RULE, i, table, &op.span, name);
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
                OpKind::AddColumn { table, column, reference: Some(r), if_not_exists, .. }
                    if !ctx.quiet(table, i) && !refused =>
                {
                    if *if_not_exists && ctx.column_may_exist(i, k, column) {
                        out.diagnose(
                            RULE,
                            r.clause.start,
                            kept_on_a_column_that_may_exist("foreign key", column, table),
                        );
                        continue;
                    }
                    let Some(name) = r.constraint_name.clone() else {
                        out.diagnose(RULE, r.clause.start, unnamed("foreign key", table));
                        continue;
                    };
                    let sample = &ctx.m.src[op.span.start..op.span.start + 3];
                    let definition = format!(
                        "{} ({}) {} {}",
                        in_case_of(sample, "FOREIGN KEY"),
                        quote_ident(column),
                        in_case_of(sample, "REFERENCES"),
                        r.target
                    );
                    let inline = Inline { clause: r.clause.clone(), name: name.clone(), definition };
                    move_inline(ctx.m, out, RULE, i, &op.span, table, inline);
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
