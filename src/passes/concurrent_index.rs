//! `concurrent-index`: `CREATE [UNIQUE] INDEX` on a table with traffic → `CREATE INDEX CONCURRENTLY`
//! in an autocommit step of its own.
//!
//! Why: a plain build holds SHARE on the table for the whole build, blocking every write; the
//! concurrent build holds SHARE UPDATE EXCLUSIVE, which blocks no reads or writes. It cannot run in a
//! transaction block, so the planner gives it its own step. No short `lock_timeout` there: the build
//! waits for older transactions, and a timeout would leave an INVALID index behind.

use super::{add_concurrently, Ctx, Leftover, Rewritten};
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-index";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.stmts() {
        let [op] = s.ops.as_slice() else { continue };
        let OpKind::CreateIndex { table, unique, concurrently, only, insert_at, name, if_not_exists, .. } = &op.kind
        else {
            continue;
        };
        if !ctx.applies(RULE, i) {
            continue;
        }
        if *concurrently {
            continue;
        }
        if ctx.quiet(table, i) {
            continue;
        }
        if *only {
            out.diagnose(
                RULE,
                s.body.start,
                format!(
                    "`ON ONLY {}` builds an invalid index on a partitioned parent: build the index on each partition \
                     with CREATE INDEX CONCURRENTLY, then ALTER INDEX … ATTACH PARTITION each one",
                    table.text
                ),
            );
            continue;
        }
        // PostgreSQL cannot build an index on a partitioned table CONCURRENTLY: `partitions` says how.
        if ctx.before(i, 0).is_partitioned() {
            continue;
        }
        let index = name.as_ref().map_or("the index".to_string(), |n| n.text.to_string());
        add_concurrently(
            ctx,
            out,
            i,
            *insert_at,
            RULE,
            format!(
                "build {index} CONCURRENTLY in its own step: a plain CREATE INDEX holds SHARE on {} and blocks all writes for the whole build{}",
                table.text,
                match (if_not_exists, name) {
                    (true, None) => " (if a build fails, IF NOT EXISTS keeps its INVALID index on a rerun: drop it first; `pgsafe apply` does)",
                    _ => "",
                }
            ),
        );
        // Its step drops what a failed run of it left (or, unnamed, says how to find it).
        let index = name.as_ref().map(|n| n.text.as_ref().into());
        out.leftovers.insert(i, Leftover { index, table: table.clone(), unique: *unique });
    }
}
