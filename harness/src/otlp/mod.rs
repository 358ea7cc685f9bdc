//! The embedded OTLP receiver (gRPC and HTTP `/v1/traces`, protobuf and JSON) and the
//! in-memory trace store it fills.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use parley_harness::otlp::{Receiver, ReceiverConfig};
//! use std::time::Duration;
//!
//! let receiver = Receiver::start(ReceiverConfig::default()).await?;
//! // point OTEL_EXPORTER_OTLP_ENDPOINT at receiver.grpc_endpoint() or receiver.http_endpoint()
//! let store = receiver.store();
//! store.wait_for(Duration::from_secs(10), |v| v.has_span("GET /orders")).await?;
//! receiver.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Data flow: both servers decode an `ExportTraceServiceRequest` and hand it to
//! [`TraceStore::ingest`], which validates and flattens each span into a [`Span`]
//! (`convert.rs`) and wakes every [`TraceStore::wait_for`]. The same decoded request is also
//! queued, without waiting, on every [`Sink`] (`sink.rs`): an OTLP JSON lines file
//! ([`JsonlWriter`], `jsonl.rs`) or a real collector ([`Forwarder`], `forward.rs`).
//!
//! ```no_run
//! # async fn collect() -> Result<(), Box<dyn std::error::Error>> {
//! use parley_harness::otlp::{ForwardConfig, Forwarder, JsonlWriter, Receiver, Sink, SinkOptions};
//!
//! let receiver = Receiver::builder()
//!     .sink(Sink::spawn(JsonlWriter::create("traces.jsonl")?, SinkOptions::default()))
//!     .sink(Sink::spawn(
//!         Forwarder::new(ForwardConfig::new("http://localhost:4318".parse()?))?,
//!         SinkOptions::default(),
//!     ))
//!     .start()
//!     .await?;
//! // … later: flush both sinks and see what they did
//! for stats in receiver.close().await.sinks {
//!     println!("{}: {} requests delivered", stats.name, stats.delivered_requests);
//! }
//! # Ok(()) }
//! ```

mod convert;
mod encode;
mod forward;
mod grpc;
mod http;
mod json;
mod jsonl;
mod model;
mod sink;
mod store;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use encode::spans_to_request;

pub use convert::{UNKNOWN_SERVICE, any_value_to_json, attributes_into_map};
pub use forward::{
    ForwardConfig, ForwardError, ForwardProtocol, ForwardTarget, Forwarder, parse_retry_after,
};
pub use http::{ProtoAny, RpcStatus, TRACES_PATH};
pub use json::{JsonDecodeError, decode_export_request};
pub use jsonl::{
    JsonlError, JsonlReader, JsonlWriter, encode_export_request, read_jsonl, read_jsonl_store,
};
pub use model::{Attributes, Span, SpanEvent, SpanKind, SpanLink, SpanStatus, StatusCode, Trace};
pub use sink::{
    DEFAULT_QUEUE_CAPACITY, DeliveryError, RetryPolicy, SharedRequest, Sink, SinkBackend,
    SinkOptions, SinkStats, span_count,
};
pub use store::{DEFAULT_MAX_SPANS, IngestSummary, StoreView, TraceStore, WaitTimeout};

/// Default bound on one export request, compressed and decompressed.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// How long [`Receiver::shutdown`] lets in-flight requests finish before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Errors starting the receiver.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error("cannot listen for OTLP/{protocol} on {addr}: {source}")]
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the local address of the OTLP/{protocol} listener: {source}")]
    LocalAddr {
        protocol: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Where the receiver listens and how much it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// OTLP/gRPC listen address; port 0 lets the OS choose.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address; port 0 lets the OS choose.
    pub http_addr: SocketAddr,
    /// Largest accepted request, compressed and decompressed.
    pub max_request_bytes: usize,
    /// Bound on stored spans (oldest traces are dropped beyond it).
    pub max_spans: usize,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Self {
            grpc_addr: loopback,
            http_addr: loopback,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_spans: DEFAULT_MAX_SPANS,
        }
    }
}

/// A running OTLP receiver. Stop it with [`Receiver::shutdown`] (or [`Receiver::close`] for
/// what its sinks did); dropping it aborts both servers and closes the sinks' queues (they
/// deliver what they hold in the background).
#[derive(Debug)]
pub struct Receiver {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    store: TraceStore,
    sinks: Vec<Sink>,
    dispatcher: sink::Dispatcher,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Records spans into a receiver's store and sinks; see [`Receiver::recorder`].
#[derive(Clone)]
pub struct SpanRecorder {
    store: TraceStore,
    dispatcher: sink::Dispatcher,
}

impl SpanRecorder {
    /// A recorder into a store alone (no sinks).
    pub fn store_only(store: TraceStore) -> Self {
        SpanRecorder {
            store,
            dispatcher: sink::Dispatcher::default(),
        }
    }

    pub fn record(&self, spans: Vec<Span>) {
        self.dispatcher.dispatch(&encode::spans_to_request(&spans));
        self.store.insert(spans);
    }
}

/// What [`Receiver::close`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    /// Each sink's final counts, in the order the sinks were added.
    pub sinks: Vec<SinkStats>,
}

/// Builds a receiver with sinks: `Receiver::builder().config(…).sink(…).start().await`.
#[derive(Debug, Default)]
pub struct ReceiverBuilder {
    config: ReceiverConfig,
    store: Option<TraceStore>,
    sinks: Vec<Sink>,
}

impl ReceiverBuilder {
    /// Where to listen and how much to accept (default: [`ReceiverConfig::default`]).
    pub fn config(mut self, config: ReceiverConfig) -> Self {
        self.config = config;
        self
    }

    /// Fill this store instead of a fresh one (`config.max_spans` is then ignored).
    pub fn store(mut self, store: TraceStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Also hand every accepted request to `sink` (any number of sinks).
    pub fn sink(mut self, sink: Sink) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Binds both listeners and starts serving. On error the sinks are dropped (their queues
    /// are empty).
    pub async fn start(self) -> Result<Receiver, OtlpError> {
        let store = self
            .store
            .unwrap_or_else(|| TraceStore::with_max_spans(self.config.max_spans));
        Receiver::start_with(self.config, store, self.sinks).await
    }
}

impl Receiver {
    /// Binds both listeners and starts serving, with a fresh store and no sinks.
    pub async fn start(config: ReceiverConfig) -> Result<Self, OtlpError> {
        let store = TraceStore::with_max_spans(config.max_spans);
        Self::start_with_store(config, store).await
    }

    /// Like [`Receiver::start`], filling an existing store (`config.max_spans` is ignored).
    pub async fn start_with_store(
        config: ReceiverConfig,
        store: TraceStore,
    ) -> Result<Self, OtlpError> {
        Self::start_with(config, store, Vec::new()).await
    }

    /// A builder for a receiver with sinks.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// Records spans parley made itself (a scenario's own spans) as if they had been
    /// received: into the store and onto every sink.
    pub fn recorder(&self) -> SpanRecorder {
        SpanRecorder {
            store: self.store.clone(),
            dispatcher: self.dispatcher.clone(),
        }
    }

    /// Like [`Receiver::start_with_store`], also handing every accepted request to `sinks`.
    pub async fn start_with(
        config: ReceiverConfig,
        store: TraceStore,
        sinks: Vec<Sink>,
    ) -> Result<Self, OtlpError> {
        let (grpc_listener, grpc_addr) = bind("gRPC", config.grpc_addr).await?;
        let (http_listener, http_addr) = bind("HTTP", config.http_addr).await?;
        let (stop, _) = watch::channel(false);
        let dispatcher = sink::Dispatcher::new(sinks.iter().map(Sink::input).collect());

        let grpc_service =
            grpc::service(store.clone(), dispatcher.clone(), config.max_request_bytes);
        let incoming =
            tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        let grpc_stop = stopped(stop.subscribe());
        let grpc_task = tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(grpc_service)
                .serve_with_incoming_shutdown(incoming, grpc_stop)
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "OTLP/gRPC server stopped with an error");
            }
        });

        let router = http::router(store.clone(), dispatcher.clone(), config.max_request_bytes);
        let http_stop = stopped(stop.subscribe());
        // Like the gRPC side: answers go out at once, not after the client's delayed ACK.
        let http_listener = axum::serve::ListenerExt::tap_io(http_listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let http_task = tokio::spawn(async move {
            let served = axum::serve(http_listener, router)
                .with_graceful_shutdown(http_stop)
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "OTLP/HTTP server stopped with an error");
            }
        });

        tracing::debug!(%grpc_addr, %http_addr, "OTLP receiver listening");
        Ok(Self {
            dispatcher: dispatcher.clone(),
            grpc_addr,
            http_addr,
            store,
            sinks,
            stop,
            tasks: vec![grpc_task, http_task],
        })
    }

    /// The bound gRPC address (with the OS-chosen port).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound HTTP address (with the OS-chosen port).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// `http://127.0.0.1:PORT`: for `OTEL_EXPORTER_OTLP_ENDPOINT` with the grpc protocol.
    pub fn grpc_endpoint(&self) -> String {
        endpoint(self.grpc_addr)
    }

    /// `http://127.0.0.1:PORT` (the base, without `/v1/traces`): for
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` with the http/protobuf or http/json protocol.
    pub fn http_endpoint(&self) -> String {
        endpoint(self.http_addr)
    }

    /// `http://127.0.0.1:PORT/v1/traces`: for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn http_traces_url(&self) -> String {
        format!("{}{TRACES_PATH}", self.http_endpoint())
    }

    /// The store the receiver fills (a cheap clone sharing the same spans).
    pub fn store(&self) -> TraceStore {
        self.store.clone()
    }

    /// What each sink did so far, in the order they were added.
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        self.sinks.iter().map(Sink::stats).collect()
    }

    /// Waits until every sink delivered (or gave up on) what it had queued and flushed.
    pub async fn flush_sinks(&self) {
        futures::future::join_all(self.sinks.iter().map(Sink::flush)).await;
    }

    /// Stops both servers gracefully (see [`Receiver::close`]), then flushes and closes the
    /// sinks.
    pub async fn shutdown(self) {
        self.close().await;
    }

    /// Stops both servers gracefully: no new connections, in-flight requests finish (aborted
    /// after a short grace period), and both tasks are joined. Then closes every sink: what
    /// it holds is delivered within its flush timeout, and its final counts are reported.
    pub async fn close(mut self) -> ReceiverReport {
        self.stop_servers().await;
        let sinks = std::mem::take(&mut self.sinks);
        ReceiverReport {
            sinks: futures::future::join_all(sinks.into_iter().map(Sink::close)).await,
        }
    }

    async fn stop_servers(&mut self) {
        self.stop.send_replace(true);
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                tracing::warn!("OTLP receiver did not stop within {SHUTDOWN_GRACE:?}; aborting");
                task.abort();
                // The task is aborted; its cancellation error carries nothing useful.
                let _ = task.await;
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Resolves once `stop` turns true or its sender is gone.
async fn stopped(mut stop: watch::Receiver<bool>) {
    // An error means the sender was dropped, which also means stop.
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn bind(
    protocol: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), OtlpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| OtlpError::Bind {
            protocol,
            addr,
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| OtlpError::LocalAddr { protocol, source })?;
    Ok((listener, local))
}

/// `http://ADDR`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
fn endpoint(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_use_loopback_for_unspecified_addresses() {
        let v4: SocketAddr = "0.0.0.0:4317".parse().expect("addr");
        assert_eq!(endpoint(v4), "http://127.0.0.1:4317");
        let v6: SocketAddr = "[::]:4318".parse().expect("addr");
        assert_eq!(endpoint(v6), "http://[::1]:4318");
        let local: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        assert_eq!(endpoint(local), "http://127.0.0.1:9");
    }

    #[tokio::test]
    async fn bind_failure_names_the_address() {
        let first = Receiver::start(ReceiverConfig::default())
            .await
            .expect("starts");
        let taken = ReceiverConfig {
            http_addr: first.http_addr(),
            ..ReceiverConfig::default()
        };
        let err = Receiver::start(taken).await.expect_err("port in use");
        assert!(
            err.to_string().contains(&first.http_addr().to_string()),
            "{err}"
        );
        first.shutdown().await;
    }
}
