//! Inline matchers: `{ $match: regex, pattern: "^pay_", example: pay_7f3a }` anywhere a value
//! may stand. Loading one gives the example value (what a mock serves, what a request sends)
//! and the matching rule(s) at the value's path.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use super::convert::{At, Obj, R, did_you_mean, scalar, string};
use super::path::{self, Tok};
use super::tree::{Map, Node};
use crate::model::{
    ArrayContainsVariant, Category, MatchingRule, RuleList, RuleLogic, StatusClass,
};

/// Rules and generators found while lowering a value, by path (JSONPath for bodies, the name
/// for headers, query parameters and metadata, `""` for path and status).
#[derive(Debug, Default)]
pub(crate) struct Lowered {
    pub rules: BTreeMap<String, RuleList>,
    pub generators: serde_json::Map<String, Value>,
}

impl Lowered {
    fn add(&mut self, path: &str, rules: &[MatchingRule], logic: RuleLogic) {
        let list = self.rules.entry(path.to_string()).or_default();
        for rule in rules {
            if !list.rules.contains(rule) {
                list.rules.push(rule.clone());
            }
        }
        if logic == RuleLogic::Or {
            list.logic = RuleLogic::Or;
        }
    }
}

/// Where a matcher stands; some matchers only make sense in some places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Body,
    Header,
    Query,
    Metadata,
    Path,
    Status,
}

impl Place {
    pub fn what(self) -> &'static str {
        match self {
            Place::Body => "a body",
            Place::Header => "headers",
            Place::Query => "query",
            Place::Metadata => "headers",
            Place::Path => "path",
            Place::Status => "status",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Place::Body => "body",
            Place::Header | Place::Metadata => "header",
            Place::Query => "query parameter",
            Place::Path => "path",
            Place::Status => "status",
        }
    }

    pub fn category(self) -> Category {
        match self {
            Place::Body => Category::Body,
            Place::Header => Category::Header,
            Place::Query => Category::Query,
            Place::Metadata => Category::Metadata,
            Place::Path => Category::Path,
            Place::Status => Category::Status,
        }
    }

    /// The category name generators are kept under (Pact's).
    pub fn generator_key(self) -> &'static str {
        self.category().pact_name()
    }
}

/// Every matcher, as written after `$match`.
pub(crate) const KINDS: &[&str] = &[
    "equality",
    "type",
    "regex",
    "number",
    "integer",
    "decimal",
    "boolean",
    "null",
    "include",
    "date",
    "time",
    "timestamp",
    "semver",
    "contentType",
    "values",
    "notEmpty",
    "eachLike",
    "arrayContains",
    "eachKey",
    "eachValue",
    "statusCode",
    "and",
    "or",
];

/// The keys a matcher of `kind` takes besides `$match`, `example` and `fromState`.
fn params(kind: &str) -> &'static [&'static str] {
    match kind {
        "type" | "eachLike" => &["min", "max"],
        "regex" => &["pattern"],
        "include" | "contentType" => &["value"],
        "date" | "time" | "timestamp" => &["format"],
        "arrayContains" => &["variants"],
        "eachKey" | "eachValue" | "and" | "or" => &["rules"],
        "statusCode" => &["class", "codes"],
        _ => &[],
    }
}

/// Whether a matcher can stand in `place`.
fn allowed_in(kind: &str, place: Place) -> bool {
    match place {
        Place::Body => kind != "statusCode",
        Place::Status => kind == "statusCode",
        Place::Header | Place::Query | Place::Metadata | Place::Path => matches!(
            kind,
            "equality"
                | "type"
                | "regex"
                | "number"
                | "integer"
                | "decimal"
                | "boolean"
                | "include"
                | "date"
                | "time"
                | "timestamp"
                | "semver"
                | "contentType"
                | "notEmpty"
                | "and"
                | "or"
        ),
    }
}

/// A matcher as written.
struct Spec<'a> {
    kind: &'static str,
    /// The rules it stands for (empty for `eachLike` and `arrayContains`, built from the
    /// example).
    rules: Vec<MatchingRule>,
    logic: RuleLogic,
    example: Option<&'a Node>,
    from_state: Option<String>,
    min: Option<usize>,
    max: Option<usize>,
    variants: Option<&'a [Node]>,
}

/// Reads a matcher mapping. `rule_only`: a rule inside `rules:` (no example, no fromState).
fn spec<'a>(map: &'a Map, at: &At, place: Place, rule_only: bool) -> R<Spec<'a>> {
    let obj = Obj { map, at };
    let match_at = at.key("$match");
    let name = match obj.require("$match", "a matcher")? {
        // `$match: null` reads as YAML's null.
        Node::Null => "null",
        other => string(other, &match_at, "$match")?,
    };
    let Some(kind) = KINDS.iter().copied().find(|k| *k == name) else {
        let hint = did_you_mean(name, KINDS)
            .map(|s| format!("did you mean {s:?}? "))
            .unwrap_or_default();
        return Err(match_at.err(format!(
            "unknown matcher {name:?} ({hint}expected one of: {})",
            KINDS.join(", ")
        )));
    };
    if !allowed_in(kind, place) {
        let reason = match kind {
            "statusCode" => "it applies to a response's status only".to_string(),
            _ if place == Place::Status => {
                "a status takes a number or a statusCode matcher".to_string()
            }
            _ => format!(
                "a {} value is a single string (this matcher applies to bodies)",
                place.singular()
            ),
        };
        return Err(match_at.err(format!(
            "the {kind} matcher cannot be used for {}: {reason}",
            place.what()
        )));
    }
    if rule_only && matches!(kind, "eachLike" | "arrayContains" | "statusCode") {
        return Err(match_at.err(format!(
            "the {kind} matcher needs an example, so it cannot be a rule inside `rules`"
        )));
    }
    let mut allowed: Vec<&str> = vec!["$match"];
    allowed.extend(params(kind));
    if !rule_only {
        if kind != "arrayContains" {
            allowed.push("example");
        }
        allowed.push("fromState");
    } else if obj.get("example").is_some() {
        return Err(at
            .key("example")
            .key_err("a rule inside `rules` takes no example (the example is the matcher's own)"));
    }
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let what = format!("{article} {kind} matcher");
    obj.check(&what, &allowed)?;

    let count = |key: &str| -> R<Option<usize>> {
        match obj.get(key) {
            None => Ok(None),
            Some(Node::UInt(n)) => Ok(Some(*n as usize)),
            Some(Node::Int(n)) if *n >= 0 => Ok(Some(*n as usize)),
            Some(other) => Err(at.key(key).err(format!(
                "expected a whole number (0 or more) for {key}, found {}",
                other.kind()
            ))),
        }
    };
    let min = count("min")?;
    let max = count("max")?;
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(at
            .key("max")
            .err(format!("max ({max}) is smaller than min ({min})")));
    }
    if place != Place::Body && (min.is_some() || max.is_some()) {
        let key = if min.is_some() { "min" } else { "max" };
        return Err(at.key(key).key_err(format!(
            "{key} applies to lists, and a {} value is not one",
            place.singular()
        )));
    }

    let mut logic = RuleLogic::And;
    let rules = match kind {
        "equality" => vec![MatchingRule::Equality],
        "type" => vec![match (min, max) {
            (None, None) => MatchingRule::Type,
            (Some(n), None) => MatchingRule::MinType(n),
            (None, Some(m)) => MatchingRule::MaxType(m),
            (Some(n), Some(m)) => MatchingRule::MinMaxType(n, m),
        }],
        "regex" => {
            let pattern_at = at.key("pattern");
            let pattern = string(obj.require("pattern", &what)?, &pattern_at, "pattern")?;
            compiled(pattern).map_err(|e| pattern_at.err(e))?;
            vec![MatchingRule::Regex(pattern.to_string())]
        }
        "number" => vec![MatchingRule::Number],
        "integer" => vec![MatchingRule::Integer],
        "decimal" => vec![MatchingRule::Decimal],
        "boolean" => vec![MatchingRule::Boolean],
        "null" => vec![MatchingRule::Null],
        "include" => {
            let value_at = at.key("value");
            let value = string(obj.require("value", &what)?, &value_at, "value")?;
            vec![MatchingRule::Include(value.to_string())]
        }
        "contentType" => {
            let value_at = at.key("value");
            let value = string(obj.require("value", &what)?, &value_at, "value")?;
            vec![MatchingRule::ContentType(value.to_string())]
        }
        "date" | "time" | "timestamp" => {
            let format = match obj.get("format") {
                None => String::new(),
                Some(node) => string(node, &at.key("format"), "format")?.to_string(),
            };
            vec![match kind {
                "date" => MatchingRule::Date(format),
                "time" => MatchingRule::Time(format),
                _ => MatchingRule::Timestamp(format),
            }]
        }
        "semver" => vec![MatchingRule::Semver],
        "values" => vec![MatchingRule::Values],
        "notEmpty" => vec![MatchingRule::NotEmpty],
        "eachKey" | "eachValue" => {
            let inner = rule_list(obj.require("rules", &what)?, &at.key("rules"), kind)?;
            vec![if kind == "eachKey" {
                MatchingRule::EachKey(inner)
            } else {
                MatchingRule::EachValue(inner)
            }]
        }
        "and" | "or" => {
            if kind == "or" {
                logic = RuleLogic::Or;
            }
            let rules_at = at.key("rules");
            let inner = rule_list(obj.require("rules", &what)?, &rules_at, kind)?;
            if inner.len() < 2 {
                return Err(rules_at.err(format!(
                    "{kind} combines two rules or more; for one, write the rule itself"
                )));
            }
            inner
        }
        "statusCode" => {
            let class = match (obj.get("class"), obj.get("codes")) {
                (Some(_), Some(_)) => {
                    return Err(at
                        .key("codes")
                        .key_err("give either class or codes, not both"));
                }
                (None, None) => {
                    return Err(at.key_err(format!(
                        "{what} needs class (success, clientError, …) or codes ([200, 201])"
                    )));
                }
                (Some(class), None) => status_class(class, &at.key("class"))?,
                (None, Some(codes)) => status_codes(codes, &at.key("codes"))?,
            };
            vec![MatchingRule::StatusCode(class)]
        }
        _ => Vec::new(), // eachLike, arrayContains: built by the caller
    };
    let from_state = match obj.get("fromState") {
        None => None,
        Some(node) => {
            let from_at = at.key("fromState");
            let expression = string(node, &from_at, "fromState")?;
            if expression.trim().is_empty() {
                return Err(from_at.err("fromState must not be empty (e.g. \"${orderId}\")"));
            }
            Some(expression.to_string())
        }
    };
    let variants = match (kind, obj.get("variants")) {
        ("arrayContains", Some(Node::Seq(items))) if !items.is_empty() => Some(items.as_slice()),
        ("arrayContains", Some(other)) => {
            return Err(at.key("variants").err(format!(
                "expected a non-empty list of the elements to look for, found {}",
                if let Node::Seq(_) = other {
                    "an empty list"
                } else {
                    other.kind()
                }
            )));
        }
        ("arrayContains", None) => {
            return Err(at.key_err(format!("missing key \"variants\" in {what}")));
        }
        _ => None,
    };
    let example = obj.get("example").or(match kind {
        // The value to include is example enough.
        "include" => obj.get("value"),
        _ => None,
    });
    let needs_example = !rule_only && !matches!(kind, "null" | "statusCode" | "arrayContains");
    if needs_example && example.is_none() {
        return Err(at.key_err(format!(
            "missing key \"example\" in {what} (the value a mock serves and a request sends)"
        )));
    }
    Ok(Spec {
        kind,
        rules,
        logic,
        example,
        from_state,
        min,
        max,
        variants,
    })
}

/// `rules: [ {$match: regex, pattern: …}, … ]` of eachKey, eachValue, and, or.
fn rule_list(node: &Node, at: &At, kind: &str) -> R<Vec<MatchingRule>> {
    let Node::Seq(items) = node else {
        return Err(at.err(format!(
            "expected a list of rules for {kind} (e.g. [{{$match: regex, pattern: \"^[a-z]+$\"}}]), found {}",
            node.kind()
        )));
    };
    if items.is_empty() {
        return Err(at.err(format!("{kind} needs at least one rule")));
    }
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_at = at.index(i);
        let Node::Map(map) = item else {
            return Err(item_at.err(format!(
                "expected a rule (a mapping with $match), found {}",
                item.kind()
            )));
        };
        let spec = spec(map, &item_at, Place::Body, true)?;
        if spec.logic == RuleLogic::Or || spec.kind == "and" {
            return Err(item_at
                .key("$match")
                .err("and/or cannot be nested inside rules"));
        }
        rules.extend(spec.rules);
    }
    Ok(rules)
}

fn status_class(node: &Node, at: &At) -> R<StatusClass> {
    const CLASSES: &[&str] = &[
        "information",
        "success",
        "redirect",
        "clientError",
        "serverError",
        "nonError",
        "error",
    ];
    let name = string(node, at, "class")?;
    Ok(match name {
        "information" => StatusClass::Information,
        "success" => StatusClass::Success,
        "redirect" => StatusClass::Redirect,
        "clientError" => StatusClass::ClientError,
        "serverError" => StatusClass::ServerError,
        "nonError" => StatusClass::NonError,
        "error" => StatusClass::Error,
        other => {
            let hint = did_you_mean(other, CLASSES)
                .map(|s| format!("did you mean {s:?}? "))
                .unwrap_or_default();
            return Err(at.err(format!(
                "unknown status class {other:?} ({hint}expected one of: {})",
                CLASSES.join(", ")
            )));
        }
    })
}

fn status_codes(node: &Node, at: &At) -> R<StatusClass> {
    let Node::Seq(items) = node else {
        return Err(at.err(format!(
            "expected a list of status codes for codes, found {}",
            node.kind()
        )));
    };
    if items.is_empty() {
        return Err(at.err("codes needs at least one status code"));
    }
    let mut codes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Node::UInt(n @ 100..=599) => codes.push(*n as u16),
            Node::Int(n @ 100..=599) => codes.push(*n as u16),
            other => {
                return Err(at.index(i).err(format!(
                    "expected an HTTP status (100–599), found {}",
                    match other {
                        Node::UInt(n) => n.to_string(),
                        Node::Int(n) => n.to_string(),
                        other => other.kind().to_string(),
                    }
                )));
            }
        }
    }
    Ok(StatusClass::Codes(codes))
}

/// Whether `code` is in `class`.
pub(crate) fn in_class(code: u16, class: &StatusClass) -> bool {
    match class {
        StatusClass::Information => (100..200).contains(&code),
        StatusClass::Success => (200..300).contains(&code),
        StatusClass::Redirect => (300..400).contains(&code),
        StatusClass::ClientError => (400..500).contains(&code),
        StatusClass::ServerError => (500..600).contains(&code),
        StatusClass::NonError => code < 400,
        StatusClass::Error => code >= 400,
        StatusClass::Codes(codes) => codes.contains(&code),
    }
}

/// The status a statusCode matcher stands for when no example is given.
fn default_status(class: &StatusClass) -> u16 {
    match class {
        StatusClass::Information => 100,
        StatusClass::Success | StatusClass::NonError => 200,
        StatusClass::Redirect => 300,
        StatusClass::ClientError | StatusClass::Error => 400,
        StatusClass::ServerError => 500,
        StatusClass::Codes(codes) => codes.first().copied().unwrap_or(200),
    }
}

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

pub(crate) fn class_name(class: &StatusClass) -> String {
    match class {
        StatusClass::Information => "information".into(),
        StatusClass::Success => "success".into(),
        StatusClass::Redirect => "redirect".into(),
        StatusClass::ClientError => "clientError".into(),
        StatusClass::ServerError => "serverError".into(),
        StatusClass::NonError => "nonError".into(),
        StatusClass::Error => "error".into(),
        StatusClass::Codes(codes) => format!(
            "codes {}",
            codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
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

/// Checks an example against its own matcher, so that a contract cannot contradict itself.
fn check_all(rules: &[MatchingRule], logic: RuleLogic, value: &Value) -> Result<(), String> {
    let mut failures = Vec::new();
    for rule in rules {
        match check(rule, value) {
            Ok(()) if logic == RuleLogic::Or => return Ok(()),
            Ok(()) => {}
            Err(e) if logic == RuleLogic::And => return Err(e),
            Err(e) => failures.push(e),
        }
    }
    if logic == RuleLogic::Or && !failures.is_empty() {
        return Err(format!(
            "the example satisfies none of the rules: {}",
            failures.join("; ")
        ));
    }
    Ok(())
}

fn check(rule: &MatchingRule, value: &Value) -> Result<(), String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let shown = short(value);
    match rule {
        MatchingRule::Regex(pattern) => {
            let Some(s) = text(value) else {
                return Err(format!(
                    "the example of a regex matcher must be a string, not {shown}"
                ));
            };
            let regex = compiled(pattern)?;
            if regex.is_match(&s) {
                Ok(())
            } else {
                Err(format!(
                    "the example {s:?} does not match the pattern {pattern:?}"
                ))
            }
        }
        MatchingRule::MinType(n) | MatchingRule::MinMaxType(n, _) if !value.is_array() => {
            let _ = n;
            Err(format!(
                "min and max apply to lists; the example is {shown}"
            ))
        }
        MatchingRule::MaxType(_) if !value.is_array() => Err(format!(
            "min and max apply to lists; the example is {shown}"
        )),
        MatchingRule::MinType(n) | MatchingRule::MinMaxType(n, _)
            if value.as_array().is_some_and(|a| a.len() < *n) =>
        {
            Err(format!(
                "the example has {} element(s), fewer than min {n}",
                value.as_array().map_or(0, Vec::len)
            ))
        }
        MatchingRule::MaxType(m) | MatchingRule::MinMaxType(_, m)
            if value.as_array().is_some_and(|a| a.len() > *m) =>
        {
            Err(format!(
                "the example has {} elements, more than max {m}",
                value.as_array().map_or(0, Vec::len)
            ))
        }
        MatchingRule::Number if !value.is_number() => Err(format!(
            "the example of a number matcher must be a number, not {shown}"
        )),
        MatchingRule::Integer if !(value.is_i64() || value.is_u64()) => Err(format!(
            "the example of an integer matcher must be an integer, not {shown}"
        )),
        MatchingRule::Decimal if !value.is_f64() => Err(format!(
            "the example of a decimal matcher must be a number with a fraction (19.99), not {shown}"
        )),
        MatchingRule::Boolean if !value.is_boolean() => Err(format!(
            "the example of a boolean matcher must be true or false, not {shown}"
        )),
        MatchingRule::Null if !value.is_null() => Err(format!(
            "the example of a null matcher must be null, not {shown}"
        )),
        MatchingRule::Include(part) => match text(value) {
            Some(s) if s.contains(part.as_str()) => Ok(()),
            _ => Err(format!("the example {shown} does not include {part:?}")),
        },
        MatchingRule::Semver => match value.as_str().map(semver::Version::parse) {
            Some(Ok(_)) => Ok(()),
            _ => Err(format!(
                "the example of a semver matcher must be a version such as 1.2.3, not {shown}"
            )),
        },
        MatchingRule::NotEmpty => {
            let empty = match value {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if empty {
                Err(format!(
                    "the example of a notEmpty matcher is empty ({shown})"
                ))
            } else {
                Ok(())
            }
        }
        MatchingRule::Values if !value.is_object() => Err(format!(
            "the example of a values matcher must be a mapping, not {shown}"
        )),
        MatchingRule::EachKey(rules) => {
            let Some(object) = value.as_object() else {
                return Err(format!(
                    "the example of an eachKey matcher must be a mapping, not {shown}"
                ));
            };
            for key in object.keys() {
                check_all(rules, RuleLogic::And, &Value::String(key.clone()))
                    .map_err(|e| format!("key {key:?}: {e}"))?;
            }
            Ok(())
        }
        MatchingRule::EachValue(rules) => {
            let values: Vec<&Value> = match value {
                Value::Object(o) => o.values().collect(),
                Value::Array(a) => a.iter().collect(),
                _ => {
                    return Err(format!(
                        "the example of an eachValue matcher must be a mapping or a list, not {shown}"
                    ));
                }
            };
            for v in values {
                check_all(rules, RuleLogic::And, v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Compiles a pattern, once per process (contracts repeat the same few patterns).
/// Shared (`Arc`), so that every use finds the regex's search cache warm: a cloned `Regex`
/// starts with a cold one, which costs more than the search.
pub(crate) fn compiled(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(regex) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(Arc::clone(regex));
    }
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let detail = detail.lines().last().unwrap_or(&detail).trim();
            let detail = detail.strip_prefix("error: ").unwrap_or(detail).to_string();
            format!("invalid regex {pattern:?}: {detail}")
        })?;
    let regex = Arc::new(regex);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), Arc::clone(&regex));
    Ok(regex)
}
