//! A plan step seen by the adapters: its header, whether it must run outside the runner's
//! transaction, and its body as the parts `emit` rendered (pgsafe's `BEGIN`/`COMMIT`, its
//! timeout settings, the statements), with the draft's migration-tool markers left out (each
//! adapter writes its own). Adapters read these parts; they never re-split SQL text.

use crate::emit::parts::{End, Part, PartKind, Statement};
use crate::emit::PlanFile;
use crate::plan::StepMode;

pub use crate::emit::parts;

/// One step of the plan, ready for an adapter.
#[derive(Debug, Clone)]
pub struct StepView {
    /// 1-based run order.
    pub number: usize,
    /// The file name pgsafe gives it in its own layout (`0001_create_index_….sql`).
    pub name: String,
    /// Its slug (the name without number and extension).
    pub slug: String,
    /// It must not run inside the runner's transaction: an autocommit step, or the draft's
    /// statements as written where they control their own transactions or refuse one.
    pub autocommit: bool,
    /// The draft's statements as written (see [`PlanFile::as_written`]).
    pub as_written: bool,
    pub header: String,
    pub parts: Vec<Part>,
}

impl StepView {
    /// The step as pgsafe writes it for psql: header, then the body with its own `BEGIN`/`COMMIT`.
    pub fn psql_text(&self) -> String {
        let mut s = self.header.clone();
        s.push_str(&self.body());
        s
    }

    /// The body with pgsafe's own `BEGIN`/`COMMIT`.
    pub fn body(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect()
    }

    /// The body for a runner that wraps the file in its own transaction: pgsafe's `BEGIN` and
    /// `COMMIT` left out (a nested `BEGIN` only warns, and our `COMMIT` would end the runner's
    /// transaction early). `SET LOCAL` then applies to the runner's transaction. A step the draft
    /// rolls back (a dry run) cannot be handed to a runner that commits: that is an error.
    pub fn wrapped_body(&self, runner: &str) -> Result<String, String> {
        if self.parts.iter().any(|p| p.kind == PartKind::End(End::Rollback)) {
            return Err(format!(
                "step {} ({}) ends in ROLLBACK, as the draft does (a dry run); {runner} commits every migration it runs, so \
                 the dry run would be applied. Run it with psql instead",
                self.number, self.name
            ));
        }
        Ok(self
            .parts
            .iter()
            .filter(|p| !matches!(p.kind, PartKind::Begin | PartKind::End(_)))
            .map(|p| p.text.as_str())
            .collect())
    }

    /// The statements (not comments, pgsafe's transaction lines or its settings).
    pub fn statements(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| p.is_statement())
    }

    /// Each statement with the comments before it, for a runner that runs them one by one
    /// (Django's `sql` list, Alembic's `op.execute`, node-pg-migrate's `pgm.sql`): pgsafe's
    /// settings and transaction lines are statements here too.
    pub fn one_by_one(&self) -> Vec<String> {
        let mut lead = String::new();
        let mut items = Vec::new();
        for p in &self.parts {
            match p.kind {
                PartKind::Trivia | PartKind::Marker { .. } => lead.push_str(&p.text),
                _ => items.push(format!("{}{}", std::mem::take(&mut lead), p.text)),
            }
        }
        if let (Some(last), false) = (items.last_mut(), lead.trim().is_empty()) {
            last.push_str(&lead);
        }
        items
    }

    /// The body for a runner that sends a whole file as one query, for a step that must not run
    /// in the runner's transaction, and what the user must know about how PostgreSQL runs it.
    ///
    /// Several statements in one query run as one implicit transaction (PostgreSQL's protocol,
    /// "Multiple Statements in a Simple Query"): a statement that refuses a transaction block
    /// fails there, so such a step must hold it alone, and pgsafe's session settings before it
    /// are left out. A step of the draft's statements as written may hold several: a `BEGIN` in
    /// the query draws the statements before it into its transaction, and the statements after a
    /// `COMMIT` run as one implicit transaction. When the draft's transaction rolls back, the
    /// statements drawn into it would be undone, which the draft never does: that is an error.
    pub fn one_query_body(&self, runner: &str) -> Result<OneQuery, String> {
        let guard = PartKind::Statement(Statement::Guard);
        if self.parts.iter().any(|p| p.kind == guard) {
            // pgsafe's guard before a concurrent build cannot share its query: the comment before
            // it says what to drop by hand, and this why.
            let mut alone = self.clone();
            for p in alone.parts.iter_mut().filter(|p| p.kind == guard) {
                p.kind = PartKind::Trivia;
                p.text = format!(
                    "-- ({runner} sends this file as one query, where nothing can precede the build: drop the \
                     leftover yourself before running it again.)\n"
                );
            }
            let mut q = alone.one_query_body(runner)?;
            let left = format!(
                "step {} ({}): if its concurrent build fails, it leaves an INVALID index that {runner} cannot drop \
                 before running it again: drop it by hand, as the comment before the build says",
                self.number, self.name
            );
            q.note = Some(q.note.map_or(left.clone(), |n| format!("{n}; {left}")));
            return Ok(q);
        }
        let statements: Vec<&Part> = self.statements().collect();
        let refuses = statements.iter().any(|p| p.kind == PartKind::Statement(Statement::NoTransaction));
        let who = format!("step {} ({})", self.number, self.name);
        if refuses && statements.len() > 1 {
            let alone = |p: &&&Part| p.kind == PartKind::Statement(Statement::NoTransaction);
            let refusing = statements.iter().find(alone).map(|p| first_line(&p.text)).unwrap_or_default();
            let other = statements.iter().find(|p| !alone(p)).map(|p| first_line(&p.text)).unwrap_or_default();
            return Err(format!(
                "{who} must run outside a transaction, and {runner} sends a file as one query, which PostgreSQL runs as \
                 one implicit transaction when it holds several statements; this step holds {} (`{refusing}` refuses a \
                 transaction block; `{other}` runs with it). {}",
                statements.len(),
                if self.as_written {
                    "They are the draft's statements as written, kept together in one session: run this step with psql, \
                     or split the draft where pgsafe can keep it apart"
                } else {
                    "A setting the draft made (a `SET`) is repeated in every later step: set it for the runner's \
                     connection instead (PGOPTIONS), or, for search_path, qualify the names in the draft"
                }
            ));
        }
        if refuses {
            let setting = |p: &&Part| matches!(p.kind, PartKind::Setting | PartKind::Restore);
            let dropped: Vec<&Part> = self.parts.iter().filter(|p| p.kind == PartKind::Setting).collect();
            let body = self.parts.iter().filter(|p| !setting(p)).map(|p| p.text.as_str()).collect();
            let limits: Vec<String> = dropped
                .iter()
                .map(|p| p.text.trim().trim_end_matches(';').to_string())
                .filter(|s| !s.ends_with("= 0"))
                .collect();
            let note = (!limits.is_empty()).then(|| {
                format!(
                    "{who}: {runner} sends it as one query, so pgsafe's `{}` cannot precede it in the file (a second \
                     statement would make the query a transaction block, which it refuses): set it for {runner}'s \
                     connection instead, e.g. PGOPTIONS='-c {}'",
                    limits.join("; "),
                    limits
                        .iter()
                        .map(|l| l.trim_start_matches("SET ").replace(" = ", "=").replace('\'', ""))
                        .collect::<Vec<_>>()
                        .join(" -c ")
                )
            });
            return Ok(OneQuery { body, note });
        }
        let body = self.body();
        if !self.as_written || statements.len() < 2 {
            return Ok(OneQuery { body, note: None });
        }
        // Walk the statements as PostgreSQL runs one query: an implicit block until a BEGIN.
        let (mut drawn_in, mut implicit, mut explicit) = (0usize, 0usize, false);
        let mut facts: Vec<String> = Vec::new();
        for p in &statements {
            match p.kind {
                PartKind::Statement(Statement::DraftBegin) => {
                    if implicit > 0 {
                        drawn_in += implicit;
                    }
                    (implicit, explicit) = (0, true);
                }
                PartKind::Statement(Statement::DraftEnd(end)) if explicit => {
                    if end == End::Rollback && drawn_in > 0 {
                        return Err(format!(
                            "{who} holds the draft's statements as written, and {runner} sends a file as one query: \
                             PostgreSQL would run the {drawn_in} statement(s) before the draft's BEGIN inside its \
                             transaction, which the draft rolls back (a dry run), so they would be undone where the \
                             draft commits them. Run this step with psql"
                        ));
                    }
                    explicit = false;
                }
                _ if explicit => {}
                _ => implicit += 1,
            }
        }
        if drawn_in > 0 {
            facts.push(format!(
                "the {drawn_in} statement(s) before the draft's BEGIN run inside its transaction and hold their locks \
                 until it ends"
            ));
        }
        if implicit > 1 {
            facts.push(format!(
                "the last {implicit} statements (after the draft's transaction, if any) run together as one \
                 transaction"
            ));
        }
        let note = (!facts.is_empty()).then(|| {
            format!(
                "{who} holds the draft's statements as written, and {runner} sends a file as one query, which \
                 PostgreSQL runs as implicit transactions: {}. The result is the draft's when every statement \
                 succeeds; a failure undoes more than the draft would have",
                facts.join("; ")
            )
        });
        Ok(OneQuery { body, note })
    }
}

/// A step's body for a runner that sends it as one query, and what the user must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneQuery {
    pub body: String,
    pub note: Option<String>,
}

fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("").chars().take(60).collect()
}

/// The draft's migration-tool marker lines left out: each adapter writes its own.
fn without_markers(parts: &[Part]) -> Vec<Part> {
    parts.iter().filter(|p| !matches!(p.kind, PartKind::Marker { .. })).cloned().collect()
}

/// The step files of a compilation as [`StepView`]s, in run order.
pub fn steps(files: &[PlanFile]) -> Vec<StepView> {
    files
        .iter()
        .filter(|f| f.mode.is_some())
        .enumerate()
        .map(|(i, f)| {
            let refuses = f.parts.iter().any(|p| {
                matches!(
                    p.kind,
                    PartKind::Statement(Statement::NoTransaction | Statement::DraftBegin | Statement::DraftEnd(_))
                )
            });
            let autocommit = f.mode == Some(StepMode::Autocommit) || (f.as_written && refuses);
            let slug = f.name.trim_end_matches(".sql").split_once('_').map_or(f.name.as_str(), |(_, s)| s).to_string();
            StepView {
                number: i + 1,
                name: f.name.clone(),
                slug,
                autocommit,
                as_written: f.as_written,
                header: f.header.clone(),
                parts: without_markers(&f.parts),
            }
        })
        .collect()
}

/// The down section (kept verbatim by the plan) as parts without its migration-tool markers, or
/// `None`.
pub fn down(files: &[PlanFile]) -> Option<Vec<Part>> {
    let f = files.iter().find(|f| f.mode.is_none())?;
    let mut parts = without_markers(&f.parts);
    if let Some(first) = parts.first_mut() {
        first.text = first.text.trim_start_matches(['\n', '\r']).to_string();
    }
    parts.retain(|p| !p.text.is_empty());
    Some(parts)
}

/// Does the draft's down section run outside the runner's transaction? Its marker says so
/// (dbmate's `-- migrate:down transaction:false`).
pub fn down_outside_transaction(files: &[PlanFile]) -> bool {
    let down = files.iter().find(|f| f.mode.is_none());
    down.is_some_and(|f| f.parts.iter().any(|p| matches!(p.kind, PartKind::Marker { no_transaction: true, .. })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(kind: PartKind, text: &str) -> Part {
        Part { kind, text: text.into() }
    }

    fn view(as_written: bool, parts: Vec<Part>) -> StepView {
        StepView {
            number: 2,
            name: "0002_x.sql".into(),
            slug: "x".into(),
            autocommit: true,
            as_written,
            header: String::new(),
            parts,
        }
    }

    const S: PartKind = PartKind::Statement(Statement::Plain);

    #[test]
    fn one_query_draws_statements_before_a_begin_into_its_transaction() {
        let step = view(
            true,
            vec![
                part(PartKind::Setting, "SET lock_timeout = '100ms';\n"),
                part(S, "CREATE TEMP TABLE ids AS SELECT 1;\n"),
                part(PartKind::Statement(Statement::DraftBegin), "BEGIN;\n"),
                part(S, "UPDATE t SET c = 1;\n"),
                part(PartKind::Statement(Statement::DraftEnd(End::Commit)), "COMMIT;\n"),
            ],
        );
        let q = step.one_query_body("sqlx").unwrap();
        assert_eq!(q.body, step.body());
        let note = q.note.unwrap();
        assert!(note.contains("the 1 statement(s) before the draft's BEGIN run inside its transaction"), "{note}");
        let mut rolled_back = step.clone();
        rolled_back.parts[4] = part(PartKind::Statement(Statement::DraftEnd(End::Rollback)), "ROLLBACK;\n");
        assert!(rolled_back.one_query_body("sqlx").unwrap_err().contains("rolls back"));
    }

    #[test]
    fn a_statement_refusing_a_transaction_must_be_alone() {
        let concurrently =
            part(PartKind::Statement(Statement::NoTransaction), "CREATE INDEX CONCURRENTLY i ON t (c);\n");
        let step = view(false, vec![part(PartKind::Setting, "SET lock_timeout = 0;\n"), concurrently.clone()]);
        assert_eq!(step.one_query_body("dbmate").unwrap(), OneQuery { body: concurrently.text.clone(), note: None });
        let vacuum = view(false, vec![part(PartKind::Setting, "SET lock_timeout = '100ms';\n"), concurrently.clone()]);
        assert!(vacuum.one_query_body("dbmate").unwrap().note.unwrap().contains("PGOPTIONS='-c lock_timeout=100ms'"));
        let two = view(true, vec![part(S, "SELECT 1;\n"), concurrently.clone()]);
        assert!(two.one_query_body("dbmate").unwrap_err().contains("run this step with psql"));
        // The message names the statement that refuses a transaction block, not the one with it.
        let replayed = view(false, vec![part(S, "SET work_mem TO '64MB';\n"), concurrently]);
        let refused = replayed.one_query_body("sqlx").unwrap_err();
        assert!(
            refused.contains("`CREATE INDEX CONCURRENTLY i ON t (c);` refuses a transaction block")
                && refused.contains("`SET work_mem TO '64MB';` runs with it"),
            "{refused}"
        );
    }
}
