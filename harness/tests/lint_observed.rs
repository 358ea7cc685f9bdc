//! The service graph observed in traces (`lint::observed`): the recorded clean run of the sample
//! services, OTLP traces files as lint inputs, and small span sets for the edge cases. (The live
//! runs of the samples, with and without defects, are in `sample-services/tests/lint_observed.rs`.)

use std::path::{Path, PathBuf};

use parley_harness::lint::graph::{Fact, Retries, RetryOn, ServiceGraph, ServiceKind};
use parley_harness::lint::observed::{OtlpTraces, graph_from_spans, graph_from_store};
use parley_harness::lint::{self, Config, Document, ErrorKind, Importer, LintReport, Severity};
use parley_harness::otlp::{Span, SpanKind, encode_export_request, spans_to_request};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace exists")
}

/// The recorded clean demo run the dashboards test reads (before `parley.call.*` existed).
fn recorded_run() -> PathBuf {
    workspace().join("tests/data/recorded-run/spans.jsonl")
}

/// A clean demo run recorded the same way since the samples emit `parley.call.*` and
/// `parley.service.kind` (and with the scenario runner's own spans, service `parley`).
fn guarded_run() -> PathBuf {
    workspace().join("tests/data/recorded-run/guarded-calls.jsonl")
}

fn errors(report: &LintReport) -> Vec<String> {
    report
        .active()
        .filter(|f| f.severity >= Severity::Error)
        .map(|f| format!("{} {}: {}", f.rule_id, f.element, f.message))
        .collect()
}

fn rule_hits(report: &LintReport, rule: &str) -> Vec<String> {
    report
        .active()
        .filter(|f| f.rule_id == rule)
        .map(|f| f.element.clone())
        .collect()
}

fn lint_graph(graph: &ServiceGraph) -> LintReport {
    lint::lint(graph, &Config::default(), Vec::new())
}

// ---------------------------------------------------------------------------------------
// The recorded clean run

/// A recorded clean run: the graph has the expected edges, and lints with no finding at all.
fn assert_clean_run(path: &Path) -> ServiceGraph {
    let loaded = lint::inputs::load(&[path.to_path_buf()], &lint::Registry::standard())
        .expect("the recorded run loads");
    assert_eq!(loaded.inputs[0].kind, "OTLP traces");
    let g = &loaded.graph;
    let names: Vec<&str> = g.services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "gateway",
            "inventory-service",
            "notification-service",
            "order-service",
            "payment-service",
            "shipping-service"
        ]
    );
    let edges: Vec<String> = g
        .calls
        .iter()
        .map(|c| format!("{} in {}", c.label(), c.handler.as_deref().unwrap_or("-")))
        .collect();
    for expected in [
        "gateway → order-service (POST /orders) in POST /api/orders",
        "gateway → order-service (POST /orders/saga) in POST /api/orders/saga",
        "gateway → order-service (GET /orders/{id}) in GET /api/orders/{id}",
        "order-service → inventory-service (GET /api/stock/{sku}) in POST /orders",
        "order-service → payment-service (POST /api/charge) in POST /orders",
        "order-service → payment-service (POST /api/charge) in POST /orders/saga",
        "order-service → inventory-service (POST /api/reservations) in POST /orders/saga",
        "order-service → shipping-service (POST /api/shipments) in POST /orders/saga",
        "order-service → payment-service (POST /api/refunds) in POST /orders/saga",
    ] {
        assert!(
            edges.iter().any(|e| e == expected),
            "{expected} not in {edges:#?}"
        );
    }
    // Nothing calls back up, and nothing calls past payment synchronously.
    assert!(g.calls.iter().all(|c| c.from != "payment-service"));
    // Messaging, and the correlation ID passed on everywhere it was seen on a hop.
    assert!(g.subjects["orders.created"].producers[0].service == "order-service");
    assert!(g.consumers.iter().any(|c| c.service == "payment-service"
        && c.subject == "orders.created"
        && c.durable == Fact::Known(Some("payment-orders-created".into()))));
    for s in g.services.values() {
        assert_ne!(
            s.propagates_correlation_id,
            Fact::Known(false),
            "{}",
            s.name
        );
    }
    assert_eq!(
        g.services["shipping-service"].propagates_correlation_id,
        Fact::Known(true)
    );
    // Dead letters seen in the run are their consumers' DLQs, not subjects nobody reads.
    assert!(g.consumers.iter().any(|c| c.service == "payment-service"
        && c.dlq == Fact::Known(Some("dlq.payment-orders-created.orders.created".into()))));

    let report = lint::lint_paths(&[path.to_path_buf()], &Config::default()).expect("lints");
    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
    assert_eq!(report.counts().warnings, 0, "{:#?}", report.findings);
    assert_eq!(report.counts().notes, 0, "{:#?}", report.findings);
    loaded.graph
}

#[test]
fn the_recorded_clean_run_gives_the_expected_edges_and_no_finding() {
    let g = assert_clean_run(&recorded_run());
    // Recorded before `parley.call.*`: the timeout comes from `parley.http.timeout_ms`, the
    // rest is unknown (and rules stay silent on it).
    let charge = g
        .calls
        .iter()
        .find(|c| c.to == "payment-service" && c.handler.as_deref() == Some("POST /orders"))
        .expect("the charge");
    assert_eq!(charge.timeout_ms, Fact::Known(Some(2000)));
    assert_eq!(charge.retries, Fact::Unknown);
    assert_eq!(charge.circuit_breaker, Fact::Unknown);
    assert_eq!(g.services["gateway"].kind, ServiceKind::Service);
}

#[test]
fn a_clean_run_with_guarded_calls_gives_known_facts_and_no_finding() {
    let g = assert_clean_run(&guarded_run());
    // The scenario runner drove the run; it is not a service of the system.
    assert!(!g.services.contains_key("parley"));
    // How the samples' client guards the charge, as its spans say (`parley.call.*`).
    let charge = g
        .calls
        .iter()
        .find(|c| c.to == "payment-service" && c.handler.as_deref() == Some("POST /orders"))
        .expect("the charge");
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
    assert!(
        charge.idempotency_key.is_some(),
        "every charge carries a key"
    );
    assert!((1..=5).contains(&charge.origin.traces.len()));
    // The gateway forwards POSTs without a key: not retried, so not PL006.
    let place = g
        .calls
        .iter()
        .find(|c| c.from == "gateway" && c.path.as_deref() == Some("/orders"))
        .expect("the order");
    assert_eq!(place.idempotency_key, None);
    assert_eq!(place.attempts(), 1);
    assert_eq!(g.services["gateway"].kind, ServiceKind::Gateway);
    assert_eq!(g.services["order-service"].kind, ServiceKind::Service);
}

#[test]
fn the_recorded_run_merges_with_the_samples_description() {
    let arch = workspace().join("sample-services/architecture.yaml");
    let report = lint::lint_paths(&[arch, recorded_run(), guarded_run()], &Config::default())
        .expect("lints");
    let kinds: Vec<&str> = report.inputs.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, ["parley architecture", "OTLP traces", "OTLP traces"]);
    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
}

#[test]
fn a_store_gives_the_same_graph_as_its_spans() {
    let store = parley_harness::otlp::read_jsonl_store(recorded_run()).expect("reads");
    let from_store = graph_from_store(&store);
    assert_eq!(from_store, graph_from_spans(&store.spans()));
    assert_eq!(
        from_store,
        parley_harness::lint::observed::graph_from_traces(&store.traces())
    );
}

// ---------------------------------------------------------------------------------------
// Small span sets

const T1: &str = "0af7651916cd43dd8448eb211c80319c";
const T2: &str = "1af7651916cd43dd8448eb211c80319c";

fn span(trace: &str, id: u64, parent: Option<u64>, service: &str, kind: SpanKind) -> Span {
    Span {
        trace_id: trace.into(),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: format!("{} {id}", kind.as_str()),
        kind,
        service_name: service.into(),
        start_unix_nanos: 10 + id,
        end_unix_nanos: 100 + id,
        ..Default::default()
    }
}

fn with(mut s: Span, attrs: Value) -> Span {
    if let Value::Object(m) = attrs {
        s.attributes.extend(m);
    }
    s
}

fn guarded() -> Value {
    json!({
        "parley.call.timeout_ms": 2000, "parley.call.max_attempts": 3,
        "parley.call.retry_on": "idempotent-only", "parley.call.circuit_breaker": true
    })
}

/// a's `POST /orders` handler calls b's `POST /api/charge` through an internal span.
fn request(trace: &str, client_attrs: Value, cid_in: &str, cid_out: &str) -> Vec<Span> {
    let server_a = with(
        span(trace, 1, None, "a", SpanKind::Server),
        json!({"http.request.method": "POST", "http.route": "/orders", "correlation.id": cid_in}),
    );
    let internal = span(trace, 2, Some(1), "a", SpanKind::Internal);
    let mut attrs = json!({"http.request.method": "POST", "url.template": "/api/charge",
        "peer.service": "b", "correlation.id": cid_in});
    if let (Value::Object(a), Value::Object(extra)) = (&mut attrs, client_attrs) {
        a.extend(extra);
    }
    let client = with(span(trace, 3, Some(2), "a", SpanKind::Client), attrs);
    let server_b = with(
        span(trace, 4, Some(3), "b", SpanKind::Server),
        json!({"http.request.method": "POST", "http.route": "/api/charge", "correlation.id": cid_out}),
    );
    vec![server_a, internal, client, server_b]
}

#[test]
fn a_client_span_and_its_server_child_are_a_call_in_its_handler() {
    let g = graph_from_spans(&request(T1, guarded(), "c1", "c1"));
    assert_eq!(g.calls.len(), 1);
    let c = &g.calls[0];
    assert_eq!(c.label(), "a → b (POST /api/charge)");
    assert_eq!(c.handler.as_deref(), Some("POST /orders"));
    assert_eq!(c.timeout_ms, Fact::Known(Some(2000)));
    assert_eq!(
        c.retries,
        Fact::Known(Some(Retries {
            max_attempts: 3,
            on: RetryOn::IdempotentOnly
        }))
    );
    assert_eq!(c.circuit_breaker, Fact::Known(true));
    assert_eq!(c.idempotent, Fact::Known(false));
    assert_eq!(c.idempotency_key, None);
    assert_eq!(c.origin.traces, [T1]);
    assert_eq!(g.services["a"].propagates_correlation_id, Fact::Known(true));
    assert_eq!(g.services["b"].propagates_correlation_id, Fact::Unknown);
    assert_eq!(g.services["a"].kind, ServiceKind::Service);
    let report = lint_graph(&g);
    assert!(report.active().next().is_none(), "{:#?}", report.findings);
}

#[test]
fn missing_attributes_leave_the_rules_silent_and_present_ones_make_them_speak() {
    let silent = lint_graph(&graph_from_spans(&request(T1, json!({}), "c1", "c1")));
    assert!(silent.active().next().is_none(), "{:#?}", silent.findings);
    let g = graph_from_spans(&request(
        T1,
        json!({"parley.call.timeout_ms": 0, "parley.call.max_attempts": 3,
            "parley.call.retry_on": "all", "parley.call.circuit_breaker": false}),
        "c1",
        "c1",
    ));
    let loud = lint_graph(&g);
    assert_eq!(rule_hits(&loud, "PL005"), ["a → b (POST /api/charge)"]);
    assert_eq!(rule_hits(&loud, "PL006"), ["a → b (POST /api/charge)"]);
    assert_eq!(rule_hits(&loud, "PL007"), ["a → b (POST /api/charge)"]);
    let pl005 = loud.active().find(|f| f.rule_id == "PL005").expect("PL005");
    assert_eq!(pl005.traces, [T1]);
    assert_eq!(pl005.location, None);
}

#[test]
fn an_idempotency_key_on_every_request_makes_retries_safe() {
    let retried = json!({"parley.call.timeout_ms": 100, "parley.call.max_attempts": 3,
        "parley.call.retry_on": "all", "parley.call.circuit_breaker": true});
    let mut keyed = retried.clone();
    keyed["parley.call.idempotency_key"] = json!(true);
    let mut spans = request(T1, keyed.clone(), "c1", "c1");
    spans.extend(request(T2, keyed, "c2", "c2"));
    let g = graph_from_spans(&spans);
    assert!(g.calls[0].idempotency_key.is_some());
    assert!(rule_hits(&lint_graph(&g), "PL006").is_empty());
    // One request of the call without a key: repeats are not safe.
    let mut spans = request(T1, json!({"parley.call.idempotency_key": true}), "c1", "c1");
    spans[2]
        .attributes
        .extend(retried.as_object().cloned().unwrap_or_default());
    spans.extend(request(T2, retried, "c2", "c2"));
    let g = graph_from_spans(&spans);
    assert_eq!(g.calls.len(), 1);
    assert_eq!(g.calls[0].idempotency_key, None);
    assert_eq!(rule_hits(&lint_graph(&g), "PL006").len(), 1);
}

#[test]
fn spans_of_one_call_that_disagree_give_the_riskiest_value() {
    let mut spans = request(T1, guarded(), "c1", "c1");
    let mut worse = guarded();
    worse["parley.call.timeout_ms"] = json!(0);
    worse["parley.call.circuit_breaker"] = json!(false);
    spans.extend(request(T2, worse, "c2", "c2"));
    let g = graph_from_spans(&spans);
    assert_eq!(g.calls.len(), 1);
    assert_eq!(g.calls[0].timeout_ms, Fact::Known(None));
    assert_eq!(g.calls[0].circuit_breaker, Fact::Known(false));
    assert_eq!(g.calls[0].origin.traces, [T1, T2]);
}

#[test]
fn evidence_is_bounded_to_the_first_five_traces() {
    let mut spans = Vec::new();
    for i in 0..8u8 {
        spans.extend(request(&format!("{i:032x}"), json!({}), "c", "c"));
    }
    let g = graph_from_spans(&spans);
    let traces = &g.calls[0].origin.traces;
    assert_eq!(traces.len(), 5);
    assert_eq!(traces[0], format!("{:032x}", 0));
    assert_eq!(traces[4], format!("{:032x}", 4));
}

#[test]
fn an_orphan_client_span_calls_an_external_service() {
    let server = with(
        span(T1, 1, None, "a", SpanKind::Server),
        json!({"http.request.method": "GET", "http.route": "/x"}),
    );
    let to_peer = with(
        span(T1, 2, Some(1), "a", SpanKind::Client),
        json!({"http.request.method": "POST", "url.template": "/v1/charges",
            "peer.service": "psp", "parley.call.timeout_ms": 0}),
    );
    let to_address = with(
        span(T1, 3, Some(1), "a", SpanKind::Client),
        json!({"http.request.method": "GET", "server.address": "maps.example", "server.port": 443}),
    );
    let anonymous = span(T1, 4, Some(1), "a", SpanKind::Client);
    let g = graph_from_spans(&[server, to_peer, to_address, anonymous]);
    let labels: Vec<String> = g.calls.iter().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        ["a → maps.example:443 (GET)", "a → psp (POST /v1/charges)"]
    );
    assert_eq!(g.services["psp"].kind, ServiceKind::External);
    assert_eq!(g.services["maps.example:443"].kind, ServiceKind::External);
    assert!(g.validate().is_ok());
    let report = lint_graph(&g);
    assert_eq!(rule_hits(&report, "PL005"), ["a → psp (POST /v1/charges)"]);
    // Calls to an external service are ours to guard; nobody bypasses a gateway.
    assert!(rule_hits(&report, "PL013").is_empty());
}

#[test]
fn a_service_that_drops_the_correlation_id_is_found_with_its_traces() {
    let mut spans = request(T1, json!({}), "c1", "fresh-id");
    // A publish whose consumer got the ID, and one whose consumer did not: b drops it.
    let b = |id, parent, kind| span(T1, id, Some(parent), "b", kind);
    let dest = |d: &str, cid: &str| json!({"messaging.destination.name": d, "correlation.id": cid});
    spans.push(with(
        b(5, 4, SpanKind::Producer),
        dest("x.done", "fresh-id"),
    ));
    spans.push(with(
        span(T1, 6, Some(5), "c", SpanKind::Consumer),
        dest("x.done", "fresh-id"),
    ));
    spans.push(with(
        b(7, 4, SpanKind::Producer),
        dest("x.other", "fresh-id"),
    ));
    spans.push(with(
        span(T1, 8, Some(7), "c", SpanKind::Consumer),
        json!({"messaging.destination.name": "x.other"}),
    ));
    let g = graph_from_spans(&spans);
    assert_eq!(
        g.services["a"].propagates_correlation_id,
        Fact::Known(false)
    );
    assert_eq!(
        g.services["b"].propagates_correlation_id,
        Fact::Known(false)
    );
    assert_eq!(g.services["c"].propagates_correlation_id, Fact::Unknown);
    let report = lint_graph(&g);
    assert_eq!(rule_hits(&report, "PL011"), ["a", "b"]);
    let hit = report.active().find(|f| f.element == "a").expect("a");
    assert_eq!(hit.traces, [T1]);
    // A caller with no correlation ID of its own proves nothing.
    let g = graph_from_spans(&request(T1, json!({}), "", "fresh-id"));
    assert_eq!(g.services["a"].propagates_correlation_id, Fact::Unknown);
}

#[test]
fn calls_made_while_processing_a_message_belong_to_that_handler() {
    let consumer = with(
        span(T1, 1, None, "a", SpanKind::Consumer),
        json!({"messaging.destination.name": "orders.created",
            "messaging.consumer.group.name": "a-orders"}),
    );
    let client = with(
        span(T1, 2, Some(1), "a", SpanKind::Client),
        json!({"http.request.method": "GET"}),
    );
    let server = with(
        span(T1, 3, Some(2), "b", SpanKind::Server),
        json!({"http.request.method": "GET", "http.route": "/items/{id}"}),
    );
    let g = graph_from_spans(&[consumer, client, server]);
    assert_eq!(
        g.calls[0].handler.as_deref(),
        Some("process orders.created")
    );
    assert_eq!(g.calls[0].path.as_deref(), Some("/items/{id}"));
    assert_eq!(g.calls[0].idempotent, Fact::Known(true));
    assert_eq!(
        g.consumers[0].label(),
        "a on orders.created (durable a-orders)"
    );
    assert_eq!(g.consumers[0].max_deliver, Fact::Unknown);
    assert_eq!(g.consumers[0].dlq, Fact::Unknown);
}

#[test]
fn the_scenario_runner_is_not_part_of_the_system() {
    let mut spans = request(T1, json!({}), "c", "c");
    let mut runner = with(
        span(T1, 9, None, "parley", SpanKind::Client),
        json!({"http.request.method": "POST", "correlation.id": "c"}),
    );
    runner.scope_name = "parley-scenario".into();
    spans[0].parent_span_id = Some(runner.span_id.clone());
    spans.push(runner);
    let g = graph_from_spans(&spans);
    assert!(!g.services.contains_key("parley"));
    assert_eq!(g.calls.len(), 1, "{:#?}", g.calls);
    // Another service that happens to be called parley is one of the system's.
    spans.last_mut().expect("runner").scope_name = "my-app".into();
    let g = graph_from_spans(&spans);
    assert!(g.services.contains_key("parley"));
    assert_eq!(g.calls.len(), 2);
}

#[test]
fn the_gateway_is_known_from_its_resource_attribute() {
    let mut spans = request(T1, json!({}), "c", "c");
    let gateway = std::sync::Arc::new(
        [("parley.service.kind".to_string(), json!("gateway"))]
            .into_iter()
            .collect(),
    );
    for s in spans.iter_mut().filter(|s| s.service_name == "a") {
        s.resource_attributes = std::sync::Arc::clone(&gateway);
    }
    let g = graph_from_spans(&spans);
    assert_eq!(g.services["a"].kind, ServiceKind::Gateway);
    assert_eq!(g.services["b"].kind, ServiceKind::Service);
}

// ---------------------------------------------------------------------------------------
// OTLP traces files

fn jsonl(spans: &[Span]) -> String {
    let mut text = String::new();
    for s in spans {
        text.push_str(&encode_export_request(&spans_to_request(
            std::slice::from_ref(s),
        )));
        text.push('\n');
    }
    text
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn otlp_json_lines_and_one_export_request_are_lint_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spans = request(T1, json!({"parley.call.timeout_ms": 0}), "c", "c");
    let lines = write(&dir, "spans.jsonl", &jsonl(&spans));
    let report = lint::lint_paths(std::slice::from_ref(&lines), &Config::default())
        .expect("JSON lines lint");
    assert_eq!(report.inputs[0].kind, "OTLP traces");
    assert_eq!(rule_hits(&report, "PL005"), ["a → b (POST /api/charge)"]);
    let request: Value =
        serde_json::from_str(&encode_export_request(&spans_to_request(&spans))).expect("JSON");
    let pretty = serde_json::to_string_pretty(&request).expect("pretty");
    let one = write(&dir, "export.json", &pretty);
    let report = lint::lint_paths(&[one], &Config::default()).expect("one request lints");
    assert_eq!(rule_hits(&report, "PL005"), ["a → b (POST /api/charge)"]);
}

#[test]
fn a_malformed_line_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = jsonl(&request(T1, json!({}), "c", "c"));
    text.push_str("\n{\"resourceSpans\": [ {\"resource\": 7\n");
    let path = write(&dir, "broken.jsonl", &text);
    let e = lint::lint_paths(std::slice::from_ref(&path), &Config::default()).expect_err("broken");
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}:6", path.display())),
        "{e}"
    );
    // A span with a bad trace ID, on line 1.
    let bad = text
        .lines()
        .next()
        .unwrap_or_default()
        .replace(T1, "not-hex-at-all");
    let path = write(&dir, "bad-id.jsonl", &bad);
    let e = lint::lint_paths(&[path], &Config::default()).expect_err("bad id");
    assert_eq!((e.kind, e.line), (ErrorKind::Invalid, Some(1)), "{e}");
}

#[test]
fn only_otlp_traces_sniff_as_otlp_traces() {
    let sniff = |text: &str| OtlpTraces.sniff(&Document::new(Path::new("x"), text));
    assert!(sniff(&jsonl(&request(T1, json!({}), "c", "c"))));
    assert!(sniff("\u{feff}{\n  \"resourceSpans\": []\n}"));
    assert!(sniff("{\"resourceSpans\": [ broken"));
    assert!(!sniff("parley: architecture/v1\nservices: {}\n"));
    assert!(!sniff("{\"parley\": \"architecture/v1\"}"));
    assert!(!sniff("{\"resourceLogs\": []}"));
    let arch = std::fs::read_to_string(workspace().join("sample-services/architecture.yaml"))
        .expect("reads");
    assert!(!sniff(&arch));
}

#[test]
fn the_recorded_run_with_one_unguarded_call_gives_exactly_that_finding() {
    // The real spans of the clean run, with order → payment's charges made without a timeout.
    let store = parley_harness::otlp::read_jsonl_store(guarded_run()).expect("reads");
    let mut spans = store.spans();
    let mut changed = 0;
    for s in spans.iter_mut().filter(|s| {
        s.service_name == "order-service" && s.attr_str("url.template") == Some("/api/charge")
    }) {
        s.attributes
            .insert("parley.call.timeout_ms".into(), json!(0));
        changed += 1;
    }
    assert!(changed > 0);
    let report = lint_graph(&graph_from_spans(&spans));
    let hits = rule_hits(&report, "PL005");
    assert_eq!(
        hits,
        ["order-service → payment-service (POST /api/charge)"],
        "one per call site, whichever handler (POST /orders, POST /orders/saga) made it"
    );
    assert_eq!(report.active().count(), 1, "{:#?}", report.findings);
    let finding = &report.findings[0];
    let handlers: std::collections::BTreeSet<&str> = spans
        .iter()
        .filter(|s| {
            s.service_name == "order-service" && s.attr_str("url.template") == Some("/api/charge")
        })
        .map(|s| s.trace_id.as_str())
        .collect();
    assert!(
        finding.traces.len() >= 2.min(handlers.len()),
        "the traces of both handlers are evidence: {finding:#?}"
    );
}
