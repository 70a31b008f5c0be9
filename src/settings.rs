//! Policy settings: the raw camelCase document users write, and the
//! validated [`Settings`] the rest of the policy works with.
//!
//! Every default equals the webhook flag it replaces (see `constants`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::allowlist::{AllowedRoles, PatternList};
use crate::arn::{self, ComposeRoleArn, RoleArn};
use crate::constants::*;
use crate::names;

/// The settings document as written. Unknown keys are an error, so a typo
/// never silently falls back to a default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RawSettings {
    pub annotation_prefix: Option<String>,
    pub token_audience: Option<String>,
    pub token_mount_path: Option<String>,
    pub token_expiration_seconds: Option<i64>,
    pub aws_default_region: Option<String>,
    pub sts_regional_endpoints: Option<bool>,
    pub compose_role_arn: Option<RawComposeRoleArn>,
    pub service_account_mappings: Option<BTreeMap<String, MappingEntry>>,
    pub pod_identity: Option<RawPodIdentity>,
    pub service_account_lookup_failure: Option<LookupFailure>,
    pub inject: Option<bool>,
    pub allowed_roles: Option<AllowedRolesDocument>,
    pub enforcement: Option<Enforcement>,
    pub sts_audiences: Option<Vec<String>>,
    pub trusted_token_requesters: Option<RawTrustedRequesters>,
}

/// `allowedRoles` as written: a request reads only the keys that match its
/// namespace (see [`AllowedRoles`]); `validate_settings` reads it whole.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct AllowedRolesDocument(pub Box<serde_json::value::RawValue>);

impl PartialEq for AllowedRolesDocument {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

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

/// Who may request STS-audience tokens (`serviceaccounts/token`) besides
/// the nodes, under `allowedRoles`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RawTrustedRequesters {
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawComposeRoleArn {
    pub partition: String,
    pub account_id: String,
}

/// One entry of upstream's `pod-identity-webhook` ConfigMap, given inline:
/// an object, or just the role ARN as a string (what a key-value editor
/// such as Rancher's settings UI produces).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawMapping {
    pub role_arn: String,
    pub audience: Option<String>,
    pub sts_regional_endpoints: Option<bool>,
    pub token_expiration_seconds: Option<i64>,
}

/// `serviceAccountMappings` values: see [`RawMapping`].
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(transparent)]
pub struct MappingEntry(pub RawMapping);

impl<'de> Deserialize<'de> for MappingEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = MappingEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a role ARN, or an object with roleArn")
            }
            fn visit_str<E: serde::de::Error>(self, role: &str) -> Result<MappingEntry, E> {
                Ok(MappingEntry(RawMapping {
                    role_arn: role.to_owned(),
                    ..RawMapping::default()
                }))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<MappingEntry, A::Error> {
                RawMapping::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(MappingEntry)
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// EKS Pod Identity: upstream's `--container-credentials-*` flags plus the
/// identities file, inline.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RawPodIdentity {
    pub associations: Vec<RawAssociation>,
    pub audience: Option<String>,
    pub mount_path: Option<String>,
    pub volume_name: Option<String>,
    pub token_path: Option<String>,
    pub full_uri: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawAssociation {
    pub namespace: String,
    pub service_account: String,
    /// The role the association grants. Injection does not need it (EKS
    /// resolves it server-side); the allow-list checks it when present.
    pub role_arn: Option<String>,
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
}

/// Annotation keys derived from `annotationPrefix`, built once.
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
        let key = |name: &str| format!("{prefix}/{name}");
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
    pub audience: String,
    pub mount_path: String,
    pub volume_name: String,
    pub token_path: String,
    pub full_uri: String,
}

/// Validated settings. Built once per evaluation from [`RawSettings`].
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
}

/// Parses and validates a settings document (JSON). The error names every
/// bad field and says why it is bad.
pub fn parse(document: &serde_json::Value) -> Result<Settings, String> {
    let raw: RawSettings = if document.is_null() {
        RawSettings::default()
    } else {
        serde_path_to_error::deserialize(document).map_err(|e| deserialize_error(&e))?
    };
    Settings::from_raw(raw).map_err(|errors| format!("settings: {}", errors.join("; ")))
}

/// Parses settings straight from bytes, so even a number JSON cannot hold
/// (`1e400`) is reported with its field. Empty input means defaults.
pub fn parse_bytes(document: &[u8]) -> Result<Settings, String> {
    parse_bytes_checking(document, Check::All)
}

/// [`parse_bytes`], checking as much as `check` says.
pub fn parse_bytes_checking(document: &[u8], check: Check) -> Result<Settings, String> {
    if document.iter().all(u8::is_ascii_whitespace) {
        return parse(&serde_json::Value::Null);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(document);
    let raw: Option<RawSettings> =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let at_root = matches!(e.path().to_string().as_str(), "." | "?");
            if e.inner().is_eof() || (e.inner().is_syntax() && at_root) {
                format!("settings are not valid JSON: {}", e.inner())
            } else {
                deserialize_error(&e)
            }
        })?;
    deserializer
        .end()
        .map_err(|e| format!("settings are not valid JSON: {e}"))?;
    Settings::from_raw_checking(raw.unwrap_or_default(), check)
        .map_err(|errors| format!("settings: {}", errors.join("; ")))
}

/// Reads `allowedRoles` whole and checks every key and pattern.
fn parse_allowed_roles(doc: &AllowedRolesDocument) -> Result<AllowedRoles, Vec<String>> {
    let mut deserializer = serde_json::Deserializer::from_str(doc.0.get());
    let map: BTreeMap<String, PatternList> = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." || path == "?" {
                String::new()
            } else {
                format!(".{path}")
            };
            vec![format!("allowedRoles{at}: {}", e.inner())]
        })?;
    AllowedRoles::parse(&map)
}

fn deserialize_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path == "." || path == "?" {
        format!("settings: {}", e.inner())
    } else {
        format!("settings: {path}: {}", e.inner())
    }
}

impl Settings {
    /// Validates every field, collecting all problems as `field: reason`.
    pub fn from_raw(raw: RawSettings) -> Result<Settings, Vec<String>> {
        Settings::from_raw_checking(raw, Check::All)
    }

    /// [`Settings::from_raw`], checking as much as `check` says.
    pub fn from_raw_checking(raw: RawSettings, depth: Check) -> Result<Settings, Vec<String>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(reason) = result {
                errors.push(format!("{field}: {reason}"));
            }
        };

        let prefix = raw
            .annotation_prefix
            .unwrap_or_else(|| DEFAULT_ANNOTATION_PREFIX.to_owned());
        check("annotationPrefix", names::check_dns_subdomain(&prefix));

        let token_audience = raw
            .token_audience
            .unwrap_or_else(|| DEFAULT_TOKEN_AUDIENCE.to_owned());
        check("tokenAudience", check_audience(&token_audience));

        let token_mount_path = raw
            .token_mount_path
            .unwrap_or_else(|| DEFAULT_TOKEN_MOUNT_PATH.to_owned());
        check("tokenMountPath", check_mount_path(&token_mount_path));

        let token_expiration = raw
            .token_expiration_seconds
            .unwrap_or(DEFAULT_TOKEN_EXPIRATION);
        check("tokenExpirationSeconds", check_expiration(token_expiration));

        let region = raw.aws_default_region.filter(|r| !r.is_empty());
        if let Some(region) = &region {
            check("awsDefaultRegion", check_env_value(region));
        }

        let compose_role_arn = raw.compose_role_arn.map(|c| {
            check(
                "composeRoleArn.partition",
                arn::check_partition(&c.partition),
            );
            check(
                "composeRoleArn.accountId",
                arn::check_account(&c.account_id),
            );
            ComposeRoleArn {
                partition: c.partition,
                account_id: c.account_id,
            }
        });

        let mut mappings = BTreeMap::new();
        for (key, MappingEntry(m)) in raw.service_account_mappings.unwrap_or_default() {
            let field = format!("serviceAccountMappings[{key:?}]");
            let parsed_key = parse_mapping_key(&key);
            check(
                &field,
                parsed_key.as_ref().map(|_| ()).map_err(Clone::clone),
            );
            let role = RoleArn::parse_or_compose(&m.role_arn, compose_role_arn.as_ref());
            check(
                &format!("{field}.roleArn"),
                role.as_ref()
                    .map(|_| ())
                    .map_err(|e| format!("{:?}: {e}", m.role_arn)),
            );
            if let Some(audience) = &m.audience {
                check(&format!("{field}.audience"), check_audience(audience));
            }
            if let Some(exp) = m.token_expiration_seconds {
                check(
                    &format!("{field}.tokenExpirationSeconds"),
                    check_expiration(exp),
                );
            }
            if let (Ok(key), Ok(role_arn)) = (parsed_key, role) {
                mappings.insert(
                    key,
                    Mapping {
                        role_arn,
                        audience: m.audience,
                        sts_regional_endpoints: m.sts_regional_endpoints,
                        token_expiration: m.token_expiration_seconds,
                    },
                );
            }
        }

        let pod_identity = raw.pod_identity.map(|pi| {
            let mut associations = BTreeMap::new();
            for (i, a) in pi.associations.into_iter().enumerate() {
                let field = format!("podIdentity.associations[{i}]");
                check(
                    &format!("{field}.namespace"),
                    names::check_dns_label(&a.namespace),
                );
                check(
                    &format!("{field}.serviceAccount"),
                    names::check_dns_subdomain(&a.service_account),
                );
                let role = a.role_arn.as_deref().map(|r| {
                    RoleArn::parse_or_compose(r, compose_role_arn.as_ref())
                        .map_err(|e| format!("{r:?}: {e}"))
                });
                if let Some(Err(e)) = &role {
                    check(&format!("{field}.roleArn"), Err(e.clone()));
                }
                associations.insert((a.namespace, a.service_account), role.and_then(Result::ok));
            }
            let audience = pi
                .audience
                .unwrap_or_else(|| DEFAULT_POD_IDENTITY_AUDIENCE.to_owned());
            check("podIdentity.audience", check_audience(&audience));
            let mount_path = pi
                .mount_path
                .unwrap_or_else(|| DEFAULT_POD_IDENTITY_MOUNT_PATH.to_owned());
            check("podIdentity.mountPath", check_mount_path(&mount_path));
            let volume_name = pi
                .volume_name
                .unwrap_or_else(|| DEFAULT_POD_IDENTITY_VOLUME_NAME.to_owned());
            check(
                "podIdentity.volumeName",
                names::check_dns_label(&volume_name),
            );
            check(
                "podIdentity.volumeName",
                if volume_name == IRSA_VOLUME_NAME {
                    Err(format!("{IRSA_VOLUME_NAME:?} is reserved for IRSA"))
                } else {
                    Ok(())
                },
            );
            let token_path = pi
                .token_path
                .unwrap_or_else(|| DEFAULT_POD_IDENTITY_TOKEN_PATH.to_owned());
            check("podIdentity.tokenPath", check_token_path(&token_path));
            let full_uri = pi
                .full_uri
                .unwrap_or_else(|| DEFAULT_POD_IDENTITY_FULL_URI.to_owned());
            check("podIdentity.fullUri", check_full_uri(&full_uri));
            PodIdentity {
                associations,
                audience,
                mount_path,
                volume_name,
                token_path,
                full_uri,
            }
        });

        let mut sts_audiences: BTreeSet<String> =
            [token_audience.clone(), DEFAULT_TOKEN_AUDIENCE.to_owned()].into();
        for (i, audience) in raw
            .sts_audiences
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if audience.is_empty() {
                check(&format!("stsAudiences[{i}]"), Err("it is empty".to_owned()));
            } else {
                check(&format!("stsAudiences[{i}]"), check_env_value(&audience));
            }
            sts_audiences.insert(audience);
        }
        sts_audiences.remove("");
        let trusted = raw.trusted_token_requesters.unwrap_or_default();
        for (field, list) in [("users", &trusted.users), ("groups", &trusted.groups)] {
            for (i, name) in list.iter().enumerate() {
                if name.trim().is_empty() {
                    check(
                        &format!("trustedTokenRequesters.{field}[{i}]"),
                        Err("it is empty".to_owned()),
                    );
                }
            }
        }
        let allowed = match (&raw.allowed_roles, depth) {
            (None, _) => None,
            (Some(doc), Check::Request) => Some(AllowedRoles::unchecked(doc.0.get().to_owned())),
            (Some(doc), Check::All) => match parse_allowed_roles(doc) {
                Ok(allowed) => Some(allowed),
                Err(problems) => {
                    errors.extend(problems);
                    None
                }
            },
        };
        let restriction = allowed.map(|allowed| Restriction {
            allowed,
            enforcement: raw.enforcement.unwrap_or_default(),
            sts_audiences,
            trusted_users: trusted.users,
            trusted_groups: trusted.groups,
        });

        if errors.is_empty() {
            Ok(Settings {
                keys: AnnotationKeys::new(&prefix),
                token_audience,
                token_mount_path,
                token_expiration,
                region,
                sts_regional_endpoints: raw.sts_regional_endpoints.unwrap_or(false),
                compose_role_arn,
                mappings,
                pod_identity,
                lookup_failure: raw.service_account_lookup_failure.unwrap_or_default(),
                inject: raw.inject.unwrap_or(true),
                restriction,
            })
        } else {
            Err(errors)
        }
    }

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

    /// Whether `(namespace, serviceAccount)` has a Pod Identity association.
    pub fn pod_identity_for(&self, namespace: &str, service_account: &str) -> Option<&PodIdentity> {
        self.pod_identity.as_ref().filter(|pi| {
            pi.associations
                .contains_key(&(namespace.to_owned(), service_account.to_owned()))
        })
    }
}

fn parse_mapping_key(key: &str) -> Result<(MappingNamespace, String), String> {
    let (ns, sa) = key
        .split_once('/')
        .ok_or_else(|| "the key must be \"<namespace>/<serviceAccount>\"".to_owned())?;
    let namespace = if ns == "*" {
        MappingNamespace::Any
    } else {
        names::check_dns_label(ns).map_err(|e| format!("namespace {e}"))?;
        MappingNamespace::Exact(ns.to_owned())
    };
    names::check_dns_subdomain(sa).map_err(|e| format!("serviceAccount {e}"))?;
    Ok((namespace, sa.to_owned()))
}

fn check_expiration(seconds: i64) -> Result<(), String> {
    if seconds < MIN_TOKEN_EXPIRATION {
        Err(format!(
            "{seconds} is below the minimum of {MIN_TOKEN_EXPIRATION} seconds"
        ))
    } else if seconds > MAX_TOKEN_EXPIRATION {
        Err(format!(
            "{seconds} is above {MAX_TOKEN_EXPIRATION} seconds (2^32), which the API server rejects"
        ))
    } else {
        Ok(())
    }
}

fn check_mount_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        Err(format!("{path:?} is not an absolute path"))
    } else if path.contains(':') {
        Err(format!("{path:?} contains ':'"))
    } else {
        check_env_value(path)
    }
}

/// The file name inside the projected volume: relative, no `..` (the API
/// server's projection path rules).
fn check_token_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        Err("it is empty".to_owned())
    } else if path.starts_with('/') {
        Err(format!("{path:?} must be relative to the mount path"))
    } else if path.split('/').any(|p| p == "..") {
        Err(format!("{path:?} must not contain '..'"))
    } else {
        check_env_value(path)
    }
}

/// Audiences may be empty (the API server then uses its own), but not
/// contain whitespace or control characters.
fn check_audience(audience: &str) -> Result<(), String> {
    if audience.is_empty() {
        Ok(())
    } else {
        check_env_value(audience)
    }
}

/// Values that end up in env vars or paths: no whitespace or control chars.
fn check_env_value(value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        Some(c) => Err(format!("{value:?} contains {c:?}")),
        None => Ok(()),
    }
}

/// The URI is passed through as upstream does, so it only has to be one
/// token; a bracketed host must be a real IPv6 address (EKS uses
/// `http://[fd00:ec2::23]/v1/credentials` on IPv6 clusters).
fn check_full_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        return Err("it is empty".to_owned());
    }
    check_env_value(uri)?;
    let Some(rest) = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
    else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!("{uri:?} has no host"));
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("{uri:?} has an unclosed '[' in its host"))?;
        host.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{uri:?}: {host:?} is not an IPv6 address"))?;
        if !(after.is_empty() || is_port(after)) {
            return Err(format!("{uri:?} has junk after its IPv6 host"));
        }
    } else if authority.contains('[') || authority.contains(']') {
        return Err(format!("{uri:?} has a misplaced bracket in its host"));
    } else if authority.matches(':').count() > 1 {
        return Err(format!(
            "{uri:?}: an IPv6 host must be written in brackets, as in http://[fd00:ec2::23]/v1/credentials"
        ));
    }
    Ok(())
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_null_documents_give_the_webhook_defaults() {
        for doc in [json!({}), json!(null)] {
            let s = parse(&doc).unwrap();
            assert_eq!(s.keys.role_arn, "eks.amazonaws.com/role-arn");
            assert_eq!(s.keys.skip_containers, "eks.amazonaws.com/skip-containers");
            assert_eq!(s.token_audience, "sts.amazonaws.com");
            assert_eq!(
                s.token_mount_path,
                "/var/run/secrets/eks.amazonaws.com/serviceaccount"
            );
            assert_eq!(s.token_expiration, 86400);
            assert_eq!(s.region, None);
            assert!(!s.sts_regional_endpoints);
            assert_eq!(s.lookup_failure, LookupFailure::Reject);
            assert!(s.inject);
            assert!(s.pod_identity.is_none());
        }
    }

    #[test]
    fn pod_identity_defaults_match_the_webhook_flags() {
        let s = parse(&json!({"podIdentity": {"associations": [
            {"namespace": "ns", "serviceAccount": "sa"}]}}))
        .unwrap();
        let pi = s.pod_identity_for("ns", "sa").unwrap();
        assert_eq!(pi.audience, "pods.eks.amazonaws.com");
        assert_eq!(
            pi.mount_path,
            "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
        );
        assert_eq!(pi.volume_name, "eks-pod-identity-token");
        assert_eq!(pi.token_path, "eks-pod-identity-token");
        assert_eq!(pi.full_uri, "http://169.254.170.23/v1/credentials");
        assert!(s.pod_identity_for("ns", "other").is_none());
        assert!(s.pod_identity_for("other", "sa").is_none());
    }

    #[test]
    fn ipv6_full_uri_is_accepted() {
        let s = parse(&json!({"podIdentity": {
            "fullUri": "http://[fd00:ec2::23]/v1/credentials"}}))
        .unwrap();
        assert_eq!(
            s.pod_identity.unwrap().full_uri,
            "http://[fd00:ec2::23]/v1/credentials"
        );
        assert!(
            parse(&json!({"podIdentity": {"fullUri": "http://[fd00:ec2::23]:8080/v1"}})).is_ok()
        );
    }

    #[test]
    fn mappings_match_exact_namespace_then_literal_star() {
        let s = parse(&json!({"serviceAccountMappings": {
            "team-a/app": {"roleArn": "arn:aws:iam::111122223333:role/exact"},
            "*/app": {"roleArn": "arn:aws:iam::111122223333:role/any", "audience": ""},
        }}))
        .unwrap();
        let role = |ns| {
            s.mapping_for(ns, "app")
                .map(|(_, m)| m.role_arn.to_string())
        };
        assert_eq!(
            role("team-a").as_deref(),
            Some("arn:aws:iam::111122223333:role/exact")
        );
        assert_eq!(
            role("team-b").as_deref(),
            Some("arn:aws:iam::111122223333:role/any")
        );
        assert!(s.mapping_for("team-a", "other").is_none());
        assert!(s.exact_mapping_for("team-b", "app").is_none());
        let (key, m) = s.mapping_for("x", "app").unwrap();
        assert_eq!(key, "*/app");
        assert_eq!(m.audience.as_deref(), Some(""));
    }

    #[test]
    fn key_value_editor_shorthands() {
        let s = parse(&json!({
            "serviceAccountMappings": {"ns/sa": "arn:aws:iam::111122223333:role/x"},
            "allowedRoles": {"ns": "arn:aws:iam::111122223333:role/a-*  arn:aws:iam::111122223333:role/b\n"},
        }))
        .unwrap();
        assert_eq!(
            s.mapping_for("ns", "sa").unwrap().1.role_arn.as_str(),
            "arn:aws:iam::111122223333:role/x"
        );
        let allowed = s.restriction.unwrap().allowed;
        let ns = allowed.for_namespace("ns");
        assert!(ns.allows(&RoleArn::parse("arn:aws:iam::111122223333:role/a-1").unwrap()));
        assert!(ns.allows(&RoleArn::parse("arn:aws:iam::111122223333:role/b").unwrap()));
    }

    #[test]
    fn compose_role_arn_applies_to_mappings() {
        let s = parse(&json!({
            "composeRoleArn": {"partition": "aws-us-gov", "accountId": "111122223333"},
            "serviceAccountMappings": {"ns/sa": {"roleArn": "reader"}},
        }))
        .unwrap();
        assert_eq!(
            s.mapping_for("ns", "sa").unwrap().1.role_arn.as_str(),
            "arn:aws-us-gov:iam::111122223333:role/reader"
        );
    }

    /// Every field: a bad value is rejected, and the message names the field
    /// and says why.
    #[test]
    fn every_bad_field_is_named_with_a_reason() {
        let cases = [
            (
                json!({"annotationPrefix": "Not_A_Domain"}),
                "annotationPrefix: ",
                "DNS",
            ),
            (
                json!({"annotationPrefix": ""}),
                "annotationPrefix: ",
                "empty",
            ),
            (
                json!({"annotationPrefix": 5}),
                "annotationPrefix: ",
                "invalid type",
            ),
            (
                json!({"tokenAudience": "a b"}),
                "tokenAudience: ",
                "contains ' '",
            ),
            (
                json!({"tokenMountPath": "relative/path"}),
                "tokenMountPath: ",
                "not an absolute path",
            ),
            (
                json!({"tokenMountPath": "/a:b"}),
                "tokenMountPath: ",
                "contains ':'",
            ),
            (
                json!({"tokenExpirationSeconds": 599}),
                "tokenExpirationSeconds: ",
                "below the minimum of 600",
            ),
            (
                json!({"tokenExpirationSeconds": -1}),
                "tokenExpirationSeconds: ",
                "below the minimum",
            ),
            (
                json!({"tokenExpirationSeconds": 4294967297i64}),
                "tokenExpirationSeconds: ",
                "above",
            ),
            (
                json!({"tokenExpirationSeconds": "3600"}),
                "tokenExpirationSeconds: ",
                "invalid type",
            ),
            (
                json!({"tokenExpirationSeconds": 1.5}),
                "tokenExpirationSeconds: ",
                "invalid type",
            ),
            (
                json!({"awsDefaultRegion": "us west"}),
                "awsDefaultRegion: ",
                "contains ' '",
            ),
            (
                json!({"stsRegionalEndpoints": "yes"}),
                "stsRegionalEndpoints: ",
                "invalid type",
            ),
            (
                json!({"composeRoleArn": {"partition": "gcp", "accountId": "111122223333"}}),
                "composeRoleArn.partition: ",
                "not an AWS partition",
            ),
            (
                json!({"composeRoleArn": {"partition": "aws", "accountId": "1234"}}),
                "composeRoleArn.accountId: ",
                "not 12 digits",
            ),
            (
                json!({"composeRoleArn": {"partition": "aws"}}),
                "composeRoleArn: ",
                "missing field `accountId`",
            ),
            (
                json!({"serviceAccountMappings": {"no-slash": {"roleArn": "arn:aws:iam::111122223333:role/x"}}}),
                "serviceAccountMappings[\"no-slash\"]: ",
                "<namespace>/<serviceAccount>",
            ),
            (
                json!({"serviceAccountMappings": {"Bad/sa": {"roleArn": "arn:aws:iam::111122223333:role/x"}}}),
                "serviceAccountMappings[\"Bad/sa\"]: ",
                "namespace",
            ),
            (
                json!({"serviceAccountMappings": {"ns/sa": {"roleArn": "nope"}}}),
                "serviceAccountMappings[\"ns/sa\"].roleArn: ",
                "does not start with \"arn:\"",
            ),
            (
                json!({"serviceAccountMappings": {"ns/sa": {"roleArn": "arn:aws:iam::111122223333:role/x", "tokenExpirationSeconds": 10}}}),
                "serviceAccountMappings[\"ns/sa\"].tokenExpirationSeconds: ",
                "below the minimum",
            ),
            (
                json!({"serviceAccountMappings": {"ns/sa": {}}}),
                "serviceAccountMappings.ns/sa: ",
                "missing field `roleArn`",
            ),
            (
                json!({"podIdentity": {"associations": [{"namespace": "NS", "serviceAccount": "sa"}]}}),
                "podIdentity.associations[0].namespace: ",
                "DNS label",
            ),
            (
                json!({"podIdentity": {"associations": [{"namespace": "ns", "serviceAccount": ""}]}}),
                "podIdentity.associations[0].serviceAccount: ",
                "empty",
            ),
            (
                json!({"podIdentity": {"associations": [{"namespace": "ns"}]}}),
                "podIdentity.associations[0]: ",
                "missing field `serviceAccount`",
            ),
            (
                json!({"podIdentity": {"associations": [{"namespace": "ns", "serviceAccount": "sa", "roleArn": "x"}]}}),
                "podIdentity.associations[0].roleArn: ",
                "does not start with",
            ),
            (
                json!({"podIdentity": {"audience": "a\tb"}}),
                "podIdentity.audience: ",
                "contains",
            ),
            (
                json!({"podIdentity": {"mountPath": "x"}}),
                "podIdentity.mountPath: ",
                "not an absolute path",
            ),
            (
                json!({"podIdentity": {"volumeName": "Bad_Name"}}),
                "podIdentity.volumeName: ",
                "DNS label",
            ),
            (
                json!({"podIdentity": {"volumeName": "aws-iam-token"}}),
                "podIdentity.volumeName: ",
                "reserved",
            ),
            (
                json!({"podIdentity": {"tokenPath": "../token"}}),
                "podIdentity.tokenPath: ",
                "'..'",
            ),
            (
                json!({"podIdentity": {"tokenPath": "/token"}}),
                "podIdentity.tokenPath: ",
                "relative",
            ),
            (
                json!({"podIdentity": {"fullUri": ""}}),
                "podIdentity.fullUri: ",
                "empty",
            ),
            (
                json!({"podIdentity": {"fullUri": "http://[fd00:ec2::zz]/v1"}}),
                "podIdentity.fullUri: ",
                "not an IPv6 address",
            ),
            (
                json!({"podIdentity": {"fullUri": "http://fd00:ec2::23/v1"}}),
                "podIdentity.fullUri: ",
                "brackets",
            ),
            (
                json!({"podIdentity": {"fullUri": "http:///v1"}}),
                "podIdentity.fullUri: ",
                "no host",
            ),
            (
                json!({"podIdentity": {"unknown": 1}}),
                "podIdentity.unknown: ",
                "unknown field `unknown`",
            ),
            (
                json!({"serviceAccountLookupFailure": "ignore"}),
                "serviceAccountLookupFailure: ",
                "unknown variant `ignore`",
            ),
            (json!({"inject": "false"}), "inject: ", "invalid type"),
            (
                json!({"tokenAudeince": "x"}),
                "settings: ",
                "unknown field `tokenAudeince`",
            ),
            (json!([1, 2]), "settings: ", "invalid type"),
        ];
        for (doc, field, reason) in cases {
            let err = parse(&doc).unwrap_err();
            assert!(err.starts_with("settings: "), "{doc}: {err}");
            assert!(
                err.contains(field),
                "{doc}: expected field {field:?} in {err}"
            );
            assert!(
                err.contains(reason),
                "{doc}: expected reason {reason:?} in {err}"
            );
        }
    }

    #[test]
    fn restriction_is_built_only_from_allowed_roles() {
        assert!(parse(&json!({})).unwrap().restriction.is_none());
        let s = parse(
            &json!({"allowedRoles": {}, "tokenAudience": "custom", "stsAudiences": ["other"]}),
        )
        .unwrap();
        let r = s.restriction.unwrap();
        assert_eq!(r.enforcement, Enforcement::Deny);
        assert_eq!(
            r.sts_audiences,
            ["custom", "other", "sts.amazonaws.com"]
                .map(String::from)
                .into()
        );
        let s = parse(&json!({"allowedRoles": {"*": []}, "enforcement": "warn"})).unwrap();
        assert_eq!(s.restriction.unwrap().enforcement, Enforcement::Warn);
    }

    #[test]
    fn all_errors_are_reported_together() {
        let err = parse(&json!({"tokenExpirationSeconds": 1, "tokenMountPath": "x"})).unwrap_err();
        assert!(err.contains("tokenExpirationSeconds: "), "{err}");
        assert!(err.contains("tokenMountPath: "), "{err}");
    }
}
