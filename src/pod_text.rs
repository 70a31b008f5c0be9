//! A Pod read straight from the request text, in one pass: the fields a Pod
//! CREATE reads, and the places the injection writes to.
//!
//! Building a `serde_json::Value` of the whole Pod cost as much as the rest
//! of an evaluation, and serialising it again as much once more. This reader
//! skips what it does not need and gives up (`None`) on anything the parsed
//! path would have to judge: a field of the wrong type, a duplicate key, an
//! escape where none belongs. The caller then parses the Pod, and that path
//! says what is wrong.

use serde_json::{Map, Value};

use crate::constants::{
    POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, SKIP_WEBHOOK_LABEL, WINDOWS_NODE_SELECTORS,
    WINDOWS_OS_VALUE,
};
use crate::pod::{ContainerShape, PodShape};
use crate::role::{ContainerKind, ContainerRef};
use crate::splice::{Scanner, Seen, Span};
use crate::usage::{self, text as rules};

/// What a Pod CREATE reads from the Pod, and where the injection writes.
#[derive(Debug, Default)]
pub struct PodText<'a> {
    pub name: Option<&'a str>,
    pub generate_name: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// The text of `metadata.annotations`, parsed only when asked for
    /// ([`PodText::annotations`]): splicing needs none of it.
    annotations: Option<&'a str>,
    pub service_account_name: Option<&'a str>,
    pub service_account: Option<&'a str>,
    pub shape: PodShape<'a>,
    pub places: Places,
    /// What the allow-list reads, when asked for ([`PodText::read_with_usage`]).
    pub usage: Option<usage::Spec<'a>>,
}

/// Where the injection writes: spans of the values (`null` included).
#[derive(Debug, Default)]
pub struct Places {
    pub root: Span,
    pub metadata: Option<Span>,
    pub labels: Option<Span>,
    pub pod_identity_label: Option<Span>,
    pub spec: Span,
    pub volumes: Option<Span>,
    pub init_containers: Vec<ContainerPlaces>,
    pub containers: Vec<ContainerPlaces>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ContainerPlaces {
    pub object: Span,
    pub env: Option<Span>,
    pub mounts: Option<Span>,
}

/// A list of objects, or `null`: the `name` of each item, and the list's span.
fn named_list<'a>(scan: &mut Scanner<'a>, names: &mut Vec<&'a str>) -> Option<Span> {
    if let Some(null) = scan.null()? {
        return Some(null);
    }
    scan.array(|scan| {
        let mut seen = Seen::default();
        scan.object(|key, scan| match key {
            b"name" => {
                seen.first(key)?;
                names.extend(scan.opt_str()?);
                Some(())
            }
            _ => scan.value().map(drop),
        })
        .map(drop)
    })
}

/// What the allow-list reads of one container, gathered as it is walked.
#[derive(Default)]
struct Fact<'a> {
    mounts: Vec<(&'a str, &'a str)>,
    target: Option<&'a str>,
    env: Vec<usage::Env<'a>>,
    env_from: Vec<usage::EnvFrom<'a>>,
    command: Vec<std::borrow::Cow<'a, str>>,
    args: Vec<std::borrow::Cow<'a, str>>,
}

/// A list of containers, or `null`. `facts` is where the allow-list's
/// reading goes, when asked for.
fn containers<'a>(
    scan: &mut Scanner<'a>,
    kind: ContainerKind,
    shapes: &mut Vec<ContainerShape<'a>>,
    places: &mut Vec<ContainerPlaces>,
    mut facts: Option<&mut Vec<usage::Container<'a>>>,
) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    let mut index = 0;
    scan.array(|scan| {
        let mut shape = ContainerShape::default();
        let mut place = ContainerPlaces::default();
        let reading = facts.is_some();
        let mut fact = Fact::default();
        let mut seen = Seen::default();
        place.object = scan.object(|key, scan| {
            match key {
                b"name" => {
                    seen.first(key)?;
                    shape.name = scan.opt_str()?.unwrap_or("");
                }
                b"env" => {
                    seen.first(key)?;
                    place.env = Some(if reading {
                        rules::env_list(scan, &mut shape.env, &mut fact.env)?
                    } else {
                        named_list(scan, &mut shape.env)?
                    });
                }
                b"volumeMounts" => {
                    seen.first(key)?;
                    place.mounts = Some(if reading {
                        rules::mount_list(scan, &mut shape.mounts, &mut fact.mounts)?
                    } else {
                        named_list(scan, &mut shape.mounts)?
                    });
                }
                b"envFrom" if reading => {
                    seen.first(key)?;
                    rules::env_from_list(scan, &mut fact.env_from)?;
                }
                b"command" if reading => {
                    seen.first(key)?;
                    rules::word_list(scan, &mut fact.command)?;
                }
                b"args" if reading => {
                    seen.first(key)?;
                    rules::word_list(scan, &mut fact.args)?;
                }
                // Hooks and exec probes run commands with the container's
                // env: the parsed path reads them (`usage::read`).
                b"lifecycle" | b"livenessProbe" | b"readinessProbe" | b"startupProbe"
                    if reading =>
                {
                    let span = scan.value()?;
                    if scan.text_of(span)?.contains("exec") {
                        return None;
                    }
                }
                b"targetContainerName" if reading => {
                    seen.first(key)?;
                    fact.target = scan.opt_str()?.filter(|t| !t.is_empty());
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        if let Some(facts) = facts.as_deref_mut() {
            facts.push(usage::Container {
                who: ContainerRef {
                    kind,
                    name: shape.name.into(),
                },
                index,
                mounts: fact.mounts,
                target: fact.target,
                env: fact.env,
                env_from: fact.env_from,
                command: fact.command,
                args: fact.args,
                exec: Vec::new(),
            });
        }
        shapes.push(shape);
        places.push(place);
        index += 1;
        Some(())
    })
    .map(drop)
}

impl<'a> PodText<'a> {
    /// `metadata.annotations` as the parsed path has them, for identity
    /// resolution; `None` (give up) if a value is not a string.
    pub fn annotations(&self) -> Option<Option<Map<String, Value>>> {
        let Some(text) = self.annotations else {
            return Some(None);
        };
        let map: Map<String, Value> = serde_json::from_str(text).ok()?;
        map.values().all(Value::is_string).then_some(Some(map))
    }

    /// Reads the Pod's text; `None` sends the caller to the parsed path.
    pub fn read(text: &'a str) -> Option<PodText<'a>> {
        Self::read_as(text, false)
    }

    /// [`PodText::read`], also reading what the allow-list reads.
    pub fn read_with_usage(text: &'a str) -> Option<PodText<'a>> {
        Self::read_as(text, true)
    }

    fn read_as(text: &'a str, with_usage: bool) -> Option<PodText<'a>> {
        let mut pod = PodText::default();
        if with_usage {
            pod.usage = Some(usage::Spec::default());
        }
        pod.shape.labels_writable = true;
        let mut spec = None;
        let mut seen = Seen::default();
        let mut scan = Scanner::new(text);
        pod.places.root = scan.object(|key, scan| match key {
            b"metadata" => {
                seen.first(key)?;
                pod.read_metadata(text, scan)
            }
            b"spec" => {
                seen.first(key)?;
                // A Pod without a spec is for the parsed path to reject.
                spec = Some(pod.read_spec(scan)?);
                Some(())
            }
            _ => scan.value().map(drop),
        })?;
        pod.places.spec = spec?;
        Some(pod)
    }

    fn read_metadata(&mut self, text: &'a str, scan: &mut Scanner<'a>) -> Option<()> {
        if let Some(null) = scan.null()? {
            self.places.metadata = Some(null);
            return Some(());
        }
        let mut seen = Seen::default();
        let metadata = scan.object(|key, scan| {
            match key {
                b"name" => {
                    seen.first(key)?;
                    self.name = scan.opt_str()?;
                }
                b"generateName" => {
                    seen.first(key)?;
                    self.generate_name = scan.opt_str()?;
                }
                b"namespace" => {
                    seen.first(key)?;
                    self.namespace = scan.opt_str()?;
                }
                b"annotations" => {
                    seen.first(key)?;
                    let span = scan.value()?;
                    let annotations = text.get(span.start..span.end)?;
                    match annotations.as_bytes().first()? {
                        b'{' => self.annotations = Some(annotations),
                        b'n' => {}
                        _ => return None,
                    }
                }
                b"labels" => {
                    seen.first(key)?;
                    self.places.labels = Some(match scan.null()? {
                        Some(null) => null,
                        None => scan.object(|key, scan| {
                            let (value, span) = scan.str_spanned()?;
                            if key == SKIP_WEBHOOK_LABEL.as_bytes() {
                                self.shape.skip_webhook_labeled = true;
                            }
                            if key == POD_IDENTITY_LABEL.as_bytes() {
                                self.places.pod_identity_label = Some(span);
                                self.shape.pod_identity_labeled = value == POD_IDENTITY_LABEL_VALUE;
                            }
                            Some(())
                        })?,
                    });
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        self.places.metadata = Some(metadata);
        Some(())
    }

    /// Reads `spec` and returns its span.
    fn read_spec(&mut self, scan: &mut Scanner<'a>) -> Option<Span> {
        let mut seen = Seen::default();
        let mut node_selector = [None; 2];
        let reading = self.usage.is_some();
        // The allow-list's reading, by container kind (read in any order,
        // kept in `ContainerKind::ALL` order).
        let mut facts: [Vec<usage::Container<'a>>; 3] = Default::default();
        let [init_facts, regular_facts, ephemeral_facts] = &mut facts;
        let mut volumes = Vec::new();
        let (mut os_windows, mut shared_processes) = (false, false);
        let spec = scan.object(|key, scan| {
            match key {
                b"serviceAccountName" => {
                    seen.first(key)?;
                    self.service_account_name = scan.opt_str()?;
                }
                b"serviceAccount" => {
                    seen.first(key)?;
                    self.service_account = scan.opt_str()?;
                }
                b"nodeSelector" => {
                    seen.first(key)?;
                    if scan.null()?.is_none() {
                        scan.object(|key, scan| {
                            let value = scan.str()?;
                            // The last of duplicate keys counts.
                            for (k, v) in WINDOWS_NODE_SELECTORS.iter().zip(&mut node_selector) {
                                if key == k.as_bytes() {
                                    *v = Some(value);
                                }
                            }
                            Some(())
                        })?;
                    }
                }
                b"volumes" => {
                    seen.first(key)?;
                    self.places.volumes = Some(if reading {
                        rules::volume_list(scan, &mut self.shape.volumes, &mut volumes)?
                    } else {
                        named_list(scan, &mut self.shape.volumes)?
                    });
                }
                b"initContainers" => {
                    seen.first(key)?;
                    containers(
                        scan,
                        ContainerKind::Init,
                        &mut self.shape.init_containers,
                        &mut self.places.init_containers,
                        reading.then_some(&mut *init_facts),
                    )?;
                }
                b"containers" => {
                    seen.first(key)?;
                    containers(
                        scan,
                        ContainerKind::Regular,
                        &mut self.shape.containers,
                        &mut self.places.containers,
                        reading.then_some(&mut *regular_facts),
                    )?;
                }
                // Read only for the allow-list: the injection leaves
                // ephemeral containers alone.
                b"ephemeralContainers" if reading => {
                    seen.first(key)?;
                    containers(
                        scan,
                        ContainerKind::Ephemeral,
                        &mut Vec::new(),
                        &mut Vec::new(),
                        Some(&mut *ephemeral_facts),
                    )?;
                }
                b"os" if reading => {
                    seen.first(key)?;
                    os_windows = rules::os_windows(scan)?;
                }
                b"shareProcessNamespace" if reading => {
                    seen.first(key)?;
                    shared_processes = rules::is_true(scan)?;
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        self.shape.windows = node_selector.contains(&Some(WINDOWS_OS_VALUE));
        if let Some(usage) = &mut self.usage {
            *usage = usage::Spec {
                volumes,
                windows: os_windows || self.shape.windows,
                shared_processes,
                containers: facts.into_iter().flatten().collect(),
            };
        }
        Some(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_parsed_path_reads() {
        let pod = json!({
            "apiVersion": "v1",
            "metadata": {"name": "web", "generateName": "w-", "namespace": "ns",
                         "labels": {"eks.amazonaws.com/pod-identity": "enabled", "a": "b"},
                         "annotations": {"k": "v", "json": "{\"a\": \"\\u00e9\"}"},
                         "managedFields": [{"x": [1, {"y": "}"}]}]},
            "spec": {"serviceAccountName": "app", "serviceAccount": null,
                     "nodeSelector": {"kubernetes.io/os": "windows"},
                     "volumes": [{"name": "v1", "emptyDir": {}}, {"secret": {}}],
                     "initContainers": [{"name": "init", "restartPolicy": "Always"}],
                     "containers": [{"name": "c", "image": "i", "env": null,
                                     "volumeMounts": [{"name": "m", "mountPath": "/m"}]},
                                    {"name": "d", "env": [{"name": "A", "valueFrom": {"x": 1}},
                                                          {"value": "no name"}]}]},
            "status": {}});
        for text in [pod.to_string(), serde_json::to_string_pretty(&pod).unwrap()] {
            let read = PodText::read(&text).unwrap();
            assert_eq!(read.name, Some("web"));
            assert_eq!(read.generate_name, Some("w-"));
            assert_eq!(read.namespace, Some("ns"));
            assert_eq!(
                (read.service_account_name, read.service_account),
                (Some("app"), None)
            );
            assert_eq!(
                Some(&Value::Object(read.annotations().unwrap().unwrap())),
                pod["metadata"].get("annotations")
            );
            assert_eq!(read.shape, PodShape::of_value(&pod).unwrap());
            let at = |span: Option<Span>| span.map(|s| &text[s.start..s.end]);
            assert_eq!(at(read.places.pod_identity_label), Some("\"enabled\""));
            assert_eq!(at(read.places.containers[0].env), Some("null"));
            assert_eq!(read.places.containers[1].mounts, None);
            assert_eq!(read.places.init_containers.len(), 1);
            assert_eq!(at(Some(read.places.root)), Some(text.trim()));
        }
    }

    #[test]
    fn gives_up_where_the_parsed_path_must_judge() {
        for text in [
            r#"[]"#,
            r#"{}"#,
            r#"{"spec": null}"#,
            r#"{"spec": []}"#,
            r#"{"spec": {"containers": [["c"]]}}"#,
            r#"{"spec": {"containers": [{"name": 1}]}}"#,
            r#"{"spec": {"containers": [{"env": {}}]}}"#,
            r#"{"spec": {"containers": [{"env": [{"name": "A"}, 3]}]}}"#,
            r#"{"spec": {"containers": [{"name": "a", "name": "b"}]}}"#,
            r#"{"spec": {}, "spec": {}}"#,
            r#"{"spec": {"volumes": [{"name": "\u0061"}]}}"#,
            r#"{"spec": {"nodeSelector": {"kubernetes.io/os": 1}}}"#,
            r#"{"spec": {"\u0063ontainers": []}}"#,
            r#"{"metadata": {"labels": {"a": null}}, "spec": {}}"#,
            r#"{"metadata": {"annotations": 1}, "spec": {}}"#,
            r#"{"metadata": "x", "spec": {}}"#,
            r#"{"metadata": {"name": 5}, "spec": {}}"#,
        ] {
            assert!(PodText::read(text).is_none(), "{text}");
        }
    }

    /// The deepest points the walk descends to before skipping a value:
    /// nesting there must still be one that `Value` parsing accepts
    /// (serde_json stops at 128 levels) whenever the reader accepts it.
    #[test]
    fn nesting_at_the_deepest_walk_point_parses_whenever_it_is_read() {
        let deepest = |n: usize| {
            let nested = format!("{}1{}", "[".repeat(n), "]".repeat(n));
            [
                format!(
                    r#"{{"spec": {{"volumes": [{{"name": "v", "projected": {{"sources": [{{"serviceAccountToken": {{"x": {nested}}}}}]}}}}]}}}}"#
                ),
                format!(
                    r#"{{"spec": {{"containers": [{{"env": [{{"name": "A", "valueFrom": {{"x": {nested}}}}}]}}]}}}}"#
                ),
            ]
        };
        let max = crate::splice::MAX_DEPTH;
        for n in [max - 1, max, max + 1, 120, 127] {
            for text in deepest(n) {
                let parses = serde_json::from_str::<Value>(&text).is_ok();
                let read = PodText::read_with_usage(&text).is_some();
                assert!(!read || parses, "read but not parsed at depth {n}: {text}");
                assert_eq!(read, n <= max, "depth {n}");
            }
        }
    }

    #[test]
    fn annotations_are_read_only_when_asked_for() {
        let read = |annotations: &str| {
            let text = format!(r#"{{"metadata": {{"annotations": {annotations}}}, "spec": {{}}}}"#);
            PodText::read(&text).map(|pod| pod.annotations())
        };
        assert_eq!(read("null"), Some(Some(None)));
        assert_eq!(
            read(r#"{"a": 1}"#),
            Some(None),
            "a non-string value gives up"
        );
        let escaped = read(r#"{"\u0061": "x", "a": "y\n"}"#)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(escaped),
            json!({"a": "y\n"}),
            "the last of duplicates counts"
        );
    }

    #[test]
    fn duplicate_map_keys_count_as_parsed_the_last() {
        let text = r#"{"metadata": {"labels": {"eks.amazonaws.com/pod-identity": "x",
                       "eks.amazonaws.com/pod-identity": "enabled"}},
                      "spec": {"nodeSelector": {"kubernetes.io/os": "windows", "kubernetes.io/os": "linux"}}}"#;
        let pod: Value = serde_json::from_str(text).unwrap();
        let read = PodText::read(text).unwrap();
        assert_eq!(read.shape, PodShape::of_value(&pod).unwrap());
        assert!(read.shape.pod_identity_labeled && !read.shape.windows);
    }
}
