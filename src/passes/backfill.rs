//! `backfill`: an `UPDATE`/`DELETE` over a table with traffic leaves the DDL transaction and becomes
//! a batched autocommit step: a `DO` loop that changes at most `--batch-size` rows per
//! transaction and commits after each batch (PostgreSQL 11+).
//!
//! Why: one big `UPDATE` holds row locks on every row it touches until it commits (writers to those
//! rows wait), bloats the table in one go, and inside a DDL transaction keeps the DDL's strong
//! locks for its whole duration.
//!
//! Batching must not change which rows the statement changes, nor how. It is done only when that
//! is provable from the typed statement: its `WHERE` and `SET` read only the target row's own
//! columns, constants, and immutable functions (or stable built-ins that give the same value for a
//! whole session, like `to_char`); a `SET` value does not read a column the statement writes (a
//! batch run again after an interruption would apply it twice). Anything else keeps the statement
//! as written, in a transaction of its own, with a diagnostic that points at the part that stopped
//! it: a subquery (it would be evaluated again in every batch: `LIMIT` picks other rows, `max()`
//! sees what earlier batches changed), an aggregate, a volatile or unknown function (`random()`,
//! a user function), a per-transaction value (`now()`), another table (`FROM`, `USING`, a
//! qualified column), `RETURNING`, `SET c = DEFAULT`, psql variables.
//!
//! Which rows form the batches is fixed before the first batch, so each row is visited once and
//! the loop ends after a number of batches bounded by the table's size when it started, whatever
//! triggers do: the batch ends are every `--batch-size`-th key of the rows the statement matches,
//! each batch a range of the table's one-column primary key (the one `--schema` or the draft
//! names, else the one the database shows, read by the loop) that repeats the draft's condition.
//! A key, unlike a `ctid`, stays with a row that traffic updates while the loop runs.
//!
//! What batches cannot keep and only the database knows (a statement-level or `AFTER` trigger, a
//! rule, a unique index on a written column, a check or domain check of a function that is not
//! immutable or that a user wrote, a view, no one-column primary key: see [`Guard`])
//! the loop asks it first, and then runs the statement once, as written.

use super::{Ctx, Edit, Mode, Rewritten};
use crate::ir::catalog::Table;
use crate::ir::expr::{Expr, Volatility};
use crate::ir::functions;
use crate::ir::migration::{physical_order_fact, user_operator_fact, Migration, Stmt};
use crate::ir::name::Name;
use crate::ir::op::{Dml, OpKind};
use crate::ir::physical_order::OrderRead;

pub const RULE: &str = "backfill";

/// Why a statement is not batched: what stopped it, and where (a draft offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub at: usize,
    pub why: String,
    /// What the statement's step must record for the step, compiled alone, to stop it too (an
    /// operator an earlier step makes).
    pub fact: Option<String>,
}

/// What the catalogue and the draft say about the names a statement uses, for [`blocker`].
pub struct Known<'k> {
    /// The statement's table as the catalogue has it before the statement (its columns' types).
    pub table: Option<&'k Table>,
    /// Where an operator of this name is made: `--schema`, or the draft before the statement.
    pub operator_made: &'k dyn Fn(&str) -> Option<MadeBy>,
}

/// Where an operator name pgsafe did not build in is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeBy {
    Schema,
    Draft,
}

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    let schema_operators = ctx.config.catalog.as_ref().map(|c| &c.operators);
    for (i, s) in ctx.stmts() {
        if s.ops.len() != 1 || !ctx.applies(RULE, i) || out.units[i].mode != Mode::Transaction {
            continue;
        }
        let (d, verb) = match &s.ops[0].kind {
            OpKind::Update(d) => (d.as_ref(), "UPDATE"),
            OpKind::Delete(d) => (d.as_ref(), "DELETE"),
            _ => continue,
        };
        if ctx.quiet(&d.table, i) {
            continue;
        }
        // The batches change the rows in key order, not in the order the statement's scan finds
        // them: where a unique index covers a column the SET writes (a swap of values between
        // rows, or the key itself), the loop's guard finds it in the database and runs the
        // statement once (decided there even when --schema shows the index: the step of a plan
        // compiles alone to itself, and the index may be one an earlier step made).
        let table = ctx.before(i, 0).table.clone();
        let operator_made = |op: &str| {
            if schema_operators.is_some_and(|o| o.contains(op)) {
                Some(MadeBy::Schema)
            } else {
                m.makes_operator_before(op, i).then_some(MadeBy::Draft)
            }
        };
        let known = Known { table: table.as_deref(), operator_made: &operator_made };
        let batched = blocker(m.text(&s.body), d, s.body.start, &known)
            .and_then(|()| order_read_later(m, i, &d.table, s.body.start))
            .map(|()| {
                let head = match verb {
                    "UPDATE" => format!("UPDATE {} SET {}", m.text(&d.target), m.text(&d.set_list)),
                    _ => format!("DELETE FROM {}", m.text(&d.target)),
                };
                let batch = Batch {
                    target: m.text(&d.target),
                    guard: Guard {
                        table: &d.table.text,
                        stands_for: StandsFor::Statement {
                            verb,
                            text: m.text(&s.body),
                            writes: d.assignments.iter().flat_map(|a| &a.columns).map(String::as_str).collect(),
                            lock_timeout: &ctx.config.lock_timeout,
                        },
                    },
                    statement: &head,
                    condition: d.filter.as_ref().map(|f| m.text(&f.span)),
                    size: ctx.config.batch_size,
                };
                batch.do_block()
            });
        let unit = &mut out.units[i];
        match batched {
            Ok(do_block) => {
                unit.edits.push(Edit { rule: RULE, at: s.body.clone(), text: do_block });
                unit.mode = Mode::Autocommit;
                unit.long_running = true;
                unit.row_batches = true;
                unit.rules.push(RULE);
                let how = "by ranges of the primary key the database shows";
                out.change(
                    RULE,
                    s.body.start,
                    format!(
                        "run this {verb} on {} in batches of {} rows {how}, each committed on its own, outside any DDL \
                         transaction (as written, once, if the database shows a trigger, rule or unique index that \
                         batches would meet differently, a view, or no one-column primary key): one big statement \
                         locks every row it touches until it commits",
                        d.table.text, ctx.config.batch_size
                    ),
                );
            }
            Err(b) => {
                unit.starts_step = true;
                unit.ends_step = true;
                if let Some(fact) = b.fact {
                    out.add_fact(i, fact);
                }
                out.diagnose(
                    RULE,
                    b.at,
                    format!(
                        "this {verb} on {} runs as written, in one transaction of its own, because pgsafe cannot batch it \
                         without changing what it does: {}. It locks every row it changes until it commits; to batch it \
                         yourself, fix the rows first (their keys) and change them a range at a time",
                        d.table.text, b.why
                    ),
                );
            }
        }
    }
}

/// Why batching `d` (whose statement text is `text`, at draft offset `at`) could change what it
/// does, or `Ok` when it cannot.
pub fn blocker(text: &str, d: &Dml, at: usize, known: &Known<'_>) -> Result<(), Blocker> {
    let stop = |at: usize, why: String| Err(Blocker { at, why, fact: None });
    if d.psql_variables {
        return stop(at, "it uses psql variables, which psql does not substitute inside the DO block of a loop".into());
    }
    if let Some(j) = &d.joined {
        return stop(j.start, "its FROM/USING clause joins other tables, whose rows may change between batches".into());
    }
    if let Some(r) = &d.returning {
        return stop(r.start, "its RETURNING clause returns rows to the client, which a DO block cannot do".into());
    }
    if text.contains("$pgsafe") {
        return stop(
            at,
            "it contains the text $pgsafe, which pgsafe's DO block quotes with ($pgsafe$, $pgsafe_sql$)".into(),
        );
    }
    let own = d.qualifiers();
    if let Some(f) = &d.filter {
        row_local(f, &own, "its WHERE", known)?;
    }
    let written: Vec<&String> = d.assignments.iter().flat_map(|a| &a.columns).collect();
    for a in &d.assignments {
        row_local(&a.value, &own, "its SET", known)?;
        if let Some(r) = a.value.whole_row(&own) {
            return stop(
                r.at,
                format!(
                    "this SET value reads the whole row ({}), so the columns the statement writes: a batch run again \
                     after an interruption would apply it twice",
                    r.qualifier.as_ref().map_or(r.column.clone(), |q| format!("{q}.*"))
                ),
            );
        }
        if let Some(c) = written.iter().find(|c| a.value.reads(c, &own)) {
            return stop(
                a.value.span.start,
                format!(
                    "this SET value reads {c}, a column the statement writes: a batch run again after an interruption \
                     would apply it twice"
                ),
            );
        }
    }
    Ok(())
}

/// A later statement of the draft that may read the physical order of `table`'s rows (statement
/// `i` changes them; `at`: its offset), or a directive saying a later step of the plan does. Each
/// batch commits, and PostgreSQL reuses the space of the row versions it leaves: the rows end in
/// another physical order than one statement leaves them in, and a later `ctid`, serial column,
/// `LIMIT` or `INSERT … SELECT` would see other rows (measured on PostgreSQL 15). A table a
/// `CREATE TABLE … AS` makes of its rows takes their order.
fn order_read_later(m: &Migration<'_>, i: usize, table: &Name, at: usize) -> Result<(), Blocker> {
    let fact = physical_order_fact(table);
    let stop = |why: String| Err(Blocker { at, why, fact: Some(fact.clone()) });
    let of = "so the batches, each committed, would leave its rows in another physical order than one statement \
              leaves them in, and that statement would see other rows";
    if m.fact_stated_from(&fact).is_some_and(|from| from <= i) {
        return stop(format!("a later step of the plan reads the physical order of {}'s rows, {of}", table.text));
    }
    let section = m.stmts[i].section;
    let mut watched: Vec<&Name> = vec![table];
    // The views the draft made so far, each with its own read of the order: pgsafe does not follow
    // which tables a view reads, so a read of one may be a read of the table, through the view's
    // `LIMIT` too.
    let (mut views, mut made_views) = (m.views_made.iter().peekable(), Vec::new());
    for (j, s) in m.stmts.iter().enumerate().skip(i + 1).filter(|(_, s)| s.section == section) {
        while let Some((k, view)) = views.next_if(|(k, _)| *k < j) {
            made_views.push((view, m.stmts[*k].order_read));
        }
        let view = |t: &Name| made_views.iter().find(|(v, _)| v.same(t));
        let names = |t: &Name| watched.iter().any(|w| w.same(t)) || view(t).is_some();
        let said = || m.text(&s.body).split_whitespace().take(6).collect::<Vec<_>>().join(" ");
        for op in &s.ops {
            if let OpKind::AddColumn { table: t, column, computed, default, .. } = &op.kind {
                let volatile = default.as_ref().is_some_and(|d| d.volatile || d.numbers_rows);
                if names(t) && (*computed || volatile) {
                    let how = if *computed { "serial, identity or generated" } else { "with a volatile default" };
                    return stop(format!(
                        "a later statement ({} …) adds to {} the column {column}, {how}, whose values PostgreSQL \
                         computes row by row in the rows' physical order, {of}",
                        said(),
                        t.text
                    ));
                }
            }
        }
        let may_read = || {
            s.runs_code.is_some()
                || s.ops.iter().all(|o| o.locks.is_empty())
                || s.ops.iter().any(|o| match &o.kind {
                    OpKind::Opaque { .. } => true,
                    OpKind::Update(d) | OpKind::Delete(d) => {
                        d.joined.is_some()
                            || names(&d.table)
                            || d.filter
                                .iter()
                                .chain(d.assignments.iter().map(|a| &a.value))
                                .any(|e| e.subqueries.iter().any(|q| q.tables.iter().any(names)))
                    }
                    // An `INSERT … SELECT` into the table numbers the rows it reads, not the table's.
                    _ => {
                        o.locks.iter().any(|l| names(&l.table) && (l.scans || s.order_read != Some(OrderRead::Copies)))
                    }
                })
        };
        let numbers = s.ops.iter().any(|o| match &o.kind {
            OpKind::Update(d) if names(&d.table) => {
                d.assignments.iter().any(|a| a.value.calls.iter().any(|c| functions::may_draw_from_a_sequence(&c.name)))
            }
            _ => false,
        });
        // A view's own read of the order, where the statement reads the view (a join written out,
        // which pgsafe does not read, may read any of them).
        let through_a_view = || {
            let joins =
                s.ops.iter().any(|o| matches!(&o.kind, OpKind::Update(d) | OpKind::Delete(d) if d.joined.is_some()));
            let mut views = made_views.iter().filter(|(v, _)| joins || tables_read(s).any(|t| v.same(t)));
            views.find_map(|(v, r)| Some((*v, (*r)?)))
        };
        let (view, read) = match s.order_read {
            Some(r) => (None, Some(r)),
            None => match through_a_view() {
                Some((v, r)) => (Some(v), Some(r)),
                None => (None, numbers.then_some(OrderRead::Numbers)),
            },
        };
        // A function's code may read any table.
        if let Some(r) = read.filter(|&r| r == OrderRead::Code || may_read()) {
            let found =
                s.ops.iter().flat_map(|o| &o.locks).find(|l| names(&l.table) && (l.scans || r != OrderRead::Copies));
            let whose = match (view, found) {
                (Some(v), _) => format!("reads the view {}, which the draft makes and whose query", v.text),
                (None, Some(l)) => format!("reads {} and", l.table.text),
                (None, None) => format!("may read {} (pgsafe cannot tell which tables it reads) and", table.text),
            };
            return stop(format!("a later statement ({} …) {whose} {}, {of}", said(), r.what()));
        }
        // A table made of its rows takes their order.
        let made: Vec<&Name> = s
            .ops
            .iter()
            .filter_map(|op| match &op.kind {
                OpKind::CreateTable { table: made, .. }
                    if op.locks.iter().any(|l| !l.table.same(made) && names(&l.table)) =>
                {
                    Some(made)
                }
                _ => None,
            })
            .collect();
        watched.extend(made);
    }
    Ok(())
}

/// The tables `s` reads as far as pgsafe follows them: those it locks, and those the subqueries
/// of an `UPDATE`'s or `DELETE`'s expressions read.
fn tables_read(s: &Stmt) -> impl Iterator<Item = &Name> {
    s.ops.iter().flat_map(|o| {
        let exprs = match &o.kind {
            OpKind::Update(d) | OpKind::Delete(d) => {
                Some(d.filter.iter().chain(d.assignments.iter().map(|a| &a.value)))
            }
            _ => None,
        };
        let subqueries = exprs.into_iter().flatten().flat_map(|e| &e.subqueries).flat_map(|q| &q.tables);
        o.locks.iter().map(|l| &l.table).chain(subqueries)
    })
}

/// The target row's own columns, constants and calls that give the same value in every batch:
/// nothing else.
fn row_local(e: &Expr, own: &[String], clause: &str, known: &Known<'_>) -> Result<(), Blocker> {
    let stop = |at: usize, why: String| Err(Blocker { at, why, fact: None });
    if let Some(s) = e.subqueries.first() {
        let tables: Vec<&str> = s.tables.iter().map(|t| &*t.text).collect();
        let reads = if tables.is_empty() { String::new() } else { format!(" (reading {})", tables.join(", ")) };
        let why = if s.limit {
            "with LIMIT, it would pick other rows in every batch"
        } else if s.aggregate {
            "it aggregates, and in every batch it would see what the earlier batches changed"
        } else {
            "it would be evaluated again in every batch, after the earlier batches changed the table"
        };
        return stop(s.at, format!("{clause} has a subquery{reads}: {why}"));
    }
    if let Some(a) = e.aggregates.first() {
        return stop(a.at, format!("{clause} uses the aggregate or window function {}()", a.name));
    }
    for c in &e.calls {
        if c.volatility == Volatility::Volatile {
            return stop(
                c.at,
                format!(
                    "{clause} calls {}(), which is volatile (or a function pgsafe does not know, which it treats as \
                     volatile): every batch would draw other values",
                    c.name
                ),
            );
        }
        if functions::reads_settings(&c.name) {
            return stop(
                c.at,
                format!(
                    "{clause} calls {}(), which reads the session's settings: the loop runs in a session of its own, \
                     under settings of its own (statement_timeout, lock_timeout)",
                    c.name
                ),
            );
        }
        if c.per_transaction {
            return stop(
                c.at,
                format!("{clause} uses {}, whose value changes with every transaction, so with every batch", c.name),
            );
        }
    }
    if let Some(u) = e.unknown.first() {
        return stop(u.at, format!("{clause} has {}, which pgsafe treats as volatile", u.what));
    }
    // A built-in operator's name that the draft or the schema gives a function of its own: the
    // user's may be the one PostgreSQL picks for these operands.
    for o in &e.operators {
        if let Some(made) = (known.operator_made)(o.name) {
            let by = match made {
                MadeBy::Schema => "the schema",
                MadeBy::Draft => "the draft",
            };
            return Err(Blocker {
                at: o.at,
                why: format!(
                    "{clause} uses the operator {}, a name {by} gives a function of its own (CREATE OPERATOR), which \
                     PostgreSQL may pick for these operands and pgsafe treats as volatile",
                    o.name
                ),
                fact: (made == MadeBy::Draft).then(|| user_operator_fact(o.name)),
            });
        }
    }
    // A column cast to a date/time type: a text column's row that says 'now' reads the
    // transaction's time. Only a column the catalogue knows to be of another built-in type is
    // sure not to.
    for c in &e.time_casts {
        let column = known
            .table
            .filter(|_| c.column.qualifier.as_ref().is_none_or(|q| own.contains(q)))
            .and_then(|t| t.column(&c.column.column));
        let of = match column.map(|col| (col.sql_type(), col)) {
            Some((t, _)) if t.is_built_in() && !["text", "varchar", "bpchar", "name"].contains(&t.base.as_str()) => {
                continue
            }
            Some((_, col)) => format!("of type {}", col.type_text),
            None => "whose type pgsafe does not know".into(),
        };
        let name = c.column.qualifier.as_ref().map_or(c.column.column.clone(), |q| format!("{q}.{}", c.column.column));
        return stop(
            c.column.at,
            format!(
                "{clause} casts {name}, {of}, to {}: a row that says 'now' (or 'today', …) there reads the \
                 transaction's time, so another one in every batch",
                c.to
            ),
        );
    }
    if e.default {
        return stop(e.span.start, "SET … = DEFAULT evaluates the column's default, which may be volatile".into());
    }
    for c in &e.columns {
        if let Some(q) = c.qualifier.as_ref().filter(|q| !own.contains(q)) {
            return stop(c.at, format!("{clause} reads {q}.{}, which is not a column of the target row", c.column));
        }
        if ["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"].contains(&c.column.as_str()) {
            return stop(
                c.at,
                format!("{clause} reads the system column {}, which changes as rows are updated", c.column),
            );
        }
    }
    Ok(())
}

/// A batched loop over the rows a statement matches.
pub struct Batch<'a> {
    /// `[ONLY] table [alias]` as the draft wrote it.
    pub target: &'a str,
    /// What the batches stand for in the draft, which the loop first asks the database about
    /// ([`Guard`]): where batches would not do the same, it runs that instead.
    pub guard: Guard<'a>,
    /// `UPDATE target SET …` / `DELETE FROM target`, without a `WHERE`.
    pub statement: &'a str,
    /// The draft's condition, repeated in every batch.
    pub condition: Option<&'a str>,
    pub size: u32,
}

/// What the loop asks the database before its first batch, and what runs instead where the
/// answer is that batches would not do what the draft does (the database knows what `--schema`
/// may not show, or show as it was).
pub struct Guard<'a> {
    /// The table's name as written, as `regclass` reads it.
    pub table: &'a str,
    pub stands_for: StandsFor<'a>,
}

/// What the batches stand for in the draft.
pub enum StandsFor<'a> {
    /// The draft's own `UPDATE` or `DELETE` (its text, without `;`). A batch fires a row trigger
    /// once for each row, as the statement does, but a statement-level trigger once for each
    /// batch (and none when no row is to change, where the statement fires it once), and an
    /// `AFTER` row trigger sees only the batches so far where it would see the whole statement's
    /// changes (a transition table too); a rule rewrites every batch; a deferrable key (`UNIQUE`,
    /// primary key, exclusion), a deferrable foreign key from or to the table (or a table a
    /// cascade reaches: its rows may point at rows a later batch deletes) and a foreign key
    /// between rows of the same table are checked when a statement ends (a deferred one when it
    /// commits), so at the end of each batch, where the rows still collide or point at rows a
    /// later batch changes; so is a foreign key from a table the cascade reaches back to a
    /// batched table, which the statement's cascade satisfies before its check; a `BEFORE` row
    /// trigger may read the table, number rows from a sequence or change the key, in key order;
    /// row security and the rights of the role change which rows the batches read; a view or a
    /// foreign table has no key to batch by. Instead: the statement, once, as written. So is a
    /// unique index on a column the statement `writes` (folded names), on a stored generated
    /// column, or on an expression or with a condition: the batches change the rows in key
    /// order, not in the order the statement's scan finds them, and a row may meet a value
    /// another row has not given up yet (`--schema` may not show the index).
    /// So is a `DELETE` from a table a foreign key references with `NO ACTION` or `RESTRICT`: a
    /// referencing row fails the batch that reaches its row, after the batches before it have
    /// committed, where the draft's statement fails whole and deletes nothing. The statement runs
    /// under the plan's `lock_timeout` there, as the draft's statements do (a trigger that takes a
    /// lock would otherwise wait without end: the loop's step runs without one).
    Statement { verb: &'a str, text: &'a str, writes: Vec<&'a str>, lock_timeout: &'a str },
    /// The rewrite by which `ADD COLUMN column type DEFAULT default` fills the existing rows: it
    /// fires no trigger or rule, passes row security, checks no constraint left `NOT VALID` nor a
    /// `CHECK` again whose expression calls a function that is not immutable (`expires_at >
    /// now()` holds when a row is written, not for ever, and an `UPDATE` checks it again), and
    /// publishes nothing and needs no right to read or update rows, which an `UPDATE` does (a
    /// publication of updates needs a replica identity covering its row filter and columns, on
    /// the table or a table that inherits from it). Instead: the same
    /// rewrite, `ALTER COLUMN … TYPE … USING`, under ACCESS EXCLUSIVE as in the draft, waiting
    /// for its lock at most `lock_timeout`.
    NewColumn { column: &'a str, type_text: &'a str, default: &'a str, lock_timeout: &'a str },
}

/// A check's functions read from its stored tree (`conbin`: each call's and operator's
/// `funcid`, and the nodes of `CURRENT_TIMESTAMP` and of I/O casts, which name none; `pg_depend`
/// records no built-in function, so `now()` leaves no trace there): true where the check may
/// give another answer in another transaction or after other rows changed. A function that is
/// not immutable may, and so may one a user wrote, whatever it is marked (an `IMMUTABLE` function
/// that reads the table, or one redefined since the rows were checked).
const CHECK_MAY_VARY: &str =
    "position('{SQLVALUEFUNCTION' in k.conbin::text) > 0 OR position('{COERCEVIAIO' in k.conbin::text) > 0\n        \
     OR EXISTS (SELECT FROM regexp_matches(k.conbin::text, ':(?:funcid|opfuncid) ([0-9]+)', 'g') m\n          \
     JOIN pg_proc f ON f.oid = m[1]::oid WHERE f.provolatile <> 'i' OR f.oid >= 16384)";

/// Column names as a list of SQL string literals.
fn quoted(names: &[&str]) -> String {
    names.iter().map(|w| format!("'{}'", w.replace('\'', "''"))).collect::<Vec<_>>().join(", ")
}

impl Guard<'_> {
    /// The check, and what runs instead of the loop when it finds one of the above on the table
    /// or a table that inherits from it, or a table that inherits from it and lets the key be
    /// NULL (key ranges never hold such a row: a batched `DELETE` left 7 rows of 20 a probe's
    /// draft deleted); or the loop found no primary key to batch by (`pgsafe_key IS NULL`).
    fn check(&self) -> String {
        let table = self.table.replace('\'', "''");
        // RAISE reads `%` as a placeholder.
        let named = table.replace('%', "%%");
        // The tables to ask about, each with the trigger events (bits of `tgtype`) a batch sends
        // it: the table, the tables that inherit from it, and for the draft's own statement the
        // tables its foreign-key actions reach (`ON DELETE CASCADE` deletes there, `SET NULL`
        // updates), whose statement-level triggers would fire once for each batch too.
        let (bits, cascades) = match &self.stands_for {
            StandsFor::Statement { verb, .. } => {
                let action = if *verb == "DELETE" { "confdeltype" } else { "confupdtype" };
                let bits = if *verb == "DELETE" { 8 } else { 16 };
                let cascades = format!(
                    "\n        UNION ALL SELECT conrelid, 24 FROM pg_constraint WHERE confrelid = p.oid AND contype = 'f'\n          \
                     AND {action} IN ('c', 'n', 'd')"
                );
                (bits, cascades)
            }
            StandsFor::NewColumn { .. } => (16, String::new()),
        };
        let (why, hazards, instead) = match &self.stands_for {
            StandsFor::Statement { verb, text, writes, lock_timeout } => {
                let action = if *verb == "DELETE" { "confdeltype" } else { "confupdtype" };
                // A `DELETE` that a referencing row would stop (in the table, or in one its
                // cascade reaches: `t.events & 8`).
                let referenced = if *verb == "DELETE" {
                    "\n      OR t.events & 8 <> 0 AND EXISTS (SELECT FROM pg_constraint WHERE contype = 'f' AND confrelid = t.oid\n        \
                     AND confdeltype IN ('a', 'r'))"
                } else {
                    ""
                };
                (
                    "  -- Batches fire a statement-level trigger once for each batch (also one a foreign key's\n  \
                     -- action reaches), an AFTER trigger sees only the batches so far, a BEFORE trigger may read\n  \
                     -- the table, draw from a sequence or change the key in key order, a rule rewrites each batch,\n  \
                     -- a deferrable key, a deferrable foreign key, one to its own table or one back into a table\n  \
                     -- a cascade reaches is checked at the end of each batch, key ranges change a unique or\n  \
                     -- exclusion-constrained column in key order, a check (or a written column's domain check)\n  \
                     -- of a function not immutable or written by a user may answer otherwise once earlier\n  \
                     -- batches committed, row security or a missing right to read the keys changes which rows\n  \
                     -- the batches see, a view has no key: on such a table the statement runs once, as written.\n",
                    format!(
                        "c.relkind NOT IN ('r', 'p') OR c.relrowsecurity\n      \
                         OR EXISTS (SELECT FROM pg_trigger WHERE tgrelid = t.oid AND NOT tgisinternal AND tgenabled <> 'D'\n        \
                         AND tgtype & t.events <> 0)\n      \
                         OR EXISTS (SELECT FROM pg_rewrite WHERE ev_class = t.oid\n        \
                         AND (ev_type = '2' AND t.events & 16 <> 0 OR ev_type = '4' AND t.events & 8 <> 0))\n      \
                         OR t.events & 16 <> 0 AND EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'c'\n        \
                         AND ({CHECK_MAY_VARY})){domains}\n      \
                         OR EXISTS (SELECT FROM pg_constraint WHERE conrelid = t.oid\n        \
                         AND (contype = 'f' AND confrelid = t.oid OR contype IN ('p', 'u', 'x') AND condeferrable))\n      \
                         OR EXISTS (SELECT FROM pg_constraint WHERE contype = 'f' AND condeferrable\n        \
                         AND (conrelid = t.oid OR confrelid = t.oid))\n      \
                         OR EXISTS (SELECT FROM pg_constraint WHERE conrelid = t.oid AND contype = 'f'\n        \
                         AND {action} IN ('a', 'r') AND confrelid IN (SELECT oid FROM pgsafe_tables)){referenced}{order}",
                        domains = if writes.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "\n      OR EXISTS (WITH RECURSIVE pgsafe_domains(oid) AS (\n        \
                                 SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname IN ({})\n        \
                                 UNION SELECT y.typbasetype FROM pg_type y JOIN pgsafe_domains d ON y.oid = d.oid WHERE y.typtype = 'd')\n        \
                                 SELECT FROM pg_constraint k JOIN pgsafe_domains d ON k.contypid = d.oid\n        \
                                 WHERE k.contype = 'c' AND ({CHECK_MAY_VARY}))",
                                quoted(writes)
                            )
                        },
                        order = if writes.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "\n      OR EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.oid AND (i.indisunique OR i.indisexclusion)\n        \
                                 AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR EXISTS (SELECT FROM pg_attribute a\n          \
                                 WHERE a.attrelid = t.oid AND a.attnum = ANY (i.indkey) AND (a.attname IN ({}) OR a.attgenerated = 's'))))",
                                quoted(writes)
                            )
                        }
                    ),
                    format!(
                        "RAISE NOTICE 'pgsafe: {named} has {what}: the {verb} runs once, as written';\n    \
                         PERFORM set_config('lock_timeout', '{lock_timeout}', true);\n    \
                         {text};",
                        what = "no one-column primary key to batch by, a trigger, rule, check or key that batches would change (or a NULL key), a key that references it and would stop a batch, row security or no right to read its keys, or is not a table, or the session writes keys as text that may not read back the same"
                    ),
                )
            }
            // A check's functions are read from its stored tree (`conbin`, each call's and
            // operator's `funcid`, and the nodes of `CURRENT_TIMESTAMP` and of I/O casts, which
            // name none): `pg_depend` records no built-in function, so `now()` left no trace there.
            StandsFor::NewColumn { column, type_text, default, lock_timeout } => (
                "  -- ADD COLUMN … DEFAULT fills the column as it rewrites the table: it fires no trigger or rule,\n  \
                 -- passes row security, checks no constraint left unvalidated nor a check of a function that\n  \
                 -- is not immutable (now()) or that a user wrote (redefined since, say) again, publishes no update (which needs a replica identity that\n  \
                 -- covers a publication's row filter and columns) and needs no right to read or update rows,\n  \
                 -- which batches of UPDATE would. On such a table the rows are filled by that rewrite, under\n  \
                 -- ACCESS EXCLUSIVE as in the draft.\n",
                "EXISTS (SELECT FROM pg_trigger WHERE tgrelid = t.oid AND NOT tgisinternal AND tgenabled <> 'D'\n        \
                 AND tgtype & 16 <> 0)\n      \
                 OR EXISTS (SELECT FROM pg_rewrite WHERE ev_class = t.oid AND ev_type = '2')\n      \
                 OR EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'c' AND (NOT k.convalidated\n        \
                 OR {CHECK_MAY_VARY}))\n      \
                 OR c.relrowsecurity\n      \
                 OR EXISTS (SELECT FROM pg_publication_tables pt JOIN pg_publication p USING (pubname)\n        \
                 WHERE p.pubupdate AND pt.tablename = c.relname\n        \
                 AND pt.schemaname = (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace))"
                    .replace("{CHECK_MAY_VARY}", CHECK_MAY_VARY),
                format!(
                    "RAISE NOTICE 'pgsafe: {named} has {what}an UPDATE trigger or rule, row security, an unvalidated check or one of a function not immutable or written by a user, a NULL key, a publication of its updates or no right to update it, or the session writes keys as text that may not read back the same: its rows are filled by a rewrite, as in the draft';\n    \
                     PERFORM set_config('lock_timeout', '{lock_timeout}', true);\n    \
                     ALTER TABLE {t} ALTER COLUMN {column} TYPE {type_text} USING coalesce({column}, {default});",
                    t = self.table,
                    what = "no one-column primary key to batch by, ",
                ),
            ),
        };
        // The batch ends are read from the table, and the fill of a new column updates it: rights
        // the draft's statement may not need (an `UPDATE` of a constant, the `ADD COLUMN`).
        let rights = match &self.stands_for {
            StandsFor::Statement { .. } => format!(" OR NOT has_table_privilege('{table}'::regclass, 'SELECT')"),
            StandsFor::NewColumn { .. } => format!(
                "\n    OR NOT has_table_privilege('{table}'::regclass, 'SELECT')\n    \
                 OR NOT has_table_privilege('{table}'::regclass, 'UPDATE')"
            ),
        };
        format!(
            "{why}  IF EXISTS (\n    WITH RECURSIVE pgsafe_tables(oid, events) AS (\n      SELECT '{table}'::regclass::oid, {bits}\n      \
             UNION SELECT r.oid, r.events FROM pgsafe_tables p CROSS JOIN LATERAL (\n        \
             SELECT inhrelid AS oid, p.events FROM pg_inherits WHERE inhparent = p.oid{cascades}) r)\n    \
             SELECT FROM pgsafe_tables t JOIN pg_class c ON c.oid = t.oid\n    \
             WHERE {hazards}\n      \
             OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = pgsafe_key AND NOT a.attnotnull)\n  \
             ) OR pgsafe_key IS NULL{rights}\n    \
             -- The batch ends travel as text: only these settings write every key so that it reads back the same.\n    \
             OR current_setting('DateStyle') NOT LIKE 'ISO%' OR current_setting('IntervalStyle') <> 'postgres'\n    \
             OR current_setting('extra_float_digits')::int < 1 THEN\n    \
             {instead}\n    \
             RETURN;\n  \
             END IF;\n",
        )
    }
}

impl Batch<'_> {
    /// The `DO` block. Which rows (or key ranges) to change is fixed before the first batch, so
    /// the loop ends after them whatever triggers do. The statement is analysed before the batches
    /// (`EXPLAIN`, which runs nothing): PL/pgSQL plans a statement only when it first runs it, so
    /// with no row to change a statement that fails as written (a missing column, a wrong type)
    /// would not. After the guard: where it runs the draft's way instead, that fails as written
    /// by itself, and `EXPLAIN` refuses what only the batches' `UPDATE` is refused (a table that
    /// publishes updates without a replica identity).
    pub fn do_block(&self) -> String {
        let (t, n) = (self.target, self.size);
        let analyse = format!(
            "  -- Analysed once, as the draft's statement is even when no row is to change.\n  \
             FOR pgsafe_line IN EXPLAIN {} WHERE false LOOP END LOOP;\n",
            self.statement
        );
        let cond = |glue: &str| self.condition.map_or(String::new(), |c| format!("{glue}({c})"));
        // The key as the database has it (a schema file may be stale, or name another schema's table
        // of that name: bounds declared with its key type rounded a numeric key and missed rows),
        // so the statements are built at run time: `format` reads `%` as a placeholder in the
        // draft's text.
        format!(
                "DO $pgsafe$\nDECLARE\n  pgsafe_key text;\n  pgsafe_type text;\n  pgsafe_bounds text[];\n  \
                 pgsafe_lo text;\n  pgsafe_hi text;\n  pgsafe_line text;\nBEGIN\n  \
                 -- The table's primary key, as the database has it: the batches are ranges of it.\n  \
                 SELECT a.attname, format_type(a.atttypid, a.atttypmod) INTO pgsafe_key, pgsafe_type\n    \
                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]\n    \
                 WHERE i.indrelid = '{table}'::regclass AND i.indisprimary AND i.indnkeyatts = 1;\n\
                 {guard}{analyse}  -- Batch ends, fixed first: every {n}th key of the rows to change, and the last one.\n  \
                 EXECUTE format($pgsafe_sql$SELECT ARRAY(SELECT pgsafe_k::text AS pgsafe_bound FROM (SELECT %1$I AS pgsafe_k, \
                 row_number() OVER (ORDER BY %1$I) AS pgsafe_n, count(*) OVER () AS pgsafe_rows FROM {t}{where_}) pgsafe_keys \
                 WHERE pgsafe_n %% {n} = 0 OR pgsafe_n = pgsafe_rows ORDER BY pgsafe_keys.pgsafe_k)$pgsafe_sql$, pgsafe_key)\n    \
                 INTO pgsafe_bounds;\n  FOREACH pgsafe_hi IN ARRAY pgsafe_bounds LOOP\n    \
                 EXECUTE format($pgsafe_sql${statement}\n     \
                 WHERE ($1 IS NULL OR %1$I > $1::%2$s) AND %1$I <= $2::%2$s{and}$pgsafe_sql$, pgsafe_key, pgsafe_type)\n      \
                 USING pgsafe_lo, pgsafe_hi;\n    pgsafe_lo := pgsafe_hi;\n    COMMIT;\n  END LOOP;\nEND\n$pgsafe$",
                table = self.guard.table.replace('\'', "''"),
                guard = self.guard.check(),
                t = t.replace('%', "%%"),
                where_ = cond(" WHERE ").replace('%', "%%"),
                and = cond(" AND ").replace('%', "%%"),
                statement = self.statement.replace('%', "%%"),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower::lower_statement;

    fn dml(sql: &str) -> Dml {
        match lower_statement(sql, 0..sql.len()).remove(0).kind {
            OpKind::Update(d) | OpKind::Delete(d) => *d,
            other => panic!("{other:?}"),
        }
    }

    fn why(sql: &str) -> Option<String> {
        why_knowing(sql, "")
    }

    /// [`why`], with `schema` as `--schema`.
    fn why_knowing(sql: &str, schema: &str) -> Option<String> {
        let catalog = crate::ir::catalog::Catalog::from_sql(schema);
        let d = dml(sql);
        let operator_made = |op: &str| catalog.operators.contains(op).then_some(MadeBy::Schema);
        let known = Known { table: catalog.table(&d.table), operator_made: &operator_made };
        blocker(sql, &d, 0, &known).err().map(|b| format!("{} @{}", b.why, &sql[b.at..]))
    }

    const SCHEMA: &str = "CREATE TABLE orders (id int PRIMARY KEY, note text, kind text, created_at timestamptz, \
                          due date, at timestamptz, day date, j jsonb, d domain_of_text);\n\
                          CREATE OPERATOR app.### (LEFTARG = int, RIGHTARG = int, FUNCTION = f);\n\
                          CREATE OPERATOR = (LEFTARG = int, RIGHTARG = mytype, FUNCTION = g);";

    #[test]
    fn only_row_local_statements_batch() {
        for sql in [
            "UPDATE orders SET note = lower(kind) WHERE id > 5",
            "UPDATE orders o SET status = 'x', ratio = 0.1 WHERE o.created_at < '2020-01-01' AND to_char(o.x, 'YYYY') = '2020'",
            "DELETE FROM orders WHERE status = 'void'",
            "UPDATE orders SET (a, b) = (1, 2)",
            "UPDATE orders SET note = kind || '!', at = (ts - interval '1 day')::date::timestamptz WHERE j ->> 'k' ~~ 'a%'",
            "UPDATE orders o SET total = (o.amount::numeric(10,2) * 2)::int WHERE o IS NOT NULL",
            "UPDATE orders SET note = 'see you tomorrow'::text WHERE note LIKE '%today%' OR replace(note, 'now', '') = ''",
            "UPDATE orders SET at = date '2020-01-01' + time '10:00', day = to_date(note, 'YYYY')::date",
        ] {
            assert_eq!(why(sql), None, "{sql}");
        }
        // A column cast to a date/time type batches where the catalogue knows it is no text.
        for sql in [
            "UPDATE orders SET day = created_at::date, at = due::timestamptz",
            "UPDATE orders o SET day = coalesce(o.created_at, at)::date WHERE (j -> 'k')::text <> ''",
            "UPDATE orders SET day = CASE WHEN id > 0 THEN created_at ELSE due END::date",
            "UPDATE orders SET note = 'x' WHERE at::date > date '2020-01-01' - 1 AND (note || 'x')::text <> ''",
        ] {
            assert_eq!(why_knowing(sql, SCHEMA), None, "{sql}");
        }
    }

    #[test]
    fn the_part_that_stops_batching_is_named() {
        for (sql, needle, part) in [
            (
                "DELETE FROM line_items WHERE id IN (SELECT id FROM line_items ORDER BY id LIMIT 1000)",
                "with LIMIT",
                "SELECT id",
            ),
            ("DELETE FROM line_items WHERE id > (SELECT max(id) - 50 FROM line_items)", "aggregates", "SELECT max"),
            ("DELETE FROM orders WHERE random () < 0.01", "random()", "random ()"),
            ("UPDATE orders SET amount = amount + 1", "reads amount", "amount + 1"),
            ("UPDATE orders SET touched_at = now()", "now", "now()"),
            ("UPDATE orders SET uid = gen_random_uuid()", "gen_random_uuid", "gen_random_uuid()"),
            ("UPDATE orders SET x = app.f(y)", "app.f()", "app.f(y)"),
            ("UPDATE orders SET status = DEFAULT", "DEFAULT", "DEFAULT"),
            ("UPDATE orders o SET x = u.y FROM users u WHERE u.id = o.user_id", "FROM/USING", "FROM users"),
            ("UPDATE orders SET x = users.y", "users.y", "users.y"),
            ("DELETE FROM orders WHERE id = 1 RETURNING id", "RETURNING", "RETURNING id"),
            ("UPDATE orders SET x = 1 WHERE ctid = '(0,1)'", "system column", "ctid ="),
            ("UPDATE t SET c = 1 WHERE a ### 0", "operator ###", "a ### 0"),
            ("UPDATE t SET c = (a::public.mytype)::int", "public.mytype", "a::public.mytype"),
            ("UPDATE t SET ts = $$now$$::timestamptz", "'now'", "$$now$$"),
            ("UPDATE t SET ts = ('no' || 'w')::timestamptz", "a cast of text to timestamptz", "'no'"),
            ("UPDATE t SET ts = U&'now'", "'now'", "U&'now'"),
            ("UPDATE t SET b = current_setting('lock_timeout')", "settings", "current_setting("),
            ("UPDATE t SET b = md5((t)::text)", "whole row (t)", "t)::text"),
            ("UPDATE t x SET b = md5(row_to_json(x.*)::text)", "whole row (x.*)", "row_to_json"),
            // 'now' inside a longer constant read as a date/time (or left to be typed).
            ("UPDATE t SET ts = lower('[now,)'::tstzrange)", "'[now,)'", "'[now,)'"),
            ("UPDATE t SET ts = ('{NOW}'::timestamptz[])[1]", "'{NOW}'", "'{NOW}'"),
            ("UPDATE t SET ts = timestamp 'tomorrow 10:00'", "'tomorrow 10:00'", "'tomorrow"),
            ("UPDATE t SET ts = 'today 10:00'", "'today 10:00'", "'today"),
            ("UPDATE t SET x = 1 WHERE ts < CAST('yesterday 23:00' AS timestamptz)", "'yesterday 23:00'", "'yes"),
            ("UPDATE t SET r = '{[now,infinity)}'::tstzmultirange", "'{[now,infinity)}'", "'{[now"),
            // A value that may be text, cast to a date/time type.
            ("UPDATE t SET ts = noted::timestamptz", "casts noted, whose type pgsafe does not know", "noted::"),
            ("UPDATE t SET ts = CAST(t.noted AS date)", "casts t.noted", "t.noted"),
            ("UPDATE t SET ts = (j -> 'k')::text::timestamptz", "a cast of text to timestamptz", "j ->"),
            ("UPDATE t SET ts = (a[1])::timestamptz", "may be text", "a[1]"),
            ("UPDATE t SET ts = coalesce(noted, other)::tstzrange", "casts noted", "noted,"),
        ] {
            let got = why(sql).unwrap_or_else(|| panic!("{sql} was batched"));
            assert!(got.contains(needle), "{sql}: {got}");
            assert!(got.split('@').nth(1).unwrap().starts_with(part), "{sql}: {got}");
        }
    }

    #[test]
    fn what_the_catalogue_knows_stops_batching_too() {
        for (sql, needle, part) in [
            // A text column, or one of a type that is not built in (a domain over text).
            ("UPDATE orders SET at = note::timestamptz", "casts note, of type text, to timestamptz", "note::"),
            ("UPDATE orders SET day = d::date", "casts d, of type domain_of_text", "d::date"),
            ("UPDATE orders SET day = coalesce(created_at::date, note::date)", "casts note", "note::date"),
            // A column of another table's (or unknown) alias is not the table's.
            ("UPDATE orders SET day = x.created_at::date", "x.created_at", "x.created_at"),
            // An operator name the schema makes, wherever PostgreSQL looks it up by name.
            ("UPDATE orders SET note = 'x' WHERE id = 1", "operator =", "id = 1"),
            ("UPDATE orders SET note = 'x' WHERE id IN (1, 2)", "operator =", "id IN"),
            ("UPDATE orders SET note = CASE id WHEN 1 THEN 'a' END", "operator =", "CASE"),
            ("UPDATE orders SET note = 'x' WHERE id IS DISTINCT FROM 2", "operator =", "id IS"),
            ("UPDATE orders SET note = nullif(kind, 'a')", "operator =", "nullif"),
        ] {
            let got = why_knowing(sql, SCHEMA).unwrap_or_else(|| panic!("{sql} was batched"));
            assert!(got.contains(needle), "{sql}: {got}");
            assert!(got.split('@').nth(1).unwrap().starts_with(part), "{sql}: {got}");
        }
        // `OPERATOR(pg_catalog.=)` names the built-in one.
        let sql = "UPDATE orders SET note = 'x' WHERE id OPERATOR(pg_catalog.=) 1";
        assert_eq!(why_knowing(sql, SCHEMA), None);
    }

    #[test]
    fn batches_are_fixed_before_the_loop() {
        let b = Batch {
            target: "orders o",
            guard: Guard {
                table: "orders",
                stands_for: StandsFor::Statement {
                    verb: "DELETE",
                    text: "DELETE FROM orders o",
                    writes: vec![],
                    lock_timeout: "100ms",
                },
            },
            statement: "DELETE FROM orders o",
            condition: Some("o.status LIKE '%void'"),
            size: 100,
        };
        let sql = b.do_block();
        // The key the database has, and its bounds fixed first (`%` doubled for `format`).
        assert!(
            sql.contains("WHERE i.indrelid = 'orders'::regclass AND i.indisprimary AND i.indnkeyatts = 1;"),
            "{sql}"
        );
        assert!(sql.contains("FROM orders o WHERE (o.status LIKE '%%void')) pgsafe_keys"), "{sql}");
        assert!(
            sql.contains("ORDER BY pgsafe_keys.pgsafe_k)$pgsafe_sql$, pgsafe_key)\n    INTO pgsafe_bounds;"),
            "{sql}"
        );
        assert!(
            sql.contains(
                "EXECUTE format($pgsafe_sql$DELETE FROM orders o\n     WHERE ($1 IS NULL OR %1$I > $1::%2$s) AND \
                 %1$I <= $2::%2$s AND (o.status LIKE '%%void')$pgsafe_sql$, pgsafe_key, pgsafe_type)\n      USING pgsafe_lo, pgsafe_hi;"
            ),
            "{sql}"
        );
        // Without one, or without the right to read the keys, the statement once, as written.
        assert!(
            sql.contains(") OR pgsafe_key IS NULL OR NOT has_table_privilege('orders'::regclass, 'SELECT')\n"),
            "{sql}"
        );
        // So under settings that write a key as text that may not read back the same.
        assert!(sql.contains("OR current_setting('extra_float_digits')::int < 1 THEN\n"), "{sql}");
        assert!(sql.find("pgsafe_key IS NULL").unwrap() < sql.find("INTO pgsafe_bounds").unwrap(), "{sql}");
        // A table inheriting from it that lets the key be NULL counts too.
        assert!(sql.contains("a.attname = pgsafe_key AND NOT a.attnotnull"), "{sql}");
    }

    #[test]
    fn the_loop_first_asks_whether_batches_would_do_what_the_statement_does() {
        let guard = |table, verb, statement| {
            let b = Batch {
                target: "t",
                guard: Guard {
                    table,
                    stands_for: StandsFor::Statement {
                        verb,
                        text: statement,
                        writes: vec!["a"],
                        lock_timeout: "100ms",
                    },
                },
                statement: "DELETE FROM t",
                condition: None,
                size: 10,
            };
            b.do_block()
        };
        let sql = guard("app.\"it's 100%\"", "DELETE", "DELETE FROM app.\"it's 100%\" WHERE a = 1");
        // The name as regclass reads it, and as RAISE prints it.
        assert!(sql.contains("SELECT 'app.\"it''s 100%\"'::regclass::oid, 8"), "{sql}");
        assert!(sql.contains("RAISE NOTICE 'pgsafe: app.\"it''s 100%%\" has"), "{sql}");
        // DELETE triggers and rules, and the tables its keys' actions reach (deletes or updates
        // there); the statement as written, then nothing more.
        assert!(sql.contains("tgtype & t.events <> 0") && sql.contains("ev_type = '4' AND t.events & 8"), "{sql}");
        assert!(sql.contains("SELECT conrelid, 24 FROM pg_constraint WHERE confrelid = p.oid"), "{sql}");
        assert!(sql.contains("AND confdeltype IN ('c', 'n', 'd')"), "{sql}");
        let fallback = sql.find("    DELETE FROM app.\"it's 100%\" WHERE a = 1;\n    RETURN;\n  END IF;").unwrap();
        assert!(fallback < sql.find("INTO pgsafe_bounds").unwrap(), "{sql}");
        let sql = guard("t", "UPDATE", "UPDATE t SET a = 1");
        assert!(sql.contains("'t'::regclass::oid, 16") && sql.contains("AND confupdtype IN"), "{sql}");
        assert!(sql.contains("contype = 'f' AND confrelid = t.oid"), "{sql}");
        // Row security, any row trigger of the events, a key back into a table the cascade
        // reaches (checked at each batch's end, after the cascade removed fewer rows).
        assert!(sql.contains("OR c.relrowsecurity") && !sql.contains("nextval"), "{sql}");
        assert!(
            sql.contains("AND confupdtype IN ('a', 'r') AND confrelid IN (SELECT oid FROM pgsafe_tables)"),
            "{sql}"
        );
        // A unique index or exclusion constraint on a written column (one `--schema` did not
        // show) counts: key ranges change the rows in key order.
        assert!(sql.contains("(i.indisunique OR i.indisexclusion)") && sql.contains("a.attname IN ('a')"), "{sql}");
    }
}
