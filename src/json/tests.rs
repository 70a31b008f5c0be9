//! The JSON helpers' tests, and the oracle for `error_path`: its field
//! names must be `serde_path_to_error`'s wherever both name one.

use serde::Deserialize;
use serde_json::json;

use super::*;

#[test]
fn getters_tell_absent_from_mistyped() {
    let v = json!({"spec": {"a": "x", "n": null, "num": 1, "list": [], "obj": {}}});
    assert_eq!(str_at(&v, &["spec", "a"]), Ok(Some("x")));
    assert_eq!(str_at(&v, &["spec", "missing"]), Ok(None));
    assert_eq!(str_at(&v, &["spec", "n"]), Ok(None));
    assert_eq!(
        str_at(&v, &["spec", "a", "deeper"]),
        Err("spec.a must be an object, not a string".to_owned())
    );
    assert_eq!(
        str_at(&json!({"metadata": "x"}), &["metadata", "name"]),
        Err("metadata must be an object, not a string".to_owned())
    );
    assert_eq!(
        str_at(&json!([1]), &["metadata"]),
        Err("the object must be an object, not a list".to_owned())
    );
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
fn list_items_are_checked_before_their_fields() {
    let v = FieldPath::root("v");
    let p = v.index(0);
    assert_eq!(item_str(&json!({"name": "x"}), &p, "name"), Ok(Some("x")));
    assert_eq!(item_str(&json!({}), &p, "name"), Ok(None));
    assert_eq!(
        item_str(&json!(5), &p, "name"),
        Err("v[0] must be an object, not a number".to_owned())
    );
    assert_eq!(
        item_str(&json!({"name": 5}), &p, "name"),
        Err("v[0].name must be a string, not a number".to_owned())
    );
}

#[test]
fn field_paths_print_like_kubectl_explain() {
    let spec = FieldPath::root("spec.template.spec");
    let containers = spec.field("containers");
    let second = containers.index(1);
    let env = second.field("env");
    assert_eq!(
        env.index(3).to_string(),
        "spec.template.spec.containers[1].env[3]"
    );
    assert_eq!(
        second.within("name must be a string".into()),
        "spec.template.spec.containers[1].name must be a string"
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

// The differential test's oracle and its mutants, shared by the readers
// that name fields this way (settings, the payload, `request.object`).

/// Mutants of `doc`: every value replaced by each type, every key
/// dropped, an unknown key in every object, numbers and strings JSON
/// cannot hold, and every byte of the pretty text deleted or preceded
/// by a stray character.
pub fn mutants(doc: &Value) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pointers = Vec::new();
    pointers_of(doc, String::new(), &mut pointers);
    let replacements = [
        "1",
        "-1.5",
        "\"x\"",
        "true",
        "null",
        "[]",
        "{}",
        "[1]",
        "{\"zz\":1}",
        "1e400",
        "\"\\ud800\"",
        "\"\\q\"",
        "tru",
    ];
    for pointer in &pointers {
        for with in replacements {
            let mut v = doc.clone();
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = Value::String("\u{1}MARK".into());
            }
            for text in [v.to_string(), pretty(&v)] {
                out.push(text.replace("\"\\u0001MARK\"", with).into_bytes());
            }
        }
        let mut v = doc.clone();
        if let Some(Value::Object(map)) = v.pointer_mut(pointer) {
            map.insert("unknownKey".into(), Value::from(1));
            let keys: Vec<String> = map.keys().filter(|k| *k != "unknownKey").cloned().collect();
            out.push(v.to_string().into_bytes());
            for key in keys {
                let mut w = doc.clone();
                if let Some(Value::Object(m)) = w.pointer_mut(pointer) {
                    m.remove(&key);
                }
                out.push(w.to_string().into_bytes());
                let escaped = pretty(doc).replacen(
                    &format!("\"{key}\":"),
                    &format!("\"\\u{:04x}{}\" :", key.as_bytes()[0], &key[1..]),
                    1,
                );
                out.push(escaped.into_bytes());
            }
        }
    }
    let text = pretty(doc).into_bytes();
    for i in 0..=text.len() {
        out.push(text[..i].to_vec());
        if i < text.len() {
            out.push([&text[..i], &text[i + 1..]].concat());
        }
        for stray in [
            b"\"".as_slice(),
            b",",
            b"}",
            b"]",
            b"{",
            b"[",
            b"1",
            b"x",
            b":",
            b"\\",
        ] {
            out.push([&text[..i], stray, &text[i..]].concat());
        }
    }
    out
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn pointers_of(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                pointers_of(
                    child,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers_of(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Parses `doc` as `T` both ways; when it fails, our path must be
/// `serde_path_to_error`'s wherever we give one, and we must give one
/// for every error about data. Returns whether a path was compared.
pub fn agrees<'de, T: Deserialize<'de>>(doc: &'de [u8]) -> bool {
    let Err(plain) = serde_json::from_slice::<T>(doc) else {
        return false;
    };
    let mut de = serde_json::Deserializer::from_slice(doc);
    let oracle = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e,
        // Trailing text: found by `end`, outside any field.
        Ok(_) => {
            assert_eq!(
                error_path(doc, &plain),
                None,
                "{}",
                String::from_utf8_lossy(doc)
            );
            return false;
        }
    };
    let shown = String::from_utf8_lossy(doc);
    assert_eq!(plain.to_string(), oracle.inner().to_string(), "{shown}");
    let ours = error_path(doc, &plain);
    if plain.is_data() {
        assert!(
            ours.is_some(),
            "no path for a data error: {plain} in {shown}"
        );
    }
    match ours {
        // serde_path_to_error stops at a value read whole (a
        // `RawValue`, an ignored field, an enum written as an object)
        // and names a duplicate key's object; the walk names the field
        // within.
        Some(path) if plain.is_syntax() || names_the_holder(&plain) => {
            let outer = oracle.path().to_string();
            let within = outer == "."
                || path == outer
                || path.starts_with(&format!("{outer}."))
                || path.starts_with(&format!("{outer}["));
            assert!(within, "{path} is not in {outer}: {plain} in {shown}");
            true
        }
        Some(path) => {
            assert_eq!(path, oracle.path().to_string(), "{plain} in {shown}");
            true
        }
        None => false,
    }
}

fn names_the_holder(e: &serde_json::Error) -> bool {
    let text = e.to_string();
    text.starts_with("unknown variant") || text.starts_with("duplicate field")
}
