//! Turns allow-list violations into an answer a person can act on, and
//! that stays small whatever the input: identical violations are merged
//! (saying how many containers and entries each covers), a rejection is
//! cut at [`MESSAGE_LIMIT`], and `warn` mode sends a few short warnings,
//! as the API server keeps only those.

use std::collections::BTreeMap;

use crate::allowlist::{MergeKey, NamespaceAllowance, Violation};
use crate::names;
use crate::role::ContainerRef;

/// Longest rejection message, in bytes.
pub const MESSAGE_LIMIT: usize = 4096;
/// The API server cuts each admission warning at 256 characters and drops
/// warnings past 4 KiB in total (`k8s.io/apiserver/pkg/warning`).
pub const WARNING_LIMIT: usize = 255;
/// How many warnings one answer carries at most.
pub const MAX_WARNINGS: usize = 5;

/// One line of the answer: violations that read the same but for their
/// container.
struct Line<'v> {
    first: &'v Violation,
    containers: Vec<&'v ContainerRef>,
    entries: usize,
}

impl Line<'_> {
    fn render(&self, allowance: &str) -> String {
        let containers = match self.containers.as_slice() {
            [] => String::new(),
            [one] if self.entries == 1 => one.to_string(),
            [one] => format!("{one} ({} entries)", self.entries),
            [first, rest @ ..] if self.entries == self.containers.len() => {
                format!("{first} and {} other containers", rest.len())
            }
            [first, rest @ ..] => format!(
                "{first} and {} other containers ({} entries)",
                rest.len(),
                self.entries
            ),
        };
        let mut line = self.first.text(&containers);
        line.push_str(&self.first.allowance_suffix(allowance));
        line
    }
}

/// The violations merged into lines, in order of first appearance.
fn merge(violations: &[Violation]) -> Vec<Line<'_>> {
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut index: BTreeMap<MergeKey<'_>, usize> = BTreeMap::new();
    for v in violations {
        let at = *index.entry(v.merge_key()).or_insert_with(|| {
            lines.push(Line {
                first: v,
                containers: Vec::new(),
                entries: 0,
            });
            lines.len() - 1
        });
        if let Some(line) = lines.get_mut(at) {
            line.entries += 1;
            // Containers come in order, so a repeat is the last one seen.
            if let Some(c) = v.container()
                && line.containers.last() != Some(&c)
            {
                line.containers.push(c);
            }
        }
    }
    lines
}

/// A rejection: one line per merged violation, each naming `subject`, cut
/// at [`MESSAGE_LIMIT`] with `... and N more`.
pub fn message(
    subject: &str,
    allowance: &NamespaceAllowance<'_>,
    violations: &[Violation],
) -> String {
    let described = allowance.describe();
    let lines = merge(violations);
    let total = lines.len();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let text = names::truncate(format!("{subject}: {}", line.render(&described)), 1024);
        let more = total - i;
        // Room for this line and, if it is not the last, the closing note.
        let closing = if more > 1 { 40 } else { 0 };
        if !out.is_empty() && out.len() + 1 + text.len() + closing > MESSAGE_LIMIT {
            out.push_str(&format!("\n... and {more} more"));
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&text);
    }
    names::truncate(out, MESSAGE_LIMIT)
}

/// `warn` mode: at most [`MAX_WARNINGS`] warnings of at most
/// [`WARNING_LIMIT`] bytes, the first violations first (roles before
/// unverifiable sources before tokens, as [`crate::allowlist::check`]
/// orders them).
pub fn warnings(
    subject: &str,
    allowance: &NamespaceAllowance<'_>,
    violations: &[Violation],
) -> Vec<String> {
    let described = allowance.describe();
    let lines = merge(violations);
    let shown = if lines.len() > MAX_WARNINGS {
        MAX_WARNINGS - 1
    } else {
        lines.len()
    };
    let mut out: Vec<String> = lines
        .iter()
        .take(shown)
        .map(|line| {
            names::truncate(
                format!("{subject}: {}", line.render(&described)),
                WARNING_LIMIT,
            )
        })
        .collect();
    if lines.len() > shown {
        out.push(names::truncate(
            format!(
                "{subject}: ... and {} more allowedRoles violations (enforcement: deny shows them)",
                lines.len() - shown
            ),
            WARNING_LIMIT,
        ));
    }
    out
}

/// Cuts other warnings (lookup failures, malformed roles) to what the API
/// server keeps.
pub fn bound_warnings(warnings: &mut Vec<String>) {
    warnings.truncate(MAX_WARNINGS);
    for w in warnings.iter_mut() {
        *w = names::truncate(std::mem::take(w), WARNING_LIMIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allowlist::AllowedRoles;
    use crate::allowlist::PatternList;
    use crate::role::{ContainerKind, ContainerRef};
    use crate::usage::Unverifiable;

    fn allowed() -> AllowedRoles {
        let map = [(
            "team-a".to_owned(),
            PatternList(vec!["arn:aws:iam::111122223333:role/team-a-*".to_owned()]),
        )]
        .into();
        AllowedRoles::parse(&map).unwrap()
    }

    fn value_from(container: &str, secret: &str) -> Violation {
        Violation::Unverifiable(Unverifiable::ValueFrom {
            container: ContainerRef {
                kind: ContainerKind::Regular,
                name: container.into(),
            },
            variable: "AWS_ROLE_ARN".into(),
            from: secret.into(),
        })
    }

    #[test]
    fn identical_violations_merge_naming_containers_and_entries() {
        let allowed = allowed();
        let allowance = allowed.for_namespace("team-a");
        let mut violations = vec![value_from("a", "secretKeyRef"); 3];
        violations.push(value_from("b", "secretKeyRef"));
        violations.push(value_from("c", "configMapKeyRef"));
        let message = message("Pod \"web\"", &allowance, &violations);
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 2, "{message}");
        assert!(
            lines[0].starts_with(
                "Pod \"web\": AWS_ROLE_ARN of container \"a\" and 1 other containers (4 entries) \
                 comes from secretKeyRef"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("of container \"c\" comes from configMapKeyRef"));
    }

    #[test]
    fn a_message_is_cut_at_4_kib_saying_how_many_more() {
        let allowed = allowed();
        let allowance = allowed.for_namespace("team-a");
        let violations: Vec<Violation> = (0..10_000)
            .map(|i| value_from("a", &format!("source-{i}")))
            .collect();
        let message = message("Pod \"web\"", &allowance, &violations);
        assert!(message.len() <= MESSAGE_LIMIT, "{}", message.len());
        let last = message.lines().last().unwrap();
        let shown = message.lines().count() - 1;
        assert_eq!(last, format!("... and {} more", 10_000 - shown));
    }

    #[test]
    fn warn_mode_sends_a_few_short_warnings_roles_first() {
        let allowed = allowed();
        let allowance = allowed.for_namespace("team-a");
        let mut violations: Vec<Violation> = (0..50)
            .map(|i| value_from(&"x".repeat(300), &format!("source-{i}")))
            .collect();
        violations.insert(
            0,
            Violation::NotAllowed {
                role: "arn:aws:iam::999988887777:role/admin".into(),
                source: crate::role::RoleSource::PodIdentityAssociation,
            },
        );
        let warnings = warnings("Pod \"web\"", &allowance, &violations);
        assert_eq!(warnings.len(), MAX_WARNINGS);
        assert!(warnings.iter().all(|w| w.len() <= WARNING_LIMIT));
        assert!(warnings[0].contains("role/admin\" (podIdentity association) is not allowed"));
        assert!(warnings[1].contains("xxx…(300 bytes)"), "{}", warnings[1]);
        assert_eq!(
            warnings[4],
            "Pod \"web\": ... and 47 more allowedRoles violations (enforcement: deny shows them)"
        );
    }
}
