//! Integration tests of `pgsafe::verify::cluster` against a real PostgreSQL server.
//!
//! These tests never skip: without server binaries they fail with the message that says how to
//! install them.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pgsafe::verify::cluster::{Cluster, ClusterOptions};

fn start() -> Cluster {
    let began = Instant::now();
    let cluster = Cluster::start().unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "cluster {} (PostgreSQL {}, port {}) started in {:?} (measured by the caller: {:?})",
        cluster.dir().display(),
        cluster.version(),
        cluster.port(),
        cluster.startup_time(),
        began.elapsed()
    );
    cluster
}

fn write_sql(dir: &tempfile::TempDir, name: &str, sql: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, sql).unwrap();
    path
}

/// The single value of a one-row, one-column query (psql's aligned output: header, rule, value).
fn scalar(c: &Cluster, db: &str, sql: &str) -> String {
    let out = c.psql(db, sql).unwrap();
    out.lines().nth(2).unwrap_or_else(|| panic!("no value in {out:?}")).trim().to_owned()
}

fn accepts_connections(port: u16) -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[test]
fn dumps_show_schema_differences_between_databases() {
    let c = start();
    assert!(c.version().parse::<u32>().is_ok(), "version {:?}", c.version());
    let server_version = scalar(&c, "postgres", "SHOW server_version_num");
    assert!(server_version.starts_with(c.version()), "{server_version:?} vs {}", c.version());
    assert!(c.bindir().join("initdb").exists());
    assert_eq!(c.url("app"), format!("postgresql://postgres@127.0.0.1:{}/app", c.port()));
    // The speed settings are in effect.
    let settings = scalar(
        &c,
        "postgres",
        "SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings \
         WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'autovacuum', 'listen_addresses')",
    );
    assert_eq!(
        settings,
        "autovacuum=off,fsync=off,full_page_writes=off,listen_addresses=127.0.0.1,synchronous_commit=off"
    );

    // A template with a table, and two databases made from it.
    c.create_database("tpl", None).unwrap();
    c.psql("tpl", "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, note text)").unwrap();
    for db in ["a", "b", "c"] {
        c.create_database(db, Some("tpl")).unwrap();
    }
    let base_dump = c.dump_schema("a").unwrap();
    assert!(base_dump.contains("CREATE TABLE public.orders ("), "{base_dump}");
    assert_eq!(base_dump, c.dump_schema("b").unwrap());
    for line in base_dump.lines() {
        assert!(
            !line.is_empty()
                && !line.starts_with("--")
                && !line.starts_with("SET ")
                && !line.starts_with("SELECT pg_catalog.set_config")
                && !line.starts_with('\\'),
            "normalisation left {line:?}"
        );
    }

    let files = tempfile::tempdir().unwrap();
    // psql -f runs statement by statement in autocommit, so CONCURRENTLY works as in production.
    let index_only = write_sql(
        &files,
        "index_only.sql",
        "-- draft\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n",
    );
    let index_and_column = write_sql(
        &files,
        "index_and_column.sql",
        "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n\
         ALTER TABLE orders ADD COLUMN email text;\n",
    );
    c.psql_file("a", &index_and_column).unwrap();
    c.psql_file("b", &index_only).unwrap();
    c.psql_file("c", &index_and_column).unwrap();

    let a = c.dump_schema("a").unwrap();
    let b = c.dump_schema("b").unwrap();
    let c_dump = c.dump_schema("c").unwrap();
    assert_ne!(a, b);
    assert!(a.contains("email text"), "{a}");
    assert!(!b.contains("email text"), "{b}");
    assert!(b.contains("CREATE INDEX orders_customer_idx ON public.orders"), "{b}");
    assert_eq!(a, c_dump, "same DDL must give identical dumps");
    assert_ne!(a, base_dump);

    // Dropping a database works even with the template in use elsewhere.
    c.drop_database("b").unwrap();
    let err = c.dump_schema("b").unwrap_err();
    assert!(format!("{err:#}").contains("database \"b\" does not exist"), "{err:#}");
}

#[test]
fn failing_sql_reports_the_postgres_error() {
    let c = start();
    c.create_database("app", None).unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = write_sql(
        &files,
        "broken.sql",
        "CREATE TABLE first (id int);\n\
         ALTER TABLE missing_table ADD COLUMN y int;\n\
         CREATE TABLE never (id int);\n",
    );
    let err = c.psql_file("app", &file).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("ERROR:  relation \"missing_table\" does not exist"), "{msg}");
    assert!(msg.contains("broken.sql:2"), "psql's stderr names the line: {msg}");
    // Autocommit: the first statement stays; ON_ERROR_STOP: the third never ran.
    let tables = scalar(
        &c,
        "app",
        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('first', 'never')",
    );
    assert_eq!(tables, "first");

    let err = c.psql("app", "SELEC 1").unwrap_err();
    assert!(format!("{err:#}").contains("syntax error at or near \"SELEC\""), "{err:#}");
    let err = c.create_database("app", None).unwrap_err();
    assert!(format!("{err:#}").contains("database \"app\" already exists"), "{err:#}");
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let c = start();
    let dir = c.dir().to_path_buf();
    let port = c.port();
    assert!(dir.join("data/PG_VERSION").exists());
    assert!(accepts_connections(port));
    if is_root() {
        let owner = std::fs::metadata(c.data_dir()).unwrap().uid();
        assert_ne!(owner, 0, "the data directory must not belong to root");
    }
    drop(c);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!accepts_connections(port), "port {port} still accepts connections");
}

#[test]
fn drop_cleans_up_after_a_panic() {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, u16)>();
    let result = std::thread::spawn(move || {
        let c = start();
        tx.send((c.dir().to_path_buf(), c.port())).unwrap();
        panic!("test failure while the cluster is up");
    })
    .join();
    assert!(result.is_err());
    let (dir, port) = rx.recv().unwrap();
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!accepts_connections(port), "port {port} still accepts connections");
}

#[test]
fn drop_kills_the_server_when_pg_ctl_cannot_stop_it() {
    let c = start();
    let dir = c.dir().to_path_buf();
    let port = c.port();
    // pg_ctl refuses to act on a pid file it cannot read; Drop must still stop the server.
    std::fs::write(c.data_dir().join("postmaster.pid"), "garbage\n").unwrap();
    drop(c);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!accepts_connections(port), "port {port} still accepts connections");
}

#[test]
fn parallel_clusters_are_private() {
    let clusters: Vec<Cluster> =
        (0..3).map(|_| std::thread::spawn(start)).collect::<Vec<_>>().into_iter().map(|h| h.join().unwrap()).collect();
    let mut ports: Vec<u16> = clusters.iter().map(Cluster::port).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    let mut dirs: Vec<&Path> = clusters.iter().map(Cluster::dir).collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 3);
    for (i, c) in clusters.iter().enumerate() {
        c.psql("postgres", &format!("CREATE TABLE only_in_{i} (id int)")).unwrap();
    }
    for (i, c) in clusters.iter().enumerate() {
        let tables =
            scalar(c, "postgres", "SELECT string_agg(relname, ',') FROM pg_class WHERE relname LIKE 'only_in_%'");
        assert_eq!(tables, format!("only_in_{i}"));
    }
}

#[test]
fn missing_binaries_give_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let err =
        Cluster::start_with(&ClusterOptions { bindir: Some(empty.path().to_path_buf()), ..ClusterOptions::default() })
            .unwrap_err();
    let msg = format!("{err:#}");
    for needle in
        ["PostgreSQL server binaries not found", "initdb", "apt-get install postgresql-15", "PGSAFE_PG_BINDIR", "URL"]
    {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
}

#[test]
fn startup_failure_quotes_the_server_log_and_cleans_up() {
    let err = Cluster::start_with(&ClusterOptions {
        settings: vec![("shared_buffers".into(), "'lots'".into())],
        ..ClusterOptions::default()
    })
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("the PostgreSQL server did not start"), "{msg}");
    assert!(msg.contains("last lines of the server log"), "{msg}");
    assert!(msg.contains("invalid value for parameter \"shared_buffers\""), "{msg}");
    // The message names the data directory; it is gone.
    let data = msg
        .split("data ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no data dir in {msg}"));
    assert!(!Path::new(data).exists(), "{data} still exists");
}

#[test]
fn extra_settings_and_autovacuum_option() {
    let c = Cluster::start_with(&ClusterOptions {
        autovacuum: true,
        settings: vec![("lock_timeout".into(), "'2s'".into())],
        ..ClusterOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let out = scalar(&c, "postgres", "SELECT current_setting('autovacuum') || '/' || current_setting('lock_timeout')");
    assert_eq!(out, "on/2s");
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}
