use std::time::Duration;

use super::*;
use crate::otlp::{SpanLink, SpanStatus, Trace};
use crate::results::{Check, Detail};

fn span(
    id: &str,
    parent: Option<&str>,
    service: &str,
    name: &str,
    kind: SpanKind,
    start: u64,
    end: u64,
) -> Span {
    Span {
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: format!("{id:0>16}"),
        parent_span_id: parent.map(|p| format!("{p:0>16}")),
        name: name.into(),
        kind,
        service_name: service.into(),
        start_unix_nanos: start,
        end_unix_nanos: end,
        ..Span::default()
    }
}

fn request() -> RequestTraces {
    let mut consumer = span(
        "5",
        Some("4"),
        "payment-service",
        "process orders.created",
        SpanKind::Consumer,
        60,
        90,
    );
    consumer
        .attributes
        .insert("messaging.destination.name".into(), "orders.created".into());
    consumer.links.push(SpanLink {
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: format!("{:0>16}", "4"),
        ..SpanLink::default()
    });
    let mut failed = span(
        "3",
        Some("2"),
        "order-service",
        "POST /orders <x>",
        SpanKind::Server,
        20,
        80,
    );
    failed.status = SpanStatus {
        code: StatusCode::Error,
        message: String::new(),
    };
    RequestTraces {
        correlation_id: "c-<1>".into(),
        traces: vec![Trace {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            spans: vec![
                span(
                    "1",
                    None,
                    "gateway",
                    "POST /api/orders",
                    SpanKind::Server,
                    0,
                    100,
                ),
                span(
                    "2",
                    Some("1"),
                    "gateway",
                    "POST /orders",
                    SpanKind::Client,
                    10,
                    90,
                ),
                failed,
                span(
                    "4",
                    Some("3"),
                    "order-service",
                    "publish orders.created",
                    SpanKind::Producer,
                    30,
                    40,
                ),
                consumer,
            ],
        }],
    }
}

#[test]
fn the_graph_has_sync_and_async_edges() {
    let rt = request();
    let (services, edges) = service_graph(rt.spans());
    assert_eq!(services.len(), 3);
    let summary: Vec<(String, String, bool)> = edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone(), e.sync))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("gateway".into(), "order-service".into(), true),
            ("order-service".into(), "payment-service".into(), false),
        ]
    );
    assert!(edges[1].labels.contains("orders.created"));
}

#[test]
fn spans_come_in_tree_order_with_depth() {
    let rt = request();
    let spans: Vec<&Span> = rt.spans().collect();
    let order: Vec<(String, usize)> = tree_order(&spans)
        .into_iter()
        .map(|(s, d)| (s.name.clone(), d))
        .collect();
    assert_eq!(order[0], ("POST /api/orders".to_string(), 0));
    assert_eq!(order[4], ("process orders.created".to_string(), 4));
}

#[test]
fn the_page_is_self_contained_escaped_and_marks_failures() {
    let mut failed = Check::new("sync order", "trace: one connected tree", "trace");
    failed.outcome = Outcome::Failed;
    failed.details.push(Detail {
        path: "inventory-service: publish <x>".into(),
        rule: None,
        expected: "a".into(),
        actual: "b".into(),
        message: "lost & found".into(),
    });
    let results = RunResults {
        title: "t".into(),
        checks: vec![Check::new("sync order", "step 1", "step"), failed],
        duration: Duration::from_millis(3),
    };
    let traces = vec![("sync order".to_string(), request())];
    let html = render(&HtmlReport {
        title: "parley demo",
        results: &results,
        traces: &traces,
        generated: "now".into(),
    });
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    assert!(html.contains("POST /orders &lt;x&gt;"), "escaped");
    assert!(html.contains("c-&lt;1&gt;"));
    assert!(html.contains("lost &amp; found"));
    assert!(html.contains("class=\"row failed\""));
    assert!(html.contains("class=\"edge sync\"") && html.contains("class=\"edge async\""));
    assert!(html.contains("id=\"verdict\">failed: 1 passed, 1 failed"));
}
