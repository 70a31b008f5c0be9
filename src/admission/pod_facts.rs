//! The facts a Pod CREATE is decided from, read once: from the request's
//! text in one pass ([`PodText`]), or, where that reader gives up, from the
//! parsed Pod, which names whatever is wrong. The handler does not know
//! which reader filled them; only the writer does ([`PodFacts::places`]).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::Outcome;
use super::steps::{self, Name};
use crate::json;
use crate::pod::{self, PodShape};
use crate::pod_text::{GiveUp, Places, PodText};
use crate::usage;

/// What the decisions read from one Pod.
pub(super) struct PodFacts<'p> {
    /// How messages name the Pod: `Pod "web"`, `Pod "web-" (generateName)`.
    pub name: Name,
    /// `metadata.namespace`, used when the request names none.
    pub namespace: Option<&'p str>,
    pub service_account: &'p str,
    pub annotations: Option<Cow<'p, Map<String, Value>>>,
    /// What the injection is planned from. An error counts only when
    /// something is to be injected (the webhook reads containers only then).
    pub shape: Result<PodShape<'p>, String>,
    /// What the allow-list reads; read only when there is an allow-list.
    pub usage: Option<usage::Spec<'p>>,
    /// Where the injection is spliced into the request's text; `None` when
    /// the facts come from the parsed Pod.
    pub places: Option<Places>,
}

impl<'p> PodFacts<'p> {
    /// The facts from the request's text, or where the one-pass reader gave
    /// up (it never names an error: the parsed Pod does).
    pub fn from_text(text: &'p str, with_usage: bool) -> Result<PodFacts<'p>, GiveUp> {
        let pod = match with_usage {
            true => PodText::read_with_usage(text)?,
            false => PodText::read(text)?,
        };
        let annotations = pod.annotations()?.map(Cow::Owned);
        Ok(PodFacts {
            name: Name::of(pod::display_name_of("Pod", pod.name, pod.generate_name)),
            namespace: pod.namespace,
            service_account: pod::service_account_of([
                pod.service_account_name,
                pod.service_account,
            ]),
            annotations,
            shape: Ok(pod.shape),
            usage: pod.usage,
            places: Some(pod.places),
        })
    }

    /// The facts from the parsed Pod; a field of the wrong type is a
    /// rejection that names it.
    pub fn from_value(object: &'p Value, with_usage: bool) -> Result<PodFacts<'p>, Outcome> {
        let name = Name::of(pod::display_name("Pod", object));
        if !object.is_object() {
            let error = json::type_error("the request's object", "a Pod object", object);
            return Err(name.bad(error));
        }
        let read = || {
            let namespace = json::str_at(object, &["metadata", "namespace"])?;
            let spec = steps::spec_at(object, &["spec"])?;
            let service_account = pod::service_account_name(spec, "spec")?;
            let annotations = pod::annotations(object)?.map(Cow::Borrowed);
            let usage = match with_usage {
                true => Some(usage::Spec::read(spec, "spec")?),
                false => None,
            };
            Ok((namespace, service_account, annotations, usage))
        };
        let (namespace, service_account, annotations, usage) =
            read().map_err(|e: String| name.bad(e))?;
        Ok(PodFacts {
            name,
            namespace,
            service_account,
            annotations,
            shape: PodShape::of_value(object),
            usage,
            places: None,
        })
    }
}
