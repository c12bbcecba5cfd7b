//! Lowering of the `ALTER INDEX` forms sqlparser refuses, from tokens: `SET (…)`, `RESET (…)`,
//! `SET TABLESPACE`, `ALTER [COLUMN] n SET STATISTICS` (alone or in a list) and `[NO] DEPENDS ON
//! EXTENSION`. `RENAME TO` and `ATTACH PARTITION` are read in [`super::lower`], `ALL IN
//! TABLESPACE … SET TABLESPACE` in [`super::lower_move_all`].
//!
//! PostgreSQL 15 locks the index alone (measured in `tests/lock_model.rs`), never its table; but
//! every query that plans on the table opens its indexes, and every write opens them all, so
//! ACCESS EXCLUSIVE on an index makes reads and writes of its table wait. The
//! `concurrent-drop-index` pass moves the lock to the table where the draft or the catalogue
//! knows it.

use super::lock::{LockMode, LockUse};
use super::lower::lock;
use super::name::Name;
use super::op::OpKind;
use crate::front::forms;
use crate::front::tokens::{lex, Tok, Token};

/// The storage parameters whose change takes SHARE UPDATE EXCLUSIVE on the index (btree's, and
/// the `fillfactor` of hash and GiST); the others (`fastupdate`, `gin_pending_list_limit`,
/// `pages_per_range`, `autosummarize`, `buffering`) take ACCESS EXCLUSIVE.
const LIGHT_PARAMETERS: &[&str] = &["fillfactor", "deduplicate_items"];

/// `ALTER INDEX [IF EXISTS] index …` in one of the forms this module reads, or `None` (then the
/// statement stays `not-understood`).
pub fn lower(text: &str) -> Option<(OpKind, Vec<LockUse>)> {
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    if !(is(0, "alter") && is(1, "index")) {
        return None;
    }
    // A bare `ALL` names no index (`ALL IN TABLESPACE` is `super::lower_move_all`'s).
    if is(2, "all") {
        return None;
    }
    let at = if is(2, "if") && is(3, "exists") { 4 } else { 2 };
    let start = toks.get(at)?.span.start;
    let end = start + forms::name_len(&text[start..])?;
    let index = Name::new(&text[start..end]);
    let first = toks.iter().position(|t| t.span.start >= end)?;
    let rest = &toks[first..];
    let (mode, copies) = if rest.first()?.is_word("no") || rest.first()?.is_word("depends") {
        depends_on_extension(rest)?;
        (LockMode::AccessExclusive, false)
    } else {
        let mut mode = LockMode::AccessShare;
        let mut copies = false;
        for action in split_actions(rest)? {
            let (m, c) = action_lock(text, action)?;
            mode = mode.max(m);
            copies |= c;
        }
        (mode, copies)
    };
    Some((OpKind::AlterIndex { index: index.clone(), copies }, vec![lock(&index, mode, copies)]))
}

/// `[NO] DEPENDS ON EXTENSION e`, and nothing after.
fn depends_on_extension(toks: &[Token]) -> Option<()> {
    let no = usize::from(toks[0].is_word("no"));
    let words = ["depends", "on", "extension"];
    let all = words.iter().enumerate().all(|(k, w)| toks.get(no + k).is_some_and(|t| t.is_word(w)));
    (all && toks.len() == no + 4 && is_name(&toks[no + 3])).then_some(())
}

/// The actions of the list, split at the commas outside parentheses; `None` if one is empty or a
/// parenthesis does not close.
fn split_actions<'t, 'a>(toks: &'t [Token<'a>]) -> Option<Vec<&'t [Token<'a>]>> {
    let mut actions = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (k, t) in toks.iter().enumerate() {
        depth += i32::from(t.is_punct('(')) - i32::from(t.is_punct(')'));
        if depth < 0 {
            return None;
        }
        if depth == 0 && t.is_punct(',') {
            actions.push(&toks[from..k]);
            from = k + 1;
        }
    }
    actions.push(&toks[from..]);
    (depth == 0 && actions.iter().all(|a| !a.is_empty())).then_some(actions)
}

/// The lock one action takes on the index, and whether it copies it.
fn action_lock(text: &str, a: &[Token]) -> Option<(LockMode, bool)> {
    let is = |k: usize, w: &str| a.get(k).is_some_and(|t| t.is_word(w));
    // `SET TABLESPACE ts`: the index's files are copied under ACCESS EXCLUSIVE.
    if is(0, "set") && is(1, "tablespace") && a.len() == 3 && is_name(&a[2]) {
        return Some((LockMode::AccessExclusive, true));
    }
    // `SET (p = v, …)`, `RESET (p, …)`.
    if (is(0, "set") || is(0, "reset")) && a.get(1).is_some_and(|t| t.is_punct('(')) {
        let parameters = parameters(&a[1..])?;
        let light = parameters.iter().all(|p| LIGHT_PARAMETERS.contains(&p.as_str()));
        return Some((if light { LockMode::ShareUpdateExclusive } else { LockMode::AccessExclusive }, false));
    }
    // `ALTER [COLUMN] n SET STATISTICS k`: SHARE UPDATE EXCLUSIVE.
    let column = usize::from(is(1, "column"));
    let statistics = is(0, "alter") && is(2 + column, "set") && is(3 + column, "statistics");
    let number = |t: &Token| t.tok == Tok::Literal && text[t.span.clone()].bytes().all(|b| b.is_ascii_digit());
    let target = match &a.get(4 + column..)? {
        [n] => number(n),
        [sign, n] => sign.is_punct('-') && number(n),
        _ => false,
    };
    (statistics && a.get(1 + column).is_some_and(|t| number(t) || is_name(t)) && target)
        .then_some((LockMode::ShareUpdateExclusive, false))
}

/// The parameter names of `( p [= v], … )`, which must be all of `toks`, folded.
fn parameters(toks: &[Token]) -> Option<Vec<String>> {
    let inner = toks.get(1..toks.len().checked_sub(1)?)?;
    if !toks.last()?.is_punct(')') || inner.is_empty() {
        return None;
    }
    // No nested parentheses: a value is a word, a number or a string.
    if inner.iter().any(|t| t.is_punct('(') || t.is_punct(')')) {
        return None;
    }
    inner.split(|t| t.is_punct(',')).map(|p| p.first().and_then(Token::ident)).collect()
}

/// A bare or quoted name, one part.
fn is_name(t: &Token) -> bool {
    matches!(t.tok, Tok::Word(_) | Tok::Quoted(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks(text: &str) -> Option<(String, LockMode, bool)> {
        let (kind, locks) = lower(text)?;
        let OpKind::AlterIndex { index, copies } = kind else { panic!("{text}: {kind:?}") };
        assert_eq!(locks.len(), 1, "{text}");
        assert!(locks[0].table.same(&index) && locks[0].scans == copies, "{text}");
        Some((index.text.to_string(), locks[0].mode, copies))
    }

    /// Each lock as PostgreSQL 15 takes it on the index (measured; see `tests/lock_model.rs`).
    #[test]
    fn each_form_takes_the_lock_postgresql_15_takes_on_the_index() {
        use LockMode::{AccessExclusive as Ae, ShareUpdateExclusive as Sue};
        let cases: &[(&str, &str, LockMode, bool)] = &[
            ("ALTER INDEX i SET (fillfactor = 70)", "i", Sue, false),
            ("alter index if exists s.i set (FillFactor = 70, deduplicate_items = off)", "s.i", Sue, false),
            ("ALTER INDEX i RESET (fillfactor)", "i", Sue, false),
            ("ALTER INDEX i SET (fastupdate = off)", "i", Ae, false),
            ("ALTER INDEX i RESET (fillfactor, gin_pending_list_limit)", "i", Ae, false),
            ("ALTER INDEX i SET (pages_per_range = 64)", "i", Ae, false),
            ("ALTER INDEX i SET TABLESPACE ts", "i", Ae, true),
            ("ALTER INDEX IF EXISTS \"S\".\"I\" SET TABLESPACE \"Fast\"", "\"S\".\"I\"", Ae, true),
            ("ALTER INDEX i ALTER COLUMN 1 SET STATISTICS 100", "i", Sue, false),
            ("ALTER INDEX i ALTER 2 SET STATISTICS -1", "i", Sue, false),
            ("ALTER INDEX i SET (fillfactor = 70), ALTER COLUMN 1 SET STATISTICS 5", "i", Sue, false),
            ("ALTER INDEX i SET (fillfactor = 70), SET TABLESPACE ts", "i", Ae, true),
            ("ALTER INDEX i DEPENDS ON EXTENSION e", "i", Ae, false),
            ("ALTER INDEX public.i NO DEPENDS ON EXTENSION e", "public.i", Ae, false),
        ];
        for &(text, index, mode, copies) in cases {
            assert_eq!(locks(text), Some((index.to_string(), mode, copies)), "{text}");
        }
    }

    #[test]
    fn other_forms_are_left_to_the_rest() {
        for text in [
            "ALTER INDEX ALL IN TABLESPACE a SET TABLESPACE b",
            "ALTER INDEX ALL SET TABLESPACE b",
            "ALTER INDEX i RENAME TO j",
            "ALTER INDEX i ATTACH PARTITION p",
            "ALTER INDEX i SET TABLESPACE",
            "ALTER INDEX i SET TABLESPACE ts CASCADE",
            "ALTER INDEX i SET (fillfactor = 70",
            "ALTER INDEX i SET ()",
            "ALTER INDEX i SET (fillfactor = f(1))",
            "ALTER INDEX i SET (fillfactor = 70),",
            "ALTER INDEX i ALTER COLUMN 1 SET STATISTICS",
            "ALTER INDEX i ALTER COLUMN 1 SET DEFAULT 1",
            "ALTER INDEX i DEPENDS ON EXTENSION",
            "ALTER INDEX i DEPENDS ON EXTENSION e, SET (fillfactor = 70)",
            "ALTER INDEX i OWNER TO r",
            "ALTER INDEX i",
        ] {
            assert_eq!(lower(text).map(|(k, _)| k), None, "{text}");
        }
    }
}
