use serde_json::json;

use super::*;
use crate::otlp::{SpanLink, SpanStatus};

const T1: &str = "0af7651916cd43dd8448eb211c80319c";
const T2: &str = "1af7651916cd43dd8448eb211c80319c";
const CID: &str = "c-1";

struct B {
    spans: Vec<Span>,
    clock: u64,
}

impl B {
    fn new() -> Self {
        B {
            spans: Vec::new(),
            clock: 1,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        trace: &str,
        id: &str,
        parent: Option<&str>,
        service: &str,
        name: &str,
        kind: SpanKind,
        attrs: serde_json::Value,
    ) -> &mut Span {
        self.clock += 10;
        let mut attributes: crate::otlp::Attributes = attrs
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        attributes
            .entry(CORRELATION_ATTR.to_string())
            .or_insert(json!(CID));
        self.spans.push(Span {
            trace_id: trace.into(),
            span_id: format!("{id:0>16}"),
            parent_span_id: parent.map(|p| format!("{p:0>16}")),
            name: name.into(),
            kind,
            service_name: service.into(),
            start_unix_nanos: self.clock,
            end_unix_nanos: self.clock + 5,
            attributes,
            ..Span::default()
        });
        self.spans.last_mut().expect("pushed")
    }

    fn request(self) -> RequestTraces {
        let mut by: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        for s in self.spans {
            by.entry(s.trace_id.clone()).or_default().push(s);
        }
        RequestTraces {
            correlation_id: CID.into(),
            traces: by
                .into_iter()
                .map(|(trace_id, spans)| Trace { trace_id, spans })
                .collect(),
        }
    }
}

/// gateway → order (HTTP) → publish orders.created → payment consumes.
fn healthy() -> B {
    let mut b = B::new();
    b.span(
        T1,
        "1",
        None,
        "gateway",
        "POST /api/orders",
        SpanKind::Server,
        json!({}),
    );
    b.span(
        T1,
        "2",
        Some("1"),
        "gateway",
        "POST /orders",
        SpanKind::Client,
        json!({}),
    );
    b.span(
        T1,
        "3",
        Some("2"),
        "order-service",
        "POST /orders",
        SpanKind::Server,
        json!({}),
    );
    b.span(
        T1,
        "4",
        Some("3"),
        "order-service",
        "publish orders.created",
        SpanKind::Producer,
        json!({"messaging.destination.name": "orders.created"}),
    );
    let c = b.span(
        T1,
        "5",
        Some("4"),
        "payment-service",
        "process orders.created",
        SpanKind::Consumer,
        json!({"messaging.destination.name": "orders.created"}),
    );
    c.links.push(SpanLink {
        trace_id: T1.into(),
        span_id: format!("{:0>16}", "4"),
        ..SpanLink::default()
    });
    b
}

#[test]
fn a_healthy_request_passes_every_check() {
    let rt = healthy().request();
    for check in all("sync order", &rt) {
        assert!(
            matches!(check.outcome, Outcome::Passed | Outcome::Skipped(_)),
            "{check:?}"
        );
    }
    let shape = sync_shape(&rt.traces[0]);
    assert_eq!(
        shape,
        SyncShape {
            depth: 2,
            fan_out: 1
        }
    );
}

#[test]
fn a_consumer_starting_its_own_trace_blames_the_producer() {
    let mut b = healthy();
    b.spans.retain(|s| s.name != "process orders.created");
    b.span(
        T2,
        "9",
        None,
        "payment-service",
        "process orders.created",
        SpanKind::Consumer,
        json!({"messaging.destination.name": "orders.created"}),
    );
    let check = connected("async order", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(
        check.details[0].path,
        "order-service: publish orders.created"
    );
    assert!(
        check.details[0].message.contains(
            "published without trace context: payment-service: process orders.created started trace"
        ),
        "{check:?}"
    );
}

#[test]
fn an_orphan_is_reported() {
    let mut b = healthy();
    b.spans
        .retain(|s| s.name != "POST /orders" || s.kind != SpanKind::Client);
    let check = connected("sync order", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(check.details[0].path, "order-service: POST /orders");
}

#[test]
fn a_lost_correlation_id_is_blamed_on_the_hop() {
    let mut b = healthy();
    let consumer = b
        .spans
        .iter_mut()
        .find(|s| s.name == "process orders.created")
        .expect("consumer");
    consumer
        .attributes
        .insert(CORRELATION_ATTR.into(), json!("other"));
    let check = correlated("async order", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(
        check.details[0].path,
        "order-service: publish orders.created → payment-service"
    );
    assert_eq!(check.details[0].actual, "other");
}

#[test]
fn descendants_of_a_loss_are_not_blamed_again() {
    let mut b = healthy();
    for s in b
        .spans
        .iter_mut()
        .filter(|s| s.service_name == "order-service" || s.service_name == "payment-service")
    {
        s.attributes.insert(CORRELATION_ATTR.into(), json!("other"));
    }
    let check = correlated("sync order", &b.request());
    assert_eq!(check.details.len(), 1, "{check:?}");
    assert_eq!(
        check.details[0].path,
        "gateway: POST /orders → order-service"
    );
    assert!(
        check.details[0].message.contains("(3 span(s) from there)"),
        "{check:?}"
    );
}

#[test]
fn a_consumer_without_producer() {
    let mut b = healthy();
    let consumer = b
        .spans
        .iter_mut()
        .find(|s| s.name == "process orders.created")
        .expect("consumer");
    consumer.parent_span_id = Some(format!("{:0>16}", "3"));
    consumer.links.clear();
    let check = producers("async order", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(
        check.details[0].path,
        "payment-service: process orders.created"
    );
}

#[test]
fn an_unended_span() {
    let mut b = healthy();
    b.spans[2].end_unix_nanos = 0;
    assert_eq!(ended("x", &b.request()).outcome, Outcome::Failed);
}

fn saga_step(b: &mut B, id: &str, kind: &str, name: &str, compensates: &str, error: bool) {
    let s = b.span(
        T1,
        id,
        Some("3"),
        "order-service",
        &format!("saga {kind} {name}"),
        SpanKind::Internal,
        json!({
            "saga.step.kind": kind, "saga.step.name": name, "saga.step.compensates": compensates,
        }),
    );
    if error {
        s.status = SpanStatus {
            code: StatusCode::Error,
            message: String::new(),
        };
    }
}

#[test]
fn saga_compensations_in_reverse_order_pass() {
    let mut b = healthy();
    saga_step(&mut b, "a1", "action", "create", "", false);
    saga_step(&mut b, "a2", "action", "charge", "", false);
    saga_step(&mut b, "a3", "action", "reserve", "", true);
    saga_step(&mut b, "c1", "compensation", "refund", "charge", false);
    saga_step(&mut b, "c2", "compensation", "cancel", "create", false);
    assert_eq!(saga("saga", &b.request()).outcome, Outcome::Passed);
}

#[test]
fn a_missing_compensation_names_the_step() {
    let mut b = healthy();
    saga_step(&mut b, "a1", "action", "create", "", false);
    saga_step(&mut b, "a2", "action", "charge", "", false);
    saga_step(&mut b, "a3", "action", "reserve", "", true);
    saga_step(&mut b, "c2", "compensation", "cancel", "create", false);
    let check = saga("saga", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(check.details[0].path, "order-service: saga action charge");
    assert!(
        check.details[0]
            .message
            .contains("step charge completed but was never compensated")
    );
}

#[test]
fn compensations_out_of_order_fail() {
    let mut b = healthy();
    saga_step(&mut b, "a1", "action", "create", "", false);
    saga_step(&mut b, "a2", "action", "charge", "", false);
    saga_step(&mut b, "a3", "action", "reserve", "", true);
    saga_step(&mut b, "c2", "compensation", "cancel", "create", false);
    saga_step(&mut b, "c1", "compensation", "refund", "charge", false);
    let check = saga("saga", &b.request());
    assert_eq!(check.outcome, Outcome::Failed);
    assert!(check.details[0].message.contains("out of order"));
}

#[test]
fn no_saga_is_skipped() {
    assert!(matches!(
        saga("x", &healthy().request()).outcome,
        Outcome::Skipped(_)
    ));
}
