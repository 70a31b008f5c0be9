//! irsa-policy: a Kubewarden policy that injects AWS credentials (IRSA and
//! EKS Pod Identity) exactly as `amazon-eks-pod-identity-webhook` does.
//!
//! This file is the waPC shell: parse, call the pure core, respond. It never
//! returns a waPC error for bad input, so the host always gets a clear
//! admission response instead of an "internal server error".
//!
//! One word per concept:
//! - **facts**: what a reader takes from an object
//!   (`admission::pod_facts`, `usage::Spec`);
//! - **usage**: the roles and unverifiable sources the rules find in the
//!   facts (`usage::PodUsage`, from `usage::Spec::usage`);
//! - **check**: comparing a usage and a ServiceAccount's roles with what the
//!   namespace allows (`allowlist::check`); it finds **violations**;
//! - **judge**: all of that for one object in one namespace, ending in a
//!   rejection or warnings (`admission::judge::Judge`); an object kind is
//!   "judged" when the policy so decides on it (`judgedSources`);
//! - **verdict**: the answer: accept, mutate or reject (`admission::Verdict`).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod admission;
pub mod allowlist;
pub mod arn;
pub(crate) mod constants;
pub mod glob;
pub(crate) mod gocompat;
pub mod identity;
pub(crate) mod json;
pub(crate) mod lookup;
pub mod mutation;
pub(crate) mod names;
pub(crate) mod pod;
pub mod pod_text;
pub(crate) mod report;
pub mod role;
pub mod settings;
pub(crate) mod splice;
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;
pub mod usage;

#[cfg(test)]
mod properties;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, get_resource};
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use admission::{CODE_BAD_REQUEST, MutatedObject, Outcome, Verdict};
use settings::Settings;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

/// The `validate` payload. The settings stay raw JSON until parsed for the
/// request (see [`settings::Check::Request`]).
#[derive(Deserialize)]
struct Payload<'a> {
    request: admission::Request,
    #[serde(default, borrow)]
    settings: Option<&'a RawValue>,
}

fn validate(payload: &[u8]) -> CallResult {
    let mut outcome = evaluate_payload(payload, &mut host_get_resource);
    send_decision_log(std::mem::take(&mut outcome.log));
    Ok(response(outcome).to_json())
}

/// Sends `decisionLogs` lines to the host's log, as the SDK's
/// `KubewardenDrain` does (`kubewarden/tracing/log`, a JSON event with
/// `level` and `message`): policy-server prints them with the policy's id,
/// `kwctl run` on stderr. Sent directly rather than through slog, which
/// added 17 KB to the module and unwraps inside the drain.
fn send_decision_log(lines: Vec<String>) {
    #[derive(Serialize)]
    struct Event<'a> {
        level: &'static str,
        message: &'a str,
        policy: &'static str,
    }
    for message in &lines {
        let event = Event {
            level: "info",
            message,
            policy: "irsa-policy",
        };
        if let Ok(json) = serde_json::to_vec(&event) {
            // A log line that does not reach the host changes no answer.
            let _ = guest::host_call("kubewarden", "tracing", "log", &json);
        }
    }
}

/// Parses a `validate` payload and evaluates it; any parse problem becomes a
/// rejection that says what is wrong.
pub fn evaluate_payload(payload: &[u8], get: &mut lookup::GetResource<'_>) -> Outcome {
    evaluate_payload_with(payload, get, admission::evaluate)
}

/// [`evaluate_payload`] through [`admission::evaluate_parsed`], the
/// reference the fast path is tested against (feature `reference`).
#[cfg(any(test, feature = "reference"))]
pub fn evaluate_payload_parsed(payload: &[u8], get: &mut lookup::GetResource<'_>) -> Outcome {
    evaluate_payload_with(payload, get, admission::evaluate_parsed)
}

fn evaluate_payload_with(
    payload: &[u8],
    get: &mut lookup::GetResource<'_>,
    evaluate: fn(admission::Request, &Settings, &mut lookup::GetResource<'_>) -> Outcome,
) -> Outcome {
    let parsed: Payload<'_> = match serde_json::from_slice(payload) {
        Ok(p) => p,
        Err(e) => return Outcome::reject(malformed_payload(payload, &e), CODE_BAD_REQUEST),
    };
    let raw_settings = parsed.settings.map_or("null", RawValue::get);
    // policy-server evaluates every request on a fresh instance, so the
    // settings are read for each; they were validated when it loaded them.
    let settings =
        match settings::parse_bytes_checking(raw_settings.as_bytes(), settings::Check::Request) {
            Ok(settings) => settings,
            Err(e) => return Outcome::reject(format!("invalid policy {e}"), CODE_BAD_REQUEST),
        };
    if !settings.decision_logs {
        return evaluate(parsed.request, &settings, get);
    }
    // Each failed host lookup, with the host's cause, goes to the log.
    let mut failures = Vec::new();
    let mut logged = |request: &GetResourceRequest| {
        let answer = get(request);
        if let Err(cause) = &answer {
            failures.push(format!(
                "looking up {} {}/{} (cache {}) failed: {}",
                request.kind,
                request.namespace.as_deref().unwrap_or_default(),
                request.name,
                if request.disable_cache { "off" } else { "on" },
                names::truncate(cause.clone(), 512)
            ));
        }
        answer
    };
    let mut outcome = evaluate(parsed.request, &settings, &mut logged);
    outcome.log.splice(0..0, failures);
    outcome
}

/// Why a payload does not parse, with the path of the bad field.
fn malformed_payload(payload: &[u8], error: &serde_json::Error) -> String {
    match json::error_path(payload, error).as_deref() {
        None | Some(".") => format!("malformed admission request: {error}"),
        Some(path) => format!("malformed admission request at {path}: {error}"),
    }
}

fn host_get_resource(request: &GetResourceRequest) -> Result<Value, String> {
    get_resource::<Value>(request).map_err(|e| host_error_text(&e.to_string()))
}

/// The host's own words, without the SDK's and waPC's wrapping.
fn host_error_text(error: &str) -> String {
    let error = error
        .strip_prefix("error invoking host capability kubernetes.get_resource: ")
        .unwrap_or(error);
    error
        .strip_prefix("Host error: ")
        .unwrap_or(error)
        .to_owned()
}

/// The `validate` answer, with the SDK's `ValidationResponse` fields. It is
/// written by hand because the mutated object is already JSON text (the
/// SDK's type would parse it only to serialise it again).
#[derive(Debug)]
pub struct Response {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub mutated_object: Option<MutatedObject>,
    pub warnings: Option<Vec<String>>,
}

impl Response {
    /// The JSON the host reads.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Fields<'a> {
            accepted: bool,
            message: &'a Option<String>,
            code: Option<u16>,
            audit_annotations: Option<()>,
            warnings: &'a Option<Vec<String>>,
        }
        let size = match &self.mutated_object {
            Some(MutatedObject::Spliced(text)) => text.len(),
            _ => 0,
        };
        let mut out = Vec::with_capacity(size + 256);
        let fields = Fields {
            accepted: self.accepted,
            message: &self.message,
            code: self.code,
            audit_annotations: None,
            warnings: &self.warnings,
        };
        // Plain data into a Vec: serialising cannot fail.
        let _ = serde_json::to_writer(&mut out, &fields);
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"mutated_object\":");
        match &self.mutated_object {
            Some(object) => object.write_json(&mut out),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        out
    }
}

/// The response for an outcome.
pub fn response(outcome: Outcome) -> Response {
    let warnings = (!outcome.warnings.is_empty()).then_some(outcome.warnings);
    let (accepted, message, code, mutated_object) = match outcome.verdict {
        Verdict::Accept => (true, None, None, None),
        Verdict::Mutate(object) => (true, None, None, Some(object)),
        Verdict::Reject { message, code } => (false, Some(message), Some(code), None),
    };
    Response {
        accepted,
        message,
        code,
        mutated_object,
        warnings,
    }
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&settings_response(payload))?)
}

/// Settings validation never fails the call: a bad document is reported as
/// `valid: false` with every problem named.
pub fn settings_response(payload: &[u8]) -> SettingsValidationResponse {
    match settings::parse_bytes(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_host(_: &GetResourceRequest) -> Result<Value, String> {
        panic!("no host call expected")
    }

    #[test]
    fn payload_field_names_agree_with_serde_path_to_error() {
        use crate::json::tests::{agrees, mutants};
        let request: Value =
            serde_json::from_str(include_str!("../test_data/pod_creation.json")).unwrap();
        let payload = serde_json::json!({"request": request, "settings": {"inject": true}});
        let (mut compared, mut all) = (0, 0);
        for mutant in mutants(&payload) {
            compared += usize::from(agrees::<Payload<'_>>(&mutant));
            all += usize::from(serde_json::from_slice::<Payload<'_>>(&mutant).is_err());
        }
        assert!(compared > 1000, "only {compared} of {all} paths compared");
    }

    #[test]
    fn settings_validation_reports_instead_of_failing() {
        assert!(settings_response(b"{}").valid);
        assert!(settings_response(b"").valid);
        assert!(settings_response(b"null").valid);
        let bad = settings_response(b"{\"tokenExpirationSeconds\": 10}");
        assert!(!bad.valid);
        assert!(
            bad.message
                .unwrap()
                .contains("tokenExpirationSeconds: 10 is below")
        );
        let garbage = settings_response(b"{not json");
        assert!(
            garbage
                .message
                .unwrap()
                .starts_with("settings are not valid JSON")
        );
    }

    #[test]
    fn malformed_payloads_are_rejected_with_the_path() {
        let cases: [(&[u8], &str); 4] = [
            (b"{", "malformed admission request: EOF"),
            (b"{\"settings\": {}}", "missing field `request`"),
            (
                br#"{"request": {"kind": 5}, "settings": {}}"#,
                "at request.kind: invalid type",
            ),
            (
                br#"{"request": {"uid": "\ud800"}, "settings": {}}"#,
                "malformed admission request at request.uid",
            ),
        ];
        for (payload, message) in cases {
            let outcome = evaluate_payload(payload, &mut no_host);
            let Verdict::Reject { message: got, code } = outcome.verdict else {
                panic!()
            };
            assert_eq!(code, 400);
            assert!(
                got.contains(message),
                "{}: {got}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn invalid_settings_in_the_payload_reject() {
        let payload = br#"{"request": {"operation": "CREATE"}, "settings": {"inject": 1}}"#;
        let outcome = evaluate_payload(payload, &mut no_host);
        let Verdict::Reject { message, .. } = outcome.verdict else {
            panic!()
        };
        assert!(
            message.starts_with("invalid policy settings: inject: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn failed_lookups_are_logged_with_their_cause_only_when_asked() {
        let payload = |settings: &str| {
            format!(
                r#"{{"request": {{"uid": "u", "kind": {{"group": "", "version": "v1", "kind": "Pod"}},
                "namespace": "team-a", "operation": "CREATE",
                "object": {{"metadata": {{"name": "web"}}, "spec": {{"serviceAccountName": "app",
                "containers": [{{"name": "c"}}]}}}}}}, "settings": {settings}}}"#
            )
        };
        let mut refused = |_: &GetResourceRequest| Err("connection refused".to_owned());
        let logged = evaluate_payload(
            payload(r#"{"decisionLogs": true}"#).as_bytes(),
            &mut refused,
        );
        assert_eq!(
            logged.log[0],
            "looking up ServiceAccount team-a/app (cache on) failed: connection refused"
        );
        assert!(matches!(logged.verdict, Verdict::Reject { code: 500, .. }));
        assert!(logged.log[1].contains("rejected (500)"), "{:?}", logged.log);
        let quiet = evaluate_payload(payload("{}").as_bytes(), &mut refused);
        assert!(quiet.log.is_empty());
        assert_eq!(quiet.verdict, logged.verdict);
    }

    #[test]
    fn host_errors_lose_only_the_sdk_wrapping() {
        assert_eq!(
            host_error_text(
                "error invoking host capability kubernetes.get_resource: Host error: Callback evaluation failure: x"
            ),
            "Callback evaluation failure: x"
        );
        assert_eq!(host_error_text("other"), "other");
    }

    #[test]
    fn responses_are_what_the_sdk_would_write() {
        let mutated = MutatedObject::Spliced("{\"a\": [1, {}]}".to_owned());
        let outcomes = [
            Outcome::accept(),
            Outcome::reject("no \"way\"", 403),
            Outcome {
                warnings: vec!["w".into()],
                ..Outcome::mutate(mutated)
            },
            Outcome::mutate(MutatedObject::Parsed(serde_json::json!({"b": "c"}))),
        ];
        for outcome in outcomes {
            let ours: Value = serde_json::from_slice(&response(outcome.clone()).to_json()).unwrap();
            let warnings = (!outcome.warnings.is_empty()).then_some(outcome.warnings);
            let sdk = match outcome.verdict {
                Verdict::Accept => kubewarden_policy_sdk::response::ValidationResponse {
                    accepted: true,
                    message: None,
                    code: None,
                    mutated_object: None,
                    audit_annotations: None,
                    warnings,
                },
                Verdict::Reject { message, code } => {
                    kubewarden_policy_sdk::response::ValidationResponse {
                        accepted: false,
                        message: Some(message),
                        code: Some(code),
                        mutated_object: None,
                        audit_annotations: None,
                        warnings,
                    }
                }
                Verdict::Mutate(object) => kubewarden_policy_sdk::response::ValidationResponse {
                    accepted: true,
                    message: None,
                    code: None,
                    mutated_object: Some(object.to_value()),
                    audit_annotations: None,
                    warnings,
                },
            };
            assert_eq!(ours, serde_json::to_value(&sdk).unwrap());
        }
    }
}
