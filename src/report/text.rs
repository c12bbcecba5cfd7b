//! The pretty report of `pgsafe check`: each finding with the draft's lines under it, the
//! finding's bytes marked (annotate-snippets). The plain one, one line per finding, is
//! [`crate::diff::write_findings`].

use super::Outcome;
use crate::diagnostic::Severity;
use crate::Compilation;
use annotate_snippets::{Level, Renderer, Snippet};

/// Every finding with a source snippet: only the lines the finding covers are given to the
/// renderer, so a large draft costs no more than a small one.
pub fn pretty(o: &Outcome, c: &Compilation, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let text = c.source.text.as_str();
    let mut out = String::new();
    for d in o.findings() {
        let start = text[..d.at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
        let end = text[d.end.min(text.len())..].find('\n').map_or(text.len(), |i| d.end + i);
        let (line, _) = c.source.line_col(start);
        let level = match d.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
            Severity::Note => Level::Note,
        };
        let label = if d.severity == Severity::Error { "pgsafe fix rewrites this" } else { "" };
        let span = (d.at - start)..(d.end.max(d.at) - start);
        let help = d.help.as_deref().map(|h| Level::Help.title(h));
        let mut message = level.title(&d.message).id(d.rule).snippet(
            Snippet::source(&text[start..end])
                .line_start(line)
                .origin(&o.path)
                .fold(true)
                .annotation(level.span(span).label(label)),
        );
        if let Some(help) = help {
            message = message.footer(help);
        }
        out.push_str(&renderer.render(message).to_string());
        out.push_str("\n\n");
    }
    out
}
