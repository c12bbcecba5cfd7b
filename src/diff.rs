//! The review view: a unified diff from the draft to the flattened plan, and the list of changes
//! with their rule and reason, for a terminal (optionally coloured) or a pull request (markdown).

use crate::Compilation;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal { color: bool },
    Markdown,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// The diff and the change list, ready to print.
pub fn render(c: &Compilation, format: Format) -> String {
    let plan_name = "plan";
    let flat = c.flattened();
    let diff = TextDiff::from_lines(c.source.text.as_str(), flat.as_str());
    let unified = diff.unified_diff().context_radius(3).header(&c.source.name, plan_name).to_string();
    let mut out = String::new();
    match format {
        Format::Markdown => {
            let _ = writeln!(out, "### pgsafe: `{}` → {} step(s)\n", c.source.name, c.steps().count());
            if c.changes.is_empty() {
                out.push_str("No change needed: the draft is already safe.\n");
            } else {
                out.push_str("```diff\n");
                out.push_str(&unified);
                if !unified.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str("```\n\n| rule | where | why |\n|---|---|---|\n");
                for ch in &c.changes {
                    let _ = writeln!(
                        out,
                        "| `{}` | `{}` | {} |",
                        ch.rule,
                        c.source.position(ch.at),
                        ch.message.replace('|', "\\|")
                    );
                }
            }
            if !c.diagnostics.is_empty() {
                out.push_str("\n**Needs a reviewer:**\n\n");
                for d in &c.diagnostics {
                    let _ = writeln!(out, "- `{}` `{}`: {}", d.rule, c.source.position(d.at), d.message);
                }
            }
        }
        Format::Terminal { color } => {
            let paint = |code: &str, text: &str| {
                if color {
                    format!("{code}{text}{RESET}")
                } else {
                    text.to_string()
                }
            };
            if !c.changes.is_empty() {
                for group in diff.grouped_ops(3) {
                    for op in group {
                        for change in diff.iter_changes(&op) {
                            let (sign, code) = match change.tag() {
                                ChangeTag::Delete => ("-", RED),
                                ChangeTag::Insert => ("+", GREEN),
                                ChangeTag::Equal => (" ", ""),
                            };
                            let line = format!("{sign}{}", change.value().trim_end_matches(['\n', '\r']));
                            let line = if code.is_empty() { line } else { paint(code, &line) };
                            let _ = writeln!(out, "{line}");
                        }
                    }
                    let _ = writeln!(out, "{}", paint(CYAN, "···"));
                }
                let _ = writeln!(out);
            }
            out.push_str(&findings(c, color));
        }
    }
    out
}

/// The change and diagnostic lines alone (what `pgsafe check` prints), uncoloured.
pub fn render_findings(c: &Compilation) -> String {
    findings(c, false)
}

fn findings(c: &Compilation, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    {
        {
            for ch in &c.changes {
                let _ = writeln!(
                    out,
                    "{} {} {}",
                    paint(BOLD, &c.source.position(ch.at)),
                    paint(GREEN, ch.rule),
                    ch.message
                );
            }
            for d in &c.diagnostics {
                let _ = writeln!(
                    out,
                    "{} {} {}",
                    paint(BOLD, &c.source.position(d.at)),
                    paint(YELLOW, &format!("warning[{}]", d.rule)),
                    d.message
                );
            }
        }
    }
    out
}
