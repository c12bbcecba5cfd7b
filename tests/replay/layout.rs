//! Reading a migration history from disk: which files are the up migrations, in which order, and
//! which part of each file the runner runs — for the common layouts, told apart by their file names
//! (and, for goose and dbmate, by their section markers).
//!
//! | layout | files | order |
//! |---|---|---|
//! | diesel | `<version>_<name>/up.sql` | version, dashes ignored |
//! | Prisma | `<ts>_<name>/migration.sql` | folder name |
//! | up/down | `<v>_<name>.up.sql` (golang-migrate, sqlx reversible, ory/pop `.postgres.up.sql`) | version as a number |
//! | Flyway | `V<ver>__<desc>.sql`, several locations merged | version parts as numbers |
//! | goose | `<v>_<name>.sql` with `-- +goose Up` (only that section runs) | version as a number |
//! | dbmate | `<v>_<name>.sql` with `-- migrate:up` (only that section runs) | version as a number |
//! | sqlx | `<v>_<name>.sql` | version as a number |
//! | plain | any `*.sql`, also in version-named subfolders | natural order (`0002` before `00010`, `v1.9` before `v1.10`) |

use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The databases pop (ory) names in `<version>_<name>.<dialect>[.autocommit].up.sql`.
const POP_DIALECTS: [&str; 6] = ["postgres", "cockroach", "mysql", "sqlite3", "sqlite", "mssql"];

/// How a history is laid out (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Diesel,
    Prisma,
    UpDown,
    Flyway,
    Goose,
    Dbmate,
    Sqlx,
    Plain,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Diesel => "diesel",
            Layout::Prisma => "Prisma",
            Layout::UpDown => "up/down (golang-migrate, sqlx, pop)",
            Layout::Flyway => "Flyway",
            Layout::Goose => "goose",
            Layout::Dbmate => "dbmate",
            Layout::Sqlx => "sqlx",
            Layout::Plain => "plain ordered files",
        })
    }
}

/// One up migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Path relative to the history's first directory (what reports show).
    pub name: String,
    pub path: PathBuf,
    /// The whole file: what pgsafe is given.
    pub text: String,
    /// What the runner runs: the whole file, or its up section (goose, dbmate).
    pub up: String,
    /// Does the runner run it in one transaction? Every runner here does, unless the migration
    /// opts out (`-- no-transaction`, `-- +goose NO TRANSACTION`, `-- migrate:up transaction:false`,
    /// pop's `.autocommit.`, diesel's `run_in_transaction = false`); plain files run with `psql -f`.
    pub in_transaction: bool,
}

/// A history: its up migrations in run order.
#[derive(Debug, Clone)]
pub struct History {
    pub layout: Layout,
    pub migrations: Vec<Migration>,
    /// `*.sql` files in the directories that the runner would not run (a Prisma folder's loose
    /// files, Flyway's non-`V` scripts, other databases' pop files), relative names.
    pub ignored: Vec<String>,
    /// SQL the runner itself runs before the first migration and that the migrations rely on
    /// (golang-migrate's `schema_migrations` table, which harbor's migrations alter): run on both
    /// sides first, not compared as a migration. Set by the caller.
    pub preamble: Option<String>,
}

/// Read the history in `dirs` (usually one directory; Flyway merges several locations).
pub fn read(dirs: &[PathBuf]) -> Result<History, String> {
    let first = dirs.first().ok_or("no directory given")?;
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for dir in dirs {
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                subdirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                files.push(path);
            }
        }
    }
    // Names are relative to the folder the directories share (the directory itself, usually).
    let mut root = first.clone();
    while !dirs.iter().all(|d| d.starts_with(&root)) && root.pop() {}
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let in_subdirs = |file: &str| -> Vec<PathBuf> {
        subdirs.iter().map(|d| d.join(file)).filter(|p| p.is_file()).collect::<Vec<_>>()
    };

    // Migrations as folders: diesel, Prisma.
    for (layout, file) in [(Layout::Diesel, "up.sql"), (Layout::Prisma, "migration.sql")] {
        let mut found = in_subdirs(file);
        if found.is_empty() {
            continue;
        }
        found.sort_by(|a, b| {
            let key = |p: &Path| folder_name(p).replace('-', "");
            let version = |p: &Path| key(p).split('_').next().unwrap_or_default().to_string();
            match layout {
                Layout::Diesel => version(a).cmp(&version(b)).then_with(|| key(a).cmp(&key(b))),
                _ => folder_name(a).cmp(&folder_name(b)),
            }
        });
        let ignored = files.iter().map(|p| rel(p)).collect();
        return finish(layout, found, ignored, &rel);
    }

    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    // up/down pairs: golang-migrate, sqlx reversible, ory/pop (`.postgres.up.sql` beats a plain
    // `.up.sql` of the same version; other databases' files are not ours).
    if names.iter().any(|n| n.ends_with(".up.sql")) {
        let mut chosen: Vec<(String, bool, PathBuf)> = Vec::new(); // version, postgres-specific, path
        let mut ignored = Vec::new();
        for (path, name) in files.iter().zip(&names) {
            let Some(stem) = name.strip_suffix(".up.sql") else {
                if !name.ends_with(".down.sql") {
                    ignored.push(rel(path));
                }
                continue;
            };
            let stem = stem.strip_suffix(".autocommit").unwrap_or(stem);
            let dialect = POP_DIALECTS.iter().find(|d| stem.ends_with(&format!(".{d}")));
            let postgres = match dialect {
                None => false,
                Some(&"postgres") => true,
                Some(_) => {
                    ignored.push(rel(path));
                    continue;
                }
            };
            chosen.push((leading_digits(name).to_string(), postgres, path.clone()));
        }
        chosen.sort_by(|a, b| numeric(&a.0, &b.0).then(b.1.cmp(&a.1)).then_with(|| a.2.cmp(&b.2)));
        // A version with a `.postgres.` file runs that file, not its generic one (pop); two generic
        // files of one version both run, in name order (concourse has such a pair).
        let specific: std::collections::HashSet<&str> =
            chosen.iter().filter(|(v, postgres, _)| *postgres && !v.is_empty()).map(|(v, _, _)| v.as_str()).collect();
        let mut found: Vec<PathBuf> = Vec::new();
        for (version, postgres, path) in &chosen {
            if !postgres && specific.contains(version.as_str()) {
                ignored.push(rel(path));
                continue;
            }
            found.push(path.clone());
        }
        ignored.sort();
        return finish(Layout::UpDown, found, ignored, &rel);
    }

    // Flyway: `V<version>__<description>.sql`, locations merged by version.
    if names.iter().any(|n| flyway_version(n).is_some()) {
        let (mut found, ignored): (Vec<PathBuf>, Vec<PathBuf>) =
            files.iter().cloned().partition(|p| flyway_version(&file_name(p)).is_some());
        found.sort_by(|a, b| {
            flyway_cmp(&flyway_version(&file_name(a)).unwrap(), &flyway_version(&file_name(b)).unwrap())
        });
        let ignored = ignored.iter().map(|p| rel(p)).collect();
        return finish(Layout::Flyway, found, ignored, &rel);
    }

    if !files.is_empty() {
        let texts: Vec<String> = files.iter().map(|p| fs::read_to_string(p).unwrap_or_default()).collect();
        let has = |marker: &str| texts.iter().any(|t| section(t, marker, "").is_some());
        let layout = if has("+goose up") {
            Layout::Goose
        } else if has("migrate:up") {
            Layout::Dbmate
        } else if names.iter().all(|n| !leading_digits(n).is_empty() && n[leading_digits(n).len()..].starts_with('_')) {
            Layout::Sqlx
        } else {
            Layout::Plain
        };
        let mut found = files.clone();
        match layout {
            Layout::Plain => found.sort_by(|a, b| natural(&rel(a), &rel(b))),
            _ => found.sort_by(|a, b| {
                numeric(leading_digits(&file_name(a)), leading_digits(&file_name(b)))
                    .then_with(|| file_name(a).cmp(&file_name(b)))
            }),
        }
        return finish(layout, found, Vec::new(), &rel);
    }

    // Plain files in version-named folders (temporal `versioned/v1.10/`, `3.2.0_schema/postgresql/`).
    if !subdirs.is_empty() {
        let mut found = Vec::new();
        plain_tree(&subdirs, &mut found);
        if !found.is_empty() {
            return finish(Layout::Plain, found, Vec::new(), &rel);
        }
    }
    Err(format!("{}: no migration files in a known layout", first.display()))
}

/// Every `*.sql` under `dirs`, folders in natural order, a folder's files before its subfolders.
fn plain_tree(dirs: &[PathBuf], out: &mut Vec<PathBuf>) {
    let mut dirs = dirs.to_vec();
    dirs.sort_by(|a, b| natural(&file_name(a), &file_name(b)));
    for dir in dirs {
        let mut files = Vec::new();
        let mut subdirs = Vec::new();
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                subdirs.push(p);
            } else if p.extension().is_some_and(|e| e == "sql") {
                files.push(p);
            }
        }
        files.sort_by(|a, b| natural(&file_name(a), &file_name(b)));
        out.extend(files);
        plain_tree(&subdirs, out);
    }
}

fn finish(
    layout: Layout,
    paths: Vec<PathBuf>,
    ignored: Vec<String>,
    rel: &dyn Fn(&Path) -> String,
) -> Result<History, String> {
    let mut migrations = Vec::new();
    for path in paths {
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        let up = match layout {
            Layout::Goose => section(&text, "+goose up", "+goose down").unwrap_or_default(),
            Layout::Dbmate => section(&text, "migrate:up", "migrate:down").unwrap_or_default(),
            _ => text.clone(),
        };
        let in_transaction = match layout {
            Layout::Plain => false,
            Layout::Diesel => !fs::read_to_string(path.with_file_name("metadata.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.replace(' ', "") == "run_in_transaction=false")),
            Layout::Prisma | Layout::Flyway => true,
            Layout::UpDown => !file_name(&path).contains(".autocommit.") && !text.starts_with("-- no-transaction"),
            Layout::Sqlx => !text.starts_with("-- no-transaction"),
            Layout::Goose => !text.lines().any(|l| l.trim().eq_ignore_ascii_case("-- +goose NO TRANSACTION")),
            Layout::Dbmate => {
                !text.lines().any(|l| l.trim().starts_with("-- migrate:up") && l.contains("transaction:false"))
            }
        };
        migrations.push(Migration { name: rel(&path), path, text, up, in_transaction });
    }
    Ok(History { layout, migrations, ignored, preamble: None })
}

/// The lines after the `-- <start>` marker line up to the `-- <end>` marker line (markers compared
/// case-insensitively, after `--` and spaces; `migrate:up transaction:false` counts as
/// `migrate:up`), or `None` when there is no start marker. Line numbers are kept: the lines before
/// the section become empty, so the runner's errors point at the file's own lines.
pub fn section(text: &str, start: &str, end: &str) -> Option<String> {
    let marker = |line: &str, m: &str| {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("--") else {
            return false;
        };
        let rest = rest.trim().to_ascii_lowercase();
        !m.is_empty() && (rest == m || rest.starts_with(&format!("{m} ")))
    };
    let mut out = String::new();
    let mut inside = false;
    let mut seen = false;
    for line in text.split_inclusive('\n') {
        if marker(line, start) {
            inside = true;
            seen = true;
            out.push('\n');
            continue;
        }
        if marker(line, end) {
            inside = false;
        }
        if inside {
            out.push_str(line);
        } else {
            out.push('\n');
        }
    }
    seen.then_some(out)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn folder_name(p: &Path) -> String {
    p.parent().map(file_name).unwrap_or_default()
}

fn leading_digits(s: &str) -> &str {
    &s[..s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len())]
}

/// Two digit strings as numbers (of any length).
fn numeric(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Natural order: digit runs compare as numbers, the rest as text.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (da, db) = (leading_digits(a), leading_digits(b));
        let ord = if !da.is_empty() && !db.is_empty() {
            let o = numeric(da, db);
            a = &a[da.len()..];
            b = &b[db.len()..];
            o
        } else {
            let (ca, cb) = (a.chars().next().unwrap(), b.chars().next().unwrap());
            a = &a[ca.len_utf8()..];
            b = &b[cb.len_utf8()..];
            ca.cmp(&cb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// `V7.0_2019.07.31__name.sql` → `["7", "0", "2019", "07", "31"]` (Flyway reads `_` as `.`).
fn flyway_version(name: &str) -> Option<Vec<String>> {
    let rest = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (version, _) = rest.split_once("__")?;
    let parts: Vec<String> = version.split(['.', '_']).map(str::to_string).collect();
    (!parts.is_empty() && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))).then_some(parts)
}

/// Flyway's version order: part by part as numbers, missing parts count as 0 (`1.0` = `1`).
fn flyway_cmp(a: &[String], b: &[String]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).map_or("0", String::as_str), b.get(i).map_or("0", String::as_str));
        let o = numeric(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(files: &[(&str, &str)]) -> (tempfile::TempDir, History) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let h = read(&[dir.path().to_path_buf()]).unwrap();
        (dir, h)
    }

    fn names(h: &History) -> Vec<&str> {
        h.migrations.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn diesel_and_prisma_folders() {
        let (_d, h) = history(&[
            ("2024-01-02-000000_b/up.sql", "b"),
            ("00000000000000_diesel_initial_setup/up.sql", "a"),
            ("2024-01-02-000000_b/down.sql", "x"),
        ]);
        assert_eq!(h.layout, Layout::Diesel);
        assert_eq!(names(&h), ["00000000000000_diesel_initial_setup/up.sql", "2024-01-02-000000_b/up.sql"]);
        let (_d, h) = history(&[
            ("20230102_b/migration.sql", "b"),
            ("20230101_a/migration.sql", "a"),
            ("loose.sql", "not run by Prisma"),
        ]);
        assert_eq!(h.layout, Layout::Prisma);
        assert_eq!(names(&h), ["20230101_a/migration.sql", "20230102_b/migration.sql"]);
        assert_eq!(h.ignored, ["loose.sql"]);
    }

    #[test]
    fn up_files_by_version_number_with_the_postgres_file_winning() {
        let (_d, h) = history(&[
            ("10_c.up.sql", "c"),
            ("9_b.up.sql", "b"),
            ("9_b.down.sql", "x"),
            ("1_a.up.sql", "generic"),
            ("1_a.postgres.up.sql", "postgres"),
            ("1_a.mysql.up.sql", "mysql"),
            ("2_d.autocommit.up.sql", "d"),
            ("3_1.7.0_schema.up.sql", "e"),
            ("3_another.up.sql", "f"),
        ]);
        assert_eq!(h.layout, Layout::UpDown);
        assert_eq!(
            names(&h),
            [
                "1_a.postgres.up.sql",
                "2_d.autocommit.up.sql",
                "3_1.7.0_schema.up.sql",
                "3_another.up.sql",
                "9_b.up.sql",
                "10_c.up.sql"
            ]
        );
        assert_eq!(h.ignored, ["1_a.mysql.up.sql", "1_a.up.sql"]);
    }

    #[test]
    fn flyway_versions_in_numeric_order_across_locations() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        for (dir, name) in
            [(&a, "V1.10__c.sql"), (&a, "V1.9__b.sql"), (&b, "V1.9.1__extra.sql"), (&a, "V1__a.sql"), (&a, "misc.sql")]
        {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join(name), "SELECT 1;").unwrap();
        }
        let h = read(&[a, b]).unwrap();
        assert_eq!(h.layout, Layout::Flyway);
        let files: Vec<String> = h.migrations.iter().map(|m| file_name(&m.path)).collect();
        assert_eq!(files, ["V1__a.sql", "V1.9__b.sql", "V1.9.1__extra.sql", "V1.10__c.sql"]);
        assert_eq!(h.ignored, ["a/misc.sql"]);
    }

    #[test]
    fn goose_and_dbmate_run_only_their_up_sections() {
        let goose = "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n";
        let (_d, h) = history(&[("20_b.sql", goose), ("3_a.sql", "-- +goose Up\nSELECT 1;\n")]);
        assert_eq!(h.layout, Layout::Goose);
        assert_eq!(names(&h), ["3_a.sql", "20_b.sql"]);
        assert_eq!(h.migrations[1].up, "\nCREATE TABLE t (id int);\n\n\n");
        assert_eq!(h.migrations[1].text, goose, "pgsafe gets the whole file");
        let dbmate = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- migrate:down\nDROP INDEX i;\n";
        let (_d, h) = history(&[("1_a.sql", dbmate)]);
        assert_eq!(h.layout, Layout::Dbmate);
        assert!(h.migrations[0].up.contains("CONCURRENTLY") && !h.migrations[0].up.contains("DROP"));
    }

    #[test]
    fn sqlx_and_plain_files() {
        let (_d, h) = history(&[("20240101_b.sql", "b"), ("3_a.sql", "a")]);
        assert_eq!(h.layout, Layout::Sqlx);
        assert_eq!(names(&h), ["3_a.sql", "20240101_b.sql"]);
        let (_d, h) = history(&[("00010-search.sql", "c"), ("0002-storage.sql", "b"), ("0001-init.sql", "a")]);
        assert_eq!(h.layout, Layout::Plain);
        assert_eq!(names(&h), ["0001-init.sql", "0002-storage.sql", "00010-search.sql"]);
        let (_d, h) =
            history(&[("v1.10/x.sql", "c"), ("v1.9/b.sql", "b"), ("v1.9/a.sql", "a"), ("v1.0/schema.sql", "s")]);
        assert_eq!(h.layout, Layout::Plain);
        assert_eq!(names(&h), ["v1.0/schema.sql", "v1.9/a.sql", "v1.9/b.sql", "v1.10/x.sql"]);
    }
}
