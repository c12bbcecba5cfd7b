//! Lowering of `ALTER {TABLE | INDEX | MATERIALIZED VIEW} ALL IN TABLESPACE ts [OWNED BY r, …]
//! SET TABLESPACE new [NOWAIT]`, from tokens (sqlparser reads none of them).
//!
//! PostgreSQL 15 takes ACCESS EXCLUSIVE on every relation of the kind it moves (measured in
//! `tests/lock_model.rs`: on each index and none on their tables; on each table or materialized
//! view and none on its indexes, which stay where they are) and copies each, holding all the
//! locks to the transaction's end. The draft names none of them: the lock is reported on a
//! stand-in, `"(every table in tablespace ts)"`, which no statement's table is, so the statement
//! waits under the timeouts and its step is a long one.
//!
//! `ALL` is a reserved word: bare, it names no relation, so `ALTER TABLE ALL …` is this form or
//! an error (`forms::alter_table` reads no table there); `"all"` quoted, or `s.all`, is a name.

use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::name::Name;
use super::op::{OpKind, MOVE_ALL_INDEXES, MOVE_ALL_MATERIALIZED_VIEWS, MOVE_ALL_TABLES};
use crate::front::tokens::{lex, Tok, Token};

/// Could `words` (a statement's first four, folded) head this form? Asked of every statement,
/// before anything is lexed.
pub fn may_be(words: &[String]) -> bool {
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    w(0) == "alter"
        && match w(1) {
            "table" | "index" => w(2) == "all",
            "materialized" => w(2) == "view" && w(3) == "all",
            _ => false,
        }
}

/// The form, or `None` (then the statement stays `not-understood`).
pub fn lower(text: &str) -> Option<(OpKind, Vec<LockUse>)> {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let name = |k: usize| toks.get(k).filter(|t| is_name(t)).and_then(Token::ident).map(|n| n.replace('"', ""));
    if !is(0, "alter") {
        return None;
    }
    let (what, kind, mut k) = if is(1, "table") {
        (MOVE_ALL_TABLES, "table", 2)
    } else if is(1, "index") {
        (MOVE_ALL_INDEXES, "index", 2)
    } else if is(1, "materialized") && is(2, "view") {
        (MOVE_ALL_MATERIALIZED_VIEWS, "materialized view", 3)
    } else {
        return None;
    };
    if !(is(k, "all") && is(k + 1, "in") && is(k + 2, "tablespace")) {
        return None;
    }
    let from = name(k + 3)?;
    k += 4;
    let mut owners = Vec::new();
    if is(k, "owned") && is(k + 1, "by") {
        k += 2;
        loop {
            owners.push(name(k)?);
            k += 1;
            if !toks.get(k).is_some_and(|t| t.is_punct(',')) {
                break;
            }
            k += 1;
        }
    }
    name(k + 2).filter(|_| is(k, "set") && is(k + 1, "tablespace"))?;
    k += 3;
    k += usize::from(is(k, "nowait"));
    if k != toks.len() {
        return None;
    }
    let owned = if owners.is_empty() { String::new() } else { format!(" owned by {}", owners.join(", ")) };
    let moved = Name::new(&format!("\"(every {kind} in tablespace {from}{owned})\""));
    let locks = vec![lock(&moved, LockMode::AccessExclusive, true)];
    Some((OpKind::Other { what: what.into() }, locks))
}

/// A bare or quoted name, one part.
fn is_name(t: &Token) -> bool {
    matches!(t.tok, Tok::Word(_) | Tok::Quoted(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        crate::front::tokens::head_words(text, 4)
    }

    /// Every relation it moves is held ACCESS EXCLUSIVE and copied (measured; see
    /// `tests/lock_model.rs`): on a stand-in, since the draft names none of them.
    #[test]
    fn each_form_locks_every_relation_it_moves_on_a_stand_in() {
        let cases = [
            ("ALTER INDEX ALL IN TABLESPACE a SET TABLESPACE b", MOVE_ALL_INDEXES, "\"(every index in tablespace a)\""),
            (
                "alter index all in tablespace A set tablespace B nowait",
                MOVE_ALL_INDEXES,
                "\"(every index in tablespace a)\"",
            ),
            (
                "ALTER INDEX ALL IN TABLESPACE \"Slow\" OWNED BY r, CURRENT_USER SET TABLESPACE b NOWAIT",
                MOVE_ALL_INDEXES,
                "\"(every index in tablespace Slow owned by r, current_user)\"",
            ),
            ("ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b", MOVE_ALL_TABLES, "\"(every table in tablespace a)\""),
            (
                "alter table all in tablespace pg_default owned by app set tablespace fast nowait",
                MOVE_ALL_TABLES,
                "\"(every table in tablespace pg_default owned by app)\"",
            ),
            (
                "ALTER MATERIALIZED VIEW ALL IN TABLESPACE a SET TABLESPACE b",
                MOVE_ALL_MATERIALIZED_VIEWS,
                "\"(every materialized view in tablespace a)\"",
            ),
            (
                "ALTER MATERIALIZED VIEW ALL IN TABLESPACE a OWNED BY r, s SET TABLESPACE b NOWAIT",
                MOVE_ALL_MATERIALIZED_VIEWS,
                "\"(every materialized view in tablespace a owned by r, s)\"",
            ),
        ];
        for (text, what, stand_in) in cases {
            assert!(may_be(&words(text)), "{text}");
            let (kind, locks) = lower(text).unwrap_or_else(|| panic!("{text}"));
            assert!(matches!(&kind, OpKind::Other { what: w } if w == what), "{text}: {kind:?}");
            assert_eq!(locks.len(), 1, "{text}");
            assert_eq!(&*locks[0].table.text, stand_in, "{text}");
            assert!(locks[0].mode == LockMode::AccessExclusive && locks[0].scans, "{text}");
        }
    }

    #[test]
    fn other_forms_are_left_to_the_rest() {
        for text in [
            "ALTER INDEX ALL IN TABLESPACE a SET TABLESPACE",
            "ALTER INDEX ALL IN TABLESPACE a OWNED BY SET TABLESPACE b",
            "ALTER INDEX ALL IN TABLESPACE a OWNED BY r, SET TABLESPACE b",
            "ALTER INDEX ALL IN TABLESPACE a SET TABLESPACE b NOWAIT CASCADE",
            "ALTER INDEX ALL IN a SET TABLESPACE b",
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE",
            "ALTER TABLE ALL IN TABLESPACE a SET SCHEMA b",
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b, ADD COLUMN c int",
            "ALTER TABLE \"all\" SET TABLESPACE b",
            "ALTER TABLE \"ALL\" IN TABLESPACE a SET TABLESPACE b",
            "ALTER TABLE public.all SET TABLESPACE b",
            "ALTER TABLE IF EXISTS ALL IN TABLESPACE a SET TABLESPACE b",
            "ALTER MATERIALIZED VIEW ALL IN TABLESPACE a",
            "ALTER MATERIALIZED VIEW \"all\" SET TABLESPACE b",
            "ALTER VIEW ALL IN TABLESPACE a SET TABLESPACE b",
            "ALTER SEQUENCE ALL IN TABLESPACE a SET TABLESPACE b",
        ] {
            assert_eq!(lower(text).map(|(k, _)| k), None, "{text}");
        }
    }

    /// A bare `ALL` names no table: no statement's lock falls on a table `ALL`, while `"all"`
    /// quoted and `s.all` are tables.
    #[test]
    fn no_statement_locks_a_table_named_all_unless_it_names_one() {
        let lowered = |text: &str| crate::ir::lower::lower_statement(text, 0..text.len());
        let locked = |text: &str| -> Vec<String> {
            lowered(text).iter().flat_map(|o| o.locks.iter().map(|l| l.table.text.to_string())).collect()
        };
        for text in [
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b",
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE",
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b CASCADE",
            "ALTER TABLE ALL SET TABLESPACE b",
            "alter table all add column c int",
            "ALTER TABLE all RENAME COLUMN a TO b",
            "ALTER TABLE All DROP COLUMN a",
            "ALTER INDEX ALL SET TABLESPACE b",
            "ALTER MATERIALIZED VIEW ALL IN TABLESPACE a SET TABLESPACE b",
        ] {
            let on = locked(text);
            assert!(!on.iter().any(|t| t.eq_ignore_ascii_case("all")), "{text}: {on:?}");
        }
        for (text, table) in [
            ("ALTER TABLE \"all\" SET TABLESPACE b", "\"all\""),
            ("ALTER TABLE \"ALL\" ADD COLUMN c int", "\"ALL\""),
            ("ALTER TABLE public.all SET TABLESPACE b", "public.all"),
        ] {
            assert!(locked(text).iter().any(|t| t == table), "{text}: {:?}", locked(text));
        }
    }
}
