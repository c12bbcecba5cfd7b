//! Pipeline benchmarks (see BENCHMARKS.md for the recorded numbers).
//!
//! `cargo bench --bench pipeline` runs, in order:
//!
//! 1. `synthetic_100k`: a generated 100,000-statement migration: the whole pipeline
//!    (`pgsafe::compile`), sqlparser alone on the whole text, sqlparser alone on each statement the
//!    splitter cut, and the splitter alone.
//! 2. `scaling`: `compile` on the same generator at 10k, 25k, 50k and 100k statements.
//! 3. `small`: a typical 10-statement file, `compile` and sqlparser alone.
//! 4. `corpus`: every `.sql` file under `../shared/corpus` (skipped, with a message, when it is
//!    missing): `compile` on each file, and sqlparser alone on each file.
//!
//! Before them, a probe times single `compile` runs at 1k, 2.5k and 5k statements and fits a
//! growth exponent; a `compile` benchmark predicted to take more than `PGSAFE_BENCH_MAX_SECS`
//! (default 15) per run is skipped with a message, so a super-linear pipeline cannot keep
//! `cargo bench` busy for hours.
//!
//! After the criterion runs, a summary (ratios to sqlparser, cost per statement at each size)
//! is printed from the estimates criterion saved in this run.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use pgsafe::front::split::{split, PieceKind};
use pgsafe::Config;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

const SIZES: [usize; 4] = [10_000, 25_000, 50_000, 100_000];
const BIG: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// The synthetic migration

/// A small deterministic PRNG (splitmix64), so every run benchmarks the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Tables that "already exist" (not created by the draft): rewrites apply to them.
const EXISTING: [&str; 8] =
    ["users", "orders", "accounts", "events", "invoices", "public.payments", "billing.subscriptions", "audit_log"];

struct Generator {
    rng: Rng,
    out: String,
    statements: usize,
    /// Tables the draft created so far.
    created: Vec<String>,
    /// Indexes the draft created so far.
    indexes: Vec<String>,
    functions: Vec<String>,
    serial: usize,
}

impl Generator {
    fn table(&mut self) -> String {
        if self.created.is_empty() || self.rng.chance(50) {
            let n = self.rng.below(EXISTING.len() + 40);
            match EXISTING.get(n) {
                Some(t) => t.to_string(),
                None => format!("legacy_{}", n - EXISTING.len()),
            }
        } else {
            // Mostly recent tables, as in a real migration.
            let len = self.created.len();
            let back = self.rng.below(len.min(50));
            self.created[len - 1 - back].clone()
        }
    }

    fn fresh(&mut self) -> usize {
        self.serial += 1;
        self.serial
    }

    fn stmt(&mut self, text: &str) {
        if self.rng.chance(25) {
            let n = self.serial;
            self.out.push_str(&format!("-- step {n}: keep this change reviewable\n"));
        } else if self.rng.chance(3) {
            self.out.push_str("/* Backfill and constraints follow; see the runbook\n   for the rollout order. */\n");
        }
        self.out.push_str(text);
        if self.rng.chance(5) {
            self.out.push_str(" -- trailing note");
        }
        self.out.push('\n');
        if self.rng.chance(15) {
            self.out.push('\n');
        }
        self.statements += 1;
    }

    fn random_statement(&mut self) {
        let roll = self.rng.below(100);
        let n = self.fresh();
        let text = match roll {
            // CREATE TABLE with foreign keys
            0..=9 => {
                let name = if self.rng.chance(20) {
                    format!("app.t{n}")
                } else {
                    format!("t{n}")
                };
                let parent = self.table();
                let owner = EXISTING[self.rng.below(3)];
                let text = format!(
                    "CREATE TABLE {name} (\n    id bigserial PRIMARY KEY,\n    owner_id bigint NOT NULL REFERENCES {owner} (id),\n    parent_id bigint REFERENCES {parent} (id) ON DELETE CASCADE,\n    name text NOT NULL,\n    status varchar(32) NOT NULL DEFAULT 'new',\n    amount numeric(12, 2) DEFAULT 0 CHECK (amount >= 0),\n    created_at timestamptz NOT NULL DEFAULT now(),\n    UNIQUE (owner_id, name)\n);"
                );
                self.created.push(name);
                text
            }
            // CREATE INDEX on an existing (or earlier) table
            10..=21 => {
                let table = self.table();
                let idx = format!("idx_{n}");
                self.indexes.push(idx.clone());
                match self.rng.below(4) {
                    0 => format!("CREATE UNIQUE INDEX {idx} ON {table} (owner_id, name) WHERE deleted_at IS NULL;"),
                    1 => format!("CREATE INDEX IF NOT EXISTS {idx} ON {table} USING gin (tags);"),
                    2 => format!("create index {idx} on {table} (lower(email));"),
                    _ => format!("CREATE INDEX {idx} ON {table} (created_at DESC, id);"),
                }
            }
            // ALTER TABLE ADD COLUMN
            22..=35 => {
                let table = self.table();
                match self.rng.below(4) {
                    0 => format!("ALTER TABLE {table} ADD COLUMN c{n} integer;"),
                    1 => format!("ALTER TABLE {table} ADD COLUMN c{n} text NOT NULL DEFAULT 'x';"),
                    2 => format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS c{n} timestamptz DEFAULT now();"),
                    _ => format!("alter table {table} add column c{n} boolean not null default false;"),
                }
            }
            // ADD CONSTRAINT FOREIGN KEY
            36..=43 => {
                let table = self.table();
                let target = self.table();
                format!("ALTER TABLE {table} ADD CONSTRAINT fk_{n} FOREIGN KEY (parent_id) REFERENCES {target} (id) ON DELETE SET NULL;")
            }
            // ADD CONSTRAINT CHECK
            44..=49 => {
                let table = self.table();
                format!("ALTER TABLE {table} ADD CONSTRAINT chk_{n} CHECK (amount >= 0 AND status IN ('new', 'paid', 'void'));")
            }
            // UPDATE backfill
            50..=61 => {
                let table = self.table();
                let lo = self.rng.below(1_000_000);
                format!(
                    "UPDATE {table}\n   SET status = 'paid', name = lower(name)\n WHERE status IS NULL\n   AND id BETWEEN {lo} AND {};",
                    lo + 10_000
                )
            }
            // INSERT of reference data
            62..=67 => format!(
                "INSERT INTO settings (key, value, updated_at) VALUES ('feature_{n}', 'on', now()) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;"
            ),
            // Dollar-quoted function bodies (with `;` and quotes inside)
            68..=72 => {
                let f = format!("touch_{n}");
                self.functions.push(f.clone());
                format!(
                    "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger AS $$\nBEGIN\n    NEW.updated_at := now();\n    IF NEW.status = 'void' THEN\n        RAISE NOTICE 'voided %; id %', NEW.name, NEW.id;\n    END IF;\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;"
                )
            }
            73..=74 if !self.functions.is_empty() => {
                let f = self.functions[self.functions.len() - 1].clone();
                let table = self.table();
                format!("CREATE TRIGGER trg_{n} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {f}();")
            }
            // SET statements
            75..=79 => match self.rng.below(4) {
                0 => "SET lock_timeout = '3s';".to_string(),
                1 => "SET statement_timeout TO '15min';".to_string(),
                2 => "SET search_path TO app, public;".to_string(),
                _ => "SET LOCAL work_mem = '64MB';".to_string(),
            },
            // COMMENT ON
            80..=83 => {
                let table = self.table();
                format!("COMMENT ON TABLE {table} IS 'Owned by the billing team; see doc {n}.';")
            }
            // ALTER COLUMN
            84..=88 => {
                let table = self.table();
                match self.rng.below(3) {
                    0 => format!("ALTER TABLE {table} ALTER COLUMN name SET NOT NULL;"),
                    1 => format!("ALTER TABLE {table} ALTER COLUMN status SET DEFAULT 'new';"),
                    _ => format!("ALTER TABLE {table} ALTER COLUMN amount TYPE numeric(14, 2);"),
                }
            }
            // DROP INDEX
            89..=90 if !self.indexes.is_empty() => {
                let i = self.rng.below(self.indexes.len());
                format!("DROP INDEX IF EXISTS {};", self.indexes[i])
            }
            // VALIDATE CONSTRAINT
            91..=92 => {
                let table = self.table();
                format!("ALTER TABLE {table} VALIDATE CONSTRAINT fk_{};", n.saturating_sub(7))
            }
            // CREATE VIEW
            93..=95 => {
                let table = self.table();
                format!("CREATE OR REPLACE VIEW v_{n} AS\nSELECT id, name, amount\n  FROM {table}\n WHERE status <> 'void';")
            }
            // DELETE
            _ => {
                let table = self.table();
                format!("DELETE FROM {table} WHERE created_at < now() - interval '90 days';")
            }
        };
        self.stmt(&text);
    }
}

/// A deterministic draft of exactly `n` statements (BEGIN and COMMIT count as statements).
fn synthetic(n: usize) -> String {
    let mut g = Generator {
        rng: Rng(0x5EED_0000 + n as u64),
        out: String::with_capacity(n * 140),
        statements: 0,
        created: Vec::new(),
        indexes: Vec::new(),
        functions: Vec::new(),
        serial: 0,
    };
    g.out.push_str("-- Synthetic migration generated by benches/pipeline.rs\n\n");
    // Statements left in the open BEGIN block, if one is open.
    let mut block: Option<usize> = None;
    while g.statements < n {
        let left = n - g.statements;
        match block {
            Some(0) => {
                g.stmt("COMMIT;");
                block = None;
            }
            Some(_) if left == 1 => {
                g.stmt("COMMIT;");
                block = None;
            }
            Some(k) => {
                g.random_statement();
                block = Some(k - 1);
            }
            None if left >= 4 && g.rng.chance(4) => {
                g.stmt("BEGIN;");
                block = Some(2 + g.rng.below(7));
            }
            None => g.random_statement(),
        }
    }
    g.out
}

/// Cut the text with pgsafe's splitter: the statement bodies, for the per-statement baseline.
fn bodies(text: &str) -> Vec<&str> {
    split(text)
        .expect("the text splits")
        .into_iter()
        .filter_map(|p| match p.kind {
            PieceKind::Statement { body, .. } if !body.is_empty() => Some(&text[body]),
            _ => None,
        })
        .collect()
}

fn sqlparser_per_statement(bodies: &[&str]) -> usize {
    let dialect = PostgreSqlDialect {};
    bodies.iter().map(|b| Parser::parse_sql(&dialect, b).map_or(0, |s| s.len())).sum()
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

fn big_group<'a>(c: &'a mut Criterion, name: &str) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    // One iteration per sample (these take 0.1-6 s each); linear sampling would run 55 per sample set.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g
}

/// Single-shot `compile` timings at small sizes, taken before the big benchmarks: a pipeline that
/// grows faster than linearly would otherwise keep `cargo bench` busy for hours at 100k statements.
struct Probe {
    /// (statements, best of 3 runs in seconds)
    points: Vec<(usize, f64)>,
    /// Growth exponent of the probe times (t ~ n^exponent): 1.0 is linear.
    exponent: f64,
    /// A compile benchmark whose one run is predicted to take longer than this is skipped.
    max_secs: f64,
}

const PROBE_SIZES: [usize; 3] = [1_000, 2_500, 5_000];

impl Probe {
    fn run() -> Probe {
        let config = Config::default();
        let points: Vec<(usize, f64)> = PROBE_SIZES
            .iter()
            .map(|&n| {
                let text = synthetic(n);
                let best = (0..3)
                    .map(|_| {
                        let t = Instant::now();
                        black_box(pgsafe::compile("probe.sql", &text, &config).map(|c| c.files.len()).ok());
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min);
                (n, best)
            })
            .collect();
        // The steeper of the overall and the last-pair growth: a quadratic term shows late.
        let growth = |(n0, t0): (usize, f64), (n1, t1): (usize, f64)| (t1 / t0).ln() / (n1 as f64 / n0 as f64).ln();
        let last = points.len() - 1;
        let exponent = growth(points[0], points[last]).max(growth(points[last - 1], points[last]));
        let max_secs = std::env::var("PGSAFE_BENCH_MAX_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(15.0);
        let probe = Probe { points, exponent, max_secs };
        eprintln!("{}", probe.describe());
        probe
    }

    fn describe(&self) -> String {
        let points: Vec<String> =
            self.points.iter().map(|&(n, t)| format!("{n}: {:.2} us/stmt", t * 1e6 / n as f64)).collect();
        format!(
            "probe (compile, single runs, best of 3): {}; growth exponent {:.2} (1.00 = linear)",
            points.join(", "),
            self.exponent
        )
    }

    /// Predicted seconds for one `compile` of `n` synthetic statements.
    fn predict(&self, n: usize) -> f64 {
        let (n1, t1) = self.points[self.points.len() - 1];
        t1 * (n as f64 / n1 as f64).powf(self.exponent.max(1.0))
    }

    /// Should the compile benchmark at `n` statements run? Says why not when it should not.
    fn allows(&self, what: &str, n: usize) -> bool {
        let secs = self.predict(n);
        let ok = secs <= self.max_secs;
        if !ok {
            eprintln!(
                "{what}: SKIPPED: one compile of {n} statements is predicted to take {secs:.0} s \
                 (growth exponent {:.2}); raise PGSAFE_BENCH_MAX_SECS (now {}) to run it anyway",
                self.exponent, self.max_secs
            );
        }
        ok
    }
}

fn bench_synthetic(c: &mut Criterion, probe: &Probe) {
    let text = synthetic(BIG);
    let config = Config::default();
    // The baseline must parse the whole text, or it would stop early and look fast.
    let whole =
        Parser::parse_sql(&PostgreSqlDialect {}, &text).expect("sqlparser parses the synthetic migration").len();
    assert_eq!(whole, BIG, "sqlparser sees every statement");
    let pieces = bodies(&text);
    assert_eq!(pieces.len(), BIG, "the splitter sees every statement");
    assert_eq!(sqlparser_per_statement(&pieces), BIG);
    let run_compile = probe.allows("synthetic_100k/compile", BIG);
    if run_compile {
        let compiled = pgsafe::compile("synthetic.sql", &text, &config).expect("compiles");
        eprintln!(
            "synthetic_100k: {} bytes, {} lines, {} statements -> {} plan files, {} changes",
            text.len(),
            text.lines().count(),
            BIG,
            compiled.files.len(),
            compiled.changes.len()
        );
    }

    let mut g = big_group(c, "synthetic_100k");
    g.throughput(Throughput::Elements(BIG as u64));
    if run_compile {
        g.bench_function("compile", |b| {
            b.iter(|| pgsafe::compile("synthetic.sql", black_box(&text), &config).map(|c| c.files.len()))
        });
    }
    g.bench_function("sqlparser_whole", |b| {
        b.iter(|| Parser::parse_sql(&PostgreSqlDialect {}, black_box(&text)).map(|s| s.len()))
    });
    g.bench_function("sqlparser_per_statement", |b| b.iter(|| sqlparser_per_statement(black_box(&pieces))));
    g.bench_function("split", |b| b.iter(|| split(black_box(&text)).map(|p| p.len())));
    g.finish();
}

fn bench_scaling(c: &mut Criterion, probe: &Probe) {
    let config = Config::default();
    let mut g = big_group(c, "scaling");
    for n in SIZES {
        let text = synthetic(n);
        g.throughput(Throughput::Elements(n as u64));
        if probe.allows(&format!("scaling/compile/{n}"), n) {
            g.bench_with_input(BenchmarkId::new("compile", n), &text, |b, text| {
                b.iter(|| pgsafe::compile("synthetic.sql", black_box(text), &config).map(|c| c.files.len()))
            });
        }
        g.bench_with_input(BenchmarkId::new("sqlparser_whole", n), &text, |b, text| {
            b.iter(|| Parser::parse_sql(&PostgreSqlDialect {}, black_box(text)).map(|s| s.len()))
        });
    }
    g.finish();
}

/// A typical hand-written migration of 10 statements.
const SMALL: &str = r#"-- Add invoices and link them to orders.
SET lock_timeout = '5s';

CREATE TABLE invoices (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    total numeric(12, 2) NOT NULL CHECK (total >= 0),
    issued_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX invoices_order_id_idx ON invoices (order_id);

ALTER TABLE orders ADD COLUMN invoice_id bigint;
ALTER TABLE orders ADD CONSTRAINT orders_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id);
CREATE INDEX orders_invoice_id_idx ON orders (invoice_id);

-- Backfill
UPDATE orders SET invoice_id = NULL WHERE invoice_id IS NOT NULL;

ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);
COMMENT ON COLUMN orders.invoice_id IS 'The invoice this order was billed on';
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';
"#;

fn bench_small(c: &mut Criterion) {
    let config = Config::default();
    assert_eq!(bodies(SMALL).len(), 10);
    let mut g = c.benchmark_group("small");
    g.sample_size(50).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(10));
    g.bench_function("compile", |b| {
        b.iter(|| pgsafe::compile("small.sql", black_box(SMALL), &config).map(|c| c.files.len()))
    });
    g.bench_function("sqlparser_whole", |b| {
        b.iter(|| Parser::parse_sql(&PostgreSqlDialect {}, black_box(SMALL)).map(|s| s.len()))
    });
    g.finish();
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "sql") {
            out.push(path);
        }
    }
}

fn bench_corpus(c: &mut Criterion) {
    let dir = corpus_dir();
    let mut paths = Vec::new();
    sql_files(&dir, &mut paths);
    if paths.is_empty() {
        eprintln!("corpus: no .sql files under {}: the corpus bench was skipped", dir.display());
        return;
    }
    paths.sort();
    // Files that are not UTF-8 are read lossily (pgsafe's CLI refuses them; here they still count).
    let files: Vec<(String, String)> = paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let name = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
            Some((name, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect();
    let config = Config::default();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let compiled = files.iter().filter(|(n, t)| pgsafe::compile(n, t, &config).is_ok()).count();
    let parsed = files.iter().filter(|(_, t)| Parser::parse_sql(&PostgreSqlDialect {}, t).is_ok()).count();
    let statements: usize = files
        .iter()
        .filter_map(|(_, t)| split(t).ok())
        .map(|ps| ps.iter().filter(|p| matches!(p.kind, PieceKind::Statement { .. })).count())
        .sum();
    eprintln!(
        "corpus: {} files, {} bytes, {} statements; compile ok on {}, sqlparser parses {} whole",
        files.len(),
        bytes,
        statements,
        compiled,
        parsed
    );

    let mut g = big_group(c, "corpus");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function("compile", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|(n, t)| pgsafe::compile(n, black_box(t), &config).map_or(0, |c| c.files.len()))
                .sum::<usize>()
        })
    });
    g.bench_function("sqlparser_whole", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|(_, t)| Parser::parse_sql(&PostgreSqlDialect {}, black_box(t)).map_or(0, |s| s.len()))
                .sum::<usize>()
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Summary from the estimates criterion saved in this run

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // The bench runs as <target>/<profile>/deps/pipeline-<hash>.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// One benchmark's result from this run: criterion's estimate (as it prints it) and the fastest
/// sample, in seconds per iteration.
#[derive(Clone, Copy)]
struct Est {
    time: f64,
    min: f64,
}

/// The estimates of benchmark `id` (`group/function[/parameter]`), if it ran in this process.
fn est(id: &str, since: SystemTime) -> Option<Est> {
    let dir = criterion_dir().join(id).join("new");
    let path = dir.join("estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    if !fresh {
        return None;
    }
    let read = |p: PathBuf| -> Option<serde_json::Value> { serde_json::from_slice(&std::fs::read(p).ok()?).ok() };
    let estimates = read(path)?;
    // What criterion prints as "time": the slope for linear sampling, else the mean.
    let time =
        estimates["slope"]["point_estimate"].as_f64().or_else(|| estimates["mean"]["point_estimate"].as_f64())? / 1e9;
    // The fastest sample is the least disturbed by other work on a shared machine.
    let sample = read(dir.join("sample.json"))?;
    let iters = sample["iters"].as_array()?;
    let times = sample["times"].as_array()?;
    let min =
        iters.iter().zip(times).filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?)).fold(f64::INFINITY, f64::min)
            / 1e9;
    Some(Est { time, min })
}

fn ms(e: Option<Est>) -> String {
    e.map_or("n/a".into(), |e| format!("{:.1} ms (min {:.1})", e.time * 1e3, e.min * 1e3))
}

fn ratio(a: Option<Est>, b: Option<Est>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}x (min/min {:.2}x)", a.time / b.time, a.min / b.min),
        _ => "n/a".into(),
    }
}

fn summary(since: SystemTime, probe: &Probe) {
    println!("\n== pipeline summary: criterion estimate of this run (fastest sample) ==");
    let compile = est("synthetic_100k/compile", since);
    let whole = est("synthetic_100k/sqlparser_whole", since);
    let per = est("synthetic_100k/sqlparser_per_statement", since);
    let split = est("synthetic_100k/split", since);
    println!("synthetic 100k statements:");
    println!("  compile                  {}", ms(compile));
    println!("  sqlparser whole file     {}", ms(whole));
    println!("  sqlparser per statement  {}", ms(per));
    println!("  split                    {}", ms(split));
    if probe.predict(BIG) > probe.max_secs {
        println!("  compile skipped: predicted {:.0} s per run", probe.predict(BIG));
    }
    println!("  compile / sqlparser whole         = {}", ratio(compile, whole));
    println!("  compile / sqlparser per statement = {}", ratio(compile, per));
    println!("  (target: compile <= 1.50x sqlparser)");
    println!("{}", probe.describe());
    println!("scaling (compile, per statement):");
    for n in SIZES {
        let t = est(&format!("scaling/compile/{n}"), since);
        let p = est(&format!("scaling/sqlparser_whole/{n}"), since);
        let per_stmt = |e: Option<Est>| {
            e.map_or("n/a".into(), |e| format!("{:.2} us (min {:.2})", e.time * 1e6 / n as f64, e.min * 1e6 / n as f64))
        };
        println!(
            "  {n:>6}: compile {} = {} /stmt; sqlparser whole {} /stmt; ratio {}",
            ms(t),
            per_stmt(t),
            per_stmt(p),
            ratio(t, p)
        );
        if probe.predict(n) > probe.max_secs {
            println!("          compile skipped: predicted {:.0} s per run", probe.predict(n));
        }
    }
    let small = est("small/compile", since);
    let small_sp = est("small/sqlparser_whole", since);
    let us = |e: Option<Est>| e.map_or("n/a".into(), |e| format!("{:.1} us (min {:.1})", e.time * 1e6, e.min * 1e6));
    println!("small (10 statements): compile {}, sqlparser {}", us(small), us(small_sp));
    let cc = est("corpus/compile", since);
    let cp = est("corpus/sqlparser_whole", since);
    println!("corpus: compile {}, sqlparser {}, ratio {}", ms(cc), ms(cp), ratio(cc, cp));
}

/// `PGSAFE_BENCH_FILE=path cargo bench --bench pipeline`: only the whole pipeline against
/// sqlparser's parse alone on that file (best of three single runs each, in this process), e.g. on
/// `../shared/tools/gen_big.py` output, which exercises more of the passes than the generator here.
fn bench_file(path: &str) {
    let text = std::fs::read_to_string(path).expect("PGSAFE_BENCH_FILE is readable");
    let config = Config::default();
    let best = |f: &dyn Fn() -> usize| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .min()
            .expect("three runs")
    };
    let compile = best(&|| pgsafe::compile(path, black_box(&text), &config).map_or(0, |c| c.files.len()));
    // What `pgsafe check` builds: the findings, no step files or manifest.
    let findings = best(&|| {
        pgsafe::compile_for(path, black_box(text.clone()), &config, pgsafe::Want::Findings)
            .map_or(0, |c| c.diagnostics.len())
    });
    let parse = best(&|| Parser::parse_sql(&PostgreSqlDialect {}, black_box(&text)).map_or(0, |s| s.len()));
    let ratio = |t: std::time::Duration| t.as_secs_f64() / parse.as_secs_f64();
    println!(
        "{path}: compile {:.3} s (ratio {:.2}), findings only {:.3} s (ratio {:.2}), sqlparser parse_sql {:.3} s",
        compile.as_secs_f64(),
        ratio(compile),
        findings.as_secs_f64(),
        ratio(findings),
        parse.as_secs_f64(),
    );
}

fn main() {
    if let Ok(path) = std::env::var("PGSAFE_BENCH_FILE") {
        bench_file(&path);
        return;
    }
    let started = SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    let probe = Probe::run();
    bench_synthetic(&mut c, &probe);
    bench_scaling(&mut c, &probe);
    bench_small(&mut c);
    bench_corpus(&mut c);
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench")
        && !args.iter().any(|a| a == "--test" || a == "--list" || a == "--profile-time");
    if benchmarking {
        summary(started, &probe);
    }
}
