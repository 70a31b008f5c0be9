use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::automata::namespaces;
use crate::automata::tests::words;

/// [`crate::automata::first_outside`], for tests.
fn first_outside(admitted: &Dfa, allowed: &Dfa) -> Option<String> {
    crate::automata::first_outside(admitted, allowed).unwrap()
}

fn list(map: &[(&str, &[&str])]) -> AllowList {
    let map: BTreeMap<String, PatternList> = map
        .iter()
        .map(|(k, ps)| {
            (
                (*k).to_owned(),
                PatternList(ps.iter().map(|p| (*p).to_owned()).collect()),
            )
        })
        .collect();
    let policy = AllowedRoles::parse(&map).expect("valid test map");
    AllowList::new(Some(&map), Some(policy))
}

fn role(arn: &str) -> RoleArn {
    RoleArn::parse(arn).expect("valid test role")
}

#[test]
fn the_example_map() {
    let mut map = list(&[
        ("payments", &["arn:aws:iam::111122223333:role/payments-*"]),
        ("team-*", &["arn:aws:iam::111122223333:role/{namespace}/*"]),
        ("*", &["arn:aws:iam::111122223333:role/shared-read-only"]),
    ]);
    let team = map
        .for_role(&role("arn:aws:iam::111122223333:role/team-a/app"))
        .unwrap();
    assert!(team.dfa.accepts("team-a"));
    assert!(!team.dfa.accepts("team-a-b"));
    assert!(
        !team.dfa.accepts("a"),
        "'a' is a substring but no key allows it"
    );
    assert_eq!(team.describe(), "\"team-a\"");
    let shared = map
        .for_role(&role("arn:aws:iam::111122223333:role/shared-read-only"))
        .unwrap();
    assert!(shared.dfa.accepts("anything"));
    assert_eq!(shared.describe(), "namespaces matching \"*\"");
    let other = map
        .for_role(&role("arn:aws:iam::999988887777:role/payments-x"))
        .unwrap();
    assert!(other.dfa.is_empty());
    assert_eq!(other.describe(), "no namespace");
    let pay = map
        .for_role(&role("arn:aws:iam::111122223333:role/payments-x"))
        .unwrap();
    assert_eq!(
        first_outside(&crate::automata::Dfa::everything(), &pay.dfa).as_deref(),
        Some("a")
    );
}

#[test]
fn no_allowed_roles_allows_everything() {
    let mut map = AllowList::new(None, None);
    let all = map
        .for_role(&role("arn:aws:iam::111122223333:role/x"))
        .unwrap();
    assert!(all.unrestricted && all.dfa.accepts("x"));
    assert!(map.allows("x", &role("arn:aws:iam::111122223333:role/x")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Allowed(R) accepts exactly the namespaces the policy's own
    /// `for_namespace(n).allows(R)` allows, over every namespace up to
    /// four characters of {a, b, -} and the role's own segments.
    #[test]
    fn allowed_equals_the_policys_matcher(
        keys in proptest::collection::vec(
            proptest::sample::select(&["a", "b", "ab", "a*", "*", "?", "a-?", "*b", "b-a", "a-b"][..]),
            1..4,
        ),
        patterns in proptest::collection::vec(
            proptest::sample::select(&[
                "arn:aws:iam::111122223333:role/{namespace}/*",
                "arn:aws:iam::111122223333:role/{namespace}",
                "arn:aws:iam::111122223333:role/{namespace}-*",
                "arn:aws:iam::111122223333:role/*{namespace}",
                "arn:aws:iam::111122223333:role/x-*",
                "arn:aws:iam::*:role/a-b/y",
                "arn:aws:iam::999988887777:role/*",
            ][..]),
            1..4,
        ),
        arn in proptest::sample::select(&[
            "arn:aws:iam::111122223333:role/a/x",
            "arn:aws:iam::111122223333:role/a-b/y",
            "arn:aws:iam::111122223333:role/ab",
            "arn:aws:iam::111122223333:role/b-a-x",
            "arn:aws:iam::111122223333:role/x-1",
        ][..]),
    ) {
        let entries: Vec<(&str, &[&str])> = keys.iter().map(|k| (*k, patterns.as_slice())).collect();
        let mut map = list(&entries);
        let r = role(arn);
        let allowed = map.for_role(&r).unwrap();
        for n in words("ab-", 4).iter().filter(|n| namespaces().accepts(n)) {
            prop_assert_eq!(allowed.dfa.accepts(n), map.allows(n, &r), "{} in {:?}", n, keys);
        }
    }
}
