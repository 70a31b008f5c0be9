//! The decision for one admission request, as plain data in and out. The
//! waPC shell in `lib.rs` only parses the payload, calls [`evaluate`] and
//! serialises the [`Outcome`].

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde_json::Value;

use crate::identity::{self, Identity, ServiceAccount};
use crate::json;
use crate::lookup::{GetResource, Lookup, lookup_service_account};
use crate::mutation::{self, Injection};
use crate::pod;
use crate::settings::{LookupFailure, Settings};

/// HTTP-style codes carried in rejections (the API server shows them).
pub const CODE_BAD_REQUEST: u16 = 400;
pub const CODE_INTERNAL_ERROR: u16 = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept,
    /// Accept with this object in place of the request's.
    Mutate(Value),
    Reject {
        message: String,
        code: u16,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn accept() -> Self {
        Outcome {
            verdict: Verdict::Accept,
            warnings: Vec::new(),
        }
    }

    pub fn reject(message: impl Into<String>, code: u16) -> Self {
        Outcome {
            verdict: Verdict::Reject {
                message: message.into(),
                code,
            },
            warnings: Vec::new(),
        }
    }

    fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings.extend(warnings);
        self
    }
}

/// Evaluates one request. `request` is taken by value so the Pod can be
/// mutated in place without a copy.
pub fn evaluate(
    request: KubernetesAdmissionRequest,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Outcome {
    let is_core = request.kind.group.is_empty();
    match (
        is_core,
        request.kind.kind.as_str(),
        request.operation.as_str(),
    ) {
        (true, "Pod", "CREATE") if request.sub_resource.is_empty() => {
            pod_create(request, settings, get_resource)
        }
        // Everything else passes untouched: DELETE (null object), CONNECT,
        // Pod UPDATE and subresources, and kinds this policy does not own.
        _ => Outcome::accept(),
    }
}

/// Injection for a Pod being created.
fn pod_create(
    request: KubernetesAdmissionRequest,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Outcome {
    if !settings.inject {
        return Outcome::accept();
    }
    let mut object = request.object;
    let pod_name = pod::display_name("Pod", &object);
    let facts = match PodFacts::read(&object, &request.namespace) {
        Ok(facts) => facts,
        Err(e) => return Outcome::reject(format!("{pod_name}: {e}"), CODE_BAD_REQUEST),
    };
    let PodFacts {
        namespace,
        service_account: sa_name,
    } = facts;
    let who = format!("{pod_name} in namespace {namespace:?}");

    let mut warnings = Vec::new();
    let sa_object = match lookup_service_account(&namespace, &sa_name, get_resource) {
        Lookup::Found(sa) => Some(sa),
        Lookup::Missing => {
            warnings.push(format!(
                "ServiceAccount {sa_name:?} of {who} was not found; \
                 the Pod gets no IRSA credentials unless serviceAccountMappings or podIdentity name it"
            ));
            None
        }
        Lookup::Failed(error) => {
            return lookup_failed(settings.lookup_failure, &who, &sa_name, &error);
        }
    };
    let sa_annotations = match &sa_object {
        Some(sa) => match json::string_map_at(sa, &["metadata", "annotations"]) {
            Ok(annotations) => ServiceAccount::Found(annotations),
            Err(e) => {
                let error = format!("the ServiceAccount returned by the host is malformed: {e}");
                return lookup_failed(settings.lookup_failure, &who, &sa_name, &error);
            }
        },
        None => ServiceAccount::Missing,
    };

    let pod_annotations = match pod::annotations(&object) {
        Ok(a) => a,
        Err(e) => return Outcome::reject(format!("{pod_name}: {e}"), CODE_BAD_REQUEST),
    };
    let jitter = || identity::jitter_from_seed(&request.uid);
    let Some(identity) = identity::resolve(
        settings,
        &namespace,
        &sa_name,
        sa_annotations,
        pod_annotations,
        &jitter,
    ) else {
        return Outcome::accept().with_warnings(warnings);
    };
    if let Identity::Irsa { role, .. } = &identity
        && let Err(reason) = &role.arn
    {
        warnings.push(format!(
            "{} of ServiceAccount {sa_name:?} ({who}) is not a well-formed IAM role ARN: {:?}: {reason}; \
             it was injected as written",
            role.source, role.value
        ));
    }
    let Some(injection) = Injection::for_identity(&identity, settings) else {
        return Outcome::accept().with_warnings(warnings);
    };
    let skip = mutation::skipped_containers(pod_annotations, &settings.keys.skip_containers);
    match mutation::inject(&mut object, &injection, &skip) {
        Ok(true) => Outcome {
            verdict: Verdict::Mutate(object),
            warnings,
        },
        Ok(false) => Outcome::accept().with_warnings(warnings),
        Err(e) => Outcome::reject(format!("{pod_name}: {e}"), CODE_BAD_REQUEST),
    }
}

/// The Pod's namespace and ServiceAccount name.
struct PodFacts {
    namespace: String,
    service_account: String,
}

impl PodFacts {
    fn read(object: &Value, request_namespace: &str) -> Result<PodFacts, String> {
        if !object.is_object() {
            return Err(json::type_error(
                "the request's object",
                "a Pod object",
                object,
            ));
        }
        // Upstream trusts the request's namespace over the object's.
        let namespace = match json::str_at(object, &["metadata", "namespace"])? {
            _ if !request_namespace.is_empty() => request_namespace.to_owned(),
            Some(ns) if !ns.is_empty() => ns.to_owned(),
            _ => {
                return Err(
                    "neither the request nor metadata.namespace names a namespace".to_owned(),
                );
            }
        };
        let spec = json::at(object, &["spec"]).ok_or_else(|| "spec is missing".to_owned())?;
        if !spec.is_object() {
            return Err(json::type_error("spec", "an object", spec));
        }
        let service_account = pod::service_account_name(spec, "spec")?.to_owned();
        Ok(PodFacts {
            namespace,
            service_account,
        })
    }
}

fn lookup_failed(policy: LookupFailure, who: &str, sa_name: &str, error: &str) -> Outcome {
    let problem = format!("looking up ServiceAccount {sa_name:?} of {who} failed: {error}");
    match policy {
        LookupFailure::Reject => Outcome::reject(
            format!(
                "{problem}. The Pod was rejected rather than started without its AWS credentials \
                 (it would fall back to the node's IAM role). Check that the policy has \
                 contextAwareResources for v1/ServiceAccount and that the policy-server may read \
                 ServiceAccounts, or set serviceAccountLookupFailure: accept"
            ),
            CODE_INTERNAL_ERROR,
        ),
        LookupFailure::Accept => Outcome::accept().with_warnings(vec![format!(
            "{problem}; admitted without AWS credentials (serviceAccountLookupFailure: accept)"
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse;
    use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::111122223333:role/s3-reader";

    fn request(object: Value) -> KubernetesAdmissionRequest {
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
        req: KubernetesAdmissionRequest,
        settings: Value,
        answer: impl Fn(&GetResourceRequest) -> Result<Value, String>,
    ) -> (Outcome, usize) {
        let settings = parse(&settings).unwrap();
        let mut calls = 0;
        let mut get = |r: &GetResourceRequest| {
            calls += 1;
            answer(r)
        };
        let outcome = evaluate(req, &settings, &mut get);
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
        assert_eq!(object["spec"]["containers"][0]["env"][0]["value"], ROLE);
        assert_eq!(object["spec"]["volumes"][0]["name"], "aws-iam-token");
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
            Err(
                "Policy has not been granted access to Kubernetes v1/ServiceAccount resources."
                    .into(),
            )
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
        let mut req =
            request(json!({"metadata": {"name": "web", "namespace": "other"}, "spec": {}}));
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

    #[test]
    fn re_evaluating_a_mutated_pod_changes_nothing() {
        let answer = |_: &GetResourceRequest| Ok(sa(json!({"eks.amazonaws.com/role-arn": ROLE})));
        let (outcome, _) = eval_with(request(pod()), json!({}), answer);
        let Verdict::Mutate(object) = outcome.verdict else {
            panic!()
        };
        let (again, _) = eval_with(request(object), json!({}), answer);
        assert_eq!(again, Outcome::accept());
    }
}
