//! `destructive`: diagnostics, no rewrite, for statements that break the application code running
//! against the table, or that hold a strong lock for as long as they take.
//!
//! - Break running code: `RENAME COLUMN`, `RENAME TO`, `DROP COLUMN`, `DROP TABLE`, `TRUNCATE`,
//!   `ALTER COLUMN … DROP NOT NULL`. The lock itself is brief (ACCESS EXCLUSIVE, no scan; `timeouts`
//!   bounds the wait for it), but every instance of the old code fails from the moment it commits.
//!   The safe sequence is expand/contract, across deploys: the message says which.
//! - Hold ACCESS EXCLUSIVE for a whole copy of the table (reads and writes wait throughout):
//!   `VACUUM FULL`, `CLUSTER`, `SET TABLESPACE`, `SET LOGGED`/`UNLOGGED`, `SET ACCESS METHOD`.
//! - `LOCK TABLE` in a mode that blocks writes: held until the transaction ends.
//!
//! Objects created earlier in the same draft have no users yet and are skipped; so are columns
//! the draft itself added.

use super::{Ctx, Rewritten};
use crate::ir::action::{Action, ColumnChange};
use crate::ir::catalog::{ForeignKey, Indexes, List};
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::{Migration, Section};
use crate::ir::name::{key_of, Name};
use crate::ir::op::OpKind;
use crate::ir::timeline::Before;
use rustc_hash::FxHashMap;
use std::sync::Arc;

pub const RULE: &str = "destructive";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, later: &mut Option<Later>) {
    let m = ctx.m;
    for (i, s) in ctx.stmts() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for (k, op) in s.ops.iter().enumerate() {
            let new = |t: &Name| m.created_before(t, i);
            let before = ctx.before(i, k);
            let msg = match &op.kind {
                OpKind::AlterTable { table, action, .. } if !new(table) => {
                    let later = later.get_or_insert_with(|| Later::new(m));
                    match action {
                        Action::RenameTable { .. } | Action::SetSchema { .. } => {
                            later.view(m, i, table).map(|view| keep_old_name(table, action, view))
                        }
                        _ => None,
                    }
                    .or_else(|| alter(before, table, action, &|c: &Name| later.readded(i, table, c)))
                }
                OpKind::DropTable { tables, .. } => {
                    for t in tables.iter().filter(|t| !new(t)) {
                        out.diagnose(RULE, op.span.start, drop_table(&before.referencing, t, tables));
                    }
                    None
                }
                OpKind::Truncate { tables, cascade } => {
                    let tables: Vec<&str> = tables.iter().filter(|t| !new(t)).map(|t| &*t.text).collect();
                    (!tables.is_empty()).then(|| truncate(&tables, *cascade))
                }
                OpKind::Other { what } if what == "CLUSTER" => op.locks.first().filter(|l| !new(&l.table)).map(|l| {
                    format!(
                        "CLUSTER rewrites {t} in index order under ACCESS EXCLUSIVE: every read and write of {t} waits \
                         for the whole copy. pg_repack does the same online (it orders by the clustering index)",
                        t = l.table.text
                    )
                }),
                OpKind::NoTransaction { what } if what == "CLUSTER" => Some(
                    "CLUSTER without a table rewrites every clustered table of the database, each under ACCESS EXCLUSIVE \
                     for its whole copy: name the table, or use pg_repack, which does it online"
                        .into(),
                ),
                OpKind::NoTransaction { what } if what == "VACUUM FULL" => vacuum_full(&op.locks, &new),
                OpKind::Lock { tables, mode, .. } => lock_table(tables, *mode, &new),
                _ => None,
            };
            if let Some(msg) = msg {
                out.diagnose(RULE, op.span.start, msg);
            }
        }
    }
}

fn list(items: &[String]) -> String {
    match items.len() {
        0..=4 => items.join(", "),
        n => format!("{}, and {} more", items[..3].join(", "), n - 3),
    }
}

/// What the findings on a rename ask of the statements after it, found once for the whole draft
/// (made at the first rename): a scan of the later statements for each rename was quadratic,
/// and a tenth of a big draft's compile.
pub struct Later {
    /// (table base key, column key) → the up statements that add a column of that name to a table
    /// of that base name, or rename one to it, in order, with the table.
    columns: FxHashMap<ColumnOf, Vec<(usize, Name)>>,
    /// Base key → the views statements create (see [`crate::ir::views`]), in order, with their
    /// section and name.
    views: FxHashMap<Arc<str>, Vec<View>>,
    /// Per section, per statement: is a transaction open after it (the draft's `BEGIN`, or the
    /// tool's transaction), and how many statements of that section before it end one.
    in_transaction: [Vec<bool>; 2],
    ends_before: [Vec<u32>; 2],
}

/// A column by its table's base key and its own key.
type ColumnOf = (Arc<str>, String);

/// A view a statement creates.
struct View {
    at: usize,
    section: Section,
    name: Name,
}

impl Later {
    fn new(m: &Migration<'_>) -> Later {
        let mut later = Later {
            columns: FxHashMap::default(),
            views: FxHashMap::default(),
            in_transaction: [Vec::with_capacity(m.stmts.len()), Vec::with_capacity(m.stmts.len())],
            ends_before: [Vec::with_capacity(m.stmts.len() + 1), Vec::with_capacity(m.stmts.len() + 1)],
        };
        let (mut open, mut ends) = ([m.runner_transaction; 2], [0u32; 2]);
        for (j, s) in m.stmts.iter().enumerate() {
            let k = s.section as usize;
            later.ends_before.iter_mut().zip(ends).for_each(|(list, n)| list.push(n));
            for op in &s.ops {
                match &op.kind {
                    OpKind::Begin => open[k] = true,
                    OpKind::Commit { .. } => open[k] = m.runner_transaction,
                    OpKind::AddColumn { table, column, .. } if s.section == Section::Up => {
                        later
                            .columns
                            .entry((table.base().into(), key_of(column)))
                            .or_default()
                            .push((j, table.clone()));
                    }
                    OpKind::AlterTable { table, action: Action::RenameColumn { to, .. }, .. }
                        if s.section == Section::Up =>
                    {
                        let at = (table.base().into(), to.key.to_string());
                        later.columns.entry(at).or_default().push((j, table.clone()));
                    }
                    _ => {}
                }
            }
            later.in_transaction.iter_mut().zip(open).for_each(|(list, open)| list.push(open));
            let ends_one = s.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. })) || s.controls_transactions;
            ends[k] += u32::from(ends_one);
        }
        later.ends_before.iter_mut().zip(ends).for_each(|(list, n)| list.push(n));
        for (j, view) in &m.views_made {
            let at = View { at: *j, section: m.stmts[*j].section, name: view.clone() };
            later.views.entry(view.base().into()).or_default().push(at);
        }
        later
    }

    /// Does a statement after statement `i` give `table` a column named `column` again (an
    /// `ADD COLUMN`, or another column renamed to it)?
    fn readded(&self, i: usize, table: &Name, column: &Name) -> bool {
        let Some(at) = self.columns.get(&(table.base().into(), column.key.to_string())) else { return false };
        at[at.partition_point(|(j, _)| *j <= i)..].iter().any(|(_, t)| t.same(table))
    }

    /// Where a later statement of the draft creates a view named `old` (`CREATE [OR REPLACE]
    /// VIEW`, not temporary or materialized, in the same section as statement `i`): the draft
    /// keeps the old name working itself, so the finding must not advise it again.
    fn view(&self, m: &Migration<'_>, i: usize, old: &Name) -> Option<LaterView> {
        let section = m.stmts[i].section;
        let views = self.views.get(old.base())?;
        let after = &views[views.partition_point(|v| v.at <= i)..];
        let j = after.iter().find(|v| v.section == section && v.name.same(old))?.at;
        let k = section as usize;
        let ended = self.ends_before[k][j] > self.ends_before[k][i + 1];
        let line = m.src[..m.stmts[j].body.start].matches('\n').count() + 1;
        Some(LaterView { line, same_transaction: self.in_transaction[k][i] && !ended })
    }
}

fn alter(before: &Before, table: &Name, action: &Action, readded: &dyn Fn(&Name) -> bool) -> Option<String> {
    let t = &table.text;
    // A column the draft itself added has no users yet.
    let added = |c: &Name| before.table.as_ref().and_then(|t| t.column(&c.key)).is_some_and(|c| c.added_in_draft);
    // The indexes and foreign keys that may use the dropped column (none when no key ever named
    // it: the lists grow with a long draft, and most dropped columns are in none of them).
    let empty = (Indexes::default(), List::new());
    let keyed = || match &before.table {
        Some(t) if before.column_keyed => (&t.indexes, &t.foreign_keys),
        _ => (&empty.0, &empty.1),
    };
    Some(match action {
        Action::RenameColumn { from, to } if !added(from) && readded(from) => format!(
            "renaming {t}.{from} to {to}, then adding a new {from} later in the draft, misleads the application code that \
             is running: its queries that use {from} do not fail, they read and write the new column from the moment it \
             commits (its writes land there, not in {to}, and a later fill of {from} overwrites them). Expand/contract \
             instead: add the new column under a new name, write both (in the code or with a trigger), backfill it in \
             batches, deploy code that reads it, then drop {from} in a later migration",
            from = from.text,
            to = to.text
        ),
        Action::RenameColumn { from, to } if !added(from) => format!(
            "renaming {t}.{from} to {to} breaks the application code that is running: its queries that use {from} fail from \
             the moment this commits until every instance runs new code. Expand/contract instead: add {to}, write both \
             columns (in the code or with a trigger), backfill {to} in batches, deploy code that reads {to}, then drop {from} \
             in a later migration",
            from = from.text,
            to = to.text
        ),
        Action::RenameTable { to } => format!(
            "renaming {t} to {to} breaks the application code that is running: every query that names {t} fails until the \
             new code runs everywhere. Keep the old name working: in the same transaction CREATE VIEW {t} AS SELECT * FROM \
             {to} (a simple view is updatable), deploy code that uses {to}, then DROP VIEW {t} in a later migration",
            to = to.text
        ),
        Action::SetSchema { schema } => format!(
            "moving {t} to schema {s} breaks the application code that is running: every query that names {t} by its old \
             schema (or finds it through a search path without {s}) fails until the new code runs everywhere. Keep the old \
             name working: in the same transaction create a view under the old name that selects from the moved table (a \
             simple view is updatable), deploy code that uses {s}, then drop the view in a later migration",
            s = schema.text
        ),
        Action::DropColumn { column, .. } if !added(column) => {
            let c = &column.text;
            let mut msg = format!(
                "dropping {t}.{c} breaks the application code that is running: queries that read or write {c} (and ORMs \
                 that list every column) fail from the moment this commits. Contract in two releases: stop using {c} in the \
                 code (e.g. mark it ignored in the ORM) and deploy, then drop it in a later migration"
            );
            let (indexes, foreign_keys) = keyed();
            let indexes: Vec<String> = indexes
                .iter()
                .filter(|ix| ix.columns.iter().flatten().any(|c| *c == *column.key))
                .filter_map(|ix| ix.name.as_ref().map(|n| n.text.to_string()))
                .collect();
            if !indexes.is_empty() {
                msg.push_str(&format!(
                    "; before it, drop the indexes on {c} with DROP INDEX CONCURRENTLY ({}): the drop would remove them \
                     under its ACCESS EXCLUSIVE lock",
                    list(&indexes)
                ));
            }
            let fks: Vec<String> = foreign_keys
                .iter()
                .filter(|fk| fk.columns.iter().any(|c| *c == *column.key))
                .map(|fk| fk.name.clone().unwrap_or_else(|| format!("the foreign key to {}", fk.references.text)))
                .collect();
            if !fks.is_empty() {
                msg.push_str(&format!(
                    "; drop its foreign keys first, one per transaction ({}): dropping one also locks the referenced table",
                    list(&fks)
                ));
            }
            msg
        }
        Action::AlterColumn { column, change: ColumnChange::DropNotNull } if !added(column) => format!(
            "dropping NOT NULL on {t}.{c} lets NULLs in: the application code that is running assumes {c} always has a \
             value and breaks on the first NULL row (non-optional fields, arithmetic, lookups). Deploy code that handles a \
             NULL {c} first, then drop the constraint",
            c = column.text
        ),
        Action::Rewrite { what } => {
            let how = if what == "SET TABLESPACE" {
                "pg_repack --tablespace moves it online".to_string()
            } else {
                "there is no online form: copy into a new table and swap it in (pg-osc), or take a maintenance window"
                    .to_string()
            };
            format!("{what} copies {t} under ACCESS EXCLUSIVE: every read and write of {t} waits for the whole copy. {how}")
        }
        _ => return None,
    })
}

/// Where a later statement of the draft creates a view named `old` (`CREATE [OR REPLACE] VIEW`,
/// not temporary or materialized, in the same section as statement `i`): the draft keeps the old
/// name working itself, so the finding must not advise it again.
struct LaterView {
    line: usize,
    /// Created in the same transaction as the rename: no query ever finds the old name missing.
    same_transaction: bool,
}

/// A rename (or schema move) of `table` whose old name a view of the draft keeps working.
fn keep_old_name(table: &Name, action: &Action, view: LaterView) -> String {
    let t = &table.text;
    let (what, uses) = match action {
        Action::RenameTable { to } => (format!("renaming {t} to {}", to.text), to.text.to_string()),
        Action::SetSchema { schema } => (format!("moving {t} to schema {}", schema.text), schema.text.to_string()),
        _ => unreachable!("only a rename or a schema move changes a table's name"),
    };
    let line = view.line;
    if view.same_transaction {
        format!(
            "{what}: the draft keeps the old name working with the view {t} it creates in the same transaction (line \
             {line}; a simple view is updatable). Deploy code that uses {uses}, then DROP VIEW {t} in a later migration"
        )
    } else {
        format!(
            "{what} breaks the application code that is running until the view {t} the draft creates at line {line}: \
             the two do not run in one transaction, so every query that names {t} fails in between. Put the rename and \
             the CREATE VIEW in one transaction, deploy code that uses {uses}, then DROP VIEW {t} in a later migration"
        )
    }
}

/// `referencing`: the foreign keys that reference the dropped tables (from the catalogue).
fn drop_table(referencing: &[ForeignKey], table: &Name, dropped: &[Name]) -> String {
    let t = &table.text;
    let mut msg = format!(
        "dropping {t} breaks the application code that is running and still uses it, and takes ACCESS EXCLUSIVE on {t} and \
         on every table whose foreign keys reference it. Stop using {t} in the code and deploy first, then drop it in a \
         later migration"
    );
    let fks: Vec<String> = referencing
        .iter()
        .filter(|fk| fk.references.same(table) && !dropped.iter().any(|d| d.same(&fk.table)))
        .map(|fk| match &fk.name {
            Some(n) => format!("{}.{n}", fk.table.text),
            None => format!("{} ({})", fk.table.text, fk.columns.join(", ")),
        })
        .collect();
    if !fks.is_empty() {
        msg.push_str(&format!(
            "; drop the foreign keys that reference it before, one per transaction under a short lock_timeout: {}",
            list(&fks)
        ));
    }
    msg
}

fn truncate(tables: &[&str], cascade: bool) -> String {
    let t = tables.join(", ");
    let first = tables[0];
    format!(
        "TRUNCATE {t} takes ACCESS EXCLUSIVE and empties {} at once: reads and writes wait, the running code sees its rows \
         vanish, and transactions with older snapshots see {} empty (TRUNCATE is not MVCC-safe){}. To purge rows of a table \
         in use, DELETE them in batches (DELETE FROM {first} WHERE ctid IN (SELECT ctid FROM {first} LIMIT 10000), \
         repeated until no row is left)",
        if tables.len() == 1 { "it" } else { "them" },
        if tables.len() == 1 { "it" } else { "them" },
        if cascade { "; CASCADE also empties every table whose foreign keys reference it" } else { "" }
    )
}

/// `VACUUM FULL [t, …]`: its locks name the tables it rewrites (none: every table).
fn vacuum_full(locks: &[LockUse], new: &dyn Fn(&Name) -> bool) -> Option<String> {
    let Some(first) = locks.first() else {
        return Some(
            "VACUUM FULL without a table rewrites every table of the database, each under ACCESS EXCLUSIVE for its \
             whole copy: name the tables that need it, and compact them online with pg_repack or pg_squeeze instead"
                .into(),
        );
    };
    if locks.iter().all(|l| new(&l.table)) {
        return None;
    }
    Some(format!(
        "VACUUM FULL rewrites {t} under ACCESS EXCLUSIVE: every read and write of {t} waits for the whole copy, which \
         also needs the table's size in free disk. Compact it online with pg_repack or pg_squeeze instead",
        t = first.table.text
    ))
}

/// `LOCK [TABLE] t, … IN mode MODE` in a mode that blocks writes.
fn lock_table(tables: &[Name], mode: LockMode, new: &dyn Fn(&Name) -> bool) -> Option<String> {
    if !mode.blocks_writes() {
        return None;
    }
    let tables: Vec<&Name> = tables.iter().filter(|t| !new(t)).collect();
    if tables.is_empty() {
        return None;
    }
    let names: Vec<&str> = tables.iter().map(|t| &*t.text).collect();
    Some(format!(
        "LOCK TABLE {} IN {mode} MODE holds that lock until the transaction ends: every {} of {} waits behind the rest of \
         the transaction. Take it only to order locks, right before the statement that needs it, with nothing slow after \
         it in the same transaction (and under lock_timeout, which pgsafe adds to the step)",
        names.join(", "),
        if mode.blocks_reads() { "read and write" } else { "write" },
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    fn diagnostics(sql: &str) -> Vec<String> {
        let c = compile("t.sql", sql, &Config::default()).unwrap();
        c.diagnostics.iter().filter(|d| d.rule == super::RULE).map(|d| d.message.clone()).collect()
    }

    #[test]
    fn each_destructive_form_is_reported() {
        for (sql, needle) in [
            ("ALTER TABLE orders RENAME COLUMN status TO state;", "renaming orders.status to state"),
            // Found by a probe (TypeORM): the old code's writes do not fail, they land in the new column.
            (
                "ALTER TABLE orders RENAME COLUMN total TO total_old;\nALTER TABLE orders ADD COLUMN total numeric;",
                "its queries that use total do not fail, they read and write the new column",
            ),
            ("ALTER TABLE orders RENAME TO purchases;", "CREATE VIEW orders AS SELECT * FROM purchases"),
            ("ALTER TABLE orders DROP COLUMN status;", "dropping orders.status"),
            ("ALTER TABLE orders ALTER COLUMN status DROP NOT NULL;", "dropping NOT NULL on orders.status"),
            ("DROP TABLE IF EXISTS orders;", "dropping orders"),
            ("TRUNCATE orders CASCADE;", "CASCADE also empties"),
            ("VACUUM (FULL, ANALYZE) orders;", "VACUUM FULL rewrites orders"),
            ("VACUUM FULL;", "every table of the database"),
            ("CLUSTER orders USING orders_pkey;", "CLUSTER rewrites orders"),
            ("LOCK TABLE orders;", "IN ACCESS EXCLUSIVE MODE"),
            ("LOCK orders, users IN SHARE MODE NOWAIT;", "every write of orders, users"),
            ("ALTER TABLE orders SET TABLESPACE fast;", "pg_repack --tablespace"),
        ] {
            let found = diagnostics(sql);
            assert!(found.len() == 1 && found[0].contains(needle), "{sql}: {found:?}");
        }
    }

    /// A view of the old name that the draft creates itself is not advised again (found by the
    /// forty-second pass's probe); one outside the rename's transaction leaves a gap it names.
    #[test]
    fn a_view_the_draft_creates_under_the_old_name_is_not_advised_again() {
        let rename = "ALTER TABLE orders RENAME TO purchases;";
        let view = "CREATE OR REPLACE VIEW public.orders AS SELECT * FROM purchases;";
        let d = diagnostics(&format!("BEGIN;\n{rename}\n{view}\nCOMMIT;\n"));
        assert!(d.len() == 1 && d[0].contains("the draft keeps the old name working with the view orders"), "{d:?}");
        assert!(!d[0].contains("Keep the old name working: in the same transaction"), "{d:?}");
        let d = diagnostics(&format!("{rename}\n{view}\n"));
        assert!(d.len() == 1 && d[0].contains("creates at line 2"), "{d:?}");
        assert!(d[0].contains("fails in between"), "{d:?}");
        let moved = "BEGIN;\nALTER TABLE orders SET SCHEMA archive;\nCREATE VIEW orders AS SELECT * FROM archive.orders;\nCOMMIT;";
        assert!(diagnostics(moved)[0].contains("the draft keeps the old name working"), "{moved}");
        // Not a view of that name, a temporary or a materialized one: advised as before.
        for other in [
            "CREATE VIEW orders_v AS SELECT * FROM purchases;",
            "CREATE TEMP VIEW orders AS SELECT * FROM purchases;",
            "CREATE MATERIALIZED VIEW orders AS SELECT * FROM purchases;",
        ] {
            let d = diagnostics(&format!("BEGIN;\n{rename}\n{other}\nCOMMIT;\n"));
            assert!(d[0].contains("Keep the old name working: in the same transaction CREATE VIEW orders"), "{d:?}");
        }
    }

    #[test]
    fn harmless_or_new_objects_are_not_reported() {
        for sql in [
            "VACUUM ANALYZE orders;",
            "VACUUM (FULL false) orders;",
            "LOCK TABLE orders IN ROW EXCLUSIVE MODE;",
            "CREATE TABLE t (id int);\nALTER TABLE t RENAME COLUMN id TO key;\nDROP TABLE t;",
            "ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders DROP COLUMN note;",
            "ALTER TABLE orders RENAME CONSTRAINT a TO b;",
            "-- pgsafe:ignore destructive\nDROP TABLE orders;",
        ] {
            assert_eq!(diagnostics(sql), Vec::<String>::new(), "{sql}");
        }
    }

    #[test]
    fn the_schema_names_what_to_drop_first() {
        let schema = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
                      CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), status text);\n\
                      CREATE INDEX idx_orders_status ON orders (status);\n\
                      ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);";
        let config = Config {
            catalog: Some(std::sync::Arc::new(crate::ir::catalog::Catalog::from_sql(schema))),
            ..Config::default()
        };
        let c = compile("t.sql", "DROP TABLE users;\nALTER TABLE orders DROP COLUMN status;", &config).unwrap();
        let d: Vec<&str> = c.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(d[0].contains("orders.orders_user_fk") && d[0].contains("orders.orders_user_id_fkey"), "{d:?}");
        assert!(d[1].contains("DROP INDEX CONCURRENTLY (idx_orders_status)"), "{d:?}");
    }

    /// The draft's own indexes and foreign keys, through a rename, are named too; a column no key
    /// ever named gets the plain message (the catalogue skips the scan for it).
    #[test]
    fn the_draft_names_what_to_drop_first() {
        let d = diagnostics(
            "CREATE INDEX CONCURRENTLY idx_state ON orders (status);
             ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_ref) REFERENCES users (id) NOT VALID;
             ALTER TABLE orders RENAME COLUMN status TO state;
             ALTER TABLE orders DROP COLUMN state;
             ALTER TABLE orders DROP COLUMN user_ref;
             ALTER TABLE orders DROP COLUMN note;",
        );
        assert!(d[1].contains("dropping orders.state") && d[1].contains("(idx_state)"), "{d:?}");
        assert!(d[2].contains("dropping orders.user_ref") && d[2].contains("(orders_user_fk)"), "{d:?}");
        assert!(d[3].contains("dropping orders.note") && !d[3].contains("; "), "{d:?}");
    }
}
