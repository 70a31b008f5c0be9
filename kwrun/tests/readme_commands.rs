//! Every command in the README and docs/ still runs as written: each
//! `console` block's make targets exist, the files it names exist, and the
//! kwctl/kwrun subcommands and flags it uses are ones kwrun accepts (kwrun
//! takes the kwctl flags we use). Blocks marked `console runnable` are also
//! run, through kwctl or kwrun, by `e2e.bats`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The commands of every `console` block: continuations joined, comments
/// dropped.
fn commands(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_block = !in_block && fence.starts_with("```console");
            continue;
        }
        if !in_block {
            continue;
        }
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        match line.trim_end().strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                let command = pending.split_whitespace().collect::<Vec<_>>().join(" ");
                if !command.is_empty() {
                    found.push(command);
                }
                pending.clear();
            }
        }
    }
    found
}

fn documents() -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    docs.insert(
        "README.md".to_owned(),
        fs::read_to_string(repo().join("README.md")).unwrap(),
    );
    for entry in fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
            docs.insert(name, fs::read_to_string(&path).unwrap());
        }
    }
    docs
}

fn make_targets() -> Vec<String> {
    let makefile = fs::read_to_string(repo().join("Makefile")).unwrap();
    makefile
        .lines()
        .filter(|l| !l.starts_with('\t') && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .filter(|(targets, rest)| !rest.starts_with('=') && !targets.contains('='))
        .flat_map(|(targets, _)| targets.split_whitespace().map(str::to_owned))
        .collect()
}

/// The flags `kwrun <sub> --help` lists.
fn help(sub: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kwrun"))
        .args([sub, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "kwrun has no subcommand {sub:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// What is wrong with one command, if anything.
fn check(command: &str, targets: &[String]) -> Vec<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut problems = Vec::new();
    let program = words[0].rsplit('/').next().unwrap_or(words[0]);
    match program {
        "make" => {
            for target in words[1..].iter().filter(|w| !w.contains('=')) {
                if !targets.iter().any(|t| t == target) {
                    problems.push(format!("no make target {target:?}"));
                }
            }
        }
        "kwctl" | "kwrun" => {
            let help = help(words[1]);
            for flag in words[2..].iter().filter(|w| w.starts_with('-')) {
                let flag = flag.split('=').next().unwrap();
                let listed = help
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .any(|w| w == flag);
                if !listed {
                    problems.push(format!("kwrun {} has no flag {flag}", words[1]));
                }
            }
        }
        "kubectl" | "cargo" => {}
        other => problems.push(format!("unknown program {other:?}: add it to this test")),
    }
    // Paths in the repository that the command reads.
    for word in &words[1..] {
        let looks_like_path = word.contains('/')
            && !word.contains("://")
            && !word.contains('<')
            && !word.starts_with('-')
            && !word.starts_with("target/");
        let generated = word.ends_with(".wasm");
        if looks_like_path && !generated && !repo().join(word).exists() {
            problems.push(format!("no file {word}"));
        }
    }
    problems
}

#[test]
fn every_documented_command_names_real_targets_files_and_flags() {
    let targets = make_targets();
    assert!(
        targets.iter().any(|t| t == "test"),
        "read the Makefile: {targets:?}"
    );
    let mut checked = 0;
    let mut problems = Vec::new();
    for (doc, text) in documents() {
        for command in commands(&text) {
            checked += 1;
            for problem in check(&command, &targets) {
                problems.push(format!("{doc}: `{command}`: {problem}"));
            }
        }
    }
    assert!(checked >= 10, "found only {checked} commands");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_checker_catches_what_a_stale_readme_would_hold() {
    let targets = make_targets();
    assert!(!check("make no-such-target", &targets).is_empty());
    assert!(!check("kwctl run --no-such-flag x.wasm", &targets).is_empty());
    assert!(!check("kubectl apply -f examples/missing.yaml", &targets).is_empty());
    assert!(check("make push OCI=registry://x/y:1", &targets).is_empty());
    assert_eq!(
        commands("```console runnable\nkwctl run \\\n  -r a.json x.wasm # note\n```\n"),
        ["kwctl run -r a.json x.wasm"]
    );
}
