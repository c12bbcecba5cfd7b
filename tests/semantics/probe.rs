//! The safety probe: each plan step runs while an idle writer holds a transaction open on every
//! table of the setup (the tables with traffic) and one prober per table keeps writing. No write
//! may wait on a lock longer than the step's `lock_timeout` plus [`super::harness::NOISE`].
//!
//! The method is `../shared/tools/blockprobe.py`'s, with two changes that make it fast enough to
//! run on every generated draft and that keep it exact:
//! - It runs on the plan's own database instead of a copy per step. The idle writer is released
//!   as soon as the verdict is known — a prober waited too long (unsafe), or the step is seen
//!   waiting for a lock while every prober has completed a write begun after that (the wait blocks
//!   no writer: safe) — and the step then finishes for real. A step that gave up on its
//!   `lock_timeout` is run again, as `pgsafe apply` would.
//! - Waits are read on the server (`pg_stat_activity`: a prober in a `Lock` wait, since its
//!   `query_start`), so a busy machine's scheduling noise does not count as a lock wait.
//!
//! Partitions are probed as tables of their own (blockprobe probes only their parents).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::harness::{Db, Draft, Pg};

/// How often a prober writes while a step runs, and how often the monitor looks.
const PROBE_EVERY: Duration = Duration::from_millis(20);
const MONITOR_EVERY: Duration = Duration::from_millis(10);

/// What the probe saw for one step.
#[derive(Debug, Clone)]
pub struct StepSafety {
    pub step: String,
    pub ok: bool,
    /// The longest lock wait of a prober while the step ran, seconds, and on which table.
    pub longest_wait: f64,
    pub table: Option<String>,
    /// What was allowed: the step's `lock_timeout` + noise.
    pub allowed: f64,
    /// The step waited for a lock behind the idle writer.
    pub waited: bool,
    /// The step gave up on its `lock_timeout` behind the idle writer and was run again.
    pub retried: bool,
}

impl StepSafety {
    pub fn describe(&self) -> String {
        format!(
            "a write on {} waited {:.2} s for a lock, past the {:.2} s allowed (the step's lock_timeout + noise){}",
            self.table.as_deref().unwrap_or("?"),
            self.longest_wait,
            self.allowed,
            if self.waited { ", the step queued behind an idle writer" } else { "" }
        )
    }
}

/// How the plan ran.
pub struct PlanRun {
    /// The first step that failed for good, and psql's error.
    pub failed: Option<String>,
    pub safety: Vec<StepSafety>,
    /// A step gave up behind the idle writer after part of it had committed: it cannot run again
    /// as if it never had (see [`all_or_nothing`]), so the plan stops there, and what it means is
    /// not compared.
    pub interrupted: Option<String>,
}

/// A table of the setup, as it is called now.
#[derive(Debug, Clone, PartialEq)]
struct Live {
    oid: u32,
    name: String,
    /// A column `SET c = c` may write (neither generated nor `GENERATED ALWAYS`); `None`: the
    /// prober and the blocker take the writer's lock with `LOCK TABLE … IN ROW EXCLUSIVE MODE`,
    /// as they do where an `UPDATE` that changes no row still does something (a statement-level
    /// trigger fires, a rule runs), which would change the rows the plan is compared on.
    column: Option<String>,
}

impl Live {
    /// An ordinary write that changes nothing: it takes the lock a writer takes.
    fn write(&self) -> String {
        match &self.column {
            Some(c) => format!("UPDATE {} SET {c} = {c} WHERE false", self.name),
            None => format!("LOCK TABLE {} IN ROW EXCLUSIVE MODE", self.name),
        }
    }
}

const LIVE_SQL: &str = "SELECT c.oid, format('%I.%I', n.nspname, c.relname), \
    (SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped \
       AND attgenerated = '' AND attidentity <> 'a' \
       AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal AND tgtype & 17 = 16) \
       AND NOT EXISTS (SELECT FROM pg_rewrite WHERE ev_class = c.oid AND ev_type = '2') \
       ORDER BY attnum LIMIT 1) \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
      AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 2";

/// The tables now, or those of them that were there at the start (`setup`).
fn live_tables(mon: &mut postgres::Client, setup: Option<&[u32]>) -> Vec<Live> {
    mon.query(LIVE_SQL, &[])
        .expect("the live tables")
        .iter()
        .map(|r| Live { oid: r.get(0), name: r.get(1), column: r.get(2) })
        .filter(|l| setup.is_none_or(|s| s.contains(&l.oid)))
        .collect()
}

/// One writer that keeps writing to one table.
struct Prober {
    live: Live,
    started: Arc<AtomicU64>,
    completed: Arc<AtomicU64>,
    gone: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    app: String,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    /// Start writing to `live` whenever `running` is set (while a step runs).
    fn start(pg: &'static Pg, db: &str, slot: usize, live: Live, running: Arc<AtomicBool>) -> Prober {
        let app = format!("sem-probe{slot}-{}", live.oid);
        let (started, completed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (gone, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let mut client = pg.connect(db, &app);
        let sql = if live.column.is_some() { live.write() } else { format!("BEGIN; {}; COMMIT", live.write()) };
        let thread = {
            let (started, completed, gone, stop) = (started.clone(), completed.clone(), gone.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if !running.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    started.fetch_add(1, Ordering::SeqCst);
                    let r = client.simple_query(&sql);
                    completed.fetch_add(1, Ordering::SeqCst);
                    if r.is_err() {
                        // the table was dropped or renamed, or a column it writes went away
                        gone.store(true, Ordering::SeqCst);
                        return;
                    }
                    std::thread::sleep(PROBE_EVERY);
                }
            })
        };
        Prober { live, started, completed, gone, stop, app, thread: Some(thread) }
    }

    fn alive(&self) -> bool {
        !self.gone.load(Ordering::SeqCst)
    }

    fn stop(&mut self, pg: &Pg, db: &str) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // A prober still queued behind something: end its session.
            let deadline = Instant::now() + Duration::from_millis(500);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if !t.is_finished() {
                pg.terminate(db, &self.app);
            }
            let _ = t.join();
        }
    }
}

/// The largest `lock_timeout` a step sets, in seconds (0: none, or `0` = wait forever).
pub fn lock_timeout(step: &str) -> f64 {
    let lower = step.to_ascii_lowercase();
    let mut most: f64 = 0.0;
    for (at, _) in lower.match_indices("lock_timeout") {
        let rest = lower[at + "lock_timeout".len()..].trim_start();
        let rest = rest.strip_prefix('=').or_else(|| rest.strip_prefix("to")).unwrap_or("").trim_start();
        let value: String =
            rest.trim_start_matches('\'').chars().take_while(|c| *c != '\'' && *c != ';' && *c != '\n').collect();
        let value = value.trim();
        let digits: String = value.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let Ok(n) = digits.parse::<f64>() else { continue };
        let unit = value[digits.len()..].trim();
        let seconds = match unit {
            "" | "ms" => n / 1000.0,
            "s" => n,
            "min" => n * 60.0,
            "h" => n * 3600.0,
            "us" => n / 1e6,
            _ => continue,
        };
        most = most.max(seconds);
    }
    most
}

/// Does a failed run of `step` leave nothing behind, so that it can run again as if it never had?
/// Its statements, session settings aside, are one statement or one transaction block. (A step
/// kept as written may commit a statement before the block that then gives up behind the idle
/// writer: run again, that statement ran twice, and a generated draft's `INSERT` then broke a
/// unique key.)
pub fn all_or_nothing(step: &str) -> bool {
    use pgsafe::ir::op::OpKind;
    let Ok(m) = pgsafe::ir::migration::Migration::split_and_lower(step) else { return false };
    let (mut blocks, mut outside, mut open) = (0, 0, false);
    for op in m.stmts.iter().flat_map(|s| &s.ops) {
        match op.kind {
            OpKind::Begin if !open => (blocks, open) = (blocks + 1, true),
            OpKind::Commit { .. } => open = false,
            OpKind::Begin | OpKind::Set { local: false, .. } => {}
            _ if !open => outside += 1,
            _ => {}
        }
    }
    (blocks == 0 && outside <= 1) || (blocks == 1 && outside == 0)
}

/// Every sequence's position: (sequence, last value or `None` before the first `nextval`, start).
fn sequence_state(mon: &mut postgres::Client) -> Vec<(String, Option<i64>, i64)> {
    mon.query("SELECT seqrelid::regclass::text, pg_sequence_last_value(seqrelid), seqstart FROM pg_sequence", &[])
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        .unwrap_or_default()
}

fn restore_sequences(mon: &mut postgres::Client, state: &[(String, Option<i64>, i64)]) {
    for (seq, last, start) in state {
        let _ =
            mon.execute("SELECT setval($1::text::regclass, $2, $3)", &[seq, &last.unwrap_or(*start), &last.is_some()]);
    }
}

/// Run `steps` in order on `db`, each under the idle writer and the probers.
pub fn run_plan(pg: &'static Pg, plan_db: &Db, slot: usize, steps: &[PathBuf], draft: &Draft) -> PlanRun {
    plan_db.with(pg, |mon| run_plan_on(pg, &plan_db.name, mon, slot, steps, draft))
}

fn run_plan_on(
    pg: &'static Pg,
    db: &str,
    mon: &mut postgres::Client,
    slot: usize,
    steps: &[PathBuf],
    draft: &Draft,
) -> PlanRun {
    // the tables with traffic: those of the setup (a table the plan creates has none yet)
    let setup: Vec<u32> = live_tables(mon, None).into_iter().map(|l| l.oid).collect();
    let mut blocker = pg.connect(db, &format!("sem-blocker{slot}"));
    let mut probers: BTreeMap<u32, Prober> = BTreeMap::new();
    let running = Arc::new(AtomicBool::new(false));
    let mut out = PlanRun { failed: None, safety: Vec::new(), interrupted: None };
    let step_app = format!("sem-step{slot}");
    for path in steps {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let allowed = lock_timeout(&text) + draft.noise;

        // the idle writer and the probers, on the setup's tables as they are called now
        let live = live_tables(mon, Some(&setup));
        probers.retain(|oid, p| {
            let keep = p.alive() && live.iter().any(|l| l.oid == *oid && *l == p.live);
            if !keep {
                p.stop(pg, db);
            }
            keep
        });
        for l in &live {
            probers.entry(l.oid).or_insert_with(|| Prober::start(pg, db, slot, l.clone(), running.clone()));
        }
        let sequences = sequence_state(mon);
        // one round trip: each table's write in a sub-block, so that one that fails (a table the
        // previous step left unwritable) does not undo the others' locks
        let writes: String =
            live.iter().map(|l| format!("BEGIN {}; EXCEPTION WHEN OTHERS THEN NULL; END;", l.write())).collect();
        let mut held = blocker.batch_execute(&format!("BEGIN; DO $probe$ BEGIN {writes} END $probe$")).is_ok();
        if !held {
            let _ = blocker.batch_execute("ROLLBACK");
        }
        running.store(true, Ordering::SeqCst);
        let apps: BTreeMap<String, u32> = probers.values().map(|p| (p.app.clone(), p.live.oid)).collect();

        let mut safety = StepSafety {
            step: name.clone(),
            ok: true,
            longest_wait: 0.0,
            table: None,
            allowed,
            waited: false,
            retried: false,
        };
        let mut waits: BTreeMap<u32, f64> = BTreeMap::new();
        let mut seen_waiting: Option<Vec<(u32, u64)>> = None;
        let began = Instant::now();
        let mut last_poll = Instant::now() - Duration::from_secs(1);
        let child = pg.psql_file_async(db, path, &step_app, &[]);
        let run = pg.wait(child, db, &step_app, draft.limit, |_| {
            if last_poll.elapsed() < MONITOR_EVERY {
                return;
            }
            last_poll = Instant::now();
            let Ok(rows) = mon.query(
                "SELECT application_name, coalesce(wait_event_type, ''), \
                        coalesce(extract(epoch FROM clock_timestamp() - query_start)::float8, 0), state \
                 FROM pg_stat_activity WHERE datname = current_database()",
                &[],
            ) else {
                return;
            };
            let mut step_waiting = false;
            for r in rows {
                let (app, wait, secs, state): (String, String, f64, Option<String>) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                let active = state.as_deref() == Some("active");
                if app == step_app && active && wait == "Lock" {
                    step_waiting = true;
                } else if let Some(oid) = apps.get(&app) {
                    if active && wait == "Lock" {
                        let w = waits.entry(*oid).or_default();
                        *w = w.max(secs);
                    }
                }
            }
            if !held {
                return;
            }
            let worst = waits.values().copied().fold(0.0, f64::max);
            let release = if worst > allowed {
                true // unsafe: a writer queued too long; the verdict is in
            } else if step_waiting {
                safety.waited = true;
                match &seen_waiting {
                    None => {
                        seen_waiting = Some(
                            probers
                                .values()
                                .filter(|p| p.alive())
                                .map(|p| (p.live.oid, p.started.load(Ordering::SeqCst)))
                                .collect(),
                        );
                        false
                    }
                    // every prober wrote, start to end, while the step waited: it blocks no one
                    Some(marks) => marks.iter().all(|(oid, mark)| {
                        probers.get(oid).is_none_or(|p| !p.alive() || p.completed.load(Ordering::SeqCst) > *mark)
                    }),
                }
            } else {
                began.elapsed().as_secs_f64() > allowed + 2.0
            };
            if release {
                let _ = blocker.batch_execute("ROLLBACK");
                held = false;
            }
        });
        running.store(false, Ordering::SeqCst);
        if held {
            let _ = blocker.batch_execute("ROLLBACK");
        }
        for (oid, w) in &waits {
            if *w > safety.longest_wait {
                safety.longest_wait = *w;
                safety.table = probers.get(oid).map(|p| p.live.name.clone());
            }
        }
        safety.ok = safety.longest_wait <= allowed;
        let mut run = run;
        if !run.ok && !run.timed_out && run.stderr.contains("lock timeout") {
            if !all_or_nothing(&text) {
                // `pgsafe apply` does not run such a step again either (it says what committed).
                out.interrupted = Some(format!("{name} gave up behind the idle writer after part of it had committed"));
                out.safety.push(safety);
                break;
            }
            // It gave up behind the idle writer (now gone): run it again, as `pgsafe apply` does,
            // as if the first attempt had never been (it rolled back; sequences do not).
            safety.retried = true;
            restore_sequences(mon, &sequences);
            run = pg.psql_file(db, path, &step_app, draft.limit);
        }
        out.safety.push(safety);
        if !run.ok {
            out.failed = Some(format!("{name}: {}", run.error()));
            break;
        }
    }
    for p in probers.values_mut() {
        p.stop(pg, db);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{all_or_nothing, lock_timeout};

    #[test]
    fn a_step_runs_again_only_when_a_failure_leaves_nothing_behind() {
        assert!(all_or_nothing(
            "BEGIN;\nSET LOCAL lock_timeout = '100ms';\nALTER TABLE t ADD c int;\nUPDATE t SET c = 1;\nCOMMIT;\n"
        ));
        assert!(all_or_nothing("SET lock_timeout = 0;\nCREATE INDEX CONCURRENTLY i ON t (a);\n"));
        assert!(all_or_nothing("-- comment\nALTER TABLE t ADD c int;\n"));
        assert!(!all_or_nothing("INSERT INTO t VALUES (1);\nBEGIN;\nALTER TABLE t RENAME TO u;\nCOMMIT;\n"));
        assert!(!all_or_nothing(
            "BEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;\nBEGIN;\nALTER TABLE t ADD d int;\nCOMMIT;\n"
        ));
        assert!(!all_or_nothing("CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);\n"));
    }

    #[test]
    fn reads_lock_timeouts() {
        assert_eq!(lock_timeout("BEGIN;\nSET LOCAL lock_timeout = '100ms';\n"), 0.1);
        assert_eq!(lock_timeout("SET lock_timeout TO '2s'; SET lock_timeout = 0;"), 2.0);
        assert_eq!(lock_timeout("SET lock_timeout = 0;"), 0.0);
        assert_eq!(lock_timeout("SELECT 1"), 0.0);
    }
}
