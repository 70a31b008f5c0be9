//! Arbitrary bytes as the `validate` payload: the whole entry point, with a
//! host that knows one ServiceAccount.
#![no_main]

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn host(req: &GetResourceRequest) -> Result<Value, String> {
    if req.name == "app" {
        Ok(json!({"metadata": {"name": "app", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/s3-reader"}}}))
    } else {
        Err(format!("Cannot find v1/ServiceAccount named '{}'", req.name))
    }
}

fuzz_target!(|data: &[u8]| {
    let outcome = irsa_policy::evaluate_payload(data, &mut host);
    let parsed = irsa_policy::evaluate_payload_parsed(data, &mut host);
    assert!(outcome.same_decision(&parsed), "the text reader and the parsed Pod disagree");
    let answer = irsa_policy::response(outcome);
    // The answer is what the host receives: it must be JSON, the mutated
    // object (spliced into the request's text) included.
    let bytes = answer.to_json();
    let _: serde_json::Value = serde_json::from_slice(&bytes).expect("the answer is JSON");
});
