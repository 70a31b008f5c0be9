//! Judging what an object brings against the namespace's allowance: the
//! Pod as it will run, a ServiceAccount's roles, and what an update adds.

use std::collections::BTreeSet;

use serde_json::Value;

use super::steps::RunsAs;
use super::{CODE_FORBIDDEN, Outcome};
use crate::allowlist::{self, NamespaceAllowance, Violation};
use crate::identity;
use crate::mutation;
use crate::report;
use crate::role::Role;
use crate::settings::{Enforcement, Restriction, Settings};
use crate::usage::{self, PodUsage};

/// What judging an object in one namespace needs.
pub(super) struct Judge<'a> {
    pub settings: &'a Settings,
    pub restriction: &'a Restriction,
    pub allowance: NamespaceAllowance<'a>,
}

impl<'a> Judge<'a> {
    pub fn new(settings: &'a Settings, restriction: &'a Restriction, namespace: &'a str) -> Self {
        Judge {
            settings,
            restriction,
            allowance: restriction.allowed.for_namespace(namespace),
        }
    }

    /// The roles a ServiceAccount brings (annotation, mapping, association).
    pub fn roles_of(&self, runs_as: RunsAs<'_>) -> Vec<Role> {
        runs_as
            .account
            .map(|sa| {
                identity::roles_for(
                    self.settings,
                    runs_as.namespace,
                    runs_as.service_account,
                    sa,
                )
            })
            .unwrap_or_default()
    }

    /// What a Pod uses as it will run: `spec` with what `plan` injects
    /// added, as [`mutation::Plan::apply`] adds it to the parsed Pod. Pod
    /// CREATEs and workload templates are judged so.
    pub fn as_it_will_run<'v>(
        &self,
        mut spec: usage::Spec<'v>,
        plan: Option<&'v mutation::Plan<'_>>,
    ) -> Result<PodUsage, String> {
        if let Some(plan) = plan {
            let (volume, additions) = plan.additions();
            if let Some((name, audience)) = volume {
                spec.add_token_volume(name, audience);
            }
            for addition in additions {
                let env = addition.env.map(|e| (e.name, e.value));
                spec.add_to_container(addition.field, addition.index, env, addition.mount);
            }
        }
        self.usage(&spec)
    }

    /// What a PodSpec uses, from facts either reader took.
    pub fn usage(&self, spec: &usage::Spec<'_>) -> Result<PodUsage, String> {
        spec.usage(
            self.settings.compose_role_arn.as_ref(),
            &self.restriction.sts_audiences,
            self.restriction.judged,
        )
    }

    /// Violations of `usage` and the ServiceAccount's roles (first).
    pub fn violations(&self, usage: &PodUsage, sa_roles: &[Role]) -> Vec<Violation> {
        allowlist::check(&self.allowance, sa_roles, usage)
    }

    /// Violations of an updated PodSpec, per container: what an update
    /// adds is judged container by container.
    pub fn spec_per_container(
        &self,
        spec: &Value,
        spec_path: &str,
    ) -> Result<Vec<Violation>, String> {
        let usage = self.usage(&usage::Spec::read(spec, spec_path)?)?;
        Ok(allowlist::check_per_container(&self.allowance, &[], &usage))
    }

    /// A rejection in `deny` mode, warnings in `warn` mode; `None` when
    /// there is nothing to say or the answer is a warning.
    pub fn enforce(
        &self,
        subject: &str,
        violations: &[Violation],
        warnings: &mut Vec<String>,
    ) -> Option<Outcome> {
        if violations.is_empty() {
            return None;
        }
        match self.restriction.enforcement {
            Enforcement::Deny => Some(Outcome::reject(
                report::message(subject, &self.allowance, violations),
                CODE_FORBIDDEN,
            )),
            Enforcement::Warn => {
                warnings.extend(report::warnings(subject, &self.allowance, violations));
                None
            }
        }
    }
}

/// Violations in `new` that `old` did not have: an update is judged by what
/// it adds, so objects admitted before the policy can still be updated (a
/// finalizer removed, a label changed) without being fixed first.
pub(super) fn added(new: Vec<Violation>, old: &[Violation]) -> Vec<Violation> {
    // A set, so large objects stay linear.
    let old: BTreeSet<&Violation> = old.iter().collect();
    new.into_iter().filter(|v| !old.contains(v)).collect()
}
