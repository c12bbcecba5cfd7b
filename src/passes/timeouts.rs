//! `timeouts`: every step that takes a lock blocking reads or writes on a table with traffic gets
//! `SET LOCAL lock_timeout` and `statement_timeout` (`SET`, for the step's session, where the
//! statement cannot run in a transaction block), unless the draft already set a `lock_timeout`
//! for it.
//!
//! Why: a statement waiting for its lock (behind a long transaction) makes every later query on the
//! table queue behind it. `lock_timeout` bounds that wait: the step fails fast and can be retried,
//! instead of taking the application down. Steps that legitimately run long without blocking traffic
//! (concurrent builds, `VALIDATE`) get no short timeout: the planner gives them `statement_timeout = 0`.

use super::{Ctx, Mode, Phase, Region, Rewritten, Shape, Unit};
use crate::ir::code_locks::RunsCode;
use crate::ir::lock::LockUse;
use crate::ir::migration::{Migration, Stmt};
use crate::ir::name::Name;
use crate::ir::op::{
    OpKind, Psql, MOVE_ALL_INDEXES, MOVE_ALL_MATERIALIZED_VIEWS, MOVE_ALL_TABLES, MOVE_MATERIALIZED_VIEW, MOVE_VIEW,
};
use crate::ir::savepoints::Savepoints;
use std::collections::HashMap;

pub const RULE: &str = "timeouts";

/// The timeouts in force (the session's, the draft transaction's `SET LOCAL`) where a walk over
/// the draft has come to: carried from one window of statements to the next.
pub struct Timeouts {
    /// Whether the session's lock_timeout bounds a lock wait, and what a SET LOCAL of the current
    /// transaction block made of it (which overrides the session's until the block ends).
    session_timeout: bool,
    local_timeout: Option<bool>,
    /// The draft itself turned the session's off (`SET lock_timeout = 0`).
    session_off: bool,
    /// The draft runs outside any transaction block but for its own.
    outside: bool,
    /// Inside a transaction block: the draft's own, or the one its migration tool runs it in. A
    /// draft with no BEGIN of its own may be run by a tool that wraps it in one (sqlx, Flyway, a
    /// plan step laid out for such a tool): its SET LOCAL may well work there.
    in_tx: bool,
    /// Inside a transaction block the draft opened with its own BEGIN.
    own_block: bool,
    /// What a rollback puts back: the session's timeout as the block's BEGIN found it, and at each
    /// savepoint the timeouts then in force (a `SET` made after either is undone with it).
    at_begin: (bool, bool),
    savepoints: Savepoints<(bool, bool, Option<bool>)>,
    /// The timeouts where each open psql `\if` began: a branch may not run, so where it ends a
    /// timeout is in force only if it is whether the branch ran or not.
    branches: Vec<(bool, bool, Option<bool>)>,
}

impl Timeouts {
    /// Where the draft starts.
    pub fn new(m: &Migration<'_>) -> Timeouts {
        let controls = m.stmts.iter().any(|s| s.ops.iter().any(|o| matches!(o.kind, OpKind::Begin)));
        let outside = !m.runner_transaction && controls;
        Timeouts {
            session_timeout: false,
            local_timeout: None,
            session_off: false,
            outside,
            in_tx: !outside,
            own_block: false,
            at_begin: (false, false),
            savepoints: Savepoints::default(),
            branches: Vec::new(),
        }
    }

    /// The rule on the statements of `ctx.window`, whose passes made the units from
    /// `first_generated` on.
    pub fn run(&mut self, ctx: &Ctx<'_, '_>, regions: &[Region], out: &mut Rewritten, first_generated: usize) {
        let mut generated: HashMap<usize, Vec<usize>> = HashMap::new();
        for u in first_generated..out.units.len() {
            generated.entry(out.units[u].stmt).or_default().push(u);
        }
        for list in generated.values_mut() {
            list.sort_by_key(|&u| out.units[u].sub);
        }
        for (i, s) in ctx.stmts() {
            self.statement(ctx, regions, out, &mut generated, i, s);
        }
    }

    fn statement(
        &mut self,
        ctx: &Ctx<'_, '_>,
        regions: &[Region],
        out: &mut Rewritten,
        generated: &mut HashMap<usize, Vec<usize>>,
        i: usize,
        s: &Stmt,
    ) {
        let m = ctx.m;
        let Timeouts {
            session_timeout,
            local_timeout,
            session_off,
            outside,
            in_tx,
            own_block,
            at_begin,
            savepoints,
            branches,
        } = self;
        let (outside, in_tx, own_block, at_begin) = (*outside, in_tx, own_block, at_begin);
        // A stretch kept exactly as written runs in autocommit, outside any tool's transaction:
        // there only the draft's own BEGIN opens one.
        let as_written = ctx.kept[i].is_some_and(|k| regions[k].shape == Shape::AsWritten);
        let inert = !(*in_tx && (*own_block || !as_written))
            && s.section == crate::ir::migration::Section::Up
            && !s.ops.is_empty()
            && s.ops.iter().all(|o| matches!(o.kind, OpKind::Set { local: true, .. }));
        if inert {
            out.units[i].inert_setting = true;
            out.diagnose(
                RULE,
                s.body.start,
                "SET LOCAL outside a transaction block does nothing (PostgreSQL only warns): it sets no timeout \
                 here, and the plan keeps it where it does nothing too; use SET for the session, or put it after BEGIN"
                    .into(),
            );
        }
        // A down section's statements never run with the up section's.
        let up = s.section == crate::ir::migration::Section::Up;
        for op in s.ops.iter().filter(|_| up) {
            // A `SET`, `RESET` or `RESET ALL` of lock_timeout.
            if let Some((value, local)) = op.kind.setting("lock_timeout") {
                let on = !is_zero(value);
                // Even a SET LOCAL that does nothing here turns the bound off in a step that runs
                // it in a transaction block (a stretch kept as written).
                out.units[i].lock_timeout_off |= !on;
                match (inert, local) {
                    (true, _) => {}
                    // Outside the draft's own block, under psql (no tool named, detected or
                    // marked), it does nothing: it bounds no wait (a probe's ALTER waited 2.9 s).
                    (false, true) if on && !*own_block && !m.runner_transaction && ctx.config.runs_under_psql => {}
                    (false, true) => *local_timeout = Some(on),
                    // SET in a transaction block overrides its SET LOCAL too.
                    (false, false) => (*session_timeout, *session_off, *local_timeout) = (on, !on, None),
                }
                continue;
            }
            match &op.kind {
                // A BEGIN inside the draft's own transaction block starts nothing (PostgreSQL
                // only warns): the block's SET LOCALs stay in force.
                OpKind::Begin if !*own_block => {
                    *local_timeout = None;
                    *in_tx = true;
                    *own_block = true;
                    *at_begin = (*session_timeout, *session_off);
                    savepoints.clear();
                }
                OpKind::Commit { rollback } => {
                    if *rollback && *own_block {
                        (*session_timeout, *session_off) = *at_begin;
                    }
                    *local_timeout = None;
                    *in_tx = !outside;
                    *own_block = false;
                    savepoints.clear();
                }
                OpKind::Savepoint { name, action } if *in_tx => {
                    let now = || (*session_timeout, *session_off, *local_timeout);
                    if let Some(back) = savepoints.run(name, *action, now) {
                        (*session_timeout, *session_off, *local_timeout) = back;
                    }
                }
                OpKind::Psql(Psql::If) => branches.push((*session_timeout, *session_off, *local_timeout)),
                OpKind::Psql(Psql::Else | Psql::EndIf) => {
                    let Some(&before) = branches.last() else { continue };
                    (*session_timeout, *session_off, *local_timeout) =
                        on_both_paths(before, (*session_timeout, *session_off, *local_timeout));
                    if matches!(op.kind, OpKind::Psql(Psql::EndIf)) {
                        branches.pop();
                    }
                }
                _ => {}
            }
        }
        let (session_timeout, session_off, local_timeout) = (*session_timeout, *session_off, *local_timeout);
        if s.section != crate::ir::migration::Section::Up || !ctx.applies(RULE, i) {
            return;
        }
        if out.units[i].mode == Mode::Autocommit && session_timeout && s.ops.iter().any(|o| o.kind.is_concurrent()) {
            // The planner runs concurrent steps with lock_timeout = 0.
            out.units[i].rules.push(RULE);
            out.change(
                RULE,
                s.body.start,
                "run this concurrent statement with lock_timeout = 0: it waits for every older transaction, and a \
                 timeout would leave an INVALID index behind"
                    .into(),
            );
            return;
        }
        // Generated units of a recipe around this statement, then the statement itself.
        let mut units: Vec<usize> = generated.remove(&i).unwrap_or_default();
        units.push(i);
        for u in units {
            let unit = &mut out.units[u];
            // A statement that cannot run in a transaction block and is not a concurrent build
            // (`VACUUM FULL`, `CLUSTER`) queues for its lock like any other: session timeouts.
            let autocommit_as_written = unit.mode == Mode::Autocommit && !unit.long_running;
            // A `REFRESH MATERIALIZED VIEW CONCURRENTLY` runs as a `VALIDATE` does: its lock
            // blocks no ordinary traffic, and a short statement_timeout would cancel the refresh.
            let harmless = unit.generated.is_none() && s.runs_long_without_blocking();
            if !(unit.mode == Mode::Transaction || autocommit_as_written)
                || unit.phase != Phase::Main
                || unit.validate_now
                || harmless
            {
                continue;
            }
            let Some(k) = blocking_lock(unit, |t| m.created_before(t, i)) else {
                // A statement pgsafe could not read may take any lock: it waits under the
                // timeouts too, though nobody can say on what.
                let unread = s.ops.iter().any(|o| matches!(o.kind, OpKind::Opaque { risky: true }));
                if unread && unit.generated.is_none() && !local_timeout.unwrap_or(session_timeout) {
                    unit.needs_timeouts = true;
                    // How long it runs nobody can tell either: to its end, as in the draft.
                    unit.lock_wait_only = true;
                    unit.rules.push(RULE);
                    out.change(
                        RULE,
                        s.body.start,
                        format!(
                            "run under lock_timeout = '{}': pgsafe could not read this statement, which may take a \
                             strong lock on a table, and while it waits for one every read and write on the table \
                             queues behind it; no statement_timeout: pgsafe cannot tell how long it runs, so it runs \
                             to its end, as in the draft",
                            ctx.config.lock_timeout
                        ),
                    );
                }
                continue;
            };
            unit.blocking = Some(k as u32);
            let lock = unit.locks[k].clone();
            if local_timeout.unwrap_or(session_timeout) {
                continue;
            }
            unit.needs_timeouts = true;
            if unit.generated.is_some() {
                // The recipe that generated it already explained itself.
                continue;
            }
            unit.rules.push(RULE);
            let turned_off = local_timeout.map_or(session_off, |on| !on);
            let wait_only = unit.lock_wait_only;
            let code = wait_only && s.runs_code.is_some();
            let taker = match &s.runs_code {
                Some(RunsCode::Block) if code => "the code of this block (read from its words) takes".to_string(),
                Some(RunsCode::Calls(k)) if code => {
                    let f = &m.called[*k as usize].function;
                    format!("the code of {f}, which this calls (read from where the draft creates it), takes")
                }
                _ => "this takes".to_string(),
            };
            out.change(
                RULE,
                s.body.start,
                format!(
                    "run under lock_timeout = '{}': {taker} {} on {}, and while it waits for that lock {} queues behind it{}{}",
                    ctx.config.lock_timeout,
                    lock.mode,
                    lock.table.text,
                    traffic(s, &lock),
                    if turned_off {
                        " (the draft turned lock_timeout off before it, to wait without limit: the plan sets it again after that)"
                    } else {
                        ""
                    },
                    match (code, wait_only) {
                        (true, _) => "; no statement_timeout: pgsafe cannot tell how long its code runs, so it runs to its end, as in the draft",
                        (false, true) => "; no statement_timeout: it scans the new partition (and the default partition, if any) for as long as the draft's statement does, which pgsafe cannot tell",
                        (false, false) => "",
                    }
                ),
            );
        }
    }
}

/// What queues behind `lock` of statement `s` while it waits: the traffic of a table, a sequence
/// (each `nextval` holds ROW EXCLUSIVE on it) or a view.
fn traffic(s: &Stmt, lock: &LockUse) -> &'static str {
    let what = s.ops.iter().find(|o| o.locks.contains(lock)).and_then(|o| match &o.kind {
        OpKind::Other { what } => Some(what.as_str()),
        OpKind::RefreshMaterializedView { .. } => Some("REFRESH MATERIALIZED VIEW"),
        _ => None,
    });
    match what {
        Some("ALTER SEQUENCE" | "DROP SEQUENCE") => "every nextval of the sequence (each insert that draws from it)",
        Some(
            "ALTER VIEW"
            | "REFRESH MATERIALIZED VIEW"
            | "DROP VIEW"
            | "DROP MATERIALIZED VIEW"
            | "CREATE OR REPLACE VIEW"
            | "ALTER MATERIALIZED VIEW"
            | MOVE_VIEW
            | MOVE_MATERIALIZED_VIEW,
        ) if lock.mode.blocks_reads() => "every query of the view",
        Some(MOVE_ALL_INDEXES) => "every read and write of their tables, which open their indexes,",
        Some(MOVE_ALL_TABLES) => "every read and write of those tables",
        Some(MOVE_ALL_MATERIALIZED_VIEWS) => "every query of those views",
        _ if lock.mode.blocks_reads() => "every read and write on the table",
        _ => "every write on the table",
    }
}

/// The timeouts (session's on, session's turned off, the block's `SET LOCAL`) after a psql branch
/// that ran or did not: a bound only where both paths have one.
fn on_both_paths(a: (bool, bool, Option<bool>), b: (bool, bool, Option<bool>)) -> (bool, bool, Option<bool>) {
    let bounded = |(session, _, local): (bool, bool, Option<bool>)| local.unwrap_or(session);
    let local = (a.2.is_some() || b.2.is_some()).then(|| bounded(a) && bounded(b));
    (a.0 && b.0, a.1 || b.1, local)
}

/// Which of a unit's locks is the strongest that blocks writes on a table with traffic (ties: the
/// first, which is the statement's own table).
fn blocking_lock(unit: &Unit, is_new: impl Fn(&Name) -> bool) -> Option<usize> {
    let blocking = unit.locks.iter().enumerate().filter(|(_, l)| !is_new(&l.table) && l.mode.blocks_writes());
    blocking.rev().max_by_key(|(_, l)| l.mode).map(|(k, _)| k)
}

/// The `statement_timeout` the draft itself has in force at each statement (before the
/// statement's own settings), where that is not zero; an empty list for a draft that sets none.
///
/// A rewrite that runs a statement's work without it (a concurrent build, a `VALIDATE`, a batched
/// loop: their steps set `statement_timeout = 0`) would run to its end what the draft cancels.
/// Read so as to miss no bound: a `SET LOCAL` bounds to the end of its transaction (also where a
/// tool's transaction may hold it), and a setting of zero inside a psql `\if` branch or after a
/// savepoint (which a rollback may undo) does not lift the bound. At worst a statement stays as
/// written.
pub fn draft_statement_timeouts<'m>(m: &'m Migration<'_>) -> Vec<Option<&'m str>> {
    let up = |s: &&Stmt| s.section == crate::ir::migration::Section::Up;
    let sets = |s: &Stmt| s.ops.iter().any(|o| o.kind.setting("statement_timeout").is_some());
    if !m.stmts.iter().filter(up).any(sets) {
        return Vec::new();
    }
    // Outside its own BEGIN … COMMIT, a draft that has one runs in autocommit: a SET LOCAL there
    // does nothing.
    let outside =
        !m.runner_transaction && m.stmts.iter().any(|s| s.ops.iter().any(|o| matches!(o.kind, OpKind::Begin)));
    let (mut session, mut local, mut at_begin): (Option<&str>, Option<Option<&str>>, Option<&str>) = (None, None, None);
    let (mut in_block, mut savepoint, mut branches) = (false, false, 0usize);
    let mut in_force = Vec::with_capacity(m.stmts.len());
    for s in &m.stmts {
        in_force.push(local.unwrap_or(session));
        if !up(&s) {
            continue;
        }
        for op in &s.ops {
            if let Some((value, is_local)) = op.kind.setting("statement_timeout") {
                let value = (!is_zero(value)).then_some(value);
                if value.is_none() && (branches > 0 || savepoint) {
                    continue;
                }
                match is_local {
                    true if in_block || !outside => local = Some(value),
                    true => {}
                    false => (session, local) = (value, None),
                }
                continue;
            }
            match op.kind {
                OpKind::Begin if !in_block => (in_block, local, at_begin) = (true, None, session),
                OpKind::Commit { rollback } => {
                    if rollback && in_block && !savepoint {
                        session = at_begin;
                    }
                    (in_block, local, savepoint) = (false, None, false);
                }
                OpKind::Savepoint { .. } if in_block => savepoint = true,
                OpKind::Psql(Psql::If) => branches += 1,
                OpKind::Psql(Psql::EndIf) => branches = branches.saturating_sub(1),
                _ => {}
            }
        }
    }
    in_force
}

/// `0`, `'0'`, `'0s'`, `DEFAULT`: no timeout. PostgreSQL rounds a time to its unit, milliseconds,
/// so `'100us'` and `'0.4ms'` turn the timeout off too (`SHOW lock_timeout` says `0`).
fn is_zero(value: &str) -> bool {
    let v = value.trim().trim_matches('\'').trim().to_lowercase();
    if v.is_empty() || v == "default" {
        return true;
    }
    let unit_at = v.find(|c: char| c.is_ascii_alphabetic() && c != 'e').unwrap_or(v.len());
    let (number, unit) = v.split_at(unit_at);
    let ms = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return false,
    };
    number.trim().parse::<f64>().is_ok_and(|n| (n * ms).round_ties_even() == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The draft's own statement_timeout in force at each statement of `src` (`-` where none).
    fn in_force(src: &str) -> Vec<String> {
        let m = Migration::split_and_lower(src).unwrap();
        let timeouts = draft_statement_timeouts(&m);
        (0..m.stmts.len()).map(|i| timeouts.get(i).copied().flatten().unwrap_or("-").to_string()).collect()
    }

    #[test]
    fn a_time_rounded_to_zero_milliseconds_is_no_timeout() {
        for zero in ["0", "'0'", "'0s'", "DEFAULT", "''", "'100us'", "'0.4ms'", "'0 min'"] {
            assert!(is_zero(zero), "{zero}");
        }
        for some in ["'1ms'", "'0.6ms'", "100", "'1s'", "'2min'", "'1e3'", "'5 s'", "'1 fortnight'"] {
            assert!(!is_zero(some), "{some}");
        }
    }

    #[test]
    fn a_sequence_the_draft_created_has_no_traffic_to_wait_for() {
        // A probe: every pg_dump sequence's `OWNER TO` and `OWNED BY` got timeouts worded as table
        // traffic, and a commit of its own (a dump became 7 steps).
        let draft = "CREATE TABLE t (id int);\nCREATE SEQUENCE s2;\nALTER TABLE s2 OWNER TO postgres;\n\
                     ALTER SEQUENCE s2 OWNED BY t.id;\nCREATE TABLE u (id serial);\nALTER SEQUENCE u_id_seq RESTART 5;\n";
        let c = crate::compile("d.sql", draft, &crate::Config::default()).unwrap();
        assert!(c.changes.is_empty() && c.diagnostics.is_empty(), "{:?} {:?}", c.changes, c.diagnostics);
        // A sequence the draft did not create keeps them.
        let c = crate::compile("d.sql", "ALTER SEQUENCE s2 OWNED BY t.id;\n", &crate::Config::default()).unwrap();
        assert!(c.changes.iter().any(|ch| ch.rule == RULE), "{:?}", c.changes);
    }

    #[test]
    fn a_draft_that_sets_no_statement_timeout_has_an_empty_list() {
        let m = Migration::split_and_lower("SET lock_timeout = '1s';\nCREATE INDEX i ON t (a);\n").unwrap();
        assert!(draft_statement_timeouts(&m).is_empty());
    }

    #[test]
    fn the_draft_statement_timeout_bounds_what_follows_it_until_it_is_lifted() {
        let src = "CREATE INDEX a ON t (a);\nSET statement_timeout = '1s';\nCREATE INDEX b ON t (b);\n\
                   SET statement_timeout = 0;\nCREATE INDEX c ON t (c);\nSET statement_timeout TO '2min';\n\
                   RESET statement_timeout;\nCREATE INDEX d ON t (d);\n";
        assert_eq!(in_force(src), ["-", "-", "'1s'", "'1s'", "-", "-", "'2min'", "-"]);
    }

    #[test]
    fn a_set_local_bounds_its_transaction_and_a_rollback_undoes_a_set() {
        let src = "BEGIN;\nSET LOCAL statement_timeout = '1s';\nUPDATE t SET a = 1;\nCOMMIT;\nUPDATE t SET a = 2;\n\
                   BEGIN;\nSET statement_timeout = '3s';\nROLLBACK;\nUPDATE t SET a = 3;\n\
                   SET LOCAL statement_timeout = '4s';\nUPDATE t SET a = 4;\n";
        // Outside its own BEGIN … COMMIT, a draft that has one runs in autocommit: the last SET
        // LOCAL does nothing.
        assert_eq!(in_force(src), ["-", "-", "'1s'", "'1s'", "-", "-", "-", "'3s'", "-", "-", "-"]);
        // A draft without BEGIN may run in its tool's transaction: there a SET LOCAL bounds.
        assert_eq!(in_force("SET LOCAL statement_timeout = '4s';\nUPDATE t SET a = 4;\n"), ["-", "'4s'"]);
    }

    #[test]
    fn a_zero_that_may_not_hold_does_not_lift_the_bound() {
        // A psql branch may not run; a rollback to a savepoint undoes what follows it.
        let src = "SET statement_timeout = '1s';\n\\if :lift\nSET statement_timeout = 0;\n\\endif\nUPDATE t SET a = 1;\n\
                   BEGIN;\nSAVEPOINT s;\nSET statement_timeout = 0;\nROLLBACK TO SAVEPOINT s;\nUPDATE t SET a = 2;\nCOMMIT;\n";
        let got = in_force(src);
        assert!(got[4..].iter().all(|t| t == "'1s'"), "{got:?}");
    }
}
