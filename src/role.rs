//! A role as found in an object, and where it was found: what the
//! allow-list judges and messages name.

use std::fmt;
use std::rc::Rc;

use crate::arn::{self, ComposeRoleArn, RoleArn};
use crate::names::Shown;

/// Where a role came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleSource {
    /// `<prefix>/role-arn` on the ServiceAccount.
    Annotation { key: String },
    /// A `serviceAccountMappings` entry.
    Mapping { key: String },
    /// The `roleArn` of a `podIdentity.associations` entry.
    PodIdentityAssociation,
    /// A literal `AWS_ROLE_ARN` in a container's `env`.
    Env { container: ContainerRef },
    /// `-Daws.roleArn` in a JVM options variable of a container's `env`.
    JavaOption {
        container: ContainerRef,
        variable: String,
    },
}

/// Which kind of container, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    /// The PodSpec field holding containers of this kind.
    pub const fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }

    pub const ALL: [ContainerKind; 3] = [
        ContainerKind::Init,
        ContainerKind::Regular,
        ContainerKind::Ephemeral,
    ];
}

/// A container, named for messages: `init container "setup"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerRef {
    pub kind: ContainerKind,
    /// Shared: every violation in a container refers to its name.
    pub name: Rc<str>,
}

impl fmt::Display for ContainerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        };
        write!(f, "{kind} {}", Shown(&self.name))
    }
}

impl RoleSource {
    /// The container the role was found in, if it came from one.
    pub fn container(&self) -> Option<&ContainerRef> {
        match self {
            RoleSource::Env { container } | RoleSource::JavaOption { container, .. } => {
                Some(container)
            }
            _ => None,
        }
    }

    /// The source apart from its container, for merging violations.
    pub fn merge_parts(&self) -> (&'static str, &str) {
        match self {
            RoleSource::Annotation { key } => ("annotation", key),
            RoleSource::Mapping { key } => ("mapping", key),
            RoleSource::PodIdentityAssociation => ("association", ""),
            RoleSource::Env { .. } => ("env", ""),
            RoleSource::JavaOption { variable, .. } => ("java", variable),
        }
    }

    /// The source, naming its container as `container` (which may stand
    /// for several).
    pub fn with_container(&self, container: &str) -> String {
        match self {
            RoleSource::Env { .. } => format!("env AWS_ROLE_ARN of {container}"),
            RoleSource::JavaOption { variable, .. } => {
                format!(
                    "-Daws.roleArn in env {} of {container}",
                    Shown(variable).bare()
                )
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for RoleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleSource::Annotation { key } => write!(f, "ServiceAccount annotation {key}"),
            RoleSource::Mapping { key } => write!(f, "serviceAccountMappings entry {key:?}"),
            RoleSource::PodIdentityAssociation => f.write_str("podIdentity association"),
            RoleSource::Env { container } => write!(f, "env AWS_ROLE_ARN of {container}"),
            RoleSource::JavaOption {
                container,
                variable,
            } => write!(f, "-Daws.roleArn in env {variable} of {container}"),
        }
    }
}

/// A role value as found, and whether it is a well-formed role ARN.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// What upstream would inject as `AWS_ROLE_ARN`: the value as written,
    /// or composed from a bare name under `composeRoleArn`.
    pub value: String,
    pub arn: Result<RoleArn, String>,
    pub source: RoleSource,
}

impl Role {
    /// A role value as written, composed under `composeRoleArn`, parsed.
    pub fn new(raw: &str, compose: Option<&ComposeRoleArn>, source: RoleSource) -> Role {
        let value = arn::compose_role_arn(raw, compose).unwrap_or_else(|| raw.to_owned());
        let arn = RoleArn::parse(&value);
        Role { value, arn, source }
    }

    pub fn parsed(arn: RoleArn, source: RoleSource) -> Role {
        Role {
            value: arn.to_string(),
            arn: Ok(arn),
            source,
        }
    }
}
