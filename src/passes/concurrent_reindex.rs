//! `concurrent-reindex`: `REINDEX` → `REINDEX … CONCURRENTLY` (PostgreSQL 12+) in an autocommit step.
//!
//! Why: a plain REINDEX holds SHARE on the table and ACCESS EXCLUSIVE on each index, and the planner
//! opens every index of a table, so even SELECTs wait (measured on PostgreSQL 15).

use super::{add_concurrently, Ctx, Mode, Rewritten};
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-reindex";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.stmts() {
        let [op] = s.ops.as_slice() else { continue };
        let OpKind::Reindex { target, name, concurrently, insert_at } = &op.kind else {
            continue;
        };
        if !ctx.applies(RULE, i) {
            continue;
        }
        if *concurrently {
            continue;
        }
        if target != "INDEX" && target != "TABLE" {
            // REINDEX SCHEMA/DATABASE/SYSTEM refuse to run inside a transaction block.
            out.units[i].mode = Mode::Autocommit;
        }
        if target == "SYSTEM" || ctx.quiet(name, i) {
            continue;
        }
        if ctx.config.pg_version < 12 {
            out.diagnose(
                RULE,
                s.body.start,
                "REINDEX blocks reads and writes; REINDEX CONCURRENTLY needs PostgreSQL 12+".into(),
            );
            continue;
        }
        add_concurrently(
            ctx,
            out,
            i,
            *insert_at,
            RULE,
            format!(
                "reindex {} CONCURRENTLY in its own step: a plain REINDEX takes ACCESS EXCLUSIVE on the indexes and blocks even reads",
                name.text
            ),
        );
    }
}
