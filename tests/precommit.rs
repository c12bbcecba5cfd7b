//! The real `pre-commit` framework (PyPI) on a scratch git repository whose migrations use the
//! sqlx layout: committing a draft that needs a rewrite is stopped, the hook has fixed the files
//! in sqlx's layout, the second commit passes, and sqlx's own migrator (the `sqlx` library that
//! sqlx-cli runs, built by `.ci/install-runners` as `target/ci-tools/bin/sqlx-migrate`) applies
//! the fixed files to a real PostgreSQL 15.
//!
//! The hook is the one `.pre-commit-hooks.yaml` defines (same id, entry and file pattern), taken
//! from a `repo: local` entry with `language: system` so that the test uses the pgsafe it just
//! built; a consumer's `repo:` entry installs pgsafe with `language: rust` (cargo install).

use std::path::{Path, PathBuf};
use std::process::Command;

const INIT: &str = "CREATE TABLE users (id bigint PRIMARY KEY);\n\
                    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, user_id bigint);\n";
const DRAFT: &str = "CREATE INDEX idx_orders_customer_id ON orders(customer_id);\n\
                     ALTER TABLE orders ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users(id);\n";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap()
}

/// The hook as `.pre-commit-hooks.yaml` defines it: (entry, files).
fn hook(id: &str) -> (String, String) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml")).unwrap();
    let block: Vec<&str> = text
        .split("- id: ")
        .find(|b| b.lines().next() == Some(id))
        .unwrap_or_else(|| panic!("no hook {id}"))
        .lines()
        .collect();
    let field =
        |k: &str| block.iter().find_map(|l| l.trim().strip_prefix(&format!("{k}: ")).map(str::to_string)).unwrap();
    assert_eq!(field("language"), "rust", "pre-commit installs the hook as a Rust hook");
    (field("entry"), field("files"))
}

/// pre-commit names every staged `.sql` file: both hooks apply pgsafe.toml's include/exclude to
/// them, so an sqlc query file or a seed file is never rewritten.
#[test]
fn both_hooks_pass_force_exclude() {
    for id in ["pgsafe", "pgsafe-check"] {
        let (entry, _) = hook(id);
        assert!(entry.split_whitespace().any(|w| w == "--force-exclude"), "{id}: {entry}");
    }
}

/// Is the pre-commit framework installed? Outside CI a test without it says it skipped; under
/// `CI=true` its absence fails (`.ci/install-runners` installs it).
fn have_pre_commit() -> bool {
    let have =
        Command::new("python3").args(["-m", "pre_commit", "--version"]).output().is_ok_and(|o| o.status.success());
    if !have {
        assert!(!ci(), "pre-commit is missing: .ci/install-runners installs it");
        eprintln!("skipped: pre-commit is not installed");
    }
    have
}

#[test]
fn pre_commit_stops_the_commit_fixes_in_sqlx_layout_and_the_second_commit_passes() {
    if !have_pre_commit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(git(root, &["init", "-q"]).status.success());
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"shop\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::write(root.join("migrations/20240101000000_init.sql"), INIT).unwrap();
    let (entry, files) = hook("pgsafe");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pgsafe"));
    let entry = entry.replacen("pgsafe", &bin.display().to_string(), 1);
    std::fs::write(
        root.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: local\n    hooks:\n      - id: pgsafe\n        name: pgsafe\n        entry: {entry}\n        \
             language: system\n        files: {files}\n"
        ),
    )
    .unwrap();
    let home = root.join(".pre-commit-home");
    let pre_commit = |args: &[&str]| {
        Command::new("python3")
            .current_dir(root)
            .env("PRE_COMMIT_HOME", &home)
            .args(["-m", "pre_commit"])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(git(root, &["add", "."]).status.success());
    assert!(git(root, &["commit", "-qm", "init"]).status.success());
    let out = pre_commit(&["install"]);
    assert!(out.status.success(), "{out:?}");

    std::fs::write(root.join("migrations/20240102000000_orders.sql"), DRAFT).unwrap();
    assert!(git(root, &["add", "migrations"]).status.success());
    let first = Command::new("git")
        .current_dir(root)
        .env("PRE_COMMIT_HOME", &home)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "orders"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&first.stderr));
    assert!(!first.status.success(), "the commit must be stopped:\n{text}");
    assert!(text.contains("sqlx's layout"), "{text}");
    let mut names: Vec<String> = std::fs::read_dir(root.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "20240101000000_init.sql",
            "20240102000000_orders.sql",
            "20240102000001_alter_table_orders_add_constraint_fk_orders_users.sql",
            "20240102000002_alter_table_orders_validate_constraint.sql",
        ]
    );
    assert!(std::fs::read_to_string(root.join("migrations/20240102000000_orders.sql"))
        .unwrap()
        .starts_with("-- no-transaction\n"));

    assert!(git(root, &["add", "-A", "migrations"]).status.success());
    let second = Command::new("git")
        .current_dir(root)
        .env("PRE_COMMIT_HOME", &home)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "orders, fixed"])
        .output()
        .unwrap();
    assert!(second.status.success(), "the second commit passes: {second:?}");

    // The fixed files with sqlx's own migrator, on a real PostgreSQL 15.
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/bin/sqlx-migrate");
    if !runner.is_file() {
        assert!(!ci(), "{} is missing: .ci/install-runners builds it", runner.display());
        eprintln!("skipped: sqlx's migrator is not built ({})", runner.display());
        return;
    }
    let pg = pgsafe::verify::cluster::Cluster::start().expect("PostgreSQL 15");
    pg.create_database("shop", None).unwrap();
    let out = Command::new(&runner)
        .arg(format!("{}?sslmode=disable", pg.url("shop")))
        .arg(root.join("migrations"))
        .output()
        .unwrap();
    assert!(out.status.success(), "sqlx migrate: {out:?}");
    // psql's aligned output: header, rule, then the value.
    let value = |sql: &str| pg.psql("shop", sql).unwrap().lines().nth(2).unwrap_or_default().trim().to_string();
    assert_eq!(value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_orders_customer_id'::regclass"), "t");
    assert_eq!(value("SELECT convalidated FROM pg_constraint WHERE conname = 'fk_orders_users'"), "t");
    assert_eq!(value("SELECT count(*) FROM _sqlx_migrations WHERE success"), "4");
}

/// The real pre-commit, both hooks as `.pre-commit-hooks.yaml` defines them, on a commit that
/// stages an sqlc query file pgsafe.toml excludes beside a safe migration: the commit passes and
/// the query file is as it was (without `--force-exclude` the hook rewrote it).
#[test]
fn pre_commit_leaves_a_file_pgsafe_toml_excludes() {
    if !have_pre_commit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(git(root, &["init", "-q"]).status.success());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pgsafe")).display().to_string();
    let mut config = String::from("repos:\n  - repo: local\n    hooks:\n");
    for id in ["pgsafe", "pgsafe-check"] {
        let (entry, files) = hook(id);
        let entry = entry.replacen("pgsafe", &bin, 1);
        config.push_str(&format!(
            "      - id: {id}\n        name: {id}\n        entry: {entry}\n        language: system\n        files: {files}\n"
        ));
    }
    std::fs::write(root.join(".pre-commit-config.yaml"), config).unwrap();
    std::fs::write(root.join("pgsafe.toml"), "exclude = [\"queries/**\"]\n").unwrap();
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::create_dir_all(root.join("queries")).unwrap();
    std::fs::write(root.join("migrations/20240101000000_init.sql"), INIT).unwrap();
    std::fs::write(root.join("queries/orders.sql"), DRAFT).unwrap();
    let home = root.join(".pre-commit-home");
    let out = Command::new("python3")
        .current_dir(root)
        .env("PRE_COMMIT_HOME", &home)
        .args(["-m", "pre_commit", "install"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(git(root, &["add", "."]).status.success());
    let commit = Command::new("git")
        .current_dir(root)
        .env("PRE_COMMIT_HOME", &home)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(["commit", "-m", "queries"])
        .output()
        .unwrap();
    assert!(commit.status.success(), "the commit passes: {commit:?}");
    assert_eq!(std::fs::read_to_string(root.join("queries/orders.sql")).unwrap(), DRAFT);
}
