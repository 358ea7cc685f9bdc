//! Trace checks on the spans of one request (found by its correlation ID).
//!
//! Each check returns a [`Check`] whose details name the service and span at fault: where the
//! trace context or the correlation ID was lost (the hop that did not pass it on), which
//! consumer has no producer, which saga step was not compensated.

use std::collections::{BTreeMap, HashMap};

use crate::otlp::{Span, SpanKind, StatusCode, Trace};
use crate::requests::{CORRELATION_ATTR, RequestTraces};
use crate::results::{Check, Detail, Outcome};

pub const CONNECTED: &str = "trace: one connected tree";
pub const CORRELATED: &str = "trace: correlation ID on every span";
pub const PRODUCERS: &str = "trace: every consume has its producer";
pub const ENDED: &str = "trace: no span left open";
pub const SAGA: &str = "trace: saga compensations";

fn who(span: &Span) -> String {
    format!("{}: {}", span.service_name, span.name)
}

fn fail(check: &mut Check, path: String, expected: String, actual: String, message: String) {
    check.outcome = Outcome::Failed;
    check.details.push(Detail {
        path,
        rule: None,
        expected,
        actual,
        message,
    });
}

fn destination(span: &Span) -> Option<&str> {
    span.attr_str("messaging.destination.name")
}

/// The trace the request entered by: the one holding its earliest root span.
fn main_trace(rt: &RequestTraces) -> Option<&Trace> {
    rt.traces.iter().min_by_key(|t| {
        t.roots()
            .iter()
            .map(|s| s.start_unix_nanos)
            .min()
            .unwrap_or(u64::MAX)
    })
}

/// One trace, one root, no span whose parent is missing.
pub fn connected(group: &str, rt: &RequestTraces) -> Check {
    let mut check = Check::new(group, CONNECTED, "trace");
    let Some(main) = main_trace(rt) else {
        fail(
            &mut check,
            "trace".into(),
            "spans of the request".into(),
            "none".into(),
            format!("no span carries correlation ID {}", rt.correlation_id),
        );
        return check;
    };
    let main_root = main
        .roots()
        .into_iter()
        .min_by_key(|s| s.start_unix_nanos)
        .cloned();
    for trace in &rt.traces {
        for root in trace.roots() {
            if main_root
                .as_ref()
                .is_some_and(|m| m.span_id == root.span_id)
            {
                continue;
            }
            // A consumer starting a trace of its own: blame the producer of what it consumed.
            let producer = (root.kind == SpanKind::Consumer)
                .then(|| destination(root))
                .flatten()
                .and_then(|d| {
                    main.spans
                        .iter()
                        .find(|s| s.kind == SpanKind::Producer && destination(s) == Some(d))
                });
            let message = match producer {
                Some(p) => format!(
                    "{} published without trace context: {} started trace {}",
                    who(p),
                    who(root),
                    root.trace_id
                ),
                None => format!("{} starts a second trace ({})", who(root), root.trace_id),
            };
            let path = producer.map(who).unwrap_or_else(|| who(root));
            fail(
                &mut check,
                path,
                format!("a child of trace {}", main.trace_id),
                format!("root of trace {}", root.trace_id),
                message,
            );
        }
        for orphan in trace.orphans() {
            fail(
                &mut check,
                who(orphan),
                "its parent in the trace".into(),
                format!(
                    "parent {} never arrived",
                    orphan.parent_span_id.as_deref().unwrap_or("?")
                ),
                format!("{} has a parent span that was never received", who(orphan)),
            );
        }
    }
    check
}

/// Every span carries the request's correlation ID. The loss is blamed where it happened: a
/// span without it whose parent had it; its descendants are counted with it.
pub fn correlated(group: &str, rt: &RequestTraces) -> Check {
    let mut check = Check::new(group, CORRELATED, "trace");
    let spans: HashMap<&str, &Span> = rt.spans().map(|s| (s.span_id.as_str(), s)).collect();
    let has_it = |s: &Span| s.attr_str(CORRELATION_ATTR) == Some(rt.correlation_id.as_str());
    // Where each span without the ID lost it: the nearest ancestor that lost it itself.
    let loss_point = |span: &Span| -> String {
        let mut current = span;
        for _ in 0..256 {
            match current.parent_span_id.as_deref().and_then(|p| spans.get(p)) {
                Some(parent) if !has_it(parent) => current = parent,
                _ => break,
            }
        }
        current.span_id.clone()
    };
    let mut losses: BTreeMap<(u64, String), (usize, &Span)> = BTreeMap::new();
    for span in rt.spans().filter(|s| !has_it(s)) {
        let point = loss_point(span);
        let Some(first) = spans.get(point.as_str()) else {
            continue;
        };
        losses
            .entry((first.start_unix_nanos, point))
            .or_insert((0, first))
            .0 += 1;
    }
    for (_, (count, first)) in losses {
        let actual = first
            .attr_str(CORRELATION_ATTR)
            .unwrap_or("none")
            .to_string();
        let parent = first.parent_span_id.as_deref().and_then(|p| spans.get(p));
        let (path, message) = match parent {
            Some(p) => (
                format!("{} → {}", who(p), first.service_name),
                format!(
                    "{} did not pass x-correlation-id on: {} has {actual} ({count} span(s) from there)",
                    who(p),
                    who(first)
                ),
            ),
            None => (
                who(first),
                format!("{} has {actual} ({count} span(s) from there)", who(first)),
            ),
        };
        fail(&mut check, path, rt.correlation_id.clone(), actual, message);
    }
    check
}

/// Every consumer span has its producer in the request's traces, as parent or link.
pub fn producers(group: &str, rt: &RequestTraces) -> Check {
    let mut check = Check::new(group, PRODUCERS, "trace");
    let spans: HashMap<&str, &Span> = rt.spans().map(|s| (s.span_id.as_str(), s)).collect();
    for consumer in rt.spans().filter(|s| s.kind == SpanKind::Consumer) {
        let by_parent = consumer
            .parent_span_id
            .as_deref()
            .and_then(|p| spans.get(p))
            .is_some_and(|p| p.kind == SpanKind::Producer);
        let by_link = consumer.links.iter().any(|l| {
            spans
                .get(l.span_id.as_str())
                .is_some_and(|p| p.kind == SpanKind::Producer)
        });
        if !by_parent && !by_link {
            fail(
                &mut check,
                who(consumer),
                format!(
                    "a producer span of {}",
                    destination(consumer).unwrap_or("its subject")
                ),
                "none in the trace".into(),
                format!(
                    "{} consumed a message whose producer is not in the trace",
                    who(consumer)
                ),
            );
        }
    }
    check
}

/// No span ends before it starts or was never ended.
pub fn ended(group: &str, rt: &RequestTraces) -> Check {
    let mut check = Check::new(group, ENDED, "trace");
    for span in rt.spans() {
        if span.end_unix_nanos == 0 || span.end_unix_nanos < span.start_unix_nanos {
            fail(
                &mut check,
                who(span),
                "an end after its start".into(),
                format!("end {}", span.end_unix_nanos),
                format!("{} was not properly ended", who(span)),
            );
        }
    }
    check
}

/// A failed saga compensated every completed step, in reverse order. Saga spans carry
/// `saga.step.kind` (`action`/`compensation`), `saga.step.name`, and compensations
/// `saga.step.compensates`. Not applicable (skipped) when the request ran no saga.
pub fn saga(group: &str, rt: &RequestTraces) -> Check {
    let mut check = Check::new(group, SAGA, "trace");
    let mut actions: Vec<&Span> = rt
        .spans()
        .filter(|s| s.attr_str("saga.step.kind") == Some("action"))
        .collect();
    let mut compensations: Vec<&Span> = rt
        .spans()
        .filter(|s| s.attr_str("saga.step.kind") == Some("compensation"))
        .collect();
    if actions.is_empty() {
        check.outcome = Outcome::Skipped("the request ran no saga".into());
        return check;
    }
    actions.sort_by_key(|s| s.start_unix_nanos);
    compensations.sort_by_key(|s| s.start_unix_nanos);
    let failed = actions.iter().any(|s| s.status.code == StatusCode::Error);
    if !failed {
        if let Some(c) = compensations.first() {
            fail(
                &mut check,
                who(c),
                "no compensation (the saga succeeded)".into(),
                who(c),
                format!("{} ran although no step failed", who(c)),
            );
        }
        return check;
    }
    let completed: Vec<&Span> = actions
        .iter()
        .copied()
        .filter(|s| s.status.code != StatusCode::Error)
        .collect();
    let step = |s: &Span| s.attr_str("saga.step.name").unwrap_or_default().to_string();
    let expected: Vec<String> = completed.iter().rev().map(|s| step(s)).collect();
    let actual: Vec<String> = compensations
        .iter()
        .map(|c| {
            c.attr_str("saga.step.compensates")
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for action in completed.iter().rev() {
        let name = step(action);
        if !actual.contains(&name) {
            fail(
                &mut check,
                who(action),
                format!("a compensation of {name}"),
                "none".into(),
                format!(
                    "{}: step {name} completed but was never compensated",
                    action.service_name
                ),
            );
        }
    }
    let present: Vec<&String> = expected.iter().filter(|e| actual.contains(e)).collect();
    let ordered: Vec<&String> = actual.iter().filter(|a| expected.contains(a)).collect();
    if check.outcome == Outcome::Passed && present != ordered {
        fail(
            &mut check,
            compensations.first().map(|c| who(c)).unwrap_or_default(),
            format!("compensations of {} (reverse order)", expected.join(", ")),
            actual.join(", "),
            "compensations ran out of order".into(),
        );
    }
    check
}

/// Depth and breadth of the synchronous calls in a trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncShape {
    /// The longest chain of synchronous hops (server spans reached through client spans),
    /// counting the entry service.
    pub depth: usize,
    /// The most synchronous calls one span made.
    pub fan_out: usize,
}

/// The children of every span of one trace, by parent span ID, in the order given: the tree
/// [`sync_shape`] and the observed service graph ([`crate::lint::observed`]) walk.
pub fn children_by_parent<'a>(
    spans: impl IntoIterator<Item = &'a Span>,
) -> HashMap<&'a str, Vec<&'a Span>> {
    let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
    for s in spans {
        if let Some(p) = s.parent_span_id.as_deref() {
            children.entry(p).or_default().push(s);
        }
    }
    children
}

pub fn sync_shape(trace: &Trace) -> SyncShape {
    let children = children_by_parent(&trace.spans);
    fn depth(span: &Span, children: &HashMap<&str, Vec<&Span>>, level: usize) -> usize {
        if level > 256 {
            return level;
        }
        let here = usize::from(span.kind == SpanKind::Server);
        let below = children
            .get(span.span_id.as_str())
            .map(|c| {
                c.iter()
                    .map(|s| depth(s, children, level + 1))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        here + below
    }
    let depth = trace
        .roots()
        .iter()
        .map(|r| depth(r, &children, 0))
        .max()
        .unwrap_or(0);
    // Client spans are children of the span that made the call (often an internal span);
    // count them per service-local ancestor: the nearest non-client parent.
    let mut per_caller: HashMap<&str, usize> = HashMap::new();
    for s in trace.spans.iter().filter(|s| s.kind == SpanKind::Client) {
        if s.attr_i64("http.request.resend_count").unwrap_or(0) > 0 {
            continue;
        }
        if let Some(p) = s.parent_span_id.as_deref() {
            *per_caller.entry(p).or_default() += 1;
        }
    }
    SyncShape {
        depth,
        fan_out: per_caller.values().copied().max().unwrap_or(0),
    }
}

/// Every trace check on one request.
pub fn all(group: &str, rt: &RequestTraces) -> Vec<Check> {
    vec![
        connected(group, rt),
        correlated(group, rt),
        producers(group, rt),
        ended(group, rt),
        saga(group, rt),
    ]
}

#[cfg(test)]
mod tests;
