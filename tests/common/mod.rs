//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

/// The words of a SQL text (identifiers, literals, numbers), outside comments, with their counts —
/// the same measure as `../shared/tools/planeq.py` (which, like this, reads inside dollar quotes, so
/// a statement moved into a generated `DO` block still counts). Transaction-control words are left
/// out: the plan owns transaction boundaries.
pub fn words(sql: &str) -> HashMap<String, usize> {
    let b = sql.as_bytes();
    let mut out = HashMap::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let word = if b[i..].starts_with(b"--") {
            i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
            None
        } else if b[i..].starts_with(b"/*") {
            i = sql[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            None
        } else if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() {
                if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            Some(sql[start..i].to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            Some(sql[start..i].to_lowercase())
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            Some(sql[start..i].to_string())
        } else {
            i += 1;
            None
        };
        if let Some(w) = word {
            let bare = w.trim_matches('"').to_lowercase();
            if !["begin", "commit", "end", "transaction", "start", "work", "rollback"].contains(&bare.as_str()) {
                *out.entry(w).or_insert(0) += 1;
            }
        }
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

/// Wait for `child` at most 30 s (a hang fails the test instead of stalling the suite): its exit
/// status, or a panic naming `what` after killing it.
pub fn wait_or_kill(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("{what} did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
