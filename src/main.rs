//! The `pgsafe` binary: everything is in [`cli`].

mod cli;

/// A compile makes millions of small, short-lived allocations (names, spans, step texts): jemalloc
/// serves them in about two thirds of the CPU time glibc's allocator takes, and keeps freed pages for
/// reuse instead of faulting fresh ones in (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
