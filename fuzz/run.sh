#!/usr/bin/env bash
# `make fuzz`: seeds the corpora from test_data/, builds the targets with
# cargo-fuzz (nightly, libFuzzer, AddressSanitizer) and runs each for
# FUZZ_SECONDS, FUZZ_PARALLEL of them at a time. Any crash fails the run and
# leaves its input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-300}"
parallel="${FUZZ_PARALLEL:-1}"
targets=(${FUZZ_TARGETS:-validate settings structured})
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

./seed-corpus.sh
cargo +nightly fuzz build

run_target() {
  local target="$1"
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    > "$logs/$target.log" 2>&1
}

failed=()
running=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s"
  run_target "$target" &
  running+=("$!:$target")
  if [ "${#running[@]}" -ge "$parallel" ]; then
    entry="${running[0]}"; running=("${running[@]:1}")
    wait "${entry%%:*}" || failed+=("${entry#*:}")
  fi
done
for entry in "${running[@]}"; do
  wait "${entry%%:*}" || failed+=("${entry#*:}")
done

total=0
for target in "${targets[@]}"; do
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -n 1)"
  echo "fuzz: $target: ${runs:-0} executions, corpus $(ls "corpus/$target" | wc -l) inputs"
  total=$((total + ${runs:-0}))
done
if [ "${#failed[@]}" -gt 0 ]; then
  for target in "${failed[@]}"; do
    tail -n 60 "$logs/$target.log"
    echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/"
  done
  exit 1
fi
echo "fuzz: $total executions in total, 0 crashes"
