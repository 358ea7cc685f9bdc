//! Requests and responses: method, path, query, headers, status, then the body.
//!
//! - Method: case-insensitive (or the `method` rules).
//! - Path: exact (or the `path` rules).
//! - Query: names in any order, each name's values in order; requests may not have
//!   parameters the contract does not mention. Rules are per parameter name.
//! - Headers: names case-insensitive; values split on commas and trimmed (so `a,b` equals
//!   `a, b` but not `b, a`); `Content-Type` and `Accept` compare media types by essence and
//!   parameters (in any order, charset case-insensitive, extra actual parameters allowed);
//!   unexpected headers are fine. Rules are per header name (case-insensitive).
//! - Status: equality (or the `status` rules, e.g. `statusCode` classes).

use std::collections::BTreeMap;

use crate::model::{
    Category, Headers, HttpRequest, HttpResponse, MatchingRules, Query, RuleList, SpecVersion,
};

use super::path::{Token, parse};
use super::rules::{self, apply_list, shorten};
use super::text::parse_form;
use super::trie::CList;
use super::{Mismatch, Part, Sink, body};

/// Does the actual request satisfy the expected one? Empty: yes.
pub fn match_request(
    expected: &HttpRequest,
    actual: &HttpRequest,
    spec: SpecVersion,
) -> Vec<Mismatch> {
    let _ = spec;
    let mut sink = Sink::default();
    match_method(expected, actual, &mut sink);
    match_path(&expected.path, &actual.path, &expected.rules, &mut sink);
    match_query(
        expected.query.as_ref(),
        actual.query.as_ref(),
        &expected.rules,
        &mut sink,
    );
    match_headers(
        expected.headers.as_ref(),
        actual.headers.as_ref(),
        &expected.rules,
        &mut sink,
    );
    body::match_body(
        &expected.body,
        &actual.body,
        content_type(expected.headers.as_ref()).as_deref(),
        content_type(actual.headers.as_ref()).as_deref(),
        &expected.rules,
        false,
        &mut sink,
    );
    sink.finish()
}

/// Does the actual response satisfy the expected one? Empty: yes.
pub fn match_response(
    expected: &HttpResponse,
    actual: &HttpResponse,
    spec: SpecVersion,
) -> Vec<Mismatch> {
    let _ = spec;
    let mut sink = Sink::default();
    match_status(expected.status, actual.status, &expected.rules, &mut sink);
    match_headers(
        expected.headers.as_ref(),
        actual.headers.as_ref(),
        &expected.rules,
        &mut sink,
    );
    body::match_body(
        &expected.body,
        &actual.body,
        content_type(expected.headers.as_ref()).as_deref(),
        content_type(actual.headers.as_ref()).as_deref(),
        &expected.rules,
        true,
        &mut sink,
    );
    sink.finish()
}

/// Pact V1 compares query strings as written: the same parameters in the same order
/// (values percent-decoded, so `a=b%3Dc` equals `a=b=c`; a trailing `&` counts). The model's
/// query map cannot hold that order, so callers that have the raw V1 strings use this.
pub fn match_query_string(expected: &str, actual: &str) -> Vec<Mismatch> {
    let decode = |s: &str| -> Vec<(String, String)> {
        s.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let dec = |x: &str| {
                    form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (dec(k), dec(v))
            })
            .collect()
    };
    let (e, a) = (decode(expected), decode(actual));
    if expected == actual || e == a {
        return Vec::new();
    }
    vec![Mismatch {
        part: Part::Query,
        path: String::new(),
        rule: Some("equality".into()),
        expected: expected.to_string(),
        actual: actual.to_string(),
        message: format!(
            "Expected the query string '{expected}' but received '{actual}' (Pact V1 compares query strings in order)"
        ),
    }]
}

fn content_type(headers: Option<&Headers>) -> Option<String> {
    headers?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, values)| values.join(", "))
}

/// The rule list of a category without paths (`method`, `path`, `status`).
fn whole_category(rules: &MatchingRules, category: Category) -> Option<&RuleList> {
    let entries = rules.category(category)?;
    entries
        .get("")
        .or_else(|| entries.get("$"))
        .or_else(|| entries.values().next())
        .filter(|l| !l.rules.is_empty())
}

/// Rule lists by name for categories keyed by name (`header`, `query`, `metadata`): `Name`,
/// `$.Name` and `$['Name']` all name `Name`.
pub(crate) fn named_rules(
    rules: &MatchingRules,
    category: Category,
    fold_case: bool,
) -> BTreeMap<String, &RuleList> {
    let mut out = BTreeMap::new();
    for (key, list) in rules.category(category).into_iter().flatten() {
        if list.rules.is_empty() {
            continue;
        }
        let name = match parse(key).as_deref() {
            Ok([Token::Root, Token::Field(name), ..]) => name.clone(),
            _ => key.clone(),
        };
        let name = if fold_case {
            name.to_ascii_lowercase()
        } else {
            name
        };
        out.entry(name).or_insert(list);
    }
    out
}

fn push(
    sink: &mut Sink,
    part: Part,
    path: &str,
    rule: Option<String>,
    expected: &str,
    actual: &str,
    message: String,
) {
    sink.push(Mismatch {
        part,
        path: path.to_string(),
        rule,
        expected: shorten(expected, 4096),
        actual: shorten(actual, 4096),
        message,
    });
}

/// Applies a rule list to one string value, recording failures.
#[allow(clippy::too_many_arguments)]
fn apply_str(
    sink: &mut Sink,
    part: Part,
    path: &str,
    list: &RuleList,
    expected: &str,
    actual: &str,
    what: &str,
) {
    let compiled = CList::compile(list);
    if let Err(f) = apply_list(&compiled, |r| rules::match_str(r, expected, actual, false)) {
        for message in f.messages {
            push(
                sink,
                part,
                path,
                Some(f.rule.clone()),
                expected,
                actual,
                format!("{what}: {message}"),
            );
        }
    }
}

fn match_method(expected: &HttpRequest, actual: &HttpRequest, sink: &mut Sink) {
    if let Some(list) = whole_category(&expected.rules, Category::Method) {
        apply_str(
            sink,
            Part::Method,
            "",
            list,
            &expected.method,
            &actual.method,
            "Method",
        );
    } else if !expected.method.eq_ignore_ascii_case(&actual.method) {
        push(
            sink,
            Part::Method,
            "",
            Some("equality".into()),
            &expected.method,
            &actual.method,
            format!(
                "Expected method {} but received {}",
                expected.method, actual.method
            ),
        );
    }
}

fn match_path(expected: &str, actual: &str, rules: &MatchingRules, sink: &mut Sink) {
    if let Some(list) = whole_category(rules, Category::Path) {
        apply_str(sink, Part::Path, "", list, expected, actual, "Path");
    } else if expected != actual {
        push(
            sink,
            Part::Path,
            "",
            Some("equality".into()),
            expected,
            actual,
            format!("Expected path '{expected}' but received '{actual}'"),
        );
    }
}

fn match_status(expected: u16, actual: u16, rules: &MatchingRules, sink: &mut Sink) {
    if let Some(list) = whole_category(rules, Category::Status) {
        let compiled = CList::compile(list);
        if let Err(f) = apply_list(&compiled, |r| rules::match_status(r, expected, actual)) {
            for message in f.messages {
                push(
                    sink,
                    Part::Status,
                    "",
                    Some(f.rule.clone()),
                    &expected.to_string(),
                    &actual.to_string(),
                    message,
                );
            }
        }
    } else if expected != actual {
        push(
            sink,
            Part::Status,
            "",
            Some("equality".into()),
            &expected.to_string(),
            &actual.to_string(),
            format!("Expected status {expected} but received {actual}"),
        );
    }
}

fn match_query(
    expected: Option<&Query>,
    actual: Option<&Query>,
    rules: &MatchingRules,
    sink: &mut Sink,
) {
    let empty = Query::new();
    let e = expected.unwrap_or(&empty);
    let a = actual.unwrap_or(&empty);
    let named = named_rules(rules, Category::Query, false);
    for (name, evals) in e {
        let Some(avals) = a.get(name) else {
            push(
                sink,
                Part::Query,
                name,
                None,
                &evals.join(", "),
                "",
                format!("Expected query parameter '{name}' but it was missing"),
            );
            continue;
        };
        match_values(
            sink,
            Part::Query,
            name,
            evals,
            avals,
            named.get(name).copied(),
            "query parameter",
        );
    }
    for (name, avals) in a {
        if !e.contains_key(name) {
            push(
                sink,
                Part::Query,
                name,
                None,
                "",
                &avals.join(", "),
                format!(
                    "Unexpected query parameter '{name}' = '{}'",
                    avals.join(", ")
                ),
            );
        }
    }
}

/// Compares the values of one query parameter (or form field, or header with a rule):
/// in order, with the rules if any (type rules: any number of values like the example's).
fn match_values(
    sink: &mut Sink,
    part: Part,
    name: &str,
    evals: &[String],
    avals: &[String],
    list: Option<&RuleList>,
    what: &str,
) {
    let Some(list) = list else {
        if evals != avals {
            let message = if evals.len() != avals.len() {
                format!(
                    "Expected {what} '{name}' to have value(s) [{}] but received [{}]",
                    evals.join(", "),
                    avals.join(", ")
                )
            } else {
                let i = evals
                    .iter()
                    .zip(avals)
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                format!(
                    "Expected {what} '{name}' to have '{}' at position {} but received '{}'",
                    evals[i], i, avals[i]
                )
            };
            push(
                sink,
                part,
                name,
                Some("equality".into()),
                &evals.join(", "),
                &avals.join(", "),
                message,
            );
        }
        return;
    };
    let compiled = CList::compile(list);
    if compiled.has_type {
        let ev = serde_json::Value::Array(
            evals
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
        );
        let av = serde_json::Value::Array(
            avals
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
        );
        if let Err(f) = apply_list(&compiled, |r| {
            rules::match_collection(r, &ev, &av, avals.len(), false, false)
        }) {
            for message in f.messages {
                push(
                    sink,
                    part,
                    name,
                    Some(f.rule.clone()),
                    &evals.join(", "),
                    &avals.join(", "),
                    message,
                );
            }
        }
    } else if evals.len() != avals.len() {
        push(
            sink,
            part,
            name,
            None,
            &evals.join(", "),
            &avals.join(", "),
            format!(
                "Expected {} value(s) for {what} '{name}' but received {}: [{}]",
                evals.len(),
                avals.len(),
                avals.join(", ")
            ),
        );
    }
    for (i, av) in avals.iter().enumerate() {
        let Some(ev) = evals.get(i).or(evals.first()) else {
            continue;
        };
        if let Err(f) = apply_list(&compiled, |r| rules::match_str(r, ev, av, false)) {
            for message in f.messages {
                push(
                    sink,
                    part,
                    name,
                    Some(f.rule.clone()),
                    ev,
                    av,
                    format!("{} '{name}': {message}", capitalise(what)),
                );
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn match_headers(
    expected: Option<&Headers>,
    actual: Option<&Headers>,
    rules: &MatchingRules,
    sink: &mut Sink,
) {
    let Some(expected) = expected else { return };
    let named = named_rules(rules, Category::Header, true);
    for (name, evals) in expected {
        let avals: Vec<&String> = actual
            .into_iter()
            .flatten()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v)
            .collect();
        if avals.is_empty() {
            push(
                sink,
                Part::Header,
                name,
                None,
                &evals.join(", "),
                "",
                format!("Expected header '{name}' but it was missing"),
            );
            continue;
        }
        let avals: Vec<String> = avals.into_iter().map(|v| v.trim().to_string()).collect();
        let evals_trimmed: Vec<String> = evals.iter().map(|v| v.trim().to_string()).collect();
        if let Some(list) = named.get(&name.to_ascii_lowercase()) {
            if evals_trimmed.len() == 1 && avals.len() == 1 {
                apply_str(
                    sink,
                    Part::Header,
                    name,
                    list,
                    &evals_trimmed[0],
                    &avals[0],
                    &format!("Header '{name}'"),
                );
            } else {
                match_values(
                    sink,
                    Part::Header,
                    name,
                    &evals_trimmed,
                    &avals,
                    Some(list),
                    "header",
                );
            }
            continue;
        }
        let ev = evals_trimmed.join(", ");
        let av = avals.join(", ");
        let lower = name.to_ascii_lowercase();
        let problem = if lower == "content-type" {
            media_type_difference(&ev, &av)
        } else if lower == "accept" {
            let (es, as_) = (split_commas(&ev), split_commas(&av));
            if es.len() != as_.len() {
                Some(format!(
                    "expected {} media range(s), received {}",
                    es.len(),
                    as_.len()
                ))
            } else {
                es.iter()
                    .zip(&as_)
                    .find_map(|(x, y)| media_type_difference(x, y))
            }
        } else if split_commas(&ev) != split_commas(&av) {
            Some("the values differ".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            push(
                sink,
                Part::Header,
                name,
                Some("equality".into()),
                &ev,
                &av,
                format!("Expected header '{name}' to be '{ev}' but received '{av}' ({problem})"),
            );
        }
    }
}

fn split_commas(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// How two media types (`type/subtype; param=value`) differ, if they do: the essence must be
/// equal (case-sensitively, as Pact compares header values), and every expected parameter
/// present in the actual with the same value (case-insensitively); parameter order does not
/// matter and the actual may have more.
pub(crate) fn media_type_difference(expected: &str, actual: &str) -> Option<String> {
    let parse = |v: &str| {
        let mut parts = v.split(';').map(str::trim).filter(|p| !p.is_empty());
        let essence = parts.next().unwrap_or_default().to_string();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_string(),
                )
            })
            .collect();
        (essence, params)
    };
    let (ee, ep) = parse(expected);
    let (ae, ap) = parse(actual);
    if ee != ae {
        return Some(format!("media type {ee} is not {ae}"));
    }
    for (k, v) in &ep {
        match ap.iter().find(|(ak, _)| ak == k) {
            None => return Some(format!("parameter {k} is missing")),
            Some((_, av)) => {
                if !v.eq_ignore_ascii_case(av) {
                    return Some(format!("parameter {k} is {av}, not {v}"));
                }
            }
        }
    }
    None
}

/// Parses a query string into the model's map (names with their values in order).
pub fn parse_query(query: &str) -> Query {
    parse_form(query).into_iter().collect()
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
