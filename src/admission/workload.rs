//! Workload CREATE/UPDATE: the Pod template is checked as the Pods it will
//! create, injection included, so a bad role fails at `kubectl apply`
//! rather than in ReplicaSet events. Templates are never mutated.

use serde_json::Value;

use super::judge::{self, Judge};
use super::steps::{self, Old, RunsAs};
use super::{Answer, Outcome, Request};
use crate::allowlist::Violation;
use crate::json;
use crate::lookup::GetResource;
use crate::mutation::{self, Injection};
use crate::names::Shown;
use crate::pod::{self, PodShape};
use crate::settings::Settings;
use crate::usage;

/// Where each workload kind keeps its Pod template.
const TEMPLATES: [(&str, &str, &[&str]); 7] = [
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

/// The path of a workload kind's Pod template; `None` for other kinds.
pub(super) fn template_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    TEMPLATES
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, path)| *path)
}

pub(super) fn handle(
    request: Request,
    template_path: &[&str],
    settings: &Settings,
    get_resource: &mut GetResource<'_>,
) -> Answer {
    let Some(restriction) = &settings.restriction else {
        return Ok(Outcome::accept());
    };
    let kind = request.kind.kind.as_str();
    let steps::Opened {
        object,
        old_object,
        name,
        namespace,
    } = steps::open(&request, kind, "an object", Old::Parse)?;
    let bad = |e: String| name.bad(e);
    let Some(template) = json::lookup(&object, template_path).map_err(bad)? else {
        return Ok(Outcome::accept());
    };
    let template = Template {
        value: template,
        field: json::dotted(template_path),
    };
    let spec_path: Vec<&str> = template_path.iter().copied().chain(["spec"]).collect();
    let sa_name = steps::spec_at(&object, &spec_path)
        .and_then(|spec| pod::service_account_name(spec, &json::dotted(&spec_path)))
        .map_err(bad)?;
    let who = name.in_namespace(&namespace);
    let steps::Resolved {
        state,
        mut warnings,
    } = steps::resolve_service_account(settings, &namespace, sa_name, &who, get_resource)?;
    let runs_as = state.runs_as(&namespace, sa_name);
    let judge = Judge::new(settings, restriction, &namespace);
    let new = violations(&judge, &template, runs_as, &request.uid).map_err(bad)?;
    // The old template is judged with the same ServiceAccount data when it
    // names the same ServiceAccount, and with none otherwise.
    let old = json::at(&old_object, template_path)
        .and_then(|value| {
            let old_sa = steps::spec_at(value, &["spec"])
                .and_then(|s| pod::service_account_name(s, "spec"))
                .ok()?;
            let old_runs_as = RunsAs {
                service_account: old_sa,
                account: runs_as.account.filter(|_| old_sa == sa_name),
                ..runs_as
            };
            let old_template = Template {
                value,
                field: template.field.clone(),
            };
            violations(&judge, &old_template, old_runs_as, &request.uid).ok()
        })
        .unwrap_or_default();
    let subject = format!("{who} (Pod template, ServiceAccount {})", Shown(sa_name));
    match judge.enforce(&subject, &judge::added(new, &old), &mut warnings) {
        Some(rejection) => Err(rejection.with_warnings(warnings)),
        None => Ok(Outcome::accept().with_warnings(warnings)),
    }
}

/// A Pod template and its field path, for messages.
struct Template<'a> {
    value: &'a Value,
    field: String,
}

/// A template's violations, judged as its Pods will run: with the
/// injection planned, as a Pod CREATE is judged.
fn violations(
    judge: &Judge<'_>,
    template: &Template<'_>,
    runs_as: RunsAs<'_>,
    seed: &str,
) -> Result<Vec<Violation>, String> {
    let field = &template.field;
    let annotations = pod::annotations(template.value).map_err(|e| format!("{field}.{e}"))?;
    let spec = steps::spec_at(template.value, &["spec"]).map_err(|e| format!("{field}.{e}"))?;
    let spec = usage::Spec::read(spec, &format!("{field}.spec"))?;
    let planned = steps::plan_injection(judge.settings, runs_as, annotations, seed);
    let injection = planned
        .as_ref()
        .and_then(|(identity, _)| Injection::for_identity(identity, judge.settings));
    let plan = match (&injection, &planned) {
        (Some(injection), Some((_, skip))) => {
            let shape = PodShape::of_value(template.value).map_err(|e| format!("{field}.{e}"))?;
            Some(mutation::plan(&shape, injection, skip))
        }
        _ => None,
    };
    let usage = judge.as_it_will_run(spec, plan.as_ref())?;
    Ok(judge.violations(&usage, &judge.roles_of(runs_as)))
}
