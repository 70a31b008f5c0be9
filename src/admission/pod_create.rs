//! Pod CREATE: inject credentials, then check the Pod as it will run.
//!
//! Two readers make the same decisions: the request text, read in one pass
//! ([`PodText`]), and the parsed Pod (the reference, and the fallback that
//! names whatever the text reader gives up on).

use serde_json::Value;
use serde_json::value::RawValue;

use super::steps::{self, Judge, Old, RunsAs};
use super::{Answer, MutatedObject, Outcome, PodReader, Request, decision_log};
use crate::json;
use crate::lookup::GetResource;
use crate::mutation::{self, Injection, MAX_INJECTED_BYTES, Plan};
use crate::names::Shown;
use crate::pod::{self, PodShape};
use crate::pod_text::{Places, PodText};
use crate::settings::Settings;
use crate::usage::{self, PodUsage};

pub(super) fn handle(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    reader: PodReader,
) -> Answer {
    if !settings.inject && settings.restriction.is_none() {
        return Ok(Outcome::accept());
    }
    let mut log = Vec::new();
    let answer = match request
        .object
        .as_deref()
        .filter(|_| reader == PodReader::Text)
    {
        Some(text) => {
            let pod = match settings.restriction {
                Some(_) => PodText::read_with_usage(text.get()),
                None => PodText::read(text.get()),
            };
            pod.and_then(|pod| from_text(&request, text, pod, settings, get_resource, &mut log))
        }
        None => None,
    };
    let answer = answer.unwrap_or_else(|| {
        if settings.decision_logs && reader == PodReader::Text {
            log.push(decision_log::TEXT_READER_GAVE_UP.to_owned());
        }
        parsed(request, settings, get_resource, &mut log, reader)
    });
    let mut outcome = answer.unwrap_or_else(|early| early);
    outcome.log.extend(log);
    Ok(outcome)
}

/// The Pod read from the request text. `None` (always before the
/// ServiceAccount lookup) leaves it to [`parsed`].
fn from_text(
    request: &Request,
    text: &RawValue,
    pod: PodText<'_>,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    log: &mut Vec<String>,
) -> Option<Answer> {
    let namespace = steps::choose_namespace(&request.namespace, pod.namespace).ok()?;
    let sa_name = pod::service_account_of([pod.service_account_name, pod.service_account]);
    let annotations = pod.annotations()?;
    let pod_name = pod::display_name_of("Pod", pod.name, pod.generate_name);
    let bad = |e: String| Outcome::reject(format!("{pod_name}: {e}"), super::CODE_BAD_REQUEST);
    let who = format!("{pod_name} in namespace {}", Shown(&namespace));
    Some((|| {
        let steps::Resolved {
            state,
            mut warnings,
        } = steps::resolve_service_account(settings, &namespace, sa_name, &who, get_resource)?;
        let runs_as = state.runs_as(&namespace, sa_name);
        let planned = steps::plan_injection(settings, runs_as, annotations.as_ref(), &request.uid);
        if settings.restriction.is_none()
            && let Some((identity, _)) = &planned
        {
            warnings.extend(steps::malformed_role_warning(identity, sa_name, &who));
        }
        let injection = planned
            .as_ref()
            .and_then(|(identity, _)| Injection::for_identity(identity, settings));
        let plan = injection
            .as_ref()
            .zip(planned.as_ref())
            .map(|(injection, (_, skip))| mutation::plan(&pod.shape, injection, skip))
            .filter(Plan::changed);
        if settings.decision_logs {
            log.push(decision_log::injection(
                &who,
                planned.as_ref().map(|(identity, _)| identity),
                pod.shape.skip_webhook_labeled,
                plan.as_ref(),
                settings.inject,
            ));
        }
        if let Some(rejection) = too_large(settings, plan.as_ref(), &who) {
            return Err(rejection.with_warnings(warnings));
        }

        if let (Some(restriction), Some(mut spec)) = (&settings.restriction, pod.usage) {
            // Judged as it will run: with the injection, planned with
            // `inject: false` too (AWS's webhook or our mutating instance
            // adds it), though only emitted with `inject: true`.
            if let Some(plan) = &plan {
                add_injection(&mut spec, plan);
            }
            let judge = Judge::new(settings, restriction, &namespace);
            let usage = judge.facts(&spec).map_err(bad)?;
            if let Some(rejection) = check(&judge, runs_as, &who, &usage, &mut warnings) {
                return Err(rejection.with_warnings(warnings));
            }
        }

        let Some(plan) = plan.filter(|_| settings.inject) else {
            return Ok(Outcome::accept().with_warnings(warnings));
        };
        let parsed = || {
            let mut object = json::parse_raw(Some(text), "object")?;
            plan.apply(&mut object);
            Ok(object)
        };
        let object = mutated_object(&plan, Some((text, &pod.places)), parsed).map_err(bad)?;
        Ok(Outcome::mutate(object).with_warnings(warnings))
    })())
}

/// The Pod parsed into a `Value`: the reference, and every Pod the text
/// reader gives up on.
fn parsed(
    request: Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    log: &mut Vec<String>,
    reader: PodReader,
) -> Answer {
    let steps::Opened {
        mut object,
        name: pod_name,
        namespace,
        ..
    } = steps::open(&request, "Pod", "a Pod object", Old::Skip)?;
    let sa_name = steps::spec_at(&object, &["spec"])
        .and_then(|spec| pod::service_account_name(spec, "spec"))
        .map_err(|e| pod_name.bad(e))?
        .to_owned();
    let who = format!("{pod_name} in namespace {}", Shown(&namespace));
    let steps::Resolved {
        state,
        mut warnings,
    } = steps::resolve_service_account(settings, &namespace, &sa_name, &who, get_resource)?;
    let runs_as = state.runs_as(&namespace, &sa_name);
    let annotations = pod::annotations(&object).map_err(|e| pod_name.bad(e))?;
    let judge = settings
        .restriction
        .as_ref()
        .map(|restriction| Judge::new(settings, restriction, &namespace));
    // Type errors are reported against the Pod as written, before the
    // injection shifts list indices.
    if let Some(judge) = &judge {
        let spec = steps::spec_at(&object, &["spec"]).map_err(|e| pod_name.bad(e))?;
        judge.collect(spec, "spec").map_err(|e| pod_name.bad(e))?;
    }

    let planned = steps::plan_injection(settings, runs_as, annotations, &request.uid);
    if judge.is_none()
        && let Some((identity, _)) = &planned
    {
        warnings.extend(steps::malformed_role_warning(identity, &sa_name, &who));
    }
    let injection = planned
        .as_ref()
        .and_then(|(identity, _)| Injection::for_identity(identity, settings));
    let shape = PodShape::of_value(&object);
    let plan = match (&injection, &planned) {
        (Some(injection), Some((_, skip))) => {
            let shape = shape.as_ref().map_err(|e| pod_name.bad(e.clone()))?;
            Some(mutation::plan(shape, injection, skip)).filter(Plan::changed)
        }
        _ => None,
    };
    if settings.decision_logs {
        log.push(decision_log::injection(
            &who,
            planned.as_ref().map(|(identity, _)| identity),
            shape.as_ref().is_ok_and(|s| s.skip_webhook_labeled),
            plan.as_ref(),
            settings.inject,
        ));
    }
    if let Some(rejection) = too_large(settings, plan.as_ref(), &who) {
        return Err(rejection.with_warnings(warnings));
    }

    if let Some(judge) = &judge {
        // Judged as it will run (see `from_text`).
        if let Some(plan) = &plan {
            plan.apply(&mut object);
        }
        let spec = steps::spec_at(&object, &["spec"]).map_err(|e| pod_name.bad(e))?;
        let usage = judge.collect(spec, "spec").map_err(|e| pod_name.bad(e))?;
        if let Some(rejection) = check(judge, runs_as, &who, &usage, &mut warnings) {
            return Err(rejection.with_warnings(warnings));
        }
    }

    let Some(plan) = plan.filter(|_| settings.inject) else {
        return Ok(Outcome::accept().with_warnings(warnings));
    };
    let applied = judge.is_some();
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
    let object = mutated_object(plan, places, parsed).map_err(|e| pod_name.bad(e))?;
    Ok(Outcome::mutate(object).with_warnings(warnings))
}

/// Adds what `plan` injects to `spec`, as [`Plan::apply`] adds it to the
/// parsed Pod.
fn add_injection<'v>(spec: &mut usage::Spec<'v>, plan: &'v Plan<'_>) {
    let (volume, additions) = plan.additions();
    if let Some((name, audience)) = volume {
        spec.add_token_volume(name, audience);
    }
    for addition in additions {
        let env = addition.env.iter().map(|e| (e.name, e.value));
        spec.add_to_container(addition.field, addition.index, env, addition.mount);
    }
}

/// A rejection when `plan`, to be written, would add more than
/// [`MAX_INJECTED_BYTES`]: counted from the plan before the Pod is judged
/// or written, so such a request costs one read.
fn too_large(settings: &Settings, plan: Option<&Plan<'_>>, who: &str) -> Option<Outcome> {
    let plan = plan.filter(|_| settings.inject)?;
    let bytes = plan.added_bytes();
    (bytes > MAX_INJECTED_BYTES).then(|| {
        Outcome::reject(
            format!(
                "{who}: injecting credentials into its {} containers would add at least \
                 {bytes} bytes, more than the {MAX_INJECTED_BYTES} (3 MiB) the API server \
                 accepts in a request, and more than etcd stores; split the containers \
                 across Pods, or name those that need no AWS credentials in the Pod's \
                 skip-containers annotation",
                plan.containers_changed()
            ),
            super::CODE_TOO_LARGE,
        )
    })
}

/// Judges the Pod's `usage` (read with the injection added) and its
/// ServiceAccount's roles; `Some` rejection in `deny` mode.
fn check(
    judge: &Judge<'_>,
    runs_as: RunsAs<'_>,
    who: &str,
    usage: &PodUsage,
    warnings: &mut Vec<String>,
) -> Option<Outcome> {
    let violations = judge.usage(usage, &judge.roles_of(runs_as));
    if violations.is_empty() {
        return None;
    }
    let subject = format!("{who} (ServiceAccount {})", Shown(runs_as.service_account));
    judge.enforce(&subject, &violations, warnings)
}

/// The Pod with `plan` made: its request text with the additions spliced
/// in at `places`, or, when the text could not be read, `parsed()` (the
/// parsed Pod with the plan applied).
fn mutated_object(
    plan: &Plan<'_>,
    text: Option<(&RawValue, &Places)>,
    parsed: impl FnOnce() -> Result<Value, String>,
) -> Result<MutatedObject, String> {
    if let Some(json) = text.and_then(|(text, places)| plan.splice(text.get(), places)) {
        return Ok(MutatedObject::Spliced(json));
    }
    parsed().map(MutatedObject::Parsed)
}
