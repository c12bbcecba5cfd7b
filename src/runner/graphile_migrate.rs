//! graphile-migrate: you write `migrations/current.sql`; `graphile-migrate commit` turns it into
//! ONE committed migration, `migrations/committed/NNNNNN[-message].sql`, whose header chains it to
//! the one before (`--! Previous: <hash>` or `-`, `--! Hash: sha1:<hex>`, a blank line, the
//! body). `graphile-migrate migrate` runs each committed file in a transaction unless its body's
//! first line is `--! no-transaction`, and sends the body as one query; it checks every hash and
//! refuses a file whose hash or previous hash does not match (src/migration.ts, src/hash.ts,
//! src/header.ts).
//!
//! Since one commit is one transaction, a plan of several steps cannot stay in `current.sql`: the
//! steps become committed migrations after the last one, with the hash chain computed as
//! `graphile-migrate commit` computes it, and `current.sql` is blank again. Unlike `commit`, pgsafe
//! does not run them on the shadow database first: `graphile-migrate reset --shadow` does that.

use super::{Layout, Placement, PlanView};
use sha1::{Digest, Sha1};

/// graphile-migrate's blank `current.sql`.
const BLANK: &str = "-- Enter migration here\n";

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    if at.draft != "current.sql" {
        return Err(format!(
            "{}: pgsafe lays out graphile-migrate's migrations/current.sql (the migration being written); a committed \
             migration is never rewritten, and a current/ directory is not supported",
            at.draft
        ));
    }
    let (mut number, mut previous) = last_committed(&at.root.join("committed"))?;
    let mut out = Layout::default();
    for step in plan.steps {
        number += 1;
        let body = if step.autocommit {
            format!("--! no-transaction\n{}{}", step.header, out.one_query(step, "graphile-migrate")?)
        } else {
            format!("{}{}", step.header, step.wrapped_body("graphile-migrate")?)
        };
        // graphile-migrate reads a body back trimmed, with one line break.
        let body = format!("{}\n", body.trim());
        let hash = hash(&body, previous.as_deref());
        out.add_step(
            format!("committed/{number:06}-{}.sql", step.slug),
            format!("--! Previous: {}\n--! Hash: {hash}\n\n{body}", previous.as_deref().unwrap_or("-")),
        );
        previous = Some(hash);
    }
    out.add("current.sql", BLANK);
    out.notes.push(
        "graphile-migrate: the plan's steps are committed migrations (hash chain computed), current.sql is blank \
         again; they were not run on the shadow database as `graphile-migrate commit` would: run `graphile-migrate \
         reset --shadow` to check them"
            .into(),
    );
    if plan.down.is_some() {
        out.notes.push("graphile-migrate has no down migrations: the draft's down section was left out".into());
    }
    Ok(out)
}

/// A committed migration's hash: `sha1:` and the hex SHA-1 of the previous hash, a line break and
/// the trimmed body (just the body for the first), trimmed, plus a line break (src/hash.ts).
pub fn hash(body: &str, previous: Option<&str>) -> String {
    let text = format!("{}\n{}", previous.unwrap_or(""), body.trim());
    let digest = Sha1::digest(format!("{}\n", text.trim()).as_bytes());
    format!("sha1:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The number and hash of the last committed migration (`0`, `None` when there is none).
fn last_committed(dir: &std::path::Path) -> Result<(u64, Option<String>), String> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|name| {
            let stem = name.strip_suffix(".sql")?;
            let (digits, rest) = stem.split_at(stem.find(|c: char| !c.is_ascii_digit()).unwrap_or(stem.len()));
            let valid = !digits.is_empty()
                && (rest.is_empty()
                    || rest.starts_with('-')
                        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            Some((name.clone(), digits.parse().ok().filter(|_| valid)?))
        })
        .collect();
    // Its order: by number as written, "000002.sql" < "000010.sql".
    files.sort_by_key(|(_, n)| *n);
    let Some((name, number)) = files.pop() else { return Ok((0, None)) };
    let text = std::fs::read_to_string(dir.join(&name)).map_err(|e| format!("committed/{name}: {e}"))?;
    let hash = text
        .lines()
        .take_while(|l| l.starts_with("--! "))
        .find_map(|l| l.strip_prefix("--! Hash:"))
        .map(|h| h.trim().to_string())
        .ok_or_else(|| format!("committed/{name}: no `--! Hash:` header"))?;
    Ok((number, Some(hash)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_chains_the_previous_one() {
        let first = super::hash("SELECT 1;\n", None);
        assert!(first.starts_with("sha1:") && first.len() == 45);
        // Trimming: the same body with other surrounding white space hashes the same.
        assert_eq!(super::hash("\n SELECT 1;\n\n", None), first);
        assert_ne!(super::hash("SELECT 1;\n", Some(&first)), first);
    }
}
