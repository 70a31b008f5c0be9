#!/usr/bin/env bash
# `make bench-shapes`: the worst request shapes of test_data/bad/shapes.py
# from 10 KB to 3 MiB, each through `kwrun bench` in policy-server mode
# and on a reused instance (the guest's own time). Prints, per shape and
# size, the medians and the guest time per MiB, which must stay flat.
set -euo pipefail
kwrun="$1"; policy="$2"; out="$3"
iterations="${SHAPES_ITERATIONS:-3}"; rounds="${SHAPES_ROUNDS:-3}"
python3 test_data/bad/shapes.py "$out"
printf '%-16s %9s %7s %13s %13s %12s\n' shape bytes n server_ms guest_ms guest_ms/MiB
while IFS=$'\t' read -r shape size n path; do
  bytes=$(wc -c < "$path")
  result=$("$kwrun" bench --allow-context-aware -r "$path" -s "$out/settings.json" \
    --replay-host-capabilities-interactions "$out/session.yml" \
    --iterations "$iterations" --rounds "$rounds" "$policy" 2>&1)
  server=$(awk '/server min/ {print $6; exit}' <<<"$result")
  guest=$(awk '/reused min/ {print $6; exit}' <<<"$result")
  awk -v s="$shape" -v b="$bytes" -v n="$n" -v sv="$server" -v g="$guest" 'BEGIN {
    printf "%-16s %9d %7d %13.1f %13.1f %12.1f\n", s, b, n, sv / 1000, g / 1000, (g / 1000) / (b / 1048576) }'
done < "$out/shapes.tsv"
