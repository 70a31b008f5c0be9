//! Kubewarden policy metadata: the `io.kubewarden.metadata` custom section
//! that `kwctl annotate` embeds, with the same field names, defaults and
//! validation rules as policy-evaluator's `Metadata`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

/// Name of the custom section holding the metadata JSON.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";
/// Annotation that carries the README (`kwctl annotate -u`).
pub const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";
pub const AUTHOR_ANNOTATION: &str = "io.kubewarden.policy.author";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub protocol_version: Option<String>,
    pub rules: Vec<Rule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    pub mutating: bool,
    #[serde(default = "default_true")]
    pub background_audit: bool,
    #[serde(default = "default_execution_mode")]
    pub execution_mode: String,
    #[serde(default = "default_policy_type")]
    pub policy_type: String,
    #[serde(default)]
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<BTreeSet<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_execution_mode() -> String {
    "kubewarden-wapc".to_owned()
}
fn default_policy_type() -> String {
    "kubernetes".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

impl Metadata {
    /// Parses `metadata.yml`.
    pub fn from_yaml(text: &str) -> Result<Metadata> {
        serde_yaml::from_str(text).map_err(|e| anyhow!("Error unmarshalling metadata {e}"))
    }

    /// The rules kwctl/policy-evaluator apply, plus the author format that
    /// `kwctl scaffold artifacthub` requires. All problems are listed.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        match self.protocol_version.as_deref() {
            None => errors.push("protocolVersion: required".to_owned()),
            Some("Unknown") if self.execution_mode == "kubewarden-wapc" => {
                errors.push("protocolVersion: Must specify a valid protocol version".to_owned())
            }
            _ => {}
        }
        if !["kubewarden-wapc", "opa", "gatekeeper", "wasi"].contains(&self.execution_mode.as_str())
        {
            errors.push(format!(
                "executionMode: unknown mode {:?}",
                self.execution_mode
            ));
        }
        if !["kubernetes", "raw"].contains(&self.policy_type.as_str()) {
            errors.push(format!("policyType: unknown type {:?}", self.policy_type));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let lists = [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("resources", &rule.resources),
                ("operations", &rule.operations),
            ];
            for (name, list) in lists {
                if list.is_empty() {
                    errors.push(format!("rules[{i}].{name}: must not be empty"));
                }
            }
            for (name, list) in [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("operations", &rule.operations),
            ] {
                if list.len() > 1 && list.iter().any(|v| v == "*") {
                    errors.push(format!(
                        "rules[{i}].{name}: No other elements can be defined when '*' is used"
                    ));
                }
            }
            for op in &rule.operations {
                if !OPERATIONS.contains(&op.as_str()) {
                    errors.push(format!("rules[{i}].operations: unknown operation {op:?}"));
                }
            }
            if let Err(e) = validate_resources(&rule.resources) {
                errors.push(format!("rules[{i}].resources: {e}"));
            }
        }
        for r in &self.context_aware_resources {
            if r.api_version.is_empty() || r.kind.is_empty() {
                errors.push(format!(
                    "contextAwareResources: {r:?} needs both apiVersion and kind"
                ));
            }
        }
        if let Some(author) = self
            .annotations
            .as_ref()
            .and_then(|a| a.get(AUTHOR_ANNOTATION))
            && let Err(e) = validate_authors(author)
        {
            errors.push(format!("annotations.{AUTHOR_ANNOTATION}: {e}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("Metadata is invalid: {}", errors.join("; ")))
        }
    }
}

/// The API server's webhook rule checks for `resources` (what
/// policy-evaluator ports).
fn validate_resources(resources: &[String]) -> Result<(), String> {
    let mut resources_with_wildcard_sub = BTreeSet::new();
    let mut subresources_with_wildcard_resource = BTreeSet::new();
    let mut has_double_wildcard = false;
    let mut has_single_wildcard = false;
    for r in resources {
        if r.is_empty() {
            return Err("empty resource is not allowed".to_owned());
        }
        match r.as_str() {
            "*/*" => has_double_wildcard = true,
            "*" => has_single_wildcard = true,
            _ => {}
        }
        let (res, sub) = match r.split_once('/') {
            Some((res, sub)) => (res, Some(sub)),
            None => (r.as_str(), None),
        };
        if let Some(sub) = sub {
            if sub == "*" {
                resources_with_wildcard_sub.insert(res.to_owned());
            }
            if res == "*" {
                subresources_with_wildcard_resource.insert(sub.to_owned());
            }
        }
    }
    if has_double_wildcard && resources.len() > 1 {
        return Err("if '*/*' is present, must not specify other resources".to_owned());
    }
    if has_single_wildcard && resources.iter().filter(|r| !r.contains('/')).count() > 1 {
        return Err(
            "if '*' is present, must not specify other resources without subresources".to_owned(),
        );
    }
    for r in resources {
        if let Some((res, sub)) = r.split_once('/') {
            if sub != "*" && resources_with_wildcard_sub.contains(res) {
                return Err(format!("if '{res}/*' is present, must not specify {r}"));
            }
            if res != "*" && subresources_with_wildcard_resource.contains(sub) {
                return Err(format!("if '*/{sub}' is present, must not specify {r}"));
            }
        }
    }
    Ok(())
}

/// `Name <email>[, Name <email>...]`, as `kwctl scaffold artifacthub` parses it.
fn validate_authors(value: &str) -> Result<(), String> {
    for author in value.split(',') {
        let author = author.trim();
        let ok = author
            .strip_suffix('>')
            .and_then(|a| a.split_once('<'))
            .is_some_and(|(name, email)| {
                !name.trim().is_empty()
                    && email.split_once('@').is_some_and(|(user, domain)| {
                        !user.is_empty()
                            && domain.contains('.')
                            && !email.contains(char::is_whitespace)
                    })
            });
        if !ok {
            return Err(format!("{author:?} is not of the form \"Name <email>\""));
        }
    }
    Ok(())
}

/// The metadata embedded in a module: the first `io.kubewarden.metadata`
/// custom section, as policy-evaluator reads it. `None` if unannotated.
pub fn read_from_module(wasm: &[u8]) -> Result<Option<Metadata>> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.context("cannot parse custom section of wasm module")?;
        if let wasmparser::Payload::CustomSection(reader) = payload
            && reader.name() == METADATA_SECTION
        {
            let metadata = serde_json::from_slice(reader.data()).with_context(|| {
                format!("cannot deserialize custom section `{METADATA_SECTION}` of wasm module")
            })?;
            return Ok(Some(metadata));
        }
    }
    Ok(None)
}

/// Re-emits `wasm` with `metadata` as its `io.kubewarden.metadata` section,
/// appended after every other section. Unlike kwctl, an existing metadata
/// section is replaced rather than kept in front of the new one (kwctl's
/// readers take the first, so re-annotating with kwctl silently keeps the
/// old metadata).
pub fn write_to_module(wasm: &[u8], metadata: &Metadata) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.context("Error parsing wasm module")?;
        if let wasmparser::Payload::CustomSection(reader) = &payload
            && reader.name() == METADATA_SECTION
        {
            continue;
        }
        if let wasmparser::Payload::Version { encoding, .. } = &payload
            && *encoding != wasmparser::Encoding::Module
        {
            return Err(anyhow!(
                "Error parsing wasm module: components are not supported"
            ));
        }
        if let Some((id, range)) = payload.as_section() {
            let data = wasm
                .get(range)
                .ok_or_else(|| anyhow!("Error parsing wasm module: section out of bounds"))?;
            module.section(&wasm_encoder::RawSection { id, data });
        }
    }
    let json = serde_json::to_vec(metadata)?;
    module.section(&wasm_encoder::CustomSection {
        name: METADATA_SECTION.into(),
        data: json.into(),
    });
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(yaml: &str) -> Metadata {
        Metadata::from_yaml(yaml).unwrap()
    }

    const GOOD: &str = r#"
rules:
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods"]
  operations: ["CREATE"]
mutating: true
contextAwareResources:
- apiVersion: v1
  kind: ServiceAccount
annotations:
  io.kubewarden.policy.author: "Jane Doe <jane@example.com>"
"#;

    #[test]
    fn defaults_and_validation_of_a_good_document() {
        let mut m = metadata(GOOD);
        assert!(m.background_audit);
        assert_eq!(m.execution_mode, "kubewarden-wapc");
        assert_eq!(m.policy_type, "kubernetes");
        assert!(
            m.validate()
                .unwrap_err()
                .to_string()
                .contains("protocolVersion: required")
        );
        m.protocol_version = Some("v1".into());
        m.validate().unwrap();
    }

    #[test]
    fn required_keys_fail_parsing() {
        let err = Metadata::from_yaml("rules: []").unwrap_err().to_string();
        assert!(err.contains("missing field `mutating`"), "{err}");
    }

    #[test]
    fn bad_documents_are_rejected_with_the_rule() {
        let cases = [
            (
                GOOD.replace("[\"pods\"]", "[]"),
                "rules[0].resources: must not be empty",
            ),
            (
                GOOD.replace("[\"\"]", "[\"\", \"*\"]"),
                "rules[0].apiGroups: No other elements",
            ),
            (
                GOOD.replace("[\"CREATE\"]", "[\"*\", \"CREATE\"]"),
                "rules[0].operations: No other elements",
            ),
            (
                GOOD.replace("[\"CREATE\"]", "[\"PATCH\"]"),
                "unknown operation \"PATCH\"",
            ),
            (
                GOOD.replace("[\"pods\"]", "[\"*/*\", \"pods\"]"),
                "if '*/*' is present",
            ),
            (
                GOOD.replace("[\"pods\"]", "[\"pods/*\", \"pods/log\"]"),
                "if 'pods/*' is present, must not specify pods/log",
            ),
            (
                GOOD.replace("kind: ServiceAccount", "kind: \"\""),
                "needs both apiVersion and kind",
            ),
            (
                GOOD.replace("Jane Doe <jane@example.com>", "jane@example.com"),
                "not of the form \"Name <email>\"",
            ),
            (
                GOOD.replace("Jane Doe <jane@example.com>", "Jane <nope>"),
                "not of the form",
            ),
        ];
        for (yaml, message) in cases {
            let mut m = metadata(&yaml);
            m.protocol_version = Some("v1".into());
            let err = m.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{message}: {err}");
        }
        let mut m = metadata(GOOD);
        m.protocol_version = Some("Unknown".into());
        assert!(
            m.validate()
                .unwrap_err()
                .to_string()
                .contains("valid protocol version")
        );
    }

    #[test]
    fn several_authors_are_accepted() {
        assert!(validate_authors("A B <a@example.com>, C <c@example.org>").is_ok());
    }

    #[test]
    fn section_round_trip_replaces_old_metadata() {
        let empty_module = wasm_encoder::Module::new().finish();
        let mut m = metadata(GOOD);
        m.protocol_version = Some("v1".into());
        let once = write_to_module(&empty_module, &m).unwrap();
        assert_eq!(read_from_module(&once).unwrap(), Some(m.clone()));
        m.mutating = false;
        let twice = write_to_module(&once, &m).unwrap();
        assert_eq!(read_from_module(&twice).unwrap(), Some(m));
        let sections = wasmparser::Parser::new(0)
            .parse_all(&twice)
            .filter(|p| matches!(p, Ok(wasmparser::Payload::CustomSection(r)) if r.name() == METADATA_SECTION))
            .count();
        assert_eq!(sections, 1);
        assert_eq!(read_from_module(&empty_module).unwrap(), None);
    }

    #[test]
    fn serialised_keys_follow_kwctl_order() {
        let mut m = metadata(GOOD);
        m.protocol_version = Some("v1".into());
        let json = serde_json::to_string(&m).unwrap();
        let order = [
            "protocolVersion",
            "rules",
            "annotations",
            "mutating",
            "backgroundAudit",
            "executionMode",
            "policyType",
            "contextAwareResources",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|k| json.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}
