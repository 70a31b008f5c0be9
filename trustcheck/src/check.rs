//! The trust-policy rules: *Admitted(R)* against *Allowed(R)* for each role,
//! and the shape of each statement.
//!
//! IAM's evaluation, as applied here (IAM User Guide, "Policy evaluation
//! logic" and "IAM JSON policy elements: Condition"):
//! - statements are OR-ed and an explicit Deny wins over any Allow; a Deny
//!   is credited only when every condition it has can be evaluated exactly
//!   (the checker errs towards reporting);
//! - within a `Condition`, operators and keys are AND-ed and the values of
//!   one key are OR-ed; key names ignore case;
//! - a key absent from the request makes a condition false, except for
//!   the negated operators, `...IfExists` and `Null`
//!   ("Condition operators": "If the key that you specify in a policy
//!   condition is not present in the request context, the values do not
//!   match"); `ForAllValues:` is true for an absent key, `ForAnyValue:`
//!   false ("Multivalued context keys").
//! - Keys this tool cannot evaluate (`aws:SourceIp`, a second tag) may hold
//!   for an Allow: they are read as true there.

use std::collections::{BTreeSet, HashMap, HashSet};

use irsa_policy::arn::RoleArn;
use irsa_policy::glob::NAMESPACE_PLACEHOLDER;
use irsa_policy::settings::Settings;

use crate::allowed::{AllowList, Allowed};
use crate::automata::{
    Dfa, MAX_STATES, TooComplex, every_namespace, first_namespace, first_outside,
};
use crate::iam::{action_matches, value_pattern};
use crate::input::{Association, Cluster, InputError, Role};
use crate::policy::{Actions, BaseOp, Condition, Effect, SetOp, Statement};
use crate::rules::{Finding, Rule};

/// The Pod Identity service principal.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";
const NAMESPACE_TAG: &str = "aws:requesttag/kubernetes-namespace";
const CLUSTER_TAGS: [&str; 2] = [
    "aws:requesttag/eks-cluster-arn",
    "aws:requesttag/eks-cluster-name",
];
const REQUEST_TAG: &str = "aws:requesttag/";

/// Who asks for the role.
#[derive(Debug, Clone, Copy)]
enum Request<'a> {
    /// A ServiceAccount token of this cluster, through
    /// `sts:AssumeRoleWithWebIdentity`.
    Irsa(&'a Cluster),
    /// The EKS Pod Identity agent, through `sts:AssumeRole` with tags.
    PodIdentity,
}

/// What a condition key is to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// The key that names the namespace: `<issuer>:sub`, or the
    /// `kubernetes-namespace` session tag.
    Subject,
    /// `<issuer>:aud`.
    Audience,
    /// `eks-cluster-arn` or `eks-cluster-name` tags.
    ClusterTag,
    /// Never in this request (another cluster's issuer).
    Absent,
    /// Anything else: not evaluated.
    Unknown,
}

/// The shared inputs of every check.
#[derive(Clone)]
pub struct Checker<'a> {
    pub clusters: &'a [Cluster],
    /// Named by errors in `allowedRoles`.
    pub settings_file: String,
    /// Audiences STS accepts: `tokenAudience`, `sts.amazonaws.com`,
    /// `stsAudiences`.
    pub audiences: BTreeSet<String>,
    pub allow: AllowList,
}

/// A statement's language over the subject key, and whether it is exact.
struct Language {
    dfa: Dfa,
    exact: bool,
}

impl<'a> Checker<'a> {
    pub fn new(
        settings: &Settings,
        settings_file: &str,
        clusters: &'a [Cluster],
        allow: AllowList,
    ) -> Checker<'a> {
        let audiences = match &settings.restriction {
            Some(r) => r.sts_audiences.clone(),
            None => [
                settings.token_audience.clone(),
                "sts.amazonaws.com".to_owned(),
            ]
            .into_iter()
            .collect(),
        };
        Checker {
            clusters,
            settings_file: settings_file.to_owned(),
            audiences,
            allow,
        }
    }

    fn key(&self, request: Request<'_>, key: &str) -> Key {
        let other_issuer = |except: Option<&Cluster>| {
            self.clusters.iter().any(|c| {
                except.is_none_or(|e| e.key_prefix != c.key_prefix)
                    && key.starts_with(&c.key_prefix)
            })
        };
        match request {
            Request::Irsa(c) => {
                let own = key.strip_prefix(&c.key_prefix);
                if own == Some("sub") {
                    Key::Subject
                } else if own == Some("aud") {
                    Key::Audience
                } else if own.is_none() && other_issuer(Some(c)) {
                    Key::Absent
                } else {
                    Key::Unknown
                }
            }
            Request::PodIdentity => {
                if key == NAMESPACE_TAG {
                    Key::Subject
                } else if CLUSTER_TAGS.contains(&key) {
                    Key::ClusterTag
                } else if other_issuer(None) {
                    Key::Absent
                } else {
                    Key::Unknown
                }
            }
        }
    }

    /// Whether the statement names this request's principal and action.
    fn applies(&self, s: &Statement, request: Request<'_>) -> bool {
        let (principal, action) = match request {
            Request::Irsa(c) => (
                s.principals.everyone
                    || s.principals.federated.iter().any(|f| {
                        f == &c.provider_arn
                            || (f.contains('*')
                                && irsa_policy::glob::matches(f, &c.provider_arn, None))
                    }),
                "sts:AssumeRoleWithWebIdentity",
            ),
            Request::PodIdentity => (
                s.principals.everyone
                    || s.principals
                        .service
                        .iter()
                        .any(|p| p == POD_IDENTITY_PRINCIPAL),
                "sts:AssumeRole",
            ),
        };
        principal
            && match &s.actions {
                Actions::Action(list) => list.iter().any(|a| action_matches(a, action)),
                Actions::NotAction(list) => !list.iter().any(|a| action_matches(a, action)),
            }
    }

    /// The subject values (subjects or namespaces) a statement's conditions
    /// let through for this request.
    fn language(&self, s: &Statement, request: Request<'_>) -> Result<Language, TooComplex> {
        let mut dfa: Option<Dfa> = None;
        let mut exact = true;
        for c in &s.conditions {
            match self.key(request, &c.key_lower) {
                Key::Subject => match c.base {
                    BaseOp::Null => {
                        // The key is present: `Null: true` fails.
                        if c.values.iter().all(|v| v == "true") {
                            return Ok(Language {
                                dfa: Dfa::nothing(),
                                exact,
                            });
                        }
                    }
                    BaseOp::Other { .. } => exact = false,
                    base => {
                        let like = matches!(base, BaseOp::StringLike | BaseOp::StringNotLike);
                        let ignore_case = matches!(
                            base,
                            BaseOp::StringEqualsIgnoreCase | BaseOp::StringNotEqualsIgnoreCase
                        );
                        let patterns: Vec<_> = c
                            .values
                            .iter()
                            .map(|v| value_pattern(v, like, ignore_case))
                            .collect();
                        exact &= !patterns.iter().any(|p| p.has_variable);
                        let items: Vec<_> = patterns.into_iter().map(|p| p.items).collect();
                        let mut values = Dfa::union_of(&items)?;
                        if base.negated() {
                            values = values.complement();
                        }
                        dfa = Some(match dfa {
                            Some(d) => d.and(&values)?,
                            None => values,
                        });
                    }
                },
                Key::Absent => {
                    let holds = match (c.base, c.set) {
                        (BaseOp::Null, _) => c.values.iter().any(|v| v == "true"),
                        (_, Some(SetOp::ForAllValues)) => true,
                        (_, Some(SetOp::ForAnyValue)) => false,
                        (base, None) => c.if_exists || base.negated(),
                    };
                    if !holds {
                        return Ok(Language {
                            dfa: Dfa::nothing(),
                            exact,
                        });
                    }
                }
                Key::Audience | Key::ClusterTag | Key::Unknown => exact = false,
            }
        }
        Ok(Language {
            dfa: dfa.unwrap_or_else(Dfa::everything),
            exact,
        })
    }

    /// The union of the exactly evaluable Deny statements for a request.
    fn denied(&self, role: &Role, request: Request<'_>) -> Result<Option<Dfa>, InputError> {
        let mut denied: Option<Dfa> = None;
        for s in &role.trust.statements {
            if s.effect == Effect::Deny && self.applies(s, request) {
                let l = self
                    .language(s, request)
                    .map_err(|e| too_complex(e, role, s))?;
                if l.exact {
                    denied = Some(match denied {
                        Some(d) => d.or(&l.dfa).map_err(|e| too_complex(e, role, s))?,
                        None => l.dfa,
                    });
                }
            }
        }
        Ok(denied)
    }

    /// Every finding for one role.
    pub fn check_role(&mut self, role: &Role) -> Result<Vec<Finding>, InputError> {
        let allowed = self.allow.for_role(&role.arn).map_err(|_| {
            InputError::new(
                &self.settings_file,
                "allowedRoles",
                &format!(
                    "the keys that allow {} are too complex to decide exactly (more than {MAX_STATES} automaton states)",
                    role.arn.as_str()
                ),
            )
        })?;
        let mut findings = Vec::new();
        let subject = role.arn.as_str();
        let finding = |rule: Rule, s: &Statement, message: String| {
            let mut f = Finding::new(rule, subject, &role.file, &s.path, message);
            f.statement = Some(s.index);
            f
        };
        for s in role
            .trust
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
        {
            if let Some(wide) = principal_wide(s) {
                let mut f = finding(
                    Rule::PrincipalWide,
                    s,
                    format!(
                        "the statement allows {wide}: far more than this cluster's ServiceAccounts"
                    ),
                );
                f.condition = Some(wide);
                findings.push(f);
            }
        }
        let mut requests: Vec<Request<'_>> = self.clusters.iter().map(Request::Irsa).collect();
        requests.push(Request::PodIdentity);
        for request in requests {
            let trusting: Vec<&Statement> = role
                .trust
                .statements
                .iter()
                .filter(|s| s.effect == Effect::Allow && self.applies(s, request))
                .collect();
            if trusting.is_empty() {
                continue;
            }
            let denied = self.denied(role, request)?;
            for s in trusting {
                let complex = |e| too_complex(e, role, s);
                let granted = self.language(s, request).map_err(complex)?.dfa;
                let language = match &denied {
                    Some(d) => granted.and_not(d).map_err(complex)?,
                    None => granted,
                };
                findings.extend(
                    self.check_statement(s, request, &language, &allowed)
                        .map_err(complex)?
                        .into_iter()
                        .map(|(rule, f)| {
                            let mut out = finding(rule, s, f.message);
                            out.condition = f.condition;
                            out.admits = f.admits;
                            out.allowed = f.allowed;
                            out.witness = f.witness;
                            out
                        }),
                );
            }
        }
        // One finding per role, statement and rule.
        let mut seen = HashSet::new();
        findings.retain(|f| seen.insert((f.rule, f.statement)));
        Ok(findings)
    }

    fn check_statement(
        &self,
        s: &Statement,
        request: Request<'_>,
        language: &Dfa,
        allowed: &Allowed,
    ) -> Result<Vec<(Rule, Partial)>, TooComplex> {
        let mut out = Vec::new();
        let of = |kind: Key| -> Vec<&Condition> {
            s.conditions
                .iter()
                .filter(|c| self.key(request, &c.key_lower) == kind)
                .collect()
        };
        let subject_conditions = of(Key::Subject);
        let written = |cs: &[&Condition]| {
            cs.iter()
                .map(|c| c.written())
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let admitted = match request {
            Request::Irsa(_) => language.subject_namespaces(),
            Request::PodIdentity => language.clone(),
        };
        if first_namespace(&admitted)?.is_none() {
            // No valid namespace gets through (another cluster's keys, a
            // Deny that covers it): the statement does not grant this
            // request.
            return Ok(out);
        }
        let witness = first_outside(&admitted, &allowed.dfa)?;
        let everything = every_namespace(&admitted)?;
        let admits = if everything {
            "every namespace".to_owned()
        } else {
            match &witness {
                Some(w) => format!("namespaces such as {w:?}"),
                None => "only namespaces the map allows".to_owned(),
            }
        };
        let span = |rule: Rule, message: String| {
            Partial {
                message,
                condition: Some(written(&subject_conditions)).filter(|w| !w.is_empty()),
                admits: Some(admits.clone()),
                allowed: Some(allowed.describe()),
                witness: witness.clone(),
            }
            .with(rule)
        };
        let who = match request {
            Request::Irsa(_) => "a ServiceAccount",
            Request::PodIdentity => "a Pod Identity association",
        };
        let witness_text = |w: &Option<String>| match w {
            Some(w) => format!(
                "; {who} in namespace {w:?}, which allowedRoles does not allow this role, can assume it"
            ),
            None => String::new(),
        };
        let span_rule = match request {
            Request::Irsa(c) => {
                if subject_conditions.is_empty() {
                    out.push(span(
                        Rule::IrsaNoSub,
                        format!(
                            "trusts every ServiceAccount of cluster {} (no \"{}:sub\" condition){}",
                            c.name,
                            c.prefix,
                            witness_text(&witness)
                        ),
                    ));
                }
                Rule::IrsaSubSpan
            }
            Request::PodIdentity => {
                let several = self.clusters.len() > 1;
                let cluster_bound = !of(Key::ClusterTag).is_empty();
                if subject_conditions.is_empty() || (several && !cluster_bound) {
                    let missing = if subject_conditions.is_empty() {
                        "aws:RequestTag/kubernetes-namespace"
                    } else {
                        "aws:RequestTag/eks-cluster-arn (several clusters are checked)"
                    };
                    out.push(span(
                        Rule::PiNoNsTag,
                        format!(
                            "trusts {POD_IDENTITY_PRINCIPAL} without a condition on {missing}{}",
                            witness_text(&witness)
                        ),
                    ));
                }
                Rule::PiNsSpan
            }
        };
        if !subject_conditions.is_empty() && witness.is_some() {
            out.push(span(
                span_rule,
                format!(
                    "the condition admits namespaces outside allowedRoles{}",
                    witness_text(&witness)
                ),
            ));
        }
        // Unsound operators on the keys that bound the request.
        let bounding: Vec<&Condition> = s
            .conditions
            .iter()
            .filter(|c| {
                let k = self.key(request, &c.key_lower);
                k == Key::Subject || (k == Key::Audience && matches!(request, Request::Irsa(_)))
            })
            .collect();
        let set_or_if_exists: Vec<&Condition> = bounding
            .iter()
            .copied()
            .filter(|c| c.set.is_some() || c.if_exists)
            .collect();
        if !set_or_if_exists.is_empty() {
            out.push(
                Partial::message(format!(
                    "{}: a set operator or IfExists on a single-valued key is true when the key is absent or for values it does not name",
                    written(&set_or_if_exists)
                ))
                .condition(written(&set_or_if_exists))
                .with(Rule::OpUnsound),
            );
        } else if !subject_conditions.is_empty()
            && subject_conditions.iter().all(|c| c.base.negated())
        {
            out.push(
                Partial::message(format!(
                    "{}: a negated operator is the only bound: it admits every value it does not name",
                    written(&subject_conditions)
                ))
                .condition(written(&subject_conditions))
                .with(Rule::OpUnsound),
            );
        }
        if let Request::Irsa(c) = request {
            let audience = of(Key::Audience);
            if audience.is_empty() {
                out.push(
                    Partial::message(format!(
                        "no \"{}:aud\" condition: a token of any audience is accepted (allowed: {})",
                        c.prefix,
                        self.audience_list()
                    ))
                    .with(Rule::IrsaAud),
                );
            } else if !audience.iter().any(|a| self.bounds_audience(a)) {
                let others: Vec<String> = audience
                    .iter()
                    .flat_map(|a| a.values.iter())
                    .filter(|v| !self.audiences.contains(*v))
                    .map(|v| format!("{v:?}"))
                    .collect();
                let admits = if others.is_empty() {
                    "audiences the condition does not name".to_owned()
                } else {
                    others.join(", ")
                };
                out.push(
                    Partial::message(format!(
                        "the audience condition admits {admits}; STS is configured for {}",
                        self.audience_list()
                    ))
                    .condition(written(&audience))
                    .with(Rule::IrsaAud),
                );
            }
        }
        Ok(out)
    }

    fn audience_list(&self) -> String {
        self.audiences
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether one condition limits the audience to accepted ones.
    fn bounds_audience(&self, c: &Condition) -> bool {
        let literal_op = match c.base {
            BaseOp::StringEquals | BaseOp::StringEqualsIgnoreCase => true,
            BaseOp::StringLike => true,
            _ => return false,
        };
        literal_op
            && c.set.is_none()
            && !c.if_exists
            && !c.values.is_empty()
            && c.values.iter().all(|v| {
                let wild = c.base == BaseOp::StringLike && v.contains(['*', '?']);
                !wild && !v.contains("${") && self.audiences.contains(v)
            })
    }

    /// ASSOC-DENIED, ASSOC-DRIFT and ASSOC-TAGS-OFF.
    pub fn check_associations(
        &self,
        settings: &Settings,
        settings_file: &str,
        associations: &[Association],
        roles: &HashMap<String, &Role>,
    ) -> Result<Vec<Finding>, InputError> {
        let mut findings = Vec::new();
        let declared = settings
            .pod_identity
            .as_ref()
            .map(|pi| pi.associations.clone())
            .unwrap_or_default();
        let declared_targets = settings
            .pod_identity
            .as_ref()
            .map(|pi| pi.target_roles.clone())
            .unwrap_or_default();
        for a in associations {
            let subject = format!("{}/{}", a.namespace, a.service_account);
            for (field, arn) in [
                ("roleArn", Some(&a.role_arn)),
                ("targetRoleArn", a.target_role_arn.as_ref()),
            ] {
                let Some(arn) = arn else { continue };
                let role = RoleArn::parse(arn).map_err(|e| {
                    InputError::new(
                        &a.file,
                        &format!("association.{field}"),
                        &format!("{arn:?}: {e}"),
                    )
                })?;
                if !self.allow.allows(&a.namespace, &role) {
                    let mut f = Finding::new(
                        Rule::AssocDenied,
                        &subject,
                        &a.file,
                        &format!("association.{field}"),
                        format!(
                            "{field} {arn} is not allowed in namespace {:?}",
                            a.namespace
                        ),
                    );
                    f.condition = Some(format!("{field}: {arn}"));
                    f.allowed = Some(self.allow.describe_namespace(&a.namespace));
                    findings.push(f);
                }
            }
            let key = (a.namespace.clone(), a.service_account.clone());
            match declared.get(&key) {
                None => findings.push(Finding::new(
                    Rule::AssocDrift,
                    &subject,
                    &a.file,
                    "association",
                    "exists in EKS but not in the settings' podIdentity.associations: the policy will not inject it".to_owned(),
                )),
                Some(Some(declared_role)) if declared_role.as_str() != a.role_arn => {
                    findings.push(Finding::new(
                        Rule::AssocDrift,
                        &subject,
                        &a.file,
                        "association.roleArn",
                        format!(
                            "EKS grants {} but podIdentity.associations says {}: the allow-list judges the wrong role",
                            a.role_arn,
                            declared_role.as_str()
                        ),
                    ))
                }
                Some(_) => {}
            }
            let declared_target = declared_targets.get(&key).map(RoleArn::as_str);
            if declared.contains_key(&key) && declared_target != a.target_role_arn.as_deref() {
                let shown = |t: Option<&str>| t.unwrap_or("no targetRoleArn").to_owned();
                findings.push(Finding::new(
                    Rule::AssocDrift,
                    &subject,
                    &a.file,
                    "association.targetRoleArn",
                    format!(
                        "EKS chains into {} but podIdentity.associations says {}: the allow-list judges the wrong role",
                        shown(a.target_role_arn.as_deref()),
                        shown(declared_target)
                    ),
                ));
            }
            if a.disable_session_tags
                && let Some(role) = roles.get(&a.role_arn)
                && self.requires_session_tags(role)
            {
                findings.push(Finding::new(
                    Rule::AssocTagsOff,
                    &subject,
                    &a.file,
                    "association.disableSessionTags",
                    format!(
                        "disableSessionTags is true but the trust policy of {} requires session tags: the association cannot work",
                        a.role_arn
                    ),
                ));
            }
        }
        if !associations.is_empty() {
            let in_eks: HashSet<(String, String)> = associations
                .iter()
                .map(|a| (a.namespace.clone(), a.service_account.clone()))
                .collect();
            for (ns, sa) in declared.keys().filter(|k| !in_eks.contains(*k)) {
                findings.push(Finding::new(
                    Rule::AssocDrift,
                    &format!("{ns}/{sa}"),
                    settings_file,
                    "podIdentity.associations",
                    "is in the settings' podIdentity.associations but no --associations file describes it: the policy injects credentials EKS will not give".to_owned(),
                ));
            }
        }
        Ok(findings)
    }

    /// Whether every statement that trusts Pod Identity needs a session tag.
    fn requires_session_tags(&self, role: &Role) -> bool {
        let trusting: Vec<&Statement> = role
            .trust
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow && self.applies(s, Request::PodIdentity))
            .collect();
        !trusting.is_empty()
            && trusting.iter().all(|s| {
                s.conditions.iter().any(|c| {
                    c.key_lower.starts_with(REQUEST_TAG)
                        && c.set.is_none()
                        && !c.if_exists
                        && !c.base.negated()
                        && c.base != BaseOp::Null
                })
            })
    }

    /// UNKNOWN-ROLE: allow-list entries naming one role that no `--roles`
    /// file holds.
    pub fn unknown_roles(&self, known: &HashSet<String>, settings_file: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut seen = HashSet::new();
        for key in self.allow.keys() {
            for (i, p) in key.patterns.iter().enumerate() {
                let concrete = if !key.name.contains(['*', '?']) {
                    p.replace(NAMESPACE_PLACEHOLDER, &key.name)
                } else if p.contains(NAMESPACE_PLACEHOLDER) {
                    continue;
                } else {
                    p.clone()
                };
                if concrete.contains(['*', '?'])
                    || known.contains(&concrete)
                    || !seen.insert(concrete.clone())
                {
                    continue;
                }
                let mut f = Finding::new(
                    Rule::UnknownRole,
                    &concrete,
                    settings_file,
                    &format!("allowedRoles[{:?}][{i}]", key.name),
                    format!(
                        "allowedRoles[{:?}] allows {concrete}, which no --roles file holds: its trust policy is unchecked",
                        key.name
                    ),
                );
                f.condition = Some(p.clone());
                findings.push(f);
            }
        }
        findings
    }
}

/// The input error for a statement whose conditions are too complex.
fn too_complex(_: TooComplex, role: &Role, s: &Statement) -> InputError {
    InputError::new(
        &role.file,
        &s.path,
        &format!(
            "the conditions are too complex to decide exactly (more than {MAX_STATES} automaton states): simplify the wildcards"
        ),
    )
}

/// What a statement-level check found, before the role's details are added.
struct Partial {
    message: String,
    condition: Option<String>,
    admits: Option<String>,
    allowed: Option<String>,
    witness: Option<String>,
}

impl Partial {
    fn message(message: String) -> Partial {
        Partial {
            message,
            condition: None,
            admits: None,
            allowed: None,
            witness: None,
        }
    }

    fn condition(mut self, condition: String) -> Partial {
        self.condition = Some(condition);
        self
    }

    fn with(self, rule: Rule) -> (Rule, Partial) {
        (rule, self)
    }
}

/// What makes an Allow statement's principal or action too wide.
fn principal_wide(s: &Statement) -> Option<String> {
    if s.principals.everyone {
        return Some("every principal (\"*\")".to_owned());
    }
    if let Some(f) = s.principals.federated.iter().find(|f| f.contains('*')) {
        return Some(format!("the wildcard Federated principal {f:?}"));
    }
    match &s.actions {
        Actions::NotAction(list) => Some(format!("NotAction {list:?}: every other action")),
        Actions::Action(list) => list
            .iter()
            .find(|a| a.as_str() == "*" || a.eq_ignore_ascii_case("sts:*"))
            .map(|a| format!("Action {a:?}")),
    }
}
