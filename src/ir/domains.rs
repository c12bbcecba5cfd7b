//! Domains with a constraint. PostgreSQL checks a domain's `CHECK` and `NOT NULL` on every row of
//! a column added with that type, and does it by rewriting the table under ACCESS EXCLUSIVE, even
//! with no default (measured on PostgreSQL 15: 300k rows, a new relfilenode and 120 ms, against
//! 0.3 ms for a domain without constraints). Which domains have one is read at lowering, from
//! `CREATE DOMAIN` and `ALTER DOMAIN … ADD | SET NOT NULL`.

use crate::front::tokens::{Lexer, Token};
use rustc_hash::FxHashSet;

/// A type a statement creates (or changes) with a property (a constraint here, row values in
/// [`super::row_types`]): `name` (folded, by [`type_key`]) has it when `over` is `None`, and when
/// the type it is `over` has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeOver {
    pub name: String,
    pub over: Option<String>,
}

impl TypeOver {
    /// Does the type have the property, given the types that have it so far?
    pub fn constrained(&self, constrained: impl Fn(&str) -> bool) -> bool {
        self.over.as_deref().is_none_or(constrained)
    }

    /// Add it to `constrained`, the types that have the property so far, if it has it.
    pub fn record(&self, constrained: &mut FxHashSet<String>) {
        if self.constrained(|b| constrained.contains(b)) {
            constrained.insert(self.name.clone());
        }
    }
}

/// The domain `text`, one statement, constrains: `CREATE DOMAIN d … CHECK (…)` or `… NOT NULL`,
/// `ALTER DOMAIN d ADD …` or `ALTER DOMAIN d SET NOT NULL`; or creates over a type that is not
/// built in (another domain's constraints are its own too). A constraint dropped later is not
/// followed: a name here only makes pgsafe warn of a rewrite.
pub fn constrained_domain(text: &str) -> Option<TypeOver> {
    let mut lexer = Lexer::new(text);
    let head: Vec<Token<'_>> = lexer.by_ref().take(2).collect();
    let word = |toks: &[Token<'_>], k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_word(w));
    if !(word(&head, 1, "domain") && (word(&head, 0, "create") || word(&head, 0, "alter"))) {
        return None;
    }
    let rest: Vec<Token<'_>> = lexer.collect();
    let mut k = 0;
    if word(&rest, 0, "if") && word(&rest, 1, "exists") {
        k = 2;
    }
    let (name, end) = name_at(&rest, k)?;
    let after = &rest[end..];
    let not_null = after.windows(2).any(|p| p[0].is_word("not") && p[1].is_word("null"));
    if word(&head, 0, "alter") {
        let constrains = word(after, 0, "add") || (word(after, 0, "set") && not_null);
        return constrains.then_some(TypeOver { name, over: None });
    }
    if not_null || after.iter().any(|t| t.is_word("check")) {
        return Some(TypeOver { name, over: None });
    }
    let (base, _) = name_at(after, usize::from(word(after, 0, "as")))?;
    let built_in = crate::ir::catalog::SqlType::parse(&base).is_built_in();
    (!built_in).then_some(TypeOver { name, over: Some(base) })
}

/// The last part of the (possibly qualified) name starting at token `k`, lower-cased as
/// [`type_key`] reads a column's type, and where the tokens after it start.
pub(super) fn name_at(toks: &[Token<'_>], k: usize) -> Option<(String, usize)> {
    super::other_names::base_name_at(toks, k).map(|(name, end)| (name.to_lowercase(), end))
}

/// A type's name as [`constrained_domain`] keys it: its last part, lower-cased (`public."Pos"`
/// and `pos` alike: a type that merely shares a domain's name is warned about too).
pub fn type_key(type_text: &str) -> &str {
    let base = type_text.rsplit('.').next().unwrap_or(type_text);
    base.trim().trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::{constrained_domain, type_key};

    #[test]
    fn a_constraint_given_to_a_domain_is_read() {
        let own = |sql: &str| constrained_domain(sql).filter(|d| d.over.is_none()).map(|d| d.name);
        assert_eq!(own("CREATE DOMAIN pos AS int CHECK (VALUE > 0)").as_deref(), Some("pos"));
        assert_eq!(own("create domain app.\"Code\" text constraint c check (value <> '')").as_deref(), Some("code"));
        assert_eq!(own("CREATE DOMAIN n AS int NOT NULL DEFAULT 1").as_deref(), Some("n"));
        assert_eq!(own("ALTER DOMAIN pos ADD CONSTRAINT big CHECK (VALUE > 10) NOT VALID").as_deref(), Some("pos"));
        assert_eq!(own("ALTER DOMAIN public.pos SET NOT NULL").as_deref(), Some("pos"));
        // No constraint: the column is added in the catalogue alone.
        assert_eq!(constrained_domain("CREATE DOMAIN plain AS int"), None);
        assert_eq!(constrained_domain("CREATE DOMAIN d AS varchar(20) NULL DEFAULT 'x'"), None);
        assert_eq!(constrained_domain("ALTER DOMAIN pos DROP CONSTRAINT big"), None);
        assert_eq!(constrained_domain("ALTER DOMAIN pos DROP NOT NULL"), None);
        assert_eq!(constrained_domain("CREATE TABLE domain (a int CHECK (a > 0))"), None);
        // Over another domain: constrained when that one is (measured: a rewrite).
        let over = constrained_domain("CREATE DOMAIN strictly AS app.pos").unwrap();
        assert_eq!((over.name.as_str(), over.over.as_deref()), ("strictly", Some("pos")));
        assert!(over.constrained(|d| d == "pos") && !over.constrained(|_| false));
    }

    #[test]
    fn a_type_is_keyed_by_its_last_part() {
        assert_eq!(type_key("pos"), "pos");
        assert_eq!(type_key("app.pos"), "pos");
        assert_eq!(type_key("app.\"pos\""), "pos");
    }
}
