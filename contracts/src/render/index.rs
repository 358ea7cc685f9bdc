//! The matching rules and generators of a part, by category and parsed path, remembering which
//! were shown (what is left over is listed under `rules:`).

use std::cell::Cell;

use serde_json::Value;

use crate::format::path::{self, Tok};
use crate::model::{Category, Generators, MatchingRules, RuleList};

use super::values::provider_state_expression;

/// Matching rules by category and parsed path, remembering which were shown.
pub(super) struct Ix<'a> {
    entries: Vec<IxEntry<'a>>,
    /// Entries by category and parsed path.
    by_path: std::collections::HashMap<(Category, Vec<Tok>), usize>,
}

struct IxEntry<'a> {
    category: Category,
    raw: &'a str,
    tokens: Option<Vec<Tok>>,
    list: &'a RuleList,
    used: Cell<bool>,
}

impl<'a> Ix<'a> {
    pub(super) fn new(rules: &'a MatchingRules) -> Ix<'a> {
        let mut entries = Vec::new();
        for (category, paths) in &rules.categories {
            for (raw, list) in paths {
                if list.rules.is_empty() {
                    continue;
                }
                let tokens = match category {
                    Category::Body => path::parse(raw).or_else(|| {
                        // Some writers omit `$`: `a.b` means `$.a.b`.
                        path::parse(&format!("$.{raw}"))
                    }),
                    _ => None,
                };
                entries.push(IxEntry {
                    category: *category,
                    raw,
                    tokens,
                    list,
                    used: Cell::new(false),
                });
            }
        }
        let mut by_path = std::collections::HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(tokens) = &e.tokens {
                by_path.entry((e.category, tokens.clone())).or_insert(i);
            }
        }
        Ix { entries, by_path }
    }

    pub(super) fn take_path(&self, category: Category, tokens: &[Tok]) -> Option<&'a RuleList> {
        if self.by_path.is_empty() {
            return None;
        }
        let entry = &self.entries[*self.by_path.get(&(category, tokens.to_vec()))?];
        entry.used.set(true);
        Some(entry.list)
    }

    /// The rules of a header, query parameter, metadata entry (by name), or of the path or
    /// status (`""`; `$` is read the same).
    pub(super) fn take_named(
        &self,
        category: Category,
        name: &str,
        fold_case: bool,
    ) -> Option<&'a RuleList> {
        let matches = |raw: &str| {
            let raw = if name.is_empty() && raw == "$" {
                ""
            } else {
                raw
            };
            let bare = raw
                .strip_prefix("$.")
                .filter(|_| !name.is_empty())
                .unwrap_or(raw);
            if fold_case {
                raw.eq_ignore_ascii_case(name) || bare.eq_ignore_ascii_case(name)
            } else {
                raw == name || bare == name
            }
        };
        let entry = self
            .entries
            .iter()
            .find(|e| e.category == category && matches(e.raw))?;
        entry.used.set(true);
        Some(entry.list)
    }

    pub(super) fn unused(&self) -> impl Iterator<Item = (Category, &'a str, &'a RuleList)> + '_ {
        self.entries
            .iter()
            .filter(|e| !e.used.get())
            .map(|e| (e.category, e.raw, e.list))
    }
}

/// Generators by category, remembering which were shown.
pub(super) struct Gx<'a> {
    entries: Vec<GxEntry<'a>>,
}

struct GxEntry<'a> {
    category: String,
    /// The path or name; `None` for a category's single generator (path).
    key: Option<&'a str>,
    tokens: Option<Vec<Tok>>,
    value: &'a Value,
    used: Cell<bool>,
}

impl<'a> Gx<'a> {
    pub(super) fn new(generators: &'a Generators) -> Gx<'a> {
        let mut entries = Vec::new();
        for (category, value) in &generators.categories {
            let single = value.get("type").is_some_and(Value::is_string);
            match value {
                Value::Object(map) if !single => {
                    for (key, generator) in map {
                        entries.push(GxEntry {
                            category: category.clone(),
                            key: Some(key),
                            tokens: path::parse(key),
                            value: generator,
                            used: Cell::new(false),
                        });
                    }
                }
                other => entries.push(GxEntry {
                    category: category.clone(),
                    key: None,
                    tokens: None,
                    value: other,
                    used: Cell::new(false),
                }),
            }
        }
        Gx { entries }
    }

    pub(super) fn take_path(&self, category: Category, tokens: &[Tok]) -> Option<&'a Value> {
        let entry = self.entries.iter().find(|e| {
            Category::from_pact_name(&e.category) == Some(category)
                && e.tokens.as_deref() == Some(tokens)
        })?;
        provider_state_expression(entry.value)?;
        entry.used.set(true);
        Some(entry.value)
    }

    pub(super) fn take_named(
        &self,
        category: Category,
        name: &str,
        fold_case: bool,
    ) -> Option<&'a Value> {
        let entry = self.entries.iter().find(|e| {
            Category::from_pact_name(&e.category) == Some(category)
                && match e.key {
                    None => name.is_empty(),
                    Some(k) if fold_case => k.eq_ignore_ascii_case(name),
                    Some(k) => k == name,
                }
        })?;
        provider_state_expression(entry.value)?;
        entry.used.set(true);
        Some(entry.value)
    }

    pub(super) fn unused(&self) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for e in self.entries.iter().filter(|e| !e.used.get()) {
            match e.key {
                None => {
                    out.insert(e.category.clone(), e.value.clone());
                }
                Some(key) => {
                    let slot = out
                        .entry(e.category.clone())
                        .or_insert_with(|| Value::Object(serde_json::Map::new()));
                    if let Value::Object(map) = slot {
                        map.insert(key.to_string(), e.value.clone());
                    }
                }
            }
        }
        out
    }
}
