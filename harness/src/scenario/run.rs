//! Driving a scenario's steps and checking what its traces show.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::assert::{evaluate, same};
use super::{HttpStep, MessageWait, PublishStep, Scenario, Step, TraceCheck, WaitStep};
use crate::checks::trace as trace_checks;
use crate::otlp::{Attributes, Span, SpanKind, SpanRecorder, TraceStore};
use crate::requests::CORRELATION_ATTR;
use crate::requests::{RequestTraces, wait_for_request};
use crate::results::{Check, Detail, Outcome};

pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The service name of the spans parley records for a scenario and its steps.
pub const SCENARIO_SERVICE: &str = "parley";

/// The scenario's own place in the trace: a root span, and one child span per step whose
/// context the step's request or message carries, so that the whole scenario is one tree.
struct Tracing {
    trace_id: String,
    root: String,
    started: u64,
    spans: Vec<Span>,
}

impl Tracing {
    fn new() -> Self {
        Tracing {
            trace_id: random_hex(16),
            root: random_hex(8),
            started: now_nanos(),
            spans: Vec::new(),
        }
    }

    fn traceparent(&self, span_id: &str) -> String {
        format!("00-{}-{span_id}-01", self.trace_id)
    }

    fn span(
        &self,
        span_id: String,
        parent: Option<String>,
        name: String,
        kind: SpanKind,
        attributes: Attributes,
        start: u64,
    ) -> Span {
        Span {
            trace_id: self.trace_id.clone(),
            span_id,
            parent_span_id: parent,
            name,
            kind,
            service_name: SCENARIO_SERVICE.into(),
            scope_name: "parley-scenario".into(),
            start_unix_nanos: start,
            end_unix_nanos: now_nanos().max(start + 1),
            attributes,
            ..Span::default()
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let id = uuid::Uuid::new_v4();
    hex::encode(&id.as_bytes()[..bytes])
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What a scenario runs with.
pub struct Context {
    /// Variables (`${name}`): the caller's, then the scenario's defaults, then saved values.
    pub vars: BTreeMap<String, String>,
    pub http: reqwest::Client,
    pub nats: Option<async_nats::Client>,
    /// Where the spans arrive (a live receiver's store, or one loaded from a file).
    pub store: TraceStore,
    /// Where the scenario's own spans go: the receiver's recorder (store and sinks, so that
    /// forwarded traces keep their root), or, when `None`, the store alone.
    pub recorder: Option<SpanRecorder>,
    pub correlation_id: String,
    /// `false`: do not drive the steps, only check the traces already in `store`.
    pub drive: bool,
    /// How long to wait for the traces of the expected services.
    pub trace_timeout: Duration,
}

impl Context {
    pub fn new(store: TraceStore, correlation_id: impl Into<String>) -> Self {
        Context {
            vars: BTreeMap::new(),
            http: reqwest::Client::new(),
            nats: None,
            store,
            recorder: None,
            correlation_id: correlation_id.into(),
            drive: true,
            trace_timeout: Duration::from_secs(20),
        }
    }
}

/// Runs the scenario: each step a check (a failed step stops the rest, which are skipped),
/// then the built-in trace checks and the scenario's expectations.
pub async fn run(scenario: &Scenario, ctx: &mut Context) -> Vec<Check> {
    let group = scenario.name.as_str();
    for (k, v) in &scenario.vars {
        ctx.vars.entry(k.clone()).or_insert_with(|| v.clone());
    }
    ctx.vars
        .insert("correlation_id".into(), ctx.correlation_id.clone());
    let mut checks = Vec::new();
    if ctx.drive {
        let mut subscriptions = match subscribe_waits(scenario, ctx).await {
            Ok(s) => s,
            Err(reason) => {
                let mut c = Check::new(group, "steps", "step");
                c.outcome = Outcome::Error(reason);
                return vec![c];
            }
        };
        let mut tracing = Tracing::new();
        let mut stopped = false;
        for (i, step) in scenario.steps.iter().enumerate() {
            let mut check =
                Check::new(group, format!("step {}: {}", i + 1, describe(step)), "step");
            if stopped {
                check.outcome = Outcome::Skipped("an earlier step failed".into());
                checks.push(check);
                continue;
            }
            let started = Instant::now();
            let step_start = now_nanos();
            let span_id = random_hex(8);
            let traceparent = tracing.traceparent(&span_id);
            let result = match step {
                Step::Http(h) => http_step(h, ctx, &traceparent, &mut check).await,
                Step::Publish(p) => publish_step(p, ctx, &traceparent).await,
                Step::Wait(w) => {
                    wait_step(w, i, ctx, &traceparent, &mut subscriptions, &mut check).await
                }
            };
            check.duration = started.elapsed();
            let (kind, mut attributes) = step_attributes(step, ctx);
            attributes.insert(
                CORRELATION_ATTR.into(),
                Value::String(ctx.correlation_id.clone()),
            );
            attributes.insert("parley.scenario.step".into(), Value::from(i + 1));
            let span = tracing.span(
                span_id,
                Some(tracing.root.clone()),
                check.name.clone(),
                kind,
                attributes,
                step_start,
            );
            tracing.spans.push(span);
            if let Err(outcome) = result {
                check.outcome = outcome;
                stopped = true;
            }
            checks.push(check);
        }
        let mut attributes = Attributes::new();
        attributes.insert(
            CORRELATION_ATTR.into(),
            Value::String(ctx.correlation_id.clone()),
        );
        attributes.insert(
            "parley.scenario".into(),
            Value::String(scenario.name.clone()),
        );
        let root = tracing.span(
            tracing.root.clone(),
            None,
            format!("scenario {}", scenario.name),
            SpanKind::Internal,
            attributes,
            tracing.started,
        );
        let mut spans = std::mem::take(&mut tracing.spans);
        spans.insert(0, root);
        match &ctx.recorder {
            Some(recorder) => recorder.record(spans),
            None => {
                ctx.store.insert(spans);
            }
        }
    }
    // When a step failed, the request may never reach the services it should have: check
    // what arrived once spans stop coming, instead of waiting for all of them.
    let step_failed = checks
        .iter()
        .any(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error(_)));
    let rt = if scenario.services.is_empty() || step_failed {
        ctx.store
            .wait_settled(Duration::from_millis(300), Duration::from_secs(5))
            .await;
        ctx.store
            .view(|v| RequestTraces::collect(v, &ctx.correlation_id))
    } else {
        let services: Vec<&str> = scenario.services.iter().map(String::as_str).collect();
        match wait_for_request(
            &ctx.store,
            &ctx.correlation_id,
            &services,
            ctx.trace_timeout,
        )
        .await
        {
            Ok(rt) => rt,
            Err(timeout) => {
                let seen = ctx
                    .store
                    .view(|v| RequestTraces::collect(v, &ctx.correlation_id));
                let mut c = Check::new(group, "trace: every service involved", "trace");
                c.outcome = Outcome::Failed;
                c.details.push(Detail {
                    path: "services".into(),
                    rule: None,
                    expected: services.join(", "),
                    actual: seen.services().into_iter().collect::<Vec<_>>().join(", "),
                    message: format!(
                        "not every service sent spans for {}: {timeout}",
                        ctx.correlation_id
                    ),
                });
                checks.push(c);
                seen
            }
        }
    };
    for which in &scenario.checks {
        checks.push(match which {
            TraceCheck::Connected => trace_checks::connected(group, &rt),
            TraceCheck::Correlated => trace_checks::correlated(group, &rt),
            TraceCheck::Producers => trace_checks::producers(group, &rt),
            TraceCheck::Ended => trace_checks::ended(group, &rt),
            TraceCheck::Saga => trace_checks::saga(group, &rt),
        });
    }
    for e in &scenario.expect {
        checks.push(evaluate(group, e, &rt));
    }
    checks
}

/// The span kind and attributes of a step's own span.
fn step_attributes(step: &Step, ctx: &Context) -> (SpanKind, Attributes) {
    let mut a = Attributes::new();
    match step {
        Step::Http(h) => {
            a.insert(
                "http.request.method".into(),
                Value::String(h.method.to_ascii_uppercase()),
            );
            a.insert(
                "url.full".into(),
                Value::String(substitute(&h.url, &ctx.vars).unwrap_or_else(|_| h.url.clone())),
            );
            (SpanKind::Client, a)
        }
        Step::Publish(p) => {
            a.insert("messaging.system".into(), Value::String("nats".into()));
            a.insert(
                "messaging.operation.type".into(),
                Value::String("send".into()),
            );
            a.insert(
                "messaging.destination.name".into(),
                Value::String(
                    substitute(&p.subject, &ctx.vars).unwrap_or_else(|_| p.subject.clone()),
                ),
            );
            (SpanKind::Producer, a)
        }
        Step::Wait(_) => (SpanKind::Internal, a),
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Http(h) => format!("{} {}", h.method.to_ascii_uppercase(), h.url),
        Step::Publish(p) => format!("publish {}", p.subject),
        Step::Wait(w) => match (&w.http, &w.message) {
            (Some(h), _) => format!("wait for {}", h.url),
            (_, Some(m)) => format!("wait for {} message(s) on {}", m.count, m.subject),
            _ => "wait".into(),
        },
    }
}

/// Replaces `${name}` in text. An unknown name is an error naming it.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed ${{ in {text:?}"));
        };
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            format!("unknown variable ${{{name}}} (give it with --var {name}=VALUE)")
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute_json(value: &Value, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(substitute(s, vars)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_json(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The value at a simple JSON path: `$`, `$.a.b`, `$.items[0].sku`, `$.items.length()`.
pub fn json_at(value: &Value, path: &str) -> Option<Value> {
    let mut current = value.clone();
    let rest = path.strip_prefix('$')?;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    key.push(n);
                    chars.next();
                }
                if key == "length()" {
                    current = Value::from(match &current {
                        Value::Array(a) => a.len(),
                        Value::Object(o) => o.len(),
                        Value::String(s) => s.chars().count(),
                        _ => return None,
                    });
                } else {
                    current = current.get(&key)?.clone();
                }
            }
            '[' => {
                let mut index = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    index.push(n);
                }
                let i: usize = index.trim().parse().ok()?;
                current = current.get(i)?.clone();
            }
            _ => return None,
        }
    }
    Some(current)
}

async fn send(h: &HttpStep, ctx: &Context, traceparent: &str) -> Result<(u16, Value), Outcome> {
    let url = substitute(&h.url, &ctx.vars).map_err(Outcome::Error)?;
    let method = reqwest::Method::from_bytes(h.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Outcome::Error(format!("unknown HTTP method {:?}", h.method)))?;
    let mut request = ctx
        .http
        .request(method, &url)
        .timeout(Duration::from_secs(30));
    if !h
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case(CORRELATION_HEADER))
    {
        request = request.header(CORRELATION_HEADER, &ctx.correlation_id);
    }
    if !h
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("traceparent"))
    {
        request = request.header("traceparent", traceparent);
    }
    for (k, v) in &h.headers {
        request = request.header(
            k.as_str(),
            substitute(v, &ctx.vars).map_err(Outcome::Error)?,
        );
    }
    if let Some(body) = &h.body {
        request = request.json(&substitute_json(body, &ctx.vars).map_err(Outcome::Error)?);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Outcome::Error(format!("{url} is unreachable: {e}")))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

fn fail(
    check: &mut Check,
    path: &str,
    expected: String,
    actual: String,
    message: String,
) -> Outcome {
    check.details.push(Detail {
        path: path.into(),
        rule: None,
        expected,
        actual,
        message,
    });
    Outcome::Failed
}

async fn http_step(
    h: &HttpStep,
    ctx: &mut Context,
    traceparent: &str,
    check: &mut Check,
) -> Result<(), Outcome> {
    let (status, body) = send(h, ctx, traceparent).await?;
    // What can be saved is saved first, so that a failed expectation still leaves what the
    // response said; a value missing is reported after the expectations.
    let mut missing = None;
    for (name, path) in &h.save {
        match json_at(&body, path) {
            Some(Value::String(s)) => {
                ctx.vars.insert(name.clone(), s);
            }
            Some(other) => {
                ctx.vars.insert(name.clone(), other.to_string());
            }
            None => {
                missing.get_or_insert((name, path));
            }
        }
    }
    if let Some(expect) = &h.expect {
        if let Some(want) = expect.status
            && want != status
        {
            let detail = body
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            return Err(fail(
                check,
                "status",
                want.to_string(),
                status.to_string(),
                format!("expected HTTP {want}, got {status} {detail}"),
            ));
        }
        for (path, want) in &expect.json {
            let want = substitute_json(want, &ctx.vars).map_err(Outcome::Error)?;
            match json_at(&body, path) {
                Some(actual) if same(&actual, &want) => {}
                actual => {
                    let actual = actual
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "absent".into());
                    return Err(fail(
                        check,
                        path,
                        want.to_string(),
                        actual.clone(),
                        format!("{path} is {actual}, expected {want}"),
                    ));
                }
            }
        }
    }
    if let Some((name, path)) = missing {
        return Err(fail(
            check,
            path,
            format!("a value to save as {name}"),
            "absent".into(),
            format!("the response has nothing at {path}"),
        ));
    }
    Ok(())
}

async fn publish_step(p: &PublishStep, ctx: &Context, traceparent: &str) -> Result<(), Outcome> {
    let nats = ctx
        .nats
        .as_ref()
        .ok_or_else(|| Outcome::Error("a publish step needs NATS (--nats-url)".into()))?;
    let subject = substitute(&p.subject, &ctx.vars).map_err(Outcome::Error)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(CORRELATION_HEADER, ctx.correlation_id.as_str());
    headers.insert("traceparent", traceparent);
    for (k, v) in &p.headers {
        headers.insert(
            k.as_str(),
            substitute(v, &ctx.vars).map_err(Outcome::Error)?.as_str(),
        );
    }
    let payload: Vec<u8> = match (&p.payload, &p.raw) {
        (Some(v), _) => serde_json::to_vec(&substitute_json(v, &ctx.vars).map_err(Outcome::Error)?)
            .unwrap_or_default(),
        (None, Some(raw)) => substitute(raw, &ctx.vars)
            .map_err(Outcome::Error)?
            .into_bytes(),
        (None, None) => Vec::new(),
    };
    match &p.msg_id {
        Some(id) => {
            headers.insert(
                "Nats-Msg-Id",
                substitute(id, &ctx.vars).map_err(Outcome::Error)?.as_str(),
            );
            let js = async_nats::jetstream::new(nats.clone());
            js.publish_with_headers(subject.clone(), headers, payload.into())
                .await
                .map_err(|e| Outcome::Error(format!("publishing to {subject}: {e}")))?
                .await
                .map_err(|e| Outcome::Error(format!("no stream stored {subject}: {e}")))?;
        }
        None => {
            nats.publish_with_headers(subject.clone(), headers, payload.into())
                .await
                .map_err(|e| Outcome::Error(format!("publishing to {subject}: {e}")))?;
            nats.flush()
                .await
                .map_err(|e| Outcome::Error(format!("NATS: {e}")))?;
        }
    }
    Ok(())
}

type Subscriptions = BTreeMap<usize, async_nats::Subscriber>;

/// Message waits subscribe before any step runs, so that no message is missed.
async fn subscribe_waits(s: &Scenario, ctx: &Context) -> Result<Subscriptions, String> {
    let mut subs = Subscriptions::new();
    for (i, step) in s.steps.iter().enumerate() {
        if let Step::Wait(WaitStep {
            message: Some(m), ..
        }) = step
        {
            let nats = ctx
                .nats
                .as_ref()
                .ok_or("a message wait needs NATS (--nats-url)")?;
            let subject = substitute(&m.subject, &ctx.vars)?;
            subs.insert(
                i,
                nats.subscribe(subject.clone())
                    .await
                    .map_err(|e| format!("subscribing to {subject}: {e}"))?,
            );
        }
    }
    if let Some(nats) = &ctx.nats
        && !subs.is_empty()
    {
        nats.flush().await.map_err(|e| format!("NATS: {e}"))?;
    }
    Ok(subs)
}

async fn wait_step(
    w: &WaitStep,
    index: usize,
    ctx: &mut Context,
    traceparent: &str,
    subs: &mut Subscriptions,
    check: &mut Check,
) -> Result<(), Outcome> {
    let deadline = tokio::time::Instant::now() + w.timeout;
    if let Some(h) = &w.http {
        loop {
            let (_, body) = send(h, ctx, traceparent).await?;
            let mut pending = Vec::new();
            for (path, want) in &w.until {
                let want = substitute_json(want, &ctx.vars).map_err(Outcome::Error)?;
                if !json_at(&body, path).is_some_and(|a| same(&a, &want)) {
                    pending.push(format!("{path} = {want}"));
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(fail(
                    check,
                    "until",
                    pending.join(", "),
                    body.to_string(),
                    format!("not reached within {:?}", w.timeout),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let Some(MessageWait {
        subject,
        count,
        headers,
    }) = &w.message
    {
        let sub = subs
            .get_mut(&index)
            .ok_or_else(|| Outcome::Error("not subscribed".into()))?;
        let mut seen = 0;
        while seen < *count {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(remaining, sub.next()).await {
                Ok(Some(m)) => {
                    let wanted = headers.iter().all(|(k, v)| {
                        let v = substitute(v, &ctx.vars).unwrap_or_default();
                        m.headers
                            .as_ref()
                            .and_then(|h| h.get(k.as_str()))
                            .is_some_and(|a| a.as_str() == v)
                    });
                    if wanted {
                        seen += 1;
                    }
                }
                Ok(None) => {
                    return Err(Outcome::Error(format!(
                        "NATS closed the subscription to {subject}"
                    )));
                }
                Err(_) => {
                    return Err(fail(
                        check,
                        subject,
                        format!("{count} message(s)"),
                        seen.to_string(),
                        format!(
                            "{seen} of {count} message(s) on {subject} within {:?}",
                            w.timeout
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables() {
        let vars = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert_eq!(substitute("x${a}y", &vars), Ok("x1y".into()));
        assert!(
            substitute("${b}", &vars)
                .unwrap_err()
                .contains("--var b=VALUE")
        );
        assert!(substitute("${a", &vars).is_err());
    }

    #[test]
    fn paths() {
        let v = json!({"a": {"b": [ {"c": 1}, {"c": 2} ]}, "s": "x"});
        assert_eq!(json_at(&v, "$.a.b[1].c"), Some(json!(2)));
        assert_eq!(json_at(&v, "$.a.b.length()"), Some(json!(2)));
        assert_eq!(json_at(&v, "$"), Some(v.clone()));
        assert_eq!(json_at(&v, "$.nope"), None);
    }
}
