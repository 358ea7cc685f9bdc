//! The embedded OTLP receiver against real clients on loopback: the generated tonic client,
//! raw HTTP (protobuf, JSON, gzip, bad input) and the official Rust SDK exporters.
//! No sleeps: every wait goes through `TraceStore::wait_for`.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as proto;
use parley_harness::otlp::{Receiver, ReceiverConfig, RpcStatus, SpanKind, StatusCode};
use prost::Message;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
const EXAMPLE: &str = include_str!("../src/otlp/testdata/trace-example.json");

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

fn trace_id(n: u8) -> Vec<u8> {
    let mut id = vec![0xab; 16];
    id[15] = n;
    id
}

fn span_id(n: u8) -> Vec<u8> {
    let mut id = vec![0xcd; 8];
    id[7] = n;
    id
}

/// A span of trace `trace`, id `id`, child of `parent` (if any).
fn span(trace: u8, id: u8, parent: Option<u8>, name: &str) -> proto::Span {
    proto::Span {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.into(),
        kind: if parent.is_some() { 3 } else { 2 },
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 3_500,
        attributes: vec![
            string_kv("http.request.method", "POST"),
            kv("http.response.status_code", any_value::Value::IntValue(201)),
        ],
        ..Default::default()
    }
}

fn request(service: &str, spans: Vec<proto::Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![proto::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![proto::ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "parley-test".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("gzip write");
    encoder.finish().expect("gzip finish")
}

async fn start() -> Receiver {
    Receiver::start(ReceiverConfig::default())
        .await
        .expect("receiver starts")
}

/// POSTs `body` to the receiver's `/v1/traces`.
async fn post(
    receiver: &Receiver,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(receiver.http_traces_url())
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        req = req.header("content-encoding", encoding);
    }
    req.send().await.expect("HTTP request")
}

async fn response_bytes(response: reqwest::Response) -> Vec<u8> {
    response.bytes().await.expect("response body").to_vec()
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn grpc_export_plain_and_gzip() {
    let receiver = start().await;
    let store = receiver.store();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connect");
    let response = client
        .export(request("order", vec![span(1, 1, None, "POST /orders")]))
        .await
        .expect("export")
        .into_inner();
    assert_eq!(response.partial_success, None);

    let mut gzip_client = client
        .clone()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    gzip_client
        .export(request("payment", vec![span(1, 2, Some(1), "charge")]))
        .await
        .expect("gzip export");

    store
        .wait_for(WAIT, |v| v.span_count() == 2)
        .await
        .expect("both spans arrive");
    let trace = store.trace(&hex::encode(trace_id(1))).expect("one trace");
    let root = trace.find("POST /orders").expect("root");
    assert_eq!(root.service_name, "order");
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.scope_name, "parley-test");
    assert_eq!(root.attr_str("http.request.method"), Some("POST"));
    assert_eq!(root.attr_i64("http.response.status_code"), Some(201));
    assert_eq!(root.duration(), Duration::from_nanos(2_500));
    let child = trace.find("charge").expect("child");
    assert_eq!(child.service_name, "payment");
    assert_eq!(child.parent_span_id.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(trace.children(&root.span_id).len(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn grpc_rejects_oversized_and_bad_ids() {
    let receiver = Receiver::start(ReceiverConfig {
        max_request_bytes: 2048,
        ..ReceiverConfig::default()
    })
    .await
    .expect("receiver starts");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connect");
    let mut big = span(1, 1, None, "big");
    big.attributes.push(string_kv("blob", &"x".repeat(4096)));
    let err = client
        .export(request("order", vec![big]))
        .await
        .expect_err("too large");
    assert_eq!(err.code(), tonic::Code::OutOfRange, "{err}");

    let mut bad = span(1, 2, None, "bad");
    bad.trace_id = vec![1, 2, 3];
    let response = client
        .export(request("order", vec![bad, span(1, 3, None, "good")]))
        .await
        .expect("export")
        .into_inner();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("trace_id"),
        "{}",
        partial.error_message
    );
    let store = receiver.store();
    store
        .wait_for(WAIT, |v| v.has_span("good"))
        .await
        .expect("good span");
    assert!(!store.view(|v| v.has_span("bad")));
    assert_eq!(store.rejected_spans(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn http_protobuf_and_gzip() {
    let receiver = start().await;
    let store = receiver.store();

    let body = request("order", vec![span(1, 1, None, "plain")]).encode_to_vec();
    let response = post(&receiver, PROTOBUF, None, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), PROTOBUF);
    let decoded = ExportTraceServiceResponse::decode(response_bytes(response).await.as_slice())
        .expect("protobuf response");
    assert_eq!(decoded.partial_success, None);

    let body = gzip(&request("order", vec![span(1, 2, Some(1), "gzipped")]).encode_to_vec());
    let response = post(&receiver, PROTOBUF, Some("gzip"), body).await;
    assert_eq!(response.status(), 200);

    let json = gzip(EXAMPLE.as_bytes());
    let response = post(
        &receiver,
        "application/json; charset=utf-8",
        Some("gzip"),
        json,
    )
    .await;
    assert_eq!(response.status(), 200);

    store
        .wait_for(WAIT, |v| v.span_count() == 3)
        .await
        .expect("three spans");
    assert!(store.view(|v| v.has_span("plain") && v.has_span("gzipped")));
    receiver.shutdown().await;
}

#[tokio::test]
async fn http_json_official_example() {
    let receiver = start().await;
    let response = post(&receiver, JSON, None, EXAMPLE.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), JSON);
    let body: Value = serde_json::from_slice(&response_bytes(response).await).expect("JSON");
    assert_eq!(body, serde_json::json!({}));

    let store = receiver.store();
    store
        .wait_for(WAIT, |v| v.has_span("I'm a server span"))
        .await
        .expect("example span");
    let span = store.spans().remove(0);
    assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.span_id, "eee19b7ec3c1b174");
    assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.service_name, "my.service");
    assert_eq!(span.scope_name, "my.library");
    assert_eq!(span.scope_version, "1.0.0");
    assert_eq!(span.start_unix_nanos, 1_544_712_660_000_000_000);
    assert_eq!(span.duration(), Duration::from_secs(1));
    assert_eq!(span.attr_str("my.span.attr"), Some("some value"));
    assert_eq!(span.status.code, StatusCode::Unset);
    receiver.shutdown().await;
}

#[tokio::test]
async fn http_bad_input_is_rejected_and_the_receiver_keeps_serving() {
    let receiver = Receiver::start(ReceiverConfig {
        max_request_bytes: 4096,
        ..ReceiverConfig::default()
    })
    .await
    .expect("receiver starts");

    // Undecodable protobuf: 400 with a google.rpc.Status in protobuf.
    let response = post(&receiver, PROTOBUF, None, vec![0xff; 64]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(content_type(&response), PROTOBUF);
    let status = RpcStatus::decode(response_bytes(response).await.as_slice()).expect("Status");
    assert_eq!(status.code, 3);
    assert!(status.message.contains("protobuf"), "{}", status.message);

    // Undecodable JSON: 400 with a JSON Status.
    let response = post(&receiver, JSON, None, b"{\"resourceSpans\": [".to_vec()).await;
    assert_eq!(response.status(), 400);
    let status: Value = serde_json::from_slice(&response_bytes(response).await).expect("JSON");
    assert_eq!(status["code"], 3);
    assert!(status["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Structurally wrong JSON names the field.
    let bad_id = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#;
    let response = post(&receiver, JSON, None, bad_id.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 400);
    let status: Value = serde_json::from_slice(&response_bytes(response).await).expect("JSON");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("spans[0].traceId"), "{message}");

    // Bad gzip.
    let response = post(
        &receiver,
        PROTOBUF,
        Some("gzip"),
        b"not gzip at all".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let status = RpcStatus::decode(response_bytes(response).await.as_slice()).expect("Status");
    assert!(status.message.contains("gzip"), "{}", status.message);

    // Unsupported content type and content encoding.
    let response = post(&receiver, "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    let response = post(&receiver, PROTOBUF, Some("br"), vec![1, 2, 3]).await;
    assert_eq!(response.status(), 415);

    // Too large: raw, and a small gzip that inflates past the limit.
    let response = post(&receiver, PROTOBUF, None, vec![0; 8192]).await;
    assert_eq!(response.status(), 413);
    let bomb = gzip(&vec![b' '; 1 << 20]);
    assert!(bomb.len() < 4096);
    let response = post(&receiver, JSON, Some("gzip"), bomb).await;
    assert_eq!(response.status(), 413);

    // Wrong method and wrong path.
    let client = reqwest::Client::new();
    let response = client
        .get(receiver.http_traces_url())
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 405);
    let response = client
        .post(format!("{}/v1/logs", receiver.http_endpoint()))
        .header("content-type", PROTOBUF)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 404);

    // A span with a bad trace id: 200 with partial success, that span not stored.
    let mut bad = span(7, 1, None, "bad-id");
    bad.trace_id = vec![0xab; 15];
    let body = request("order", vec![bad.clone(), span(7, 2, None, "good-id")]).encode_to_vec();
    let response = post(&receiver, PROTOBUF, None, body).await;
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response_bytes(response).await.as_slice())
        .expect("response");
    let partial = decoded.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(!partial.error_message.is_empty());

    // The same in JSON: a wrong-length (but valid hex) id is a rejected span.
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"abcd","spanId":"0102030405060708","name":"bad-json-id"}]}]}]}"#;
    let response = post(&receiver, JSON, None, json.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response_bytes(response).await).expect("JSON");
    assert_eq!(body["partialSuccess"]["rejectedSpans"], 1);

    // Still serving.
    let body = request("order", vec![span(8, 1, None, "after")]).encode_to_vec();
    assert_eq!(post(&receiver, PROTOBUF, None, body).await.status(), 200);
    let store = receiver.store();
    store
        .wait_for(WAIT, |v| v.has_span("after"))
        .await
        .expect("receiver still serves");
    assert!(store.view(|v| v.has_span("good-id")));
    assert!(store.view(|v| !v.has_span("bad-id") && !v.has_span("bad-json-id")));
    assert_eq!(store.span_count(), 2);
    assert_eq!(store.rejected_spans(), 2);
    receiver.shutdown().await;
}

#[tokio::test]
async fn spans_group_into_traces() {
    let receiver = start().await;
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connect");
    let spans_a = vec![
        span(1, 1, None, "a-root"),
        span(1, 2, Some(1), "a-child-1"),
        span(2, 10, None, "b-root"),
    ];
    client
        .export(request("order", spans_a))
        .await
        .expect("export");
    let spans_b = vec![
        span(1, 3, Some(1), "a-child-2"),
        span(2, 11, Some(10), "b-child"),
        span(1, 4, Some(2), "a-grandchild"),
    ];
    client
        .export(request("payment", spans_b))
        .await
        .expect("export");

    let store = receiver.store();
    store
        .wait_for(WAIT, |v| v.trace_count() == 2 && v.span_count() == 6)
        .await
        .expect("two traces");
    let traces = store.traces();
    assert_eq!(traces.len(), 2);
    let a = &traces[0];
    assert_eq!(a.trace_id, hex::encode(trace_id(1)));
    assert_eq!(a.spans.len(), 4);
    let roots = a.roots();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].name, "a-root");
    let children: Vec<_> = a
        .children(&roots[0].span_id)
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(children, ["a-child-1", "a-child-2"]);
    let grandchild = a.find("a-grandchild").expect("grandchild");
    assert_eq!(
        a.parent(grandchild).map(|s| s.name.as_str()),
        Some("a-child-1")
    );
    assert_eq!(
        a.services().into_iter().collect::<Vec<_>>(),
        ["order", "payment"]
    );
    assert!(a.orphans().is_empty());

    let b = &traces[1];
    assert_eq!(b.roots()[0].name, "b-root");
    assert_eq!(b.children(&b.roots()[0].span_id)[0].name, "b-child");
    assert_eq!(store.trace_ids(), [a.trace_id.clone(), b.trace_id.clone()]);
    receiver.shutdown().await;
}

/// Emits a parent and a child span through the official SDK with a batch processor, then
/// flushes. Runs on a blocking thread: the SDK's flush blocks.
fn emit_sdk_spans(exporter: opentelemetry_otlp::SpanExporter, service: &'static str) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("parley-sdk-test");
    tracer.in_span("sdk-parent", |cx| {
        cx.span().set_attribute(KeyValue::new("order.id", "o-42"));
        tracer.in_span("sdk-child", |cx| {
            cx.span().set_attribute(KeyValue::new("attempt", 2_i64));
        });
    });
    provider.force_flush().expect("force_flush");
    provider.shutdown().expect("shutdown");
}

async fn assert_sdk_spans(receiver: &Receiver, service: &str) {
    let store = receiver.store();
    store
        .wait_for(WAIT, |v| {
            v.has_span("sdk-parent") && v.has_span("sdk-child")
        })
        .await
        .expect("SDK spans arrive");
    let traces = store.traces();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    let parent = trace.find("sdk-parent").expect("parent");
    let child = trace.find("sdk-child").expect("child");
    assert!(parent.is_root());
    assert_eq!(
        child.parent_span_id.as_deref(),
        Some(parent.span_id.as_str())
    );
    assert_eq!(parent.service_name, service);
    assert_eq!(parent.scope_name, "parley-sdk-test");
    assert_eq!(parent.attr_str("order.id"), Some("o-42"));
    assert_eq!(child.attr_i64("attempt"), Some(2));
    assert_eq!(parent.kind, SpanKind::Internal);
    assert!(parent.end_unix_nanos >= parent.start_unix_nanos && parent.start_unix_nanos > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exporter_over_grpc() {
    use opentelemetry_otlp::WithExportConfig;
    let receiver = start().await;
    let endpoint = receiver.grpc_endpoint();
    tokio::task::spawn_blocking(move || {
        // Built on a runtime thread: the tonic channel spawns its worker on this runtime.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .expect("tonic exporter");
        emit_sdk_spans(exporter, "sdk-grpc-service");
    })
    .await
    .expect("SDK thread");
    assert_sdk_spans(&receiver, "sdk-grpc-service").await;
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_exporter_over_http() {
    use opentelemetry_otlp::WithExportConfig;
    let receiver = start().await;
    let url = receiver.http_traces_url();
    // The blocking reqwest client must live and die outside the async runtime: a plain
    // thread, joined from a blocking task so no runtime worker blocks.
    let sdk_thread = std::thread::spawn(move || {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .expect("HTTP exporter");
        emit_sdk_spans(exporter, "sdk-http-service");
    });
    tokio::task::spawn_blocking(move || sdk_thread.join())
        .await
        .expect("join task")
        .expect("SDK thread");
    assert_sdk_spans(&receiver, "sdk-http-service").await;
    receiver.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_both_servers() {
    let receiver = start().await;
    let http_addr = receiver.http_addr();
    let grpc_addr = receiver.grpc_addr();
    // A kept-alive connection must not hold up the graceful shutdown.
    let client = reqwest::Client::new();
    let body = request("order", vec![span(1, 1, None, "x")]).encode_to_vec();
    let response = client
        .post(receiver.http_traces_url())
        .header("content-type", PROTOBUF)
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let started = std::time::Instant::now();
    receiver.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "graceful shutdown took too long"
    );
    assert!(tokio::net::TcpStream::connect(http_addr).await.is_err());
    assert!(tokio::net::TcpStream::connect(grpc_addr).await.is_err());
}
