//! Database knowledge: the tables, columns, indexes, foreign keys and partitions a migration runs
//! against, read from a `pg_dump --schema-only` or from the earlier migrations (`--schema`), and
//! carried forward through the draft itself.
//!
//! It is built by pgsafe's own front end (split → lower), with sqlparser's `CREATE TABLE` AST for
//! column lists and `ir::action` for `ALTER TABLE` actions, applying statements in order:
//! `CREATE TABLE` (incl. `PARTITION BY` / `PARTITION OF`), `CREATE`/`DROP INDEX`, `ALTER TABLE`
//! `ADD`/`DROP`/`RENAME COLUMN`, `ALTER COLUMN TYPE`/`SET`/`DROP NOT NULL`, `ADD PRIMARY KEY`/`UNIQUE`/
//! `FOREIGN KEY`, `ATTACH`/`DETACH PARTITION`, `RENAME TO`, `DROP TABLE`. Anything else is ignored:
//! the catalogue answers "unknown" rather than guess. Names compare as [`Name::same`] does (an
//! unqualified name matches any schema, since the `search_path` is not known).

use super::action::{self, Action, ColumnChange};
use super::migration::{Migration, Section};
use super::name::{make_object_name, quote_ident, Name};
use super::op::{ConstraintKind, OpKind};
use crate::front::parse::parse_statement;
use crate::front::split::{split, SplitError};
use crate::front::tokens::{head_words, lex, Tok, Token};
use crate::source::Source;
use crate::InputError;
use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CreateTable, Expr, ForValues, Ident, IndexColumn, ObjectType,
    Statement, TableConstraint,
};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Positions in `tables` by base name: passes replay a whole draft through the catalog, so a
    /// lookup must not scan every table (that made large drafts quadratic).
    by_base: std::collections::HashMap<String, Vec<usize>>,
    /// Keys of every index name ever recorded (a superset of the live ones): `CREATE INDEX` only
    /// needs to look for a same-named index to replace when its name is in here.
    index_names: std::collections::HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: Name,
    pub columns: Vec<Column>,
    /// `false` when pgsafe could not read the column list (`CREATE TABLE … AS`, `LIKE`, a statement
    /// sqlparser could not parse): a missing column then means "unknown", not "absent".
    pub columns_known: bool,
    /// Column keys of the primary key.
    pub primary_key: Vec<String>,
    /// `RANGE (created_at)` for a partitioned table.
    pub partition_key: Option<String>,
    /// The partitioned table this one is a partition of.
    pub partition_of: Option<Name>,
    /// This table is the `DEFAULT` partition of `partition_of`.
    pub default_partition: bool,
}

impl Table {
    fn new(name: Name) -> Table {
        Table {
            name,
            columns: Vec::new(),
            columns_known: true,
            primary_key: Vec::new(),
            partition_key: None,
            partition_of: None,
            default_partition: false,
        }
    }

    pub fn is_partitioned(&self) -> bool {
        self.partition_key.is_some()
    }

    fn column_mut(&mut self, key: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The folded name (unquoted names lower-cased).
    pub name: String,
    /// The type as written, lower-cased (`character varying(50)`, `timestamp with time zone`).
    pub type_text: String,
    pub nullable: bool,
}

impl Column {
    pub fn sql_type(&self) -> SqlType {
        SqlType::parse(&self.type_text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: Option<Name>,
    pub table: Name,
    /// Column keys in index order; `None` for an expression.
    pub columns: Vec<Option<String>>,
    pub unique: bool,
    /// Has a `WHERE` clause: it does not serve every lookup on its columns.
    pub partial: bool,
}

impl Index {
    /// Is this a complete (not partial) index whose leading columns are exactly `keys` (folded
    /// column names), in any order? It then serves lookups on them.
    pub fn serves(&self, keys: &[String]) -> bool {
        if keys.is_empty() || self.partial || self.columns.len() < keys.len() {
            return false;
        }
        let mut want = keys.to_vec();
        want.sort();
        let mut lead: Vec<String> = self.columns[..keys.len()].iter().flatten().cloned().collect();
        lead.sort();
        lead == want
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: Option<String>,
    /// The referencing table.
    pub table: Name,
    /// Column keys on the referencing table.
    pub columns: Vec<String>,
    pub references: Name,
}

/// A column key: unquoted names fold to lower case.
fn key(text: &str) -> String {
    Name::new(text).key
}

fn ident_key(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

impl Catalog {
    /// The catalogue described by `text` (a schema dump or migrations). Input the splitter refuses
    /// gives an empty catalogue; use [`Catalog::parse`] to report it.
    pub fn from_sql(text: &str) -> Catalog {
        Catalog::parse(text).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<Catalog, SplitError> {
        let mut c = Catalog::default();
        c.add_sql(text)?;
        Ok(c)
    }

    /// Read `--schema PATH`: a schema dump or migration file, or a directory whose `*.sql` files
    /// (searched recursively, down migrations such as `down.sql`/`*.down.sql` skipped) apply in
    /// the order of their paths. An unreadable file or one the splitter refuses is an input error.
    pub fn load(path: &Path) -> Result<Catalog, InputError> {
        let mut files = Vec::new();
        if path.is_dir() {
            sql_files(path, &mut files)?;
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut c = Catalog::default();
        for f in &files {
            let name = f.display().to_string();
            let bytes = std::fs::read(f)
                .map_err(|e| InputError { at: name.clone(), message: format!("cannot read the schema: {e}") })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| InputError { at: name.clone(), message: "the schema is not UTF-8 text".into() })?;
            c.add_sql(&text).map_err(|e| InputError {
                at: Source::new(name.as_str(), text.as_str()).position(e.offset),
                message: format!("in the schema: {}", e.message),
            })?;
        }
        Ok(c)
    }

    /// Apply every statement of `text` (the up sections of a migration file) in order.
    pub fn add_sql(&mut self, text: &str) -> Result<(), SplitError> {
        let pieces = split(text)?;
        let m = Migration::lower(text, &pieces);
        for i in 0..m.stmts.len() {
            self.apply(&m, i);
        }
        Ok(())
    }

    /// Apply statement `i` of `m` (nothing for a down section).
    pub fn apply(&mut self, m: &Migration<'_>, i: usize) {
        let s = &m.stmts[i];
        if s.section != Section::Up {
            return;
        }
        for k in 0..s.ops.len() {
            self.apply_op(m, i, k);
        }
    }

    /// Apply op `k` of statement `i` of `m` (one action of a multi-action `ALTER TABLE`).
    pub fn apply_op(&mut self, m: &Migration<'_>, i: usize, k: usize) {
        let s = &m.stmts[i];
        if s.section != Section::Up {
            return;
        }
        let body = m.text(&s.body);
        if let Some(op) = s.ops.get(k) {
            let text = m.text(&op.span);
            match &op.kind {
                OpKind::CreateTable { table } => self.create_table(table, body),
                OpKind::CreateIndex { name, table, .. } => self.create_index(name.clone(), table, body),
                OpKind::DropIndex { names, .. } => {
                    self.indexes.retain(|ix| !names.iter().any(|n| ix.name.as_ref().is_some_and(|x| x.same(n))))
                }
                OpKind::AddColumn { table, .. } => self.add_column(table, text),
                OpKind::AddConstraint { table, name, kind, .. } => {
                    self.add_constraint(table, name.as_deref(), kind, text)
                }
                OpKind::AlterTable { table, .. } | OpKind::SetNotNull { table, .. } => self.alter(table, text),
                OpKind::Other { .. } => self.drop_tables(body),
                OpKind::Opaque { .. } => self.opaque_create_table(body),
                _ => {}
            }
        }
    }

    // ---- lookups -------------------------------------------------------------------------------

    /// The table `name` (an exact match first, then one in any schema).
    pub fn table(&self, name: &Name) -> Option<&Table> {
        self.table_at(name).map(|t| &self.tables[t])
    }

    fn table_at(&self, name: &Name) -> Option<usize> {
        let bucket = self.by_base.get(name.base())?;
        let exact = bucket.iter().rev().find(|&&at| self.tables[at].name.key == name.key);
        exact.or_else(|| bucket.iter().rev().find(|&&at| self.tables[at].name.same(name))).copied()
    }

    /// Rebuild `by_base` after tables were removed or renamed (rare).
    fn reindex(&mut self) {
        self.by_base.clear();
        for (at, t) in self.tables.iter().enumerate() {
            self.by_base.entry(t.name.base().to_string()).or_default().push(at);
        }
    }

    fn push_table(&mut self, t: Table) -> usize {
        self.by_base.entry(t.name.base().to_string()).or_default().push(self.tables.len());
        self.tables.push(t);
        self.tables.len() - 1
    }

    /// Column `col` (as SQL writes it: `status`, `"userId"`) of `table`.
    pub fn column(&self, table: &Name, col: &str) -> Option<&Column> {
        let k = key(col);
        self.table(table)?.columns.iter().find(|c| c.name == k)
    }

    /// `Some(true)` when the column accepts NULL, `None` when pgsafe does not know the column.
    pub fn is_nullable(&self, table: &Name, col: &str) -> Option<bool> {
        self.column(table, col).map(|c| c.nullable)
    }

    pub fn is_partitioned(&self, table: &Name) -> bool {
        self.table(table).is_some_and(Table::is_partitioned)
    }

    /// The partitions of `table` that pgsafe knows, in the order they were created or attached.
    pub fn partitions(&self, table: &Name) -> Vec<&Table> {
        let Some(parent) = self.table(table) else { return Vec::new() };
        self.tables.iter().filter(|t| t.partition_of.as_ref().is_some_and(|p| p.same(&parent.name))).collect()
    }

    pub fn default_partition(&self, table: &Name) -> Option<&Table> {
        self.partitions(table).into_iter().find(|t| t.default_partition)
    }

    /// Is there a complete (not partial) index whose leading columns are exactly `cols`, in any
    /// order (as SQL writes them)? That index serves lookups on `cols`.
    pub fn has_index_on(&self, table: &Name, cols: &[String]) -> bool {
        let keys: Vec<String> = cols.iter().map(|c| key(c)).collect();
        self.has_index_on_keys(table, &keys)
    }

    /// [`Catalog::has_index_on`] for column keys (already folded, as [`ForeignKey::columns`]).
    pub fn has_index_on_keys(&self, table: &Name, keys: &[String]) -> bool {
        self.indexes_on(table).into_iter().any(|ix| ix.serves(keys))
    }

    pub fn indexes_on(&self, table: &Name) -> Vec<&Index> {
        self.indexes.iter().filter(|ix| ix.table.same(table)).collect()
    }

    /// Foreign keys of other tables (or this one) that reference `table`.
    pub fn foreign_keys_to(&self, table: &Name) -> Vec<&ForeignKey> {
        self.foreign_keys.iter().filter(|fk| fk.references.same(table)).collect()
    }

    // ---- statements ----------------------------------------------------------------------------

    fn put_table(&mut self, t: Table) {
        let same_key = self.table_at(&t.name).filter(|&at| self.tables[at].name.key == t.name.key);
        match same_key {
            Some(at) => self.tables[at] = t,
            None => {
                self.push_table(t);
            }
        }
    }

    /// `table`, recorded with unknown other columns if pgsafe has not seen it (a draft that adds a
    /// column to a table the `--schema` does not describe).
    fn known_table(&mut self, table: &Name) -> &mut Table {
        let at = match self.table_at(table) {
            Some(at) => at,
            None => {
                let mut t = Table::new(table.clone());
                t.columns_known = false;
                self.push_table(t)
            }
        };
        &mut self.tables[at]
    }

    fn create_table(&mut self, table: &Name, body: &str) {
        let Some(Statement::CreateTable(ct)) = parse_statement(body) else {
            self.opaque_create_table(body);
            return;
        };
        if ct.if_not_exists && self.table_at(table).is_some_and(|at| self.tables[at].name.key == table.key) {
            return;
        }
        self.drop_table(table);
        let mut t = Table::new(table.clone());
        t.columns_known = ct.query.is_none() && ct.like.is_none();
        if let Some(parent) = &ct.partition_of {
            let parent = Name::new(&parent.to_string());
            if let Some(p) = self.table(&parent) {
                t.columns = p.columns.clone();
                t.columns_known = p.columns_known;
            }
            t.default_partition = matches!(ct.for_values, Some(ForValues::Default));
            t.partition_of = Some(parent);
        }
        for parent in ct.inherits.iter().flatten() {
            if let Some(p) = self.table(&Name::new(&parent.to_string())) {
                t.columns.extend(p.columns.clone());
            }
        }
        t.partition_key = ct.partition_by.as_ref().map(|e| e.to_string());
        self.put_table(t);
        for cd in &ct.columns {
            self.column_def(table, cd);
        }
        self.table_constraints(table, &ct);
    }

    fn table_constraints(&mut self, table: &Name, ct: &CreateTable) {
        for c in &ct.constraints {
            match c {
                TableConstraint::PrimaryKey(p) => {
                    let name = p.name.as_ref().map(|n| n.to_string());
                    self.primary_key(table, name, index_columns(&p.columns));
                }
                TableConstraint::Unique(u) => {
                    self.unique(table, u.name.as_ref().map(|n| n.to_string()), index_columns(&u.columns))
                }
                TableConstraint::ForeignKey(fk) => self.foreign_key(
                    table,
                    fk.name.as_ref().map(|n| n.to_string()),
                    fk.columns.iter().map(ident_key).collect(),
                    Name::new(&fk.foreign_table.to_string()),
                ),
                _ => {}
            }
        }
    }

    fn primary_key(&mut self, table: &Name, name: Option<String>, columns: Vec<Option<String>>) {
        if let Some(t) = self.table_at(table) {
            let t = &mut self.tables[t];
            t.primary_key = columns.iter().flatten().cloned().collect();
            for c in columns.iter().flatten() {
                if let Some(col) = t.column_mut(c) {
                    col.nullable = false;
                }
            }
        }
        // PostgreSQL names an unnamed primary key `<table>_pkey`.
        let name = name.unwrap_or_else(|| quote_ident(&make_object_name(&table.base_unquoted(), "", "pkey")));
        self.push_unique_index(&name, table, columns);
    }

    /// The unique index behind a primary key or unique constraint.
    fn push_unique_index(&mut self, name: &str, table: &Name, columns: Vec<Option<String>>) {
        let name = Name::new(name);
        self.index_names.insert(name.key.clone());
        self.indexes.push(Index { name: Some(name), table: table.clone(), columns, unique: true, partial: false });
    }

    /// A foreign key, named as PostgreSQL would when unnamed (`<table>_<columns>_fkey`).
    fn foreign_key(&mut self, table: &Name, name: Option<String>, columns: Vec<String>, references: Name) {
        let name =
            name.unwrap_or_else(|| quote_ident(&make_object_name(&table.base_unquoted(), &columns.join("_"), "fkey")));
        self.foreign_keys.push(ForeignKey { name: Some(name), table: table.clone(), columns, references });
    }

    /// A unique constraint's index, named as PostgreSQL would (`<table>_<columns>_key`).
    fn unique(&mut self, table: &Name, name: Option<String>, columns: Vec<Option<String>>) {
        let name = name.unwrap_or_else(|| {
            let cols: Vec<&str> = columns.iter().map(|c| c.as_deref().unwrap_or("expr")).collect();
            quote_ident(&make_object_name(&table.base_unquoted(), &cols.join("_"), "key"))
        });
        self.push_unique_index(&name, table, columns);
    }

    /// A column definition of `CREATE TABLE` or `ADD COLUMN`, with its inline constraints.
    fn column_def(&mut self, table: &Name, cd: &ColumnDef) {
        let name = ident_key(&cd.name);
        let mut nullable = true;
        let mut pk = false;
        for o in &cd.options {
            match &o.option {
                ColumnOption::NotNull => nullable = false,
                ColumnOption::PrimaryKey(_) => pk = true,
                ColumnOption::Unique(_) => {
                    self.unique(table, o.name.as_ref().map(|n| n.to_string()), vec![Some(name.clone())])
                }
                ColumnOption::ForeignKey(fk) => self.foreign_key(
                    table,
                    o.name.as_ref().map(|n| n.to_string()),
                    vec![name.clone()],
                    Name::new(&fk.foreign_table.to_string()),
                ),
                _ => {}
            }
        }
        let column = Column { name: name.clone(), type_text: cd.data_type.to_string().to_lowercase(), nullable };
        let t = self.known_table(table);
        match t.column_mut(&name) {
            Some(c) => *c = column,
            None => t.columns.push(column),
        }
        if pk {
            self.primary_key(table, None, vec![Some(name)]);
        }
    }

    /// A `CREATE TABLE` sqlparser could not read: the table exists, its columns are unknown.
    fn opaque_create_table(&mut self, body: &str) {
        let toks = lex(body);
        let mut k = 1;
        while toks
            .get(k)
            .is_some_and(|t| ["global", "local", "temp", "temporary", "unlogged"].iter().any(|w| t.is_word(w)))
        {
            k += 1;
        }
        if !toks.first().is_some_and(|t| t.is_word("create")) || !toks.get(k).is_some_and(|t| t.is_word("table")) {
            return;
        }
        k += 1;
        if toks.get(k).is_some_and(|t| t.is_word("if")) {
            k += 3;
        }
        let Some(end) = name_end(&toks, k) else { return };
        let name = Name::new(&body[toks[k].span.start..toks[end].span.end]);
        let mut t = Table::new(name);
        t.columns_known = false;
        // `PARTITION BY method (key)` at the top level.
        let mut depth = 0;
        for (i, tok) in toks.iter().enumerate() {
            match tok.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ if depth == 0 && tok.is_word("partition") && toks.get(i + 1).is_some_and(|t| t.is_word("by")) => {
                    t.partition_key =
                        Some(action::collapse(&body[toks.get(i + 2).map_or(body.len(), |t| t.span.start)..]));
                    break;
                }
                _ => {}
            }
        }
        self.put_table(t);
    }

    fn create_index(&mut self, name: Option<Name>, table: &Name, body: &str) {
        let unique = head_words(body, 2).get(1).is_some_and(|w| w == "unique");
        let (columns, partial) = index_columns_from_text(body);
        if let Some(n) = &name {
            if !self.index_names.insert(n.key.clone()) {
                self.indexes.retain(|ix| ix.name.as_ref().is_none_or(|x| x.key != n.key));
            }
        }
        self.indexes.push(Index { name, table: table.clone(), columns, unique, partial });
    }

    fn add_column(&mut self, table: &Name, action_text: &str) {
        match parse_statement(&format!("ALTER TABLE _t {action_text}")) {
            Some(Statement::AlterTable(at)) => {
                for op in &at.operations {
                    if let AlterTableOperation::AddColumn { column_def, if_not_exists, .. } = op {
                        let exists = self.table(table).is_some_and(|t| {
                            let k = ident_key(&column_def.name);
                            t.columns.iter().any(|c| c.name == k)
                        });
                        if !(*if_not_exists && exists) {
                            self.column_def(table, column_def);
                        }
                    }
                }
            }
            _ => {
                // Placeholders or syntax sqlparser lacks: the name and type from the tokens.
                let toks = lex(action_text);
                let mut k = 1;
                for skip in ["column", "if", "not", "exists"] {
                    if toks.get(k).is_some_and(|t| t.is_word(skip)) {
                        k += 1;
                    }
                }
                let Some(col) = toks.get(k) else { return };
                let name = key(&action_text[col.span.clone()]);
                const STOP: &[&str] = &[
                    "not",
                    "null",
                    "default",
                    "constraint",
                    "primary",
                    "unique",
                    "references",
                    "check",
                    "generated",
                    "collate",
                ];
                let stop = toks[k + 1..]
                    .iter()
                    .position(|t| STOP.iter().any(|w| t.is_word(w)))
                    .map_or(toks.len(), |n| k + 1 + n);
                if stop <= k + 1 {
                    return;
                }
                let type_text =
                    action::collapse(&action_text[toks[k + 1].span.start..toks[stop - 1].span.end]).to_lowercase();
                let nullable = !toks.windows(2).any(|w| {
                    (w[0].is_word("not") && w[1].is_word("null")) || (w[0].is_word("primary") && w[1].is_word("key"))
                });
                let t = self.known_table(table);
                t.columns.retain(|c| c.name != name);
                t.columns.push(Column { name, type_text, nullable });
            }
        }
    }

    fn add_constraint(&mut self, table: &Name, name: Option<&str>, kind: &ConstraintKind, action_text: &str) {
        match kind {
            ConstraintKind::ForeignKey { references, columns } => self.foreign_key(
                table,
                name.map(str::to_string),
                columns.iter().map(|c| key(c)).collect(),
                references.clone(),
            ),
            ConstraintKind::PrimaryKey | ConstraintKind::Unique => {
                let Some(Statement::AlterTable(at)) = parse_statement(&format!("ALTER TABLE _t {action_text}")) else {
                    return;
                };
                let Some(AlterTableOperation::AddConstraint { constraint, .. }) = at.operations.first() else { return };
                match constraint {
                    TableConstraint::PrimaryKey(p) => {
                        self.primary_key(table, name.map(str::to_string), index_columns(&p.columns))
                    }
                    TableConstraint::Unique(u) => {
                        self.unique(table, name.map(str::to_string), index_columns(&u.columns))
                    }
                    TableConstraint::PrimaryKeyUsingIndex(u) | TableConstraint::UniqueUsingIndex(u) => {
                        let index = Name::new(&u.index_name.to_string());
                        let Some(ix) =
                            self.indexes.iter_mut().find(|ix| ix.name.as_ref().is_some_and(|n| n.same(&index)))
                        else {
                            return;
                        };
                        // The index takes the constraint's name.
                        if let Some(n) = name {
                            ix.name = Some(Name::new(n));
                            self.index_names.insert(Name::new(n).key);
                        }
                        let columns = ix.columns.clone();
                        if matches!(constraint, TableConstraint::PrimaryKeyUsingIndex(_)) {
                            if let Some(t) = self.table_at(table) {
                                let t = &mut self.tables[t];
                                t.primary_key = columns.iter().flatten().cloned().collect();
                                for c in columns.iter().flatten() {
                                    if let Some(col) = t.column_mut(c) {
                                        col.nullable = false;
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn alter(&mut self, table: &Name, action_text: &str) {
        let at = self.table_at(table);
        match action::parse(action_text) {
            Action::RenameColumn { from, to } => {
                let (from, to) = (from.key, to.key);
                let Some(at) = at else { return };
                let t = &mut self.tables[at];
                let tname = t.name.clone();
                if let Some(c) = t.column_mut(&from) {
                    c.name = to.clone();
                }
                for c in t.primary_key.iter_mut().filter(|c| **c == from) {
                    c.clone_from(&to);
                }
                for ix in self.indexes.iter_mut().filter(|ix| ix.table.same(&tname)) {
                    for c in ix.columns.iter_mut().flatten().filter(|c| **c == from) {
                        c.clone_from(&to);
                    }
                }
                for fk in self.foreign_keys.iter_mut().filter(|fk| fk.table.same(&tname)) {
                    for c in fk.columns.iter_mut().filter(|c| **c == from) {
                        c.clone_from(&to);
                    }
                }
            }
            Action::RenameTable { to } => {
                let Some(at) = at else { return };
                let old = self.tables[at].name.clone();
                let new = match old.text.rsplit_once('.') {
                    Some((schema, _)) if !to.text.contains('.') => Name::new(&format!("{schema}.{}", to.text)),
                    _ => to,
                };
                self.tables[at].name = new.clone();
                self.reindex();
                for ix in self.indexes.iter_mut().filter(|ix| ix.table.same(&old)) {
                    ix.table = new.clone();
                }
                for fk in &mut self.foreign_keys {
                    if fk.table.same(&old) {
                        fk.table = new.clone();
                    }
                    if fk.references.same(&old) {
                        fk.references = new.clone();
                    }
                }
                for t in &mut self.tables {
                    if t.partition_of.as_ref().is_some_and(|p| p.same(&old)) {
                        t.partition_of = Some(new.clone());
                    }
                }
            }
            Action::DropColumn { column, .. } => {
                let Some(at) = at else { return };
                let tname = self.tables[at].name.clone();
                self.tables[at].columns.retain(|c| c.name != column.key);
                self.tables[at].primary_key.retain(|c| *c != column.key);
                // PostgreSQL drops the indexes and constraints that use the column.
                self.indexes.retain(|ix| !(ix.table.same(&tname) && ix.columns.contains(&Some(column.key.clone()))));
                self.foreign_keys.retain(|fk| !(fk.table.same(&tname) && fk.columns.contains(&column.key)));
            }
            Action::AlterColumn { column, change } => {
                let Some(at) = at else { return };
                let Some(c) = self.tables[at].column_mut(&column.key) else { return };
                match change {
                    ColumnChange::Type { type_text, .. } => c.type_text = type_text.to_lowercase(),
                    ColumnChange::SetNotNull => c.nullable = false,
                    ColumnChange::DropNotNull => c.nullable = true,
                    ColumnChange::Other => {}
                }
            }
            Action::AttachPartition { partition, bound } => {
                let parent = at.map_or_else(|| table.clone(), |at| self.tables[at].name.clone());
                if let Some(p) = self.table_at(&partition) {
                    self.tables[p].partition_of = Some(parent);
                    self.tables[p].default_partition = head_words(&bound, 1).first().is_some_and(|w| w == "default");
                }
            }
            Action::DetachPartition { partition, concurrently: _, finalize: _, end: _ } => {
                if let Some(p) = self.table_at(&partition) {
                    self.tables[p].partition_of = None;
                    self.tables[p].default_partition = false;
                }
            }
            Action::Rewrite { .. } | Action::Other => {}
        }
    }

    fn drop_tables(&mut self, body: &str) {
        let words = head_words(body, 2);
        if words.len() < 2 || words[0] != "drop" || words[1] != "table" {
            return;
        }
        if let Some(Statement::Drop { object_type: ObjectType::Table, names, .. }) = parse_statement(body) {
            for n in names {
                self.drop_table(&Name::new(&n.to_string()));
            }
        }
    }

    fn drop_table(&mut self, name: &Name) {
        let Some(at) = self.table_at(name) else { return };
        let t = self.tables.remove(at);
        self.reindex();
        let partitions: Vec<Name> = self
            .tables
            .iter()
            .filter(|p| p.partition_of.as_ref().is_some_and(|n| n.same(&t.name)))
            .map(|p| p.name.clone())
            .collect();
        self.indexes.retain(|ix| !ix.table.same(&t.name));
        self.foreign_keys.retain(|fk| !fk.table.same(&t.name) && !fk.references.same(&t.name));
        for p in partitions {
            self.drop_table(&p);
        }
    }
}

/// The `*.sql` files under `dir`, except down migrations.
fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let err = |e: std::io::Error| InputError {
        at: dir.display().to_string(),
        message: format!("cannot read the schema: {e}"),
    };
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let p = entry.map_err(err)?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
        if p.is_dir() {
            sql_files(&p, out)?;
        } else if name.ends_with(".sql")
            && !(name == "down.sql" || name.ends_with(".down.sql") || name.ends_with("_down.sql"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// `a`, `(a)`, `a DESC` → the column key; an expression → `None`.
fn index_columns(cols: &[IndexColumn]) -> Vec<Option<String>> {
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

/// The last token of the dotted name starting at token `k`.
fn name_end(toks: &[Token], k: usize) -> Option<usize> {
    if !matches!(toks.get(k)?.tok, Tok::Word(_) | Tok::Quoted(_)) {
        return None;
    }
    let mut i = k;
    while toks.get(i + 1).is_some_and(|t| t.is_punct('.')) && toks.get(i + 2).is_some() {
        i += 2;
    }
    Some(i)
}

/// The key columns of `CREATE INDEX … ON t [USING m] (a, lower(b), c DESC) [… WHERE …]`, read from
/// the tokens (sqlparser cannot parse `ON ONLY`), and whether the index is partial.
fn index_columns_from_text(body: &str) -> (Vec<Option<String>>, bool) {
    let toks = lex(body);
    let Some(on) = toks.iter().position(|t| t.is_word("on")) else { return (Vec::new(), false) };
    let Some(open) = toks[on..].iter().position(|t| t.is_punct('(')).map(|n| on + n) else {
        return (Vec::new(), false);
    };
    let mut columns = Vec::new();
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
                    columns.push(element_column(body, &element));
                    close = i;
                    break;
                }
            }
            Tok::Punct(',') if depth == 1 => {
                columns.push(element_column(body, &element));
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
    (columns, partial)
}

/// One index element: a bare column (maybe with COLLATE, an operator class, ASC/DESC, NULLS …).
fn element_column(body: &str, element: &[&Token]) -> Option<String> {
    let first = element.first()?;
    if !matches!(first.tok, Tok::Word(_) | Tok::Quoted(_)) {
        return None;
    }
    // A function call or a qualified name/operator right after: an expression.
    if element.get(1).is_some_and(|t| matches!(t.tok, Tok::Punct(_))) {
        return None;
    }
    Some(key(&body[first.span.clone()]))
}

/// A column type, normalised for comparing: `character varying(50)` and `varchar(50)` are both
/// `varchar` with modifiers `[50]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlType {
    /// The canonical base name (`varchar`, `int8`, `timestamptz`, `citext`, …).
    pub base: String,
    /// Type modifiers: `[50]` for `varchar(50)`, `[10, 2]` for `numeric(10,2)`; empty when none.
    pub mods: Vec<i64>,
    /// Array dimensions.
    pub array: usize,
}

impl SqlType {
    pub fn parse(text: &str) -> SqlType {
        let mut t = text.trim().to_lowercase();
        let mut array = 0;
        loop {
            let trimmed = t.trim_end();
            if let Some(open) = trimmed.strip_suffix(']').and_then(|s| s.rfind('[')) {
                t = trimmed[..open].to_string();
                array += 1;
            } else if let Some(s) = trimmed.strip_suffix(" array") {
                t = s.to_string();
                array += 1;
            } else {
                break;
            }
        }
        let mut mods = Vec::new();
        if let (Some(open), Some(close)) = (t.find('('), t.find(')')) {
            if open < close {
                mods = t[open + 1..close].split(',').filter_map(|m| m.trim().parse().ok()).collect();
                t = format!("{} {}", &t[..open], &t[close + 1..]);
            }
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let mut name = words.join(" ").replace(" .", ".").replace(". ", ".").replace('"', "");
        if let Some(rest) = name.strip_prefix("pg_catalog.") {
            name = rest.to_string();
        }
        let base = match name.as_str() {
            "character varying" | "varchar" | "char varying" => "varchar",
            "character" | "char" | "bpchar" => {
                if mods.is_empty() && name != "bpchar" {
                    mods = vec![1];
                }
                "bpchar"
            }
            "int" | "integer" | "int4" | "serial" | "serial4" => "int4",
            "smallint" | "int2" | "smallserial" | "serial2" => "int2",
            "bigint" | "int8" | "bigserial" | "serial8" => "int8",
            "decimal" | "numeric" => {
                if mods.len() == 1 {
                    mods.push(0);
                }
                "numeric"
            }
            "real" | "float4" => "float4",
            "double precision" | "float8" => "float8",
            "float" => {
                let p = mods.first().copied().unwrap_or(53);
                mods.clear();
                if p <= 24 {
                    "float4"
                } else {
                    "float8"
                }
            }
            "boolean" | "bool" => "bool",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "timestamptz" | "timestamp with time zone" => "timestamptz",
            "time" | "time without time zone" => "time",
            "timetz" | "time with time zone" => "timetz",
            "bit varying" | "varbit" => "varbit",
            "bit" => {
                if mods.is_empty() {
                    mods = vec![1];
                }
                "bit"
            }
            n if n == "citext" || n.ends_with(".citext") => "citext",
            n => n,
        };
        SqlType { base: base.to_string(), mods, array }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.users (
    id bigint NOT NULL,
    email character varying(255),
    "displayName" text
);
CREATE TABLE public.orders (
    id bigint NOT NULL,
    user_id bigint,
    status character varying(50) NOT NULL,
    amount numeric(10,2),
    created_at timestamp without time zone
);
CREATE TABLE public.events (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
)
PARTITION BY RANGE (created_at);
CREATE TABLE public.events_2024 (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
);
CREATE TABLE public.events_other (
    id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL
);
ALTER TABLE ONLY public.events ATTACH PARTITION public.events_2024 FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00');
ALTER TABLE ONLY public.events ATTACH PARTITION public.events_other DEFAULT;
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
CREATE INDEX idx_orders_status ON public.orders USING btree (status);
CREATE INDEX idx_orders_lower ON public.orders USING btree (lower((status)::text), amount);
CREATE INDEX idx_orders_recent ON public.orders USING btree (created_at) WHERE (status = 'new');
CREATE INDEX events_created_idx ON ONLY public.events USING btree (created_at);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);
"#;

    #[test]
    fn reads_a_schema_dump() {
        let c = Catalog::from_sql(DUMP);
        let orders = Name::new("orders");
        let col = c.column(&orders, "status").unwrap();
        assert_eq!(col.type_text, "character varying(50)");
        assert!(!col.nullable);
        assert_eq!(c.is_nullable(&orders, "amount"), Some(true));
        assert_eq!(c.is_nullable(&Name::new("public.users"), "id"), Some(false));
        assert!(c.column(&Name::new("users"), "\"displayName\"").is_some());
        assert!(c.column(&Name::new("users"), "displayname").is_none());
        assert!(c.has_index_on(&orders, &["status".into()]));
        assert!(c.has_index_on(&orders, &["id".into()]));
        assert!(!c.has_index_on(&orders, &["user_id".into()]));
        assert!(!c.has_index_on(&orders, &["amount".into()]), "second column of an expression index");
        assert!(!c.has_index_on(&orders, &["created_at".into()]), "partial index");
        assert!(c.is_partitioned(&Name::new("events")));
        assert!(!c.is_partitioned(&orders));
        let parts: Vec<&str> = c.partitions(&Name::new("events")).iter().map(|t| t.name.text.as_str()).collect();
        assert_eq!(parts, ["public.events_2024", "public.events_other"]);
        assert_eq!(c.default_partition(&Name::new("events")).unwrap().name.text, "public.events_other");
        assert_eq!(c.foreign_keys_to(&Name::new("users")).len(), 1);
    }

    #[test]
    fn later_migrations_apply_in_order() {
        let mut c = Catalog::from_sql(DUMP);
        c.add_sql(
            "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '', ALTER COLUMN status TYPE text, \
             ALTER COLUMN amount SET NOT NULL;\n\
             ALTER TABLE orders RENAME COLUMN user_id TO buyer_id;\n\
             CREATE INDEX CONCURRENTLY idx_buyer ON orders (buyer_id DESC);\n\
             ALTER TABLE orders DROP COLUMN created_at;\n\
             DROP TABLE users;\n\
             ALTER TABLE orders RENAME TO purchases;\n\
             CREATE TABLE p (id int PRIMARY KEY, k int) PARTITION BY LIST (k);",
        )
        .unwrap();
        let p = Name::new("purchases");
        assert_eq!(c.column(&p, "note").unwrap().type_text, "text");
        assert_eq!(c.is_nullable(&p, "note"), Some(false));
        assert_eq!(c.column(&p, "status").unwrap().type_text, "text");
        assert_eq!(c.is_nullable(&p, "amount"), Some(false));
        assert!(c.has_index_on(&p, &["buyer_id".into()]));
        assert!(c.column(&p, "created_at").is_none());
        assert!(c.table(&Name::new("users")).is_none());
        assert!(c.foreign_keys_to(&Name::new("users")).is_empty());
        assert!(c.table(&Name::new("orders")).is_none());
        assert!(c.is_partitioned(&Name::new("p")));
        assert!(c.has_index_on(&Name::new("p"), &["id".into()]));
    }

    #[test]
    fn down_sections_and_unparsable_tables() {
        let c = Catalog::from_sql("-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n");
        assert!(c.table(&Name::new("a")).is_some());
        let c =
            Catalog::from_sql("CREATE UNLOGGED TABLE IF NOT EXISTS s.b (x weird type here ,,) PARTITION BY HASH (x);");
        let b = c.table(&Name::new("b")).expect("recorded without its columns");
        assert!(!b.columns_known && b.is_partitioned());
    }

    #[test]
    fn types_normalise() {
        let t = SqlType::parse("character varying(50)");
        assert_eq!((t.base.as_str(), t.mods.as_slice()), ("varchar", &[50][..]));
        assert_eq!(SqlType::parse("VARCHAR(50)"), t);
        assert_eq!(SqlType::parse("numeric(10)").mods, vec![10, 0]);
        assert_eq!(SqlType::parse("timestamp(3) without time zone").base, "timestamp");
        assert_eq!(SqlType::parse("TIMESTAMP WITH TIME ZONE").base, "timestamptz");
        assert_eq!(SqlType::parse("text[]").array, 1);
        assert_eq!(SqlType::parse("public.citext").base, "citext");
        assert_eq!(SqlType::parse("int").base, SqlType::parse("integer").base);
    }
}
