//! GitHub Actions workflow commands: one `::error`/`::warning` line per finding, which the runner
//! turns into an annotation on the pull request's changed lines. Printed automatically when
//! `GITHUB_ACTIONS=true`, or with `--format github`.

use super::{region, Outcome};
use crate::diagnostic::Severity;

/// Workflow-command data: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: also `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let c = match &o.result {
            Ok(c) => c,
            Err(e) => {
                let at = o.error_at.map_or(String::new(), |(line, col)| format!(",line={line},col={col}"));
                out.push_str(&format!("::error file={}{at},title=pgsafe::{}\n", property(&o.path), data(e)));
                continue;
            }
        };
        for d in o.findings() {
            let ((line, col), (end_line, end_col)) = region(c, d);
            let command = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            let mut message = d.message.clone();
            if d.severity == Severity::Error {
                message.push_str(" (pgsafe fix rewrites it)");
            }
            out.push_str(&format!(
                "::{command} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
                property(&o.path),
                property(d.rule),
                data(&message)
            ));
        }
    }
    out
}
