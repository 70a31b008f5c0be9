//! Loading a policy module and calling it through waPC, configured as
//! policy-evaluator configures wasmtime for kwctl.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

use crate::host::Host;

/// A compiled module, ready to be instantiated any number of times.
pub struct Policy {
    engine: wasmtime::Engine,
    module: wasmtime::Module,
    pub bytes: Vec<u8>,
}

/// Guest responses of `validate_settings`.
#[derive(Debug, serde::Deserialize)]
pub struct SettingsValidation {
    pub valid: bool,
    pub message: Option<String>,
}

impl Policy {
    /// Loads and compiles a module. Like kwctl, compiled code is cached on
    /// disk (wasmtime's cache, under ~/.cache) unless `cache` is false.
    pub fn load(path: &std::path::Path, cache: bool) -> Result<Policy> {
        let bytes =
            std::fs::read(path).with_context(|| format!("Error reading wasm file {path:?}"))?;
        Policy::from_bytes(bytes, cache)
    }

    pub fn from_bytes(bytes: Vec<u8>, cache: bool) -> Result<Policy> {
        let mut config = wasmtime::Config::new();
        // As policy-evaluator: needed by policies from Go >= 1.26.
        config.wasm_function_references(true);
        // Names the module's functions for `perf` (README, Performance).
        if std::env::var_os("KWRUN_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if cache {
            match wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
                Ok(c) => {
                    config.cache(Some(c));
                }
                Err(e) => eprintln!("kwrun: wasmtime cache disabled: {e}"),
            }
        }
        let engine = wasmtime::Engine::new(&config)
            .map_err(|e| anyhow!("cannot build Wasmtime engine: {e}"))?;
        let module = wasmtime::Module::new(&engine, &bytes)
            .map_err(|e| anyhow!("error when building wasm module: {e}"))?;
        Ok(Policy {
            engine,
            module,
            bytes,
        })
    }

    /// A fresh instance (runs `_start` and `wapc_init`). `memory_limit`
    /// caps each linear memory, in bytes.
    pub fn instantiate(&self, host: &Arc<Host>, memory_limit: Option<usize>) -> Result<Instance> {
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .engine(self.engine.clone())
            .module(self.module.clone());
        if let Some(limit) = memory_limit {
            builder = builder.enable_resource_limits(wasmtime_provider::ResourceLimits {
                max_memory_size: Some(limit),
                max_table_elements: None,
            });
        }
        let provider = builder
            .build_pre()
            .and_then(|pre| pre.rehydrate(None))
            .map_err(|e| anyhow!("error when building wapc precompiled stack: {e}"))?;
        let wapc = WapcHost::new(Box::new(provider), Some(host.callback()))
            .map_err(|e| anyhow!("cannot build Wapc host: {e}"))?;
        Ok(Instance { wapc })
    }
}

pub struct Instance {
    wapc: WapcHost,
}

impl Instance {
    /// A raw waPC call; a guest error or trap is an `Err`.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.wapc
            .call(operation, payload)
            .map_err(|e| anyhow!("{e}"))
    }

    /// `protocol_version`, which must answer the JSON string `"v1"`.
    pub fn protocol_version(&self) -> Result<String> {
        let raw = self
            .call("protocol_version", &[])
            .map_err(|e| anyhow!("Error while detecting Kubewarden protocol version: cannot invoke 'protocol_version' waPC function : {e}"))?;
        let version: String = serde_json::from_slice(&raw).map_err(|e| {
            anyhow!(
                "cannot create ProtocolVersion object from {:?}: {e}",
                String::from_utf8_lossy(&raw)
            )
        })?;
        match version.as_str() {
            "v1" | "Unknown" => Ok(version),
            other => Err(anyhow!("unknown protocol version {other:?}")),
        }
    }

    /// `validate_settings` with the bare settings document.
    pub fn validate_settings(&self, settings: &serde_json::Value) -> SettingsValidation {
        let payload = settings.to_string();
        match self.call("validate_settings", payload.as_bytes()) {
            Ok(raw) => serde_json::from_slice(&raw).unwrap_or_else(|e| SettingsValidation {
                valid: false,
                message: Some(format!("error: {e:?}")),
            }),
            Err(e) => SettingsValidation {
                valid: false,
                message: Some(format!("Error invoking settings validation callback: {e}")),
            },
        }
    }
}
