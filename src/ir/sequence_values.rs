//! Does a statement read, or may it set, the session's sequence values? `currval('s')` returns
//! what `nextval('s')` last gave in this session, and `lastval()` what the last `nextval()` of
//! any sequence gave: a draft that inserts a parent row and then its child with
//! `currval('parents_id_seq')` relies on one session, and a plan that ran the child's `INSERT` in
//! a later step failed ("currval of sequence … is not yet defined in this session", a probe's
//! seed data). A `nextval()` may hide in a column default, a trigger or a function, so any
//! statement that evaluates data may set them.
//!
//! Read from the words, loosely so as to miss none: a mention in a string counts as a read (a
//! `DO` body, an `EXECUTE`), which only keeps more statements together.

use crate::front::tokens::{Lexer, Tok, Token};

/// What a statement does with the session's sequence values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SequenceValues {
    /// It evaluates no data (most DDL, settings, transaction control).
    #[default]
    Untouched,
    /// It may call `nextval()`: it writes rows, runs code, or evaluates a query.
    MaySet,
    /// It calls `currval()` or `lastval()`.
    Reads,
}

/// What `text`, one statement, does with the session's sequence values.
pub fn sequence_values(text: &str) -> SequenceValues {
    if mentions_a_reader(text) {
        let toks: Vec<Token<'_>> = Lexer::new(text).collect();
        let called = |k: usize| toks.get(k + 1).is_some_and(|n| n.is_punct('('));
        let reader = |t: &Token<'_>| t.is_word("currval") || t.is_word("lastval");
        let in_a_string = |t: &Token<'_>| t.tok == Tok::Literal && mentions_a_reader(&text[t.span.clone()]);
        if toks.iter().enumerate().any(|(k, t)| (reader(t) && called(k)) || in_a_string(t)) {
            return SequenceValues::Reads;
        }
    }
    if may_set(text) {
        SequenceValues::MaySet
    } else {
        SequenceValues::Untouched
    }
}

/// Cheap test before lexing: does `currval` or `lastval` appear at all (found by its `v`)?
fn mentions_a_reader(text: &str) -> bool {
    let b = text.as_bytes();
    let at = |k: usize, w: &[u8]| crate::front::tokens::says_at(b, k, w);
    memchr::memchr2_iter(b'v', b'V', b).any(|k| k >= 4 && at(k, b"val") && (at(k - 4, b"curr") || at(k - 4, b"last")))
}

/// The first words of statements that evaluate no data, so call no `nextval()`, in order (a
/// binary search: every statement asks). A `CREATE` evaluates data only with a query (`CREATE
/// TABLE … AS SELECT`, a materialized view).
const EVALUATES_NO_DATA: [&str; 28] = [
    "abort",
    "analyse",
    "analyze",
    "begin",
    "checkpoint",
    "cluster",
    "comment",
    "commit",
    "deallocate",
    "discard",
    "drop",
    "end",
    "grant",
    "listen",
    "load",
    "lock",
    "notify",
    "prepare",
    "reindex",
    "release",
    "reset",
    "revoke",
    "rollback",
    "savepoint",
    "set",
    "show",
    "start",
    "vacuum",
];

fn may_set(text: &str) -> bool {
    let mut toks = Lexer::new(text);
    match toks.next() {
        None => false,
        Some(t) if t.is_word("create") => {
            toks.any(|t| t.is_word("select") || t.is_word("values") || t.is_word("execute"))
        }
        Some(t) => match t.tok {
            Tok::Word(w) => {
                let folded = || w.bytes().map(|b| b.to_ascii_lowercase());
                EVALUATES_NO_DATA.binary_search_by(|n| n.bytes().cmp(folded())).is_err()
            }
            _ => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{sequence_values, SequenceValues::*};

    #[test]
    fn the_words_are_in_order() {
        assert!(super::EVALUATES_NO_DATA.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn readers_are_found_in_calls_and_strings() {
        assert_eq!(sequence_values("INSERT INTO orders (user_id) VALUES (currval('users_id_seq'))"), Reads);
        assert_eq!(sequence_values("insert into notes values (LASTVAL (), 'x')"), Reads);
        assert_eq!(sequence_values("DO $$ BEGIN PERFORM currval('s'); END $$"), Reads);
        assert_eq!(sequence_values("UPDATE t SET currval = 1"), MaySet);
    }

    #[test]
    fn what_evaluates_data_may_set_them_and_the_rest_does_not() {
        for setter in [
            "INSERT INTO users (email) VALUES ('a')",
            "ALTER TABLE t ADD COLUMN n serial",
            "SELECT nextval('s')",
            "DO $$ BEGIN END $$",
            "CREATE TABLE t2 AS SELECT * FROM t",
            "COPY t FROM stdin",
        ] {
            assert_eq!(sequence_values(setter), MaySet, "{setter}");
        }
        for other in [
            "CREATE INDEX i ON t (a)",
            "CREATE TABLE t (id serial)",
            "SET lock_timeout = '1s'",
            "BEGIN",
            "START TRANSACTION",
            "COMMENT ON TABLE t IS 'x'",
            "DROP TABLE t",
        ] {
            assert_eq!(sequence_values(other), Untouched, "{other}");
        }
    }
}
