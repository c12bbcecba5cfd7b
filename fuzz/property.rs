//! The property the fuzzer checks on every input, shared with `tests/fuzz_regressions.rs`:
//! compile never panics, the split is lossless, every emitted step file and the flattened plan
//! are fixed points (`pgsafe check` exits 0 on them), and compiling twice gives the same bytes.

use pgsafe::{compile, Config};

/// Panics with a message naming the broken property.
pub fn check_one(text: &str) {
    let config = Config::default();
    if let Ok(pieces) = pgsafe::front::split::split(text) {
        let joined: String = pieces.iter().map(|p| &text[p.span.clone()]).collect();
        assert_eq!(joined, text, "the split lost or added bytes");
    }
    let Ok(c) = compile("fuzz.sql", text, &config) else { return };
    let again = compile("fuzz.sql", text, &config).expect("compiles twice");
    assert!(c.plan_dir() == again.plan_dir(), "output is not deterministic");
    for f in c.steps() {
        let step = f.text();
        let checked = compile(&f.name, &step, &config)
            .unwrap_or_else(|e| panic!("step {} does not compile: {e}\n{step}", f.name));
        assert!(!checked.changed(), "step {} is not a fixed point: {:?}\n{step}", f.name, checked.changes);
    }
    let flat = c.flattened();
    let checked = compile("flat.sql", &flat, &config).unwrap_or_else(|e| panic!("flattened plan: {e}\n{flat}"));
    assert!(!checked.changed(), "the flattened plan is not a fixed point: {:?}\n{flat}", checked.changes);
}
