//! `pgsafe apply`: run a plan's steps against a database the way a careful operator would.
//!
//! Why a runner of our own: the plan's steps are safe only if whoever runs them reacts to what the
//! server says. A step that hits its `lock_timeout` (SQLSTATE 55P03) or a deadlock (40P01) is
//! retried whole, with exponential back-off and jitter, up to a limit, and the sessions that
//! blocked it are named (`pg_blocking_pids`, sampled while the step waits). A concurrent index
//! build that failed leaves an INVALID index behind, which a retry with `IF NOT EXISTS` would
//! silently keep: it is dropped (`DROP INDEX CONCURRENTLY`) before the build is tried again
//! (an unnamed one too: the table's indexes are noted before the build, and only INVALID ones
//! missing from that list are the build's; names are looked up in the step's own search_path). A
//! `REINDEX … CONCURRENTLY` that failed leaves an INVALID copy (`…_ccnew`, or `…_ccold` when it
//! failed after the swap), which every write keeps up to date and a retry does not reuse (it makes
//! `…_ccnew1`): those copies are dropped the same way before it runs again.
//! Progress goes to `pgsafe_progress`; for a transaction step the row is written inside the
//! step's own transaction, so the step and its record commit together and a rerun resumes exactly
//! after the last committed step. A step that commits as it goes (autocommit statements, several
//! transactions) is recorded as started before it runs and as finished after: a run killed in
//! between (or one that failed after part of the step committed) leaves it started, and the next
//! run stops there and says how to go on, since running it again could do its committed part twice.
//! pgsafe's own batched loops and concurrent index builds are the exceptions: they resume safely.
//! A `CALL` or a draft's own `DO` block may commit inside and then fail: it is never retried whole.
//! Ctrl-C (or SIGTERM) while a statement runs cancels it on the server, as psql does, before the
//! run ends. A session advisory lock keeps two runs from interleaving; a run killed outright
//! (SIGKILL) cannot cancel its statement, so the step sessions have the server check for their
//! client every second, and a run first waits for what is left of a killed one.
//!
//! Each attempt runs on a fresh connection (a step's session `SET`s must not leak into the next
//! step: the plan contract says each file runs in a new session), statement by statement like
//! `psql -f`, as `application_name` `pgsafe-apply`.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use postgres::{Client, NoTls};
use serde::Serialize;

use crate::front::split::{split, PieceKind};
use crate::front::tokens::{first_word, head_words, lex, Tok};

/// `application_name` of every session `pgsafe apply` opens.
pub const APPLY_APP: &str = "pgsafe-apply";

/// Key of the session advisory lock held for the whole run (`'pgsa'` in ASCII).
const ADVISORY_KEY: i64 = 0x7067_7361;

/// query_canceled: what `statement_timeout` raises. Retrying does not help; the step needs a
/// decision (the manifest's `on_timeout` hint says which).
const STATEMENT_TIMEOUT: &str = "57014";

/// Where the progress goes: one table for every role and search_path (the schema `public`, where
/// `current_schema()` put it for most: a run under another path must find the same records, and
/// `current_schema()` may be none). Named with its schema, so a step's own `SET search_path` does
/// not hide it from the record written inside the step's transaction.
const PROGRESS: &str = "public.pgsafe_progress";

/// SQLSTATEs worth retrying: lock_not_available (lock_timeout), deadlock_detected.
const RETRYABLE: [&str; 2] = ["55P03", "40P01"];

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub database_url: String,
    /// Tries per step (the first included).
    pub max_attempts: u32,
    /// First back-off; doubled each retry, capped at `max_backoff`, then scaled by a random
    /// factor in [0.5, 1].
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl ApplyOptions {
    pub fn new(database_url: impl Into<String>) -> ApplyOptions {
        ApplyOptions {
            database_url: database_url.into(),
            max_attempts: 10,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Why a run stopped before a step: going on could do harm (another run holds the lock or still
/// runs a statement, a step changed since it was applied, an earlier run left a step half done).
/// Not bad input: the CLI exits 1, as when a step fails for good.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(why: String) -> anyhow::Error {
    Refused(why).into()
}

/// What happened to one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub file: String,
    /// `applied`, `already applied` (recorded by an earlier run), or `failed`.
    pub status: String,
    pub attempts: u32,
    pub seconds: f64,
    /// Lock timeouts and what blocked them, one line per failed try.
    pub retries: Vec<String>,
    /// INVALID indexes dropped before a try.
    pub dropped_invalid: Vec<String>,
    pub error: Option<String>,
}

/// The key a step's record is filed under in `pgsafe_progress`: the plan's [`plan_id`] and, after
/// the first step, the checksum of the steps before it (`earlier`, their checksums in order). Two
/// plans of one draft path (migrations each rewritten from its own directory as `migration.sql`)
/// part at their first differing step, and so do their records from there on; the same plan run
/// again, or with a failed step fixed, finds the records of the steps before. Left: plans of one
/// draft path whose first steps are the same file share that step's record. The first step keeps
/// the bare id, which the records of earlier versions used.
fn step_key(draft: &str, earlier: &str) -> String {
    if earlier.is_empty() {
        draft.to_owned()
    } else {
        format!("{draft}#{}", checksum(earlier))
    }
}

/// The plan's identity in `pgsafe_progress`: the manifest's `draft`, else the directory name.
fn plan_id(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .and_then(|j| j["draft"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            dir.canonicalize()
                .unwrap_or_else(|_| dir.to_path_buf())
                .file_name()
                .map_or_else(|| "plan".into(), |n| n.to_string_lossy().into_owned())
        })
}

/// The step files of `dir`: `NNNN_*.sql` (four digits or more, all of one width), in lexical (= run)
/// order.
pub fn step_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the plan directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let digits = name.bytes().take_while(u8::is_ascii_digit).count();
            digits >= 4 && name.as_bytes().get(digits) == Some(&b'_') && name.ends_with(".sql")
        })
        .collect();
    out.sort();
    if out.is_empty() {
        bail!("{}: no step files (NNNN_*.sql) in it", dir.display());
    }
    Ok(out)
}

/// Apply the plan in `dir`. `log` receives one line per event (for stderr).
pub fn apply(dir: &Path, opts: &ApplyOptions, log: &mut dyn FnMut(&str)) -> Result<Vec<StepResult>> {
    let files = step_files(dir)?;
    let draft = plan_id(dir);
    let config = connect_config(&opts.database_url)?;
    let mut control = config.connect(NoTls).context("could not connect to --database-url")?;
    let locked: bool = control.query_one("SELECT pg_try_advisory_lock($1)", &[&ADVISORY_KEY])?.get(0);
    if !locked {
        return Err(refused(
            "another pgsafe apply holds the advisory lock on this database; not interleaving with it".into(),
        ));
    }
    wait_for_a_killed_runs_statement(&mut control, log)?;
    let config = steps_notice_a_killed_run(&mut control, config)?;
    let progress = PROGRESS;
    control
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {progress} (\n\
             plan text NOT NULL,\n\
             step text NOT NULL,\n\
             checksum text NOT NULL,\n\
             attempts integer NOT NULL,\n\
             applied_at timestamptz NOT NULL DEFAULT now(),\n\
             PRIMARY KEY (plan, step)\n\
         );\n\
         ALTER TABLE {progress} ADD COLUMN IF NOT EXISTS finished boolean NOT NULL DEFAULT true;\n\
         ALTER TABLE {progress} ADD COLUMN IF NOT EXISTS indexes_before text",
        ))
        .with_context(|| format!("cannot create {PROGRESS}, where pgsafe apply records its progress"))?;

    let hints = manifest_field(dir, "on_timeout");
    let mut results = Vec::new();
    let mut keys = Vec::new();
    let mut earlier = String::new();
    for path in &files {
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let sum = checksum(&text);
        let plan = step_key(&draft, &earlier);
        earlier.push_str(&sum);
        keys.push(plan.clone());
        // A step file renamed since it was applied (same contents, same steps before it) is not
        // run again; a record of an earlier version (the bare id, by file name) still counts.
        let done = control.query_opt(
            &format!(
                "SELECT checksum, finished, applied_at::text, indexes_before FROM {progress} \
                 WHERE (plan = $1 AND (step = $2 OR (checksum = $3 AND finished))) OR (plan = $4 AND step = $2) \
                 ORDER BY plan = $1 DESC, step = $2 DESC LIMIT 1"
            ),
            &[&plan, &file, &sum, &draft],
        )?;
        let mut resumed = None;
        if let Some(row) = done {
            let recorded: String = row.get(0);
            if recorded != sum {
                return Err(refused(format!(
                    "{file} was applied earlier with different contents (checksum {recorded}, now {sum}); refusing to go on"
                )));
            }
            if !row.get::<_, bool>(1) {
                if !resumes_safely(&text) {
                    let when: String = row.get(2);
                    return Err(refused(format!(
                        "{file} was started at {when} by a run that did not finish it, and it commits as it goes: part \
                         or all of it may have committed, and running it again could do that part twice. Check the \
                         database, finish by hand what is left of the step, then mark it done: UPDATE {progress} \
                         SET finished = true WHERE plan = '{}' AND step = '{file}'; (or, if none of it ran, DELETE \
                         that row) and apply again",
                        plan.replace('\'', "''")
                    )));
                }
                log(&format!(
                    "{file}: started by an earlier run that did not finish it; it resumes safely, running it again"
                ));
                control.execute(&format!("DELETE FROM {progress} WHERE plan = $1 AND step = $2"), &[&plan, &file])?;
                resumed = Some(row.get(3));
            } else {
                log(&format!("{file}: already applied, skipped"));
                results.push(StepResult {
                    file,
                    status: "already applied".into(),
                    attempts: 0,
                    seconds: 0.0,
                    retries: Vec::new(),
                    dropped_invalid: Vec::new(),
                    error: None,
                });
                continue;
            }
        }
        let step = Step { plan: &plan, file: &file, text: &text, sum: &sum, resumed, progress };
        let result = run_step(&config, &mut control, opts, &step, &hints, log)?;
        let failed = result.error.is_some();
        results.push(result);
        if failed {
            report_committed(dir, &results, (progress, &keys), log);
            break;
        }
    }
    let _ = control.query("SELECT pg_advisory_unlock($1)", &[&ADVISORY_KEY]);
    Ok(results)
}

/// After a step failed for good: which earlier steps committed and stay, and how to undo each
/// (the manifest's `undo`), newest first. The draft, one transaction, would have rolled them back.
/// Undone, their records must go too, or a later run would skip them: the statement that forgets
/// them (`records`: the progress table and each step's key in it) closes the list.
fn report_committed(dir: &Path, results: &[StepResult], records: (&str, &[String]), log: &mut dyn FnMut(&str)) {
    let Some((failed, committed)) = results.split_last() else { return };
    if committed.is_empty() {
        return;
    }
    let undo = manifest_field(dir, "undo");
    log(&format!(
        "{} failed for good; {} earlier step{} committed and stay{}. To undo them, newest first:",
        failed.file,
        committed.len(),
        if committed.len() == 1 { "" } else { "s" },
        if committed.len() == 1 { "s" } else { "" },
    ));
    for step in committed.iter().rev() {
        let text = undo.get(&step.file).map_or("none known (no manifest.json entry)", String::as_str);
        let mut lines = text.lines();
        log(&format!("  {}: {}", step.file, lines.next().unwrap_or_default()));
        for line in lines {
            log(&format!("  {}  {line}", " ".repeat(step.file.len())));
        }
    }
    let (progress, keys) = records;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let steps: Vec<String> =
        committed.iter().zip(keys).map(|(s, key)| format!("({}, {})", quote(key), quote(&s.file))).collect();
    log(&format!(
        "Once they are undone, forget their records, or a later apply would skip them: DELETE FROM {progress} WHERE \
         (plan, step) IN ({});",
        steps.join(", ")
    ));
}

/// `field` of every step of the plan's `manifest.json`, by file name (empty without a manifest).
fn manifest_field(dir: &Path, field: &str) -> std::collections::HashMap<String, String> {
    let manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok());
    manifest
        .iter()
        .flat_map(|j| j["steps"].as_array().cloned().unwrap_or_default())
        .filter_map(|step| Some((step["file"].as_str()?.to_owned(), step[field].as_str()?.to_owned())))
        .collect()
}

/// A run killed outright (SIGKILL: an OOM kill, a CI job's timeout) cannot cancel its step's
/// statement, and its advisory lock goes with its control session: the server would go on running
/// the statement (an index build for minutes) beside the next run. The step sessions ask the
/// server to check every second that their client is still there (PostgreSQL 14 and later), in
/// the connection's options, which a step's own `RESET ALL` keeps.
fn steps_notice_a_killed_run(control: &mut Client, mut config: postgres::Config) -> Result<postgres::Config> {
    let version: i32 = control.query_one("SELECT current_setting('server_version_num')::int", &[])?.get(0);
    if version >= 140_000 {
        let options = config.get_options().map_or(String::new(), |o| format!("{o} "));
        config.options(&format!("{options}-c client_connection_check_interval=1000"));
    }
    Ok(config)
}

/// How long a run waits for the statement of a run killed outright to end.
const KILLED_RUN_WAIT: Duration = Duration::from_secs(30);

/// Wait until no session of an earlier `pgsafe apply` runs a statement any more: holding the
/// advisory lock, this run is the only live one, so such a session's client was killed (it ends
/// within a second where the server checks for its client, [`steps_notice_a_killed_run`];
/// otherwise when its statement does).
fn wait_for_a_killed_runs_statement(control: &mut Client, log: &mut dyn FnMut(&str)) -> Result<()> {
    let running = "SELECT array_agg(pid ORDER BY pid)::text FROM pg_stat_activity WHERE application_name = $1 \
                   AND datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'";
    let began = Instant::now();
    let mut said = false;
    loop {
        let Some(pids) = control.query_one(running, &[&APPLY_APP])?.get::<_, Option<String>>(0) else {
            return Ok(());
        };
        if began.elapsed() > KILLED_RUN_WAIT {
            return Err(refused(format!(
                "sessions {pids} of an earlier pgsafe apply, killed while a step ran, still run its statement; \
                 wait for them to end, or cancel them (SELECT pg_cancel_backend(pid)), then apply again"
            )));
        }
        if !std::mem::replace(&mut said, true) {
            log(&format!("waiting for sessions {pids} of an earlier pgsafe apply, killed while a step ran, to end"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The connection settings of `url`, completed as libpq would (user, password), with our
/// `application_name`.
fn connect_config(url: &str) -> Result<postgres::Config> {
    let mut config = postgres::Config::from_str(url).map_err(|e| anyhow!("--database-url: cannot parse it: {e}"))?;
    super::password::complete(&mut config);
    config.application_name(APPLY_APP);
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(config)
}

/// A step file to run, and where its progress goes.
struct Step<'a> {
    plan: &'a str,
    file: &'a str,
    text: &'a str,
    /// Its checksum.
    sum: &'a str,
    /// A run that did not finish it had started it: `Some`, with the indexes its table had then
    /// (see [`table_indexes`]; `None` if not noted).
    resumed: Option<Option<String>>,
    /// `pgsafe_progress`, with its schema.
    progress: &'a str,
}

/// One step: attempts with back-off until it commits, fails for good, or runs out of tries.
fn run_step(
    config: &postgres::Config,
    control: &mut Client,
    opts: &ApplyOptions,
    step: &Step<'_>,
    hints: &std::collections::HashMap<String, String>,
    log: &mut dyn FnMut(&str),
) -> Result<StepResult> {
    let &Step { plan, file, text, sum, ref resumed, progress } = step;
    let stmts = statements(text).map_err(|e| anyhow!("{file}: {e}"))?;
    let transactional = stmts.iter().any(|s| matches!(first_word(s).as_str(), "begin" | "start"));
    let build = if transactional { None } else { stmts.iter().find_map(|s| concurrent_index(s)) };
    let index = build.as_ref().and_then(|b| b.name.clone());
    let reindexed = if transactional { None } else { stmts.iter().find_map(|s| concurrent_reindex(s)) };
    let began = Instant::now();
    let mut result = StepResult {
        file: file.to_owned(),
        status: "failed".into(),
        attempts: 0,
        seconds: 0.0,
        retries: Vec::new(),
        dropped_invalid: Vec::new(),
        error: None,
    };
    let record = format!("INSERT INTO {progress} (plan, step, checksum, attempts) VALUES ($1, $2, $3, $4)");
    let mut lookup = match build.is_some() || reindexed.is_some() {
        true => Some(settings_session(config, &stmts).map_err(|e| anyhow!("{file}: {e:#}"))?),
        false => None,
    };
    if let (Some(build), Some(Some(before)), Some(lookup)) = (&build, resumed, &mut lookup) {
        let why = "left by the earlier run's build";
        drop_leftovers(lookup, control, &build.table, before, why, &mut result, &mut *log)?;
    }
    let before = match (&build, &mut lookup) {
        (Some(b), Some(lookup)) => Some(table_indexes(lookup, &b.table)?),
        _ => None,
    };
    // A step that commits as it goes is recorded before it runs, as started (an index build with
    // the indexes its table had, so that a run resuming it knows which INVALID ones it left).
    let inside = records_inside(&stmts);
    if !inside {
        control.execute(
            &format!(
                "INSERT INTO {progress} (plan, step, checksum, attempts, finished, indexes_before) \
                 VALUES ($1, $2, $3, 0, false, $4)"
            ),
            &[&plan, &file, &sum, &before],
        )?;
    }
    let resumed = resumed.is_some();
    let finish = format!(
        "UPDATE {progress} SET finished = true, attempts = $3, applied_at = now() WHERE plan = $1 AND step = $2"
    );
    let forget = format!("DELETE FROM {progress} WHERE plan = $1 AND step = $2");
    for attempt in 1..=opts.max_attempts.max(1) {
        result.attempts = attempt;
        if let (Some(name), Some(lookup)) = (&index, &mut lookup) {
            match index_state(lookup, name)? {
                Some((true, _)) if attempt == 1 && resumed => {
                    // Built by a run that was killed before it could record it. (Not started by
                    // one: an index of that name is someone else's, and the step runs as written,
                    // failing or skipping as the draft would.)
                    log(&format!("{file}: index {name} already exists and is valid; recorded as applied"));
                    control.execute(&finish, &[&plan, &file, &0i32])?;
                    result.status = "applied".into();
                    result.seconds = began.elapsed().as_secs_f64();
                    return Ok(result);
                }
                Some((false, qualified)) => {
                    log(&format!("{file}: dropping INVALID index {qualified} left by a failed build"));
                    control.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"))?;
                    result.dropped_invalid.push(name.clone());
                }
                _ => {}
            }
        }
        if let (Some(target), Some(lookup)) = (&reindexed, &mut lookup) {
            for name in reindex_leftovers(lookup, target)? {
                log(&format!("{file}: dropping INVALID index {name} left by a failed REINDEX CONCURRENTLY"));
                control.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
                result.dropped_invalid.push(name);
            }
        }
        let before = match (&build, &mut lookup) {
            (Some(b), Some(lookup)) => Some((b, table_indexes(lookup, &b.table)?)),
            _ => None,
        };
        let mut worker = config.connect(NoTls).context("could not connect to --database-url")?;
        let pid: i32 = worker.query_one("SELECT pg_backend_pid()", &[])?.get(0);
        let blockers: Mutex<Vec<String>> = Mutex::new(Vec::new());
        // Ctrl-C (or SIGTERM) while a statement runs cancels it on the server, as psql does: the
        // process would end, and the server would go on and commit it with no record.
        let section = crate::interrupt::critical();
        let cancel = worker.cancel_token();
        let on_signal = || {
            if section.interrupted() {
                let _ = cancel.cancel_query(NoTls);
            }
        };
        let blocked_now = AtomicBool::new(false);
        let outcome = watch_blockers(control, pid, &blockers, &blocked_now, &on_signal, || {
            run_statements(&mut worker, &stmts, || {
                (record.as_str(), vec![plan.to_owned(), file.to_owned(), sum.to_owned()], attempt as i32)
            })
        });
        if section.interrupted() {
            let committed = matches!(&outcome, Err(Failed { committed: true, .. })) || (outcome.is_ok() && !inside);
            // A cancelled build stays recorded as started: the next run drops what it left.
            if !committed && !inside && build.is_none() {
                control.execute(&forget, &[&plan, &file])?;
            }
            log(&format!(
                "{file}: interrupted; {}",
                if outcome.is_ok() {
                    "the step had finished"
                } else if committed {
                    "its running statement was cancelled, and part of the step had committed: it stays recorded as started"
                } else {
                    cancelled_leaves(&stmts, build.is_some())
                }
            ));
            if outcome.is_ok() && !inside {
                control.execute(&finish, &[&plan, &file, &(attempt as i32)])?;
            }
            // Dropping the section ends the process with the signal's status.
            drop(section);
        }
        match outcome {
            Ok(()) => {
                if !inside {
                    control.execute(&finish, &[&plan, &file, &(attempt as i32)])?;
                }
                result.status = "applied".into();
                result.seconds = began.elapsed().as_secs_f64();
                log(&format!(
                    "{file}: applied in {:.2} s{}",
                    result.seconds,
                    if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() }
                ));
                return Ok(result);
            }
            Err(Failed { error: e, committed }) => {
                let _ = worker.batch_execute("ROLLBACK");
                if let (Some((build, before)), Some(lookup)) = (&before, &mut lookup) {
                    let why = "left by the failed build";
                    drop_leftovers(lookup, control, &build.table, before, why, &mut result, &mut *log)?;
                }
                let code = e.code().map(|c| c.code().to_owned()).unwrap_or_default();
                let msg = e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{code}: {}", d.message()));
                // A statement timeout is the blockers' doing only if the step still waited for them
                // when it was cancelled; else its work took too long (a blocker seen earlier only
                // delayed it).
                let mut who = blockers.into_inner().unwrap_or_else(|e| e.into_inner());
                if code == STATEMENT_TIMEOUT && !blocked_now.load(Ordering::Relaxed) {
                    who.clear();
                }
                let line = format!(
                    "attempt {attempt}: {msg}{}",
                    if who.is_empty() { String::new() } else { format!("; blocked by {}", who.join(", ")) }
                );
                if committed {
                    log(&format!(
                        "{file}: {line}; part of this step had committed already, so it is not retried: rerun what is left \
                         of it by hand (it stays recorded as started, and the next apply stops there until it is marked \
                         finished)"
                    ));
                }
                if committed || !RETRYABLE.contains(&code.as_str()) || attempt == opts.max_attempts.max(1) {
                    log(&format!("{file}: {line}; giving up"));
                    if !committed && !inside {
                        // Nothing of it committed: a later run may run it whole.
                        control.execute(&forget, &[&plan, &file])?;
                    }
                    if code == STATEMENT_TIMEOUT {
                        let hint = hints.get(file).map_or(
                            "statement_timeout cancelled this step: it runs longer than the plan allows. Run it deliberately with a larger statement_timeout (SET LOCAL statement_timeout before the statement in the draft), or split the work (expand/contract, batches)",
                            String::as_str,
                        );
                        log(&format!("{file}: {hint}"));
                    }
                    result.retries.push(line);
                    result.error = Some(msg);
                    result.seconds = began.elapsed().as_secs_f64();
                    return Ok(result);
                }
                let delay = backoff(opts, attempt);
                log(&format!("{file}: {line}; retrying in {:.2} s", delay.as_secs_f64()));
                result.retries.push(line);
                std::thread::sleep(delay);
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Run `f` while a second thread, on `control`, samples which sessions block backend `pid`, and
/// calls `tick` every 100 ms.
fn watch_blockers<T>(
    control: &mut Client,
    pid: i32,
    blockers: &Mutex<Vec<String>>,
    blocked_now: &AtomicBool,
    tick: &(dyn Fn() + Sync),
    f: impl FnOnce() -> T,
) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let done = &done;
        s.spawn(move || {
            // bounded: polls every 100 ms for at most a day
            for _ in 0..864_000 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                tick();
                if let Ok(rows) = control.query(
                    "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.state, '?'), \
                            coalesce(extract(epoch FROM now() - a.xact_start)::float8, 0), left(a.query, 60) \
                     FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1))",
                    &[&pid],
                ) {
                    blocked_now.store(!rows.is_empty(), Ordering::Relaxed);
                    let mut b = blockers.lock().unwrap_or_else(|e| e.into_inner());
                    for r in rows {
                        let desc = format!(
                            "pid {} ({}, {} for {:.1} s: {})",
                            r.get::<_, i32>(0),
                            r.get::<_, String>(1),
                            r.get::<_, String>(2),
                            r.get::<_, f64>(3),
                            r.get::<_, Option<String>>(4).unwrap_or_default().replace('\n', " ")
                        );
                        let key = format!("pid {} ", r.get::<_, i32>(0));
                        if let Some(old) = b.iter_mut().find(|d| d.starts_with(&key)) {
                            *old = desc;
                        } else {
                            b.push(desc);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let out = f();
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// A step that failed, and whether part of it had committed already (a step kept as written can
/// hold several of the draft's transactions, or statements in autocommit): such a step is never
/// retried whole, since that would run its committed part twice.
struct Failed {
    error: postgres::Error,
    committed: bool,
}

/// What a cancelled statement of a step leaves, when nothing of the step had committed at its
/// level: a concurrent build's INVALID index and a batched loop's committed batches stay.
fn cancelled_leaves(stmts: &[String], builds_an_index: bool) -> &'static str {
    let reindexes = stmts.iter().any(|s| crate::front::forms::reindex(s).is_some_and(|f| f.concurrently));
    if builds_an_index {
        "its running statement was cancelled: the INVALID index the build leaves is dropped by the next run, which builds it again"
    } else if reindexes {
        "its running statement was cancelled: REINDEX CONCURRENTLY leaves an INVALID copy of the index (named …_ccnew), \
         which the next run drops before it reindexes again"
    } else if stmts.iter().any(|s| s.starts_with("DO $pgsafe$")) {
        "its running statement was cancelled: the batches the loop had committed stay, and the next run goes on with \
         the rows left"
    } else {
        "its running statement was cancelled and rolled back"
    }
}

/// May a step that a run started and did not finish run again whole? pgsafe's batched loops
/// (they change again only the rows that still match, with a value that reads no column they
/// write) and concurrent index builds (an INVALID index is dropped first, a valid one taken as
/// built) may; anything else that commits as it goes may not.
fn resumes_safely(text: &str) -> bool {
    let Ok(stmts) = statements(text) else { return false };
    // pgsafe's guard before a build drops only a failed build's leftover: it may run again.
    let plain =
        |s: &&String| matches!(first_word(s).as_str(), "set" | "reset") || s.starts_with(crate::emit::leftover::GUARD);
    let work: Vec<&String> = stmts.iter().filter(|s| !plain(s)).collect();
    work.len() == 1 && (work[0].starts_with("DO $pgsafe$") || concurrent_index(work[0]).is_some())
}

/// Is the step one transaction, which its last statement commits (session settings may come
/// before its `BEGIN`)? Then its progress row is written just before that `COMMIT`, so that both
/// commit together; otherwise the step commits as it goes, and is recorded as started before it
/// runs. (A draft kept as written with two `BEGIN … COMMIT`s, its last statement a `COMMIT`, was
/// taken for one: a run interrupted after the first left no record, and the next ran it again.)
fn records_inside(stmts: &[String]) -> bool {
    let heads: Vec<Vec<String>> = stmts.iter().map(|s| head_words(s, 4)).collect();
    let word = |k: usize| heads[k].first().map_or("", String::as_str);
    let Some(begin) = (0..heads.len()).find(|&k| matches!(word(k), "begin" | "start")) else { return false };
    let last = heads.len() - 1;
    (0..begin).all(|k| matches!(word(k), "set" | "reset"))
        && matches!(word(last), "commit" | "end")
        && !heads[last].iter().any(|w| w == "chain")
        && !(begin + 1..last).any(|k| matches!(word(k), "begin" | "start") || ends_transaction(&heads[k]))
}

/// Do a statement's first words end its transaction (`COMMIT`, `END`, `ABORT`, `ROLLBACK` but
/// not to a savepoint, `PREPARE TRANSACTION`)?
fn ends_transaction(head: &[String]) -> bool {
    let rest = head.iter().skip(1).skip_while(|w| *w == "work" || *w == "transaction");
    match head.first().map(String::as_str) {
        Some("commit" | "end" | "abort") => true,
        Some("rollback") => rest.take(1).all(|w| w != "to"),
        Some("prepare") => head.get(1).is_some_and(|w| w == "transaction"),
        _ => false,
    }
}

/// Run the statements of one step, statement by statement as `psql -f` does.
fn run_statements<'r>(
    worker: &mut Client,
    stmts: &[String],
    record: impl Fn() -> (&'r str, Vec<String>, i32),
) -> Result<(), Failed> {
    let inside = records_inside(stmts);
    let mut in_tx = false;
    let mut committed = false;
    for (k, stmt) in stmts.iter().enumerate() {
        let word = first_word(stmt);
        if inside && k + 1 == stmts.len() {
            let (sql, params, attempts) = record();
            record_as_login_user(worker, sql, &params, attempts).map_err(|error| Failed { error, committed })?;
        }
        let may_have_committed = committed || (!in_tx && commits_inside(stmt));
        worker.batch_execute(stmt).map_err(|error| Failed { error, committed: may_have_committed })?;
        match word.as_str() {
            "begin" | "start" => in_tx = true,
            "commit" | "end" if in_tx => {
                in_tx = false;
                committed = true;
            }
            "rollback" | "abort" if !lex(stmt).iter().any(|t| t.is_word("to")) => in_tx = false,
            "set" | "reset" | "show" | "rollback" | "abort" | "commit" | "end" => {}
            _ if !in_tx => committed = true,
            _ => {}
        }
    }
    Ok(())
}

/// The indexes of `table` (as written in the step), as an `oid[]` literal: a concurrent build that
/// fails leaves an INVALID index, named by PostgreSQL if the step names none, and only the
/// indexes missing from this list can be the step's (see [`drop_leftovers`]).
fn table_indexes(lookup: &mut Client, table: &str) -> Result<String> {
    let sql = "SELECT coalesce(array_agg(indexrelid ORDER BY indexrelid), '{}')::text FROM pg_index \
               WHERE indrelid = to_regclass($1)";
    Ok(lookup.query_one(sql, &[&table])?.get(0))
}

/// Drop the INVALID indexes of `table` that are not in `before` ([`table_indexes`] taken before
/// the build): those are the ones the step's failed build made. Why not by definition: the
/// step's text and `pg_get_indexdef` spell it differently, and the list needs no parsing. An
/// index another session builds right now is INVALID too until its build ends: it is left alone.
fn drop_leftovers(
    lookup: &mut Client,
    control: &mut Client,
    table: &str,
    before: &str,
    why: &str,
    result: &mut StepResult,
    log: &mut dyn FnMut(&str),
) -> Result<()> {
    let rows = lookup.query(
        "SELECT format('%I.%I', n.nspname, c.relname) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE i.indrelid = to_regclass($1) AND NOT i.indisvalid AND i.indexrelid <> ALL ($2::text::oid[]) \
           AND i.indexrelid <> ALL (ARRAY(SELECT index_relid FROM pg_stat_progress_create_index)) \
         ORDER BY 1",
        &[&table, &before],
    )?;
    for name in rows.iter().map(|r| r.get::<_, String>(0)) {
        log(&format!("{}: dropping INVALID index {name} {why}", result.file));
        control.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))?;
        result.dropped_invalid.push(name);
    }
    Ok(())
}

/// Write the step's progress row, inside its transaction, as the user apply logged in as: the step
/// may have set a role (`SET ROLE`, `SET LOCAL ROLE`) that cannot write to the progress table. The
/// step's role is set back for its `COMMIT` (deferred triggers run as it). Left: a step's `SET
/// SESSION AUTHORIZATION` changes the user `ROLE NONE` means.
fn record_as_login_user(
    worker: &mut Client,
    sql: &str,
    params: &[String],
    attempts: i32,
) -> Result<(), postgres::Error> {
    let role: String = worker.query_one("SELECT current_setting('role')", &[])?.get(0);
    worker.batch_execute("SET LOCAL ROLE NONE")?;
    worker.execute(sql, &[&params[0], &params[1], &params[2], &attempts])?;
    worker.execute("SELECT set_config('role', $1, true)", &[&role])?;
    Ok(())
}

/// May a statement commit part of its work and then fail? A procedure (`CALL`: its body is not in
/// the step) or a `DO` block that says `COMMIT` or `ROLLBACK`, run outside a transaction block,
/// may: failed, it is taken as partly committed and never retried whole. pgsafe's own batched
/// loops (`DO $pgsafe$`) are the exception: run again, they change only the rows left.
fn commits_inside(stmt: &str) -> bool {
    let ends_a_transaction = || {
        let lower = stmt.to_ascii_lowercase();
        lower.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w == "commit" || w == "rollback")
    };
    match first_word(stmt).as_str() {
        "call" => true,
        "do" => !stmt.starts_with("DO $pgsafe$") && ends_a_transaction(),
        _ => false,
    }
}

/// `Some((valid?, name with its schema))` for an existing index named `name` (as written in the
/// step, looked up on the step's [`settings_session`]), `None` if absent.
fn index_state(lookup: &mut Client, name: &str) -> Result<Option<(bool, String)>> {
    let row = lookup.query_opt(
        "SELECT i.indisvalid, format('%I.%I', n.nspname, c.relname) FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE i.indexrelid = to_regclass($1)",
        &[&name],
    )?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// A session that ran the step's leading `SET`s and `RESET`s: the names in the step are looked up
/// as the step sees them (its own `SET search_path`), not in the control session's path, where
/// they could name another schema's index. Its look-ups wait for nothing, so the step's timeouts
/// are lifted: they must not cancel them.
fn settings_session(config: &postgres::Config, stmts: &[String]) -> Result<Client> {
    let mut session = config.connect(NoTls).context("could not connect to --database-url")?;
    for stmt in stmts.iter().take_while(|s| matches!(first_word(s).as_str(), "set" | "reset")) {
        session.batch_execute(stmt)?;
    }
    session.batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")?;
    Ok(session)
}

/// What `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] [name] ON [ONLY] table …` builds: the
/// index name (`None` for an unnamed index: PostgreSQL picks it) and the table, as written.
#[derive(Debug, PartialEq, Eq)]
struct IndexBuild {
    name: Option<String>,
    table: String,
}

/// The index a concurrent build makes, if `stmt` is one.
fn concurrent_index(stmt: &str) -> Option<IndexBuild> {
    let toks = lex(stmt);
    let word = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
    // ident [ . ident ], as written, and the token after it
    let qualified = |i: usize| -> Option<(String, usize)> {
        let first = toks.get(i).filter(|t| matches!(t.tok, Tok::Word(_) | Tok::Quoted(_)))?;
        let (end, next) = if toks.get(i + 1).is_some_and(|t| t.is_punct('.')) {
            (toks.get(i + 2)?.span.end, i + 3)
        } else {
            (first.span.end, i + 1)
        };
        Some((stmt[first.span.start..end].to_owned(), next))
    };
    if !word(0, "create") {
        return None;
    }
    let mut i = 1;
    if word(i, "unique") {
        i += 1;
    }
    if !(word(i, "index") && word(i + 1, "concurrently")) {
        return None;
    }
    i += 2;
    if word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") {
        i += 3;
    }
    let name = if word(i, "on") {
        None
    } else {
        let (name, next) = qualified(i)?;
        i = next;
        Some(name)
    };
    if !word(i, "on") {
        return None;
    }
    i += 1;
    if word(i, "only") {
        i += 1;
    }
    let (table, _) = qualified(i)?;
    Some(IndexBuild { name, table })
}

/// What `REINDEX [(…)] INDEX|TABLE CONCURRENTLY name` rebuilds: the index or table name, as
/// written.
#[derive(Debug, PartialEq, Eq)]
enum Reindexed {
    Index(String),
    Table(String),
}

/// The target of a concurrent `REINDEX` of one index or one table, however its concurrency is
/// spelled (a schema's or database's leaves copies under every table of it: not looked for).
fn concurrent_reindex(stmt: &str) -> Option<Reindexed> {
    let form = crate::front::forms::reindex(stmt).filter(|f| f.concurrently)?;
    match form.target.as_str() {
        "INDEX" => Some(Reindexed::Index(form.name)),
        "TABLE" => Some(Reindexed::Table(form.name)),
        _ => None,
    }
}

/// The INVALID copies a failed concurrent `REINDEX` of `target` left: indexes of the same table
/// named after one of the rebuilt indexes (PostgreSQL truncates a long base name to make room)
/// with `_ccnew` or `_ccold` and an optional number. Quoted and qualified, ready to drop. Looked up
/// on the step's [`settings_session`].
fn reindex_leftovers(lookup: &mut Client, target: &Reindexed) -> Result<Vec<String>> {
    let (index, table) = match target {
        Reindexed::Index(n) => (n.as_str(), ""),
        Reindexed::Table(n) => ("", n.as_str()),
    };
    let rows = lookup.query(
        "WITH rebuilt AS ( \
             SELECT i.indrelid AS tbl, c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indisvalid AND (i.indexrelid = to_regclass(nullif($1, '')) OR i.indrelid = to_regclass(nullif($2, ''))) \
         ) \
         SELECT DISTINCT format('%I.%I', n.nspname, c.relname) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN rebuilt r ON r.tbl = i.indrelid \
         WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' \
           AND starts_with(r.name, substring(c.relname FROM '^(.+)_cc(?:new|old)[0-9]*$')) \
         ORDER BY 1",
        &[&index, &table],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The statements of a step file, in order. psql meta-commands are refused: only psql runs them.
fn statements(text: &str) -> Result<Vec<String>> {
    let pieces = split(text).map_err(|e| anyhow!("{e}"))?;
    let mut out = Vec::new();
    for p in &pieces {
        match &p.kind {
            PieceKind::Statement { body, .. } if text[body.clone()].ends_with("\\.") => bail!(
                "COPY … FROM stdin with its data ({:?}): pgsafe apply runs SQL only; run this file with psql",
                crate::front::tokens::head_words(&text[body.clone()], 3).join(" ")
            ),
            PieceKind::Statement { body, .. } => out.push(text[body.clone()].to_owned()),
            PieceKind::Meta { body } => bail!(
                "psql meta-command {:?}: pgsafe apply runs SQL only; run this file with psql",
                &text[body.clone()]
            ),
            PieceKind::Trivia => {}
        }
    }
    Ok(out)
}

/// base × 2^(attempt-1), capped, times a random factor in [0.5, 1].
fn backoff(opts: &ApplyOptions, attempt: u32) -> Duration {
    let exp = opts.base_backoff.saturating_mul(1u32 << (attempt - 1).min(16)).min(opts.max_backoff);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = 0.5 + 0.5 * f64::from((nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 1000) / 1000.0;
    exp.mul_f64(jitter)
}

/// FNV-1a, hex: detects a step file that changed after it was applied.
pub fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmts(text: &str) -> Vec<String> {
        statements(text).unwrap()
    }

    #[test]
    fn one_transaction_commits_with_its_record_and_several_do_not() {
        let one = stmts(
            "SET lock_timeout = '1s';\nBEGIN;\nSAVEPOINT a;\nUPDATE t SET a = 1;\nROLLBACK TO SAVEPOINT a;\nCOMMIT;\n",
        );
        assert!(records_inside(&one));
        for several in [
            "BEGIN;\nUPDATE t SET a = 1;\nCOMMIT;\nBEGIN;\nUPDATE t SET a = 2;\nCOMMIT;\n",
            "BEGIN;\nUPDATE t SET a = 1;\nCOMMIT AND CHAIN;\nUPDATE t SET a = 2;\nCOMMIT;\n",
            "BEGIN;\nUPDATE t SET a = 1;\nROLLBACK;\nBEGIN;\nUPDATE t SET a = 2;\nCOMMIT;\n",
            "UPDATE t SET a = 1;\nBEGIN;\nUPDATE t SET a = 2;\nCOMMIT;\n",
        ] {
            assert!(!records_inside(&stmts(several)), "{several}");
        }
    }

    #[test]
    fn a_cancelled_statement_says_what_it_leaves() {
        let says = |text: &str, index: bool| cancelled_leaves(&stmts(text), index);
        assert!(says("CREATE INDEX CONCURRENTLY i ON t (a);\n", true).contains("INVALID index the build leaves"));
        assert!(says("REINDEX INDEX CONCURRENTLY i;\n", false).contains("_ccnew"));
        assert!(says("REINDEX (CONCURRENTLY) INDEX i;\n", false).contains("_ccnew"));
        assert!(!says("REINDEX (CONCURRENTLY off) INDEX i;\n", false).contains("_ccnew"));
        assert!(says("DO $pgsafe$ BEGIN NULL; END $pgsafe$;\n", false).contains("batches"));
        assert!(says("UPDATE t SET a = 1;\n", false).ends_with("rolled back"));
    }

    #[test]
    fn a_procedure_or_a_do_block_of_the_draft_may_commit_and_a_pgsafe_loop_resumes() {
        assert!(commits_inside("CALL p()"));
        assert!(commits_inside("do $$BEGIN INSERT INTO t VALUES (1); COMMIT; END$$"));
        assert!(!commits_inside("DO $$ BEGIN ALTER TABLE t ADD c int; END $$"));
        assert!(!commits_inside("DO $pgsafe$ BEGIN NULL; END $pgsafe$"));
        assert!(!commits_inside("UPDATE t SET a = 1"));
    }

    #[test]
    fn finds_what_a_concurrent_reindex_rebuilds() {
        use Reindexed::{Index, Table};
        for (sql, want) in [
            ("REINDEX INDEX CONCURRENTLY idx_a", Some(Index("idx_a".into()))),
            ("reindex (verbose, tablespace x) table concurrently s.\"T\"", Some(Table("s.\"T\"".into()))),
            ("REINDEX INDEX idx_a", None),
            ("REINDEX (CONCURRENTLY) TABLE orders", Some(Table("orders".into()))),
            ("REINDEX (CONCURRENTLY false) INDEX idx_a", None),
            ("REINDEX SCHEMA CONCURRENTLY s", None),
            ("CREATE INDEX CONCURRENTLY i ON t (a)", None),
        ] {
            assert_eq!(concurrent_reindex(sql), want, "{sql}");
        }
    }

    #[test]
    fn finds_what_a_concurrent_index_build_makes() {
        let build =
            |name: Option<&str>, table: &str| Some(IndexBuild { name: name.map(str::to_owned), table: table.into() });
        for (sql, want) in [
            ("CREATE INDEX CONCURRENTLY idx_a ON t (a)", build(Some("idx_a"), "t")),
            (
                "create unique index concurrently if not exists s.\"Idx\" on only s.\"T\" (a)",
                build(Some("s.\"Idx\""), "s.\"T\""),
            ),
            ("CREATE INDEX CONCURRENTLY ON t (a)", build(None, "t")),
            ("CREATE INDEX CONCURRENTLY ON app.t USING gin (a)", build(None, "app.t")),
            ("CREATE INDEX idx_a ON t (a)", None),
        ] {
            assert_eq!(concurrent_index(sql), want, "{sql}");
        }
    }

    #[test]
    fn step_files_of_any_width_in_run_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["10000_b.sql", "00002_a.sql", "09999_c.sql", "notes.sql", "123_x.sql", "manifest.json"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = step_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["00002_a.sql", "09999_c.sql", "10000_b.sql"]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let o = ApplyOptions {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..ApplyOptions::new("x")
        };
        assert!(backoff(&o, 1) <= Duration::from_millis(100));
        assert!(backoff(&o, 1) >= Duration::from_millis(50));
        assert!(backoff(&o, 10) <= Duration::from_millis(1000));
        assert!(backoff(&o, 10) >= Duration::from_millis(500));
    }
}
