//! goose: `NNNNN_name.sql` (or a timestamp) with `-- +goose Up` / `-- +goose Down`. Each file runs
//! in a transaction unless it says `-- +goose NO TRANSACTION`; statements are sent one by one,
//! cut at a `;` that ends a line, except between `-- +goose StatementBegin` and `StatementEnd`
//! (internal/sqlparser/parser.go). goose refuses a new file with a lower version than one already
//! applied unless `-allow-missing`, so new steps take the versions right after the draft's.

use super::step::parts::{Part, PartKind};
use super::version;
use super::{down_for, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let stem = at.draft.strip_suffix(".sql").unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: goose runs files named <VERSION>_<name>.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "goose")?;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 { at.draft.clone() } else { format!("{}_{}.sql", versions[i - 1], step.slug) };
        step.wrapped_body("goose")?; // refuses a step that rolls back
        let mut text = step.header.clone();
        if step.autocommit {
            text.push_str("-- +goose NO TRANSACTION\n");
        }
        text.push_str("-- +goose Up\n");
        for p in &step.parts {
            if matches!(p.kind, PartKind::Begin | PartKind::End(_)) {
                continue;
            }
            text.push_str(&guarded(p));
        }
        if let Some(down) = down_for(plan, i + 1, &at.draft) {
            text.push_str("\n-- +goose Down\n");
            if i == 0 {
                plan.down_parts.iter().for_each(|p| text.push_str(&guarded(p)));
            } else {
                text.push_str(&down);
            }
        }
        out.add(name, text);
    }
    Ok(out)
}

/// A statement goose would cut in the wrong place (a `;` ending a line inside it, as in a `DO`
/// body) goes between `StatementBegin` and `StatementEnd`.
fn guarded(p: &Part) -> String {
    let body = p.text.trim_end();
    let inner = body.strip_suffix(';').unwrap_or(body);
    let cut_inside = inner.lines().any(|l| l.trim_end().ends_with(';'));
    if p.is_statement() && cut_inside {
        format!("-- +goose StatementBegin\n{}\n-- +goose StatementEnd\n", p.text.trim_end_matches(['\n', '\r']))
    } else {
        p.text.clone()
    }
}
