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
//! Read from the words, loosely so as to miss few. A `CREATE` reads the time where it runs a query
//! (`CREATE TABLE … AS`, `CREATE MATERIALIZED VIEW` unless `WITH NO DATA`) and where a string says
//! `'now'` (or `'today'`, …): PostgreSQL makes such a constant as it parses the statement, so a
//! default, check or view body keeps the creating transaction's time. Otherwise it reads nothing
//! (a table's defaults, a function's or view's body run later); nor does a `COMMENT`. A `DO`
//! block's body is read. A column default that an `INSERT` fills in without naming it is not seen.

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
    // A goose block or psql's `\;` sends several statements in one text: each is read alone.
    toks.split(|t| t.is_punct(';')).any(|toks| statement_reads_time(text, toks))
}

/// [`reads_transaction_time`] of one statement, `toks` (of `text`), without its `;`.
fn statement_reads_time(text: &str, toks: &[Token<'_>]) -> bool {
    match toks.first() {
        Some(t) if t.is_word("comment") => false,
        Some(t) if t.is_word("create") => creation_reads_time(text, toks),
        Some(t) if t.is_word("do") => toks
            .iter()
            .any(|t| t.tok == Tok::Literal && reads_transaction_time(super::lower::string_body(&text[t.span.clone()]))),
        _ => says_a_time_function(text, toks),
    }
}

/// A `CREATE` (`toks`, from its first word): one that runs its query now (`CREATE TABLE … AS`, a
/// materialized view made `WITH DATA`) reads whatever the query reads; any other but a function's
/// reads the strings the date and time types take as the transaction's time, which PostgreSQL
/// turns into constants as it parses the statement (`DEFAULT 'now'` keeps the time the table was
/// made). A function's or procedure's body, a string, runs later.
fn creation_reads_time(text: &str, toks: &[Token<'_>]) -> bool {
    const MODIFIERS: [&str; 7] = ["or", "replace", "temp", "temporary", "unlogged", "global", "local"];
    let Some(kind) = toks.iter().skip(1).find(|t| !MODIFIERS.iter().any(|w| t.is_word(w))) else {
        return false;
    };
    let runs_its_query = if kind.is_word("table") {
        // `AS` outside parentheses (a generated column's `AS (…)` is inside the column list).
        let mut depth = 0i32;
        toks.iter().any(|t| {
            depth += i32::from(t.is_punct('(')) - i32::from(t.is_punct(')'));
            depth == 0 && t.is_word("as")
        })
    } else {
        kind.is_word("materialized")
    };
    let without_data = matches!(toks, [.., w, n, d] if w.is_word("with") && n.is_word("no") && d.is_word("data"));
    if runs_its_query && !without_data {
        return says_a_time_function(text, toks);
    }
    if ["function", "procedure"].iter().any(|w| kind.is_word(w)) {
        return false;
    }
    toks.iter().any(|t| t.tok == Tok::Literal && says_special_input(literal_body(&text[t.span.clone()])))
}

/// The contents of a string constant token, however quoted (`'…'`, `E'…'`, `U&'…'`, `N'…'`,
/// `$$…$$`); empty for a number.
fn literal_body(quoted: &str) -> &str {
    let b = quoted.as_bytes();
    let prefix = match b.first() {
        Some(b'e' | b'E' | b'n' | b'N' | b'b' | b'B' | b'x' | b'X') if b.get(1) == Some(&b'\'') => 1,
        Some(b'u' | b'U') if b.get(1) == Some(&b'&') => 2,
        _ => 0,
    };
    super::lower::string_body(&quoted[prefix..])
}

/// Cheap test before lexing: most statements say none of the words. Found by their rarer letters
/// (`now`'s and `tomorrow`'s `w`, the `_` of `current_…`, `transaction_…` and `…_current`,
/// `localtime`'s `m`, the `y` of `today` and `yesterday`).
fn mentions_a_time_word(text: &str) -> bool {
    let b = text.as_bytes();
    let at = |k: usize, w: &[u8]| crate::front::tokens::says_at(b, k, w);
    let ends_at = |k: usize, w: &[u8]| k + 1 >= w.len() && at(k + 1 - w.len(), w);
    memchr::memchr3_iter(b'w', b'W', b'_', b).any(|k| {
        ends_at(k, b"now") || ends_at(k, b"tomorrow") || at(k, b"_time") || at(k, b"_date") || at(k, b"_current")
    }) || memchr::memchr2_iter(b'm', b'M', b).any(|k| ends_at(k, b"localtim"))
        || memchr::memchr2_iter(b'y', b'Y', b).any(|k| ends_at(k, b"today") || ends_at(k, b"yesterday"))
}

/// `now()`, `transaction_timestamp()`, one of the SQL keywords that read the same clock, a string
/// the date and time types read as it (`'now'`, also inside a longer one: `'[now,)'`, `'today
/// 10:00'`), or a function of the transaction's id.
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
            || t.tok == Tok::Literal && says_special_input(literal_body(&text[t.span.clone()]))
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
        assert!(!reads("UPDATE t SET now = 1"));
        assert!(!reads("UPDATE t SET at = clock_timestamp()"));
        assert!(!reads("UPDATE t SET is_current = true"));
        assert!(!reads("DO $$ BEGIN RAISE NOTICE 'hello'; END $$"));
        assert!(!reads("CREATE TABLE t (id int, day date GENERATED ALWAYS AS (at::date) STORED, at timestamptz)"));
        assert!(!reads("CREATE TABLE t (id int) PARTITION BY RANGE (id)"));
        assert!(!reads("CREATE MATERIALIZED VIEW mv AS SELECT now() AS at WITH NO DATA"));
        assert!(!reads("CREATE FUNCTION f() RETURNS date AS 'SELECT ''today''::date' LANGUAGE sql"));
        assert!(!reads("CREATE TABLE t (id int, note text DEFAULT 'nowhere')"));
    }

    #[test]
    fn creations_that_run_their_query_read_what_it_reads() {
        assert!(reads("CREATE TABLE snap AS SELECT now() AS at"));
        assert!(reads("create unlogged table snap (at) as select current_timestamp"));
        assert!(reads("CREATE TEMP TABLE snap WITH (fillfactor = 90) AS SELECT id FROM t WHERE at = now();"));
        assert!(reads("CREATE TABLE IF NOT EXISTS snap AS SELECT pg_current_xact_id() AS x WITH DATA"));
        assert!(reads("CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WHERE at < localtimestamp"));
        assert!(reads("SELECT now() AS at INTO snap"));
        assert!(reads("WITH s AS (SELECT current_date AS d) SELECT d INTO snap FROM s"));
        // A goose block: each statement is read alone.
        assert!(reads("CREATE TABLE a (id int);\nCREATE TABLE snap AS SELECT now() AS at;"));
        assert!(!reads("CREATE TABLE a (id int);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\nCREATE VIEW v AS SELECT now();"));
    }

    #[test]
    fn strings_that_say_the_time_are_constants_made_at_creation() {
        // PostgreSQL 15: the default reads back as '2026-…'::timestamp with time zone.
        assert!(reads("CREATE TABLE t (id int, at timestamptz DEFAULT 'now')"));
        assert!(reads("CREATE TABLE t (d date CHECK (d <= 'today'))"));
        assert!(reads("CREATE VIEW v AS SELECT 'now'::timestamptz AS at"));
        assert!(reads("CREATE MATERIALIZED VIEW mv AS SELECT E'tomorrow'::date AS d WITH NO DATA"));
        assert!(reads("CREATE INDEX i ON t (d) WHERE d > 'yesterday'::date"));
    }

    #[test]
    fn strings_that_say_the_time_anywhere_are_read() {
        assert!(reads("UPDATE t SET note = 'x' WHERE at <@ '[now,)'::tstzrange"));
        assert!(reads("UPDATE t SET at = ('{now}'::timestamptz[])[1]"));
        assert!(reads("DELETE FROM t WHERE at < 'today 10:00'"));
        assert!(reads("UPDATE t SET d = 'Tomorrow'"));
        assert!(reads("UPDATE t SET d = 'yesterday'::date"));
        assert!(reads("UPDATE t SET at = E'now'::timestamptz"));
        assert!(reads("UPDATE t SET at = $$now$$::timestamptz"));
        assert!(reads("UPDATE t SET at = 'now()'::timestamptz"));
        assert!(reads("DO $$ BEGIN UPDATE t SET r = '[today,)'; END $$"));
        assert!(!reads("UPDATE t SET note = 'nowhere'"));
        assert!(!reads("UPDATE t SET note = 'todays'"));
        assert!(!reads("UPDATE t SET d = '2020-01-01'::date WHERE y = 1"));
    }
}
