//! Does a statement read the physical order of a table's rows? A batched `UPDATE` commits batch
//! by batch, and PostgreSQL reuses the space of the row versions each batch leaves: the rows end
//! in another physical order (`ctid`) than one big `UPDATE` leaves them in (measured by a probe
//! on PostgreSQL 15: a later `DELETE … USING … WHERE a.ctid < b.ctid` kept other rows). A later
//! statement that reads that order then does something else in the plan than in the draft.
//!
//! Read from the words, loosely so as to miss few (a `DO` block's body too): its reader
//! (`passes::backfill`) then keeps the earlier statement as written.

use crate::front::tokens::{Lexer, Tok, Token};

/// How a statement may read the physical order of the rows it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRead {
    /// It names the system column `ctid`, a row's physical place.
    Ctid,
    /// It calls `nextval`: the rows get their numbers in the order they are found.
    Numbers,
    /// `LIMIT`, `OFFSET`, `FETCH` or `DISTINCT ON`: which rows it takes is decided by the order
    /// they are found in (among the rows its `ORDER BY`, if any, ties).
    Picks,
    /// `INSERT … SELECT`: the target's serial, identity or `nextval` defaults number the rows in
    /// the order they are found (the target's defaults may be unknown to pgsafe).
    Copies,
    /// It calls a function the draft (or `--schema`) created whose code reads the order one of
    /// the ways above, of tables pgsafe does not follow ([`super::code_locks::Effects`]).
    Code,
}

impl OrderRead {
    /// What the statement does, for a finding.
    pub fn what(self) -> &'static str {
        match self {
            OrderRead::Ctid => "names ctid, the rows' physical places",
            OrderRead::Numbers => {
                "calls nextval() (or a function that may), which numbers the rows in the order it finds them"
            }
            OrderRead::Picks => {
                "has LIMIT, OFFSET, FETCH or DISTINCT ON, which takes rows in the order it finds them (among \
                 those its ORDER BY, if any, ties)"
            }
            OrderRead::Copies => {
                "is an INSERT … SELECT, whose target's serial, identity or nextval() defaults number the rows in \
                 the order it finds them"
            }
            OrderRead::Code => "calls a function whose code reads rows in the order it finds them",
        }
    }
}

/// How `text`, one statement, may read the physical order of the rows it reads, if it may.
/// Its tokens are read one by one, never held (a 10 MB `INSERT` has millions).
pub fn order_read(text: &str) -> Option<OrderRead> {
    if !mentions_an_order_word(text) {
        return None;
    }
    let mut toks = Lexer::new(text).peekable();
    let first = toks.peek()?;
    if first.is_word("comment") {
        None
    } else if first.is_word("do") {
        toks.filter(|t| t.tok == Tok::Literal)
            .filter_map(|t| order_read(super::lower::string_body(&text[t.span])))
            .min_by_key(|r| *r as u8)
    } else {
        in_words(toks)
    }
}

/// The first (by [`OrderRead`]'s order) of the ways `toks` read the order.
fn in_words<'t>(mut toks: std::iter::Peekable<impl Iterator<Item = Token<'t>>>) -> Option<OrderRead> {
    let mut found: Option<OrderRead> = None;
    let mut note = |r: OrderRead| {
        if found.is_none_or(|f| (r as u8) < (f as u8)) {
            found = Some(r);
        }
    };
    let insert = toks.peek().is_some_and(|t| t.is_word("insert"));
    while let Some(t) = toks.next() {
        let next = toks.peek();
        if t.ident().as_deref() == Some("ctid") {
            return Some(OrderRead::Ctid);
        } else if t.is_word("nextval") && next.is_some_and(|n| n.is_punct('(')) {
            note(OrderRead::Numbers);
        } else if t.is_word("limit")
            || t.is_word("offset")
            || t.is_word("fetch")
            || (t.is_word("distinct") && next.is_some_and(|n| n.is_word("on")))
        {
            note(OrderRead::Picks);
        } else if insert && (t.is_word("select") || t.is_word("table")) {
            note(OrderRead::Copies);
        }
    }
    found
}

/// Cheap test before lexing: most statements say none of the words. Only a word's first letter
/// is compared, with the one word that starts with it; the rest of each word is skipped (testing
/// every letter cost 2 % of a compile).
fn mentions_an_order_word(text: &str) -> bool {
    const IN_WORD: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 256 {
            let b = c as u8;
            t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
            c += 1;
        }
        t
    };
    let b = text.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if !IN_WORD[b[k] as usize] {
            k += 1;
            continue;
        }
        let word: &[u8] = match b[k] | 0x20 {
            b'c' => b"ctid",
            b'n' => b"nextval",
            b'l' => b"limit",
            b'o' => b"offset",
            b'f' => b"fetch",
            b'd' => b"distinct",
            b'i' => b"insert",
            _ => b"",
        };
        if !word.is_empty() && crate::front::tokens::says_at(b, k, word) {
            return true;
        }
        k += 1;
        while k < b.len() && IN_WORD[b[k] as usize] {
            k += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{order_read, OrderRead};

    #[test]
    fn reads_of_the_physical_order() {
        let cases = [
            ("DELETE FROM users a USING users b WHERE a.ctid < b.ctid AND a.e = b.e", Some(OrderRead::Ctid)),
            ("SELECT \"ctid\" FROM t", Some(OrderRead::Ctid)),
            ("DO $$ BEGIN DELETE FROM t WHERE ctid = '(0,1)'; END $$", Some(OrderRead::Ctid)),
            ("UPDATE t SET n = nextval('s')", Some(OrderRead::Numbers)),
            ("DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 10)", Some(OrderRead::Picks)),
            ("SELECT DISTINCT ON (a) a, b FROM t", Some(OrderRead::Picks)),
            ("INSERT INTO p (user_id) SELECT id FROM users", Some(OrderRead::Copies)),
            ("INSERT INTO p (user_id) VALUES (1)", None),
            ("UPDATE users SET email_normalized = lower(email)", None),
            ("SELECT DISTINCT a FROM t", None),
            ("COMMENT ON TABLE t IS 'by ctid'", None),
            ("UPDATE t SET note = 'ctid'", None),
            ("ALTER TABLE t ADD COLUMN n bigserial", None),
        ];
        for (sql, want) in cases {
            assert_eq!(order_read(sql), want, "{sql}");
        }
    }
}
