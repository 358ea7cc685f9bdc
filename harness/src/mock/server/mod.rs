//! The HTTP side of the mock: the router, choosing the interaction that answers a request, the
//! records behind `/__parley/verify`, and the control endpoints.
//!
//! - `convert.rs`: the contract model as HTTP and as report views (a response to send, a
//!   body or mismatch to show, how far a request is from an interaction).
//! - `routes.rs`: the router, the mock handler and the control endpoints.
//!
//! Here: the records and [`Shared`], the state every handler reads.

mod convert;
mod routes;

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use parley_contracts::matching::{Mismatch, match_request, render_mismatches};
use parley_contracts::{
    Body, Contract, HttpInteraction, HttpRequest, MessageInteraction, SpecVersion,
};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::generate::{self, Context};
use super::random::Rng;
use super::{Closest, InteractionRef, Kind, MockEvent, MockReport, UnmatchedRequest};
use convert::{body_value, distance, to_http, view};

/// Unmatched requests kept for the report (later ones are counted).
pub const MAX_UNMATCHED: usize = 1000;
/// Largest request body read.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Live events buffered per subscriber.
const EVENT_BUFFER: usize = 1024;

/// An HTTP interaction, ready to match.
pub struct HttpEntry {
    pub(super) reference: InteractionRef,
    spec: SpecVersion,
    interaction: HttpInteraction,
    /// Matching rules on the request (fewer: more specific).
    rules: usize,
    /// Values the contract states: query values, header values, body leaves (more: more
    /// specific).
    stated: usize,
}

impl HttpEntry {
    pub(super) fn new(contract: &Contract, interaction: &HttpInteraction) -> Self {
        let request = &interaction.request;
        let rules = request
            .rules
            .categories
            .values()
            .flat_map(|paths| paths.values())
            .map(|list| list.rules.len())
            .sum();
        let values = |map: Option<&BTreeMap<String, Vec<String>>>| {
            map.map_or(0, |m| m.values().map(Vec::len).sum::<usize>())
        };
        let stated = values(request.query.as_ref())
            + values(request.headers.as_ref())
            + match &request.body {
                Body::Json { value, .. } => leaves(value),
                body => usize::from(body.is_present()),
            };
        HttpEntry {
            reference: reference(
                contract,
                &interaction.common,
                Kind::Http,
                format!("{} {}", request.method.to_ascii_uppercase(), request.path),
            ),
            spec: contract.spec,
            interaction: interaction.clone(),
            rules,
            stated,
        }
    }

    fn has_state(&self, name: &str) -> bool {
        let states = &self.interaction.common.provider_states;
        states.iter().any(|s| s.name == name)
            || states
                .iter()
                .any(|s| s.name.eq_ignore_ascii_case(name.trim()))
    }
}

/// The number of scalar values in a JSON document.
fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(leaves).sum(),
        Value::Array(items) => items.iter().map(leaves).sum(),
        _ => 1,
    }
}

/// An event, ready to publish.
pub struct EventEntry {
    pub(super) reference: InteractionRef,
    pub(super) message: MessageInteraction,
    pub(super) subject: Option<String>,
}

impl EventEntry {
    pub(super) fn new(contract: &Contract, message: &MessageInteraction) -> Self {
        let subject = message.subject.clone().or_else(|| {
            message
                .message
                .metadata
                .get("subject")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        EventEntry {
            reference: reference(
                contract,
                &message.common,
                Kind::Event,
                subject.clone().unwrap_or_else(|| "(no subject)".into()),
            ),
            message: message.clone(),
            subject,
        }
    }

    /// Why it cannot be published, if it cannot.
    pub(super) fn unpublishable(&self) -> Option<&'static str> {
        if self.subject.is_none() {
            Some("it names no subject")
        } else if !self.message.message.contents.is_present()
            && !matches!(self.message.message.contents, Body::Null)
        {
            Some("it has no example payload")
        } else {
            None
        }
    }
}

fn reference(
    contract: &Contract,
    common: &parley_contracts::InteractionCommon,
    kind: Kind,
    summary: String,
) -> InteractionRef {
    InteractionRef {
        description: common.description.clone(),
        consumer: contract.consumer.clone(),
        provider: contract.provider.clone(),
        kind,
        summary,
        states: common
            .provider_states
            .iter()
            .map(|s| s.name.clone())
            .collect(),
        location: common
            .location
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| contract.source.as_ref().map(|p| p.display().to_string())),
        exercised: 0,
    }
}

#[derive(Default)]
struct Records {
    http_hits: Vec<u64>,
    event_hits: Vec<u64>,
    unmatched: Vec<UnmatchedRequest>,
    dropped: u64,
    matched: u64,
}

/// What the handlers share.
pub struct Shared {
    http: Vec<HttpEntry>,
    pub(super) events: Vec<EventEntry>,
    pub(super) nats: Option<async_nats::Client>,
    pub(super) base_url: String,
    records: Mutex<Records>,
    tx: broadcast::Sender<MockEvent>,
}

impl Shared {
    pub(super) fn new(
        http: Vec<HttpEntry>,
        events: Vec<EventEntry>,
        nats: Option<async_nats::Client>,
        base_url: String,
    ) -> Self {
        let records = Records {
            http_hits: vec![0; http.len()],
            event_hits: vec![0; events.len()],
            ..Records::default()
        };
        Shared {
            http,
            events,
            nats,
            base_url,
            records: Mutex::new(records),
            tx: broadcast::channel(EVENT_BUFFER).0,
        }
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        // A panic while holding the lock leaves consistent counters: keep going.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<MockEvent> {
        self.tx.subscribe()
    }

    pub(super) fn emit(&self, event: MockEvent) {
        // No subscriber is fine.
        let _ = self.tx.send(event);
    }

    /// Do events count towards "every interaction exercised"? Only when they can be published.
    fn events_count(&self) -> bool {
        self.nats.is_some()
    }

    pub(super) fn interactions(&self) -> Vec<InteractionRef> {
        let records = self.records();
        let http = self.http.iter().zip(&records.http_hits);
        let events = self
            .events
            .iter()
            .map(|e| &e.reference)
            .zip(&records.event_hits);
        http.map(|(e, n)| (&e.reference, n))
            .chain(events)
            .map(|(r, n)| InteractionRef {
                exercised: *n,
                ..r.clone()
            })
            .collect()
    }

    pub(super) fn report(&self) -> MockReport {
        let records = self.records();
        let mut unexercised_interactions: Vec<InteractionRef> = self
            .http
            .iter()
            .zip(&records.http_hits)
            .filter(|(_, n)| **n == 0)
            .map(|(e, _)| e.reference.clone())
            .collect();
        let mut interactions = self.http.len();
        if self.events_count() {
            for (entry, n) in self.events.iter().zip(&records.event_hits) {
                if entry.unpublishable().is_some() {
                    continue;
                }
                interactions += 1;
                if *n == 0 {
                    unexercised_interactions.push(entry.reference.clone());
                }
            }
        }
        let unexercised = unexercised_interactions
            .iter()
            .map(|r| r.description.clone())
            .collect();
        MockReport {
            ok: records.unmatched.is_empty()
                && records.dropped == 0
                && unexercised_interactions.is_empty(),
            unmatched: records.unmatched.clone(),
            unmatched_dropped: records.dropped,
            unexercised,
            unexercised_interactions,
            interactions,
            matched_requests: records.matched,
        }
    }

    pub(super) fn reset(&self) {
        let mut records = self.records();
        *records = Records {
            http_hits: vec![0; self.http.len()],
            event_hits: vec![0; self.events.len()],
            ..Records::default()
        };
        drop(records);
        self.emit(MockEvent::Reset);
    }

    pub(super) fn record_published(&self, indexes: &[usize]) {
        let mut records = self.records();
        for &i in indexes {
            if let Some(n) = records.event_hits.get_mut(i) {
                *n += 1;
            }
        }
    }

    /// The interaction that answers `actual`, or the closest one and its mismatches.
    fn choose(
        &self,
        actual: &HttpRequest,
        state: Option<&str>,
    ) -> Result<usize, Option<(usize, Vec<Mismatch>)>> {
        let mut matched = Vec::new();
        let mut closest: Option<(u64, usize, Vec<Mismatch>)> = None;
        for (i, entry) in self.http.iter().enumerate() {
            let mismatches = match_request(&entry.interaction.request, actual, entry.spec);
            if mismatches.is_empty() {
                matched.push(i);
            } else if matched.is_empty() {
                let d = distance(&mismatches);
                if closest.as_ref().is_none_or(|(best, ..)| d < *best) {
                    closest = Some((d, i, mismatches));
                }
            }
        }
        if matched.is_empty() {
            return Err(closest.map(|(_, i, m)| (i, m)));
        }
        let preferred: Vec<usize> = match state {
            Some(state) => matched
                .iter()
                .copied()
                .filter(|&i| self.http[i].has_state(state))
                .collect(),
            None => Vec::new(),
        };
        let candidates = if preferred.is_empty() {
            matched
        } else {
            preferred
        };
        candidates
            .into_iter()
            .min_by_key(|&i| (Reverse(self.http[i].stated), self.http[i].rules, i))
            .ok_or(None)
    }

    /// The response of interaction `i`, generators applied; recorded as exercised.
    fn answer(&self, i: usize, actual: &HttpRequest) -> Response {
        let entry = &self.http[i];
        let cx = Context {
            base_url: Some(self.base_url.clone()),
        };
        let response = generate::response(&entry.interaction.response, &cx, &mut Rng::new());
        {
            let mut records = self.records();
            records.http_hits[i] += 1;
            records.matched += 1;
        }
        self.emit(MockEvent::Served {
            method: actual.method.clone(),
            path: actual.path.clone(),
            status: response.status,
            description: entry.reference.description.clone(),
        });
        to_http(&response, &entry.reference.description)
    }

    /// Records an unmatched request and answers 500 with the closest interaction's mismatches.
    fn unmatched(
        &self,
        parts: &Parts,
        actual: &HttpRequest,
        closest: Option<(usize, Vec<Mismatch>)>,
    ) -> Response {
        let closest = closest.map(|(i, mismatches)| {
            let entry = &self.http[i];
            Closest {
                description: entry.reference.description.clone(),
                consumer: entry.reference.consumer.clone(),
                provider: entry.reference.provider.clone(),
                report: render_mismatches(&mismatches),
                mismatches: mismatches.iter().map(view).collect(),
            }
        });
        let record = UnmatchedRequest {
            method: actual.method.clone(),
            path: actual.path.clone(),
            query: parts.uri.query().map(str::to_string),
            headers: actual
                .headers
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.join(", ")))
                .collect(),
            body: body_value(&actual.body),
            closest: closest.clone(),
        };
        {
            let mut records = self.records();
            if records.unmatched.len() < MAX_UNMATCHED {
                records.unmatched.push(record.clone());
            } else {
                records.dropped += 1;
            }
        }
        self.emit(MockEvent::Unmatched {
            method: actual.method.clone(),
            path: actual.path.clone(),
            closest: closest
                .as_ref()
                .map(|c| (c.description.clone(), c.mismatches.len())),
        });
        let error = match &closest {
            Some(c) => format!(
                "no interaction matches {} {}; the closest is \"{}\" ({} → {}), with {} mismatch{}",
                actual.method,
                actual.path,
                c.description,
                c.consumer,
                c.provider,
                c.mismatches.len(),
                if c.mismatches.len() == 1 { "" } else { "es" }
            ),
            None => format!(
                "no interaction matches {} {} (the mock serves no HTTP interaction)",
                actual.method, actual.path
            ),
        };
        let mut request = serde_json::to_value(&record).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut request {
            fields.remove("closest");
        }
        let body = json!({
            "error": error,
            "request": request,
            "closest": closest,
        });
        (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
    }
}

pub(super) use routes::router;

#[cfg(test)]
mod tests;
