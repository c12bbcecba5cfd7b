//! `--format sarif`: SARIF 2.1.0 for code scanning. One run; the driver lists every rule with its
//! summary and its page as help; each finding is a result with its region (columns counted in
//! Unicode code points, end exclusive) and, for a rewrite, its in-place edits as a fix. A file
//! pgsafe could not read is a tool execution notification, not a result.

use super::{region, rules, Outcome};
use crate::diagnostic::Severity;
use serde_json::{json, Value};

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

/// A relative path as a URI reference (forward slashes, spaces and `%` escaped).
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path).replace('\\', "/");
    path.chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect()
}

pub fn render(outcomes: &[Outcome]) -> String {
    let ids: Vec<&str> = rules::all().collect();
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
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for o in outcomes {
        let c = match &o.result {
            Ok(c) => c,
            Err(e) => {
                notifications.push(json!({
                    "level": "error",
                    "message": { "text": e },
                    "locations": [ { "physicalLocation": { "artifactLocation": { "uri": uri(&o.path) } } } ],
                }));
                continue;
            }
        };
        for d in o.findings() {
            let (start, end) = region(c, d);
            let location = json!({ "physicalLocation": {
                "artifactLocation": { "uri": uri(&o.path) },
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
                    "description": { "text": if fix.description.is_empty() { d.message.clone() } else { fix.description.clone() } },
                    "artifactChanges": [ { "artifactLocation": { "uri": uri(&o.path) }, "replacements": replacements } ],
                }]);
            }
            results.push(result);
        }
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [ {
            "tool": { "driver": {
                "name": "pgsafe",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_entries,
            } },
            "columnKind": "unicodeCodePoints",
            "invocations": [ {
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            } ],
            "results": results,
        } ],
    });
    serde_json::to_string_pretty(&doc).expect("JSON values serialise") + "\n"
}
