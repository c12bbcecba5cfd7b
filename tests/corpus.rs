//! The real-migration corpus (`../shared/corpus`, 4,884 files from public projects; `SOURCES.tsv`
//! names each origin): no panic, no lost word, every emitted file a fixed point, and no
//! lock-relevant statement left un-understood. Prints how many files were rewritten, by which rules.

mod common;

use pgsafe::{compile, Config};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sql_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_compiles_without_loss_and_every_plan_file_is_a_fixed_point() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let mut files = Vec::new();
    sql_files(&dir, &mut files);
    assert!(files.len() > 4000, "the corpus has its files ({})", files.len());
    let cfg = Config::default();
    let (mut rewritten, mut refused, mut steps) = (0, Vec::new(), 0);
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    let mut diagnostics: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = String::from_utf8(bytes) else {
            refused.push(format!("{rel}: not UTF-8"));
            continue;
        };
        let c = match std::panic::catch_unwind(|| compile(&rel, &text, &cfg)) {
            Err(_) => {
                problems.push(format!("{rel}: panic"));
                continue;
            }
            Ok(Err(e)) => {
                refused.push(e.to_string());
                continue;
            }
            Ok(Ok(c)) => c,
        };
        let plan: String = c.files.iter().map(|f| f.text()).collect();
        let lost = common::lost(&text, &plan);
        if !lost.is_empty() {
            problems.push(format!("{rel}: lost {lost:?}"));
        }
        for f in c.steps() {
            match compile(&f.name, &f.text(), &cfg) {
                Ok(again) if !again.changed() => {}
                Ok(again) => problems.push(format!("{rel}: {} is not a fixed point: {:?}", f.name, again.changes)),
                Err(e) => problems.push(format!("{rel}: {} does not compile: {e}", f.name)),
            }
        }
        for d in &c.diagnostics {
            *diagnostics.entry(d.rule).or_default() += 1;
        }
        if c.changed() {
            rewritten += 1;
            steps += c.steps().count();
            let mut seen: Vec<&str> = c.changes.iter().map(|ch| ch.rule).collect();
            seen.sort_unstable();
            seen.dedup();
            for r in seen {
                *rules.entry(r).or_default() += 1;
            }
        }
    }
    eprintln!(
        "corpus: {} files, {rewritten} rewritten into {steps} steps, {} refused as unusable input",
        files.len(),
        refused.len()
    );
    eprintln!("files rewritten by rule: {rules:?}");
    eprintln!("diagnostics by rule: {diagnostics:?}");
    for r in refused.iter().take(10) {
        eprintln!("refused: {r}");
    }
    assert!(
        problems.is_empty(),
        "{} problems, e.g.:\n{}",
        problems.len(),
        problems[..problems.len().min(15)].join("\n")
    );
    // Refusals are for input that is not PostgreSQL (unterminated quotes from other dialects…):
    // they must stay rare.
    assert!(refused.len() * 100 < files.len(), "{} files refused", refused.len());
    // Measured 2026-12-01: 11, now that goose `StatementBegin … StatementEnd` blocks of several
    // statements are understood (66 before); among them three ALTER TABLE actions that nothing
    // parses, all in down files and all rejected by PostgreSQL (`ADD COLUMN c` without a type,
    // `DROP a, b`). The target is zero.
    let not_understood = diagnostics.get("not-understood").copied().unwrap_or(0);
    assert!(not_understood <= 11, "more lock-relevant statements not understood than before: {diagnostics:?}");
}
