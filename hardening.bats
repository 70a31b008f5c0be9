#!/usr/bin/env bats
# The bad-input matrix (test_data/bad/) through the real .wasm: every case
# must get a clear answer from the module, never a trap and never an
# "internal server error". Uses `kwrun call`, which hands the exact payload
# bytes to the guest (kwctl has no such command, so this file needs kwrun).

bats_require_minimum_version 1.5.0

KWRUN="${KWRUN:?set KWRUN to the kwrun binary}"
POLICY="${POLICY:-annotated-policy.wasm}"

setup_file() {
  export GENERATED="$BATS_FILE_TMPDIR/generated"
  mkdir -p "$GENERATED"
  python3 test_data/bad/large.py "$GENERATED"
}

payload_of() {
  if [ -f "test_data/bad/$1.payload.json" ]; then
    echo "test_data/bad/$1.payload.json"
  else
    echo "$GENERATED/$1.payload.json"
  fi
}

@test "bad requests: every case gets its verdict from the wasm module, with a clear message" {
  count=0
  answer="$BATS_TEST_TMPDIR/answer.json"
  while IFS=$'\t' read -r case verdict code fragment _; do
    [ "$case" = "case" ] && continue
    if ! "$KWRUN" call --allow-context-aware \
      --replay-host-capabilities-interactions test_data/bad/session.yml \
      "$POLICY" validate "$(payload_of "$case")" > "$answer" 2> "$BATS_TEST_TMPDIR/stderr"; then
      echo "$case: the guest failed: $(cat "$BATS_TEST_TMPDIR/stderr")"
      return 1
    fi
    # One pass of jq over the answer (some are tens of MB).
    IFS=$'\t' read -r accepted kind got_code has_fragment message < <(jq -r --arg f "$fragment" '
      [(.accepted | tostring),
       (if .mutated_object == null then "accept" else "mutate" end),
       ((.code // "-") | tostring),
       ((if .accepted then tojson else (.message // "") end) | contains($f) | tostring),
       (.message // "")] | @tsv' "$answer")
    case "$verdict" in
      reject)
        [ "$accepted" = "false" ] || { echo "$case: accepted"; return 1; }
        [ "$got_code" = "$code" ] || { echo "$case: code $got_code"; return 1; }
        [[ "$message" != *"internal server error"* ]] || { echo "$case: $message"; return 1; }
        ;;
      accept | mutate)
        [ "$accepted" = "true" ] || { echo "$case: rejected: $message"; return 1; }
        [ "$kind" = "$verdict" ] || { echo "$case: $kind instead of $verdict"; return 1; }
        ;;
    esac
    [ "$has_fragment" = "true" ] || { echo "$case: the answer lacks $fragment: $message"; return 1; }
    count=$((count + 1))
  done < test_data/bad/cases.tsv
  echo "checked $count cases"
  [ "$count" -ge 60 ]
}

@test "bad settings: every document is refused by validate_settings, naming the field" {
  count=0
  while IFS=$'\t' read -r case fragment; do
    [ "$case" = "case" ] && continue
    run --separate-stderr "$KWRUN" call "$POLICY" validate_settings "test_data/bad/settings/$case.json"
    [ "$status" -eq 0 ] || { echo "$case: the guest failed: $stderr"; return 1; }
    [ "$(jq -r .valid <<<"$output")" = "false" ] || { echo "$case: accepted"; return 1; }
    [[ "$(jq -r .message <<<"$output")" == *"$fragment"* ]] || { echo "$case: $(jq -r .message <<<"$output")"; return 1; }
    count=$((count + 1))
  done < test_data/bad/settings/cases.tsv
  [ "$count" -ge 18 ]
}

@test "bad settings through kwctl run: refused before evaluation" {
  run --separate-stderr "$KWRUN" run --request-path test_data/pod_creation.json \
    --settings-path test_data/bad/settings/tokenExpirationSeconds-low.json "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"Provided settings are not valid: settings: tokenExpirationSeconds: 599 is below the minimum of 600 seconds"* ]]
}
