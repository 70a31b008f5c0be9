//! The namespace-to-role allow-list (`allowedRoles`).
//!
//! Keys are namespace names or globs; every key that matches a namespace
//! contributes its patterns. Patterns are IAM role ARNs in which `*` and `?`
//! never match `:`, so no pattern can widen a partition or an account by
//! accident, and `{namespace}` stands for the namespace being checked.

use std::collections::BTreeSet;

use crate::constants::ENV_ROLE_ARN;
use crate::names::Shown;
use crate::role::{ContainerRef, Role, RoleSource};
use crate::usage::{PodUsage, StsToken, Unverifiable};

mod patterns;

pub use patterns::*;

#[cfg(test)]
mod tests;

/// See [`Violation::merge_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MergeKey<'a>(u8, &'a str, &'a str, &'a str);

/// One way an object breaks the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    NotAllowed {
        role: String,
        source: RoleSource,
    },
    Malformed {
        value: String,
        source: RoleSource,
        reason: String,
    },
    Unverifiable(Unverifiable),
    /// An STS-audience token with no role to go with it: the Pod could
    /// assume any role whose trust policy accepts its ServiceAccount.
    UnclaimedToken(StsToken),
}

impl Violation {
    /// The container this violation is about, if any: the same violation in
    /// several containers (or several entries) is reported once.
    pub fn container(&self) -> Option<&ContainerRef> {
        match self {
            Violation::NotAllowed { source, .. } | Violation::Malformed { source, .. } => {
                source.container()
            }
            Violation::Unverifiable(u) => Some(u.container()),
            Violation::UnclaimedToken(_) => None,
        }
    }

    /// What identifies a violation apart from its container: violations
    /// with the same key read the same but for the container, and merge.
    /// Built without formatting, so merging 100,000 violations is cheap.
    pub fn merge_key(&self) -> MergeKey<'_> {
        let (tag, a, source) = match self {
            Violation::NotAllowed { role, source } => (0, role.as_str(), Some(source)),
            Violation::Malformed { value, source, .. } => (1, value.as_str(), Some(source)),
            Violation::Unverifiable(Unverifiable::ValueFrom { variable, from, .. }) => {
                return MergeKey(2, variable, from, "");
            }
            Violation::Unverifiable(Unverifiable::EnvFrom {
                from,
                volume,
                variable,
                ..
            }) => {
                return MergeKey(3, from, volume, variable);
            }
            Violation::Unverifiable(Unverifiable::ConfigFile {
                variable,
                path,
                volume,
                ..
            }) => return MergeKey(4, variable, path, volume),
            Violation::Unverifiable(Unverifiable::JavaOptionsFile { variable, .. }) => {
                return MergeKey(5, variable, "", "");
            }
            Violation::UnclaimedToken(StsToken { volume, audience }) => {
                return MergeKey(6, volume, audience, "");
            }
            Violation::Unverifiable(Unverifiable::TooManyRoles { .. }) => {
                return MergeKey(7, "", "", "");
            }
        };
        let (kind, detail) = source.map(RoleSource::merge_parts).unwrap_or_default();
        MergeKey(tag, a, kind, detail)
    }

    /// What the message adds after [`Violation::text`]: what the namespace
    /// allows, given as `described`.
    pub fn allowance_suffix(&self, described: &str) -> String {
        match self {
            Violation::NotAllowed { .. } => format!(": {described}"),
            Violation::Malformed { .. } => String::new(),
            _ => format!(" ({described})"),
        }
    }

    /// The problem, without the object it is about; `container` stands for
    /// the container (or containers) it was found in. Tenant-written values
    /// are cut short, so a line stays small whatever the input.
    pub fn text(&self, container: &str) -> String {
        match self {
            Violation::NotAllowed { role, source } => format!(
                "IAM role {} ({}) is not allowed",
                Shown(role),
                source.with_container(container)
            ),
            Violation::Malformed {
                value,
                source,
                reason,
            } => format!(
                "{} {} is not a well-formed IAM role ARN ({}), so it cannot be checked against allowedRoles",
                source.with_container(container),
                Shown(value),
                Shown(reason).bare()
            ),
            Violation::Unverifiable(Unverifiable::ValueFrom { variable, from, .. }) => {
                let what = if variable.eq_ignore_ascii_case(ENV_ROLE_ARN) {
                    "its role"
                } else {
                    "the role it selects"
                };
                format!(
                    "{} of {container} comes from {}, which the policy cannot read, \
                     so {what} cannot be checked against allowedRoles; set it as a literal value \
                     (or from a kind declared in judgedSources)",
                    Shown(variable).bare(),
                    Shown(from).bare()
                )
            }
            Violation::Unverifiable(Unverifiable::EnvFrom {
                from,
                volume,
                variable,
                ..
            }) => format!(
                "{container} can read STS token volume {} and takes env from {}, \
                 which could set {} to a role the policy cannot check; \
                 set {} as a literal value in its env, give the envFrom a prefix, \
                 or declare its kind in judgedSources",
                Shown(volume),
                Shown(from).bare(),
                Shown(variable).bare(),
                Shown(variable).bare()
            ),
            Violation::Unverifiable(Unverifiable::ConfigFile {
                variable,
                path,
                volume,
                ..
            }) => format!(
                "{} of {container} has the AWS SDK read a config file, and the container mounts \
                 volume {} at {}, whose files the tenant writes: a profile there can name any \
                 role_arn for its STS token, which the policy cannot read; mount no tenant-written \
                 volume in a container that reads a config file, or declare its kind in judgedSources",
                Shown(variable).bare(),
                Shown(volume).bare(),
                Shown(path)
            ),
            Violation::Unverifiable(Unverifiable::JavaOptionsFile { variable, .. }) => format!(
                "{} of {container} reads JVM options from a file, which could set \
                 -Daws.roleArn to a role the policy cannot check; \
                 set the options inline",
                Shown(variable).bare()
            ),
            Violation::Unverifiable(Unverifiable::TooManyRoles { limit, .. }) => format!(
                "the Pod writes more than {limit} distinct IAM role ARNs in the env values, \
                 command and args of containers that can read an STS token, and from \
                 {container} on they are not checked against allowedRoles; write fewer"
            ),
            Violation::UnclaimedToken(StsToken { volume, audience }) => format!(
                "projected token volume {} has STS audience {} but the Pod uses no role, \
                 so it could assume any role that trusts its ServiceAccount; \
                 set AWS_ROLE_ARN to an allowed role",
                Shown(volume),
                Shown(audience)
            ),
        }
    }
}

/// Checks the roles an object uses against what its namespace allows:
/// the ServiceAccount's (`sa_roles`) first, then the usage's literal env
/// roles. A value already judged is not reported twice (the injected
/// `AWS_ROLE_ARN` repeats the ServiceAccount's role in every container).
pub fn check(
    allowance: &NamespaceAllowance<'_>,
    sa_roles: &[Role],
    usage: &PodUsage,
) -> Vec<Violation> {
    violations(allowance, sa_roles, usage, true)
}

/// [`check`], reporting a role in every container that uses it: an update
/// is judged per container, so a new container is a new use of a role even
/// when an old one already had it.
pub fn check_per_container(
    allowance: &NamespaceAllowance<'_>,
    sa_roles: &[Role],
    usage: &PodUsage,
) -> Vec<Violation> {
    violations(allowance, sa_roles, usage, false)
}

fn violations(
    allowance: &NamespaceAllowance<'_>,
    sa_roles: &[Role],
    usage: &PodUsage,
    once_per_value: bool,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    // A set, not a scan of the earlier roles: one role per container made
    // that quadratic in containers.
    let mut judged = BTreeSet::new();
    let roles = sa_roles.iter().chain(&usage.env_roles);
    let no_roles = sa_roles.is_empty() && usage.env_roles.is_empty();
    for role in roles {
        if once_per_value && !judged.insert(role.value.as_str()) {
            continue;
        }
        match role.arn() {
            Ok(arn) if allowance.allows(arn) => {}
            Ok(_) => violations.push(Violation::NotAllowed {
                role: role.value.clone(),
                source: role.source.clone(),
            }),
            Err(reason) => violations.push(Violation::Malformed {
                value: role.value.clone(),
                source: role.source.clone(),
                reason: reason.clone(),
            }),
        }
    }
    violations.extend(
        usage
            .unverifiable
            .iter()
            .cloned()
            .map(Violation::Unverifiable),
    );
    // A token with no role at all: any role trusting the ServiceAccount is
    // reachable. (With roles, each is judged above.)
    if no_roles {
        violations.extend(
            usage
                .sts_tokens
                .iter()
                .cloned()
                .map(Violation::UnclaimedToken),
        );
    }
    violations
}
