//! The differential harness: one throwaway cluster per test binary, a pool of database pairs reset
//! from a setup's dump, a draft run as written on one database and its plan step by step on the
//! other (under the safety probe), then schema and rows compared.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pgsafe::verify::cluster::{normalize_schema_dump, Cluster, ClusterOptions};
use pgsafe::verify::equivalence::{differing_tables, row_fingerprints};
use pgsafe::Config;

use super::probe::{self, StepSafety};
use super::traffic;

/// Database pairs that checks may use at once (each check runs two psql sessions, a blocker and
/// one prober per table: a few CPU-light connections).
pub const SLOTS: usize = 3;

/// Rows `planeq-setup.sql` inserts (`-v rows=`): enough for several batches of [`BATCH_SIZE`].
const SETUP_ROWS: &str = "2000";

/// `--batch-size` for every plan the suite compiles unless a draft says otherwise: small, so that a
/// batched loop really loops over the fixtures' few thousand rows.
pub const BATCH_SIZE: u32 = 100;

// -- the cluster -------------------------------------------------------------------------------

/// The cluster of this test binary, started on first use and stopped when the process exits.
pub struct Pg {
    cluster: Mutex<Option<Cluster>>,
    port: u16,
    bindir: PathBuf,
    /// Where setup dumps and plan files go (inside the cluster's own directory).
    pub work: PathBuf,
    slots: Mutex<Vec<Slot>>,
    free: Condvar,
    setups: Mutex<HashMap<PathBuf, SetupCell>>,
    /// A session on `postgres` for CREATE/DROP DATABASE and ending other sessions.
    admin: Mutex<Option<postgres::Client>>,
}

/// A setup, prepared once by whichever check needs it first.
type SetupCell = Arc<OnceLock<Result<Arc<Setup>, String>>>;

extern "C" fn stop_cluster() {
    if let Some(pg) = PG.get() {
        drop(pg.cluster.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

static PG: OnceLock<Pg> = OnceLock::new();

pub fn pg() -> &'static Pg {
    PG.get_or_init(|| {
        let options = ClusterOptions {
            settings: vec![("max_connections".into(), "200".into()), ("log_min_messages".into(), "fatal".into())],
            ..ClusterOptions::default()
        };
        let cluster = Cluster::start_with(&options).expect("a throwaway PostgreSQL cluster");
        // SAFETY: registering a plain `extern "C"` function without arguments.
        unsafe {
            libc::atexit(stop_cluster);
        }
        let work = cluster.dir().join("semantics");
        fs::create_dir_all(&work).expect("a work directory");
        let pg = Pg {
            port: cluster.port(),
            bindir: cluster.bindir().to_path_buf(),
            work,
            cluster: Mutex::new(Some(cluster)),
            slots: Mutex::new(Vec::new()),
            free: Condvar::new(),
            setups: Mutex::new(HashMap::new()),
            admin: Mutex::new(None),
        };
        let mut slots = Vec::new();
        for n in 0..SLOTS {
            let (a, b) = (format!("draft{n}"), format!("plan{n}"));
            for db in [&a, &b] {
                pg.admin(&format!("CREATE DATABASE {db}")).expect("slot databases");
            }
            slots.push(Slot { n, draft: Db::new(a), plan: Db::new(b) });
        }
        *pg.slots.lock().unwrap() = slots;
        pg
    })
}

impl Pg {
    /// CPU seconds the server has used so far (the postmaster and the backends that exited), from
    /// `/proc`; `None` elsewhere.
    pub fn server_cpu_seconds(&self) -> Option<f64> {
        let cluster = self.cluster.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = fs::read_to_string(cluster.as_ref()?.data_dir().join("postmaster.pid")).ok()?;
        let stat = fs::read_to_string(format!("/proc/{}/stat", pid.lines().next()?.trim())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: f64 = fields.get(11..15)?.iter().filter_map(|f| f.parse::<f64>().ok()).sum();
        Some(ticks / 100.0)
    }

    pub fn conninfo(&self, db: &str, app: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname={db} application_name={app} connect_timeout=10", self.port)
    }

    pub fn connect(&self, db: &str, app: &str) -> postgres::Client {
        postgres::Client::connect(&self.conninfo(db, app), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {db}: {e}"))
    }

    fn client(&self, program: &str, db: &str, app: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("PGCLIENTENCODING", "UTF8").stdin(Stdio::null()).arg("-d").arg(self.conninfo(db, app));
        cmd
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -f FILE` (a user running a file, statement by statement),
    /// killed after `limit`. `vars` are `-v name=value` pairs.
    pub fn psql_file_async(&self, db: &str, file: &Path, app: &str, vars: &[(&str, &str)]) -> Child {
        let mut cmd = self.client("psql", db, app);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]);
        for (k, v) in vars {
            cmd.arg("-v").arg(format!("{k}={v}"));
        }
        cmd.arg("-f").arg(file).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.spawn().expect("psql runs")
    }

    pub fn psql_file(&self, db: &str, file: &Path, app: &str, limit: Duration) -> Run {
        let child = self.psql_file_async(db, file, app, &[]);
        self.wait(child, db, app, limit, |_| {})
    }

    /// Wait for a psql child, calling `tick` every few milliseconds; past `limit` the child is
    /// killed and its backend terminated.
    pub fn wait(&self, mut child: Child, db: &str, app: &str, limit: Duration, mut tick: impl FnMut(&Child)) -> Run {
        let began = Instant::now();
        let mut stderr = child.stderr.take().expect("piped stderr");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for psql") {
                break Some(status);
            }
            if began.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                self.terminate(db, app);
                break None;
            }
            tick(&child);
            std::thread::sleep(Duration::from_millis(4));
        };
        let stderr = reader.join().unwrap_or_default();
        Run {
            ok: status.is_some_and(|s| s.success()),
            timed_out: status.is_none(),
            stderr,
            seconds: began.elapsed().as_secs_f64(),
        }
    }

    /// Run `sql` on the admin session (made anew if it went away).
    fn admin(&self, sql: &str) -> Result<(), String> {
        let mut admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        if admin.as_ref().is_none_or(|c| c.is_closed()) {
            *admin = Some(self.connect("postgres", "sem-admin"));
        }
        admin.as_mut().unwrap().batch_execute(sql).map_err(|e| format!("{sql}: {}", db_message(&e)))
    }

    /// End the sessions of `app` on `db`.
    pub fn terminate(&self, db: &str, app: &str) {
        let _ = self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = '{app}'"
        ));
    }

    pub fn dump_schema(&self, db: &str) -> std::thread::JoinHandle<Result<String, String>> {
        let mut cmd = self.client("pg_dump", db, "sem-dump");
        cmd.args(["--schema-only", "--no-owner", "--no-privileges"]);
        std::thread::spawn(move || {
            let out = cmd.output().map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned());
            }
            Ok(normalize_schema_dump(&String::from_utf8_lossy(&out.stdout)))
        })
    }

    /// The prepared setup `path` (loaded once into its own database, dumped, and restored from
    /// that dump into every slot that needs it: both sides start from the very same rows).
    pub fn setup(&self, path: &Path) -> Result<Arc<Setup>, String> {
        let cell = self.setups.lock().unwrap().entry(path.to_path_buf()).or_default().clone();
        cell.get_or_init(|| self.prepare_setup(path)).clone()
    }

    fn prepare_setup(&self, path: &Path) -> Result<Arc<Setup>, String> {
        // A counter, not the number of setups so far: two setups prepared at once would count
        // the same and create the same database.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let db = format!("setup{n}_{}", std::process::id());
        self.admin(&format!("CREATE DATABASE {db}"))?;
        let child = self.psql_file_async(&db, path, "sem-setup", &[("rows", SETUP_ROWS), ("users", "200")]);
        let run = self.wait(child, &db, "sem-setup", Duration::from_secs(120), |_| {});
        if !run.ok {
            return Err(format!("setup {} fails: {}", path.display(), run.stderr));
        }
        let dump = self.work.join(format!("setup{n}.sql"));
        let out = self
            .client("pg_dump", &db, "sem-dump")
            .args(["--no-owner", "--no-privileges", "-f"])
            .arg(&dump)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("pg_dump of setup {}: {}", path.display(), String::from_utf8_lossy(&out.stderr)));
        }
        Ok(Arc::new(Setup { path: path.to_path_buf(), dump, fingerprint: OnceLock::new() }))
    }

    /// A free pair of databases, reset to `setup`, for `f`.
    pub fn with_slot<R>(&self, setup: &Arc<Setup>, f: impl FnOnce(&Slot) -> R) -> R {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(s) = slots.pop() {
                    break s;
                }
                slots = self.free.wait(slots).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let t = Instant::now();
        let a = std::thread::scope(|s| {
            let a = s.spawn(|| self.reset(&slot.draft, setup));
            let b = self.reset(&slot.plan, setup);
            (a.join().unwrap_or_else(|_| Err("reset panicked".into())), b)
        });
        if std::env::var_os("SEMANTICS_TIMING").is_some() {
            eprintln!("reset {:.3}", t.elapsed().as_secs_f64());
        }
        let result = match a {
            (Ok(()), Ok(())) => Ok(f(&slot)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).push(slot);
        self.free.notify_one();
        result.unwrap_or_else(|e| panic!("could not reset a database to {}: {e}", setup.path.display()))
    }

    /// Drop every schema of `db` and restore the setup's dump. What a draft may leave outside a
    /// schema (roles aside) shows in the catalog fingerprint; then the database is made anew.
    pub fn reset(&self, db: &Db, setup: &Setup) -> Result<(), String> {
        let name = &db.name;
        for attempt in 0..2 {
            if attempt == 1 {
                *db.session.lock().unwrap_or_else(PoisonError::into_inner) = None;
                self.admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
                self.admin(&format!("CREATE DATABASE {name}"))?;
            } else {
                // whatever a draft or a step left running goes, except the kept session
                self.admin(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND application_name <> 'sem-keep'"
                ))?;
                db.with(self, |c| c.batch_execute(RESET_SQL)).map_err(|e| format!("reset of {name}: {e}"))?;
            }
            let run = self.psql_file(name, &setup.dump, "sem-reset", Duration::from_secs(120));
            if !run.ok {
                return Err(format!("restore of {} into {name}: {}", setup.dump.display(), run.stderr));
            }
            let fp = db.with(self, |c| {
                c.query_one(FINGERPRINT_SQL, &[]).map(|r| r.get::<_, String>(0)).unwrap_or_else(|e| e.to_string())
            });
            // Taken from a database made anew: one an earlier draft used may hold what no schema
            // holds (a publication), and the first reset of a setup on it set that as the norm.
            if attempt == 1 {
                let _ = setup.fingerprint.set(fp.clone());
            }
            if setup.fingerprint.get() == Some(&fp) {
                return Ok(());
            }
        }
        Err(format!("{name} differs from a fresh restore even after it was made anew"))
    }
}

/// Drop every non-system schema (with what is in it: tables, types, functions, extensions) and
/// give back an empty `public`, with the comment a database made anew gives it (without one,
/// `pg_dump` prints `COMMENT ON SCHEMA public IS ''`: a database reset and one made anew differ).
const RESET_SQL: &str = "DO $$ DECLARE s text; BEGIN \
    FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' \
    LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP; END $$; \
    CREATE SCHEMA public; COMMENT ON SCHEMA public IS 'standard public schema'; RESET ALL;";

/// Object counts that a restore into a clean database always gives the same (a leftover of an
/// earlier draft outside any schema changes one of them).
const FINGERPRINT_SQL: &str = "SELECT concat_ws(' ', (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_type), \
    (SELECT count(*) FROM pg_proc), (SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_extension), \
    (SELECT count(*) FROM pg_event_trigger), (SELECT count(*) FROM pg_publication), \
    (SELECT count(*) FROM pg_foreign_server), (SELECT count(*) FROM pg_cast), (SELECT count(*) FROM pg_language), \
    (SELECT count(*) FROM pg_largeobject_metadata), (SELECT count(*) FROM pg_db_role_setting), \
    (SELECT count(*) FROM pg_default_acl), (SELECT count(*) FROM pg_roles))";

/// A setup SQL file, loaded once and dumped.
pub struct Setup {
    pub path: PathBuf,
    dump: PathBuf,
    fingerprint: OnceLock<String>,
}

/// A pair of databases: the draft's and the plan's.
pub struct Slot {
    pub n: usize,
    pub draft: Db,
    pub plan: Db,
}

/// A database of a slot, with a session kept open on it (resets, catalog queries, the probe's
/// monitor): fewer connections, less work for a busy server.
pub struct Db {
    pub name: String,
    session: Mutex<Option<postgres::Client>>,
}

impl Db {
    fn new(name: String) -> Db {
        Db { name, session: Mutex::new(None) }
    }

    /// `f` on the kept session (`application_name` `sem-keep`), connected again if it went away.
    pub fn with<R>(&self, pg: &Pg, f: impl FnOnce(&mut postgres::Client) -> R) -> R {
        let mut s = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if s.as_ref().is_none_or(|c| c.is_closed()) {
            *s = Some(pg.connect(&self.name, "sem-keep"));
        }
        f(s.as_mut().expect("a session"))
    }
}

/// How one psql run went.
#[derive(Debug, Clone)]
pub struct Run {
    pub ok: bool,
    pub timed_out: bool,
    pub stderr: String,
    pub seconds: f64,
}

impl Run {
    /// The SQLSTATE of the error that stopped the run (psql runs with `VERBOSITY=verbose`).
    pub fn sqlstate(&self) -> Option<&str> {
        let at = self.stderr.find("ERROR:  ")? + "ERROR:  ".len();
        let code = self.stderr.get(at..at + 6)?;
        code.ends_with(':').then(|| &code[..5])
    }

    /// A draft PostgreSQL refuses for its transaction structure (`CREATE INDEX CONCURRENTLY` or
    /// `VACUUM` inside `BEGIN`: 25001; an enum value used in the transaction that added it:
    /// 55P04), not for its data: the plan may repair it, and there is nothing to compare.
    pub fn refused_for_structure(&self) -> bool {
        self.sqlstate().is_some_and(|c| c.starts_with("25") || c == "55P04")
    }

    /// The first error line psql printed.
    pub fn error(&self) -> String {
        if self.timed_out {
            return format!("did not finish in {:.0} s", self.seconds);
        }
        let line = self.stderr.lines().find(|l| l.contains("ERROR")).or_else(|| self.stderr.lines().next());
        line.unwrap_or("(no message)").to_owned()
    }
}

// -- drafts ------------------------------------------------------------------------------------

/// A draft with what the suite needs to judge it.
#[derive(Clone)]
pub struct Draft {
    pub name: String,
    pub text: String,
    /// The setup both sides start from.
    pub setup: PathBuf,
    pub config: Config,
    /// `table.column` whose values the draft itself makes nondeterministic; `table.*`: rows
    /// compared by count only.
    pub volatile: BTreeSet<String>,
    /// The longest write wait a step may cause beyond its own `lock_timeout` (seconds).
    pub noise: f64,
    /// No psql run (draft or one step) may take longer.
    pub limit: Duration,
    /// Statements the application runs between plan steps (`-- traffic:` lines; [`traffic`]).
    pub traffic: Vec<String>,
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Draft {
    /// A draft read from a file. Lines it understands anywhere: `-- setup: FILE` (relative to
    /// `tests/fixtures/meaning/setup/`), `-- volatile: t.c …` (also planeq's `-- planeq-volatile:`),
    /// `-- options: schema pg-version=N batch-size=N lock-timeout=T statement-timeout=T`, the golden cases' `-- golden: …` line,
    /// `-- blockprobe-max-wait: S` and `-- traffic: STATEMENT` (one statement a line, in order).
    pub fn from_file(path: &Path, default_setup: Option<&Path>) -> Draft {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.strip_prefix(repo()).unwrap_or(path).display().to_string();
        Draft::from_text(&name, text, default_setup)
    }

    /// A draft from its text (the lines of [`Draft::from_file`] apply).
    pub fn from_text(name: &str, text: String, default_setup: Option<&Path>) -> Draft {
        let path = Path::new(name);
        let mut setup = default_setup.map(Path::to_path_buf);
        let mut config = Config { batch_size: BATCH_SIZE, ..Config::default() };
        let mut volatile = BTreeSet::new();
        let mut noise = NOISE;
        let mut options: Vec<String> = Vec::new();
        let mut traffic = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(f) = line.strip_prefix("-- setup:") {
                setup = Some(repo().join("tests/fixtures/meaning/setup").join(f.trim()));
            } else if let Some(v) =
                line.strip_prefix("-- volatile:").or_else(|| line.strip_prefix("-- planeq-volatile:"))
            {
                volatile.extend(v.split_whitespace().map(str::to_owned));
            } else if let Some(o) = line.strip_prefix("-- options:") {
                options.extend(o.split_whitespace().map(str::to_owned));
            } else if let Some(o) = line.strip_prefix("-- golden:") {
                options.extend(o.split_whitespace().map(|o| {
                    if o.starts_with("schema=") {
                        "schema".into()
                    } else {
                        o.into()
                    }
                }));
            } else if let Some(t) = line.strip_prefix("-- traffic:") {
                traffic.push(t.trim().to_owned());
            } else if let Some(w) = line.strip_prefix("-- blockprobe-max-wait:") {
                noise = w.trim().parse().expect("-- blockprobe-max-wait: SECONDS");
            }
        }
        let setup = setup.unwrap_or_else(|| panic!("{}: no `-- setup: FILE` line", path.display()));
        for o in options {
            match o.split_once('=') {
                None if o == "schema" => config.catalog = Some(catalog(&setup)),
                Some(("pg-version", v)) => config.pg_version = v.parse().expect("pg-version=N"),
                Some(("batch-size", v)) => config.batch_size = v.parse().expect("batch-size=N"),
                Some(("lock-timeout", v)) => config.lock_timeout = v.into(),
                Some(("statement-timeout", v)) => config.statement_timeout = v.into(),
                _ => panic!("{}: unknown option {o:?}", path.display()),
            }
        }
        Draft { name: name.to_owned(), text, setup, config, volatile, noise, limit: Duration::from_secs(60), traffic }
    }

    /// The part of the draft a migration tool runs as "up" (a goose/dbmate down section is not).
    fn up_section(&self) -> String {
        let mut out = String::new();
        for line in self.text.split_inclusive('\n') {
            let l = line.trim().to_ascii_lowercase();
            if l.starts_with("-- +goose down") || l.starts_with("-- migrate:down") {
                break;
            }
            out.push_str(line);
        }
        out
    }
}

/// What `--schema SETUP` tells pgsafe, read once per setup.
fn catalog(setup: &Path) -> Arc<pgsafe::ir::catalog::Catalog> {
    static CATALOGS: Mutex<Vec<(PathBuf, Arc<pgsafe::ir::catalog::Catalog>)>> = Mutex::new(Vec::new());
    let mut all = CATALOGS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, c)) = all.iter().find(|(p, _)| p == setup) {
        return c.clone();
    }
    let c = Arc::new(pgsafe::ir::catalog::Catalog::load(setup).unwrap_or_else(|e| panic!("{e}")));
    all.push((setup.to_path_buf(), c.clone()));
    c
}

/// Beyond its `lock_timeout`, how long a step may make a write wait (scheduling, the probe's own
/// cadence).
pub const NOISE: f64 = 0.4;

// -- the verdict -------------------------------------------------------------------------------

/// What the suite found for one draft.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    pub steps: usize,
    pub draft_failed: Option<String>,
    pub plan_failed: Option<String>,
    pub safety: Vec<StepSafety>,
    /// Empty: the plan means what the draft means and never made a write wait too long.
    pub problems: Vec<String>,
    /// Why what the plan means was not compared (see [`probe::PlanRun::interrupted`]).
    pub not_compared: Option<String>,
    /// The gaps between steps where the draft's traffic was played ([`traffic`]).
    pub traffic_gaps: usize,
    pub seconds: f64,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Compile `draft`, run it and its plan side by side, and judge.
pub fn check(draft: &Draft) -> Verdict {
    match pgsafe::compile(&draft.name, &draft.text, &draft.config) {
        Ok(c) => check_plan(draft, &c.steps().map(|f| (f.name.clone(), f.text())).collect::<Vec<_>>()),
        Err(e) => Verdict { problems: vec![format!("does not compile: {e}")], ..Verdict::default() },
    }
}

/// Run `draft` and the plan `steps` (file name, text) side by side, and judge.
pub fn check_plan(draft: &Draft, steps: &[(String, String)]) -> Verdict {
    let began = Instant::now();
    let mut v = Verdict::default();
    let pg = pg();
    let setup = match pg.setup(&draft.setup) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let dir = tempfile::Builder::new().prefix("draft").tempdir_in(&pg.work).expect("a plan directory");
    let draft_file = dir.path().join("draft.sql");
    fs::write(&draft_file, draft.up_section()).unwrap();
    let steps: Vec<PathBuf> = steps
        .iter()
        .map(|(name, text)| {
            let p = dir.path().join(name);
            fs::write(&p, text).unwrap();
            p
        })
        .collect();
    v.steps = steps.len();
    pg.with_slot(&setup, |slot| {
        let app = format!("sem-draft{}", slot.n);
        let (draft_run, plan_run) = std::thread::scope(|s| {
            let a = s.spawn(|| pg.psql_file(&slot.draft.name, &draft_file, &app, draft.limit));
            let b = probe::run_plan(pg, &slot.plan, slot.n, &steps, draft);
            (a.join().expect("the draft run"), b)
        });
        if std::env::var_os("SEMANTICS_TIMING").is_some() {
            eprintln!(
                "draft {:.3} plan {:.3} ({} steps)",
                draft_run.seconds,
                began.elapsed().as_secs_f64(),
                steps.len()
            );
        }
        v.safety = plan_run.safety;
        for s in &v.safety {
            if !s.ok {
                v.problems.push(format!("unsafe step {}: {}", s.step, s.describe()));
            }
        }
        if !draft_run.ok {
            v.draft_failed = Some(draft_run.error());
        }
        v.plan_failed = plan_run.failed.clone();
        if plan_run.interrupted.is_some() {
            v.not_compared = plan_run.interrupted;
            return;
        }
        match (&v.draft_failed, &v.plan_failed) {
            (Some(d), None) if draft_run.timed_out => v.problems.push(format!("the draft itself {d}")),
            (Some(_), None) if draft_run.refused_for_structure() => {}
            (Some(d), None) => v.problems.push(format!("the draft fails ({d}) but every plan step succeeds")),
            (None, Some(p)) => v.problems.push(format!("the draft succeeds but the plan fails: {p}")),
            (Some(_), Some(_)) => {}
            (None, None) => {
                compare(pg, slot, draft, &mut v);
                if v.problems.is_empty() && !draft.traffic.is_empty() {
                    traffic::check(pg, slot, &setup, draft, &draft_file, &steps, &mut v);
                }
            }
        }
    });
    v.seconds = began.elapsed().as_secs_f64();
    v
}

/// Same schema, same rows.
fn compare(pg: &Pg, slot: &Slot, draft: &Draft, v: &mut Verdict) {
    let t = Instant::now();
    let _timing = Timing(t);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| State::read(pg, &slot.draft, draft));
        let b = State::read(pg, &slot.plan, draft);
        (a.join().expect("the draft's state"), b)
    });
    v.problems.extend(a.differences(&b, "draft", "plan"));
}

/// What a database holds, as the suite compares it: its normalised schema and every table's rows.
pub struct State {
    schema: Result<String, String>,
    rows: Result<BTreeMap<String, String>, String>,
}

impl State {
    pub fn read(pg: &Pg, db: &Db, draft: &Draft) -> State {
        let schema = pg.dump_schema(&db.name);
        let rows = db.with(pg, |c| row_fingerprints(c, None, &draft.volatile)).map_err(|e| format!("{e:#}"));
        State { schema: schema.join().expect("pg_dump"), rows }
    }

    /// How `other` (called `b`) differs from this (called `a`); empty: the same.
    pub fn differences(&self, other: &State, a: &str, b: &str) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.schema, &other.schema) {
            (Ok(x), Ok(y)) if x != y => {
                let diff =
                    similar::TextDiff::from_lines(x, y).unified_diff().context_radius(1).header(a, b).to_string();
                out.push(format!("schema differs:\n{}", diff.lines().take(24).collect::<Vec<_>>().join("\n")));
            }
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => out.push(format!("pg_dump fails: {e}")),
        }
        match (&self.rows, &other.rows) {
            (Ok(x), Ok(y)) => {
                for t in differing_tables(x, y) {
                    out.push(format!(
                        "rows of {t} differ: {a} {} / {b} {}",
                        x.get(&t).map_or("-", String::as_str),
                        y.get(&t).map_or("-", String::as_str)
                    ));
                }
            }
            (Err(e), _) | (_, Err(e)) => out.push(format!("could not read rows: {e}")),
        }
        out
    }
}

struct Timing(Instant);
impl Drop for Timing {
    fn drop(&mut self) {
        if std::env::var_os("SEMANTICS_TIMING").is_some() {
            eprintln!("compare {:.3}", self.0.elapsed().as_secs_f64());
        }
    }
}

/// What the server said (the `postgres` crate's `Display` is only "db error").
pub fn db_message(e: &postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |d| d.to_string())
}
