//! Atlas (`atlas migrate apply`): `<version>_<name>.sql` in name order, plus `atlas.sum`, the
//! directory's integrity file, which must be recomputed whenever a file is added or changed.
//! Each file runs in a transaction unless it starts with the file directive
//! `-- atlas:txmode none` followed by a blank line; statements are sent one by one. Atlas
//! refuses files out of order, so new steps take the versions right after the draft's.

use super::version;
use super::{Layout, Placement, PlanView};
use base64::Engine;
use sha2::{Digest, Sha256};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let stem = at.draft.strip_suffix(".sql").unwrap_or(&at.draft);
    let v = version::prefix(stem)
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| format!("{}: Atlas runs files named <version>_<name>.sql", at.draft))?;
    let existing: Vec<String> = at.existing.iter().filter_map(|n| version::prefix(n).map(String::from)).collect();
    let versions = version::after(v, plan.steps.len(), &existing, "Atlas")?;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let name = if i == 0 { at.draft.clone() } else { format!("{}_{}.sql", versions[i - 1], step.slug) };
        // The draft's own `-- atlas:txmode` directive said how the draft runs; each step says
        // how it runs (kept in a transactional step, it ran its `SET LOCAL` timeouts outside a
        // transaction, where they do nothing).
        let text = if step.autocommit {
            format!("-- atlas:txmode none\n\n{}", without_txmode(&step.psql_text()))
        } else {
            without_txmode(&format!("{}{}", step.header, step.wrapped_body("Atlas")?))
        };
        out.add_step(name, text);
    }
    if plan.down.is_some() {
        out.notes
            .push("Atlas versioned migrations have no down sections: the draft's down section was left out".into());
    }
    // atlas.sum over every .sql file of the directory as it will be.
    let mut files: std::collections::BTreeMap<&str, &str> = at
        .read
        .iter()
        .filter(|(n, _)| n.ends_with(".sql") && **n != at.draft)
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    for (n, t) in &out.write {
        files.insert(n, t);
    }
    out.add("atlas.sum", sum(files.into_iter()));
    Ok(out)
}

/// The text of `atlas.sum` for `files` (name, contents) in name order: each file's hash is the
/// running SHA-256 of every name and contents so far; the first line sums the list
/// (sql/migrate/dir.go: NewHashFile, HashFile.Sum, MarshalText).
pub fn sum<'a>(files: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mut running = Sha256::new();
    let mut entries: Vec<(String, String)> = Vec::new();
    for (name, text) in files {
        running.update(name.as_bytes());
        if sum_ignored(text) {
            continue;
        }
        running.update(text.as_bytes());
        entries.push((name.to_string(), b64(&running.clone().finalize())));
    }
    let mut total = Sha256::new();
    for (n, h) in &entries {
        total.update(n.as_bytes());
        total.update(h.as_bytes());
    }
    let mut out = format!("h1:{}\n", b64(&total.finalize()));
    for (n, h) in entries {
        out.push_str(&format!("{n} h1:{h}\n"));
    }
    out
}

/// `text` without its `-- atlas:txmode …` directive lines.
fn without_txmode(text: &str) -> String {
    let directive =
        |l: &str| l.trim_start().strip_prefix("--").is_some_and(|c| c.trim_start().starts_with("atlas:txmode"));
    text.split_inclusive('\n').filter(|l| !directive(l)).collect()
}

/// `-- atlas:sum ignore` as a file directive.
fn sum_ignored(text: &str) -> bool {
    text.lines().next().is_some_and(|l| l.trim_start_matches(['-', ' ']).starts_with("atlas:sum ignore"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sum_is_cumulative() {
        let one = super::sum([("1_a.sql", "SELECT 1;\n")].into_iter());
        let two = super::sum([("1_a.sql", "SELECT 1;\n"), ("2_b.sql", "SELECT 2;\n")].into_iter());
        let line = one.lines().nth(1).unwrap();
        assert_eq!(two.lines().nth(1).unwrap(), line, "the first file's hash does not depend on later ones");
        assert_ne!(one.lines().next(), two.lines().next());
        assert_eq!(two.lines().count(), 3);
    }
}
