//! Reports: what one run of `pgsafe check`/`fix`/`diff`/`review` found, in the format a reader
//! needs — text for a terminal, markdown for a pull-request comment, JSON for scripts, SARIF 2.1.0
//! for code scanning, workflow commands for GitHub Actions annotations. Formats only: every report
//! renders the same [`Outcome`]s.

pub mod github;
pub mod json;
pub mod markdown;
pub mod rules;
pub mod sarif;
mod stream;
pub mod text;

use crate::diagnostic::Diagnostic;
use crate::runner::Runner;
use crate::Compilation;

/// What happened to one input file.
#[derive(Debug)]
pub struct Outcome {
    /// The path as given (or found under a directory), for messages and report locations.
    pub path: String,
    /// The runner whose layout applies, and why (`None`: psql by default).
    pub runner: Option<(Runner, String)>,
    /// The compilation, or why there is none (`file:line:column: message`).
    pub result: Result<Compilation, String>,
    /// Where in `path` the error is (line, column; 1-based), when it has a place there: for the
    /// reports that locate it apart from the message.
    pub error_at: Option<(usize, usize)>,
}

impl Outcome {
    /// Every finding, rewrites first, each list in draft order.
    pub fn findings(&self) -> Vec<&Diagnostic> {
        let Ok(c) = &self.result else { return Vec::new() };
        let mut all: Vec<&Diagnostic> = c.changes.iter().chain(&c.diagnostics).collect();
        all.sort_by_key(|d| (d.severity, d.at, d.rule));
        all
    }

    pub fn runner_name(&self) -> &'static str {
        self.runner.as_ref().map_or("psql", |(r, _)| r.name())
    }
}

/// What `write` writes, as a string (tests, small reports, the diff for one file).
pub fn in_memory(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the drafts, the plans and the messages are UTF-8")
}

/// `(line, column)` of both ends of a finding (1-based; columns in characters; the end exclusive).
pub fn region(c: &Compilation, d: &Diagnostic) -> ((usize, usize), (usize, usize)) {
    (c.source.line_col(d.at), c.source.line_col(d.end))
}
