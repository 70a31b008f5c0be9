//! Pod UPDATE, including the `ephemeralcontainers` subresource
//! (`kubectl debug`). The ServiceAccount cannot change on a Pod, so its
//! roles were judged at creation; what the update adds is checked, per
//! container: a container the old Pod did not have is a new use of every
//! role it reaches.

use serde_json::Value;

use super::judge::{self, Judge};
use super::steps::{self, Old};
use super::{Answer, Outcome, Request};
use crate::json;
use crate::names::Shown;
use crate::pod;
use crate::settings::Settings;

pub(super) fn handle(request: Request, settings: &Settings) -> Answer {
    let Some(restriction) = &settings.restriction else {
        return Ok(Outcome::accept());
    };
    let mut parsed = steps::parse(&request, "Pod", Old::Parse)?;
    if request.sub_resource == "ephemeralcontainers" {
        parsed.object = stored_with_ephemeral(&parsed.object, &parsed.old_object)
            .map_err(|e| parsed.name.bad(e))?;
    }
    let steps::Opened {
        object,
        old_object,
        name: pod_name,
        namespace,
    } = parsed.locate("a Pod object", &request.namespace)?;
    let bad = |e: String| pod_name.bad(e);
    let spec = steps::spec_at(&object, &["spec"]).map_err(bad)?;
    let sa_name = pod::service_account_name(spec, "spec").map_err(bad)?;
    let judge = Judge::new(settings, restriction, &namespace);
    let new = judge.spec_per_container(spec, "spec").map_err(bad)?;
    let old = json::at(&old_object, &["spec"])
        .and_then(|old_spec| judge.spec_per_container(old_spec, "oldObject.spec").ok())
        .unwrap_or_default();
    let subject = format!(
        "{pod_name} in namespace {} (ServiceAccount {})",
        Shown(&namespace),
        Shown(sa_name)
    );
    let mut warnings = Vec::new();
    match judge.enforce(&subject, &judge::added(new, &old), &mut warnings) {
        Some(rejection) => Err(rejection),
        None => Ok(Outcome::accept().with_warnings(warnings)),
    }
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
