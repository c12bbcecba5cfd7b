//! The whole draft as IR: its statements in order, each with its ops, section and directives.

use super::action::Action;
use super::code_locks::{Called, Functions, RunsCode};
use super::lower::{lower, AlterHead, Lowered};
use super::name::{key_of, Name};
use super::op::{Op, OpKind, Psql};
use super::savepoints::{Savepoints, UndoLog};
use super::sequence_names::SequenceEvent;
use crate::front::split::{split_in_chunks, MarkerKind, Piece, PieceKind, SplitError};
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use thin_vec::ThinVec;

/// Which part of a goose/dbmate file a statement is in. `Down` statements are never rewritten:
/// they are not part of the forward migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    /// The whole piece: leading trivia, body, `;`, trailing same-line comment.
    pub span: Range<usize>,
    /// The statement itself (empty for trivia).
    pub body: Range<usize>,
    pub terminated: bool,
    pub ops: Vec<Op>,
    pub section: Section,
    /// Rules a `-- pgsafe:ignore` directive turned off for this statement (`None` inside = all).
    pub ignored: ThinVec<Option<String>>,
    /// The parser gave up on an expression nested too deep: only the statement's first words
    /// are understood.
    pub too_deep: bool,
    /// `ALTER TABLE IF EXISTS` / `ONLY`: what a recipe generates for it must keep.
    pub alter: AlterHead,
    /// The migration-tool marker lines among its comments, in order.
    pub markers: ThinVec<ToolMarker>,
    /// It leaves a `(` or `BEGIN` open (a typo) outside a goose block: where it and the
    /// statements after it end is the split's guess.
    pub leaves_open: bool,
    /// A goose `StatementBegin … StatementEnd` block of several statements: each one's body and
    /// how many of `ops` are its (in order). goose sends the block as one query, so the plan keeps
    /// it whole and as written. Empty for any other statement.
    pub parts: ThinVec<(Range<usize>, usize)>,
    /// A `COPY … FROM stdin` the draft leaves without its `;` (at its end): it reads no data
    /// there, and a `;` added to it must come with an empty data line. (Only asked of
    /// unterminated statements: the split's words rule, run again on the body.)
    pub unterminated_copy: bool,
    /// It declares a constraint or constraint trigger `INITIALLY DEFERRED` (checked at the
    /// `COMMIT` of each transaction that writes rows).
    pub defers_checks: bool,
    /// It reads its transaction's start time (`now()`, `CURRENT_TIMESTAMP`, …) as it runs
    /// ([`super::transaction_time`]).
    pub reads_transaction_time: bool,
    /// A query that writes nothing and may run long: it reads a relation or calls code of unknown
    /// duration ([`super::lower_expr::query_may_run_long`]).
    pub query_may_run_long: bool,
    /// How it may read the physical order of the rows it reads ([`super::physical_order`]).
    pub order_read: Option<super::physical_order::OrderRead>,
    /// What it does with the session's sequence values, which `currval()` and `lastval()` read
    /// ([`super::sequence_values`]).
    pub sequence_values: super::sequence_values::SequenceValues,
    /// It may end transactions of its own (a `CALL`, a `DO` that commits): outside a transaction
    /// block it must run in autocommit, as the draft runs it.
    pub controls_transactions: bool,
    /// It may interpolate a psql variable (read loosely, so as to miss none:
    /// [`crate::front::mask::may_interpolate`]).
    pub interpolates: bool,
    /// One of them may be a variable psql sets after every query (`ROW_COUNT`, `ERROR`, …), which
    /// describes the query before it ([`crate::front::mask::may_read_the_last_result`]).
    pub reads_last_result: bool,
    /// A `DO` block that changes its session for the statements after it.
    pub changes_session: Option<super::session::CodeChange>,
    /// A `DO` block, or a call of a function the draft created that takes table locks: code
    /// whose locks pgsafe reads from its words ([`super::code_locks`]).
    pub runs_code: Option<RunsCode>,
}

/// A migration tool's marker alone on a line of a statement's comments (`-- +goose Up`,
/// `-- migrate:up`, sqlx's `-- no-transaction`, goose's `StatementBegin`/`StatementEnd`): runner
/// layouts write their own markers, and a plan keeps a `StatementBegin` right before the
/// statement it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMarker {
    /// The whole line, its line break included.
    pub line: Range<usize>,
    /// goose's `-- +goose StatementBegin`.
    pub opens_block: bool,
    /// goose's `-- +goose StatementEnd`.
    pub closes_block: bool,
    /// It opts out of the tool's transaction (dbmate's `transaction:false`, goose's `NO
    /// TRANSACTION`, sqlx's `-- no-transaction`): a layout keeps that for the draft's down.
    pub no_transaction: bool,
}

impl Stmt {
    pub fn ignores(&self, rule: &str) -> bool {
        self.ignored.iter().any(|r| r.as_deref().is_none_or(|r| r == rule))
    }

    /// Does it run as long as its data takes under locks that block no ordinary traffic (a
    /// `VALIDATE`, a `REFRESH MATERIALIZED VIEW CONCURRENTLY`)? It runs in a transaction of its own
    /// without short timeouts: under them, a long scan the draft completes would be cancelled. A
    /// goose block only when it does nothing else: its other statements may take strong locks, and
    /// the block runs as one.
    pub fn runs_long_without_blocking(&self) -> bool {
        // Every op: a VALIDATE beside another action (`VALIDATE CONSTRAINT c, ALTER COLUMN x SET
        // NOT NULL`, or one pgsafe cannot read) holds that action's lock, often ACCESS EXCLUSIVE,
        // for the whole scan, and must wait for it under the short lock_timeout.
        !self.ops.is_empty() && self.ops.iter().all(|o| o.kind.runs_long_without_blocking())
    }

    /// Does it only validate constraints (see [`Stmt::runs_long_without_blocking`])?
    pub fn validates(&self) -> bool {
        !self.ops.is_empty() && self.ops.iter().all(|o| matches!(o.kind, OpKind::ValidateConstraint { .. }))
    }

    /// Does it hold what pgsafe could not read and may take table locks (the `not-understood`
    /// finding's statements)? A step header must not then say it takes no lock that blocks.
    pub fn may_take_unread_locks(&self) -> bool {
        self.too_deep
            || self.psql() == Some(&Psql::RunsUnseenSql)
            || self.ops.iter().any(|o| {
                matches!(
                    o.kind,
                    OpKind::Opaque { risky: true } | OpKind::AlterTable { action: Action::NotUnderstood, .. }
                )
            })
    }

    /// A goose block of several statements (see [`Stmt::parts`]).
    pub fn is_block(&self) -> bool {
        !self.parts.is_empty()
    }

    pub fn is_trivia(&self) -> bool {
        self.ops.is_empty()
    }

    /// The psql meta-command it is (or the query it sends with `\gexec`).
    pub fn psql(&self) -> Option<&Psql> {
        match self.ops.first().map(|o| &o.kind) {
            Some(OpKind::Psql(p)) => Some(p),
            _ => None,
        }
    }
}

/// Statements from which lowering runs on the thread pool (and at least this many per task).
const PARALLEL_FROM: usize = 256;

/// Drafts from this size on lower while they are split ([`Migration::split_and_lower`]): about
/// a thousand statements, where the split takes a millisecond or more.
const PIPELINE_FROM_BYTES: usize = 64 * 1024;

/// The statement a piece holds, to lower (`None` for trivia, psql commands and an empty
/// statement).
fn body_to_lower(piece: &Piece) -> Option<Range<usize>> {
    match &piece.kind {
        PieceKind::Statement { body, .. } if !body.is_empty() => Some(body.clone()),
        _ => None,
    }
}

/// Lower the statement a piece holds ([`body_to_lower`]). It reads only its own text, so pieces
/// lower in any order and on any thread (parsing is most of a compile's work).
fn lower_piece(src: &str, piece: &Piece) -> Option<Lowered> {
    body_to_lower(piece).map(|body| lower(src, body))
}

/// The draft, lowered. `created` answers "was this relation created earlier in this draft (or in an
/// earlier step of the same plan)?", which means it has no traffic yet.
#[derive(Debug)]
pub struct Migration<'a> {
    pub src: &'a str,
    pub stmts: Vec<Stmt>,
    /// base name → the relations of that name the draft creates (or a directive says an earlier
    /// step created): the directives' first, then the draft's in statement order.
    created: HashMap<String, Vec<Creation>>,
    /// key → 1 + the index of the first statement that creates it for good (no rollback undoes
    /// it): asked for every statement, so a draft that creates and drops the same table many
    /// times must not scan them all.
    first_created: HashMap<Arc<str>, usize>,
    /// key → while a creation the draft later rolled back stood: disjoint `at..until` ranges (see
    /// [`Creation`]) in order. After the rollback the name is the database's again, with its
    /// traffic (`BEGIN; DROP TABLE orders; CREATE TABLE orders …; ROLLBACK;` leaves the live
    /// `orders`). Empty but for drafts that roll back a creation.
    undone: HashMap<Arc<str>, Vec<Range<usize>>>,
    /// Every `search_path` the draft sets, the default first; `path_at[i]` is the one in effect at
    /// statement `i`.
    paths: Vec<Vec<String>>,
    path_at: Vec<u32>,
    /// Facts an earlier step of a plan established (`-- pgsafe:validated-not-null orders.status`),
    /// each with the first statement it is stated before (a flattened plan states each step's).
    facts: HashMap<String, usize>,
    /// The draft's migration tool runs it in one transaction (goose or dbmate markers without
    /// their opt-out: `-- +goose NO TRANSACTION`, `transaction:false`).
    pub runner_transaction: bool,
    /// The functions the draft's statements call whose code pgsafe read (`RunsCode::Calls`), as
    /// each call writes the name.
    pub called: Vec<Called>,
    /// The functions created before the draft (`--schema`) and by it, with what their code does.
    pub functions: Functions,
    /// The names statements give to constraints and relations the catalogue does not follow
    /// ([`super::other_names`]), with the statement's index, in order: PostgreSQL's choice of an
    /// unnamed key's name skips them.
    pub declared: Vec<(usize, String)>,
    /// The domains statements give a constraint to ([`super::domains`]), with the statement's
    /// index, in order.
    pub constrained_domains: Vec<(usize, super::domains::TypeOver)>,
    /// The row types statements make ([`super::row_types`]), with the statement's index, in order.
    pub row_types: Vec<(usize, super::domains::TypeOver)>,
    /// The operator names statements make ([`super::user_operators`]), with the statement's
    /// index, in order.
    pub user_operators: Vec<(usize, String)>,
    /// The views statements create or replace ([`super::views`]), with the statement's index, in
    /// order.
    pub views_made: Vec<(usize, Name)>,
    /// What statements do to sequences by name ([`super::sequence_names`]: an identity column's,
    /// a rename, a drop), with the statement's index, in order: read for [`Self::created_before`].
    sequence_events: Vec<(usize, SequenceEvent)>,
}

/// A relation the draft creates.
#[derive(Debug, Clone)]
struct Creation {
    /// `schema.name`: an unqualified name is created in the first schema of the `search_path`.
    key: Arc<str>,
    /// 1 + index of the creating statement; 0 for a directive (then `key` is as written).
    at: usize,
    /// 1 + index of the statement whose rollback undid it (`usize::MAX`: none did).
    until: usize,
    /// A sequence (`ALTER TABLE s RENAME TO|SET SCHEMA` then renames or moves it as `ALTER
    /// SEQUENCE` does).
    sequence: bool,
}

impl Creation {
    fn new(key: Arc<str>, at: usize) -> Creation {
        Creation { key, at, until: usize::MAX, sequence: false }
    }
}

/// For each key the draft creates, its first creation for good, and while each of those it rolled
/// back stood (see [`Migration::created_before`]).
#[allow(clippy::type_complexity)]
fn first_creations(
    created: &HashMap<String, Vec<Creation>>,
) -> (HashMap<Arc<str>, usize>, HashMap<Arc<str>, Vec<Range<usize>>>) {
    let mut first: HashMap<Arc<str>, usize> = HashMap::default();
    let mut undone: HashMap<Arc<str>, Vec<Range<usize>>> = HashMap::default();
    for c in created.values().flatten().filter(|c| c.at != 0) {
        if c.until == usize::MAX {
            let at = first.entry(c.key.clone()).or_insert(c.at);
            *at = (*at).min(c.at);
        } else {
            undone.entry(c.key.clone()).or_default().push(c.at..c.until);
        }
    }
    // Merged into disjoint ranges, so a statement finds its one by binary search.
    for ranges in undone.values_mut() {
        ranges.sort_unstable_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        *ranges = merged;
    }
    (first, undone)
}

/// The `search_path` of a session that did not set one (`"$user"` is skipped: pgsafe assumes no
/// schema is named after the role).
const DEFAULT_PATH: &[&str] = &["public"];

/// The schemas of `SET search_path TO a, "B", public` (folded; `$user` and `pg_catalog` skipped).
fn search_path(value: &str) -> Vec<String> {
    if value.trim().eq_ignore_ascii_case("default") {
        return DEFAULT_PATH.iter().map(|s| s.to_string()).collect();
    }
    value
        .split(',')
        .map(|p| p.trim().trim_matches('\''))
        .filter(|p| !p.is_empty())
        .map(key_of)
        .filter(|p| p != "$user" && p != "pg_catalog")
        .collect()
}

/// The marker lines of a piece: markers alone on their line, `-- pgsafe:ignore` directives aside
/// (they belong to the statement).
fn tool_markers(src: &str, piece: &Piece) -> Vec<ToolMarker> {
    let mut out: Vec<ToolMarker> = Vec::new();
    for m in &piece.markers {
        if matches!(m.kind, MarkerKind::PgsafeIgnore(_)) {
            continue;
        }
        // A lone `\r` breaks the line too, as for the split (and PostgreSQL's `--` comments).
        let start = src[..m.span.start].rfind(['\n', '\r']).map_or(0, |i| i + 1).max(piece.span.start);
        let rest = &src[m.span.start..];
        let end = match rest.find(['\n', '\r']) {
            Some(i) if rest[i..].starts_with("\r\n") => m.span.start + i + 2,
            Some(i) => m.span.start + i + 1,
            None => src.len(),
        }
        .min(piece.span.end);
        // Alone on its line as the split reads it (a byte-order mark is blank there too).
        let alone = crate::front::split::at_line_start(src, m.span.start);
        // A `StatementBegin` that a section marker follows opens nothing (see the split).
        let section_after = || piece.markers.iter().any(|n| n.span.start > m.span.start && n.kind.starts_section());
        let no_transaction = matches!(m.kind, MarkerKind::NoTransaction | MarkerKind::GooseNoTransaction);
        if alone && out.last().is_none_or(|c| c.line.end <= start) {
            out.push(ToolMarker {
                line: start..end,
                opens_block: m.kind == MarkerKind::GooseStatementBegin && !section_after(),
                closes_block: m.kind == MarkerKind::GooseStatementEnd,
                no_transaction,
            });
        } else if let Some(last) = out.last_mut().filter(|c| c.line == (start..end)) {
            // dbmate's `-- migrate:down transaction:false` is two markers on one line.
            last.no_transaction |= no_transaction;
        }
    }
    out
}

/// What each statement creates (into `created`), every `search_path` the draft sets (the default
/// first) and the one in effect at each statement. `sequence_events` are what statements do to
/// sequences by name, in statement order.
fn positions(
    stmts: &[Stmt],
    created: &mut HashMap<String, Vec<Creation>>,
    runner_transaction: bool,
    sequence_events: &[(usize, SequenceEvent)],
) -> (Vec<Vec<String>>, Vec<u32>) {
    let mut paths: Vec<Vec<String>> = vec![search_path("DEFAULT")];
    let mut path_at = Vec::with_capacity(stmts.len());
    // As PostgreSQL keeps it: the path in force (an index into `paths`), the session's outside any
    // transaction, and in a transaction the session's it will commit (a `SET LOCAL` lasts to the
    // transaction's end; a `ROLLBACK` undoes a `SET`). A runner that runs the file in one
    // transaction makes every statement of it one.
    let (mut current, mut session, mut committing, mut in_transaction) = (0, 0, 0, runner_transaction);
    // The transaction's savepoints, each with the paths (current, committing) where it was set: a
    // `ROLLBACK TO` undoes the `SET`s made after it.
    let mut savepoints: Savepoints<(usize, usize)> = Savepoints::default();
    // The creations of the open transaction block, in order (base name, place in `created`): a
    // rollback undoes those made since the point it returns to.
    let mut made_in_block: UndoLog<(String, usize)> = UndoLog::new(runner_transaction);
    // The paths (current, session, committing) where each open psql `\if` began. A branch that
    // set another may not have run: after it the path is unknown (an empty one, under which no
    // unqualified name counts as created by the draft).
    let mut branches: Vec<[usize; 3]> = Vec::new();
    // Temporary tables created `ON COMMIT DROP` in the open transaction.
    let mut drop_at_commit: Vec<&Name> = Vec::new();
    // The base names of relations the draft did not create that it dropped, renamed or moved: the
    // application may reach what takes such a name (a swap), and a table renamed keeps its
    // sequences (a new table of its name gets `t_id_seq1`).
    let mut taken_from_live: HashSet<String> = HashSet::default();
    // The sequences the draft made that a table owns: they go with it.
    let mut owned = Owned::new(runner_transaction);
    let unknown = |paths: &mut Vec<Vec<String>>| match paths.iter().position(Vec::is_empty) {
        Some(k) => k,
        None => {
            paths.push(Vec::new());
            paths.len() - 1
        }
    };
    // What the statement's ops do to the sequences the draft made (`ALTER TABLE s RENAME TO`).
    let mut op_events: Vec<SequenceEvent> = Vec::new();
    for (index, s) in stmts.iter().enumerate() {
        path_at.push(current as u32);
        for op in s.ops.iter().filter(|_| s.section == Section::Up) {
            for (base, k) in made_in_block.follow(&op.kind) {
                if let Some(c) = created.get_mut(&base).and_then(|list| list.get_mut(k)) {
                    c.until = index + 1;
                }
            }
            owned.follow(&op.kind);
            match &op.kind {
                OpKind::Begin if !in_transaction => {
                    (in_transaction, committing) = (true, session);
                    savepoints.clear();
                }
                OpKind::Commit { rollback } if in_transaction => {
                    session = if *rollback { session } else { committing };
                    (current, in_transaction) = (session, false);
                    savepoints.clear();
                }
                OpKind::Savepoint { name, action } if in_transaction => {
                    if let Some(back) = savepoints.run(name, *action, || (current, committing)) {
                        (current, committing) = back;
                    }
                }
                OpKind::Psql(Psql::If) => branches.push([current, session, committing]),
                OpKind::Psql(Psql::Else | Psql::EndIf) => {
                    if let Some(&before) = branches.last() {
                        for (now, then) in [&mut current, &mut session, &mut committing].into_iter().zip(before) {
                            if *now != then {
                                *now = unknown(&mut paths);
                            }
                        }
                    }
                    if matches!(op.kind, OpKind::Psql(Psql::EndIf)) {
                        branches.pop();
                    }
                }
                _ => {}
            }
            // Outside a transaction `SET LOCAL` does nothing.
            if let Some((value, local)) = op.kind.setting("search_path").filter(|&(_, local)| in_transaction || !local)
            {
                paths.push(search_path(value));
                current = paths.len() - 1;
                match (in_transaction, local) {
                    (false, _) => session = current,
                    (true, false) => committing = current,
                    (true, true) => {}
                }
            }
            // A relation the draft created stops being new where it goes: dropped (a temporary
            // table shadowed the schema's table of its name, which is the database's again, with
            // its traffic: `CREATE TEMP TABLE orders …; DROP TABLE orders;` leaves the live
            // `orders`, whose index build then needs CONCURRENTLY), renamed or moved to another
            // schema (the old name may be a live table's), or a temporary table the session
            // discards.
            // A table's sequences (`serial`, identity) go with it, and follow it renamed or moved
            // (a move takes them to its new schema); so does a column's (`DROP COLUMN`).
            let path = &paths[current];
            let end = |created: &mut _, taken_from_live: &mut HashSet<String>, t: &Name| {
                let key = end_creation(created, path, t, index);
                if key.is_none() {
                    taken_from_live.insert(t.base().to_string());
                }
                key
            };
            // `ALTER TABLE s RENAME TO|SET SCHEMA` of a sequence the draft made: as `ALTER
            // SEQUENCE` does it.
            let is_sequence =
                |t: &Name| standing(created, path, t).is_some_and(|c| c.sequence && found_first(path, t, &c.key));
            match &op.kind {
                OpKind::AlterTable { table, action: Action::RenameTable { to }, .. } if is_sequence(table) => {
                    op_events.push(SequenceEvent::Renamed { from: table.clone(), to: to.base().to_string() });
                }
                OpKind::AlterTable { table, action: Action::SetSchema { schema }, .. } if is_sequence(table) => {
                    op_events.push(SequenceEvent::Moved { from: table.clone(), schema: schema.key.to_string() });
                }
                OpKind::DropTable { tables, .. } => {
                    for t in tables {
                        let key = end(created, &mut taken_from_live, t);
                        owned.table_gone(created, t, key.as_deref(), index);
                    }
                }
                // Renamed or moved, a new table may take the name of one the application uses
                // (the swap: `DROP TABLE t; ALTER TABLE t_new RENAME TO t`), whose traffic it then
                // gets: pgsafe counts it live under its new name.
                OpKind::AlterTable { table, action: Action::RenameTable { to }, .. } => {
                    let key = end(created, &mut taken_from_live, table);
                    owned.table_moved(table, key.as_deref(), None, to.base());
                }
                OpKind::AlterTable { table, action: Action::SetSchema { schema }, .. } => {
                    let key = end(created, &mut taken_from_live, table);
                    for (base, from, to) in owned.table_moved(table, key.as_deref(), Some(&schema.key), table.base()) {
                        if end_key(created, &base, &from, index) && !taken_from_live.contains(&base) {
                            record_creation(created, &mut made_in_block, base, to.into(), index, true);
                        } else {
                            owned.forget(&to);
                        }
                    }
                }
                OpKind::AlterTable { table, action: Action::DropColumn { column, .. }, .. } => {
                    let key = resolved(created, path, table);
                    owned.column_gone(created, table, key.as_deref(), &column.key, false, index);
                }
                OpKind::AlterTable { table, action: Action::RenameColumn { from, to }, .. } => {
                    let key = resolved(created, path, table);
                    owned.column_renamed(table, key.as_deref(), &from.key, &to.key);
                }
                OpKind::DiscardTemp => {
                    end_in_schemas(created, &[PG_TEMP.to_string()], index);
                    owned.schemas_gone(created, &[PG_TEMP.to_string()], index);
                }
                OpKind::SchemaGone { schemas } => {
                    end_in_schemas(created, schemas, index);
                    owned.schemas_gone(created, schemas, index);
                }
                // So is a view: its locks name the views (`lower_object`).
                kind if kind.ends_views() => op.locks.iter().for_each(|l| {
                    end(created, &mut taken_from_live, &l.table);
                }),
                _ => {}
            }
            // `IF NOT EXISTS` may well find the relation there, with its traffic.
            if let OpKind::CreateTable { table, def } = &op.kind {
                if def.temporary && def.drop_on_commit && !def.if_not_exists {
                    // Gone at its transaction's end: this statement's own, outside a block.
                    drop_at_commit.push(table);
                }
            }
            let made = match &op.kind {
                OpKind::CreateTable { table, def } if !def.if_not_exists => {
                    Some((table, def.temporary.then_some(PG_TEMP)))
                }
                OpKind::CreateIndex { name: Some(name), if_not_exists: false, .. } => Some((name, None)),
                OpKind::CreateView { view, temporary } => Some((view, temporary.then_some(PG_TEMP))),
                OpKind::CreateSequence { sequence, temporary } => Some((sequence, temporary.then_some(PG_TEMP))),
                _ => None,
            };
            // A new table's `serial` columns make their sequences (`t_c_seq`, in the table's schema),
            // unless an old table of its name was renamed away, keeping its own `t_c_seq`.
            let serials = match &op.kind {
                OpKind::CreateTable { table, def } if !def.if_not_exists && !taken_from_live.contains(table.base()) => {
                    serial_sequences(table, def)
                }
                _ => Vec::new(),
            };
            let sequence = matches!(op.kind, OpKind::CreateSequence { .. });
            let serials = serials.iter().map(|(s, c)| (s, made.and_then(|(_, schema)| schema), Some(c.as_str())));
            // The new table's key, which owns its serials.
            let mut table_key: Option<(Arc<str>, &str)> = None;
            for (name, schema, column) in made.map(|(name, schema)| (name, schema, None)).into_iter().chain(serials) {
                let path = &paths[current];
                let key = match schema.or(path.first().map(String::as_str)) {
                    _ if name.key.contains('.') => name.key.clone(),
                    Some(schema) => format!("{schema}.{}", name.key).into(),
                    None => name.key.clone(),
                };
                match table_key {
                    None => table_key = Some((key.clone(), name.base())),
                    Some((ref table, table_base)) => owned.add(table, table_base, name.base(), &key, column, false),
                }
                record_creation(
                    created,
                    &mut made_in_block,
                    name.base().to_string(),
                    key,
                    index,
                    sequence || column.is_some(),
                );
            }
            if !in_transaction {
                for table in drop_at_commit.drain(..) {
                    end_creation(created, &[PG_TEMP.to_string()], table, index);
                }
            }
        }
        if s.section == Section::Up {
            let first = sequence_events.partition_point(|(i, _)| *i < index);
            let events = sequence_events[first..].iter().take_while(|(i, _)| *i == index).map(|(_, e)| e);
            let events = events.chain(op_events.iter());
            let follow = SequenceFollow {
                path: &paths[current],
                stmt: s,
                index,
                taken_from_live: &mut taken_from_live,
                owned: &mut owned,
            };
            follow.run(created, &mut made_in_block, events);
        }
        op_events.clear();
    }
    (paths, path_at)
}

/// Record that statement `index` creates `key` (its base name `base`), undone by a rollback.
fn record_creation(
    created: &mut HashMap<String, Vec<Creation>>,
    made_in_block: &mut UndoLog<(String, usize)>,
    base: String,
    key: Arc<str>,
    index: usize,
    sequence: bool,
) {
    let list = created.entry(base.clone()).or_default();
    made_in_block.record(|| (base, list.len()));
    list.push(Creation { sequence, ..Creation::new(key, index + 1) });
}

/// What one statement does to sequences by name, followed into the creations
/// ([`super::sequence_names`]).
struct SequenceFollow<'p, 's> {
    /// The `search_path` in force.
    path: &'p [String],
    stmt: &'s Stmt,
    index: usize,
    taken_from_live: &'p mut HashSet<String>,
    owned: &'p mut Owned,
}

impl SequenceFollow<'_, '_> {
    /// An identity column (or a `serial` one `ADD COLUMN` adds) makes its sequence in its table's
    /// schema, where that schema is certain; a sequence the draft made, renamed or moved to
    /// another schema, is new under its new name (unless a relation the draft did not make had
    /// the name: the application may name it, as after a swap); dropped, it is new no more. A
    /// column's sequence is its table's ([`Owned`]): dropped with it, or with its column (`DROP
    /// IDENTITY` too); `OWNED BY t.c` gives it to `t.c`, `OWNED BY NONE` to no table.
    fn run<'e>(
        self,
        created: &mut HashMap<String, Vec<Creation>>,
        made_in_block: &mut UndoLog<(String, usize)>,
        events: impl Iterator<Item = &'e SequenceEvent>,
    ) {
        let (path, index) = (self.path, self.index);
        // (base name, key, column, identity) of each sequence made: its table's columns' (which
        // it owns).
        let mut made: Vec<(String, String, String, bool)> = self.serials_added(created);
        // (base name, key) of each renamed or moved.
        let mut renamed: Vec<(String, String)> = Vec::new();
        for event in events {
            match event {
                SequenceEvent::Identity { column, named } => {
                    if let Some((base, key)) = self.identity(created, column, named.as_ref()) {
                        made.push((base, key, column.clone(), true));
                    }
                }
                SequenceEvent::Renamed { from, to } => match end_creation(created, path, from, index) {
                    Some(key) if !self.taken_from_live.contains(to) && found_first(path, from, &key) => {
                        let schema = &key[..key.len() - from.base().len()];
                        let new_key = format!("{schema}{to}");
                        self.owned.renamed(&key, to, &new_key);
                        renamed.push((to.clone(), new_key));
                    }
                    Some(key) => self.owned.forget(&key),
                    None => {
                        self.taken_from_live.insert(from.base().to_string());
                    }
                },
                SequenceEvent::Moved { from, schema } => match end_creation(created, path, from, index) {
                    Some(key) if !self.taken_from_live.contains(from.base()) && found_first(path, from, &key) => {
                        let new_key = format!("{schema}.{}", from.base());
                        self.owned.renamed(&key, from.base(), &new_key);
                        renamed.push((from.base().to_string(), new_key));
                    }
                    Some(key) => self.owned.forget(&key),
                    None => {
                        self.taken_from_live.insert(from.base().to_string());
                    }
                },
                SequenceEvent::Dropped { names } => {
                    for name in names {
                        match end_creation(created, path, name, index) {
                            Some(key) => self.owned.forget(&key),
                            None => {
                                self.taken_from_live.insert(name.base().to_string());
                            }
                        }
                    }
                }
                // The table is in the sequence's schema (PostgreSQL refuses another). Where the
                // name may find a live sequence first, the draft's is new no more.
                SequenceEvent::OwnedBy { sequence, by } => {
                    if let Some(key) = standing(created, path, sequence).map(|c| c.key.clone()) {
                        self.owned.forget(&key);
                        if !found_first(path, sequence, &key) {
                            end_key(created, sequence.base(), &key, index);
                            continue;
                        }
                        if let Some((table, column)) = by {
                            let schema = &key[..key.len() - sequence.base().len()];
                            let table_key = format!("{schema}{table}");
                            self.owned.add(&table_key, table, sequence.base(), &key, Some(column), false);
                        }
                    }
                }
                SequenceEvent::IdentityDropped { column } => {
                    let table = self.stmt.ops.iter().find_map(|o| match &o.kind {
                        OpKind::AlterTable { table, .. } => Some(table),
                        _ => None,
                    });
                    if let Some(table) = table {
                        let key = resolved(created, path, table);
                        self.owned.column_gone(created, table, key.as_deref(), column, true, index);
                    }
                }
            }
        }
        if let Some((table, schema)) = self.table(created).filter(|_| !made.is_empty()) {
            let (key, base) = (format!("{schema}.{}", table.base()), table.base().to_string());
            for (seq, seq_key, column, identity) in &made {
                self.owned.add(&key, &base, seq, seq_key, Some(column), *identity);
            }
        }
        let made = made.into_iter().map(|(base, key, ..)| (base, key));
        for (base, key) in made.chain(renamed) {
            let list = created.entry(base.clone()).or_default();
            if list.iter().any(|c| c.at != 0 && c.until == usize::MAX && *c.key == *key) {
                continue;
            }
            record_creation(created, made_in_block, base, key.into(), index, true);
        }
    }

    /// The table the statement makes or alters, and its schema, where that is certain: its own
    /// when qualified; a new table's, where it is created; an altered one's, where its name
    /// resolves (one the draft made there, or the path's one schema).
    fn table(&self, created: &HashMap<String, Vec<Creation>>) -> Option<(&Name, String)> {
        let (table, temporary) = self.stmt.ops.iter().find_map(|o| match &o.kind {
            OpKind::CreateTable { table, def } if !def.if_not_exists => Some((table, Some(def.temporary))),
            OpKind::AddColumn { table, .. } | OpKind::AlterTable { table, .. } => Some((table, None)),
            _ => None,
        })?;
        if let Some(schema) = table.key.strip_suffix(table.base()).and_then(|s| s.strip_suffix('.')) {
            return Some((table, schema.to_string()));
        }
        let path = self.path;
        let standing = |schema: &str| {
            let key = format!("{schema}.{}", table.base());
            created
                .get(table.base())
                .is_some_and(|l| l.iter().any(|c| c.at != 0 && c.until == usize::MAX && *c.key == *key))
        };
        let schemas: Vec<&String> = path.iter().filter(|s| *s != PG_TEMP).collect();
        let schema = match temporary {
            Some(true) => PG_TEMP.to_string(),
            Some(false) => path.first()?.clone(),
            None if temp_searched_first(path) && standing(PG_TEMP) => PG_TEMP.to_string(),
            None if standing(PG_TEMP) => return None,
            None => {
                let first = schemas.first()?;
                (schemas.len() == 1 || standing(first)).then(|| first.to_string())?
            }
        };
        Some((table, schema))
    }

    /// The key of the sequence an identity column `column` makes.
    fn identity(
        &self,
        created: &HashMap<String, Vec<Creation>>,
        column: &str,
        named: Option<&Name>,
    ) -> Option<(String, String)> {
        let (table, schema) = self.table(created)?;
        match named {
            Some(n) if n.key.len() > n.base().len() => Some((n.base().to_string(), n.key.to_string())),
            Some(n) => Some((n.base().to_string(), format!("{schema}.{}", n.base()))),
            None => self.default_name(table, &schema, column),
        }
    }

    /// `table_column_seq` in `schema`, PostgreSQL's first choice, unless an old relation of the
    /// table's name was renamed away (its sequences keep their names, so the new one's differs).
    fn default_name(&self, table: &Name, schema: &str, column: &str) -> Option<(String, String)> {
        let name = super::name::make_object_name(table.base(), column, "seq");
        (!self.taken_from_live.contains(table.base())).then(|| (name.clone(), format!("{schema}.{name}")))
    }

    /// The sequences of the `serial` columns `ADD COLUMN` adds (not `IF NOT EXISTS`): (base
    /// name, key, column, identity).
    fn serials_added(&self, created: &HashMap<String, Vec<Creation>>) -> Vec<(String, String, String, bool)> {
        let serial = ["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];
        let columns = self.stmt.ops.iter().filter_map(|o| match &o.kind {
            OpKind::AddColumn { column, type_text, if_not_exists: false, .. }
                if serial.contains(&type_text.as_str()) =>
            {
                Some(column)
            }
            _ => None,
        });
        let columns: Vec<&String> = columns.collect();
        if columns.is_empty() {
            return Vec::new();
        }
        let Some((table, schema)) = self.table(created) else { return Vec::new() };
        let made = columns.into_iter().filter_map(|c| Some((self.default_name(table, &schema, c)?, c)));
        made.map(|((base, key), c)| (base, key, c.clone(), false)).collect()
    }
}

/// The sequences the `serial` columns of a new table make, with their columns: `table_column_seq`
/// in the table's schema, as PostgreSQL names them when the name fits in 63 bytes (a longer one is
/// cut, and left out here).
fn serial_sequences(table: &Name, def: &super::op::TableDef) -> Vec<(Name, String)> {
    let serial = ["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let schema = table.key.rsplit_once('.').map(|(s, _)| s);
    if !schema.is_none_or(plain) {
        return Vec::new();
    }
    def.columns
        .iter()
        .filter(|c| serial.contains(&c.type_text.as_str()))
        .map(|c| (format!("{}_{}_seq", table.base(), c.name), &c.name))
        .filter(|(seq, _)| seq.len() <= 63 && plain(seq))
        .map(|(seq, c)| (Name::new(&schema.map_or(seq.clone(), |s| format!("{s}.{seq}"))), c.clone()))
        .collect()
}

/// The sequences the draft made that a table owns (a `serial` or identity column's, or one given
/// it by `OWNED BY`, by keys as in `created`): PostgreSQL drops them with their table or their
/// column, and they follow it renamed or moved.
struct Owned {
    list: Vec<OwnedSequence>,
    /// The entries the open transaction block (or psql branch) removed or changed, as they were:
    /// a rollback puts them back beside what replaced them (the end of a branch that may not
    /// have run, too), so a sequence is owned by every table that may own it.
    undo: UndoLog<OwnedSequence>,
}

#[derive(Clone, PartialEq, Eq)]
struct OwnedSequence {
    table: String,
    table_base: String,
    base: String,
    key: String,
    /// The names its column may have (folded): renamed where pgsafe is unsure of the table,
    /// both.
    columns: Vec<String>,
    /// An identity column's (`DROP IDENTITY` drops it).
    identity: bool,
}

impl OwnedSequence {
    fn table_schema(&self) -> &str {
        &self.table[..self.table.len() - self.table_base.len()]
    }
}

impl Owned {
    fn new(runner_transaction: bool) -> Owned {
        Owned { list: Vec::new(), undo: UndoLog::new(runner_transaction) }
    }

    /// Op `kind` runs: a rollback (or a branch's end) puts back the entries it undoes.
    fn follow(&mut self, kind: &OpKind) {
        for o in self.undo.follow(kind) {
            if !self.list.contains(&o) {
                self.list.push(o);
            }
        }
    }

    fn add(&mut self, table: &str, table_base: &str, base: &str, key: &str, column: Option<&str>, identity: bool) {
        let (table, table_base, base, key) = (table.into(), table_base.into(), base.into(), key.into());
        let columns = column.map(str::to_string).into_iter().collect();
        self.list.push(OwnedSequence { table, table_base, base, key, columns, identity });
    }

    /// Is `o` owned by the table `t` names, which is the draft's table `key` where the name found
    /// one? Otherwise any table of its name (in its schema, where written) may be the one.
    fn owned_by(o: &OwnedSequence, t: &Name, key: Option<&str>) -> bool {
        match key {
            Some(key) => o.table == key,
            None if t.key.contains('.') => *o.table == *t.key,
            None => o.table_base == t.base(),
        }
    }

    /// Keep the entries `keep` says, ending the creations of the others at statement `index`.
    fn end_unless(
        &mut self,
        created: &mut HashMap<String, Vec<Creation>>,
        index: usize,
        keep: impl Fn(&OwnedSequence) -> bool,
    ) {
        let undo = &mut self.undo;
        self.list.retain(|o| {
            let gone = !keep(o);
            if gone {
                end_key(created, &o.base, &o.key, index);
                undo.record(|| o.clone());
            }
            !gone
        });
    }

    /// Change the entries `which` says with `change`, logging them as they were.
    fn change(&mut self, which: impl Fn(&OwnedSequence) -> bool, mut change: impl FnMut(&mut OwnedSequence)) {
        for o in self.list.iter_mut().filter(|o| which(o)) {
            self.undo.record(|| o.clone());
            change(o);
        }
    }

    /// Table `t` dropped at statement `index`: its sequences are new no more.
    fn table_gone(&mut self, created: &mut HashMap<String, Vec<Creation>>, t: &Name, key: Option<&str>, index: usize) {
        self.end_unless(created, index, |o| !Self::owned_by(o, t, key));
    }

    /// Column `column` (folded) of table `t` dropped at statement `index`, or (`identity`) its
    /// identity: its sequences are new no more.
    fn column_gone(
        &mut self,
        created: &mut HashMap<String, Vec<Creation>>,
        t: &Name,
        key: Option<&str>,
        column: &str,
        identity: bool,
        index: usize,
    ) {
        let gone = |o: &OwnedSequence| {
            Self::owned_by(o, t, key) && o.columns.iter().any(|c| c == column) && (o.identity || !identity)
        };
        self.end_unless(created, index, |o| !gone(o));
    }

    /// Column `from` of table `t` renamed `to` (folded): where pgsafe is unsure which table `t`
    /// is, an owner of either name.
    fn column_renamed(&mut self, t: &Name, key: Option<&str>, from: &str, to: &str) {
        let sure = key.is_some() || t.key.contains('.');
        self.change(
            |o| Self::owned_by(o, t, key) && o.columns.iter().any(|c| c == from),
            |o| {
                if sure {
                    o.columns.retain(|c| c != from);
                }
                o.columns.push(to.to_string());
            },
        );
    }

    /// Table `t` renamed to `base`, or moved to `schema` (folded), which takes its sequences
    /// there: those moved, (base name, old key, new key).
    fn table_moved(
        &mut self,
        t: &Name,
        key: Option<&str>,
        schema: Option<&str>,
        base: &str,
    ) -> Vec<(String, String, String)> {
        let mut moved = Vec::new();
        self.change(
            |o| Self::owned_by(o, t, key),
            |o| {
                let table_schema = schema.map_or_else(|| o.table_schema().to_string(), |s| format!("{s}."));
                if schema.is_some() {
                    let to = format!("{table_schema}{}", o.base);
                    moved.push((o.base.clone(), std::mem::replace(&mut o.key, to.clone()), to));
                }
                (o.table, o.table_base) = (format!("{table_schema}{base}"), base.to_string());
            },
        );
        moved
    }

    /// Every table in `schemas` dropped at statement `index`.
    fn schemas_gone(&mut self, created: &mut HashMap<String, Vec<Creation>>, schemas: &[String], index: usize) {
        self.end_unless(created, index, |o| !schemas.iter().any(|s| o.table_schema().strip_suffix('.') == Some(s)));
    }

    /// The sequence `key` renamed to `base` (its new key `to`).
    fn renamed(&mut self, key: &str, base: &str, to: &str) {
        self.change(|o| o.key == key, |o| (o.base, o.key) = (base.to_string(), to.to_string()));
    }

    /// The sequence `key` dropped, moved or given up.
    fn forget(&mut self, key: &str) {
        let undo = &mut self.undo;
        self.list.retain(|o| {
            let keep = o.key != key;
            if !keep {
                undo.record(|| o.clone());
            }
            keep
        });
    }
}

/// End at statement `index` the standing creation of `key` (its base name `base`), if there is
/// one (then `true`).
fn end_key(created: &mut HashMap<String, Vec<Creation>>, base: &str, key: &str, index: usize) -> bool {
    let list = created.get_mut(base).into_iter().flatten();
    match list.rev().find(|c| c.at != 0 && c.until == usize::MAX && *c.key == *key) {
        Some(c) => {
            c.until = index + 1;
            true
        }
        None => false,
    }
}

/// End at statement `index` every standing creation in one of `schemas` (folded).
fn end_in_schemas(created: &mut HashMap<String, Vec<Creation>>, schemas: &[String], index: usize) {
    let in_them = |key: &str| key.split_once('.').is_some_and(|(s, _)| schemas.iter().any(|g| g == s));
    for c in created.values_mut().flatten().filter(|c| c.at != 0 && c.until == usize::MAX && in_them(&c.key)) {
        c.until = index + 1;
    }
}

/// End at statement `index` the standing creation `t` names under `path` (the `search_path` in
/// force), if the draft made one: the first of the relations the name may be, in the order
/// PostgreSQL looks (the temporary table first, unless the path lists `pg_temp` later). Its key,
/// if it ended one.
fn end_creation(
    created: &mut HashMap<String, Vec<Creation>>,
    path: &[String],
    t: &Name,
    index: usize,
) -> Option<Arc<str>> {
    let key = standing(created, path, t)?.key.clone();
    end_key(created, t.base(), &key, index);
    Some(key)
}

/// Is `key`, a creation of the draft's `t` names, what PostgreSQL finds first under `path`? So it
/// is when the name is qualified, or the creation is in the path's first schema (or is temporary,
/// searched first): no live relation of the name can come before it.
fn found_first(path: &[String], t: &Name, key: &str) -> bool {
    let schema = &key[..key.len() - t.base().len()];
    let first = path.iter().find(|s| *s != PG_TEMP).map(String::as_str);
    t.key.contains('.')
        || (schema == "pg_temp." && temp_searched_first(path))
        || first.is_some_and(|f| schema.strip_suffix('.') == Some(f))
}

/// The key of the draft's table `t` names under `path`, where that is certainly what PostgreSQL
/// finds ([`found_first`]).
fn resolved(created: &HashMap<String, Vec<Creation>>, path: &[String], t: &Name) -> Option<Arc<str>> {
    standing(created, path, t).map(|c| c.key.clone()).filter(|key| found_first(path, t, key))
}

/// The standing creation `t` names under `path`, if the draft made one: the first of the
/// relations the name may be, in the order PostgreSQL looks (as [`end_creation`]).
fn standing<'c>(created: &'c HashMap<String, Vec<Creation>>, path: &[String], t: &Name) -> Option<&'c Creation> {
    let list = created.get(t.base())?;
    let candidates: Vec<String> = if t.key.contains('.') {
        vec![t.key.to_string()]
    } else {
        let temp = format!("{PG_TEMP}.{}", t.base());
        let schemas = path.iter().filter(|s| *s != PG_TEMP).map(|s| format!("{s}.{}", t.base()));
        match temp_searched_first(path) {
            true => std::iter::once(temp).chain(schemas).collect(),
            false => schemas.chain(std::iter::once(temp)).collect(),
        }
    };
    candidates.iter().find_map(|key| list.iter().rev().find(|c| c.at != 0 && *c.key == **key && c.until == usize::MAX))
}

/// The session's temporary schema, as a `search_path` names it.
const PG_TEMP: &str = "pg_temp";

/// Does PostgreSQL look for a relation among the temporary tables first under `path`? Unless the
/// path lists `pg_temp` after another schema, which may hold a live table of the name.
fn temp_searched_first(path: &[String]) -> bool {
    path.iter().position(|s| s == PG_TEMP).is_none_or(|k| k == 0)
}

/// Directive pgsafe writes above a step that relies on a fact an earlier step established.
pub const FACT: &str = "-- pgsafe:fact ";

const PARTITIONED: &str = "partitioned ";

/// The fact a plan step records when what pgsafe judged there depends on `table` being
/// partitioned, which the draft showed elsewhere (a `PARTITION OF` in another step): PostgreSQL
/// refuses a concurrent index build and (before 18) a `NOT VALID` foreign key there, and the step
/// compiled again must know it to leave them alone too.
pub fn partitioned_fact(table: &Name) -> String {
    escape_directive(&format!("{PARTITIONED}{}", table.text))
}

const NAME_TAKEN: &str = "name-taken ";

/// The fact a plan step records when it keeps an unnamed key as written because pgsafe cannot
/// tell whether `choice`, PostgreSQL's choice of its name, is taken (by a constraint or a view an
/// earlier step made, say): the step compiled again must stay as unsure.
pub fn name_taken_fact(choice: &str) -> String {
    escape_directive(&format!("{NAME_TAKEN}{choice}"))
}

const USER_OPERATOR: &str = "user-operator ";

/// The fact a plan step records when it keeps a statement as written because an earlier step
/// makes an operator of the name `op` that it uses ([`super::user_operators`]): the step compiled
/// again must know it too.
pub fn user_operator_fact(op: &str) -> String {
    escape_directive(&format!("{USER_OPERATOR}{op}"))
}

const PHYSICAL_ORDER: &str = "physical-order ";

/// The fact a plan step records when it keeps an `UPDATE` or `DELETE` of `table` as written
/// because a later step reads the physical order of its rows ([`super::physical_order`]): the
/// step compiled again, without the later one, must keep it too.
pub fn physical_order_fact(table: &Name) -> String {
    escape_directive(&format!("{PHYSICAL_ORDER}{}", table.text))
}

/// Directive pgsafe writes into later plan steps: these relations were created by an earlier step.
pub const CREATED_EARLIER: &str = "-- pgsafe:created-earlier ";

/// `text` written on a directive's one `--` line: a line break in a quoted name is written `\n`
/// or `\r` (a real one would end the comment there), and a backslash `\\`, so no two texts give
/// one line.
pub fn escape_directive(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

/// The text [`escape_directive`] wrote.
fn unescape_directive(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(e @ ('\\' | 'n' | 'r'))) => {
                out.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    _ => '\\',
                });
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The entries of `list` (in statement order) that statement `i` made.
fn of_statement<T>(list: &[(usize, T)], i: usize) -> impl Iterator<Item = &T> {
    let from = list.partition_point(|(at, _)| *at < i);
    list[from..].iter().take_while(move |(at, _)| *at == i).map(|(_, n)| n)
}

/// The names of a `, `-separated list, where a quoted name may hold a comma.
fn names_in_list(list: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    list.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
}

impl<'a> Migration<'a> {
    pub fn lower(src: &'a str, pieces: &[Piece]) -> Migration<'a> {
        Migration::lower_knowing(src, pieces, Functions::default())
    }

    /// [`Migration::lower`], knowing the functions an earlier migration created (`--schema`):
    /// a call of one takes what its code does.
    pub fn lower_knowing(src: &'a str, pieces: &[Piece], functions: Functions) -> Migration<'a> {
        // A typical file lowers on this thread: starting the thread pool would cost more.
        let lowered: Vec<Option<Lowered>> = if pieces.len() < PARALLEL_FROM {
            pieces.iter().map(|p| lower_piece(src, p)).collect()
        } else {
            pieces.par_iter().with_min_len(PARALLEL_FROM).map(|p| lower_piece(src, p)).collect()
        };
        Migration::assemble(src, pieces, lowered, functions)
    }

    /// Split `src` and lower its statements: a big draft's first statements lower on the thread
    /// pool while the split reads the rest (the split is a sixth of a compile's work on one core,
    /// and the lowering would otherwise wait for all of it). The same as [`split`] then
    /// [`Migration::lower`].
    ///
    /// [`split`]: crate::front::split::split
    pub fn split_and_lower(src: &'a str) -> Result<Migration<'a>, SplitError> {
        Migration::split_and_lower_knowing(src, Functions::default())
    }

    /// [`Migration::split_and_lower`], knowing the functions an earlier migration created.
    pub fn split_and_lower_knowing(src: &'a str, functions: Functions) -> Result<Migration<'a>, SplitError> {
        if src.len() < PIPELINE_FROM_BYTES {
            let pieces = crate::front::split::split(src)?;
            return Ok(Migration::lower_knowing(src, &pieces, functions));
        }
        // Each chunk the split hands out lowers as one task; the tasks finish in any order.
        let done: Mutex<Vec<(usize, Vec<Option<Lowered>>)>> = Mutex::new(Vec::new());
        let pieces = rayon::scope(|scope| {
            let mut chunks = 0;
            split_in_chunks(src, |chunk| {
                let bodies: Vec<Option<Range<usize>>> = chunk.iter().map(body_to_lower).collect();
                let (at, done) = (chunks, &done);
                chunks += 1;
                scope.spawn(move |_| {
                    let lowered = bodies.into_iter().map(|body| body.map(|body| lower(src, body))).collect();
                    done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((at, lowered));
                });
            })
        })?;
        let mut done = done.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        done.sort_unstable_by_key(|(at, _)| *at);
        let mut lowered = Vec::with_capacity(pieces.len());
        done.into_iter().for_each(|(_, chunk)| lowered.extend(chunk));
        Ok(Migration::assemble(src, &pieces, lowered, functions))
    }

    /// The draft from its pieces and what each lowered to ([`lower_piece`], in order): everything
    /// that depends on the order of statements happens here.
    fn assemble(
        src: &'a str,
        pieces: &[Piece],
        mut lowered: Vec<Option<Lowered>>,
        mut functions: Functions,
    ) -> Migration<'a> {
        let mut stmts = Vec::with_capacity(pieces.len());
        let mut section = Section::Up;
        let mut created: HashMap<String, Vec<Creation>> = HashMap::default();
        let mut facts = HashMap::default();
        let mut called = Vec::new();
        let mut declared = Vec::new();
        let (mut constrained_domains, mut row_types, mut user_operators) = (Vec::new(), Vec::new(), Vec::new());
        let mut views_made = Vec::new();
        let mut sequence_events = Vec::new();
        let (mut runner, mut opt_out) = (false, false);
        for (piece, lowered) in pieces.iter().zip(&mut lowered) {
            let mut ignored = Vec::new();
            for m in &piece.markers {
                match &m.kind {
                    MarkerKind::GooseDown | MarkerKind::DbmateDown | MarkerKind::NodePgMigrateDown => {
                        section = Section::Down
                    }
                    MarkerKind::GooseUp | MarkerKind::DbmateUp => {
                        section = Section::Up;
                        runner = true;
                    }
                    MarkerKind::NodePgMigrateUp => section = Section::Up,
                    MarkerKind::GooseNoTransaction | MarkerKind::NoTransaction => opt_out = true,
                    MarkerKind::PgsafeIgnore(rules) if rules.is_empty() => ignored.push(None),
                    MarkerKind::PgsafeIgnore(rules) => ignored.extend(rules.iter().cloned().map(Some)),
                    _ => {}
                }
            }
            let (mut too_deep, mut alter, mut parts) = (false, AlterHead::default(), Vec::new());
            let (mut reads_transaction_time, mut query_may_run_long) = (false, false);
            let mut order_read = None;
            let mut sequence_values = Default::default();
            let (body, terminated, mut ops) = match &piece.kind {
                // A query sent with `\gexec` runs its rows as statements: what it does is not in
                // the draft, so it stays where the draft runs it, as psql commands do.
                PieceKind::Statement { body, terminated }
                    if Psql::of(src[body.end..piece.span.end].trim_start()) == Psql::RunsUnseenSql =>
                {
                    lowered.take();
                    let kind = OpKind::Psql(Psql::RunsUnseenSql);
                    (body.clone(), *terminated, vec![Op { span: body.clone(), kind, locks: Vec::new() }])
                }
                PieceKind::Statement { body, terminated } => {
                    let ops = if body.is_empty() {
                        vec![Op {
                            span: body.clone(),
                            kind: OpKind::Other { what: "empty statement".into() },
                            locks: Vec::new(),
                        }]
                    } else {
                        let lowered = lowered.take().expect("every non-empty statement was lowered");
                        declared.extend(lowered.declared.into_iter().map(|n| (stmts.len(), n)));
                        constrained_domains.extend(lowered.constrains_domain.map(|n| (stmts.len(), *n)));
                        row_types.extend(lowered.row_type.map(|n| (stmts.len(), *n)));
                        user_operators.extend(lowered.operators_made.into_iter().map(|o| (stmts.len(), o)));
                        // A table renamed: its row type under the new name (read from the op: an
                        // `ALTER TABLE` is most of a big draft, and its words are not read again).
                        let renamed = lowered.ops.iter().filter_map(|o| match &o.kind {
                            OpKind::AlterTable { action: Action::RenameTable { to }, .. } => {
                                Some(super::domains::TypeOver { name: to.base().to_lowercase(), over: None })
                            }
                            _ => None,
                        });
                        row_types.extend(renamed.map(|t| (stmts.len(), t)));
                        reads_transaction_time = lowered.reads_transaction_time;
                        query_may_run_long = lowered.query_may_run_long;
                        order_read = lowered.order_read;
                        views_made.extend(lowered.view_made.map(|v| (stmts.len(), v)));
                        sequence_events.extend(lowered.sequence_events.into_iter().map(|e| (stmts.len(), e)));
                        sequence_values = lowered.sequence_values;
                        too_deep = lowered.too_deep;
                        alter = lowered.alter;
                        parts = lowered.parts;
                        lowered.ops
                    };
                    // `SELECT … \gset`: the query runs, and its row becomes psql variables.
                    let mut ops = ops;
                    let after = src[body.end..piece.span.end].trim_start();
                    if Psql::of(after) == Psql::SetsVariablesFromRow {
                        let kind = OpKind::Psql(Psql::SetsVariablesFromRow);
                        ops.push(Op { span: body.end..body.end, kind, locks: Vec::new() });
                    }
                    (body.clone(), *terminated, ops)
                }
                PieceKind::Meta { body } => {
                    let kind = OpKind::Psql(Psql::of(&src[body.clone()]));
                    (body.clone(), true, vec![Op { span: body.clone(), kind, locks: Vec::new() }])
                }
                PieceKind::Trivia => (piece.span.end..piece.span.end, true, Vec::new()),
            };
            // Directives from an earlier step of a plan pgsafe wrote.
            for line in src[piece.span.start..body.start].lines() {
                // Exactly as written after the prefix: a quoted name may end in a blank.
                if let Some(fact) = line.trim_start().strip_prefix(FACT) {
                    facts.entry(fact.to_string()).or_insert(stmts.len());
                }
                if let Some(list) = line.trim_start().strip_prefix(CREATED_EARLIER) {
                    let list = unescape_directive(list);
                    for n in names_in_list(&list).filter(|n| !n.trim().is_empty()) {
                        let name = Name::new(n);
                        // before every statement
                        created.entry(name.base().to_string()).or_default().push(Creation::new(name.key.clone(), 0));
                    }
                }
            }
            let unterminated_copy = !terminated && crate::front::split::copies_from_stdin(&src[body.clone()]);
            let defers_checks = ops.iter().any(|o| !matches!(o.kind, OpKind::Psql(_)))
                && super::lower::declares_initially_deferred(&src[body.clone()]);
            let controls_transactions = parts.is_empty()
                && ops.iter().any(|o| !matches!(o.kind, OpKind::Psql(_)))
                && super::lower::controls_transactions(&src[body.clone()]);
            let span = piece.span.clone();
            let interpolates = crate::front::mask::may_interpolate(&src[span.clone()]);
            let reads_last_result = interpolates && crate::front::mask::may_read_the_last_result(&src[span.clone()]);
            let markers = tool_markers(src, piece);
            let mut changes_session = super::session::changed_by_code(&src[body.clone()]);
            let mut runs_code = super::lower::starts_with_do(&src[body.clone()]).then_some(RunsCode::Block);
            // A call of a function the draft created takes the locks its code takes.
            let call = matches!(piece.kind, PieceKind::Statement { .. })
                .then(|| functions.read(&src[body.clone()], body.start))
                .flatten();
            // Its code's read of the rows' order, whose tables pgsafe does not follow.
            if call.as_ref().is_some_and(|c| c.effects.order_read.is_some()) {
                order_read = Some(super::physical_order::OrderRead::Code);
            }
            if let Some(call) = call.filter(|c| c.effects.acts()) {
                if let Some(op) = ops.iter_mut().find(|o| !matches!(o.kind, OpKind::Psql(_))) {
                    op.locks.extend(call.effects.locks);
                    changes_session = changes_session.or(call.effects.session);
                    if runs_code.is_none() {
                        runs_code = Some(RunsCode::Calls(called.len() as u32));
                        called.push(Called { function: call.function, defined_at: call.effects.defined_at });
                    }
                }
            }
            stmts.push(Stmt {
                span,
                body,
                terminated,
                ops,
                section,
                // Most statements have none of these three: a thin vector is one word then.
                ignored: ignored.into(),
                too_deep,
                alter,
                markers: markers.into(),
                leaves_open: piece.leaves_open && !piece.in_goose_block,
                parts: parts.into(),
                unterminated_copy,
                defers_checks,
                reads_transaction_time,
                query_may_run_long,
                order_read,
                sequence_values,
                controls_transactions,
                interpolates,
                reads_last_result,
                changes_session,
                runs_code,
            });
        }
        let runner_transaction = runner && !opt_out;
        let (paths, path_at) = positions(&stmts, &mut created, runner_transaction, &sequence_events);
        let (first_created, undone) = first_creations(&created);
        Migration {
            src,
            stmts,
            created,
            first_created,
            undone,
            facts,
            paths,
            path_at,
            runner_transaction,
            called,
            functions,
            declared,
            constrained_domains,
            row_types,
            user_operators,
            views_made,
            sequence_events,
        }
    }

    /// The draft with each goose block of several statements opened into those statements (one
    /// `Stmt` each, in place of the block), or `None` when it has no such block: what the rules
    /// would do to the statements of a block, which the plan keeps as written.
    pub fn opened(&self) -> Option<Migration<'a>> {
        if !self.stmts.iter().any(|s| !s.parts.is_empty()) {
            return None;
        }
        let mut stmts = Vec::with_capacity(self.stmts.len());
        // Each statement's index among the opened ones (a block's: its first statement's).
        let mut opened_at = Vec::with_capacity(self.stmts.len());
        for s in &self.stmts {
            opened_at.push(stmts.len());
            let mut ops = s.ops.iter();
            for (body, n) in &s.parts {
                let ops: Vec<Op> = ops.by_ref().take(*n).cloned().collect();
                stmts.push(Stmt {
                    span: body.clone(),
                    body: body.clone(),
                    ops,
                    markers: ThinVec::new(),
                    parts: ThinVec::new(),
                    ..s.clone()
                });
            }
            if s.parts.is_empty() {
                stmts.push(s.clone());
            }
        }
        let mut created: HashMap<String, Vec<Creation>> =
            self.created.iter().map(|(k, v)| (k.clone(), v.iter().filter(|c| c.at == 0).cloned().collect())).collect();
        let sequence_events: Vec<(usize, SequenceEvent)> =
            self.sequence_events.iter().map(|(i, e)| (opened_at[*i], e.clone())).collect();
        let (paths, path_at) = positions(&stmts, &mut created, self.runner_transaction, &sequence_events);
        let (first_created, undone) = first_creations(&created);
        Some(Migration {
            src: self.src,
            stmts,
            first_created,
            undone,
            created,
            facts: self.facts.iter().map(|(f, &i)| (f.clone(), opened_at.get(i).copied().unwrap_or(i))).collect(),
            paths,
            path_at,
            runner_transaction: self.runner_transaction,
            called: self.called.clone(),
            functions: self.functions.clone(),
            declared: self.declared.iter().map(|(i, n)| (opened_at[*i], n.clone())).collect(),
            constrained_domains: self.constrained_domains.iter().map(|(i, n)| (opened_at[*i], n.clone())).collect(),
            row_types: self.row_types.iter().map(|(i, n)| (opened_at[*i], n.clone())).collect(),
            user_operators: self.user_operators.iter().map(|(i, n)| (opened_at[*i], n.clone())).collect(),
            views_made: self.views_made.iter().map(|(i, n)| (opened_at[*i], n.clone())).collect(),
            sequence_events,
        })
    }

    /// The migration tool the draft is laid out for runs the file in one transaction
    /// ([`crate::Config::runner_transaction`]): read it so, as goose and dbmate markers are read,
    /// unless a statement of its up sections refuses a transaction block. Such a draft is no one
    /// transaction there: a tool that sends the file as one query fails it unless the statement is
    /// alone, and Flyway runs it without one.
    pub fn run_in_the_tools_transaction(&mut self) {
        let refuses = |s: &Stmt| {
            s.section == Section::Up
                && s.ops.iter().any(|o| matches!(o.kind, OpKind::NoTransaction { .. }) || o.kind.is_concurrent())
        };
        if self.runner_transaction || self.stmts.iter().any(refuses) {
            return;
        }
        self.runner_transaction = true;
        // What the draft creates and the search_path it runs under follow its transactions: read
        // again from the directives' creations.
        self.created.values_mut().for_each(|list| list.retain(|c| c.at == 0));
        (self.paths, self.path_at) = positions(&self.stmts, &mut self.created, true, &self.sequence_events);
        (self.first_created, self.undone) = first_creations(&self.created);
    }

    /// The names statement `i` gives to constraints and relations the catalogue does not follow.
    pub fn declared_by(&self, i: usize) -> impl Iterator<Item = &str> {
        of_statement(&self.declared, i).map(String::as_str)
    }

    /// The domain statement `i` gives a constraint to, or creates over another type, if any.
    pub fn domain_constrained_by(&self, i: usize) -> Option<&super::domains::TypeOver> {
        of_statement(&self.constrained_domains, i).next()
    }

    /// The row type statement `i` makes, or a type it makes over another, if any.
    pub fn row_type_made_by(&self, i: usize) -> Option<&super::domains::TypeOver> {
        of_statement(&self.row_types, i).next()
    }

    /// The operator names statement `i` makes.
    pub fn operators_made_by(&self, i: usize) -> impl Iterator<Item = &str> {
        of_statement(&self.user_operators, i).map(String::as_str)
    }

    /// Does a statement before statement `before` make an operator named `op` (or a directive say
    /// an earlier step did: [`user_operator_fact`])?
    pub fn makes_operator_before(&self, op: &str, before: usize) -> bool {
        self.user_operators.iter().take_while(|(i, _)| *i < before).any(|(_, o)| o == op)
            || self.fact_stated_from(&user_operator_fact(op)).is_some_and(|from| from <= before)
    }

    /// Was `name` created by a statement before statement `before` (so it has no traffic yet)?
    ///
    /// An unqualified name resolves through the `search_path` in effect at `before`, as PostgreSQL
    /// resolves it: a temporary table first, then the first schema of the path. If the draft did
    /// not create it there, a table of that name may exist there, with traffic: the draft creating
    /// `billing.orders` does not make a later `orders` (`public.orders`) new.
    pub fn created_before(&self, name: &Name, before: usize) -> bool {
        let Some(list) = self.created.get(name.base()) else { return false };
        // A relation a goose block creates is new to the whole block: a statement before its
        // CREATE that used it would fail, and the CREATE (not IF NOT EXISTS) fails if it existed.
        let block = self.stmts.get(before).is_some_and(Stmt::is_block);
        let stood = |key: &str, at: usize| {
            self.undone.get(key).is_some_and(|ranges| {
                let k = ranges.partition_point(|r| r.start <= at);
                k > 0 && at < ranges[k - 1].end
            })
        };
        let made = |key: &str| {
            self.first_created.get(key).is_some_and(|&at| at <= before || (block && at == before + 1))
                || stood(key, before)
                || (block && stood(key, before + 1))
        };
        // What an earlier plan step created, as it wrote it (the directives lead the list).
        let directive = list
            .iter()
            .take_while(|c| c.at == 0)
            .any(|c| !c.key.contains('.') || !name.key.contains('.') || c.key == name.key);
        if directive {
            return true;
        }
        if name.key.contains('.') {
            return made(&name.key);
        }
        let path = self.search_path_at(before);
        let base = name.base();
        (temp_searched_first(path) && made(&format!("{PG_TEMP}.{base}")))
            || path.first().is_some_and(|schema| made(&format!("{schema}.{base}")))
    }

    /// The schemas of the `search_path` in effect at statement `i` (empty: unknown).
    pub fn search_path_at(&self, i: usize) -> &[String] {
        self.path_at.get(i).or(self.path_at.last()).map_or(&self.paths[0], |&p| &self.paths[p as usize])
    }

    /// Did an earlier plan step establish `fact` (see [`FACT`])?
    pub fn has_fact(&self, fact: &str) -> bool {
        self.facts.contains_key(fact)
    }

    /// The first statement a directive states `fact` before, if one does.
    pub fn fact_stated_from(&self, fact: &str) -> Option<usize> {
        self.facts.get(fact).copied()
    }

    /// The tables an earlier plan step found partitioned (see [`partitioned_fact`]), in a fixed
    /// order (the catalogue records them in this order).
    pub fn partitioned_by_facts(&self) -> Vec<Name> {
        let mut tables: Vec<&str> = self.facts.keys().filter_map(|f| f.strip_prefix(PARTITIONED)).collect();
        tables.sort_unstable();
        tables.into_iter().map(|t| Name::new(&unescape_directive(t))).collect()
    }

    /// The names `name-taken` facts say may be taken ([`name_taken_fact`]), in order.
    pub fn names_taken_by_facts(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.facts.keys().filter_map(|f| f.strip_prefix(NAME_TAKEN)).map(unescape_directive).collect();
        names.sort_unstable();
        names
    }

    pub fn text(&self, r: &Range<usize>) -> &'a str {
        &self.src[r.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_draft_lowers_while_it_is_split_as_it_would_after() {
        // Above the size from which the two overlap, with what the assembly reads in order:
        // sections, markers, directives, search paths, creations, psql commands, COPY data.
        let mut src = String::from("-- +goose Up\nSET search_path TO app, public;\n");
        for k in 0..2_000 {
            src += &format!(
                "CREATE TABLE t{k} (a int);\n-- pgsafe:ignore concurrent-index\nCREATE INDEX i{k} ON t{k} (a);\n\
                 ALTER TABLE t{k} ADD COLUMN b int DEFAULT 0; -- note\n"
            );
            if k % 500 == 0 {
                src += "\\set x 1\nCOPY t0 FROM stdin;\n1\n\\.\n";
            }
        }
        src += "-- +goose Down\nDROP TABLE t0;\n";
        assert!(src.len() >= PIPELINE_FROM_BYTES);
        let whole = Migration::lower(&src, &crate::front::split::split(&src).unwrap());
        let pipelined = Migration::split_and_lower(&src).unwrap();
        assert_eq!(format!("{pipelined:?}"), format!("{whole:?}"));
        assert_eq!(pipelined.stmts.len(), 6_000 + 4 * 2 + 2);
        // An error after the first chunks were lowered is the split's error.
        let bad = format!("{src}SELECT 'never closed;\n");
        assert_eq!(Migration::split_and_lower(&bad).unwrap_err(), crate::front::split::split(&bad).unwrap_err());
    }

    #[test]
    fn directives_read_back_what_was_written() {
        for text in ["plain", "a\\nb", "x\ny\r\\", "\\\\n", "trailing "] {
            let line = escape_directive(text);
            assert!(!line.contains(['\n', '\r']), "{line:?}");
            assert_eq!(unescape_directive(&line), text);
        }
        let names: Vec<&str> = names_in_list(r#"a, "b, ""c"", d", e.f"#).collect();
        assert_eq!(names, ["a", r#" "b, ""c"", d""#, " e.f"]);
    }

    #[test]
    fn a_marker_line_is_the_line_the_split_reads() {
        // The split ends a `--` comment there and reads what follows as a new line; the marker's
        // line must end there too, or a step keeps it above its own BEGIN, where it opens a goose
        // block around the whole transaction (a fuzz find: the flattened plan was no fixed point).
        let src = "-- +goose Up\r\n-- +goose StatementBegin\rSELECT 1;\n-- +goose StatementEnd\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let lines: Vec<&str> = m.stmts[0].markers.iter().map(|k| &src[k.line.clone()]).collect();
        assert_eq!(lines, ["-- +goose Up\r\n", "-- +goose StatementBegin\r"]);
        // A byte-order mark before a marker is blank to the split, so to the plan as well.
        let src = "SELECT 1;\n\u{FEFF}-- +goose StatementBegin\nSELECT 2;\n-- +goose StatementEnd\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let lines: Vec<&str> = m.stmts[1].markers.iter().map(|k| &src[k.line.clone()]).collect();
        assert_eq!(lines, ["\u{FEFF}-- +goose StatementBegin\n"]);
    }

    #[test]
    fn the_search_path_follows_transactions() {
        // A ROLLBACK undoes a SET; a SET LOCAL lasts to the COMMIT; a committed SET stays.
        let src = "BEGIN;\nSET search_path = a;\nROLLBACK;\nCREATE TABLE t1 (i int);\nBEGIN;\n\
                   SET LOCAL search_path = b;\nCREATE TABLE t2 (i int);\nCOMMIT;\nCREATE TABLE t3 (i int);\n\
                   SET LOCAL search_path = d;\nBEGIN;\nSET search_path = c;\nCOMMIT;\nCREATE TABLE t4 (i int);\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let key = |t: &str| m.created[t][0].key.to_string();
        assert_eq!([key("t1"), key("t2"), key("t3"), key("t4")], ["public.t1", "b.t2", "public.t3", "c.t4"]);
        // A ROLLBACK TO undoes the SETs made after its savepoint (of the session or local), not
        // those before it; a released savepoint can no longer be rolled back to.
        let src = "BEGIN;
SET search_path = a;
SAVEPOINT s;
SET search_path = b;
SAVEPOINT u;
                   SET LOCAL search_path = c;
ROLLBACK TO s;
CREATE TABLE t1 (i int);
SET search_path = d;
                   SAVEPOINT v;
SET search_path = e;
RELEASE v;
ROLLBACK TO v;
COMMIT;
CREATE TABLE t2 (i int);
";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let key = |t: &str| m.created[t][0].key.to_string();
        assert_eq!([key("t1"), key("t2")], ["a.t1", "e.t2"]);
        // `SET SCHEMA` is an alias of it; `RESET ALL` puts the default back.
        let src = "SET SCHEMA 'billing';\nCREATE TABLE t1 (i int);\nRESET ALL;\nCREATE TABLE t2 (i int);\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let key = |t: &str| m.created[t][0].key.to_string();
        assert_eq!([key("t1"), key("t2")], ["billing.t1", "public.t2"]);
    }

    #[test]
    fn a_creation_the_draft_rolls_back_is_new_only_until_the_rollback() {
        let src = "BEGIN;\nDROP TABLE t;\nCREATE TABLE t (i int);\nSAVEPOINT s;\nCREATE TABLE u (i int);\n\
                   ROLLBACK TO s;\nSELECT 1;\nROLLBACK;\nSELECT 2;\nBEGIN;\nCREATE TABLE v (i int);\nCOMMIT;\n\
                   SELECT 3;\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let stmt = |text: &str| m.stmts.iter().position(|s| src[s.body.clone()] == *text).unwrap();
        let new_at = |table: &str, at: &str| m.created_before(&Name::new(table), stmt(at));
        // `t` is new from its CREATE to the ROLLBACK, `u` to the ROLLBACK TO its savepoint;
        // after them both names are the database's again. A committed creation stays.
        assert!(new_at("t", "SAVEPOINT s") && new_at("t", "SELECT 1") && !new_at("t", "SELECT 2"));
        assert!(new_at("u", "ROLLBACK TO s") && !new_at("u", "SELECT 1"));
        assert!(new_at("v", "COMMIT") && new_at("v", "SELECT 3"));
        assert!(!new_at("t", "DROP TABLE t"));
    }

    #[test]
    fn a_creation_in_a_psql_branch_is_new_only_to_the_end_of_its_branch() {
        // The branch may not run: after it (and in the branches after it) the name is the
        // database's. Nested blocks end their branches one by one; a transaction rolled back
        // across a branch leaves nothing to undo twice.
        let src = "\\if :a\nCREATE TABLE t (i int);\nSELECT 1;\n\\elif :b\nSELECT 2;\nCREATE TABLE u (i int);\n\
                   \\if :c\nCREATE TABLE v (i int);\nSELECT 3;\n\\endif\nSELECT 4;\n\\else\nSELECT 5;\n\\endif\n\
                   SELECT 6;\nBEGIN;\n\\if :d\nCREATE TABLE w (i int);\nROLLBACK;\nSELECT 7;\n\\endif\nCREATE TABLE x (i int);\n\
                   SELECT 8;\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let stmt = |text: &str| m.stmts.iter().position(|s| src[s.body.clone()] == *text).unwrap();
        let new_at = |table: &str, at: &str| m.created_before(&Name::new(table), stmt(at));
        assert!(new_at("t", "SELECT 1") && !new_at("t", "SELECT 2") && !new_at("t", "SELECT 6"));
        assert!(new_at("u", "SELECT 3") && new_at("u", "SELECT 4") && !new_at("u", "SELECT 5"));
        assert!(new_at("v", "SELECT 3") && !new_at("v", "SELECT 4"));
        assert!(!new_at("w", "SELECT 7") && !new_at("w", "SELECT 8"));
        assert!(new_at("x", "SELECT 8") && !["t", "u", "v", "w"].iter().any(|t| new_at(t, "SELECT 8")));
    }

    #[test]
    fn a_view_the_draft_creates_is_new_as_a_table_is() {
        // Until it goes (dropped, renamed, moved), a rollback or savepoint undoes it, or the psql
        // branch that made it ends; `OR REPLACE` and `IF NOT EXISTS` may find a live one. A
        // temporary view shadows the live one of its name until it is dropped.
        let src = "CREATE VIEW v AS SELECT 1;\nCREATE MATERIALIZED VIEW m AS SELECT 1;\nSELECT 1;\n\
                   DROP VIEW v;\nALTER MATERIALIZED VIEW m RENAME TO m2;\nSELECT 2;\nCREATE VIEW v AS SELECT 2;\n\
                   BEGIN;\nSAVEPOINT s;\nCREATE VIEW w AS SELECT 1;\nSELECT 3;\nROLLBACK TO s;\nSELECT 4;\nCOMMIT;\n\
                   \\if :a\nCREATE VIEW x AS SELECT 1;\nSELECT 5;\n\\endif\nSELECT 6;\n\
                   CREATE OR REPLACE VIEW r AS SELECT 1;\nCREATE MATERIALIZED VIEW IF NOT EXISTS n AS SELECT 1;\n\
                   CREATE TEMP VIEW o AS SELECT 1;\nALTER VIEW o OWNER TO app;\nSELECT 7;\nDROP VIEW o;\nSELECT 8;\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let stmt = |text: &str| m.stmts.iter().position(|s| src[s.body.clone()] == *text).unwrap();
        let new_at = |view: &str, at: &str| m.created_before(&Name::new(view), stmt(at));
        assert!(new_at("v", "SELECT 1") && new_at("m", "SELECT 1") && new_at("v", "DROP VIEW v"));
        assert!(!new_at("v", "SELECT 2") && !new_at("m", "SELECT 2") && !new_at("m2", "SELECT 2"));
        assert!(new_at("v", "SELECT 3") && new_at("w", "SELECT 3") && !new_at("w", "SELECT 4"));
        assert!(new_at("x", "SELECT 5") && !new_at("x", "SELECT 6"));
        assert!(!new_at("r", "SELECT 7") && !new_at("n", "SELECT 7"));
        assert!(new_at("o", "SELECT 7") && !new_at("o", "SELECT 8"));
    }

    #[test]
    fn a_sequence_the_draft_creates_is_new_as_a_table_is() {
        // pg_dump's and Rails' `ALTER TABLE s OWNER TO`, `ALTER SEQUENCE s OWNED BY` follow the
        // `CREATE SEQUENCE`: no insert draws from it yet (a probe: a dump became 7 steps). A
        // `serial` column's sequence is new with its table; `IF NOT EXISTS` may find a live one.
        let src = "CREATE SEQUENCE public.s1 AS integer START WITH 1;\nCREATE TEMP SEQUENCE s2;\n\
                   CREATE SEQUENCE IF NOT EXISTS s3;\nCREATE TABLE app.t (id bigserial, n serial4, m int);\n\
                   CREATE TABLE IF NOT EXISTS u (id serial);\nSELECT 1;\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let at = m.stmts.iter().position(|s| &src[s.body.clone()] == "SELECT 1").unwrap();
        let new = |name: &str| m.created_before(&Name::new(name), at);
        assert!(new("public.s1") && new("s1") && new("s2") && !new("s3"));
        assert!(new("app.t_id_seq") && new("app.t_n_seq") && !new("app.t_m_seq") && !new("public.t_id_seq"));
        assert!(!new("u_id_seq"));
    }

    /// Whether `name` is new at each statement whose text starts with one of `at` (in order).
    fn new_at(src: &str, name: &str, at: &[&str]) -> Vec<bool> {
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let stmt = |head: &str| m.stmts.iter().position(|s| src[s.body.clone()].starts_with(head)).unwrap();
        at.iter().map(|head| m.created_before(&Name::new(name), stmt(head))).collect()
    }

    #[test]
    fn an_identity_column_makes_a_new_sequence() {
        // Its default name in the table's schema, or the one `SEQUENCE NAME` gives; also for a
        // column added (identity or serial) or made an identity: a later `ALTER SEQUENCE`,
        // `setval` or `GRANT` finds no traffic.
        let src = "CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n\
                   CREATE TABLE app.parts (id int GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME part_numbers));\n\
                   CREATE TEMP TABLE scratch (n int GENERATED ALWAYS AS IDENTITY);\n\
                   ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY, ADD COLUMN m bigserial;\n\
                   ALTER TABLE billing.orders ALTER COLUMN k ADD GENERATED ALWAYS AS IDENTITY;\n\
                   CREATE TABLE IF NOT EXISTS maybe (id int GENERATED ALWAYS AS IDENTITY);\n\
                   ALTER TABLE orders ADD COLUMN IF NOT EXISTS p int GENERATED ALWAYS AS IDENTITY;\n\
                   SELECT 1;\n";
        let new = |name: &str| new_at(src, name, &["SELECT 1"])[0];
        assert!(new("items_id_seq") && new("public.items_id_seq"));
        assert!(new("app.part_numbers") && !new("part_numbers") && !new("app.parts_id_seq"));
        assert!(new("scratch_n_seq"));
        assert!(new("orders_n_seq") && new("orders_m_seq") && new("billing.orders_k_seq") && !new("orders_k_seq"));
        assert!(!new("maybe_id_seq") && !new("orders_p_seq"));
        // Before its statement, the sequence is not new.
        assert_eq!(new_at(src, "items_id_seq", &["CREATE TABLE items", "CREATE TABLE app.parts"]), [false, true]);
    }

    #[test]
    fn an_identity_sequence_of_an_unsure_schema_is_not_new() {
        // Under a path of two schemas, `orders` may be in either (its sequence is in its
        // schema); a table renamed away keeps its sequence, so a new table of its name gets
        // `items_id_seq1`, and `items_id_seq` is the old table's.
        let src = "SET search_path = app, public;\nALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;\n\
                   SELECT 1;\nRESET search_path;\nALTER TABLE items RENAME TO items_old;\n\
                   CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY, n serial);\nSELECT 2;\n";
        assert_eq!(new_at(src, "orders_n_seq", &["SELECT 1"]), [false]);
        assert_eq!(new_at(src, "items_id_seq", &["SELECT 2"]), [false]);
        assert_eq!(new_at(src, "items_n_seq", &["SELECT 2"]), [false]);
        // A table the draft made there is in the path's first schema.
        let src = "SET search_path = app, public;\nCREATE TABLE orders (id int);\n\
                   ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;\nSELECT 1;\n";
        assert_eq!(new_at(src, "app.orders_n_seq", &["SELECT 1"]), [true]);
    }

    #[test]
    fn a_sequence_renamed_is_new_under_its_new_name_and_dropped_is_gone() {
        let src = "CREATE SEQUENCE s;\nALTER SEQUENCE s RENAME TO t;\nSELECT 1;\nDROP SEQUENCE t;\nSELECT 2;\n\
                   CREATE SEQUENCE t;\nSELECT 3;\nALTER SEQUENCE IF EXISTS t SET SCHEMA app;\nSELECT 4;\n";
        let at =
            ["ALTER SEQUENCE s", "SELECT 1", "DROP SEQUENCE", "SELECT 2", "SELECT 3", "ALTER SEQUENCE IF", "SELECT 4"];
        assert_eq!(new_at(src, "s", &at), [true, false, false, false, false, false, false]);
        assert_eq!(new_at(src, "t", &at), [false, true, true, false, true, true, false]);
        // Moved, it is new in its new schema.
        assert_eq!(new_at(src, "app.t", &at[6..]), [true]);
        // An identity sequence renamed, in its schema; a rename to the name of a sequence the
        // draft did not make, which it renamed away first (a swap), is not new: the application
        // may call nextval() by that name.
        let src = "CREATE TABLE app.items (id int GENERATED ALWAYS AS IDENTITY);\n\
                   ALTER SEQUENCE app.items_id_seq RENAME TO item_numbers;\nSELECT 1;\n\
                   CREATE SEQUENCE order_numbers_new;\nALTER SEQUENCE order_numbers RENAME TO order_numbers_old;\n\
                   ALTER SEQUENCE order_numbers_new RENAME TO order_numbers;\nSELECT 2;\n";
        assert_eq!(new_at(src, "app.item_numbers", &["SELECT 1"]), [true]);
        assert_eq!(new_at(src, "app.items_id_seq", &["SELECT 1"]), [false]);
        assert_eq!(new_at(src, "order_numbers", &["SELECT 2"]), [false]);
        assert_eq!(new_at(src, "order_numbers_old", &["SELECT 2"]), [false]);
        // A sequence of the name the draft did not make is not new after a drop of another.
        let src = "CREATE TEMP SEQUENCE s;\nDROP SEQUENCE s;\nALTER SEQUENCE s RESTART;\n";
        assert_eq!(new_at(src, "s", &["DROP", "ALTER"]), [true, false]);
    }

    #[test]
    fn a_tables_sequences_are_dropped_with_it() {
        // PostgreSQL drops a `serial` or identity column's sequence with its table (one the draft
        // made, or a live one it added such a column to), and it follows the table renamed or moved
        // (a move takes it to the table's new schema).
        let src = "CREATE TABLE t (id serial, n int GENERATED ALWAYS AS IDENTITY);\n\
                   ALTER TABLE orders ADD COLUMN k int GENERATED ALWAYS AS IDENTITY;\nSELECT 1;\n\
                   DROP TABLE t, orders;\nSELECT 2;\nCREATE TABLE u (id serial);\nALTER TABLE u RENAME TO v;\n\
                   ALTER TABLE v SET SCHEMA app;\nSELECT 3;\nDROP TABLE app.v;\nSELECT 4;\n\
                   CREATE TABLE w (id serial);\nDROP TABLE x;\nSELECT 5;\n";
        for seq in ["t_id_seq", "t_n_seq", "orders_k_seq"] {
            assert_eq!(new_at(src, seq, &["SELECT 1", "DROP TABLE t", "SELECT 2"]), [true, true, false], "{seq}");
        }
        assert_eq!(new_at(src, "app.u_id_seq", &["SELECT 3", "SELECT 4"]), [true, false]);
        assert_eq!(new_at(src, "public.u_id_seq", &["ALTER TABLE v SET SCHEMA", "SELECT 3"]), [true, false]);
        assert_eq!(new_at(src, "w_id_seq", &["SELECT 5"]), [true]);
        // Under a path of two schemas, `t_id_seq` after the drop is the second schema's, if any.
        let src = "SET search_path = app, public;\nCREATE TABLE t (id serial);\nSELECT 1;\nDROP TABLE t;\n\
                   ALTER SEQUENCE t_id_seq RESTART;\n";
        assert_eq!(new_at(src, "t_id_seq", &["SELECT 1", "ALTER SEQUENCE"]), [true, false]);
    }

    #[test]
    fn a_columns_sequence_is_dropped_with_it_or_its_identity() {
        // PostgreSQL drops a `serial` or identity column's sequence with the column (and an
        // identity's with `DROP IDENTITY`; `IF EXISTS` of a `serial` column does nothing), of a
        // table the draft made or of a live one; the column renamed is followed.
        let src = "CREATE TABLE t (id serial, n int GENERATED ALWAYS AS IDENTITY, m serial);\n\
                   ALTER TABLE orders ADD COLUMN k int GENERATED ALWAYS AS IDENTITY, ADD COLUMN j bigserial;\n\
                   CREATE TABLE u (id serial);\nALTER TABLE u RENAME COLUMN id TO uid;\nSELECT 1;\n\
                   ALTER TABLE t DROP COLUMN id;\nALTER TABLE t ALTER n DROP IDENTITY;\n\
                   ALTER TABLE t ALTER m DROP IDENTITY IF EXISTS;\n\
                   ALTER TABLE orders DROP COLUMN j, ALTER COLUMN k DROP IDENTITY IF EXISTS;\n\
                   ALTER TABLE u DROP uid;\nSELECT 2;\n";
        for seq in ["t_id_seq", "t_n_seq", "orders_k_seq", "orders_j_seq", "u_id_seq"] {
            assert_eq!(new_at(src, seq, &["SELECT 1", "SELECT 2"]), [true, false], "{seq}");
        }
        assert_eq!(new_at(src, "t_m_seq", &["SELECT 1", "SELECT 2"]), [true, true]);
        // Under a path of two schemas, `t_id_seq` after the drop is the second schema's, if any.
        let src = "SET search_path = app, public;\nCREATE TABLE t (id serial, n int GENERATED ALWAYS AS IDENTITY);\n\
                   SELECT 1;\nALTER TABLE t DROP COLUMN id, ALTER n DROP IDENTITY;\nALTER SEQUENCE t_id_seq RESTART;\n";
        assert_eq!(new_at(src, "t_id_seq", &["SELECT 1", "ALTER SEQUENCE"]), [true, false]);
        assert_eq!(new_at(src, "t_n_seq", &["SELECT 1", "ALTER SEQUENCE"]), [true, false]);
    }

    #[test]
    fn a_sequence_goes_with_the_table_it_is_owned_by() {
        // `OWNED BY t.c` (in `CREATE SEQUENCE` or `ALTER SEQUENCE`) gives the sequence to the
        // column, which it then goes with (dropped, or its table); `OWNED BY NONE` keeps it
        // past its table's drop, as does a new owner past the old column's.
        let src = "CREATE TABLE t (id int, k int);\nCREATE SEQUENCE s1 OWNED BY t.id;\nCREATE SEQUENCE s2;\n\
                   ALTER SEQUENCE s2 OWNED BY t.k;\nCREATE TABLE u (id serial);\nALTER SEQUENCE u_id_seq OWNED BY NONE;\n\
                   CREATE TABLE v (id serial, j int);\nALTER SEQUENCE v_id_seq OWNED BY v.j;\nSELECT 1;\n\
                   DROP TABLE u;\nALTER TABLE t DROP COLUMN k;\nALTER TABLE v DROP COLUMN id;\nSELECT 2;\n\
                   DROP TABLE t;\nALTER TABLE v DROP COLUMN j;\nSELECT 3;\n";
        let at = ["SELECT 1", "SELECT 2", "SELECT 3"];
        assert_eq!(new_at(src, "s1", &at), [true, true, false]);
        assert_eq!(new_at(src, "s2", &at), [true, false, false]);
        assert_eq!(new_at(src, "u_id_seq", &at), [true, true, true]);
        assert_eq!(new_at(src, "v_id_seq", &at), [true, true, false]);
        // A rollback undoes `OWNED BY NONE` (and a column's rename); a psql branch that may have
        // given the sequence to a table leaves it that table's.
        let src = "CREATE TABLE w (id serial);\nCREATE TABLE y (id int);\nCREATE SEQUENCE x;\nBEGIN;\n\
                   ALTER SEQUENCE w_id_seq OWNED BY NONE;\nALTER TABLE w RENAME id TO wid;\nROLLBACK;\n\
                   \\if :a\nALTER SEQUENCE x OWNED BY y.id;\n\\endif\nSELECT 1;\n\
                   ALTER TABLE w DROP COLUMN id;\nDROP TABLE y;\nSELECT 2;\n";
        assert_eq!(new_at(src, "w_id_seq", &["SELECT 1", "SELECT 2"]), [true, false]);
        assert_eq!(new_at(src, "x", &["SELECT 1", "SELECT 2"]), [true, false]);
    }

    #[test]
    fn a_sequence_renamed_or_moved_by_alter_table_stays_new() {
        // `ALTER TABLE` renames and moves a sequence as `ALTER SEQUENCE` does; not onto a name the
        // draft took from a relation it did not make.
        let src = "CREATE SEQUENCE q;\nALTER TABLE q RENAME TO q2;\nSELECT 1;\nALTER TABLE q2 SET SCHEMA app;\n\
                   SELECT 2;\nALTER SEQUENCE live RENAME TO live_old;\nCREATE SEQUENCE n;\n\
                   ALTER TABLE n RENAME TO live;\nSELECT 3;\n";
        assert_eq!(new_at(src, "q2", &["SELECT 1", "SELECT 2"]), [true, false]);
        assert_eq!(new_at(src, "q", &["SELECT 1"]), [false]);
        assert_eq!(new_at(src, "app.q2", &["SELECT 2"]), [true]);
        assert_eq!(new_at(src, "live", &["SELECT 3"]), [false]);
        // Under a path of two schemas, a name of a sequence the draft made in the second may find a
        // live relation in the first: what it renames or gives an owner is not known to be the
        // draft's, which counts as new no more.
        let src = "SET search_path = app, public;\nCREATE SEQUENCE public.r;\nCREATE SEQUENCE public.o;\nSELECT 1;\n\
                   ALTER TABLE r RENAME TO r2;\nALTER SEQUENCE o OWNED BY NONE;\nSELECT 2;\n";
        assert_eq!(new_at(src, "public.r", &["SELECT 1", "SELECT 2"]), [true, false]);
        assert_eq!(new_at(src, "public.o", &["SELECT 1", "SELECT 2"]), [true, false]);
        assert_eq!(new_at(src, "public.r2", &["SELECT 2"]), [false]);
        assert_eq!(new_at(src, "r2", &["SELECT 2"]), [false]);
    }

    #[test]
    fn a_search_path_a_psql_branch_may_have_set_is_unknown_after_it() {
        let src =
            "CREATE TABLE billing.t2 (i int);\nSELECT 0;\n\\if :a\nSET search_path = billing;\nSELECT 1;\n\\endif\n\
                   SELECT 2;\nCREATE TABLE t3 (i int);\nSELECT 3;\nSET search_path = billing;\nSELECT 4;\n\\if :b\n\
                   SELECT 5;\n\\endif\nSELECT 6;\n";
        let pieces = crate::front::split::split(src).unwrap();
        let m = Migration::lower(src, &pieces);
        let stmt = |text: &str| m.stmts.iter().position(|s| src[s.body.clone()] == *text).unwrap();
        let new_at = |table: &str, at: &str| m.created_before(&Name::new(table), stmt(at));
        // `t2` is public's (live) before the block, billing's (new) in the branch that sets the
        // path, and either after it: not new. `t3` was created wherever the path pointed.
        assert!(!new_at("t2", "SELECT 0") && new_at("t2", "SELECT 1") && !new_at("t2", "SELECT 2"));
        assert!(!new_at("t3", "SELECT 3") && new_at("billing.t2", "SELECT 3"));
        // Known again once the draft sets it; a branch that sets none leaves it known.
        assert!(new_at("t2", "SELECT 4") && new_at("t2", "SELECT 6"));
    }
}
