//! `--format json`: one document for the whole run. Versioned by `format_version`, its first key
//! (a reader checks it before anything else); a field is only ever added within a version.
//! Documented in README.md ("Machine-readable output").
//!
//! ```text
//! { "format_version": 1, "pgsafe": "0.1.0",
//!   "files": [ { "file", "runner", "runner_evidence", "changed", "error",
//!                "diagnostics": [ { "rule", "severity": "error"|"warning"|"note", "message", "help",
//!                                   "start": {"line","column","offset"}, "end": {…},
//!                                   "fix": { "applied", "description", "edits": [ {"start","end","text"} ] } } ],
//!                "plan": [ { "file", "mode", "why" } ], "manifest": { … } } ],
//!   "summary": { "files", "changed", "errors", "warnings", "failed" } }
//! ```

use super::Outcome;
use crate::Compilation;
use serde::Serialize;
use serde_json::{json, Value};

pub const FORMAT_VERSION: u32 = 1;

/// The document, its keys in this order (`json!` would sort them).
#[derive(Serialize)]
struct Document {
    format_version: u32,
    pgsafe: &'static str,
    files: Vec<Value>,
    summary: Value,
}

fn point(c: &Compilation, offset: usize) -> Value {
    let (line, column) = c.source.line_col(offset);
    json!({ "line": line, "column": column, "offset": offset })
}

fn file(o: &Outcome) -> Value {
    let (runner, evidence) = match &o.runner {
        Some((r, why)) => (r.name(), Some(why.as_str())),
        None => ("psql", None),
    };
    let c = match &o.result {
        Err(e) => {
            return json!({ "file": o.path, "runner": runner, "runner_evidence": evidence, "changed": false, "error": e,
                           "diagnostics": [], "plan": [], "manifest": null })
        }
        Ok(c) => c,
    };
    let diagnostics: Vec<Value> = o
        .findings()
        .into_iter()
        .map(|d| {
            json!({
                "rule": d.rule,
                "severity": d.severity,
                "message": d.message,
                "help": d.help,
                "start": point(c, d.at),
                "end": point(c, d.end),
                "fix": d.fix.as_ref().map(|f| json!({
                    "applied": f.applied,
                    "description": if f.description.is_empty() { &d.message } else { &f.description },
                    "edits": f.edits.iter().map(|e| json!({ "start": point(c, e.start), "end": point(c, e.end), "text": e.text })).collect::<Vec<_>>(),
                })),
            })
        })
        .collect();
    let plan: Vec<Value> = c
        .steps()
        .map(|f| {
            let mode = match f.mode {
                Some(crate::plan::StepMode::Autocommit) => "autocommit",
                _ => "transaction",
            };
            json!({ "file": f.name, "mode": mode, "why": f.reason })
        })
        .collect();
    let manifest: Value = serde_json::to_value(&c.manifest).unwrap_or(Value::Null);
    json!({ "file": o.path, "runner": runner, "runner_evidence": evidence, "changed": c.changed(), "error": null,
            "diagnostics": diagnostics, "plan": plan, "manifest": manifest })
}

/// The whole run as one JSON document (pretty-printed, ending in a newline).
pub fn render(outcomes: &[Outcome]) -> String {
    let count = |f: &dyn Fn(&Outcome) -> usize| outcomes.iter().map(f).sum::<usize>();
    let doc = Document {
        format_version: FORMAT_VERSION,
        pgsafe: env!("CARGO_PKG_VERSION"),
        files: outcomes.iter().map(file).collect(),
        summary: json!({
            "files": outcomes.len(),
            "changed": count(&|o| o.result.as_ref().is_ok_and(|c| c.changed()) as usize),
            "errors": count(&|o| o.result.as_ref().map_or(0, |c| c.changes.len())),
            "warnings": count(&|o| o.result.as_ref().map_or(0, |c| c.diagnostics.len())),
            "failed": count(&|o| o.result.is_err() as usize),
        }),
    };
    serde_json::to_string_pretty(&doc).expect("JSON values serialise") + "\n"
}
