//! The router: control endpoints under `/__parley/` (verify, reset, publish, interactions) and
//! the fallback that answers every other request from the contracts.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use parley_contracts::matching::parse_query;
use parley_contracts::{Body, Headers, HttpRequest};
use serde_json::json;

use super::{MAX_BODY, Shared};
use crate::mock::{CORRELATION_HEADER, PublishError, PublishRequest, STATE_HEADER, publish};
use crate::verify::http::body_from_bytes;

/// The router: control endpoints under `/__parley/`, everything else matched against the
/// contracts.
pub(in crate::mock) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__parley/verify", get(verify))
        .route("/__parley/reset", post(reset))
        .route("/__parley/publish", post(publish_handler))
        .route("/__parley/interactions", get(interactions))
        .route("/__parley/{*rest}", any(unknown_control))
        .fallback(mock)
        .with_state(shared)
}

fn error_json(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

async fn mock(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body (at most {MAX_BODY} bytes): {e}"),
            );
        }
    };
    let actual = to_model(&parts, &bytes);
    let state = parts
        .headers
        .get(STATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match shared.choose(&actual, state) {
        Ok(i) => shared.answer(i, &actual),
        Err(closest) => shared.unmatched(&parts, &actual, closest),
    }
}

/// The request as the matching engine reads it.
fn to_model(parts: &Parts, bytes: &Bytes) -> HttpRequest {
    let mut headers = Headers::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    HttpRequest {
        method: parts.method.as_str().to_string(),
        path: percent_decode(parts.uri.path()),
        query: parts.uri.query().map(parse_query),
        headers: Some(headers),
        body: if bytes.is_empty() {
            Body::Missing
        } else {
            body_from_bytes(bytes, content_type)
        },
        ..HttpRequest::default()
    }
}

/// `%XX` sequences decoded (as contracts write paths); the path as sent when that is not
/// UTF-8.
pub(super) fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| path.to_string())
}

async fn verify(State(shared): State<Arc<Shared>>) -> Response {
    let report = shared.report();
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    (status, axum::Json(report)).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}

async fn interactions(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.interactions()).into_response()
}

async fn unknown_control(request: Request) -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        format!(
            "no control endpoint {} {}; they are: GET /__parley/verify, POST /__parley/reset, \
             POST /__parley/publish, GET /__parley/interactions",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn publish_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request: PublishRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PublishRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error_json(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the body must be a JSON object with any of \"description\", \"subject\", \
                         \"consumer\", \"correlationId\": {e}"
                    ),
                );
            }
        }
    };
    if request.correlation_id.is_none() {
        request.correlation_id = headers
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    match publish::publish(&shared, &request).await {
        Ok(published) => axum::Json(json!({ "published": published })).into_response(),
        Err(e @ PublishError::NoNats) => error_json(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e @ PublishError::NothingMatches { .. }) => {
            error_json(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e @ PublishError::Nats(_)) => error_json(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
