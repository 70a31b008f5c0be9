//! The injection: what it adds, where, and what it never touches.

use super::*;
use serde_json::json;

/// `inject`, checked against [`Plan::splice`]: the parsed Pod changed in
/// place and the spliced text, pretty-printed to exercise whitespace,
/// must be the same object. Every test below goes through here.
fn inject(
    pod: &mut Value,
    injection: &Injection<'_>,
    skip: &BTreeSet<String>,
) -> Result<bool, String> {
    let text = serde_json::to_string_pretty(pod).unwrap();
    let result = super::inject(pod, injection, skip);
    if result.is_ok() {
        let written: Value = serde_json::from_str(&text).unwrap();
        let shape = PodShape::of_value(&written).unwrap();
        let read = crate::pod_text::PodText::read(&text).expect("the text reads");
        assert_eq!(read.shape, shape, "the text reads as parsed");
        let plan = plan(&shape, injection, skip);
        let spliced = plan
            .splice(&text, &read.places)
            .expect("the text takes the splice");
        // The size bound is counted without writing: at least what is
        // written, and not far below it.
        let grown = spliced.len() - text.len();
        assert!(
            grown >= plan.added_bytes(),
            "{grown} < {}",
            plan.added_bytes()
        );
        assert!(
            grown <= plan.added_bytes() * 5 / 4 + 64,
            "{grown} vs {}",
            plan.added_bytes()
        );
        assert_eq!(serde_json::from_str::<Value>(&spliced).unwrap(), *pod);
    }
    result
}

const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";
const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

fn irsa<'a>() -> Injection<'a> {
    Injection {
        volume_name: IRSA_VOLUME_NAME,
        audience: DEFAULT_TOKEN_AUDIENCE,
        expiration_seconds: 86400,
        mount_path: DEFAULT_TOKEN_MOUNT_PATH,
        token_path: IRSA_TOKEN_PATH,
        credential_env: (ENV_ROLE_ARN, ROLE, ENV_WEB_IDENTITY_TOKEN_FILE),
        regional_sts: false,
        region: None,
        pod_identity_label: false,
    }
}

fn mutate(mut pod: Value, injection: &Injection<'_>) -> Value {
    assert!(inject(&mut pod, injection, &BTreeSet::new()).unwrap());
    pod
}

fn env_names(container: &Value) -> Vec<&str> {
    container["env"]
        .as_array()
        .map(|env| env.iter().map(|e| e["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn baseline_irsa_injection() {
    let pod = mutate(
        json!({"spec": {"containers": [{"name": "app", "image": "app:1"}]}}),
        &irsa(),
    );
    assert_eq!(
        pod,
        json!({"spec": {
            "containers": [{
                "name": "app", "image": "app:1",
                "env": [
                    {"name": "AWS_ROLE_ARN", "value": ROLE},
                    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE},
                ],
                "volumeMounts": [{"name": "aws-iam-token", "readOnly": true,
                                  "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}],
            }],
            "volumes": [{"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
                "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}],
        }})
    );
}

#[test]
fn env_order_is_sts_then_region_then_pair() {
    let injection = Injection {
        regional_sts: true,
        region: Some("us-west-2"),
        ..irsa()
    };
    let pod = mutate(
        json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}}),
        &injection,
    );
    assert_eq!(
        env_names(&pod["spec"]["containers"][0]),
        [
            "X",
            "AWS_STS_REGIONAL_ENDPOINTS",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE"
        ]
    );
    assert_eq!(pod["spec"]["containers"][0]["env"][1]["value"], "regional");
    assert_eq!(pod["spec"]["containers"][0]["env"][2]["value"], "us-west-2");
}

#[test]
fn one_key_of_a_group_suppresses_the_whole_group() {
    let injection = Injection {
        regional_sts: true,
        region: Some("us-west-2"),
        ..irsa()
    };
    let pod = mutate(
        json!({"spec": {"containers": [{"name": "a", "env": [
            {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
            {"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"},
        ]}, {"name": "b", "env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/x"}]}]}}),
        &injection,
    );
    let a = &pod["spec"]["containers"][0];
    assert_eq!(
        env_names(a),
        [
            "AWS_DEFAULT_REGION",
            "AWS_ROLE_ARN",
            "AWS_STS_REGIONAL_ENDPOINTS"
        ]
    );
    assert_eq!(a["env"][2]["value"], "legacy", "never overwritten");
    assert!(
        a.get("volumeMounts").is_none(),
        "early exit: not even a mount"
    );
    let b = &pod["spec"]["containers"][1];
    assert_eq!(
        env_names(b),
        [
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_STS_REGIONAL_ENDPOINTS",
            "AWS_DEFAULT_REGION",
            "AWS_REGION"
        ]
    );
    assert_eq!(b["volumeMounts"][0]["name"], "aws-iam-token");
}

#[test]
fn env_from_is_ignored_for_presence() {
    let pod = mutate(
        json!({"spec": {"containers": [{"name": "a", "envFrom": [{"configMapRef": {"name": "aws"}}]}]}}),
        &irsa(),
    );
    assert_eq!(
        env_names(&pod["spec"]["containers"][0]),
        ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
    );
}

#[test]
fn existing_volume_and_mount_of_that_name_are_kept() {
    let pod = mutate(
        json!({"spec": {
            "volumes": [{"name": "aws-iam-token", "hostPath": {"path": "/x"}}],
            "containers": [{"name": "a", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/other"}]}],
        }}),
        &irsa(),
    );
    assert_eq!(
        pod["spec"]["volumes"],
        json!([{"name": "aws-iam-token", "hostPath": {"path": "/x"}}])
    );
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": "aws-iam-token", "mountPath": "/other"}])
    );
}

#[test]
fn volume_is_prepended_to_existing_even_empty_lists() {
    let pod = mutate(
        json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}], "containers": []}}),
        &irsa(),
    );
    assert_eq!(pod["spec"]["volumes"][0]["name"], "aws-iam-token");
    assert_eq!(pod["spec"]["volumes"][1]["name"], "data");
    let pod = mutate(json!({"spec": {"volumes": [], "containers": []}}), &irsa());
    assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 1);
    let pod = mutate(json!({"spec": {"volumes": null}}), &irsa());
    assert_eq!(pod["spec"]["volumes"][0]["name"], "aws-iam-token");
}

#[test]
fn empty_audience_leaves_out_the_key() {
    let injection = Injection {
        audience: "",
        ..irsa()
    };
    let pod = mutate(json!({"spec": {}}), &injection);
    let token = &pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"];
    assert!(token.get("audience").is_none());
    assert_eq!(token["expirationSeconds"], 86400);
}

#[test]
fn init_containers_and_native_sidecars_are_mutated_ephemeral_never() {
    let pod = mutate(
        json!({"spec": {
            "initContainers": [{"name": "init"}, {"name": "sidecar", "restartPolicy": "Always",
                                "startupProbe": {"grpc": {"port": 5000}}}],
            "containers": [{"name": "app"}],
            "ephemeralContainers": [{"name": "debug"}],
        }}),
        &irsa(),
    );
    for c in pod["spec"]["initContainers"].as_array().unwrap() {
        assert_eq!(
            env_names(c),
            ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
        );
    }
    assert_eq!(pod["spec"]["initContainers"][1]["restartPolicy"], "Always");
    assert_eq!(
        pod["spec"]["initContainers"][1]["startupProbe"],
        json!({"grpc": {"port": 5000}})
    );
    assert_eq!(
        pod["spec"]["ephemeralContainers"],
        json!([{"name": "debug"}])
    );
}

#[test]
fn skipped_containers_are_untouched_but_kept() {
    let mut pod =
        json!({"spec": {"containers": [{"name": "app"}, {"name": "sidecar"}, {"name": " b"}]}});
    let skip = skipped_containers(
        json!({"eks.amazonaws.com/skip-containers": "sidecar, b"}).as_object(),
        "eks.amazonaws.com/skip-containers",
    );
    inject(&mut pod, &irsa(), &skip).unwrap();
    assert!(pod["spec"]["containers"][0].get("env").is_some());
    assert_eq!(pod["spec"]["containers"][1], json!({"name": "sidecar"}));
    assert_eq!(
        pod["spec"]["containers"][2],
        json!({"name": " b"}),
        "leading space kept, as Go's csv"
    );
}

#[test]
fn skip_containers_parse_errors_skip_nothing() {
    for value in ["", "x\"y", "\"open"] {
        let skip = skipped_containers(json!({"k": value}).as_object(), "k");
        assert!(skip.is_empty(), "{value:?}");
    }
    let skip = skipped_containers(json!({"k": "\"a,b\",c"}).as_object(), "k");
    assert_eq!(skip, ["a,b".to_owned(), "c".to_owned()].into());
}

#[test]
fn windows_changes_only_the_env_path() {
    let pod = mutate(
        json!({"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{"name": "a"}]}}),
        &irsa(),
    );
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        c["env"][1]["value"],
        "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token"
    );
    assert_eq!(c["volumeMounts"][0]["mountPath"], DEFAULT_TOKEN_MOUNT_PATH);
    assert_eq!(
        token_file_path("/mnt//x/", "t", false),
        "/mnt/x/t",
        "joined and cleaned like Go filepath.Join"
    );
}

fn pod_identity<'a>() -> Injection<'a> {
    Injection {
        volume_name: DEFAULT_POD_IDENTITY_VOLUME_NAME,
        audience: DEFAULT_POD_IDENTITY_AUDIENCE,
        expiration_seconds: 80000,
        mount_path: DEFAULT_POD_IDENTITY_MOUNT_PATH,
        token_path: DEFAULT_POD_IDENTITY_TOKEN_PATH,
        credential_env: (
            ENV_CONTAINER_CREDENTIALS_FULL_URI,
            "http://[fd00:ec2::23]/v1/credentials",
            ENV_CONTAINER_AUTHORIZATION_TOKEN_FILE,
        ),
        regional_sts: false,
        region: None,
        pod_identity_label: true,
    }
}

#[test]
fn pod_identity_adds_label_env_and_volume() {
    let pod = mutate(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a",
            "env": [{"name": "AWS_ROLE_ARN", "value": "user-set"}]}]}}),
        &pod_identity(),
    );
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"eks.amazonaws.com/pod-identity": "enabled"})
    );
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        json!([
            {"name": "AWS_ROLE_ARN", "value": "user-set"},
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://[fd00:ec2::23]/v1/credentials"},
            {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
             "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
        ])
    );
    assert_eq!(pod["spec"]["volumes"][0]["name"], "eks-pod-identity-token");
    assert_eq!(
        pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
        "pods.eks.amazonaws.com"
    );
}

#[test]
fn pod_identity_label_joins_existing_labels() {
    let pod = mutate(
        json!({"metadata": {"labels": {"app": "x", "eks.amazonaws.com/pod-identity": "enabled"}},
               "spec": {"containers": []}}),
        &pod_identity(),
    );
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"app": "x", "eks.amazonaws.com/pod-identity": "enabled"})
    );
}

#[test]
fn pod_identity_label_is_set_wherever_metadata_leaves_room() {
    for metadata in [
        None,
        Some(json!(null)),
        Some(json!({})),
        Some(json!({"labels": null})),
        Some(json!({"labels": {}})),
        Some(json!({"labels": {"eks.amazonaws.com/pod-identity": "disabled", "a": "b"}})),
    ] {
        let mut pod = json!({"spec": {"containers": [{"name": "app"}]}});
        if let Some(metadata) = metadata {
            pod["metadata"] = metadata;
        }
        // `mutate` also checks the spliced text against the parsed Pod.
        let pod = mutate(pod, &pod_identity());
        assert_eq!(
            pod["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
            "enabled"
        );
    }
}

#[test]
fn mutating_twice_equals_mutating_once() {
    let injection = Injection {
        regional_sts: true,
        region: Some("eu-west-1"),
        ..irsa()
    };
    let once = mutate(
        json!({"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}],
               "volumes": [{"name": "d"}]}}),
        &injection,
    );
    let mut twice = once.clone();
    assert!(
        !inject(&mut twice, &injection, &BTreeSet::new()).unwrap(),
        "second pass changes nothing"
    );
    assert_eq!(once, twice);
}

#[test]
fn malformed_pods_are_refused_unchanged() {
    let cases = [
        (json!({}), "spec is missing"),
        (json!({"spec": []}), "spec must be an object"),
        (
            json!({"spec": {"containers": {}}}),
            "spec.containers must be a list",
        ),
        (
            json!({"spec": {"containers": [1]}}),
            "spec.containers[0] must be an object",
        ),
        (
            json!({"spec": {"containers": [{"name": 1}]}}),
            "spec.containers[0].name must be a string",
        ),
        (
            json!({"spec": {"containers": [{"env": "x"}]}}),
            "spec.containers[0].env must be a list",
        ),
        (
            json!({"spec": {"initContainers": [{"env": [1]}]}}),
            "spec.initContainers[0].env[0] must be an object",
        ),
        (
            json!({"spec": {"containers": [{"volumeMounts": {}}]}}),
            "spec.containers[0].volumeMounts must be a list",
        ),
        (
            json!({"spec": {"volumes": "x"}}),
            "spec.volumes must be a list",
        ),
        (
            json!({"spec": {"volumes": [null]}}),
            "spec.volumes[0] must be an object",
        ),
        (
            json!({"metadata": {"labels": []}, "spec": {}}),
            "metadata.labels must be an object",
        ),
        (
            json!({"spec": {"nodeSelector": []}}),
            "spec.nodeSelector must be an object",
        ),
    ];
    for (pod, message) in cases {
        let mut mutated = pod.clone();
        let err = inject(&mut mutated, &irsa(), &BTreeSet::new()).unwrap_err();
        assert!(err.starts_with(message), "{pod}: {err}");
        assert_eq!(mutated, pod, "nothing changed");
    }
}
