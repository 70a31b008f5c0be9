//! Settings: defaults, every field's validation, the shorthands.

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
    assert!(parse(&json!({"podIdentity": {"fullUri": "http://[fd00:ec2::23]:8080/v1"}})).is_ok());
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
            json!({"podIdentity": {"associations": [{"namespace": "ns", "serviceAccount": "sa", "targetRoleArn": "target"}]}}),
            "podIdentity.associations[0].targetRoleArn: ",
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
        (
            json!({"judgedSources": ["ConfigMap"]}),
            "judgedSources: ",
            "it needs allowedRoles",
        ),
        (
            json!({"allowedRoles": {}, "judgedSources": ["configmaps"]}),
            "judgedSources[0]: ",
            "unknown variant `configmaps`",
        ),
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
    let s =
        parse(&json!({"allowedRoles": {}, "tokenAudience": "custom", "stsAudiences": ["other"]}))
            .unwrap();
    let r = s.restriction.unwrap();
    assert_eq!(r.enforcement, Enforcement::Deny);
    assert_eq!(
        r.sts_audiences,
        ["custom", "other", "sts.amazonaws.com"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        r.judged,
        JudgedSources::default(),
        "nothing judged unless declared"
    );
    let s = parse(&json!({"allowedRoles": {"*": []}, "enforcement": "warn"})).unwrap();
    assert_eq!(s.restriction.unwrap().enforcement, Enforcement::Warn);
    let s = parse(&json!({"allowedRoles": {}, "judgedSources": ["Secret", "ConfigMap"]})).unwrap();
    let judged = s.restriction.unwrap().judged;
    assert!(judged.judges("ConfigMap") && judged.judges("Secret") && !judged.judges("Pod"));
}

#[test]
fn all_errors_are_reported_together() {
    let err = parse(&json!({"tokenExpirationSeconds": 1, "tokenMountPath": "x"})).unwrap_err();
    assert!(err.contains("tokenExpirationSeconds: "), "{err}");
    assert!(err.contains("tokenMountPath: "), "{err}");
}

#[test]
fn pod_identity_target_roles_are_read() {
    let settings = parse(&json!({"podIdentity": {"associations": [
        {"namespace": "ns", "serviceAccount": "sa", "roleArn": "arn:aws:iam::111122223333:role/a",
         "targetRoleArn": "arn:aws:iam::444455556666:role/b"},
        {"namespace": "ns", "serviceAccount": "other"}]}}))
    .unwrap();
    let pi = settings.pod_identity.unwrap();
    assert_eq!(pi.associations.len(), 2);
    let key = ("ns".to_owned(), "sa".to_owned());
    assert_eq!(
        pi.target_roles.get(&key).map(RoleArn::as_str),
        Some("arn:aws:iam::444455556666:role/b")
    );
    assert_eq!(pi.target_roles.len(), 1);
}

/// Every field of the settings, for the differential test of field names.
fn every_field() -> serde_json::Value {
    json!({
        "annotationPrefix": "eks.amazonaws.com",
        "tokenAudience": "sts.amazonaws.com",
        "tokenMountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount",
        "tokenExpirationSeconds": 86400,
        "awsDefaultRegion": "eu-west-1",
        "stsRegionalEndpoints": true,
        "composeRoleArn": {"partition": "aws", "accountId": "111122223333"},
        "serviceAccountMappings": {
            "team-a/app": "arn:aws:iam::111122223333:role/app",
            "*/ci": {"roleArn": "arn:aws:iam::111122223333:role/ci", "audience": "sts",
                     "stsRegionalEndpoints": false, "tokenExpirationSeconds": 3600}
        },
        "podIdentity": {
            "associations": [{"namespace": "team-a", "serviceAccount": "s3",
                              "roleArn": "arn:aws:iam::111122223333:role/s3",
                              "targetRoleArn": "arn:aws:iam::444455556666:role/t"}],
            "audience": "pods.eks.amazonaws.com", "mountPath": "/var/run/secrets/pods",
            "volumeName": "eks-pod-identity-token", "tokenPath": "eks-pod-identity-token",
            "fullUri": "http://169.254.170.23/v1/credentials"
        },
        "serviceAccountLookupFailure": "reject",
        "inject": true,
        "allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]},
        "enforcement": "deny",
        "stsAudiences": ["sts.amazonaws.com"],
        "trustedTokenRequesters": {"users": ["system:serviceaccount:eso:eso"], "groups": []},
        "decisionLogs": false,
        "judgedSources": ["ConfigMap"]
    })
}

#[test]
fn field_names_agree_with_serde_path_to_error() {
    use crate::json::tests::{agrees, mutants};
    let doc = every_field();
    assert!(parse(&doc).is_ok(), "{:?}", parse(&doc));
    let mut compared = 0;
    for mutant in mutants(&doc) {
        compared += usize::from(agrees::<Option<super::raw::RawSettings>>(&mutant));
    }
    let roles = json!({"team-a": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b-*"], "*": []});
    for mutant in mutants(&roles) {
        compared += usize::from(agrees::<BTreeMap<String, PatternList>>(&mutant));
    }
    assert!(compared > 5000, "only {compared} paths compared");
}
