//! The safe way to make a column NOT NULL on a table with traffic (PostgreSQL 12+), shared by
//! `set-not-null` and `unique-using-index` (a primary key needs NOT NULL columns):
//!
//! 1. `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID` — ACCESS EXCLUSIVE for an instant, no scan
//!    (one step adds the checks of all the columns a statement proves);
//! 2. `VALIDATE CONSTRAINT c` in a later transaction — scans under SHARE UPDATE EXCLUSIVE, which
//!    blocks no reads or writes;
//! 3. `SET NOT NULL` — PostgreSQL sees the validated check and skips its own scan;
//! 4. `DROP CONSTRAINT c` — the check has done its job.

use super::not_valid::alter_if_exists;
use super::{in_case_of, Ctx, Rewritten, Unit};
use crate::ir::domains::type_key;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::escape_directive;
use crate::ir::name::{key_of, quote_ident, Name};
use crate::ir::op::OpKind;
use rustc_hash::FxHashSet;

/// The fact a plan step records so that compiling it again knows `table.column` is proven NOT NULL
/// (on one `--` line: see [`escape_directive`]).
pub fn fact(table: &Name, column: &str) -> String {
    escape_directive(&format!("validated-not-null {}.{column}", table.base()))
}

/// Where the checks of statement `i` are added (`ADDS + k`), then validated (`VALIDATES + k`).
const ADDS: i32 = -300_000;
const VALIDATES: i32 = -200_000;

/// Add steps 1, 2 (before statement `i`, as its `k`-th column) and 4 (after it); the statement
/// itself is step 3 and must start a new step. Returns the helper check's name.
///
/// The checks of all the statement's columns are added in one step, before any is validated: one
/// step each, a `NULL` written into the second column between the first's step and its own
/// failed its `VALIDATE`, where the draft refuses it (found by the forty-fourth pass's traffic
/// probe, fixture `traffic_primary_key_on_two_nullable_columns`).
pub fn recipe(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    i: usize,
    k: i32,
    table: &Name,
    column: &str,
    rule: &'static str,
) -> String {
    let name = generate(ctx, out, i, [ADDS + k, VALIDATES + k, 10 + k], None, table, column, rule);
    // The statement's generated units are the last ones (a pass works statement by statement).
    let adds: Vec<usize> = (0..out.units.len())
        .rev()
        .take_while(|&u| out.units[u].stmt == i)
        .filter(|&u| (ADDS..VALIDATES).contains(&out.units[u].sub))
        .collect();
    let first = adds.iter().map(|&u| out.units[u].sub).min();
    let last = adds.iter().map(|&u| out.units[u].sub).max();
    for u in adds {
        let unit = &mut out.units[u];
        unit.starts_step = Some(unit.sub) == first;
        unit.ends_step = Some(unit.sub) == last;
    }
    out.add_fact(i, fact(table, column));
    let unit = &mut out.units[i];
    unit.starts_step = true;
    for l in &mut unit.locks {
        l.scans = false;
    }
    if !unit.rules.contains(&rule) {
        unit.rules.push(rule);
    }
    name
}

/// All four steps after statement `i` (from `sub` on), generating the `SET NOT NULL` too.
pub fn after(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    i: usize,
    sub: i32,
    table: &Name,
    column: &str,
    rule: &'static str,
) {
    generate(ctx, out, i, [sub, sub + 1, sub + 3], Some(sub + 2), table, column, rule);
}

/// Why a `NOT NULL` on `ALTER TABLE ONLY` stays as written: the recipe's check would reach the
/// tables that inherit from it, and fail on their rows where the draft leaves them alone.
pub fn not_on_only(table: &Name) -> String {
    format!(
        "ALTER TABLE ONLY {0} leaves the tables that inherit from {0} alone, but the check that proves the column NOT \
         NULL first would be inherited by them and checked against their rows too: left as written (it scans {0} under \
         ACCESS EXCLUSIVE)",
        table.text
    )
}

/// The fact a plan step records when it keeps a `NOT NULL` on a column of row values as written
/// (see [`holds_rows`]): compiled alone, without the schema or the statements that told the
/// column's type, the step keeps it again.
pub fn rows_fact(table: &Name, column: &str) -> String {
    escape_directive(&format!("holds-rows {}.{column}", table.base()))
}

/// Does `column` of `table` hold row values ([`crate::ir::row_types`]: its type one of
/// `row_types`, or an earlier step said so) just before op `k` of statement `i`? Then the
/// recipe's check would refuse what `SET NOT NULL` allows, and prove nothing. (Without `--schema`
/// the type of a column the draft did not add or retype is not known.)
pub fn holds_rows(
    ctx: &Ctx<'_, '_>,
    (i, k): (usize, usize),
    table: &Name,
    column: &str,
    row_types: &FxHashSet<String>,
) -> bool {
    let before = ctx.before(i, k);
    let typed = before.table.as_ref().and_then(|t| t.column(column));
    typed.is_some_and(|c| row_types.contains(type_key(&c.type_text))) || ctx.m.has_fact(&rows_fact(table, column))
}

/// Why a `NOT NULL` on a column of row values stays as written.
pub fn not_on_rows(table: &Name, column: &str) -> String {
    format!(
        "{}.{column} holds row values (a composite type, a table's row type, or a domain over one): for a row with a          NULL field `IS NOT NULL` is false, where SET NOT NULL refuses only a NULL value, so the check that proves the          column NOT NULL first would fail, and refuse such rows until the plan ends; PostgreSQL's proof never holds for          such a column anyway: left as written (it scans {} under ACCESS EXCLUSIVE)",
        table.text, table.text
    )
}

/// Generate the check, its validation and its drop at `subs`, and `SET NOT NULL` at `set_at`.
#[allow(clippy::too_many_arguments)]
fn generate(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    i: usize,
    subs: [i32; 3],
    set_at: Option<i32>,
    table: &Name,
    column: &str,
    rule: &'static str,
) -> String {
    let m = ctx.m;
    let at = out.units[i].at;
    let sample: String = m.src[at..].chars().take(5).collect();
    // Not a name the draft gives a constraint of its own (perhaps this very check, by hand), an
    // inline one of a new column included (`Migration::declared`), nor one a constraint of
    // `--schema` holds (on this table or another: any free name serves, the check is dropped).
    let draft_names = out.draft_constraint_names.get_or_insert_with(|| {
        let names = m.stmts.iter().flat_map(|s| &s.ops).filter_map(|o| match &o.kind {
            OpKind::AddConstraint { name: Some(n), .. } => Some(key_of(n)),
            _ => None,
        });
        names.chain(m.declared.iter().map(|(_, n)| n.clone())).collect()
    });
    let draft_names = std::mem::take(draft_names);
    let parts = [&*table.base_unquoted(), column, "not_null_check"];
    let schema = ctx.config.catalog.as_deref();
    let taken =
        |n: &str| draft_names.contains(n) || schema.is_some_and(|c| c.holds_other_name(&key_of(&quote_ident(n))));
    let name = quote_ident(&out.unique_name_avoiding("", parts, taken));
    out.draft_constraint_names = Some(draft_names);
    let alter = in_case_of(&sample, if alter_if_exists(m, i, out) { "ALTER TABLE IF EXISTS" } else { "ALTER TABLE" });
    let col = quote_ident(column);
    let kw = |k: &str| in_case_of(&sample, k);
    let lock = |mode| {
        thin_vec::thin_vec![LockUse { table: table.clone(), mode, scans: mode == LockMode::ShareUpdateExclusive }]
    };
    let unit = |text: String, sub: i32, locks: thin_vec::ThinVec<LockUse>| Unit {
        sub,
        locks,
        ..Unit::generated(i, at, text, super::Phase::Main, rule)
    };
    let mut add = unit(
        format!(
            "{alter} {} {} {name} {} ({col} {}) {}",
            table.text,
            kw("ADD CONSTRAINT"),
            kw("CHECK"),
            kw("IS NOT NULL"),
            kw("NOT VALID")
        ),
        subs[0],
        lock(LockMode::AccessExclusive),
    );
    add.starts_step = true;
    add.ends_step = true;
    let mut validate = unit(
        format!("{alter} {} {} {name}", table.text, kw("VALIDATE CONSTRAINT")),
        subs[1],
        lock(LockMode::ShareUpdateExclusive),
    );
    validate.validate_now = true;
    out.units.extend([add, validate]);
    if let Some(sub) = set_at {
        let mut set = unit(
            format!("{alter} {} {} {col} {}", table.text, kw("ALTER COLUMN"), kw("SET NOT NULL")),
            sub,
            lock(LockMode::AccessExclusive),
        );
        set.starts_step = true;
        out.units.push(set);
        out.add_fact(out.units.len() - 1, fact(table, column));
    }
    let drop = unit(
        format!("{alter} {} {} {name}", table.text, kw("DROP CONSTRAINT")),
        subs[2],
        lock(LockMode::AccessExclusive),
    );
    out.units.push(drop);
    name
}
