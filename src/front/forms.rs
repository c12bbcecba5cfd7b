//! Byte spans of the lock-relevant statement forms (see `grammar/forms.pest`).

use super::tokens::{Lexer, Tok};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;
use std::ops::Range;

#[derive(Parser)]
#[grammar = "../grammar/forms.pest"]
struct FormsParser;

/// `CREATE INDEX` as written: spans are relative to the statement body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateIndexForm {
    pub unique: bool,
    pub concurrently: bool,
    pub if_not_exists: bool,
    pub name: Option<String>,
    pub only: bool,
    pub table: String,
    /// Offset just after the table name.
    pub table_end: usize,
    /// Offset just after the `INDEX` keyword.
    pub after_index_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIndexForm {
    pub concurrently: bool,
    pub if_exists: bool,
    pub names: Vec<String>,
    pub cascade: bool,
    pub after_index_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReindexForm {
    pub target: String,
    pub concurrently: bool,
    pub name: String,
    /// Offset just after the target keyword (`INDEX`, `TABLE`, …), where `CONCURRENTLY` goes.
    pub after_target_kw: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterTableForm {
    pub table: String,
    /// Each comma-separated action, trimmed of surrounding whitespace.
    pub actions: Vec<Range<usize>>,
}

fn parse(rule: Rule, body: &str) -> Option<Pair<'_, Rule>> {
    FormsParser::parse(rule, body).ok()?.next()
}

/// The length of the (possibly qualified, possibly templated) name at the start of `text`.
pub fn name_len(text: &str) -> Option<usize> {
    Some(parse(Rule::name, text)?.as_span().end())
}

pub fn create_index(body: &str) -> Option<CreateIndexForm> {
    let mut form = CreateIndexForm {
        unique: false,
        concurrently: false,
        if_not_exists: false,
        name: None,
        only: false,
        table: String::new(),
        table_end: 0,
        after_index_kw: 0,
    };
    for p in parse(Rule::create_index, body)?.into_inner() {
        match p.as_rule() {
            Rule::k_unique => form.unique = true,
            Rule::k_index => form.after_index_kw = p.as_span().end(),
            Rule::k_concurrently => form.concurrently = true,
            Rule::if_not_exists => form.if_not_exists = true,
            Rule::index_name => form.name = Some(p.as_str().to_string()),
            Rule::k_only => form.only = true,
            Rule::table_name => {
                form.table = p.as_str().to_string();
                form.table_end = p.as_span().end();
            }
            _ => {}
        }
    }
    Some(form)
}

pub fn drop_index(body: &str) -> Option<DropIndexForm> {
    let mut form =
        DropIndexForm { concurrently: false, if_exists: false, names: Vec::new(), cascade: false, after_index_kw: 0 };
    for p in parse(Rule::drop_index, body)?.into_inner() {
        match p.as_rule() {
            Rule::k_index => form.after_index_kw = p.as_span().end(),
            Rule::k_concurrently => form.concurrently = true,
            Rule::if_exists => form.if_exists = true,
            Rule::dropped => form.names.push(p.as_str().to_string()),
            Rule::k_cascade => form.cascade = true,
            _ => {}
        }
    }
    Some(form)
}

pub fn reindex(body: &str) -> Option<ReindexForm> {
    let mut form = ReindexForm { target: String::new(), concurrently: false, name: String::new(), after_target_kw: 0 };
    for p in parse(Rule::reindex, body)?.into_inner() {
        match p.as_rule() {
            Rule::reindex_target => {
                form.target = p.as_str().to_uppercase();
                form.after_target_kw = p.as_span().end();
            }
            Rule::k_concurrently => form.concurrently = true,
            Rule::name => form.name = p.as_str().to_string(),
            _ => {}
        }
    }
    Some(form)
}

pub fn alter_table(body: &str) -> Option<AlterTableForm> {
    let head = parse(Rule::alter_table, body)?;
    let head_end = head.as_span().end();
    let table = head.into_inner().find(|p| p.as_rule() == Rule::table_name)?.as_str().to_string();
    // Actions: from their first token to their last, cut at commas outside parentheses and
    // brackets (`ARRAY['a', 'b']`). Comments around an action stay outside its span, so text
    // appended to it stays live.
    let mut actions = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut depth = 0i32;
    for t in Lexer::new(&body[head_end..]) {
        let span = head_end + t.span.start..head_end + t.span.end;
        match t.tok {
            Tok::Punct(',') if depth == 0 => actions.push(current.take()?),
            _ => {
                if t.is_punct('(') || t.is_punct('[') {
                    depth += 1;
                } else if t.is_punct(')') || t.is_punct(']') {
                    depth -= 1;
                }
                current = Some(current.map_or(span.clone(), |c| c.start..span.end));
            }
        }
    }
    actions.push(current?);
    Some(AlterTableForm { table, actions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_index_forms_sqlparser_lacks() {
        let body = "create unique index if not exists \"Idx\" on only {{ .Schema }}.orders (a)";
        let f = create_index(body).unwrap();
        assert!(f.unique && f.if_not_exists && f.only && !f.concurrently);
        assert_eq!(f.name.as_deref(), Some("\"Idx\""));
        assert_eq!(f.table, "{{ .Schema }}.orders");
        assert_eq!(&body[..f.after_index_kw], "create unique index");
    }

    #[test]
    fn create_index_without_name() {
        let f = create_index("CREATE INDEX ON orders USING btree (a) WHERE b > 0").unwrap();
        assert_eq!(f.name, None);
        assert_eq!(f.table, "orders");
    }

    #[test]
    fn drop_index_lists_names() {
        let f = drop_index("DROP INDEX CONCURRENTLY IF EXISTS public.a , b CASCADE").unwrap();
        assert!(f.concurrently && f.if_exists && f.cascade);
        assert_eq!(f.names, vec!["public.a", "b"]);
    }

    #[test]
    fn reindex_target_position() {
        let body = "REINDEX (VERBOSE) TABLE orders";
        let f = reindex(body).unwrap();
        assert_eq!(f.target, "TABLE");
        assert_eq!(&body[..f.after_target_kw], "REINDEX (VERBOSE) TABLE");
        assert!(reindex("REINDEX INDEX CONCURRENTLY i").unwrap().concurrently);
    }

    #[test]
    fn alter_table_actions_split_at_top_level_commas() {
        let body = "ALTER TABLE ONLY \"Orders\"\n  ADD COLUMN a numeric(10, 2) DEFAULT 'x,y',\n  ADD CONSTRAINT c CHECK (a IN (1, 2)) -- note, here\n";
        let f = alter_table(body).unwrap();
        assert_eq!(f.table, "\"Orders\"");
        let texts: Vec<&str> = f.actions.iter().map(|r| &body[r.clone()]).collect();
        assert_eq!(texts, vec!["ADD COLUMN a numeric(10, 2) DEFAULT 'x,y'", "ADD CONSTRAINT c CHECK (a IN (1, 2))"]);
        let body = "ALTER TABLE t ADD COLUMN g text[] DEFAULT ARRAY['a', 'b'], DROP COLUMN h";
        let f = alter_table(body).unwrap();
        let texts: Vec<&str> = f.actions.iter().map(|r| &body[r.clone()]).collect();
        assert_eq!(texts, vec!["ADD COLUMN g text[] DEFAULT ARRAY['a', 'b']", "DROP COLUMN h"]);
    }
}
