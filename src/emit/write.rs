//! Write the plan directory without ever losing a file pgsafe did not write.
//!
//! The new plan is built whole in a fresh hidden sibling directory; only then is the old
//! directory moved aside, the new one renamed into place, and the old one removed. An `-o` that
//! is or contains the draft, is the working directory or one of its ancestors, is a symbolic link,
//! or holds anything but a previous pgsafe plan (the files its `manifest.json` lists) is refused
//! before anything is touched: `--force` replaces a previous plan, nothing else.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Write `files` (name, contents) as directory `dir`, each as it comes. A non-empty `dir` is
/// replaced only with `force`, and only when it is a previous pgsafe plan. `keep` lists paths
/// that must survive (the draft): a `dir` that is or contains one of them is refused.
pub fn write_dir(
    dir: &Path,
    files: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<[u8]>)>,
    force: bool,
    keep: &[&Path],
) -> Result<()> {
    refuse_unsafe_target(dir, keep)?;
    let exists = match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            bail!("{} is a symbolic link: give the plan directory itself", dir.display())
        }
        Ok(meta) if !meta.is_dir() => bail!("{} exists and is not a directory", dir.display()),
        Ok(_) => true,
        Err(_) => false,
    };
    if exists {
        let entries = entries(dir)?;
        if !entries.is_empty() {
            if !force {
                bail!("{} is not empty: pass --force to replace a previous pgsafe plan there", dir.display());
            }
            let foreign = not_written_by_pgsafe(dir, &entries);
            if let Some(first) = foreign.first() {
                bail!(
                    "{} holds {} that a pgsafe plan did not write ({}{}): refusing to replace it, even with --force",
                    dir.display(),
                    if foreign.len() == 1 { "a file" } else { "files" },
                    first,
                    if foreign.len() > 1 { format!(" and {} more", foreign.len() - 1) } else { String::new() }
                );
            }
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "plan".into());
    sweep_stale_new(&parent, &base);
    // From here on, Ctrl-C is noted and acted on between files (see `interrupt`).
    let section = crate::interrupt::critical();
    let tmp = fresh_sibling(&parent, &format!(".{base}.pgsafe-new"))?;
    let built = (|| -> Result<()> {
        for (name, text) in files {
            if section.interrupted() {
                bail!("interrupted: nothing was written");
            }
            let name = name.as_ref();
            fs::write(tmp.join(name), text).with_context(|| format!("cannot write {}", dir.join(name).display()))?;
        }
        if section.interrupted() {
            bail!("interrupted: nothing was written");
        }
        Ok(())
    })();
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // The new plan is complete: only now does the old one move aside.
    let old = if exists {
        let old = fresh_sibling(&parent, &format!(".{base}.pgsafe-old"))?;
        fs::remove_dir(&old).with_context(|| format!("cannot prepare {}", old.display()))?;
        if let Err(e) = fs::rename(dir, &old) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e).with_context(|| format!("cannot move the old plan in {} aside", dir.display()));
        }
        Some(old)
    } else {
        None
    };
    if let Err(e) = fs::rename(&tmp, dir) {
        if let Some(old) = &old {
            let _ = fs::rename(old, dir);
        }
        let _ = fs::remove_dir_all(&tmp);
        return Err(e).with_context(|| format!("cannot move the plan into {}", dir.display()));
    }
    if let Some(old) = old {
        fs::remove_dir_all(&old)
            .with_context(|| format!("wrote {}, but cannot remove {}", dir.display(), old.display()))?;
    }
    Ok(())
}

/// Refuse a target that is `.` or an ancestor of the working directory, or that is or contains
/// one of `keep`.
fn refuse_unsafe_target(dir: &Path, keep: &[&Path]) -> Result<()> {
    let target = absolute(dir);
    if let Ok(cwd) = std::env::current_dir() {
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        if cwd.starts_with(&target) {
            bail!(
                "{} is the working directory or one of its parents: give pgsafe a directory of its own for the plan",
                dir.display()
            );
        }
    }
    for k in keep {
        if absolute(k).starts_with(&target) {
            bail!("{} is or contains {}: give pgsafe a directory of its own for the plan", dir.display(), k.display());
        }
    }
    Ok(())
}

/// `path` made absolute with symbolic links resolved, as far as it exists (a directory that is
/// not there yet keeps its remaining components).
fn absolute(path: &Path) -> PathBuf {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|c| c.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// The names in `dir`.
fn entries(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The entries of `dir` that its `manifest.json` (written by pgsafe) does not account for: every
/// entry when there is no such manifest.
fn not_written_by_pgsafe(dir: &Path, entries: &[String]) -> Vec<String> {
    let manifest = fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .filter(|j| j.get("pgsafe").is_some_and(|v| v.is_string()) && j.get("steps").is_some_and(|v| v.is_array()));
    let Some(manifest) = manifest else { return entries.to_vec() };
    // A set: a plan of a million steps checked its names against a list, a scan for each file.
    let mut ours: std::collections::HashSet<&str> = std::collections::HashSet::from(["manifest.json"]);
    for step in manifest["steps"].as_array().into_iter().flatten() {
        ours.extend(step["file"].as_str());
    }
    ours.extend(manifest["down"].as_str());
    entries
        .iter()
        .filter(|e| {
            let plain_file = fs::symlink_metadata(dir.join(e)).is_ok_and(|m| m.is_file());
            !(plain_file && ours.contains(e.as_str()))
        })
        .cloned()
        .collect()
}

/// Remove the `.BASE.pgsafe-new-PID[.N]` directories a killed pgsafe (SIGKILL, a power cut) left
/// in `parent`, once their process is gone. Only those: a new plan not yet in place can be made
/// again, where a `-old-` one may be the only copy of the previous plan. Best effort.
fn sweep_stale_new(parent: &Path, base: &str) {
    let prefix = format!(".{base}.pgsafe-new-");
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let (pid, n) = rest.split_once('.').unwrap_or((rest, "0"));
        let numbers = [pid, n].iter().all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        let Some(pid) = pid.parse().ok().filter(|_| numbers).and_then(rustix::process::Pid::from_raw) else {
            continue;
        };
        // ESRCH: no such process. A live one, or one this user may not signal, keeps its directory.
        let gone = rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH);
        if gone && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A new, empty directory `parent/prefix[.N]` that did not exist before (never an existing one).
fn fresh_sibling(parent: &Path, prefix: &str) -> Result<PathBuf> {
    for n in 0..1000u32 {
        let name = if n == 0 {
            format!("{prefix}-{}", std::process::id())
        } else {
            format!("{prefix}-{}.{n}", std::process::id())
        };
        let path = parent.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    bail!("cannot create a temporary directory in {}", parent.display())
}

/// Where a write that replaces `path` must go: where a symbolic link points (renamed over, the
/// link itself became a plain file and its target was left as it was), else `path` itself.
pub fn link_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// Replace one file atomically (write a sibling, then rename over it); a symbolic link stays one,
/// and the file it points to is replaced.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let target = link_target(path);
    let path = target.as_path();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.pgsafe-{}", std::process::id()));
    let section = crate::interrupt::critical();
    // The file it replaces keeps its permissions (a 0600 draft became 0644, readable by all).
    let keep_mode = |()| match fs::metadata(path) {
        Ok(old) => {
            fs::set_permissions(&tmp, old.permissions()).with_context(|| format!("cannot write {}", tmp.display()))
        }
        Err(_) => Ok(()),
    };
    let written = fs::write(&tmp, text)
        .with_context(|| format!("cannot write {}", tmp.display()))
        .and_then(keep_mode)
        .and_then(|()| match section.interrupted() {
            true => bail!("interrupted: {} was not changed", path.display()),
            false => fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display())),
        });
    if written.is_err() {
        // A full disk or an interruption leaves no partial sibling behind.
        let _ = fs::remove_file(&tmp);
    }
    written
}
