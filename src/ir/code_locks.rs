//! The table locks a `DO` block's code takes, as far as its words show. PostgreSQL runs the block
//! as one statement, and a DDL statement inside it (or in a string it `EXECUTE`s) queues for its
//! lock as the same statement written in the draft would: behind a long transaction, with every
//! later read and write of the table queued behind it (blockprobe: a plan step holding
//! `DO $$ … ALTER TABLE order_notes … $$` and no `lock_timeout` made writes wait).
//!
//! Read loosely, as [`super::session::changed_by_code`] reads a block: a word that is no such
//! statement only gives the block a `lock_timeout` it did not need. Code that bounds its own lock
//! waits first (`SET lock_timeout`, `set_config('lock_timeout', …)`, as the fallback of pgsafe's
//! own batched loops does) is left to that bound.

use super::lock::{LockMode, LockUse};
use super::lower::{lock, string_body};
use super::name::Name;
use crate::front::tokens::{Lexer, Tok, Token};
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
    found.locks
}

/// What a block's statements lock, in order, until the block bounds its own lock waits.
#[derive(Default)]
struct Found {
    locks: Vec<LockUse>,
    bounded: bool,
}

/// The locks of the statements in a block's body (or a string it runs), reading the strings in
/// it `depth` more levels down.
fn statements_in(body: &str, depth: u8, found: &mut Found) {
    // At the start of a PL/pgSQL statement (or of an `EXECUTE`d string).
    let mut at_start = true;
    let mut toks = Lexer::new(body).peekable();
    while let Some(t) = toks.next() {
        if t.is_word("lock_timeout") || t.tok == Tok::Literal && string_body(&body[t.span.clone()]) == "lock_timeout" {
            found.bounded = true;
        }
        if at_start && !found.bounded {
            if let Some(l) = statement_lock(&t, &mut toks, body) {
                found.locks.push(l);
            }
        }
        if t.tok == Tok::Literal && depth > 0 {
            statements_in(string_body(&body[t.span.clone()]), depth - 1, found);
        }
        at_start = t.is_punct(';') || ["begin", "then", "else", "loop", "execute"].iter().any(|w| t.is_word(w));
    }
}

/// The lock of the statement starting with `first`, if it is DDL that blocks traffic.
fn statement_lock(first: &Token<'_>, toks: &mut Peekable<Lexer<'_>>, body: &str) -> Option<LockUse> {
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

/// A table name written out (`t`, `s.t`, `"T"`), or `None` (a `format` placeholder, a string
/// joined on).
fn name(toks: &mut Peekable<Lexer<'_>>, body: &str) -> Option<Name> {
    let is_part = |t: &Token<'_>| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_));
    let first = toks.next_if(is_part)?;
    let mut end = first.span.end;
    while toks.next_if(|t| t.is_punct('.')).is_some() {
        end = toks.next_if(is_part)?.span.end;
    }
    // A name followed by `%`, `||` or `'` is only part of one.
    if toks.peek().is_some_and(|t| t.is_punct('%') || t.is_punct('|')) {
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
        // What comes after the block's own bound on its lock waits is left to that bound.
        let bounded = "DO $$ BEGIN ALTER TABLE a ADD c int; PERFORM set_config('lock_timeout', '1s', true); \
                       ALTER TABLE b ADD c int; END $$";
        assert_eq!(locked(bounded), [("a".into(), ae)]);
    }

    #[test]
    fn row_work_messages_and_other_statements_take_no_table_lock() {
        for text in [
            "DO $$ BEGIN UPDATE t SET a = 1; RAISE NOTICE 'altering the table'; END $$",
            "DO $$ DECLARE altered int; BEGIN SELECT count(*) INTO altered FROM t; END $$",
            "SELECT 'ALTER TABLE t ADD c int'",
            "DO $$ BEGIN DROP FUNCTION IF EXISTS f(int); EXCEPTION WHEN OTHERS THEN NULL; END $$",
        ] {
            assert!(locked(text).is_empty(), "{text}");
        }
    }
}
