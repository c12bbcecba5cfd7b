#!/usr/bin/env bash
# pgsafe side by side with squawk 2.68 (the peer linter), one run each, same files, this machine.
#
#   bash bench/compare.sh            # 10 statements, 1k, 10k, 100k, the 10 MB line, the corpus
#   BIG=1 bash bench/compare.sh      # also 1M statements and the 50 MB draft (minutes)
#
# squawk comes from its registry package (squawk-cli on PyPI ships the binary in its wheel; no
# other download), unpacked into target/bench-tools. pgsafe is the release build of this tree.
# Inputs come from ../shared/tools/gen_big.py (deterministic, seed 42). Wall time and peak RSS
# from /usr/bin/time; "ratio" is squawk's time over pgsafe's (above 1: pgsafe is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/bench-tools"
inputs="$PWD/target/bench-inputs"
mkdir -p "$tools" "$inputs"

squawk="$tools/squawk-2.68.0/squawk"
if [ ! -x "$squawk" ]; then
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$tools" "squawk-cli==2.68.0"
    python3 -m zipfile -e "$tools"/squawk_cli-2.68.0-*.whl "$tools/squawk-2.68.0.whl.d"
    mkdir -p "$(dirname "$squawk")"
    cp "$tools/squawk-2.68.0.whl.d/squawk_cli-2.68.0.data/scripts/squawk" "$squawk"
    chmod +x "$squawk"
fi
cargo build -q --release
pgsafe="$PWD/target/release/pgsafe"
gen=../shared/tools/gen_big.py

sizes=(10 1000 10000 100000)
if [ "${BIG:-0}" = 1 ]; then sizes+=(1000000); fi
for n in "${sizes[@]}"; do
    [ -f "$inputs/gen_$n.sql" ] || python3 "$gen" --statements "$n" --out "$inputs/gen_$n.sql"
done
if [ "${BIG:-0}" = 1 ] && [ ! -f "$inputs/draft_50mb.sql" ]; then
    python3 "$gen" --statements 500000 --out "$inputs/draft_50mb.sql"
fi
if [ ! -f "$inputs/line_10mb.sql" ]; then
    python3 - "$inputs/line_10mb.sql" <<'EOF'
import sys
parts, size, i = [], 0, 0
while size < 10 * 1024 * 1024:
    t = f"({i},'n{i}')"
    parts.append(t)
    size += len(t) + 1
    i += 1
open(sys.argv[1], "w").write("INSERT INTO orders (id, note) VALUES " + ",".join(parts) + ";\n")
EOF
fi

# measure LABEL CMD…: prints "seconds kilobytes" (the exit code of CMD is ignored: linters exit 1
# when they find something).
measure() {
    local log
    log=$(mktemp)
    /usr/bin/time -o "$log" -f "%e %M" "$@" >/dev/null 2>/dev/null || true
    tail -1 "$log"
    rm -f "$log"
}

row() {
    local label=$1 file=$2
    read -r st sk < <(measure "$squawk" --reporter=gcc "$file")
    read -r ct ck < <(measure "$pgsafe" check "$file")
    read -r dt dk < <(measure "$pgsafe" diff "$file" --color never)
    printf "| %s | %s s, %s MB | %s s, %s MB | %s s, %s MB | %s× | %s× |\n" "$label" \
        "$st" "$((sk / 1024))" "$ct" "$((ck / 1024))" "$dt" "$((dk / 1024))" \
        "$(python3 -c "print(round($st / max($ct, 0.001), 2))")" \
        "$(python3 -c "print(round($st / max($dt, 0.001), 2))")"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)" GB"}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "squawk: $("$squawk" --version), pgsafe: $("$pgsafe" --version)"
echo
echo "| input | squawk lint | pgsafe check | pgsafe diff (diff view) | squawk / check | squawk / diff |"
echo "|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
    row "$n statements ($(du -h "$inputs/gen_$n.sql" | cut -f1))" "$inputs/gen_$n.sql"
done
if [ -f "$inputs/draft_50mb.sql" ] && [ "${BIG:-0}" = 1 ]; then
    row "50 MB draft" "$inputs/draft_50mb.sql"
fi
row "one 10 MB line" "$inputs/line_10mb.sql"

corpus=../shared/corpus
if [ -d "$corpus" ]; then
    mapfile -d '' files < <(find "$corpus" -name '*.sql' -print0 | sort -z)
    read -r st sk < <(measure "$squawk" --reporter=gcc "${files[@]}")
    read -r ct ck < <(measure "$pgsafe" check "$corpus")
    printf "| corpus, %s files, one invocation | %s s, %s MB | %s s, %s MB | — | %s× | — |\n" "${#files[@]}" \
        "$st" "$((sk / 1024))" "$ct" "$((ck / 1024))" "$(python3 -c "print(round($st / max($ct, 0.001), 2))")"
fi

# The machine-readable reports on the 100k file: squawk's JSON against pgsafe's JSON (which holds
# the plan and its manifest too), SARIF and the review (markdown, with the diff).
big="$inputs/gen_100000.sql"
echo
echo "| report, 100000 statements | time, peak | squawk / pgsafe |"
echo "|---|---|---|"
read -r st sk < <(measure "$squawk" --reporter=json "$big")
printf '| squawk `--reporter=json` | %s s, %s MB | — |\n' "$st" "$((sk / 1024))"
for format in json sarif markdown; do
    read -r pt pk < <(measure "$pgsafe" check --format "$format" "$big")
    printf '| pgsafe `check --format %s` | %s s, %s MB | %s× |\n' "$format" "$pt" "$((pk / 1024))" \
        "$(python3 -c "print(round($st / max($pt, 0.001), 2))")"
done
