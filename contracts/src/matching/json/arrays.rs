//! Arrays: without a rule, the same items in order; with a rule, every actual item against
//! the example's (padded with its first item) and the rule on the array as a whole;
//! `arrayContains` looks for each variant anywhere.

use std::ops::Range;

use serde_json::Value;

use crate::model::{MatchingRule, RuleLogic};

use super::super::path::Seg;
use super::super::rules::{self, CompiledRule, match_collection, value_of};
use super::super::trie::{CList, RuleIndex, Sel};
use super::super::{Mismatch, Part, Sink};
use super::{Walker, json_text, match_json};

impl<'a, 'r, 'v, 's> Walker<'a, 'r, 'v, 's> {
    #[inline(never)]
    pub(super) fn arrays(
        &mut self,
        e: &'v Value,
        a: &'v Value,
        el: &'v [Value],
        al: &'v [Value],
        sel: Sel<'a, 'r>,
        st: Range<usize>,
    ) {
        let Some(c) = sel.chosen(self.depth()) else {
            self.plain_arrays(el, al, sel, st);
            return;
        };
        if el.is_empty() {
            // Pact: with a rule, an empty example constrains nothing.
            return;
        }
        // The usual case: one rule that checks the array as a whole, then every item.
        if let [rule] = c.list.rules.as_slice()
            && !matches!(
                rule.rule,
                MatchingRule::ArrayContains(_) | MatchingRule::EachValue(_)
            )
        {
            if let Err(message) = match_collection(rule, e, a, al.len(), c.cascaded, false) {
                self.mismatch(
                    Some(rules::describe(rule.rule)),
                    json_text(e),
                    json_text(a),
                    message,
                );
            }
            self.padded_items(el, al, sel, st, None);
            return;
        }
        // Each rule's own outcome; the item comparisons are shared by the rules that make them.
        let mut outcomes: Vec<Vec<Mismatch>> = Vec::new();
        let mut contents: Option<Vec<Mismatch>> = None;
        for rule in &c.list.rules {
            let mut own = Vec::new();
            match rule.rule {
                MatchingRule::ArrayContains(_) => {
                    own = self.array_contains(rule, e, a, el, al);
                }
                MatchingRule::EachValue(_) if !c.cascaded => {
                    let list = rule.inner.as_deref();
                    own = self.collect(|w| w.padded_items(el, al, sel, st.clone(), list));
                }
                _ => {
                    if let Err(message) = match_collection(rule, e, a, al.len(), c.cascaded, false)
                    {
                        own.push(Mismatch {
                            part: Part::Body,
                            path: self.here(),
                            rule: Some(rules::describe(rule.rule)),
                            expected: json_text(e),
                            actual: json_text(a),
                            message,
                        });
                    }
                    if contents.is_none() {
                        contents =
                            Some(self.collect(|w| w.padded_items(el, al, sel, st.clone(), None)));
                    }
                    own.extend(contents.iter().flatten().cloned());
                }
            }
            outcomes.push(own);
        }
        let failed = match c.list.logic {
            RuleLogic::And => true,
            RuleLogic::Or => outcomes.iter().all(|o| !o.is_empty()),
        };
        if failed {
            let mut seen: Vec<Mismatch> = Vec::new();
            for m in outcomes.into_iter().flatten() {
                if !seen.contains(&m) {
                    seen.push(m);
                }
            }
            for m in seen {
                self.sink.push(m);
            }
        }
    }

    /// Runs `f` with a fresh sink and returns what it recorded.
    fn collect(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Mismatch> {
        let mut sink = Sink::default();
        std::mem::swap(&mut *self.sink, &mut sink);
        f(self);
        std::mem::swap(&mut *self.sink, &mut sink);
        sink.finish()
    }

    /// Arrays without a rule: same length, items compared in order.
    fn plain_arrays(
        &mut self,
        el: &'v [Value],
        al: &'v [Value],
        sel: Sel<'a, 'r>,
        st: Range<usize>,
    ) {
        for (i, ev) in el.iter().enumerate() {
            if self.sink.full() {
                return;
            }
            match al.get(i) {
                Some(av) => self.child(Seg::Index(i), sel, st.clone(), |w, s, r| {
                    w.compare(ev, av, s, r)
                }),
                None => {
                    self.path.push(Seg::Index(i));
                    self.mismatch(
                        None,
                        json_text(ev),
                        String::new(),
                        format!(
                            "Expected an item at index {i} ({}) but the array has only {} item(s)",
                            value_of(ev),
                            al.len()
                        ),
                    );
                    self.path.pop();
                }
            }
        }
        for (i, av) in al.iter().enumerate().skip(el.len()) {
            self.path.push(Seg::Index(i));
            self.mismatch(
                None,
                String::new(),
                json_text(av),
                format!(
                    "Unexpected item at index {i} ({}): expected an array of {} item(s)",
                    value_of(av),
                    el.len()
                ),
            );
            self.path.pop();
        }
    }

    /// Items under a rule: each actual item against the example's item at its index, or its
    /// first item past the example's end.
    fn padded_items(
        &mut self,
        el: &'v [Value],
        al: &'v [Value],
        sel: Sel<'a, 'r>,
        st: Range<usize>,
        only: Option<&'a CList<'r>>,
    ) {
        let Some(first) = el.first() else { return };
        for (i, av) in al.iter().enumerate() {
            if self.sink.full() {
                return;
            }
            let ev = el.get(i).unwrap_or(first);
            match only {
                Some(list) => {
                    self.child_only(Seg::Index(i), list, |w, s, r| w.compare(ev, av, s, r))
                }
                None => self.child(Seg::Index(i), sel, st.clone(), |w, s, r| {
                    w.compare(ev, av, s, r)
                }),
            }
        }
    }

    fn array_contains(
        &mut self,
        rule: &'a CompiledRule<'r>,
        e: &'v Value,
        a: &'v Value,
        el: &'v [Value],
        al: &'v [Value],
    ) -> Vec<Mismatch> {
        let mut out = Vec::new();
        let here = self.here();
        let variants: Vec<(usize, &RuleIndex<'r>)> = if rule.variants.is_empty() {
            (0..el.len()).map(|i| (i, &*EQUALITY_INDEX)).collect()
        } else {
            rule.variants.iter().map(|(i, idx)| (*i, idx)).collect()
        };
        for (index, variant) in variants {
            match el.get(index) {
                Some(ev) => {
                    let found = al.iter().any(|av| {
                        let mut probe = Sink::probe();
                        match_json(ev, av, variant, self.allow_unexpected, &mut probe);
                        probe.is_empty()
                    });
                    if !found {
                        out.push(Mismatch {
                            part: Part::Body,
                            path: here.clone(),
                            rule: Some("arrayContains".into()),
                            expected: json_text(ev),
                            actual: json_text(a),
                            message: format!(
                                "Expected the array to contain an item like {} (variant {index}), but none matched",
                                value_of(ev)
                            ),
                        });
                    }
                }
                None => out.push(Mismatch {
                    part: Part::Body,
                    path: here.clone(),
                    rule: Some("arrayContains".into()),
                    expected: json_text(e),
                    actual: json_text(a),
                    message: format!(
                        "arrayContains variant {index} refers to an item the example (of {} items) does not have",
                        el.len()
                    ),
                }),
            }
        }
        out
    }
}

static EQUALITY_RULES: [MatchingRule; 1] = [MatchingRule::Equality];

static EQUALITY_INDEX: std::sync::LazyLock<RuleIndex<'static>> = std::sync::LazyLock::new(|| {
    let mut index = RuleIndex::empty();
    index.insert(&[], CList::from_rules(&EQUALITY_RULES, RuleLogic::And));
    index
});
