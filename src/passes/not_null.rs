//! The safe way to make a column NOT NULL on a table with traffic (PostgreSQL 12+), shared by
//! `set-not-null` and `unique-using-index` (a primary key needs NOT NULL columns):
//!
//! 1. `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID` — ACCESS EXCLUSIVE for an instant, no scan
//!    (one step adds the checks of all the columns a statement proves, and of the statements
//!    after it in its transaction that only prove columns of the table NOT NULL: see [`Chain`]);
//! 2. `VALIDATE CONSTRAINT c` in a later transaction — scans under SHARE UPDATE EXCLUSIVE, which
//!    blocks no reads or writes;
//! 3. `SET NOT NULL` — PostgreSQL sees the validated check and skips its own scan;
//! 4. `DROP CONSTRAINT c` — the check has done its job.

use super::not_valid::alter_if_exists;
use super::{in_case_of, Ctx, Rewritten, Unit};
use crate::ir::domains::type_key;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::{escape_directive, Section, Stmt};
use crate::ir::name::{key_of, quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};
use rustc_hash::FxHashSet;

/// The fact a plan step records so that compiling it again knows `table.column` is proven NOT NULL
/// (on one `--` line: see [`escape_directive`]).
pub fn fact(table: &Name, column: &str) -> String {
    escape_directive(&format!("validated-not-null {}.{column}", table.base()))
}

/// Where the checks of statement `i` are added (`ADDS + k`), then validated (`VALIDATES + k`);
/// those of a later statement that joins its group, at `JOINED` (after its own, in the order
/// they were made).
const ADDS: i32 = -300_000;
const VALIDATES: i32 = -200_000;
const JOINED: i32 = 99_999;

/// The checks that prove columns of one table NOT NULL in one draft transaction, which one step
/// adds before any is validated: those of one statement (a primary key on nullable columns, `SET
/// NOT NULL` of two columns), and those of the statements after it in a transaction block that
/// do nothing else before them on the table. One step a statement, a `NULL` written into a
/// later statement's column after the earlier steps (before its check existed) failed its
/// `VALIDATE`, where the draft, one transaction, refuses the write once it commits (found by the
/// forty-fourth pass's traffic probe; fixtures `traffic_primary_key_on_two_nullable_columns`,
/// `traffic_set_not_null_of_two_statements_in_a_transaction`).
///
/// A later statement's check then exists, and is validated, before the statements between run:
/// only where they do nothing but prove columns of the table NOT NULL (`SET NOT NULL`, a key),
/// which write no row and leave the column where it was, does that change nothing. Outside a
/// transaction block the draft takes a `NULL` written between its statements (and its later
/// `SET NOT NULL` fails): there each statement keeps its own step.
#[derive(Debug, Default)]
pub struct Chain {
    /// A transaction block is open where the statement `set-not-null` looks at now starts.
    in_block: bool,
    group: Option<Group>,
}

#[derive(Debug)]
struct Group {
    table: Name,
    /// The statement before which the group's checks are added and validated: the first with one.
    host: usize,
    /// The last statement whose checks may join: every one from `host` to the one before it does
    /// nothing but prove columns of `table` NOT NULL.
    joins_until: usize,
    /// The group's `ADD CONSTRAINT … NOT VALID` units.
    adds: Vec<usize>,
}

impl Chain {
    /// Statement `i` comes next (`set-not-null` walks every statement, before `unique-using-index`
    /// looks at it); `in_block`: a transaction block is open where it starts.
    pub fn statement(&mut self, i: usize, s: &Stmt, in_block: bool) {
        self.in_block = in_block;
        if let Some(g) = &mut self.group {
            if g.joins_until == i && only_proves(s, &g.table) {
                g.joins_until = i + 1;
            } else if g.joins_until < i {
                self.group = None;
            }
        }
    }

    /// The statement whose group the check of a column of `table` that statement `i` (`s`)
    /// proves joins (`i` itself, where it starts a group).
    fn host(&mut self, i: usize, s: &Stmt, table: &Name) -> usize {
        let joins = self.group.as_ref().is_some_and(|g| {
            g.table.key == table.key && g.host <= i && i <= g.joins_until && (g.host == i || self.in_block)
        });
        if !joins {
            // Statement `i` itself joins; the next one only if `i` does nothing else.
            let joins_until = if only_proves(s, table) { i + 1 } else { i };
            self.group = Some(Group { table: table.clone(), host: i, joins_until, adds: Vec::new() });
        }
        self.group.as_ref().map_or(i, |g| g.host)
    }
}

/// Does `s` do nothing but prove columns of `table` NOT NULL (`SET NOT NULL`, a primary key or
/// unique key): no row written, no column changed, no other table?
fn only_proves(s: &Stmt, table: &Name) -> bool {
    let proves = |kind: &OpKind| match kind {
        OpKind::SetNotNull { table: t, .. } => t.key == table.key,
        OpKind::AddConstraint { table: t, kind: ConstraintKind::PrimaryKey(_) | ConstraintKind::Unique(_), .. } => {
            t.key == table.key
        }
        _ => false,
    };
    s.section == Section::Up && !s.is_block() && !s.ops.is_empty() && s.ops.iter().all(|o| proves(&o.kind))
}

/// Add steps 1, 2 (before statement `i`, as its `k`-th column, or before the statement whose
/// group it joins: see [`Chain`]) and 4 (after it); the statement itself is step 3 and must
/// start a new step, unless its check joined an earlier statement's. Returns the helper check's
/// name.
pub fn recipe(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    i: usize,
    k: i32,
    table: &Name,
    column: &str,
    rule: &'static str,
) -> String {
    let host = out.not_null_chain.host(i, &ctx.m.stmts[i], table);
    let at = if host == i { k } else { JOINED };
    let name = generate(ctx, out, i, [ADDS + at, VALIDATES + at, 10 + k], None, table, column, rule);
    // `generate` pushed the add, the validation and the drop.
    let (add, validate) = (out.units.len() - 3, out.units.len() - 2);
    let group = out.not_null_chain.group.as_mut().expect("`host` made the group");
    if host != i {
        // Run in the host's steps, which `timeouts` may have seen already (in an earlier window):
        // the add waits as the host's first one does.
        let first = &out.units[group.adds[0]];
        let (blocking, needs_timeouts) = (first.blocking, first.needs_timeouts);
        out.units[add].blocking = blocking;
        out.units[add].needs_timeouts = needs_timeouts;
        out.units[add].stmt = host;
        out.units[validate].stmt = host;
    }
    group.adds.push(add);
    // One step, from the first add to run to the last (the plan orders them by `sub`).
    let units = &mut out.units;
    let first = group.adds.iter().copied().min_by_key(|&u| (units[u].sub, u));
    let last = group.adds.iter().copied().max_by_key(|&u| (units[u].sub, u));
    for &u in &group.adds {
        units[u].starts_step = Some(u) == first;
        units[u].ends_step = Some(u) == last;
    }
    out.add_fact(i, fact(table, column));
    let unit = &mut out.units[i];
    unit.starts_step |= host == i;
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
