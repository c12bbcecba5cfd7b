//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

/// The words of a SQL text (identifiers, literals, numbers), outside comments, with their counts —
/// the same measure `../shared/tools/planeq.py` uses for "nothing lost". Transaction-control words
/// are left out: the plan owns transaction boundaries.
pub fn words(sql: &str) -> HashMap<String, usize> {
    let toks = pgsafe::front::tokens::lex(sql);
    let mut out = HashMap::new();
    for t in toks {
        let w = match t.tok {
            pgsafe::front::tokens::Tok::Word(w) => w,
            pgsafe::front::tokens::Tok::Quoted(_) | pgsafe::front::tokens::Tok::Literal => sql[t.span].to_string(),
            pgsafe::front::tokens::Tok::Punct(_) => continue,
        };
        if ["begin", "commit", "end", "transaction", "start", "work", "rollback"].contains(&w.as_str()) {
            continue;
        }
        *out.entry(w).or_insert(0) += 1;
    }
    out
}

/// Words of `draft` missing from `plan` (counting multiplicity).
pub fn lost(draft: &str, plan: &str) -> Vec<String> {
    let have = words(plan);
    let mut lost: Vec<String> =
        words(draft).into_iter().filter(|(w, n)| have.get(w).copied().unwrap_or(0) < *n).map(|(w, _)| w).collect();
    lost.sort();
    lost
}

/// Where the shared corpus is, or `None` (which fails under CI, where it must exist).
pub fn corpus_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "../shared/corpus is missing, and CI=true requires it");
    eprintln!("skipped: ../shared/corpus is not next to this clone");
    None
}
