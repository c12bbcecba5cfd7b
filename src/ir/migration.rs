//! The whole draft as IR: its statements in order, each with its ops, section and directives.

use super::lower::lower;
use super::name::Name;
use super::op::{Op, OpKind};
use crate::front::split::{MarkerKind, Piece, PieceKind};
use std::collections::HashMap;
use std::ops::Range;

/// Which part of a goose/dbmate file a statement is in. `Down` statements are never rewritten:
/// they are not part of the forward migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    /// The whole piece: leading trivia, body, `;`, trailing same-line comment.
    pub span: Range<usize>,
    /// The statement itself (empty for trivia).
    pub body: Range<usize>,
    pub terminated: bool,
    pub ops: Vec<Op>,
    pub section: Section,
    /// Rules a `-- pgsafe:ignore` directive turned off for this statement (`None` inside = all).
    pub ignored: Vec<Option<String>>,
    /// The parser gave up on an expression nested too deep: only the statement's first words
    /// are understood.
    pub too_deep: bool,
}

impl Stmt {
    pub fn ignores(&self, rule: &str) -> bool {
        self.ignored.iter().any(|r| r.as_deref().is_none_or(|r| r == rule))
    }

    pub fn is_trivia(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The draft, lowered. `created` answers "was this relation created earlier in this draft (or in an
/// earlier step of the same plan)?", which means it has no traffic yet.
#[derive(Debug)]
pub struct Migration<'a> {
    pub src: &'a str,
    pub stmts: Vec<Stmt>,
    /// base name → (key, 1 + index of the creating statement; 0 for a directive).
    created: HashMap<String, Vec<(String, usize)>>,
    /// Facts an earlier step of a plan established (`-- pgsafe:validated-not-null orders.status`).
    facts: std::collections::HashSet<String>,
}

/// Directive pgsafe writes above a step that relies on a fact an earlier step established.
pub const FACT: &str = "-- pgsafe:fact ";

/// Directive pgsafe writes into later plan steps: these relations were created by an earlier step.
pub const CREATED_EARLIER: &str = "-- pgsafe:created-earlier ";

impl<'a> Migration<'a> {
    pub fn lower(src: &'a str, pieces: &[Piece]) -> Migration<'a> {
        let mut stmts = Vec::with_capacity(pieces.len());
        let mut section = Section::Up;
        let mut created: HashMap<String, Vec<(String, usize)>> = HashMap::new();
        let mut facts = std::collections::HashSet::new();
        for piece in pieces {
            let mut ignored = Vec::new();
            for m in &piece.markers {
                match &m.kind {
                    MarkerKind::GooseDown | MarkerKind::DbmateDown => section = Section::Down,
                    MarkerKind::GooseUp | MarkerKind::DbmateUp => section = Section::Up,
                    MarkerKind::PgsafeIgnore(rules) if rules.is_empty() => ignored.push(None),
                    MarkerKind::PgsafeIgnore(rules) => ignored.extend(rules.iter().cloned().map(Some)),
                    _ => {}
                }
            }
            let index = stmts.len();
            let mut too_deep = false;
            let (body, terminated, ops) = match &piece.kind {
                PieceKind::Statement { body, terminated } => {
                    let ops = if body.is_empty() {
                        vec![Op {
                            span: body.clone(),
                            kind: OpKind::Other { what: "empty statement".into() },
                            locks: Vec::new(),
                        }]
                    } else {
                        let lowered = lower(src, body.clone());
                        too_deep = lowered.too_deep;
                        lowered.ops
                    };
                    (body.clone(), *terminated, ops)
                }
                PieceKind::Meta { body } => {
                    (body.clone(), true, vec![Op { span: body.clone(), kind: OpKind::Meta, locks: Vec::new() }])
                }
                PieceKind::Trivia => (piece.span.end..piece.span.end, true, Vec::new()),
            };
            // Directives from an earlier step of a plan pgsafe wrote.
            for line in src[piece.span.start..body.start].lines() {
                if let Some(fact) = line.trim_start().strip_prefix(FACT) {
                    facts.insert(fact.trim().to_string());
                }
                if let Some(list) = line.trim_start().strip_prefix(CREATED_EARLIER) {
                    for n in list.split(',').filter(|n| !n.trim().is_empty()) {
                        let name = Name::new(n);
                        created.entry(name.base().to_string()).or_default().push((name.key.clone(), 0));
                        // before every statement
                    }
                }
            }
            for op in &ops {
                let made = match &op.kind {
                    OpKind::CreateTable { table } => Some(table),
                    OpKind::CreateIndex { name: Some(name), .. } => Some(name),
                    _ => None,
                };
                if let Some(name) = made {
                    created.entry(name.base().to_string()).or_default().push((name.key.clone(), index + 1));
                }
            }
            stmts.push(Stmt { span: piece.span.clone(), body, terminated, ops, section, ignored, too_deep });
        }
        Migration { src, stmts, created, facts }
    }

    /// Was `name` created by a statement before statement `before` (so it has no traffic yet)?
    pub fn created_before(&self, name: &Name, before: usize) -> bool {
        self.created.get(name.base()).is_some_and(|list| {
            list.iter()
                .any(|(key, at)| *at <= before && (!key.contains('.') || !name.key.contains('.') || *key == name.key))
        })
    }

    /// Did an earlier plan step establish `fact` (see [`FACT`])?
    pub fn has_fact(&self, fact: &str) -> bool {
        self.facts.contains(fact)
    }

    pub fn text(&self, r: &Range<usize>) -> &'a str {
        &self.src[r.clone()]
    }
}
