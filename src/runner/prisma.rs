//! Prisma Migrate: `migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql`, in folder-name order. There
//! is no marker: the script goes to the server as one query (prisma-engines'
//! sql-schema-connector), so a transaction step keeps pgsafe's explicit `BEGIN`/`COMMIT`, and a
//! `CONCURRENTLY` statement works only alone in its `migration.sql`. Folders run in the order of
//! their whole names, so the new ones must sort between the draft's and the next one's.

use super::version;
use super::{Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let v = version::prefix(&at.draft)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: Prisma runs migrations/<timestamp>_<name>/migration.sql", at.draft))?;
    let migrations: Vec<String> = at.existing.iter().filter(|n| version::prefix(n).is_some()).cloned().collect();
    let existing: Vec<String> = migrations.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "Prisma")?;
    let folders: Vec<String> =
        plan.steps.iter().skip(1).zip(&versions).map(|(s, v)| format!("{v}_{}", s.slug)).collect();
    version::in_name_order(&at.draft, &folders, &migrations, "Prisma")?;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let folder = if i == 0 { at.draft.clone() } else { folders[i - 1].clone() };
        let text = if step.autocommit {
            format!("{}{}", step.header, out.one_query(step, "Prisma")?)
        } else {
            step.psql_text()
        };
        out.add_step(format!("{folder}/migration.sql"), text);
    }
    if plan.down.is_some() {
        out.notes.push("Prisma Migrate has no down migrations: the draft's down section was left out".into());
    }
    Ok(out)
}
