//! The service graph observed in traces: what the services really did, as a [`ServiceGraph`]
//! the lint rules read like any other input.
//!
//! Two ways in:
//! - a live run: [`graph_from_store`] on the OTLP receiver's [`TraceStore`] (what `parley demo`
//!   does), or [`graph_from_spans`] / [`graph_from_traces`] on spans already at hand;
//! - a file: the [`OtlpTraces`] importer reads OTLP JSON lines (what `parley collect` writes, one
//!   `ExportTraceServiceRequest` per line) or one OTLP/JSON export request, so
//!   `parley lint spans.jsonl` and `parley lint architecture.yaml spans.jsonl` work.
//!
//! Linting a live run, as `parley demo` does:
//!
//! ```no_run
//! # use parley_harness::lint::{self, Config, InputInfo, observed};
//! # fn demo(receiver: &parley_harness::otlp::Receiver, declared: lint::ServiceGraph) {
//! let mut graph = observed::graph_from_store(&receiver.store());
//! // Optional: what was observed wins over the description, which fills the unknowns
//! // (`merge` keeps what its receiver knows, so merge the description into the observation).
//! graph.merge(declared);
//! let input = InputInfo { path: "observed traces".into(), kind: observed::OtlpTraces::KIND };
//! let report = lint::lint(&graph, &Config::default(), vec![input]);
//! # let _ = report;
//! # }
//! ```
//!
//! # What is read from the spans
//!
//! - **Services**: every `service.name`. The resource attribute [`SERVICE_KIND_ATTR`]
//!   (`parley.service.kind`: `gateway`, `service`, `external`) sets the kind; without it a
//!   service is one of the system's own. Whether a service is public is never inferred.
//! - **Synchronous calls**: a CLIENT span of service A with a SERVER child span in service B is a
//!   call A → B: method from `http.request.method`, path from the server span's `http.route`
//!   (else the client's `url.template`), `handler` from A's enclosing SERVER span
//!   (`POST /orders`, the format of `architecture.yaml`), or `process <subject>` when A made the
//!   call while processing a message. A CLIENT span without a server child (the callee is not
//!   instrumented) is a call to `peer.service`, else `server.address[:server.port]`; a callee
//!   seen nowhere else is a service of kind `external`.
//! - **Resilience of a call**, from its client spans (the parley convention below); what a span
//!   does not say stays [`Fact::Unknown`], and rules stay silent on it. When spans of one call
//!   disagree, the riskiest value wins (no timeout over a timeout, no breaker over a breaker,
//!   more attempts over fewer, `all` over `idempotent-only`). Idempotency comes from the method;
//!   an idempotency key counts only when every span of the call carries one.
//! - **Messaging**: a PRODUCER span with `messaging.destination.name` publishes that subject; a
//!   CONSUMER span consumes it, durably under `messaging.consumer.group.name` when present. A
//!   publish made inside a consumer span whose `parley.outcome` is `dead-lettered` is that
//!   consumer's dead-letter subject. Max deliveries, idempotency and acknowledgement stay
//!   unknown (and so does a DLQ never used during the run).
//! - **Correlation ID**: a hop is a client span and its server child, or a producer span and its
//!   consumer child. When the caller's span carries a correlation ID (`correlation.id`) and the
//!   callee's span carries another one or none, the caller dropped it:
//!   `propagates_correlation_id = Known(false)`, with those traces as evidence. A service seen
//!   passing it on, and never dropping it, is `Known(true)`; one never seen on a hop, unknown.
//!
//! The spans parley's own scenario runner records (service `parley`, scope `parley-scenario`)
//! are left out: it drives the system, it is not part of it.
//!
//! Every element keeps the IDs of the oldest [`MAX_EVIDENCE_TRACES`] traces that show it (by
//! their earliest span, whatever order the spans came in; [`Origin::traced`]), which findings
//! list.
//!
//! # The parley convention for client spans
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `parley.call.timeout_ms` | int | per-attempt timeout in ms; `0`: no timeout |
//! | `parley.call.max_attempts` | int | attempts in all, the first included; `1`: never retried |
//! | `parley.call.retry_on` | string | `idempotent-only` or `all`: which requests are retried |
//! | `parley.call.circuit_breaker` | bool | a circuit breaker guards the call |
//! | `parley.call.idempotency_key` | bool | the request carries an `Idempotency-Key` header |
//!
//! The older `parley.http.timeout_ms` (set only when there is a timeout) is read as a timeout
//! too, and `http.request.header.idempotency-key` (the semantic conventions' header capture) as
//! an idempotency key. `OBSERVED.md` beside this file documents the same for users.

mod attributes;
mod file;

use std::collections::{BTreeMap, HashMap};

use super::graph::{
    Consumer, Fact, Origin, Producer, Retries, Service, ServiceGraph, ServiceKind, Subject,
    SyncCall, method_is_idempotent,
};
use crate::checks::trace::children_by_parent;
use crate::otlp::{Span, SpanKind, StoreView, Trace, TraceStore};
use crate::requests::CORRELATION_ATTR;

use attributes::{
    carries_idempotency_key, flag, int, retries_of, timeout_of, worst_retries, worst_timeout,
};
pub use file::{OtlpTraces, read_traces};

/// Client span: per-attempt timeout in milliseconds, `0` for none.
pub const TIMEOUT_ATTR: &str = "parley.call.timeout_ms";
/// Client span: attempts in all, the first included.
pub const MAX_ATTEMPTS_ATTR: &str = "parley.call.max_attempts";
/// Client span: `idempotent-only` or `all`.
pub const RETRY_ON_ATTR: &str = "parley.call.retry_on";
/// Client span: whether a circuit breaker guards the call.
pub const CIRCUIT_BREAKER_ATTR: &str = "parley.call.circuit_breaker";
/// Client span: whether the request carries an `Idempotency-Key` header.
pub const IDEMPOTENCY_KEY_ATTR: &str = "parley.call.idempotency_key";
/// Resource: `gateway`, `service` or `external`.
pub const SERVICE_KIND_ATTR: &str = "parley.service.kind";
/// The older timeout attribute of the samples, present only when there is a timeout.
const LEGACY_TIMEOUT_ATTR: &str = "parley.http.timeout_ms";
/// The semantic conventions' capture of the `Idempotency-Key` request header.
const IDEMPOTENCY_HEADER_ATTR: &str = "http.request.header.idempotency-key";
/// What an observed call's `idempotency_key` says.
const IDEMPOTENCY_KEY_SEEN: &str = "Idempotency-Key header (seen on every request)";

/// Consumer span: how processing the message ended (`done`, `dead-lettered`, …).
pub const OUTCOME_ATTR: &str = "parley.outcome";
/// The [`OUTCOME_ATTR`] of a consumer that moved its message to its dead-letter subject.
pub const DEAD_LETTERED: &str = "dead-lettered";

/// The scope of the spans parley's scenario runner records (service [`SCENARIO_SERVICE`]).
const SCENARIO_SCOPE: &str = "parley-scenario";
/// The `service.name` of parley's scenario runner.
const SCENARIO_SERVICE: &str = "parley";

/// How many trace IDs an observed element keeps as evidence.
pub const MAX_EVIDENCE_TRACES: usize = 5;

/// The graph the spans show. Spans may come from any number of traces, in any order; a span
/// whose parent is absent simply starts a tree of its own.
pub fn graph_from_spans(spans: &[Span]) -> ServiceGraph {
    observe(spans.iter())
}

/// The graph the traces show (e.g. [`TraceStore::traces`]).
pub fn graph_from_traces(traces: &[Trace]) -> ServiceGraph {
    observe(traces.iter().flat_map(|t| t.spans.iter()))
}

/// The graph of everything a store holds: what `parley demo` lints after its scenarios, with
/// its receiver's store (`graph_from_store(&receiver.store())`). Reads under the store's lock,
/// without copying the spans.
pub fn graph_from_store(store: &TraceStore) -> ServiceGraph {
    store.view(graph_from_view)
}

/// The graph of a consistent view of a store (see [`TraceStore::view`]).
pub fn graph_from_view(view: &StoreView<'_>) -> ServiceGraph {
    observe(view.spans())
}

/// Trace IDs, oldest trace first, at most [`MAX_EVIDENCE_TRACES`].
#[derive(Debug, Default)]
struct Evidence(Vec<String>);

impl Evidence {
    fn add(&mut self, trace: &str) {
        if self.0.len() < MAX_EVIDENCE_TRACES && !self.0.iter().any(|t| t == trace) {
            self.0.push(trace.to_string());
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn origin(&self) -> Origin {
        Origin::traced(self.0.iter().cloned())
    }
}

#[derive(Default)]
struct ServiceSeen {
    kind: Option<ServiceKind>,
    seen: Evidence,
    passes: Evidence,
    drops: Evidence,
}

/// Caller, callee, method, path, handler: a call's identity, as [`ServiceGraph::merge`] has it.
type CallKey = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[derive(Default)]
struct CallSeen {
    timeout_ms: Fact<Option<u64>>,
    retries: Fact<Option<Retries>>,
    circuit_breaker: Fact<bool>,
    spans: usize,
    keyed: usize,
    seen: Evidence,
}

#[derive(Default)]
struct Observed {
    services: BTreeMap<String, ServiceSeen>,
    /// Callees named only by client spans without a server child.
    callees: BTreeMap<String, Evidence>,
    calls: BTreeMap<CallKey, CallSeen>,
    /// Subject → (producers → evidence, evidence).
    subjects: BTreeMap<String, (BTreeMap<String, Evidence>, Evidence)>,
    /// (service, subject, durable) → what was seen.
    consumers: BTreeMap<ConsumerKey, ConsumerSeen>,
}

/// Service, subject, durable name.
type ConsumerKey = (String, String, Option<String>);

#[derive(Default)]
struct ConsumerSeen {
    /// The subject it was seen dead-lettering a message to.
    dlq: Option<String>,
    seen: Evidence,
}

fn consumer_key(s: &Span) -> Option<ConsumerKey> {
    let subject = s.attr_str("messaging.destination.name")?;
    let durable = s
        .attr_str("messaging.consumer.group.name")
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    Some((s.service_name.clone(), subject.to_string(), durable))
}

fn observe<'a>(spans: impl Iterator<Item = &'a Span>) -> ServiceGraph {
    let mut by_trace: HashMap<&str, Vec<&Span>> = HashMap::new();
    for s in spans.filter(|s| !is_scenario_runner(s)) {
        by_trace.entry(s.trace_id.as_str()).or_default().push(s);
    }
    // Traces oldest first (by their earliest span), whatever order the spans came in: the
    // evidence an element keeps is its first traces.
    let mut traces: Vec<(u64, &str, Vec<&Span>)> = by_trace
        .into_iter()
        .map(|(id, spans)| {
            let start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
            (start, id, spans)
        })
        .collect();
    traces.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut o = Observed::default();
    for (_, _, spans) in &traces {
        o.trace(spans);
    }
    o.finish()
}

impl Observed {
    fn trace(&mut self, spans: &[&Span]) {
        let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), *s)).collect();
        let children = children_by_parent(spans.iter().copied());
        let kids = |s: &Span, kind: SpanKind| -> Vec<&Span> {
            children
                .get(s.span_id.as_str())
                .map(|c| c.iter().copied().filter(|c| c.kind == kind).collect())
                .unwrap_or_default()
        };
        for &s in spans {
            let service = self.service(&s.service_name);
            service.seen.add(&s.trace_id);
            if service.kind.is_none() {
                service.kind = s.resource_attr_str(SERVICE_KIND_ATTR).and_then(kind_of);
            }
            match s.kind {
                SpanKind::Client => {
                    let handler = handler(s, &by_id);
                    let servers = kids(s, SpanKind::Server);
                    if servers.is_empty()
                        && let Some(to) = callee_name(s)
                    {
                        self.callees.entry(to.clone()).or_default().add(&s.trace_id);
                        let path = s.attr_str("url.template").map(str::to_string);
                        self.call(s, None, to, path, handler.clone());
                    }
                    for server in servers {
                        let path = server
                            .attr_str("http.route")
                            .or_else(|| s.attr_str("url.template"))
                            .map(str::to_string);
                        self.call(
                            s,
                            Some(server),
                            server.service_name.clone(),
                            path,
                            handler.clone(),
                        );
                        self.hop(s, server);
                    }
                }
                SpanKind::Producer => {
                    if let Some(subject) = s.attr_str("messaging.destination.name") {
                        let (producers, seen) =
                            self.subjects.entry(subject.to_string()).or_default();
                        seen.add(&s.trace_id);
                        producers
                            .entry(s.service_name.clone())
                            .or_default()
                            .add(&s.trace_id);
                    }
                    for consumer in kids(s, SpanKind::Consumer) {
                        self.hop(s, consumer);
                    }
                    // A publish while a consumer dead-letters its message: that consumer's DLQ.
                    if let Some(subject) = s.attr_str("messaging.destination.name")
                        && let Some(parent) = s.parent_span_id.as_deref().and_then(|p| by_id.get(p))
                        && parent.kind == SpanKind::Consumer
                        && parent.service_name == s.service_name
                        && parent.attr_str(OUTCOME_ATTR) == Some(DEAD_LETTERED)
                        && let Some(key) = consumer_key(parent)
                    {
                        self.consumers.entry(key).or_default().dlq = Some(subject.to_string());
                    }
                }
                SpanKind::Consumer => {
                    if let Some(key) = consumer_key(s) {
                        self.consumers.entry(key).or_default().seen.add(&s.trace_id);
                    }
                }
                _ => {}
            }
        }
    }

    /// One client span (and its server child, when there is one) of a call.
    fn call(
        &mut self,
        client: &Span,
        server: Option<&Span>,
        to: String,
        path: Option<String>,
        handler: Option<String>,
    ) {
        let method = client
            .attr_str("http.request.method")
            .or_else(|| server.and_then(|s| s.attr_str("http.request.method")))
            .map(str::to_ascii_uppercase);
        let key = (client.service_name.clone(), to, method, path, handler);
        let c = self.calls.entry(key).or_default();
        c.spans += 1;
        c.seen.add(&client.trace_id);
        c.timeout_ms = worst_timeout(c.timeout_ms, timeout_of(client));
        c.retries = worst_retries(c.retries, retries_of(client));
        c.circuit_breaker = match (c.circuit_breaker, flag(client, CIRCUIT_BREAKER_ATTR)) {
            (Fact::Known(false), _) | (_, None) => c.circuit_breaker,
            (_, Some(b)) => Fact::Known(b),
        };
        if carries_idempotency_key(client) {
            c.keyed += 1;
        }
    }

    /// What was seen of a service (allocating its name once, not once per span).
    fn service(&mut self, name: &str) -> &mut ServiceSeen {
        if !self.services.contains_key(name) {
            self.services
                .insert(name.to_string(), ServiceSeen::default());
        }
        self.services
            .get_mut(name)
            .expect("the service was inserted just above")
    }

    /// A hop from `from` (client or producer) to `to` (its server or consumer child).
    fn hop(&mut self, from: &Span, to: &Span) {
        let Some(id) = from.attr_str(CORRELATION_ATTR).filter(|c| !c.is_empty()) else {
            return;
        };
        let service = self.service(&from.service_name);
        if to.attr_str(CORRELATION_ATTR) == Some(id) {
            service.passes.add(&from.trace_id);
        } else {
            service.drops.add(&from.trace_id);
        }
    }

    fn finish(self) -> ServiceGraph {
        let mut g = ServiceGraph::default();
        for (name, evidence) in &self.callees {
            if !self.services.contains_key(name) {
                let mut s = Service::new(name.clone(), ServiceKind::External);
                s.origin = evidence.origin();
                g.add_service(s);
            }
        }
        for (name, seen) in self.services {
            let mut s = Service::new(name, seen.kind.unwrap_or_default());
            if !seen.drops.is_empty() {
                s.propagates_correlation_id = Fact::Known(false);
                s.origin = seen.drops.origin();
            } else {
                if !seen.passes.is_empty() {
                    s.propagates_correlation_id = Fact::Known(true);
                }
                s.origin = seen.seen.origin();
            }
            g.add_service(s);
        }
        for ((from, to, method, path, handler), seen) in self.calls {
            let mut c = SyncCall::new(from, to);
            c.idempotent = method
                .as_deref()
                .and_then(method_is_idempotent)
                .map_or(Fact::Unknown, Fact::Known);
            c.method = method;
            c.path = path;
            c.handler = handler;
            c.timeout_ms = seen.timeout_ms;
            c.retries = seen.retries;
            c.circuit_breaker = seen.circuit_breaker;
            if seen.spans > 0 && seen.keyed == seen.spans {
                c.idempotency_key = Some(IDEMPOTENCY_KEY_SEEN.to_string());
            }
            c.origin = seen.seen.origin();
            g.calls.push(c);
        }
        for (name, (producers, seen)) in self.subjects {
            g.add_subject(Subject {
                name,
                producers: producers
                    .into_iter()
                    .map(|(service, e)| Producer {
                        service,
                        origin: e.origin(),
                    })
                    .collect(),
                description: None,
                origin: seen.origin(),
            });
        }
        for ((service, subject, durable), seen) in self.consumers {
            let mut c = Consumer::new(service, subject);
            if let Some(d) = durable {
                c.durable = Fact::Known(Some(d));
            }
            if let Some(dlq) = seen.dlq {
                c.dlq = Fact::Known(Some(dlq));
            }
            c.origin = seen.seen.origin();
            g.consumers.push(c);
        }
        g
    }
}

/// The spans parley's scenario runner records for itself: it drives the system, it is not
/// part of it (the services it calls are entry points, as when it is not traced at all).
fn is_scenario_runner(span: &Span) -> bool {
    span.service_name == SCENARIO_SERVICE && span.scope_name == SCENARIO_SCOPE
}

fn kind_of(text: &str) -> Option<ServiceKind> {
    match text.to_ascii_lowercase().as_str() {
        "gateway" => Some(ServiceKind::Gateway),
        "service" => Some(ServiceKind::Service),
        "external" => Some(ServiceKind::External),
        _ => None,
    }
}

/// The request (or message) handler of the service that made `client`: its nearest SERVER
/// ancestor in the same service (`POST /orders`), or CONSUMER one (`process orders.created`).
fn handler(client: &Span, by_id: &HashMap<&str, &Span>) -> Option<String> {
    let mut current = client;
    // Bounded: a malformed trace may hold a parent cycle.
    for _ in 0..256 {
        let parent = by_id.get(current.parent_span_id.as_deref()?)?;
        if parent.service_name != client.service_name {
            return None;
        }
        match parent.kind {
            SpanKind::Server => {
                let route = parent
                    .attr_str("http.route")
                    .or_else(|| parent.attr_str("url.path"));
                return match (parent.attr_str("http.request.method"), route) {
                    (Some(m), Some(r)) => Some(format!("{} {r}", m.to_ascii_uppercase())),
                    _ => Some(parent.name.clone()),
                };
            }
            SpanKind::Consumer => {
                return Some(match parent.attr_str("messaging.destination.name") {
                    Some(d) => format!("process {d}"),
                    None => parent.name.clone(),
                });
            }
            _ => current = parent,
        }
    }
    None
}

/// Who a client span without a server child called: `peer.service`, else the server address.
fn callee_name(client: &Span) -> Option<String> {
    if let Some(peer) = client.attr_str("peer.service").filter(|p| !p.is_empty()) {
        return Some(peer.to_string());
    }
    let address = client
        .attr_str("server.address")
        .filter(|a| !a.is_empty())?;
    Some(match int(client, "server.port") {
        Some(port) => format!("{address}:{port}"),
        None => address.to_string(),
    })
}
