//! The decision for one admission request, as plain data in and out. The
//! waPC shell in `lib.rs` only parses the payload, calls [`evaluate`] and
//! serialises the [`Outcome`]. One handler per request kind:
//!
//! - [`pod_create`]: inject credentials, then check the Pod as it will run.
//! - [`pod_update`] (including `ephemeralcontainers`, judged on the Pod as it
//!   will be stored): check what the update adds, per container.
//! - [`service_account`]: check the role annotation; TokenRequests
//!   (`serviceaccounts/token`) with an STS audience for nodes and trusted
//!   requesters only.
//! - [`workload`]: check the Pod template as a Pod; never mutate it.
//! - [`object`]: any other namespaced object (ConfigMaps, Secrets, custom
//!   resources): every IAM role ARN written in it must be allowed.
//!
//! The steps they share (open the object, resolve the ServiceAccount, plan
//! the injection, judge) are in [`steps`].

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::json;
use crate::lookup::GetResource;
use crate::names;
use crate::report;
use crate::settings::Settings;

mod decision_log;
mod judge;
mod object;
mod object_data;
mod pod_create;
mod pod_facts;
mod pod_update;
mod service_account;
mod steps;
mod workload;

#[cfg(test)]
mod tests;

/// HTTP-style codes carried in rejections (the API server shows them).
pub const CODE_BAD_REQUEST: u16 = 400;
pub const CODE_FORBIDDEN: u16 = 403;
/// The API server's own answer to a request body above its limit.
pub const CODE_TOO_LARGE: u16 = 413;
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
    /// Decision log lines (`decisionLogs`), for the operator; empty when off.
    pub log: Vec<String>,
}

/// A handler's answer. `Err` is an answer given early (a malformed object,
/// a failed lookup), so handlers read top to bottom with `?`.
type Answer = Result<Outcome, Outcome>;

impl Outcome {
    pub fn accept() -> Self {
        Outcome {
            verdict: Verdict::Accept,
            warnings: Vec::new(),
            log: Vec::new(),
        }
    }

    pub fn mutate(object: MutatedObject) -> Self {
        Outcome {
            verdict: Verdict::Mutate(object),
            ..Outcome::accept()
        }
    }

    pub fn reject(message: impl Into<String>, code: u16) -> Self {
        Outcome {
            verdict: Verdict::Reject {
                message: message.into(),
                code,
            },
            warnings: Vec::new(),
            log: Vec::new(),
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

/// The parts of an AdmissionRequest the policy reads. The rest (options,
/// requestKind, ...) is skipped without being built.
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
/// [`Outcome::same_decision`]. Only in test builds and with the feature
/// `reference` (the integration tests and fuzz targets): never in the
/// module.
#[cfg(any(test, feature = "reference"))]
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
    /// The request text first ([`crate::pod_text::PodText`]), the parsed
    /// Pod if it gives up; a mutated Pod is spliced into the request text.
    Text,
    /// The parsed Pod only, written back from the `Value`: the reference.
    #[cfg(any(test, feature = "reference"))]
    Parsed,
}

/// The route table.
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
    let request_line = if settings.decision_logs {
        decision_log::request_line(&request)
    } else {
        String::new()
    };
    let answer = match (group, kind, request.operation.as_str(), sub_resource) {
        ("", "Pod", "CREATE", "") => pod_create::handle(request, settings, get_resource, reader),
        ("", "Pod", "UPDATE", "" | "ephemeralcontainers") => pod_update::handle(request, settings),
        ("", "ServiceAccount", _, "") if create_or_update => {
            service_account::handle(request, settings)
        }
        ("authentication.k8s.io", "TokenRequest", "CREATE", "token") => {
            service_account::token_request(&request, settings)
        }
        _ if create_or_update && sub_resource.is_empty() => {
            match workload::template_path(group, kind) {
                Some(path) => workload::handle(request, path, settings, get_resource),
                None => object::handle(request, settings),
            }
        }
        // DELETE (null object), CONNECT, other subresources and kinds.
        _ => Ok(Outcome::accept()),
    };
    let outcome = bounded(answer.unwrap_or_else(|early| early));
    if settings.decision_logs {
        return decision_log::summarise(outcome, &request_line);
    }
    outcome
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
