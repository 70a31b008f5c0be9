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
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: the subset construction hashes many short keys, for which
/// SipHash's setup dominates. No input reaches it from outside.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The characters of valid subjects and namespaces, in witness order.
pub const ALPHABET: &[u8; SYMBOLS] = b"abcdefghijklmnopqrstuvwxyz0123456789-.:";
/// Size of [`ALPHABET`].
pub const SYMBOLS: usize = 39;

/// The most states an automaton, or the table of a product, may have:
/// past it a policy is refused as too complex rather than exhausting
/// memory (a glob such as `*a??????????????????????` has exponentially
/// many states).
pub const MAX_STATES: usize = 1 << 16;

/// The most entries of the dense table of a product.
const MAX_TABLE: usize = 1 << 24;

/// A language that would need more than [`MAX_STATES`] states, or a
/// product table of more than `MAX_TABLE` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooComplex;

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
    pub fn union_of(patterns: &[Pattern]) -> Result<Dfa, TooComplex> {
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
        let mut ids: FastMap<Set, u32> = FastMap::default();
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
            if sets.len() > MAX_STATES {
                return Err(TooComplex);
            }
            let accept = set.iter().any(|&(p, at)| {
                patterns
                    .get(p as usize)
                    .is_some_and(|items| at as usize == items.len())
            });
            // Moves on any symbol (`*`, `?`), and the symbols some item
            // names: every other symbol leads to the same set.
            let mut any: Set = Vec::new();
            let mut named: Vec<usize> = Vec::new();
            for &(p, at) in &set {
                match patterns.get(p as usize).and_then(|i| i.get(at as usize)) {
                    Some(Item::Star) => any.push((p, at)),
                    Some(Item::One) => any.push((p, at + 1)),
                    Some(Item::Char(Some(c))) => named.push(usize::from(*c)),
                    _ => {}
                }
            }
            named.sort_unstable();
            named.dedup();
            let mut intern = |moved: Set| -> u32 {
                let moved = closure(moved);
                match ids.get(&moved) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(sets.len()).unwrap_or(u32::MAX);
                        ids.insert(moved.clone(), id);
                        sets.push(moved);
                        id
                    }
                }
            };
            let others = intern(any.clone());
            let mut row = [others; SYMBOLS];
            for &a in &named {
                let mut moved = any.clone();
                for &(p, at) in &set {
                    if let Some(Item::Char(Some(c))) =
                        patterns.get(p as usize).and_then(|i| i.get(at as usize))
                        && usize::from(*c) == a
                    {
                        moved.push((p, at + 1));
                    }
                }
                if let Some(slot) = row.get_mut(a) {
                    *slot = intern(moved);
                }
            }
            dfa.next.push(row);
            dfa.accept.push(accept);
            i += 1;
        }
        Ok(dfa)
    }

    /// The words this automaton does not accept.
    pub fn complement(mut self) -> Dfa {
        for a in &mut self.accept {
            *a = !*a;
        }
        self
    }

    /// The reachable product of two automata.
    pub fn product(&self, other: &Dfa, op: Op) -> Result<Dfa, TooComplex> {
        // Pair ids in a dense table: the automata here have tens of states.
        let width = other.states().max(1);
        if self.states().saturating_mul(width) > MAX_TABLE {
            return Err(TooComplex);
        }
        let mut ids: Vec<u32> = vec![u32::MAX; self.states().max(1) * width];
        let slot = |a: u32, b: u32| a as usize * width + b as usize;
        let mut pairs = vec![(self.start, other.start)];
        if let Some(s) = ids.get_mut(slot(self.start, other.start)) {
            *s = 0;
        }
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
            for (s, target) in row.iter_mut().enumerate() {
                let (na, nb) = (self.step(a, s), other.step(b, s));
                let Some(id) = ids.get_mut(slot(na, nb)) else {
                    continue;
                };
                if *id == u32::MAX {
                    *id = u32::try_from(pairs.len()).unwrap_or(u32::MAX);
                    pairs.push((na, nb));
                }
                *target = *id;
            }
            dfa.next.push(row);
            i += 1;
        }
        Ok(dfa)
    }

    pub fn and(&self, other: &Dfa) -> Result<Dfa, TooComplex> {
        self.product(other, Op::And)
    }

    pub fn or(&self, other: &Dfa) -> Result<Dfa, TooComplex> {
        self.product(other, Op::Or)
    }

    pub fn and_not(&self, other: &Dfa) -> Result<Dfa, TooComplex> {
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

    /// Whether some word leads from `state` to acceptance (used for the
    /// fixed name automata, whose only dead state loops).
    fn live(&self, state: u32) -> bool {
        self.accepts_state(state) || (0..SYMBOLS).any(|s| self.step(state, s) != state)
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
    #[cfg(test)]
    pub fn shortest(&self, max: usize) -> Option<String> {
        let mut parent: Vec<Option<(u32, u8)>> = vec![None; self.states()];
        let mut depth: Vec<usize> = vec![usize::MAX; self.states()];
        let mut queue = VecDeque::from([self.start]);
        if let Some(d) = depth.get_mut(self.start as usize) {
            *d = 0;
        }
        while let Some(q) = queue.pop_front() {
            let d = depth.get(q as usize).copied().unwrap_or(0);
            if self.accepts_state(q) {
                let mut word = Vec::new();
                let mut at = q;
                while let Some(Some((from, s))) = parent.get(at as usize) {
                    word.push(ALPHABET.get(usize::from(*s)).copied().unwrap_or(b'?'));
                    at = *from;
                }
                word.reverse();
                return Some(String::from_utf8_lossy(&word).into_owned());
            }
            if d >= max {
                continue;
            }
            for s in 0..SYMBOLS {
                let to = self.step(q, s);
                if let Some(seen) = depth.get_mut(to as usize)
                    && *seen == usize::MAX
                {
                    *seen = d + 1;
                    if let Some(p) = parent.get_mut(to as usize) {
                        *p = Some((q, u8::try_from(s).unwrap_or(0)));
                    }
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
        // The states a namespace can lead to, then for each state that
        // ':' leads to from there, whether a valid ServiceAccount name of at
        // most 253 characters completes the subject (a forward search,
        // shortest first).
        let sa = service_accounts();
        let colon = symbol(':').unwrap_or(SYMBOLS - 1);
        let mut reached = vec![false; self.states()];
        let mut stack = vec![start];
        if let Some(r) = reached.get_mut(start as usize) {
            *r = true;
        }
        while let Some(q) = stack.pop() {
            for c in (0..SYMBOLS).filter(|&c| c != colon && ALPHABET.get(c) != Some(&b'.')) {
                let to = self.step(q, c);
                if let Some(r) = reached.get_mut(to as usize)
                    && !*r
                {
                    *r = true;
                    stack.push(to);
                }
            }
        }
        let mut completes: FastMap<u32, bool> = FastMap::default();
        let mut accept = vec![false; self.states()];
        for (q, slot) in accept.iter_mut().enumerate() {
            if !reached.get(q).copied().unwrap_or(false) {
                continue;
            }
            let after = self.step(q as u32, colon);
            *slot = *completes
                .entry(after)
                .or_insert_with(|| self.completes(after, &sa));
        }
        Dfa {
            next: self.next.clone(),
            accept,
            start,
        }
    }

    /// Whether some word of `names` of at most [`MAX_SERVICE_ACCOUNT`]
    /// characters leads from `from` to acceptance.
    fn completes(&self, from: u32, names: &Dfa) -> bool {
        let width = names.states();
        let mut seen = vec![false; self.states() * width];
        let mut queue = VecDeque::from([(from, names.start, 0usize)]);
        while let Some((q, s, depth)) = queue.pop_front() {
            if self.accepts_state(q) && names.accepts_state(s) {
                return true;
            }
            if depth >= MAX_SERVICE_ACCOUNT {
                continue;
            }
            for c in 0..SYMBOLS {
                let (q2, s2) = (self.step(q, c), names.step(s, c));
                if !names.live(s2) {
                    continue;
                }
                if let Some(v) = seen.get_mut(q2 as usize * width + s2 as usize)
                    && !*v
                {
                    *v = true;
                    queue.push_back((q2, s2, depth + 1));
                }
            }
        }
        false
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
pub fn first_outside(admitted: &Dfa, allowed: &Dfa) -> Result<Option<String>, TooComplex> {
    // Breadth-first over the product of `admitted`, the namespace-name
    // automaton and `allowed`, without building it.
    let names = namespaces();
    let (na, nl, nb) = (admitted.states(), names.states(), allowed.states());
    if na.saturating_mul(nl).saturating_mul(nb) > MAX_TABLE {
        return Err(TooComplex);
    }
    let index = |a: u32, l: u32, b: u32| (a as usize * nl + l as usize) * nb + b as usize;
    let mut parent: Vec<u32> = vec![u32::MAX; na * nl * nb];
    let mut symbol_in: Vec<u8> = vec![0; na * nl * nb];
    let start = (admitted.start, names.start, allowed.start);
    let start_index = index(start.0, start.1, start.2);
    let mut queue = VecDeque::from([(start, 0usize)]);
    if let Some(p) = parent.get_mut(start_index) {
        *p = u32::try_from(start_index).unwrap_or(u32::MAX);
    }
    while let Some(((a, l, b), depth)) = queue.pop_front() {
        if admitted.accepts_state(a) && names.accepts_state(l) && !allowed.accepts_state(b) {
            let mut word = Vec::new();
            let mut at = index(a, l, b);
            while at != start_index {
                word.push(symbol_in.get(at).copied().unwrap_or(b'?'));
                at = parent.get(at).map_or(start_index, |&p| p as usize);
            }
            word.reverse();
            return Ok(Some(String::from_utf8_lossy(&word).into_owned()));
        }
        if depth >= MAX_NAMESPACE {
            continue;
        }
        let from = u32::try_from(index(a, l, b)).unwrap_or(u32::MAX);
        for (s, &c) in ALPHABET.iter().enumerate() {
            let next = (admitted.step(a, s), names.step(l, s), allowed.step(b, s));
            let i = index(next.0, next.1, next.2);
            if let Some(p) = parent.get_mut(i)
                && *p == u32::MAX
            {
                *p = from;
                if let Some(slot) = symbol_in.get_mut(i) {
                    *slot = c;
                }
                queue.push_back((next, depth + 1));
            }
        }
    }
    Ok(None)
}

/// The shortest valid namespace `admitted` accepts.
pub fn first_namespace(admitted: &Dfa) -> Result<Option<String>, TooComplex> {
    first_outside(admitted, &Dfa::nothing())
}

/// Whether `admitted` accepts every valid namespace.
pub fn every_namespace(admitted: &Dfa) -> Result<bool, TooComplex> {
    Ok(first_outside(&Dfa::everything(), admitted)?.is_none())
}

#[cfg(test)]
pub mod tests;
