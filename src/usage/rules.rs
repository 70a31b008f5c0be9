//! The rules: what a [`Spec`] says about roles, read by either reader.
//!
//! A container is judged as its process will see it, with one general rule
//! per route rather than one per spelling:
//!
//! - values are read after kubelet's `$(VAR)` expansion ([`super::expand`]);
//! - `AWS_ROLE_ARN` (any case) is a role wherever it is set;
//! - in a Pod where an STS token is readable, every role ARN written in any
//!   container's env values, `command`, `args`, hooks or exec probes is a
//!   role the Pod may use (containers share files), however
//!   the variable or option is called (quotes removed, as shells and
//!   HotSpot remove them: [`crate::arn::role_arns_in`]);
//! - what the policy cannot read is unverifiable where it could carry a
//!   role: a role or JVM options variable from an unjudged source, a value
//!   built from one that spells part of an ARN, `envFrom` that could set
//!   either, JVM options files;
//! - an AWS config file is judged by what is mounted, not by its path:
//!   once anything points the SDK at a config file (a config file variable,
//!   `HOME`, a JVM property, a mount at `.aws`), any tenant-written volume
//!   the container mounts can hold it.
//!
//! Every step is linear in the container: one pass over env, words and
//! mounts, one finding per kind where repeats add nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::JudgedSources;
use super::expand::{EXPANSION_BUDGET, Expanded, Expander, Origin};
use super::jvm::{hotspot_options, mentions_config_property};
use super::sources::ByName;
use super::{Container, EnvSource, PodUsage, Spec, StsToken, Unverifiable, Variable};
use crate::arn::{ComposeRoleArn, role_arns_in, spells_part_of_an_arn};
use crate::constants::{JAVA_OPTIONS_FILE_PREFIXES, JAVA_ROLE_PROPERTY};
use crate::role::{ContainerKind, Role, RoleSource};

impl Spec<'_> {
    /// What the spec says about roles.
    pub fn usage(
        &self,
        compose: Option<&ComposeRoleArn>,
        sts_audiences: &BTreeSet<String>,
        judged: JudgedSources,
    ) -> Result<PodUsage, String> {
        let mut usage = PodUsage::default();
        let tokens: Vec<StsToken> = self
            .volumes
            .iter()
            .flat_map(|v| {
                v.audiences
                    .iter()
                    .filter(|a| sts_audiences.contains(**a))
                    .map(|a| StsToken {
                        volume: v.name.unwrap_or_default().to_owned(),
                        audience: (*a).to_owned(),
                    })
            })
            .collect();
        let token_volumes = ByName::new(tokens.iter().map(|t| (t.volume.as_str(), "")));
        // Volumes with files a tenant writes that no judged source covers.
        let file_volumes = ByName::new(
            self.volumes
                .iter()
                .filter_map(|v| Some((v.name?, v.files.unjudged(judged)?))),
        );

        // Which STS token volume each container can read, if any.
        let mounted: Vec<Option<&str>> = self
            .containers
            .iter()
            .map(|c| {
                c.mounts
                    .iter()
                    .find_map(|(name, _)| token_volumes.get(name).map(|_| *name))
            })
            .collect();
        let any_mounted = mounted.iter().flatten().next().copied();
        // The token each (init) container can read, by name: an ephemeral
        // container's `targetContainerName` names one of those.
        let targeted = self.containers.iter().any(|c| c.target.is_some());
        let targets: BTreeMap<&str, &str> = self
            .containers
            .iter()
            .zip(&mounted)
            .filter(|_| targeted)
            .filter(|(c, _)| c.who.kind != ContainerKind::Ephemeral)
            .filter_map(|(c, m)| Some((&*c.who.name, (*m)?)))
            .collect();
        let mut limits = Limits {
            expansion: EXPANSION_BUDGET,
            written_roles: MAX_WRITTEN_ROLES,
        };
        for (c, own) in self.containers.iter().zip(&mounted) {
            let via_target = c.target.and_then(|t| targets.get(t).copied());
            let via_shared = if self.shared_processes {
                any_mounted
            } else {
                None
            };
            let judge = ContainerRules {
                c,
                token: own.or(via_target).or(via_shared),
                pod_token: any_mounted.is_some(),
                windows: self.windows,
                compose,
                judged,
                file_volumes: &file_volumes,
            };
            judge.run(&mut limits, &mut usage)?;
        }
        usage.sts_tokens = tokens;
        Ok(usage)
    }
}

/// Distinct role ARNs found written in a Pod's values that are judged
/// before the rest is reported as too many to judge: each costs a parse,
/// a match and a violation, and no real Pod writes this many.
pub const MAX_WRITTEN_ROLES: usize = 256;

/// What a Pod may still cost.
struct Limits {
    /// Expanded text left ([`EXPANSION_BUDGET`]).
    expansion: usize,
    /// Written role ARNs left ([`MAX_WRITTEN_ROLES`]).
    written_roles: usize,
}

/// Judges one container.
pub(super) struct ContainerRules<'j, 'v> {
    pub(super) c: &'j Container<'v>,
    /// The STS token volume it can read, if any.
    pub(super) token: Option<&'j str>,
    /// Whether any container of the Pod can read one: containers share
    /// files (`emptyDir`), so a role ARN written in one can reach another's
    /// process (an init container writing `~/.aws/config`).
    pod_token: bool,
    pub(super) windows: bool,
    compose: Option<&'j ComposeRoleArn>,
    pub(super) judged: JudgedSources,
    pub(super) file_volumes: &'j ByName<'j>,
}

/// Where a value is written, named only when something is found there.
#[derive(Clone, Copy)]
enum Place<'a> {
    Env(&'a str),
    /// `command` or `args`.
    Word(&'static str),
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Env(name) => write!(f, "env {name}"),
            Place::Word(field) => f.write_str(field),
        }
    }
}

/// What a container's variables and words told the judge so far.
#[derive(Default)]
pub(super) struct Found {
    /// Where this container's roles start in `PodUsage::env_roles`.
    first_role: usize,
    /// Their values, once there are two (most containers have one role:
    /// they pay for no set).
    roles: BTreeSet<String>,
    /// The first thing that has the SDK read a config file.
    pub(super) config_signal: Option<String>,
    /// Written role ARNs the Pod may still have judged.
    written_left: usize,
    /// Whether this container was reported for too many of them.
    too_many: bool,
}

/// Whether the container already has a role of this value.
fn has_role(found: &mut Found, usage: &PodUsage, value: &str) -> bool {
    let mine = usage.env_roles.get(found.first_role..).unwrap_or_default();
    match mine {
        [] => false,
        [only] if found.roles.is_empty() => {
            // The second role: from now on the set holds them all.
            found.roles.insert(only.value.clone());
            only.value == value
        }
        _ => found.roles.contains(value),
    }
}

impl ContainerRules<'_, '_> {
    fn run(&self, limits: &mut Limits, usage: &mut PodUsage) -> Result<(), String> {
        let c = self.c;
        let reads_token = self.token.is_some();
        let searches = reads_token || self.pod_token;
        let refers = c.env.iter().any(|e| match &e.source {
            Ok(EnvSource::Literal(v)) => v.contains('$'),
            _ => false,
        }) || c
            .command
            .iter()
            .chain(&c.args)
            .chain(&c.exec)
            .any(|w| w.contains('$'));
        let mut expander = Expander::new(&c.env_from, self.judged, &mut limits.expansion);
        let mut found = Found {
            written_left: limits.written_roles,
            first_role: usage.env_roles.len(),
            ..Found::default()
        };
        for entry in &c.env {
            let name = entry.name;
            let kind = Variable::of(name);
            let role_var = kind == Variable::Role;
            // Without a token only `AWS_ROLE_ARN` matters, and without `$`
            // in the container no later entry reads this one.
            if !(role_var || searches || refers) {
                continue;
            }
            // Most entries: a literal of no special variable, with no `:`
            // (no ARN) and, as nothing refers, no `$` to expand.
            let plain = matches!(&entry.source, Ok(EnvSource::Literal(v)) if !v.contains(':'));
            if plain && kind == Variable::Other && !refers {
                continue;
            }
            let source = entry.source.as_ref().map_err(Clone::clone)?;
            let value = expander.entry(name, source, refers);
            if !(role_var || searches) {
                continue;
            }
            self.variable(name, kind, &value, &mut found, usage);
        }
        if searches {
            let words = [
                ("command", &c.command),
                ("args", &c.args),
                ("a lifecycle hook or exec probe command", &c.exec),
            ];
            for (place, words) in words {
                for word in words {
                    let value = expander.expand(word);
                    self.written(Place::Word(place), &value, &mut found, usage);
                    let (known, _) = value.known();
                    if found.config_signal.is_none() && mentions_config_property(known) {
                        found.config_signal = Some(format!("a config file property in {place}"));
                    }
                }
            }
            limits.written_roles = found.written_left;
        }
        if reads_token {
            self.env_from(&mut found, usage);
            self.config_files(found.config_signal, usage);
        }
        Ok(())
    }

    /// One env variable, expanded.
    fn variable(
        &self,
        name: &str,
        kind: Variable,
        value: &Expanded<'_>,
        found: &mut Found,
        usage: &mut PodUsage,
    ) {
        let role_var = kind == Variable::Role;
        let java = kind == Variable::Java;
        let reads_token = self.token.is_some();
        match value {
            Expanded::Known(text) => {
                // An empty value is no role: the SDKs treat it as unset.
                if role_var && !text.is_empty() {
                    let source = RoleSource::Env {
                        container: self.c.who.clone(),
                    };
                    self.role(text, self.compose, source, found, usage);
                }
                if reads_token && java {
                    self.java_options(text, name, found, usage);
                }
            }
            Expanded::Unread { from, judged } => {
                if (role_var || (reads_token && java)) && !judged {
                    self.unverifiable_value(name, from, usage);
                }
                // Options from a judged source carry only allowed roles,
                // but may still name a config file.
                if reads_token && java && *judged {
                    found
                        .config_signal
                        .get_or_insert_with(|| format!("JVM options {name} from {}", from.root));
                }
            }
            Expanded::Partial { from, .. } => {
                if role_var || (reads_token && java) {
                    self.unverifiable_value(name, from, usage);
                }
            }
        }
        // `AWS_ROLE_ARN`'s value is judged whole, as a role, above.
        if !role_var && (reads_token || self.pod_token) {
            self.written(Place::Env(name), value, found, usage);
        }
        if reads_token && kind == Variable::ConfigFile {
            found
                .config_signal
                .get_or_insert_with(|| format!("env {name}"));
        }
    }

    /// Role ARNs written in a value, and parts of one next to what the
    /// policy cannot read.
    fn written(
        &self,
        place: Place<'_>,
        value: &Expanded<'_>,
        found: &mut Found,
        usage: &mut PodUsage,
    ) {
        let (known, unread) = value.known();
        for arn in role_arns_in(known) {
            if has_role(found, usage, &arn) {
                continue;
            }
            if found.written_left == 0 {
                if !found.too_many {
                    found.too_many = true;
                    usage.unverifiable.push(Unverifiable::TooManyRoles {
                        container: self.c.who.clone(),
                        limit: MAX_WRITTEN_ROLES,
                    });
                }
                break;
            }
            found.written_left -= 1;
            let source = RoleSource::Written {
                container: self.c.who.clone(),
                place: place.to_string(),
            };
            self.role(&arn, None, source, found, usage);
        }
        if let Some(from) = unread
            && spells_part_of_an_arn(known)
        {
            self.unverifiable_value(&place.to_string(), from, usage);
        }
    }

    fn role(
        &self,
        value: &str,
        compose: Option<&ComposeRoleArn>,
        source: RoleSource,
        found: &mut Found,
        usage: &mut PodUsage,
    ) {
        let role = Role::new(value, compose, source);
        // A value written twice (`-Daws.roleArn` is also found as written)
        // is one use of the role.
        if has_role(found, usage, &role.value) {
            return;
        }
        if !found.roles.is_empty() || usage.env_roles.len() > found.first_role {
            found.roles.insert(role.value.clone());
        }
        usage.env_roles.push(role);
    }

    fn unverifiable_value(&self, variable: &str, from: &Origin, usage: &mut PodUsage) {
        usage.unverifiable.push(Unverifiable::ValueFrom {
            container: self.c.who.clone(),
            variable: variable.to_owned(),
            from: from.to_string(),
        });
    }

    /// JVM options, tokenised as HotSpot does: `-Daws.roleArn` values are
    /// roles (composed under `composeRoleArn`, like `AWS_ROLE_ARN`), option
    /// files are unverifiable, config file properties are a signal.
    fn java_options(&self, value: &str, variable: &str, found: &mut Found, usage: &mut PodUsage) {
        let mut from_file = false;
        for option in hotspot_options(value) {
            from_file |= JAVA_OPTIONS_FILE_PREFIXES
                .iter()
                .any(|p| option.starts_with(p));
            if mentions_config_property(&option) {
                found
                    .config_signal
                    .get_or_insert_with(|| format!("a config file property in env {variable}"));
            }
            let Some(rest) = option.strip_prefix(JAVA_ROLE_PROPERTY) else {
                continue;
            };
            // `-Daws.roleArn` alone sets the property to "": no role;
            // `-Daws.roleArnX` is another property.
            let Some(role) = rest.strip_prefix('=') else {
                continue;
            };
            if !role.is_empty() {
                let source = RoleSource::JavaOption {
                    container: self.c.who.clone(),
                    variable: variable.to_owned(),
                };
                self.role(role, self.compose, source, found, usage);
            }
        }
        if from_file {
            usage.unverifiable.push(Unverifiable::JavaOptionsFile {
                container: self.c.who.clone(),
                variable: variable.to_owned(),
            });
        }
    }
}
