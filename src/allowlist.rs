//! The namespace-to-role allow-list (`allowedRoles`).
//!
//! Keys are namespace names or globs; every key that matches a namespace
//! contributes its patterns. Patterns are IAM role ARNs in which `*` and `?`
//! never match `:`, so no pattern can widen a partition or an account by
//! accident, and `{namespace}` stands for the namespace being checked.

use std::collections::{BTreeMap, BTreeSet};

use crate::arn::{self, RoleArn};
use crate::constants::ENV_ROLE_ARN;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::glob::{self, Glob, NAMESPACE_PLACEHOLDER};
use crate::names::{self, Shown};
use crate::role::{ContainerRef, Role, RoleSource};
use crate::usage::{PodUsage, StsToken, Unverifiable};

/// [`RolePattern::matches`] of a pattern as written, without compiling it:
/// `arn:<partition>:iam::<account>:role/<path-and-name>`, each part a glob.
/// Anything else matches nothing.
pub fn pattern_matches(pattern: &str, role: &RoleArn, namespace: &str) -> bool {
    let mut parts = pattern.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    // The resource holds no ':' in a valid pattern.
    let Some(path_and_name) = resource.strip_prefix("role/").filter(|r| !r.contains(':')) else {
        return false;
    };
    glob::matches(partition, role.partition(), None)
        && glob::matches(account, role.account(), None)
        && glob::matches(path_and_name, role.path_and_name(), Some(namespace))
}

/// A compiled role pattern: `arn:<partition>:iam::<account>:role/<path-and-name>`,
/// each part a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePattern {
    raw: String,
    partition: Glob,
    account: Glob,
    path_and_name: Glob,
}

impl RolePattern {
    pub fn parse(raw: &str) -> Result<RolePattern, String> {
        let parts: Vec<&str> = raw.split(':').collect();
        let [arn_prefix, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(format!(
                "{raw:?} is not an IAM role ARN pattern: expected arn:<partition>:iam::<account>:role/<name>"
            ));
        };
        if *arn_prefix != "arn" {
            return Err(format!("{raw:?} does not start with \"arn:\""));
        }
        if *service != "iam" || !region.is_empty() {
            return Err(format!(
                "{raw:?}: the service must be exactly \"iam\" with an empty region"
            ));
        }
        let partition =
            Glob::compile(partition, false).map_err(|e| format!("{raw:?}: partition {e}"))?;
        if partition.has_wildcards() {
            if let Some(c) = partition
                .literal_chars()
                .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
            {
                return Err(format!("{raw:?}: partition contains {c:?}"));
            }
        } else {
            arn::check_partition(&partition.render("")).map_err(|e| format!("{raw:?}: {e}"))?;
        }
        let account = Glob::compile(account, false).map_err(|e| format!("{raw:?}: account {e}"))?;
        if let Some(c) = account.literal_chars().find(|c| !c.is_ascii_digit()) {
            return Err(format!("{raw:?}: account contains {c:?}, not a digit"));
        }
        match account.fixed_length() {
            (12, false) => {}
            (n, true) if n <= 12 => {}
            _ => return Err(format!("{raw:?}: account is not 12 digits")),
        }
        let path_and_name = resource
            .strip_prefix("role/")
            .ok_or_else(|| format!("{raw:?}: the resource must start with \"role/\""))?;
        let path_and_name =
            Glob::compile(path_and_name, true).map_err(|e| format!("{raw:?}: role name {e}"))?;
        if let Some(c) = path_and_name
            .literal_chars()
            .find(|c| !arn::is_role_char(*c))
        {
            return Err(format!("{raw:?}: role name contains {c:?}"));
        }
        if path_and_name.render("ns").is_empty() {
            return Err(format!("{raw:?}: the role name is empty"));
        }
        Ok(RolePattern {
            raw: raw.to_owned(),
            partition,
            account,
            path_and_name,
        })
    }

    pub fn matches(&self, role: &RoleArn, namespace: &str) -> bool {
        self.partition.matches(role.partition(), namespace)
            && self.account.matches(role.account(), namespace)
            && self.path_and_name.matches(role.path_and_name(), namespace)
    }

    /// The pattern as it applies in `namespace`.
    pub fn render(&self, namespace: &str) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.partition.render(namespace),
            self.account.render(namespace),
            self.path_and_name.render(namespace)
        )
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// The `allowedRoles` map, kept as the settings' JSON text. Every request
/// runs on a fresh instance, so nothing compiled would be reused: a request
/// reads only the keys that match its namespace, and matches their
/// patterns as written. `validate_settings` checks every key and pattern
/// ([`AllowedRoles::parse`]), so a request never meets a bad one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRoles {
    json: String,
}

impl AllowedRoles {
    /// Checks every key and pattern of the settings map; errors name the
    /// key and the pattern.
    pub fn parse(map: &BTreeMap<String, PatternList>) -> Result<AllowedRoles, Vec<String>> {
        let mut errors = Vec::new();
        for (key, patterns) in map {
            let field = format!("allowedRoles[{key:?}]");
            if let Err(e) = check_namespace_key(key).and_then(|()| Glob::compile(key, false)) {
                errors.push(format!("{field}: namespace key {e}"));
                continue;
            }
            for (i, p) in patterns.0.iter().enumerate() {
                if let Err(e) = RolePattern::parse(p) {
                    errors.push(format!("{field}[{i}]: {e}"));
                }
            }
        }
        if errors.is_empty() {
            Ok(AllowedRoles::unchecked(
                serde_json::to_string(map).unwrap_or_default(),
            ))
        } else {
            Err(errors)
        }
    }

    /// The map as JSON text that `validate_settings` accepted.
    pub fn unchecked(json: String) -> AllowedRoles {
        AllowedRoles { json }
    }

    /// What `namespace` may use: the union of every matching key's patterns,
    /// in key order. A document that cannot be read allows nothing.
    pub fn for_namespace<'a>(&self, namespace: &'a str) -> NamespaceAllowance<'a> {
        let mut deserializer = serde_json::Deserializer::from_str(&self.json);
        let matching = MatchingKeys { namespace }
            .deserialize(&mut deserializer)
            .unwrap_or_default();
        NamespaceAllowance {
            namespace,
            patterns: matching.into_values().flat_map(|p| p.0).collect(),
        }
    }
}

/// Reads the `allowedRoles` map, keeping only the keys that match a
/// namespace (the last of duplicates, as a map would) and skipping the
/// rest unread.
struct MatchingKeys<'n> {
    namespace: &'n str,
}

impl<'de> DeserializeSeed<'de> for MatchingKeys<'_> {
    type Value = BTreeMap<String, PatternList>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MatchingKeys<'_> {
    type Value = BTreeMap<String, PatternList>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of namespace keys to role patterns")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if glob::matches(&key, self.namespace, None) {
                found.insert(key, map.next_value::<PatternList>()?);
            } else {
                found.remove(&key);
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Namespace keys are names, or globs over name characters.
fn check_namespace_key(key: &str) -> Result<(), String> {
    if key.contains(['*', '?']) {
        match key
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-*?".contains(*c)))
        {
            Some(c) => Err(format!("{key:?} contains {c:?}")),
            None => Ok(()),
        }
    } else {
        names::check_dns_label(key)
    }
}

/// The patterns one namespace may use, as written.
#[derive(Debug, Clone)]
pub struct NamespaceAllowance<'a> {
    namespace: &'a str,
    patterns: Vec<String>,
}

impl NamespaceAllowance<'_> {
    pub fn allows(&self, role: &RoleArn) -> bool {
        self.patterns
            .iter()
            .any(|p| pattern_matches(p, role, self.namespace))
    }

    /// For messages: the patterns as they apply here, or that there are none.
    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            return format!(
                "no roles are allowed in namespace {}",
                Shown(self.namespace)
            );
        }
        let mut list: Vec<String> = self
            .patterns
            .iter()
            .take(DESCRIBED_PATTERNS)
            .map(|p| {
                Shown(&p.replace(NAMESPACE_PLACEHOLDER, self.namespace))
                    .bare()
                    .to_string()
            })
            .collect();
        if let Some(more) = self.patterns.len().checked_sub(DESCRIBED_PATTERNS)
            && more > 0
        {
            list.push(format!("and {more} more patterns"));
        }
        format!(
            "namespace {} allows only {}",
            Shown(self.namespace),
            list.join(", ")
        )
    }
}

/// How many patterns a message lists: a message stays small however many
/// the settings give a namespace.
const DESCRIBED_PATTERNS: usize = 10;

/// See [`Violation::merge_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MergeKey<'a>(u8, &'a str, &'a str, &'a str);

/// One way an object breaks the allow-list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    NotAllowed {
        role: String,
        source: RoleSource,
    },
    Malformed {
        value: String,
        source: RoleSource,
        reason: String,
    },
    Unverifiable(Unverifiable),
    /// An STS-audience token with no role to go with it: the Pod could
    /// assume any role whose trust policy accepts its ServiceAccount.
    UnclaimedToken(StsToken),
}

impl Violation {
    /// The container this violation is about, if any: the same violation in
    /// several containers (or several entries) is reported once.
    pub fn container(&self) -> Option<&ContainerRef> {
        match self {
            Violation::NotAllowed { source, .. } | Violation::Malformed { source, .. } => {
                source.container()
            }
            Violation::Unverifiable(u) => Some(u.container()),
            Violation::UnclaimedToken(_) => None,
        }
    }

    /// What identifies a violation apart from its container: violations
    /// with the same key read the same but for the container, and merge.
    /// Built without formatting, so merging 100,000 violations is cheap.
    pub fn merge_key(&self) -> MergeKey<'_> {
        let (tag, a, source) = match self {
            Violation::NotAllowed { role, source } => (0, role.as_str(), Some(source)),
            Violation::Malformed { value, source, .. } => (1, value.as_str(), Some(source)),
            Violation::Unverifiable(Unverifiable::ValueFrom { variable, from, .. }) => {
                return MergeKey(2, variable, from, "");
            }
            Violation::Unverifiable(Unverifiable::EnvFrom { from, volume, .. }) => {
                return MergeKey(3, from, volume, "");
            }
            Violation::Unverifiable(Unverifiable::ConfigFile {
                variable,
                path,
                volume,
                ..
            }) => return MergeKey(4, variable, path, volume),
            Violation::Unverifiable(Unverifiable::JavaOptionsFile { variable, .. }) => {
                return MergeKey(5, variable, "", "");
            }
            Violation::UnclaimedToken(StsToken { volume, audience }) => {
                return MergeKey(6, volume, audience, "");
            }
        };
        let (kind, detail) = source.map(RoleSource::merge_parts).unwrap_or_default();
        MergeKey(tag, a, kind, detail)
    }

    /// What the message adds after [`Violation::text`]: what the namespace
    /// allows, given as `described`.
    pub fn allowance_suffix(&self, described: &str) -> String {
        match self {
            Violation::NotAllowed { .. } => format!(": {described}"),
            Violation::Malformed { .. } => String::new(),
            _ => format!(" ({described})"),
        }
    }

    /// The problem, without the object it is about; `container` stands for
    /// the container (or containers) it was found in. Tenant-written values
    /// are cut short, so a line stays small whatever the input.
    pub fn text(&self, container: &str) -> String {
        match self {
            Violation::NotAllowed { role, source } => format!(
                "IAM role {} ({}) is not allowed",
                Shown(role),
                source.with_container(container)
            ),
            Violation::Malformed {
                value,
                source,
                reason,
            } => format!(
                "{} {} is not a well-formed IAM role ARN ({}), so it cannot be checked against allowedRoles",
                source.with_container(container),
                Shown(value),
                Shown(reason).bare()
            ),
            Violation::Unverifiable(Unverifiable::ValueFrom { variable, from, .. }) => {
                let what = if variable.eq_ignore_ascii_case(ENV_ROLE_ARN) {
                    "its role"
                } else {
                    "the role it selects"
                };
                format!(
                    "{} of {container} comes from {}, which the policy cannot read, \
                     so {what} cannot be checked against allowedRoles; set it as a literal value",
                    Shown(variable).bare(),
                    Shown(from).bare()
                )
            }
            Violation::Unverifiable(Unverifiable::EnvFrom { from, volume, .. }) => format!(
                "{container} can read STS token volume {} and takes env from {}, \
                 which could set AWS_ROLE_ARN to a role the policy cannot check; \
                 set AWS_ROLE_ARN as a literal value in its env",
                Shown(volume),
                Shown(from).bare()
            ),
            Violation::Unverifiable(Unverifiable::ConfigFile {
                variable,
                path,
                volume,
                ..
            }) => format!(
                "{} of {container} points at {} in volume {}, an AWS config file that can \
                 name any role_arn for its STS token, which the policy cannot read; \
                 set AWS_ROLE_ARN as a literal value instead",
                Shown(variable).bare(),
                Shown(path),
                Shown(volume)
            ),
            Violation::Unverifiable(Unverifiable::JavaOptionsFile { variable, .. }) => format!(
                "{} of {container} reads JVM options from a file, which could set \
                 -Daws.roleArn to a role the policy cannot check; \
                 set the options inline",
                Shown(variable).bare()
            ),
            Violation::UnclaimedToken(StsToken { volume, audience }) => format!(
                "projected token volume {} has STS audience {} but the Pod uses no role, \
                 so it could assume any role that trusts its ServiceAccount; \
                 set AWS_ROLE_ARN to an allowed role",
                Shown(volume),
                Shown(audience)
            ),
        }
    }
}

/// Checks the roles an object uses against what its namespace allows.
/// `roles` are the ServiceAccount's first, then the literal env roles; a
/// value already judged is not reported twice (the injected `AWS_ROLE_ARN`
/// repeats the ServiceAccount's role in every container).
pub fn check(
    allowance: &NamespaceAllowance<'_>,
    roles: &[&Role],
    usage: &PodUsage,
) -> Vec<Violation> {
    judge(allowance, roles, usage, true)
}

/// [`check`], reporting a role in every container that uses it: an update
/// is judged per container, so a new container is a new use of a role even
/// when an old one already had it.
pub fn check_per_container(
    allowance: &NamespaceAllowance<'_>,
    roles: &[&Role],
    usage: &PodUsage,
) -> Vec<Violation> {
    judge(allowance, roles, usage, false)
}

fn judge(
    allowance: &NamespaceAllowance<'_>,
    roles: &[&Role],
    usage: &PodUsage,
    once_per_value: bool,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    // A set, not a scan of the earlier roles: one role per container made
    // that quadratic in containers.
    let mut judged = BTreeSet::new();
    for role in roles {
        if once_per_value && !judged.insert(role.value.as_str()) {
            continue;
        }
        match &role.arn {
            Ok(arn) if allowance.allows(arn) => {}
            Ok(_) => violations.push(Violation::NotAllowed {
                role: role.value.clone(),
                source: role.source.clone(),
            }),
            Err(reason) => violations.push(Violation::Malformed {
                value: role.value.clone(),
                source: role.source.clone(),
                reason: reason.clone(),
            }),
        }
    }
    violations.extend(
        usage
            .unverifiable
            .iter()
            .cloned()
            .map(Violation::Unverifiable),
    );
    // A token with no role at all: any role trusting the ServiceAccount is
    // reachable. (With roles, each is judged above.)
    if roles.is_empty() {
        violations.extend(
            usage
                .sts_tokens
                .iter()
                .cloned()
                .map(Violation::UnclaimedToken),
        );
    }
    violations
}

/// `allowedRoles` values: a list of patterns, or one string of
/// whitespace-separated patterns (role ARNs never contain whitespace).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(transparent)]
pub struct PatternList(pub Vec<String>);

impl<'de> Deserialize<'de> for PatternList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = PatternList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a list of role ARN patterns, or one string of space-separated patterns",
                )
            }
            fn visit_str<E: serde::de::Error>(self, patterns: &str) -> Result<PatternList, E> {
                Ok(PatternList(
                    patterns.split_whitespace().map(str::to_owned).collect(),
                ))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PatternList, A::Error> {
                let mut patterns = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    patterns.push(p);
                }
                Ok(PatternList(patterns))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(s: &str) -> RoleArn {
        RoleArn::parse(s).unwrap()
    }

    fn allowed(map: &[(&str, &[&str])]) -> AllowedRoles {
        let map = map
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    PatternList(v.iter().map(|p| p.to_string()).collect()),
                )
            })
            .collect();
        AllowedRoles::parse(&map).unwrap()
    }

    fn pattern_matches(pattern: &str, arn: &str, namespace: &str) -> bool {
        RolePattern::parse(pattern)
            .unwrap()
            .matches(&role(arn), namespace)
    }

    #[test]
    fn each_role_value_is_judged_once_where_it_first_appears() {
        let settings = crate::settings::parse(&serde_json::json!({})).unwrap();
        let env = |name: &str| RoleSource::Env {
            container: crate::role::ContainerRef {
                kind: crate::role::ContainerKind::Regular,
                name: name.into(),
            },
        };
        let denied = "arn:aws:iam::999988887777:role/x";
        let roles = [
            Role::new(
                denied,
                settings.compose_role_arn.as_ref(),
                RoleSource::Annotation { key: "k".into() },
            ),
            Role::new(denied, settings.compose_role_arn.as_ref(), env("a")),
            Role::new(
                "arn:aws:iam::111122223333:role/ok",
                settings.compose_role_arn.as_ref(),
                env("b"),
            ),
            Role::new("bad", settings.compose_role_arn.as_ref(), env("c")),
            Role::new(denied, settings.compose_role_arn.as_ref(), env("d")),
            Role::new("bad", settings.compose_role_arn.as_ref(), env("e")),
        ];
        let refs: Vec<&Role> = roles.iter().collect();
        let allowed = allowed(&[("team-a", &["arn:aws:iam::111122223333:role/ok"])]);
        let violations = check(
            &allowed.for_namespace("team-a"),
            &refs,
            &PodUsage::default(),
        );
        let judged: Vec<(&str, &RoleSource)> = violations
            .iter()
            .map(|v| match v {
                Violation::NotAllowed { role, source } => (role.as_str(), source),
                Violation::Malformed { value, source, .. } => (value.as_str(), source),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            judged,
            [
                (denied, &RoleSource::Annotation { key: "k".into() }),
                ("bad", &env("c")),
            ]
        );
    }

    /// Requests match patterns as written; the compiled form is the
    /// reference.
    #[test]
    fn matching_as_written_equals_the_compiled_pattern() {
        let patterns = [
            "arn:aws:iam::111122223333:role/payments-*",
            "arn:aws:iam::*:role/reader",
            "arn:aws*:iam::111122223333:role/r",
            "arn:aws:iam::1111????3333:role/r",
            "arn:aws:iam::111122223333:role/{namespace}/*",
            "arn:aws:iam::111122223333:role/*",
            "arn:*:iam::*:role/*",
            "arn:aws:iam::111122223333:role/a?c",
        ];
        let roles = [
            "arn:aws:iam::111122223333:role/payments-api",
            "arn:aws:iam::999988887777:role/reader",
            "arn:aws-us-gov:iam::111122223333:role/r",
            "arn:aws:iam::111122224444:role/r",
            "arn:aws:iam::111122223333:role/team-a/x",
            "arn:aws:iam::111122223333:role/team-b/x",
            "arn:aws-cn:iam::111122223333:role/abc",
            "arn:aws:iam::111122223333:role/a/c",
        ];
        for p in patterns {
            let compiled = RolePattern::parse(p).unwrap();
            for r in roles {
                let arn = role(r);
                for ns in ["team-a", "team-b"] {
                    assert_eq!(
                        super::pattern_matches(p, &arn, ns),
                        compiled.matches(&arn, ns),
                        "{p} on {r} in {ns}"
                    );
                }
            }
        }
        assert!(!super::pattern_matches("not-an-arn", &role(roles[0]), "x"));
        assert!(!super::pattern_matches(
            "arn:aws:iam::1:role/a:b",
            &role(roles[0]),
            "x"
        ));
    }

    #[test]
    fn a_request_reads_only_the_keys_of_its_namespace_last_duplicate_wins() {
        let json = r#"{"team-b": ["arn:aws:iam::111122223333:role/b"],
                       "team-*": "arn:aws:iam::111122223333:role/{namespace}/* arn:aws:iam::111122223333:role/x",
                       "team-a": ["arn:aws:iam::111122223333:role/first"],
                       "team-a": ["arn:aws:iam::111122223333:role/last"]}"#;
        let allowed = AllowedRoles::unchecked(json.to_owned());
        let ns = allowed.for_namespace("team-a");
        assert_eq!(
            ns.describe(),
            "namespace \"team-a\" allows only arn:aws:iam::111122223333:role/team-a/*, \
             arn:aws:iam::111122223333:role/x, arn:aws:iam::111122223333:role/last"
        );
        assert!(ns.allows(&role("arn:aws:iam::111122223333:role/last")));
        assert!(!ns.allows(&role("arn:aws:iam::111122223333:role/first")));
        assert!(!ns.allows(&role("arn:aws:iam::111122223333:role/b")));
        let broken = AllowedRoles::unchecked("[1".to_owned());
        assert!(
            !broken
                .for_namespace("team-a")
                .allows(&role("arn:aws:iam::111122223333:role/x"))
        );
    }

    #[test]
    fn star_never_crosses_a_colon_but_crosses_slashes() {
        let p = "arn:aws:iam::111122223333:role/payments-*";
        assert!(pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/payments-api",
            "x"
        ));
        assert!(pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/payments-",
            "x"
        ));
        assert!(
            pattern_matches(p, "arn:aws:iam::111122223333:role/payments-a/b", "x"),
            "* spans '/', as in IAM policy ARNs"
        );
        assert!(!pattern_matches(
            p,
            "arn:aws:iam::999988887777:role/payments-api",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "arn:aws-cn:iam::111122223333:role/payments-api",
            "x"
        ));
        // A * in the resource can never reach into another account.
        let wide = "arn:aws:iam::111122223333:role/*";
        assert!(!pattern_matches(
            wide,
            "arn:aws:iam::999988887777:role/x",
            "x"
        ));
    }

    #[test]
    fn wildcards_in_account_and_partition_are_explicit() {
        assert!(pattern_matches(
            "arn:aws:iam::*:role/reader",
            "arn:aws:iam::999988887777:role/reader",
            "x"
        ));
        assert!(pattern_matches(
            "arn:aws*:iam::111122223333:role/r",
            "arn:aws-us-gov:iam::111122223333:role/r",
            "x"
        ));
        assert!(pattern_matches(
            "arn:aws:iam::1111????3333:role/r",
            "arn:aws:iam::111122223333:role/r",
            "x"
        ));
        assert!(!pattern_matches(
            "arn:aws:iam::1111????3333:role/r",
            "arn:aws:iam::111122224444:role/r",
            "x"
        ));
    }

    #[test]
    fn partitions_cn_and_gov_are_distinct() {
        let cn = "arn:aws-cn:iam::111122223333:role/app";
        let gov = "arn:aws-us-gov:iam::111122223333:role/app";
        assert!(pattern_matches(cn, cn, "x"));
        assert!(!pattern_matches(cn, gov, "x"));
        assert!(pattern_matches(gov, gov, "x"));
        assert!(!pattern_matches(
            "arn:aws:iam::111122223333:role/app",
            cn,
            "x"
        ));
    }

    #[test]
    fn namespace_placeholder_expands_to_the_object_namespace() {
        let p = "arn:aws:iam::111122223333:role/{namespace}/*";
        assert!(pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/team-a/app",
            "team-a"
        ));
        assert!(!pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/team-b/app",
            "team-a"
        ));
        assert_eq!(
            RolePattern::parse(p).unwrap().render("team-a"),
            "arn:aws:iam::111122223333:role/team-a/*"
        );
    }

    #[test]
    fn question_mark_is_one_character_never_a_colon() {
        let p = "arn:aws:iam::111122223333:role/app-?";
        assert!(pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/app-1",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/app-12",
            "x"
        ));
        assert!(!pattern_matches(
            p,
            "arn:aws:iam::111122223333:role/app-",
            "x"
        ));
    }

    #[test]
    fn keys_are_a_union_and_unmatched_namespaces_get_nothing() {
        let a = allowed(&[
            ("payments", &["arn:aws:iam::111122223333:role/payments-*"]),
            ("team-*", &["arn:aws:iam::111122223333:role/{namespace}/*"]),
            ("*", &["arn:aws:iam::111122223333:role/shared-read-only"]),
        ]);
        let shared = role("arn:aws:iam::111122223333:role/shared-read-only");
        let payments = role("arn:aws:iam::111122223333:role/payments-api");
        let team = role("arn:aws:iam::111122223333:role/team-x/app");
        let p = a.for_namespace("payments");
        assert!(p.allows(&payments) && p.allows(&shared) && !p.allows(&team));
        let t = a.for_namespace("team-x");
        assert!(t.allows(&team) && t.allows(&shared) && !t.allows(&payments));
        assert!(!a.for_namespace("team-y").allows(&team));

        let strict = allowed(&[("payments", &["arn:aws:iam::111122223333:role/payments-*"])]);
        let other = strict.for_namespace("default");
        assert!(!other.allows(&payments));
        assert_eq!(
            other.describe(),
            "no roles are allowed in namespace \"default\""
        );
        assert_eq!(
            strict.for_namespace("payments").describe(),
            "namespace \"payments\" allows only arn:aws:iam::111122223333:role/payments-*"
        );
    }

    #[test]
    fn question_mark_namespace_keys() {
        let a = allowed(&[("team-?", &["arn:aws:iam::111122223333:role/x"])]);
        let x = role("arn:aws:iam::111122223333:role/x");
        assert!(a.for_namespace("team-a").allows(&x));
        assert!(!a.for_namespace("team-ab").allows(&x));
    }

    #[test]
    fn bad_patterns_and_keys_name_the_key_and_pattern() {
        let cases: &[(&str, &str, &str)] = &[
            ("ns", "arn:aws:iam::1111:role/x", "account is not 12 digits"),
            ("ns", "arn:aws:iam::11112222333x:role/x", "not a digit"),
            (
                "ns",
                "arn:aws:s3:::bucket/*",
                "service must be exactly \"iam\"",
            ),
            (
                "ns",
                "arn:aws:iam::111122223333:user/x",
                "must start with \"role/\"",
            ),
            (
                "ns",
                "arn:aws:iam::111122223333:role/",
                "role name is empty",
            ),
            (
                "ns",
                "arn:aws:iam::111122223333:role/a b",
                "role name contains ' '",
            ),
            (
                "ns",
                "arn:aws:iam::111122223333:role/{team}",
                "only placeholder",
            ),
            (
                "ns",
                "arn:gcp:iam::111122223333:role/x",
                "not an AWS partition",
            ),
            (
                "ns",
                "arn:AWS*:iam::111122223333:role/x",
                "partition contains 'A'",
            ),
            ("ns", "role/x", "not an IAM role ARN pattern"),
            (
                "ns",
                "arn:aws:iam::111122223333:role/x:y",
                "not an IAM role ARN pattern",
            ),
            (
                "ns",
                "arn:aws:iam::{namespace}:role/x",
                "account \"{namespace}\" contains '{'",
            ),
            (
                "Bad_NS",
                "arn:aws:iam::111122223333:role/x",
                "namespace key",
            ),
            (
                "team_*",
                "arn:aws:iam::111122223333:role/x",
                "namespace key \"team_*\" contains '_'",
            ),
        ];
        for (key, pattern, reason) in cases {
            let map = [(key.to_string(), PatternList(vec![pattern.to_string()]))]
                .into_iter()
                .collect();
            let errors = AllowedRoles::parse(&map).unwrap_err();
            let joined = errors.join("; ");
            assert!(
                joined.contains(&format!("allowedRoles[{key:?}]")),
                "{joined}"
            );
            assert!(
                joined.contains(reason),
                "{pattern}: expected {reason:?} in {joined}"
            );
        }
    }
}
