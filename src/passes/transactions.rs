//! `transactions`: the plan owns transaction boundaries.
//!
//! - The draft's own `BEGIN`/`COMMIT` are consumed (their comments are kept); each becomes a step
//!   boundary, so statements the draft grouped stay grouped unless a rewrite must split them.
//! - Statements PostgreSQL refuses inside a transaction block (`VACUUM`, `CREATE DATABASE`, …) move
//!   to autocommit steps of their own.
//! - `ALTER TYPE … ADD VALUE` ends its step: the new value cannot be used until that commits.
//! - A `VALIDATE CONSTRAINT` in the same transaction as its `NOT VALID` add moves to a later one.

use super::{Ctx, Mode, Phase, Rewritten};
use crate::ir::op::OpKind;

pub const RULE: &str = "transactions";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    let mut in_tx = false;
    // Constraints added NOT VALID in the current draft transaction.
    let mut not_valid_here: Vec<String> = Vec::new();
    for (i, s) in m.stmts.iter().enumerate() {
        for op in &s.ops {
            match &op.kind {
                OpKind::Begin => {
                    out.units[i].mode = Mode::Control;
                    in_tx = true;
                    not_valid_here.clear();
                }
                OpKind::Commit { rollback } => {
                    out.units[i].mode = Mode::Control;
                    if *rollback && in_tx && ctx.applies(RULE, i) {
                        out.diagnose(
                            RULE,
                            s.body.start,
                            "the draft rolls its transaction back: the plan's step ends in ROLLBACK too, but a step split off from that transaction (a CONCURRENTLY build) commits on its own".into(),
                        );
                    }
                    in_tx = false;
                }
                OpKind::NoTransaction { what } => {
                    out.units[i].mode = Mode::Autocommit;
                    if in_tx && ctx.applies(RULE, i) {
                        out.units[i].rules.push(RULE);
                        out.change(
                            RULE,
                            s.body.start,
                            format!("move {what} out of the draft's transaction: PostgreSQL refuses it inside a transaction block"),
                        );
                    }
                }
                OpKind::CreateIndex { concurrently: true, .. }
                | OpKind::DropIndex { concurrently: true, .. }
                | OpKind::Reindex { concurrently: true, .. }
                    if in_tx && ctx.applies(RULE, i) =>
                {
                    out.units[i].mode = Mode::Autocommit;
                    out.units[i].rules.push(RULE);
                    out.change(
                        RULE,
                        s.body.start,
                        "move this CONCURRENTLY statement out of the draft's transaction: PostgreSQL refuses it inside a transaction block".into(),
                    );
                }
                OpKind::AddEnumValue { type_name } => {
                    out.units[i].ends_step = true;
                    let used_later_in_tx = in_tx
                        && m.stmts[i + 1..]
                            .iter()
                            .take_while(|n| !n.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. })))
                            .any(|n| !n.is_trivia());
                    if used_later_in_tx && ctx.applies(RULE, i) {
                        out.units[i].rules.push(RULE);
                        out.change(
                            RULE,
                            s.body.start,
                            format!(
                                "commit the new value of {} before the rest of the draft's transaction: a new enum value cannot be used in the transaction that adds it",
                                type_name.text
                            ),
                        );
                    }
                }
                OpKind::AddConstraint { name: Some(name), not_valid: true, .. } if in_tx => {
                    not_valid_here.push(name.to_lowercase());
                }
                OpKind::ValidateConstraint { name, .. }
                    if in_tx && not_valid_here.contains(&name.to_lowercase()) && ctx.applies(RULE, i) =>
                {
                    let unit = &mut out.units[i];
                    unit.phase = Phase::Validate;
                    unit.rules.push(RULE);
                    out.change(
                        RULE,
                        s.body.start,
                        format!("validate {name} in a later transaction than the one that adds it NOT VALID, so the scan holds no strong lock"),
                    );
                }
                _ => {}
            }
        }
    }
}
