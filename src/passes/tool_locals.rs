//! A draft's `SET LOCAL` in the transaction its migration tool runs the file in (sqlx, dbmate, …:
//! [`crate::Config::runner_transaction`]) holds to that transaction's end, and the planner repeats
//! it at the top of every later step. A step that must run alone, outside any transaction block (a
//! concurrent build, a loop that commits its batches), cannot repeat it where the runner sends a
//! file as one query (sqlx `-- no-transaction`, dbmate `transaction:false`): a second statement
//! makes the query a transaction block, which the step refuses, and the plan failed (exit 2) where
//! the draft succeeds. So while such a setting holds, the rules whose rewrite runs alone do not
//! apply: the statement stays as written, in a transaction step that repeats the setting, as the
//! draft runs it with the setting in force. (Which runner sends one query is not known here: the
//! rule holds under any tool's transaction.)

use super::{
    backfill, concurrent_drop_index, concurrent_index, concurrent_reindex, partitions, transactions,
    unique_using_index, volatile_default,
};
use crate::ir::migration::{Migration, Section};
use crate::ir::op::{OpKind, Psql};

/// Per statement: the name of a draft `SET LOCAL` (not a timeout) in force there in the tool's
/// transaction, if any; empty when the draft has none (or runs in no tool's transaction).
pub fn held(m: &Migration<'_>) -> Vec<Option<String>> {
    fn local(o: &OpKind) -> Option<&String> {
        match o {
            OpKind::Set { name, local: true, .. } if !transactions::TIMEOUTS.contains(&name.as_str()) => Some(name),
            _ => None,
        }
    }
    let up = |s: &crate::ir::migration::Stmt| s.section == Section::Up;
    if !m.runner_transaction || !m.stmts.iter().filter(|s| up(s)).flat_map(|s| &s.ops).any(|o| local(&o.kind).is_some())
    {
        return Vec::new();
    }
    let (mut in_force, mut branches): (Option<String>, usize) = (None, 0);
    let mut out = Vec::with_capacity(m.stmts.len());
    for s in &m.stmts {
        out.push(in_force.clone());
        if !up(s) {
            continue;
        }
        for op in &s.ops {
            match &op.kind {
                o if local(o).is_some() => in_force = in_force.or_else(|| local(o).cloned()),
                // A `COMMIT` or `ROLLBACK` ends the transaction and its settings (one a psql `\if`
                // may skip may not: they hold on, which only keeps more as written).
                OpKind::Commit { .. } if branches == 0 => in_force = None,
                OpKind::Psql(Psql::If) => branches += 1,
                OpKind::Psql(Psql::EndIf) => branches = branches.saturating_sub(1),
                _ => {}
            }
        }
    }
    out
}

/// Does `rule`'s rewrite put work in a step that runs alone, outside any transaction block?
pub fn runs_alone(rule: &str) -> bool {
    [
        concurrent_index::RULE,
        concurrent_drop_index::RULE,
        concurrent_reindex::RULE,
        unique_using_index::RULE,
        backfill::RULE,
        volatile_default::RULE,
        partitions::RULE,
    ]
    .contains(&rule)
}
