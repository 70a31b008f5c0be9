//! A role as found in an object, and where it was found: what the
//! allow-list judges and messages name.

use std::cell::OnceCell;
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
    /// The `targetRoleArn` of a `podIdentity.associations` entry.
    PodIdentityTarget,
    /// A literal `AWS_ROLE_ARN` in a container's `env`.
    Env { container: ContainerRef },
    /// `-Daws.roleArn` in a JVM options variable of a container's `env`.
    JavaOption {
        container: ContainerRef,
        variable: String,
    },
    /// A role ARN written in an env value (`env NAME`), `command` or `args`
    /// of a container that can read an STS token.
    Written {
        container: ContainerRef,
        place: String,
    },
    /// An IAM role ARN written in a namespaced object (a ConfigMap's data,
    /// a custom resource's field): `place` says where (`data key "config"`,
    /// `field spec.provider.aws.role`), already cut short; `others` counts
    /// the further places in the object with the same value.
    Object { place: String, others: usize },
}

/// Which kind of container, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ContainerKind {
    Init,
    #[default]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
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
            RoleSource::Env { container }
            | RoleSource::JavaOption { container, .. }
            | RoleSource::Written { container, .. } => Some(container),
            _ => None,
        }
    }

    /// The source apart from its container, for merging violations.
    pub fn merge_parts(&self) -> (&'static str, &str) {
        match self {
            RoleSource::Annotation { key } => ("annotation", key),
            RoleSource::Mapping { key } => ("mapping", key),
            RoleSource::PodIdentityAssociation => ("association", ""),
            RoleSource::PodIdentityTarget => ("association-target", ""),
            RoleSource::Env { .. } => ("env", ""),
            RoleSource::JavaOption { variable, .. } => ("java", variable),
            RoleSource::Written { place, .. } => ("written", place),
            RoleSource::Object { place, .. } => ("object", place),
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
            RoleSource::Written { place, .. } => {
                format!("written in {} of {container}", Shown(place).bare())
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
            RoleSource::PodIdentityTarget => f.write_str("podIdentity association targetRoleArn"),
            RoleSource::Env { container } => write!(f, "env AWS_ROLE_ARN of {container}"),
            RoleSource::JavaOption {
                container,
                variable,
            } => write!(f, "-Daws.roleArn in env {variable} of {container}"),
            RoleSource::Written { container, place } => {
                write!(f, "written in {place} of {container}")
            }
            RoleSource::Object { place, others: 0 } => f.write_str(place),
            RoleSource::Object { place, others: 1 } => write!(f, "{place} and 1 other place"),
            RoleSource::Object { place, others } => {
                write!(f, "{place} and {others} other places")
            }
        }
    }
}

/// A role value as found, and whether it is a well-formed role ARN.
#[derive(Debug, Clone)]
pub struct Role {
    /// What upstream would inject as `AWS_ROLE_ARN`: the value as written,
    /// or composed from a bare name under `composeRoleArn`.
    pub value: String,
    /// Parsed when first asked for: the injected `AWS_ROLE_ARN` repeats the
    /// ServiceAccount's role in every container, and a value already judged
    /// is not judged again.
    arn: OnceCell<Result<RoleArn, String>>,
    pub source: RoleSource,
}

/// The ARN is a function of the value.
impl PartialEq for Role {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.source == other.source
    }
}

impl Role {
    /// A role value as written, composed under `composeRoleArn`.
    pub fn new(raw: &str, compose: Option<&ComposeRoleArn>, source: RoleSource) -> Role {
        let value = arn::compose_role_arn(raw, compose).unwrap_or_else(|| raw.to_owned());
        Role {
            value,
            arn: OnceCell::new(),
            source,
        }
    }

    /// The value parsed as a role ARN, or why it is not one.
    pub fn arn(&self) -> &Result<RoleArn, String> {
        self.arn.get_or_init(|| RoleArn::parse(&self.value))
    }

    pub fn parsed(arn: RoleArn, source: RoleSource) -> Role {
        Role {
            value: arn.to_string(),
            arn: OnceCell::from(Ok(arn)),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_is_parsed_from_the_value_when_asked_for() {
        let source = || RoleSource::Annotation { key: "k".into() };
        let good = Role::new("arn:aws:iam::111122223333:role/app", None, source());
        let unparsed = good.clone();
        assert_eq!(good.arn().as_ref().map(RoleArn::path_and_name), Ok("app"));
        // Equal whether or not the ARN was parsed yet: it follows the value.
        assert_eq!(good, unparsed);
        let compose = ComposeRoleArn {
            partition: "aws".into(),
            account_id: "111122223333".into(),
        };
        let composed = Role::new("app", Some(&compose), source());
        assert_eq!(composed, good);
        assert_eq!(composed.arn(), good.arn());
        let bad = Role::new("app", None, source());
        assert!(bad.arn().as_ref().is_err_and(|e| e.contains("arn:")));
        assert_ne!(bad, good);
    }
}
