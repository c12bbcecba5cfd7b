//! The command line as a user meets it: exit codes, errors with file:line:column, atomic output.

use std::fs;
use std::process::{Command, Output};

fn pgsafe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgsafe")).args(args).output().expect("pgsafe runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn rewrite_writes_numbered_steps_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let o = pgsafe(&["rewrite", "examples/article.sql", "-o", out.to_str().unwrap(), "--color", "never"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> =
        fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names[0].starts_with("0001_") && names[2].starts_with("0003_") && names[3] == "manifest.json");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("+CREATE INDEX CONCURRENTLY idx_orders_customer_id"), "{stdout}");
    assert!(stdout.contains("examples/article.sql:5:1 fk-not-valid"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["steps"][0]["mode"], "autocommit");
    assert_eq!(manifest["steps"][2]["locks"][0]["mode"], "SHARE UPDATE EXCLUSIVE");
}

#[test]
fn a_non_empty_output_directory_is_refused_without_force() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let o = pgsafe(&["rewrite", "examples/article.sql", "-o", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(dir.path().join("keep.txt").exists());
    // --force replaces only a previous pgsafe plan: a file pgsafe did not write stops it.
    let o = pgsafe(&["rewrite", "examples/article.sql", "-o", dir.path().to_str().unwrap(), "--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("keep.txt"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "mine");
    // The README says so (it said --force kept such files and replaced the plan around them).
    let readme = fs::read_to_string("README.md").unwrap();
    let row = readme.lines().find(|l| l.starts_with("| `pgsafe rewrite DRAFT")).unwrap();
    assert!(row.contains("any other file is refused, even with `--force`"), "{row}");
}

/// Runs pgsafe in `cwd`.
fn pgsafe_in(cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgsafe")).current_dir(cwd).args(args).output().expect("pgsafe runs")
}

/// Every file under `dir`, relative, with its contents.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_output_directory_never_loses_a_file_pgsafe_did_not_write() {
    let root = tempfile::tempdir().unwrap();
    let migrations = root.path().join("migrations");
    fs::create_dir(&migrations).unwrap();
    fs::write(migrations.join("0001_init.sql"), "CREATE TABLE orders (id int);\n").unwrap();
    fs::write(migrations.join("0002_draft.sql"), "CREATE INDEX i ON orders (id);\n").unwrap();
    let before = tree(root.path());
    let cwd = migrations.to_str().unwrap();
    let abs_draft = migrations.join("0002_draft.sql");
    for (cwd, args) in [
        (cwd, vec!["rewrite", "0002_draft.sql", "-o", ".", "--force"]),
        (cwd, vec!["rewrite", "0002_draft.sql", "-o", cwd, "--force"]),
        (cwd, vec!["rewrite", "0002_draft.sql", "-o", "..", "--force"]),
        (cwd, vec!["rewrite", "0002_draft.sql", "-o", "../migrations/", "--force"]),
        (root.path().to_str().unwrap(), vec!["rewrite", "migrations/0002_draft.sql", "-o", "migrations", "--force"]),
        (
            root.path().to_str().unwrap(),
            vec!["rewrite", abs_draft.to_str().unwrap(), "-o", "migrations/0002_draft.sql", "--force"],
        ),
    ] {
        let o = pgsafe_in(std::path::Path::new(cwd), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?} must be refused: {}", stderr(&o));
        assert!(stderr(&o).contains("directory of its own"), "{args:?}: {}", stderr(&o));
        assert_eq!(tree(root.path()), before, "{args:?} changed files");
    }
    // A manifest.json that pgsafe did not write does not make a directory a plan.
    let other = root.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("manifest.json"), "{\"name\": \"my app\"}").unwrap();
    let o = pgsafe_in(root.path(), &["rewrite", "migrations/0002_draft.sql", "-o", "other", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(other.join("manifest.json")).unwrap(), "{\"name\": \"my app\"}");
}

#[test]
fn force_replaces_a_previous_plan_whole_and_only_when_the_new_one_is_complete() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("a.sql"), "CREATE INDEX i ON orders (id);\nCREATE INDEX j ON users (id);\n").unwrap();
    fs::write(root.path().join("b.sql"), "ALTER TABLE orders ADD COLUMN note text;\n").unwrap();
    let o = pgsafe_in(root.path(), &["rewrite", "a.sql", "-o", "plan"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(tree(&root.path().join("plan")).len(), 3);
    let o = pgsafe_in(root.path(), &["rewrite", "b.sql", "-o", "plan", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = tree(&root.path().join("plan")).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0001_alter_table_orders_add_column_note.sql", "manifest.json"]);
    // Nothing left beside it: no temporary or old directory.
    let mut siblings: Vec<String> =
        fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    siblings.sort();
    assert_eq!(siblings, ["a.sql", "b.sql", "plan"]);
    // Bad input replaces nothing.
    fs::write(root.path().join("bad.sql"), "CREATE TABLE t (a text DEFAULT 'x);\n").unwrap();
    let o = pgsafe_in(root.path(), &["rewrite", "bad.sql", "-o", "plan", "--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(tree(&root.path().join("plan")).len(), 2);
}

#[test]
fn bad_input_names_file_line_column_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("quote.sql", b"SELECT 1;\nSELECT 'oops;\n", "quote.sql:2:8"),
        ("dollar.sql", b"CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1", "dollar.sql:1:36"),
        ("latin1.sql", b"SELECT 1;\n-- caf\xe9\n", "latin1.sql:2:7"),
        ("binary.sql", b"SELECT \0 1", "binary.sql:1:8"),
    ];
    for (name, bytes, at) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let out = dir.path().join(format!("{name}.plan"));
        let o = pgsafe(&["rewrite", path.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(stderr(&o).contains(at), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: nothing is written on bad input");
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = pgsafe(&["rewrite", "no/such/file.sql", "-o", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.sql"));
}

#[test]
fn check_exit_codes_and_fix_reaches_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("m.sql");
    fs::copy("examples/ai_draft.sql", &draft).unwrap();
    let d = draft.to_str().unwrap();
    assert_eq!(pgsafe(&["check", d]).status.code(), Some(1));
    assert_eq!(pgsafe(&["fix", d]).status.code(), Some(1), "fix reports that it changed the file");
    let fixed = fs::read_to_string(&draft).unwrap();
    assert_eq!(pgsafe(&["check", d]).status.code(), Some(0), "the fixed file is safe:\n{fixed}");
    assert_eq!(pgsafe(&["fix", d]).status.code(), Some(0));
    assert_eq!(fs::read_to_string(&draft).unwrap(), fixed, "fixing again changes nothing");
}

#[test]
fn fix_leaves_a_down_script_as_it_is() {
    // A pre-commit hook names every changed file: laid out as steps, sqlx's `.down.sql` would
    // become forward migrations that undo the up right after it.
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    fs::create_dir(&migrations).unwrap();
    fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
    let down = migrations.join("20240101000000_nick.down.sql");
    let text = "DROP INDEX users_nick_idx;\nALTER TABLE users DROP COLUMN nick;\n";
    fs::write(&down, text).unwrap();
    // Nor is code a glob over the folder names (node-pg-migrate's `.js`) read as SQL.
    let code = migrations.join("1700000000000_init.js");
    fs::write(&code, "exports.up = (pgm) => { pgm.sql(`SELECT 'it''s`); };\n").unwrap();
    let o = pgsafe(&["fix", down.to_str().unwrap(), code.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a forward migration"), "{}", stderr(&o));
    assert!(stderr(&o).contains("1700000000000_init.js: not a .sql file: left as it is"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&down).unwrap(), text);
    assert_eq!(fs::read_dir(&migrations).unwrap().count(), 2, "no file was added");
}

#[test]
fn fix_refuses_a_taken_step_name_and_says_what_to_do_without_an_option_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("deploy")).unwrap();
    let plan = "%syntax-version=1.0.0\n%project=shop\n\nadd_index 2024-01-01T12:00:00Z Ann <ann@example.com>\n";
    fs::write(dir.path().join("sqitch.plan"), plan).unwrap();
    let draft = dir.path().join("deploy/add_index.sql");
    let text =
        "CREATE INDEX i ON orders (a);\nALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (b) REFERENCES users (id);\n";
    fs::write(&draft, text).unwrap();
    // The name sqitch's layout gives the second step.
    fs::write(dir.path().join("deploy/add_index_2.sql"), "SELECT 1;\n").unwrap();
    let o = pgsafe(&["fix", draft.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("exists: pgsafe does not overwrite a migration (rename or remove it"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&draft).unwrap(), text, "nothing changed");
    assert_eq!(fs::read_to_string(dir.path().join("sqitch.plan")).unwrap(), plan);
}

#[test]
fn check_fails_on_a_lock_relevant_statement_it_could_not_understand() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("goose.sql");
    // An ALTER TABLE action pgsafe does not know, inside a goose block of several statements.
    fs::write(
        &draft,
        "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE t (a int); ALTER TABLE orders FROBNICATE everything;\n-- +goose StatementEnd\n",
    )
    .unwrap();
    let o = pgsafe(&["check", draft.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(":3:44 warning[not-understood]"), "points at the action it could not parse:\n{stdout}");
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    // Understood and safe: 0.
    fs::write(&draft, "SELECT 1;\n").unwrap();
    assert_eq!(pgsafe(&["check", draft.to_str().unwrap()]).status.code(), Some(0));
}

/// goose sends a `StatementBegin … StatementEnd` block as one query: pgsafe keeps it whole and as
/// written, but judges each statement in it, so a normal goose migration passes `check`.
#[test]
fn a_goose_block_of_several_statements_is_understood_and_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("goose.sql");
    let block = "CREATE TABLE jobs (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);\n\
                 CREATE INDEX jobs_tenant ON jobs (tenant_id);\n\
                 CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.at := now(); RETURN NEW; END; $$ LANGUAGE plpgsql;\n";
    let goose = |block: &str| {
        format!("-- +goose Up\n-- +goose StatementBegin\n{block}-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE jobs;\n")
    };
    let d = draft.to_str().unwrap();
    fs::write(&draft, goose(block)).unwrap();
    let o = pgsafe(&["check", d]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "new table, its index and a function: nothing to judge\n{stdout}");
    assert!(stdout.is_empty(), "{stdout}");

    // A plain CREATE INDEX on a live table: reported under its rule, not rewritten, not lost.
    let live = format!("{block}CREATE INDEX orders_customer ON orders (customer_id);\n");
    fs::write(&draft, goose(&live)).unwrap();
    let o = pgsafe(&["check", d]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("not-understood"), "{stdout}");
    assert!(stdout.contains(":6:1 warning[concurrent-index]") && stdout.contains("not applied"), "{stdout}");
    assert_eq!(o.status.code(), Some(1), "the block needs timeouts:\n{stdout}");
    let out = dir.path().join("plan");
    assert_eq!(pgsafe(&["rewrite", d, "-o", out.to_str().unwrap()]).status.code(), Some(0));
    let step = out.join("0001_create_table_jobs_id_bigint_primary.sql");
    let text = fs::read_to_string(&step).unwrap();
    assert!(text.contains(&format!("-- +goose StatementBegin\n{live}-- +goose StatementEnd\nCOMMIT;\n")), "{text}");
    let o = pgsafe(&["check", step.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "the step file is a fixed point:\n{text}\n{stdout}");
    assert!(stdout.contains("warning[concurrent-index]"), "and still says why the index is not built concurrently");
}

#[test]
fn markdown_diff_is_ready_for_a_pull_request() {
    let o = pgsafe(&["diff", "examples/article.sql", "--diff-format", "markdown"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("```diff") && s.contains("| `concurrent-index` |"), "{s}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(pgsafe(&["rewrite"]).status.code(), Some(2));
    assert_eq!(pgsafe(&["diff", "examples/article.sql", "--lock-timeout", "soon"]).status.code(), Some(2));
}

#[test]
fn schema_tells_old_types_and_partitions_and_a_bad_schema_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("draft.sql");
    fs::write(&draft, "ALTER TABLE orders ALTER COLUMN status TYPE varchar(100);\nCREATE INDEX ON events (payload);\n")
        .unwrap();
    let draft = draft.to_str().unwrap();
    let o = pgsafe(&["check", draft, "--schema", "rewrites/planeq-setup.sql"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout.contains("from text to varchar(100) rewrites orders"), "{stdout}");
    assert!(
        stdout.contains("warning[partitions] events is partitioned") && !stdout.contains("concurrent-index"),
        "{stdout}"
    );
    // A directory of migrations, in name order, down migrations skipped.
    let migrations = dir.path().join("migrations");
    fs::create_dir_all(migrations.join("0002_widen")).unwrap();
    fs::write(migrations.join("0001_orders.sql"), "CREATE TABLE orders (id int, status varchar(50));\n").unwrap();
    fs::write(migrations.join("0002_widen/up.sql"), "ALTER TABLE orders ALTER status TYPE varchar(80);\n").unwrap();
    fs::write(migrations.join("0002_widen/down.sql"), "ALTER TABLE orders ALTER status TYPE text;\n").unwrap();
    let o = pgsafe(&["check", draft, "--schema", migrations.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("type-change"), "varchar(80) → varchar(100) does not rewrite: {stdout}");
    let unterminated = dir.path().join("unterminated.sql");
    fs::write(&unterminated, "CREATE TABLE t (a text DEFAULT 'x);\n").unwrap();
    for bad in ["/nonexistent/schema.sql", unterminated.to_str().unwrap()] {
        let o = pgsafe(&["check", draft, "--schema", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("schema"), "{}", stderr(&o));
    }
}

#[test]
fn small_tables_from_stats_skip_the_scan_avoiding_recipes_but_keep_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.csv");
    fs::write(&stats, "# relname,reltuples\norders,120\nusers,5000000\n").unwrap();
    let s = stats.to_str().unwrap();
    let o = pgsafe(&["diff", "examples/article.sql", "--color", "never", "--stats", s, "--small-table-rows", "1000"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.contains("INDEX CONCURRENTLY idx") && !out.contains("NOT VALID;"), "orders is small:\n{out}");
    assert!(out.contains("SET LOCAL lock_timeout"), "the lock queue still matters for a small table:\n{out}");

    fs::write(&stats, "orders,many\n").unwrap();
    let o = pgsafe(&["diff", "examples/article.sql", "--stats", s, "--small-table-rows", "1000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stats.csv:1:1"), "{}", stderr(&o));
}

#[test]
fn the_readme_example_is_real_output() {
    let readme = fs::read_to_string("README.md").unwrap();
    let start = readme.find("```diff\n").expect("README shows a diff") + "```diff\n".len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let o = pgsafe(&["diff", "examples/article.sql", "--color", "never"]);
    assert_eq!(shown.trim(), String::from_utf8_lossy(&o.stdout).trim(), "README.md's 30-second example is stale");
}

/// `--force-exclude` (ruff's convention): pgsafe.toml's include/exclude apply to files named on
/// the command line too, as a pre-commit hook or the Action names every changed .sql file; an sqlc
/// query file or a seed file is then never rewritten. Without it, a named file is always checked.
#[test]
fn force_exclude_applies_include_and_exclude_to_named_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let draft = "CREATE INDEX i ON orders (customer_id);\n";
    fs::write(dir.join("pgsafe.toml"), "include = [\"**/*.sql\"]\nexclude = [\"queries/**\", \"seed.sql\"]\n").unwrap();
    fs::create_dir_all(dir.join("queries")).unwrap();
    fs::create_dir_all(dir.join("migrations")).unwrap();
    fs::write(dir.join("queries/orders.sql"), draft).unwrap();
    fs::write(dir.join("seed.sql"), draft).unwrap();
    fs::write(dir.join("migrations/1_a.sql"), draft).unwrap();

    // Every file named is excluded: nothing done, exit 0, for each command.
    let before = tree(dir);
    for cmd in [&["fix"][..], &["check"], &["check", "--format", "json"], &["diff"], &["review"]] {
        let mut args = cmd.to_vec();
        args.extend(["--force-exclude", "queries/orders.sql", "seed.sql"]);
        let o = pgsafe_in(dir, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("orders.sql"), "{args:?}: {o:?}");
    }
    assert_eq!(tree(dir), before, "an excluded file is never rewritten");

    // An included file named beside them is checked (and fixed); the excluded ones are not.
    let o = pgsafe_in(dir, &["check", "--force-exclude", "queries/orders.sql", "migrations/1_a.sql"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("migrations/1_a.sql") && !stdout.contains("queries/"), "{stdout}");
    let o = pgsafe_in(dir, &["fix", "--force-exclude", "queries/orders.sql", "seed.sql", "migrations/1_a.sql"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_ne!(fs::read_to_string(dir.join("migrations/1_a.sql")).unwrap(), draft);
    assert_eq!(fs::read_to_string(dir.join("queries/orders.sql")).unwrap(), draft);
    assert_eq!(fs::read_to_string(dir.join("seed.sql")).unwrap(), draft);

    // Without the flag a named file is checked, whatever pgsafe.toml excludes.
    let o = pgsafe_in(dir, &["check", "queries/orders.sql"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
