//! A kwctl replay session for the native tests: host lookups answered in
//! order, each request matched exactly, as kwctl and kwrun replay them.

use std::collections::VecDeque;
use std::path::Path;

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Exchange {
    request: String,
    response: Response,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Response {
    Success { payload: String },
    Error { message: String },
}

#[derive(Deserialize, Debug, PartialEq)]
enum Recorded {
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        disable_cache: bool,
        #[serde(default)]
        field_masks: Option<Vec<String>>,
    },
}

pub struct Replay(VecDeque<Exchange>);

impl Replay {
    /// The session at `path`; none (every lookup fails) if it is absent.
    pub fn load(path: &Path) -> Replay {
        Replay(match std::fs::read_to_string(path) {
            Ok(text) => serde_yaml::from_str::<Vec<Exchange>>(&text).unwrap().into(),
            Err(_) => VecDeque::new(),
        })
    }

    /// The next recorded answer, if `req` is the recorded request.
    pub fn answer(&mut self, req: &GetResourceRequest) -> Result<Value, String> {
        let exchange = self
            .0
            .pop_front()
            .ok_or("the list of recorded responses is empty")?;
        let expected: Recorded = serde_yaml::from_str(&exchange.request).unwrap();
        let Recorded::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            disable_cache,
            field_masks,
        } = &expected;
        let matches = *api_version == req.api_version
            && *kind == req.kind
            && *name == req.name
            && *namespace == req.namespace
            && *disable_cache == req.disable_cache
            && field_masks.is_none() == req.field_masks.is_none();
        if !matches {
            return Err(format!(
                "Replay error: unexpected request {req:?}, expected {expected:?}"
            ));
        }
        match exchange.response {
            Response::Success { payload } => Ok(serde_json::from_str(&payload).unwrap()),
            Response::Error { message } => Err(message),
        }
    }

    /// Exchanges not yet used.
    pub fn left(&self) -> usize {
        self.0.len()
    }
}
