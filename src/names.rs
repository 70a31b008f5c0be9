//! Kubernetes name rules, for validating settings before they meet a cluster,
//! and how tenant-written names are shown in messages.

use std::fmt;

/// How many characters of a tenant-written value a message shows. Names
/// are not yet validated in mutating admission: a 1 MiB name is possible.
pub const SHOWN_CHARS: usize = 100;

/// A tenant-written value in a message: quoted, and cut at
/// [`SHOWN_CHARS`] characters with `…` (and the full length) when longer.
#[derive(Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

/// [`Shown`] without quotes.
pub struct Bare<'a>(&'a str);

impl<'a> Shown<'a> {
    pub fn bare(self) -> Bare<'a> {
        Bare(self.0)
    }

    /// Whether it shows as itself in quotes: short, printable ASCII, no
    /// quote or backslash to escape.
    pub fn is_plain(&self) -> bool {
        self.0.len() <= SHOWN_CHARS
            && self
                .0
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    }
}

/// The first [`SHOWN_CHARS`] characters, and whether that is all.
fn cut(s: &str) -> (&str, bool) {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => (s.get(..at).unwrap_or_default(), false),
        None => (s, true),
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match cut(self.0) {
            (all, true) => write!(f, "{all:?}"),
            (head, false) => write!(f, "{:?}", format!("{head}…({} bytes)", self.0.len())),
        }
    }
}

impl fmt::Display for Bare<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match cut(self.0) {
            (all, true) => f.write_str(all),
            (head, false) => write!(f, "{head}…({} bytes)", self.0.len()),
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, ending
/// with `…` when it was cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

/// RFC 1123 label: what namespaces and volume names must be.
pub fn check_dns_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    if value.len() > 63 {
        return Err(format!("{value:?} is longer than 63 characters"));
    }
    check_label_chars(value)
}

/// RFC 1123 subdomain: what ServiceAccount names and annotation prefixes must be.
pub fn check_dns_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    if value.len() > 253 {
        return Err(format!("{value:?} is longer than 253 characters"));
    }
    value.split('.').try_for_each(|label| {
        if label.is_empty() {
            Err(format!("{value:?} has an empty DNS label"))
        } else {
            check_label_chars(label).map_err(|_| {
                format!(
                    "{value:?} is not a DNS subdomain (lowercase letters, digits, '-' and '.', \
                     starting and ending with a letter or digit)"
                )
            })
        }
    })
}

fn check_label_chars(label: &str) -> Result<(), String> {
    let bytes = label.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let body_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if body_ok && edge_ok(bytes.first()) && edge_ok(bytes.last()) {
        Ok(())
    } else {
        Err(format!(
            "{label:?} is not a DNS label (lowercase letters, digits and '-', \
             starting and ending with a letter or digit)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_name_shows_as_itself_in_quotes() {
        let long = "a".repeat(SHOWN_CHARS + 1);
        for (text, plain) in [
            ("web-7d9f8b6c5d-x2x4q", true),
            ("", true),
            ("a b.c_d", true),
            ("quo\"te", false),
            ("back\\slash", false),
            ("tab\t", false),
            ("é", false),
            (long.as_str(), false),
        ] {
            assert_eq!(Shown(text).is_plain(), plain, "{text:?}");
            if plain {
                assert_eq!(Shown(text).to_string(), format!("\"{text}\""));
            }
        }
    }

    #[test]
    fn long_values_are_shown_cut_with_their_length() {
        assert_eq!(Shown("web").to_string(), "\"web\"");
        assert_eq!(Shown("a\"b").to_string(), "\"a\\\"b\"");
        let long = "é".repeat(1000);
        let shown = Shown(&long).to_string();
        assert_eq!(
            shown,
            format!("\"{}…(2000 bytes)\"", "é".repeat(SHOWN_CHARS))
        );
        assert_eq!(
            Shown(&long).bare().to_string(),
            format!("{}…(2000 bytes)", "é".repeat(100))
        );
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(truncate("abc".into(), 3), "abc");
        assert_eq!(truncate("abcdef".into(), 5), "ab…");
        let cut = truncate("ééééé".into(), 6);
        assert!(cut.len() <= 6 && cut.ends_with('…'), "{cut}");
    }

    #[test]
    fn labels() {
        for ok in ["a", "default", "team-a", "x1", &"a".repeat(63)] {
            assert!(check_dns_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(check_dns_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subdomains() {
        for ok in ["eks.amazonaws.com", "my-sa", "a.b.c"] {
            assert!(check_dns_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "Eks.com", "a/b", &"a".repeat(254)] {
            assert!(check_dns_subdomain(bad).is_err(), "{bad}");
        }
    }
}
