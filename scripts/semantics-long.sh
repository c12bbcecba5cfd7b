#!/usr/bin/env bash
# The long run of the differential suite (tests/semantics.rs): N generated drafts (default 10,000)
# over tests/fixtures/meaning/setup/shop.sql, each compared with its plan on a real PostgreSQL 15
# (same schema, same rows, every step under the safety probe), with the CI feature set (what is
# held back stays back: see HELD_BACK in tests/semantics.rs). Seeds start at SEMANTICS_SEED
# (default 1,000,000: past the CI run's 0..300), so a rerun repeats the same drafts.
#
#   scripts/semantics-long.sh [N]                  # writes tests/semantics/LONG_RUN.md
#   SEMANTICS_FEATURES=all scripts/semantics-long.sh 2000   # held-back features on too
#
# Every failure is shrunk and written to tests/semantics/long-run-failures/seed_<S>.sql (a draft
# ready to become a fixture in tests/fixtures/meaning/ once its finding is fixed); the summary and
# the failures' first problems go to LONG_RUN.md. Runs niced: it takes hours on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
seed="${SEMANTICS_SEED:-1000000}"
failures="tests/semantics/long-run-failures"
log="$(mktemp)"
rm -rf "$failures"
mkdir -p "$failures"
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src tests || echo +changes)"
began="$(date -u +%Y-%m-%dT%H:%MZ)"
set +e
SEMANTICS_DRAFTS="$count" SEMANTICS_SEED="$seed" SEMANTICS_FAILURES="$PWD/$failures" \
    nice -n 19 cargo test --test semantics generated_drafts -- --nocapture >"$log" 2>&1
status=$?
set -e
summary="$(grep -E '^[0-9]+ generated drafts' "$log" | tail -1 || true)"
{
    echo "# The last long run of the generated drafts"
    echo
    echo "Written by \`scripts/semantics-long.sh\` (the bugs each failure found are named in"
    echo "HELD_BACK of tests/semantics.rs)."
    echo
    echo "- started: $began, on commit $commit, features: ${SEMANTICS_FEATURES:-CI set (HELD_BACK held back)}"
    echo "- seeds: $seed.. (asked for $count drafts)"
    echo "- result: ${summary:-the run did not finish (exit $status); see below}"
    echo
    if compgen -G "$failures/*.sql" >/dev/null; then
        echo "## Failures (shrunk drafts in \`$failures/\`)"
        echo
        for f in "$failures"/*.sql; do
            problem="$(grep '^-- ' "$f" | grep -v -e '^-- setup:' -e '^-- options:' -e '^-- volatile:' -e '^-- generated' | head -1 || true)"
            echo "- \`$(basename "$f")\`: ${problem#-- }"
            grep -v '^--' "$f" | sed 's/^/    /'
        done
    else
        echo "No failures."
    fi
    if [ -z "$summary" ]; then
        echo
        echo '```'
        tail -40 "$log"
        echo '```'
    fi
} >tests/semantics/LONG_RUN.md
rm -f "$log"
echo "$summary"
exit "$status"
