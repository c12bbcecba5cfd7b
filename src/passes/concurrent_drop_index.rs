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
use crate::ir::savepoints::UndoLog;

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
    // `ALTER INDEX … ATTACH PARTITION` locks the partition's index likewise: every write to its
    // table waits, though the draft built the index.
    if let OpKind::AttachIndex { partition } = &op.kind {
        if let (Some(table), Some(lock)) = (built.table_of(partition), out.units[i].locks.first_mut()) {
            lock.table = table;
        }
        return;
    }
    // The other `ALTER INDEX` forms lock the index: every query that plans on its table opens it.
    // Its table where the draft built it, or the catalogue (`--schema`, the draft) knows it.
    if let OpKind::AlterIndex { index, .. } = &op.kind {
        let known = || ctx.before(i, 0).table.as_ref().map(|t| t.name.clone());
        if let (Some(table), Some(lock)) = (built.table_of(index).or_else(known), out.units[i].locks.first_mut()) {
            lock.table = table;
        }
        return;
    }
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
    // PostgreSQL cannot drop an index of a partitioned table CONCURRENTLY ("cannot drop
    // partitioned index … concurrently"): where pgsafe knows the index is one, it stays as
    // written (with the timeouts), and says so. It knows from the timeline's catalogue (an index
    // the draft built, or --schema's, through renames), from a build `ON ONLY` (a partitioned
    // parent's: the draft may show nothing else of it), or from the fact its step carries (the
    // step compiled alone no longer shows the partitions).
    let catalog = ctx.config.catalog.as_deref();
    let known_partitioned = names.len() == 1 && ctx.before(i, 0).is_partitioned();
    let on_partitioned = |(index, table): (&Name, &Name)| {
        known_partitioned
            || built.only(index)
            || ctx.m.has_fact(&partitioned_index_fact(index))
            || catalog.is_some_and(|c| {
                c.is_partitioned(table)
                    || c.indexes()
                        .any(|ix| ix.name.as_ref().is_some_and(|x| x.same(index)) && c.is_partitioned(&ix.table))
            })
    };
    if let Some((index, _)) = names.iter().zip(&tables).find(|&pair| on_partitioned(pair)) {
        out.add_fact(i, partitioned_index_fact(index));
        out.diagnose(
            RULE,
            s.body.start,
            format!(
                "{} is an index of a partitioned table, which PostgreSQL cannot drop CONCURRENTLY: the DROP INDEX runs \
                 as written, under the lock timeout (to avoid ACCESS EXCLUSIVE on the whole table, detach or drop the \
                 partitions' indexes one by one first)",
                index.text
            ),
        );
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

/// The fact (a `-- pgsafe:fact` line of the step) that `index` is a partitioned table's.
fn partitioned_index_fact(index: &Name) -> String {
    crate::ir::migration::escape_directive(&format!("partitioned-index {}", index.text))
}

/// The indexes earlier statements of the draft built, by base name (a map, so a draft of many
/// statements costs one lookup per dropped index, not a scan of everything before it), without
/// those a rollback undid (after it, an index of that name is the database's, on a table pgsafe
/// may not know).
pub struct BuiltIndexes {
    /// Each index's name, its table, and whether it was built `ON ONLY` the table.
    by_base: HashMap<String, Vec<(Name, Name, bool)>>,
    /// The base names built in the open transaction block: a rollback removes each (the last
    /// of its list).
    built_in_block: UndoLog<String>,
}

impl BuiltIndexes {
    /// `runner_transaction`: the draft's migration tool runs it in a transaction block.
    pub fn new(runner_transaction: bool) -> BuiltIndexes {
        BuiltIndexes { by_base: HashMap::new(), built_in_block: UndoLog::new(runner_transaction) }
    }

    fn record(&mut self, s: &Stmt) {
        for o in &s.ops {
            for base in self.built_in_block.follow(&o.kind) {
                self.by_base.get_mut(&base).and_then(Vec::pop);
            }
            if let OpKind::CreateIndex { name: Some(n), table, only, .. } = &o.kind {
                self.by_base.entry(n.base().to_string()).or_default().push((n.clone(), table.clone(), *only));
                self.built_in_block.record(|| n.base().to_string());
            }
        }
    }

    /// The latest index an earlier statement built as `name`: its table, and whether `ON ONLY`.
    fn latest(&self, name: &Name) -> Option<&(Name, Name, bool)> {
        self.by_base.get(name.base())?.iter().rev().find(|(n, ..)| n.same(name))
    }

    /// The table of index `name` when an earlier statement built it (the latest such).
    fn table_of(&self, name: &Name) -> Option<Name> {
        self.latest(name).map(|(_, table, _)| table.clone())
    }

    /// Did an earlier statement build index `name` `ON ONLY` its table?
    fn only(&self, name: &Name) -> bool {
        self.latest(name).is_some_and(|&(_, _, only)| only)
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::{compile, Config};

    #[test]
    fn an_index_built_in_a_rolled_back_transaction_is_not_the_one_dropped() {
        let concurrent =
            |draft: &str| compile("d.sql", draft, &Config::default()).unwrap().changes.iter().any(|c| c.rule == RULE);
        let new_table = "CREATE TABLE t (a int);\n";
        // Built on the new table, dropped there: nothing to rewrite.
        assert!(!concurrent(&format!("{new_table}BEGIN;\nCREATE INDEX i ON t (a);\nCOMMIT;\nDROP INDEX i;\n")));
        // Rolled back: the `i` dropped is the database's, on a table pgsafe does not know.
        assert!(concurrent(&format!("{new_table}BEGIN;\nCREATE INDEX i ON t (a);\nROLLBACK;\nDROP INDEX i;\n")));
        assert!(concurrent(&format!(
            "{new_table}BEGIN;\nSAVEPOINT s;\nCREATE INDEX i ON t (a);\nROLLBACK TO SAVEPOINT s;\nCOMMIT;\nDROP INDEX i;\n"
        )));
        // Built in a psql branch, which may not run: the same.
        assert!(concurrent(&format!("{new_table}\\if :a\nCREATE INDEX i ON t (a);\n\\endif\nDROP INDEX i;\n")));
    }

    #[test]
    fn attaching_an_index_the_draft_built_waits_under_a_lock_timeout_on_its_table() {
        // The partition's index is new, its table is not: every write to it opens the index,
        // which the attach locks ACCESS EXCLUSIVE (it was not understood, and got no timeout).
        let draft = "CREATE INDEX e_kind ON ONLY events (kind);\nCREATE INDEX e24_kind ON events_2024 (kind);\n\
                     ALTER INDEX e_kind ATTACH PARTITION e24_kind;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let attach = c.steps().find(|f| f.body().contains("ATTACH PARTITION")).unwrap();
        assert!(attach.body().contains("lock_timeout"), "{}", attach.body());
        let why = c.changes.iter().find(|ch| ch.rule == "timeouts" && draft[ch.at..].starts_with("ALTER INDEX"));
        assert!(why.is_some_and(|w| w.message.contains("ACCESS EXCLUSIVE on events_2024")), "{:?}", c.changes);
        assert!(!c.not_understood());
    }

    #[test]
    fn altering_an_index_locks_its_table_where_the_draft_or_the_schema_shows_it() {
        let schema = "CREATE TABLE orders (id int, status text);\nCREATE INDEX orders_status ON orders (status);\n";
        let catalog = Some(std::sync::Arc::new(crate::ir::catalog::Catalog::from_sql(schema)));
        let with_schema = Config { catalog, ..Config::default() };
        let timeouts_on = |draft: &str, config: &Config| {
            let c = compile("d.sql", draft, config).unwrap();
            assert!(!c.not_understood(), "{draft}");
            let why = c.changes.iter().find(|ch| ch.rule == "timeouts" && draft[ch.at..].starts_with("ALTER INDEX"));
            why.map(|w| w.message.clone()).unwrap_or_default()
        };
        // ACCESS EXCLUSIVE on the index: every read and write of its table waits.
        for action in ["SET TABLESPACE fast", "SET (fastupdate = off)", "DEPENDS ON EXTENSION pg_trgm"] {
            let draft = format!("ALTER INDEX orders_status {action};\n");
            assert!(timeouts_on(&draft, &with_schema).contains("ACCESS EXCLUSIVE on orders"), "{draft}");
            assert!(timeouts_on(&draft, &Config::default()).contains("ACCESS EXCLUSIVE on orders_status"), "{draft}");
            let built = format!("CREATE INDEX CONCURRENTLY orders_status ON orders (status);\n{draft}");
            assert!(timeouts_on(&built, &Config::default()).contains("ACCESS EXCLUSIVE on orders"), "{built}");
            // A new table's index: nothing waits.
            let new = format!("CREATE TABLE t (status text);\nCREATE INDEX orders_status ON t (status);\n{draft}");
            assert_eq!(timeouts_on(&new, &Config::default()), "", "{new}");
        }
        // SHARE UPDATE EXCLUSIVE blocks no read or write: the statement stays as written.
        for action in ["SET (fillfactor = 70)", "RESET (fillfactor)", "ALTER COLUMN 1 SET STATISTICS 100"] {
            let draft = format!("ALTER INDEX orders_status {action};\n");
            assert_eq!(timeouts_on(&draft, &with_schema), "", "{draft}");
            assert!(!compile("d.sql", &draft, &with_schema).unwrap().changed(), "{draft}");
        }
    }
}
