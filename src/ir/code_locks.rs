//! The table locks a `DO` block's code takes, as far as its words show, and those of the
//! functions and procedures the draft (or `--schema`) creates, which a statement that calls one
//! takes. PostgreSQL
//! runs the block (or the call) as one statement, and a DDL statement inside it (or in a string it
//! `EXECUTE`s) queues for its lock as the same statement written in the draft would: behind a long
//! transaction, with every later read and write of the table queued behind it (blockprobe: a plan
//! step holding `DO $$ … ALTER TABLE order_notes … $$` and no `lock_timeout` made writes wait; so
//! did `SELECT migrate_notes();` of a function the draft had just created around the same DDL, a
//! common idiom of older migrations).
//!
//! Read loosely, as [`super::session::changed_by_code`] reads a block: a word that is no such
//! statement only gives the block a `lock_timeout` it did not need. Code that bounds its own lock
//! waits first (`SET lock_timeout`, `set_config('lock_timeout', …)`, as the fallback of pgsafe's
//! own batched loops does) is left to that bound.

use super::lock::{LockMode, LockUse};
use super::lower::{lock, risky_head, string_body, unnamed_tables_lock};
use super::lower_object;
use super::name::Name;
use super::physical_order::OrderRead;
use super::session::{changed_by_body, CodeChange};
use crate::front::tokens::{fold_word, head_words, Lexer, Tok, Token};
use rustc_hash::FxHashMap;
use std::iter::Peekable;

/// What a `DROP` of which locks a table (or a view that queries read).
const ON_A_TABLE: [&str; 6] = ["index", "view", "materialized", "trigger", "policy", "rule"];

/// Where the table a statement locks is not written out (`format('ALTER TABLE %I …', t)`).
const UNNAMED: &str = "\"(the tables its code alters)\"";

/// The locks of the DDL statements in the `DO` block `text` (none for any other statement): each
/// on the table it names, or on a stand-in where the name is not written out.
pub fn do_block_locks(text: &str) -> Vec<LockUse> {
    let mut toks = Lexer::new(text);
    if !toks.next().is_some_and(|t| t.is_word("do")) {
        return Vec::new();
    }
    let mut found = Found::default();
    for t in toks.filter(|t| t.tok == Tok::Literal) {
        statements_in(string_body(&text[t.span.clone()]), 1, &mut found);
    }
    found.locks()
}

/// What a block's statements lock, in order, until the block bounds its own lock waits.
#[derive(Default)]
struct Found {
    locks: Vec<LockUse>,
    bounded: bool,
    /// The tables the code creates: new, so no traffic waits for what it locks of them later.
    created: Vec<Name>,
    /// Which of `locks` are on a table the code created before.
    on_new: Vec<bool>,
    /// The code handles errors (`EXCEPTION WHEN duplicate_table THEN NULL`): a `CREATE TABLE`
    /// may have failed on a table that was there, with its traffic.
    handles_errors: bool,
}

impl Found {
    /// The locks that traffic may wait for.
    fn locks(self) -> Vec<LockUse> {
        let Found { locks, on_new, handles_errors, .. } = self;
        locks.into_iter().zip(on_new).filter(|&(_, new)| handles_errors || !new).map(|(l, _)| l).collect()
    }
}

/// The functions and procedures created so far, by `--schema` (a dump or the earlier migrations:
/// `Catalog::functions`) and by the draft (by folded name, without its schema: pgsafe does not
/// resolve overloads or the `search_path` here, and reads loosely), each with what its code does
/// that a call does too.
#[derive(Debug, Clone, Default)]
pub struct Functions {
    code: FxHashMap<String, Effects>,
}

/// What a function's code does that matters where it is called: the table locks of its DDL, and
/// a change to the session that calls it (`set_config('search_path', …, false)`), which later
/// steps of a plan, each a new session, would not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub locks: Vec<LockUse>,
    pub session: Option<CodeChange>,
    /// Where the draft first creates such code (its statement's draft offset; none for
    /// `--schema`'s): a step of the plan that calls it must hold it too, or `pgsafe check` of
    /// that step alone would not know what the call does.
    pub defined_at: Option<usize>,
    /// How its code may read the physical order of rows ([`super::physical_order`]): a batched
    /// `UPDATE` before a call leaves them in another order.
    pub order_read: Option<OrderRead>,
}

impl Effects {
    fn add(&mut self, other: &Effects) {
        self.locks.extend(other.locks.iter().cloned());
        self.session = self.session.or(other.session);
        self.order_read = self.order_read.or(other.order_read);
        self.defined_at = match (self.defined_at, other.defined_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn is_empty(&self) -> bool {
        self.locks.is_empty() && self.session.is_none() && self.order_read.is_none()
    }

    /// Does the code take table locks or change the session (what a statement that calls it
    /// runs as code: [`RunsCode::Calls`])?
    pub fn acts(&self) -> bool {
        !self.locks.is_empty() || self.session.is_some()
    }
}

/// Code a statement runs whose table locks pgsafe read from its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunsCode {
    /// A `DO` block (its locks may be none).
    Block,
    /// A call of a function or procedure the draft (or `--schema`) created whose code takes table
    /// locks or changes the session: its name as the call writes it is [`Migration::called`]`[k]` (an
    /// index: every statement of a big draft holds this field).
    ///
    /// [`Migration::called`]: super::migration::Migration::called
    Calls(u32),
}

/// A call of a function whose code pgsafe read, as [`Migration::called`] keeps it.
///
/// [`Migration::called`]: super::migration::Migration::called
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Called {
    /// The (first) function's name as the call writes it.
    pub function: Box<str>,
    /// See [`Effects::defined_at`].
    pub defined_at: Option<usize>,
}

/// A call, in a statement, of a function whose code takes table locks or changes the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The (first) function's name as the statement writes it.
    pub function: Box<str>,
    /// What the code of every such function it calls does.
    pub effects: Effects,
}

/// The first words of a statement that runs the functions it names (`CREATE TRIGGER … EXECUTE
/// FUNCTION f()`, `DROP FUNCTION f()`, `COMMENT ON FUNCTION f()` name one and run nothing).
const CALLERS: [&str; 8] = ["select", "call", "do", "with", "insert", "update", "delete", "values"];

impl Functions {
    /// Read the draft's next statement, `text` (at draft offset `at`): what it calls (before the
    /// function it may create is known), then the function or procedure it creates, if any.
    pub fn read(&mut self, text: &str, at: usize) -> Option<Call> {
        let call = self.called_by(text);
        self.define(text, at);
        call
    }

    /// What the functions `text` calls do, when it runs them and any does something.
    fn called_by(&self, text: &str) -> Option<Call> {
        if self.code.is_empty() || !Lexer::new(text).next().is_some_and(|t| CALLERS.iter().any(|w| t.is_word(w))) {
            return None;
        }
        let mut call: Option<Call> = None;
        self.calls_in(text, 2, &mut |name, effects| {
            let call = call.get_or_insert_with(|| Call { function: name.into(), effects: Effects::default() });
            call.effects.add(effects);
        });
        call
    }

    /// Each call in `code` (and the strings it holds, `depth` levels down) of a function whose
    /// code does something: its name as written and what it does.
    fn calls_in(&self, code: &str, depth: u8, found: &mut dyn FnMut(&str, &Effects)) {
        let mut toks = Lexer::new(code).peekable();
        let mut after_function_word = false;
        while let Some(t) = toks.next() {
            let key = match &t.tok {
                Tok::Word(w) => Some(fold_word(w)),
                Tok::Quoted(q) => Some(q.clone()),
                _ => None,
            };
            let called = !after_function_word && toks.peek().is_some_and(|n| n.is_punct('('));
            if let Some(effects) = key.filter(|_| called).and_then(|k| self.code.get(&k)) {
                found(&code[t.span.clone()], effects);
            }
            if t.tok == Tok::Literal && depth > 0 {
                self.calls_in(string_body(&code[t.span.clone()]), depth - 1, found);
            }
            after_function_word = ["function", "procedure", "routine"].iter().any(|w| t.is_word(w));
        }
    }

    /// Record the function or procedure `text` creates (`CREATE [OR REPLACE] FUNCTION|PROCEDURE
    /// name (…) … AS 'code'`) with what its code does, the functions it calls included. Several
    /// of one name (overloads) add up.
    fn define(&mut self, text: &str, at: usize) {
        let mut toks = Lexer::new(text).peekable();
        let next_is = |toks: &mut Peekable<Lexer<'_>>, w: &str| toks.next_if(|t| t.is_word(w)).is_some();
        if !(next_is(&mut toks, "create")
            && (!next_is(&mut toks, "or") || next_is(&mut toks, "replace"))
            && (next_is(&mut toks, "function") || next_is(&mut toks, "procedure")))
        {
            return;
        }
        let mut key = None;
        while let Some(part) = toks.next_if(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_))) {
            key = Some(match part.tok {
                Tok::Quoted(q) => q,
                _ => fold_word(&text[part.span.clone()]),
            });
            if toks.next_if(|t| t.is_punct('.')).is_none() {
                break;
            }
        }
        let Some(key) = key else { return };
        let (mut found, mut called) = (Found::default(), Effects::default());
        let (mut session, mut order_read) = (None, None);
        for t in toks.filter(|t| t.tok == Tok::Literal) {
            let code = string_body(&text[t.span.clone()]);
            statements_in(code, 1, &mut found);
            session = session.or(changed_by_body(code));
            order_read = order_read.or(super::physical_order::order_read(code));
            self.calls_in(code, 1, &mut |_, effects| called.add(effects));
        }
        if found.bounded {
            // What it calls waits for its locks no longer than the bound it sets.
            called.locks.clear();
        }
        let mut effects = Effects { locks: found.locks(), session, defined_at: None, order_read };
        effects.add(&called);
        effects.defined_at = Some(at);
        if !effects.is_empty() {
            self.code.entry(key).or_default().add(&effects);
        }
    }
}

/// The locks of the statements in a block's body (or a string it runs), reading the strings in
/// it `depth` more levels down.
fn statements_in(body: &str, depth: u8, found: &mut Found) {
    // At the start of a PL/pgSQL statement (or of an `EXECUTE`d string).
    let mut at_start = true;
    // In a statement from an `INSERT`, `UPDATE` or `DELETE` on (`EXPLAIN UPDATE` too), whose
    // strings are values, not code (a backfill's `DO` block holds the draft's `UPDATE … SET note
    // = '…; ALTER TABLE …'`: read as code, the block took a lock its statement never takes; found
    // by the fuzzer).
    let mut in_dml = false;
    let mut toks = Lexer::new(body).peekable();
    while let Some(t) = toks.next() {
        found.handles_errors |= t.is_word("exception");
        in_dml = (in_dml && !at_start) || ["insert", "update", "delete"].iter().any(|w| t.is_word(w));
        if t.is_word("lock_timeout") || t.tok == Tok::Literal && string_body(&body[t.span.clone()]) == "lock_timeout" {
            found.bounded = true;
        }
        if at_start && !found.bounded {
            let locks = match statement_lock(&t, &mut toks, body, &mut found.created) {
                Some(l) => vec![l],
                None => other_ddl_locks(&t, body),
            };
            for l in locks {
                found.on_new.push(found.created.iter().any(|c| c.same(&l.table)));
                found.locks.push(l);
            }
        }
        if t.tok == Tok::Literal && depth > 0 && !in_dml {
            statements_in(string_body(&body[t.span.clone()]), depth - 1, found);
        }
        at_start = t.is_punct(';') || ["begin", "then", "else", "loop", "execute"].iter().any(|w| t.is_word(w));
    }
}

/// The lock of the statement starting with `first`, if it is DDL that blocks traffic (a table it
/// creates goes to `created`).
fn statement_lock(
    first: &Token<'_>,
    toks: &mut Peekable<Lexer<'_>>,
    body: &str,
    created: &mut Vec<Name>,
) -> Option<LockUse> {
    let next_is = |toks: &mut Peekable<Lexer<'_>>, w: &str| toks.next_if(|t| t.is_word(w)).is_some();
    let (table, mode) = if first.is_word("alter") && next_is(toks, "table") {
        let _if_exists = next_is(toks, "if") && next_is(toks, "exists");
        next_is(toks, "only");
        (name(toks, body), LockMode::AccessExclusive)
    } else if first.is_word("create") && (next_is(toks, "unique") | next_is(toks, "index")) {
        // `CREATE [UNIQUE] INDEX … ON [ONLY] t`: SHARE, the whole scan long.
        while toks.next_if(|t| !t.is_word("on") && !t.is_punct(';')).is_some() {}
        next_is(toks, "on").then_some(())?;
        next_is(toks, "only");
        (name(toks, body), LockMode::Share)
    } else if first.is_word("create") && creates_a_table(toks) {
        // `CREATE TABLE t PARTITION OF parent …`: ACCESS EXCLUSIVE on the parent (measured in
        // tests/lock_model.rs; partitions made by a function, `format('… PARTITION OF %I …')`, are
        // a common idiom). Another new table locks nothing that has traffic.
        // `IF NOT EXISTS` may meet a table that has traffic: not new, then.
        let if_not_exists = next_is(toks, "if") && next_is(toks, "not") && next_is(toks, "exists");
        let new = name(toks, body).filter(|_| !if_not_exists);
        while toks.next_if(|t| !t.is_word("partition") && !t.is_punct('(') && !t.is_punct(';')).is_some() {}
        if !(next_is(toks, "partition") && next_is(toks, "of")) {
            created.extend(new);
            return None;
        }
        (name(toks, body), LockMode::AccessExclusive)
    } else if first.is_word("partition") && next_is(toks, "of") {
        // A string joined on after `'CREATE TABLE ' || name`: the partition's parent.
        (name(toks, body), LockMode::AccessExclusive)
    } else if first.is_word("drop") && next_is(toks, "table") || first.is_word("truncate") || first.is_word("lock") {
        next_is(toks, "table");
        let _if_exists = next_is(toks, "if") && next_is(toks, "exists");
        next_is(toks, "only");
        (name(toks, body), LockMode::AccessExclusive)
    } else if first.is_word("drop") && ON_A_TABLE.iter().any(|w| toks.peek().is_some_and(|t| t.is_word(w)))
        || ["reindex", "cluster", "refresh"].iter().any(|w| first.is_word(w))
    {
        // `DROP INDEX|TRIGGER|…`, `REINDEX`, `CLUSTER`, `REFRESH MATERIALIZED VIEW`: on a table
        // pgsafe does not look for. (`DROP FUNCTION`, `TYPE`, … lock no table.)
        (None, LockMode::AccessExclusive)
    } else {
        return None;
    };
    let table = table.unwrap_or_else(|| Name::new(UNNAMED));
    Some(lock(&table, mode, false))
}

/// The locks of the statement starting with `first` when it is other DDL that blocks traffic,
/// read as the draft's own statement is (`lower_object`: triggers, policies, rules, views,
/// sequences; `unnamed_tables_lock`: a domain's new check, a `DROP … CASCADE`), or a stand-in
/// where that cannot name what it locks: a name left to `format`, a statement whose string is cut
/// by a join (`'ALTER ' || 'TABLE t …'`), or DDL a draft's step gets a `lock_timeout` for
/// (`ALTER TYPE`, `ALTER INDEX`). Read loosely: a stand-in only costs a `lock_timeout`.
fn other_ddl_locks(first: &Token<'_>, body: &str) -> Vec<LockUse> {
    let from = first.span.start;
    let end = Lexer::new(&body[from..]).find(|t| t.is_punct(';')).map_or(body.len(), |t| from + t.span.start);
    let text = &body[from..end];
    let words = head_words(text, 4);
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let unnamed = || vec![lock(&Name::new(UNNAMED), LockMode::AccessExclusive, false)];
    if lower_object::knows(w(0), w(1)) {
        if let Some((_, locks)) = lower_object::lower(text) {
            return locks;
        }
        let on_objects = ["trigger", "policy", "rule", "view", "sequence", "materialized"];
        return if words.iter().any(|w| on_objects.contains(&w.as_str())) { unnamed() } else { Vec::new() };
    }
    if let Some(l) = unnamed_tables_lock(&words, text) {
        return vec![l];
    }
    let cut_short = words.len() == 1 && ["create", "alter", "drop"].contains(&w(0));
    if cut_short || risky_head(&words) {
        return unnamed();
    }
    Vec::new()
}

/// After `CREATE`: the words of `CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE`, taken.
fn creates_a_table(toks: &mut Peekable<Lexer<'_>>) -> bool {
    let modifiers = ["global", "local", "temp", "temporary", "unlogged"];
    while toks.next_if(|t| modifiers.iter().any(|w| t.is_word(w))).is_some() {}
    toks.next_if(|t| t.is_word("table")).is_some()
}

/// A table name written out (`t`, `s.t`, `"T"`), or `None` (a `format` placeholder, a string
/// joined on).
fn name(toks: &mut Peekable<Lexer<'_>>, body: &str) -> Option<Name> {
    let is_part = |t: &Token<'_>| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_));
    let first = toks.next_if(is_part)?;
    let mut end = first.span.end;
    while toks.next_if(|t| t.is_punct('.')).is_some() {
        end = toks.next_if(is_part)?.span.end;
    }
    // A name followed by `||`, or right after by `%` (`events_%s`), is only part of one; a `%s`
    // after a blank is something else (the bound of `PARTITION OF events %s`).
    if toks.peek().is_some_and(|t| t.is_punct('|') || t.is_punct('%') && t.span.start == end) {
        return None;
    }
    Some(Name::new(&body[first.span.start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(text: &str) -> Vec<(String, LockMode)> {
        do_block_locks(text).into_iter().map(|l| (l.table.text.to_string(), l.mode)).collect()
    }

    #[test]
    fn ddl_in_a_block_or_a_string_it_runs_takes_its_lock() {
        let ae = LockMode::AccessExclusive;
        let block =
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN ALTER TABLE IF EXISTS ONLY app.orders ADD COLUMN c int; \
                     END IF; EXECUTE 'LOCK TABLE \"Users\" IN SHARE MODE'; END $$";
        assert_eq!(locked(block), [("app.orders".into(), ae), ("\"Users\"".into(), ae)]);
        let by_format = "DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD c int', 't'); END $$";
        assert_eq!(locked(by_format), [(UNNAMED.into(), ae)]);
        let index = "DO $do$ BEGIN CREATE UNIQUE INDEX i ON t (a); END $do$";
        assert_eq!(locked(index), [("t".into(), LockMode::Share)]);
        // A new partition locks its parent; any other new table, nothing with traffic.
        let partitions = "DO $$ BEGIN CREATE TABLE IF NOT EXISTS events_2025 PARTITION OF events FOR VALUES IN (1); \
                          EXECUTE format('CREATE UNLOGGED TABLE %I PARTITION OF %I DEFAULT', 'a', 'b'); \
                          EXECUTE format('CREATE TABLE %I PARTITION OF logs %s', 'l', 'DEFAULT'); \
                          EXECUTE format('ALTER TABLE logs_%s ADD c int', 1); \
                          CREATE TEMP TABLE scratch (a int); END $$";
        let expected = [("events", ae), (UNNAMED, ae), ("logs", ae), (UNNAMED, ae)];
        assert_eq!(locked(partitions), expected.map(|(t, m)| (t.to_string(), m)));
        // What the code does to a table it created itself waits for no traffic.
        let swap = "DO $$ BEGIN CREATE TABLE events_new (a int) PARTITION BY LIST (a); \
                    EXECUTE format('CREATE TABLE %I PARTITION OF events_new %s', 'p', 'DEFAULT'); \
                    DROP TABLE events; ALTER TABLE events_new RENAME TO events; END $$";
        assert_eq!(locked(swap), [("events".to_string(), ae)]);
        // One made IF NOT EXISTS, or where the code goes on past an error, may be a table that
        // was there, with its traffic.
        let maybe =
            "DO $$ BEGIN CREATE TABLE IF NOT EXISTS s.v (a int); ALTER TABLE s.v ENABLE ROW LEVEL SECURITY; END $$";
        assert_eq!(locked(maybe), [("s.v".to_string(), ae)]);
        let caught = "DO $$ BEGIN BEGIN CREATE TABLE s.v (a int); EXCEPTION WHEN duplicate_table THEN NULL; END; \
                      ALTER TABLE s.v ENABLE ROW LEVEL SECURITY; END $$";
        assert_eq!(locked(caught), [("s.v".to_string(), ae)]);
        // What comes after the block's own bound on its lock waits is left to that bound.
        let bounded = "DO $$ BEGIN ALTER TABLE a ADD c int; PERFORM set_config('lock_timeout', '1s', true); \
                       ALTER TABLE b ADD c int; END $$";
        assert_eq!(locked(bounded), [("a".into(), ae)]);
    }

    #[test]
    fn a_call_carries_how_its_function_reads_the_rows_order_and_only_locks_make_it_run_code() {
        let mut functions = Functions::default();
        let made = "CREATE FUNCTION pick() RETURNS void LANGUAGE sql AS $$ INSERT INTO p SELECT id FROM t LIMIT 5 $$";
        assert_eq!(functions.read(made, 0), None);
        functions.read("CREATE FUNCTION plain() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", 10);
        let call = functions.read("UPDATE audit SET n = (SELECT pick())", 20).expect("a call of pick");
        assert_eq!(call.effects.order_read, Some(OrderRead::Picks));
        assert!(!call.effects.acts(), "it takes no lock and leaves the session alone");
        assert_eq!(functions.read("SELECT plain()", 30), None);
    }

    #[test]
    fn other_ddl_in_a_block_takes_the_lock_the_same_statement_takes_in_the_draft() {
        let (ae, sre) = (LockMode::AccessExclusive, LockMode::ShareRowExclusive);
        let expect = |pairs: &[(&str, LockMode)]| pairs.iter().map(|&(t, m)| (t.to_string(), m)).collect::<Vec<_>>();
        for (block, locks) in [
            ("DO $$ BEGIN CREATE TRIGGER trg BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f(); END $$", expect(&[("orders", sre)])),
            ("DO $$ BEGIN CREATE POLICY p ON app.orders USING (true); END $$", expect(&[("app.orders", ae)])),
            ("DO $$ BEGIN CREATE OR REPLACE RULE r AS ON INSERT TO orders DO NOTHING; END $$", expect(&[("orders", ae)])),
            ("DO $$ BEGIN ALTER SEQUENCE orders_id_seq RESTART 100; END $$", expect(&[("orders_id_seq", sre)])),
            ("DO $$ BEGIN CREATE OR REPLACE VIEW v AS SELECT 1; END $$", expect(&[("v", ae)])),
            // Names left to `format`: a stand-in.
            ("DO $$ BEGIN EXECUTE format('CREATE TRIGGER t AFTER INSERT ON %I FOR EACH ROW EXECUTE FUNCTION f()', 'o'); END $$", expect(&[(UNNAMED, ae)])),
            ("DO $$ BEGIN ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0); END $$", expect(&[("\"(every table using the domain)\"", LockMode::Share)])),
            ("DO $$ BEGIN DROP TYPE mood CASCADE; END $$", expect(&[("\"(the tables the CASCADE reaches)\"", ae)])),
            ("DO $$ BEGIN ALTER TYPE addr ALTER ATTRIBUTE zip TYPE text CASCADE; ALTER INDEX i SET TABLESPACE fast; END $$", expect(&[(UNNAMED, ae), (UNNAMED, ae)])),
            // A statement cut by a join, its keyword in one string and the rest in the next.
            ("DO $$ BEGIN EXECUTE 'ALTER ' || 'TABLE orders ADD c int'; END $$", expect(&[(UNNAMED, ae)])),
            ("DO $$ BEGIN EXECUTE 'CREATE TABLE ' || n || ' PARTITION OF events FOR VALUES IN (1)'; END $$", expect(&[("events", ae)])),
            // A trigger on a table the code created waits for no traffic.
            ("DO $$ BEGIN CREATE TABLE n (a int); CREATE TRIGGER t BEFORE UPDATE ON n FOR EACH ROW EXECUTE FUNCTION f(); END $$", expect(&[])),
        ] {
            assert_eq!(locked(block), locks, "{block}");
        }
        // Code and types, and what only names an object, lock no table.
        for block in [
            "DO $$ BEGIN CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1'; END $$",
            "DO $$ BEGIN CREATE TYPE mood AS ENUM ('a'); DROP FUNCTION IF EXISTS f(int); END $$",
            "DO $$ BEGIN CREATE SEQUENCE s; DROP TYPE IF EXISTS mood; END $$",
        ] {
            assert!(locked(block).is_empty(), "{block}");
        }
    }

    /// A call seen: the function as written, and each lock's table and mode.
    type Seen = Option<(String, Vec<(String, LockMode)>)>;

    /// What each statement of `draft`, read in order, takes through the functions it calls.
    fn calls(draft: &[&str]) -> Vec<Seen> {
        let mut functions = Functions::default();
        let seen = |c: Call| {
            (c.function.to_string(), c.effects.locks.into_iter().map(|l| (l.table.text.to_string(), l.mode)).collect())
        };
        draft.iter().map(|text| functions.read(text, 0).map(seen)).collect()
    }

    #[test]
    fn a_call_of_a_function_the_draft_created_takes_the_locks_of_its_code() {
        let ae = LockMode::AccessExclusive;
        let orders = || Some(("migrate".to_string(), vec![("orders".to_string(), ae)]));
        let define = "CREATE OR REPLACE FUNCTION public.migrate() RETURNS void AS $$ BEGIN \
                      ALTER TABLE orders ADD COLUMN c int; END $$ LANGUAGE plpgsql";
        let seen = calls(&[
            "SELECT migrate()",
            define,
            "select migrate();",
            "CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW EXECUTE FUNCTION migrate()",
            "DROP FUNCTION migrate()",
            "SELECT migrated()",
            "CALL public.migrate()",
            "DO $$ BEGIN PERFORM migrate(); END $$",
        ]);
        assert_eq!(seen, [None, None, orders(), None, None, None, orders(), orders()]);
        // A function that calls one takes its locks too; a quoted name is matched as written.
        let seen = calls(&[
            define,
            "CREATE FUNCTION \"Outer\"() RETURNS void LANGUAGE sql AS 'SELECT migrate()'",
            "SELECT \"Outer\"()",
            "SELECT outer()",
        ]);
        assert_eq!(seen[2].as_ref().map(|(_, locks)| locks.clone()), Some(vec![("orders".to_string(), ae)]));
        assert_eq!(seen[3], None);
        // Code that takes no table lock, or bounds its own waits first, adds nothing.
        let seen = calls(&[
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
            "SELECT f()",
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN SET LOCAL lock_timeout = '1s'; \
             ALTER TABLE t ADD c int; END $$",
            "CALL p()",
        ]);
        assert_eq!(seen, [None, None, None, None]);
    }

    #[test]
    fn a_call_of_a_function_that_changes_its_session_changes_the_callers() {
        let mut functions = Functions::default();
        let define = "CREATE FUNCTION use_archive() RETURNS void LANGUAGE plpgsql SET work_mem = '64MB' AS $$ \
                      BEGIN PERFORM set_config('search_path', 'archive', false); END $$";
        assert_eq!(functions.read(define, 0), None);
        let call = functions.read("SELECT use_archive()", 0).expect("a call");
        assert_eq!((&*call.function, call.effects.session), ("use_archive", Some(CodeChange::Setting)));
        assert!(call.effects.locks.is_empty());
        // The function's own `SET` clause holds for its call only: not a change of the session.
        functions.read("CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = archive AS 'SELECT 1'", 0);
        assert_eq!(functions.read("SELECT f()", 0), None);
    }

    #[test]
    fn row_work_messages_and_other_statements_take_no_table_lock() {
        for text in [
            "DO $$ BEGIN UPDATE t SET a = 1; RAISE NOTICE 'altering the table'; END $$",
            "DO $$ DECLARE altered int; BEGIN SELECT count(*) INTO altered FROM t; END $$",
            "SELECT 'ALTER TABLE t ADD c int'",
            "DO $$ BEGIN DROP FUNCTION IF EXISTS f(int); EXCEPTION WHEN OTHERS THEN NULL; END $$",
            // A value that reads like DDL, in the row work (a backfill's block holds the draft's).
            "DO $$ BEGIN UPDATE t SET note = 'x; ALTER TABLE u ADD c int'; END $$",
            "DO $$ BEGIN FOR l IN EXPLAIN DELETE FROM t WHERE note = 'x; ALTER TABLE u ADD c int' LOOP END LOOP; END $$",
            "DO $$ BEGIN INSERT INTO jobs (sql) VALUES ('ALTER TABLE u ADD c int'); END $$",
        ] {
            assert!(locked(text).is_empty(), "{text}");
        }
        // The statement after one still runs its strings.
        let text = "DO $$ BEGIN UPDATE t SET a = 1; EXECUTE 'ALTER TABLE u ADD c int'; END $$";
        assert_eq!(locked(text), [("u".to_string(), LockMode::AccessExclusive)]);
    }
}
