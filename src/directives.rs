//! Warnings about `-- pgsafe:ignore` directives themselves: one that names a rule pgsafe does not
//! have (a typo silently ignores nothing), and one that suppresses nothing (the statement would
//! not be rewritten or reported anyway, so the directive only misleads a reader). The second is
//! found by running the passes once more with directives off, only for drafts that have some.

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Severity};
use crate::ir::migration::Migration;
use crate::passes::Rewritten;
use rustc_hash::FxHashMap as HashMap;

/// The rule id these warnings carry.
pub const RULE: &str = "ignore-directive";

pub fn check(m: &Migration<'_>, config: &Config, r: &Rewritten) -> Vec<Diagnostic> {
    let with: Vec<usize> = (0..m.stmts.len()).filter(|&i| !m.stmts[i].ignored.is_empty()).collect();
    if with.is_empty() || !config.honour_ignores {
        return Vec::new();
    }
    let unignored = crate::passes::run(m, &Config { honour_ignores: false, ..config.clone() });
    let (without, with_them) = (rules_by_statement(m, &unignored), rules_by_statement(m, r));
    let mut out = Vec::new();
    for i in with {
        let s = &m.stmts[i];
        let fired = |rule: Option<&str>, by: &HashMap<usize, Vec<&str>>| {
            by.get(&i).is_some_and(|rules| rules.iter().any(|r| rule.is_none_or(|x| *r == x)))
        };
        let at = s.span.start..s.body.start.max(s.span.start);
        for rule in &s.ignored {
            let name = rule.as_deref();
            if let Some(name) = name.filter(|n| !crate::report::rules::is_rule(n)) {
                out.push(Diagnostic::new(
                    RULE,
                    Severity::Warning,
                    at.clone(),
                    format!("`-- pgsafe:ignore {name}`: there is no rule `{name}` (`pgsafe rules` lists them), so this ignores nothing"),
                ));
            } else if !fired(name, &without) || (name.is_some() && fired(name, &with_them)) {
                let what = name.map_or("any rule".to_string(), |n| format!("`{n}`"));
                out.push(Diagnostic::new(
                    RULE,
                    Severity::Warning,
                    at.clone(),
                    format!(
                        "`-- pgsafe:ignore{}` suppresses nothing: {what} finds nothing in this statement; remove the directive",
                        name.map_or(String::new(), |n| format!(" {n}"))
                    ),
                ));
            }
        }
    }
    out
}

/// For each statement, the rules that found something in it (a scan of every finding for every
/// directive was quadratic: 20,000 directives took 17 s).
fn rules_by_statement(m: &Migration<'_>, set: &Rewritten) -> HashMap<usize, Vec<&'static str>> {
    let mut by: HashMap<usize, Vec<&'static str>> = HashMap::default();
    for d in set.changes.iter().chain(&set.diagnostics) {
        if let Some(i) = m.stmts.partition_point(|t| t.span.start <= d.at).checked_sub(1) {
            by.entry(i).or_default().push(d.rule);
        }
    }
    by
}

#[cfg(test)]
mod tests {
    use crate::{compile, Config};

    fn warnings(sql: &str) -> Vec<String> {
        let c = compile("t.sql", sql, &Config::default()).unwrap();
        c.diagnostics.iter().filter(|d| d.rule == super::RULE).map(|d| d.message.clone()).collect()
    }

    #[test]
    fn unknown_and_useless_directives_are_warned_about() {
        assert!(warnings("-- pgsafe:ignore concurrent-index\nCREATE INDEX i ON t (c);\n").is_empty());
        let w = warnings("-- pgsafe:ignore concurent-index\nCREATE INDEX i ON t (c);\n");
        assert!(w.len() == 1 && w[0].contains("no rule `concurent-index`"), "{w:?}");
        let w = warnings("-- pgsafe:ignore fk-not-valid\nCREATE TABLE t (id int);\n");
        assert!(w.len() == 1 && w[0].contains("suppresses nothing"), "{w:?}");
    }
}
