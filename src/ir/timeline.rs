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
use super::catalog::{Catalog, ForeignKey, Table};
use super::migration::{Migration, Section};
use super::name::Name;
use super::op::OpKind;
use std::sync::Arc;

/// Walks the draft's statements in order, keeping the catalogue after the last window it gave.
#[derive(Debug)]
pub struct Timeline {
    /// The catalogue after the last window (after the last, after the draft).
    now: Catalog,
    /// Where the next window starts.
    next: usize,
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
    /// The op's own table (the one it creates an index on, alters, updates …).
    pub table: Option<Arc<Table>>,
    /// Its slot in the catalogue, for what a later catalogue knows of all its versions so far
    /// ([`Catalog::may_key`]).
    pub slot: Option<usize>,
    /// For a partitioned table: its partitions, in the order they were recorded.
    pub partitions: Vec<Arc<Table>>,
    /// For `DROP TABLE`: the foreign keys of other tables that reference the dropped tables.
    pub referencing: Vec<ForeignKey>,
    /// For `DROP COLUMN`: could an index or foreign key of the table, in any of its versions so
    /// far, name the column ([`Catalog::may_key`])? `false` proves none does, so the pass skips
    /// the scan of the table's lists.
    pub column_keyed: bool,
}

impl Before {
    pub fn is_partitioned(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.is_partitioned())
    }

    pub fn default_partition(&self) -> Option<&Table> {
        self.partitions.iter().map(AsRef::as_ref).find(|t| t.default_partition)
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
        now.begin_draft();
        Timeline { now, next: 0 }
    }

    /// The snapshots of every op in `window`, which starts where the last one ended; the
    /// catalogue moves past it.
    pub fn window(&mut self, m: &Migration<'_>, window: std::ops::Range<usize>) -> Window {
        debug_assert_eq!(window.start, self.next, "windows follow each other");
        self.next = window.end;
        let mut before = Vec::with_capacity(window.len());
        let first = window.start;
        for s in &m.stmts[window] {
            let mut ops = Vec::with_capacity(s.ops.len());
            for op in &s.ops {
                ops.push(snapshot(&self.now, &op.kind));
                if s.section == Section::Up {
                    self.now.apply(op);
                }
            }
            before.push(ops);
        }
        Window { first, before }
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
        static NONE: Before =
            Before { table: None, slot: None, partitions: Vec::new(), referencing: Vec::new(), column_keyed: false };
        debug_assert!(self.statements().contains(&i), "statement {i} is not in the window");
        i.checked_sub(self.first).and_then(|i| self.before.get(i)).and_then(|ops| ops.get(k)).unwrap_or(&NONE)
    }
}

fn snapshot(cat: &Catalog, kind: &OpKind) -> Before {
    let Some(name) = main_table(kind) else { return Before::default() };
    let (slot, table) = cat.table_in_slot(name).unzip();
    let partitions = match (&table, kind) {
        (Some(t), OpKind::CreateIndex { .. } | OpKind::AddConstraint { .. } | OpKind::AddColumn { .. })
        | (Some(t), OpKind::AlterTable { .. })
            if t.is_partitioned() =>
        {
            cat.partitions(&t.name).into_iter().filter_map(|p| cat.table_arc(&p.name)).collect()
        }
        _ => Vec::new(),
    };
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
    Before { table, slot, partitions, referencing, column_keyed }
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
