//! End to end: what happens when things go wrong. Poison messages, duplicates, a provider that
//! is down, a client over its rate limit, bad input.

mod support;

use std::time::Duration;

use async_nats::HeaderMap;
use parley_harness::otlp::SpanKind;
use parley_samples::Service;
use serde_json::json;
use support::*;

async fn publish(env: &Env, subject: &str, msg_id: &str, correlation: &str, payload: Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id);
    headers.insert("x-correlation-id", correlation);
    env.js
        .publish_with_headers(subject.to_string(), headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("stored");
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_message_goes_to_the_dlq_at_once() {
    let env = Env::start().await;
    let c = cid("garbage");
    publish(
        &env,
        "orders.created",
        "garbage-1",
        &c,
        b"{not json".to_vec(),
    )
    .await;
    // Both consumers of orders.created (payment and notification) dead-letter it.
    let dead = eventually(WAIT, "two dead letters", || async {
        let dead = dlq_messages(&env.js).await;
        (dead.len() >= 2).then_some(dead)
    })
    .await;
    let mut subjects: Vec<&str> = dead.iter().map(|(s, _, _)| s.as_str()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "dlq.notification-orders.orders.created",
            "dlq.payment-orders-created.orders.created"
        ]
    );
    for (_, headers, payload) in &dead {
        assert_eq!(payload, b"{not json", "the original payload, unchanged");
        assert_eq!(
            header(headers, "Parley-Original-Subject"),
            Some("orders.created")
        );
        assert_eq!(header(headers, "Parley-Delivery-Count"), Some("1"));
        assert_eq!(
            header(headers, "x-correlation-id"),
            Some(c.as_str()),
            "original headers kept"
        );
        assert_eq!(header(headers, "Parley-Original-Msg-Id"), Some("garbage-1"));
        assert!(header(headers, "Parley-Error").is_some_and(|e| e.contains("undecodable")));
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_tried_max_deliver_times_then_dead_lettered() {
    let env = Env::start().await;
    let c = cid("bounce");
    // The customer's mailbox bounces: every notification attempt fails.
    let (status, body) = env
        .post(
            "/api/orders/saga",
            &json!({ "customerId": "c-bounce-1", "items": [{ "sku": "A1", "qty": 1 }] }),
            &c,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let dead = eventually(WAIT, "the bounced notification in the DLQ", || async {
        let dead: Vec<_> = dlq_messages(&env.js)
            .await
            .into_iter()
            .filter(|(s, h, _)| {
                header(h, "x-correlation-id") == Some(c.as_str()) && s.ends_with("orders.completed")
            })
            .collect();
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    let (subject, headers, payload) = &dead[0];
    assert_eq!(subject, "dlq.notification-orders.orders.completed");
    assert_eq!(header(headers, "Parley-Delivery-Count"), Some("3"));
    assert!(header(headers, "Parley-Error").is_some_and(|e| e.contains("bounced")));
    let original: serde_json::Value = serde_json::from_slice(payload).expect("JSON payload");
    assert_eq!(original["customerId"], "c-bounce-1");

    // Three deliveries, each traced as a consumer span of the same request; the last one
    // dead-lettered, and no fourth delivery ever came.
    let traces = env.traces(&c, ALL).await;
    assert_whole(&traces);
    let mut deliveries: Vec<(i64, String)> = spans_named(&traces, "process orders.completed")
        .into_iter()
        .filter(|s| s.service_name == "notification-service")
        .map(|s| {
            (
                s.attr_i64("messaging.nats.message.delivery_count")
                    .unwrap_or(0),
                s.attr_str("parley.outcome").unwrap_or_default().to_string(),
            )
        })
        .collect();
    deliveries.sort();
    assert_eq!(
        deliveries,
        [
            (1, "retry".to_string()),
            (2, "retry".to_string()),
            (3, "dead-lettered".to_string())
        ]
    );
    let consumer = env
        .js
        .get_stream("ORDERS")
        .await
        .expect("stream")
        .consumer_info("notification-orders")
        .await
        .expect("consumer");
    assert_eq!(consumer.num_ack_pending, 0, "nothing left in flight");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_event_charges_once() {
    let env = Env::start().await;
    let c = cid("dup");
    let event = json!({
        "orderId": "o-dup1", "customerId": "c-42", "total": 999, "currency": "USD",
        "items": [{ "sku": "A1", "qty": 1 }]
    });
    let bytes = serde_json::to_vec(&event).expect("json");
    // Two copies under different message ids: JetStream's de-duplication does not catch them.
    publish(&env, "orders.created", "copy-1", &c, bytes.clone()).await;
    publish(&env, "orders.created", "copy-2", &c, bytes).await;
    let traces = eventually(WAIT, "payment to process both copies", || async {
        let traces = env.traces(&c, &["payment-service"]).await;
        let processed = spans_named(&traces, "process orders.created")
            .iter()
            .filter(|s| {
                s.service_name == "payment-service" && s.attr_str("parley.outcome") == Some("done")
            })
            .count();
        (processed == 2).then_some(traces)
    })
    .await;
    assert_eq!(
        spans_named(&traces, "publish payments.charged").len(),
        2,
        "re-announced, not re-charged"
    );
    let payments = env
        .get_json(&format!(
            "{}/api/payments?orderId=o-dup1",
            env.url(Service::Payment)
        ))
        .await;
    assert_eq!(
        payments.as_array().map(Vec::len),
        Some(1),
        "charged once: {payments}"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_makes_a_repeated_charge_replay_the_first() {
    let env = Env::start().await;
    let url = format!("{}/api/charge", env.url(Service::Payment));
    let body = json!({ "amount": 500, "currency": "USD", "customerId": "c-1" });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = env
            .http
            .post(&url)
            .header("Idempotency-Key", "k-1")
            .json(&body)
            .send()
            .await
            .expect("payment answers");
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.expect("json");
        ids.push(v["paymentId"].as_str().expect("paymentId").to_string());
    }
    assert_eq!(ids[0], ids[1]);
    let r = env
        .http
        .post(&url)
        .json(&body)
        .send()
        .await
        .expect("answers");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_ne!(
        v["paymentId"].as_str(),
        Some(ids[0].as_str()),
        "no key, a new charge"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_declined_charge_is_the_same_problem_json() {
    let env = Env::start().await;
    let url = format!("{}/api/charge", env.url(Service::Payment));
    let body = json!({ "amount": 500, "currency": "USD", "customerId": "c-broke-1" });
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = env
            .http
            .post(&url)
            .header("Idempotency-Key", "k-declined")
            .json(&body)
            .send()
            .await
            .expect("payment answers");
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.expect("json");
        answers.push((status, content_type, v));
    }
    assert_eq!(answers[0].0, 402, "{answers:?}");
    assert_eq!(answers[0].1, "application/problem+json", "{answers:?}");
    assert_eq!(answers[0], answers[1], "the replay is the first answer");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_breaker_opens_when_payment_is_down_and_closes_when_it_is_back() {
    let mut env = Env::start_with(|o| {
        o.service_args.insert(
            Service::Order,
            ["--breaker-threshold", "3", "--breaker-cooldown-ms", "400"]
                .map(String::from)
                .to_vec(),
        );
    })
    .await;
    let breakers = format!("{}/admin/breakers", env.url(Service::Order));
    let order = json!({ "customerId": "c-42", "items": [{ "sku": "A1", "qty": 1 }] });
    env.stack
        .stop(Service::Payment)
        .await
        .expect("stop payment");

    // The charge (a POST with an Idempotency-Key) is retried: one order = three failures.
    let c1 = cid("cb-down");
    let (status, body) = env.post("/api/orders", &order, &c1).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("payment-service is unreachable"))
    );
    assert_eq!(env.get_json(&breakers).await["payment-service"], "open");

    // While open, calls fail fast without touching the network.
    let c2 = cid("cb-open");
    let (status, body) = env.post("/api/orders", &order, &c2).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("circuit to payment-service is open"))
    );
    let traces = env.traces(&c2, &["gateway", "order-service"]).await;
    assert!(
        !traces
            .spans()
            .any(|s| s.kind == SpanKind::Client
                && s.attr_str("peer.service") == Some("payment-service")),
        "an open circuit sends nothing: {:#?}",
        traces.outline()
    );
    let retried = env.traces(&c1, &["gateway", "order-service"]).await;
    assert_whole(&retried);
    let attempts: Vec<i64> = retried
        .spans()
        .filter(|s| {
            s.kind == SpanKind::Client && s.attr_str("peer.service") == Some("payment-service")
        })
        .map(|s| s.attr_i64("http.request.resend_count").unwrap_or(0))
        .collect();
    assert_eq!(attempts.len(), 3, "three attempts: {attempts:?}");

    // Payment comes back; after the cool-down one trial call closes the circuit.
    env.stack
        .restart(Service::Payment)
        .await
        .expect("restart payment");
    eventually(
        Duration::from_secs(5),
        "the circuit to half-open",
        || async {
            (env.get_json(&breakers).await["payment-service"] == "half-open").then_some(())
        },
    )
    .await;
    let (status, body) = env.post("/api/orders", &order, &cid("cb-back")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(env.get_json(&breakers).await["payment-service"], "closed");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_an_idempotency_key_is_not_retried() {
    let mut env = Env::start().await;
    env.stack.stop(Service::Order).await.expect("stop order");
    let c = cid("no-retry");
    let (status, _) = env
        .post(
            "/api/orders",
            &json!({ "customerId": "c-1", "items": [{ "sku": "A1", "qty": 1 }] }),
            &c,
        )
        .await;
    assert_eq!(status, 502);
    let traces = env.traces(&c, &["gateway"]).await;
    let calls = traces
        .spans()
        .filter(|s| s.kind == SpanKind::Client)
        .count();
    assert_eq!(calls, 1, "{:#?}", traces.outline());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_authenticates_and_rate_limits_per_client() {
    let env = Env::start_with(|o| {
        o.service_args.insert(
            Service::Gateway,
            [
                "--token",
                "alice=alice-token",
                "--token",
                "bob=bob-token",
                "--rate-limit",
                "1",
                "--rate-burst",
                "2",
            ]
            .map(String::from)
            .to_vec(),
        );
    })
    .await;
    let url = format!("{}/api/orders/o-1", env.stack.gateway_url());
    let get = |token: Option<&'static str>| {
        let mut r = env.http.get(&url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = get(None).await.expect("answers");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(get(Some("wrong")).await.expect("answers").status(), 401);

    assert_eq!(
        get(Some("alice-token")).await.expect("answers").status(),
        404
    );
    assert_eq!(
        get(Some("alice-token")).await.expect("answers").status(),
        404
    );
    let limited = get(Some("alice-token")).await.expect("answers");
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        limited
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    // Another client has its own budget.
    assert_eq!(get(Some("bob-token")).await.expect("answers").status(), 404);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_400_problem() {
    let env = Env::start().await;
    for (path, body) in [
        ("/api/orders", "{\"customerId\": \"c-1\", \"items\": ["),
        ("/api/orders", "{\"customerId\": \"c-1\"}"),
        (
            "/api/orders/async",
            "{\"customerId\": \"c-1\", \"items\": [{\"sku\": \"A1\", \"qty\": \"two\"}]}",
        ),
        (
            "/api/orders/saga",
            "{\"customerId\": \"\", \"items\": [{\"sku\": \"A1\", \"qty\": 1}]}",
        ),
        ("/api/orders", "{\"customerId\": \"c-1\", \"items\": []}"),
        (
            "/api/orders",
            "{\"customerId\": \"c-1\", \"items\": [{\"sku\": \"A1\", \"qty\": 0}]}",
        ),
    ] {
        let r = env
            .http
            .post(format!("{}{path}", env.stack.gateway_url()))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status(), 400, "{path} {body}");
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let problem: serde_json::Value = r.json().await.expect("problem JSON");
        assert_eq!(problem["status"], 400);
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
    }
    // Directly on payment too.
    let r = env
        .http
        .post(format!("{}/api/charge", env.url(Service::Payment)))
        .json(&json!({ "amount": -5, "currency": "USD", "customerId": "c-1" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 400);
    env.shutdown().await;
}
