//! A draft setting the planner repeats at the top of every later step can hold where a rule would
//! put a statement in a step that must run alone, outside any transaction block (a concurrent
//! build, a loop that commits its batches). Where the runner sends a file as one query (sqlx
//! `-- no-transaction`, dbmate `transaction:false`, golang-migrate, Prisma, diesel,
//! graphile-migrate), that step cannot repeat it: a second statement makes the query a
//! transaction block, which the step refuses, and the plan failed (exit 2) where the draft
//! succeeds. So while such a setting holds, the rules whose rewrite runs alone do not apply: the
//! statement stays as written, in a transaction step that repeats the setting, as the draft runs
//! it with the setting in force. Two settings hold so:
//!
//! - a `SET LOCAL` in the transaction the migration tool runs the file in
//!   ([`crate::Config::runner_transaction`]), to that transaction's end (under any tool's
//!   transaction: which runner sends one query is not known from the markers alone);
//! - a session `SET` under a runner that sends a step as one query
//!   ([`crate::Config::one_query_steps`]), to the end of the draft.
//!
//! The timeouts are pgsafe's own to set, and are not held.

use super::{
    backfill, concurrent_drop_index, concurrent_index, concurrent_reindex, partitions, transactions,
    unique_using_index, volatile_default,
};
use crate::ir::migration::{Migration, Section};
use crate::ir::op::{OpKind, Psql};

/// A draft setting in force at a statement, which every later step repeats.
#[derive(Debug, Clone)]
pub struct Held {
    pub name: String,
    /// A `SET LOCAL` (to its transaction's end), not a session `SET` (to the draft's end).
    pub local: bool,
}

/// Per statement: the draft setting (not a timeout) in force there that a step running alone
/// could not repeat, if any; empty when the draft has none.
pub fn held(m: &Migration<'_>, one_query_steps: bool) -> Vec<Option<Held>> {
    let held_from = |o: &OpKind| match o {
        OpKind::Set { name, local, .. }
            if !transactions::TIMEOUTS.contains(&name.as_str())
                && if *local { m.runner_transaction } else { one_query_steps } =>
        {
            Some(Held { name: name.clone(), local: *local })
        }
        _ => None,
    };
    let up = |s: &crate::ir::migration::Stmt| s.section == Section::Up;
    if !m.stmts.iter().filter(|s| up(s)).flat_map(|s| &s.ops).any(|o| held_from(&o.kind).is_some()) {
        return Vec::new();
    }
    let (mut local, mut session, mut branches): (Option<Held>, Option<Held>, usize) = (None, None, 0);
    let mut out = Vec::with_capacity(m.stmts.len());
    for s in &m.stmts {
        out.push(local.clone().or_else(|| session.clone()));
        if !up(s) {
            continue;
        }
        for op in &s.ops {
            match (&op.kind, held_from(&op.kind)) {
                (_, Some(h)) if h.local => local = local.or(Some(h)),
                // A session setting holds to the draft's end (one a rollback undoes holds on too,
                // which only keeps more as written).
                (_, Some(h)) => session = session.or(Some(h)),
                // A `COMMIT` or `ROLLBACK` ends the transaction and its settings (one a psql `\if`
                // may skip may not: they hold on, which only keeps more as written).
                (OpKind::Commit { .. }, None) if branches == 0 => local = None,
                (OpKind::Psql(Psql::If), None) => branches += 1,
                (OpKind::Psql(Psql::EndIf), None) => branches = branches.saturating_sub(1),
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
