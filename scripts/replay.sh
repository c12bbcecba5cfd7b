#!/usr/bin/env bash
# Replay migration histories: every up migration as written on one throwaway PostgreSQL 15 cluster,
# pgsafe's plan of it on another, schemas compared after every migration (tests/replay.rs).
#
#   scripts/replay.sh                 every history in ../shared/corpus (about an hour on 2 cores)
#   scripts/replay.sh DIR [DIR…]      your own histories (diesel, sqlx, Prisma, golang-migrate,
#                                     Flyway, goose, dbmate or plain ordered files)
#
# The report (a Markdown table, then each divergence and where each history stopped) goes to
# target/replay/report.md; the exit status is non-zero when anything diverged.
# PGSAFE_REPLAY_ONLY=name,name picks corpus histories by name; PGSAFE_REPLAY_MINUTES=N boxes each;
# PGSAFE_REPLAY_SCHEMA=1 gives pgsafe the schema before each migration (as --schema with a dump).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/replay
if [ $# -gt 0 ]; then
    dirs=""
    for d in "$@"; do dirs="$dirs:$(cd "$d" && pwd)"; done
    export PGSAFE_REPLAY_DIRS="${dirs#:}"
fi
export PGSAFE_REPLAY_REPORT="$PWD/target/replay/report.md"
status=0
nice -n 10 cargo test --test replay -- --ignored --exact replay_histories --nocapture || status=$?
echo "report: $PGSAFE_REPLAY_REPORT" >&2
exit $status
