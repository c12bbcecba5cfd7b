//! Relation names as the draft wrote them, with a key that compares the way PostgreSQL does.

use rustc_hash::FxHashMap as HashMap;
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A possibly schema-qualified name. `text` is the draft's spelling (placeholders included), so
/// generated statements can reuse it verbatim; `key` folds unquoted parts to lower case. A name
/// is one pointer to its shared parts: it is copied into every lock, unit, step and catalogue
/// entry that mentions it, and a copy is then one reference count in 8 bytes (the parts inline
/// made every lock 48 bytes and every op larger).
#[derive(Clone, PartialEq, Eq)]
pub struct Name(Arc<NameParts>);

/// What a [`Name`] points to (its fields read through the name: `name.text`, `name.key`).
#[derive(PartialEq, Eq)]
pub struct NameParts {
    pub text: Arc<str>,
    pub key: Arc<str>,
    /// Where the base name starts in `key` (after the schema), computed once: names are compared
    /// on every statement of a draft, so `base()` must be a slice, not a search.
    base_at: usize,
}

impl Deref for Name {
    type Target = NameParts;

    fn deref(&self) -> &NameParts {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Name")
            .field("text", &self.text)
            .field("key", &self.key)
            .field("base_at", &self.base_at)
            .finish()
    }
}

/// As the draft wrote it: `{"text": …}`.
impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut name = serializer.serialize_struct("Name", 1)?;
        name.serialize_field("text", &self.text)?;
        name.end()
    }
}

/// How many names each thread keeps for [`Name::new`] to hand out again (then it starts over):
/// a draft names the same tables statement after statement (170k names, 60k of them distinct,
/// in a generated draft of 100k statements).
const RECENT_NAMES: usize = 4096;

thread_local! {
    /// The names this thread made last, by text.
    static RECENT: RefCell<HashMap<Arc<str>, Name>> = RefCell::new(HashMap::default());
}

impl Name {
    /// The name written `text`: one this thread made recently when it has the same text (a copy
    /// is a reference count), else a new one.
    pub fn new(text: &str) -> Name {
        let text = text.trim();
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            if let Some(name) = recent.get(text) {
                return name.clone();
            }
            let name = Name::made(text);
            if recent.len() >= RECENT_NAMES {
                recent.clear();
            }
            recent.insert(name.text.clone(), name.clone());
            name
        })
    }

    fn made(text: &str) -> Name {
        let key = fold(text);
        // The base starts after the last dot outside quotes (`"my.table"` is one name).
        let base_at = last_unquoted_dot(text).map_or(0, |dot| key.len() - fold(&text[dot + 1..]).len());
        let text: Arc<str> = text.into();
        // Most names are written in lower case and unquoted: their key is their text, held once.
        let key = if *key == *text { text.clone() } else { key.into() };
        Name(Arc::new(NameParts { text, key, base_at }))
    }

    /// The last part of the key (the relation name without schema).
    pub fn base(&self) -> &str {
        &self.key[self.base_at..]
    }

    /// Same relation? Qualified names compare fully; an unqualified name matches on its base, since
    /// pgsafe does not know the `search_path` a migration will run with.
    pub fn same(&self, other: &Name) -> bool {
        if self.base_at > 0 && other.base_at > 0 {
            self.key == other.key
        } else {
            self.base() == other.base()
        }
    }

    /// The base name as written (quotes kept), without its schema.
    pub fn base_text(&self) -> &str {
        last_unquoted_dot(&self.text).map_or(&self.text, |dot| self.text[dot + 1..].trim_start())
    }

    /// The unquoted base name, for building object names the way PostgreSQL does.
    pub fn base_unquoted(&self) -> String {
        self.base().to_string()
    }
}

/// The key of `text` as a name (what [`Name::new`]'s `key` holds), without building the name.
pub fn key_of(text: &str) -> String {
    fold(text.trim())
}

/// The byte offset in `text` of its last dot outside double quotes: where a qualified name's
/// base name begins.
fn last_unquoted_dot(text: &str) -> Option<usize> {
    let (mut quoted, mut last) = (false, None);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => last = Some(i),
            _ => {}
        }
    }
    last
}

/// Fold a name the way PostgreSQL does: unquoted parts to lower case, quoted parts kept (with `""`
/// unescaped), whitespace around dots dropped.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(q) = chars.next() {
                    if q == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            out.push('"');
                        } else {
                            break;
                        }
                    } else {
                        out.push(q);
                    }
                }
            }
            c if c.is_whitespace() => {}
            // Names are folded for every statement of a draft, and most are ASCII: a plain
            // byte fold there, the full Unicode one only where it is needed.
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Quote an identifier for generated SQL only when PostgreSQL would need it.
pub fn quote_ident(ident: &str) -> String {
    let plain = ident.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !is_reserved(ident);
    if plain {
        ident.to_string()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "all"
            | "analyse"
            | "analyze"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "asymmetric"
            | "both"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "current_date"
            | "current_role"
            | "current_time"
            | "current_timestamp"
            | "current_user"
            | "default"
            | "deferrable"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "fetch"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "initially"
            | "intersect"
            | "into"
            | "lateral"
            | "leading"
            | "limit"
            | "localtime"
            | "localtimestamp"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "placing"
            | "primary"
            | "references"
            | "returning"
            | "select"
            | "session_user"
            | "some"
            | "symmetric"
            | "table"
            | "then"
            | "to"
            | "trailing"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "variadic"
            | "when"
            | "where"
            | "window"
            | "with"
    )
}

/// PostgreSQL's `n`-th choice of a name for `name1_name2_label` (`ChooseRelationName`): the
/// number goes on the label before the names are cut to 63 bytes (`t_pkey`, `t_pkey1`, …).
pub fn nth_choice([name1, name2, label]: [&str; 3], n: usize) -> String {
    match n {
        0 => make_object_name(name1, name2, label),
        n => make_object_name(name1, name2, &format!("{label}{n}")),
    }
}

/// The parts PostgreSQL names an unnamed primary key or unique constraint of `table` from
/// (`<table>_pkey`, `<table>_<columns>_key`): `None` for any other constraint, or a named one.
pub fn unnamed_key_parts(table: &Name, name: Option<&str>, kind: &super::op::ConstraintKind) -> Option<[String; 3]> {
    use super::op::ConstraintKind;
    match kind {
        _ if name.is_some() => None,
        ConstraintKind::PrimaryKey(key) => Some(key_parts(table, true, &key.columns, &key.include)),
        ConstraintKind::Unique(key) => Some(key_parts(table, false, &key.columns, &key.include)),
        _ => None,
    }
}

/// The parts of an unnamed key's name: `<table>_pkey`, or `<table>_<columns>_key` over the key's
/// columns and then its `INCLUDE` columns, a name met before numbered (`UNIQUE (a) INCLUDE (a)`
/// is `t_a_a1_key`, measured on PostgreSQL 15); an expression counts as `expr`.
pub fn key_parts(table: &Name, primary: bool, columns: &[Option<String>], include: &[String]) -> [String; 3] {
    if primary {
        return [table.base_unquoted(), String::new(), "pkey".into()];
    }
    let columns = columns.iter().map(|c| c.as_deref().unwrap_or("expr")).chain(include.iter().map(String::as_str));
    [table.base_unquoted(), index_column_names(columns), "key".into()]
}

/// The parts of an unnamed exclusion constraint's name, `<table>_<elements>_excl`.
pub fn exclusion_parts(table: &Name, elements: &[String]) -> [String; 3] {
    [table.base_unquoted(), index_column_names(elements.iter().map(String::as_str)), "excl".into()]
}

/// What PostgreSQL names an index after, from what each of its columns is named after: a name
/// met before gets the first number that makes it new (`ChooseIndexColumnNames`: `(room WITH =,
/// room WITH <>)` is `t_room_room1_excl`), joined by `_`.
fn index_column_names<'a>(elements: impl Iterator<Item = &'a str>) -> String {
    const NAMEDATALEN_MAX: usize = 63;
    let mut chosen: Vec<String> = Vec::new();
    for original in elements {
        let clip = |len: usize| {
            let mut n = original.len().min(len);
            while !original.is_char_boundary(n) {
                n -= 1;
            }
            &original[..n]
        };
        let mut name = clip(NAMEDATALEN_MAX).to_string();
        let mut n = 1;
        while chosen.contains(&name) {
            let suffix = n.to_string();
            name = format!("{}{suffix}", clip(NAMEDATALEN_MAX - suffix.len()));
            n += 1;
        }
        chosen.push(name);
    }
    chosen.join("_")
}

/// Is `index` named as PostgreSQL names an unnamed exclusion constraint's index
/// (`…_excl`, or `…_excl1`, `…_excl2` where that name was taken)?
pub fn named_like_an_exclusion(index: &Name) -> bool {
    let base = index.base_unquoted();
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit());
    base.len() > "_excl".len() && base.ends_with("_excl")
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, truncated to 63 bytes by shortening the
/// longer of the two names first, so generated constraint names match what the server would pick.
pub fn make_object_name(name1: &str, name2: &str, label: &str) -> String {
    const NAMEDATALEN_MAX: usize = 63;
    let overhead = label.len() + 1 + if name2.is_empty() { 0 } else { 1 };
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > NAMEDATALEN_MAX.saturating_sub(overhead) {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    fn cut(s: &str, mut n: usize) -> &str {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        &s[..n]
    }
    let mut out = String::with_capacity(n1 + n2 + overhead);
    out.push_str(cut(name1, n1));
    if !name2.is_empty() {
        out.push('_');
        out.push_str(cut(name2, n2));
    }
    out.push('_');
    out.push_str(label);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_indexes_are_named_as_postgres_names_them() {
        // Measured on PostgreSQL 15: `EXCLUDE USING gist (slot WITH &&, (int4range(id, id + 1))
        // WITH &&, slot WITH &&)` on rooms is rooms_slot_int4range_slot1_excl.
        let names = ["slot", "int4range", "slot"].map(String::from);
        assert_eq!(exclusion_parts(&Name::new("public.rooms"), &names), ["rooms", "slot_int4range_slot1", "excl"]);
        let long = "c".repeat(70);
        let [_, elements, _] = exclusion_parts(&Name::new("t"), &[long.clone(), long]);
        assert_eq!(elements, format!("{}_{}1", "c".repeat(63), "c".repeat(62)));
        for (name, like) in [("bookings_slot_excl", true), ("b_a_excl12", true), ("\"T_x_excl\"", true)] {
            assert_eq!(named_like_an_exclusion(&Name::new(name)), like, "{name}");
        }
        for name in ["_excl", "bookings_slot_idx", "excl", "bookings_exclusive"] {
            assert!(!named_like_an_exclusion(&Name::new(name)), "{name}");
        }
    }

    #[test]
    fn folds_like_postgres() {
        assert_eq!(&*Name::new("Public.Orders").key, "public.orders");
        assert_eq!(&*Name::new("\"Mixed\".\"Ca\"\"se\"").key, "Mixed.Ca\"se");
        assert!(Name::new("orders").same(&Name::new("public.ORDERS")));
        assert!(!Name::new("a.orders").same(&Name::new("b.orders")));
        // A dot inside quotes is part of the name: its base is all of it.
        assert_eq!(Name::new("\"my.table\"").base(), "my.table");
        assert_eq!(Name::new("app . \"my.table\"").base(), "my.table");
        assert_eq!(Name::new("\"a.b\".t").base(), "t");
    }

    #[test]
    fn a_name_written_again_shares_its_parts() {
        let (a, b) = (Name::new("public.orders"), Name::new(" public.orders "));
        assert!(std::ptr::eq(&*a, &*b), "the same text makes one name");
        // Past the cache's bound it starts over: names stay equal by value.
        for k in 0..=RECENT_NAMES {
            Name::new(&format!("t{k}"));
        }
        let c = Name::new("public.orders");
        assert_eq!((c == a, c.key.as_ref(), c.base()), (true, "public.orders", "orders"));
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("user"), "\"user\"");
    }

    #[test]
    fn object_names_truncate_like_postgres() {
        assert_eq!(make_object_name("orders", "user_id", "fkey"), "orders_user_id_fkey");
        let long = "a".repeat(40);
        let name = make_object_name(&long, &"b".repeat(40), "fkey");
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_{}_fkey", "a".repeat(29), "b".repeat(28)));
    }
}
