//! The fields the rules read, taken from the Pod's request text by the
//! one-pass reader in [`crate::pod_text`], which calls these walkers as it
//! meets `env`, `volumeMounts`, `envFrom` and `volumes`.
//!
//! The contract is the scanner's: never more lenient than [`Spec::read`].
//! Anything not exactly as typed (a null where a list belongs is fine, as
//! it is for the `Value` reader; a number for a string, an escape in a value
//! the rules read, a duplicate key) gives up the whole read, and the caller
//! reads the parsed Pod, which names the problem.

use std::borrow::Cow;

use super::{DOWNWARD_API_ANNOTATION, Env, EnvFrom, EnvSource, Files, Volume};
use crate::splice::{Scanner, Seen, Span};

/// An object, or `null`, whose members `member` reads.
fn object_or_null<'a>(
    scan: &mut Scanner<'a>,
    member: impl FnMut(&'a [u8], &mut Scanner<'a>) -> Option<()>,
) -> Option<bool> {
    if scan.null()?.is_some() {
        return Some(false);
    }
    scan.object(member).map(|_| true)
}

/// The entries of an `env` or `volumeMounts` list most containers stay
/// within, reserved at once for the first containers of a Pod (measured:
/// growing one by one was a tenth of the text reader's instructions on a
/// 3-container Pod).
pub(crate) const ENTRIES: usize = 8;

/// An `env` list: every entry's name into `names` (for the injection), and
/// every entry into `env`. Returns the list's span.
pub fn env_list<'a>(
    scan: &mut Scanner<'a>,
    names: &mut Vec<&'a str>,
    env: &mut Vec<Env<'a>>,
    room: usize,
) -> Option<Span> {
    if let Some(null) = scan.null()? {
        return Some(null);
    }
    // Room for a usual container's entries and the injection's five: one
    // allocation each instead of a doubling per few entries.
    if room > 0 {
        names.reserve(room);
        env.reserve(room + 8);
    }
    scan.array(|scan| {
        let mut seen = Seen::default();
        let (mut name, mut value, mut value_from) = (None, None, None);
        scan.object(|key, scan| {
            match key {
                b"name" => {
                    seen.first(key)?;
                    name = scan.opt_str()?;
                }
                b"value" => {
                    seen.first(key)?;
                    value = Some(scan.value()?);
                }
                b"valueFrom" => {
                    seen.first(key)?;
                    let mut first: Option<&'a [u8]> = None;
                    let object = object_or_null(scan, |key, scan| {
                        first = Some(first.map_or(key, |f| f.min(key)));
                        scan.value().map(drop)
                    })?;
                    value_from = object.then_some(first);
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        let Some(name) = name else {
            return Some(());
        };
        names.push(name);
        let source = match value_from {
            Some(first) => EnvSource::From(match first {
                Some(key) => std::str::from_utf8(key).ok()?,
                None => "valueFrom",
            }),
            None => EnvSource::Literal(literal(scan, value)?),
        };
        env.push(Env {
            name,
            source: Ok(source),
        });
        Some(())
    })
}

/// A `value` that must be a string, or `null` or absent (`""`). Escapes are
/// decoded as the parsed path decodes them.
fn literal<'a>(scan: &Scanner<'a>, value: Option<Span>) -> Option<Cow<'a, str>> {
    let Some(span) = value else {
        return Some(Cow::Borrowed(""));
    };
    string_or_null(scan.text_of(span)?)
}

/// A JSON string's value (or `""` for `null`); `None` for another type.
fn string_or_null(text: &str) -> Option<Cow<'_, str>> {
    if text == "null" {
        return Some(Cow::Borrowed(""));
    }
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        return serde_json::from_str::<String>(text).ok().map(Cow::Owned);
    }
    Some(Cow::Borrowed(inner))
}

/// `command` or `args`: a list of strings, or `null`.
pub fn word_list<'a>(scan: &mut Scanner<'a>, words: &mut Vec<Cow<'a, str>>) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    scan.array(|scan| {
        let span = scan.value()?;
        let text = scan.text_of(span)?;
        // `null` is not a string here: the parsed path names it.
        if text == "null" {
            return None;
        }
        words.push(string_or_null(text)?);
        Some(())
    })
    .map(drop)
}

/// A `volumeMounts` list: names into `names`, (name, mountPath) into `mounts`.
pub fn mount_list<'a>(
    scan: &mut Scanner<'a>,
    names: &mut Vec<&'a str>,
    mounts: &mut Vec<(&'a str, &'a str)>,
    room: usize,
) -> Option<Span> {
    if let Some(null) = scan.null()? {
        return Some(null);
    }
    names.reserve(room / 2);
    mounts.reserve(room / 2);
    scan.array(|scan| {
        let mut seen = Seen::default();
        let (mut name, mut path) = (None, None);
        scan.object(|key, scan| {
            match key {
                b"name" => {
                    seen.first(key)?;
                    name = scan.opt_str()?;
                }
                b"mountPath" => {
                    seen.first(key)?;
                    path = scan.opt_str()?;
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        names.extend(name);
        mounts.push((name.unwrap_or_default(), path.unwrap_or_default()));
        Some(())
    })
}

/// An `envFrom` list: every entry, with its prefix and source.
pub fn env_from_list<'a>(scan: &mut Scanner<'a>, found: &mut Vec<EnvFrom<'a>>) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    scan.array(|scan| {
        let mut seen = Seen::default();
        let mut prefix = None;
        let (mut config_map, mut secret) = (None, None);
        scan.object(|key, scan| {
            match key {
                b"prefix" => {
                    seen.first(key)?;
                    prefix = scan.opt_str()?;
                }
                b"configMapRef" | b"secretRef" => {
                    seen.first(key)?;
                    let mut name = None;
                    let mut seen_name = Seen::default();
                    let present = object_or_null(scan, |key, scan| {
                        if key == b"name" {
                            seen_name.first(key)?;
                            name = scan.opt_str()?;
                            return Some(());
                        }
                        scan.value().map(drop)
                    })?;
                    let reference = present.then_some(name.unwrap_or_default());
                    if key == b"configMapRef" {
                        config_map = reference;
                    } else {
                        secret = reference;
                    }
                }
                _ => {
                    scan.value()?;
                }
            }
            Some(())
        })?;
        found.push(EnvFrom {
            prefix: prefix.unwrap_or_default(),
            source: config_map
                .map(|name| ("ConfigMap", name))
                .or(secret.map(|name| ("Secret", name))),
        });
        Some(())
    })
    .map(drop)
}

/// A `volumes` list: names into `names` (for the injection), each volume's
/// token audiences and tenant-written file kinds into `volumes`.
pub fn volume_list<'a>(
    scan: &mut Scanner<'a>,
    names: &mut Vec<&'a str>,
    volumes: &mut Vec<Volume<'a>>,
) -> Option<Span> {
    if let Some(null) = scan.null()? {
        return Some(null);
    }
    scan.array(|scan| {
        let mut seen = Seen::default();
        let mut volume = Volume::default();
        scan.object(|key, scan| {
            seen.first(key)?;
            match key {
                b"name" => volume.name = scan.opt_str()?,
                b"projected" => {
                    let mut seen_sources = Seen::default();
                    object_or_null(scan, |key, scan| {
                        if key != b"sources" {
                            return scan.value().map(drop);
                        }
                        seen_sources.first(key)?;
                        sources(scan, &mut volume.audiences, &mut volume.files)
                    })?;
                }
                b"downwardAPI" => volume.files.annotation |= downward_api(scan)?,
                kind => {
                    if let Some(name) = source_name(scan)? {
                        volume
                            .files
                            .add(std::str::from_utf8(kind).ok()?, false, name);
                    }
                }
            }
            Some(())
        })?;
        names.extend(volume.name);
        volumes.push(volume);
        Some(())
    })
}

/// Whether a downward API source selects one annotation; an escape in it
/// (which could spell one) is the parsed reader's to judge.
fn downward_api(scan: &mut Scanner<'_>) -> Option<bool> {
    let text = scan.value().and_then(|span| scan.text_of(span))?;
    (!text.contains('\\')).then(|| text.contains(DOWNWARD_API_ANNOTATION))
}

/// A volume source: `None` for `null` (absent, as `json::at` reads it),
/// else the string `name` it refers to, if any.
fn source_name<'a>(scan: &mut Scanner<'a>) -> Option<Option<Option<&'a str>>> {
    if scan.null()?.is_some() {
        return Some(None);
    }
    // A source that is not an object, or a name that is not a plain
    // string, is the parsed path's to judge.
    let mut seen = Seen::default();
    let mut name = None;
    scan.object(|key, scan| {
        if key != b"name" {
            return scan.value().map(drop);
        }
        seen.first(key)?;
        name = scan.opt_str()?;
        Some(())
    })?;
    Some(Some(name))
}

/// `projected.sources`: token audiences, and the kinds of file a tenant
/// writes.
fn sources<'a>(
    scan: &mut Scanner<'a>,
    audiences: &mut Vec<&'a str>,
    files: &mut Files<'a>,
) -> Option<()> {
    if scan.null()?.is_some() {
        return Some(());
    }
    scan.array(|scan| {
        let mut seen = Seen::default();
        object_or_null(scan, |key, scan| {
            seen.first(key)?;
            if key == b"serviceAccountToken" {
                let mut seen_audience = Seen::default();
                let present = object_or_null(scan, |key, scan| {
                    if key != b"audience" {
                        return scan.value().map(drop);
                    }
                    seen_audience.first(key)?;
                    audiences.extend(scan.opt_str()?);
                    Some(())
                })?;
                if present {
                    files.add("serviceAccountToken", true, None);
                }
            } else if key == b"downwardAPI" {
                files.annotation |= downward_api(scan)?;
            } else if let Some(name) = source_name(scan)? {
                files.add(std::str::from_utf8(key).ok()?, true, name);
            }
            Some(())
        })
        .map(drop)
    })
    .map(drop)
}

/// `spec.os`: whether `name` is `windows` (another type is not).
pub fn os_windows(scan: &mut Scanner<'_>) -> Option<bool> {
    let mut seen = Seen::default();
    let mut windows = false;
    object_or_null(scan, |key, scan| {
        if key != b"name" {
            return scan.value().map(drop);
        }
        seen.first(key)?;
        let span = scan.value()?;
        let text = scan.text_of(span)?;
        if text.starts_with('"') && text.contains('\\') {
            return None;
        }
        windows = text == "\"windows\"";
        Some(())
    })?;
    Some(windows)
}

/// `spec.shareProcessNamespace`: only `true` shares.
pub fn is_true(scan: &mut Scanner<'_>) -> Option<bool> {
    let span = scan.value()?;
    Some(scan.text_of(span)? == "true")
}
