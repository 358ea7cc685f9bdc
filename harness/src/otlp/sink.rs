//! Sinks: where the receiver hands every export request it accepts, besides its store.
//!
//! A [`Sink`] is a bounded queue in front of one [`SinkBackend`] (the OTLP JSON lines writer
//! in `jsonl.rs`, the forwarder in `forward.rs`, or your own), drained by one tokio task. The
//! receiver only ever calls [`Sink::dispatch`]-style `try_send`s: it never waits for a sink. A
//! full queue drops the request, counts it and logs it (rate-limited); a delivery that keeps
//! failing is retried with exponential backoff (honouring the delay the target asks for) within
//! the [`RetryPolicy`], then given up, counted and logged. [`Sink::close`] (called by
//! `Receiver::shutdown`) delivers what is queued within [`SinkOptions::flush_timeout`] and
//! reports the [`SinkStats`].
//!
//! Requests are delivered one at a time, in the order they were accepted.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Default queue bound, in export requests.
pub const DEFAULT_QUEUE_CAPACITY: usize = 2048;

/// How often (at most) a sink logs that it keeps dropping requests.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// How long [`Sink::close`] waits for the worker after telling it to give up.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// One export request shared between the sinks (cloned once per request, not per sink).
pub type SharedRequest = Arc<ExportTraceServiceRequest>;

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying (connection refused, timeout, 429/503, gRPC `UNAVAILABLE`…), after
    /// `retry_after` when the target said how long to wait.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (the target rejected the request, the disk is full…).
    #[error("{message}")]
    Permanent { message: String },
}

impl DeliveryError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }
}

/// What a sink does with each request: one delivery attempt at a time.
///
/// `deliver` runs on the sink's own task, never on the receiver's request path, and may take
/// as long as it needs (the [`RetryPolicy`] and [`SinkOptions::flush_timeout`] bound the
/// retries and the shutdown; a sink that needs a per-attempt timeout applies it itself).
pub trait SinkBackend: Send + 'static {
    /// What this sink is, for logs and reports: `OTLP JSON lines to traces.jsonl`.
    fn describe(&self) -> String;

    /// Delivers one request (one attempt).
    fn deliver(
        &mut self,
        request: &ExportTraceServiceRequest,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// Makes what was delivered so far durable (e.g. flushes a file buffer). Called whenever
    /// the queue runs empty, on [`Sink::flush`], and before the sink stops.
    fn flush(&mut self) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        async { Ok(()) }
    }
}

/// Retries of a failed delivery: exponential backoff from `initial_backoff` doubling up to
/// `max_backoff` (with ±20% jitter), or the delay the target asked for; the request is given
/// up once the next retry would start later than `max_elapsed` after its first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    /// No retries: a failed delivery is given up at once.
    pub const NONE: RetryPolicy = RetryPolicy {
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        max_elapsed: Duration::ZERO,
    };
}

impl Default for RetryPolicy {
    /// 200 ms doubling to 5 s, for at most 30 s per request.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

/// How a sink queues, retries and stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkOptions {
    /// Requests waiting for delivery beyond this are dropped (and counted).
    pub queue_capacity: usize,
    pub retry: RetryPolicy,
    /// How long [`Sink::close`] keeps delivering what is queued before it gives up on the
    /// rest (counted as failed).
    pub flush_timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            retry: RetryPolicy::default(),
            flush_timeout: Duration::from_secs(10),
        }
    }
}

/// What a sink did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// The backend's [`SinkBackend::describe`].
    pub name: String,
    /// Requests taken into the queue.
    pub queued_requests: u64,
    /// Requests (and their spans) delivered.
    pub delivered_requests: u64,
    pub delivered_spans: u64,
    /// Requests (and spans) dropped because the queue was full or the sink closed.
    pub dropped_requests: u64,
    pub dropped_spans: u64,
    /// Requests (and spans) given up: a permanent error, retries exhausted, or still queued at
    /// the end of [`SinkOptions::flush_timeout`].
    pub failed_requests: u64,
    pub failed_spans: u64,
    /// Delivery attempts that were retried.
    pub retries: u64,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
}

impl SinkStats {
    /// Requests that did not reach the sink's target (dropped or failed).
    pub fn lost_requests(&self) -> u64 {
        self.dropped_requests + self.failed_requests
    }

    /// Spans that did not reach the sink's target (dropped or failed).
    pub fn lost_spans(&self) -> u64 {
        self.dropped_spans + self.failed_spans
    }
}

/// The number of spans in `request`.
pub fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

enum Message {
    Export(SharedRequest),
    Flush(oneshot::Sender<()>),
}

/// The counters and the queue's sending side, shared by the handle and the receiver's servers.
struct Shared {
    name: String,
    tx: Mutex<Option<mpsc::Sender<Message>>>,
    queued_requests: AtomicU64,
    delivered_requests: AtomicU64,
    delivered_spans: AtomicU64,
    dropped_requests: AtomicU64,
    dropped_spans: AtomicU64,
    failed_requests: AtomicU64,
    failed_spans: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Milliseconds since `created` at which drops were last logged (0: never).
    last_drop_log_ms: AtomicU64,
    created: Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn sender(&self) -> Option<mpsc::Sender<Message>> {
        lock(&self.tx).clone()
    }

    fn stats(&self) -> SinkStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SinkStats {
            name: self.name.clone(),
            queued_requests: get(&self.queued_requests),
            delivered_requests: get(&self.delivered_requests),
            delivered_spans: get(&self.delivered_spans),
            dropped_requests: get(&self.dropped_requests),
            dropped_spans: get(&self.dropped_spans),
            failed_requests: get(&self.failed_requests),
            failed_spans: get(&self.failed_spans),
            retries: get(&self.retries),
            last_error: lock(&self.last_error).clone(),
        }
    }

    /// Hands `request` to the queue without waiting; counts and logs a drop.
    fn offer(&self, request: &SharedRequest, spans: u64) {
        let result = match self.sender() {
            Some(tx) => tx
                .try_send(Message::Export(Arc::clone(request)))
                .map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => "its queue is full",
                    mpsc::error::TrySendError::Closed(_) => "it has stopped",
                }),
            None => Err("it has stopped"),
        };
        match result {
            Ok(()) => {
                self.queued_requests.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                let requests = self.dropped_requests.fetch_add(1, Ordering::Relaxed) + 1;
                let total_spans = self.dropped_spans.fetch_add(spans, Ordering::Relaxed) + spans;
                if self.should_log_drop() {
                    tracing::warn!(
                        sink = %self.name,
                        dropped_requests = requests,
                        dropped_spans = total_spans,
                        "dropping an export request: {why}"
                    );
                }
            }
        }
    }

    /// True at the first drop and then at most every [`DROP_LOG_INTERVAL`].
    fn should_log_drop(&self) -> bool {
        let now = u64::try_from(self.created.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let last = self.last_drop_log_ms.load(Ordering::Relaxed);
        let interval = DROP_LOG_INTERVAL.as_millis() as u64;
        (last == 0 || now.saturating_sub(last) >= interval)
            && self
                .last_drop_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    fn record_error(&self, message: &str) {
        *lock(&self.last_error) = Some(message.to_string());
    }

    fn fail(&self, spans: u64, message: &str) {
        self.failed_requests.fetch_add(1, Ordering::Relaxed);
        self.failed_spans.fetch_add(spans, Ordering::Relaxed);
        self.record_error(message);
    }
}

/// A running sink: a bounded queue and the task delivering it to one backend.
///
/// Hand it to the receiver (`Receiver::builder().sink(…)`); the receiver closes it on
/// shutdown. Dropping it closes the queue; the task then delivers what is queued in the
/// background.
pub struct Sink {
    shared: Arc<Shared>,
    options: SinkOptions,
    cancel: watch::Sender<bool>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("name", &self.shared.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// Starts the task delivering to `backend`. Needs a tokio runtime.
    pub fn spawn(backend: impl SinkBackend, options: SinkOptions) -> Self {
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            name: backend.describe(),
            tx: Mutex::new(Some(tx)),
            queued_requests: AtomicU64::new(0),
            delivered_requests: AtomicU64::new(0),
            delivered_spans: AtomicU64::new(0),
            dropped_requests: AtomicU64::new(0),
            dropped_spans: AtomicU64::new(0),
            failed_requests: AtomicU64::new(0),
            failed_spans: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            last_error: Mutex::new(None),
            last_drop_log_ms: AtomicU64::new(0),
            created: Instant::now(),
        });
        let (cancel, cancelled) = watch::channel(false);
        let worker = tokio::spawn(run_worker(
            backend,
            rx,
            Arc::clone(&shared),
            options.retry,
            cancelled,
        ));
        Self {
            shared,
            options,
            cancel,
            worker: Some(worker),
        }
    }

    /// The backend's description.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// What the sink did so far.
    pub fn stats(&self) -> SinkStats {
        self.shared.stats()
    }

    /// Queues `request` without waiting (dropped and counted when the queue is full).
    pub fn offer(&self, request: ExportTraceServiceRequest) {
        let spans = span_count(&request);
        self.shared.offer(&Arc::new(request), spans);
    }

    /// Waits until everything queued before this call was delivered (or given up) and the
    /// backend flushed. Returns at once when the sink has stopped.
    pub async fn flush(&self) {
        let Some(tx) = self.shared.sender() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if tx.send(Message::Flush(done)).await.is_ok() {
            // An error means the worker stopped, which also ends the wait.
            let _ = wait.await;
        }
    }

    /// Closes the queue, delivers what it holds within [`SinkOptions::flush_timeout`] (the
    /// rest is counted as failed), flushes the backend and reports.
    pub async fn close(mut self) -> SinkStats {
        lock(&self.shared.tx).take();
        if let Some(mut worker) = self.worker.take()
            && tokio::time::timeout(self.options.flush_timeout, &mut worker)
                .await
                .is_err()
        {
            tracing::warn!(
                sink = %self.shared.name,
                "not delivered within {:?}: giving up on what is still queued",
                self.options.flush_timeout
            );
            self.cancel.send_replace(true);
            if tokio::time::timeout(CANCEL_GRACE, &mut worker)
                .await
                .is_err()
            {
                worker.abort();
                // Aborted: its cancellation error carries nothing useful.
                let _ = worker.await;
            }
        }
        self.shared.stats()
    }

    /// The cheap handle the receiver's servers dispatch through.
    pub(crate) fn input(&self) -> SinkInput {
        SinkInput(Arc::clone(&self.shared))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Closing the queue lets the worker finish what it holds, then stop.
        lock(&self.shared.tx).take();
    }
}

/// The sending side of one sink, held by the servers.
#[derive(Clone)]
pub(crate) struct SinkInput(Arc<Shared>);

/// Every sink of a receiver: what the gRPC and HTTP handlers hand each decoded request to.
#[derive(Clone, Default)]
pub(crate) struct Dispatcher {
    sinks: Arc<[SinkInput]>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl Dispatcher {
    pub(crate) fn new(sinks: Vec<SinkInput>) -> Self {
        Self {
            sinks: sinks.into(),
        }
    }

    /// Queues `request` on every sink, never waiting; a request without spans is skipped.
    pub(crate) fn dispatch(&self, request: &ExportTraceServiceRequest) {
        if self.sinks.is_empty() {
            return;
        }
        let spans = span_count(request);
        if spans == 0 {
            return;
        }
        let shared = Arc::new(request.clone());
        for sink in self.sinks.iter() {
            sink.0.offer(&shared, spans);
        }
    }
}

/// The sink's task: delivers each queued request in order, with retries, until the queue is
/// closed and drained, or `cancelled` says to give up on the rest.
async fn run_worker<B: SinkBackend>(
    mut backend: B,
    mut rx: mpsc::Receiver<Message>,
    shared: Arc<Shared>,
    retry: RetryPolicy,
    mut cancelled: watch::Receiver<bool>,
) {
    let mut dirty = false;
    loop {
        let message = if *cancelled.borrow() {
            // Giving up: drain without delivering.
            rx.recv().await
        } else {
            match rx.try_recv() {
                Ok(message) => Some(message),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Idle: make what was delivered durable before waiting.
                    if dirty {
                        flush_backend(&mut backend, &shared).await;
                        dirty = false;
                    }
                    rx.recv().await
                }
            }
        };
        match message {
            None => break,
            Some(Message::Flush(done)) => {
                if dirty {
                    flush_backend(&mut backend, &shared).await;
                    dirty = false;
                }
                // The flusher may have stopped waiting.
                let _ = done.send(());
            }
            Some(Message::Export(request)) => {
                let spans = span_count(&request);
                if *cancelled.borrow() {
                    shared.fail(spans, "still queued when the sink was closed");
                    continue;
                }
                dirty = true;
                deliver_with_retries(
                    &mut backend,
                    &request,
                    spans,
                    &shared,
                    retry,
                    &mut cancelled,
                )
                .await;
            }
        }
    }
    if dirty {
        flush_backend(&mut backend, &shared).await;
    }
}

async fn flush_backend<B: SinkBackend>(backend: &mut B, shared: &Shared) {
    if let Err(e) = backend.flush().await {
        tracing::warn!(sink = %shared.name, error = %e, "flushing the sink failed");
        shared.record_error(&e.to_string());
    }
}

async fn deliver_with_retries<B: SinkBackend>(
    backend: &mut B,
    request: &ExportTraceServiceRequest,
    spans: u64,
    shared: &Shared,
    retry: RetryPolicy,
    cancelled: &mut watch::Receiver<bool>,
) {
    let first = Instant::now();
    let mut backoff = retry.initial_backoff;
    loop {
        let attempt = tokio::select! {
            biased;
            () = until_cancelled(cancelled) => {
                shared.fail(spans, "delivery abandoned when the sink was closed");
                return;
            }
            result = backend.deliver(request) => result,
        };
        let (message, retry_after) = match attempt {
            Ok(()) => {
                shared.delivered_requests.fetch_add(1, Ordering::Relaxed);
                shared.delivered_spans.fetch_add(spans, Ordering::Relaxed);
                return;
            }
            Err(DeliveryError::Permanent { message }) => {
                tracing::warn!(sink = %shared.name, spans, "export request dropped: {message}");
                shared.fail(spans, &message);
                return;
            }
            Err(DeliveryError::Transient {
                message,
                retry_after,
            }) => (message, retry_after),
        };
        let delay = retry_after.unwrap_or_else(|| jitter(backoff));
        if retry.max_elapsed.is_zero() || first.elapsed() + delay > retry.max_elapsed {
            let message = format!(
                "{message} (gave up after {:.1?})",
                first.elapsed().max(Duration::from_millis(1))
            );
            tracing::warn!(sink = %shared.name, spans, "export request dropped: {message}");
            shared.fail(spans, &message);
            return;
        }
        tracing::debug!(sink = %shared.name, ?delay, "delivery failed, retrying: {message}");
        shared.retries.fetch_add(1, Ordering::Relaxed);
        shared.record_error(&message);
        tokio::select! {
            biased;
            () = until_cancelled(cancelled) => {
                shared.fail(spans, &format!("{message} (abandoned when the sink was closed)"));
                return;
            }
            () = tokio::time::sleep(delay) => {}
        }
        backoff = (backoff * 2).min(retry.max_backoff);
    }
}

/// Resolves once the sink is told to give up; never when its handle was merely dropped (the
/// worker then delivers what is queued in the background).
async fn until_cancelled(cancelled: &mut watch::Receiver<bool>) {
    if cancelled.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `base` ±20%, from the clock's sub-second noise (good enough to spread retries).
fn jitter(base: Duration) -> Duration {
    let noise = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.8 + 0.4 * f64::from(noise % 1000) / 1000.0;
    base.mul_f64(factor)
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
