//! The real runners on laid-out plans, against a real PostgreSQL 15 (the project's throwaway
//! cluster): for each runner that installs here, a project in its own layout with an earlier
//! migration and the draft, `pgsafe fix` (or `rewrite --runner`) on the draft, then the runner
//! itself applies everything; the final schema must equal the draft's applied with psql.
//!
//! graphile-migrate runs the steps `pgsafe fix` commits from `current.sql`, hash chain included.
//! diesel runs through its migration harness (built by .ci/install-runners) or its CLI.
//! A runner that is missing fails the test under CI=true (`.ci/run` installs them) and is
//! reported as skipped elsewhere. goose, golang-migrate, Flyway and Atlas cannot be installed on
//! this machine: `tests/runners.rs` checks their layouts against their documented rules.

use pgsafe::verify::cluster::Cluster;
use std::path::{Path, PathBuf};
use std::process::Command;

const INIT: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
                    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, user_id bigint, note text);\n\
                    INSERT INTO users SELECT g FROM generate_series(1, 50) g;\n\
                    INSERT INTO orders SELECT g, g % 7, 1 + g % 50, NULL FROM generate_series(1, 500) g;\n";

/// Every kind of step a runner must handle: a concurrent build (autocommit, alone), a batched
/// backfill (a DO loop that commits, autocommit), NOT VALID + VALIDATE (two transactions).
const DRAFT: &str = "-- Index the customer lookups, fill the notes, and link orders to users.
CREATE INDEX idx_orders_customer_id ON orders(customer_id);
UPDATE orders SET note = 'none' WHERE note IS NULL;
ALTER TABLE orders
ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users(id);
";

fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "no PostgreSQL under CI: {e:#}");
            eprintln!("skipped: no PostgreSQL: {e:#}");
            None
        }
    }
}

/// Is `tool` on PATH? Missing under CI=true is a failure.
fn have(tool: &str) -> bool {
    let found =
        std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()));
    if !found {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{tool} is missing: .ci/run installs it");
        eprintln!("skipped: {tool} is not installed");
    }
    found
}

fn python_has(module: &str) -> bool {
    let ok =
        Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "python module {module} is missing");
        eprintln!("skipped: python module {module} is not installed");
    }
    ok
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn pgsafe(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// The schema the draft gives when psql runs init and draft as written: the reference.
fn reference(pg: &Cluster) -> String {
    pg.create_database("reference", None).unwrap();
    pg.psql("reference", INIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("draft.sql");
    std::fs::write(&draft, DRAFT).unwrap();
    // The cluster's psql runs as the server's OS user: the file must be readable by it.
    set_readable(dir.path());
    pg.psql_file("reference", &draft).unwrap();
    pg.dump_schema("reference").unwrap()
}

fn set_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.to_path_buf()].into_iter().chain(walk(dir)) {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// Tables the runners keep their history in, left out of the comparison.
const HISTORY: &[&str] = &[
    "_sqlx_migrations",
    "schema_migrations",
    "alembic_version",
    "django_migrations",
    "__diesel_schema_migrations",
    "pgmigrations",
];

fn schema_without_history(pg: &Cluster, db: &str) -> String {
    for t in HISTORY {
        pg.psql(db, &format!("DROP TABLE IF EXISTS public.{t}")).unwrap();
    }
    pg.psql(db, "DROP SCHEMA IF EXISTS sqitch CASCADE").unwrap();
    pg.dump_schema(db).unwrap()
}

fn url(pg: &Cluster, db: &str) -> String {
    format!("{}?sslmode=disable", pg.url(db))
}

fn client_path() -> String {
    let bindir = pgsafe::verify::cluster::client_bindir().map(|p| p.display().to_string()).unwrap_or_default();
    format!("{bindir}:{}", std::env::var("PATH").unwrap_or_default())
}

#[test]
fn real_runners_apply_the_laid_out_plan_and_end_with_the_drafts_schema() {
    let Some(pg) = cluster() else { return };
    let want = reference(&pg);
    let mut ran = Vec::new();

    if have("dbmate") {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("db/migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(
            m.join("20240101000000_init.sql"),
            format!("-- migrate:up\n{INIT}\n-- migrate:down\nDROP TABLE orders, users;\n"),
        )
        .unwrap();
        let draft = m.join("20240102000000_orders.sql");
        std::fs::write(&draft, format!("-- migrate:up\n{DRAFT}\n-- migrate:down\nALTER TABLE orders DROP CONSTRAINT fk_orders_users;\nDROP INDEX idx_orders_customer_id;\n")).unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "db/migrations/20240102000000_orders.sql"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("dbmate's layout"), "{out}");
        pg.create_database("r_dbmate", None).unwrap();
        run(Command::new("dbmate").current_dir(dir.path()).args([
            "--no-dump-schema",
            "--url",
            &url(&pg, "r_dbmate"),
            "up",
        ]));
        assert_eq!(schema_without_history(&pg, "r_dbmate"), want, "dbmate");
        // And its rollback reaches the draft's own down section last.
        ran.push("dbmate");
    }

    if have("sqitch") {
        let dir = tempfile::tempdir().unwrap();
        for d in ["deploy", "revert", "verify"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("sqitch.conf"), "[core]\n\tengine = pg\n").unwrap();
        std::fs::write(
            dir.path().join("sqitch.plan"),
            "%syntax-version=1.0.0\n%project=shop\n\ninit 2024-01-01T00:00:00Z Ann <ann@example.com> # tables\n\
             orders 2024-01-02T00:00:00Z Ann <ann@example.com> # index, notes, fk\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("deploy/init.sql"), INIT).unwrap();
        std::fs::write(dir.path().join("revert/init.sql"), "DROP TABLE orders, users;\n").unwrap();
        std::fs::write(dir.path().join("deploy/orders.sql"), DRAFT).unwrap();
        std::fs::write(dir.path().join("revert/orders.sql"), "DROP INDEX idx_orders_customer_id;\n").unwrap();
        // It checks what the last step leaves (a validated key): `--verify` runs it after that step.
        std::fs::write(
            dir.path().join("verify/orders.sql"),
            "SELECT 1/count(*) FROM pg_constraint WHERE conname = 'fk_orders_users' AND convalidated;\n",
        )
        .unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "deploy/orders.sql"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("sqitch's layout"), "{out}");
        pg.create_database("r_sqitch", None).unwrap();
        run(Command::new("sqitch")
            .current_dir(dir.path())
            .env("PATH", client_path())
            .env("SQITCH_FULLNAME", "Test")
            .env("SQITCH_EMAIL", "test@example.com")
            .args(["deploy", "--verify", "--target", &format!("db:pg://postgres@127.0.0.1:{}/r_sqitch", pg.port())]));
        assert_eq!(schema_without_history(&pg, "r_sqitch"), want, "sqitch");
        ran.push("sqitch");
    }

    if python_has("alembic") && python_has("psycopg2") {
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("python3").current_dir(dir.path()).args(["-m", "alembic", "init", "alembic"]));
        let ini = dir.path().join("alembic.ini");
        let text = std::fs::read_to_string(&ini).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("sqlalchemy.url") {
                    format!(
                        "sqlalchemy.url = {}\n",
                        url(&pg, "r_alembic").replace("postgresql://", "postgresql+psycopg2://").replace('%', "%%")
                    )
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&ini, text).unwrap();
        std::fs::write(dir.path().join("init.sql"), INIT).unwrap();
        std::fs::write(dir.path().join("orders.sql"), DRAFT).unwrap();
        for f in ["init.sql", "orders.sql"] {
            let (code, out) = pgsafe(
                dir.path(),
                &["rewrite", f, "--runner", "alembic", "-o", "alembic/versions", "--diff-format", "none"],
            );
            assert_eq!(code, 0, "{out}");
        }
        pg.create_database("r_alembic", None).unwrap();
        run(Command::new("python3").current_dir(dir.path()).args(["-m", "alembic", "upgrade", "head"]));
        assert_eq!(schema_without_history(&pg, "r_alembic"), want, "alembic");
        ran.push("alembic");
    }

    if python_has("django") && python_has("psycopg2") {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("shop");
        std::fs::create_dir_all(app.join("migrations")).unwrap();
        std::fs::write(app.join("__init__.py"), "").unwrap();
        std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
        std::fs::write(
            dir.path().join("settings.py"),
            format!(
                "SECRET_KEY = 'test'\nINSTALLED_APPS = ['shop']\nUSE_TZ = True\nDATABASES = {{'default': {{'ENGINE': \
                 'django.db.backends.postgresql', 'NAME': 'r_django', 'USER': 'postgres', 'HOST': '127.0.0.1', 'PORT': \
                 '{}'}}}}\n",
                pg.port()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("init.sql"), INIT).unwrap();
        std::fs::write(dir.path().join("orders.sql"), DRAFT).unwrap();
        for f in ["init.sql", "orders.sql"] {
            let (code, out) = pgsafe(
                dir.path(),
                &["rewrite", f, "--runner", "django", "-o", "shop/migrations", "--diff-format", "none"],
            );
            assert_eq!(code, 0, "{out}");
        }
        pg.create_database("r_django", None).unwrap();
        run(Command::new("python3").current_dir(dir.path()).env("PYTHONPATH", dir.path()).args([
            "-m",
            "django",
            "migrate",
            "shop",
            "--settings=settings",
        ]));
        assert_eq!(schema_without_history(&pg, "r_django"), want, "django");
        ran.push("django");
    }

    // diesel: its migration harness (diesel_migrations, what `diesel migration run` calls), built by
    // .ci/install-runners; or the diesel CLI when it is installed.
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/diesel-migrate");
    let diesel = if harness.is_file() {
        Some(Command::new(&harness))
    } else if std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("diesel").is_file())) {
        Some(Command::new("diesel"))
    } else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{} is missing: .ci/install-runners builds it",
            harness.display()
        );
        eprintln!("skipped: neither diesel-migrate nor diesel is installed");
        None
    };
    if let Some(mut cmd) = diesel {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("migrations");
        for (folder, up, down) in [
            ("2024-01-01-000000_init", INIT, "DROP TABLE orders, users;\n"),
            ("2024-01-02-000000_orders", DRAFT, "DROP INDEX idx_orders_customer_id;\n"),
        ] {
            std::fs::create_dir_all(m.join(folder)).unwrap();
            std::fs::write(m.join(folder).join("up.sql"), up).unwrap();
            std::fs::write(m.join(folder).join("down.sql"), down).unwrap();
        }
        let (code, out) = pgsafe(dir.path(), &["fix", "migrations/2024-01-02-000000_orders/up.sql"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("diesel's layout"), "{out}");
        pg.create_database("r_diesel", None).unwrap();
        let url = url(&pg, "r_diesel");
        if cmd.get_program() == "diesel" {
            cmd.args(["migration", "run", "--database-url", &url, "--migration-dir", "migrations"]);
        } else {
            cmd.args([url.as_str(), "migrations"]);
        }
        run(cmd.current_dir(dir.path()));
        assert_eq!(schema_without_history(&pg, "r_diesel"), want, "diesel");
        ran.push("diesel");
    }

    if have("node-pg-migrate") {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("1690000000000_init.sql"), format!("-- Up Migration\n{INIT}")).unwrap();
        std::fs::write(
            m.join("1700000000000_orders.sql"),
            format!(
                "-- Up Migration\n{DRAFT}\n-- Down Migration\nALTER TABLE orders DROP CONSTRAINT fk_orders_users;\n\
                 DROP INDEX idx_orders_customer_id;\nUPDATE orders SET note = NULL;\n"
            ),
        )
        .unwrap();
        // A later migration, on the same connection: it must see the connection's timeouts, not
        // those of pgsafe's autocommit steps before it.
        std::fs::write(
            m.join("1710000000000_after.sql"),
            "-- Up Migration\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, \
             current_setting('statement_timeout') AS statement_timeout;\n",
        )
        .unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "migrations/1700000000000_orders.sql"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("node-pg-migrate's layout"), "{out}");
        pg.create_database("r_node_pg_migrate", None).unwrap();
        let node_pg_migrate = |db: &str, args: &[&str]| {
            run(Command::new("node-pg-migrate")
                .current_dir(dir.path())
                .env("DATABASE_URL", url(&pg, db))
                .env("PGOPTIONS", "-c lock_timeout=2s -c statement_timeout=60s")
                .args(args)
                .args(["-m", "migrations"]))
        };
        node_pg_migrate("r_node_pg_migrate", &["up"]);
        let seen = pg.psql("r_node_pg_migrate", "SELECT lock_timeout || ' ' || statement_timeout FROM seen").unwrap();
        assert!(seen.contains("2s 1min"), "node-pg-migrate: a later migration's timeouts: {seen}");
        pg.psql("r_node_pg_migrate", "DROP TABLE seen").unwrap();
        std::fs::remove_file(m.join("1710000000000_after.sql")).unwrap();
        assert_eq!(schema_without_history(&pg, "r_node_pg_migrate"), want, "node-pg-migrate");
        // Rolling the draft's steps back ends with the draft's own down part: init's schema again.
        pg.create_database("r_node_pg_migrate_init", None).unwrap();
        pg.psql("r_node_pg_migrate_init", INIT).unwrap();
        let init = pg.dump_schema("r_node_pg_migrate_init").unwrap();
        pg.create_database("r_node_pg_migrate_down", None).unwrap();
        node_pg_migrate("r_node_pg_migrate_down", &["up"]);
        let steps =
            std::fs::read_dir(&m).unwrap().filter(|e| e.as_ref().unwrap().path().extension() == Some("js".as_ref()));
        node_pg_migrate("r_node_pg_migrate_down", &["down", &steps.count().to_string()]);
        assert_eq!(schema_without_history(&pg, "r_node_pg_migrate_down"), init, "node-pg-migrate down");
        ran.push("node-pg-migrate");
    }

    eprintln!("real runners run: {}", ran.join(", "));
}

/// A step that keeps the draft's statements as written: a temporary table made outside the
/// draft's transaction and used inside it stays in one session, so its step holds several
/// statements and the draft's own `BEGIN`/`COMMIT`. Runners that send a file as one query
/// (dbmate, sqlx, diesel) get it outside their transaction, whole; PostgreSQL then draws the
/// statement before the draft's `BEGIN` into its transaction, and pgsafe says so.
const AS_WRITTEN: &str = "CREATE TEMP TABLE new_ids AS SELECT id FROM orders WHERE id % 3 = 0;
BEGIN;
ALTER TABLE orders ADD COLUMN flagged boolean;
UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM new_ids);
COMMIT;
CREATE INDEX idx_orders_customer_id ON orders(customer_id);
";

/// The schema and the flagged rows, runner history left out.
fn state(pg: &Cluster, db: &str) -> (String, String) {
    let flagged = pg.psql(db, "SELECT count(*) FILTER (WHERE flagged), count(*) FROM orders").unwrap();
    (schema_without_history(pg, db), flagged)
}

#[test]
fn steps_of_the_drafts_statements_as_written_run_under_one_query_runners() {
    let Some(pg) = cluster() else { return };
    pg.create_database("aw_reference", None).unwrap();
    pg.psql("aw_reference", INIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("draft.sql"), AS_WRITTEN).unwrap();
    set_readable(dir.path());
    pg.psql_file("aw_reference", &dir.path().join("draft.sql")).unwrap();
    let want = state(&pg, "aw_reference");
    let mut ran = Vec::new();

    if have("dbmate") {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("db/migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("20240101000000_init.sql"), format!("-- migrate:up\n{INIT}\n-- migrate:down\n")).unwrap();
        std::fs::write(m.join("20240102000000_flag.sql"), format!("-- migrate:up\n{AS_WRITTEN}\n-- migrate:down\n"))
            .unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "db/migrations/20240102000000_flag.sql"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("statement(s) before the draft's BEGIN run inside its transaction"), "{out}");
        let first = std::fs::read_to_string(m.join("20240102000000_flag.sql")).unwrap();
        assert!(first.starts_with("-- migrate:up transaction:false\n") && first.contains("\nBEGIN;\n"), "{first}");
        pg.create_database("aw_dbmate", None).unwrap();
        run(Command::new("dbmate").current_dir(dir.path()).args([
            "--no-dump-schema",
            "--url",
            &url(&pg, "aw_dbmate"),
            "up",
        ]));
        assert_eq!(state(&pg, "aw_dbmate"), want, "dbmate");
        ran.push("dbmate");
    }

    let sqlx = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/sqlx-migrate");
    if sqlx.is_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("20240101000000_init.sql"), INIT).unwrap();
        std::fs::write(m.join("20240102000000_flag.sql"), AS_WRITTEN).unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "--runner", "sqlx", "migrations/20240102000000_flag.sql"]);
        assert_eq!(code, 1, "{out}");
        let first = std::fs::read_to_string(m.join("20240102000000_flag.sql")).unwrap();
        assert!(first.starts_with("-- no-transaction\n"), "{first}");
        pg.create_database("aw_sqlx", None).unwrap();
        run(Command::new(&sqlx).arg(url(&pg, "aw_sqlx")).arg(&m));
        assert_eq!(state(&pg, "aw_sqlx"), want, "sqlx");
        ran.push("sqlx");
    } else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", sqlx.display());
    }

    let diesel = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/diesel-migrate");
    if diesel.is_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("migrations");
        for (folder, up) in [("2024-01-01-000000_init", INIT), ("2024-01-02-000000_flag", AS_WRITTEN)] {
            std::fs::create_dir_all(m.join(folder)).unwrap();
            std::fs::write(m.join(folder).join("up.sql"), up).unwrap();
            std::fs::write(m.join(folder).join("down.sql"), "SELECT 1;\n").unwrap();
        }
        let (code, out) = pgsafe(dir.path(), &["fix", "migrations/2024-01-02-000000_flag/up.sql"]);
        assert_eq!(code, 1, "{out}");
        let meta = std::fs::read_to_string(m.join("2024-01-02-000000_flag/metadata.toml")).unwrap();
        assert_eq!(meta, "run_in_transaction = false\n");
        pg.create_database("aw_diesel", None).unwrap();
        run(Command::new(&diesel).arg(url(&pg, "aw_diesel")).arg(&m));
        assert_eq!(state(&pg, "aw_diesel"), want, "diesel");
        ran.push("diesel");
    }

    if have("node-pg-migrate") {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("1690000000000_init.sql"), format!("-- Up Migration\n{INIT}")).unwrap();
        std::fs::write(m.join("1700000000000_flag.sql"), format!("-- Up Migration\n{AS_WRITTEN}")).unwrap();
        let (code, out) = pgsafe(dir.path(), &["fix", "migrations/1700000000000_flag.sql"]);
        assert_eq!(code, 1, "{out}");
        pg.create_database("aw_node_pg_migrate", None).unwrap();
        run(Command::new("node-pg-migrate")
            .current_dir(dir.path())
            .env("DATABASE_URL", url(&pg, "aw_node_pg_migrate"))
            .args(["up", "-m", "migrations"]));
        assert_eq!(state(&pg, "aw_node_pg_migrate"), want, "node-pg-migrate");
        ran.push("node-pg-migrate");
    }
    eprintln!("real runners run: {}", ran.join(", "));
}

#[test]
fn graphile_migrate_runs_the_committed_steps_and_checks_their_hash_chain() {
    let Some(pg) = cluster() else { return };
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/node_modules/.bin/graphile-migrate");
    if !bin.is_file() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", bin.display());
        eprintln!("skipped: graphile-migrate is not installed");
        return;
    }
    let want = reference(&pg);
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(m.join("committed")).unwrap();
    let hash = pgsafe::runner::graphile_migrate::hash(INIT, None);
    std::fs::write(m.join("committed/000001.sql"), format!("--! Previous: -\n--! Hash: {hash}\n\n{INIT}")).unwrap();
    std::fs::write(m.join("current.sql"), DRAFT).unwrap();
    pg.create_database("r_graphile", None).unwrap();
    std::fs::write(dir.path().join(".gmrc"), format!("{{ \"connectionString\": \"{}\" }}\n", url(&pg, "r_graphile")))
        .unwrap();
    let (code, out) = pgsafe(dir.path(), &["fix", "migrations/current.sql"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("graphile-migrate's layout"), "{out}");
    assert_eq!(std::fs::read_to_string(m.join("current.sql")).unwrap(), "-- Enter migration here\n");
    run(Command::new(&bin).current_dir(dir.path()).arg("migrate"));
    pg.psql("r_graphile", "DROP SCHEMA graphile_migrate CASCADE").unwrap();
    assert_eq!(schema_without_history(&pg, "r_graphile"), want, "graphile-migrate");
    // Its hash check is real: a step edited after the fact is refused.
    let step = std::fs::read_dir(m.join("committed")).unwrap().map(|e| e.unwrap().path()).max().unwrap();
    let text = std::fs::read_to_string(&step).unwrap();
    std::fs::write(&step, text.replace("VALIDATE", "  VALIDATE")).unwrap();
    pg.create_database("r_graphile_tampered", None).unwrap();
    std::fs::write(
        dir.path().join(".gmrc"),
        format!("{{ \"connectionString\": \"{}\" }}\n", url(&pg, "r_graphile_tampered")),
    )
    .unwrap();
    let out = Command::new(&bin).current_dir(dir.path()).arg("migrate").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && text.contains("does not match"), "a tampered step must be refused: {text}");
}

/// Drafts that mean what they mean only in the one transaction their runner runs them in: the
/// same `now()` read twice, and a key checked at the transaction's end.
const SAME_NOW: &str = "ALTER TABLE orders ADD COLUMN seen_at timestamptz;
CREATE TABLE seen (n bigint);
UPDATE orders SET seen_at = now() WHERE id % 5 = 0;
CREATE INDEX orders_seen_at_idx ON orders (seen_at);
INSERT INTO seen SELECT count(*) FROM orders WHERE seen_at = now();
";
const DEFERRED_KEY: &str =
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) \
DEFERRABLE INITIALLY DEFERRED;
INSERT INTO orders (id, user_id) VALUES (9001, 9001);
CREATE INDEX users_id_idx ON users (id);
INSERT INTO users (id) VALUES (9001);
";
/// The rows [`SAME_NOW`] and [`DEFERRED_KEY`] make: the orders seen at the same now(), then all.
const SEEN_AND_KEYED: &str = "(SELECT n FROM seen) || ' ' || (SELECT count(*) FROM orders)";
/// A temporary table whose rows go at each commit, filled and read in goose's transaction.
const EMPTIED_AT_COMMIT: &str = "CREATE TEMP TABLE batch (id bigint) ON COMMIT DELETE ROWS;
INSERT INTO batch SELECT id FROM orders WHERE id % 3 = 0;
ALTER TABLE orders ADD COLUMN flagged boolean;
UPDATE orders SET flagged = true WHERE id IN (SELECT id FROM batch);
";

/// The schema and `rows` (a query giving one text value), runner history left out.
fn state_with(pg: &Cluster, db: &str, rows: &str) -> (String, String) {
    let out = pg.psql(db, &format!("SELECT {rows} AS v")).unwrap();
    // The header, its rule, then the value.
    let value = out.lines().nth(2).unwrap_or_default().trim().to_string();
    (schema_without_history(pg, db), value)
}

/// The file of `dir` whose text holds `what`.
fn holding(dir: &Path, what: &str) -> Vec<PathBuf> {
    walk(dir).into_iter().filter(|p| p.is_file() && std::fs::read_to_string(p).unwrap().contains(what)).collect()
}

/// goose, simulated (it does not install here): each file's Up statements one by one, in one
/// transaction unless the file says `-- +goose NO TRANSACTION` (goose's `UseTx`). `dir` is in
/// the project `root`.
fn goose_up(pg: &Cluster, db: &str, root: &Path, dir: &Path) {
    let mut files: Vec<PathBuf> = walk(dir).into_iter().filter(|p| p.extension() == Some("sql".as_ref())).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let up = text.split("-- +goose Down").next().unwrap();
        let run =
            if up.contains("-- +goose NO TRANSACTION") { up.to_string() } else { format!("BEGIN;\n{up}\nCOMMIT;\n") };
        let sim = dir.join("goose_run.psql");
        std::fs::write(&sim, run).unwrap();
        set_readable(root);
        pg.psql_file(db, &sim).unwrap_or_else(|e| panic!("goose (simulated) on {}: {e:#}", f.display()));
        std::fs::remove_file(sim).unwrap();
    }
}

#[test]
fn a_runners_one_transaction_gives_the_plan_the_drafts_rows() {
    // Each runner here runs a file (dbmate: a `transaction:false` section sent whole) in one
    // transaction; the plan used to split what only holds there: sqlx's plan counted 0 rows
    // with the UPDATE's now() where its run of the draft counted 100, failed on the deferred
    // key, and goose's plan emptied the temporary table before the UPDATE read it.
    let Some(pg) = cluster() else { return };
    let mut ran = Vec::new();
    let two_projects = || {
        let (draft, plan) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        (draft, plan)
    };

    let sqlx = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/sqlx-migrate");
    if sqlx.is_file() {
        let (a, b) = two_projects();
        for dir in [a.path(), b.path()] {
            let m = dir.join("migrations");
            std::fs::create_dir_all(&m).unwrap();
            std::fs::write(m.join("20240101000000_init.sql"), INIT).unwrap();
            std::fs::write(m.join("20240102000000_seen.sql"), SAME_NOW).unwrap();
            std::fs::write(m.join("20240103000000_key.sql"), DEFERRED_KEY).unwrap();
        }
        let (code, out) = pgsafe(b.path(), &["fix", "--runner", "sqlx", "migrations/"]);
        assert_eq!(code, 1, "{out}");
        let m = b.path().join("migrations");
        assert_eq!(holding(&m, "SET seen_at = now()"), holding(&m, "INSERT INTO seen"), "one step");
        assert_eq!(holding(&m, "INSERT INTO orders"), holding(&m, "INSERT INTO users"), "one step");
        for (db, dir) in [("tx_sqlx_draft", a.path()), ("tx_sqlx_plan", b.path())] {
            pg.create_database(db, None).unwrap();
            run(Command::new(&sqlx).arg(url(&pg, db)).arg(dir.join("migrations")));
        }
        let want = state_with(&pg, "tx_sqlx_draft", SEEN_AND_KEYED);
        assert_eq!(want.1, "100 501", "the draft's rows");
        assert_eq!(state_with(&pg, "tx_sqlx_plan", SEEN_AND_KEYED), want, "sqlx");
        ran.push("sqlx");
    } else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", sqlx.display());
    }

    if have("dbmate") {
        let (a, b) = two_projects();
        for dir in [a.path(), b.path()] {
            let m = dir.join("db/migrations");
            std::fs::create_dir_all(&m).unwrap();
            std::fs::write(m.join("20240101000000_init.sql"), format!("-- migrate:up\n{INIT}\n-- migrate:down\n"))
                .unwrap();
            std::fs::write(
                m.join("20240102000000_seen.sql"),
                format!("-- migrate:up transaction:false\n{SAME_NOW}\n-- migrate:down\n"),
            )
            .unwrap();
            std::fs::write(
                m.join("20240103000000_key.sql"),
                format!("-- migrate:up\n{DEFERRED_KEY}\n-- migrate:down\n"),
            )
            .unwrap();
        }
        let (code, out) = pgsafe(b.path(), &["fix", "db/migrations/"]);
        assert_eq!(code, 1, "{out}");
        let m = b.path().join("db/migrations");
        assert_eq!(holding(&m, "SET seen_at = now()"), holding(&m, "INSERT INTO seen"), "one step");
        for (db, dir) in [("tx_dbmate_draft", a.path()), ("tx_dbmate_plan", b.path())] {
            pg.create_database(db, None).unwrap();
            run(Command::new("dbmate").current_dir(dir).args(["--no-dump-schema", "--url", &url(&pg, db), "up"]));
        }
        let want = state_with(&pg, "tx_dbmate_draft", SEEN_AND_KEYED);
        assert_eq!(want.1, "100 501", "the draft's rows");
        assert_eq!(state_with(&pg, "tx_dbmate_plan", SEEN_AND_KEYED), want, "dbmate");
        ran.push("dbmate");
    }

    let (a, b) = two_projects();
    for dir in [a.path(), b.path()] {
        let m = dir.join("migrations");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("00001_init.sql"), format!("-- +goose Up\n{INIT}")).unwrap();
        std::fs::write(m.join("00002_flag.sql"), format!("-- +goose Up\n{EMPTIED_AT_COMMIT}")).unwrap();
        let drop =
            EMPTIED_AT_COMMIT.replace("batch", "batch2").replace("DELETE ROWS", "DROP").replace("flagged", "picked");
        std::fs::write(m.join("00003_pick.sql"), format!("-- +goose Up\n{drop}")).unwrap();
    }
    let (code, out) = pgsafe(b.path(), &["fix", "migrations/"]);
    assert_eq!(code, 1, "{out}");
    for temp in ["batch ", "batch2 "] {
        let files = holding(&b.path().join("migrations"), &format!("CREATE TEMP TABLE {temp}"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(!text.contains("NO TRANSACTION"), "{text}");
    }
    for (db, dir) in [("tx_goose_draft", a.path()), ("tx_goose_plan", b.path())] {
        pg.create_database(db, None).unwrap();
        goose_up(&pg, db, dir, &dir.join("migrations"));
    }
    let flagged = "(SELECT count(*) FILTER (WHERE flagged) || ' ' || count(*) FILTER (WHERE picked) FROM orders)";
    let want = state_with(&pg, "tx_goose_draft", flagged);
    assert_eq!(want.1, "166 166", "the draft's rows");
    assert_eq!(state_with(&pg, "tx_goose_plan", flagged), want, "goose (simulated)");
    ran.push("goose (simulated)");
    eprintln!("runners run: {}", ran.join(", "));
}

/// A `SET LOCAL` with no `BEGIN`: the runner's one transaction holds it to the end of the file.
const LOCAL_TO_THE_END: &str = "SET LOCAL app.tag = 'kept';
CREATE INDEX orders_customer_idx ON orders (customer_id);
ALTER TABLE orders ADD COLUMN tag text;
UPDATE orders SET tag = current_setting('app.tag', true);
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
CREATE INDEX orders_tag_idx ON orders (tag);
";
/// The rows [`LOCAL_TO_THE_END`] tags with its setting, then all.
const TAGGED: &str = "(SELECT count(*) FILTER (WHERE tag = 'kept') || ' ' || count(*) FROM orders)";

#[test]
fn a_setting_the_runner_cannot_repeat_keeps_later_builds_in_its_step() {
    // sqlx and dbmate (`transaction:false` too: one query) hold a `SET LOCAL` with no `BEGIN` to
    // the end of the file, and a session `SET` to the end of the session, and every later step
    // repeats them; a concurrent build after one, a step such a runner sends alone, cannot
    // repeat it: `pgsafe fix` refused the draft (exit 2, its message naming the repeated `SET`
    // as the statement that needs no transaction).
    let Some(pg) = cluster() else { return };
    let mut ran = Vec::new();
    for (kind, draft) in
        [("local", LOCAL_TO_THE_END.to_string()), ("session", LOCAL_TO_THE_END.replacen("SET LOCAL", "SET", 1))]
    {
        setting_kept_under(&pg, kind, &draft, &mut ran);
    }
    eprintln!("runners run: {}", ran.join(", "));
}

/// [`a_setting_the_runner_cannot_repeat_keeps_later_builds_in_its_step`] for one draft, its
/// databases named after `kind`.
fn setting_kept_under(pg: &Cluster, kind: &str, draft: &str, ran: &mut Vec<String>) {
    let sqlx = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/sqlx-migrate");
    if sqlx.is_file() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [a.path(), b.path()] {
            let m = dir.join("migrations");
            std::fs::create_dir_all(&m).unwrap();
            std::fs::write(m.join("20240101000000_init.sql"), INIT).unwrap();
            std::fs::write(m.join("20240102000000_tag.sql"), draft).unwrap();
        }
        let (code, out) = pgsafe(b.path(), &["fix", "--runner", "sqlx", "migrations/"]);
        assert_eq!(code, 1, "{kind}: {out}");
        assert!(holding(&b.path().join("migrations"), "CONCURRENTLY").is_empty(), "{kind}: {out}");
        let (draft_db, plan_db) = (format!("{kind}_sqlx_draft"), format!("{kind}_sqlx_plan"));
        for (db, dir) in [(&draft_db, a.path()), (&plan_db, b.path())] {
            pg.create_database(db, None).unwrap();
            run(Command::new(&sqlx).arg(url(pg, db)).arg(dir.join("migrations")));
        }
        let want = state_with(pg, &draft_db, TAGGED);
        assert_eq!(want.1, "500 500", "the draft's rows ({kind})");
        assert_eq!(state_with(pg, &plan_db, TAGGED), want, "sqlx ({kind})");
        ran.push(format!("sqlx ({kind})"));
    } else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", sqlx.display());
    }

    if have("dbmate") {
        for (opt_out, marker) in [("tx", "-- migrate:up"), ("one_query", "-- migrate:up transaction:false")] {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            for dir in [a.path(), b.path()] {
                let m = dir.join("db/migrations");
                std::fs::create_dir_all(&m).unwrap();
                std::fs::write(m.join("20240101000000_init.sql"), format!("-- migrate:up\n{INIT}\n-- migrate:down\n"))
                    .unwrap();
                std::fs::write(m.join("20240102000000_tag.sql"), format!("{marker}\n{draft}\n-- migrate:down\n"))
                    .unwrap();
            }
            let (code, out) = pgsafe(b.path(), &["fix", "db/migrations/"]);
            assert_eq!(code, 1, "{kind} {opt_out}: {out}");
            assert!(holding(&b.path().join("db/migrations"), "CONCURRENTLY").is_empty(), "{kind} {opt_out}: {out}");
            let (draft, plan) = (format!("{kind}_dbmate_{opt_out}_draft"), format!("{kind}_dbmate_{opt_out}_plan"));
            for (db, dir) in [(&draft, a.path()), (&plan, b.path())] {
                pg.create_database(db, None).unwrap();
                run(Command::new("dbmate").current_dir(dir).args(["--no-dump-schema", "--url", &url(pg, db), "up"]));
            }
            let want = state_with(pg, &draft, TAGGED);
            assert_eq!(want.1, "500 500", "the draft's rows ({kind} {opt_out})");
            assert_eq!(state_with(pg, &plan, TAGGED), want, "dbmate ({kind} {opt_out})");
            ran.push(format!("dbmate ({kind} {opt_out})"));
        }
    }
}
