//! Reading Kubernetes objects as plain JSON, with errors that name the field.
//!
//! The policy never deserialises a Pod into typed structs: what it does not
//! read, it does not touch, so unknown and future fields survive as sent.

use serde_json::{Map, Value};

/// A JSON type mismatch at a dotted path, e.g. `spec.containers[2].env`.
pub fn type_error(path: &str, expected: &str, found: &Value) -> String {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    format!("{path} must be {expected}, not {found}")
}

fn child<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|m| m.get(key))
}

/// The value at `path` (object keys only); `None` if absent or `null`.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| child(v, key))
        .filter(|v| !v.is_null())
}

/// Joins a path for messages: `["spec", "volumes"]` -> `spec.volumes`.
pub fn dotted(path: &[&str]) -> String {
    path.join(".")
}

/// The object at `path`, `None` if absent or null, an error for other types.
pub fn object_at<'a>(
    value: &'a Value,
    path: &[&str],
) -> Result<Option<&'a Map<String, Value>>, String> {
    match at(value, path) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(type_error(&dotted(path), "an object", other)),
    }
}

/// The string at `path`, `None` if absent or null, an error for other types.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Result<Option<&'a str>, String> {
    match at(value, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(type_error(&dotted(path), "a string", other)),
    }
}

/// The list at `path`, `None` if absent or null, an error for other types.
pub fn array_at<'a>(value: &'a Value, path: &[&str]) -> Result<Option<&'a Vec<Value>>, String> {
    match at(value, path) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(type_error(&dotted(path), "a list", other)),
    }
}

/// A string-to-string map such as `metadata.annotations`, checked entry by
/// entry so one bad value is reported by its key.
pub fn string_map_at<'a>(
    value: &'a Value,
    path: &[&str],
) -> Result<Option<&'a Map<String, Value>>, String> {
    let Some(map) = object_at(value, path)? else {
        return Ok(None);
    };
    for (key, v) in map {
        if !v.is_string() {
            return Err(type_error(
                &format!("{}[{key:?}]", dotted(path)),
                "a string",
                v,
            ));
        }
    }
    Ok(Some(map))
}

/// Reads one entry of a map checked by [`string_map_at`].
pub fn map_str<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    map.and_then(|m| m.get(key)).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_tell_absent_from_mistyped() {
        let v = json!({"spec": {"a": "x", "n": null, "num": 1, "list": [], "obj": {}}});
        assert_eq!(str_at(&v, &["spec", "a"]), Ok(Some("x")));
        assert_eq!(str_at(&v, &["spec", "missing"]), Ok(None));
        assert_eq!(str_at(&v, &["spec", "n"]), Ok(None));
        assert_eq!(str_at(&v, &["spec", "a", "deeper"]), Ok(None));
        assert_eq!(
            str_at(&v, &["spec", "num"]),
            Err("spec.num must be a string, not a number".to_owned())
        );
        assert!(array_at(&v, &["spec", "list"]).unwrap().is_some());
        assert_eq!(
            array_at(&v, &["spec", "obj"]),
            Err("spec.obj must be a list, not an object".to_owned())
        );
        assert_eq!(
            object_at(&v, &["spec", "list"]),
            Err("spec.list must be an object, not a list".to_owned())
        );
    }

    #[test]
    fn string_maps_name_the_bad_key() {
        let v = json!({"metadata": {"annotations": {"ok": "x", "bad": 5}}});
        assert_eq!(
            string_map_at(&v, &["metadata", "annotations"]),
            Err("metadata.annotations[\"bad\"] must be a string, not a number".to_owned())
        );
        let v = json!({"metadata": {"annotations": {"ok": "x"}}});
        let m = string_map_at(&v, &["metadata", "annotations"]).unwrap();
        assert_eq!(map_str(m, "ok"), Some("x"));
        assert_eq!(map_str(m, "nope"), None);
        assert_eq!(map_str(None, "ok"), None);
    }
}
