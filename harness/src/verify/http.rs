//! HTTP interactions: set the states, send the contract's request, match the response.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use parley_contracts::matching::match_response;
use parley_contracts::pact::body::{is_json_type, is_textual};
use parley_contracts::{
    Body, Headers, HttpInteraction, HttpRequest, HttpResponse, Interaction, ProviderState,
};

use super::states::{StateClient, StateError};
use super::{Job, Progress, VerifyOptions, detail};
use crate::results::{Check, Detail, Outcome};

/// Runs the HTTP jobs: grouped by provider states (one group after another, states set up once
/// per group), each group's interactions concurrently.
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
    let mut groups: BTreeMap<String, Vec<&Job<'_>>> = BTreeMap::new();
    for job in jobs {
        groups
            .entry(state_key(&job.interaction.common().provider_states))
            .or_default()
            .push(job);
    }
    let mut checks = Vec::with_capacity(jobs.len());
    for group in groups.values() {
        let provider_states = &group[0].interaction.common().provider_states;
        if let Err(e) = states.setup(provider_states).await {
            for job in group {
                let mut check = job.check("http");
                check.outcome = state_outcome(&e);
                if check.outcome == Outcome::Failed {
                    check.details.push(state_detail(&e));
                }
                progress.done(&check);
                checks.push(check);
            }
            continue;
        }
        let results: Vec<Check> = futures::stream::iter(group.iter().map(|job| {
            let client = &client;
            async move {
                let mut attempt = 0;
                loop {
                    let check = verify_one(client, job, options).await;
                    if check.passed() || attempt >= options.retries {
                        progress.done(&check);
                        return check;
                    }
                    attempt += 1;
                }
            }
        }))
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
        checks.extend(results);
        if let Err(e) = states.teardown(provider_states).await {
            // The interactions ran; a failed teardown is reported on each, without failing it.
            for check in checks.iter_mut().rev().take(group.len()) {
                check.notes.push(format!("teardown: {e}"));
            }
        }
    }
    checks
}

fn state_key(states: &[ProviderState]) -> String {
    states
        .iter()
        .map(|s| format!("{}{}", s.name, serde_json::Value::Object(s.params.clone())))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

fn state_outcome(e: &StateError) -> Outcome {
    match e {
        StateError::Refused { .. } => Outcome::Failed,
        StateError::Unreachable { .. } | StateError::NoStateUrl { .. } => {
            Outcome::Error(e.to_string())
        }
    }
}

fn state_detail(e: &StateError) -> Detail {
    Detail {
        path: "provider state".into(),
        rule: None,
        expected: "the state set up (2xx)".into(),
        actual: e.to_string(),
        message: e.to_string(),
    }
}

async fn verify_one(client: &reqwest::Client, job: &Job<'_>, options: &VerifyOptions) -> Check {
    let mut check = job.check("http");
    let Interaction::Http(HttpInteraction {
        request, response, ..
    }) = job.interaction
    else {
        check.outcome = Outcome::Skipped("not an HTTP interaction".into());
        return check;
    };
    let started = Instant::now();
    check
        .notes
        .push(format!("request: {} {}", request.method, request.path));
    let base = options.base_url.as_deref().unwrap_or_default();
    let actual = send(client, base, request, options).await;
    check.duration = started.elapsed();
    match actual {
        Ok(actual) => {
            let mismatches = match_response(response, &actual, job.contract.spec);
            if !mismatches.is_empty() {
                check.outcome = Outcome::Failed;
                check.details = mismatches.iter().map(detail).collect();
            }
        }
        Err(SendError::Unreachable(reason)) => check.outcome = Outcome::Error(reason),
        Err(SendError::Failed(d)) => {
            check.outcome = Outcome::Failed;
            check.details.push(d);
        }
    }
    check
}

enum SendError {
    /// Nothing answered: infrastructure.
    Unreachable(String),
    /// Something answered wrongly, or not in time.
    Failed(Detail),
}

/// Sends the contract's request to the provider and reads its response into the model.
async fn send(
    client: &reqwest::Client,
    base: &str,
    request: &HttpRequest,
    options: &VerifyOptions,
) -> Result<HttpResponse, SendError> {
    let url = format!("{}{}", base.trim_end_matches('/'), request.path);
    let mut url = reqwest::Url::parse(&url).map_err(|e| {
        SendError::Failed(Detail {
            path: "path".into(),
            rule: None,
            expected: "a valid URL".into(),
            actual: url.clone(),
            message: format!("cannot build the request URL: {e}"),
        })
    })?;
    if let Some(query) = &request.query
        && !query.is_empty()
    {
        let mut pairs = url.query_pairs_mut();
        for (name, values) in query {
            for value in values {
                pairs.append_pair(name, value);
            }
        }
    }
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let mut builder = client
        .request(method, url.clone())
        .timeout(options.request_timeout);
    let mut has_content_type = false;
    for (name, values) in request.headers.iter().flatten() {
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        for value in values {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let (bytes, default_type): (Option<Vec<u8>>, &str) = match &request.body {
        Body::Missing => (None, ""),
        Body::Null => (Some(b"null".to_vec()), "application/json"),
        Body::Empty => (Some(Vec::new()), ""),
        Body::Json { value, .. } => (
            Some(serde_json::to_vec(value).unwrap_or_default()),
            "application/json",
        ),
        Body::Text { text, .. } => (Some(text.clone().into_bytes()), "text/plain"),
        Body::Binary { bytes, .. } => (Some(bytes.clone()), "application/octet-stream"),
    };
    if let Some(bytes) = bytes {
        let content_type = request.body.content_type().unwrap_or(default_type);
        if !has_content_type && !content_type.is_empty() {
            builder = builder.header("content-type", content_type);
        }
        builder = builder.body(bytes);
    }
    let response = builder.send().await.map_err(|e| {
        if e.is_timeout() {
            SendError::Failed(Detail {
                path: "response".into(),
                rule: None,
                expected: format!("a response within {:?}", options.request_timeout),
                actual: "no response".into(),
                message: format!(
                    "the provider did not answer {} {url} in time",
                    request.method
                ),
            })
        } else {
            SendError::Unreachable(format!(
                "the provider at {base} is unreachable: {}",
                error_chain(&e)
            ))
        }
    })?;
    let status = response.status().as_u16();
    let mut headers = Headers::new();
    for (name, value) in response.headers() {
        headers
            .entry(name.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let content_type = headers.get("content-type").and_then(|v| v.first()).cloned();
    let bytes = response.bytes().await.map_err(|e| {
        SendError::Failed(Detail {
            path: "body".into(),
            rule: None,
            expected: "a complete body".into(),
            actual: e.to_string(),
            message: "the provider's response body could not be read".into(),
        })
    })?;
    Ok(HttpResponse {
        status,
        headers: Some(headers),
        body: body_from_bytes(&bytes, content_type),
        ..HttpResponse::default()
    })
}

/// An error with its causes (`error sending request for url (…): client error (Connect): tcp
/// connect error: Connection refused (os error 111)`): reqwest's own message alone does not
/// say what went wrong.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Bytes received, as a body of the model (JSON parsed when the type says JSON).
pub fn body_from_bytes(bytes: &[u8], content_type: Option<String>) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    let is_json = content_type.as_deref().is_some_and(is_json_type);
    if is_json && let Ok(value) = serde_json::from_slice(bytes) {
        return Body::Json {
            value,
            content_type,
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if is_json || content_type.as_deref().is_none_or(is_textual) => Body::Text {
            text: text.to_string(),
            content_type,
        },
        _ => Body::Binary {
            bytes: bytes.to_vec(),
            content_type,
        },
    }
}
