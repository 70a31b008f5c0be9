//! The rules: what a [`Spec`] says about roles, read by either reader.

use std::collections::{BTreeMap, BTreeSet};

use super::{Container, EnvSource, PodUsage, Spec, StsToken, Unverifiable};
use crate::arn::ComposeRoleArn;
use crate::constants::{ENV_ROLE_ARN, JAVA_OPTIONS_ENV, JAVA_ROLE_PROPERTY};
use crate::role::{ContainerKind, Role, RoleSource};

impl Spec<'_> {
    /// What the spec says about roles.
    pub fn judge(
        &self,
        compose: Option<&ComposeRoleArn>,
        sts_audiences: &BTreeSet<String>,
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
        let config_volumes: BTreeMap<&str, &'static str> = self
            .volumes
            .iter()
            .filter_map(|v| Some((v.name?, v.config?)))
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
        for (c, own) in self.containers.iter().zip(&mounted) {
            let via_target = c.target.and_then(|t| targets.get(t).copied());
            let via_shared = if self.shared_processes {
                any_mounted
            } else {
                None
            };
            let token = own.or(via_target).or(via_shared);
            judge_container(c, token, self.windows, compose, &config_volumes, &mut usage)?;
        }
        usage.sts_tokens = tokens;
        Ok(usage)
    }
}

/// Records what one container says about roles. `token` is the STS token
/// volume it can read, if any.
fn judge_container(
    c: &Container<'_>,
    token: Option<&str>,
    windows: bool,
    compose: Option<&ComposeRoleArn>,
    config_volumes: &BTreeMap<&str, &'static str>,
    usage: &mut PodUsage,
) -> Result<(), String> {
    let mut sets_role = false;
    for entry in &c.env {
        let name = entry.name;
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
        let role_var = is(ENV_ROLE_ARN);
        let java = JAVA_OPTIONS_ENV.iter().any(|v| is(v));
        // Java options and config files matter only where a token is.
        if !(role_var || token.is_some()) {
            continue;
        }
        // Windows environment names ignore case, so `aws_role_arn` counts;
        // only the exact name overrides `envFrom` on Linux.
        sets_role |= name == ENV_ROLE_ARN;
        let value = match &entry.source {
            Ok(EnvSource::Literal(value)) => *value,
            Ok(EnvSource::From(from)) => {
                usage.unverifiable.push(Unverifiable::ValueFrom {
                    container: c.who.clone(),
                    variable: name.to_owned(),
                    from: (*from).to_owned(),
                });
                continue;
            }
            Err(e) => return Err(e.clone()),
        };
        if role_var {
            // An empty value is no role: the SDKs treat it as unset.
            if !value.is_empty() {
                usage.env_roles.push(Role::new(
                    value,
                    compose,
                    RoleSource::Env {
                        container: c.who.clone(),
                    },
                ));
            }
        } else if java {
            java_options(value, name, c, compose, usage);
        } else if let Some(volume) = config_file_volume(value, &c.mounts, config_volumes) {
            usage.unverifiable.push(Unverifiable::ConfigFile {
                container: c.who.clone(),
                variable: name.to_owned(),
                path: value.to_owned(),
                volume: volume.to_owned(),
            });
        }
    }
    if let Some(volume) = token {
        // On Windows an `envFrom` key `aws_role_arn` is the same variable as
        // an explicit `AWS_ROLE_ARN`, and which one wins is not defined.
        if windows || !sets_role {
            for from in &c.env_from {
                usage.unverifiable.push(Unverifiable::EnvFrom {
                    container: c.who.clone(),
                    from: from.describe(),
                    volume: volume.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The `-Daws.roleArn` values in a JVM options variable, and options that
/// read further options from a file.
fn java_options(
    value: &str,
    variable: &str,
    c: &Container<'_>,
    compose: Option<&ComposeRoleArn>,
    usage: &mut PodUsage,
) {
    let mut from_file = false;
    for option in value.split_ascii_whitespace() {
        let option = option.trim_matches(|ch| ch == '"' || ch == '\'');
        from_file |= option.starts_with('@')
            || option.starts_with("-XX:VMOptionsFile")
            || option.starts_with("-XX:Flags");
        let Some(rest) = option.strip_prefix(JAVA_ROLE_PROPERTY) else {
            continue;
        };
        // `-Daws.roleArn` alone sets the property to "": no role.
        let role = match rest.strip_prefix('=') {
            Some(role) => role.trim_matches(|ch| ch == '"' || ch == '\''),
            None if rest.is_empty() => "",
            // Another property, such as `-Daws.roleArnX`.
            None => continue,
        };
        if !role.is_empty() {
            usage.env_roles.push(Role::new(
                role,
                compose,
                RoleSource::JavaOption {
                    container: c.who.clone(),
                    variable: variable.to_owned(),
                },
            ));
        }
    }
    if from_file {
        usage.unverifiable.push(Unverifiable::JavaOptionsFile {
            container: c.who.clone(),
            variable: variable.to_owned(),
        });
    }
}

/// The tenant-written volume a config file path lies in, if any. A path
/// that is not absolute cannot be placed, so any such mount counts.
fn config_file_volume<'v>(
    path: &str,
    mounts: &[(&'v str, &'v str)],
    config_volumes: &BTreeMap<&str, &'static str>,
) -> Option<&'v str> {
    let path = normalize(path);
    mounts
        .iter()
        .filter(|(name, _)| config_volumes.contains_key(name))
        .find(|(_, mount_path)| match &path {
            Some(path) => {
                let mount = normalize(mount_path).unwrap_or_default();
                mount == "/"
                    || path == &mount
                    || path
                        .strip_prefix(mount.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            None => true,
        })
        .map(|(name, _)| *name)
}

/// An absolute path with `.`, `..` and repeated slashes resolved; `None`
/// for a relative path (or `~`), which depends on the working directory.
fn normalize(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}
