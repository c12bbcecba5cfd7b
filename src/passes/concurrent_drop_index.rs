//! `concurrent-drop-index`: `DROP INDEX` → `DROP INDEX CONCURRENTLY` in an autocommit step.
//!
//! Why: a plain drop takes ACCESS EXCLUSIVE on the index's table, blocking reads and writes while it
//! waits in the lock queue. The concurrent form takes SHARE UPDATE EXCLUSIVE. PostgreSQL allows it for
//! one index per statement and without `CASCADE`; those cases get a diagnostic instead.

use super::{add_concurrently, Ctx, Rewritten};
use std::collections::HashMap;

use crate::ir::migration::{Section, Stmt};
use crate::ir::name::Name;
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-drop-index";

/// `built`: the indexes of the statements before the window.
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, built: &mut BuiltIndexes) {
    for (i, s) in ctx.stmts() {
        drop_index(ctx, out, built, i);
        if s.section == Section::Up {
            built.record(s);
        }
    }
}

fn drop_index(ctx: &Ctx<'_, '_>, out: &mut Rewritten, built: &BuiltIndexes, i: usize) {
    let s = &ctx.m.stmts[i];
    let [op] = s.ops.as_slice() else { return };
    let OpKind::DropIndex { names, concurrently, cascade, insert_at } = &op.kind else {
        return;
    };
    // The drop locks the index's table: when the draft built the index, that table is known
    // (and may be live, though the index is new); the timeouts then see the real lock.
    let tables: Vec<Name> = names.iter().map(|n| built.table_of(n).unwrap_or_else(|| n.clone())).collect();
    for (lock, table) in out.units[i].locks.iter_mut().zip(&tables) {
        lock.table = table.clone();
    }
    if !ctx.applies(RULE, i) || *concurrently || tables.iter().all(|t| ctx.quiet(t, i)) {
        return;
    }
    if names.len() > 1 || *cascade {
        out.diagnose(
            RULE,
            s.body.start,
            "DROP INDEX takes ACCESS EXCLUSIVE on the table; DROP INDEX CONCURRENTLY allows one index and no CASCADE: \
             write one DROP INDEX CONCURRENTLY per index"
                .into(),
        );
        return;
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

/// The indexes earlier statements of the draft built, by base name (a map, so a draft of many
/// statements costs one lookup per dropped index, not a scan of everything before it).
#[derive(Default)]
pub struct BuiltIndexes {
    by_base: HashMap<String, Vec<(Name, Name)>>,
}

impl BuiltIndexes {
    fn record(&mut self, s: &Stmt) {
        for o in &s.ops {
            if let OpKind::CreateIndex { name: Some(n), table, .. } = &o.kind {
                self.by_base.entry(n.base().to_string()).or_default().push((n.clone(), table.clone()));
            }
        }
    }

    /// The table of index `name` when an earlier statement built it (the latest such).
    fn table_of(&self, name: &Name) -> Option<Name> {
        let built = self.by_base.get(name.base())?;
        built.iter().rev().find(|(n, _)| n.same(name)).map(|(_, table)| table.clone())
    }
}
