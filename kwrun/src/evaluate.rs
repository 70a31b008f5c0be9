//! One evaluation as `kwctl run` performs it: read the request, build the
//! `validate` payload, and turn the policy's answer into kwctl's
//! AdmissionResponse (with the JSON patch computed as policy-server does).

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// policy-evaluator's `AdmissionRequest`: the fields kwctl requires, and the
/// optional ones it passes through. Unknown fields are dropped, as there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub resource: GroupVersionResource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub operation: String,
    pub user_info: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupVersionResource {
    pub group: String,
    pub version: String,
    pub resource: String,
}

/// Reads a request file (or `-` for stdin): an AdmissionReview, whose
/// `request` is used, or a bare AdmissionRequest. JSON only, as kwctl.
pub fn read_request(path: &str) -> Result<AdmissionRequest> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("Error reading request from stdin")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("Error opening request file {path}"))?
    };
    parse_request(&text)
}

pub fn parse_request(text: &str) -> Result<AdmissionRequest> {
    let value: Value = serde_json::from_str(text)?;
    let Value::Object(mut object) = value else {
        return Err(anyhow!("Invalid request object"));
    };
    let request = if object.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        object
            .remove("request")
            .ok_or_else(|| anyhow!("invalid AdmissionReview object"))?
    } else {
        Value::Object(object)
    };
    let mut request: AdmissionRequest = serde_json::from_value(request)
        .map_err(|e| anyhow!("cannot build AdmissionRequest object from given input: {e}"))?;
    // A JSON null object is "no object", as in policy-evaluator.
    request.object = request.object.filter(|o| !o.is_null());
    request.old_object = request.old_object.filter(|o| !o.is_null());
    Ok(request)
}

/// Reads settings: `--settings-path` (YAML or JSON) wins over
/// `--settings-json`; none or `null` means `{}`.
pub fn read_settings(path: Option<&str>, json: Option<&str>) -> Result<Value> {
    let value: Value = match (path, json) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("Cannot open settings file {p}"))?;
            serde_yaml::from_str(&text)
                .with_context(|| format!("Cannot parse settings file {p}"))?
        }
        (None, Some(j)) => serde_json::from_str(j).context("Cannot parse settings JSON")?,
        (None, None) => Value::Null,
    };
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        _ => Err(anyhow!("Invalid settings in CRD, not an object")),
    }
}

/// The `validate` payload: `{"request": ..., "settings": ...}`.
pub fn validate_payload(request: &AdmissionRequest, settings: &Value) -> Result<Vec<u8>> {
    let payload = serde_json::json!({"request": request, "settings": settings});
    Ok(serde_json::to_vec(&payload)?)
}

/// The guest's answer (kubewarden-policy-sdk `ValidationResponse`).
#[derive(Debug, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub mutated_object: Option<Value>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

/// kwctl's output line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    /// policy-evaluator's `reject_internal_server_error`.
    pub fn internal_error(uid: &str, message: &str) -> Self {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status {
                message: Some(format!("internal server error: {message}")),
                code: Some(500),
            }),
            audit_annotations: None,
            warnings: None,
        }
    }

    /// Builds the response for the raw bytes `validate` returned.
    pub fn from_guest(request: &AdmissionRequest, raw: &[u8]) -> Self {
        let uid = &request.uid;
        let response: ValidationResponse = match serde_json::from_slice(raw) {
            Ok(r) => r,
            Err(e) => {
                return Self::internal_error(uid, &format!("invalid response from policy: {e}"));
            }
        };
        if response.mutated_object.is_some() && request.object.is_none() {
            return AdmissionResponse {
                uid: uid.clone(),
                allowed: false,
                patch_type: None,
                patch: None,
                status: Some(Status {
                    message: Some("Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed".to_owned()),
                    code: None,
                }),
                audit_annotations: None,
                warnings: None,
            };
        }
        let patch = match (&request.object, &response.mutated_object) {
            (Some(original), Some(mutated)) => {
                let diff = json_patch::diff(original, mutated);
                if diff.0.is_empty() {
                    None
                } else {
                    match serde_json::to_string(&diff) {
                        Ok(json) => Some(base64::engine::general_purpose::STANDARD.encode(json)),
                        Err(e) => {
                            return Self::internal_error(
                                uid,
                                &format!(
                                    "invalid response format: cannot deserialize JSONPatch: {e}"
                                ),
                            );
                        }
                    }
                }
            }
            _ => None,
        };
        let status = (response.message.is_some() || response.code.is_some()).then_some(Status {
            message: response.message,
            code: response.code,
        });
        AdmissionResponse {
            uid: uid.clone(),
            allowed: response.accepted,
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_owned()),
            patch,
            status,
            audit_annotations: response.audit_annotations,
            warnings: response.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REQUEST: &str = r#"{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},
        "resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE",
        "userInfo":{"username":"me"},"namespace":"ns","object":{"a":1},"extra":"dropped"}"#;

    #[test]
    fn bare_requests_and_reviews_are_both_read() {
        let bare = parse_request(REQUEST).unwrap();
        assert_eq!(bare.uid, "u1");
        let review = format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{REQUEST}}}"#
        );
        let from_review = parse_request(&review).unwrap();
        assert_eq!(from_review.namespace.as_deref(), Some("ns"));
        assert!(
            parse_request(r#"{"kind":"AdmissionReview"}"#)
                .unwrap_err()
                .to_string()
                .contains("invalid AdmissionReview")
        );
        assert!(
            parse_request("[1]")
                .unwrap_err()
                .to_string()
                .contains("Invalid request object")
        );
        assert!(
            parse_request(r#"{"uid":"x"}"#)
                .unwrap_err()
                .to_string()
                .contains("cannot build AdmissionRequest")
        );
    }

    #[test]
    fn payload_has_request_and_settings_and_drops_unknown_fields() {
        let req = parse_request(REQUEST).unwrap();
        let payload: Value =
            serde_json::from_slice(&validate_payload(&req, &json!({"x": 1})).unwrap()).unwrap();
        assert_eq!(payload["settings"], json!({"x": 1}));
        assert_eq!(payload["request"]["userInfo"]["username"], "me");
        assert!(payload["request"].get("extra").is_none());
        assert!(payload["request"].get("oldObject").is_none());
    }

    #[test]
    fn patch_is_the_base64_diff_of_the_mutation() {
        let req = parse_request(REQUEST).unwrap();
        let raw = br#"{"accepted":true,"mutated_object":{"a":1,"b":2},"warnings":["w"]}"#;
        let resp = AdmissionResponse::from_guest(&req, raw);
        assert!(resp.allowed);
        assert_eq!(resp.patch_type.as_deref(), Some("JSONPatch"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(resp.patch.unwrap())
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&decoded).unwrap(),
            json!([{"op": "add", "path": "/b", "value": 2}])
        );
        assert_eq!(resp.warnings, Some(vec!["w".to_owned()]));
        assert!(resp.status.is_none());
    }

    #[test]
    fn unchanged_mutation_has_no_patch_and_rejections_carry_status() {
        let req = parse_request(REQUEST).unwrap();
        let resp =
            AdmissionResponse::from_guest(&req, br#"{"accepted":true,"mutated_object":{"a":1}}"#);
        assert!(resp.patch.is_none() && resp.patch_type.is_none());
        let resp =
            AdmissionResponse::from_guest(&req, br#"{"accepted":false,"message":"no","code":403}"#);
        assert_eq!(
            resp.status,
            Some(Status {
                message: Some("no".into()),
                code: Some(403)
            })
        );
        let line = serde_json::to_string(&resp).unwrap();
        assert_eq!(
            line,
            r#"{"uid":"u1","allowed":false,"status":{"message":"no","code":403},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn broken_answers_become_internal_errors() {
        let req = parse_request(REQUEST).unwrap();
        let resp = AdmissionResponse::from_guest(&req, b"nope");
        assert!(
            resp.status
                .unwrap()
                .message
                .unwrap()
                .starts_with("internal server error: invalid response from policy")
        );
        let mut delete = req.clone();
        delete.object = None;
        let resp =
            AdmissionResponse::from_guest(&delete, br#"{"accepted":true,"mutated_object":{}}"#);
        assert!(!resp.allowed);
    }

    #[test]
    fn settings_sources_and_defaults() {
        assert_eq!(read_settings(None, None).unwrap(), json!({}));
        assert_eq!(read_settings(None, Some("null")).unwrap(), json!({}));
        assert_eq!(
            read_settings(None, Some(r#"{"a":1}"#)).unwrap(),
            json!({"a": 1})
        );
        assert!(read_settings(None, Some("[1]")).is_err());
    }
}
