//! The four Go standard-library behaviours upstream relies on, reproduced
//! exactly so that the same annotation means the same thing here.

/// Go `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go `strconv.ParseInt(s, 10, 64)`: an optional sign, ASCII digits, int64
/// range. Rust's `i64::from_str` accepts exactly the same language.
pub fn parse_int64(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// The first record of Go's `encoding/csv` `Reader.Read()` with default
/// options. `None` where Go returns an error (bare or unbalanced quotes) or
/// `io.EOF` (no record at all); upstream then skips no container.
pub fn first_csv_record(input: &str) -> Option<Vec<String>> {
    // Go normalises "\r\n" to "\n" and skips lines that hold only a newline.
    let mut text = input.replace("\r\n", "\n");
    // ...and drops a final "\r" that has no "\n" after it.
    if text.ends_with('\r') {
        text.pop();
    }
    let mut rest = text.trim_start_matches('\n');
    if rest.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            // Quoted field: may hold commas, newlines and doubled quotes.
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let after_field;
            loop {
                match chars.next() {
                    None => return None, // unterminated quote: ErrQuote
                    Some((i, '"')) => {
                        let tail = quoted.get(i + 1..).unwrap_or("");
                        if tail.starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else if tail.starts_with(',') || tail.is_empty() || tail.starts_with('\n')
                        {
                            after_field = tail;
                            break;
                        } else {
                            return None; // `"a"b`: ErrQuote
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            }
            fields.push(field);
            match after_field.strip_prefix(',') {
                Some(next) => rest = next,
                None => return Some(fields),
            }
        } else {
            // Scan to this field's end only: searching for the end of the
            // line on every field made a long record quadratic.
            let end = rest.find([',', '\n']).unwrap_or(rest.len());
            let (field, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
            if field.contains('"') {
                return None; // ErrBareQuote
            }
            fields.push(field.to_owned());
            match tail.strip_prefix(',') {
                Some(next) => rest = next,
                None => return Some(fields),
            }
        }
    }
}

/// Go `path/filepath.Join(dir, file)` on Linux: join with `/`, then `Clean`.
pub fn join_path(dir: &str, file: &str) -> String {
    match (dir.is_empty(), file.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean_path(file),
        (false, true) => clean_path(dir),
        (false, false) => clean_path(&[dir, "/", file].concat()),
    }
}

/// Go `path.Clean`: collapse `//`, drop `.`, resolve `..`, no trailing `/`.
pub fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => ["/", &joined].concat(),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bool_accepts_exactly_gos_spellings() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "yes", "tRUE", " true", "2", "on"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_int64_matches_go_parse_int_base_10() {
        assert_eq!(parse_int64("3600"), Some(3600));
        assert_eq!(parse_int64("+600"), Some(600));
        assert_eq!(parse_int64("-5"), Some(-5));
        assert_eq!(parse_int64("-0"), Some(0));
        assert_eq!(parse_int64("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "+",
            "-",
            "1e3",
            "1_000",
            " 600",
            "600 ",
            "0x10",
            "9223372036854775808",
            "abc",
            "６００",
        ] {
            assert_eq!(parse_int64(bad), None, "{bad:?}");
        }
    }

    fn rec(fields: &[&str]) -> Option<Vec<String>> {
        Some(fields.iter().map(|f| (*f).to_owned()).collect())
    }

    #[test]
    fn csv_first_record_follows_encoding_csv() {
        assert_eq!(first_csv_record("sidecar"), rec(&["sidecar"]));
        assert_eq!(first_csv_record("a,b"), rec(&["a", "b"]));
        // Leading spaces are kept: "a, b" names " b", not "b".
        assert_eq!(first_csv_record("a, b"), rec(&["a", " b"]));
        assert_eq!(first_csv_record("a,"), rec(&["a", ""]));
        assert_eq!(first_csv_record(r#""a,b",c"#), rec(&["a,b", "c"]));
        assert_eq!(
            first_csv_record(r#""say ""hi""",x"#),
            rec(&[r#"say "hi""#, "x"])
        );
        assert_eq!(
            first_csv_record("\"multi\nline\",x"),
            rec(&["multi\nline", "x"])
        );
        // Only the first record counts; empty leading lines are skipped.
        assert_eq!(first_csv_record("\n\na,b\nc"), rec(&["a", "b"]));
        assert_eq!(first_csv_record("a\r\nb"), rec(&["a"]));
        assert_eq!(first_csv_record(r#""""#), rec(&[""]));
        assert_eq!(first_csv_record("a\r"), rec(&["a"]));
    }

    #[test]
    fn csv_long_records_keep_every_field() {
        // 1 MiB as in the bad-input matrix: 131,072 unquoted fields, then a
        // quoted one holding a comma and a newline.
        let record = format!("{}\"x,\ny\"\nignored", "sidecar,".repeat(1 << 17));
        let fields = first_csv_record(&record).unwrap_or_default();
        assert_eq!(fields.len(), (1 << 17) + 1);
        assert!(fields.iter().take(1 << 17).all(|f| f == "sidecar"));
        assert_eq!(fields.last().map(String::as_str), Some("x,\ny"));
    }

    #[test]
    fn csv_errors_and_eof_skip_nothing() {
        assert_eq!(first_csv_record(""), None);
        assert_eq!(first_csv_record("\n\r\n"), None);
        assert_eq!(first_csv_record(r#"x"y"#), None, "bare quote");
        assert_eq!(first_csv_record(r#""abc"#), None, "unterminated quote");
        assert_eq!(first_csv_record(r#""a"b"#), None, "extraneous quote");
        assert_eq!(
            first_csv_record(r#"a,b"c"#),
            None,
            "bare quote in 2nd field"
        );
    }

    #[test]
    fn join_and_clean_match_go_filepath() {
        assert_eq!(
            join_path("/var/run/secrets/eks.amazonaws.com/serviceaccount", "token"),
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
        );
        assert_eq!(join_path("/mnt/", "token"), "/mnt/token");
        assert_eq!(join_path("/mnt//a/./b/../", "t"), "/mnt/a/t");
        assert_eq!(join_path("/", "token"), "/token");
        assert_eq!(join_path("/a", "../../x"), "/x");
        assert_eq!(join_path("", "token"), "token");
        assert_eq!(join_path("/a", ""), "/a");
        assert_eq!(join_path("", ""), "");
        assert_eq!(clean_path("a/../.."), "..");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("//"), "/");
    }
}
