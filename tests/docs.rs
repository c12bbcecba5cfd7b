//! The rule pages (`rewrites/*.md`) show real output: every plan file pasted after a
//! `` `plan/NAME` `` line is exactly what pgsafe writes for the SQL block (the draft) before it,
//! compiled as the page's `pgsafe rewrite NAME … [--pg-version N] [--schema FILE]` says.
//!
//! After a deliberate change of output, `PGSAFE_REFRESH_DOCS=1 cargo test --test docs` re-pastes
//! every example from the current compiler; review the diff, then commit it.

use pgsafe::{compile, Config};
use std::fs;

/// One fenced SQL block: its lines in the page, its text, and its `plan/NAME` label if any.
struct Block {
    label_line: Option<usize>,
    start: usize,
    end: usize,
    label: Option<String>,
    text: String,
}

fn sql_blocks(lines: &[&str]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut label: Option<(usize, String)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("`plan/") {
            label = rest.split('`').next().map(|l| (i, l.to_string()));
        } else if line.trim() == "```sql" {
            let end = (i + 1..lines.len()).find(|&k| lines[k].trim() == "```").unwrap_or(lines.len());
            let text = lines[i + 1..end].join("\n") + "\n";
            let (label_line, label) = label.take().map_or((None, None), |(l, n)| (Some(l), Some(n)));
            out.push(Block { label_line, start: i, end, label, text });
            i = end;
        } else if !line.trim().is_empty() {
            label = None;
        }
        i += 1;
    }
    out
}

/// The draft name and configuration of the last `pgsafe rewrite …` command in `text`.
fn command(text: &str, rule: &str) -> (String, Config) {
    // Else the draft's name as the page gives it: `name.sql`.
    let named = text.split('`').rfind(|w| w.ends_with(".sql") && !w.contains(' '));
    let mut name = named.map_or(format!("{rule}.sql"), str::to_string);
    let mut config = Config::default();
    if let Some(cmd) = text.rsplit("pgsafe rewrite ").next().filter(|_| text.contains("pgsafe rewrite ")) {
        let line = cmd.lines().next().unwrap_or_default();
        let words: Vec<&str> = line.split(|c: char| c.is_whitespace() || c == '`').filter(|w| !w.is_empty()).collect();
        if let Some(first) = words.first() {
            name = first.to_string();
        }
        for w in words.windows(2) {
            match w[0] {
                "--pg-version" => config.pg_version = w[1].parse().expect("a version"),
                "--schema" => {
                    let schema = fs::read_to_string(w[1]).expect("the schema a page names");
                    config.catalog = Some(std::sync::Arc::new(pgsafe::ir::catalog::Catalog::from_sql(&schema)));
                }
                _ => {}
            }
        }
    }
    (name, config)
}

#[test]
fn rule_pages_show_what_pgsafe_really_writes() {
    let refresh = std::env::var_os("PGSAFE_REFRESH_DOCS").is_some();
    let mut checked = 0;
    let mut stale = Vec::new();
    let mut pages: Vec<_> = fs::read_dir("rewrites").unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    for path in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let page = fs::read_to_string(path).unwrap();
        let rule = path.file_stem().unwrap().to_string_lossy().into_owned();
        let lines: Vec<&str> = page.lines().collect();
        let blocks = sql_blocks(&lines);
        let mut replaced: Vec<(usize, usize, String)> = Vec::new();
        let mut k = 0;
        while k < blocks.len() {
            // A draft, then the plan files pasted for it.
            let draft = &blocks[k];
            let plans: Vec<&Block> = blocks[k + 1..].iter().take_while(|b| b.label.is_some()).collect();
            k += 1 + plans.len();
            if draft.label.is_some() || plans.is_empty() {
                continue;
            }
            let context_start =
                blocks[..k - 1 - plans.len()].iter().rev().find(|b| b.end < draft.start).map_or(0, |b| b.end);
            let context = lines[context_start..plans[0].label_line.unwrap_or(plans[0].start)].join("\n");
            let (name, config) = command(&context, &rule);
            let c = compile(&name, &draft.text, &config).expect("a page's draft compiles");
            for p in &plans {
                checked += 1;
                let label = p.label.as_deref().unwrap_or_default();
                if !c.files.iter().any(|f| f.name == label && f.text() == p.text) {
                    stale.push(format!("{}: plan/{label}", path.display()));
                }
            }
            let fresh: Vec<String> =
                c.steps().map(|f| format!("`plan/{}`\n\n```sql\n{}```", f.name, f.text())).collect();
            let first = plans[0].label_line.unwrap_or(plans[0].start);
            replaced.push((first, plans[plans.len() - 1].end, fresh.join("\n\n")));
        }
        if refresh && !replaced.is_empty() {
            let mut out: Vec<String> = Vec::new();
            let mut at = 0;
            for (from, to, text) in replaced {
                out.extend(lines[at..from].iter().map(|l| l.to_string()));
                out.push(text);
                at = to + 1;
            }
            out.extend(lines[at..].iter().map(|l| l.to_string()));
            fs::write(path, out.join("\n") + "\n").unwrap();
        }
    }
    assert!(checked >= 20, "the pages show plan files ({checked})");
    assert!(
        refresh || stale.is_empty(),
        "pasted output no longer matches pgsafe (PGSAFE_REFRESH_DOCS=1 re-pastes it):\n{}",
        stale.join("\n")
    );
}
