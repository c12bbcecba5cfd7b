//! `pgsafe verify --rows N`: synthetic rows for the tables a migration touches.
//!
//! Why: on an empty schema every migration is instant, so verify would compare draft and plan on
//! nothing. [`fill`] gives every table the compiled plan locks (the manifest's `locks[].table`),
//! and every table those reference through foreign keys (parents first), N rows of the right
//! types before the draft and the plan run, in the template both start from.
//!
//! What it relies on: the live template database, never SQL text, for tables, column types,
//! defaults, keys and checks (`pg_attribute`, `pg_type`, `pg_constraint`, `pg_index`). The draft
//! only adds hints about what it will ask of the rows: its foreign keys (their columns then hold
//! existing keys of the parent, or the draft's `ADD FOREIGN KEY` would fail), its unique indexes
//! (distinct values) and its checks (rows violating them are filtered out).
//!
//! How: one `INSERT … SELECT … FROM generate_series(1, N)` per table, values computed by the
//! server from the row number (hashes for spread, `md5` for uuids, the enum's labels in turn), so a
//! million rows take seconds. Foreign key columns take keys sampled from the parent (a numbered
//! sample, joined on a scrambled row number). Identity, serial and defaulted columns keep their
//! defaults, unless a key or a check needs a value. Rows a `CHECK` would reject are filtered out,
//! rows a unique index would reject are skipped (`ON CONFLICT DO NOTHING`), and the report counts
//! both, with what could not be filled (unsupported types, errors) and why.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context as _, Result};
use postgres::Client;
use serde::Serialize;

use super::server::{quote_ident, Server};
use crate::front::split::split;
use crate::front::tokens::{lex, Tok};
use crate::ir::catalog::Catalog;
use crate::ir::migration::{Migration, Section};
use crate::ir::name::{key_of as name_key, Name};
use crate::ir::op::{ConstraintKind, OpKind};
use crate::Compilation;

/// Foreign key columns take their values from at most this many parent rows.
const PARENT_SAMPLE: u64 = 100_000;
/// Part of every generated string, so that generated text never equals seed data.
const TAG: &str = "syn";

/// What `--rows` did.
#[derive(Debug, Clone, Serialize)]
pub struct RowsReport {
    /// Rows asked for, per table.
    pub rows: u64,
    /// Wall time of the whole fill.
    pub seconds: f64,
    /// The tables filled (or tried), parents first.
    pub tables: Vec<TableRows>,
    /// Tables the plan names that were not filled, and why (the draft creates them, a view, …).
    pub skipped: Vec<Skipped>,
    /// One line per thing `--rows` could not do (the details are in `tables`).
    pub could_not_fill: Vec<String>,
}

/// One table's fill.
#[derive(Debug, Clone, Serialize)]
pub struct TableRows {
    /// As PostgreSQL prints it (`orders`, `app."Orders"`).
    pub table: String,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows generated to get them (more than asked for when checks rejected some).
    pub generated_rows: u64,
    pub seconds: f64,
    /// Columns given generated values (foreign key columns written `col → parent(key)`).
    pub generated: Vec<String>,
    /// Columns left to their defaults (identity, serial, `DEFAULT …`) or generated (`GENERATED`).
    pub defaults: Vec<String>,
    /// Nullable columns left NULL, and why.
    pub left_null: Vec<ColumnNote>,
    /// Of the first N generated rows, those a check (or NOT NULL) rejected; filtered out before
    /// the insert (later rounds generated more to make up for them).
    pub rejected: Vec<Rejected>,
    /// Rows skipped because a unique index already held their values (`ON CONFLICT DO NOTHING`).
    pub conflicts: u64,
    /// Checks that could not be applied to the generated rows before the insert.
    pub unchecked: Vec<String>,
    /// Why the table got no rows, or fewer columns than it could have.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnNote {
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// `CHECK orders_amount_check (amount >= 0)`, `the draft's CHECK (…)`, `NOT NULL col`.
    pub constraint: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub table: String,
    pub reason: String,
}

impl RowsReport {
    /// One line per thing `--rows` could not do, for the summary.
    pub fn shortfalls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            if t.inserted < self.rows && t.error.is_none() {
                out.push(format!("{}: {} of {} rows", t.table, t.inserted, self.rows));
            }
            if let Some(e) = &t.error {
                out.push(format!("{}: {}", t.table, e.lines().next().unwrap_or("")));
            }
            for n in &t.left_null {
                out.push(format!("{}.{} left NULL: {}", t.table, n.column, n.reason));
            }
            if t.inserted < self.rows {
                for r in &t.rejected {
                    out.push(format!("{}: {} rejected {} of {} rows", t.table, r.constraint, r.rows, self.rows));
                }
            }
            if t.conflicts > 0 {
                out.push(format!(
                    "{}: {} rows skipped by a unique index (their values were taken: too few distinct values?)",
                    t.table, t.conflicts
                ));
            }
            for u in &t.unchecked {
                out.push(format!("{}: {u}", t.table));
            }
        }
        out
    }
}

/// The `--rows` part of the text report.
pub fn render_text(r: &RowsReport) -> String {
    let mut o = String::new();
    let total: u64 = r.tables.iter().map(|t| t.inserted).sum();
    let _ = writeln!(o, "\nsynthetic rows (--rows {}): {total} rows in {:.2} s", r.rows, r.seconds);
    let w = r.tables.iter().map(|t| t.table.chars().count()).max().unwrap_or(0);
    for t in &r.tables {
        let _ = writeln!(o, "  {:<w$}  +{} rows in {:.2} s", t.table, t.inserted, t.seconds);
        if !t.generated.is_empty() {
            let _ = writeln!(o, "  {:<w$}    generated: {}", "", t.generated.join(", "));
        }
        if !t.defaults.is_empty() {
            let _ = writeln!(o, "  {:<w$}    defaults: {}", "", t.defaults.join(", "));
        }
        if t.generated_rows > r.rows {
            let why: Vec<String> = t.rejected.iter().map(|x| format!("{} rejected {}", x.constraint, x.rows)).collect();
            let _ = writeln!(
                o,
                "  {:<w$}    generated {} rows to keep {}{}",
                "",
                t.generated_rows,
                t.inserted,
                if why.is_empty() { String::new() } else { format!(" (of the first {}: {})", r.rows, why.join("; ")) }
            );
        }
    }
    for s in &r.skipped {
        let _ = writeln!(o, "  {}: not filled, {}", s.table, s.reason);
    }
    if !r.could_not_fill.is_empty() {
        let _ = writeln!(o, "  could not fill:");
        for s in &r.could_not_fill {
            let _ = writeln!(o, "    - {s}");
        }
    }
    o
}

// ---- what the draft asks of the rows ------------------------------------------------------------

/// A foreign key the draft adds to an existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DraftFk {
    table: Name,
    /// Column keys (folded as PostgreSQL folds them).
    columns: Vec<String>,
    references: Name,
    /// Empty: the parent's primary key.
    ref_columns: Vec<String>,
}

#[derive(Debug, Default)]
struct DraftHints {
    foreign_keys: Vec<DraftFk>,
    /// Table, column keys of a unique index or constraint the draft adds.
    unique: Vec<(Name, Vec<String>)>,
    /// Table, column keys, expression of a `CHECK` the draft adds.
    checks: Vec<(Name, Vec<String>, String)>,
}

fn draft_hints(text: &str) -> DraftHints {
    let mut h = DraftHints::default();
    let Ok(pieces) = split(text) else { return h };
    let m = Migration::lower(text, &pieces);
    for s in m.stmts.iter().filter(|s| s.section == Section::Up) {
        for op in &s.ops {
            if let OpKind::AddConstraint { table, kind, .. } = &op.kind {
                match kind {
                    ConstraintKind::ForeignKey { references, columns, .. } => h.foreign_keys.push(DraftFk {
                        table: table.clone(),
                        columns: columns.iter().map(|c| name_key(c)).collect(),
                        references: references.clone(),
                        ref_columns: referenced_columns(m.text(&op.span)),
                    }),
                    ConstraintKind::Check { columns, expr } => {
                        h.checks.push((table.clone(), columns.iter().map(|c| name_key(c)).collect(), expr.clone()))
                    }
                    _ => {}
                }
            }
        }
    }
    for ix in Catalog::from_sql(text).indexes().filter(|ix| ix.unique) {
        h.unique.push((ix.table.clone(), ix.columns.iter().flatten().cloned().collect()));
    }
    h
}

/// The column keys in `REFERENCES parent (a, b)` of a constraint's text (empty without a list).
fn referenced_columns(action: &str) -> Vec<String> {
    let toks = lex(action);
    let Some(r) = toks.iter().position(|t| t.is_word("references")) else { return Vec::new() };
    let mut k = r + 1;
    // the parent's name: words/quoted names joined by dots
    while toks.get(k).is_some_and(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_)))
        && toks.get(k + 1).is_some_and(|t| t.is_punct('.'))
    {
        k += 2;
    }
    k += 1;
    if !toks.get(k).is_some_and(|t| t.is_punct('(')) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for t in &toks[k + 1..] {
        match &t.tok {
            Tok::Word(_) | Tok::Quoted(_) => out.extend(t.ident()),
            Tok::Punct(',') => {}
            Tok::Punct(')') => return out,
            _ => return Vec::new(),
        }
    }
    Vec::new()
}

// ---- the template's tables --------------------------------------------------------------------

/// A column's type, as far as generating values goes.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Int {
        small: bool,
    },
    Numeric {
        int_digits: i32,
        scale: i32,
    },
    Float,
    Money,
    Text {
        max: Option<i32>,
    },
    Bool,
    Timestamp {
        tz: bool,
    },
    Date,
    Time,
    Interval,
    Uuid,
    Json,
    Bytea,
    Inet,
    Macaddr,
    Tsvector,
    Point,
    /// The labels, quoted as literals, and the type's name.
    Enum(Vec<String>, String),
    Array(Box<Kind>),
    Unsupported(String),
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    /// `format_type`: `character varying(20)`, a domain's name, `order_status`.
    ty: String,
    kind: Kind,
    not_null: bool,
    identity: bool,
    generated: bool,
    default: Option<String>,
    salt: i64,
}

impl Column {
    fn sequence_default(&self) -> bool {
        self.identity || self.default.as_deref().is_some_and(|d| d.starts_with("nextval("))
    }
}

#[derive(Debug, Clone)]
struct Fk {
    columns: Vec<String>,
    parent: String,
    parent_columns: Vec<String>,
    from_draft: bool,
}

#[derive(Debug, Clone)]
struct Check {
    /// How the report names it.
    label: String,
    expr: String,
    columns: Vec<String>,
    from_draft: bool,
    /// A partition's bounds: its key columns get generated values even if they have defaults.
    partition: bool,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    fks: Vec<Fk>,
    checks: Vec<Check>,
    /// Columns whose values must be distinct: in a unique index (or one the draft adds).
    unique: Vec<String>,
    /// Those in a unique index of the template (the draft's do not exist yet).
    indexed_unique: Vec<String>,
}

/// A table as the database names it (`regclass::text`) and its kind, or `None`.
fn resolve(client: &mut Client, name: &str) -> Option<(String, String)> {
    let row = client
        .query_one(
            "SELECT to_regclass($1)::text, (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1))",
            &[&name],
        )
        .ok()?;
    Some((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?))
}

fn kind_of(client: &mut Client, oid: i64, typmod: i32, depth: u32) -> Result<Kind> {
    let r = client.query_one(
        "SELECT t.typtype::text, t.typcategory::text, t.typbasetype::int8, t.typtypmod, t.typelem::int8, \
                t.oid::regtype::text, \
                array(SELECT quote_literal(e.enumlabel) FROM pg_enum e WHERE e.enumtypid = t.oid \
                      ORDER BY e.enumsortorder) \
         FROM pg_type t WHERE t.oid = $1::int8::oid",
        &[&oid],
    )?;
    let (typtype, category, base, base_mod, elem, name, labels): (String, String, i64, i32, i64, String, Vec<String>) =
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
    if depth > 8 {
        return Ok(Kind::Unsupported(name));
    }
    Ok(match (typtype.as_str(), category.as_str()) {
        ("d", _) => kind_of(client, base, base_mod, depth + 1)?,
        ("e", _) if !labels.is_empty() => Kind::Enum(labels, name),
        (_, "A") if elem != 0 => Kind::Array(Box::new(kind_of(client, elem, -1, depth + 1)?)),
        ("b", "S") => Kind::Text { max: (typmod >= 4).then_some(typmod - 4) },
        ("b", _) => match name.as_str() {
            "smallint" => Kind::Int { small: true },
            "integer" | "bigint" => Kind::Int { small: false },
            "numeric" => numeric_kind(typmod),
            "real" | "double precision" => Kind::Float,
            "money" => Kind::Money,
            "boolean" => Kind::Bool,
            "timestamp without time zone" => Kind::Timestamp { tz: false },
            "timestamp with time zone" => Kind::Timestamp { tz: true },
            "date" => Kind::Date,
            "time without time zone" | "time with time zone" => Kind::Time,
            "interval" => Kind::Interval,
            "uuid" => Kind::Uuid,
            "json" | "jsonb" => Kind::Json,
            "bytea" => Kind::Bytea,
            "inet" | "cidr" => Kind::Inet,
            "macaddr" => Kind::Macaddr,
            "tsvector" => Kind::Tsvector,
            "point" => Kind::Point,
            _ => Kind::Unsupported(name),
        },
        _ => Kind::Unsupported(name),
    })
}

/// `numeric(p, s)` from its typmod (scale may be negative on PostgreSQL 15+).
fn numeric_kind(typmod: i32) -> Kind {
    if typmod < 4 {
        return Kind::Numeric { int_digits: 6, scale: 2 };
    }
    let m = typmod - 4;
    let precision = (m >> 16) & 0xffff;
    let raw = m & 0x7ff;
    let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
    Kind::Numeric { int_digits: precision - scale, scale }
}

fn load_table(client: &mut Client, name: &str, hints: &DraftHints, lookup: &mut Resolver) -> Result<Table> {
    let rows = client.query(
        "SELECT a.attnum::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), a.atttypid::int8, \
                a.atttypmod, a.attnotnull, a.attidentity <> '', a.attgenerated <> '', \
                pg_get_expr(d.adbin, d.adrelid) \
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        &[&name],
    )?;
    let mut columns = Vec::new();
    for r in rows {
        let attnum: i64 = r.get(0);
        let kind = kind_of(client, r.get(3), r.get(4), 0)?;
        columns.push(Column {
            name: r.get(1),
            ty: r.get(2),
            kind,
            not_null: r.get(5),
            identity: r.get(6),
            generated: r.get(7),
            default: r.get(8),
            salt: attnum * 1_000_003,
        });
    }
    let mut fks: Vec<Fk> = client
        .query(
            "SELECT c.confrelid::regclass::text, \
                    array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), \
                    array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) \
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) \
             FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = $1::text::regclass ORDER BY c.conname",
            &[&name],
        )?
        .iter()
        .map(|r| Fk { parent: r.get(0), columns: r.get(1), parent_columns: r.get(2), from_draft: false })
        .collect();
    let has = |c: &str| columns.iter().any(|x| x.name == c);
    for h in &hints.foreign_keys {
        if lookup.get(client, &h.table.text).as_deref() != Some(name) || !h.columns.iter().all(|c| has(c)) {
            continue; // another table, or a column the draft adds (it starts empty)
        }
        let Some(parent) = lookup.get(client, &h.references.text) else { continue };
        let parent_columns = if h.ref_columns.is_empty() {
            client
                .query_one(
                    "SELECT array(SELECT a.attname::text FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(n, o) \
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n \
                            WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY k.o)",
                    &[&parent],
                )?
                .get(0)
        } else {
            h.ref_columns.clone()
        };
        if parent_columns.len() != h.columns.len() || fks.iter().any(|f| f.parent == parent && f.columns == h.columns) {
            continue;
        }
        fks.push(Fk { columns: h.columns.clone(), parent, parent_columns, from_draft: true });
    }
    let mut checks: Vec<Check> = client
        .query(
            "SELECT c.conname::text, pg_get_expr(c.conbin, c.conrelid), \
                    array(SELECT a.attname::text FROM unnest(c.conkey) k(n) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) \
             FROM pg_constraint c WHERE c.contype = 'c' AND c.conrelid = $1::text::regclass ORDER BY c.conname",
            &[&name],
        )?
        .iter()
        .map(|r| {
            let (n, e): (String, String) = (r.get(0), r.get(1));
            Check {
                label: format!("CHECK {} {e}", quote_name(&n)),
                expr: e,
                columns: r.get(2),
                from_draft: false,
                partition: false,
            }
        })
        .collect();
    // A partitioned table or a partition: rows must fall in some (leaf) partition's bounds.
    let bounds = client.query_one(
        "SELECT c.relkind = 'p' OR c.relispartition, \
                (SELECT count(*) FROM pg_partition_tree(c.oid) t WHERE t.isleaf), \
                (SELECT bool_or(pg_get_partition_constraintdef(t.relid) IS NULL) FROM pg_partition_tree(c.oid) t \
                 WHERE t.isleaf), \
                (SELECT string_agg('(' || pg_get_partition_constraintdef(t.relid) || ')', ' OR ') \
                 FROM pg_partition_tree(c.oid) t WHERE t.isleaf), \
                array(SELECT DISTINCT a.attname::text FROM pg_partition_ancestors(c.oid) p \
                      JOIN pg_partitioned_table pt ON pt.partrelid = p.relid \
                      JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = ANY (pt.partattrs)) \
         FROM pg_class c WHERE c.oid = $1::text::regclass",
        &[&name],
    )?;
    let (partitioned, leaves, unbounded, expr, keys): (bool, i64, Option<bool>, Option<String>, Vec<String>) =
        (bounds.get(0), bounds.get(1), bounds.get(2), bounds.get(3), bounds.get(4));
    if partitioned {
        let expr = match (leaves, unbounded, expr) {
            (0, _, _) => Some("false".to_owned()),
            (_, Some(true), _) | (_, _, None) => None,
            (_, _, Some(e)) => Some(e),
        };
        if let Some(expr) = expr {
            checks.push(Check {
                label: "the partition bounds".into(),
                expr: format!("({expr})"),
                columns: keys,
                from_draft: false,
                partition: true,
            });
        }
    }
    for (t, cols, expr) in &hints.checks {
        if lookup.get(client, &t.text).as_deref() == Some(name) && cols.iter().all(|c| has(c)) {
            checks.push(Check {
                label: format!("the draft's CHECK ({expr})"),
                expr: format!("({expr})"),
                columns: cols.clone(),
                from_draft: true,
                partition: false,
            });
        }
    }
    let mut unique: Vec<String> = client
        .query(
            "SELECT DISTINCT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid \
                  AND (a.attnum = ANY (i.indkey) OR a.attnum IN (SELECT d.refobjsubid FROM pg_depend d \
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid \
                         AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid)) \
             WHERE i.indrelid = $1::text::regclass AND i.indisunique AND a.attnum > 0",
            &[&name],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let indexed_unique = unique.clone();
    for (t, cols) in &hints.unique {
        if lookup.get(client, &t.text).as_deref() == Some(name) {
            unique.extend(cols.iter().cloned());
        }
    }
    Ok(Table { name: name.to_owned(), columns, fks, checks, unique, indexed_unique })
}

/// Names as the draft or manifest writes them → the table in the template (memoised).
#[derive(Default)]
struct Resolver(HashMap<String, Option<String>>);

impl Resolver {
    fn get(&mut self, client: &mut Client, name: &str) -> Option<String> {
        if let Some(r) = self.0.get(name) {
            return r.clone();
        }
        let r = resolve(client, name).filter(|(_, k)| k == "r" || k == "p").map(|(t, _)| t);
        self.0.insert(name.to_owned(), r.clone());
        r
    }
}

fn quote_name(n: &str) -> String {
    if !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        n.to_owned()
    } else {
        quote_ident(n)
    }
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

// ---- value expressions --------------------------------------------------------------------------

/// A hash of the row number, salted per column, in `0..=mask`.
fn spread(salt: i64, mask: u64) -> String {
    format!("(hashint8(g.i + {salt})::int8 & {mask})")
}

/// A SQL expression for row `g.i` of a column of `kind` (before the cast to the column's type).
/// `unique`: distinct per row; `base`: the column's current maximum (for unique numbers).
fn value(kind: &Kind, col: &str, table: &str, salt: i64, unique: bool) -> Option<String> {
    let base = |numeric: bool| {
        let max = if numeric {
            format!("ceil(max({})::numeric)", quote_ident(col))
        } else {
            format!("max({})::int8", quote_ident(col))
        };
        format!("((SELECT coalesce({max}, 0) FROM {table}) + g.i)")
    };
    Some(match kind {
        Kind::Int { .. } if unique => base(false),
        // magnitudes spread evenly (1..10, 1..100, …), so that range checks keep some rows
        Kind::Int { small } => format!(
            "(1 + {} % power(10, 1 + {} % {})::int8)",
            spread(salt, 0x3fff_ffff),
            spread(salt + 1, 255),
            if *small { 4 } else { 6 }
        ),
        Kind::Numeric { .. } | Kind::Float if unique => base(true),
        Kind::Numeric { int_digits, scale } => {
            let (k, f) = ((*int_digits).clamp(0, 6), (*scale).clamp(0, 2));
            if *int_digits <= 0 || k + f == 0 {
                "0".into()
            } else {
                format!(
                    "(({} % power(10, 1 + {} % {})::int8)::numeric / {})",
                    spread(salt, 0x3fff_ffff),
                    spread(salt + 1, 255),
                    k + f,
                    10i64.pow(f as u32)
                )
            }
        }
        Kind::Float => format!("({} / 100.0)", spread(salt, 1_048_575)),
        Kind::Money if unique => format!("({}::numeric::money)", base(true)),
        Kind::Money => format!("(({} / 100.0)::numeric::money)", spread(salt, 1_048_575)),
        Kind::Text { max } => {
            let label: String = col
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(20)
                .collect::<String>()
                .to_lowercase();
            let label = if label.is_empty() { "v".to_owned() } else { label };
            let full = if label.contains("email") {
                format!("('user' || g.i || '.{TAG}@example.com')")
            } else {
                format!("('{label}-' || g.i || '-{TAG}')")
            };
            // room for the whole value with a 7-digit row number
            let long = if label.contains("email") { 24 } else { label.len() + 12 };
            match max {
                // too short for that: the row number in hex (distinct up to 16^n rows)
                Some(n) if (*n as usize) < long => format!("lpad(to_hex(g.i), {n}, '0')"),
                _ => full,
            }
        }
        Kind::Bool => "(g.i % 2 = 0)".into(),
        Kind::Timestamp { tz } => {
            let ty = if *tz { "timestamptz" } else { "timestamp" };
            if unique {
                format!("({ty} '2000-01-01 00:00:00' + g.i * interval '1 second')")
            } else {
                format!("({ty} '2024-01-01 00:00:00' + {} * interval '1 second')", spread(salt, 33_554_431))
            }
        }
        Kind::Date if unique => "(date '1900-01-01' + g.i::int4)".into(),
        Kind::Date => format!("(date '2024-01-01' + {}::int4)", spread(salt, 1023)),
        Kind::Time if unique => "(time '00:00' + g.i * interval '1 microsecond')".into(),
        Kind::Time => format!("(time '00:00' + {} * interval '1 second')", spread(salt, 65535)),
        Kind::Interval if unique => "(g.i * interval '1 second')".into(),
        Kind::Interval => format!("({} * interval '1 second')", spread(salt, 1_048_575)),
        Kind::Uuid => format!("md5(g.i::text || {})::uuid", literal(&format!("{table}.{col}"))),
        Kind::Json => format!("jsonb_build_object('n', g.i, 'src', '{TAG}')"),
        Kind::Bytea => format!("decode(md5(g.i::text || '{salt}'), 'hex')"),
        Kind::Inet if unique => "('10.0.0.0'::inet + g.i)".into(),
        Kind::Inet => format!("('10.0.0.0'::inet + {})", spread(salt, 1_048_575)),
        Kind::Macaddr => "lpad(to_hex(g.i), 12, '0')::macaddr".into(),
        Kind::Tsvector => format!("to_tsvector('simple', 'word' || {})", spread(salt, 1023)),
        Kind::Point => "point(g.i % 1000, g.i / 1000)".into(),
        Kind::Enum(labels, ty) => format!("(ARRAY[{}]::{ty}[])[1 + g.i % {}]", labels.join(", "), labels.len()),
        Kind::Array(elem) => format!("ARRAY[{}]", value(elem, col, table, salt, false)?),
        Kind::Unsupported(_) => return None,
    })
}

/// Does [`value`] with `unique` give every row its own value (assuming no seed data looks like it)?
fn distinct_by_row(kind: &Kind) -> bool {
    match kind {
        Kind::Text { max } => max.is_none_or(|n| n >= 32),
        Kind::Bool | Kind::Enum(..) | Kind::Tsvector | Kind::Point | Kind::Array(_) | Kind::Unsupported(_) => false,
        _ => true,
    }
}

fn unsupported_name(kind: &Kind) -> Option<&str> {
    match kind {
        Kind::Unsupported(n) => Some(n),
        Kind::Array(e) => unsupported_name(e),
        _ => None,
    }
}

// ---- one table ------------------------------------------------------------------------------------

/// How one column gets its value.
#[derive(Debug, Clone, PartialEq)]
enum Fill {
    Value(String),
    /// Foreign key `fks[.0]`, its column `.1`.
    Key(usize, usize),
    Default,
    Null(String),
}

/// The insert for `t`, and what the report says about it. `minimal`: only the columns that need
/// a value (NOT NULL without a default, keys), after a full insert failed.
struct Statement {
    table: String,
    /// `WITH f0 AS MATERIALIZED (…), … ` (the parents' key samples), or empty.
    with: String,
    /// The generated columns' expressions, each `AS` the column.
    select: String,
    /// `LEFT JOIN f0 ON …` for each sample.
    joins: String,
    /// The columns inserted, quoted.
    cols: Vec<String>,
    /// Label and predicate of each filter (checks, NOT NULL).
    filters: Vec<(String, String)>,
    /// Skip rows a unique index rejects (else the insert fails on the first).
    on_conflict: bool,
    report: TableRows,
}

fn build(client: &mut Client, t: &Table, minimal: bool) -> Result<Statement, String> {
    let mut report = empty_report(&t.name);
    let mut fill: Vec<Fill> = Vec::with_capacity(t.columns.len());
    // foreign keys: parents with rows only
    let mut ctes = Vec::new();
    let mut joins = Vec::new();
    let mut key_of: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut empty_parent: HashMap<&str, String> = HashMap::new();
    for (j, fk) in t.fks.iter().enumerate() {
        if fk.columns.iter().any(|c| key_of.contains_key(c.as_str())) {
            continue; // a column in two keys: the first one decides
        }
        let not_null = fk.parent_columns.iter().map(|c| format!("{} IS NOT NULL", quote_ident(c))).collect::<Vec<_>>();
        // A one-to-one key (unique columns) takes each parent row once, in turn; others spread.
        let one_to_one = fk.columns.iter().any(|c| t.unique.contains(c));
        let sample = format!(
            "SELECT {} FROM {} WHERE {} LIMIT {}",
            fk.parent_columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
            fk.parent,
            not_null.join(" AND "),
            if one_to_one { "ALL".to_owned() } else { PARENT_SAMPLE.to_string() }
        );
        let exists: bool = client
            .query_one(&format!("SELECT EXISTS ({sample})"), &[])
            .map_err(|e| format!("could not read {}: {}", fk.parent, db_error(&e)))?
            .get(0);
        if !exists {
            for c in &fk.columns {
                empty_parent.insert(c, fk.parent.clone());
            }
            continue;
        }
        let keys: Vec<String> =
            fk.parent_columns.iter().enumerate().map(|(m, c)| format!("{} AS k{m}", quote_ident(c))).collect();
        ctes.push(format!(
            "f{j} AS MATERIALIZED (SELECT row_number() OVER () - 1 AS rn, {} FROM ({sample}) x)",
            keys.join(", ")
        ));
        joins.push(format!(
            "LEFT JOIN f{j} ON f{j}.rn = (g.i * {} + {j}) % (SELECT count(*) FROM f{j})",
            if one_to_one { 1 } else { [7919, 104_729, 1_299_709, 15_485_863][j % 4] }
        ));
        for (m, c) in fk.columns.iter().enumerate() {
            key_of.insert(c, (j, m));
        }
    }
    let unique = |c: &str| t.unique.iter().any(|u| u == c);
    for c in &t.columns {
        let f = if c.generated || c.identity {
            Fill::Default
        } else if let Some(&(j, m)) = key_of.get(c.name.as_str()) {
            Fill::Key(j, m)
        } else if let Some(parent) = empty_parent.get(c.name.as_str()) {
            if c.not_null && c.default.is_none() {
                return Err(format!("{} is NOT NULL and references {parent}, which has no rows", c.name));
            }
            if c.default.is_some() {
                Fill::Default
            } else {
                Fill::Null(format!("it references {parent}, which has no rows"))
            }
        } else if c.default.is_some() && (c.sequence_default() || !unique(&c.name) || minimal) {
            Fill::Default
        } else if minimal && !c.not_null {
            Fill::Null("the full insert failed, so only required columns were filled".into())
        } else {
            match value(&c.kind, &c.name, &t.name, c.salt, unique(&c.name)) {
                Some(v) => Fill::Value(v),
                None if c.not_null => {
                    return Err(format!(
                        "{} is NOT NULL and of type {}, which --rows cannot generate",
                        c.name,
                        unsupported_name(&c.kind).unwrap_or(&c.ty)
                    ))
                }
                None => {
                    Fill::Null(format!("--rows cannot generate type {}", unsupported_name(&c.kind).unwrap_or(&c.ty)))
                }
            }
        };
        fill.push(f);
    }
    // A check on generated columns and defaulted ones: generate those too, so it can be applied.
    if !minimal {
        for ck in t.checks.iter().filter(|ck| !ck.from_draft) {
            let idx: Vec<usize> =
                ck.columns.iter().filter_map(|c| t.columns.iter().position(|x| &x.name == c)).collect();
            if !ck.partition && !idx.iter().any(|&i| matches!(fill[i], Fill::Value(_) | Fill::Key(..))) {
                continue;
            }
            for &i in &idx {
                let c = &t.columns[i];
                if fill[i] == Fill::Default && !c.generated && !c.sequence_default() {
                    if let Some(v) = value(&c.kind, &c.name, &t.name, c.salt, unique(&c.name)) {
                        fill[i] = Fill::Value(v);
                    }
                }
            }
        }
    }
    let present = |c: &str| {
        t.columns.iter().position(|x| x.name == c).is_some_and(|i| matches!(fill[i], Fill::Value(_) | Fill::Key(..)))
    };
    let mut filters: Vec<(String, String)> = Vec::new(); // label, predicate
    let mut select = Vec::new();
    let mut cols = Vec::new();
    for (c, f) in t.columns.iter().zip(&fill) {
        let q = quote_ident(&c.name);
        match f {
            Fill::Value(v) => {
                select.push(format!("({v})::{} AS {q}", c.ty));
                report.generated.push(c.name.clone());
            }
            Fill::Key(j, m) => {
                select.push(format!("(f{j}.k{m})::{} AS {q}", c.ty));
                let fk = &t.fks[*j];
                if *m == 0 {
                    report.generated.push(format!(
                        "{} → {}({}){}",
                        fk.columns.join(", "),
                        fk.parent,
                        fk.parent_columns.join(", "),
                        if fk.from_draft { " [the draft's foreign key]" } else { "" }
                    ));
                }
            }
            Fill::Default => {
                if !c.generated {
                    report.defaults.push(c.name.clone());
                }
                continue;
            }
            Fill::Null(why) => {
                report.left_null.push(ColumnNote { column: c.name.clone(), reason: why.clone() });
                continue;
            }
        }
        if c.not_null {
            filters.push((format!("NOT NULL {}", c.name), format!("s.{q} IS NOT NULL")));
        }
        cols.push(q);
    }
    // ON CONFLICT DO NOTHING makes every insert speculative (about twice as slow): only when a
    // unique index covers a column whose values may repeat.
    let on_conflict = t.columns.iter().zip(&fill).any(|(c, f)| {
        t.indexed_unique.contains(&c.name)
            && match f {
                Fill::Default => c.generated || !c.sequence_default(),
                Fill::Key(..) => true,
                Fill::Value(_) => !distinct_by_row(&c.kind),
                Fill::Null(_) => false,
            }
    });
    let with = if ctes.is_empty() { String::new() } else { format!("WITH {} ", ctes.join(", ")) };
    let select = if select.is_empty() { "g.i AS pgsafe_row".to_owned() } else { select.join(", ") };
    let joins = joins.join(" ");
    for ck in &t.checks {
        if ck.columns.iter().all(|c| present(c)) {
            // Planned on one generated row first: the draft's text (lower-cased by the front end)
            // or an expression partition key may use something the generated rows lack.
            let probe = format!(
                "EXPLAIN {with}SELECT 1 FROM (SELECT {select} FROM generate_series(1::int8, 1::int8) AS g(i) {joins}) s \
                 WHERE ({}) IS NOT FALSE",
                ck.expr
            );
            if client.simple_query(&probe).is_ok() {
                filters.push((ck.label.clone(), format!("({}) IS NOT FALSE", ck.expr)));
                continue;
            }
        }
        if !ck.from_draft && (ck.partition || ck.columns.iter().any(|c| present(c))) {
            report
                .unchecked
                .push(format!("{} not applied to the generated rows (it uses a column left to its default)", ck.label));
        }
    }
    Ok(Statement { table: t.name.clone(), with, select, joins, cols, filters, on_conflict, report })
}

impl Statement {
    /// The generated rows `lo..=hi` (row numbers), as derived table `s`.
    fn source(&self, lo: u64, hi: u64) -> String {
        format!("(SELECT {} FROM generate_series({lo}::int8, {hi}::int8) AS g(i) {}) s", self.select, self.joins)
    }

    fn all_filters(&self) -> Option<String> {
        (!self.filters.is_empty())
            .then(|| self.filters.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(" AND "))
    }

    /// Insert at most `limit` of rows `lo..=hi` that pass the filters.
    fn insert(&self, lo: u64, hi: u64, limit: u64) -> String {
        let filter = self.all_filters().map_or(String::new(), |f| format!(" WHERE {f}"));
        let (with, table, source) = (&self.with, &self.table, self.source(lo, hi));
        let conflict = if self.on_conflict { " ON CONFLICT DO NOTHING" } else { "" };
        if self.cols.is_empty() {
            // every column keeps its default: a zero-column SELECT inserts default rows
            format!("{with}INSERT INTO {table} SELECT FROM {source}{filter} LIMIT {limit}{conflict}")
        } else {
            format!(
                "{with}INSERT INTO {table} ({}) SELECT {} FROM {source}{filter} LIMIT {limit}{conflict}",
                self.cols.join(", "),
                self.cols.iter().map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
            )
        }
    }

    /// Count, for rows `lo..=hi`, the rows each filter rejects, then the rows passing all.
    fn diagnose(&self, lo: u64, hi: u64) -> String {
        let mut counts: Vec<String> =
            self.filters.iter().map(|(_, p)| format!("count(*) FILTER (WHERE NOT ({p}))")).collect();
        counts.push(self.all_filters().map_or("count(*)".into(), |f| format!("count(*) FILTER (WHERE {f})")));
        format!("{}SELECT {} FROM {}", self.with, counts.join(", "), self.source(lo, hi))
    }
}

fn db_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => e.to_string(),
    }
}

/// Rounds of generation: when filters reject rows, later rounds generate more to make up for them.
const ROUNDS: usize = 6;

fn fill_table(client: &mut Client, t: &Table, n: u64) -> TableRows {
    let start = Instant::now();
    let mut first_error: Option<String> = None;
    for minimal in [false, true] {
        let mut st = match build(client, t, minimal) {
            Ok(st) => st,
            Err(e) => {
                let mut r = empty_report(&t.name);
                r.error = Some(first_error.map_or(e.clone(), |f| format!("{f}; then: {e}")));
                r.seconds = start.elapsed().as_secs_f64();
                return r;
            }
        };
        let mut outcome = insert_rounds(client, &st, n);
        if !st.on_conflict
            && outcome.as_ref().is_err_and(|e| e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION))
        {
            // a default (a sequence behind explicitly numbered seed rows) or seed data collided
            st.on_conflict = true;
            outcome = insert_rounds(client, &st, n);
        }
        match outcome.map_err(|e| db_error(&e)) {
            Ok((inserted, generated)) => {
                let mut report = st.report.clone();
                report.inserted = inserted;
                report.generated_rows = generated;
                if generated > n || inserted < n {
                    // name what rejected rows, on the first round's rows
                    if let Ok(row) = client.query_one(st.diagnose(1, n).as_str(), &[]) {
                        for (i, (label, _)) in st.filters.iter().enumerate() {
                            let rows = row.get::<_, i64>(i) as u64;
                            if rows > 0 {
                                report.rejected.push(Rejected { constraint: label.clone(), rows });
                            }
                        }
                        if inserted < n {
                            let passed = row.get::<_, i64>(st.filters.len()) as u64;
                            report.conflicts = passed.saturating_sub(inserted.min(passed));
                        }
                    }
                }
                report.error = first_error
                    .map(|e| format!("the insert of every column failed ({e}); only required columns were filled"));
                report.seconds = start.elapsed().as_secs_f64();
                return report;
            }
            Err(e) => {
                if minimal {
                    let mut report = st.report.clone();
                    report.error = Some(match first_error {
                        Some(f) => format!("{f}; with only required columns: {e}"),
                        None => e,
                    });
                    report.seconds = start.elapsed().as_secs_f64();
                    return report;
                }
                first_error = Some(e);
            }
        }
    }
    unreachable!("the second pass returns")
}

/// Insert `n` rows of `st` in up to [`ROUNDS`] statements, in one transaction: (rows inserted,
/// rows generated).
fn insert_rounds(client: &mut Client, st: &Statement, n: u64) -> Result<(u64, u64), postgres::Error> {
    let mut tx = client.transaction()?;
    let (mut inserted, mut generated) = (0u64, 0u64);
    for round in 0..ROUNDS {
        let remaining = n - inserted;
        // after the first round, enough rows for the pass rate seen so far, plus a margin
        let m = if round == 0 {
            n
        } else {
            let rate = inserted as f64 / generated as f64;
            ((remaining as f64 / rate * 1.25).ceil() as u64).clamp(remaining, n.saturating_mul(50))
        };
        let k = tx.execute(st.insert(generated + 1, generated + m, remaining).as_str(), &[])?;
        inserted += k;
        generated += m;
        if inserted >= n || k == 0 {
            break;
        }
    }
    tx.commit()?;
    Ok((inserted, generated))
}

fn empty_report(table: &str) -> TableRows {
    TableRows {
        table: table.to_owned(),
        inserted: 0,
        generated_rows: 0,
        seconds: 0.0,
        generated: Vec::new(),
        defaults: Vec::new(),
        left_null: Vec::new(),
        rejected: Vec::new(),
        conflicts: 0,
        unchecked: Vec::new(),
        error: None,
    }
}

// ---- the whole fill -------------------------------------------------------------------------------

/// Fill the tables `tables` (names as the manifest writes them) and their foreign key parents
/// with `n` rows each, in database `db`. An `Err` means the fill could not run at all; a table
/// that could not be filled is in the report.
pub fn fill(server: &Server, db: &str, c: &Compilation, tables: &[String], n: u64) -> Result<RowsReport> {
    let start = Instant::now();
    let mut client = server.connect(db, "pgsafe-verify").context("--rows: could not connect to the template")?;
    let hints = draft_hints(&c.source.text);
    let mut lookup = Resolver::default();
    let mut skipped = Vec::new();
    let mut roots = Vec::new();
    for name in tables {
        match resolve(&mut client, name) {
            Some((t, k)) if k == "r" || k == "p" => {
                if !roots.contains(&t) {
                    roots.push(t);
                }
            }
            Some((t, _)) => {
                skipped.push(Skipped { table: t, reason: "not a table (a view, index, sequence, …)".into() })
            }
            None => skipped.push(Skipped {
                table: name.clone(),
                reason: "not in the template before the draft runs (the draft creates it?)".into(),
            }),
        }
    }
    // the tables and their parents, loaded once
    let mut loaded: Vec<Table> = Vec::new();
    let mut queue = roots.clone();
    while let Some(name) = queue.pop() {
        if loaded.iter().any(|t| t.name == name) {
            continue;
        }
        let t = load_table(&mut client, &name, &hints, &mut lookup)
            .with_context(|| format!("--rows: could not read the catalogue of {name}"))?;
        queue.extend(t.fks.iter().map(|f| f.parent.clone()));
        loaded.push(t);
    }
    // parents first (depth-first, post-order; a cycle is cut where it is met)
    let mut order: Vec<usize> = Vec::new();
    let mut visiting: Vec<usize> = Vec::new();
    fn visit(i: usize, loaded: &[Table], order: &mut Vec<usize>, visiting: &mut Vec<usize>) {
        if order.contains(&i) || visiting.contains(&i) {
            return;
        }
        visiting.push(i);
        for fk in &loaded[i].fks {
            if let Some(p) = loaded.iter().position(|t| t.name == fk.parent) {
                visit(p, loaded, order, visiting);
            }
        }
        visiting.pop();
        order.push(i);
    }
    for r in &roots {
        if let Some(i) = loaded.iter().position(|t| &t.name == r) {
            visit(i, &loaded, &mut order, &mut visiting);
        }
    }
    let mut out = Vec::new();
    for i in order {
        out.push(fill_table(&mut client, &loaded[i], n));
    }
    let mut r = RowsReport {
        rows: n,
        seconds: start.elapsed().as_secs_f64(),
        tables: out,
        skipped,
        could_not_fill: Vec::new(),
    };
    r.could_not_fill = r.shortfalls();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referenced_columns_of_a_constraint() {
        assert_eq!(referenced_columns("ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users(id)"), ["id"]);
        assert_eq!(
            referenced_columns("ADD FOREIGN KEY (a, b) REFERENCES app.\"Parents\" (\"X\", y) ON DELETE CASCADE"),
            ["X", "y"]
        );
        assert!(referenced_columns("ADD FOREIGN KEY (a) REFERENCES users").is_empty());
        assert!(referenced_columns("ADD FOREIGN KEY (a) REFERENCES users ON DELETE CASCADE").is_empty());
    }

    #[test]
    fn numeric_typmods() {
        // numeric(12, 2): typmod = (12 << 16 | 2) + 4
        assert_eq!(numeric_kind((12 << 16 | 2) + 4), Kind::Numeric { int_digits: 10, scale: 2 });
        assert_eq!(numeric_kind(-1), Kind::Numeric { int_digits: 6, scale: 2 });
        // numeric(5, -2) on PostgreSQL 15+: the scale in 11 bits, two's complement
        assert_eq!(numeric_kind((5 << 16 | (0x800 - 2)) + 4), Kind::Numeric { int_digits: 7, scale: -2 });
    }

    #[test]
    fn draft_hints_name_foreign_keys_checks_and_unique_indexes() {
        let h = draft_hints(
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users(id);\n\
             ALTER TABLE orders ADD CHECK (amount >= 0);\n\
             CREATE UNIQUE INDEX u ON users (email);\n",
        );
        assert_eq!(h.foreign_keys.len(), 1);
        assert_eq!(h.foreign_keys[0].columns, ["user_id"]);
        assert_eq!(h.foreign_keys[0].ref_columns, ["id"]);
        assert_eq!(h.checks[0].1, ["amount"]);
        assert_eq!(h.unique[0].1, ["email"]);
    }

    #[test]
    fn short_varchar_keeps_the_row_number_first() {
        let v = value(&Kind::Text { max: Some(6) }, "code", "t", 0, true).unwrap();
        assert!(v.starts_with("lpad(to_hex(g.i)"), "{v}");
        let v = value(&Kind::Text { max: None }, "user_email", "t", 0, true).unwrap();
        assert!(v.contains("@example.com"), "{v}");
        assert!(value(&Kind::Unsupported("xml".into()), "x", "t", 0, false).is_none());
    }
}
