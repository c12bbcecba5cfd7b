//! A key's index parameters, `WITH (…)` and `USING INDEX TABLESPACE t` after `UNIQUE`, `PRIMARY
//! KEY` or `EXCLUDE` and their lists, in a table's or a column's constraint. sqlparser's
//! PostgreSQL dialect lacks them (the statement failed to parse and was `not-understood`): `parse`
//! blanks them so that sqlparser reads the rest, and lowering reads them here so that a rewrite
//! building the key's index keeps them. They take no other lock than the key (measured on
//! PostgreSQL 15).

use super::tokens::{skip_parens, Token};
use std::ops::Range;

/// The index parameters from token `k` on, in the tokens' offsets, and the token after them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexParameters {
    /// The whole `WITH (…)` clause.
    pub with: Option<Range<usize>>,
    /// The name of `USING INDEX TABLESPACE name`.
    pub tablespace: Option<Range<usize>>,
    /// Where the whole `USING INDEX TABLESPACE name` clause is.
    tablespace_clause: Option<Range<usize>>,
    pub next: usize,
}

/// Read `[WITH (…)] [USING INDEX TABLESPACE name]` (PostgreSQL's order) from token `k`.
pub fn read(toks: &[Token], k: usize) -> IndexParameters {
    let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    let mut p = IndexParameters { next: k, ..IndexParameters::default() };
    if is(p.next, "with") && toks.get(p.next + 1).is_some_and(|t| t.is_punct('(')) {
        if let Some(close) = closing(toks, p.next + 1) {
            p.with = Some(toks[p.next].span.start..toks[close].span.end);
            p.next = close + 1;
        }
    }
    let name = toks.get(p.next + 3).filter(|t| t.ident().is_some());
    if let (true, true, true, Some(name)) =
        (is(p.next, "using"), is(p.next + 1, "index"), is(p.next + 2, "tablespace"), name)
    {
        p.tablespace = Some(name.span.clone());
        p.tablespace_clause = Some(toks[p.next].span.start..name.span.end);
        p.next += 4;
    }
    p
}

/// The byte ranges of every key's index parameters in a statement's tokens, for `parse` to blank.
pub fn clauses(toks: &[Token]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    for k in 0..toks.len() {
        let Some(after) = after_key(toks, k) else { continue };
        let p = read(toks, after);
        found.extend(p.with);
        found.extend(p.tablespace_clause);
    }
    found
}

/// The token after the key that starts at token `k` and its lists: `UNIQUE [NULLS [NOT]
/// DISTINCT] [(…)]`, `PRIMARY KEY [(…)]` or `EXCLUDE [USING method] (…)`, each then `[INCLUDE
/// (…)]` (a column's key has no list).
pub fn after_key(toks: &[Token], k: usize) -> Option<usize> {
    let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    let open = |i: usize| toks.get(i).is_some_and(|t| t.is_punct('('));
    let mut i = if is(k, "unique") {
        let mut i = k + 1;
        if is(i, "nulls") {
            i += 1 + usize::from(is(i + 1, "not"));
            if !is(i, "distinct") {
                return None;
            }
            i += 1;
        }
        i
    } else if is(k, "primary") && is(k + 1, "key") {
        k + 2
    } else if is(k, "exclude") {
        let i = if is(k + 1, "using") { k + 3 } else { k + 1 };
        if !open(i) {
            return None;
        }
        i
    } else {
        return None;
    };
    if open(i) {
        i = closing(toks, i)? + 1;
    }
    if is(i, "include") && open(i + 1) {
        i = closing(toks, i + 1)? + 1;
    }
    Some(i)
}

/// The index of the parenthesis that closes the one at `open`.
fn closing(toks: &[Token], open: usize) -> Option<usize> {
    skip_parens(toks, open).map(|(close, _)| close)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::tokens::lex;

    fn blanked(sql: &str) -> Vec<&str> {
        clauses(&lex(sql)).into_iter().map(|r| &sql[r]).collect()
    }

    #[test]
    fn the_parameters_of_each_key_are_found() {
        assert_eq!(
            blanked("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor = 70)"),
            ["WITH (fillfactor = 70)"]
        );
        assert_eq!(
            blanked(
                "ALTER TABLE t ADD PRIMARY KEY (id) INCLUDE (b) WITH (fillfactor=70) USING INDEX TABLESPACE \"Fast\""
            ),
            ["WITH (fillfactor=70)", "USING INDEX TABLESPACE \"Fast\""]
        );
        assert_eq!(
            blanked(
                "CREATE TABLE t (id int PRIMARY KEY USING INDEX TABLESPACE x, a int UNIQUE NULLS NOT DISTINCT WITH \
                 (fillfactor = 50), EXCLUDE USING gist (r WITH &&) WITH (fillfactor = 90)) WITH (fillfactor = 60)"
            ),
            ["USING INDEX TABLESPACE x", "WITH (fillfactor = 50)", "WITH (fillfactor = 90)"]
        );
        // Not a key's: a table's own storage parameters, an index a key adopts, a CREATE INDEX.
        for sql in [
            "CREATE TABLE t (id int PRIMARY KEY, UNIQUE (a)) WITH (fillfactor = 60)",
            "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX tablespace",
            "CREATE UNIQUE INDEX i ON t (a) WITH (fillfactor = 70) TABLESPACE x",
        ] {
            assert!(blanked(sql).is_empty(), "{sql}");
        }
    }

    #[test]
    fn the_parameters_are_read_in_the_order_postgresql_takes() {
        let sql = "UNIQUE (a) WITH (fillfactor = 70) USING INDEX TABLESPACE x";
        let toks = lex(sql);
        let p = read(&toks, after_key(&toks, 0).unwrap());
        assert_eq!(
            (p.with.map(|r| &sql[r]), p.tablespace.map(|r| &sql[r])),
            (Some("WITH (fillfactor = 70)"), Some("x"))
        );
        assert_eq!(p.next, toks.len());
        // The other order is not PostgreSQL's: only the first clause is read.
        let sql = "UNIQUE (a) USING INDEX TABLESPACE x WITH (fillfactor = 70)";
        let toks = lex(sql);
        let p = read(&toks, after_key(&toks, 0).unwrap());
        assert_eq!((p.with, p.next), (None, 8));
    }
}
