//! Rules on the system's shape: propagation, shared datastores, the door from outside.

use super::{Context, Hit, Rule, RuleInfo};
use crate::lint::Severity;
use crate::lint::graph::ServiceKind;

/// PL011: a service that does not pass the correlation ID on.
pub struct CorrelationId;

static CORRELATION_ID: RuleInfo = RuleInfo {
    id: "PL011",
    name: "correlation-id-not-propagated",
    severity: Severity::Warning,
    summary: "Correlation ID not propagated",
    why: "Without the correlation ID on every call and message, the logs and spans of one request cannot be found together past the service that drops it.",
    fix: "Copy the incoming x-correlation-id (and the W3C trace context) onto every outgoing call and published message, in one shared client layer.",
};

impl Rule for CorrelationId {
    fn info(&self) -> &'static RuleInfo {
        &CORRELATION_ID
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        cx.graph
            .services
            .values()
            .filter(|s| s.propagates_correlation_id.is(&false))
            .map(|s| {
                Hit::new(
                    s.name.clone(),
                    format!(
                        "{} does not pass the correlation ID on to what it calls and publishes",
                        s.name
                    ),
                    &s.origin,
                    "propagates_correlation_id",
                )
            })
            .collect()
    }
}

/// PL012: a datastore used by several services.
pub struct SharedDatastore;

static SHARED_DATASTORE: RuleInfo = RuleInfo {
    id: "PL012",
    name: "shared-datastore",
    severity: Severity::Warning,
    summary: "Datastore shared by several services",
    why: "Services sharing a datastore are coupled through its schema: one cannot change, scale or be deployed without the others, and their integrity rules are enforced nowhere.",
    fix: "Give the datastore one owner and have the others ask it (an API) or keep their own copy fed by its events.",
};

impl Rule for SharedDatastore {
    fn info(&self) -> &'static RuleInfo {
        &SHARED_DATASTORE
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let mut hits = Vec::new();
        for d in cx.graph.datastores.values() {
            let users = d.services();
            if users.len() < 2 {
                continue;
            }
            let names: Vec<&str> = users.iter().map(|u| u.service.as_str()).collect();
            let mut hit = Hit::new(
                d.name.clone(),
                format!(
                    "datastore {} is used by {} services: {}",
                    d.name,
                    names.len(),
                    names.join(", ")
                ),
                &d.origin,
                "datastore",
            );
            for u in users {
                hit.related(&u.origin, "service", format!("used by {}", u.service));
            }
            hits.push(hit);
        }
        hits
    }
}

/// PL013: a service reached from outside without the gateway.
pub struct GatewayBypass;

static GATEWAY_BYPASS: RuleInfo = RuleInfo {
    id: "PL013",
    name: "gateway-bypass",
    severity: Severity::Error,
    summary: "Service reached from outside without the gateway",
    why: "A service reachable from outside directly skips what the gateway enforces (authentication, rate limits, routing, TLS) and becomes part of the public surface.",
    fix: "Expose only the gateway; route outside callers through it and keep the service private (public: false).",
};

impl Rule for GatewayBypass {
    fn info(&self) -> &'static RuleInfo {
        &GATEWAY_BYPASS
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let g = cx.graph;
        let has_gateway = g.services.values().any(|s| s.kind == ServiceKind::Gateway);
        let mut hits = Vec::new();
        for s in g.services.values() {
            if s.kind == ServiceKind::Service && s.public.is(&true) {
                hits.push(Hit::new(
                    s.name.clone(),
                    if has_gateway {
                        format!(
                            "{} is public: outside callers reach it without the gateway",
                            s.name
                        )
                    } else {
                        format!(
                            "{} is public and there is no gateway in front of it",
                            s.name
                        )
                    },
                    &s.origin,
                    "public",
                ));
            }
        }
        for (c, &(from, to)) in g.calls.iter().zip(&cx.ends) {
            if cx.kinds[from] == Some(ServiceKind::External)
                && cx.kinds[to] == Some(ServiceKind::Service)
            {
                hits.push(Hit::new(
                    c.label(),
                    format!(
                        "{} (outside the system) calls {} directly, not through a gateway",
                        c.from, c.to
                    ),
                    &c.origin,
                    "",
                ));
            }
        }
        hits
    }
}
