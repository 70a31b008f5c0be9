//! Generated Pods, ServiceAccounts and Deployments plus settings (the
//! generator the property tests use), so the deep paths of injection and of
//! the allow-list are reached. Checks, besides not crashing, that the text
//! reader agrees with the parsed Pod and that a mutated Pod is left alone
//! by a second pass.
#![no_main]

use irsa_policy::admission::{self, Verdict};
use irsa_policy::settings;
use irsa_policy::testgen::Case;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn evaluate(case: &Case, request: Value) -> admission::Outcome {
    let settings = settings::parse(&case.settings).expect("generated settings are valid");
    let request: irsa_policy::admission::Request = serde_json::from_value(request).expect("generated requests parse");
    let sa = case.service_account.clone();
    let mut host = |req: &GetResourceRequest| match &sa {
        Some(sa) if req.name == "app" => Ok(sa.clone()),
        _ => Err(format!("Cannot find v1/ServiceAccount named '{}'", req.name)),
    };
    let parsed = admission::evaluate_parsed(request.clone(), &settings, &mut host);
    let outcome = admission::evaluate(request, &settings, &mut host);
    assert!(outcome.same_decision(&parsed), "the text reader and the parsed Pod disagree");
    outcome
}

fuzz_target!(|case: Case| {
    let first = evaluate(&case, case.request.clone());
    if let Verdict::Reject { message, .. } = &first.verdict {
        assert!(!message.is_empty());
    }
    if let Verdict::Mutate(pod) = first.verdict {
        let mut again = case.request.clone();
        again["object"] = pod.to_value();
        assert_eq!(evaluate(&case, again).verdict, Verdict::Accept, "a second pass changed the Pod");
    }
});
