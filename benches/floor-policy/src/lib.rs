//! The floor for benchmarks: what every SDK policy pays before deciding
//! anything. It parses the same `ValidationRequest` (request and settings)
//! and accepts.

use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};
use kubewarden_policy_sdk::{accept_request, protocol_version_guest, reject_request};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    match ValidationRequest::<serde_json::Value>::new(payload) {
        Ok(_) => accept_request(),
        Err(e) => reject_request(Some(e.to_string()), Some(400), None, None),
    }
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
