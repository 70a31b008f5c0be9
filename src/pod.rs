//! What the policy reads from a Pod (or a Pod template): who it is, which
//! ServiceAccount it runs as, its annotations, and the [`PodShape`] the
//! injection is planned from. Type errors are reported with the field's
//! path.

use serde_json::{Map, Value};

use crate::constants::{
    DEFAULT_SERVICE_ACCOUNT, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, POD_OS_WINDOWS,
    SKIP_WEBHOOK_LABEL, WINDOWS_NODE_SELECTORS, WINDOWS_OS_VALUE,
};
use crate::json::{self, FieldPath, type_error};
use crate::names::Shown;
use crate::role::ContainerKind;

/// How messages refer to an object: its name, else its `generateName`.
pub fn display_name(kind: &str, object: &Value) -> String {
    let name = json::at(object, &["metadata", "name"]).and_then(Value::as_str);
    let generate_name = json::at(object, &["metadata", "generateName"]).and_then(Value::as_str);
    display_name_of(kind, name, generate_name)
}

/// [`display_name`] from the two fields.
pub fn display_name_of(kind: &str, name: Option<&str>, generate_name: Option<&str>) -> String {
    match (name, generate_name) {
        // Every request names its Pod: a plain name needs no formatter.
        (Some(name), _) if !name.is_empty() && Shown(name).is_plain() => {
            [kind, " \"", name, "\""].concat()
        }
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

/// What the injection reads from a Pod, read once: from the parsed Pod by
/// [`PodShape::of_value`], which also checks every type, or from the request
/// text by [`crate::pod_text::PodText::read`].
#[derive(Debug, Default, PartialEq)]
pub struct PodShape<'a> {
    /// `metadata` is absent, null or an object, so a label can be set.
    pub labels_writable: bool,
    /// The Pod Identity label is already `enabled`.
    pub pod_identity_labeled: bool,
    /// The Pod carries [`SKIP_WEBHOOK_LABEL`] (any value): no injection.
    pub skip_webhook_labeled: bool,
    pub windows: bool,
    pub volumes: Vec<&'a str>,
    pub init_containers: Vec<ContainerShape<'a>>,
    pub containers: Vec<ContainerShape<'a>>,
}

/// A container's name and the names of its env entries and mounts.
#[derive(Debug, Default, PartialEq)]
pub struct ContainerShape<'a> {
    pub name: &'a str,
    pub env: Vec<&'a str>,
    pub mounts: Vec<&'a str>,
}

impl<'a> PodShape<'a> {
    /// Reads a parsed Pod, checking the type of every field the injection
    /// reads or extends, so a malformed Pod is rejected whole.
    pub fn of_value(pod: &'a Value) -> Result<PodShape<'a>, String> {
        let spec = pod
            .get("spec")
            .ok_or_else(|| "spec is missing".to_owned())?;
        if !spec.is_object() {
            return Err(type_error("spec", "an object", spec));
        }
        let labels = json::object_at(pod, &["metadata", "labels"])?;
        let spec_path = FieldPath::root("spec");
        let mut shape = PodShape {
            labels_writable: matches!(
                pod.get("metadata"),
                None | Some(Value::Null | Value::Object(_))
            ),
            pod_identity_labeled: json::map_str(labels, POD_IDENTITY_LABEL)
                == Some(POD_IDENTITY_LABEL_VALUE),
            skip_webhook_labeled: labels.is_some_and(|l| l.contains_key(SKIP_WEBHOOK_LABEL)),
            ..PodShape::default()
        };
        if let Some(volumes) =
            json::array_at(spec, &["volumes"]).map_err(|e| spec_path.within(e))?
        {
            let volumes_path = spec_path.field("volumes");
            for (i, v) in volumes.iter().enumerate() {
                shape
                    .volumes
                    .extend(json::item_str(v, &volumes_path.index(i), "name")?);
            }
        }
        for kind in [ContainerKind::Init, ContainerKind::Regular] {
            let field = kind.field();
            let Some(containers) =
                json::array_at(spec, &[field]).map_err(|e| spec_path.within(e))?
            else {
                continue;
            };
            let containers_path = spec_path.field(field);
            let mut list = Vec::with_capacity(containers.len());
            for (i, c) in containers.iter().enumerate() {
                let path = containers_path.index(i);
                let mut container = ContainerShape {
                    name: json::item_str(c, &path, "name")?.unwrap_or(""),
                    ..ContainerShape::default()
                };
                for (list, names) in [
                    ("env", &mut container.env),
                    ("volumeMounts", &mut container.mounts),
                ] {
                    if let Some(items) = json::array_at(c, &[list]).map_err(|e| path.within(e))? {
                        let list_path = path.field(list);
                        for (j, item) in items.iter().enumerate() {
                            names.extend(json::item_str(item, &list_path.index(j), "name")?);
                        }
                    }
                }
                list.push(container);
            }
            *shape.containers_mut(kind) = list;
        }
        shape.windows = is_windows(spec)?;
        Ok(shape)
    }

    fn containers_mut(&mut self, kind: ContainerKind) -> &mut Vec<ContainerShape<'a>> {
        if kind == ContainerKind::Init {
            &mut self.init_containers
        } else {
            &mut self.containers
        }
    }
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
