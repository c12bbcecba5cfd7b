//! `pgsafe verify`: put a compiled draft and its plan side by side on a real server.
//!
//! Why one orchestrating file: the checks share their set-up (a template database loaded with the
//! schema and seed, scratch copies of it) and their verdict. The checks themselves live in
//! [`super::equivalence`], [`super::trace`] and [`super::load`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use super::equivalence::{self, DataComparison, Equivalence, RunOutcome};
use super::load::{self, LoadOptions, LoadReport};
use super::rows::{self, RowsReport};
use super::server::Server;
use super::trace::{self, UnitTrace};
use crate::emit::manifest::Manifest;
use crate::Compilation;

/// What `pgsafe verify` should do.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// An existing server instead of a throwaway cluster (scratch databases only).
    pub database_url: Option<String>,
    /// Accept a `database_url` whose host is not this machine.
    pub allow_remote: bool,
    /// Applied first, to the template database.
    pub schema: Option<PathBuf>,
    /// Applied after the schema (rows for the tables).
    pub seed: Option<PathBuf>,
    /// Synthetic rows per table the plan locks (and their foreign key parents), after the seed.
    pub rows: Option<u64>,
    /// Trace the locks of every draft statement and plan step.
    pub trace: bool,
    /// Run draft and plan under simulated traffic.
    pub load: Option<LoadOptions>,
    /// Fail when the plan stalls writes on a table longer than this many seconds.
    pub max_stall: Option<f64>,
}

/// Draft and plan under load, side by side. They run on databases of their own, apart from the
/// runs whose schema and rows are compared: the load's own inserts would make every loaded table
/// differ, and the second run of the draft took that for the draft's nondeterminism, leaving
/// those tables out of the row comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LoadComparison {
    pub draft: LoadReport,
    pub plan: LoadReport,
    /// How the plan's run under load went (its steps retried on `lock_timeout`).
    pub plan_run: RunOutcome,
}

/// The lock traces of draft and plan.
#[derive(Debug, Clone, Serialize)]
pub struct Traces {
    pub draft: Vec<UnitTrace>,
    pub plan: Vec<UnitTrace>,
}

/// Everything `pgsafe verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub draft: String,
    pub server_version: String,
    /// `embedded` (a throwaway cluster) or `url`.
    pub server: String,
    pub steps: Vec<String>,
    pub draft_run: RunOutcome,
    pub plan_run: RunOutcome,
    pub equivalence: Equivalence,
    /// The rows of every table, draft against plan (`None` when the plan failed).
    pub data: Option<DataComparison>,
    /// What `--rows` inserted, and what it could not.
    pub rows: Option<RowsReport>,
    pub trace: Option<Traces>,
    pub load: Option<LoadComparison>,
    /// Why the check failed (empty: it passed).
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Removes the work directory when dropped.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Verify `c` (compiled from `draft_text`). An `Err` means verify could not run (bad input, the
/// schema or the draft itself failing, no server); a failed check is a report with problems.
pub fn verify(c: &Compilation, opts: &VerifyOptions) -> Result<VerifyReport> {
    let manifest = c.manifest.as_ref().context("verify needs the manifest: compile with Want::Everything")?;
    refuse_cluster_wide("the draft", &c.source.text)?;
    // SIGINT/SIGTERM: the running psql is cancelled (`server::run`), verify returns, the server
    // (declared after, so dropped first) drops its scratch databases or stops its cluster, and only
    // then does this section end the process with the signal's status.
    let _signals = crate::interrupt::critical();
    if opts.database_url.is_some() {
        // run once, on the template, but they would stay on the user's server
        for (what, file) in [("--schema", &opts.schema), ("--seed", &opts.seed)] {
            if let Some(file) = file {
                let text =
                    std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))?;
                refuse_cluster_wide(&format!("{what} {}", file.display()), &text)?;
            }
        }
    }
    let server = match &opts.database_url {
        Some(url) => Server::external(url, opts.allow_remote)?,
        None => Server::embedded()?,
    };
    let work = WorkDir(std::env::temp_dir().join(format!(
        "pgsafe-verify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    )));
    let plan_dir = work.0.join("plan");
    std::fs::create_dir_all(&plan_dir).with_context(|| format!("could not create {}", plan_dir.display()))?;
    let draft_file = work.0.join("draft.sql");
    std::fs::write(&draft_file, &c.source.text)?;
    for (name, text) in c.plan_dir() {
        std::fs::write(plan_dir.join(&name), text)?;
    }
    let steps: Vec<(String, String)> = c.steps().map(|f| (f.name.clone(), f.text())).collect();
    let step_paths: Vec<PathBuf> = steps.iter().map(|(n, _)| plan_dir.join(n)).collect();

    // the template: schema, then seed
    let template = server.create_scratch("template", None)?;
    for (what, file) in [("--schema", &opts.schema), ("--seed", &opts.seed)] {
        if let Some(file) = file {
            server
                .psql_file(&template, file, "pgsafe-verify")
                .with_context(|| format!("{what} {} failed", file.display()))?;
        }
    }
    let rows = match opts.rows {
        Some(n) => Some(rows::fill(&server, &template, c, &manifest_tables(manifest), n)?),
        None => None,
    };
    server.psql(&template, "VACUUM ANALYZE")?;

    let draft_db = server.create_scratch("draft", Some(&template))?;
    let plan_db = server.create_scratch("plan", Some(&template))?;
    let run_draft = |db: &str| equivalence::run_files(&server, db, &[draft_file.as_path()]);
    let run_plan = |db: &str| {
        let paths: Vec<&Path> = step_paths.iter().map(PathBuf::as_path).collect();
        equivalence::run_plan_files(&server, db, &paths)
    };

    let (draft_run, plan_run) = (run_draft(&draft_db), run_plan(&plan_db));
    if let Some((_, e)) = &draft_run.error {
        bail!("the draft itself fails on this schema, so there is nothing to compare:\n{e}");
    }

    let mut problems = Vec::new();
    // Under load: two more databases, measured only (see `LoadComparison`).
    let load = match &opts.load {
        None => None,
        Some(lo) => {
            let (draft_load, plan_load) = (
                server.create_scratch("draft_load", Some(&template))?,
                server.create_scratch("plan_load", Some(&template))?,
            );
            let tables = manifest_tables(manifest);
            let targets = load::targets(&server, &draft_load, &tables)?;
            if targets.is_empty() {
                bail!(
                    "--load: none of the tables the plan locks ({}) exists with rows and a \
                     single-column integer primary key; give --schema/--seed that create them",
                    if tables.is_empty() { "none".to_owned() } else { tables.join(", ") }
                );
            }
            let (d, dl) = load::measure(&server, &draft_load, &targets, lo, || run_draft(&draft_load))?;
            let (p, pl) = load::measure(&server, &plan_load, &targets, lo, || run_plan(&plan_load))?;
            if let Some((_, e)) = &d.error {
                bail!("the draft itself fails under load, so there is nothing to compare:\n{e}");
            }
            if let Some((file, e)) = &p.error {
                problems.push(format!("under load, plan step {file} fails: {e}"));
            }
            server.drop_scratch(&draft_load)?;
            server.drop_scratch(&plan_load)?;
            Some(LoadComparison { draft: dl, plan: pl, plan_run: p })
        }
    };
    let equivalence = if let Some((file, e)) = &plan_run.error {
        problems.push(format!("plan step {file} fails: {e}"));
        Equivalence { equivalent: false, diff: String::new() }
    } else {
        let eq = equivalence::compare(&server, &draft_db, &plan_db)?;
        if !eq.equivalent {
            problems.push("the plan leaves a different schema than the draft".into());
        }
        eq
    };

    // The rows. A second run of the draft shows what the draft itself makes nondeterministic
    // (now(), random(), gen_random_uuid(), a LIMIT without ORDER BY): left out of the comparison.
    let data = if plan_run.error.is_none() {
        let again = server.create_scratch("draft_again", Some(&template))?;
        let nondeterministic = if run_draft(&again).ok() {
            let digests =
                |db: &str| -> Result<_> { equivalence::column_digests(&mut server.connect(db, "pgsafe-verify")?) };
            equivalence::nondeterministic(&digests(&draft_db)?, &digests(&again)?)
        } else {
            Default::default()
        };
        let d = equivalence::compare_rows(
            &mut server.connect(&draft_db, "pgsafe-verify")?,
            &mut server.connect(&plan_db, "pgsafe-verify")?,
            &nondeterministic,
        )?;
        if !d.equivalent {
            let tables: Vec<&str> = d.differing.iter().map(|(t, _, _)| t.as_str()).collect();
            problems.push(format!("the plan leaves different rows than the draft in {}", tables.join(", ")));
        }
        Some(d)
    } else {
        None
    };

    let trace = if opts.trace {
        let a = server.create_scratch("trace_draft", Some(&template))?;
        let b = server.create_scratch("trace_plan", Some(&template))?;
        let t = Traces {
            draft: trace::trace_draft(&server, &a, &c.source.text)?,
            plan: trace::trace_plan(&server, &b, &steps, manifest)?,
        };
        for u in &t.plan {
            for s in &u.stronger_than_manifest {
                problems.push(format!("{}: {s}", u.unit));
            }
        }
        Some(t)
    } else {
        None
    };

    if let Some(l) = &load {
        // never more harm than the draft, whatever --max-stall says
        let (draft, plan) = (l.draft.write_stall.seconds, l.plan.write_stall.seconds);
        if plan > draft + STALL_TOLERANCE {
            problems.push(format!(
                "the plan blocks writes on {} for {plan:.2} s, longer than the draft ({draft:.2} s)",
                l.plan.write_stall.table.as_deref().unwrap_or("a table"),
            ));
        }
    }
    if let (Some(max), Some(l)) = (opts.max_stall, &load) {
        if l.plan.write_stall.seconds > max {
            problems.push(format!(
                "the plan blocks writes on {} for {:.2} s (--max-stall {max} s)",
                l.plan.write_stall.table.as_deref().unwrap_or("a table"),
                l.plan.write_stall.seconds
            ));
        }
    }

    Ok(VerifyReport {
        draft: c.source.name.clone(),
        server_version: server.version().to_owned(),
        server: if server.is_embedded() { "embedded" } else { "url" }.into(),
        steps: steps.iter().map(|(n, _)| n.clone()).collect(),
        draft_run,
        plan_run,
        equivalence,
        data,
        rows,
        trace,
        load,
        problems,
    })
}

/// Refuse `text` when it changes cluster-wide objects (roles, databases, tablespaces, server
/// settings: [`cluster_wide_statements`]). Why: they are not in a scratch database. Draft and plan
/// run on the same server, up to five times, so the plan meets the role the draft created ("role
/// … already exists", a false alarm), and with `--database-url` they would stay on the user's
/// server.
fn refuse_cluster_wide(what: &str, text: &str) -> Result<()> {
    let found = cluster_wide_statements(text);
    if !found.is_empty() {
        bail!(
            "verify cannot compare a draft that changes cluster-wide objects: {what} has {} (roles, databases, \
             tablespaces and server settings belong to the whole server, not to the scratch databases verify \
             compares); verify it without them",
            found.join("; ")
        );
    }
    Ok(())
}

/// The statements of `text` that change what every database of the server shares, by their first
/// words: `CREATE|ALTER|DROP ROLE|USER|GROUP|DATABASE|TABLESPACE` (not `USER MAPPING`), `ALTER
/// SYSTEM`, `GRANT`/`REVOKE` of a role (no `ON`), `COMMENT`/`SECURITY LABEL` on a role, database or
/// tablespace, `REASSIGN OWNED`. Those in a `DO` block or function are not seen.
pub fn cluster_wide_statements(text: &str) -> Vec<String> {
    use crate::front::split::{split, PieceKind};
    use crate::front::tokens::head_words;
    const SHARED: [&str; 5] = ["role", "user", "group", "database", "tablespace"];
    let Ok(pieces) = split(text) else { return Vec::new() };
    let mut out = Vec::new();
    for p in &pieces {
        let PieceKind::Statement { body, .. } = &p.kind else { continue };
        let stmt = &text[body.clone()];
        let w = head_words(stmt, 8);
        let word = |i: usize| w.get(i).map_or("", String::as_str);
        let shared = match word(0) {
            "create" | "alter" | "drop" => {
                (SHARED.contains(&word(1)) && word(2) != "mapping") || (word(0) == "alter" && word(1) == "system")
            }
            "grant" | "revoke" => !head_words(stmt, usize::MAX).iter().any(|w| w == "on"),
            "comment" => word(1) == "on" && SHARED.contains(&word(2)),
            "security" => w.windows(2).any(|p| p[0] == "on" && SHARED.contains(&p[1].as_str())),
            "reassign" => true,
            _ => false,
        };
        if shared {
            out.push(truncate(&stmt.split_whitespace().collect::<Vec<_>>().join(" "), 60));
        }
    }
    out
}

/// How much longer than the draft's the plan's longest write stall may be before verify calls it
/// more harm (the load's own spacing is 0.05 s; a step that waits its `lock_timeout` once adds 0.1).
pub const STALL_TOLERANCE: f64 = 0.25;

/// The tables named in the manifest's `steps[].locks[]`, in order of first mention.
pub fn manifest_tables(manifest: &Manifest) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for lock in manifest.steps.iter().flat_map(|s| &s.locks) {
        if !out.contains(&lock.table) {
            out.push(lock.table.clone());
        }
    }
    out
}

/// The human report.
pub fn render_text(r: &VerifyReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "pgsafe verify {} on PostgreSQL {} ({})",
        r.draft,
        r.server_version,
        if r.server == "embedded" { "throwaway cluster" } else { "scratch databases" }
    );
    let _ = writeln!(
        o,
        "  draft: ran in {:.2} s; plan: {} step{} in {:.2} s{}",
        r.draft_run.seconds,
        r.steps.len(),
        if r.steps.len() == 1 { "" } else { "s" },
        r.plan_run.seconds,
        match &r.plan_run.error {
            Some((f, _)) => format!(" (FAILED at {f})"),
            None => String::new(),
        }
    );
    if r.equivalence.equivalent {
        let _ = writeln!(o, "schema: equivalent");
    } else {
        let _ = writeln!(o, "schema: NOT equivalent");
        if let Some((f, e)) = &r.plan_run.error {
            let _ = writeln!(o, "  plan step {f} failed:\n{}", indent(e, "    "));
        }
        if !r.equivalence.diff.is_empty() {
            let _ = write!(o, "{}", indent(&r.equivalence.diff, "  "));
        }
    }
    if let Some(d) = &r.data {
        if d.equivalent {
            let _ = writeln!(o, "rows: the same in all {} tables", d.tables);
        } else {
            let _ = writeln!(o, "rows: DIFFERENT");
            for (t, a, b) in &d.differing {
                let _ = writeln!(o, "  {t}: draft {a}, plan {b} (rows, md5)");
            }
        }
        if !d.nondeterministic.is_empty() {
            let _ = writeln!(
                o,
                "  left out, nondeterministic in the draft itself (two runs differ): {}",
                d.nondeterministic.join(", ")
            );
        }
    }
    if let Some(rw) = &r.rows {
        o.push_str(&rows::render_text(rw));
    }
    if let Some(t) = &r.trace {
        let _ = writeln!(o, "\nlock trace");
        for (side, units) in [("draft", &t.draft), ("plan", &t.plan)] {
            let _ = writeln!(o, "  {side}:");
            for u in units {
                let locks: Vec<String> = u.locks.iter().map(|(t, m)| format!("{t}: {}", m.join(", "))).collect();
                let _ = writeln!(
                    o,
                    "    {}  {}\n      {}{}{}",
                    u.unit,
                    truncate(&u.statement, 60),
                    if locks.is_empty() { "no table locks".to_owned() } else { locks.join("; ") },
                    if u.how == "sampled" { " (sampled)" } else { "" },
                    if u.rewrote.is_empty() {
                        String::new()
                    } else {
                        format!(" — REWRITES {}", u.rewrote.join(", "))
                    }
                );
                for s in &u.stronger_than_manifest {
                    let _ = writeln!(o, "      ! stronger than the manifest: {s}");
                }
                if let Some(e) = &u.error {
                    let _ = writeln!(o, "      error: {e}");
                }
            }
        }
    }
    if let Some(l) = &r.load {
        let _ = writeln!(
            o,
            "\nunder load ({} clients{} × {}/s on {}{})",
            l.draft.clients,
            if l.draft.clients > l.draft.clients_asked {
                format!(" ({} asked; more so that every table gets one)", l.draft.clients_asked)
            } else {
                String::new()
            },
            l.draft.rate_per_client,
            l.draft.tables.join(", "),
            if l.draft.blocker.is_some() { ", with an idle writer holding a transaction open" } else { "" }
        );
        let _ = writeln!(o, "  {:<26} {:>14} {:>14}", "", "draft", "plan");
        let stall = |s: &load::Stall| format!("{:.3} s{}", s.seconds, if s.open_ended { "+" } else { "" });
        let rows: [(&str, String, String); 8] = [
            (
                "migration wall time",
                format!("{:.2} s", l.draft.migration_seconds),
                format!("{:.2} s", l.plan.migration_seconds),
            ),
            ("longest write stall", stall(&l.draft.write_stall), stall(&l.plan.write_stall)),
            ("longest read stall", stall(&l.draft.read_stall), stall(&l.plan.read_stall)),
            ("latency p50", format!("{:.1} ms", l.draft.p50_ms), format!("{:.1} ms", l.plan.p50_ms)),
            ("latency p99", format!("{:.1} ms", l.draft.p99_ms), format!("{:.1} ms", l.plan.p99_ms)),
            ("latency max", format!("{:.1} ms", l.draft.max_ms), format!("{:.1} ms", l.plan.max_ms)),
            ("failed requests", l.draft.failed.to_string(), l.plan.failed.to_string()),
            ("requests", l.draft.requests.to_string(), l.plan.requests.to_string()),
        ];
        for (k, a, b) in rows {
            let _ = writeln!(o, "  {k:<26} {a:>14} {b:>14}");
        }
        let _ = writeln!(
            o,
            "  draft: writes blocked {:.2} s{} — plan: {:.2} s (baseline p99 {:.1} ms)",
            l.draft.write_stall.seconds,
            l.draft.write_stall.table.as_ref().map_or(String::new(), |t| format!(" on {t}")),
            l.plan.write_stall.seconds,
            l.draft.baseline_p99_ms
        );
        if !l.plan_run.retries.is_empty() {
            let _ = writeln!(o, "  plan steps retried after lock_timeout: {}", l.plan_run.retries.join("; "));
        }
        if let Some((f, e)) = &l.plan_run.error {
            let _ = writeln!(o, "  plan step {f} FAILED under load:\n{}", indent(e, "    "));
        }
    }
    if r.ok() {
        let _ = writeln!(o, "\nok");
    } else {
        let _ = writeln!(o, "\nFAILED:");
        for p in &r.problems {
            let _ = writeln!(o, "  - {}", p.lines().next().unwrap_or(""));
        }
    }
    o
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_changes_the_whole_server() {
        let draft = "CREATE ROLE reader1;\nGRANT SELECT ON t TO reader1;\nGRANT reader1 TO app;\n\
                     CREATE USER MAPPING FOR app SERVER s;\nALTER DATABASE app SET work_mem = '1MB';\n\
                     CREATE INDEX i ON t (a);\nCOMMENT ON TABLE t IS 'x';\nCOMMENT ON ROLE app IS 'x';\n\
                     DROP TABLESPACE IF EXISTS ts;\nALTER SYSTEM SET work_mem = '1MB';\n";
        assert_eq!(
            cluster_wide_statements(draft),
            [
                "CREATE ROLE reader1",
                "GRANT reader1 TO app",
                "ALTER DATABASE app SET work_mem = '1MB'",
                "COMMENT ON ROLE app IS 'x'",
                "DROP TABLESPACE IF EXISTS ts",
                "ALTER SYSTEM SET work_mem = '1MB'"
            ]
        );
    }
}
