//! The in-memory trace store: every accepted span, grouped by trace, with async waiting.
//!
//! Tests and scenarios never sleep: they call [`TraceStore::wait_for`] with a predicate over a
//! [`StoreView`], which is re-evaluated on every insert (a `tokio::sync::watch` generation
//! counter wakes the waiters; nothing polls).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::watch;
use tokio::time::Instant;

use super::convert::convert_request;
use super::model::{Span, Trace};

/// Default bound on the number of stored spans.
pub const DEFAULT_MAX_SPANS: usize = 1_000_000;

/// How many spans a [`WaitTimeout`] lists to show what did arrive.
const TIMEOUT_SAMPLE: usize = 12;

/// A cheaply clonable, thread-safe handle to the spans received so far.
#[derive(Clone)]
pub struct TraceStore {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Bumped after every insert and clear; waiters subscribe to it.
    generation: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    max_spans: usize,
    next_seq: u64,
    /// Arrival sequence number -> span.
    spans: BTreeMap<u64, Span>,
    /// Trace id -> the sequence numbers of its spans, in arrival order.
    by_trace: HashMap<String, Vec<u64>>,
    dropped_spans: u64,
    rejected_spans: u64,
}

impl State {
    fn push(&mut self, span: Span) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_trace
            .entry(span.trace_id.clone())
            .or_default()
            .push(seq);
        self.spans.insert(seq, span);
    }

    /// Drops whole traces, oldest first, until the span bound holds.
    fn evict(&mut self) {
        while self.spans.len() > self.max_spans {
            let Some(trace_id) = self.spans.values().next().map(|s| s.trace_id.clone()) else {
                return;
            };
            for seq in self.by_trace.remove(&trace_id).unwrap_or_default() {
                if self.spans.remove(&seq).is_some() {
                    self.dropped_spans += 1;
                }
            }
        }
    }
}

/// The result of ingesting one export request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestSummary {
    /// Spans stored.
    pub accepted: usize,
    /// Spans rejected as invalid (bad ids).
    pub rejected: u64,
    /// Why spans were rejected ("" when none were).
    pub error_message: String,
}

impl TraceStore {
    /// An empty store bounded to [`DEFAULT_MAX_SPANS`].
    pub fn new() -> Self {
        Self::with_max_spans(DEFAULT_MAX_SPANS)
    }

    /// An empty store that keeps at most `max_spans` spans; beyond that the oldest traces are
    /// dropped whole and counted in [`TraceStore::dropped_spans`].
    pub fn with_max_spans(max_spans: usize) -> Self {
        let (generation, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    max_spans,
                    ..State::default()
                }),
                generation,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.inner
            .generation
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Converts and stores the spans of an OTLP export request; invalid spans are rejected.
    pub fn ingest(&self, request: ExportTraceServiceRequest) -> IngestSummary {
        let conversion = convert_request(request);
        let error_message = conversion.error_message();
        let rejected = conversion.rejected;
        let accepted = conversion.spans.len();
        {
            let mut state = self.lock();
            state.rejected_spans += rejected;
            for span in conversion.spans {
                state.push(span);
            }
            state.evict();
        }
        if accepted > 0 {
            self.bump();
        }
        IngestSummary {
            accepted,
            rejected,
            error_message,
        }
    }

    /// Stores already-converted spans (e.g. loaded from a file or built by a test).
    pub fn insert(&self, spans: impl IntoIterator<Item = Span>) -> usize {
        let mut count = 0;
        {
            let mut state = self.lock();
            for span in spans {
                state.push(span);
                count += 1;
            }
            state.evict();
        }
        if count > 0 {
            self.bump();
        }
        count
    }

    /// Runs `f` on a consistent view of the store (under its lock: keep `f` short).
    pub fn view<R>(&self, f: impl FnOnce(&StoreView<'_>) -> R) -> R {
        let state = self.lock();
        f(&StoreView { state: &state })
    }

    /// Number of stored spans.
    pub fn span_count(&self) -> usize {
        self.view(|v| v.span_count())
    }

    /// Every stored span, in arrival order.
    pub fn spans(&self) -> Vec<Span> {
        self.view(|v| v.spans().cloned().collect())
    }

    /// Stored trace ids, in order of their first span's arrival.
    pub fn trace_ids(&self) -> Vec<String> {
        self.view(|v| v.trace_ids())
    }

    /// The spans of one trace (ids compare case-insensitively).
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        self.view(|v| v.trace(trace_id))
    }

    /// Every trace, in order of their first span's arrival.
    pub fn traces(&self) -> Vec<Trace> {
        self.view(|v| v.traces())
    }

    /// Spans dropped to keep the store within its bound.
    pub fn dropped_spans(&self) -> u64 {
        self.view(|v| v.dropped_spans())
    }

    /// Spans rejected as invalid by the receiver.
    pub fn rejected_spans(&self) -> u64 {
        self.view(|v| v.rejected_spans())
    }

    /// Forgets every span and resets the counters.
    pub fn clear(&self) {
        {
            let mut state = self.lock();
            let max_spans = state.max_spans;
            *state = State {
                max_spans,
                ..State::default()
            };
        }
        self.bump();
    }

    /// Waits until `predicate` holds, re-checking it after every insert; fails after `timeout`
    /// with an error that says what the store holds.
    pub async fn wait_for<F>(&self, timeout: Duration, predicate: F) -> Result<(), WaitTimeout>
    where
        F: Fn(&StoreView<'_>) -> bool,
    {
        let deadline = Instant::now() + timeout;
        let mut changes = self.inner.generation.subscribe();
        loop {
            // Mark the current generation seen *before* checking, so an insert racing with
            // the check still wakes us.
            changes.borrow_and_update();
            if self.view(|v| predicate(v)) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                // The sender lives as long as `self`; treat its loss like a timeout.
                Ok(Err(_)) | Err(_) => {
                    if self.view(|v| predicate(v)) {
                        return Ok(());
                    }
                    return Err(self.view(|v| WaitTimeout::new(timeout, v)));
                }
            }
        }
    }

    /// Waits until at least `count` spans are stored.
    pub async fn wait_for_span_count(
        &self,
        timeout: Duration,
        count: usize,
    ) -> Result<(), WaitTimeout> {
        self.wait_for(timeout, |v| v.span_count() >= count).await
    }

    /// Returns once no span arrived for `quiet`, or after `max` at the latest. True when the
    /// store went quiet, false when `max` ran out first.
    pub async fn wait_settled(&self, quiet: Duration, max: Duration) -> bool {
        let deadline = Instant::now() + max;
        let mut changes = self.inner.generation.subscribe();
        changes.borrow_and_update();
        loop {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let quiet_until = (now + quiet).min(deadline);
            match tokio::time::timeout_at(quiet_until, changes.changed()).await {
                Ok(Ok(())) => {
                    changes.borrow_and_update();
                }
                Ok(Err(_)) => return true,
                Err(_) => return quiet_until < deadline || quiet.is_zero(),
            }
        }
    }
}

impl Default for TraceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.view(|v| {
            f.debug_struct("TraceStore")
                .field("spans", &v.span_count())
                .field("traces", &v.trace_count())
                .field("dropped_spans", &v.dropped_spans())
                .finish()
        })
    }
}

/// A consistent, borrowed view of the store, handed to predicates and [`TraceStore::view`].
pub struct StoreView<'a> {
    state: &'a State,
}

impl StoreView<'_> {
    /// Number of stored spans.
    pub fn span_count(&self) -> usize {
        self.state.spans.len()
    }

    /// Number of stored traces.
    pub fn trace_count(&self) -> usize {
        self.state.by_trace.len()
    }

    /// Stored spans, in arrival order.
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.state.spans.values()
    }

    /// The first span (in arrival order) named `name`.
    pub fn find(&self, name: &str) -> Option<&Span> {
        self.spans().find(|s| s.name == name)
    }

    /// True when a span named `name` arrived.
    pub fn has_span(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The spans of one trace, in arrival order, without copying.
    pub fn trace_spans(&self, trace_id: &str) -> impl Iterator<Item = &Span> {
        let seqs = match self.state.by_trace.get(trace_id) {
            Some(seqs) => Some(seqs),
            None => self.state.by_trace.get(&trace_id.to_ascii_lowercase()),
        };
        seqs.into_iter()
            .flatten()
            .filter_map(|seq| self.state.spans.get(seq))
    }

    /// Stored trace ids, in order of their first span's arrival.
    pub fn trace_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.spans()
            .filter(|s| seen.insert(s.trace_id.as_str()))
            .map(|s| s.trace_id.clone())
            .collect()
    }

    /// The spans of one trace (ids compare case-insensitively).
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        let spans: Vec<Span> = self.trace_spans(trace_id).cloned().collect();
        let first = spans.first()?;
        Some(Trace {
            trace_id: first.trace_id.clone(),
            spans,
        })
    }

    /// Every trace, in order of their first span's arrival.
    pub fn traces(&self) -> Vec<Trace> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut traces: Vec<Trace> = Vec::new();
        for span in self.spans() {
            let i = *index.entry(span.trace_id.as_str()).or_insert_with(|| {
                traces.push(Trace {
                    trace_id: span.trace_id.clone(),
                    spans: Vec::new(),
                });
                traces.len() - 1
            });
            if let Some(trace) = traces.get_mut(i) {
                trace.spans.push(span.clone());
            }
        }
        traces
    }

    /// Spans dropped to keep the store within its bound.
    pub fn dropped_spans(&self) -> u64 {
        self.state.dropped_spans
    }

    /// Spans rejected as invalid by the receiver.
    pub fn rejected_spans(&self) -> u64 {
        self.state.rejected_spans
    }
}

/// [`TraceStore::wait_for`] gave up: the predicate never held within the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    pub timeout: Duration,
    /// Spans stored when the wait gave up.
    pub span_count: usize,
    /// Traces stored when the wait gave up.
    pub trace_count: usize,
    /// `service: span name` of the first few stored spans.
    pub sample: Vec<String>,
}

impl WaitTimeout {
    fn new(timeout: Duration, view: &StoreView<'_>) -> Self {
        Self {
            timeout,
            span_count: view.span_count(),
            trace_count: view.trace_count(),
            sample: view
                .spans()
                .take(TIMEOUT_SAMPLE)
                .map(|s| format!("{}: {}", s.service_name, s.name))
                .collect(),
        }
    }
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for the expected spans; the trace store holds {} span(s) in {} trace(s)",
            self.timeout, self.span_count, self.trace_count
        )?;
        if !self.sample.is_empty() {
            write!(f, " [{}", self.sample.join(", "))?;
            if self.span_count > self.sample.len() {
                write!(f, ", ...")?;
            }
            write!(f, "]")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitTimeout {}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, parent: Option<u8>, name: &str) -> Span {
        Span {
            trace_id: format!("{trace:032x}"),
            span_id: format!("{id:016x}"),
            parent_span_id: parent.map(|p| format!("{p:016x}")),
            name: name.into(),
            service_name: "svc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn groups_by_trace_in_arrival_order() {
        let store = TraceStore::new();
        store.insert([
            span(1, 1, None, "a"),
            span(2, 2, None, "b"),
            span(1, 3, Some(1), "c"),
        ]);
        assert_eq!(store.span_count(), 3);
        assert_eq!(
            store.trace_ids(),
            [format!("{:032x}", 1), format!("{:032x}", 2)]
        );
        let traces = store.traces();
        assert_eq!(traces[0].spans.len(), 2);
        assert_eq!(traces[1].spans.len(), 1);
        let upper = format!("{:032X}", 1);
        assert_eq!(store.trace(&upper).map(|t| t.spans.len()), Some(2));
        assert!(store.trace(&format!("{:032x}", 9)).is_none());
        store.clear();
        assert_eq!(store.span_count(), 0);
    }

    #[test]
    fn evicts_oldest_whole_traces() {
        let store = TraceStore::with_max_spans(3);
        store.insert([span(1, 1, None, "a"), span(1, 2, Some(1), "b")]);
        store.insert([span(2, 3, None, "c"), span(2, 4, Some(3), "d")]);
        assert_eq!(store.span_count(), 2);
        assert_eq!(store.dropped_spans(), 2);
        assert_eq!(store.trace_ids(), [format!("{:032x}", 2)]);
    }

    #[tokio::test]
    async fn wait_for_wakes_on_insert() {
        let store = TraceStore::new();
        let writer = store.clone();
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            writer.insert([span(1, 1, None, "late")]);
        });
        store
            .wait_for(Duration::from_secs(10), |v| v.has_span("late"))
            .await
            .expect("span arrives");
        task.await.expect("task");
    }

    #[test]
    fn wait_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let store = TraceStore::new();
        let wait = store.wait_for(Duration::ZERO, |v| v.span_count() > 0);
        assert_send(&wait);
        let settled = store.wait_settled(Duration::ZERO, Duration::ZERO);
        assert_send(&settled);
    }

    #[tokio::test]
    async fn wait_for_times_out_with_description() {
        let store = TraceStore::new();
        store.insert([span(1, 1, None, "present")]);
        let err = store
            .wait_for(Duration::from_millis(20), |v| v.has_span("absent"))
            .await
            .expect_err("times out");
        assert_eq!(err.span_count, 1);
        let text = err.to_string();
        assert!(
            text.contains("1 span(s) in 1 trace(s)") && text.contains("svc: present"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn wait_settled_returns_when_quiet() {
        let store = TraceStore::new();
        store.insert([span(1, 1, None, "a")]);
        assert!(
            store
                .wait_settled(Duration::from_millis(10), Duration::from_secs(10))
                .await
        );
    }
}
