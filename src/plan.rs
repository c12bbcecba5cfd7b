//! Planning: group the rewritten units into *steps*. A step is one file and runs either in one
//! transaction or in autocommit.
//!
//! Rules: an autocommit unit gets a step of its own (a runner that sends a whole file as one query
//! would otherwise wrap it in an implicit transaction); a transaction step takes traffic-blocking
//! locks on one table only (several would be held as long as the slowest statement, and invite
//! deadlocks), and row work the draft ran after such a lock had committed starts a new step (the
//! lock would be held through it), as does such a lock after row work the draft committed first
//! (the work would run under the step's short `statement_timeout`); the draft's `COMMIT`s stay
//! boundaries; `VALIDATE` steps come after all others unless a
//! later statement could change what they find. Each step re-runs the draft's session settings
//! (`SET search_path …`) because each file is a new session.

use crate::ir::action::Action;
use crate::ir::lock::LockMode;
use crate::ir::migration::{Migration, Section};
use crate::ir::name::Name;
use crate::ir::op::{ConstraintKind, OpKind, Psql};
use crate::ir::savepoints::Savepoints;
use crate::passes::{Keep, Mode, Phase, Region, Rewritten, Shape, Unit};
use indexmap::IndexMap;
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMode {
    Transaction,
    Autocommit,
}

/// Which settings the planner adds to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeouts {
    /// Nothing added.
    None,
    /// `SET LOCAL lock_timeout` alone: the step runs what waits for its locks no longer than any
    /// step, and runs as long as it needs, as in the draft (`Unit::lock_wait_only`).
    LockOnly,
    /// `SET LOCAL lock_timeout`/`statement_timeout` to the configured short values.
    Short,
    /// Long-running but harmless to traffic: no lock or statement timeout.
    Unlimited,
}

impl Timeouts {
    /// The timeouts of a step that gains a unit needing them.
    fn bound_for(self, unit: &Unit) -> Timeouts {
        match self {
            Timeouts::None | Timeouts::LockOnly if unit.lock_wait_only => Timeouts::LockOnly,
            _ => Timeouts::Short,
        }
    }
}

/// A piece of a step's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A unit (index into `Rewritten::units`).
    Unit(usize),
    /// A session setting of the draft, re-run in a later file (statement index).
    Replay(usize),
    /// A `SET LOCAL` of the draft's transaction, re-run in a later step split from it: after the
    /// step's `BEGIN`, or as a session `SET` in an autocommit step (statement index).
    ReplayLocal(usize),
    /// Comments that belonged to a consumed `BEGIN`/`COMMIT`.
    Trivia(Range<usize>),
}

#[derive(Debug, Clone)]
pub struct Step {
    pub mode: StepMode,
    pub phase: Phase,
    pub timeouts: Timeouts,
    pub items: Vec<Item>,
    /// The table this step takes a traffic-blocking lock on, if any.
    pub locked: Option<Name>,
    /// Relations created by earlier steps that this step uses.
    pub created_earlier: Vec<String>,
    /// The draft's own text, unchanged: no transaction or timeout lines are added (but see
    /// `wrapped`).
    pub raw: bool,
    /// A raw step in the one transaction the draft's migration tool would run it in.
    pub wrapped: bool,
    /// The draft rolled this transaction back: the step ends in ROLLBACK, not COMMIT.
    pub rollback: bool,
    /// A stretch of the draft kept as written ([`Region`]), and why: nothing splits it.
    pub kept: Option<Keep>,
    /// The draft's statements exactly as written, its own `BEGIN`/`COMMIT` included (a kept
    /// region of [`Shape::AsWritten`]): no transaction lines are added; timeouts are session-level.
    pub as_written: bool,
}

impl Step {
    fn new(mode: StepMode, phase: Phase) -> Step {
        Step {
            mode,
            phase,
            timeouts: Timeouts::None,
            items: Vec::new(),
            locked: None,
            created_earlier: Vec::new(),
            raw: false,
            wrapped: false,
            rollback: false,
            kept: None,
            as_written: false,
        }
    }

    pub fn units(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().filter_map(|i| match i {
            Item::Unit(u) => Some(*u),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Statements of a goose/dbmate down section, kept verbatim and apart.
    pub down: Vec<usize>,
}

struct Builder {
    steps: Vec<Step>,
    open: Option<Step>,
    /// Set when the open step must take no more units (an enum value must commit first).
    sealed: bool,
    /// The open step holds row work of the draft (see [`does_row_work`]).
    rows: bool,
    carry: Vec<Item>,
    session_sets: Sets,
    local_sets: Sets,
    /// Settings statements carried into the next step as they are (not replayed there too).
    carried_sets: Vec<usize>,
    /// The region whose step is open, and the session settings from before it (restored after a
    /// region the draft rolls back: its `SET`s are undone with it).
    region: Option<(usize, Sets)>,
    /// The savepoints of the draft's open transaction, each with the settings (session, local)
    /// in force where it was set: a `ROLLBACK TO` undoes the `SET`s made after it.
    savepoints: Savepoints<(Sets, Sets)>,
    /// Whether a transaction block is open where each statement runs (see [`in_block_at`]).
    in_block: Vec<bool>,
    /// The draft's `SET LOCAL`s the open deferred-`VALIDATE` step replays.
    validate_locals: Sets,
    /// For a session `SET` that may interpolate a psql variable: the `\set`s in force where the
    /// draft ran it. Replayed before it where a later `\set` changed a variable since (`\set s
    /// billing`, `SET search_path = :s`, `\set s public`: each name's last alone set `public`).
    read_variables: HashMap<usize, Vec<usize>>,
}

/// Settings to run again in later steps: by name, the statement that made each.
type Sets = IndexMap<String, usize>;

impl Builder {
    fn close(&mut self) {
        if let Some(mut step) = self.open.take() {
            // Most steps hold one unit, and a vector's first push makes room for four: on a big
            // draft, a fifth of the plan's memory.
            step.items.shrink_to_fit();
            self.steps.push(step);
        }
        self.sealed = false;
        self.rows = false;
    }

    /// Open the one step of a region kept as written.
    fn enter(&mut self, regions: &[Region], k: usize) {
        self.close();
        self.region = Some((k, self.session_sets.clone()));
        let as_written = regions[k].shape == Shape::AsWritten;
        let step = self.start(if as_written { StepMode::Autocommit } else { StepMode::Transaction }, Phase::Main);
        step.kept = regions[k].why.first().map(|(_, w)| w.clone());
        step.as_written = as_written;
        // A transaction the draft never commits ends with the session: as its step, in ROLLBACK.
        step.rollback = regions[k].why.iter().any(|(_, w)| *w == Keep::NeverCommitted);
    }

    /// Close a region's step; after a rollback, forget the settings the region made.
    fn leave(&mut self, regions: &[Region]) {
        self.close();
        if let Some((k, before)) = self.region.take() {
            if regions[k].why.iter().any(|(_, w)| matches!(w, Keep::RolledBack | Keep::NeverCommitted)) {
                self.session_sets = rolled_back(&before, &self.session_sets);
            }
        }
    }

    /// The draft's transaction ended, or began: its `SET LOCAL`s and savepoints end with it.
    fn transaction_ends(&mut self) {
        self.local_sets.clear();
        self.savepoints.clear();
    }

    /// A unit of the open region: into its step, whatever its locks or phase.
    fn keep(&mut self, r: &Rewritten, u: usize) {
        let unit = &r.units[u];
        let step = self.open.as_mut().expect("a region's step is open");
        if unit.needs_timeouts {
            step.timeouts = step.timeouts.bound_for(unit);
        }
        if step.locked.is_none() {
            step.locked = unit.blocking_lock().map(|l| l.table.clone());
        }
        step.items.push(Item::Unit(u));
    }

    fn start(&mut self, mode: StepMode, phase: Phase) -> &mut Step {
        self.close();
        let mut step = Step::new(mode, phase);
        let carried = std::mem::take(&mut self.carried_sets);
        // In the draft's order: the last setting of each name, run as the draft ran them, ends
        // where the draft's did (a `RESET ALL` after a setting undoes it, not before).
        let in_order = |sets: &Sets| {
            let mut stmts: Vec<usize> = sets.values().copied().collect();
            stmts.sort_unstable();
            stmts
        };
        let session = in_order(&self.session_sets).into_iter().filter(|s| !carried.contains(s));
        for s in session {
            let read = self.read_variables.get(&s).into_iter().flatten();
            let changed_since = read.filter(|&v| !self.session_sets.values().any(|now| now == v));
            step.items.extend(changed_since.map(|&v| Item::Replay(v)));
            step.items.push(Item::Replay(s));
        }
        step.items.extend(in_order(&self.local_sets).into_iter().map(Item::ReplayLocal));
        step.items.append(&mut self.carry);
        self.open.insert(step)
    }

    /// A deferred `VALIDATE`: one transaction per table, no short timeouts. `locals`: the draft's
    /// `SET LOCAL`s in force where its constraint was added, which its step replays (its
    /// transaction ended before: a `search_path` set there says which table the `VALIDATE` names,
    /// and without it the step validated another table's constraint, or failed).
    fn validate(&mut self, r: &Rewritten, u: usize, locals: Sets) {
        let table = validated_table(r, u);
        let same = self.open.as_ref().is_some_and(|s| {
            s.phase == Phase::Validate
                && match (&s.locked, &table) {
                    (Some(a), Some(t)) => a.same(t),
                    _ => false,
                }
        }) && self.validate_locals == locals;
        if !same {
            let now = std::mem::replace(&mut self.local_sets, locals);
            let step = self.start(StepMode::Transaction, Phase::Validate);
            step.timeouts = Timeouts::Unlimited;
            step.locked = table;
            self.validate_locals = std::mem::replace(&mut self.local_sets, now);
        }
        if let Some(step) = self.open.as_mut() {
            step.items.push(Item::Unit(u));
        }
    }

    /// `validates`: the unit runs long under a lock that blocks no traffic (a `VALIDATE`, a
    /// concurrent refresh), in a step without short timeouts. It never shares a transaction with a
    /// traffic-blocking lock (which it would hold as long as it runs: its own `NOT VALID` add, say)
    /// or with what needs short timeouts. Within the draft's own transaction (`in_draft_tx`), what
    /// else blocks no traffic there may share its step (row work, another such unit): splitting
    /// that transaction would commit part of it where the draft rolls it all back. Elsewhere it
    /// runs alone, as the deferred ones do.
    fn push(&mut self, r: &Rewritten, u: usize, locked: Option<&Name>, validates: bool, in_draft_tx: bool) {
        let unit = &r.units[u];
        let harmless = locked.is_none() && !unit.needs_timeouts;
        let fits = !self.sealed
            && self.open.as_ref().is_some_and(|s| {
                s.mode == StepMode::Transaction
                    && match (&s.locked, locked) {
                        (Some(a), Some(b)) => a.same(b),
                        _ => true,
                    }
                    && match s.timeouts {
                        Timeouts::None => !validates || in_draft_tx && s.locked.is_none(),
                        Timeouts::Unlimited => in_draft_tx && harmless,
                        Timeouts::Short | Timeouts::LockOnly => !validates,
                    }
            });
        if !fits {
            self.start(StepMode::Transaction, unit.phase);
        }
        let step = self.open.as_mut().expect("a step is open");
        if step.locked.is_none() {
            step.locked = locked.cloned();
        }
        if unit.needs_timeouts {
            step.timeouts = step.timeouts.bound_for(unit);
        }
        step.items.push(Item::Unit(u));
        if unit.ends_step {
            self.sealed = true;
        }
    }
}

/// Group the units into steps.
pub fn plan(m: &Migration<'_>, r: &Rewritten) -> Plan {
    let mut planner = Planner::new(m, r);
    // Draft order; a recipe's generated units run around their statement (`Unit::sub`).
    let mut order: Vec<(usize, i32, usize)> = r.units.iter().enumerate().map(|(u, x)| (x.stmt, x.sub, u)).collect();
    // Sorted as keys, not by reading each unit again for every comparison; the draft's units come
    // in order, then the generated ones: two runs the sort merges.
    order.sort();
    for (_, _, u) in order {
        planner.unit(m, r, u);
    }
    planner.finish(m, r)
}

/// The planner as it walks the units in draft order: what it carries from one unit to the next
/// (the open step, the settings to repeat, the `VALIDATE`s not placed yet).
struct Planner {
    b: Builder,
    kept_by: Vec<Option<usize>>,
    nested: Vec<bool>,
    down: Vec<usize>,
    validate: Pending,
    /// Inside a transaction the draft opened (`BEGIN` … `COMMIT` not kept as written).
    in_draft_tx: bool,
}

impl Planner {
    fn new(m: &Migration<'_>, r: &Rewritten) -> Planner {
        let b = Builder {
            // About a step a unit on a big draft: room for them at once, not a vector that doubles
            // (copying the steps so far each time, into pages not touched before).
            steps: Vec::with_capacity(r.units.len()),
            open: None,
            sealed: false,
            rows: false,
            carry: Vec::new(),
            session_sets: IndexMap::new(),
            local_sets: IndexMap::new(),
            carried_sets: Vec::new(),
            region: None,
            savepoints: Savepoints::default(),
            in_block: in_block_at(m),
            validate_locals: IndexMap::new(),
            read_variables: HashMap::default(),
        };
        Planner {
            b,
            kept_by: crate::passes::kept_by(&r.regions, m.stmts.len()),
            nested: nested_begins(m),
            down: Vec::new(),
            validate: Pending::default(),
            in_draft_tx: false,
        }
    }

    /// Place unit `u`, the next in draft order.
    fn unit(&mut self, m: &Migration<'_>, r: &Rewritten, u: usize) {
        let Planner { b, kept_by, nested, down, validate, in_draft_tx } = self;
        let regions = &r.regions;
        let unit = &r.units[u];
        let s = &m.stmts[unit.stmt];
        let draft = unit.generated.is_none();
        if draft && s.section == Section::Down {
            down.push(u);
            return;
        }
        let region = kept_by[unit.stmt];
        if b.region.as_ref().is_some_and(|(k, _)| Some(*k) != region) {
            b.leave(regions);
        }
        if unit.phase == Phase::Validate && region.is_none() {
            validate.push(m, r, u, b.local_sets.clone());
            return;
        }
        // A pending validation runs before any later statement that could change its outcome
        // (for a region: before the region): a failing one then stops the plan where the draft
        // stopped, before anything the draft never ran.
        let entering = region.is_some() && b.region.is_none();
        if (region.is_none() || entering) && !validate.is_empty() {
            // The units about to run: this one, or a region's statements (draft units are numbered
            // like their statements).
            let later: Vec<usize> = match region {
                Some(k) => (regions[k].first..=regions[k].last).collect(),
                None => vec![u],
            };
            let (mut everything, mut changed): (bool, Vec<&Name>) = (false, Vec::new());
            for &w in &later {
                match may_change_validation(m, r, w) {
                    Change::Anything => everything = true,
                    Change::Tables => changed.extend(r.units[w].locks.iter().map(|l| &l.table)),
                    Change::Nothing => {}
                }
            }
            let stmt = unit.stmt;
            let now = if everything { validate.take_before(r, stmt) } else { validate.take_on(r, &changed, stmt) };
            if !now.is_empty() {
                b.close();
                for (v, locals) in now {
                    b.validate(r, v, locals);
                }
                b.close();
            }
        }
        if let Some(k) = region {
            // A whole draft transaction: its BEGIN opens the step, its COMMIT/ROLLBACK (if it has
            // one) closes it. A second BEGIN inside it does neither (PostgreSQL only warns): it
            // stays in the step, as written.
            let ends = |stmt: usize| {
                stmt == regions[k].last && m.stmts[stmt].ops.iter().any(|o| matches!(o.kind, OpKind::Commit { .. }))
            };
            let bound = regions[k].shape == Shape::WholeTransaction
                && unit.mode == Mode::Control
                && (unit.stmt == regions[k].first || ends(unit.stmt));
            if entering && !bound {
                b.enter(regions, k);
            }
            if bound {
                // The region's BEGIN opens its step; its COMMIT/ROLLBACK closes it. Their comments
                // are kept, before the step's own BEGIN.
                let trailing = m.src[s.body.end..s.span.end].trim_start_matches(';');
                let trivia =
                    [Item::Trivia(s.span.start..s.body.start), Item::Trivia(s.span.end - trailing.len()..s.span.end)];
                if unit.stmt == regions[k].first {
                    b.close();
                    b.transaction_ends();
                    b.carry.extend(trivia);
                    b.enter(regions, k);
                } else {
                    let rollback = s.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { rollback: true }));
                    if let Some(step) = b.open.as_mut() {
                        step.rollback = rollback;
                    }
                    b.leave(regions);
                    b.transaction_ends();
                    b.carry.extend(trivia);
                }
                return;
            }
            b.keep(r, u);
            if unit.mode == Mode::Control && !nested[unit.stmt] {
                // The draft's own BEGIN/COMMIT, as written: local settings end with its transaction.
                b.transaction_ends();
            } else if draft {
                record_sets(b, s, unit.stmt);
            }
            return;
        }
        if draft && s.is_trivia() {
            match b.open.as_mut() {
                Some(step) => step.items.push(Item::Unit(u)),
                None => b.carry.push(Item::Unit(u)),
            }
            return;
        }
        match unit.mode {
            Mode::Control => {
                for op in &s.ops {
                    match op.kind {
                        OpKind::Begin => *in_draft_tx = true,
                        OpKind::Commit { .. } => *in_draft_tx = false,
                        _ => {}
                    }
                }
                let rollback = s.ops.iter().any(|o| matches!(o.kind, OpKind::Commit { rollback: true }));
                if let (true, Some(step)) = (rollback, b.open.as_mut()) {
                    step.rollback = true;
                }
                b.close();
                // A BEGIN inside the draft's transaction block starts nothing: its SET LOCALs go
                // on, into the next step.
                if !nested[unit.stmt] {
                    b.transaction_ends();
                }
                let trailing = m.src[s.body.end..s.span.end].trim_start_matches(';');
                b.carry.push(Item::Trivia(s.span.start..s.body.start));
                if !trailing.trim().is_empty() {
                    b.carry.push(Item::Trivia(s.span.end - trailing.len()..s.span.end));
                }
            }
            Mode::Autocommit => {
                let step = b.start(StepMode::Autocommit, Phase::Main);
                step.items.push(Item::Unit(u));
                if unit.long_running {
                    step.timeouts = Timeouts::Unlimited;
                } else if unit.needs_timeouts {
                    step.timeouts = step.timeouts.bound_for(unit);
                }
                b.close();
                // `DISCARD ALL`, which no transaction block may hold, resets every setting.
                if draft {
                    record_sets(b, s, unit.stmt);
                }
            }
            Mode::Transaction if draft && (only_session_sets(s) || unit.inert_setting) => {
                // Session settings lead the next step, before its BEGIN: inside a transaction
                // they would override the step's own SET LOCAL timeouts.
                b.close();
                b.carry.push(Item::Unit(u));
                b.carried_sets.push(unit.stmt);
                if !unit.inert_setting {
                    record_sets(b, s, unit.stmt);
                }
            }
            Mode::Transaction => {
                // A statement the user told pgsafe to ignore has no lock recorded by the rules, but
                // it still locks its table: it never joins another table's step.
                let ignored = (draft && !s.ignored.is_empty())
                    .then(|| {
                        unit.locks
                            .iter()
                            .filter(|l| l.mode.blocks_writes() && !m.created_before(&l.table, unit.stmt))
                            .max_by_key(|l| l.mode)
                    })
                    .flatten();
                let locked = unit.blocking_lock().or(ignored).map(|l| &l.table);
                let validates = unit.validate_now || (draft && s.runs_long_without_blocking());
                // Rows the draft changed or read after a statement that took a traffic-blocking
                // lock, which it committed first (no transaction of its own or its tool's holds
                // both): in one step the lock would be held through them (3.4 s of write waits
                // where the draft had 0.01 s).
                // The same the other way round: a traffic-blocking lock after row work the draft
                // committed first puts that work under the step's short statement_timeout, which
                // the draft did not set (on a big table it is cancelled where the draft ran it to its end).
                let committed_first = !*in_draft_tx && !m.runner_transaction;
                let after_lock = committed_first && b.open.as_ref().is_some_and(|s| s.locked.is_some());
                let rows = does_row_work(m, r, u);
                let after_rows = committed_first && b.rows && locked.is_some();
                if unit.starts_step || after_lock && locked.is_none() && rows || after_rows {
                    b.close();
                }
                b.push(r, u, locked, validates, *in_draft_tx);
                b.rows |= rows;
                // A VALIDATE scans for as long as the table needs, under a lock that blocks no
                // traffic: its own transaction, no short timeouts.
                if validates {
                    if let Some(step) = b.open.as_mut() {
                        step.timeouts = Timeouts::Unlimited;
                    }
                }
                if draft {
                    record_sets(b, s, unit.stmt);
                }
            }
        }
    }

    /// The plan, once every unit was placed.
    fn finish(self, m: &Migration<'_>, r: &Rewritten) -> Plan {
        // Validations: after everything else, in draft order, one transaction per table.
        let Planner { mut b, down, validate, .. } = self;
        let mut validate: Vec<(usize, Sets)> =
            validate.units.into_iter().zip(validate.locals).filter_map(|(u, locals)| Some((u?, locals))).collect();
        validate.sort_by_key(|&(u, _)| r.units[u].at);
        b.close();
        b.transaction_ends();
        for (u, locals) in validate {
            b.validate(r, u, locals);
        }
        b.close();
        let mut steps = b.steps;
        if !b.carry.is_empty() {
            // Trailing comments join the last step; trailing settings get a step of their own, since
            // inside the last one they would run in its transaction.
            let only_trivia = b.carry.iter().all(|item| match item {
                Item::Unit(u) => m.stmts[r.units[*u].stmt].is_trivia(),
                _ => true,
            });
            match steps.last_mut() {
                Some(last) if only_trivia => last.items.append(&mut b.carry),
                _ => {
                    let mut step = Step::new(StepMode::Transaction, Phase::Main);
                    step.items = b.carry;
                    steps.push(step);
                }
            }
        }
        mark_created_earlier(m, r, &mut steps);
        Plan { steps, down }
    }
}

/// Session settings and psql meta-commands: they belong to the session, not to a transaction.
fn only_session_sets(s: &crate::ir::migration::Stmt) -> bool {
    s.ops.iter().all(|o| matches!(o.kind, OpKind::Set { local: false, .. } | OpKind::Psql(_)))
}

/// For each draft statement: is it a `BEGIN` inside a transaction block the draft opened (in its
/// up section)? PostgreSQL only warns, and the block goes on, its `SET LOCAL`s in force.
fn nested_begins(m: &Migration<'_>) -> Vec<bool> {
    let mut open = false;
    let mut nested = |s: &crate::ir::migration::Stmt| {
        let mut it = false;
        for op in s.ops.iter().filter(|_| s.section == Section::Up) {
            match op.kind {
                OpKind::Begin => {
                    it |= open;
                    open = true;
                }
                OpKind::Commit { .. } => open = false,
                _ => {}
            }
        }
        it
    };
    m.stmts.iter().map(&mut nested).collect()
}

/// Whether a transaction block is open where each statement runs, as `timeouts` follows it: the
/// draft's own, or, in a draft with no `BEGIN` of its own, perhaps its tool's. Outside one
/// PostgreSQL refuses a savepoint, so a `ROLLBACK TO` there undoes no `SET`.
fn in_block_at(m: &Migration<'_>) -> Vec<bool> {
    let controls = m.stmts.iter().any(|s| s.ops.iter().any(|o| o.kind == OpKind::Begin));
    let outside = !m.runner_transaction && controls;
    let mut open = !outside;
    let mut at = |s: &crate::ir::migration::Stmt| {
        let now = open;
        for op in s.ops.iter().filter(|_| s.section == Section::Up) {
            match op.kind {
                OpKind::Begin => open = true,
                OpKind::Commit { .. } => open = !outside,
                _ => {}
            }
        }
        now
    };
    m.stmts.iter().map(&mut at).collect()
}

/// Remember settings every later step must repeat: `SET` (session or, within the draft's
/// transaction, local), psql `\set` variables, which later statements may interpolate, and the
/// last `\connect`: a step run as a session of its own must reach the database the draft's
/// statements ran in.
fn record_sets(b: &mut Builder, s: &crate::ir::migration::Stmt, stmt: usize) {
    for op in &s.ops {
        match &op.kind {
            OpKind::Set { name, local, .. } => {
                if s.interpolates && !*local {
                    let variables = b.session_sets.iter().filter(|(n, _)| n.starts_with("\\set ")).map(|(_, &v)| v);
                    b.read_variables.insert(stmt, variables.collect());
                }
                let sets = if *local { &mut b.local_sets } else { &mut b.session_sets };
                sets.insert(name.clone(), stmt);
            }
            OpKind::Psql(Psql::SetVariable(var)) => {
                b.session_sets.insert(format!("\\set {var}"), stmt);
            }
            OpKind::Psql(Psql::Encoding) => {
                b.session_sets.insert("client_encoding".into(), stmt);
            }
            // A new connection has none of the server settings made before it (psql's variables
            // stay): those are not repeated, and the connection comes first.
            OpKind::Psql(Psql::Connect) => {
                b.session_sets.retain(|name, _| name.starts_with("\\set "));
                b.session_sets.insert("\\connect".into(), stmt);
            }
            // `SET`s made after a savepoint are undone by a rollback to it (`SET LOCAL`s too).
            OpKind::Savepoint { name, action } if b.in_block[stmt] => {
                let now = || (b.session_sets.clone(), b.local_sets.clone());
                if let Some((session, local)) = b.savepoints.run(name, *action, now) {
                    b.session_sets = rolled_back(&session, &b.session_sets);
                    b.local_sets = local;
                }
            }
            _ => {}
        }
    }
}

/// The settings in force after a rollback to where `before` was taken: the server's as they were
/// then, psql's variables and connection (the client's, which no rollback undoes) as they are now,
/// first, as `record_sets` keeps them.
fn rolled_back(before: &Sets, now: &Sets) -> Sets {
    let psql = |name: &String| name.starts_with('\\');
    let mut sets: Sets = now.iter().filter(|(n, _)| psql(n)).map(|(n, &s)| (n.clone(), s)).collect();
    sets.extend(before.iter().filter(|(n, _)| !psql(n)).map(|(n, &s)| (n.clone(), s)));
    sets
}

/// The tables whose rows a pending validation reads: its own table and, for a foreign key, the
/// table it references.
fn validation_reads(m: &Migration<'_>, r: &Rewritten, v: usize) -> Vec<Name> {
    let stmt = r.units[v].stmt;
    let mut reads: Vec<Name> = validated_table(r, v).into_iter().collect();
    for op in &m.stmts[stmt].ops {
        match &op.kind {
            OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { references, .. }, .. } => {
                reads.push(references.clone())
            }
            OpKind::AddColumn { reference: Some(fk), .. } => reads.push(fk.references.clone()),
            // The draft's own VALIDATE of a constraint it added NOT VALID earlier.
            OpKind::ValidateConstraint { table, name } => {
                let added = m.stmts[..stmt].iter().flat_map(|s| &s.ops).filter_map(|o| match &o.kind {
                    OpKind::AddConstraint {
                        table: t,
                        name: Some(n),
                        kind: ConstraintKind::ForeignKey { references, .. },
                        ..
                    } if t.same(table) && n.eq_ignore_ascii_case(name) => Some(references.clone()),
                    _ => None,
                });
                reads.extend(added);
            }
            _ => {}
        }
    }
    reads
}

/// Does unit `u` change or read rows (or run code that may)? Such work, in the step of a
/// statement that took a traffic-blocking lock before it, would hold that lock as long as it runs.
fn does_row_work(m: &Migration<'_>, r: &Rewritten, u: usize) -> bool {
    let unit = &r.units[u];
    let rows = |l: &crate::ir::lock::LockUse| l.mode == LockMode::RowExclusive || l.scans && !l.mode.blocks_writes();
    if unit.locks.iter().any(rows) {
        return true;
    }
    unit.generated.is_none()
        && m.stmts[unit.stmt].ops.iter().any(|o| match &o.kind {
            OpKind::Update(_) | OpKind::Delete(_) | OpKind::Opaque { .. } | OpKind::RefreshMaterializedView { .. } => {
                true
            }
            OpKind::Other { what } => {
                let first = what.split_whitespace().next().unwrap_or("");
                ["INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SELECT", "COPY", "DO", "CALL", "EXECUTE"]
                    .contains(&first)
            }
            _ => false,
        })
}

/// What a later unit could change of a pending validation's outcome.
enum Change {
    Nothing,
    /// Any validation: anything not known to leave every validation as it was (a statement
    /// that writes rows, where a cascade or a trigger can reach any table; code pgsafe cannot see
    /// into; a `DROP`/`TRUNCATE … CASCADE`; a renamed schema, type value or function body).
    Anything,
    /// Those reading the tables it names: it alters or drops them.
    Tables,
}

/// Known, not guessed: a statement counts as changing nothing only when its kind is on the list
/// below (a list of what may change the outcome missed `MERGE`, `\i`, `ALTER SCHEMA … RENAME`,
/// `CREATE OR REPLACE FUNCTION`, `TRUNCATE … CASCADE` and more: the plan then ran them before a
/// `VALIDATE` the draft ran first, committing where the draft failed).
fn may_change_validation(m: &Migration<'_>, r: &Rewritten, w: usize) -> Change {
    let unit = &r.units[w];
    if unit.locks.iter().any(|l| l.mode == LockMode::RowExclusive) {
        return Change::Anything;
    }
    if unit.generated.is_some() {
        return Change::Nothing;
    }
    let mut change = Change::Nothing;
    for o in &m.stmts[unit.stmt].ops {
        match &o.kind {
            // Another index or constraint, its validation, a comment: no row and no name changes.
            OpKind::CreateIndex { .. }
            | OpKind::Reindex { .. }
            | OpKind::AddConstraint { .. }
            | OpKind::ValidateConstraint { .. }
            | OpKind::SetNotNull { .. }
            | OpKind::AddColumn { .. }
            | OpKind::Lock { .. }
            | OpKind::AdvisoryLock
            | OpKind::LocksRows(_)
            | OpKind::NeedsTransactionBlock(_)
            | OpKind::Savepoint { .. }
            | OpKind::TransactionMode
            | OpKind::Begin
            | OpKind::Commit { .. } => {}
            // A timeout changes no check's outcome (a time zone or a search path may).
            OpKind::Set { name, .. } if name.ends_with("_timeout") => {}
            OpKind::Other { what }
                if what.starts_with("COMMENT") || what.starts_with("GRANT") || what.starts_with("REVOKE") => {}
            // What an inheritance parent's or a partitioned table's validation scans.
            OpKind::AlterTable { action: Action::NotUnderstood, .. } => return Change::Anything,
            OpKind::AlterTable { what, .. } if what.contains("INHERIT") || what.contains("PARTITION") => {
                return Change::Anything
            }
            OpKind::AlterTable { .. }
            | OpKind::Trigger { .. }
            | OpKind::DropIndex { cascade: false, .. }
            | OpKind::DropTable { cascade: false, .. } => change = Change::Tables,
            // A new table may shadow an unqualified name; a `TRUNCATE` empties the children too;
            // a `CASCADE` reaches what it reaches.
            _ => return Change::Anything,
        }
    }
    change
}

fn validated_table(r: &Rewritten, u: usize) -> Option<Name> {
    r.units[u].locks.first().map(|l| l.table.clone())
}

/// Deferred `VALIDATE`s not placed yet, in the order they came, found by the base names of the
/// tables they read: every draft statement asks which of them it must run after, and a scan of all
/// of them per statement made large drafts quadratic.
#[derive(Default)]
struct Pending {
    /// `None` once taken.
    units: Vec<Option<usize>>,
    /// The draft's `SET LOCAL`s in force where each was made (see [`Builder::validate`]).
    locals: Vec<Sets>,
    /// The tables each one reads (see [`validation_reads`]).
    reads: Vec<Vec<Name>>,
    /// Positions in `units`, by the base name of a table read.
    by_base: HashMap<String, Vec<usize>>,
    /// Positions before this one are all taken.
    first: usize,
    left: usize,
}

impl Pending {
    fn push(&mut self, m: &Migration<'_>, r: &Rewritten, u: usize, locals: Sets) {
        let reads = validation_reads(m, r, u);
        for t in &reads {
            self.by_base.entry(t.base().to_string()).or_default().push(self.units.len());
        }
        self.units.push(Some(u));
        self.locals.push(locals);
        self.reads.push(reads);
        self.left += 1;
    }

    fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// Take every pending validation of a statement before `stmt`, in the order they came.
    fn take_before(&mut self, r: &Rewritten, stmt: usize) -> Vec<(usize, Sets)> {
        let mut out = Vec::new();
        for k in self.first..self.units.len() {
            if let Some(v) = self.units[k].filter(|&v| r.units[v].stmt < stmt) {
                out.push((v, std::mem::take(&mut self.locals[k])));
                self.units[k] = None;
            }
        }
        while self.units.get(self.first).is_some_and(Option::is_none) {
            self.first += 1;
        }
        self.left -= out.len();
        out
    }

    /// Take the pending validations of statements before `stmt` that read a table of `changed`,
    /// in the order they came.
    fn take_on(&mut self, r: &Rewritten, changed: &[&Name], stmt: usize) -> Vec<(usize, Sets)> {
        let mut at: Vec<usize> = Vec::new();
        for c in changed {
            let Some(list) = self.by_base.get_mut(c.base()) else { continue };
            list.retain(|&k| match self.units[k] {
                None => false,
                Some(v) => {
                    let hit = r.units[v].stmt < stmt && self.reads[k].iter().any(|t| changed.iter().any(|c| c.same(t)));
                    if hit {
                        at.push(k);
                    }
                    !hit
                }
            });
        }
        at.sort_unstable();
        at.dedup();
        let out: Vec<(usize, Sets)> =
            at.iter().filter_map(|&k| Some((self.units[k].take()?, std::mem::take(&mut self.locals[k])))).collect();
        self.left -= out.len();
        out
    }
}

/// Tell each step which relations an earlier step created, so that `pgsafe check` on that file
/// alone still knows they have no traffic (the plan stays a fixed point).
fn mark_created_earlier(m: &Migration<'_>, r: &Rewritten, steps: &mut [Step]) {
    // Keyed by base name, so the lookup stays constant-time on large drafts.
    let mut created: HashMap<&str, Vec<&Name>> = HashMap::default();
    // A set beside the list: a step kept as written may hold thousands of statements.
    let mut seen = FxHashSet::default();
    // A statement's units may fill many steps (an `ALTER TABLE` of thousands of actions, each
    // built in a step of its own): the relations its ops name are found once, without repeats,
    // and what it creates is recorded once.
    let mut named: (usize, Vec<&Name>) = (usize::MAX, Vec::new());
    let mut recorded = vec![false; m.stmts.len()];
    for step in steps.iter_mut() {
        let mut used = Vec::new();
        seen.clear();
        for u in step.units() {
            let i = r.units[u].stmt;
            if named.0 != i {
                let mut texts = FxHashSet::default();
                let ops = m.stmts[i].ops.iter().flat_map(|op| match &op.kind {
                    OpKind::CreateIndex { table, .. }
                    | OpKind::Reindex { name: table, .. }
                    | OpKind::AddConstraint { table, .. }
                    | OpKind::AddColumn { table, .. } => std::slice::from_ref(table),
                    OpKind::DropIndex { names, .. } => names.as_slice(),
                    _ => &[],
                });
                named = (i, ops.filter(|n| texts.insert(&*n.text)).collect());
            }
            for n in named.1.iter().copied().chain(r.units[u].locks.iter().map(|l| &l.table)) {
                // …and the compile counted it new there (not undone by a rollback since, not
                // `IF NOT EXISTS`, the same schema): the directive must say what the compile knew.
                let known =
                    created.get(n.base()).is_some_and(|list| list.iter().any(|c| c.same(n))) && m.created_before(n, i);
                if known && seen.insert(&*n.text) {
                    used.push(n.text.to_string());
                }
            }
        }
        step.created_earlier = used;
        for u in step.units() {
            let i = r.units[u].stmt;
            if std::mem::replace(&mut recorded[i], true) {
                continue;
            }
            for op in &m.stmts[i].ops {
                if let OpKind::CreateTable { table: n, .. }
                | OpKind::CreateIndex { name: Some(n), .. }
                | OpKind::CreateView { view: n, .. }
                | OpKind::CreateSequence { sequence: n, .. } = &op.kind
                {
                    created.entry(n.base()).or_default().push(n);
                }
            }
        }
    }
}

/// The plan of a draft that needs no change: the draft itself, as one step (its down section apart).
///
/// `m.runner_transaction`: the draft's own migration tool runs it in one transaction (goose or dbmate
/// markers without their opt-out). The step then carries that `BEGIN … COMMIT` itself: run with
/// `psql -f` as the plan contract says, it would otherwise run statement by statement (`LOCK TABLE`
/// fails outside a transaction, and a failure half-way leaves the first half committed). Not when
/// the draft controls its transactions, holds a statement that refuses a transaction block, or adds
/// an enum value (the transactions rule would want it committed before the statements after it).
pub fn verbatim(m: &Migration<'_>, r: &Rewritten) -> Plan {
    let mut step = Step::new(StepMode::Transaction, Phase::Main);
    step.raw = true;
    step.wrapped = m.runner_transaction
        && m.stmts.iter().filter(|s| s.section == Section::Up).flat_map(|s| &s.ops).all(|o| {
            !matches!(
                o.kind,
                OpKind::Begin | OpKind::Commit { .. } | OpKind::NoTransaction { .. } | OpKind::AddEnumValue { .. }
            ) && !o.kind.is_concurrent()
        });
    let mut down = Vec::new();
    for (u, unit) in r.units.iter().enumerate() {
        if unit.generated.is_some() {
            continue;
        }
        if m.stmts[unit.stmt].section == Section::Down {
            down.push(u);
        } else {
            step.items.push(Item::Unit(u));
        }
    }
    Plan { steps: vec![step], down }
}

/// A draft transaction (`BEGIN` … `COMMIT`) that the plan commits in several steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Its `BEGIN` and `COMMIT` statements (the last statement when it never commits).
    pub begin: usize,
    pub end: usize,
    /// The steps its statements ended up in, in run order.
    pub steps: Vec<usize>,
}

/// Every draft transaction whose statements the plan spreads over more than one step: each of
/// those steps commits on its own, so a failure in a later one no longer undoes the earlier ones.
pub fn splits(m: &Migration<'_>, r: &Rewritten, plan: &Plan) -> Vec<Split> {
    let mut steps_of: Vec<Vec<usize>> = vec![Vec::new(); m.stmts.len()];
    for (k, step) in plan.steps.iter().enumerate() {
        for u in step.units() {
            let i = r.units[u].stmt;
            let s = &m.stmts[i];
            let work = r.units[u].generated.is_some() || (!s.is_trivia() && !only_settings(s));
            // Steps come in order: a step already listed is the last one.
            if work && steps_of[i].last() != Some(&k) {
                steps_of[i].push(k);
            }
        }
    }
    let mut out = Vec::new();
    let mut begin = None;
    let close = |b: usize, end: usize, out: &mut Vec<Split>| {
        let mut steps: Vec<usize> = steps_of[b..=end].iter().flatten().copied().collect();
        steps.sort_unstable();
        steps.dedup();
        if steps.len() > 1 {
            out.push(Split { begin: b, end, steps });
        }
    };
    for (i, s) in m.stmts.iter().enumerate() {
        if s.section != Section::Up {
            continue;
        }
        for op in &s.ops {
            match op.kind {
                OpKind::Begin => begin = begin.or(Some(i)),
                OpKind::Commit { rollback } => {
                    if let (Some(b), false) = (begin.take(), rollback) {
                        close(b, i, &mut out);
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(b) = begin {
        close(b, m.stmts.len() - 1, &mut out);
    }
    out
}

/// Settings and psql meta-commands only: they travel with every step, they are not its work.
fn only_settings(s: &crate::ir::migration::Stmt) -> bool {
    s.ops.iter().all(|o| matches!(o.kind, OpKind::Set { .. } | OpKind::Psql(_)))
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    /// A step run as a session of its own connects where the draft's statements ran, and repeats
    /// only the settings made after that connection (a new connection has none of the earlier).
    #[test]
    fn later_steps_connect_to_the_database_the_draft_switched_to() {
        let draft = "\\set v 1\nSET search_path = a;\n\\c other\nSET search_path = b;\nCREATE INDEX i ON t (c);\nALTER TABLE t ADD COLUMN d int;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let steps: Vec<String> = c.steps().map(|f| f.body()).collect();
        assert_eq!(steps.len(), 2, "{steps:#?}");
        assert!(steps[1].starts_with("\\set v 1\n\\c other\nSET search_path = b;\nBEGIN;"), "{}", steps[1]);
    }

    /// Outside a transaction block PostgreSQL refuses a savepoint, so a `ROLLBACK TO` there undoes
    /// no `SET`: later steps repeat it, as `timeouts` reads it (fuzzing found the ALTER's step
    /// without the draft's `lock_timeout` and without pgsafe's own), and the savepoints stay as
    /// written, outside a transaction, where they fail as the draft's do.
    #[test]
    fn a_savepoint_outside_a_transaction_block_undoes_no_setting() {
        let draft = "BEGIN;\nCOMMIT;\nCREATE INDEX i ON t (a);\nSAVEPOINT s;\nSET lock_timeout = '1s';\n\
                     ROLLBACK TO SAVEPOINT s;\nALTER TABLE orders ADD COLUMN g text;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let steps: Vec<String> = c.steps().map(|f| f.body()).collect();
        let alter = steps.iter().find(|s| s.contains("ALTER TABLE orders")).expect("the ALTER's step");
        assert!(alter.starts_with("SET lock_timeout = '1s';\nBEGIN;"), "{alter}");
        for savepoint in steps.iter().filter(|s| s.contains("SAVEPOINT s")) {
            assert!(!savepoint.contains("BEGIN"), "{savepoint}");
        }
    }

    /// A statement under `-- pgsafe:ignore` has no lock recorded by the rules, but it still locks
    /// its table: it never shares a transaction with another table's locks. (Not a golden case: the
    /// differential suite's safety probe rightly flags an ignored statement without timeouts.)
    #[test]
    fn an_ignored_statement_never_joins_another_tables_step() {
        let draft = "-- pgsafe:ignore\nCREATE INDEX users_email_idx ON users (email);\nALTER TABLE orders ADD COLUMN note2 text;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let steps: Vec<String> = c.steps().map(|f| f.body()).collect();
        assert_eq!(steps.len(), 2, "{steps:#?}");
        assert!(steps[0].contains("users_email_idx") && !steps[0].contains("orders"), "{steps:#?}");
    }
}
