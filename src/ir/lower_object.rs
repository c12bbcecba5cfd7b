//! Lowering of statements on objects that hang off a table and lock it: triggers, row-level
//! security policies, rules, materialized view refreshes, comments; and on sequences and views
//! (`ALTER`, `DROP`, `CREATE OR REPLACE`), which inserts and queries lock. Their locks (measured on
//! PostgreSQL 15 in `tests/lock_model.rs`) make them get `lock_timeout` and keep them out of
//! another table's step.

use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::name::Name;
use super::op::{OpKind, MOVE_MATERIALIZED_VIEW, MOVE_VIEW};
use crate::front::forms;
use crate::front::tokens::{lex, Token};

/// Do the first two words `w0 w1` (folded) start a statement of the kinds this module reads?
pub fn knows(w0: &str, w1: &str) -> bool {
    matches!(
        (w0, w1),
        ("create", "trigger" | "constraint" | "or" | "policy" | "rule")
            | ("drop", "trigger" | "policy" | "rule" | "view" | "materialized")
            | ("alter", "policy" | "sequence" | "view" | "materialized")
            | ("refresh", "materialized")
            | ("comment", "on")
    )
}

/// `text` is one of the statements this module knows, or `None`.
pub fn lower(text: &str) -> Option<(OpKind, Vec<LockUse>)> {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    // `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER|RULE|POLICY`: skip the modifiers.
    let mut k = 1;
    if is(0, "create") {
        if is(k, "or") && is(k + 1, "replace") {
            k += 2;
        }
        if is(k, "constraint") {
            k += 1;
        }
    }
    let head = |w0: &str, w1: &str| is(0, w0) && is(k, w1);
    let other = |what: &str, table: Name, mode: LockMode, scans: bool| {
        let locks = vec![lock(&table, mode, scans)];
        Some((OpKind::Other { what: what.to_string() }, locks))
    };
    // A view's `DROP`, `CREATE OR REPLACE` and `ALTER MATERIALIZED VIEW` take ACCESS EXCLUSIVE
    // on the view: while one waits, every query of the view queues behind it.
    let materialized = usize::from(is(1, "materialized"));
    if is(0, "drop") && is(1 + materialized, "view") {
        let n = 2 + materialized + if is(2 + materialized, "if") && is(3 + materialized, "exists") { 2 } else { 0 };
        let what = if materialized == 1 { "DROP MATERIALIZED VIEW" } else { "DROP VIEW" };
        let locks = names_from(text, &toks, n)?.iter().map(|v| lock(v, LockMode::AccessExclusive, false)).collect();
        return Some((OpKind::Other { what: what.into() }, locks));
    }
    if is(0, "create") && is(1, "or") && head("create", "view") {
        return other("CREATE OR REPLACE VIEW", name_at(text, &toks, k + 1)?, LockMode::AccessExclusive, false);
    }
    if is(0, "alter") && materialized == 1 && is(2, "view") && !(is(3, "all") && is(4, "in")) {
        let n = if is(3, "if") && is(4, "exists") { 5 } else { 3 };
        // As for a table: storage parameters, statistics targets and `CLUSTER ON` take SHARE
        // UPDATE EXCLUSIVE, which blocks no query; the rest ACCESS EXCLUSIVE.
        let light = toks.iter().skip(n + 1).any(|t| t.is_word("statistics") || t.is_word("cluster"))
            || (is(n + 1, "set") || is(n + 1, "reset")) && toks.get(n + 2).is_some_and(|t| t.is_punct('('));
        let mode = if light { LockMode::ShareUpdateExclusive } else { LockMode::AccessExclusive };
        let what = if moves(text, &toks, n) { MOVE_MATERIALIZED_VIEW } else { "ALTER MATERIALIZED VIEW" };
        return other(what, name_at(text, &toks, n)?, mode, false);
    }
    if head("create", "trigger") || head("drop", "trigger") {
        let drop = is(0, "drop");
        let mut n = k + 1;
        if drop && is(n, "if") && is(n + 1, "exists") {
            n += 2;
        }
        let name = name_at(text, &toks, n)?;
        let on = top_level_word(&toks, "on", n + 1)?;
        let table = name_at(text, &toks, on + 1)?;
        let on_update = toks[n + 1..on].iter().any(|t| t.is_word("update"));
        let mode = if drop { LockMode::AccessExclusive } else { LockMode::ShareRowExclusive };
        let locks = vec![lock(&table, mode, false)];
        return Some((OpKind::Trigger { table, name: name.key.to_string(), drop, on_update }, locks));
    }
    if head("create", "policy") || head("alter", "policy") || head("drop", "policy") {
        let on = top_level_word(&toks, "on", k + 1)?;
        let what = format!("{} POLICY", text[toks[0].span.clone()].to_uppercase());
        return other(&what, name_at(text, &toks, on + 1)?, LockMode::AccessExclusive, false);
    }
    if head("create", "rule") {
        let to = top_level_word(&toks, "to", k + 1)?;
        return other("CREATE RULE", name_at(text, &toks, to + 1)?, LockMode::AccessExclusive, false);
    }
    // `DROP RULE [IF EXISTS] name ON table`: ACCESS EXCLUSIVE on the table, as `CREATE RULE`.
    if head("drop", "rule") {
        let on = top_level_word(&toks, "on", 3)?;
        return other("DROP RULE", name_at(text, &toks, on + 1)?, LockMode::AccessExclusive, false);
    }
    if is(0, "refresh") && is(1, "materialized") && is(2, "view") {
        let concurrently = is(3, "concurrently");
        let view = name_at(text, &toks, if concurrently { 4 } else { 3 })?;
        // CONCURRENTLY: EXCLUSIVE (reads go on); plain: ACCESS EXCLUSIVE for the whole refresh.
        let mode = if concurrently { LockMode::Exclusive } else { LockMode::AccessExclusive };
        let locks = vec![lock(&view, mode, true)];
        return Some((OpKind::RefreshMaterializedView { view, concurrently }, locks));
    }
    // `ALTER SEQUENCE s …` takes SHARE ROW EXCLUSIVE on it, which conflicts with the ROW
    // EXCLUSIVE every `nextval` holds to the end of its transaction: behind a long insert, every
    // insert drawing from the sequence queues behind it (measured: 2.0 s). What goes through
    // `ALTER TABLE` (`OWNER TO`, `RENAME`, `SET SCHEMA`, `SET LOGGED`) takes ACCESS EXCLUSIVE.
    // `ALTER VIEW v …` takes ACCESS EXCLUSIVE on the view: every query of it queues behind it.
    if is(0, "alter") && (is(1, "sequence") || is(1, "view")) {
        let n = if is(2, "if") && is(3, "exists") { 4 } else { 2 };
        let object = name_at(text, &toks, n)?;
        if is(1, "view") {
            let what = if moves(text, &toks, n) { MOVE_VIEW } else { "ALTER VIEW" };
            return other(what, object, LockMode::AccessExclusive, false);
        }
        let via_alter_table = ["owner", "rename", "schema", "logged", "unlogged"];
        let mode = if toks[n + 1..].iter().any(|t| via_alter_table.iter().any(|w| t.is_word(w))) {
            LockMode::AccessExclusive
        } else {
            LockMode::ShareRowExclusive
        };
        return other("ALTER SEQUENCE", object, mode, false);
    }
    if is(0, "comment") && is(1, "on") && (is(2, "table") || is(2, "column")) {
        let name = name_at(text, &toks, 3)?;
        // `COMMENT ON COLUMN t.c`: the table is the name without its last part.
        let table = if is(2, "column") {
            let (t, _) = name.text.rsplit_once('.')?;
            Name::new(t)
        } else {
            name
        };
        return other("COMMENT", table, LockMode::ShareUpdateExclusive, false);
    }
    None
}

/// Does the action after the name at token `n` move the view: `RENAME TO` (not `RENAME [COLUMN]
/// a TO b`), `SET SCHEMA`?
fn moves(text: &str, toks: &[Token], n: usize) -> bool {
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let Some(end) = toks.get(n).and_then(|t| Some(t.span.start + forms::name_len(&text[t.span.start..])?)) else {
        return false;
    };
    let next = toks.iter().position(|t| t.span.start >= end).unwrap_or(toks.len());
    is(next, "rename") && is(next + 1, "to") || is(next, "set") && is(next + 1, "schema")
}

/// The (possibly qualified) name starting at token `k`.
fn name_at(text: &str, toks: &[Token], k: usize) -> Option<Name> {
    let start = toks.get(k)?.span.start;
    let len = forms::name_len(&text[start..])?;
    Some(Name::new(&text[start..start + len]))
}

/// The names `a, b, …` starting at token `k`, up to the first token that is not a name or a comma
/// (`CASCADE`, `;`).
fn names_from(text: &str, toks: &[Token], mut k: usize) -> Option<Vec<Name>> {
    let mut names = Vec::new();
    loop {
        let name = name_at(text, toks, k)?;
        let end = toks[k].span.start + forms::name_len(&text[toks[k].span.start..])?;
        names.push(name);
        match toks.iter().position(|t| t.span.start >= end) {
            Some(next) if toks[next].is_punct(',') => k = next + 1,
            _ => return Some(names),
        }
    }
}

/// The first `word` at parenthesis depth 0 from token `from`.
fn top_level_word(toks: &[Token], word: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(from) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth -= 1;
        } else if depth == 0 && t.is_word(word) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The views a statement locks, as `base:mode`.
    fn locked(sql: &str) -> Vec<String> {
        let (_, locks) = lower(sql).unwrap_or_else(|| panic!("{sql}"));
        locks.iter().map(|l| format!("{}:{:?}", l.table.base(), l.mode)).collect()
    }

    #[test]
    fn view_statements_lock_every_view_they_name() {
        assert_eq!(locked("DROP VIEW IF EXISTS a, s.\"B\" CASCADE"), ["a:AccessExclusive", "B:AccessExclusive"]);
        assert_eq!(locked("DROP MATERIALIZED VIEW m"), ["m:AccessExclusive"]);
        assert_eq!(locked("CREATE OR REPLACE VIEW v AS SELECT 1"), ["v:AccessExclusive"]);
        assert_eq!(locked("ALTER MATERIALIZED VIEW m RENAME TO n"), ["m:AccessExclusive"]);
        assert_eq!(locked("ALTER MATERIALIZED VIEW m SET (fillfactor = 90)"), ["m:ShareUpdateExclusive"]);
        // A new view has no traffic; an unknown statement is not guessed at.
        assert!(lower("CREATE VIEW v AS SELECT 1").is_none());
        assert!(lower("ALTER MATERIALIZED VIEW ALL IN TABLESPACE a SET TABLESPACE b").is_none());
    }

    #[test]
    fn a_view_goes_where_it_is_dropped_renamed_or_moved() {
        let ends = |sql: &str| {
            let (kind, _) = lower(sql).unwrap_or_else(|| panic!("{sql}"));
            kind.ends_views()
        };
        for sql in [
            "DROP VIEW IF EXISTS a, b CASCADE",
            "DROP MATERIALIZED VIEW m",
            "ALTER VIEW s.\"V w\" RENAME TO w",
            "ALTER VIEW IF EXISTS v SET SCHEMA archive",
            "ALTER MATERIALIZED VIEW IF EXISTS m RENAME TO n",
        ] {
            assert!(ends(sql), "{sql}");
        }
        for sql in [
            "ALTER VIEW v RENAME COLUMN a TO b",
            "ALTER VIEW v RENAME a TO b",
            "ALTER VIEW v OWNER TO app",
            "ALTER VIEW v ALTER COLUMN a SET DEFAULT 1",
            "ALTER MATERIALIZED VIEW m SET (fillfactor = 90)",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
        ] {
            assert!(!ends(sql), "{sql}");
        }
    }
}
