//! Loading a policy module and calling it through waPC, configured as
//! policy-evaluator configures wasmtime for kwctl (and, for `kwrun bench`,
//! for policy-server: a prepared module, a fresh instance per evaluation).

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use wapc::WapcHost;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::host::Host;

/// policy-server's default `--policy-timeout`, in seconds; its epoch
/// ticker advances the engine's epoch once a second, so this is also the
/// deadline in epoch ticks.
pub const POLICY_SERVER_TIMEOUT_TICKS: u64 = 2;

/// A compiled module, ready to be instantiated any number of times.
pub struct Policy {
    engine: wasmtime::Engine,
    module: wasmtime::Module,
    pub bytes: Vec<u8>,
    /// Set when the engine was built with epoch interruption (policy-server's
    /// timeout protection): every instance gets these deadlines.
    epoch_deadlines: Option<EpochDeadlines>,
}

/// A module prepared once, as policy-server does at bootstrap (a
/// `WasmtimeEngineProviderPre`: engine, linker and `InstancePre`), from
/// which each evaluation gets a fresh instance.
pub struct Prepared {
    pre: WasmtimeEngineProviderPre,
    epoch_deadlines: Option<EpochDeadlines>,
}

impl Prepared {
    /// A fresh instance as policy-server makes one per request:
    /// `rehydrate` (new `Store`) then `WapcHost::new` (instantiation,
    /// `_start`, `wapc_init`).
    pub fn instantiate(&self, host: &Arc<Host>) -> Result<Instance> {
        let provider = self
            .pre
            .rehydrate(self.epoch_deadlines)
            .map_err(|e| anyhow!("error when building wapc precompiled stack: {e}"))?;
        let wapc = WapcHost::new(Box::new(provider), Some(host.callback()))
            .map_err(|e| anyhow!("cannot build Wapc host: {e}"))?;
        Ok(Instance { wapc })
    }
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
        Policy::load_with_timeout(path, cache, None)
    }

    /// Like [`Policy::load`], with policy-server's timeout protection when
    /// `timeout_ticks` is set: the engine compiles epoch checks into the
    /// code and every instance gets that deadline (no ticker runs, so it
    /// is never reached; the checks are what it costs).
    pub fn load_with_timeout(
        path: &std::path::Path,
        cache: bool,
        timeout_ticks: Option<u64>,
    ) -> Result<Policy> {
        let bytes =
            std::fs::read(path).with_context(|| format!("Error reading wasm file {path:?}"))?;
        Policy::from_bytes_with_timeout(bytes, cache, timeout_ticks)
    }

    pub fn from_bytes_with_timeout(
        bytes: Vec<u8>,
        cache: bool,
        timeout_ticks: Option<u64>,
    ) -> Result<Policy> {
        let mut config = wasmtime::Config::new();
        // As policy-evaluator: needed by policies from Go >= 1.26.
        config.wasm_function_references(true);
        // As policy-server when its timeout protection is on (the default).
        if timeout_ticks.is_some() {
            config.epoch_interruption(true);
        }
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
            epoch_deadlines: timeout_ticks.map(|ticks| EpochDeadlines {
                wapc_init: ticks,
                wapc_func: ticks,
            }),
        })
    }

    /// A fresh instance (runs `_start` and `wapc_init`). `memory_limit`
    /// caps each linear memory, in bytes.
    pub fn instantiate(&self, host: &Arc<Host>, memory_limit: Option<usize>) -> Result<Instance> {
        self.prepare(memory_limit)?.instantiate(host)
    }

    /// The prepared form policy-server builds once per module at bootstrap.
    pub fn prepare(&self, memory_limit: Option<usize>) -> Result<Prepared> {
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .engine(self.engine.clone())
            .module(self.module.clone());
        if let Some(limit) = memory_limit {
            builder = builder.enable_resource_limits(wasmtime_provider::ResourceLimits {
                max_memory_size: Some(limit),
                max_table_elements: None,
            });
        }
        let pre = builder
            .build_pre()
            .map_err(|e| anyhow!("error when building wapc precompiled stack: {e}"))?;
        Ok(Prepared {
            pre,
            epoch_deadlines: self.epoch_deadlines,
        })
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
