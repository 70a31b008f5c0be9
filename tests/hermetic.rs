//! Tests are hermetic: a `kwctl run` granted `--allow-context-aware`
//! without a replay session would use whatever cluster the machine's
//! kubeconfig names. Every such run in the bats suites gets one. (kwrun's
//! own refusal without a kubeconfig is a unit test in `kwrun/src/main.rs`.)

use std::path::Path;

/// The shell command that starts at line `at`, with its `\` continuations.
fn command(lines: &[&str], at: usize) -> String {
    let mut first = at;
    while first > 0 && lines[first - 1].trim_end().ends_with('\\') {
        first -= 1;
    }
    let mut last = at;
    while last + 1 < lines.len() && lines[last].trim_end().ends_with('\\') {
        last += 1;
    }
    lines[first..=last].join(" ")
}

#[test]
fn every_context_aware_run_gets_a_replay_session() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut runs = 0;
    for suite in ["e2e.bats", "hardening.bats", "trustcheck.bats"] {
        let text = std::fs::read_to_string(root.join(suite)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with('#') || code.starts_with("@test") {
                continue;
            }
            if !code.contains("--allow-context-aware") {
                continue;
            }
            runs += 1;
            let run = command(&lines, at);
            assert!(
                run.contains("--replay-host-capabilities-interactions"),
                "{suite}:{}: a context-aware run without a replay session: {run}",
                at + 1
            );
        }
    }
    assert!(runs >= 5, "only {runs} context-aware runs found");
}
