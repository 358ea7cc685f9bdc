//! Tests for `sink.rs`.

use super::*;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::sync::atomic::AtomicUsize;

fn request(spans: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span::default(); spans],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Fails transiently `failures` times, then succeeds; records successful deliveries.
struct Flaky {
    failures: usize,
    calls: Arc<AtomicUsize>,
    delivered: Arc<Mutex<Vec<u64>>>,
    retry_after: Option<Duration>,
    permanent: bool,
}

impl SinkBackend for Flaky {
    fn describe(&self) -> String {
        "flaky".into()
    }

    async fn deliver(&mut self, request: &ExportTraceServiceRequest) -> Result<(), DeliveryError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            return Err(if self.permanent {
                DeliveryError::permanent("rejected")
            } else {
                DeliveryError::Transient {
                    message: "unavailable".into(),
                    retry_after: self.retry_after,
                }
            });
        }
        lock(&self.delivered).push(span_count(request));
        Ok(())
    }
}

fn flaky(failures: usize) -> (Flaky, Arc<AtomicUsize>, Arc<Mutex<Vec<u64>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let backend = Flaky {
        failures,
        calls: Arc::clone(&calls),
        delivered: Arc::clone(&delivered),
        retry_after: None,
        permanent: false,
    };
    (backend, calls, delivered)
}

fn fast_retries() -> SinkOptions {
    SinkOptions {
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(5),
        },
        ..SinkOptions::default()
    }
}

#[tokio::test]
async fn delivers_in_order_and_retries_transient_errors() {
    let (backend, calls, delivered) = flaky(2);
    let sink = Sink::spawn(backend, fast_retries());
    for n in 1..=3 {
        sink.offer(request(n));
    }
    sink.flush().await;
    assert_eq!(*lock(&delivered), [1, 2, 3]);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    let stats = sink.close().await;
    assert_eq!(stats.delivered_requests, 3);
    assert_eq!(stats.delivered_spans, 6);
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.lost_requests(), 0);
    assert_eq!(stats.last_error.as_deref(), Some("unavailable"));
}

#[tokio::test]
async fn honours_the_requested_delay() {
    let (mut backend, _calls, delivered) = flaky(1);
    backend.retry_after = Some(Duration::from_millis(300));
    let sink = Sink::spawn(backend, fast_retries());
    let started = Instant::now();
    sink.offer(request(1));
    sink.flush().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(*lock(&delivered), [1]);
}

#[tokio::test]
async fn permanent_errors_and_exhausted_retries_are_counted() {
    let (mut backend, calls, _) = flaky(1);
    backend.permanent = true;
    let sink = Sink::spawn(backend, fast_retries());
    sink.offer(request(4));
    sink.offer(request(1));
    let stats = sink.close().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "permanent errors are not retried"
    );
    assert_eq!((stats.failed_requests, stats.failed_spans), (1, 4));
    assert_eq!(stats.delivered_requests, 1);

    let (backend, _, _) = flaky(usize::MAX);
    let options = SinkOptions {
        retry: RetryPolicy {
            max_elapsed: Duration::from_millis(50),
            ..fast_retries().retry
        },
        ..fast_retries()
    };
    let sink = Sink::spawn(backend, options);
    sink.offer(request(2));
    let stats = sink.close().await;
    assert_eq!((stats.failed_requests, stats.failed_spans), (1, 2));
    assert!(stats.retries >= 1);
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("gave up after")),
        "{stats:?}"
    );
}

/// Never finishes a delivery.
struct Stuck;

impl SinkBackend for Stuck {
    fn describe(&self) -> String {
        "stuck".into()
    }

    async fn deliver(&mut self, _: &ExportTraceServiceRequest) -> Result<(), DeliveryError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_close_is_bounded() {
    let options = SinkOptions {
        queue_capacity: 2,
        flush_timeout: Duration::from_millis(200),
        ..SinkOptions::default()
    };
    let sink = Sink::spawn(Stuck, options);
    let dispatcher = Dispatcher::new(vec![sink.input()]);
    let started = Instant::now();
    for _ in 0..10 {
        dispatcher.dispatch(&request(3));
    }
    dispatcher.dispatch(&request(0));
    assert!(started.elapsed() < Duration::from_secs(1), "never waits");
    let stats = sink.close().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "close is bounded"
    );
    // One in delivery, two queued, the rest dropped (the worker may not have taken the
    // first one before the queue filled).
    assert!(stats.dropped_requests >= 7, "{stats:?}");
    assert_eq!(stats.dropped_spans, stats.dropped_requests * 3);
    assert_eq!(
        stats.queued_requests + stats.dropped_requests,
        10,
        "the empty request is skipped"
    );
    assert_eq!(stats.failed_requests, stats.queued_requests);
    assert_eq!(stats.delivered_requests, 0);
}

#[test]
fn jitter_stays_within_bounds() {
    for _ in 0..100 {
        let d = jitter(Duration::from_millis(1000));
        assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200));
    }
}
