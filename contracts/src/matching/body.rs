//! A body against the contract's: missing, null and empty bodies as the specification's test
//! cases state them, then the content type (header, body, or sniffed), then the comparison
//! for that kind of content.
//!
//! | expected | actual | verdict |
//! |---|---|---|
//! | missing | anything | match (the contract says nothing) |
//! | null or empty | missing, null or empty | match |
//! | null or empty | a body | mismatch |
//! | a body | missing, null or empty | mismatch |
//! | a body | a body of another content type | mismatch |
//! | a body | a body | compared as JSON, XML, form, text or bytes |

use std::borrow::Cow;

use serde_json::Value;

use super::rules::{essence, shorten};
use super::text::{sniff_content_type, sniff_text};
use super::trie::RuleIndex;
use super::{Mismatch, Part, Sink, json, text, xml};
use crate::model::{Body, Category, MatchingRules};

/// What a body holds, once its content type is known.
enum Content<'b> {
    Json(Cow<'b, Value>),
    Text(Cow<'b, str>),
    Bytes(&'b [u8]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Xml,
    Form,
    Text,
    Bytes,
}

fn kind_of(content_type: &str) -> Kind {
    let e = essence(content_type);
    if e == "application/json"
        || e == "text/json"
        || e.ends_with("+json")
        || e == "application/json-rpc"
        || e == "application/jsonrequest"
    {
        Kind::Json
    } else if e == "application/xml" || e == "text/xml" || e.ends_with("+xml") {
        Kind::Xml
    } else if e == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if e.starts_with("text/")
        || e == "application/javascript"
        || e == "application/x-ndjson"
        || e.starts_with("multipart/")
    {
        Kind::Text
    } else {
        Kind::Bytes
    }
}

/// Is a body absent, null or empty (and which)?
fn state(body: &Body) -> Option<&'static str> {
    match body {
        Body::Missing => Some("missing"),
        Body::Null => Some("null"),
        Body::Empty => Some("empty"),
        Body::Text { text, .. } if text.is_empty() => Some("empty"),
        Body::Binary { bytes, .. } if bytes.is_empty() => Some("empty"),
        _ => None,
    }
}

/// The body's content type: the header's, the body's own, or sniffed from the content.
fn content_type_of(body: &Body, header: Option<&str>) -> String {
    if let Some(t) = header.filter(|t| !t.trim().is_empty()) {
        return t.to_string();
    }
    if let Some(t) = body.content_type().filter(|t| !t.trim().is_empty()) {
        return t.to_string();
    }
    match body {
        Body::Json {
            value: Value::String(s),
            ..
        } => match sniff_text(s) {
            // A JSON string that holds a document: Pact's V1–V3 bodies are raw text when
            // written as a string.
            "application/xml" | "text/html" => "application/xml".into(),
            "application/json" => "application/json".into(),
            _ => "text/plain".into(),
        },
        Body::Json { .. } => "application/json".into(),
        Body::Text { text, .. } => sniff_text(text).into(),
        Body::Binary { bytes, .. } => sniff_content_type(bytes).into(),
        _ => "application/octet-stream".into(),
    }
}

fn equivalent(expected: &str, actual: &str) -> bool {
    let (e, a) = (essence(expected), essence(actual));
    if e == a {
        return true;
    }
    let (ek, ak) = (kind_of(&e), kind_of(&a));
    matches!((ek, ak), (Kind::Json, Kind::Json) | (Kind::Xml, Kind::Xml))
}

fn content(body: &Body) -> Content<'_> {
    match body {
        Body::Json { value, .. } => Content::Json(Cow::Borrowed(value)),
        Body::Text { text, .. } => Content::Text(Cow::Borrowed(text)),
        Body::Binary { bytes, .. } => Content::Bytes(bytes),
        _ => Content::Text(Cow::Borrowed("")),
    }
}

impl<'b> Content<'b> {
    /// As text (JSON strings are their content; other JSON is serialised).
    fn text(&self) -> Result<Cow<'_, str>, String> {
        match self {
            Content::Json(v) => match v.as_ref() {
                Value::String(s) => Ok(Cow::Borrowed(s.as_str())),
                other => Ok(Cow::Owned(other.to_string())),
            },
            Content::Text(t) => Ok(Cow::Borrowed(t.as_ref())),
            Content::Bytes(b) => std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|e| format!("it is not UTF-8 text ({e})")),
        }
    }

    /// As a JSON document (text is parsed).
    fn json(&self) -> Result<Cow<'_, Value>, String> {
        match self {
            Content::Json(v) => match v.as_ref() {
                // A string holding a document (V1–V3 bodies written as a string).
                Value::String(s) if matches!(sniff_text(s), "application/json") => {
                    serde_json::from_str(s)
                        .map(Cow::Owned)
                        .map_err(|e| e.to_string())
                }
                _ => Ok(Cow::Borrowed(v.as_ref())),
            },
            other => {
                let text = other.text()?;
                serde_json::from_str(&text)
                    .map(Cow::Owned)
                    .map_err(|e| format!("it is not valid JSON ({e})"))
            }
        }
    }

    fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Content::Bytes(b) => Cow::Borrowed(b),
            Content::Text(t) => Cow::Borrowed(t.as_bytes()),
            Content::Json(v) => match v.as_ref() {
                Value::String(s) => Cow::Borrowed(s.as_bytes()),
                other => Cow::Owned(other.to_string().into_bytes()),
            },
        }
    }
}

fn summary(body: &Body) -> String {
    match body {
        Body::Json { value, .. } => shorten(&value.to_string(), 4096),
        Body::Text { text, .. } => shorten(text, 4096),
        Body::Binary { bytes, .. } => format!("{} bytes", bytes.len()),
        Body::Null => "null".into(),
        Body::Empty => String::new(),
        Body::Missing => String::new(),
    }
}

fn body_mismatch(sink: &mut Sink, expected: String, actual: String, message: String) {
    sink.push(Mismatch {
        part: Part::Body,
        path: "$".into(),
        rule: None,
        expected,
        actual,
        message,
    });
}

/// Compares bodies; `expected_type`/`actual_type` are the `Content-Type` headers (or message
/// metadata) when there are any.
pub(crate) fn match_body(
    expected: &Body,
    actual: &Body,
    expected_type: Option<&str>,
    actual_type: Option<&str>,
    rules: &MatchingRules,
    allow_unexpected: bool,
    sink: &mut Sink,
) {
    match (state(expected), state(actual)) {
        (Some("missing"), _) => return,
        (Some(_), Some(_)) => return,
        (Some(e), None) => {
            let what = if e == "null" {
                "no body (null)"
            } else {
                "an empty body"
            };
            body_mismatch(
                sink,
                summary(expected),
                summary(actual),
                format!(
                    "Expected {what} but received a body: {}",
                    shorten(&summary(actual), 200)
                ),
            );
            return;
        }
        (None, Some(a)) => {
            body_mismatch(
                sink,
                summary(expected),
                summary(actual),
                format!("Expected a body but it was {a}"),
            );
            return;
        }
        (None, None) => {}
    }

    let et = content_type_of(expected, expected_type);
    let at = content_type_of(actual, actual_type);
    if !equivalent(&et, &at) {
        sink.push(Mismatch {
            part: Part::Body,
            path: "$".into(),
            rule: None,
            expected: et.clone(),
            actual: at.clone(),
            message: format!(
                "Expected a body of type '{et}' but the actual content type was '{at}'"
            ),
        });
        return;
    }

    let index = RuleIndex::build(
        rules
            .category(Category::Body)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v)),
    );
    for error in &index.errors {
        body_mismatch(
            sink,
            String::new(),
            String::new(),
            format!("The contract has a body rule with an invalid path: {error}"),
        );
    }
    let (e, a) = (content(expected), content(actual));
    match kind_of(&et) {
        Kind::Json => match (e.json(), a.json()) {
            (Ok(ev), Ok(av)) => json::match_json(&ev, &av, &index, allow_unexpected, sink),
            (ev, av) => {
                for (which, err) in [("expected", ev.err()), ("actual", av.err())] {
                    if let Some(err) = err {
                        body_mismatch(
                            sink,
                            summary(expected),
                            summary(actual),
                            format!("The {which} body is not valid JSON: {err}"),
                        );
                    }
                }
            }
        },
        Kind::Xml => match (e.text(), a.text()) {
            (Ok(et), Ok(at)) => xml::match_xml(&et, &at, &index, allow_unexpected, sink),
            (et, at) => text_errors(sink, expected, actual, et.err(), at.err()),
        },
        Kind::Form => match (e.text(), a.text()) {
            (Ok(et), Ok(at)) => text::match_form(&et, &at, &index, allow_unexpected, sink),
            (et, at) => text_errors(sink, expected, actual, et.err(), at.err()),
        },
        Kind::Text => match (e.text(), a.text()) {
            (Ok(et), Ok(at)) => text::match_text(&et, &at, &index, sink),
            _ => text::match_bytes(&e.bytes(), &a.bytes(), &index, sink),
        },
        Kind::Bytes => text::match_bytes(&e.bytes(), &a.bytes(), &index, sink),
    }
}

fn text_errors(
    sink: &mut Sink,
    expected: &Body,
    actual: &Body,
    e: Option<String>,
    a: Option<String>,
) {
    for (which, err) in [("expected", e), ("actual", a)] {
        if let Some(err) = err {
            body_mismatch(
                sink,
                summary(expected),
                summary(actual),
                format!("The {which} body cannot be read: {err}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(e: &Body, a: &Body) -> Vec<Mismatch> {
        let mut sink = Sink::default();
        match_body(
            e,
            a,
            None,
            None,
            &MatchingRules::default(),
            false,
            &mut sink,
        );
        sink.finish()
    }

    fn json_body(v: Value) -> Body {
        Body::Json {
            value: v,
            content_type: None,
        }
    }

    #[test]
    fn missing_null_and_empty_bodies() {
        let some = json_body(json!({"a": 1}));
        assert!(run(&Body::Missing, &some).is_empty());
        assert!(run(&Body::Null, &Body::Missing).is_empty());
        assert!(run(&Body::Null, &Body::Null).is_empty());
        assert!(run(&Body::Empty, &Body::Empty).is_empty());
        assert!(!run(&Body::Null, &some).is_empty());
        assert!(!run(&Body::Empty, &some).is_empty());
        assert!(!run(&some, &Body::Missing).is_empty());
        assert!(!run(&some, &Body::Empty).is_empty());
        assert!(!run(&some, &Body::Null).is_empty());
    }

    #[test]
    fn content_types_must_agree() {
        let json = json_body(json!({"a": 1}));
        let xml = Body::Text {
            text: "<a/>".into(),
            content_type: Some("application/xml".into()),
        };
        let m = run(&json, &xml);
        assert_eq!(m.len(), 1);
        assert!(m[0].message.contains("application/xml"));
        let hal = Body::Json {
            value: json!({"a": 1}),
            content_type: Some("application/hal+json".into()),
        };
        assert!(run(&json, &hal).is_empty());
    }

    #[test]
    fn strings_holding_documents_are_sniffed() {
        let e = json_body(json!("<a x=\"1\"/>"));
        let a = Body::Text {
            text: "<a x=\"1\"/>".into(),
            content_type: Some("application/xml".into()),
        };
        assert!(run(&e, &a).is_empty());
        let e = json_body(json!("hello"));
        let a = Body::Text {
            text: "hello".into(),
            content_type: Some("text/plain".into()),
        };
        assert!(run(&e, &a).is_empty());
        let a = Body::Text {
            text: "{\"a\": 1}".into(),
            content_type: Some("application/json".into()),
        };
        assert!(run(&json_body(json!({"a": 1})), &a).is_empty());
        let bad = Body::Text {
            text: "{oops".into(),
            content_type: Some("application/json".into()),
        };
        assert!(!run(&json_body(json!({"a": 1})), &bad).is_empty());
    }
}
