//! Which IAM roles a Pod (or Pod template) uses by itself, beyond its
//! ServiceAccount: literal `AWS_ROLE_ARN` values and `-Daws.roleArn` JVM
//! options, role sources the policy cannot read, and STS-audience tokens.
//!
//! Rules that depend on token access ask which STS tokens a container can
//! read: those it mounts, every token of the Pod when the Pod shares one
//! process namespace (`/proc/<pid>/root`), and its target's tokens for an
//! ephemeral container with `targetContainerName`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::arn::ComposeRoleArn;
use crate::constants::{AWS_CONFIG_FILE_ENV, ENV_ROLE_ARN, JAVA_OPTIONS_ENV, JAVA_ROLE_PROPERTY};
use crate::role::{ContainerKind, ContainerRef, Role, RoleSource};

mod read;
pub mod text;

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

/// Reads `spec` (a PodSpec) and judges it. `spec_path` prefixes field
/// names in errors.
pub fn collect(
    spec: &Value,
    spec_path: &str,
    compose: Option<&ComposeRoleArn>,
    sts_audiences: &BTreeSet<String>,
) -> Result<PodUsage, String> {
    Spec::read(spec, spec_path)?.judge(compose, sts_audiences)
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
        env: Vec<(&'v str, &'v str)>,
        mount: Option<(&'v str, &'v str)>,
    ) {
        let Some(c) = self
            .containers
            .iter_mut()
            .find(|c| c.who.kind.field() == field && c.index == index)
        else {
            return;
        };
        let role_related = env.into_iter().filter(|(name, _)| is_role_related(name));
        c.env.extend(role_related.map(|(name, value)| Env {
            name,
            source: Ok(EnvSource::Literal(value)),
        }));
        c.mounts.extend(mount);
    }

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
        let targets: BTreeMap<&str, &str> = self
            .containers
            .iter()
            .zip(&mounted)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod_text::PodText;
    use crate::settings::parse;
    use serde_json::json;

    /// The usage by the `Value` reader, checked against the text reader.
    fn usage(spec: Value) -> PodUsage {
        let settings = parse(&json!({"allowedRoles": {}})).unwrap();
        let audiences = settings.restriction.as_ref().unwrap().sts_audiences.clone();
        let read = collect(
            &spec,
            "spec",
            settings.compose_role_arn.as_ref(),
            &audiences,
        )
        .unwrap();
        let pod = json!({"spec": spec});
        for text in [pod.to_string(), serde_json::to_string_pretty(&pod).unwrap()] {
            let from_text = PodText::read_with_usage(&text)
                .and_then(|pod| pod.usage)
                .expect("the text reader reads every spec here");
            assert_eq!(from_text, Spec::read(&spec, "spec").unwrap());
            assert_eq!(
                from_text
                    .judge(settings.compose_role_arn.as_ref(), &audiences)
                    .unwrap(),
                read
            );
        }
        read
    }

    #[test]
    fn the_text_reader_gives_up_where_it_would_be_more_lenient() {
        let role = |entry: &str| format!(r#"{{"containers": [{{"env": [{entry}]}}]}}"#);
        for spec in [
            role(r#"{"name": "AWS_ROLE_ARN", "value": 5}"#),
            role(r#"{"name": "AWS_ROLE_ARN", "value": "a\"b"}"#),
            role(r#"{"name": "AWS_ROLE_ARN", "value": "a", "value": "b"}"#),
            role(r#"{"name": "A", "valueFrom": "x"}"#),
            r#"{"containers": [{"envFrom": [{"prefix": 1}]}]}"#.to_owned(),
            r#"{"containers": [{"envFrom": [{"secretRef": "s"}]}]}"#.to_owned(),
            r#"{"containers": [{"volumeMounts": [{"mountPath": ["x"]}]}]}"#.to_owned(),
            r#"{"ephemeralContainers": [{"targetContainerName": 1}]}"#.to_owned(),
            r#"{"ephemeralContainers": [], "ephemeralContainers": []}"#.to_owned(),
            r#"{"volumes": [{"name": "v", "projected": {"sources": [{"serviceAccountToken": {"audience": 1}}]}}]}"#.to_owned(),
            r#"{"volumes": [{"name": "v", "projected": {"sources": 1}}]}"#.to_owned(),
            r#"{"volumes": [{"name": "v", "secret": {}, "secret": null}]}"#.to_owned(),
            r#"{"os": {"name": "w\u0069ndows"}}"#.to_owned(),
            r#"{"os": "windows"}"#.to_owned(),
        ] {
            let text = format!(r#"{{"spec": {spec}}}"#);
            assert!(PodText::read_with_usage(&text).is_none(), "{spec}");
        }
        // Values the rules do not read may be anything, as for the
        // `Value` reader.
        let spec = json!({"os": {"name": 5}, "shareProcessNamespace": "yes",
            "containers": [{"env": [{"name": "OTHER", "value": 5},
                                    {"name": "JSON", "value": "{\"a\": 1}"}]}],
            "volumes": [{"name": "v", "projected": {"sources": [null]}}]});
        usage(spec);
    }

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";

    #[test]
    fn literal_roles_in_every_kind_of_container() {
        let u = usage(json!({
            "initContainers": [{"name": "init", "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}]}],
            "containers": [{"name": "app", "env": [{"name": "AWS_ROLE_ARN", "value": ROLE},
                                                   {"name": "AWS_ROLE_ARN", "value": "second"}]}],
            "ephemeralContainers": [{"name": "debug", "env": [{"name": "aws_role_arn", "value": ROLE}]}],
        }));
        let sources: Vec<String> = u.env_roles.iter().map(|r| r.source.to_string()).collect();
        assert_eq!(
            sources,
            [
                "env AWS_ROLE_ARN of init container \"init\"",
                "env AWS_ROLE_ARN of container \"app\"",
                "env AWS_ROLE_ARN of container \"app\"",
                "env AWS_ROLE_ARN of ephemeral container \"debug\""
            ]
        );
        assert!(u.env_roles[2].arn.is_err(), "duplicates are each checked");
    }

    #[test]
    fn empty_literals_are_no_role() {
        let u = usage(
            json!({"containers": [{"name": "a", "env": [{"name": "AWS_ROLE_ARN", "value": ""},
                                                                  {"name": "AWS_ROLE_ARN"}]}]}),
        );
        assert!(u.env_roles.is_empty());
    }

    #[test]
    fn value_from_is_unverifiable() {
        let u = usage(json!({"containers": [{"name": "a", "env": [
            {"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}));
        assert_eq!(
            u.unverifiable,
            [Unverifiable::ValueFrom {
                container: ContainerRef {
                    kind: ContainerKind::Regular,
                    name: "a".into()
                },
                variable: "AWS_ROLE_ARN".into(),
                from: "secretKeyRef".into()
            }]
        );
    }

    fn token_volume(name: &str, audience: &str) -> Value {
        json!({"name": name, "projected": {"sources": [{"configMap": {"name": "x"}},
               {"serviceAccountToken": {"audience": audience, "path": "t"}}]}})
    }

    #[test]
    fn sts_tokens_are_found_by_audience() {
        let u = usage(
            json!({"volumes": [token_volume("mine", "sts.amazonaws.com"), token_volume("other", "vault"),
                                         {"name": "plain", "emptyDir": {}}]}),
        );
        assert_eq!(
            u.sts_tokens,
            [StsToken {
                volume: "mine".into(),
                audience: "sts.amazonaws.com".into()
            }]
        );
    }

    #[test]
    fn env_from_matters_only_with_a_token_and_no_explicit_role() {
        let spec = |env: Value, mounts: Value, prefix: Option<&str>| {
            let mut env_from = json!({"configMapRef": {"name": "aws"}});
            if let Some(p) = prefix {
                env_from["prefix"] = json!(p);
            }
            json!({"volumes": [token_volume("tok", "sts.amazonaws.com")],
                   "containers": [{"name": "a", "env": env, "envFrom": [env_from], "volumeMounts": mounts}]})
        };
        let mount = json!([{"name": "tok", "mountPath": "/t"}]);
        let u = usage(spec(json!([]), mount.clone(), None));
        assert_eq!(
            u.unverifiable,
            [Unverifiable::EnvFrom {
                container: ContainerRef {
                    kind: ContainerKind::Regular,
                    name: "a".into()
                },
                from: "ConfigMap \"aws\"".into(),
                volume: "tok".into()
            }]
        );
        assert!(
            usage(spec(json!([]), json!([]), None))
                .unverifiable
                .is_empty(),
            "no token mounted"
        );
        let explicit = json!([{"name": "AWS_ROLE_ARN", "value": ROLE}]);
        assert!(
            usage(spec(explicit, mount.clone(), None))
                .unverifiable
                .is_empty(),
            "env overrides envFrom"
        );
        assert!(
            usage(spec(json!([]), mount.clone(), Some("APP_")))
                .unverifiable
                .is_empty()
        );
        assert_eq!(
            usage(spec(json!([]), mount, Some("AWS_")))
                .unverifiable
                .len(),
            1
        );
    }

    #[test]
    fn wrong_types_are_named() {
        let settings = parse(&json!({})).unwrap();
        let err = collect(
            &json!({"containers": [{"env": [{"name": 5}]}]}),
            "spec",
            settings.compose_role_arn.as_ref(),
            &BTreeSet::new(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "spec.containers[0].env[0].name must be a string, not a number"
        );
        let err = collect(
            &json!({"volumes": [{"projected": {"sources": "x"}}]}),
            "spec",
            settings.compose_role_arn.as_ref(),
            &BTreeSet::new(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "spec.volumes[0].projected.sources must be a list, not a string"
        );
    }

    fn with_token(mut spec: Value) -> Value {
        spec["volumes"] = json!([token_volume("tok", "sts.amazonaws.com")]);
        spec
    }

    fn kinds(u: &PodUsage) -> Vec<String> {
        u.unverifiable
            .iter()
            .map(|v| format!("{:?}", std::mem::discriminant(v)))
            .collect()
    }

    #[test]
    fn java_role_property_is_a_role_only_where_a_token_is() {
        let opts = "-Xmx1g -Daws.roleArn=arn:aws:iam::1:role/a '-Daws.roleArn=arn:aws:iam::111122223333:role/b' -Daws.roleArnX=y -Daws.roleArn";
        let spec = |mount: bool| {
            let mut c = json!({"name": "a", "env": [{"name": "java_tool_options", "value": opts}]});
            if mount {
                c["volumeMounts"] = json!([{"name": "tok", "mountPath": "/t"}]);
            }
            with_token(json!({"containers": [c]}))
        };
        let u = usage(spec(true));
        let values: Vec<&str> = u.env_roles.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(
            values,
            ["arn:aws:iam::1:role/a", "arn:aws:iam::111122223333:role/b"]
        );
        assert_eq!(
            u.env_roles[0].source.to_string(),
            "-Daws.roleArn in env java_tool_options of container \"a\""
        );
        assert!(usage(spec(false)).env_roles.is_empty(), "no token, no role");
    }

    #[test]
    fn java_options_from_files_and_sources_are_unverifiable() {
        for env in [
            json!({"name": "JDK_JAVA_OPTIONS", "value": "@/etc/jvm/args"}),
            json!({"name": "_JAVA_OPTIONS", "value": "-XX:Flags=/x"}),
            json!({"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "j", "key": "k"}}}),
            json!({"name": "AWS_CONFIG_FILE", "valueFrom": {"secretKeyRef": {"name": "j", "key": "k"}}}),
        ] {
            let spec = with_token(json!({"containers": [{"name": "a", "env": [env],
                "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
            assert_eq!(usage(spec).unverifiable.len(), 1, "{env}");
        }
    }

    #[test]
    fn config_files_count_inside_tenant_written_volumes_only() {
        let case = |path: &str, volume: Value| {
            let mut spec = json!({"containers": [{"name": "a",
                "env": [{"name": "AWS_CONFIG_FILE", "value": path}],
                "volumeMounts": [{"name": "tok", "mountPath": "/t"}, {"name": "cfg", "mountPath": "/etc/aws/"}]}]});
            let kind = volume.as_str().unwrap();
            let body = match kind {
                "projected" => json!({"sources": [{"configMap": {"name": "c"}}]}),
                "emptyDir" => json!({}),
                _ => json!({"name": "c"}),
            };
            spec["volumes"] = json!([token_volume("tok", "sts.amazonaws.com"),
                                     {"name": "cfg", kind: body}]);
            usage(spec).unverifiable.len()
        };
        for kind in ["configMap", "secret", "downwardAPI", "projected"] {
            assert_eq!(case("/etc/aws/config", json!(kind)), 1, "{kind}");
        }
        assert_eq!(case("/etc/./x/../aws//config", json!("secret")), 1);
        assert_eq!(
            case("relative/config", json!("secret")),
            1,
            "cannot be placed"
        );
        assert_eq!(case("/etc/awsx/config", json!("secret")), 0);
        assert_eq!(case("/etc/aws/config", json!("emptyDir")), 0);
    }

    #[test]
    fn token_access_through_shared_processes_and_debug_targets() {
        let secret_env = json!([{"secretRef": {"name": "s"}}]);
        let mounted = json!([{"name": "tok", "mountPath": "/t"}]);
        let spec = |shared: bool, target: Option<&str>| {
            let mut debug = json!({"name": "debug", "envFrom": secret_env});
            if let Some(t) = target {
                debug["targetContainerName"] = json!(t);
            }
            with_token(json!({"shareProcessNamespace": shared,
                "containers": [{"name": "app", "volumeMounts": mounted,
                                "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}]},
                               {"name": "plain"}],
                "ephemeralContainers": [debug]}))
        };
        assert!(usage(spec(false, None)).unverifiable.is_empty());
        assert!(usage(spec(false, Some("plain"))).unverifiable.is_empty());
        assert_eq!(kinds(&usage(spec(false, Some("app")))).len(), 1);
        assert_eq!(kinds(&usage(spec(true, None))).len(), 1);
    }

    #[test]
    fn windows_env_from_competes_with_an_explicit_role() {
        let spec = |os: Value| {
            with_token(json!({"os": os, "containers": [{"name": "a",
                "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}],
                "envFrom": [{"secretRef": {"name": "s"}}],
                "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}))
        };
        assert!(
            usage(spec(json!({"name": "linux"})))
                .unverifiable
                .is_empty()
        );
        assert_eq!(
            usage(spec(json!({"name": "windows"}))).unverifiable.len(),
            1
        );
    }

    #[test]
    fn env_from_prefix_equal_to_the_variable_cannot_set_it() {
        let spec = with_token(json!({"containers": [{"name": "a",
            "envFrom": [{"prefix": "AWS_ROLE_ARN", "secretRef": {"name": "s"}},
                        {"prefix": "AWS_ROLE_AR", "secretRef": {"name": "t"}}],
            "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
        let u = usage(spec);
        assert_eq!(u.unverifiable.len(), 1);
        assert!(format!("{:?}", u.unverifiable[0]).contains("Secret \\\"t\\\""));
    }
}
