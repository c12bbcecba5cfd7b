//! `concurrent-drop-index`: `DROP INDEX` → `DROP INDEX CONCURRENTLY` in an autocommit step.
//!
//! Why: a plain drop takes ACCESS EXCLUSIVE on the index's table, blocking reads and writes while it
//! waits in the lock queue. The concurrent form takes SHARE UPDATE EXCLUSIVE. PostgreSQL allows it for
//! one index per statement and without `CASCADE`; those cases get a diagnostic instead.

use super::{add_concurrently, Ctx, Rewritten};
use crate::ir::migration::{Migration, Section};
use crate::ir::name::Name;
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-drop-index";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.m.stmts.iter().enumerate() {
        let [op] = s.ops.as_slice() else { continue };
        let OpKind::DropIndex { names, concurrently, cascade, insert_at } = &op.kind else {
            continue;
        };
        // The drop locks the index's table: when the draft built the index, that table is known
        // (and may be live, though the index is new); the timeouts then see the real lock.
        let tables: Vec<Name> =
            names.iter().map(|n| table_of_new_index(ctx.m, n, i).unwrap_or_else(|| n.clone())).collect();
        for (lock, table) in out.units[i].locks.iter_mut().zip(&tables) {
            lock.table = table.clone();
        }
        if !ctx.applies(RULE, i) {
            continue;
        }
        if *concurrently {
            continue;
        }
        if tables.iter().all(|t| ctx.quiet(t, i)) {
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

/// The table of index `name` when an earlier statement of the draft built it.
fn table_of_new_index(m: &Migration<'_>, name: &Name, i: usize) -> Option<Name> {
    m.stmts[..i].iter().rev().filter(|s| s.section == Section::Up).flat_map(|s| s.ops.iter().rev()).find_map(|o| {
        match &o.kind {
            OpKind::CreateIndex { name: Some(n), table, .. } if n.same(name) => Some(table.clone()),
            _ => None,
        }
    })
}
