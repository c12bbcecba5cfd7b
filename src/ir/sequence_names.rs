//! The sequences a statement makes, renames or drops by name, read from its words at lowering: an
//! identity column's (`GENERATED … AS IDENTITY` in `CREATE TABLE`, `ADD COLUMN` or `ALTER COLUMN
//! … ADD GENERATED`), `ALTER SEQUENCE … RENAME TO|SET SCHEMA` and `DROP SEQUENCE`.
//! `Migration::created_before` follows them as it follows tables, so a later `ALTER SEQUENCE`,
//! `setval` or `GRANT` of a sequence the draft made is known to find no traffic.

use super::name::Name;
use crate::front::forms;
use crate::front::tokens::{lex, Token};

/// What a statement does to a sequence, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceEvent {
    /// An identity column `column` (folded) of the statement's table makes a sequence: the one
    /// `SEQUENCE NAME` names (in the table's schema when unqualified), or, when `named` is `None`,
    /// `table_column_seq` in the table's schema.
    Identity { column: String, named: Option<Name> },
    /// `ALTER SEQUENCE [IF EXISTS] s RENAME TO t`: `to` folded, in the schema of `s`.
    Renamed { from: Name, to: String },
    /// `ALTER SEQUENCE [IF EXISTS] s SET SCHEMA x`: `schema` folded.
    Moved { from: Name, schema: String },
    /// `DROP SEQUENCE [IF EXISTS] a, b …`.
    Dropped { names: Vec<Name> },
    /// `CREATE SEQUENCE s … OWNED BY t.c` (not `IF NOT EXISTS`) or `ALTER SEQUENCE s … OWNED BY
    /// t.c|NONE`: `by` is (table, column), both folded (the table is in the sequence's schema:
    /// PostgreSQL refuses another), or `None` for `NONE`.
    OwnedBy { sequence: Name, by: Option<(String, String)> },
    /// `ALTER TABLE t ALTER [COLUMN] c DROP IDENTITY [IF EXISTS]`: the column's identity sequence
    /// is dropped. `column` folded.
    IdentityDropped { column: String },
}

/// The events of `text`, one statement; most statements have none, and are told by their first
/// words (an identity column only where the text says `identity`).
/// `head`: its first tokens (six are enough).
pub fn events(text: &str, head: &[Token]) -> Vec<SequenceEvent> {
    let is = |k: usize, w: &str| head.get(k).is_some_and(|t| t.is_word(w));
    if is(1, "sequence") && (is(0, "alter") || is(0, "drop")) {
        return sequence_statement(text).into_iter().collect();
    }
    if is(0, "create") && (1..3).any(|k| is(k, "sequence")) && says_owned(text) {
        return create_sequence(text).into_iter().collect();
    }
    // `CREATE [GLOBAL|LOCAL] [TEMP|…] TABLE`: a function's body is not lexed for nothing.
    let create = is(0, "create") && (1..5).any(|k| is(k, "table"));
    if !(create || is(0, "alter") && is(1, "table")) || !mentions_identity(text) {
        return Vec::new();
    }
    let toks = lex(text);
    if create {
        create_table(text, &toks)
    } else {
        alter_table(text, &toks)
    }
}

/// Cheap test before lexing: most `CREATE SEQUENCE`s (a dump's) say no `OWNED BY`.
fn says_owned(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2_iter(b'o', b'O', b).any(|k| b.get(k..k + 5).is_some_and(|w| w.eq_ignore_ascii_case(b"owned")))
}

/// Cheap test before lexing: most `ALTER TABLE`s of a big draft say no `identity`.
fn mentions_identity(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2_iter(b'i', b'I', b).any(|k| b.get(k..k + 8).is_some_and(|w| w.eq_ignore_ascii_case(b"identity")))
}

/// `CREATE [TEMP|TEMPORARY|UNLOGGED] SEQUENCE s … OWNED BY t.c` (not `IF NOT EXISTS`, which may
/// find the sequence there and do nothing).
fn create_sequence(text: &str) -> Option<SequenceEvent> {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let k = (1..3).find(|&k| is(k, "sequence"))?;
    if is(k + 1, "if") {
        return None;
    }
    let (sequence, next) = name_at(text, &toks, k + 1)?;
    let by = owned_by(&toks[next..])?;
    Some(SequenceEvent::OwnedBy { sequence, by })
}

/// `OWNED BY t.c` (or `s.t.c`: the table, the column) or `OWNED BY NONE` among a sequence's
/// options, where it says one.
#[allow(clippy::option_option)]
fn owned_by(options: &[Token]) -> Option<Option<(String, String)>> {
    let at = (0..options.len())
        .find(|&k| options[k].is_word("owned") && options.get(k + 1).is_some_and(|t| t.is_word("by")))?;
    let rest = &options[at + 2..];
    if rest.first()?.is_word("none") {
        return Some(None);
    }
    // ident (. ident)*: the last two are the table and the column.
    let mut parts = Vec::new();
    for (k, t) in rest.iter().enumerate() {
        match k % 2 {
            0 => parts.push(t.ident()?),
            _ if t.is_punct('.') => {}
            _ => break,
        }
    }
    let column = parts.pop()?;
    let table = parts.pop()?;
    Some(Some((table, column)))
}

/// `ALTER SEQUENCE … RENAME TO|SET SCHEMA|… OWNED BY`, `DROP SEQUENCE …`.
fn sequence_statement(text: &str) -> Option<SequenceEvent> {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let at = if is(2, "if") && is(3, "exists") { 4 } else { 2 };
    if is(0, "drop") {
        let mut names = Vec::new();
        let mut k = at;
        loop {
            let (name, next) = name_at(text, &toks, k)?;
            names.push(name);
            match toks.get(next) {
                Some(t) if t.is_punct(',') => k = next + 1,
                None => break,
                Some(_) if (is(next, "cascade") || is(next, "restrict")) && next + 1 == toks.len() => break,
                Some(_) => return None,
            }
        }
        return Some(SequenceEvent::Dropped { names });
    }
    let (from, next) = name_at(text, &toks, at)?;
    if is(next, "rename") && is(next + 1, "to") && next + 3 == toks.len() {
        let to = toks[next + 2].ident()?;
        return Some(SequenceEvent::Renamed { from, to });
    }
    if is(next, "set") && is(next + 1, "schema") && next + 3 == toks.len() {
        let schema = toks[next + 2].ident()?;
        return Some(SequenceEvent::Moved { from, schema });
    }
    let by = owned_by(toks.get(next..)?)?;
    Some(SequenceEvent::OwnedBy { sequence: from, by })
}

/// The (possibly qualified) name at token `k`, and the index of the token after it.
fn name_at(text: &str, toks: &[Token], k: usize) -> Option<(Name, usize)> {
    let start = toks.get(k).filter(|t| t.ident().is_some())?.span.start;
    let end = start + forms::name_len(&text[start..])?;
    let next = toks.iter().position(|t| t.span.start >= end).unwrap_or(toks.len());
    Some((Name::new(&text[start..end]), next))
}

/// The words that start a table constraint (or a `LIKE`) in a column list, not a column.
const NOT_A_COLUMN: &[&str] = &["constraint", "primary", "unique", "check", "foreign", "exclude", "like"];

/// `CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE t (…)`, not `IF NOT EXISTS` (which may
/// find the table there and make nothing).
fn create_table(text: &str, toks: &[Token]) -> Vec<SequenceEvent> {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let mut k = 1;
    while ["global", "local", "temp", "temporary", "unlogged"].iter().any(|w| is(k, w)) {
        k += 1;
    }
    if !is(k, "table") || is(k + 1, "if") {
        return Vec::new();
    }
    let Some((_, open)) = name_at(text, toks, k + 1) else { return Vec::new() };
    if !toks.get(open).is_some_and(|t| t.is_punct('(')) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for element in top_level_items(&toks[open + 1..], true) {
        let Some(first) = element.first() else { continue };
        if NOT_A_COLUMN.iter().any(|w| first.is_word(w)) {
            continue;
        }
        if let (Some(column), Some(named)) = (first.ident(), identity(text, &element[1..])) {
            out.push(SequenceEvent::Identity { column, named });
        }
    }
    out
}

/// `ALTER TABLE [ONLY] t [*] ADD [COLUMN] c … GENERATED … AS IDENTITY, ALTER [COLUMN] c ADD
/// GENERATED … AS IDENTITY, …`; not `IF EXISTS` (the table may be missing, and nothing made), nor
/// `ADD COLUMN IF NOT EXISTS` (the column may be there). `ALTER [COLUMN] c DROP IDENTITY [IF
/// EXISTS]`, also under `IF EXISTS` (a sequence that may be dropped counts as dropped).
fn alter_table(text: &str, toks: &[Token]) -> Vec<SequenceEvent> {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let if_exists = is(2, "if") && is(3, "exists");
    let at = 2 + 2 * usize::from(if_exists);
    let Some((_, mut next)) = name_at(text, toks, at + usize::from(is(at, "only"))) else { return Vec::new() };
    next += usize::from(toks.get(next).is_some_and(|t| t.is_punct('*')));
    let mut out = Vec::new();
    for action in top_level_items(toks.get(next..).unwrap_or_default(), false) {
        let is = |k: usize, w: &str| action.get(k).is_some_and(|t| t.is_word(w));
        let at = 1 + usize::from(is(1, "column"));
        let Some(column) = action.get(at).and_then(Token::ident) else { continue };
        if is(0, "alter") && is(at + 1, "drop") && is(at + 2, "identity") {
            out.push(SequenceEvent::IdentityDropped { column });
            continue;
        }
        if if_exists {
            continue;
        }
        let adds = is(0, "add") && !is(at, "if") && !NOT_A_COLUMN.iter().any(|w| is(at, w));
        let identity = if adds {
            identity(text, &action[at + 1..])
        } else if is(0, "alter") && is(at + 1, "add") && is(at + 2, "generated") {
            identity(text, &action[at + 2..])
        } else {
            None
        };
        if let Some(named) = identity {
            out.push(SequenceEvent::Identity { column, named });
        }
    }
    out
}

/// The items of a list split at its top-level commas: a parenthesized list's (`closed`: it ends at
/// its closing parenthesis, which must be there), or an `ALTER TABLE`'s actions (to the end).
fn top_level_items<'t, 'a>(toks: &'t [Token<'a>], closed: bool) -> Vec<&'t [Token<'a>]> {
    let mut items = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (k, t) in toks.iter().enumerate() {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
            if depth < 0 {
                if closed {
                    items.push(&toks[from..k]);
                    return items;
                }
                return Vec::new();
            }
        } else if depth == 0 && t.is_punct(',') {
            items.push(&toks[from..k]);
            from = k + 1;
        }
    }
    if closed {
        return Vec::new();
    }
    items.push(&toks[from..]);
    items
}

/// Does this column definition (or the rest of an action) make it an identity column, outside
/// parentheses? Then the sequence name its options give (`SEQUENCE NAME s`), if any.
fn identity(text: &str, toks: &[Token]) -> Option<Option<Name>> {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate() {
        depth += i32::from(t.is_punct('(')) - i32::from(t.is_punct(')'));
        if depth != 0 || !t.is_word("generated") {
            continue;
        }
        let words = if is(k + 1, "always") {
            k + 2
        } else if is(k + 1, "by") && is(k + 2, "default") {
            k + 3
        } else {
            continue;
        };
        if !(is(words, "as") && is(words + 1, "identity")) {
            continue;
        }
        // `( SEQUENCE NAME s START 10 … )`: the options, at the next level.
        let options = words + 2;
        if !toks.get(options).is_some_and(|t| t.is_punct('(')) {
            return Some(None);
        }
        let rest = &toks[options + 1..];
        let mut inner = 0i32;
        let end = rest.iter().position(|t| {
            inner += i32::from(t.is_punct('(')) - i32::from(t.is_punct(')'));
            inner < 0
        })?;
        let options = &rest[..end];
        let named = (0..options.len())
            .find(|&o| options[o].is_word("sequence") && options.get(o + 1).is_some_and(|t| t.is_word("name")))
            .and_then(|o| name_at(text, options, o + 2))
            .map(|(name, _)| name);
        return Some(named);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<SequenceEvent> {
        super::events(text, &crate::front::tokens::Lexer::new(text).take(6).collect::<Vec<_>>())
    }

    fn identities(text: &str) -> Vec<(String, Option<String>)> {
        events(text)
            .into_iter()
            .map(|e| match e {
                SequenceEvent::Identity { column, named } => (column, named.map(|n| n.text.to_string())),
                other => panic!("{text}: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn identity_columns_make_their_sequences() {
        let one = |c: &str, n: Option<&str>| vec![(c.to_string(), n.map(str::to_string))];
        assert_eq!(
            identities("CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a text)"),
            one("id", None)
        );
        assert_eq!(
            identities(
                "create temp table s.t (a int, \"Id\" int generated by default as identity (start 10 sequence name app.\"Nums\" cache 5), \
                 CONSTRAINT k CHECK (a > 0))"
            ),
            one("Id", Some("app.\"Nums\""))
        );
        assert_eq!(identities("ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY"), one("n", None));
        assert_eq!(
            identities("ALTER TABLE ONLY public.orders ADD n int NOT NULL GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME nums)"),
            one("n", Some("nums"))
        );
        assert_eq!(identities("ALTER TABLE orders ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY"), one("n", None));
        assert_eq!(
            identities("ALTER TABLE orders ALTER n ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME s), ADD m int GENERATED ALWAYS AS IDENTITY"),
            vec![("n".to_string(), Some("s".to_string())), ("m".to_string(), None)]
        );
        // What makes no identity sequence, or may make none.
        for text in [
            "CREATE TABLE IF NOT EXISTS t (id int GENERATED ALWAYS AS IDENTITY)",
            "CREATE TABLE t (id int GENERATED ALWAYS AS (a + 1) STORED, identity int)",
            "ALTER TABLE IF EXISTS orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY",
            "ALTER TABLE orders ADD COLUMN IF NOT EXISTS n int GENERATED ALWAYS AS IDENTITY",
            "ALTER TABLE orders ALTER COLUMN n SET GENERATED ALWAYS",
            "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY",
            "CREATE VIEW identity AS SELECT 1",
        ] {
            assert_eq!(identities(text), Vec::new(), "{text}");
        }
    }

    #[test]
    fn renames_moves_and_drops_are_read() {
        assert_eq!(
            events("ALTER SEQUENCE IF EXISTS app.s RENAME TO \"T\""),
            vec![SequenceEvent::Renamed { from: Name::new("app.s"), to: "T".into() }]
        );
        assert_eq!(
            events("alter sequence s set schema App"),
            vec![SequenceEvent::Moved { from: Name::new("s"), schema: "app".into() }]
        );
        assert_eq!(
            events("DROP SEQUENCE IF EXISTS a, app.b CASCADE"),
            vec![SequenceEvent::Dropped { names: vec![Name::new("a"), Name::new("app.b")] }]
        );
        for text in ["ALTER SEQUENCE s RESTART WITH 10", "DROP SEQUENCE", "SELECT 1", "CREATE SEQUENCE s START 5"] {
            assert_eq!(events(text), Vec::new(), "{text}");
        }
    }

    #[test]
    fn owners_and_dropped_identities_are_read() {
        let owned = |s: &str, by: Option<(&str, &str)>| {
            let by = by.map(|(t, c)| (t.to_string(), c.to_string()));
            vec![SequenceEvent::OwnedBy { sequence: Name::new(s), by }]
        };
        assert_eq!(events("ALTER SEQUENCE public.s OWNED BY public.t.id"), owned("public.s", Some(("t", "id"))));
        assert_eq!(
            events("alter sequence if exists s increment 2 owned by T.\"Id\" restart"),
            owned("s", Some(("t", "Id")))
        );
        assert_eq!(events("ALTER SEQUENCE s OWNED BY NONE"), owned("s", None));
        assert_eq!(events("CREATE SEQUENCE s START 10 OWNED BY t.id"), owned("s", Some(("t", "id"))));
        assert_eq!(events("CREATE TEMP SEQUENCE s OWNED BY t.id CACHE 5"), owned("s", Some(("t", "id"))));
        // `IF NOT EXISTS` may find the sequence there and do nothing.
        assert_eq!(events("CREATE SEQUENCE IF NOT EXISTS s OWNED BY t.id"), Vec::new());
        let dropped = |c: &str| SequenceEvent::IdentityDropped { column: c.into() };
        assert_eq!(events("ALTER TABLE t ALTER COLUMN n DROP IDENTITY"), vec![dropped("n")]);
        assert_eq!(
            events("ALTER TABLE IF EXISTS ONLY t ALTER n DROP IDENTITY IF EXISTS, ALTER \"M\" DROP IDENTITY"),
            vec![dropped("n"), dropped("M")]
        );
        // Under `IF EXISTS` an identity is made by no statement pgsafe counts on.
        assert_eq!(
            events("ALTER TABLE IF EXISTS t ALTER n DROP IDENTITY, ADD m int GENERATED ALWAYS AS IDENTITY"),
            vec![dropped("n")]
        );
    }
}
