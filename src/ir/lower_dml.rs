//! Lowering of `UPDATE` and `DELETE`: sqlparser says what each clause means, the statement's
//! tokens say where it is, so a rewrite can reuse the draft's own text of the target, the `SET`
//! list and the `WHERE` condition.

use super::lower_expr::{self, ident_key, Locations};
use super::name::Name;
use super::op::{Assignment, Dml, OpKind};
use crate::front::forms;
use crate::front::mask::has_psql_variables;
use crate::front::tokens::{lex, Tok, Token};
use sqlparser::ast::{AssignmentTarget, FromTable, Statement, TableFactor, TableWithJoins, UpdateTableFromKind};
use std::ops::Range;

/// Lower `src[body]`, which sqlparser read as `ast`; `None` when it is not a plain `UPDATE` or
/// `DELETE` on one table whose clauses the tokens agree on (then it stays an opaque write).
pub fn lower(src: &str, body: Range<usize>, ast: &Statement) -> Option<OpKind> {
    let text = &src[body.clone()];
    let base = body.start;
    let toks = lex(text);
    let top = top_level(&toks);
    let loc = Locations::new(text, base);
    let span = |r: Range<usize>| base + r.start..base + r.end;
    // The first top-level keyword `w` at or after token `from` (not the FROM of IS DISTINCT FROM).
    let find = |w: &str, from: usize| {
        top.iter()
            .copied()
            .find(|&k| k >= from && toks[k].is_word(w) && !(w == "from" && k > 0 && toks[k - 1].is_word("distinct")))
    };
    // From keyword `k` to the last token before keyword `next` (or the end).
    let clause = |k: usize, next: Option<usize>| {
        let last = next.map_or(toks.len(), |n| n) - 1;
        base + toks[k].span.start..base + toks[last.max(k)].span.end
    };
    let psql_variables = has_psql_variables(text);
    match ast {
        Statement::Update(u) => {
            if u.from.as_ref().is_some_and(|f| matches!(f, UpdateTableFromKind::BeforeSet(_))) {
                return None;
            }
            let set = find("set", 1)?;
            let alias = target(&u.table)?;
            let from = if u.from.is_some() { Some(find("from", set)?) } else { None };
            let where_ = if u.selection.is_some() { Some(find("where", set)?) } else { None };
            let returning = if u.returning.is_some() { Some(find("returning", set)?) } else { None };
            let list_end =
                [from, where_, returning].into_iter().flatten().min().map_or(text.len(), |k| toks[k].span.start);
            let pieces = cut(&toks, &top, set + 1, list_end);
            if pieces.len() != u.assignments.len() {
                return None;
            }
            let mut assignments = Vec::with_capacity(pieces.len());
            for ((first, last), a) in pieces.iter().zip(&u.assignments) {
                let eq = (*first..=*last).find(|&k| toks[k].is_punct('=') && depth_at(&toks, *first, k) == 0)?;
                let value_toks = toks.get(eq + 1..=*last)?;
                let value_span = value_toks.first()?.span.start..value_toks.last()?.span.end;
                let (columns, part) = match &a.target {
                    AssignmentTarget::ColumnName(n) => {
                        let parts: Vec<_> = n.0.iter().filter_map(|p| p.as_ident()).collect();
                        (vec![ident_key(parts.first()?)], parts.len() > 1 || eq > first + 1)
                    }
                    AssignmentTarget::Tuple(list) => (
                        list.iter().filter_map(|n| n.0.first().and_then(|p| p.as_ident()).map(ident_key)).collect(),
                        false,
                    ),
                };
                assignments.push(Assignment {
                    columns,
                    part,
                    value: lower_expr::lower(&a.value, span(value_span), &loc),
                });
            }
            let set_list = span(toks.get(set + 1)?.span.start..toks[pieces.last()?.1].span.end);
            Some(OpKind::Update(Box::new(Dml {
                table: table_name(text, &toks, 1)?,
                alias,
                target: span(toks[1].span.start..toks[set - 1].span.end),
                set_list,
                assignments,
                joined: from.map(|k| clause(k, where_.or(returning))),
                filter: filter(u.selection.as_ref(), where_, returning, &toks, &loc, base),
                returning: returning.map(|k| clause(k, None)),
                psql_variables,
            })))
        }
        Statement::Delete(d) => {
            let from_kw = find("from", 1)?;
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) => t,
                FromTable::WithoutKeyword(_) => return None,
            };
            let [t] = tables.as_slice() else { return None };
            if !d.tables.is_empty() {
                return None;
            }
            let alias = target(t)?;
            let using = if d.using.is_some() { Some(find("using", from_kw)?) } else { None };
            let where_ = if d.selection.is_some() { Some(find("where", from_kw)?) } else { None };
            let returning = if d.returning.is_some() { Some(find("returning", from_kw)?) } else { None };
            let target_end = [using, where_, returning].into_iter().flatten().min();
            let last_target = target_end.map_or(toks.len(), |k| k) - 1;
            if last_target <= from_kw {
                return None;
            }
            Some(OpKind::Delete(Box::new(Dml {
                table: table_name(text, &toks, from_kw + 1)?,
                alias,
                target: span(toks[from_kw + 1].span.start..toks[last_target].span.end),
                set_list: base..base,
                assignments: Vec::new(),
                joined: using.map(|k| clause(k, where_.or(returning))),
                filter: filter(d.selection.as_ref(), where_, returning, &toks, &loc, base),
                returning: returning.map(|k| clause(k, None)),
                psql_variables,
            })))
        }
        _ => None,
    }
}

/// The alias of the target, when the target is one plain table.
fn target(t: &TableWithJoins) -> Option<Option<String>> {
    if !t.joins.is_empty() {
        return None;
    }
    match &t.relation {
        TableFactor::Table { alias, args: None, .. } => Some(alias.as_ref().map(|a| ident_key(&a.name))),
        _ => None,
    }
}

/// The table name as the draft spells it (placeholders included), after `ONLY` at token `k`.
fn table_name(text: &str, toks: &[Token], mut k: usize) -> Option<Name> {
    if toks.get(k)?.is_word("only") {
        k += 1;
    }
    let start = toks.get(k)?.span.start;
    let len = forms::name_len(&text[start..])?;
    Some(Name::new(&text[start..start + len]))
}

fn filter(
    ast: Option<&sqlparser::ast::Expr>,
    where_: Option<usize>,
    returning: Option<usize>,
    toks: &[Token],
    loc: &Locations<'_>,
    base: usize,
) -> Option<super::expr::Expr> {
    let (ast, w) = (ast?, where_?);
    let first = toks.get(w + 1)?;
    let end = returning.map_or(toks.len(), |r| r) - 1;
    let last = toks.get(end).filter(|_| end > w)?;
    Some(lower_expr::lower(ast, base + first.span.start..base + last.span.end, loc))
}

/// Indices of the tokens at parenthesis and bracket depth 0.
fn top_level(toks: &[Token]) -> Vec<usize> {
    let mut depth = 0i32;
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct('(') | Tok::Punct('[') => depth += 1,
            Tok::Punct(')') | Tok::Punct(']') => depth -= 1,
            _ if depth == 0 => out.push(k),
            _ => {}
        }
    }
    out
}

/// Depth of token `k` counted from token `from`.
fn depth_at(toks: &[Token], from: usize, k: usize) -> i32 {
    let mut depth = 0;
    for t in &toks[from..k] {
        match t.tok {
            Tok::Punct('(') | Tok::Punct('[') => depth += 1,
            Tok::Punct(')') | Tok::Punct(']') => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// The tokens from `first` up to (not including) byte `end`, cut at top-level commas: each
/// piece as (first token, last token).
fn cut(toks: &[Token], top: &[usize], first: usize, end: usize) -> Vec<(usize, usize)> {
    let last = toks.iter().rposition(|t| t.span.end <= end);
    let Some(last) = last.filter(|&l| l >= first) else { return Vec::new() };
    let mut pieces = Vec::new();
    let mut start = first;
    for &k in top.iter().filter(|&&k| k >= first && k <= last && toks[k].is_punct(',')) {
        pieces.push((start, k - 1));
        start = k + 1;
    }
    pieces.push((start, last));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::parse::parse_statement;

    fn dml(sql: &str) -> Dml {
        let ast = parse_statement(sql).unwrap();
        match lower(sql, 0..sql.len(), &ast).unwrap() {
            OpKind::Update(d) | OpKind::Delete(d) => *d,
            _ => unreachable!(),
        }
    }

    #[test]
    fn update_clauses_in_draft_bytes() {
        let sql = "UPDATE ONLY public.orders AS o SET note = lower(o.kind), (a, b) = (1, 2) FROM users u \
                   WHERE u.id = o.user_id AND o.x IS DISTINCT FROM 3 RETURNING o.id";
        let d = dml(sql);
        assert_eq!(&*d.table.key, "public.orders");
        assert_eq!(d.alias.as_deref(), Some("o"));
        assert_eq!(&sql[d.target.clone()], "ONLY public.orders AS o");
        assert_eq!(&sql[d.set_list.clone()], "note = lower(o.kind), (a, b) = (1, 2)");
        assert_eq!(d.assignments[0].columns, ["note"]);
        assert_eq!(&sql[d.assignments[0].value.span.clone()], "lower(o.kind)");
        assert_eq!(d.assignments[1].columns, ["a", "b"]);
        assert_eq!(&sql[d.joined.clone().unwrap()], "FROM users u");
        assert_eq!(&sql[d.filter.as_ref().unwrap().span.clone()], "u.id = o.user_id AND o.x IS DISTINCT FROM 3");
        assert_eq!(&sql[d.returning.clone().unwrap()], "RETURNING o.id");
    }

    #[test]
    fn delete_clauses() {
        let sql = "DELETE FROM line_items li WHERE id IN (SELECT id FROM line_items ORDER BY id LIMIT 1000)";
        let d = dml(sql);
        assert_eq!(&sql[d.target.clone()], "line_items li");
        assert_eq!(d.alias.as_deref(), Some("li"));
        let f = d.filter.unwrap();
        assert!(f.limit());
        assert_eq!(&sql[f.span], "id IN (SELECT id FROM line_items ORDER BY id LIMIT 1000)");
        let d = dml("delete from t");
        assert!(d.filter.is_none());
        assert_eq!(&*d.table.key, "t");
    }

    #[test]
    fn psql_variables_are_noticed() {
        assert!(dml("UPDATE t SET a = :v").psql_variables);
        assert!(!dml("UPDATE t SET a = b::int").psql_variables);
    }
}
