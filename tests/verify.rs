//! `pgsafe verify` and `pgsafe apply` against real PostgreSQL 15 servers that the tests start
//! themselves (never mocks; a missing server fails with instructions, it never skips).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr as _;
use std::time::Duration;

use pgsafe::verify::apply::{self, ApplyOptions};
use pgsafe::verify::cluster::Cluster;
use pgsafe::verify::load::LoadOptions;
use pgsafe::verify::run::{self, VerifyOptions};
use pgsafe::{compile, Config};

fn compile_file(path: &str, config: &Config) -> pgsafe::Compilation {
    let text = std::fs::read_to_string(path).unwrap();
    compile(path, &text, config).unwrap()
}

#[test]
fn cli_finds_the_article_plan_equivalent_and_traces_its_locks() {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .args(["verify", "examples/article.sql", "--schema", "examples/schema.sql", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}\nstdout: {}", String::from_utf8_lossy(&out.stdout));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["equivalence"]["equivalent"], true);
    assert_eq!(r["problems"].as_array().unwrap().len(), 0);
    // the draft's CREATE INDEX holds SHARE on orders; the plan's build only SHARE UPDATE EXCLUSIVE
    let draft = &r["trace"]["draft"];
    assert_eq!(draft[0]["locks"]["orders"], serde_json::json!(["SHARE"]), "{draft}");
    let plan = &r["trace"]["plan"];
    // Sampled: a busy machine may miss the brief lock entirely, but never sees SHARE.
    let sampled = plan[0]["locks"]["orders"].as_array().cloned().unwrap_or_default();
    assert!(sampled.iter().all(|m| m != "SHARE"), "{plan}");
    assert_eq!(plan[0]["how"], "sampled");
}

/// Plant a difference in a step: replace `from` by `to` in its text.
fn plant(f: &mut pgsafe::emit::PlanFile, from: &str, to: &str) {
    for p in &mut f.parts {
        p.text = p.text.replace(from, to);
    }
}

#[test]
fn a_planted_difference_is_caught_with_its_diff() {
    let mut c = compile_file("examples/article.sql", &Config::default());
    // plant a difference: the plan builds the index on another column
    let step = c.files.iter_mut().find(|f| f.body().contains("CONCURRENTLY")).unwrap();
    plant(step, "orders(customer_id)", "orders(user_id)");
    let opts = VerifyOptions { schema: Some("examples/schema.sql".into()), trace: false, ..VerifyOptions::default() };
    let r = run::verify(&c, &opts).unwrap();
    assert!(!r.ok());
    assert!(!r.equivalence.equivalent);
    assert!(
        r.equivalence.diff.contains("-CREATE INDEX idx_orders_customer_id ON public.orders USING btree (customer_id);"),
        "{}",
        r.equivalence.diff
    );
    assert!(r
        .equivalence
        .diff
        .contains("+CREATE INDEX idx_orders_customer_id ON public.orders USING btree (user_id);"));
    let text = run::render_text(&r);
    assert!(text.contains("NOT equivalent"), "{text}");
}

/// The rows are compared too: a plan that deletes other rows than the draft is caught, while the
/// values the draft itself makes nondeterministic (`gen_random_uuid()`, `random()`) are found by a
/// second run of the draft and left out.
#[test]
fn verify_compares_the_rows_and_leaves_out_what_the_draft_makes_nondeterministic() {
    let schema = || Some("examples/schema.sql".into());
    let draft = "DELETE FROM order_notes WHERE id <= 10;\nUPDATE orders SET note = 'x' WHERE id % 100 = 0;\n";
    let mut c = compile("draft.sql", draft, &Config::default()).unwrap();
    let opts = VerifyOptions { schema: schema(), trace: false, ..VerifyOptions::default() };
    let r = run::verify(&c, &opts).unwrap();
    let d = r.data.as_ref().unwrap();
    assert!(r.ok() && d.equivalent && d.nondeterministic.is_empty(), "{}", run::render_text(&r));
    assert!(d.tables >= 3, "{d:?}");
    // plant a difference in the rows only: the plan deletes twenty notes
    for f in c.files.iter_mut() {
        plant(f, "id <= 10", "id <= 20");
    }
    let r = run::verify(&c, &opts).unwrap();
    let d = r.data.as_ref().unwrap();
    assert!(r.equivalence.equivalent, "the schema is the same");
    assert!(!r.ok() && !d.equivalent, "{}", run::render_text(&r));
    assert_eq!(d.differing.iter().map(|(t, _, _)| t.as_str()).collect::<Vec<_>>(), ["order_notes"]);
    assert!(d.differing[0].1.starts_with("4990 ") && d.differing[0].2.starts_with("4980 "), "{d:?}");
    let text = run::render_text(&r);
    assert!(
        text.contains("rows: DIFFERENT") && text.contains("different rows than the draft in order_notes"),
        "{text}"
    );

    let c = compile_file("examples/backfill_and_defaults.sql", &Config::default());
    let r = run::verify(&c, &opts).unwrap();
    let d = r.data.as_ref().unwrap();
    assert!(r.ok(), "{}", run::render_text(&r));
    for col in ["orders.public_id", "users.score"] {
        assert!(d.nondeterministic.iter().any(|n| n == col), "{col} in {d:?}");
    }
}

/// Never more harm: a plan whose write stall is longer than the draft's fails verify even
/// without --max-stall.
#[test]
fn verify_flags_a_plan_that_stalls_writes_longer_than_the_draft() {
    let mut c = compile("draft.sql", "ALTER TABLE orders ADD COLUMN flag boolean;\n", &Config::default()).unwrap();
    // plant harm: the plan's step holds ACCESS EXCLUSIVE on orders for a second and a half
    let step = c.files.iter_mut().find(|f| f.body().contains("ADD COLUMN flag")).unwrap();
    plant(step, "boolean;", "boolean;\nSELECT pg_sleep(1.5);");
    let opts = VerifyOptions {
        schema: Some("examples/schema.sql".into()),
        trace: false,
        load: Some(LoadOptions {
            warmup: Duration::from_millis(500),
            cooldown: Duration::from_millis(300),
            ..LoadOptions::default()
        }),
        ..VerifyOptions::default()
    };
    assert!(opts.max_stall.is_none());
    let r = run::verify(&c, &opts).unwrap();
    let l = r.load.as_ref().unwrap();
    assert!(l.plan.write_stall.seconds > 1.0, "{l:#?}");
    assert!(
        r.problems.iter().any(|p| p.contains("longer than the draft")),
        "{:?}\n{}",
        r.problems,
        run::render_text(&r)
    );
}

#[test]
fn cli_refuses_a_remote_database_url_with_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .args(["verify", "examples/article.sql", "--database-url", "postgresql://u@db.example.com/app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn under_load_the_draft_stalls_writes_and_the_plan_does_not() {
    let work = tempfile::tempdir().unwrap();
    let seed = work.path().join("seed.sql");
    std::fs::write(
        &seed,
        "INSERT INTO orders (user_id, customer_id, amount)\n\
         SELECT 1 + g % 2000, 1 + g % 500, (g % 100) * 1.5 FROM generate_series(1, 300000) g;\n",
    )
    .unwrap();
    let c = compile_file("examples/article.sql", &Config::default());
    let opts = VerifyOptions {
        schema: Some("examples/schema.sql".into()),
        seed: Some(seed),
        trace: false,
        load: Some(LoadOptions { warmup: Duration::from_millis(700), ..LoadOptions::default() }),
        ..VerifyOptions::default()
    };
    // A timing measurement on a shared 2-core machine: one retry if the draft's stall drowned in
    // the noise of other tests running at the same time.
    let mut r = run::verify(&c, &opts).unwrap();
    for _ in 0..2 {
        let l = r.load.as_ref().unwrap();
        if l.draft.write_stall.seconds > l.plan.write_stall.seconds {
            break;
        }
        r = run::verify(&c, &opts).unwrap();
    }
    assert!(r.ok(), "{}", run::render_text(&r));
    let l = r.load.as_ref().unwrap();
    eprintln!("{}", run::render_text(&r));
    assert!(l.plan.write_stall.seconds < 0.5, "plan stall {:?}", l.plan.write_stall);
    assert!(l.draft.write_stall.seconds > l.plan.write_stall.seconds, "{l:#?}");
    assert_eq!(l.draft.write_stall.table.as_deref(), Some("orders"));
    assert_eq!(l.plan.failed, 0, "{:?}", l.plan.errors);
}

/// Every table the migration locks gets traffic: before, client `i` went to table `(i / 3) % n`,
/// so a third table got none from six clients (none from two here) and its stall went unseen
/// while the report named it. Too few clients are raised to one per table, and the report says so.
#[test]
fn load_sends_traffic_to_every_table_and_sees_a_stall_on_the_third() {
    let work = tempfile::tempdir().unwrap();
    let schema = work.path().join("schema.sql");
    let mut text = String::new();
    for t in ["t1", "t2", "t3"] {
        text.push_str(&format!(
            "CREATE TABLE {t} (id bigserial PRIMARY KEY, a int);\n\
             INSERT INTO {t} (a) SELECT g FROM generate_series(1, 1000) g;\n"
        ));
    }
    std::fs::write(&schema, text).unwrap();
    let draft = "CREATE INDEX t1_a ON t1(a);\nCREATE INDEX t2_a ON t2(a);\n\
                 BEGIN;\nLOCK TABLE t3 IN SHARE MODE;\nSELECT pg_sleep(1.5);\nCOMMIT;\n";
    let c = compile("draft.sql", draft, &Config::default()).unwrap();
    let opts = VerifyOptions {
        schema: Some(schema),
        trace: false,
        load: Some(LoadOptions {
            clients: 2,
            warmup: Duration::from_millis(500),
            cooldown: Duration::from_millis(300),
            ..LoadOptions::default()
        }),
        max_stall: Some(0.5),
        ..VerifyOptions::default()
    };
    let r = run::verify(&c, &opts).unwrap();
    let text = run::render_text(&r);
    let l = r.load.as_ref().unwrap();
    assert_eq!((l.draft.clients, l.draft.clients_asked), (3, 2), "{text}");
    assert_eq!(l.draft.tables, ["t1", "t2", "t3"], "{text}");
    for t in ["t1", "t2", "t3"] {
        assert!(l.draft.completed.get(t).is_some_and(|k| !k.is_empty()), "no traffic on {t}: {l:#?}");
    }
    assert_eq!(l.draft.write_stall.table.as_deref(), Some("t3"), "{text}");
    assert!(l.draft.write_stall.seconds > 1.0, "{text}");
    assert!(text.contains("3 clients (2 asked"), "{text}");
    assert!(r.problems.iter().any(|p| p.contains("on t3") && p.contains("--max-stall")), "{text}");
}

/// With --database-url, PGPASSWORD reaches psql and pg_dump (before, every PG* variable was taken
/// out of their environment, so a server asking for a password refused verify).
#[test]
fn verify_on_a_database_url_takes_the_password_from_pgpassword() {
    let (cluster, _) = app_cluster();
    cluster.psql("app", "CREATE ROLE pw LOGIN CREATEDB PASSWORD 'secret'").unwrap();
    let hba = cluster.data_dir().join("pg_hba.conf");
    let rest = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("host all pw 127.0.0.1/32 scram-sha-256\n{rest}")).unwrap();
    cluster.psql("app", "SELECT pg_reload_conf()").unwrap();
    let url = format!("postgresql://pw@127.0.0.1:{}/postgres", cluster.port());
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .args(["verify", "examples/article.sql", "--schema", "examples/schema.sql", "--no-trace"])
        .args(["--database-url", &url])
        .env("PGPASSWORD", "secret")
        .env("PGHOST", "db.example.com")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}\nstdout: {stdout}");
    assert!(stdout.contains("schema: equivalent"), "{stdout}");
}

/// SIGTERM while the draft runs: the running psql is cancelled, the scratch databases on a
/// --database-url server are dropped, and pgsafe ends with 143 (before, it died at once and left
/// both, the orphaned psql going on).
#[test]
fn verify_cli_on_sigterm_drops_its_scratch_databases_and_cancels_psql() {
    let (cluster, url) = app_cluster();
    let work = tempfile::tempdir().unwrap();
    let draft = work.path().join("draft.sql");
    std::fs::write(&draft, "CREATE INDEX orders_note ON orders (note);\nSELECT pg_sleep(30);\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .arg("verify")
        .arg(&draft)
        .args(["--schema", "examples/schema.sql", "--no-trace", "--database-url", &url])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scalar(&cluster, running) != "1" {
        assert!(std::time::Instant::now() < deadline, "the draft never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let began = std::time::Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(began.elapsed() < Duration::from_secs(15), "{stderr}");
    let scratch = "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgsafe_scratch%'";
    let active = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'";
    // the orphan, before the fix, would go on; give a leftover a moment to show
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(scalar(&cluster, scratch), "0", "{stderr}");
    assert_eq!(scalar(&cluster, active), "0", "{stderr}");
}

fn quick_load() -> LoadOptions {
    LoadOptions { warmup: Duration::from_millis(500), cooldown: Duration::from_millis(300), ..LoadOptions::default() }
}

/// Under --load the rows are compared as without it: before, the load's own inserts made every
/// loaded table differ between the loaded run of the draft and its second run, which took them
/// for the draft's nondeterminism and left them out, so a plan that changed other rows passed.
#[test]
fn under_load_a_plan_that_changes_other_rows_is_still_caught() {
    let draft = "UPDATE orders SET note = 'x' WHERE id % 100 = 0;\n";
    let mut c = compile("draft.sql", draft, &Config::default()).unwrap();
    for f in c.files.iter_mut() {
        plant(f, "'x'", "'y'");
    }
    assert!(c.files.iter().any(|f| f.body().contains("'y'")));
    let opts = VerifyOptions {
        schema: Some("examples/schema.sql".into()),
        trace: false,
        load: Some(quick_load()),
        ..VerifyOptions::default()
    };
    let r = run::verify(&c, &opts).unwrap();
    let text = run::render_text(&r);
    let d = r.data.as_ref().unwrap();
    assert!(!r.ok() && !d.equivalent, "{text}");
    assert_eq!(d.differing.iter().map(|(t, _, _)| t.as_str()).collect::<Vec<_>>(), ["orders"], "{text}");
    assert!(d.nondeterministic.is_empty(), "the load's writes are not the draft's: {text}");
}

/// `verify --load --blocker idle-writer` of a draft adding a column (on `database_url`, else a
/// cluster of its own): the report and its text.
fn add_a_column_behind_an_idle_writer(database_url: Option<String>) -> (pgsafe::verify::run::VerifyReport, String) {
    let c = compile("draft.sql", "ALTER TABLE orders ADD COLUMN flag int;\n", &Config::default()).unwrap();
    let opts = VerifyOptions {
        database_url,
        schema: Some("examples/schema.sql".into()),
        trace: false,
        load: Some(LoadOptions {
            blocker: Some(pgsafe::verify::load::Blocker::IdleWriter),
            blocker_hold: Duration::from_millis(1500),
            ..quick_load()
        }),
        ..VerifyOptions::default()
    };
    let r = run::verify(&c, &opts).unwrap();
    let text = run::render_text(&r);
    (r, text)
}

/// Under an idle writer, the plan's step hits its lock_timeout and is tried again, as `pgsafe
/// apply` does, until the blocker goes: a correct plan is not reported as not equivalent.
#[test]
fn under_a_blocker_a_plan_step_that_hits_its_lock_timeout_is_retried() {
    let (r, text) = add_a_column_behind_an_idle_writer(None);
    assert!(r.ok(), "{text}");
    let l = r.load.as_ref().unwrap();
    assert!(l.plan_run.error.is_none() && !l.plan_run.retries.is_empty(), "{text}");
    assert!(text.contains("retried after lock_timeout"), "{text}");
}

/// The retry of a step that hits its lock_timeout goes by SQLSTATE 55P03, not by the English
/// words: on a server whose lc_messages is German (when this machine has the locale: `localedef
/// -i de_DE -f UTF-8 de_DE.UTF-8`), the step was taken for a failure and verify said the plan
/// fails where the draft succeeds. Without the locale, the same run in English.
#[test]
fn a_lock_timeout_is_retried_whatever_language_the_server_speaks() {
    let (cluster, url) = app_cluster();
    let german = ["de_DE.UTF-8", "de_DE.utf8"].into_iter().find(|l| {
        cluster.psql("app", &format!("ALTER SYSTEM SET lc_messages = '{l}'")).is_ok()
            && cluster.psql("app", "SELECT pg_reload_conf()").is_ok()
    });
    match german {
        Some(_) => {
            std::thread::sleep(Duration::from_millis(300));
            let e = format!("{:#}", cluster.psql("app", "SELECT 1/0").unwrap_err());
            assert!(e.contains("FEHLER:  Division durch Null"), "the server should speak German: {e}");
        }
        None => eprintln!("no de_DE locale on this machine: the lock timeout is read in English"),
    }
    let (r, text) = add_a_column_behind_an_idle_writer(Some(url));
    let l = r.load.as_ref().unwrap();
    assert!(l.plan_run.error.is_none() && !l.plan_run.retries.is_empty(), "{text}");
    assert!(r.ok(), "{text}");
}

/// Roles, databases and tablespaces are the whole server's: verify refuses such a draft before it
/// runs anything (before, the plan met the draft's role, "already exists", and a --database-url
/// server kept it).
#[test]
fn verify_refuses_a_draft_that_changes_cluster_wide_objects_and_leaves_nothing() {
    let (cluster, url) = app_cluster();
    let draft =
        "CREATE ROLE reader1;\nGRANT SELECT ON orders TO reader1;\nCREATE INDEX orders_note ON orders (note);\n";
    let c = compile("draft.sql", draft, &Config::default()).unwrap();
    let opts = VerifyOptions { database_url: Some(url), trace: false, ..VerifyOptions::default() };
    let e = format!("{:#}", run::verify(&c, &opts).unwrap_err());
    assert!(e.contains("cluster-wide objects") && e.contains("CREATE ROLE reader1"), "{e}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_roles WHERE rolname = 'reader1'"), "0");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgsafe_scratch%'"), "0");
}

/// A cluster with the example schema in database `app`, and its URL.
fn app_cluster() -> (Cluster, String) {
    let cluster = Cluster::start().unwrap_or_else(|e| panic!("{e:#}"));
    cluster.create_database("app", None).unwrap();
    cluster.psql_file("app", Path::new("examples/schema.sql")).unwrap();
    let url = cluster.url("app");
    (cluster, url)
}

fn scalar(cluster: &Cluster, sql: &str) -> String {
    let out = cluster.psql("app", sql).unwrap();
    out.lines().nth(2).unwrap_or("").trim().to_owned()
}

/// `pgsafe apply DIR` started as a process, returned once `started` (a count) reads 1: the step
/// is running on the server, for a test to kill or interrupt the run there.
fn apply_cli_running(cluster: &Cluster, url: &str, dir: &Path, started: &str, stderr: Stdio) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .arg("apply")
        .arg(dir)
        .args(["--database-url", url])
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while scalar(cluster, started) != "1" {
        assert!(std::time::Instant::now() < deadline, "the step never started: {started}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn quick(url: &str) -> ApplyOptions {
    ApplyOptions {
        base_backoff: Duration::from_millis(150),
        max_backoff: Duration::from_millis(600),
        max_attempts: 20,
        ..ApplyOptions::new(url)
    }
}

#[test]
fn apply_retries_a_lock_timeout_until_an_idle_writer_goes_away() {
    let (cluster, url) = app_cluster();
    let config = Config { lock_timeout: "200ms".into(), ..Config::default() };
    let draft = "ALTER TABLE orders ADD COLUMN flagged boolean;\n";
    let c = compile("draft.sql", draft, &config).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();

    // an application transaction that wrote to orders and went idle for 1.5 s
    let mut blocker = postgres::Config::new()
        .host("127.0.0.1")
        .port(cluster.port())
        .user("postgres")
        .dbname("app")
        .application_name("idle-app")
        .connect(postgres::NoTls)
        .unwrap();
    blocker.batch_execute("BEGIN; UPDATE orders SET note = 'x' WHERE id = 1").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        blocker.batch_execute("COMMIT").unwrap();
    });

    let mut log = Vec::new();
    let results = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    release.join().unwrap();
    let step = &results[0];
    assert_eq!(step.status, "applied", "{log:#?}");
    assert!(step.attempts > 1, "the first try should have hit the lock timeout: {log:#?}");
    assert!(step.retries[0].contains("55P03"), "{:?}", step.retries);
    assert!(step.retries.iter().any(|r| r.contains("idle-app")), "blocking session named: {:?}", step.retries);
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'flagged'"), "1");
}

#[test]
fn apply_resumes_after_a_failed_step_and_never_reruns_a_committed_one() {
    let (cluster, url) = app_cluster();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("0001_create_t1.sql"), "BEGIN;\nCREATE TABLE t1 (id int);\nCOMMIT;\n").unwrap();
    std::fs::write(dir.join("0002_broken.sql"), "BEGIN;\nCREATE TABLE t2 (id int);\nSELECT 1 / 0;\nCOMMIT;\n").unwrap();
    let mut log = Vec::new();
    let first = apply::apply(dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(first[0].status, "applied");
    assert!(first[1].error.as_deref().is_some_and(|e| e.contains("22012")), "{first:?}");
    assert_eq!(first[1].attempts, 1, "division by zero is not retried");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_class WHERE relname = 't2'"), "0");

    std::fs::write(dir.join("0002_broken.sql"), "BEGIN;\nCREATE TABLE t2 (id int);\nCOMMIT;\n").unwrap();
    let second = apply::apply(dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(second[0].status, "already applied", "{log:#?}");
    assert_eq!(second[1].status, "applied", "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pgsafe_progress"), "2");

    // a step changed after it was applied is refused
    std::fs::write(dir.join("0001_create_t1.sql"), "BEGIN;\nCREATE TABLE t1 (id bigint);\nCOMMIT;\n").unwrap();
    let e = apply::apply(dir, &quick(&url), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("different contents"), "{e}");
}

#[test]
fn apply_prints_the_undo_of_what_committed_when_a_later_step_fails_for_good() {
    let (cluster, url) = app_cluster();
    // One transaction in the draft; three committing steps in the plan. The VALIDATE fails on the
    // data, where the draft would have rolled the index and the constraint back.
    let draft = "BEGIN;\nCREATE INDEX orders_note_idx ON orders (note);\n\
                 ALTER TABLE orders ADD CONSTRAINT orders_amount_huge CHECK (amount > 1000000);\nCOMMIT;\n";
    let c = compile("draft.sql", draft, &Config::default()).unwrap();
    assert!(
        c.diagnostics.iter().any(|d| d.rule == "transactions" && d.message.contains("commits them in 3 steps")),
        "{:?}",
        c.diagnostics
    );
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let mut log = Vec::new();
    let results = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(results.len(), 3, "{log:#?}");
    assert!(results[2].error.as_deref().is_some_and(|e| e.contains("23514")), "{results:?}");
    let text = log.join("\n");
    assert!(text.contains("2 earlier steps committed and stay"), "{text}");
    let undo: Vec<&str> =
        log.iter().filter(|l| l.starts_with("  ")).filter_map(|l| l.split_once(".sql: ").map(|(_, sql)| sql)).collect();
    assert_eq!(
        undo,
        [
            "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_amount_huge;",
            "DROP INDEX CONCURRENTLY IF EXISTS orders_note_idx;"
        ],
        "{text}"
    );
    // Running the undo brings back the schema the failed draft leaves.
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_note_idx'"), "1");
    for sql in undo {
        cluster.psql("app", sql).unwrap();
    }
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_note_idx'"), "0");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_amount_huge'"), "0");
    // And forgetting their records, as the last line says, lets a later run do them again.
    let forget = log.iter().find_map(|l| l.split_once("forget their records, or a later apply would skip them: "));
    cluster.psql("app", forget.unwrap_or_else(|| panic!("{text}")).1).unwrap();
    let mut log = Vec::new();
    let again = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(again[0].status, "applied", "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_note_idx'"), "1");
}

#[test]
fn apply_repeats_the_long_step_hint_when_statement_timeout_cancels_a_step() {
    let (_cluster, url) = app_cluster();
    // 1 ms is shorter than any rewrite of 10,000 rows (numeric(12,2) to numeric(12,4) rewrites).
    let config = Config { statement_timeout: "1ms".into(), ..Config::default() };
    let c = compile("draft.sql", "ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,4);\n", &config).unwrap();
    let hint = c.diagnostics.iter().find(|d| d.rule == "long-step").expect("a long-step warning at rewrite time");
    assert!(hint.message.contains("statement_timeout = '1ms'"), "{}", hint.message);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let mut log = Vec::new();
    let results = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(results[0].error.as_deref().is_some_and(|e| e.starts_with("57014")), "{log:#?}");
    assert_eq!(results[0].attempts, 1, "a cancelled step is not retried: {log:#?}");
    assert!(log.iter().any(|l| l.contains(&hint.message)), "the hint, again: {log:#?}");
}

#[test]
fn apply_runs_a_step_kept_as_written_with_its_own_transactions_once() {
    let (cluster, url) = app_cluster();
    // The temporary table keeps the draft together, as written: one step, the draft's own
    // BEGIN/COMMIT inside it, statements before and after it in autocommit.
    let draft = "CREATE TEMP TABLE ids AS SELECT id FROM orders WHERE id <= 10;\n\
                 BEGIN;\nALTER TABLE orders ADD COLUMN flagged boolean;\n\
                 UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM ids);\nCOMMIT;\n\
                 UPDATE orders SET note = 'seen' WHERE id IN (SELECT id FROM ids);\n";
    let c = compile("draft.sql", draft, &Config::default()).unwrap();
    assert_eq!(c.steps().count(), 1, "{:#?}", c.files);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let mut log = Vec::new();
    let results = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(results[0].status, "applied", "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM orders WHERE flagged AND note = 'seen'"), "10");
    let again = apply::apply(&dir, &quick(&url), &mut |_| {}).unwrap();
    assert_eq!(again[0].status, "already applied");

    // A failure after part of such a step committed: not retried (it would run that part twice).
    let draft = "CREATE TEMP TABLE ids AS SELECT id FROM orders WHERE id <= 10;\n\
                 BEGIN;\nALTER TABLE orders ADD COLUMN flagged2 boolean;\nCOMMIT;\n\
                 UPDATE orders SET amount = amount / 0 WHERE id IN (SELECT id FROM ids);\n";
    let c = compile("draft2.sql", draft, &Config::default()).unwrap();
    let dir = work.path().join("plan2");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let mut log = Vec::new();
    let results = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(results[0].error.as_deref().is_some_and(|e| e.starts_with("22012")), "{log:#?}");
    assert_eq!(results[0].attempts, 1);
    assert!(log.iter().any(|l| l.contains("part of this step had committed already")), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'flagged2'"), "1");
}

#[test]
fn apply_drops_an_invalid_index_before_rebuilding_it() {
    let (cluster, url) = app_cluster();
    // a failed unique build leaves an INVALID index behind
    cluster.psql("app", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (1), (2)").unwrap();
    assert!(cluster.psql("app", "CREATE UNIQUE INDEX CONCURRENTLY t_x_key ON t (x)").is_err());
    assert_eq!(scalar(&cluster, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_key'::regclass"), "f");
    cluster.psql("app", "DELETE FROM t WHERE ctid = (SELECT min(ctid) FROM t WHERE x = 1)").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("0001_index.sql"),
        "SET lock_timeout = 0;\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_key ON t (x);\n",
    )
    .unwrap();
    let results = apply::apply(work.path(), &quick(&url), &mut |_| {}).unwrap();
    assert_eq!(results[0].status, "applied");
    assert_eq!(results[0].dropped_invalid, vec!["t_x_key".to_owned()]);
    assert_eq!(scalar(&cluster, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_key'::regclass"), "t");
}

#[test]
fn apply_cli_runs_a_compiled_plan() {
    let (cluster, url) = app_cluster();
    let c = compile_file("examples/article.sql", &Config::default());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .arg("apply")
        .arg(&dir)
        .args(["--database-url", &url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("applied in").count(), 3, "{stderr}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), "0");
    // a rerun does nothing
    let again = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .arg("apply")
        .arg(&dir)
        .args(["--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&again.stderr).matches("already applied").count(), 3);
}

#[test]
fn cli_rows_fills_the_tables_of_the_ai_draft_and_the_plan_stays_equivalent() {
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .args([
            "verify",
            "examples/ai_draft.sql",
            "--schema",
            "examples/schema.sql",
            "--rows",
            "20000",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}\nstdout: {}", String::from_utf8_lossy(&out.stdout));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["equivalence"]["equivalent"], true, "{r:#}");
    let rows = &r["rows"];
    assert_eq!(rows["rows"], 20000);
    let tables = rows["tables"].as_array().unwrap();
    let mut names: Vec<&str> = tables.iter().map(|t| t["table"].as_str().unwrap()).collect();
    names.sort_unstable();
    // the tables the plan locks; order_events is created by the draft, so it is not filled
    assert_eq!(names, ["orders", "users"], "{rows:#}");
    for t in tables {
        assert_eq!(t["inserted"], 20000, "{t:#}");
        assert!(t["error"].is_null(), "{t:#}");
    }
    assert!(rows["skipped"].as_array().unwrap().iter().any(|s| s["table"] == "order_events"), "{rows:#}");
    assert_eq!(rows["could_not_fill"], serde_json::json!([]), "{rows:#}");
    // the draft's CHECK (amount >= 0) and its unique index on lower(email) held on the new rows
    assert!(r["draft_run"]["error"].is_null() && r["plan_run"]["error"].is_null(), "{r:#}");
    eprintln!("took {:?}", started.elapsed());
}

#[test]
fn rows_with_seed_and_load_keep_the_drafts_foreign_key_valid() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let seed = work.path().join("seed.sql");
    std::fs::write(
        &seed,
        "INSERT INTO users (email) SELECT 'seed' || g || '@example.com' FROM generate_series(1, 100) g;\n",
    )
    .unwrap();
    let c = compile_file("examples/article.sql", &Config::default());
    let opts = VerifyOptions {
        schema: Some("examples/schema.sql".into()),
        seed: Some(seed),
        rows: Some(20000),
        trace: false,
        load: Some(LoadOptions {
            warmup: Duration::from_millis(300),
            cooldown: Duration::from_millis(200),
            ..LoadOptions::default()
        }),
        ..VerifyOptions::default()
    };
    let r = run::verify(&c, &opts).unwrap();
    let text = run::render_text(&r);
    assert!(r.ok(), "{text}");
    // ADD FOREIGN KEY orders(user_id) → users(id) and its VALIDATE ran on 30,000 orders
    assert!(r.draft_run.error.is_none() && r.plan_run.error.is_none(), "{text}");
    let rows = r.rows.as_ref().unwrap();
    let orders = rows.tables.iter().find(|t| t.table == "orders").unwrap();
    assert_eq!(orders.inserted, 20000, "{text}");
    assert!(orders.generated.iter().any(|g| g.starts_with("user_id → users(id)")), "{:?}", orders.generated);
    let users = rows.tables.iter().position(|t| t.table == "users").unwrap();
    assert!(users < rows.tables.iter().position(|t| t.table == "orders").unwrap(), "parents first");
    assert!(rows.shortfalls().is_empty(), "{text}");
    assert!(text.contains("synthetic rows (--rows 20000): 40000 rows"), "{text}");
    assert!(r.load.is_some());
    eprintln!("took {:?}", started.elapsed());
}

#[test]
fn rows_respects_types_checks_and_keys_and_says_what_it_could_not_fill() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let schema = work.path().join("schema.sql");
    std::fs::write(
        &schema,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n\
         CREATE TABLE orgs (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code varchar(3) UNIQUE);\n\
         CREATE TABLE people (\n\
           id uuid PRIMARY KEY,\n\
           org_id int NOT NULL REFERENCES orgs (id),\n\
           m mood NOT NULL,\n\
           age smallint CHECK (age BETWEEN 18 AND 99),\n\
           score numeric(5, 2),\n\
           born date, at timestamptz, doc jsonb, tags text[], ok boolean NOT NULL,\n\
           handle varchar(40) NOT NULL UNIQUE,\n\
           lo int, hi int, CHECK (lo < hi),\n\
           x xml\n\
         );\n\
         CREATE TABLE blobs (id int, v xml NOT NULL);\n",
    )
    .unwrap();
    let draft = "CREATE INDEX people_born_idx ON people (born);\n\
                 ALTER TABLE people ADD CONSTRAINT people_positive CHECK (score >= 0);\n\
                 CREATE INDEX blobs_id_idx ON blobs (id);\n";
    let c = compile("draft.sql", draft, &Config::default()).unwrap();
    let opts = VerifyOptions { schema: Some(schema), rows: Some(5000), trace: false, ..VerifyOptions::default() };
    let r = run::verify(&c, &opts).unwrap();
    let text = run::render_text(&r);
    assert!(r.ok(), "{text}");
    let rows = r.rows.as_ref().unwrap();
    let t = |name: &str| rows.tables.iter().find(|t| t.table == name).unwrap_or_else(|| panic!("{name}: {text}"));
    // orgs is people's parent: filled first, its identity left to its default
    assert_eq!(rows.tables[0].table, "orgs", "{text}");
    assert_eq!(t("orgs").inserted, 4095, "varchar(3) in hex holds 4095 distinct values: {text}");
    assert_eq!(t("orgs").defaults, ["id"]);
    let people = t("people");
    assert_eq!(people.inserted, 5000, "{text}");
    assert!(people.generated_rows > 5000, "the age check rejects most rows, later rounds make up: {text}");
    assert!(people.rejected.iter().any(|x| x.constraint.contains("people_age_check")), "{text}");
    assert_eq!(people.left_null.len(), 1, "{text}");
    assert_eq!(people.left_null[0].column, "x");
    assert!(people.left_null[0].reason.contains("xml"), "{text}");
    let blobs = t("blobs");
    assert_eq!(blobs.inserted, 0);
    assert!(blobs.error.as_deref().is_some_and(|e| e.contains("xml")), "{text}");
    let short = rows.could_not_fill.join("\n");
    assert!(short.contains("people.x left NULL") && short.contains("blobs: v is NOT NULL"), "{short}");
    assert!(text.contains("could not fill:"), "{text}");
    // the draft's CHECK held (its VALIDATE ran in the plan) and the schemas match
    assert!(r.equivalence.equivalent, "{text}");
    eprintln!("{text}\ntook {:?}", started.elapsed());
}

/// A step that commits as it goes is recorded as started before it runs: a run that dies in it
/// (killed, or failed after part of it committed) leaves it started, and the next run stops there
/// instead of doing its committed part twice; pgsafe's own batched loops resume.
#[test]
fn apply_stops_at_a_step_an_earlier_run_started_and_did_not_finish() {
    let (cluster, url) = app_cluster();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    cluster.psql("app", "CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    // Autocommit statements as written: the first commits, the second fails.
    std::fs::write(dir.join("0001_bump.sql"), "UPDATE n SET v = v + 1;\nSELECT 1 / (SELECT v - 1 FROM n);\n").unwrap();
    let mut log = Vec::new();
    let first = apply::apply(dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(first[0].error.as_deref().is_some_and(|e| e.starts_with("22012")), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1");
    let e = apply::apply(dir, &quick(&url), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("0001_bump.sql was started at") && e.contains("SET finished = true"), "{e}");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1", "not run twice");
    // Marked done by hand, as the message says: skipped from then on.
    cluster.psql("app", "UPDATE pgsafe_progress SET finished = true WHERE step = '0001_bump.sql'").unwrap();
    let again = apply::apply(dir, &quick(&url), &mut |_| {}).unwrap();
    assert_eq!(again[0].status, "already applied");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1");

    // A batched loop a killed run left started runs again: it changes only what still matches.
    let c = compile("fill.sql", "UPDATE orders SET note = 'seen' WHERE note IS NULL;\n", &Config::default()).unwrap();
    let plan = work.path().join("plan");
    pgsafe::emit::write::write_dir(&plan, c.plan_dir(), false, &[]).unwrap();
    let step = c.steps().next().unwrap().name.clone();
    assert!(c.steps().next().unwrap().text().contains("DO $pgsafe$"));
    cluster
        .psql(
            "app",
            &format!(
                "INSERT INTO pgsafe_progress (plan, step, checksum, attempts, finished) VALUES ('fill.sql', '{step}', \
                 '{}', 0, false)",
                scalar_checksum(&plan.join(&step))
            ),
        )
        .unwrap();
    let mut log = Vec::new();
    let resumed = apply::apply(&plan, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(resumed[0].status, "applied", "{log:#?}");
    assert!(log.iter().any(|l| l.contains("resumes safely")), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM orders WHERE note IS DISTINCT FROM 'seen'"), "0");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pgsafe_progress WHERE NOT finished"), "0");
}

#[test]
fn apply_records_a_step_of_several_transactions_as_started_before_it_runs() {
    // A draft pgsafe leaves as written (nothing to rewrite) with two transactions of its own: the
    // first commits, the second fails. The step commits as it goes, so it is recorded as started
    // before it runs, and the next run stops there instead of running the first transaction again
    // (before the thirty-eighth pass its last COMMIT made it look like one transaction, recorded
    // only with that COMMIT: the next run bumped the value twice).
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    let draft = "BEGIN;\nUPDATE n SET v = v + 1;\nCOMMIT;\nBEGIN;\nSELECT 1 / (SELECT v - 1 FROM n);\nCOMMIT;\n";
    let c = compile("twice.sql", draft, &Config::default()).unwrap();
    assert!(c.changes.is_empty(), "{:#?}", c.changes);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let mut log = Vec::new();
    let first = apply::apply(&dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(first[0].error.as_deref().is_some_and(|e| e.starts_with("22012")), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1");
    let e = apply::apply(&dir, &quick(&url), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("was started at"), "{e}");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1", "the first transaction ran twice");
}

#[test]
fn apply_killed_outright_leaves_no_statement_running_beside_the_next_run() {
    // SIGKILL (an OOM kill, a CI job's timeout) cannot cancel the step's statement, and the
    // advisory lock goes with the killed control session: the server ran the statement on (here
    // 20 s) beside the next run. The step's session now has the server check for its client every
    // second, and the next run waits for what is left of the killed one.
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("0001_slow.sql"), "UPDATE n SET v = v + 1 WHERE pg_sleep(20) IS NOT NULL;\n")
        .unwrap();
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'UPDATE n%' AND state = 'active'";
    let mut child = apply_cli_running(&cluster, &url, work.path(), running, Stdio::null());
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while scalar(&cluster, running) != "0" {
        assert!(killed.elapsed() < Duration::from_secs(8), "the killed run's statement still runs on the server");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "0", "rolled back with its session");
}

/// The checksum `pgsafe apply` records for a step file.
fn scalar_checksum(path: &Path) -> String {
    apply::checksum(&std::fs::read_to_string(path).unwrap())
}

/// An index of the step's name that no earlier run of this step built is not taken for the
/// step's: the step runs as written and fails as the draft would. And a step that sets its own
/// search_path still records its progress (the table is named with its schema).
#[test]
fn apply_takes_no_one_elses_index_for_the_steps_and_records_under_any_search_path() {
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE TABLE t (x int, y int); CREATE INDEX t_idx ON t (x); CREATE SCHEMA app").unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(
        dir.join("0001_path.sql"),
        "BEGIN;\nSET LOCAL search_path = app;\nCREATE TABLE u (a int);\nCOMMIT;\n",
    )
    .unwrap();
    std::fs::write(dir.join("0002_index.sql"), "SET lock_timeout = 0;\nCREATE INDEX CONCURRENTLY t_idx ON t (y);\n")
        .unwrap();
    let mut log = Vec::new();
    let results = apply::apply(dir, &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(results[0].status, "applied", "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM app.u"), "0");
    assert!(results[1].error.as_deref().is_some_and(|e| e.contains("already exists")), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pgsafe_progress WHERE step = '0002_index.sql'"), "0");
}

/// Ctrl-C during a step cancels its statement on the server, as psql does, and the run ends with
/// 130: the server must not go on and commit a statement that no record will show.
#[test]
fn apply_cli_cancels_the_running_statement_on_ctrl_c() {
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("0001_slow.sql"), "UPDATE n SET v = v + 1 WHERE pg_sleep(20) IS NOT NULL;\n")
        .unwrap();
    let running =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgsafe-apply' AND query LIKE 'UPDATE n%'";
    let child = apply_cli_running(&cluster, &url, work.path(), running, Stdio::piped());
    let began = std::time::Instant::now();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(began.elapsed() < Duration::from_secs(10), "it waited for the statement: {stderr}");
    assert!(stderr.contains("cancelled and rolled back"), "{stderr}");
    let active = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'UPDATE n%' AND state = 'active'";
    assert_eq!(scalar(&cluster, active), "0", "the statement still runs on the server");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "0");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pgsafe_progress"), "0", "a rerun runs it");
}

#[test]
fn apply_drops_the_invalid_copy_a_failed_reindex_concurrently_left_before_it_reindexes_again() {
    // An index on a function that fails while the database says so: the first run's REINDEX
    // CONCURRENTLY fails in its build phase and leaves the INVALID copy `t_f_idx_ccnew`. Before
    // the thirty-ninth pass the next run made a second copy (`…_ccnew1`) and left the first one
    // behind for good, kept up to date by every write.
    let (cluster, url) = app_cluster();
    cluster
        .psql(
            "app",
            "CREATE FUNCTION f(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \
             $$BEGIN IF current_setting('test.fail', true) = 'on' THEN RAISE 'boom'; END IF; RETURN $1; END$$; \
             CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100); CREATE INDEX t_f_idx ON t (f(a));",
        )
        .unwrap();
    cluster.psql("app", "ALTER DATABASE app SET test.fail = 'on'").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("0001_reindex.sql"),
        "SET lock_timeout = 0;\nREINDEX INDEX CONCURRENTLY t_f_idx;\n",
    )
    .unwrap();
    let mut log = Vec::new();
    let first = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(first[0].error.as_deref().is_some_and(|e| e.contains("boom")), "{log:#?}");
    let invalid = "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1) FROM pg_index WHERE NOT indisvalid";
    assert_eq!(scalar(&cluster, invalid), "t_f_idx_ccnew");
    cluster.psql("app", "ALTER DATABASE app RESET test.fail").unwrap();
    let second = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(second[0].status, "applied", "{log:#?}");
    assert_eq!(second[0].dropped_invalid, vec!["public.t_f_idx_ccnew".to_owned()]);
    assert_eq!(scalar(&cluster, invalid), "", "an INVALID copy is left");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'"), "1");
}

/// An unnamed concurrent build (the plan keeps the draft's unnamed index unnamed) that hits its
/// lock timeout leaves an INVALID index PostgreSQL named: before the fortieth pass each retry
/// left one more (`t_b_idx`, `t_b_idx1`, …), and a run killed while it built left one that the
/// next run could not tell from anyone's. The indexes the table had before are noted; only the
/// INVALID ones missing from that list are dropped — never someone else's.
#[test]
fn apply_drops_the_invalid_index_an_unnamed_build_left_and_no_one_elses() {
    let (cluster, url) = app_cluster();
    cluster
        .psql("app", "CREATE TABLE t (a int, b int); INSERT INTO t SELECT g % 3, g FROM generate_series(1, 9) g")
        .unwrap();
    // someone else's INVALID index on the same table: a failed unique build
    assert!(cluster.psql("app", "CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)").is_err());
    let invalid = "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1) FROM pg_index WHERE NOT indisvalid";
    assert_eq!(scalar(&cluster, invalid), "t_a_key");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("0001_index.sql"),
        "SET lock_timeout = '200ms';\nCREATE INDEX CONCURRENTLY ON t (b);\n",
    )
    .unwrap();
    let mut blocker = postgres::Config::from_str(&url).unwrap().connect(postgres::NoTls).unwrap();
    blocker.batch_execute("BEGIN; UPDATE t SET a = a WHERE b = 1").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        blocker.batch_execute("COMMIT").unwrap();
    });
    let mut log = Vec::new();
    let results = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    release.join().unwrap();
    assert_eq!(results[0].status, "applied", "{log:#?}");
    assert!(results[0].attempts > 1, "{log:#?}");
    assert_eq!(scalar(&cluster, invalid), "t_a_key", "{log:#?}");
    assert_eq!(
        scalar(&cluster, "SELECT string_agg(indexname, ',' ORDER BY 1) FROM pg_indexes WHERE tablename = 't'"),
        "t_a_key,t_b_idx"
    );

    // Killed outright while it builds (slowly: 0.2 s a row), the run leaves the step started and
    // an INVALID index; the next run drops it and builds the index once.
    cluster
        .psql(
            "app",
            "CREATE FUNCTION slow(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \
             $$BEGIN PERFORM pg_sleep(0.2); RETURN $1; END$$",
        )
        .unwrap();
    std::fs::write(
        work.path().join("0002_slow.sql"),
        "SET lock_timeout = 0;\nCREATE INDEX CONCURRENTLY ON t (slow(b));\n",
    )
    .unwrap();
    let building = "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid::regclass::text = 't_slow_idx'";
    let mut child = apply_cli_running(&cluster, &url, work.path(), building, Stdio::null());
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = Vec::new();
    let results = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(results[1].status, "applied", "{log:#?}");
    assert_eq!(results[1].dropped_invalid, ["public.t_slow_idx"], "{log:#?}");
    assert_eq!(scalar(&cluster, invalid), "t_a_key", "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'"), "3");
}

/// The step's own `SET search_path` decides which index its name means: the INVALID `app.idx_x`
/// a failed build left is dropped and built again, and `public.idx_x` is not taken for it (before
/// the fortieth pass the name was looked up in the control session's path).
#[test]
fn apply_looks_up_the_index_in_the_search_path_the_step_sets() {
    let (cluster, url) = app_cluster();
    cluster
        .psql(
            "app",
            "CREATE TABLE t (a int); CREATE INDEX idx_x ON t (a); CREATE SCHEMA app; \
             CREATE TABLE app.t (a int); INSERT INTO app.t VALUES (1), (1), (2)",
        )
        .unwrap();
    assert!(cluster.psql("app", "CREATE UNIQUE INDEX CONCURRENTLY idx_x ON app.t (a)").is_err());
    cluster.psql("app", "DELETE FROM app.t WHERE ctid = (SELECT min(ctid) FROM app.t WHERE a = 1)").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("0001_index.sql"),
        "SET search_path TO app;\nSET lock_timeout = 0;\nCREATE UNIQUE INDEX CONCURRENTLY idx_x ON t (a);\n",
    )
    .unwrap();
    let mut log = Vec::new();
    let results = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(results[0].status, "applied", "{log:#?}");
    assert!(log.iter().any(|l| l.contains("dropping INVALID index app.idx_x")), "{log:#?}");
    let state = "SELECT string_agg(indexrelid::regclass::text || ' ' || indisvalid, ',' \
                 ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indexrelid::regclass::text LIKE '%idx_x'";
    assert_eq!(scalar(&cluster, state), "app.idx_x true,idx_x true");
}

/// One progress table for every role and search_path: a run under another path resumes the plan
/// instead of running it again (before the fortieth pass the table went to `current_schema()`),
/// and a run with no schema in its path records its progress instead of panicking.
#[test]
fn apply_keeps_its_progress_in_one_place_whatever_the_search_path() {
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE SCHEMA pw; CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("0001_bump.sql"), "BEGIN;\nUPDATE public.n SET v = v + 1;\nCOMMIT;\n").unwrap();
    let in_pw = format!("{url}?options=-csearch_path%3Dpw");
    let first = apply::apply(work.path(), &quick(&in_pw), &mut |_| {}).unwrap();
    assert_eq!(first[0].status, "applied");
    let mut log = Vec::new();
    let again = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert_eq!(again[0].status, "already applied", "{log:#?}");
    let nowhere = format!("{url}?options=-csearch_path%3D");
    let third = apply::apply(work.path(), &quick(&nowhere), &mut |_| {}).unwrap();
    assert_eq!(third[0].status, "already applied");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "1");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM pg_class WHERE relname = 'pgsafe_progress'"), "1");
}

/// A procedure that commits as it goes, then hits its lock timeout, is not retried whole: before
/// the fortieth pass each of the four tries inserted its row again. The step stays recorded as
/// started, and the next run stops there.
#[test]
fn apply_never_retries_a_procedure_that_may_have_committed() {
    let (cluster, url) = app_cluster();
    cluster
        .psql(
            "app",
            "CREATE TABLE t (a int); CREATE TABLE seen (at timestamptz); \
             CREATE PROCEDURE p() LANGUAGE plpgsql AS \
             $$BEGIN INSERT INTO seen VALUES (now()); COMMIT; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; END$$",
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("0001_call.sql"), "SET lock_timeout = '100ms';\nCALL p();\n").unwrap();
    let mut blocker = postgres::Config::from_str(&url).unwrap().connect(postgres::NoTls).unwrap();
    blocker.batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        blocker.batch_execute("COMMIT").unwrap();
    });
    let mut log = Vec::new();
    let results = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    release.join().unwrap();
    assert!(results[0].error.as_deref().is_some_and(|e| e.starts_with("55P03")), "{log:#?}");
    assert_eq!(results[0].attempts, 1, "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM seen"), "1");
    let e = apply::apply(work.path(), &quick(&url), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("0001_call.sql was started at"), "{e}");
    assert_eq!(scalar(&cluster, "SELECT count(*) FROM seen"), "1");
}

/// A step that sets a role (for the session or for its transaction) records its progress: the
/// row is written as the user apply logged in as (before the fortieth pass it was written as the
/// step's role: "permission denied for table pgsafe_progress"), and the step's work runs as its
/// role.
#[test]
fn apply_records_a_step_that_sets_a_role() {
    let (cluster, url) = app_cluster();
    cluster
        .psql(
            "app",
            "CREATE ROLE app NOLOGIN; CREATE TABLE n (v int, who text DEFAULT current_user); GRANT ALL ON n TO app",
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("0001_session.sql"), "SET ROLE app;\nBEGIN;\nINSERT INTO n VALUES (1);\nCOMMIT;\n")
        .unwrap();
    std::fs::write(
        work.path().join("0002_local.sql"),
        "BEGIN;\nSET LOCAL ROLE app;\nINSERT INTO n VALUES (2);\nCOMMIT;\n",
    )
    .unwrap();
    let mut log = Vec::new();
    let results = apply::apply(work.path(), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
    assert!(results.iter().all(|r| r.status == "applied"), "{log:#?}");
    assert_eq!(scalar(&cluster, "SELECT string_agg(v || ' ' || who, ',' ORDER BY v) FROM n"), "1 app,2 app");
    let again = apply::apply(work.path(), &quick(&url), &mut |_| {}).unwrap();
    assert!(again.iter().all(|r| r.status == "already applied"), "{again:?}");
}

/// A run that stops before a step because going on could do harm (here a step changed after it
/// was applied) exits 1, as README says, not 2 (bad input).
#[test]
fn apply_cli_exits_1_when_it_refuses_to_go_on() {
    let (_cluster, url) = app_cluster();
    let work = tempfile::tempdir().unwrap();
    let step = work.path().join("0001_t.sql");
    std::fs::write(&step, "BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n").unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_pgsafe"))
            .arg("apply")
            .arg(work.path())
            .args(["--database-url", &url])
            .output()
            .unwrap()
    };
    assert_eq!(run().status.code(), Some(0));
    std::fs::write(&step, "BEGIN;\nCREATE TABLE t (a bigint);\nCOMMIT;\n").unwrap();
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("different contents"), "{stderr}");
}

/// Plans of one draft path (each migration rewritten from its own directory as `migration.sql`)
/// keep apart records: a step of the second that the first has too, same file and contents, runs
/// (before the fortieth pass it was "already applied" and its UPDATE lost). A step file renamed
/// since it was applied is not run again.
#[test]
fn apply_tells_plans_of_one_draft_path_apart() {
    let (cluster, url) = app_cluster();
    cluster.psql("app", "CREATE TABLE n (v int); INSERT INTO n VALUES (0)").unwrap();
    let work = tempfile::tempdir().unwrap();
    let bump = "BEGIN;\nUPDATE n SET v = v + 1;\nCOMMIT;\n";
    for (plan, table) in [("a", "ta"), ("b", "tb")] {
        let dir = work.path().join(plan);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), r#"{"draft": "migration.sql"}"#).unwrap();
        std::fs::write(
            dir.join(format!("0001_create_{table}.sql")),
            format!("BEGIN;\nCREATE TABLE {table} (a int);\nCOMMIT;\n"),
        )
        .unwrap();
        std::fs::write(dir.join("0002_update_n.sql"), bump).unwrap();
    }
    for plan in ["a", "b"] {
        let mut log = Vec::new();
        let results = apply::apply(&work.path().join(plan), &quick(&url), &mut |l| log.push(l.to_owned())).unwrap();
        assert!(results.iter().all(|r| r.status == "applied"), "{plan}: {log:#?}");
    }
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "2");
    let a = work.path().join("a");
    std::fs::rename(a.join("0002_update_n.sql"), a.join("0002_bump_n.sql")).unwrap();
    let again = apply::apply(&a, &quick(&url), &mut |_| {}).unwrap();
    assert!(again.iter().all(|r| r.status == "already applied"), "{again:?}");
    assert_eq!(scalar(&cluster, "SELECT v FROM n"), "2");
}

/// A role that must give a password: `apply` finds it where psql would, in the password file
/// (`PGPASSFILE`), when the URL gives none (it failed to authenticate before).
#[test]
fn apply_authenticates_with_the_password_file_as_psql_does() {
    let (cluster, _) = app_cluster();
    cluster.psql("app", "CREATE ROLE deployer LOGIN SUPERUSER PASSWORD 'pw:s3cret'").unwrap();
    let hba = cluster.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("host all deployer 127.0.0.1/32 scram-sha-256\n{rules}")).unwrap();
    cluster.psql("app", "SELECT pg_reload_conf()").unwrap();
    let c = compile_file("examples/article.sql", &Config::default());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("plan");
    pgsafe::emit::write::write_dir(&dir, c.plan_dir(), false, &[]).unwrap();
    let url = format!("postgresql://deployer@127.0.0.1:{}/app", cluster.port());
    let apply = |passfile: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(passfile, std::fs::Permissions::from_mode(0o600)).ok();
        Command::new(env!("CARGO_BIN_EXE_pgsafe"))
            .arg("apply")
            .arg(&dir)
            .args(["--database-url", &url])
            .env_remove("PGPASSWORD")
            .env("HOME", work.path())
            .env("PGPASSFILE", passfile)
            .output()
            .unwrap()
    };
    let missing = apply(&work.path().join("none"));
    assert_ne!(missing.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("password"), "{missing:?}");
    let passfile = work.path().join("pgpass");
    std::fs::write(&passfile, format!("127.0.0.1:{}:app:deployer:pw\\:s3cret\n", cluster.port())).unwrap();
    let out = apply(&passfile);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("applied in").count(), 3, "{stderr}");
}
