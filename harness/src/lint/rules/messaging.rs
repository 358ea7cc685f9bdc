//! Rules on asynchronous messaging: consumers, subjects, producers.

use super::analysis::FxSet;
use super::{Context, Hit, Rule, RuleInfo};
use crate::lint::Severity;
use crate::lint::graph::{Ack, Fact, ServiceGraph, has_wildcard, subjects_overlap};

/// PL001: a consumer with unbounded redelivery, or without a dead-letter queue.
pub struct DeadLetter;

static DEAD_LETTER: RuleInfo = RuleInfo {
    id: "PL001",
    name: "consumer-without-dlq",
    severity: Severity::Error,
    summary: "Consumer without a dead-letter queue, or with unbounded redelivery",
    why: "A message that can never be processed (a poison message) is either redelivered for ever, blocking or burning the consumer, or dropped without a trace.",
    fix: "Bound the deliveries (max_deliver, e.g. 3, with a growing delay) and move a message that still fails to a dead-letter subject (dlq) that someone watches.",
};

impl Rule for DeadLetter {
    fn info(&self) -> &'static RuleInfo {
        &DEAD_LETTER
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let mut hits = Vec::new();
        for c in &cx.graph.consumers {
            let unbounded = c.max_deliver.is(&None);
            let no_dlq = c.dlq.is(&None);
            let (message, field) = match (unbounded, no_dlq) {
                (true, true) => (
                    format!(
                        "{} redelivers a failing message without limit and has no dead-letter queue: a poison message comes back for ever",
                        c.label()
                    ),
                    "max_deliver",
                ),
                (true, false) => (
                    format!(
                        "{} redelivers a failing message without limit: its dead-letter queue never receives anything",
                        c.label()
                    ),
                    "max_deliver",
                ),
                (false, true) => (
                    format!(
                        "{} gives up on a message after {} deliveries and has no dead-letter queue: the message is lost",
                        c.label(),
                        c.max_deliver.known().copied().flatten().unwrap_or_default()
                    ),
                    "dlq",
                ),
                (false, false) => continue,
            };
            hits.push(Hit::new(c.label(), message, &c.origin, field));
        }
        hits
    }
}

/// PL002: a consumer without an idempotency mechanism.
pub struct IdempotentConsumer;

static IDEMPOTENT_CONSUMER: RuleInfo = RuleInfo {
    id: "PL002",
    name: "consumer-not-idempotent",
    severity: Severity::Error,
    summary: "Consumer without an idempotency mechanism",
    why: "Delivery is at least once: a redelivery after a lost ack, or a duplicate publish, is processed again (a second charge, a second shipment).",
    fix: "De-duplicate on a stable key of the message (the order ID, the message ID) before changing state, and declare it as the consumer's idempotency_key.",
};

impl Rule for IdempotentConsumer {
    fn info(&self) -> &'static RuleInfo {
        &IDEMPOTENT_CONSUMER
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        cx.graph
            .consumers
            .iter()
            .filter(|c| c.idempotency_key.is(&None))
            .map(|c| {
                Hit::new(
                    c.label(),
                    format!(
                        "{} has no idempotency key: a redelivered or duplicated message is processed twice",
                        c.label()
                    ),
                    &c.origin,
                    "idempotency_key",
                )
            })
            .collect()
    }
}

/// Subjects matched by a set of subjects or filters: exact names in a set, wildcard ones
/// scanned.
struct SubjectSet<'g> {
    exact: FxSet<&'g str>,
    wild: Vec<&'g str>,
}

impl<'g> SubjectSet<'g> {
    fn new(names: impl Iterator<Item = &'g str>) -> Self {
        let mut set = SubjectSet {
            exact: FxSet::default(),
            wild: Vec::new(),
        };
        for n in names {
            if has_wildcard(n) {
                set.wild.push(n);
            } else {
                set.exact.insert(n);
            }
        }
        set
    }

    /// Whether any member can name the same subject as `s`.
    fn overlaps(&self, s: &str) -> bool {
        if has_wildcard(s) {
            return self.exact.iter().any(|e| subjects_overlap(s, e))
                || self.wild.iter().any(|w| subjects_overlap(s, w));
        }
        self.exact.contains(s) || self.wild.iter().any(|w| subjects_overlap(s, w))
    }
}

/// Dead-letter subjects: where consumers send what failed.
fn dead_letters(g: &ServiceGraph) -> SubjectSet<'_> {
    SubjectSet::new(g.consumers.iter().filter_map(|c| match &c.dlq {
        Fact::Known(Some(d)) => Some(d.as_str()),
        _ => None,
    }))
}

/// PL009: a subject with producers and no consumer.
pub struct NoConsumer;

static NO_CONSUMER: RuleInfo = RuleInfo {
    id: "PL009",
    name: "subject-without-consumer",
    severity: Severity::Warning,
    summary: "Subject published but never consumed",
    why: "Messages nobody reads are work for nothing, or a consumer that was meant to exist and does not (a misspelt subject, a forgotten subscription).",
    fix: "Add the consumer, fix the subject name on one side, or stop publishing it.",
};

impl Rule for NoConsumer {
    fn info(&self) -> &'static RuleInfo {
        &NO_CONSUMER
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let g = cx.graph;
        let consumed = SubjectSet::new(g.consumers.iter().map(|c| c.subject.as_str()));
        let dlq = dead_letters(g);
        let mut hits = Vec::new();
        for s in g.subjects.values() {
            if s.producers.is_empty() || consumed.overlaps(&s.name) || dlq.overlaps(&s.name) {
                continue;
            }
            let who: Vec<&str> = s.producers.iter().map(|p| p.service.as_str()).collect();
            let mut hit = Hit::new(
                s.name.clone(),
                format!(
                    "{} is published by {} but no consumer reads it",
                    s.name,
                    who.join(", ")
                ),
                &s.origin,
                "subject",
            );
            for p in &s.producers {
                hit.related(&p.origin, "service", format!("published by {}", p.service));
            }
            hits.push(hit);
        }
        hits
    }
}

/// PL010: a subject consumed but never published.
pub struct NoProducer;

static NO_PRODUCER: RuleInfo = RuleInfo {
    id: "PL010",
    name: "subject-without-producer",
    severity: Severity::Warning,
    summary: "Subject consumed but never published",
    why: "A consumer waiting on a subject nobody publishes never runs: a renamed subject, a producer that was removed, or one not described.",
    fix: "Fix the subject name, describe the producer (an external one with kind: external), or remove the consumer.",
};

impl Rule for NoProducer {
    fn info(&self) -> &'static RuleInfo {
        &NO_PRODUCER
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        let g = cx.graph;
        let produced = SubjectSet::new(
            g.subjects
                .values()
                .filter(|s| !s.producers.is_empty())
                .map(|s| s.name.as_str()),
        );
        let dlq = dead_letters(g);
        g.consumers
            .iter()
            .filter(|c| !produced.overlaps(&c.subject) && !dlq.overlaps(&c.subject))
            .map(|c| {
                Hit::new(
                    c.label(),
                    format!(
                        "{} consumes {}, which no service publishes",
                        c.service, c.subject
                    ),
                    &c.origin,
                    "",
                )
            })
            .collect()
    }
}

/// PL014: a consumer that never acknowledges.
pub struct AutoAck;

static AUTO_ACK: RuleInfo = RuleInfo {
    id: "PL014",
    name: "consumer-without-ack",
    severity: Severity::Warning,
    summary: "Consumer that does not acknowledge what it processed",
    why: "With no acknowledgement a message counts as delivered once sent: a crash or an error while processing loses it, and neither redelivery nor a DLQ can help.",
    fix: "Acknowledge explicitly after processing (ack: explicit).",
};

impl Rule for AutoAck {
    fn info(&self) -> &'static RuleInfo {
        &AUTO_ACK
    }

    fn check(&self, cx: &Context<'_>) -> Vec<Hit> {
        cx.graph
            .consumers
            .iter()
            .filter(|c| c.ack.is(&Ack::None))
            .map(|c| {
                Hit::new(
                    c.label(),
                    format!(
                        "{} does not acknowledge: a message that fails is lost",
                        c.label()
                    ),
                    &c.origin,
                    "ack",
                )
            })
            .collect()
    }
}
