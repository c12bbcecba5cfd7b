//! Warnings about `-- pgsafe:ignore` directives themselves: one that names a rule pgsafe does not
//! have (a typo silently ignores nothing), and one that suppresses nothing (the statement would
//! not be rewritten or reported anyway, so the directive only misleads a reader). The second is
//! found by running the passes once more without the directives, only for drafts that have some:
//! for a directive naming rules, once per rule named, with only that rule's directives lifted
//! (lifting them all can change what the rule sees: `-- pgsafe:ignore concurrent-index timeouts`
//! on a `CREATE INDEX` does suppress `timeouts`, which finds nothing once the build is concurrent).
//! `long-step` is no pass: its warnings are about the plan, found again with its directives lifted.

use crate::config::{Config, Ignores};
use crate::diagnostic::{Diagnostic, Severity};
use crate::emit::long_step;
use crate::ir::migration::Migration;
use crate::passes::Rewritten;
use crate::plan::Plan;
use rustc_hash::FxHashMap as HashMap;

/// The rule id these warnings carry.
pub const RULE: &str = "ignore-directive";

/// The warnings about the directives of `m`, whose passes gave `r` (every finding, the plan's
/// included) and `plan`.
pub fn check(m: &Migration<'_>, config: &Config, r: &Rewritten, plan: &Plan) -> Vec<Diagnostic> {
    let with: Vec<usize> = (0..m.stmts.len()).filter(|&i| !m.stmts[i].ignored.is_empty()).collect();
    if with.is_empty() || config.ignores != Ignores::All {
        return Vec::new();
    }
    let with_them = rules_by_statement(m, r.changes.iter().chain(&r.diagnostics));
    // The findings by statement with some directives lifted: all (`None`), or one rule's.
    let mut lifted: HashMap<Option<&'static str>, HashMap<usize, Vec<&'static str>>> = HashMap::default();
    let mut out = Vec::new();
    for i in with {
        let s = &m.stmts[i];
        let at = s.span.start..s.body.start.max(s.span.start);
        for rule in &s.ignored {
            let name = rule.as_deref();
            let Some(known) = name.map_or(Some(None), |n| crate::report::rules::rule_id(n).map(Some)) else {
                let name = name.unwrap_or_default();
                out.push(Diagnostic::new(
                    RULE,
                    Severity::Warning,
                    at.clone(),
                    format!("`-- pgsafe:ignore {name}`: there is no rule `{name}` (`pgsafe rules` lists them), so this ignores nothing"),
                ));
                continue;
            };
            let without = lifted.entry(known).or_insert_with(|| {
                let config = Config { ignores: known.map_or(Ignores::None, Ignores::AllBut), ..config.clone() };
                if known == Some(long_step::RULE) {
                    let diagnostics = long_step::warnings(m, r, plan, &config);
                    return rules_by_statement(m, &diagnostics);
                }
                let lifted = crate::passes::run(m, &config);
                rules_by_statement(m, lifted.changes.iter().chain(&lifted.diagnostics))
            });
            let fired = |by: &HashMap<usize, Vec<&str>>| {
                by.get(&i).is_some_and(|rules| rules.iter().any(|r| known.is_none_or(|x| *r == x)))
            };
            if !fired(without) || (known.is_some() && fired(&with_them)) {
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
fn rules_by_statement<'a>(
    m: &Migration<'_>,
    findings: impl IntoIterator<Item = &'a Diagnostic>,
) -> HashMap<usize, Vec<&'static str>> {
    let mut by: HashMap<usize, Vec<&'static str>> = HashMap::default();
    for d in findings {
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
        // Each rule named is judged with the others still ignored: with the build left as
        // written, `timeouts` would bound it (so it suppresses something), where with every
        // directive lifted the build is concurrent and `timeouts` finds nothing.
        for both in ["concurrent-index timeouts", "concurrent-index long-step"] {
            let w = warnings(&format!("-- pgsafe:ignore {both}\nCREATE INDEX i ON t (c);\n"));
            assert!(w.is_empty(), "{both}: {w:?}");
        }
        let w = warnings("-- pgsafe:ignore timeouts\nCREATE INDEX i ON t (c);\n");
        assert!(w.len() == 1 && w[0].contains("ignore timeouts` suppresses nothing"), "{w:?}");
    }
}
