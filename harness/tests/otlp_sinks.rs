//! The receiver's sinks against real clients on loopback: the OTLP JSON lines file reads
//! back to exactly the spans the store holds; forwarding to a second receiver (standing in for
//! a real collector) delivers every request unchanged over OTLP/HTTP (protobuf and JSON) and
//! OTLP/gRPC; a target that is down, stalled or throttling never slows the receiver, and what
//! is lost is counted. No sleeps: waits go through `TraceStore::wait_for` and
//! `Receiver::flush_sinks`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as proto;
use parley_harness::otlp::{
    ForwardConfig, ForwardProtocol, ForwardTarget, Forwarder, JsonlWriter, Receiver,
    ReceiverConfig, RetryPolicy, Sink, SinkOptions, SinkStats, Span, encode_export_request,
    read_jsonl, read_jsonl_store,
};
use prost::Message;

const WAIT: Duration = Duration::from_secs(20);

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

/// A two-span trace (`n` makes ids and names unique) using every attribute type, events,
/// links, status, trace state, flags, resource and scope details.
fn request(service: &str, n: u8) -> ExportTraceServiceRequest {
    use any_value::Value as V;
    let trace_id = vec![0x10 + n; 16];
    let root_id = vec![0x20 + n; 8];
    let attributes = vec![
        string_kv("http.request.method", "POST"),
        string_kv("empty.string", ""),
        kv("http.response.status_code", V::IntValue(201)),
        kv("big", V::IntValue(i64::MIN)),
        kv("ratio", V::DoubleValue(0.1)),
        kv("inf", V::DoubleValue(f64::INFINITY)),
        kv("ok", V::BoolValue(true)),
        kv("raw", V::BytesValue(vec![0, 1, 0xfe, 0xff])),
        kv(
            "list",
            V::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(V::StringValue("a".into())),
                    },
                    AnyValue {
                        value: Some(V::IntValue(2)),
                    },
                ],
            }),
        ),
        kv(
            "map",
            V::KvlistValue(KeyValueList {
                values: vec![kv("nested", V::BoolValue(false))],
            }),
        ),
    ];
    let root = proto::Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        trace_state: "vendor=1".into(),
        flags: 0x101,
        name: format!("POST /orders {n}"),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(n),
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes,
        dropped_attributes_count: 1,
        events: vec![proto::span::Event {
            time_unix_nano: 1_700_000_000_100_000_000,
            name: "exception".into(),
            attributes: vec![string_kv("exception.message", "boom")],
            ..Default::default()
        }],
        status: Some(proto::Status {
            code: 2,
            message: "failed".into(),
        }),
        ..Default::default()
    };
    let child = proto::Span {
        trace_id: trace_id.clone(),
        span_id: vec![0x30 + n; 8],
        parent_span_id: root_id.clone(),
        name: format!("orders.created publish {n}"),
        kind: 4,
        start_time_unix_nano: 1_700_000_000_200_000_000,
        end_time_unix_nano: 1_700_000_000_300_000_000,
        attributes: vec![string_kv("messaging.system", "nats")],
        links: vec![proto::span::Link {
            trace_id: vec![0x77; 16],
            span_id: vec![0x88; 8],
            trace_state: "x=y".into(),
            attributes: vec![kv("link.n", V::IntValue(i64::from(n)))],
            flags: 1,
            ..Default::default()
        }],
        status: Some(proto::Status {
            code: 1,
            message: String::new(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![proto::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_kv("service.name", service),
                    string_kv("deployment.environment.name", "test"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![proto::ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "parley-test".into(),
                    version: "1.2.3".into(),
                    attributes: vec![string_kv("scope.attr", "s")],
                    ..Default::default()
                }),
                spans: vec![root, child],
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.29.0".into(),
        }],
    }
}

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| (&a.trace_id, &a.span_id).cmp(&(&b.trace_id, &b.span_id)));
    spans
}

fn jsonl_sink(path: &Path) -> Sink {
    Sink::spawn(
        JsonlWriter::create(path).expect("the file opens"),
        SinkOptions::default(),
    )
}

fn forward_sink(target: ForwardTarget, options: SinkOptions) -> Sink {
    Sink::spawn(
        Forwarder::new(ForwardConfig::new(target)).expect("the forwarder builds"),
        options,
    )
}

async fn send_grpc(receiver: &Receiver, request: ExportTraceServiceRequest) {
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connects");
    let response = client.export(request).await.expect("gRPC export");
    assert!(response.into_inner().partial_success.is_none());
}

async fn send_http(receiver: &Receiver, content_type: &str, body: Vec<u8>) {
    let response = reqwest::Client::new()
        .post(receiver.http_traces_url())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("HTTP export");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// Sends `requests[0]` over gRPC, `[1]` as HTTP protobuf, `[2]` as HTTP JSON.
async fn send_three_ways(receiver: &Receiver, requests: &[ExportTraceServiceRequest]) {
    send_grpc(receiver, requests[0].clone()).await;
    send_http(
        receiver,
        "application/x-protobuf",
        requests[1].encode_to_vec(),
    )
    .await;
    let json = encode_export_request(&requests[2]).into_bytes();
    send_http(receiver, "application/json", json).await;
}

async fn wait_for_spans(receiver: &Receiver, count: usize) {
    receiver
        .store()
        .wait_for(WAIT, |v| v.span_count() >= count)
        .await
        .expect("spans arrive");
}

fn three_requests(service: &str) -> Vec<ExportTraceServiceRequest> {
    (1..=3).map(|n| request(service, n)).collect()
}

#[tokio::test]
async fn the_file_reads_back_to_the_spans_the_store_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("traces.jsonl");
    let receiver = Receiver::builder()
        .sink(jsonl_sink(&path))
        .start()
        .await
        .expect("receiver starts");
    let requests = three_requests("order");
    send_three_ways(&receiver, &requests).await;
    // Empty requests are not written.
    send_http(&receiver, "application/json", b"{}".to_vec()).await;
    wait_for_spans(&receiver, 6).await;

    receiver.flush_sinks().await;
    let from_file = read_jsonl_store(&path).expect("the file reads");
    assert_eq!(from_file.span_count(), 6);
    assert_eq!(
        sorted(from_file.spans()),
        sorted(receiver.store().spans()),
        "the file holds exactly the spans the store holds"
    );
    // At the protocol level too: every request as sent, in order.
    assert_eq!(read_jsonl(&path).expect("the file reads"), requests);

    let store = receiver.store();
    let report = receiver.close().await;
    assert_eq!(report.sinks.len(), 1);
    let stats = &report.sinks[0];
    assert!(stats.name.contains("traces.jsonl"), "{stats:?}");
    assert_eq!((stats.delivered_requests, stats.delivered_spans), (3, 6));
    assert_eq!(stats.lost_requests(), 0, "{stats:?}");
    let span = store
        .spans()
        .into_iter()
        .find(|s| s.name == "POST /orders 1")
        .expect("root span");
    assert_eq!(span.resource_attr_str("service.name"), Some("order"));
    assert_eq!(span.attr("inf"), Some(&serde_json::json!("Infinity")));

    // A second receiver appending to the same file adds lines after the first ones.
    let again = Receiver::builder()
        .sink(jsonl_sink(&path))
        .start()
        .await
        .expect("receiver starts");
    send_grpc(&again, request("payment", 4)).await;
    again.close().await;
    assert_eq!(read_jsonl(&path).expect("reads").len(), 4);
}

/// Receiver A (writing its own file) forwards to receiver B (writing another): B gets every
/// request unchanged.
async fn forward_and_compare(target_of: impl FnOnce(&Receiver) -> ForwardTarget) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file_a, file_b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let collector = Receiver::builder()
        .sink(jsonl_sink(&file_b))
        .start()
        .await
        .expect("collector starts");
    let target = target_of(&collector);
    let receiver = Receiver::builder()
        .sink(jsonl_sink(&file_a))
        .sink(forward_sink(target.clone(), SinkOptions::default()))
        .start()
        .await
        .expect("receiver starts");
    let requests = three_requests("inventory");
    send_three_ways(&receiver, &requests).await;
    wait_for_spans(&receiver, 6).await;

    let store = receiver.store();
    let report = receiver.close().await;
    let forward = &report.sinks[1];
    assert!(forward.name.contains(&target.to_string()), "{forward:?}");
    assert_eq!(
        (forward.delivered_requests, forward.delivered_spans),
        (3, 6),
        "{forward:?}"
    );
    assert_eq!(forward.lost_requests(), 0, "{forward:?}");

    // Delivered means answered: B holds everything already.
    assert_eq!(collector.store().span_count(), 6);
    assert_eq!(
        sorted(collector.store().spans()),
        sorted(store.spans()),
        "{target}: the collector holds every span unchanged"
    );
    collector.flush_sinks().await;
    let (a, b) = (
        read_jsonl(&file_a).expect("a"),
        read_jsonl(&file_b).expect("b"),
    );
    assert_eq!(a, requests);
    assert_eq!(
        b, requests,
        "{target}: every request arrives unchanged, in order"
    );
    collector.close().await;
}

#[tokio::test]
async fn forwards_over_http_protobuf() {
    forward_and_compare(|c| c.http_endpoint().parse().expect("url")).await;
}

#[tokio::test]
async fn forwards_over_http_json_to_an_explicit_traces_url() {
    forward_and_compare(|c| {
        c.http_traces_url()
            .parse::<ForwardTarget>()
            .expect("url")
            .with_protocol(ForwardProtocol::HttpJson)
            .expect("http/json")
    })
    .await;
}

#[tokio::test]
async fn forwards_over_grpc() {
    forward_and_compare(|c| format!("grpc://{}", c.grpc_addr()).parse().expect("url")).await;
}

#[tokio::test]
async fn forwards_over_grpc_with_an_http_url_and_gzip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = Receiver::start(ReceiverConfig::default())
        .await
        .expect("collector starts");
    let target = collector
        .grpc_endpoint()
        .parse::<ForwardTarget>()
        .expect("url")
        .with_protocol(ForwardProtocol::Grpc)
        .expect("grpc");
    let mut config = ForwardConfig::new(target);
    config.gzip = true;
    config.headers = vec![("X-Scope-OrgID".into(), "tenant-1".into())];
    let receiver = Receiver::builder()
        .sink(jsonl_sink(&dir.path().join("a.jsonl")))
        .sink(Sink::spawn(
            Forwarder::new(config).expect("builds"),
            SinkOptions::default(),
        ))
        .start()
        .await
        .expect("receiver starts");
    send_three_ways(&receiver, &three_requests("shipping")).await;
    let store = receiver.store();
    let report = receiver.close().await;
    assert_eq!(report.sinks[1].delivered_spans, 6, "{:?}", report.sinks[1]);
    assert_eq!(sorted(collector.store().spans()), sorted(store.spans()));
    collector.shutdown().await;
}

fn fast_retries(max_elapsed: Duration) -> SinkOptions {
    SinkOptions {
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            max_elapsed,
        },
        ..SinkOptions::default()
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("addr")
}

#[tokio::test]
async fn a_target_that_is_down_loses_requests_but_never_the_receiver() {
    let down = closed_port();
    for url in [format!("http://{down}"), format!("grpc://{down}")] {
        let target: ForwardTarget = url.parse().expect("url");
        let receiver = Receiver::builder()
            .sink(forward_sink(
                target,
                fast_retries(Duration::from_millis(300)),
            ))
            .start()
            .await
            .expect("receiver starts");
        let started = Instant::now();
        send_three_ways(&receiver, &three_requests("payment")).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{url}: the receiver answered at once ({:?})",
            started.elapsed()
        );
        wait_for_spans(&receiver, 6).await;
        receiver.flush_sinks().await;
        let stats: SinkStats = receiver.sink_stats().remove(0);
        assert_eq!(
            (stats.failed_requests, stats.failed_spans),
            (3, 6),
            "{url}: {stats:?}"
        );
        assert_eq!(stats.delivered_requests, 0);
        assert!(
            stats.retries >= 1,
            "{url}: retried before giving up: {stats:?}"
        );
        let error = stats.last_error.clone().unwrap_or_default();
        assert!(
            error.contains(&down.to_string()) && error.contains("gave up after"),
            "{url}: the error names the target: {error}"
        );
        // Still serving.
        send_grpc(&receiver, request("payment", 9)).await;
        wait_for_spans(&receiver, 8).await;
        let report = receiver.close().await;
        assert_eq!(report.sinks[0].failed_requests, 4, "{url}");
    }
}

#[tokio::test]
async fn a_stalled_target_fills_the_queue_and_drops_are_counted() {
    // Accepts connections and never answers.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let hole = black_hole.local_addr().expect("addr");
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    let acceptor = tokio::spawn(async move {
        while let Ok((socket, _)) = black_hole.accept().await {
            keep.lock().expect("lock").push(socket);
        }
    });
    let options = SinkOptions {
        queue_capacity: 2,
        flush_timeout: Duration::from_millis(300),
        ..SinkOptions::default()
    };
    let receiver = Receiver::builder()
        .sink(forward_sink(
            format!("http://{hole}").parse().expect("url"),
            options,
        ))
        .start()
        .await
        .expect("receiver starts");
    let started = Instant::now();
    for n in 0..10 {
        send_grpc(&receiver, request("notification", n)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the receiver never waits for a sink ({:?})",
        started.elapsed()
    );
    wait_for_spans(&receiver, 20).await;
    let stats = receiver.sink_stats().remove(0);
    // One in delivery, two queued, the rest dropped.
    assert!(stats.dropped_requests >= 7, "{stats:?}");
    assert_eq!(stats.dropped_spans, 2 * stats.dropped_requests);
    let closing = Instant::now();
    let report = receiver.close().await;
    assert!(
        closing.elapsed() < Duration::from_secs(8),
        "close is bounded"
    );
    let stats = &report.sinks[0];
    assert_eq!(stats.delivered_requests, 0);
    assert_eq!(stats.queued_requests + stats.dropped_requests, 10);
    assert_eq!(stats.failed_requests, stats.queued_requests, "{stats:?}");
    assert_eq!(stats.lost_spans(), 20);
    acceptor.abort();
}

/// A collector that answers with `script` in turn (then 200), recording what it got.
async fn scripted_collector(
    script: Vec<(u16, Option<&'static str>)>,
) -> (SocketAddr, Arc<Mutex<Vec<(Instant, Vec<u8>)>>>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    let got = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script.into_iter()));
    let record = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let record = Arc::clone(&record);
            let script = Arc::clone(&script);
            async move {
                record
                    .lock()
                    .expect("lock")
                    .push((Instant::now(), body.to_vec()));
                let (status, retry_after) =
                    script.lock().expect("lock").next().unwrap_or((200, None));
                let mut headers = HeaderMap::new();
                if let Some(after) = retry_after {
                    headers.insert("retry-after", after.parse().expect("header"));
                }
                let status = StatusCode::from_u16(status).expect("status");
                (status, headers, format!("scripted {status}"))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, got)
}

#[tokio::test]
async fn throttling_is_retried_after_the_requested_delay_and_rejections_are_not() {
    let (addr, got) = scripted_collector(vec![
        (503, Some("1")),
        (429, None),
        (200, None),
        (400, None),
    ])
    .await;
    let receiver = Receiver::builder()
        .sink(forward_sink(
            format!("http://{addr}").parse().expect("url"),
            fast_retries(Duration::from_secs(10)),
        ))
        .start()
        .await
        .expect("receiver starts");
    let requests = three_requests("gateway");
    send_grpc(&receiver, requests[0].clone()).await;
    send_grpc(&receiver, requests[1].clone()).await;
    receiver.flush_sinks().await;
    let stats = receiver.sink_stats().remove(0);
    assert_eq!(stats.delivered_requests, 1, "{stats:?}");
    assert_eq!(stats.retries, 2, "{stats:?}");
    assert_eq!(
        stats.failed_requests, 1,
        "the 400 is not retried: {stats:?}"
    );
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("400 Bad Request: scripted 400")),
        "{stats:?}"
    );
    let got = got.lock().expect("lock").clone();
    assert_eq!(got.len(), 4);
    assert!(
        got[1].0 - got[0].0 >= Duration::from_secs(1),
        "Retry-After: 1 is honoured ({:?})",
        got[1].0 - got[0].0
    );
    // The body is the request, unchanged.
    for (i, expected) in [0, 0, 0, 1].into_iter().enumerate() {
        let body = ExportTraceServiceRequest::decode(got[i].1.as_slice()).expect("protobuf");
        assert_eq!(body, requests[expected]);
    }
    receiver.shutdown().await;
}
