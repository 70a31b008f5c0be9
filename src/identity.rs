//! Which AWS identity a Pod gets, and with which token settings.
//!
//! Precedence, as upstream (`handler.go:441-486`, `cache.go:119-166`):
//! 1. a Pod Identity association for `(namespace, serviceAccount)`;
//! 2. the ServiceAccount's `<prefix>/role-arn` annotation;
//! 3. a `serviceAccountMappings` entry for `<ns>/<sa>`, then `*/<sa>`;
//! 4. nothing: the Pod is left alone.

use serde_json::{Map, Value};

use crate::arn::RoleArn;
use crate::constants::*;
use crate::gocompat::{parse_bool, parse_int64};
use crate::json::map_str;
use crate::role::{Role, RoleSource};
use crate::settings::{Mapping, Settings};

/// The ServiceAccount as far as identity resolution cares.
#[derive(Debug, Clone, Copy)]
pub enum ServiceAccount<'a> {
    /// It exists; these are its annotations (possibly none).
    Found(Option<&'a Map<String, Value>>),
    /// The API server says it does not exist.
    Missing,
}

/// The identity a Pod resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    /// IAM roles for service accounts: STS web identity.
    Irsa {
        role: Role,
        /// Empty means "no `audience` key" (the API server's default).
        audience: String,
        regional_sts: bool,
        expiration: i64,
    },
    /// EKS Pod Identity ("container credentials").
    PodIdentity {
        /// The association's role, when the settings name one.
        role: Option<Role>,
        regional_sts: bool,
        expiration: i64,
    },
}

/// Where a ServiceAccount's roles come from, found once: injection takes
/// the first by upstream's precedence ([`resolve`]), the allow-list judges
/// every one ([`roles_for`]).
struct Sources<'s> {
    /// A Pod Identity association for `(namespace, serviceAccount)`.
    association: Option<Association<'s>>,
    /// The non-empty `<prefix>/role-arn` annotation.
    annotation: Option<&'s str>,
}

/// A Pod Identity association: its role and the role it chains into.
struct Association<'s> {
    role: Option<&'s RoleArn>,
    target: Option<&'s RoleArn>,
}

impl<'s> Sources<'s> {
    fn of(
        settings: &'s Settings,
        namespace: &str,
        service_account_name: &str,
        service_account: ServiceAccount<'s>,
    ) -> Sources<'s> {
        let association = settings.pod_identity.as_ref().and_then(|pi| {
            let key = (namespace.to_owned(), service_account_name.to_owned());
            let role = pi.associations.get(&key)?;
            Some(Association {
                role: role.as_ref(),
                target: pi.target_roles.get(&key),
            })
        });
        let annotation = match service_account {
            ServiceAccount::Found(annotations) => {
                map_str(annotations, &settings.keys.role_arn).filter(|r| !r.is_empty())
            }
            ServiceAccount::Missing => None,
        };
        Sources {
            association,
            annotation,
        }
    }
}

/// Resolves the identity of a Pod running as `service_account_name` in
/// `namespace`. `jitter` supplies a lifetime in the Pod Identity jitter
/// range; it is called only when upstream would draw one.
pub fn resolve(
    settings: &Settings,
    namespace: &str,
    service_account_name: &str,
    service_account: ServiceAccount<'_>,
    pod_annotations: Option<&Map<String, Value>>,
    jitter: &dyn Fn() -> i64,
) -> Option<Identity> {
    let keys = &settings.keys;
    let pod_expiration = map_str(pod_annotations, &keys.token_expiration)
        .and_then(parse_int64)
        .map(clamp_expiration);
    let sources = Sources::of(settings, namespace, service_account_name, service_account);

    if let Some(association) = sources.association {
        let (regional_sts, base_expiration) =
            common_configuration(settings, namespace, service_account_name, service_account);
        let mut expiration = pod_expiration.unwrap_or(base_expiration);
        if expiration == POD_IDENTITY_JITTER_MAX {
            expiration = jitter();
        }
        let role = association
            .role
            .map(|arn| Role::parsed(arn.clone(), RoleSource::PodIdentityAssociation));
        return Some(Identity::PodIdentity {
            role,
            regional_sts,
            expiration,
        });
    }

    if let ServiceAccount::Found(annotations) = service_account
        && let Some(raw) = sources.annotation
    {
        let role = Role::new(
            raw,
            settings.compose_role_arn.as_ref(),
            RoleSource::Annotation {
                key: keys.role_arn.clone(),
            },
        );
        let audience = map_str(annotations, &keys.audience)
            .unwrap_or(&settings.token_audience)
            .to_owned();
        let (regional_sts, sa_expiration) = service_account_defaults(settings, annotations);
        return Some(Identity::Irsa {
            role,
            audience,
            regional_sts,
            expiration: pod_expiration.unwrap_or(sa_expiration),
        });
    }

    let (key, mapping) = settings.mapping_for(namespace, service_account_name)?;
    let role = Role::parsed(mapping.role_arn.clone(), RoleSource::Mapping { key });
    Some(Identity::Irsa {
        role,
        audience: mapping
            .audience
            .clone()
            .unwrap_or_else(|| settings.token_audience.clone()),
        regional_sts: mapping_sts(settings, mapping),
        expiration: pod_expiration.unwrap_or_else(|| mapping_expiration(settings, mapping)),
    })
}

/// Every role the ServiceAccount brings, for the allow-list: its
/// annotation (else its mapping), and the role and target role of a Pod
/// Identity association that covers it. Unlike injection, a Pod Identity association does not
/// hide the annotation: a tenant-written role is checked wherever it appears.
pub fn roles_for(
    settings: &Settings,
    namespace: &str,
    service_account_name: &str,
    service_account: ServiceAccount<'_>,
) -> Vec<Role> {
    let sources = Sources::of(settings, namespace, service_account_name, service_account);
    let mut roles = Vec::new();
    match sources.annotation {
        Some(raw) => roles.push(Role::new(
            raw,
            settings.compose_role_arn.as_ref(),
            RoleSource::Annotation {
                key: settings.keys.role_arn.clone(),
            },
        )),
        None => {
            if let Some((key, mapping)) = settings.mapping_for(namespace, service_account_name) {
                roles.push(Role::parsed(
                    mapping.role_arn.clone(),
                    RoleSource::Mapping { key },
                ));
            }
        }
    }
    if let Some(association) = sources.association {
        let role = association.role.cloned();
        roles.extend(role.map(|arn| Role::parsed(arn, RoleSource::PodIdentityAssociation)));
        let target = association.target.cloned();
        roles.extend(target.map(|arn| Role::parsed(arn, RoleSource::PodIdentityTarget)));
    }
    roles
}

/// Upstream `GetCommonConfigurations` (`cache.go:159-166`): the STS flag and
/// base lifetime for Pod Identity, from the ServiceAccount if it exists,
/// else an exact-namespace mapping, else the literal `(false, 86400)`.
fn common_configuration(
    settings: &Settings,
    namespace: &str,
    service_account_name: &str,
    service_account: ServiceAccount<'_>,
) -> (bool, i64) {
    match service_account {
        ServiceAccount::Found(annotations) => service_account_defaults(settings, annotations),
        ServiceAccount::Missing => {
            match settings.exact_mapping_for(namespace, service_account_name) {
                Some(m) => (mapping_sts(settings, m), mapping_expiration(settings, m)),
                None => (false, DEFAULT_TOKEN_EXPIRATION),
            }
        }
    }
}

/// A ServiceAccount's STS and lifetime annotations over the settings;
/// unparsable values keep the setting (`cache.go:238-255`).
fn service_account_defaults(
    settings: &Settings,
    annotations: Option<&Map<String, Value>>,
) -> (bool, i64) {
    let keys = &settings.keys;
    let regional_sts = map_str(annotations, &keys.sts_regional_endpoints)
        .and_then(parse_bool)
        .unwrap_or(settings.sts_regional_endpoints);
    let expiration = map_str(annotations, &keys.token_expiration)
        .and_then(parse_int64)
        .map(clamp_expiration)
        .unwrap_or(settings.token_expiration);
    (regional_sts, expiration)
}

fn mapping_sts(settings: &Settings, mapping: &Mapping) -> bool {
    mapping
        .sts_regional_endpoints
        .unwrap_or(settings.sts_regional_endpoints)
}

fn mapping_expiration(settings: &Settings, mapping: &Mapping) -> i64 {
    mapping
        .token_expiration
        .unwrap_or(settings.token_expiration)
}

/// Annotation lifetimes are raised to the minimum, never capped
/// (`pkg/validation.go:68-73`).
fn clamp_expiration(seconds: i64) -> i64 {
    seconds.max(MIN_TOKEN_EXPIRATION)
}

/// A lifetime in the Pod Identity jitter range, derived from `seed` (the
/// admission request's UID): spread like upstream's random draw, but
/// reproducible for a given request.
pub fn jitter_from_seed(seed: &str) -> i64 {
    // FNV-1a: tiny, stable across Rust versions, good enough to spread.
    let hash = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let span = (POD_IDENTITY_JITTER_MAX - POD_IDENTITY_JITTER_MIN + 1).unsigned_abs();
    POD_IDENTITY_JITTER_MIN + i64::try_from(hash % span).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";

    fn no_jitter() -> i64 {
        panic!("jitter must not be drawn here")
    }

    fn resolve_with(
        settings: serde_json::Value,
        sa: Option<serde_json::Value>,
        pod_annotations: serde_json::Value,
    ) -> Option<Identity> {
        let settings = parse(&settings).unwrap();
        let sa_annotations = sa.as_ref().map(|a| a.as_object().unwrap());
        let service_account = match &sa {
            Some(_) => ServiceAccount::Found(sa_annotations),
            None => ServiceAccount::Missing,
        };
        resolve(
            &settings,
            "team-a",
            "app",
            service_account,
            pod_annotations.as_object(),
            &|| 80000,
        )
    }

    fn irsa(identity: Option<Identity>) -> (String, RoleSource, String, bool, i64) {
        match identity {
            Some(Identity::Irsa {
                role,
                audience,
                regional_sts,
                expiration,
            }) => (role.value, role.source, audience, regional_sts, expiration),
            other => panic!("expected IRSA, got {other:?}"),
        }
    }

    #[test]
    fn annotation_gives_irsa_with_setting_defaults() {
        let (role, source, audience, sts, exp) = irsa(resolve_with(
            json!({}),
            Some(json!({"eks.amazonaws.com/role-arn": ROLE})),
            json!({}),
        ));
        assert_eq!(role, ROLE);
        assert_eq!(
            source,
            RoleSource::Annotation {
                key: "eks.amazonaws.com/role-arn".into()
            }
        );
        assert_eq!(audience, "sts.amazonaws.com");
        assert!(!sts);
        assert_eq!(exp, 86400, "IRSA never jitters");
    }

    #[test]
    fn service_account_annotations_override_settings() {
        let sa = json!({
            "eks.amazonaws.com/role-arn": ROLE,
            "eks.amazonaws.com/audience": "",
            "eks.amazonaws.com/sts-regional-endpoints": "T",
            "eks.amazonaws.com/token-expiration": "100",
        });
        let (_, _, audience, sts, exp) = irsa(resolve_with(json!({}), Some(sa), json!({})));
        assert_eq!(audience, "", "present-but-empty audience is kept");
        assert!(sts);
        assert_eq!(exp, 600, "clamped to the floor");
    }

    #[test]
    fn unparsable_annotations_keep_the_settings() {
        let sa = json!({
            "eks.amazonaws.com/role-arn": ROLE,
            "eks.amazonaws.com/sts-regional-endpoints": "yes",
            "eks.amazonaws.com/token-expiration": "1e3",
        });
        let settings = json!({"stsRegionalEndpoints": true, "tokenExpirationSeconds": 7200});
        let (_, _, _, sts, exp) = irsa(resolve_with(settings, Some(sa), json!({})));
        assert!(sts);
        assert_eq!(exp, 7200);
    }

    #[test]
    fn pod_expiration_wins_and_is_clamped_but_not_capped() {
        let sa = json!({"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/token-expiration": "3600"});
        for (pod, want) in [
            ("7200", 7200),
            ("-5", 600),
            ("+600", 600),
            ("100000", 100000),
            ("abc", 3600),
            ("9223372036854775808", 3600),
        ] {
            let (_, _, _, _, exp) = irsa(resolve_with(
                json!({}),
                Some(sa.clone()),
                json!({"eks.amazonaws.com/token-expiration": pod}),
            ));
            assert_eq!(exp, want, "pod annotation {pod:?}");
        }
    }

    #[test]
    fn annotation_prefix_is_honoured() {
        let settings = json!({"annotationPrefix": "example.com"});
        assert!(
            resolve_with(
                settings.clone(),
                Some(json!({"eks.amazonaws.com/role-arn": ROLE})),
                json!({})
            )
            .is_none()
        );
        let (role, ..) = irsa(resolve_with(
            settings,
            Some(json!({"example.com/role-arn": ROLE})),
            json!({}),
        ));
        assert_eq!(role, ROLE);
    }

    #[test]
    fn empty_role_annotation_falls_through_to_mappings() {
        let settings = json!({"serviceAccountMappings": {"*/app": {
            "roleArn": "arn:aws:iam::111122223333:role/mapped",
            "stsRegionalEndpoints": true,
            "tokenExpirationSeconds": 1200,
        }}});
        let sa =
            json!({"eks.amazonaws.com/role-arn": "", "eks.amazonaws.com/token-expiration": "5000"});
        let (role, source, audience, sts, exp) = irsa(resolve_with(settings, Some(sa), json!({})));
        assert_eq!(role, "arn:aws:iam::111122223333:role/mapped");
        assert_eq!(
            source,
            RoleSource::Mapping {
                key: "*/app".into()
            }
        );
        assert_eq!(
            audience, "sts.amazonaws.com",
            "a mapping without audience inherits tokenAudience"
        );
        assert!(sts);
        assert_eq!(exp, 1200, "mapping values, not the SA's");
    }

    #[test]
    fn exact_mapping_beats_star_and_applies_without_the_service_account() {
        let settings = json!({"serviceAccountMappings": {
            "*/app": {"roleArn": "arn:aws:iam::111122223333:role/any"},
            "team-a/app": {"roleArn": "arn:aws:iam::111122223333:role/exact", "audience": ""},
        }});
        let (role, source, audience, ..) = irsa(resolve_with(settings, None, json!({})));
        assert_eq!(role, "arn:aws:iam::111122223333:role/exact");
        assert_eq!(
            source,
            RoleSource::Mapping {
                key: "team-a/app".into()
            }
        );
        assert_eq!(audience, "");
    }

    #[test]
    fn annotation_beats_mapping() {
        let settings = json!({"serviceAccountMappings": {"team-a/app": {"roleArn": "arn:aws:iam::111122223333:role/mapped"}}});
        let (role, ..) = irsa(resolve_with(
            settings,
            Some(json!({"eks.amazonaws.com/role-arn": ROLE})),
            json!({}),
        ));
        assert_eq!(role, ROLE);
    }

    #[test]
    fn nothing_applies_without_role_or_mapping() {
        assert!(resolve_with(json!({}), Some(json!({"other": "x"})), json!({})).is_none());
        assert!(resolve_with(json!({}), None, json!({})).is_none());
    }

    #[test]
    fn compose_role_arn_rewrites_bare_names_and_malformed_values_are_kept() {
        let settings =
            json!({"composeRoleArn": {"partition": "aws-cn", "accountId": "111122223333"}});
        let identity = resolve_with(
            settings,
            Some(json!({"eks.amazonaws.com/role-arn": "app-role"})),
            json!({}),
        );
        let Some(Identity::Irsa { role, .. }) = identity else {
            panic!()
        };
        assert_eq!(role.value, "arn:aws-cn:iam::111122223333:role/app-role");
        assert!(role.arn().is_ok());

        let identity = resolve_with(
            json!({}),
            Some(json!({"eks.amazonaws.com/role-arn": "not an arn"})),
            json!({}),
        );
        let Some(Identity::Irsa { role, .. }) = identity else {
            panic!()
        };
        assert_eq!(role.value, "not an arn", "upstream injects it verbatim");
        assert!(role.arn().is_err());
    }

    fn pod_identity(identity: Option<Identity>) -> (bool, i64) {
        match identity {
            Some(Identity::PodIdentity {
                regional_sts,
                expiration,
                ..
            }) => (regional_sts, expiration),
            other => panic!("expected Pod Identity, got {other:?}"),
        }
    }

    fn pi_settings(extra: serde_json::Value) -> serde_json::Value {
        let mut s = json!({"podIdentity": {"associations": [{"namespace": "team-a", "serviceAccount": "app"}]}});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s
    }

    #[test]
    fn pod_identity_wins_over_the_role_annotation() {
        let sa = json!({"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/sts-regional-endpoints": "true",
                        "eks.amazonaws.com/token-expiration": "10000"});
        let (sts, exp) = pod_identity(resolve_with(pi_settings(json!({})), Some(sa), json!({})));
        assert!(sts);
        assert_eq!(exp, 10000, "not 86400, so no jitter");
    }

    #[test]
    fn pod_identity_jitters_exactly_86400_only() {
        let (_, exp) = pod_identity(resolve_with(
            pi_settings(json!({})),
            Some(json!({})),
            json!({}),
        ));
        assert_eq!(exp, 80000, "the default lifetime is jittered");
        let (_, exp) = pod_identity(resolve_with(
            pi_settings(json!({})),
            Some(json!({})),
            json!({"eks.amazonaws.com/token-expiration": "86400"}),
        ));
        assert_eq!(exp, 80000, "a pod value of exactly 86400 is jittered too");
        let (_, exp) = pod_identity(resolve_with(
            pi_settings(json!({})),
            Some(json!({})),
            json!({"eks.amazonaws.com/token-expiration": "86401"}),
        ));
        assert_eq!(exp, 86401);
    }

    #[test]
    fn pod_identity_without_service_account_uses_literal_defaults() {
        // Not the settings: upstream hard-codes (false, 86400) here.
        let settings =
            pi_settings(json!({"stsRegionalEndpoints": true, "tokenExpirationSeconds": 3600}));
        let (sts, exp) = pod_identity(resolve_with(settings, None, json!({})));
        assert!(!sts);
        assert_eq!(exp, 80000);
    }

    #[test]
    fn pod_identity_with_unannotated_service_account_uses_settings() {
        let settings =
            pi_settings(json!({"stsRegionalEndpoints": true, "tokenExpirationSeconds": 3600}));
        let (sts, exp) = pod_identity(resolve_with(settings, Some(json!({})), json!({})));
        assert!(sts);
        assert_eq!(exp, 3600);
    }

    #[test]
    fn pod_identity_common_config_uses_exact_mapping_only() {
        let settings = pi_settings(json!({"serviceAccountMappings": {
            "*/app": {"roleArn": ROLE, "stsRegionalEndpoints": true, "tokenExpirationSeconds": 1200}}}));
        let (sts, exp) = pod_identity(resolve_with(settings, None, json!({})));
        assert!(!sts, "the * entry is ignored for Pod Identity");
        assert_eq!(exp, 80000);
        let settings = pi_settings(json!({"serviceAccountMappings": {
            "team-a/app": {"roleArn": ROLE, "stsRegionalEndpoints": true, "tokenExpirationSeconds": 1200}}}));
        assert_eq!(
            pod_identity(resolve_with(settings, None, json!({}))),
            (true, 1200)
        );
    }

    #[test]
    fn jitter_is_never_drawn_for_irsa() {
        let settings = parse(&json!({})).unwrap();
        let sa = json!({"eks.amazonaws.com/role-arn": ROLE});
        let identity = resolve(
            &settings,
            "ns",
            "sa",
            ServiceAccount::Found(sa.as_object()),
            None,
            &no_jitter,
        );
        assert!(matches!(
            identity,
            Some(Identity::Irsa {
                expiration: 86400,
                ..
            })
        ));
    }

    #[test]
    fn jitter_from_seed_stays_in_range_and_spreads() {
        let values: std::collections::BTreeSet<i64> = (0..500)
            .map(|i| jitter_from_seed(&format!("uid-{i}")))
            .collect();
        assert!(values.iter().all(|v| (79200..=86400).contains(v)));
        assert!(values.len() > 400, "only {} distinct values", values.len());
        assert_eq!(jitter_from_seed("x"), jitter_from_seed("x"));
    }

    #[test]
    fn an_association_brings_its_role_and_its_target_role() {
        let settings = parse(&json!({"podIdentity": {"associations": [{
            "namespace": "team-a", "serviceAccount": "app",
            "roleArn": "arn:aws:iam::111122223333:role/pi",
            "targetRoleArn": "arn:aws:iam::444455556666:role/target"}]}}))
        .unwrap();
        let roles = roles_for(&settings, "team-a", "app", ServiceAccount::Found(None));
        let found: Vec<(&str, &RoleSource)> = roles
            .iter()
            .map(|r| (r.value.as_str(), &r.source))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "arn:aws:iam::111122223333:role/pi",
                    &RoleSource::PodIdentityAssociation
                ),
                (
                    "arn:aws:iam::444455556666:role/target",
                    &RoleSource::PodIdentityTarget
                ),
            ]
        );
        assert!(roles_for(&settings, "team-b", "app", ServiceAccount::Found(None)).is_empty());
        // The injection is unchanged: the agent does the chaining.
        let identity = resolve(
            &settings,
            "team-a",
            "app",
            ServiceAccount::Found(None),
            None,
            &|| 80000,
        );
        let Some(Identity::PodIdentity {
            role: Some(role), ..
        }) = identity
        else {
            panic!("{identity:?}")
        };
        assert_eq!(role.value, "arn:aws:iam::111122223333:role/pi");
    }
}
