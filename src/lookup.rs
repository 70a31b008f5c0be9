//! Fetching the Pod's ServiceAccount through Kubewarden's context-aware
//! `kubernetes/get_resource` host capability.
//!
//! The host is passed in as a function, so the decision logic is tested
//! without a host and the exact requests made are part of the contract
//! (replay sessions match them byte for byte).

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::Value;

/// The host's `get_resource`: the object as JSON, or the host's error text.
pub type GetResource<'a> = dyn FnMut(&GetResourceRequest) -> Result<Value, String> + 'a;

/// Outcome of looking up one ServiceAccount.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(Value),
    /// Still missing after a second, uncached read.
    Missing,
    /// Any other failure: host error, access not granted, bad response.
    Failed(String),
}

/// The request for `v1/ServiceAccount <namespace>/<name>`.
pub fn service_account_request(
    namespace: &str,
    name: &str,
    disable_cache: bool,
) -> GetResourceRequest {
    GetResourceRequest {
        api_version: "v1".to_owned(),
        kind: "ServiceAccount".to_owned(),
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        disable_cache,
        field_masks: None,
    }
}

/// The host reports a missing object as `Cannot find v1/ServiceAccount named
/// '<name>' ...` (policy-evaluator's `get_resource`); kwctl wraps that in
/// `Callback evaluation failure: ...`, so it is matched anywhere in the text.
pub fn is_not_found(error: &str, name: &str) -> bool {
    error.contains(&format!("Cannot find v1/ServiceAccount named '{name}'"))
}

/// Looks the ServiceAccount up. A "not found" from the cached read is
/// retried once uncached: the cache may not have seen a ServiceAccount
/// created just before its Pod (upstream's race, issue #174).
pub fn lookup_service_account(namespace: &str, name: &str, get: &mut GetResource<'_>) -> Lookup {
    let first = get(&service_account_request(namespace, name, false));
    let result = match first {
        Err(e) if is_not_found(&e, name) => get(&service_account_request(namespace, name, true)),
        other => other,
    };
    match result {
        Ok(sa) if sa.is_object() => Lookup::Found(sa),
        Ok(other) => Lookup::Failed(format!(
            "the host returned {} instead of a ServiceAccount",
            crate::json::type_error("the response", "an object", &other)
        )),
        Err(e) if is_not_found(&e, name) => Lookup::Missing,
        Err(e) => Lookup::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn not_found(name: &str) -> String {
        format!(
            "Callback evaluation failure: Cannot find v1/ServiceAccount named '{name}' inside of namespace 'Some(\"ns\")'"
        )
    }

    /// Runs a lookup against scripted host answers, recording the requests.
    fn run(answers: Vec<Result<Value, String>>) -> (Lookup, Vec<(String, bool)>) {
        let mut answers = answers.into_iter();
        let mut seen = Vec::new();
        let mut get = |req: &GetResourceRequest| {
            assert_eq!(req.api_version, "v1");
            assert_eq!(req.kind, "ServiceAccount");
            assert_eq!(req.namespace.as_deref(), Some("ns"));
            assert!(req.field_masks.is_none());
            seen.push((req.name.clone(), req.disable_cache));
            answers
                .next()
                .unwrap_or_else(|| Err("unexpected extra request".into()))
        };
        let result = lookup_service_account("ns", "app", &mut get);
        (result, seen)
    }

    #[test]
    fn found_on_the_cached_read() {
        let sa = json!({"metadata": {"name": "app"}});
        let (result, seen) = run(vec![Ok(sa.clone())]);
        assert_eq!(result, Lookup::Found(sa));
        assert_eq!(seen, [("app".into(), false)]);
    }

    #[test]
    fn not_found_is_retried_uncached_once() {
        let sa = json!({"metadata": {"name": "app"}});
        let (result, seen) = run(vec![Err(not_found("app")), Ok(sa.clone())]);
        assert_eq!(result, Lookup::Found(sa));
        assert_eq!(seen, [("app".into(), false), ("app".into(), true)]);

        let (result, seen) = run(vec![Err(not_found("app")), Err(not_found("app"))]);
        assert_eq!(result, Lookup::Missing);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn other_errors_are_failures_without_retry() {
        let (result, seen) = run(vec![Err("connection refused".into())]);
        assert_eq!(result, Lookup::Failed("connection refused".into()));
        assert_eq!(seen.len(), 1);
        // A "not found" for another name is not ours.
        let (result, _) = run(vec![Err(not_found("other"))]);
        assert!(matches!(result, Lookup::Failed(_)));
        let (result, _) = run(vec![Err(not_found("app")), Err("timeout".into())]);
        assert_eq!(result, Lookup::Failed("timeout".into()));
    }

    #[test]
    fn a_non_object_answer_is_a_failure() {
        let (result, _) = run(vec![Ok(json!("nope"))]);
        let Lookup::Failed(message) = result else {
            panic!()
        };
        assert!(
            message.contains("must be an object, not a string"),
            "{message}"
        );
    }
}
