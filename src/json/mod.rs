//! Reading Kubernetes objects as plain JSON, with errors that name the field.
//!
//! The policy never deserialises a Pod into typed structs: what it does not
//! read, it does not touch, so unknown and future fields survive as sent.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use std::fmt;

use crate::names::{SHOWN_CHARS, Shown};

pub(crate) mod error_path;
pub(crate) use error_path::error_path;

/// A field path such as `spec.containers[2].env`, for error messages.
/// Building one costs nothing; it is only turned into text when an error
/// is reported (formatting paths eagerly dominated the cost of a check).
#[derive(Clone, Copy)]
pub struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// A path starting at `name` (which may itself be dotted: `spec.template`).
    pub const fn root(name: &'a str) -> FieldPath<'a> {
        FieldPath {
            parent: None,
            step: Step::Name(name),
        }
    }

    pub fn field(&'a self, name: &'a str) -> FieldPath<'a> {
        FieldPath {
            parent: Some(self),
            step: Step::Name(name),
        }
    }

    pub fn index(&'a self, index: usize) -> FieldPath<'a> {
        FieldPath {
            parent: Some(self),
            step: Step::Index(index),
        }
    }

    /// Prefixes an error from a getter called on this path's value.
    pub fn within(&self, error: String) -> String {
        format!("{self}.{error}")
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
            match self.step {
                Step::Name(name) => write!(f, ".{name}"),
                Step::Index(i) => write!(f, "[{i}]"),
            }
        } else {
            match self.step {
                Step::Name(name) => f.write_str(name),
                Step::Index(i) => write!(f, "[{i}]"),
            }
        }
    }
}

impl FieldPath<'_> {
    /// The path for a message about a value a tenant wrote anywhere in an
    /// object: `spec.provider.aws.role`, `metadata.annotations["a/b"]`.
    /// Bounded whatever the object: a name is cut short ([`Shown`]) and
    /// only the first and last steps of a deep path are shown.
    pub fn shown(&self) -> String {
        const HEAD: usize = 3;
        const TAIL: usize = 5;
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(path) = at {
            steps.push(path.step);
            at = path.parent;
        }
        steps.reverse();
        let mut out = String::new();
        let skipped = steps.len().saturating_sub(HEAD + TAIL);
        for (i, step) in steps.iter().enumerate() {
            if skipped > 0 && (HEAD..HEAD + skipped).contains(&i) {
                if i == HEAD {
                    out.push_str(".…");
                }
                continue;
            }
            match step {
                Step::Name(name) if is_plain_name(name) => {
                    if i > 0 {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Name(name) => out.push_str(&format!("[{}]", Shown(name))),
                Step::Index(index) => out.push_str(&format!("[{index}]")),
            }
        }
        out
    }
}

/// A name shown after a dot in [`FieldPath::shown`]; others are quoted.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= SHOWN_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

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

/// The value at `path`, `None` if absent or `null`, an error naming the
/// field if something on the way is not an object.
pub fn lookup<'a>(value: &'a Value, path: &[&str]) -> Result<Option<&'a Value>, String> {
    let mut current = value;
    for (depth, key) in path.iter().enumerate() {
        match current {
            Value::Object(map) => match map.get(*key) {
                Some(v) if !v.is_null() => current = v,
                _ => return Ok(None),
            },
            Value::Null => return Ok(None),
            other => {
                let parent = path.get(..depth).map(dotted).unwrap_or_default();
                let parent = if parent.is_empty() {
                    "the object".to_owned()
                } else {
                    parent
                };
                return Err(type_error(&parent, "an object", other));
            }
        }
    }
    Ok(Some(current))
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
    match lookup(value, path)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(type_error(&dotted(path), "a string", other)),
    }
}

/// The list at `path`, `None` if absent or null, an error for other types.
pub fn array_at<'a>(value: &'a Value, path: &[&str]) -> Result<Option<&'a Vec<Value>>, String> {
    match lookup(value, path)? {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(type_error(&dotted(path), "a list", other)),
    }
}

/// The string `key` of a list item at `item_path` (e.g. `spec.volumes[0]`),
/// checking that the item is an object first.
pub fn item_str<'a>(
    item: &'a Value,
    item_path: &FieldPath<'_>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    if !item.is_object() {
        return Err(type_error(&item_path.to_string(), "an object", item));
    }
    str_at(item, &[key]).map_err(|e| item_path.within(e))
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

/// `request.<field>` parsed; `Null` when absent. The payload parse only
/// checked its syntax, so a lone surrogate or deep nesting surfaces here,
/// named by its path like any malformed payload.
pub fn parse_raw(raw: Option<&RawValue>, field: &str) -> Result<Value, String> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let text = raw.get().as_bytes();
    serde_json::from_slice(text).map_err(|e| match error_path(text, &e).as_deref() {
        None | Some(".") => format!("malformed admission request at request.{field}: {e}"),
        Some(path) => format!("malformed admission request at request.{field}.{path}: {e}"),
    })
}

/// Reads one entry of a map checked by [`string_map_at`].
pub fn map_str<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    map.and_then(|m| m.get(key)).and_then(Value::as_str)
}

#[cfg(test)]
pub(crate) mod tests;
