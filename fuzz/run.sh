#!/usr/bin/env bash
# Build the coverage-guided fuzz target (libFuzzer through libfuzzer-sys, on the stable toolchain:
# the sanitizer-coverage passes are plain -C flags) and run it niced in the background.
#
#   bash fuzz/run.sh [SECONDS]      # default 3600; prints libFuzzer's stats at the end
#
# Seeds: every draft in rewrites/cases and examples, and the real migrations in ../shared/corpus.
# Crashes land in fuzz/artifacts/; each becomes a file in fuzz/regressions/ (replayed by
# tests/fuzz_regressions.rs) once understood. See FUZZING.md.
set -euo pipefail
cd "$(dirname "$0")"
export SANCOV_FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares"
export RUSTFLAGS="--cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# Coverage of pgsafe's own code only (see the wrapper's comment); overflow checks everywhere.
export RUSTC_WRAPPER="$PWD/instrument-pgsafe-only.sh"
# --target keeps RUSTFLAGS off build scripts (they must not be instrumented).
target=$(rustc -vV | sed -n 's/^host: //p')
nice -n 19 cargo build -q --release --target "$target" --bin compile
bin="target/$target/release/compile"
mkdir -p corpus seeds artifacts
find ../rewrites/cases ../examples -name '*.sql' -exec cp -t seeds {} + 2>/dev/null || true
if [ -d ../../shared/corpus ]; then
    # (A process substitution: `find | head` in a pipeline would fail on SIGPIPE under pipefail.)
    mapfile -t real < <(find ../../shared/corpus -type f -name '*.sql' -size -16k | sort | head -2000)
    for f in "${real[@]}"; do
        cp "$f" "seeds/$(echo "$f" | md5sum | cut -c1-16).sql"
    done
fi
exec nice -n 19 "$bin" corpus seeds -dict=dict/sql.dict -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -fork=1 -ignore_crashes=1 -artifact_prefix=artifacts/ -max_total_time="${1:-3600}" -print_final_stats=1
