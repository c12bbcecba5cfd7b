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
//!   neither;
//! - a rename before it (a column or the table), or a column dropped and added again under its
//!   name: writes that name a column land, once that commits, in another one than before, which
//!   the split statement then fills, reads or builds on (an ORM's `RENAME COLUMN total TO
//!   total_old; ADD COLUMN total …; UPDATE … SET total = total_old`: the app's write to `total`
//!   landed in the new column and the fill overwrote it);
//! - a column dropped or renamed, or the table renamed, after a fill or delete (a type change
//!   written as add, fill, drop, rename): writes that name it between the two escape the fill;
//! - a trigger or rule created after a fill on another table: its code may write any table (a
//!   counter filled, then the trigger on the counted table that keeps it).
//!
//! The stretch from one to the other stays as written in one transaction step. A change alone, or
//! a split statement with no such change beside it (`ADD COLUMN`, `UPDATE`, `SET NOT NULL`; a
//! `CREATE INDEX` beside anything), is rewritten as before.
//!
//! Also kept (`Keep::Replaced`): what guards a table's writes or serves its readers (a trigger,
//! rule, policy or column default of a table, a view) changed twice in one transaction with other
//! statements between, typically dropped and made again (found by the forty-sixth pass's traffic
//! probe: `DROP TRIGGER audit`, `CREATE INDEX`, `CREATE TRIGGER audit`). Split between the two,
//! other sessions would meet the state in between, which the draft never shows them: updates
//! written unaudited for the whole concurrent build, deletes a soft-delete rule no longer turns
//! into updates, inserts without their default, reads of a view that does not exist.

use super::transactions::{Keep, Region, Shape};
use crate::ir::action::Action;
use crate::ir::migration::{Migration, Section};
use crate::ir::name::{key_of, Name};
use crate::ir::op::{ConstraintKind, Op, OpKind};
use std::collections::HashMap;

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
    // Tables with traffic that the draft renamed away or dropped (name, where, how): one created
    // under such a name takes the app's writes.
    let mut gone: Vec<(Name, usize, &'static str)> = Vec::new();
    let mut begun = false;
    // The statement that opened (or closed) the last transaction: the open one holds those after it.
    let mut opened: Option<usize> = None;
    // In the open transaction: the statements a plan commits apart whose result depends on the rows
    // written meanwhile, and the drops that let more rows in.
    let (mut apart, mut dropped): (Vec<Seen>, Vec<Seen>) = (Vec::new(), Vec::new());
    // In the open transaction: renames and re-added columns (which column a write's name lands
    // in, from the statement that took the name away), and the columns dropped (table, folded
    // name, where).
    let (mut moved, mut vacated): (Vec<Seen>, Vec<(Name, String, usize)>) = (Vec::new(), Vec::new());
    // In the open transaction: the guards of writes and reads it changed, each where it last did.
    let mut guards = GuardsChanged::new();
    for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
        for op in &s.ops {
            match &op.kind {
                OpKind::Begin | OpKind::Commit { .. } => {
                    begun = op.kind == OpKind::Begin;
                    opened = Some(i);
                    apart.clear();
                    dropped.clear();
                    moved.clear();
                    vacated.clear();
                    guards.clear();
                }
                OpKind::CreateTable { table, .. } if gone.iter().any(|g| g.0.same(table)) => {
                    // Kept from the rename or drop when the open transaction holds it: split
                    // there, the app's writes would fail between the steps.
                    let (at, what) = match gone.iter().rev().find(|g| g.0.same(table)) {
                        Some(&(_, at, what)) if opened.is_none_or(|o| at > o) => (at, what),
                        _ => (i, "CREATE TABLE"),
                    };
                    if begun || m.runner_transaction {
                        moved.push(Seen { at, table: Some(table.clone()), what, key: false });
                    }
                }
                OpKind::CreateTable { table, .. } => created.push(table.clone()),
                OpKind::AlterTable { table, action: Action::RenameTable { to }, .. } => {
                    match created.iter().any(|c| c.same(table)) {
                        true => created.push(to.clone()),
                        false => gone.push((table.clone(), i, "RENAME TO")),
                    }
                }
                OpKind::DropTable { tables, .. } => {
                    let live = tables.iter().filter(|t| !created.iter().any(|c| c.same(t)));
                    gone.extend(live.map(|t| (t.clone(), i, "DROP TABLE")))
                }
                OpKind::CreateIndex { name: Some(name), table, unique, .. } => {
                    built.push((name.clone(), table.clone(), *unique))
                }
                _ => {}
            }
            if !(begun || m.runner_transaction) {
                continue;
            }
            if let Some((guard, what)) = guard_changed(op).filter(|(g, _)| !created.iter().any(|c| c.same(&g.on))) {
                let same_base = guards.entry((guard.kind, guard.on.base().into())).or_default();
                match same_base.iter_mut().find(|(on, _, _)| on.same(&guard.on)) {
                    Some((_, at, first)) => {
                        // Only where statements between them could go to other steps (both in
                        // one statement: `ALTER TABLE … DROP DEFAULT, … SET DEFAULT`).
                        if m.stmts.get(*at + 1..i).is_some_and(|between| between.iter().any(|s| !s.is_trivia())) {
                            let keep = Keep::Replaced { object: guard.describe(), first, then: what, then_at: i };
                            let why = vec![(*at, keep)];
                            found.push(Region { first: *at, last: i, shape: Shape::InsideTransaction, why });
                        }
                        (*at, *first) = (i, what);
                    }
                    None => same_base.push((guard.on, i, what)),
                }
            }
            let live = |t: &Option<Name>| t.as_ref().is_none_or(|t| !created.iter().any(|c| c.same(t)));
            let same = |a: &Option<Name>, b: &Option<Name>| a.as_ref().zip(b.as_ref()).is_some_and(|(a, b)| a.same(b));
            if let Some((change, loosens)) = changes_writes(op, &built).filter(|(c, _)| live(&c.table)) {
                let change = Seen { at: i, ..change };
                // A trigger's function or a rule's action may write any table: one created on
                // another table after a fill reaches the rows written meanwhile too (a counter on
                // users filled, then the trigger on orders that keeps it).
                let code = matches!(change.what, "CREATE TRIGGER" | "ENABLE TRIGGER" | "CREATE RULE");
                if let Some(split) = apart.iter().find(|a| a.at < i && (code || same(&a.table, &change.table))) {
                    found.push(region(split, &change, i));
                }
                if loosens {
                    dropped.push(change);
                }
            }
            // A fill or delete, then its table's column or name taken away: writes that name it
            // between the steps escape the fill (or the delete) and land where the draft never
            // lets them.
            if let Some(change) = retires_names(&op.kind, i).filter(|c| live(&c.table)) {
                let fill =
                    |a: &&Seen| a.at < i && matches!(a.what, "UPDATE" | "DELETE") && same(&a.table, &change.table);
                if let Some(split) = apart.iter().find(fill) {
                    found.push(region(split, &change, i));
                }
            }
            if let Some(change) = moves_writes(&op.kind, i, &mut vacated).filter(|c| live(&c.table)) {
                moved.push(change);
            }
            if let Some(split) = split_apart(&op.kind).filter(|a| live(&a.table)) {
                let split = Seen { at: i, ..split };
                // Any split statement can be wrong on writes that landed in another column.
                if let Some(rename) = moved.iter().find(|r| r.at < i && same(&r.table, &split.table)) {
                    found.push(region(rename, &split, rename.at));
                }
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

/// Guards changed, by kind and base name (a long transaction may change thousands): for each, the
/// relation, and where and how it last changed.
type GuardsChanged = HashMap<(&'static str, String), Vec<(Name, usize, &'static str)>>;

/// What guards a table's writes or serves its readers, of one kind on one relation (any name:
/// an audit trigger replaced by another of a new name leaves the table without either between).
struct Guard {
    kind: &'static str,
    on: Name,
}

impl Guard {
    /// "the triggers of orders", "the view active_users".
    fn describe(&self) -> String {
        match self.kind {
            "view" => format!("the view {}", self.on.text),
            kind => format!("the {kind} of {}", self.on.text),
        }
    }
}

/// The statements that change a guard, by the words pgsafe names them with, and the guard's kind.
/// An identity is a column's default too (serial to identity: `DROP DEFAULT`, `DROP SEQUENCE`,
/// `ADD GENERATED`; every insert failed between the steps), and row security on without a policy
/// refuses every row to all but the owner. One guard a statement: `DROP VIEW a, b` is read on its
/// first view.
const GUARD_CHANGES: [(&str, &str); 16] = [
    ("DROP DEFAULT", "defaults"),
    ("SET DEFAULT", "defaults"),
    ("ADD GENERATED", "defaults"),
    ("ENABLE ROW LEVEL SECURITY", "policies"),
    ("DISABLE ROW LEVEL SECURITY", "policies"),
    ("FORCE ROW LEVEL SECURITY", "policies"),
    ("CREATE POLICY", "policies"),
    ("ALTER POLICY", "policies"),
    ("DROP POLICY", "policies"),
    ("DETACH PARTITION", "partitions"),
    ("ATTACH PARTITION", "partitions"),
    ("CREATE RULE", "rules"),
    ("DROP RULE", "rules"),
    ("CREATE OR REPLACE VIEW", "view"),
    ("DROP VIEW", "view"),
    ("DROP MATERIALIZED VIEW", "view"),
];

/// The guard the op changes, and how (the op's words).
fn guard_changed(op: &Op) -> Option<(Guard, &'static str)> {
    let guard = |kind, on: &Name, what| Some((Guard { kind, on: on.clone() }, what));
    let named = |what: &str, on: Option<&Name>| {
        let &(what, kind) = GUARD_CHANGES.iter().find(|(w, _)| *w == what)?;
        guard(kind, on?, what)
    };
    match &op.kind {
        OpKind::Trigger { table, drop: true, .. } => guard("triggers", table, "DROP TRIGGER"),
        OpKind::Trigger { table, drop: false, .. } => guard("triggers", table, "CREATE TRIGGER"),
        OpKind::CreateView { view, temporary: false } => guard("view", view, "CREATE VIEW"),
        OpKind::AlterTable { table, what, .. } => named(what, Some(table)),
        OpKind::Other { what } => named(what, op.locks.first().map(|l| &l.table)),
        _ => None,
    }
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
        OpKind::AlterTable { table, what, .. } if what == "DROP NOT NULL" => change(table, "DROP NOT NULL", true),
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

/// Does the op (statement `i`) change which column (or table) a write's name lands in: a column or
/// table renamed (the change is on the table's new name), or a column added under the name of one
/// the open transaction dropped (the change is the drop)? A drop alone only makes such writes
/// fail, as they fail after the draft.
/// (A table created under a vacated name is found by the caller, which knows the draft's tables.)
fn moves_writes(kind: &OpKind, i: usize, vacated: &mut Vec<(Name, String, usize)>) -> Option<Seen> {
    let seen = |at, table: &Name, what| Some(Seen { at, table: Some(table.clone()), what, key: false });
    match kind {
        OpKind::AlterTable { table, action: Action::RenameColumn { .. }, .. } => seen(i, table, "RENAME COLUMN"),
        OpKind::AlterTable { action: Action::RenameTable { to }, .. } => seen(i, to, "RENAME TO"),
        OpKind::AlterTable { table, action: Action::DropColumn { column, .. }, .. } => {
            vacated.push((table.clone(), column.key.to_string(), i));
            None
        }
        OpKind::AddColumn { table, column, .. } => {
            let column = key_of(column);
            let drop = vacated.iter().find(|(t, c, _)| t.same(table) && *c == column)?;
            seen(drop.2, table, "DROP COLUMN")
        }
        _ => None,
    }
}

/// Does the op (statement `i`) take a column or its table's name away from the writes that name
/// it: a column dropped or renamed, the table renamed (the change is on its old name)?
fn retires_names(kind: &OpKind, i: usize) -> Option<Seen> {
    let seen = |table: &Name, what| Some(Seen { at: i, table: Some(table.clone()), what, key: false });
    match kind {
        OpKind::AlterTable { table, action: Action::RenameColumn { .. }, .. } => seen(table, "RENAME COLUMN"),
        OpKind::AlterTable { table, action: Action::RenameTable { .. }, .. } => seen(table, "RENAME TO"),
        OpKind::AlterTable { table, action: Action::DropColumn { .. }, .. } => seen(table, "DROP COLUMN"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (first, last, change, split) of each kept stretch.
    fn kept(src: &str) -> Vec<(usize, usize, &'static str, &'static str)> {
        let m = Migration::split_and_lower(src).unwrap();
        let what = |r: &Region| match &r.why[0].1 {
            Keep::WritesChanged { change, split, .. } => (*change, *split),
            other => panic!("{other:?}"),
        };
        regions(&m).iter().map(|r| (r.first, r.last, what(r).0, what(r).1)).collect()
    }

    #[test]
    fn a_name_that_writes_land_in_elsewhere_keeps_the_split_statement_after_it() {
        // TypeORM (found by a probe): split, the app's write to `total` between the steps landed
        // in the new column, and the fill overwrote it with total_old.
        let readd = "BEGIN;\nALTER TABLE orders RENAME COLUMN total TO total_old;\n\
                     ALTER TABLE orders ADD COLUMN total numeric;\nUPDATE orders SET total = total_old;\nCOMMIT;\n";
        assert_eq!(kept(readd), [(1, 3, "RENAME COLUMN", "UPDATE")]);
        let not_null = readd.replace("COMMIT;", "ALTER TABLE orders ALTER COLUMN total SET NOT NULL;\nCOMMIT;");
        assert_eq!(kept(&not_null).last(), Some(&(1, 4, "RENAME COLUMN", "SET NOT NULL")));
        // Dropped, then added under its name; a table renamed away, then created under its name.
        let drop = readd.replace("RENAME COLUMN total TO total_old", "DROP COLUMN total").replace("total_old", "0");
        assert_eq!(kept(&drop), [(1, 3, "DROP COLUMN", "UPDATE")]);
        let table = "BEGIN;\nALTER TABLE orders RENAME TO orders_old;\nCREATE TABLE orders (id int, total numeric);\n\
                     INSERT INTO orders SELECT id, total FROM orders_old;\nUPDATE orders SET total = 0 WHERE total IS NULL;\nCOMMIT;\n";
        assert_eq!(kept(table), [(1, 4, "RENAME TO", "UPDATE")]);
        assert_eq!(kept(&readd.replace("BEGIN;\n", "").replace("COMMIT;\n", "")), [], "autocommit");
        // Unaffected shapes stay rewritten: a lone rename or drop, a split statement on another
        // table, a table the draft creates and renames.
        assert_eq!(kept("BEGIN;\nALTER TABLE orders RENAME COLUMN total TO amount;\nCOMMIT;\n"), []);
        let lone_drop =
            drop.replace("ALTER TABLE orders ADD COLUMN total numeric;\n", "").replace("total = 0", "x = 0");
        assert_eq!(kept(&lone_drop), []);
        let before = "BEGIN;\nUPDATE orders SET total = 0;\nALTER TABLE orders RENAME COLUMN total TO total_old;\n\
                      ALTER TABLE orders ADD COLUMN total numeric;\nCOMMIT;\n";
        // A fill before the rename: a write to total between the two escapes the fill
        // (`a_name_taken_away_after_a_fill_keeps_the_fill_before_it`).
        assert_eq!(kept(before), [(1, 2, "RENAME COLUMN", "UPDATE")]);
        assert_eq!(kept(&readd.replace("UPDATE orders", "UPDATE accounts")), []);
        let new = "CREATE TABLE t (a int);\nBEGIN;\nALTER TABLE t RENAME TO u;\nALTER TABLE u RENAME COLUMN a TO b;\n\
                   UPDATE u SET b = 1;\nCOMMIT;\n";
        assert_eq!(kept(new), []);
        let index = "BEGIN;\nALTER TABLE orders RENAME COLUMN total TO total_old;\nALTER TABLE orders ADD COLUMN total numeric;\n\
                     CREATE INDEX ON orders (total);\nCOMMIT;\n";
        assert_eq!(kept(index), []);
    }

    #[test]
    fn a_guard_changed_twice_in_a_transaction_keeps_what_lies_between() {
        // (first, last, object) of each stretch kept for a guard changed twice.
        let replaced = |src: &str| -> Vec<(usize, usize, String)> {
            let m = Migration::split_and_lower(src).unwrap();
            let object = |r: &Region| match &r.why[0].1 {
                Keep::Replaced { object, .. } => Some(object.clone()),
                _ => None,
            };
            regions(&m).iter().filter_map(|r| Some((r.first, r.last, object(r)?))).collect()
        };
        let around =
            |first: &str, then: &str| format!("BEGIN;\n{first};\nCREATE INDEX ON orders (status);\n{then};\nCOMMIT;\n");
        let trigger = around(
            "DROP TRIGGER audit ON orders",
            "CREATE TRIGGER audit2 AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f()",
        );
        assert_eq!(replaced(&trigger), [(1, 3, "the triggers of orders".to_string())]);
        let default = around(
            "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT",
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'x'",
        );
        assert_eq!(replaced(&default), [(1, 3, "the defaults of orders".to_string())]);
        let rule = around("DROP RULE soft ON notes", "CREATE RULE soft AS ON DELETE TO notes DO INSTEAD NOTHING");
        assert_eq!(replaced(&rule), [(1, 3, "the rules of notes".to_string())]);
        let policy = around("DROP POLICY own ON notes", "CREATE POLICY own ON notes USING (true)");
        assert_eq!(replaced(&policy), [(1, 3, "the policies of notes".to_string())]);
        let view = around("DROP VIEW IF EXISTS active", "CREATE OR REPLACE VIEW active AS SELECT 1");
        assert_eq!(replaced(&view), [(1, 3, "the view active".to_string())]);
        // Not kept: nothing between the two, another table's trigger, a table the draft made, no
        // transaction, one change alone.
        let adjacent = "BEGIN;\nDROP TRIGGER a ON orders;\nCREATE TRIGGER a AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f();\nCOMMIT;\n";
        assert_eq!(replaced(adjacent), []);
        // Found by the second traffic probe: serial to identity, row security before its policy,
        // a partition detached and attached again.
        let identity = "BEGIN;\nALTER TABLE accounts ALTER COLUMN id DROP DEFAULT;\nDROP SEQUENCE accounts_id_seq;\n\
                        ALTER TABLE accounts ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;\nCOMMIT;\n";
        assert_eq!(replaced(identity), [(1, 3, "the defaults of accounts".to_string())]);
        let policy = around("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "CREATE POLICY own ON orders USING (true)");
        assert_eq!(replaced(&policy), [(1, 3, "the policies of orders".to_string())]);
        let partition = around(
            "ALTER TABLE events DETACH PARTITION events_2024",
            "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM (1) TO (2)",
        );
        assert_eq!(replaced(&partition), [(1, 3, "the partitions of events".to_string())]);
        let one_statement = "BEGIN;\nALTER TABLE orders ALTER a DROP DEFAULT, ALTER a SET DEFAULT 1;\nCOMMIT;\n";
        assert_eq!(replaced(one_statement), []);
        assert_eq!(replaced(&trigger.replace("UPDATE ON orders", "UPDATE ON users")), []);
        let new = format!("CREATE TABLE orders (status text);\n{trigger}");
        assert_eq!(replaced(&new), []);
        assert_eq!(replaced(&trigger.replace("BEGIN;\n", "").replace("COMMIT;\n", "")), []);
        assert_eq!(replaced("BEGIN;\nDROP TRIGGER a ON orders;\nCREATE INDEX ON orders (status);\nCOMMIT;\n"), []);
    }

    #[test]
    fn not_null_dropped_before_its_set_not_null_keeps_both() {
        // Found by the second traffic probe: split, a NULL written between the steps failed the
        // `SET NOT NULL`'s check, where the draft refuses the write.
        let src = "BEGIN;\nALTER TABLE orders ALTER COLUMN status DROP NOT NULL;\nCREATE INDEX ON orders (status);\n\
                   ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\nCOMMIT;\n";
        assert_eq!(kept(src), [(1, 3, "DROP NOT NULL", "SET NOT NULL")]);
    }

    #[test]
    fn a_name_taken_away_after_a_fill_keeps_the_fill_before_it() {
        // Found by the forty-fourth pass's traffic probe: split, a write to price between the fill
        // and the drop escaped the copy (an update was lost, an insert kept a NULL).
        let copy = "BEGIN;\nALTER TABLE items ADD COLUMN price_cents bigint;\nUPDATE items SET price_cents = price * 100;\n\
                    ALTER TABLE items DROP COLUMN price;\nALTER TABLE items RENAME COLUMN price_cents TO price;\nCOMMIT;\n";
        assert_eq!(kept(copy), [(2, 3, "DROP COLUMN", "UPDATE"), (2, 4, "RENAME COLUMN", "UPDATE")]);
        let table = "BEGIN;\nDELETE FROM items WHERE qty = 0;\nALTER TABLE items RENAME TO old_items;\nCOMMIT;\n";
        assert_eq!(kept(table), [(1, 2, "RENAME TO", "DELETE")]);
        // Not a build before it, another table, nor a draft without a transaction.
        assert_eq!(
            kept(&copy.replace("UPDATE items SET price_cents = price * 100", "CREATE UNIQUE INDEX ON items (sku)")),
            []
        );
        assert_eq!(kept(&copy.replace("UPDATE items", "UPDATE orders")), []);
        assert_eq!(kept(&copy.replace("BEGIN;\n", "").replace("COMMIT;\n", "")), []);
    }

    #[test]
    fn a_trigger_after_a_fill_keeps_it_whatever_its_table() {
        // A counter cache (found by the forty-fourth pass's traffic probe): split, an order
        // inserted between the count and the trigger on orders was never counted.
        let counter = "BEGIN;\nALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0;\n\
                       UPDATE users SET n = (SELECT count(*) FROM orders o WHERE o.user_id = users.id);\n\
                       CREATE TRIGGER count_orders AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION count_orders();\nCOMMIT;\n";
        assert_eq!(kept(counter), [(2, 3, "CREATE TRIGGER", "UPDATE")]);
        // A default on another table changes nothing the fill reads.
        assert_eq!(
            kept(&counter.replace(
                "CREATE TRIGGER count_orders AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION count_orders()",
                "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'x'"
            )),
            []
        );
    }
}
