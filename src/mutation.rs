//! Builds the injection upstream's `getPodSpecPatch` makes (`handler.go:311-429`),
//! applied in place to the Pod's JSON so that nothing else changes.
//!
//! Upstream re-serialises every container from typed structs and so drops
//! fields its client library does not know (issues #84, #165, #208). Here
//! only the documented additions are made: env entries and a mount appended
//! per container, one volume prepended, and in Pod Identity mode one label.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::constants::*;
use crate::gocompat::{first_csv_record, join_path};
use crate::identity::Identity;
use crate::json::{self, FieldPath, type_error};
use crate::pod;
use crate::settings::Settings;

/// Everything needed to inject one identity into one Pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection<'a> {
    pub volume_name: &'a str,
    /// Empty means the `audience` key is left out.
    pub audience: &'a str,
    pub expiration_seconds: i64,
    pub mount_path: &'a str,
    pub token_path: &'a str,
    /// The credential pair: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`,
    /// or `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `..._AUTHORIZATION_TOKEN_FILE`.
    /// The second variable always carries the token file path.
    pub credential_env: (&'static str, &'a str, &'static str),
    pub regional_sts: bool,
    pub region: Option<&'a str>,
    pub pod_identity_label: bool,
}

impl<'a> Injection<'a> {
    /// The injection for a resolved identity, with the settings' paths.
    pub fn for_identity(identity: &'a Identity, settings: &'a Settings) -> Option<Injection<'a>> {
        let region = settings.region.as_deref();
        match identity {
            Identity::Irsa {
                role,
                audience,
                regional_sts,
                expiration,
            } => Some(Injection {
                volume_name: IRSA_VOLUME_NAME,
                audience,
                expiration_seconds: *expiration,
                mount_path: &settings.token_mount_path,
                token_path: IRSA_TOKEN_PATH,
                credential_env: (ENV_ROLE_ARN, &role.value, ENV_WEB_IDENTITY_TOKEN_FILE),
                regional_sts: *regional_sts,
                region,
                pod_identity_label: false,
            }),
            Identity::PodIdentity {
                regional_sts,
                expiration,
                ..
            } => {
                let pi = settings.pod_identity.as_ref()?;
                Some(Injection {
                    volume_name: &pi.volume_name,
                    audience: &pi.audience,
                    expiration_seconds: *expiration,
                    mount_path: &pi.mount_path,
                    token_path: &pi.token_path,
                    credential_env: (
                        ENV_CONTAINER_CREDENTIALS_FULL_URI,
                        &pi.full_uri,
                        ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE,
                    ),
                    regional_sts: *regional_sts,
                    region,
                    pod_identity_label: true,
                })
            }
        }
    }
}

/// Container names listed in the Pod's `<prefix>/skip-containers`
/// annotation, read as Go's `encoding/csv` reads its first record.
pub fn skipped_containers(
    pod_annotations: Option<&Map<String, Value>>,
    key: &str,
) -> BTreeSet<String> {
    json::map_str(pod_annotations, key)
        .and_then(first_csv_record)
        .map(|fields| fields.into_iter().collect())
        .unwrap_or_default()
}

/// The file the SDK reads the token from. On Windows nodes upstream writes
/// `C:\...` with backslashes; the mount path itself stays unix.
pub fn token_file_path(mount_path: &str, token_path: &str, windows: bool) -> String {
    let path = join_path(mount_path, token_path);
    if windows {
        format!("C:{}", path.replace('/', "\\"))
    } else {
        path
    }
}

/// Applies `injection` to `pod` (a Pod object) in place and says whether
/// anything changed. Fails, changing nothing, if a field it must touch has
/// the wrong JSON type.
pub fn inject(
    pod: &mut Value,
    injection: &Injection<'_>,
    skip: &BTreeSet<String>,
) -> Result<bool, String> {
    let spec_value = pod
        .get("spec")
        .ok_or_else(|| "spec is missing".to_owned())?;
    check_shape(pod, spec_value)?;
    let windows = pod::is_windows(spec_value)?;
    let token_file = token_file_path(injection.mount_path, injection.token_path, windows);

    let mut changed = false;
    if injection.pod_identity_label {
        changed |= add_pod_identity_label(pod);
    }
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Err("spec must be an object".to_owned());
    };
    changed |= add_volume(spec, injection);
    // Upstream order: init containers (native sidecars included), then containers.
    for field in ["initContainers", "containers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(field) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                let name = container.get("name").and_then(Value::as_str).unwrap_or("");
                if !skip.contains(name) {
                    changed |= inject_container(container, injection, &token_file);
                }
            }
        }
    }
    Ok(changed)
}

/// Checks, before anything is written, the type of every field `inject`
/// reads or extends, so a malformed Pod is rejected whole.
fn check_shape(pod: &Value, spec: &Value) -> Result<(), String> {
    if !spec.is_object() {
        return Err(type_error("spec", "an object", spec));
    }
    json::object_at(pod, &["metadata", "labels"])?;
    let spec_path = FieldPath::root("spec");
    if let Some(volumes) = json::array_at(spec, &["volumes"]).map_err(|e| spec_path.within(e))? {
        let volumes_path = spec_path.field("volumes");
        for (i, v) in volumes.iter().enumerate() {
            json::item_str(v, &volumes_path.index(i), "name")?;
        }
    }
    for field in ["initContainers", "containers"] {
        let Some(containers) = json::array_at(spec, &[field]).map_err(|e| spec_path.within(e))?
        else {
            continue;
        };
        let containers_path = spec_path.field(field);
        for (i, c) in containers.iter().enumerate() {
            let path = containers_path.index(i);
            json::item_str(c, &path, "name")?;
            for list in ["env", "volumeMounts"] {
                if let Some(items) = json::array_at(c, &[list]).map_err(|e| path.within(e))? {
                    let list_path = path.field(list);
                    for (j, item) in items.iter().enumerate() {
                        json::item_str(item, &list_path.index(j), "name")?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `eks.amazonaws.com/pod-identity: enabled`, set even if already present
/// (upstream emits the op regardless, `handler.go:366-384`).
fn add_pod_identity_label(pod: &mut Value) -> bool {
    let Some(pod) = pod.as_object_mut() else {
        return false;
    };
    let metadata = pod
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if metadata.is_null() {
        *metadata = Value::Object(Map::new());
    }
    let Some(metadata) = metadata.as_object_mut() else {
        return false;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if labels.is_null() {
        *labels = Value::Object(Map::new());
    }
    let Some(labels) = labels.as_object_mut() else {
        return false;
    };
    let previous = labels.insert(
        POD_IDENTITY_LABEL.to_owned(),
        Value::String(POD_IDENTITY_LABEL_VALUE.to_owned()),
    );
    previous.as_ref().and_then(Value::as_str) != Some(POD_IDENTITY_LABEL_VALUE)
}

/// The projected token volume (`handler.go:347-362`): no `defaultMode`, no
/// other sources; `audience` omitted when empty.
pub fn token_volume(injection: &Injection<'_>) -> Value {
    let mut token = Map::new();
    if !injection.audience.is_empty() {
        token.insert("audience".to_owned(), json!(injection.audience));
    }
    token.insert(
        "expirationSeconds".to_owned(),
        json!(injection.expiration_seconds),
    );
    token.insert("path".to_owned(), json!(injection.token_path));
    json!({
        "name": injection.volume_name,
        "projected": {"sources": [{"serviceAccountToken": token}]},
    })
}

/// A volume of the same name, whatever its type, is left alone. Otherwise
/// the token volume is prepended, or becomes the list (`handler.go:386-413`).
fn add_volume(spec: &mut Map<String, Value>, injection: &Injection<'_>) -> bool {
    match spec.get_mut("volumes") {
        Some(Value::Array(volumes)) => {
            let present = volumes
                .iter()
                .any(|v| v.get("name").and_then(Value::as_str) == Some(injection.volume_name));
            if !present {
                volumes.insert(0, token_volume(injection));
            }
            !present
        }
        _ => {
            spec.insert(
                "volumes".to_owned(),
                Value::Array(vec![token_volume(injection)]),
            );
            true
        }
    }
}

/// Upstream `addEnvToContainer` (`handler.go:172-285`).
fn inject_container(
    container: &mut Map<String, Value>,
    injection: &Injection<'_>,
    token_file: &str,
) -> bool {
    let (pair_key, pair_value, token_file_key) = injection.credential_env;
    let mut pair_defined = false;
    let mut region_defined = false;
    let mut sts_defined = false;
    if let Some(Value::Array(env)) = container.get("env") {
        for name in env
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
        {
            pair_defined |= name == pair_key || name == token_file_key;
            region_defined |= name == ENV_REGION || name == ENV_DEFAULT_REGION;
            sts_defined |= name == ENV_STS_REGIONAL_ENDPOINTS;
        }
    }
    // Everything already set: the container is left exactly as it was,
    // without even the mount (fixture `rawPodHasAll`).
    if pair_defined && region_defined && sts_defined {
        return false;
    }

    let mut additions = Vec::new();
    if !sts_defined && injection.regional_sts {
        additions.push(env_var(
            ENV_STS_REGIONAL_ENDPOINTS,
            STS_REGIONAL_ENDPOINTS_VALUE,
        ));
    }
    if let (false, Some(region)) = (region_defined, injection.region) {
        additions.push(env_var(ENV_DEFAULT_REGION, region));
        additions.push(env_var(ENV_REGION, region));
    }
    if !pair_defined {
        additions.push(env_var(pair_key, pair_value));
        additions.push(env_var(token_file_key, token_file));
    }
    let mut changed = !additions.is_empty();
    if changed {
        append(container, "env", additions);
    }

    let mounted = match container.get("volumeMounts") {
        Some(Value::Array(mounts)) => mounts
            .iter()
            .any(|m| m.get("name").and_then(Value::as_str) == Some(injection.volume_name)),
        _ => false,
    };
    if !mounted {
        let mount = json!({
            "name": injection.volume_name,
            "readOnly": true,
            "mountPath": injection.mount_path,
        });
        append(container, "volumeMounts", vec![mount]);
        changed = true;
    }
    changed
}

fn env_var(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// Appends to the list at `key`, creating it if absent or null.
fn append(container: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    match container.get_mut(key) {
        Some(Value::Array(list)) => list.extend(items),
        _ => {
            container.insert(key.to_owned(), Value::Array(items));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";
    const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

    fn irsa<'a>() -> Injection<'a> {
        Injection {
            volume_name: IRSA_VOLUME_NAME,
            audience: DEFAULT_TOKEN_AUDIENCE,
            expiration_seconds: 86400,
            mount_path: DEFAULT_TOKEN_MOUNT_PATH,
            token_path: IRSA_TOKEN_PATH,
            credential_env: (ENV_ROLE_ARN, ROLE, ENV_WEB_IDENTITY_TOKEN_FILE),
            regional_sts: false,
            region: None,
            pod_identity_label: false,
        }
    }

    fn mutate(mut pod: Value, injection: &Injection<'_>) -> Value {
        assert!(inject(&mut pod, injection, &BTreeSet::new()).unwrap());
        pod
    }

    fn env_names(container: &Value) -> Vec<&str> {
        container["env"]
            .as_array()
            .map(|env| env.iter().map(|e| e["name"].as_str().unwrap()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn baseline_irsa_injection() {
        let pod = mutate(
            json!({"spec": {"containers": [{"name": "app", "image": "app:1"}]}}),
            &irsa(),
        );
        assert_eq!(
            pod,
            json!({"spec": {
                "containers": [{
                    "name": "app", "image": "app:1",
                    "env": [
                        {"name": "AWS_ROLE_ARN", "value": ROLE},
                        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE},
                    ],
                    "volumeMounts": [{"name": "aws-iam-token", "readOnly": true,
                                      "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}],
                }],
                "volumes": [{"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
                    "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}],
            }})
        );
    }

    #[test]
    fn env_order_is_sts_then_region_then_pair() {
        let injection = Injection {
            regional_sts: true,
            region: Some("us-west-2"),
            ..irsa()
        };
        let pod = mutate(
            json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}}),
            &injection,
        );
        assert_eq!(
            env_names(&pod["spec"]["containers"][0]),
            [
                "X",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE"
            ]
        );
        assert_eq!(pod["spec"]["containers"][0]["env"][1]["value"], "regional");
        assert_eq!(pod["spec"]["containers"][0]["env"][2]["value"], "us-west-2");
    }

    #[test]
    fn one_key_of_a_group_suppresses_the_whole_group() {
        let injection = Injection {
            regional_sts: true,
            region: Some("us-west-2"),
            ..irsa()
        };
        let pod = mutate(
            json!({"spec": {"containers": [{"name": "a", "env": [
                {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
                {"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"},
            ]}, {"name": "b", "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/x"}]}]}}),
            &injection,
        );
        let a = &pod["spec"]["containers"][0];
        assert_eq!(
            env_names(a),
            [
                "AWS_DEFAULT_REGION",
                "AWS_ROLE_ARN",
                "AWS_STS_REGIONAL_ENDPOINTS"
            ]
        );
        assert_eq!(a["env"][2]["value"], "legacy", "never overwritten");
        assert!(
            a.get("volumeMounts").is_none(),
            "early exit: not even a mount"
        );
        let b = &pod["spec"]["containers"][1];
        assert_eq!(
            env_names(b),
            [
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION"
            ]
        );
        assert_eq!(b["volumeMounts"][0]["name"], "aws-iam-token");
    }

    #[test]
    fn env_from_is_ignored_for_presence() {
        let pod = mutate(
            json!({"spec": {"containers": [{"name": "a", "envFrom": [{"configMapRef": {"name": "aws"}}]}]}}),
            &irsa(),
        );
        assert_eq!(
            env_names(&pod["spec"]["containers"][0]),
            ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
        );
    }

    #[test]
    fn existing_volume_and_mount_of_that_name_are_kept() {
        let pod = mutate(
            json!({"spec": {
                "volumes": [{"name": "aws-iam-token", "hostPath": {"path": "/x"}}],
                "containers": [{"name": "a", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/other"}]}],
            }}),
            &irsa(),
        );
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "aws-iam-token", "hostPath": {"path": "/x"}}])
        );
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"],
            json!([{"name": "aws-iam-token", "mountPath": "/other"}])
        );
    }

    #[test]
    fn volume_is_prepended_to_existing_even_empty_lists() {
        let pod = mutate(
            json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}], "containers": []}}),
            &irsa(),
        );
        assert_eq!(pod["spec"]["volumes"][0]["name"], "aws-iam-token");
        assert_eq!(pod["spec"]["volumes"][1]["name"], "data");
        let pod = mutate(json!({"spec": {"volumes": [], "containers": []}}), &irsa());
        assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 1);
        let pod = mutate(json!({"spec": {"volumes": null}}), &irsa());
        assert_eq!(pod["spec"]["volumes"][0]["name"], "aws-iam-token");
    }

    #[test]
    fn empty_audience_leaves_out_the_key() {
        let injection = Injection {
            audience: "",
            ..irsa()
        };
        let volume = token_volume(&injection);
        let token = &volume["projected"]["sources"][0]["serviceAccountToken"];
        assert!(token.get("audience").is_none());
        assert_eq!(token["expirationSeconds"], 86400);
    }

    #[test]
    fn init_containers_and_native_sidecars_are_mutated_ephemeral_never() {
        let pod = mutate(
            json!({"spec": {
                "initContainers": [{"name": "init"}, {"name": "sidecar", "restartPolicy": "Always",
                                    "startupProbe": {"grpc": {"port": 5000}}}],
                "containers": [{"name": "app"}],
                "ephemeralContainers": [{"name": "debug"}],
            }}),
            &irsa(),
        );
        for c in pod["spec"]["initContainers"].as_array().unwrap() {
            assert_eq!(
                env_names(c),
                ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
            );
        }
        assert_eq!(pod["spec"]["initContainers"][1]["restartPolicy"], "Always");
        assert_eq!(
            pod["spec"]["initContainers"][1]["startupProbe"],
            json!({"grpc": {"port": 5000}})
        );
        assert_eq!(
            pod["spec"]["ephemeralContainers"],
            json!([{"name": "debug"}])
        );
    }

    #[test]
    fn skipped_containers_are_untouched_but_kept() {
        let mut pod =
            json!({"spec": {"containers": [{"name": "app"}, {"name": "sidecar"}, {"name": " b"}]}});
        let skip = skipped_containers(
            json!({"eks.amazonaws.com/skip-containers": "sidecar, b"}).as_object(),
            "eks.amazonaws.com/skip-containers",
        );
        inject(&mut pod, &irsa(), &skip).unwrap();
        assert!(pod["spec"]["containers"][0].get("env").is_some());
        assert_eq!(pod["spec"]["containers"][1], json!({"name": "sidecar"}));
        assert_eq!(
            pod["spec"]["containers"][2],
            json!({"name": " b"}),
            "leading space kept, as Go's csv"
        );
    }

    #[test]
    fn skip_containers_parse_errors_skip_nothing() {
        for value in ["", "x\"y", "\"open"] {
            let skip = skipped_containers(json!({"k": value}).as_object(), "k");
            assert!(skip.is_empty(), "{value:?}");
        }
        let skip = skipped_containers(json!({"k": "\"a,b\",c"}).as_object(), "k");
        assert_eq!(skip, ["a,b".to_owned(), "c".to_owned()].into());
    }

    #[test]
    fn windows_changes_only_the_env_path() {
        let pod = mutate(
            json!({"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{"name": "a"}]}}),
            &irsa(),
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["env"][1]["value"],
            "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token"
        );
        assert_eq!(c["volumeMounts"][0]["mountPath"], DEFAULT_TOKEN_MOUNT_PATH);
        assert_eq!(
            token_file_path("/mnt//x/", "t", false),
            "/mnt/x/t",
            "joined and cleaned like Go filepath.Join"
        );
    }

    fn pod_identity<'a>() -> Injection<'a> {
        Injection {
            volume_name: DEFAULT_POD_IDENTITY_VOLUME_NAME,
            audience: DEFAULT_POD_IDENTITY_AUDIENCE,
            expiration_seconds: 80000,
            mount_path: DEFAULT_POD_IDENTITY_MOUNT_PATH,
            token_path: DEFAULT_POD_IDENTITY_TOKEN_PATH,
            credential_env: (
                ENV_CONTAINER_CREDENTIALS_FULL_URI,
                "http://[fd00:ec2::23]/v1/credentials",
                ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE,
            ),
            regional_sts: false,
            region: None,
            pod_identity_label: true,
        }
    }

    #[test]
    fn pod_identity_adds_label_env_and_volume() {
        let pod = mutate(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a",
                "env": [{"name": "AWS_ROLE_ARN", "value": "user-set"}]}]}}),
            &pod_identity(),
        );
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"eks.amazonaws.com/pod-identity": "enabled"})
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["env"],
            json!([
                {"name": "AWS_ROLE_ARN", "value": "user-set"},
                {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://[fd00:ec2::23]/v1/credentials"},
                {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                 "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
            ])
        );
        assert_eq!(pod["spec"]["volumes"][0]["name"], "eks-pod-identity-token");
        assert_eq!(
            pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
            "pods.eks.amazonaws.com"
        );
    }

    #[test]
    fn pod_identity_label_joins_existing_labels() {
        let pod = mutate(
            json!({"metadata": {"labels": {"app": "x", "eks.amazonaws.com/pod-identity": "enabled"}},
                   "spec": {"containers": []}}),
            &pod_identity(),
        );
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "x", "eks.amazonaws.com/pod-identity": "enabled"})
        );
    }

    #[test]
    fn mutating_twice_equals_mutating_once() {
        let injection = Injection {
            regional_sts: true,
            region: Some("eu-west-1"),
            ..irsa()
        };
        let once = mutate(
            json!({"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}],
                   "volumes": [{"name": "d"}]}}),
            &injection,
        );
        let mut twice = once.clone();
        assert!(
            !inject(&mut twice, &injection, &BTreeSet::new()).unwrap(),
            "second pass changes nothing"
        );
        assert_eq!(once, twice);
    }

    #[test]
    fn malformed_pods_are_refused_unchanged() {
        let cases = [
            (json!({}), "spec is missing"),
            (json!({"spec": []}), "spec must be an object"),
            (
                json!({"spec": {"containers": {}}}),
                "spec.containers must be a list",
            ),
            (
                json!({"spec": {"containers": [1]}}),
                "spec.containers[0] must be an object",
            ),
            (
                json!({"spec": {"containers": [{"name": 1}]}}),
                "spec.containers[0].name must be a string",
            ),
            (
                json!({"spec": {"containers": [{"env": "x"}]}}),
                "spec.containers[0].env must be a list",
            ),
            (
                json!({"spec": {"initContainers": [{"env": [1]}]}}),
                "spec.initContainers[0].env[0] must be an object",
            ),
            (
                json!({"spec": {"containers": [{"volumeMounts": {}}]}}),
                "spec.containers[0].volumeMounts must be a list",
            ),
            (
                json!({"spec": {"volumes": "x"}}),
                "spec.volumes must be a list",
            ),
            (
                json!({"spec": {"volumes": [null]}}),
                "spec.volumes[0] must be an object",
            ),
            (
                json!({"metadata": {"labels": []}, "spec": {}}),
                "metadata.labels must be an object",
            ),
            (
                json!({"spec": {"nodeSelector": []}}),
                "spec.nodeSelector must be an object",
            ),
        ];
        for (pod, message) in cases {
            let mut mutated = pod.clone();
            let err = inject(&mut mutated, &irsa(), &BTreeSet::new()).unwrap_err();
            assert!(err.starts_with(message), "{pod}: {err}");
            assert_eq!(mutated, pod, "nothing changed");
        }
    }
}
