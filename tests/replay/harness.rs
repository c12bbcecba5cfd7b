//! Replaying a history twice: cluster A runs every up migration as written (as its runner runs
//! it: in one transaction unless it opts out, see [`Side::run_migration`]), cluster B runs
//! pgsafe's plan of it (each step file in order, each with `psql -X -v ON_ERROR_STOP=1 -f`, each in
//! its own session: the plan contract). After every migration the two schemas must be equal
//! (`pg_dump --schema-only` and the roles, normalised). A divergence — pgsafe refuses the file, a
//! step fails, or the schemas differ — is recorded with the migration and the step, B is re-synced
//! from A (see [`resync`]), and the replay goes on, so one bug does not hide the next. Where the
//! draft itself fails on A, the history needs something this replay lacks (an extension, a role, a
//! newer PostgreSQL, a template placeholder, a runner's own preamble): the replay stops and says so.
//! At the end, each table's rows are compared (a note).
//!
//! A and B are separate clusters, as two deployments are: roles, tablespaces and database names are
//! per cluster, so a migration that creates a role runs on both without colliding. The two dumps are
//! taken at the same time (two cores); each client program gets a time limit, so a step that never
//! ends is reported as a failure instead of hanging the replay.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pgsafe::verify::cluster::{normalize_schema_dump, Cluster};

use super::layout::{History, Migration};

/// The database each cluster runs the history in (same name on both sides).
const DB: &str = "app";

/// How long one file (a migration on A, a step on B) may run.
const FILE_LIMIT: Duration = Duration::from_secs(300);

/// A plan of one migration, given the schema of the database before it (A's normalised dump): its
/// step files (name, text) in run order, or why there is none.
pub type Planner<'a> = dyn Fn(&Migration, &str) -> Result<Vec<(String, String)>, String> + Sync + 'a;

/// pgsafe's own plan, as `pgsafe rewrite` writes it (steps only: `down.sql` is not run). With
/// `schema`, pgsafe is told what the database looks like before the migration, as `--schema` with a
/// `pg_dump --schema-only` of it would.
pub fn pgsafe_plan(
    config: &pgsafe::Config,
    schema: bool,
) -> impl Fn(&Migration, &str) -> Result<Vec<(String, String)>, String> + Sync + '_ {
    move |m: &Migration, before: &str| {
        let mut config = config.clone();
        if schema {
            config.catalog = Some(std::sync::Arc::new(pgsafe::ir::catalog::Catalog::from_sql(before)));
        }
        let c = pgsafe::compile(&m.name, &m.text, &config).map_err(|e| e.to_string())?;
        Ok(c.steps().map(|f| (f.name.clone(), f.text())).collect())
    }
}

/// How far to go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Replay at most this many migrations.
    pub migrations: Option<usize>,
    /// Stop before a migration once this much time has passed.
    pub time: Option<Duration>,
}

/// What went wrong with pgsafe's plan of one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// pgsafe refused the file (an input error on a file PostgreSQL runs).
    Refused,
    /// A step of the plan failed where the draft ran.
    StepFailed,
    /// Both ran, the schemas differ.
    SchemaDiffers,
}

#[derive(Debug, Clone)]
pub struct Divergence {
    pub migration: String,
    /// The step file (a failing step; for a schema difference, none).
    pub step: Option<String>,
    pub kind: Kind,
    /// The error, or the first lines of the schema diff (`-` A, `+` B).
    pub detail: String,
}

/// Where and why the replay stopped before the end of the history.
#[derive(Debug, Clone)]
pub struct Stop {
    pub migration: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub layout: String,
    /// Up migrations in the history.
    pub total: usize,
    /// Migrations that ran on A (and were compared).
    pub replayed: usize,
    /// Of those, how many left B equal to A.
    pub equal: usize,
    /// How many pgsafe rewrote (a plan that is not the draft verbatim).
    pub rewritten: usize,
    /// Step files run on B.
    pub steps: usize,
    pub divergences: Vec<Divergence>,
    pub stop: Option<Stop>,
    /// Tables whose rows differ at the end (timestamp, date and uuid columns left out), or why
    /// the rows were not compared.
    pub rows: Result<Vec<String>, String>,
    pub seconds: f64,
}

impl Outcome {
    /// One line per divergence: `migration [step]: kind: detail`.
    pub fn divergence_lines(&self) -> Vec<String> {
        self.divergences
            .iter()
            .map(|d| {
                let step = d.step.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
                let kind = match d.kind {
                    Kind::Refused => "pgsafe refused it",
                    Kind::StepFailed => "step fails",
                    Kind::SchemaDiffers => "schema differs",
                };
                format!("{}{step}: {kind}: {}", d.migration, d.detail)
            })
            .collect()
    }

    /// A plain-text summary for test output.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} ({}): {}/{} replayed, {} equal, {} rewritten, {} steps, {:.1} s",
            self.name,
            self.layout,
            self.total,
            self.replayed,
            self.total,
            self.equal,
            self.rewritten,
            self.steps,
            self.seconds
        );
        for line in self.divergence_lines() {
            write!(s, "\n  DIVERGES {line}").unwrap();
        }
        if let Some(stop) = &self.stop {
            write!(s, "\n  stopped at {}: {}", stop.migration, stop.reason).unwrap();
        }
        match &self.rows {
            Ok(t) if t.is_empty() => {}
            Ok(t) => write!(s, "\n  note: rows differ at the end in {}", t.join(", ")).unwrap(),
            Err(e) => write!(s, "\n  note: rows not compared: {e}").unwrap(),
        }
        s
    }
}

/// One side: a throwaway cluster and its `app` database.
pub struct Side {
    cluster: Cluster,
}

impl Side {
    pub fn start() -> Result<Side, String> {
        let cluster = Cluster::start().map_err(|e| format!("{e:#}"))?;
        cluster.create_database(DB, None).map_err(|e| format!("{e:#}"))?;
        Ok(Side { cluster })
    }

    fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.cluster.bindir().join(program));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        cmd.env("PGCLIENTENCODING", "UTF8").stdin(Stdio::null());
        cmd
    }

    /// A migration the way its runner runs it: in one transaction (`psql -1`) when the runner wraps
    /// it in one, else statement by statement. A file that PostgreSQL refuses to run in a
    /// transaction block (a lone `CREATE INDEX CONCURRENTLY`, which a runner sending the file as one
    /// query runs fine) is rolled back whole and run statement by statement.
    /// The error says whether the failed file may have left part of its work behind (it ran
    /// statement by statement).
    pub fn run_migration(&self, file: &Path, in_transaction: bool) -> Result<(), (String, bool)> {
        if in_transaction {
            match self.psql_file(file, true) {
                Err(e) if e.contains("inside a transaction block") => {}
                other => return other.map_err(|e| (e, false)),
            }
        }
        self.psql_file(file, false).map_err(|e| (e, true))
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -f FILE` (with `-1`: in one transaction); the error is psql's
    /// first `ERROR` line (with its `psql:FILE:LINE:` place) and the line after it.
    pub fn psql_file(&self, file: &Path, single_transaction: bool) -> Result<(), String> {
        let mut cmd = self.client("psql");
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        if single_transaction {
            cmd.arg("-1");
        }
        cmd.arg("-d").arg(self.cluster.url(DB)).arg("-f").arg(file);
        let (ok, _, err) = run(cmd, FILE_LIMIT)?;
        if ok {
            return Ok(());
        }
        let lines: Vec<&str> = err.lines().collect();
        let at = lines.iter().position(|l| l.contains("ERROR") || l.contains("FATAL")).unwrap_or(0);
        let text = lines.iter().skip(at).take(2).map(|l| l.trim()).collect::<Vec<_>>().join(" | ");
        Err(if text.is_empty() { "psql failed without a message".into() } else { text })
    }

    /// One query's rows, `psql -At` (fields separated by `|`).
    pub fn query(&self, sql: &str) -> Result<String, String> {
        let mut cmd = self.client("psql");
        cmd.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d"]).arg(self.cluster.url(DB)).arg("-c").arg(sql);
        let (ok, out, err) = run(cmd, FILE_LIMIT)?;
        if ok {
            Ok(out)
        } else {
            Err(err.trim().to_string())
        }
    }

    /// The schema (normalised `pg_dump --schema-only --no-owner --no-privileges`, timestamps that
    /// a view froze at creation masked) and the roles (`pg_dumpall --roles-only`, passwords masked).
    pub fn schema(&self) -> Result<String, String> {
        let mut dump = self.client("pg_dump");
        dump.args(["--schema-only", "--no-owner", "--no-privileges", "-d"]).arg(self.cluster.url(DB));
        let (ok, out, err) = run(dump, FILE_LIMIT)?;
        if !ok {
            return Err(format!("pg_dump: {}", err.trim()));
        }
        let mut roles = self.client("pg_dumpall");
        roles.args(["--roles-only", "-d"]).arg(self.cluster.url("postgres"));
        let (ok, roles, err) = run(roles, FILE_LIMIT)?;
        if !ok {
            return Err(format!("pg_dumpall: {}", err.trim()));
        }
        let roles: String = normalize_schema_dump(&roles).lines().map(|l| mask_password(l) + "\n").collect();
        Ok(mask_timestamps(&normalize_schema_dump(&out)) + "-- roles\n" + &roles)
    }

    /// Make this side's roles those of `from`: created, or altered where they exist.
    fn copy_roles_from(&self, from: &Side, work: &Path) -> Result<(), String> {
        let roles = work.join("roles.sql");
        let mut dumpall = from.client("pg_dumpall");
        dumpall.args(["--roles-only", "-f"]).arg(&roles).arg("-d").arg(from.cluster.url("postgres"));
        expect_ok(run(dumpall, FILE_LIMIT)?, "pg_dumpall")?;
        // Without ON_ERROR_STOP: `CREATE ROLE` of a role this side has fails, its `ALTER ROLE` then
        // sets the attributes.
        let mut psql = self.client("psql");
        psql.args(["-X", "-q", "-d"]).arg(self.cluster.url("postgres")).arg("-f").arg(&roles);
        run(psql, FILE_LIMIT)?;
        Ok(())
    }

    /// `pg_dump --format=custom` of the database into `archive`.
    fn dump_to(&self, archive: &Path) -> Result<(), String> {
        let mut dump = self.client("pg_dump");
        dump.args(["--format=custom", "-f"]).arg(archive).arg("-d").arg(self.cluster.url(DB));
        expect_ok(run(dump, FILE_LIMIT)?, "pg_dump")
    }

    /// Replace the database with a new one restored from `archive`.
    fn restore(&self, archive: &Path) -> Result<(), String> {
        self.cluster.drop_database(DB).map_err(|e| format!("{e:#}"))?;
        self.cluster.create_database(DB, None).map_err(|e| format!("{e:#}"))?;
        let mut restore = self.client("pg_restore");
        restore.args(["--exit-on-error", "-d"]).arg(self.cluster.url(DB)).arg(archive);
        expect_ok(run(restore, FILE_LIMIT)?, "pg_restore")
    }

    /// Each table's row count and md5 of its rows (`table|count md5`), leaving out columns of the
    /// types histories fill from now() and random functions (timestamps, dates, uuids).
    pub fn rows(&self) -> Result<Vec<String>, String> {
        let columns = self.query(
            "SELECT c.oid::regclass::text, coalesce(string_agg(quote_ident(a.attname), ', ' ORDER BY a.attname) \
               FILTER (WHERE a.atttypid NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype, \
               'uuid'::regtype)), '') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE (c.relkind = 'r' OR c.relkind = 'm' AND c.relispopulated) AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
             GROUP BY 1 ORDER BY 1",
        )?;
        let mut parts = Vec::new();
        for line in columns.lines() {
            let (table, cols) = line.split_once('|').ok_or("unexpected psql output")?;
            let row = if cols.is_empty() { "''".to_string() } else { format!("row({cols})::text") };
            parts.push(format!(
                "SELECT {} || '|' || count(*) || ' ' || md5(coalesce(string_agg({row}, ',' ORDER BY {row}), '')) \
                 FROM {table}",
                quote_literal(table)
            ));
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.query(&parts.join(" UNION ALL "))?.lines().map(str::to_string).collect())
    }
}

/// Replay `history` (named `name`) with `planner` making B's plans.
pub fn replay(name: &str, history: &History, planner: &Planner<'_>, limits: Limits) -> Result<Outcome, String> {
    let began = Instant::now();
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(Side::start);
        let b = Side::start();
        (a.join().expect("cluster start does not panic"), b)
    });
    let (a, b) = (a?, b?);
    if let Some(preamble) = &history.preamble {
        let file = work.path().join("preamble.sql");
        std::fs::write(&file, preamble).map_err(|e| e.to_string())?;
        a.psql_file(&file, true).and(b.psql_file(&file, true)).map_err(|e| format!("the preamble fails: {e}"))?;
    }
    // The schema of A before the next migration (what `--schema` would be given).
    let mut before = a.schema()?;
    let mut a_partial = false;
    let mut out = Outcome {
        name: name.to_string(),
        layout: history.layout.to_string(),
        total: history.migrations.len(),
        replayed: 0,
        equal: 0,
        rewritten: 0,
        steps: 0,
        divergences: Vec::new(),
        stop: None,
        rows: Ok(Vec::new()),
        seconds: 0.0,
    };
    for (n, m) in history.migrations.iter().enumerate() {
        if limits.migrations.is_some_and(|l| n >= l) {
            break;
        }
        if limits.time.is_some_and(|t| began.elapsed() >= t) {
            out.stop = Some(Stop { migration: m.name.clone(), reason: "time box reached".into() });
            break;
        }
        let dir = work.path().join(format!("{n:05}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let draft = dir.join("draft.sql");
        std::fs::write(&draft, &m.up).map_err(|e| e.to_string())?;
        let plan = planner(m, &before);
        let mut steps = Vec::new();
        if let Ok(files) = &plan {
            for (file, text) in files {
                let path = dir.join(file);
                std::fs::write(&path, text).map_err(|e| e.to_string())?;
                steps.push(path);
            }
        }
        // A first: where the draft fails, B must not be left half-way through its plan (the rows
        // are compared at the end).
        if let Err((e, partial)) = a.run_migration(&draft, m.in_transaction) {
            out.stop = Some(Stop { migration: m.name.clone(), reason: why_draft_fails(m, &e) });
            a_partial = partial;
            break;
        }
        let mut ran_b = Ok(());
        for step in &steps {
            if let Err(e) = b.psql_file(step, false) {
                ran_b = Err((file_name(step), e));
                break;
            }
        }
        out.replayed += 1;
        if let Ok(files) = &plan {
            // A plan of one step that holds the draft's text is the draft itself, unchanged.
            let verbatim = files.len() == 1 && files[0].1.contains(m.up.trim());
            out.rewritten += usize::from(!verbatim);
            out.steps += files.len();
        }
        let divergence = match (plan, ran_b) {
            (Err(e), _) => Some(Divergence { migration: m.name.clone(), step: None, kind: Kind::Refused, detail: e }),
            (Ok(_), Err((step, e))) => {
                Some(Divergence { migration: m.name.clone(), step: Some(step), kind: Kind::StepFailed, detail: e })
            }
            (Ok(_), Ok(())) => {
                let (sa, sb) = std::thread::scope(|s| {
                    let sa = s.spawn(|| a.schema());
                    (sa.join().expect("pg_dump runs do not panic"), b.schema())
                });
                let (sa, sb) = (sa?, sb?);
                let differs = (sa != sb).then(|| Divergence {
                    migration: m.name.clone(),
                    step: None,
                    kind: Kind::SchemaDiffers,
                    detail: diff_lines(&sa, &sb),
                });
                before = sa;
                differs
            }
        };
        match divergence {
            None => out.equal += 1,
            Some(d) => {
                out.divergences.push(d);
                match resync(&a, &b, work.path()).and_then(|()| a.schema()) {
                    Ok(schema) => before = schema,
                    Err(e) => {
                        let reason = format!("re-syncing B from A failed: {e}");
                        out.stop = Some(Stop { migration: m.name.clone(), reason });
                        break;
                    }
                }
            }
        }
    }
    out.rows = match (a.rows(), b.rows()) {
        _ if a_partial => Err("the draft that stopped the replay ran part-way on A (no transaction)".into()),
        (Ok(ra), Ok(rb)) => Ok(differing_tables(&ra, &rb)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    out.seconds = began.elapsed().as_secs_f64();
    Ok(out)
}

/// Make B a copy of A again. A dump restored is not byte for byte the database it came from
/// (`DEFAULT NULL` comes back as `DEFAULT NULL::timestamp`), so A is replaced by the same restore:
/// both sides then hold the same catalog, and the next comparison sees only the next migration.
fn resync(a: &Side, b: &Side, work: &Path) -> Result<(), String> {
    b.copy_roles_from(a, work)?;
    let archive = work.join("a.dump");
    a.dump_to(&archive)?;
    let (ra, rb) = std::thread::scope(|s| {
        let ra = s.spawn(|| a.restore(&archive));
        (ra.join().expect("pg_restore runs do not panic"), b.restore(&archive))
    });
    ra.and(rb)
}

/// Why the draft itself fails here, in a few words, then psql's message.
fn why_draft_fails(m: &Migration, error: &str) -> String {
    let e = error.to_ascii_lowercase();
    let placeholder = m.up.contains("{{") && m.up.contains("}}") || m.up.contains("${");
    let cause = if placeholder || e.contains("syntax error at or near \"{\"") {
        "a template placeholder the runner fills in"
    } else if e.contains("extension") && (e.contains("not available") || e.contains("control file")) {
        "an extension this PostgreSQL 15 lacks"
    } else if e.contains("role") && e.contains("does not exist") {
        "a role the platform or runner creates"
    } else if e.contains("does not exist") {
        "an object no earlier migration here creates"
    } else {
        "the draft fails on PostgreSQL 15"
    };
    format!("{cause}: {error}")
}

/// The tables whose `table|count md5` differ between the two sides.
fn differing_tables(a: &[String], b: &[String]) -> Vec<String> {
    let split = |l: &String| l.split_once('|').map(|(t, v)| (t.to_string(), v.to_string()));
    let a: std::collections::BTreeMap<_, _> = a.iter().filter_map(split).collect();
    let b: std::collections::BTreeMap<_, _> = b.iter().filter_map(split).collect();
    a.keys()
        .chain(b.keys())
        .filter(|t| a.get(*t) != b.get(*t))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The first lines only A has (`-`) and only B has (`+`), in order.
fn diff_lines(a: &str, b: &str) -> String {
    let diff = similar::TextDiff::from_lines(a, b);
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => continue,
        };
        out.push(format!("{sign}{}", change.value().trim_end()));
        if out.len() == 6 {
            break;
        }
    }
    out.join(" ")
}

/// Run a client program with a time limit: (success, stdout, stderr).
fn run(mut cmd: Command, limit: Duration) -> Result<(bool, String, String), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let began = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if began.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    match status {
        Some(status) => Ok((status.success(), out, err)),
        None => Ok((false, out, format!("ERROR: ran past {} s and was stopped\n{err}", limit.as_secs()))),
    }
}

fn expect_ok((ok, _, err): (bool, String, String), what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: {}", err.trim()))
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `PASSWORD '…'` (a salted hash: different on every cluster) → `PASSWORD '<masked>'`.
fn mask_password(line: &str) -> String {
    match line.find(" PASSWORD '") {
        Some(at) => {
            let rest = &line[at + 11..];
            let end = rest.find('\'').map_or(rest.len(), |e| e + 1);
            format!("{} PASSWORD '<masked>'{}", &line[..at], &rest[end..])
        }
        None => line.to_string(),
    }
}

/// `'2024-01-02 03:04:05.678+00'`-shaped literals (a view or default that froze `now()` when it was
/// created) → `'<now>'`: A and B create them at different moments.
pub fn mask_timestamps(text: &str) -> String {
    const SHAPE: &[u8] = b"'dddd-dd-dd dd:dd:dd";
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + SHAPE.len() <= b.len() {
        let fits = SHAPE.iter().zip(&b[i..]).all(|(s, c)| if *s == b'd' { c.is_ascii_digit() } else { s == c });
        if !fits {
            i += 1;
            continue;
        }
        let mut j = i + SHAPE.len();
        if b.get(j) == Some(&b'.') {
            j += 1;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
            while b.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b':') {
                j += 1;
            }
        }
        if b.get(j) == Some(&b'\'') {
            out.push_str(&text[copied..i]);
            out.push_str("'<now>'");
            copied = j + 1;
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_timestamps_and_passwords_are_masked() {
        assert_eq!(
            mask_timestamps("SELECT '2024-01-02 03:04:05.678+00'::timestamptz, '2024-01-02 03:04:05'"),
            "SELECT '<now>'::timestamptz, '<now>'"
        );
        assert_eq!(mask_timestamps("'2024-01-02' 'x'"), "'2024-01-02' 'x'");
        assert_eq!(
            mask_password("ALTER ROLE a WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:x';"),
            "ALTER ROLE a WITH LOGIN PASSWORD '<masked>';"
        );
    }
}
