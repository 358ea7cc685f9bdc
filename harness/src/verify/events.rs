//! Events: make the provider emit the message, capture it, check subject, headers and payload.
//!
//! The message is captured on NATS (a subscription to the subject made before the trigger, so
//! that core NATS and JetStream publishes are both seen), or taken from Pact's message endpoint
//! (`--message-url`: `POST {description, providerStates}`, the message in the response body,
//! its metadata in the base64 `Pact-Message-Metadata` header). Events run one at a time so that
//! a message is never credited to the wrong trigger.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::StreamExt;
use parley_contracts::matching::match_message;
use parley_contracts::schema::CompiledSchema;
use parley_contracts::{Body, Interaction, MessageContents, MessageInteraction, Trigger};
use serde_json::{Value, json};

use super::http::body_from_bytes;
use super::states::{StateClient, StateError};
use super::{Job, Progress, VerifyOptions, detail};
use crate::results::{Check, Detail, Outcome};

/// The header a trigger carries, so that the message it causes can be told from others.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

pub async fn verify_all(
    jobs: &[Job<'_>],
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Vec<Check> {
    let client = reqwest::Client::new();
    let states = StateClient {
        client: &client,
        url: options.state_url.as_deref(),
        timeout: options.request_timeout,
    };
    let needs_nats = options.message_url.is_none() && !jobs.is_empty();
    let nats = match (&options.nats_url, needs_nats) {
        (Some(url), true) => match async_nats::ConnectOptions::new()
            .name("parley-verify")
            .connection_timeout(Duration::from_secs(5))
            .connect(url.as_str())
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(e) => Err(format!("NATS at {url} is unreachable: {e}")),
        },
        (None, true) => Err("events to verify: give --nats-url to capture them, or --message-url for Pact's message endpoint".to_string()),
        _ => Ok(None),
    };
    let mut checks = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut check = job.check("event");
        let started = Instant::now();
        match &nats {
            Err(reason) => check.outcome = Outcome::Error(reason.clone()),
            Ok(nats) => {
                if let Err(outcome) =
                    verify_one(&client, &states, nats.as_ref(), job, options, &mut check).await
                {
                    check.outcome = outcome;
                }
            }
        }
        check.duration = started.elapsed();
        progress.done(&check);
        checks.push(check);
    }
    checks
}

async fn verify_one(
    client: &reqwest::Client,
    states: &StateClient<'_>,
    nats: Option<&async_nats::Client>,
    job: &Job<'_>,
    options: &VerifyOptions,
    check: &mut Check,
) -> Result<(), Outcome> {
    let Interaction::Message(message) = job.interaction else {
        return Err(Outcome::Skipped(
            "request/reply messages are not verified yet".into(),
        ));
    };
    // Pact's message endpoint receives the states with the request (`providerStates`): set
    // them through a state-change URL only when one is given.
    let no_states = Vec::new();
    let provider_states = if options.message_url.is_some() && options.state_url.is_none() {
        &no_states
    } else {
        &message.common.provider_states
    };
    states
        .setup(provider_states)
        .await
        .map_err(|e| state_failure(e, check))?;
    let captured = match (&options.message_url, nats) {
        (Some(url), _) => from_message_endpoint(client, url, message, options).await,
        (None, Some(nats)) => from_nats(client, nats, message, options, check).await,
        (None, None) => Err(Outcome::Error("no way to capture the event".into())),
    };
    if let Err(e) = states.teardown(provider_states).await {
        check.notes.push(format!("teardown: {e}"));
    }
    let actual = captured?;
    let mut details: Vec<Detail> = match_message(&message.message, &actual, job.contract.spec)
        .iter()
        .map(detail)
        .collect();
    if let Some(schema) = &message.schema {
        match (CompiledSchema::compile(schema), &actual.contents) {
            (Err(e), _) => details.push(Detail {
                path: "schema".into(),
                rule: None,
                expected: schema.reference.clone(),
                actual: e.to_string(),
                message: format!(
                    "the payload schema {} cannot be used: {e}",
                    schema.reference
                ),
            }),
            (Ok(compiled), Body::Json { value, .. }) => {
                for e in compiled.validate(value) {
                    details.push(Detail {
                        path: if e.instance_path.is_empty() {
                            "$".into()
                        } else {
                            e.instance_path.clone()
                        },
                        rule: Some(format!("schema {}", e.schema_path)),
                        expected: format!("valid against {}", schema.reference),
                        actual: e.message.clone(),
                        message: e.message.clone(),
                    });
                }
            }
            (Ok(_), other) => details.push(Detail {
                path: "$".into(),
                rule: Some("schema".into()),
                expected: "a JSON payload".into(),
                actual: format!("{other:?}").chars().take(200).collect(),
                message: "the payload is not JSON, so it cannot satisfy the schema".into(),
            }),
        }
    }
    if !details.is_empty() {
        check.details = details;
        return Err(Outcome::Failed);
    }
    Ok(())
}

fn state_failure(e: StateError, check: &mut Check) -> Outcome {
    match e {
        StateError::Refused { .. } => {
            check.details.push(Detail {
                path: "provider state".into(),
                rule: None,
                expected: "the state set up (2xx)".into(),
                actual: e.to_string(),
                message: e.to_string(),
            });
            Outcome::Failed
        }
        other => Outcome::Error(other.to_string()),
    }
}

/// The subject an event is published on: the contract's, or Pact metadata's `subject`.
fn subject_of(message: &MessageInteraction) -> Option<String> {
    message.subject.clone().or_else(|| {
        message
            .message
            .metadata
            .get("subject")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

async fn from_nats(
    client: &reqwest::Client,
    nats: &async_nats::Client,
    message: &MessageInteraction,
    options: &VerifyOptions,
    check: &mut Check,
) -> Result<MessageContents, Outcome> {
    let Some(subject) = subject_of(message) else {
        check.details.push(Detail {
            path: "subject".into(),
            rule: None,
            expected: "a subject".into(),
            actual: "none".into(),
            message:
                "the event names no subject (set `subject`, or metadata `subject` in a Pact file)"
                    .into(),
        });
        return Err(Outcome::Failed);
    };
    let Some(trigger) = &message.trigger else {
        return Err(Outcome::Error(format!(
            "the event on {subject} has no trigger: add `trigger` to the contract, or use --message-url"
        )));
    };
    if nats_lost(nats) {
        return Err(Outcome::Error(format!(
            "NATS is disconnected: cannot subscribe to {subject}"
        )));
    }
    let limit = options.request_timeout;
    let mut subscription = bounded(nats, limit, nats.subscribe(subject.clone()))
        .await
        .map_err(|e| Outcome::Error(format!("cannot subscribe to {subject}: {e}")))?;
    bounded(nats, limit, server_has_read(nats))
        .await
        .map_err(|e| {
            Outcome::Error(format!(
                "NATS went away while subscribing to {subject}: {e}"
            ))
        })?;
    // The trigger's correlation ID: the contract's own, if its trigger sets one, else ours.
    let correlation = match trigger {
        Trigger::Publish { headers, .. } => headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(CORRELATION_HEADER))
            .map(|(_, v)| v.clone()),
        Trigger::Http { .. } => None,
    }
    .unwrap_or_else(|| format!("{PARLEY_CORRELATION}{}", uuid::Uuid::new_v4().simple()));
    match trigger {
        Trigger::Http { method, path, body } => {
            let base = options.base_url.as_deref().ok_or_else(|| {
                Outcome::Error(format!(
                    "the event on {subject} is triggered over HTTP: --base-url is required"
                ))
            })?;
            let url = format!("{}{}", base.trim_end_matches('/'), path);
            let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .unwrap_or(reqwest::Method::POST);
            let mut request = client
                .request(method.clone(), &url)
                .timeout(options.request_timeout)
                .header(CORRELATION_HEADER, &correlation);
            if let Some(body) = body {
                request = request.json(body);
            }
            check.notes.push(format!("trigger: {method} {path}"));
            let response = request
                .send()
                .await
                .map_err(|e| Outcome::Error(format!("the trigger {method} {url} failed: {e}")))?;
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                check.details.push(Detail {
                    path: "trigger".into(),
                    rule: None,
                    expected: "a 2xx answer".into(),
                    actual: format!("{status}: {}", text.chars().take(200).collect::<String>()),
                    message: format!("the trigger {method} {path} was refused"),
                });
                return Err(Outcome::Failed);
            }
        }
        Trigger::Publish {
            subject: trigger_subject,
            payload,
            headers,
        } => {
            let mut h = async_nats::HeaderMap::new();
            h.insert(CORRELATION_HEADER, correlation.as_str());
            h.insert("Nats-Msg-Id", correlation.as_str());
            for (k, v) in headers {
                if !k.eq_ignore_ascii_case(CORRELATION_HEADER) {
                    h.insert(k.as_str(), v.as_str());
                }
            }
            check
                .notes
                .push(format!("trigger: publish {trigger_subject}"));
            let bytes = serde_json::to_vec(payload).unwrap_or_default();
            bounded(
                nats,
                limit,
                nats.publish_with_headers(trigger_subject.clone(), h, bytes.into()),
            )
            .await
            .map_err(|e| {
                Outcome::Error(format!(
                    "the trigger could not be published to {trigger_subject}: {e}"
                ))
            })?;
            bounded(nats, limit, nats.flush()).await.map_err(|e| {
                Outcome::Error(format!(
                    "NATS went away while triggering {trigger_subject}: {e}"
                ))
            })?;
        }
    }
    // Wait for the message. One carrying our correlation ID is ours. One carrying the ID of
    // another of parley's triggers (an earlier interaction's, arriving late) was caused by
    // that trigger and is never credited to this one. Any other (no correlation ID: a provider
    // that does not propagate it; or one of the provider's own) is taken, unless ours follows
    // within a short grace: waiting out the whole event timeout for a header such a provider
    // never sends would gain nothing.
    let mut deadline = tokio::time::Instant::now() + options.event_timeout;
    let mut candidate: Option<async_nats::Message> = None;
    let mut foreign = 0usize;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(remaining, subscription.next()).await {
            Ok(Some(m)) => match correlation_of(&m) {
                Some(c) if c == correlation => {
                    candidate = Some(m);
                    break;
                }
                Some(c) if c.starts_with(PARLEY_CORRELATION) => foreign += 1,
                _ => {
                    if candidate.is_none() {
                        candidate = Some(m);
                        deadline = deadline.min(tokio::time::Instant::now() + UNCORRELATED_GRACE);
                    }
                }
            },
            Ok(None) => {
                return Err(Outcome::Error(format!(
                    "NATS closed the subscription to {subject}"
                )));
            }
            Err(_) => break,
        }
    }
    let Some(m) = candidate else {
        if nats_lost(nats) {
            // Not the provider's fault: the message could not have reached us.
            return Err(Outcome::Error(format!(
                "NATS disconnected while waiting for a message on {subject}"
            )));
        }
        let others = if foreign > 0 {
            format!(
                " ({foreign} message(s) on {subject} carried the {CORRELATION_HEADER} of \
                 another of parley's triggers: caused by that one, not by this one)"
            )
        } else {
            String::new()
        };
        check.details.push(Detail {
            path: "subject".into(),
            rule: None,
            expected: format!("a message on {subject}"),
            actual: "none".into(),
            message: format!(
                "no message on {subject} within {:?} of the trigger{others}",
                options.event_timeout
            ),
        });
        return Err(Outcome::Failed);
    };
    let mut metadata = BTreeMap::new();
    if let Some(headers) = &m.headers {
        for (name, values) in headers.iter() {
            if let Some(v) = values.first() {
                let name: &str = name.as_ref();
                metadata.insert(name.to_string(), Value::String(v.as_str().to_string()));
            }
        }
    }
    metadata.insert("subject".into(), Value::String(m.subject.to_string()));
    let content_type = metadata
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "application/json".into());
    Ok(MessageContents {
        contents: body_from_bytes(&m.payload, Some(content_type)),
        metadata,
        ..MessageContents::default()
    })
}

/// How parley's own correlation IDs begin.
const PARLEY_CORRELATION: &str = "parley-verify-";

/// How long to wait for a message carrying our correlation ID once another came.
const UNCORRELATED_GRACE: Duration = Duration::from_millis(250);

/// The correlation ID a message carries, if any (header names read case-insensitively).
fn correlation_of(m: &async_nats::Message) -> Option<String> {
    let headers = m.headers.as_ref()?;
    if let Some(v) = headers.get(CORRELATION_HEADER) {
        return Some(v.as_str().to_string());
    }
    headers.iter().find_map(|(name, values)| {
        let name: &str = name.as_ref();
        name.eq_ignore_ascii_case(CORRELATION_HEADER)
            .then(|| values.first().map(|v| v.as_str().to_string()))
            .flatten()
    })
}

/// The client has lost its server (it keeps reconnecting in the background).
fn nats_lost(nats: &async_nats::Client) -> bool {
    nats.connection_state() != async_nats::connection::State::Connected
}

/// A NATS operation, bounded: a client whose server went away queues commands and waits for a
/// reconnect that may never come, so an unbounded `flush` would hang verification for ever. It
/// ends when the operation does, when the client notices it lost its server, or after `limit`.
/// Returns once the server has read everything this connection sent so far, subscriptions
/// included. A flush only puts the bytes on the wire: a provider's publish on its own
/// connection can reach the server before it has read our `SUB`, and that message would be
/// lost to us. The server reads a connection's protocol in order, so a message we publish to a
/// fresh inbox after the `SUB` comes back only once the `SUB` is in place.
async fn server_has_read(nats: &async_nats::Client) -> Result<(), String> {
    let inbox = nats.new_inbox();
    let mut echo = nats
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    nats.publish(inbox, bytes::Bytes::new())
        .await
        .map_err(|e| e.to_string())?;
    nats.flush().await.map_err(|e| e.to_string())?;
    match echo.next().await {
        Some(_) => Ok(()),
        None => Err("the subscription closed before the server answered".into()),
    }
}

async fn bounded<T, E: std::fmt::Display>(
    nats: &async_nats::Client,
    limit: Duration,
    operation: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + limit;
    tokio::pin!(operation);
    loop {
        tokio::select! {
            result = &mut operation => return result.map_err(|e| e.to_string()),
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if nats_lost(nats) {
                    return Err("NATS disconnected".into());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!("no answer from NATS within {limit:?}"));
                }
            }
        }
    }
}

async fn from_message_endpoint(
    client: &reqwest::Client,
    url: &str,
    message: &MessageInteraction,
    options: &VerifyOptions,
) -> Result<MessageContents, Outcome> {
    let states: Vec<Value> = message
        .common
        .provider_states
        .iter()
        .map(|s| json!({ "name": s.name, "params": s.params }))
        .collect();
    let response = client
        .post(url)
        .timeout(options.request_timeout)
        .json(&json!({ "description": message.common.description, "providerStates": states }))
        .send()
        .await
        .map_err(|e| Outcome::Error(format!("the message endpoint {url} is unreachable: {e}")))?;
    let status = response.status();
    let mut metadata: BTreeMap<String, Value> = response
        .headers()
        .get("pact-message-metadata")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes).ok())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Outcome::Error(format!("the message endpoint {url} broke off: {e}")))?;
    if !status.is_success() {
        return Err(Outcome::Error(format!(
            "the message endpoint {url} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(200)
                .collect::<String>()
        )));
    }
    if let Some(ct) = &content_type {
        metadata
            .entry("contentType".into())
            .or_insert_with(|| Value::String(ct.clone()));
    }
    Ok(MessageContents {
        contents: body_from_bytes(&bytes, content_type.or(Some("application/json".into()))),
        metadata,
        ..MessageContents::default()
    })
}
