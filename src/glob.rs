//! Glob patterns with `*` (any run of characters) and `?` (one character),
//! plus an optional `{namespace}` placeholder that matches the namespace
//! being evaluated. Patterns are compiled once, when settings are parsed;
//! the placeholder is matched in place, so nothing is rebuilt per request.

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
