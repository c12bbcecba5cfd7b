//! Golden rewrites: every draft under `rewrites/cases/*.sql` is compiled with the default settings
//! and its changes, diagnostics and plan files are compared with a snapshot in `tests/snapshots/`.
//!
//! Accept new or changed snapshots with `INSTA_UPDATE=always cargo test --test golden` (or
//! `cargo insta review`), then read every changed `.snap` like a reviewer would read the plan.
//!
//! Besides the snapshot, every case must keep the plan contract:
//! - every step file is a fixed point (compiling it again changes nothing);
//! - the flattened plan (what `pgsafe fix` writes back) is a fixed point;
//! - no step file runs `CONCURRENTLY` in a file that also opens a transaction with `BEGIN`;
//! - compiling twice gives the same files, byte for byte.
//!
//! A case can change the settings in its first line: `-- golden: pg-version=14
//! schema=planeq-setup.sql` (see [`case_config`]).
//!
//! [`KNOWN`] lists the cases that break one of these today, each a bug to fix. The test fails
//! when a listed break no longer happens, so that the list shrinks as the bugs are fixed.

use pgsafe::{compile, Compilation, Config};
use std::fmt::Write as _;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// An invariant of the plan contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Compiling the draft does not panic.
    NoPanic,
    /// Every step file compiles to no changes.
    StepsFixedPoint,
    /// The flattened plan compiles to no changes.
    FlattenedFixedPoint,
    /// No step file holds both `CONCURRENTLY` and a line starting with `BEGIN`.
    NoConcurrentlyWithBegin,
    /// Two compilations give identical files.
    Deterministic,
    /// No plan file or message holds a word with a placeholder's stand-in (`_p__`, what
    /// `front::mask` makes of `${x}` for sqlparser) that the draft does not hold.
    NoMaskedName,
}

/// Known breaks of the plan contract: (case, check). Remove an entry once its bug is fixed.
const KNOWN: &[(&str, Check)] = &[
    // An already-safe draft is kept verbatim as one step, so a CONCURRENTLY statement and the
    // draft's own BEGIN … COMMIT blocks share one file (and the manifest calls it "transaction").
    ("already_safe", Check::NoConcurrentlyWithBegin),
];

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewrites/cases");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    cases.sort();
    cases
}

fn case_name(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name").to_owned()
}

/// The settings of one case: the defaults, changed by a first line such as
/// `-- golden: pg-version=14 schema=planeq-setup.sql` (the schema path is relative to `rewrites/`).
fn case_config(default: &Config, text: &str) -> Config {
    let mut cfg = default.clone();
    let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("-- golden:")) else { return cfg };
    for arg in args.split_whitespace() {
        match arg.split_once('=') {
            Some(("pg-version", v)) => cfg.pg_version = v.parse().expect("pg-version=N"),
            Some(("schema", f)) => {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewrites").join(f);
                let catalog = pgsafe::ir::catalog::Catalog::load(&path).unwrap_or_else(|e| panic!("{e}"));
                cfg.catalog = Some(std::sync::Arc::new(catalog));
            }
            _ => panic!("unknown golden setting {arg:?}"),
        }
    }
    cfg
}

/// Carriage returns made visible, so that a snapshot shows whether CRLF line endings survive.
fn visible(text: &str) -> String {
    text.replace('\r', "␍")
}

/// The snapshot text: changes, diagnostics, then every plan file (steps and `down.sql`).
fn render(c: &Compilation) -> String {
    let mut out = String::new();
    out.push_str("changes:\n");
    if c.changes.is_empty() {
        out.push_str("  (none)\n");
    }
    for ch in &c.changes {
        let _ = writeln!(out, "  {} {}: {}", c.source.position(ch.at), ch.rule, ch.message);
    }
    out.push_str("diagnostics:\n");
    if c.diagnostics.is_empty() {
        out.push_str("  (none)\n");
    }
    for d in &c.diagnostics {
        let _ = writeln!(out, "  {} {}: {}", c.source.position(d.at), d.rule, d.message);
    }
    for f in &c.files {
        let _ = write!(out, "\n===== {} =====\n{}", f.name, visible(&f.text()));
    }
    out
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Does `text` (a step file) run CONCURRENTLY next to its own BEGIN? Comments are ignored: the
/// step headers mention CONCURRENTLY in prose.
fn concurrently_with_begin(text: &str) -> bool {
    let code: Vec<String> = text.lines().map(|l| l.split("--").next().unwrap_or("").to_ascii_uppercase()).collect();
    // REFRESH MATERIALIZED VIEW CONCURRENTLY is the one CONCURRENTLY a transaction block accepts.
    let concurrently = code.iter().any(|l| {
        !l.contains("REFRESH MATERIALIZED VIEW")
            && l.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w == "CONCURRENTLY")
    });
    let begin = code.iter().any(|l| {
        let l = l.trim_start();
        l.starts_with("BEGIN") && !l[5..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    concurrently && begin
}

/// Check the plan contract for one compiled case; returns the checks that fail, with details.
fn contract(name: &str, text: &str, c: &Compilation, cfg: &Config) -> Vec<(Check, String)> {
    let mut broken = Vec::new();
    for f in c.steps() {
        match compile(&f.name, &f.text(), cfg) {
            Ok(again) if again.changed() => {
                let what: Vec<String> =
                    again.changes.iter().map(|ch| format!("{} {}", again.source.position(ch.at), ch.rule)).collect();
                broken.push((Check::StepsFixedPoint, format!("{} changes again: {}", f.name, what.join("; "))));
            }
            Ok(_) => {}
            Err(e) => broken.push((Check::StepsFixedPoint, format!("{} does not compile: {e}", f.name))),
        }
        if concurrently_with_begin(&f.text()) {
            broken.push((Check::NoConcurrentlyWithBegin, f.name.clone()));
        }
    }
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).map(str::to_ascii_lowercase).collect()
    };
    let drafted = words(text);
    let mut said: Vec<String> = c.changes.iter().map(|ch| ch.message.clone()).collect();
    said.extend(c.diagnostics.iter().map(|d| d.message.clone()));
    said.extend(c.files.iter().map(|f| f.text()));
    for w in said.iter().flat_map(|t| words(t)) {
        if (w.contains("_p_") || w == "_p") && !drafted.contains(&w) {
            broken.push((Check::NoMaskedName, format!("{w} is not the draft's")));
            break;
        }
    }
    let flat_name = format!("{name}.flattened.sql");
    match compile(&flat_name, &c.flattened(), cfg) {
        Ok(again) if again.changed() => {
            let what: Vec<String> =
                again.changes.iter().map(|ch| format!("{} {}", again.source.position(ch.at), ch.rule)).collect();
            broken.push((Check::FlattenedFixedPoint, what.join("; ")));
        }
        Ok(_) => {}
        Err(e) => broken.push((Check::FlattenedFixedPoint, format!("does not compile: {e}"))),
    }
    match compile(name, text, cfg) {
        Ok(twice) => {
            let files = |c: &Compilation| -> Vec<(String, String)> { c.plan_dir().collect() };
            if files(c) != files(&twice) {
                broken.push((Check::Deterministic, "a second compilation gave other files".into()));
            }
        }
        Err(e) => broken.push((Check::Deterministic, format!("second compilation failed: {e}"))),
    }
    broken
}

/// Run `f`, turning a panic into `Err(message)` without printing it (a panic is a bug, but it
/// must not hide the other cases' results).
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    result.map_err(|payload| panic_message(payload.as_ref()))
}

#[test]
fn golden_cases() {
    let cases = cases();
    assert!(cases.len() >= 25, "rewrites/cases holds the golden drafts ({} found)", cases.len());
    let cfg = Config::default();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // Every (case, check) that fails, with details.
    let mut broken: Vec<(String, Check, String)> = Vec::new();
    for path in &cases {
        let name = case_name(path);
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = format!("{name}.sql");
        let cfg = case_config(&cfg, &text);
        let snapshot = match no_panic(|| compile(&file, &text, &cfg)) {
            Err(msg) => {
                broken.push((name.clone(), Check::NoPanic, msg.clone()));
                format!("PANIC: {msg}\n")
            }
            Ok(Err(e)) => format!("error: {e}\n"),
            Ok(Ok(c)) => {
                match no_panic(|| contract(&file, &text, &c, &cfg)) {
                    Ok(found) => broken.extend(found.into_iter().map(|(k, d)| (name.clone(), k, d))),
                    Err(msg) => broken.push((name.clone(), Check::NoPanic, format!("recompiling the plan: {msg}"))),
                }
                render(&c)
            }
        };
        settings.set_input_file(path);
        settings.bind(|| insta::assert_snapshot!(name.as_str(), snapshot));
    }
    let mut failures: Vec<String> = broken
        .iter()
        .filter(|(n, k, _)| !KNOWN.contains(&(n.as_str(), *k)))
        .map(|(n, k, d)| format!("{n}: {k:?}: {d}"))
        .collect();
    for &(n, k) in KNOWN {
        if !broken.iter().any(|(bn, bk, _)| bn == n && *bk == k) {
            failures.push(format!("{n}: {k:?} is listed in KNOWN but holds now: remove the entry"));
        }
    }
    assert!(failures.is_empty(), "plan contract broken:\n{}", failures.join("\n"));
}
