//! Does a statement read its transaction's start time while it runs? `now()`, `CURRENT_TIMESTAMP`
//! and their kin return the time the transaction began, the same in every statement of it: a draft
//! that stamps two tables in one transaction, or matches rows by `now()` in a later statement,
//! relies on that, and a plan that split the transaction gives the statements after the split a
//! later time (measured by a probe: `ADD COLUMN touched_at … DEFAULT now()` then `UPDATE … WHERE
//! touched_at = now()` matched every row in the draft and none in the plan).
//!
//! The transaction's id is the same hazard (`pg_current_xact_id()`, `txid_current()`: a probe's
//! draft stamped rows with it and matched them again later in its transaction), so its readers
//! count too.
//!
//! Read from the words, loosely so as to miss few: a `CREATE` (a table's defaults, a function's or
//! view's body run later) or `COMMENT` reads nothing; a `DO` block's body is read. A column
//! default that an `INSERT` fills in without naming it is not seen.

use crate::front::tokens::{Lexer, Tok, Token};

/// The strings the date and time types read as the transaction's start time, or a day of it.
pub const SPECIAL_INPUTS: [&str; 4] = ["now", "today", "tomorrow", "yesterday"];

/// Is `body`, a string's contents, one of [`SPECIAL_INPUTS`]?
pub fn is_special_input(body: &str) -> bool {
    SPECIAL_INPUTS.iter().any(|w| body.trim().eq_ignore_ascii_case(w))
}

/// Does `body`, a string's contents, say one of [`SPECIAL_INPUTS`] anywhere, as a word of its own
/// (`'today 10:00'`, `'[now,)'`, `'{now}'`)? The date/time input reads a run of letters as one
/// word, and array and range input drop backslashes and double quotes first (`'{n\ow}'` is
/// read as `{now}`): those are left out before looking.
pub fn says_special_input(body: &str) -> bool {
    let b: Vec<u8> = body.bytes().filter(|&c| c != b'\\' && c != b'"').map(|c| c.to_ascii_lowercase()).collect();
    let letter = |k: Option<&u8>| k.is_some_and(u8::is_ascii_alphabetic);
    SPECIAL_INPUTS.iter().any(|w| {
        let w = w.as_bytes();
        b.windows(w.len())
            .enumerate()
            .any(|(k, win)| win == w && !letter(k.checked_sub(1).and_then(|p| b.get(p))) && !letter(b.get(k + w.len())))
    })
}

/// Does `text`, one statement, read the transaction's start time (or id) as it runs?
pub fn reads_transaction_time(text: &str) -> bool {
    if !mentions_a_time_word(text) {
        return false;
    }
    let toks: Vec<Token<'_>> = Lexer::new(text).collect();
    match toks.first() {
        Some(t) if t.is_word("create") || t.is_word("comment") => false,
        Some(t) if t.is_word("do") => toks
            .iter()
            .any(|t| t.tok == Tok::Literal && reads_transaction_time(super::lower::string_body(&text[t.span.clone()]))),
        _ => says_a_time_function(text, &toks),
    }
}

/// Cheap test before lexing: most statements say none of the words. Found by their rarer letters
/// (`now`'s `w`, the `_` of `current_…`, `transaction_…` and `…_current`, `localtime`'s `m`).
fn mentions_a_time_word(text: &str) -> bool {
    let b = text.as_bytes();
    let at = |k: usize, w: &[u8]| crate::front::tokens::says_at(b, k, w);
    let ends_at = |k: usize, w: &[u8]| k + 1 >= w.len() && at(k + 1 - w.len(), w);
    memchr::memchr3_iter(b'w', b'W', b'_', b)
        .any(|k| ends_at(k, b"now") || at(k, b"_time") || at(k, b"_date") || at(k, b"_current"))
        || memchr::memchr2_iter(b'm', b'M', b).any(|k| ends_at(k, b"localtim"))
        || memchr::memchr_iter(b'\'', b).any(|k| SPECIAL_INPUTS.iter().any(|w| at(k + 1, w.as_bytes())))
}

/// `now()`, `transaction_timestamp()`, one of the SQL keywords that read the same clock, a string
/// the date and time types read as it (`'now'`), or a function of the transaction's id.
fn says_a_time_function(text: &str, toks: &[Token<'_>]) -> bool {
    const KEYWORDS: [&str; 5] = ["current_timestamp", "current_date", "current_time", "localtime", "localtimestamp"];
    const FUNCTIONS: [&str; 6] = [
        "now",
        "transaction_timestamp",
        "txid_current",
        "txid_current_if_assigned",
        "pg_current_xact_id",
        "pg_current_xact_id_if_assigned",
    ];
    toks.iter().enumerate().any(|(k, t)| {
        let called = toks.get(k + 1).is_some_and(|n| n.is_punct('('));
        (called && FUNCTIONS.iter().any(|w| t.is_word(w)))
            || KEYWORDS.iter().any(|w| t.is_word(w))
            || t.tok == Tok::Literal && is_special_input(super::lower::string_body(&text[t.span.clone()]))
    })
}

#[cfg(test)]
mod tests {
    use super::reads_transaction_time as reads;

    #[test]
    fn statements_that_evaluate_the_transaction_time_are_found() {
        assert!(reads("UPDATE orders SET note = 'x' WHERE touched_at = now()"));
        assert!(reads("ALTER TABLE orders ADD COLUMN touched_at timestamptz DEFAULT now()"));
        assert!(reads("insert into audit (at) values (CURRENT_TIMESTAMP)"));
        assert!(reads("DELETE FROM sessions WHERE expires < localtimestamp"));
        assert!(reads("SELECT transaction_timestamp ()"));
        assert!(reads("DO $$ BEGIN UPDATE t SET at = now(); END $$"));
        assert!(reads("UPDATE orders SET touched_xid = pg_current_xact_id() WHERE status = 'new'"));
        assert!(reads("UPDATE orders SET note = 'x' WHERE xid = txid_current ()"));
    }

    #[test]
    fn special_inputs_are_found_inside_longer_strings() {
        use super::says_special_input as says;
        for s in ["now", " Today 10:00", "[now,)", "{NOW,yesterday}", "tomorrow at 10:00", "{n\\ow}", "[\"n\\\\ow\",)"]
        {
            assert!(says(s), "{s}");
        }
        for s in ["", "nowhere", "knowledge", "todays", "2020-01-01 10:00", "{}", "epoch"] {
            assert!(!says(s), "{s}");
        }
    }

    #[test]
    fn definitions_run_later_and_names_are_not_calls() {
        assert!(!reads("CREATE TABLE t (id int, at timestamptz DEFAULT now())"));
        assert!(!reads("CREATE FUNCTION f() RETURNS timestamptz AS $$ SELECT now() $$ LANGUAGE sql"));
        assert!(!reads("CREATE VIEW v AS SELECT now()"));
        assert!(!reads("COMMENT ON COLUMN t.at IS 'set to now()'"));
        assert!(!reads("UPDATE t SET note = 'now()'"));
        assert!(!reads("UPDATE t SET now = 1"));
        assert!(!reads("UPDATE t SET at = clock_timestamp()"));
        assert!(!reads("UPDATE t SET is_current = true"));
        assert!(!reads("DO $$ BEGIN RAISE NOTICE 'hello'; END $$"));
    }
}
