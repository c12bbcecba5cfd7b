//! The rule catalogue for reports and `pgsafe rules`/`pgsafe explain`: each rule's page
//! (`rewrites/<rule>.md`, embedded at build time) and a one-line summary taken from it.

/// `not-understood` is not a pass: the front end reports a statement it could not parse that may
/// take strong locks.
pub const NOT_UNDERSTOOD: &str = "not-understood";

const NOT_UNDERSTOOD_DOC: &str = "# `not-understood`\n\n**Reports:** a statement pgsafe could not parse that may take strong table locks (an \
`ALTER`, `LOCK`, `CLUSTER`, … in a form its grammar does not know).\n**Into:** nothing: the statement is kept as written. \
Review its locks by hand, or file the form so pgsafe learns it.\n";

const LONG_STEP_DOC: &str = "# `long-step`\n\n**Reports:** a statement whose work grows with a table (a rewrite, a plain index build, a \
validating scan, row work in a DDL transaction) in a step that runs under the short `statement_timeout`: on a large table it \
is cancelled (SQLSTATE 57014) after holding its lock all that time.\n**Into:** nothing: the step is kept; the message gives \
the choice (expand/contract, or `SET LOCAL statement_timeout` before the statement to run it deliberately), and `pgsafe \
apply` repeats it when the step is cancelled. See `pgsafe explain timeouts` (Long steps).\n";

const IGNORE_DIRECTIVE_DOC: &str = "# `ignore-directive`\n\n**Reports:** a `-- pgsafe:ignore <rule>` directive that names no rule pgsafe has, or \
that suppresses nothing (the rule finds nothing in its statement).\n**Into:** nothing: fix the rule name, or remove the directive.\n";

/// Every rule id a report or a `-- pgsafe:ignore` may name, in pass order.
pub fn all() -> impl Iterator<Item = &'static str> {
    crate::passes::RULES.iter().copied().chain([NOT_UNDERSTOOD, crate::emit::long_step::RULE, crate::directives::RULE])
}

pub fn is_rule(id: &str) -> bool {
    rule_id(id).is_some()
}

/// The rule `id` names, as the `'static` id findings carry.
pub fn rule_id(id: &str) -> Option<&'static str> {
    all().find(|r| *r == id)
}

/// The rule's page (markdown), or `None` for an unknown rule.
pub fn doc(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "concurrent-index" => include_str!("../../rewrites/concurrent-index.md"),
        "concurrent-drop-index" => include_str!("../../rewrites/concurrent-drop-index.md"),
        "concurrent-reindex" => include_str!("../../rewrites/concurrent-reindex.md"),
        "fk-not-valid" => include_str!("../../rewrites/fk-not-valid.md"),
        "check-not-valid" => include_str!("../../rewrites/check-not-valid.md"),
        "set-not-null" => include_str!("../../rewrites/set-not-null.md"),
        "unique-using-index" => include_str!("../../rewrites/unique-using-index.md"),
        "backfill" => include_str!("../../rewrites/backfill.md"),
        "volatile-default" => include_str!("../../rewrites/volatile-default.md"),
        "partitions" => include_str!("../../rewrites/partitions.md"),
        "destructive" => include_str!("../../rewrites/destructive.md"),
        "type-change" => include_str!("../../rewrites/type-change.md"),
        "fk-index" => include_str!("../../rewrites/fk-index.md"),
        "transactions" => include_str!("../../rewrites/transactions.md"),
        "timeouts" => include_str!("../../rewrites/timeouts.md"),
        NOT_UNDERSTOOD => NOT_UNDERSTOOD_DOC,
        crate::emit::long_step::RULE => LONG_STEP_DOC,
        crate::directives::RULE => IGNORE_DIRECTIVE_DOC,
        _ => return None,
    })
}

/// One line: the page's first `**Fixes:**`/`**Reports:**` paragraph, markdown emphasis removed.
pub fn summary(rule: &str) -> String {
    let Some(doc) = doc(rule) else { return String::new() };
    let para: Vec<&str> = doc
        .lines()
        .skip_while(|l| !l.starts_with("**"))
        .take_while(|l| !l.trim().is_empty())
        .take_while(|l| !l.starts_with("**Into") && !l.starts_with("**Source"))
        .collect();
    let text = para.join(" ");
    let text = text.split_once(":**").map_or(text.as_str(), |(_, rest)| rest).trim().replace("**", "");
    if text.is_empty() {
        rule.to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_has_a_page_and_a_summary() {
        for rule in super::all() {
            assert!(super::doc(rule).is_some(), "{rule}");
            assert!(!super::summary(rule).is_empty(), "{rule}");
        }
        assert!(super::summary("concurrent-index").starts_with("`CREATE [UNIQUE] INDEX`"));
    }
}
