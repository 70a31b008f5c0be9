//! The shape of `src/`: modules import each other without circles, and no
//! production file grows past what a reader takes in at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Above this, a production file should be split.
const MAX_PRODUCTION_LINES: usize = 420;

/// Files that exist only for tests.
fn test_only(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "tests.rs" | "testgen.rs" | "properties.rs")
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The production part of a file: up to an inline `mod tests {`, without
/// comment lines.
fn production(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| !l.starts_with("mod tests {"))
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

/// The top-level module a file belongs to: `src/admission/steps.rs` is in
/// `admission`.
fn module_of(src: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

fn src() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    (src, files)
}

#[test]
fn modules_import_each_other_without_circles() {
    let (src, files) = src();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files.iter().filter(|p| !test_only(p)) {
        let module = module_of(&src, path);
        let text = fs::read_to_string(path).unwrap();
        for line in production(&text) {
            for (i, _) in line.match_indices("crate::") {
                let used: String = line[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !used.is_empty() && used != module {
                    edges.entry(module.clone()).or_default().insert(used);
                }
            }
        }
    }
    assert!(edges.len() > 10, "the scan found the modules: {edges:?}");
    // Depth-first search for a path back to the start.
    for start in edges.keys() {
        let mut stack: Vec<Vec<&String>> = vec![vec![start]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = *path.last().unwrap();
            for next in edges.get(last).into_iter().flatten() {
                let mut longer = path.clone();
                longer.push(next);
                assert!(next != start, "import circle: {longer:?}");
                if seen.insert(next) {
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn no_production_file_is_too_long_to_read() {
    let (src, files) = src();
    let long: Vec<String> = files
        .iter()
        .filter(|p| !test_only(p))
        .filter_map(|path| {
            let lines = fs::read_to_string(path).unwrap();
            let lines = lines.lines().take_while(|l| !l.starts_with("mod tests {"));
            let n = lines.count();
            let shown = path.strip_prefix(&src).unwrap().display();
            (n > MAX_PRODUCTION_LINES).then(|| format!("{shown}: {n} lines"))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}

/// Above this, a production function should be split.
const MAX_FUNCTION_LINES: usize = 80;

/// The modules `src/lib.rs` exports: what `kwrun`, the benches, the fuzz
/// targets and the integration tests use. Everything else is `pub(crate)`,
/// so rustc names what nothing calls.
const LIBRARY_API: &[&str] = &[
    "admission",
    "allowlist",
    "arn",
    "glob",
    "identity",
    "mutation",
    "pod_text",
    "role",
    "settings",
    "testgen",
    "usage",
];

#[test]
fn only_the_library_api_is_a_pub_mod() {
    let (src, files) = src();
    let mut found = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let shown = path.strip_prefix(&src).unwrap().display().to_string();
        for line in production(&text) {
            let Some(name) = line.trim().strip_prefix("pub mod ") else {
                continue;
            };
            let name = name.trim_end_matches(';');
            if shown != "lib.rs" || !LIBRARY_API.contains(&name) {
                found.push(format!("{shown}: pub mod {name}"));
            }
        }
    }
    assert!(found.is_empty(), "make these pub(crate): {found:?}");
    // Each exported module is used from outside the crate.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut outside = String::new();
    for dir in ["kwrun", "benches", "fuzz", "tests", "trustcheck"] {
        let mut files = Vec::new();
        sources(&root.join(dir), &mut files);
        for path in files {
            outside.push_str(&fs::read_to_string(path).unwrap());
        }
    }
    for name in LIBRARY_API {
        let used = [
            format!("irsa_policy::{name}"),
            format!("irsa_policy::{{{name}"),
        ];
        assert!(
            used.iter().any(|u| outside.contains(u.as_str()))
                || outside.contains(&format!(" {name}::")),
            "{name} is exported but nothing outside the crate uses it"
        );
    }
}

/// Production functions, as rustfmt lays them out: from a line declaring
/// `fn` to the first later line closing a brace at the same indent.
fn long_functions(shown: &str, text: &str) -> Vec<String> {
    let lines = production(text);
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let declares = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "const fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !declares || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let close = format!("{}}}", " ".repeat(indent));
        let end = lines[i..]
            .iter()
            .position(|l| l.starts_with(&close) && l.trim_end().len() <= indent + 2);
        if let Some(n) = end.filter(|n| *n + 1 > MAX_FUNCTION_LINES) {
            let name: String = trimmed
                .split("fn ")
                .nth(1)
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            long.push(format!("{shown}: {name} ({} lines)", n + 1));
        }
    }
    long
}

#[test]
fn no_production_function_is_too_long_to_read() {
    let (src, files) = src();
    let mut long = Vec::new();
    for path in files.iter().filter(|p| !test_only(p)) {
        let text = fs::read_to_string(path).unwrap();
        let shown = path.strip_prefix(&src).unwrap().display().to_string();
        long.extend(long_functions(&shown, &text));
    }
    // The scan sees functions: a made-up long one is found.
    let made_up = format!("fn f() {{\n{}}}\n", "    x();\n".repeat(MAX_FUNCTION_LINES));
    assert_eq!(long_functions("f.rs", &made_up).len(), 1);
    assert!(long.is_empty(), "split these functions: {long:?}");
}
