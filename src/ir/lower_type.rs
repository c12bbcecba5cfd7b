//! `ALTER TYPE` forms sqlparser cannot parse (`OWNER TO`, `SET SCHEMA`, `SET (…)`, an attribute
//! action with `RESTRICT`), read from their words. Every `pg_dump` with a type says `ALTER TYPE …
//! OWNER TO …`; not understood, it failed `check` and left plan steps no fixed point.
//!
//! Measured on PostgreSQL 15 (`tests/lock_model.rs`): none of them locks a table. An enum's or a
//! domain's `OWNER TO`, `SET SCHEMA`, `RENAME` take no relation lock; a composite type's take ACCESS
//! EXCLUSIVE on the type's own relation, which no statement holds longer than a catalogue lookup
//! (so the `ALTER` does not wait in a queue; while its transaction is open, a session loading the
//! row type for the first time waits for it). Without `CASCADE`, an attribute action fails where a
//! typed table (`CREATE TABLE … OF`) uses the type, and `ALTER ATTRIBUTE … TYPE` fails where any
//! column does. With `CASCADE` it alters (and, for `ALTER ATTRIBUTE … TYPE`, rewrites) every typed
//! table of the type under ACCESS EXCLUSIVE: tables pgsafe cannot name, so it stays not understood.

use crate::front::forms;
use crate::front::tokens::{lex, Tok, Token};

/// Is `text` an `ALTER TYPE` of a form read here, none of which locks a table?
pub fn understood(text: &str) -> bool {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    if !(is(0, "alter") && is(1, "type")) || cascades(&toks) {
        return false;
    }
    let Some(n) = after_name(text, &toks, 2) else { return false };
    let ends_after_name = |k: usize| after_name(text, &toks, k) == Some(toks.len());
    let literal = |k: usize| toks.get(k).is_some_and(|t| t.tok == Tok::Literal);
    if is(n, "owner") && is(n + 1, "to") || is(n, "set") && is(n + 1, "schema") || is(n, "rename") && is(n + 1, "to") {
        return ends_after_name(n + 2);
    }
    if is(n, "rename") && is(n + 1, "value") {
        return literal(n + 2) && is(n + 3, "to") && literal(n + 4) && toks.len() == n + 5;
    }
    // `SET ( property = value, … )` of a base type: its catalogue rows only.
    if is(n, "set") && toks.get(n + 1).is_some_and(|t| t.is_punct('(')) {
        return toks.last().is_some_and(|t| t.is_punct(')'));
    }
    // `RENAME ATTRIBUTE a TO b`, and `ADD|DROP|ALTER ATTRIBUTE …[, …]`, `RESTRICT` allowed.
    let attribute = is(n + 1, "attribute") && ["rename", "add", "drop", "alter"].iter().any(|w| is(n, w));
    attribute && !toks.iter().any(|t| t.is_punct(';'))
}

/// Does the `ALTER TYPE` say `CASCADE` (outside parentheses), and so alter the type's typed tables?
pub fn cascades(toks: &[Token<'_>]) -> bool {
    let mut depth = 0i32;
    toks.iter().any(|t| {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
        }
        depth == 0 && t.is_word("cascade")
    })
}

/// Is `text` an `ALTER TYPE … CASCADE`?
pub fn is_cascade(text: &str) -> bool {
    let toks = lex(text);
    toks.len() > 2 && toks[0].is_word("alter") && toks[1].is_word("type") && cascades(&toks)
}

/// The index of the first token after the (possibly qualified) name at token `k`.
fn after_name(text: &str, toks: &[Token<'_>], k: usize) -> Option<usize> {
    let start = toks.get(k)?.span.start;
    let end = start + forms::name_len(&text[start..])?;
    Some(toks.iter().position(|t| t.span.start >= end).unwrap_or(toks.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_pg_dump_and_hand_written_migrations_say_is_read() {
        for sql in [
            "ALTER TYPE public.order_status OWNER TO postgres",
            "alter type \"Mood\" owner to current_user",
            "ALTER TYPE public.order_status SET SCHEMA app",
            "ALTER TYPE app.addr RENAME TO address",
            "ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy'",
            "ALTER TYPE addr RENAME ATTRIBUTE zip TO postcode RESTRICT",
            "ALTER TYPE addr DROP ATTRIBUTE IF EXISTS zip RESTRICT",
            "ALTER TYPE addr ADD ATTRIBUTE city text COLLATE \"C\", ALTER ATTRIBUTE zip SET DATA TYPE bigint",
            "ALTER TYPE money2 SET (SEND = NONE, STORAGE = plain)",
        ] {
            assert!(understood(sql), "{sql}");
        }
        for sql in [
            "ALTER TYPE addr ADD ATTRIBUTE city text CASCADE",
            "ALTER TYPE addr ALTER ATTRIBUTE zip TYPE bigint CASCADE",
            "ALTER TYPE addr RENAME ATTRIBUTE zip TO postcode CASCADE",
            "ALTER TYPE mood OWNER TO postgres, SET SCHEMA app",
            "ALTER TYPE mood OWNER",
            "ALTER TABLE mood OWNER TO postgres",
            "ALTER TYPE mood RENAME VALUE 'a' TO",
        ] {
            assert!(!understood(sql), "{sql}");
        }
        assert!(is_cascade("ALTER TYPE addr ADD ATTRIBUTE city text CASCADE"));
        assert!(!is_cascade("ALTER TYPE addr ADD ATTRIBUTE city text RESTRICT"));
    }
}
