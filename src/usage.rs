//! Which IAM roles a Pod (or Pod template) uses by itself, beyond its
//! ServiceAccount: literal `AWS_ROLE_ARN` values, role sources the policy
//! cannot read, and STS-audience tokens it mounts on its own.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::constants::ENV_ROLE_ARN;
use crate::identity::{ContainerKind, ContainerRef, Role, RoleSource};
use crate::json::{self, FieldPath};
use crate::settings::Settings;

/// A way to pick a role that cannot be checked against the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unverifiable {
    /// `AWS_ROLE_ARN` set from a ConfigMap, Secret or field reference.
    ValueFrom {
        container: ContainerRef,
        from: String,
    },
    /// `envFrom` that could set `AWS_ROLE_ARN`, in a container that mounts
    /// an STS-audience token and sets no `AWS_ROLE_ARN` of its own.
    EnvFrom {
        container: ContainerRef,
        from: String,
        volume: String,
    },
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

/// Reads `spec` (a PodSpec). `spec_path` prefixes field names in errors.
pub fn collect(
    spec: &Value,
    spec_path: &str,
    settings: &Settings,
    sts_audiences: &BTreeSet<String>,
) -> Result<PodUsage, String> {
    let mut usage = PodUsage::default();
    let root = FieldPath::root(spec_path);

    let tokens = sts_tokens(spec, &root, sts_audiences)?;
    let token_volumes: BTreeSet<&str> = tokens.iter().map(|t| t.volume.as_str()).collect();

    for kind in ContainerKind::ALL {
        let Some(containers) = json::array_at(spec, &[kind.field()]).map_err(|e| root.within(e))?
        else {
            continue;
        };
        let list_path = root.field(kind.field());
        for (i, c) in containers.iter().enumerate() {
            let path = list_path.index(i);
            let name = json::item_str(c, &path, "name")?.unwrap_or_default();
            let who = || ContainerRef {
                kind,
                name: name.to_owned(),
            };
            let sets_role = container_env(c, &path, &who, settings, &mut usage)?;
            let mounted_token = mounted_token(c, &path, &token_volumes)?;
            let env_from = env_from_sources(c, &path)?;
            if let (false, Some(volume)) = (sets_role, mounted_token) {
                for from in env_from {
                    usage.unverifiable.push(Unverifiable::EnvFrom {
                        container: who(),
                        from,
                        volume: volume.to_owned(),
                    });
                }
            }
        }
    }
    usage.sts_tokens = tokens;
    Ok(usage)
}

/// Records the container's `AWS_ROLE_ARN` entries; says whether it sets
/// `AWS_ROLE_ARN` explicitly (which overrides anything from `envFrom`).
fn container_env(
    container: &Value,
    path: &FieldPath<'_>,
    who: &dyn Fn() -> ContainerRef,
    settings: &Settings,
    usage: &mut PodUsage,
) -> Result<bool, String> {
    let Some(env) = json::array_at(container, &["env"]).map_err(|e| path.within(e))? else {
        return Ok(false);
    };
    let env_path = path.field("env");
    let mut sets_role = false;
    for (j, entry) in env.iter().enumerate() {
        let entry_path = env_path.index(j);
        let name = json::item_str(entry, &entry_path, "name")?;
        // Windows environment names ignore case, so `aws_role_arn` counts.
        if !name.is_some_and(|n| n.eq_ignore_ascii_case(ENV_ROLE_ARN)) {
            continue;
        }
        sets_role |= name == Some(ENV_ROLE_ARN);
        if let Some(from) =
            json::object_at(entry, &["valueFrom"]).map_err(|e| entry_path.within(e))?
        {
            let source = from
                .keys()
                .next()
                .cloned()
                .unwrap_or_else(|| "valueFrom".to_owned());
            usage.unverifiable.push(Unverifiable::ValueFrom {
                container: who(),
                from: source,
            });
            continue;
        }
        let value = json::str_at(entry, &["value"]).map_err(|e| entry_path.within(e))?;
        // An empty value is no role: the SDKs treat it as unset.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            usage.env_roles.push(Role::new(
                value,
                settings,
                RoleSource::Env { container: who() },
            ));
        }
    }
    Ok(sets_role)
}

/// The first STS token volume the container mounts, if any.
fn mounted_token<'v>(
    container: &Value,
    path: &FieldPath<'_>,
    token_volumes: &BTreeSet<&'v str>,
) -> Result<Option<&'v str>, String> {
    let Some(mounts) = json::array_at(container, &["volumeMounts"]).map_err(|e| path.within(e))?
    else {
        return Ok(None);
    };
    let mounts_path = path.field("volumeMounts");
    let mut found = None;
    for (j, m) in mounts.iter().enumerate() {
        let name = json::item_str(m, &mounts_path.index(j), "name")?;
        if found.is_none() {
            found = name.and_then(|n| token_volumes.get(n).copied());
        }
    }
    Ok(found)
}

/// `envFrom` entries that could define `AWS_ROLE_ARN`: any whose `prefix`
/// is empty or a prefix of it.
fn env_from_sources(container: &Value, path: &FieldPath<'_>) -> Result<Vec<String>, String> {
    let Some(sources) = json::array_at(container, &["envFrom"]).map_err(|e| path.within(e))? else {
        return Ok(Vec::new());
    };
    let sources_path = path.field("envFrom");
    let mut found = Vec::new();
    for (j, source) in sources.iter().enumerate() {
        let entry_path = sources_path.index(j);
        let prefix = json::item_str(source, &entry_path, "prefix")?;
        let prefix = prefix.unwrap_or("").to_ascii_uppercase();
        if !ENV_ROLE_ARN.starts_with(&prefix) {
            continue;
        }
        let describe = |kind: &str, field: &str| -> Result<Option<String>, String> {
            let name = json::str_at(source, &[field, "name"]).map_err(|e| entry_path.within(e))?;
            Ok(
                json::at(source, &[field])
                    .map(|_| format!("{kind} {:?}", name.unwrap_or_default())),
            )
        };
        let from = describe("ConfigMap", "configMapRef")?
            .or(describe("Secret", "secretRef")?)
            .unwrap_or_else(|| "envFrom".to_owned());
        found.push(from);
    }
    Ok(found)
}

/// Projected ServiceAccount token volumes with an STS audience.
fn sts_tokens(
    spec: &Value,
    root: &FieldPath<'_>,
    sts_audiences: &BTreeSet<String>,
) -> Result<Vec<StsToken>, String> {
    let Some(volumes) = json::array_at(spec, &["volumes"]).map_err(|e| root.within(e))? else {
        return Ok(Vec::new());
    };
    let volumes_path = root.field("volumes");
    let mut tokens = Vec::new();
    for (i, volume) in volumes.iter().enumerate() {
        let path = volumes_path.index(i);
        let name = json::item_str(volume, &path, "name")?;
        let sources =
            json::array_at(volume, &["projected", "sources"]).map_err(|e| path.within(e))?;
        for (j, source) in sources.into_iter().flatten().enumerate() {
            let audience = json::str_at(source, &["serviceAccountToken", "audience"])
                .map_err(|e| format!("{path}.projected.sources[{j}].{e}"))?;
            if let Some(audience) = audience.filter(|a| sts_audiences.contains(*a)) {
                tokens.push(StsToken {
                    volume: name.unwrap_or_default().to_owned(),
                    audience: audience.to_owned(),
                });
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse;
    use serde_json::json;

    fn usage(spec: Value) -> PodUsage {
        let settings = parse(&json!({"allowedRoles": {}})).unwrap();
        let audiences = settings.restriction.as_ref().unwrap().sts_audiences.clone();
        collect(&spec, "spec", &settings, &audiences).unwrap()
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
            &settings,
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
            &settings,
            &BTreeSet::new(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "spec.volumes[0].projected.sources must be a list, not a string"
        );
    }
}
