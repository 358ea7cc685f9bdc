//! Matching rules shown inline as matchers on the values they apply to, normalised, and the
//! rules that cannot stand inline listed beside their part.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::path::Tok;
use crate::model::{
    Category, Generators, MatchingRule, MatchingRules, RuleList, RuleLogic, StatusClass,
};

use super::index::{Gx, Ix};
use super::values::template;
use super::yaml::{Style, Y, flat, key_str, plain, scalar_str};

#[derive(Clone, Copy)]
pub(super) struct Mode {
    arrays: bool,
    objects: bool,
}

pub(super) const CONCRETE: Mode = Mode {
    arrays: false,
    objects: false,
};

/// Must agree with the loader: where a matcher speaks of every element, its example's
/// children are at `[*]`/`.*`.
fn mode(rules: &[MatchingRule]) -> Mode {
    let mut mode = CONCRETE;
    for rule in rules {
        match rule {
            MatchingRule::Type
            | MatchingRule::MinType(_)
            | MatchingRule::MaxType(_)
            | MatchingRule::MinMaxType(..) => mode.arrays = true,
            MatchingRule::Values | MatchingRule::EachKey(_) | MatchingRule::EachValue(_) => {
                mode.arrays = true;
                mode.objects = true;
            }
            _ => {}
        }
    }
    mode
}

pub(super) fn children(
    value: &Value,
    tokens: &mut Vec<Tok>,
    rules: &Ix,
    gens: &Gx,
    category: Category,
    mode: Mode,
) -> Y {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Y::Map(
                keys.into_iter()
                    .map(|k| {
                        tokens.push(if mode.objects {
                            Tok::AnyField
                        } else {
                            Tok::Field(k.clone())
                        });
                        let y = template(&map[k], tokens, rules, gens, category);
                        tokens.pop();
                        (key_str(k), y)
                    })
                    .collect(),
                Style::Data,
            )
        }
        Value::Array(items) => Y::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    tokens.push(if mode.arrays {
                        Tok::AnyIndex
                    } else {
                        Tok::Index(i)
                    });
                    let y = template(item, tokens, rules, gens, category);
                    tokens.pop();
                    y
                })
                .collect(),
            Style::Data,
        ),
        other => plain(other),
    }
}

/// A value with rules: the inline matcher.
pub(super) fn matcher(
    list: &RuleList,
    value: &Value,
    tokens: &mut Vec<Tok>,
    rules: &Ix,
    gens: &Gx,
    category: Category,
) -> Y {
    if list.rules.len() != 1 || list.logic == RuleLogic::Or {
        let example = children(value, tokens, rules, gens, category, mode(&list.rules));
        return combined(list, Some(example));
    }
    let rule = &list.rules[0];
    match rule {
        MatchingRule::MinType(min) | MatchingRule::MinMaxType(min, _)
            if value
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|e| *e == a[0])) =>
        {
            let element = &value.as_array().expect("checked")[0];
            let mut entries = vec![("$match".to_string(), Y::Scalar("eachLike".into()))];
            if *min != 1 {
                entries.push(("min".into(), Y::Scalar(min.to_string())));
            }
            if let MatchingRule::MinMaxType(_, max) = rule {
                entries.push(("max".into(), Y::Scalar(max.to_string())));
            }
            tokens.push(Tok::AnyIndex);
            let example = template(element, tokens, rules, gens, category);
            tokens.pop();
            entries.push(("example".into(), example));
            Y::Map(entries, Style::Matcher)
        }
        MatchingRule::ArrayContains(variants) => {
            let items = value.as_array().cloned().unwrap_or_default();
            let mut sorted: Vec<_> = variants.iter().collect();
            sorted.sort_by_key(|v| v.index);
            let shown: Vec<Y> = sorted
                .iter()
                .map(|v| {
                    let element = items.get(v.index).cloned().unwrap_or(Value::Null);
                    let inner_rules = MatchingRules {
                        categories: BTreeMap::from([(category, v.rules.clone())]),
                    };
                    let inner_gens = Generators {
                        categories: BTreeMap::from([(
                            category.pact_name().to_string(),
                            Value::Object(v.generators.clone().into_iter().collect()),
                        )]),
                    };
                    let ix = Ix::new(&inner_rules);
                    let gx = Gx::new(&inner_gens);
                    let mut inner_tokens = Vec::new();
                    let mut y = template(&element, &mut inner_tokens, &ix, &gx, category);
                    let mut rest = Vec::new();
                    leftovers(&ix, &gx, &mut rest);
                    if !rest.is_empty() {
                        y = Y::Commented(
                            Box::new(y),
                            vec!["this variant has rules not shown inline:".into()]
                                .into_iter()
                                .chain(rest.iter().map(|(k, v)| format!("  {k}: {}", flat(v))))
                                .collect(),
                        );
                    }
                    y
                })
                .collect();
            let mut entries = vec![
                ("$match".to_string(), Y::Scalar("arrayContains".into())),
                ("variants".to_string(), Y::Seq(shown, Style::Data)),
            ];
            let derived =
                sorted.iter().enumerate().all(|(i, v)| v.index == i) && items.len() == sorted.len();
            if !derived {
                entries.push(("example".into(), plain(value)));
            }
            Y::Map(entries, Style::Matcher)
        }
        other => {
            let (kind, mut params) = rule_parts(other);
            params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
            if !(matches!(other, MatchingRule::Null) && value.is_null()) {
                let example = children(value, tokens, rules, gens, category, mode(&list.rules));
                params.push(("example".into(), example));
            }
            Y::Map(params, Style::Matcher)
        }
    }
}

/// Several rules at one value: `{$match: and|or, rules: [...], example: …}`.
pub(super) fn combined(list: &RuleList, example: Option<Y>) -> Y {
    let kind = if list.logic == RuleLogic::Or {
        "or"
    } else {
        "and"
    };
    let mut entries = vec![
        ("$match".to_string(), Y::Scalar(kind.into())),
        (
            "rules".to_string(),
            Y::Seq(list.rules.iter().map(rule_only).collect(), Style::Data),
        ),
    ];
    if let Some(example) = example {
        entries.push(("example".into(), example));
    }
    Y::Map(entries, Style::Matcher)
}

/// A rule without an example (inside `rules:`).
fn rule_only(rule: &MatchingRule) -> Y {
    let (kind, mut params) = rule_parts(rule);
    params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
    Y::Map(params, Style::Matcher)
}

/// A rule's matcher name and parameters (without `$match` and `example`).
pub(super) fn rule_parts(rule: &MatchingRule) -> (&'static str, Vec<(String, Y)>) {
    let n = |v: usize| Y::Scalar(v.to_string());
    match rule {
        MatchingRule::Equality => ("equality", vec![]),
        MatchingRule::Regex(p) => ("regex", vec![("pattern".into(), scalar_str(p))]),
        MatchingRule::Type => ("type", vec![]),
        MatchingRule::MinType(min) => ("type", vec![("min".into(), n(*min))]),
        MatchingRule::MaxType(max) => ("type", vec![("max".into(), n(*max))]),
        MatchingRule::MinMaxType(min, max) => (
            "type",
            vec![("min".into(), n(*min)), ("max".into(), n(*max))],
        ),
        MatchingRule::Number => ("number", vec![]),
        MatchingRule::Integer => ("integer", vec![]),
        MatchingRule::Decimal => ("decimal", vec![]),
        MatchingRule::Boolean => ("boolean", vec![]),
        MatchingRule::Null => ("null", vec![]),
        MatchingRule::Include(v) => ("include", vec![("value".into(), scalar_str(v))]),
        MatchingRule::Date(f) => ("date", format_param(f)),
        MatchingRule::Time(f) => ("time", format_param(f)),
        MatchingRule::Timestamp(f) => ("timestamp", format_param(f)),
        MatchingRule::ContentType(v) => ("contentType", vec![("value".into(), scalar_str(v))]),
        MatchingRule::Values => ("values", vec![]),
        MatchingRule::NotEmpty => ("notEmpty", vec![]),
        MatchingRule::Semver => ("semver", vec![]),
        MatchingRule::StatusCode(StatusClass::Codes(codes)) => (
            "statusCode",
            vec![(
                "codes".into(),
                Y::Seq(
                    codes.iter().map(|c| Y::Scalar(c.to_string())).collect(),
                    Style::Data,
                ),
            )],
        ),
        MatchingRule::StatusCode(class) => (
            "statusCode",
            vec![(
                "class".into(),
                scalar_str(&crate::format::class_name(class)),
            )],
        ),
        MatchingRule::ArrayContains(variants) => (
            "arrayContains",
            vec![(
                "variants".into(),
                Y::Seq(
                    variants
                        .iter()
                        .map(|v| {
                            let rules: serde_json::Map<String, Value> = v
                                .rules
                                .iter()
                                .map(|(p, l)| (p.clone(), Value::String(flat(&rule_list_y(l)))))
                                .collect();
                            Y::Map(
                                vec![
                                    ("index".into(), Y::Scalar(v.index.to_string())),
                                    ("rules".into(), plain(&Value::Object(rules))),
                                ],
                                Style::Data,
                            )
                        })
                        .collect(),
                    Style::Data,
                ),
            )],
        ),
        MatchingRule::EachKey(rules) => (
            "eachKey",
            vec![(
                "rules".into(),
                Y::Seq(rules.iter().map(rule_only).collect(), Style::Data),
            )],
        ),
        MatchingRule::EachValue(rules) => (
            "eachValue",
            vec![(
                "rules".into(),
                Y::Seq(rules.iter().map(rule_only).collect(), Style::Data),
            )],
        ),
    }
}

fn format_param(format: &str) -> Vec<(String, Y)> {
    if format.is_empty() {
        Vec::new()
    } else {
        vec![("format".into(), scalar_str(format))]
    }
}

fn rule_list_y(list: &RuleList) -> Y {
    if list.rules.len() == 1 && list.logic == RuleLogic::And {
        rule_only(&list.rules[0])
    } else {
        combined(list, None)
    }
}

/// Rules and generators no value took, under `rules:` and `generators:`.
pub(super) fn leftovers(rules: &Ix, generators: &Gx, part: &mut Vec<(String, Y)>) {
    let mut by_category: BTreeMap<Category, Vec<(String, Y)>> = BTreeMap::new();
    for (category, path, list) in rules.unused() {
        by_category
            .entry(category)
            .or_default()
            .push((key_str(path), rule_list_y(list)));
    }
    if !by_category.is_empty() {
        let entries = by_category
            .into_iter()
            .map(|(category, mut items)| {
                items.sort_by(|a, b| a.0.cmp(&b.0));
                (
                    category.pact_name().to_string(),
                    Y::Map(items, Style::Block),
                )
            })
            .collect();
        part.push(("rules".into(), Y::Map(entries, Style::Block)));
    }
    let unused = generators.unused();
    if !unused.is_empty() {
        part.push(("generators".into(), plain(&Value::Object(unused))));
    }
}
