//! Inputs shared by the criterion benchmarks (`benches/core.rs`).

use serde_json::{Value, json};

pub const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";

/// A Pod in team-a with `containers` containers of `env` env vars each.
pub fn pod(containers: usize, env: usize) -> Value {
    let containers: Vec<Value> = (0..containers)
        .map(|i| {
            let env: Vec<Value> = (0..env)
                .map(|j| json!({"name": format!("VAR_{j}"), "value": format!("value-{j}")}))
                .collect();
            json!({"name": format!("c{i}"), "image": "app:1", "env": env,
                   "volumeMounts": [{"name": "data", "mountPath": "/data"}]})
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team-a"},
           "spec": {"serviceAccountName": "app", "containers": containers,
                    "volumes": [{"name": "data", "emptyDir": {}}]}})
}

/// `namespaces` keys of `patterns` role patterns each; team-a matches one key.
pub fn allowed_roles(namespaces: usize, patterns: usize) -> Value {
    let mut map = serde_json::Map::new();
    for n in 0..namespaces {
        let key = if n == 0 {
            "team-a".to_owned()
        } else {
            format!("team-{n}")
        };
        let list: Vec<Value> = (0..patterns)
            .map(|p| json!(format!("arn:aws:iam::111122223333:role/{key}-app-{p}-*")))
            .collect();
        map.insert(key, Value::Array(list));
    }
    map.entry("team-a").and_modify(|v| {
        if let Value::Array(list) = v {
            list.push(json!("arn:aws:iam::111122223333:role/s3-*"));
        }
    });
    Value::Object(map)
}

/// A `validate` payload for `pod` with `settings`.
pub fn payload(pod: &Value, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "request": {"uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "team-a", "operation": "CREATE", "object": pod},
        "settings": settings,
    }))
    .unwrap_or_default()
}

/// The ServiceAccount lookup, answered with a role.
pub fn service_account() -> Value {
    json!({"metadata": {"name": "app", "namespace": "team-a",
                        "annotations": {"eks.amazonaws.com/role-arn": ROLE}}})
}
