//! What every end-to-end test of the samples needs: a private nats-server, the OTLP receiver
//! and the six services wired to both, plus helpers to drive them and read their traces.

#![allow(dead_code)]

use std::time::Duration;

use async_nats::jetstream;
use parley_harness::nats::NatsServer;
use parley_harness::otlp::{Receiver, ReceiverConfig, Span, SpanKind};
use parley_harness::requests::{RequestTraces, wait_for_request};
use parley_samples::Service;
use parley_samples::stack::{Launcher, Stack, StackOptions};
use serde_json::Value;

pub const TOKEN: &str = "demo-token";
pub const WAIT: Duration = Duration::from_secs(20);

pub const ALL: &[&str] = &[
    "gateway",
    "order-service",
    "payment-service",
    "inventory-service",
    "shipping-service",
    "notification-service",
];

pub struct Env {
    pub nats: NatsServer,
    pub receiver: Receiver,
    pub stack: Stack,
    pub http: reqwest::Client,
    pub js: jetstream::Context,
    pub nats_client: async_nats::Client,
}

pub fn launcher() -> Launcher {
    Launcher::new(env!("CARGO_BIN_EXE_parley-samples"), &[])
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut StackOptions)) -> Env {
        let nats = tokio::task::spawn_blocking(NatsServer::start)
            .await
            .expect("join")
            .expect("a private nats-server (apt-get install nats-server)");
        let receiver = Receiver::start(ReceiverConfig::default())
            .await
            .expect("OTLP receiver");
        let mut options = StackOptions::new(nats.url());
        options.otlp_endpoint = Some(receiver.http_endpoint());
        configure(&mut options);
        let stack = Stack::start(launcher(), options)
            .await
            .expect("services start");
        let nats_client = async_nats::connect(nats.url()).await.expect("nats client");
        let js = jetstream::new(nats_client.clone());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client");
        Env {
            nats,
            receiver,
            stack,
            http,
            js,
            nats_client,
        }
    }

    pub fn url(&self, service: Service) -> String {
        self.stack.url(service)
    }

    /// A request through the gateway with the demo token and the given correlation ID.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        correlation: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.stack.gateway_url()))
            .bearer_auth(TOKEN)
            .header("x-correlation-id", correlation);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    pub async fn post(&self, path: &str, body: &Value, correlation: &str) -> (u16, Value) {
        let (status, _, body) = self
            .call(reqwest::Method::POST, path, Some(body), correlation)
            .await;
        (status, body)
    }

    /// GET on a service directly (no gateway), as JSON.
    pub async fn get_json(&self, url: &str) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .expect("service answers")
            .json()
            .await
            .expect("JSON body")
    }

    /// The order as the order service rebuilds it from its events.
    pub async fn order(&self, order_id: &str) -> Value {
        self.get_json(&format!("{}/orders/{order_id}", self.url(Service::Order)))
            .await
    }

    /// Waits (bounded) until the order reaches a final status and returns it.
    pub async fn final_order(&self, order_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let order = self.order(order_id).await;
            let status = order["status"].as_str().unwrap_or_default();
            if matches!(status, "completed" | "cancelled" | "confirmed") {
                return order;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "order {order_id} did not finish within {WAIT:?}: {order}\norder log:\n{}",
                    self.stack.log(Service::Order)
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The traces of one request, once every listed service has sent spans for it.
    pub async fn traces(&self, correlation: &str, services: &[&str]) -> RequestTraces {
        match wait_for_request(&self.receiver.store(), correlation, services, WAIT).await {
            Ok(t) => t,
            Err(e) => {
                let seen = self
                    .receiver
                    .store()
                    .view(|v| RequestTraces::collect(v, correlation));
                panic!(
                    "spans of {correlation} never came from all of {services:?}: {e}\nseen: {:#?}",
                    seen.outline()
                );
            }
        }
    }

    pub async fn shutdown(self) {
        self.stack.shutdown().await;
        self.receiver.shutdown().await;
    }
}

/// A correlation ID unique to this test run.
pub fn cid(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Polls `check` until it returns `Some`, or panics after `timeout` saying what never happened.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the request is one connected tree with its correlation ID on every span.
pub fn assert_whole(traces: &RequestTraces) {
    assert!(
        traces.is_one_connected_tree(),
        "{} is not one connected tree: {} traces; {:#?}",
        traces.correlation_id,
        traces.traces.len(),
        traces.outline()
    );
    let missing: Vec<String> = traces
        .spans_without_correlation()
        .iter()
        .map(|s| format!("{}: {}", s.service_name, s.name))
        .collect();
    assert!(
        missing.is_empty(),
        "spans without correlation ID {}: {missing:?}",
        traces.correlation_id
    );
}

/// Spans named `name`, oldest first.
pub fn spans_named<'a>(traces: &'a RequestTraces, name: &str) -> Vec<&'a Span> {
    let mut spans: Vec<&Span> = traces.spans().filter(|s| s.name == name).collect();
    spans.sort_by_key(|s| s.start_unix_nanos);
    spans
}

/// Consumer spans, with the producer span each is parented on and linked to.
pub fn assert_consumers_have_producers(traces: &RequestTraces) {
    let consumers: Vec<&Span> = traces
        .spans()
        .filter(|s| s.kind == SpanKind::Consumer)
        .collect();
    assert!(!consumers.is_empty(), "no consumer spans");
    for consumer in consumers {
        let parent = consumer
            .parent_span_id
            .as_deref()
            .and_then(|p| traces.spans().find(|s| s.span_id == p))
            .unwrap_or_else(|| panic!("consumer {} has no parent in the trace", consumer.name));
        assert_eq!(parent.kind, SpanKind::Producer, "{} parent", consumer.name);
        assert!(
            consumer.links.iter().any(|l| l.span_id == parent.span_id),
            "{} is not linked to its producer",
            consumer.name
        );
        assert_eq!(
            consumer.attr_str("messaging.destination.name"),
            parent.attr_str("messaging.destination.name")
        );
        assert_eq!(consumer.attr_str("messaging.system"), Some("nats"));
    }
}

/// Every message of the DLQ stream, as (subject, headers, payload).
pub async fn dlq_messages(
    js: &jetstream::Context,
) -> Vec<(String, async_nats::HeaderMap, Vec<u8>)> {
    use futures::StreamExt;
    let stream = js.get_stream("DLQ").await.expect("DLQ stream");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("DLQ reader");
    let mut consumer = consumer;
    let pending = consumer.info().await.expect("info").num_pending as usize;
    let mut out = Vec::new();
    if pending == 0 {
        return out;
    }
    let mut messages = consumer
        .fetch()
        .max_messages(pending)
        .messages()
        .await
        .expect("fetch");
    while let Some(m) = messages.next().await {
        let m = m.expect("message");
        out.push((
            m.subject.to_string(),
            m.headers.clone().unwrap_or_default(),
            m.payload.to_vec(),
        ));
        if out.len() == pending {
            break;
        }
    }
    out
}
