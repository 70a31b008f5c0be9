//! *Allowed(R)*: the namespaces whose `allowedRoles` patterns match role R,
//! as an automaton over namespace names, using the policy's own matcher.
//!
//! A pattern without `{namespace}` matches R or not whatever the namespace,
//! so it allows every namespace its key (a glob over namespace names)
//! matches. A pattern with `{namespace}` can match R only where the
//! namespace is a substring of R's path and name: those substrings are a
//! finite candidate set, and each candidate is checked with the policy's
//! matcher.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use irsa_policy::allowlist::{AllowedRoles, PatternList, RolePattern, pattern_matches};
use irsa_policy::arn::RoleArn;
use irsa_policy::glob::{self, Glob, GlobPart, NAMESPACE_PLACEHOLDER};

use crate::automata::{Dfa, Item, MAX_NAMESPACE, Pattern, TooComplex, literal};

/// One `allowedRoles` key.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    glob: Pattern,
    pub patterns: Vec<String>,
    /// The patterns without `{namespace}`, compiled by the policy.
    fixed: Vec<RolePattern>,
    /// The patterns with `{namespace}`, as written.
    per_namespace: Vec<String>,
}

/// The allow-list, read once.
#[derive(Debug, Clone)]
pub struct AllowList {
    /// `None` without `allowedRoles`: every namespace may use every role.
    keys: Option<Vec<Key>>,
    /// The policy's own form, for association checks.
    policy: Option<AllowedRoles>,
    cache: HashMap<(Vec<usize>, BTreeSet<String>), Dfa>,
}

/// Allowed(R), with what a message says of it.
#[derive(Debug, Clone)]
pub struct Allowed {
    pub dfa: Dfa,
    /// Keys whose patterns without `{namespace}` match R.
    pub keys: Vec<String>,
    /// Namespaces allowed through a `{namespace}` pattern.
    pub namespaces: BTreeSet<String>,
    /// No `allowedRoles`: no restriction.
    pub unrestricted: bool,
}

impl Allowed {
    /// For messages: what the map allows for this role.
    pub fn describe(&self) -> String {
        if self.unrestricted {
            return "every namespace (no allowedRoles)".to_owned();
        }
        let mut parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                if k.contains(['*', '?']) {
                    format!("namespaces matching {k:?}")
                } else {
                    format!("{k:?}")
                }
            })
            .collect();
        parts.extend(self.namespaces.iter().map(|n| format!("{n:?}")));
        parts.sort();
        parts.dedup();
        if parts.is_empty() {
            "no namespace".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// A key's glob as a pattern over namespace names.
fn key_pattern(glob: &Glob) -> Pattern {
    glob.parts()
        .flat_map(|p| match p {
            GlobPart::Literal(l) => literal(l),
            GlobPart::Star => vec![Item::Star],
            GlobPart::One => vec![Item::One],
            // Keys are compiled without placeholders.
            GlobPart::Namespace => literal(NAMESPACE_PLACEHOLDER),
        })
        .collect()
}

impl AllowList {
    /// From the settings' `allowedRoles` map (already validated by the
    /// policy) and the policy's form of it.
    pub fn new(map: Option<&BTreeMap<String, PatternList>>, policy: Option<AllowedRoles>) -> Self {
        let keys = map.map(|map| {
            map.iter()
                .map(|(name, patterns)| Key {
                    name: name.clone(),
                    // Validated: a key always compiles.
                    glob: Glob::compile(name, false)
                        .map(|g| key_pattern(&g))
                        .unwrap_or_default(),
                    patterns: patterns.0.clone(),
                    // Validated: every pattern parses.
                    fixed: patterns
                        .0
                        .iter()
                        .filter(|p| !p.contains(NAMESPACE_PLACEHOLDER))
                        .filter_map(|p| RolePattern::parse(p).ok())
                        .collect(),
                    per_namespace: patterns
                        .0
                        .iter()
                        .filter(|p| p.contains(NAMESPACE_PLACEHOLDER))
                        .cloned()
                        .collect(),
                })
                .collect()
        });
        AllowList {
            keys,
            policy,
            cache: HashMap::new(),
        }
    }

    pub fn keys(&self) -> &[Key] {
        self.keys.as_deref().unwrap_or(&[])
    }

    /// Whether `namespace` may use `role`, by the policy's own code
    /// (`AllowedRoles::for_namespace` and `NamespaceAllowance::allows`).
    pub fn allows(&self, namespace: &str, role: &RoleArn) -> bool {
        match &self.policy {
            Some(policy) => policy.for_namespace(namespace).allows(role),
            None => true,
        }
    }

    /// For messages: what `namespace` may use.
    pub fn describe_namespace(&self, namespace: &str) -> String {
        match &self.policy {
            Some(policy) => policy.for_namespace(namespace).describe(),
            None => "no allowedRoles: every role is allowed".to_owned(),
        }
    }

    /// Allowed(R).
    pub fn for_role(&mut self, role: &RoleArn) -> Result<Allowed, TooComplex> {
        let Some(keys) = &self.keys else {
            return Ok(Allowed {
                dfa: Dfa::everything(),
                keys: Vec::new(),
                namespaces: BTreeSet::new(),
                unrestricted: true,
            });
        };
        let mut active = Vec::new();
        let mut namespaces = BTreeSet::new();
        let mut candidates: Option<Vec<&str>> = None;
        for (i, key) in keys.iter().enumerate() {
            if key.fixed.iter().any(|p| p.matches(role, "")) {
                active.push(i);
                continue;
            }
            let with = &key.per_namespace;
            if with.is_empty() {
                continue;
            }
            let candidates = candidates.get_or_insert_with(|| substrings(role.path_and_name()));
            let literal_key = !key.name.contains(['*', '?']);
            let matching: Vec<&&str> = if literal_key {
                candidates
                    .iter()
                    .filter(|c| **c == key.name)
                    .take(1)
                    .collect()
            } else {
                candidates
                    .iter()
                    .filter(|c| glob::matches(&key.name, c, None))
                    .collect()
            };
            for c in matching {
                if with.iter().any(|p| pattern_matches(p, role, c)) {
                    namespaces.insert((*c).to_owned());
                }
            }
        }
        let cache_key = (active.clone(), namespaces.clone());
        let dfa = match self.cache.get(&cache_key) {
            Some(dfa) => dfa.clone(),
            None => {
                let mut patterns: Vec<Pattern> = active
                    .iter()
                    .filter_map(|&i| keys.get(i))
                    .map(|k| k.glob.clone())
                    .collect();
                patterns.extend(namespaces.iter().map(|n| literal(n)));
                let dfa = Dfa::union_of(&patterns)?;
                self.cache.insert(cache_key, dfa.clone());
                dfa
            }
        };
        Ok(Allowed {
            dfa,
            keys: active
                .iter()
                .filter_map(|&i| keys.get(i))
                .map(|k| k.name.clone())
                .collect(),
            namespaces,
            unrestricted: false,
        })
    }
}

/// The distinct substrings of `text` that are valid namespace names: the
/// only values `{namespace}` can take in a pattern that matches `text`.
fn substrings(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let label = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut found = Vec::new();
    for start in 0..bytes.len() {
        if !bytes.get(start).is_some_and(|&b| alnum(b)) {
            continue;
        }
        for end in start + 1..=bytes.len().min(start + MAX_NAMESPACE) {
            let Some(&last) = bytes.get(end - 1) else {
                break;
            };
            if !label(last) {
                break;
            }
            if alnum(last)
                && let Some(s) = text.get(start..end)
            {
                found.push(s);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests;
