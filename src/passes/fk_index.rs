//! `fk-index`: a foreign key added on columns no index serves gets a diagnostic offering the index
//! (`CREATE INDEX CONCURRENTLY` on a table with traffic).
//!
//! Why: PostgreSQL indexes the referenced key, not the referencing columns. Without an index there,
//! every `DELETE` (or key `UPDATE`) on the referenced table scans the referencing table to check
//! the constraint, and `ON DELETE CASCADE` deletes become full scans. The lock is not the problem;
//! the slow writes afterwards are.
//!
//! An index counts when its leading columns are the foreign key's columns (in any order) and it is
//! not partial: known from `--schema`, or created anywhere in the draft (`CREATE INDEX`, a primary
//! key, a unique constraint). Without `--schema` pgsafe knows only the draft's indexes and says so.

use super::{Ctx, Diagnostic, Severity};
use crate::ir::catalog::{Catalog, ForeignKey};
use crate::ir::name::{key_of, make_object_name, quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};
use rustc_hash::FxHashMap as HashMap;

pub const RULE: &str = "fk-index";

/// The findings, from `cat`: the catalogue after the whole draft (an index created later in the
/// draft serves an earlier foreign key too). It is dropped as soon as what the findings need is
/// read from it: on a big draft it is a tenth of the compile's memory, and the findings are made
/// while the other passes finish.
pub fn run(ctx: &Ctx<'_, '_>, cat: Catalog) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let m = ctx.m;
    let adds_fk = |kind: &OpKind| {
        matches!(
            kind,
            OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { .. }, .. }
                | OpKind::AddColumn { reference: Some(_), .. }
                | OpKind::CreateTable { .. }
        )
    };
    if !m.stmts.iter().flat_map(|s| &s.ops).any(|op| adds_fk(&op.kind)) {
        return Vec::new();
    }
    let base = ctx.config.catalog.as_deref();
    // (statement, offset, the foreign key it adds)
    let mut added: Vec<(usize, usize, ForeignKey)> = Vec::new();
    for (i, s) in m.stmts.iter().enumerate().filter(|&(i, _)| ctx.applies(RULE, i)) {
        for op in &s.ops {
            // Unnamed: named as PostgreSQL would (`<table>_<columns>_fkey`).
            let fk = |name: Option<&String>, columns: Vec<String>, references: &Name, table: Name| ForeignKey {
                name: Some(name.cloned().unwrap_or_else(|| {
                    quote_ident(&make_object_name(&table.base_unquoted(), &columns.join("_"), "fkey"))
                })),
                table,
                columns,
                references: references.clone(),
            };
            match &op.kind {
                OpKind::AddConstraint {
                    table,
                    name,
                    kind: ConstraintKind::ForeignKey { references, columns, .. },
                    ..
                } => {
                    let columns = columns.iter().map(|c| key_of(c)).collect();
                    added.push((i, op.span.start, fk(name.as_ref(), columns, references, table.clone())));
                }
                OpKind::AddColumn { table, column, reference: Some(r), .. } => {
                    let f = fk(r.constraint_name.as_ref(), vec![column.clone()], &r.references, table.clone());
                    added.push((i, op.span.start, f));
                }
                OpKind::CreateTable { table, def } => {
                    for d in &def.foreign_keys {
                        added.push((
                            i,
                            op.span.start,
                            fk(d.name.as_ref(), d.columns.clone(), &d.references, table.clone()),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    // Indexes count wherever the draft creates them: `cat` is the state after the whole draft.
    // The column sets the foreign keys need (sorted: an index's leading columns serve them in any
    // order), by table; each index prefix is looked up in a reused buffer, so a draft of many
    // foreign keys and indexes stays linear and allocates nothing per index.
    let mut wanted: HashMap<&str, HashMap<Vec<&str>, bool>> = HashMap::default();
    for (_, _, fk) in &added {
        wanted.entry(fk.table.base()).or_default().entry(sorted(&fk.columns)).or_insert(false);
    }
    let (mut leading, mut prefix): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for ix in cat.indexes().filter(|ix| !ix.partial) {
        let Some(sets) = wanted.get_mut(ix.table.base()) else { continue };
        // The prefixes of plain columns, up to the first expression.
        leading.clear();
        leading.extend(ix.columns.iter().map_while(|c| c.as_deref()));
        for n in 1..=leading.len() {
            prefix.clear();
            prefix.extend_from_slice(&leading[..n]);
            prefix.sort_unstable();
            if let Some(served) = sets.get_mut(prefix.as_slice()) {
                *served = true;
            }
        }
    }
    // The foreign keys no index serves, and whether their table is partitioned.
    let unserved: Vec<(usize, usize, &ForeignKey, bool)> = added
        .iter()
        .filter(|(_, _, fk)| !fk.columns.is_empty() && !wanted[fk.table.base()][&sorted(&fk.columns)])
        .map(|&(i, at, ref fk)| (i, at, fk, cat.is_partitioned(&fk.table)))
        .collect();
    drop(cat);
    for (i, at, fk, partitioned) in unserved {
        let t = &fk.table.text;
        let cols: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
        let cols = cols.join(", ");
        let new_table = m.created_before(&fk.table, i + 1);
        let label = match &fk.name {
            Some(n) => format!("foreign key {n}"),
            None => format!("the foreign key {t} ({cols}) → {}", fk.references.text),
        };
        let known = match base {
            _ if new_table => String::new(),
            None => " (no --schema was given, so pgsafe knows only the indexes this draft creates)".into(),
            Some(b) if b.table(&fk.table).is_none() => format!(" (the --schema does not know {t})"),
            Some(_) => String::new(),
        };
        let index = quote_ident(&make_object_name(&fk.table.base_unquoted(), &fk.columns.join("_"), "idx"));
        let sql = if new_table {
            format!("CREATE INDEX {index} ON {t} ({cols});")
        } else if partitioned {
            format!(
                "CREATE INDEX {index} ON ONLY {t} ({cols}); then per partition CREATE INDEX CONCURRENTLY and ALTER INDEX \
                 {index} ATTACH PARTITION (see the partitions rule)"
            )
        } else {
            format!("CREATE INDEX CONCURRENTLY {index} ON {t} ({cols});")
        };
        out.push(Diagnostic::new(
            RULE,
            Severity::Warning,
            at,
            format!(
                "no index on {t} ({cols}) serves {label}: every DELETE or key UPDATE on {r} then scans {t} to check it{known}. \
                 Add one: {sql}",
                r = fk.references.text
            ),
        ));
    }
    out
}

/// `columns`, sorted, borrowed.
fn sorted(columns: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = columns.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted
}

#[cfg(test)]
mod tests {
    use crate::ir::catalog::Catalog;
    use crate::{compile, Config};

    fn diagnostics(sql: &str, schema: Option<&str>) -> Vec<String> {
        let catalog = schema.map(|s| std::sync::Arc::new(Catalog::from_sql(s)));
        let c = compile("t.sql", sql, &Config { catalog, ..Config::default() }).unwrap();
        c.diagnostics.iter().filter(|d| d.rule == super::RULE).map(|d| d.message.clone()).collect()
    }

    const FK: &str = "ALTER TABLE orders ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users (id);";

    #[test]
    fn missing_index_is_offered() {
        let d = diagnostics(FK, None);
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("no --schema was given"), "{d:?}");
        assert!(d[0].ends_with("CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);"), "{d:?}");
        let schema = "CREATE TABLE orders (id int PRIMARY KEY, user_id int);";
        let d = diagnostics(FK, Some(schema));
        assert!(!d[0].contains("--schema"), "{d:?}");
    }

    #[test]
    fn an_index_from_the_schema_or_the_draft_counts() {
        let schema = "CREATE TABLE orders (id int PRIMARY KEY, user_id int);\nCREATE INDEX ON orders (user_id, id);";
        assert!(diagnostics(FK, Some(schema)).is_empty());
        let draft = format!("{FK}\nCREATE INDEX CONCURRENTLY idx_orders_user ON orders (user_id);");
        assert!(diagnostics(&draft, None).is_empty());
        // A partial index or one that leads with another column does not.
        let schema = "CREATE TABLE orders (id int, user_id int);\nCREATE INDEX a ON orders (id, user_id);\n\
                      CREATE INDEX b ON orders (user_id) WHERE id > 0;";
        assert_eq!(diagnostics(FK, Some(schema)).len(), 1);
    }

    #[test]
    fn new_tables_get_a_plain_index() {
        let d = diagnostics(
            "CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders (id), sku text, \
             CONSTRAINT items_sku_fk FOREIGN KEY (sku) REFERENCES skus (code));\nCREATE INDEX ON items (sku);",
            None,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("CREATE INDEX items_order_id_idx ON items (order_id);"), "{d:?}");
        assert!(diagnostics("CREATE TABLE items (order_id int PRIMARY KEY REFERENCES orders (id));", None).is_empty());
    }
}
