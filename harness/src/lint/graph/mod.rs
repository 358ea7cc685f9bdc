//! The service graph every input is turned into and every rule reads: services, synchronous
//! calls, subjects with their producers, consumers, datastores. Each element keeps where it was
//! written (or seen), so that a finding can point at it.
//!
//! What an input does not say is [`Fact::Unknown`], and rules stay silent on unknowns: an
//! observed call whose timeout cannot be seen is not a call "without a timeout". What an input
//! says is absent (a parley `architecture.yaml` call with no `timeout_ms`) is
//! `Fact::Known(None)`, and that is what rules report.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::LintError;

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

impl ServiceGraph {
    /// Nothing to lint: no service at all.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Adds a service, or merges it into the one of the same name.
    pub fn add_service(&mut self, service: Service) {
        match self.services.get_mut(&service.name) {
            Some(existing) => {
                if existing.kind == ServiceKind::Service {
                    existing.kind = service.kind;
                }
                existing.public = existing.public.or(service.public);
                existing.propagates_correlation_id = existing
                    .propagates_correlation_id
                    .or(service.propagates_correlation_id);
                if existing.description.is_none() {
                    existing.description = service.description;
                }
                existing.origin.absorb(service.origin);
            }
            None => {
                self.services.insert(service.name.clone(), service);
            }
        }
    }

    /// Adds a subject, or merges its producers into the one of the same name.
    pub fn add_subject(&mut self, subject: Subject) {
        match self.subjects.get_mut(&subject.name) {
            Some(existing) => {
                for p in subject.producers {
                    match existing
                        .producers
                        .iter_mut()
                        .find(|e| e.service == p.service)
                    {
                        Some(e) => e.origin.absorb(p.origin),
                        None => existing.producers.push(p),
                    }
                }
                if existing.description.is_none() {
                    existing.description = subject.description;
                }
                existing.origin.absorb(subject.origin);
            }
            None => {
                self.subjects.insert(subject.name.clone(), subject);
            }
        }
    }

    /// Adds a datastore, or merges its users into the one of the same name.
    pub fn add_datastore(&mut self, store: Datastore) {
        match self.datastores.get_mut(&store.name) {
            Some(existing) => {
                if existing.kind.is_none() {
                    existing.kind = store.kind;
                }
                if existing.owner.is_none() {
                    existing.owner = store.owner;
                }
                for u in store.users {
                    if !existing.users.iter().any(|e| e.service == u.service) {
                        existing.users.push(u);
                    }
                }
                existing.origin.absorb(store.origin);
            }
            None => {
                self.datastores.insert(store.name.clone(), store);
            }
        }
    }

    /// Joins another graph into this one: elements with the same identity (a service's name; a
    /// call's caller, callee, method, path and handler; a consumer's service, subject and
    /// durable name) become one, what this graph knows winning over what the other says, and
    /// unknowns filled from the other.
    pub fn merge(&mut self, other: ServiceGraph) {
        for s in other.services.into_values() {
            self.add_service(s);
        }
        let mut calls: std::collections::HashMap<_, usize> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key(), i))
            .collect();
        for c in other.calls {
            match calls.get(&c.key()) {
                Some(&i) => self.calls[i].absorb(c),
                None => {
                    calls.insert(c.key(), self.calls.len());
                    self.calls.push(c);
                }
            }
        }
        for s in other.subjects.into_values() {
            self.add_subject(s);
        }
        let mut consumers: std::collections::HashMap<_, usize> = self
            .consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key(), i))
            .collect();
        for c in other.consumers {
            match consumers.get(&c.key()) {
                Some(&i) => self.consumers[i].absorb(c),
                None => {
                    consumers.insert(c.key(), self.consumers.len());
                    self.consumers.push(c);
                }
            }
        }
        for d in other.datastores.into_values() {
            self.add_datastore(d);
        }
    }

    /// Every service named by a call, producer, consumer or datastore must be in the graph: a
    /// misspelt name is an error at the place it is written, not a new service.
    pub fn validate(&self) -> Result<(), LintError> {
        let check = |name: &str, origin: &Origin, field: &str, what: &str| {
            if self.services.contains_key(name) {
                return Ok(());
            }
            let mut message = format!("{what} names service `{name}`, which is not described");
            if let Some(close) = closest(name, self.services.keys().map(String::as_str)) {
                message.push_str(&format!(" (did you mean `{close}`?)"));
            } else {
                message.push_str(
                    " (add it under `services`, with `kind: external` if it is not yours)",
                );
            }
            Err(LintError::invalid_at(origin.field(field), message))
        };
        for c in &self.calls {
            check(&c.from, &c.origin, "from", "a call")?;
            check(&c.to, &c.origin, "to", "a call")?;
        }
        for s in self.subjects.values() {
            for p in &s.producers {
                check(
                    &p.service,
                    &p.origin,
                    "service",
                    &format!("a producer of {}", s.name),
                )?;
            }
        }
        for c in &self.consumers {
            check(
                &c.service,
                &c.origin,
                "service",
                &format!("a consumer of {}", c.subject),
            )?;
            if let Some(state) = c.probe.as_ref().and_then(|p| p.state.as_ref()) {
                check(
                    &state.service,
                    &c.origin,
                    "probe",
                    &format!("the probe state query of a consumer of {}", c.subject),
                )?;
            }
        }
        for d in self.datastores.values() {
            for u in d.services() {
                check(
                    &u.service,
                    &u.origin,
                    "service",
                    &format!("datastore {}", d.name),
                )?;
            }
        }
        Ok(())
    }
}

/// The candidate nearest to `name` by edit distance, when it is near enough to be a typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
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

#[cfg(test)]
mod tests {
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
}
