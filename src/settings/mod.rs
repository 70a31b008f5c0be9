//! Policy settings: the raw camelCase document users write, and the
//! validated [`Settings`] the rest of the policy works with.
//!
//! Every default equals the webhook flag it replaces (see `constants`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::allowlist::{AllowedRoles, PatternList};
use crate::arn::{ComposeRoleArn, RoleArn};
use crate::constants::*;
use crate::json;
pub use crate::usage::JudgedSources;

mod raw;
mod validate;

pub use raw::*;

#[cfg(test)]
mod tests;

/// How much of the settings to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Everything, every pattern: `validate_settings`, when the policy is
    /// loaded.
    All,
    /// What a request needs: the settings were validated when the policy
    /// was loaded, so the patterns are read only for the namespace at hand.
    Request,
}

/// What to do when the ServiceAccount lookup fails for a reason other than
/// "not found".
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LookupFailure {
    /// Fail closed: a Pod admitted without its credentials would silently
    /// fall back to the node's IAM role.
    #[default]
    Reject,
    Accept,
}

/// What a violation of `allowedRoles` does.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Reject the request (403) with every violation.
    #[default]
    Deny,
    /// Admit it with one admission warning per violation (for rollout).
    Warn,
}

/// The allow-list and how to apply it; present only when `allowedRoles` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Restriction {
    pub allowed: AllowedRoles,
    pub enforcement: Enforcement,
    /// Token audiences that STS accepts: `tokenAudience`,
    /// `sts.amazonaws.com` and `stsAudiences`.
    pub sts_audiences: BTreeSet<String>,
    /// `trustedTokenRequesters`: users and groups besides the nodes that may
    /// request tokens with a guarded audience.
    pub trusted_users: Vec<String>,
    pub trusted_groups: Vec<String>,
    /// `judgedSources`: what the operator declares this policy judges.
    pub judged: JudgedSources,
}

/// Annotation keys derived from `annotationPrefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationKeys {
    pub role_arn: String,
    pub audience: String,
    pub sts_regional_endpoints: String,
    pub token_expiration: String,
    pub skip_containers: String,
}

impl AnnotationKeys {
    fn new(prefix: &str) -> Self {
        // Built for every request (the settings are read per request):
        // `concat` is one allocation and a copy, `format!` a formatter run.
        let key = |name: &str| [prefix, "/", name].concat();
        AnnotationKeys {
            role_arn: key(ROLE_ARN_ANNOTATION),
            audience: key(AUDIENCE_ANNOTATION),
            sts_regional_endpoints: key(STS_REGIONAL_ENDPOINTS_ANNOTATION),
            token_expiration: key(TOKEN_EXPIRATION_ANNOTATION),
            skip_containers: key(SKIP_CONTAINERS_ANNOTATION),
        }
    }
}

/// A `serviceAccountMappings` entry. `None` fields inherit the global setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub role_arn: RoleArn,
    pub audience: Option<String>,
    pub sts_regional_endpoints: Option<bool>,
    pub token_expiration: Option<i64>,
}

/// Namespace part of a mapping key: upstream matches `<ns>/<sa>`, then the
/// literal `*/<sa>` (not a glob).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MappingNamespace {
    Exact(String),
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodIdentity {
    /// `(namespace, serviceAccount)` pairs, matched exactly.
    pub associations: BTreeMap<(String, String), Option<RoleArn>>,
    /// The `targetRoleArn` of the associations that chain into another role.
    pub target_roles: BTreeMap<(String, String), RoleArn>,
    pub audience: String,
    pub mount_path: String,
    pub volume_name: String,
    pub token_path: String,
    pub full_uri: String,
}

/// Validated settings, from [`RawSettings`]. A request builds them from the
/// payload (policy-server evaluates each request on a fresh instance), reading
/// `allowedRoles` only for its namespace ([`Check::Request`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub keys: AnnotationKeys,
    pub token_audience: String,
    pub token_mount_path: String,
    pub token_expiration: i64,
    pub region: Option<String>,
    pub sts_regional_endpoints: bool,
    pub compose_role_arn: Option<ComposeRoleArn>,
    pub mappings: BTreeMap<(MappingNamespace, String), Mapping>,
    pub pod_identity: Option<PodIdentity>,
    pub lookup_failure: LookupFailure,
    pub inject: bool,
    /// `None` without `allowedRoles`: injection only, no role restriction.
    pub restriction: Option<Restriction>,
    /// `decisionLogs`: log why each request was answered as it was. Off by
    /// default: every line is sent to the host, and the module cannot see
    /// policy-server's log level.
    pub decision_logs: bool,
}

/// Parses and validates a settings document (JSON). The error names every
/// bad field and says why it is bad. The document is read as text, so
/// there is one settings reader in the module.
pub fn parse(document: &serde_json::Value) -> Result<Settings, String> {
    parse_bytes(document.to_string().as_bytes())
}

/// Parses settings straight from bytes, so even a number JSON cannot hold
/// (`1e400`) is reported with its field. Empty input means defaults.
pub fn parse_bytes(document: &[u8]) -> Result<Settings, String> {
    parse_bytes_checking(document, Check::All)
}

/// [`parse_bytes`], checking as much as `check` says.
pub fn parse_bytes_checking(document: &[u8], check: Check) -> Result<Settings, String> {
    if document.iter().all(u8::is_ascii_whitespace) {
        return Settings::from_raw_checking(RawSettings::default(), check)
            .map_err(|errors| format!("settings: {}", errors.join("; ")));
    }
    let raw: Option<RawSettings> =
        serde_json::from_slice(document).map_err(|e| field_error("settings", document, &e))?;
    Settings::from_raw_checking(raw.unwrap_or_default(), check)
        .map_err(|errors| format!("settings: {}", errors.join("; ")))
}

/// Reads `allowedRoles` whole and checks every key and pattern.
fn parse_allowed_roles(doc: &AllowedRolesDocument) -> Result<AllowedRoles, Vec<String>> {
    let text = doc.0.get().as_bytes();
    let map: BTreeMap<String, PatternList> =
        serde_json::from_slice(text).map_err(|e| vec![field_error("allowedRoles", text, &e)])?;
    AllowedRoles::parse(&map)
}

/// `settings: <path>: <reason>` for a bad field of `document` (read as
/// `what`); a document that is not JSON is said to be so.
fn field_error(what: &str, document: &[u8], e: &serde_json::Error) -> String {
    match json::error_path(document, e).as_deref() {
        None => format!("settings are not valid JSON: {e}"),
        Some(".") if e.is_syntax() => format!("settings are not valid JSON: {e}"),
        Some(".") if what == "settings" => format!("settings: {e}"),
        Some(".") => format!("{what}: {e}"),
        Some(path) if what == "settings" => format!("settings: {path}: {e}"),
        Some(path) => format!("{what}.{path}: {e}"),
    }
}

impl Settings {
    /// The mapping for `<ns>/<sa>`, else `*/<sa>` (upstream `cache.go:139-142`),
    /// with the key that matched.
    pub fn mapping_for(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> Option<(String, &Mapping)> {
        match self.exact_mapping_for(namespace, service_account) {
            Some(m) => Some((format!("{namespace}/{service_account}"), m)),
            None => self
                .mappings
                .get(&(MappingNamespace::Any, service_account.to_owned()))
                .map(|m| (format!("*/{service_account}"), m)),
        }
    }

    /// The mapping for exactly `<ns>/<sa>`: Pod Identity's common
    /// configuration ignores the `*` entries (`cache.go:159-166`).
    pub fn exact_mapping_for(&self, namespace: &str, service_account: &str) -> Option<&Mapping> {
        self.mappings.get(&(
            MappingNamespace::Exact(namespace.to_owned()),
            service_account.to_owned(),
        ))
    }

    /// Whether `(namespace, serviceAccount)` has a Pod Identity association
    /// (the policy asks `identity::Sources`, which reads the association too).
    #[cfg(test)]
    pub fn pod_identity_for(&self, namespace: &str, service_account: &str) -> Option<&PodIdentity> {
        self.pod_identity.as_ref().filter(|pi| {
            pi.associations
                .contains_key(&(namespace.to_owned(), service_account.to_owned()))
        })
    }
}
