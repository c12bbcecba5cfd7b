//! `backfill`: an `UPDATE`/`DELETE` over a table with traffic leaves the DDL transaction and becomes
//! a batched autocommit step: a `DO` loop that changes at most `--batch-size` rows per
//! transaction and commits after each batch (PostgreSQL 11+).
//!
//! Two ways to cut batches:
//! - keyed on the primary key (when `--schema` tells it): consecutive key ranges, each row visited
//!   exactly once; a rerun repeats only harmless work, since the statement must be repeatable;
//! - by `ctid` with a "still to do" condition (no key known): only for `SET` values that are
//!   constants, compared after conversion to the column's own type (`%TYPE`), so a value the column
//!   stores rounded (`0.1` in a `real`) never looks "still to do" forever; a `DELETE` needs no such
//!   condition, deleted rows are gone.
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
        if ctx.quiet(&table, i) {
            continue;
        }
        let key =
            ctx.config.catalog.as_ref().and_then(|c| c.table(&table)).and_then(|t| match t.primary_key.as_slice() {
                [k] => Some(k.clone()),
                _ => None,
            });
        let n = ctx.config.batch_size;
        let batched = if delete {
            batch_delete(text, &table, n, key.as_deref())
        } else {
            batch_update(text, &table, n, key.as_deref())
        };
        let unit = &mut out.units[i];
        match batched {
            Some(do_block) => {
                unit.edits.push(Edit { at: s.body.clone(), text: do_block });
                unit.mode = Mode::Autocommit;
                unit.long_running = true;
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
/// `columns`: may it read columns at all?
fn repeatable(expr: &str, written: &[String], columns: bool) -> bool {
    let toks = lex(expr);
    toks.iter().enumerate().all(|(k, t)| match &t.tok {
        Tok::Word(w) => {
            let call = toks.get(k + 1).is_some_and(|n| n.is_punct('('));
            let cast_type = k >= 2 && toks[k - 1].is_punct(':') && toks[k - 2].is_punct(':');
            let clock = w.starts_with("current_") || w.starts_with("local") || w == "now" || w == "default";
            let keyword = matches!(w.as_str(), "null" | "true" | "false" | "and" | "or" | "not" | "is" | "interval");
            !clock
                && !written.contains(w)
                && (!call || IMMUTABLE.contains(&w.as_str()))
                && (call || cast_type || keyword || columns)
        }
        Tok::Quoted(q) => columns && !written.contains(q),
        _ => true,
    })
}

/// A `WHERE` condition that selects the same rows in every batch (no `random()`, …).
fn stable_condition(cond: &str) -> bool {
    !crate::ir::lower::volatile_text(cond)
}

fn batch_update(text: &str, table: &Name, batch: u32, key: Option<&str>) -> Option<String> {
    let u = parse_update(text)?;
    if !u.cond.is_none_or(stable_condition) {
        return None;
    }
    let written: Vec<String> = u.assignments.iter().map(|(c, _)| Name::new(c).key).collect();
    let set: Vec<String> = u.assignments.iter().map(|(c, e)| format!("{c} = {e}")).collect();
    let set = set.join(", ");
    if let Some(key) = key {
        if !u.assignments.iter().all(|(_, e)| repeatable(e, &written, true)) {
            return None;
        }
        let cond = u.cond.map_or(String::new(), |c| format!(" AND ({c})"));
        return Some(keyset_loop(u.target, table, key, batch, &format!("UPDATE {} SET {set}", u.target), &cond));
    }
    // No key: only constants, compared as the column stores them.
    if !u.assignments.iter().all(|(_, e)| repeatable(e, &written, false)) {
        return None;
    }
    let vars: Vec<String> = (1..=u.assignments.len()).map(|k| format!("pgsafe_v{k}")).collect();
    let declare: String =
        u.assignments.iter().zip(&vars).map(|((c, e), v)| format!("  {v} {}.{c}%TYPE := {e};\n", table.text)).collect();
    let todo: Vec<String> =
        u.assignments.iter().zip(&vars).map(|((c, _), v)| format!("{c} IS DISTINCT FROM {v}")).collect();
    let todo = match u.cond {
        Some(c) => format!("({c}) AND ({})", todo.join(" OR ")),
        None => format!("({})", todo.join(" OR ")),
    };
    let set_vars: Vec<String> = u.assignments.iter().zip(&vars).map(|((c, _), v)| format!("{c} = {v}")).collect();
    Some(do_loop(
        &declare,
        &format!(
            "UPDATE {target} SET {}\n     WHERE ctid IN (SELECT ctid FROM {target} WHERE {todo} LIMIT {batch}) AND {todo}",
            set_vars.join(", "),
            target = u.target
        ),
    ))
}

fn batch_delete(text: &str, table: &Name, batch: u32, key: Option<&str>) -> Option<String> {
    let toks = lex(text);
    let top = top_level(&toks);
    if top.iter().any(|&k| toks[k].is_word("using") || toks[k].is_word("returning")) {
        return None;
    }
    let from = top.iter().copied().find(|&k| toks[k].is_word("from"))?;
    let where_ = top.iter().copied().find(|&k| toks[k].is_word("where"));
    let target = text[toks.get(from + 1)?.span.start..where_.map_or(text.len(), |w| toks[w].span.start)].trim();
    let cond = where_.map_or("true", |w| text[toks[w].span.end..].trim());
    if !stable_condition(cond) {
        return None;
    }
    if let Some(key) = key {
        return Some(keyset_loop(
            target,
            table,
            key,
            batch,
            &format!("DELETE FROM {target}"),
            &format!(" AND ({cond})"),
        ));
    }
    Some(do_loop(
        "",
        &format!("DELETE FROM {target}\n     WHERE ctid IN (SELECT ctid FROM {target} WHERE {cond} LIMIT {batch}) AND ({cond})"),
    ))
}

/// Batches over consecutive ranges of the primary key `key`: each row is visited once.
fn keyset_loop(target: &str, table: &Name, key: &str, batch: u32, statement: &str, cond: &str) -> String {
    let declare = format!("  batch_start {t}.{key}%TYPE;\n  batch_end {t}.{key}%TYPE;\n", t = table.text);
    format!(
        "DO $pgsafe$\nDECLARE\n{declare}BEGIN\n  LOOP\n    SELECT max({key}) INTO batch_end FROM (SELECT {key} FROM {target} WHERE batch_start IS NULL OR {key} > batch_start ORDER BY {key} LIMIT {batch}) batch;\n    EXIT WHEN batch_end IS NULL;\n    {statement}\n     WHERE (batch_start IS NULL OR {key} > batch_start) AND {key} <= batch_end{cond};\n    batch_start := batch_end;\n    COMMIT;\n  END LOOP;\nEND\n$pgsafe$"
    )
}

/// A loop that runs `statement` until it changes no row, committing after each batch.
///
/// Batches pick rows by `ctid`; the statement repeats its condition outside the subquery too,
/// because on a partitioned table a `ctid` names a row in each partition.
/// `declare`: extra declarations (each line indented, ending in `;\n`).
pub fn do_loop(declare: &str, statement: &str) -> String {
    format!(
        "DO $pgsafe$\nDECLARE\n  batch_rows bigint;\n{declare}BEGIN\n  LOOP\n    {statement};\n    GET DIAGNOSTICS batch_rows = ROW_COUNT;\n    EXIT WHEN batch_rows = 0;\n    COMMIT;\n  END LOOP;\nEND\n$pgsafe$"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> Name {
        Name::new("orders")
    }

    #[test]
    fn constants_are_compared_as_the_column_stores_them() {
        let sql = batch_update(
            "UPDATE orders SET ratio = 0.1, status = 'x' WHERE created_at < '2020-01-01'",
            &orders(),
            500,
            None,
        )
        .unwrap();
        assert!(sql.contains("pgsafe_v1 orders.ratio%TYPE := 0.1;"), "{sql}");
        assert!(sql.contains("UPDATE orders SET ratio = pgsafe_v1, status = pgsafe_v2"), "{sql}");
        assert!(
            sql.contains("WHERE (created_at < '2020-01-01') AND (ratio IS DISTINCT FROM pgsafe_v1 OR status IS DISTINCT FROM pgsafe_v2) LIMIT 500"),
            "{sql}"
        );
    }

    #[test]
    fn a_known_primary_key_cuts_batches_by_key_range() {
        let sql =
            batch_update("UPDATE orders SET note = lower(kind) WHERE id > 5", &orders(), 100, Some("id")).unwrap();
        assert!(sql.contains("batch_start orders.id%TYPE;"), "{sql}");
        assert!(sql.contains("ORDER BY id LIMIT 100"), "{sql}");
        assert!(sql.contains("UPDATE orders SET note = lower(kind)\n     WHERE (batch_start IS NULL OR id > batch_start) AND id <= batch_end AND (id > 5);"), "{sql}");
    }

    #[test]
    fn refuses_updates_that_would_not_converge() {
        for sql in [
            "UPDATE orders SET amount = amount + 1",
            "UPDATE orders SET touched_at = now()",
            "UPDATE orders SET uid = gen_random_uuid()",
            "UPDATE orders SET status = DEFAULT",
            "UPDATE orders o SET x = u.y FROM users u WHERE u.id = o.user_id",
            "UPDATE orders SET x = 1 WHERE random() < 0.1",
        ] {
            assert!(batch_update(sql, &orders(), 10, Some("id")).is_none(), "{sql}");
        }
        // Without a key only constants can be compared safely.
        assert!(batch_update("UPDATE orders SET note = lower(kind)", &orders(), 10, None).is_none());
    }

    #[test]
    fn batches_a_delete() {
        let sql = batch_delete("DELETE FROM orders WHERE status = 'void'", &orders(), 100, None).unwrap();
        assert!(
            sql.contains("DELETE FROM orders\n     WHERE ctid IN (SELECT ctid FROM orders WHERE status = 'void' LIMIT 100) AND (status = 'void')"),
            "{sql}"
        );
        assert!(batch_delete("DELETE FROM orders WHERE random() < 0.01", &orders(), 100, None).is_none());
    }
}
