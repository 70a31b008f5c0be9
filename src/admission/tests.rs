//! Admission decisions end to end, through both readers.

use super::*;
use crate::identity;
use crate::settings::parse;
use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";

fn raw(object: &Value) -> Option<Box<RawValue>> {
    Some(serde_json::value::to_raw_value(object).unwrap())
}

fn request(object: Value) -> Request {
    serde_json::from_value(json!({
        "uid": "req-1",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "team-a",
        "operation": "CREATE",
        "object": object,
    }))
    .unwrap()
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "i"}]}})
}

fn sa(annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": "app", "namespace": "team-a", "annotations": annotations}})
}

/// Evaluates with a host that answers every lookup with `answer`.
fn eval_with(
    req: Request,
    settings: Value,
    answer: impl Fn(&GetResourceRequest) -> Result<Value, String>,
) -> (Outcome, usize) {
    let settings = parse(&settings).unwrap();
    let mut parsed_calls = 0;
    let parsed = evaluate_parsed(req.clone(), &settings, &mut |r: &GetResourceRequest| {
        parsed_calls += 1;
        answer(r)
    });
    let mut calls = 0;
    let mut get = |r: &GetResourceRequest| {
        calls += 1;
        answer(r)
    };
    let outcome = evaluate(req, &settings, &mut get);
    // Every test here also checks the text reader and the splice
    // against the parsed Pod.
    assert!(
        outcome.same_decision(&parsed),
        "the text reader and the parsed Pod disagree:\n{outcome:?}\n{parsed:?}"
    );
    assert_eq!(calls, parsed_calls);
    (outcome, calls)
}

fn not_found(r: &GetResourceRequest) -> Result<Value, String> {
    Err(format!(
        "Callback evaluation failure: Cannot find v1/ServiceAccount named '{}' inside of namespace 'Some(\"team-a\")'",
        r.name
    ))
}

#[test]
fn irsa_pod_is_mutated() {
    let (outcome, calls) = eval_with(request(pod()), json!({}), |r| {
        assert_eq!(
            (r.name.as_str(), r.namespace.as_deref()),
            ("app", Some("team-a"))
        );
        Ok(sa(json!({"eks.amazonaws.com/role-arn": ROLE})))
    });
    assert_eq!(calls, 1);
    assert!(outcome.warnings.is_empty());
    let Verdict::Mutate(object) = outcome.verdict else {
        panic!("{outcome:?}")
    };
    let object = object.to_value();
    assert_eq!(object["spec"]["containers"][0]["env"][0]["value"], ROLE);
    assert_eq!(object["spec"]["volumes"][0]["name"], "aws-iam-token");
}

#[test]
fn a_pod_the_injection_would_grow_past_the_request_limit_is_rejected() {
    let pod_of = |n: usize, role: &str| {
        let containers: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("c{i}"), "image": "i", "env": [{"name": "R", "value": role}]}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wide"},
               "spec": {"serviceAccountName": "app", "containers": containers}})
    };
    let role = |_: &GetResourceRequest| Ok(sa(json!({"eks.amazonaws.com/role-arn": ROLE})));
    // About 280 bytes a container: 12,000 of them (1 MB) would gain 3.3 MB.
    let (outcome, _) = eval_with(request(pod_of(12_000, "x")), json!({}), role);
    let (message, code) = rejection(&outcome);
    assert_eq!(code, CODE_TOO_LARGE);
    assert!(
        message.starts_with(r#"Pod "wide" in namespace "team-a": "#),
        "{message}"
    );
    assert!(message.contains("its 12000 containers"), "{message}");
    assert!(
        message.contains("more than the 3145728 (3 MiB)"),
        "{message}"
    );
    // Refused before the allow-list reads it, forbidden role or not.
    let admin = "arn:aws:iam::111122223333:role/cluster-admin";
    for value in [admin, "x"] {
        let (checked, _) = eval_with(request(pod_of(12_000, value)), restricted(json!({})), role);
        assert_eq!(rejection(&checked).1, CODE_TOO_LARGE);
    }
    // An enforce-only instance writes nothing, so the bound does not apply.
    let settings = restricted(json!({"inject": false}));
    let (enforcing, _) = eval_with(request(pod_of(12_000, "x")), settings, role);
    assert_eq!(enforcing.verdict, Verdict::Accept);
    // What a Pod already holds does not count: 1,000 containers of 3 KB
    // values are injected.
    let (outcome, _) = eval_with(request(pod_of(1_000, &"x".repeat(3000))), json!({}), role);
    assert!(matches!(outcome.verdict, Verdict::Mutate(_)), "{outcome:?}");
}

#[test]
fn service_account_without_role_leaves_the_pod_alone() {
    let (outcome, _) = eval_with(request(pod()), json!({}), |_| Ok(sa(json!({"x": "y"}))));
    assert_eq!(outcome, Outcome::accept());
    let (outcome, _) = eval_with(request(pod()), json!({}), |_| {
        Ok(json!({"metadata": {"name": "app"}}))
    });
    assert_eq!(outcome, Outcome::accept());
}

#[test]
fn missing_service_account_is_accepted_with_a_warning_after_one_retry() {
    let (outcome, calls) = eval_with(request(pod()), json!({}), not_found);
    assert_eq!(calls, 2);
    assert_eq!(outcome.verdict, Verdict::Accept);
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        outcome.warnings[0].contains("ServiceAccount \"app\""),
        "{:?}",
        outcome.warnings
    );
    assert!(outcome.warnings[0].contains("Pod \"web\" in namespace \"team-a\""));
}

#[test]
fn missing_service_account_still_gets_a_mapping() {
    let settings = json!({"serviceAccountMappings": {"team-a/app": {"roleArn": ROLE}}});
    let (outcome, _) = eval_with(request(pod()), settings, not_found);
    assert!(matches!(outcome.verdict, Verdict::Mutate(_)));
    assert_eq!(outcome.warnings.len(), 1);
}

#[test]
fn lookup_errors_reject_by_default_and_name_everything() {
    let (outcome, calls) = eval_with(request(pod()), json!({}), |_| {
        Err("Policy has not been granted access to Kubernetes v1/ServiceAccount resources.".into())
    });
    assert_eq!(calls, 1, "only not-found is retried");
    let Verdict::Reject { message, code } = outcome.verdict else {
        panic!()
    };
    assert_eq!(code, 500);
    for part in [
        "ServiceAccount \"app\"",
        "Pod \"web\"",
        "namespace \"team-a\"",
        "not been granted access",
        "serviceAccountLookupFailure",
    ] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
}

#[test]
fn lookup_errors_can_be_accepted() {
    let (outcome, _) = eval_with(
        request(pod()),
        json!({"serviceAccountLookupFailure": "accept"}),
        |_| Err("boom".into()),
    );
    assert_eq!(outcome.verdict, Verdict::Accept);
    assert!(outcome.warnings[0].contains("boom"));
}

#[test]
fn malformed_service_account_from_the_host_is_a_lookup_failure() {
    let (outcome, _) = eval_with(request(pod()), json!({}), |_| {
        Ok(json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": 5}}}))
    });
    let Verdict::Reject { message, .. } = outcome.verdict else {
        panic!()
    };
    assert!(message.contains("malformed"), "{message}");
}

#[test]
fn pod_identity_mutates_without_a_service_account() {
    let settings = json!({"podIdentity": {"associations": [{"namespace": "team-a", "serviceAccount": "app"}]}});
    let (outcome, _) = eval_with(request(pod()), settings, not_found);
    let Verdict::Mutate(object) = outcome.verdict else {
        panic!()
    };
    let object = object.to_value();
    assert_eq!(
        object["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
        "enabled"
    );
    let exp = object["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"]
        .as_i64()
        .unwrap();
    assert!((79200..=86400).contains(&exp));
    assert_eq!(
        exp,
        identity::jitter_from_seed("req-1"),
        "seeded by the request UID"
    );
}

#[test]
fn malformed_role_is_injected_with_a_warning() {
    let (outcome, _) = eval_with(request(pod()), json!({}), |_| {
        Ok(sa(json!({"eks.amazonaws.com/role-arn": "s3-reader"})))
    });
    assert!(matches!(outcome.verdict, Verdict::Mutate(_)));
    assert!(
        outcome.warnings[0].contains("not a well-formed IAM role ARN"),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn other_requests_pass_without_any_lookup() {
    let mut update = request(pod());
    update.operation = "UPDATE".into();
    let mut delete = request(Value::Null);
    delete.operation = "DELETE".into();
    let mut eviction = request(json!({"kind": "Eviction"}));
    eviction.sub_resource = "eviction".into();
    let mut deployment = request(json!({}));
    deployment.kind.kind = "Deployment".into();
    deployment.kind.group = "apps".into();
    let mut no_inject = request(pod());
    no_inject.uid = "x".into();
    for req in [update, delete, eviction, deployment] {
        let (outcome, calls) = eval_with(req, json!({}), |_| panic!("no lookup expected"));
        assert_eq!(outcome, Outcome::accept());
        assert_eq!(calls, 0);
    }
    let (outcome, calls) = eval_with(no_inject, json!({"inject": false}), |_| {
        panic!("no lookup expected")
    });
    assert_eq!((outcome, calls), (Outcome::accept(), 0));
}

#[test]
fn malformed_pods_are_rejected_with_the_field() {
    let cases = [
        (
            json!(null),
            "the request's object must be a Pod object, not null",
        ),
        (json!("pod"), "must be a Pod object, not a string"),
        (
            json!({"metadata": {"name": "web"}}),
            "Pod \"web\": spec is missing",
        ),
        (
            json!({"spec": {"serviceAccountName": ["a"]}}),
            "spec.serviceAccountName must be a string, not a list",
        ),
        (
            json!({"metadata": {"generateName": "web-"}, "spec": {"containers": "x"}}),
            "Pod \"web-\" (generateName): spec.containers must be a list",
        ),
    ];
    for (object, message) in cases {
        let (outcome, _) = eval_with(request(object.clone()), json!({}), |_| {
            Ok(sa(json!({"eks.amazonaws.com/role-arn": ROLE})))
        });
        let Verdict::Reject { message: got, code } = outcome.verdict else {
            panic!("{object}")
        };
        assert_eq!(code, 400);
        assert!(got.contains(message), "{object}: {got}");
    }
    let mut req = request(pod());
    req.namespace = String::new();
    let (outcome, _) = eval_with(req, json!({}), |_| panic!());
    assert!(matches!(outcome.verdict, Verdict::Reject { code: 400, .. }));
}

#[test]
fn object_namespace_is_used_only_when_the_request_has_none() {
    let mut req = request(json!({"metadata": {"name": "web", "namespace": "other"}, "spec": {}}));
    let (_, _) = eval_with(req.clone(), json!({}), |r| {
        assert_eq!(r.namespace.as_deref(), Some("team-a"));
        Ok(sa(json!({})))
    });
    req.namespace = String::new();
    let (_, calls) = eval_with(req, json!({}), |r| {
        assert_eq!(r.namespace.as_deref(), Some("other"));
        Ok(sa(json!({})))
    });
    assert_eq!(calls, 1);
}

// ---- allowedRoles ----

const RESTRICTED: &str = r#"{"allowedRoles": {
    "team-a": ["arn:aws:iam::111122223333:role/s3-*"],
    "team-*": ["arn:aws:iam::111122223333:role/{namespace}/*"],
    "*": ["arn:aws:iam::111122223333:role/shared-read-only"]}}"#;

fn restricted(extra: Value) -> Value {
    let mut s: Value = serde_json::from_str(RESTRICTED).unwrap();
    s.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    s
}

fn with_role(role: &str) -> impl Fn(&GetResourceRequest) -> Result<Value, String> + '_ {
    move |_| Ok(sa(json!({"eks.amazonaws.com/role-arn": role})))
}

fn rejection(outcome: &Outcome) -> (String, u16) {
    match &outcome.verdict {
        Verdict::Reject { message, code } => (message.clone(), *code),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn allowed_role_is_injected() {
    let (outcome, _) = eval_with(request(pod()), restricted(json!({})), with_role(ROLE));
    assert!(matches!(outcome.verdict, Verdict::Mutate(_)), "{outcome:?}");
    assert!(outcome.warnings.is_empty());
}

#[test]
fn denied_role_names_everything() {
    let role = "arn:aws:iam::111122223333:role/admin";
    let (outcome, _) = eval_with(request(pod()), restricted(json!({})), with_role(role));
    let (message, code) = rejection(&outcome);
    assert_eq!(code, 403);
    assert_eq!(
        message,
        "Pod \"web\" in namespace \"team-a\" (ServiceAccount \"app\"): IAM role \"arn:aws:iam::111122223333:role/admin\" \
         (ServiceAccount annotation eks.amazonaws.com/role-arn) is not allowed: namespace \"team-a\" allows only \
         arn:aws:iam::111122223333:role/shared-read-only, arn:aws:iam::111122223333:role/team-a/*, \
         arn:aws:iam::111122223333:role/s3-*"
    );
}

#[test]
fn namespace_without_a_key_may_use_no_role() {
    let settings = json!({"allowedRoles": {"payments": ["arn:aws:iam::111122223333:role/*"]}});
    let (outcome, _) = eval_with(request(pod()), settings, with_role(ROLE));
    let (message, _) = rejection(&outcome);
    assert!(
        message.ends_with("no roles are allowed in namespace \"team-a\""),
        "{message}"
    );
    // ...but a Pod that uses no role at all is fine.
    let settings = json!({"allowedRoles": {"payments": ["arn:aws:iam::111122223333:role/*"]}});
    let (outcome, _) = eval_with(request(pod()), settings, |_| Ok(sa(json!({}))));
    assert_eq!(outcome, Outcome::accept());
}

#[test]
fn all_violations_are_reported_at_once() {
    let mut p = pod();
    p["spec"]["containers"] = json!([
        {"name": "a", "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/other"}]},
        {"name": "b", "env": [{"name": "AWS_ROLE_ARN", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]},
    ]);
    p["spec"]["initContainers"] =
        json!([{"name": "i", "env": [{"name": "AWS_ROLE_ARN", "value": "nonsense"}]}]);
    let (outcome, _) = eval_with(
        request(p),
        restricted(json!({})),
        with_role("arn:aws:iam::999988887777:role/x"),
    );
    let (message, _) = rejection(&outcome);
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 4, "{message}");
    assert!(lines[0].contains("role/x\" (ServiceAccount annotation"));
    assert!(
        lines[1].contains("\"nonsense\" is not a well-formed IAM role ARN"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("env AWS_ROLE_ARN of init container \"i\""));
    assert!(lines[2].contains("role/other\" (env AWS_ROLE_ARN of container \"a\")"));
    assert!(lines[3].contains("AWS_ROLE_ARN of container \"b\" comes from configMapKeyRef"));
}

#[test]
fn warn_mode_reports_the_same_and_still_mutates() {
    let role = "arn:aws:iam::111122223333:role/admin";
    let (denied, _) = eval_with(request(pod()), restricted(json!({})), with_role(role));
    let (message, _) = rejection(&denied);
    let (warned, _) = eval_with(
        request(pod()),
        restricted(json!({"enforcement": "warn"})),
        with_role(role),
    );
    assert!(matches!(warned.verdict, Verdict::Mutate(_)));
    // The same text, cut to what the API server keeps of a warning.
    assert_eq!(
        warned.warnings,
        vec![names::truncate(message, report::WARNING_LIMIT)]
    );
    assert!(warned.warnings[0].ends_with('…'));
}

#[test]
fn inject_false_still_checks() {
    let role = "arn:aws:iam::111122223333:role/admin";
    let (outcome, calls) = eval_with(
        request(pod()),
        restricted(json!({"inject": false})),
        with_role(role),
    );
    assert_eq!(calls, 1);
    rejection(&outcome);
    let (outcome, _) = eval_with(
        request(pod()),
        restricted(json!({"inject": false})),
        with_role(ROLE),
    );
    assert_eq!(outcome, Outcome::accept(), "checked but never mutated");
}

#[test]
fn mapping_and_pod_identity_roles_are_checked() {
    let settings = restricted(
        json!({"serviceAccountMappings": {"team-a/app": {"roleArn": "arn:aws:iam::111122223333:role/mapped"}}}),
    );
    let (outcome, _) = eval_with(request(pod()), settings, |_| Ok(sa(json!({}))));
    assert!(
        rejection(&outcome)
            .0
            .contains("(serviceAccountMappings entry \"team-a/app\")")
    );
    let settings = restricted(json!({"podIdentity": {"associations": [
        {"namespace": "team-a", "serviceAccount": "app", "roleArn": "arn:aws:iam::111122223333:role/pi"}]}}));
    let (outcome, _) = eval_with(request(pod()), settings, |_| Ok(sa(json!({}))));
    assert!(rejection(&outcome).0.contains("(podIdentity association)"));
}

#[test]
fn self_mounted_sts_token_without_an_allowed_role_is_rejected() {
    let mut p = pod();
    p["spec"]["volumes"] = json!([{"name": "my-token", "projected": {"sources": [
        {"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "t"}}]}}]);
    p["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "my-token", "mountPath": "/t"}]);
    let (outcome, _) = eval_with(request(p.clone()), restricted(json!({})), |_| {
        Ok(sa(json!({})))
    });
    assert!(
        rejection(&outcome)
            .0
            .contains("projected token volume \"my-token\" has STS audience")
    );
    // With an allowed literal role it is the documented IRSA shape.
    p["spec"]["containers"][0]["env"] = json!([{"name": "AWS_ROLE_ARN", "value": ROLE}]);
    let (outcome, _) = eval_with(request(p), restricted(json!({})), |_| Ok(sa(json!({}))));
    assert_eq!(outcome, Outcome::accept());
}

#[test]
fn ephemeral_container_update_is_checked_for_what_it_adds() {
    let old = pod();
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox",
        "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/admin"}]}]);
    let mut req = request(new);
    req.operation = "UPDATE".into();
    req.sub_resource = "ephemeralcontainers".into();
    req.old_object = raw(&old);
    let (outcome, calls) = eval_with(req, restricted(json!({})), |_| {
        panic!("no lookup on UPDATE")
    });
    assert_eq!(calls, 0);
    let (message, _) = rejection(&outcome);
    assert!(
        message.contains("ephemeral container \"debug\""),
        "{message}"
    );
}

#[test]
fn update_of_a_pod_admitted_before_the_policy_is_not_blocked() {
    let mut old = pod();
    old["spec"]["containers"][0]["env"] =
        json!([{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/admin"}]);
    let mut new = old.clone();
    new["metadata"]["finalizers"] = json!([]);
    let mut req = request(new);
    req.operation = "UPDATE".into();
    req.old_object = raw(&old);
    let (outcome, _) = eval_with(req, restricted(json!({})), |_| panic!());
    assert_eq!(outcome, Outcome::accept());
}

fn sa_request(operation: &str, role: Option<&str>, old_role: Option<&str>) -> Request {
    let object = |role: Option<&str>| {
        let mut o = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "team-a"}});
        if let Some(r) = role {
            o["metadata"]["annotations"] = json!({"eks.amazonaws.com/role-arn": r});
        }
        o
    };
    let mut req = request(object(role));
    req.kind.kind = "ServiceAccount".into();
    req.operation = operation.into();
    if operation == "UPDATE" {
        req.old_object = raw(&object(old_role));
    }
    req
}

#[test]
fn service_accounts_are_checked_on_create_and_update() {
    let admin = "arn:aws:iam::111122223333:role/admin";
    let (outcome, calls) = eval_with(
        sa_request("CREATE", Some(admin), None),
        restricted(json!({})),
        |_| panic!(),
    );
    assert_eq!(calls, 0);
    let (message, code) = rejection(&outcome);
    assert_eq!(code, 403);
    assert!(
        message.starts_with("ServiceAccount \"app\" in namespace \"team-a\": IAM role"),
        "{message}"
    );
    let (outcome, _) = eval_with(
        sa_request("CREATE", Some(ROLE), None),
        restricted(json!({})),
        |_| panic!(),
    );
    assert_eq!(outcome, Outcome::accept());
    let (outcome, _) = eval_with(
        sa_request("UPDATE", Some(admin), Some(ROLE)),
        restricted(json!({})),
        |_| panic!(),
    );
    rejection(&outcome);
    let (outcome, _) = eval_with(
        sa_request("UPDATE", Some(admin), Some(admin)),
        restricted(json!({})),
        |_| panic!(),
    );
    assert_eq!(
        outcome,
        Outcome::accept(),
        "unchanged annotation: not a new violation"
    );
    let (outcome, _) = eval_with(
        sa_request("CREATE", Some("s3 reader"), None),
        restricted(json!({})),
        |_| panic!(),
    );
    assert!(
        rejection(&outcome)
            .0
            .contains("not a well-formed IAM role ARN")
    );
    let (outcome, _) = eval_with(
        sa_request("CREATE", Some("s3 reader"), None),
        json!({}),
        |_| panic!(),
    );
    assert_eq!(
        outcome.verdict,
        Verdict::Accept,
        "no restriction: a warning only"
    );
    assert_eq!(outcome.warnings.len(), 1);
}

fn deployment(template_spec: Value) -> Request {
    let mut req = request(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": template_spec}}}));
    req.kind =
        serde_json::from_value(json!({"group": "apps", "version": "v1", "kind": "Deployment"}))
            .unwrap();
    req
}

#[test]
fn workload_templates_are_checked_but_never_mutated() {
    let spec = json!({"serviceAccountName": "app", "containers": [{"name": "c"}]});
    let (outcome, _) = eval_with(
        deployment(spec.clone()),
        restricted(json!({})),
        with_role("arn:aws:iam::111122223333:role/admin"),
    );
    let (message, _) = rejection(&outcome);
    assert!(
        message.starts_with(
            "Deployment \"web\" in namespace \"team-a\" (Pod template, ServiceAccount \"app\")"
        ),
        "{message}"
    );
    let (outcome, _) = eval_with(deployment(spec), restricted(json!({})), with_role(ROLE));
    assert_eq!(
        outcome,
        Outcome::accept(),
        "allowed: accepted, never mutated"
    );
    let (outcome, calls) = eval_with(
        deployment(json!({"containers": []})),
        json!({}),
        |_| panic!(),
    );
    assert_eq!(
        (outcome, calls),
        (Outcome::accept(), 0),
        "no restriction: nothing to do"
    );
}

#[test]
fn cron_job_template_path_is_used() {
    let mut req = request(
        json!({"metadata": {"name": "nightly", "namespace": "team-a"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c",
            "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/admin"}]}]}}}}}}),
    );
    req.kind =
        serde_json::from_value(json!({"group": "batch", "version": "v1", "kind": "CronJob"}))
            .unwrap();
    let (outcome, _) = eval_with(req, restricted(json!({})), |_| Ok(sa(json!({}))));
    let (message, _) = rejection(&outcome);
    assert!(message.contains("CronJob \"nightly\""), "{message}");
    assert!(message.contains("ServiceAccount \"default\""), "{message}");
}

#[test]
fn re_evaluating_a_mutated_pod_changes_nothing() {
    let answer = |_: &GetResourceRequest| Ok(sa(json!({"eks.amazonaws.com/role-arn": ROLE})));
    let (outcome, _) = eval_with(request(pod()), json!({}), answer);
    let Verdict::Mutate(object) = outcome.verdict else {
        panic!()
    };
    let object = object.to_value();
    let (again, _) = eval_with(request(object), json!({}), answer);
    assert_eq!(again, Outcome::accept());
}

fn token_request(audiences: Value, user_info: Value) -> Request {
    serde_json::from_value(json!({
        "uid": "tr-1",
        "kind": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
        "name": "app",
        "namespace": "team-a",
        "operation": "CREATE",
        "subResource": "token",
        "userInfo": user_info,
        "object": {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"audiences": audiences}},
    }))
    .unwrap()
}

#[test]
fn token_requests_for_sts_need_a_node_or_a_trusted_requester() {
    let settings = |extra: Value| {
        let mut s = json!({"allowedRoles": {}, "podIdentity": {}});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s
    };
    let no_host = |_: &GetResourceRequest| -> Result<Value, String> { Err("no lookups".into()) };
    let tenant = json!({"username": "alice", "groups": ["dev"]});
    let verdict = |req: Request, s: Value| eval_with(req, settings(s), no_host).0;
    let rejected = verdict(
        token_request(json!(["sts.amazonaws.com"]), tenant.clone()),
        json!({}),
    );
    let (message, code) = rejection(&rejected);
    assert_eq!(code, CODE_FORBIDDEN);
    assert!(message.starts_with(
        "TokenRequest by user \"alice\" for ServiceAccount \"app\" in namespace \"team-a\" \
         asks for audience \"sts.amazonaws.com\""
    ));
    for (audiences, user, extra) in [
        (json!(["vault"]), tenant.clone(), json!({})),
        (
            json!(["sts.amazonaws.com"]),
            json!({"username": "system:node:n1", "groups": ["system:nodes"]}),
            json!({}),
        ),
        (
            json!(["pods.eks.amazonaws.com"]),
            tenant.clone(),
            json!({"trustedTokenRequesters": {"users": ["alice"]}}),
        ),
        (
            json!(["sts.amazonaws.com"]),
            tenant.clone(),
            json!({"trustedTokenRequesters": {"groups": ["dev"]}}),
        ),
    ] {
        let outcome = verdict(token_request(audiences.clone(), user), extra);
        assert_eq!(outcome, Outcome::accept(), "{audiences}");
    }
    // A malformed userInfo is an untrusted user; warn mode admits.
    let odd = verdict(
        token_request(json!(["sts.amazonaws.com"]), json!("system:nodes")),
        json!({}),
    );
    assert!(matches!(odd.verdict, Verdict::Reject { code: 403, .. }));
    let warned = verdict(
        token_request(json!(["sts.amazonaws.com"]), tenant.clone()),
        json!({"enforcement": "warn"}),
    );
    assert!(matches!(warned.verdict, Verdict::Accept));
    assert_eq!(warned.warnings.len(), 1);
    let bad = verdict(token_request(json!([7]), tenant), json!({}));
    assert_eq!(rejection(&bad).1, CODE_BAD_REQUEST);
    // Without allowedRoles the rule is off.
    let open = eval_with(
        token_request(json!(["sts.amazonaws.com"]), json!({})),
        json!({}),
        no_host,
    )
    .0;
    assert_eq!(open, Outcome::accept());
}

#[test]
fn decision_logs_say_why_a_pod_got_or_missed_its_credentials() {
    let logs = |settings: Value, answer: &dyn Fn(&GetResourceRequest) -> Result<Value, String>| {
        eval_with(request(pod()), settings, answer).0.log
    };
    let on = json!({"decisionLogs": true});
    let injected = logs(on.clone(), &with_role(ROLE));
    assert_eq!(
        injected,
        [
            "CREATE Pod team-a/(name not yet set): Pod \"web\" in namespace \"team-a\": injected IRSA \
             role \"arn:aws:iam::111122223333:role/s3-reader\" (from ServiceAccount annotation \
             eks.amazonaws.com/role-arn) into 1 container(s)",
            "CREATE Pod team-a/(name not yet set): accepted with the injection",
        ]
    );
    let no_role = logs(on.clone(), &|_| Ok(sa(json!({}))));
    assert!(no_role[0].contains("not injected: its ServiceAccount brings no AWS identity"));
    let mut skipped_pod = pod();
    skipped_pod["metadata"]["labels"] = json!({"eks.amazonaws.com/skip-pod-identity-webhook": ""});
    let skipped = eval_with(request(skipped_pod), on.clone(), with_role(ROLE))
        .0
        .log;
    assert!(
        skipped[0].contains("not injected: the Pod carries the label"),
        "{skipped:?}"
    );

    let denied = restricted(json!({"decisionLogs": true}));
    let rejected = logs(denied, &with_role("arn:aws:iam::111122223333:role/admin"));
    assert!(rejected[0].contains("injected IRSA role"), "{rejected:?}");
    assert!(
        rejected[1].contains("rejected (403): Pod \"web\""),
        "{rejected:?}"
    );
    assert!(rejected[1].contains("is not allowed"), "{rejected:?}");

    let failed = logs(
        json!({"decisionLogs": true, "serviceAccountLookupFailure": "accept"}),
        &|_| Err("connection refused".to_owned()),
    );
    assert!(
        failed.iter().any(
            |l| l.starts_with("CREATE Pod team-a/(name not yet set): warning: ")
                && l.contains("connection refused")
        ),
        "{failed:?}"
    );

    assert!(
        logs(json!({}), &with_role(ROLE)).is_empty(),
        "off by default"
    );
}

#[test]
fn decision_logs_name_the_text_reader_giving_up_and_stay_bounded() {
    // An escaped key: the text reader gives up, the parsed Pod decides.
    let text = r#"{"metadata": {"name": "web", "\u006eamespace": "team-a"},
                   "spec": {"serviceAccountName": "app", "containers": [{"name": "c"}]}}"#;
    let mut req = request(pod());
    req.object = Some(RawValue::from_string(text.to_owned()).unwrap());
    let settings = parse(&json!({"decisionLogs": true})).unwrap();
    let outcome = evaluate(req, &settings, &mut with_role(ROLE));
    assert!(
        outcome.log[0].contains("was not read in one pass"),
        "{:?}",
        outcome.log
    );
    assert!(
        outcome.log[0].contains("it gave up in metadata "),
        "{:?}",
        outcome.log
    );

    let mut big = pod();
    big["metadata"]["name"] = json!("x".repeat(5000));
    let (outcome, _) = eval_with(request(big), json!({"decisionLogs": true}), with_role(ROLE));
    assert!(
        outcome.log.iter().all(|l| l.len() <= 1024),
        "{:?}",
        outcome.log
    );
}

// ---- The two readers of a Pod's facts ----

/// Every Pod CREATE request under `test_data/` (bare, or in a payload).
fn pod_create_fixtures() -> Vec<(std::path::PathBuf, Box<RawValue>)> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data"),
        &mut files,
    );
    files.sort();
    let mut pods = Vec::new();
    for path in files {
        let Ok(doc) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        let request = doc.get("request").unwrap_or(&doc);
        let is_pod_create = request["kind"]["kind"] == "Pod"
            && request["operation"] == "CREATE"
            && request["subResource"].as_str().unwrap_or("").is_empty();
        if let (true, Some(object)) = (is_pod_create, request.get("object")) {
            pods.push((path, serde_json::value::to_raw_value(object).unwrap()));
        }
    }
    pods
}

/// The facts either reader takes from one Pod, comparable.
fn facts_seen(facts: &pod_facts::PodFacts<'_>) -> String {
    format!(
        "{} {:?} {} {:?} {:?} {:?}",
        facts.name,
        facts.namespace,
        facts.service_account,
        facts.annotations,
        facts.shape,
        facts.usage
    )
}

#[test]
fn both_readers_take_the_same_facts_from_every_pod_in_test_data() {
    let fixtures = pod_create_fixtures();
    assert!(fixtures.len() > 100, "found {} Pods", fixtures.len());
    let mut read_by_text = 0;
    let mut gave_up_outside_bad = Vec::new();
    for (path, text) in &fixtures {
        let parsed: Value = serde_json::from_str(text.get()).unwrap();
        for with_usage in [false, true] {
            let from_text = pod_facts::PodFacts::from_text(text.get(), with_usage);
            let from_value = pod_facts::PodFacts::from_value(&parsed, with_usage);
            match (&from_text, &from_value) {
                (Ok(text_facts), Ok(value_facts)) => {
                    read_by_text += 1;
                    assert_eq!(
                        facts_seen(text_facts),
                        facts_seen(value_facts),
                        "{}",
                        path.display()
                    );
                }
                (Ok(_), Err(rejection)) => {
                    panic!(
                        "{}: read as text, rejected parsed: {rejection:?}",
                        path.display()
                    )
                }
                (Err(at), _) if !path.components().any(|c| c.as_os_str() == "bad") => {
                    let name = path.file_stem().unwrap().to_string_lossy();
                    gave_up_outside_bad.push(format!("{name} (usage: {with_usage}): {at}"));
                }
                (Err(_), _) => {}
            }
        }
    }
    assert!(read_by_text > 150, "the text reader read {read_by_text}");
    // The one-pass reader reads every fixture outside the bad-input matrix
    // but those whose hooks or probes run a command, and a Windows path
    // written with escaped backslashes, where the allow-list reads them.
    let expected = [
        "exec-probe-role (usage: true): a hook or probe command in spec.containers",
        "poststart-hook-role (usage: true): a hook or probe command in spec.containers",
        "windows-userprofile-config (usage: true): spec.containers",
    ];
    assert_eq!(gave_up_outside_bad, expected);
}
