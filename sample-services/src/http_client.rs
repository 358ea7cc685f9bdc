//! The client side of every synchronous call: one place for timeout, retry and circuit breaker.
//!
//! - Every attempt has a timeout (unless the `no-timeout` defect removes it).
//! - Retries, with exponential backoff and full jitter, only for idempotent methods or requests
//!   carrying an `Idempotency-Key`, and only on transport errors, timeouts and 429/502/503/504.
//! - A circuit breaker per upstream fails calls fast while the upstream is down.
//! - Each attempt is an HTTP client span that carries the W3C context and correlation ID, and
//!   says how the call is guarded, in parley's convention for observed graphs
//!   (`harness/src/lint/OBSERVED.md`): `parley.call.timeout_ms` (`0`: none),
//!   `parley.call.max_attempts`, `parley.call.retry_on`, `parley.call.circuit_breaker` and
//!   `parley.call.idempotency_key` (whether this request carries an `Idempotency-Key`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::http_server::Problem;
use crate::propagation::{Outbound, cid};

/// The header that makes a non-idempotent request safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Which requests [`CallBuilder::send`] retries, in the words of `parley.call.retry_on`.
const RETRY_ON: &str = "idempotent-only";

#[derive(Clone, Copy, Debug)]
pub struct UpstreamConfig {
    /// Per-attempt timeout; `None` only under the `no-timeout` defect.
    pub timeout: Option<Duration>,
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub breaker: BreakerConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            timeout: Some(Duration::from_secs(2)),
            max_attempts: 3,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            breaker: BreakerConfig::default(),
        }
    }
}

/// Why a call produced no response.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("circuit to {peer} is open")]
    CircuitOpen { peer: &'static str },
    #[error("{peer} did not answer within {after:?}")]
    Timeout { peer: &'static str, after: Duration },
    #[error("{peer} is unreachable: {source}")]
    Unreachable {
        peer: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{peer} answered {status} with a body that is not what was expected: {detail}")]
    Decode {
        peer: &'static str,
        status: StatusCode,
        detail: String,
    },
    #[error("could not encode the request to {peer}: {detail}")]
    Encode { peer: &'static str, detail: String },
}

impl From<CallError> for Problem {
    fn from(e: CallError) -> Self {
        let status = match &e {
            CallError::CircuitOpen { .. } => StatusCode::SERVICE_UNAVAILABLE,
            CallError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            CallError::Unreachable { .. } | CallError::Decode { .. } => StatusCode::BAD_GATEWAY,
            CallError::Encode { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Problem::new(status, "upstream", e.to_string())
    }
}

/// A response from an upstream, whatever its status.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    peer: &'static str,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|e| CallError::Decode {
            peer: self.peer,
            status: self.status,
            detail: e.to_string(),
        })
    }

    /// The upstream's problem detail (or a summary of its body) for a non-2xx reply.
    pub fn problem_detail(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect()
            })
    }
}

/// One upstream service, shared by every handler that calls it.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    peer: &'static str,
    base: String,
    client: reqwest::Client,
    config: UpstreamConfig,
    breaker: CircuitBreaker,
    outbound: Outbound,
}

impl Upstream {
    pub fn new(peer: &'static str, base: &str, config: UpstreamConfig, outbound: Outbound) -> Self {
        Upstream {
            inner: Arc::new(Inner {
                peer,
                base: base.trim_end_matches('/').to_string(),
                // No client-wide timeout: the per-attempt timeout below is the only one, so the
                // `no-timeout` defect really means no timeout.
                client: reqwest::Client::new(),
                breaker: CircuitBreaker::new(config.breaker),
                config,
                outbound,
            }),
        }
    }

    pub fn peer(&self) -> &'static str {
        self.inner.peer
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    pub fn request(&self, method: Method, path: impl Into<String>) -> CallBuilder<'_> {
        let path = path.into();
        let template = path.split('?').next().unwrap_or_default().to_string();
        CallBuilder {
            upstream: self,
            method,
            path,
            template,
            body: None,
            idempotency_key: None,
        }
    }

    pub fn get(&self, path: impl Into<String>) -> CallBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: impl Into<String>) -> CallBuilder<'_> {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: impl Into<String>) -> CallBuilder<'_> {
        self.request(Method::DELETE, path)
    }
}

pub struct CallBuilder<'a> {
    upstream: &'a Upstream,
    method: Method,
    path: String,
    template: String,
    body: Option<Bytes>,
    idempotency_key: Option<String>,
}

impl CallBuilder<'_> {
    /// The route template for the span name, when the path holds IDs.
    pub fn template(mut self, template: &str) -> Self {
        self.template = template.to_string();
        self
    }

    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, CallError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CallError::Encode {
            peer: self.upstream.inner.peer,
            detail: e.to_string(),
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Raw bytes forwarded as they came (the gateway), sent as `application/json`.
    pub fn raw_json(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    fn retryable(&self) -> bool {
        let idempotent = matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        idempotent || self.idempotency_key.is_some()
    }

    pub async fn send(self) -> Result<Reply, CallError> {
        let inner = &self.upstream.inner;
        let attempts = if self.retryable() {
            inner.config.max_attempts.max(1)
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            let result = self.attempt(attempt).await;
            attempt += 1;
            let transient = match &result {
                Ok(reply) => matches!(reply.status.as_u16(), 429 | 502 | 503 | 504),
                Err(CallError::Timeout { .. } | CallError::Unreachable { .. }) => true,
                Err(_) => false,
            };
            if !transient || attempt >= attempts {
                return result;
            }
            let ceiling = inner
                .config
                .base_backoff
                .saturating_mul(1 << attempt.min(16))
                .min(inner.config.max_backoff);
            let delay = rand::rng().random_range(Duration::ZERO..=ceiling);
            tracing::info!(peer = inner.peer, attempt, ?delay, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, resend_count: u32) -> Result<Reply, CallError> {
        let inner = &self.upstream.inner;
        inner
            .breaker
            .acquire()
            .map_err(|_| CallError::CircuitOpen { peer: inner.peer })?;
        let url = format!("{}{}", inner.base, self.path);
        let (address, port) = host_port(&inner.base);
        let span = tracing::info_span!(
            "http.client",
            otel.name = format!("{} {}", self.method, self.template),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = %self.method,
            url.full = %url,
            url.template = %self.template,
            server.address = %address,
            server.port = port,
            peer.service = inner.peer,
            http.request.resend_count = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            parley.http.timeout_ms = tracing::field::Empty,
            parley.call.timeout_ms = inner.config.timeout.map_or(0, |t| t.as_millis() as i64),
            parley.call.max_attempts = inner.config.max_attempts.max(1) as i64,
            parley.call.retry_on = RETRY_ON,
            parley.call.circuit_breaker = true,
            parley.call.idempotency_key = self.idempotency_key.is_some(),
            correlation.id = %cid(),
        );
        if resend_count > 0 {
            span.record("http.request.resend_count", resend_count as i64);
        }
        if let Some(t) = inner.config.timeout {
            span.record("parley.http.timeout_ms", t.as_millis() as i64);
        }
        let mut headers = HeaderMap::new();
        inner.outbound.inject_http(&span, &mut headers);
        if let Some(key) = &self.idempotency_key
            && let Ok(v) = HeaderValue::from_str(key)
        {
            headers.insert(IDEMPOTENCY_KEY, v);
        }
        let mut request = inner
            .client
            .request(self.method.clone(), &url)
            .headers(headers);
        if let Some(body) = &self.body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(t) = inner.config.timeout {
            request = request.timeout(t);
        }
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok((status, headers, body)) => {
                span.record("http.response.status_code", status.as_u16() as i64);
                if status.is_server_error() {
                    span.record("otel.status_code", "ERROR");
                    inner.breaker.on_failure();
                } else {
                    inner.breaker.on_success();
                }
                Ok(Reply {
                    status,
                    headers,
                    body,
                    peer: inner.peer,
                })
            }
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                inner.breaker.on_failure();
                let _enter = span.enter();
                tracing::warn!(peer = inner.peer, error = %e, "call failed");
                if e.is_timeout() {
                    Err(CallError::Timeout {
                        peer: inner.peer,
                        after: inner.config.timeout.unwrap_or_default(),
                    })
                } else {
                    Err(CallError::Unreachable {
                        peer: inner.peer,
                        source: e,
                    })
                }
            }
        }
    }
}

fn host_port(base: &str) -> (String, i64) {
    let authority = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(80)),
        None => (authority.to_string(), 80),
    }
}
