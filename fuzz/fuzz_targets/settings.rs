//! Arbitrary bytes as the `validate_settings` payload.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let answer = irsa_policy::settings_response(data);
    // Invalid settings always say why.
    assert!(answer.valid || answer.message.as_deref().is_some_and(|m| !m.is_empty()));
});
