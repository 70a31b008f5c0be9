//! kubelet's `$(VAR)` expansion, so the rules read env values, `command`
//! and `args` as the process gets them.
//!
//! kubelet (`kubelet_pods.go`, `makeEnvironmentVariables`) puts the keys of
//! every `envFrom` source in a map first, then walks `env` in order: each
//! literal value is expanded (`third_party/forked/golang/expansion`,
//! `Expand` with `MappingFuncFor`) against the map as it stands, then
//! stored under its name, so only earlier entries (and `envFrom` keys)
//! count and a later entry of the same name replaces an earlier one.
//! `command` and `args` are expanded against the final map
//! (`ExpandContainerCommandAndArgs`). In `Expand`, `$$` is a `$`, `$(NAME)`
//! is NAME's value or, for an unknown NAME, `$(NAME)` as written, an
//! unclosed `$(` is kept, and `$` before any other byte is kept with it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::JudgedSources;
use super::{EnvFrom, EnvSource};

/// Expanded text a Pod may produce in all, beyond which a value is not
/// expanded: `$(A)$(A)...` doubling at each entry would otherwise grow
/// exponentially in the request. No real Pod comes near it.
pub const EXPANSION_BUDGET: usize = 1 << 20;

/// A value as the process gets it, as far as the policy can know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Expanded<'v> {
    Known(Cow<'v, str>),
    /// Set wholly from what the policy cannot read. `judged` when that is
    /// a judged ConfigMap or Secret.
    Unread {
        from: Origin,
        judged: bool,
    },
    /// Text with parts the policy cannot read: the known text around them,
    /// and where the first such part came from.
    Partial {
        known: String,
        from: Origin,
    },
}

/// Where an unread part came from: a `valueFrom` kind or an `envFrom`
/// source (`root`), reached through the variable `via` when the value
/// refers to one. Only the first hop is named, so a chain of references
/// costs no more than its names.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub via: Option<String>,
    pub root: Rc<str>,
}

impl Origin {
    fn root(root: String) -> Self {
        Origin {
            via: None,
            root: root.into(),
        }
    }

    fn via(&self, name: &str) -> Self {
        Origin {
            via: Some(name.to_owned()),
            root: self.root.clone(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.via {
            Some(name) => write!(f, "$({name}), which comes from {}", self.root),
            None => f.write_str(&self.root),
        }
    }
}

impl Expanded<'_> {
    /// The text the policy can read, and where the rest came from.
    pub fn known(&self) -> (&str, Option<&Origin>) {
        match self {
            Expanded::Known(text) => (text, None),
            Expanded::Unread { from, .. } => ("", Some(from)),
            Expanded::Partial { known, from } => (known, Some(from)),
        }
    }
}

/// The container's variables as kubelet builds them, for expanding.
pub struct Expander<'c, 'v> {
    env_from: EnvFromKeys,
    judged: JudgedSources,
    /// The latest value of each name defined by `env` so far. Built only
    /// when some value refers to a variable.
    defined: HashMap<&'v str, Expanded<'v>>,
    /// What is left of [`EXPANSION_BUDGET`] for the whole Pod.
    budget: &'c mut usize,
}

impl<'c, 'v> Expander<'c, 'v> {
    pub fn new(env_from: &'c [EnvFrom<'v>], judged: JudgedSources, budget: &'c mut usize) -> Self {
        Expander {
            env_from: EnvFromKeys::new(env_from, judged),
            judged,
            defined: HashMap::new(),
            budget,
        }
    }

    /// The value of an `env` entry `name`, expanded against the entries
    /// before it; then it is defined for the entries after it.
    /// `refers` says whether any value or word of the container has a `$`:
    /// without one nothing needs remembering.
    pub fn entry(&mut self, name: &'v str, source: &EnvSource<'v>, refers: bool) -> Expanded<'v> {
        let value = match source {
            EnvSource::Literal(text) => self.expand(text),
            EnvSource::From(kind) => Expanded::Unread {
                from: Origin::root((*kind).to_owned()),
                judged: source.judged(self.judged),
            },
        };
        if refers {
            self.defined.insert(name, value.clone());
        }
        value
    }

    /// `text` expanded against the variables defined so far.
    pub fn expand(&mut self, text: &Cow<'v, str>) -> Expanded<'v> {
        if !text.contains('$') {
            return Expanded::Known(text.clone());
        }
        let bytes = text.as_bytes();
        let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
        let mut unread: Option<Origin> = None;
        let mut whole: Option<Expanded<'v>> = None;
        let mut checkpoint = 0;
        let mut cursor = 0;
        while cursor < bytes.len() {
            let next = bytes.get(cursor + 1).copied();
            if bytes.get(cursor) != Some(&b'$') || next.is_none() {
                cursor += 1;
                continue;
            }
            out.extend_from_slice(bytes.get(checkpoint..cursor).unwrap_or_default());
            let rest = bytes.get(cursor + 1..).unwrap_or_default();
            let advance = match next {
                Some(b'$') => {
                    out.push(b'$');
                    1
                }
                Some(b'(') => match rest.iter().position(|b| *b == b')') {
                    Some(close) => {
                        let name = text.get(cursor + 2..cursor + 1 + close).unwrap_or_default();
                        let value = self.lookup(name);
                        if cursor == 0 && cursor + 2 + close == bytes.len() {
                            // The whole value is one reference: it is that
                            // variable's value, judged or not.
                            whole = Some(match &value {
                                Expanded::Unread { from, judged } => Expanded::Unread {
                                    from: from.via(name),
                                    judged: *judged,
                                },
                                other => other.clone(),
                            });
                        }
                        let (known, from) = value.known();
                        out.extend_from_slice(known.as_bytes());
                        if let Some(from) = from {
                            unread.get_or_insert_with(|| from.via(name));
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                // Go's `string(input[0])` of a byte: the character with
                // that code, which differs from the byte only above ASCII.
                Some(other) => {
                    out.push(b'$');
                    let mut buf = [0; 4];
                    out.extend_from_slice(char::from(other).encode_utf8(&mut buf).as_bytes());
                    1
                }
                None => 0,
            };
            cursor += advance;
            checkpoint = cursor + 1;
            cursor += 1;
            if out.len() > *self.budget {
                return self.over_budget();
            }
        }
        out.extend_from_slice(bytes.get(checkpoint..).unwrap_or_default());
        if out.len() > *self.budget {
            return self.over_budget();
        }
        *self.budget -= out.len();
        if let Some(whole) = whole {
            return whole;
        }
        let known = String::from_utf8_lossy(&out).into_owned();
        match unread {
            None => Expanded::Known(Cow::Owned(known)),
            Some(from) => Expanded::Partial { known, from },
        }
    }

    fn over_budget(&mut self) -> Expanded<'v> {
        *self.budget = 0;
        Expanded::Unread {
            from: Origin::root(format!(
                "$(VAR) expansions longer than {EXPANSION_BUDGET} bytes"
            )),
            judged: false,
        }
    }

    /// `MappingFuncFor`: an `env` entry defined earlier, else an `envFrom`
    /// key (unread), else the reference as written.
    fn lookup(&self, name: &str) -> Expanded<'v> {
        if let Some(value) = self.defined.get(name) {
            return value.clone();
        }
        if self.env_from.reach(name) {
            return Expanded::Unread {
                from: self.env_from.origin.clone(),
                judged: self.env_from.all_judged,
            };
        }
        Expanded::Known(Cow::Owned(format!("$({name})")))
    }
}

/// Which names a container's `envFrom` sources can define, looked up in
/// time linear in the name (a scan of every source per reference was
/// quadratic): a trie of their prefixes, case ignored.
struct EnvFromKeys {
    /// Edges `(node, byte) -> node`; node 0 is the root (the empty prefix).
    edges: HashMap<(usize, u8), usize>,
    /// Whether a prefix ends at each node.
    ends: Vec<bool>,
    /// Every source is judged: whatever reaches a name, it was judged.
    all_judged: bool,
    /// The source named in messages: the only one, or all of them.
    origin: Origin,
}

impl EnvFromKeys {
    fn new(sources: &[EnvFrom<'_>], judged: JudgedSources) -> Self {
        let mut keys = EnvFromKeys {
            edges: HashMap::new(),
            ends: vec![false],
            all_judged: sources.iter().all(|s| s.judged(judged)),
            origin: Origin::root(match sources {
                [one] => format!("envFrom {}", one.describe()),
                _ => "one of its envFrom sources".to_owned(),
            }),
        };
        for source in sources {
            let mut node = 0;
            for b in source.prefix.bytes() {
                let next = keys.ends.len();
                node = *keys
                    .edges
                    .entry((node, b.to_ascii_lowercase()))
                    .or_insert(next);
                if node == next {
                    keys.ends.push(false);
                }
            }
            if let Some(end) = keys.ends.get_mut(node) {
                *end = true;
            }
        }
        keys
    }

    /// Whether some source's prefix is a strict prefix of `name` (keys are
    /// never empty).
    fn reach(&self, name: &str) -> bool {
        let mut node = 0;
        for b in name.bytes() {
            if self.ends.get(node).copied().unwrap_or(false) {
                return true;
            }
            match self.edges.get(&(node, b.to_ascii_lowercase())) {
                Some(next) => node = *next,
                None => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_all(entries: &[(&'static str, &'static str)]) -> Vec<Expanded<'static>> {
        let mut budget = EXPANSION_BUDGET;
        let mut expander = Expander::new(&[], JudgedSources::default(), &mut budget);
        entries
            .iter()
            .map(|(name, value)| {
                expander.entry(name, &EnvSource::Literal(Cow::Borrowed(value)), true)
            })
            .collect()
    }

    fn known(value: &str) -> Expanded<'static> {
        Expanded::Known(Cow::Owned(value.to_owned()))
    }

    #[test]
    fn expands_as_kubelet_does() {
        let got = expand_all(&[
            ("A", "a"),
            ("B", "$(A)-$(A)"),
            ("C", "$$(A) $$ $(MISSING) $(A"),
            ("D", "$(C)$"),
            ("E", "x$yz$"),
            ("A", "again"),
            ("F", "$(A)"),
            ("G", "$(G)"),
        ]);
        assert_eq!(got[1], known("a-a"));
        assert_eq!(got[2], known("$(A) $ $(MISSING) $(A"));
        assert_eq!(got[3], known("$(A) $ $(MISSING) $(A$"));
        assert_eq!(got[4], known("x$yz$"));
        assert_eq!(
            got[6],
            known("again"),
            "a later entry replaces an earlier one"
        );
        assert_eq!(got[7], known("$(G)"), "only earlier entries count");
    }

    #[test]
    fn unread_parts_are_followed() {
        let mut budget = EXPANSION_BUDGET;
        let from = [EnvFrom {
            prefix: "",
            source: Some(("ConfigMap", "cm")),
        }];
        let judged = JudgedSources {
            config_maps: true,
            secrets: false,
        };
        let mut e = Expander::new(&from, judged, &mut budget);
        let secret = e.entry("S", &EnvSource::From("secretKeyRef"), true);
        let show = |v: &Expanded<'_>| match v {
            Expanded::Unread { from, judged } => format!("unread {from} judged={judged}"),
            Expanded::Partial { known, from } => format!("partial {known:?} {from}"),
            Expanded::Known(k) => format!("known {k}"),
        };
        assert_eq!(show(&secret), "unread secretKeyRef judged=false");
        let lit = |t: &'static str| EnvSource::Literal(Cow::Borrowed(t));
        assert_eq!(
            show(&e.entry("W", &lit("$(S)"), true)),
            "unread $(S), which comes from secretKeyRef judged=false",
            "a whole reference is the variable"
        );
        assert_eq!(
            show(&e.entry("P", &lit("-Da=$(S) -Db"), true)),
            "partial \"-Da= -Db\" $(S), which comes from secretKeyRef"
        );
        assert_eq!(
            show(&e.entry("X", &lit("$(FROM_CM)"), true)),
            "unread $(FROM_CM), which comes from envFrom ConfigMap \"cm\" judged=true",
            "an unknown name may be an envFrom key"
        );
        // A chain names only the first hop and the root.
        e.entry("Y", &lit("x$(W)"), true);
        assert_eq!(
            show(&e.entry("Z", &lit("y$(Y)"), true)),
            "partial \"yx\" $(Y), which comes from secretKeyRef"
        );
    }

    #[test]
    fn env_from_prefixes_reach_longer_names_only() {
        let sources = [
            EnvFrom {
                prefix: "APP_",
                source: Some(("Secret", "s")),
            },
            EnvFrom {
                prefix: "DB",
                source: Some(("ConfigMap", "c")),
            },
        ];
        let keys = EnvFromKeys::new(&sources, JudgedSources::default());
        for (name, reached) in [
            ("APP_X", true),
            ("app_x", true),
            ("APP_", false),
            ("AP", false),
            ("DB_URL", true),
            ("DBX", true),
            ("DB", false),
            ("OTHER", false),
        ] {
            assert_eq!(keys.reach(name), reached, "{name}");
        }
        let all = EnvFromKeys::new(
            &[EnvFrom {
                prefix: "",
                source: None,
            }],
            JudgedSources::default(),
        );
        assert!(all.reach("A") && !all.reach(""));
        assert!(!EnvFromKeys::new(&[], JudgedSources::default()).reach("A"));
    }

    #[test]
    fn doubling_stops_at_the_budget() {
        let mut budget = EXPANSION_BUDGET;
        let mut e = Expander::new(&[], JudgedSources::default(), &mut budget);
        let lit = |t: &'static str| EnvSource::Literal(Cow::Borrowed(t));
        e.entry("V0", &lit("xxxxxxxxxxxxxxxx"), true);
        let names: Vec<String> = (0..40).map(|i| format!("V{i}")).collect();
        let mut last = None;
        for i in 1..40 {
            let value: &'static str =
                Box::leak(format!("$({0})$({0})", names[i - 1]).into_boxed_str());
            let name: &'static str = Box::leak(names[i].clone().into_boxed_str());
            last = Some(e.entry(name, &lit(value), true));
        }
        let (_, from) = last.as_ref().unwrap().known();
        assert!(
            from.is_some_and(|f| f.root.contains("expansions longer than")),
            "{last:?}"
        );
        assert_eq!(budget, 0);
    }
}
