//! The service graph observed in the real services' traces, linted: the clean samples give the
//! expected edges and no error finding; `no-timeout` is caught by PL005 on order → payment,
//! `sync-chain` by PL003, `drop-correlation-id` by PL011 on shipping, each with the trace IDs
//! that show it (the design's detection matrix, observed side).

mod support;

use parley_harness::lint::graph::{Fact, Retries, RetryOn, ServiceGraph, ServiceKind};
use parley_harness::lint::observed::graph_from_store;
use parley_harness::lint::{self, Config, Finding, InputInfo, LintReport, Severity};
use parley_harness::requests::RequestTraces;
use parley_samples::Defect;
use serde_json::{Value, json};
use support::*;

fn order(sku: &str) -> Value {
    json!({ "customerId": "c-42", "items": [{ "sku": sku, "qty": 1 }], "address": { "country": "DE" } })
}

/// One order through the gateway; the traces of it once every listed service sent its spans.
async fn place(env: &Env, path: &str, name: &str, services: &[&str]) -> RequestTraces {
    let c = cid(name);
    let (status, body) = env.post(path, &order("A1"), &c).await;
    assert_eq!(status, 201, "{path}: {body}");
    env.traces(&c, services).await
}

/// Waits (bounded) until a span named `name` of the request's first trace arrived.
async fn arrived(env: &Env, traces: &RequestTraces, name: &str) {
    let trace = traces.traces[0].trace_id.clone();
    env.receiver
        .store()
        .wait_for(WAIT, |v| v.trace_spans(&trace).any(|s| s.name == name))
        .await
        .unwrap_or_else(|e| panic!("{name} never arrived: {e}"));
}

fn lint_graph(graph: &ServiceGraph) -> LintReport {
    lint::lint(graph, &Config::default(), Vec::<InputInfo>::new())
}

fn findings<'a>(report: &'a LintReport, rule: &str) -> Vec<&'a Finding> {
    report.active().filter(|f| f.rule_id == rule).collect()
}

fn errors(report: &LintReport) -> Vec<String> {
    report
        .active()
        .filter(|f| f.severity >= Severity::Error)
        .map(|f| format!("{} {}: {}", f.rule_id, f.element, f.message))
        .collect()
}

const SYNC: &[&str] = &[
    "gateway",
    "order-service",
    "inventory-service",
    "payment-service",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_samples_observed_have_the_expected_edges_and_no_error() {
    let env = Env::start().await;
    place(&env, "/api/orders", "obs-sync", SYNC).await;
    let saga = place(
        &env,
        "/api/orders/saga",
        "obs-saga",
        &["gateway", "order-service", "shipping-service"],
    )
    .await;
    arrived(&env, &saga, "process shipping.scheduled").await;
    let graph = graph_from_store(&env.receiver.store());
    let report = lint_graph(&graph);
    env.shutdown().await;

    assert_eq!(graph.services["gateway"].kind, ServiceKind::Gateway);
    assert_eq!(graph.services["order-service"].kind, ServiceKind::Service);
    let call = |from: &str, to: &str, route: &str, handler: &str| {
        graph
            .calls
            .iter()
            .find(|c| {
                c.from == from
                    && c.to == to
                    && c.route().as_deref() == Some(route)
                    && c.handler.as_deref() == Some(handler)
            })
            .unwrap_or_else(|| {
                let seen: Vec<String> = graph
                    .calls
                    .iter()
                    .map(|c| format!("{} in {:?}", c.label(), c.handler))
                    .collect();
                panic!("no call {from} → {to} ({route}) in {handler}: {seen:#?}")
            })
    };
    call(
        "gateway",
        "order-service",
        "POST /orders",
        "POST /api/orders",
    );
    call(
        "order-service",
        "inventory-service",
        "GET /api/stock/{sku}",
        "POST /orders",
    );
    let charge = call(
        "order-service",
        "payment-service",
        "POST /api/charge",
        "POST /orders",
    );
    call(
        "order-service",
        "shipping-service",
        "POST /api/shipments",
        "POST /orders/saga",
    );
    // The client's real configuration, as its spans say it.
    assert_eq!(charge.timeout_ms, Fact::Known(Some(2000)));
    assert_eq!(
        charge.retries,
        Fact::Known(Some(Retries {
            max_attempts: 3,
            on: RetryOn::IdempotentOnly
        }))
    );
    assert_eq!(charge.circuit_breaker, Fact::Known(true));
    assert_eq!(charge.idempotent, Fact::Known(false));
    assert!(charge.idempotency_key.is_some(), "charges carry a key");
    assert!(!charge.origin.traces.is_empty());
    assert_eq!(
        graph.services["shipping-service"].propagates_correlation_id,
        Fact::Known(true)
    );
    // Messaging: shipping announces the shipment, order and notification consume it.
    assert!(
        graph.subjects["shipping.scheduled"]
            .producers
            .iter()
            .any(|p| p.service == "shipping-service")
    );
    assert!(
        graph.consumers.iter().any(|c| c.service == "order-service"
            && c.subject == "shipping.scheduled"
            && c.durable == Fact::Known(Some("order-shipping-scheduled".into()))),
        "{:#?}",
        graph.consumers
    );

    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
    for rule in ["PL003", "PL005", "PL011", "PL013"] {
        assert!(
            findings(&report, rule).is_empty(),
            "{rule} on the clean run"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_timeout_is_caught_on_order_to_payment_with_its_traces() {
    let env = Env::start_with(|o| o.defects = vec![Defect::NoTimeout]).await;
    let traces = place(&env, "/api/orders", "obs-no-timeout", SYNC).await;
    let report = lint_graph(&graph_from_store(&env.receiver.store()));
    env.shutdown().await;

    let hits = findings(&report, "PL005");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let hit = hits[0];
    assert_eq!(
        hit.element,
        "order-service → payment-service (POST /api/charge)"
    );
    assert_eq!(hit.severity, Severity::Error);
    let trace = &traces.traces[0].trace_id;
    assert!(hit.traces.contains(trace), "{:?} lacks {trace}", hit.traces);
    assert!(findings(&report, "PL003").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_chain_is_caught_as_a_chain_of_four_calls() {
    let env = Env::start_with(|o| o.defects = vec![Defect::SyncChain]).await;
    let traces = place(
        &env,
        "/api/orders",
        "obs-chain",
        &[
            "gateway",
            "order-service",
            "payment-service",
            "inventory-service",
            "shipping-service",
        ],
    )
    .await;
    let report = lint_graph(&graph_from_store(&env.receiver.store()));
    env.shutdown().await;

    let hits = findings(&report, "PL003");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let hit = hits[0];
    assert_eq!(hit.element, "gateway (POST /api/orders)");
    assert!(
        hit.message.contains(
            "chain of 4 calls (more than 3): gateway → order-service → payment-service → inventory-service → shipping-service"
        ),
        "{}",
        hit.message
    );
    assert!(hit.traces.contains(&traces.traces[0].trace_id));
    assert!(findings(&report, "PL005").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_correlation_id_is_caught_on_shipping_only() {
    let env = Env::start_with(|o| o.defects = vec![Defect::DropCorrelationId]).await;
    let traces = place(
        &env,
        "/api/orders/saga",
        "obs-drop-cid",
        &["gateway", "order-service", "shipping-service"],
    )
    .await;
    // The consumers of what shipping published carry a correlation ID of their own.
    arrived(&env, &traces, "process shipping.scheduled").await;
    let trace = traces.traces[0].trace_id.clone();
    let report = lint_graph(&graph_from_store(&env.receiver.store()));
    env.shutdown().await;

    let hits = findings(&report, "PL011");
    let elements: Vec<&str> = hits.iter().map(|f| f.element.as_str()).collect();
    assert_eq!(elements, ["shipping-service"], "{hits:#?}");
    assert!(hits[0].traces.contains(&trace), "{:?}", hits[0].traces);
}
