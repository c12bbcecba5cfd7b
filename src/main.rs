//! The `pgsafe` binary: everything is in [`cli`].

mod cli;

/// A compile makes millions of small, short-lived allocations (names, spans, step texts); mimalloc
/// serves them in two thirds of the time glibc's allocator takes (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
