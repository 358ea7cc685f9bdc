//! Choosing the rule list that applies at a place in a document, fast.
//!
//! The rules of a body are compiled once per match call into a trie of their path tokens,
//! and the walk over the document keeps the set of trie nodes matching the current path (an
//! NFA). Choosing the rules of a node then costs a lookup per state, whatever the number of
//! rules, and follows Pact's weighting ([`super::path`]): the largest weight × length wins,
//! ties go to the rule found first (the shallower one).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::{MatchingRule, RuleList, RuleLogic};

use super::path::{Seg, Token, parse};
use super::rules::CompiledRule;

/// Pact's score of a rule path: weight (2 per exact token, 1 per wildcard, multiplied) times
/// its length. Saturates instead of overflowing on absurdly deep paths.
#[inline]
pub(crate) fn score(exact: u32, len: usize) -> u64 {
    (1u64 << exact.min(40)).saturating_mul(len as u64)
}

/// A compiled rule list: the rules of one path with their regexes compiled.
#[derive(Debug)]
pub(crate) struct CList<'r> {
    pub rules: Vec<CompiledRule<'r>>,
    pub logic: RuleLogic,
    /// Any type-like rule (type, min, max)?
    pub has_type: bool,
}

impl<'r> CList<'r> {
    pub fn compile(list: &'r RuleList) -> Self {
        Self::from_rules(&list.rules, list.logic)
    }

    pub fn from_rules(rules: &'r [MatchingRule], logic: RuleLogic) -> Self {
        let rules: Vec<CompiledRule<'r>> = rules.iter().map(CompiledRule::compile).collect();
        let has_type = rules.iter().any(|r| {
            matches!(
                r.rule,
                MatchingRule::Type
                    | MatchingRule::MinType(_)
                    | MatchingRule::MaxType(_)
                    | MatchingRule::MinMaxType(_, _)
            )
        });
        CList {
            rules,
            logic,
            has_type,
        }
    }
}

/// A fast, non-cryptographic hasher for the trie's names (FxHash): the table is built from
/// the contract's rules, and lookups with the document's keys cannot degrade it.
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = 0u64;
            for (i, b) in rest.iter().enumerate() {
                word |= u64::from(*b) << (8 * i);
            }
            self.add(word ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Hashes a name for [`Fields`] (FxHash over 8-byte words, length mixed in).
#[inline]
fn hash_name(name: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    let mut chunks = name.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h.add(u64::from_le_bytes(word));
    }
    let mut tail = 0u64;
    for (i, b) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(*b) << (8 * i);
    }
    h.add(tail ^ ((name.len() as u64) << 56));
    h.hash
}

/// The first slot for a hash: FxHash's entropy is in its high bits.
#[inline]
fn slot_of(h: u64, mask: usize) -> usize {
    (h >> 32) as usize & mask
}

/// Compares short names without a call to `memcmp`.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.len() > 16 && a == b || a.iter().zip(b).all(|(x, y)| x == y))
}

/// A trie node's children by name: a small open-addressing table (linear probing, at most
/// half full) keyed by the name's hash, so a lookup is a hash, a probe and a short compare.
#[derive(Debug, Default)]
struct Fields {
    slots: Vec<Option<(u64, Box<str>, u32)>>,
    len: usize,
}

impl Fields {
    #[inline]
    fn get(&self, name: &str) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.get_hashed(name, hash_name(name.as_bytes()))
    }

    #[inline(always)]
    fn get_hashed(&self, name: &str, h: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(h, mask);
        loop {
            match &self.slots[i] {
                None => return None,
                Some((sh, k, v)) if *sh == h && same_name(k.as_bytes(), name.as_bytes()) => {
                    return Some(*v);
                }
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    fn get_or_insert(&mut self, name: &str, id: u32) -> u32 {
        if let Some(existing) = self.get(name) {
            return existing;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            let capacity = (self.slots.len() * 2).max(4);
            let old = std::mem::replace(&mut self.slots, (0..capacity).map(|_| None).collect());
            for (h, k, v) in old.into_iter().flatten() {
                self.place(h, k, v);
            }
        }
        self.place(hash_name(name.as_bytes()), name.into(), id);
        self.len += 1;
        id
    }

    fn place(&mut self, h: u64, name: Box<str>, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(h, mask);
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((h, name, id));
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Debug, Default)]
struct TrieNode {
    /// Names and indices, by their text (`Index(3)` under `"3"`).
    fields: Fields,
    star: Option<u32>,
    star_index: Option<u32>,
    /// Rule lists whose path ends here.
    terminals: Vec<u32>,
    /// Exact tokens on the way here (the root counts).
    exact: u32,
    /// Tokens on the way here.
    len: usize,
}

/// The rules of one category that address a document by path (body, message contents),
/// compiled for selection.
#[derive(Debug)]
pub(crate) struct RuleIndex<'r> {
    nodes: Vec<TrieNode>,
    pub lists: Vec<CList<'r>>,
    /// Lists under the empty path (they match everything, with weight 0).
    global: Vec<u32>,
    /// Rule paths that could not be parsed, with the reason.
    pub errors: Vec<String>,
}

/// The selection inherited from the parent node: the best rule list so far and whether any
/// matching rule list has a type matcher.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sel<'a, 'r> {
    pub best: Option<Best<'a, 'r>>,
    pub type_defined: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Best<'a, 'r> {
    pub list: &'a CList<'r>,
    score: u64,
    /// The depth (number of path steps, root excluded) the list was written for.
    depth: usize,
}

/// What applies at one node of the document.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chosen<'a, 'r> {
    pub list: &'a CList<'r>,
    pub cascaded: bool,
}

impl<'a, 'r> Sel<'a, 'r> {
    /// The rule list chosen at a node of `depth` steps.
    pub fn chosen(&self, depth: usize) -> Option<Chosen<'a, 'r>> {
        self.best.map(|b| Chosen {
            list: b.list,
            cascaded: b.depth != depth,
        })
    }

    /// A selection where `list` applies from `depth` down (Pact's `eachValue`, whose rules
    /// replace all others below the collection).
    pub fn only(list: &'a CList<'r>, depth: usize) -> Self {
        Sel {
            best: Some(Best {
                list,
                score: u64::MAX,
                depth,
            }),
            type_defined: list.has_type,
        }
    }
}

impl<'r> RuleIndex<'r> {
    pub fn empty() -> Self {
        RuleIndex {
            nodes: vec![TrieNode {
                exact: 1,
                len: 1,
                ..TrieNode::default()
            }],
            lists: Vec::new(),
            global: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Compiles the rule lists of a category keyed by path expression.
    pub fn build<'k>(entries: impl IntoIterator<Item = (&'k str, &'r RuleList)>) -> Self {
        let mut index = RuleIndex::empty();
        for (expr, list) in entries {
            if list.rules.is_empty() {
                continue;
            }
            match &*parse_cached(expr) {
                Ok(tokens) => index.insert(tokens, CList::compile(list)),
                Err(e) => index.errors.push(e.clone()),
            }
        }
        index
    }

    /// Adds a compiled list at a parsed path.
    pub fn insert(&mut self, tokens: &[Token], list: CList<'r>) {
        let id = self.lists.len() as u32;
        self.lists.push(list);
        if tokens.is_empty() {
            self.global.push(id);
            return;
        }
        let mut node = 0usize;
        for token in &tokens[1..] {
            let (exact, len) = (self.nodes[node].exact, self.nodes[node].len);
            let next_id = self.nodes.len() as u32;
            let child = match token {
                Token::Root => None,
                Token::Field(name) => Some(self.nodes[node].fields.get_or_insert(name, next_id)),
                Token::Index(i) => Some(
                    self.nodes[node]
                        .fields
                        .get_or_insert(&i.to_string(), next_id),
                ),
                Token::Star => Some(*self.nodes[node].star.get_or_insert(next_id)),
                Token::StarIndex => Some(*self.nodes[node].star_index.get_or_insert(next_id)),
            };
            let Some(child) = child else {
                // `$` in the middle of a path never matches anything.
                self.lists.pop();
                return;
            };
            if child == next_id {
                let wild = matches!(token, Token::Star | Token::StarIndex);
                self.nodes.push(TrieNode {
                    exact: if wild { exact } else { exact + 1 },
                    len: len + 1,
                    ..TrieNode::default()
                });
            }
            node = child as usize;
        }
        self.nodes[node].terminals.push(id);
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The states at the root, and the root's selection.
    pub fn root<'a>(&'a self, states: &mut Vec<u32>) -> Sel<'a, 'r> {
        let mut sel = Sel::default();
        for &g in &self.global {
            let list = &self.lists[g as usize];
            sel.type_defined |= list.has_type;
            if sel.best.is_none() {
                sel.best = Some(Best {
                    list,
                    score: 0,
                    depth: usize::MAX,
                });
            }
        }
        states.push(0);
        self.refine(sel, &states[states.len() - 1..], 0)
    }

    /// Pushes onto `out` the states reached from `states` by one step `seg`.
    #[inline]
    pub fn step(&self, states: std::ops::Range<usize>, seg: Seg<'_>, out: &mut Vec<u32>) {
        match seg {
            Seg::Field(name) => {
                // Hashed once for all the states, and only if a state has names.
                let mut hash = None;
                let mut numeric = None;
                for i in states {
                    let node = &self.nodes[out[i] as usize];
                    if !node.fields.is_empty() {
                        let h = *hash.get_or_insert_with(|| hash_name(name.as_bytes()));
                        if let Some(c) = node.fields.get_hashed(name, h) {
                            out.push(c);
                        }
                        // `Index(1)` also matches a name written `01`.
                        if name.len() > 1
                            && name.starts_with('0')
                            && let Ok(n) = name.parse::<usize>()
                            && let Some(c) = node.fields.get(fmt_usize(&mut itoa_buf(), n))
                        {
                            out.push(c);
                        }
                    }
                    if let Some(c) = node.star {
                        out.push(c);
                    }
                    if let Some(c) = node.star_index
                        && *numeric.get_or_insert_with(|| name.parse::<usize>().is_ok())
                    {
                        out.push(c);
                    }
                }
            }
            Seg::Index(n) => {
                let mut buf = itoa_buf();
                let text = match SMALL_INDICES.get(n) {
                    Some(t) => t.as_str(),
                    None => fmt_usize(&mut buf, n),
                };
                let mut hash = None;
                for i in states {
                    let node = &self.nodes[out[i] as usize];
                    if !node.fields.is_empty() {
                        let h = *hash.get_or_insert_with(|| hash_name(text.as_bytes()));
                        if let Some(c) = node.fields.get_hashed(text, h) {
                            out.push(c);
                        }
                    }
                    if let Some(c) = node.star {
                        out.push(c);
                    }
                    if let Some(c) = node.star_index {
                        out.push(c);
                    }
                }
            }
        }
    }

    /// The selection at a node of `depth` steps whose states are `states`, given the parent's.
    #[inline]
    pub fn refine<'a>(&'a self, parent: Sel<'a, 'r>, states: &[u32], depth: usize) -> Sel<'a, 'r> {
        let mut sel = parent;
        for &s in states {
            let node = &self.nodes[s as usize];
            for &t in &node.terminals {
                let list = &self.lists[t as usize];
                sel.type_defined |= list.has_type;
                let score = score(node.exact, node.len);
                let better = match sel.best {
                    None => true,
                    Some(b) => score > b.score,
                };
                if better {
                    sel.best = Some(Best { list, score, depth });
                }
            }
        }
        sel
    }

    /// The lists written exactly for a node with these states (Pact's "direct" matchers).
    pub fn exact_lists<'a>(&'a self, states: &[u32]) -> impl Iterator<Item = &'a CList<'r>> {
        states.iter().flat_map(move |&s| {
            self.nodes[s as usize]
                .terminals
                .iter()
                .map(move |&t| &self.lists[t as usize])
        })
    }
}

type Parsed = std::rc::Rc<Result<Vec<Token>, String>>;

thread_local! {
    /// Parsed rule paths by expression: a contract's rules are parsed once per thread, not
    /// once per match call.
    static PARSED: std::cell::RefCell<FxMap<Box<str>, Parsed>> = Default::default();
}

const PARSED_LIMIT: usize = 1 << 16;

fn parse_cached(expr: &str) -> Parsed {
    PARSED.with(|cache| {
        if let Some(found) = cache.borrow().get(expr) {
            return found.clone();
        }
        let parsed = Parsed::new(parse(expr));
        let mut cache = cache.borrow_mut();
        if cache.len() >= PARSED_LIMIT {
            cache.clear();
        }
        cache.insert(expr.into(), parsed.clone());
        parsed
    })
}

/// The text of small indices, made once.
static SMALL_INDICES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (0..1024).map(|i: usize| i.to_string()).collect());

type ItoaBuf = [u8; 24];

fn itoa_buf() -> ItoaBuf {
    [0; 24]
}

fn fmt_usize(buf: &mut ItoaBuf, mut n: usize) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

#[cfg(test)]
#[path = "trie_tests.rs"]
mod tests;
