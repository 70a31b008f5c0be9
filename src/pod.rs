//! What the policy reads from a Pod (or a Pod template): who it is, which
//! ServiceAccount it runs as, and its annotations. Type errors are reported
//! with the field's path.

use serde_json::{Map, Value};

use crate::constants::{
    DEFAULT_SERVICE_ACCOUNT, POD_OS_WINDOWS, WINDOWS_NODE_SELECTORS, WINDOWS_OS_VALUE,
};
use crate::json;
use crate::names::Shown;

/// How messages refer to an object: its name, else its `generateName`.
pub fn display_name(kind: &str, object: &Value) -> String {
    let name = json::at(object, &["metadata", "name"]).and_then(Value::as_str);
    let generate_name = json::at(object, &["metadata", "generateName"]).and_then(Value::as_str);
    display_name_of(kind, name, generate_name)
}

/// [`display_name`] from the two fields.
pub fn display_name_of(kind: &str, name: Option<&str>, generate_name: Option<&str>) -> String {
    match (name, generate_name) {
        (Some(name), _) if !name.is_empty() => format!("{kind} {}", Shown(name)),
        (_, Some(prefix)) if !prefix.is_empty() => {
            format!("{kind} {} (generateName)", Shown(prefix))
        }
        _ => format!("{kind} (unnamed)"),
    }
}

/// The Pod's ServiceAccount: `spec.serviceAccountName`, else the deprecated
/// `spec.serviceAccount`, else `default` (what the API server's
/// ServiceAccount admission plugin fills in).
pub fn service_account_name<'a>(spec: &'a Value, spec_path: &str) -> Result<&'a str, String> {
    for field in ["serviceAccountName", "serviceAccount"] {
        match spec.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            // The first name wins; a later field is not even type-checked.
            Some(Value::String(s)) => return Ok(service_account_of([Some(s), None])),
            Some(other) => {
                return Err(json::type_error(
                    &format!("{spec_path}.{field}"),
                    "a string",
                    other,
                ));
            }
        }
    }
    Ok(DEFAULT_SERVICE_ACCOUNT)
}

/// [`service_account_name`] from `serviceAccountName` and `serviceAccount`.
pub fn service_account_of([name, deprecated]: [Option<&str>; 2]) -> &str {
    [name, deprecated]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .unwrap_or(DEFAULT_SERVICE_ACCOUNT)
}

/// `metadata.annotations`, checked to be a string map.
pub fn annotations(object: &Value) -> Result<Option<&Map<String, Value>>, String> {
    json::string_map_at(object, &["metadata", "annotations"])
}

/// Whether upstream would treat the Pod as Windows: `nodeSelector` only,
/// exact and case-sensitive (`handler.go:312-321`).
pub fn is_windows(spec: &Value) -> Result<bool, String> {
    let selector = json::string_map_at(spec, &["nodeSelector"]).map_err(|e| format!("spec.{e}"))?;
    Ok(WINDOWS_NODE_SELECTORS
        .iter()
        .any(|key| json::map_str(selector, key) == Some(WINDOWS_OS_VALUE)))
}

/// Whether the Pod runs on Windows, for the allow-list: upstream's node
/// selectors, or `spec.os.name` (which the API server validates against
/// Windows-only fields). Environment names ignore case there.
pub fn runs_windows(spec: &Value) -> Result<bool, String> {
    let os = json::lookup(spec, &["os", "name"])
        .map_err(|e| format!("spec.{e}"))?
        .and_then(Value::as_str);
    Ok(os == Some(POD_OS_WINDOWS) || is_windows(spec)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_name_prefers_name_then_generate_name() {
        assert_eq!(
            display_name("Pod", &json!({"metadata": {"name": "web"}})),
            "Pod \"web\""
        );
        assert_eq!(
            display_name(
                "Pod",
                &json!({"metadata": {"name": "", "generateName": "web-7d9f-"}})
            ),
            "Pod \"web-7d9f-\" (generateName)"
        );
        assert_eq!(
            display_name("Pod", &json!({"metadata": {}})),
            "Pod (unnamed)"
        );
        assert_eq!(display_name("Pod", &json!(null)), "Pod (unnamed)");
    }

    #[test]
    fn service_account_falls_back_in_order() {
        let sa = |spec| service_account_name(&spec, "spec").map(str::to_owned);
        assert_eq!(
            sa(json!({"serviceAccountName": "a", "serviceAccount": "b"})),
            Ok("a".into())
        );
        assert_eq!(sa(json!({"serviceAccount": "b"})), Ok("b".into()));
        assert_eq!(
            sa(json!({"serviceAccountName": "", "serviceAccount": "b"})),
            Ok("b".into())
        );
        assert_eq!(
            sa(json!({"serviceAccountName": null})),
            Ok("default".into())
        );
        assert_eq!(sa(json!({})), Ok("default".into()));
        assert_eq!(
            sa(json!({"serviceAccountName": 7})),
            Err("spec.serviceAccountName must be a string, not a number".into())
        );
    }

    #[test]
    fn windows_needs_an_exact_node_selector() {
        assert!(is_windows(&json!({"nodeSelector": {"kubernetes.io/os": "windows"}})).unwrap());
        assert!(
            is_windows(&json!({"nodeSelector": {"beta.kubernetes.io/os": "windows"}})).unwrap()
        );
        assert!(!is_windows(&json!({"nodeSelector": {"kubernetes.io/os": "Windows"}})).unwrap());
        assert!(!is_windows(&json!({"os": {"name": "windows"}})).unwrap());
        assert!(!is_windows(&json!({})).unwrap());
        assert_eq!(
            is_windows(&json!({"nodeSelector": {"kubernetes.io/os": 1}})),
            Err("spec.nodeSelector[\"kubernetes.io/os\"] must be a string, not a number".into())
        );
    }
}
