//! From the document as written to validated [`Settings`]: every field is
//! checked, and every problem is reported together as `field: reason`.

use std::collections::{BTreeMap, BTreeSet};

use super::raw::{
    JudgedSource, MappingEntry, RawComposeRoleArn, RawPodIdentity, RawSettings,
    RawTrustedRequesters,
};
use super::{
    AnnotationKeys, Check, JudgedSources, Mapping, MappingNamespace, PodIdentity, Restriction,
    Settings, parse_allowed_roles,
};
use crate::allowlist::AllowedRoles;
use crate::arn::{self, ComposeRoleArn, RoleArn};
use crate::constants::*;
use crate::names;

/// Problems found so far.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, field: &str, result: Result<(), String>) {
        if let Err(reason) = result {
            self.0.push(format!("{field}: {reason}"));
        }
    }
}

/// `value`, or the webhook's default for it.
fn or_default(value: Option<String>, default: &str) -> String {
    value.unwrap_or_else(|| default.to_owned())
}

impl Settings {
    /// Validates every field, collecting all problems as `field: reason`.
    pub fn from_raw(raw: RawSettings) -> Result<Settings, Vec<String>> {
        Settings::from_raw_checking(raw, Check::All)
    }

    /// [`Settings::from_raw`], checking as much as `depth` says.
    pub fn from_raw_checking(raw: RawSettings, depth: Check) -> Result<Settings, Vec<String>> {
        let mut problems = Problems::default();
        let p = &mut problems;

        let prefix = or_default(raw.annotation_prefix, DEFAULT_ANNOTATION_PREFIX);
        p.check("annotationPrefix", names::check_dns_subdomain(&prefix));
        let token_audience = or_default(raw.token_audience, DEFAULT_TOKEN_AUDIENCE);
        p.check("tokenAudience", check_audience(&token_audience));
        let token_mount_path = or_default(raw.token_mount_path, DEFAULT_TOKEN_MOUNT_PATH);
        p.check("tokenMountPath", check_mount_path(&token_mount_path));
        let token_expiration = raw
            .token_expiration_seconds
            .unwrap_or(DEFAULT_TOKEN_EXPIRATION);
        p.check("tokenExpirationSeconds", check_expiration(token_expiration));
        let region = raw.aws_default_region.filter(|r| !r.is_empty());
        if let Some(region) = &region {
            p.check("awsDefaultRegion", check_env_value(region));
        }

        let compose_role_arn = raw.compose_role_arn.map(|c| compose_role_arn(c, p));
        let compose = compose_role_arn.as_ref();
        let mappings = mappings(raw.service_account_mappings.unwrap_or_default(), compose, p);
        let pod_identity = raw.pod_identity.map(|pi| pod_identity(pi, compose, p));

        let sts_audiences = sts_audiences(&token_audience, raw.sts_audiences, p);
        let trusted = trusted_requesters(raw.trusted_token_requesters.unwrap_or_default(), p);
        let has_allowed_roles = raw.allowed_roles.is_some();
        let allowed = match (raw.allowed_roles, depth) {
            (None, _) => None,
            // The document's own text, not a copy of it.
            (Some(doc), Check::Request) => {
                Some(AllowedRoles::unchecked(Box::<str>::from(doc.0).into()))
            }
            (Some(doc), Check::All) => match parse_allowed_roles(&doc) {
                Ok(allowed) => Some(allowed),
                Err(found) => {
                    p.0.extend(found);
                    None
                }
            },
        };
        let judged = judged_sources(raw.judged_sources.unwrap_or_default(), has_allowed_roles, p);
        let restriction = allowed.map(|allowed| Restriction {
            allowed,
            enforcement: raw.enforcement.unwrap_or_default(),
            sts_audiences,
            trusted_users: trusted.users,
            trusted_groups: trusted.groups,
            judged,
        });

        if !problems.0.is_empty() {
            return Err(problems.0);
        }
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
            decision_logs: raw.decision_logs.unwrap_or(false),
        })
    }
}

/// `trustedTokenRequesters`, where no name may be empty.
fn trusted_requesters(trusted: RawTrustedRequesters, p: &mut Problems) -> RawTrustedRequesters {
    for (field, list) in [("users", &trusted.users), ("groups", &trusted.groups)] {
        for (i, name) in list.iter().enumerate() {
            if name.trim().is_empty() {
                let field = format!("trustedTokenRequesters.{field}[{i}]");
                p.check(&field, Err("it is empty".to_owned()));
            }
        }
    }
    trusted
}

/// `judgedSources`, which only the allow-list uses.
fn judged_sources(
    sources: Vec<JudgedSource>,
    has_allowed_roles: bool,
    p: &mut Problems,
) -> JudgedSources {
    if !sources.is_empty() && !has_allowed_roles {
        p.check(
            "judgedSources",
            Err("it needs allowedRoles: only the allow-list judges objects".to_owned()),
        );
    }
    JudgedSources {
        config_maps: sources.contains(&JudgedSource::ConfigMap),
        secrets: sources.contains(&JudgedSource::Secret),
    }
}

fn compose_role_arn(c: RawComposeRoleArn, p: &mut Problems) -> ComposeRoleArn {
    p.check(
        "composeRoleArn.partition",
        arn::check_partition(&c.partition),
    );
    p.check(
        "composeRoleArn.accountId",
        arn::check_account(&c.account_id),
    );
    ComposeRoleArn {
        partition: c.partition,
        account_id: c.account_id,
    }
}

fn mappings(
    raw: BTreeMap<String, MappingEntry>,
    compose: Option<&ComposeRoleArn>,
    p: &mut Problems,
) -> BTreeMap<(MappingNamespace, String), Mapping> {
    let mut mappings = BTreeMap::new();
    for (key, MappingEntry(m)) in raw {
        let field = format!("serviceAccountMappings[{key:?}]");
        let parsed_key = parse_mapping_key(&key);
        p.check(
            &field,
            parsed_key.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let role = RoleArn::parse_or_compose(&m.role_arn, compose);
        p.check(
            &format!("{field}.roleArn"),
            role.as_ref()
                .map(|_| ())
                .map_err(|e| format!("{:?}: {e}", m.role_arn)),
        );
        if let Some(audience) = &m.audience {
            p.check(&format!("{field}.audience"), check_audience(audience));
        }
        if let Some(exp) = m.token_expiration_seconds {
            p.check(
                &format!("{field}.tokenExpirationSeconds"),
                check_expiration(exp),
            );
        }
        if let (Ok(key), Ok(role_arn)) = (parsed_key, role) {
            let mapping = Mapping {
                role_arn,
                audience: m.audience,
                sts_regional_endpoints: m.sts_regional_endpoints,
                token_expiration: m.token_expiration_seconds,
            };
            mappings.insert(key, mapping);
        }
    }
    mappings
}

fn pod_identity(
    pi: RawPodIdentity,
    compose: Option<&ComposeRoleArn>,
    p: &mut Problems,
) -> PodIdentity {
    let mut associations = BTreeMap::new();
    let mut target_roles = BTreeMap::new();
    for (i, a) in pi.associations.into_iter().enumerate() {
        let field = format!("podIdentity.associations[{i}]");
        p.check(
            &format!("{field}.namespace"),
            names::check_dns_label(&a.namespace),
        );
        p.check(
            &format!("{field}.serviceAccount"),
            names::check_dns_subdomain(&a.service_account),
        );
        let role = a
            .role_arn
            .as_deref()
            .map(|r| RoleArn::parse_or_compose(r, compose).map_err(|e| format!("{r:?}: {e}")));
        if let Some(Err(e)) = &role {
            p.check(&format!("{field}.roleArn"), Err(e.clone()));
        }
        // A target is usually in another account: never composed.
        if let Some(target) = &a.target_role_arn {
            match RoleArn::parse(target) {
                Ok(arn) => {
                    target_roles.insert((a.namespace.clone(), a.service_account.clone()), arn);
                }
                Err(e) => p.check(
                    &format!("{field}.targetRoleArn"),
                    Err(format!("{target:?}: {e}")),
                ),
            }
        }
        associations.insert((a.namespace, a.service_account), role.and_then(Result::ok));
    }
    let audience = or_default(pi.audience, DEFAULT_POD_IDENTITY_AUDIENCE);
    p.check("podIdentity.audience", check_audience(&audience));
    let mount_path = or_default(pi.mount_path, DEFAULT_POD_IDENTITY_MOUNT_PATH);
    p.check("podIdentity.mountPath", check_mount_path(&mount_path));
    let volume_name = or_default(pi.volume_name, DEFAULT_POD_IDENTITY_VOLUME_NAME);
    p.check(
        "podIdentity.volumeName",
        names::check_dns_label(&volume_name),
    );
    if volume_name == IRSA_VOLUME_NAME {
        p.check(
            "podIdentity.volumeName",
            Err(format!("{IRSA_VOLUME_NAME:?} is reserved for IRSA")),
        );
    }
    let token_path = or_default(pi.token_path, DEFAULT_POD_IDENTITY_TOKEN_PATH);
    p.check("podIdentity.tokenPath", check_token_path(&token_path));
    let full_uri = or_default(pi.full_uri, DEFAULT_POD_IDENTITY_FULL_URI);
    p.check("podIdentity.fullUri", check_full_uri(&full_uri));
    PodIdentity {
        associations,
        target_roles,
        audience,
        mount_path,
        volume_name,
        token_path,
        full_uri,
    }
}

/// `tokenAudience`, `sts.amazonaws.com` and `stsAudiences`.
fn sts_audiences(
    token_audience: &str,
    extra: Option<Vec<String>>,
    p: &mut Problems,
) -> BTreeSet<String> {
    let mut audiences: BTreeSet<String> =
        [token_audience.to_owned(), DEFAULT_TOKEN_AUDIENCE.to_owned()].into();
    for (i, audience) in extra.unwrap_or_default().into_iter().enumerate() {
        let field = format!("stsAudiences[{i}]");
        if audience.is_empty() {
            p.check(&field, Err("it is empty".to_owned()));
        } else {
            p.check(&field, check_env_value(&audience));
        }
        audiences.insert(audience);
    }
    audiences.remove("");
    audiences
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
