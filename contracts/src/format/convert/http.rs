//! HTTP interactions: requests and responses, methods, paths, statuses, headers and query
//! parameters, and bodies with their inline matchers.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::matchers::{self, Lowered, Place};
use crate::format::tree::Node;
use crate::model::{
    Body, Category, Generators, Headers, HttpInteraction, HttpRequest, HttpResponse, Interaction,
    MatchingRules,
};

use super::contract::common;
use super::{At, Cx, Obj, R, scalar, string, text};

const HTTP_KEYS: &[&str] = &["description", "given", "request", "response"];
const REQUEST_KEYS: &[&str] = &["method", "path", "query", "headers", "body"];
const RESPONSE_KEYS: &[&str] = &["status", "headers", "body"];

pub(super) fn http_interaction(node: &Node, at: &At, cx: &Cx) -> R<Interaction> {
    let obj = Obj::new(node, at, "an HTTP interaction")?;
    obj.check("an HTTP interaction", HTTP_KEYS)?;
    let common = common(&obj, cx, "an HTTP interaction")?;
    let request_at = at.key("request");
    let request = request(obj.require("request", "an HTTP interaction")?, &request_at)?;
    let response_at = at.key("response");
    let response = response(
        obj.require("response", "an HTTP interaction")?,
        &response_at,
    )?;
    Ok(Interaction::Http(HttpInteraction {
        common,
        request,
        response,
    }))
}

fn request(node: &Node, at: &At) -> R<HttpRequest> {
    let obj = Obj::new(node, at, "request")?;
    obj.check("request", REQUEST_KEYS)?;
    let mut rules = MatchingRules::default();
    let mut generators = Generators::default();
    let method_at = at.key("method");
    let method = method(obj.require("method", "request")?, &method_at)?;
    let path_at = at.key("path");
    let path = path(
        obj.require("path", "request")?,
        &path_at,
        &mut rules,
        &mut generators,
    )?;
    let query = match obj.get("query") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("query"),
            Place::Query,
            &mut rules,
            &mut generators,
        )?),
    };
    let headers = match obj.get("headers") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("headers"),
            Place::Header,
            &mut rules,
            &mut generators,
        )?),
    };
    let body = match obj.get("body") {
        None => Body::Missing,
        Some(node) => body(
            node,
            &at.key("body"),
            content_type(headers.as_ref()),
            &mut rules,
            &mut generators,
        )?,
    };
    Ok(HttpRequest {
        method,
        path,
        query,
        headers,
        body,
        rules,
        generators,
    })
}

fn response(node: &Node, at: &At) -> R<HttpResponse> {
    let obj = Obj::new(node, at, "response")?;
    obj.check("response", RESPONSE_KEYS)?;
    let mut rules = MatchingRules::default();
    let mut generators = Generators::default();
    let status_at = at.key("status");
    let status = status(obj.require("status", "response")?, &status_at, &mut rules)?;
    let headers = match obj.get("headers") {
        None => None,
        Some(node) => Some(named_values(
            node,
            &at.key("headers"),
            Place::Header,
            &mut rules,
            &mut generators,
        )?),
    };
    let body = match obj.get("body") {
        None => Body::Missing,
        Some(node) => body(
            node,
            &at.key("body"),
            content_type(headers.as_ref()),
            &mut rules,
            &mut generators,
        )?,
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
        rules,
        generators,
    })
}

pub(super) fn method(node: &Node, at: &At) -> R<String> {
    let method = string(node, at, "method")?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(at.err(format!(
            "{method:?} is not an HTTP method (GET, POST, PUT, PATCH, DELETE, …)"
        )));
    }
    Ok(method.to_ascii_uppercase())
}

fn path(node: &Node, at: &At, rules: &mut MatchingRules, generators: &mut Generators) -> R<String> {
    let (example, lowered) = match node {
        Node::Map(map) if map.contains("$match") => matchers::named(map, at, Place::Path, "")?,
        other => (Value::String(string(other, at, "path")?.to_string()), None),
    };
    let Value::String(path) = example else {
        return Err(at.err("the example of a path must be a string"));
    };
    if !path.starts_with('/') {
        return Err(at.err(format!("a path starts with '/', found {path:?}")));
    }
    if let Some(lowered) = lowered {
        merge(lowered, Category::Path, "path", rules, generators);
    }
    Ok(path)
}

fn status(node: &Node, at: &At, rules: &mut MatchingRules) -> R<u16> {
    let example = match node {
        Node::Map(map) if map.contains("$match") => {
            let (example, lowered) = matchers::named(map, at, Place::Status, "")?;
            if let Some(lowered) = lowered {
                merge(
                    lowered,
                    Category::Status,
                    "status",
                    rules,
                    &mut Generators::default(),
                );
            }
            example
        }
        other => scalar(other, at)?,
    };
    match example.as_u64() {
        Some(code @ 100..=599) => Ok(code as u16),
        _ => Err(at.err(format!(
            "expected an HTTP status (100–599) for status, found {example}"
        ))),
    }
}

/// Headers, query parameters and message headers: name → value(s), each maybe a matcher.
pub(super) fn named_values(
    node: &Node,
    at: &At,
    place: Place,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) -> R<BTreeMap<String, Vec<String>>> {
    let what = place.what();
    let map = match node {
        Node::Map(map) => map,
        Node::Null => return Ok(BTreeMap::new()),
        other => {
            return Err(at.err(format!(
                "expected a mapping of names to values for {what}, found {}",
                other.kind()
            )));
        }
    };
    if let Some((i, n)) = map.first_duplicate(place == Place::Header) {
        let name = &map.entries[i].0;
        return Err(at
            .key_n(name, n)
            .key_err(format!("{} {name:?} given twice", place.singular())));
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &map.entries {
        let entry_at = at.key(name);
        if name.is_empty() {
            return Err(entry_at.key_err(format!("a {} name must not be empty", place.singular())));
        }
        if place == Place::Header
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(entry_at.key_err(format!("{name:?} is not a valid header name")));
        }
        let values = match value {
            Node::Map(map) if map.contains("$match") => {
                let (example, lowered) = matchers::named(map, &entry_at, place, name)?;
                if let Some(lowered) = lowered {
                    merge(
                        lowered,
                        place.category(),
                        place.generator_key(),
                        rules,
                        generators,
                    );
                }
                strings_of(&example)
            }
            Node::Seq(items) => {
                let mut values = Vec::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    let item_at = entry_at.index(j);
                    values.push(value_text(item, &item_at, &place)?);
                }
                values
            }
            other => vec![value_text(other, &entry_at, &place)?],
        };
        out.insert(name.clone(), values);
    }
    Ok(out)
}

fn value_text(node: &Node, at: &At, place: &Place) -> R<String> {
    match node {
        Node::Null => Err(at.err(format!(
            "a {} value must not be empty (write \"\" for an empty value)",
            place.singular()
        ))),
        Node::Seq(_) | Node::Map(_) => Err(at.err(format!(
            "expected a string for a {} value, found {}",
            place.singular(),
            node.kind()
        ))),
        other => text(other, at, "a value"),
    }
}

fn strings_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(strings_of).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// The content type a body is written for (the `content-type` header, any case).
fn content_type(headers: Option<&Headers>) -> Option<String> {
    headers?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.first().cloned())
}

/// Whether a content type is JSON (`application/json`, `application/problem+json`, …).
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/json") || essence.ends_with("+json")
}

fn body(
    node: &Node,
    at: &At,
    content_type: Option<String>,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) -> R<Body> {
    match node {
        Node::Null => return Ok(Body::Null),
        Node::Str(s) if s.is_empty() => return Ok(Body::Empty),
        _ => {}
    }
    let mut lowered = Lowered::default();
    let value = matchers::body(node, at, &mut lowered)?;
    let json = content_type.as_deref().is_none_or(is_json);
    let body = if json {
        Body::Json {
            value,
            content_type: Some(content_type.unwrap_or_else(|| "application/json".to_string())),
        }
    } else {
        match value {
            Value::String(text) => Body::Text { text, content_type },
            _ => {
                return Err(at.err(format!(
                    "a {} body is text: write it as a string",
                    content_type.unwrap_or_default()
                )));
            }
        }
    };
    merge(lowered, Category::Body, "body", rules, generators);
    Ok(body)
}

/// Adds lowered rules and generators to a part's rules, under `category`.
pub(super) fn merge(
    lowered: Lowered,
    category: Category,
    generator_key: &str,
    rules: &mut MatchingRules,
    generators: &mut Generators,
) {
    for (path, list) in lowered.rules {
        let slot = rules
            .categories
            .entry(category)
            .or_default()
            .entry(path)
            .or_default();
        for rule in list.rules {
            if !slot.rules.contains(&rule) {
                slot.rules.push(rule);
            }
        }
        slot.logic = list.logic;
    }
    if lowered.generators.is_empty() {
        return;
    }
    if category == Category::Path {
        // Pact writes the path's generator directly under `path`.
        if let Some((_, generator)) = lowered.generators.into_iter().next() {
            generators
                .categories
                .insert(generator_key.to_string(), generator);
        }
        return;
    }
    let entry = generators
        .categories
        .entry(generator_key.to_string())
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(map) = entry {
        map.extend(lowered.generators);
    }
}
