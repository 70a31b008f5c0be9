//! What a Pod spec uses, by both readers.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::arn::ComposeRoleArn;
use crate::pod_text::PodText;
use crate::role::ContainerKind;
use crate::settings::parse;
use serde_json::json;

/// Reads `spec` (a PodSpec) and judges it, as `Judge::collect` does.
fn collect(
    spec: &Value,
    spec_path: &str,
    compose: Option<&ComposeRoleArn>,
    sts_audiences: &BTreeSet<String>,
) -> Result<PodUsage, String> {
    Spec::read(spec, spec_path)?.usage(compose, sts_audiences, JudgedSources::default())
}

/// The usage by the `Value` reader, checked against the text reader.
fn usage(spec: Value) -> PodUsage {
    let settings = parse(&json!({"allowedRoles": {}})).unwrap();
    let audiences = settings.restriction.as_ref().unwrap().sts_audiences.clone();
    let read = collect(
        &spec,
        "spec",
        settings.compose_role_arn.as_ref(),
        &audiences,
    )
    .unwrap();
    let pod = json!({"spec": spec});
    for text in [pod.to_string(), serde_json::to_string_pretty(&pod).unwrap()] {
        let from_text = PodText::read_with_usage(&text)
            .ok()
            .and_then(|pod| pod.usage)
            .expect("the text reader reads every spec here");
        assert_eq!(from_text, Spec::read(&spec, "spec").unwrap());
        assert_eq!(
            from_text
                .usage(
                    settings.compose_role_arn.as_ref(),
                    &audiences,
                    JudgedSources::default()
                )
                .unwrap(),
            read
        );
    }
    read
}

#[test]
fn the_text_reader_gives_up_where_it_would_be_more_lenient() {
    let role = |entry: &str| format!(r#"{{"containers": [{{"env": [{entry}]}}]}}"#);
    for spec in [
        role(r#"{"name": "AWS_ROLE_ARN", "value": 5}"#),
        role(r#"{"name": "AWS_ROLE_ARN", "value": "a", "value": "b"}"#),
        role(r#"{"name": "A", "valueFrom": "x"}"#),
        // Every value may be read (expansion, role ARNs in any value).
        role(r#"{"name": "OTHER", "value": 5}"#),
        r#"{"containers": [{"command": ["a", 1]}]}"#.to_owned(),
        r#"{"containers": [{"args": [null]}]}"#.to_owned(),
        // Hooks and exec probes are read by the parsed path only.
        r#"{"containers": [{"lifecycle": {"postStart": {"exec": {"command": ["x"]}}}}]}"#.to_owned(),
        r#"{"containers": [{"startupProbe": {"exec": {"command": ["x"]}}}]}"#.to_owned(),
        r#"{"volumes": [{"name": "v", "configMap": {"name": "a", "name": "b"}}]}"#.to_owned(),
        r#"{"containers": [{"envFrom": [{"prefix": 1}]}]}"#.to_owned(),
        r#"{"containers": [{"envFrom": [{"secretRef": "s"}]}]}"#.to_owned(),
        r#"{"containers": [{"volumeMounts": [{"mountPath": ["x"]}]}]}"#.to_owned(),
        r#"{"ephemeralContainers": [{"targetContainerName": 1}]}"#.to_owned(),
        r#"{"ephemeralContainers": [], "ephemeralContainers": []}"#.to_owned(),
        r#"{"volumes": [{"name": "v", "projected": {"sources": [{"serviceAccountToken": {"audience": 1}}]}}]}"#.to_owned(),
        r#"{"volumes": [{"name": "v", "projected": {"sources": 1}}]}"#.to_owned(),
        r#"{"volumes": [{"name": "v", "secret": {}, "secret": null}]}"#.to_owned(),
        r#"{"os": {"name": "w\u0069ndows"}}"#.to_owned(),
        r#"{"os": "windows"}"#.to_owned(),
    ] {
        let text = format!(r#"{{"spec": {spec}}}"#);
        assert!(PodText::read_with_usage(&text).is_err(), "{spec}");
    }
    // Values the rules do not read may be anything, as for the
    // `Value` reader.
    let spec = json!({"os": {"name": 5}, "shareProcessNamespace": "yes",
        "containers": [{"env": [{"name": "JSON", "value": "{\"a\": 1}"}]}],
        "volumes": [{"name": "v", "projected": {"sources": [null]}}]});
    usage(spec);
}

const ROLE: &str = "arn:aws:iam::111122223333:role/app";

#[test]
fn literal_roles_in_every_kind_of_container() {
    let u = usage(json!({
        "initContainers": [{"name": "init", "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}]}],
        "containers": [{"name": "app", "env": [{"name": "AWS_ROLE_ARN", "value": ROLE},
                                               {"name": "AWS_ROLE_ARN", "value": "second"}]}],
        "ephemeralContainers": [{"name": "debug", "env": [{"name": "aws_role_arn", "value": ROLE}]}],
    }));
    let sources: Vec<String> = u.env_roles.iter().map(|r| r.source.to_string()).collect();
    assert_eq!(
        sources,
        [
            "env AWS_ROLE_ARN of init container \"init\"",
            "env AWS_ROLE_ARN of container \"app\"",
            "env AWS_ROLE_ARN of container \"app\"",
            "env AWS_ROLE_ARN of ephemeral container \"debug\""
        ]
    );
    assert!(u.env_roles[2].arn().is_err(), "duplicates are each checked");
}

#[test]
fn empty_literals_are_no_role() {
    let u = usage(
        json!({"containers": [{"name": "a", "env": [{"name": "AWS_ROLE_ARN", "value": ""},
                                                              {"name": "AWS_ROLE_ARN"}]}]}),
    );
    assert!(u.env_roles.is_empty());
}

#[test]
fn value_from_is_unverifiable() {
    let u = usage(json!({"containers": [{"name": "a", "env": [
        {"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}));
    assert_eq!(
        u.unverifiable,
        [Unverifiable::ValueFrom {
            container: ContainerRef {
                kind: ContainerKind::Regular,
                name: "a".into()
            },
            variable: "AWS_ROLE_ARN".into(),
            from: "secretKeyRef".into()
        }]
    );
}

/// A projected STS token and nothing else.
fn sts_volume(name: &str) -> Value {
    json!({"name": name, "projected": {"sources": [
        {"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "t"}}]}})
}

fn token_volume(name: &str, audience: &str) -> Value {
    json!({"name": name, "projected": {"sources": [{"configMap": {"name": "x"}},
           {"serviceAccountToken": {"audience": audience, "path": "t"}}]}})
}

#[test]
fn sts_tokens_are_found_by_audience() {
    let u = usage(
        json!({"volumes": [token_volume("mine", "sts.amazonaws.com"), token_volume("other", "vault"),
                                     {"name": "plain", "emptyDir": {}}]}),
    );
    assert_eq!(
        u.sts_tokens,
        [StsToken {
            volume: "mine".into(),
            audience: "sts.amazonaws.com".into()
        }]
    );
}

#[test]
fn env_from_matters_only_with_a_token_and_no_explicit_role() {
    let spec = |env: Value, mounts: Value, prefix: Option<&str>| {
        let mut env_from = json!({"configMapRef": {"name": "aws"}});
        if let Some(p) = prefix {
            env_from["prefix"] = json!(p);
        }
        json!({"volumes": [sts_volume("tok")],
               "containers": [{"name": "a", "env": env, "envFrom": [env_from], "volumeMounts": mounts}]})
    };
    let mount = json!([{"name": "tok", "mountPath": "/t"}]);
    let u = usage(spec(json!([]), mount.clone(), None));
    assert_eq!(
        u.unverifiable,
        [Unverifiable::EnvFrom {
            container: ContainerRef {
                kind: ContainerKind::Regular,
                name: "a".into()
            },
            from: "ConfigMap \"aws\"".into(),
            volume: "tok".into(),
            variable: "AWS_ROLE_ARN".into()
        }]
    );
    assert!(
        usage(spec(json!([]), json!([]), None))
            .unverifiable
            .is_empty(),
        "no token mounted"
    );
    let explicit = json!([{"name": "AWS_ROLE_ARN", "value": ROLE}]);
    assert!(
        matches!(usage(spec(explicit, mount.clone(), None)).unverifiable.as_slice(),
            [Unverifiable::EnvFrom { variable, .. }] if variable == "JAVA_TOOL_OPTIONS"),
        "envFrom can still set JAVA_TOOL_OPTIONS"
    );
    let every = json!([{"name": "AWS_ROLE_ARN", "value": ROLE},
        {"name": "JAVA_TOOL_OPTIONS", "value": ""}, {"name": "JDK_JAVA_OPTIONS", "value": ""},
        {"name": "_JAVA_OPTIONS", "value": ""}, {"name": "JAVA_OPTS", "value": ""}]);
    assert!(
        usage(spec(every, mount.clone(), None))
            .unverifiable
            .is_empty(),
        "env overrides envFrom"
    );
    assert!(
        usage(spec(json!([]), mount.clone(), Some("APP_")))
            .unverifiable
            .is_empty()
    );
    assert_eq!(
        usage(spec(json!([]), mount, Some("AWS_")))
            .unverifiable
            .len(),
        1
    );
}

#[test]
fn wrong_types_are_named() {
    let settings = parse(&json!({})).unwrap();
    let err = collect(
        &json!({"containers": [{"env": [{"name": 5}]}]}),
        "spec",
        settings.compose_role_arn.as_ref(),
        &BTreeSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "spec.containers[0].env[0].name must be a string, not a number"
    );
    let err = collect(
        &json!({"volumes": [{"projected": {"sources": "x"}}]}),
        "spec",
        settings.compose_role_arn.as_ref(),
        &BTreeSet::new(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "spec.volumes[0].projected.sources must be a list, not a string"
    );
}

fn with_token(mut spec: Value) -> Value {
    spec["volumes"] = json!([sts_volume("tok")]);
    spec
}

fn kinds(u: &PodUsage) -> Vec<String> {
    u.unverifiable
        .iter()
        .map(|v| format!("{:?}", std::mem::discriminant(v)))
        .collect()
}

#[test]
fn java_role_property_is_a_role_only_where_a_token_is() {
    let opts = "-Xmx1g -Daws.roleArn=arn:aws:iam::1:role/a '-Daws.roleArn=arn:aws:iam::111122223333:role/b' -Daws.roleArnX=y -Daws.roleArn";
    let spec = |mount: bool| {
        let mut c = json!({"name": "a", "env": [{"name": "java_tool_options", "value": opts}]});
        if mount {
            c["volumeMounts"] = json!([{"name": "tok", "mountPath": "/t"}]);
        }
        with_token(json!({"containers": [c]}))
    };
    let u = usage(spec(true));
    let values: Vec<&str> = u.env_roles.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(
        values,
        ["arn:aws:iam::1:role/a", "arn:aws:iam::111122223333:role/b"]
    );
    assert_eq!(
        u.env_roles[0].source.to_string(),
        "-Daws.roleArn in env java_tool_options of container \"a\""
    );
    assert!(usage(spec(false)).env_roles.is_empty(), "no token, no role");
}

#[test]
fn java_options_from_files_and_sources_are_unverifiable() {
    for env in [
        json!({"name": "JDK_JAVA_OPTIONS", "value": "@/etc/jvm/args"}),
        json!({"name": "_JAVA_OPTIONS", "value": "-XX:Flags=/x"}),
        json!({"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "j", "key": "k"}}}),
        json!({"name": "JAVA_OPTS", "valueFrom": {"secretKeyRef": {"name": "j", "key": "k"}}}),
        json!({"name": "JAVA_TOOL_OPTIONS", "value": "-XX:VMOptionsFile=/x"}),
        json!({"name": "JAVA_OPTS", "value": "-Xmx1g \"@/etc/args\""}),
    ] {
        let spec = with_token(json!({"containers": [{"name": "a", "env": [env],
            "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
        assert_eq!(usage(spec).unverifiable.len(), 1, "{env}");
    }
}

#[test]
fn config_files_count_with_any_tenant_written_mount() {
    let case = |path: &str, volume: Value| {
        let mut spec = json!({"containers": [{"name": "a",
            "env": [{"name": "AWS_CONFIG_FILE", "value": path}],
            "volumeMounts": [{"name": "tok", "mountPath": "/t"}, {"name": "cfg", "mountPath": "/etc/aws/"}]}]});
        let kind = volume.as_str().unwrap();
        let body = match kind {
            "projected" => json!({"sources": [{"configMap": {"name": "c"}}]}),
            "emptyDir" => json!({}),
            _ => json!({"name": "c"}),
        };
        // A token-only volume: `token_volume` also holds a ConfigMap.
        let token = json!({"name": "tok", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "t"}}]}});
        spec["volumes"] = json!([token, {"name": "cfg", kind: body}]);
        usage(spec).unverifiable.len()
    };
    for kind in [
        "configMap",
        "secret",
        "projected",
        "image",
        "csi",
        "persistentVolumeClaim",
    ] {
        assert_eq!(case("/etc/aws/config", json!(kind)), 1, "{kind}");
    }
    // Every line of a downward API file is `key="value"`: no profile.
    assert_eq!(case("/etc/aws/config", json!("downwardAPI")), 0);
    assert_eq!(case("/etc/./x/../aws//config", json!("secret")), 1);
    assert_eq!(
        case("relative/config", json!("secret")),
        1,
        "cannot be placed"
    );
    // Paths are not compared: symlinks (`/var/run` to `/run`) and
    // `/proc/self/root/...` reach the mount from anywhere.
    assert_eq!(case("/etc/awsx/config", json!("secret")), 1);
    assert_eq!(case("/proc/self/root/etc/aws/config", json!("secret")), 1);
    assert_eq!(case("/etc/aws/config", json!("emptyDir")), 0);
}

#[test]
fn token_access_through_shared_processes_and_debug_targets() {
    let secret_env = json!([{"secretRef": {"name": "s"}}]);
    let mounted = json!([{"name": "tok", "mountPath": "/t"}]);
    let spec = |shared: bool, target: Option<&str>| {
        let mut debug = json!({"name": "debug", "envFrom": secret_env});
        if let Some(t) = target {
            debug["targetContainerName"] = json!(t);
        }
        with_token(json!({"shareProcessNamespace": shared,
            "containers": [{"name": "app", "volumeMounts": mounted,
                            "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}]},
                           {"name": "plain"}],
            "ephemeralContainers": [debug]}))
    };
    assert!(usage(spec(false, None)).unverifiable.is_empty());
    assert!(usage(spec(false, Some("plain"))).unverifiable.is_empty());
    assert_eq!(kinds(&usage(spec(false, Some("app")))).len(), 1);
    assert_eq!(kinds(&usage(spec(true, None))).len(), 1);
}

#[test]
fn windows_env_from_competes_with_an_explicit_role() {
    let spec = |os: Value| {
        with_token(json!({"os": os, "containers": [{"name": "a",
            "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}],
            "envFrom": [{"secretRef": {"name": "s"}, "prefix": "AWS_"}],
            "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}))
    };
    assert!(
        usage(spec(json!({"name": "linux"})))
            .unverifiable
            .is_empty()
    );
    assert_eq!(
        usage(spec(json!({"name": "windows"}))).unverifiable.len(),
        1
    );
}

#[test]
fn env_from_prefix_equal_to_the_variable_cannot_set_it() {
    let spec = with_token(json!({"containers": [{"name": "a",
        "envFrom": [{"prefix": "AWS_ROLE_ARN", "secretRef": {"name": "s"}},
                    {"prefix": "AWS_ROLE_AR", "secretRef": {"name": "t"}}],
        "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
    let u = usage(spec);
    assert_eq!(u.unverifiable.len(), 1);
    assert!(format!("{:?}", u.unverifiable[0]).contains("Secret \\\"t\\\""));
}

#[test]
fn written_role_arns_are_judged_up_to_a_bound() {
    let many: Vec<String> = (0..300)
        .map(|i| format!("arn:aws:iam::111122223333:role/r{i}"))
        .collect();
    let spec = with_token(json!({"containers": [{"name": "a", "args": many,
        "env": [{"name": "AWS_ROLE_ARN", "value": ROLE}],
        "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
    let u = usage(spec);
    // The explicit role, then the first 256 written ones.
    assert_eq!(u.env_roles.len(), 1 + rules::MAX_WRITTEN_ROLES);
    assert!(matches!(
        u.unverifiable.as_slice(),
        [Unverifiable::TooManyRoles { limit: 256, .. }]
    ));
}

#[test]
fn roles_are_found_after_expansion_in_env_command_and_args() {
    let spec = with_token(json!({"containers": [{"name": "a",
        "env": [{"name": "ACCOUNT", "value": "999988887777"},
                {"name": "OPTS", "value": "-Dx=arn:aws:iam::$(ACCOUNT):role/env"}],
        "command": ["sh", "-c", "exec app --role=arn:aws:iam::$(ACCOUNT):role/cmd"],
        "args": ["$$(ACCOUNT)", "arn:aws:iam::$(ACCOUNT):role/'args'"],
        "volumeMounts": [{"name": "tok", "mountPath": "/t"}]}]}));
    let u = usage(spec);
    let found: Vec<String> = u
        .env_roles
        .iter()
        .map(|r| format!("{} {}", r.value, r.source))
        .collect();
    assert_eq!(
        found,
        [
            "arn:aws:iam::999988887777:role/env written in env OPTS of container \"a\"",
            "arn:aws:iam::999988887777:role/cmd written in command of container \"a\"",
            "arn:aws:iam::999988887777:role/args written in args of container \"a\"",
        ]
    );
    assert!(u.unverifiable.is_empty());
}
