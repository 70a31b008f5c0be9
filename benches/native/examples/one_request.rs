//! One request evaluated natively, over and over, for a profiler that
//! counts (callgrind, DHAT): the request file of a `make bench` case
//! (`target/bench/*.json`), its settings file, and a count. Every lookup
//! gets `service_account()` (team-a/app, annotated with `ROLE`).
//!
//! `valgrind --tool=callgrind target/release/examples/one_request
//! target/bench/pod-3.json target/bench/settings-restricted-1x1.json 1000`

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use native_bench::service_account;
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [request, settings, count] = args.as_slice() else {
        panic!("usage: one_request REQUEST.json SETTINGS.json COUNT");
    };
    let read = |path: &str| -> Value {
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let payload = json!({"request": read(request), "settings": read(settings)});
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let count: usize = count.parse().unwrap_or_else(|e| panic!("count: {e}"));
    let sa = service_account();
    let mut answered = 0;
    for _ in 0..count {
        let mut host = |_: &GetResourceRequest| -> Result<Value, String> { Ok(sa.clone()) };
        let outcome = irsa_policy::evaluate_payload(&payload, &mut host);
        answered += irsa_policy::response(outcome).to_json().len();
    }
    println!("{answered} bytes of answers");
}
