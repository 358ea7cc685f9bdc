//! The service graph every input is turned into and every rule reads: services, synchronous
//! calls, subjects with their producers, consumers, datastores. Each element keeps where it was
//! written (or seen), so that a finding can point at it.
//!
//! What an input does not say is [`Fact::Unknown`], and rules stay silent on unknowns: an
//! observed call whose timeout cannot be seen is not a call "without a timeout". What an input
//! says is absent (a parley `architecture.yaml` call with no `timeout_ms`) is
//! `Fact::Known(None)`, and that is what rules report.
//!
//! Here: the model types. Beside this file: `merge.rs` (adding, merging and validating graphs)
//! and `suggest.rs` (the nearest name to a misspelt one).

mod merge;
mod suggest;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where an element is written: a file, a 1-based line and column (0 when unknown), and the
/// path of the element inside the document (`services.gateway.calls[0]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The path inside the document, e.g. `services.order-service.calls[1].timeout_ms`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl Location {
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        path: impl Into<String>,
    ) -> Self {
        Location {
            file: file.into(),
            line,
            column,
            path: path.into(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

/// Where an element comes from: the places it is written (several when inputs are merged) and,
/// for an observed element, the traces that show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub locations: Vec<Location>,
    /// Locations of the element's fields that were written (`timeout_ms`, `retries`, …), by
    /// field name, for findings about one setting.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Location>,
    /// Trace IDs (32 hex digits) of observed elements.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<String>,
}

impl Origin {
    pub fn at(location: Location) -> Self {
        Origin {
            locations: vec![location],
            ..Origin::default()
        }
    }

    /// Seen in these traces (an observed element).
    pub fn traced(traces: impl IntoIterator<Item = String>) -> Self {
        Origin {
            traces: traces.into_iter().collect(),
            ..Origin::default()
        }
    }

    /// The first place the element is written.
    pub fn primary(&self) -> Option<&Location> {
        self.locations.first()
    }

    /// Where a field of the element is written, else where the element is.
    pub fn field(&self, name: &str) -> Option<&Location> {
        self.fields.get(name).or_else(|| self.primary())
    }

    fn absorb(&mut self, other: Origin) {
        for l in other.locations {
            if !self.locations.contains(&l) {
                self.locations.push(l);
            }
        }
        for (k, v) in other.fields {
            self.fields.entry(k).or_insert(v);
        }
        for t in other.traces {
            if !self.traces.contains(&t) {
                self.traces.push(t);
            }
        }
    }
}

/// What an input says about a property: nothing, or something (which may be "absent").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Fact<T> {
    #[default]
    Unknown,
    Known(T),
}

impl<T> Fact<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            Fact::Unknown => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Fact::Known(_))
    }

    /// Keeps what is known; fills an unknown from `other`.
    fn or(self, other: Fact<T>) -> Fact<T> {
        match self {
            Fact::Known(_) => self,
            Fact::Unknown => other,
        }
    }
}

impl<T: PartialEq> Fact<T> {
    pub fn is(&self, value: &T) -> bool {
        self.known() == Some(value)
    }
}

/// What a service is to the system.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// One of the system's own services.
    #[default]
    Service,
    /// An API gateway: the door from outside.
    Gateway,
    /// Outside the system: a third-party API, a client, another team's system.
    External,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Service => "service",
            ServiceKind::Gateway => "gateway",
            ServiceKind::External => "external",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    /// Reachable from outside the system (the internet, other systems).
    pub public: Fact<bool>,
    /// Passes the correlation ID (`x-correlation-id`) on to what it calls and publishes.
    pub propagates_correlation_id: Fact<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub origin: Origin,
}

impl Service {
    pub fn new(name: impl Into<String>, kind: ServiceKind) -> Self {
        Service {
            name: name.into(),
            kind,
            ..Service::default()
        }
    }
}

/// When a call's retries apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    /// Only idempotent methods, or requests that carry an idempotency key.
    IdempotentOnly,
    /// Every request, whatever its method.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Retries {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub on: RetryOn,
}

/// One synchronous call (HTTP, gRPC, …) from a service to another.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncCall {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The request handler of `from` that makes the call (`POST /orders`); calls made while
    /// handling one request are on one request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Per-attempt timeout; `Known(None)`: no timeout.
    pub timeout_ms: Fact<Option<u64>>,
    /// `Known(None)`: never retried.
    pub retries: Fact<Option<Retries>>,
    pub circuit_breaker: Fact<bool>,
    /// Whether repeating the request is harmless (declared, or from the HTTP method).
    pub idempotent: Fact<bool>,
    /// What makes a repeat harmless when the method does not (`Idempotency-Key` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub origin: Origin,
}

impl SyncCall {
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        SyncCall {
            from: from.into(),
            to: to.into(),
            ..SyncCall::default()
        }
    }

    /// `POST /orders`, `POST`, `/orders`, or nothing.
    pub fn route(&self) -> Option<String> {
        match (&self.method, &self.path) {
            (Some(m), Some(p)) => Some(format!("{m} {p}")),
            (Some(m), None) => Some(m.clone()),
            (None, Some(p)) => Some(p.clone()),
            (None, None) => None,
        }
    }

    /// `gateway → order-service (POST /orders)`.
    pub fn label(&self) -> String {
        match self.route() {
            Some(r) => format!("{} → {} ({r})", self.from, self.to),
            None => format!("{} → {}", self.from, self.to),
        }
    }

    /// Whether a repeat of this request is harmless: idempotent, or carrying a key.
    pub fn repeat_safe(&self) -> Fact<bool> {
        if self.idempotency_key.is_some() {
            return Fact::Known(true);
        }
        self.idempotent
    }

    /// Attempts the call really makes at worst: retries that apply to it, else one.
    pub fn attempts(&self) -> u32 {
        match self.retries {
            Fact::Known(Some(r)) if self.retried(r) => r.max_attempts.max(1),
            _ => 1,
        }
    }

    /// Whether `retries` apply to this call.
    pub fn retried(&self, retries: Retries) -> bool {
        retries.max_attempts > 1
            && match retries.on {
                RetryOn::All => true,
                RetryOn::IdempotentOnly => self.repeat_safe().is(&true),
            }
    }

    fn key(
        &self,
    ) -> (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        (
            self.from.clone(),
            self.to.clone(),
            self.method.clone(),
            self.path.clone(),
            self.handler.clone(),
        )
    }

    fn absorb(&mut self, other: SyncCall) {
        self.timeout_ms = self.timeout_ms.or(other.timeout_ms);
        self.retries = self.retries.or(other.retries);
        self.circuit_breaker = self.circuit_breaker.or(other.circuit_breaker);
        self.idempotent = self.idempotent.or(other.idempotent);
        if self.idempotency_key.is_none() {
            self.idempotency_key = other.idempotency_key;
        }
        self.origin.absorb(other.origin);
    }
}

/// Whether an HTTP method is idempotent by definition (RFC 9110 §9.2.2).
pub fn method_is_idempotent(method: &str) -> Option<bool> {
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE" => Some(true),
        "POST" | "PATCH" | "CONNECT" => Some(false),
        _ => None,
    }
}

/// A service that publishes on a subject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Producer {
    pub service: String,
    pub origin: Origin,
}

/// A subject (NATS subject, topic, channel) and who publishes on it. Its consumers are in
/// [`ServiceGraph::consumers`], since a consumer's filter may match several subjects
/// (`orders.>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Subject {
    pub name: String,
    pub producers: Vec<Producer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub origin: Origin,
}

/// How a consumer acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ack {
    /// Each message after it was processed.
    Explicit,
    /// Cumulatively, up to a message.
    All,
    /// Never: a message counts as delivered once sent.
    None,
}

/// A service consuming a subject (or a wildcard filter of subjects).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Consumer {
    pub service: String,
    /// A subject or a filter with NATS wildcards (`orders.*`, `orders.>`).
    pub subject: String,
    /// `Known(Some(name))`: a durable consumer; `Known(None)`: ephemeral.
    pub durable: Fact<Option<String>>,
    /// Deliveries before giving up on a message; `Known(None)`: unbounded.
    pub max_deliver: Fact<Option<u64>>,
    /// Where a message goes after its last failed delivery; `Known(None)`: nowhere.
    pub dlq: Fact<Option<String>>,
    /// What the consumer de-duplicates on (`orderId`); `Known(None)`: nothing.
    pub idempotency_key: Fact<Option<String>>,
    pub ack: Fact<Ack>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What active probes send it and where its state is seen (`probe:` in architecture.yaml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<super::probe::ProbeSpec>,
    pub origin: Origin,
}

impl Consumer {
    pub fn new(service: impl Into<String>, subject: impl Into<String>) -> Self {
        Consumer {
            service: service.into(),
            subject: subject.into(),
            ..Consumer::default()
        }
    }

    /// `payment-service on orders.created (durable payment-orders-created)`.
    pub fn label(&self) -> String {
        match &self.durable {
            Fact::Known(Some(d)) => format!("{} on {} (durable {d})", self.service, self.subject),
            _ => format!("{} on {}", self.service, self.subject),
        }
    }

    fn key(&self) -> (String, String, Option<String>) {
        (
            self.service.clone(),
            self.subject.clone(),
            self.durable.known().cloned().flatten(),
        )
    }

    fn absorb(&mut self, other: Consumer) {
        self.durable = self.durable.clone().or(other.durable);
        self.max_deliver = self.max_deliver.or(other.max_deliver);
        self.dlq = self.dlq.clone().or(other.dlq);
        self.idempotency_key = self.idempotency_key.clone().or(other.idempotency_key);
        self.ack = self.ack.or(other.ack);
        if self.description.is_none() {
            self.description = other.description;
        }
        if self.probe.is_none() {
            self.probe = other.probe;
        }
        self.origin.absorb(other.origin);
    }
}

/// A service using a datastore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DatastoreUse {
    pub service: String,
    pub origin: Origin,
}

/// A database, cache, bucket or event store, and the services that read or write it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Datastore {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The service that owns it (its schema, its migrations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<DatastoreUse>,
    /// Other services that read or write it.
    pub users: Vec<DatastoreUse>,
    pub origin: Origin,
}

impl Datastore {
    /// Every service that touches it, owner first, each once.
    pub fn services(&self) -> Vec<&DatastoreUse> {
        let mut seen = HashSet::new();
        self.owner
            .iter()
            .chain(&self.users)
            .filter(|u| seen.insert(u.service.as_str()))
            .collect()
    }
}

/// The whole picture: what rules read. Inputs produce one each; [`ServiceGraph::merge`] joins
/// them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceGraph {
    pub services: BTreeMap<String, Service>,
    pub calls: Vec<SyncCall>,
    pub subjects: BTreeMap<String, Subject>,
    pub consumers: Vec<Consumer>,
    pub datastores: BTreeMap<String, Datastore>,
}

/// Whether two NATS subjects or filters can name the same subject: `*` stands for one token,
/// `>` for one or more trailing tokens, on either side.
pub fn subjects_overlap(a: &str, b: &str) -> bool {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some(p), Some(q)) => {
                if p != q && p != "*" && q != "*" {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Whether a subject or filter holds a wildcard token.
pub fn has_wildcard(subject: &str) -> bool {
    subject.split('.').any(|t| t == "*" || t == ">")
}

pub(crate) use suggest::closest;

#[cfg(test)]
mod tests;
