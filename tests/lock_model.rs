//! The IR's lock model agrees with what PostgreSQL 15 was measured to take
//! (`../shared/reference/pg15-locks.md`): for every measured statement pgsafe models, the strongest
//! lock it records on the target table is the strongest lock measured there.

mod common;

use pgsafe::ir::lock::LockMode;
use pgsafe::ir::migration::Migration;
use pgsafe::verify::cluster::Cluster;

fn mode(name: &str) -> Option<LockMode> {
    Some(match name.trim() {
        "AccessShare" => LockMode::AccessShare,
        "RowShare" => LockMode::RowShare,
        "RowExclusive" => LockMode::RowExclusive,
        "ShareUpdateExclusive" => LockMode::ShareUpdateExclusive,
        "Share" => LockMode::Share,
        "ShareRowExclusive" => LockMode::ShareRowExclusive,
        "Exclusive" => LockMode::Exclusive,
        "AccessExclusive" => LockMode::AccessExclusive,
        _ => return None,
    })
}

/// Statements whose lock pgsafe deliberately does not model on the table: index statements name
/// the index, not its table; catalog-only statements take no lock that matters for traffic.
const NOT_MODELLED: &[&str] = &[
    "DROP INDEX",
    "DROP INDEX CONCURRENTLY",
    "REINDEX INDEX",
    "REINDEX INDEX CONCURRENTLY",
    "GRANT",
    "CREATE TABLE",
    "CREATE TABLE with FK to orders",
    "ALTER TYPE enum ADD VALUE",
    // SHARE on the table, but ACCESS EXCLUSIVE on every index, which blocks SELECTs too (the
    // planner opens all indexes): pgsafe models that effect on traffic as ACCESS EXCLUSIVE.
    "REINDEX TABLE",
];

#[test]
fn lock_model_agrees_with_measurements_on_postgresql_15() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("../reference/pg15-locks.md");
    let table = std::fs::read_to_string(&path).expect("pg15-locks.md");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in table.lines().filter(|l| l.starts_with("| **")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let title = cells[1].trim_start_matches("**").split("**").next().unwrap_or_default();
        let sql = cells[1].split('`').nth(1).unwrap_or_default();
        if NOT_MODELLED.contains(&title) || sql.is_empty() {
            continue;
        }
        // "orders: AccessShare, ShareRowExclusive" → the strongest of those modes.
        let Some((target, modes)) = cells[2].split_once(':') else { continue };
        let Some(measured) = modes.split(',').filter_map(mode).max() else { continue };
        let pieces = pgsafe::front::split::split(sql).unwrap();
        let m = Migration::lower(sql, &pieces);
        let modelled = m.stmts[0]
            .ops
            .iter()
            .flat_map(|o| o.locks.iter())
            .filter(|l| l.table.base() == target.trim())
            .map(|l| l.mode)
            .max();
        checked += 1;
        if modelled != Some(measured) {
            wrong.push(format!("{title}: `{sql}` measured {measured:?}, modelled {modelled:?}"));
        }
    }
    assert!(checked >= 25, "the reference table was read ({checked} rows)");
    assert!(wrong.is_empty(), "lock model disagrees with measurements:\n{}", wrong.join("\n"));
}

/// Statements the reference table does not cover, checked against a real PostgreSQL 15: each runs
/// in a transaction on a throwaway database, and the strongest lock it holds on its table (from
/// `pg_locks`) must be the strongest lock pgsafe models on that table.
#[test]
fn lock_model_agrees_with_postgresql_15_on_triggers_policies_rules_and_more() {
    let cluster = Cluster::start().expect("a throwaway PostgreSQL cluster");
    cluster.create_database("locks", None).unwrap();
    let setup = "CREATE TABLE users (id bigserial PRIMARY KEY, email text);\n\
        CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint, status text, amount numeric);\n\
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
        CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();\n\
        CREATE POLICY orders_own ON orders USING (user_id = 1);\n\
        CREATE RULE orders_keep AS ON DELETE TO orders DO INSTEAD NOTHING;\n\
        CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(amount) AS total FROM orders GROUP BY user_id;\n\
        CREATE UNIQUE INDEX order_totals_user ON order_totals (user_id);\n\
        CREATE TABLE events (id int, at int) PARTITION BY RANGE (at);\n\
        CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10);\n\
        CREATE SEQUENCE order_numbers;\n\
        CREATE VIEW order_view AS SELECT * FROM orders;\n\
        CREATE INDEX orders_status ON orders (status);\n\
        CREATE INDEX orders_lower_status ON orders (lower(status));\n\
        CREATE INDEX orders_words ON orders USING gin (to_tsvector('simple', status));\n\
        CREATE INDEX orders_ids ON orders USING brin (id);\n\
        CREATE SCHEMA app;\n\
        CREATE ROLE lock_model_owner;\n\
        CREATE TYPE shipment_state AS ENUM ('new', 'sent');\n\
        CREATE TYPE address AS (street text, zip int);\n\
        CREATE TABLE shipments (id int, state shipment_state, dest address);\n";
    let work = tempfile::tempdir().unwrap();
    let setup_file = work.path().join("setup.sql");
    std::fs::write(&setup_file, setup).unwrap();
    cluster.psql_file("locks", &setup_file).unwrap();
    let cases = [
        ("CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch()", "orders"),
        (
            "CREATE OR REPLACE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
            "orders",
        ),
        ("DROP TRIGGER orders_touch ON orders", "orders"),
        ("DROP TRIGGER IF EXISTS orders_touch ON public.orders CASCADE", "orders"),
        ("ALTER TABLE orders DISABLE TRIGGER orders_touch", "orders"),
        ("ALTER TABLE orders ENABLE TRIGGER ALL", "orders"),
        ("ALTER TABLE orders DISABLE TRIGGER USER", "orders"),
        ("ALTER TABLE orders ENABLE ALWAYS TRIGGER orders_touch", "orders"),
        ("CREATE POLICY orders_paid ON orders FOR SELECT USING (status = 'paid')", "orders"),
        ("ALTER POLICY orders_own ON orders USING (user_id = 2)", "orders"),
        ("DROP POLICY orders_own ON orders", "orders"),
        ("DROP POLICY IF EXISTS orders_own ON orders", "orders"),
        ("ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "orders"),
        ("CREATE RULE orders_no_delete AS ON DELETE TO orders DO INSTEAD NOTHING", "orders"),
        ("DROP RULE orders_keep ON orders", "orders"),
        ("DROP RULE IF EXISTS orders_keep ON public.orders CASCADE", "orders"),
        ("REFRESH MATERIALIZED VIEW order_totals", "order_totals"),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals", "order_totals"),
        ("LOCK TABLE orders IN SHARE MODE", "orders"),
        ("LOCK orders", "orders"),
        ("LOCK TABLE ONLY orders, users IN ROW EXCLUSIVE MODE NOWAIT", "users"),
        ("ALTER TABLE orders ALTER COLUMN status SET STATISTICS 500", "orders"),
        ("ALTER TABLE orders ALTER COLUMN amount SET (n_distinct = 100)", "orders"),
        ("ALTER TABLE orders ALTER COLUMN status SET STORAGE EXTERNAL", "orders"),
        ("ALTER TABLE orders SET (fillfactor = 80)", "orders"),
        ("ALTER TABLE orders CLUSTER ON orders_pkey", "orders"),
        ("COMMENT ON TABLE orders IS 'x'", "orders"),
        // Every insert drawing from the sequence queues behind it (found by this pass's probe).
        ("ALTER SEQUENCE order_numbers RESTART WITH 100", "order_numbers"),
        ("ALTER SEQUENCE IF EXISTS public.order_numbers INCREMENT BY 2", "order_numbers"),
        ("ALTER SEQUENCE order_numbers OWNER TO CURRENT_USER", "order_numbers"),
        ("ALTER SEQUENCE order_numbers SET LOGGED", "order_numbers"),
        // It waits for every transaction that called its nextval(), and every later nextval() for it.
        ("DROP SEQUENCE order_numbers", "order_numbers"),
        ("DROP SEQUENCE IF EXISTS nothing_here, public.order_numbers CASCADE", "order_numbers"),
        // Every query of the view queues behind it.
        ("ALTER VIEW order_view ALTER COLUMN status SET DEFAULT 'new'", "order_view"),
        ("ALTER VIEW IF EXISTS order_view SET (security_barrier = true)", "order_view"),
        ("ALTER VIEW order_view OWNER TO CURRENT_USER", "order_view"),
        ("CREATE OR REPLACE VIEW order_view AS SELECT * FROM orders", "order_view"),
        ("DROP VIEW order_view", "order_view"),
        ("DROP VIEW IF EXISTS nothing_here, public.order_view CASCADE", "order_view"),
        ("DROP MATERIALIZED VIEW order_totals", "order_totals"),
        ("ALTER MATERIALIZED VIEW order_totals RENAME TO order_sums", "order_totals"),
        ("ALTER MATERIALIZED VIEW IF EXISTS order_totals SET (fillfactor = 90)", "order_totals"),
        ("ALTER MATERIALIZED VIEW order_totals ALTER COLUMN total SET STATISTICS 100", "order_totals"),
        // A new partition locks its parent (found by a probe: writes queued behind it).
        ("CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (10) TO (20)", "events"),
        ("CREATE TABLE IF NOT EXISTS events_3 PARTITION OF public.events FOR VALUES FROM (20) TO (30)", "events"),
        // The lock is on the index alone (never its table): every query planned on the table
        // opens its indexes, so ACCESS EXCLUSIVE on one makes reads and writes wait.
        ("ALTER INDEX orders_status SET (fillfactor = 70)", "orders_status"),
        ("ALTER INDEX IF EXISTS public.orders_status SET (fillfactor = 70, deduplicate_items = off)", "orders_status"),
        ("ALTER INDEX orders_status RESET (fillfactor)", "orders_status"),
        ("ALTER INDEX orders_words SET (fastupdate = off)", "orders_words"),
        ("ALTER INDEX orders_words RESET (gin_pending_list_limit)", "orders_words"),
        ("ALTER INDEX orders_ids SET (pages_per_range = 64)", "orders_ids"),
        ("ALTER INDEX orders_ids SET (autosummarize = on)", "orders_ids"),
        ("ALTER INDEX orders_status SET TABLESPACE pg_default", "orders_status"),
        ("ALTER INDEX orders_status SET (fillfactor = 70), SET TABLESPACE pg_default", "orders_status"),
        ("ALTER INDEX orders_lower_status ALTER COLUMN 1 SET STATISTICS 100", "orders_lower_status"),
        ("ALTER INDEX orders_lower_status ALTER 1 SET STATISTICS -1", "orders_lower_status"),
        ("ALTER INDEX orders_status DEPENDS ON EXTENSION plpgsql", "orders_status"),
        ("ALTER INDEX orders_status NO DEPENDS ON EXTENSION plpgsql", "orders_status"),
        ("ALTER INDEX orders_status SET (fillfactor = 70)", "orders"),
        ("ALTER INDEX orders_status SET TABLESPACE pg_default", "orders"),
        // What pg_dump says of every type, and the other `ALTER TYPE` forms: no lock on a table
        // whose column has the type. (A composite type's own relation is held ACCESS EXCLUSIVE,
        // which no statement holds longer than a catalogue lookup: see `ir::lower_type`.)
        ("ALTER TYPE shipment_state OWNER TO lock_model_owner", "shipments"),
        ("ALTER TYPE public.address OWNER TO lock_model_owner", "shipments"),
        ("ALTER TYPE shipment_state SET SCHEMA app", "shipments"),
        ("ALTER TYPE address SET SCHEMA app", "shipments"),
        ("ALTER TYPE shipment_state RENAME TO shipment_phase", "shipments"),
        ("ALTER TYPE address RENAME TO place", "shipments"),
        ("ALTER TYPE shipment_state RENAME VALUE 'sent' TO 'shipped'", "shipments"),
        ("ALTER TYPE address RENAME ATTRIBUTE zip TO postcode RESTRICT", "shipments"),
        ("ALTER TYPE address ADD ATTRIBUTE city text", "shipments"),
        ("ALTER TYPE address DROP ATTRIBUTE IF EXISTS street RESTRICT", "shipments"),
    ];
    let mut wrong = Vec::new();
    for (n, (sql, table)) in cases.iter().enumerate() {
        let file = work.path().join(format!("case{n}.sql"));
        std::fs::write(
            &file,
            format!(
                "BEGIN;\nSELECT '{table}'::regclass::oid AS locked \\gset\n{sql};\n\\pset tuples_only on\n\\pset format \
                 unaligned\nSELECT string_agg(mode, ',') FROM pg_locks WHERE relation = :locked AND pid = pg_backend_pid() \
                 AND granted;\nROLLBACK;\n"
            ),
        )
        .unwrap();
        let held = cluster.psql_file("locks", &file).unwrap_or_else(|e| panic!("{sql}: {e:#}"));
        let measured = held.split(',').filter_map(|m| mode(m.trim().trim_end_matches("Lock"))).max();
        let pieces = pgsafe::front::split::split(sql).unwrap();
        let m = Migration::lower(sql, &pieces);
        let modelled = m.stmts[0]
            .ops
            .iter()
            .flat_map(|o| o.locks.iter())
            .filter(|l| l.table.base() == *table)
            .map(|l| l.mode)
            .max();
        if modelled != measured {
            wrong.push(format!(
                "`{sql}` on {table}: PostgreSQL 15 holds {measured:?} ({}), pgsafe models {modelled:?}",
                held.trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "lock model disagrees with PostgreSQL 15:\n{}", wrong.join("\n"));
}

/// `ALTER INDEX ALL IN TABLESPACE` names no index: PostgreSQL 15 holds ACCESS EXCLUSIVE on every
/// index it moves and no lock on their tables; pgsafe models that lock on a stand-in for the
/// indexes (no table of the draft's), so the statement waits under `lock_timeout`.
#[test]
fn lock_model_agrees_with_postgresql_15_on_moving_every_index_of_a_tablespace() {
    let every_index = "\"(every index in tablespace pg_default";
    let moved: &[&str] = &["order_counts_status", "orders_pkey", "users_email", "users_pkey"];
    agrees_on_moves(&[
        ("ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE lock_model_space", moved, every_index),
        ("ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE lock_model_space NOWAIT", moved, every_index),
        (
            "ALTER INDEX ALL IN TABLESPACE pg_default OWNED BY lock_model_mover SET TABLESPACE lock_model_space",
            &["orders_pkey"],
            every_index,
        ),
    ]);
}

/// `ALTER TABLE ALL IN TABLESPACE` and `ALTER MATERIALIZED VIEW ALL IN TABLESPACE` name no
/// relation: PostgreSQL 15 holds ACCESS EXCLUSIVE on every table (or materialized view) it moves
/// and no lock on their indexes, which stay where they are; pgsafe models that lock on a stand-in
/// (no table of the draft's), so the statement waits under `lock_timeout`.
#[test]
fn lock_model_agrees_with_postgresql_15_on_moving_every_table_and_materialized_view_of_a_tablespace() {
    let every_table = "\"(every table in tablespace pg_default";
    let every_view = "\"(every materialized view in tablespace pg_default";
    agrees_on_moves(&[
        ("ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE lock_model_space", &["orders", "users"], every_table),
        (
            "alter table all in tablespace pg_default set tablespace lock_model_space nowait",
            &["orders", "users"],
            every_table,
        ),
        (
            "ALTER TABLE ALL IN TABLESPACE pg_default OWNED BY lock_model_mover SET TABLESPACE lock_model_space",
            &["orders"],
            every_table,
        ),
        (
            "ALTER MATERIALIZED VIEW ALL IN TABLESPACE pg_default SET TABLESPACE lock_model_space",
            &["order_counts", "user_count"],
            every_view,
        ),
        (
            "ALTER MATERIALIZED VIEW ALL IN TABLESPACE pg_default OWNED BY lock_model_mover SET TABLESPACE \
             lock_model_space NOWAIT",
            &["user_count"],
            every_view,
        ),
    ]);
}

/// Each statement, run in a transaction on PostgreSQL 15, holds ACCESS EXCLUSIVE on the relations
/// of `public` it names (and on no other), and pgsafe models ACCESS EXCLUSIVE, with a scan, on
/// its stand-in alone (its name starting with the prefix given).
fn agrees_on_moves(cases: &[(&str, &[&str], &str)]) {
    let cluster = Cluster::start().expect("a throwaway PostgreSQL cluster");
    cluster.create_database("moves", None).unwrap();
    // An in-place tablespace (PostgreSQL 15) needs no directory of the server's user.
    let setup = "SET allow_in_place_tablespaces = on;\n\
        CREATE TABLESPACE lock_model_space LOCATION '';\n\
        CREATE ROLE lock_model_mover;\n\
        CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
        CREATE INDEX users_email ON users (email);\n\
        CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n\
        ALTER TABLE orders OWNER TO lock_model_mover;\n\
        CREATE MATERIALIZED VIEW order_counts AS SELECT status, count(*) AS n FROM orders GROUP BY status;\n\
        CREATE UNIQUE INDEX order_counts_status ON order_counts (status);\n\
        CREATE MATERIALIZED VIEW user_count AS SELECT count(*) AS n FROM users;\n\
        ALTER MATERIALIZED VIEW user_count OWNER TO lock_model_mover;\n";
    let work = tempfile::tempdir().unwrap();
    let setup_file = work.path().join("setup.sql");
    std::fs::write(&setup_file, setup).unwrap();
    cluster.psql_file("moves", &setup_file).unwrap();
    let mut wrong = Vec::new();
    for (n, &(sql, moved, stand_in)) in cases.iter().enumerate() {
        let file = work.path().join(format!("move{n}.sql"));
        std::fs::write(
            &file,
            format!(
                "BEGIN;\n{sql};\n\\pset tuples_only on\n\\pset format unaligned\nSELECT string_agg(c.relname || ':' || \
                 l.mode, ',' ORDER BY c.relname) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = \
                 pg_backend_pid() AND l.granted AND c.relnamespace = 'public'::regnamespace;\nROLLBACK;\n"
            ),
        )
        .unwrap();
        let held = cluster.psql_file("moves", &file).unwrap_or_else(|e| panic!("{sql}: {e:#}"));
        let held: Vec<(&str, Option<LockMode>)> = held
            .trim()
            .split(',')
            .filter_map(|l| l.split_once(':'))
            .map(|(rel, m)| (rel, mode(m.trim_end_matches("Lock"))))
            .collect();
        let on: Vec<&str> = held.iter().map(|(rel, _)| *rel).collect();
        let all_exclusive = held.iter().all(|(_, m)| *m == Some(LockMode::AccessExclusive));
        if on != *moved || !all_exclusive {
            wrong.push(format!("`{sql}`: PostgreSQL 15 held {held:?}, expected ACCESS EXCLUSIVE on {moved:?} alone"));
        }
        let pieces = pgsafe::front::split::split(sql).unwrap();
        let m = Migration::lower(sql, &pieces);
        let locks: Vec<_> = m.stmts[0].ops.iter().flat_map(|o| o.locks.iter()).collect();
        let on_stand_in = !locks.is_empty() && locks.iter().all(|l| l.table.text.starts_with(stand_in));
        let modelled = locks.iter().map(|l| l.mode).max();
        if !on_stand_in || modelled != Some(LockMode::AccessExclusive) || !locks.iter().all(|l| l.scans) {
            wrong
                .push(format!("`{sql}`: pgsafe models {locks:?}, not ACCESS EXCLUSIVE on the stand-in {stand_in}…)\""));
        }
    }
    assert!(wrong.is_empty(), "lock model disagrees with PostgreSQL 15:\n{}", wrong.join("\n"));
}
