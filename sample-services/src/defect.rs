//! The services and the defects each can be switched into.

use std::fmt;

/// One of the sample services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Service {
    Gateway,
    Order,
    Payment,
    Inventory,
    Shipping,
    Notification,
}

impl Service {
    /// Every service, leaves first: a service's upstreams come before it, so starting them in
    /// this order lets each be told the addresses of the ones it calls.
    pub const START_ORDER: [Service; 6] = [
        Service::Notification,
        Service::Shipping,
        Service::Inventory,
        Service::Payment,
        Service::Order,
        Service::Gateway,
    ];

    /// The `service.name` it reports in traces.
    pub fn service_name(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Order => "order-service",
            Service::Payment => "payment-service",
            Service::Inventory => "inventory-service",
            Service::Shipping => "shipping-service",
            Service::Notification => "notification-service",
        }
    }

    /// Its role, as the resource attribute `parley.service.kind` says: `gateway` for the
    /// gateway (the door from outside), `service` for the others.
    pub fn kind(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            _ => "service",
        }
    }

    /// The short name used on the command line (`parley sample order`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Order => "order",
            Service::Payment => "payment",
            Service::Inventory => "inventory",
            Service::Shipping => "shipping",
            Service::Notification => "notification",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.service_name())
    }
}

/// A defect a service can be switched into with `--defect NAME`. Each breaks exactly one
/// thing, and one of parley's checks is meant to catch it (the design's detection matrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Defect {
    /// payment renames a response field its consumers read (`paymentId` → `payment_id`).
    BreakingResponse,
    /// order publishes `orders.created` with `total` as a string instead of an integer.
    BreakingEvent,
    /// inventory publishes (and calls) without `traceparent`/`tracestate`/`baggage`.
    DropTraceContext,
    /// shipping drops `x-correlation-id` on what it publishes and calls.
    DropCorrelationId,
    /// payment charges again when `orders.created` is redelivered or duplicated.
    NonIdempotent,
    /// notification consumes with unbounded redelivery and no DLQ.
    NoDlq,
    /// order → payment → inventory → shipping, all synchronous.
    SyncChain,
    /// order calls payment with no timeout.
    NoTimeout,
    /// the orchestrated saga does not refund (or release) when a later step fails.
    NoCompensation,
}

impl Defect {
    pub const ALL: [Defect; 9] = [
        Defect::BreakingResponse,
        Defect::BreakingEvent,
        Defect::DropTraceContext,
        Defect::DropCorrelationId,
        Defect::NonIdempotent,
        Defect::NoDlq,
        Defect::SyncChain,
        Defect::NoTimeout,
        Defect::NoCompensation,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Defect::BreakingResponse => "breaking-response",
            Defect::BreakingEvent => "breaking-event",
            Defect::DropTraceContext => "drop-trace-context",
            Defect::DropCorrelationId => "drop-correlation-id",
            Defect::NonIdempotent => "non-idempotent",
            Defect::NoDlq => "no-dlq",
            Defect::SyncChain => "sync-chain",
            Defect::NoTimeout => "no-timeout",
            Defect::NoCompensation => "no-compensation",
        }
    }

    /// The services whose behaviour the defect changes; `parley demo --defect NAME` switches it
    /// on in exactly these.
    pub fn services(self) -> &'static [Service] {
        match self {
            Defect::BreakingResponse | Defect::NonIdempotent => &[Service::Payment],
            Defect::BreakingEvent | Defect::NoTimeout | Defect::NoCompensation => &[Service::Order],
            Defect::DropTraceContext => &[Service::Inventory],
            Defect::DropCorrelationId => &[Service::Shipping],
            Defect::NoDlq => &[Service::Notification],
            Defect::SyncChain => &[Service::Order, Service::Payment, Service::Inventory],
        }
    }

    /// What breaks, in one line.
    pub fn breaks(self) -> &'static str {
        match self {
            Defect::BreakingResponse => "payment renames a response field its consumers read",
            Defect::BreakingEvent => {
                "order publishes orders.created with a field of the wrong type"
            }
            Defect::DropTraceContext => "inventory publishes without traceparent",
            Defect::DropCorrelationId => "shipping drops x-correlation-id on its calls",
            Defect::NonIdempotent => "payment charges again on a redelivered event",
            Defect::NoDlq => "notification consumes with unbounded redelivery and no DLQ",
            Defect::SyncChain => "order → payment → inventory → shipping, all synchronous",
            Defect::NoTimeout => "order calls payment with no timeout",
            Defect::NoCompensation => {
                "the orchestrated saga does not refund when inventory refuses"
            }
        }
    }

    /// The check meant to catch it.
    pub fn caught_by(self) -> &'static str {
        match self {
            Defect::BreakingResponse => "HTTP contract verification",
            Defect::BreakingEvent => "event contract verification",
            Defect::DropTraceContext => "trace check: one connected tree",
            Defect::DropCorrelationId => "trace check: correlation ID on every span",
            Defect::NonIdempotent => "lint probe: duplicate delivery",
            Defect::NoDlq => "lint: static rule and poison probe",
            Defect::SyncChain => "lint: sync chain depth (observed)",
            Defect::NoTimeout => "lint: sync call without timeout",
            Defect::NoCompensation => "trace check: saga compensations",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The defects switched on in one service.
#[derive(Clone, Debug, Default)]
pub struct Defects(Vec<Defect>);

impl Defects {
    pub fn new(defects: impl IntoIterator<Item = Defect>) -> Self {
        Defects(defects.into_iter().collect())
    }

    pub fn has(&self, defect: Defect) -> bool {
        self.0.contains(&defect)
    }

    pub fn iter(&self) -> impl Iterator<Item = Defect> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn cli_names_match_the_design_table() {
        for defect in Defect::ALL {
            let parsed = Defect::from_str(defect.name(), false).expect("parses its own name");
            assert_eq!(parsed, defect);
            assert!(!defect.services().is_empty());
        }
        for service in Service::START_ORDER {
            assert_eq!(
                Service::from_str(service.cli_name(), false).expect("parses"),
                service
            );
        }
    }
}
