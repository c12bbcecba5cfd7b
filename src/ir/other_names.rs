//! The names a statement gives to objects the catalogue does not follow but PostgreSQL's choice of
//! an unnamed key's name must avoid. `ChooseRelationName` skips every name a relation *or a
//! constraint* of the schema holds: a `CHECK` or foreign key named `users_email_key` on any table,
//! a view, sequence or composite type of that name (measured on PostgreSQL 15: the key is then
//! `users_email_key1`, and a plan that builds `users_email_key` fails, or names the constraint
//! differently from the draft without a word).
//!
//! Read from the statement's words at lowering, loosely so as to miss few: a name found here only
//! makes pgsafe unsure of a key's name (the key then stays as written).

use crate::front::tokens::{Lexer, Tok, Token};

/// The identifiers (as PostgreSQL keys them: bare words folded) that `text`, one statement, gives
/// to a constraint other than a key (`CONSTRAINT n CHECK …`, `CONSTRAINT n FOREIGN KEY …`, a
/// constraint trigger, `RENAME CONSTRAINT a TO n`), or to a view, materialized view, sequence,
/// type, domain or foreign table (`CREATE … VIEW n`, `ALTER VIEW … RENAME TO n`, …). Keys
/// (`UNIQUE`, `PRIMARY KEY`, `EXCLUDE`) and tables are left out: their indexes and names are in the
/// catalogue, which follows their drops and renames.
pub fn declared_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let word = |toks: &[Token<'_>], k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    // Two words first: most statements are none of the forms below (`CREATE TABLE|INDEX`,
    // `ALTER TABLE`), and the lexer stops there.
    let mut lexer = Lexer::new(text);
    let mut head: Vec<Token<'_>> = lexer.by_ref().take(2).collect();
    let second = |w: &&str| word(&head, 1, w);
    if word(&head, 0, "create") && (second(&"or") || MODIFIERS.iter().any(second) || KINDS.iter().any(second)) {
        head.extend(lexer.take(7));
    }
    if word(&head, 0, "create") {
        names.extend(created_object_name(&head).and_then(|k| name_at(&head, k)));
    } else if word(&head, 0, "alter") && !word(&head, 1, "table") && !word(&head, 1, "index") {
        // `ALTER VIEW|SEQUENCE|TYPE|DOMAIN|FOREIGN TABLE … RENAME TO n` (rare: lexed whole).
        let toks: Vec<Token<'_>> = Lexer::new(text).collect();
        if let Some(to) = (2..toks.len()).find(|&j| word(&toks, j - 1, "rename") && word(&toks, j, "to")) {
            names.extend(name_at(&toks, to + 1));
        }
    }
    // Each `CONSTRAINT` word, with the few words around it (a statement is lexed whole only for
    // the rare forms above: a third of a big draft's statements say `CONSTRAINT`).
    for at in word_starts(text, b"constraint") {
        let toks: Vec<Token<'_>> = Lexer::new(&text[at..]).take(8).collect();
        match previous_word(text, at).map(str::to_ascii_lowercase).as_deref() {
            // `RENAME CONSTRAINT a TO n`
            Some("rename") => {
                if let Some(to) = (2..toks.len()).find(|&j| word(&toks, j, "to")) {
                    names.extend(name_at(&toks, to + 1));
                }
            }
            Some("drop" | "validate" | "alter" | "on") => {}
            // `CREATE CONSTRAINT TRIGGER n`: a constraint of that name too.
            _ if word(&toks, 1, "trigger") => names.extend(name_at(&toks, 2)),
            _ if !makes_a_key(&toks, 1) => names.extend(name_at(&toks, 1)),
            _ => {}
        }
    }
    names
}

/// Where `word` (lower case) starts in `text` as a whole word, in any letter case.
fn word_starts<'t>(text: &'t str, word: &'static [u8]) -> impl Iterator<Item = usize> + 't {
    let b = text.as_bytes();
    let part_of_a_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    memchr::memchr2_iter(word[0], word[0].to_ascii_uppercase(), b).filter(move |&k| {
        b.get(k..k + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word))
            && !b.get(k + word.len()).is_some_and(|&c| part_of_a_word(c))
            && !k.checked_sub(1).is_some_and(|p| part_of_a_word(b[p]))
    })
}

/// The bare word right before offset `at` (blanks between), if any.
fn previous_word(text: &str, at: usize) -> Option<&str> {
    let before = text[..at].trim_end_matches(|c: char| c.is_ascii_whitespace());
    // Where the trailing word starts: after any character, one byte or several (a byte order
    // mark before the word panicked a byte-wise `+ 1`, found by the fuzzer).
    let start = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len();
    (start < before.len()).then(|| &before[start..])
}

/// Is the constraint whose name is at `k` a key (its name is its index's, in the catalogue)?
fn makes_a_key(toks: &[Token<'_>], k: usize) -> bool {
    let mut after = k + 1;
    // A qualified constraint name does not parse; its dots are skipped all the same.
    while toks.get(after).is_some_and(|t| t.is_punct('.')) {
        after += 2;
    }
    toks.get(after).is_some_and(|t| t.is_word("unique") || t.is_word("primary") || t.is_word("exclude"))
}

/// The words between `CREATE [OR REPLACE]` and the kinds of object below.
const MODIFIERS: [&str; 5] = ["temp", "temporary", "materialized", "recursive", "unlogged"];
/// The kinds of object a `CREATE` makes whose names an unnamed key's name must avoid (`FOREIGN`
/// when `TABLE` follows).
const KINDS: [&str; 5] = ["view", "sequence", "type", "domain", "foreign"];

/// Where the name of the object a `CREATE` makes starts, for the kinds PostgreSQL keeps in
/// `pg_class` beside tables and indexes (views, materialized views, sequences, composite types,
/// foreign tables) or whose constraints are named in the schema (domains).
fn created_object_name(toks: &[Token<'_>]) -> Option<usize> {
    let word = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let mut k = 1;
    if word(k, "or") && word(k + 1, "replace") {
        k += 2;
    }
    while MODIFIERS.iter().any(|w| word(k, w)) {
        k += 1;
    }
    let foreign_table = word(k, "foreign") && word(k + 1, "table");
    let kind = KINDS.iter().any(|w| word(k, w)) && !word(k, "foreign");
    if !kind && !foreign_table {
        return None;
    }
    k += if foreign_table { 2 } else { 1 };
    if word(k, "if") && word(k + 1, "not") && word(k + 2, "exists") {
        k += 3;
    }
    Some(k)
}

/// The base name of the (possibly qualified) name starting at token `k`.
fn name_at(toks: &[Token<'_>], k: usize) -> Option<String> {
    base_name_at(toks, k).map(|(name, _)| name)
}

/// The base name of the (possibly qualified) name starting at token `k` (a quoted part as
/// written, a bare one folded), and where the tokens after it start.
pub fn base_name_at(toks: &[Token<'_>], mut k: usize) -> Option<(String, usize)> {
    let ident = |t: &Token<'_>| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_)).then(|| t.ident()).flatten();
    let mut base = ident(toks.get(k)?)?;
    while toks.get(k + 1).is_some_and(|t| t.is_punct('.')) {
        base = ident(toks.get(k + 2)?)?;
        k += 2;
    }
    Some((base, k + 1))
}

#[cfg(test)]
mod tests {
    use super::declared_names;

    #[test]
    fn constraints_other_than_keys_and_other_relations_are_read() {
        let names = |sql: &str| declared_names(sql);
        assert_eq!(names("ALTER TABLE orders ADD CONSTRAINT users_email_key CHECK (amount >= 0)"), ["users_email_key"]);
        assert_eq!(names("alter table o add constraint \"Fk\" foreign key (u) references users"), ["Fk"]);
        assert_eq!(names("CREATE TABLE t (a int CONSTRAINT a_positive CHECK (a > 0), b int)"), ["a_positive"]);
        assert_eq!(
            names("CREATE CONSTRAINT TRIGGER t_key AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()"),
            ["t_key"]
        );
        assert_eq!(names("ALTER TABLE t RENAME CONSTRAINT a TO t_c_key"), ["t_c_key"]);
        assert_eq!(names("CREATE VIEW users_email_key AS SELECT 1"), ["users_email_key"]);
        assert_eq!(names("create or replace temp view s.V1 as select 1"), ["v1"]);
        assert_eq!(names("CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1"), ["mv"]);
        assert_eq!(names("CREATE SEQUENCE billing.users_pkey"), ["users_pkey"]);
        assert_eq!(names("CREATE TYPE users_email_key AS (a int)"), ["users_email_key"]);
        assert_eq!(names("CREATE DOMAIN d AS int CONSTRAINT d_positive CHECK (VALUE > 0)"), ["d", "d_positive"]);
        assert_eq!(names("CREATE FOREIGN TABLE ft (a int) SERVER s"), ["ft"]);
        assert_eq!(names("ALTER VIEW v RENAME TO users_email_key"), ["users_email_key"]);
        assert_eq!(names("ALTER SEQUENCE s RENAME TO t_pkey"), ["t_pkey"]);
        // Read loosely: the words of a literal count too, which only makes a key's name unsure.
        assert_eq!(names("INSERT INTO t VALUES ('constraint x')"), ["x"]);
    }

    #[test]
    fn keys_tables_and_uses_of_a_name_are_not() {
        let none = |sql: &str| assert!(declared_names(sql).is_empty(), "{sql}");
        none("ALTER TABLE t ADD CONSTRAINT t_c_key UNIQUE (c)");
        none("ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)");
        none("ALTER TABLE t ADD CONSTRAINT t_no_overlap EXCLUDE USING gist (r WITH &&)");
        none("ALTER TABLE t DROP CONSTRAINT t_c_check");
        none("ALTER TABLE t VALIDATE CONSTRAINT t_c_check");
        none("ALTER TABLE t ALTER CONSTRAINT t_fk DEFERRABLE");
        none("COMMENT ON CONSTRAINT t_c_check ON t IS 'x'");
        none("ALTER TABLE t RENAME TO t_c_key");
        none("ALTER INDEX i RENAME TO t_c_key");
        none("CREATE TABLE t (id int)");
        none("SET CONSTRAINTS ALL DEFERRED");
    }
}
