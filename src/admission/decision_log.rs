//! Decision log lines (`decisionLogs: true`): what a platform engineer
//! needs when a Pod did not get its credentials. Built only when the
//! setting is on; the shell sends them to the host's log.

use super::{Outcome, Request, Verdict};
use crate::constants::SKIP_WEBHOOK_LABEL;
use crate::identity::Identity;
use crate::mutation::Plan;
use crate::names::{self, Shown};
use crate::pod_text::GiveUp;

/// Lines per request, and bytes per line: a log stays small whatever the
/// request holds.
const MAX_LINES: usize = 8;
const LINE_LIMIT: usize = 1024;

/// Why a Pod was read parsed rather than from its text.
pub(super) fn text_reader_gave_up(at: GiveUp) -> String {
    format!(
        "the request text was not read in one pass: it gave up in {at} (an escaped or \
         duplicate key, a field of another type, an escaped string, or a number or nesting \
         the parsed reader must judge); the Pod was read parsed"
    )
}

/// How the log names a request: `CREATE Pod team-a/web`.
pub(super) fn request_line(request: &Request) -> String {
    let sub = if request.sub_resource.is_empty() {
        String::new()
    } else {
        format!("/{}", request.sub_resource)
    };
    let name = if request.name.is_empty() {
        "(name not yet set)"
    } else {
        &request.name
    };
    format!(
        "{} {}{sub} {}/{}",
        request.operation,
        request.kind.kind,
        Shown(&request.namespace).bare(),
        Shown(name).bare()
    )
}

/// What the injection did to a Pod, and why.
pub(super) fn injection(
    who: &str,
    identity: Option<&Identity>,
    skip_labeled: bool,
    plan: Option<&Plan<'_>>,
    inject: bool,
) -> String {
    let Some(identity) = identity else {
        return format!(
            "{who}: not injected: its ServiceAccount brings no AWS identity (no role annotation, \
             serviceAccountMappings entry or podIdentity association), or was not looked up"
        );
    };
    let what = describe(identity);
    match plan {
        _ if skip_labeled => {
            format!("{who}: not injected: the Pod carries the label {SKIP_WEBHOOK_LABEL} ({what})")
        }
        Some(plan) if inject => format!(
            "{who}: injected {what} into {} container(s)",
            plan.containers_changed()
        ),
        Some(_) => {
            format!("{who}: not injected (inject: false); judged with {what} as it will run")
        }
        None => {
            format!("{who}: nothing to inject: every container already has {what}, or is skipped")
        }
    }
}

fn describe(identity: &Identity) -> String {
    match identity {
        Identity::Irsa { role, .. } => {
            format!("IRSA role {} (from {})", Shown(&role.value), role.source)
        }
        Identity::PodIdentity {
            role: Some(role), ..
        } => {
            format!("EKS Pod Identity, role {}", Shown(&role.value))
        }
        Identity::PodIdentity { role: None, .. } => "EKS Pod Identity".to_owned(),
    }
}

/// Adds the verdict and the warnings to the handler's lines, each line
/// naming the request, bounded.
pub(super) fn summarise(mut outcome: Outcome, request: &str) -> Outcome {
    let verdict = match &outcome.verdict {
        Verdict::Accept => "accepted".to_owned(),
        Verdict::Mutate(_) => "accepted with the injection".to_owned(),
        Verdict::Reject { message, code } => format!("rejected ({code}): {message}"),
    };
    let mut lines: Vec<String> = std::mem::take(&mut outcome.log);
    lines.push(verdict);
    lines.extend(outcome.warnings.iter().map(|w| format!("warning: {w}")));
    let more = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    if more > 0 {
        lines.push(format!("... and {more} more lines"));
    }
    outcome.log = lines
        .into_iter()
        .map(|line| names::truncate(format!("{request}: {line}"), LINE_LIMIT))
        .collect();
    outcome
}
