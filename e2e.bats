#!/usr/bin/env bats
# End-to-end tests of annotated-policy.wasm through `kwctl run`, or through
# our kwctl-compatible `kwrun` (the Makefile sets $KWCTL accordingly).

bats_require_minimum_version 1.10.0

KWCTL="${KWCTL:-kwctl}"
POLICY="${POLICY:-annotated-policy.wasm}"
ROLE="arn:aws:iam::111122223333:role/s3-reader"
TOKEN_FILE="/var/run/secrets/eks.amazonaws.com/serviceaccount/token"

# Evaluates a request with a replay session; extra flags follow.
evaluate() {
  local request="$1" session="$2"
  shift 2
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path "test_data/$request" \
    --replay-host-capabilities-interactions "test_data/sessions/$session" \
    "$@" "$POLICY"
  echo "output = ${output}"
  echo "stderr = ${stderr}"
}

# The decoded JSON patch of the last response.
patch() {
  jq -r '.patch' <<<"$output" | base64 -d
}

# The Pod after applying the last response's JSON patch (RFC 6902 add,
# replace and remove, which is all policy-server's diff emits).
patched_pod() {
  python3 -c '
import base64, json, sys
request = json.load(open(sys.argv[1]))
request = request.get("request", request)
doc = request["object"]
response = json.loads(sys.argv[2])
for op in json.loads(base64.b64decode(response["patch"])):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    last = parts[-1]
    if op["op"] == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    elif isinstance(parent, list):
        idx = len(parent) if last == "-" else int(last)
        if op["op"] == "add":
            parent.insert(idx, op["value"])
        else:
            parent[idx] = op["value"]
    else:
        parent[last] = op["value"]
print(json.dumps(doc))
' "test_data/$1" "$output"
}

@test "ServiceAccount with a role: volume, mount and env are injected" {
  evaluate pod_creation.json sa-with-role.yml --settings-path test_data/settings/region.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patchType <<<"$output")" = "JSONPatch" ]
  pod="$(patched_pod pod_creation.json)"
  # The projected token volume, exactly as upstream builds it.
  [ "$(jq -cS '.spec.volumes[0]' <<<"$pod")" = '{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}' ]
  [ "$(jq -r '.spec.volumes[1].name' <<<"$pod")" = "data" ]
  # Env appended in upstream order after the user's own.
  [ "$(jq -c '[.spec.containers[0].env[].name]' <<<"$pod")" = '["LOG_LEVEL","AWS_STS_REGIONAL_ENDPOINTS","AWS_DEFAULT_REGION","AWS_REGION","AWS_ROLE_ARN","AWS_WEB_IDENTITY_TOKEN_FILE"]' ]
  [ "$(jq -r '.spec.containers[0].env[] | select(.name=="AWS_ROLE_ARN") | .value' <<<"$pod")" = "$ROLE" ]
  [ "$(jq -r '.spec.containers[0].env[] | select(.name=="AWS_WEB_IDENTITY_TOKEN_FILE") | .value' <<<"$pod")" = "$TOKEN_FILE" ]
  [ "$(jq -cS '.spec.containers[0].volumeMounts[1]' <<<"$pod")" = '{"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount","name":"aws-iam-token","readOnly":true}' ]
  # The native sidecar is mutated and keeps restartPolicy and its probe.
  [ "$(jq -r '.spec.initContainers[0].restartPolicy' <<<"$pod")" = "Always" ]
  [ "$(jq -r '.spec.initContainers[0].readinessProbe.httpGet.path' <<<"$pod")" = "/ready" ]
  [ "$(jq -r '.spec.initContainers[0].env[-1].name' <<<"$pod")" = "AWS_WEB_IDENTITY_TOKEN_FILE" ]
  # Fields the policy does not own survive.
  [ "$(jq -c '.spec.containers[0].startupProbe' <<<"$pod")" = '{"grpc":{"port":9000}}' ]
}

@test "ServiceAccount without a role: accepted unchanged" {
  evaluate pod_creation.json sa-without-role.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
  [ "$(jq -r .warnings <<<"$output")" = "null" ]
}

@test "ServiceAccount missing: retried uncached, then accepted with a warning naming it" {
  evaluate pod_creation.json sa-missing.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
  [[ "$(jq -r '.warnings[0]' <<<"$output")" == *'ServiceAccount "s3-reader" of Pod "web" in namespace "team-a" was not found'* ]]
}

@test "ServiceAccount created just before its Pod: the uncached retry finds it" {
  evaluate pod_creation.json sa-created-late.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  patch | grep -q "$ROLE"
}

@test "Lookup error: rejected, naming the ServiceAccount, the Pod and the cause" {
  evaluate pod_creation.json lookup-error.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.code <<<"$output")" = "500" ]
  message="$(jq -r .status.message <<<"$output")"
  [[ "$message" == *'looking up ServiceAccount "s3-reader" of Pod "web" in namespace "team-a" failed'* ]]
  [[ "$message" == *'is forbidden'* ]]
  [[ "$message" == *'serviceAccountLookupFailure: accept'* ]]
}

@test "Lookup error with serviceAccountLookupFailure: accept: admitted with a warning" {
  evaluate pod_creation.json lookup-error.yml --settings-json '{"serviceAccountLookupFailure":"accept"}'
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [[ "$(jq -r '.warnings[0]' <<<"$output")" == *'admitted without AWS credentials'* ]]
}

@test "decisionLogs: the log names the injection and a failed lookup with its cause; off by default" {
  evaluate pod_creation.json sa-with-role.yml --settings-json '{"decisionLogs":true}'
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [[ "$stderr" == *'injected IRSA role "arn:aws:iam::111122223333:role/s3-reader" (from ServiceAccount annotation eks.amazonaws.com/role-arn)'* ]]
  [[ "$stderr" == *'accepted with the injection'* ]]
  evaluate pod_creation.json lookup-error.yml --settings-json '{"decisionLogs":true}'
  [ "$(jq -r .status.code <<<"$output")" = "500" ]
  [[ "$stderr" == *'looking up ServiceAccount team-a/s3-reader (cache on) failed: '*'forbidden'* ]]
  [[ "$stderr" == *'rejected (500)'* ]]
  evaluate pod_creation.json sa-with-role.yml
  [[ "$stderr" != *'injected IRSA role'* ]]
}

@test "README: the commands marked runnable run as written" {
  # `make` lines are what made $POLICY; kwctl is $KWCTL.
  script="$(awk '/^```console runnable/{on=1; next} /^```/{on=0} on' README.md \
    | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -v '^make ' \
    | sed -e "s|^kwctl |\"\$KWCTL\" |" -e "s|annotated-policy.wasm\$|\"\$POLICY\"|")"
  echo "$script"
  [ -n "$script" ]
  run --separate-stderr env KWCTL="$KWCTL" POLICY="$POLICY" bash -c "$script"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patchType <<<"$output")" = "JSONPatch" ]
}

@test "Pod Identity on an IPv6 cluster: label, token volume and container credentials env" {
  evaluate pod_creation.json sa-with-role.yml --settings-path test_data/settings/pod-identity.yml
  [ "$status" -eq 0 ]
  pod="$(patched_pod pod_creation.json)"
  [ "$(jq -r '.metadata.labels["eks.amazonaws.com/pod-identity"]' <<<"$pod")" = "enabled" ]
  [ "$(jq -r '.metadata.labels.app' <<<"$pod")" = "web" ]
  [ "$(jq -r '.spec.volumes[0].name' <<<"$pod")" = "eks-pod-identity-token" ]
  [ "$(jq -r '.spec.volumes[0].projected.sources[0].serviceAccountToken.audience' <<<"$pod")" = "pods.eks.amazonaws.com" ]
  exp="$(jq -r '.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds' <<<"$pod")"
  [ "$exp" -ge 79200 ] && [ "$exp" -le 86400 ]
  [ "$(jq -c '[.spec.containers[0].env[].name]' <<<"$pod")" = '["LOG_LEVEL","AWS_STS_REGIONAL_ENDPOINTS","AWS_DEFAULT_REGION","AWS_REGION","AWS_CONTAINER_CREDENTIALS_FULL_URI","AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]' ]
  [ "$(jq -r '.spec.containers[0].env[] | select(.name=="AWS_CONTAINER_CREDENTIALS_FULL_URI") | .value' <<<"$pod")" = "http://[fd00:ec2::23]/v1/credentials" ]
  [ "$(jq -r '.spec.containers[0].env[] | select(.name=="AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") | .value' <<<"$pod")" = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token" ]
  # Pod Identity wins over the ServiceAccount's role annotation.
  ! patch | grep -q AWS_ROLE_ARN
}

@test "Windows node selector: token path in C:\\ form, mount path unchanged" {
  evaluate pod_creation_windows.json sa-with-role.yml
  [ "$status" -eq 0 ]
  pod="$(patched_pod pod_creation_windows.json)"
  [ "$(jq -r '.spec.containers[0].env[] | select(.name=="AWS_WEB_IDENTITY_TOKEN_FILE") | .value' <<<"$pod")" = 'C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token' ]
  [ "$(jq -r '.spec.containers[0].volumeMounts[-1].mountPath' <<<"$pod")" = "/var/run/secrets/eks.amazonaws.com/serviceaccount" ]
}

@test "skip-containers: the listed container is left exactly as it was" {
  evaluate pod_creation_skip_containers.json sa-with-role.yml
  [ "$status" -eq 0 ]
  pod="$(patched_pod pod_creation_skip_containers.json)"
  [ "$(jq -cS '.spec.containers[1]' <<<"$pod")" = '{"image":"istio/proxyv2:1.23.0","name":"istio-proxy"}' ]
  [ "$(jq -r '.spec.containers[0].env[-1].name' <<<"$pod")" = "AWS_WEB_IDENTITY_TOKEN_FILE" ]
  ! patch | grep -q '/spec/containers/1'
}

@test "Pod from a controller is named by its generateName" {
  evaluate pod_creation_generate_name.json lookup-error.yml
  [ "$status" -eq 0 ]
  [[ "$(jq -r .status.message <<<"$output")" == *'Pod "web-7d9f8b6c5d-" (generateName) in namespace "team-a"'* ]]
}

@test "Bad settings: refused before evaluation, naming the field and the reason" {
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path test_data/pod_creation.json \
    --replay-host-capabilities-interactions test_data/sessions/empty.yml \
    --settings-path test_data/settings/bad-expiration.yml "$POLICY"
  echo "output = ${output}"; echo "stderr = ${stderr}"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'Provided settings are not valid'* ]]
  [[ "$stderr" == *'tokenExpirationSeconds: 300 is below the minimum of 600 seconds'* ]]
}

@test "Bad settings: a misspelt key is named" {
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path test_data/pod_creation.json \
    --replay-host-capabilities-interactions test_data/sessions/empty.yml \
    --settings-json '{"tokenAudeince": "sts.amazonaws.com"}' "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *'unknown field `tokenAudeince`'* ]]
}

@test "Without --allow-context-aware the lookup is refused and the Pod rejected" {
  run --separate-stderr "$KWCTL" run \
    --request-path test_data/pod_creation.json \
    --replay-host-capabilities-interactions test_data/sessions/sa-with-role.yml "$POLICY"
  echo "output = ${output}"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *'has not been granted access to Kubernetes v1/ServiceAccount resources'* ]]
}

# ---- allowedRoles (test_data/bypass holds the catalogue of routes) ----

# Evaluates a bypass case (test_data/bypass/CASE, or admitted/CASE) with
# the catalogue settings or the case's own. A case without lookups gets an
# empty replay session: no run may reach a cluster.
bypass() {
  local case="$1"
  shift
  local base="test_data/bypass/$case"
  local session="test_data/sessions/empty.yml"
  [ -f "$base.session.yml" ] && session="$base.session.yml"
  local settings="test_data/bypass/settings.yml"
  [ -f "$base.settings.yml" ] && settings="$base.settings.yml"
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path "$base.json" \
    --settings-path "$settings" \
    --replay-host-capabilities-interactions "$session" "$@" "$POLICY"
  echo "output = ${output}"
  echo "stderr = ${stderr}"
}

ALLOWED_TEAM_A='namespace "team-a" allows only arn:aws:iam::111122223333:role/shared-read-only, arn:aws:iam::111122223333:role/team-a/*, arn:aws:iam::111122223333:role/team-a-*'

@test "allowedRoles: an allowed role is injected as usual" {
  evaluate pod_creation.json sa-with-role.yml --settings-path test_data/settings/restricted.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .warnings <<<"$output")" = "null" ]
  patch | grep -q "$ROLE"
}

@test "allowedRoles: a Pod whose ServiceAccount names a forbidden role is denied with the exact message" {
  bypass sa-annotation-other-account
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.code <<<"$output")" = "403" ]
  [ "$(jq -r .status.message <<<"$output")" = "Pod \"web\" in namespace \"team-a\" (ServiceAccount \"app\"): IAM role \"arn:aws:iam::999988887777:role/team-a-reader\" (ServiceAccount annotation eks.amazonaws.com/role-arn) is not allowed: $ALLOWED_TEAM_A" ]
}

@test "allowedRoles: a ServiceAccount with a forbidden role annotation is denied" {
  bypass serviceaccount-create
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "ServiceAccount \"deployer\" in namespace \"team-a\": IAM role \"arn:aws:iam::111122223333:role/cluster-admin\" (ServiceAccount annotation eks.amazonaws.com/role-arn) is not allowed: $ALLOWED_TEAM_A" ]
}

@test "allowedRoles: a ConfigMap or a SecretStore naming a forbidden role is denied, naming the key or field" {
  bypass configmap-aws-config-forbidden-role
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "ConfigMap \"aws-config\" in namespace \"team-a\": IAM role \"arn:aws:iam::111122223333:role/cluster-admin\" (data key \"config\") is not allowed: $ALLOWED_TEAM_A" ]
  bypass secretstore-forbidden-role
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "SecretStore \"aws-secrets\" in namespace \"team-a\": IAM role \"arn:aws:iam::111122223333:role/cluster-admin\" (field spec.provider.aws.role) is not allowed: $ALLOWED_TEAM_A" ]
}

@test "allowedRoles: a Deployment whose template uses a forbidden role is denied at apply time" {
  bypass deployment-template-literal
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
  [ "$(jq -r .status.message <<<"$output")" = "Deployment \"worker\" in namespace \"team-a\" (Pod template, ServiceAccount \"app\"): IAM role \"arn:aws:iam::111122223333:role/cluster-admin\" (env AWS_ROLE_ARN of container \"worker\") is not allowed: $ALLOWED_TEAM_A" ]
}

@test "allowedRoles: a Pod mounting its own STS-audience token without a role is denied" {
  bypass self-mounted-sts-token
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *'projected token volume "my-token" has STS audience "sts.amazonaws.com" but the Pod uses no role'* ]]
}

@test "allowedRoles: kubectl debug adding an ephemeral container with a forbidden role is denied" {
  bypass ephemeral-container-literal
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *'(env AWS_ROLE_ARN of ephemeral container "debugger") is not allowed'* ]]
}

@test "allowedRoles: a namespace absent from the map may use no role" {
  evaluate pod_creation.json sa-with-role.yml \
    --settings-json '{"allowedRoles": {"payments": ["arn:aws:iam::111122223333:role/payments-*"]}}'
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = 'Pod "web" in namespace "team-a" (ServiceAccount "s3-reader"): IAM role "arn:aws:iam::111122223333:role/s3-reader" (ServiceAccount annotation eks.amazonaws.com/role-arn) is not allowed: no roles are allowed in namespace "team-a"' ]
}

@test "allowedRoles: warn mode admits and mutates, with the denial text as a warning" {
  evaluate pod_creation.json sa-with-role.yml \
    --settings-json '{"enforcement": "warn", "allowedRoles": {"payments": ["arn:aws:iam::111122223333:role/payments-*"]}}'
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  patch | grep -q "$ROLE"
  [ "$(jq -r '.warnings | length' <<<"$output")" = "1" ]
  [ "$(jq -r '.warnings[0]' <<<"$output")" = 'Pod "web" in namespace "team-a" (ServiceAccount "s3-reader"): IAM role "arn:aws:iam::111122223333:role/s3-reader" (ServiceAccount annotation eks.amazonaws.com/role-arn) is not allowed: no roles are allowed in namespace "team-a"' ]
}

@test "allowedRoles: every route in the bypass catalogue is denied through the wasm module, naming the rule" {
  count=0
  while IFS=$'\t' read -r case route fragment; do
    [ "$case" = "case" ] && continue
    bypass "$case"
    [ "$status" -eq 0 ] || { echo "$case: exit $status"; return 1; }
    [ "$(jq -r .allowed <<<"$output")" = "false" ] || { echo "$case admitted: $route"; return 1; }
    [ "$(jq -r .status.code <<<"$output")" = "403" ] || { echo "$case: not a 403"; return 1; }
    message="$(jq -r .status.message <<<"$output")"
    [[ "$message" == *"$fragment"* ]] || { echo "$case: message lacks the rule: $message"; return 1; }
    [ "${#message}" -le 4096 ] || { echo "$case: message of ${#message} bytes"; return 1; }
    [[ "$stderr" != *"not been replayed"* ]] || { echo "$case: session not fully used"; return 1; }
    count=$((count + 1))
  done < test_data/bypass/catalogue.tsv
  echo "denied $count routes"
  [ "$count" -ge 47 ]
}

@test "allowedRoles: every legitimate variant next to a route is admitted through the wasm module" {
  count=0
  while IFS=$'\t' read -r case variant; do
    [ "$case" = "case" ] && continue
    bypass "admitted/$case"
    [ "$status" -eq 0 ] || { echo "$case: exit $status"; return 1; }
    [ "$(jq -r .allowed <<<"$output")" = "true" ] || { echo "$case denied: $variant: $output"; return 1; }
    [ "$(jq -r .warnings <<<"$output")" = "null" ] || { echo "$case warned: $output"; return 1; }
    count=$((count + 1))
  done < test_data/bypass/admitted.tsv
  echo "admitted $count variants"
  [ "$count" -ge 10 ]
}

@test "inject: false plans the injection for the check but never mutates" {
  # The validating instance's settings: the Pod must pass, and no patch.
  settings="$BATS_TEST_TMPDIR/validating.yml"
  printf 'inject: false\njudgedSources: [ConfigMap]\nallowedRoles:\n  team-a: ["arn:aws:iam::111122223333:role/team-a-*"]\n' > "$settings"
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path test_data/bypass/admitted/configmap-envfrom-with-injected-role.json \
    --settings-path "$settings" \
    --replay-host-capabilities-interactions test_data/bypass/admitted/configmap-envfrom-with-injected-role.session.yml \
    "$POLICY"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
}

@test "skip-pod-identity-webhook label: no injection, but the allow-list still applies" {
  bypass admitted/skip-label-allowed-role
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
  bypass skip-label-forbidden-role
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
}

# ---- Background audit (backgroundAudit: true) ----

# Existing objects as Kubewarden's audit scanner sends them: CREATE, the Kind
# as resource.resource, the object's UID, empty userInfo, no oldObject
# (test_data/audit/generate.py). A mutation would be ignored, so none may
# be asked for: an injected Pod passes or fails as it stands.
audit_case() {
  local case="$1" settings="$2"
  local session="test_data/sessions/empty.yml"
  [ -f "test_data/audit/$case.session.yml" ] && session="test_data/audit/$case.session.yml"
  run --separate-stderr "$KWCTL" run --allow-context-aware \
    --request-path "test_data/audit/$case.json" \
    --settings-path "$settings" \
    --replay-host-capabilities-interactions "$session" "$POLICY"
  echo "output = ${output}"
  echo "stderr = ${stderr}"
}

@test "Audit: existing Pods, ServiceAccounts, Deployments and ConfigMaps pass or fail by their role, never patched" {
  # irsa-enforce's settings (inject: false), then the same with injection on.
  injecting="$BATS_TEST_TMPDIR/injecting.yml"
  sed 's/^inject: false$/inject: true/' test_data/audit/settings.yml > "$injecting"
  grep -q '^inject: true$' "$injecting"
  count=0
  for settings in test_data/audit/settings.yml "$injecting"; do
    while IFS=$'\t' read -r case allowed message; do
      [ "$case" = "case" ] && continue
      audit_case "$case" "$settings"
      [ "$status" -eq 0 ] || { echo "$case: exit $status"; return 1; }
      [ "$(jq -r .allowed <<<"$output")" = "$allowed" ] || { echo "$case: allowed is not $allowed"; return 1; }
      [ "$(jq -r .patch <<<"$output")" = "null" ] || { echo "$case: patched"; return 1; }
      [ "$(jq -r .warnings <<<"$output")" = "null" ] || { echo "$case: warned"; return 1; }
      [ "$(jq -r '.status.message // ""' <<<"$output")" = "$message" ] || { echo "$case: message differs"; return 1; }
      [[ "$stderr" != *"not been replayed"* ]] || { echo "$case: session not fully used"; return 1; }
      count=$((count + 1))
    done < test_data/audit/expected.tsv
  done
  echo "audited $count objects"
  [ "$count" -eq 20 ]
}

# ---- OCI distribution (needs $REGISTRY, a registry on loopback) ----

# bats test_tags=registry
@test "OCI: push the annotated policy, pull it back by digest, and evaluate the pulled module" {
  [ -n "$REGISTRY" ] || { echo "set REGISTRY=host:port (make test filters this case out without it)"; return 1; }
  repo="e2e/irsa-policy"
  run --separate-stderr "$KWCTL" push -o json "$POLICY" "registry://$REGISTRY/$repo:v0.0.0-e2e"
  echo "push: ${output} ${stderr}"
  [ "$status" -eq 0 ]
  immutable="$(jq -r .immutable_ref <<<"$output")"
  digest="${immutable#*@}"
  [[ "$immutable" == "$REGISTRY/$repo@sha256:"* ]]

  # The manifest kwctl writes: the digest is the manifest's, one wasm layer
  # whose digest is the module's, the config blob "{}".
  manifest="$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$repo/manifests/$digest")"
  [ "sha256:$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)" = "$digest" ]
  [ "$(jq -r '.config.mediaType' <<<"$manifest")" = "application/vnd.wasm.config.v1+json" ]
  [ "$(jq -r '.config.digest' <<<"$manifest")" = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" ]
  [ "$(jq -r '.layers | length' <<<"$manifest")" = "1" ]
  [ "$(jq -r '.layers[0].mediaType' <<<"$manifest")" = "application/vnd.wasm.content.layer.v1+wasm" ]
  [ "$(jq -r '.layers[0].digest' <<<"$manifest")" = "sha256:$(sha256sum < "$POLICY" | cut -d' ' -f1)" ]
  [ "$(jq -r '.annotations["io.kubewarden.policy.title"]' <<<"$manifest")" = "irsa-policy" ]
  [ "$(jq -r '.annotations["io.kubewarden.policy.usage"]' <<<"$manifest")" = "null" ]

  pulled="$BATS_TEST_TMPDIR/pulled.wasm"
  run --separate-stderr "$KWCTL" pull --output-path "$pulled" "registry://$immutable"
  echo "pull: ${output} ${stderr}"
  [ "$status" -eq 0 ]
  cmp "$pulled" "$POLICY"

  POLICY="$pulled" evaluate pod_creation.json sa-with-role.yml
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  patch | grep -q "$ROLE"
}
