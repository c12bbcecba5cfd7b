//! dbmate: `<digits>_<desc>.sql` with `-- migrate:up` and `-- migrate:down` sections. Each section
//! runs in a transaction unless its directive says `transaction:false`, and goes to the server
//! whole, as one query. Several up sections in one file are broken upstream (each records the
//! same version; a second transactional one is rolled back yet marked applied: amacneil/dbmate#820),
//! so every step is a file of its own, with one up section and one down section. The draft's down,
//! in the first step, keeps its `transaction:false` (a `DROP INDEX CONCURRENTLY` fails in one).

use super::version;
use super::{down_for, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let stem = at.draft.strip_suffix(".sql").unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: dbmate runs files named <VERSION>_<name>.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "dbmate")?;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 { at.draft.clone() } else { format!("{}_{}.sql", versions[i - 1], step.slug) };
        let text = if step.autocommit {
            format!("-- migrate:up transaction:false\n{}{}", step.header, out.one_query(step, "dbmate")?)
        } else {
            format!("-- migrate:up\n{}{}", step.header, step.wrapped_body("dbmate")?)
        };
        let down = down_for(plan, i + 1, &at.draft).unwrap_or_default();
        let option = if i == 0 && plan.down_outside_transaction { " transaction:false" } else { "" };
        out.add_step(name, format!("{text}\n-- migrate:down{option}\n{down}"));
    }
    Ok(out)
}
