//! The differential suite: a plan never changes what the migration does, and never does more harm.
//!
//! For every draft — each golden case (`rewrites/cases/*.sql`, on `rewrites/planeq-setup.sql`),
//! each example (`examples/*.sql`, on `examples/schema.sql`), each meaning fixture
//! (`tests/fixtures/meaning/*.sql`, on the setup its `-- setup:` line names) and the generated
//! drafts ([`generator`]) — on a real PostgreSQL 15 started by this test binary:
//!
//! 1. two databases start from the same seeded setup (restored from one dump of it, so both hold
//!    the very same rows in the very same order);
//! 2. database A runs the draft as written (`psql -X -v ON_ERROR_STOP=1 -f`; a goose/dbmate down
//!    section is not part of it), database B runs the plan's step files in order, each its own
//!    session (the plan contract), every step under the safety probe ([`probe`]);
//! 3. when the draft runs to completion, so must every step, and A and B must hold the same
//!    `pg_dump --schema-only` (normalised) and the same rows in every table and materialized view
//!    (count + an order-independent md5: `pgsafe::verify::equivalence::row_fingerprints`); columns
//!    the draft itself makes nondeterministic are named in a `-- volatile: t.col` line (planeq's
//!    `-- planeq-volatile:` is read too; `t.*` compares `t` by row count only). When the draft
//!    fails, the plan must fail too;
//! 4. safety: while each step runs, an idle writer holds a transaction open on every table of the
//!    setup and a prober per table keeps writing; no write may wait on a lock longer than the
//!    step's `lock_timeout` + 0.4 s (a step that queues behind the writer without a short
//!    `lock_timeout` fails this).
//!
//! Plans are compiled with `--batch-size 100` (so that batched loops loop over the fixtures'
//! rows) and the settings a case's `-- golden:` or a fixture's `-- options:` line gives.
//!
//! Run: `cargo test --test semantics` (CI: every fixture and 300 generated drafts). A long run:
//! `scripts/semantics-long.sh` (≥ 10,000 generated drafts; its last result is in
//! `tests/semantics/LONG_RUN.md`). `SEMANTICS_DRAFTS=N`, `SEMANTICS_SEED=S` and
//! `SEMANTICS_ONLY=substring` narrow or widen a run.

#[path = "semantics/harness.rs"]
mod harness;
#[path = "semantics/probe.rs"]
mod probe;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use harness::{check, repo, Draft, Verdict};

/// Drafts whose plan is known to change the meaning or to be unsafe today: (draft, finding on the
/// board `/work/findings/`). The test fails when one of them starts to pass, so that the entry goes.
const KNOWN: &[(&str, &str)] = &[
    ("rewrites/cases/destructive.sql", "001: VACUUM FULL and LOCK TABLE steps without lock_timeout"),
    ("rewrites/cases/detach_partition.sql", "002: DETACH … CONCURRENTLY leaves a CHECK behind"),
    ("rewrites/cases/add_column_not_null_then_update.sql", "003: a draft that fails on its data succeeds as a plan"),
];

/// Columns that drafts this suite does not own make nondeterministic (what their own
/// `-- volatile:` line would say): (draft, `table.column …`).
const VOLATILE: &[(&str, &str)] = &[
    ("rewrites/cases/volatile_default_not_null.sql", "orders.public_id orders.touched_at"),
    ("examples/backfill_and_defaults.sql", "orders.public_id users.score"),
    ("examples/lowercase.sql", "users.last_login"),
];

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    out.sort();
    out
}

/// Every fixture draft with its setup.
fn fixtures() -> Vec<Draft> {
    let root = repo();
    let mut out = Vec::new();
    let cases_setup = root.join("rewrites/planeq-setup.sql");
    for p in sql_files(&root.join("rewrites/cases")) {
        out.push(Draft::from_file(&p, Some(&cases_setup)));
    }
    let examples_setup = root.join("examples/schema.sql");
    for p in sql_files(&root.join("examples")).into_iter().filter(|p| !p.ends_with("schema.sql")) {
        out.push(Draft::from_file(&p, Some(&examples_setup)));
    }
    for p in sql_files(&root.join("tests/fixtures/meaning")) {
        out.push(Draft::from_file(&p, None));
    }
    for d in &mut out {
        if let Some((_, cols)) = VOLATILE.iter().find(|(name, _)| d.name == *name) {
            d.volatile.extend(cols.split_whitespace().map(str::to_owned));
        }
    }
    if let Ok(only) = std::env::var("SEMANTICS_ONLY") {
        out.retain(|d| d.name.contains(&only));
    }
    out
}

/// Check `drafts` on [`harness::SLOTS`] threads; the verdicts in the drafts' order.
fn check_all(drafts: &[Draft]) -> Vec<Verdict> {
    let next = Mutex::new(0usize);
    let verdicts: Mutex<Vec<Option<Verdict>>> = Mutex::new((0..drafts.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..harness::SLOTS {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(d) = drafts.get(i) else { break };
                let v = check(d);
                verdicts.lock().unwrap()[i] = Some(v);
            });
        }
    });
    verdicts.into_inner().unwrap().into_iter().map(|v| v.expect("every draft checked")).collect()
}

fn report(d: &Draft, v: &Verdict) -> String {
    let mut s = format!("{} ({} steps, {:.2} s)", d.name, v.steps, v.seconds);
    for p in &v.problems {
        s.push_str(&format!("\n    {}", p.replace('\n', "\n    ")));
    }
    s
}

#[test]
fn every_fixture_plan_means_what_its_draft_means_and_is_safe() {
    let drafts = fixtures();
    let began = std::time::Instant::now();
    let verdicts = check_all(&drafts);
    let mut failures = Vec::new();
    let mut fixed = Vec::new();
    for (d, v) in drafts.iter().zip(&verdicts) {
        let known = KNOWN.iter().find(|(k, _)| d.name == *k);
        eprintln!("{} {}", if v.ok() { "ok  " } else { "FAIL" }, report(d, v));
        match (v.ok(), known) {
            (true, Some((k, f))) => fixed.push(format!("{k} (finding {f}) passes now: remove it from KNOWN")),
            (false, None) => failures.push(report(d, v)),
            _ => {}
        }
    }
    eprintln!("{} drafts in {:.1} s", drafts.len(), began.elapsed().as_secs_f64());
    assert!(failures.is_empty() && fixed.is_empty(), "{}\n{}", failures.join("\n"), fixed.join("\n"));
}

/// The checks themselves can fail: planted plans that change the rows, fail where the draft does
/// not, or wait behind the idle writer without a short lock_timeout are caught; a step that waits
/// without blocking anyone (`CREATE INDEX CONCURRENTLY`) and one that gives up on its
/// `lock_timeout` (and is run again) are not.
#[test]
fn the_checks_catch_planted_differences_and_unsafe_steps() {
    let setup = repo().join("tests/fixtures/meaning/setup/shop.sql");
    let draft = |text: &str| Draft {
        name: "planted".into(),
        text: text.into(),
        setup: setup.clone(),
        config: pgsafe::Config::default(),
        volatile: Default::default(),
        noise: harness::NOISE,
        limit: std::time::Duration::from_secs(30),
    };
    let step = |text: &str| vec![("0001_step.sql".to_owned(), text.to_owned())];
    let tx = |body: &str| format!("BEGIN;\nSET LOCAL lock_timeout = '100ms';\n{body}\nCOMMIT;\n");

    // the rows: a batched subquery re-run per batch deletes every row instead of ten
    let d = draft("DELETE FROM line_items WHERE id IN (SELECT id FROM line_items ORDER BY id LIMIT 10);");
    let v = harness::check_plan(&d, &step("DELETE FROM line_items;"));
    assert!(v.problems.iter().any(|p| p.contains("rows of line_items differ")), "{:?}", v.problems);

    // the schema
    let d = draft("CREATE INDEX CONCURRENTLY li_sku ON line_items (sku);");
    let v = harness::check_plan(&d, &step("CREATE INDEX CONCURRENTLY li_sku ON line_items (sku, qty);"));
    assert!(v.problems.iter().any(|p| p.contains("schema differs")), "{:?}", v.problems);

    // failing: the draft fails on its data, the plan does not
    let d = draft("ALTER TABLE line_items ADD CONSTRAINT qty_big CHECK (qty > 5);");
    let v = harness::check_plan(&d, &step("SELECT 1;"));
    assert!(v.problems.iter().any(|p| p.contains("but every plan step succeeds")), "{:?}", v.problems);
    let v = harness::check_plan(&draft("SELECT 1;"), &step("SELECT 1/0;"));
    assert!(v.problems.iter().any(|p| p.contains("the plan fails")), "{:?}", v.problems);

    // safety: queued behind the idle writer with no lock_timeout
    let alter = "ALTER TABLE orders ADD COLUMN x int;";
    let v = harness::check_plan(&draft(alter), &step(&format!("BEGIN;\n{alter}\nCOMMIT;\n")));
    assert!(v.problems.iter().any(|p| p.contains("unsafe step") && p.contains("orders")), "{:?}", v.problems);
    // …with a short lock_timeout it gives up, is run again, and the plan is the draft
    let v = harness::check_plan(&draft(alter), &step(&tx(alter)));
    assert!(v.ok(), "{:?}", v.problems);
    assert!(v.safety[0].waited && v.safety[0].retried, "{:?}", v.safety);
    // a concurrent build waits for the idle writer but blocks no writer
    let cic = "CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);";
    let v = harness::check_plan(&draft(cic), &step(&format!("SET lock_timeout = 0;\n{cic}\n")));
    assert!(v.ok(), "{:?}", v.problems);
    assert!(v.safety[0].waited && !v.safety[0].retried, "{:?}", v.safety);
}
