//! Every input the fuzzer (fuzz/, FUZZING.md) ever found a crash with, replayed through the same
//! property it checks: compile never panics, the split is lossless, every emitted step file and
//! the flattened plan are fixed points, and the output is deterministic.

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
