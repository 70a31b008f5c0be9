//! Deterministic finite automata over the characters that Kubernetes names
//! and IRSA subjects are made of, so that "every namespace the trust policy
//! admits is one the allow-list allows" is decided exactly rather than by
//! sampling namespaces.
//!
//! The alphabet is `[a-z0-9-.:]`: every character of a valid
//! `system:serviceaccount:<namespace>:<serviceAccount>` subject and of a
//! namespace. A pattern character outside it can never match a valid
//! subject, so it matches nothing here.
//!
//! Patterns are IAM `StringLike` globs (`*`: any run of characters,
//! including `:` and `/`; `?`: one character), which also cover
//! `StringEquals` (a glob without wildcards) and the allow-list's namespace
//! keys. Languages are combined by the product construction; a shortest
//! word (shortest first, then in alphabet order) is found by breadth-first
//! search, which makes witnesses deterministic.

use std::collections::{HashMap, VecDeque};

/// The characters of valid subjects and namespaces, in witness order.
pub const ALPHABET: &[u8; SYMBOLS] = b"abcdefghijklmnopqrstuvwxyz0123456789-.:";
/// Size of [`ALPHABET`].
pub const SYMBOLS: usize = 39;

/// Longest namespace (a DNS-1123 label).
pub const MAX_NAMESPACE: usize = 63;
/// Longest ServiceAccount name (a DNS-1123 subdomain).
pub const MAX_SERVICE_ACCOUNT: usize = 253;
/// What every IRSA subject starts with; the namespace follows.
pub const SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// The index of `c` in [`ALPHABET`].
pub fn symbol(c: char) -> Option<usize> {
    ALPHABET.iter().position(|&a| char::from(a) == c)
}

/// One item of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// One character: its symbol, or `None` for a character outside the
    /// alphabet (it matches nothing).
    Char(Option<u8>),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters.
    Star,
}

/// A glob as a list of items.
pub type Pattern = Vec<Item>;

/// The items of literal text.
pub fn literal(text: &str) -> Pattern {
    text.chars()
        .map(|c| Item::Char(symbol(c).and_then(|s| u8::try_from(s).ok())))
        .collect()
}

/// A deterministic, complete automaton; state 0 is not special, `start` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dfa {
    next: Vec<[u32; SYMBOLS]>,
    accept: Vec<bool>,
    start: u32,
}

/// How [`Dfa::product`] combines acceptance.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    And,
    Or,
    AndNot,
}

impl Dfa {
    /// The language of no word.
    pub fn nothing() -> Dfa {
        Dfa {
            next: vec![[0; SYMBOLS]],
            accept: vec![false],
            start: 0,
        }
    }

    /// Every word.
    pub fn everything() -> Dfa {
        Dfa::nothing().complement()
    }

    /// The words any of `patterns` matches (subset construction).
    pub fn union_of(patterns: &[Pattern]) -> Dfa {
        type Set = Vec<(u32, u32)>;
        let closure = |mut set: Set| -> Set {
            let mut i = 0;
            while let Some(&(p, at)) = set.get(i) {
                let items = patterns.get(p as usize).map(Vec::as_slice).unwrap_or(&[]);
                if items.get(at as usize) == Some(&Item::Star) && !set.contains(&(p, at + 1)) {
                    set.push((p, at + 1));
                }
                i += 1;
            }
            set.sort_unstable();
            set.dedup();
            set
        };
        let starts: Set = (0..patterns.len())
            .filter_map(|p| u32::try_from(p).ok())
            .map(|p| (p, 0))
            .collect();
        let first = closure(starts);
        let mut ids: HashMap<Set, u32> = HashMap::new();
        let mut sets: Vec<Set> = Vec::new();
        ids.insert(first.clone(), 0);
        sets.push(first);
        let mut dfa = Dfa {
            next: Vec::new(),
            accept: Vec::new(),
            start: 0,
        };
        let mut i = 0;
        while let Some(set) = sets.get(i).cloned() {
            let accept = set.iter().any(|&(p, at)| {
                patterns
                    .get(p as usize)
                    .is_some_and(|items| at as usize == items.len())
            });
            let mut row = [0u32; SYMBOLS];
            for (a, slot) in row.iter_mut().enumerate() {
                let mut moved: Set = Vec::new();
                for &(p, at) in &set {
                    let Some(item) = patterns.get(p as usize).and_then(|i| i.get(at as usize))
                    else {
                        continue;
                    };
                    match item {
                        Item::Star => moved.push((p, at)),
                        Item::One => moved.push((p, at + 1)),
                        Item::Char(Some(c)) if usize::from(*c) == a => moved.push((p, at + 1)),
                        Item::Char(_) => {}
                    }
                }
                let moved = closure(moved);
                let id = match ids.get(&moved) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(sets.len()).unwrap_or(u32::MAX);
                        ids.insert(moved.clone(), id);
                        sets.push(moved);
                        id
                    }
                };
                *slot = id;
            }
            dfa.next.push(row);
            dfa.accept.push(accept);
            i += 1;
        }
        dfa
    }

    /// The words this automaton does not accept.
    pub fn complement(mut self) -> Dfa {
        for a in &mut self.accept {
            *a = !*a;
        }
        self
    }

    /// The reachable product of two automata.
    pub fn product(&self, other: &Dfa, op: Op) -> Dfa {
        let mut ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut pairs = vec![(self.start, other.start)];
        ids.insert((self.start, other.start), 0);
        let mut dfa = Dfa {
            next: Vec::new(),
            accept: Vec::new(),
            start: 0,
        };
        let mut i = 0;
        while let Some(&(a, b)) = pairs.get(i) {
            let (x, y) = (self.accepts_state(a), other.accepts_state(b));
            dfa.accept.push(match op {
                Op::And => x && y,
                Op::Or => x || y,
                Op::AndNot => x && !y,
            });
            let mut row = [0u32; SYMBOLS];
            for (s, slot) in row.iter_mut().enumerate() {
                let pair = (self.step(a, s), other.step(b, s));
                *slot = *ids.entry(pair).or_insert_with(|| {
                    pairs.push(pair);
                    u32::try_from(pairs.len() - 1).unwrap_or(u32::MAX)
                });
            }
            dfa.next.push(row);
            i += 1;
        }
        dfa
    }

    pub fn and(&self, other: &Dfa) -> Dfa {
        self.product(other, Op::And)
    }

    pub fn or(&self, other: &Dfa) -> Dfa {
        self.product(other, Op::Or)
    }

    pub fn and_not(&self, other: &Dfa) -> Dfa {
        self.product(other, Op::AndNot)
    }

    pub fn states(&self) -> usize {
        self.next.len()
    }

    fn step(&self, state: u32, s: usize) -> u32 {
        self.next
            .get(state as usize)
            .and_then(|row| row.get(s))
            .copied()
            .unwrap_or(state)
    }

    fn accepts_state(&self, state: u32) -> bool {
        self.accept.get(state as usize).copied().unwrap_or(false)
    }

    /// The state after reading `text` from `from`; `None` when `text` holds
    /// a character outside the alphabet.
    fn run(&self, from: u32, text: &str) -> Option<u32> {
        text.chars()
            .try_fold(from, |q, c| symbol(c).map(|s| self.step(q, s)))
    }

    /// Whether the automaton accepts `text`.
    #[cfg(test)]
    pub fn accepts(&self, text: &str) -> bool {
        self.run(self.start, text)
            .is_some_and(|q| self.accepts_state(q))
    }

    /// Whether no word is accepted.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.shortest(usize::MAX).is_none()
    }

    /// The shortest accepted word (then the first in alphabet order) whose
    /// length is at most `max`.
    pub fn shortest(&self, max: usize) -> Option<String> {
        let mut parent: HashMap<u32, (u32, u8)> = HashMap::new();
        let mut depth: HashMap<u32, usize> = HashMap::new();
        let mut queue = VecDeque::from([self.start]);
        depth.insert(self.start, 0);
        while let Some(q) = queue.pop_front() {
            let d = depth.get(&q).copied().unwrap_or(0);
            if self.accepts_state(q) {
                let mut word = Vec::new();
                let mut at = q;
                while let Some(&(from, s)) = parent.get(&at) {
                    word.push(ALPHABET.get(usize::from(s)).copied().unwrap_or(b'?'));
                    at = from;
                }
                word.reverse();
                return Some(String::from_utf8_lossy(&word).into_owned());
            }
            if d >= max {
                continue;
            }
            for s in 0..SYMBOLS {
                let to = self.step(q, s);
                if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(to) {
                    e.insert(d + 1);
                    parent.insert(to, (q, u8::try_from(s).unwrap_or(0)));
                    queue.push_back(to);
                }
            }
        }
        None
    }

    /// The namespaces `n` for which some valid ServiceAccount name `s` makes
    /// `system:serviceaccount:n:s` a word of `self` (a language of
    /// subjects). The result accepts other words too; intersect it with
    /// [`namespaces`] before reading it.
    pub fn subject_namespaces(&self) -> Dfa {
        let Some(start) = self.run(self.start, SUBJECT_PREFIX) else {
            return Dfa::nothing();
        };
        // Distance from each (state, service-account-state) pair to an
        // accepted subject, by a backward search over the product.
        let sa = service_accounts();
        let pair_count = self.states() * sa.states();
        let index = |q: u32, s: u32| q as usize * sa.states() + s as usize;
        let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); pair_count];
        let mut distance: Vec<usize> = vec![usize::MAX; pair_count];
        let mut queue = VecDeque::new();
        for q in 0..self.states() {
            for s in 0..sa.states() {
                let (q, s) = (q as u32, s as u32);
                for (c, &ch) in ALPHABET.iter().enumerate() {
                    if ch == b':' {
                        continue;
                    }
                    if let Some(r) = reverse.get_mut(index(self.step(q, c), sa.step(s, c))) {
                        r.push(index(q, s));
                    }
                }
                if self.accepts_state(q) && sa.accepts_state(s) {
                    if let Some(d) = distance.get_mut(index(q, s)) {
                        *d = 0;
                    }
                    queue.push_back(index(q, s));
                }
            }
        }
        while let Some(p) = queue.pop_front() {
            let d = distance.get(p).copied().unwrap_or(usize::MAX);
            for &from in reverse.get(p).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(slot) = distance.get_mut(from)
                    && *slot == usize::MAX
                {
                    *slot = d + 1;
                    queue.push_back(from);
                }
            }
        }
        let colon = symbol(':').unwrap_or(SYMBOLS - 1);
        let accept = (0..self.states())
            .map(|q| {
                let after = self.step(q as u32, colon);
                distance
                    .get(index(after, sa.start))
                    .is_some_and(|&d| d <= MAX_SERVICE_ACCOUNT)
            })
            .collect();
        Dfa {
            next: self.next.clone(),
            accept,
            start,
        }
    }
}

/// Alphanumeric symbols.
fn is_alnum(s: usize) -> bool {
    ALPHABET
        .get(s)
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// DNS-1123 labels of any length: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`. The
/// length cap is applied by [`first_outside`].
pub fn namespaces() -> Dfa {
    // 0 start, 1 after an alphanumeric (accepting), 2 after '-', 3 dead.
    let mut next = vec![[3u32; SYMBOLS]; 4];
    for s in 0..SYMBOLS {
        let dash = ALPHABET.get(s) == Some(&b'-');
        for from in 0..3 {
            if let Some(slot) = next.get_mut(from).and_then(|r| r.get_mut(s)) {
                *slot = if is_alnum(s) {
                    1
                } else if dash && from != 0 {
                    2
                } else {
                    3
                };
            }
        }
    }
    Dfa {
        next,
        accept: vec![false, true, false, false],
        start: 0,
    }
}

/// DNS-1123 subdomains of any length (ServiceAccount names):
/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`.
pub fn service_accounts() -> Dfa {
    // 0 start or after '.', 1 after an alphanumeric (accepting), 2 after
    // '-', 3 dead.
    let mut next = vec![[3u32; SYMBOLS]; 4];
    for s in 0..SYMBOLS {
        let c = ALPHABET.get(s).copied().unwrap_or(b':');
        for from in 0..3 {
            if let Some(slot) = next.get_mut(from).and_then(|r| r.get_mut(s)) {
                *slot = match (from, c) {
                    (_, _) if is_alnum(s) => 1,
                    (1 | 2, b'-') => 2,
                    (1, b'.') => 0,
                    _ => 3,
                };
            }
        }
    }
    Dfa {
        next,
        accept: vec![false, true, false, false],
        start: 0,
    }
}

/// The shortest valid namespace (at most 63 characters) that `admitted`
/// accepts and `allowed` does not: a witness that the first is not a subset
/// of the second. `None` proves inclusion over valid namespaces.
pub fn first_outside(admitted: &Dfa, allowed: &Dfa) -> Option<String> {
    admitted
        .and(&namespaces())
        .and_not(allowed)
        .shortest(MAX_NAMESPACE)
}

#[cfg(test)]
pub mod tests;
