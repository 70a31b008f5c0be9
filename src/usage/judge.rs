//! The rules: what a [`Spec`] says about roles, read by either reader.
//!
//! A container is judged as its process will see it, with one general rule
//! per route rather than one per spelling:
//!
//! - values are read after kubelet's `$(VAR)` expansion ([`super::expand`]);
//! - `AWS_ROLE_ARN` (any case) is a role wherever it is set;
//! - where an STS token is readable, every role ARN written in any env
//!   value, `command` or `args` is a role the container may use, however
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
use super::{Container, PodUsage, Spec, StsToken, Unverifiable};
use crate::arn::{ComposeRoleArn, role_arns_in};
use crate::constants::{
    AWS_CONFIG_DIR, AWS_CONFIG_FILE_ENV, ENV_HOME, ENV_ROLE_ARN, JAVA_OPTIONS_ENV,
    JAVA_OPTIONS_FILE_PREFIXES, JAVA_ROLE_PROPERTY,
};
use crate::role::{ContainerKind, Role, RoleSource};

impl Spec<'_> {
    /// What the spec says about roles.
    pub fn judge(
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
        let token_volumes: BTreeSet<&str> = tokens.iter().map(|t| t.volume.as_str()).collect();
        // Volumes with files a tenant writes that no judged source covers.
        let file_volumes: BTreeMap<&str, &str> = self
            .volumes
            .iter()
            .filter_map(|v| Some((v.name?, v.files.unjudged(judged)?)))
            .collect();

        // Which STS token volume each container can read, if any.
        let mounted: Vec<Option<&str>> = self
            .containers
            .iter()
            .map(|c| {
                c.mounts
                    .iter()
                    .find_map(|(name, _)| token_volumes.get(name).copied())
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
        let mut budget = EXPANSION_BUDGET;
        for (c, own) in self.containers.iter().zip(&mounted) {
            let via_target = c.target.and_then(|t| targets.get(t).copied());
            let via_shared = if self.shared_processes {
                any_mounted
            } else {
                None
            };
            let judge = ContainerJudge {
                c,
                token: own.or(via_target).or(via_shared),
                windows: self.windows,
                compose,
                judged,
                file_volumes: &file_volumes,
            };
            judge.run(&mut budget, &mut usage)?;
        }
        usage.sts_tokens = tokens;
        Ok(usage)
    }
}

/// Judges one container.
struct ContainerJudge<'j, 'v> {
    c: &'j Container<'v>,
    /// The STS token volume it can read, if any.
    token: Option<&'j str>,
    windows: bool,
    compose: Option<&'j ComposeRoleArn>,
    judged: JudgedSources,
    file_volumes: &'j BTreeMap<&'j str, &'j str>,
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
struct Found {
    /// Role values already recorded for this container.
    roles: BTreeSet<String>,
    /// The first thing that has the SDK read a config file.
    config_signal: Option<String>,
}

fn is_any(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| name.eq_ignore_ascii_case(n))
}

impl ContainerJudge<'_, '_> {
    fn run(&self, budget: &mut usize, usage: &mut PodUsage) -> Result<(), String> {
        let c = self.c;
        let reads_token = self.token.is_some();
        let refers = c.env.iter().any(|e| match &e.source {
            Ok(super::EnvSource::Literal(v)) => v.contains('$'),
            _ => false,
        }) || c.command.iter().chain(&c.args).any(|w| w.contains('$'));
        let mut expander = Expander::new(&c.env_from, self.judged, budget);
        let mut found = Found::default();
        for entry in &c.env {
            let name = entry.name;
            let role_var = name.eq_ignore_ascii_case(ENV_ROLE_ARN);
            // Without a token only `AWS_ROLE_ARN` matters, and without `$`
            // in the container no later entry reads this one.
            if !(role_var || reads_token || refers) {
                continue;
            }
            let source = entry.source.as_ref().map_err(Clone::clone)?;
            let value = expander.entry(name, source, refers);
            if !(role_var || reads_token) {
                continue;
            }
            self.variable(name, role_var, &value, &mut found, usage);
        }
        if reads_token {
            for (place, words) in [("command", &c.command), ("args", &c.args)] {
                for word in words {
                    let value = expander.expand(word);
                    self.written(Place::Word(place), &value, &mut found, usage);
                    let (known, _) = value.known();
                    if found.config_signal.is_none() && mentions_config_property(known) {
                        found.config_signal = Some(format!("a config file property in {place}"));
                    }
                }
            }
            self.env_from(&mut found, usage);
            self.config_files(found.config_signal, usage);
        }
        Ok(())
    }

    /// One env variable, expanded.
    fn variable(
        &self,
        name: &str,
        role_var: bool,
        value: &Expanded<'_>,
        found: &mut Found,
        usage: &mut PodUsage,
    ) {
        let java = is_any(name, &JAVA_OPTIONS_ENV);
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
        if reads_token {
            self.written(Place::Env(name), value, found, usage);
            if is_any(name, &AWS_CONFIG_FILE_ENV) || name == ENV_HOME {
                found
                    .config_signal
                    .get_or_insert_with(|| format!("env {name}"));
            }
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
        // A value written twice (`AWS_ROLE_ARN` is also found as written)
        // is one use of the role.
        if found.roles.insert(role.value.clone()) {
            usage.env_roles.push(role);
        }
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

    /// `envFrom` sources that could set a role or JVM options variable the
    /// container does not set itself, or point the SDK at a config file.
    /// On Windows, names ignore case and kubelet hands both spellings to
    /// the runtime in map order (`makeEnvironmentVariables` ranges over a
    /// Go map), so an explicit entry does not reliably win.
    fn env_from(&self, found: &mut Found, usage: &mut PodUsage) {
        let c = self.c;
        let sets = |name: &str| !self.windows && c.env.iter().any(|e| e.name == name);
        let role_names = std::iter::once(ENV_ROLE_ARN).chain(JAVA_OPTIONS_ENV);
        let unset_role_names: Vec<&str> = role_names.filter(|n| !sets(n)).collect();
        let config_names = AWS_CONFIG_FILE_ENV.into_iter().chain([ENV_HOME]);
        let unset_config_names: Vec<&str> = config_names.filter(|n| !sets(n)).collect();
        for source in &c.env_from {
            if found.config_signal.is_none()
                && let Some(name) = unset_config_names.iter().find(|n| source.reaches(n))
            {
                found.config_signal = Some(format!("{name} from envFrom {}", source.describe()));
            }
            if source.judged(self.judged) {
                continue;
            }
            if let Some(variable) = unset_role_names.iter().find(|n| source.reaches(n)) {
                usage.unverifiable.push(Unverifiable::EnvFrom {
                    container: c.who.clone(),
                    from: source.describe(),
                    volume: self.token.unwrap_or_default().to_owned(),
                    variable: (*variable).to_owned(),
                });
            }
        }
    }

    /// Which file a variable names does not matter: `/var/run` is a
    /// symlink to `/run` in common images and `/proc/self/root/...`
    /// reaches any path, so no comparison of paths is sound. Once anything
    /// points the SDK at a config file, any tenant-written mount can hold
    /// it; a mount at a `.aws` directory is such a pointer by itself (the
    /// image's `HOME`). One finding per container.
    fn config_files(&self, signal: Option<String>, usage: &mut PodUsage) {
        let mut unjudged = self
            .c
            .mounts
            .iter()
            .filter(|(name, _)| self.file_volumes.contains_key(name));
        let found = match signal {
            Some(signal) => unjudged.next().map(|m| (signal, m)),
            None => unjudged
                .find(|(_, path)| path.contains(AWS_CONFIG_DIR))
                .map(|m| (format!("a mount at {}", m.1), m)),
        };
        if let Some((variable, (volume, path))) = found {
            let kind = self.file_volumes.get(volume).copied().unwrap_or_default();
            usage.unverifiable.push(Unverifiable::ConfigFile {
                container: self.c.who.clone(),
                variable,
                path: (*path).to_owned(),
                volume: format!("{volume} ({kind})"),
            });
        }
    }
}

/// Whether known text beside an unread part spells part of a role ARN, so
/// that the whole may be one.
fn spells_part_of_an_arn(known: &str) -> bool {
    let lower = known.to_ascii_lowercase();
    ["arn:", ":iam:", ":role/", "role/"]
        .iter()
        .any(|w| lower.contains(w))
}
