//! `--format json`: one document for the whole run. Versioned by `format_version`, its first key
//! (a reader checks it before anything else); a field is only ever added within a version.
//! Documented in README.md ("Machine-readable output").
//!
//! ```text
//! { "format_version": 1, "pgsafe": "0.1.0",
//!   "files": [ { "file", "runner", "runner_evidence", "changed", "error", "error_at": {"line","column"},
//!                "diagnostics": [ { "rule", "severity": "error"|"warning"|"note", "message", "help",
//!                                   "start": {"line","column","offset"}, "end": {…},
//!                                   "fix": { "applied", "description", "edits": [ {"start","end","text"} ] } } ],
//!                "plan": [ { "file", "mode", "why" } ], "manifest": { … } } ],
//!   "summary": { "files", "changed", "errors", "warnings", "failed" } }
//! ```

use super::stream::{write_pretty, Seq, Sorted};
use super::Outcome;
use crate::diagnostic::{Diagnostic, Severity};
use crate::emit::manifest::Manifest;
use crate::Compilation;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::io;

pub const FORMAT_VERSION: u32 = 1;

// Every object below but the document lists its keys in alphabetical order: the first version
// of this report was built with `serde_json::json!`, which sorts them, and a version-1 document
// keeps its bytes.

/// The document, its keys in this order (the version first).
#[derive(Serialize)]
struct Document<F> {
    format_version: u32,
    pgsafe: &'static str,
    files: F,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    changed: usize,
    errors: usize,
    failed: usize,
    files: usize,
    warnings: usize,
}

type Each<'a, T> = Seq<Box<dyn Iterator<Item = T> + 'a>>;

#[derive(Serialize)]
struct File<'a> {
    changed: bool,
    diagnostics: Each<'a, Finding<'a>>,
    error: Option<&'a str>,
    /// Where in the file the error is, when it has a place there (the message names it too).
    error_at: Option<At>,
    file: &'a str,
    manifest: Option<SortedManifest<'a>>,
    plan: Each<'a, Step<'a>>,
    runner: &'static str,
    runner_evidence: Option<&'a str>,
}

#[derive(Serialize)]
struct Finding<'a> {
    end: Point,
    fix: Option<Fix<'a>>,
    help: Option<&'a str>,
    message: &'a str,
    rule: &'static str,
    severity: Severity,
    start: Point,
}

#[derive(Serialize)]
struct Fix<'a> {
    applied: bool,
    description: &'a str,
    edits: Vec<Edit<'a>>,
}

#[derive(Serialize)]
struct Edit<'a> {
    end: Point,
    start: Point,
    text: &'a str,
}

#[derive(Serialize)]
struct Point {
    column: usize,
    line: usize,
    offset: usize,
}

#[derive(Serialize)]
struct At {
    column: usize,
    line: usize,
}

#[derive(Serialize)]
struct Step<'a> {
    file: &'a str,
    mode: &'static str,
    why: &'a str,
}

/// The manifest as `manifest.json` has it, but with its keys sorted at every level; its steps and
/// findings serialised one at a time.
struct SortedManifest<'a>(&'a Manifest);

impl Serialize for SortedManifest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut out = s.serialize_struct("Manifest", 7)?;
        out.serialize_field("changes", &Seq::new(m.changes.iter().map(Sorted)))?;
        out.serialize_field("diagnostics", &Seq::new(m.diagnostics.iter().map(Sorted)))?;
        out.serialize_field("down", &m.down)?;
        out.serialize_field("draft", &m.draft)?;
        out.serialize_field("pgsafe", &m.pgsafe)?;
        out.serialize_field("settings", &Sorted(&m.settings))?;
        out.serialize_field("steps", &Seq::new(m.steps.iter().map(Sorted)))?;
        out.end()
    }
}

/// A position: its line and column as an editor shows them, and its offset in the file's bytes
/// (a leading byte order mark, which pgsafe reads past, counted: a tool applying the edits writes
/// them into the file).
fn point(c: &Compilation, offset: usize) -> Point {
    let (line, column) = c.source.line_col(offset);
    let bom = if c.source.bom { crate::source::BOM.len_utf8() } else { 0 };
    Point { line, column, offset: offset + bom }
}

fn finding<'a>(c: &'a Compilation, d: &'a Diagnostic) -> Finding<'a> {
    Finding {
        rule: d.rule,
        severity: d.severity,
        message: &d.message,
        help: d.help.as_deref(),
        start: point(c, d.at),
        end: point(c, d.end),
        fix: d.fix.as_ref().map(|f| Fix {
            applied: f.applied,
            description: if f.description.is_empty() { &d.message } else { &f.description },
            edits: f
                .edits
                .iter()
                .map(|e| Edit { start: point(c, e.start), end: point(c, e.end), text: &e.text })
                .collect(),
        }),
    }
}

fn file(o: &Outcome) -> File<'_> {
    let (runner, runner_evidence) = match &o.runner {
        Some((r, why)) => (r.name(), Some(why.as_str())),
        None => ("psql", None),
    };
    let c = match &o.result {
        Err(e) => {
            return File {
                changed: false,
                diagnostics: Seq::new(Box::new(std::iter::empty())),
                error: Some(e),
                error_at: o.error_at.map(|(line, column)| At { column, line }),
                file: &o.path,
                manifest: None,
                plan: Seq::new(Box::new(std::iter::empty())),
                runner,
                runner_evidence,
            }
        }
        Ok(c) => c,
    };
    let steps = c.steps().map(|f| Step {
        file: &f.name,
        mode: match f.mode {
            Some(crate::plan::StepMode::Autocommit) => "autocommit",
            _ => "transaction",
        },
        why: &f.reason,
    });
    File {
        changed: c.changed(),
        diagnostics: Seq::new(Box::new(o.findings().into_iter().map(move |d| finding(c, d)))),
        error: None,
        error_at: None,
        file: &o.path,
        manifest: c.manifest.as_ref().map(SortedManifest),
        plan: Seq::new(Box::new(steps)),
        runner,
        runner_evidence,
    }
}

/// The whole run as one JSON document (pretty-printed, ending in a newline).
pub fn render(outcomes: &[Outcome]) -> String {
    super::in_memory(|out| write(outcomes, out))
}

/// [`render`], written to `out` as it is made.
pub fn write(outcomes: &[Outcome], out: &mut impl io::Write) -> io::Result<()> {
    let count = |f: &dyn Fn(&Outcome) -> usize| outcomes.iter().map(f).sum::<usize>();
    let doc = Document {
        format_version: FORMAT_VERSION,
        pgsafe: env!("CARGO_PKG_VERSION"),
        files: Seq::new(outcomes.iter().map(file)),
        summary: Summary {
            files: outcomes.len(),
            changed: count(&|o| o.result.as_ref().is_ok_and(|c| c.changed()) as usize),
            errors: count(&|o| o.result.as_ref().map_or(0, |c| c.changes.len())),
            warnings: count(&|o| o.result.as_ref().map_or(0, |c| c.diagnostics.len())),
            failed: count(&|o| o.result.is_err() as usize),
        },
    };
    write_pretty(&doc, out)
}
