//! Pod CREATE, read top to bottom as AWS's `MutatePod`: read the Pod's
//! facts, resolve its identity, plan the injection, judge the Pod as it
//! will run, write the answer.
//!
//! Two readers fill the same facts ([`PodFacts`]): the request's text, read
//! in one pass, and the parsed Pod (the reference, and the fallback that
//! names whatever the text reader gives up on).

use serde_json::Value;
use serde_json::value::RawValue;

use super::judge::Judge;
use super::pod_facts::PodFacts;
use super::steps::{self, RunsAs};
use super::{Answer, CODE_BAD_REQUEST, MutatedObject, Outcome, PodReader, Request, decision_log};
use crate::json;
use crate::lookup::GetResource;
use crate::mutation::{self, Injection, MAX_INJECTED_BYTES, Plan};
use crate::names::Shown;
use crate::pod_text::{Places, PodText};
use crate::settings::Settings;
use crate::usage::PodUsage;

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
    let answer = decide(&request, settings, get_resource, reader, &mut log);
    let mut outcome = answer.unwrap_or_else(|early| early);
    outcome.log.extend(log);
    Ok(outcome)
}

/// One Pod CREATE, step by step; an early rejection is the `Err`.
fn decide(
    request: &Request,
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
    reader: PodReader,
    log: &mut Vec<String>,
) -> Answer {
    let text = request.object.as_deref();
    // Read the Pod's facts, once.
    let mut parsed = None;
    let PodFacts {
        name,
        namespace,
        service_account,
        annotations,
        shape,
        usage,
        places,
    } = read(text, settings, reader, &mut parsed, log)?;

    // Resolve the identity: the ServiceAccount, its mapping, associations.
    let namespace =
        steps::choose_namespace(&request.namespace, namespace).map_err(|e| name.bad(e))?;
    let who = name.in_namespace(&namespace);
    let steps::Resolved {
        state,
        mut warnings,
    } = steps::resolve_service_account(settings, &namespace, service_account, &who, get_resource)?;
    let runs_as = state.runs_as(&namespace, service_account);
    let planned = steps::plan_injection(settings, runs_as, annotations.as_deref(), &request.uid);
    let malformed =
        steps::malformed_role_warning(settings, planned.as_ref(), service_account, &who);
    warnings.extend(malformed);

    // Plan the injection, planned with `inject: false` too: the Pod is
    // judged as it will run (AWS's webhook or our mutating instance adds it).
    let injection = planned
        .as_ref()
        .and_then(|(identity, _)| Injection::for_identity(identity, settings));
    let plan = match (&injection, &planned) {
        (Some(injection), Some((_, skip))) => Some(mutation::plan(
            shape.as_ref().map_err(|e| name.bad(e.clone()))?,
            injection,
            skip,
        ))
        .filter(Plan::changed),
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

    // Judge the Pod as it will run: with the injection added.
    if let (Some(restriction), Some(spec)) = (&settings.restriction, usage) {
        let judge = Judge::new(settings, restriction, &namespace);
        let usage = judge
            .as_it_will_run(spec, plan.as_ref())
            .map_err(|e| name.bad(e))?;
        if let Some(rejection) = check(&judge, runs_as, &who, &usage, &mut warnings) {
            return Err(rejection.with_warnings(warnings));
        }
    }

    // Write the answer.
    let Some(plan) = plan.filter(|_| settings.inject) else {
        return Ok(Outcome::accept().with_warnings(warnings));
    };
    let object = match reader {
        PodReader::Text => write(&plan, text, places, parsed),
        #[cfg(any(test, feature = "reference"))]
        PodReader::Parsed => write(&plan, None, None, parsed),
    };
    Ok(Outcome::mutate(object.map_err(|e| name.bad(e))?).with_warnings(warnings))
}

/// The Pod's facts: read from its text in one pass, else from the Pod
/// parsed into `parsed` (kept there for writing).
fn read<'p>(
    text: Option<&'p RawValue>,
    settings: &Settings,
    reader: PodReader,
    parsed: &'p mut Option<Value>,
    log: &mut Vec<String>,
) -> Result<PodFacts<'p>, Outcome> {
    let restricted = settings.restriction.is_some();
    if let (Some(text), PodReader::Text) = (text, reader) {
        match PodFacts::from_text(text.get(), restricted) {
            Ok(facts) => return Ok(facts),
            Err(give_up) if settings.decision_logs => {
                log.push(decision_log::text_reader_gave_up(give_up));
            }
            Err(_) => {}
        }
    }
    let object =
        json::parse_raw(text, "object").map_err(|e| Outcome::reject(e, CODE_BAD_REQUEST))?;
    PodFacts::from_value(parsed.insert(object), restricted)
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
    let violations = judge.violations(usage, &judge.roles_of(runs_as));
    if violations.is_empty() {
        return None;
    }
    let subject = format!("{who} (ServiceAccount {})", Shown(runs_as.service_account));
    judge.enforce(&subject, &violations, warnings)
}

/// The Pod with `plan` made: the request's `text` with the additions
/// spliced in at `places` (or, when the facts came from the parsed Pod, at
/// places found by a read of the text for them alone); else the `parsed`
/// Pod (parsed now if need be) changed and written anew.
fn write(
    plan: &Plan<'_>,
    text: Option<&RawValue>,
    places: Option<Places>,
    parsed: Option<Value>,
) -> Result<MutatedObject, String> {
    if let Some(text) = text {
        let places = places.or_else(|| PodText::read(text.get()).ok().map(|pod| pod.places));
        if let Some(json) = places.and_then(|places| plan.splice(text.get(), &places)) {
            return Ok(MutatedObject::Spliced(json));
        }
    }
    let mut object = match parsed {
        Some(object) => object,
        None => json::parse_raw(text, "object")?,
    };
    plan.apply(&mut object);
    Ok(MutatedObject::Parsed(object))
}
