//! Trace context and correlation ID across hops: HTTP headers and NATS headers (JetStream too).
//!
//! Outbound, [`Outbound::inject_http`] / [`Outbound::inject_nats`] write W3C `traceparent`,
//! `tracestate`, `baggage` and `x-correlation-id` from the current span and task. Inbound,
//! [`extract_http`] / [`extract_nats`] read them back; NATS header names are compared
//! case-insensitively because Go publishers send `Traceparent`.

use std::future::Future;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The correlation header every hop carries.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// The span attribute holding the correlation ID.
pub const CORRELATION_ATTR: &str = "correlation.id";

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// The correlation ID of the request or message being handled, if any.
pub fn correlation_id() -> Option<String> {
    CORRELATION_ID.try_with(Clone::clone).ok()
}

/// The current correlation ID, or `""` outside a request (for span fields).
pub fn cid() -> String {
    correlation_id().unwrap_or_default()
}

/// Runs `fut` with `id` as the task's correlation ID.
pub async fn with_correlation<F: Future>(id: String, fut: F) -> F::Output {
    CORRELATION_ID.scope(id, fut).await
}

/// A fresh correlation ID for a request that arrived without one.
pub fn new_correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What a service puts on the requests and messages it sends. Both are on unless a defect
/// switches one off.
#[derive(Clone, Copy, Debug)]
pub struct Outbound {
    pub trace_context: bool,
    pub correlation: bool,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            trace_context: true,
            correlation: true,
        }
    }
}

impl Outbound {
    /// Writes the current span's context and the task's correlation ID into HTTP headers.
    pub fn inject_http(&self, span: &tracing::Span, headers: &mut http::HeaderMap) {
        if self.trace_context {
            let cx = span.context();
            opentelemetry::global::get_text_map_propagator(|p| {
                p.inject_context(&cx, &mut HeaderInjector(headers))
            });
        }
        if self.correlation
            && let Some(id) = correlation_id()
            && let Ok(value) = http::HeaderValue::from_str(&id)
        {
            headers.insert(CORRELATION_HEADER, value);
        }
    }

    /// Writes the current span's context and the task's correlation ID into NATS headers.
    pub fn inject_nats(&self, span: &tracing::Span, headers: &mut async_nats::HeaderMap) {
        if self.trace_context {
            let cx = span.context();
            opentelemetry::global::get_text_map_propagator(|p| {
                p.inject_context(&cx, &mut NatsInjector(headers))
            });
        }
        if self.correlation
            && let Some(id) = correlation_id()
        {
            headers.insert(CORRELATION_HEADER, id.as_str());
        }
    }
}

/// The parent context and correlation ID an HTTP request carries.
pub fn extract_http(headers: &http::HeaderMap) -> (Context, Option<String>) {
    let cx =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let correlation = headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    (cx, correlation)
}

/// The parent context and correlation ID a NATS message carries.
pub fn extract_nats(headers: Option<&async_nats::HeaderMap>) -> (Context, Option<String>) {
    let Some(headers) = headers else {
        return (Context::new(), None);
    };
    let extractor = NatsExtractor(headers);
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&extractor));
    let correlation = extractor
        .get(CORRELATION_HEADER)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    (cx, correlation)
}

/// Injects into NATS headers.
pub struct NatsInjector<'a>(pub &'a mut async_nats::HeaderMap);

impl Injector for NatsInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

/// Extracts from NATS headers, comparing names case-insensitively.
pub struct NatsExtractor<'a>(pub &'a async_nats::HeaderMap);

impl Extractor for NatsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| {
                let name: &str = name.as_ref();
                name.eq_ignore_ascii_case(key)
            })
            .and_then(|(_, values)| values.first())
            .map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_extraction_ignores_header_case() {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        headers.insert("X-Correlation-Id", "c0ffee");
        let extractor = NatsExtractor(&headers);
        assert_eq!(
            extractor.get("traceparent"),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        let propagator = opentelemetry_sdk::propagation::TraceContextPropagator::new();
        use opentelemetry::propagation::TextMapPropagator;
        use opentelemetry::trace::TraceContextExt;
        let cx = propagator.extract(&extractor);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(extractor.get(CORRELATION_HEADER), Some("c0ffee"));
    }
}
