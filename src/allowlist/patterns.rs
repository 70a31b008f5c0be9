//! Role patterns and the `allowedRoles` document: parsed whole when the
//! policy is loaded, read per namespace when a request comes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::arn::{self, RoleArn};
use crate::glob::{self, Glob, NAMESPACE_PLACEHOLDER};
use crate::names::{self, Shown};

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
    #[cfg(test)]
    pub fn render(&self, namespace: &str) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.partition.render(namespace),
            self.account.render(namespace),
            self.path_and_name.render(namespace)
        )
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
    /// in key order. A document that cannot be read allows nothing. Keys
    /// and patterns are borrowed from the text where they hold no escape.
    pub fn for_namespace<'a>(&'a self, namespace: &'a str) -> NamespaceAllowance<'a> {
        let mut deserializer = serde_json::Deserializer::from_slice(self.json.as_bytes());
        let matching = MatchingKeys { namespace }
            .deserialize(&mut deserializer)
            .unwrap_or_default();
        NamespaceAllowance {
            namespace,
            patterns: matching.into_values().flatten().collect(),
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
    type Value = BTreeMap<Cow<'de, str>, Vec<Cow<'de, str>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MatchingKeys<'_> {
    type Value = BTreeMap<Cow<'de, str>, Vec<Cow<'de, str>>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of namespace keys to role patterns")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = BTreeMap::new();
        while let Some(key) = map.next_key_seed(Text)? {
            if glob::matches(&key, self.namespace, None) {
                found.insert(key, map.next_value_seed(Patterns)?);
            } else {
                found.remove(&key);
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A string, borrowed from the text unless it holds an escape.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
}

/// A [`PatternList`], borrowed from the text where it can be (a request
/// reads its namespace's patterns this way).
struct Patterns;

impl<'de> DeserializeSeed<'de> for Patterns {
    type Value = Vec<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Patterns {
    type Value = Vec<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of role ARN patterns, or one string of space-separated patterns")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(text.split_whitespace().map(Cow::Borrowed).collect())
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(text
            .split_whitespace()
            .map(|p| Cow::Owned(p.to_owned()))
            .collect())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut patterns = Vec::new();
        while let Some(p) = seq.next_element_seed(Text)? {
            patterns.push(p);
        }
        Ok(patterns)
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
    patterns: Vec<Cow<'a, str>>,
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

/// `allowedRoles` values: a list of patterns, or one string of
/// whitespace-separated patterns (role ARNs never contain whitespace).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(transparent)]
pub struct PatternList(pub Vec<String>);

impl<'de> Deserialize<'de> for PatternList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patterns = Patterns.deserialize(deserializer)?;
        Ok(PatternList(
            patterns.into_iter().map(Cow::into_owned).collect(),
        ))
    }
}
