//! The decision for one admission request, as plain data in and out. The
//! waPC shell in `lib.rs` only parses the payload, calls [`evaluate`] and
//! serialises the [`Outcome`].
//!
//! - Pod CREATE: inject credentials, then check the Pod as it will run.
//! - Pod UPDATE (including `ephemeralcontainers`, judged on the Pod as it
//!   will be stored): check what the update adds, per container.
//! - ServiceAccount CREATE/UPDATE: check its role annotation.
//! - Workload CREATE/UPDATE: check the Pod template as a Pod; never mutate it.
//! - TokenRequest (`serviceaccounts/token`): STS audiences for nodes and
//!   trusted requesters only.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::allowlist::{self, NamespaceAllowance, Violation};
use crate::constants::NODES_GROUP;
use crate::identity::{self, Identity, ServiceAccount};
use crate::json;
use crate::lookup::{GetResource, Lookup, lookup_service_account};
use crate::mutation::{self, Injection};
use crate::names::{self, Shown};
use crate::pod;
use crate::pod::PodShape;
use crate::pod_text::{Places, PodText};
use crate::report;
use crate::role::{Role, RoleSource};
use crate::settings::{Enforcement, LookupFailure, Restriction, Settings};
use crate::usage::{self, PodUsage};

/// HTTP-style codes carried in rejections (the API server shows them).
pub const CODE_BAD_REQUEST: u16 = 400;
pub const CODE_FORBIDDEN: u16 = 403;
pub const CODE_INTERNAL_ERROR: u16 = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept,
    /// Accept with this object in place of the request's.
    Mutate(MutatedObject),
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

    /// The same answer: verdict, message, code and warnings equal, and a
    /// mutated object equal as JSON (its text may be laid out differently).
    pub fn same_decision(&self, other: &Outcome) -> bool {
        let same_verdict = match (&self.verdict, &other.verdict) {
            (Verdict::Mutate(a), Verdict::Mutate(b)) => a.to_value() == b.to_value(),
            (a, b) => a == b,
        };
        same_verdict && self.warnings == other.warnings
    }

    fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings.extend(warnings);
        self
    }
}

/// A mutated object: normally the request's own text with the additions
/// spliced in, so every byte the policy did not add is as it was sent;
/// the parsed Pod with the additions when the text could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum MutatedObject {
    Spliced(String),
    Parsed(Value),
}

impl MutatedObject {
    /// Appends the object as JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            MutatedObject::Spliced(text) => out.extend_from_slice(text.as_bytes()),
            // A `Value` into a Vec: serialising cannot fail.
            MutatedObject::Parsed(value) => {
                let _ = serde_json::to_writer(out, value);
            }
        }
    }

    /// The object parsed, for tests and tools. Numbers are read from the
    /// same digits either way, so the two forms compare exactly.
    pub fn to_value(&self) -> Value {
        match self {
            MutatedObject::Spliced(text) => serde_json::from_str(text).unwrap_or_default(),
            MutatedObject::Parsed(value) => value.clone(),
        }
    }
}

/// The parts of an AdmissionRequest the policy reads. The rest (userInfo,
/// options, requestKind, ...) is skipped without being built.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Request {
    pub uid: String,
    pub kind: Kind,
    /// The object's name; for a subresource, the parent's (a TokenRequest
    /// names its ServiceAccount here).
    pub name: String,
    pub namespace: String,
    pub operation: String,
    #[serde(rename = "subResource", alias = "sub_resource")]
    pub sub_resource: String,
    /// Kept as text: it is parsed for reading, and a mutated Pod is this
    /// text with the injection spliced in.
    pub object: Option<Box<RawValue>>,
    #[serde(rename = "oldObject", alias = "old_object")]
    pub old_object: Option<Box<RawValue>>,
    /// Read only for TokenRequests; a malformed one is an untrusted user.
    #[serde(rename = "userInfo", alias = "user_info")]
    pub user_info: Option<Box<RawValue>>,
}

impl Request {
    fn object(&self) -> Result<Value, String> {
        json::parse_raw(self.object.as_deref(), "object")
    }

    /// `object` and `oldObject`, parsed.
    fn objects(&self) -> Result<(Value, Value), String> {
        let object = self.object()?;
        Ok((
            object,
            json::parse_raw(self.old_object.as_deref(), "oldObject")?,
        ))
    }
}

/// `request.kind`: the object's group, version and kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Kind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// Where each workload kind keeps its Pod template.
const WORKLOAD_TEMPLATES: [(&str, &str, &[&str]); 7] = [
    ("apps", "Deployment", &["spec", "template"]),
    ("apps", "ReplicaSet", &["spec", "template"]),
    ("apps", "StatefulSet", &["spec", "template"]),
    ("apps", "DaemonSet", &["spec", "template"]),
    ("batch", "Job", &["spec", "template"]),
    (
        "batch",
        "CronJob",
        &["spec", "jobTemplate", "spec", "template"],
    ),
    ("", "ReplicationController", &["spec", "template"]),
];

/// Evaluates one request. `request` is taken by value so the Pod can be
/// mutated in place without a copy.
pub fn evaluate(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Outcome {
    evaluate_with(request, settings, get_resource, PodReader::Text)
}

/// [`evaluate`] with every Pod parsed into a `Value`, and a mutated Pod
/// written from it rather than spliced: the reference the text reader and
/// the splice are tested against (unit, property and fuzz tests), with
/// [`Outcome::same_decision`].
pub fn evaluate_parsed(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Outcome {
    evaluate_with(request, settings, get_resource, PodReader::Parsed)
}

/// How a Pod CREATE is read and written.
#[derive(Clone, Copy, PartialEq)]
enum PodReader {
    /// Without `allowedRoles`, [`PodText`] first, the parsed Pod if it
    /// gives up; a mutated Pod is spliced into the request text.
    Text,
    /// The parsed Pod only, written back from the `Value`.
    Parsed,
}

fn evaluate_with(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    reader: PodReader,
) -> Outcome {
    let group = request.kind.group.as_str();
    let kind = request.kind.kind.as_str();
    let create_or_update = matches!(request.operation.as_str(), "CREATE" | "UPDATE");
    let sub_resource = request.sub_resource.as_str();
    let outcome = match (group, kind, request.operation.as_str(), sub_resource) {
        ("", "Pod", "CREATE", "") => pod_create(request, settings, get_resource, reader),
        ("", "Pod", "UPDATE", "" | "ephemeralcontainers") => pod_update(request, settings),
        ("", "ServiceAccount", _, "") if create_or_update => service_account(request, settings),
        ("authentication.k8s.io", "TokenRequest", "CREATE", "token") => {
            token_request(&request, settings)
        }
        _ if create_or_update && sub_resource.is_empty() => {
            match WORKLOAD_TEMPLATES
                .iter()
                .find(|(g, k, _)| *g == group && *k == kind)
            {
                Some((_, _, path)) => workload(request, path, settings, get_resource),
                None => Outcome::accept(),
            }
        }
        // DELETE (null object), CONNECT, other subresources and kinds.
        _ => Outcome::accept(),
    };
    bounded(outcome)
}

/// Every answer within what the API server keeps, whatever the input: a
/// message of at most [`report::MESSAGE_LIMIT`] bytes, a few short warnings.
fn bounded(mut outcome: Outcome) -> Outcome {
    if let Verdict::Reject { message, .. } = &mut outcome.verdict {
        *message = names::truncate(std::mem::take(message), report::MESSAGE_LIMIT);
    }
    report::bound_warnings(&mut outcome.warnings);
    outcome
}

/// The namespace an object lives in: the request's, else its own.
fn namespace_of(object: &Value, request_namespace: &str) -> Result<String, String> {
    choose_namespace(
        request_namespace,
        json::str_at(object, &["metadata", "namespace"])?,
    )
}

/// The request's namespace, else the object's `metadata.namespace`.
fn choose_namespace(request_namespace: &str, own: Option<&str>) -> Result<String, String> {
    match own {
        _ if !request_namespace.is_empty() => Ok(request_namespace.to_owned()),
        Some(ns) if !ns.is_empty() => Ok(ns.to_owned()),
        _ => Err("neither the request nor metadata.namespace names a namespace".to_owned()),
    }
}

/// The spec object at `path`, required.
fn spec_at<'a>(object: &'a Value, path: &[&str]) -> Result<&'a Value, String> {
    let spec =
        json::at(object, path).ok_or_else(|| format!("{} is missing", json::dotted(path)))?;
    if spec.is_object() {
        Ok(spec)
    } else {
        Err(json::type_error(&json::dotted(path), "an object", spec))
    }
}

/// The ServiceAccount as looked up, or why it is unknown.
enum ServiceAccountState {
    /// It exists; its annotations, checked to be strings.
    Found(Option<Map<String, Value>>),
    Missing,
    /// Lookup failed and `serviceAccountLookupFailure: accept` let it pass.
    Unknown,
}

impl ServiceAccountState {
    /// What identity resolution sees; `None` when nothing is known.
    fn view(&self) -> Option<ServiceAccount<'_>> {
        match self {
            ServiceAccountState::Found(annotations) => {
                Some(ServiceAccount::Found(annotations.as_ref()))
            }
            ServiceAccountState::Missing => Some(ServiceAccount::Missing),
            ServiceAccountState::Unknown => None,
        }
    }
}

/// Looks up `namespace/sa_name` for `who`, turning failures into the
/// configured outcome (`Err` ends the evaluation).
fn fetch_service_account(
    settings: &Settings,
    namespace: &str,
    sa_name: &str,
    who: &str,
    get_resource: &mut GetResource<'_>,
    warnings: &mut Vec<String>,
) -> Result<ServiceAccountState, Outcome> {
    match lookup_service_account(namespace, sa_name, get_resource) {
        Lookup::Found(mut sa) => match json::string_map_at(&sa, &["metadata", "annotations"]) {
            // Moved out, not copied: annotations such as kubectl's
            // last-applied-configuration can be large.
            Ok(_) => Ok(ServiceAccountState::Found(take_annotations(&mut sa))),
            Err(e) => {
                let error = format!("the ServiceAccount returned by the host is malformed: {e}");
                lookup_failed(settings.lookup_failure, who, sa_name, &error, warnings)
            }
        },
        Lookup::Missing => {
            warnings.push(format!(
                "ServiceAccount {} of {who} was not found; \
                 it brings no IAM role unless serviceAccountMappings or podIdentity name one",
                Shown(sa_name)
            ));
            Ok(ServiceAccountState::Missing)
        }
        Lookup::Failed(error) => {
            lookup_failed(settings.lookup_failure, who, sa_name, &error, warnings)
        }
    }
}

/// The object's `metadata.annotations` map, taken out of it.
fn take_annotations(object: &mut Value) -> Option<Map<String, Value>> {
    match object.pointer_mut("/metadata/annotations").map(Value::take) {
        Some(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn lookup_failed(
    policy: LookupFailure,
    who: &str,
    sa_name: &str,
    error: &str,
    warnings: &mut Vec<String>,
) -> Result<ServiceAccountState, Outcome> {
    let problem = format!(
        "looking up ServiceAccount {} of {who} failed: {}",
        Shown(sa_name),
        names::truncate(error.to_owned(), 1024)
    );
    match policy {
        LookupFailure::Reject => Err(Outcome::reject(
            format!(
                "{problem}. The request was rejected rather than admitted without checking or \
                 injecting AWS credentials (a Pod would fall back to the node's IAM role). Check that \
                 the policy has contextAwareResources for v1/ServiceAccount and that the \
                 policy-server may read ServiceAccounts, or set serviceAccountLookupFailure: accept"
            ),
            CODE_INTERNAL_ERROR,
        )),
        LookupFailure::Accept => {
            // What happened first: the API server keeps 255 bytes of it.
            warnings.push(format!(
                "{who} was admitted without AWS credentials or a ServiceAccount role check \
                 (serviceAccountLookupFailure: accept): {problem}"
            ));
            Ok(ServiceAccountState::Unknown)
        }
    }
}

/// Pod CREATE: inject, then check the Pod as it will be admitted.
fn pod_create(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    reader: PodReader,
) -> Outcome {
    if !settings.inject && settings.restriction.is_none() {
        return Outcome::accept();
    }
    if reader == PodReader::Text
        && let Some(text) = request.object.as_deref()
        && let Some(pod) = match settings.restriction {
            Some(_) => PodText::read_with_usage(text.get()),
            None => PodText::read(text.get()),
        }
        && let Some(outcome) = pod_create_from_text(&request, text, pod, settings, get_resource)
    {
        return outcome;
    }
    pod_create_parsed(request, settings, get_resource, reader)
}

/// Pod CREATE read from the request text by [`PodText`] (with what the
/// allow-list reads, when there is one). The same decisions
/// as [`pod_create_parsed`] without building the Pod as a `Value`. `None`
/// (always before the ServiceAccount lookup) leaves the request to the
/// parsed path, which names what is wrong.
fn pod_create_from_text(
    request: &Request,
    text: &RawValue,
    pod: PodText<'_>,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Option<Outcome> {
    let namespace = choose_namespace(&request.namespace, pod.namespace).ok()?;
    let sa_name = pod::service_account_of([pod.service_account_name, pod.service_account]);
    let annotations = pod.annotations()?;
    let annotations = annotations.as_ref();
    let pod_name = pod::display_name_of("Pod", pod.name, pod.generate_name);
    let who = format!("{pod_name} in namespace {}", Shown(&namespace));
    let mut warnings = Vec::new();
    let sa_state = match fetch_service_account(
        settings,
        &namespace,
        sa_name,
        &who,
        get_resource,
        &mut warnings,
    ) {
        Ok(state) => state,
        Err(outcome) => return Some(outcome.with_warnings(warnings)),
    };
    let planned = plan_injection(
        settings,
        &namespace,
        sa_name,
        sa_state.view(),
        annotations,
        &request.uid,
    );
    if settings.restriction.is_none()
        && let Some((identity, _)) = &planned
    {
        warnings.extend(malformed_role_warning(identity, sa_name, &who));
    }
    let injection = planned
        .as_ref()
        .and_then(|(identity, _)| Injection::for_identity(identity, settings));
    let plan = injection
        .as_ref()
        .zip(planned.as_ref())
        .map(|(injection, (_, skip))| mutation::plan(&pod.shape, injection, skip))
        .filter(mutation::Plan::changed);

    if let (Some(restriction), Some(mut spec)) = (&settings.restriction, pod.usage) {
        if let Some(plan) = &plan {
            add_injection(&mut spec, plan);
        }
        let checked = spec
            .judge(
                settings.compose_role_arn.as_ref(),
                &restriction.sts_audiences,
            )
            .map(|usage| {
                restrict_pod_create(
                    settings,
                    restriction,
                    &namespace,
                    sa_name,
                    sa_state.view(),
                    &who,
                    &usage,
                    &mut warnings,
                )
            });
        match checked {
            Ok(Some(rejection)) => return Some(rejection.with_warnings(warnings)),
            Ok(None) => {}
            Err(e) => {
                return Some(Outcome::reject(
                    format!("{pod_name}: {e}"),
                    CODE_BAD_REQUEST,
                ));
            }
        }
    }

    let Some(plan) = plan.filter(|_| settings.inject) else {
        return Some(Outcome::accept().with_warnings(warnings));
    };
    let parsed = || {
        let mut object = json::parse_raw(Some(text), "object")?;
        plan.apply(&mut object);
        Ok(object)
    };
    let verdict = match mutated_object(&plan, Some((text, &pod.places)), parsed) {
        Ok(object) => Verdict::Mutate(object),
        Err(e) => {
            return Some(Outcome::reject(
                format!("{pod_name}: {e}"),
                CODE_BAD_REQUEST,
            ));
        }
    };
    Some(Outcome { verdict, warnings })
}

/// Adds what `plan` injects to `spec`, as [`mutation::Plan::apply`] adds it
/// to the parsed Pod.
fn add_injection<'v>(spec: &mut usage::Spec<'v>, plan: &'v mutation::Plan<'_>) {
    let (volume, additions) = plan.additions();
    if let Some((name, audience)) = volume {
        spec.add_token_volume(name, audience);
    }
    for addition in additions {
        spec.add_to_container(addition.field, addition.index, addition.env, addition.mount);
    }
}

/// Judges a Pod CREATE's `usage` (read with the injection added) and its
/// ServiceAccount's roles; `Some` rejection in `deny` mode.
#[allow(clippy::too_many_arguments)]
fn restrict_pod_create(
    settings: &Settings,
    restriction: &Restriction,
    namespace: &str,
    sa_name: &str,
    sa: Option<ServiceAccount<'_>>,
    who: &str,
    usage: &PodUsage,
    warnings: &mut Vec<String>,
) -> Option<Outcome> {
    let sa_roles = sa
        .map(|sa| identity::roles_for(settings, namespace, sa_name, sa))
        .unwrap_or_default();
    let allowance = restriction.allowed.for_namespace(namespace);
    let violations = judge_usage(usage, &sa_roles, |roles, usage| {
        allowlist::check(&allowance, roles, usage)
    });
    let subject = format!("{who} (ServiceAccount {})", Shown(sa_name));
    enforce(restriction, &subject, &allowance, &violations, warnings)
}

/// Pod CREATE, read from the parsed Pod: with `allowedRoles`, and for every
/// Pod the text reader gives up on.
fn pod_create_parsed(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    reader: PodReader,
) -> Outcome {
    let mut object = match request.object() {
        Ok(object) => object,
        Err(e) => return Outcome::reject(e, CODE_BAD_REQUEST),
    };
    let pod_name = pod::display_name("Pod", &object);
    let bad = |e: String| Outcome::reject(format!("{pod_name}: {e}"), CODE_BAD_REQUEST);
    if !object.is_object() {
        return bad(json::type_error(
            "the request's object",
            "a Pod object",
            &object,
        ));
    }
    let (namespace, sa_name) = match pod_identity_facts(&object, &request.namespace) {
        Ok(facts) => facts,
        Err(e) => return bad(e),
    };
    let who = format!("{pod_name} in namespace {}", Shown(&namespace));
    let mut warnings = Vec::new();
    let sa_state = match fetch_service_account(
        settings,
        &namespace,
        &sa_name,
        &who,
        get_resource,
        &mut warnings,
    ) {
        Ok(state) => state,
        Err(outcome) => return outcome.with_warnings(warnings),
    };
    let sa_view = sa_state.view();
    let pod_annotations = match pod::annotations(&object) {
        Ok(a) => a,
        Err(e) => return bad(e),
    };
    // Type errors are reported against the Pod as written, before the
    // injection shifts list indices.
    if let Some(restriction) = &settings.restriction {
        let checked = spec_at(&object, &["spec"]).and_then(|spec| {
            usage::collect(
                spec,
                "spec",
                settings.compose_role_arn.as_ref(),
                &restriction.sts_audiences,
            )
        });
        if let Err(e) = checked {
            return bad(e);
        }
    }

    let plan = plan_injection(
        settings,
        &namespace,
        &sa_name,
        sa_view,
        pod_annotations,
        &request.uid,
    );
    if settings.restriction.is_none()
        && let Some((identity, _)) = &plan
    {
        warnings.extend(malformed_role_warning(identity, &sa_name, &who));
    }
    let injection = plan
        .as_ref()
        .and_then(|(identity, _)| Injection::for_identity(identity, settings));
    let plan = match (&injection, &plan) {
        (Some(injection), Some((_, skip))) => match PodShape::of_value(&object) {
            Ok(shape) => Some(mutation::plan(&shape, injection, skip)).filter(|p| p.changed()),
            Err(e) => return bad(e),
        },
        _ => None,
    };

    if let Some(restriction) = &settings.restriction {
        // Judged as it will run: with the injection, which is planned with
        // `inject: false` too (AWS's webhook or our mutating instance adds
        // it), though only emitted with `inject: true`.
        if let Some(plan) = &plan {
            plan.apply(&mut object);
        }
        let usage = spec_at(&object, &["spec"]).and_then(|spec| {
            usage::collect(
                spec,
                "spec",
                settings.compose_role_arn.as_ref(),
                &restriction.sts_audiences,
            )
        });
        let usage = match usage {
            Ok(usage) => usage,
            Err(e) => return bad(e),
        };
        if let Some(rejection) = restrict_pod_create(
            settings,
            restriction,
            &namespace,
            &sa_name,
            sa_view,
            &who,
            &usage,
            &mut warnings,
        ) {
            return rejection.with_warnings(warnings);
        }
    }

    let Some(plan) = plan.filter(|_| settings.inject) else {
        return Outcome::accept().with_warnings(warnings);
    };
    let applied = settings.restriction.is_some();
    let plan = &plan;
    let parsed = move || {
        if !applied {
            plan.apply(&mut object);
        }
        Ok(object)
    };
    // The reference path writes the changed `Value`, so tests compare the
    // splice with an independent answer.
    let text = request
        .object
        .as_deref()
        .filter(|_| reader == PodReader::Text);
    let read = text.and_then(|text| PodText::read(text.get()));
    let places = text.zip(read.as_ref().map(|pod| &pod.places));
    let verdict = match mutated_object(plan, places, parsed) {
        Ok(object) => Verdict::Mutate(object),
        Err(e) => return bad(e),
    };
    Outcome { verdict, warnings }
}

/// The Pod with `plan` made: its request text with the additions spliced
/// in at `places`, or, when the text could not be read, `parsed()` (the
/// parsed Pod with the plan applied).
fn mutated_object(
    plan: &mutation::Plan<'_>,
    text: Option<(&RawValue, &Places)>,
    parsed: impl FnOnce() -> Result<Value, String>,
) -> Result<MutatedObject, String> {
    if let Some(json) = text.and_then(|(text, places)| plan.splice(text.get(), places)) {
        return Ok(MutatedObject::Spliced(json));
    }
    parsed().map(MutatedObject::Parsed)
}

/// The Pod's namespace and ServiceAccount name.
fn pod_identity_facts(object: &Value, request_namespace: &str) -> Result<(String, String), String> {
    let namespace = namespace_of(object, request_namespace)?;
    let spec = spec_at(object, &["spec"])?;
    let sa = pod::service_account_name(spec, "spec")?.to_owned();
    Ok((namespace, sa))
}

/// The identity to inject and the containers to skip, read from the object
/// as written. Planned with `inject: false` too: the check judges the Pod
/// as it will run. The annotations are borrowed (they can be large), so the
/// caller mutates the object only after this returns.
fn plan_injection(
    settings: &Settings,
    namespace: &str,
    sa_name: &str,
    sa: Option<ServiceAccount<'_>>,
    annotations: Option<&Map<String, Value>>,
    seed: &str,
) -> Option<(Identity, BTreeSet<String>)> {
    let jitter = || identity::jitter_from_seed(seed);
    let identity = identity::resolve(settings, namespace, sa_name, sa?, annotations, &jitter)?;
    let skip = mutation::skipped_containers(annotations, &settings.keys.skip_containers);
    Some((identity, skip))
}

/// Without a restriction, a malformed role is injected as upstream does,
/// but the user hears about it.
fn malformed_role_warning(identity: &Identity, sa_name: &str, who: &str) -> Option<String> {
    let Identity::Irsa { role, .. } = identity else {
        return None;
    };
    let reason = role.arn.as_ref().err()?;
    Some(format!(
        "{} of ServiceAccount {} ({who}) is not a well-formed IAM role ARN: {}: {reason}; \
         it was injected as written",
        role.source,
        Shown(sa_name),
        Shown(&role.value)
    ))
}

/// All violations of a Pod spec plus its ServiceAccount's roles.
fn pod_violations(
    settings: &Settings,
    restriction: &Restriction,
    allowance: &NamespaceAllowance<'_>,
    spec: &Value,
    spec_path: &str,
    sa_roles: &[Role],
) -> Result<Vec<Violation>, String> {
    judge_spec(
        settings,
        restriction,
        spec,
        spec_path,
        sa_roles,
        |roles, usage| allowlist::check(allowance, roles, usage),
    )
}

/// [`pod_violations`] of an updated Pod, per container: what an update
/// adds is judged container by container.
fn pod_violations_per_container(
    settings: &Settings,
    restriction: &Restriction,
    allowance: &NamespaceAllowance<'_>,
    spec: &Value,
    spec_path: &str,
) -> Result<Vec<Violation>, String> {
    judge_spec(
        settings,
        restriction,
        spec,
        spec_path,
        &[],
        |roles, usage| allowlist::check_per_container(allowance, roles, usage),
    )
}

/// Collects what `spec` uses and judges it, with the ServiceAccount's roles
/// first.
fn judge_spec(
    settings: &Settings,
    restriction: &Restriction,
    spec: &Value,
    spec_path: &str,
    sa_roles: &[Role],
    judge: impl FnOnce(&[&Role], &PodUsage) -> Vec<Violation>,
) -> Result<Vec<Violation>, String> {
    let usage: PodUsage = usage::collect(
        spec,
        spec_path,
        settings.compose_role_arn.as_ref(),
        &restriction.sts_audiences,
    )?;
    Ok(judge_usage(&usage, sa_roles, judge))
}

/// Judges `usage` with the ServiceAccount's roles first.
fn judge_usage(
    usage: &PodUsage,
    sa_roles: &[Role],
    judge: impl FnOnce(&[&Role], &PodUsage) -> Vec<Violation>,
) -> Vec<Violation> {
    let roles: Vec<&Role> = sa_roles.iter().chain(usage.env_roles.iter()).collect();
    judge(&roles, usage)
}

/// The Pod the API server stores for an `ephemeralcontainers` update: the
/// old Pod with only `spec.ephemeralContainers` taken from the request
/// (`dropNonEphemeralContainerUpdates`, which also restores the old labels
/// and annotations). A mutating webhook sees the request's object before
/// that, so a PATCH could hide volumes from it.
fn stored_with_ephemeral(object: &Value, old_object: &Value) -> Result<Value, String> {
    if !old_object.is_object() {
        return Err(json::type_error(
            "oldObject of an ephemeralcontainers update",
            "a Pod object",
            old_object,
        ));
    }
    let mut stored = old_object.clone();
    let ephemeral = json::lookup(object, &["spec", "ephemeralContainers"])?.cloned();
    match stored.get_mut("spec").and_then(Value::as_object_mut) {
        Some(spec) => {
            match ephemeral {
                Some(list) => spec.insert("ephemeralContainers".to_owned(), list),
                None => spec.remove("ephemeralContainers"),
            };
        }
        None => return Err("oldObject.spec is missing".to_owned()),
    }
    Ok(stored)
}

/// Applies `enforcement`: a rejection in `deny` mode, warnings in `warn` mode.
fn enforce(
    restriction: &Restriction,
    subject: &str,
    allowance: &NamespaceAllowance<'_>,
    violations: &[Violation],
    warnings: &mut Vec<String>,
) -> Option<Outcome> {
    if violations.is_empty() {
        return None;
    }
    match restriction.enforcement {
        Enforcement::Deny => Some(Outcome::reject(
            report::message(subject, allowance, violations),
            CODE_FORBIDDEN,
        )),
        Enforcement::Warn => {
            warnings.extend(report::warnings(subject, allowance, violations));
            None
        }
    }
}

/// Violations in `new` that `old` did not have: an update is judged by what
/// it adds, so objects admitted before the policy can still be updated (a
/// finalizer removed, a label changed) without being fixed first.
fn added(new: Vec<Violation>, old: &[Violation]) -> Vec<Violation> {
    // A set: scanning `old` for each new violation was quadratic.
    let old: BTreeSet<&Violation> = old.iter().collect();
    new.into_iter().filter(|v| !old.contains(v)).collect()
}

/// Pod UPDATE, including the `ephemeralcontainers` subresource. The
/// ServiceAccount cannot change on a Pod, so its roles were judged at
/// creation; what the update adds is checked, per container: a container
/// the old Pod did not have is a new use of every role it reaches.
fn pod_update(request: Request, settings: &Settings) -> Outcome {
    let Some(restriction) = &settings.restriction else {
        return Outcome::accept();
    };
    let (object, old_object) = match request.objects() {
        Ok(objects) => objects,
        Err(e) => return Outcome::reject(e, CODE_BAD_REQUEST),
    };
    let pod_name = pod::display_name("Pod", &object);
    let bad = |e: String| Outcome::reject(format!("{pod_name}: {e}"), CODE_BAD_REQUEST);
    let object = if request.sub_resource == "ephemeralcontainers" {
        match stored_with_ephemeral(&object, &old_object) {
            Ok(stored) => stored,
            Err(e) => return bad(e),
        }
    } else {
        object
    };
    let object = &object;
    let result = (|| {
        if !object.is_object() {
            return Err(json::type_error(
                "the request's object",
                "a Pod object",
                object,
            ));
        }
        let namespace = namespace_of(object, &request.namespace)?;
        let spec = spec_at(object, &["spec"])?;
        let sa_name = pod::service_account_name(spec, "spec")?.to_owned();
        let allowance = restriction.allowed.for_namespace(&namespace);
        let new = pod_violations_per_container(settings, restriction, &allowance, spec, "spec")?;
        let old = match json::at(&old_object, &["spec"]) {
            Some(old_spec) => pod_violations_per_container(
                settings,
                restriction,
                &allowance,
                old_spec,
                "oldObject.spec",
            )
            .unwrap_or_default(),
            None => Vec::new(),
        };
        let subject = format!(
            "{pod_name} in namespace {} (ServiceAccount {})",
            Shown(&namespace),
            Shown(&sa_name)
        );
        Ok((added(new, &old), subject, namespace))
    })();
    let (violations, subject, namespace) = match result {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let allowance = restriction.allowed.for_namespace(&namespace);
    let mut warnings = Vec::new();
    match enforce(
        restriction,
        &subject,
        &allowance,
        &violations,
        &mut warnings,
    ) {
        Some(rejection) => rejection,
        None => Outcome::accept().with_warnings(warnings),
    }
}

/// ServiceAccount CREATE/UPDATE: its role annotation must be well-formed
/// and allowed in its namespace.
fn service_account(request: Request, settings: &Settings) -> Outcome {
    let (object, old_object) = match request.objects() {
        Ok(objects) => objects,
        Err(e) => return Outcome::reject(e, CODE_BAD_REQUEST),
    };
    let object = &object;
    let sa_name = pod::display_name("ServiceAccount", object);
    let bad = |e: String| Outcome::reject(format!("{sa_name}: {e}"), CODE_BAD_REQUEST);
    if !object.is_object() {
        return bad(json::type_error(
            "the request's object",
            "a ServiceAccount object",
            object,
        ));
    }
    let namespace = match namespace_of(object, &request.namespace) {
        Ok(ns) => ns,
        Err(e) => return bad(e),
    };
    let role_of = |sa: &Value| -> Result<Option<Role>, String> {
        let annotations = pod::annotations(sa)?;
        Ok(json::map_str(annotations, &settings.keys.role_arn)
            .filter(|r| !r.is_empty())
            .map(|raw| {
                Role::new(
                    raw,
                    settings.compose_role_arn.as_ref(),
                    RoleSource::Annotation {
                        key: settings.keys.role_arn.clone(),
                    },
                )
            }))
    };
    let role = match role_of(object) {
        Ok(role) => role,
        Err(e) => return bad(e),
    };
    let who = format!("{sa_name} in namespace {}", Shown(&namespace));
    let Some(restriction) = &settings.restriction else {
        let warning = role.and_then(|r| {
            r.arn.err().map(|reason| {
                format!(
                    "{who}: {} {} is not a well-formed IAM role ARN ({reason}); Pods using it will get it as written",
                    r.source,
                    Shown(&r.value)
                )
            })
        });
        return Outcome::accept().with_warnings(warning.into_iter().collect());
    };
    let allowance = restriction.allowed.for_namespace(&namespace);
    let check = |role: &Option<Role>| {
        let roles: Vec<&Role> = role.iter().collect();
        allowlist::check(&allowance, &roles, &PodUsage::default())
    };
    let new = check(&role);
    let old = role_of(&old_object).map(|r| check(&r)).unwrap_or_default();
    let mut warnings = Vec::new();
    match enforce(
        restriction,
        &who,
        &allowance,
        &added(new, &old),
        &mut warnings,
    ) {
        Some(rejection) => rejection,
        None => Outcome::accept().with_warnings(warnings),
    }
}

/// `userInfo` of a request, as far as trust is concerned.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserInfo {
    username: String,
    groups: Vec<String>,
}

/// TokenRequest (`serviceaccounts/token` CREATE, `kubectl create token`):
/// a token with an STS audience works from anywhere, like a self-mounted
/// one in a Pod. Only kubelet (refreshing a Pod's projected token) and the
/// `trustedTokenRequesters` may mint one under `allowedRoles`.
fn token_request(request: &Request, settings: &Settings) -> Outcome {
    let Some(restriction) = &settings.restriction else {
        return Outcome::accept();
    };
    let object = match request.object() {
        Ok(object) => object,
        Err(e) => return Outcome::reject(e, CODE_BAD_REQUEST),
    };
    let sa_name = Shown(&request.name);
    let bad = |e: String| {
        Outcome::reject(
            format!("TokenRequest for ServiceAccount {sa_name}: {e}"),
            CODE_BAD_REQUEST,
        )
    };
    let audiences = match json::array_at(&object, &["spec", "audiences"]) {
        Ok(list) => list.map(Vec::as_slice).unwrap_or_default(),
        Err(e) => return bad(e),
    };
    let pod_identity = settings
        .pod_identity
        .as_ref()
        .map(|pi| pi.audience.as_str());
    let guarded = |a: &str| restriction.sts_audiences.contains(a) || pod_identity == Some(a);
    let mut asked = None;
    for (i, audience) in audiences.iter().enumerate() {
        match audience.as_str() {
            Some(a) if guarded(a) => {
                asked = Some(a);
                break;
            }
            Some(_) => {}
            None => {
                return bad(json::type_error(
                    &format!("spec.audiences[{i}]"),
                    "a string",
                    audience,
                ));
            }
        }
    }
    let Some(audience) = asked else {
        return Outcome::accept();
    };
    let user: UserInfo = request
        .user_info
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    let trusted = user
        .groups
        .iter()
        .any(|g| g == NODES_GROUP || restriction.trusted_groups.contains(g))
        || restriction.trusted_users.contains(&user.username);
    if trusted {
        return Outcome::accept();
    }
    let text = format!(
        "TokenRequest by user {} for ServiceAccount {sa_name} in namespace {} asks for audience {}, \
         which STS (or EKS Pod Identity) accepts: such a token could assume any role that trusts the \
         ServiceAccount, from anywhere. Under allowedRoles only kubelet (group {NODES_GROUP}) and \
         trustedTokenRequesters may request it",
        Shown(&user.username),
        Shown(&request.namespace),
        Shown(audience)
    );
    match restriction.enforcement {
        Enforcement::Deny => Outcome::reject(text, CODE_FORBIDDEN),
        Enforcement::Warn => {
            Outcome::accept().with_warnings(vec![names::truncate(text, report::WARNING_LIMIT)])
        }
    }
}

/// Workload CREATE/UPDATE: the Pod template is checked as the Pods it will
/// create, injection included, so a bad role fails at `kubectl apply`
/// rather than in ReplicaSet events. Templates are never mutated.
fn workload(
    request: Request,
    template_path: &[&str],
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Outcome {
    let Some(restriction) = &settings.restriction else {
        return Outcome::accept();
    };
    let kind = request.kind.kind.as_str();
    let (object, old_object) = match request.objects() {
        Ok(objects) => objects,
        Err(e) => return Outcome::reject(e, CODE_BAD_REQUEST),
    };
    let object = &object;
    let name = pod::display_name(kind, object);
    let bad = |e: String| Outcome::reject(format!("{name}: {e}"), CODE_BAD_REQUEST);
    if !object.is_object() {
        return bad(json::type_error(
            "the request's object",
            "an object",
            object,
        ));
    }
    let namespace = match namespace_of(object, &request.namespace) {
        Ok(ns) => ns,
        Err(e) => return bad(e),
    };
    let template = match json::lookup(object, template_path) {
        Ok(Some(template)) => template,
        Ok(None) => return Outcome::accept(),
        Err(e) => return bad(e),
    };
    let template_field = json::dotted(template_path);
    let spec_path: Vec<&str> = template_path.iter().copied().chain(["spec"]).collect();
    let sa_name = match spec_at(object, &spec_path)
        .and_then(|spec| pod::service_account_name(spec, &json::dotted(&spec_path)))
    {
        Ok(sa) => sa.to_owned(),
        Err(e) => return bad(e),
    };
    let who = format!("{name} in namespace {}", Shown(&namespace));
    let mut warnings = Vec::new();
    let sa_state = match fetch_service_account(
        settings,
        &namespace,
        &sa_name,
        &who,
        get_resource,
        &mut warnings,
    ) {
        Ok(state) => state,
        Err(outcome) => return outcome.with_warnings(warnings),
    };
    let sa_view = sa_state.view();
    let allowance = restriction.allowed.for_namespace(&namespace);
    let new = match template_violations(
        settings,
        restriction,
        &allowance,
        template,
        &template_field,
        &namespace,
        &sa_name,
        sa_view,
        &request.uid,
    ) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    // The old template is judged with the same ServiceAccount data when it
    // names the same ServiceAccount, and with none otherwise.
    let old = json::at(&old_object, template_path)
        .and_then(|old_template| {
            let old_sa = spec_at(old_template, &["spec"])
                .and_then(|s| pod::service_account_name(s, "spec"))
                .ok()?;
            let view = if old_sa == sa_name { sa_view } else { None };
            template_violations(
                settings,
                restriction,
                &allowance,
                old_template,
                &template_field,
                &namespace,
                old_sa,
                view,
                &request.uid,
            )
            .ok()
        })
        .unwrap_or_default();
    let subject = format!("{who} (Pod template, ServiceAccount {})", Shown(&sa_name));
    match enforce(
        restriction,
        &subject,
        &allowance,
        &added(new, &old),
        &mut warnings,
    ) {
        Some(rejection) => rejection.with_warnings(warnings),
        None => Outcome::accept().with_warnings(warnings),
    }
}

/// A template's violations, judged on a copy with the injection applied.
#[allow(clippy::too_many_arguments)]
fn template_violations(
    settings: &Settings,
    restriction: &Restriction,
    allowance: &NamespaceAllowance<'_>,
    template: &Value,
    template_field: &str,
    namespace: &str,
    sa_name: &str,
    sa: Option<ServiceAccount<'_>>,
    seed: &str,
) -> Result<Vec<Violation>, String> {
    let mut pod = Value::Object(Map::new());
    for key in ["metadata", "spec"] {
        if let (Some(obj), Some(v)) = (pod.as_object_mut(), template.get(key)) {
            obj.insert(key.to_owned(), v.clone());
        }
    }
    // Read from the template itself, so the copy can be mutated.
    let annotations = pod::annotations(template).map_err(|e| format!("{template_field}.{e}"))?;
    if let Some((identity, skip)) =
        plan_injection(settings, namespace, sa_name, sa, annotations, seed)
        && let Some(injection) = Injection::for_identity(&identity, settings)
    {
        mutation::inject(&mut pod, &injection, &skip)
            .map_err(|e| format!("{template_field}.{e}"))?;
    }
    let sa_roles = sa
        .map(|sa| identity::roles_for(settings, namespace, sa_name, sa))
        .unwrap_or_default();
    let spec = spec_at(&pod, &["spec"]).map_err(|e| format!("{template_field}.{e}"))?;
    pod_violations(
        settings,
        restriction,
        allowance,
        spec,
        &format!("{template_field}.spec"),
        &sa_roles,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
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
        p["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "my-token", "mountPath": "/t"}]);
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
        let no_host =
            |_: &GetResourceRequest| -> Result<Value, String> { Err("no lookups".into()) };
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
}
