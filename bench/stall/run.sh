#!/usr/bin/env bash
# Reproduces bench/stall/README.md: for each rule, the draft and pgsafe's plan for it run under load
# on a 2,000,000-row `orders` table (../shared/tools/stall.py), and the longest write/read stall is
# recorded.  Usage (from the repository root or anywhere):
#
#   bench/stall/run.sh                 # every rule below
#   bench/stall/run.sh fk-not-valid    # some rules
#
# Environment: PGSAFE (default target/release/pgsafe, built with `cargo build --release`),
# STALL (default ../shared/tools/stall.py), ROWS (default 2000000), OUT (default bench/stall/results).
# Needs psycopg 3 (`pip install 'psycopg[binary]'`) and PostgreSQL 15 binaries (stall.py starts a
# throwaway cluster per run).  Each run takes 1-3 minutes on 2 cores; all rules take ~30 minutes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PGSAFE="${PGSAFE:-$ROOT/target/release/pgsafe}"
STALL="${STALL:-$ROOT/../shared/tools/stall.py}"
ROWS="${ROWS:-2000000}"
OUT="${OUT:-$HERE/results}"
RULES=(concurrent-index concurrent-drop-index concurrent-reindex fk-not-valid check-not-valid
       set-not-null unique-using-index-unique unique-using-index-pk volatile-default
       backfill-update backfill-delete timeouts
       # follow-ups on the timeouts finding (not rules of their own):
       fk-not-valid+idle-writer timeouts+lock-timeout-100ms)
[ $# -gt 0 ] && RULES=("$@")
mkdir -p "$OUT"

for rule in "${RULES[@]}"; do
  draft="$HERE/${rule%%+*}.sql"          # "fk-not-valid+idle-writer" runs fk-not-valid.sql
  plan="$HERE/plans/$rule"
  extra=()
  rewrite_opts=()
  case "$rule" in
    concurrent-drop-index)     extra=(--setup "$HERE/setup_with_index.sql") ;;
    unique-using-index-pk)     extra=(--setup "$HERE/setup_no_pk.sql") ;;
    timeouts|*+idle-writer)    extra=(--blocker idle-writer --blocker-seconds 15) ;;
    timeouts+lock-timeout-100ms)
                               extra=(--blocker idle-writer --blocker-seconds 15)
                               rewrite_opts=(--lock-timeout 100ms) ;;
  esac
  "$PGSAFE" rewrite "$draft" -o "$plan" --force --color never "${rewrite_opts[@]}" \
    >"$OUT/$rule.rewrite.txt" 2>&1
  echo "== $rule: draft" >&2
  python3 "$STALL" --rows "$ROWS" "${extra[@]}" --json "$OUT/$rule.draft.json" \
    --raw-csv "$OUT/$rule.draft.csv" "$draft" 2> >(tee "$OUT/$rule.draft.log" >&2)
  echo "== $rule: plan" >&2
  python3 "$STALL" --rows "$ROWS" "${extra[@]}" --default-notx --json "$OUT/$rule.plan.json" \
    --raw-csv "$OUT/$rule.plan.csv" "$plan"/0*.sql 2> >(tee "$OUT/$rule.plan.log" >&2)
  gzip -f "$OUT/$rule.draft.csv" "$OUT/$rule.plan.csv"
done
python3 "$HERE/summarize.py" "$OUT" "${RULES[@]}"
