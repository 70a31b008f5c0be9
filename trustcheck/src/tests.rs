//! The CLI on the fixtures of `test_data/trust/`, as the AWS CLI prints
//! them, against the shipped example settings.

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../test_data/trust");
const SETTINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/enforce-policy.yaml"
);

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn options(roles: &[&str], associations: &[&str]) -> Options {
    Options {
        settings: Some(SETTINGS.to_owned()),
        clusters: vec![fixture("cluster.json")],
        roles: roles.iter().map(|r| fixture(r)).collect(),
        associations: associations.iter().map(|a| fixture(a)).collect(),
        format: Format::Text,
        fail_on: Severity::High,
        allow_incomplete: true,
    }
}

fn report(o: &Options) -> Report {
    match run(o) {
        Ok(r) => r,
        Err(Failure::Input(e)) => panic!("input error: {e}"),
        Err(Failure::Usage(e)) => panic!("usage: {e}"),
    }
}

fn input_error(o: &Options) -> InputError {
    match run(o) {
        Err(Failure::Input(e)) => e,
        Ok(r) => panic!("expected an input error, got {}", r.text()),
        Err(Failure::Usage(e)) => panic!("usage: {e}"),
    }
}

/// (rule, witness) of each finding of one role file.
fn rules_of(role_file: &str) -> (Vec<(&'static str, Option<String>)>, i32) {
    let r = report(&options(&[role_file], &[]));
    let found = r
        .findings
        .iter()
        .filter(|f| f.rule != Rule::UnknownRole)
        .map(|f| (f.rule.id(), f.witness.clone()))
        .collect();
    (found, r.exit_code)
}

fn w(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn one_role_per_rule_and_its_legitimate_neighbour() {
    type Expected = Vec<(&'static str, Option<String>)>;
    let cases: Vec<(&str, Expected, i32)> = vec![
        ("role-irsa-exact.json", vec![], 0),
        (
            "role-irsa-prefix.json",
            vec![("IRSA-SUB-SPAN", w("team-aa"))],
            1,
        ),
        (
            "role-irsa-any-namespace.json",
            vec![("IRSA-SUB-SPAN", w("a"))],
            1,
        ),
        (
            "role-irsa-question-mark.json",
            vec![("IRSA-SUB-SPAN", w("team-b"))],
            1,
        ),
        ("role-irsa-no-sub.json", vec![("IRSA-NO-SUB", w("a"))], 1),
        ("role-irsa-no-aud.json", vec![("IRSA-AUD", None)], 1),
        ("role-irsa-other-aud.json", vec![("IRSA-AUD", None)], 1),
        ("role-irsa-deny-credited.json", vec![], 0),
        (
            "role-irsa-deny-not-credited.json",
            vec![("IRSA-SUB-SPAN", w("team-aa"))],
            1,
        ),
        ("role-op-for-any-value.json", vec![("OP-UNSOUND", None)], 1),
        (
            "role-op-not-equals-only.json",
            vec![("IRSA-SUB-SPAN", w("a")), ("OP-UNSOUND", None)],
            1,
        ),
        (
            "role-principal-wide.json",
            vec![("PRINCIPAL-WIDE", None), ("IRSA-SUB-SPAN", w("payments"))],
            1,
        ),
        ("role-shared-read-only.json", vec![], 0),
        ("role-external-dns.json", vec![], 0),
        ("role-pi-ok.json", vec![], 0),
        (
            "role-pi-no-namespace-tag.json",
            vec![("PI-NO-NS-TAG", w("a"))],
            1,
        ),
        ("role-pi-span.json", vec![("PI-NS-SPAN", w("pay"))], 1),
        ("role-pi-team-a.json", vec![], 0),
    ];
    for (file, expected, code) in cases {
        let (found, exit) = rules_of(file);
        assert_eq!(found, expected, "{file}");
        assert_eq!(exit, code, "{file}");
    }
}

#[test]
fn url_encoded_documents_give_the_same_findings() {
    let strip = |r: Report| -> Vec<(String, &'static str, Option<String>, String)> {
        r.findings
            .into_iter()
            .map(|f| (f.subject, f.rule.id(), f.witness, f.path))
            .collect()
    };
    let decoded = strip(report(&options(&["list-roles.json"], &[])));
    let encoded = strip(report(&options(&["list-roles-encoded.json"], &[])));
    assert_eq!(decoded, encoded);
    assert!(decoded.len() >= 14, "{decoded:?}");
}

#[test]
fn a_finding_says_what_to_fix() {
    let r = report(&options(&["role-irsa-prefix.json"], &[]));
    let f = &r.findings[0];
    assert_eq!(f.statement, Some(0));
    assert_eq!(f.path, "Role.AssumeRolePolicyDocument.Statement[0]");
    assert!(
        f.condition
            .as_deref()
            .unwrap()
            .contains("system:serviceaccount:team-a*:*")
    );
    assert_eq!(f.allowed.as_deref(), Some("\"team-a\""));
    let text = r.text();
    assert!(
        text.contains("FAIL arn:aws:iam::111122223333:role/team-a/wide"),
        "{text}"
    );
    assert!(text.contains("witness   team-aa"), "{text}");
}

#[test]
fn associations_are_judged_on_both_roles() {
    let r = report(&options(
        &["list-roles.json"],
        &[
            "association-ledger.json",
            "association-cross-account.json",
            "association-target-allowed.json",
            "association-tags-off.json",
        ],
    ));
    let of = |subject: &str| -> Vec<(&'static str, String)> {
        r.findings
            .iter()
            .filter(|f| f.subject == subject)
            .map(|f| (f.rule.id(), f.path.clone()))
            .collect()
    };
    assert_eq!(of("payments/ledger"), vec![]);
    assert_eq!(
        of("payments/batch"),
        vec![
            ("ASSOC-DENIED", "association.targetRoleArn".to_owned()),
            ("ASSOC-DRIFT", "association".to_owned())
        ]
    );
    assert_eq!(
        of("payments/reports"),
        vec![("ASSOC-DRIFT", "association".to_owned())]
    );
    assert_eq!(
        of("team-a/app"),
        vec![
            ("ASSOC-DRIFT", "association".to_owned()),
            (
                "ASSOC-TAGS-OFF",
                "association.disableSessionTags".to_owned()
            )
        ]
    );
    let denied = r
        .findings
        .iter()
        .find(|f| f.rule == Rule::AssocDenied)
        .unwrap();
    assert!(
        denied
            .message
            .contains("targetRoleArn arn:aws:iam::444455556666:role/batch-writer")
    );
}

#[test]
fn settings_associations_missing_from_eks_drift() {
    let r = report(&options(
        &["role-pi-ok.json"],
        &["association-tags-off.json"],
    ));
    assert!(r.findings.iter().any(|f| f.rule == Rule::AssocDrift
        && f.subject == "payments/ledger"
        && f.file == SETTINGS
        && f.path == "podIdentity.associations"));
}

#[test]
fn allowed_roles_missing_from_the_roles_files_make_the_check_incomplete() {
    let mut o = options(&["role-irsa-exact.json"], &[]);
    o.allow_incomplete = false;
    let r = report(&o);
    assert_eq!(r.exit_code, 3);
    assert!(r.incomplete);
    let unknown: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rule == Rule::UnknownRole)
        .map(|f| f.subject.as_str())
        .collect();
    assert_eq!(
        unknown,
        [
            "arn:aws:iam::111122223333:role/shared-read-only",
            "arn:aws:iam::111122223333:role/external-dns"
        ]
    );
    o.allow_incomplete = true;
    assert_eq!(report(&o).exit_code, 0);
    o.roles.push(fixture("role-irsa-no-aud.json"));
    assert_eq!(
        report(&o).exit_code,
        1,
        "findings come before incompleteness"
    );
    o.fail_on = Severity::Critical;
    assert_eq!(report(&o).exit_code, 0, "IRSA-AUD is high");
}

#[test]
fn bad_input_names_the_file_and_the_place() {
    let cases = [
        ("bad-json.json", "", "not valid JSON (line 2"),
        (
            "bad-encoding.json",
            "Role.AssumeRolePolicyDocument",
            "bad escape",
        ),
        (
            "bad-operator.json",
            "Roles[1].AssumeRolePolicyDocument.Statement[0].Condition.StringEqualsMaybe",
            "unknown condition operator \"StringEqualsMaybe\"",
        ),
        (
            "bad-not-principal.json",
            "Role.AssumeRolePolicyDocument.Statement[0].NotPrincipal",
            "NotPrincipal is not allowed",
        ),
    ];
    for (file, path, message) in cases {
        let e = input_error(&options(&[file], &[]));
        assert!(e.file.ends_with(file), "{e}");
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(message), "{e}");
    }
    let e = input_error(&options(&["role-pi-ok.json"], &["list-associations.json"]));
    assert!(
        e.message.contains("describe-pod-identity-association"),
        "{e}"
    );
    let mut o = options(&["role-pi-ok.json"], &[]);
    o.clusters = vec![fixture("role-pi-ok.json")];
    assert_eq!(input_error(&o).message, "missing field \"cluster\"");
}

#[test]
fn settings_errors_are_reported_as_validate_settings_reports_them() {
    let dir = std::env::temp_dir().join(format!("trustcheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("settings.yaml");
    std::fs::write(
        &file,
        "allowedRoles:\n  team-a: [\"arn:aws:iam::1:role/x\"]\ninject: 3\n",
    )
    .unwrap();
    let mut o = options(&["role-pi-ok.json"], &[]);
    o.settings = Some(file.to_string_lossy().into_owned());
    let e = input_error(&o);
    // policy-server passes the settings as compact JSON, as we do.
    let expected = irsa_policy::settings_response(
        br#"{"allowedRoles":{"team-a":["arn:aws:iam::1:role/x"]},"inject":3}"#,
    )
    .message
    .unwrap();
    assert_eq!(e.message, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_and_sarif_outputs() {
    let r = report(&options(
        &["role-irsa-prefix.json", "role-irsa-exact.json"],
        &[],
    ));
    let j = r.json();
    assert_eq!(j["schema"], "irsa-trustcheck/v1");
    assert_eq!(j["exitCode"], 1);
    assert_eq!(j["roles"][0]["verdict"], "fail");
    assert_eq!(j["roles"][1]["verdict"], "pass");
    assert_eq!(j["findings"][0]["rule"], "IRSA-SUB-SPAN");
    assert_eq!(j["findings"][0]["witness"], "team-aa");
    assert_eq!(j["summary"]["bySeverity"]["critical"], 1);
    let s = r.sarif();
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        Rule::ALL.len()
    );
    assert_eq!(run["results"][0]["ruleId"], "IRSA-SUB-SPAN");
    assert_eq!(run["results"][0]["level"], "error");
}

#[test]
fn the_associations_block_is_valid_settings() {
    let block = associations_block(&[
        fixture("association-ledger.json"),
        fixture("association-tags-off.json"),
        fixture("association-cross-account.json"),
    ])
    .unwrap_or_else(|_| panic!("block"));
    let value: serde_json::Value = serde_yaml::from_str(&block).unwrap();
    let settings = irsa_policy::settings::parse(&value).unwrap();
    let pi = settings.pod_identity.unwrap();
    assert_eq!(pi.associations.len(), 3);
    assert_eq!(pi.target_roles.len(), 1);
    assert!(block.contains("targetRoleArn: \"arn:aws:iam::444455556666:role/batch-writer\""));
    assert!(block.contains("roleArn: \"arn:aws:iam::111122223333:role/payments-ledger\""));
    assert!(matches!(
        associations_block(&[fixture("list-associations.json")]),
        Err(Failure::Input(_))
    ));
}

#[test]
fn command_line() {
    let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let o = parse_options(&args(
        "--settings s --roles a b --cluster c --roles=d --format json --fail-on critical --allow-incomplete",
    ))
    .unwrap_or_else(|_| panic!("parse"));
    assert_eq!(o.roles, ["a", "b", "d"]);
    assert_eq!(o.format, Format::Json);
    assert_eq!(o.fail_on, Severity::Critical);
    assert!(o.allow_incomplete);
    for bad in [
        "--roles a",
        "--settings s",
        "--settings s --roles a --format xml",
        "--settings s --roles a --what",
    ] {
        assert!(
            matches!(parse_options(&args(bad)), Err(Failure::Usage(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_target_role_that_differs_from_the_settings_drifts() {
    let dir = std::env::temp_dir().join(format!("trustcheck-target-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("settings.yaml");
    std::fs::write(
        &file,
        "podIdentity:\n  associations:\n    - namespace: payments\n      serviceAccount: batch\n      roleArn: arn:aws:iam::111122223333:role/payments-batch\n",
    )
    .unwrap();
    let mut o = options(&["role-pi-ok.json"], &["association-cross-account.json"]);
    o.settings = Some(file.to_string_lossy().into_owned());
    let r = report(&o);
    let drift: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rule == Rule::AssocDrift)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(drift, ["association.targetRoleArn"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn several_clusters() {
    let mut o = options(
        &[
            "role-irsa-exact.json",
            "role-pi-ok.json",
            "role-pi-cluster-bound.json",
        ],
        &[],
    );
    o.clusters.push(fixture("cluster-staging.json"));
    let r = report(&o);
    let found: Vec<(&str, &str)> = r
        .findings
        .iter()
        .filter(|f| f.rule != Rule::UnknownRole)
        .map(|f| (f.subject.as_str(), f.rule.id()))
        .collect();
    // A role that trusts prod's issuer only is not admitted from staging;
    // a Pod Identity trust must name the cluster once several are checked.
    assert_eq!(
        found,
        [(
            "arn:aws:iam::111122223333:role/payments-ledger",
            "PI-NO-NS-TAG"
        )]
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == Rule::PiNoNsTag)
        .unwrap();
    assert!(f.message.contains("eks-cluster-arn"), "{}", f.message);
}

#[test]
fn a_policy_too_complex_to_decide_is_bad_input_at_its_statement() {
    let dir = std::env::temp_dir().join(format!("trustcheck-complex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("role.json");
    let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let role = serde_json::json!({"Role": {"Arn": "arn:aws:iam::111122223333:role/team-a/x",
        "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{issuer}:sub"):
                format!("system:serviceaccount:*a{}", "?".repeat(20))}}}]}}});
    std::fs::write(&file, role.to_string()).unwrap();
    let mut o = options(&[], &[]);
    o.roles = vec![file.to_string_lossy().into_owned()];
    let e = input_error(&o);
    assert_eq!(e.path, "Role.AssumeRolePolicyDocument.Statement[0]");
    assert!(e.message.contains("too complex"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
