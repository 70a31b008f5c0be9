//! How the JVM reads its options, for the rules that must see them as the
//! JVM does.

use crate::constants::JAVA_CONFIG_FILE_PROPERTIES;

/// JVM options as HotSpot splits them (`Arguments::parse_options_buffer`):
/// at C `isspace` characters outside quotes, with every quote character
/// removed wherever it stands.
pub(super) fn hotspot_options(value: &str) -> Vec<String> {
    let mut options = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for ch in value.chars() {
        match (quote, ch) {
            (Some(q), ch) if ch == q => quote = None,
            (Some(_), ch) => current.push(ch),
            (None, '"' | '\'') => quote = Some(ch),
            (None, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r') => {
                if !current.is_empty() {
                    options.push(std::mem::take(&mut current));
                }
            }
            (None, ch) => current.push(ch),
        }
    }
    if !current.is_empty() {
        options.push(current);
    }
    options
}

/// Whether a text names a JVM config file property (quotes removed).
pub(super) fn mentions_config_property(text: &str) -> bool {
    if !text.contains("aws.") && !text.contains(['"', '\'']) {
        return false;
    }
    let clean: String = text.chars().filter(|c| !matches!(c, '"' | '\'')).collect();
    JAVA_CONFIG_FILE_PROPERTIES
        .iter()
        .any(|p| clean.contains(&format!("-D{p}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_as_hotspot_splits_them() {
        assert_eq!(
            hotspot_options("-Xmx1g\u{0B}-D\"aws.roleArn\"=x 'a b'\t-Dc='d'"),
            ["-Xmx1g", "-Daws.roleArn=x", "a b", "-Dc=d"]
        );
        assert!(hotspot_options(" \n\r\u{0C} ").is_empty());
    }

    #[test]
    fn config_file_properties_are_seen_through_quotes() {
        assert!(mentions_config_property("-Daws.configFile=/x"));
        assert!(mentions_config_property("'-Daws.sharedCredentialsFile'=/x"));
        assert!(mentions_config_property("-D\"aws.configFile\"=/x"));
        assert!(!mentions_config_property("-Daws.region=eu-west-1"));
    }
}
