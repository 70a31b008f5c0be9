//! Every other namespaced object under `allowedRoles`: ConfigMaps, Secrets
//! and the custom resources an operator adds to `irsa-enforce`'s rules
//! (External Secrets' `SecretStore`, cert-manager's `Issuer`). A namespace's
//! own objects never name a role it may not use: every IAM role ARN written
//! anywhere in the object (any string, any key of a nested map, a
//! ConfigMap's or Secret's data decoded) must be allowed in its namespace.
//! An UPDATE is judged by what it adds: a role the old object already
//! named is not reported again, so an object admitted before the policy
//! (or before a pattern was removed) can still be updated, its finalizers
//! removed, until it is fixed; the audit scanner reports it meanwhile.
//!
//! The object is walked once; a role value is judged once, and named where
//! it was first found (fields before `metadata`), with a count of the other
//! places that repeat it (kubectl's last-applied copy of the object).

use std::collections::HashMap;

use serde_json::Value;

use super::judge::Judge;
use super::object_data::{UidKeys, decode_base64};
use super::steps::{self, Old};
use super::{Answer, CODE_FORBIDDEN, Outcome, Request};
use crate::allowlist::Violation;
use crate::arn::{self, RoleArn};
use crate::json::FieldPath;
use crate::names::Shown;
use crate::report;
use crate::role::RoleSource;
use crate::settings::{Enforcement, Settings};

/// kubectl's copy of the object as last applied: read as the object it
/// is, so a role it repeats is reported once, as another place.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The kinds whose data the API server keeps encoded.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    ConfigMap,
    Secret,
    Other,
}

/// How the values of a data field are written.
#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Text,
    /// `[]byte`: base64 in JSON, decoded before it is searched.
    Base64,
}

impl Kind {
    fn of(group: &str, kind: &str) -> Kind {
        match (group, kind) {
            ("", "ConfigMap") => Kind::ConfigMap,
            ("", "Secret") => Kind::Secret,
            _ => Kind::Other,
        }
    }

    /// How the values of top-level `field` are written, if it holds data
    /// (a map of file names to contents).
    fn data_field(self, field: &str) -> Option<Encoding> {
        match (self, field) {
            (Kind::ConfigMap, "data") | (Kind::Secret, "stringData") => Some(Encoding::Text),
            (Kind::ConfigMap, "binaryData") | (Kind::Secret, "data") => Some(Encoding::Base64),
            _ => None,
        }
    }
}

/// CREATE or UPDATE of any object no other handler reads.
pub(super) fn handle(request: Request, settings: &Settings) -> Answer {
    let Some(restriction) = &settings.restriction else {
        return Ok(Outcome::accept());
    };
    let kind = Kind::of(&request.kind.group, &request.kind.kind);
    let old = if request.operation == "UPDATE" {
        Old::Parse
    } else {
        Old::Skip
    };
    let parsed = steps::parse(&request, &request.kind.kind, old)?;
    let own_namespace = parsed
        .object
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .is_some_and(|ns| !ns.is_empty());
    if kind == Kind::Other && request.namespace.is_empty() && !own_namespace {
        // Cluster-scoped (ClusterSecretStore, ClusterIssuer): no
        // namespace's allow-list applies, and tenants cannot write them.
        return Ok(Outcome::accept());
    }
    let steps::Opened {
        object,
        old_object,
        name,
        namespace,
    } = parsed.locate("an object", &request.namespace)?;
    let judge = Judge::new(settings, restriction, &namespace);
    let mut walk = Walk {
        judge: &judge,
        kind,
        copy: false,
        recording: true,
        seen: HashMap::with_hasher(UidKeys::of(&request.uid)),
        violations: Vec::new(),
        unreported: 0,
    };
    // The old object's roles are recorded, not judged: the API server
    // stored it, so nothing in it is an error now.
    if !old_object.is_null() {
        let _ = walk.object(&old_object);
    }
    walk.recording = false;
    walk.object(&object).map_err(|e| name.bad(e))?;
    let who = name.in_namespace(&namespace);
    Ok(answer(&judge, &who, &walk.violations, walk.unreported))
}

/// How many violations are built and handed to [`report`]. Each is a
/// distinct role (one line, which nothing merges with), so a message shows
/// far fewer; the rest are only counted. Formatting and merging 40,000
/// violations cost most of a 3 MB request's time in the `.wasm`.
const REPORTED: usize = 64;

/// The answer to the violations: [`report`]'s, counting the `unreported`
/// ones in its `... and N more`.
fn answer(judge: &Judge<'_>, who: &str, reported: &[Violation], unreported: usize) -> Outcome {
    if reported.is_empty() {
        return Outcome::accept();
    }
    let allowance = &judge.allowance;
    match judge.restriction.enforcement {
        Enforcement::Deny => {
            let message = report::message(who, allowance, reported);
            Outcome::reject(
                count_more(message, "\n... and ", unreported),
                CODE_FORBIDDEN,
            )
        }
        Enforcement::Warn => {
            let mut warnings = report::warnings(who, allowance, reported);
            if let Some(last) = warnings.last_mut() {
                *last = count_more(std::mem::take(last), ": ... and ", unreported);
            }
            Outcome::accept().with_warnings(warnings)
        }
    }
}

/// `text` whose closing `<marker>N more...` counts `unreported` more.
fn count_more(text: String, marker: &str, unreported: usize) -> String {
    if unreported == 0 {
        return text;
    }
    let Some((head, tail)) = text.rsplit_once(marker) else {
        return text;
    };
    let Some((count, rest)) = tail.split_once(" more") else {
        return text;
    };
    match count.parse::<usize>() {
        Ok(n) => format!("{head}{marker}{} more{rest}", n + unreported),
        Err(_) => text,
    }
}

/// One pass over an object, judging every role ARN it finds.
struct Walk<'j> {
    judge: &'j Judge<'j>,
    kind: Kind,
    /// Inside kubectl's last-applied copy of the object.
    copy: bool,
    /// Reading an UPDATE's old object: roles found are recorded as there
    /// before, not judged.
    recording: bool,
    /// Every role value found so far, and what became of it.
    seen: HashMap<String, Seen, UidKeys>,
    /// The first [`REPORTED`] violations, each a distinct value.
    violations: Vec<Violation>,
    /// How many violations came after those.
    unreported: usize,
}

/// What became of a role value found before.
#[derive(Clone, Copy)]
enum Seen {
    Allowed,
    /// Its violation, at this index.
    Reported(usize),
    /// A violation past [`REPORTED`], counted only.
    Counted,
}

impl Walk<'_> {
    /// The object's fields, then its metadata: a role is named where it
    /// takes effect rather than in an annotation that repeats it.
    fn object(&mut self, object: &Value) -> Result<(), String> {
        let Value::Object(fields) = object else {
            self.value(object, &FieldPath::root("object"));
            return Ok(());
        };
        for (field, value) in fields.iter().filter(|(f, _)| *f != "metadata") {
            let path = FieldPath::root(field);
            self.text(field, &|| format!("field name {}", Shown(field)));
            match self.kind.data_field(field) {
                Some(encoding) => self.data(field, value, encoding)?,
                None => self.value(value, &path),
            }
        }
        if let Some(metadata) = fields.get("metadata") {
            self.metadata(metadata);
        }
        Ok(())
    }

    /// A data field: file names (which cannot name a role for anyone) to
    /// contents, decoded first where they are base64.
    fn data(&mut self, field: &str, value: &Value, encoding: Encoding) -> Result<(), String> {
        let root = FieldPath::root(field);
        let Value::Object(entries) = value else {
            self.value(value, &root);
            return Ok(());
        };
        for (key, item) in entries {
            let place = || format!("{field} key {}", Shown(key));
            match (item, encoding) {
                (Value::String(text), Encoding::Text) => self.text(text, &place),
                (Value::String(text), Encoding::Base64) => match decode_base64(text) {
                    Some(bytes) => self.text(&String::from_utf8_lossy(&bytes), &place),
                    // kubectl's copy is what a tenant says was applied, not
                    // data: search it as written.
                    None if self.copy => self.text(text, &place),
                    None => return Err(format!("{} is not valid base64", place())),
                },
                (other, _) => self.value(other, &root.field(key)),
            }
        }
        Ok(())
    }

    /// `metadata`, without `managedFields` (field names the API server
    /// writes); kubectl's last-applied copy is read as the object it is.
    fn metadata(&mut self, metadata: &Value) {
        let root = FieldPath::root("metadata");
        let Value::Object(fields) = metadata else {
            self.value(metadata, &root);
            return;
        };
        for (field, value) in fields.iter().filter(|(f, _)| *f != "managedFields") {
            let path = root.field(field);
            match (field.as_str(), value) {
                ("annotations", Value::Object(annotations)) if !self.copy => {
                    for (key, annotation) in annotations {
                        match annotation {
                            Value::String(text) if key == LAST_APPLIED => {
                                self.last_applied(text, &path.field(key));
                            }
                            other => self.value(other, &path.field(key)),
                        }
                    }
                }
                _ => self.value(value, &path),
            }
        }
    }

    fn last_applied(&mut self, text: &str, path: &FieldPath<'_>) {
        match serde_json::from_str::<Value>(text) {
            Ok(copy) if copy.is_object() => {
                self.copy = true;
                // In the copy, nothing is an error.
                let _ = self.object(&copy);
                self.copy = false;
            }
            _ => self.text(text, &|| format!("field {}", path.shown())),
        }
    }

    /// Any value: every string in it, and every key of its maps.
    fn value(&mut self, value: &Value, path: &FieldPath<'_>) {
        match value {
            Value::String(text) => self.text(text, &|| format!("field {}", path.shown())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &path.index(i));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.text(key, &|| format!("a key in field {}", path.shown()));
                    self.value(item, &path.field(key));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Judges every role ARN in `text`. `place` names where it is written;
    /// it is built only for a value's first violation, so the cost stays
    /// linear in the object.
    fn text(&mut self, text: &str, place: &dyn Fn() -> String) {
        for value in arn::role_arns_in(text) {
            if self.recording {
                self.seen.insert(value, Seen::Allowed);
                continue;
            }
            match self.seen.get(&value) {
                Some(Seen::Reported(at)) => {
                    if let Some(violation) = self.violations.get_mut(*at) {
                        count_another_place(violation);
                    }
                    continue;
                }
                Some(Seen::Allowed | Seen::Counted) => continue,
                None => {}
            }
            let judged = match RoleArn::parse(&value) {
                Ok(arn) if self.judge.allowance.allows(&arn) => None,
                Ok(_) => Some(None),
                Err(reason) => Some(Some(reason)),
            };
            let seen = match judged {
                None => Seen::Allowed,
                // Past what a message shows: counted, never formatted.
                Some(_) if self.violations.len() >= REPORTED => {
                    self.unreported += 1;
                    Seen::Counted
                }
                Some(malformed) => {
                    let mut place = place();
                    if self.copy {
                        place.push_str(&format!(" in annotation {LAST_APPLIED}"));
                    }
                    let source = RoleSource::Object { place, others: 0 };
                    let role = value.clone();
                    self.violations.push(match malformed {
                        None => Violation::NotAllowed { role, source },
                        Some(reason) => Violation::Malformed {
                            value: role,
                            source,
                            reason,
                        },
                    });
                    Seen::Reported(self.violations.len() - 1)
                }
            };
            self.seen.insert(value, seen);
        }
    }
}

/// The same role value found once more.
fn count_another_place(violation: &mut Violation) {
    if let Violation::NotAllowed { source, .. } | Violation::Malformed { source, .. } = violation
        && let RoleSource::Object { others, .. } = source
    {
        *others += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CODE_BAD_REQUEST, CODE_FORBIDDEN, Verdict, evaluate};
    use super::*;
    use crate::settings;
    use serde_json::json;

    const ADMIN: &str = "arn:aws:iam::999988887777:role/admin";
    const OWN: &str = "arn:aws:iam::111122223333:role/team-a-reader";
    const ALLOWS: &str = "namespace \"team-a\" allows only arn:aws:iam::111122223333:role/team-a-*";

    fn settings(extra: Value) -> Settings {
        let mut doc =
            json!({"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/team-a-*"]}});
        if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
            doc.extend(extra);
        }
        settings::parse(&doc).unwrap()
    }

    fn request(
        group: &str,
        kind: &str,
        operation: &str,
        namespace: &str,
        object: Value,
    ) -> Request {
        serde_json::from_value(json!({
            "uid": "req-1",
            "kind": {"group": group, "version": "v1", "kind": kind},
            "namespace": namespace,
            "operation": operation,
            "object": object,
        }))
        .unwrap()
    }

    fn config_map(data: Value) -> Request {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "aws-config", "namespace": "team-a"}, "data": data});
        request("", "ConfigMap", "CREATE", "team-a", object)
    }

    fn run(request: Request, settings: &Settings) -> Outcome {
        evaluate(request, settings, &mut |_| panic!("no lookup expected"))
    }

    fn rejection(outcome: &Outcome) -> (&str, u16) {
        match &outcome.verdict {
            Verdict::Reject { message, code } => (message, *code),
            other => panic!("not a rejection: {other:?}"),
        }
    }

    #[test]
    fn a_config_map_naming_a_forbidden_role_is_rejected_naming_the_key() {
        let config = format!("[profile app]\nrole_arn = {ADMIN}\nregion = eu-west-1\n");
        let outcome = run(
            config_map(json!({"config": config, ADMIN: "x"})),
            &settings(json!({})),
        );
        assert_eq!(
            rejection(&outcome),
            (
                format!(
                    "ConfigMap \"aws-config\" in namespace \"team-a\": IAM role \"{ADMIN}\" \
                     (data key \"config\") is not allowed: {ALLOWS}"
                )
                .as_str(),
                CODE_FORBIDDEN
            )
        );
        // Region only, an allowed role, and a role only in a key: admitted.
        for data in [
            json!({"config": "[default]\nregion = eu-west-1\nmax_attempts = 5\n"}),
            json!({"config": format!("role_arn = {OWN}")}),
            json!({ADMIN: "a file name names no role"}),
            json!(null),
        ] {
            assert_eq!(
                run(config_map(data), &settings(json!({}))),
                Outcome::accept()
            );
        }
        // No restriction: nothing is judged.
        let open = settings::parse(&json!({})).unwrap();
        assert_eq!(
            run(config_map(json!({"c": ADMIN})), &open),
            Outcome::accept()
        );
    }

    #[test]
    fn binary_data_and_secrets_are_decoded() {
        let encoded = "cm9sZV9hcm4gPSBhcm46YXdzOmlhbTo6OTk5OTg4ODg3Nzc3OnJvbGUvYWRtaW4K";
        assert_eq!(
            decode_base64(encoded).unwrap(),
            format!("role_arn = {ADMIN}\n").as_bytes()
        );
        let mut binary = config_map(Value::Null);
        let object = json!({"metadata": {"name": "b"}, "binaryData": {"credentials": encoded}});
        binary.object = Some(serde_json::value::to_raw_value(&object).unwrap());
        let outcome = run(binary, &settings(json!({})));
        let (message, _) = rejection(&outcome);
        assert!(
            message.contains("(binaryData key \"credentials\") is not allowed"),
            "{message}"
        );
        let secret = |data: Value| {
            let object = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": data,
                                "stringData": {"plain": "nothing"}});
            request("", "Secret", "UPDATE", "team-a", object)
        };
        let outcome = run(
            secret(json!({"credentials": encoded})),
            &settings(json!({})),
        );
        let (message, code) = rejection(&outcome);
        assert_eq!(code, CODE_FORBIDDEN);
        assert!(
            message.starts_with("Secret \"s\" in namespace \"team-a\": IAM role"),
            "{message}"
        );
        assert!(message.contains("(data key \"credentials\")"), "{message}");
        // The base64 text itself names no role, and a Secret's data is
        // never searched undecoded.
        let outcome = run(secret(json!({"k": "!!!"})), &settings(json!({})));
        assert_eq!(
            rejection(&outcome),
            (
                "Secret \"s\": data key \"k\" is not valid base64",
                CODE_BAD_REQUEST
            )
        );
        let plain = json!({"metadata": {"name": "s"}, "stringData": {"config": ADMIN}});
        let outcome = run(
            request("", "Secret", "CREATE", "team-a", plain),
            &settings(json!({})),
        );
        assert!(
            rejection(&outcome)
                .0
                .contains("(stringData key \"config\")")
        );
    }

    #[test]
    fn custom_resources_are_judged_at_every_string() {
        let store = json!({
            "apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
            "metadata": {"generateName": "aws-", "namespace": "team-a",
                         "managedFields": [{"fieldsV1": {"f:spec": {ADMIN: {}}}}]},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1",
                     "role": ADMIN,
                     "auth": {"jwt": {"serviceAccountRef": {"name": "app"}}}}},
                     "weird key": [{"x": "arn:aws:iam::1:role/x"}]}
        });
        let outcome = run(
            request("external-secrets.io", "SecretStore", "CREATE", "", store),
            &settings(json!({})),
        );
        let (message, code) = rejection(&outcome);
        assert_eq!(code, CODE_FORBIDDEN);
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(
            lines,
            [
                format!(
                    "SecretStore \"aws-\" (generateName) in namespace \"team-a\": IAM role \"{ADMIN}\" \
                     (field spec.provider.aws.role) is not allowed: {ALLOWS}"
                ),
                "SecretStore \"aws-\" (generateName) in namespace \"team-a\": \
                 field spec[\"weird key\"][0].x \"arn:aws:iam::1:role/x\" is not a well-formed IAM role ARN \
                 (account \"1\" is not 12 digits), so it cannot be checked against allowedRoles"
                    .to_owned(),
            ]
        );
        // Cluster-scoped: no namespace, nothing to judge.
        let cluster = json!({"metadata": {"name": "all"}, "spec": {"role": ADMIN}});
        let req = request(
            "external-secrets.io",
            "ClusterSecretStore",
            "CREATE",
            "",
            cluster,
        );
        assert_eq!(run(req, &settings(json!({}))), Outcome::accept());
        // An issuer with an allowed role; a delete.
        let issuer = json!({"metadata": {"name": "le"}, "spec": {"acme": {"solvers": [
            {"dns01": {"route53": {"region": "eu-west-1", "role": OWN}}}]}}});
        let req = request("cert-manager.io", "Issuer", "UPDATE", "team-a", issuer);
        assert_eq!(run(req, &settings(json!({}))), Outcome::accept());
        let req = request("cert-manager.io", "Issuer", "DELETE", "team-a", Value::Null);
        assert_eq!(run(req, &settings(json!({}))), Outcome::accept());
    }

    #[test]
    fn an_update_is_judged_by_the_roles_it_adds() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "legacy", "namespace": "team-a"},
                         "data": {"config": format!("role_arn = {ADMIN}")}});
        let update = |object: Value| {
            let mut req = request("", "ConfigMap", "UPDATE", "team-a", object);
            req.old_object = Some(serde_json::value::to_raw_value(&old).unwrap());
            req
        };
        // Admitted before the policy: a finalizer removed, the role kept.
        let mut finalized = old.clone();
        finalized["metadata"]["finalizers"] = json!([]);
        assert_eq!(
            run(update(finalized), &settings(json!({}))),
            Outcome::accept()
        );
        // A new forbidden role is judged.
        let mut added = old.clone();
        added["data"]["more"] = json!("arn:aws:iam::999988887777:role/other");
        let outcome = run(update(added), &settings(json!({})));
        let (message, code) = rejection(&outcome);
        assert_eq!(code, CODE_FORBIDDEN);
        assert!(message.contains("role/other"), "{message}");
        assert!(!message.contains(ADMIN), "{message}");
    }

    #[test]
    fn kubectls_copy_of_the_object_is_one_more_place() {
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "aws-config", "namespace": "team-a"},
                             "data": {"config": format!("role_arn = {ADMIN}\nregion = x")}});
        let mut object = applied.clone();
        object["metadata"]["annotations"] = json!({LAST_APPLIED: applied.to_string(),
                                                   "note": format!("uses {ADMIN}")});
        let outcome = run(
            request("", "ConfigMap", "CREATE", "team-a", object),
            &settings(json!({})),
        );
        let (message, _) = rejection(&outcome);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("(data key \"config\" and 2 other places) is not allowed"),
            "{message}"
        );
        // Only in the copy: named there.
        let mut object = json!({"metadata": {"name": "c"}, "data": {}});
        object["metadata"]["annotations"] = json!({LAST_APPLIED: applied.to_string()});
        let outcome = run(
            request("", "ConfigMap", "CREATE", "team-a", object),
            &settings(json!({})),
        );
        assert!(
            rejection(&outcome).0.contains(&format!(
                "(data key \"config\" in annotation {LAST_APPLIED}) is not allowed"
            )),
            "{outcome:?}"
        );
    }

    #[test]
    fn warn_mode_admits_with_a_few_short_warnings() {
        let data: serde_json::Map<String, Value> = (0..1000)
            .map(|i| {
                (
                    format!("k{i}"),
                    json!(format!("arn:aws:iam::999988887777:role/r{i}")),
                )
            })
            .collect();
        let warn = settings(json!({"enforcement": "warn"}));
        let outcome = run(config_map(Value::Object(data.clone())), &warn);
        assert_eq!(outcome.verdict, Verdict::Accept);
        assert_eq!(outcome.warnings.len(), 5);
        assert!(outcome.warnings[4].contains("... and 996 more allowedRoles violations"));
        let outcome = run(config_map(Value::Object(data)), &settings(json!({})));
        let (message, _) = rejection(&outcome);
        assert!(message.len() <= 4096, "{message}");
        // Every violation is counted, shown or not.
        let (shown, more) = message.rsplit_once("\n... and ").unwrap();
        let more: usize = more.strip_suffix(" more").unwrap().parse().unwrap();
        assert_eq!(shown.lines().count() + more, 1000, "{message}");
    }

    #[test]
    fn counting_more_changes_only_the_count() {
        assert_eq!(
            count_more("a\n... and 3 more".into(), "\n... and ", 10),
            "a\n... and 13 more"
        );
        assert_eq!(
            count_more(
                "s: ... and 2 more allowedRoles violations (x)".into(),
                ": ... and ",
                1
            ),
            "s: ... and 3 more allowedRoles violations (x)"
        );
        assert_eq!(
            count_more("a\n... and 3 more".into(), "\n... and ", 0),
            "a\n... and 3 more"
        );
        assert_eq!(count_more("no count".into(), "\n... and ", 5), "no count");
        // The keys follow the UID.
        let (a, b) = (UidKeys::of("uid-1"), UidKeys::of("uid-2"));
        assert_ne!((a.0, a.1), (b.0, b.1));
        assert_ne!(a.0, a.1);
    }

    #[test]
    fn deep_paths_are_shown_bounded() {
        let mut value = json!(ADMIN);
        for i in 0..50 {
            value = json!({format!("level{i}"): [value]});
        }
        let object = json!({"metadata": {"name": "deep"}, "spec": value});
        let outcome = run(
            request("example.com", "Widget", "CREATE", "team-a", object),
            &settings(json!({})),
        );
        let (message, _) = rejection(&outcome);
        assert!(
            message.contains("(field spec.level49[0].…[0].level1[0].level0[0])"),
            "{message}"
        );
    }

    #[test]
    fn decodes_base64_as_go_does() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("YWI=").unwrap(), b"ab");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert_eq!(decode_base64("YWJj\r\nZGVm").unwrap(), b"abcdef");
        assert_eq!(decode_base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in ["YQ", "YQ=", "Y===", "YQ==YWJj", "YW=j", "YWJj!", "YWJ-"] {
            assert!(decode_base64(bad).is_none(), "{bad:?}");
        }
    }
}
