//! Properties over generated Pods and settings (see `testgen`): proptest
//! draws bytes, `arbitrary` turns them into admission cases, so the same
//! generator also drives the structured fuzz target.
//!
//! Test-only (`#[cfg(test)] mod properties` in `lib.rs`): its `panic!`s
//! are test failures on bad generator output and never reach the module.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::admission::{self, Outcome, Verdict};
use crate::constants::*;
use crate::mutation::skipped_containers;
use crate::settings;
use crate::testgen::{self, Case};

fn evaluate(request: &Value, settings_doc: &Value, sa: &Option<Value>) -> Outcome {
    let settings = match settings::parse(settings_doc) {
        Ok(s) => s,
        Err(e) => panic!("generated settings must be valid: {e}"),
    };
    // Pretty-printed, so the text reader and the splice meet whitespace.
    let text = serde_json::to_string_pretty(request).unwrap_or_default();
    let request: admission::Request = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => panic!("generated request must parse: {e}"),
    };
    let mut host = |req: &GetResourceRequest| match sa {
        Some(sa) if req.name == "app" && req.namespace.as_deref() == Some("team-a") => {
            Ok(sa.clone())
        }
        _ => Err(format!(
            "Cannot find v1/ServiceAccount named '{}'",
            req.name
        )),
    };
    let parsed = admission::evaluate_parsed(request.clone(), &settings, &mut host);
    let outcome = admission::evaluate(request, &settings, &mut host);
    // Every property also checks the text reader against the parsed Pod.
    if !outcome.same_decision(&parsed) {
        panic!("the text reader and the parsed Pod disagree:\n{outcome:?}\n{parsed:?}");
    }
    outcome
}

fn case_from(bytes: &[u8]) -> Option<Case> {
    Case::arbitrary(&mut Unstructured::new(bytes)).ok()
}

fn is_pod_create(case: &Case) -> bool {
    case.request["kind"]["kind"] == "Pod" && case.request["operation"] == "CREATE"
}

const INJECTED_ENV: [&str; 7] = [
    ENV_STS_REGIONAL_ENDPOINTS,
    ENV_DEFAULT_REGION,
    ENV_REGION,
    ENV_ROLE_ARN,
    ENV_WEB_IDENTITY_TOKEN_FILE,
    ENV_CONTAINER_CREDENTIALS_FULL_URI,
    ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE,
];

fn list(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `mutated` is `original` plus only what the policy documents: env and a
/// read-only mount appended to non-skipped containers, one token volume
/// prepended, the Pod Identity label. Everything else, unknown fields and
/// skipped or ephemeral containers included, is untouched.
fn assert_only_documented_additions(original: &Value, mutated: &Value) -> Result<(), String> {
    let mut o = original.clone();
    let mut m = mutated.clone();
    // Labels: only the Pod Identity label may appear.
    let take_labels = |v: &mut Value| {
        v.get_mut("metadata")
            .and_then(Value::as_object_mut)
            .and_then(|meta| meta.remove("labels"))
    };
    let o_labels = take_labels(&mut o);
    let m_labels = take_labels(&mut m);
    let mut m_rest = m_labels.clone().unwrap_or(Value::Null);
    if let Some(map) = m_rest.as_object_mut() {
        map.remove(POD_IDENTITY_LABEL);
    }
    let mut o_rest = o_labels.clone().unwrap_or(Value::Null);
    if let Some(map) = o_rest.as_object_mut() {
        map.remove(POD_IDENTITY_LABEL);
    }
    let empty_ok = (o_rest.is_null() && m_rest == json!({})) || o_rest == m_rest;
    if !empty_ok {
        return Err(format!("labels changed: {o_labels:?} -> {m_labels:?}"));
    }
    // Volumes: unchanged, or one token volume in front.
    let o_volumes = list(o.pointer("/spec/volumes"));
    let m_volumes = list(m.pointer("/spec/volumes"));
    if m_volumes != o_volumes {
        let (first, rest) = m_volumes.split_first().ok_or("volumes lost")?;
        if rest != o_volumes.as_slice()
            || first
                .pointer("/projected/sources/0/serviceAccountToken")
                .is_none()
        {
            return Err(format!(
                "volumes changed beyond one token volume: {o_volumes:?} -> {m_volumes:?}"
            ));
        }
    }
    let skip = skipped_containers(
        original
            .pointer("/metadata/annotations")
            .and_then(Value::as_object),
        "eks.amazonaws.com/skip-containers",
    );
    for field in ["initContainers", "containers"] {
        let o_list = list(o.pointer(&format!("/spec/{field}")));
        let m_list = list(m.pointer(&format!("/spec/{field}")));
        if o_list.len() != m_list.len() {
            return Err(format!("{field}: count changed"));
        }
        for (oc, mc) in o_list.iter().zip(&m_list) {
            let name = oc["name"].as_str().unwrap_or("");
            if skip.contains(name) {
                if oc != mc {
                    return Err(format!("skipped container {name:?} changed"));
                }
                continue;
            }
            check_container(oc, mc).map_err(|e| format!("{field} {name:?}: {e}"))?;
        }
    }
    // With those parts accounted for, nothing else may differ.
    for v in [&mut o, &mut m] {
        if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
            for key in ["volumes", "initContainers", "containers"] {
                spec.remove(key);
            }
        }
    }
    if o != m {
        return Err(format!("fields outside the injection changed:\n{o}\n{m}"));
    }
    Ok(())
}

fn check_container(original: &Value, mutated: &Value) -> Result<(), String> {
    let (mut o, mut m) = (original.clone(), mutated.clone());
    for key in ["env", "volumeMounts"] {
        let o_list = o.as_object_mut().and_then(|c| c.remove(key));
        let m_list = m.as_object_mut().and_then(|c| c.remove(key));
        let o_items = list(o_list.as_ref());
        let m_items = list(m_list.as_ref());
        if m_items.get(..o_items.len()) != Some(o_items.as_slice()) {
            return Err(format!("{key}: existing entries changed"));
        }
        let added = m_items.get(o_items.len()..).unwrap_or_default();
        if o_list.is_none() && added.is_empty() && m_list.is_some() {
            return Err(format!("an empty {key} was created"));
        }
        for item in added {
            let name = item["name"].as_str().unwrap_or("");
            let documented = match key {
                "env" => INJECTED_ENV.contains(&name),
                _ => item["readOnly"] == json!(true) && added.len() == 1,
            };
            if !documented {
                return Err(format!("{key}: undocumented addition {item}"));
            }
        }
    }
    if o != m {
        return Err("fields other than env and volumeMounts changed".to_owned());
    }
    Ok(())
}

/// Adds `pattern` under `key` to the settings' allow-list.
fn with_pattern(settings: &Value, key: &str, pattern: &str) -> Value {
    let mut s = settings.clone();
    let allowed = s
        .as_object_mut()
        .map(|m| m.entry("allowedRoles").or_insert_with(|| json!({})));
    if let Some(Value::Object(allowed)) = allowed {
        let entry = allowed.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(patterns) = entry {
            patterns.push(json!(pattern));
        }
    }
    s
}

fn with_enforcement(settings: &Value, mode: &str) -> Value {
    let mut s = settings.clone();
    s["enforcement"] = json!(mode);
    s
}

fn seed() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 64..2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_generated_request_gets_a_clear_answer(bytes in seed()) {
        if let Some(case) = case_from(&bytes) {
            let outcome = evaluate(&case.request, &case.settings, &case.service_account);
            if let Verdict::Reject { message, code } = &outcome.verdict {
                prop_assert!(!message.is_empty());
                prop_assert!([400, 403, 500].contains(code), "{}", code);
                prop_assert!(!message.contains("internal server error"));
            }
        }
    }

    #[test]
    fn mutating_twice_equals_mutating_once(bytes in seed()) {
        let Some(case) = case_from(&bytes) else { return Ok(()) };
        prop_assume!(is_pod_create(&case));
        let first = evaluate(&case.request, &case.settings, &case.service_account);
        if let Verdict::Mutate(pod) = &first.verdict {
            let mut again = case.request.clone();
            again["object"] = pod.to_value();
            let second = evaluate(&again, &case.settings, &case.service_account);
            prop_assert_eq!(second.verdict, Verdict::Accept, "the second pass changed the Pod");
            prop_assert_eq!(second.warnings, first.warnings);
        }
    }

    #[test]
    fn only_documented_additions_and_nothing_else_changes(bytes in seed()) {
        let Some(case) = case_from(&bytes) else { return Ok(()) };
        prop_assume!(is_pod_create(&case));
        let outcome = evaluate(&case.request, &case.settings, &case.service_account);
        if let Verdict::Mutate(pod) = &outcome.verdict
            && let Err(e) = assert_only_documented_additions(&case.request["object"], &pod.to_value())
        {
            prop_assert!(false, "{}", e);
        }
    }

    #[test]
    fn allowing_more_never_rejects_more(bytes in seed(), key in 0usize..5, pattern in 0usize..5) {
        let Some(case) = case_from(&bytes) else { return Ok(()) };
        // Adding to an existing allow-list; creating one is what restricts.
        prop_assume!(case.settings.get("allowedRoles").is_some());
        let keys = ["team-a", "team-*", "*", "other", "t?am-a"];
        let patterns = ["arn:aws:iam::111122223333:role/*", "arn:aws:iam::*:role/s3-reader",
                        "arn:aws:iam::111122223333:role/{namespace}/*", "arn:aws-cn:iam::111122223333:role/*",
                        "arn:aws:iam::111122223333:role/admin"];
        let wider = with_pattern(&case.settings, keys[key], patterns[pattern]);
        let before = evaluate(&case.request, &case.settings, &case.service_account);
        let after = evaluate(&case.request, &wider, &case.service_account);
        let was_rejected = matches!(before.verdict, Verdict::Reject { .. });
        let is_rejected = matches!(after.verdict, Verdict::Reject { .. });
        prop_assert!(was_rejected || !is_rejected, "{:?} became {:?}", before, after);
    }

    #[test]
    fn deny_and_warn_report_the_same_violations(bytes in seed()) {
        let Some(case) = case_from(&bytes) else { return Ok(()) };
        let mut u = Unstructured::new(&bytes);
        let Ok(restricted) = testgen::settings(&mut u, true) else { return Ok(()) };
        let deny = evaluate(&case.request, &with_enforcement(&restricted, "deny"), &case.service_account);
        let warn = evaluate(&case.request, &with_enforcement(&restricted, "warn"), &case.service_account);
        match &deny.verdict {
            Verdict::Reject { code: 403, message } => {
                // The same lines, as few and as short as the API server keeps.
                let mut expected = deny.warnings.clone();
                expected.extend(message.lines().map(str::to_owned));
                prop_assert!(warn.warnings.len() <= crate::report::MAX_WARNINGS);
                for (i, w) in warn.warnings.iter().enumerate() {
                    prop_assert!(w.len() <= crate::report::WARNING_LIMIT, "{}", w);
                    let last = i + 1 == crate::report::MAX_WARNINGS && expected.len() > i + 1;
                    if let (false, Some(line)) = (last, expected.get(i)) {
                        prop_assert_eq!(w, &crate::names::truncate(line.clone(), crate::report::WARNING_LIMIT));
                    }
                }
                prop_assert_eq!(warn.warnings.len(), expected.len().min(crate::report::MAX_WARNINGS));
                let warn_rejected = matches!(warn.verdict, Verdict::Reject { .. });
                prop_assert!(!warn_rejected, "warn mode rejected: {:?}", warn);
            }
            _ => prop_assert_eq!(&warn, &deny),
        }
    }
}

#[test]
fn the_documented_additions_check_can_fail() {
    let original =
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "x": 1}]}});
    let mut changed = original.clone();
    changed["spec"]["containers"][0]["x"] = json!(2);
    assert!(assert_only_documented_additions(&original, &changed).is_err());
    let mut extra_env = original.clone();
    extra_env["spec"]["containers"][0]["env"] = json!([{"name": "EVIL", "value": "1"}]);
    assert!(assert_only_documented_additions(&original, &extra_env).is_err());
    let mut label = original.clone();
    label["metadata"]["labels"] = json!({"other": "x"});
    assert!(assert_only_documented_additions(&original, &label).is_err());
    let mut ok = original.clone();
    ok["spec"]["containers"][0]["env"] = json!([{"name": "AWS_ROLE_ARN", "value": "r"}]);
    ok["metadata"]["labels"] = json!({"eks.amazonaws.com/pod-identity": "enabled"});
    assert_eq!(assert_only_documented_additions(&original, &ok), Ok(()));
}

#[test]
fn generator_reaches_the_interesting_verdicts() {
    // Guards against a generator that silently stopped producing cases.
    let mut seen = BTreeSet::new();
    for i in 0u32..3000 {
        let bytes: Vec<u8> = (0..512u32)
            .map(|j| (i.wrapping_mul(2654435761).wrapping_add(j * 40503) >> 13) as u8)
            .collect();
        if let Some(case) = case_from(&bytes) {
            let outcome = evaluate(&case.request, &case.settings, &case.service_account);
            seen.insert(match outcome.verdict {
                Verdict::Accept => "accept".to_owned(),
                Verdict::Mutate(_) => "mutate".to_owned(),
                Verdict::Reject { code, .. } => format!("reject-{code}"),
            });
        }
    }
    for verdict in ["accept", "mutate", "reject-403"] {
        assert!(seen.contains(verdict), "never saw {verdict}: {seen:?}");
    }
}
