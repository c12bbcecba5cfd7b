#!/usr/bin/env bash
# pgsafe side by side with squawk 2.68 (the peer linter), same files, this machine: the median of
# RUNS interleaved runs (3 by default) of each.
#
#   bash bench/compare.sh            # 10 statements, 1k, 10k, 100k, the 10 MB line, the corpus
#   BIG=1 bash bench/compare.sh      # also 1M statements and the 50 MB draft (minutes)
#   RUNS=5 bash bench/compare.sh     # five rounds instead of three
#
# squawk comes from its registry package (squawk-cli on PyPI ships the binary in its wheel; no
# other download), unpacked into target/bench-tools. pgsafe is the release build of this tree.
# Inputs come from ../shared/tools/gen_big.py (deterministic, seed 42). Wall time from bash's
# clock, peak RSS from /usr/bin/time; "ratio" is squawk's time over pgsafe's (above 1: pgsafe is faster).
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

# measure CMD…: prints "seconds kilobytes": wall time to the millisecond (bash's clock, around
# /usr/bin/time, which reads only to the hundredth) and peak RSS (the exit code of CMD is ignored:
# linters exit 1 when they find something).
measure() {
    local log t0 t1
    log=$(mktemp)
    t0=$EPOCHREALTIME
    /usr/bin/time -o "$log" -f "%M" "$@" >/dev/null 2>/dev/null || true
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v k="$(tail -1 "$log")" 'BEGIN { printf "%.3f %d\n", b - a, k }'
    rm -f "$log"
}

# median LIST: the middle of an odd number of values (the lower middle of an even one).
median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# most LIST: the largest value.
most() {
    printf '%s\n' "$@" | sort -n | tail -1
}

# ratio A B: A / B to two decimals.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b > 0.001 ? b : 0.001) }'
}

# RUNS rounds (3 by default), each running squawk, `check` and `diff` once in turn, so that a
# slow moment of this shared VM falls on all three alike; each cell is the median time and the
# largest peak.
runs=${RUNS:-3}

row() {
    local label=$1 file=$2 r st sk ct ck dt dk
    local -a sts sks cts cks dts dks
    for ((r = 0; r < runs; r++)); do
        read -r st sk < <(measure "$squawk" --reporter=gcc "$file")
        read -r ct ck < <(measure "$pgsafe" check "$file")
        read -r dt dk < <(measure "$pgsafe" diff "$file" --color never)
        sts+=("$st") sks+=("$sk") cts+=("$ct") cks+=("$ck") dts+=("$dt") dks+=("$dk")
    done
    st=$(median "${sts[@]}") ct=$(median "${cts[@]}") dt=$(median "${dts[@]}")
    sk=$(most "${sks[@]}") ck=$(most "${cks[@]}") dk=$(most "${dks[@]}")
    printf "| %s | %s s, %s MB | %s s, %s MB | %s s, %s MB | %s× | %s× |\n" "$label" \
        "$st" "$((sk / 1024))" "$ct" "$((ck / 1024))" "$dt" "$((dk / 1024))" \
        "$(ratio "$st" "$ct")" "$(ratio "$st" "$dt")"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)" GB"}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "squawk: $("$squawk" --version), pgsafe: $("$pgsafe" --version), median of $runs interleaved runs"
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
    sts=() sks=() cts=() cks=()
    for ((r = 0; r < runs; r++)); do
        read -r st sk < <(measure "$squawk" --reporter=gcc "${files[@]}")
        read -r ct ck < <(measure "$pgsafe" check "$corpus")
        sts+=("$st") sks+=("$sk") cts+=("$ct") cks+=("$ck")
    done
    st=$(median "${sts[@]}") ct=$(median "${cts[@]}") sk=$(most "${sks[@]}") ck=$(most "${cks[@]}")
    printf "| corpus, %s files, one invocation | %s s, %s MB | %s s, %s MB | — | %s× | — |\n" "${#files[@]}" \
        "$st" "$((sk / 1024))" "$ct" "$((ck / 1024))" "$(ratio "$st" "$ct")"
fi

# The machine-readable reports on the 100k file: squawk's JSON against pgsafe's JSON (which holds
# the plan and its manifest too), SARIF and the review (markdown, with the diff).
big="$inputs/gen_100000.sql"
echo
echo "| report, 100000 statements | time, peak | squawk / pgsafe |"
echo "|---|---|---|"
declare -A times peaks
for ((r = 0; r < runs; r++)); do
    read -r t k < <(measure "$squawk" --reporter=json "$big")
    times[squawk]+="$t " peaks[squawk]+="$k "
    for format in json sarif markdown; do
        read -r t k < <(measure "$pgsafe" check --format "$format" "$big")
        times[$format]+="$t " peaks[$format]+="$k "
    done
done
# shellcheck disable=SC2086 # the lists are words on purpose
st=$(median ${times[squawk]}) sk=$(most ${peaks[squawk]})
printf '| squawk `--reporter=json` | %s s, %s MB | — |\n' "$st" "$((sk / 1024))"
for format in json sarif markdown; do
    # shellcheck disable=SC2086
    pt=$(median ${times[$format]}) pk=$(most ${peaks[$format]})
    printf '| pgsafe `check --format %s` | %s s, %s MB | %s× |\n' "$format" "$pt" "$((pk / 1024))" "$(ratio "$st" "$pt")"
done
