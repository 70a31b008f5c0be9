//! The steps the handlers share: open the object, resolve its
//! ServiceAccount, plan the injection (judging is in `judge.rs`).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use super::{CODE_BAD_REQUEST, CODE_INTERNAL_ERROR, Outcome, Request};
use crate::identity::{self, Identity, ServiceAccount};
use crate::json;
use crate::lookup::{GetResource, Lookup, lookup_service_account};
use crate::mutation;
use crate::names::{self, Shown};
use crate::pod;
use crate::settings::{LookupFailure, Settings};

// ---- Open the object ----

/// How messages name an object: `Pod "web"`, `Pod "web-" (generateName)`.
pub(super) struct Name(String);

impl Name {
    pub fn of(shown: String) -> Name {
        Name(shown)
    }

    /// `Pod "web" in namespace "team-a"`: how every message names the
    /// object. Built for every request, so without a formatter when the
    /// namespace shows as itself.
    pub fn in_namespace(&self, namespace: &str) -> String {
        match Shown(namespace).is_plain() {
            true => [&self.0, " in namespace \"", namespace, "\""].concat(),
            false => format!("{} in namespace {}", self.0, Shown(namespace)),
        }
    }

    /// A 400 rejection that names the object.
    pub fn bad(&self, error: String) -> Outcome {
        Outcome::reject(format!("{}: {error}", self.0), CODE_BAD_REQUEST)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a handler reads `oldObject` (updates are judged by what they add).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Old {
    Skip,
    Parse,
}

/// The request's object parsed and named, not yet checked.
pub(super) struct Parsed {
    pub object: Value,
    /// `null` when skipped or absent.
    pub old_object: Value,
    pub name: Name,
}

/// The request's object, checked to be an object, and its namespace.
pub(super) struct Opened {
    pub object: Value,
    pub old_object: Value,
    pub name: Name,
    pub namespace: String,
}

/// Parses the request's object (and `oldObject`) and names it as a `kind`.
pub(super) fn parse(request: &Request, kind: &str, old: Old) -> Result<Parsed, Outcome> {
    let parsed = match old {
        Old::Parse => request.objects(),
        Old::Skip => request.object().map(|object| (object, Value::Null)),
    };
    let (object, old_object) = parsed.map_err(|e| Outcome::reject(e, CODE_BAD_REQUEST))?;
    let name = Name(pod::display_name(kind, &object));
    Ok(Parsed {
        object,
        old_object,
        name,
    })
}

impl Parsed {
    /// Checks the object is a JSON object (`what`: "a Pod object") and
    /// finds its namespace.
    pub fn locate(self, what: &str, request_namespace: &str) -> Result<Opened, Outcome> {
        let Parsed {
            object,
            old_object,
            name,
        } = self;
        if !object.is_object() {
            return Err(name.bad(json::type_error("the request's object", what, &object)));
        }
        let namespace = namespace_of(&object, request_namespace).map_err(|e| name.bad(e))?;
        Ok(Opened {
            object,
            old_object,
            name,
            namespace,
        })
    }
}

/// [`parse`] then [`Parsed::locate`].
pub(super) fn open(request: &Request, kind: &str, what: &str, old: Old) -> Result<Opened, Outcome> {
    parse(request, kind, old)?.locate(what, &request.namespace)
}

/// The namespace an object lives in: the request's, else its own.
fn namespace_of(object: &Value, request_namespace: &str) -> Result<String, String> {
    choose_namespace(
        request_namespace,
        json::str_at(object, &["metadata", "namespace"])?,
    )
}

/// The request's namespace, else the object's `metadata.namespace`.
pub(super) fn choose_namespace(
    request_namespace: &str,
    own: Option<&str>,
) -> Result<String, String> {
    match own {
        _ if !request_namespace.is_empty() => Ok(request_namespace.to_owned()),
        Some(ns) if !ns.is_empty() => Ok(ns.to_owned()),
        _ => Err("neither the request nor metadata.namespace names a namespace".to_owned()),
    }
}

/// The spec object at `path`, required.
pub(super) fn spec_at<'a>(object: &'a Value, path: &[&str]) -> Result<&'a Value, String> {
    let spec =
        json::at(object, path).ok_or_else(|| format!("{} is missing", json::dotted(path)))?;
    if spec.is_object() {
        Ok(spec)
    } else {
        Err(json::type_error(&json::dotted(path), "an object", spec))
    }
}

// ---- Resolve the ServiceAccount ----

/// The ServiceAccount as looked up, or why it is unknown.
pub(super) enum ServiceAccountState {
    /// It exists; its annotations, checked to be strings.
    Found(Option<Map<String, Value>>),
    Missing,
    /// Lookup failed and `serviceAccountLookupFailure: accept` let it pass.
    Unknown,
}

impl ServiceAccountState {
    /// Who a Pod in `namespace` running as `service_account` is.
    pub fn runs_as<'a>(&'a self, namespace: &'a str, service_account: &'a str) -> RunsAs<'a> {
        RunsAs {
            namespace,
            service_account,
            account: self.view(),
        }
    }

    /// What identity resolution sees; `None` when nothing is known.
    pub fn view(&self) -> Option<ServiceAccount<'_>> {
        match self {
            ServiceAccountState::Found(annotations) => {
                Some(ServiceAccount::Found(annotations.as_ref()))
            }
            ServiceAccountState::Missing => Some(ServiceAccount::Missing),
            ServiceAccountState::Unknown => None,
        }
    }
}

/// A looked-up ServiceAccount and the warnings the lookup gave.
pub(super) struct Resolved {
    pub state: ServiceAccountState,
    pub warnings: Vec<String>,
}

/// Looks up `namespace/sa_name` for `who`. A failure becomes the
/// configured answer (`Err`, its warnings attached).
pub(super) fn resolve_service_account(
    settings: &Settings,
    namespace: &str,
    sa_name: &str,
    who: &str,
    get_resource: &mut GetResource<'_>,
) -> Result<Resolved, Outcome> {
    let mut warnings = Vec::new();
    let state = match lookup_service_account(namespace, sa_name, get_resource) {
        Lookup::Found(mut sa) => match json::string_map_at(&sa, &["metadata", "annotations"]) {
            // Moved out, not copied: annotations such as kubectl's
            // last-applied-configuration can be large.
            Ok(_) => Ok(ServiceAccountState::Found(take_annotations(&mut sa))),
            Err(e) => {
                let error = format!("the ServiceAccount returned by the host is malformed: {e}");
                lookup_failed(settings.lookup_failure, who, sa_name, &error, &mut warnings)
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
            lookup_failed(settings.lookup_failure, who, sa_name, &error, &mut warnings)
        }
    };
    match state {
        Ok(state) => Ok(Resolved { state, warnings }),
        Err(outcome) => Err(outcome.with_warnings(warnings)),
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

// ---- Plan the injection ----

/// Who a Pod (or Pod template) runs as.
#[derive(Clone, Copy)]
pub(super) struct RunsAs<'a> {
    pub namespace: &'a str,
    pub service_account: &'a str,
    /// `None` when the lookup failed and was accepted.
    pub account: Option<ServiceAccount<'a>>,
}

/// The identity to inject and the containers to skip, read from the object
/// as written. Planned with `inject: false` too: the check judges the Pod
/// as it will run. The annotations are borrowed (they can be large), so the
/// caller mutates the object only after this returns.
pub(super) fn plan_injection(
    settings: &Settings,
    runs_as: RunsAs<'_>,
    annotations: Option<&Map<String, Value>>,
    seed: &str,
) -> Option<(Identity, BTreeSet<String>)> {
    let jitter = || identity::jitter_from_seed(seed);
    let identity = identity::resolve(
        settings,
        runs_as.namespace,
        runs_as.service_account,
        runs_as.account?,
        annotations,
        &jitter,
    )?;
    let skip = mutation::skipped_containers(annotations, &settings.keys.skip_containers);
    Some((identity, skip))
}

/// Without a restriction, a malformed role is injected as upstream does,
/// but the user hears about it (the allow-list rejects it instead).
pub(super) fn malformed_role_warning(
    settings: &Settings,
    planned: Option<&(Identity, BTreeSet<String>)>,
    sa_name: &str,
    who: &str,
) -> Option<String> {
    let (Identity::Irsa { role, .. }, _) = planned.filter(|_| settings.restriction.is_none())?
    else {
        return None;
    };
    let reason = role.arn().as_ref().err()?;
    Some(format!(
        "{} of ServiceAccount {} ({who}) is not a well-formed IAM role ARN: {}: {reason}; \
         it was injected as written",
        role.source,
        Shown(sa_name),
        Shown(&role.value)
    ))
}
