//! diesel (`diesel migration run`): `migrations/YYYY-MM-DD-HHMMSS_name/` with `up.sql` and
//! `down.sql`, in version order. Each `up.sql` runs in a transaction unless the folder's
//! `metadata.toml` says `run_in_transaction = false`, and is sent whole (`batch_execute`:
//! diesel_migrations' file_based_migrations.rs), so a step outside a transaction holds one statement.

use super::version;
use super::{down_for, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let v = version::prefix(&at.draft)
        .ok_or_else(|| format!("{}: diesel runs migrations/<version>_<name>/up.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "diesel")?;
    let mut out = Layout::default();
    let first = format!("{}/down.sql", at.draft);
    for (i, step) in plan.steps.iter().enumerate() {
        let folder = if i == 0 { at.draft.clone() } else { format!("{}_{}", versions[i - 1], step.slug) };
        if step.autocommit {
            let body = out.one_query(step, "diesel")?;
            out.add_step(format!("{folder}/up.sql"), format!("{}{body}", step.header));
            out.add(format!("{folder}/metadata.toml"), "run_in_transaction = false\n");
        } else {
            out.add_step(format!("{folder}/up.sql"), format!("{}{}", step.header, step.wrapped_body("diesel")?));
        }
        // The draft's own down.sql, if it has one, stays with the first step.
        if i > 0 || plan.down.is_some() {
            let down = down_for(plan, i + 1, &first).unwrap_or_else(|| {
                format!(
                    "-- pgsafe: nothing to undo here; {first} undoes the draft, and a full rollback reaches it last.\n"
                )
            });
            out.add(format!("{folder}/down.sql"), down);
        }
    }
    Ok(out)
}
