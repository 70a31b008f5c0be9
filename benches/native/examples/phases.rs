use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use kubewarden_policy_sdk::request::ValidationRequest;
use native_bench::*;
use serde_json::{Value, json};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let payload = payload(&pod(n, 5), &json!({}));
    let sa = service_account();
    let iters: u32 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let t = Instant::now();
    for _ in 0..iters {
        let _ = ValidationRequest::<Value>::new(&payload);
    }
    println!("floor parse: {:?}", t.elapsed() / iters);
    let t = Instant::now();
    for _ in 0..iters {
        let v: Value = serde_json::from_slice(&payload).unwrap();
        drop(v);
    }
    println!("value parse: {:?}", t.elapsed() / iters);
    let t = Instant::now();
    let mut out = None;
    for _ in 0..iters {
        let mut host = |_: &GetResourceRequest| -> Result<Value, String> { Ok(sa.clone()) };
        out = Some(irsa_policy::evaluate_payload(&payload, &mut host));
    }
    println!("evaluate: {:?}", t.elapsed() / iters);
    let resp = irsa_policy::response(out.unwrap());
    let t = Instant::now();
    for _ in 0..iters {
        let _ = resp.to_json();
    }
    println!("serialize response: {:?}", t.elapsed() / iters);
}
