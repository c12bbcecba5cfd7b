//! `--format sarif`: SARIF 2.1.0 for code scanning. One run; the driver lists every rule with its
//! summary and its page as help; each finding is a result with its region (columns counted in
//! Unicode code points, end exclusive) and, for a rewrite, its in-place edits as a fix. A file
//! pgsafe could not read is a tool execution notification, not a result (with the error's line
//! and column as its region when it has them).

use super::stream::{write_pretty, Seq};
use super::{region, rules, Outcome};
use crate::diagnostic::{Diagnostic, Severity};
use crate::Compilation;
use serde::Serialize;
use serde_json::{json, Value};
use std::io;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn region_json(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({ "startLine": start.0, "startColumn": start.1, "endLine": end.0, "endColumn": end.1 })
}

/// A relative path as a URI reference: forward slashes, and every byte but letters, digits,
/// `-._~` and `/` percent-encoded (a space or line break is no URI character, and a `:` in the
/// first segment would read as a scheme).
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path).replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The document; its keys, and every object's below, in alphabetical order (as version 1 of this
/// report, built with `serde_json::json!`, wrote them).
#[derive(Serialize)]
struct Document<R> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<R>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<R> {
    column_kind: &'static str,
    invocations: Value,
    /// One per finding, serialised as made (a big draft has hundreds of thousands).
    results: R,
    tool: Value,
}

/// The driver: pgsafe and every rule with its summary and its page as help.
fn tool(ids: &[&str]) -> Value {
    let rule_entries: Vec<Value> = ids
        .iter()
        .map(|id| {
            let doc = rules::doc(id).unwrap_or_default();
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": rules::summary(id) },
                "fullDescription": { "text": rules::summary(id) },
                "help": { "text": doc, "markdown": doc },
                "defaultConfiguration": { "level": if crate::passes::RULES.contains(id) { "error" } else { "warning" } },
            })
        })
        .collect();
    json!({ "driver": { "name": "pgsafe", "version": env!("CARGO_PKG_VERSION"), "rules": rule_entries } })
}

/// A finding `d` of the compilation `c` of the file at `path`.
fn result(path: &str, c: &Compilation, d: &Diagnostic, ids: &[&str]) -> Value {
    let (start, end) = region(c, d);
    let location = json!({ "physicalLocation": {
        "artifactLocation": { "uri": uri(path) },
        "region": region_json(start, end),
    }});
    let mut result = json!({
        "ruleId": d.rule,
        "level": level(d.severity),
        "message": { "text": match &d.help { Some(h) => format!("{} {h}", d.message), None => d.message.clone() } },
        "locations": [location],
    });
    if let Some(i) = ids.iter().position(|r| *r == d.rule) {
        result["ruleIndex"] = json!(i);
    }
    if let Some(fix) = d.fix.as_ref().filter(|f| !f.edits.is_empty()) {
        let replacements: Vec<Value> = fix
            .edits
            .iter()
            .map(|e| {
                json!({
                    "deletedRegion": region_json(c.source.line_col(e.start), c.source.line_col(e.end)),
                    "insertedContent": { "text": e.text },
                })
            })
            .collect();
        result["fixes"] = json!([{
            "description": { "text": if fix.description.is_empty() { &d.message } else { &fix.description } },
            "artifactChanges": [ { "artifactLocation": { "uri": uri(path) }, "replacements": replacements } ],
        }]);
    }
    result
}

/// The whole run as one SARIF document (pretty-printed, ending in a newline).
pub fn render(outcomes: &[Outcome]) -> String {
    super::in_memory(|out| write(outcomes, out))
}

/// [`render`], written to `out` as it is made.
pub fn write(outcomes: &[Outcome], out: &mut impl io::Write) -> io::Result<()> {
    let ids: Vec<&str> = rules::all().collect();
    let notifications: Vec<Value> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|e| (o, e)))
        .map(|(o, e)| {
            let mut location = json!({ "artifactLocation": { "uri": uri(&o.path) } });
            if let Some((line, column)) = o.error_at {
                location["region"] = json!({ "startLine": line, "startColumn": column });
            }
            json!({
                "level": "error",
                "message": { "text": e },
                "locations": [ { "physicalLocation": location } ],
            })
        })
        .collect();
    let results = outcomes.iter().filter_map(|o| o.result.as_ref().ok().map(|c| (o, c))).flat_map(|(o, c)| {
        let ids = &ids;
        o.findings().into_iter().map(move |d| result(&o.path, c, d, ids))
    });
    let doc = Document {
        schema: SCHEMA,
        runs: [Run {
            column_kind: "unicodeCodePoints",
            invocations: json!([ {
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            } ]),
            results: Seq::new(results),
            tool: tool(&ids),
        }],
        version: "2.1.0",
    };
    write_pretty(&doc, out)
}
