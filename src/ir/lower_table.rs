//! Lowering of `CREATE TABLE` and of the key of `CREATE INDEX`: the columns, keys, foreign keys
//! and partitioning the catalogue records, typed, so the catalogue never reads a statement.

use super::by_hand::{check, plain_tokens, primary_key, unique, Cursor};
use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::lower_action::collapse;
use super::lower_expr::ident_key;
use super::name::{key_of, Name};
use super::op::{ColumnDef, ForeignKeyDef, OpKind, PartitionKey, TableDef, UniqueDef};
use crate::front::forms;
use crate::front::parse::{may_be_too_deep, parse_expr};
use crate::front::tokens::{lex, Tok, Token};
use sqlparser::ast::helpers::stmt_create_table::CreateTableBuilder;
use sqlparser::ast::{
    ColumnDef as SqlColumnDef, ColumnOption, ColumnOptionDef, CreateTable, Expr, ForValues, FunctionArg,
    FunctionArgExpr, FunctionArguments, GeneratedAs, IndexColumn, TableConstraint,
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
        drop_on_commit: matches!(ct.on_commit, Some(sqlparser::ast::OnCommit::Drop)),
        ..TableDef::default()
    };
    for cd in &ct.columns {
        let name = ident_key(&cd.name);
        let (mut not_null, mut collation) = (false, None);
        for o in &cd.options {
            let constraint_name = o.name.as_ref().map(|n| n.to_string());
            match &o.option {
                ColumnOption::NotNull => not_null = true,
                ColumnOption::Collation(c) => collation = Some(c.to_string().into()),
                ColumnOption::PrimaryKey(_) => {
                    not_null = true;
                    def.primary_key = Some((constraint_name, vec![Some(name.clone())]));
                }
                ColumnOption::Unique(_) => def.unique.push(UniqueDef {
                    name: constraint_name,
                    columns: vec![Some(name.clone())],
                    include: Vec::new(),
                    without_overlaps: false,
                }),
                ColumnOption::ForeignKey(fk) => def.foreign_keys.push(ForeignKeyDef {
                    name: constraint_name,
                    columns: vec![name.clone()],
                    references: Name::new(&fk.foreign_table.to_string()),
                }),
                _ => {}
            }
        }
        def.columns.push(ColumnDef { name, type_text: cd.data_type.to_string().to_lowercase(), not_null, collation });
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(p) => {
                def.primary_key = Some((p.name.as_ref().map(|n| n.to_string()), index_columns(&p.columns)))
            }
            TableConstraint::Unique(u) => def.unique.push(UniqueDef {
                name: u.name.as_ref().map(|n| n.to_string()),
                columns: index_columns(&u.columns),
                include: u.include.iter().map(ident_key).collect(),
                without_overlaps: false,
            }),
            TableConstraint::ForeignKey(fk) => def.foreign_keys.push(ForeignKeyDef {
                name: fk.name.as_ref().map(|n| n.to_string()),
                columns: fk.columns.iter().map(ident_key).collect(),
                references: Name::new(&fk.foreign_table.to_string()),
            }),
            TableConstraint::Exclude(e) => {
                def.exclusions.push((e.name.as_ref().map(|n| n.to_string()), exclusion_element_names(e)))
            }
            _ => {}
        }
    }
    let locks = locks_of(&def);
    (OpKind::CreateTable { table, def: Box::new(def) }, locks)
}

/// The locks a `CREATE TABLE` takes on existing tables: SHARE ROW EXCLUSIVE on each table its
/// foreign keys reference, and ACCESS EXCLUSIVE on the parent it is a partition of (measured in
/// tests/lock_model.rs: writes to the parent queue behind it).
pub fn locks_of(def: &TableDef) -> Vec<LockUse> {
    let keys = def.foreign_keys.iter().map(|fk| lock(&fk.references, LockMode::ShareRowExclusive, false));
    keys.chain(def.partition_of.iter().map(|p| lock(p, LockMode::AccessExclusive, false))).collect()
}

/// `CREATE TABLE [IF NOT EXISTS] t (…)` read from pgsafe's tokens: the very tree sqlparser would
/// read, for a list of columns and keys whose parts are each plain. A column is `a <type>` and
/// any of `[CONSTRAINT c] NOT NULL | NULL | PRIMARY KEY | UNIQUE | REFERENCES t [(b)] [ON …] |
/// CHECK (<expression>) | DEFAULT <expression> | GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY`; a
/// key is `[CONSTRAINT c] PRIMARY KEY (a, …) | UNIQUE (a, …) | FOREIGN KEY (a, …) REFERENCES … |
/// CHECK (<expression>)`. sqlparser reads only a type or an expression, alone.
///
/// A quarter of a `gen_big.py` draft's lowering was sqlparser reading its tables. `None` unless
/// sqlparser would read exactly this tree (the tests compare the two as `ir::by_hand` says),
/// and unless each element of the list is short enough ([`may_be_too_deep`] of its text alone)
/// that sqlparser cannot give up on the statement's depth.
pub fn create_table_by_hand(text: &str) -> Option<CreateTable> {
    let toks = plain_tokens(text)?;
    let mut c = Cursor::new(text, &toks, ELEMENT_WORDS);
    if !c.words(&["create", "table"]) {
        return None;
    }
    let if_not_exists = c.words(&["if", "not", "exists"]);
    let name = c.object_name()?;
    let (mut columns, mut constraints) = (Vec::new(), Vec::new());
    // The list must open (the fifteenth fuzz run found `CREATE TABLE t)` read as no columns).
    let mut next = c.punct('(');
    if !next {
        return None;
    }
    while next {
        c.i += 1;
        let start = c.i;
        match table_constraint(&mut c)? {
            Some(constraint) => constraints.push(constraint),
            None => columns.push(column(&mut c)?),
        }
        let element = &text[toks[start].span.start..toks[c.i.checked_sub(1)?].span.end];
        if may_be_too_deep(element) {
            return None;
        }
        next = c.punct(',');
    }
    (c.punct(')') && c.i + 1 == toks.len()).then_some(())?;
    Some(CreateTableBuilder::new(name).if_not_exists(if_not_exists).columns(columns).constraints(constraints).build())
}

/// The words sqlparser reads as the start of a key where [`create_table_by_hand`] would read a
/// column's name, and the words of a column's options where it would read a name in them.
const ELEMENT_WORDS: &[&str] = &["constraint", "primary", "unique", "foreign", "check", "key", "index", "like"];

/// The words that end a column's type or its `DEFAULT` expression: its next option.
const OPTION_WORDS: &[&str] =
    &["constraint", "not", "null", "primary", "unique", "references", "check", "default", "generated", "collate"];

/// A key of the list (`Some`), or `Some(None)` when the element is a column; `None` when it does
/// not read.
fn table_constraint(c: &mut Cursor<'_, '_>) -> Option<Option<TableConstraint>> {
    let name = if c.words(&["constraint"]) { Some(c.name()?) } else { None };
    let constraint: TableConstraint = if c.words(&["primary", "key"]) {
        primary_key(name, c.key_columns()?).into()
    } else if c.words(&["unique"]) {
        unique(name, c.key_columns()?).into()
    } else if c.words(&["foreign", "key"]) {
        let columns = c.list(Cursor::name)?;
        c.words(&["references"]).then(|| c.references(name, columns))??.into()
    } else if c.words(&["check"]) {
        check(name, c.parenthesized(parse_expr)?).into()
    } else if name.is_some() {
        return None;
    } else {
        return Some(None);
    };
    Some(Some(constraint))
}

/// `a <type> [option …]`.
fn column(c: &mut Cursor<'_, '_>) -> Option<SqlColumnDef> {
    let name = c.name()?;
    let data_type = c.data_type(OPTION_WORDS)?;
    let mut options = Vec::new();
    loop {
        let name = if c.words(&["constraint"]) { Some(c.name()?) } else { None };
        let option = if c.words(&["not", "null"]) {
            ColumnOption::NotNull
        } else if c.words(&["null"]) {
            ColumnOption::Null
        } else if c.words(&["primary", "key"]) {
            ColumnOption::PrimaryKey(primary_key(None, Vec::new()))
        } else if c.words(&["unique"]) {
            ColumnOption::Unique(unique(None, Vec::new()))
        } else if c.words(&["references"]) {
            ColumnOption::ForeignKey(c.references(None, Vec::new())?)
        } else if c.words(&["check"]) {
            let from = c.i;
            let expr = c.parenthesized(parse_expr)?;
            read_as_alone(&c.toks[from..c.i]).then_some(())?;
            ColumnOption::Check(check(None, expr))
        } else if c.words(&["default"]) {
            let from = c.i;
            let expr = c.expression(OPTION_WORDS, parse_expr)?;
            let toks = &c.toks[from..c.i];
            (toks.len() == 1 || read_as_alone(toks)).then_some(())?;
            ends_as_alone(toks.last()?).then_some(())?;
            ColumnOption::Default(expr)
        } else if let Some(generated_as) = identity(c) {
            ColumnOption::Generated {
                generated_as,
                sequence_options: Some(Vec::new()),
                generation_expr: None,
                generation_expr_mode: None,
                generated_keyword: true,
            }
        } else if name.is_some() {
            return None;
        } else {
            break;
        };
        options.push(ColumnOptionDef { name, option });
    }
    Some(SqlColumnDef { name, data_type, options })
}

/// Does sqlparser read a column's expression (`toks`) as it reads it alone? In a column's
/// definition `NOT NULL` and `NULL` after an operand end it, and `COLLATE` is the column's: so no
/// `COLLATE`, and `NULL` only after `IS` or `IS NOT`.
fn read_as_alone(toks: &[Token]) -> bool {
    toks.iter().enumerate().all(|(k, t)| {
        let after = |w: &str, back: usize| k.checked_sub(back).is_some_and(|j| toks[j].is_word(w));
        !t.is_word("collate") && (!t.is_word("null") || after("is", 1) || after("not", 1) && after("is", 2))
    })
}

/// Can the last token of a `DEFAULT` expression not be read otherwise when a column's next option
/// follows it? Alone, sqlparser reads a keyword that starts more (`INTERVAL`, `NOT`) as a name at
/// the end of the text; a word is therefore no keyword, or one that is a value alone.
fn ends_as_alone(last: &Token) -> bool {
    const VALUES: &[&str] =
        &["true", "false", "null", "current_timestamp", "current_date", "current_time", "localtimestamp", "localtime"];
    match &last.tok {
        Tok::Word(w) => {
            let keyword = sqlparser::keywords::ALL_KEYWORDS.binary_search(&w.to_ascii_uppercase().as_str()).is_ok();
            !keyword || VALUES.iter().any(|v| w.eq_ignore_ascii_case(v))
        }
        _ => true,
    }
}

/// `GENERATED ALWAYS AS IDENTITY` or `GENERATED BY DEFAULT AS IDENTITY` (no sequence options).
fn identity(c: &mut Cursor<'_, '_>) -> Option<GeneratedAs> {
    if c.words(&["generated", "always", "as", "identity"]) {
        Some(GeneratedAs::Always)
    } else {
        c.words(&["generated", "by", "default", "as", "identity"]).then_some(GeneratedAs::ByDefault)
    }
}

/// `CREATE TABLE` with PostgreSQL 18's temporal keys (`ir::lower_temporal`), which sqlparser reads
/// with their temporal words blanked: the table as [`create_table`] lowers it, its keys marked
/// `WITHOUT OVERLAPS` where they are. `None` for any other statement.
pub fn create_temporal_table(text: &str) -> Option<(OpKind, Vec<LockUse>)> {
    let temporal = super::lower_temporal::read(text)?;
    let Ok(sqlparser::ast::Statement::CreateTable(ct)) = crate::front::parse::parse(&temporal.masked) else {
        return None;
    };
    let (mut kind, locks) = create_table(&ct);
    temporal.mark_table(&mut kind).then_some((kind, locks))
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
    let drop_on_commit = toks.windows(3).any(|w| w[0].is_word("on") && w[1].is_word("commit") && w[2].is_word("drop"));
    let mut def = TableDef { if_not_exists, temporary, columns_known: false, drop_on_commit, ..TableDef::default() };
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

/// What PostgreSQL names each element of an exclusion constraint's index after
/// (`FigureIndexColname`: the column, the function called, `expr` for an operator), or `None`
/// where pgsafe cannot tell (a cast of an expression is named after its type, as the parser
/// spells it: `int` is `int4`). An unnamed constraint's index is `<table>_<names>_excl`.
pub fn exclusion_element_names(e: &sqlparser::ast::ExcludeConstraint) -> Option<Vec<String>> {
    /// A column, or a function's name: kept through a cast (`FigureColnameInternal`'s strength 2).
    fn strong(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Identifier(id) => Some(ident_key(id)),
            Expr::CompoundIdentifier(ids) => ids.last().map(ident_key),
            Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_key),
            Expr::Nested(e) => strong(e),
            _ => None,
        }
    }
    fn named(expr: &Expr) -> Option<String> {
        strong(expr).or_else(|| match expr {
            Expr::Nested(e) => named(e),
            Expr::Cast { expr, .. } => strong(expr),
            Expr::BinaryOp { .. } | Expr::UnaryOp { .. } => Some("expr".into()),
            _ => None,
        })
    }
    e.elements.iter().map(|el| named(&el.column.column.expr)).collect()
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
    use super::super::by_hand::samples::{every_keyword_in, every_type_in, same_tree};
    use super::*;
    use crate::front::parse::parse_statement;
    use proptest::prelude::*;
    use sqlparser::ast::Statement;

    /// The soundness of [`create_table_by_hand`]: where it reads a tree, sqlparser reads the same
    /// one.
    fn agrees(sql: &str) -> Result<bool, String> {
        same_tree(sql, create_table_by_hand(sql), |s| match s {
            Statement::CreateTable(ct) => Some(ct),
            _ => None,
        })
    }

    /// Tables with `{}` where a name goes.
    const FORMS: &[&str] = &[
        "CREATE TABLE {} (a int)",
        "CREATE TABLE IF NOT EXISTS {}.t (a int)",
        "CREATE TABLE d.s.{} (a int)",
        "CREATE TABLE t ({} int)",
        "CREATE TABLE t (a int, {} text NOT NULL)",
        "CREATE TABLE t ({} int PRIMARY KEY, b int)",
        "CREATE TABLE t (a {})",
        "CREATE TABLE t (a {}(3) NOT NULL)",
        "CREATE TABLE t (a int CONSTRAINT {} NOT NULL)",
        "CREATE TABLE t (a int REFERENCES {} ON DELETE CASCADE)",
        "CREATE TABLE t (a int REFERENCES {}.p ({}))",
        "CREATE TABLE t (a int REFERENCES p (id) ON UPDATE SET NULL)",
        "CREATE TABLE t (a int DEFAULT {})",
        "CREATE TABLE t (a int DEFAULT {}() NOT NULL)",
        "CREATE TABLE t (a int DEFAULT {} PRIMARY KEY)",
        "CREATE TABLE t (a int DEFAULT 1 + {} NOT NULL)",
        "CREATE TABLE t (a int DEFAULT ({}) UNIQUE)",
        "CREATE TABLE t (a int DEFAULT f({}) REFERENCES p)",
        "CREATE TABLE t (a int DEFAULT 'x' {} NULL)",
        "CREATE TABLE t (a int DEFAULT {} 'x' CHECK (a > 0))",
        "CREATE TABLE t (a int NOT NULL DEFAULT {}, b int)",
        "CREATE TABLE t (a int CHECK (a {} 0) DEFAULT 1)",
        "CREATE TABLE t (a int CHECK (a IS NOT {}))",
        "CREATE TABLE t (a int CHECK ({} > 0))",
        "CREATE TABLE t (a int, CONSTRAINT {} PRIMARY KEY (a))",
        "CREATE TABLE t (a int, PRIMARY KEY ({}))",
        "CREATE TABLE t (a int, UNIQUE (a, {}))",
        "CREATE TABLE t (a int, CONSTRAINT {} UNIQUE (a))",
        "CREATE TABLE t (a int, FOREIGN KEY ({}) REFERENCES p)",
        "CREATE TABLE t (a int, CONSTRAINT {} FOREIGN KEY (a) REFERENCES p (b))",
        "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES p ({}) ON DELETE NO ACTION)",
        "CREATE TABLE t (a int, CONSTRAINT {} CHECK (a <> 1))",
        "CREATE TABLE t (a int, CHECK ({}(a) = 1), b int)",
        "CREATE TABLE t (PRIMARY KEY (a), {} int)",
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY, {} int)",
    ];

    #[test]
    fn every_keyword_of_sqlparser_as_every_name_reads_as_sqlparser_reads_it() {
        every_keyword_in(FORMS, agrees);
    }

    #[test]
    fn every_type_and_what_follows_it_reads_as_sqlparser_reads_it() {
        every_type_in(
            &[
                "CREATE TABLE t (c {})",
                "CREATE TABLE t (a int, c {}, b text)",
                "CREATE TABLE t (c {}, PRIMARY KEY (c))",
            ],
            agrees,
        );
    }

    #[test]
    fn the_tables_of_a_big_draft_are_read_by_hand() {
        for sql in [
            "CREATE TABLE IF NOT EXISTS new_tbl_49 (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
             column_0_30161 uuid NOT NULL,\n    column_1_09305 smallint,\n    column_3_09016 varchar(255),\n    \
             column_1_09602 numeric(12,2) NOT NULL,\n    column_5_92214 timestamptz\n)",
            "create table \"Odd \"\"Name\"\"\" (id serial primary key, created_at timestamptz not null default now())",
            "CREATE TABLE app.orders (id bigint GENERATED BY DEFAULT AS IDENTITY, customer_id bigint NOT NULL \
             REFERENCES app.customers (id) ON DELETE CASCADE, status text NOT NULL DEFAULT 'new' CHECK (status <> ''), \
             CONSTRAINT orders_pk PRIMARY KEY (id), UNIQUE (customer_id, ref_no))",
        ] {
            assert_eq!(agrees(sql), Ok(true), "{sql}");
        }
        // Elements as deep as a hand-read one may be: sqlparser reads them, the same tree.
        for element in [
            format!("a int DEFAULT {}1{}", "(".repeat(10), ")".repeat(10)),
            format!("a int DEFAULT {}1", "- ".repeat(20)),
            format!("a int CHECK ({}a{})", "(".repeat(9), ")".repeat(9)),
            format!("CHECK ({}a > 0{})", "(".repeat(9), ")".repeat(9)),
        ] {
            let sql = format!("CREATE TABLE t ({element}, {element})");
            assert_eq!(agrees(&sql), Ok(true), "{sql}");
        }
        // Left to sqlparser: a comment, a placeholder, what follows the list, an empty list, a
        // typed table, sequence options, an element too long to be sure of its depth.
        let long_check = format!("CREATE TABLE t (a int CHECK ({}))", ["a > 0"; 8].join(" AND "));
        for sql in [
            "CREATE TABLE t (a int /* x */)",
            "CREATE TABLE :t (a int)",
            "CREATE TABLE t (a int) PARTITION BY RANGE (a)",
            "CREATE TABLE t (a int) INHERITS (p)",
            "CREATE TEMP TABLE t (a int)",
            "CREATE TABLE t ()",
            "CREATE TABLE t)",
            "CREATE TABLE t (a int,)",
            "CREATE TABLE t OF some_type",
            "CREATE TABLE t AS SELECT 1",
            "CREATE TABLE t (LIKE p)",
            "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY (START WITH 10))",
            "CREATE TABLE t (a text COLLATE \"C\")",
            "CREATE TABLE t (a int DEFAULT 1",
            long_check.as_str(),
        ] {
            assert_eq!(create_table_by_hand(sql), None, "{sql}");
        }
        let too_long = format!("CREATE TABLE t (a int DEFAULT {}1)", "- ".repeat(21));
        assert_eq!(create_table_by_hand(&too_long), None, "an element of 25 tokens");
    }

    /// A column or key of a list, from parts near the forms (and some that are not).
    fn element() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            4 => prop_oneof![Just("a"), Just("b"), Just("id"), Just("status"), Just("value"), Just("\"A b\"")],
            1 => prop_oneof![
                Just("user"), Just("key"), Just("primary"), Just("null"), Just("true"), Just("current_date"),
                Just("\"q\"\"\""), Just("\"\""), Just("x$"), Just("é"), Just("$1"), Just("check"), Just("like"),
                Just("interval"),
            ],
        ];
        let ty = prop_oneof![
            4 => prop_oneof![
                Just("int"), Just("bigint"), Just("text"), Just("varchar(3)"), Just("numeric(1,2)"), Just("text[]"),
                Just("double precision"), Just("timestamp with time zone"), Just("uuid"), Just("s.my_type"),
            ],
            1 => prop_oneof![Just("interval day"), Just("int ("), Just("bit varying(2)"), Just("setof int")],
        ];
        let option = prop_oneof![
            4 => prop_oneof![
                Just("NOT NULL"), Just("NULL"), Just("PRIMARY KEY"), Just("UNIQUE"), Just("REFERENCES p"),
                Just("REFERENCES s.p (id) ON DELETE CASCADE ON UPDATE SET NULL"), Just("CHECK (a > 0)"),
                Just("CHECK (a IS NOT NULL)"), Just("DEFAULT 0"), Just("DEFAULT -1.5"), Just("DEFAULT now()"),
                Just("DEFAULT 'x'"), Just("DEFAULT NULL"), Just("DEFAULT true"), Just("DEFAULT current_timestamp"),
                Just("DEFAULT (1 + 2)"), Just("DEFAULT f(a, 'b')"), Just("GENERATED ALWAYS AS IDENTITY"),
                Just("GENERATED BY DEFAULT AS IDENTITY"), Just("CONSTRAINT c NOT NULL"),
            ],
            1 => prop_oneof![
                Just("REFERENCES p ()"), Just("CHECK (a NOT NULL)"), Just("CHECK (b NULL)"), Just("DEFAULT a NOT"),
                Just("DEFAULT interval"), Just("DEFAULT 1 +"), Just("DEFAULT (x NOT NULL)"), Just("CONSTRAINT c"),
                Just("COLLATE \"C\""), Just("NOT"), Just("IN (1)"), Just("::"), Just("DEFAULT 'a' COLLATE \"C\""),
                Just("MATCH FULL"), Just("DEFERRABLE"),
            ],
        ];
        let key = prop_oneof![
            4 => prop_oneof![
                Just("PRIMARY KEY (a)"), Just("PRIMARY KEY (a, b)"), Just("UNIQUE (a, id)"),
                Just("FOREIGN KEY (a) REFERENCES p (id)"), Just("FOREIGN KEY (a, b) REFERENCES s.p ON DELETE RESTRICT"),
                Just("CONSTRAINT k CHECK (a IS NOT NULL)"), Just("CONSTRAINT k UNIQUE (a)"),
            ],
            1 => prop_oneof![
                Just("UNIQUE ()"), Just("CHECK (a NOT NULL)"), Just("CONSTRAINT k PRIMARY KEY (current_date)"),
                Just("UNIQUE NULLS NOT DISTINCT (a)"), Just("EXCLUDE USING gist (a WITH &&)"), Just("LIKE p"),
                Just("CONSTRAINT k"),
            ],
        ];
        prop_oneof![
            3 => (name, ty, proptest::collection::vec(option, 0..3))
                .prop_map(|(n, t, o)| format!("{n} {t} {}", o.join(" "))),
            1 => key.prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Tables near the forms (names of every kind, options in any order, keys, blanks, case,
        /// words added): wherever one is read by hand, sqlparser reads the same tree.
        #[test]
        fn a_tree_read_by_hand_is_the_tree_sqlparser_reads(
            head in prop_oneof![Just("CREATE TABLE t"), Just("create table if not exists s.\"T\""), Just("CREATE TABLE key")],
            elements in proptest::collection::vec(element(), 0..5),
            blank in prop_oneof![Just(" "), Just("\n  "), Just("\t"), Just("")],
            open in prop_oneof![9 => Just("("), 1 => Just("")],
            noise in proptest::option::weighted(0.3, (0usize..200, prop_oneof![
                Just(","), Just("("), Just(")"), Just("--c\n"), Just("/**/"), Just(";"), Just("\u{a0}"),
                Just("NOT"), Just("NULL"), Just("IS"), Just("DEFAULT"), Just("'s'"), Just("1a"),
            ])),
        ) {
            let mut sql = format!("{head}{blank}{open}{blank}{}{blank})", elements.join(&format!(",{blank}")));
            if let Some((at, word)) = noise {
                let at = (0..=at.min(sql.len())).rev().find(|&k| sql.is_char_boundary(k)).unwrap_or(0);
                sql.insert_str(at, &format!(" {word} "));
            }
            prop_assert!(agrees(&sql).is_ok(), "{}", agrees(&sql).unwrap_err());
        }
    }

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
        assert_eq!(
            def.unique,
            vec![UniqueDef {
                name: None,
                columns: vec![Some("Sku".into())],
                include: Vec::new(),
                without_overlaps: false
            }]
        );
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
    fn exclusion_elements_are_named_after_their_column_or_function() {
        let names = |sql: &str| {
            let Some(Statement::CreateTable(ct)) = parse_statement(sql) else { panic!("{sql}") };
            let Some(TableConstraint::Exclude(e)) = ct.constraints.first() else { panic!("{sql}") };
            exclusion_element_names(e)
        };
        let sql = "CREATE TABLE t (a int, r int4range, EXCLUDE USING gist (r WITH &&, \"R\" WITH =, (lower(r)) WITH =,                    (a::text) WITH =, (a + 1) WITH =, (public.f(a)) WITH =))";
        assert_eq!(names(sql), Some(["r", "R", "lower", "a", "expr", "f"].map(String::from).to_vec()));
        // A cast of an expression is named after its type as the parser spells it: not known.
        assert_eq!(names("CREATE TABLE t (a int, EXCLUDE USING gist (((a + 1)::int) WITH =))"), None);
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
