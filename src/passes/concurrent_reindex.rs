//! `concurrent-reindex`: `REINDEX` → `REINDEX … CONCURRENTLY` (PostgreSQL 12+) in an autocommit step.
//!
//! Why: a plain REINDEX holds SHARE on the table and ACCESS EXCLUSIVE on each index, and the planner
//! opens every index of a table, so even SELECTs wait (measured on PostgreSQL 15).
//!
//! Not the index of an exclusion constraint the catalogue knows of, or one named as PostgreSQL
//! names an unnamed one's (`…_excl`): PostgreSQL refuses to rebuild one concurrently.
//!
//! Only `REINDEX INDEX`: `REINDEX TABLE|SCHEMA|DATABASE … CONCURRENTLY` skips the invalid indexes
//! (what a failed concurrent build leaves, and what a draft often reindexes to repair) and those
//! of exclusion constraints, which the plain form rebuilds; nothing but the database knows which
//! those are (a schema dump leaves invalid indexes out). Nor a system catalog's index, which
//! PostgreSQL never rebuilds concurrently.

use super::{add_concurrently, Ctx, Mode, Rewritten};
use crate::ir::catalog::Evidence;
use crate::ir::op::OpKind;

pub const RULE: &str = "concurrent-reindex";

/// The fact (a `-- pgsafe:fact` line of the step) that `index` is an exclusion constraint's.
fn exclusion_index_fact(index: &crate::ir::name::Name) -> String {
    crate::ir::migration::escape_directive(&format!("exclusion-index {}", index.text))
}

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    for (i, s) in ctx.stmts() {
        let [op] = s.ops.as_slice() else { continue };
        let OpKind::Reindex { target, name, concurrently, insert_at } = &op.kind else {
            continue;
        };
        if !ctx.applies(RULE, i) {
            continue;
        }
        if *concurrently {
            continue;
        }
        if target != "INDEX" && target != "TABLE" {
            // REINDEX SCHEMA/DATABASE/SYSTEM refuse to run inside a transaction block.
            out.units[i].mode = Mode::Autocommit;
        }
        // REINDEX INDEX locks the index's table (SHARE, and ACCESS EXCLUSIVE on the index, which
        // every query planned on the table opens): where the catalogue knows that table and it
        // is live, the timeouts see it. An index the draft built is new, its table may not be.
        let live = |t: &&std::sync::Arc<crate::ir::catalog::Table>| target == "INDEX" && !ctx.quiet(&t.name, i);
        if let Some(table) = ctx.before(i, 0).table.as_ref().filter(live) {
            for lock in &mut out.units[i].locks {
                lock.table = table.name.clone();
            }
        }
        if target == "SYSTEM" || ctx.quiet(name, i) || name.base_unquoted().starts_with("pg_") {
            continue;
        }
        if target != "INDEX" {
            out.diagnose(
                RULE,
                s.body.start,
                format!(
                    "REINDEX {target} … CONCURRENTLY would skip the invalid indexes (a concurrent build that failed \
                     leaves one) and those of exclusion constraints, which REINDEX {target} rebuilds: left as written, \
                     it blocks reads and writes on each table while its indexes are rebuilt; to rebuild without \
                     blocking, REINDEX INDEX each index (pgsafe makes that CONCURRENTLY)"
                ),
            );
            continue;
        }
        // Its step, compiled again, no longer shows the constraint or the rename: the fact says it
        // (a name PostgreSQL gives such an index says it by itself).
        let fact = exclusion_index_fact(name);
        let known = ctx.before(i, 0).reindexes_exclusion;
        let stated = ctx.m.has_fact(&fact);
        if matches!(known, Some(Evidence::Known | Evidence::RenamedFromSuchAName)) || stated {
            out.add_fact(i, fact);
        }
        if known.is_some() || stated {
            let why = match known {
                Some(Evidence::ByName) => "is named as PostgreSQL names an exclusion constraint's index (`<table>_<columns>_excl`), and PostgreSQL does not rebuild one CONCURRENTLY",
                Some(Evidence::RenamedFromSuchAName) => "was renamed by the draft from a name PostgreSQL gives an exclusion constraint's index (`<table>_<columns>_excl`), and PostgreSQL does not rebuild one CONCURRENTLY",
                _ => "is the index of an exclusion constraint, which PostgreSQL does not rebuild CONCURRENTLY",
            };
            out.diagnose(
                RULE,
                s.body.start,
                format!(
                    "{} {why}: left as written, it blocks reads and writes on its table while the index is rebuilt",
                    name.text
                ),
            );
            continue;
        }
        if ctx.config.pg_version < 12 {
            out.diagnose(
                RULE,
                s.body.start,
                "REINDEX blocks reads and writes; REINDEX CONCURRENTLY needs PostgreSQL 12+".into(),
            );
            continue;
        }
        add_concurrently(
            ctx,
            out,
            i,
            *insert_at,
            RULE,
            format!(
                "reindex {} CONCURRENTLY in its own step: a plain REINDEX takes ACCESS EXCLUSIVE on the indexes and blocks even reads",
                name.text
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    #[test]
    fn an_exclusion_index_stays_as_written_and_its_step_alone_says_why() {
        let draft = "ALTER TABLE rooms ADD CONSTRAINT apart EXCLUDE USING gist (slot WITH &&);\nREINDEX INDEX apart;\n";
        let plan = compile("d.sql", draft, &Config::default()).unwrap();
        assert!(!plan.changes.iter().any(|c| c.rule == super::RULE));
        // The step holding the REINDEX, compiled again on its own, is a fixed point: the
        // constraint is in another step, so the step carries the fact.
        let step = plan.steps().find(|f| f.text().contains("REINDEX INDEX apart;")).unwrap();
        let again = compile(&step.name, &step.text(), &Config::default()).unwrap();
        assert!(!again.changed(), "{}", step.text());
    }
}
