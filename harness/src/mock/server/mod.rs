//! The HTTP side of the mock: the router, choosing the interaction that answers a request, the
//! records behind `/__parley/verify`, and the control endpoints.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use parley_contracts::matching::{Mismatch, Part, match_request, parse_query, render_mismatches};
use parley_contracts::{
    Body, Contract, Headers, HttpInteraction, HttpRequest, HttpResponse, MessageInteraction,
    SpecVersion,
};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::generate::{self, Context};
use super::random::Rng;
use super::{
    CORRELATION_HEADER, Closest, INTERACTION_HEADER, InteractionRef, Kind, MismatchView, MockEvent,
    MockReport, PublishError, PublishRequest, STATE_HEADER, UnmatchedRequest, publish,
};
use crate::verify::http::body_from_bytes;

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

/// How far a request is from an interaction: a different path counts most, then a different
/// method, then each other mismatch.
fn distance(mismatches: &[Mismatch]) -> u64 {
    mismatches
        .iter()
        .map(|m| match m.part {
            Part::Path => 10_000,
            Part::Method => 1000,
            _ => 1,
        })
        .sum()
}

fn view(m: &Mismatch) -> MismatchView {
    MismatchView {
        part: m.part.to_string(),
        path: m.path.clone(),
        rule: m.rule.clone(),
        expected: m.expected.clone(),
        actual: m.actual.clone(),
        message: m.message.clone(),
    }
}

/// A body for reports: JSON as JSON, text as a string, bytes described.
fn body_value(body: &Body) -> Option<Value> {
    match body {
        Body::Missing => None,
        Body::Null => Some(Value::Null),
        Body::Empty => Some(Value::String(String::new())),
        Body::Json { value, .. } => Some(value.clone()),
        Body::Text { text, .. } => Some(Value::String(text.clone())),
        Body::Binary {
            bytes,
            content_type,
        } => Some(Value::String(format!(
            "<{} bytes of {}>",
            bytes.len(),
            content_type.as_deref().unwrap_or("unknown type")
        ))),
    }
}

/// The model's response as an HTTP response (a content type added when the contract has
/// none; the `x-parley-interaction` header naming the interaction).
fn to_http(response: &HttpResponse, description: &str) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (name, values) in response.headers.iter().flatten() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&values.join(", ")),
        ) else {
            tracing::warn!(header = %name, "a response header the contract states is not valid HTTP; left out");
            continue;
        };
        headers.append(name, value);
    }
    let (bytes, default_type): (Vec<u8>, Option<&str>) = match &response.body {
        Body::Missing | Body::Empty => (Vec::new(), None),
        Body::Null => (b"null".to_vec(), Some("application/json")),
        Body::Json {
            value,
            content_type,
        } => (
            serde_json::to_vec(value).unwrap_or_default(),
            Some(content_type.as_deref().unwrap_or("application/json")),
        ),
        Body::Text { text, content_type } => (
            text.clone().into_bytes(),
            Some(
                content_type
                    .as_deref()
                    .unwrap_or("text/plain; charset=utf-8"),
            ),
        ),
        Body::Binary {
            bytes,
            content_type,
        } => (
            bytes.clone(),
            Some(
                content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            ),
        ),
    };
    if !headers.contains_key(header::CONTENT_TYPE)
        && let Some(value) = default_type.and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(description) {
        headers.insert(HeaderName::from_static(INTERACTION_HEADER), value);
    }
    (status, headers, bytes).into_response()
}

/// The router: control endpoints under `/__parley/`, everything else matched against the
/// contracts.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__parley/verify", get(verify))
        .route("/__parley/reset", post(reset))
        .route("/__parley/publish", post(publish_handler))
        .route("/__parley/interactions", get(interactions))
        .route("/__parley/{*rest}", any(unknown_control))
        .fallback(mock)
        .with_state(shared)
}

fn error_json(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

async fn mock(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body (at most {MAX_BODY} bytes): {e}"),
            );
        }
    };
    let actual = to_model(&parts, &bytes);
    let state = parts
        .headers
        .get(STATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match shared.choose(&actual, state) {
        Ok(i) => shared.answer(i, &actual),
        Err(closest) => shared.unmatched(&parts, &actual, closest),
    }
}

/// The request as the matching engine reads it.
fn to_model(parts: &Parts, bytes: &Bytes) -> HttpRequest {
    let mut headers = Headers::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    HttpRequest {
        method: parts.method.as_str().to_string(),
        path: percent_decode(parts.uri.path()),
        query: parts.uri.query().map(parse_query),
        headers: Some(headers),
        body: if bytes.is_empty() {
            Body::Missing
        } else {
            body_from_bytes(bytes, content_type)
        },
        ..HttpRequest::default()
    }
}

/// `%XX` sequences decoded (as contracts write paths); the path as sent when that is not
/// UTF-8.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| path.to_string())
}

async fn verify(State(shared): State<Arc<Shared>>) -> Response {
    let report = shared.report();
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    (status, axum::Json(report)).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}

async fn interactions(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.interactions()).into_response()
}

async fn unknown_control(request: Request) -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        format!(
            "no control endpoint {} {}; they are: GET /__parley/verify, POST /__parley/reset, \
             POST /__parley/publish, GET /__parley/interactions",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn publish_handler(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request: PublishRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PublishRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error_json(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the body must be a JSON object with any of \"description\", \"subject\", \
                         \"consumer\", \"correlationId\": {e}"
                    ),
                );
            }
        }
    };
    if request.correlation_id.is_none() {
        request.correlation_id = headers
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    match publish::publish(&shared, &request).await {
        Ok(published) => axum::Json(json!({ "published": published })).into_response(),
        Err(e @ PublishError::NoNats) => error_json(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e @ PublishError::NothingMatches { .. }) => {
            error_json(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e @ PublishError::Nats(_)) => error_json(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use parley_contracts::{Interaction, InteractionCommon, MatchingRule, ProviderState};

    use super::*;

    fn interaction(description: &str, accept: Option<&str>, state: &str) -> Interaction {
        let mut request = HttpRequest {
            path: "/x".into(),
            ..HttpRequest::default()
        };
        if let Some(accept) = accept {
            request.headers = Some([("accept".to_string(), vec![accept.to_string()])].into());
        }
        Interaction::Http(HttpInteraction {
            common: InteractionCommon {
                description: description.into(),
                provider_states: vec![ProviderState {
                    name: state.into(),
                    ..ProviderState::default()
                }],
                ..InteractionCommon::default()
            },
            request,
            response: HttpResponse::default(),
        })
    }

    fn shared(interactions: Vec<Interaction>) -> Shared {
        let contract = Contract {
            consumer: "c".into(),
            provider: "p".into(),
            interactions,
            ..Contract::default()
        };
        let http = contract
            .interactions
            .iter()
            .filter_map(|i| match i {
                Interaction::Http(h) => Some(HttpEntry::new(&contract, h)),
                _ => None,
            })
            .collect();
        Shared::new(http, Vec::new(), None, "http://x".into())
    }

    fn get(accept: Option<&str>) -> HttpRequest {
        HttpRequest {
            path: "/x".into(),
            headers: Some(
                accept
                    .map(|a| [("accept".to_string(), vec![a.to_string()])].into())
                    .unwrap_or_default(),
            ),
            ..HttpRequest::default()
        }
    }

    #[test]
    fn the_most_specific_match_answers_unless_a_state_is_asked_for() {
        let mut loose = interaction("any accept", Some("text/plain"), "s1");
        if let Interaction::Http(h) = &mut loose {
            h.request.rules.add(
                parley_contracts::Category::Header,
                "accept",
                MatchingRule::Type,
            );
        }
        let shared = shared(vec![
            interaction("anything", None, "s0"),
            loose,
            interaction("json", Some("application/json"), "s2"),
        ]);
        // Stated values first, then fewer rules.
        assert_eq!(shared.choose(&get(Some("application/json")), None), Ok(2));
        assert_eq!(shared.choose(&get(Some("text/html")), None), Ok(1));
        assert_eq!(shared.choose(&get(None), None), Ok(0));
        // The state header picks among the matches; an unknown state changes nothing.
        assert_eq!(
            shared.choose(&get(Some("application/json")), Some("s0")),
            Ok(0)
        );
        assert_eq!(
            shared.choose(&get(Some("application/json")), Some("S1")),
            Ok(1)
        );
        assert_eq!(
            shared.choose(&get(Some("application/json")), Some("nope")),
            Ok(2)
        );
        // A state of an interaction that does not match is no reason to answer with it.
        assert_eq!(shared.choose(&get(None), Some("s2")), Ok(0));
        // Nothing matches: the closest, by path, then method, then the rest.
        let mut other = get(None);
        other.path = "/y".into();
        let Err(Some((_, mismatches))) = shared.choose(&other, None) else {
            panic!("no match");
        };
        assert_eq!(mismatches[0].part, Part::Path);
    }

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("/a%20b/%7Ex"), "/a b/~x");
        assert_eq!(percent_decode("/100%"), "/100%");
        assert_eq!(percent_decode("/%zz"), "/%zz");
        assert_eq!(percent_decode("/%FF"), "/%FF");
    }
}
