//! One golden layout per runner: the same draft laid out the runner's way, next to an earlier and
//! a later migration, so names, versions, markers, transaction lines and down sections show.
//! (`tests/runners_real.rs` runs the real runners on such layouts.)

use pgsafe::runner::{Placement, Runner};
use pgsafe::{compile, Config};
use std::fmt::Write;

const DRAFT: &str = "-- Index the customer lookups, and link orders to users.
CREATE INDEX idx_orders_customer_id ON orders(customer_id);

ALTER TABLE orders
ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users(id);
";

const DOWN: &str = "ALTER TABLE orders DROP CONSTRAINT fk_orders_users;\nDROP INDEX idx_orders_customer_id;\n";

/// The draft as the runner's users write it (with a down section where the runner has them).
fn draft_for(runner: Runner) -> String {
    match runner {
        Runner::Dbmate => format!("-- migrate:up\n{DRAFT}\n-- migrate:down\n{DOWN}"),
        Runner::NodePgMigrate => format!("-- Up Migration\n{DRAFT}\n-- Down Migration\n{DOWN}"),
        Runner::Goose => format!("-- +goose Up\n{DRAFT}\n-- +goose Down\n{DOWN}"),
        _ => DRAFT.to_string(),
    }
}

fn placement(runner: Runner, root: &std::path::Path) -> Placement {
    let (draft, existing): (&str, &[&str]) = match runner {
        Runner::Psql => ("add_index.sql", &[]),
        Runner::Sqlx | Runner::Dbmate | Runner::Atlas => {
            ("20240101120000_add_index.sql", &["20240101110000_init.sql", "20240102000000_next.sql"])
        }
        Runner::Goose => ("00002_add_index.sql", &["00001_init.sql", "00010_next.sql"]),
        Runner::GolangMigrate => {
            ("000002_add_index.up.sql", &["000001_init.up.sql", "000001_init.down.sql", "000010_next.up.sql"])
        }
        Runner::Flyway => ("V2__add_index.sql", &["V1__init.sql", "V2.1__next.sql"]),
        Runner::Prisma => ("20240101120000_add_index", &["20240101110000_init", "migration_lock.toml"]),
        Runner::Diesel => ("2024-01-01-120000_add_index", &["2024-01-01-110000_init", "2024-01-02-000000_next"]),
        Runner::Sqitch => ("add_index", &["deploy", "revert", "sqitch.plan"]),
        Runner::Django | Runner::Alembic => ("add_index", &[]),
        Runner::NodePgMigrate => ("1700000000000_add-index.sql", &["1690000000000_init.js", "1710000000000_next.js"]),
        Runner::GraphileMigrate => ("current.sql", &["committed"]),
    };
    let mut at = Placement::fresh(root, draft.to_string());
    at.existing = existing.iter().map(|s| s.to_string()).collect();
    if runner == Runner::Sqitch {
        at.read.insert(
            "sqitch.plan".into(),
            "%syntax-version=1.0.0\n%project=shop\n\ninit 2024-01-01T10:00:00Z Ann <ann@example.com> # tables\n\
             add_index 2024-01-01T12:00:00Z Ann <ann@example.com> # index and fk\n\
             next [add_index] 2024-01-02T00:00:00Z Ann <ann@example.com>\n"
                .into(),
        );
    }
    if runner == Runner::Atlas {
        at.read.insert("20240101110000_init.sql".into(), "CREATE TABLE orders (id bigint);\n".into());
        at.read.insert("20240102000000_next.sql".into(), "SELECT 1;\n".into());
    }
    at
}

fn layout(runner: Runner) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    match runner {
        Runner::Django => {
            std::fs::write(dir.as_path().join("0001_initial.py"), "# initial\n").unwrap();
        }
        Runner::Alembic => {
            std::fs::write(dir.as_path().join("aaaa_init.py"), "revision = \"aaaa\"\ndown_revision = None\n").unwrap();
        }
        Runner::GraphileMigrate => {
            // An earlier committed migration whose hash the new ones chain to.
            std::fs::create_dir_all(dir.join("committed")).unwrap();
            let body = "CREATE TABLE orders (id bigint);\n";
            let hash = pgsafe::runner::graphile_migrate::hash(body, None);
            std::fs::write(dir.join("committed/000001.sql"), format!("--! Previous: -\n--! Hash: {hash}\n\n{body}"))
                .unwrap();
        }
        _ => {}
    }
    let name = match runner {
        Runner::Prisma => "migrations/20240101120000_add_index/migration.sql".to_string(),
        Runner::Diesel => "migrations/2024-01-01-120000_add_index/up.sql".to_string(),
        Runner::Sqitch => "deploy/add_index.sql".to_string(),
        _ => format!("migrations/{}", placement(runner, dir.as_path()).draft),
    };
    let c = compile(&name, &draft_for(runner), &Config::default()).unwrap();
    let mut at = placement(runner, dir.as_path());
    if matches!(runner, Runner::Django | Runner::Alembic) {
        at = Placement::new(dir.as_path(), "add_index".into());
    }
    if runner == Runner::GraphileMigrate {
        at.root = dir.clone();
    }
    let out = runner.lay_out(&c, &at).unwrap();
    let mut s = String::new();
    for (path, text) in &out.write {
        let _ = write!(s, "===== {path} =====\n{text}");
    }
    for path in &out.remove {
        let _ = writeln!(s, "===== removed: {path} =====");
    }
    for note in &out.notes {
        let _ = writeln!(s, "note: {note}");
    }
    s
}

macro_rules! golden {
    ($($name:ident => $runner:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), layout($runner));
        }
    )*};
}

golden! {
    layout_psql => Runner::Psql,
    layout_sqlx => Runner::Sqlx,
    layout_dbmate => Runner::Dbmate,
    layout_goose => Runner::Goose,
    layout_golang_migrate => Runner::GolangMigrate,
    layout_flyway => Runner::Flyway,
    layout_prisma => Runner::Prisma,
    layout_diesel => Runner::Diesel,
    layout_atlas => Runner::Atlas,
    layout_sqitch => Runner::Sqitch,
    layout_django => Runner::Django,
    layout_alembic => Runner::Alembic,
    layout_node_pg_migrate => Runner::NodePgMigrate,
    layout_graphile_migrate => Runner::GraphileMigrate,
}

#[test]
fn every_runner_has_a_golden_layout() {
    let src = std::fs::read_to_string(file!()).unwrap();
    for r in Runner::ALL {
        assert!(src.contains(&format!("layout_{} =>", r.name().replace('-', "_"))), "{r}");
    }
}

#[test]
fn no_room_between_versions_is_an_error_not_a_reordering() {
    let c = compile("m/0002_a.sql", DRAFT, &Config::default()).unwrap();
    let mut at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    at.existing = vec!["0001_init.sql".into(), "0003_next.sql".into()];
    let e = Runner::Sqlx.lay_out(&c, &at).unwrap_err();
    assert!(e.contains("no room") && e.contains("0003"), "{e}");
}

#[test]
fn a_search_path_before_a_concurrent_build_cannot_go_to_a_whole_file_runner() {
    let draft = "SET search_path = app;\nALTER TABLE t ADD c int;\nCREATE INDEX i ON t (c);\n";
    let c = compile("m/0002_a.sql", draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    let e = Runner::Sqlx.lay_out(&c, &at).unwrap_err();
    assert!(e.contains("search_path"), "{e}");
    // goose sends statements one by one: fine there.
    Runner::Goose.lay_out(&c, &at).unwrap();
}

#[test]
fn a_session_setting_before_a_build_keeps_it_as_written_for_a_runner_that_sends_one_query() {
    // Compiled as `fix --runner R` compiles it: under a runner that sends a step as one query, the
    // concurrent build's step could not repeat the draft's `SET`, and the build stays as written
    // with the setting (it was exit 2); every other runner gets the concurrent build.
    let draft = "SET search_path = app;\nALTER TABLE t ADD c int;\nCREATE INDEX i ON t (c);\n";
    for runner in Runner::ALL {
        let path = std::path::Path::new("m/20240101000000_a.sql");
        let config = Config {
            one_query_steps: runner.sends_a_step_as_one_query(),
            runner_transaction: runner.runs_in_one_transaction(path, draft),
            ..Config::default()
        };
        let c = compile("m/20240101000000_a.sql", draft, &config).unwrap();
        let at = placement(runner, std::path::Path::new("m"));
        let out = runner.lay_out(&c, &at).unwrap_or_else(|e| panic!("{runner}: {e}"));
        let written: String = out.write.iter().map(|(_, text)| text.as_str()).collect();
        let kept =
            c.diagnostics.iter().any(|d| d.rule == "concurrent-index" && d.message.contains("`SET search_path`"));
        assert_eq!(kept, runner.sends_a_step_as_one_query(), "{runner}: {:?}", c.diagnostics);
        assert_eq!(written.contains("CONCURRENTLY"), !kept, "{runner}: {written}");
    }
}

#[test]
fn a_dry_run_is_never_handed_to_a_committing_runner() {
    let draft = "BEGIN;\nALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);\nROLLBACK;\n";
    let c = compile("m/0002_a.sql", draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    if c.changed() {
        let e = Runner::Sqlx.lay_out(&c, &at).unwrap_err();
        assert!(e.contains("ROLLBACK"), "{e}");
    }
}

#[test]
fn an_unchanged_concurrent_build_is_never_put_in_the_runners_transaction() {
    // Nothing to rewrite: the plan is the draft as written, and its statement refuses a
    // transaction block, so runners that wrap files get their opt-out marker.
    let c = compile("m/0002_a.sql", "CREATE INDEX CONCURRENTLY i ON t (c);\n", &Config::default()).unwrap();
    assert!(!c.changed());
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    let sqlx = Runner::Sqlx.lay_out(&c, &at).unwrap();
    assert!(sqlx.write[0].1.starts_with("-- no-transaction\n"), "{}", sqlx.write[0].1);
    let dbmate = Runner::Dbmate.lay_out(&c, &at).unwrap();
    assert!(dbmate.write[0].1.starts_with("-- migrate:up transaction:false\n"), "{}", dbmate.write[0].1);
}

#[test]
fn the_drafts_own_markers_before_its_begin_are_not_written_again() {
    // The draft's BEGIN goes (dbmate's own transaction holds the step), its comments stay: the
    // marker among them must not come back, or dbmate reads two up sections and refuses the file.
    let draft = "-- migrate:up transaction:false\nBEGIN;\nALTER TABLE users ADD COLUMN nick text;\nCOMMIT;\n\
                 -- migrate:down\nALTER TABLE users DROP COLUMN nick;\n";
    let c = compile("m/20240101000000_a.sql", draft, &Config::default()).unwrap();
    assert!(c.changed());
    let at = Placement::fresh(std::path::Path::new("m"), "20240101000000_a.sql".into());
    let dbmate = Runner::Dbmate.lay_out(&c, &at).unwrap();
    let text = &dbmate.write[0].1;
    assert_eq!(text.matches("-- migrate:up").count(), 1, "{text}");
    assert_eq!(text.matches("-- migrate:down").count(), 1, "{text}");
}

const TEMP_ACROSS_TRANSACTION: &str = "CREATE TEMP TABLE x AS SELECT id FROM orders;
BEGIN;
ALTER TABLE orders ADD COLUMN c int;
UPDATE orders SET c = 1 WHERE id IN (SELECT id FROM x);
COMMIT;
";

#[test]
fn a_step_of_the_drafts_statements_as_written_goes_whole_to_a_one_query_runner_with_a_note() {
    let c = compile("m/0002_a.sql", TEMP_ACROSS_TRANSACTION, &Config::default()).unwrap();
    assert!(c.files[0].as_written, "{}", c.files[0].text());
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    for runner in [Runner::Sqlx, Runner::Dbmate, Runner::Diesel, Runner::GolangMigrate, Runner::Prisma] {
        let at = match runner {
            Runner::Diesel | Runner::Prisma => Placement::fresh(std::path::Path::new("m"), "20240101000000_a".into()),
            _ => at.clone(),
        };
        let out = runner.lay_out(&c, &at).unwrap_or_else(|e| panic!("{runner}: {e}"));
        let text = &out.write[0].1;
        // The draft's own transaction lines stay; the runner's transaction is opted out of.
        assert!(text.contains("\nBEGIN;\n") && text.contains("\nCOMMIT;\n"), "{runner}: {text}");
        assert!(!text.starts_with("-- migrate:up\n"), "{runner}: {text}");
        let note = out.notes.iter().find(|n| n.contains("as written")).unwrap_or_else(|| panic!("{runner}: no note"));
        assert!(note.contains("before the draft's BEGIN run inside its transaction"), "{runner}: {note}");
    }
    // A runner that sends statements one by one runs them as psql does: nothing to say.
    let goose = Runner::Goose.lay_out(&c, &at).unwrap();
    assert!(goose.write[0].1.contains("-- +goose NO TRANSACTION\n") && goose.notes.is_empty());
}

#[test]
fn a_dry_run_after_statements_as_written_is_refused_by_a_one_query_runner() {
    let draft = TEMP_ACROSS_TRANSACTION.replace("COMMIT;", "ROLLBACK;");
    let c = compile("m/0002_a.sql", &draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    let e = Runner::Sqlx.lay_out(&c, &at).unwrap_err();
    assert!(e.contains("rolls back") && e.contains("before the draft's BEGIN"), "{e}");
    Runner::Goose.lay_out(&c, &at).unwrap();
}

#[test]
fn the_manifest_has_each_steps_timeouts() {
    let c = compile("m/0002_a.sql", TEMP_ACROSS_TRANSACTION, &Config::default()).unwrap();
    let manifest: serde_json::Value = serde_json::to_value(&c.manifest).unwrap();
    assert_eq!(manifest["steps"][0]["lock_timeout"], "100ms");
    assert_eq!(manifest["steps"][0]["statement_timeout"], "5s");
    let c = compile("m/0002_a.sql", "CREATE INDEX CONCURRENTLY i ON t (c);\n", &Config::default()).unwrap();
    let manifest: serde_json::Value = serde_json::to_value(&c.manifest).unwrap();
    assert!(manifest["steps"][0]["lock_timeout"].is_null(), "{manifest}");
}

#[test]
fn a_reworked_sqitch_change_gets_its_steps_after_its_last_line_and_its_verify_runs_last() {
    let c = compile("deploy/add_index.sql", DRAFT, &Config::default()).unwrap();
    assert!(c.steps().count() > 1);
    let mut at = Placement::fresh(std::path::Path::new("."), "add_index".into());
    // After `sqitch rework`, the first line is the released change (tagged @v1), the last the draft.
    let plan = "%syntax-version=1.0.0\n%project=shop\n\n\
                add_index 2024-01-01T12:00:00Z Ann <ann@example.com> # first\n\
                @v1 2024-01-01T13:00:00Z Ann <ann@example.com> # released\n\
                add_index [add_index@v1] 2024-01-02T12:00:00Z Ann <ann@example.com> # reworked\n";
    at.read.insert("sqitch.plan".into(), plan.into());
    at.read.insert("verify/add_index.sql".into(), "SELECT 1/count(*) FROM pg_index;\n".into());
    let out = Runner::Sqitch.lay_out(&c, &at).unwrap();
    let written = |p: &str| out.write.iter().find(|(path, _)| path == p).map(|(_, t)| t.clone()).unwrap_or_default();
    let lines: Vec<String> = written("sqitch.plan").lines().map(String::from).collect();
    let tag = lines.iter().position(|l| l.starts_with("@v1")).unwrap();
    let step2 = lines.iter().position(|l| l.starts_with("add_index_2 [add_index]")).unwrap();
    assert!(tag < step2 && lines[step2 - 1].contains("# reworked"), "{lines:#?}");
    let last = c.steps().count();
    assert_eq!(written(&format!("verify/add_index_{last}.sql")), "SELECT 1/count(*) FROM pg_index;\n");
    assert!(written("verify/add_index.sql").starts_with("-- pgsafe:"), "{:?}", out.write);
}

#[test]
fn goose_cuts_each_step_where_the_draft_is_cut() {
    // goose ends a statement at a line whose last word before a `--` comment ends in `;`: a `DO`
    // body's `…; -- comment` line was cut apart, and a `--` inside a string hid the `;` of a
    // step's last statement (goose then failed: unfinished SQL query).
    let draft = "-- +goose Up\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n\
                 COMMENT ON COLUMN orders.note IS 'free text -- may be empty';\n\
                 -- +goose StatementBegin\nDO $$\nBEGIN\n  INSERT INTO audit (msg) VALUES ('done'); -- record it\nEND $$;\n\
                 -- +goose StatementEnd\n";
    let c = compile("m/0002_a.sql", draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "0002_a.sql".into());
    let out = Runner::Goose.lay_out(&c, &at).unwrap();
    let all: String = out.write.iter().map(|(_, t)| t.as_str()).collect();
    for statement in ["COMMENT ON COLUMN orders.note", "DO $$"] {
        let at = all.find(statement).unwrap_or_else(|| panic!("{statement} lost:\n{all}"));
        assert!(all[..at].ends_with("-- +goose StatementBegin\n"), "{statement} is not guarded:\n{all}");
    }

    // Environment substitution would reach the SQL pgsafe writes: such a draft is refused whole.
    let envsub = draft.replace("-- +goose Up\n", "-- +goose ENVSUB ON\n-- +goose Up\n");
    let c = compile("m/0002_a.sql", &envsub, &Config::default()).unwrap();
    let e = Runner::Goose.lay_out(&c, &at).unwrap_err();
    assert!(e.contains("ENVSUB ON") && e.contains("does not lay out such a draft"), "{e}");
}

#[test]
fn prisma_steps_sort_between_the_draft_and_the_next_folder_by_name() {
    // Prisma runs folders in name order: after `20240102000000_a`, the steps `20240102000001_…`
    // sorted after an existing `20240102000000_b` and changed the order of the migrations.
    let c = compile("m/20240102000000_a/migration.sql", DRAFT, &Config::default()).unwrap();
    assert!(c.steps().count() > 1);
    let at = |next: &str| {
        let mut at = Placement::fresh(std::path::Path::new("m"), "20240102000000_a".into());
        at.existing = vec!["20240101000000_init".into(), next.into(), "migration_lock.toml".into()];
        at
    };
    let out = Runner::Prisma.lay_out(&c, &at("20240103000000_b")).unwrap();
    for (path, _) in &out.write {
        let folder = path.split('/').next().unwrap();
        assert!(("20240102000000_a".."20240103000000_b").contains(&folder), "{path}");
    }
    let e = Runner::Prisma.lay_out(&c, &at("20240102000000_b")).unwrap_err();
    assert!(e.contains("no room") && e.contains("20240102000000_b"), "{e}");
}

#[test]
fn dbmate_keeps_the_drafts_down_outside_a_transaction() {
    // `-- migrate:down transaction:false` lost its option on step 1: `dbmate rollback` then ran
    // `DROP INDEX CONCURRENTLY` in a transaction and failed (25001).
    let draft = format!(
        "-- migrate:up\n{DRAFT}\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY idx_orders_customer_id;\n"
    );
    let c = compile("m/20240101000000_a.sql", &draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "20240101000000_a.sql".into());
    let out = Runner::Dbmate.lay_out(&c, &at).unwrap();
    assert!(out.write.len() > 1);
    for (i, (path, text)) in out.write.iter().enumerate() {
        let down = text.lines().find(|l| l.starts_with("-- migrate:down")).unwrap_or_else(|| panic!("{path}: {text}"));
        // Later steps' downs are comments only: they need no option.
        let want = if i == 0 { "-- migrate:down transaction:false" } else { "-- migrate:down" };
        assert_eq!(down, want, "{path}: {text}");
    }
}

#[test]
fn goose_runs_the_drafts_down_in_the_drafts_transaction_mode() {
    // goose reads `NO TRANSACTION` for a whole file, Up and Down. Step 1 of this plan is a
    // transaction step, so its file lost the draft's `NO TRANSACTION` while it kept the draft's
    // Down: `goose down` would run `DROP INDEX CONCURRENTLY` in a transaction (25001). The other
    // way round, a transactional draft's Down ran statement by statement.
    let no_tx = "-- +goose NO TRANSACTION\n-- +goose Up\nALTER TABLE users ADD COLUMN flag boolean;\n\
                 CREATE INDEX CONCURRENTLY b_idx ON users (status);\n\n-- +goose Down\n\
                 DROP INDEX CONCURRENTLY b_idx;\nALTER TABLE users DROP COLUMN flag;\n";
    let in_tx = "-- +goose Up\nCREATE INDEX b_idx ON users (status);\nALTER TABLE users ADD COLUMN flag boolean;\n\n\
                 -- +goose Down\nALTER TABLE users DROP COLUMN flag;\nDROP INDEX b_idx;\n";
    for (draft, wants_no_tx) in [(no_tx, true), (in_tx, false)] {
        let c = compile("m/00002_b.sql", draft, &Config::default()).unwrap();
        let at = Placement::fresh(std::path::Path::new("m"), "00002_b.sql".into());
        let out = Runner::Goose.lay_out(&c, &at).unwrap();
        let holding: Vec<&(String, String)> =
            out.write.iter().filter(|(_, t)| t.contains("ALTER TABLE users DROP COLUMN flag")).collect();
        assert_eq!(holding.len(), 1, "{:#?}", out.write);
        let (path, text) = holding[0];
        assert_eq!(text.contains("-- +goose NO TRANSACTION"), wants_no_tx, "{path}:\n{text}");
        assert_eq!(path, "00002_b.sql", "the draft's Down stays under the draft's version");
        // Every statement of the draft is laid out once, in a file after it when it moved.
        for statement in ["ADD COLUMN flag boolean", "INDEX CONCURRENTLY b_idx ON users"] {
            let count = out.write.iter().filter(|(_, t)| t.contains(statement)).count();
            assert_eq!(count, 1, "{statement}: {:#?}", out.write);
        }
        let mut names: Vec<&str> = out.write.iter().map(|(p, _)| p.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names[0], "00002_b.sql", "{names:?}");
    }
}

#[test]
fn goose_keeps_a_temporary_table_that_empties_at_commit_in_its_transaction() {
    // goose runs the file in one transaction: the temporary table's rows (or the table, `ON
    // COMMIT DROP`) last until its end. The step keeping its statements together was laid out
    // `NO TRANSACTION`, each statement committing on its own: the rows were gone before the
    // UPDATE read them (0 orders flagged where goose's run of the draft flagged 950), and with
    // `ON COMMIT DROP` the plan failed (relation does not exist).
    for on_commit in ["DELETE ROWS", "DROP"] {
        let draft = format!(
            "-- +goose Up\nCREATE TEMP TABLE batch (id bigint) ON COMMIT {on_commit};\n\
             INSERT INTO batch SELECT id FROM orders WHERE amount > 120;\nALTER TABLE orders ADD COLUMN flagged boolean;\n\
             UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM batch);\n"
        );
        let c = compile("m/00002_flag.sql", &draft, &Config::default()).unwrap();
        let at = Placement::fresh(std::path::Path::new("m"), "00002_flag.sql".into());
        let out = Runner::Goose.lay_out(&c, &at).unwrap();
        assert_eq!(out.write.len(), 1, "{:#?}", out.write);
        let text = &out.write[0].1;
        assert!(!text.contains("NO TRANSACTION") && text.contains("UPDATE orders SET flagged"), "{text}");
    }
    // After a COMMIT of the draft's own, goose's transaction is over: statements commit one by one.
    let draft = "-- +goose Up\nCOMMIT;\nCREATE TEMP TABLE batch (id bigint) ON COMMIT DELETE ROWS;\n\
                 INSERT INTO batch SELECT id FROM orders WHERE amount > 120;\nALTER TABLE orders ADD COLUMN flagged boolean;\n\
                 UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM batch);\n";
    let c = compile("m/00002_flag.sql", draft, &Config::default()).unwrap();
    let at = Placement::fresh(std::path::Path::new("m"), "00002_flag.sql".into());
    let out = Runner::Goose.lay_out(&c, &at).unwrap();
    let holding = out.write.iter().find(|(_, t)| t.contains("CREATE TEMP TABLE batch")).unwrap();
    assert!(holding.1.contains("-- +goose NO TRANSACTION"), "{}", holding.1);
}
