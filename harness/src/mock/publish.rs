//! Publishing the contracts' events to NATS (core publish): the example payload with its
//! generators applied, the metadata as headers, and the correlation ID when given.

use std::collections::BTreeMap;
use std::str::FromStr;

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use parley_contracts::Body;
use serde_json::Value;

use super::generate::{self, Context};
use super::random::Rng;
use super::server::{EventEntry, Shared};
use super::{CORRELATION_HEADER, MockEvent, PublishError, PublishRequest, Published};

pub(super) async fn publish(
    shared: &Shared,
    request: &PublishRequest,
) -> Result<Vec<Published>, PublishError> {
    let nats = shared.nats.as_ref().ok_or(PublishError::NoNats)?;
    let chosen: Vec<usize> = shared
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.unpublishable().is_none() && selects(request, e))
        .map(|(i, _)| i)
        .collect();
    if chosen.is_empty() {
        return Err(PublishError::NothingMatches {
            filter: describe(request),
            available: shared.events.iter().map(available).collect(),
        });
    }
    let cx = Context {
        base_url: Some(shared.base_url.clone()),
    };
    let mut rng = Rng::new();
    let mut published = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        let entry = &shared.events[i];
        let subject = entry.subject.clone().unwrap_or_default();
        let description = &entry.reference.description;
        let message = generate::message(&entry.message.message, &cx, &mut rng);
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in &message.metadata {
            if key.eq_ignore_ascii_case("subject") {
                continue;
            }
            let values = match value {
                Value::Null => continue,
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items.iter().map(text).collect(),
                other => vec![other.to_string()],
            };
            headers.insert(key.clone(), values);
        }
        if let Some(id) = &request.correlation_id {
            headers.retain(|k, _| !k.eq_ignore_ascii_case(CORRELATION_HEADER));
            headers.insert(CORRELATION_HEADER.into(), vec![id.clone()]);
        }
        let mut map = HeaderMap::new();
        for (name, values) in &headers {
            let name_ok = HeaderName::from_str(name).map_err(|_| {
                PublishError::Nats(format!(
                    "\"{description}\": the header name {name:?} cannot be sent over NATS"
                ))
            })?;
            for value in values {
                let value = HeaderValue::from_str(value).map_err(|_| {
                    PublishError::Nats(format!(
                        "\"{description}\": the value of header {name} cannot be sent over NATS"
                    ))
                })?;
                map.append(name_ok.clone(), value);
            }
        }
        let (bytes, payload) = payload(&message.contents);
        nats.publish_with_headers(subject.clone(), map, bytes.into())
            .await
            .map_err(|e| PublishError::Nats(format!("\"{description}\" on {subject}: {e}")))?;
        published.push(Published {
            description: description.clone(),
            consumer: entry.reference.consumer.clone(),
            provider: entry.reference.provider.clone(),
            subject,
            headers,
            payload,
        });
    }
    nats.flush()
        .await
        .map_err(|e| PublishError::Nats(format!("NATS went away while publishing: {e}")))?;
    shared.record_published(&chosen);
    for p in &published {
        shared.emit(MockEvent::Published {
            subject: p.subject.clone(),
            description: p.description.clone(),
        });
    }
    Ok(published)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The bytes to send and the payload as reported.
fn payload(body: &Body) -> (Vec<u8>, Value) {
    match body {
        Body::Json { value, .. } => (serde_json::to_vec(value).unwrap_or_default(), value.clone()),
        Body::Text { text, .. } => (text.clone().into_bytes(), Value::String(text.clone())),
        Body::Binary { bytes, .. } => (
            bytes.clone(),
            Value::String(format!("<{} bytes>", bytes.len())),
        ),
        Body::Null => (b"null".to_vec(), Value::Null),
        Body::Missing | Body::Empty => (Vec::new(), Value::String(String::new())),
    }
}

fn selects(request: &PublishRequest, entry: &EventEntry) -> bool {
    let r = &entry.reference;
    request
        .description
        .as_ref()
        .is_none_or(|d| d.trim() == r.description)
        && request.consumer.as_ref().is_none_or(|c| *c == r.consumer)
        && request.subject.as_ref().is_none_or(|pattern| {
            entry
                .subject
                .as_deref()
                .is_some_and(|s| subject_matches(pattern, s))
        })
}

/// NATS subject matching: `*` one token, `>` one or more trailing tokens.
pub(super) fn subject_matches(pattern: &str, subject: &str) -> bool {
    let subject: Vec<&str> = subject.split('.').collect();
    let pattern: Vec<&str> = pattern.trim().split('.').collect();
    for (i, token) in pattern.iter().enumerate() {
        if *token == ">" {
            return subject.len() > i;
        }
        match subject.get(i) {
            Some(s) if *token == "*" || token == s => {}
            _ => return false,
        }
    }
    pattern.len() == subject.len()
}

fn describe(request: &PublishRequest) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &request.description {
        parts.push(format!("description \"{d}\""));
    }
    if let Some(s) = &request.subject {
        parts.push(format!("subject {s}"));
    }
    if let Some(c) = &request.consumer {
        parts.push(format!("consumer {c}"));
    }
    if parts.is_empty() {
        "(no filter)".into()
    } else {
        parts.join(", ")
    }
}

fn available(entry: &EventEntry) -> String {
    let r = &entry.reference;
    let mut s = format!(
        "\"{}\" on {} ({} → {})",
        r.description, r.summary, r.consumer, r.provider
    );
    if let Some(why) = entry.unpublishable() {
        s.push_str(&format!(", not publishable: {why}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_nats_wildcards() {
        assert!(subject_matches("orders.created", "orders.created"));
        assert!(subject_matches("orders.*", "orders.created"));
        assert!(subject_matches("orders.>", "orders.created.eu"));
        assert!(subject_matches(">", "orders"));
        assert!(!subject_matches("orders.>", "orders"));
        assert!(!subject_matches("orders.*", "orders.created.eu"));
        assert!(!subject_matches("orders", "orders.created"));
        assert!(!subject_matches("payments.*", "orders.created"));
    }
}
