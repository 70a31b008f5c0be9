//! `scaffold artifacthub`: the `artifacthub-pkg.yml` that
//! `kwctl scaffold artifacthub` generates, built from `metadata.yml` and
//! `questions-ui.yml` with the same keys, order and sources.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::metadata::Metadata;

const HEADER: &str = "# Kubewarden Artifacthub Package config
#
# Use this config to submit the policy to https://artifacthub.io.
#
# This config can be saved to its default location with:
#   kwctl scaffold artifacthub > artifacthub-pkg.yml 
";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    version: String,
    name: String,
    display_name: String,
    created_at: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<String>,
    #[serde(rename = "homeURL", skip_serializing_if = "Option::is_none")]
    home_url: Option<String>,
    containers_images: Vec<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keywords: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Vec<Link>>,
    install: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintainers: Option<Vec<Maintainer>>,
    provider: Provider,
    recommendations: Vec<Recommendation>,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Image {
    name: String,
    image: String,
}

#[derive(Serialize)]
struct Link {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct Maintainer {
    name: String,
    email: String,
}

#[derive(Serialize)]
struct Provider {
    name: String,
}

#[derive(Serialize)]
struct Recommendation {
    url: String,
}

/// Renders the package. `created_at` is an RFC 3339 timestamp.
pub fn render(metadata: &Metadata, questions: Option<&str>, created_at: &str) -> Result<String> {
    let annotations = metadata
        .annotations
        .as_ref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            anyhow!("no annotations in policy metadata. policy metadata must specify annotations")
        })?;
    let get = |key: &str| annotations.get(key).cloned();
    let required = |key: &str| {
        get(key).ok_or_else(|| anyhow!("policy metadata must specify {key:?} in annotations"))
    };
    let version = required("io.kubewarden.policy.version")?;
    if !is_semver(&version) {
        return Err(anyhow!("policy version must be in semver: {version:?}"));
    }
    let oci_url = required("io.kubewarden.policy.ociUrl")?;
    let image = format!("{oci_url}:v{version}");
    let keywords = match get("io.artifacthub.keywords") {
        Some(k) => {
            let list: Vec<String> = k.split(',').map(|w| w.trim().to_owned()).collect();
            if list.iter().any(String::is_empty) {
                return Err(anyhow!(
                    "annotation \"io.artifacthub.keywords\" in policy metadata is malformed, must be csv values"
                ));
            }
            Some(list)
        }
        None => None,
    };
    let links = get("io.kubewarden.policy.source").map(|source| {
        let source = source.trim_end_matches('/').to_owned();
        let mut links = Vec::new();
        if source.starts_with("https://github.com/") {
            let tag = get("com.github.release.tag").unwrap_or_else(|| format!("v{version}"));
            links.push(Link {
                name: "policy".to_owned(),
                url: format!("{source}/releases/download/{tag}/policy.wasm"),
            });
        }
        links.push(Link {
            name: "source".to_owned(),
            url: source,
        });
        links
    });
    let maintainers = get("io.kubewarden.policy.author").map(|authors| {
        authors
            .split(',')
            .filter_map(|a| {
                let (name, email) = a.trim().strip_suffix('>')?.split_once('<')?;
                Some(Maintainer {
                    name: name.trim().to_owned(),
                    email: email.trim().to_owned(),
                })
            })
            .collect()
    });
    let mut package_annotations = BTreeMap::new();
    package_annotations.insert(
        "kubewarden/mutation".to_owned(),
        metadata.mutating.to_string(),
    );
    if !metadata.context_aware_resources.is_empty() {
        package_annotations.insert(
            "kubewarden/contextAwareResources".to_owned(),
            serde_yaml::to_string(&metadata.context_aware_resources)?,
        );
    }
    package_annotations.insert(
        "kubewarden/rules".to_owned(),
        serde_yaml::to_string(&metadata.rules)?,
    );
    if let Some(q) = questions {
        if q.trim().is_empty() {
            return Err(anyhow!("questions-ui content cannot be empty"));
        }
        package_annotations.insert("kubewarden/questions-ui".to_owned(), q.to_owned());
    }
    if let Some(resources) = get("io.artifacthub.resources") {
        package_annotations.insert("kubewarden/resources".to_owned(), resources);
    }
    if let Some(hidden) = get("io.kubewarden.hidden-ui") {
        package_annotations.insert("kubewarden/hidden-ui".to_owned(), hidden);
    }
    let package = Package {
        version,
        name: required("io.kubewarden.policy.title")?,
        display_name: required("io.artifacthub.displayName")?,
        created_at: created_at.to_owned(),
        description: required("io.kubewarden.policy.description")?,
        license: get("io.kubewarden.policy.license"),
        home_url: get("io.kubewarden.policy.url"),
        containers_images: vec![Image {
            name: "policy".to_owned(),
            image: image.clone(),
        }],
        keywords,
        links,
        install: format!(
            "The policy can be obtained using [kwctl](https://docs.kubewarden.io/howtos/install-kwctl):\n\
             ```console\nkwctl pull {image}\n```\n\
             Then, generate the policy manifest and tune it to your liking. For example:\n\
             ```console\nkwctl scaffold manifest -t ClusterAdmissionPolicy registry://{image}\n```\n"
        ),
        maintainers,
        provider: Provider {
            name: "kubewarden".to_owned(),
        },
        recommendations: vec![Recommendation {
            url: "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller".to_owned(),
        }],
        annotations: package_annotations,
    };
    Ok(format!("{HEADER}\n{}", serde_yaml::to_string(&package)?))
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Now, as RFC 3339 UTC, without a date library.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"
rules:
- apiGroups: [""]
  apiVersions: [v1]
  resources: [pods]
  operations: [CREATE]
mutating: true
contextAwareResources:
- apiVersion: v1
  kind: ServiceAccount
annotations:
  io.kubewarden.policy.title: demo
  io.kubewarden.policy.version: 1.2.3
  io.kubewarden.policy.description: A demo
  io.kubewarden.policy.ociUrl: ghcr.io/example/demo
  io.kubewarden.policy.source: https://github.com/example/demo
  io.kubewarden.policy.url: https://github.com/example/demo
  io.kubewarden.policy.author: Jane Doe <jane@example.com>, Bob <bob@example.org>
  io.artifacthub.displayName: Demo
  io.artifacthub.keywords: a, b
  io.artifacthub.resources: Pod
"#;

    #[test]
    fn renders_kwctls_shape() {
        let m = Metadata::from_yaml(METADATA).unwrap();
        let out = render(&m, Some("questions: []\n"), "2026-01-01T00:00:00Z").unwrap();
        assert!(out.starts_with(HEADER));
        let doc: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(doc["version"], "1.2.3");
        assert_eq!(
            doc["containersImages"][0]["image"],
            "ghcr.io/example/demo:v1.2.3"
        );
        assert_eq!(
            doc["links"][0]["url"],
            "https://github.com/example/demo/releases/download/v1.2.3/policy.wasm"
        );
        assert_eq!(doc["maintainers"][1]["email"], "bob@example.org");
        assert_eq!(doc["annotations"]["kubewarden/mutation"], "true");
        assert_eq!(
            doc["annotations"]["kubewarden/questions-ui"],
            "questions: []\n"
        );
        let car: serde_yaml::Value = serde_yaml::from_str(
            doc["annotations"]["kubewarden/contextAwareResources"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(car[0]["kind"], "ServiceAccount");
        let rules: serde_yaml::Value =
            serde_yaml::from_str(doc["annotations"]["kubewarden/rules"].as_str().unwrap()).unwrap();
        assert_eq!(rules[0]["resources"][0], "pods");
        let keys: Vec<&str> = doc
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "name",
                "displayName",
                "createdAt",
                "description",
                "homeURL",
                "containersImages",
                "keywords",
                "links",
                "install",
                "maintainers",
                "provider",
                "recommendations",
                "annotations"
            ]
        );
    }

    #[test]
    fn missing_or_bad_annotations_are_errors() {
        let m = Metadata::from_yaml(
            &METADATA.replace("  io.kubewarden.policy.ociUrl: ghcr.io/example/demo\n", ""),
        )
        .unwrap();
        assert!(
            render(&m, None, "x")
                .unwrap_err()
                .to_string()
                .contains("io.kubewarden.policy.ociUrl")
        );
        let m = Metadata::from_yaml(&METADATA.replace("1.2.3", "one")).unwrap();
        assert!(
            render(&m, None, "x")
                .unwrap_err()
                .to_string()
                .contains("semver")
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
