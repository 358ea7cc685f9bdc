//! The traces one request produced, found by the correlation ID it carried.
//!
//! A request is followed end to end when all its spans are one connected tree: one trace, one
//! root, no orphans, and the same correlation ID on every span. [`RequestTraces`] gathers what
//! the store holds for one correlation ID so that callers can see whether that is so.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::otlp::{Span, StoreView, Trace, TraceStore, WaitTimeout};

/// The span attribute the samples (and parley's checks) read the correlation ID from.
pub const CORRELATION_ATTR: &str = "correlation.id";

/// Every trace that holds at least one span carrying the correlation ID.
#[derive(Debug, Clone)]
pub struct RequestTraces {
    pub correlation_id: String,
    pub traces: Vec<Trace>,
}

impl RequestTraces {
    pub fn collect(view: &StoreView<'_>, correlation_id: &str) -> RequestTraces {
        let ids: BTreeSet<&str> = view
            .spans()
            .filter(|s| s.attr_str(CORRELATION_ATTR) == Some(correlation_id))
            .map(|s| s.trace_id.as_str())
            .collect();
        RequestTraces {
            correlation_id: correlation_id.to_string(),
            traces: ids.into_iter().filter_map(|id| view.trace(id)).collect(),
        }
    }

    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.traces.iter().flat_map(|t| t.spans.iter())
    }

    pub fn span_count(&self) -> usize {
        self.traces.iter().map(|t| t.spans.len()).sum()
    }

    pub fn services(&self) -> BTreeSet<String> {
        self.spans().map(|s| s.service_name.clone()).collect()
    }

    /// One trace with one root and no span whose parent is missing.
    pub fn is_one_connected_tree(&self) -> bool {
        match self.traces.as_slice() {
            [trace] => trace.roots().len() == 1 && trace.orphans().is_empty(),
            _ => false,
        }
    }

    /// Spans of these traces that do not carry this correlation ID.
    pub fn spans_without_correlation(&self) -> Vec<&Span> {
        self.spans()
            .filter(|s| s.attr_str(CORRELATION_ATTR) != Some(self.correlation_id.as_str()))
            .collect()
    }

    /// The spans, oldest first, as `service: name`.
    pub fn outline(&self) -> Vec<String> {
        let mut spans: Vec<&Span> = self.spans().collect();
        spans.sort_by_key(|s| s.start_unix_nanos);
        spans
            .iter()
            .map(|s| format!("{}: {}", s.service_name, s.name))
            .collect()
    }
}

/// Waits until the store holds spans of `correlation_id` from every service in `services`,
/// then until no new span arrived for a moment (late spans of the same request).
pub async fn wait_for_request(
    store: &TraceStore,
    correlation_id: &str,
    services: &[&str],
    timeout: Duration,
) -> Result<RequestTraces, WaitTimeout> {
    store
        .wait_for(timeout, |view| {
            let seen = RequestTraces::collect(view, correlation_id).services();
            services.iter().all(|s| seen.contains(*s))
        })
        .await?;
    store
        .wait_settled(Duration::from_millis(300), Duration::from_secs(5))
        .await;
    Ok(store.view(|view| RequestTraces::collect(view, correlation_id)))
}
