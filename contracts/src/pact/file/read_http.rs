//! Reading the HTTP parts of a Pact document: requests, responses, their bodies, query strings
//! and headers (split into values as Pact does).

use serde_json::{Map, Value};

use super::read::{as_object, expected, generators, join, rules_of, scalar};
use crate::model::{Body, Headers, HttpRequest, HttpResponse, Query};
use crate::pact::PactError;
use crate::pact::body;

pub(super) fn request(value: &Value, at: &str, v4: bool) -> Result<HttpRequest, PactError> {
    let object = as_object(value, at, "a request (a JSON object)")?;
    let method = match object.get("method") {
        None | Some(Value::Null) => "GET".to_string(),
        Some(Value::String(m)) => m.to_ascii_uppercase(),
        Some(other) => return Err(expected(&join(at, "method"), "a string", other)),
    };
    let path = match object.get("path") {
        None | Some(Value::Null) => "/".to_string(),
        Some(Value::String(p)) => p.clone(),
        Some(other) => return Err(expected(&join(at, "path"), "a string", other)),
    };
    let query = query(object.get("query"), &join(at, "query"))?;
    let headers = headers(object.get("headers"), &join(at, "headers"))?;
    let body = http_body(object, at, headers.as_ref(), v4)?;
    let rules = rules_of(object, at, &["matchingRules", "requestMatchingRules"])?;
    let generators = generators(object.get("generators"), &join(at, "generators"))?;
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

pub(super) fn response(value: &Value, at: &str, v4: bool) -> Result<HttpResponse, PactError> {
    let object = as_object(value, at, "a response (a JSON object)")?;
    let status_at = join(at, "status");
    let status = match object.get("status") {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                PactError::invalid(
                    status_at.clone(),
                    format!("expected an HTTP status code (100 to 999), found {n}"),
                )
            })?,
        Some(other) => return Err(expected(&status_at, "an HTTP status code", other)),
    };
    let headers = headers(object.get("headers"), &join(at, "headers"))?;
    let body = http_body(object, at, headers.as_ref(), v4)?;
    let rules = rules_of(object, at, &["matchingRules", "responseMatchingRules"])?;
    let generators = generators(object.get("generators"), &join(at, "generators"))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
        rules,
        generators,
    })
}

/// The `body` of a request or response, in the V1–V3 or the V4 layout.
pub(super) fn http_body(
    object: &Map<String, Value>,
    at: &str,
    headers: Option<&Headers>,
    v4: bool,
) -> Result<Body, PactError> {
    let content_type = body::content_type_of(headers);
    let value = object.get("body");
    if v4 {
        v4_body(value, content_type.as_deref(), &join(at, "body"))
    } else {
        Ok(body::from_v3(value, content_type.as_deref()))
    }
}

/// A V4 body; an object that is not in the V4 layout (a V3 body in a V4 file) is an error
/// rather than a silently missing body.
pub(super) fn v4_body(
    value: Option<&Value>,
    content_type: Option<&str>,
    at: &str,
) -> Result<Body, PactError> {
    if let Some(Value::Object(o)) = value
        && !o.contains_key("content")
        && o.keys()
            .any(|k| !matches!(k.as_str(), "contentType" | "encoded" | "contentTypeHint"))
    {
        return Err(PactError::invalid(
            at,
            "a V4 body is {\"content\": …, \"contentType\": …, \"encoded\": false}; this object has no `content` (a V3 body in a V4 file?)",
        ));
    }
    body::from_v4(value, content_type, at)
}

/// `query`: a string (V1/V2, `a=1&b=2`) or a map of arrays or strings (V3, V4).
fn query(value: Option<&Value>, at: &str) -> Result<Option<Query>, PactError> {
    let mut query = Query::new();
    match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => {
            for (name, value) in form_urlencoded::parse(s.trim_start_matches('?').as_bytes()) {
                query
                    .entry(name.into_owned())
                    .or_default()
                    .push(value.into_owned());
            }
        }
        Some(Value::Object(m)) => {
            for (name, values) in m {
                let name_at = join(at, name);
                let list = query.entry(name.clone()).or_default();
                match values {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            // Pact writes a parameter without a value (`?flag`) as null.
                            list.push(match item {
                                Value::Null => String::new(),
                                v => scalar(v, &format!("{name_at}[{i}]"))?,
                            });
                        }
                    }
                    v => list.push(scalar(v, &name_at)?),
                }
            }
        }
        Some(other) => {
            return Err(expected(at, "a query string or an object of arrays", other));
        }
    }
    Ok(Some(query))
}

/// `headers`: values as strings (V1–V3; known multi-value headers are split on commas as Pact
/// does) or arrays of strings (V4).
fn headers(value: Option<&Value>, at: &str) -> Result<Option<Headers>, PactError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(expected(at, "an object", other)),
    };
    let mut headers = Headers::new();
    for (name, values) in object {
        let name_at = join(at, name);
        let list: &mut Vec<String> = headers.entry(name.clone()).or_default();
        match values {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    list.push(scalar(item, &format!("{name_at}[{i}]"))?);
                }
            }
            Value::String(s) => list.extend(split_header(name, s)),
            v => list.push(scalar(v, &name_at)?),
        }
    }
    Ok(Some(headers))
}

/// Pact's list of headers whose values are comma-separated lists (others are kept whole, so a
/// date or a user agent is not cut).
const MULTI_VALUE_HEADERS: [&str; 12] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-request-headers",
    "allow",
    "cache-control",
    "if-match",
    "if-none-match",
    "vary",
];

pub(super) fn split_header(name: &str, value: &str) -> Vec<String> {
    if MULTI_VALUE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        value.split(',').map(|v| v.trim().to_string()).collect()
    } else {
        vec![value.trim().to_string()]
    }
}
