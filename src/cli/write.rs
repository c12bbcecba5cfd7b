//! Apply a runner layout to the migrations directory: every new file is first written beside its
//! final place, and only when all are written are they renamed into place and the files the
//! layout replaces removed. A failure before that leaves the directory as it was.

use anyhow::{Context, Result};
use pgsafe::emit::write::link_target;
use pgsafe::runner::Layout;
use std::fs;
use std::path::{Path, PathBuf};

/// Write `layout` under `root`. `overwrite`: existing files may be replaced (else refused, with
/// `advice` on what the user can do).
pub fn apply(root: &Path, layout: &Layout, overwrite: bool, advice: &str, keep: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    // (temporary file, where it goes, the path as the layout names it)
    let mut temps: Vec<(PathBuf, PathBuf, PathBuf)> = Vec::new();
    // Ctrl-C while writing is noted, not obeyed, until the files are all in place or all removed.
    let section = pgsafe::interrupt::critical();
    let result = (|| -> Result<()> {
        for (rel, text) in &layout.write {
            let path = root.join(rel);
            if path.exists() && !overwrite && !keep.contains(&path) {
                anyhow::bail!("{} exists: pgsafe does not overwrite a migration ({advice})", path.display());
            }
            let dir = path.parent().unwrap_or(root).to_path_buf();
            if !dir.exists() {
                let mut missing = vec![dir.clone()];
                while let Some(p) =
                    missing.last().and_then(|d| d.parent()).filter(|p| !p.as_os_str().is_empty() && !p.exists())
                {
                    missing.push(p.to_path_buf());
                }
                fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                created_dirs.extend(missing.into_iter().rev());
            }
            // A symbolic link stays one: the file it points to gets the new text (renamed over,
            // the link itself was replaced by a copy of the plan).
            let target = link_target(&path);
            let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let tmp = target.with_file_name(format!(".{name}.pgsafe-{}", std::process::id()));
            // Listed before the write, so that a partly written one is removed too.
            temps.push((tmp.clone(), target.clone(), path.clone()));
            fs::write(&tmp, text).with_context(|| format!("cannot write {}", path.display()))?;
            // A file it replaces keeps its permissions (a 0600 draft became 0644, readable by all).
            if let Ok(old) = fs::metadata(&target) {
                fs::set_permissions(&tmp, old.permissions())
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
            }
            anyhow::ensure!(!section.interrupted(), "interrupted: nothing was changed");
        }
        Ok(())
    })();
    if let Err(e) = result {
        temps.iter().for_each(|(t, _, _)| drop(fs::remove_file(t)));
        created_dirs.iter().rev().for_each(|d| drop(fs::remove_dir(d)));
        return Err(e);
    }
    let mut written = Vec::new();
    for (tmp, target, path) in temps {
        fs::rename(&tmp, &target).with_context(|| format!("cannot move {} into place", path.display()))?;
        written.push(path);
    }
    for rel in &layout.remove {
        let path = root.join(rel);
        if !written.contains(&path) {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(written)
}
