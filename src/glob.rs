//! Glob patterns with `*` (any run of characters) and `?` (one character),
//! plus an optional `{namespace}` placeholder that matches the namespace
//! being evaluated. [`Glob::compile`] checks a pattern (`validate_settings`);
//! [`matches`] matches one as written, without compiling or allocating, as
//! a request does: every request runs on a fresh instance, so nothing
//! compiled would be reused.

/// One compiled pattern token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// `*`: zero or more characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// `{namespace}`: the namespace being evaluated, literally.
    Namespace,
}

/// One part of a compiled glob, as [`Glob::parts`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobPart<'a> {
    /// Literal text.
    Literal(&'a str),
    /// `*`: zero or more characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// `{namespace}`: the namespace being evaluated.
    Namespace,
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

/// The only placeholder patterns may use.
pub const NAMESPACE_PLACEHOLDER: &str = "{namespace}";

impl Glob {
    /// Compiles `pattern`. With `allow_namespace`, `{namespace}` becomes a
    /// placeholder; any other brace is an error.
    pub fn compile(pattern: &str, allow_namespace: bool) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if allow_namespace && rest.starts_with(NAMESPACE_PLACEHOLDER) {
                flush(&mut literal, &mut tokens);
                tokens.push(Token::Namespace);
                rest = rest.get(NAMESPACE_PLACEHOLDER.len()..).unwrap_or("");
                continue;
            }
            match c {
                '*' => {
                    flush(&mut literal, &mut tokens);
                    // Consecutive stars mean the same as one.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(Token::One);
                }
                '{' | '}' => {
                    return Err(if allow_namespace {
                        format!(
                            "{pattern:?} has a '{c}' that is not part of {NAMESPACE_PLACEHOLDER}, the only placeholder"
                        )
                    } else {
                        format!("{pattern:?} contains '{c}'")
                    });
                }
                other => literal.push(other),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or("");
        }
        flush(&mut literal, &mut tokens);
        Ok(Glob { tokens })
    }

    /// The pattern's parts in order, for tools that reason about the whole
    /// language a glob matches (`irsa-trustcheck` builds automata from them).
    pub fn parts(&self) -> impl Iterator<Item = GlobPart<'_>> + '_ {
        self.tokens.iter().map(|t| match t {
            Token::Literal(l) => GlobPart::Literal(l),
            Token::Star => GlobPart::Star,
            Token::One => GlobPart::One,
            Token::Namespace => GlobPart::Namespace,
        })
    }

    pub fn has_wildcards(&self) -> bool {
        self.tokens
            .iter()
            .any(|t| matches!(t, Token::Star | Token::One))
    }

    /// The pattern with the placeholder filled in: what messages show.
    pub fn render(&self, namespace: &str) -> String {
        self.tokens
            .iter()
            .map(|t| match t {
                Token::Literal(l) => l.as_str(),
                Token::Star => "*",
                Token::One => "?",
                Token::Namespace => namespace,
            })
            .collect()
    }

    /// Whether `text` matches, with `{namespace}` standing for `namespace`.
    ///
    /// Greedy matching that backtracks only to the last `*`: linear in
    /// practice, and never worse than `O(len(text) * tokens)`.
    pub fn matches(&self, text: &str, namespace: &str) -> bool {
        let tokens = &self.tokens;
        let (mut t, mut i) = (0usize, 0usize);
        // (token after the last star, text position that star resumes from)
        let mut backtrack: Option<(usize, usize)> = None;
        loop {
            let rest = text.get(i..).unwrap_or("");
            let step = match tokens.get(t) {
                Some(Token::Star) => {
                    backtrack = Some((t + 1, i));
                    t += 1;
                    continue;
                }
                Some(Token::One) => rest.chars().next().map(char::len_utf8),
                Some(Token::Literal(l)) => rest.starts_with(l.as_str()).then_some(l.len()),
                Some(Token::Namespace) => rest.starts_with(namespace).then_some(namespace.len()),
                None if rest.is_empty() => return true,
                None => None,
            };
            match step {
                Some(len) => {
                    i += len;
                    t += 1;
                }
                None => {
                    // Let the last star swallow one more character.
                    let Some((after_star, from)) = backtrack else {
                        return false;
                    };
                    let Some(c) = text.get(from..).and_then(|r| r.chars().next()) else {
                        return false;
                    };
                    backtrack = Some((after_star, from + c.len_utf8()));
                    t = after_star;
                    i = from + c.len_utf8();
                }
            }
        }
    }

    /// Literal text only (wildcards and placeholders dropped).
    pub fn literal_chars(&self) -> impl Iterator<Item = char> + '_ {
        self.tokens.iter().flat_map(|t| match t {
            Token::Literal(l) => l.chars().collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    }

    /// Characters the pattern must match exactly one each of (literals and
    /// `?`), and whether a `*` lets it match more.
    pub fn fixed_length(&self) -> (usize, bool) {
        self.tokens.iter().fold((0, false), |(n, star), t| match t {
            Token::Literal(l) => (n + l.chars().count(), star),
            Token::One => (n + 1, star),
            Token::Star | Token::Namespace => (n, true),
        })
    }
}

/// [`Glob::matches`] of `pattern` as written, compiled with placeholders
/// when `namespace` is given. A pattern `compile` refuses matches as
/// compiled up to its first brace, which `validate_settings` has refused.
pub fn matches(pattern: &str, text: &str, namespace: Option<&str>) -> bool {
    // Positions into `pattern` and `text`; the last star's resume point.
    let (mut p, mut i) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let rest = pattern.get(p..).unwrap_or("");
        let here = text.get(i..).unwrap_or("");
        let step = match rest.chars().next() {
            Some('*') => {
                p += 1;
                // A star that ends the pattern takes whatever is left.
                if p == pattern.len() {
                    return true;
                }
                backtrack = Some((p, i));
                continue;
            }
            Some('?') => here.chars().next().map(|c| (1, c.len_utf8())),
            Some(_) => match namespace {
                Some(ns) if rest.starts_with(NAMESPACE_PLACEHOLDER) => here
                    .starts_with(ns)
                    .then_some((NAMESPACE_PLACEHOLDER.len(), ns.len())),
                _ => {
                    // A run of literal text, up to the next token (ASCII, so
                    // a byte search stays on character boundaries).
                    let end = rest
                        .bytes()
                        .position(|b| b == b'*' || b == b'?' || (namespace.is_some() && b == b'{'))
                        .filter(|&e| e > 0)
                        .unwrap_or(rest.len());
                    let literal = rest.get(..end).unwrap_or(rest);
                    here.starts_with(literal)
                        .then_some((literal.len(), literal.len()))
                }
            },
            None if here.is_empty() => return true,
            None => None,
        };
        match step {
            Some((in_pattern, in_text)) => {
                p += in_pattern;
                i += in_text;
            }
            None => {
                let Some((after_star, from)) = backtrack else {
                    return false;
                };
                let Some(c) = text.get(from..).and_then(|r| r.chars().next()) else {
                    return false;
                };
                backtrack = Some((after_star, from + c.len_utf8()));
                p = after_star;
                i = from + c.len_utf8();
            }
        }
    }
}

fn flush(literal: &mut String, tokens: &mut Vec<Token>) {
    if !literal.is_empty() {
        tokens.push(Token::Literal(std::mem::take(literal)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::compile(pattern, true)
            .unwrap()
            .matches(text, "team-a")
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("team-*", "team-"));
        assert!(m("team-*", "team-payments"));
        assert!(!m("team-*", "team"));
        assert!(m("t?am", "team"));
        assert!(!m("t?am", "tam"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*", "xxaxxcxxbxx"));
        assert!(m("a**b", "ab"));
        assert!(m("*ab", "aab"), "needs backtracking");
        assert!(m("?é?", "aéb"), "one character, not one byte");
        assert!(!m("exact", "exactly"));
        assert!(!m("exact", "exac"));
    }

    #[test]
    fn namespace_placeholder_matches_the_namespace_only() {
        assert!(m("role/{namespace}/*", "role/team-a/app"));
        assert!(!m("role/{namespace}/*", "role/team-b/app"));
        assert!(!m("role/{namespace}", "role/team-ab"));
        assert_eq!(
            Glob::compile("role/{namespace}-*", true)
                .unwrap()
                .render("x"),
            "role/x-*"
        );
    }

    #[test]
    fn braces_other_than_the_placeholder_are_refused() {
        assert!(
            Glob::compile("role/{ns}", true)
                .unwrap_err()
                .contains("only placeholder")
        );
        assert!(Glob::compile("{namespace}", false).is_err());
        assert!(Glob::compile("role/{namespace", true).is_err());
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!m(&pattern, &text));
    }

    /// The matcher requests use agrees with the compiled reference on every
    /// pattern `compile` accepts.
    #[test]
    fn matching_as_written_equals_matching_compiled() {
        let alphabet = ["a", "b", "é", "*", "?", "-", "/", "{namespace}", "team-a"];
        let texts = [
            "",
            "a",
            "ab",
            "aéb",
            "team-a",
            "role/team-a/x",
            "b-a",
            "aaab",
            "a/b/c",
            "team-ab",
            "é",
        ];
        let mut patterns = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = patterns
                .iter()
                .flat_map(|p| alphabet.iter().map(move |a| format!("{p}{a}")))
                .collect();
            patterns.extend(longer);
        }
        patterns.sort();
        patterns.dedup();
        let mut checked = 0;
        for pattern in &patterns {
            for (allow, ns) in [(true, Some("team-a")), (false, None)] {
                let Ok(glob) = Glob::compile(pattern, allow) else {
                    continue;
                };
                for text in texts {
                    assert_eq!(
                        matches(pattern, text, ns),
                        glob.matches(text, ns.unwrap_or("")),
                        "{pattern:?} on {text:?} (placeholder {allow})"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    #[test]
    fn parts_show_the_compiled_pattern() {
        let glob = Glob::compile("a**b?{namespace}", true).unwrap();
        assert_eq!(
            glob.parts().collect::<Vec<_>>(),
            [
                GlobPart::Literal("a"),
                GlobPart::Star,
                GlobPart::Literal("b"),
                GlobPart::One,
                GlobPart::Namespace
            ]
        );
    }

    #[test]
    fn fixed_length_counts_literals_and_question_marks() {
        assert_eq!(
            Glob::compile("1111????3333", false).unwrap().fixed_length(),
            (12, false)
        );
        assert_eq!(
            Glob::compile("11*", false).unwrap().fixed_length(),
            (2, true)
        );
    }
}
