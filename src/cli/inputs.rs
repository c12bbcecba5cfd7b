//! The files a command works on: paths as given, directories searched for migrations (`*.sql`,
//! down files and sqitch's revert/verify scripts left out), glob patterns expanded. The order is
//! deterministic: inputs in the order given, each directory's files sorted, duplicates dropped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One input: a file to compile, or an input that named nothing usable (reported, exit 2).
pub enum Input {
    File(PathBuf),
    Bad { path: String, error: String },
}

/// Is this file a forward migration a runner would run (not a down/revert/verify script)?
pub fn is_migration(path: &Path) -> bool {
    pgsafe::runner::is_forward_migration(path)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        // Not through symbolic links (a link to `.` walked 2^40 paths) and only regular files (a
        // FIFO named `*.sql` blocked the read for ever).
        let Ok(kind) = std::fs::symlink_metadata(&p).map(|m| m.file_type()) else { continue };
        if kind.is_dir() {
            walk(&p, out)?;
        } else if (kind.is_file() || kind.is_symlink() && p.metadata().is_ok_and(|m| m.is_file())) && is_migration(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Expand `args` (files, directories, globs) into inputs.
pub fn expand(args: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |out: &mut Vec<Input>, p: PathBuf| {
        // One file however it is spelled (`m/x.sql`, `./m/x.sql`, `m//x.sql`): fixed twice, its
        // second fix found the first's steps in the way.
        if seen.insert(std::path::absolute(&p).unwrap_or_else(|_| p.clone()).components().collect::<PathBuf>()) {
            out.push(Input::File(p));
        }
    };
    for arg in args {
        let text = arg.to_string_lossy();
        if text == "-" || arg.is_file() {
            push(&mut out, arg.clone());
        } else if arg.is_dir() {
            let mut found = Vec::new();
            match walk(arg, &mut found) {
                Ok(()) if found.is_empty() => {
                    out.push(Input::Bad { path: text.into(), error: "no migration (*.sql) in this directory".into() })
                }
                Ok(()) => found.into_iter().for_each(|p| push(&mut out, p)),
                Err(e) => out.push(Input::Bad { path: text.into(), error: format!("cannot read the directory: {e}") }),
            }
        } else if text.contains(['*', '?', '[']) {
            let mut found: Vec<PathBuf> = match glob::glob(&text) {
                Ok(paths) => paths.filter_map(Result::ok).filter(|p| p.is_file()).collect(),
                Err(e) => {
                    out.push(Input::Bad { path: text.into(), error: format!("not a valid pattern: {e}") });
                    continue;
                }
            };
            found.sort();
            if found.is_empty() {
                out.push(Input::Bad { path: text.into(), error: "no file matches this pattern".into() });
            }
            found.into_iter().for_each(|p| push(&mut out, p));
        } else {
            out.push(Input::Bad { path: text.into(), error: "no such file or directory".into() });
        }
    }
    out
}
