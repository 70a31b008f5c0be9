//! IAM role ARNs: `arn:<partition>:iam::<account>:role/<path><name>`.
//!
//! Upstream checks role values against
//! `^arn:aws[a-z0-9-]*:iam::\d{12}:role\/[\w-\/.@+=,]+$` (`pkg/cache/cache.go:224-230`)
//! and only logs a mismatch. We parse into this type instead, so a value that
//! is used for a decision is known to be well-formed.

use std::fmt;

/// A well-formed IAM role ARN: its text, and where its parts lie in it
/// (one allocation; a Pod judges one per container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    full: String,
    /// End of the partition, which starts after `arn:`.
    partition_end: usize,
    /// The account's start; it is 12 bytes long.
    account_start: usize,
    /// Start of everything after `role/`: the optional path and the name.
    path_start: usize,
}

/// Partition and account used to turn a bare role name into an ARN
/// (upstream `--compose-role-arn`, which reads both from IMDS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeRoleArn {
    pub partition: String,
    pub account_id: String,
}

/// Longest IAM role name (IAM `CreateRole` limit).
const MAX_ROLE_NAME: usize = 64;
/// Longest IAM path (IAM `CreateRole` limit).
const MAX_ROLE_PATH: usize = 512;

impl RoleArn {
    /// Parses a full role ARN. The error says what is wrong, for messages
    /// shown to the person who wrote the value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let rest = value
            .strip_prefix("arn:")
            .ok_or_else(|| "it does not start with \"arn:\"".to_owned())?;
        let (partition, rest) = rest
            .split_once(':')
            .ok_or_else(|| "it has no partition".to_owned())?;
        check_partition(partition)?;
        let rest = rest
            .strip_prefix("iam::")
            .ok_or_else(|| "its service is not \"iam\" with an empty region".to_owned())?;
        let (account, resource) = rest
            .split_once(':')
            .ok_or_else(|| "it has no account".to_owned())?;
        check_account(account)?;
        let path_and_name = resource
            .strip_prefix("role/")
            .ok_or_else(|| "its resource is not \"role/<name>\"".to_owned())?;
        check_role_path_and_name(path_and_name)?;
        let partition_end = "arn:".len() + partition.len();
        let account_start = partition_end + ":iam::".len();
        Ok(RoleArn {
            full: value.to_owned(),
            partition_end,
            account_start,
            path_start: value.len() - path_and_name.len(),
        })
    }

    /// Parses a role value as upstream reads `role-arn` annotations: with
    /// `compose` set, a value without `arn:` is a role name (optionally with
    /// a path) in the configured account.
    pub fn parse_or_compose(value: &str, compose: Option<&ComposeRoleArn>) -> Result<Self, String> {
        match compose_role_arn(value, compose) {
            Some(composed) => RoleArn::parse(&composed)
                .map_err(|e| format!("the composed ARN {composed:?} is malformed: {e}")),
            None => RoleArn::parse(value),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    pub fn partition(&self) -> &str {
        self.full
            .get("arn:".len()..self.partition_end)
            .unwrap_or_default()
    }

    pub fn account(&self) -> &str {
        let end = self.account_start + ACCOUNT_LEN;
        self.full.get(self.account_start..end).unwrap_or_default()
    }

    /// What follows `role/`: `path/to/name` or just `name`.
    pub fn path_and_name(&self) -> &str {
        self.full.get(self.path_start..).unwrap_or_default()
    }
}

/// Upstream's `--compose-role-arn` rewrite (`cache.go:220-222`): a value
/// without the substring `arn:` becomes a role in the configured account.
/// `None` when the value is used as written.
pub fn compose_role_arn(value: &str, compose: Option<&ComposeRoleArn>) -> Option<String> {
    compose
        .filter(|_| !value.contains("arn:"))
        .map(|c| format!("arn:{}:iam::{}:role/{}", c.partition, c.account_id, value))
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// Partitions look like `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...
pub fn check_partition(partition: &str) -> Result<(), String> {
    let ok = partition.starts_with("aws")
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "partition {partition:?} is not an AWS partition (aws, aws-cn, aws-us-gov, ...)"
        ))
    }
}

/// Length of an AWS account ID.
const ACCOUNT_LEN: usize = 12;

/// AWS account IDs are exactly 12 digits.
pub fn check_account(account: &str) -> Result<(), String> {
    if account.len() == ACCOUNT_LEN && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("account {account:?} is not 12 digits"))
    }
}

/// Characters IAM allows in role paths and names (upstream's `[\w+=,.@/-]`).
pub fn is_role_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@/-".contains(c)
}

/// `<path><name>` after `role/`: upstream's character set `[\w+=,.@/-]`,
/// a non-empty name of at most 64 characters after the last `/`.
fn check_role_path_and_name(path_and_name: &str) -> Result<(), String> {
    if let Some(bad) = path_and_name.chars().find(|c| !is_role_char(*c)) {
        return Err(format!("the role name contains {bad:?}"));
    }
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (path, name),
        None => ("", path_and_name),
    };
    if name.is_empty() {
        return Err("the role name is empty".to_owned());
    }
    if name.len() > MAX_ROLE_NAME {
        return Err(format!(
            "the role name is longer than {MAX_ROLE_NAME} characters"
        ));
    }
    if path.len() + 2 > MAX_ROLE_PATH {
        return Err(format!(
            "the role path is longer than {MAX_ROLE_PATH} characters"
        ));
    }
    Ok(())
}

/// Characters a shell or HotSpot removes from a word before the program
/// sees it: quotes (HotSpot's `Arguments::parse_options_buffer` drops them
/// anywhere in an option) and the shell's backslash escape.
fn removed_by_parsers(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'\\')
}

/// Every IAM role ARN written in `text`, as a process reads it once its
/// shell or JVM has removed quote characters and backslashes: each run
/// `arn:<partition>:iam:<region>:<account>:role/<path and name>` (the fixed
/// words in any case), whatever surrounds it. Runs that are malformed
/// (a region, an account that is not 12 digits, an empty name) are
/// returned too, so that the caller reports rather than ignores them.
///
/// Linear in `text`: every part of a candidate is a run of characters
/// without `:`, so a byte is read by at most two candidates.
pub fn role_arns_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Every candidate holds `:`; most values have none.
    if !text.contains(':') {
        return found;
    }
    if !text.bytes().any(removed_by_parsers) {
        scan_role_arns(text.as_bytes(), &mut found);
        return found;
    }
    let clean: Vec<u8> = text.bytes().filter(|b| !removed_by_parsers(*b)).collect();
    scan_role_arns(&clean, &mut found);
    // A quote or backslash may also end the value for the reader (`printf`
    // turns `\n` into a line break; an INI value ends at its quote): the
    // well-formed ARNs the text holds up to such a character count too.
    let mut ended = Vec::new();
    scan_role_arns(text.as_bytes(), &mut ended);
    let seen: std::collections::HashSet<String> = found.iter().cloned().collect();
    found.extend(
        ended
            .into_iter()
            .filter(|arn| !seen.contains(arn) && RoleArn::parse(arn).is_ok()),
    );
    found
}

/// The role ARN candidates in `text`, in order, into `found`.
fn scan_role_arns(text: &[u8], found: &mut Vec<String>) {
    let mut at = 0;
    while let Some(offset) = find_ignore_case(text.get(at..).unwrap_or_default(), b"arn:") {
        let start = at + offset;
        if let Some(arn) = role_arn_at(text, start).and_then(|end| text.get(start..end)) {
            found.push(String::from_utf8_lossy(arn).into_owned());
        }
        // A name may end in `,arn` (`,` is a role character), so the next
        // candidate can start inside this one; it starts after its `:`.
        at = start + "arn:".len();
    }
}

/// The end of the role ARN that starts at `start` (with `arn:`), if one does.
fn role_arn_at(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + "arn:".len();
    let run = |i: &mut usize, ok: fn(u8) -> bool| {
        let from = *i;
        while text.get(*i).is_some_and(|b| ok(*b)) {
            *i += 1;
        }
        *i - from
    };
    let word = |i: &mut usize, w: &[u8]| {
        let matched = text
            .get(*i..*i + w.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(w));
        if matched {
            *i += w.len();
        }
        matched
    };
    let part = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    if run(&mut i, part) == 0 || !word(&mut i, b":iam:") {
        return None;
    }
    run(&mut i, part);
    if !word(&mut i, b":") {
        return None;
    }
    run(&mut i, |b| b.is_ascii_digit());
    if !word(&mut i, b":role/") {
        return None;
    }
    run(&mut i, |b| is_role_char(b as char));
    Some(i)
}

/// Where `needle` (lower case ASCII) first occurs in `haystack`, in any case.
fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(offset) = haystack
        .get(from..)?
        .iter()
        .position(|b| b.to_ascii_lowercase() == first)
    {
        let at = from + offset;
        if haystack
            .get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether known text beside an unread part spells part of a role ARN, so
/// that the whole may be one.
pub(crate) fn spells_part_of_an_arn(known: &str) -> bool {
    let lower = known.to_ascii_lowercase();
    ["arn:", ":iam:", ":role/", "role/"]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_role_arns_in_every_partition() {
        for arn in [
            "arn:aws:iam::111122223333:role/s3-reader",
            "arn:aws-cn:iam::111122223333:role/s3-reader",
            "arn:aws-us-gov:iam::111122223333:role/path/to/app",
            "arn:aws-iso-b:iam::000000000000:role/a_b+c=d,e.f@g-h",
        ] {
            let parsed = RoleArn::parse(arn).unwrap();
            assert_eq!(parsed.as_str(), arn);
        }
        let parsed = RoleArn::parse("arn:aws-us-gov:iam::111122223333:role/team/x").unwrap();
        assert_eq!(parsed.partition(), "aws-us-gov");
        assert_eq!(parsed.account(), "111122223333");
        assert_eq!(parsed.path_and_name(), "team/x");
    }

    #[test]
    fn rejects_malformed_role_arns_with_a_reason() {
        let cases = [
            ("s3-reader", "does not start with"),
            ("arn:gcp:iam::111122223333:role/x", "not an AWS partition"),
            ("arn:aws:s3:::bucket", "service is not \"iam\""),
            (
                "arn:aws:iam:us-east-1:111122223333:role/x",
                "service is not",
            ),
            ("arn:aws:iam::11112222333:role/x", "not 12 digits"),
            ("arn:aws:iam::1111222233334:role/x", "not 12 digits"),
            ("arn:aws:iam::11112222333a:role/x", "not 12 digits"),
            ("arn:aws:iam::111122223333:user/x", "not \"role/<name>\""),
            ("arn:aws:iam::111122223333:role/", "name is empty"),
            ("arn:aws:iam::111122223333:role/path/", "name is empty"),
            ("arn:aws:iam::111122223333:role/a b", "contains ' '"),
            ("arn:aws:iam::111122223333:role/a:b", "contains ':'"),
            ("arn:aws:iam::111122223333:role/a*", "contains '*'"),
            ("", "does not start with"),
        ];
        for (value, reason) in cases {
            let err = RoleArn::parse(value).unwrap_err();
            assert!(err.contains(reason), "{value:?}: {err}");
        }
        let long_name = format!("arn:aws:iam::111122223333:role/{}", "a".repeat(65));
        assert!(
            RoleArn::parse(&long_name)
                .unwrap_err()
                .contains("longer than 64")
        );
    }

    #[test]
    fn composes_bare_names_only_when_configured() {
        let compose = ComposeRoleArn {
            partition: "aws-cn".into(),
            account_id: "111122223333".into(),
        };
        assert_eq!(
            RoleArn::parse_or_compose("app", Some(&compose))
                .unwrap()
                .as_str(),
            "arn:aws-cn:iam::111122223333:role/app"
        );
        assert_eq!(
            RoleArn::parse_or_compose("team/app", Some(&compose))
                .unwrap()
                .as_str(),
            "arn:aws-cn:iam::111122223333:role/team/app"
        );
        // A full ARN is kept as written, even in another account.
        assert_eq!(
            RoleArn::parse_or_compose("arn:aws:iam::999988887777:role/x", Some(&compose))
                .unwrap()
                .as_str(),
            "arn:aws:iam::999988887777:role/x"
        );
        assert!(RoleArn::parse_or_compose("app", None).is_err());
        assert!(
            RoleArn::parse_or_compose("bad name", Some(&compose))
                .unwrap_err()
                .contains("is malformed")
        );
    }

    #[test]
    fn finds_role_arns_wherever_they_are_written() {
        let admin = "arn:aws:iam::999988887777:role/admin";
        // A backslash may end the value for its reader (`printf '\\n'`): the
        // ARN up to it is judged too.
        let both = role_arns_in(&format!("printf 'role_arn = {admin}\\n-reader'"));
        assert_eq!(both, [format!("{admin}n-reader"), admin.to_owned()]);
        for text in [
            admin.to_owned(),
            format!("-Daws.roleArn={admin} -Xmx1g"),
            format!("-D\"aws.roleArn\"=\"{admin}\""),
            "arn:aws:iam::999988887777:role/ad\"\"min".to_owned(),
            "'arn:aws:iam::999988887777:role/'admin".to_owned(),
            "arn\\:aws:iam::999988887777:role/ad\\min".to_owned(),
            format!("export AWS_ROLE_ARN={admin}; exec app"),
            format!("role_arn = {admin}\nregion = eu-west-1"),
            format!("{{\"roleArn\":\"{admin}\"}}"),
        ] {
            // As the shell or JVM reads it first; where a quote or backslash
            // splits it, also the well-formed ARN before the split.
            let found = role_arns_in(&text);
            assert_eq!(found.first().map(String::as_str), Some(admin), "{text:?}");
            assert!(
                found
                    .iter()
                    .skip(1)
                    .all(|arn| admin.starts_with(arn.as_str())),
                "{text:?}: {found:?}"
            );
        }
        assert_eq!(
            role_arns_in("ARN:AWS:IAM::999988887777:ROLE/admin"),
            vec!["ARN:AWS:IAM::999988887777:ROLE/admin".to_owned()],
            "the fixed words in any case (reported as written, then malformed)"
        );
        let two = format!("{admin},arn:aws-cn:iam::111122223333:role/path/app");
        assert_eq!(role_arns_in(&two).len(), 2);
        // Malformed candidates are returned, to be reported.
        for bad in [
            "arn:aws:iam:us-east-1:999988887777:role/x",
            "arn:aws:iam::1:role/x",
            "arn:aws:iam::999988887777:role/",
        ] {
            let found = role_arns_in(bad);
            assert_eq!(found, vec![bad.to_owned()]);
            assert!(RoleArn::parse(&found[0]).is_err());
        }
        for none in [
            "",
            "no colon here",
            "arn:aws:s3:::bucket/role/x",
            "arn:aws:iam::999988887777:user/admin",
            "arn:arn:arn:",
            "http://169.254.170.23/v1/credentials",
        ] {
            assert!(role_arns_in(none).is_empty(), "{none:?}");
        }
    }

    #[test]
    fn finding_role_arns_is_linear() {
        // Many starts that fail late, and ARNs back to back: one pass each.
        let starts = "arn:aws:iam::999988887777:".repeat(50_000);
        assert!(role_arns_in(&starts).is_empty());
        let many = "arn:aws:iam::999988887777:role/a ".repeat(50_000);
        assert_eq!(role_arns_in(&many).len(), 50_000);
    }
}
