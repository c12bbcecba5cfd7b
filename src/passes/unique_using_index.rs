//! `unique-using-index`: `ADD [CONSTRAINT c] UNIQUE (…)` / `PRIMARY KEY (…)` on a table with traffic
//! → `CREATE UNIQUE INDEX CONCURRENTLY c ON t (…)` in an autocommit step, then
//! `ADD CONSTRAINT c UNIQUE|PRIMARY KEY USING INDEX c` in a short transaction. A primary key's
//! columns are first made NOT NULL the safe way (see `not_null`), unless known NOT NULL already.
//! What the key says of its index goes to the concurrent build (`INCLUDE (…)`, `NULLS [NOT]
//! DISTINCT`, `WITH (…)`, `USING INDEX TABLESPACE t` as `TABLESPACE t`), its deferrability to `USING
//! INDEX c DEFERRABLE INITIALLY DEFERRED`, which sets the index's `indimmediate` as the key does:
//! the same constraint and index (`pg_get_constraintdef`, `pg_get_indexdef`, `indnkeyatts`,
//! `indnullsnotdistinct`, `condeferrable`, `condeferred`, `indimmediate`, measured on PostgreSQL
//! 15). A key PostgreSQL refuses as written (conflicting properties, `NOT VALID`) stays as written:
//! a build before it would leave an index the draft never made.
//!
//! Why: building the index inside `ADD CONSTRAINT` holds ACCESS EXCLUSIVE (reads and writes wait)
//! for the whole build; `USING INDEX` only attaches a finished index (measured on PostgreSQL 15).

use super::{in_case_of, not_null, Ctx, Edit, Leftover, Mode, Phase, Rewritten, Unit};
use crate::ir::action::Action;
use crate::ir::catalog::Holder;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::Stmt;
use crate::ir::name::{key_of, key_parts, nth_choice, quote_ident, unnamed_key_parts, Name};
use crate::ir::op::{ConstraintKind, OpKind, Refused};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::Cell;

pub const RULE: &str = "unique-using-index";

/// `row_types`: the types whose values are rows so far (a primary key's column of them stays as
/// written: see `not_null`).
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, row_types: &FxHashSet<String>) {
    let m = ctx.m;
    for (i, s) in ctx.stmts() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        let mut k = 0;
        // The constraints this statement drops, by name: the first op that drops each. Found
        // once, when first asked: an `ALTER TABLE` may hold thousands of actions.
        let mut dropped: Option<FxHashMap<&str, usize>> = None;
        // The columns it adds or retypes, found when first asked too.
        let mut new_columns = None;
        // Inline keys built after the statement, and whether one of their actions still scans.
        let (mut built, mut still_scans) = (0, false);
        for (n_op, op) in s.ops.iter().enumerate() {
            if let OpKind::AddColumn { unique: Some(_), .. } = &op.kind {
                let dropped = dropped.get_or_insert_with(|| dropped_by(s));
                if let Some(scans) = inline_unique(ctx, out, (i, n_op), dropped, built) {
                    built += 1;
                    still_scans |= scans;
                }
                continue;
            }
            let OpKind::AddConstraint { table, name, kind, .. } = &op.kind else { continue };
            let (primary, key) = match kind {
                ConstraintKind::Unique(key) => (false, key),
                ConstraintKind::PrimaryKey(key) => (true, key),
                _ => continue,
            };
            if ctx.quiet(table, i) {
                continue;
            }
            if key.without_overlaps {
                out.diagnose(RULE, op.span.start, kept_without_overlaps(table));
                continue;
            }
            if ctx.table_may_be_missing(i, n_op) {
                out.diagnose(
                    RULE,
                    op.span.start,
                    format!(
                        "ALTER TABLE IF EXISTS does nothing where {} is missing, but the recipe's CREATE UNIQUE INDEX \
                         CONCURRENTLY has no IF EXISTS for its table and would fail there: left as written (with \
                         --schema showing the table, pgsafe would rewrite it)",
                        table.text
                    ),
                );
                continue;
            }
            if primary && s.alter.only {
                out.diagnose(RULE, op.span.start, not_null::not_on_only(table));
                continue;
            }
            let before = ctx.before(i, n_op);
            if before.is_partitioned() {
                out.diagnose(
                    RULE,
                    op.span.start,
                    format!(
                        "{} is partitioned: PostgreSQL builds neither a concurrent index nor USING INDEX on a partitioned \
                         table; build the unique index on each partition concurrently, then add the constraint",
                        table.text
                    ),
                );
                continue;
            }
            let action = &m.src[op.span.clone()];
            let Some(clauses) = &key.clauses else {
                // `USING INDEX` already, or words the recipe does not carry.
                match &key.using_index {
                    None => out.diagnose(RULE, op.span.start, kept(table, key.refused)),
                    Some(index) if primary => {
                        if prove_index_columns(ctx, out, (i, n_op, k), table, index, row_types) {
                            k += 1;
                        }
                    }
                    Some(_) => {}
                }
                continue;
            };
            if clauses.deferrable {
                out.diagnose(RULE, op.span.start, kept_deferrable(table));
                continue;
            }
            let cols = m.text(&clauses.list);
            // The names from lowering (comments in the list are none of them), not the text.
            let columns: Vec<String> = key.columns.iter().flatten().cloned().collect();
            // A column this statement adds is new: it holds nothing but its default, and a recipe
            // that runs before the statement would not find it (nor one it includes).
            let new_columns = new_columns.get_or_insert_with(|| ctx.new_columns_of_statement(i));
            let new = |c: &String| new_columns.contains(c.as_str());
            if columns.iter().chain(&key.include).any(new) {
                continue;
            }
            if let Some(col) =
                columns.iter().find(|c| primary && not_null::holds_rows(ctx, (i, n_op), table, c, row_types))
            {
                out.diagnose(RULE, op.span.start, not_null::not_on_rows(table, col));
                out.add_fact(i, not_null::rows_fact(table, col));
                continue;
            }
            let dropped = dropped.get_or_insert_with(|| dropped_by(s));
            let taken = taken_by(ctx, i, n_op, dropped);
            let parts = unnamed_key_parts(table, name.as_deref(), kind);
            let Some(index) = key_name(ctx, out, (i, n_op), (table, name.as_ref(), parts), &taken, op.span.start)
            else {
                continue;
            };
            // Index names the table has just before this statement (the recipe's build runs then).
            let at_start = ctx.before(i, 0);
            // The name may still belong to the constraint this statement drops (a primary key
            // replaced in one statement, as Prisma writes it, before or after the drop), or to an
            // index the table has: build under a free name; USING INDEX renames the index to the
            // constraint's name.
            let index_key = key_of(&index);
            let dropped_here = dropped.contains_key(index_key.as_str());
            let build_name = if dropped_here || at_start.table.as_deref().is_some_and(|t| t.indexes.has_key(&index_key))
            {
                let in_use = |n: &str| taken(n) || dropped.contains_key(key_of(&quote_ident(n)).as_str());
                let schema = table.key.strip_suffix(table.base()).unwrap_or("");
                quote_ident(&out.unique_name_avoiding(schema, [&index_key, "", "new"], in_use))
            } else {
                index.clone()
            };
            let sample: String = action.chars().take(3).collect();
            let kw = |k: &str| in_case_of(&sample, k);
            // The column list is the draft's text: a `--` comment in it must end before the `)`
            // that closes the generated statement.
            let cols = cols.trim();
            let end = if cols.contains("--") { "\n" } else { "" };
            // What the key says of its index goes to the build, in CREATE INDEX's order.
            let mut index_clauses = String::new();
            for r in [&clauses.include, &clauses.nulls, &clauses.with].into_iter().flatten() {
                index_clauses.push_str(&format!(" {}", m.text(r)));
            }
            if let Some(tablespace) = &clauses.tablespace {
                index_clauses.push_str(&format!(" {} {}", kw("TABLESPACE"), m.text(tablespace)));
            }
            let create = format!(
                "{} {build_name} {} {} ({cols}{end}){index_clauses}",
                kw("CREATE UNIQUE INDEX CONCURRENTLY"),
                kw("ON"),
                table.text,
            );
            let mut build = Unit {
                sub: -500 + k,
                mode: Mode::Autocommit,
                long_running: true,
                locks: thin_vec::thin_vec![LockUse {
                    table: table.clone(),
                    mode: LockMode::ShareUpdateExclusive,
                    scans: true
                }],
                ..Unit::generated(i, op.span.start, create, Phase::Main, RULE)
            };
            build.ends_step = true;
            let leftover = Leftover { index: Some(build_name.as_str().into()), table: table.clone(), unique: true };
            out.leftovers.insert(out.units.len(), leftover);
            out.units.push(build);
            // A primary key needs NOT NULL columns; prove them without a long scan.
            let mut not_null_first = String::new();
            if primary {
                for (n, col) in columns.iter().enumerate() {
                    let fact = not_null::fact(table, col);
                    let known = out.holds_at(ctx.m, &fact, i)
                        || before.table.as_ref().and_then(|t| t.column(col)).is_some_and(|c| !c.nullable);
                    if known {
                        // Proven before this statement: the step says so, to stay a fixed point.
                        out.add_fact(i, fact);
                    } else {
                        not_null::recipe(ctx, out, i, k * 10 + n as i32, table, col, RULE);
                    }
                    not_null_first.push_str(&format!(
                        "{} {} {}, ",
                        kw("ALTER COLUMN"),
                        quote_ident(col),
                        kw("SET NOT NULL")
                    ));
                }
            }
            // The constraint's deferrability, which USING INDEX takes as the key does.
            let deferrability = clauses.deferrability.as_ref().map(|r| format!(" {}", m.text(r))).unwrap_or_default();
            let attach = format!(
                "{not_null_first}{} {index} {} {} {build_name}{deferrability}",
                kw("ADD CONSTRAINT"),
                kw(if primary { "PRIMARY KEY" } else { "UNIQUE" }),
                kw("USING INDEX"),
            );
            let unit = &mut out.units[i];
            unit.edits.push(Edit { rule: RULE, at: op.span.clone(), text: attach });
            unit.starts_step = true;
            if !unit.rules.contains(&RULE) {
                unit.rules.push(RULE);
            }
            k += 1;
            out.change(
                RULE,
                op.span.start,
                format!(
                    "build the index of {index} with CREATE UNIQUE INDEX CONCURRENTLY in its own step, then attach it \
                     with USING INDEX: building it inside ADD CONSTRAINT holds ACCESS EXCLUSIVE on {} for the whole build",
                    table.text,
                ),
            );
        }
        // The statement only attaches finished indexes now: none of its locks is held for a scan.
        if (k > 0 || built > 0) && !still_scans {
            for l in &mut out.units[i].locks {
                l.scans = false;
            }
        }
    }
}

/// `ADD CONSTRAINT … PRIMARY KEY USING INDEX index` (op `k` of statement `i`) makes the index's
/// columns NOT NULL, by a scan under ACCESS EXCLUSIVE where they are not (8M rows: 0.8 s of
/// write wait): where the draft or `--schema` shows the index's columns, each not known NOT NULL
/// is proven first, as for a key built by the recipe, and the statement sets it NOT NULL itself
/// (which then skips the scan). `keys`: the keys of the statement rewritten before it. Did it
/// rewrite?
fn prove_index_columns(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    (i, k, keys): (usize, usize, i32),
    table: &Name,
    index: &Name,
    row_types: &FxHashSet<String>,
) -> bool {
    let before = ctx.before(i, k);
    let Some(t) = before.table.as_deref() else { return false };
    let found = t.indexes.iter().find(|ix| ix.name.as_ref().is_some_and(|n| n.key == index.key));
    let Some(columns) = found.and_then(|ix| ix.columns.iter().cloned().collect::<Option<Vec<String>>>()) else {
        return false;
    };
    if let Some(col) = columns.iter().find(|c| not_null::holds_rows(ctx, (i, k), table, c, row_types)) {
        out.diagnose(RULE, ctx.m.stmts[i].ops[k].span.start, not_null::not_on_rows(table, col));
        out.add_fact(i, not_null::rows_fact(table, col));
        return false;
    }
    // A column the statement sets NOT NULL before the key is `set-not-null`'s (the recipe's own
    // attach step reads so).
    let ops = &ctx.m.stmts[i].ops[..k];
    let set_here =
        |col: &str| ops.iter().any(|o| matches!(&o.kind, OpKind::SetNotNull { column, .. } if column == col));
    let unknown: Vec<&String> = columns
        .iter()
        .filter(|col| {
            if set_here(col) {
                return false;
            }
            let fact = not_null::fact(table, col);
            let known = out.holds_at(ctx.m, &fact, i) || t.column(col).is_some_and(|c| !c.nullable);
            if known {
                out.add_fact(i, fact);
            }
            !known
        })
        .collect();
    if unknown.is_empty() {
        return false;
    }
    let op = &ctx.m.stmts[i].ops[k];
    let sample: String = ctx.m.src[op.span.clone()].chars().take(3).collect();
    let mut set = String::new();
    for (n, col) in unknown.iter().enumerate() {
        not_null::recipe(ctx, out, i, keys * 10 + n as i32, table, col, RULE);
        let (alter, set_not_null) = (in_case_of(&sample, "ALTER COLUMN"), in_case_of(&sample, "SET NOT NULL"));
        set.push_str(&format!("{alter} {} {set_not_null}, ", quote_ident(col)));
    }
    out.units[i].edits.push(Edit { rule: RULE, at: op.span.start..op.span.start, text: set });
    let names: Vec<&str> = unknown.iter().map(|c| c.as_str()).collect();
    out.change(
        RULE,
        op.span.start,
        format!(
            "prove {} NOT NULL first (a check added NOT VALID, validated in its own transaction): ADD PRIMARY KEY USING \
             INDEX {} makes the index's columns NOT NULL by a scan of {} under ACCESS EXCLUSIVE",
            names.join(", "),
            index.text,
            table.text
        ),
    );
    true
}

/// The constraints statement `s` drops, by name: the first op that drops each. PostgreSQL drops
/// them before it adds any, whatever the order written, so their names are free for a new key's.
fn dropped_by(s: &Stmt) -> FxHashMap<&str, usize> {
    let mut first = FxHashMap::default();
    for (n, o) in s.ops.iter().enumerate() {
        if let OpKind::AlterTable { action: Action::DropConstraint { name: d, .. }, .. } = &o.kind {
            first.entry(d.as_str()).or_insert(n);
        }
    }
    first
}

/// Does the table of op `n_op` of statement `i` hold index name `n` (as PostgreSQL chose it,
/// case kept: `Users_email_key`), just before the op or the statement, other than by a constraint
/// the statement drops? Its key is the quoted name's (folded, a mixed-case table's name met a
/// lower-case index and took `…1`).
fn taken_by<'c>(
    ctx: &'c Ctx<'_, '_>,
    i: usize,
    n_op: usize,
    dropped: &'c FxHashMap<&str, usize>,
) -> impl Fn(&str) -> bool + 'c {
    let (before, at_start) = (ctx.before(i, n_op), ctx.before(i, 0));
    move |n: &str| {
        let key = key_of(&quote_ident(n));
        let known = |t: &crate::ir::catalog::Table| t.indexes.has_key(&key);
        let has = before.table.as_deref().is_some_and(known) || at_start.table.as_deref().is_some_and(known);
        has && !dropped.contains_key(key.as_str())
    }
}

/// The name of the key op `n_op` of statement `i` adds to `table`: `name` as written, or
/// PostgreSQL's choice (`<table>_pkey`, `<table>_<cols>_key` from `parts`, then `…1`, `…2`) that
/// neither the table (`taken`) nor another relation of its schema holds. `None` when pgsafe cannot
/// tell which (reported at `at`: the key stays as written).
fn key_name(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    (i, n_op): (usize, usize),
    (table, name, parts): (&Name, Option<&String>, Option<[String; 3]>),
    taken: &dyn Fn(&str) -> bool,
    at: usize,
) -> Option<String> {
    if let Some(n) = name {
        return Some(n.clone());
    }
    let parts = parts?;
    let parts = [parts[0].as_str(), parts[1].as_str(), parts[2].as_str()];
    let before = ctx.before(i, n_op);
    // The search stops at the first choice pgsafe cannot judge, or did not look up (the table's
    // own names included): the key then stays as written. (Going on past it looped for ever past
    // the last choice the timeline looked up, every later one unknown too: seventeen unnamed keys
    // on one column hung the compile; and past those, a walk over every name the table holds was
    // quadratic.)
    let unsure = Cell::new(None);
    let cannot_tell = |n: &str| {
        unsure.set(Some(n.to_string()));
        false
    };
    let held = |n: &str| match before.held_elsewhere(n) {
        Some(Holder::Nobody) => taken(n),
        Some(Holder::Certain) => true,
        Some(Holder::Unsure) => taken(n) || cannot_tell(n),
        None => cannot_tell(n),
    };
    // The catalogue knows every key the draft made before this one, and forgets one a drop
    // frees, as PostgreSQL does (names pgsafe only chose, never freed, gave `t_c_key1` where
    // PostgreSQL takes `t_c_key` again). The walk ends within the choices looked up.
    let choice = (0..).map(|n| nth_choice(parts, n)).find(|c| !held(c)).unwrap_or_default();
    if let Some(n) = unsure.take() {
        // The step compiled alone may not see what made the name unsure: the fact keeps it so.
        out.add_fact(i, crate::ir::migration::name_taken_fact(&n));
        out.diagnose(RULE, at, cannot_tell_the_name(table, &n));
        return None;
    }
    Some(quote_ident(&choice))
}

/// `ADD COLUMN c type UNIQUE` (op `n_op` of statement `i`) on a table with traffic → the column
/// alone, then in steps after the statement `CREATE UNIQUE INDEX CONCURRENTLY` on it and `ADD
/// CONSTRAINT … UNIQUE USING INDEX`: the inline key builds its index over every row inside the
/// statement, under ACCESS EXCLUSIVE. Only for a column added without a value (or `DEFAULT NULL`: every row holds
/// NULL, which a unique index lets repeat), so the build fails where the draft's statement would,
/// on no row. `built`: the inline keys of the statement rewritten before this one. Whether the
/// statement still scans for the action (an inline `CHECK`) when rewritten; `None` when kept.
fn inline_unique(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    (i, n_op): (usize, usize),
    dropped: &FxHashMap<&str, usize>,
    built: i32,
) -> Option<bool> {
    let op = &ctx.m.stmts[i].ops[n_op];
    let OpKind::AddColumn { table, column, unique: Some(key), primary_key, if_not_exists, check, .. } = &op.kind else {
        return None;
    };
    if ctx.quiet(table, i) || *primary_key {
        return None;
    }
    let why = if !op.kind.adds_column_of_nulls() {
        Some("the column is added with a value in every row, so a build after the statement could fail on duplicates where the draft's statement fails whole")
    } else if !key.plain {
        Some("words follow UNIQUE (NULLS, INCLUDE, WITH, USING INDEX TABLESPACE, a deferrability or a second key) that the recipe does not carry")
    } else if *if_not_exists && ctx.column_may_exist(i, n_op, column) {
        Some("where the column exists, ADD COLUMN IF NOT EXISTS does nothing, but the build would index it")
    } else if ctx.table_may_be_missing(i, n_op) {
        Some("where the table is missing, ALTER TABLE IF EXISTS does nothing, but the build has no IF EXISTS for its table")
    } else if ctx.before(i, n_op).is_partitioned() {
        Some("the table is partitioned, and PostgreSQL builds no concurrent index on a partitioned table")
    } else if key.constraint_name.is_none()
        && later_unnamed_key_of_its_name(ctx.m.stmts[i].ops[n_op + 1..].iter(), table, column)
    {
        Some("a later key of this statement has no name either, and without this one it would take the name PostgreSQL gives this one")
    } else {
        None
    };
    if let Some(why) = why {
        out.diagnose(RULE, op.span.start, kept_inline(table, why));
        return None;
    }
    let taken = taken_by(ctx, i, n_op, dropped);
    let parts = Some(key_parts(table, false, &[Some(column.clone())], &[]));
    let index = key_name(ctx, out, (i, n_op), (table, key.constraint_name.as_ref(), parts), &taken, op.span.start)?;
    if key.constraint_name.is_some() && taken(&index) {
        // The draft fails on the name; a build after the column would fail there, past it.
        return None;
    }
    let sample: String = ctx.m.src[op.span.clone()].chars().take(3).collect();
    let kw = |k: &str| in_case_of(&sample, k);
    let column = quote_ident(column);
    let create = format!("{} {index} {} {} ({column})", kw("CREATE UNIQUE INDEX CONCURRENTLY"), kw("ON"), table.text);
    let build = Unit {
        sub: 200 + 2 * built,
        mode: Mode::Autocommit,
        long_running: true,
        locks: thin_vec::thin_vec![LockUse { table: table.clone(), mode: LockMode::ShareUpdateExclusive, scans: true }],
        ..Unit::generated(i, op.span.start, create, Phase::Main, RULE)
    };
    let attach = format!(
        "{} {} {} {index} {} {} {index}",
        kw("ALTER TABLE"),
        table.text,
        kw("ADD CONSTRAINT"),
        kw("UNIQUE"),
        kw("USING INDEX")
    );
    let attach = Unit {
        sub: 201 + 2 * built,
        locks: thin_vec::thin_vec![LockUse { table: table.clone(), mode: LockMode::AccessExclusive, scans: false }],
        ..Unit::generated(i, op.span.start, attach, Phase::Main, RULE)
    };
    out.leftovers
        .insert(out.units.len(), Leftover { index: Some(index.as_str().into()), table: table.clone(), unique: true });
    out.units.push(build);
    out.units.push(attach);
    let unit = &mut out.units[i];
    unit.edits.push(Edit::remove(RULE, ctx.m.src, key.clause.clone()));
    if !unit.rules.contains(&RULE) {
        unit.rules.push(RULE);
    }
    out.change(
        RULE,
        op.span.start,
        format!(
            "add {column} without its UNIQUE, then build the index of {index} with CREATE UNIQUE INDEX CONCURRENTLY in \
             a step of its own and attach it with USING INDEX: the inline UNIQUE builds it inside ADD COLUMN, holding \
             ACCESS EXCLUSIVE on {} for the whole build",
            table.text
        ),
    );
    Some(check.is_some())
}

/// Does one of `later` (ops after an inline `UNIQUE` on `column` in its statement) add an unnamed
/// unique key that PostgreSQL would name as it names the inline one (`ADD COLUMN a text UNIQUE,
/// ADD UNIQUE (a)`: `notes_a_key`, then `notes_a_key1`)? Moved after the statement, the inline key
/// would leave its name to that key, and its own build would fail on it.
fn later_unnamed_key_of_its_name<'o>(
    later: impl Iterator<Item = &'o crate::ir::op::Op>,
    table: &Name,
    column: &str,
) -> bool {
    let first_choice = |parts: [String; 3]| nth_choice([&parts[0], &parts[1], &parts[2]], 0);
    let its = first_choice(key_parts(table, false, &[Some(column.to_string())], &[]));
    later
        .filter_map(|o| match &o.kind {
            OpKind::AddConstraint { name, kind, .. } => unnamed_key_parts(table, name.as_deref(), kind),
            OpKind::AddColumn { column, unique: Some(key), .. } if key.constraint_name.is_none() => {
                Some(key_parts(table, false, &[Some(column.clone())], &[]))
            }
            _ => None,
        })
        .any(|parts| first_choice(parts) == its)
}

/// Why an inline `UNIQUE` stays as written.
fn kept_inline(table: &Name, why: &str) -> String {
    format!(
        "this UNIQUE builds its index under ACCESS EXCLUSIVE on {} for the whole build, and pgsafe keeps it as written: \
         {why}. Add the column first, then build the index with CREATE UNIQUE INDEX CONCURRENTLY and attach it with ADD \
         CONSTRAINT … UNIQUE USING INDEX",
        table.text
    )
}

/// Why a `DEFERRABLE` key stays as written: `CREATE INDEX` has no `DEFERRABLE`, so until `USING
/// INDEX` made the key deferrable its index would check every write of traffic at once, during
/// the whole build (measured on PostgreSQL 15: an `UPDATE t SET a = a + 1` that collides only
/// until its statement ends failed there, and passes on the draft's key). Traffic that relies on
/// the deferral would fail where the draft makes it wait: more harm, of another kind.
fn kept_deferrable(table: &Name) -> String {
    format!(
        "this DEFERRABLE key builds its index under ACCESS EXCLUSIVE on {}, and pgsafe keeps it as written: CREATE \
         UNIQUE INDEX CONCURRENTLY has no DEFERRABLE, so during the build the index would check each write at once \
         (measured on PostgreSQL 15), and a write that collides only until its statement or transaction ends (what a \
         deferrable key lets through) would fail, where the draft makes it wait and then lets it through. If nothing \
         writes such rows while the index builds, build it yourself: CREATE UNIQUE INDEX CONCURRENTLY, then ADD \
         CONSTRAINT … USING INDEX … DEFERRABLE",
        table.text
    )
}

/// Why a key that builds its index stays as written: PostgreSQL refuses it as written (the
/// recipe's build would leave an index the draft never made), or it holds what the recipe does
/// not carry.
/// Why PostgreSQL 18's `WITHOUT OVERLAPS` key is kept as written (measured on 18.4,
/// `tests/postgresql_18.rs`): no concurrent build makes its index.
pub const NO_CONCURRENT_TEMPORAL_KEY: &str = "PostgreSQL builds no unique GiST index apart (CREATE UNIQUE INDEX … \
     USING gist: \"access method gist does not support unique indexes\") and ADD CONSTRAINT … USING INDEX takes only a \
     unique index (measured on PostgreSQL 18.4); a unique btree index would make an ordinary key, which lets \
     overlapping periods through";

fn kept_without_overlaps(table: &Name) -> String {
    format!(
        "this WITHOUT OVERLAPS key builds its GiST index under ACCESS EXCLUSIVE on {}, checking every row, and pgsafe \
         keeps it as written: {NO_CONCURRENT_TEMPORAL_KEY}",
        table.text
    )
}

fn kept(table: &Name, refused: Option<Refused>) -> String {
    let why = match refused {
        Some(Refused::ConflictingProperties) => "it declares conflicting constraint properties",
        Some(Refused::DeferredNotDeferrable) => "a constraint declared INITIALLY DEFERRED must be DEFERRABLE",
        Some(Refused::NotValid) => "UNIQUE and PRIMARY KEY constraints cannot be marked NOT VALID",
        Some(Refused::NoInherit) => "UNIQUE and PRIMARY KEY constraints cannot be marked NO INHERIT",
        None => {
            return format!(
                "this constraint builds its index under ACCESS EXCLUSIVE on {}: build it with CREATE UNIQUE INDEX \
                 CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX (pgsafe carries plain column names, NULLS [NOT] \
                 DISTINCT, INCLUDE, WITH, USING INDEX TABLESPACE and the deferrability, in PostgreSQL's order)",
                table.text
            )
        }
    };
    format!(
        "PostgreSQL 15 refuses this key as written ({why}): left as written, since a concurrent build before it would \
         leave an index the draft never made"
    )
}

/// Why an unnamed key stays as written: which name PostgreSQL gives it depends on a relation
/// pgsafe knows of only under a name written without its schema, or with it where the table's is not.
fn cannot_tell_the_name(table: &Name, choice: &str) -> String {
    format!(
        "PostgreSQL names this key after the first of its choices that no relation of the schema of {t} holds, and \
         pgsafe cannot tell whether {choice} is taken there (a relation of that name is known under a name written with \
         a different schema qualification, a constraint, view, sequence or type has had that name, or the table has \
         more keys than pgsafe looks at): left as written (with timeouts). Name the constraint in the draft to have its \
         index built concurrently",
        t = table.text
    )
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::{compile, Config};

    #[test]
    fn a_key_column_proven_not_null_earlier_is_not_proven_again() {
        let draft = "ALTER TABLE orders ALTER COLUMN code SET NOT NULL;\n\
                     ALTER TABLE orders ADD PRIMARY KEY (code);\n\
                     ALTER TABLE items ADD PRIMARY KEY (code);\n\
                     ALTER TABLE items ALTER COLUMN code SET NOT NULL;\n";
        let flat = compile("d.sql", draft, &Config::default()).unwrap().flattened();
        let checks =
            |table: &str| flat.matches(&format!("ALTER TABLE {table} ADD CONSTRAINT {table}_code_not_null")).count();
        // orders: the SET NOT NULL's proof serves the key; items: its proof comes after the key.
        assert_eq!((checks("orders"), checks("items")), (1, 2), "{flat}");
        let key = flat.find("ADD CONSTRAINT orders_pkey").unwrap();
        assert!(flat[..key].contains("-- pgsafe:fact validated-not-null orders.code"), "{flat}");
    }

    #[test]
    fn a_primary_key_using_an_index_the_draft_shows_proves_its_columns_first() {
        let compiled = |draft: &str| compile("d.sql", draft, &Config::default()).unwrap();
        let build = "CREATE UNIQUE INDEX CONCURRENTLY k ON orders (tenant, code);\n";
        let key = "ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX k;\n";
        let flat = compiled(&format!("{build}{key}")).flattened();
        let attach = flat
            .find("ALTER TABLE orders ALTER COLUMN tenant SET NOT NULL, ALTER COLUMN code SET NOT NULL, ADD CONSTRAINT")
            .unwrap_or_else(|| panic!("{flat}"));
        for column in ["tenant", "code"] {
            let validate = flat.find(&format!("VALIDATE CONSTRAINT orders_{column}_not_null_check")).unwrap();
            assert!(validate < attach, "{column}: {flat}");
        }
        // Proven before (a column NOT NULL already): nothing to prove. An index pgsafe does not
        // know: its columns are not known either.
        let proven =
            compiled(&format!("ALTER TABLE orders ALTER COLUMN tenant SET NOT NULL;\n{build}{key}")).flattened();
        assert_eq!(proven.matches("CHECK (tenant IS NOT NULL)").count(), 1, "{proven}");
        assert_eq!(proven.matches("CHECK (code IS NOT NULL)").count(), 1, "{proven}");
        assert!(!compiled(key).changes.iter().any(|c| c.rule == RULE));
    }

    #[test]
    fn a_proof_the_draft_drops_again_does_not_serve_a_later_key() {
        let flat = |draft: &str| compile("d.sql", draft, &Config::default()).unwrap().flattened();
        let checks = |flat: &str| flat.matches("CHECK (code IS NOT NULL) NOT VALID").count();
        let key = "ALTER TABLE orders ADD PRIMARY KEY (code);\n";
        for undo in [
            "ALTER TABLE orders ALTER COLUMN code DROP NOT NULL;\n",
            "ALTER TABLE orders DROP COLUMN code, ADD COLUMN code int;\n",
            "ALTER TABLE orders RENAME COLUMN code TO old_code;\nALTER TABLE orders RENAME COLUMN new_code TO code;\n",
            "ALTER TABLE orders RENAME TO old_orders;\nALTER TABLE new_orders RENAME TO orders;\n",
            "ALTER TABLE orders SET SCHEMA archive;\nALTER TABLE staging.orders SET SCHEMA public;\n",
        ] {
            // Proven by an earlier statement, or stated by an earlier step's directive: after the
            // undoing statement the key's SET NOT NULL would scan under ACCESS EXCLUSIVE.
            let proven = flat(&format!("ALTER TABLE orders ALTER COLUMN code SET NOT NULL;\n{undo}{key}"));
            assert_eq!(checks(&proven), 2, "{proven}");
            let stated = flat(&format!("-- pgsafe:fact validated-not-null orders.code\n{undo}{key}"));
            assert_eq!(checks(&stated), 1, "{stated}");
            let set = flat(&format!(
                "-- pgsafe:fact validated-not-null orders.code\n{undo}ALTER TABLE orders ALTER COLUMN code SET NOT NULL;\n"
            ));
            assert_eq!(checks(&set), 1, "{set}");
        }
        // Without the undoing statement the proof serves the key, and the directive both.
        assert_eq!(checks(&flat(&format!("ALTER TABLE orders ALTER COLUMN code SET NOT NULL;\n{key}"))), 1);
        assert_eq!(checks(&flat(&format!("-- pgsafe:fact validated-not-null orders.code\n{key}"))), 0);
    }

    #[test]
    fn unnamed_keys_are_named_as_postgresql_names_them_in_each_schema() {
        let flat = |draft: &str| compile("d.sql", draft, &Config::default()).unwrap().flattened();
        // An index's name is its schema's: the same table in two schemas gets the same name twice.
        let two = flat("ALTER TABLE s1.users ADD UNIQUE (email);\nALTER TABLE s2.users ADD UNIQUE (email);\n");
        assert_eq!(
            two.matches("ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;").count(),
            2,
            "{two}"
        );
        // In one schema the second is `…1`, the third `…2`.
        let one = flat("ALTER TABLE t ADD UNIQUE (c);\nALTER TABLE t ADD UNIQUE (c);\nALTER TABLE t ADD UNIQUE (c);\n");
        for name in ["t_c_key ", "t_c_key1 ", "t_c_key2 "] {
            assert!(one.contains(&format!("ADD CONSTRAINT {name}")), "{name}: {one}");
        }
    }

    #[test]
    fn a_name_another_relation_of_the_schema_holds_is_not_chosen() {
        let compiled = |draft: &str| compile("d.sql", draft, &Config::default()).unwrap();
        // After a table swap the old table keeps `users_pkey`: PostgreSQL names the new key `…1`.
        let swap = compiled("CREATE INDEX users_pkey ON archive (id);\nALTER TABLE users ADD PRIMARY KEY (id);\n");
        assert!(swap.flattened().contains("ADD CONSTRAINT users_pkey1 PRIMARY KEY USING INDEX users_pkey1;"));
        // In another schema the name is free.
        let apart =
            compiled("CREATE INDEX users_pkey ON s2.archive (id);\nALTER TABLE s1.users ADD PRIMARY KEY (id);\n");
        assert!(apart.flattened().contains("ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey;"));
        // One name written with its schema, the other without: which name PostgreSQL chooses
        // depends on the search path, so the statement stays as written.
        let unsure =
            compiled("CREATE INDEX users_pkey ON public.archive (id);\nALTER TABLE users ADD PRIMARY KEY (id);\n");
        assert!(unsure.flattened().contains("ALTER TABLE users ADD PRIMARY KEY (id);"), "{}", unsure.flattened());
        assert!(!unsure.changes.iter().any(|c| c.rule == RULE));
        assert!(unsure
            .diagnostics
            .iter()
            .any(|d| d.rule == RULE && d.message.contains("cannot tell whether users_pkey")));
    }

    #[test]
    fn a_keys_index_parameters_go_to_its_concurrent_build() {
        let draft =
            "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor = 70) USING INDEX TABLESPACE \"Fast\";\n\
                     alter table t add primary key (id) with (fillfactor=80);\n\
                     ALTER TABLE t ADD UNIQUE (b) WITH (fillfactor = 70) NOT DEFERRABLE;\n";
        let compiled = compile("d.sql", draft, &Config::default()).unwrap();
        let flat = compiled.flattened();
        assert!(
            flat.contains("CREATE UNIQUE INDEX CONCURRENTLY k ON t (a) WITH (fillfactor = 70) TABLESPACE \"Fast\";"),
            "{flat}"
        );
        assert!(flat.contains("create unique index concurrently t_pkey on t (id) with (fillfactor=80);"), "{flat}");
        // The catalogue knows both keys; none is left not understood.
        assert!(!compiled.diagnostics.iter().any(|d| d.rule == "not-understood"), "{:?}", compiled.diagnostics);
        // NOT DEFERRABLE goes to USING INDEX, which takes it as the key does.
        assert!(flat.contains("CREATE UNIQUE INDEX CONCURRENTLY t_b_key ON t (b) WITH (fillfactor = 70);"), "{flat}");
        assert!(flat.contains("ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_key NOT DEFERRABLE;"), "{flat}");
        assert!(!compiled.diagnostics.iter().any(|d| d.rule == RULE), "{:?}", compiled.diagnostics);
    }

    #[test]
    fn include_and_nulls_go_where_postgresql_takes_them_and_a_deferrable_key_stays() {
        let draft = "ALTER TABLE t ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a) INCLUDE (b) WITH (fillfactor = 70) \
                     NOT DEFERRABLE INITIALLY IMMEDIATE;\n\
                     ALTER TABLE t ADD UNIQUE (a) INCLUDE (a, c);\n\
                     ALTER TABLE t ADD PRIMARY KEY (id) INCLUDE (b);\n\
                     ALTER TABLE t ADD UNIQUE (c) INITIALLY DEFERRED;\n\
                     ALTER TABLE t ADD UNIQUE (d) DEFERRABLE INITIALLY IMMEDIATE;\n";
        let compiled = compile("d.sql", draft, &Config::default()).unwrap();
        let flat = compiled.flattened();
        for line in [
            "CREATE UNIQUE INDEX CONCURRENTLY k ON t (a) INCLUDE (b) NULLS NOT DISTINCT WITH (fillfactor = 70);",
            "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX k NOT DEFERRABLE INITIALLY IMMEDIATE;",
            // PostgreSQL names an unnamed key after its INCLUDE columns too, a repeated one numbered.
            "CREATE UNIQUE INDEX CONCURRENTLY t_a_a1_c_key ON t (a) INCLUDE (a, c);",
            "CREATE UNIQUE INDEX CONCURRENTLY t_pkey ON t (id) INCLUDE (b);",
            // Only the key's columns are made NOT NULL.
            "ALTER TABLE t ALTER COLUMN id SET NOT NULL, ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey;",
            // A deferrable key (INITIALLY DEFERRED says so too) as written: its index would check
            // traffic's writes at once during the build.
            "ALTER TABLE t ADD UNIQUE (c) INITIALLY DEFERRED;",
            "ALTER TABLE t ADD UNIQUE (d) DEFERRABLE INITIALLY IMMEDIATE;",
        ] {
            assert!(flat.contains(line), "{line}\n{flat}");
        }
        assert!(!flat.contains("COLUMN b SET NOT NULL"), "{flat}");
        let kept = compiled.diagnostics.iter().filter(|d| d.rule == RULE && d.message.contains("DEFERRABLE key"));
        assert_eq!(kept.count(), 2, "{:?}", compiled.diagnostics);
    }

    #[test]
    fn a_schemas_unnamed_key_with_include_holds_the_name_postgresql_gave_it() {
        // PostgreSQL named the schema's key t_a_b_key: t_a_key is free for the draft's.
        let schema = "CREATE TABLE t (a int, b int, UNIQUE (a) INCLUDE (b));";
        let catalog = std::sync::Arc::new(crate::ir::catalog::Catalog::from_sql(schema));
        let config = Config { catalog: Some(catalog), ..Config::default() };
        let flat = compile("d.sql", "ALTER TABLE t ADD UNIQUE (a);\n", &config).unwrap().flattened();
        assert!(flat.contains("ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_key;"), "{flat}");
    }

    #[test]
    fn a_key_postgresql_refuses_or_one_that_includes_a_new_column_stays_as_written() {
        let draft = "ALTER TABLE t ADD UNIQUE (a) NOT DEFERRABLE INITIALLY DEFERRED;\n\
                     ALTER TABLE t ADD UNIQUE (a) NOT VALID;\n\
                     ALTER TABLE t ADD COLUMN x int, ADD UNIQUE (a) INCLUDE (x);\n";
        let compiled = compile("d.sql", draft, &Config::default()).unwrap();
        let flat = compiled.flattened();
        assert!(!flat.contains("CONCURRENTLY"), "{flat}");
        assert!(compiled
            .diagnostics
            .iter()
            .any(|d| d.rule == RULE
                && d.message.contains("refuses this key as written (a constraint declared INITIALLY")));
        assert!(compiled
            .diagnostics
            .iter()
            .any(|d| d.rule == RULE && d.message.contains("cannot be marked NOT VALID")));
    }

    #[test]
    fn a_long_name_numbers_its_label_before_it_is_cut() {
        let (t, c) = ("a_table_name_long_enough_for_postgres_to_cut", "a_column_name_long_enough_to_be_cut");
        let draft = format!("ALTER TABLE {t} ADD UNIQUE ({c}_1);\nALTER TABLE {t} ADD UNIQUE ({c}_1);\n");
        let flat = compile("d.sql", &draft, &Config::default()).unwrap().flattened();
        // PostgreSQL's ChooseRelationName: the parts are cut so that `key1` fits in 63 bytes.
        let first = "a_table_name_long_enough_for__a_column_name_long_enough_to__key";
        let second = "a_table_name_long_enough_for__a_column_name_long_enough_to_key1";
        assert_eq!((first.len(), second.len()), (63, 63));
        for name in [first, second] {
            assert!(flat.contains(&format!("ADD CONSTRAINT {name} UNIQUE USING INDEX {name};")), "{name}: {flat}");
        }
    }
}
