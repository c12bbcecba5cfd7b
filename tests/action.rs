//! `action.yml`, the composite GitHub Action: its "Changed migrations" step's script, taken from
//! the file as it is, run by bash in a scratch git repository with a local bare `origin`, the way
//! the Action runs it on a pull request (`BASE` set) and on a push (`BASE` empty).

use std::path::Path;
use std::process::Command;

fn action() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap()
}

/// The `run: |` script of the step whose `id:` is `id`.
fn step_script(id: &str) -> String {
    let text = action();
    let at = text.find(&format!("id: {id}\n")).unwrap_or_else(|| panic!("no step with id {id}"));
    let mut lines = text[at..].lines().skip_while(|l| l.trim() != "run: |");
    let run = lines.next().expect("a `run: |` block");
    let indent = run.len() - run.trim_start().len() + 2;
    let mut script = String::new();
    for l in lines {
        if !l.trim().is_empty() && l.len() - l.trim_start().len() < indent {
            break;
        }
        script.push_str(l.get(indent..).unwrap_or(""));
        script.push('\n');
    }
    script
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs the "Changed migrations" step in `repo`; the files it found, as the later steps read them.
fn changed(repo: &Path, paths: &str, base: &str) -> Vec<String> {
    let output = repo.parent().unwrap().join(format!("output-{}", paths.len() + base.len() * 100));
    std::fs::write(&output, "").unwrap();
    let out = Command::new("bash")
        .current_dir(repo)
        .arg("-c")
        .arg(step_script("changed"))
        .env("PATHS", paths)
        .env("BASE", base)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(out.status.success(), "the step failed: {}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(&output).unwrap();
    let files = written.lines().find_map(|l| l.strip_prefix("files=")).expect("a files= output").to_string();
    // The later steps' way of reading it.
    let read = Command::new("bash")
        .arg("-c")
        .arg(r#"eval "files=($FILES)"; [ ${#files[@]} -eq 0 ] || printf '%s\n' "${files[@]}""#)
        .env("FILES", &files)
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    String::from_utf8(read.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn changed_migrations_are_found_by_git_globs_in_any_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin.git");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(tmp.path(), &["init", "-q", "--bare", "-b", "main", origin.to_str().unwrap()]);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    let write = |rel: &str, text: &str| {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("README.md", "shop\n");
    write("migrations/0_old.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);\n");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "base"]);
    git(&repo, &["push", "-q", "origin", "main"]);

    git(&repo, &["checkout", "-q", "-b", "feature"]);
    write("scripts/seed.sql", "INSERT INTO users VALUES (1);\n");
    write("db/migrations/a.sql", "CREATE INDEX a ON users(id);\n");
    write("migrations/b.sql", "CREATE INDEX b ON users(id);\n");
    write("migrations/c d.sql", "CREATE INDEX c ON users(id);\n");
    git(&repo, &["mv", "migrations/0_old.sql", "migrations/0_renamed.sql"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "feature"]);

    // The default `**/*.sql`: every changed .sql file at any depth, the renamed one too (bash
    // expanded it to `*/*.sql` and dropped db/migrations/a.sql).
    assert_eq!(
        changed(&repo, "**/*.sql", "main"),
        [
            "db/migrations/a.sql",
            "migrations/0_renamed.sql",
            "migrations/b.sql",
            "migrations/c d.sql",
            "scripts/seed.sql"
        ]
    );
    // The README's `migrations/**/*.sql` on a flat migrations folder (sqlx, dbmate).
    assert_eq!(
        changed(&repo, "migrations/**/*.sql", "main"),
        ["migrations/0_renamed.sql", "migrations/b.sql", "migrations/c d.sql"]
    );
    // Several patterns, space-separated.
    assert_eq!(
        changed(&repo, "db/migrations/*.sql  migrations/b.sql", "main"),
        ["db/migrations/a.sql", "migrations/b.sql"]
    );
    // Without a base: every tracked file the patterns match.
    assert_eq!(
        changed(&repo, "migrations/**/*.sql", ""),
        ["migrations/0_renamed.sql", "migrations/b.sql", "migrations/c d.sql"]
    );
    assert!(changed(&repo, "nothing/**/*.sql", "main").is_empty());
}

/// Every pgsafe the Action runs applies pgsafe.toml's include/exclude to the files it names.
#[test]
fn every_pgsafe_run_passes_force_exclude() {
    let text = action();
    let runs: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pgsafe check") || l.starts_with("pgsafe review") || l.starts_with("pgsafe fix"))
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for run in runs {
        assert!(run.contains(" --force-exclude "), "{run}");
    }
}
