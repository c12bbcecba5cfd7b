//! Every input the fuzzer (fuzz/, FUZZING.md) ever found a crash with, replayed through the same
//! property it checks: compile never panics, the split is lossless, every emitted step file and
//! the flattened plan are fixed points, the output is deterministic, and the passes give the same
//! window by window. That last part runs on every other draft we have too.

#[path = "../fuzz/property.rs"]
mod property;

#[test]
fn every_fuzz_regression_holds() {
    let mut files: Vec<_> = std::fs::read_dir("fuzz/regressions").unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz/regressions holds the inputs to replay");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let result = std::panic::catch_unwind(|| property::check_one(text));
            assert!(result.is_ok(), "{} breaks the fuzz property", path.display());
        }
    }
}

/// The passes window by window give what one window gives, however small the windows (1, 2 and 3
/// statements: the timeline on a second thread), on every golden case, example, fuzz regression
/// and corpus migration.
#[test]
fn windows_give_what_the_whole_draft_gives() {
    let mut drafts = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = ["rewrites/cases", "examples", "fuzz/regressions"].map(Into::into).into();
    // Real migrations too, when the shared corpus is there (tests/corpus.rs requires it under CI).
    let corpus = std::path::Path::new("../shared/corpus");
    if corpus.is_dir() {
        dirs.push(corpus.into());
    }
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                drafts.push(path);
            }
        }
    }
    assert!(drafts.len() > 100, "{} drafts", drafts.len());
    for path in drafts {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let result = std::panic::catch_unwind(|| property::windows_agree(&text, &[1, 2, 3]));
        assert!(result.is_ok(), "{}: the passes differ window by window", path.display());
    }
}
