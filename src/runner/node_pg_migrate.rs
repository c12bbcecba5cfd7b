//! node-pg-migrate (`node-pg-migrate up`): `migrations/<timestamp>_<name>.{js,sql}` in name order;
//! by default every pending migration runs in **one** transaction (`--single-transaction`), and a
//! `.sql` migration cannot opt out of it. A JS migration can: `pgm.noTransaction()` makes the
//! runner commit before it and begin again after it, and each `pgm.sql(…)` is one query
//! (node-pg-migrate's migration.ts `_apply`). So every step is a JS migration calling
//! `pgm.noTransaction()`: a transaction step is one `pgm.sql` holding pgsafe's explicit
//! `BEGIN … COMMIT`, an autocommit step one `pgm.sql` per statement. The first step keeps the
//! draft's name (with `.js`); the others take the timestamps right after it. The draft's
//! `-- Down Migration` part (a down section to pgsafe, never compiled as part of the migration)
//! becomes the first step's `exports.down`, which a full rollback reaches last.

use super::version;
use super::{Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let stem = at.draft.strip_suffix(".sql").or_else(|| at.draft.strip_suffix(".js")).unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: node-pg-migrate runs files named <timestamp>_<name>", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "node-pg-migrate")?;
    let js = |s: &str| serde_json::to_string(s.trim_end()).unwrap_or_default();
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 { format!("{stem}.js") } else { format!("{}_{}.js", versions[i - 1], step.slug) };
        let queries: Vec<String> = if step.autocommit { step.one_by_one() } else { vec![step.body()] };
        let header: String =
            step.header.lines().map(|l| format!("// {}\n", l.trim_start_matches("--").trim_start())).collect();
        let mut text = format!("{header}exports.up = (pgm) => {{\n  pgm.noTransaction();\n");
        for q in queries {
            text.push_str(&format!("  pgm.sql({});\n", js(&q)));
        }
        text.push_str("};\n");
        match (i, plan.down) {
            (0, Some(down)) => text.push_str(&format!("\nexports.down = (pgm) => {{\n  pgm.sql({});\n}};\n", js(down))),
            (0, None) => {}
            _ => text
                .push_str("\n// The draft's down section, if any, is in the first step.\nexports.down = () => {};\n"),
        }
        out.add_step(name, text);
    }
    if !out.write.iter().any(|(p, _)| p == &at.draft) {
        out.remove.push(at.draft.clone());
    }
    Ok(out)
}
