//! The words of `ADD [CONSTRAINT c] UNIQUE …` / `PRIMARY KEY …` that a recipe building the key's
//! index concurrently carries, read from the action's tokens in draft bytes: the column list,
//! then what goes on the index (`NULLS [NOT] DISTINCT`, `INCLUDE (…)`, `WITH (…)`, `USING INDEX
//! TABLESPACE t`), then the deferrability, which `ADD CONSTRAINT … USING INDEX` takes in the same
//! words (PostgreSQL's grammar: `UNIQUE [NULLS [NOT] DISTINCT] (…) [INCLUDE (…)] [WITH (…)] [USING
//! INDEX TABLESPACE t] [attributes]`; each clause in another place is a syntax error on
//! PostgreSQL 15).

use super::op::{KeyClauses, Refused};
use crate::front::index_parameters;
use crate::front::tokens::{skip_parens, Tok, Token};

/// A key read from its words.
pub struct KeyWords {
    pub clauses: KeyClauses,
    /// The folded names of the column list and of `INCLUDE (…)` (from the tokens, so a comment
    /// inside a list is no part of a name).
    pub names: Vec<String>,
    pub include: Vec<String>,
}

/// The key of the action whose tokens are `toks` (at draft offset `at`): `Err(Some(why))` where
/// PostgreSQL refuses it as written, `Err(None)` where it holds anything else (an expression,
/// words pgsafe does not read).
pub fn read(toks: &[Token], at: usize) -> Result<KeyWords, Option<Refused>> {
    let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    let in_draft = |r: std::ops::Range<usize>| at + r.start..at + r.end;
    let mut i = 1;
    if is(i, "constraint") {
        i += 2;
    }
    let mut clauses = KeyClauses::default();
    if is(i, "primary") && is(i + 1, "key") {
        i += 2;
    } else if is(i, "unique") {
        i += 1;
        if is(i, "nulls") {
            let last = i + 1 + usize::from(is(i + 1, "not"));
            if !is(last, "distinct") {
                return Err(None);
            }
            clauses.nulls = Some(in_draft(toks[i].span.start..toks[last].span.end));
            i = last + 1;
        }
    } else {
        return Err(None);
    }
    let (names, close) = list(toks, i).ok_or(None)?;
    clauses.list = in_draft(toks[i].span.end..toks[close].span.start);
    i = close + 1;
    let mut include = Vec::new();
    if is(i, "include") {
        let (found, close) = list(toks, i + 1).ok_or(None)?;
        clauses.include = Some(in_draft(toks[i].span.start..toks[close].span.end));
        include = found;
        i = close + 1;
    }
    let parameters = index_parameters::read(toks, i);
    clauses.with = parameters.with.map(in_draft);
    clauses.tablespace = parameters.tablespace.map(in_draft);
    let rest = &toks[parameters.next..];
    let (deferrable, refused) = deferrability(rest);
    if let Some(why) = refused {
        return Err(why);
    }
    clauses.deferrable = deferrable;
    if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
        clauses.deferrability = Some(in_draft(first.span.start..last.span.end));
    }
    Ok(KeyWords { clauses, names, include })
}

/// The names of the list that opens at token `open` (`a, "B"`, not `a b` or `a,,b`), and where it
/// closes.
fn list(toks: &[Token], open: usize) -> Option<(Vec<String>, usize)> {
    if !toks.get(open)?.is_punct('(') {
        return None;
    }
    let (close, _) = skip_parens(toks, open)?;
    let inner = &toks[open + 1..close];
    let mut names = Vec::new();
    for (k, t) in inner.iter().enumerate() {
        match (&t.tok, k % 2) {
            (Tok::Punct(','), 1) => {}
            (_, 0) => names.push(t.ident()?),
            _ => return None,
        }
    }
    (inner.len() % 2 == 1).then_some((names, close))
}

/// The constraint's attributes after the index's clauses: whether they declare it deferrable, or
/// why PostgreSQL refuses them (`Some(None)`: words that are no attribute of a key). Each may be
/// repeated (`DEFERRABLE DEFERRABLE` is accepted), in any order.
fn deferrability(toks: &[Token]) -> (bool, Option<Option<Refused>>) {
    let is = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    let (mut deferrable, mut deferred) = (None, None);
    let mut i = 0;
    while i < toks.len() {
        let (deferrable_now, deferred_now) = if is(i, "deferrable") {
            (Some(true), None)
        } else if is(i, "not") && is(i + 1, "deferrable") {
            (Some(false), None)
        } else if is(i, "initially") && is(i + 1, "deferred") {
            (None, Some(true))
        } else if is(i, "initially") && is(i + 1, "immediate") {
            (None, Some(false))
        } else if is(i, "not") && is(i + 1, "valid") {
            return (false, Some(Some(Refused::NotValid)));
        } else if is(i, "no") && is(i + 1, "inherit") {
            return (false, Some(Some(Refused::NoInherit)));
        } else {
            return (false, Some(None));
        };
        i += if is(i, "deferrable") { 1 } else { 2 };
        let conflict = |was: Option<bool>, now: Option<bool>| matches!((was, now), (Some(a), Some(b)) if a != b);
        if conflict(deferrable, deferrable_now) || conflict(deferred, deferred_now) {
            return (false, Some(Some(Refused::ConflictingProperties)));
        }
        deferrable = deferrable.or(deferrable_now);
        deferred = deferred.or(deferred_now);
    }
    if deferred == Some(true) && deferrable == Some(false) {
        return (false, Some(Some(Refused::DeferredNotDeferrable)));
    }
    (deferrable == Some(true) || deferred == Some(true), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::tokens::lex;

    fn clauses(sql: &str) -> Result<Vec<Option<&str>>, Option<Refused>> {
        let toks = lex(sql);
        let k = read(&toks, 0)?;
        let c = k.clauses;
        let text = |r: Option<std::ops::Range<usize>>| r.map(|r| &sql[r]);
        Ok(vec![
            Some(&sql[c.list]),
            text(c.nulls),
            text(c.include),
            text(c.with),
            text(c.tablespace),
            text(c.deferrability),
        ])
    }

    #[test]
    fn each_clause_is_read_where_postgresql_takes_it() {
        let sql = "ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a, \"B\") INCLUDE (c) WITH (fillfactor = 70) \
                   USING INDEX TABLESPACE x DEFERRABLE INITIALLY DEFERRED";
        assert_eq!(
            clauses(sql).unwrap(),
            [
                Some("a, \"B\""),
                Some("NULLS NOT DISTINCT"),
                Some("INCLUDE (c)"),
                Some("WITH (fillfactor = 70)"),
                Some("x"),
                Some("DEFERRABLE INITIALLY DEFERRED")
            ]
        );
        let toks = lex(sql);
        let k = read(&toks, 0).ok().unwrap();
        assert_eq!((k.names, k.include, k.clauses.deferrable), (vec!["a".into(), "B".into()], vec!["c".into()], true));
        let pk = clauses("add primary key (id) include (b, c)").unwrap();
        assert_eq!(pk[..3], [Some("id"), None, Some("include (b, c)")]);
        for (sql, deferrable) in [
            ("ADD UNIQUE (a) INITIALLY DEFERRED", true),
            ("ADD UNIQUE (a) INITIALLY IMMEDIATE DEFERRABLE", true),
            ("ADD UNIQUE (a) DEFERRABLE DEFERRABLE", true),
            ("ADD UNIQUE (a) NOT DEFERRABLE", false),
            ("ADD UNIQUE (a) INITIALLY IMMEDIATE", false),
        ] {
            let toks = lex(sql);
            assert_eq!(read(&toks, 0).ok().map(|k| k.clauses.deferrable), Some(deferrable), "{sql}");
        }
    }

    #[test]
    fn what_postgresql_refuses_or_pgsafe_does_not_read_is_said() {
        let refused = |sql: &str| clauses(sql).err();
        assert_eq!(refused("ADD UNIQUE (a) DEFERRABLE NOT DEFERRABLE"), Some(Some(Refused::ConflictingProperties)));
        assert_eq!(
            refused("ADD UNIQUE (a) INITIALLY DEFERRED INITIALLY IMMEDIATE"),
            Some(Some(Refused::ConflictingProperties))
        );
        assert_eq!(
            refused("ADD UNIQUE (a) NOT DEFERRABLE INITIALLY DEFERRED"),
            Some(Some(Refused::DeferredNotDeferrable))
        );
        assert_eq!(refused("ADD UNIQUE (a) DEFERRABLE NOT VALID"), Some(Some(Refused::NotValid)));
        assert_eq!(refused("ADD PRIMARY KEY (a) NO INHERIT"), Some(Some(Refused::NoInherit)));
        // Not PostgreSQL's order, an expression, a word after the attributes: not read.
        for sql in [
            "ADD UNIQUE (a) DEFERRABLE WITH (fillfactor = 70)",
            "ADD UNIQUE (a) WITH (fillfactor = 70) INCLUDE (b)",
            "ADD UNIQUE (lower(a))",
            "ADD UNIQUE (a) INCLUDE (b c)",
            "ADD UNIQUE (a) DEFERRABLE foo",
            "ADD PRIMARY KEY NULLS NOT DISTINCT (a)",
            "ADD UNIQUE NULLS (a)",
        ] {
            assert_eq!(refused(sql), Some(None), "{sql}");
        }
    }
}
