//! golang-migrate: `{version}_{title}.up.sql` and `.down.sql`. It wraps nothing, and sends a file
//! whole in one Exec, which PostgreSQL runs as one implicit transaction when it holds several
//! statements (database/postgres/README.md). So a transaction step keeps pgsafe's explicit
//! `BEGIN`/`COMMIT` (and its `SET LOCAL` timeouts), and a step that must run outside a transaction
//! holds its one statement alone. A version lower than the last applied one is silently never
//! applied, so new steps take the versions right after the draft's.

use super::version;
use super::{down_for, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let stem = at.draft.strip_suffix(".up.sql").or_else(|| at.draft.strip_suffix(".sql")).unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: golang-migrate runs files named <version>_<title>.up.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "golang-migrate")?;
    let mut out = Layout::default();
    let first = format!("{stem}.up.sql");
    for (i, step) in plan.steps.iter().enumerate() {
        let base = if i == 0 { stem.to_string() } else { format!("{}_{}", versions[i - 1], step.slug) };
        let text = if step.autocommit {
            format!("{}{}", step.header, out.one_query(step, "golang-migrate")?)
        } else {
            step.psql_text()
        };
        out.add_step(format!("{base}.up.sql"), text);
        // An existing .down.sql next to the draft stays as it is (it belongs to the first step).
        let has_down_file = i == 0 && at.existing.contains(&format!("{stem}.down.sql"));
        if !has_down_file {
            if let Some(down) = down_for(plan, i + 1, &first) {
                out.add(format!("{base}.down.sql"), down);
            }
        }
    }
    if !out.write.iter().any(|(p, _)| p == &at.draft) {
        out.remove.push(at.draft.clone());
    }
    Ok(out)
}
