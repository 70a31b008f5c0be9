//! Additions written into JSON text, leaving every other byte as it was.
//!
//! The mutated Pod is the request's own text with the injection spliced in,
//! rather than the parsed Pod serialised again: re-serialising cost as much
//! as the rest of an evaluation together. The text has already been
//! accepted by serde_json, so a [`Scanner`] only has to find places in it,
//! in one pass.
//!
//! **The contract:** the scanner accepts only what parsing the text into a
//! `serde_json::Value` accepts, and only values of the type the parsed path
//! expects. It gives up (`None`) on an escaped key (which could spell a key
//! it looks for), a duplicate key it reads ([`Seen`]), a wrong type, and
//! wherever `Value` parsing could fail (lone surrogates, numbers beyond
//! f64, nesting); the caller then takes the parsed path, which names the
//! problem. [`Splicer::finish`] checks the syntax of what it writes.

/// The bytes `start..end` of one JSON value in the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Nesting beyond this, under the few levels a walk descends itself, is
/// left to the parsed path.
pub const MAX_DEPTH: usize = 100;

/// Longer numbers are left to the parsed path: f64 ends near 1.8e308.
const MAX_NUMBER_LEN: usize = 300;

/// A cursor over JSON text that serde_json has accepted (as a `RawValue`,
/// which checks syntax only). It gives up where parsing the same text into
/// a `Value` would fail, so a Pod it reads is one the parsed path accepts.
pub struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text: text.as_bytes(),
            at: 0,
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        let ws = self
            .rest()
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(self.rest().len());
        self.at += ws;
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Past the string whose opening quote was just eaten; its contents.
    fn string_tail(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        loop {
            let i = self.rest().iter().position(|b| matches!(b, b'"' | b'\\'))?;
            self.at += i;
            if self.peek()? == b'"' {
                self.at += 1;
                return self.text.get(start..self.at - 1);
            }
            // `\uD800`-`\uDFFF`: serde_json skipped it unchecked, but
            // parsing refuses a lone surrogate. Left to the parsed path.
            if let Some([b'u', b'd' | b'D', ..]) = self.text.get(self.at + 1..) {
                return None;
            }
            self.at += 2;
        }
    }

    /// Skips the next value and returns where it lies.
    pub fn value(&mut self) -> Option<Span> {
        self.skip_ws();
        let start = self.at;
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    self.string_tail()?;
                }
                b'{' | b'[' => {
                    self.at += 1;
                    depth += 1;
                    // Parsing refuses deep nesting (serde_json's limit is
                    // 128 levels); skipping did not check.
                    if depth > MAX_DEPTH {
                        return None;
                    }
                }
                b'}' | b']' => {
                    self.at += 1;
                    depth = depth.checked_sub(1)?;
                }
                first => {
                    let token = self.scalar();
                    // Parsing refuses a number beyond f64 (`1e400`, or 400
                    // digits). Pods carry small integers; an exponent or a
                    // long number is left to the parsed path, without
                    // pulling float parsing into the module.
                    if (first == b'-' || first.is_ascii_digit())
                        && (token.len() > MAX_NUMBER_LEN
                            || token.iter().any(|b| matches!(b, b'e' | b'E')))
                    {
                        return None;
                    }
                    if token.is_empty() {
                        return None;
                    }
                }
            }
            if depth == 0 {
                break;
            }
            // On to the next string, bracket or number: keys' colons,
            // commas and `true`/`false`/`null` need no look.
            let next = self
                .rest()
                .iter()
                .position(|b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']' | b'-' | b'0'..=b'9'))?;
            self.at += next;
        }
        Some(Span {
            start,
            end: self.at,
        })
    }

    /// Past the number or literal that starts here; its bytes.
    fn scalar(&mut self) -> &'a [u8] {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(rest.len());
        self.at += len;
        rest.get(..len).unwrap_or_default()
    }

    /// Walks the object that comes next: `member` is called with each key
    /// and must consume its value (with [`Scanner::value`] or by walking
    /// into it). Returns the object's span.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&'a [u8], &mut Scanner<'a>) -> Option<()>,
    ) -> Option<Span> {
        self.sequence(b'{', b'}', |scan| {
            scan.eat(b'"')?;
            let key = scan.string_tail()?;
            if key.contains(&b'\\') {
                return None;
            }
            scan.eat(b':')?;
            member(key, scan)
        })
    }

    /// Walks the array that comes next, calling `element` for each element
    /// (which must consume it). Returns the array's span.
    pub fn array(&mut self, element: impl FnMut(&mut Scanner<'a>) -> Option<()>) -> Option<Span> {
        self.sequence(b'[', b']', element)
    }

    /// An object or array: `open`, `item`s separated by commas, `close`.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Scanner<'a>) -> Option<()>,
    ) -> Option<Span> {
        self.eat(open)?;
        let start = self.at - 1;
        self.skip_ws();
        if self.peek()? != close {
            loop {
                item(self)?;
                self.skip_ws();
                match self.peek()? {
                    b',' => self.at += 1,
                    _ => break,
                }
            }
        }
        self.eat(close)?;
        Some(Span {
            start,
            end: self.at,
        })
    }

    /// What comes next after whitespace, without consuming it.
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_ws();
        self.peek()
    }

    /// The string that comes next, as written; `None` if it has escapes.
    pub fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let raw = self.string_tail()?;
        if raw.contains(&b'\\') {
            return None;
        }
        std::str::from_utf8(raw).ok()
    }

    /// The string that comes next and where it lies; `None` if it has escapes.
    pub fn str_spanned(&mut self) -> Option<(&'a str, Span)> {
        self.skip_ws();
        let start = self.at;
        let s = self.str()?;
        Some((
            s,
            Span {
                start,
                end: self.at,
            },
        ))
    }

    /// Consumes a `null` if one comes next, and says where it was.
    pub fn null(&mut self) -> Option<Option<Span>> {
        if self.next_byte()? == b'n' {
            return self.value().map(Some);
        }
        Some(None)
    }
}

impl<'a> Scanner<'a> {
    /// A string, or `null` (`None`); `None` from the outer option (give up)
    /// for another type or an escape.
    pub fn opt_str(&mut self) -> Option<Option<&'a str>> {
        if self.null()?.is_some() {
            return Some(None);
        }
        self.str().map(Some)
    }

    /// The text of a value the scanner passed.
    pub fn text_of(&self, span: Span) -> Option<&'a str> {
        std::str::from_utf8(self.text.get(span.start..span.end)?).ok()
    }
}

/// The keys of interest met in one object. A duplicate is left to the
/// parsed path (where the last one counts): [`Seen::first`] gives up.
#[derive(Default)]
pub struct Seen<'a> {
    keys: [&'a [u8]; 8],
    len: usize,
}

impl<'a> Seen<'a> {
    pub fn first(&mut self, key: &'a [u8]) -> Option<()> {
        let seen = self.keys.get(..self.len)?;
        if seen.contains(&key) {
            return None;
        }
        *self.keys.get_mut(self.len)? = key;
        self.len += 1;
        Some(())
    }
}

/// The edits to make to a text, applied together by [`Splicer::finish`].
pub struct Splicer<'a> {
    text: &'a str,
    /// `(start, end, replacement)`; `start == end` inserts.
    edits: Vec<(usize, usize, Vec<u8>)>,
}

impl<'a> Splicer<'a> {
    pub fn new(text: &'a str) -> Splicer<'a> {
        Splicer {
            text,
            edits: Vec::new(),
        }
    }

    fn bytes(&self, span: Span) -> Option<&'a [u8]> {
        self.text.as_bytes().get(span.start..span.end)
    }

    pub fn is_null(&self, value: Span) -> bool {
        self.bytes(value) == Some(b"null".as_slice())
    }

    pub fn is_array(&self, value: Span) -> bool {
        matches!(self.bytes(value), Some([b'[', .., b']']))
    }

    /// Whether an object or array has no members.
    fn is_empty(&self, container: Span) -> bool {
        self.text
            .get(container.start + 1..container.end.saturating_sub(1))
            .is_none_or(|inner| inner.trim_start().is_empty())
    }

    /// Replaces `value` with `json`.
    pub fn replace(&mut self, value: Span, json: Vec<u8>) {
        self.edits.push((value.start, value.end, json));
    }

    /// Adds `"key": json` members at the end of `object` (keys it lacks).
    pub fn add_members(&mut self, object: Span, members: &[(&str, Vec<u8>)]) {
        let mut text = Vec::new();
        for (key, json) in members {
            if !text.is_empty() || !self.is_empty(object) {
                text.push(b',');
            }
            write_str(&mut text, key);
            text.push(b':');
            text.extend_from_slice(json);
        }
        let close = object.end.saturating_sub(1);
        self.edits.push((close, close, text));
    }

    /// Appends `items` (comma-separated JSON values) to `array`.
    pub fn append(&mut self, array: Span, mut items: Vec<u8>) {
        if !self.is_empty(array) {
            items.insert(0, b',');
        }
        let close = array.end.saturating_sub(1);
        self.edits.push((close, close, items));
    }

    /// Puts `items` (comma-separated JSON values) first in `array`.
    pub fn prepend(&mut self, array: Span, mut items: Vec<u8>) {
        if !self.is_empty(array) {
            items.push(b',');
        }
        self.edits.push((array.start + 1, array.start + 1, items));
    }

    /// The text with every edit made; `None` if edits overlap.
    pub fn finish(mut self) -> Option<String> {
        // Stable: insertions at one place keep the order they were made in.
        self.edits.sort_by_key(|(start, _, _)| *start);
        let added: usize = self.edits.iter().map(|(_, _, t)| t.len()).sum();
        let text = self.text.as_bytes();
        let mut out = Vec::with_capacity(text.len() + added);
        let mut copied = 0;
        for (start, end, edit) in &self.edits {
            out.extend_from_slice(text.get(copied..*start)?);
            out.extend_from_slice(edit);
            copied = *end;
        }
        out.extend_from_slice(text.get(copied..)?);
        // Cuts fall between whole values, and the additions are UTF-8; the
        // syntax check is the fence around that claim (the host parses the
        // answer, and an object it cannot parse fails the request).
        let out = String::from_utf8(out).ok()?;
        serde_json::from_str::<serde::de::IgnoredAny>(&out).ok()?;
        Some(out)
    }
}

/// `items` as a JSON array.
pub fn array(items: &[u8]) -> Vec<u8> {
    [b"[", items, b"]"].concat()
}

/// `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(out, s);
}

#[cfg(test)]
mod tests {
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
}
