//! Lowering values with inline matchers: the example a matcher stands for, and its rules and
//! generators at the value's path (bodies, headers, query parameters, path and status).

use serde_json::Value;

use crate::format::convert::{At, R, scalar};
use crate::format::path::{self, Tok};
use crate::format::tree::{Map, Node};
use crate::model::{ArrayContainsVariant, MatchingRule, RuleLogic};

use super::check::check_all;
use super::spec::{class_name, default_status, in_class, spec};
use super::{Lowered, Place};

/// How the children of a matcher's example get their paths: `[*]`/`.*` where the matcher
/// speaks of every element (type on a list, values, eachKey, eachValue), by position or name
/// elsewhere.
#[derive(Clone, Copy)]
struct Mode {
    arrays: bool,
    objects: bool,
}

const CONCRETE: Mode = Mode {
    arrays: false,
    objects: false,
};

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

/// The largest number of copies eachLike puts in its example.
const MAX_COPIES: usize = 1000;

/// Lowers a body (or payload) written with inline matchers, rooted at `$`.
pub(crate) fn body(node: &Node, at: &At, out: &mut Lowered) -> R<Value> {
    let mut tokens = Vec::new();
    lower(node, at, &mut tokens, out)
}

fn lower(node: &Node, at: &At, tokens: &mut Vec<Tok>, out: &mut Lowered) -> R<Value> {
    match node {
        Node::Map(map) if map.contains("$match") => body_matcher(map, at, tokens, out),
        Node::Map(_) | Node::Seq(_) => children(node, at, tokens, out, CONCRETE),
        other => scalar(other, at),
    }
}

fn children(
    node: &Node,
    at: &At,
    tokens: &mut Vec<Tok>,
    out: &mut Lowered,
    mode: Mode,
) -> R<Value> {
    match node {
        Node::Seq(items) => {
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                tokens.push(if mode.arrays {
                    Tok::AnyIndex
                } else {
                    Tok::Index(i)
                });
                let value = lower(item, &at.index(i), tokens, out);
                tokens.pop();
                values.push(value?);
            }
            Ok(Value::Array(values))
        }
        Node::Map(map) if !map.contains("$match") => {
            if let Some((i, n)) = map.first_duplicate(false) {
                let key = &map.entries[i].0;
                return Err(at.key_n(key, n).key_err(format!("key {key:?} given twice")));
            }
            let mut object = serde_json::Map::new();
            for (key, value) in &map.entries {
                let key_at = at.key(key);
                tokens.push(if mode.objects {
                    Tok::AnyField
                } else {
                    Tok::Field(key.clone())
                });
                let value = lower(value, &key_at, tokens, out);
                tokens.pop();
                object.insert(key.clone(), value?);
            }
            Ok(Value::Object(object))
        }
        other => lower(other, at, tokens, out),
    }
}

fn body_matcher(map: &Map, at: &At, tokens: &mut Vec<Tok>, out: &mut Lowered) -> R<Value> {
    let spec = spec(map, at, Place::Body, false)?;
    let here = path::write(tokens);
    let example_at = at.key("example");
    let value = match spec.kind {
        "eachLike" => {
            let min = spec.min.unwrap_or(1);
            if min > MAX_COPIES {
                return Err(at.key("min").err(format!(
                    "min {min} is too large for eachLike (its example holds min copies; at most {MAX_COPIES})"
                )));
            }
            let rule = match spec.max {
                Some(max) => MatchingRule::MinMaxType(min, max),
                None => MatchingRule::MinType(min),
            };
            out.add(&here, &[rule], RuleLogic::And);
            let element_node = spec.example.expect("checked by spec");
            tokens.push(Tok::AnyIndex);
            let element = lower(element_node, &example_at, tokens, out);
            tokens.pop();
            let element = element?;
            let copies = min.max(1).min(spec.max.unwrap_or(usize::MAX).max(1));
            Value::Array(vec![element; copies])
        }
        "arrayContains" => {
            let variants = spec.variants.expect("checked by spec");
            let variants_at = at.key("variants");
            let mut found = Vec::with_capacity(variants.len());
            let mut values = Vec::with_capacity(variants.len());
            for (i, variant) in variants.iter().enumerate() {
                let mut inner = Lowered::default();
                let value = body(variant, &variants_at.index(i), &mut inner)?;
                values.push(value);
                found.push(ArrayContainsVariant {
                    index: i,
                    rules: inner.rules,
                    generators: inner.generators.into_iter().collect(),
                });
            }
            out.add(&here, &[MatchingRule::ArrayContains(found)], RuleLogic::And);
            Value::Array(values)
        }
        _ => {
            out.add(&here, &spec.rules, spec.logic);
            let mut value = match spec.example {
                Some(example) => children(example, &example_at, tokens, out, mode(&spec.rules))?,
                None => Value::Null, // null
            };
            // `type` with `min` on a shorter list: the first element stands for the others
            // (the matcher compares every element with it), so it is repeated up to min, as
            // eachLike does.
            if let [MatchingRule::MinType(min) | MatchingRule::MinMaxType(min, _)] =
                spec.rules.as_slice()
                && let Value::Array(items) = &mut value
                && let Some(first) = items.first().cloned()
                && items.len() < *min
            {
                if *min > MAX_COPIES {
                    return Err(at.key("min").err(format!(
                        "min {min} is too large (the example is padded to min elements; at most {MAX_COPIES})"
                    )));
                }
                items.resize(*min, first);
            }
            check_all(&spec.rules, spec.logic, &value)
                .map_err(|e| example_or(at, spec.example.is_some()).err(e))?;
            value
        }
    };
    if let Some(expression) = spec.from_state {
        out.generators
            .insert(here, provider_state_generator(&expression, &value));
    }
    Ok(value)
}

fn example_or<'a>(at: &'a At<'a>, has_example: bool) -> At<'a> {
    if has_example { at.key("example") } else { *at }
}

/// A matcher for a single named value (header, query parameter, metadata) or for a path or
/// status: the example, and the rules keyed by `name` (`""` for path and status).
pub(crate) fn named(map: &Map, at: &At, place: Place, name: &str) -> R<(Value, Option<Lowered>)> {
    let spec = spec(map, at, place, false)?;
    let example_at = at.key("example");
    let value = match spec.example {
        Some(node) => match node {
            Node::Seq(items) if matches!(place, Place::Header | Place::Query) => {
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(single(item, &example_at.index(i), place)?);
                }
                Value::Array(values)
            }
            other => single(other, &example_at, place)?,
        },
        None => match spec.rules.first() {
            Some(MatchingRule::StatusCode(class)) => Value::from(default_status(class)),
            _ => Value::Null,
        },
    };
    if let Some(MatchingRule::StatusCode(class)) = spec.rules.first() {
        let code = value.as_u64().unwrap_or(0);
        if !(100..=599).contains(&code) || !in_class(code as u16, class) {
            return Err(example_or(at, spec.example.is_some()).err(format!(
                "the example status {value} is not in the matcher's class ({})",
                class_name(class)
            )));
        }
    } else {
        let values: Vec<&Value> = match &value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in values {
            // Headers, query parameters and paths are text: `"5"` is an integer here.
            let read = match v {
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .ok()
                    .filter(|p| p.is_number() || p.is_boolean())
                    .unwrap_or_else(|| v.clone()),
                other => other.clone(),
            };
            check_all(&spec.rules, spec.logic, &read).map_err(|e| example_at.err(e))?;
        }
    }
    let mut lowered = Lowered::default();
    lowered.add(name, &spec.rules, spec.logic);
    if let Some(expression) = spec.from_state {
        let generator = provider_state_generator(&expression, &value);
        lowered.generators.insert(name.to_string(), generator);
    }
    Ok((value, Some(lowered)))
}

/// A header, query, path or status example: one scalar (headers and query take text; numbers
/// and booleans are written as text).
fn single(node: &Node, at: &At, place: Place) -> R<Value> {
    match (place, node) {
        (Place::Status, Node::UInt(_) | Node::Int(_)) => scalar(node, at),
        (Place::Status, other) => Err(at.err(format!(
            "expected an HTTP status for the example, found {}",
            other.kind()
        ))),
        (_, Node::Str(s)) => Ok(Value::String(s.clone())),
        (_, Node::Int(_) | Node::UInt(_) | Node::Float(_) | Node::Bool(_)) => {
            Ok(Value::String(scalar(node, at)?.to_string()))
        }
        (_, other) => Err(at.err(format!(
            "expected a string for the example of a {} value, found {}",
            place.singular(),
            other.kind()
        ))),
    }
}

/// Pact's provider-state generator: the provider state's value replaces the example.
fn provider_state_generator(expression: &str, example: &Value) -> Value {
    let data_type = match example {
        Value::String(_) => "STRING",
        Value::Number(n) if n.is_f64() => "DECIMAL",
        Value::Number(_) => "INTEGER",
        Value::Bool(_) => "BOOLEAN",
        _ => "RAW",
    };
    serde_json::json!({
        "type": "ProviderState",
        "expression": expression,
        "dataType": data_type,
    })
}
