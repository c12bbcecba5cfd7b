//! Kept stretches of a transaction that changes how a table takes writes (`Keep::WritesChanged`).
//!
//! A plan commits a batched fill, a concurrent or `NOT VALID` build and a `SET NOT NULL` in steps,
//! and other sessions write the table between them. Where the same draft transaction also changes
//! what the table accepts or does on writes, those sessions would write under rules the draft never
//! shows them (found by a probe on PostgreSQL 15):
//! - the change after the split statement (a default or trigger after the fill): rows written
//!   between the fill's batches and the change get neither, and a later `VALIDATE` fails on them;
//! - a drop before it (a key, check or foreign key, a unique index, a default): rows written after
//!   the drop commits break the constraint being built, which then fails, leaving the table with
//!   neither.
//!
//! The stretch from one to the other stays as written in one transaction step. A change alone, or
//! a split statement with no such change beside it (`ADD COLUMN`, `UPDATE`, `SET NOT NULL`; a
//! `CREATE INDEX` beside anything), is rewritten as before.

use super::transactions::{Keep, Region, Shape};
use crate::ir::action::Action;
use crate::ir::migration::{Migration, Section};
use crate::ir::name::Name;
use crate::ir::op::{ConstraintKind, Op, OpKind};

/// A statement of the open transaction, on its table (`None`: a table pgsafe cannot tell).
struct Seen {
    at: usize,
    table: Option<Name>,
    what: &'static str,
    /// A split statement that builds a key (a unique index, a unique, primary key or exclusion
    /// constraint): the only kind a dropped index can break.
    key: bool,
}

/// The stretches, one per change and the statement it must not be split from.
pub fn regions(m: &Migration<'_>) -> Vec<Region> {
    let mut found = Vec::new();
    // Tables the draft creates (no traffic writes them) and the indexes it builds: (name, table, unique).
    let mut created: Vec<Name> = Vec::new();
    let mut built: Vec<(Name, Name, bool)> = Vec::new();
    let mut begun = false;
    // In the open transaction: the statements a plan commits apart whose result depends on the rows
    // written meanwhile, and the drops that let more rows in.
    let (mut apart, mut dropped): (Vec<Seen>, Vec<Seen>) = (Vec::new(), Vec::new());
    for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
        for op in &s.ops {
            match &op.kind {
                OpKind::Begin | OpKind::Commit { .. } => {
                    begun = op.kind == OpKind::Begin;
                    apart.clear();
                    dropped.clear();
                }
                OpKind::CreateTable { table, .. } => created.push(table.clone()),
                OpKind::CreateIndex { name: Some(name), table, unique, .. } => {
                    built.push((name.clone(), table.clone(), *unique))
                }
                _ => {}
            }
            if !(begun || m.runner_transaction) {
                continue;
            }
            let live = |t: &Option<Name>| t.as_ref().is_none_or(|t| !created.iter().any(|c| c.same(t)));
            let same = |a: &Option<Name>, b: &Option<Name>| a.as_ref().zip(b.as_ref()).is_some_and(|(a, b)| a.same(b));
            if let Some((change, loosens)) = changes_writes(op, &built).filter(|(c, _)| live(&c.table)) {
                let change = Seen { at: i, ..change };
                if let Some(split) = apart.iter().find(|a| a.at < i && same(&a.table, &change.table)) {
                    found.push(region(split, &change, i));
                }
                if loosens {
                    dropped.push(change);
                }
            }
            if let Some(split) = split_apart(&op.kind).filter(|a| live(&a.table)) {
                let split = Seen { at: i, ..split };
                // Only a build can fail on the rows a drop let in (a fill cannot); a dropped index
                // breaks only a key, and one on a table pgsafe cannot tell may be this one's.
                let breaks = |d: &Seen| {
                    split.what != "UPDATE" && split.what != "DELETE" && (d.what != "DROP INDEX" || split.key)
                };
                let before = |d: &&Seen| d.at < i && breaks(d) && (d.table.is_none() || same(&d.table, &split.table));
                if let Some(drop) = dropped.iter().find(before) {
                    found.push(region(drop, &split, drop.at));
                }
                apart.push(split);
            }
        }
    }
    found
}

/// The stretch from `first` to `last`, reported at `at` (the change).
fn region(first: &Seen, last: &Seen, at: usize) -> Region {
    let (change, split) = if at == first.at { (first, last) } else { (last, first) };
    let table = change.table.as_ref().or(split.table.as_ref()).map_or("its table".into(), |t| t.text.to_string());
    let keep = Keep::WritesChanged { table, change: change.what, split: split.what, split_at: split.at };
    Region { first: first.at, last: last.at, shape: Shape::InsideTransaction, why: vec![(at, keep)] }
}

/// Does the op change what its table accepts or does on writes (a dropped constraint, unique index
/// or default, a default set, a trigger or rule created, a trigger enabled), and does it let rows in
/// that the table refused (or gave a value) before?
fn changes_writes(op: &Op, built: &[(Name, Name, bool)]) -> Option<(Seen, bool)> {
    let change = |table: &Name, what: &'static str, loosens: bool| {
        Some((Seen { at: 0, table: Some(table.clone()), what, key: false }, loosens))
    };
    match &op.kind {
        OpKind::AlterTable { table, action: Action::DropConstraint { .. }, .. } => {
            change(table, "DROP CONSTRAINT", true)
        }
        OpKind::AlterTable { table, what, .. } if what == "DROP DEFAULT" => change(table, "DROP DEFAULT", true),
        OpKind::AlterTable { table, what, .. } if what == "SET DEFAULT" => change(table, "SET DEFAULT", false),
        OpKind::AlterTable { table, what, .. } if what == "ENABLE TRIGGER" => change(table, "ENABLE TRIGGER", false),
        OpKind::Trigger { table, drop: false, .. } => change(table, "CREATE TRIGGER", false),
        OpKind::Other { what } if what == "CREATE RULE" => change(&op.locks.first()?.table, "CREATE RULE", false),
        // A unique index the draft built, or one pgsafe cannot tell (its table unknown too).
        OpKind::DropIndex { names, concurrently: false, .. } => {
            let index = |n: &Name| built.iter().rev().find(|(b, _, _)| b.same(n));
            match names.iter().find_map(|n| index(n).filter(|(_, _, unique)| *unique)) {
                Some((_, table, _)) => change(table, "DROP INDEX", true),
                None if names.iter().all(|n| index(n).is_some()) => None,
                None => Some((Seen { at: 0, table: None, what: "DROP INDEX", key: false }, true)),
            }
        }
        _ => None,
    }
}

/// Is the op one a plan commits in steps (batches, a concurrent or `NOT VALID` build, `SET NOT
/// NULL` through a check) whose result depends on the rows other sessions write meanwhile? (An
/// `ADD COLUMN … NOT NULL DEFAULT` of a constant is one catalogue change, split from nothing.)
fn split_apart(kind: &OpKind) -> Option<Seen> {
    let seen = |table: &Name, what: &'static str| Some(Seen { at: 0, table: Some(table.clone()), what, key: false });
    let key = |table: &Name, what: &'static str| Some(Seen { at: 0, table: Some(table.clone()), what, key: true });
    match kind {
        OpKind::Update(d) => seen(&d.table, "UPDATE"),
        OpKind::Delete(d) => seen(&d.table, "DELETE"),
        OpKind::SetNotNull { table, .. } => seen(table, "SET NOT NULL"),
        OpKind::AddConstraint {
            table,
            not_valid: false,
            kind: ConstraintKind::Unique(_) | ConstraintKind::PrimaryKey(_) | ConstraintKind::Exclude { .. },
            ..
        } => key(table, "ADD CONSTRAINT"),
        OpKind::AddConstraint { table, not_valid: false, .. } => seen(table, "ADD CONSTRAINT"),
        OpKind::ValidateConstraint { table, .. } => seen(table, "VALIDATE CONSTRAINT"),
        OpKind::CreateIndex { table, unique: true, concurrently: false, .. } => key(table, "CREATE UNIQUE INDEX"),
        OpKind::AddColumn { table, not_null, primary_key, unique, reference, check, default, .. }
            if (not_null.is_some() && default.as_ref().is_none_or(|d| d.null || d.volatile))
                || *primary_key
                || unique.is_some()
                || reference.is_some()
                || check.is_some()
                || default.as_ref().is_some_and(|d| d.volatile) =>
        {
            if *primary_key || unique.is_some() {
                key(table, "ADD COLUMN")
            } else {
                seen(table, "ADD COLUMN")
            }
        }
        _ => None,
    }
}
