//! goose: `NNNNN_name.sql` (or a timestamp) with `-- +goose Up` / `-- +goose Down`. Each file runs
//! in a transaction unless it says `-- +goose NO TRANSACTION`; statements are sent one by one,
//! cut at a `;` that ends a line, except between `-- +goose StatementBegin` and `StatementEnd`
//! (internal/sqlparser/parser.go). goose refuses a new file with a lower version than one already
//! applied unless `-allow-missing`, so new steps take the versions right after the draft's.
//! `NO TRANSACTION` holds for a whole file, Up and Down (goose's `UseTx`, read once per file):
//! checked here against goose's documented rules and source, not a goose binary (none installs here).

use super::step::parts::{Part, PartKind};
use super::version;
use super::{down_for, Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let envsub_on = |l: &str| {
        let l = l.to_ascii_lowercase();
        words(&l).eq(["--", "+goose", "envsub", "on"])
    };
    if plan.text.lines().any(envsub_on) {
        // goose would substitute `$name` in what pgsafe writes too (`$pgsafe$`, `format`'s
        // `%1$I`), and a step moved away from the marker would lose the substitution of the
        // draft's own `${VAR}` (a probe's plan wrote the literal `${REGION}` into every row).
        return Err(format!(
            "{}: uses -- +goose ENVSUB ON, and goose would substitute environment variables in the SQL pgsafe \
             writes as well as in the draft's: pgsafe does not lay out such a draft. Move the statements that \
             need substitution into a migration of their own (left as written), or set the values another way",
            at.draft
        ));
    }
    let stem = at.draft.strip_suffix(".sql").unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: goose runs files named <VERSION>_<name>.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    // goose reads `NO TRANSACTION` once per file, for its Up and its Down alike. The draft's Down
    // goes with the first step; where that step runs in the other mode, the Down would too (a
    // `DROP INDEX CONCURRENTLY` in a transaction fails; a transactional Down would run statement
    // by statement). Then the draft's file keeps its mode and its Down, with an empty Up (goose
    // records its version and runs nothing), and every step comes after it.
    let draft_no_transaction = plan.text.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        words(&l).eq(["--", "+goose", "no", "transaction"])
    });
    let down_apart = plan.down.is_some() && plan.steps.first().is_some_and(|s| s.autocommit != draft_no_transaction);
    let files = plan.steps.len() + usize::from(down_apart);
    let versions = version::after(v, files, &existing, "goose")?;
    let mut out = Layout::default();
    if down_apart {
        let mut text = String::new();
        if draft_no_transaction {
            text.push_str("-- +goose NO TRANSACTION\n");
        }
        text.push_str(
            "-- +goose Up\n-- pgsafe: the draft's statements run in the steps after this one; this file keeps the \
             draft's Down, in the draft's transaction mode (goose reads NO TRANSACTION for a whole file).\n",
        );
        text.push_str("\n-- +goose Down\n");
        plan.down_parts.iter().for_each(|p| text.push_str(&guarded(p)));
        out.add(at.draft.clone(), text);
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let k = i + usize::from(down_apart);
        let name = if k == 0 { at.draft.clone() } else { format!("{}_{}.sql", versions[k - 1], step.slug) };
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
        if let Some(down) = down_for(plan, k + 1, &at.draft) {
            text.push_str("\n-- +goose Down\n");
            if k == 0 {
                plan.down_parts.iter().for_each(|p| text.push_str(&guarded(p)));
            } else {
                text.push_str(&down);
            }
        }
        out.add_step(name, text);
    }
    Ok(out)
}

/// A statement goose would cut in the wrong place goes between `StatementBegin` and
/// `StatementEnd`: one with a line inside it that goose takes for a statement's end (a `DO`
/// body's `;`), or whose last line goose does not take for one (it would join the next
/// statement, or fail at the end of the file as an unfinished query).
fn guarded(p: &Part) -> String {
    let lines: Vec<&str> = p.text.trim_end().lines().collect();
    let cut_inside = lines.iter().rev().skip(1).any(|l| goose_ends_statement(l));
    let ends = lines.last().is_some_and(|l| goose_ends_statement(l));
    if p.is_statement() && (cut_inside || !ends) {
        format!("-- +goose StatementBegin\n{}\n-- +goose StatementEnd\n", p.text.trim_end_matches(['\n', '\r']))
    } else {
        p.text.clone()
    }
}

/// goose's test for the end of a statement (`endsWithSemicolon`, internal/sqlparser/parser.go):
/// the line's last blank-separated word before one starting with `--` ends with `;`. So a
/// `;` followed by a comment ends one, and a `--` inside a string hides the `;` after it.
fn goose_ends_statement(line: &str) -> bool {
    words(line).take_while(|w| !w.starts_with("--")).last().is_some_and(|w| w.ends_with(';'))
}

fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_where_goose_ends_them() {
        assert!(goose_ends_statement("  INSERT INTO audit (msg) VALUES ('done'); -- record it"));
        assert!(goose_ends_statement("SELECT 1;"));
        assert!(!goose_ends_statement("COMMENT ON COLUMN t.c IS 'free text -- may be empty';"));
        assert!(!goose_ends_statement("BEGIN"));
        assert!(!goose_ends_statement("-- a comment;"));
    }
}
