//! `unique-using-index`: `ADD [CONSTRAINT c] UNIQUE (…)` / `PRIMARY KEY (…)` on a table with traffic
//! → `CREATE UNIQUE INDEX CONCURRENTLY c ON t (…)` in an autocommit step, then
//! `ADD CONSTRAINT c UNIQUE|PRIMARY KEY USING INDEX c` in a short transaction. A primary key's
//! columns are first made NOT NULL the safe way (see `not_null`), unless known NOT NULL already.
//!
//! Why: building the index inside `ADD CONSTRAINT` holds ACCESS EXCLUSIVE (reads and writes wait)
//! for the whole build; `USING INDEX` only attaches a finished index (measured on PostgreSQL 15).

use super::{in_case_of, not_null, Ctx, Edit, Mode, Phase, Rewritten, Unit};
use crate::front::tokens::{lex, Tok};
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::name::{make_object_name, quote_ident, Name};
use crate::ir::op::{ConstraintKind, OpKind};

pub const RULE: &str = "unique-using-index";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    let catalog = ctx.config.catalog.as_deref();
    for (i, s) in m.stmts.iter().enumerate() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        let mut k = 0;
        for op in &s.ops {
            let OpKind::AddConstraint { table, name, kind, .. } = &op.kind else { continue };
            let primary = match kind {
                ConstraintKind::Unique => false,
                ConstraintKind::PrimaryKey => true,
                _ => continue,
            };
            if ctx.quiet(table, i) {
                continue;
            }
            if catalog.is_some_and(|c| c.is_partitioned(table)) {
                out.diagnose(
                    RULE,
                    op.span.start,
                    format!(
                        "{} is partitioned: PostgreSQL builds neither a concurrent index nor USING INDEX on a partitioned \
                         table; build the unique index on each partition concurrently, then add the constraint",
                        table.text
                    ),
                );
                continue;
            }
            let action = &m.src[op.span.clone()];
            let Some(cols) = plain_key(action, primary) else {
                // `USING INDEX` already, or INCLUDE/WITH/DEFERRABLE… that USING INDEX cannot express here.
                if !attaches_an_index(action) {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "this constraint builds its index under ACCESS EXCLUSIVE on {}: build it with CREATE UNIQUE \
                             INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
                            table.text
                        ),
                    );
                }
                continue;
            };
            let columns: Vec<String> = cols.split(',').map(|c| Name::new(c).key).collect();
            let index = match name {
                Some(n) => n.clone(),
                None => {
                    let base = if primary {
                        make_object_name(&table.base_unquoted(), "", "pkey")
                    } else {
                        make_object_name(&table.base_unquoted(), &columns.join("_"), "key")
                    };
                    quote_ident(&out.unique_name(base))
                }
            };
            let sample: String = action.chars().take(3).collect();
            let kw = |k: &str| in_case_of(&sample, k);
            let create = format!(
                "{} {index} {} {} ({})",
                kw("CREATE UNIQUE INDEX CONCURRENTLY"),
                kw("ON"),
                table.text,
                cols.trim()
            );
            let mut build = Unit {
                sub: -500 + k,
                mode: Mode::Autocommit,
                long_running: true,
                locks: vec![LockUse { table: table.clone(), mode: LockMode::ShareUpdateExclusive, scans: true }],
                ..Unit::generated(i, op.span.start, create, Phase::Main, RULE)
            };
            build.ends_step = true;
            out.units.push(build);
            // A primary key needs NOT NULL columns; prove them without a long scan.
            let mut not_null_first = String::new();
            if primary {
                for (n, col) in columns.iter().enumerate() {
                    let fact = not_null::fact(table, col);
                    let known = ctx.m.has_fact(&fact)
                        || out.units.iter().any(|u| u.stmt < i && u.facts.contains(&fact))
                        || catalog.and_then(|c| c.is_nullable(table, col)) == Some(false);
                    if known {
                        // Proven before this statement: the step says so, to stay a fixed point.
                        out.units[i].facts.push(fact);
                    } else {
                        not_null::recipe(m.src, out, i, k * 10 + n as i32, table, col, RULE);
                    }
                    not_null_first.push_str(&format!(
                        "{} {} {}, ",
                        kw("ALTER COLUMN"),
                        quote_ident(col),
                        kw("SET NOT NULL")
                    ));
                }
            }
            let attach = format!(
                "{not_null_first}{} {index} {} {} {index}",
                kw("ADD CONSTRAINT"),
                kw(if primary { "PRIMARY KEY" } else { "UNIQUE" }),
                kw("USING INDEX"),
            );
            let unit = &mut out.units[i];
            unit.edits.push(Edit { at: op.span.clone(), text: attach });
            unit.starts_step = true;
            if !unit.rules.contains(&RULE) {
                unit.rules.push(RULE);
            }
            for l in &mut unit.locks {
                l.scans = false;
            }
            k += 1;
            out.change(
                RULE,
                op.span.start,
                format!(
                    "build the index of {index} with CREATE UNIQUE INDEX CONCURRENTLY in its own step, then attach it \
                     with USING INDEX: building it inside ADD CONSTRAINT holds ACCESS EXCLUSIVE on {} for the whole build",
                    table.text
                ),
            );
        }
    }
}

/// `ADD [CONSTRAINT n] UNIQUE USING INDEX i` / `PRIMARY KEY USING INDEX i`: already the safe form.
fn attaches_an_index(action: &str) -> bool {
    let toks = lex(action);
    toks.windows(3)
        .any(|w| (w[0].is_word("unique") || w[0].is_word("key")) && w[1].is_word("using") && w[2].is_word("index"))
}

/// The column list of `ADD [CONSTRAINT n] UNIQUE (…)` / `PRIMARY KEY (…)` when nothing else follows.
fn plain_key(action: &str, primary: bool) -> Option<String> {
    let toks = lex(action);
    let mut i = 1;
    if toks.get(i).is_some_and(|t| t.is_word("constraint")) {
        i += 2;
    }
    if primary {
        if !(toks.get(i)?.is_word("primary") && toks.get(i + 1)?.is_word("key")) {
            return None;
        }
        i += 2;
    } else {
        if !toks.get(i)?.is_word("unique") {
            return None;
        }
        i += 1;
    }
    if !toks.get(i)?.is_punct('(') {
        return None;
    }
    let close = toks.iter().rposition(|t| t.is_punct(')'))?;
    // Only names and commas between the parentheses (no expressions, no opclasses), and nothing after.
    let inner = &toks[i + 1..close];
    let plain = inner.iter().all(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_) | Tok::Punct(',')));
    if close + 1 != toks.len() || !plain || inner.is_empty() {
        return None;
    }
    Some(action[toks[i].span.end..toks[close].span.start].to_string())
}
