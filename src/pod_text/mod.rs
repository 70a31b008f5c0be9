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
use crate::pod::PodShape;
use crate::role::ContainerKind;
use crate::splice::{Scanner, Seen, Span};
use crate::usage::{self, text as rules};

mod containers;

use containers::containers;

/// Where the one-pass reader gave up (a field of another type, a key
/// written with an escape or twice, a string it must decode, a number or
/// nesting only parsing can judge); the parsed Pod then reads the Pod and
/// names anything wrong. Logged under `decisionLogs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GiveUp {
    /// The object itself.
    #[default]
    Pod,
    Metadata,
    /// An annotation whose value is not a string.
    Annotations,
    /// `spec`, outside its volumes and containers.
    Spec,
    Volumes,
    /// A container list, or a container in it.
    Containers(ContainerKind),
    /// A lifecycle hook or probe that runs a command, read for the
    /// allow-list by the parsed Pod only.
    Command(ContainerKind),
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::Pod => f.write_str("the object"),
            GiveUp::Metadata => f.write_str("metadata"),
            GiveUp::Annotations => f.write_str("metadata.annotations (a value not a string)"),
            GiveUp::Spec => f.write_str("spec"),
            GiveUp::Volumes => f.write_str("spec.volumes"),
            GiveUp::Containers(kind) => write!(f, "spec.{}", kind.field()),
            GiveUp::Command(kind) => write!(f, "a hook or probe command in spec.{}", kind.field()),
        }
    }
}

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
pub(super) fn named_list<'a>(
    scan: &mut Scanner<'a>,
    names: &mut Vec<&'a str>,
    room: usize,
) -> Option<Span> {
    if let Some(null) = scan.null()? {
        return Some(null);
    }
    names.reserve(room);
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

/// What reading a spec gathers besides the Pod's shape and places.
#[derive(Default)]
struct SpecRead<'a> {
    /// Whether the allow-list's facts are read.
    reading: bool,
    seen: Seen<'a>,
    node_selector: [Option<&'a str>; 2],
    /// The allow-list's facts by container kind (read in any order, kept
    /// in `ContainerKind::ALL` order).
    facts: [Vec<usage::Container<'a>>; 3],
    volumes: Vec<usage::Volume<'a>>,
    os_windows: bool,
    shared_processes: bool,
    /// Where a give-up happens.
    at: GiveUp,
}

/// `nodeSelector`, or `null`: the values of the Windows selector keys (the
/// last of duplicate keys counts).
fn read_node_selector<'a>(scan: &mut Scanner<'a>, values: &mut [Option<&'a str>; 2]) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    scan.object(|key, scan| {
        let value = scan.str()?;
        for (k, v) in WINDOWS_NODE_SELECTORS.iter().zip(values.iter_mut()) {
            if key == k.as_bytes() {
                *v = Some(value);
            }
        }
        Some(())
    })
    .map(drop)
}

impl<'a> PodText<'a> {
    /// `metadata.annotations` as the parsed path has them, for identity
    /// resolution; a value that is not a string gives up.
    pub fn annotations(&self) -> Result<Option<Map<String, Value>>, GiveUp> {
        let Some(text) = self.annotations else {
            return Ok(None);
        };
        let map: Map<String, Value> =
            serde_json::from_slice(text.as_bytes()).map_err(|_| GiveUp::Annotations)?;
        match map.values().all(Value::is_string) {
            true => Ok(Some(map)),
            false => Err(GiveUp::Annotations),
        }
    }

    /// Reads the Pod's text; a give-up sends the caller to the parsed path.
    pub fn read(text: &'a str) -> Result<PodText<'a>, GiveUp> {
        Self::read_as(text, false)
    }

    /// [`PodText::read`], also reading what the allow-list reads.
    pub fn read_with_usage(text: &'a str) -> Result<PodText<'a>, GiveUp> {
        Self::read_as(text, true)
    }

    fn read_as(text: &'a str, with_usage: bool) -> Result<PodText<'a>, GiveUp> {
        let mut pod = PodText::default();
        if with_usage {
            pod.usage = Some(usage::Spec::default());
        }
        pod.shape.labels_writable = true;
        let mut spec = None;
        let mut seen = Seen::default();
        let mut scan = Scanner::new(text);
        let mut at = GiveUp::Pod;
        let root = scan.object(|key, scan| match key {
            b"metadata" => {
                seen.first(key)?;
                at = GiveUp::Metadata;
                pod.read_metadata(text, scan)?;
                at = GiveUp::Pod;
                Some(())
            }
            b"spec" => {
                seen.first(key)?;
                // A Pod without a spec is for the parsed path to reject.
                spec = Some(pod.read_spec(scan).map_err(|give_up| at = give_up).ok()?);
                Some(())
            }
            _ => scan.value().map(drop),
        });
        pod.places.root = root.ok_or(at)?;
        pod.places.spec = spec.ok_or(GiveUp::Spec)?;
        Ok(pod)
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
    fn read_spec(&mut self, scan: &mut Scanner<'a>) -> Result<Span, GiveUp> {
        let mut read = SpecRead {
            reading: self.usage.is_some(),
            at: GiveUp::Spec,
            ..SpecRead::default()
        };
        let spec = scan.object(|key, scan| self.spec_member(key, scan, &mut read));
        let spec = spec.ok_or(read.at)?;
        self.shape.windows = read.node_selector.contains(&Some(WINDOWS_OS_VALUE));
        if let Some(usage) = &mut self.usage {
            *usage = usage::Spec {
                volumes: read.volumes,
                windows: read.os_windows || self.shape.windows,
                shared_processes: read.shared_processes,
                containers: read.facts.into_iter().flatten().collect(),
            };
        }
        Ok(spec)
    }

    /// Reads the value of the spec's member `key`.
    fn spec_member(
        &mut self,
        key: &'a [u8],
        scan: &mut Scanner<'a>,
        read: &mut SpecRead<'a>,
    ) -> Option<()> {
        let reading = read.reading;
        let [init_facts, regular_facts, ephemeral_facts] = &mut read.facts;
        match key {
            b"serviceAccountName" => {
                read.seen.first(key)?;
                self.service_account_name = scan.opt_str()?;
            }
            b"serviceAccount" => {
                read.seen.first(key)?;
                self.service_account = scan.opt_str()?;
            }
            b"nodeSelector" => {
                read.seen.first(key)?;
                read_node_selector(scan, &mut read.node_selector)?;
            }
            b"volumes" => {
                read.seen.first(key)?;
                read.at = GiveUp::Volumes;
                self.places.volumes = Some(if reading {
                    rules::volume_list(scan, &mut self.shape.volumes, &mut read.volumes)?
                } else {
                    named_list(scan, &mut self.shape.volumes, 0)?
                });
                read.at = GiveUp::Spec;
            }
            b"initContainers" | b"containers" => {
                read.seen.first(key)?;
                let (kind, shapes, places, facts) = match key {
                    b"initContainers" => (
                        ContainerKind::Init,
                        &mut self.shape.init_containers,
                        &mut self.places.init_containers,
                        init_facts,
                    ),
                    _ => (
                        ContainerKind::Regular,
                        &mut self.shape.containers,
                        &mut self.places.containers,
                        regular_facts,
                    ),
                };
                let facts = reading.then_some(facts);
                if let Err(give_up) = containers(scan, kind, shapes, places, facts) {
                    read.at = give_up;
                    return None;
                }
            }
            // Read only for the allow-list: the injection leaves
            // ephemeral containers alone.
            b"ephemeralContainers" if reading => {
                read.seen.first(key)?;
                let kind = ContainerKind::Ephemeral;
                let facts = Some(ephemeral_facts);
                if let Err(give_up) =
                    containers(scan, kind, &mut Vec::new(), &mut Vec::new(), facts)
                {
                    read.at = give_up;
                    return None;
                }
            }
            b"os" if reading => {
                read.seen.first(key)?;
                read.os_windows = rules::os_windows(scan)?;
            }
            b"shareProcessNamespace" if reading => {
                read.seen.first(key)?;
                read.shared_processes = rules::is_true(scan)?;
            }
            _ => {
                scan.value()?;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reserving room is for ordinary Pods: past the first containers a
    /// one-entry list grows as it would, so a tenant's Pod of many small
    /// containers costs no more memory than before.
    #[test]
    fn only_the_first_containers_reserve_room() {
        let containers: Vec<Value> = (0..70)
            .map(|i| json!({"name": format!("c{i}"), "env": [{"name": "A", "value": "1"}]}))
            .collect();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": containers}});
        let text = pod.to_string();
        let read = PodText::read_with_usage(&text).unwrap();
        let spec = read.usage.unwrap();
        let first = &spec.containers[0];
        let last = &spec.containers[69];
        assert!(
            first.env.capacity() >= crate::usage::text::ENTRIES,
            "{}",
            first.env.capacity()
        );
        assert!(
            last.env.capacity() < crate::usage::text::ENTRIES,
            "{}",
            last.env.capacity()
        );
        assert_eq!(last.env.len(), 1);
    }

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
            assert!(PodText::read(text).is_err(), "{text}");
        }
    }

    /// Hooks and probes are read only by the parsed Pod: the one pass must
    /// give up wherever that reader would find a command or a type error.
    #[test]
    fn hooks_and_probes_give_up_where_the_parsed_reader_would_read_or_fail() {
        let pod = |container: &str| format!(r#"{{"spec": {{"containers": [{container}]}}}}"#);
        for container in [
            r#"{"startupProbe": {"exec": {"command": ["x"]}}}"#,
            r#"{"startupProbe": [{"name": "x"}]}"#,
            r#"{"livenessProbe": "x"}"#,
            r#"{"readinessProbe": {"\u0065xec": {"command": ["x"]}}}"#,
            r#"{"lifecycle": []}"#,
            r#"{"lifecycle": {"postStart": "x"}}"#,
            r#"{"lifecycle": {"preStop": {"\u0065xec": {"command": ["x"]}}}}"#,
        ] {
            assert!(
                PodText::read_with_usage(&pod(container)).is_err(),
                "{container}"
            );
            assert!(PodText::read(&pod(container)).is_ok(), "{container}");
        }
        for container in [
            r#"{"startupProbe": null, "lifecycle": null}"#,
            r#"{"livenessProbe": {"httpGet": {"path": "/", "port": 8080}}}"#,
            r#"{"lifecycle": {"postStart": null, "preStop": {"httpGet": {"port": 1}}, "x": [1]}}"#,
        ] {
            assert!(
                PodText::read_with_usage(&pod(container)).is_ok(),
                "{container}"
            );
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
                let read = PodText::read_with_usage(&text).is_ok();
                assert!(!read || parses, "read but not parsed at depth {n}: {text}");
                assert_eq!(read, n <= max, "depth {n}");
            }
        }
    }

    #[test]
    fn annotations_are_read_only_when_asked_for() {
        let read = |annotations: &str| {
            let text = format!(r#"{{"metadata": {{"annotations": {annotations}}}, "spec": {{}}}}"#);
            PodText::read(&text).ok().map(|pod| pod.annotations().ok())
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
