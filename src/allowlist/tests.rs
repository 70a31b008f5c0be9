//! The allow-list: patterns, keys, and what each violation says.

use super::*;
use crate::arn::RoleArn;

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
    let allowed = allowed(&[("team-a", &["arn:aws:iam::111122223333:role/ok"])]);
    let violations = check(
        &allowed.for_namespace("team-a"),
        &roles,
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
fn escaped_keys_and_patterns_read_as_their_text() {
    // Borrowed where there is no escape, unescaped where there is one: the
    // same patterns either way.
    let json = r#"{"team-\u0061": ["arn:aws:iam::111122223333:role/\u0078",
                                   "arn:aws:iam::111122223333:role/y"],
                   "team-*": "arn:aws:iam::111122223333:role/\u007a\tarn:aws:iam::111122223333:role/w"}"#;
    let allowed = AllowedRoles::unchecked(json.to_owned());
    let ns = allowed.for_namespace("team-a");
    for name in ["x", "y", "z", "w"] {
        let arn = format!("arn:aws:iam::111122223333:role/{name}");
        assert!(ns.allows(&role(&arn)), "{name}");
    }
    assert!(!ns.allows(&role("arn:aws:iam::111122223333:role/v")));
    assert!(
        !allowed
            .for_namespace("team-b")
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
