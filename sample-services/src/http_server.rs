//! The server side of every sample service: one tracing layer and problem+json errors.
//!
//! [`traced`] is the axum middleware every router stacks: it extracts the W3C context and the
//! correlation ID (or makes one), opens an HTTP server span with the semantic-convention
//! attributes, runs the handler inside it and echoes `x-correlation-id` on the response.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::propagation::{CORRELATION_HEADER, extract_http, new_correlation_id, with_correlation};

/// The middleware: `router.layer(axum::middleware::from_fn(traced))`.
pub async fn traced(request: Request, next: Next) -> Response {
    let (parent, correlation) = extract_http(request.headers());
    let correlation = correlation.unwrap_or_else(new_correlation_id);
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let (address, port) = match host.rsplit_once(':') {
        Some((a, p)) => (a.to_string(), p.parse::<i64>().unwrap_or(0)),
        None => (host.to_string(), 80),
    };
    let span = tracing::info_span!(
        "http.server",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %request.uri().path(),
        url.scheme = "http",
        server.address = %address,
        server.port = port,
        network.protocol.version = ?request.version(),
        http.response.status_code = tracing::field::Empty,
        correlation.id = %correlation,
    );
    // The parent must be set before the span is entered (tracing-opentelemetry ≥ 0.32).
    let _ = span.set_parent(parent);
    let mut response = with_correlation(correlation.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16() as i64);
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    if let Ok(value) = HeaderValue::from_str(&correlation) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// An RFC 9457 problem detail, served as `application/problem+json`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("https://parley.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(status = self.status, detail = %self.detail, "request failed");
        }
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A JSON body extractor whose every rejection (malformed JSON, missing or mistyped fields,
/// wrong content type) is a 400 problem+json naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    let detail = match &rejection {
        JsonRejection::JsonDataError(e) => format!("invalid request body: {}", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => format!("malformed JSON: {}", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            "expected a request with Content-Type: application/json".to_string()
        }
        other => other.body_text(),
    };
    Problem::bad_request(detail)
}

/// Pact's provider-state change: `POST {state, params, action: setup|teardown}` to
/// `/_parley/provider-states` (served with `--provider-states`, for contract verification).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StateChange {
    pub state: String,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    #[serde(default = "setup")]
    pub action: String,
}

fn setup() -> String {
    "setup".into()
}

/// Where the state-change endpoint is served.
pub const PROVIDER_STATES_PATH: &str = "/_parley/provider-states";

impl StateChange {
    pub fn is_setup(&self) -> bool {
        self.action != "teardown"
    }

    /// A string parameter, or a 400 naming it.
    pub fn text(&self, key: &str) -> Result<String, Problem> {
        self.params
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "provider state {:?} needs the string parameter {key:?}",
                    self.state
                ))
            })
    }

    /// An integer parameter, or a 400 naming it.
    pub fn int(&self, key: &str) -> Result<i64, Problem> {
        self.params
            .get(key)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "provider state {:?} needs the integer parameter {key:?}",
                    self.state
                ))
            })
    }

    /// A parameter decoded as `T`, or a 400 naming it.
    pub fn value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, Problem> {
        let value = self
            .params
            .get(key)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value).map_err(|e| {
            Problem::bad_request(format!(
                "provider state {:?}: parameter {key:?}: {e}",
                self.state
            ))
        })
    }

    /// The answer to a state this service does not know.
    pub fn unknown(&self, known: &[&str]) -> Problem {
        Problem::bad_request(format!(
            "unknown provider state {:?}; this service knows: {}",
            self.state,
            known.join("; ")
        ))
    }
}

/// The answer to a state change that worked.
pub fn state_done(change: &StateChange) -> Response {
    tracing::info!(state = %change.state, action = %change.action, "provider state");
    axum::Json(serde_json::json!({})).into_response()
}

/// `GET /health`: liveness for the launcher and for humans.
pub async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}
