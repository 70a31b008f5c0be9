//! The field a `serde_json` error is about, named as `serde_path_to_error`
//! names it: `podIdentity.associations[0].roleArn`.
//!
//! Why not that crate: it wraps every `Deserialize` impl it reaches, so the
//! settings and payload readers were compiled twice over (about 45 KB of a
//! 585 KB module, and path tracking on every request's settings). serde_json
//! already says where it stopped (line and column); this walks the text up
//! to there once, on the error path only. A differential test against
//! `serde_path_to_error` (a dev-dependency) keeps the names the same.

/// Nesting beyond serde_json's own limit of 128, with room to spare.
const MAX_DEPTH: usize = 256;

/// One step of a path.
enum Step {
    Key(String),
    Index(usize),
    /// A key that is not valid JSON text (`serde_path_to_error`'s `?`).
    Unknown,
}

/// An open object or array, with the member being read, if any.
struct Open {
    object: bool,
    member: Option<Step>,
    members: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Want {
    Value,
    /// After `[`: a value, or `]`.
    ValueOrClose,
    /// After `{` or an object's `,`.
    Key,
    Colon,
    CommaOrClose,
    End,
}

/// The path of the value or key `error` points into, or `None` where it
/// points between tokens (a misplaced `,`, trailing text, the end of the
/// input): that is a broken document, not a bad field. `"."` is the root.
pub fn error_path(text: &[u8], error: &serde_json::Error) -> Option<String> {
    if error.line() == 0 || error.is_eof() {
        return None;
    }
    let mut walk = Walk {
        text,
        end: offset(text, error.line(), error.column()),
        pos: 0,
        open: Vec::new(),
        want: Want::Value,
        data: error.is_data(),
        invalid: invalid_type(error),
    };
    loop {
        if let Err(answer) = walk.token() {
            return answer;
        }
    }
}

/// The text read token by token up to where serde_json stopped.
struct Walk<'t> {
    text: &'t [u8],
    end: usize,
    pos: usize,
    open: Vec<Open>,
    want: Want,
    /// Whether serde_json read the text and the data was wrong.
    data: bool,
    /// What an invalid-type error found, as serde words it (`sequence`).
    invalid: Option<&'static str>,
}

/// `Err` holds the answer: the walk has reached the error.
type Next = Result<(), Option<String>>;

impl Walk<'_> {
    fn token(&mut self) -> Next {
        self.pos = skip_whitespace(self.text, self.pos);
        let Some(&byte) = self.text.get(self.pos) else {
            return Err(None);
        };
        if self.pos >= self.end {
            return Err(self.before(byte));
        }
        match (self.want, byte) {
            // Deeper than serde_json reads (128) is no field to name, and
            // a hand-written payload of nested brackets must not make the
            // walk hold a frame per byte.
            (Want::Value | Want::ValueOrClose, b'{' | b'[') if self.open.len() > MAX_DEPTH => {
                Err(None)
            }
            (Want::Value | Want::ValueOrClose, b'{' | b'[') => {
                start_element(&mut self.open);
                self.open.push(Open {
                    object: byte == b'{',
                    member: None,
                    members: 0,
                });
                self.want = if byte == b'{' {
                    Want::Key
                } else {
                    Want::ValueOrClose
                };
                self.pos += 1;
                self.opened()
            }
            (Want::ValueOrClose | Want::CommaOrClose, b']')
            | (Want::Key | Want::CommaOrClose, b'}') => self.close(byte),
            (Want::Value | Want::ValueOrClose, _) if !matches!(byte, b']' | b'}' | b',' | b':') => {
                start_element(&mut self.open);
                self.pos = token_end(self.text, self.pos);
                self.want = after_value(&self.open);
                self.reached()
            }
            (Want::Key, b'"') => self.key(),
            // An unknown key with no value: serde_json reads on to the `}`.
            (Want::Colon, b'}') if self.data => Err(Some(render(&self.open))),
            (Want::Colon, b':') => {
                self.pos += 1;
                self.want = Want::Value;
                Ok(())
            }
            (Want::CommaOrClose, b',') => {
                self.pos += 1;
                let open = self.open.last_mut().ok_or(None)?;
                open.member = None;
                self.want = if open.object { Want::Key } else { Want::Value };
                Ok(())
            }
            _ => Err(None),
        }
    }

    /// The error is where the walk stands: serde_json reports an invalid
    /// type before reading a `{` or `[`, and an unknown key after the
    /// whitespace that follows it.
    fn before(&mut self, byte: u8) -> Option<String> {
        match self.want {
            Want::Value | Want::ValueOrClose if byte != b']' => {
                start_element(&mut self.open);
                Some(render(&self.open))
            }
            Want::Colon => Some(render(&self.open)),
            _ => None,
        }
    }

    /// Just past `{` or `[`: an error here is about the bracket (too
    /// deep, or a value that cannot be a list or map), except an invalid
    /// type that names the nested bracket after it: serde_json reports that
    /// one before reading the element.
    fn opened(&self) -> Next {
        let next = skip_whitespace(self.text, self.pos);
        let element = match self.text.get(next) {
            Some(b'[') => self.invalid == Some("sequence"),
            Some(b'{') => self.invalid == Some("map"),
            _ => false,
        };
        match self.end <= next && !element {
            true => Err(Some(render(&self.open))),
            false => Ok(()),
        }
    }

    fn close(&mut self, byte: u8) -> Next {
        let open = self.open.last_mut().ok_or(None)?;
        let after_comma = self.want == Want::Key && open.members > 0;
        if open.object != (byte == b'}') || after_comma {
            return Err(None);
        }
        open.member = None;
        self.pos += 1;
        self.reached()?;
        self.open.pop();
        self.want = after_value(&self.open);
        Ok(())
    }

    fn key(&mut self) -> Next {
        let start = self.pos;
        self.pos = token_end(self.text, self.pos);
        let quoted = self.text.get(start..self.pos).unwrap_or_default();
        // A key is shown as serde reads it; one that does not read is `?`.
        let plain = quoted.len() >= 2 && quoted.ends_with(b"\"");
        let key = match std::str::from_utf8(quoted) {
            Ok(k) if plain && !k.bytes().any(|b| b == b'\\' || b < 0x20) => {
                Step::Key(k[1..k.len() - 1].to_owned())
            }
            _ => serde_json::from_slice::<String>(quoted).map_or(Step::Unknown, Step::Key),
        };
        let open = self.open.last_mut().ok_or(None)?;
        open.member = Some(key);
        open.members += 1;
        self.want = Want::Colon;
        self.reached()
    }

    fn reached(&self) -> Next {
        match self.pos >= self.end {
            true => Err(Some(render(&self.open))),
            false => Ok(()),
        }
    }
}

/// `sequence` or `map` when serde_json found one where it wanted another
/// type.
fn invalid_type(error: &serde_json::Error) -> Option<&'static str> {
    let text = error.to_string();
    let found = text.strip_prefix("invalid type: ")?;
    ["sequence", "map"]
        .into_iter()
        .find(|kind| found.starts_with(&format!("{kind},")))
}

/// An array's next element becomes the member being read.
fn start_element(open: &mut [Open]) {
    if let Some(o) = open.last_mut().filter(|o| !o.object) {
        o.member = Some(Step::Index(o.members));
        o.members += 1;
    }
}

fn after_value(open: &[Open]) -> Want {
    if open.is_empty() {
        Want::End
    } else {
        Want::CommaOrClose
    }
}

/// The byte offset of serde_json's line (from 1) and column (bytes into
/// the line).
fn offset(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    start.saturating_add(column).min(text.len())
}

fn skip_whitespace(text: &[u8], mut pos: usize) -> usize {
    while text
        .get(pos)
        .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
    {
        pos += 1;
    }
    pos
}

/// Past the token at `pos`, or past the byte where serde_json stops
/// reading a bad one: a bad literal or number is reported at its first
/// wrong byte, so that byte is the token's too.
fn token_end(text: &[u8], pos: usize) -> usize {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    match at(pos) {
        b'"' => {
            let mut i = pos + 1;
            while let Some(&b) = text.get(i) {
                i += 1;
                match b {
                    b'\\' => i += 1,
                    b'"' => break,
                    _ => {}
                }
            }
            i.min(text.len())
        }
        b't' | b'f' | b'n' => {
            let literal: &[u8] = match at(pos) {
                b't' => b"true",
                b'f' => b"false",
                _ => b"null",
            };
            match (literal.iter().enumerate()).position(|(i, &b)| at(pos + i) != b) {
                Some(i) => pos + i + 1,
                None => pos + literal.len(),
            }
        }
        b'-' | b'0'..=b'9' => number_end(text, pos),
        _ => pos + 1,
    }
}

/// A JSON number's grammar, as serde_json reads it.
fn number_end(text: &[u8], mut i: usize) -> usize {
    let digit = |i: usize| text.get(i).is_some_and(u8::is_ascii_digit);
    if text.get(i) == Some(&b'-') {
        i += 1;
    }
    match text.get(i) {
        Some(b'0') if digit(i + 1) => return i + 2,
        Some(b'0') => i += 1,
        _ if digit(i) => {
            while digit(i) {
                i += 1;
            }
        }
        _ => return i + 1,
    }
    if text.get(i) == Some(&b'.') {
        i += 1;
        if !digit(i) {
            return i + 1;
        }
        while digit(i) {
            i += 1;
        }
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(i) {
            return i + 1;
        }
        while digit(i) {
            i += 1;
        }
    }
    i
}

/// `serde_path_to_error`'s `Display`: `.` for the root, keys joined by
/// dots, indices in brackets.
fn render(open: &[Open]) -> String {
    let mut out = String::new();
    let mut separator = "";
    for step in open.iter().filter_map(|o| o.member.as_ref()) {
        match step {
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Key(key) => out.push_str(&format!("{separator}{key}")),
            Step::Unknown => out.push_str(&format!("{separator}?")),
        }
        separator = ".";
    }
    match separator {
        "" => ".".to_owned(),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::json::tests::{agrees, mutants};

    fn path(doc: &str) -> Option<String> {
        let e = serde_json::from_str::<Value>(doc).err()?;
        error_path(doc.as_bytes(), &e)
    }

    #[test]
    fn names_the_value_the_error_is_in() {
        assert_eq!(
            path(r#"{"a": {"b": [1, "x\ud800"]}}"#).as_deref(),
            Some("a.b[1]")
        );
        assert_eq!(path(r#"{"a": 1e400}"#).as_deref(), Some("a"));
        assert_eq!(path(r#"["\q"]"#).as_deref(), Some("[0]"));
        // Between tokens is a broken document, not a bad field.
        assert_eq!(path(r#"{"a": 1 "b": 2}"#), None);
        assert_eq!(path(r#"{"a": 1,}"#), None);
        assert_eq!(path(r#"[1,]"#), None);
        assert_eq!(path(r#"{"a": 1} x"#), None);
        assert_eq!(path(r#"{"a": "#), None);
        // Past serde_json's limit of 128 levels the walk names nothing,
        // however long the text (a `RawValue` is skipped without a limit).
        let deep = format!("{}x", "[".repeat(100_000));
        let raw = serde_json::from_str::<Box<serde_json::value::RawValue>>(&deep).unwrap_err();
        assert_eq!(error_path(deep.as_bytes(), &raw), None, "{raw}");
        // Within it the path is named, as serde_path_to_error names it.
        let value = serde_json::from_str::<Value>(&deep).unwrap_err();
        let named = error_path(deep.as_bytes(), &value).unwrap_or_default();
        assert_eq!(named, "[0]".repeat(127), "{value}");
        let at_limit = format!("{}\"\\q\"", "[".repeat(3));
        assert_eq!(path(&at_limit).as_deref(), Some("[0][0][0]"));
    }

    #[test]
    fn agrees_with_serde_path_to_error_on_values() {
        let doc = json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]},
                         "metadata": {"annotations": {"k": "v"}}});
        let mut compared = 0;
        for mutant in mutants(&doc) {
            compared += usize::from(agrees::<Value>(&mutant));
        }
        assert!(compared > 250, "only {compared} paths compared");
    }
}
