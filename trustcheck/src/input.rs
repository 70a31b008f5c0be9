//! The files the AWS CLI prints, and the policy's settings, read offline.
//! Every bad input is an [`InputError`] naming the file and the JSON path.

use std::collections::BTreeMap;
use std::fmt;

use irsa_policy::allowlist::PatternList;
use irsa_policy::arn::RoleArn;
use irsa_policy::settings::{self, RawSettings, Settings};
use serde_json::Value;

use crate::policy::{self, TrustPolicy};

/// The largest input file read: `aws iam list-roles` prints about 2 KB a
/// role, so this holds tens of thousands of roles.
pub const MAX_FILE_BYTES: u64 = 128 * 1024 * 1024;

/// The largest trust policy read, as compact JSON.
pub const MAX_POLICY_BYTES: usize = 8192;

/// A bad input: which file, where in it, what is wrong. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// A JSON path (`Roles[3].AssumeRolePolicyDocument`), or empty.
    pub path: String,
    pub message: String,
}

impl InputError {
    pub fn new(file: &str, path: &str, message: &str) -> InputError {
        InputError {
            file: file.to_owned(),
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: at {}: {}", self.file, self.path, self.message)
        }
    }
}

/// The text of `file`, refusing files over [`MAX_FILE_BYTES`].
pub fn read(file: &str) -> Result<String, InputError> {
    let meta = std::fs::metadata(file).map_err(|e| InputError::new(file, "", &e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(InputError::new(
            file,
            "",
            &format!(
                "{} bytes is over the {} MiB limit: split it (aws iam list-roles --max-items, --starting-token)",
                meta.len(),
                MAX_FILE_BYTES / 1024 / 1024
            ),
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| InputError::new(file, "", &e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| InputError::new(file, "", &format!("not UTF-8: {e}")))
}

/// A JSON document.
pub fn json(file: &str, text: &str) -> Result<Value, InputError> {
    serde_json::from_str(text).map_err(|e| {
        InputError::new(
            file,
            "",
            &format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn field<'a>(v: &'a Value, name: &str, path: &str, file: &str) -> Result<&'a Value, InputError> {
    v.get(name)
        .ok_or_else(|| InputError::new(file, path, &format!("missing field {name:?}")))
}

fn string<'a>(v: &'a Value, name: &str, path: &str, file: &str) -> Result<&'a str, InputError> {
    field(v, name, path, file)?
        .as_str()
        .ok_or_else(|| InputError::new(file, &format!("{path}.{name}"), "expected a string"))
}

/// The settings, their `allowedRoles` map, and the file they came from.
pub struct LoadedSettings {
    pub settings: Settings,
    pub allowed_roles: Option<BTreeMap<String, PatternList>>,
}

/// Reads settings YAML or JSON, or the `spec.settings` of a
/// ClusterAdmissionPolicy or AdmissionPolicy manifest. Errors in the
/// settings themselves are reported exactly as `validate_settings` reports
/// them.
pub fn settings(file: &str) -> Result<LoadedSettings, InputError> {
    let text = read(file)?;
    let mut documents = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e| InputError::new(file, "", &format!("not valid YAML or JSON: {e}")))?;
        documents.push(value);
    }
    let is_policy = |v: &Value| {
        v.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| matches!(k, "ClusterAdmissionPolicy" | "AdmissionPolicy"))
    };
    let policies: Vec<&Value> = documents.iter().filter(|v| is_policy(v)).collect();
    let settings_value = match (policies.as_slice(), documents.as_slice()) {
        ([one], _) => one
            .get("spec")
            .and_then(|s| s.get("settings"))
            .cloned()
            .unwrap_or(Value::Null),
        ([], [one]) => one.clone(),
        ([], []) => Value::Null,
        ([], _) => {
            return Err(InputError::new(
                file,
                "",
                "several YAML documents and none is a ClusterAdmissionPolicy or AdmissionPolicy",
            ));
        }
        (many, _) => {
            return Err(InputError::new(
                file,
                "",
                &format!("{} policies in one file: give the one to check", many.len()),
            ));
        }
    };
    let bytes = serde_json::to_vec(&settings_value)
        .map_err(|e| InputError::new(file, "spec.settings", &e.to_string()))?;
    let settings = settings::parse_bytes(&bytes).map_err(|m| InputError::new(file, "", &m))?;
    // Valid settings: this reads what the policy read.
    let raw: RawSettings = serde_json::from_value(settings_value)
        .map_err(|e| InputError::new(file, "", &format!("settings: {e}")))?;
    let allowed_roles = match raw.allowed_roles {
        Some(doc) => Some(
            serde_json::from_str(doc.0.get())
                .map_err(|e| InputError::new(file, "allowedRoles", &e.to_string()))?,
        ),
        None => None,
    };
    Ok(LoadedSettings {
        settings,
        allowed_roles,
    })
}

/// One EKS cluster, from `aws eks describe-cluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub file: String,
    pub name: String,
    pub arn: String,
    /// The issuer without `https://`: the condition keys' prefix.
    pub prefix: String,
    /// `<prefix>:` in lowercase, as condition keys are compared.
    pub key_prefix: String,
    /// `arn:<partition>:iam::<account>:oidc-provider/<prefix>`.
    pub provider_arn: String,
}

pub fn cluster(file: &str) -> Result<Cluster, InputError> {
    let doc = json(file, &read(file)?)?;
    let c = field(&doc, "cluster", "", file)?;
    let name = string(c, "name", "cluster", file)?.to_owned();
    let arn = string(c, "arn", "cluster", file)?.to_owned();
    let issuer = c
        .get("identity")
        .and_then(|i| i.get("oidc"))
        .and_then(|o| o.get("issuer"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            InputError::new(
                file,
                "cluster.identity.oidc.issuer",
                "missing: the cluster has no OIDC issuer",
            )
        })?;
    let prefix = issuer
        .strip_prefix("https://")
        .ok_or_else(|| {
            InputError::new(
                file,
                "cluster.identity.oidc.issuer",
                "does not start with https://",
            )
        })?
        .to_owned();
    let parts: Vec<&str> = arn.split(':').collect();
    let (Some(partition), Some(account)) = (parts.get(1), parts.get(4)) else {
        return Err(InputError::new(
            file,
            "cluster.arn",
            "not an EKS cluster ARN",
        ));
    };
    if parts.first() != Some(&"arn") || parts.get(2) != Some(&"eks") {
        return Err(InputError::new(
            file,
            "cluster.arn",
            "not an EKS cluster ARN",
        ));
    }
    let provider_arn = format!("arn:{partition}:iam::{account}:oidc-provider/{prefix}");
    Ok(Cluster {
        file: file.to_owned(),
        name,
        arn,
        key_prefix: format!("{}:", prefix.to_ascii_lowercase()),
        prefix,
        provider_arn,
    })
}

/// One role and its trust policy.
#[derive(Debug, Clone)]
pub struct Role {
    pub file: String,
    /// JSON path of the role in its file.
    pub path: String,
    pub arn: RoleArn,
    pub trust: TrustPolicy,
}

/// Roles from `aws iam get-role` (`{"Role": {...}}`) or `aws iam
/// list-roles` (`{"Roles": [...]}`) output.
pub fn roles(file: &str) -> Result<Vec<Role>, InputError> {
    let doc = json(file, &read(file)?)?;
    let entries: Vec<(String, &Value)> = match (doc.get("Role"), doc.get("Roles")) {
        (Some(one), None) => vec![("Role".to_owned(), one)],
        (None, Some(Value::Array(many))) => many
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("Roles[{i}]"), r))
            .collect(),
        _ => {
            return Err(InputError::new(
                file,
                "",
                "expected `aws iam get-role` ({\"Role\": ...}) or `aws iam list-roles` ({\"Roles\": [...]}) output",
            ));
        }
    };
    entries
        .into_iter()
        .map(|(path, r)| {
            let arn_text = string(r, "Arn", &path, file)?;
            let arn = RoleArn::parse(arn_text).map_err(|e| {
                InputError::new(file, &format!("{path}.Arn"), &format!("{arn_text:?}: {e}"))
            })?;
            let doc_path = format!("{path}.AssumeRolePolicyDocument");
            let document = field(r, "AssumeRolePolicyDocument", &path, file)?;
            let decoded;
            let document = match document {
                Value::String(encoded) => {
                    decoded = decode_document(encoded, &doc_path, file)?;
                    &decoded
                }
                other => other,
            };
            // IAM caps a trust policy at 4,096 characters (without white
            // space); twice that in compact JSON leaves room for escapes
            // and bounds the automata built from it.
            let size = serde_json::to_string(document).map_or(0, |t| t.len());
            if size > MAX_POLICY_BYTES {
                return Err(InputError::new(
                    file,
                    &doc_path,
                    &format!(
                        "the policy document is {size} bytes, more than IAM allows a trust policy (4,096 characters)"
                    ),
                ));
            }
            let trust = policy::parse(document, &doc_path, file)?;
            Ok(Role {
                file: file.to_owned(),
                path,
                arn,
                trust,
            })
        })
        .collect()
}

/// A policy document as the IAM API returns it: URL-encoded (RFC 3986)
/// JSON. Plain JSON text is accepted too.
fn decode_document(encoded: &str, path: &str, file: &str) -> Result<Value, InputError> {
    let text = if encoded.trim_start().starts_with('{') {
        encoded.to_owned()
    } else {
        percent_decode(encoded).map_err(|m| InputError::new(file, path, &m))?
    };
    serde_json::from_str(&text).map_err(|e| {
        InputError::new(
            file,
            path,
            &format!("the decoded policy document is not valid JSON: {e}"),
        )
    })
}

/// Decodes `%XX` escapes; the result must be UTF-8.
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    format!("the URL-encoded policy document has a bad escape at byte {i}")
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| "the URL-encoded policy document does not decode to UTF-8".to_owned())
}

/// One association, from `aws eks describe-pod-identity-association`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub file: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub disable_session_tags: bool,
    pub cluster_name: Option<String>,
}

pub fn association(file: &str) -> Result<Association, InputError> {
    let doc = json(file, &read(file)?)?;
    if doc.get("associations").is_some() {
        return Err(InputError::new(
            file,
            "associations",
            "this is `list-pod-identity-associations` output, which names no role: run `aws eks describe-pod-identity-association` for each association",
        ));
    }
    let a = field(&doc, "association", "", file)?;
    let at = "association";
    let target_role_arn = match a.get("targetRoleArn") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(InputError::new(
                file,
                "association.targetRoleArn",
                "expected a string",
            ));
        }
    };
    let disable_session_tags = match a.get("disableSessionTags") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(InputError::new(
                file,
                "association.disableSessionTags",
                "expected true or false",
            ));
        }
    };
    Ok(Association {
        file: file.to_owned(),
        namespace: string(a, "namespace", at, file)?.to_owned(),
        service_account: string(a, "serviceAccount", at, file)?.to_owned(),
        role_arn: string(a, "roleArn", at, file)?.to_owned(),
        target_role_arn,
        disable_session_tags,
        cluster_name: a
            .get("clusterName")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_documents_are_refused() {
        let dir = std::env::temp_dir().join(format!("trustcheck-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("big.json");
        let value = "a".repeat(MAX_POLICY_BYTES);
        let doc = serde_json::json!({"Role": {"Arn": "arn:aws:iam::111122223333:role/x",
            "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow", "Principal": "*",
                "Action": "sts:AssumeRole", "Condition": {"StringLike": {"k": value}}}}}});
        std::fs::write(&file, doc.to_string()).unwrap();
        let e = roles(&file.to_string_lossy()).unwrap_err();
        assert_eq!(e.path, "Role.AssumeRolePolicyDocument");
        assert!(e.message.contains("more than IAM allows"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("trustcheck-huge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("roles.json");
        // Sparse: nothing is written.
        std::fs::File::create(&file)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let name = file.to_string_lossy().into_owned();
        let e = roles(&name).unwrap_err();
        assert_eq!(e.file, name);
        assert!(e.message.contains("over the 128 MiB limit"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D").unwrap(), "{\"a\":1}");
        assert!(percent_decode("%7").is_err());
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%ff").is_err());
    }
}
