//! The rules, their ids and severities, and the findings they produce.

use std::fmt;

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        Some(match text {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rules of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    IrsaNoSub,
    IrsaSubSpan,
    IrsaAud,
    OpUnsound,
    PrincipalWide,
    PiNoNsTag,
    PiNsSpan,
    AssocDenied,
    AssocDrift,
    AssocTagsOff,
    UnknownRole,
}

impl Rule {
    pub const ALL: [Rule; 11] = [
        Rule::IrsaNoSub,
        Rule::IrsaSubSpan,
        Rule::IrsaAud,
        Rule::OpUnsound,
        Rule::PrincipalWide,
        Rule::PiNoNsTag,
        Rule::PiNsSpan,
        Rule::AssocDenied,
        Rule::AssocDrift,
        Rule::AssocTagsOff,
        Rule::UnknownRole,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::IrsaNoSub => "IRSA-NO-SUB",
            Rule::IrsaSubSpan => "IRSA-SUB-SPAN",
            Rule::IrsaAud => "IRSA-AUD",
            Rule::OpUnsound => "OP-UNSOUND",
            Rule::PrincipalWide => "PRINCIPAL-WIDE",
            Rule::PiNoNsTag => "PI-NO-NS-TAG",
            Rule::PiNsSpan => "PI-NS-SPAN",
            Rule::AssocDenied => "ASSOC-DENIED",
            Rule::AssocDrift => "ASSOC-DRIFT",
            Rule::AssocTagsOff => "ASSOC-TAGS-OFF",
            Rule::UnknownRole => "UNKNOWN-ROLE",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::IrsaNoSub
            | Rule::IrsaSubSpan
            | Rule::PrincipalWide
            | Rule::PiNsSpan
            | Rule::AssocDenied => Severity::Critical,
            Rule::IrsaAud
            | Rule::OpUnsound
            | Rule::PiNoNsTag
            | Rule::AssocDrift
            | Rule::UnknownRole => Severity::High,
            Rule::AssocTagsOff => Severity::Info,
        }
    }

    /// One line on what the rule finds.
    pub fn description(self) -> &'static str {
        match self {
            Rule::IrsaNoSub => {
                "an Allow trusts the cluster's OIDC provider for sts:AssumeRoleWithWebIdentity with no :sub condition"
            }
            Rule::IrsaSubSpan => {
                "the namespaces the :sub condition admits are not all allowed this role by allowedRoles"
            }
            Rule::IrsaAud => {
                "no :aud condition, or audiences other than the ones STS is configured to accept"
            }
            Rule::OpUnsound => {
                "ForAllValues:/ForAnyValue: or ...IfExists on sub, aud or the namespace tag, or a negated operator as the only bound"
            }
            Rule::PrincipalWide => {
                "Principal \"*\", {\"AWS\": \"*\"}, a wildcard Federated principal, or Action \"*\", \"sts:*\" or NotAction on an Allow"
            }
            Rule::PiNoNsTag => {
                "pods.eks.amazonaws.com is trusted without a condition on aws:RequestTag/kubernetes-namespace (and, with several clusters, eks-cluster-arn)"
            }
            Rule::PiNsSpan => {
                "the namespace tag values admitted are not all allowed this role by allowedRoles"
            }
            Rule::AssocDenied => {
                "a Pod Identity association's roleArn or targetRoleArn is not allowed for its namespace"
            }
            Rule::AssocDrift => {
                "an association exists in EKS but not in podIdentity.associations, or the reverse"
            }
            Rule::AssocTagsOff => {
                "disableSessionTags is true while the role's trust requires session tags"
            }
            Rule::UnknownRole => {
                "allowedRoles allows a role that none of the --roles files holds: the check is incomplete"
            }
        }
    }
}

/// One finding: a rule broken by one role's statement, one association or
/// one allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    /// The role ARN, the association (`namespace/serviceAccount`), or the
    /// role an allow-list entry names.
    pub subject: String,
    pub file: String,
    /// JSON path of the statement or object in `file`.
    pub path: String,
    pub statement: Option<usize>,
    /// The condition (or element) as written.
    pub condition: Option<String>,
    /// What the trust policy admits.
    pub admits: Option<String>,
    /// What the allow-list allows.
    pub allowed: Option<String>,
    /// A shortest namespace that is admitted and not allowed.
    pub witness: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn new(rule: Rule, subject: &str, file: &str, path: &str, message: String) -> Finding {
        Finding {
            rule,
            subject: subject.to_owned(),
            file: file.to_owned(),
            path: path.to_owned(),
            statement: None,
            condition: None,
            admits: None,
            allowed: None,
            witness: None,
            message,
        }
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// The details a person fixes the policy from, those present.
    pub fn details(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("condition", &self.condition),
            ("admits", &self.admits),
            ("allowed", &self.allowed),
            ("witness", &self.witness),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.as_deref().map(|v| (label, v)))
    }
}
