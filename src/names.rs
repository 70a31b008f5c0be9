//! Kubernetes name rules, for validating settings before they meet a cluster.

/// RFC 1123 label: what namespaces and volume names must be.
pub fn check_dns_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    if value.len() > 63 {
        return Err(format!("{value:?} is longer than 63 characters"));
    }
    check_label_chars(value)
}

/// RFC 1123 subdomain: what ServiceAccount names and annotation prefixes must be.
pub fn check_dns_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    if value.len() > 253 {
        return Err(format!("{value:?} is longer than 253 characters"));
    }
    value.split('.').try_for_each(|label| {
        if label.is_empty() {
            Err(format!("{value:?} has an empty DNS label"))
        } else {
            check_label_chars(label).map_err(|_| {
                format!(
                    "{value:?} is not a DNS subdomain (lowercase letters, digits, '-' and '.', \
                     starting and ending with a letter or digit)"
                )
            })
        }
    })
}

fn check_label_chars(label: &str) -> Result<(), String> {
    let bytes = label.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let body_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if body_ok && edge_ok(bytes.first()) && edge_ok(bytes.last()) {
        Ok(())
    } else {
        Err(format!(
            "{label:?} is not a DNS label (lowercase letters, digits and '-', \
             starting and ending with a letter or digit)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["a", "default", "team-a", "x1", &"a".repeat(63)] {
            assert!(check_dns_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(check_dns_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subdomains() {
        for ok in ["eks.amazonaws.com", "my-sa", "a.b.c"] {
            assert!(check_dns_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "Eks.com", "a/b", &"a".repeat(254)] {
            assert!(check_dns_subdomain(bad).is_err(), "{bad}");
        }
    }
}
