//! A plan step seen by the adapters: its header, its mode, and its body cut into the parts a
//! runner treats differently — pgsafe's own `BEGIN`/`COMMIT`, pgsafe's own session timeouts of an
//! autocommit step, and everything else — with the draft's migration-tool markers taken out (each
//! adapter writes its own).
//!
//! The cut uses the same lossless splitter as the front end, on the text `emit` rendered; the
//! parts concatenate back to that text, less the markers.

use crate::emit::PlanFile;
use crate::front::split::{split, PieceKind};
use crate::plan::StepMode;

/// What a part of a step body is, for a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// Comments and blank lines only.
    Trivia,
    /// The `BEGIN` pgsafe put around a transaction step.
    Begin,
    /// The `COMMIT` (or a draft's `ROLLBACK`) that ends it.
    End,
    /// `SET lock_timeout = 0` / `SET statement_timeout = 0`, which pgsafe puts before a long
    /// autocommit statement so that a short session default cannot cut it off.
    OwnSetting,
    /// Any other statement (the draft's, edited or not, or a generated one).
    Statement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    /// The text, with its leading comments, `;` and line break.
    pub text: String,
}

/// One step of the plan, ready for an adapter.
#[derive(Debug, Clone)]
pub struct StepView {
    /// 1-based run order.
    pub number: usize,
    /// The file name pgsafe gives it in its own layout (`0001_create_index_….sql`).
    pub name: String,
    /// Its slug (the name without number and extension).
    pub slug: String,
    pub autocommit: bool,
    pub header: String,
    pub parts: Vec<Part>,
}

impl StepView {
    /// The step as pgsafe writes it for psql: header, then the body with its own `BEGIN`/`COMMIT`.
    pub fn psql_text(&self) -> String {
        let mut s = self.header.clone();
        self.parts.iter().for_each(|p| s.push_str(&p.text));
        s
    }

    /// The body for a runner that wraps the file in its own transaction: pgsafe's `BEGIN` and
    /// `COMMIT` left out (a nested `BEGIN` only warns, and our `COMMIT` would end the runner's
    /// transaction early). `SET LOCAL` then applies to the runner's transaction. A step the draft
    /// rolls back (a dry run) cannot be handed to a runner that commits: that is an error.
    pub fn wrapped_body(&self, runner: &str) -> Result<String, String> {
        let rolls_back = self
            .parts
            .iter()
            .any(|p| p.kind == PartKind::End && p.text.trim().to_ascii_uppercase().starts_with("ROLLBACK"));
        if rolls_back {
            return Err(format!(
                "step {} ({}) ends in ROLLBACK, as the draft does (a dry run); {runner} commits every migration it runs, so \
                 the dry run would be applied. Run it with psql instead",
                self.number, self.name
            ));
        }
        Ok(self
            .parts
            .iter()
            .filter(|p| !matches!(p.kind, PartKind::Begin | PartKind::End))
            .map(|p| p.text.as_str())
            .collect())
    }

    /// The statements that are not trivia, pgsafe's transaction lines or its own settings.
    pub fn statements(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| p.kind == PartKind::Statement)
    }

    /// The body for a runner that sends a whole file as one query, for an autocommit step: the
    /// one statement with its comments, since several statements in one query run as one
    /// implicit transaction, where `CONCURRENTLY` fails. pgsafe's own session settings are left
    /// out (they would be a second statement); a step with another statement (a replayed
    /// `SET search_path`) cannot be sent whole, and the error says so.
    pub fn single_statement_body(&self, runner: &str) -> Result<String, String> {
        let n = self.statements().count();
        if n > 1 {
            let first = self.statements().next().map(|p| first_line(&p.text)).unwrap_or_default();
            return Err(format!(
                "step {} ({}) must run outside a transaction, and {runner} sends a file as one query, so it must hold one \
                 statement; it holds {n} (the first: `{first}`), e.g. a `SET search_path` the draft made and every \
                 step repeats. Qualify the names in the draft instead of setting search_path",
                self.number, self.name
            ));
        }
        Ok(self.parts.iter().filter(|p| p.kind != PartKind::OwnSetting).map(|p| p.text.as_str()).collect())
    }
}

fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("").chars().take(60).collect()
}

/// The step files of a compilation as [`StepView`]s, in run order.
pub fn steps(files: &[PlanFile]) -> Vec<StepView> {
    files
        .iter()
        .filter(|f| f.mode.is_some())
        .enumerate()
        .map(|(i, f)| {
            let autocommit = f.mode == Some(StepMode::Autocommit);
            let slug = f.name.trim_end_matches(".sql").split_once('_').map_or(f.name.as_str(), |(_, s)| s).to_string();
            StepView {
                number: i + 1,
                name: f.name.clone(),
                slug,
                autocommit,
                header: f.header.clone(),
                parts: parts(&f.body, !autocommit),
            }
        })
        .collect()
}

/// The down section (kept verbatim by the plan), without its migration-tool markers, or `None`.
pub fn down(files: &[PlanFile]) -> Option<String> {
    files.iter().find(|f| f.mode.is_none()).map(|f| {
        let text: String = parts(&f.body, false).into_iter().map(|p| p.text).collect();
        text.trim_start_matches(['\n', '\r']).to_string()
    })
}

/// Cut a rendered step body into parts. `transaction`: the step is a transaction step, so its
/// first `BEGIN` and last `COMMIT`/`ROLLBACK` are pgsafe's.
pub fn parts(body: &str, transaction: bool) -> Vec<Part> {
    let text = strip_markers(body);
    let Ok(pieces) = split(&text) else {
        // emit only writes text the splitter accepted; keep it whole rather than lose it.
        return vec![Part { kind: PartKind::Statement, text }];
    };
    let mut out: Vec<Part> = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let piece = text[p.span.clone()].to_string();
        let kind = match &p.kind {
            PieceKind::Trivia => PartKind::Trivia,
            PieceKind::Meta { .. } => PartKind::Statement,
            PieceKind::Statement { body, .. } => {
                let words: Vec<String> =
                    text[body.clone()].split_whitespace().map(|w| w.to_ascii_uppercase()).collect();
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                match words.as_slice() {
                    ["BEGIN"] if transaction && !out.iter().any(|p| p.kind == PartKind::Begin) => PartKind::Begin,
                    ["COMMIT"] | ["ROLLBACK"] if transaction => PartKind::End,
                    ["SET", "LOCK_TIMEOUT", "=", "0"] | ["SET", "STATEMENT_TIMEOUT", "=", "0"] if !transaction => {
                        PartKind::OwnSetting
                    }
                    _ => PartKind::Statement,
                }
            }
        };
        if kind == PartKind::Statement || kind == PartKind::Trivia {
            out.push(Part { kind, text: piece });
        } else {
            // Comments before pgsafe's own lines belong to the step, not to the line.
            let lead = match &p.kind {
                PieceKind::Statement { body, .. } => body.start - p.span.start,
                _ => 0,
            };
            if lead > 0 {
                out.push(Part { kind: PartKind::Trivia, text: piece[..lead].to_string() });
            }
            out.push(Part { kind, text: piece[lead..].to_string() });
        }
    }
    // Only the last COMMIT/ROLLBACK is pgsafe's; an earlier one would be the draft's (raw steps).
    let last_end = out.iter().rposition(|p| p.kind == PartKind::End);
    for (i, p) in out.iter_mut().enumerate() {
        if p.kind == PartKind::End && Some(i) != last_end {
            p.kind = PartKind::Statement;
        }
    }
    if !out.iter().any(|p| p.kind == PartKind::Begin) {
        out.iter_mut().filter(|p| p.kind == PartKind::End).for_each(|p| p.kind = PartKind::Statement);
    }
    out
}

/// Remove the lines that hold a migration-tool marker (`-- migrate:up`, `-- +goose Up`, sqlx's
/// `-- no-transaction`, …): each adapter writes the markers its runner needs.
pub fn strip_markers(body: &str) -> String {
    let Ok(pieces) = split(body) else { return body.to_string() };
    let mut cut: Vec<std::ops::Range<usize>> = Vec::new();
    for p in &pieces {
        for m in &p.markers {
            if matches!(m.kind, crate::front::split::MarkerKind::PgsafeIgnore(_)) {
                continue;
            }
            let start = body[..m.span.start].rfind('\n').map_or(0, |i| i + 1);
            let end = body[m.span.start..].find('\n').map_or(body.len(), |i| m.span.start + i + 1);
            if body[start..m.span.start].trim().is_empty() && cut.last().is_none_or(|c| c.end <= start) {
                cut.push(start..end);
            }
        }
    }
    let mut out = String::with_capacity(body.len());
    let mut pos = 0;
    for c in cut {
        out.push_str(&body[pos..c.start]);
        pos = c.end;
    }
    out.push_str(&body[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_lines_and_own_settings_are_recognised() {
        let body = "-- c\nBEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE t ADD c int;\nCOMMIT;\n";
        let p = parts(body, true);
        let kinds: Vec<PartKind> = p.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [PartKind::Trivia, PartKind::Begin, PartKind::Statement, PartKind::Statement, PartKind::End]);
        assert_eq!(p[0].text, "-- c\n");
        assert_eq!(p.iter().map(|p| p.text.as_str()).collect::<String>(), body);
        let p =
            parts("SET lock_timeout = 0;\nSET statement_timeout = 0;\nCREATE INDEX CONCURRENTLY i ON t (c);\n", false);
        assert_eq!(p.iter().filter(|p| p.kind == PartKind::OwnSetting).count(), 2);
    }

    #[test]
    fn markers_are_stripped_but_ignore_directives_stay() {
        let s =
            strip_markers("-- migrate:up transaction:false\n-- pgsafe:ignore timeouts\nSELECT 1;\n-- +goose Down\n");
        assert_eq!(s, "-- pgsafe:ignore timeouts\nSELECT 1;\n");
    }
}
