//! IAM's string matching, as the condition operators apply it.
//!
//! From the IAM User Guide, "IAM JSON policy elements: Condition
//! operators" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>):
//! `StringLike` is case-sensitive and "the values can include multi-character
//! match wildcards (*) and single-character match wildcards (?) anywhere in
//! the string"; unlike the allow-list's patterns, `*` also matches `:` and
//! `/`. `StringEquals` compares exactly, `...IgnoreCase` ignores case.
//!
//! From "IAM policy elements: Variables and tags"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>):
//! `${...}` in a value is a policy variable, replaced at request time; the
//! special variables `${*}`, `${?}` and `${$}` stand for the literal
//! characters. We cannot know a variable's value offline, so it matches
//! any text (`*`), and a value that holds one is not exact.

use crate::automata::{Item, Pattern, literal};

/// A condition value as a pattern over subjects or namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuePattern {
    pub items: Pattern,
    /// It holds a policy variable, read as `*`.
    pub has_variable: bool,
}

/// The pattern of one condition value: `like` for `StringLike` (wildcards),
/// `ignore_case` for the `...IgnoreCase` operators (subjects and namespaces
/// are lowercase, so the value is lowercased).
pub fn value_pattern(value: &str, like: bool, ignore_case: bool) -> ValuePattern {
    let value = if ignore_case {
        value.to_ascii_lowercase()
    } else {
        value.to_owned()
    };
    let mut items = Vec::new();
    let mut has_variable = false;
    let mut rest = value.as_str();
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${")
            && let Some(end) = after.find('}')
        {
            let name = after.get(..end).unwrap_or("");
            match name {
                "*" | "?" | "$" => items.extend(literal(name)),
                _ => {
                    has_variable = true;
                    if items.last() != Some(&Item::Star) {
                        items.push(Item::Star);
                    }
                }
            }
            rest = after.get(end + 1..).unwrap_or("");
            continue;
        }
        match c {
            '*' if like => {
                if items.last() != Some(&Item::Star) {
                    items.push(Item::Star);
                }
            }
            '?' if like => items.push(Item::One),
            _ => items.extend(literal(&c.to_string())),
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    ValuePattern {
        items,
        has_variable,
    }
}

/// Whether `text` matches an IAM action pattern (`sts:Assume*`, `*`):
/// action names ignore case, and `*` and `?` are wildcards. Reference:
/// "IAM JSON policy elements: Action".
pub fn action_matches(pattern: &str, action: &str) -> bool {
    irsa_policy::glob::matches(
        &pattern.to_ascii_lowercase(),
        &action.to_ascii_lowercase(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automata::Dfa;

    fn accepts(value: &str, like: bool, ignore_case: bool, text: &str) -> bool {
        Dfa::union_of(&[value_pattern(value, like, ignore_case).items])
            .unwrap()
            .accepts(text)
    }

    #[test]
    fn like_wildcards_cross_colons() {
        assert!(accepts(
            "system:serviceaccount:team-a*",
            true,
            false,
            "system:serviceaccount:team-a-b:app"
        ));
        assert!(accepts(
            "system:serviceaccount:*:app",
            true,
            false,
            "system:serviceaccount:x:app"
        ));
        assert!(accepts("a?c", true, false, "a:c"));
        assert!(!accepts("a*", false, false, "ab"));
        assert!(
            !accepts("a*", false, false, "a*"),
            "'*' is outside the alphabet"
        );
    }

    #[test]
    fn case_and_variables() {
        assert!(!accepts(
            "System:serviceaccount:a:b",
            false,
            false,
            "system:serviceaccount:a:b"
        ));
        assert!(accepts(
            "System:serviceaccount:a:b",
            false,
            true,
            "system:serviceaccount:a:b"
        ));
        let v = value_pattern("system:serviceaccount:${aws:username}:x", false, false);
        assert!(v.has_variable);
        assert!(
            Dfa::union_of(&[v.items])
                .unwrap()
                .accepts("system:serviceaccount:q:x")
        );
        assert!(!value_pattern("a${*}", true, false).has_variable);
    }

    #[test]
    fn actions_ignore_case() {
        assert!(action_matches(
            "sts:AssumeRole*",
            "sts:assumerolewithwebidentity"
        ));
        assert!(action_matches("*", "sts:AssumeRole"));
        assert!(!action_matches(
            "sts:AssumeRole",
            "sts:AssumeRoleWithWebIdentity"
        ));
    }
}
