//! The three output formats. The JSON schema is documented in
//! docs/trustcheck.md and versioned by its `schema` field.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::rules::{Finding, Rule, Severity};

/// One checked role.
#[derive(Debug, Clone)]
pub struct CheckedRole {
    pub arn: String,
    pub file: String,
    pub path: String,
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct Report {
    pub roles: Vec<CheckedRole>,
    pub findings: Vec<Finding>,
    pub fail_on: Severity,
    pub exit_code: i32,
    pub incomplete: bool,
}

impl Report {
    /// The findings of each subject, in order.
    fn by_subject(&self) -> HashMap<&str, Vec<&Finding>> {
        let mut map: HashMap<&str, Vec<&Finding>> = HashMap::new();
        for f in &self.findings {
            map.entry(f.subject.as_str()).or_default().push(f);
        }
        map
    }

    fn verdict(&self, findings: Option<&Vec<&Finding>>) -> &'static str {
        let worst = findings.and_then(|fs| fs.iter().map(|f| f.severity()).max());
        match worst {
            None => "pass",
            Some(s) if s >= self.fail_on => "fail",
            Some(_) => "warn",
        }
    }

    fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .map(|&s| {
                (
                    s,
                    self.findings.iter().filter(|f| f.severity() == s).count(),
                )
            })
            .collect()
    }

    /// `--format text`: per role the verdict, then each finding.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let print = |out: &mut String, f: &Finding| {
            let statement = f
                .statement
                .map(|i| format!(" statement {i}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} [{}]{statement} ({}): {}",
                f.rule.id(),
                f.severity(),
                f.path,
                f.message
            );
            for (label, value) in f.details() {
                let _ = writeln!(out, "    {label:<9} {value}");
            }
        };
        let by_subject = self.by_subject();
        for role in &self.roles {
            let mine = by_subject.get(role.arn.as_str());
            let verdict = self.verdict(mine).to_ascii_uppercase();
            let _ = writeln!(out, "{verdict} {} ({} {})", role.arn, role.file, role.path);
            for f in mine.into_iter().flatten().filter(|f| f.statement.is_some()) {
                print(&mut out, f);
            }
        }
        let others: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.statement.is_none())
            .collect();
        let mut subjects: Vec<&str> = Vec::new();
        for f in &others {
            if !subjects.contains(&f.subject.as_str()) {
                subjects.push(&f.subject);
            }
        }
        for subject in subjects {
            let unknown = others
                .iter()
                .any(|f| f.subject == subject && f.rule == Rule::UnknownRole);
            if unknown {
                let _ = writeln!(out, "UNCHECKED role {subject}");
            } else {
                let verdict = self.verdict(by_subject.get(subject)).to_ascii_uppercase();
                let _ = writeln!(out, "{verdict} association {subject}");
            }
            for f in others.iter().filter(|f| f.subject == subject) {
                print(&mut out, f);
            }
        }
        let counts: Vec<String> = self
            .counts()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = writeln!(
            out,
            "{} roles checked, {} findings{}{}",
            self.roles.len(),
            self.findings.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            },
            if self.incomplete {
                "; incomplete: allowedRoles names roles that --roles does not hold"
            } else {
                ""
            }
        );
        out
    }

    fn finding_json(f: &Finding) -> Value {
        json!({
            "rule": f.rule.id(),
            "severity": f.severity().as_str(),
            "subject": f.subject,
            "file": f.file,
            "path": f.path,
            "statement": f.statement,
            "condition": f.condition,
            "admits": f.admits,
            "allowed": f.allowed,
            "witness": f.witness,
            "message": f.message,
        })
    }

    /// `--format json`.
    pub fn json(&self) -> Value {
        let by_subject = self.by_subject();
        let mut by_severity = serde_json::Map::new();
        for (s, n) in self.counts() {
            by_severity.insert(s.as_str().to_owned(), json!(n));
        }
        json!({
            "schema": "irsa-trustcheck/v1",
            "failOn": self.fail_on.as_str(),
            "exitCode": self.exit_code,
            "incomplete": self.incomplete,
            "summary": {
                "roles": self.roles.len(),
                "findings": self.findings.len(),
                "bySeverity": by_severity,
            },
            "roles": self.roles.iter().map(|r| json!({
                "arn": r.arn,
                "file": r.file,
                "path": r.path,
                "verdict": self.verdict(by_subject.get(r.arn.as_str())),
            })).collect::<Vec<_>>(),
            "findings": self.findings.iter().map(Report::finding_json).collect::<Vec<_>>(),
        })
    }

    /// `--format sarif`: SARIF 2.1.0.
    pub fn sarif(&self) -> Value {
        let level = |s: Severity| match s {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        };
        // GitHub code scanning reads `security-severity` (0.0 to 10.0).
        let score = |s: Severity| match s {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.0",
            Severity::Low => "3.0",
            Severity::Info => "0.0",
        };
        let rules: Vec<Value> = Rule::ALL
            .iter()
            .map(|r| {
                json!({
                    "id": r.id(),
                    "name": r.id(),
                    "shortDescription": {"text": r.description()},
                    "defaultConfiguration": {"level": level(r.severity())},
                    "properties": {"security-severity": score(r.severity()), "tags": ["security", "iam"]},
                })
            })
            .collect();
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut text = f.message.clone();
                for (label, value) in f.details() {
                    text.push_str(&format!("\n{label}: {value}"));
                }
                json!({
                    "ruleId": f.rule.id(),
                    "ruleIndex": Rule::ALL.iter().position(|r| *r == f.rule),
                    "level": level(f.severity()),
                    "message": {"text": text},
                    "locations": [{
                        "physicalLocation": {"artifactLocation": {"uri": f.file}},
                        "logicalLocations": [{"fullyQualifiedName": format!("{}#{}", f.subject, f.path), "kind": "object"}],
                    }],
                    "partialFingerprints": {"irsaTrustcheck/v1": format!("{}|{}|{}", f.rule.id(), f.subject, f.path)},
                })
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "irsa-trustcheck",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        })
    }
}
