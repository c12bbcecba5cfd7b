//! Render steps as SQL text: the user's statements byte for byte (with the passes' edits), the
//! generated ones, and the transaction and timeout lines the plan contract asks for.

use super::parts::{unit_parts, End, Part, PartKind, Parts, Statement};
use crate::config::Config;
use crate::ir::migration::Migration;
use crate::ir::op::OpKind;
use crate::passes::{Keep, Rewritten, Unit};
use crate::plan::{Item, Step, StepMode, Timeouts};

/// The text of one unit: the draft statement with its leading comments and edits applied, or a
/// generated statement. Always ends with `;` and a newline.
pub fn unit_text(m: &Migration<'_>, unit: &Unit) -> String {
    if let Some(text) = &unit.generated {
        return format!("{text};\n");
    }
    let s = &m.stmts[unit.stmt];
    let mut edits = unit.edits.clone();
    if !s.terminated && !s.is_trivia() && !s.body.is_empty() {
        edits.push(crate::passes::Edit {
            rule: "",
            at: s.body.end..s.body.end,
            text: terminator(m.text(&s.body), s.unterminated_copy).into(),
        });
    }
    edits.sort_by_key(|e| (e.at.start, e.at.end));
    // Exactly its length (and a line break): a big plan's step texts are held until written.
    let len = s.span.len() + edits.iter().map(|e| e.text.len()).sum::<usize>() + 1;
    let mut out = String::with_capacity(len - edits.iter().map(|e| e.at.len()).sum::<usize>());
    let mut pos = s.span.start;
    for e in &edits {
        out.push_str(&m.src[pos..e.at.start]);
        out.push_str(&e.text);
        pos = e.at.end;
    }
    out.push_str(&m.src[pos..s.span.end]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The `;` that ends a statement its draft left unterminated. After a backslash on the body's last
/// line it goes on a line of its own: psql reads a backslash to the end of the line as a
/// meta-command (`s\` then `;` would be `\;`, which sends nothing).
///
/// A `COPY … FROM stdin` the draft left unterminated at its end read no data (psql sent it at the
/// end of the file): with its `;` here it would read what follows, so its empty data ends at once
/// with a `\.` line.
fn terminator(body: &str, copy_from_stdin: bool) -> &'static str {
    let backslash = body.rsplit('\n').next().is_some_and(|line| line.contains('\\'));
    match (backslash, copy_from_stdin) {
        (false, false) => ";",
        (true, false) => "\n;",
        (false, true) => ";\n\\.\n",
        (true, true) => "\n;\n\\.\n",
    }
}

fn is_session_set(s: &crate::ir::migration::Stmt) -> bool {
    !s.is_trivia() && s.ops.iter().all(|o| matches!(o.kind, OpKind::Set { local: false, .. } | OpKind::Psql(_)))
}

/// The text that repeats the settings of draft statement `s` in a later step (without its last
/// `;`): the statement, or where it does more than set (a goose block holding a `SET` among other
/// statements) only its `SET`s (`SET LOCAL` ones when `local`), since the rest must not run twice.
fn replayed_text(m: &Migration<'_>, s: usize, local: bool) -> String {
    let stmt = &m.stmts[s];
    if stmt.ops.iter().all(|o| matches!(o.kind, OpKind::Set { .. } | OpKind::Psql(_))) {
        return m.src[stmt.body.clone()].to_string();
    }
    let sets = stmt.ops.iter().filter(|o| matches!(o.kind, OpKind::Set { local: l, .. } if l == local));
    sets.map(|o| &m.src[o.span.clone()]).collect::<Vec<_>>().join(";\n")
}

/// The statement a step is named after: its first that is not a setting.
pub fn step_title<'a>(m: &'a Migration<'_>, r: &'a Rewritten, step: &Step) -> &'a str {
    step.units()
        .map(|u| &r.units[u])
        .find_map(|unit| match &unit.generated {
            // A batched backfill is named after the statement it loops over, which it analyses
            // first (`EXPLAIN statement WHERE false`).
            Some(text) => Some(match text.strip_prefix("DO $pgsafe$").and_then(|t| t.split_once("EXPLAIN ")) {
                Some((_, statement)) => statement,
                None => &**text,
            }),
            None => {
                let s = &m.stmts[unit.stmt];
                (!s.is_trivia() && !is_session_set(s) && !unit.inert_setting).then(|| &m.src[s.body.clone()])
            }
        })
        .unwrap_or("step")
}

/// A draft statement exactly as written.
fn raw_text(m: &Migration<'_>, unit: &Unit) -> String {
    m.src[m.stmts[unit.stmt].span.clone()].to_string()
}

/// `text` without its leading line breaks, cut in place: the text may be a 100 MB function.
fn drop_leading_line_breaks(text: &mut String) {
    let breaks = text.len() - text.trim_start_matches(['\n', '\r']).len();
    text.drain(..breaks);
}

/// A step's title (see [`step_title`]), searched for upper-case words in any letter case without
/// an upper-cased copy (the title may be a 100 MB function).
struct Title<'t>(&'t str);

impl Title<'_> {
    fn starts_with(&self, word: &str) -> bool {
        self.0.as_bytes().get(..word.len()).is_some_and(|t| t.eq_ignore_ascii_case(word.as_bytes()))
    }

    fn contains(&self, word: &str) -> bool {
        let (hay, word) = (self.0.as_bytes(), word.as_bytes());
        memchr::memchr2_iter(word[0], word[0].to_ascii_lowercase(), hay)
            .any(|i| hay[i..].get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word)))
    }
}

/// A rendered step body: its parts, and the timeouts it sets for its statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub parts: Parts,
    /// The `lock_timeout` the step sets (pgsafe's, or a setting of the draft it runs first), as
    /// written without quotes; `None` when it sets none.
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

/// A setting's value as written, without quotes.
fn value(v: &str) -> String {
    v.trim().trim_matches('\'').to_string()
}

/// The body of a step file: everything but the header comments.
pub fn step_body(m: &Migration<'_>, r: &Rewritten, step: &Step, config: &Config) -> Body {
    let mut body = Body::default();
    let out = &mut body.parts;
    // The value a draft statement of this step sets for `name` (its last), if any.
    let draft_setting = |name: &str, stmts: &mut dyn Iterator<Item = usize>| {
        stmts.fold(None, |found, s| {
            m.stmts[s].ops.iter().fold(found, |found, o| o.kind.setting(name).map_or(found, |(v, _)| Some(value(v))))
        })
    };
    // What earlier steps established, for compiling this step alone (a step kept as written too).
    let mut facts: Vec<&String> = step.units().flat_map(|u| r.units[u].facts.iter()).collect();
    facts.dedup();
    for fact in facts {
        out.push(PartKind::Trivia, format!("{}{fact}\n", crate::ir::migration::FACT));
    }
    if step.raw {
        if step.wrapped {
            out.push(PartKind::Begin, "BEGIN;\n");
        }
        let units: Vec<usize> = step.units().collect();
        for (k, &u) in units.iter().enumerate() {
            let unit = &r.units[u];
            let mut text = raw_text(m, unit);
            // A statement its tool ends without `;` (the last of a goose StatementBegin … End
            // block) must not run into what follows it here: another statement, or the COMMIT.
            let s = &m.stmts[unit.stmt];
            let meta = s.psql().is_some();
            let followed = step.wrapped || units[k + 1..].iter().any(|&v| !m.stmts[r.units[v].stmt].is_trivia());
            if !s.terminated && !s.is_trivia() && !meta && followed {
                text.insert_str(s.body.end - s.span.start, terminator(m.text(&s.body), s.unterminated_copy));
            }
            // Nor may a same-line comment at the end of the draft swallow it.
            if followed && !text.ends_with('\n') {
                text.push('\n');
            }
            out.extend(unit_parts(m, unit, text));
        }
        out.close_goose_block();
        if step.wrapped {
            out.push(PartKind::End(End::Commit), "COMMIT;\n");
        }
        let stmts = || step.units().map(|u| r.units[u].stmt);
        body.lock_timeout = draft_setting("lock_timeout", &mut stmts());
        body.statement_timeout = draft_setting("statement_timeout", &mut stmts());
        return body;
    }
    if !step.created_earlier.is_empty() {
        out.push(
            PartKind::Trivia,
            format!(
                "{}{}\n",
                crate::ir::migration::CREATED_EARLIER,
                crate::ir::migration::escape_directive(&step.created_earlier.join(", "))
            ),
        );
    }
    // Replayed session settings and carried comments come before BEGIN; units after it, except
    // the first statement's leading comments, which introduce the step.
    let (pre, units): (Vec<&Item>, Vec<&Item>) = step.items.iter().partition(|i| !matches!(i, Item::Unit(_)));
    let mut texts: Vec<Vec<Part>> = units
        .iter()
        .filter_map(|i| match i {
            Item::Unit(u) => Some(unit_parts(m, &r.units[*u], unit_text(m, &r.units[*u]))),
            _ => None,
        })
        .collect();
    let plain = PartKind::Statement(Statement::Plain);
    for item in pre {
        match item {
            Item::Replay(s) => {
                let stmt = &m.stmts[*s];
                let meta = stmt.psql().is_some();
                out.push(plain, format!("{}{}\n", replayed_text(m, *s, false), if meta { "" } else { ";" }));
            }
            // Outside a transaction block SET LOCAL does nothing: the same setting, for the session.
            Item::ReplayLocal(s) if step.mode == StepMode::Autocommit => {
                for op in &m.stmts[*s].ops {
                    if let OpKind::Set { name, value, .. } = &op.kind {
                        // The step sets its own timeouts right after.
                        let own = step.timeouts == Timeouts::Unlimited
                            && (name == "lock_timeout" && !batches_rows(r, step)
                                || name == "statement_timeout" && !keeps_draft_statement_timeout(r, step));
                        if !value.is_empty() && !own {
                            out.push(plain, format!("SET {name} TO {value};\n"));
                        }
                    }
                }
            }
            Item::Trivia(range) => {
                let text = &m.src[range.clone()];
                if !text.trim().is_empty() {
                    // Its migration-tool markers stay markers: a runner's layout writes its own.
                    let i = m.stmts.partition_point(|s| s.span.start <= range.start).saturating_sub(1);
                    let markers = m.stmts.get(i).into_iter().flat_map(|s| &s.markers);
                    let mut pos = range.start;
                    let mut pieces: Vec<(PartKind, &str)> = Vec::new();
                    for k in markers.filter(|k| range.start <= k.line.start && k.line.end <= range.end) {
                        pieces.push((PartKind::Trivia, &m.src[pos..k.line.start]));
                        let kind = PartKind::Marker {
                            opens_block: k.opens_block,
                            closes_block: k.closes_block,
                            no_transaction: k.no_transaction,
                        };
                        pieces.push((kind, &m.src[k.line.clone()]));
                        pos = k.line.end;
                    }
                    pieces.push((PartKind::Trivia, &m.src[pos..range.end]));
                    let last = pieces.len() - 1;
                    for (k, (kind, text)) in pieces.into_iter().enumerate() {
                        let mut text = if k == 0 { text.trim_start_matches(['\n', '\r']) } else { text }.to_string();
                        if k == last && !text.is_empty() && !text.ends_with('\n') {
                            text.push('\n');
                        }
                        if !text.is_empty() {
                            out.push(kind, text);
                        }
                    }
                }
            }
            Item::Unit(_) | Item::ReplayLocal(_) => {}
        }
    }
    // Leading session settings run before BEGIN: after SET LOCAL they would override it. A step
    // kept as written keeps them where the draft has them (a rolled-back transaction undoes them).
    let leading_sets = step
        .units()
        .take_while(|_| step.kept.is_none())
        .take_while(|&u| {
            let unit = &r.units[u];
            unit.generated.is_none() && (is_session_set(&m.stmts[unit.stmt]) || unit.inert_setting)
        })
        .count();
    for mut parts in texts.drain(..leading_sets) {
        if let Some(first) = parts.first_mut() {
            drop_leading_line_breaks(&mut first.text);
        }
        out.extend(parts);
    }
    if let Some((first, parts)) = step.units().nth(leading_sets).zip(texts.first_mut()) {
        let unit = &r.units[first];
        let s = &m.stmts[unit.stmt];
        // A `-- pgsafe:ignore` directive (in any letter case) must stay right before its
        // statement.
        let directive = !s.ignored.is_empty();
        if unit.generated.is_none() && !s.is_trivia() && !directive {
            // From a goose `StatementBegin` on, the comments open the statement's block: BEGIN
            // and the timeouts go before it, or the block would swallow them.
            let lead = parts
                .iter()
                .take_while(|p| matches!(p.kind, PartKind::Trivia | PartKind::Marker { opens_block: false, .. }))
                .count();
            for (k, mut p) in parts.drain(..lead).enumerate() {
                if k == 0 {
                    drop_leading_line_breaks(&mut p.text);
                }
                out.push(p.kind, p.text);
            }
        }
    }
    let has_sql = step
        .units()
        .skip(leading_sets)
        .any(|u| !m.stmts[r.units[u].stmt].is_trivia() || r.units[u].generated.is_some());
    let transaction = step.mode == StepMode::Transaction && has_sql;
    if transaction {
        out.push(PartKind::Begin, "BEGIN;\n");
    }
    // The draft's statements this step runs, replayed ones first.
    let stmts = || {
        step.items.iter().filter_map(|i| match i {
            Item::Unit(u) => Some(r.units[*u].stmt),
            Item::Replay(s) | Item::ReplayLocal(s) => Some(*s),
            Item::Trivia(_) => None,
        })
    };
    let (lock, statement) = (config.lock_timeout.clone(), config.statement_timeout.clone());
    // A statement_timeout the draft chose for its session (repeated above) is its own decision (a
    // long step run deliberately): pgsafe does not override it.
    let replayed = step.items.iter().filter_map(|i| match i {
        Item::Replay(s) => Some(*s),
        _ => None,
    });
    // A SET LOCAL outside any transaction block (run before BEGIN) sets nothing.
    let leading = step.units().take(leading_sets).filter(|&u| !r.units[u].inert_setting);
    let mut own = replayed.chain(leading.map(|u| r.units[u].stmt));
    let own_statement_timeout = draft_setting("statement_timeout", &mut own);
    let pgsafe_sets_statement_timeout = step.timeouts == Timeouts::Short && own_statement_timeout.is_none();
    let pgsafe_statement_timeout = match step.timeouts {
        Timeouts::Short => own_statement_timeout.is_none(),
        Timeouts::Unlimited => !keeps_draft_statement_timeout(r, step),
        Timeouts::None | Timeouts::LockOnly => false,
    };
    match (step.timeouts, step.mode) {
        // A transaction step sets them for its transaction. An autocommit step (kept as written,
        // holding the draft's own transactions if any, or a statement that cannot run in a
        // transaction block) sets the session's, before everything.
        (Timeouts::Short, mode) => {
            let set = if mode == StepMode::Transaction { "SET LOCAL" } else { "SET" };
            out.push(PartKind::Setting, format!("{set} lock_timeout = '{lock}';\n"));
            body.lock_timeout = Some(lock);
            match own_statement_timeout {
                Some(v) => body.statement_timeout = Some(v),
                None => {
                    out.push(PartKind::Setting, format!("{set} statement_timeout = '{statement}';\n"));
                    body.statement_timeout = Some(statement);
                }
            }
        }
        (Timeouts::LockOnly, mode) => {
            let set = if mode == StepMode::Transaction { "SET LOCAL" } else { "SET" };
            out.push(PartKind::Setting, format!("{set} lock_timeout = '{lock}';\n"));
            body.lock_timeout = Some(lock);
        }
        (Timeouts::Unlimited, StepMode::Transaction) => {
            if pgsafe_statement_timeout {
                out.push(PartKind::Setting, "SET LOCAL statement_timeout = 0;\n");
                body.statement_timeout = Some("0".into());
            }
        }
        (Timeouts::Unlimited, StepMode::Autocommit) => {
            if !batches_rows(r, step) {
                out.push(PartKind::Setting, "SET lock_timeout = 0;\n");
                body.lock_timeout = Some("0".into());
            }
            if pgsafe_statement_timeout {
                out.push(PartKind::Setting, "SET statement_timeout = 0;\n");
                body.statement_timeout = Some("0".into());
            }
        }
        (Timeouts::None, _) => {}
    }
    // Where the draft turns lock_timeout off, a step that bounds its lock waits bounds them again
    // right after: the statements that follow take their locks under pgsafe's lock_timeout.
    let bound_again = |out: &mut Parts, s: usize| {
        if matches!(step.timeouts, Timeouts::Short | Timeouts::LockOnly) && r.units[s].lock_timeout_off {
            let set = if step.mode == StepMode::Transaction { "SET LOCAL" } else { "SET" };
            out.push(PartKind::Setting, format!("{set} lock_timeout = '{}';\n", config.lock_timeout));
        }
    };
    // The draft transaction's SET LOCALs, inside this step's transaction.
    for item in &step.items {
        if let (Item::ReplayLocal(s), true) = (item, transaction) {
            out.push(plain, format!("{};\n", replayed_text(m, *s, true)));
            bound_again(out, *s);
        }
    }
    // A concurrent statement in an autocommit step that bounds its session's waits (a region kept
    // as written) runs without the bounds, as the draft runs it: it waits for every older
    // transaction, and a timeout there leaves an INVALID index, or a partition half detached,
    // where the draft succeeds. The bounds in force before it are set again after it.
    let bounded_session =
        step.mode == StepMode::Autocommit && matches!(step.timeouts, Timeouts::Short | Timeouts::LockOnly);
    let pgsafe_bounds = [
        ("lock_timeout", Some(&config.lock_timeout)),
        ("statement_timeout", Some(&config.statement_timeout).filter(|_| pgsafe_sets_statement_timeout)),
    ];
    let unbounded = |u: usize| {
        bounded_session
            && r.units[u].generated.is_none()
            && m.stmts[r.units[u].stmt].ops.iter().any(|o| o.kind.is_concurrent())
    };
    // The draft's own last session setting of `name` among the step's units before `u`.
    let draft_value_before = |name: &str, u: usize| {
        let earlier = step.units().take_while(|&v| v != u).map(|v| r.units[v].stmt);
        let sessions = earlier.flat_map(|s| m.stmts[s].ops.iter().filter_map(|o| o.kind.setting(name)));
        sessions.filter(|(_, local)| !local).last().map(|(v, _)| v.to_string())
    };
    let body_units = step.units().skip(leading_sets);
    for (k, (parts, u)) in texts.into_iter().zip(body_units).enumerate() {
        let unbounded = unbounded(u);
        if unbounded {
            for (name, _) in pgsafe_bounds.iter().filter(|(_, v)| v.is_some()) {
                out.push(PartKind::Setting, format!("SET {name} = 0;\n"));
            }
        }
        // A concurrent build pgsafe made: what a failed run of it leaves, dropped first.
        if let (Some(l), true) = (r.leftovers.get(&u), step.mode == StepMode::Autocommit && r.units[u].long_running) {
            out.push(PartKind::Trivia, super::leftover::comment(l));
            if let Some(guard) = super::leftover::guard(l, &config.lock_timeout) {
                out.push(PartKind::Statement(Statement::Guard), guard);
            }
        }
        for (j, mut p) in parts.into_iter().enumerate() {
            // The first statement's leading blank lines would only separate it from BEGIN.
            if k == 0 && j == 0 {
                drop_leading_line_breaks(&mut p.text);
            }
            out.push(p.kind, p.text);
        }
        if r.units[u].generated.is_none() {
            bound_again(out, r.units[u].stmt);
        }
        if unbounded {
            for (name, pgsafe) in pgsafe_bounds.iter().filter_map(|(n, v)| Some((n, (*v)?))) {
                match draft_value_before(name, u).filter(|v| !v.is_empty()) {
                    Some(v) => out.push(PartKind::Setting, format!("SET {name} TO {v};\n")),
                    None => out.push(PartKind::Setting, format!("SET {name} = '{pgsafe}';\n")),
                }
            }
        }
    }
    out.close_goose_block();
    if step.mode == StepMode::Autocommit {
        // Its timeouts are the session's: a runner that goes on to the next migration on the same
        // connection (node-pg-migrate, Alembic, Django, `pgsafe apply`) would keep pgsafe's, and a
        // later statement would wait for its lock without limit. What the draft has in force here
        // is put back: its own last session setting, or the connection's default.
        // A batched loop sets no lock_timeout of its own, but runs the draft transaction's
        // `SET LOCAL lock_timeout` for its session.
        let replays_local = |name: &str| {
            step.items.iter().any(
                |i| matches!(i, Item::ReplayLocal(s) if m.stmts[*s].ops.iter().any(|o| o.kind.setting(name).is_some())),
            )
        };
        let in_force = |name: &str| {
            let session =
                |s: usize| m.stmts[s].ops.iter().filter_map(|o| o.kind.setting(name)).filter(|(_, local)| !local);
            stmts().flat_map(session).last().map(|(v, _)| v)
        };
        for (name, set) in [
            (
                "lock_timeout",
                step.timeouts != Timeouts::None && (!batches_rows(r, step) || replays_local("lock_timeout")),
            ),
            ("statement_timeout", pgsafe_statement_timeout),
        ] {
            if set {
                match in_force(name).filter(|v| !v.is_empty()) {
                    Some(v) => out.push(PartKind::Restore, format!("SET {name} TO {v};\n")),
                    None => out.push(PartKind::Restore, format!("RESET {name};\n")),
                }
            }
        }
    }
    if transaction {
        out.push(
            PartKind::End(if step.rollback { End::Rollback } else { End::Commit }),
            if step.rollback { "ROLLBACK;\n" } else { "COMMIT;\n" },
        );
    }
    // What the draft's own settings in this step leave in force where pgsafe sets nothing.
    if body.lock_timeout.is_none() {
        body.lock_timeout = draft_setting("lock_timeout", &mut stmts());
    }
    if body.statement_timeout.is_none() {
        body.statement_timeout = draft_setting("statement_timeout", &mut stmts());
    }
    body
}

/// Why a step holds what follows a statement that leaves a `(` or `BEGIN` open.
const AUTOCOMMIT_OFF: &str =
    "with AUTOCOMMIT off psql runs what follows in a transaction it opens itself, to a COMMIT (or to the end of the file, where it rolls back)";
const LOCAL_ALONE: &str =
    "outside a transaction block does nothing under psql and holds to the end of the file under a migration tool's transaction";
const UNCLOSED: &str = "a statement leaves a ( or BEGIN open, so where the statements from there on end is a guess";
const NEVER_COMMITTED: &str =
    "the draft never commits this transaction (its session ends with the file, and PostgreSQL rolls it back), so nothing in it may commit";
const CONDITIONAL: &str = "a psql \\if block runs its statements only when its condition holds";
const DEFERRED: &str = "SET CONSTRAINTS … DEFERRED leaves the constraint checks to the transaction's COMMIT";
const TRANSACTION_TIME: &str =
    "its statements read the transaction's start time (now()) or id, the same in each only in one transaction";
const TRANSACTION_MODES: &str =
    "SET TRANSACTION (or BEGIN with modes, or COMMIT AND CHAIN) holds for the one transaction it runs in";
const INITIALLY_DEFERRED: &str =
    "a constraint declared INITIALLY DEFERRED checks the rows the transaction writes at its COMMIT";
const CONDITIONAL_SETTING: &str =
    "a psql \\if block makes a setting only when its condition holds, and what follows runs with it in this session";

/// A step that would run without a statement timeout (a concurrent build, a `VALIDATE`) keeps the
/// draft's own where the draft runs its statement under one: the plan gives up where the draft
/// does.
fn keeps_draft_statement_timeout(r: &Rewritten, step: &Step) -> bool {
    step.units().any(|u| r.units[u].under_draft_statement_timeout)
}

/// Does the step run a loop of committed batches ([`crate::passes::Unit::row_batches`])? It
/// keeps the `lock_timeout` in force.
fn batches_rows(r: &Rewritten, step: &Step) -> bool {
    step.units().any(|u| r.units[u].row_batches)
}

/// Why the draft's statements are kept together as written, in the words of a step's reason.
pub(super) fn kept_because(keep: &Keep) -> String {
    match keep {
        Keep::Session(what) => {
            format!("the {what} lives only in this session, so every statement that uses it runs here")
        }
        Keep::RolledBack => "it holds a transaction the draft rolls back".into(),
        Keep::NeverCommitted => NEVER_COMMITTED.into(),
        Keep::Prepared(gid) => {
            format!("PREPARE TRANSACTION {gid} ends the transaction without committing it; COMMIT PREPARED {gid} commits it later")
        }
        Keep::Savepoint(name) => format!("SAVEPOINT {name} runs with what it encloses"),
        Keep::Unclosed => UNCLOSED.into(),
        Keep::Conditional => CONDITIONAL.into(),
        Keep::ConditionalSetting => CONDITIONAL_SETTING.into(),
        Keep::DeferredConstraints => DEFERRED.into(),
        Keep::InitiallyDeferred => INITIALLY_DEFERRED.into(),
        Keep::WritesChanged { table, change, split, .. } => {
            format!("{change} changes how {table} takes writes, and the {split} beside it depends on the rows written meanwhile")
        }
        Keep::Replaced { object, first, then, .. } => {
            format!("{first} and the {then} after it change {object} twice, and nothing may see it in between")
        }
        Keep::TransactionModes => TRANSACTION_MODES.into(),
        Keep::TransactionTime => TRANSACTION_TIME.into(),
        Keep::Quits => {
            "psql stops reading the file at \\q, and what follows runs only where the draft does not reach it".into()
        }
        Keep::Inert(what) => format!("outside a transaction block {what} does nothing"),
        Keep::Refused(what) => format!("outside a transaction block PostgreSQL refuses {what}"),
        Keep::ExplicitLock(what) => format!("{what} holds its lock until the transaction ends"),
        Keep::SetsDefault(what) => format!("{what} is a default for later sessions, not for this one"),
        Keep::UnreadSetting(what) => format!("{what} gets a value no later session could repeat"),
        Keep::ChangedByCode { function, what } => {
            format!("{} {what}, which no later session would have", code(function))
        }
        Keep::AutocommitOff => AUTOCOMMIT_OFF.into(),
        Keep::LocalOutsideTransaction(name) => format!("SET LOCAL {name} {LOCAL_ALONE}"),
        Keep::SessionCall { call, effect } => {
            format!("{call} {}, which no later session would have", effect.describe())
        }
    }
}

/// The code that changed its session, in a step's reason: a `DO` block, or a call of a function.
fn code(function: &Option<Box<str>>) -> String {
    function.as_ref().map_or("a DO block".into(), |f| format!("a call of {f}"))
}

/// Why this step exists, in one line, for the file header and the manifest.
pub fn step_reason(m: &Migration<'_>, r: &Rewritten, step: &Step) -> String {
    if step.raw && step.wrapped {
        return "transaction: nothing to rewrite; the draft as written, in the one transaction its migration tool runs it in".into();
    }
    if step.raw {
        return "unchanged: pgsafe found nothing to rewrite".into();
    }
    if step.as_written {
        let why = step.kept.as_ref().map_or(String::new(), kept_because);
        return format!("the draft's statements as written, its own BEGIN/COMMIT included: {why}");
    }
    if let Some(keep) = &step.kept {
        // Two reasons read differently when only the transaction is kept.
        let why = match keep {
            Keep::RolledBack => "the draft rolls it back (a dry run), so nothing in it may commit on its own".into(),
            Keep::Savepoint(name) => format!("SAVEPOINT {name} must run in one transaction with what it encloses"),
            _ => kept_because(keep),
        };
        return format!("transaction, kept as written: {why}");
    }
    // What the step is about: its first statement that is not a setting, as the plan runs it.
    let title = Title(step_title(m, r, step).trim_start());
    let first_op = step
        .units()
        .filter(|&u| r.units[u].generated.is_none())
        .flat_map(|u| m.stmts[r.units[u].stmt].ops.iter())
        .map(|o| &o.kind)
        .find(|k| !matches!(k, OpKind::Set { .. } | OpKind::Psql(_)));
    let batched = step.units().any(|u| r.units[u].generated.as_deref().is_some_and(|t| t.starts_with("DO $pgsafe$")))
        || step.units().any(|u| r.units[u].rules.contains(&"backfill"));
    if step.mode == StepMode::Autocommit {
        if batched {
            return "autocommit: a batched backfill commits after every batch, so it runs outside a transaction block"
                .into();
        }
        if let Some(OpKind::NoTransaction { what }) = first_op {
            return format!("autocommit: {what} cannot run inside a transaction block");
        }
        // A REINDEX the draft wrote without CONCURRENTLY, kept so (a rewritten one runs long).
        let made_concurrent = step.units().any(|u| r.units[u].long_running);
        if let (Some(OpKind::Reindex { concurrently: false, target, .. }), false) = (first_op, made_concurrent) {
            return match target.as_str() {
                "TABLE" | "INDEX" => format!(
                    "autocommit: REINDEX {target} runs outside a transaction block, as in the draft (PostgreSQL refuses one for a partitioned relation)"
                ),
                _ => format!("autocommit: REINDEX {target} cannot run inside a transaction block"),
            };
        }
        if step.units().any(|u| m.stmts[r.units[u].stmt].controls_transactions) {
            return "autocommit: a CALL, or a DO block that commits, may end transactions of its own, which PostgreSQL \
                    refuses inside a transaction block"
                .into();
        }
        let statement = ["CREATE UNIQUE INDEX", "CREATE INDEX", "DROP INDEX", "REINDEX"]
            .into_iter()
            .find(|s| title.starts_with(s))
            .or_else(|| title.contains(" DETACH PARTITION ").then_some("DETACH PARTITION"))
            .unwrap_or("this statement");
        return format!("autocommit: {statement} CONCURRENTLY cannot run inside a transaction block");
    }
    let validates = step.units().any(|u| {
        let unit = &r.units[u];
        unit.validate_now
            || unit.phase == crate::passes::Phase::Validate
            || (unit.generated.is_none() && m.stmts[unit.stmt].validates())
    });
    if validates {
        return "transaction: VALIDATE scans under SHARE UPDATE EXCLUSIVE; reads and writes go on".into();
    }
    let refreshes = step.units().any(|u| {
        let unit = &r.units[u];
        unit.generated.is_none() && m.stmts[unit.stmt].runs_long_without_blocking()
    });
    if refreshes {
        return "transaction: REFRESH MATERIALIZED VIEW CONCURRENTLY holds EXCLUSIVE on the view; its queries go on"
            .into();
    }
    if title.starts_with("UPDATE") || title.starts_with("DELETE") {
        return "transaction: a backfill pgsafe could not batch; it locks every row it changes until it commits".into();
    }
    let lock = step.units().filter_map(|u| r.units[u].blocking_lock()).max_by_key(|l| l.mode);
    let not_valid =
        title.contains("NOT VALID") || step.units().any(|u| r.units[u].rules.iter().any(|r| r.ends_with("not-valid")));
    match lock {
        Some(l) if not_valid => {
            format!(
                "transaction: the constraint is added NOT VALID, so the {} lock on {} is brief",
                l.mode, l.table.text
            )
        }
        Some(l) if title.contains("USING INDEX") => {
            format!(
                "transaction: attaches the index built concurrently; the {} lock on {} is brief",
                l.mode, l.table.text
            )
        }
        Some(l) => format!(
            "transaction: takes {} on {} (blocks {}); lock_timeout bounds the wait",
            l.mode,
            l.table.text,
            l.mode.blocks()
        ),
        // A statement pgsafe could not read may take any lock: the header must not promise none.
        None if step
            .units()
            .any(|u| r.units[u].generated.is_none() && m.stmts[r.units[u].stmt].may_take_unread_locks()) =>
        {
            "transaction: holds a statement pgsafe could not read, which may take locks it cannot name: review them \
             by hand"
                .into()
        }
        None => "transaction: takes no lock that blocks reads or writes on a table with traffic".into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    #[test]
    fn a_statement_ending_in_a_backslash_command_gets_its_semicolon_on_a_line_of_its_own() {
        // `\.` outside COPY data is a meta-command to psql, not the end of data: the statement
        // before it still needs its `;`, or the step's COMMIT would join the statement (and the
        // transaction would never end). A fuzz find: the plan, checked again, was no fixed point.
        let c = compile("d.sql", "CREATE INDEX i ON t (a);\nUPDATE t SET a = 1 \\.", &Config::default()).unwrap();
        let step = c.steps().last().unwrap().text();
        assert!(step.ends_with("UPDATE t SET a = 1 \\.\n;\nCOMMIT;\n"), "{step}");
    }

    #[test]
    fn a_step_holding_a_statement_pgsafe_could_not_read_does_not_promise_no_lock() {
        // A probe: the header of a pg_dump's first step said it took no lock that blocks, while
        // the same run flagged a statement of the step as not understood.
        let draft = "CREATE INDEX i ON t (a);\nALTER TYPE addr RENAME ATTRIBUTE zip TO postcode CASCADE;\n";
        let c = compile("d.sql", draft, &Config::default()).unwrap();
        let step = c.steps().find(|s| s.text().contains("CASCADE")).unwrap().text();
        let header = step.lines().next().unwrap();
        assert!(!header.contains("takes no lock"), "{header}");
        assert!(header.contains("could not read"), "{header}");
    }
}
