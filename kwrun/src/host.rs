//! The host side of waPC calls a policy makes: logging, and the Kubernetes
//! capabilities answered from a kwctl replay session. Dispatch order,
//! access checks and error texts follow policy-evaluator's `host_callback`.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::metadata::ContextAwareResource;

/// One recorded host interaction, as kwctl writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub struct Exchange {
    /// YAML of a tagged [`CallbackRequest`], e.g. `!KubernetesGetResource ...`.
    pub request: String,
    pub response: ExchangeResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ExchangeResponse {
    /// `payload` is returned to the guest as is (raw JSON text).
    Success {
        payload: String,
    },
    Error {
        message: String,
    },
}

/// The Kubernetes requests a policy can make, with kwctl's variant and
/// field names (snake_case, every field compared). The field structs are
/// also what the guest sends, so a payload is its request as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackRequest {
    KubernetesGetResource(GetResource),
    KubernetesListResourceNamespace(ListResourceNamespace),
    KubernetesListResourceAll(ListResourceAll),
    KubernetesCanI {
        request: serde_json::Value,
        disable_cache: bool,
    },
}

/// `kubernetes/get_resource` (the SDK's `GetResourceRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetResource {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    disable_cache: bool,
    field_masks: Option<BTreeSet<String>>,
}

/// `kubernetes/list_resources_by_namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResourceNamespace {
    api_version: String,
    kind: String,
    namespace: String,
    label_selector: Option<String>,
    field_selector: Option<String>,
    field_masks: Option<BTreeSet<String>>,
}

/// `kubernetes/list_resources_all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResourceAll {
    api_version: String,
    kind: String,
    label_selector: Option<String>,
    field_selector: Option<String>,
    field_masks: Option<BTreeSet<String>>,
}

/// `kubernetes/can_i`: the guest's key differs from the recorded one.
#[derive(Deserialize)]
struct CanIPayload {
    subject_access_review: serde_json::Value,
    disable_cache: bool,
}

/// One exchange of a session, its request parsed once at load time.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub request: CallbackRequest,
    pub response: ExchangeResponse,
}

/// Reads a replay session file.
pub fn load_session(path: &std::path::Path) -> Result<Vec<Recorded>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Cannot open host capabilities interactions file {path:?}"))?;
    let exchanges: Vec<Exchange> = serde_yaml::from_str(&text)
        .with_context(|| format!("cannot deserialize contents of {path:?}"))?;
    exchanges
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let request = serde_yaml::from_str::<CallbackRequest>(&e.request).with_context(|| {
                format!("{path:?}: exchange {i}: Cannot deserialize recorded request into `CallbackRequestType`")
            })?;
            Ok(Recorded {
                request,
                response: e.response,
            })
        })
        .collect()
}

/// Host state shared with the waPC callback.
#[derive(Debug, Default)]
pub struct Host {
    /// Resources the policy may read (kwctl's context-aware allow list).
    pub allowed: BTreeSet<ContextAwareResource>,
    /// Remaining replay exchanges; `None` when no session was given.
    pub session: Option<Mutex<VecDeque<Recorded>>>,
    /// The whole session, for [`Host::rewind`].
    pub recorded: Vec<Recorded>,
    /// Host calls answered so far, for the end-of-run leftover check.
    pub calls: Mutex<usize>,
}

impl Host {
    /// The waPC host callback.
    pub fn callback(self: &Arc<Self>) -> Box<wapc::HostCallback> {
        let host = Arc::clone(self);
        Box::new(move |_id, binding, namespace, operation, payload| {
            host.dispatch(binding, namespace, operation, payload)
                .map_err(|e| e.to_string().into())
        })
    }

    /// Restarts the replay session from its first exchange (benchmarks
    /// evaluate the same request many times).
    pub fn rewind(&self) {
        if let Some(Ok(mut queue)) = self.session.as_ref().map(|s| s.lock()) {
            *queue = self.recorded.iter().cloned().collect();
        }
    }

    /// Exchanges left unconsumed in the session.
    pub fn leftovers(&self) -> usize {
        self.session
            .as_ref()
            .and_then(|s| s.lock().ok().map(|q| q.len()))
            .unwrap_or(0)
    }

    pub fn dispatch(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>> {
        if binding != "kubewarden" {
            return Err(anyhow!("unknown binding: {binding}"));
        }
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        let request = match (namespace, operation) {
            ("tracing", "log") => {
                log_guest_event(payload);
                return Ok(Vec::new());
            }
            ("kubernetes", "get_resource") => {
                let request: GetResource = serde_json::from_slice(payload)?;
                self.check_access(&request.api_version, &request.kind)?;
                CallbackRequest::KubernetesGetResource(request)
            }
            ("kubernetes", "list_resources_by_namespace") => {
                let request: ListResourceNamespace = serde_json::from_slice(payload)?;
                self.check_access(&request.api_version, &request.kind)?;
                CallbackRequest::KubernetesListResourceNamespace(request)
            }
            ("kubernetes", "list_resources_all") => {
                let request: ListResourceAll = serde_json::from_slice(payload)?;
                self.check_access(&request.api_version, &request.kind)?;
                CallbackRequest::KubernetesListResourceAll(request)
            }
            ("kubernetes", "can_i") => {
                let p: CanIPayload = serde_json::from_slice(payload)?;
                CallbackRequest::KubernetesCanI {
                    request: p.subject_access_review,
                    disable_cache: p.disable_cache,
                }
            }
            ("kubernetes", other) => return Err(anyhow!("unknown operation: {other}")),
            ("oci" | "net" | "crypto", _) => {
                return Err(anyhow!(
                    "Callback evaluation failure: kwrun does not implement the '{namespace}/{operation}' host capability"
                ));
            }
            (other, _) => return Err(anyhow!("unknown namespace: {other}")),
        };
        self.replay(request)
            .map_err(|e| anyhow!("Callback evaluation failure: {e}"))
    }

    fn check_access(&self, api_version: &str, kind: &str) -> Result<()> {
        let wanted = ContextAwareResource {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        };
        if self.allowed.contains(&wanted) {
            Ok(())
        } else {
            eprintln!(
                "kwrun: policy tried to access a Kubernetes resource it doesn't have access to: {api_version}/{kind}"
            );
            Err(anyhow!(
                "Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported."
            ))
        }
    }

    fn replay(&self, live: CallbackRequest) -> Result<Vec<u8>> {
        let Some(session) = &self.session else {
            return Err(anyhow!(
                "kwrun has no cluster connection: pass --replay-host-capabilities-interactions to answer {live:?}"
            ));
        };
        let mut queue = session
            .lock()
            .map_err(|_| anyhow!("replay session lock poisoned"))?;
        let exchange = queue
            .pop_front()
            .ok_or_else(|| anyhow!("the list of recorded responses is empty"))?;
        if exchange.request != live {
            return Err(anyhow!(
                "Replay error: unexpected request. Was expecting {:?}, got {live:?} instead",
                exchange.request
            ));
        }
        match exchange.response {
            ExchangeResponse::Success { payload } => Ok(payload.into_bytes()),
            ExchangeResponse::Error { message } => Err(anyhow!("{message}")),
        }
    }
}

/// The SDK's log events are JSON objects with `level` and `message`.
fn log_guest_event(payload: &[u8]) {
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(event) => {
            let level = event
                .get("level")
                .and_then(|l| l.as_str())
                .unwrap_or("info");
            let message = event.get("message").and_then(|m| m.as_str()).unwrap_or("");
            eprintln!("policy log [{level}]: {message} {event}");
        }
        Err(_) => eprintln!("policy log: {}", String::from_utf8_lossy(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: app
    namespace: team-a
    disable_cache: false
  response:
    type: Error
    message: Cannot find v1/ServiceAccount named 'app' inside of namespace 'Some("team-a")'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: app
    namespace: team-a
    disable_cache: true
    field_masks: null
  response:
    type: Success
    payload: '{"metadata":{"name":"app"}}'
"#;

    fn host(allowed: bool) -> Host {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kwrun-host-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session.yml");
        std::fs::write(&path, SESSION).unwrap();
        let exchanges = load_session(&path).unwrap();
        Host {
            allowed: if allowed {
                [ContextAwareResource {
                    api_version: "v1".into(),
                    kind: "ServiceAccount".into(),
                }]
                .into()
            } else {
                BTreeSet::new()
            },
            session: Some(Mutex::new(exchanges.clone().into())),
            recorded: exchanges,
            calls: Mutex::new(0),
        }
    }

    fn get(disable_cache: bool, name: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"api_version": "v1", "kind": "ServiceAccount",
            "name": name, "namespace": "team-a", "disable_cache": disable_cache, "field_masks": null}))
        .unwrap()
    }

    #[test]
    fn replays_in_order_with_errors_and_payloads() {
        let h = host(true);
        let err = h
            .dispatch(
                "kubewarden",
                "kubernetes",
                "get_resource",
                &get(false, "app"),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Callback evaluation failure: Cannot find v1/ServiceAccount named 'app' inside of namespace 'Some(\"team-a\")'"
        );
        let ok = h
            .dispatch(
                "kubewarden",
                "kubernetes",
                "get_resource",
                &get(true, "app"),
            )
            .unwrap();
        assert_eq!(ok, br#"{"metadata":{"name":"app"}}"#);
        assert_eq!(h.leftovers(), 0);
        let err = h
            .dispatch(
                "kubewarden",
                "kubernetes",
                "get_resource",
                &get(true, "app"),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("the list of recorded responses is empty")
        );
    }

    #[test]
    fn mismatches_are_reported_and_consume_the_exchange() {
        let h = host(true);
        let err = h
            .dispatch(
                "kubewarden",
                "kubernetes",
                "get_resource",
                &get(true, "app"),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Callback evaluation failure: Replay error: unexpected request."),
            "{err}"
        );
        assert_eq!(h.leftovers(), 1);
    }

    #[test]
    fn access_outside_the_allow_list_is_refused() {
        let h = host(false);
        let err = h
            .dispatch(
                "kubewarden",
                "kubernetes",
                "get_resource",
                &get(false, "app"),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Policy has not been granted access to Kubernetes v1/ServiceAccount resources. The violation has been reported."
        );
        assert_eq!(h.leftovers(), 2, "nothing consumed");
    }

    #[test]
    fn logging_always_succeeds_and_bad_bindings_fail() {
        let h = host(false);
        assert!(
            h.dispatch(
                "kubewarden",
                "tracing",
                "log",
                b"{\"level\":\"info\",\"message\":\"hi\"}"
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            h.dispatch("other", "tracing", "log", b"")
                .unwrap_err()
                .to_string()
                .contains("unknown binding")
        );
        assert!(
            h.dispatch("kubewarden", "nope", "x", b"")
                .unwrap_err()
                .to_string()
                .contains("unknown namespace")
        );
    }
}
