//! `transactions`: the plan owns transaction boundaries, but never changes what a transaction means.
//!
//! - The draft's own `BEGIN`/`COMMIT` are consumed (their comments are kept); each becomes a step
//!   boundary, so statements the draft grouped stay grouped unless a rewrite must split them.
//! - Statements PostgreSQL refuses inside a transaction block (`VACUUM`, `CREATE DATABASE`, …) move
//!   to autocommit steps of their own.
//! - `ALTER TYPE … ADD VALUE` ends its step where a later statement of its transaction names the
//!   value: the new value cannot be used until that commits.
//! - A `VALIDATE CONSTRAINT` in the same transaction as its `NOT VALID` add moves to a later one.
//!
//! Some stretches of the draft are *kept* ([`Region`]): their statements stay as written, in one
//! step, with timeouts, and no rule restructures them (no `CONCURRENTLY`, `NOT VALID` split or
//! batched loop, each of which would commit on its own or leave the step):
//! - a transaction that ends in `ROLLBACK` (a dry run must stay a dry run), or that the draft never
//!   commits: run with `psql -f` (its migration tool's transaction aside), the session ends at the
//!   end of the file and PostgreSQL rolls the transaction back;
//! - `SAVEPOINT` … `RELEASE`/`ROLLBACK TO` of that savepoint (they only mean something in the
//!   transaction that holds what they enclose);
//! - session state from its creation to its last use (`ir::session`: a temporary table, view or
//!   sequence, a prepared statement, a cursor), since each step runs in a new session;
//! - a session advisory lock to its unlock, and a call that changes the session (`setseed`,
//!   `set_limit`) to the end (`ir::session_calls`);
//! - a transaction from its `SET CONSTRAINTS … DEFERRED`, its `LOCK TABLE` or its `SELECT … FOR
//!   UPDATE` to its `COMMIT` (the checks wait for it, the locks are held to it);
//! - a transaction from a statement a plan commits in steps to a later change of how its table
//!   takes writes (a default, a trigger), or from a dropped key or check to the build of its
//!   replacement (`write_rules`: traffic between the steps would write under rules the draft
//!   never shows);
//! - everything from an `ALTER DATABASE|ROLE … SET` to the end: later sessions take the new
//!   default, the draft's own does not;
//! - everything from a statement that leaves a `(` or `BEGIN` open to the end: where those
//!   statements end is the split's guess, which a step holding only some of them, or holding them
//!   rewritten, would not guess the same way.

use super::{Ctx, Mode, Phase, Rewritten};
use crate::diagnostic::{Diagnostic, Severity};
use crate::ir::code_locks::RunsCode;
use crate::ir::lower::prepared_gid;
use crate::ir::migration::{Migration, Section, Stmt};
use crate::ir::name::Name;
use crate::ir::op::{OpKind, Psql, SavepointAction};
use crate::ir::sequence_values::SequenceValues;

pub const RULE: &str = "transactions";

/// The settings that only bound how long something waits or runs.
pub(super) const TIMEOUTS: [&str; 4] =
    ["lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout", "transaction_timeout"];

/// Why a stretch of the draft is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// The draft rolls this transaction back.
    RolledBack,
    /// The draft never commits this transaction: its session ends with the file, and PostgreSQL
    /// rolls it back. The step ends in `ROLLBACK`, so what it does is as plain to see.
    NeverCommitted,
    /// `PREPARE TRANSACTION 'gid'` (the gid as written) ends this transaction without committing
    /// it: a `COMMIT PREPARED`, in this session or another, commits it later, and its locks are
    /// held until then. One step as written prepares it too.
    Prepared(String),
    /// `SAVEPOINT name` … its `RELEASE`/`ROLLBACK TO`.
    Savepoint(String),
    /// Session state (`temporary table comment_temp`) that later statements use: each step runs
    /// in a new session.
    Session(String),
    /// A statement leaves a `(` or `BEGIN` open (a typo PostgreSQL rejects): pgsafe can only guess
    /// where it and the statements after it end.
    Unclosed,
    /// A psql `\if` … `\endif` block: its statements run only when its condition holds, and a
    /// step holding part of it would run them whatever the condition.
    Conditional,
    /// A setting made inside a psql `\if` block (`SET`, `\set`, `\connect`): a later step would
    /// repeat it whatever the condition, so the block and all after it stay in one session.
    ConditionalSetting,
    /// `ALTER DATABASE|ROLE … SET` (what it sets): a setting's default for new sessions, which the
    /// draft's own session does not take and each later step, a new session, would.
    SetsDefault(String),
    /// `set_config(…)` of a value pgsafe cannot read (what it sets): a later step, a new session,
    /// could not repeat it.
    UnreadSetting(String),
    /// A `DO` block, or a call of a function the draft created, that changes its session (the
    /// code, what it does): a later step, a new session, would not have the change.
    ChangedByCode { function: Option<Box<str>>, what: &'static str },
    /// `SET CONSTRAINTS … DEFERRED`: the transaction's deferrable constraints are checked at its
    /// `COMMIT`, where the draft has put back what it broke for a while; each step of a split
    /// transaction would check them at its own.
    DeferredConstraints,
    /// `SET TRANSACTION …` or `BEGIN` with modes (`READ ONLY`, an isolation level): they hold for
    /// the one transaction they run in, which a split would end early (and its other steps
    /// would run without them).
    TransactionModes,
    /// What only means something in a transaction block (`SET TRANSACTION`), met outside any in
    /// a draft that opens its own elsewhere: it does nothing there (PostgreSQL warns), and in a
    /// step's transaction it would act on the statements after it. (`timeouts` marks a `SET
    /// LOCAL` there inert in the same way.)
    Inert(String),
    /// A statement PostgreSQL refuses outside a transaction block (a savepoint statement, `LOCK
    /// TABLE`, `DECLARE` without `WITH HOLD`: its first words), met there in a draft that opens
    /// its own elsewhere: the draft stops at it, where in a step's transaction it would pass and
    /// the statements after it would run (a `ROLLBACK TO` undoing a `SET` the draft keeps, an
    /// `INSERT` the draft never makes). Kept as written, outside a transaction, it fails as the
    /// draft's does.
    Refused(String),
    /// `LOCK TABLE` (what it locks) or a transaction-level advisory lock (what takes it) in a
    /// transaction: the lock is held to the `COMMIT`, so that nothing else changes the tables (or
    /// runs what the lock guards) meanwhile; a split would release it with the first step.
    ExplicitLock(String),
    /// `\set AUTOCOMMIT off`: psql runs what follows in a transaction it opens itself, to a
    /// `COMMIT` (or to the end of the file, where it is rolled back).
    AutocommitOff,
    /// `SET LOCAL` (of the setting named) in a draft with no transaction block: nothing under
    /// psql, the rest of the file under a migration tool that runs it in one transaction.
    LocalOutsideTransaction(String),
    /// A write in a transaction while a constraint or constraint trigger declared `INITIALLY
    /// DEFERRED` (by the draft before it, or in `--schema`) is in force: as with
    /// [`Keep::DeferredConstraints`], its check waits for the transaction's `COMMIT`.
    InitiallyDeferred,
    /// Two statements of a transaction read its start time (`now()`, `CURRENT_TIMESTAMP`, …) or
    /// its id (`pg_current_xact_id()`), the same for both: a split would give those after it
    /// another.
    TransactionTime,
    /// A built-in call that changes the session (the call as written, what it changes): `setseed`,
    /// `set_limit`, a session advisory lock (`ir::session_calls`). Later steps, new sessions,
    /// would not have it.
    SessionCall { call: Box<str>, effect: crate::ir::session_calls::Effect },
    /// A statement that changes what `table` accepts or does on writes (`change`: a constraint,
    /// unique index or default dropped, a default set, a trigger or rule created) and one on the
    /// same table in the same transaction that a plan commits in steps (`split`, at `split_at`: a
    /// batched fill, a concurrent or `NOT VALID` build) and whose result depends on the rows other
    /// sessions write meanwhile (`write_rules`).
    WritesChanged { table: String, change: &'static str, split: &'static str, split_at: usize },
    /// What guards a table's writes or serves its readers (`object`: a table's triggers, rules,
    /// policies or defaults, a view) changed by `first` and again by `then` (at `then_at`) in one
    /// transaction, typically dropped and made again: split between them, other sessions would
    /// meet the state in between, which the draft never shows them (`write_rules`).
    Replaced { object: String, first: &'static str, then: &'static str, then_at: usize },
    /// psql's `\q` ends the file: what follows it runs only where the draft does not reach it
    /// (inside a `\if` that did not hold), so the rest stays as written, from the block it is in.
    Quits,
}

impl Keep {
    /// Is the reason the draft transaction's wholeness, so that committing part of it apart
    /// would change what it does (not the session's state, which a transaction of its own in the
    /// same session keeps)?
    pub fn needs_one_transaction(&self) -> bool {
        matches!(
            self,
            Keep::RolledBack
                | Keep::NeverCommitted
                | Keep::Prepared(_)
                | Keep::Savepoint(_)
                | Keep::DeferredConstraints
                | Keep::InitiallyDeferred
                | Keep::TransactionModes
                | Keep::TransactionTime
                | Keep::ExplicitLock(_)
                | Keep::WritesChanged { .. }
                | Keep::Replaced { .. }
        )
    }
}

/// How a kept region becomes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The draft's `BEGIN` … `COMMIT`/`ROLLBACK`, whole: one transaction step ending as the draft's.
    WholeTransaction,
    /// Statements inside one draft transaction, or statements the draft runs outside any (none of
    /// which refuses a transaction block): one transaction step. Atomic, so a retry after a lock
    /// timeout repeats nothing that committed.
    InsideTransaction,
    /// Anything else (statements outside transactions, several transactions): one step holding the
    /// draft's statements exactly as written, its own `BEGIN`/`COMMIT` included, in one session.
    AsWritten,
}

/// Draft statements `first..=last` that stay as written, in one step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub first: usize,
    pub last: usize,
    pub shape: Shape,
    /// Why, one entry per reason that met here (overlapping stretches merge).
    pub why: Vec<(usize, Keep)>,
}

impl Region {
    pub fn contains(&self, stmt: usize) -> bool {
        (self.first..=self.last).contains(&stmt)
    }
}

/// The fact a kept step records (see `ir::migration::FACT`) when a check declared `INITIALLY
/// DEFERRED` before it keeps it: compiling the step alone then keeps it again.
pub const INITIALLY_DEFERRED_FACT: &str = "checks-initially-deferred";

/// The stretches of the draft that must stay as written, merged where they overlap, in draft order.
/// `schema_defers_checks`: `--schema` declares a check `INITIALLY DEFERRED`.
pub fn regions(m: &Migration<'_>, schema_defers_checks: bool) -> Vec<Region> {
    let mut found: Vec<Region> = Vec::new();
    // A region from `first` to the draft's last statement (of its up sections).
    let last_up = m.stmts.iter().rposition(|s| s.section == Section::Up);
    let to_the_end = |first: usize, shape: Shape, why: (usize, Keep)| Region {
        first,
        last: last_up.unwrap_or(first),
        shape,
        why: vec![why],
    };
    let mut begin: Option<usize> = None;
    // Savepoints alive in the current transaction: (name, where it was set).
    let mut savepoints: Vec<(String, usize)> = Vec::new();
    // A COMMIT or ROLLBACK outside any transaction the draft began: the file expects to run in its
    // migration tool's transaction (gobuffalo pop's `COMMIT TRANSACTION; BEGIN TRANSACTION;`), and
    // that tool commits what the draft leaves open.
    let mut ends_the_tools_transaction = false;
    // Statements that mean something only in a transaction block, met outside any.
    let mut inert: Vec<(usize, &str)> = Vec::new();
    // Savepoint statements met outside any transaction block, and what they would enclose in the
    // transaction of a tool that runs the file in one.
    let (mut refused, mut stray_regions): (Vec<(usize, &str)>, Vec<Region>) = (Vec::new(), Vec::new());
    let may_be_wrapped = !m.stmts.iter().any(|s| s.ops.iter().any(|o| o.kind == OpKind::Begin));
    // Where the open transaction first came to depend on staying one transaction (a check left
    // to its COMMIT, its modes), and why.
    let mut held: Option<(usize, Keep)> = None;
    // From here on a check declared `INITIALLY DEFERRED` may be in force.
    let mut initially_deferred = schema_defers_checks || m.has_fact(INITIALLY_DEFERRED_FACT);
    // The first statement of the open transaction that reads its start time.
    let mut reads_time: Option<usize> = None;
    for (i, s) in m.stmts.iter().enumerate() {
        if s.section != Section::Up {
            continue;
        }
        initially_deferred |= s.defers_checks;
        if s.reads_transaction_time && (begin.is_some() || m.runner_transaction) {
            match reads_time {
                Some(first) => held = held.or(Some((first, Keep::TransactionTime))),
                None => reads_time = Some(i),
            }
        }
        for op in &s.ops {
            let in_transaction = begin.is_some() || m.runner_transaction;
            // Its lock keeps other sessions' writes out while the guard is off: split, they would
            // write unaudited (or unfiltered) while the rest of the transaction runs.
            if let (true, Some(what), OpKind::AlterTable { table, .. }) =
                (in_transaction, op.kind.disables_a_guard(), &op.kind)
            {
                held = held.or(Some((i, Keep::ExplicitLock(format!("ALTER TABLE {} {what}", table.text)))));
            }
            match &op.kind {
                OpKind::Begin => {
                    begin = begin.or(Some(i));
                    savepoints.clear();
                    reads_time = None;
                }
                OpKind::Set { name, value, .. }
                    if name == "constraints"
                        && in_transaction
                        && value.to_ascii_lowercase().split_whitespace().any(|w| w == "deferred") =>
                {
                    held = held.or(Some((i, Keep::DeferredConstraints)));
                }
                OpKind::TransactionMode if in_transaction => held = held.or(Some((i, Keep::TransactionModes))),
                OpKind::Lock { tables, .. } if in_transaction => {
                    let what = tables.iter().map(|t| &*t.text).collect::<Vec<_>>().join(", ");
                    held = held.or(Some((i, Keep::ExplicitLock(format!("LOCK TABLE {what}")))));
                }
                // Outside any transaction block PostgreSQL refuses them, and the draft stops there
                // (unless the file runs in its tool's transaction, as for a savepoint below).
                OpKind::Lock { .. } if !may_be_wrapped => refused.push((i, "LOCK TABLE")),
                OpKind::NeedsTransactionBlock(what) if !in_transaction && !may_be_wrapped => refused.push((i, what)),
                OpKind::AdvisoryLock if in_transaction => {
                    held = held.or(Some((i, Keep::ExplicitLock("pg_advisory_xact_lock".into()))));
                }
                // Its row locks guard a read-modify-write to the COMMIT (found by a probe).
                OpKind::LocksRows(clause) if in_transaction => {
                    held = held.or(Some((i, Keep::ExplicitLock(format!("SELECT … {clause}")))));
                }

                // A draft with no BEGIN of its own may run in its tool's transaction (as `timeouts`
                // reads its SET LOCAL): the modes then hold to the end of the file.
                OpKind::TransactionMode if may_be_wrapped => {
                    found.push(to_the_end(i, Shape::InsideTransaction, (i, Keep::TransactionModes)))
                }
                // Else, outside a transaction block, it does nothing (PostgreSQL warns): in a step
                // of its own it still does nothing, where a step's transaction would take it.
                OpKind::TransactionMode => inert.push((i, "SET TRANSACTION")),
                kind if initially_deferred && in_transaction && may_write_rows(kind) => {
                    held = held.or(Some((i, Keep::InitiallyDeferred)));
                }
                OpKind::Commit { rollback } => {
                    if let (Some(b), Some(gid)) = (begin, prepared_gid(m.text(&s.body))) {
                        let why = vec![(i, Keep::Prepared(gid.into()))];
                        found.push(Region { first: b, last: i, shape: Shape::AsWritten, why });
                    }
                    if let (Some((d, keep)), false) = (held.take(), *rollback) {
                        let why = vec![(d, keep)];
                        found.push(Region { first: d, last: i, shape: Shape::InsideTransaction, why });
                    }
                    if let (true, Some(b)) = (*rollback, begin) {
                        found.push(Region {
                            first: b,
                            last: i,
                            shape: Shape::WholeTransaction,
                            why: vec![(i, Keep::RolledBack)],
                        });
                    }
                    ends_the_tools_transaction |= begin.is_none();
                    begin = None;
                    savepoints.clear();
                    reads_time = None;
                }
                OpKind::Savepoint { name, action } => {
                    // Outside any transaction block PostgreSQL refuses it, unless the file runs in
                    // its tool's transaction (known at the end).
                    let outside = !in_transaction && !may_be_wrapped;
                    if outside {
                        refused.push((i, savepoint_words(*action)));
                    }
                    if *action == SavepointAction::Set {
                        savepoints.push((name.clone(), i));
                    } else if let Some(k) = savepoints.iter().rposition(|(n, _)| n == name) {
                        let set_at = savepoints[k].1;
                        let why = vec![(set_at, Keep::Savepoint(name.clone()))];
                        let region = Region { first: set_at, last: i, shape: Shape::InsideTransaction, why };
                        if outside { &mut stray_regions } else { &mut found }.push(region);
                        // RELEASE ends the savepoint; ROLLBACK TO keeps it. Both end the later ones.
                        savepoints.truncate(if *action == SavepointAction::Release { k } else { k + 1 });
                    }
                }
                _ => {}
            }
        }
    }
    // Deferred in the transaction the migration tool runs the file in: checked at its end.
    if let (Some((first, keep)), true) = (held, m.runner_transaction) {
        found.push(to_the_end(first, Shape::InsideTransaction, (first, keep)));
    }
    if ends_the_tools_transaction {
        found.append(&mut stray_regions);
    } else {
        for (i, what) in inert {
            let why = vec![(i, Keep::Inert(what.into()))];
            found.push(Region { first: i, last: i, shape: Shape::InsideTransaction, why });
        }
        for (i, what) in refused {
            let why = vec![(i, Keep::Refused(what.into()))];
            found.push(Region { first: i, last: i, shape: Shape::AsWritten, why });
        }
    }
    if let (Some(first), false) = (begin, m.runner_transaction || ends_the_tools_transaction) {
        found.push(to_the_end(first, Shape::WholeTransaction, (first, Keep::NeverCommitted)));
    }
    // psql conditional blocks, innermost first; one left open runs to the end.
    let mut open_ifs: Vec<usize> = Vec::new();
    // The statements that make a setting a later step repeats, in order (found once: blocks nest).
    let settings: Vec<usize> = (0..m.stmts.len()).filter(|&k| changes_a_setting(&m.stmts[k])).collect();
    for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
        match s.psql() {
            Some(Psql::If) => open_ifs.push(i),
            Some(Psql::Quit) => {
                found.push(to_the_end(open_ifs.first().copied().unwrap_or(i), Shape::AsWritten, (i, Keep::Quits)))
            }
            Some(Psql::EndIf) => {
                if let Some(first) = open_ifs.pop() {
                    found.push(Region {
                        first,
                        last: i,
                        shape: Shape::AsWritten,
                        why: vec![(first, Keep::Conditional)],
                    });
                    // Each later step, a new session, repeats the settings made before it, and
                    // would repeat this one whatever the condition: the rest stays in this session.
                    let k = settings[settings.partition_point(|&k| k < first)..].first().filter(|&&k| k <= i);
                    if let Some(&k) = k {
                        found.push(to_the_end(first, Shape::AsWritten, (k, Keep::ConditionalSetting)));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(&first) = open_ifs.first() {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::Conditional)));
    }
    // Variables `\gset` set from a query's row live in psql's session: to the last statement
    // after it that may interpolate one, the draft stays in one step.
    let ups = || m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up);
    let gsets = |s: &Stmt| s.ops.iter().any(|o| o.kind == OpKind::Psql(Psql::SetsVariablesFromRow));
    // The last use is found once, from the end, whatever the number of `\gset`s.
    let last_use = || ups().rev().find(|(_, s)| s.interpolates).map(|(j, _)| j);
    if let Some(last) = ups().any(|(_, s)| gsets(s)).then(last_use).flatten() {
        for (i, _) in ups().filter(|&(i, s)| i < last && gsets(s)) {
            let why = Keep::Session("psql variable set from a query's row (\\gset) or a shell command's output".into());
            found.push(Region { first: i, last, shape: Shape::AsWritten, why: vec![(i, why)] });
        }
    }
    // psql sets `ROW_COUNT`, `ERROR`, `SQLSTATE` … after every query: a statement or `\if` that
    // reads one stays in one step with the query before it.
    for (i, _) in ups().filter(|(_, s)| s.reads_last_result) {
        let is_query = |s: &Stmt| s.section == Section::Up && !s.is_trivia() && s.psql().is_none();
        let query = m.stmts[..i].iter().enumerate().rev().find(|(_, s)| is_query(s));
        if let Some((first, _)) = query {
            let why = Keep::Session(
                "psql variable (ROW_COUNT, ERROR, SQLSTATE …) that describes the query before its use".into(),
            );
            found.push(Region { first, last: i, shape: Shape::AsWritten, why: vec![(first, why)] });
        }
    }
    // `currval()` and `lastval()` read what the session's last `nextval()` gave: from the first
    // statement that may call one (a column default may) to the last reader, one step.
    let sequences = |s: &Stmt| s.sequence_values;
    if let Some((last, _)) = ups().rev().find(|(_, s)| sequences(s) == SequenceValues::Reads) {
        if let Some((first, _)) =
            ups().find(|(_, s)| sequences(s) != SequenceValues::Untouched).filter(|&(f, _)| f < last)
        {
            let why = Keep::Session("value nextval() last gave, which currval() and lastval() read,".into());
            found.push(Region { first, last, shape: Shape::AsWritten, why: vec![(first, why)] });
        }
    }
    // Where stretches begin that must run as the draft runs them, outside a step's transaction:
    // their statements commit one by one, or their transactions are psql's or a tool's.
    let mut own_commits = Vec::new();
    // Until a COMMIT or ROLLBACK ends it, the tool's transaction holds every statement: none
    // commits on its own there (a temporary table's `ON COMMIT DELETE ROWS` waits for its end).
    let tools_transaction_ends = m.runner_transaction.then(|| first_end(m)).flatten();
    let in_tools_transaction = |i: usize| m.runner_transaction && tools_transaction_ends.is_none_or(|end| i < end);
    for o in crate::ir::session::session_objects(m) {
        let why = Keep::Session(format!("{} {}", o.kind.describe(), o.name));
        found.push(Region { first: o.created, last: o.last_use, shape: Shape::AsWritten, why: vec![(o.created, why)] });
        if o.ends_with_commits && !in_tools_transaction(o.created) {
            own_commits.push(o.created);
        }
    }
    // A built-in call that changes the session (a seed, a session advisory lock): to the lock's
    // unlock, else to the end. A lock's stretch commits as the draft's statements do: held across
    // them, it must not hold their table locks too.
    for c in crate::ir::session_calls::session_calls(m).into_iter().filter(|c| c.until != Some(c.at)) {
        let lock = c.effect == crate::ir::session_calls::Effect::AdvisoryLock;
        let keep = (c.at, Keep::SessionCall { call: c.call.into(), effect: c.effect });
        let last = c.until.or(last_up).unwrap_or(c.at);
        found.push(Region { first: c.at, last, shape: Shape::AsWritten, why: vec![keep] });
        if lock {
            own_commits.push(c.at);
        }
    }
    let new_default = |s: &Stmt| {
        let what = s.ops.iter().find_map(|o| match &o.kind {
            OpKind::SetsDefault { what } => Some(what.clone()),
            _ => None,
        });
        what.filter(|_| s.section == Section::Up)
    };
    if let Some((first, what)) = m.stmts.iter().enumerate().find_map(|(i, s)| Some((i, new_default(s)?))) {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::SetsDefault(what))));
    }
    let unread = |s: &Stmt| {
        let name = s.ops.iter().find_map(|o| match &o.kind {
            OpKind::UnreadSetting { name } => {
                Some(name.as_deref().map_or("a setting".into(), |n| format!("setting {n}")))
            }
            _ => None,
        });
        name.filter(|_| s.section == Section::Up)
    };
    if let Some((first, what)) = m.stmts.iter().enumerate().find_map(|(i, s)| Some((i, unread(s)?))) {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::UnreadSetting(what))));
    }
    let by_code = |s: &Stmt| s.changes_session.filter(|_| s.section == Section::Up);
    if let Some((first, change)) = m.stmts.iter().enumerate().find_map(|(i, s)| Some((i, by_code(s)?))) {
        let called = match &m.stmts[first].runs_code {
            Some(RunsCode::Calls(k)) => Some(&m.called[*k as usize]),
            _ => None,
        };
        // From the function's creation when the draft creates it: `check` of the step alone must
        // see what the call does, or a second `fix` would rewrite what follows it.
        let from = called.and_then(|c| c.defined_at).map_or(first, |at| m.stmts.partition_point(|s| s.body.start < at));
        let keep = Keep::ChangedByCode { function: called.map(|c| c.function.clone()), what: change.describe() };
        found.push(to_the_end(from.min(first), Shape::AsWritten, (first, keep)));
    }
    let autocommit_off = |s: &Stmt| s.section == Section::Up && s.psql() == Some(&Psql::AutocommitOff);
    if let Some(first) = m.stmts.iter().position(autocommit_off) {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::AutocommitOff)));
        own_commits.push(first);
    }
    // A `SET LOCAL` in a draft with no transaction block of its own does nothing where psql runs
    // the file, and holds to its end where a migration tool runs it in one transaction: only the
    // rest of the draft as written does what the draft does either way (the timeouts aside,
    // which bound waits and change nothing else).
    let local_alone = |s: &Stmt| {
        let name = s.ops.iter().find_map(|o| match &o.kind {
            OpKind::Set { name, local: true, .. } if !TIMEOUTS.contains(&name.as_str()) => Some(name.clone()),
            _ => None,
        });
        name.filter(|_| s.section == Section::Up)
    };
    let no_begin = !m.runner_transaction && !m.stmts.iter().flat_map(|s| &s.ops).any(|o| o.kind == OpKind::Begin);
    if let Some((first, name)) =
        m.stmts.iter().enumerate().find_map(|(i, s)| Some((i, local_alone(s)?))).filter(|_| no_begin)
    {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::LocalOutsideTransaction(name))));
        own_commits.push(first);
    }
    let unclosed = |s: &Stmt| s.section == Section::Up && s.leaves_open;
    if let Some(first) = m.stmts.iter().position(unclosed) {
        found.push(to_the_end(first, Shape::AsWritten, (first, Keep::Unclosed)));
    }
    // Said once: a stretch another reason keeps already (a trigger disabled for the fill) needs no
    // second finding.
    let writes = super::write_rules::regions(m);
    let covered = |w: &Region| found.iter().any(|r| r.first <= w.first && w.last <= r.last);
    let writes: Vec<Region> = writes.into_iter().filter(|w| !covered(w)).collect();
    found.extend(writes);
    merge(found, m, &own_commits)
}

/// The first up statement that commits or rolls back a transaction, if any.
fn first_end(m: &Migration<'_>) -> Option<usize> {
    let ends = |s: &Stmt| s.section == Section::Up && s.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. }));
    m.stmts.iter().position(ends)
}

/// The draft's transactions: (`BEGIN`, its `COMMIT`/`ROLLBACK`, or the last statement of the up
/// sections: a down section is not run with them).
fn transactions(m: &Migration<'_>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut begin = None;
    for (i, s) in m.stmts.iter().enumerate().filter(|(_, s)| s.section == Section::Up) {
        for op in &s.ops {
            match op.kind {
                OpKind::Begin => begin = begin.or(Some(i)),
                OpKind::Commit { .. } => {
                    if let Some(b) = begin.take() {
                        out.push((b, i));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(b) = begin {
        out.push((b, m.stmts.iter().rposition(|s| s.section == Section::Up).unwrap_or(b)));
    }
    out
}

/// Merge overlapping regions; a region that reaches into a draft transaction without lying inside
/// it grows to the whole transaction (a step cannot hold half of one). Then say what shape each is:
/// one outside any draft transaction runs in one step's transaction, unless it holds the start of
/// a stretch that must commit as the draft's statements do (`own_commits`) or a savepoint that
/// must fail as the draft's does ([`Keep::Refused`]).
fn merge(mut found: Vec<Region>, m: &Migration<'_>, own_commits: &[usize]) -> Vec<Region> {
    let txs = transactions(m);
    loop {
        found.sort_by_key(|r| (r.first, std::cmp::Reverse(r.last)));
        let mut out: Vec<Region> = Vec::new();
        for r in found {
            match out.last_mut() {
                Some(last) if r.first <= last.last => {
                    last.last = last.last.max(r.last);
                    last.why.extend(r.why);
                }
                _ => out.push(r),
            }
        }
        // The transactions a region touches (they are disjoint and in draft order).
        let touching = |(first, last): (usize, usize)| {
            let from = txs.partition_point(|&(_, e)| e < first);
            txs[from..].iter().take_while(move |&&(b, _)| b <= last)
        };
        let mut grew = false;
        for r in &mut out {
            let (first, last) = touching((r.first, r.last)).fold((r.first, r.last), |(f, l), &(b, e)| {
                let inside = b < r.first && r.last < e;
                if inside {
                    (f, l)
                } else {
                    (f.min(b), l.max(e))
                }
            });
            grew |= (first, last) != (r.first, r.last);
            (r.first, r.last) = (first, last);
        }
        if !grew {
            for r in &mut out {
                r.why.sort_by_key(|(at, _)| *at);
                let mut tx = touching((r.first, r.last));
                // A step opens with its own `BEGIN;`: a draft's `BEGIN READ ONLY` must run as written.
                let plain_begin = |b: usize| !m.stmts[b].ops.iter().any(|o| o.kind == OpKind::TransactionMode);
                // A prepared transaction ends in the draft's `PREPARE TRANSACTION`, not a step's `COMMIT`.
                let prepared = r.why.iter().any(|(_, w)| matches!(w, Keep::Prepared(_)));
                r.shape = match (tx.next(), tx.next()) {
                    (Some(&(b, e)), None) if (b, e) == (r.first, r.last) && plain_begin(b) && !prepared => {
                        Shape::WholeTransaction
                    }
                    (Some(&(b, e)), None) if b < r.first && r.last < e => Shape::InsideTransaction,
                    (None, _)
                        if !refuses_transaction_block(m, r)
                            && !ends_transaction(m, r)
                            && !own_commits.iter().any(|&first| r.contains(first))
                            && !r.why.iter().any(|(_, w)| matches!(w, Keep::Refused(_))) =>
                    {
                        Shape::InsideTransaction
                    }
                    _ => Shape::AsWritten,
                };
            }
            return out;
        }
        found = out;
    }
}

/// Does a statement of the region refuse to run inside a transaction block (`VACUUM`, `CONCURRENTLY`),
/// or may it? A `REINDEX SCHEMA|DATABASE|SYSTEM` does, and so does a `REINDEX TABLE|INDEX` of a
/// partitioned table or index (PostgreSQL 14+), which only the database may know to be one.
fn refuses_transaction_block(m: &Migration<'_>, r: &Region) -> bool {
    m.stmts[r.first..=r.last]
        .iter()
        .flat_map(|s| &s.ops)
        .any(|o| matches!(o.kind, OpKind::NoTransaction { .. } | OpKind::Reindex { .. }) || o.kind.is_concurrent())
}

/// Does a statement of the region end a transaction? Outside any draft transaction a `COMMIT` or
/// `ROLLBACK` does nothing; inside the step's own transaction it would end it there, undoing or
/// committing what came before and leaving the rest without the step's timeouts.
/// A `CALL` or `DO` that commits ends it too (PostgreSQL refuses its `COMMIT` inside a transaction
/// block: "invalid transaction termination"), and so, for what follows, does an enum value added
/// (a later statement may use it only once it is committed: "unsafe use of new value").
fn ends_transaction(m: &Migration<'_>, r: &Region) -> bool {
    m.stmts[r.first..=r.last].iter().any(|s| {
        s.controls_transactions
            || s.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. } | OpKind::AddEnumValue { .. }))
    })
}

/// For each statement, the region that keeps it, if any.
pub fn kept_by(regions: &[Region], stmts: usize) -> Vec<Option<usize>> {
    let mut out = vec![None; stmts];
    for (k, r) in regions.iter().enumerate() {
        for slot in &mut out[r.first..=r.last.min(stmts.saturating_sub(1))] {
            *slot = Some(k);
        }
    }
    out
}

/// Say why each region is kept as written, pointing at what stopped the rewrites.
fn explain(ctx: &Ctx<'_, '_>, regions: &[Region], out: &mut Rewritten) {
    let m = ctx.m;
    if regions.is_empty() {
        return;
    }
    let breaks: Vec<usize> = m.src.match_indices('\n').map(|(i, _)| i).collect();
    let line = |i: usize| breaks.partition_point(|&b| b < m.stmts[i].body.start) + 1;
    for r in regions {
        let lines = format!("lines {}-{}", line(r.first), line(r.last));
        for (at, why) in &r.why {
            let s = &m.stmts[*at];
            let (message, help) = match why {
                Keep::RolledBack => (
                    format!(
                        "the draft rolls this transaction back (a dry run): pgsafe keeps {lines} as written in one transaction that ends in ROLLBACK, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there, since each of those would commit on its own"
                    ),
                    "to get the safe recipes, take the statements out of BEGIN … ROLLBACK",
                ),
                Keep::NeverCommitted => (
                    format!(
                        "the draft never commits this transaction: its session ends with the file and PostgreSQL rolls the transaction back (a dry run), so pgsafe keeps {lines} as written in one step that rolls it back too, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "if the draft means to change the database, end the transaction with COMMIT",
                ),
                Keep::Prepared(gid) => (
                    format!(
                        "PREPARE TRANSACTION {gid} ends this transaction without committing it: COMMIT PREPARED {gid}, in this session or another, commits it later, and until then it holds its locks, past the end of the session. pgsafe keeps {lines} as written in one step that prepares it too, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there, since each of those would commit on its own, before COMMIT PREPARED"
                    ),
                    "to get the safe recipes, run the statements that need them outside the prepared transaction",
                ),
                Keep::Savepoint(name) => (
                    format!(
                        "SAVEPOINT {name} and its RELEASE/ROLLBACK TO must run in the transaction that holds what they enclose: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the savepoint",
                ),
                Keep::Session(what) => (
                    format!(
                        "the {what} lives only in the session that creates it, and each step of a plan runs in a new session: pgsafe keeps {lines} (from where it is created to its last use) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them before it is created or after its last use, or use a regular table and drop it at the end",
                ),
                Keep::Quits => (
                    format!(
                        "psql stops reading the file at \\q, so the statements after it run only where the draft does not reach it, and a step holding part of them would run them whatever the draft does: pgsafe keeps {lines} as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, end the file without \\q: put what follows it in a later migration",
                ),
                Keep::Conditional => (
                    format!(
                        "the statements of this psql \\if block run only when its condition holds, and a step holding part of the block would run them whatever the condition: pgsafe keeps {lines} as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the \\if block (or make the choice in the migration tool)",
                ),
                Keep::ConditionalSetting => (
                    format!(
                        "this setting is made inside a psql \\if block, so only when its condition holds; each step of a plan runs in a new session and repeats the settings made before it, which would make this one whatever the condition: pgsafe keeps {lines} (the block and everything after it) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, make the setting outside the \\if block (or make the choice in the migration tool)",
                ),
                Keep::SetsDefault(what) => (
                    format!(
                        "{what} changes the default for sessions that start after it, not for the draft's own, and each later step of a plan runs in a new session, which would take it: pgsafe keeps {lines} (from here to the end) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, change the default in a migration of its own (or at its end)",
                ),
                Keep::UnreadSetting(what) => (
                    format!(
                        "this set_config gives {what} a value pgsafe cannot read, and each later step of a plan runs in a new session, which would not have it: pgsafe keeps {lines} (from here to the end) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, set it with a literal value (SET name = 'value', or set_config('name', 'value', false)), which later steps repeat",
                ),
                Keep::DeferredConstraints => (
                    format!(
                        "SET CONSTRAINTS … DEFERRED leaves the checks of the transaction's deferrable constraints to its COMMIT, and a plan that split the transaction would check them at the end of each step, before the draft has put right what it breaks for a while: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the transaction that defers its constraints",
                ),
                Keep::Refused(what) => (
                    format!(
                        "{what} outside a transaction block is refused by PostgreSQL, and the draft stops there; in a step's transaction it would pass and the plan would run what the draft never runs: pgsafe keeps {lines} as written in a step of its own, outside a transaction, where it fails as the draft's does"
                    ),
                    "remove it, or move it into the transaction it is meant for",
                ),
                Keep::Inert(what) => (
                    format!(
                        "outside a transaction block {what} does nothing (PostgreSQL warns), and in a step's transaction it would act on the statements after it: pgsafe keeps {lines} in a step of its own, where it still does nothing"
                    ),
                    "remove it, or move it into the transaction it is meant for",
                ),
                Keep::TransactionModes => (
                    format!(
                        "SET TRANSACTION (or BEGIN with modes: READ ONLY, an isolation level, a snapshot; or COMMIT AND CHAIN, which begins the next transaction with the same modes) holds for the one transaction it runs in, and a plan that split that transaction would run its other steps without it: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the transaction that sets its modes",
                ),
                Keep::ExplicitLock(what) => (
                    format!(
                        "{what} holds its lock until the transaction ends, so that nothing else changes the table (or runs what the lock guards) meanwhile, and a plan that split the transaction would release it with the first step: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the transaction that takes the lock (or take the lock only right before the statements that need it, in a transaction of their own)",
                ),
                Keep::TransactionTime => (
                    format!(
                        "now() (and CURRENT_TIMESTAMP, transaction_timestamp(), …) returns the time the transaction started, and pg_current_xact_id() (txid_current()) its id, the same in every statement of it, and a plan that split the transaction would give the statements after the split another: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the transaction, or give the statements that must agree one value (a literal, or a psql variable set once)",
                ),
                Keep::WritesChanged { table, change, split, split_at } => (
                    format!(
                        "this {change} changes what {table} accepts or does on writes, and the {split} on line {} of the same transaction, which a plan would run in steps of its own (a batched fill, a CONCURRENTLY or NOT VALID build), depends on the rows written meanwhile: split, other sessions would write {table} between the steps under rules the draft never shows them (rows the fill misses or a new constraint refuses, no key at all), and the plan could fail, or leave other rows, where the draft does not. pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there",
                        line(*split_at)
                    ),
                    "to get the safe recipes, change how the table takes writes in a migration of its own: a default or trigger before the fill that relies on it, a new key or constraint built before the old one is dropped (one ALTER TABLE … DROP CONSTRAINT …, ADD CONSTRAINT … builds first, then swaps them)",
                ),
                Keep::Replaced { object, first, then, then_at } => (
                    format!(
                        "this {first} and the {then} on line {} of the same transaction change {object} twice: a plan that split the transaction between them would let other sessions write and read in the state between, which the draft never shows them (updates no trigger sees, deletes no rule turns aside, inserts without their default, a view that does not exist), for as long as the steps between take. pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there",
                        line(*then_at)
                    ),
                    "to get the safe recipes, change it in one statement where PostgreSQL has one (CREATE OR REPLACE TRIGGER, CREATE OR REPLACE VIEW, SET DEFAULT alone, ALTER POLICY), or move the statements between them out of the transaction",
                ),
                Keep::InitiallyDeferred => (
                    format!(
                        "a constraint declared INITIALLY DEFERRED checks the rows this transaction writes at its COMMIT, and a plan that split the transaction would check them at the end of each step, before the draft has put right what it breaks for a while: pgsafe keeps {lines} as written in one transaction step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, move the statements that need them out of the transaction that writes rows (before it, or into a transaction of their own)",
                ),
                Keep::ChangedByCode { function, what } => (
                    format!(
                        "{} {what}, which the statements after it may rely on, and each later step of a plan runs in a new session, which would not have it: pgsafe keeps {lines} (from here to the end) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there",
                        function.as_ref().map_or("this DO block".into(), |f| format!(
                            "{f}, which this calls (its code read where the draft creates it),"
                        ))
                    ),
                    "to get the safe recipes, make the change with a statement pgsafe reads (SET name = 'value', CREATE TEMP TABLE …), or move the DO block to the end of the migration",
                ),
                Keep::SessionCall { call, effect } => {
                    use crate::ir::session_calls::Effect;
                    let (reach, help) = match effect {
                        Effect::AdvisoryLock => (
                            "from the lock to its unlock, or to the end",
                            "to get the safe recipes, take the lock only around the statements that need it, or let the migration tool (or pgsafe apply, which holds one for the whole run) keep two runs apart",
                        ),
                        Effect::Seed => (
                            "from here to the end",
                            "to get the safe recipes, move setseed and the statements that draw random values to the end of the migration (or into one of their own)",
                        ),
                        Effect::SimilarityLimit => (
                            "from here to the end",
                            "to get the safe recipes, write SET pg_trgm.similarity_threshold = …, which later steps repeat",
                        ),
                        Effect::RemoteConnection => (
                            "from here to the end",
                            "to get the safe recipes, move the dblink calls to the end of the migration (or give dblink a connection string, not a name)",
                        ),
                    };
                    (
                        format!(
                            "{call} {}, which the statements after it may rely on, and each step of a plan runs in a new session, which would not have it: pgsafe keeps {lines} ({reach}) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there",
                            effect.describe()
                        ),
                        help,
                    )
                }
                Keep::AutocommitOff => (
                    format!(
                        "with AUTOCOMMIT off psql opens a transaction before the next statement and keeps it open to a COMMIT (at the end of the file it rolls back what is still open): pgsafe keeps {lines} (from here to the end) as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "to get the safe recipes, leave AUTOCOMMIT on and write the transactions with BEGIN … COMMIT",
                ),
                Keep::LocalOutsideTransaction(name) => (
                    format!(
                        "SET LOCAL {name} outside a transaction block does nothing when psql runs the file, and holds to its end when a migration tool runs the file in one transaction: pgsafe keeps {lines} (from here to the end) as written in one step, which does what the draft does either way, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "write SET (for the session) or put the statements it is meant for in BEGIN … COMMIT",
                ),
                Keep::Unclosed => (
                    format!(
                        "this statement leaves a `(` or `BEGIN` open, which PostgreSQL rejects, so where it and the statements after it end is a guess: pgsafe keeps {lines} as written in one step, with timeouts, and applies no CONCURRENTLY, NOT VALID or batched rewrite there"
                    ),
                    "close the parenthesis (or the BEGIN … END) so each statement ends where PostgreSQL ends it",
                ),
            };
            out.push(Diagnostic::new(RULE, Severity::Warning, s.body.clone(), message).help(help));
        }
    }
}

/// How a savepoint statement starts, for a reason that names it.
fn savepoint_words(action: SavepointAction) -> &'static str {
    match action {
        SavepointAction::Set => "SAVEPOINT",
        SavepointAction::Release => "RELEASE SAVEPOINT",
        SavepointAction::RollbackTo => "ROLLBACK TO SAVEPOINT",
    }
}

/// May the op write rows (and so break a deferred check until a later statement puts it right)?
/// Any statement that can run code counts.
fn may_write_rows(kind: &OpKind) -> bool {
    match kind {
        OpKind::Update(_) | OpKind::Delete(_) | OpKind::Opaque { .. } | OpKind::Psql(Psql::RunsUnseenSql) => true,
        OpKind::Other { what } => {
            let first = what.split_whitespace().next().unwrap_or("");
            ["INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "SELECT", "WITH", "DO", "CALL", "EXECUTE"].contains(&first)
        }
        _ => false,
    }
}

/// Does `s` change what later statements run with, which a plan repeats at the top of later steps
/// (see `plan::record_sets`)?
fn changes_a_setting(s: &Stmt) -> bool {
    s.ops.iter().any(|o| {
        matches!(o.kind, OpKind::Set { .. } | OpKind::Psql(Psql::SetVariable(_) | Psql::Connect | Psql::Encoding))
    })
}

/// The draft's transactions where a walk over it has come to: carried from one window of
/// statements to the next.
#[derive(Default)]
pub struct Transactions {
    in_tx: bool,
    /// Constraints added NOT VALID in the current draft transaction, and outside any.
    not_valid_here: Vec<String>,
    not_valid_alone: std::collections::HashSet<String>,
}

impl Transactions {
    /// Before the first window: say why each region is kept as written.
    pub fn start(ctx: &Ctx<'_, '_>, regions: &[Region], out: &mut Rewritten) -> Transactions {
        explain(ctx, regions, out);
        Transactions::default()
    }

    /// The rule on the statements of `ctx.window`, whose passes made the units from
    /// `first_generated` on.
    pub fn run(&mut self, ctx: &Ctx<'_, '_>, regions: &[Region], out: &mut Rewritten, first_generated: usize) {
        let m = ctx.m;
        let from = regions.partition_point(|r| r.last < ctx.window.start);
        for r in regions[from..].iter().take_while(|r| r.first < ctx.window.end) {
            let deferred = r.why.iter().find(|(_, why)| *why == Keep::InitiallyDeferred);
            if let Some(&(write, _)) = deferred.filter(|(write, _)| ctx.window.contains(write)) {
                out.add_fact(write, INITIALLY_DEFERRED_FACT.into());
            }
        }
        // A kept statement runs as written, in its transaction: one the draft ran concurrently or
        // one PostgreSQL refuses in a transaction block fails in the plan as it fails in the draft.
        let kept = |i: usize| ctx.kept(i);
        let draft_units = ctx.window.clone().chain(first_generated..out.units.len());
        for u in draft_units {
            let unit = &mut out.units[u];
            if kept(unit.stmt) && unit.mode == Mode::Autocommit {
                unit.mode = Mode::Transaction;
                unit.long_running = false;
            }
        }
        let Transactions { in_tx, not_valid_here, not_valid_alone } = self;
        for (i, s) in ctx.stmts() {
            // A `CALL` or a `DO` that commits, in a transaction block: it runs there, as written
            // (PostgreSQL refuses the `COMMIT` inside it as it refuses it in the draft).
            if s.controls_transactions && (*in_tx || m.runner_transaction) {
                out.units[i].mode = Mode::Transaction;
                out.units[i].long_running = false;
            }
            for op in &s.ops {
                match &op.kind {
                    OpKind::Begin => {
                        out.units[i].mode = Mode::Control;
                        *in_tx = true;
                        not_valid_here.clear();
                    }
                    OpKind::Commit { .. } => {
                        out.units[i].mode = Mode::Control;
                        *in_tx = false;
                    }
                    OpKind::NoTransaction { .. } if kept(i) => {}
                    OpKind::NoTransaction { what } => {
                        out.units[i].mode = Mode::Autocommit;
                        if *in_tx && ctx.applies(RULE, i) {
                            out.units[i].rules.push(RULE);
                            out.change(
                            RULE,
                            s.body.start,
                            format!("move {what} out of the draft's transaction: PostgreSQL refuses it inside a transaction block"),
                        );
                        }
                    }
                    // A `REINDEX TABLE|INDEX` of a partitioned table or index refuses a transaction
                    // block (PostgreSQL 14+), and without --schema pgsafe cannot tell one: run
                    // outside any, it runs as the draft runs it, alone, with the session's
                    // timeouts (in a step's transaction it failed where the draft succeeds).
                    OpKind::Reindex { concurrently: false, .. }
                        if !*in_tx && !m.runner_transaction && s.ops.len() == 1 && !kept(i) =>
                    {
                        out.units[i].mode = Mode::Autocommit;
                    }
                    OpKind::CreateIndex { concurrently: true, .. }
                    | OpKind::DropIndex { concurrently: true, .. }
                    | OpKind::Reindex { concurrently: true, .. }
                        if *in_tx && ctx.applies(RULE, i) =>
                    {
                        out.units[i].mode = Mode::Autocommit;
                        out.units[i].rules.push(RULE);
                        out.change(
                        RULE,
                        s.body.start,
                        "move this CONCURRENTLY statement out of the draft's transaction: PostgreSQL refuses it inside a transaction block".into(),
                    );
                    }
                    OpKind::AddEnumValue { .. } if kept(i) => {}
                    OpKind::AddEnumValue { type_name } => {
                        // In the draft's transaction, only a later statement that names the value
                        // can use it; one that does not is no reason to commit the value first,
                        // which would let other sessions see it without the rest (found by the
                        // forty-fourth pass's traffic probe, fixture
                        // `traffic_enum_value_and_column_in_a_transaction`). A value pgsafe cannot
                        // read counts as named.
                        let value = added_value(&m.src[s.body.clone()]);
                        let used_later_in_tx = *in_tx
                            && m.stmts[i + 1..]
                                .iter()
                                .take_while(|n| !n.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. })))
                                .any(|n| {
                                    !n.is_trivia()
                                        && !adds_values_to_other_types(n, type_name)
                                        && value.is_none_or(|v| m.src[n.body.clone()].contains(v))
                                });
                        out.units[i].ends_step = !*in_tx || used_later_in_tx;
                        if used_later_in_tx && ctx.applies(RULE, i) {
                            out.units[i].rules.push(RULE);
                            out.change(
                            RULE,
                            s.body.start,
                            format!(
                                "commit the new value of {} before the rest of the draft's transaction: a new enum value cannot be used in the transaction that adds it",
                                type_name.text
                            ),
                        );
                        }
                    }
                    OpKind::AddConstraint { name: Some(name), not_valid: true, .. } => {
                        if *in_tx {
                            not_valid_here.push(name.to_lowercase());
                        } else {
                            not_valid_alone.insert(name.to_lowercase());
                        }
                    }
                    OpKind::ValidateConstraint { name, .. }
                        if *in_tx && not_valid_here.contains(&name.to_lowercase()) && ctx.applies(RULE, i) =>
                    {
                        let unit = &mut out.units[i];
                        unit.phase = Phase::Validate;
                        unit.rules.push(RULE);
                        out.change(
                        RULE,
                        s.body.start,
                        format!("validate {name} in a later transaction than the one that adds it NOT VALID, so the scan holds no strong lock"),
                    );
                    }
                    // The draft validates in a later transaction than its add (a statement beside
                    // other actions is no VALIDATE step of its own): so does the plan.
                    OpKind::ValidateConstraint { name, .. }
                        if !*in_tx && not_valid_alone.contains(&name.to_lowercase()) =>
                    {
                        out.units[i].starts_step = true;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The value an `ALTER TYPE … ADD VALUE` adds, as written with its quotes (`'shipped'`): its first
/// string literal (`None` for an escape string or none at all).
fn added_value(text: &str) -> Option<&str> {
    let start = text.find('\'')?;
    if text[..start].ends_with(['E', 'e', 'U', 'u', '&']) {
        return None;
    }
    let rest = &text[start + 1..];
    let mut end = 0;
    loop {
        end += rest[end..].find('\'')?;
        if !rest[end + 1..].starts_with('\'') {
            break;
        }
        end += 2;
    }
    Some(&text[start..start + end + 2])
}

/// Whether a statement only adds values to enum types other than `type_name`: such a
/// statement cannot use the new value, so it may share the transaction that adds it
/// (goose and dbmate run a file of `ADD VALUE`s in one transaction, which PostgreSQL allows).
fn adds_values_to_other_types(stmt: &Stmt, type_name: &Name) -> bool {
    !stmt.ops.is_empty()
        && stmt
            .ops
            .iter()
            .all(|o| matches!(&o.kind, OpKind::AddEnumValue { type_name: other } if !other.same(type_name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enum_value_ends_its_step_only_where_its_transaction_names_it() {
        let steps = |src: &str| {
            let c = crate::compile("d.sql", src, &crate::config::Config::default()).unwrap();
            c.steps().count()
        };
        // Found by the forty-fourth pass's traffic probe: split, other sessions saw the value
        // without the column the same transaction adds.
        let column =
            "BEGIN;\nALTER TYPE mood ADD VALUE 'gone';\nALTER TABLE users ADD COLUMN away_note text;\nCOMMIT;\n";
        assert_eq!(steps(column), 1);
        let used = "BEGIN;\nALTER TYPE mood ADD VALUE 'gone';\nALTER TABLE users ALTER COLUMN mood SET DEFAULT 'gone';\nCOMMIT;\n";
        assert_eq!(steps(used), 2);
        assert_eq!(steps(&column.replace("BEGIN;\n", "").replace("COMMIT;\n", "")), 2, "autocommit");
        assert_eq!(added_value("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'it''s' BEFORE 'x'"), Some("'it''s'"));
        assert_eq!(added_value("ALTER TYPE mood ADD VALUE E'x'"), None);
    }

    #[test]
    fn a_prepared_transaction_stays_as_written_to_its_prepare_and_is_not_a_dry_run() {
        let kept = |src: &str| {
            let m = Migration::split_and_lower(src).unwrap();
            regions(&m, false).iter().map(|r| (r.first, r.last, r.shape, r.why.clone())).collect::<Vec<_>>()
        };
        // PREPARE TRANSACTION ends the block without committing; COMMIT PREPARED (refused in a
        // transaction block) commits it later, here or in another session. What follows is planned.
        let draft = "BEGIN;\nCREATE INDEX i ON t (c);\nPREPARE TRANSACTION 'm1';\nCOMMIT PREPARED 'm1';\n\
                     CREATE INDEX j ON big (x);\n";
        assert_eq!(kept(draft), [(0, 2, Shape::AsWritten, vec![(2, Keep::Prepared("'m1'".into()))])]);
        // Not a word more: a PREPARE TRANSACTION PostgreSQL rejects ends nothing.
        let typo = "BEGIN;\nCREATE INDEX i ON t (c);\nPREPARE TRANSACTION 'm1' now;\n";
        assert_eq!(kept(typo), [(0, 2, Shape::WholeTransaction, vec![(0, Keep::NeverCommitted)])]);
    }

    #[test]
    fn a_write_under_a_check_declared_initially_deferred_keeps_the_rest_of_its_transaction() {
        let kept = |src: &str, schema: bool| {
            let m = Migration::split_and_lower(src).unwrap();
            regions(&m, schema).iter().map(|r| (r.first, r.last, r.why.clone())).collect::<Vec<_>>()
        };
        let txn = "BEGIN;\nCREATE INDEX i ON t (c);\nINSERT INTO child VALUES (1, 100);\n\
                   CREATE INDEX j ON big (x);\nINSERT INTO parent VALUES (100);\nCOMMIT;\n";
        let lock = "BEGIN;\nCREATE INDEX i ON t (c);\nLOCK TABLE parent IN EXCLUSIVE MODE;\nCREATE INDEX j ON big (x);\nCOMMIT;\n";
        assert_eq!(
            kept(lock, false),
            [(0, 4, vec![(2, Keep::ExplicitLock("LOCK TABLE parent".into()))])],
            "LOCK to COMMIT: all of it"
        );
        assert!(
            kept(&lock.replace("BEGIN;\n", "").replace("COMMIT;\n", ""), false).is_empty(),
            "autocommit: held for no other statement"
        );
        // A trigger or row security turned off for the transaction's row work: its lock keeps
        // other sessions' writes out until the COMMIT (found by a probe: split, they went
        // unaudited while the batches ran).
        for (off, what) in [
            ("DISABLE TRIGGER items_audit", "DISABLE TRIGGER"),
            ("DISABLE ROW LEVEL SECURITY", "DISABLE ROW LEVEL SECURITY"),
            ("NO FORCE ROW LEVEL SECURITY", "NO FORCE ROW LEVEL"),
        ] {
            let on = off.replace("DISABLE", "ENABLE").replace("NO FORCE", "FORCE");
            let draft = format!(
                "BEGIN;\nALTER TABLE items {off};\nUPDATE items SET name = 'x';\nALTER TABLE items {on};\nCOMMIT;\n"
            );
            let why = Keep::ExplicitLock(format!("ALTER TABLE items {what}"));
            assert_eq!(kept(&draft, false), [(0, 4, vec![(1, why)])], "{draft}");
        }
        let enable = "BEGIN;\nALTER TABLE items ENABLE TRIGGER a;\nUPDATE items SET name = 'x';\nCOMMIT;\n";
        assert!(kept(enable, false).is_empty());
        // SET TRANSACTION in a draft with no BEGIN of its own: perhaps in its tool's transaction,
        // so to the end; in a draft that opens its own elsewhere, a step of its own (it does nothing).
        let modes = "SET TRANSACTION READ ONLY;\nCREATE INDEX j ON big (x);\n";
        assert_eq!(kept(modes, false), [(0, 1, vec![(0, Keep::TransactionModes)])]);
        let inert = format!("{modes}BEGIN;\nCOMMIT;\n");
        assert_eq!(kept(&inert, false), [(0, 0, vec![(0, Keep::Inert("SET TRANSACTION".into()))])]);
        // A savepoint there PostgreSQL refuses (the draft stops at it): each statement alone, as
        // written, not one transaction in which the ROLLBACK TO would undo the SET (fuzzing).
        let stray = "BEGIN;\nCOMMIT;\nSAVEPOINT s;\nSET lock_timeout = '1s';\nROLLBACK TO SAVEPOINT s;\n";
        let m = Migration::split_and_lower(stray).unwrap();
        let shapes: Vec<_> = regions(&m, false).into_iter().map(|r| (r.first, r.last, r.shape, r.why)).collect();
        let refused = |i: usize, what: &str| (i, i, Shape::AsWritten, vec![(i, Keep::Refused(what.into()))]);
        assert_eq!(shapes, [refused(2, "SAVEPOINT"), refused(4, "ROLLBACK TO SAVEPOINT")]);
        // So are LOCK TABLE and a cursor without WITH HOLD there (found by a probe); a cursor
        // WITH HOLD outlives its transaction and may be declared outside one.
        let locks = "BEGIN;\nCOMMIT;\nLOCK TABLE t;\nDECLARE c CURSOR FOR SELECT 1;\nDECLARE h CURSOR WITH HOLD FOR SELECT 1;\n";
        let m = Migration::split_and_lower(locks).unwrap();
        let shapes: Vec<_> = regions(&m, false).into_iter().map(|r| (r.first, r.last, r.shape, r.why)).collect();
        assert_eq!(shapes, [refused(2, "LOCK TABLE"), refused(3, "DECLARE CURSOR")]);
        // In a draft with no BEGIN of its own (perhaps its tool's transaction), or inside the
        // draft's transaction, the savepoint still keeps what it encloses.
        let own = "BEGIN;\nSAVEPOINT s;\nSET lock_timeout = '1s';\nROLLBACK TO SAVEPOINT s;\nCOMMIT;\n";
        for enclosed in [&stray.replace("BEGIN;\nCOMMIT;\n", ""), own] {
            let m = Migration::split_and_lower(enclosed).unwrap();
            let why: Vec<_> = regions(&m, false).into_iter().flat_map(|r| r.why).map(|(_, w)| w).collect();
            assert_eq!(why, [Keep::Savepoint("s".into())], "{enclosed}");
        }
        let declared =
            format!("ALTER TABLE child ADD FOREIGN KEY (p) REFERENCES parent DEFERRABLE INITIALLY DEFERRED;\n{txn}");
        // From the first write to the COMMIT, which reaches the transaction's end, so all of it.
        assert_eq!(kept(&declared, false), [(1, 6, vec![(3, Keep::InitiallyDeferred)])]);
        assert_eq!(kept(txn, true), [(0, 5, vec![(2, Keep::InitiallyDeferred)])], "declared in --schema");
        assert!(kept(txn, false).is_empty(), "nothing deferred");
        // Declared after the transaction, or only INITIALLY IMMEDIATE, or outside any transaction
        // (each statement commits on its own): nothing to keep.
        let after = format!("{txn}CREATE CONSTRAINT TRIGGER t AFTER INSERT ON c INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION f();\n");
        assert!(kept(&after, false).is_empty());
        let immediate = declared.replace("INITIALLY DEFERRED", "INITIALLY IMMEDIATE");
        assert!(kept(&immediate, false).is_empty());
        let autocommit = declared.replace("BEGIN;\n", "").replace("COMMIT;\n", "");
        assert!(kept(&autocommit, false).is_empty());
        // In the migration tool's transaction (dbmate's): to the end of the file.
        let dbmate = format!("-- migrate:up\n{}", autocommit);
        assert_eq!(kept(&dbmate, false), [(2, 4, vec![(2, Keep::InitiallyDeferred)])]);
        // Two statements of one transaction read its start time: from the first to the COMMIT,
        // so all of it.
        let stamps = "BEGIN;\nALTER TABLE t ADD COLUMN at timestamptz DEFAULT now();\nCREATE INDEX i ON t (c);\n\
                      UPDATE t SET note = 'x' WHERE at = now();\nCOMMIT;\n";
        assert_eq!(kept(stamps, false), [(0, 4, vec![(1, Keep::TransactionTime)])]);
        let one = stamps.replace("DEFAULT now()", "DEFAULT '2024-01-01'");
        assert!(kept(&one, false).is_empty(), "one reader agrees with nothing");
        let apart = stamps.replace("CREATE INDEX i ON t (c);\n", "COMMIT;\nBEGIN;\n");
        assert!(kept(&apart, false).is_empty(), "two transactions: two times in the draft too");
        assert!(kept(&stamps.replace("BEGIN;\n", "").replace("COMMIT;\n", ""), false).is_empty(), "autocommit");
    }

    #[test]
    fn a_session_lock_a_row_lock_or_a_seed_keeps_what_relies_on_it_in_one_step() {
        let kept = |src: &str| {
            let m = Migration::split_and_lower(src).unwrap();
            regions(&m, false).iter().map(|r| (r.first, r.last, r.shape)).collect::<Vec<_>>()
        };
        // A session advisory lock (a migration mutex) to its unlock, the draft's statements
        // committing one by one as written (found by a probe: the lock ended with the first step
        // and the unlock warned "you don't own a lock").
        let mutex = "SELECT pg_advisory_lock(4242);\nALTER TABLE orders ADD COLUMN region text;\n\
                     CREATE INDEX orders_region_idx ON orders (region);\nUPDATE orders SET region = 'eu' WHERE id % 2 = 0;\n\
                     SELECT pg_advisory_unlock(4242);\nCREATE INDEX orders_note_idx ON orders (note);\n";
        assert_eq!(kept(mutex), [(0, 4, Shape::AsWritten)]);
        assert_eq!(kept(&mutex.replace("pg_advisory_unlock(4242)", "1")), [(0, 5, Shape::AsWritten)], "no unlock");
        assert_eq!(
            kept(&mutex.replace("pg_advisory_lock(", "pg_try_advisory_lock_shared(")),
            [(0, 5, Shape::AsWritten)]
        );
        // A locking clause in a transaction: its rows stay locked to the COMMIT, so all of it.
        let rows = "BEGIN;\nSELECT id FROM users WHERE tenant_id = 3 FOR UPDATE;\n\
                    UPDATE users SET score = score + 10 WHERE tenant_id = 3;\nCREATE INDEX users_tenant_idx ON users (tenant_id);\nCOMMIT;\n";
        assert_eq!(kept(rows), [(0, 4, Shape::WholeTransaction)]);
        assert_eq!(kept(&rows.replace("FOR UPDATE", "FOR NO KEY UPDATE")), [(0, 4, Shape::WholeTransaction)]);
        assert!(kept(&rows.replace("BEGIN;\n", "").replace("COMMIT;\n", "")).is_empty(), "autocommit");
        // setseed: what random() draws after it, to the end.
        let seed = "ALTER TABLE users ADD COLUMN bucket integer;\nSELECT setseed(0.42);\n\
                    UPDATE users SET bucket = floor(random() * 10);\nCREATE INDEX users_bucket_idx ON users (bucket);\n";
        assert_eq!(kept(seed), [(1, 3, Shape::InsideTransaction)]);
    }

    #[test]
    fn the_tools_transaction_keeps_what_holds_only_in_one() {
        let shapes = |src: &str, tool: bool| {
            let mut m = Migration::split_and_lower(src).unwrap();
            if tool {
                m.run_in_the_tools_transaction();
            }
            regions(&m, false).iter().map(|r| (r.first, r.last, r.shape)).collect::<Vec<_>>()
        };
        // now() read twice, with no BEGIN: under psql two transactions, under sqlx (`--runner`)
        // one, which the plan must keep.
        let stamps = "UPDATE t SET at = now();\nCREATE INDEX i ON t (c);\nINSERT INTO log SELECT now();\n";
        assert!(shapes(stamps, false).is_empty());
        assert_eq!(shapes(stamps, true), [(0, 2, Shape::InsideTransaction)]);
        // Not where a statement refuses a transaction block: the tool cannot run it in one.
        assert!(shapes(&format!("{stamps}VACUUM t;\n"), true).is_empty());
        // A temporary table emptied (or dropped) at each commit: statements that commit one by
        // one under psql, a transaction step in the tool's (goose's) transaction, until a COMMIT
        // of the draft's own ends that.
        let temp = "CREATE TEMP TABLE b (id int) ON COMMIT DELETE ROWS;\nINSERT INTO b VALUES (1);\n\
                    UPDATE t SET c = 1 WHERE id IN (SELECT id FROM b);\n";
        assert_eq!(shapes(temp, false), [(0, 2, Shape::AsWritten)]);
        assert_eq!(shapes(temp, true), [(0, 2, Shape::InsideTransaction)]);
        assert_eq!(shapes(&format!("-- +goose Up\n{temp}"), false), [(0, 2, Shape::InsideTransaction)]);
        assert_eq!(shapes(&format!("-- +goose Up\nCOMMIT;\n{temp}"), false), [(1, 3, Shape::AsWritten)]);
    }

    #[test]
    fn a_change_to_how_a_table_takes_writes_keeps_what_a_split_would_expose() {
        let kept = |src: &str, tool: bool| {
            let mut m = Migration::split_and_lower(src).unwrap();
            if tool {
                m.run_in_the_tools_transaction();
            }
            regions(&m, false).into_iter().map(|r| (r.first, r.last, r.shape, r.why)).collect::<Vec<_>>()
        };
        let why = |table: &str, change: &'static str, split: &'static str, split_at: usize| Keep::WritesChanged {
            table: table.into(),
            change,
            split,
            split_at,
        };
        // A key dropped, then its replacement built (found by a probe: a duplicate written after
        // the drop committed failed the concurrent build, leaving neither key).
        let swap = "BEGIN;\nALTER TABLE products DROP CONSTRAINT IF EXISTS products_sku_key;\n\
                    ALTER TABLE products ADD CONSTRAINT products_sku_cat_key UNIQUE (sku, category);\nCOMMIT;\n";
        let products = why("products", "DROP CONSTRAINT", "ADD CONSTRAINT", 2);
        assert_eq!(kept(swap, false), [(1, 2, Shape::InsideTransaction, vec![(1, products.clone())])]);
        assert!(kept(&swap.replace("BEGIN;\n", "").replace("COMMIT;\n", ""), false).is_empty(), "autocommit");
        assert_eq!(kept(&swap.replace("BEGIN;\n", "").replace("COMMIT;\n", ""), true).len(), 1, "tool's transaction");
        let one = "ALTER TABLE products DROP CONSTRAINT products_sku_key, ADD CONSTRAINT k UNIQUE (sku, category);\n";
        assert!(kept(&format!("BEGIN;\n{one}COMMIT;\n"), false).is_empty(), "one statement: built first, then swapped");
        let other = swap
            .replace("ADD CONSTRAINT products_sku_cat_key", "ADD CONSTRAINT x")
            .replace("TABLE products ADD", "TABLE orders ADD");
        assert!(kept(&other, false).is_empty(), "another table's key");
        let fill = swap.replace(
            "ALTER TABLE products ADD CONSTRAINT products_sku_cat_key UNIQUE (sku, category)",
            "UPDATE products SET sku = upper(sku)",
        );
        assert!(kept(&fill, false).is_empty(), "a fill after a drop fails on nothing traffic writes");
        let unknown = "BEGIN;\nDROP INDEX somewhere_idx;\nALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);\nCREATE UNIQUE INDEX u ON t (x);\nCOMMIT;\n";
        assert_eq!(
            kept(unknown, false)[0].0..=kept(unknown, false)[0].1,
            1..=3,
            "an index pgsafe cannot tell: any key"
        );
        // A unique index the draft built, dropped, then another built: kept; a plain one is not.
        let index = "CREATE UNIQUE INDEX a_uq ON accounts (name);\nBEGIN;\nDROP INDEX a_uq;\n\
                     CREATE UNIQUE INDEX a_lower_uq ON accounts (lower(name));\nCOMMIT;\n";
        assert_eq!(
            kept(index, false),
            [(2, 3, Shape::InsideTransaction, vec![(2, why("accounts", "DROP INDEX", "CREATE UNIQUE INDEX", 3))])]
        );
        assert!(kept(&index.replacen("CREATE UNIQUE INDEX a_uq", "CREATE INDEX a_uq", 1), false).is_empty());
        // A fill, then a default or a trigger that the rows written meanwhile would have had.
        let fill = "BEGIN;\nALTER TABLE users ADD COLUMN locale text;\nUPDATE users SET locale = 'en';\n\
                    ALTER TABLE users ALTER COLUMN locale SET NOT NULL;\nALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en';\nCOMMIT;\n";
        assert_eq!(
            kept(fill, false),
            [(2, 4, Shape::InsideTransaction, vec![(4, why("users", "SET DEFAULT", "UPDATE", 2))])]
        );
        let trigger = fill.replace(
            "ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en'",
            "CREATE TRIGGER sync BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION sync()",
        );
        assert_eq!(
            kept(&trigger, false),
            [(2, 4, Shape::InsideTransaction, vec![(4, why("users", "CREATE TRIGGER", "UPDATE", 2))])]
        );
        let enable = fill
            .replace("ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en'", "ALTER TABLE users ENABLE TRIGGER sync");
        assert_eq!(kept(&enable, false)[0].3, [(4, why("users", "ENABLE TRIGGER", "UPDATE", 2))]);
        // The common shapes stay rewritten: no change to how the table takes writes, a change
        // before the fill, an index beside a default, a table the draft creates.
        let plain = fill.replace("ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en';\n", "");
        assert!(kept(&plain, false).is_empty(), "{plain}");
        let first = "BEGIN;\nALTER TABLE users ADD COLUMN locale text;\nALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en';\n\
                     UPDATE users SET locale = 'en';\nCOMMIT;\n";
        assert!(kept(first, false).is_empty(), "the default first: the fill sees it");
        let instant = "BEGIN;\nALTER TABLE b ADD COLUMN d boolean NOT NULL DEFAULT true;\nALTER TABLE b ALTER COLUMN d SET DEFAULT false;\nCOMMIT;\n";
        assert!(kept(instant, false).is_empty(), "a constant default: one catalogue change");
        let index = "BEGIN;\nALTER TABLE users ADD COLUMN x int;\nCREATE INDEX ON users (x);\nALTER TABLE users ALTER COLUMN x SET DEFAULT 0;\nCOMMIT;\n";
        assert!(kept(index, false).is_empty());
        let new = format!(
            "CREATE TABLE products (sku text, category text, CONSTRAINT products_sku_key UNIQUE (sku));\n{swap}"
        );
        assert!(kept(&new, false).is_empty(), "no traffic on a new table");
        assert!(kept(&fill.replace("BEGIN;\n", "").replace("COMMIT;\n", ""), false).is_empty(), "autocommit");
    }

    #[test]
    fn a_gset_keeps_the_draft_in_one_step_to_the_last_use_of_a_variable() {
        let src = "SELECT max(id) AS m FROM t \\gset\nCREATE INDEX i ON t (c);\nUPDATE t SET c = 0 WHERE id <= :m;\n\
                   CREATE INDEX j ON t (d);\n";
        let m = Migration::split_and_lower(src).unwrap();
        let found = regions(&m, false);
        assert_eq!(found.iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(), [(0, 2)], "{found:?}");
        // No variable used after it: nothing to keep.
        let m = Migration::split_and_lower("SELECT 1 AS m \\gset\nCREATE INDEX i ON t (c);\n").unwrap();
        assert!(regions(&m, false).is_empty());
    }
}
