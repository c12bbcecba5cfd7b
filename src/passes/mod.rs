//! Rewrite passes. Each pass is one file with one rule id; it reads the whole migration and edits
//! the *units* (statements as they will appear in the plan): text edits on the draft, generated
//! statements, and what the planner must know (transaction mode, phase, timeouts).

mod backfill;
mod check_not_valid;
mod concurrent_drop_index;
mod concurrent_index;
mod concurrent_reindex;
mod destructive;
mod fk_index;
mod fk_not_valid;
mod not_null;
mod not_valid;
mod partitions;
mod set_not_null;
mod timeouts;
mod tool_locals;
mod transactions;
mod type_change;
mod unique_using_index;
mod volatile_default;
mod write_rules;

use crate::config::Config;
use crate::diagnostic::At;
use crate::ir::action::{Action, ColumnChange};
use crate::ir::catalog::Catalog;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::{Migration, Section, Stmt};
use crate::ir::name::nth_choice;
use crate::ir::op::{OpKind, Psql};
use crate::ir::timeline::{Before, Timeline, Window};
pub use fk_not_valid::TEMPORAL_FK_VALIDATE;
pub use not_null::fact as not_null_fact;
use serde::Serialize;
use std::ops::Range;
use thin_vec::{thin_vec, ThinVec};
pub use transactions::{kept_by, Keep, Region, Shape, RULE as TRANSACTIONS};
pub use type_change::REBUILDS_ONLY_INDEXES;
pub use unique_using_index::NO_CONCURRENT_TEMPORAL_KEY;

/// The finding for a statement that may take strong locks and that pgsafe could not understand.
pub const NOT_UNDERSTOOD: &str = "not-understood";

/// The rules, in the order their passes run. `timeouts` runs last: it needs every unit's final mode.
pub const RULES: &[&str] = &[
    concurrent_index::RULE,
    concurrent_drop_index::RULE,
    concurrent_reindex::RULE,
    fk_not_valid::RULE,
    check_not_valid::RULE,
    set_not_null::RULE,
    unique_using_index::RULE,
    backfill::RULE,
    volatile_default::RULE,
    partitions::RULE,
    destructive::RULE,
    type_change::RULE,
    fk_index::RULE,
    transactions::RULE,
    timeouts::RULE,
];

/// How a unit must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Inside a transaction step.
    Transaction,
    /// Alone, outside any transaction block (`CONCURRENTLY`, `VACUUM`, …).
    Autocommit,
    /// The draft's own `BEGIN`/`COMMIT`: consumed, the plan owns transaction boundaries.
    Control,
}

/// When a unit runs: `Validate` units go after everything else, in later transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Main,
    Validate,
}

/// `keyword` in the letter case of `sample` (the draft's own keyword nearby), so an edit in a
/// lower-case draft reads `concurrently`, not `CONCURRENTLY`.
pub fn in_case_of(sample: &str, keyword: &str) -> String {
    let lower = sample.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_lowercase());
    if lower && sample.chars().any(|c| c.is_alphabetic()) {
        keyword.to_lowercase()
    } else {
        keyword.to_string()
    }
}

/// A replacement of draft bytes (an insertion when `at` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The rule that made it: a unit's edits may come from several rules, and each change's fix
    /// holds only its own rule's (applying every fix must apply each edit once).
    pub rule: &'static str,
    pub at: Range<usize>,
    pub text: String,
}

impl Edit {
    /// Remove `range` and the blanks before it on its line (not comments, not line breaks).
    pub fn remove(rule: &'static str, src: &str, range: Range<usize>) -> Edit {
        let start = src[..range.start].trim_end_matches([' ', '\t']).len();
        Edit { rule, at: start..range.end, text: String::new() }
    }
}

/// One statement of the plan: a draft statement (possibly edited) or a generated one.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The draft statement this unit is, or was generated from.
    pub stmt: usize,
    /// The draft offset it comes from (a generated unit: the action it was made for), for ordering.
    pub at: usize,
    /// Place relative to its statement: negative runs before it, positive after, 0 is the
    /// statement itself. Generated units of a recipe count up in the order they must run.
    pub sub: i32,
    /// Text of a generated statement, without `;`. `None`: the draft's own statement. (Boxed
    /// strings and thin vectors here: every unit of a big draft is held until the plan is written.)
    pub generated: Option<Box<str>>,
    /// Its edits of the draft's text (thin vectors here and in `facts`: most units have none, and
    /// every unit of a big draft is held).
    pub edits: ThinVec<Edit>,
    pub mode: Mode,
    pub phase: Phase,
    /// The step must end after this unit (e.g. an enum value must commit before it is used).
    pub ends_step: bool,
    /// The unit must start a new step (what it relies on must be committed first).
    pub starts_step: bool,
    /// A `VALIDATE` that must run here, not at the end: its own transaction, no timeouts.
    pub validate_now: bool,
    /// Runs long without blocking traffic (a concurrent build, a batched backfill): its
    /// autocommit step gets no statement timeout, and no lock timeout unless it `row_batches`.
    pub long_running: bool,
    /// Facts later compilations of the emitted step must know (rendered as `-- pgsafe:` lines).
    /// Added with [`Rewritten::add_fact`], which also indexes them.
    pub facts: ThinVec<String>,
    /// Which of `locks` is the strongest on a table with traffic, when it blocks reads or writes
    /// (see [`Unit::blocking_lock`]; an index, not a copy: every unit of a big draft is held).
    pub blocking: Option<u32>,
    /// This unit needs `lock_timeout`/`statement_timeout` that the draft did not set.
    pub needs_timeouts: bool,
    /// The locks this unit takes as the plan runs it (after its rewrites).
    pub locks: ThinVec<LockUse>,
    pub rules: ThinVec<&'static str>,
    /// A `SET LOCAL` outside any transaction block: PostgreSQL ignores it (with a warning), so it
    /// is no timeout and never replayed; the plan runs it where it does nothing too, before a
    /// step's `BEGIN`.
    pub inert_setting: bool,
    /// A draft setting that turns `lock_timeout` off (`0`, `''`, `DEFAULT`): a step that bounds
    /// its lock waits sets its own again right after it, or what follows would wait without limit.
    pub lock_timeout_off: bool,
    /// Its step bounds how long it waits for its locks, not how long it runs, which pgsafe cannot
    /// tell and the draft runs to its end: a `DO` block whose code's locks are read from its words,
    /// or an `ATTACH` of a new table whose one blocking lock is on a default partition only the
    /// database may have (`partitions`).
    pub lock_wait_only: bool,
    /// The draft runs this statement under a `statement_timeout` of its own (not zero): a step
    /// that would run it without one (a concurrent build, a `VALIDATE`) keeps the draft's, and no
    /// rule rewrites it into such work ([`Ctx::draft_statement_timeout`]).
    pub under_draft_statement_timeout: bool,
    /// A loop of batches that each commit (`backfill`, a volatile default's fill). While a batch
    /// waits for a row lock it holds the row locks it has taken, so writers of those rows queue
    /// behind it: its step keeps the `lock_timeout` in force (the draft's, or the connection's)
    /// rather than turning it off, and waits no longer than the draft's statement would.
    pub row_batches: bool,
}

/// A concurrent build pgsafe made of the draft's plain one: the index it creates (`None`:
/// PostgreSQL names it), its table, as the draft wrote them, and whether it is unique. A failed
/// run leaves that index INVALID (failed in its last phase, still kept up to date by writes, and
/// a unique one still refusing duplicates) where the draft's build leaves nothing, and a rerun
/// fails on its name: its step drops such a leftover first (`emit::leftover`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub index: Option<Box<str>>,
    pub table: crate::ir::name::Name,
    /// A unique build: only its leftover can refuse a write.
    pub unique: bool,
}

impl Unit {
    /// After a `CONCURRENTLY` rewrite: the same relations, under SHARE UPDATE EXCLUSIVE.
    pub fn made_concurrent(&mut self) {
        self.long_running = true;
        for l in &mut self.locks {
            l.mode = LockMode::ShareUpdateExclusive;
        }
    }

    /// The strongest lock it takes on a table with traffic, when that blocks reads or writes.
    pub fn blocking_lock(&self) -> Option<&LockUse> {
        self.blocking.map(|k| &self.locks[k as usize])
    }

    fn draft(stmt: usize) -> Unit {
        Unit {
            stmt,
            at: 0,
            sub: 0,
            generated: None,
            edits: ThinVec::new(),
            mode: Mode::Transaction,
            phase: Phase::Main,
            ends_step: false,
            starts_step: false,
            validate_now: false,
            long_running: false,
            facts: ThinVec::new(),
            blocking: None,
            needs_timeouts: false,
            locks: ThinVec::new(),
            rules: ThinVec::new(),
            inert_setting: false,
            lock_timeout_off: false,
            lock_wait_only: false,
            under_draft_statement_timeout: false,
            row_batches: false,
        }
    }

    pub fn generated(stmt: usize, at: usize, text: String, phase: Phase, rule: &'static str) -> Unit {
        Unit { generated: Some(text.into()), at, sub: 1, phase, rules: thin_vec![rule], ..Unit::draft(stmt) }
    }
}

pub use crate::diagnostic::{Change, Diagnostic, Severity};

/// What the passes produce: the units in draft order, plus changes and diagnostics.
#[derive(Debug, Default)]
pub struct Rewritten {
    pub units: Vec<Unit>,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
    /// Names pgsafe made up for helpers of its own (a check that proves NOT NULL, an index built
    /// under `<key>_new`; each after its schema, see [`Rewritten::unique_name_avoiding`]), so a
    /// second one gets PostgreSQL's `1`, `2`… suffix. (An unnamed key's name is PostgreSQL's
    /// choice, read from the catalogue, which forgets a name a drop frees.)
    pub chosen_names: std::collections::HashSet<String>,
    /// For each schema and base name: the first suffix not chosen yet.
    first_free: rustc_hash::FxHashMap<String, usize>,
    /// The (folded) names the draft gives the constraints it adds, found when first asked: a
    /// helper constraint must not take one.
    pub draft_constraint_names: Option<std::collections::HashSet<String>>,
    /// Stretches of the draft kept as written, each in one step (see `transactions`).
    pub regions: Vec<Region>,
    /// Each fact some unit holds → the statements whose units hold it: "did an earlier
    /// statement's step establish this?" without a scan of every unit (at 1M statements that
    /// scan, once per primary-key column, grew with the square of the draft).
    fact_from: rustc_hash::FxHashMap<String, ThinVec<usize>>,
    /// Each fact a statement made stale (a `DROP NOT NULL` of the column a `validated-not-null`
    /// names) → the statements that did: what was established before one of them, or stated by a
    /// directive, no longer holds after it. Empty but for drafts that undo such a fact.
    stale_from: rustc_hash::FxHashMap<String, ThinVec<usize>>,
    /// The concurrent builds pgsafe made, by unit (few units have one: not a field of each).
    pub leftovers: rustc_hash::FxHashMap<usize, Leftover>,
    /// The checks that prove columns NOT NULL, added in one step (see [`not_null::Chain`]).
    pub(crate) not_null_chain: not_null::Chain,
}

impl Rewritten {
    /// Record a rewrite (an error-level finding whose fix the plan applies).
    pub fn change(&mut self, rule: &'static str, at: impl Into<At>, message: String) {
        self.changes.push(Diagnostic::change(rule, at, message));
    }

    /// Record a finding built with [`Diagnostic`]'s builders (help, span, suggested fix): a
    /// change when its fix is applied, else a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        if d.fix.as_ref().is_some_and(|f| f.applied) {
            self.changes.push(d);
        } else {
            self.diagnostics.push(d);
        }
    }

    /// Give `units[unit]` the fact `fact` (see [`Unit::facts`]).
    pub fn add_fact(&mut self, unit: usize, fact: String) {
        let stmt = self.units[unit].stmt;
        self.fact_from.entry(fact.clone()).or_default().push(stmt);
        self.units[unit].facts.push(fact);
    }

    /// Statement `stmt` makes `fact` stale (see [`Rewritten::holds_at`]); a `fact` ending in `.`
    /// makes stale every fact it starts (each column's of a table dropped or renamed).
    pub fn make_stale(&mut self, fact: String, stmt: usize) {
        self.stale_from.entry(fact).or_default().push(stmt);
    }

    /// Does `fact` hold at statement `stmt`: stated by a directive of the draft, or held by a unit
    /// of an earlier statement, and made stale by no statement since (nor by `stmt` itself, where
    /// pgsafe does not tell an action before the one asking from one after it)?
    pub fn holds_at(&self, m: &Migration<'_>, fact: &str, stmt: usize) -> bool {
        self.stated_at(m, fact, stmt)
            || self.fact_from.get(fact).is_some_and(|from| from.iter().any(|&e| e < stmt && !self.stale(fact, e, stmt)))
    }

    /// Does a directive of the draft state `fact` before statement `stmt` (or before it), made
    /// stale by no statement since?
    pub fn stated_at(&self, m: &Migration<'_>, fact: &str, stmt: usize) -> bool {
        m.fact_stated_from(fact).is_some_and(|from| from <= stmt && !self.stale(fact, from, stmt))
    }

    /// Did a statement from `from` to `to` make `fact` stale (itself, or a prefix of it that ends
    /// in `.`)?
    fn stale(&self, fact: &str, from: usize, to: usize) -> bool {
        if self.stale_from.is_empty() {
            return false;
        }
        let prefixes = fact.match_indices('.').map(|(k, _)| &fact[..=k]);
        std::iter::once(fact)
            .chain(prefixes)
            .filter_map(|f| self.stale_from.get(f))
            .any(|s| s.iter().any(|&r| from <= r && r <= to))
    }

    /// PostgreSQL's name for `name1_name2_label` ([`nth_choice`]), or with `label1`,
    /// `label2`… if pgsafe already chose it in this draft: as `ChooseRelationName` does, the
    /// number goes on the label before the names are cut to 63 bytes (on the whole name, a long
    /// name's second choice was cut back to its first).
    pub fn unique_name(&mut self, parts: [&str; 3]) -> String {
        self.unique_name_avoiding("", parts, |_| false)
    }

    /// [`Rewritten::unique_name`] among the names chosen in `schema` (`"s."`, or `""` for the
    /// search path's: an index's name is its schema's, as PostgreSQL chooses it), also avoiding
    /// the names `taken` says the database already has.
    pub fn unique_name_avoiding(&mut self, schema: &str, parts: [&str; 3], taken: impl Fn(&str) -> bool) -> String {
        let name = self.free_name(schema, parts, taken);
        self.reserve(schema, parts, &name);
        name
    }

    /// The name [`Rewritten::unique_name_avoiding`] would choose, not chosen yet.
    fn free_name(&self, schema: &str, parts: [&str; 3], taken: impl Fn(&str) -> bool) -> String {
        // Every choice before `first_free` is taken already: the search starts there (from 0,
        // ten thousand unnamed keys on one table took a quadratic time to name).
        let family = format!("{schema}{}", nth_choice(parts, 0));
        let mut n = self.first_free.get(&family).copied().unwrap_or(0);
        let mut name = nth_choice(parts, n);
        while self.chosen_names.contains(&format!("{schema}{name}")) || taken(&name) {
            n += 1;
            name = nth_choice(parts, n);
        }
        name
    }

    /// Record that pgsafe chose `name`, one of the choices for `parts` in `schema`.
    fn reserve(&mut self, schema: &str, parts: [&str; 3], name: &str) {
        self.chosen_names.insert(format!("{schema}{name}"));
        let family = format!("{schema}{}", nth_choice(parts, 0));
        let mut free = self.first_free.get(&family).copied().unwrap_or(0);
        while self.chosen_names.contains(&format!("{schema}{}", nth_choice(parts, free))) {
            free += 1;
        }
        self.first_free.insert(family, free);
    }

    /// Record what a reviewer must look at (a warning pgsafe does not rewrite).
    pub fn diagnose(&mut self, rule: &'static str, at: impl Into<At>, message: String) {
        self.diagnostics.push(Diagnostic::new(rule, Severity::Warning, at, message));
    }
}

/// The `CONCURRENTLY` rewrite the three concurrent rules share: insert the keyword after the one
/// ending at `insert_at` (in the draft's letter case) and run the statement alone, in autocommit.
fn add_concurrently(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    i: usize,
    insert_at: usize,
    rule: &'static str,
    why: String,
) {
    let keyword = &ctx.m.src[ctx.m.stmts[i].body.start..insert_at];
    let unit = &mut out.units[i];
    unit.edits.push(Edit { rule, at: insert_at..insert_at, text: format!(" {}", in_case_of(keyword, "CONCURRENTLY")) });
    unit.mode = Mode::Autocommit;
    unit.made_concurrent();
    unit.rules.push(rule);
    out.change(rule, insert_at, why);
}

/// Shared view for the passes: the migration, the config and per-statement transaction facts.
pub struct Ctx<'m, 'a> {
    pub m: &'m Migration<'a>,
    pub config: &'m Config,
    /// What the database looks like before each op of the window (`--schema`, then the draft).
    pub snapshots: &'m Window,
    /// Per statement: the region that keeps it as written (see `transactions`), if any.
    kept: &'m [Option<usize>],
    /// Per statement: the draft's own `statement_timeout` in force there, when not zero (see
    /// [`timeouts::draft_statement_timeouts`]; empty when the draft sets none, or when the passes
    /// run to see what they would rewrite regardless).
    statement_timeouts: &'m [Option<&'m str>],
    /// Per statement: a draft setting held there that a step running alone could not repeat
    /// (see [`tool_locals::held`]; empty when none, or when the passes run to see what they
    /// would rewrite regardless).
    tool_locals: &'m [Option<tool_locals::Held>],
    /// The statements the passes look at now (see [`run_on`]).
    window: Range<usize>,
}

impl<'m> Ctx<'m, '_> {
    /// The statements of the window, with their positions in the draft.
    pub fn stmts(&self) -> impl Iterator<Item = (usize, &'m Stmt)> + use<'m> {
        let (m, start) = (self.m, self.window.start);
        m.stmts[self.window.clone()].iter().enumerate().map(move |(k, s)| (start + k, s))
    }

    /// Does `table` need no scan-avoiding recipe at statement `i`? Created earlier in the draft (no
    /// rows, no traffic yet), or known to be small (`--stats`).
    pub fn quiet(&self, table: &crate::ir::name::Name, i: usize) -> bool {
        self.m.created_before(table, i) || self.config.is_small(table)
    }

    /// Could `ADD COLUMN IF NOT EXISTS col` (op `k` of statement `i`) find the column there, and
    /// so skip its whole definition, inline constraints and default included? Only the draft can
    /// say no: a table it created, whose columns the catalogue knows, without `col`. A schema file
    /// cannot (it may be out of date, and the draft's `IF NOT EXISTS` says the column may be
    /// there: a plan moved the default out of the column, set it on the column the database had
    /// and filled its NULLs). A rewrite that moves a part of the definition out of the column
    /// would run that part anyway.
    pub fn column_may_exist(&self, i: usize, k: usize, col: &str) -> bool {
        !self
            .before(i, k)
            .table
            .as_ref()
            .is_some_and(|t| t.columns_known && t.column(col).is_none() && self.m.created_before(&t.name, i))
    }

    /// Could the table of statement `i`'s `ALTER TABLE IF EXISTS` (op `k`) be missing, so that the
    /// draft does nothing? Only the catalogue can say no. A rewrite that builds something on the
    /// table in a statement of its own (`CREATE UNIQUE INDEX`) has no `IF EXISTS` to carry.
    pub fn table_may_be_missing(&self, i: usize, k: usize) -> bool {
        self.m.stmts[i].alter.if_exists && !self.before(i, k).table.as_ref().is_some_and(|t| t.columns_known)
    }

    /// The catalogue's view just before op `k` of statement `i`.
    pub fn before(&self, i: usize, k: usize) -> &Before {
        self.snapshots.before(i, k)
    }

    /// Is statement `i` in a stretch kept as written (see `transactions`), or a goose block of
    /// several statements (goose sends it as one query, which a rewrite must not cut)?
    pub fn kept(&self, i: usize) -> bool {
        self.kept[i].is_some() || self.m.stmts[i].is_block()
    }

    /// The columns (folded) an action of statement `i` adds or retypes: new to a recipe that runs
    /// before the statement. PostgreSQL adds columns and changes types before it adds constraints
    /// or sets `NOT NULL`, whatever the order written (`ADD UNIQUE (b), ADD COLUMN b serial` keys
    /// the new column), and a `USING` may change the values: such a recipe would not find the
    /// column, or would read the old values. (Found once per statement: asked for each of an
    /// `ALTER TABLE`'s thousands of keys, a scan of its actions was quadratic.)
    pub fn new_columns_of_statement(&self, i: usize) -> rustc_hash::FxHashSet<&'m str> {
        let new = self.m.stmts[i].ops.iter().filter_map(|o| match &o.kind {
            OpKind::AddColumn { column, .. } => Some(column.as_str()),
            OpKind::AlterTable {
                action: Action::AlterColumn { column, change: ColumnChange::Type { .. } }, ..
            } => Some(&*column.key),
            _ => None,
        });
        new.collect()
    }

    /// The draft's own `statement_timeout` in force at statement `i`, when it is not zero.
    pub fn draft_statement_timeout(&self, i: usize) -> Option<&'m str> {
        self.statement_timeouts.get(i).copied().flatten()
    }

    /// The draft setting held at statement `i` that a step running alone could not repeat.
    fn tool_local(&self, i: usize) -> Option<&'m tool_locals::Held> {
        self.tool_locals.get(i).and_then(Option::as_ref)
    }

    /// Should `rule` look at statement `i`? Not in a down section, not where the user said ignore,
    /// in a stretch kept as written only the rules that add timeouts or only report, under the
    /// draft's own `statement_timeout` none that would run the statement's work without it, and
    /// where a draft `SET LOCAL` holds in the tool's transaction none whose step runs alone.
    pub fn applies(&self, rule: &str, i: usize) -> bool {
        let s = &self.m.stmts[i];
        s.section == Section::Up
            && !(self.config.ignores.hold_for(rule) && s.ignores(rule))
            && !self.config.disabled(rule)
            && (!self.kept(i) || KEPT_RULES.contains(&rule))
            && !(self.draft_statement_timeout(i).is_some() && runs_unbounded(rule))
            && !(self.tool_local(i).is_some() && tool_locals::runs_alone(rule))
    }
}

/// Does `rule` rewrite a statement into work that runs in a step without a statement timeout (a
/// concurrent build, a `VALIDATE`, a batched loop)? Under the draft's own `statement_timeout`,
/// which cancels that work where it runs long, the plan would finish what the draft gives up.
/// Every rule that rewrites does but `transactions` (which only moves statements between steps):
/// a new one is counted in, at worst leaving as written a statement the draft bounds.
fn runs_unbounded(rule: &str) -> bool {
    !KEPT_RULES.contains(&rule) && rule != transactions::RULE
}

/// The rules that look at statements kept as written: they add timeouts or only report.
const KEPT_RULES: [&str; 4] = [timeouts::RULE, destructive::RULE, type_change::RULE, fk_index::RULE];

/// Run every pass, in order.
pub fn run(m: &Migration<'_>, config: &Config) -> Rewritten {
    let mut out = run_on(m, config);
    if let Some(opened) = m.opened() {
        held_back(m, run_on(&opened, config), &mut out);
    }
    out
}

/// [`run`] on `m` as it is.
///
/// The passes that read the catalogue run window by window ([`WINDOW`] statements), each window
/// through all of them in order, so the timeline holds the table versions of a window or two
/// only. Nothing they do for a statement depends on what an earlier pass did for a later one, so
/// this gives what running each pass over the whole draft gives (a test compares the two); a draft
/// of one window runs exactly that way.
fn run_on(m: &Migration<'_>, config: &Config) -> Rewritten {
    run_in_windows(m, config, WINDOW)
}

/// Statements per window: large enough that a window's bookkeeping is nothing, small enough that
/// its snapshots are a few megabytes.
const WINDOW: usize = 4096;

/// [`run`]'s passes on `m` as it is, in windows of `size` statements: any size gives the same
/// result (tests and the fuzz target compare sizes; a draft of several windows takes the
/// two-thread path of `walk_timeline`).
pub fn run_in_windows(m: &Migration<'_>, config: &Config, size: usize) -> Rewritten {
    let statement_timeouts = timeouts::draft_statement_timeouts(m);
    let locals = tool_locals::held(m, config.one_query_steps);
    let mut out = walk(m, config, size, &statement_timeouts, &locals);
    if statement_timeouts.iter().any(Option::is_some) {
        let regardless = walk(m, config, size, &[], &locals);
        not_applied_under_statement_timeout(m, &statement_timeouts, regardless, &mut out);
    }
    if locals.iter().any(Option::is_some) {
        let regardless = walk(m, config, size, &statement_timeouts, &[]);
        not_applied_under_tool_local(m, &locals, regardless, &mut out);
    }
    out
}

/// [`run_in_windows`]'s walk, the draft's own statement timeouts and the `SET LOCAL`s held in
/// the tool's transaction as given.
fn walk(
    m: &Migration<'_>,
    config: &Config,
    size: usize,
    statement_timeouts: &[Option<&str>],
    tool_locals: &[Option<tool_locals::Held>],
) -> Rewritten {
    let regions = transactions::regions(m, config.catalog.as_ref().is_some_and(|c| c.defers_checks));
    let kept = transactions::kept_by(&regions, m.stmts.len());
    // The passes that read no table versions see the whole draft and every unit at once
    // (`fk_index` the catalogue after the draft, at the end of the walk).
    let no_snapshots = Window::default();
    let ctx = Ctx {
        m,
        config,
        snapshots: &no_snapshots,
        kept: &kept,
        statement_timeouts,
        tool_locals,
        window: 0..m.stmts.len(),
    };
    let ((mut out, fk_index_at), unserved_keys) = walk_timeline(
        m,
        config,
        size,
        |catalog| fk_index::run(&ctx, catalog),
        |windows| {
            let mut out = draft_units(m);
            for (unit, timeout) in out.units.iter_mut().zip(statement_timeouts) {
                unit.under_draft_statement_timeout = timeout.is_some();
            }
            let mut carried = Carried::new(m, config);
            // `transactions` and `timeouts` list their findings after every other pass's, as
            // they would walking the whole draft after the others.
            let (mut by_transactions, mut by_timeouts) = (Findings::default(), Findings::default());
            let mut transactions =
                by_transactions.gather(&mut out, |out| transactions::Transactions::start(&ctx, &regions, out));
            let mut timeouts = timeouts::Timeouts::new(m);
            for window in windows {
                let window_statements = window.statements();
                let ctx = Ctx {
                    m,
                    config,
                    snapshots: &window,
                    kept: &kept,
                    statement_timeouts,
                    tool_locals,
                    window: window_statements,
                };
                let first_generated = out.units.len();
                per_statement(&ctx, &mut out, &mut carried);
                by_transactions.gather(&mut out, |out| transactions.run(&ctx, &regions, out, first_generated));
                by_timeouts.gather(&mut out, |out| timeouts.run(&ctx, &regions, out, first_generated));
            }
            // `fk_index` may still run on the timeline's thread: its findings go here.
            let fk_index_at = out.diagnostics.len();
            for findings in [by_transactions, by_timeouts] {
                out.changes.extend(findings.changes);
                out.diagnostics.extend(findings.diagnostics);
            }
            (out, fk_index_at)
        },
    );
    out.diagnostics.splice(fk_index_at..fk_index_at, unserved_keys);
    out.regions = regions;
    // The units grew past the draft's count by doubling, and a unit's first edit or rule made
    // room for four: hand the slack back before planning allocates (a sixth of the units' memory
    // on a big draft, and as much again in their edits and rules).
    out.units.shrink_to_fit();
    for unit in &mut out.units {
        unit.edits.shrink_to_fit();
        unit.rules.shrink_to_fit();
    }
    out.changes.shrink_to_fit();
    out.diagnostics.shrink_to_fit();
    out
}

/// Findings a pass made, kept aside from the others'.
#[derive(Default)]
struct Findings {
    changes: Vec<Change>,
    diagnostics: Vec<Diagnostic>,
}

impl Findings {
    /// `pass(out)`, whose findings go here.
    fn gather<T>(&mut self, out: &mut Rewritten, pass: impl FnOnce(&mut Rewritten) -> T) -> T {
        std::mem::swap(&mut out.changes, &mut self.changes);
        std::mem::swap(&mut out.diagnostics, &mut self.diagnostics);
        let done = pass(out);
        std::mem::swap(&mut out.changes, &mut self.changes);
        std::mem::swap(&mut out.diagnostics, &mut self.diagnostics);
        done
    }
}

/// Run `passes` on the windows of `size` statements of `m`, in order, as the timeline gives
/// them, and `at_end` on the catalogue after the draft; their results.
///
/// A draft of several windows builds its timeline on a second thread, a window ahead of
/// `passes` (at most two windows wait), and `at_end` runs there too, while `passes` finish: the
/// timeline is a third of the passes' work, and the passes read nothing it does not hand them,
/// so both cores work and the result is the same.
fn walk_timeline<T: Send, R>(
    m: &Migration<'_>,
    config: &Config,
    size: usize,
    at_end: impl FnOnce(Catalog) -> T + Send,
    passes: impl FnOnce(&mut dyn Iterator<Item = Window>) -> R,
) -> (R, T) {
    let size = size.max(1);
    let next =
        move |timeline: &mut Timeline, start: usize| timeline.window(m, start..(start + size).min(m.stmts.len()));
    let starts = (0..m.stmts.len()).step_by(size);
    if m.stmts.len() <= size {
        let mut timeline = Timeline::new(m, config.catalog.as_deref());
        let done = passes(&mut starts.map(|start| next(&mut timeline, start)));
        return (done, at_end(timeline.into_catalog()));
    }
    std::thread::scope(|scope| {
        let (ahead, windows) = std::sync::mpsc::sync_channel(1);
        let timeline = scope.spawn(move || {
            let mut timeline = Timeline::new(m, config.catalog.as_deref());
            for start in starts {
                if ahead.send(next(&mut timeline, start)).is_err() {
                    break;
                }
            }
            // The passes' loop ends here, and they go on while this runs.
            drop(ahead);
            at_end(timeline.into_catalog())
        });
        let done = passes(&mut windows.into_iter());
        (done, timeline.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Report what the rules would rewrite at statements the draft runs under a `statement_timeout`
/// of its own, where they do not apply: `regardless` is the passes run as if the draft set none.
fn not_applied_under_statement_timeout(
    m: &Migration<'_>,
    timeouts: &[Option<&str>],
    regardless: Rewritten,
    out: &mut Rewritten,
) {
    for c in regardless.changes.into_iter().filter(|c| runs_unbounded(c.rule)) {
        let stmt = m.stmts.partition_point(|s| s.span.start <= c.at).saturating_sub(1);
        let Some(timeout) = timeouts.get(stmt).copied().flatten() else { continue };
        let message = format!(
            "{} — not applied: the draft runs this statement under its own statement_timeout = {timeout}, which \
             cancels it if it runs long; the rewrite's step would run without it, to its end, where the draft \
             gives up. Kept as written",
            c.message
        );
        let help = "to get this rewrite, remove the draft's own SET statement_timeout before the statement, or set \
                    it to 0: the rewritten steps block no traffic while they run";
        out.diagnostics.push(Diagnostic::new(c.rule, Severity::Warning, c.span(), message).help(help));
    }
}

/// Report what the rules whose step runs alone would rewrite where a draft `SET LOCAL` holds in
/// the tool's transaction, where they do not apply (see [`tool_locals`]): `regardless` is the
/// passes run as if it held nowhere.
fn not_applied_under_tool_local(
    m: &Migration<'_>,
    locals: &[Option<tool_locals::Held>],
    regardless: Rewritten,
    out: &mut Rewritten,
) {
    for c in regardless.changes.into_iter().filter(|c| tool_locals::runs_alone(c.rule)) {
        let stmt = m.stmts.partition_point(|s| s.span.start <= c.at).saturating_sub(1);
        let Some(held) = locals.get(stmt).and_then(Option::as_ref) else { continue };
        let name = &held.name;
        let (set, until) = if held.local {
            ("SET LOCAL", "to the end of the transaction the migration tool runs the file in")
        } else {
            ("SET", "to the end of the session")
        };
        let message = format!(
            "{} — not applied: the draft's `{set} {name}` holds here, {until}, and every later step repeats it; \
             this rewrite's step must run alone, outside a transaction block, where a runner that sends a file as \
             one query (sqlx, dbmate) cannot repeat it. Kept as written, in a step that repeats the setting, as the \
             draft runs it",
            c.message
        );
        let help = format!(
            "to get this rewrite, set {name} for the runner's connection instead (e.g. PGOPTIONS='-c {name}=…'), or \
             move the statement before the {set}"
        );
        out.diagnostics.push(Diagnostic::new(c.rule, Severity::Warning, c.span(), message).help(help));
    }
}

/// Report what the rules would do inside goose blocks of several statements (and statements
/// psql's `\;` joins into one query), which stay as written: `probe` is the passes run on the draft with those blocks opened
/// ([`Migration::opened`]). Its rewrites there become warnings
/// saying why they are not applied; its other findings there, from rules that skip kept
/// statements, are reported as they are.
fn held_back(m: &Migration<'_>, probe: Rewritten, out: &mut Rewritten) {
    // The body of each statement inside such a block.
    let parts: Vec<&Range<usize>> = m
        .stmts
        .iter()
        .filter(|s| s.section == Section::Up)
        .flat_map(|s| s.parts.iter().map(|(body, _)| body))
        .collect();
    let part = |d: &Diagnostic| {
        let found = parts.iter().find(|b| b.start <= d.at && d.at <= b.end).copied();
        found.filter(|_| !KEPT_RULES.contains(&d.rule) && ![NOT_UNDERSTOOD, transactions::RULE].contains(&d.rule))
    };
    for c in probe.changes {
        let Some(body) = part(&c) else { continue };
        let message = format!(
            "{} — not applied: this statement is sent in one query with others (a goose StatementBegin … \
             StatementEnd block, or statements psql's \\; joins), so pgsafe keeps them as written (with timeouts)",
            c.message
        );
        let help =
            "to get this rewrite, send the statement alone: move it out of the StatementBegin … StatementEnd block \
                    (goose needs a block only for a statement with semicolons inside, such as a function body), or end \
                    the statement before it with ; instead of \\;";
        out.diagnostics.push(Diagnostic::new(c.rule, Severity::Warning, body.clone(), message).help(help));
    }
    for d in probe.diagnostics {
        if let Some(body) = part(&d) {
            let d = if d.at == d.end { d.span_to(body.clone()) } else { d };
            out.diagnostics.push(d);
        }
    }
}

/// What the per-statement passes carry from one statement to the next, so from one window to the
/// next.
struct Carried {
    /// `concurrent-drop-index`: the indexes the draft has built.
    built: concurrent_drop_index::BuiltIndexes,
    /// `set-not-null`: the columns the draft has proven NOT NULL.
    proofs: set_not_null::Proofs,
    /// `partitions`: inside a transaction block of the draft.
    in_tx: bool,
    /// `type-change`: the draft's session time zone and constrained domains.
    type_change: type_change::Carried,
    /// `volatile-default`: the draft's `UPDATE`s by the columns they set (made when first asked).
    fills: volatile_default::Fills,
    /// `set-not-null`, `unique-using-index`: the row types so far (`--schema`, then the draft), by
    /// [`crate::ir::domains::type_key`].
    row_types: rustc_hash::FxHashSet<String>,
    /// `destructive`: what the statements after a rename do (made at the first rename).
    destructive: Option<destructive::Later>,
}

impl Carried {
    fn new(m: &Migration<'_>, config: &Config) -> Carried {
        Carried {
            built: concurrent_drop_index::BuiltIndexes::new(m.runner_transaction),
            proofs: set_not_null::Proofs::new(m.runner_transaction),
            in_tx: false,
            type_change: type_change::Carried::new(m, config),
            fills: volatile_default::Fills::default(),
            row_types: config.catalog.as_ref().map(|c| c.row_types.iter().cloned().collect()).unwrap_or_default(),
            destructive: None,
        }
    }
}

/// A unit for each draft statement, as written.
fn draft_units(m: &Migration<'_>) -> Rewritten {
    Rewritten {
        units: m
            .stmts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                // Already concurrent: PostgreSQL refuses it inside a transaction block. A `CALL`
                // or a `DO` that commits may end transactions, which a step's own would refuse,
                // and may run long, batch by batch, as the draft runs it: without timeouts.
                // (`transactions` puts both back in a draft's transaction.)
                let alone = s.controls_transactions || s.ops.iter().any(|o| o.kind.is_concurrent());
                // A block (or a call) whose code takes table locks runs in a step of its own: it
                // gets the step's lock_timeout, and no other statement's statement_timeout. One
                // that may commit runs in autocommit, as the draft runs it, under the session's
                // lock_timeout: its DDL queues for its locks as any other's.
                let code_locks = s.runs_code.is_some() && s.ops.iter().any(|o| !o.locks.is_empty());
                Unit {
                    at: s.body.start,
                    mode: if alone { Mode::Autocommit } else { Mode::Transaction },
                    long_running: alone && !code_locks,
                    locks: locks_of(s),
                    lock_wait_only: s.runs_code.is_some(),
                    starts_step: code_locks,
                    ends_step: code_locks,
                    ..Unit::draft(i)
                }
            })
            .collect(),
        ..Rewritten::default()
    }
}

/// The locks of every op of `s`, in a vector of exactly their number (collected through
/// `flat_map`, each of a big draft's units held room for four: a sixth of their memory).
fn locks_of(s: &Stmt) -> ThinVec<LockUse> {
    let mut locks = ThinVec::with_capacity(s.ops.iter().map(|o| o.locks.len()).sum());
    locks.extend(s.ops.iter().flat_map(|o| o.locks.iter().cloned()));
    locks
}

/// The passes that look at one statement at a time, in order, over the window's statements.
fn per_statement(ctx: &Ctx<'_, '_>, out: &mut Rewritten, carried: &mut Carried) {
    for (_, s) in ctx.stmts().filter(|(_, s)| s.section == Section::Up) {
        if s.too_deep {
            out.diagnose(
                NOT_UNDERSTOOD,
                s.body.start,
                "this statement nests expressions deeper than pgsafe's parser follows (about 45 levels, or a run of \
                 thousands of operators), so pgsafe cannot tell what it does and leaves it as written: review its \
                 locks and cost by hand, or write it with fewer nested parentheses (a list: IN (…) or = ANY (…))"
                    .into(),
            );
            continue;
        }
        let not_understood = |k: &OpKind| {
            matches!(k, OpKind::Opaque { risky: true } | OpKind::AlterTable { action: Action::NotUnderstood, .. })
        };
        if s.psql() == Some(&Psql::RunsUnseenSql) {
            out.diagnose(
                NOT_UNDERSTOOD,
                s.body.start,
                "this psql command runs SQL that is not in the draft (a file it includes, a shell command, or the \
                 rows of a query run as statements), so nobody has judged its locks: review them by hand. The plan \
                 runs it where the draft does, without pgsafe's timeouts"
                    .into(),
            );
        }
        let through_placeholder =
            |k: &OpKind| matches!(k, OpKind::Other { what } if what == crate::ir::lower::NAME_THROUGH_PLACEHOLDER);
        if let Some(op) = s.ops.iter().find(|op| through_placeholder(&op.kind)) {
            out.diagnose(
                NOT_UNDERSTOOD,
                op.span.start,
                "a placeholder (${…}, {{…}} or a psql variable) stands in part of a name here, which pgsafe cannot \
                 read: a rewrite would have to repeat that name (VALIDATE CONSTRAINT, a NOT NULL check, an index's \
                 name), so pgsafe leaves the statement as written, with timeouts. Review its locks by hand, or write \
                 the name without a placeholder"
                    .into(),
            );
        }
        if let Some(op) = s.ops.iter().find(|op| not_understood(&op.kind)) {
            let why = if crate::ir::lower_type::is_cascade(&ctx.m.src[op.span.clone()]) {
                "with CASCADE, this ALTER TYPE also alters every typed table of the type (CREATE TABLE … OF) under \
                 ACCESS EXCLUSIVE, and ALTER ATTRIBUTE … TYPE rewrites them: pgsafe cannot tell which tables those \
                 are, so review their locks by hand"
            } else {
                "pgsafe could not parse this statement, which may take strong table locks: review its locks by hand"
            };
            out.diagnose(NOT_UNDERSTOOD, if s.is_block() { op.span.start } else { s.body.start }, why.into());
        }
    }
    concurrent_index::run(ctx, out);
    concurrent_drop_index::run(ctx, out, &mut carried.built);
    concurrent_reindex::run(ctx, out);
    fk_not_valid::run(ctx, out);
    check_not_valid::run(ctx, out);
    // Both may name a check that proves a column NOT NULL (`Rewritten::unique_name`): statement
    // by statement, the first name goes to the statement the draft runs first, whatever the
    // window (pass by pass, a later `SET NOT NULL` took it from an earlier key). Their findings
    // are listed pass by pass, as every other pass's.
    let (mut key_changes, mut key_diagnostics) = (Vec::new(), Vec::new());
    for i in ctx.window.clone() {
        if let Some(t) = ctx.m.row_type_made_by(i).filter(|_| ctx.m.stmts[i].section == Section::Up) {
            t.record(&mut carried.row_types);
        }
        let one = Ctx { window: i..i + 1, ..*ctx };
        set_not_null::run(&one, out, &mut carried.proofs, &carried.row_types);
        let (changes, diagnostics) = (out.changes.len(), out.diagnostics.len());
        unique_using_index::run(&one, out, &carried.row_types);
        key_changes.extend(out.changes.drain(changes..));
        key_diagnostics.extend(out.diagnostics.drain(diagnostics..));
    }
    out.changes.append(&mut key_changes);
    out.diagnostics.append(&mut key_diagnostics);
    backfill::run(ctx, out);
    volatile_default::run(ctx, out, &mut carried.fills);
    partitions::run(ctx, out, &mut carried.in_tx);
    destructive::run(ctx, out, &mut carried.destructive);
    type_change::run(ctx, out, &mut carried.type_change);
}
