#!/usr/bin/env bash
# Guest-and-host instructions per evaluation, counted by callgrind: steadier
# than time on a shared VM, for comparing two builds on a few cases.
#
#   benches/instructions.sh MODULE CASE...
#
# MODULE is an annotated module (`make annotated-policy.wasm`); CASEs are
# names from target/bench/cases.tsv (`make bench` writes it). For each case,
# kwrun bench's compare mode (fresh instance and reused instance, as in
# `make bench`) runs under callgrind at two iteration counts, once against
# the floor and once floor against floor; the differences give instructions
# per iteration (one fresh and one reused evaluation) of each policy.
# Timeout protection is off: its ticker thread runs by the clock, and
# callgrind would count it. Prints: case, floor, policy, policy/floor.
# Needs valgrind.
set -euo pipefail
module=$1; shift
kwrun=${KWRUN:-target/release/kwrun}
floor=${FLOOR_WASM:-target/wasm32-wasip1/release/floor_policy.wasm}
cases=${CASES:-target/bench/cases.tsv}
low=${LOW:-4} high=${HIGH:-44}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions of one compare-mode run of `policy` at `iterations`.
count() {
    local policy=$1 iterations=$2
    valgrind --tool=callgrind --smc-check=all --callgrind-out-file=/dev/null \
        "$kwrun" bench --floor "$floor" --cases "$work/case.tsv" \
        --iterations "$iterations" --rounds 1 --disable-timeout-protection "$policy" 2>&1 >/dev/null |
        awk '/Collected/ {print $NF}'
}

# Instructions per iteration: the fixed costs (start-up, compiling or
# loading the cached module) cancel out.
per_iteration() {
    count "$1" 1 >/dev/null # fills wasmtime's cache
    local a b
    a=$(count "$1" "$low")
    b=$(count "$1" "$high")
    echo $(((b - a) / (high - low)))
}

printf 'case\tfloor\tpolicy\tratio\n'
for case in "$@"; do
    grep -P "^$case\t" "$cases" >"$work/case.tsv" || { echo "no case $case in $cases" >&2; exit 1; }
    both=$(per_iteration "$floor")
    with=$(per_iteration "$module")
    floor_only=$((both / 2))
    policy=$((with - floor_only))
    printf '%s\t%d\t%d\t%.3f\n' "$case" "$floor_only" "$policy" \
        "$(echo "$policy / $floor_only" | bc -l)"
done
