//! PostgreSQL 18's temporal keys, which sqlparser does not read: `PRIMARY KEY (a, r WITHOUT
//! OVERLAPS)`, `UNIQUE (a, r WITHOUT OVERLAPS)` and `FOREIGN KEY (a, PERIOD r) REFERENCES t (b,
//! PERIOD r)`, as an `ALTER TABLE … ADD` action or in `CREATE TABLE`'s list.
//!
//! Read from the tokens: the words `WITHOUT OVERLAPS` and `PERIOD` are blanked where PostgreSQL's
//! grammar puts them (after a key list's last column; before a foreign key list's last column,
//! on either side), leaving every other byte where it was; sqlparser reads what is left, an
//! ordinary key, and the lowering marks it temporal ([`Key::without_overlaps`],
//! `ConstraintKind::ForeignKey::period`). Anywhere else the words stay, and sqlparser fails as
//! before: not understood.
//!
//! What each takes, measured on a real PostgreSQL 18.4 (`tests/postgresql_18.rs`): a temporal key
//! builds a unique GiST index under ACCESS EXCLUSIVE (and SHARE) on its table, checking every row,
//! rewriting none, with the primary key's columns made NOT NULL; PostgreSQL refuses `CREATE UNIQUE
//! INDEX … USING gist` ("access method gist does not support unique indexes") and `ADD … USING
//! INDEX` of a non-unique GiST index, so no concurrent build stands in for it; its index is an
//! exclusion constraint's (`indisexclusion`: `REINDEX … CONCURRENTLY` refuses it). A temporal
//! foreign key locks as an ordinary one: SHARE ROW EXCLUSIVE on both tables while it checks every
//! row; `NOT VALID` checks none, and a later `VALIDATE` scans under SHARE UPDATE EXCLUSIVE (ROW
//! SHARE on the referenced table) but accepts a row whose period the referenced rows cover only in
//! part, which the plain add refuses: `fk-not-valid` does not split one.
//!
//! [`Key::without_overlaps`]: super::op::Key::without_overlaps

use super::op::{ConstraintKind, OpKind};
use crate::front::tokens::{lex, skip_parens, Tok, Token};

/// A statement or action with its temporal words blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Temporal {
    /// The text with `WITHOUT OVERLAPS` and `PERIOD` blanked to spaces (same length, same offsets).
    pub masked: String,
    /// Each key list (`PRIMARY KEY (…)`, `UNIQUE [NULLS [NOT] DISTINCT] (…)`) in text order:
    /// whether it is the primary key, and whether it ends `WITHOUT OVERLAPS`.
    pub keys: Vec<(bool, bool)>,
    /// Each `FOREIGN KEY (…)` in text order: whether it (or its referenced list) has `PERIOD`.
    pub foreign_keys: Vec<bool>,
}

/// `text` with its temporal words blanked, or `None` when it has none where the grammar puts them.
pub fn read(text: &str) -> Option<Temporal> {
    // Most statements never say the words: nothing is lexed for them.
    let lower = text.to_ascii_lowercase();
    if !lower.contains("overlaps") && !lower.contains("period") {
        return None;
    }
    let toks = lex(text);
    let is = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    let mut blank: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut keys, mut foreign_keys) = (Vec::new(), Vec::new());
    for (open, t) in toks.iter().enumerate() {
        if !t.is_punct('(') {
            continue;
        }
        let Some((close, _)) = skip_parens(&toks, open) else { continue };
        let before = |back: usize| open.checked_sub(back);
        let after_words =
            |words: &[&str]| before(words.len()).is_some_and(|s| words.iter().enumerate().all(|(n, w)| is(s + n, w)));
        let primary = after_words(&["primary", "key"]);
        let key = primary
            || after_words(&["unique"])
            || after_words(&["unique", "nulls", "distinct"])
            || after_words(&["unique", "nulls", "not", "distinct"]);
        if key {
            // `(…, r WITHOUT OVERLAPS)`: the two words before the close, after a name.
            let temporal = close >= open + 4
                && is(close - 2, "without")
                && is(close - 1, "overlaps")
                && is_name(&toks[close - 3])
                && plain_list(&toks[open + 1..close - 2]);
            if temporal {
                blank.extend([toks[close - 2].span.clone(), toks[close - 1].span.clone()]);
            }
            keys.push((primary, temporal));
            continue;
        }
        let foreign = after_words(&["foreign", "key"]);
        if foreign || references_list(&toks, open) {
            // `(…, PERIOD r)`: after a comma, before the last name.
            let period = close >= open + 4
                && is(close - 2, "period")
                && toks[close - 3].is_punct(',')
                && is_name(&toks[close - 1])
                && plain_list(&toks[open + 1..close - 2]);
            if period {
                blank.push(toks[close - 2].span.clone());
            }
            if foreign {
                foreign_keys.push(period);
            } else if let Some(last) = foreign_keys.last_mut() {
                *last |= period;
            }
        }
    }
    if blank.is_empty() {
        return None;
    }
    let mut masked = text.to_string().into_bytes();
    for r in blank {
        masked[r].fill(b' ');
    }
    let masked = String::from_utf8(masked).ok()?;
    Some(Temporal { masked, keys, foreign_keys })
}

/// Is `open` the list of `REFERENCES name (…)` (a name maybe qualified)?
fn references_list(toks: &[Token], open: usize) -> bool {
    let mut k = open;
    loop {
        let Some(name) = k.checked_sub(1) else { return false };
        if !is_name(&toks[name]) {
            return false;
        }
        match name.checked_sub(1).map(|p| &toks[p]) {
            Some(p) if p.is_punct('.') => k = name - 1,
            Some(p) => return p.is_word("references"),
            None => return false,
        }
    }
}

fn is_name(t: &Token) -> bool {
    matches!(t.tok, Tok::Word(_) | Tok::Quoted(_))
}

/// `a, b, …,` (names, each followed by a comma) or nothing: the part of a list before its last
/// element (with a key's `WITHOUT OVERLAPS` that element is the name before it; with `PERIOD`, the
/// list up to the comma before it).
fn plain_list(toks: &[Token]) -> bool {
    // A key's list: names and commas, ending on a name (its last column is the element before
    // WITHOUT OVERLAPS); a foreign key's: ending on the comma before PERIOD.
    toks.iter().enumerate().all(|(n, t)| if n % 2 == 0 { is_name(t) } else { t.is_punct(',') })
}

impl Temporal {
    /// Mark the one action sqlparser read from [`Temporal::masked`] temporal: `true` when it is
    /// the action the words belong to (a key of `WITHOUT OVERLAPS`, a foreign key of `PERIOD`).
    pub fn mark_action(&self, kind: &mut OpKind) -> bool {
        let OpKind::AddConstraint { kind, .. } = kind else { return false };
        match (kind, self.keys.as_slice(), self.foreign_keys.as_slice()) {
            (ConstraintKind::PrimaryKey(key), [(true, true)], [])
            | (ConstraintKind::Unique(key), [(false, true)], []) => {
                key.without_overlaps = true;
                // No recipe copies the list: its draft bytes hold the words.
                key.clauses = None;
                true
            }
            (ConstraintKind::ForeignKey { period, .. }, [], [true]) => {
                *period = true;
                true
            }
            _ => false,
        }
    }

    /// Mark the keys of the table sqlparser read from [`Temporal::masked`]: `false` when its keys
    /// are not the lists this reading found.
    pub fn mark_table(&self, kind: &mut OpKind) -> bool {
        let OpKind::CreateTable { def, .. } = kind else { return false };
        let primary: Vec<bool> = self.keys.iter().filter(|k| k.0).map(|k| k.1).collect();
        let unique: Vec<bool> = self.keys.iter().filter(|k| !k.0).map(|k| k.1).collect();
        // The table's own keys follow its columns' inline ones, in the order written.
        let Some(first) = def.unique.len().checked_sub(unique.len()) else { return false };
        if primary.len() > 1 || primary.len() == 1 && def.primary_key.is_none() {
            return false;
        }
        def.primary_key_without_overlaps = primary.first().copied().unwrap_or(false);
        for (u, temporal) in def.unique[first..].iter_mut().zip(unique) {
            u.without_overlaps = temporal;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::action::Action;
    use crate::ir::catalog::Catalog;
    use crate::ir::lock::LockMode;
    use crate::ir::lower::lower_statement;
    use crate::ir::name::Name;

    fn lower(sql: &str) -> Vec<crate::ir::op::Op> {
        lower_statement(sql, 0..sql.len())
    }

    #[test]
    fn an_action_lowers_to_its_key_marked_temporal_with_an_ordinary_key_s_locks() {
        let ops = lower("ALTER TABLE prices ADD CONSTRAINT prices_pk PRIMARY KEY (id, valid_at WITHOUT OVERLAPS)");
        let OpKind::AddConstraint { name, kind: ConstraintKind::PrimaryKey(key), not_valid: false, .. } = &ops[0].kind
        else {
            panic!("{ops:?}")
        };
        assert_eq!(name.as_deref(), Some("prices_pk"));
        assert_eq!(key.columns, [Some("id".to_string()), Some("valid_at".to_string())]);
        assert!(key.without_overlaps && key.clauses.is_none());
        assert_eq!((ops[0].locks[0].mode, ops[0].locks[0].scans), (LockMode::AccessExclusive, true));
        let ops = lower("ALTER TABLE prices ADD COLUMN note text, ADD UNIQUE (sku, valid_at WITHOUT OVERLAPS)");
        assert!(matches!(&ops[0].kind, OpKind::AddColumn { column, .. } if column == "note"));
        assert!(
            matches!(&ops[1].kind, OpKind::AddConstraint { kind: ConstraintKind::Unique(k), .. } if k.without_overlaps)
        );
        // A foreign key: SHARE ROW EXCLUSIVE on both tables, scanning unless NOT VALID.
        for (sql, scans) in [
            ("ALTER TABLE lines ADD CONSTRAINT lines_fk FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices (id, PERIOD valid_at)", true),
            ("ALTER TABLE lines ADD FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES app.prices NOT VALID", false),
        ] {
            let ops = lower(sql);
            let OpKind::AddConstraint { kind: ConstraintKind::ForeignKey { references, columns, period }, .. } =
                &ops[0].kind
            else {
                panic!("{ops:?}")
            };
            assert!(*period && columns == &["price_id", "valid_at"] && references.base() == "prices", "{sql}");
            let locks: Vec<_> = ops[0].locks.iter().map(|l| (l.table.base().to_string(), l.mode, l.scans)).collect();
            assert_eq!(
                locks,
                [
                    ("lines".into(), LockMode::ShareRowExclusive, scans),
                    ("prices".into(), LockMode::ShareRowExclusive, scans)
                ],
                "{sql}"
            );
        }
        // Words where the grammar does not put them, or on another kind of constraint: not
        // understood, as before.
        for sql in [
            "ALTER TABLE t ADD CONSTRAINT p PRIMARY KEY (id WITHOUT OVERLAPS, valid_at)",
            "ALTER TABLE t ADD EXCLUDE USING gist (id WITH =, r WITHOUT OVERLAPS)",
            "ALTER TABLE t ADD CONSTRAINT p PRIMARY KEY (id, r WITHOUT OVERLAPS) EXTRA WORDS",
        ] {
            let ops = lower(sql);
            assert!(matches!(&ops[0].kind, OpKind::AlterTable { action: Action::NotUnderstood, .. }), "{sql}: {ops:?}");
        }
    }

    #[test]
    fn a_new_table_lowers_to_its_columns_keys_and_their_indexes() {
        let sql = "CREATE TABLE bookings (id int, price_id int, valid_at tstzrange, note text UNIQUE, \
                   PRIMARY KEY (id, valid_at WITHOUT OVERLAPS), UNIQUE (note, id), \
                   CONSTRAINT by_price UNIQUE (price_id, valid_at WITHOUT OVERLAPS), \
                   FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices (id, PERIOD valid_at))";
        let ops = lower(sql);
        let OpKind::CreateTable { def, .. } = &ops[0].kind else { panic!("{ops:?}") };
        assert!(def.columns_known && def.primary_key_without_overlaps);
        let unique: Vec<_> = def.unique.iter().map(|u| (u.name.clone(), u.without_overlaps)).collect();
        assert_eq!(unique, [(None, false), (None, false), (Some("by_price".into()), true)]);
        assert_eq!(def.foreign_keys[0].columns, ["price_id", "valid_at"]);
        let locks: Vec<_> = ops[0].locks.iter().map(|l| (l.table.base().to_string(), l.mode)).collect();
        assert_eq!(locks, [("prices".into(), LockMode::ShareRowExclusive)]);
        // The catalogue: the key's columns NOT NULL, its index (a GiST index PostgreSQL counts an
        // exclusion constraint's: no REINDEX CONCURRENTLY), named as an ordinary key's.
        let cat = Catalog::from_sql(&format!("{sql};\n"));
        let t = cat.table(&Name::new("bookings")).unwrap();
        assert!(t.columns_known && t.primary_key == ["id", "valid_at"]);
        let nullable = |c: &str| cat.is_nullable(&Name::new("bookings"), c);
        assert_eq!(
            [nullable("id"), nullable("valid_at"), nullable("price_id")],
            [Some(false), Some(false), Some(true)]
        );
        let indexes: Vec<_> = cat
            .indexes_on(&Name::new("bookings"))
            .iter()
            .map(|ix| (ix.name.as_ref().unwrap().text.to_string(), ix.exclusion))
            .collect();
        assert_eq!(
            indexes,
            [
                ("bookings_pkey".into(), true),
                ("bookings_note_key".into(), false),
                ("bookings_note_id_key".into(), false),
                ("by_price".into(), true)
            ]
        );
        assert!(cat.exclusion_index(&Name::new("bookings_pkey")).is_some());
        assert_eq!(cat.foreign_keys().count(), 1);
        // ALTER TABLE too.
        let cat = Catalog::from_sql(
            "CREATE TABLE prices (id int, valid_at tstzrange);\n\
             ALTER TABLE prices ADD PRIMARY KEY (id, valid_at WITHOUT OVERLAPS);\n",
        );
        assert_eq!(cat.is_nullable(&Name::new("prices"), "valid_at"), Some(false));
        assert!(cat.exclusion_index(&Name::new("prices_pkey")).is_some());
    }

    fn masked(text: &str) -> Option<String> {
        read(text).map(|t| t.masked)
    }

    #[test]
    fn blanks_the_temporal_words_where_the_grammar_puts_them() {
        let t = read("ADD CONSTRAINT p PRIMARY KEY (id, valid_at WITHOUT OVERLAPS)").unwrap();
        assert_eq!(t.masked, "ADD CONSTRAINT p PRIMARY KEY (id, valid_at                 )");
        assert_eq!((t.keys, t.foreign_keys), (vec![(true, true)], vec![]));
        assert_eq!(
            masked("add unique nulls not distinct (\"Sku\", r without  overlaps)").as_deref(),
            Some("add unique nulls not distinct (\"Sku\", r                  )")
        );
        let t = read("ADD FOREIGN KEY (a, PERIOD r) REFERENCES s.p (b, period r) NOT VALID").unwrap();
        assert_eq!(t.masked, "ADD FOREIGN KEY (a,        r) REFERENCES s.p (b,        r) NOT VALID");
        assert_eq!((t.keys, t.foreign_keys), (vec![], vec![true]));
        // The referenced list may be left out (the referenced table's temporal primary key).
        assert!(read("ADD FOREIGN KEY (a, PERIOD r) REFERENCES p").is_some());
        let t = read(
            "CREATE TABLE b (id int, p int, r tstzrange, PRIMARY KEY (id, r WITHOUT OVERLAPS), UNIQUE (p, r), \
             UNIQUE (p, r WITHOUT OVERLAPS), FOREIGN KEY (p) REFERENCES q, FOREIGN KEY (p, PERIOD r) REFERENCES p)",
        )
        .unwrap();
        assert_eq!(t.keys, [(true, true), (false, false), (false, true)]);
        assert_eq!(t.foreign_keys, [false, true]);
    }

    #[test]
    fn leaves_other_forms_to_sqlparser() {
        for sql in [
            "ADD CONSTRAINT p PRIMARY KEY (id, valid_at)",
            // A column named `period`, or `overlaps` as an operator.
            "ADD FOREIGN KEY (a, period) REFERENCES p (b, period)",
            "ADD CONSTRAINT c CHECK ((a, b) OVERLAPS (c, d))",
            // Not where the grammar puts them.
            "ADD CONSTRAINT p PRIMARY KEY (id WITHOUT OVERLAPS, valid_at)",
            "ADD FOREIGN KEY (PERIOD a, b) REFERENCES p",
            "ADD EXCLUDE USING gist (id WITH =, r WITHOUT OVERLAPS)",
            "ADD CONSTRAINT p PRIMARY KEY (lower(a), r WITHOUT OVERLAPS)",
            "ADD CONSTRAINT p PRIMARY KEY (WITHOUT OVERLAPS)",
            "CREATE INDEX i ON t (a, period)",
        ] {
            assert_eq!(read(sql), None, "{sql}");
        }
    }
}
