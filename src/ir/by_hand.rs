//! What the hand readers of `ALTER TABLE` ([`super::lower_alter::operation_by_hand`]) and
//! `CREATE TABLE` ([`super::lower_table::create_table_by_hand`]) share: a cursor over pgsafe's
//! tokens that builds sqlparser's own nodes, so the lowering that follows is the one sqlparser's
//! tree gets.
//!
//! A reader is sound only where it builds exactly the tree sqlparser would: it reads names, keys
//! and lists itself, and leaves a type or an expression to sqlparser, read alone. Each reader's
//! tests compare its trees with sqlparser's on every keyword in every name slot, every type and
//! what may follow it, generated statements, every draft and every fuzz input.

use crate::front::tokens::{Tok, Token};
use sqlparser::ast::{
    CheckConstraint, DataType, Expr, ForeignKeyConstraint, Ident, IndexColumn, KeyOrIndexDisplay, NullsDistinctOption,
    ObjectName, PrimaryKeyConstraint, ReferentialAction, UniqueConstraint,
};

/// The tokens of `text` when only blanks stand between them (no comment, no character the lexer
/// skips): what a reader reads is then all there is.
pub(super) fn plain_tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let toks = crate::front::tokens::lex(text);
    only_blanks_between(text, &toks).then_some(toks)
}

fn only_blanks_between(text: &str, toks: &[Token]) -> bool {
    let blank = |gap: &str| gap.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let mut end = 0;
    for t in toks {
        if !blank(&text[end..t.span.start]) {
            return false;
        }
        end = t.span.end;
    }
    blank(&text[end..])
}

/// Reads a statement's tokens in order.
pub(super) struct Cursor<'t, 'a> {
    pub text: &'a str,
    pub toks: &'t [Token<'a>],
    /// The next token.
    pub i: usize,
    /// The words sqlparser's grammar reads as keywords where this reader reads a name: a name
    /// spelled so is left to sqlparser.
    pub grammar: &'static [&'static str],
}

impl<'t, 'a> Cursor<'t, 'a> {
    pub fn new(text: &'a str, toks: &'t [Token<'a>], grammar: &'static [&'static str]) -> Self {
        Cursor { text, toks, i: 0, grammar }
    }

    /// Take the bare words `ws` (lower case) if they come next, all of them.
    pub fn words(&mut self, ws: &[&str]) -> bool {
        let next = self.toks.get(self.i..self.i + ws.len());
        let found = next.is_some_and(|t| t.iter().zip(ws).all(|(t, w)| t.is_word(w)));
        self.i += if found { ws.len() } else { 0 };
        found
    }

    /// Is `p` next? (Not taken.)
    pub fn punct(&self, p: char) -> bool {
        self.toks.get(self.i).is_some_and(|t| t.is_punct(p))
    }

    /// Where a clause ends, read from token `from`: at the first of the words `until` or the first
    /// `,` outside parentheses, at a `)` closing one opened before it, or at the end.
    fn clause_end(&self, from: usize, until: &[&str]) -> usize {
        let mut depth = 0i32;
        self.toks[from..]
            .iter()
            .position(|t| {
                depth += i32::from(t.is_punct('(')) - i32::from(t.is_punct(')'));
                depth < 0 || depth == 0 && (t.is_punct(',') || until.iter().any(|w| t.is_word(w)))
            })
            .map_or(self.toks.len(), |k| from + k)
    }

    /// Take a type: the tokens up to [`Cursor::clause_end`], as sqlparser reads them alone.
    pub fn data_type(&mut self, until: &[&str]) -> Option<DataType> {
        let end = self.clause_end(self.i, until);
        let data_type = crate::front::parse::parse_data_type(self.span(end)?)?;
        self.i = end;
        Some(data_type)
    }

    /// Take an expression up to [`Cursor::clause_end`], its first word always (`DEFAULT NULL`),
    /// as `read` reads it alone.
    pub fn expression<T>(&mut self, until: &[&str], read: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let first_word = self.toks.get(self.i).is_some_and(|t| matches!(t.tok, Tok::Word(_)));
        let end = self.clause_end(self.i + usize::from(first_word), until);
        let value = read(self.span(end)?)?;
        self.i = end;
        Some(value)
    }

    /// Take `( … )`, what is inside read as `read` reads it alone.
    pub fn parenthesized<T>(&mut self, read: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        if !self.punct('(') {
            return None;
        }
        let (close, _) = crate::front::tokens::skip_parens(self.toks, self.i)?;
        self.i += 1;
        let value = read(self.span(close)?)?;
        self.i = close + 1;
        Some(value)
    }

    /// Take the rest, as `read` reads it.
    pub fn rest<T>(&mut self, read: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let value = read(self.span(self.toks.len())?)?;
        self.i = self.toks.len();
        Some(value)
    }

    /// The text of the tokens from the next to `end` (not included), when at least one and all
    /// of them plain: words and names as [`Cursor::name`] takes them, literals, and the
    /// punctuation of types and simple expressions (nothing a placeholder is made of).
    fn span(&self, end: usize) -> Option<&'a str> {
        let toks = self.toks.get(self.i..end).filter(|t| !t.is_empty())?;
        let plain = |t: &Token| match &t.tok {
            Tok::Word(w) => w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            Tok::Quoted(_) | Tok::Literal => !self.text[t.span.clone()].starts_with('$'),
            Tok::Punct(p) => "()[],.+-*/<>=!|".contains(*p),
        };
        toks.iter().all(plain).then(|| &self.text[toks[0].span.start..toks[toks.len() - 1].span.end])
    }

    /// Take a name, or up to three joined by dots (a table).
    pub fn object_name(&mut self) -> Option<ObjectName> {
        let mut parts = Vec::with_capacity(3);
        parts.push(self.name()?);
        while parts.len() < 3 && self.punct('.') {
            self.i += 1;
            parts.push(self.name()?);
        }
        Some(ObjectName::from(parts))
    }

    /// Take `(a, b, …)`: one name or more, each as `item` takes it.
    pub fn list(&mut self, item: fn(&mut Self) -> Option<Ident>) -> Option<Vec<Ident>> {
        let mut names = Vec::new();
        let mut next = self.punct('(');
        if !next {
            return None;
        }
        while next {
            self.i += 1;
            names.push(item(self)?);
            next = self.punct(',');
        }
        self.punct(')').then(|| self.i += 1)?;
        Some(names)
    }

    /// Take `t [(b, …)] [ON DELETE …] [ON UPDATE …]`, after `REFERENCES`: a foreign key of
    /// `columns` (none for a column's own `REFERENCES`).
    pub fn references(&mut self, name: Option<Ident>, columns: Vec<Ident>) -> Option<ForeignKeyConstraint> {
        let foreign_table = self.object_name()?;
        let referred_columns = if self.punct('(') { self.list(Cursor::name)? } else { Vec::new() };
        let (mut on_delete, mut on_update) = (None, None);
        loop {
            if on_delete.is_none() && self.words(&["on", "delete"]) {
                on_delete = Some(self.referential_action()?);
            } else if on_update.is_none() && self.words(&["on", "update"]) {
                on_update = Some(self.referential_action()?);
            } else {
                break;
            }
        }
        Some(ForeignKeyConstraint {
            name,
            index_name: None,
            columns,
            foreign_table,
            referred_columns,
            on_delete,
            on_update,
            match_kind: None,
            characteristics: None,
        })
    }

    /// Take what `ON DELETE` or `ON UPDATE` does.
    fn referential_action(&mut self) -> Option<ReferentialAction> {
        let actions = [
            (&["restrict"][..], ReferentialAction::Restrict),
            (&["cascade"], ReferentialAction::Cascade),
            (&["set", "null"], ReferentialAction::SetNull),
            (&["no", "action"], ReferentialAction::NoAction),
            (&["set", "default"], ReferentialAction::SetDefault),
        ];
        actions.into_iter().find(|(words, _)| self.words(words)).map(|(_, action)| action)
    }

    /// Take a key's columns, `(a, b, …)`, each as [`Cursor::column`] takes it.
    pub fn key_columns(&mut self) -> Option<Vec<IndexColumn>> {
        Some(self.list(Cursor::column)?.into_iter().map(IndexColumn::from).collect())
    }

    /// Take a name where sqlparser reads an expression (a key's column): none of the keywords it
    /// reads as a value there (`current_date` is a call, `true` a value).
    pub fn column(&mut self) -> Option<Ident> {
        const VALUES: &[&str] = &[
            "current_catalog",
            "current_date",
            "current_time",
            "current_timestamp",
            "current_user",
            "exists",
            "false",
            "localtime",
            "localtimestamp",
            "null",
            "session_user",
            "trim",
            "true",
            "user",
        ];
        let ident = self.name()?;
        (ident.quote_style.is_some() || !VALUES.iter().any(|v| ident.value.eq_ignore_ascii_case(v))).then_some(ident)
    }

    /// Take a name as sqlparser keeps it: a bare word as written, a quoted one unescaped.
    pub fn name(&mut self) -> Option<Ident> {
        let t = self.toks.get(self.i)?;
        let raw = &self.text[t.span.clone()];
        let ident = match &t.tok {
            Tok::Word(w) => {
                let plain = w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                let grammar = self.grammar.iter().any(|g| w.eq_ignore_ascii_case(g));
                (plain && !grammar).then(|| Ident::new(*w))?
            }
            // Closed, and not empty (PostgreSQL refuses `""`).
            Tok::Quoted(q) if !q.is_empty() && raw == format!("\"{}\"", q.replace('"', "\"\"")) => {
                Ident::with_quote('"', q.as_str())
            }
            _ => return None,
        };
        self.i += 1;
        Some(ident)
    }
}

/// `PRIMARY KEY` as sqlparser reads it: of `columns` in a list of keys, of none after a column.
pub(super) fn primary_key(name: Option<Ident>, columns: Vec<IndexColumn>) -> PrimaryKeyConstraint {
    PrimaryKeyConstraint {
        name,
        index_name: None,
        index_type: None,
        columns,
        include: Vec::new(),
        index_options: Vec::new(),
        characteristics: None,
    }
}

/// `UNIQUE` as sqlparser reads it (see [`primary_key`]).
pub(super) fn unique(name: Option<Ident>, columns: Vec<IndexColumn>) -> UniqueConstraint {
    UniqueConstraint {
        name,
        index_name: None,
        index_type_display: KeyOrIndexDisplay::None,
        index_type: None,
        columns,
        include: Vec::new(),
        index_options: Vec::new(),
        characteristics: None,
        nulls_distinct: NullsDistinctOption::None,
    }
}

/// `CHECK (expr)` as sqlparser reads it.
pub(super) fn check(name: Option<Ident>, expr: Expr) -> CheckConstraint {
    CheckConstraint { name, expr: Box::new(expr), no_inherit: false, enforced: None }
}

/// Types and what may follow them, and the checks both readers' tests run on them.
#[cfg(test)]
pub(super) mod samples {
    use crate::front::parse::parse;
    use sqlparser::ast::Statement;

    /// The soundness of a reader: where it reads a tree of `sql` (`by_hand`), sqlparser reads the
    /// same one (`tree` takes it from sqlparser's statement). `Ok(false)` when it reads none.
    pub fn same_tree<T: PartialEq + std::fmt::Debug>(
        sql: &str,
        by_hand: Option<T>,
        tree: impl FnOnce(Statement) -> Option<T>,
    ) -> Result<bool, String> {
        let Some(by_hand) = by_hand else { return Ok(false) };
        let parsed = parse(sql).map(tree);
        match parsed {
            Ok(Some(t)) if t == by_hand => Ok(true),
            other => Err(format!("{sql}\nby hand: {by_hand:?}\nsqlparser: {other:?}")),
        }
    }
    /// Every sqlparser keyword, in both letter cases, where each form has `{}`: `agrees` (a
    /// reader's tree is sqlparser's, or it reads none) holds on all of them, and most are read.
    pub fn every_keyword_in(forms: &[&str], agrees: impl Fn(&str) -> Result<bool, String>) {
        let mut failed = Vec::new();
        let mut by_hand = 0;
        for form in forms {
            for word in sqlparser::keywords::ALL_KEYWORDS.iter().flat_map(|k| [k.to_string(), k.to_lowercase()]) {
                match agrees(&form.replace("{}", &word)) {
                    Ok(read) => by_hand += usize::from(read),
                    Err(e) => failed.push(e),
                }
            }
        }
        assert!(failed.is_empty(), "{} disagreements:\n{}", failed.len(), failed.join("\n"));
        // Most keywords are names there (`public`, `name`, `user`…), read by hand.
        assert!(by_hand > forms.len() * sqlparser::keywords::ALL_KEYWORDS.len(), "{by_hand}");
    }

    /// Every one of [`TYPES`] followed by every one of [`AFTER_TYPES`] where each form has `{}`.
    pub fn every_type_in(forms: &[&str], agrees: impl Fn(&str) -> Result<bool, String>) {
        let mut by_hand = 0;
        for ty in TYPES {
            for after in AFTER_TYPES {
                for form in forms {
                    let sql = form.replace("{}", &format!("{ty}{after}"));
                    by_hand += usize::from(agrees(&sql).unwrap_or_else(|e| panic!("{e}")));
                }
            }
        }
        assert!(by_hand > TYPES.len() * 20, "{by_hand}");
    }

    /// Types, in `ADD COLUMN`, `ALTER COLUMN … TYPE` and a table's columns.
    pub const TYPES: &[&str] = &[
        "int",
        "integer",
        "bigint",
        "smallint",
        "int8",
        "text",
        "varchar",
        "varchar(255)",
        "character varying(10)",
        "char(2)",
        "numeric",
        "numeric(10,2)",
        "decimal(5)",
        "double precision",
        "real",
        "float8",
        "money",
        "timestamp",
        "timestamptz",
        "timestamp with time zone",
        "timestamp(3) without time zone",
        "time",
        "time with time zone",
        "interval",
        "interval day to second",
        "date",
        "boolean",
        "bool",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "int[]",
        "text[][]",
        "integer ARRAY",
        "serial",
        "bigserial",
        "inet",
        "citext",
        "xml",
        "bit(3)",
        "bit varying(5)",
        "tsvector",
        "public.my_type",
        "\"MyType\"",
        "geometry(Point, 4326)",
        "NATIONAL CHARACTER(3)",
        "key (a)",
        "a b c",
        "(int)",
        "int (",
        "setof int",
    ];
    /// What may follow a type in a column's definition.
    pub const AFTER_TYPES: &[&str] = &[
        "",
        " NOT NULL",
        " NULL",
        " NULL NOT NULL",
        " DEFAULT 0",
        " NOT NULL DEFAULT now()",
        " DEFAULT 'x'",
        " DEFAULT -1.5",
        " DEFAULT true",
        " DEFAULT NULL",
        " NOT NULL DEFAULT gen_random_uuid()",
        " DEFAULT now() NOT NULL",
        " DEFAULT current_timestamp",
        " DEFAULT 'a'::text",
        " DEFAULT (1 + 2)",
        " DEFAULT random() * 10",
        " DEFAULT ARRAY[]::text[]",
        " DEFAULT '{}'",
        " COLLATE \"C\"",
        " CHECK (x > 0)",
        " REFERENCES p (id)",
        " UNIQUE",
        " PRIMARY KEY",
        " GENERATED ALWAYS AS (1) STORED",
        " DEFAULT f(1, 'a')",
        " DEFAULT nextval('s')",
        " DEFAULT E'\\n'",
        " DEFAULT $$x$$",
        " DEFAULT :v",
        " DEFAULT a.b",
        " USING a",
        " DEFAULT (SELECT 1)",
        " DEFAULT CASE WHEN true THEN 1 END",
        " DEFAULT 1 DEFAULT 2",
        " NOT NULL NOT NULL",
        " DEFAULT",
        " CONSTRAINT n NOT NULL",
        " DEFAULT - - 1",
        " DEFAULT interval '1 day'",
        " DEFAULT x NOT NULL",
    ];
}
