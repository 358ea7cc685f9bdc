//! The Pact specification's own test cases (`pact-specification`, branches `version-1` …
//! `version-4`, folder `testcases/{request,response,message}/<area>/<case>.json`):
//! `{"match": bool, "comment": "...", "expected": {...}, "actual": {...}}`, loaded into the
//! model so that the matching engine can be checked against the verdict.
//!
//! Layouts by version: V1–V2 queries are strings (V1 compares them as strings; V1.1 and
//! later as parameter maps), V2 rules are keyed by `$.body…`/`$.headers.NAME` paths, V3 rules
//! are grouped by category, V4 bodies are `{contentType, encoded, content}` and message rules
//! use the `content` category. Some files start with a UTF-8 byte order mark.

use std::path::Path;

use serde_json::{Map, Value};

use crate::matching::{self, Mismatch, Part};
use crate::model::{
    Body, Headers, HttpRequest, HttpResponse, MatchingRules, MessageContents, Query, SpecVersion,
};
use crate::pact::body::{content_type_of, from_v3, from_v4, kind};
use crate::pact::{PactError, rules};

/// What a case compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    Request,
    Response,
    Message,
}

/// One side of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseSide {
    Request(HttpRequest),
    Response(HttpResponse),
    Message(MessageContents),
}

/// A loaded test case.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecCase {
    pub spec: SpecVersion,
    pub kind: CaseKind,
    /// The verdict the specification expects.
    pub should_match: bool,
    pub comment: String,
    pub expected: CaseSide,
    pub actual: CaseSide,
    /// V1 requests: both query strings as written. V1 compares query strings in order
    /// (`a=1&b=2` is not `b=2&a=1`, a trailing `&` counts), which the model's query map
    /// cannot represent, so [`SpecCase::run`] compares these with
    /// [`matching::match_query_string`] instead of the maps.
    pub raw_query: Option<(String, String)>,
}

/// The spec version of a `version-N` folder (`version-1`, `version-1.1`, …, `version-4`).
pub fn folder_spec(name: &str) -> Option<SpecVersion> {
    Some(match name.strip_prefix("version-")? {
        "1" | "1.0" | "1.0.0" => SpecVersion::V1,
        "1.1" | "1.1.0" => SpecVersion::V1_1,
        "2" | "2.0" | "2.0.0" => SpecVersion::V2,
        "3" | "3.0" | "3.0.0" => SpecVersion::V3,
        "4" | "4.0" => SpecVersion::V4,
        _ => return None,
    })
}

/// The kind of cases in a `request`, `response` or `message` folder.
pub fn folder_kind(name: &str) -> Option<CaseKind> {
    Some(match name {
        "request" => CaseKind::Request,
        "response" => CaseKind::Response,
        "message" => CaseKind::Message,
        _ => return None,
    })
}

/// Loads a case file.
pub fn load_case(path: &Path, spec: SpecVersion, kind: CaseKind) -> Result<SpecCase, PactError> {
    let text = std::fs::read_to_string(path).map_err(|source| PactError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_case(&text, spec, kind).map_err(|e| e.in_file(path))
}

/// Parses a case.
pub fn parse_case(text: &str, spec: SpecVersion, kind: CaseKind) -> Result<SpecCase, PactError> {
    let text = text.trim_start_matches('\u{feff}');
    let doc: Value = serde_json::from_str(text).map_err(|e| PactError::Syntax {
        file: None,
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let root = doc.as_object().ok_or_else(|| {
        PactError::invalid("$", format!("a case is an object, found {}", kind_of(&doc)))
    })?;
    let should_match = root
        .get("match")
        .and_then(Value::as_bool)
        .ok_or_else(|| PactError::invalid("match", "a case needs \"match\": true or false"))?;
    let comment = root
        .get("comment")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let side = |name: &str| -> Result<&Map<String, Value>, PactError> {
        match root.get(name) {
            Some(Value::Object(o)) => Ok(o),
            Some(other) => Err(PactError::invalid(
                name,
                format!("expected an object, found {}", kind_of(other)),
            )),
            None => Err(PactError::invalid(name, "missing")),
        }
    };
    let (e, a) = (side("expected")?, side("actual")?);
    let (expected, actual) = match kind {
        CaseKind::Request => (
            CaseSide::Request(request(e, spec, "expected")?),
            CaseSide::Request(request(a, spec, "actual")?),
        ),
        CaseKind::Response => (
            CaseSide::Response(response(e, spec, "expected")?),
            CaseSide::Response(response(a, spec, "actual")?),
        ),
        CaseKind::Message => (
            CaseSide::Message(message(e, spec, "expected")?),
            CaseSide::Message(message(a, spec, "actual")?),
        ),
    };
    let raw_query = match (kind, spec, e.get("query"), a.get("query")) {
        (CaseKind::Request, SpecVersion::V1, Some(Value::String(x)), Some(Value::String(y))) => {
            Some((x.clone(), y.clone()))
        }
        _ => None,
    };
    Ok(SpecCase {
        spec,
        kind,
        should_match,
        comment,
        expected,
        actual,
        raw_query,
    })
}

fn kind_of(v: &Value) -> &'static str {
    kind(v)
}

impl SpecCase {
    /// Matches the actual side against the expected one.
    pub fn run(&self) -> Vec<Mismatch> {
        match (&self.expected, &self.actual) {
            (CaseSide::Request(e), CaseSide::Request(a)) => {
                let mut mismatches = matching::match_request(e, a, self.spec);
                if let Some((eq, aq)) = &self.raw_query {
                    mismatches.retain(|m| m.part != Part::Query);
                    mismatches.extend(matching::match_query_string(eq, aq));
                }
                mismatches
            }
            (CaseSide::Response(e), CaseSide::Response(a)) => {
                matching::match_response(e, a, self.spec)
            }
            (CaseSide::Message(e), CaseSide::Message(a)) => {
                matching::match_message(e, a, self.spec)
            }
            _ => vec![Mismatch {
                part: Part::Body,
                path: String::new(),
                rule: None,
                expected: String::new(),
                actual: String::new(),
                message: "the two sides of the case are of different kinds".into(),
            }],
        }
    }

    /// Does the engine's verdict agree with the specification's?
    pub fn passes(&self) -> bool {
        self.run().is_empty() == self.should_match
    }
}

fn string_field(o: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, PactError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(PactError::invalid(
            format!("{at}.{key}"),
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

fn headers(o: &Map<String, Value>, at: &str) -> Result<Option<Headers>, PactError> {
    let Some(value) = o.get("headers") else {
        return Ok(None);
    };
    let at = format!("{at}.headers");
    let object = value.as_object().ok_or_else(|| {
        PactError::invalid(&at, format!("expected an object, found {}", kind(value)))
    })?;
    let mut out = Headers::new();
    for (name, v) in object {
        let values = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(PactError::invalid(
                        format!("{at}['{name}']"),
                        format!("header values are strings, found {}", kind(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            other => {
                return Err(PactError::invalid(
                    format!("{at}['{name}']"),
                    format!("header values are strings, found {}", kind(other)),
                ));
            }
        };
        out.insert(name.clone(), values);
    }
    Ok(Some(out))
}

fn query(o: &Map<String, Value>, at: &str) -> Result<Option<Query>, PactError> {
    let at = format!("{at}.query");
    match o.get("query") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(matching::parse_query(s))),
        Some(Value::Object(params)) => {
            let mut out = Query::new();
            for (name, v) in params {
                let values = match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        })
                        .collect(),
                    other => {
                        return Err(PactError::invalid(
                            format!("{at}['{name}']"),
                            format!("query values are strings or arrays, found {}", kind(other)),
                        ));
                    }
                };
                out.insert(name.clone(), values);
            }
            Ok(Some(out))
        }
        Some(other) => Err(PactError::invalid(
            at,
            format!("expected a string or an object, found {}", kind(other)),
        )),
    }
}

fn matching_rules(o: &Map<String, Value>, at: &str) -> Result<MatchingRules, PactError> {
    let Some(value) = o.get("matchingRules") else {
        return Ok(MatchingRules::default());
    };
    let at = format!("{at}.matchingRules");
    // Pact's own rule: V2 keys are paths starting with `$`.
    let v2 = value
        .as_object()
        .and_then(|m| m.keys().next())
        .is_some_and(|k| k.starts_with('$'));
    if v2 {
        rules::parse_v2(value, &at)
    } else {
        rules::parse_v3(value, &at)
    }
}

fn body(
    o: &Map<String, Value>,
    key: &str,
    content_type: Option<&str>,
    spec: SpecVersion,
    at: &str,
) -> Result<Body, PactError> {
    if spec == SpecVersion::V4 {
        from_v4(o.get(key), content_type, &format!("{at}.{key}"))
    } else {
        Ok(from_v3(o.get(key), content_type))
    }
}

fn request(o: &Map<String, Value>, spec: SpecVersion, at: &str) -> Result<HttpRequest, PactError> {
    let headers = headers(o, at)?;
    let content_type = content_type_of(headers.as_ref());
    Ok(HttpRequest {
        method: string_field(o, "method", at)?.unwrap_or_else(|| "GET".into()),
        path: string_field(o, "path", at)?.unwrap_or_else(|| "/".into()),
        query: query(o, at)?,
        body: body(o, "body", content_type.as_deref(), spec, at)?,
        headers,
        rules: matching_rules(o, at)?,
        ..HttpRequest::default()
    })
}

fn response(
    o: &Map<String, Value>,
    spec: SpecVersion,
    at: &str,
) -> Result<HttpResponse, PactError> {
    let headers = headers(o, at)?;
    let content_type = content_type_of(headers.as_ref());
    let status = match o.get("status") {
        None | Some(Value::Null) => 200,
        Some(v) => v
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| {
                PactError::invalid(
                    format!("{at}.status"),
                    format!("expected a status code, found {v}"),
                )
            })?,
    };
    Ok(HttpResponse {
        status,
        body: body(o, "body", content_type.as_deref(), spec, at)?,
        headers,
        rules: matching_rules(o, at)?,
        ..HttpResponse::default()
    })
}

fn message(
    o: &Map<String, Value>,
    spec: SpecVersion,
    at: &str,
) -> Result<MessageContents, PactError> {
    let metadata: std::collections::BTreeMap<String, Value> =
        match o.get("metadata").or_else(|| o.get("metaData")) {
            None | Some(Value::Null) => Default::default(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(other) => {
                return Err(PactError::invalid(
                    format!("{at}.metadata"),
                    format!("expected an object, found {}", kind(other)),
                ));
            }
        };
    let content_type = metadata
        .iter()
        .find(|(k, _)| {
            matches!(
                k.to_ascii_lowercase().as_str(),
                "contenttype" | "content-type"
            )
        })
        .and_then(|(_, v)| v.as_str().map(str::to_string));
    Ok(MessageContents {
        contents: body(o, "contents", content_type.as_deref(), spec, at)?,
        metadata,
        rules: matching_rules(o, at)?,
        ..MessageContents::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders() {
        assert_eq!(folder_spec("version-1.1"), Some(SpecVersion::V1_1));
        assert_eq!(folder_spec("version-4"), Some(SpecVersion::V4));
        assert_eq!(folder_spec("v4"), None);
        assert_eq!(folder_kind("message"), Some(CaseKind::Message));
        assert_eq!(folder_kind("body"), None);
    }

    #[test]
    fn loads_a_v2_request_with_rules_and_a_bom() {
        let text = "\u{feff}{\"match\": true, \"comment\": \"c\",
          \"expected\": {\"method\": \"POST\", \"path\": \"/\", \"query\": \"a=1&b=2\",
            \"headers\": {\"Content-Type\": \"application/json\"},
            \"matchingRules\": {\"$.body.animals\": {\"min\": 1, \"match\": \"type\"}},
            \"body\": {\"animals\": [{\"name\": \"Fred\"}]}},
          \"actual\": {\"method\": \"POST\", \"path\": \"/\", \"query\": \"b=2&a=1\",
            \"headers\": {\"Content-Type\": \"application/json\"},
            \"body\": {\"animals\": [{\"name\": \"Mary\"}, {\"name\": \"Sue\"}]}}}";
        let case = parse_case(text, SpecVersion::V2, CaseKind::Request).expect("loads");
        assert!(case.should_match);
        assert!(case.raw_query.is_none());
        assert!(case.passes(), "{:?}", case.run());
        let v1 = parse_case(text, SpecVersion::V1, CaseKind::Request).expect("loads");
        assert!(v1.raw_query.is_some());
        assert!(!v1.passes(), "V1 compares query strings in order");
    }

    #[test]
    fn loads_v4_bodies_and_messages() {
        let text = r#"{"match": false, "comment": "",
          "expected": {"contents": {"contentType": "application/json", "encoded": false, "content": {"a": 1}},
                       "matchingRules": {"content": {"$.a": {"matchers": [{"match": "type"}]}}}},
          "actual": {"contents": {"contentType": "application/json", "encoded": false, "content": {"a": "x"}}}}"#;
        let case = parse_case(text, SpecVersion::V4, CaseKind::Message).expect("loads");
        let CaseSide::Message(m) = &case.expected else {
            panic!("message")
        };
        assert!(matches!(m.contents, Body::Json { .. }));
        assert!(case.passes());
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse_case(
            "{\"match\": true, \"expected\": {\"status\": \"x\"}, \"actual\": {}}",
            SpecVersion::V3,
            CaseKind::Response,
        )
        .expect_err("bad status")
        .to_string();
        assert!(e.contains("expected.status"), "{e}");
        let e = parse_case(
            "{\"expected\": {}, \"actual\": {}}",
            SpecVersion::V3,
            CaseKind::Response,
        )
        .expect_err("no verdict")
        .to_string();
        assert!(e.contains("match"), "{e}");
        assert!(parse_case("{", SpecVersion::V3, CaseKind::Response).is_err());
    }
}
