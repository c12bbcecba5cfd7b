//! sqlx (`sqlx migrate run`): `<VERSION>_<DESCRIPTION>.sql`, or `.up.sql`/`.down.sql` for
//! reversible migrations; names that do not match are silently ignored. Each file runs in a
//! transaction sqlx opens, unless its first line is `-- no-transaction`; a file is sent whole as
//! one query (sqlx-core/src/migrate/source.rs, sqlx-postgres's migrate.rs). `migrate revert`
//! skips a version without a `.down.sql`, so when the draft's version has one, every step gets one.

use super::version;
use super::{nothing_to_undo, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let (stem, reversible) = match at.draft.strip_suffix(".up.sql") {
        Some(stem) => (stem, true),
        None => (at.draft.strip_suffix(".sql").unwrap_or(&at.draft), plan.down.is_some()),
    };
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: sqlx only runs files named <VERSION>_<DESCRIPTION>.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "sqlx")?;
    let mut out = Layout::default();
    // The draft's down: its own down section, or the `.down.sql` file already next to it.
    let first_down = format!("{stem}.down.sql");
    let has_down = plan.down.is_some() || at.existing.contains(&first_down);
    for (i, step) in plan.steps.iter().enumerate() {
        let base = if i == 0 { stem.to_string() } else { format!("{}_{}", versions[i - 1], step.slug) };
        let text = if step.autocommit {
            format!("-- no-transaction\n{}{}", step.header, out.one_query(step, "sqlx")?)
        } else {
            format!("{}{}", step.header, step.wrapped_body("sqlx")?)
        };
        if reversible {
            out.add_step(format!("{base}.up.sql"), text);
            // Without a down file, revert would skip this step and undo the draft's version
            // under it, which stays recorded.
            match (i, plan.down) {
                (0, Some(down)) => out.add(first_down.clone(), down),
                (0, None) => {}
                _ if has_down => out.add(format!("{base}.down.sql"), nothing_to_undo(&first_down)),
                _ => {}
            }
        } else {
            out.add_step(format!("{base}.sql"), text);
        }
    }
    if !out.write.iter().any(|(p, _)| p == &at.draft) {
        out.remove.push(at.draft.clone());
    }
    Ok(out)
}
