//! The contract model as HTTP and as report views: the response an interaction answers
//! with, a body or mismatch as reports show it, and how far a request is from an interaction.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_contracts::matching::{Mismatch, Part};
use parley_contracts::{Body, HttpResponse};
use serde_json::Value;

use crate::mock::{INTERACTION_HEADER, MismatchView};

/// How far a request is from an interaction: a different path counts most, then a different
/// method, then each other mismatch.
pub(super) fn distance(mismatches: &[Mismatch]) -> u64 {
    mismatches
        .iter()
        .map(|m| match m.part {
            Part::Path => 10_000,
            Part::Method => 1000,
            _ => 1,
        })
        .sum()
}

pub(super) fn view(m: &Mismatch) -> MismatchView {
    MismatchView {
        part: m.part.to_string(),
        path: m.path.clone(),
        rule: m.rule.clone(),
        expected: m.expected.clone(),
        actual: m.actual.clone(),
        message: m.message.clone(),
    }
}

/// A body for reports: JSON as JSON, text as a string, bytes described.
pub(super) fn body_value(body: &Body) -> Option<Value> {
    match body {
        Body::Missing => None,
        Body::Null => Some(Value::Null),
        Body::Empty => Some(Value::String(String::new())),
        Body::Json { value, .. } => Some(value.clone()),
        Body::Text { text, .. } => Some(Value::String(text.clone())),
        Body::Binary {
            bytes,
            content_type,
        } => Some(Value::String(format!(
            "<{} bytes of {}>",
            bytes.len(),
            content_type.as_deref().unwrap_or("unknown type")
        ))),
    }
}

/// The model's response as an HTTP response (a content type added when the contract has
/// none; the `x-parley-interaction` header naming the interaction).
pub(super) fn to_http(response: &HttpResponse, description: &str) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (name, values) in response.headers.iter().flatten() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&values.join(", ")),
        ) else {
            tracing::warn!(header = %name, "a response header the contract states is not valid HTTP; left out");
            continue;
        };
        headers.append(name, value);
    }
    let (bytes, default_type): (Vec<u8>, Option<&str>) = match &response.body {
        Body::Missing | Body::Empty => (Vec::new(), None),
        Body::Null => (b"null".to_vec(), Some("application/json")),
        Body::Json {
            value,
            content_type,
        } => (
            serde_json::to_vec(value).unwrap_or_default(),
            Some(content_type.as_deref().unwrap_or("application/json")),
        ),
        Body::Text { text, content_type } => (
            text.clone().into_bytes(),
            Some(
                content_type
                    .as_deref()
                    .unwrap_or("text/plain; charset=utf-8"),
            ),
        ),
        Body::Binary {
            bytes,
            content_type,
        } => (
            bytes.clone(),
            Some(
                content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            ),
        ),
    };
    if !headers.contains_key(header::CONTENT_TYPE)
        && let Some(value) = default_type.and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(description) {
        headers.insert(HeaderName::from_static(INTERACTION_HEADER), value);
    }
    (status, headers, bytes).into_response()
}
