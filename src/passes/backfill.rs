//! `backfill`: an `UPDATE`/`DELETE` over a table with traffic leaves the DDL transaction and becomes
//! a batched autocommit step: a `DO` loop that changes at most `--batch-size` rows per
//! transaction and commits after each batch (PostgreSQL 11+), until no row is left. It is
//! restartable: a rerun picks up the rows still to do.
//!
//! Why: one big `UPDATE` holds row locks on every row it touches until it commits (writers to those
//! rows wait), bloats the table in one go, and inside a DDL transaction keeps the DDL's strong
//! locks for its whole duration.
//!
//! Batching is only sound when re-running a batch is harmless: the `SET` expressions must not read
//! the columns they write nor change from one batch to the next (no `now()`, `random()`, …).
//! Otherwise the statement gets a step of its own and a diagnostic.

use super::{Ctx, Edit, Mode, Rewritten};
use crate::front::tokens::{head_words, lex, Tok, Token};
use crate::ir::name::Name;

pub const RULE: &str = "backfill";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    for (i, s) in m.stmts.iter().enumerate() {
        if s.ops.len() != 1 || !ctx.applies(RULE, i) || out.units[i].mode != Mode::Transaction {
            continue;
        }
        let text = &m.src[s.body.clone()];
        let words = head_words(text, 2);
        let delete = match words.first().map(String::as_str) {
            Some("update") => false,
            Some("delete") => true,
            _ => continue,
        };
        let Some(table) = out.units[i].locks.first().map(|l| l.table.clone()) else { continue };
        if m.created_before(&table, i) {
            continue;
        }
        let batched =
            if delete { batch_delete(text, ctx.config.batch_size) } else { batch_update(text, ctx.config.batch_size) };
        let unit = &mut out.units[i];
        match batched {
            Some(do_block) => {
                unit.edits.push(Edit { at: s.body.clone(), text: do_block });
                unit.mode = Mode::Autocommit;
                unit.rules.push(RULE);
                out.change(
                    RULE,
                    s.body.start,
                    format!(
                        "run this {} on {} in batches of {} rows, each committed on its own (restartable), outside \
                         any DDL transaction: one big statement locks every row it touches until it commits",
                        if delete { "DELETE" } else { "UPDATE" },
                        table.text,
                        ctx.config.batch_size
                    ),
                );
            }
            None => {
                unit.starts_step = true;
                unit.ends_step = true;
                out.diagnose(
                    RULE,
                    s.body.start,
                    format!(
                        "this {} on {} runs as one transaction (pgsafe cannot batch it safely: it uses FROM/RETURNING, \
                         or its SET expressions read the columns they write or change between batches): run it in \
                         batches keyed on the primary key, outside the DDL transaction",
                        if delete { "DELETE" } else { "UPDATE" },
                        table.text
                    ),
                );
            }
        }
    }
}

/// The parts of `UPDATE target SET a = x, b = y [WHERE cond]`, as the draft spells them.
struct Update<'a> {
    target: &'a str,
    assignments: Vec<(&'a str, &'a str)>,
    cond: Option<&'a str>,
}

fn parse_update(text: &str) -> Option<Update<'_>> {
    let toks = lex(text);
    let top = top_level(&toks);
    let find = |w: &str, from: usize| top.iter().copied().find(|&k| k >= from && toks[k].is_word(w));
    let set = find("set", 1)?;
    if find("from", set).is_some() || find("returning", set).is_some() {
        return None;
    }
    let where_ = find("where", set);
    let target = text[toks[1].span.start..toks[set].span.start].trim();
    let list_end = where_.map_or(text.len(), |w| toks[w].span.start);
    let mut assignments = Vec::new();
    let mut start = toks.get(set + 1)?.span.start;
    let commas = top.iter().copied().filter(|&k| k > set && toks[k].span.start < list_end && toks[k].is_punct(','));
    for c in commas.chain(std::iter::once(usize::MAX)) {
        let end = if c == usize::MAX { list_end } else { toks[c].span.start };
        let (col, expr) = text[start..end].split_once('=')?;
        let col = col.trim();
        // Only plain `column = expr` (no `(a, b) = …`, no `a[1] = …`).
        if !col.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '"') {
            return None;
        }
        assignments.push((col, expr.trim()));
        if c != usize::MAX {
            start = toks[c].span.end;
        }
    }
    let cond = where_.map(|w| text[toks[w].span.end..].trim());
    Some(Update { target, assignments, cond })
}

/// Indices of tokens at parenthesis depth 0.
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

/// Functions whose result depends only on their arguments: re-running a batch gives the same values.
const IMMUTABLE: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "coalesce",
    "nullif",
    "concat",
    "concat_ws",
    "length",
    "abs",
    "round",
    "floor",
    "ceil",
    "substring",
    "substr",
    "replace",
    "left",
    "right",
    "md5",
    "greatest",
    "least",
    "split_part",
    "regexp_replace",
    "jsonb_build_object",
    "json_build_object",
    "to_jsonb",
    "array_to_string",
    "lpad",
    "rpad",
    "initcap",
    "date_trunc",
    "extract",
    "cast",
];

/// May `expr` be evaluated again for a row without changing the result, given the columns written?
fn repeatable(expr: &str, written: &[String]) -> bool {
    let toks = lex(expr);
    toks.iter().enumerate().all(|(k, t)| match &t.tok {
        Tok::Word(w) => {
            let call = toks.get(k + 1).is_some_and(|n| n.is_punct('('));
            let clock = w.starts_with("current_") || w.starts_with("local") || w == "now";
            !clock && !written.contains(w) && (!call || IMMUTABLE.contains(&w.as_str()))
        }
        Tok::Quoted(q) => !written.contains(q),
        _ => true,
    })
}

fn batch_update(text: &str, batch: u32) -> Option<String> {
    let u = parse_update(text)?;
    let written: Vec<String> = u.assignments.iter().map(|(c, _)| Name::new(c).key).collect();
    if !u.assignments.iter().all(|(_, e)| repeatable(e, &written)) {
        return None;
    }
    let cols: Vec<&str> = u.assignments.iter().map(|(c, _)| *c).collect();
    let exprs: Vec<&str> = u.assignments.iter().map(|(_, e)| *e).collect();
    let set: Vec<String> = u.assignments.iter().map(|(c, e)| format!("{c} = {e}")).collect();
    let (lhs, rhs) = if cols.len() == 1 {
        (cols[0].to_string(), format!("({})", exprs[0]))
    } else {
        (format!("({})", cols.join(", ")), format!("ROW({})", exprs.join(", ")))
    };
    let todo = match u.cond {
        Some(c) => format!("({c}) AND {lhs} IS DISTINCT FROM {rhs}"),
        None => format!("{lhs} IS DISTINCT FROM {rhs}"),
    };
    Some(do_loop(&format!(
        "UPDATE {target} SET {}\n     WHERE ctid IN (SELECT ctid FROM {target} WHERE {todo} LIMIT {batch}) AND {todo}",
        set.join(", "),
        target = u.target
    )))
}

fn batch_delete(text: &str, batch: u32) -> Option<String> {
    let toks = lex(text);
    let top = top_level(&toks);
    if top.iter().any(|&k| toks[k].is_word("using") || toks[k].is_word("returning")) {
        return None;
    }
    let from = top.iter().copied().find(|&k| toks[k].is_word("from"))?;
    let where_ = top.iter().copied().find(|&k| toks[k].is_word("where"));
    let target = text[toks.get(from + 1)?.span.start..where_.map_or(text.len(), |w| toks[w].span.start)].trim();
    let cond = where_.map_or("true", |w| text[toks[w].span.end..].trim());
    Some(do_loop(&format!(
        "DELETE FROM {target}\n     WHERE ctid IN (SELECT ctid FROM {target} WHERE {cond} LIMIT {batch}) AND ({cond})"
    )))
}

/// A loop that runs `statement` until it changes no row, committing after each batch.
///
/// Batches pick rows by `ctid`; the statement repeats its condition outside the subquery too,
/// because on a partitioned table a `ctid` names a row in each partition.
pub fn do_loop(statement: &str) -> String {
    format!(
        "DO $pgsafe$\nDECLARE\n  batch_rows bigint;\nBEGIN\n  LOOP\n    {statement};\n    GET DIAGNOSTICS batch_rows = ROW_COUNT;\n    EXIT WHEN batch_rows = 0;\n    COMMIT;\n  END LOOP;\nEND\n$pgsafe$"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_a_repeatable_update() {
        let sql = batch_update(
            "UPDATE orders SET status = 'archived', note = lower(kind) WHERE created_at < '2020-01-01'",
            500,
        )
        .unwrap();
        assert!(sql.contains("UPDATE orders SET status = 'archived', note = lower(kind)"), "{sql}");
        assert!(
            sql.contains("WHERE (created_at < '2020-01-01') AND (status, note) IS DISTINCT FROM ROW('archived', lower(kind)) LIMIT 500"),
            "{sql}"
        );
        assert!(sql.contains("COMMIT;"));
    }

    #[test]
    fn refuses_updates_that_would_loop_forever() {
        assert!(batch_update("UPDATE orders SET amount = amount + 1", 10).is_none());
        assert!(batch_update("UPDATE orders SET touched_at = now()", 10).is_none());
        assert!(batch_update("UPDATE orders SET uid = gen_random_uuid()", 10).is_none());
        assert!(batch_update("UPDATE orders o SET x = u.y FROM users u WHERE u.id = o.user_id", 10).is_none());
    }

    #[test]
    fn batches_a_delete() {
        let sql = batch_delete("DELETE FROM orders WHERE status = 'void'", 100).unwrap();
        assert!(
            sql.contains("DELETE FROM orders\n     WHERE ctid IN (SELECT ctid FROM orders WHERE status = 'void' LIMIT 100) AND (status = 'void')"),
            "{sql}"
        );
    }
}
