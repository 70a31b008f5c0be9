//! Conformance with AWS's amazon-eks-pod-identity-webhook: every fixture of
//! its own test suite (`../shared/reference/upstream-webhook/cases.json`),
//! run through the policy's core and compared, as INDEX.md recommends, by
//! applying the expected patch to the input Pod and comparing objects.

use std::path::PathBuf;

use irsa_policy::admission::{self, Verdict};
use irsa_policy::settings;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::{Map, Value, json};

fn reference_dir() -> PathBuf {
    std::env::var_os("UPSTREAM_WEBHOOK_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/upstream-webhook")
        })
}

/// The upstream fixtures, or `None` (said in one line) where they are not
/// shipped: a clone without `../shared` is what a user gets. CI (`CI` set)
/// has them and must run all 24.
fn load_cases() -> Option<Vec<Value>> {
    let path = reference_dir().join("cases.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "conformance: the upstream fixtures are absent ({}: {e}); not run here, \
                 CI runs them (set UPSTREAM_WEBHOOK_REFERENCE to point at them)",
                path.display()
            );
            return None;
        }
        Err(e) => panic!(
            "conformance fixtures missing: cannot read {}: {e}. They ship in ../shared/reference \
             (or set UPSTREAM_WEBHOOK_REFERENCE); CI must not pass without them",
            path.display()
        ),
    };
    let doc: Value = serde_json::from_str(&text).expect("cases.json is JSON");
    Some(
        doc["cases"]
            .as_array()
            .expect("cases.json has a cases list")
            .clone(),
    )
}

/// The webhook's flags and Pod Identity file, as this policy's settings.
fn settings_for(case: &Value) -> Value {
    let flags = &case["webhook_flags"];
    let mut s = json!({
        "annotationPrefix": flags["annotation-prefix"],
        "tokenAudience": flags["token-audience"],
        "tokenMountPath": flags["token-mount-path"],
        "tokenExpirationSeconds": flags["token-expiration"],
        "awsDefaultRegion": flags["aws-default-region"],
        "stsRegionalEndpoints": flags["sts-regional-endpoint"],
    });
    if let Some(cc) = case["container_credentials"].as_object() {
        s["podIdentity"] = json!({
            "audience": cc["container-credentials-audience"],
            "mountPath": cc["container-credentials-token-mount-path"],
            "volumeName": cc["container-credentials-token-volume-name"],
            "tokenPath": cc["container-credentials-token-path"],
            "fullUri": cc["container-credentials-full-uri"],
            "associations": cc["identities"],
        });
    }
    s
}

/// INDEX.md's normalisation: drop nulls and empty `resources: {}`, and
/// reduce volume mounts to the VolumeMount keys Go knows.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !(v.is_null() || (k == "resources" && v == &json!({}))));
            if let Some(Value::Array(mounts)) = map.get_mut("volumeMounts") {
                for m in mounts.iter_mut() {
                    if let Value::Object(mount) = m {
                        let known = [
                            "name",
                            "readOnly",
                            "mountPath",
                            "subPath",
                            "mountPropagation",
                            "subPathExpr",
                            "recursiveReadOnly",
                        ];
                        mount.retain(|k, _| known.contains(&k.as_str()));
                        mount.entry("mountPath").or_insert_with(|| json!(""));
                    }
                }
            }
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn token_expirations(pod: &Value) -> Vec<i64> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["projected"]["sources"].as_array().into_iter().flatten())
        .filter_map(|s| s["serviceAccountToken"]["expirationSeconds"].as_i64())
        .collect()
}

fn set_token_expiration(pod: &mut Value, value: i64) {
    let volumes = pod
        .pointer_mut("/spec/volumes")
        .and_then(Value::as_array_mut);
    for v in volumes.into_iter().flatten() {
        let sources = v
            .pointer_mut("/projected/sources")
            .and_then(Value::as_array_mut);
        for s in sources.into_iter().flatten() {
            if let Some(exp) = s.pointer_mut("/serviceAccountToken/expirationSeconds") {
                *exp = json!(value);
            }
        }
    }
}

fn run_case(case: &Value) -> Result<(), String> {
    let name = case["fixture"].as_str().unwrap_or("?");
    let settings = settings::parse(&settings_for(case)).map_err(|e| format!("{name}: {e}"))?;
    let request_json = &case["admission_request"];
    let input_pod = request_json["object"].clone();
    // The fast path must take every upstream fixture, not leave it to the
    // parsed path.
    if irsa_policy::pod_text::PodText::read(&input_pod.to_string()).is_err() {
        return Err(format!("{name}: the text reader gave up on the Pod"));
    }
    let request: irsa_policy::admission::Request =
        serde_json::from_value(request_json.clone()).map_err(|e| format!("{name}: {e}"))?;
    let sa = case["service_account"].clone();
    let mut get = |req: &GetResourceRequest| -> Result<Value, String> {
        let sa_name = sa["metadata"]["name"].as_str().unwrap_or_default();
        let sa_ns = sa["metadata"]["namespace"].as_str().unwrap_or_default();
        if req.name == sa_name
            && req.namespace.as_deref() == Some(sa_ns)
            && req.kind == "ServiceAccount"
        {
            Ok(sa.clone())
        } else {
            Err(format!(
                "Cannot find v1/ServiceAccount named '{}'",
                req.name
            ))
        }
    };

    let outcome = admission::evaluate(request, &settings, &mut get);
    if !outcome.warnings.is_empty() {
        return Err(format!(
            "{name}: unexpected warnings {:?}",
            outcome.warnings
        ));
    }
    let mut actual = match outcome.verdict {
        Verdict::Mutate(object) => object.to_value(),
        Verdict::Accept => input_pod.clone(),
        Verdict::Reject { message, .. } => return Err(format!("{name}: rejected: {message}")),
    };

    let patch: json_patch::Patch = serde_json::from_value(case["expected_patch"].clone())
        .map_err(|e| format!("{name}: expected patch: {e}"))?;
    let mut expected = input_pod;
    json_patch::patch(&mut expected, &patch)
        .map_err(|e| format!("{name}: applying expected patch: {e}"))?;

    if case["jittered_expiration"].as_bool() == Some(true) {
        // Upstream draws uniformly in [79200, 86400]; its test forces 79200.
        let got = token_expirations(&actual);
        if got.len() != 1 || !(79200..=86400).contains(&got[0]) {
            return Err(format!(
                "{name}: jittered expiration {got:?} outside [79200, 86400]"
            ));
        }
        set_token_expiration(&mut actual, 79200);
    }
    normalise(&mut actual);
    normalise(&mut expected);
    if actual != expected {
        return Err(format!(
            "{name}: mutated Pod differs from upstream's\n  expected: {expected}\n  actual:   {actual}"
        ));
    }
    Ok(())
}

#[test]
fn all_upstream_fixtures_conform() {
    let Some(cases) = load_cases() else { return };
    assert_eq!(cases.len(), 24, "the reference holds 24 upstream fixtures");
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{}/{} upstream fixtures differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "conformance: {}/{} upstream fixtures pass",
        cases.len(),
        cases.len()
    );
}

/// The comparison itself must be able to fail: a wrong role is caught.
#[test]
fn a_wrong_injection_is_detected() {
    let Some(cases) = load_cases() else { return };
    let mut case = cases.into_iter().next().expect("a case");
    case["service_account"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
        json!("arn:aws:iam::111122223333:role/someone-else");
    assert!(run_case(&case).is_err());
}

/// Unknown container fields, which upstream's re-serialisation drops, are
/// kept here (upstream bugs #84, #165, #208).
#[test]
fn unknown_fields_survive_where_upstream_drops_them() {
    let Some(cases) = load_cases() else { return };
    let case = cases
        .into_iter()
        .find(|c| c["fixture"] == "testdata/rawPodWithoutVolumes.pod.yaml")
        .expect("baseline fixture");
    let settings = settings::parse(&settings_for(&case)).unwrap();
    let mut request = case["admission_request"].clone();
    request["object"]["spec"]["containers"][0]["futureField"] = json!({"x": [1, 2]});
    let request: irsa_policy::admission::Request = serde_json::from_value(request).unwrap();
    let sa = case["service_account"].clone();
    let outcome = admission::evaluate(request, &settings, &mut |_| Ok(sa.clone()));
    let Verdict::Mutate(pod) = outcome.verdict else {
        panic!("expected a mutation")
    };
    let pod = pod.to_value();
    assert_eq!(
        pod["spec"]["containers"][0]["futureField"],
        json!({"x": [1, 2]})
    );
    let _: &Map<String, Value> = pod["spec"]["containers"][0].as_object().unwrap();
}
