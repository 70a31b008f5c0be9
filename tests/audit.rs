//! Background audit: Kubewarden's audit scanner sends every existing Pod,
//! ServiceAccount and workload to policy-server as a CREATE with the Kind
//! as `resource.resource`, the object's UID, an empty `userInfo` and no
//! `oldObject`, and ignores any mutation. Each case in `test_data/audit/`
//! (written by its `generate.py`) must get the verdict and message of
//! `expected.tsv`, without a patch, under irsa-enforce's settings
//! (`inject: false`) and with injection on, through the same `validate`
//! payload the module reads. Host lookups are answered from the case's
//! replay session, in order and matched exactly.

use std::path::{Path, PathBuf};

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::{Value, json};

mod common;
use common::Replay;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/audit")
}

struct Case {
    name: String,
    allowed: bool,
    message: String,
}

fn cases() -> Vec<Case> {
    let index = std::fs::read_to_string(dir().join("expected.tsv")).unwrap();
    index
        .lines()
        .skip(1)
        .map(|line| {
            let mut cols = line.splitn(3, '\t');
            let name = cols.next().unwrap().to_owned();
            let allowed = cols.next().unwrap() == "true";
            let message = cols.next().unwrap_or("").to_owned();
            Case {
                name,
                allowed,
                message,
            }
        })
        .collect()
}

/// The enforce settings, or the same with injection on.
fn settings(inject: bool) -> Value {
    let mut doc: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir().join("settings.yml")).unwrap())
            .unwrap();
    doc["inject"] = json!(inject);
    doc
}

fn request_of(case: &str) -> Value {
    let path = dir().join(format!("{case}.json"));
    let review: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    review["request"].clone()
}

/// Evaluates the request as the module's `validate` does; returns the
/// answer and the number of session exchanges left unused.
fn evaluate(case: &str, request: Value, settings: &Value) -> (irsa_policy::Response, usize) {
    let session_path = dir().join(format!("{case}.session.yml"));
    let mut session = Replay::load(&session_path);
    let mut get = |req: &GetResourceRequest| session.answer(req);
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let answer = irsa_policy::response(irsa_policy::evaluate_payload(&payload, &mut get));
    let left = session.left();
    (answer, left)
}

fn check(case: &Case, request: Value, settings: &Value, label: &str) -> Option<String> {
    let (answer, left) = evaluate(&case.name, request, settings);
    let name = &case.name;
    if answer.accepted != case.allowed {
        return Some(format!("{name} ({label}): accepted is {}", answer.accepted));
    }
    if answer.mutated_object.is_some() {
        return Some(format!("{name} ({label}): asks for a mutation"));
    }
    if answer.warnings.is_some() {
        return Some(format!("{name} ({label}): warns {:?}", answer.warnings));
    }
    if answer.message.clone().unwrap_or_default() != case.message {
        return Some(format!("{name} ({label}): message {:?}", answer.message));
    }
    if !case.allowed && answer.code != Some(403) {
        return Some(format!("{name} ({label}): code {:?}", answer.code));
    }
    (left != 0).then(|| format!("{name} ({label}): {left} exchanges unused"))
}

#[test]
fn audit_requests_get_the_admission_verdict_without_a_patch() {
    let cases = cases();
    assert_eq!(cases.len(), 10);
    let mut failures = Vec::new();
    for inject in [false, true] {
        for case in &cases {
            let label = format!("inject: {inject}");
            failures.extend(check(
                case,
                request_of(&case.name),
                &settings(inject),
                &label,
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The scanner's request shape, checked: it is what the fixtures must be.
#[test]
fn fixtures_have_the_audit_scanner_shape() {
    for case in cases() {
        let request = request_of(&case.name);
        let object = &request["object"];
        let name = &case.name;
        assert_eq!(request["operation"], "CREATE", "{name}");
        assert_eq!(request["uid"], object["metadata"]["uid"], "{name}");
        assert_eq!(request["resource"]["resource"], object["kind"], "{name}");
        assert_eq!(request["kind"]["kind"], object["kind"], "{name}");
        assert_eq!(request["name"], object["metadata"]["name"], "{name}");
        assert_eq!(request["userInfo"], json!({}), "{name}");
        assert!(request["oldObject"].is_null(), "{name}");
        assert!(request.get("subResource").is_none(), "{name}");
    }
}

/// Another host may drop what is empty: no `userInfo`, `oldObject`,
/// `options` or `requestKind` at all changes nothing.
#[test]
fn audit_requests_without_user_info_or_old_object() {
    let mut failures = Vec::new();
    for case in &cases() {
        let mut request = request_of(&case.name);
        let fields = request.as_object_mut().unwrap();
        for key in ["userInfo", "oldObject", "options", "requestKind"] {
            fields.remove(key);
        }
        failures.extend(check(case, request, &settings(false), "bare request"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
