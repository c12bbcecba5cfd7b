//! Types whose values are rows: a composite type (`CREATE TYPE t AS (…)`), every table's, view's
//! and foreign table's row type, and a domain over one of them. For a row value `c IS NOT NULL`
//! is true only when no field is NULL, where `SET NOT NULL` refuses only a NULL value: the
//! NOT NULL recipe's check fails on `ROW(1, NULL)` (and, added `NOT VALID`, refuses writes of
//! such rows until the plan ends: both seen on PostgreSQL 15), and PostgreSQL's proof that skips
//! the scan never holds for such a column anyway (its test is the scalar `IS NOT NULL`, the
//! check's the row one: `NotNullImpliedByRelConstraints`). A type that merely shares a table's
//! name is taken for a row type too: its column's `NOT NULL` stays as written. Read at lowering
//! from the statement's words.

use super::domains::{name_at, TypeOver};
use crate::front::tokens::{Lexer, Token};

/// The row type `text`, one statement, makes: `CREATE TYPE t AS (…)`, `CREATE [… ] TABLE|VIEW t`,
/// a view renamed (`ALTER VIEW v RENAME TO w`: `w`; a table renamed is read from its op, in
/// `Migration::assemble`); or a domain, or a type renamed, `over` the type it takes its values
/// from.
pub fn row_type_made(text: &str) -> Option<TypeOver> {
    // Every statement comes here: most are told by their first two words (nothing allocated).
    let mut lexer = Lexer::new(text);
    let (first, second) = (lexer.next()?, lexer.next()?);
    let second_is = |ws: &[&str]| ws.iter().any(|w| second.is_word(w));
    let made = if first.is_word("create") {
        second_is(&CREATE_SECOND)
    } else {
        first.is_word("alter") && second_is(&["view", "type", "materialized", "foreign"])
    };
    if !made {
        return None;
    }
    let toks: Vec<Token<'_>> = [first, second].into_iter().chain(lexer.take(10)).collect();
    let word = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let mut k = 1;
    if word(0, "create") {
        if word(1, "or") && word(2, "replace") {
            k = 3;
        }
        while MODIFIERS.iter().any(|m| word(k, m)) {
            k += 1;
        }
        let what = ["table", "view", "type", "domain"].into_iter().find(|w| word(k, w))?;
        k += 1;
        if word(k, "if") && word(k + 1, "not") && word(k + 2, "exists") {
            k += 3;
        }
        let (name, end) = name_at(&toks, k)?;
        return match what {
            "type" => (word(end, "as") && toks.get(end + 1).is_some_and(|t| t.is_punct('(')))
                .then_some(TypeOver { name, over: None }),
            "domain" => {
                let (base, _) = name_at(&toks, end + usize::from(word(end, "as")))?;
                Some(TypeOver { name, over: Some(base) })
            }
            _ => Some(TypeOver { name, over: None }),
        };
    }
    if !word(0, "alter") {
        return None;
    }
    // `ALTER [MATERIALIZED] VIEW | FOREIGN TABLE | TYPE [IF EXISTS] [ONLY] t RENAME TO u`.
    if word(1, "materialized") || word(1, "foreign") {
        k = 2;
    }
    let what = ["table", "view", "type"].into_iter().find(|w| word(k, w))?;
    k += 1;
    if word(k, "if") && word(k + 1, "exists") {
        k += 2;
    }
    if word(k, "only") {
        k += 1;
    }
    let (old, end) = name_at(&toks, k)?;
    let (new, _) = (word(end, "rename") && word(end + 1, "to")).then(|| name_at(&toks, end + 2)).flatten()?;
    // A renamed type keeps what it was (an enum stays one); a table's or view's is a row type.
    Some(TypeOver { name: new, over: (what == "type").then_some(old) })
}

/// The words before the kind of object a `CREATE` makes.
const MODIFIERS: [&str; 9] =
    ["global", "local", "temp", "temporary", "unlogged", "foreign", "materialized", "recursive", "external"];

/// The second word of a `CREATE` that may make a row type: a kind of object that has one, a
/// modifier before it, or `OR REPLACE`.
const CREATE_SECOND: [&str; 14] = [
    "table",
    "view",
    "type",
    "domain",
    "or",
    "global",
    "local",
    "temp",
    "temporary",
    "unlogged",
    "foreign",
    "materialized",
    "recursive",
    "external",
];

#[cfg(test)]
mod tests {
    use super::row_type_made;

    #[test]
    fn the_types_whose_values_are_rows_are_read() {
        let own = |sql: &str| row_type_made(sql).filter(|t| t.over.is_none()).map(|t| t.name);
        assert_eq!(own("CREATE TYPE pair AS (a int, b int)").as_deref(), Some("pair"));
        assert_eq!(own("create type app.\"Pair\" as (a int)").as_deref(), Some("pair"));
        assert_eq!(own("CREATE TABLE IF NOT EXISTS s.orders (id int)").as_deref(), Some("orders"));
        assert_eq!(own("CREATE UNLOGGED TABLE t AS SELECT 1").as_deref(), Some("t"));
        assert_eq!(own("CREATE OR REPLACE TEMP VIEW v AS SELECT 1").as_deref(), Some("v"));
        assert_eq!(own("CREATE MATERIALIZED VIEW mv AS SELECT 1").as_deref(), Some("mv"));
        assert_eq!(own("CREATE FOREIGN TABLE f (a int) SERVER s").as_deref(), Some("f"));
        assert_eq!(own("ALTER VIEW IF EXISTS v RENAME TO w").as_deref(), Some("w"));
        assert_eq!(own("ALTER FOREIGN TABLE IF EXISTS ONLY f RENAME TO g").as_deref(), Some("g"));
        // Not row types.
        for sql in [
            "CREATE TYPE mood AS ENUM ('a')",
            "CREATE TYPE r AS RANGE (subtype = int)",
            "CREATE INDEX i ON t (a)",
            "ALTER TABLE t ADD COLUMN c int",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "SELECT 1",
        ] {
            assert_eq!(own(sql), None, "{sql}");
        }
        // Over another type: a row type when that one is.
        let over = |sql: &str| row_type_made(sql).and_then(|t| Some((t.name, t.over?)));
        assert_eq!(over("CREATE DOMAIN d AS app.pair CHECK (VALUE IS NOT NULL)"), Some(("d".into(), "pair".into())));
        assert_eq!(over("create domain d2 d"), Some(("d2".into(), "d".into())));
        assert_eq!(over("ALTER TYPE pair RENAME TO couple"), Some(("couple".into(), "pair".into())));
    }
}
