//! End to end, with a real nats-server, real HTTP and real OTLP: every path an order can take,
//! each proved by its outcome and by its trace (one connected tree, every service involved,
//! the correlation ID on every span).

mod support;

use parley_harness::otlp::SpanKind;
use parley_samples::Service;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_order_through_the_gateway() {
    let env = Env::start().await;
    let c = cid("sync");
    let (status, body) = env
        .post(
            "/api/orders",
            &json!({ "customerId": "c-42", "items": [{ "sku": "A1", "qty": 2 }] }),
            &c,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["total"], 1998);
    let payment_id = body["paymentId"].as_str().expect("paymentId");
    assert!(payment_id.starts_with("pay_"));

    let traces = env
        .traces(
            &c,
            &[
                "gateway",
                "order-service",
                "inventory-service",
                "payment-service",
                "notification-service",
            ],
        )
        .await;
    assert_whole(&traces);
    let roots = traces.traces[0].roots();
    assert_eq!(roots[0].service_name, "gateway");
    assert_eq!(roots[0].kind, SpanKind::Server);
    assert_eq!(roots[0].attr_str("http.request.method"), Some("POST"));
    assert_eq!(roots[0].attr_str("http.route"), Some("/api/orders"));
    assert_eq!(roots[0].attr_i64("http.response.status_code"), Some(201));
    // Every synchronous call has a timeout, and the order's stock checks ran.
    let clients: Vec<_> = traces
        .spans()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert!(clients.len() >= 3, "{:#?}", traces.outline());
    for client in &clients {
        assert_eq!(
            client.attr_i64("parley.http.timeout_ms"),
            Some(2000),
            "{}",
            client.name
        );
        assert!(client.attr_str("server.address").is_some());
    }
    let stock_checks: Vec<_> = spans_named(&traces, "GET /api/stock/{sku}")
        .into_iter()
        .map(|s| (s.service_name.as_str(), s.kind))
        .collect();
    assert_eq!(
        stock_checks,
        [
            ("order-service", SpanKind::Client),
            ("inventory-service", SpanKind::Server)
        ]
    );
    // Payment answers without calling anyone (no synchronous chain).
    assert!(!clients.iter().any(|s| s.service_name == "payment-service"));
    // The confirmation reached the notification service through NATS, in the same trace.
    assert_consumers_have_producers(&traces);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_order_runs_the_choreographed_saga() {
    let env = Env::start().await;
    let c = cid("async");
    let (status, body) = env
        .post(
            "/api/orders/async",
            &json!({ "customerId": "c-42", "items": [{ "sku": "B2", "qty": 1 }], "address": { "country": "DE" } }),
            &c,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    let order_id = body["orderId"].as_str().expect("orderId").to_string();
    let order = env.final_order(&order_id).await;
    assert_eq!(order["status"], "completed", "{order}");
    assert!(order["shipmentId"].as_str().is_some());

    let traces = env.traces(&c, ALL).await;
    // Each step of the choreography is recorded, whatever order the consumers ran in.
    let order = eventually(WAIT, "the charge and reservation recorded", || async {
        let order = env.order(&order_id).await;
        (order["paymentId"].is_string() && order["reservationId"].is_string()).then_some(order)
    })
    .await;
    assert!(
        order["paymentId"]
            .as_str()
            .is_some_and(|p| p.starts_with("pay_")),
        "{order}"
    );
    assert_eq!(order["status"], "completed");
    assert_whole(&traces);
    assert_consumers_have_producers(&traces);
    for subject in [
        "orders.created",
        "payments.charged",
        "inventory.reserved",
        "shipping.scheduled",
    ] {
        let publish = spans_named(&traces, &format!("publish {subject}"));
        assert_eq!(
            publish.len(),
            1,
            "publish {subject}: {:#?}",
            traces.outline()
        );
        assert_eq!(publish[0].kind, SpanKind::Producer);
        assert!(publish[0].attr_str("messaging.message.id").is_some());
        assert!(!spans_named(&traces, &format!("process {subject}")).is_empty());
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrated_saga_success() {
    let env = Env::start().await;
    let c = cid("saga-ok");
    let (status, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-42", "items": [{ "sku": "C3", "qty": 3 }], "address": { "country": "DE" } }),
            &c,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["steps"],
        json!(["create", "charge", "reserve", "ship"])
    );
    assert_eq!(body["compensations"], json!([]));

    let traces = env.traces(&c, ALL).await;
    assert_whole(&traces);
    let steps = saga_steps(&traces, "action");
    assert_eq!(steps, ["create", "charge", "reserve", "ship"]);
    assert!(
        traces
            .spans()
            .all(|s| s.attr_str("saga.step.kind") != Some("compensation"))
    );
    let saga = spans_named(&traces, "saga order-fulfilment");
    assert_eq!(saga[0].attr_str("saga.outcome"), Some("completed"));
    env.shutdown().await;
}

/// The compensations of a failed saga, in the order their spans started.
fn compensations(traces: &parley_harness::requests::RequestTraces) -> Vec<String> {
    saga_steps(traces, "compensation")
}

/// The saga's steps of one kind (`action` or `compensation`), in the order they started.
fn saga_steps(traces: &parley_harness::requests::RequestTraces, kind: &str) -> Vec<String> {
    let mut steps: Vec<_> = traces
        .spans()
        .filter(|s| s.attr_str("saga.step.kind") == Some(kind))
        .collect();
    steps.sort_by_key(|s| s.start_unix_nanos);
    steps
        .iter()
        .map(|s| s.attr_str("saga.step.name").unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saga_compensates_in_reverse_order_when_inventory_refuses() {
    let env = Env::start().await;
    let c = cid("saga-refused");
    let (status, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-42", "items": [{ "sku": "OUT-1", "qty": 1 }] }),
            &c,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "cancelled");
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("insufficient stock for OUT-1"))
    );
    assert_eq!(body["compensations"], json!(["refund", "cancel"]));

    let traces = env
        .traces(
            &c,
            &[
                "gateway",
                "order-service",
                "payment-service",
                "inventory-service",
                "notification-service",
            ],
        )
        .await;
    assert_whole(&traces);
    assert_eq!(compensations(&traces), ["refund", "cancel"]);
    // The refund started only after the refused reservation ended.
    let reserve = traces
        .spans()
        .find(|s| s.attr_str("saga.step.name") == Some("reserve"))
        .expect("reserve step");
    let refund = traces
        .spans()
        .find(|s| s.attr_str("saga.step.name") == Some("refund"))
        .expect("refund");
    assert!(refund.start_unix_nanos >= reserve.end_unix_nanos);
    // The payment really was refunded, and the order's history says so.
    let order_id = body["orderId"].as_str().expect("orderId");
    let payments = env
        .get_json(&format!(
            "{}/api/payments?orderId={order_id}",
            env.url(Service::Payment)
        ))
        .await;
    assert_eq!(payments[0]["status"], "refunded", "{payments}");
    let order = env.order(order_id).await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["compensations"], json!(["refund", "cancel"]));
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saga_compensates_three_steps_when_shipping_refuses() {
    let env = Env::start().await;
    let c = cid("saga-noship");
    let (status, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-42", "items": [{ "sku": "A1", "qty": 1 }], "address": { "country": "ZZ" } }),
            &c,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "cancelled");
    assert_eq!(
        body["compensations"],
        json!(["release", "refund", "cancel"])
    );
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
    assert_whole(&traces);
    assert_eq!(compensations(&traces), ["release", "refund", "cancel"]);
    // The stock came back.
    let stock = env
        .get_json(&format!("{}/api/stock/A1", env.url(Service::Inventory)))
        .await;
    assert_eq!(stock["available"], 1000);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_store_rebuilds_the_order_from_its_history() {
    let env = Env::start().await;
    let c = cid("history");
    let (_, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-7", "items": [{ "sku": "A1", "qty": 1 }, { "sku": "B2", "qty": 2 }] }),
            &c,
        )
        .await;
    let order_id = body["orderId"].as_str().expect("orderId");
    let (status, _, history) = env
        .call(
            reqwest::Method::GET,
            &format!("/api/orders/{order_id}/history"),
            None,
            &c,
        )
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "OrderPlaced",
            "PaymentCharged",
            "StockReserved",
            "ShipmentScheduled",
            "OrderCompleted"
        ]
    );
    let sequences: Vec<u64> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap_or(0))
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert_eq!(history["order"]["status"], "completed");
    assert_eq!(history["order"]["total"], 999 + 2 * 1999);
    assert_eq!(history["order"]["version"], 5);
    // Unknown and malformed ids are 404s, not errors.
    let (status, _, _) = env
        .call(reqwest::Method::GET, "/api/orders/o-nothere", None, &c)
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = env
        .call(reqwest::Method::GET, "/api/orders/o.*", None, &c)
        .await;
    assert_eq!(status, 404);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregation_fans_out_in_parallel() {
    let env = Env::start().await;
    let c = cid("summary");
    let (_, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-9", "items": [{ "sku": "A1", "qty": 1 }] }),
            &c,
        )
        .await;
    let order_id = body["orderId"].as_str().expect("orderId").to_string();
    let c2 = cid("summary-read");
    let summary = eventually(WAIT, "a summary with the notification", || async {
        let (status, _, summary) = env
            .call(
                reqwest::Method::GET,
                &format!("/api/orders/{order_id}/summary"),
                None,
                &c2,
            )
            .await;
        (status == 200
            && summary["notifications"]
                .as_array()
                .is_some_and(|n| !n.is_empty()))
        .then_some(summary)
    })
    .await;
    assert_eq!(summary["order"]["status"], "completed");
    assert_eq!(summary["payments"][0]["status"], "approved");
    assert_eq!(summary["shipments"][0]["status"], "scheduled");
    assert!(summary.get("errors").is_none(), "{summary}");

    // The four calls overlapped in time: each started before any of the others ended.
    let traces = env
        .traces(
            &c2,
            &[
                "gateway",
                "order-service",
                "payment-service",
                "shipping-service",
                "notification-service",
            ],
        )
        .await;
    let calls: Vec<_> = traces
        .spans()
        .filter(|s| s.service_name == "gateway" && s.kind == SpanKind::Client)
        .collect();
    assert!(calls.len() >= 4, "{:#?}", traces.outline());
    let last = calls.iter().rev().take(4).collect::<Vec<_>>();
    let first_end = last.iter().map(|s| s.end_unix_nanos).min().unwrap_or(0);
    let last_start = last.iter().map(|s| s.start_unix_nanos).max().unwrap_or(0);
    assert!(
        last_start < first_end,
        "the fan-out calls ran one after another"
    );
    env.shutdown().await;
}

/// The services honour `OTEL_EXPORTER_OTLP_PROTOCOL`: the same request, traced whole, over
/// OTLP/gRPC and over OTLP/HTTP with JSON bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_whole_over_grpc_and_http_json() {
    for protocol in ["grpc", "http/json"] {
        let receiver = parley_harness::otlp::Receiver::start(Default::default())
            .await
            .expect("receiver");
        let endpoint = if protocol == "grpc" {
            receiver.grpc_endpoint()
        } else {
            receiver.http_endpoint()
        };
        let env = Env::start_with(|o| {
            o.otlp_protocol = protocol.to_string();
            o.otlp_endpoint = Some(endpoint.clone());
        })
        .await;
        let c = cid(&protocol.replace('/', "-"));
        let (status, body) = env
            .post(
                "/api/orders/saga",
                &json!({ "customerId": "c-42", "items": [{ "sku": "A1", "qty": 1 }] }),
                &c,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let traces = match parley_harness::requests::wait_for_request(
            &receiver.store(),
            &c,
            ALL,
            WAIT,
        )
        .await
        {
            Ok(t) => t,
            Err(e) => panic!("{protocol}: {e}"),
        };
        assert_whole(&traces);
        assert_eq!(
            env.receiver.store().span_count(),
            0,
            "{protocol}: nothing over the default"
        );
        env.shutdown().await;
        receiver.shutdown().await;
    }
}
