//! sqitch: `sqitch.plan` sets the order; each change has `deploy/<change>.sql`,
//! `revert/<change>.sql` and optionally `verify/<change>.sql`, run by psql, which sends statements
//! one at a time. sqitch adds no transaction of its own (its templates write `BEGIN; … COMMIT;`),
//! so the step files keep pgsafe's `BEGIN`/`COMMIT`, and the autocommit ones have none.
//!
//! The draft's change keeps its name and its plan line (the last with that name: after `sqitch
//! rework` the first is a released one) and becomes the first step; the other steps are new
//! changes inserted right after it in `sqitch.plan`, with the same planner and timestamp, each
//! requiring the one before. The draft's verify script checks what the whole change leaves, so it
//! becomes the last step's (`sqitch deploy --verify` runs a change's script right after it).

use super::{Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let change = at.draft.as_str();
    let plan_text = at.read.get("sqitch.plan").cloned().unwrap_or_else(|| {
        format!(
            "%syntax-version=1.0.0\n%project=pgsafe\n\n{change} 2000-01-01T00:00:00Z pgsafe <pgsafe@localhost> # from {}\n",
            plan.draft
        )
    });
    let lines: Vec<&str> = plan_text.lines().collect();
    let line_no = lines
        .iter()
        .rposition(|l| l.split_whitespace().next() == Some(change))
        .ok_or_else(|| format!("sqitch.plan has no change named {change}"))?;
    let line = lines[line_no];
    // `name [deps] timestamp planner <email> # note`: keep from the timestamp on, minus the note.
    let stamp = line
        .split_whitespace()
        .position(|w| w.len() >= 20 && w.ends_with('Z') && w.contains('T'))
        .map(|i| line.split_whitespace().skip(i).take_while(|w| !w.starts_with('#')).collect::<Vec<_>>().join(" "))
        .ok_or_else(|| format!("sqitch.plan line {}: no timestamp for change {change}", line_no + 1))?;
    let mut out = Layout::default();
    let mut names = vec![change.to_string()];
    let mut new_lines = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 { change.to_string() } else { format!("{change}_{}", i + 1) };
        if i > 0 {
            new_lines.push(format!("{name} [{}] {stamp} # pgsafe step {} of {change}", names[i - 1], i + 1));
            names.push(name.clone());
        }
        out.add_step(format!("deploy/{name}.sql"), step.psql_text());
        if i > 0 {
            out.add(
                format!("revert/{name}.sql"),
                format!("-- pgsafe: nothing to undo here; revert/{change}.sql undoes the draft, and a full revert reaches it last.\n"),
            );
        } else if let Some(down) = plan.down {
            out.add(format!("revert/{name}.sql"), down.to_string());
        }
    }
    let verify = format!("verify/{change}.sql");
    if let (Some(text), Some(last)) = (at.read.get(&verify), names.last().filter(|_| names.len() > 1)) {
        out.add(format!("verify/{last}.sql"), text.clone());
        out.add(verify, format!("-- pgsafe: verify/{last}.sql checks what the draft leaves, after its last step.\n"));
    }
    let (head, tail) = lines.split_at(line_no + 1);
    let mut text: String = head.iter().map(|l| format!("{l}\n")).collect();
    new_lines.iter().for_each(|l| text.push_str(&format!("{l}\n")));
    tail.iter().for_each(|l| text.push_str(&format!("{l}\n")));
    out.add("sqitch.plan", text);
    Ok(out)
}
