//! One typed finding about a draft: the rule, how serious it is, the exact bytes it is about, the
//! message, and optionally help and the fix. Every report (terminal, markdown, JSON, SARIF, GitHub
//! annotations) is rendered from these; the passes only create them.

use serde::Serialize;
use std::ops::Range;

/// How a report should treat a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// pgsafe rewrites this (`check` fails on it; `fix` and `rewrite` repair it).
    Error,
    /// A reviewer must look: pgsafe reports it but cannot rewrite it safely.
    Warning,
    /// Information only.
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// How the problem is (or can be) fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// `true`: the plan already contains it (`pgsafe fix`/`rewrite` apply it); `false`: a
    /// suggestion for a person.
    pub applied: bool,
    /// What a suggestion asks for; empty for an applied fix, which is described by its change's
    /// message (reports print that: 35,000 changes of a big draft need no second copy).
    pub description: String,
    /// In-place replacements of draft bytes that are part of the fix (the rest of a fix is the
    /// plan's new steps: generated statements, moved statements).
    pub edits: Vec<FixEdit>,
}

/// One replacement of draft bytes `start..end` (an insertion when empty) by `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// A finding about the draft. `Change` (what pgsafe rewrote) is the same type with
/// [`Severity::Error`] and an applied fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    /// First draft byte the finding is about (for `file:line:column`).
    #[serde(skip)]
    pub at: usize,
    /// One past the last draft byte (`at..end`); a point (`end == at`) is widened to the end of
    /// its statement when the compilation finishes.
    #[serde(skip)]
    pub end: usize,
    pub message: String,
    /// What to do about it, when the message alone does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// A rewrite pgsafe made: an [`Severity::Error`] diagnostic whose fix is applied by the plan.
pub type Change = Diagnostic;

/// Where a finding points: one byte offset (widened later to its statement) or a byte range.
pub struct At(pub Range<usize>);

impl From<usize> for At {
    fn from(at: usize) -> At {
        At(at..at)
    }
}

impl From<Range<usize>> for At {
    fn from(r: Range<usize>) -> At {
        At(r)
    }
}

impl Diagnostic {
    pub fn new(rule: &'static str, severity: Severity, at: impl Into<At>, mut message: String) -> Diagnostic {
        let At(r) = at.into();
        // `format!` reserves about twice its literal text: a big draft's findings are held until
        // they are printed, and the slack was a third of their memory.
        message.shrink_to_fit();
        Diagnostic { rule, severity, at: r.start, end: r.end.max(r.start), message, help: None, fix: None }
    }

    /// The draft bytes it is about.
    pub fn span(&self) -> Range<usize> {
        self.at..self.end
    }

    /// A rewrite pgsafe made: an error whose fix the plan applies.
    pub fn change(rule: &'static str, at: impl Into<At>, message: String) -> Diagnostic {
        let fix = Fix { applied: true, description: String::new(), edits: Vec::new() };
        Diagnostic { fix: Some(fix), ..Diagnostic::new(rule, Severity::Error, at, message) }
    }

    /// With a help text (`Diagnostic::new(..).help(..)`).
    pub fn help(self, help: impl Into<String>) -> Diagnostic {
        Diagnostic { help: Some(help.into()), ..self }
    }

    /// Pointing at `range` instead of the offset it was created with.
    pub fn span_to(self, range: Range<usize>) -> Diagnostic {
        Diagnostic { at: range.start, end: range.end.max(range.start), ..self }
    }

    /// With a fix for a person to apply (not in the plan).
    pub fn suggest(self, description: impl Into<String>) -> Diagnostic {
        Diagnostic { fix: Some(Fix { applied: false, description: description.into(), edits: Vec::new() }), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_or_a_range() {
        let d = Diagnostic::new("r", Severity::Warning, 4, "m".into());
        assert_eq!(d.span(), 4..4);
        let d = Diagnostic::new("r", Severity::Warning, 4..9, "m".into());
        assert_eq!(d.span(), 4..9);
        let d = Diagnostic::new("r", Severity::Warning, At(9..9), "m".into());
        assert_eq!(d.span(), 9..9);
        let d = d.span_to(2..3).help("h").suggest("s");
        assert_eq!((d.span(), d.help.as_deref()), (2..3, Some("h")));
        assert!(!d.fix.unwrap().applied);
        assert!(Diagnostic::change("r", 1, "m".into()).fix.unwrap().applied);
    }
}
