//! A step file's body as the parts a migration runner treats differently: pgsafe's own `BEGIN`
//! and `COMMIT`/`ROLLBACK`, its timeout settings, the statements (and what each asks of a
//! transaction), comments, and the draft's migration-tool marker lines. `emit` builds them while
//! it renders, so the runner adapters and the review report read structure, never SQL text;
//! concatenated, the parts are the body byte for byte.

use crate::ir::migration::Migration;
use crate::ir::op::OpKind;
use crate::passes::{Mode, Unit};

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Commit,
    Rollback,
}

/// What a statement asks of the transaction around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    /// Runs inside a transaction block or outside one.
    Plain,
    /// Refuses a transaction block (`CONCURRENTLY`, `VACUUM`, a batched loop that commits).
    NoTransaction,
    /// The draft's own `BEGIN`/`START TRANSACTION`, in a step that keeps the draft's statements as
    /// written.
    DraftBegin,
    /// The draft's own `COMMIT`/`END`/`ROLLBACK`, likewise.
    DraftEnd(End),
    /// pgsafe's `DO` block before a concurrent build it made, which drops the INVALID index a
    /// failed run of the build left (`emit::leftover`). A runner that sends the file as one query
    /// leaves it out: the comment before it says what to drop by hand.
    Guard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// Comments and blank lines (pgsafe's `-- pgsafe:fact`/`created-earlier` lines included).
    Trivia,
    /// A migration tool's marker line from the draft (`-- migrate:up`, `-- +goose Up`, sqlx's
    /// `-- no-transaction`, goose's `StatementBegin`/`StatementEnd`): each runner layout writes
    /// its own.
    /// `no_transaction`: it opts out of the tool's transaction (`transaction:false`, `NO
    /// TRANSACTION`).
    Marker { opens_block: bool, closes_block: bool, no_transaction: bool },
    /// The `BEGIN` pgsafe puts around a transaction step.
    Begin,
    /// The `COMMIT` that ends it, or `ROLLBACK` where the draft rolls the transaction back.
    End(End),
    /// A timeout pgsafe sets for the step (`SET LOCAL lock_timeout = '100ms'`, or for the session
    /// in an autocommit step: `SET lock_timeout = 0` before a long statement).
    Setting,
    /// What an autocommit step puts back at its end for a timeout it set for the session: the
    /// draft's own value there, or `RESET` (a runner may go on to its next migration on the same
    /// connection).
    Restore,
    /// A statement: the draft's (edited or not, or replayed in a later step) or a generated one.
    Statement(Statement),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    /// Its text: a statement from its first word through its `;`, a same-line comment and the line
    /// break; comments and markers as whole lines.
    pub text: String,
}

impl Part {
    pub fn is_statement(&self) -> bool {
        matches!(self.kind, PartKind::Statement(_))
    }
}

/// The parts in order; adjacent comments are one part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts(pub Vec<Part>);

impl Parts {
    pub fn push(&mut self, kind: PartKind, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some(last) if kind == PartKind::Trivia && last.kind == PartKind::Trivia => last.text.push_str(&text),
            _ => self.0.push(Part { kind, text }),
        }
    }

    pub fn extend(&mut self, parts: impl IntoIterator<Item = Part>) {
        parts.into_iter().for_each(|p| self.push(p.kind, p.text));
    }

    /// Ends a goose `StatementBegin` block still open here: the draft's `StatementEnd` may lie
    /// in another step, and an open block would swallow what follows (the `COMMIT`, or the next
    /// step of a flattened plan).
    pub fn close_goose_block(&mut self) {
        let open = self.0.iter().fold(false, |open, p| match p.kind {
            PartKind::Marker { opens_block: true, .. } => true,
            PartKind::Marker { closes_block: true, .. } => false,
            _ => open,
        });
        if open {
            let line_start = self.0.last().is_none_or(|p| p.text.ends_with('\n'));
            let text = if line_start { "-- +goose StatementEnd\n" } else { "\n-- +goose StatementEnd\n" };
            self.push(PartKind::Marker { opens_block: false, closes_block: true, no_transaction: false }, text);
        }
    }
}

/// `parts` as one part of their text (a statement's kind when it holds one, else trivia), for a
/// reader of the text alone.
pub fn joined(mut parts: Vec<Part>) -> Vec<Part> {
    if parts.len() > 1 {
        let kind = parts.iter().find(|p| p.is_statement()).map_or(PartKind::Trivia, |p| p.kind);
        let mut text = String::with_capacity(parts.iter().map(|p| p.text.len()).sum());
        parts.iter().for_each(|p| text.push_str(&p.text));
        parts = vec![Part { kind, text }];
    }
    parts
}

/// What `unit`'s statement asks of a transaction.
pub fn statement_kind(m: &Migration<'_>, unit: &Unit) -> Statement {
    if unit.mode == Mode::Autocommit {
        return Statement::NoTransaction;
    }
    if unit.generated.is_some() {
        return Statement::Plain;
    }
    m.stmts[unit.stmt]
        .ops
        .iter()
        .find_map(|o| match o.kind {
            OpKind::Begin => Some(Statement::DraftBegin),
            OpKind::Commit { rollback } => {
                Some(Statement::DraftEnd(if rollback { End::Rollback } else { End::Commit }))
            }
            _ => None,
        })
        .unwrap_or(Statement::Plain)
}

/// `text` (a unit's rendered text, see `render::unit_text`) as parts: its leading comments, with
/// the draft's marker lines apart, then the statement.
pub fn unit_parts(m: &Migration<'_>, unit: &Unit, text: String) -> Vec<Part> {
    let kind = PartKind::Statement(statement_kind(m, unit));
    let s = &m.stmts[unit.stmt];
    let lead = if s.is_trivia() { s.span.len() } else { s.body.start - s.span.start };
    let source_lead = &m.src[s.span.start..s.span.start + lead];
    // A generated statement, or comments pgsafe edited: one part.
    if unit.generated.is_some() || !text.starts_with(source_lead) {
        return vec![Part {
            kind: if s.is_trivia() && unit.generated.is_none() { PartKind::Trivia } else { kind },
            text,
        }];
    }
    let mut out = Parts::default();
    let mut pos = s.span.start;
    for marker in s.markers.iter().filter(|k| k.line.end <= s.span.start + lead) {
        out.push(PartKind::Trivia, &m.src[pos..marker.line.start]);
        let kind = PartKind::Marker {
            opens_block: marker.opens_block,
            closes_block: marker.closes_block,
            no_transaction: marker.no_transaction,
        };
        out.push(kind, &m.src[marker.line.clone()]);
        pos = marker.line.end;
    }
    out.push(PartKind::Trivia, &m.src[pos..s.span.start + lead]);
    // The statement: the text without its leading comments, cut in place (a copy of a 100 MB
    // function would be held next to the text until the step is built).
    let mut rest = text;
    rest.drain(..lead);
    if s.is_trivia() {
        match out.0.last_mut() {
            Some(last) if last.kind == PartKind::Trivia => last.text.push_str(&rest),
            _ => out.push(PartKind::Trivia, rest),
        }
    } else {
        out.push(kind, rest);
    }
    out.0
}
