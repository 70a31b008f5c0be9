use proptest::prelude::*;

use super::*;
use crate::iam::value_pattern;

/// [`super::first_outside`], for tests.
fn first_outside(admitted: &Dfa, allowed: &Dfa) -> Option<String> {
    super::first_outside(admitted, allowed).unwrap()
}

/// Every word over `alphabet` up to `max` characters, shortest first, then
/// in alphabet order.
pub fn words(alphabet: &str, max: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max {
        last = last
            .iter()
            .flat_map(|w| alphabet.chars().map(move |c| format!("{w}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

fn like(values: &[&str]) -> Dfa {
    let patterns: Vec<Pattern> = values
        .iter()
        .map(|v| value_pattern(v, true, false).items)
        .collect();
    Dfa::union_of(&patterns).unwrap()
}

#[test]
fn names_are_dns_labels_and_subdomains() {
    let ns = namespaces();
    for good in ["a", "a-b", "0", "team-a1"] {
        assert!(ns.accepts(good), "{good}");
    }
    for bad in ["", "-a", "a-", "a.b", "a:b"] {
        assert!(!ns.accepts(bad), "{bad}");
    }
    let sa = service_accounts();
    for good in ["a", "a.b", "a-b.c-d", "9"] {
        assert!(sa.accepts(good), "{good}");
    }
    for bad in ["", "a.", ".a", "a..b", "a-.b", "a:b"] {
        assert!(!sa.accepts(bad), "{bad}");
    }
}

#[test]
fn products_and_witnesses() {
    let a = like(&["team-a*"]);
    let b = like(&["team-a"]);
    assert_eq!(first_outside(&a, &b).as_deref(), Some("team-aa"));
    assert_eq!(first_outside(&b, &a), None);
    assert!(a.and(&b).unwrap().accepts("team-a"));
    assert!(a.or(&b).unwrap().accepts("team-ab"));
    assert!(!a.and_not(&a).unwrap().accepts("team-ab"));
    assert!(Dfa::nothing().is_empty());
    assert!(!Dfa::everything().is_empty());
    // A namespace-only glob has no valid witness of 64 characters or more.
    let long = like(&[&"a".repeat(64)]);
    assert_eq!(first_outside(&long, &Dfa::nothing()), None);
    let max = like(&[&"a".repeat(63)]);
    assert_eq!(
        first_outside(&max, &Dfa::nothing()).map(|w| w.len()),
        Some(63)
    );
}

#[test]
fn exponential_globs_are_refused() {
    let glob = format!("*a{}", "?".repeat(20));
    let pattern = value_pattern(&glob, true, false).items;
    assert_eq!(Dfa::union_of(&[pattern]), Err(TooComplex));
    let fine = format!("*a{}", "?".repeat(10));
    assert!(Dfa::union_of(&[value_pattern(&fine, true, false).items]).is_ok());
}

#[test]
fn subject_namespaces_project_on_the_namespace_part() {
    let subjects = like(&["system:serviceaccount:team-a*:*"]);
    let ns = subject_namespaces_checked(&subjects);
    assert!(ns.accepts("team-a"));
    assert!(ns.accepts("team-a-b"));
    assert!(!ns.accepts("team-b"));
    // `*` crosses the colon: `team-a*` admits team-a's ServiceAccounts and
    // every namespace starting with team-a.
    let any = like(&["system:serviceaccount:*:app"]);
    assert!(subject_namespaces_checked(&any).accepts("x"));
    // No valid ServiceAccount name ends in '-'.
    let none = like(&["system:serviceaccount:x:a-"]);
    assert!(!subject_namespaces_checked(&none).accepts("x"));
    // A ServiceAccount name longer than 253 characters is impossible.
    let long = like(&[&format!("system:serviceaccount:x:{}", "a".repeat(254))]);
    assert!(!subject_namespaces_checked(&long).accepts("x"));
    let longest = like(&[&format!("system:serviceaccount:x:{}", "a".repeat(253))]);
    assert!(subject_namespaces_checked(&longest).accepts("x"));
}

fn subject_namespaces_checked(subjects: &Dfa) -> Dfa {
    subjects.subject_namespaces().and(&namespaces()).unwrap()
}

/// The brute-force reference: IAM's `StringLike` is the policy's glob
/// matcher without placeholders (`*` crosses every character).
fn brute_like(values: &[String], text: &str) -> bool {
    values
        .iter()
        .any(|v| irsa_policy::glob::matches(v, text, None))
}

fn glob_strategy(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(tokens), 0..=max).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The automaton of a union of globs accepts exactly what the
    /// reference matcher accepts.
    #[test]
    fn union_of_globs_equals_the_reference(
        globs in proptest::collection::vec(glob_strategy(&["a", "b", ":", "-", "*", "?"], 5), 1..3),
    ) {
        let dfa = Dfa::union_of(
            &globs.iter().map(|g| value_pattern(g, true, false).items).collect::<Vec<_>>(),
        )
        .unwrap();
        for w in words("ab:-", 5) {
            prop_assert_eq!(dfa.accepts(&w), brute_like(&globs, &w), "{:?} on {:?}", globs, w);
        }
    }

    /// The namespaces of a set of subject globs, and the shortest one
    /// outside a set of key globs, against enumeration of namespaces over
    /// {a, b, c, -} and ServiceAccounts over {a, b, c, -, .}. `c` stands for
    /// every character no glob names.
    #[test]
    fn namespace_witness_equals_brute_force(
        subject_globs in proptest::collection::vec(glob_strategy(&["a", "b", ":", "-", "*", "?"], 4), 1..3),
        key_globs in proptest::collection::vec(glob_strategy(&["a", "b", "-", "*", "?"], 3), 0..3),
    ) {
        let subjects: Vec<String> =
            subject_globs.iter().map(|g| format!("{SUBJECT_PREFIX}{g}")).collect();
        let admitted = like(&subjects.iter().map(String::as_str).collect::<Vec<_>>())
            .subject_namespaces();
        let allowed = like(&key_globs.iter().map(String::as_str).collect::<Vec<_>>());
        let witness = first_outside(&admitted, &allowed);
        // A ServiceAccount part needs at most 4 characters here: up to 3
        // pattern characters, plus an alphanumeric before a leading '-'.
        let service_accounts: Vec<String> = words("abc-.", 4)
            .into_iter()
            .filter(|s| service_accounts().accepts(s))
            .collect();
        let brute = words("abc-", 4).into_iter().find(|n| {
            namespaces().accepts(n)
                && !brute_like(&key_globs, n)
                && service_accounts
                    .iter()
                    .any(|s| brute_like(&subjects, &format!("{SUBJECT_PREFIX}{n}:{s}")))
        });
        match (&witness, &brute) {
            (Some(w), _) if w.len() <= 4 => prop_assert_eq!(Some(w), brute.as_ref()),
            (_, Some(b)) => prop_assert!(false, "missed {b:?}, found {witness:?}"),
            _ => {}
        }
    }
}
