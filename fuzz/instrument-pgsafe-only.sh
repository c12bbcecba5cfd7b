#!/usr/bin/env bash
# A rustc wrapper (RUSTC_WRAPPER) for the fuzz build: adds the sanitizer-coverage flags
# ($SANCOV_FLAGS) to pgsafe and the fuzz target only. Instrumenting the dependencies too
# (sqlparser alone is most of the binary's 269k edges) steers the fuzzer into their internals and
# costs every execution a scan of their counters: 352 exec/s everything instrumented, 500 exec/s
# pgsafe only (86k edges), on the same 580 inputs (FUZZING.md).
rustc="$1"
shift
prev=
for arg in "$@"; do
    if [ "$prev" = --crate-name ] && { [ "$arg" = pgsafe ] || [ "$arg" = compile ]; }; then
        # shellcheck disable=SC2086 # the flags are words on purpose
        exec "$rustc" "$@" $SANCOV_FLAGS
    fi
    prev="$arg"
done
exec "$rustc" "$@"
