//! `pgsafe review` / `--format markdown`: a pull-request comment. Per migration: a one-line
//! verdict, the steps as a table (file, transaction or not, locks on which tables, what ordinary
//! traffic each blocks and how long it may wait for its lock), the reason for each change, the
//! warnings, and the diff from draft to plan in a collapsible section. When `pgsafe verify` ran
//! (its JSON report given), its equivalence and stall numbers follow.

use super::Outcome;
use crate::diagnostic::Severity;
use crate::{diff, Compilation};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;

fn blocks(mode: &str) -> &'static str {
    match mode {
        "ACCESS EXCLUSIVE" => "reads and writes",
        "SHARE" | "SHARE ROW EXCLUSIVE" | "EXCLUSIVE" => "writes",
        _ => "nothing",
    }
}

/// The table of steps, from the manifest.
fn steps_table(c: &Compilation, out: &mut impl io::Write) -> io::Result<()> {
    out.write_all(b"| step | runs | locks | blocks | waits at most |\n|---|---|---|---|---|\n")?;
    let entries = c.manifest.iter().flat_map(|m| &m.steps);
    for (entry, file) in entries.zip(c.steps()) {
        let mut locks: Vec<(&str, &str)> = entry.locks.iter().map(|l| (l.table.as_str(), l.mode)).collect();
        locks.dedup();
        let blocked: Vec<String> = locks
            .iter()
            .filter(|(_, m)| blocks(m) != "nothing")
            .map(|(t, m)| format!("{} on `{t}`", blocks(m)))
            .collect();
        let wait = if blocked.is_empty() {
            "—".to_string()
        } else {
            match file.lock_timeout.as_deref() {
                Some(t) if t != "0" => format!("{t} (lock_timeout)"),
                _ => "no lock_timeout".to_string(),
            }
        };
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            file.name,
            entry.mode,
            if locks.is_empty() {
                "—".to_string()
            } else {
                locks.iter().map(|(t, m)| format!("{m} `{t}`")).collect::<Vec<_>>().join(", ")
            },
            if blocked.is_empty() { "nothing".to_string() } else { blocked.join("; ") },
            wait
        )?;
    }
    Ok(())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// One migration's section. `verify`: `pgsafe verify --format json`'s report for it, if any.
fn migration(o: &Outcome, verify: Option<&Value>, out: &mut impl io::Write) -> io::Result<()> {
    let c = match &o.result {
        Err(e) => return writeln!(out, "### ❌ `{}`\n\npgsafe could not read it: {}\n", o.path, cell(e)),
        Ok(c) => c,
    };
    let steps = c.steps().count();
    let warnings = c.diagnostics.len();
    let verdict = if c.changed() {
        format!("rewritten into {steps} step{} ({} change{})", plural(steps), c.changes.len(), plural(c.changes.len()))
    } else {
        "safe as written".to_string()
    };
    writeln!(
        out,
        "### {} `{}` — {verdict}{}\n",
        if c.changed() {
            "🔧"
        } else if warnings > 0 {
            "⚠️"
        } else {
            "✅"
        },
        o.path,
        if warnings > 0 { format!(", {warnings} warning{}", plural(warnings)) } else { String::new() }
    )?;
    if let Some((runner, why)) = &o.runner {
        writeln!(out, "Layout: **{runner}** ({why}).\n")?;
    }
    let findings = o.findings();
    if c.changed() {
        steps_table(c, out)?;
        out.write_all(b"\n**Why:**\n\n")?;
        for d in findings.iter().filter(|d| d.severity == Severity::Error) {
            let (line, _) = c.source.line_col(d.at);
            writeln!(out, "- line {line}, `{}`: {}", d.rule, cell(&d.message))?;
        }
        out.write_all(b"\n")?;
    }
    if warnings > 0 {
        out.write_all(b"**Needs a reviewer:**\n\n")?;
        for d in findings.iter().filter(|d| d.severity != Severity::Error) {
            let (line, _) = c.source.line_col(d.at);
            writeln!(out, "- line {line}, `{}`: {}", d.rule, cell(&d.message))?;
        }
        out.write_all(b"\n")?;
    }
    if let Some(v) = verify {
        out.write_all(verify_summary(v).as_bytes())?;
    }
    if c.changed() {
        // The view's linear diff (a whole-file Myers diff is quadratic when every statement
        // changes: 13 minutes for 100,000 statements), with two lines of context, written as it is
        // made (counted first: the summary line gives its length).
        let flat = crate::emit::Flat::new(diff::plan_files(c));
        let diff = diff::plan_diff(c, &flat).context(2);
        let lines = diff.unified_lines();
        write!(out, "<details><summary>Diff from the draft to the plan ({lines} lines)</summary>\n\n```diff\n")?;
        diff.write_unified(&o.path, "plan", out)?;
        out.write_all(b"```\n\n</details>\n\n")?;
    }
    Ok(())
}

/// `pgsafe verify`'s numbers (its `--format json` report): schema equivalence, and under `--load`
/// the longest write and read stalls and p99 latency, draft against plan.
fn verify_summary(v: &Value) -> String {
    let mut out = String::from("**Verified on PostgreSQL");
    if let Some(server) = v["server_version"].as_str() {
        let _ = write!(out, " {server}");
    }
    out.push_str(":**");
    if let Some(ok) = v["equivalence"]["equivalent"].as_bool() {
        let _ = write!(out, " same schema as the draft: {}.", if ok { "yes" } else { "**no**" });
    }
    let load = &v["load"];
    if load.is_object() {
        out.push_str(
            "

| | longest write stall | longest read stall | p99 | failed |
|---|---|---|---|---|
",
        );
        for side in ["draft", "plan"] {
            let r = &load[side];
            let _ = writeln!(
                out,
                "| {side} | {:.2} s | {:.2} s | {:.0} ms | {} |",
                r["write_stall"]["seconds"].as_f64().unwrap_or(f64::NAN),
                r["read_stall"]["seconds"].as_f64().unwrap_or(f64::NAN),
                r["p99_ms"].as_f64().unwrap_or(f64::NAN),
                r["failed"].as_u64().unwrap_or(0)
            );
        }
    }
    if let Some(problems) = v["problems"].as_array().filter(|p| !p.is_empty()) {
        for p in problems {
            let _ = write!(out, "\n- {}", cell(p.as_str().unwrap_or("")));
        }
    }
    out.push_str("\n\n");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The whole review: a summary line, then one section per migration that needs attention (safe
/// files are only counted).
pub fn render(outcomes: &[Outcome], verify: &HashMap<String, Value>) -> String {
    super::in_memory(|out| write(outcomes, verify, out))
}

/// [`render`], written to `out` as it is made (a big draft's diff alone is larger than the draft).
pub fn write(outcomes: &[Outcome], verify: &HashMap<String, Value>, out: &mut impl io::Write) -> io::Result<()> {
    let changed = outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|c| c.changed())).count();
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let warned = outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|c| !c.diagnostics.is_empty())).count();
    write!(
        out,
        "## pgsafe review\n\n{} migration{} checked: {changed} to rewrite, {warned} with warnings, {failed} unreadable.\n\n",
        outcomes.len(),
        plural(outcomes.len())
    )?;
    for o in outcomes {
        let quiet = o.result.as_ref().is_ok_and(|c| !c.changed() && c.diagnostics.is_empty());
        if !quiet {
            migration(o, verify.get(&o.path), out)?;
        }
    }
    Ok(())
}
