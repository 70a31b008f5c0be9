//! The rules about what a container takes from outside its own values:
//! `envFrom` sources, and AWS config files in mounted volumes.

use super::rules::{ContainerRules, Found};
use super::{PodUsage, Unverifiable};
use crate::constants::{
    AWS_CONFIG_DIR, AWS_CONFIG_FILE_ENV, ENV_ROLE_ARN, HOME_ENV, JAVA_OPTIONS_ENV,
};

impl ContainerRules<'_, '_> {
    /// `envFrom` sources that could set a role or JVM options variable the
    /// container does not set itself, or point the SDK at a config file.
    /// On Windows, names ignore case and kubelet hands both spellings to
    /// the runtime in map order (`makeEnvironmentVariables` ranges over a
    /// Go map), so an explicit entry does not reliably win.
    pub(super) fn env_from(&self, found: &mut Found, usage: &mut PodUsage) {
        let c = self.c;
        if c.env_from.is_empty() {
            return;
        }
        let sets = |name: &str| !self.windows && c.env.iter().any(|e| e.name == name);
        let role_names = std::iter::once(ENV_ROLE_ARN).chain(JAVA_OPTIONS_ENV);
        let unset_role_names: Vec<&str> = role_names.filter(|n| !sets(n)).collect();
        let config_names = AWS_CONFIG_FILE_ENV.into_iter().chain(HOME_ENV);
        let unset_config_names: Vec<&str> = config_names.filter(|n| !sets(n)).collect();
        for source in &c.env_from {
            if found.config_signal.is_none()
                && let Some(name) = unset_config_names.iter().find(|n| source.reaches(n))
            {
                found.config_signal = Some(format!("{name} from envFrom {}", source.describe()));
            }
            if source.judged(self.judged) {
                continue;
            }
            if let Some(variable) = unset_role_names.iter().find(|n| source.reaches(n)) {
                usage.unverifiable.push(Unverifiable::EnvFrom {
                    container: c.who.clone(),
                    from: source.describe(),
                    volume: self.token.unwrap_or_default().to_owned(),
                    variable: (*variable).to_owned(),
                });
            }
        }
    }

    /// Which file a variable names does not matter: `/var/run` is a
    /// symlink to `/run` in common images and `/proc/self/root/...`
    /// reaches any path, so no comparison of paths is sound. Once anything
    /// points the SDK at a config file, any tenant-written mount can hold
    /// it; a mount at a `.aws` directory is such a pointer by itself (the
    /// image's `HOME`). One finding per container.
    pub(super) fn config_files(&self, signal: Option<String>, usage: &mut PodUsage) {
        let mut unjudged = self
            .c
            .mounts
            .iter()
            .filter(|(name, _)| self.file_volumes.get(name).is_some());
        let found = match signal {
            Some(signal) => unjudged.next().map(|m| (signal, m)),
            None => unjudged
                .find(|(_, path)| path.contains(AWS_CONFIG_DIR))
                .map(|m| (format!("a mount at {}", m.1), m)),
        };
        if let Some((variable, (volume, path))) = found {
            let kind = self.file_volumes.get(volume).unwrap_or_default();
            usage.unverifiable.push(Unverifiable::ConfigFile {
                container: self.c.who.clone(),
                variable,
                path: (*path).to_owned(),
                volume: format!("{volume} ({kind})"),
            });
        }
    }
}

/// Volumes by name, with one word each: a sorted list, as a Pod has few
/// and a map per request cost more to build and drop than to search
/// (measured: 2.5 k of the rules' 13 k instructions on a 3-container Pod).
/// A name given twice keeps its last word, as a map would.
pub(super) struct ByName<'a>(Vec<(&'a str, &'a str)>);

impl<'a> ByName<'a> {
    pub(super) fn new(entries: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut list: Vec<(&str, &str)> = entries.collect();
        list.reverse();
        list.sort_by_key(|(name, _)| *name);
        list.dedup_by_key(|(name, _)| *name);
        ByName(list)
    }

    pub(super) fn get(&self, name: &str) -> Option<&'a str> {
        let at = self.0.binary_search_by_key(&name, |(n, _)| n).ok()?;
        self.0.get(at).map(|(_, word)| *word)
    }
}
