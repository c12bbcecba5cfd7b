//! Schema equivalence: the draft and the plan, run the way a user runs them, must leave the same
//! schema behind.
//!
//! The draft goes through `psql -f` (autocommit, statement by statement, as a developer would run
//! it); the plan's step files go through `psql -X -v ON_ERROR_STOP=1 -f`, one at a time, in order
//! (the plan contract). Both databases come from the same template, and the verdict is a
//! comparison of their normalised `pg_dump --schema-only`: a unified diff, or nothing.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::server::Server;

/// `application_name` of the session running the migration (the load report and lock trace tell
/// it apart from traffic by this name).
pub const MIGRATION_APP: &str = "pgsafe-migration";

/// How one run of a migration went.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// Each file run: name, seconds.
    pub files: Vec<(String, f64)>,
    /// The first failure: file name and psql's message. Nothing after it was run.
    pub error: Option<(String, String)>,
}

impl RunOutcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Run `files` (in order) against `db` with `psql -f`, stopping at the first failure.
pub fn run_files(server: &Server, db: &str, files: &[&Path]) -> RunOutcome {
    let began = Instant::now();
    let mut out = RunOutcome { seconds: 0.0, files: Vec::new(), error: None };
    for file in files {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into());
        let t = Instant::now();
        let result = server.psql_file(db, file, MIGRATION_APP);
        out.files.push((name.clone(), t.elapsed().as_secs_f64()));
        if let Err(e) = result {
            out.error = Some((name, format!("{e:#}")));
            break;
        }
    }
    out.seconds = began.elapsed().as_secs_f64();
    out
}

/// The verdict on two databases' schemas.
#[derive(Debug, Clone, Serialize)]
pub struct Equivalence {
    pub equivalent: bool,
    /// Unified diff of the normalised schema dumps (`--- draft` / `+++ plan`), empty when equal.
    pub diff: String,
}

/// Compare the schemas of `draft_db` and `plan_db`.
pub fn compare(server: &Server, draft_db: &str, plan_db: &str) -> anyhow::Result<Equivalence> {
    let a = server.dump_schema(draft_db)?;
    let b = server.dump_schema(plan_db)?;
    Ok(compare_dumps(&a, &b))
}

/// Compare two normalised schema dumps.
pub fn compare_dumps(draft: &str, plan: &str) -> Equivalence {
    if draft == plan {
        return Equivalence { equivalent: true, diff: String::new() };
    }
    let diff =
        similar::TextDiff::from_lines(draft, plan).unified_diff().context_radius(3).header("draft", "plan").to_string();
    Equivalence { equivalent: false, diff }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_the_sides() {
        let e = compare_dumps("CREATE TABLE a;\n", "CREATE TABLE a;\nCREATE INDEX i;\n");
        assert!(!e.equivalent);
        assert!(e.diff.contains("--- draft"), "{}", e.diff);
        assert!(e.diff.contains("+CREATE INDEX i;"), "{}", e.diff);
        assert!(compare_dumps("x\n", "x\n").equivalent);
    }
}
