//! The bypass catalogue: every request in `test_data/bypass/` is a known
//! route around `allowedRoles`, and every one must be rejected with 403.
//! Every request in `test_data/bypass/admitted/` is the legitimate variant
//! next to a route, and must be admitted. A case runs under the catalogue's
//! `settings.yml`, or its own `<case>.settings.yml`.
//! Host lookups are answered from the case's replay session, in order and
//! matched exactly, as kwctl replays them.

use std::path::{Path, PathBuf};

use irsa_policy::admission::{self, Verdict};
use irsa_policy::settings;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::Value;

mod common;
use common::Replay;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/bypass")
}

fn cases() -> Vec<PathBuf> {
    cases_in(&dir())
}

fn admitted_cases() -> Vec<PathBuf> {
    cases_in(&dir().join("admitted"))
}

fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
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
    let mut session = Replay::load(&session_path);
    let settings = settings::parse(settings_doc).unwrap();
    let mut get = |req: &GetResourceRequest| session.answer(req);
    let outcome = admission::evaluate(request, &settings, &mut get);
    let left = session.left();
    (outcome, left)
}

fn catalogue_settings() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(dir().join("settings.yml")).unwrap()).unwrap()
}

/// The settings a case runs under.
fn settings_for(case: &Path) -> Value {
    match std::fs::read_to_string(case.with_extension("settings.yml")) {
        Ok(text) => serde_yaml::from_str(&text).unwrap(),
        Err(_) => catalogue_settings(),
    }
}

#[test]
fn every_bypass_route_is_rejected() {
    let cases = cases();
    assert!(cases.len() >= 47, "the catalogue shrank to {}", cases.len());
    let index = std::fs::read_to_string(dir().join("catalogue.tsv")).unwrap();
    let expected: std::collections::BTreeMap<&str, &str> = index
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?, cols.nth(1)?))
        })
        .collect();
    let mut failures = Vec::new();
    for case in &cases {
        let (outcome, left) = evaluate(case, &settings_for(case));
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let stem = case.file_stem().unwrap().to_string_lossy().to_string();
        match &outcome.verdict {
            Verdict::Reject { code: 403, message } if left == 0 => {
                let fragment = expected.get(stem.as_str()).copied().unwrap_or("(no row)");
                assert!(
                    message.contains(fragment),
                    "{name}: the message does not name the rule {fragment:?}: {message}"
                );
                let review: Value =
                    serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
                let namespace = review["request"]["namespace"].as_str().unwrap();
                assert!(
                    message.contains(&format!("namespace \"{namespace}\"")),
                    "{name}: message names no namespace: {message}"
                );
                assert!(
                    message.len() <= 4096,
                    "{name}: message of {} bytes",
                    message.len()
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

#[test]
fn every_legitimate_variant_is_admitted() {
    let cases = admitted_cases();
    assert!(
        cases.len() >= 10,
        "the admitted list shrank to {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let (outcome, left) = evaluate(case, &settings_for(case));
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let admitted = matches!(outcome.verdict, Verdict::Accept | Verdict::Mutate(_));
        if !admitted || left != 0 || !outcome.warnings.is_empty() {
            failures.push(format!("{name}: {outcome:?} (unused exchanges: {left})"));
        }
    }
    assert!(
        failures.is_empty(),
        "legitimate variants not admitted:\n{}",
        failures.join("\n")
    );
}

/// Every case is listed, with its route, in its index.
#[test]
fn catalogue_index_lists_every_case() {
    for (index, cases) in [
        ("catalogue.tsv", cases()),
        ("admitted.tsv", admitted_cases()),
    ] {
        let index = std::fs::read_to_string(dir().join(index)).unwrap();
        let mut listed: Vec<&str> = index
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
            .collect();
        listed.sort();
        let files: Vec<String> = cases
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(listed, files);
    }
}

/// The same requests under a wide-open allow-list are admitted: what the
/// catalogue rejects is the role, not the request's shape. (Routes that are
/// unverifiable by nature stay rejected.)
#[test]
fn without_the_restriction_the_same_requests_pass() {
    let unverifiable = [
        "ephemeral-patch-hides-volumes",
        "ephemeral-target-reads-token-envfrom",
        "share-process-namespace-envfrom",
        "inject-false-",
        "jdk-java-options-valuefrom",
        "java-options-argfile",
        "aws-config-file-in-configmap",
        "aws-credentials-file-in-secret",
        "windows-envfrom",
        // The audience, not a role, is what a TokenRequest is judged by.
        "token-request-",
        "env-valuefrom",
        "envfrom-",
        "ephemeral-container-envfrom",
        "job-template-valuefrom",
        "self-mounted",
        "daemonset-self-mounted",
        "sa-annotation-bare-name",
        "sa-annotation-wildcard-literal",
        "sa-annotation-trailing-space",
        "expansion-from-configmap",
        "expansion-ephemeral-debug",
        "expansion-arn-part-from-secret",
        "expansion-config-file-path",
        "java-config-file-property",
        "java-sdk-v1-profiles-file",
        "home-with-configmap",
        "configmap-at-image-home",
        "config-file-",
        "windows-userprofile",
        "downward-api-annotation",
    ];
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let mut open = settings_for(&case);
        open["allowedRoles"] = serde_json::json!({"*": ["arn:*:iam::*:role/*"]});
        open["stsAudiences"] = serde_json::json!(["vault-sts.example.com"]);
        let (outcome, _) = evaluate(&case, &open);
        let rejected = matches!(outcome.verdict, Verdict::Reject { .. });
        let expect_rejected = unverifiable.iter().any(|u| name.starts_with(u));
        assert_eq!(rejected, expect_rejected, "{name}: {outcome:?}");
    }
}

/// Evaluates a case on the parsed path (the reference reader and writer).
fn evaluate_parsed(case: &Path, settings_doc: &Value) -> admission::Outcome {
    let review: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let request: irsa_policy::admission::Request =
        serde_json::from_value(review["request"].clone()).unwrap();
    let mut session = Replay::load(&case.with_extension("session.yml"));
    let settings = settings::parse(settings_doc).unwrap();
    let mut get = |req: &GetResourceRequest| session.answer(req);
    admission::evaluate_parsed(request, &settings, &mut get)
}

/// Every route and every variant gets the same answer from the one-pass
/// text reader and from the parsed Pod: the fast path hides nothing.
#[test]
fn both_readers_answer_every_case_alike() {
    let mut differ = Vec::new();
    for case in cases().iter().chain(&admitted_cases()) {
        let settings = settings_for(case);
        let (fast, _) = evaluate(case, &settings);
        let parsed = evaluate_parsed(case, &settings);
        if !fast.same_decision(&parsed) {
            differ.push(format!("{}: {fast:?} / {parsed:?}", case.display()));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The fast path is taken: the one-pass reader reads every Pod CREATE of
/// the catalogue and the admitted list (a reader that always gave up would
/// pass the test above).
#[test]
fn the_one_pass_reader_reads_every_pod_create_case() {
    // Left to the parsed path on purpose: exec hooks and probes
    // (`usage::read` reads their commands), and a mount path with JSON
    // escapes (`C:\\cfg`).
    let parsed_only = [
        "poststart-hook-role",
        "exec-probe-role",
        "windows-userprofile-config",
    ];
    let mut gave_up = Vec::new();
    let mut read = 0;
    for case in cases().iter().chain(&admitted_cases()) {
        let stem = case.file_stem().unwrap().to_string_lossy();
        if parsed_only.contains(&stem.as_ref()) {
            continue;
        }
        let review: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
        let request = &review["request"];
        if request["kind"]["kind"] != "Pod" || request["operation"] != "CREATE" {
            continue;
        }
        let text = serde_json::to_string(&request["object"]).unwrap();
        match irsa_policy::pod_text::PodText::read_with_usage(&text) {
            Ok(pod) if pod.usage.is_some() => read += 1,
            _ => gave_up.push(case.display().to_string()),
        }
    }
    assert!(gave_up.is_empty(), "the reader gave up on {gave_up:?}");
    assert!(read >= 50, "only {read} Pod CREATE cases");
}
