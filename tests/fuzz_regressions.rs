//! Every input the fuzzer (fuzz/, FUZZING.md) ever found a crash with, replayed through the same
//! property it checks: compile never panics, the split is lossless, every emitted step file and
//! the flattened plan are fixed points, the output is deterministic, the passes give the same
//! window by window, the diff view is faithful, and `ALTER TABLE` trees read by hand are
//! sqlparser's. The last three run on every other draft we have too.

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
    for (path, text) in drafts() {
        let result = std::panic::catch_unwind(|| property::windows_agree(&text, &[1, 2, 3]));
        assert!(result.is_ok(), "{}: the passes differ window by window", path.display());
    }
}

/// The diff view of every golden case, example, fuzz regression and corpus migration is a
/// faithful diff of the draft and its plan, its lines numbered on one thread or on two.
#[test]
fn the_view_is_a_faithful_diff_of_every_draft() {
    for (path, text) in drafts() {
        let Ok(c) = pgsafe::compile("draft.sql", &text, &pgsafe::Config::default()) else { continue };
        let result = std::panic::catch_unwind(|| property::view_is_faithful(&c));
        assert!(result.is_ok(), "{}: the diff view is not faithful", path.display());
    }
}

/// Every `ALTER TABLE` and `CREATE TABLE` whose tree pgsafe reads from its tokens, in every golden
/// case, example, fuzz regression and corpus migration, is one sqlparser parses into that tree.
#[test]
fn trees_read_by_hand_are_what_sqlparser_reads() {
    let (mut altered, mut created) = (0, 0);
    for (path, text) in drafts() {
        let Ok(pieces) = pgsafe::front::split::split(&text) else { continue };
        let result = std::panic::catch_unwind(|| property::trees_by_hand_agree(&text, &pieces));
        assert!(result.is_ok(), "{}: a tree read by hand is not sqlparser's", path.display());
        for piece in &pieces {
            let pgsafe::front::split::PieceKind::Statement { body, .. } = &piece.kind else { continue };
            altered += usize::from(pgsafe::ir::lower_alter::operation_by_hand(&text[body.clone()]).is_some());
            created += usize::from(pgsafe::ir::lower_table::create_table_by_hand(&text[body.clone()]).is_some());
        }
    }
    assert!(altered > 10 && created > 10, "only {altered} ALTER TABLE and {created} CREATE TABLE read by hand");
    eprintln!("read by hand: {altered} ALTER TABLE, {created} CREATE TABLE");
}

/// Every draft we have: the golden cases, the examples, the fuzz regressions and, when the shared
/// corpus is there (tests/corpus.rs requires it under CI), the real migrations.
fn drafts() -> Vec<(std::path::PathBuf, String)> {
    let mut drafts = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = ["rewrites/cases", "examples", "fuzz/regressions"].map(Into::into).into();
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
                if let Ok(text) = std::fs::read_to_string(&path) {
                    drafts.push((path, text));
                }
            }
        }
    }
    assert!(drafts.len() > 100, "{} drafts", drafts.len());
    drafts
}
