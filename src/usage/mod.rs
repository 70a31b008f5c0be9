//! Which IAM roles a Pod (or Pod template) uses by itself, beyond its
//! ServiceAccount: literal `AWS_ROLE_ARN` values and `-Daws.roleArn` JVM
//! options, role sources the policy cannot read, and STS-audience tokens.
//!
//! Rules that depend on token access ask which STS tokens a container can
//! read: those it mounts, every token of the Pod when the Pod shares one
//! process namespace (`/proc/<pid>/root`), and its target's tokens for an
//! ephemeral container with `targetContainerName`.

use std::borrow::Cow;

use crate::constants::{
    AWS_CONFIG_FILE_ENV, ENV_ROLE_ARN, HOME_ENV, JAVA_OPTIONS_ENV, KUBE_ROOT_CA_CONFIG_MAP,
};
use crate::role::{ContainerKind, ContainerRef, Role};

mod expand;
mod jvm;
mod read;
mod rules;
mod sources;
pub(crate) mod text;

#[cfg(test)]
mod tests;

/// A way to pick a role that cannot be checked against the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unverifiable {
    /// A role variable (`AWS_ROLE_ARN`, or in a container with an STS token
    /// a JVM options variable) set from a ConfigMap, Secret or field
    /// reference that is not judged, or built by `$(VAR)` from one; or, in
    /// a container with an STS token, any value built from such a part
    /// that spells part of a role ARN.
    ValueFrom {
        container: ContainerRef,
        variable: String,
        from: String,
    },
    /// `envFrom` from a source that is not judged that could set
    /// `variable` (`AWS_ROLE_ARN` or JVM options), in a container that can
    /// read an STS-audience token and does not set it itself.
    EnvFrom {
        container: ContainerRef,
        from: String,
        volume: String,
        variable: String,
    },
    /// A variable that points the SDKs at a config file, in a container
    /// that can read an STS token and mounts a volume the tenant writes
    /// (`path` is where it is mounted): the file can be there.
    ConfigFile {
        container: ContainerRef,
        variable: String,
        path: String,
        volume: String,
    },
    /// JVM options that read more options from a file (`@argfile`,
    /// `-XX:VMOptionsFile`, `-XX:Flags`), in a container that can read an
    /// STS token: the file may set `-Daws.roleArn`.
    JavaOptionsFile {
        container: ContainerRef,
        variable: String,
    },
    /// More distinct role ARNs written in the Pod's values than are judged
    /// ([`judge::MAX_WRITTEN_ROLES`]), from this container on.
    TooManyRoles {
        container: ContainerRef,
        limit: usize,
    },
}

impl Unverifiable {
    pub fn container(&self) -> &ContainerRef {
        match self {
            Unverifiable::ValueFrom { container, .. }
            | Unverifiable::EnvFrom { container, .. }
            | Unverifiable::ConfigFile { container, .. }
            | Unverifiable::JavaOptionsFile { container, .. }
            | Unverifiable::TooManyRoles { container, .. } => container,
        }
    }
}

/// A projected ServiceAccount token whose audience STS accepts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StsToken {
    pub volume: String,
    pub audience: String,
}

/// Everything role-related a Pod spec says on its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodUsage {
    pub env_roles: Vec<Role>,
    pub unverifiable: Vec<Unverifiable>,
    pub sts_tokens: Vec<StsToken>,
}

/// The kinds of object the operator declares (`judgedSources`) that
/// `irsa-enforce` receives on CREATE and UPDATE, so every IAM role ARN in
/// them was judged for their namespace. A Pod's role, AWS config file or
/// JVM options read from such an object are then as verifiable as a
/// literal. Off unless declared: a declaration without the matching rules
/// in the policy would let unjudged objects through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JudgedSources {
    pub config_maps: bool,
    pub secrets: bool,
}

impl JudgedSources {
    /// Whether objects of `kind` (`ConfigMap`, `Secret`) are judged.
    pub fn judges(&self, kind: &str) -> bool {
        match kind {
            "ConfigMap" => self.config_maps,
            "Secret" => self.secrets,
            _ => false,
        }
    }
}

/// What the rules read from a PodSpec, by either reader: [`Spec::read`]
/// from a parsed `Value` (the reference, which names wrong types) or
/// [`Spec::from_pod_text`] from the request text (no DOM).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec<'v> {
    pub(crate) volumes: Vec<Volume<'v>>,
    pub(crate) windows: bool,
    pub(crate) shared_processes: bool,
    pub(crate) containers: Vec<Container<'v>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume<'v> {
    pub(crate) name: Option<&'v str>,
    /// Audiences of its projected ServiceAccount tokens.
    pub(crate) audiences: Vec<&'v str>,
    /// The files in it that the tenant writes, if any.
    pub(crate) files: Files<'v>,
}

/// Where a volume's files come from, as far as a tenant controls them:
/// ConfigMaps and Secrets (which the policy may judge, `judgedSources`),
/// or any other source (image, CSI, claims, host paths, ...). Files a
/// tenant cannot make into an AWS config file are left out: `emptyDir`
/// (written by the Pod's own processes), projected tokens, trust bundles
/// and Pod certificates, the downward API (every line is `key="value"`,
/// so no `[profile]` section can be written) unless it selects one
/// annotation (`metadata.annotations['k']`: a file holding the tenant's
/// value as written), and the `kube-root-ca.crt`
/// ConfigMap that every Pod's `kube-api-access` volume projects (kept by
/// kube-controller-manager's root CA publisher).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Files<'v> {
    pub(crate) config_map: bool,
    pub(crate) secret: bool,
    /// The first other source's field name (`image`, `csi`, ...).
    pub(crate) other: Option<&'v str>,
    /// A downward API source that selects one annotation.
    pub(crate) annotation: bool,
}

impl<'v> Files<'v> {
    /// Records a volume's field, or a projected source's, named `kind`
    /// (present and not `null`).
    /// `config_map` is the name a `configMap` source refers to.
    pub(crate) fn add(&mut self, kind: &'v str, projected_source: bool, config_map: Option<&str>) {
        match kind {
            "configMap" => self.config_map |= config_map != Some(KUBE_ROOT_CA_CONFIG_MAP),
            "secret" => self.secret = true,
            // Read by the callers: `Files::annotation`.
            "downwardAPI" => {}
            "serviceAccountToken" | "clusterTrustBundle" | "podCertificate" if projected_source => {
            }
            "name" | "projected" | "emptyDir" if !projected_source => {}
            // The least name, so both readers agree whatever the order.
            other => self.other = Some(self.other.map_or(other, |o| o.min(other))),
        }
    }

    /// The kind of tenant-written file the policy cannot vouch for, if any.
    pub(crate) fn unjudged(&self, judged: JudgedSources) -> Option<&'v str> {
        self.other
            .or(self.annotation.then_some("downwardAPI annotation"))
            .or((self.config_map && !judged.config_maps).then_some("configMap"))
            .or((self.secret && !judged.secrets).then_some("secret"))
    }
}

/// What a downward API source selects that a tenant writes as it likes:
/// one annotation (`metadata.annotations['k']`), as kubelet writes its
/// value raw. The readers ask the same of raw text and parsed strings.
pub(crate) const DOWNWARD_API_ANNOTATION: &str = "annotations[";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container<'v> {
    pub(crate) who: ContainerRef,
    pub(crate) index: usize,
    pub(crate) mounts: Vec<(&'v str, &'v str)>,
    pub(crate) target: Option<&'v str>,
    /// Every entry, in order: later ones may refer to earlier ones.
    pub(crate) env: Vec<Env<'v>>,
    pub(crate) env_from: Vec<EnvFrom<'v>>,
    /// `command` and `args`, which kubelet expands too.
    pub(crate) command: Vec<Cow<'v, str>>,
    pub(crate) args: Vec<Cow<'v, str>>,
    /// The commands of its lifecycle hooks and exec probes, which run with
    /// its env and token.
    pub(crate) exec: Vec<Cow<'v, str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Env<'v> {
    pub(crate) name: &'v str,
    /// A wrong type is reported only if the entry matters, as the rules
    /// read values lazily.
    pub(crate) source: Result<EnvSource<'v>, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnvSource<'v> {
    Literal(Cow<'v, str>),
    /// The first key of `valueFrom` (`"valueFrom"` when empty).
    From(&'v str),
}

impl EnvSource<'_> {
    /// Whether a `valueFrom` reads a judged ConfigMap or Secret key.
    fn judged(&self, judged: JudgedSources) -> bool {
        match self {
            EnvSource::From("configMapKeyRef") => judged.config_maps,
            EnvSource::From("secretKeyRef") => judged.secrets,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvFrom<'v> {
    pub(crate) prefix: &'v str,
    /// `ConfigMap` or `Secret`, with the reference's name.
    pub(crate) source: Option<(&'static str, &'v str)>,
}

impl EnvFrom<'_> {
    fn describe(&self) -> String {
        match self.source {
            Some((kind, name)) => format!("{kind} {name:?}"),
            None => "envFrom".to_owned(),
        }
    }

    /// Whether every key it brings was judged (`judgedSources`).
    fn judged(&self, judged: JudgedSources) -> bool {
        self.source.is_some_and(|(kind, _)| judged.judges(kind))
    }

    /// Whether it can define `name`: its prefix is a strict prefix of it
    /// (keys are never empty). Case is ignored, as on Windows.
    fn reaches(&self, name: &str) -> bool {
        self.prefix.len() < name.len()
            && name
                .as_bytes()
                .get(..self.prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(self.prefix.as_bytes()))
    }
}

/// What an env variable's name makes it to the rules.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Variable {
    /// `AWS_ROLE_ARN`, in any case.
    Role,
    /// JVM options ([`JAVA_OPTIONS_ENV`]), in any case.
    Java,
    /// A config file variable ([`AWS_CONFIG_FILE_ENV`], any case) or `HOME`.
    ConfigFile,
    Other,
}

impl Variable {
    pub(crate) fn of(name: &str) -> Variable {
        let any = |names: &[&str]| names.iter().any(|n| name.eq_ignore_ascii_case(n));
        // One comparison of the first byte puts most names out.
        match name.as_bytes().first().map(u8::to_ascii_uppercase) {
            Some(b'A') if name.eq_ignore_ascii_case(ENV_ROLE_ARN) => Variable::Role,
            Some(b'A') if any(&AWS_CONFIG_FILE_ENV) => Variable::ConfigFile,
            Some(b'J' | b'_') if any(&JAVA_OPTIONS_ENV) => Variable::Java,
            // On Windows, names ignore case and the SDKs look in
            // `%USERPROFILE%\\.aws`.
            Some(b'H' | b'U') if any(&HOME_ENV) => Variable::ConfigFile,
            _ => Variable::Other,
        }
    }
}

impl<'v> Spec<'v> {
    /// Adds the injected token volume, first, as the injection puts it.
    pub fn add_token_volume(&mut self, name: &'v str, audience: &'v str) {
        let volume = Volume {
            name: Some(name),
            audiences: Some(audience)
                .filter(|a| !a.is_empty())
                .into_iter()
                .collect(),
            files: Files::default(),
        };
        self.volumes.insert(0, volume);
    }

    /// Adds injected env entries and a mount at the end of the container
    /// `spec.<field>[index]`, as the injection appends them.
    pub fn add_to_container(
        &mut self,
        field: &str,
        index: usize,
        env: impl Iterator<Item = (&'v str, &'v str)>,
        mount: Option<(&'v str, &'v str)>,
    ) {
        // Containers are in `ContainerKind::ALL` order, each kind by index:
        // a search, not a scan, or injecting into every container of a
        // large Pod is quadratic.
        let Some(kind) = ContainerKind::ALL.into_iter().find(|k| k.field() == field) else {
            return;
        };
        let Ok(at) = self
            .containers
            .binary_search_by(|c| (c.who.kind, c.index).cmp(&(kind, index)))
        else {
            return;
        };
        let Some(c) = self.containers.get_mut(at) else {
            return;
        };
        c.env.extend(env.map(|(name, value)| Env {
            name,
            source: Ok(EnvSource::Literal(Cow::Borrowed(value))),
        }));
        c.mounts.extend(mount);
    }
}
