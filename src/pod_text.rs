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
use crate::mutation::{ContainerShape, PodShape};
use crate::splice::{Scanner, Span};

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

/// The keys of interest met in one object: a duplicate is left to the
/// parsed path, where the last one counts.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, key: u32) -> Option<()> {
        let bit = 1u32.checked_shl(key)?;
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first.then_some(())
    }
}

/// A string, or `null` (`None`).
fn opt_str<'a>(scan: &mut Scanner<'a>) -> Option<Option<&'a str>> {
    if scan.null()?.is_some() {
        return Some(None);
    }
    scan.str().map(Some)
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
                seen.first(0)?;
                names.extend(opt_str(scan)?);
                Some(())
            }
            _ => scan.value().map(drop),
        })
        .map(drop)
    })
}

/// A list of containers, or `null`.
fn containers<'a>(
    scan: &mut Scanner<'a>,
    shapes: &mut Vec<ContainerShape<'a>>,
    places: &mut Vec<ContainerPlaces>,
) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    scan.array(|scan| {
        let mut shape = ContainerShape::default();
        let mut place = ContainerPlaces::default();
        let mut seen = Seen::default();
        place.object = scan.object(|key, scan| {
            match key {
                b"name" => {
                    seen.first(0)?;
                    shape.name = opt_str(scan)?.unwrap_or("");
                }
                b"env" => {
                    seen.first(1)?;
                    place.env = Some(named_list(scan, &mut shape.env)?);
                }
                b"volumeMounts" => {
                    seen.first(2)?;
                    place.mounts = Some(named_list(scan, &mut shape.mounts)?);
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        shapes.push(shape);
        places.push(place);
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
        let mut pod = PodText::default();
        pod.shape.labels_writable = true;
        let mut spec = None;
        let mut seen = Seen::default();
        let mut scan = Scanner::new(text);
        pod.places.root = scan.object(|key, scan| match key {
            b"metadata" => {
                seen.first(0)?;
                pod.read_metadata(text, scan)
            }
            b"spec" => {
                seen.first(1)?;
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
                    seen.first(0)?;
                    self.name = opt_str(scan)?;
                }
                b"generateName" => {
                    seen.first(1)?;
                    self.generate_name = opt_str(scan)?;
                }
                b"namespace" => {
                    seen.first(2)?;
                    self.namespace = opt_str(scan)?;
                }
                b"annotations" => {
                    seen.first(3)?;
                    let span = scan.value()?;
                    let annotations = text.get(span.start..span.end)?;
                    match annotations.as_bytes().first()? {
                        b'{' => self.annotations = Some(annotations),
                        b'n' => {}
                        _ => return None,
                    }
                }
                b"labels" => {
                    seen.first(4)?;
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
        let spec = scan.object(|key, scan| {
            match key {
                b"serviceAccountName" => {
                    seen.first(0)?;
                    self.service_account_name = opt_str(scan)?;
                }
                b"serviceAccount" => {
                    seen.first(1)?;
                    self.service_account = opt_str(scan)?;
                }
                b"nodeSelector" => {
                    seen.first(2)?;
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
                    seen.first(3)?;
                    self.places.volumes = Some(named_list(scan, &mut self.shape.volumes)?);
                }
                b"initContainers" => {
                    seen.first(4)?;
                    containers(
                        scan,
                        &mut self.shape.init_containers,
                        &mut self.places.init_containers,
                    )?;
                }
                b"containers" => {
                    seen.first(5)?;
                    containers(
                        scan,
                        &mut self.shape.containers,
                        &mut self.places.containers,
                    )?;
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        self.shape.windows = node_selector.contains(&Some(WINDOWS_OS_VALUE));
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
