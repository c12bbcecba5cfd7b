//! The property the fuzzer checks on every input, shared with `tests/fuzz_regressions.rs`:
//! compile never panics, the split is lossless, every emitted step file and the flattened plan
//! are fixed points (`pgsafe check` exits 0 on them), compiling twice gives the same bytes, the
//! passes give the same in windows of one statement (the timeline on a second thread) as in one
//! window, the diff view is a faithful diff however its lines are numbered, and every `ALTER
//! TABLE` tree pgsafe reads by hand is the tree sqlparser reads.

use pgsafe::{compile, Config};

/// Panics with a message naming the broken property.
pub fn check_one(text: &str) {
    let config = Config::default();
    if let Ok(pieces) = pgsafe::front::split::split(text) {
        let joined: String = pieces.iter().map(|p| &text[p.span.clone()]).collect();
        assert_eq!(joined, text, "the split lost or added bytes");
        trees_by_hand_agree(text, &pieces);
    }
    windows_agree(text, &[1]);
    let Ok(c) = compile("fuzz.sql", text, &config) else { return };
    let again = compile("fuzz.sql", text, &config).expect("compiles twice");
    assert!(c.plan_dir().eq(again.plan_dir()), "output is not deterministic");
    for f in c.steps() {
        let step = f.text();
        let checked = compile(&f.name, &step, &config)
            .unwrap_or_else(|e| panic!("step {} does not compile: {e}\n{step}", f.name));
        assert!(!checked.changed(), "step {} is not a fixed point: {:?}\n{step}", f.name, checked.changes);
    }
    let flat = c.flattened();
    let checked = compile("flat.sql", &flat, &config).unwrap_or_else(|e| panic!("flattened plan: {e}\n{flat}"));
    assert!(!checked.changed(), "the flattened plan is not a fixed point: {:?}\n{flat}", checked.changes);
    view_is_faithful(&c);
}

/// Every statement whose tree pgsafe builds from its tokens (`ALTER TABLE`,
/// `ir::lower_alter::operation_by_hand`; `CREATE TABLE`, `ir::lower_table::create_table_by_hand`)
/// is one sqlparser parses into that very tree.
pub fn trees_by_hand_agree(text: &str, pieces: &[pgsafe::front::split::Piece]) {
    use sqlparser::ast::Statement;
    for piece in pieces {
        let pgsafe::front::split::PieceKind::Statement { body, .. } = &piece.kind else { continue };
        let body = &text[body.clone()];
        if let Some(by_hand) = pgsafe::ir::lower_alter::operation_by_hand(body) {
            match pgsafe::front::parse::parse(body) {
                Ok(Statement::AlterTable(at)) if at.operations == [by_hand.clone()] => {}
                other => panic!("read by hand as {by_hand:?}, sqlparser reads {other:?}: {body}"),
            }
        }
        if let Some(by_hand) = pgsafe::ir::lower_table::create_table_by_hand(body) {
            match pgsafe::front::parse::parse(body) {
                Ok(Statement::CreateTable(ct)) if ct == by_hand => {}
                other => panic!("read by hand as {by_hand:?}, sqlparser reads {other:?}: {body}"),
            }
        }
    }
}

/// The diff view is a diff of the draft and the flattened plan, however its lines are numbered
/// (on one thread or, as for a big draft, on two): the same script both ways, which covers both
/// texts in order and pairs only equal lines. Panics when not.
pub fn view_is_faithful(c: &pgsafe::Compilation) {
    use pgsafe::diff::{LineDiff, Lines};
    let flat = pgsafe::emit::Flat::new(&c.files);
    let (draft, plan) = (|| Lines::new(&c.source.text), || Lines::of_pieces(flat.pieces()));
    let one = LineDiff::numbered(draft(), plan(), false);
    let two = LineDiff::numbered(draft(), plan(), true);
    assert!(one.ops() == two.ops(), "the view's script depends on how its lines are numbered");
    let (old, new): (Vec<_>, Vec<_>) = (draft().iter().collect(), plan().iter().collect());
    let (mut at_old, mut at_new) = (0, 0);
    for op in one.ops() {
        assert_eq!((op.old_range().start, op.new_range().start), (at_old, at_new), "the view skips lines");
        if let pgsafe::diff::DiffOp::Equal { old_index, new_index, len } = *op {
            for k in 0..len {
                assert_eq!(old[old_index + k], new[new_index + k], "the view pairs different lines");
            }
        }
        (at_old, at_new) = (op.old_range().end, op.new_range().end);
    }
    assert_eq!((at_old, at_new), (old.len(), new.len()), "the view stops before the end");
}

/// The passes in windows of each of `sizes` statements (the timeline built on a second thread when
/// the draft has several) give the plan and the findings one window gives. Panics when not.
pub fn windows_agree(text: &str, sizes: &[usize]) {
    // As `compile` reads it: without a byte order mark, and never with a NUL byte.
    let source = pgsafe::source::Source::new("draft.sql", text.to_string());
    let Ok(pieces) = pgsafe::front::split::split(&source.text) else { return };
    if source.text.contains('\0') {
        return;
    }
    let config = Config::default();
    let m = pgsafe::ir::migration::Migration::lower(&source.text, &pieces);
    // What a compile shows of the passes: the plan's files and the findings (in report order,
    // which sorts them; the passes push them window by window).
    let shown = |r: pgsafe::passes::Rewritten| {
        let plan = if r.changes.is_empty() { pgsafe::plan::verbatim(&m, &r) } else { pgsafe::plan::plan(&m, &r) };
        let files: Vec<String> = pgsafe::emit::files(&source, &m, &r, &plan, &config, pgsafe::emit::Render::Full)
            .iter()
            .map(|f| f.text())
            .collect();
        let mut findings: Vec<String> = r.changes.iter().chain(&r.diagnostics).map(|d| format!("{d:?}")).collect();
        findings.sort();
        (files, findings)
    };
    let whole = shown(pgsafe::passes::run_in_windows(&m, &config, usize::MAX));
    for &size in sizes {
        let windowed = shown(pgsafe::passes::run_in_windows(&m, &config, size));
        assert!(
            whole == windowed,
            "the passes differ in windows of {size} statements:\n{whole:#?}\n---\n{windowed:#?}"
        );
    }
}
