//! Where a compile's time and memory go, stage by stage, on one draft:
//!
//! ```sh
//! cargo bench --bench stages -- target/bench-inputs/gen_100000.sql
//! ```
//!
//! The stages run one after another here (the library overlaps some of them; the last row is the
//! split and the lowering as the library runs them, at once), each timed, and
//! after each the process's resident size and its peak so far are read from `/proc/self/status`
//! (Linux). The allocator is the binary's, jemalloc, so the sizes are the ones `pgsafe` sees.
//! BENCHMARKS.md's sixteenth pass was measured this way.

use pgsafe::{emit, front, ir, passes, plan, source::Source, Config};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `VmRSS` and `VmHWM` in MB, when the system tells them.
fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mb = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
    };
    Some((mb("VmRSS:")?, mb("VmHWM:")?))
}

fn report(stage: &str, since: &mut Instant) {
    let ms = since.elapsed().as_secs_f64() * 1000.0;
    let memory = resident().map_or("n/a".into(), |(rss, peak)| format!("{rss:>6} MB {peak:>6} MB"));
    println!("{stage:<20} {ms:>9.1} ms {memory}");
    *since = Instant::now();
}

fn main() {
    // `cargo bench` adds `--bench`; the draft is the first other argument.
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench stages -- DRAFT.sql");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config = Config::default();
    println!("{:<20} {:>12} {:>9} {:>9}", "stage", "time", "resident", "peak");
    let mut since = Instant::now();
    let source = Source::new(&path, text);
    let text = source.text.as_str();
    report("read", &mut since);
    let pieces = front::split::split(text).unwrap_or_else(|e| panic!("{path}: {}", e.message));
    report("split", &mut since);
    let m = ir::migration::Migration::lower(text, &pieces);
    drop(pieces);
    report("lower", &mut since);
    let r = passes::run(&m, &config);
    report("passes", &mut since);
    let plan = if r.changes.is_empty() { plan::verbatim(&m, &r) } else { plan::plan(&m, &r) };
    report("plan", &mut since);
    let mut warnings = emit::split_warnings(&source, &m, &r, &plan);
    warnings.extend(emit::long_step::warnings(&m, &r, &plan, &config));
    report("warnings", &mut since);
    let files = emit::files(&source, &m, &r, &plan, &config, emit::Render::View);
    report("files", &mut since);
    // What the library does instead of the first two rows: the split and the lowering at once.
    let both = ir::migration::Migration::split_and_lower(text).unwrap_or_else(|e| panic!("{path}: {}", e.message));
    report("split+lower at once", &mut since);
    drop(both);
    println!(
        "{} statements, {} units, {} findings, {} steps",
        m.stmts.len(),
        r.units.len(),
        r.changes.len() + r.diagnostics.len() + warnings.len(),
        files.len()
    );
}
