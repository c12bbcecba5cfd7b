//! Alembic (`alembic upgrade head`): `versions/<rev>_<slug>.py`, chained by `down_revision`.
//! Alembic's default `env.py` runs every pending revision in **one** transaction, so a step cannot
//! rely on it for its own boundaries: every step runs in `op.get_context().autocommit_block()`
//! (which commits what came before), a transaction step as one `op.execute` holding pgsafe's own
//! `BEGIN … COMMIT` (the server runs it as one explicit transaction), an autocommit step as one
//! `op.execute` per statement. Revision ids are derived from the draft and the step, so output is
//! deterministic; the first revises the directory's current head.

use super::python::{comments, modules, string};
use super::{Layout, Placement, PlanView};
use sha2::{Digest, Sha256};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let mut revisions = Vec::new();
    let mut downs = Vec::new();
    for (_, text) in modules(at) {
        for line in text.lines() {
            let value = || line.split_once('=').map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string());
            if line.starts_with("revision") {
                revisions.extend(value());
            } else if line.starts_with("down_revision") {
                downs.extend(value());
            }
        }
    }
    let heads: Vec<&String> = revisions.iter().filter(|r| !downs.contains(r)).collect();
    if heads.len() > 1 {
        return Err(format!(
            "{}: Alembic has several heads ({}): merge them first, pgsafe will not add a branch",
            at.root.display(),
            heads.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut previous = heads.first().map(|h| h.to_string());
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let digest = Sha256::digest(format!("{}\n{}\n{}", plan.draft, i, step.psql_text()).as_bytes());
        let rev: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let mut upgrade = String::from("    with op.get_context().autocommit_block():\n");
        let executes: Vec<String> = if step.autocommit { step.one_by_one() } else { vec![step.body()] };
        for sql in executes {
            upgrade.push_str(&format!("        op.execute({})\n", string(&escape_binds(&sql))));
        }
        let downgrade = match (i, plan.down) {
            (0, Some(down)) => format!("    op.execute({})\n", string(&escape_binds(down))),
            _ => "    pass\n".into(),
        };
        let text = format!(
            "\"\"\"{slug}\n\nRevision ID: {rev}\nRevises: {prev}\n\"\"\"\n{header}from alembic import op\n\nrevision = \"{rev}\"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n{upgrade}\n\ndef downgrade():\n{downgrade}",
            slug = step.slug,
            prev = previous.as_deref().unwrap_or(""),
            header = comments(&step.header),
            down = previous.as_ref().map_or("None".to_string(), |p| format!("\"{p}\"")),
        );
        out.add_step(format!("{rev}_{}.py", step.slug.chars().take(40).collect::<String>()), text);
        previous = Some(rev);
    }
    Ok(out)
}

/// SQLAlchemy's `text()` reads `:name` as a bind parameter; `\:` is a literal colon.
fn escape_binds(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut prev = ' ';
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let next_word = chars.peek().is_some_and(|n| n.is_alphanumeric() || *n == '_');
        if c == ':' && next_word && prev != ':' && !(prev.is_alphanumeric() || prev == '_' || prev == '\\') {
            out.push('\\');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn binds_are_escaped_casts_are_not() {
        assert_eq!(super::escape_binds("SELECT ':x', 1::int"), "SELECT '\\:x', 1::int");
    }
}
