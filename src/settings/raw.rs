//! The settings document as users write it (camelCase, unknown keys
//! refused), before validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Enforcement, LookupFailure};

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
    pub decision_logs: Option<bool>,
    pub judged_sources: Option<Vec<JudgedSource>>,
}

/// A kind of object whose role ARNs `irsa-enforce` judges on CREATE and
/// UPDATE, declared in `judgedSources` so that a Pod may read roles,
/// config files and JVM options from it (see [`super::JudgedSources`]).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum JudgedSource {
    ConfigMap,
    Secret,
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
    /// The association's `targetRoleArn`: the role the Pod ends up with
    /// when EKS chains `roleArn` into it (often in another account). A full
    /// ARN; the allow-list checks it as well. Injection is unchanged.
    pub target_role_arn: Option<String>,
}
