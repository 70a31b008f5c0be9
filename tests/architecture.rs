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
