//! [`Spec::read`]: the reference reader, from a parsed `Value`. Every wrong
//! type it meets is an error that names the field.

use std::borrow::Cow;

use serde_json::Value;

use super::{Container, DOWNWARD_API_ANNOTATION, Env, EnvFrom, EnvSource, Files, Spec, Volume};
use crate::json::{self, FieldPath};
use crate::pod;
use crate::role::{ContainerKind, ContainerRef};

impl<'v> Spec<'v> {
    /// Reads `spec` (a PodSpec). `spec_path` prefixes field names in errors.
    pub fn read(spec: &'v Value, spec_path: &str) -> Result<Self, String> {
        let root = FieldPath::root(spec_path);
        let volumes = read_volumes(spec, &root)?;
        let windows = pod::runs_windows(spec)?;
        let shared_processes = json::lookup(spec, &["shareProcessNamespace"])
            .map_err(|e| root.within(e))?
            == Some(&Value::Bool(true));

        let mut read = Vec::new();
        for kind in ContainerKind::ALL {
            let Some(list) = json::array_at(spec, &[kind.field()]).map_err(|e| root.within(e))?
            else {
                continue;
            };
            let list_path = root.field(kind.field());
            for (i, c) in list.iter().enumerate() {
                read.push((c, read_container(c, &list_path.index(i), kind, i)?));
            }
        }
        let mut containers = Vec::with_capacity(read.len());
        for (value, mut c) in read {
            let list_path = root.field(c.who.kind.field());
            let path = list_path.index(c.index);
            c.env = read_env(value, &path)?;
            c.env_from = read_env_from(value, &path)?;
            containers.push(c);
        }
        Ok(Spec {
            volumes,
            windows,
            shared_processes,
            containers,
        })
    }
}

/// Every volume with its projected token audiences and the kinds of file
/// a tenant writes into it.
fn read_volumes<'v>(spec: &'v Value, root: &FieldPath<'_>) -> Result<Vec<Volume<'v>>, String> {
    let Some(list) = json::array_at(spec, &["volumes"]).map_err(|e| root.within(e))? else {
        return Ok(Vec::new());
    };
    let volumes_path = root.field("volumes");
    let mut volumes = Vec::with_capacity(list.len());
    for (i, volume) in list.iter().enumerate() {
        let path = volumes_path.index(i);
        let name = json::item_str(volume, &path, "name")?;
        let mut files = Files::default();
        for (key, value) in volume.as_object().into_iter().flatten() {
            if !value.is_null() {
                files.add(key, false, config_map_name(value));
                files.annotation |= key == "downwardAPI" && selects_annotation(value);
            }
        }
        let sources =
            json::array_at(volume, &["projected", "sources"]).map_err(|e| path.within(e))?;
        let mut audiences = Vec::new();
        for (j, source) in sources.into_iter().flatten().enumerate() {
            let audience = json::str_at(source, &["serviceAccountToken", "audience"])
                .map_err(|e| format!("{path}.projected.sources[{j}].{e}"))?;
            audiences.extend(audience);
            for (key, value) in source.as_object().into_iter().flatten() {
                if !value.is_null() {
                    files.add(key, true, config_map_name(value));
                    files.annotation |= key == "downwardAPI" && selects_annotation(value);
                }
            }
        }
        volumes.push(Volume {
            name,
            audiences,
            files,
        });
    }
    Ok(volumes)
}

/// Commands kubelet runs in a container besides its own, with its env:
/// lifecycle hooks and exec probes. The one-pass reader leaves a container
/// with any of them to this reader ([`super::text`]).
const EXEC_COMMANDS: [&[&str]; 5] = [
    &["lifecycle", "postStart", "exec", "command"],
    &["lifecycle", "preStop", "exec", "command"],
    &["livenessProbe", "exec", "command"],
    &["readinessProbe", "exec", "command"],
    &["startupProbe", "exec", "command"],
];

/// Whether a downward API source names [`DOWNWARD_API_ANNOTATION`] in any
/// key or string, as the one-pass reader asks of its text.
fn selects_annotation(source: &Value) -> bool {
    match source {
        Value::String(s) => s.contains(DOWNWARD_API_ANNOTATION),
        Value::Array(items) => items.iter().any(selects_annotation),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(DOWNWARD_API_ANNOTATION) || selects_annotation(v)),
        _ => false,
    }
}

/// The `name` a volume source refers to, if it has one.
fn config_map_name(source: &Value) -> Option<&str> {
    source.get("name").and_then(Value::as_str)
}

/// A container's name, mounts and debug target; env is read later.
fn read_container<'v>(
    c: &'v Value,
    path: &FieldPath<'_>,
    kind: ContainerKind,
    index: usize,
) -> Result<Container<'v>, String> {
    let name = json::item_str(c, path, "name")?.unwrap_or_default();
    let mut mounts = Vec::new();
    if let Some(list) = json::array_at(c, &["volumeMounts"]).map_err(|e| path.within(e))? {
        let mounts_path = path.field("volumeMounts");
        for (j, m) in list.iter().enumerate() {
            let at = mounts_path.index(j);
            let name = json::item_str(m, &at, "name")?.unwrap_or_default();
            let mount_path = json::item_str(m, &at, "mountPath")?.unwrap_or_default();
            mounts.push((name, mount_path));
        }
    }
    let target = json::item_str(c, path, "targetContainerName")?.filter(|t| !t.is_empty());
    let words = |field: &[&str]| -> Result<Vec<Cow<'v, str>>, String> {
        let Some(list) = json::array_at(c, field).map_err(|e| path.within(e))? else {
            return Ok(Vec::new());
        };
        list.iter()
            .enumerate()
            .map(|(j, word)| match word {
                Value::String(word) => Ok(Cow::Borrowed(word.as_str())),
                other => Err(json::type_error(
                    &format!("{path}.{}[{j}]", json::dotted(field)),
                    "a string",
                    other,
                )),
            })
            .collect()
    };
    let (command, args) = (words(&["command"])?, words(&["args"])?);
    let mut exec = Vec::new();
    for hook in EXEC_COMMANDS {
        exec.extend(words(hook)?);
    }
    Ok(Container {
        who: ContainerRef {
            kind,
            name: name.into(),
        },
        index,
        mounts,
        target,
        env: Vec::new(),
        env_from: Vec::new(),
        command,
        args,
        exec,
    })
}

fn read_env<'v>(c: &'v Value, path: &FieldPath<'_>) -> Result<Vec<Env<'v>>, String> {
    let Some(list) = json::array_at(c, &["env"]).map_err(|e| path.within(e))? else {
        return Ok(Vec::new());
    };
    let env_path = path.field("env");
    let mut env = Vec::new();
    for (j, entry) in list.iter().enumerate() {
        let entry_path = env_path.index(j);
        let Some(name) = json::item_str(entry, &entry_path, "name")? else {
            continue;
        };
        let source = match json::object_at(entry, &["valueFrom"]) {
            Ok(Some(from)) => Ok(EnvSource::From(
                from.keys().next().map_or("valueFrom", String::as_str),
            )),
            Ok(None) => json::str_at(entry, &["value"])
                .map(|value| EnvSource::Literal(Cow::Borrowed(value.unwrap_or_default()))),
            Err(e) => Err(e),
        };
        env.push(Env {
            name,
            source: source.map_err(|e| entry_path.within(e)),
        });
    }
    Ok(env)
}

/// `envFrom` entries, with their prefix and source.
fn read_env_from<'v>(c: &'v Value, path: &FieldPath<'_>) -> Result<Vec<EnvFrom<'v>>, String> {
    let Some(sources) = json::array_at(c, &["envFrom"]).map_err(|e| path.within(e))? else {
        return Ok(Vec::new());
    };
    let sources_path = path.field("envFrom");
    let mut found = Vec::new();
    for (j, source) in sources.iter().enumerate() {
        let entry_path = sources_path.index(j);
        let prefix = json::item_str(source, &entry_path, "prefix")?.unwrap_or_default();
        let reference = |kind: &'static str, field: &str| {
            let name = json::str_at(source, &[field, "name"]).map_err(|e| entry_path.within(e))?;
            Ok::<_, String>(json::at(source, &[field]).map(|_| (kind, name.unwrap_or_default())))
        };
        let config_map = reference("ConfigMap", "configMapRef")?;
        let secret = reference("Secret", "secretRef")?;
        found.push(EnvFrom {
            prefix,
            source: config_map.or(secret),
        });
    }
    Ok(found)
}
