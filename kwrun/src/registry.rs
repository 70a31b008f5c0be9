//! `push` and `pull` of policies to and from OCI registries, wire-compatible
//! with kwctl: the same client crate (`oci-client`), one layer of media type
//! `application/vnd.wasm.content.layer.v1+wasm`, the config blob `{}` of
//! type `application/vnd.wasm.config.v1+json`, and kwctl's manifest
//! annotations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciImageManifest, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::metadata::{self, Metadata};

/// `registry://host/repo:tag` (the scheme is optional, as in kwctl).
pub fn parse_reference(uri: &str) -> Result<Reference> {
    let bare = uri.strip_prefix("registry://").unwrap_or(uri);
    bare.parse::<Reference>()
        .map_err(|e| anyhow!("invalid OCI reference {uri:?}: {e}"))
}

/// Plain HTTP is used only for registries on the loopback interface; every
/// other registry must speak HTTPS.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn client_for(reference: &Reference) -> Client {
    // reqwest is built without a default TLS provider; ring is ours. A
    // second install attempt fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = reference.resolve_registry().to_owned();
    let protocol = if is_loopback(&registry) {
        ClientProtocol::HttpsExcept(vec![registry])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        ..Default::default()
    })
}

/// Credentials from the Docker config (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`): the `auth` entry of the registry, if any.
/// Credential helpers are not supported; anonymous access is the fallback.
fn auth_for(registry: &str) -> RegistryAuth {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
    let Some(text) = dir.and_then(|d| std::fs::read_to_string(d.join("config.json")).ok()) else {
        return RegistryAuth::Anonymous;
    };
    let Ok(config) = serde_json::from_str::<serde_json::Value>(&text) else {
        return RegistryAuth::Anonymous;
    };
    let auth = config
        .get("auths")
        .and_then(|a| a.get(registry))
        .and_then(|e| e.get("auth"))
        .and_then(|a| a.as_str())
        .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    match auth.as_deref().and_then(|a| a.split_once(':')) {
        Some((user, password)) => RegistryAuth::Basic(user.to_owned(), password.to_owned()),
        None => RegistryAuth::Anonymous,
    }
}

/// The manifest annotations kwctl writes: the metadata's, minus multi-line
/// values (the README), trimmed, plus `org.opencontainers.image.source`.
pub fn manifest_annotations(metadata: Option<&Metadata>) -> Option<BTreeMap<String, String>> {
    let annotations = metadata?.annotations.as_ref()?;
    let mut out: BTreeMap<String, String> = annotations
        .iter()
        .filter(|(_, v)| v.lines().count() <= 1)
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    if let Some(source) = out.get("io.kubewarden.policy.source").cloned() {
        out.entry("org.opencontainers.image.source".to_owned())
            .or_insert(source);
    }
    Some(out)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Pushes `wasm` and returns kwctl's immutable reference,
/// `<registry>/<repository>@<manifest digest>`.
pub fn push(wasm: &[u8], uri: &str, force: bool) -> Result<String> {
    let reference = parse_reference(uri)?;
    let metadata = metadata::read_from_module(wasm)?;
    if metadata.is_none() {
        if !force {
            return Err(anyhow!(
                "Cannot push a policy that is not annotated. Use `annotate` command or `push --force`"
            ));
        }
        eprintln!("Warning: pushing a non-annotated policy!");
    }
    let layers = vec![ImageLayer::new(
        wasm.to_vec(),
        WASM_LAYER_MEDIA_TYPE.to_owned(),
        None,
    )];
    let config = Config::new(b"{}".to_vec(), WASM_CONFIG_MEDIA_TYPE.to_owned(), None);
    let manifest =
        OciImageManifest::build(&layers, &config, manifest_annotations(metadata.as_ref()));
    let client = client_for(&reference);
    let auth = auth_for(reference.resolve_registry());
    let response = runtime()?
        .block_on(client.push(&reference, &layers, config, &auth, Some(manifest)))
        .map_err(|e| anyhow!("Fail to interact with OCI registry: {e}"))?;
    let digest = response
        .manifest_url
        .rsplit('/')
        .next()
        .filter(|d| d.starts_with("sha256:") || d.starts_with("sha512:"))
        .ok_or_else(|| {
            anyhow!(
                "the registry returned no manifest digest: {}",
                response.manifest_url
            )
        })?;
    Ok(format!(
        "{}/{}@{}",
        reference.registry(),
        reference.repository(),
        digest
    ))
}

/// Pulls the policy at `uri` and returns its bytes, checking the layer
/// against the digest the manifest records.
pub fn pull(uri: &str) -> Result<(Vec<u8>, String)> {
    let reference = parse_reference(uri)?;
    let client = client_for(&reference);
    let auth = auth_for(reference.resolve_registry());
    let image = runtime()?
        .block_on(client.pull(&reference, &auth, vec![WASM_LAYER_MEDIA_TYPE]))
        .map_err(|e| anyhow!("could not pull policy {uri}: {e}"))?;
    let manifest_digest = image.digest.clone().unwrap_or_default();
    let layer = image
        .layers
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("could not pull policy {uri}: empty layers"))?;
    let expected = image
        .manifest
        .as_ref()
        .and_then(|m| m.layers.first())
        .map(|l| l.digest.clone())
        .unwrap_or_default();
    let actual = sha256_digest(&layer.data);
    if actual != expected {
        return Err(anyhow!(
            "could not pull policy {uri}: layer digest {actual} does not match the manifest's {expected}"
        ));
    }
    if !layer.data.starts_with(b"\0asm") {
        return Err(anyhow!(
            "could not pull policy {uri}: the layer is not a WebAssembly module"
        ));
    }
    Ok((layer.data.to_vec(), manifest_digest))
}

/// Where kwctl keeps pulled policies: `~/.cache/kubewarden/store/registry/<host>/<repo>:<tag>`.
pub fn store_path(uri: &str) -> Result<PathBuf> {
    let reference = parse_reference(uri)?;
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .ok_or_else(|| anyhow!("cannot find a cache directory; pass --output-path"))?;
    let name = match (reference.tag(), reference.digest()) {
        (_, Some(digest)) => format!("{}@{digest}", last_segment(reference.repository())),
        (tag, None) => format!(
            "{}:{}",
            last_segment(reference.repository()),
            tag.unwrap_or("latest")
        ),
    };
    let parent = Path::new(reference.repository())
        .parent()
        .unwrap_or(Path::new(""));
    Ok(cache
        .join("kubewarden/store/registry")
        .join(reference.registry())
        .join(parent)
        .join(name))
}

fn last_segment(repository: &str) -> &str {
    repository.rsplit('/').next().unwrap_or(repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_get_plain_http() {
        for host in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "registry.local:5000",
            "10.0.0.1:5000",
            "[fd00::1]:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn references_accept_the_registry_scheme() {
        let r = parse_reference("registry://127.0.0.1:5000/policies/irsa:v1.0.0").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "policies/irsa");
        assert_eq!(r.tag(), Some("v1.0.0"));
        for bad in [
            "registry://",
            "registry://example.com/Repo:tag",
            "registry://example.com/repo:bad tag",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manifest_annotations_follow_kwctl() {
        let m = Metadata::from_yaml(
            "rules: []\nmutating: true\nannotations:\n  a: \" spaced \"\n  io.kubewarden.policy.usage: \"line1\\nline2\"\n  io.kubewarden.policy.source: https://example.com/src\n",
        )
        .unwrap();
        let a = manifest_annotations(Some(&m)).unwrap();
        assert_eq!(a.get("a").map(String::as_str), Some("spaced"));
        assert!(!a.contains_key("io.kubewarden.policy.usage"));
        assert_eq!(
            a.get("org.opencontainers.image.source").map(String::as_str),
            Some("https://example.com/src")
        );
        assert_eq!(manifest_annotations(None), None);
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            sha256_digest(b"{}"),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
