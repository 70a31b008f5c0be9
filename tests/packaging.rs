//! The files users deploy from must agree with what the module declares:
//! the examples with `metadata.yml` (rules, context-aware resources, valid
//! settings), `questions-ui.yml` with the settings, and
//! `artifacthub-pkg.yml` with all of them and with the crate version.

use std::path::Path;

use irsa_policy::settings::RawSettings;
use irsa_policy::settings_response;
use serde::Deserialize;
use serde_yaml::Value;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn documents(path: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(&read(path))
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn metadata() -> Value {
    yaml("metadata.yml")
}

fn annotation(key: &str) -> String {
    metadata()["annotations"][key]
        .as_str()
        .unwrap_or_else(|| panic!("metadata.yml lacks annotation {key}"))
        .to_owned()
}

fn assert_settings_valid(what: &str, settings: &Value) {
    let json = serde_json::to_vec(settings).unwrap();
    let response = settings_response(&json);
    assert!(
        response.valid,
        "{what}: settings rejected: {:?}",
        response.message
    );
}

#[test]
fn cluster_admission_policy_agrees_with_metadata() {
    let policy = yaml("examples/cluster-admission-policy.yaml");
    let m = metadata();
    assert_eq!(policy["apiVersion"], "policies.kubewarden.io/v1");
    assert_eq!(policy["kind"], "ClusterAdmissionPolicy");
    let spec = &policy["spec"];
    assert_eq!(spec["rules"], m["rules"], "rules differ from metadata.yml");
    assert_eq!(spec["contextAwareResources"], m["contextAwareResources"]);
    assert_eq!(spec["mutating"], m["mutating"]);
    assert_eq!(spec["backgroundAudit"], m["backgroundAudit"]);
    assert_eq!(spec["failurePolicy"], "Fail");
    let excluded = &spec["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(excluded["operator"], "NotIn");
    assert!(
        excluded["values"]
            .as_sequence()
            .unwrap()
            .contains(&Value::from("kube-system"))
    );
    let module = spec["module"].as_str().unwrap();
    assert_eq!(
        module,
        format!(
            "registry://{}:v{}",
            annotation("io.kubewarden.policy.ociUrl"),
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_settings_valid("ClusterAdmissionPolicy", &spec["settings"]);
}

#[test]
fn admission_policy_agrees_with_metadata() {
    let policy = yaml("examples/admission-policy.yaml");
    let spec = &policy["spec"];
    assert_eq!(policy["kind"], "AdmissionPolicy");
    assert!(policy["metadata"]["namespace"].is_string());
    assert_eq!(spec["rules"], metadata()["rules"]);
    assert_eq!(spec["mutating"], metadata()["mutating"]);
    // Namespaced policies get no context-aware access in Kubewarden.
    assert!(spec.get("contextAwareResources").is_none());
    assert_eq!(spec["settings"]["serviceAccountLookupFailure"], "accept");
    assert_settings_valid("AdmissionPolicy", &spec["settings"]);
}

#[test]
fn rbac_grants_every_context_aware_resource() {
    let docs = documents("examples/policy-server-rbac.yaml");
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding")
        .expect("a ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
    for resource in metadata()["contextAwareResources"].as_sequence().unwrap() {
        let (group, kind) = match resource["apiVersion"].as_str().unwrap().split_once('/') {
            Some((group, _)) => (group.to_owned(), resource["kind"].as_str().unwrap()),
            None => (String::new(), resource["kind"].as_str().unwrap()),
        };
        let plural = format!("{}s", kind.to_lowercase());
        let granted = role["rules"].as_sequence().unwrap().iter().any(|rule| {
            rule["apiGroups"]
                .as_sequence()
                .unwrap()
                .contains(&Value::from(group.clone()))
                && rule["resources"]
                    .as_sequence()
                    .unwrap()
                    .contains(&Value::from(plural.clone()))
                && rule["verbs"]
                    .as_sequence()
                    .unwrap()
                    .contains(&Value::from("get"))
        });
        assert!(granted, "the ClusterRole does not grant get on {plural}");
    }
}

#[test]
fn questions_ui_covers_every_setting() {
    let questions = yaml("questions-ui.yml");
    let variables: Vec<String> = questions["questions"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|q| {
            let nested = q["subquestions"].as_sequence().cloned().unwrap_or_default();
            std::iter::once(q.clone()).chain(nested)
        })
        .filter_map(|q| q["variable"].as_str().map(str::to_owned))
        .collect();
    let all = serde_json::to_value(RawSettings::default()).unwrap();
    let settings: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert!(settings.len() >= 14, "{settings:?}");
    for setting in settings {
        assert!(
            variables.contains(setting),
            "questions-ui.yml has no question for {setting}"
        );
    }
    for nested in [
        "podIdentity.associations",
        "podIdentity.fullUri",
        "composeRoleArn.accountId",
    ] {
        assert!(
            variables.iter().any(|v| v == nested),
            "questions-ui.yml has no question for {nested}"
        );
    }
    // Every question's default is itself a valid setting.
    for q in questions["questions"].as_sequence().unwrap() {
        let variable = q["variable"].as_str().unwrap();
        if variable == "description" || q["default"].is_null() {
            continue;
        }
        let doc = serde_json::json!({ variable: q["default"] });
        assert_settings_valid(
            &format!("questions-ui default of {variable}"),
            &serde_yaml::from_value(serde_yaml::to_value(doc).unwrap()).unwrap(),
        );
    }
}

#[test]
fn artifacthub_package_is_in_sync() {
    let pkg = yaml("artifacthub-pkg.yml");
    let m = metadata();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        annotation("io.kubewarden.policy.version"),
        version,
        "metadata.yml version != Cargo.toml"
    );
    assert_eq!(pkg["version"], version);
    assert_eq!(
        pkg["name"],
        annotation("io.kubewarden.policy.title").as_str()
    );
    assert_eq!(
        pkg["displayName"],
        annotation("io.artifacthub.displayName").as_str()
    );
    assert_eq!(
        pkg["description"],
        annotation("io.kubewarden.policy.description").as_str()
    );
    assert_eq!(
        pkg["license"],
        annotation("io.kubewarden.policy.license").as_str()
    );
    assert_eq!(
        pkg["containersImages"][0]["image"],
        format!("{}:v{version}", annotation("io.kubewarden.policy.ociUrl")).as_str()
    );
    let a = &pkg["annotations"];
    assert_eq!(
        a["kubewarden/mutation"],
        m["mutating"].as_bool().unwrap().to_string().as_str()
    );
    let parse = |key: &str| -> Value { serde_yaml::from_str(a[key].as_str().unwrap()).unwrap() };
    assert_eq!(parse("kubewarden/rules"), m["rules"]);
    assert_eq!(
        parse("kubewarden/contextAwareResources"),
        m["contextAwareResources"]
    );
    assert_eq!(
        a["kubewarden/questions-ui"],
        read("questions-ui.yml").as_str()
    );
    assert_eq!(
        a["kubewarden/resources"],
        annotation("io.artifacthub.resources").as_str()
    );
    assert!(pkg["install"].as_str().unwrap().contains(&format!(
        "kwctl pull {}:v{version}",
        annotation("io.kubewarden.policy.ociUrl")
    )));
    let links = pkg["links"].as_sequence().unwrap();
    assert!(links.iter().any(|l| l["name"] == "source"));
}
