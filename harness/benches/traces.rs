//! Trace-side throughput, printed as figures (not criterion: these are end-to-end rates).
//!
//! - spans/s ingested by the OTLP receiver over OTLP/HTTP protobuf and over OTLP/gRPC: the
//!   receiver runs on its own single-threaded runtime (one core), the load generator on another;
//!   the clock stops when the store holds every span;
//! - trace checks (every check of `checks::trace::all`) over 100,000 requests of 12 spans.
//!
//! `cargo bench -p parley-harness --bench traces`; `PARLEY_BENCH_SPANS` (default 1,000,000)
//! sets the spans sent per protocol, `PARLEY_BENCH_TRACES` (100,000) the requests checked.
//! Without `--bench` (as `cargo test --benches` runs it) a small size runs as a smoke test.

use std::time::{Duration, Instant};

/// The allocator the `parley` binary uses (the receiver allocates per span).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use parley_harness::checks::trace as trace_checks;
use parley_harness::otlp::{Receiver, ReceiverConfig, Span, SpanKind, Trace};
use parley_harness::requests::{CORRELATION_ATTR, RequestTraces};
use prost::Message;

const SPANS_PER_REQUEST: usize = 500;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// One export request of `SPANS_PER_REQUEST` spans in 50 traces, with realistic attributes.
fn request(n: usize) -> ExportTraceServiceRequest {
    let spans = (0..SPANS_PER_REQUEST)
        .map(|i| {
            let trace = (n * SPANS_PER_REQUEST + i) / 10;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(trace as u64 + 1).to_be_bytes());
            let mut span_id = [0u8; 8];
            span_id.copy_from_slice(&((n * SPANS_PER_REQUEST + i) as u64 + 1).to_be_bytes());
            ProtoSpan {
                trace_id: trace_id.to_vec(),
                span_id: span_id.to_vec(),
                name: "POST /api/charge".into(),
                kind: 2,
                start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
                end_time_unix_nano: 1_700_000_000_001_000_000 + i as u64,
                attributes: vec![
                    kv("http.request.method", "POST"),
                    kv("http.route", "/api/charge"),
                    kv(CORRELATION_ATTR, "c-0123456789abcdef"),
                    kv("server.address", "127.0.0.1"),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "payment-service")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Starts a receiver on a single-threaded runtime of its own thread (one core).
fn receiver_on_one_core() -> (
    Receiver,
    std::thread::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let config = ReceiverConfig {
                max_spans: usize::MAX / 2,
                ..ReceiverConfig::default()
            };
            let receiver = Receiver::start(config).await.expect("receiver");
            tx.send(receiver).expect("handed over");
            let _ = stop_rx.await;
        });
    });
    let receiver = rx.recv().expect("receiver started");
    (receiver, handle, stop_tx)
}

async fn ingest(protocol: &str, total_requests: usize) -> f64 {
    let (receiver, thread, stop) = receiver_on_one_core();
    let store = receiver.store();
    let bodies: Vec<ExportTraceServiceRequest> = (0..total_requests).map(request).collect();
    let total_spans = total_requests * SPANS_PER_REQUEST;
    let started = Instant::now();
    match protocol {
        "http/protobuf" => {
            let client = reqwest::Client::new();
            let url = format!("{}/v1/traces", receiver.http_endpoint());
            let encoded: Vec<Vec<u8>> = bodies.iter().map(|b| b.encode_to_vec()).collect();
            let started_send = Instant::now();
            futures::future::join_all((0..4).map(|lane| {
                let client = client.clone();
                let url = url.clone();
                let mine: Vec<Vec<u8>> = encoded.iter().skip(lane).step_by(4).cloned().collect();
                async move {
                    for body in mine {
                        let r = client
                            .post(&url)
                            .header("content-type", "application/x-protobuf")
                            .body(body)
                            .send()
                            .await
                            .expect("receiver answers");
                        assert!(r.status().is_success(), "{}", r.status());
                    }
                }
            }))
            .await;
            let _ = started_send;
        }
        _ => {
            let endpoint = receiver.grpc_endpoint();
            futures::future::join_all((0..4).map(|lane| {
                let endpoint = endpoint.clone();
                let mine: Vec<ExportTraceServiceRequest> =
                    bodies.iter().skip(lane).step_by(4).cloned().collect();
                async move {
                    let mut client = TraceServiceClient::connect(endpoint)
                        .await
                        .expect("gRPC connects")
                        .max_encoding_message_size(64 << 20);
                    for body in mine {
                        client.export(body).await.expect("export");
                    }
                }
            }))
            .await;
        }
    }
    store
        .wait_for_span_count(Duration::from_secs(300), total_spans)
        .await
        .expect("every span stored");
    let elapsed = started.elapsed();
    drop(receiver);
    let _ = stop.send(());
    let _ = thread.join();
    total_spans as f64 / elapsed.as_secs_f64()
}

/// 100k requests of 12 spans: gateway → order → payment, a publish and two consumers.
fn synthetic_requests(n: usize) -> Vec<RequestTraces> {
    (0..n)
        .map(|r| {
            let trace_id = format!("{:032x}", r + 1);
            let mk =
                |id: u64, parent: Option<u64>, service: &str, name: &str, kind: SpanKind| Span {
                    trace_id: trace_id.clone(),
                    span_id: format!("{id:016x}"),
                    parent_span_id: parent.map(|p| format!("{p:016x}")),
                    name: name.into(),
                    kind,
                    service_name: service.into(),
                    start_unix_nanos: id * 10,
                    end_unix_nanos: id * 10 + 5,
                    attributes: [(
                        CORRELATION_ATTR.to_string(),
                        serde_json::Value::String(format!("c-{r}")),
                    )]
                    .into_iter()
                    .collect(),
                    ..Span::default()
                };
            let spans = vec![
                mk(1, None, "gateway", "POST /api/orders", SpanKind::Server),
                mk(2, Some(1), "gateway", "POST /orders", SpanKind::Client),
                mk(
                    3,
                    Some(2),
                    "order-service",
                    "POST /orders",
                    SpanKind::Server,
                ),
                mk(
                    4,
                    Some(3),
                    "order-service",
                    "GET /api/stock/{sku}",
                    SpanKind::Client,
                ),
                mk(
                    5,
                    Some(4),
                    "inventory-service",
                    "GET /api/stock/{sku}",
                    SpanKind::Server,
                ),
                mk(
                    6,
                    Some(3),
                    "order-service",
                    "POST /api/charge",
                    SpanKind::Client,
                ),
                mk(
                    7,
                    Some(6),
                    "payment-service",
                    "POST /api/charge",
                    SpanKind::Server,
                ),
                mk(
                    8,
                    Some(3),
                    "order-service",
                    "append order-events",
                    SpanKind::Internal,
                ),
                mk(
                    9,
                    Some(3),
                    "order-service",
                    "publish orders.confirmed",
                    SpanKind::Producer,
                ),
                mk(
                    10,
                    Some(9),
                    "notification-service",
                    "process orders.confirmed",
                    SpanKind::Consumer,
                ),
                mk(
                    11,
                    Some(9),
                    "payment-service",
                    "process orders.confirmed",
                    SpanKind::Consumer,
                ),
                mk(
                    12,
                    Some(11),
                    "payment-service",
                    "publish payments.charged",
                    SpanKind::Producer,
                ),
            ];
            RequestTraces {
                correlation_id: format!("c-{r}"),
                traces: vec![Trace {
                    trace_id: trace_id.clone(),
                    spans,
                }],
            }
        })
        .collect()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let spans = if full {
        env_usize("PARLEY_BENCH_SPANS", 1_000_000)
    } else {
        10_000
    };
    let traces = if full {
        env_usize("PARLEY_BENCH_TRACES", 100_000)
    } else {
        1_000
    };
    let requests = spans.div_ceil(SPANS_PER_REQUEST);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!("trace-side throughput (receiver on one core; load generator on the other)");
    // The first fill of a fresh process pays the kernel for every new page the store grows
    // into (about two thirds of its time); a receiver that has run a while reuses freed memory.
    // Both are shown: the cold fill once, then each protocol warm.
    let cold = rt.block_on(ingest("grpc", requests));
    println!(
        "  cold first fill (fresh process), OTLP grpc {cold:>10.0} spans/s  ({} spans)",
        requests * SPANS_PER_REQUEST
    );
    for protocol in ["http/protobuf", "grpc"] {
        let rate = rt.block_on(ingest(protocol, requests));
        println!(
            "  receive + store, OTLP {protocol:<13} {:>10.0} spans/s  ({} spans in requests of {SPANS_PER_REQUEST})",
            rate,
            requests * SPANS_PER_REQUEST
        );
    }
    let requests = synthetic_requests(traces);
    let started = Instant::now();
    let mut failed = 0;
    for (i, rt) in requests.iter().enumerate() {
        for check in trace_checks::all("bench", rt) {
            failed += usize::from(
                !check.passed()
                    && !matches!(check.outcome, parley_harness::results::Outcome::Skipped(_)),
            );
        }
        if i == 0 {
            assert_eq!(failed, 0, "the synthetic request passes every check");
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(failed, 0);
    println!(
        "  trace checks: {} requests of 12 spans in {:.1} ms ({:.0} requests/s, {:.0} spans/s)",
        traces,
        elapsed.as_secs_f64() * 1e3,
        traces as f64 / elapsed.as_secs_f64(),
        traces as f64 * 12.0 / elapsed.as_secs_f64()
    );
}
