//! Rendering values with their matchers: bodies, headers and query parameters, and the example
//! of a value walked alongside its rules and generators.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::path::Tok;
use crate::model::{Body, Category, RuleLogic};

use super::index::{Gx, Ix};
use super::matchers::{CONCRETE, children, combined, matcher, rule_parts};
use super::yaml::{Style, Y, key_str, plain, scalar_str};

pub(super) fn body(body: &Body, rules: &Ix, generators: &Gx, part: &mut Vec<(String, Y)>) {
    match body {
        Body::Missing => {}
        Body::Null => part.push(("body".into(), Y::Scalar("null".into()))),
        Body::Empty => part.push(("body".into(), Y::Scalar("\"\"".into()))),
        Body::Json { value, .. } => {
            let mut tokens = Vec::new();
            part.push((
                "body".into(),
                template(value, &mut tokens, rules, generators, Category::Body),
            ));
        }
        Body::Text { text, .. } => {
            let mut tokens = Vec::new();
            part.push((
                "body".into(),
                template(
                    &Value::String(text.clone()),
                    &mut tokens,
                    rules,
                    generators,
                    Category::Body,
                ),
            ));
        }
        Body::Binary {
            bytes,
            content_type,
        } => {
            use base64::Engine as _;
            let mut entries = vec![(
                "base64".to_string(),
                scalar_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
            )];
            if let Some(ct) = content_type {
                entries.push(("contentType".into(), scalar_str(ct)));
            }
            part.push(("body".into(), Y::Map(entries, Style::Block)));
        }
    }
}

/// Headers, query parameters: names sorted (headers in lower case), values or matchers.
pub(super) fn named_values(
    values: &BTreeMap<String, Vec<String>>,
    category: Category,
    rules: &Ix,
    generators: &Gx,
    fold_case: bool,
) -> Y {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort_by_key(|k| {
        if fold_case {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    });
    Y::Map(
        names
            .into_iter()
            .map(|name| {
                let shown = if fold_case {
                    name.to_ascii_lowercase()
                } else {
                    name.clone()
                };
                let vals: Vec<Value> = values[name].iter().cloned().map(Value::String).collect();
                (
                    key_str(&shown),
                    named_value(&vals, category, name, rules, generators, fold_case),
                )
            })
            .collect(),
        Style::Data,
    )
}

pub(super) fn named_value(
    values: &[Value],
    category: Category,
    name: &str,
    rules: &Ix,
    generators: &Gx,
    fold_case: bool,
) -> Y {
    let example = if values.len() == 1 {
        plain(&values[0])
    } else {
        Y::Seq(values.iter().map(plain).collect(), Style::Data)
    };
    let Some(list) = rules.take_named(category, name, fold_case) else {
        return example;
    };
    let generator = generators.take_named(category, name, fold_case);
    let mut y = if list.rules.len() == 1 && list.logic == RuleLogic::And {
        let (kind, mut params) = rule_parts(&list.rules[0]);
        params.insert(0, ("$match".into(), Y::Scalar(kind.into())));
        params.push(("example".into(), example));
        Y::Map(params, Style::Matcher)
    } else {
        combined(list, Some(example))
    };
    add_from_state(&mut y, generator);
    y
}

fn add_from_state(y: &mut Y, generator: Option<&Value>) {
    let Some(expression) = generator.and_then(provider_state_expression) else {
        return;
    };
    if let Y::Map(entries, _) = y {
        entries.push(("fromState".into(), scalar_str(expression)));
    }
}

pub(super) fn provider_state_expression(generator: &Value) -> Option<&str> {
    if generator.get("type")?.as_str()? == "ProviderState" {
        generator.get("expression")?.as_str()
    } else {
        None
    }
}

/// A body with its rules shown inline.
pub(super) fn template(
    value: &Value,
    tokens: &mut Vec<Tok>,
    rules: &Ix,
    gens: &Gx,
    category: Category,
) -> Y {
    if let Some(list) = rules.take_path(category, tokens) {
        let generator = gens.take_path(category, tokens);
        let mut y = matcher(list, value, tokens, rules, gens, category);
        add_from_state(&mut y, generator);
        return y;
    }
    children(value, tokens, rules, gens, category, CONCRETE)
}
