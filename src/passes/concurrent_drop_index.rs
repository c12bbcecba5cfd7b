//! `concurrent-drop-index`: `DROP INDEX` → `DROP INDEX CONCURRENTLY` in an autocommit step.
//!
//! Why: a plain drop takes ACCESS EXCLUSIVE on the index's table, blocking reads and writes while it
//! waits in the lock queue. The concurrent form takes SHARE UPDATE EXCLUSIVE. PostgreSQL allows it for
//! one index per statement and without `CASCADE`; those cases get a diagnostic instead.

use super::{add_concurrently, Ctx, Rewritten};
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-drop-index";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.m.stmts.iter().enumerate() {
        let [op] = s.ops.as_slice() else { continue };
        let OpKind::DropIndex { names, concurrently, cascade, insert_at } = &op.kind else {
            continue;
        };
        if !ctx.applies(RULE, i) {
            continue;
        }
        if *concurrently {
            continue;
        }
        if names.iter().all(|n| ctx.quiet(n, i)) {
            continue;
        }
        if names.len() > 1 || *cascade {
            out.diagnose(
                RULE,
                s.body.start,
                "DROP INDEX takes ACCESS EXCLUSIVE on the table; DROP INDEX CONCURRENTLY allows one index and no CASCADE: \
                 write one DROP INDEX CONCURRENTLY per index"
                    .into(),
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
                "drop {} CONCURRENTLY in its own step: a plain DROP INDEX takes ACCESS EXCLUSIVE on its table and blocks reads and writes",
                names[0].text
            ),
        );
    }
}
