//! Builds the injection upstream's `getPodSpecPatch` makes (`handler.go:311-429`),
//! so that nothing else in the Pod changes.
//!
//! Upstream re-serialises every container from typed structs and so drops
//! fields its client library does not know (issues #84, #165, #208). Here
//! only the documented additions are made: env entries and a mount appended
//! per container, one volume prepended, and in Pod Identity mode one label.
//! A [`Plan`] of them is decided from the Pod's [`PodShape`], then either
//! applied to the parsed Pod or spliced into the request's text, which keeps
//! every other byte as the API server sent it.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::constants::*;
use crate::gocompat::{first_csv_record, join_path};
use crate::identity::Identity;
use crate::json;
use crate::pod::{ContainerShape, PodShape};
use crate::pod_text::Places;
use crate::role::ContainerKind;
use crate::settings::Settings;
use crate::splice::{Splicer, array};

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

/// What injecting one identity changes in one Pod, decided from the Pod as
/// written. It is applied to the parsed Pod ([`Plan::apply`]) or written
/// into the request's text ([`Plan::splice`]); both make the same object.
#[derive(Debug)]
pub struct Plan<'a> {
    injection: &'a Injection<'a>,
    token_file: String,
    label: bool,
    volume: bool,
    containers: Vec<ContainerPlan>,
}

const INIT_CONTAINERS: &str = ContainerKind::Init.field();
const CONTAINERS: &str = ContainerKind::Regular.field();

/// The additions to the container at `spec.<field>[index]`.
#[derive(Debug)]
struct ContainerPlan {
    field: &'static str,
    index: usize,
    sts: bool,
    region: bool,
    pair: bool,
    mount: bool,
}

/// The additions to one container, as [`Plan::additions`] lists them.
pub struct Addition<'p> {
    /// `containers` or `initContainers`.
    pub field: &'static str,
    pub index: usize,
    pub env: Vec<(&'p str, &'p str)>,
    pub mount: Option<(&'p str, &'p str)>,
}

/// Applies `injection` to `pod` (a Pod object) in place and says whether
/// anything changed. Fails, changing nothing, if a field it must touch has
/// the wrong JSON type.
pub fn inject(
    pod: &mut Value,
    injection: &Injection<'_>,
    skip: &BTreeSet<String>,
) -> Result<bool, String> {
    let plan = plan(&PodShape::of_value(pod)?, injection, skip);
    plan.apply(pod);
    Ok(plan.changed())
}

/// The injection's plan for a Pod of this shape.
pub fn plan<'a>(
    shape: &PodShape<'_>,
    injection: &'a Injection<'a>,
    skip: &BTreeSet<String>,
) -> Plan<'a> {
    let token_file = token_file_path(injection.mount_path, injection.token_path, shape.windows);
    if shape.skip_webhook_labeled {
        return Plan {
            injection,
            token_file,
            label: false,
            volume: false,
            containers: Vec::new(),
        };
    }
    // `eks.amazonaws.com/pod-identity: enabled` is set even if present
    // (upstream emits the op regardless, `handler.go:366-384`), which
    // changes the Pod only if it lacked that value.
    let label =
        injection.pod_identity_label && shape.labels_writable && !shape.pod_identity_labeled;
    let volume = !shape.volumes.contains(&injection.volume_name);
    let mut containers = Vec::new();
    // Upstream order: init containers (native sidecars included), then containers.
    for (field, list) in [
        (INIT_CONTAINERS, &shape.init_containers),
        (CONTAINERS, &shape.containers),
    ] {
        for (index, container) in list.iter().enumerate() {
            if !skip.contains(container.name)
                && let Some(plan) = container_plan(container, injection, field, index)
            {
                containers.push(plan);
            }
        }
    }
    Plan {
        injection,
        token_file,
        label,
        volume,
        containers,
    }
}

/// Upstream `addEnvToContainer` (`handler.go:172-285`).
fn container_plan(
    container: &ContainerShape<'_>,
    injection: &Injection<'_>,
    field: &'static str,
    index: usize,
) -> Option<ContainerPlan> {
    let (pair_key, _, token_file_key) = injection.credential_env;
    let mut pair_defined = false;
    let mut region_defined = false;
    let mut sts_defined = false;
    for name in &container.env {
        let name = *name;
        pair_defined |= name == pair_key || name == token_file_key;
        region_defined |= name == ENV_REGION || name == ENV_DEFAULT_REGION;
        sts_defined |= name == ENV_STS_REGIONAL_ENDPOINTS;
    }
    // Everything already set: the container is left exactly as it was,
    // without even the mount (fixture `rawPodHasAll`).
    if pair_defined && region_defined && sts_defined {
        return None;
    }
    let plan = ContainerPlan {
        field,
        index,
        sts: !sts_defined && injection.regional_sts,
        region: !region_defined && injection.region.is_some(),
        pair: !pair_defined,
        mount: !container.mounts.contains(&injection.volume_name),
    };
    (plan.sts || plan.region || plan.pair || plan.mount).then_some(plan)
}

/// A `{name, value}` env entry.
#[derive(Serialize)]
struct EnvVar<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount<'a> {
    name: &'a str,
    read_only: bool,
    mount_path: &'a str,
}

/// The projected token volume (`handler.go:347-362`): no `defaultMode`, no
/// other sources; `audience` omitted when empty.
#[derive(Serialize)]
struct TokenVolume<'a> {
    name: &'a str,
    projected: Projected<'a>,
}

#[derive(Serialize)]
struct Projected<'a> {
    sources: [TokenSource<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenSource<'a> {
    service_account_token: Token<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Token<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    audience: &'a str,
    expiration_seconds: i64,
    path: &'a str,
}

/// The additions as JSON text, for [`Plan::splice`].
fn to_json<T: Serialize>(item: &T) -> Vec<u8> {
    serde_json::to_vec(item).unwrap_or_default()
}

/// The additions as parsed JSON, for [`Plan::apply`].
fn to_value<T: Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or_default()
}

impl<'a> Plan<'a> {
    /// Whether the Pod changes at all.
    pub fn changed(&self) -> bool {
        self.label || self.volume || !self.containers.is_empty()
    }

    fn token_volume(&self) -> TokenVolume<'a> {
        let injection = self.injection;
        TokenVolume {
            name: injection.volume_name,
            projected: Projected {
                sources: [TokenSource {
                    service_account_token: Token {
                        audience: injection.audience,
                        expiration_seconds: injection.expiration_seconds,
                        path: injection.token_path,
                    },
                }],
            },
        }
    }

    fn mount(&self) -> VolumeMount<'a> {
        VolumeMount {
            name: self.injection.volume_name,
            read_only: true,
            mount_path: self.injection.mount_path,
        }
    }

    /// The env entries a container gets, in upstream's order: STS, region,
    /// then the credential pair.
    fn env(&self, c: &ContainerPlan) -> Vec<EnvVar<'_>> {
        let injection = self.injection;
        let (pair_key, pair_value, token_file_key) = injection.credential_env;
        let mut env = Vec::new();
        if c.sts {
            env.push(EnvVar {
                name: ENV_STS_REGIONAL_ENDPOINTS,
                value: STS_REGIONAL_ENDPOINTS_VALUE,
            });
        }
        if let (true, Some(region)) = (c.region, injection.region) {
            env.push(EnvVar {
                name: ENV_DEFAULT_REGION,
                value: region,
            });
            env.push(EnvVar {
                name: ENV_REGION,
                value: region,
            });
        }
        if c.pair {
            env.push(EnvVar {
                name: pair_key,
                value: pair_value,
            });
            env.push(EnvVar {
                name: token_file_key,
                value: &self.token_file,
            });
        }
        env
    }

    /// What [`Plan::apply`] adds that the allow-list reads: the token
    /// volume (name, audience) and, per container, env entries and a mount.
    pub fn additions(&self) -> (Option<(&'a str, &'a str)>, Vec<Addition<'_>>) {
        let volume = self
            .volume
            .then_some((self.injection.volume_name, self.injection.audience));
        let containers = self
            .containers
            .iter()
            .map(|c| Addition {
                field: c.field,
                index: c.index,
                env: self.env(c).into_iter().map(|e| (e.name, e.value)).collect(),
                mount: c
                    .mount
                    .then_some((self.injection.volume_name, self.injection.mount_path)),
            })
            .collect();
        (volume, containers)
    }

    /// Makes the changes in the parsed Pod.
    pub fn apply(&self, pod: &mut Value) {
        if self.label {
            set_pod_identity_label(pod);
        }
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        if self.volume {
            let volume = to_value(&self.token_volume());
            match spec.get_mut("volumes") {
                Some(Value::Array(volumes)) => volumes.insert(0, volume),
                _ => {
                    spec.insert("volumes".to_owned(), Value::Array(vec![volume]));
                }
            }
        }
        for c in &self.containers {
            let Some(container) = spec
                .get_mut(c.field)
                .and_then(|list| list.get_mut(c.index))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let env: Vec<Value> = self.env(c).iter().map(to_value).collect();
            if !env.is_empty() {
                append(container, "env", env);
            }
            if c.mount {
                append(container, "volumeMounts", vec![to_value(&self.mount())]);
            }
        }
    }

    /// The Pod's JSON text `pod`, whose places are `places`, with the
    /// changes written in and nothing else touched.
    pub fn splice(&self, pod: &str, places: &Places) -> Option<String> {
        let mut s = Splicer::new(pod);
        if self.label {
            let value = to_json(&POD_IDENTITY_LABEL_VALUE);
            let labels = to_json(&json!({POD_IDENTITY_LABEL: POD_IDENTITY_LABEL_VALUE}));
            let with_labels =
                to_json(&json!({"labels": {POD_IDENTITY_LABEL: POD_IDENTITY_LABEL_VALUE}}));
            match (places.metadata, places.labels, places.pod_identity_label) {
                (None, ..) => s.add_members(places.root, &[("metadata", with_labels)]),
                (Some(m), ..) if s.is_null(m) => s.replace(m, with_labels),
                (Some(m), None, _) => s.add_members(m, &[("labels", labels)]),
                (_, Some(l), _) if s.is_null(l) => s.replace(l, labels),
                (_, Some(l), None) => s.add_members(l, &[(POD_IDENTITY_LABEL, value)]),
                (_, _, Some(v)) => s.replace(v, value),
            }
        }
        let spec = places.spec;
        if self.volume {
            let volume = to_json(&self.token_volume());
            match places.volumes {
                Some(v) if s.is_array(v) => s.prepend(v, volume),
                Some(v) if s.is_null(v) => s.replace(v, array(&volume)),
                Some(_) => return None,
                None => s.add_members(spec, &[("volumes", array(&volume))]),
            }
        }
        // Containers lacking the same variables get the same entries: each
        // combination is written once.
        let mut env_texts: Vec<(&ContainerPlan, Vec<u8>)> = Vec::new();
        let mount = to_json(&self.mount());
        for c in &self.containers {
            let list = if c.field == INIT_CONTAINERS {
                &places.init_containers
            } else {
                &places.containers
            };
            let container = list.get(c.index)?;
            let same = |p: &ContainerPlan| (p.sts, p.region, p.pair) == (c.sts, c.region, c.pair);
            let env = match env_texts.iter().find(|(p, _)| same(p)) {
                Some((_, text)) => text.clone(),
                None => {
                    let text = self.env_json(c);
                    env_texts.push((c, text.clone()));
                    text
                }
            };
            let mount = if c.mount { mount.clone() } else { Vec::new() };
            let mut missing = Vec::new();
            for (key, present, items) in [
                ("env", container.env, env),
                ("volumeMounts", container.mounts, mount),
            ] {
                if items.is_empty() {
                    continue;
                }
                match present {
                    Some(list) if s.is_array(list) => s.append(list, items),
                    Some(list) if s.is_null(list) => s.replace(list, array(&items)),
                    Some(_) => return None,
                    None => missing.push((key, array(&items))),
                }
            }
            if !missing.is_empty() {
                s.add_members(container.object, &missing);
            }
        }
        s.finish()
    }

    /// A container's env entries as comma-separated JSON.
    fn env_json(&self, c: &ContainerPlan) -> Vec<u8> {
        let mut items = Vec::new();
        for var in self.env(c) {
            if !items.is_empty() {
                items.push(b',');
            }
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut items, &var);
        }
        items
    }
}

fn set_pod_identity_label(pod: &mut Value) {
    let Some(pod) = pod.as_object_mut() else {
        return;
    };
    let metadata = pod
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if metadata.is_null() {
        *metadata = Value::Object(Map::new());
    }
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if labels.is_null() {
        *labels = Value::Object(Map::new());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(
            POD_IDENTITY_LABEL.to_owned(),
            Value::String(POD_IDENTITY_LABEL_VALUE.to_owned()),
        );
    }
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

    /// `inject`, checked against [`Plan::splice`]: the parsed Pod changed in
    /// place and the spliced text, pretty-printed to exercise whitespace,
    /// must be the same object. Every test below goes through here.
    fn inject(
        pod: &mut Value,
        injection: &Injection<'_>,
        skip: &BTreeSet<String>,
    ) -> Result<bool, String> {
        let text = serde_json::to_string_pretty(pod).unwrap();
        let result = super::inject(pod, injection, skip);
        if result.is_ok() {
            let written: Value = serde_json::from_str(&text).unwrap();
            let shape = PodShape::of_value(&written).unwrap();
            let read = crate::pod_text::PodText::read(&text).expect("the text reads");
            assert_eq!(read.shape, shape, "the text reads as parsed");
            let spliced = plan(&shape, injection, skip)
                .splice(&text, &read.places)
                .expect("the text takes the splice");
            assert_eq!(serde_json::from_str::<Value>(&spliced).unwrap(), *pod);
        }
        result
    }

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
        let pod = mutate(json!({"spec": {}}), &injection);
        let token = &pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
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
    fn pod_identity_label_is_set_wherever_metadata_leaves_room() {
        for metadata in [
            None,
            Some(json!(null)),
            Some(json!({})),
            Some(json!({"labels": null})),
            Some(json!({"labels": {}})),
            Some(json!({"labels": {"eks.amazonaws.com/pod-identity": "disabled", "a": "b"}})),
        ] {
            let mut pod = json!({"spec": {"containers": [{"name": "app"}]}});
            if let Some(metadata) = metadata {
                pod["metadata"] = metadata;
            }
            // `mutate` also checks the spliced text against the parsed Pod.
            let pod = mutate(pod, &pod_identity());
            assert_eq!(
                pod["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
                "enabled"
            );
        }
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
