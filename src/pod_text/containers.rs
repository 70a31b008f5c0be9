//! The containers of a Pod's text: each one's shape and places, and, when
//! asked for, what the allow-list reads of it.

use super::{ContainerPlaces, GiveUp, named_list};
use crate::pod::ContainerShape;
use crate::role::{ContainerKind, ContainerRef};
use crate::splice::{Scanner, Seen, Span};
use crate::usage::{self, text as rules};

/// One container being read: its shape and places, and, when `reading`,
/// what the allow-list reads (`fact`, named and numbered once read).
#[derive(Default)]
struct ContainerRead<'a> {
    reading: bool,
    shape: ContainerShape<'a>,
    place: ContainerPlaces,
    fact: usage::Container<'a>,
    seen: Seen<'a>,
    /// A hook or probe runs a command: left to the parsed Pod.
    runs_command: bool,
    /// Entries its `env` and `volumeMounts` lists reserve at once.
    room: usize,
}

impl<'a> ContainerRead<'a> {
    /// Reads the value of the member `key`.
    fn member(&mut self, key: &'a [u8], scan: &mut Scanner<'a>) -> Option<()> {
        let (reading, shape, fact) = (self.reading, &mut self.shape, &mut self.fact);
        match key {
            b"name" => {
                self.seen.first(key)?;
                shape.name = scan.opt_str()?.unwrap_or("");
            }
            b"env" => {
                self.seen.first(key)?;
                self.place.env = Some(if reading {
                    rules::env_list(scan, &mut shape.env, &mut fact.env, self.room)?
                } else {
                    named_list(scan, &mut shape.env, self.room)?
                });
            }
            b"volumeMounts" => {
                self.seen.first(key)?;
                self.place.mounts = Some(if reading {
                    rules::mount_list(scan, &mut shape.mounts, &mut fact.mounts, self.room)?
                } else {
                    named_list(scan, &mut shape.mounts, self.room)?
                });
            }
            b"envFrom" if reading => {
                self.seen.first(key)?;
                rules::env_from_list(scan, &mut fact.env_from)?;
            }
            b"command" if reading => {
                self.seen.first(key)?;
                rules::word_list(scan, &mut fact.command)?;
            }
            b"args" if reading => {
                self.seen.first(key)?;
                rules::word_list(scan, &mut fact.args)?;
            }
            // Hooks and exec probes run commands with the container's
            // env: the parsed path reads them (`usage::read`).
            b"lifecycle" | b"livenessProbe" | b"readinessProbe" | b"startupProbe" if reading => {
                let span = hook_or_probe(key, scan)?;
                if scan.text_of(span)?.contains("exec") {
                    self.runs_command = true;
                    return None;
                }
            }
            b"targetContainerName" if reading => {
                self.seen.first(key)?;
                fact.target = scan.opt_str()?.filter(|t| !t.is_empty());
            }
            _ => {
                scan.value()?;
            }
        }
        Some(())
    }
}

/// A hook or probe, which the one pass does not read, walked as far as
/// the parsed reader walks it towards `exec.command`: each level must be
/// an object or `null`, with no key written with an escape (which could
/// spell `exec`); else it gives up, and the parsed Pod names the error.
fn hook_or_probe<'a>(key: &[u8], scan: &mut Scanner<'a>) -> Option<Span> {
    fn object_or_null<'a>(scan: &mut Scanner<'a>, hooks: bool) -> Option<Span> {
        if let Some(null) = scan.null()? {
            return Some(null);
        }
        scan.object(|key, scan| match key {
            b"postStart" | b"preStop" if hooks => object_or_null(scan, false).map(drop),
            _ => scan.value().map(drop),
        })
    }
    object_or_null(scan, key == b"lifecycle")
}

/// The containers of a list whose `env` and `volumeMounts` reserve room
/// at once: enough for any ordinary Pod, while a tenant's Pod of many
/// small containers (each with a one-entry list) costs no more memory than
/// growing them one by one would.
const ROOMY_CONTAINERS: usize = 64;

/// A list of containers, or `null`. `facts` is where the allow-list's
/// reading goes, when asked for.
pub(super) fn containers<'a>(
    scan: &mut Scanner<'a>,
    kind: ContainerKind,
    shapes: &mut Vec<ContainerShape<'a>>,
    places: &mut Vec<ContainerPlaces>,
    mut facts: Option<&mut Vec<usage::Container<'a>>>,
) -> Result<(), GiveUp> {
    if scan.null().ok_or(GiveUp::Containers(kind))?.is_some() {
        return Ok(());
    }
    let mut index = 0;
    let mut runs_command = false;
    scan.array(|scan| {
        let mut read = ContainerRead {
            reading: facts.is_some(),
            room: if index < ROOMY_CONTAINERS {
                rules::ENTRIES
            } else {
                0
            },
            ..ContainerRead::default()
        };
        let object = scan.object(|key, scan| read.member(key, scan));
        runs_command = read.runs_command;
        read.place.object = object?;
        if let Some(facts) = facts.as_deref_mut() {
            let name = read.shape.name.into();
            facts.push(usage::Container {
                who: ContainerRef { kind, name },
                index,
                ..read.fact
            });
        }
        shapes.push(read.shape);
        places.push(read.place);
        index += 1;
        Some(())
    })
    .map(drop)
    .ok_or(match runs_command {
        true => GiveUp::Command(kind),
        false => GiveUp::Containers(kind),
    })
}
