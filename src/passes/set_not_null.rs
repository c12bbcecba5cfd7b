//! `set-not-null`: `ALTER COLUMN c SET NOT NULL` on a table with traffic → a `CHECK (c IS NOT NULL)`
//! added `NOT VALID`, validated in its own transaction, then `SET NOT NULL` (which then skips its
//! scan, PostgreSQL 12+), then the check dropped.
//!
//! Why: a plain `SET NOT NULL` scans every row while holding ACCESS EXCLUSIVE, blocking reads and
//! writes for the whole scan (measured on PostgreSQL 15; with a validated check: no scan).

use super::{not_null, Ctx, Rewritten};
use crate::ir::action::{Action, ColumnChange};
use crate::ir::migration::Section;
use crate::ir::op::{ConstraintKind, OpKind};
use crate::ir::savepoints::UndoLog;
use rustc_hash::FxHashSet;
use std::collections::HashSet;

pub const RULE: &str = "set-not-null";

/// Columns the draft itself proves NOT NULL with a check it validates, as far as it has gone.
pub struct Proofs {
    /// (constraint name, `table.column` fact) of a `NOT VALID` check not validated yet.
    pending: Vec<(String, String)>,
    proven: HashSet<String>,
    /// How to undo each change to the two in the open transaction block: a check validated in a
    /// transaction the draft rolls back proves nothing after it.
    undo: UndoLog<Undo>,
}

/// One change to the proofs, as its undoing needs it.
enum Undo {
    Proved(String),
    Pended,
    Validated(usize, (String, String)),
}

impl Proofs {
    /// `runner_transaction`: the draft's migration tool runs it in a transaction block.
    pub fn new(runner_transaction: bool) -> Proofs {
        Proofs { pending: Vec::new(), proven: HashSet::new(), undo: UndoLog::new(runner_transaction) }
    }

    /// Is a transaction block open (the draft's own, or its tool's) where the next statement runs?
    fn in_block(&self) -> bool {
        self.undo.in_block()
    }

    fn prove(&mut self, fact: String) {
        if self.proven.insert(fact.clone()) {
            self.undo.record(|| Undo::Proved(fact));
        }
    }

    fn pend(&mut self, name: String, fact: String) {
        self.pending.push((name, fact));
        self.undo.record(|| Undo::Pended);
    }

    fn validate(&mut self, name: &str) {
        if let Some(p) = self.pending.iter().position(|(n, _)| *n == name.to_lowercase()) {
            let (name, fact) = self.pending.remove(p);
            self.prove(fact.clone());
            self.undo.record(|| Undo::Validated(p, (name, fact)));
        }
    }

    /// A transaction-control op or a psql branch's start or end runs: on a rollback, undo what the
    /// rolled-back part proved; at a branch's end, what the branch (which may not run) proved.
    fn follow(&mut self, kind: &OpKind) {
        for undo in self.undo.follow(kind) {
            match undo {
                Undo::Proved(fact) => {
                    self.proven.remove(&fact);
                }
                Undo::Pended => {
                    self.pending.pop();
                }
                Undo::Validated(p, entry) => self.pending.insert(p, entry),
            }
        }
    }
}

/// `proofs`: what the statements before the window prove; `row_types`: the types whose values are
/// rows so far.
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, proofs: &mut Proofs, row_types: &FxHashSet<String>) {
    let m = ctx.m;
    for (i, s) in ctx.stmts() {
        out.not_null_chain.statement(i, s, proofs.in_block());
        let mut k = 0;
        // The columns the statement adds or retypes, found when first asked.
        let mut new_columns = None;
        for (n_op, op) in s.ops.iter().enumerate() {
            match &op.kind {
                OpKind::Begin | OpKind::Commit { .. } | OpKind::Savepoint { .. } | OpKind::Psql(_)
                    if s.section == Section::Up =>
                {
                    proofs.follow(&op.kind)
                }
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
                                    proofs.prove(fact);
                                }
                                (false, _) => {}
                                (true, Some(n)) => proofs.pend(n.to_lowercase(), fact),
                                (true, None) => {}
                            }
                        }
                    }
                }
                OpKind::ValidateConstraint { name, .. } => proofs.validate(name),
                OpKind::SetNotNull { table, column } => {
                    let fact = not_null::fact(table, column);
                    if proofs.proven.contains(&fact) {
                        // The draft proves it itself; say so in the plan, so the step stays a fixed point.
                        out.add_fact(i, fact);
                        continue;
                    }
                    if !ctx.applies(RULE, i)
                        || ctx.quiet(table, i)
                        || out.stated_at(m, &fact, i)
                        || ctx.config.pg_version < 12
                    {
                        continue;
                    }
                    // A column this statement adds is new: it holds only its default, and a recipe
                    // that runs before the statement would not find it.
                    let new_columns = new_columns.get_or_insert_with(|| ctx.new_columns_of_statement(i));
                    if new_columns.contains(column.as_str()) {
                        continue;
                    }
                    if s.alter.only {
                        out.diagnose(RULE, op.span.start, not_null::not_on_only(table));
                        continue;
                    }
                    if not_null::holds_rows(ctx, (i, n_op), table, column, row_types) {
                        out.diagnose(RULE, op.span.start, not_null::not_on_rows(table, column));
                        out.add_fact(i, not_null::rows_fact(table, column));
                        continue;
                    }
                    let name = not_null::recipe(ctx, out, i, k, table, column, RULE);
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
                // What makes a column's proof stale: its NOT NULL dropped, or another column under
                // its name (a primary key's recipe would trust the proof, and its SET NOT NULL scan
                // the table under ACCESS EXCLUSIVE).
                OpKind::AlterTable { table, action, .. } if s.section == Section::Up => {
                    let columns = match action {
                        Action::AlterColumn { column, change: ColumnChange::DropNotNull } => [Some(column), None],
                        Action::DropColumn { column, .. } => [Some(column), None],
                        Action::RenameColumn { from, to } => [Some(from), Some(to)],
                        _ => [None, None],
                    };
                    for column in columns.into_iter().flatten() {
                        out.make_stale(not_null::fact(table, &column.key), i);
                    }
                    // Another table under the name, or this one under another: none of its proofs
                    // holds for the name any more.
                    let tables = match action {
                        Action::RenameTable { to } => [Some(table), Some(to)],
                        Action::SetSchema { .. } => [Some(table), None],
                        _ => [None, None],
                    };
                    for t in tables.into_iter().flatten() {
                        out.make_stale(not_null::fact(t, ""), i);
                    }
                }
                OpKind::DropTable { tables, .. } if s.section == Section::Up => {
                    for t in tables {
                        out.make_stale(not_null::fact(t, ""), i);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::{compile, Config};

    #[test]
    fn a_proof_the_draft_rolls_back_proves_nothing() {
        let rewritten = |draft: String| {
            compile("d.sql", &draft, &Config::default()).unwrap().changes.iter().any(|c| c.rule == RULE)
        };
        let add = "ALTER TABLE orders ADD CONSTRAINT nn CHECK (status IS NOT NULL) NOT VALID;\n";
        let validate = "ALTER TABLE orders VALIDATE CONSTRAINT nn;\n";
        let set = "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n";
        assert!(!rewritten(format!("{add}{validate}{set}")));
        assert!(!rewritten(format!("BEGIN;\n{add}{validate}COMMIT;\n{set}")));
        assert!(rewritten(format!("BEGIN;\n{add}{validate}ROLLBACK;\n{set}")));
        assert!(rewritten(format!("BEGIN;\nSAVEPOINT s;\n{add}{validate}ROLLBACK TO SAVEPOINT s;\nCOMMIT;\n{set}")));
        assert!(!rewritten(format!("BEGIN;\nSAVEPOINT s;\n{add}{validate}RELEASE SAVEPOINT s;\nCOMMIT;\n{set}")));
        // A rollback to a savepoint set after the check was added keeps the check, which the
        // draft then validates.
        assert!(!rewritten(format!(
            "BEGIN;\n{add}SAVEPOINT s;\nSELECT 1;\nROLLBACK TO SAVEPOINT s;\n{validate}COMMIT;\n{set}"
        )));
        // …and one set between the two undoes the validation only.
        assert!(rewritten(format!("BEGIN;\n{add}SAVEPOINT s;\n{validate}ROLLBACK TO SAVEPOINT s;\nCOMMIT;\n{set}")));
        // A psql branch may not run: what it proved proves nothing after it (a statement inside
        // the block is kept as written: no rule but the timeouts rewrites it there).
        assert!(rewritten(format!("\\if :a\n{add}{validate}\\endif\n{set}")));
        assert!(rewritten(format!("\\if :a\nSELECT 1;\n\\else\n{add}{validate}\\endif\n{set}")));
        assert!(rewritten(format!("{add}\\if :a\n{validate}\\endif\n{set}")));
    }
}
