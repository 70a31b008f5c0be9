//! Generated admission cases for property tests and the structured fuzz
//! target: Pods (and ServiceAccounts and Deployments) built from arbitrary
//! bytes, drawing names and values from pools that hit the policy's
//! decisions (role ARNs good and bad, AWS env names, STS audiences, skip
//! lists, expiration strings) plus unknown fields that must survive.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value, json};

const CONTAINER_NAMES: &[&str] = &["app", "sidecar", "init", "debug", "a,b", " b", ""];
const ENV_NAMES: &[&str] = &[
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "aws_role_arn",
    "LOG_LEVEL",
    "JAVA_TOOL_OPTIONS",
    "JAVA_OPTS",
    "AWS_CONFIG_FILE",
    "HOME",
    "ROLE_OPTS",
];
/// Values that hit the rules beyond role ARNs: kubelet references, JVM
/// options (quoted, option files, config properties), ARNs in text.
const VALUES: &[&str] = &[
    "$(ROLE_OPTS)",
    "$(AWS_ROLE_ARN)",
    "$$(ROLE_OPTS)",
    "arn:aws:iam::$(LOG_LEVEL):role/x",
    "-Xmx1g -D\"aws.roleArn\"=arn:aws:iam::111122223333:role/admin",
    "'-Daws.roleArn'=arn:aws:iam::111122223333:role/s3-reader\u{0B}-Xss1m",
    "-Daws.configFile=/etc/aws/config",
    "@/etc/jvm.args",
    "export X=arn:aws:iam::999988887777:role/s3-reader",
    "/home/app",
];
const ROLES: &[&str] = &[
    "arn:aws:iam::111122223333:role/s3-reader",
    "arn:aws:iam::111122223333:role/team-a/app",
    "arn:aws:iam::999988887777:role/s3-reader",
    "arn:aws-cn:iam::111122223333:role/s3-reader",
    "arn:aws:iam::111122223333:role/admin",
    "s3-reader",
    "",
    "arn:aws:iam::111122223333:role/s3-*",
];
const PATTERNS: &[&str] = &[
    "arn:aws:iam::111122223333:role/s3-*",
    "arn:aws:iam::111122223333:role/{namespace}/*",
    "arn:aws:iam::*:role/s3-reader",
    "arn:aws*:iam::111122223333:role/*",
    "arn:aws:iam::111122223333:role/admin",
];
const NAMESPACE_KEYS: &[&str] = &["team-a", "team-*", "*", "other", "t?am-a"];
const AUDIENCES: &[&str] = &["sts.amazonaws.com", "pods.eks.amazonaws.com", "vault", ""];
const VOLUME_NAMES: &[&str] = &[
    "aws-iam-token",
    "eks-pod-identity-token",
    "data",
    "tok",
    "cfg",
    "kube-api-access",
];
const EXPIRATIONS: &[&str] = &[
    "-5",
    "+600",
    "3600",
    "86400",
    "100000",
    "1e3",
    "abc",
    "9223372036854775808",
];
const BOOLS: &[&str] = &["true", "T", "0", "False", "yes", ""];

/// One generated admission case.
#[derive(Debug, Clone)]
pub struct Case {
    pub settings: Value,
    /// An AdmissionRequest as JSON.
    pub request: Value,
    /// The ServiceAccount `team-a/app` as the host returns it; `None`: missing.
    pub service_account: Option<Value>,
}

fn pick<'a>(u: &mut Unstructured<'_>, pool: &[&'a str]) -> Result<&'a str> {
    u.choose(pool).copied()
}

/// A JSON value the policy does not model, to check it survives.
fn unknown_value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => Value::Null,
        1 => json!(u.arbitrary::<bool>()?),
        2 => json!(u.arbitrary::<i32>()?),
        3 => json!(u.arbitrary::<String>()?),
        4 if depth < 3 => {
            let n = u.int_in_range(0..=2)?;
            Value::Array(
                (0..n)
                    .map(|_| unknown_value(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ if depth < 3 => {
            let mut m = Map::new();
            for _ in 0..u.int_in_range(0..=2)? {
                m.insert(
                    format!("x-{}", u.int_in_range(0..=9)?),
                    unknown_value(u, depth + 1)?,
                );
            }
            Value::Object(m)
        }
        _ => json!("leaf"),
    })
}

fn maybe_unknown(u: &mut Unstructured<'_>, object: &mut Map<String, Value>) -> Result<()> {
    if u.ratio(1, 3)? {
        object.insert("futureField".to_owned(), unknown_value(u, 0)?);
    }
    Ok(())
}

fn env_entry(u: &mut Unstructured<'_>) -> Result<Value> {
    let name = pick(u, ENV_NAMES)?;
    Ok(match u.int_in_range(0..=5)? {
        0 => json!({"name": name, "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}),
        1 => json!({"name": name}),
        2 | 3 => json!({"name": name, "value": pick(u, ROLES)?}),
        4 => json!({"name": name, "value": pick(u, VALUES)?}),
        _ => json!({"name": name, "value": u.arbitrary::<String>()?}),
    })
}

fn container(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut c = Map::new();
    c.insert("name".to_owned(), json!(pick(u, CONTAINER_NAMES)?));
    c.insert("image".to_owned(), json!("app:1"));
    if u.ratio(2, 3)? {
        let n = u.int_in_range(0..=4)?;
        c.insert(
            "env".to_owned(),
            Value::Array((0..n).map(|_| env_entry(u)).collect::<Result<_>>()?),
        );
    }
    if u.ratio(1, 4)? {
        let source = match u.int_in_range(0..=3)? {
            0 => json!({"configMapRef": {"name": "cfg"}}),
            1 => json!({"secretRef": {"name": "s"}, "prefix": "AWS_"}),
            2 => json!({"configMapRef": {"name": "cfg"}, "prefix": "DB_"}),
            _ => json!({"secretRef": {"name": "s"}, "prefix": "JAVA_"}),
        };
        c.insert("envFrom".to_owned(), json!([source]));
    }
    for field in ["command", "args"] {
        if u.ratio(1, 4)? {
            let words = match u.int_in_range(0..=2)? {
                0 => json!(["sh", "-c", pick(u, VALUES)?]),
                1 => json!([pick(u, ROLES)?, "$(AWS_ROLE_ARN)"]),
                _ => json!([u.arbitrary::<String>()?]),
            };
            c.insert(field.to_owned(), words);
        }
    }
    if u.ratio(1, 6)? {
        c.insert(
            "targetContainerName".to_owned(),
            json!(pick(u, CONTAINER_NAMES)?),
        );
    }
    if u.ratio(1, 2)? {
        let n = u.int_in_range(0..=2)?;
        let mounts = (0..n)
            .map(|_| {
                let path = pick(u, &["/m", "/root/.aws", "/var/run/secrets/x"])?;
                Ok(json!({"name": pick(u, VOLUME_NAMES)?, "mountPath": path}))
            })
            .collect::<Result<_>>()?;
        c.insert("volumeMounts".to_owned(), Value::Array(mounts));
    }
    if u.ratio(1, 4)? {
        c.insert("restartPolicy".to_owned(), json!("Always"));
        c.insert("startupProbe".to_owned(), json!({"grpc": {"port": 5000}}));
    }
    maybe_unknown(u, &mut c)?;
    Ok(Value::Object(c))
}

fn containers(u: &mut Unstructured<'_>, max: u32) -> Result<Value> {
    let n = u.int_in_range(0..=max)?;
    Ok(Value::Array(
        (0..n).map(|_| container(u)).collect::<Result<_>>()?,
    ))
}

fn volume(u: &mut Unstructured<'_>) -> Result<Value> {
    let name = pick(u, VOLUME_NAMES)?;
    Ok(match u.int_in_range(0..=7)? {
        0 | 1 => json!({"name": name, "projected": {"sources": [
            {"serviceAccountToken": {"audience": pick(u, AUDIENCES)?, "path": "t"}}]}}),
        2 => json!({"name": name, "projected": {"sources": [
            {"serviceAccountToken": {"path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"path": "namespace"}]}}]}}),
        3 => json!({"name": name, "configMap": {"name": "cfg"}}),
        4 => json!({"name": name, "secret": {"secretName": "s"}}),
        5 => json!({"name": name, "image": {"reference": "cfg:1"}}),
        6 => json!({"name": name, "downwardAPI": {"items": []}}),
        _ => json!({"name": name, "emptyDir": {}}),
    })
}

/// A PodSpec plus Pod metadata.
pub fn pod(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut spec = Map::new();
    spec.insert("serviceAccountName".to_owned(), json!("app"));
    spec.insert("containers".to_owned(), containers(u, 3)?);
    if u.arbitrary()? {
        spec.insert("initContainers".to_owned(), containers(u, 2)?);
    }
    if u.ratio(1, 4)? {
        spec.insert("ephemeralContainers".to_owned(), containers(u, 1)?);
    }
    match u.int_in_range(0..=3)? {
        0 => {}
        1 => {
            spec.insert("volumes".to_owned(), Value::Null);
        }
        _ => {
            let n = u.int_in_range(0..=2)?;
            spec.insert(
                "volumes".to_owned(),
                Value::Array((0..n).map(|_| volume(u)).collect::<Result<_>>()?),
            );
        }
    }
    if u.ratio(1, 4)? {
        spec.insert(
            "nodeSelector".to_owned(),
            json!({"kubernetes.io/os": "windows"}),
        );
    }
    if u.ratio(1, 6)? {
        spec.insert("os".to_owned(), json!({"name": "windows"}));
    }
    if u.ratio(1, 6)? {
        spec.insert("shareProcessNamespace".to_owned(), json!(true));
    }
    maybe_unknown(u, &mut spec)?;

    let mut annotations = Map::new();
    if u.arbitrary()? {
        let skip = match u.int_in_range(0..=3)? {
            0 => pick(u, CONTAINER_NAMES)?.to_owned(),
            1 => "\"a,b\",sidecar".to_owned(),
            2 => "app, b".to_owned(),
            _ => u.arbitrary::<String>()?,
        };
        annotations.insert("eks.amazonaws.com/skip-containers".to_owned(), json!(skip));
    }
    if u.arbitrary()? {
        annotations.insert(
            "eks.amazonaws.com/token-expiration".to_owned(),
            json!(pick(u, EXPIRATIONS)?),
        );
    }
    let mut metadata = Map::new();
    metadata.insert("name".to_owned(), json!("web"));
    metadata.insert("namespace".to_owned(), json!("team-a"));
    if !annotations.is_empty() {
        metadata.insert("annotations".to_owned(), Value::Object(annotations));
    }
    if u.arbitrary()? {
        let mut labels = Map::new();
        labels.insert("app".to_owned(), json!("web"));
        if u.arbitrary()? {
            labels.insert(
                "eks.amazonaws.com/pod-identity".to_owned(),
                json!("enabled"),
            );
        }
        metadata.insert("labels".to_owned(), Value::Object(labels));
    }
    maybe_unknown(u, &mut metadata)?;
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec});
    if let Some(p) = pod.as_object_mut() {
        maybe_unknown(u, p)?;
    }
    Ok(pod)
}

fn service_account(u: &mut Unstructured<'_>) -> Result<Option<Value>> {
    if u.ratio(1, 8)? {
        return Ok(None);
    }
    let mut annotations = Map::new();
    if u.ratio(3, 4)? {
        annotations.insert(
            "eks.amazonaws.com/role-arn".to_owned(),
            json!(pick(u, ROLES)?),
        );
    }
    if u.ratio(1, 4)? {
        annotations.insert(
            "eks.amazonaws.com/audience".to_owned(),
            json!(pick(u, AUDIENCES)?),
        );
    }
    if u.ratio(1, 4)? {
        annotations.insert(
            "eks.amazonaws.com/sts-regional-endpoints".to_owned(),
            json!(pick(u, BOOLS)?),
        );
    }
    if u.ratio(1, 4)? {
        annotations.insert(
            "eks.amazonaws.com/token-expiration".to_owned(),
            json!(pick(u, EXPIRATIONS)?),
        );
    }
    Ok(Some(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "app", "namespace": "team-a", "annotations": annotations}})))
}

/// Settings; `restricted` forces an allow-list.
pub fn settings(u: &mut Unstructured<'_>, restricted: bool) -> Result<Value> {
    let mut s = Map::new();
    if u.arbitrary()? {
        s.insert("awsDefaultRegion".to_owned(), json!("eu-west-1"));
    }
    if u.arbitrary()? {
        s.insert(
            "stsRegionalEndpoints".to_owned(),
            json!(u.arbitrary::<bool>()?),
        );
    }
    if u.ratio(1, 5)? {
        s.insert("inject".to_owned(), json!(false));
    }
    if u.ratio(1, 4)? {
        let mut association = json!({"namespace": "team-a", "serviceAccount": "app"});
        if u.arbitrary()? {
            association["roleArn"] = json!("arn:aws:iam::111122223333:role/s3-pi");
        }
        s.insert(
            "podIdentity".to_owned(),
            json!({"associations": [association]}),
        );
    }
    if u.ratio(1, 4)? {
        let key = if u.arbitrary()? {
            "team-a/app"
        } else {
            "*/app"
        };
        s.insert(
            "serviceAccountMappings".to_owned(),
            json!({key: {"roleArn": "arn:aws:iam::111122223333:role/s3-mapped"}}),
        );
    }
    if restricted || u.arbitrary()? {
        let mut allowed = Map::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let key = pick(u, NAMESPACE_KEYS)?;
            let n = u.int_in_range(0..=2)?;
            let patterns = (0..n)
                .map(|_| Ok(json!(pick(u, PATTERNS)?)))
                .collect::<Result<Vec<_>>>()?;
            allowed.insert(key.to_owned(), Value::Array(patterns));
        }
        s.insert("allowedRoles".to_owned(), Value::Object(allowed));
        if u.arbitrary()? {
            s.insert("enforcement".to_owned(), json!("warn"));
        }
    }
    Ok(Value::Object(s))
}

/// An AdmissionRequest for `object` of `kind`.
pub fn request(
    kind: (&str, &str, &str),
    operation: &str,
    object: Value,
    old_object: Value,
) -> Value {
    let (group, kind, resource) = kind;
    json!({
        "uid": "generated",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "resource": {"group": group, "version": "v1", "resource": resource},
        "namespace": "team-a",
        "operation": operation,
        "object": object,
        "oldObject": old_object,
    })
}

impl<'a> arbitrary::Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let settings = settings(u, false)?;
        let service_account = service_account(u)?;
        let pod = pod(u)?;
        let request = match u.int_in_range(0..=9)? {
            0 => {
                let mut old = pod.clone();
                if let Some(spec) = old.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("ephemeralContainers");
                }
                request(("", "Pod", "pods"), "UPDATE", pod, old)
            }
            1 => {
                let sa = service_account.clone().unwrap_or(Value::Null);
                request(
                    ("", "ServiceAccount", "serviceaccounts"),
                    "CREATE",
                    sa,
                    Value::Null,
                )
            }
            2 => {
                let template = json!({"metadata": pod.get("metadata"), "spec": pod.get("spec")});
                let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "team-a"}, "spec": {"template": template}});
                request(
                    ("apps", "Deployment", "deployments"),
                    "CREATE",
                    deployment,
                    Value::Null,
                )
            }
            _ => request(("", "Pod", "pods"), "CREATE", pod, Value::Null),
        };
        Ok(Case {
            settings,
            request,
            service_account,
        })
    }
}
