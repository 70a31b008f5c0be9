//! The bad-input matrix (`test_data/bad/`): every case is a raw `validate`
//! payload (or a raw settings document) and must get a clear answer: the
//! expected verdict, a message that says what is wrong, never a panic and
//! never an "internal server error". `hardening.bats` runs the same cases
//! through the real `.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use irsa_policy::{evaluate_payload, evaluate_payload_parsed, response, settings_response};
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/bad")
}

/// The generated cases (too large to commit), written once per test run.
fn generated_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("irsa-policy-bad-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let status = Command::new("python3")
            .arg(dir().join("large.py"))
            .arg(&out)
            .status()
            .expect("python3 runs test_data/bad/large.py");
        assert!(status.success(), "large.py failed");
        out
    })
}

fn payload_path(case: &str) -> PathBuf {
    let committed = dir().join(format!("{case}.payload.json"));
    if committed.exists() {
        committed
    } else {
        generated_dir().join(format!("{case}.payload.json"))
    }
}

/// The host: `team-a/app` exists with an allowed role, nothing else does.
fn host(req: &GetResourceRequest) -> Result<Value, String> {
    if req.name == "app" && req.namespace.as_deref() == Some("team-a") {
        Ok(
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "app", "namespace": "team-a",
                         "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/s3-reader"}}}),
        )
    } else {
        Err(format!(
            "Cannot find v1/ServiceAccount named '{}' inside of namespace '{:?}'",
            req.name, req.namespace
        ))
    }
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The payload with its settings (the last member, as in every case)
/// replaced by plain ones; unchanged if it has none.
fn without_allowed_roles(payload: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(payload);
    match text.rfind("\"settings\"") {
        Some(at) => format!(
            "{}\"settings\": {{\"awsDefaultRegion\": \"eu-west-1\"}}}}",
            &text[..at]
        )
        .into_bytes(),
        None => payload.to_vec(),
    }
}

#[test]
fn every_bad_request_gets_a_clear_answer() {
    let cases = rows(&dir().join("cases.tsv"));
    assert!(cases.len() >= 60, "the matrix shrank to {}", cases.len());
    let mut failures = Vec::new();
    for row in &cases {
        let [case, verdict, code, fragment, ..] = row.as_slice() else {
            panic!("bad row {row:?}")
        };
        let payload = std::fs::read(payload_path(case)).unwrap();
        let outcome = evaluate_payload(&payload, &mut host);
        // The text reader must give up, or agree, on every bad input; most
        // cases set allowedRoles (which the reader leaves to the parsed
        // path), so each is also run with plain settings.
        for payload in [payload.clone(), without_allowed_roles(&payload)] {
            let parsed = evaluate_payload_parsed(&payload, &mut host);
            if !evaluate_payload(&payload, &mut host).same_decision(&parsed) {
                failures.push(format!(
                    "{case}: the text reader and the parsed Pod disagree"
                ));
            }
        }
        let answer = response(outcome);
        // Compact, so fragments match however the request was laid out
        // (the mutated object keeps the request's own layout).
        let json = match serde_json::from_slice::<serde_json::Value>(&answer.to_json()) {
            Ok(answer) => answer.to_string(),
            Err(e) => {
                failures.push(format!("{case}: the answer is not JSON: {e}"));
                continue;
            }
        };
        let problem = match verdict.as_str() {
            "reject" => {
                let message = answer.message.clone().unwrap_or_default();
                if answer.accepted {
                    Some("accepted".to_owned())
                } else if answer.code.map(|c| c.to_string()).as_deref() != Some(code.as_str()) {
                    Some(format!("code {:?}", answer.code))
                } else if !message.contains(fragment.as_str())
                    || message.contains("internal server error")
                {
                    Some(format!("message {message:?}"))
                } else {
                    None
                }
            }
            "accept" | "mutate" => {
                let mutated = answer.mutated_object.is_some();
                if !answer.accepted
                    || mutated != (verdict == "mutate")
                    || !json.contains(fragment.as_str())
                {
                    Some(format!(
                        "answer {}",
                        json.chars().take(400).collect::<String>()
                    ))
                } else {
                    None
                }
            }
            other => panic!("unknown verdict {other}"),
        };
        if let Some(p) = problem {
            failures.push(format!(
                "{case}: expected {verdict} with {fragment:?}, got {p}"
            ));
        }
        // Bounded whatever the input: what the API server keeps.
        let message_len = answer.message.as_ref().map_or(0, String::len);
        let warnings = answer.warnings.clone().unwrap_or_default();
        if message_len > 4096 || warnings.len() > 5 || warnings.iter().any(|w| w.len() > 255) {
            failures.push(format!(
                "{case}: unbounded answer: message of {message_len} bytes, warnings {:?}",
                warnings.iter().map(String::len).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_settings_document_names_the_field() {
    let cases = rows(&dir().join("settings/cases.tsv"));
    assert!(cases.len() >= 18);
    for row in &cases {
        let [case, fragment] = row.as_slice() else {
            panic!("bad row {row:?}")
        };
        let document = std::fs::read(dir().join(format!("settings/{case}.json"))).unwrap();
        let answer = settings_response(&document);
        let message = answer.message.unwrap_or_default();
        assert!(!answer.valid, "{case}: accepted");
        assert!(
            message.contains(fragment.as_str()),
            "{case}: {message:?} lacks {fragment:?}"
        );
    }
}
