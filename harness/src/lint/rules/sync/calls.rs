//! Per-call rules: a synchronous call without a timeout (PL005), retried though not safe to
//! repeat (PL006), without a circuit breaker (PL007).

use super::ours;
use crate::lint::Severity;
use crate::lint::graph::{Fact, SyncCall};
use crate::lint::rules::{Context, Hit, Rule, RuleInfo, per_call_site};

/// PL005: a synchronous call without a timeout.
pub struct Timeout;

static TIMEOUT: RuleInfo = RuleInfo {
    id: "PL005",
    name: "call-without-timeout",
    severity: Severity::Error,
    summary: "Synchronous call without a timeout",
    why: "A call without a timeout waits as long as the callee hangs: one slow service ties up its callers' connections and threads, and the slowness spreads up the chain.",
    fix: "Give every attempt a timeout (timeout_ms) shorter than what the caller's own caller waits.",
};

impl Rule for Timeout {
    fn info(&self) -> &'static RuleInfo {
        &TIMEOUT
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        own_call_sites(
            cx,
            "",
            |c| c.timeout_ms.is(&None),
            |c, callee| {
                format!(
                    "{} calls {callee} without a timeout: if {} hangs, so does {}",
                    c.from, c.to, c.from
                )
            },
        )
    }
}

/// PL006: retries on a call that is not safe to repeat.
pub struct RetryIdempotency;

static RETRY_IDEMPOTENCY: RuleInfo = RuleInfo {
    id: "PL006",
    name: "retry-not-idempotent",
    severity: Severity::Error,
    summary: "Retries on a call that is not idempotent",
    why: "A retry after a timeout repeats a request that may already have succeeded: a non-idempotent call (a POST that charges, creates, sends) then happens twice.",
    fix: "Retry only idempotent calls (retries.on: idempotent-only), or make the call idempotent with an idempotency key the callee de-duplicates on (idempotency_key).",
};

impl Rule for RetryIdempotency {
    fn info(&self) -> &'static RuleInfo {
        &RETRY_IDEMPOTENCY
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let retried = |c: &SyncCall| match c.retries {
            Fact::Known(Some(r)) if c.retried(r) && c.repeat_safe().is(&false) => Some(r),
            _ => None,
        };
        own_call_sites(
            cx,
            "retries",
            |c| retried(c).is_some(),
            |c, callee| {
                format!(
                    "{} retries {callee} up to {} attempts, but the call is not idempotent and carries no idempotency key: a retry can do it twice",
                    c.from,
                    retried(c).map_or(0, |r| r.max_attempts)
                )
            },
        )
    }
}

/// PL007: a synchronous call without a circuit breaker.
pub struct CircuitBreaker;

static CIRCUIT_BREAKER: RuleInfo = RuleInfo {
    id: "PL007",
    name: "no-circuit-breaker",
    severity: Severity::Warning,
    summary: "Synchronous call without a circuit breaker",
    why: "While the callee is down every call still waits for its timeout (and its retries), piling up load on both sides; a breaker fails fast and lets the callee recover.",
    fix: "Put a circuit breaker on the client of the callee (open after consecutive failures, half-open after a cool-down) and declare it (circuit_breaker: true).",
};

impl Rule for CircuitBreaker {
    fn info(&self) -> &'static RuleInfo {
        &CIRCUIT_BREAKER
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        own_call_sites(
            cx,
            "",
            |c| c.circuit_breaker.is(&false),
            |c, callee| {
                format!(
                    "{} calls {callee} without a circuit breaker: while {} is down, every call waits for its timeout",
                    c.from, c.to
                )
            },
        )
    }
}

/// The calls of the system's own services that `flagged` picks, one hit per call site (see
/// [`per_call_site`]) at the call's `field`, worded by `message` from the call and its callee
/// (`payment-service (POST /api/charge)`).
fn own_call_sites(
    cx: &Context<'_>,
    field: &str,
    flagged: impl Fn(&SyncCall) -> bool,
    message: impl Fn(&SyncCall, String) -> String,
) -> Vec<Hit> {
    let calls = cx
        .graph
        .calls
        .iter()
        .enumerate()
        .filter(|&(i, c)| ours(cx, i) && flagged(c))
        .map(|(_, c)| c);
    per_call_site(calls, field, |c| {
        let callee = match c.route() {
            Some(r) => format!("{} ({r})", c.to),
            None => c.to.clone(),
        };
        Hit::new(c.label(), message(c, callee), &c.origin, field)
    })
}
