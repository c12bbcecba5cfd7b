//! Layering, as rust-analyzer keeps it: lowering (`src/ir/lower*.rs`, and the `--schema` loader
//! `src/ir/schema.rs`) is the only code after the front end that reads statement text. The passes,
//! the catalogue and its timeline, the plan and emit work on the typed IR: none of them may import
//! the front end (`crate::front`: splitter, lexer, forms grammar, parser), sqlparser, or a lexer.

use std::fs;
use std::path::{Path, PathBuf};

/// Files and folders that must work on typed data only.
const TYPED_ONLY: &[&str] = &[
    "src/passes",
    "src/plan.rs",
    "src/emit",
    "src/ir/catalog.rs",
    "src/ir/timeline.rs",
    "src/ir/savepoints.rs",
    "src/ir/op.rs",
    "src/ir/expr.rs",
    "src/ir/action.rs",
    "src/ir/functions.rs",
    "src/ir/lock.rs",
];

/// What those files may not name.
const FORBIDDEN: &[&str] = &["crate::front", "sqlparser", "front::tokens", "front::split", "pest", "lex("];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            rust_files(&entry.expect("a directory entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The code of a Rust file without its comments (doc comments may name the front end).
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
fn passes_catalogue_plan_and_emit_never_read_statement_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for p in TYPED_ONLY {
        rust_files(&root.join(p), &mut files);
    }
    assert!(files.len() >= 25, "the typed layers were found ({} files)", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let text = code(&fs::read_to_string(f).unwrap());
        for word in FORBIDDEN {
            if text.contains(word) {
                wrong.push(format!("{} uses {word}", f.strip_prefix(root).unwrap_or(f).display()));
            }
        }
    }
    assert!(wrong.is_empty(), "only lowering reads statement text:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_can_fail() {
    let planted = "use crate::front::tokens::lex;\nfn f() { lex(\"x\"); }";
    assert!(FORBIDDEN.iter().any(|w| code(planted).contains(w)));
    assert!(!FORBIDDEN.iter().any(|w| code("// crate::front is the front end").contains(w)));
}
