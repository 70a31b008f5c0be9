//! Which IAM roles a Pod (or Pod template) uses by itself, beyond its
//! ServiceAccount: literal `AWS_ROLE_ARN` values and `-Daws.roleArn` JVM
//! options, role sources the policy cannot read, and STS-audience tokens.
//!
//! Rules that depend on token access ask which STS tokens a container can
//! read: those it mounts, every token of the Pod when the Pod shares one
//! process namespace (`/proc/<pid>/root`), and its target's tokens for an
//! ephemeral container with `targetContainerName`.

use crate::constants::{AWS_CONFIG_FILE_ENV, ENV_ROLE_ARN, JAVA_OPTIONS_ENV};
use crate::role::{ContainerRef, Role};

mod judge;
mod read;
pub mod text;

#[cfg(test)]
mod tests;

/// A way to pick a role that cannot be checked against the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unverifiable {
    /// A role variable (`AWS_ROLE_ARN`, or in a container with an STS token
    /// a JVM options or AWS config file variable) set from a ConfigMap,
    /// Secret or field reference.
    ValueFrom {
        container: ContainerRef,
        variable: String,
        from: String,
    },
    /// `envFrom` that could set `AWS_ROLE_ARN`, in a container that can read
    /// an STS-audience token and sets no `AWS_ROLE_ARN` of its own.
    EnvFrom {
        container: ContainerRef,
        from: String,
        volume: String,
    },
    /// An AWS shared config file, in a container that can read an STS
    /// token, that the tenant writes through a volume.
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
}

impl Unverifiable {
    pub fn container(&self) -> &ContainerRef {
        match self {
            Unverifiable::ValueFrom { container, .. }
            | Unverifiable::EnvFrom { container, .. }
            | Unverifiable::ConfigFile { container, .. }
            | Unverifiable::JavaOptionsFile { container, .. } => container,
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

#[derive(Debug, Clone, PartialEq)]
pub struct Volume<'v> {
    pub(crate) name: Option<&'v str>,
    /// Audiences of its projected ServiceAccount tokens.
    pub(crate) audiences: Vec<&'v str>,
    /// The kind of tenant-written files it holds, if any.
    pub(crate) config: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container<'v> {
    pub(crate) who: ContainerRef,
    pub(crate) index: usize,
    pub(crate) mounts: Vec<(&'v str, &'v str)>,
    pub(crate) target: Option<&'v str>,
    /// Only entries whose name [`is_role_related`].
    pub(crate) env: Vec<Env<'v>>,
    /// Only entries that could define `AWS_ROLE_ARN`.
    pub(crate) env_from: Vec<EnvFrom<'v>>,
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
    Literal(&'v str),
    /// The first key of `valueFrom` (`"valueFrom"` when empty).
    From(&'v str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvFrom<'v> {
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
}

/// Volume kinds whose files a tenant writes (ConfigMaps, Secrets, the
/// downward API's annotations), also as projected sources.
const CONFIG_KINDS: [&str; 3] = ["configMap", "secret", "downwardAPI"];

/// Env names the rules may read a value of: `AWS_ROLE_ARN`, and (in a
/// container with an STS token) JVM options and AWS config file variables.
fn is_role_related(name: &str) -> bool {
    // Every such name starts with `A`, `J` or `_`: most env names are out
    // at the first byte.
    if !matches!(
        name.as_bytes().first(),
        Some(b'A' | b'a' | b'J' | b'j' | b'_')
    ) {
        return false;
    }
    let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
    is(ENV_ROLE_ARN)
        || JAVA_OPTIONS_ENV.iter().any(|v| is(v))
        || AWS_CONFIG_FILE_ENV.iter().any(|v| is(v))
}

/// Whether an `envFrom` prefix can produce `AWS_ROLE_ARN`: empty or a
/// strict prefix of it (keys are never empty, so the prefix
/// `AWS_ROLE_ARN` itself cannot produce the name).
fn prefix_reaches_role(prefix: &str) -> bool {
    prefix.len() < ENV_ROLE_ARN.len()
        && ENV_ROLE_ARN
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
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
            config: None,
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
        let Some(c) = self
            .containers
            .iter_mut()
            .find(|c| c.who.kind.field() == field && c.index == index)
        else {
            return;
        };
        let role_related = env.filter(|(name, _)| is_role_related(name));
        c.env.extend(role_related.map(|(name, value)| Env {
            name,
            source: Ok(EnvSource::Literal(value)),
        }));
        c.mounts.extend(mount);
    }
}
