//! The `undo` of a step: the SQL that reverts what the step commits, for when a later step fails
//! for good and the draft (one transaction) would have rolled everything back. Built from the typed
//! ops of the step's statements (generated statements are lowered like the draft's), newest first.

use crate::ir::lower::lower_statement;
use crate::ir::migration::Migration;
use crate::ir::name::Name;
use crate::ir::op::{Op, OpKind};
use crate::passes::Rewritten;
use crate::plan::Step;

/// Nothing in the step needs undoing (settings, `VALIDATE`, a rolled-back transaction).
pub const NONE_NEEDED: &str = "none needed";
/// pgsafe cannot say how to revert the step (a data change, a drop, an unnamed object, …).
pub const NONE_KNOWN: &str = "none known";

/// What reverting one op takes.
enum Revert {
    Nothing,
    Sql(String),
    Unknown,
}

/// The undo of `step`: SQL statements, newest first, or [`NONE_NEEDED`] / [`NONE_KNOWN`].
pub fn step_undo(m: &Migration<'_>, r: &Rewritten, step: &Step) -> String {
    if step.rollback {
        return NONE_NEEDED.into();
    }
    let mut sql = Vec::new();
    for u in step.units() {
        let unit = &r.units[u];
        let lowered: Vec<Op>;
        let ops: &[Op] = match &unit.generated {
            Some(text) => {
                lowered = lower_statement(text, 0..text.len());
                &lowered
            }
            None => &m.stmts[unit.stmt].ops,
        };
        for op in ops {
            match revert(&op.kind, unit.generated.is_some()) {
                Revert::Nothing => {}
                Revert::Sql(s) => sql.push(s),
                Revert::Unknown => return NONE_KNOWN.into(),
            }
        }
    }
    if sql.is_empty() {
        return NONE_NEEDED.into();
    }
    sql.reverse();
    sql.join("\n")
}

fn revert(kind: &OpKind, generated: bool) -> Revert {
    match kind {
        OpKind::CreateIndex { name: Some(name), table, .. } => {
            Revert::Sql(format!("DROP INDEX CONCURRENTLY IF EXISTS {};", in_schema_of(table, name)))
        }
        OpKind::CreateTable { table, .. } => Revert::Sql(format!("DROP TABLE IF EXISTS {};", table.text)),
        OpKind::AddColumn { table, column, .. } => {
            Revert::Sql(format!("ALTER TABLE {} DROP COLUMN IF EXISTS {};", table.text, column_sql(column)))
        }
        OpKind::AddConstraint { table, name: Some(name), .. } => {
            Revert::Sql(format!("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {name};", table.text))
        }
        OpKind::SetNotNull { table, column } => {
            Revert::Sql(format!("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;", table.text, column_sql(column)))
        }
        // pgsafe's own helper constraint (the NOT NULL recipe's CHECK) going away needs no undo.
        OpKind::AlterTable { what, .. } if generated && what.starts_with("DROP CONSTRAINT") => Revert::Nothing,
        OpKind::ValidateConstraint { .. }
        | OpKind::Reindex { .. }
        | OpKind::Begin
        | OpKind::Commit { .. }
        | OpKind::Savepoint { .. }
        | OpKind::Set { .. }
        | OpKind::TransactionMode
        | OpKind::AdvisoryLock
        | OpKind::LocksRows(_)
        | OpKind::NeedsTransactionBlock(_)
        | OpKind::Psql(_) => Revert::Nothing,
        OpKind::Other { what } if is_harmless(what) => Revert::Nothing,
        _ => Revert::Unknown,
    }
}

/// Statements that leave nothing behind once their session ends.
fn is_harmless(what: &str) -> bool {
    ["SELECT", "ANALYZE", "EXPLAIN", "SHOW", "empty statement", "PREPARE", "DEALLOCATE", "DISCARD"]
        .iter()
        .any(|w| what.starts_with(w))
}

/// An index lives in its table's schema: `schema.index` when the table was qualified.
fn in_schema_of(table: &Name, index: &Name) -> String {
    if index.text.contains('.') {
        return index.text.to_string();
    }
    match table.text.rsplit_once('.') {
        Some((schema, _)) if !schema.contains('"') || schema.starts_with('"') => format!("{schema}.{}", index.text),
        _ => index.text.to_string(),
    }
}

/// A folded column name as SQL: quoted unless it is a plain lower-case identifier.
fn column_sql(column: &str) -> String {
    crate::ir::name::quote_ident(column)
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    fn undos(sql: &str) -> Vec<String> {
        let c = compile("d.sql", sql, &Config::default()).unwrap();
        let j: serde_json::Value = serde_json::to_value(&c.manifest).unwrap();
        j["steps"].as_array().unwrap().iter().map(|s| s["undo"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn every_committing_step_says_how_to_undo_it() {
        let u = undos(
            "CREATE INDEX idx_a ON app.orders (a);\n\
             ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);\n\
             ALTER TABLE orders ADD COLUMN \"Note\" text;\n\
             UPDATE orders SET a = 1 WHERE b = 2;\n",
        );
        assert_eq!(u[0], "DROP INDEX CONCURRENTLY IF EXISTS app.idx_a;");
        // One step for both actions on orders; its undo runs newest first.
        assert_eq!(
            u[1],
            "ALTER TABLE orders DROP COLUMN IF EXISTS \"Note\";\nALTER TABLE orders DROP CONSTRAINT IF EXISTS fk;"
        );
        // The VALIDATE runs before the UPDATE, which could change what it finds.
        assert_eq!(u[2], super::NONE_NEEDED, "VALIDATE: {u:?}");
        assert_eq!(u.last().unwrap(), super::NONE_KNOWN, "the batched UPDATE: {u:?}");
    }

    #[test]
    fn a_set_not_null_recipe_undoes_to_nullable() {
        let u = undos("ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n");
        assert_eq!(u[0], "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_not_null_check;", "{u:?}");
        assert_eq!(u[1], super::NONE_NEEDED, "VALIDATE: {u:?}");
        assert_eq!(u.last().unwrap(), "ALTER TABLE orders ALTER COLUMN status DROP NOT NULL;", "{u:?}");
    }

    #[test]
    fn a_rolled_back_step_needs_none() {
        assert_eq!(undos("BEGIN;\nCREATE INDEX i ON orders (a);\nROLLBACK;\n"), [super::NONE_NEEDED]);
    }
}
