//! Replay real migration histories: every up migration as written on one PostgreSQL 15 cluster,
//! pgsafe's plan of it on another, the schemas compared after every migration (`replay/harness.rs`).
//!
//! In `cargo test`: the harness on its own (layouts, a planted divergence), the minimal drafts of
//! every divergence found so far (`tests/fixtures/replay/`, each a small history that must replay
//! equal), and a fixed part of the corpus that fits in a few minutes on two cores. The whole corpus,
//! or your own history, with `scripts/replay.sh [DIR…]` (the `--ignored` test below); its latest
//! result over the corpus is `REPLAY.md`.

mod common;
#[path = "replay/corpus.rs"]
mod corpus;
#[path = "replay/harness.rs"]
mod harness;
#[path = "replay/layout.rs"]
mod layout;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{pgsafe_plan, replay, Kind, Limits, Outcome};
use pgsafe::Config;

/// The plans replayed are for the server they run on.
fn config() -> Config {
    Config { pg_version: 15, ..Config::default() }
}

/// A part of the corpus that `cargo test` replays: (history, migrations to replay), and the
/// divergences still known there (migration, what is wrong).
struct Part {
    history: &'static str,
    migrations: usize,
    known: &'static [(&'static str, &'static str)],
}

/// Chosen to cover every layout the corpus has that runs here (diesel, Prisma, up/down with
/// golang-migrate's preamble and pop's dialect files, Flyway, goose, sqlx-style, plain files in
/// version folders) and the statements that diverged before, in two halves that run side by side,
/// within about four minutes on two cores.
const CI_PARTS: [&[Part]; 2] = [
    &[
        Part { history: "neon-storage-controller", migrations: usize::MAX, known: &[] },
        Part { history: "svix", migrations: usize::MAX, known: &[] },
        Part { history: "docs.rs", migrations: usize::MAX, known: &[] },
        Part { history: "temporal", migrations: usize::MAX, known: &[] },
        Part { history: "temporal-visibility", migrations: usize::MAX, known: &[] },
        Part { history: "trigger.dev-dashboard-agent", migrations: usize::MAX, known: &[] },
        // V6.0_2015.03.07 needs what DSpace's Java migrations before it do.
        Part { history: "DSpace", migrations: 15, known: &[] },
        Part { history: "harbor", migrations: usize::MAX, known: &[] },
    ],
    &[
        Part { history: "hatchet", migrations: 12, known: &[] },
        Part { history: "graph-node", migrations: 15, known: &[] },
        Part { history: "langfuse", migrations: 90, known: &[] },
        Part { history: "kratos", migrations: 40, known: &[] },
    ],
];

fn replay_part(part: &Part) -> Outcome {
    let corpus = common::corpus_dir().expect("checked by the caller");
    let history = corpus::history(&corpus, part.history).unwrap();
    let config = config();
    let limits = Limits { migrations: Some(part.migrations), time: None };
    let out = replay(part.history, &history, &pgsafe_plan(&config, false), limits).unwrap();
    eprintln!("{}", out.summary());
    out
}

/// Replays each part; every divergence must be a known one, and the whole part must run (a
/// history that stops early here has changed under us). A known divergence that no longer happens
/// is said, so that it can be switched to "must be equal".
fn replay_parts(parts: &[Part]) {
    if common::corpus_dir().is_none() {
        return;
    }
    let mut problems = Vec::new();
    for part in parts {
        let out = replay_part(part);
        if let Some(stop) = &out.stop {
            problems.push(format!("{}: stopped at {}: {}", part.history, stop.migration, stop.reason));
        }
        let known: BTreeSet<&str> = part.known.iter().map(|(m, _)| *m).collect();
        for (d, line) in out.divergences.iter().zip(out.divergence_lines()) {
            if !known.contains(d.migration.as_str()) {
                problems.push(format!("{}: {line}", part.history));
            }
        }
        for (m, finding) in part.known {
            if !out.divergences.iter().any(|d| d.migration == *m) {
                eprintln!("{}: {m} now replays equal (fixed: {finding}?): make it a must-be-equal", part.history);
            }
        }
    }
    assert!(problems.is_empty(), "replay diverged:\n{}", problems.join("\n"));
}

#[test]
fn corpus_part_1_replays_equal() {
    replay_parts(CI_PARTS[0]);
}

#[test]
fn corpus_part_2_replays_equal() {
    replay_parts(CI_PARTS[1]);
}

/// Every minimal draft of a divergence (`tests/fixtures/replay/<case>/`, a small history in one of
/// the layouts) replays equal, with and without the schema given to pgsafe.
#[test]
fn fixtures_replay_equal() {
    let root = Path::new("tests/fixtures/replay");
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(root).into_iter().flatten().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    let config = config();
    let mut problems = Vec::new();
    for case in &cases {
        let history = layout::read(std::slice::from_ref(case)).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        // Without --schema (what pgsafe assumes then) and with it (what it knows then).
        for schema in [false, true] {
            let out = replay(&name, &history, &pgsafe_plan(&config, schema), Limits::default()).unwrap();
            if !out.divergences.is_empty() || out.stop.is_some() || out.equal != out.total {
                problems.push(format!("{} (schema given: {schema})", out.summary()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The harness can fail: a plan that leaves an index out, a step that fails, and a draft that cannot
/// run are each reported where they happen, and B is re-synced so the next migration compares
/// cleanly.
#[test]
fn a_planted_divergence_is_reported_and_the_replay_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "1_t.sql",
            "CREATE TABLE t (id int PRIMARY KEY, a int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 10) g;\n",
        ),
        ("2_index.sql", "CREATE INDEX t_a ON t (a);\n"),
        ("3_drop.sql", "DROP INDEX t_a;\nUPDATE t SET a = a + 1;\n"),
        ("4_fails_in_plan.sql", "ALTER TABLE t ADD COLUMN b int;\n"),
        ("5_draft_fails.sql", "ALTER TABLE nowhere ADD COLUMN c int;\n"),
        ("6_never.sql", "SELECT 1;\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let history = layout::read(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(history.layout, layout::Layout::Sqlx);
    let config = config();
    let real = pgsafe_plan(&config, false);
    let planted = |m: &layout::Migration, before: &str| match m.name.as_str() {
        "2_index.sql" => Ok(vec![("0001_nothing.sql".to_string(), "SELECT 1;\n".to_string())]),
        "4_fails_in_plan.sql" => Ok(vec![("0001_broken.sql".to_string(), "ALTER TABLE t ADD COLUMN;\n".to_string())]),
        _ => real(m, before),
    };
    let out = replay("planted", &history, &planted, Limits::default()).unwrap();
    eprintln!("{}", out.summary());
    assert_eq!((out.total, out.replayed, out.equal), (6, 4, 2), "{}", out.summary());
    assert_eq!(out.divergences.len(), 2);
    assert_eq!(
        (out.divergences[0].migration.as_str(), &out.divergences[0].kind),
        ("2_index.sql", &Kind::SchemaDiffers)
    );
    assert!(out.divergences[0].detail.contains("-CREATE INDEX t_a"), "{}", out.divergences[0].detail);
    assert_eq!(out.divergences[1].kind, Kind::StepFailed);
    assert_eq!(out.divergences[1].step.as_deref(), Some("0001_broken.sql"));
    assert!(out.divergences[1].detail.contains("syntax error"), "{}", out.divergences[1].detail);
    let stop = out.stop.as_ref().unwrap();
    assert_eq!(stop.migration, "5_draft_fails.sql");
    assert!(stop.reason.contains("relation \"nowhere\" does not exist"), "{}", stop.reason);
    assert_eq!(out.rows, Ok(Vec::new()), "the re-sync copied A's rows too");
}

/// dbmate (no corpus project uses it): only the up sections run, on both sides, and a
/// `transaction:false` section with a concurrent index build runs outside a transaction.
#[test]
fn a_dbmate_history_replays_its_up_sections() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "20240101000000_users.sql",
            "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
             INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g;\n\n\
             -- migrate:down\nDROP TABLE users;\n",
        ),
        (
            "20240102000000_email_index.sql",
            "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n\n\
             -- migrate:down\nDROP INDEX users_email;\n",
        ),
        (
            "20240103000000_orders.sql",
            "-- migrate:up\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n\
             ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id);\n\
             UPDATE users SET email = upper(email) WHERE id % 2 = 0;\n\n\
             -- migrate:down\nDROP TABLE orders;\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let history = layout::read(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(history.layout, layout::Layout::Dbmate);
    assert!(!history.migrations[1].in_transaction);
    let config = config();
    let out = replay("dbmate", &history, &pgsafe_plan(&config, false), Limits::default()).unwrap();
    assert_eq!((out.replayed, out.equal), (3, 3), "{}", out.summary());
    assert!(out.rewritten >= 1, "the foreign key and the UPDATE are rewritten: {}", out.summary());
    assert_eq!(out.rows, Ok(Vec::new()), "{}", out.summary());
}

/// Every `*.sql` file of the corpus is a migration of a listed history, a down migration, a file
/// its runner ignores (listed by the reader), or under a folder excused with a reason.
#[test]
fn every_corpus_sql_file_belongs_to_a_listed_history_or_is_excused() {
    let Some(base) = common::corpus_dir() else {
        return;
    };
    let mut all = BTreeSet::new();
    sql_files(&base, &mut all);
    for (name, spec) in corpus::HISTORIES {
        let dirs = corpus::dirs(&base, spec);
        let history = layout::read(&dirs).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!history.migrations.is_empty(), "{name}: no migrations");
        for m in &history.migrations {
            all.remove(&m.path);
        }
        for d in &dirs {
            all.retain(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                !(p.starts_with(d) && (n == "down.sql" || n.ends_with(".down.sql")))
            });
        }
        let root = common_root(&dirs);
        for ignored in &history.ignored {
            all.remove(&root.join(ignored));
        }
    }
    for (dir, _why) in corpus::NOT_HISTORIES {
        let dir = base.join(dir);
        all.retain(|p| !p.starts_with(&dir));
    }
    let left: Vec<String> = all.iter().map(|p| p.strip_prefix(&base).unwrap().display().to_string()).collect();
    assert!(left.is_empty(), "{} corpus files in no history: {:#?}", left.len(), &left[..left.len().min(20)]);
}

fn common_root(dirs: &[PathBuf]) -> PathBuf {
    let mut root = dirs[0].clone();
    while !dirs.iter().all(|d| d.starts_with(&root)) && root.pop() {}
    root
}

fn sql_files(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sql_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.insert(p);
        }
    }
}

/// The whole corpus (or the histories in `PGSAFE_REPLAY_DIRS`, separated by `:`), with a report:
/// `scripts/replay.sh`. `PGSAFE_REPLAY_REPORT=FILE` writes it as a Markdown table as well;
/// `PGSAFE_REPLAY_ONLY=name,name` picks corpus histories; `PGSAFE_REPLAY_MINUTES=N` boxes each
/// history's time; `PGSAFE_REPLAY_SCHEMA=1` gives pgsafe the schema before each migration (as
/// `--schema` with a dump would). Fails when anything diverged.
#[test]
#[ignore = "minutes to an hour: scripts/replay.sh"]
fn replay_histories() {
    let mut histories: Vec<(String, Result<layout::History, String>, String)> = Vec::new(); // name, history, shown dir
    if let Ok(dirs) = std::env::var("PGSAFE_REPLAY_DIRS") {
        for d in dirs.split(':').filter(|d| !d.is_empty()) {
            histories.push((d.to_string(), layout::read(&[PathBuf::from(d)]), d.to_string()));
        }
    } else {
        let base = common::corpus_dir().expect("../shared/corpus");
        let only = std::env::var("PGSAFE_REPLAY_ONLY").unwrap_or_default();
        for (name, spec) in corpus::HISTORIES {
            if only.is_empty() || only.split(',').any(|o| o == *name) {
                histories.push((name.to_string(), corpus::history(&base, name), spec.to_string()));
            }
        }
    }
    let minutes: Option<u64> = std::env::var("PGSAFE_REPLAY_MINUTES").ok().and_then(|m| m.parse().ok());
    let limits = Limits { migrations: None, time: minutes.map(|m| Duration::from_secs(m * 60)) };
    let config = config();
    let schema = std::env::var("PGSAFE_REPLAY_SCHEMA").is_ok_and(|v| v == "1");
    let mut outcomes = Vec::new();
    for (name, history, shown) in &histories {
        let history = match history {
            Ok(h) => h,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let out =
            replay(name, history, &pgsafe_plan(&config, schema), limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!("{}", out.summary());
        outcomes.push((out, shown.clone(), history.ignored.len(), history.preamble.is_some()));
    }
    let report = markdown(&outcomes);
    println!("{report}");
    if let Ok(path) = std::env::var("PGSAFE_REPLAY_REPORT") {
        std::fs::write(&path, &report).unwrap();
    }
    let diverged: usize = outcomes.iter().map(|(o, _, _, _)| o.divergences.len()).sum();
    assert_eq!(diverged, 0, "{diverged} divergences (the report above names them)");
}

/// The report: one table row per history, then every divergence and stop.
fn markdown(outcomes: &[(Outcome, String, usize, bool)]) -> String {
    let mut s = String::from(
        "| history | layout | migrations | replayed | equal | rewritten | divergences | stopped at | seconds |\n\
         |---|---|---:|---:|---:|---:|---:|---|---:|\n",
    );
    let (mut total, mut replayed, mut equal, mut rewritten, mut diverged) = (0, 0, 0, 0, 0);
    for (o, _, _, _) in outcomes {
        let stop = o.stop.as_ref().map_or("—".to_string(), |s| format!("`{}`", s.migration));
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
            o.name,
            o.layout,
            o.total,
            o.replayed,
            o.equal,
            o.rewritten,
            o.divergences.len(),
            stop,
            o.seconds
        );
        total += o.total;
        replayed += o.replayed;
        equal += o.equal;
        rewritten += o.rewritten;
        diverged += o.divergences.len();
    }
    s += &format!("| **all** | | {total} | {replayed} | {equal} | {rewritten} | {diverged} | | |\n\n");
    for (o, shown, ignored, preamble) in outcomes {
        s += &format!("### {}\n\n`{shown}`", o.name);
        if *ignored > 0 {
            s += &format!(" ({ignored} files the runner does not run left out)");
        }
        if *preamble {
            s += " (after the runner's own preamble: `tests/replay/corpus.rs`)";
        }
        s += "\n\n";
        for line in o.divergence_lines() {
            s += &format!("- diverges: {line}\n");
        }
        if let Some(stop) = &o.stop {
            s += &format!("- stopped at `{}`: {}\n", stop.migration, stop.reason);
        }
        match &o.rows {
            Ok(t) if t.is_empty() => s += "- rows at the end: equal\n",
            Ok(t) => s += &format!("- rows at the end differ in: {}\n", t.join(", ")),
            Err(e) => s += &format!("- rows not compared: {e}\n"),
        }
        s += "\n";
    }
    s
}
