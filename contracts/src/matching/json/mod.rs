//! JSON bodies, as Pact compares them:
//!
//! - objects: the expected keys must be present (requests: and no others), each value
//!   compared; a `values`/`eachValue` rule compares every actual value with the example
//!   instead, an `eachKey` rule checks every key;
//! - arrays: without rules, same length and each item compared in order; with a rule (type,
//!   `min`/`max`, …) every actual item is compared with the example's item at its index, or
//!   its first item past the example's end, and the rule checks the size; `arrayContains`
//!   looks for each variant anywhere in the array;
//! - values: the rules chosen for the path, or equality.

use std::ops::Range;

use serde_json::{Map, Value};

use crate::model::MatchingRule;

use super::path::{Seg, render};
use super::rules::{
    self, CompiledRule, Failure, apply_list, match_collection, match_json_value, shorten, type_of,
    value_of,
};
use super::trie::{CList, Chosen, FxMap, RuleIndex, Sel};
use super::{MAX_DEPTH, Mismatch, Part, Sink};

/// Longest JSON text kept in a mismatch's `expected`/`actual`.
const MAX_TEXT: usize = 4096;

/// Compares two JSON documents with the rules in `index`.
pub(crate) fn match_json(
    expected: &Value,
    actual: &Value,
    index: &RuleIndex<'_>,
    allow_unexpected: bool,
    sink: &mut Sink,
) {
    let mut walker = Walker {
        index,
        allow_unexpected,
        states: Vec::with_capacity(64),
        path: Vec::with_capacity(16),
        sink,
        entries: FxMap::default(),
    };
    let sel = index.root(&mut walker.states);
    let range = 0..walker.states.len();
    walker.compare(expected, actual, sel, range);
}

mod arrays;

struct Walker<'a, 'r, 'v, 's> {
    index: &'a RuleIndex<'r>,
    allow_unexpected: bool,
    /// NFA states of every node on the current path, frame after frame.
    states: Vec<u32>,
    path: Vec<Seg<'v>>,
    sink: &'s mut Sink,
    /// The entries of expected objects compared many times (an array's example item against
    /// every actual item), as slices: cheaper to walk than the map.
    entries: FxMap<*const Map<String, Value>, Entries<'v>>,
}

type Entries<'v> = std::rc::Rc<[(&'v str, &'v Value)]>;

/// Objects with at least this many keys have their entries cached.
const CACHED_ENTRIES: usize = 8;

fn json_text(value: &Value) -> String {
    shorten(&value.to_string(), MAX_TEXT)
}

impl<'a, 'r, 'v, 's> Walker<'a, 'r, 'v, 's> {
    fn depth(&self) -> usize {
        self.path.len()
    }

    fn here(&self) -> String {
        render(&self.path)
    }

    fn mismatch(
        &mut self,
        rule: Option<String>,
        expected: String,
        actual: String,
        message: String,
    ) {
        let path = self.here();
        self.sink.push(Mismatch {
            part: Part::Body,
            path,
            rule,
            expected,
            actual,
            message,
        });
    }

    #[cold]
    #[inline(never)]
    fn failure(&mut self, f: Failure, e: &Value, a: &Value) {
        for message in f.messages {
            self.mismatch(Some(f.rule.clone()), json_text(e), json_text(a), message);
        }
    }

    /// Runs `f` on the child `seg`, with its states and selection.
    fn child(
        &mut self,
        seg: Seg<'v>,
        parent: Sel<'a, 'r>,
        states: Range<usize>,
        f: impl FnOnce(&mut Self, Sel<'a, 'r>, Range<usize>),
    ) {
        let start = self.states.len();
        if states.is_empty() {
            // No rule path goes further down: the selection cascades unchanged.
            self.path.push(seg);
            f(self, parent, start..start);
            self.path.pop();
            return;
        }
        self.index.step(states, seg, &mut self.states);
        let end = self.states.len();
        self.path.push(seg);
        let sel = self
            .index
            .refine(parent, &self.states[start..end], self.path.len());
        f(self, sel, start..end);
        self.path.pop();
        self.states.truncate(start);
    }

    /// The child `seg` under an `eachValue` rule: only its rules apply below.
    fn child_only(
        &mut self,
        seg: Seg<'v>,
        list: &'a CList<'r>,
        f: impl FnOnce(&mut Self, Sel<'a, 'r>, Range<usize>),
    ) {
        let start = self.states.len();
        self.path.push(seg);
        let sel = Sel::only(list, self.path.len());
        f(self, sel, start..start);
        self.path.pop();
    }

    fn compare(&mut self, e: &'v Value, a: &'v Value, sel: Sel<'a, 'r>, st: Range<usize>) {
        if self.sink.full() {
            return;
        }
        if self.depth() >= MAX_DEPTH {
            self.too_deep();
            return;
        }
        match (e, a) {
            (Value::Object(em), Value::Object(am)) => self.objects(e, a, em, am, sel, st),
            (Value::Array(el), Value::Array(al)) => self.arrays(e, a, el, al, sel, st),
            (Value::Object(_), _) | (Value::Array(_), _) => self.container_mismatch(e, a),
            _ => self.values(e, a, sel),
        }
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&mut self) {
        self.mismatch(
            None,
            String::new(),
            String::new(),
            format!("The document is nested deeper than {MAX_DEPTH} levels; not compared"),
        );
    }

    #[cold]
    #[inline(never)]
    fn container_mismatch(&mut self, e: &Value, a: &Value) {
        let message = format!(
            "Type mismatch: expected {} ({}) but received {} ({})",
            value_of(e),
            type_of(e),
            value_of(a),
            type_of(a)
        );
        self.mismatch(None, json_text(e), json_text(a), message);
    }

    #[cold]
    #[inline(never)]
    fn not_equal(&mut self, e: &Value, a: &Value) {
        let message = format!(
            "Expected {} ({}) but received {} ({})",
            value_of(e),
            type_of(e),
            value_of(a),
            type_of(a)
        );
        self.mismatch(Some("equality".into()), json_text(e), json_text(a), message);
    }

    #[cold]
    #[inline(never)]
    fn missing_key(&mut self, key: &'v str, ev: &Value) {
        self.path.push(Seg::Field(key));
        self.mismatch(
            None,
            json_text(ev),
            String::new(),
            format!("Expected key '{key}' but it was missing"),
        );
        self.path.pop();
    }

    #[cold]
    #[inline(never)]
    fn unexpected_key(&mut self, key: &'v str, av: &Value) {
        self.path.push(Seg::Field(key));
        self.mismatch(
            None,
            String::new(),
            json_text(av),
            format!(
                "Unexpected key '{key}' (requests may not have keys the contract does not mention)"
            ),
        );
        self.path.pop();
    }

    #[inline]
    fn values(&mut self, e: &Value, a: &Value, sel: Sel<'a, 'r>) {
        match sel.chosen(self.depth()) {
            Some(Chosen { list, cascaded }) => {
                if let Err(f) = apply_list(list, |r| match_json_value(r, e, a, cascaded)) {
                    self.failure(f, e, a);
                }
            }
            None => {
                if e != a {
                    self.not_equal(e, a);
                }
            }
        }
    }

    /// What the rules written for exactly this node (Pact's direct matchers) say about an
    /// object: a `values`/`eachValue` rule, `eachKey` rules, and whether keys are free.
    fn direct_rules(&self, sel: Sel<'a, 'r>, st: &Range<usize>) -> Direct<'a, 'r> {
        let mut direct = Direct::default();
        let mut visit = |list: &'a CList<'r>| {
            for r in &list.rules {
                match r.rule {
                    MatchingRule::Values | MatchingRule::EachValue(_) => {
                        direct.keys_free = true;
                        direct.values.get_or_insert(r);
                    }
                    MatchingRule::EachKey(_) => {
                        direct.keys_free = true;
                        if !direct.each_key.iter().any(|o| std::ptr::eq(*o, r)) {
                            direct.each_key.push(r);
                        }
                    }
                    _ => {}
                }
            }
        };
        if let Some(c) = sel.chosen(self.depth())
            && !c.cascaded
        {
            visit(c.list);
        }
        for list in self.index.exact_lists(&self.states[st.clone()]) {
            visit(list);
        }
        direct
    }

    #[inline(never)]
    fn objects(
        &mut self,
        e: &'v Value,
        a: &'v Value,
        em: &'v Map<String, Value>,
        am: &'v Map<String, Value>,
        sel: Sel<'a, 'r>,
        st: Range<usize>,
    ) {
        let chosen = sel.chosen(self.depth());
        let direct = self.direct_rules(sel, &st);
        let values_rule = direct.values;

        if let Some(c) = chosen
            && let Err(f) = apply_list(c.list, |r| {
                match_collection(r, e, a, am.len(), c.cascaded, true)
            })
        {
            self.failure(f, e, a);
        }

        if let Some(rule) = values_rule {
            // Every actual value against the example's value for its key, or its first value.
            let inner = rule.inner.as_deref();
            for (key, av) in am {
                let Some(ev) = em.get(key).or_else(|| em.values().next()) else {
                    continue;
                };
                match inner {
                    Some(list) => {
                        self.child_only(Seg::Field(key), list, |w, s, r| w.compare(ev, av, s, r))
                    }
                    None => self.child(Seg::Field(key), sel, st.clone(), |w, s, r| {
                        w.compare(ev, av, s, r)
                    }),
                }
            }
        } else {
            let check_keys = !direct.keys_free;
            let allow = self.allow_unexpected;
            let cached = (em.len() >= CACHED_ENTRIES).then(|| {
                self.entries
                    .entry(em as *const _)
                    .or_insert_with(|| em.iter().map(|(k, v)| (k.as_str(), v)).collect())
                    .clone()
            });
            let expected: &mut dyn Iterator<Item = (&'v str, &'v Value)> = match &cached {
                Some(entries) => &mut entries.iter().copied(),
                None => &mut em.iter().map(|(k, v)| (k.as_str(), v)),
            };
            for_each_key(expected, em, am, !allow && check_keys, |side| match side {
                Side::Both(key, ev, av) => {
                    self.child(Seg::Field(key), sel, st.clone(), |w, s, r| {
                        w.compare(ev, av, s, r)
                    })
                }
                Side::Expected(key, ev) => {
                    if check_keys {
                        self.missing_key(key, ev);
                    }
                }
                Side::Actual(key, av) => {
                    if check_keys && !allow {
                        self.unexpected_key(key, av);
                    }
                }
            });
        }

        for rule in direct.each_key {
            if let Some(list) = rule.inner.as_deref() {
                for key in am.keys() {
                    if let Err(f) = apply_list(list, |r| rules::match_str(r, "", key, false)) {
                        self.path.push(Seg::Field(key));
                        for message in f.messages {
                            self.mismatch(
                                Some(format!("eachKey {}", f.rule)),
                                String::new(),
                                key.clone(),
                                format!("Key '{key}': {message}"),
                            );
                        }
                        self.path.pop();
                    }
                }
            }
        }
    }
}

/// Orders names like `str::cmp`, without a call to `memcmp` for short names.
#[inline]
fn cmp_name(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 16 && b.len() > 16 {
        return a.cmp(b);
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The direct rules of an object node (see `Walker::direct_rules`).
#[derive(Default)]
struct Direct<'a, 'r> {
    values: Option<&'a CompiledRule<'r>>,
    each_key: Vec<&'a CompiledRule<'r>>,
    /// A values-like or `eachKey` rule: missing and unexpected keys are not reported.
    keys_free: bool,
}

/// A key of either object, paired.
enum Side<'v> {
    Both(&'v str, &'v Value, &'v Value),
    Expected(&'v str, &'v Value),
    Actual(&'v str, &'v Value),
}

/// Does `serde_json::Map` iterate in key order in this build? (It does unless some crate
/// turns on serde_json's `preserve_order`; features are unified across the build.)
static MAPS_SORTED: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let mut probe = Map::new();
    probe.insert("b".into(), Value::Null);
    probe.insert("a".into(), Value::Null);
    probe.keys().next().is_some_and(|k| k == "a")
});

/// Calls `f` for every key of either object, in key order: a merge of the two sorted key
/// sequences when maps are sorted (one comparison per key instead of a lookup), lookups
/// otherwise. `with_extra`: also report the actual's keys the expected lacks.
fn for_each_key<'v>(
    expected: &mut dyn Iterator<Item = (&'v str, &'v Value)>,
    em: &'v Map<String, Value>,
    am: &'v Map<String, Value>,
    with_extra: bool,
    mut f: impl FnMut(Side<'v>),
) {
    if *MAPS_SORTED {
        let ei = expected;
        let mut ai = am.iter().map(|(k, v)| (k.as_str(), v));
        let (mut e, mut a) = (ei.next(), ai.next());
        loop {
            match (e, a) {
                (Some((ek, ev)), Some((ak, av))) => match cmp_name(ek, ak) {
                    std::cmp::Ordering::Less => {
                        f(Side::Expected(ek, ev));
                        e = ei.next();
                    }
                    std::cmp::Ordering::Greater => {
                        if with_extra {
                            f(Side::Actual(ak, av));
                        }
                        a = ai.next();
                    }
                    std::cmp::Ordering::Equal => {
                        f(Side::Both(ek, ev, av));
                        e = ei.next();
                        a = ai.next();
                    }
                },
                (Some((ek, ev)), None) => {
                    f(Side::Expected(ek, ev));
                    e = ei.next();
                }
                (None, Some((ak, av))) => {
                    if !with_extra {
                        break;
                    }
                    f(Side::Actual(ak, av));
                    a = ai.next();
                }
                (None, None) => break,
            }
        }
    } else {
        let mut found = 0;
        for (key, ev) in em {
            match am.get(key) {
                Some(av) => {
                    found += 1;
                    f(Side::Both(key, ev, av));
                }
                None => f(Side::Expected(key, ev)),
            }
        }
        if with_extra && found < am.len() {
            for (key, av) in am {
                if !em.contains_key(key) {
                    f(Side::Actual(key, av));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
