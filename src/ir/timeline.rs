//! The catalogue timeline: what the database looks like before each op of the draft, built once
//! per compile from the typed ops (`--schema` first, then the draft's statements in order), so a
//! pass asks "what did the table look like here?" without replaying anything.
//!
//! A snapshot is the op's table as an `Arc`: ops that do not change a table share it, so building
//! the timeline is linear in the number of ops (a table is copied only when an op changes it).
//!
//! The snapshots cover a window of statements at a time ([`Timeline::window`]): the passes run
//! window by window, and a table version held by a snapshot is freed with its window. Memory then
//! stays that of the catalogue and a window or two, however long the draft (every version of a 1M
//! statement draft at once was a third of the compile's memory). A [`Window`] owns its snapshots,
//! so the timeline builds the next one on another thread while the passes read this one.
//!
//! What the draft shows about tables that exist before it is known from its first statement on:
//! a `PARTITION OF parent`, or an `ATTACH`/`DETACH PARTITION` on a table, makes that table
//! partitioned in the base catalogue even without `--schema`, as does a `-- pgsafe:fact
//! partitioned t` line of a plan step pgsafe wrote.

use super::action::Action;
use super::catalog::{Catalog, Evidence, ForeignKey, Holder, Table};
use super::migration::{Migration, Section};
use super::name::Name;
use super::op::{ConstraintKind, OpKind};
use super::savepoints::Savepoints;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

/// Walks the draft's statements in order, keeping the catalogue after the last window it gave.
#[derive(Debug)]
pub struct Timeline {
    /// The catalogue after the last window (after the last, after the draft).
    now: Catalog,
    /// Where the next window starts.
    next: usize,
    /// The draft's transaction blocks and savepoints as the walk meets them.
    blocks: Blocks,
    /// The ops a later rollback returns to (see [`Blocks`]), and the catalogue saved at each one
    /// the walk has passed.
    returned_to: HashSet<OpAt>,
    saved: HashMap<OpAt, Catalog>,
}

/// An op of the draft: its statement and its place in the statement.
type OpAt = (usize, usize);

/// The draft's transaction blocks and savepoints, followed as PostgreSQL runs them, to know what
/// a rollback undoes: a `ROLLBACK` returns the catalogue to the block's `BEGIN`, a `ROLLBACK TO
/// SAVEPOINT` to its `SAVEPOINT`. (A constraint the draft added and rolled back does not exist
/// after it, and its name is free again: a generated draft found a primary key named `…_pkey1`
/// because its first `ADD PRIMARY KEY`, undone by a savepoint, still held `…_pkey`.) The walk
/// runs twice: once over the whole draft to find the ops a rollback returns to, so the catalogue
/// is saved only there (a draft that commits what it does saves nothing), then with the timeline.
#[derive(Debug, Default)]
struct Blocks {
    /// Inside a transaction block: the draft's own, or the one its migration tool runs it in.
    in_block: bool,
    /// The draft's `BEGIN` that opened the block.
    begin: Option<OpAt>,
    /// The savepoints in force, each with the op that set it.
    savepoints: Savepoints<OpAt>,
}

impl Blocks {
    fn new(m: &Migration<'_>) -> Blocks {
        Blocks { in_block: m.runner_transaction, ..Blocks::default() }
    }

    /// Op `at` runs: the op whose catalogue it returns to, when it rolls back to one; `ended`
    /// when it ends the block (what was saved for it is no longer needed).
    fn run(&mut self, at: OpAt, kind: &OpKind) -> (Option<OpAt>, bool) {
        match kind {
            OpKind::Begin if !self.in_block => {
                (self.in_block, self.begin) = (true, Some(at));
                self.savepoints.clear();
            }
            OpKind::Commit { rollback } => {
                let to = if *rollback { self.begin } else { None };
                (self.in_block, self.begin) = (false, None);
                self.savepoints.clear();
                return (to, true);
            }
            OpKind::Savepoint { name, action } if self.in_block => {
                return (self.savepoints.run(name, *action, || at), false);
            }
            _ => {}
        }
        (None, false)
    }

    /// The ops of the draft's up section some rollback returns to.
    fn returned_to(m: &Migration<'_>) -> HashSet<OpAt> {
        let mut blocks = Blocks::new(m);
        let mut found = HashSet::default();
        for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
            for (k, op) in s.ops.iter().enumerate().filter(|(_, o)| is_control(&o.kind)) {
                found.extend(blocks.run((i, k), &op.kind).0);
            }
        }
        found
    }
}

/// Does the op open, end or mark a point of a transaction block?
fn is_control(kind: &OpKind) -> bool {
    matches!(kind, OpKind::Begin | OpKind::Commit { .. } | OpKind::Savepoint { .. })
}

/// The catalogue's view before each op of a window of statements.
#[derive(Debug, Default)]
pub struct Window {
    /// The first statement of the window.
    first: usize,
    /// Per statement of the window, per op: the catalogue's view just before the op.
    before: Vec<Vec<Before>>,
}

/// What the catalogue knows just before one op.
#[derive(Debug, Clone, Default)]
pub struct Before {
    /// The op's own table (the one it creates an index on, alters, updates …); for `CREATE TABLE
    /// … PARTITION OF parent FOR VALUES …`, which creates its table, the parent; for `DROP INDEX`
    /// of one index, `REINDEX INDEX` and `ALTER INDEX`, the index's table, where the catalogue
    /// knows it.
    pub table: Option<Arc<Table>>,
    /// Its slot in the catalogue, for what a later catalogue knows of all its versions so far
    /// ([`Catalog::may_key`]).
    pub slot: Option<usize>,
    /// For an index or a foreign key on a partitioned table: the partitions the `partitions` rule
    /// names (boxed: most ops have none, and a `Before` is kept for every op).
    partitions: Option<Box<Partitions>>,
    /// For a new bound (`ATTACH`, `CREATE TABLE … PARTITION OF`) or a `DETACH`: the parent's
    /// default partition, which the op locks.
    default_partition: Option<Arc<Table>>,
    /// For `DROP TABLE`: the foreign keys of other tables that reference the dropped tables.
    pub referencing: Vec<ForeignKey>,
    /// For `DROP COLUMN`: could an index or foreign key of the table, in any of its versions so
    /// far, name the column ([`Catalog::may_key`])? `false` proves none does, so the pass skips
    /// the scan of the table's lists.
    pub column_keyed: bool,
    /// For an unnamed primary key or unique constraint: PostgreSQL's first choices of its name,
    /// each with whether another relation of the schema holds it (boxed: most ops have none).
    pub names_elsewhere: Option<Box<[(String, Holder)]>>,
    /// For `REINDEX INDEX`: the index is an exclusion constraint's, and how pgsafe knows.
    pub reindexes_exclusion: Option<Evidence>,
    /// For `ADD COLUMN … DEFAULT` of a volatile default: a table that inherits from the table and
    /// has the column already (`true`), or may have it (`false`: its columns are not known)
    /// ([`Catalog::heir_with_column`]; boxed: most ops have none).
    pub heir_with_column: Option<Box<(Name, bool)>>,
}

impl Before {
    /// How many of PostgreSQL's choices for an unnamed key's name are looked up: a table with more
    /// keys of the same columns than that is not met.
    const CHOICES: usize = 16;

    /// Whether another relation of the schema holds `choice`, one of PostgreSQL's choices for
    /// the op's unnamed key; `None` when that choice was not looked up.
    pub fn held_elsewhere(&self, choice: &str) -> Option<Holder> {
        self.names_elsewhere.as_ref()?.iter().find(|(c, _)| c == choice).map(|&(_, h)| h)
    }
}

/// A partitioned table's partitions as the recipes name them: the first few (in the order they
/// were recorded) and how many there are. Not the list: a parent of thousands of partitions would
/// copy it into every op on it.
#[derive(Debug, Clone, Default)]
pub struct Partitions {
    pub first: Vec<Arc<Table>>,
    pub count: usize,
}

impl Partitions {
    /// How many partitions a recipe names one by one.
    pub const NAMED: usize = 3;
}

static NO_PARTITIONS: Partitions = Partitions { first: Vec::new(), count: 0 };

impl Before {
    pub fn is_partitioned(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.is_partitioned())
    }

    pub fn partitions(&self) -> &Partitions {
        self.partitions.as_deref().unwrap_or(&NO_PARTITIONS)
    }

    pub fn default_partition(&self) -> Option<&Table> {
        self.default_partition.as_deref()
    }
}

/// The table an op is about, whose state passes ask for.
pub fn main_table(kind: &OpKind) -> Option<&Name> {
    match kind {
        OpKind::CreateIndex { table, .. }
        | OpKind::AddConstraint { table, .. }
        | OpKind::AddColumn { table, .. }
        | OpKind::ValidateConstraint { table, .. }
        | OpKind::SetNotNull { table, .. }
        | OpKind::AlterTable { table, .. } => Some(table),
        OpKind::Update(d) | OpKind::Delete(d) => Some(&d.table),
        OpKind::DropTable { tables, .. } | OpKind::Truncate { tables, .. } => tables.first(),
        _ => None,
    }
}

impl Timeline {
    /// Start before the first statement of `m`: `base` (the `--schema`, if any), and what the
    /// draft shows of the tables it does not create.
    pub fn new(m: &Migration<'_>, base: Option<&Catalog>) -> Timeline {
        let mut now = base.cloned().unwrap_or_default();
        for name in partitioned_by_the_draft(m) {
            now.mark_partitioned(name);
        }
        for name in m.partitioned_by_facts() {
            now.mark_partitioned(&name);
        }
        for name in m.names_taken_by_facts() {
            now.declare(&name);
        }
        now.begin_draft();
        let returned_to = Blocks::returned_to(m);
        Timeline { now, next: 0, blocks: Blocks::new(m), returned_to, saved: HashMap::default() }
    }

    /// The snapshots of every op in `window`, which starts where the last one ended; the
    /// catalogue moves past it.
    pub fn window(&mut self, m: &Migration<'_>, window: std::ops::Range<usize>) -> Window {
        debug_assert_eq!(window.start, self.next, "windows follow each other");
        self.next = window.end;
        let mut before = Vec::with_capacity(window.len());
        let first = window.start;
        for (i, s) in m.stmts[window].iter().enumerate().map(|(k, s)| (first + k, s)) {
            self.now.resolve_through(m.search_path_at(i));
            if s.section == Section::Up {
                m.declared_by(i).for_each(|n| self.now.declare(n));
            }
            let mut ops = Vec::with_capacity(s.ops.len());
            for (k, op) in s.ops.iter().enumerate() {
                ops.push(snapshot(&self.now, &op.kind));
                if s.section == Section::Up {
                    self.now.apply(op);
                    if !self.returned_to.is_empty() && is_control(&op.kind) {
                        self.roll_back((i, k), &op.kind);
                    }
                }
            }
            before.push(ops);
        }
        Window { first, before }
    }

    /// Follow transaction control op `at`: save the catalogue where a later rollback returns,
    /// put it back where the draft rolls back.
    fn roll_back(&mut self, at: OpAt, kind: &OpKind) {
        if self.returned_to.contains(&at) {
            self.saved.insert(at, self.now.clone());
        }
        let (to, ended) = self.blocks.run(at, kind);
        if let Some(saved) = to.and_then(|to| self.saved.get(&to)) {
            self.now = saved.clone();
        }
        if ended {
            self.saved.clear();
        }
    }

    /// The catalogue after the last window (after the last of the draft, after the draft), the
    /// timeline done with.
    pub fn into_catalog(self) -> Catalog {
        self.now
    }
}

impl Window {
    /// The statements of the window.
    pub fn statements(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.before.len()
    }

    /// The catalogue's view just before op `k` of statement `i`, which is in the window.
    pub fn before(&self, i: usize, k: usize) -> &Before {
        static NONE: Before = Before {
            table: None,
            slot: None,
            partitions: None,
            default_partition: None,
            referencing: Vec::new(),
            column_keyed: false,
            names_elsewhere: None,
            reindexes_exclusion: None,
            heir_with_column: None,
        };
        debug_assert!(self.statements().contains(&i), "statement {i} is not in the window");
        i.checked_sub(self.first).and_then(|i| self.before.get(i)).and_then(|ops| ops.get(k)).unwrap_or(&NONE)
    }
}

fn snapshot(cat: &Catalog, kind: &OpKind) -> Before {
    // An index's own statements: the table that has it (whether it is partitioned, and live).
    let index_table = |index: &Name| cat.index_table(index).unzip();
    match kind {
        OpKind::Reindex { target, name, .. } if target == "INDEX" => {
            let (slot, table) = index_table(name);
            return Before { reindexes_exclusion: cat.exclusion_index(name), slot, table, ..Before::default() };
        }
        OpKind::Reindex { .. } => return Before::default(),
        OpKind::DropIndex { names, .. } if names.len() == 1 => {
            let (slot, table) = index_table(&names[0]);
            return Before { slot, table, ..Before::default() };
        }
        OpKind::AlterIndex { index, .. } => {
            let (slot, table) = index_table(index);
            return Before { slot, table, ..Before::default() };
        }
        _ => {}
    }
    // A new partition with a bound: its parent, whose default partition PostgreSQL scans for the
    // bound's rows (the `partitions` pass records that lock).
    let new_partition = match kind {
        OpKind::CreateTable { def, .. } if !def.default_partition => def.partition_of.as_ref(),
        _ => None,
    };
    let Some(name) = main_table(kind).or(new_partition) else { return Before::default() };
    let (slot, table) = cat.table_in_slot(name).unzip();
    let partitioned = table.as_ref().filter(|t| t.is_partitioned());
    // Only the ops whose recipes name partitions (a walk of all of them).
    let named = matches!(
        kind,
        OpKind::CreateIndex { .. } | OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { .. }, .. }
    );
    let partitions = partitioned.filter(|_| named).map(|t| {
        let all = cat.partitions(&t.name);
        let first = all.iter().take(Partitions::NAMED).filter_map(|p| cat.table_arc(&p.name)).collect();
        Box::new(Partitions { first, count: all.len() })
    });
    let bound = new_partition.is_some()
        || matches!(
            kind,
            OpKind::AlterTable { action: Action::AttachPartition { .. } | Action::DetachPartition { .. }, .. }
        );
    let default_partition =
        partitioned.filter(|_| bound).and_then(|t| cat.default_partition(&t.name)).and_then(|p| cat.table_arc(&p.name));
    let referencing = match kind {
        OpKind::DropTable { tables, .. } => {
            let tables: Vec<&Name> = tables.iter().collect();
            cat.foreign_keys_to(&tables).into_iter().cloned().collect()
        }
        _ => Vec::new(),
    };
    let column_keyed = match (kind, slot) {
        (OpKind::AlterTable { action: Action::DropColumn { column, .. }, .. }, Some(s)) => cat.may_key(s, &column.key),
        _ => true,
    };
    let unnamed_key = match kind {
        OpKind::AddConstraint { table, name, kind, .. } => {
            super::name::unnamed_key_parts(table, name.as_deref(), kind).map(|parts| (table, parts))
        }
        OpKind::AddColumn { table, column, unique: Some(u), .. } if u.constraint_name.is_none() => {
            Some((table, super::name::key_parts(table, false, &[Some(column.clone())], &[])))
        }
        _ => None,
    };
    let names_elsewhere = unnamed_key.map(|(table, parts)| {
        let parts = [parts[0].as_str(), parts[1].as_str(), parts[2].as_str()];
        let choices = (0..Before::CHOICES).map(|n| super::name::nth_choice(parts, n));
        choices.map(|c| (c.clone(), cat.holder_elsewhere(table, &c))).collect()
    });
    // Only for a volatile default, which the `volatile-default` rule would move off the column
    // (a walk of the tables that name the table).
    let heir_with_column = match kind {
        OpKind::AddColumn { table: t, column, default: Some(d), .. } if d.volatile => {
            cat.heir_with_column(t, column).map(Box::new)
        }
        _ => None,
    };
    Before {
        table,
        slot,
        partitions,
        default_partition,
        referencing,
        column_keyed,
        names_elsewhere,
        reindexes_exclusion: None,
        heir_with_column,
    }
}

/// Tables that exist before the draft and that the draft shows are partitioned: the parent of a
/// `PARTITION OF`, the table of an `ATTACH`/`DETACH PARTITION` (unless the draft created it).
fn partitioned_by_the_draft<'m>(m: &'m Migration<'_>) -> Vec<&'m Name> {
    let mut out = Vec::new();
    for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
        for op in &s.ops {
            let parent = match &op.kind {
                OpKind::CreateTable { def, .. } => def.partition_of.as_ref(),
                OpKind::AlterTable {
                    table,
                    action: Action::AttachPartition { .. } | Action::DetachPartition { .. },
                    ..
                } => Some(table),
                _ => None,
            };
            if let Some(p) = parent.filter(|p| !m.created_before(p, i)) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index names the catalogue holds after `draft`, and the columns of table `t`, walked in
    /// windows of `size` statements.
    fn after(draft: &str, size: usize) -> (Vec<String>, Vec<String>) {
        let m = Migration::split_and_lower(draft).unwrap();
        let mut timeline = Timeline::new(&m, None);
        for start in (0..m.stmts.len()).step_by(size) {
            timeline.window(&m, start..(start + size).min(m.stmts.len()));
        }
        let catalog = timeline.into_catalog();
        let mut indexes: Vec<String> =
            catalog.indexes().filter_map(|i| i.name.as_ref()).map(|n| n.key.to_string()).collect();
        indexes.sort();
        let mut columns: Vec<String> = catalog
            .table(&Name::new("t"))
            .map(|t| t.columns.keys().map(|c| c.to_string()).collect())
            .unwrap_or_default();
        columns.sort();
        (indexes, columns)
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn what_the_draft_rolls_back_is_gone() {
        let base = "CREATE TABLE t (a int);\n";
        let cases = [
            // Committed: kept.
            ("BEGIN;\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\n", &["i"][..], &["a", "b"][..]),
            // The whole transaction rolled back.
            ("BEGIN;\nCREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;\nROLLBACK;\n", &[], &["a"]),
            // Back to a savepoint: what came before it stays.
            (
                "BEGIN;\nCREATE INDEX i ON t (a);\nSAVEPOINT s;\nCREATE INDEX j ON t (a);\nALTER TABLE t ADD COLUMN b int;\nROLLBACK TO SAVEPOINT s;\nCOMMIT;\n",
                &["i"],
                &["a"],
            ),
            // The savepoint stays after a rollback to it; a later one goes with it.
            (
                "BEGIN;\nSAVEPOINT s;\nCREATE INDEX i ON t (a);\nSAVEPOINT u;\nCREATE INDEX j ON t (a);\nROLLBACK TO s;\nCREATE INDEX k ON t (a);\nROLLBACK TO SAVEPOINT s;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\n",
                &[],
                &["a", "b"],
            ),
            // A released savepoint cannot be rolled back to; its work goes with the transaction.
            ("BEGIN;\nSAVEPOINT s;\nCREATE INDEX i ON t (a);\nRELEASE SAVEPOINT s;\nROLLBACK TO s;\nCOMMIT;\n", &["i"], &["a"]),
            ("BEGIN;\nSAVEPOINT s;\nCREATE INDEX i ON t (a);\nRELEASE s;\nROLLBACK;\n", &[], &["a"]),
            // A second BEGIN inside the block opens nothing: the ROLLBACK returns to the first.
            ("BEGIN;\nCREATE INDEX i ON t (a);\nBEGIN;\nCREATE INDEX j ON t (a);\nROLLBACK;\n", &[], &["a"]),
            // Outside a block, a ROLLBACK undoes nothing.
            ("CREATE INDEX i ON t (a);\nROLLBACK;\n", &["i"], &["a"]),
        ];
        for (draft, indexes, columns) in cases {
            let draft = format!("{base}{draft}");
            for size in [1, 2, 100] {
                let (i, c) = after(&draft, size);
                assert_eq!((i, c), (strings(indexes), strings(columns)), "windows of {size}:\n{draft}");
            }
        }
    }
}
