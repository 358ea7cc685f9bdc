//! Each defect really changes behaviour: the clean samples do one thing, the defective ones
//! another. (parley's checks that catch each defect are tested where they live.)

mod support;

use std::time::Duration;

use futures::StreamExt;
use parley_harness::otlp::SpanKind;
use parley_samples::{Defect, Service};
use serde_json::{Value, json};
use support::*;

async fn with_defect(defect: Defect) -> Env {
    Env::start_with(|o| o.defects = vec![defect]).await
}

fn saga_order(sku: &str) -> Value {
    json!({ "customerId": "c-42", "items": [{ "sku": sku, "qty": 1 }], "address": { "country": "DE" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaking_response_renames_the_payment_id() {
    let env = with_defect(Defect::BreakingResponse).await;
    let r = env
        .http
        .post(format!("{}/api/charge", env.url(Service::Payment)))
        .json(&json!({ "amount": 100, "currency": "USD", "customerId": "c-1" }))
        .send()
        .await
        .expect("payment answers");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    assert!(body.get("paymentId").is_none(), "{body}");
    assert!(
        body["payment_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("pay_"))
    );
    // Its consumer, the order service, can no longer read the answer.
    let (status, body) = env
        .post("/api/orders", &saga_order("A1"), &cid("breaking-response"))
        .await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("paymentId")),
        "{body}"
    );
    env.shutdown().await;
}

/// The `orders.created` payload an async order publishes.
async fn created_event(env: &Env) -> Value {
    let mut sub = env
        .nats_client
        .subscribe("orders.created")
        .await
        .expect("subscribe");
    env.nats_client.flush().await.expect("flush");
    let (status, _) = env
        .post("/api/orders/async", &saga_order("A1"), &cid("event"))
        .await;
    assert_eq!(status, 202);
    let message = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("orders.created in time")
        .expect("a message");
    serde_json::from_slice(&message.payload).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaking_event_publishes_total_as_a_string() {
    let clean = Env::start().await;
    assert_eq!(created_event(&clean).await["total"], json!(999));
    clean.shutdown().await;
    let broken = with_defect(Defect::BreakingEvent).await;
    assert_eq!(created_event(&broken).await["total"], json!("9.99"));
    broken.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_trace_context_splits_the_async_trace() {
    let env = with_defect(Defect::DropTraceContext).await;
    let c = cid("drop-tc");
    let (_, body) = env.post("/api/orders/async", &saga_order("A1"), &c).await;
    env.final_order(body["orderId"].as_str().expect("orderId"))
        .await;
    let traces = env.traces(&c, ALL).await;
    assert!(!traces.is_one_connected_tree(), "{:#?}", traces.outline());
    // Shipping's consumer of what inventory published starts a trace of its own.
    let shipping = traces
        .spans()
        .find(|s| s.name == "process inventory.reserved" && s.service_name == "shipping-service")
        .expect("shipping consumed inventory.reserved");
    assert!(shipping.is_root(), "a new root");
    let gateway_trace = &traces
        .traces
        .iter()
        .find(|t| t.services().contains("gateway"))
        .expect("the gateway's trace")
        .trace_id;
    assert_ne!(&shipping.trace_id, gateway_trace);
    assert!(shipping.links.is_empty(), "no producer context to link to");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_correlation_id_loses_the_id_after_shipping() {
    let env = with_defect(Defect::DropCorrelationId).await;
    let c = cid("drop-cid");
    let (status, _) = env.post("/api/orders/saga", &saga_order("A1"), &c).await;
    assert_eq!(status, 201);
    let traces = env
        .traces(&c, &["gateway", "order-service", "shipping-service"])
        .await;
    let traces = eventually(WAIT, "the consumers of shipping.scheduled", || async {
        let t = env
            .receiver
            .store()
            .view(|v| parley_harness::requests::RequestTraces::collect(v, &traces.correlation_id));
        (spans_named(&t, "process shipping.scheduled").len() >= 2).then_some(t)
    })
    .await;
    assert_eq!(traces.traces.len(), 1, "the trace context still flows");
    let missing: Vec<&str> = traces
        .spans_without_correlation()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        missing.contains(&"process shipping.scheduled"),
        "{missing:?}"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_idempotent_charges_a_duplicate_again() {
    let env = with_defect(Defect::NonIdempotent).await;
    let event = serde_json::to_vec(&json!({
        "orderId": "o-dup2", "customerId": "c-42", "total": 999, "currency": "USD",
        "items": [{ "sku": "A1", "qty": 1 }]
    }))
    .expect("json");
    for id in ["copy-1", "copy-2"] {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id);
        env.js
            .publish_with_headers("orders.created", headers, event.clone().into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    }
    let url = format!("{}/api/payments?orderId=o-dup2", env.url(Service::Payment));
    eventually(WAIT, "two charges for one order", || async {
        (env.get_json(&url).await.as_array().map(Vec::len) == Some(2)).then_some(())
    })
    .await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dlq_redelivers_a_poison_message_for_ever() {
    let env = with_defect(Defect::NoDlq).await;
    let c = cid("no-dlq");
    let (status, _) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-bounce-2", "items": [{ "sku": "A1", "qty": 1 }] }),
            &c,
        )
        .await;
    assert_eq!(status, 201);
    // Far past max_deliver (3) and still coming.
    eventually(WAIT, "a sixth delivery", || async {
        let t = env
            .receiver
            .store()
            .view(|v| parley_harness::requests::RequestTraces::collect(v, &c));
        spans_named(&t, "process orders.completed")
            .iter()
            .any(|s| {
                s.attr_i64("messaging.nats.message.delivery_count")
                    .unwrap_or(0)
                    >= 6
            })
            .then_some(())
    })
    .await;
    assert!(
        dlq_messages(&env.js).await.is_empty(),
        "nothing reaches a DLQ"
    );
    let consumer = env
        .js
        .get_stream("ORDERS")
        .await
        .expect("stream")
        .consumer_info("notification-orders")
        .await
        .expect("consumer");
    assert_eq!(consumer.config.max_deliver, -1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_chain_calls_payment_inventory_shipping_in_a_row() {
    let env = with_defect(Defect::SyncChain).await;
    let c = cid("chain");
    let (status, body) = env.post("/api/orders", &saga_order("A1"), &c).await;
    assert_eq!(status, 201, "{body}");
    let traces = env
        .traces(
            &c,
            &[
                "gateway",
                "order-service",
                "payment-service",
                "inventory-service",
                "shipping-service",
            ],
        )
        .await;
    let trace = &traces.traces[0];
    // Follow client calls down from the gateway: each service calls the next and waits.
    let mut chain = vec!["gateway".to_string()];
    let mut current = trace.roots()[0].clone();
    loop {
        let next = trace
            .spans
            .iter()
            .filter(|s| s.kind == SpanKind::Client && s.service_name == current.service_name)
            .filter_map(|client| {
                trace
                    .children(&client.span_id)
                    .into_iter()
                    .find(|s| s.kind == SpanKind::Server)
            })
            .find(|server| {
                server.service_name != current.service_name && !chain.contains(&server.service_name)
            })
            .cloned();
        match next {
            Some(server) => {
                chain.push(server.service_name.clone());
                current = server;
            }
            None => break,
        }
    }
    assert_eq!(
        chain,
        [
            "gateway",
            "order-service",
            "payment-service",
            "inventory-service",
            "shipping-service"
        ]
    );
    env.shutdown().await;
}

/// A provider that accepts connections and never answers.
async fn hanging_provider() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

async fn order_against_hanging_payment(defects: Vec<Defect>) -> Result<u16, reqwest::Error> {
    let (hang, task) = hanging_provider().await;
    let env = Env::start_with(|o| {
        o.defects = defects;
        o.service_args.insert(
            Service::Order,
            [
                "--payment-url",
                &hang,
                "--timeout-ms",
                "300",
                "--max-attempts",
                "1",
            ]
            .map(String::from)
            .to_vec(),
        );
    })
    .await;
    let result = env
        .http
        .post(format!("{}/orders", env.url(Service::Order)))
        .timeout(Duration::from_secs(3))
        .json(&saga_order("A1"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    env.shutdown().await;
    task.abort();
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_timeout_waits_for_a_hanging_payment_for_ever() {
    assert_eq!(
        order_against_hanging_payment(vec![])
            .await
            .expect("an answer"),
        504
    );
    let err = order_against_hanging_payment(vec![Defect::NoTimeout])
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_compensation_leaves_the_customer_charged() {
    let env = with_defect(Defect::NoCompensation).await;
    let (status, body) = env
        .post("/api/orders/saga", &saga_order("OUT-1"), &cid("no-comp"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["compensations"], json!(["cancel"]), "no refund");
    let order_id = body["orderId"].as_str().expect("orderId");
    let payments = env
        .get_json(&format!(
            "{}/api/payments?orderId={order_id}",
            env.url(Service::Payment)
        ))
        .await;
    assert_eq!(
        payments[0]["status"], "approved",
        "still charged: {payments}"
    );
    env.shutdown().await;
}
