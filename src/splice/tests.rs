//! The scanner and the splicer.

use super::*;

fn at(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// The spans of the members of the top-level object, in order.
fn members(text: &str) -> Option<Vec<(String, String)>> {
    let mut found = Vec::new();
    Scanner::new(text).object(|key, s| {
        let span = s.value()?;
        found.push((
            String::from_utf8(key.to_vec()).unwrap(),
            at(text, span).to_owned(),
        ));
        Some(())
    })?;
    Some(found)
}

#[test]
fn walks_members_through_whitespace_strings_and_nesting() {
    let text = " { \"a\" : [ 1 , \"x]}\\\"\" , {\"b\":[]} ] ,\n\"c\":null, \"d\": -1.50 } ";
    assert_eq!(
        members(text).unwrap(),
        [
            ("a".into(), "[ 1 , \"x]}\\\"\" , {\"b\":[]} ]".into()),
            ("c".into(), "null".into()),
            ("d".into(), "-1.50".into())
        ]
    );
    let mut items = Vec::new();
    let mut s = Scanner::new("[1, {}, \"s\", []]");
    let span = s.array(|s| s.value().map(|v| items.push(v))).unwrap();
    assert_eq!((span.start, span.end, items.len()), (0, 16, 4));
    assert_eq!(members("{}").unwrap(), []);
}

#[test]
fn gives_up_where_parsing_into_a_value_would_fail() {
    let nested = |n: usize| format!("{{\"a\": {}1{}}}", "[".repeat(n), "]".repeat(n));
    // (text, scanned): whatever is scanned must also parse; some that
    // parse (a surrogate pair, 101 levels) are left to the parsed path.
    for (text, scanned) in [
        (r#"{"a": "\ud800"}"#.to_owned(), false),
        (r#"{"a": "\uD83D\uDE00"}"#.to_owned(), false),
        (r#"{"a": "\u00e9\n"}"#.to_owned(), true),
        (r#"{"a": 1e400}"#.to_owned(), false),
        (r#"{"a": -1E+309}"#.to_owned(), false),
        (r#"{"a": 1e-400}"#.to_owned(), false),
        (r#"{"a": [{"b": [true, 1e400]}]}"#.to_owned(), false),
        (
            r#"{"a": [{"b": [true, -12, 3.5, false, null]}]}"#.to_owned(),
            true,
        ),
        (format!(r#"{{"a": 1{}}}"#, "0".repeat(400)), false),
        (
            r#"{"a": -12345678901234567890123.5, "b": 0}"#.to_owned(),
            true,
        ),
        (nested(130), false),
        (nested(101), false),
        (nested(100), true),
    ] {
        let parses = serde_json::from_str::<serde_json::Value>(&text).is_ok();
        assert!(!scanned || parses, "{text}");
        assert_eq!(members(&text).is_some(), scanned, "{text}");
    }
    assert!(serde_json::from_str::<serde_json::Value>(&nested(130)).is_err());
}

#[test]
fn escaped_keys_and_text_that_does_not_fit_give_up_without_panicking() {
    assert_eq!(members(r#"{"\u0061": 1}"#), None);
    for text in [
        "{\"a\": [1, 2",
        "{\"a\"",
        "{\"a\": \"x",
        "{",
        "",
        "{\"a\" 1}",
        "{\"a\":1 2}",
        "[1]",
    ] {
        assert_eq!(members(text), None, "{text}");
    }
}

#[test]
fn edits_keep_everything_else_byte_for_byte() {
    let text = "{\"list\": [ ], \"full\": [1], \"obj\": { }, \"x\": 1.50, \"n\": null}";
    let mut spans = Vec::new();
    let root = Scanner::new(text)
        .object(|_, s| s.value().map(|v| spans.push(v)))
        .unwrap();
    let [list, full, obj, _, n] = spans[..] else {
        panic!()
    };
    let mut s = Splicer::new(text);
    assert!(s.is_null(n) && s.is_array(list) && !s.is_array(obj));
    s.append(list, b"2,3".to_vec());
    s.prepend(full, b"0".to_vec());
    s.append(full, b"9".to_vec());
    s.add_members(obj, &[("k", b"true".to_vec()), ("q\"", b"{}".to_vec())]);
    s.replace(n, array(b""));
    s.add_members(root, &[("new", b"\"v\"".to_vec())]);
    assert_eq!(
        s.finish().unwrap(),
        "{\"list\": [ 2,3], \"full\": [0,1,9], \"obj\": { \"k\":true,\"q\\\"\":{}}, \
         \"x\": 1.50, \"n\": [],\"new\":\"v\"}"
    );
}

#[test]
fn an_edit_that_misses_structure_is_refused() {
    let text = r#"{"a": [1], "s": "xy"}"#;
    // An array span one byte short: the insertion would land on `1`.
    let short = Span { start: 6, end: 8 };
    let mut s = Splicer::new(text);
    s.append(short, b"2".to_vec());
    assert_eq!(s.finish(), None);
    let mut s = Splicer::new(text);
    s.replace(Span { start: 6, end: 8 }, b"null".to_vec());
    assert_eq!(s.finish(), None, "half a value");
    let mut s = Splicer::new(text);
    s.replace(Span { start: 6, end: 9 }, b"null".to_vec());
    assert_eq!(s.finish().unwrap(), r#"{"a": null, "s": "xy"}"#);
}
