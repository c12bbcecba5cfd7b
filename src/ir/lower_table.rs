//! Lowering of `CREATE TABLE` and of the key of `CREATE INDEX`: the columns, keys, foreign keys
//! and partitioning the catalogue records, typed, so the catalogue never reads a statement.

use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::lower_action::collapse;
use super::lower_expr::ident_key;
use super::name::{key_of, Name};
use super::op::{ColumnDef, ForeignKeyDef, OpKind, PartitionKey, TableDef};
use crate::front::forms;
use crate::front::tokens::{lex, Tok, Token};
use sqlparser::ast::{
    ColumnOption, CreateTable, Expr, ForValues, FunctionArg, FunctionArgExpr, FunctionArguments, IndexColumn,
    TableConstraint,
};

/// `CREATE TABLE` as sqlparser read it; the referenced tables of its foreign keys are locked.
pub fn create_table(ct: &CreateTable) -> (OpKind, Vec<LockUse>) {
    let table = Name::new(&ct.name.to_string());
    let mut def = TableDef {
        if_not_exists: ct.if_not_exists,
        temporary: ct.temporary,
        columns_known: ct.query.is_none() && ct.like.is_none(),
        partition_of: ct.partition_of.as_ref().map(|p| Name::new(&p.to_string())),
        default_partition: matches!(ct.for_values, Some(ForValues::Default)),
        partition_by: ct.partition_by.as_deref().map(partition_key),
        inherits: ct.inherits.iter().flatten().map(|n| Name::new(&n.to_string())).collect(),
        ..TableDef::default()
    };
    for cd in &ct.columns {
        let name = ident_key(&cd.name);
        let mut not_null = false;
        for o in &cd.options {
            let constraint_name = o.name.as_ref().map(|n| n.to_string());
            match &o.option {
                ColumnOption::NotNull => not_null = true,
                ColumnOption::PrimaryKey(_) => {
                    not_null = true;
                    def.primary_key = Some((constraint_name, vec![Some(name.clone())]));
                }
                ColumnOption::Unique(_) => def.unique.push((constraint_name, vec![Some(name.clone())])),
                ColumnOption::ForeignKey(fk) => def.foreign_keys.push(ForeignKeyDef {
                    name: constraint_name,
                    columns: vec![name.clone()],
                    references: Name::new(&fk.foreign_table.to_string()),
                }),
                _ => {}
            }
        }
        def.columns.push(ColumnDef { name, type_text: cd.data_type.to_string().to_lowercase(), not_null });
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(p) => {
                def.primary_key = Some((p.name.as_ref().map(|n| n.to_string()), index_columns(&p.columns)))
            }
            TableConstraint::Unique(u) => {
                def.unique.push((u.name.as_ref().map(|n| n.to_string()), index_columns(&u.columns)))
            }
            TableConstraint::ForeignKey(fk) => def.foreign_keys.push(ForeignKeyDef {
                name: fk.name.as_ref().map(|n| n.to_string()),
                columns: fk.columns.iter().map(ident_key).collect(),
                references: Name::new(&fk.foreign_table.to_string()),
            }),
            _ => {}
        }
    }
    let locks = def.foreign_keys.iter().map(|fk| lock(&fk.references, LockMode::ShareRowExclusive, false)).collect();
    (OpKind::CreateTable { table, def: Box::new(def) }, locks)
}

/// `CREATE [TEMP|UNLOGGED] TABLE [IF NOT EXISTS] name …` that sqlparser could not read: the table
/// exists afterwards, with columns pgsafe does not know, and partitioned if it says `PARTITION BY`.
pub fn create_table_from_tokens(text: &str) -> Option<OpKind> {
    let toks = lex(text);
    let mut k = 1;
    let mut temporary = false;
    while let Some(t) = toks.get(k) {
        if t.is_word("temp") || t.is_word("temporary") {
            temporary = true;
        } else if !(t.is_word("global") || t.is_word("local") || t.is_word("unlogged")) {
            break;
        }
        k += 1;
    }
    if !toks.first()?.is_word("create") || !toks.get(k)?.is_word("table") {
        return None;
    }
    k += 1;
    let if_not_exists = toks.get(k).is_some_and(|t| t.is_word("if"));
    if if_not_exists {
        k += 3;
    }
    let start = toks.get(k)?.span.start;
    let end = start + forms::name_len(&text[start..])?;
    let table = Name::new(&text[start..end]);
    let after = toks.iter().position(|t| t.span.start >= end).unwrap_or(toks.len());
    let mut def = TableDef { if_not_exists, temporary, columns_known: false, ..TableDef::default() };
    if toks.get(after).is_some_and(|t| t.is_word("partition")) && toks.get(after + 1).is_some_and(|t| t.is_word("of")) {
        let p = toks.get(after + 2)?.span.start;
        def.partition_of = Some(Name::new(&text[p..p + forms::name_len(&text[p..])?]));
        def.default_partition = toks[after + 2..].iter().any(|t| t.is_word("default"));
    }
    let mut depth = 0;
    for (i, tok) in toks.iter().enumerate().skip(after) {
        match tok.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && tok.is_word("partition") && toks.get(i + 1).is_some_and(|t| t.is_word("by")) => {
                let rest = toks.get(i + 2).map_or(text.len(), |t| t.span.start);
                def.partition_by = Some(PartitionKey { text: collapse(&text[rest..]), columns: Vec::new() });
                break;
            }
            _ => {}
        }
    }
    Some(OpKind::CreateTable { table, def: Box::new(def) })
}

/// `PARTITION BY RANGE (a, lower(b))`, which sqlparser reads as a call of `RANGE`.
fn partition_key(e: &Expr) -> PartitionKey {
    let columns = match e {
        Expr::Function(f) => match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(id))) => Some(ident_key(id)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    PartitionKey { text: e.to_string(), columns }
}

/// `a`, `(a)`, `a DESC` → the column key; an expression → `None`.
pub fn index_columns(cols: &[IndexColumn]) -> Vec<Option<String>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(id) => Some(ident_key(id)),
            Expr::Nested(e) => match e.as_ref() {
                Expr::Identifier(id) => Some(ident_key(id)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The key of `CREATE INDEX … ON t [USING m] (a, lower(b), c DESC) [… WHERE …]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexShape {
    /// Folded key columns; `None` for an expression.
    pub columns: Vec<Option<String>>,
    /// PostgreSQL's name for each element in a default index name (`a`, `lower`, `expr`).
    pub names: Vec<String>,
    pub partial: bool,
}

/// The key of `CREATE INDEX` from the text after the table name (`tail`), read from the tokens:
/// sqlparser cannot parse `ON ONLY` or placeholders.
pub fn index_shape(tail: &str) -> IndexShape {
    let toks = lex(tail);
    let Some(open) = toks.iter().position(|t| t.is_punct('(')) else { return IndexShape::default() };
    let mut columns = Vec::new();
    let mut names = Vec::new();
    let mut depth = 0;
    let mut element: Vec<&Token> = Vec::new();
    let mut close = toks.len();
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('(') => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    columns.push(element_column(tail, &element));
                    names.push(element_name(&element));
                    close = i;
                    break;
                }
            }
            Tok::Punct(',') if depth == 1 => {
                columns.push(element_column(tail, &element));
                names.push(element_name(&element));
                element.clear();
                continue;
            }
            _ => {}
        }
        element.push(t);
    }
    let mut depth = 0;
    let partial = toks.iter().skip(close + 1).any(|t| {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        depth == 0 && t.is_word("where")
    });
    IndexShape { columns, names, partial }
}

/// What PostgreSQL names an index element after: the column, the function called, or `expr`.
fn element_name(element: &[&Token]) -> String {
    element.first().and_then(|t| t.ident()).unwrap_or_else(|| "expr".into())
}

/// One index element: a bare column (maybe with COLLATE, an operator class, ASC/DESC, NULLS …).
fn element_column(text: &str, element: &[&Token]) -> Option<String> {
    let first = element.first()?;
    if !matches!(first.tok, Tok::Word(_) | Tok::Quoted(_)) {
        return None;
    }
    // A function call or a qualified name/operator right after: an expression.
    if element.get(1).is_some_and(|t| matches!(t.tok, Tok::Punct(_))) {
        return None;
    }
    Some(key_of(&text[first.span.clone()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::parse::parse_statement;

    #[test]
    fn create_table_is_typed() {
        let sql = "CREATE TABLE IF NOT EXISTS s.items (id bigserial PRIMARY KEY, \"Sku\" text NOT NULL UNIQUE, \
                   order_id int REFERENCES orders (id), CONSTRAINT items_fk FOREIGN KEY (sku2) REFERENCES skus (code)) \
                   PARTITION BY RANGE (id)";
        let Some(sqlparser::ast::Statement::CreateTable(ct)) = parse_statement(sql) else { panic!() };
        let (OpKind::CreateTable { table, def }, locks) = create_table(&ct) else { panic!() };
        assert_eq!(&*table.key, "s.items");
        assert!(def.if_not_exists && def.columns_known);
        assert_eq!(def.primary_key, Some((None, vec![Some("id".into())])));
        assert_eq!(def.columns[1].name, "Sku");
        assert!(def.columns[1].not_null);
        assert_eq!(def.unique, vec![(None, vec![Some("Sku".into())])]);
        assert_eq!(def.foreign_keys.len(), 2);
        assert_eq!(def.partition_by.unwrap().columns, vec![Some("id".into())]);
        assert_eq!(locks.len(), 2);
    }

    #[test]
    fn unreadable_create_table_still_creates() {
        let Some(OpKind::CreateTable { table, def }) = create_table_from_tokens(
            "CREATE UNLOGGED TABLE IF NOT EXISTS s.b (x weird type here ,,) PARTITION BY HASH (x)",
        ) else {
            panic!()
        };
        assert_eq!(&*table.key, "s.b");
        assert!(!def.columns_known && def.if_not_exists && def.partition_by.is_some());
    }

    #[test]
    fn index_columns_from_the_tail() {
        let s = index_shape(" USING btree (lower((status)::text), amount, \"Code\" DESC)");
        assert_eq!(s.columns, vec![None, Some("amount".into()), Some("Code".into())]);
        assert_eq!(s.names, ["lower", "amount", "Code"]);
        assert!(!s.partial);
        assert!(index_shape(" (created_at) WHERE (status = 'new')").partial);
    }
}
