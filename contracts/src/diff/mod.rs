//! What changed between two versions of contracts, and whether each change is breaking for the
//! provider that must keep satisfying it.
//!
//! Seen from the provider: a change is **breaking** when the consumer now demands something it
//! did not (a new interaction or field, a tighter matcher, a new provider state, a different
//! request, a payload schema the old payloads may not satisfy); it is **safe** when the
//! consumer relies on less (an interaction or field dropped, a looser matcher, a payload schema
//! that accepts all the old payloads).

pub mod rules;
pub mod schema;

use serde_json::Value;

use crate::model::{
    Body, Category, Contract, Headers, HttpInteraction, Interaction, MatchingRules,
    MessageInteraction, ProviderState, RuleList,
};
use rules::{Tightness, compare as compare_rules, describe};
pub use schema::{Compatibility, SchemaComparison, compare_schemas};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Breaking,
    Safe,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Breaking => "breaking",
            Verdict::Safe => "safe",
        }
    }
}

/// One change, with its verdict and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The interaction's description (empty for the contract as a whole).
    pub interaction: String,
    pub verdict: Verdict,
    pub what: String,
    pub why: String,
}

/// The changes to one consumer–provider contract.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractDiff {
    pub consumer: String,
    pub provider: String,
    pub changes: Vec<Change>,
}

impl ContractDiff {
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.verdict == Verdict::Breaking)
    }
}

/// Pairs contracts by consumer and provider and diffs each pair. A contract only in `new` is
/// all new demands; one only in `old` was dropped.
pub fn diff_sets(old: &[Contract], new: &[Contract]) -> Vec<ContractDiff> {
    let key = |c: &Contract| (c.consumer.clone(), c.provider.clone());
    let mut keys: Vec<(String, String)> = old.iter().chain(new).map(key).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(consumer, provider)| {
            let o = old
                .iter()
                .find(|c| key(c) == (consumer.clone(), provider.clone()));
            let n = new
                .iter()
                .find(|c| key(c) == (consumer.clone(), provider.clone()));
            let empty = Contract {
                consumer: consumer.clone(),
                provider: provider.clone(),
                ..Contract::default()
            };
            diff_contracts(o.unwrap_or(&empty), n.unwrap_or(&empty))
        })
        .collect()
}

/// The changes from `old` to `new` (the same consumer and provider).
pub fn diff_contracts(old: &Contract, new: &Contract) -> ContractDiff {
    let mut changes = Vec::new();
    for n in &new.interactions {
        match find(&old.interactions, n) {
            None => changes.push(Change {
                interaction: n.description().to_string(),
                verdict: Verdict::Breaking,
                what: format!("new {} interaction", kind(n)),
                why: "the provider has never been verified against it".into(),
            }),
            Some(o) => diff_interaction(o, n, &mut changes),
        }
    }
    for o in &old.interactions {
        if find(&new.interactions, o).is_none() {
            changes.push(Change {
                interaction: o.description().to_string(),
                verdict: Verdict::Safe,
                what: format!("{} interaction dropped", kind(o)),
                why: "the consumer no longer relies on it".into(),
            });
        }
    }
    ContractDiff {
        consumer: new.consumer.clone(),
        provider: new.provider.clone(),
        changes,
    }
}

fn kind(i: &Interaction) -> &'static str {
    match i {
        Interaction::Http(_) => "HTTP",
        Interaction::Message(_) => "event",
        Interaction::SyncMessage(_) => "request/reply",
    }
}

/// The same interaction in the other version: same kind and description.
fn find<'a>(list: &'a [Interaction], i: &Interaction) -> Option<&'a Interaction> {
    list.iter().find(|o| {
        std::mem::discriminant(*o) == std::mem::discriminant(i)
            && o.description() == i.description()
    })
}

struct Sink<'a> {
    interaction: &'a str,
    changes: &'a mut Vec<Change>,
}

impl Sink<'_> {
    fn push(&mut self, verdict: Verdict, what: impl Into<String>, why: impl Into<String>) {
        self.changes.push(Change {
            interaction: self.interaction.to_string(),
            verdict,
            what: what.into(),
            why: why.into(),
        });
    }
}

fn diff_interaction(old: &Interaction, new: &Interaction, changes: &mut Vec<Change>) {
    let mut sink = Sink {
        interaction: new.description(),
        changes,
    };
    diff_states(
        &old.common().provider_states,
        &new.common().provider_states,
        &mut sink,
    );
    match (old, new) {
        (Interaction::Http(o), Interaction::Http(n)) => diff_http(o, n, &mut sink),
        (Interaction::Message(o), Interaction::Message(n)) => diff_message(o, n, &mut sink),
        (Interaction::SyncMessage(o), Interaction::SyncMessage(n)) => {
            if o.request != n.request {
                sink.push(
                    Verdict::Breaking,
                    "request message changed",
                    "the provider has not answered this request before",
                );
            }
            for (i, nr) in n.responses.iter().enumerate() {
                match o.responses.get(i) {
                    Some(or) => diff_body(
                        &or.contents,
                        &nr.contents,
                        &or.rules,
                        &nr.rules,
                        &format!("response {i}"),
                        &mut sink,
                    ),
                    None => sink.push(
                        Verdict::Breaking,
                        format!("response {i} added"),
                        "the consumer now expects another reply",
                    ),
                }
            }
        }
        _ => {}
    }
}

fn diff_states(old: &[ProviderState], new: &[ProviderState], sink: &mut Sink<'_>) {
    for n in new {
        match old.iter().find(|o| o.name == n.name) {
            None => sink.push(
                Verdict::Breaking,
                format!("provider state {:?} added", n.name),
                "the provider must now be able to set it up",
            ),
            Some(o) if o.params != n.params => sink.push(
                Verdict::Breaking,
                format!(
                    "provider state {:?} has new parameters {}",
                    n.name,
                    Value::Object(n.params.clone())
                ),
                "the provider must set it up with these values",
            ),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            sink.push(
                Verdict::Safe,
                format!("provider state {:?} dropped", o.name),
                "nothing needs to be set up for it",
            );
        }
    }
}

fn diff_http(old: &HttpInteraction, new: &HttpInteraction, sink: &mut Sink<'_>) {
    let (o, n) = (&old.request, &new.request);
    let why = "the provider has not been verified against this request";
    if !o.method.eq_ignore_ascii_case(&n.method) || o.path != n.path {
        sink.push(
            Verdict::Breaking,
            format!(
                "request {} {} is now {} {}",
                o.method, o.path, n.method, n.path
            ),
            why,
        );
    }
    if o.query != n.query {
        sink.push(Verdict::Breaking, "request query changed", why);
    }
    if o.headers != n.headers {
        sink.push(Verdict::Breaking, "request headers changed", why);
    }
    if o.body != n.body || o.rules.category(Category::Body) != n.rules.category(Category::Body) {
        sink.push(Verdict::Breaking, "request body changed", why);
    }
    let (o, n) = (&old.response, &new.response);
    if o.status != n.status
        || o.rules.category(Category::Status) != n.rules.category(Category::Status)
    {
        let rule = |r: &MatchingRules| {
            r.category(Category::Status)
                .and_then(|c| c.get(""))
                .cloned()
        };
        let verdict = if rule(&o.rules).is_some() && rule(&n.rules).is_some() {
            verdict_of(compare_rules(
                rule(&o.rules).as_ref(),
                rule(&n.rules).as_ref(),
            ))
        } else {
            Verdict::Breaking
        };
        sink.push(
            verdict,
            format!("response status {} → {}", o.status, n.status),
            "the consumer now expects another status",
        );
    }
    diff_headers(
        o.headers.as_ref(),
        n.headers.as_ref(),
        &o.rules,
        &n.rules,
        "response header",
        Category::Header,
        sink,
    );
    diff_body(&o.body, &n.body, &o.rules, &n.rules, "response body", sink);
}

fn diff_message(old: &MessageInteraction, new: &MessageInteraction, sink: &mut Sink<'_>) {
    if old.subject != new.subject {
        sink.push(
            Verdict::Breaking,
            format!(
                "subject {} → {}",
                old.subject.as_deref().unwrap_or("-"),
                new.subject.as_deref().unwrap_or("-")
            ),
            "the consumer now listens elsewhere; the provider must publish there",
        );
    }
    let to_headers = |m: &std::collections::BTreeMap<String, Value>| -> Headers {
        m.iter()
            .filter(|(k, _)| k.as_str() != "subject")
            .map(|(k, v)| {
                (
                    k.clone(),
                    vec![
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    ],
                )
            })
            .collect()
    };
    let (om, nm) = (&old.message, &new.message);
    diff_headers(
        Some(&to_headers(&om.metadata)),
        Some(&to_headers(&nm.metadata)),
        &om.rules,
        &nm.rules,
        "metadata",
        Category::Metadata,
        sink,
    );
    diff_body(
        &om.contents,
        &nm.contents,
        &om.rules,
        &nm.rules,
        "payload",
        sink,
    );
    match (&old.schema, &new.schema) {
        (Some(o), Some(n)) if o.document != n.document => {
            let c = compare_schemas(&o.document, &n.document);
            let verdict = match c.compatibility {
                Compatibility::Full | Compatibility::Backward => Verdict::Safe,
                _ => Verdict::Breaking,
            };
            let why = if c.backward_problems.is_empty() {
                "every payload the old schema accepted is still accepted".to_string()
            } else {
                format!(
                    "payloads the provider publishes today may be rejected: {}",
                    c.backward_problems.join("; ")
                )
            };
            sink.push(
                verdict,
                format!("payload schema changed: {}", c.compatibility.name()),
                why,
            );
        }
        (None, Some(n)) => sink.push(
            Verdict::Breaking,
            format!("payload schema {} added", n.reference),
            "every payload must now satisfy it",
        ),
        (Some(o), None) => sink.push(
            Verdict::Safe,
            format!("payload schema {} dropped", o.reference),
            "payloads are no longer checked against it",
        ),
        _ => {}
    }
}

fn verdict_of(t: Tightness) -> Verdict {
    match t {
        Tightness::Same | Tightness::Looser => Verdict::Safe,
        Tightness::Tighter | Tightness::Different => Verdict::Breaking,
    }
}

#[allow(clippy::too_many_arguments)]
fn diff_headers(
    old: Option<&Headers>,
    new: Option<&Headers>,
    old_rules: &MatchingRules,
    new_rules: &MatchingRules,
    label: &str,
    category: Category,
    sink: &mut Sink<'_>,
) {
    let empty = Headers::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let get = |h: &'_ Headers, name: &str| -> Option<Vec<String>> {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let rule = |r: &MatchingRules, name: &str| -> Option<RuleList> {
        r.category(category).and_then(|c| {
            c.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
    };
    for (name, value) in new {
        match get(old, name) {
            None => sink.push(
                Verdict::Breaking,
                format!("{label} {name} now expected"),
                "the provider must now send it",
            ),
            Some(old_value) => {
                let (or, nr) = (rule(old_rules, name), rule(new_rules, name));
                let t = compare_rules(or.as_ref(), nr.as_ref());
                if t == Tightness::Same && or.is_none() && &old_value != value {
                    sink.push(
                        Verdict::Breaking,
                        format!("{label} {name}: now exactly {value:?} (was {old_value:?})"),
                        "the consumer relies on the new value",
                    );
                } else if t != Tightness::Same {
                    sink.push(
                        verdict_of(t),
                        format!(
                            "{label} {name}: {} → {}",
                            describe(or.as_ref()),
                            describe(nr.as_ref())
                        ),
                        tightness_why(t),
                    );
                }
            }
        }
    }
    for name in old.keys() {
        if get(new, name).is_none() {
            sink.push(
                Verdict::Safe,
                format!("{label} {name} no longer expected"),
                "the consumer no longer relies on it",
            );
        }
    }
}

fn tightness_why(t: Tightness) -> &'static str {
    match t {
        Tightness::Same => "no change",
        Tightness::Looser => "the new rule accepts everything the old one did",
        Tightness::Tighter => "the new rule rejects values the old one accepted",
        Tightness::Different => "the new rule rejects values the old one accepted",
    }
}

fn diff_body(
    old: &Body,
    new: &Body,
    old_rules: &MatchingRules,
    new_rules: &MatchingRules,
    label: &str,
    sink: &mut Sink<'_>,
) {
    match (old, new) {
        (Body::Json { value: o, .. }, Body::Json { value: n, .. }) => {
            let walk = Walk {
                old_rules: old_rules.category(Category::Body),
                new_rules: new_rules.category(Category::Body),
                label,
            };
            walk.value(o, n, "$", sink, 0);
        }
        (Body::Missing, Body::Missing) => {}
        (_, Body::Missing) => sink.push(
            Verdict::Safe,
            format!("{label} no longer stated"),
            "the consumer no longer relies on it",
        ),
        (Body::Missing, _) => sink.push(
            Verdict::Breaking,
            format!("{label} now stated"),
            "the consumer now relies on it",
        ),
        (o, n) if o != n => sink.push(
            Verdict::Breaking,
            format!("{label} changed"),
            "the consumer relies on the new content",
        ),
        _ => {}
    }
}

type RuleMap = std::collections::BTreeMap<String, RuleList>;

struct Walk<'a> {
    old_rules: Option<&'a RuleMap>,
    new_rules: Option<&'a RuleMap>,
    label: &'a str,
}

const MAX_DEPTH: usize = 128;

impl Walk<'_> {
    fn value(&self, old: &Value, new: &Value, path: &str, sink: &mut Sink<'_>, depth: usize) {
        if depth > MAX_DEPTH {
            sink.push(
                Verdict::Breaking,
                format!("{} {path}: nested too deeply to compare", self.label),
                "cannot prove it unchanged",
            );
            return;
        }
        let or = applicable(self.old_rules, path);
        let nr = applicable(self.new_rules, path);
        match (old, new) {
            (Value::Object(o), Value::Object(n)) => {
                self.rule_change(or.as_ref(), nr.as_ref(), path, sink);
                for (k, nv) in n {
                    let child = child_path(path, k);
                    match o.get(k) {
                        Some(ov) => self.value(ov, nv, &child, sink, depth + 1),
                        None => sink.push(
                            Verdict::Breaking,
                            format!("{} field {child} now relied on", self.label),
                            "the provider must now provide it",
                        ),
                    }
                }
                for k in o.keys() {
                    if !n.contains_key(k) {
                        sink.push(
                            Verdict::Safe,
                            format!(
                                "{} field {} no longer relied on",
                                self.label,
                                child_path(path, k)
                            ),
                            "the consumer reads less",
                        );
                    }
                }
            }
            (Value::Array(o), Value::Array(n)) => {
                let t = compare_rules(or.as_ref(), nr.as_ref());
                if or.is_none() && nr.is_none() && o.len() != n.len() {
                    sink.push(
                        Verdict::Breaking,
                        format!(
                            "{} {path}: exactly {} element(s) (was {})",
                            self.label,
                            n.len(),
                            o.len()
                        ),
                        "the consumer relies on the new length",
                    );
                } else if t != Tightness::Same {
                    self.rule_change(or.as_ref(), nr.as_ref(), path, sink);
                }
                for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                    self.value(ov, nv, &format!("{path}[{i}]"), sink, depth + 1);
                }
            }
            _ => {
                let t = compare_rules(or.as_ref(), nr.as_ref());
                if t == Tightness::Same {
                    let equality = or.is_none()
                        || or.as_ref().is_some_and(|r| {
                            r.rules
                                .iter()
                                .all(|r| *r == crate::model::MatchingRule::Equality)
                        });
                    if equality && old != new {
                        sink.push(
                            Verdict::Breaking,
                            format!("{} {path}: now exactly {new} (was {old})", self.label),
                            "the consumer relies on the new value",
                        );
                    } else if !same_kind(old, new) {
                        sink.push(
                            Verdict::Breaking,
                            format!(
                                "{} {path}: now {} (was {})",
                                self.label,
                                kind_of(new),
                                kind_of(old)
                            ),
                            "the example changed type under a type rule",
                        );
                    }
                } else {
                    self.rule_change(or.as_ref(), nr.as_ref(), path, sink);
                }
            }
        }
    }

    fn rule_change(
        &self,
        or: Option<&RuleList>,
        nr: Option<&RuleList>,
        path: &str,
        sink: &mut Sink<'_>,
    ) {
        // Containers without rules on either side carry no rule of their own.
        if or.is_none() && nr.is_none() {
            return;
        }
        let t = compare_rules(or, nr);
        if t != Tightness::Same {
            sink.push(
                verdict_of(t),
                format!("{} {path}: {} → {}", self.label, describe(or), describe(nr)),
                tightness_why(t),
            );
        }
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn kind_of(v: &Value) -> &'static str {
    crate::pact::body::kind(v)
}

fn child_path(path: &str, key: &str) -> String {
    if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.is_empty()
    {
        format!("{path}.{key}")
    } else {
        format!("{path}['{key}']")
    }
}

/// The rules that apply at `path` (`$.a[2].b`): the most specific rule key that matches it
/// (`*` and `[*]` match any field or index), or a type rule cascading from an ancestor.
fn applicable(rules: Option<&RuleMap>, path: &str) -> Option<RuleList> {
    let rules = rules?;
    let tokens = tokens(path);
    let mut best: Option<(usize, &RuleList)> = None;
    for (key, list) in rules {
        let key_tokens = tokens_of_key(key);
        if key_tokens.len() == tokens.len()
            && key_tokens
                .iter()
                .zip(&tokens)
                .all(|(k, t)| k == "*" || k == t)
        {
            let weight = key_tokens.iter().filter(|k| *k != "*").count();
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, list));
            }
        }
    }
    if let Some((_, list)) = best {
        return Some(list.clone());
    }
    // A type rule on an ancestor applies to its descendants.
    for len in (1..tokens.len()).rev() {
        for (key, list) in rules {
            let key_tokens = tokens_of_key(key);
            if key_tokens.len() == len
                && key_tokens
                    .iter()
                    .zip(&tokens)
                    .all(|(k, t)| k == "*" || k == t)
                && list.rules.iter().any(|r| {
                    matches!(
                        r,
                        crate::model::MatchingRule::Type
                            | crate::model::MatchingRule::MinType(_)
                            | crate::model::MatchingRule::MaxType(_)
                            | crate::model::MatchingRule::MinMaxType(..)
                    )
                })
            {
                return Some(RuleList {
                    rules: vec![crate::model::MatchingRule::Type],
                    logic: crate::model::RuleLogic::And,
                });
            }
        }
    }
    None
}

/// `$.a[2]['b c'].d` → `["a", "2", "b c", "d"]`.
fn tokens(path: &str) -> Vec<String> {
    tokens_of_key(path)
}

fn tokens_of_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let rest = key.strip_prefix('$').unwrap_or(key);
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            }
            '[' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                out.push(inner.trim_matches('\'').trim_matches('"').to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests;
