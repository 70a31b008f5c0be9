//! The bypass catalogue: every request in `test_data/bypass/` is a known
//! route around `allowedRoles`, and every one must be rejected with 403.
//! Host lookups are answered from the case's replay session, in order and
//! matched exactly, as kwctl replays them.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use irsa_policy::admission::{self, Verdict};
use irsa_policy::settings;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Exchange {
    request: String,
    response: Response,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Response {
    Success { payload: String },
    Error { message: String },
}

#[derive(Deserialize, Debug, PartialEq)]
enum Recorded {
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        disable_cache: bool,
        field_masks: Option<Vec<String>>,
    },
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/bypass")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("test_data/bypass exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    cases
}

/// Evaluates one case file with the catalogue settings (or `settings`).
fn evaluate(case: &Path, settings_doc: &Value) -> (admission::Outcome, usize) {
    let review: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let request: irsa_policy::admission::Request =
        serde_json::from_value(review["request"].clone()).unwrap();
    let session_path = case.with_extension("session.yml");
    let mut session: VecDeque<Exchange> = match std::fs::read_to_string(&session_path) {
        Ok(text) => serde_yaml::from_str::<Vec<Exchange>>(&text).unwrap().into(),
        Err(_) => VecDeque::new(),
    };
    let settings = settings::parse(settings_doc).unwrap();
    let mut get = |req: &GetResourceRequest| -> Result<Value, String> {
        let exchange = session
            .pop_front()
            .ok_or("the list of recorded responses is empty")?;
        let expected: Recorded = serde_yaml::from_str(&exchange.request).unwrap();
        let Recorded::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            disable_cache,
            field_masks,
        } = &expected;
        let matches = *api_version == req.api_version
            && *kind == req.kind
            && *name == req.name
            && *namespace == req.namespace
            && *disable_cache == req.disable_cache
            && field_masks.is_none() == req.field_masks.is_none();
        if !matches {
            return Err(format!(
                "Replay error: unexpected request {req:?}, expected {expected:?}"
            ));
        }
        match exchange.response {
            Response::Success { payload } => Ok(serde_json::from_str(&payload).unwrap()),
            Response::Error { message } => Err(message),
        }
    };
    let outcome = admission::evaluate(request, &settings, &mut get);
    let left = session.len();
    (outcome, left)
}

fn catalogue_settings() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(dir().join("settings.yml")).unwrap()).unwrap()
}

#[test]
fn every_bypass_route_is_rejected() {
    let cases = cases();
    assert!(cases.len() >= 30, "the catalogue shrank to {}", cases.len());
    let settings = catalogue_settings();
    let mut failures = Vec::new();
    for case in &cases {
        let (outcome, left) = evaluate(case, &settings);
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        match &outcome.verdict {
            Verdict::Reject { code: 403, message } if left == 0 => {
                assert!(
                    message.contains("namespace \""),
                    "{name}: message names no namespace: {message}"
                );
            }
            other => failures.push(format!("{name}: {other:?} (unused exchanges: {left})")),
        }
    }
    assert!(
        failures.is_empty(),
        "bypass routes not rejected:\n{}",
        failures.join("\n")
    );
}

/// Every case is listed, with its route, in the catalogue index.
#[test]
fn catalogue_index_lists_every_case() {
    let index = std::fs::read_to_string(dir().join("catalogue.tsv")).unwrap();
    let mut listed: Vec<&str> = index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    listed.sort();
    let files: Vec<String> = cases()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(listed, files);
}

/// The same requests under a wide-open allow-list are admitted: what the
/// catalogue rejects is the role, not the request's shape. (Routes that are
/// unverifiable by nature stay rejected.)
#[test]
fn without_the_restriction_the_same_requests_pass() {
    let open = serde_json::json!({"allowedRoles": {"*": ["arn:*:iam::*:role/*"]},
                                  "stsAudiences": ["vault-sts.example.com"]});
    let unverifiable = [
        "env-valuefrom",
        "envfrom-",
        "ephemeral-container-envfrom",
        "job-template-valuefrom",
        "self-mounted",
        "daemonset-self-mounted",
        "sa-annotation-bare-name",
        "sa-annotation-wildcard-literal",
        "sa-annotation-trailing-space",
    ];
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let (outcome, _) = evaluate(&case, &open);
        let rejected = matches!(outcome.verdict, Verdict::Reject { .. });
        let expect_rejected = unverifiable.iter().any(|u| name.starts_with(u));
        assert_eq!(rejected, expect_rejected, "{name}: {outcome:?}");
    }
}
