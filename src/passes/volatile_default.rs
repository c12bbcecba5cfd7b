//! `volatile-default`: `ADD COLUMN c T DEFAULT f()` where `f` is volatile (`gen_random_uuid()`,
//! `random()`, `clock_timestamp()`, …) on a table with traffic → add the column without a default and
//! set the default in the same statement (new rows get it, no rewrite), backfill existing rows in
//! batches, then make it NOT NULL the safe way if the draft asked for that.
//!
//! Why: a volatile default must be evaluated for every existing row, so PostgreSQL rewrites the
//! whole table (and its indexes) under ACCESS EXCLUSIVE (measured on PostgreSQL 15). `now()` and
//! constants are evaluated once and stored in the catalog: free since PostgreSQL 11, left alone.

use super::backfill::{Batch, Guard, StandsFor};
use super::{in_case_of, not_null, Ctx, Edit, Mode, Phase, Rewritten, Unit};
use crate::ir::catalog::SqlType;
use crate::ir::lock::{LockMode, LockUse};
use crate::ir::migration::Migration;
use crate::ir::name::{quote_ident, Name};
use crate::ir::op::OpKind;
use rustc_hash::FxHashMap as HashMap;

pub const RULE: &str = "volatile-default";

/// `fills`: the draft's `UPDATE`s by column, found once (see [`Fills`]).
pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten, fills: &mut Fills) {
    let m = ctx.m;
    for (i, s) in ctx.stmts() {
        if !ctx.applies(RULE, i) {
            continue;
        }
        for (k, op) in s.ops.iter().enumerate() {
            let OpKind::AddColumn {
                table,
                column,
                type_text,
                collation,
                default,
                not_null,
                if_not_exists,
                computed,
                ..
            } = &op.kind
            else {
                continue;
            };
            if ctx.quiet(table, i) {
                continue;
            }
            if *if_not_exists && ctx.column_may_exist(i, k, column) {
                if default.as_ref().is_some_and(|d| d.volatile) {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "ADD COLUMN IF NOT EXISTS {column} with a volatile default: where {} has the column already, \
                             PostgreSQL does nothing, but pgsafe's recipe would set the default and fill the column; \
                             left as written (only a table the draft created is known not to have {column}: a schema file may be out of date)",
                            table.text
                        ),
                    );
                }
                continue;
            }
            let Some(d) = default.as_ref().filter(|d| d.volatile) else {
                if let (Some(_), None, false) = (not_null, default, computed) {
                    not_null_without_default(ctx, out, fills, i, table, column, op.span.start);
                    continue;
                }
                // A serial or stored generated column rewrites the table too, and has no cheap form.
                if *computed {
                    out.diagnose(
                        RULE,
                        op.span.start,
                        format!(
                            "adding {column} rewrites all of {} under ACCESS EXCLUSIVE (a serial or stored generated \
                             column is computed for every row): add a plain nullable column, backfill it in batches, \
                             then set its default or make it NOT NULL",
                            table.text
                        ),
                    );
                }
                continue;
            };
            if d.numbers_rows {
                out.diagnose(
                    RULE,
                    d.clause.start,
                    format!(
                        "the default of {column} draws from a sequence (nextval, or a function pgsafe does not know to \
                         draw from none): ADD COLUMN … DEFAULT numbers the rows of {} in the \
                         order it rewrites the table, a batched backfill in the order of its batches, so rows would get \
                         other numbers; left as written (it rewrites the table under ACCESS EXCLUSIVE: where the order \
                         does not matter, add the column without the default and number the rows in batches yourself)",
                        table.text
                    ),
                );
                continue;
            }
            if !SqlType::parse(type_text).is_built_in() {
                out.diagnose(
                    RULE,
                    d.clause.start,
                    format!(
                        "the volatile default of {column} rewrites all of {} under ACCESS EXCLUSIVE; pgsafe keeps it as \
                         written because {column}'s type, {type_text}, is not a built-in type: a domain may bring a \
                         default of its own or refuse NULL, which the column added without the default would meet \
                         before the backfill",
                        table.text
                    ),
                );
                continue;
            }
            if d.expr.contains("$pgsafe") {
                let why = "it contains the text $pgsafe, which the backfill's DO block quotes with";
                out.diagnose(
                    RULE,
                    d.clause.start,
                    format!("the volatile default of {column} is kept as written: {why}"),
                );
                continue;
            }
            // ADD COLUMN merges the column into a table that inherits from this one and has it
            // already: that table keeps its default and its rows (PostgreSQL 15, NOT NULL not
            // added either), where the recipe's SET DEFAULT, backfill and NOT NULL reach it
            // through the parent. (A partition never has a column its parent lacks.)
            if let Some((heir, has)) = ctx.before(i, k).heir_with_column.as_deref() {
                let how = if *has {
                    format!("{} inherits from {} and has {column} already", heir.text, table.text)
                } else {
                    format!(
                        "{} inherits from {} and may have {column} already (pgsafe does not know its columns)",
                        heir.text, table.text
                    )
                };
                out.diagnose(
                    RULE,
                    d.clause.start,
                    format!(
                        "the volatile default of {column} rewrites all of {t} under ACCESS EXCLUSIVE; pgsafe keeps it as \
                         written because {how}: ADD COLUMN merges it there, keeping its own default and values (NULLs \
                         too), where the recipe's SET DEFAULT and backfill, which reach it through {t}, would set the \
                         default and fill its NULLs",
                        t = table.text
                    ),
                );
                continue;
            }
            // The recipe's backfill is an UPDATE the draft does not run: it would fire the table's
            // UPDATE triggers on every row, where ADD COLUMN … DEFAULT fires none.
            let before = ctx.before(i, k).table.as_deref();
            let triggers_known = before.is_some_and(|t| t.columns_known && !t.has_update_trigger());
            if !triggers_known {
                let why = match before {
                    Some(t) if t.has_update_trigger() => {
                        // The first few: a table of thousands of triggers must not make each
                        // warning as long.
                        const NAMED: usize = 5;
                        let mut names: Vec<&str> = t.update_triggers().take(NAMED + 1).collect();
                        if names.len() > NAMED {
                            names[NAMED] = "…";
                        }
                        format!("{} has UPDATE triggers ({})", table.text, names.join(", "))
                    }
                    _ => format!(
                        "it cannot tell whether {} has UPDATE triggers ({})",
                        table.text,
                        if ctx.config.catalog.is_some() {
                            "the --schema does not describe it"
                        } else {
                            "no --schema was given"
                        }
                    ),
                };
                out.diagnose(
                    RULE,
                    d.clause.start,
                    format!(
                        "the volatile default of {column} rewrites all of {t} under ACCESS EXCLUSIVE; pgsafe keeps it as \
                         written because {why}: the batched backfill that avoids the rewrite would fire them for every \
                         row, where ADD COLUMN … DEFAULT fires none. With a --schema that shows {t} without UPDATE \
                         triggers, pgsafe adds the column without the default, sets it for new rows and backfills the \
                         existing ones in batches",
                        t = table.text
                    ),
                );
                continue;
            }
            let k = k as i32;
            let sample: String = m.src[op.span.start..].chars().take(3).collect();
            let kw = |w: &str| in_case_of(&sample, w);
            let col = quote_ident(column);
            let unit = &mut out.units[i];
            unit.edits.push(Edit::remove(RULE, ctx.m.src, d.clause.clone()));
            if let Some(nn) = not_null {
                unit.edits.push(Edit::remove(RULE, ctx.m.src, nn.clone()));
            }
            unit.edits.push(Edit {
                rule: RULE,
                at: op.span.end..op.span.end,
                text: format!(", {} {col} {} {}", kw("ALTER COLUMN"), kw("SET DEFAULT"), d.expr),
            });
            for l in &mut unit.locks {
                l.scans = false;
            }
            unit.rules.push(RULE);
            let backfill = Batch {
                target: &table.text,
                guard: Guard {
                    table: &table.text,
                    stands_for: StandsFor::NewColumn {
                        column: &col,
                        // The collation too: `ALTER COLUMN … TYPE` without it resets the column's.
                        type_text: &match collation {
                            Some(c) => format!("{type_text} COLLATE {c}"),
                            None => type_text.clone(),
                        },
                        default: &d.expr,
                        lock_timeout: &ctx.config.lock_timeout,
                    },
                },
                statement: &format!("UPDATE {} SET {col} = {}", table.text, d.expr),
                condition: Some(&format!("{col} IS NULL")),
                size: ctx.config.batch_size,
            }
            .do_block();
            out.units.push(Unit {
                sub: 100 + 10 * k,
                mode: Mode::Autocommit,
                long_running: true,
                row_batches: true,
                locks: thin_vec::thin_vec![LockUse { table: table.clone(), mode: LockMode::RowExclusive, scans: true }],
                ..Unit::generated(i, op.span.start, backfill, Phase::Main, RULE)
            });
            if not_null.is_some() {
                not_null::after(ctx, out, i, 100 + 10 * k + 1, table, column, RULE);
            }
            out.change(
                RULE,
                d.clause.start,
                format!(
                    "add {column} without its volatile default, set the default for new rows, and backfill existing rows \
                     in batches (by the draft's rewrite, if the database shows an UPDATE trigger or rule, row security \
                     or an unvalidated check){}: a volatile default rewrites all of {} under ACCESS EXCLUSIVE",
                    if not_null.is_some() { ", then make it NOT NULL without a long scan" } else { "" },
                    table.text
                ),
            );
        }
    }
}

/// The draft's `UPDATE`s by the base name of their table and each column they set: statement and
/// line, in order. Made on the first `ADD COLUMN … NOT NULL` without a default (a look through
/// every later statement for each one, and a count of the lines before the `UPDATE` found, were
/// quadratic: 20,000 such columns took a second, and grew with the square).
#[derive(Default)]
pub struct Fills(Option<HashMap<(String, String), Vec<Fill>>>);

/// An `UPDATE` that sets a column: its statement, its line, its table.
type Fill = (usize, usize, Name);

impl Fills {
    /// The line of the first `UPDATE` after statement `i` that sets `column` of `table`.
    fn first_after(&mut self, m: &Migration<'_>, i: usize, table: &Name, column: &str) -> Option<usize> {
        let fills = self.0.get_or_insert_with(|| {
            let mut fills: HashMap<(String, String), Vec<Fill>> = HashMap::default();
            let (mut line, mut counted) = (1, 0);
            for (j, s) in m.stmts.iter().enumerate() {
                for op in &s.ops {
                    let OpKind::Update(d) = &op.kind else { continue };
                    line += m.src[counted..s.body.start].matches('\n').count();
                    counted = s.body.start;
                    for c in d.assignments.iter().flat_map(|a| &a.columns) {
                        fills.entry((d.table.base().to_string(), c.clone())).or_default().push((
                            j,
                            line,
                            d.table.clone(),
                        ));
                    }
                }
            }
            fills
        });
        let updates = fills.get(&(table.base().to_string(), column.to_string()))?;
        let from = updates.partition_point(|&(j, _, _)| j <= i);
        updates[from..].iter().find(|(_, _, t)| t.same(table)).map(|&(_, line, _)| line)
    }
}

/// `ADD COLUMN c T NOT NULL` with no default fails on a table that has rows, and is instant on an
/// empty one. Either way the plan must do what the draft does, so the statement is kept as written
/// (a later `UPDATE t SET c = …` in the draft runs only after it has failed); the diagnostic gives
/// the recipe for the author to write.
fn not_null_without_default(
    ctx: &Ctx<'_, '_>,
    out: &mut Rewritten,
    fills: &mut Fills,
    i: usize,
    table: &crate::ir::name::Name,
    column: &str,
    at: usize,
) {
    let later = match fills.first_after(ctx.m, i, table, column) {
        Some(line) => format!(
            ", before the UPDATE on line {line} can fill it (kept as written: the plan fails where the draft does)"
        ),
        None => String::new(),
    };
    out.diagnose(
        RULE,
        at,
        format!(
            "adding NOT NULL column {column} without a DEFAULT fails on a table with rows{later}: give it a constant \
             DEFAULT (free since PostgreSQL 11), or add it nullable, backfill it, then make it NOT NULL"
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::ir::catalog::Catalog;
    use crate::{compile, Config};

    #[test]
    fn a_table_of_many_update_triggers_names_the_first_few() {
        let mut draft = String::new();
        for k in 0..7 {
            draft.push_str(&format!("CREATE TRIGGER tr{k} BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"));
        }
        draft.push_str("ALTER TABLE t ADD COLUMN at timestamptz DEFAULT clock_timestamp();\n");
        let c = compile("d.sql", &draft, &Config::default()).unwrap();
        let found = c.diagnostics.iter().chain(&c.changes).find(|d| d.message.contains("has UPDATE triggers"));
        let message = &found.expect("a finding names the triggers").message;
        assert!(message.contains("(tr0, tr1, tr2, tr3, tr4, …)"), "{message}");
    }

    #[test]
    fn a_parent_whose_heir_has_the_column_is_kept() {
        // ADD COLUMN merges the column into a table that inherits it and has it (at any depth,
        // through INHERITS or ALTER TABLE … INHERIT): the rewrite would reach it through the parent.
        let schema = "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE kin (tok text) INHERITS (p);\n\
                      CREATE TABLE bare () INHERITS (p);\nCREATE TABLE q (id int PRIMARY KEY);\n\
                      CREATE TABLE r (id int PRIMARY KEY);\nCREATE TABLE r_kid () INHERITS (r);\n\
                      CREATE TABLE r_grandkid (tok text) INHERITS (r_kid);\n";
        let config = Config { catalog: Some(std::sync::Arc::new(Catalog::from_sql(schema))), ..Config::default() };
        let add = |t: &str| format!("ALTER TABLE {t} ADD COLUMN tok text DEFAULT md5(random()::text);\n");
        let kept = |draft: &str| {
            let c = compile("d.sql", draft, &config).unwrap();
            let why = c.diagnostics.iter().find(|d| d.rule == RULE && d.message.contains("merges it there"));
            (c.changes.iter().all(|c| c.rule != RULE), why.map(|d| d.message.clone()))
        };
        let (unchanged, why) = kept(&add("p"));
        assert!(unchanged && why.as_deref().is_some_and(|w| w.contains("kin inherits from p and has tok")), "{why:?}");
        let (unchanged, why) = kept(&add("r"));
        assert!(unchanged && why.is_some_and(|w| w.contains("r_grandkid inherits from r")));
        // Its heirs lack the column: rewritten (they get it, as from the draft).
        assert_eq!(kept(&add("q")), (false, None));
        let (unchanged, why) = kept(&format!("ALTER TABLE kin INHERIT q;\n{}", add("q")));
        assert!(unchanged && why.is_some_and(|w| w.contains("kin inherits from q")));
        assert_eq!(kept(&format!("ALTER TABLE kin NO INHERIT p;\n{}", add("p"))), (false, None));
        // Renamed, the parent keeps its heirs; a heir of columns pgsafe does not know may have it.
        let (unchanged, _) = kept(&format!("ALTER TABLE p RENAME TO p2;\n{}", add("p2")));
        assert!(unchanged);
        let (unchanged, why) = kept(&format!("CREATE TABLE dup (LIKE q) INHERITS (q);\n{}", add("q")));
        assert!(unchanged && why.is_some_and(|w| w.contains("may have tok")));
    }

    #[test]
    fn a_column_of_a_type_that_is_not_built_in_is_kept() {
        // A domain may refuse NULL or bring its own default: the column added bare would fail,
        // or take the domain's default where the backfill looks for NULLs.
        let schema = "CREATE DOMAIN level AS int DEFAULT 7;\nCREATE TABLE t (id int PRIMARY KEY);\n";
        let config = Config { catalog: Some(std::sync::Arc::new(Catalog::from_sql(schema))), ..Config::default() };
        let kept =
            compile("d.sql", "ALTER TABLE t ADD COLUMN l level DEFAULT (random() * 0)::int;\n", &config).unwrap();
        assert!(kept.changes.iter().all(|c| c.rule != RULE), "{:?}", kept.changes);
        assert!(kept.diagnostics.iter().any(|d| d.rule == RULE && d.message.contains("not a built-in type")));
        let built_in =
            compile("d.sql", "ALTER TABLE t ADD COLUMN l int DEFAULT (random() * 0)::int;\n", &config).unwrap();
        assert!(built_in.changes.iter().any(|c| c.rule == RULE), "{:?}", built_in.diagnostics);
    }
}
