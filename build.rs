//! Link the `pgsafe` binary as a fixed-address (non-PIE) executable on Linux with glibc: the
//! dynamic loader then has no relocations to apply at start, which is a tenth of the wall time of
//! `pgsafe check` on a typical file (2.37 → 2.14 ms; BENCHMARKS.md). A pre-commit hook pays it on
//! every run. The code is still compiled position-independent, so the linker accepts it either way.
fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
