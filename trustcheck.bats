#!/usr/bin/env bats
# irsa-trustcheck as a platform team's nightly job runs it: the shipped
# example settings (examples/enforce-policy.yaml) against the AWS CLI
# outputs in test_data/trust/. The Makefile sets $TRUSTCHECK to the built
# binary.

bats_require_minimum_version 1.10.0

TRUSTCHECK="${TRUSTCHECK:-target/debug/irsa-trustcheck}"
T=test_data/trust
SETTINGS=examples/enforce-policy.yaml

check() {
  run --separate-stderr "$TRUSTCHECK" --settings "$SETTINGS" --cluster "$T/cluster.json" "$@"
  echo "output = ${output}"
  echo "stderr = ${stderr}"
}

@test "a role that trusts one ServiceAccount of an allowed namespace passes" {
  check --roles "$T/role-irsa-exact.json" --allow-incomplete
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "PASS arn:aws:iam::111122223333:role/team-a/app ($T/role-irsa-exact.json Role)" ]
}

@test "a StringLike team-a* subject fails with the witness team-aa" {
  check --roles "$T/role-irsa-prefix.json" --allow-incomplete
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "FAIL arn:aws:iam::111122223333:role/team-a/wide "* ]]
  [[ "${lines[1]}" == "  IRSA-SUB-SPAN [critical] statement 0 (Role.AssumeRolePolicyDocument.Statement[0]): "* ]]
  [[ "$output" == *'witness   team-aa'* ]]
  [[ "$output" == *'allowed   "team-a"'* ]]
}

@test "every fixture role, URL-encoded as the IAM API returns them, gives the same verdicts" {
  check --roles "$T/list-roles.json"
  decoded="$(grep -E '^(PASS|FAIL|WARN) ' <<<"$output" | sed 's/ (.*//')"
  check --roles "$T/list-roles-encoded.json"
  [ "$status" -eq 1 ]
  encoded="$(grep -E '^(PASS|FAIL|WARN) ' <<<"$output" | sed 's/ (.*//')"
  [ "$decoded" = "$encoded" ]
  [ "$(grep -c '^PASS ' <<<"$encoded")" -eq 6 ]
  [ "$(grep -c '^FAIL ' <<<"$encoded")" -eq 12 ]
}

@test "--fail-on critical lets high findings through" {
  check --roles "$T/role-irsa-no-aud.json" --allow-incomplete --fail-on critical
  [ "$status" -eq 0 ]
  [[ "$output" == *"IRSA-AUD [high]"* ]]
}

@test "an allowed role missing from --roles makes the check incomplete (exit 3)" {
  check --roles "$T/role-irsa-exact.json"
  [ "$status" -eq 3 ]
  [[ "$output" == *"UNKNOWN-ROLE [high]"*"role/external-dns"* ]]
}

@test "associations: a targetRoleArn the namespace may not use is denied" {
  check --roles "$T/list-roles.json" --associations "$T/association-ledger.json" "$T/association-cross-account.json"
  [ "$status" -eq 1 ]
  [[ "$output" == *"FAIL association payments/batch"* ]]
  [[ "$output" == *"ASSOC-DENIED [critical] (association.targetRoleArn): targetRoleArn arn:aws:iam::444455556666:role/batch-writer is not allowed in namespace \"payments\""* ]]
}

@test "json and sarif outputs" {
  check --roles "$T/role-irsa-prefix.json" --allow-incomplete --format json
  [ "$status" -eq 1 ]
  [ "$(jq -r '.findings[0].witness' <<<"$output")" = "team-aa" ]
  [ "$(jq -r '.roles[0].verdict' <<<"$output")" = "fail" ]
  check --roles "$T/role-irsa-prefix.json" --allow-incomplete --format sarif
  [ "$(jq -r '.version' <<<"$output")" = "2.1.0" ]
  [ "$(jq -r '.runs[0].results[0].ruleId' <<<"$output")" = "IRSA-SUB-SPAN" ]
}

@test "bad input is exit 2 with the file and the JSON path" {
  check --roles "$T/bad-operator.json"
  [ "$status" -eq 2 ]
  [ "$stderr" = "irsa-trustcheck: error: $T/bad-operator.json: at Roles[1].AssumeRolePolicyDocument.Statement[0].Condition.StringEqualsMaybe: unknown condition operator \"StringEqualsMaybe\"" ]
  check --roles "$T/role-pi-ok.json" --associations "$T/list-associations.json"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"describe-pod-identity-association"* ]]
  check --roles "$T/bad-encoding.json"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"at Role.AssumeRolePolicyDocument: the URL-encoded policy document has a bad escape"* ]]
}

@test "the associations subcommand prints the settings block" {
  run --separate-stderr "$TRUSTCHECK" associations "$T/association-ledger.json" "$T/association-tags-off.json"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "podIdentity:" ]
  [ "${lines[2]}" = '    - namespace: "payments"' ]
}

@test "invalid settings are exit 2, worded as validate_settings words them" {
  run --separate-stderr "$TRUSTCHECK" --settings test_data/settings/bad-expiration.yml --roles "$T/role-pi-ok.json"
  [ "$status" -eq 2 ]
  [ "$stderr" = "irsa-trustcheck: error: test_data/settings/bad-expiration.yml: settings: tokenExpirationSeconds: 300 is below the minimum of 600 seconds" ]
}
