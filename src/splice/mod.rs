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
//! problem. [`Splicer::finish`] checks that every edit lands on structure
//! (and, in tests and fuzzing, parses what it wrote).

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
    /// The same text as `str`, so a value's text is a slice, not a check.
    source: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text: text.as_bytes(),
            source: text,
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
        self.string_tail_escaped().map(|(raw, _)| raw)
    }

    /// [`Scanner::string_tail`], and whether the string holds an escape:
    /// the scan has seen it, so a reader need not look again.
    fn string_tail_escaped(&mut self) -> Option<(&'a [u8], bool)> {
        let start = self.at;
        let mut escaped = false;
        loop {
            let i = self.rest().iter().position(|b| matches!(b, b'"' | b'\\'))?;
            self.at += i;
            if self.peek()? == b'"' {
                self.at += 1;
                return Some((self.text.get(start..self.at - 1)?, escaped));
            }
            escaped = true;
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
            let (key, escaped) = scan.string_tail_escaped()?;
            if escaped {
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
        let start = self.at;
        let (raw, escaped) = self.string_tail_escaped()?;
        if escaped {
            return None;
        }
        self.source.get(start..start + raw.len())
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
        self.source.get(span.start..span.end)
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

mod splicer;

pub use splicer::{Splicer, array};

#[cfg(test)]
mod tests;
