//! The command line over many files and in a runner's layout: directories and globs, parallel but
//! deterministic output, a bad file reported without stopping the others, `fix` exit codes, its
//! fixed point, and its refusal to split a migration git history already has.

mod common;

use std::path::Path;
use std::process::Command;

const NEEDS_REWRITE: &str = "CREATE INDEX idx_orders_customer_id ON orders(customer_id);\n";
const SAFE: &str = "CREATE TABLE t (id bigint);\n";

fn pgsafe(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafe")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
    std::fs::write(dir.path().join("migrations/20240101000000_init.sql"), SAFE).unwrap();
    std::fs::write(dir.path().join("migrations/20240102000000_index.sql"), NEEDS_REWRITE).unwrap();
    dir
}

#[test]
fn check_takes_directories_and_globs_in_a_deterministic_order_and_goes_past_bad_files() {
    let dir = project();
    std::fs::write(dir.path().join("migrations/20240103000000_bad.sql"), "SELECT 'unterminated;\n").unwrap();
    let (code, out, err) = pgsafe(dir.path(), &["check", "migrations/"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("20240102000000_index.sql:1:13 concurrent-index"), "{out}");
    assert!(err.contains("20240103000000_bad.sql:1:8"), "{err}");
    let (code2, out2, _) = pgsafe(dir.path(), &["check", "migrations/*.sql"]);
    assert_eq!((code2, &out2), (2, &out), "a glob finds the same files, in the same order");
    let (code, _, err) =
        pgsafe(dir.path(), &["check", "migrations/nothing*.sql", "migrations/20240101000000_init.sql"]);
    assert_eq!(code, 2);
    assert!(err.contains("no file matches"), "{err}");
}

#[test]
fn fix_lays_out_in_the_runner_layout_exits_1_then_0() {
    let dir = project();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sqlx's layout"), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["20240101000000_init.sql", "20240102000000_index.sql"]);
    let text = std::fs::read_to_string(dir.path().join("migrations/20240102000000_index.sql")).unwrap();
    assert!(text.starts_with("-- no-transaction\n"), "{text}");
    assert_eq!(std::fs::read_to_string(dir.path().join("migrations/20240101000000_init.sql")).unwrap(), SAFE);
    let (code, out, err) = pgsafe(dir.path(), &["fix", "migrations/"]);
    assert_eq!(code, 0, "a second run changes nothing: {out}{err}");
}

#[test]
fn fix_refuses_a_committed_migration_unless_told() {
    let dir = project();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .map(|o| o.status.success());
        ok.unwrap_or(false)
    };
    if !git(&["init", "-q"]) {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "git is missing under CI");
        eprintln!("skipped: no git");
        return;
    }
    assert!(git(&["add", "."]) && git(&["commit", "-qm", "init"]));
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("git history already has it") && err.contains("--allow-committed"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("migrations/20240102000000_index.sql")).unwrap(), NEEDS_REWRITE);
    let (code, _, err) = pgsafe(dir.path(), &["fix", "--allow-committed", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 1, "{err}");
    assert_ne!(std::fs::read_to_string(dir.path().join("migrations/20240102000000_index.sql")).unwrap(), NEEDS_REWRITE);
}

#[test]
fn config_file_sets_the_runner_and_rules_and_names_the_line_of_a_mistake() {
    let dir = project();
    std::fs::write(
        dir.path().join("pgsafe.toml"),
        "runner = \"dbmate\"\n[rules]\nconcurrent-index = false\ntimeouts = false\n",
    )
    .unwrap();
    let (code, out, err) = pgsafe(dir.path(), &["check", "migrations/"]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::write(dir.path().join("pgsafe.toml"), "runner = \"dbmate\"\nlock_timout = \"1s\"\n").unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["check", "migrations/"]);
    assert_eq!(code, 2);
    assert!(err.contains("pgsafe.toml:2:1") && err.contains("lock_timout"), "{err}");
    std::fs::write(dir.path().join("pgsafe.toml"), "runner = \"dbmate\"\n").unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("dbmate's layout (pgsafe.toml)"), "{err}");
    let text = std::fs::read_to_string(dir.path().join("migrations/20240102000000_index.sql")).unwrap();
    assert!(text.starts_with("-- migrate:up transaction:false\n"), "{text}");
}

#[test]
fn rules_explain_completions_and_man() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = pgsafe(dir.path(), &["rules"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("concurrent-index ")), "{out}");
    let (code, out, _) = pgsafe(dir.path(), &["explain", "fk-not-valid"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# `fk-not-valid`"), "{out}");
    assert_eq!(pgsafe(dir.path(), &["explain", "nope"]).0, 2);
    let (code, out, _) = pgsafe(dir.path(), &["completions", "bash"]);
    assert!(code == 0 && out.contains("pgsafe"), "{out}");
    let (code, out, _) = pgsafe(dir.path(), &["man"]);
    assert!(code == 0 && out.contains(".TH pgsafe"), "{out}");
    let (_, out, _) = pgsafe(dir.path(), &["--help"]);
    assert!(out.contains("Examples:"), "{out}");
}

#[test]
fn pretty_text_shows_the_source_under_each_finding() {
    let dir = project();
    let (code, out, _) = pgsafe(dir.path(), &["check", "--format", "pretty", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 1);
    assert!(out.contains("error[concurrent-index]"), "{out}");
    assert!(out.contains("1 | CREATE INDEX idx_orders_customer_id ON orders(customer_id);"), "{out}");
    assert!(out.contains("^^^^ pgsafe fix rewrites this") || out.contains("^ pgsafe fix rewrites this"), "{out}");
}

/// `git` in `dir`, with an identity; whether it succeeded (`None`: no git here).
fn git_in(dir: &Path, args: &[&str]) -> Option<bool> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .ok()?;
    Some(out.status.success())
}

/// No git here: skipped, but not under CI.
fn no_git() -> bool {
    let missing = Command::new("git").arg("--version").output().is_err();
    assert!(!missing || std::env::var("CI").map_or(true, |v| v != "true"), "git is missing under CI");
    if missing {
        eprintln!("skipped: no git");
    }
    missing
}

#[test]
fn fix_refuses_a_migration_when_git_cannot_tell_whether_history_has_it() {
    if no_git() {
        return;
    }
    let dir = project();
    assert_eq!(git_in(dir.path(), &["init", "-q"]), Some(true));
    assert_eq!(git_in(dir.path(), &["add", "."]), Some(true));
    assert_eq!(git_in(dir.path(), &["commit", "-qm", "init"]), Some(true));
    // A broken repository (as one owned by another user is to git): `git log` fails, and nobody
    // can tell whether the migration was applied. It used to count as "not committed".
    for entry in std::fs::read_dir(dir.path().join(".git/objects")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().len() == 2 {
            std::fs::remove_dir_all(path).unwrap();
        }
    }
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot tell whether git history has it") && err.contains("git log failed"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("migrations/20240102000000_index.sql")).unwrap(), NEEDS_REWRITE);
}

#[test]
fn fix_takes_a_file_named_twice_once() {
    let dir = project();
    let draft = "migrations/20240102000000_index.sql";
    let (code, _, err) = pgsafe(
        dir.path(),
        &["fix", "migrations", draft, &format!("./{draft}"), "migrations//20240102000000_index.sql"],
    );
    assert_eq!(code, 1, "fixed once, not refused the second time: {err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn fix_splits_graphile_migrates_tracked_current_sql() {
    if no_git() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations/committed")).unwrap();
    std::fs::write(dir.path().join(".gmrc"), "{}\n").unwrap();
    std::fs::write(dir.path().join("migrations/current.sql"), "-- Enter migration here\n").unwrap();
    assert_eq!(git_in(dir.path(), &["init", "-q"]), Some(true));
    assert_eq!(git_in(dir.path(), &["add", "."]), Some(true));
    assert_eq!(git_in(dir.path(), &["commit", "-qm", "init"]), Some(true));
    // graphile-migrate blanks current.sql at each commit: history having it says nothing.
    std::fs::write(dir.path().join("migrations/current.sql"), NEEDS_REWRITE).unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/current.sql"]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("git history already has it"), "{err}");
    assert_ne!(std::fs::read_to_string(dir.path().join("migrations/current.sql")).unwrap(), NEEDS_REWRITE);
}

#[test]
fn fixes_running_at_once_keep_every_step_in_sqitchs_plan() {
    // A pre-commit hook may run several `pgsafe fix` at once: each reads `sqitch.plan`, adds its
    // steps and writes it back. Without a lock, one's steps were lost (4 runs in 10 with two).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["deploy", "revert", "verify"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("sqitch.conf"), "[core]\n\tengine = pg\n").unwrap();
    let mut plan = String::from("%syntax-version=1.0.0\n%project=p\n\n");
    let drafts: Vec<String> = (1..=6).map(|k| format!("c{k}")).collect();
    for d in &drafts {
        plan.push_str(&format!("{d} 2024-01-01T00:00:00Z T <t@t> # {d}\n"));
        let text = format!("CREATE INDEX i_{d} ON orders (customer_id);\nALTER TABLE orders ADD COLUMN {d} int;\n");
        std::fs::write(root.join(format!("deploy/{d}.sql")), text).unwrap();
        std::fs::write(root.join(format!("revert/{d}.sql")), format!("ALTER TABLE orders DROP COLUMN {d};\n")).unwrap();
    }
    std::fs::write(root.join("sqitch.plan"), plan).unwrap();
    let running: Vec<std::process::Child> = drafts
        .iter()
        .map(|d| {
            Command::new(env!("CARGO_BIN_EXE_pgsafe"))
                .current_dir(root)
                .args(["fix", &format!("deploy/{d}.sql")])
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in running {
        assert_eq!(child.wait().unwrap().code(), Some(1));
    }
    let plan = std::fs::read_to_string(root.join("sqitch.plan")).unwrap();
    for d in &drafts {
        let step = plan.lines().filter(|l| l.starts_with(&format!("{d}_"))).count();
        let files = std::fs::read_dir(root.join("deploy"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(&format!("{d}_")))
            .count();
        assert!(files > 0 && step == files, "{d}: {files} step files, {step} in the plan:\n{plan}");
    }
}

#[test]
fn a_drafts_own_transaction_setting_gives_way_to_each_steps() {
    // Flyway: the draft's `.conf` said `executeInTransaction=false`; left on step 1, which is
    // transactional, its `SET LOCAL` timeouts ran outside a transaction and did nothing (a probe's
    // writes waited 2.05 s behind it). Its other settings stay.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sql")).unwrap();
    let draft =
        "ALTER TABLE orders ADD COLUMN status text;\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n";
    std::fs::write(dir.path().join("sql/V1__init.sql"), SAFE).unwrap();
    std::fs::write(dir.path().join("sql/V2__draft.sql"), draft).unwrap();
    std::fs::write(dir.path().join("sql/V2__draft.sql.conf"), "executeInTransaction=false\nencoding=UTF-8\n").unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "sql/V2__draft.sql"]);
    assert_eq!(code, 1, "{err}");
    let step1 = std::fs::read_to_string(dir.path().join("sql/V2__draft.sql")).unwrap();
    assert!(step1.contains("SET LOCAL lock_timeout") && step1.contains("ADD COLUMN status"), "{step1}");
    let conf = std::fs::read_to_string(dir.path().join("sql/V2__draft.sql.conf")).unwrap();
    assert_eq!(conf, "encoding=UTF-8\nexecuteInTransaction=true\n");
    let (code, out, err) = pgsafe(dir.path(), &["fix", "sql/"]);
    assert_eq!(code, 0, "a fixed point: {out}{err}");

    // Atlas: the draft's `-- atlas:txmode none` goes; each autocommit step has its own.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
    std::fs::write(dir.path().join("migrations/20240101000000_init.sql"), SAFE).unwrap();
    std::fs::write(dir.path().join("migrations/20240102000000_draft.sql"), format!("-- atlas:txmode none\n\n{draft}"))
        .unwrap();
    std::fs::write(dir.path().join("migrations/atlas.sum"), "").unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/20240102000000_draft.sql"]);
    assert_eq!(code, 1, "{err}");
    let step1 = std::fs::read_to_string(dir.path().join("migrations/20240102000000_draft.sql")).unwrap();
    assert!(step1.contains("SET LOCAL lock_timeout") && !step1.contains("atlas:txmode"), "{step1}");
    let steps: Vec<String> = std::fs::read_dir(dir.path().join("migrations"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("CONCURRENTLY"))
        .collect();
    assert!(steps.len() == 1 && steps[0].starts_with("-- atlas:txmode none\n\n"), "{steps:?}");
}

#[test]
fn fix_names_the_new_steps_git_must_be_told_about() {
    if no_git() {
        return;
    }
    // Under pre-commit, `git add -u` stages the draft's new text but not the new steps: a commit
    // held the first step only. `fix` names them, with the command that stages them.
    let dir = project();
    let draft = "ALTER TABLE orders ADD COLUMN status text;\nCREATE INDEX orders_status_idx ON orders (status);\n";
    std::fs::write(dir.path().join("migrations/20240102000000_index.sql"), draft).unwrap();
    assert_eq!(git_in(dir.path(), &["init", "-q"]), Some(true));
    let (code, _, err) = pgsafe(dir.path(), &["fix", "migrations/20240102000000_index.sql"]);
    assert_eq!(code, 1, "{err}");
    let line = err.lines().find(|l| l.contains("git does not track yet")).unwrap_or_else(|| panic!("{err}"));
    let command = line.split("git add ").nth(1).unwrap();
    let mut args = vec!["add"];
    args.extend(command.split_whitespace());
    assert_eq!(git_in(dir.path(), &args), Some(true), "{line}");
    let out = Command::new("git").current_dir(dir.path()).args(["status", "--porcelain"]).output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    let untracked: Vec<&str> = status.lines().filter(|l| l.starts_with("??") && l.contains("20240102")).collect();
    assert!(untracked.is_empty() || untracked.iter().all(|l| l.ends_with("20240102000000_index.sql")), "{status}");
}

#[test]
fn fix_of_a_file_named_without_its_folder_ends() {
    // `a.sql`'s folder is "", its runner's root "."; locked as two directories, the second lock
    // waited for the first, held by the same process, forever.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.sql"), NEEDS_REWRITE).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .current_dir(dir.path())
        .args(["fix", "a.sql"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = common::wait_or_kill(&mut child, "pgsafe fix a.sql");
    assert_eq!(status.code(), Some(1));
    assert_ne!(std::fs::read_to_string(dir.path().join("a.sql")).unwrap(), NEEDS_REWRITE);
}

#[test]
fn fix_refuses_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgsafe"))
        .args(["fix", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(NEEDS_REWRITE.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "exit 0 told a hook the draft was safe");
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input is none"));
}

#[test]
fn every_sqlx_step_after_a_reversible_draft_gets_a_down_file() {
    // sqlx's revert skips a version without a `.down.sql`: with none on steps 2..N, `revert`
    // undid the draft's version under steps still recorded, and the next `run` left the schema
    // without the draft's foreign key.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("20240101000000_init.up.sql"),
        "CREATE TABLE orgs (id bigint PRIMARY KEY);\nCREATE TABLE users (id bigint, email text, org_id bigint);\n",
    )
    .unwrap();
    std::fs::write(m.join("20240101000000_init.down.sql"), "DROP TABLE users;\nDROP TABLE orgs;\n").unwrap();
    let draft = "CREATE INDEX users_email_idx ON users(email);\n\
                 ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs(id);\n";
    let draft_down = "ALTER TABLE users DROP CONSTRAINT users_org_fk;\nDROP INDEX users_email_idx;\n";
    std::fs::write(m.join("20240102000000_idx.up.sql"), draft).unwrap();
    std::fs::write(m.join("20240102000000_idx.down.sql"), draft_down).unwrap();
    let (code, _, err) = pgsafe(dir.path(), &["fix", "--runner", "sqlx", "migrations/"]);
    assert_eq!(code, 1, "{err}");
    let mut names: Vec<String> =
        std::fs::read_dir(&m).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let ups: Vec<&String> = names.iter().filter(|n| n.starts_with("20240102") && n.ends_with(".up.sql")).collect();
    assert!(ups.len() > 1, "{names:?}");
    for up in ups {
        let down = up.replace(".up.sql", ".down.sql");
        let text = std::fs::read_to_string(m.join(&down)).unwrap_or_else(|_| panic!("no {down}: {names:?}"));
        if up == "20240102000000_idx.up.sql" {
            assert_eq!(text, draft_down, "the draft's down file stays as it is");
        } else {
            // Comments only (PostgreSQL takes it as an empty query), naming the draft's down.
            assert!(text.lines().all(|l| l.starts_with("--")), "{down}: {text}");
            assert!(text.contains("20240102000000_idx.down.sql"), "{down}: {text}");
        }
    }
    let (code, out, err) = pgsafe(dir.path(), &["fix", "--runner", "sqlx", "migrations/"]);
    assert_eq!(code, 0, "a fixed point: {out}{err}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn rewrite_into_a_runners_directory_puts_the_plan_after_its_last_migration() {
    let dir = tempfile::tempdir().unwrap();
    let (d, m) = (dir.path(), dir.path().join("migrations"));
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("20240101000000_init.sql"), "CREATE TABLE orders (id int PRIMARY KEY, c int);\n").unwrap();
    std::fs::write(m.join("20240105000000_later.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(
        d.join("draft.sql"),
        "CREATE INDEX i ON orders (c);\nALTER TABLE orders ADD CONSTRAINT ck CHECK (c > 0);\n",
    )
    .unwrap();
    let rewrite = ["rewrite", "draft.sql", "--runner", "sqlx", "-o", "migrations", "--diff-format", "none"];
    let (code, _, err) = pgsafe(d, &rewrite);
    assert_eq!(code, 0, "{err}");
    let after = names(&m);
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(after[2].ends_with("_draft.sql") && after[2].as_str() > "20240105000000_later.sql", "{after:?}");
    // Run again: the earlier plan is named, and --force replaces it (no second copy, no "no room").
    let (code, _, err) = pgsafe(d, &rewrite);
    assert_eq!(code, 2);
    assert!(err.contains("earlier run") && err.contains("--force"), "{err}");
    let (code, _, err) = pgsafe(d, &[&rewrite[..], &["--force"]].concat());
    assert_eq!((code, names(&m)), (0, after.clone()), "{err}");
    // A shorter plan replaces the longer one whole.
    std::fs::write(d.join("draft.sql"), "CREATE INDEX i ON orders (c);\n").unwrap();
    let (code, _, err) = pgsafe(d, &[&rewrite[..], &["--force"]].concat());
    assert_eq!((code, names(&m)), (0, after[..3].to_vec()), "{err}");

    // Sequential versions and Flyway's: the next number, never a second version 1.
    for (runner, init, first) in
        [("sqlx", "0001_init.sql", "0002_draft.sql"), ("flyway", "V1__init.sql", "V2__draft.sql")]
    {
        let out = d.join(runner);
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join(init), "SELECT 1;\n").unwrap();
        let (code, _, err) =
            pgsafe(d, &["rewrite", "draft.sql", "--runner", runner, "-o", runner, "--diff-format", "none"]);
        assert_eq!(code, 0, "{err}");
        assert!(names(&out).contains(&first.to_string()), "{:?}", names(&out));
    }
    // diesel's steps are folders: the earlier plan's are replaced too, a file of the user's kept.
    std::fs::create_dir_all(d.join("diesel/2024-01-01-000000_init")).unwrap();
    std::fs::write(d.join("diesel/2024-01-01-000000_init/up.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(
        d.join("draft.sql"),
        "CREATE INDEX i ON orders (c);\nALTER TABLE orders ADD CONSTRAINT ck CHECK (c > 0);\n",
    )
    .unwrap();
    let diesel = ["rewrite", "draft.sql", "--runner", "diesel", "-o", "diesel", "--diff-format", "none", "--force"];
    assert_eq!(pgsafe(d, &diesel).0, 0);
    let three = names(&d.join("diesel"));
    assert_eq!(three.len(), 4, "{three:?}");
    std::fs::write(d.join("diesel").join(&three[3]).join("notes.md"), "mine\n").unwrap();
    std::fs::write(d.join("draft.sql"), "CREATE INDEX i ON orders (c);\n").unwrap();
    let (code, _, err) = pgsafe(d, &diesel);
    assert_eq!((code, names(&d.join("diesel"))), (0, [&three[..2], &three[3..]].concat()), "{err}");
    assert_eq!(names(&d.join("diesel").join(&three[3])), ["notes.md"]);
    // A draft whose own version is taken there is refused.
    std::fs::write(d.join("0001_x.sql"), "CREATE INDEX i ON orders (c);\n").unwrap();
    let (code, _, err) =
        pgsafe(d, &["rewrite", "0001_x.sql", "--runner", "sqlx", "-o", "sqlx", "--diff-format", "none"]);
    assert_eq!(code, 2);
    assert!(err.contains("0001_init.sql") && err.contains("version"), "{err}");
}

#[test]
fn fix_replaces_its_own_uncommitted_steps_left_after_the_draft_was_restored() {
    if no_git() {
        return;
    }
    let dir = project();
    let (d, m) = (dir.path(), dir.path().join("migrations"));
    std::fs::write(m.join("20240105000000_later.sql"), SAFE).unwrap();
    let two_steps = "CREATE INDEX i ON orders (c);\nALTER TABLE orders ADD CONSTRAINT ck CHECK (c > 0);\n";
    let draft = "migrations/20240102000000_index.sql";
    std::fs::write(d.join(draft), two_steps).unwrap();
    assert_eq!(git_in(d, &["init", "-q"]), Some(true));
    assert_eq!(git_in(d, &["add", "."]), Some(true));
    assert_eq!(git_in(d, &["commit", "-qm", "init", "--", "migrations/20240101000000_init.sql"]), Some(true));
    let (code, _, err) = pgsafe(d, &["fix", draft]);
    assert_eq!(code, 1, "{err}");
    let fixed = names(&m);
    assert_eq!(fixed.len(), 5, "{fixed:?}");
    // pre-commit rolled the fix back: the draft is as written, pgsafe's later steps are left.
    std::fs::write(d.join(draft), two_steps).unwrap();
    let (code, _, err) = pgsafe(d, &["fix", draft]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("earlier run"), "{err}");
    assert_eq!(names(&m), fixed);
    // A file pgsafe did not write after the draft is never taken for one of its steps.
    std::fs::write(d.join(draft), two_steps).unwrap();
    std::fs::write(m.join("20240102000001_other.sql"), "-- pgsafe step 2 of 3\n-- from elsewhere.sql line 1\n")
        .unwrap();
    std::fs::remove_file(m.join(&fixed[2])).unwrap();
    let (code, _, err) = pgsafe(d, &["fix", draft]);
    assert_eq!(code, 2, "{err}");
    assert!(m.join("20240102000001_other.sql").exists() && err.contains("no room"), "{err}");
    // Steps git history has stay, and the error says what they are.
    std::fs::remove_file(m.join("20240102000001_other.sql")).unwrap();
    std::fs::write(d.join(draft), two_steps).unwrap();
    assert_eq!(pgsafe(d, &["fix", draft]).0, 1);
    assert_eq!(git_in(d, &["add", "."]), Some(true));
    assert_eq!(git_in(d, &["commit", "-qm", "steps", "--", &format!("migrations/{}", fixed[2])]), Some(true));
    std::fs::write(d.join(draft), two_steps).unwrap();
    let (code, _, err) = pgsafe(d, &["fix", draft]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&fixed[2]) && err.contains("earlier run") && err.contains("git rm"), "{err}");
}

#[test]
fn diff_of_several_files_names_each_one() {
    let dir = project();
    std::fs::write(dir.path().join("migrations/20240103000000_other.sql"), "CREATE INDEX j ON t (id);\n").unwrap();
    let (code, out, err) = pgsafe(dir.path(), &["diff", "migrations/", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    let first = out.find("==> migrations/20240102000000_index.sql <==").expect(&out);
    let second = out.find("==> migrations/20240103000000_other.sql <==").expect(&out);
    assert!(first == 0 && first < second && out[second..].contains("CREATE INDEX CONCURRENTLY j"), "{out}");
    assert!(!out.contains("20240101000000_init.sql"), "a file with nothing to show gets no header: {out}");
    // One file: the view as it was, no header.
    let (_, one, _) = pgsafe(dir.path(), &["diff", "migrations/20240102000000_index.sql", "--color", "never"]);
    assert!(!one.contains("==>") && one.starts_with("-CREATE INDEX"), "{one}");
}

/// Draft statements that mean what they mean only in one transaction: the same `now()` for both
/// (F1a), a key checked at the transaction's end (F1b), a lock held to its end (F1c).
const ONE_TRANSACTION: [(&str, &str, &str); 3] = [
    (
        "ALTER TABLE users ADD COLUMN archived_at timestamptz;\nUPDATE users SET archived_at = now() WHERE score = 0;\n\
         CREATE INDEX users_archived_at_idx ON users (archived_at);\n\
         INSERT INTO tags (name, weight) SELECT 'archived', count(*) FROM users WHERE archived_at = now();\n",
        "SET archived_at = now()",
        "INSERT INTO tags",
    ),
    (
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) DEFERRABLE \
         INITIALLY DEFERRED;\nINSERT INTO orders (user_id, code) VALUES (9001, 'ghost');\n\
         CREATE INDEX items_order_idx ON items (order_id);\nINSERT INTO users (id, email) VALUES (9001, 'ghost@x.com');\n",
        "INSERT INTO orders",
        "INSERT INTO users",
    ),
    (
        "LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE;\nUPDATE orders SET note = 'x' WHERE id < 10;\n\
         CREATE INDEX orders_note_idx ON orders (note);\n",
        "LOCK TABLE orders",
        "CREATE INDEX orders_note_idx",
    ),
];

/// The files of a laid-out plan under `dir` (folders walked), with their text.
fn laid_out(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(laid_out(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
        }
    }
    out
}

#[test]
fn a_runner_that_runs_a_file_in_one_transaction_keeps_what_only_holds_in_it() {
    // sqlx runs a file in one transaction (`-- no-transaction` opts out of its block, but the file
    // still goes as one query, one implicit transaction), as do Flyway, diesel, golang-migrate,
    // Prisma, Atlas, node-pg-migrate, graphile-migrate. Only goose and dbmate markers told the
    // compile so: under `--runner sqlx` the UPDATE's now() and the INSERT's went to two steps
    // (the real sqlx migrator: 428 tags rows, then 0), the INSERT of a deferred key failed in a
    // step of its own, and the work after a LOCK TABLE ran without the lock.
    let dir = tempfile::tempdir().unwrap();
    for (k, (draft, a, b)) in ONE_TRANSACTION.iter().enumerate() {
        std::fs::write(dir.path().join("draft.sql"), draft).unwrap();
        for runner in ["sqlx", "flyway", "golang-migrate", "prisma", "diesel", "atlas", "node-pg-migrate"] {
            let out = format!("{runner}_{k}");
            let (code, _, err) =
                pgsafe(dir.path(), &["rewrite", "draft.sql", "--runner", runner, "-o", &out, "--diff-format", "none"]);
            assert!(code <= 1, "{runner}: {err}");
            let files = laid_out(&dir.path().join(&out));
            let holding =
                |s: &str| files.iter().filter(|(_, t)| t.contains(s)).map(|(p, _)| p.clone()).collect::<Vec<_>>();
            assert_eq!(holding(a), holding(b), "{runner}: `{a}` and `{b}` in one step:\n{files:#?}");
            assert_eq!(holding(a).len(), 1, "{runner}:\n{files:#?}");
        }
        // psql runs each statement on its own: there the plan still splits them (a LOCK TABLE
        // outside a transaction block fails there).
        if k < 2 {
            let out = format!("psql_{k}");
            let (code, _, err) = pgsafe(dir.path(), &["rewrite", "draft.sql", "-o", &out, "--diff-format", "none"]);
            assert!(code <= 1, "{err}");
            let files = laid_out(&dir.path().join(&out));
            let holding = |s: &str| files.iter().position(|(_, t)| t.contains(s));
            assert_ne!(holding(a), holding(b), "psql: split as before:\n{files:#?}");
        }
    }
    // Atlas's `-- atlas:txmode none` sends the statements one by one: split, as under psql.
    std::fs::write(dir.path().join("draft.sql"), format!("-- atlas:txmode none\n\n{}", ONE_TRANSACTION[0].0)).unwrap();
    let (code, _, err) =
        pgsafe(dir.path(), &["rewrite", "draft.sql", "--runner", "atlas", "-o", "atlas_none", "--diff-format", "none"]);
    assert!(code <= 1, "{err}");
    let files = laid_out(&dir.path().join("atlas_none"));
    let apart = |s: &str| files.iter().position(|(_, t)| t.contains(s));
    assert_ne!(apart("SET archived_at = now()"), apart("INSERT INTO tags"), "{files:#?}");
    // dbmate sends a `transaction:false` section as one query: one implicit transaction too.
    std::fs::write(
        dir.path().join("20240101000000_draft.sql"),
        format!("-- migrate:up transaction:false\n{}", ONE_TRANSACTION[0].0),
    )
    .unwrap();
    let (code, _, err) = pgsafe(
        dir.path(),
        &["rewrite", "20240101000000_draft.sql", "--runner", "dbmate", "-o", "dbmate", "--diff-format", "none"],
    );
    assert!(code <= 1, "{err}");
    let files = laid_out(&dir.path().join("dbmate"));
    let holding = |s: &str| files.iter().position(|(_, t)| t.contains(s));
    assert_eq!(holding("SET archived_at = now()"), holding("INSERT INTO tags"), "{files:#?}");
}

#[test]
fn a_set_local_the_runners_transaction_holds_keeps_later_builds_in_it() {
    // A `SET LOCAL` with no `BEGIN` holds to the end of the file where the runner runs it in one
    // transaction, and every later step repeats it; a runner that sends a file as one query
    // cannot repeat it before a concurrent build, which must be alone: the rewrite was refused
    // (exit 2, naming the repeated `SET` as the statement that needs no transaction). The builds
    // now stay as written in the runner's transaction, with the setting; the other rewrites stay.
    let draft = "SET LOCAL work_mem = '64MB';\nCREATE INDEX i ON orders (a);\nALTER TABLE orders ADD COLUMN b int;\n\
                 ALTER TABLE orders ADD CONSTRAINT c CHECK (b > 0);\nCREATE INDEX j ON orders (b);\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.sql"), draft).unwrap();
    for runner in ["sqlx", "dbmate", "diesel", "golang-migrate", "prisma"] {
        let out = format!("plan-{runner}");
        let (code, report, err) = pgsafe(dir.path(), &["rewrite", "a.sql", "--runner", runner, "-o", &out]);
        assert_eq!(code, 0, "{runner}: {err}");
        let err = format!("{report}{err}");
        let text = all_text(&dir.path().join(&out));
        assert!(!text.contains("CONCURRENTLY") && text.contains("CREATE INDEX j ON orders (b);"), "{runner}: {text}");
        assert!(text.contains("NOT VALID") && text.contains("VALIDATE CONSTRAINT c"), "{runner}: {text}");
        assert!(text.matches("work_mem").count() >= 2, "the VALIDATE's step repeats the setting ({runner}): {text}");
        assert!(err.contains("not applied: the draft's `SET LOCAL work_mem` holds here"), "{runner}: {err}");
    }
    // psql runs no transaction around the file: the rest of the draft stays as written, as before.
    let (code, report, err) = pgsafe(dir.path(), &["rewrite", "a.sql", "--runner", "psql", "-o", "plan-psql"]);
    assert_eq!(code, 0, "{err}");
    assert!(report.contains("pgsafe keeps lines 1-5 (from here to the end) as written"), "{report}");
}

/// The text of every file under `dir`, in name order.
fn all_text(dir: &Path) -> String {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths.iter().map(|p| if p.is_dir() { all_text(p) } else { std::fs::read_to_string(p).unwrap() }).collect()
}

/// `review` and `check --format json` name each step by the file `fix` writes for it in the
/// runner's layout (they showed pgsafe's plan directory's `0001_….sql` names, which are in no
/// pull request), in the step table, the plan, the manifest and the warnings that name steps.
#[test]
fn reports_name_the_steps_as_the_runners_layout_writes_them() {
    let draft = "BEGIN;\nCREATE INDEX j ON t (c);\nALTER TABLE t ADD CONSTRAINT g FOREIGN KEY (a) REFERENCES u (id);\nCOMMIT;\n";
    for (runner, file) in [
        ("sqlx", "20240102000000_tx.sql"),
        ("dbmate", "20240102000000_tx.sql"),
        ("goose", "00002_tx.sql"),
        ("flyway", "V2__tx.sql"),
        ("prisma", "20240102000000_tx/migration.sql"),
        ("alembic", "tx.sql"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("migrations");
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), draft).unwrap();
        let path = format!("migrations/{file}");
        let (code, out, err) = pgsafe(dir.path(), &["check", "--format", "json", "--runner", runner, &path]);
        assert_eq!(code, 1, "{runner}: {err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let f = &doc["files"][0];
        let plan: Vec<String> =
            f["plan"].as_array().unwrap().iter().map(|s| s["file"].as_str().unwrap().into()).collect();
        let manifest: Vec<&str> =
            f["manifest"]["steps"].as_array().unwrap().iter().map(|s| s["file"].as_str().unwrap()).collect();
        assert_eq!(plan.len(), 3, "{runner}: {plan:?}");
        assert_eq!(manifest, plan, "{runner}");
        let split = f["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "transactions").unwrap();
        assert!(split["message"].as_str().unwrap().contains(&plan[2]), "{runner}: {split}");
        let (code, review, err) = pgsafe(dir.path(), &["review", "--runner", runner, &path]);
        assert_eq!(code, 0, "{runner}: {err}");
        for name in &plan {
            assert!(review.contains(&format!("| `{name}` |")), "{runner}: {name} not in\n{review}");
        }
        for psql in ["`0002_alter_table", " 0002_alter_table", "==== 0002_alter_table"] {
            assert!(!review.contains(psql), "{runner}: psql's names in\n{review}");
        }
        let (code, _, err) = pgsafe(dir.path(), &["fix", "--runner", runner, &path]);
        assert_eq!(code, 1, "{runner}: {err}");
        for name in &plan {
            assert!(root.join(name).is_file(), "{runner}: fix wrote no {name}: {:?}", names(&root));
        }
    }
}
