//! Write the plan directory atomically: build it in a temporary sibling, then rename it into place,
//! so a failure never leaves a half-written plan.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;

/// Write `files` (name, contents) as directory `dir`. An existing non-empty `dir` is refused unless
/// `force`, in which case it is replaced whole.
pub fn write_dir(dir: &Path, files: &[(String, String)], force: bool) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a directory", dir.display());
        }
        let non_empty = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?.next().is_some();
        if non_empty && !force {
            bail!("{} is not empty: pass --force to replace it", dir.display());
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "plan".into());
    let tmp = parent.join(format!(".{base}.pgsafe-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let result = (|| -> Result<()> {
        fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        for (name, text) in files {
            fs::write(tmp.join(name), text).with_context(|| format!("cannot write {name}"))?;
        }
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("cannot replace {}", dir.display()))?;
        }
        fs::rename(&tmp, dir).with_context(|| format!("cannot move the plan into {}", dir.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// Replace one file atomically (write a sibling, then rename over it).
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.pgsafe-{}", std::process::id()));
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}
