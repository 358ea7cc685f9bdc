//! Tests for the service graph.

use super::*;

#[test]
fn wildcards_overlap_as_nats_does() {
    assert!(subjects_overlap("orders.>", "orders.created"));
    assert!(subjects_overlap("orders.*", "orders.created"));
    assert!(!subjects_overlap("orders.*", "orders.created.eu"));
    assert!(subjects_overlap("orders.>", "orders.created.eu"));
    assert!(!subjects_overlap("orders.>", "orders"));
    assert!(subjects_overlap("dlq.c.>", "dlq.*.orders.created"));
    assert!(!subjects_overlap("payments.charged", "payments.declined"));
    assert!(subjects_overlap("payments.charged", "payments.charged"));
}

#[test]
fn merge_fills_unknowns_and_keeps_what_is_known() {
    let mut a = ServiceGraph::default();
    a.add_service(Service::new("a", ServiceKind::Service));
    let mut call = SyncCall::new("a", "b");
    call.timeout_ms = Fact::Known(Some(100));
    a.calls.push(call);
    let mut b = ServiceGraph::default();
    b.add_service(Service::new("b", ServiceKind::External));
    let mut seen = SyncCall::new("a", "b");
    seen.timeout_ms = Fact::Known(None);
    seen.circuit_breaker = Fact::Known(true);
    seen.origin = Origin::traced(["t1".to_string()]);
    b.calls.push(seen);
    a.merge(b);
    assert_eq!(a.calls.len(), 1);
    assert_eq!(a.calls[0].timeout_ms, Fact::Known(Some(100)));
    assert_eq!(a.calls[0].circuit_breaker, Fact::Known(true));
    assert_eq!(a.calls[0].origin.traces, vec!["t1".to_string()]);
    assert_eq!(a.services["b"].kind, ServiceKind::External);
    assert!(a.validate().is_ok());
}

#[test]
fn a_misspelt_service_is_an_error_with_a_suggestion() {
    let mut g = ServiceGraph::default();
    g.add_service(Service::new("payment-service", ServiceKind::Service));
    g.add_service(Service::new("order-service", ServiceKind::Service));
    g.calls
        .push(SyncCall::new("order-service", "paymnet-service"));
    let e = g.validate().unwrap_err();
    assert!(e.message.contains("did you mean `payment-service`"), "{e}");
}
