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

use serde_json::{Map, Value};

use crate::constants::*;
use crate::gocompat::{first_csv_record, join_path};
use crate::identity::Identity;
use crate::json;
use crate::pod::{ContainerShape, PodShape};
use crate::role::ContainerKind;
use crate::settings::Settings;

mod write;

pub use write::{EnvAdditions, EnvVar};

#[cfg(test)]
mod tests;

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

/// The most the injection may add to a Pod's JSON text: 3 MiB, the API
/// server's request limit (`MaxRequestBodyBytes` in
/// `k8s.io/apiserver/pkg/server/config.go`). The additions are mostly
/// strings, which protobuf stores at least 70% as long as JSON, so a Pod
/// gaining more is past etcd's default 1.5 MiB `--max-request-bytes` and
/// could not be stored. A tenant's 3 MiB request of 92,837 small
/// containers would otherwise gain 40 MB, which the guest writes and the
/// host then diffs, holding a policy-server worker for seconds.
pub const MAX_INJECTED_BYTES: usize = 3 << 20;

/// The JSON an env entry, a mount and the token volume take besides their
/// strings: `{"name":"","value":""}` and so on, without separators.
const ENV_ENTRY_JSON: usize = r#"{"name":"","value":""}"#.len();
const MOUNT_JSON: usize = r#"{"name":"","readOnly":true,"mountPath":""}"#.len();
const VOLUME_JSON: usize =
    r#"{"name":"","projected":{"sources":[{"serviceAccountToken":{"path":""}}]}}"#.len();

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
    pub env: EnvAdditions<'p>,
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

impl<'a> Plan<'a> {
    /// Whether the Pod changes at all.
    pub fn changed(&self) -> bool {
        self.label || self.volume || !self.containers.is_empty()
    }

    /// How many containers get env entries or a mount.
    pub fn containers_changed(&self) -> usize {
        self.containers.len()
    }

    /// At least how many bytes the injection adds to the Pod's JSON text
    /// (its strings unescaped, its punctuation without separators), counted
    /// without writing it.
    pub fn added_bytes(&self) -> usize {
        let injection = self.injection;
        let volume = match self.volume {
            true => VOLUME_JSON + injection.volume_name.len() + injection.token_path.len(),
            false => 0,
        };
        let mount = MOUNT_JSON + injection.volume_name.len() + injection.mount_path.len();
        let containers = self.containers.iter().map(|c| {
            let entry = |e: &EnvVar<'_>| ENV_ENTRY_JSON + e.name.len() + e.value.len();
            self.env(c).map(|e| entry(&e)).sum::<usize>() + if c.mount { mount } else { 0 }
        });
        volume + containers.sum::<usize>()
    }

    /// What [`Plan::apply`] adds that the allow-list reads: the token
    /// volume (name, audience) and, per container, env entries and a mount.
    pub fn additions(
        &self,
    ) -> (
        Option<(&'a str, &'a str)>,
        impl Iterator<Item = Addition<'_>>,
    ) {
        let volume = self
            .volume
            .then_some((self.injection.volume_name, self.injection.audience));
        let containers = self.containers.iter().map(|c| Addition {
            field: c.field,
            index: c.index,
            env: self.env(c),
            mount: c
                .mount
                .then_some((self.injection.volume_name, self.injection.mount_path)),
        });
        (volume, containers)
    }
}
