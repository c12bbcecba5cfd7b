//! `type-change`: `ALTER COLUMN … TYPE` that rewrites the table gets a diagnostic with the
//! expand/contract recipe; a change PostgreSQL makes without a rewrite passes silently.
//!
//! Why: a rewriting type change copies the whole table and rebuilds every index on it under ACCESS
//! EXCLUSIVE, so reads and writes wait for all of it (measured on PostgreSQL 15: `int → bigint`,
//! `text → varchar(50)`). No keyword makes it safe; the way out is a new column kept in sync by a
//! trigger, a batched backfill, and a swap in one short transaction.
//!
//! No rewrite (ACCESS EXCLUSIVE only briefly, which `timeouts` bounds): `varchar(n) → varchar(m ≥ n)`,
//! `varchar → text`, `text → varchar` without a length, `numeric(p,s) → numeric(p' ≥ p, s)` or
//! unconstrained `numeric`, a larger or dropped precision of `timestamp`/`time`, `varbit(n) →
//! varbit(m ≥ n)`, `cidr → inet`, and `timestamp ↔ timestamptz` only when the session TimeZone is UTC
//! (PostgreSQL 12+). `text ↔ citext` keeps the table but rebuilds the indexes on the column. The old
//! type comes from `--schema` and the draft itself; without it pgsafe says it could not tell and
//! assumes a rewrite.
//!
//! `ADD COLUMN` of a domain with a constraint rewrites the table too ([`crate::ir::domains`]): the
//! same diagnostic, without a recipe (no form of the statement avoids it).

use super::{Ctx, Rewritten};
use crate::config::Config;
use crate::ir::action::{Action, ColumnChange};
use crate::ir::catalog::{Indexes, SqlType, Table};
use crate::ir::domains;
use crate::ir::migration::{Migration, Section};
use crate::ir::name::{quote_ident, Name};
use crate::ir::op::OpKind;
use crate::ir::savepoints::Rollbacks;
use rustc_hash::FxHashSet;

pub const RULE: &str = "type-change";

/// What the finding of a change that keeps the table and rebuilds only the indexes on the
/// column says (`long-step` tells such a change from a rewrite by it).
pub const REBUILDS_ONLY_INDEXES: &str = "keeps the table but rebuilds the indexes on";

/// What a type change costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Catalog only (binary-compatible, no index rebuild).
    None,
    /// The table stays; the indexes on the column are rebuilt (new comparison semantics).
    Indexes,
    /// No rewrite only when the session TimeZone is UTC.
    UtcOnly,
    /// Table rewrite and every index rebuilt.
    Rewrite,
}

/// The cost of changing a column from `old` to `new` (without a `USING` that changes the value).
pub fn cost(old: &SqlType, new: &SqlType) -> Cost {
    if old.array != new.array || (old.array > 0 && old != new) {
        return Cost::Rewrite;
    }
    // A modifier that only widens: none on the new type, or each at least the old one.
    let widens = |old: &[i64], new: &[i64]| new.is_empty() || (!old.is_empty() && new[0] >= old[0]);
    let (o, n) = (old.base.as_str(), new.base.as_str());
    if o == n {
        if old.mods == new.mods {
            return Cost::None;
        }
        return match o {
            "varchar" | "varbit" | "timestamp" | "timestamptz" | "time" | "timetz" if widens(&old.mods, &new.mods) => {
                Cost::None
            }
            "numeric"
                if new.mods.is_empty()
                    || (old.mods.len() == 2
                        && new.mods.len() == 2
                        && new.mods[1] == old.mods[1]
                        && new.mods[0] >= old.mods[0]) =>
            {
                Cost::None
            }
            _ => Cost::Rewrite,
        };
    }
    match (o, n) {
        ("varchar", "text") | ("cidr", "inet") => Cost::None,
        ("text", "varchar") if new.mods.is_empty() => Cost::None,
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") if widens(&old.mods, &new.mods) => Cost::UtcOnly,
        ("text" | "varchar", "citext") | ("citext", "text") => Cost::Indexes,
        ("citext", "varchar") if new.mods.is_empty() => Cost::Indexes,
        _ => Cost::Rewrite,
    }
}

/// Whether the draft's session time zone is UTC, as far as it has gone.
pub struct Zone {
    utc: Utc,
    rollbacks: Rollbacks<Utc>,
}

/// The session's time zone is UTC, and what a `SET LOCAL` of the open transaction block made of
/// it (in force until the block ends).
#[derive(Debug, Clone, Copy, Default)]
struct Utc {
    session: bool,
    local: Option<bool>,
}

impl Utc {
    fn is_utc(self) -> bool {
        self.local.unwrap_or(self.session)
    }

    /// UTC on both paths.
    fn and(self, other: Utc) -> Utc {
        let local = (self.local.is_some() || other.local.is_some()).then(|| self.is_utc() && other.is_utc());
        Utc { session: self.session && other.session, local }
    }
}

impl Zone {
    /// `runner_transaction`: the draft's migration tool runs it in a transaction block.
    pub fn new(runner_transaction: bool) -> Zone {
        Zone { utc: Utc::default(), rollbacks: Rollbacks::new(runner_transaction) }
    }

    fn is_utc(&self) -> bool {
        self.utc.is_utc()
    }

    /// `SET [LOCAL] timezone = value` (a `SET LOCAL` outside a block does nothing).
    fn set(&mut self, local: bool, value: &str) {
        let v = value.trim().trim_matches(['\'', '"']).to_lowercase();
        let v = v.strip_prefix("zone").map_or(v.as_str(), str::trim).trim_matches(['\'', '"']);
        let utc = ["utc", "etc/utc", "gmt", "etc/gmt", "uct", "zulu", "z", "0", "+00", "+00:00"].contains(&v);
        match (local, self.rollbacks.in_block()) {
            (true, true) => self.utc.local = Some(utc),
            (true, false) => {}
            // A SET in a block overrides its SET LOCAL too.
            (false, _) => self.utc = Utc { session: utc, local: None },
        }
    }

    /// A transaction-control op or a psql `\if`/`\elif`/`\else`/`\endif` runs: a block's end
    /// ends its `SET LOCAL`, a rollback undoes the `SET`s made since the point it returns to, and
    /// where a branch ends the zone is UTC only if it is whether the branch ran or not (a `SET` a
    /// branch may skip must not hide a rewrite).
    fn follow(&mut self, kind: &OpKind) {
        let now = self.utc;
        if let Some(back) = self.rollbacks.follow(kind, || now) {
            self.utc = match kind {
                OpKind::Psql(_) => back.and(now),
                _ => back,
            };
        }
        if matches!(kind, OpKind::Begin | OpKind::Commit { .. }) && !self.rollbacks.in_block() {
            self.utc.local = None;
        }
    }
}

/// What the rule carries from one window of statements to the next.
pub struct Carried {
    zone: Zone,
    /// The domains given a constraint so far (`--schema`, then the draft), by [`domains::type_key`].
    constrained_domains: FxHashSet<String>,
}

impl Carried {
    pub fn new(m: &Migration<'_>, config: &Config) -> Carried {
        let constrained_domains = config.catalog.as_ref().map(|c| c.constrained_domains.clone()).unwrap_or_default();
        Carried { zone: Zone::new(m.runner_transaction), constrained_domains }
    }
}

/// `carried`: the draft's session time zone and constrained domains where the window starts, then
/// as it goes.
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, carried: &mut Carried) {
    let m = ctx.m;
    let Carried { zone, constrained_domains } = carried;
    for (i, s) in ctx.stmts() {
        if let Some(d) = m.domain_constrained_by(i).filter(|_| s.section == Section::Up) {
            d.record(constrained_domains);
        }
        for (k, op) in s.ops.iter().enumerate() {
            // `SET TIME ZONE`, `SET timezone`, `RESET ALL`.
            if let Some((value, local)) = op.kind.setting("timezone") {
                zone.set(local, value);
                continue;
            }
            match &op.kind {
                OpKind::Begin | OpKind::Commit { .. } | OpKind::Savepoint { .. } | OpKind::Psql(_)
                    if s.section == Section::Up =>
                {
                    zone.follow(&op.kind)
                }
                OpKind::AlterTable {
                    table,
                    action: Action::AlterColumn { column, change: ColumnChange::Type { type_text, collate, using } },
                    ..
                } if ctx.applies(RULE, i) && !m.created_before(table, i) => {
                    let before = ctx.before(i, k).table.as_deref();
                    let change =
                        Change { column, new_text: type_text, collate: collate.as_deref(), using: using.is_some() };
                    if let Some(msg) = check(ctx, before, table, &change, zone.is_utc()) {
                        out.diagnose(RULE, op.span.start, msg);
                    }
                }
                OpKind::AddColumn { table, column, type_text, .. }
                    if ctx.applies(RULE, i) && !ctx.quiet(table, i) && constrained(constrained_domains, type_text) =>
                {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "{type_text} is a domain with a constraint (CHECK or NOT NULL), and PostgreSQL checks it \
                             on every row by rewriting {t} when {column} is added: under ACCESS EXCLUSIVE, reads and \
                             writes wait for as long as the copy takes (a domain without constraints adds the column \
                             in the catalogue alone). No form of this ADD COLUMN avoids the rewrite: on a large table, \
                             run it in a quiet hour, or add {column} with the domain's base type and a CHECK constraint \
                             NOT VALID, validated apart",
                            t = table.text
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}

/// Is `type_text` (a column's type as written) a domain given a constraint so far? An array of
/// one is not checked by a rewrite.
fn constrained(domains: &FxHashSet<String>, type_text: &str) -> bool {
    let t = SqlType::parse(type_text);
    !domains.is_empty() && t.array == 0 && domains.contains(domains::type_key(&t.base))
}

/// `ALTER COLUMN column TYPE new_text [COLLATE …] [USING …]`.
struct Change<'a> {
    column: &'a Name,
    new_text: &'a str,
    /// Its `COLLATE` clause (`None`: the new type's default collation, which the column takes).
    collate: Option<&'a str>,
    /// A `USING` that changes the value beyond the cast.
    using: bool,
}

/// `c_new`, quoted like `c` when needed.
fn suffixed(column: &Name, suffix: &str) -> String {
    if column.text.starts_with('"') {
        quote_ident(&format!("{}{suffix}", column.key))
    } else {
        format!("{}{suffix}", column.text)
    }
}

fn recipe(table: &Name, column: &Name, new_type: &str) -> String {
    let c = &column.text;
    let (new, old) = (suffixed(column, "_new"), suffixed(column, "_old"));
    format!(
        "expand/contract instead: add {new} {new_type}; keep it in sync with a trigger on INSERT and UPDATE of {t}; backfill \
         the existing rows in batches; build its indexes CONCURRENTLY and its constraints NOT VALID + VALIDATE; then in one \
         short transaction rename {c} to {old} and {new} to {c} and drop the trigger; drop {old} once no code reads it",
        t = table.text
    )
}

/// `before`: the table as the catalogue knows it before the change.
fn check(ctx: &Ctx<'_, '_>, before: Option<&Table>, table: &Name, change: &Change<'_>, utc: bool) -> Option<String> {
    let Change { column, new_text, collate, using } = *change;
    let t = &table.text;
    let c = &column.text;
    let Some(old) = before.and_then(|b| b.column(&column.key)) else {
        let why = match &ctx.config.catalog {
            None => "no --schema was given".to_string(),
            Some(_) => format!("the --schema does not know {t}.{c}"),
        };
        return Some(format!(
            "pgsafe could not tell the current type of {t}.{c} ({why}), so it assumes the change to {new_text} rewrites {t} \
             and rebuilds all its indexes under ACCESS EXCLUSIVE, blocking reads and writes throughout. It does not if the \
             change is binary-compatible (varchar(n) to varchar(m ≥ n) or text, numeric(p,s) to numeric(p' ≥ p, s)); \
             otherwise {}",
            recipe(table, column, new_text)
        ));
    };
    let old_text = &old.type_text;
    let none = Indexes::default();
    let table_indexes = before.map_or(&none, |b| &b.indexes);
    let indexes: Vec<String> =
        table_indexes.iter().filter_map(|ix| ix.name.as_ref().map(|n| n.text.to_string())).collect();
    let rebuilt = if indexes.is_empty() { String::new() } else { format!(" ({})", indexes.join(", ")) };
    let by_type = cost(&old.sql_type(), &SqlType::parse(new_text));
    let mut cost = by_type;
    if using {
        cost = Cost::Rewrite;
    }
    let on_column = table_indexes.iter().any(|ix| ix.columns.iter().flatten().any(|c| *c == *column.key));
    // Another collation orders the values otherwise: PostgreSQL 15 builds the indexes on the
    // column again (a new relfilenode; the table's stays), also without `COLLATE` from a column
    // that had one, and not for the same collation named again.
    let recollated = collation_key(old.collation.as_deref()) != collation_key(collate);
    match cost {
        Cost::None if recollated && on_column => cost = Cost::Indexes,
        Cost::Indexes if !on_column => cost = Cost::None,
        // Under UTC the table stays, but an index on the column is built again: the two types
        // index with different operator classes (measured on PostgreSQL 15: a new relfilenode).
        Cost::UtcOnly if utc => cost = if on_column { Cost::Indexes } else { Cost::None },
        _ => {}
    }
    let (old_text, new_text) = (with_collation(old_text, old.collation.as_deref()), with_collation(new_text, collate));
    let why = if recollated && by_type == Cost::None {
        "the new collation orders the values otherwise"
    } else {
        "the new type indexes with another operator class"
    };
    Some(match cost {
        Cost::None => return None,
        Cost::Indexes => format!(
            "changing {t}.{c} from {old_text} to {new_text} {REBUILDS_ONLY_INDEXES} {c} under ACCESS EXCLUSIVE ({why}), \
             blocking reads and writes while they build. {}",
            capitalised(&recipe(table, column, &new_text))
        ),
        Cost::UtcOnly => format!(
            "changing {t}.{c} from {old_text} to {new_text} skips the table rewrite only when the session that runs it has \
             TimeZone = UTC (PostgreSQL 12+); in any other time zone it rewrites {t} and all its indexes{rebuilt} under \
             ACCESS EXCLUSIVE. Put SET timezone = 'UTC' before it in the draft (pgsafe repeats session settings in later \
             steps)"
        ),
        Cost::Rewrite => format!(
            "changing {t}.{c} from {old_text} to {new_text}{} rewrites {t} and rebuilds all its indexes{rebuilt} under ACCESS \
             EXCLUSIVE: reads and writes wait for the whole copy. {}",
            if using { " with a USING expression" } else { "" },
            capitalised(&recipe(table, column, &new_text))
        ),
    })
}

/// A collation as PostgreSQL finds it: folded like a name, without `pg_catalog.`; none is the
/// default.
fn collation_key(collation: Option<&str>) -> String {
    let key = collation.map_or_else(|| "default".to_string(), |c| Name::new(c).base().to_string());
    if key.is_empty() {
        "default".into()
    } else {
        key
    }
}

/// A type as written, with its `COLLATE` clause when it has one.
fn with_collation(type_text: &str, collation: Option<&str>) -> String {
    match collation {
        Some(c) => format!("{type_text} COLLATE {c}"),
        None => type_text.to_string(),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::catalog::Catalog;
    use crate::{compile, Config};

    fn t(s: &str) -> SqlType {
        SqlType::parse(s)
    }

    #[test]
    fn costs_follow_postgresql() {
        for (old, new, want) in [
            ("varchar(50)", "varchar(100)", Cost::None),
            ("character varying(50)", "text", Cost::None),
            ("varchar(50)", "varchar", Cost::None),
            ("text", "varchar", Cost::None),
            ("numeric(10,2)", "numeric(12,2)", Cost::None),
            ("numeric(10,2)", "numeric", Cost::None),
            ("timestamp(3)", "timestamp(6)", Cost::None),
            ("cidr", "inet", Cost::None),
            ("int", "integer", Cost::None),
            ("timestamp without time zone", "timestamptz", Cost::UtcOnly),
            ("text", "citext", Cost::Indexes),
            ("varchar(100)", "varchar(50)", Cost::Rewrite),
            ("text", "varchar(50)", Cost::Rewrite),
            ("integer", "bigint", Cost::Rewrite),
            ("numeric(10,2)", "numeric(10,3)", Cost::Rewrite),
            ("numeric", "numeric(10,2)", Cost::Rewrite),
            ("varchar(10)[]", "varchar(20)[]", Cost::Rewrite),
            ("json", "jsonb", Cost::Rewrite),
            ("char(3)", "char(5)", Cost::Rewrite),
        ] {
            assert_eq!(cost(&t(old), &t(new)), want, "{old} → {new}");
        }
    }

    fn diagnostics(sql: &str, schema: Option<&str>) -> Vec<String> {
        let catalog = schema.map(|s| std::sync::Arc::new(Catalog::from_sql(s)));
        let c = compile("t.sql", sql, &Config { catalog, ..Config::default() }).unwrap();
        c.diagnostics.iter().filter(|d| d.rule == RULE).map(|d| d.message.clone()).collect()
    }

    const SCHEMA: &str = "CREATE TABLE orders (id bigserial PRIMARY KEY, qty int, status varchar(50), \
                          created_at timestamp, email text);\nCREATE INDEX idx_orders_email ON orders (email);";

    #[test]
    fn with_a_schema() {
        assert!(diagnostics("ALTER TABLE orders ALTER COLUMN status TYPE varchar(100);", Some(SCHEMA)).is_empty());
        assert!(diagnostics("ALTER TABLE orders ALTER status TYPE text USING status::text;", Some(SCHEMA)).is_empty());
        let d = diagnostics("ALTER TABLE orders ALTER COLUMN qty TYPE bigint;", Some(SCHEMA));
        assert!(d[0].contains("from int to bigint rewrites orders") && d[0].contains("add qty_new bigint"), "{d:?}");
        let d = diagnostics("ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz;", Some(SCHEMA));
        assert!(d[0].contains("TimeZone = UTC"), "{d:?}");
        assert!(diagnostics(
            "SET timezone TO 'UTC';\nALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz;",
            Some(SCHEMA)
        )
        .is_empty());
        let d = diagnostics("ALTER TABLE orders ALTER COLUMN email TYPE citext;", Some(SCHEMA));
        assert!(d[0].contains("rebuilds the indexes on email"), "{d:?}");
        let d =
            diagnostics("ALTER TABLE orders ALTER COLUMN status TYPE varchar(100) USING upper(status);", Some(SCHEMA));
        assert!(d[0].contains("with a USING expression"), "{d:?}");
        let d = diagnostics("ALTER TABLE orders ALTER COLUMN nope TYPE text;", Some(SCHEMA));
        assert!(d[0].contains("the --schema does not know orders.nope"), "{d:?}");
    }

    /// Measured on PostgreSQL 15 (`pg_class.relfilenode` before and after): another collation
    /// builds the indexes on the column again and keeps the table; the same collation named again,
    /// or `text` to `varchar` with the same one, builds nothing. Until the forty-third pass a
    /// `COLLATE` change got no `long-step` warning (sqlparser does not read the clause, and the
    /// statement was taken not to scan).
    #[test]
    fn a_new_collation_rebuilds_the_indexes_on_the_column() {
        let schema = format!("{SCHEMA}\nCREATE TABLE notes (id bigint PRIMARY KEY, body text COLLATE \"C\");\nCREATE INDEX notes_body ON notes (body);");
        let all = |sql: &str| {
            let catalog = Some(std::sync::Arc::new(Catalog::from_sql(&schema)));
            let c = compile("t.sql", sql, &Config { catalog, ..Config::default() }).unwrap();
            c.diagnostics.iter().map(|d| (d.rule, d.message.clone())).collect::<Vec<_>>()
        };
        for sql in [
            "ALTER TABLE orders ALTER COLUMN email TYPE text COLLATE \"C\";",
            "ALTER TABLE notes ALTER COLUMN body TYPE text;",
            "ALTER TABLE notes ALTER COLUMN body TYPE varchar COLLATE \"POSIX\";",
        ] {
            let d = all(sql);
            let of = |rule: &str| d.iter().find(|(r, _)| *r == rule).map(|(_, m)| m.as_str()).unwrap_or("");
            assert!(of(RULE).contains(REBUILDS_ONLY_INDEXES) && of(RULE).contains("the new collation"), "{sql}: {d:?}");
            assert!(of("long-step").contains("rebuilds the indexes on the changed column"), "{sql}: {d:?}");
        }
        for sql in [
            "ALTER TABLE notes ALTER COLUMN body TYPE text COLLATE \"C\";",
            "ALTER TABLE notes ALTER COLUMN body TYPE varchar COLLATE pg_catalog.\"C\";",
            "ALTER TABLE orders ALTER COLUMN email TYPE varchar;",
            "ALTER TABLE orders ALTER COLUMN email TYPE text COLLATE \"default\";",
            "ALTER TABLE orders ALTER COLUMN status TYPE text COLLATE \"C\";",
        ] {
            let d = all(sql);
            assert!(!d.iter().any(|(r, _)| *r == RULE || *r == "long-step"), "{sql}: {d:?}");
        }
    }

    #[test]
    fn the_time_zone_follows_transaction_blocks() {
        let change = "ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz;";
        let warned = |before: &str| !diagnostics(&format!("{before}\n{change}"), Some(SCHEMA)).is_empty();
        // In force where the change runs.
        assert!(!warned("BEGIN;\nSET timezone TO 'UTC';\nCOMMIT;"));
        assert!(!warned("BEGIN;\nSET LOCAL timezone TO 'UTC';"));
        assert!(!warned("BEGIN;\nSAVEPOINT s;\nSET timezone TO 'UTC';\nRELEASE SAVEPOINT s;"));
        // Undone before it: by a rollback, to a savepoint, or at the end of the block of a SET LOCAL.
        assert!(warned("BEGIN;\nSET timezone TO 'UTC';\nROLLBACK;"));
        assert!(warned("BEGIN;\nSAVEPOINT s;\nSET timezone TO 'UTC';\nROLLBACK TO SAVEPOINT s;"));
        assert!(warned("BEGIN;\nSET LOCAL timezone TO 'UTC';\nCOMMIT;"));
        // A SET LOCAL outside a block does nothing; a SET in a block overrides its SET LOCAL.
        assert!(warned("SET LOCAL timezone TO 'UTC';"));
        assert!(warned("BEGIN;\nSET LOCAL timezone TO 'UTC';\nSET timezone TO 'Europe/Paris';"));
        // A rollback puts back the UTC session its block began with.
        assert!(!warned("SET timezone TO 'UTC';\nBEGIN;\nSET timezone TO 'Europe/Paris';\nROLLBACK;"));
        // After a psql branch that may not run, UTC only if it is whether it ran or not.
        assert!(warned("\\if :a\nSET timezone TO 'UTC';\n\\endif"));
        assert!(warned("SET timezone TO 'UTC';\n\\if :a\nSET timezone TO 'Europe/Paris';\n\\endif"));
        assert!(warned("SET timezone TO 'UTC';\n\\if :a\nSELECT 1;\n\\else\nSET timezone TO 'Europe/Paris';\n\\endif"));
        assert!(!warned("SET timezone TO 'UTC';\n\\if :a\nSET timezone TO 'Etc/UTC';\n\\endif"));
    }

    #[test]
    fn without_a_schema() {
        let d = diagnostics("ALTER TABLE orders ALTER COLUMN status TYPE varchar(100);", None);
        assert!(d[0].contains("could not tell the current type of orders.status (no --schema was given)"), "{d:?}");
        // The draft itself tells the old type.
        assert!(diagnostics(
            "ALTER TABLE orders ADD COLUMN note varchar(10);\nALTER TABLE orders ALTER note TYPE text;",
            None
        )
        .is_empty());
        // A table the draft creates has no traffic.
        assert!(diagnostics("CREATE TABLE t (a int);\nALTER TABLE t ALTER a TYPE bigint;", None).is_empty());
    }

    #[test]
    fn a_column_of_a_domain_with_a_constraint_rewrites_its_table() {
        let add = "ALTER TABLE orders ADD COLUMN level pos;";
        let warned = |before: &str, schema: Option<&str>| !diagnostics(&format!("{before}\n{add}"), schema).is_empty();
        // Measured on PostgreSQL 15: a CHECK or NOT NULL of the domain, its own or its base
        // domain's, rewrites the table; a domain without one, or an array of one, does not.
        assert!(warned("CREATE DOMAIN pos AS int CHECK (VALUE > 0);", None));
        assert!(warned("CREATE DOMAIN pos AS int NOT NULL DEFAULT 1;", None));
        assert!(warned("CREATE DOMAIN pos AS int;\nALTER DOMAIN pos ADD CHECK (VALUE > 0) NOT VALID;", None));
        assert!(warned(
            "CREATE DOMAIN app.positive AS int CHECK (VALUE > 0);\nCREATE DOMAIN pos AS app.positive;",
            None
        ));
        assert!(!warned("CREATE DOMAIN pos AS int;", None));
        assert!(!warned("CREATE DOMAIN positive AS int;\nCREATE DOMAIN pos AS positive;", None));
        assert!(!warned("", None));
        assert!(diagnostics(
            "CREATE DOMAIN pos AS int CHECK (VALUE > 0);\nALTER TABLE orders ADD COLUMN l pos[];",
            None
        )
        .is_empty());
        // A table the draft creates has no rows to rewrite.
        assert!(!warned("CREATE DOMAIN pos AS int CHECK (VALUE > 0);\nCREATE TABLE orders (id int);", None));
        // From the schema: the message, and the long-step warning of its step.
        let schema = format!("{SCHEMA}\nCREATE DOMAIN public.pos AS int CONSTRAINT positive CHECK (VALUE > 0);");
        let d = diagnostics(add, Some(&schema));
        assert!(d[0].starts_with("pos is a domain with a constraint") && d[0].contains("rewriting orders"), "{d:?}");
        let catalog = Some(std::sync::Arc::new(Catalog::from_sql(&schema)));
        let c = compile("t.sql", add, &Config { catalog, ..Config::default() }).unwrap();
        let long = c.diagnostics.iter().find(|d| d.rule == "long-step").expect("a long-step warning");
        assert!(long.message.contains("this rewrites orders under ACCESS EXCLUSIVE"), "{}", long.message);
    }
}
