//! The duplicate probe: the same event delivered twice must change the consumer's state once.
//!
//! JetStream drops a second publish with the same `Nats-Msg-Id` inside the stream's
//! de-duplication window, so both copies go without one (the block may not declare it): the
//! second copy reaches the consumer as a producer's retry (or a redelivery whose first copy's
//! ack was lost) would, with the same payload and headers. A consumer that de-duplicates only
//! on `Nats-Msg-Id` is caught by this: rightly, since its producers' retries are not covered.

use std::time::Instant;

use serde_json::Value;

use super::spec::Compare;
use super::{
    ProbeKind, ProbeOutcome, ProbeSpec, Prober, Verdict, on_server, publish, show, show_headers,
};
use crate::lint::graph::Consumer;
use crate::lint::{ExternalFinding, LintError};

/// How much of a state or payload evidence shows.
const SHOWN: usize = 600;

/// What is compared of a state.
fn key(v: &Value, compare: Compare) -> Value {
    match (compare, v) {
        (Compare::Count, Value::Array(a)) => Value::from(a.len()),
        (Compare::Count, Value::Object(o)) => Value::from(o.len()),
        _ => v.clone(),
    }
}

/// Reads the state until two reads agree, `options.poll` apart. When `must_differ_from` is
/// given (the consumer's acknowledgement was not seen), it also waits for the state to differ
/// from it. Bounded by `options.timeout`: the last read then.
async fn settle(
    p: &Prober<'_>,
    service: &str,
    path: &str,
    compare: Compare,
    must_differ_from: Option<&Value>,
) -> Result<Value, LintError> {
    let deadline = Instant::now() + p.options.timeout;
    let mut previous = p.read_state(service, path).await?;
    loop {
        tokio::time::sleep(p.options.poll).await;
        let current = p.read_state(service, path).await?;
        let stable = key(&current, compare) == key(&previous, compare);
        let moved = must_differ_from.is_none_or(|b| key(&current, compare) != key(b, compare));
        if (stable && moved) || Instant::now() >= deadline {
            return Ok(current);
        }
        previous = current;
    }
}

pub(crate) async fn run(
    p: &Prober<'_>,
    consumer: &Consumer,
    spec: &ProbeSpec,
) -> Result<ProbeOutcome, LintError> {
    let started = Instant::now();
    let uuid = uuid::Uuid::new_v4().to_string();
    let rendered = spec.render(&uuid);
    let mut evidence = Vec::new();
    let outcome = |verdict, evidence| ProbeOutcome {
        consumer: consumer.label(),
        kind: ProbeKind::Duplicate,
        verdict,
        evidence,
        duration: started.elapsed(),
    };
    let (Some(event), Some(state), Some(path)) =
        (&rendered.event, &spec.state, &rendered.state_path)
    else {
        return Ok(outcome(
            Verdict::Inconclusive("the probe declares no event or no state".into()),
            evidence,
        ));
    };
    let payload = bytes::Bytes::from(event.to_string());
    let mut sent = format!("sent: {} on {}", show(event, SHOWN), spec.subject);
    if !rendered.headers.is_empty() {
        sent.push_str(&format!(
            " with headers {}",
            show_headers(&rendered.headers)
        ));
    }
    evidence.push(sent);
    let before = p.read_state(&state.service, path).await?;
    evidence.push(format!(
        "seen: GET {} {path} before: {}",
        state.service,
        show(&before, SHOWN)
    ));

    let first = match publish(p, &spec.subject, &rendered.headers, payload.clone()).await {
        Ok(ack) => ack,
        Err(why) => return Ok(outcome(Verdict::Inconclusive(why), evidence)),
    };
    let acked = p.wait_acked(&first.stream, consumer, first.sequence).await;
    if !acked {
        evidence.push(format!(
            "seen: no acknowledgement of stream {} sequence {} by the consumer within {} ms",
            first.stream,
            first.sequence,
            p.options.timeout.as_millis()
        ));
    }
    let once = settle(
        p,
        &state.service,
        path,
        spec.compare,
        (!acked).then_some(&before),
    )
    .await?;
    evidence.push(format!(
        "seen: after the first delivery (stream {} sequence {}): {}",
        first.stream,
        first.sequence,
        show(&once, SHOWN)
    ));
    if key(&once, spec.compare) == key(&before, spec.compare) {
        return Ok(outcome(
            Verdict::Inconclusive(format!(
                "the state read with GET {} {path} did not change after the first delivery: nothing to compare a duplicate with",
                state.service
            )),
            evidence,
        ));
    }

    let second = match publish(p, &spec.subject, &rendered.headers, payload).await {
        Ok(ack) if ack.duplicate => {
            return Ok(outcome(
                Verdict::Inconclusive(format!(
                    "stream {} dropped the second copy as a duplicate",
                    ack.stream
                )),
                evidence,
            ));
        }
        Ok(ack) => ack,
        Err(why) => return Ok(outcome(Verdict::Inconclusive(why), evidence)),
    };
    let acked = p
        .wait_acked(&second.stream, consumer, second.sequence)
        .await;
    if !acked {
        evidence.push(format!(
            "seen: no acknowledgement of stream {} sequence {} within {} ms; waited for the state to change",
            second.stream,
            second.sequence,
            p.options.timeout.as_millis()
        ));
    }
    let twice = settle(
        p,
        &state.service,
        path,
        spec.compare,
        (!acked).then_some(&once),
    )
    .await?;
    evidence.push(format!(
        "seen: after the second delivery (stream {} sequence {}): {}",
        second.stream,
        second.sequence,
        show(&twice, SHOWN)
    ));
    if key(&twice, spec.compare) == key(&once, spec.compare) {
        return Ok(outcome(Verdict::Passed, evidence));
    }
    let what = match spec.compare {
        Compare::Body => "changed again",
        Compare::Count => "grew again",
    };
    let finding = ExternalFinding {
        rule_id: "PL002",
        element: consumer.label(),
        message: format!(
            "{} processed the same event twice: after a duplicate on {}, the state read with GET {} {path} {what} (duplicate probe on {})",
            consumer.label(),
            spec.subject,
            state.service,
            on_server(p)
        ),
        location: consumer.origin.field("idempotency_key").cloned(),
        evidence: evidence.clone(),
    };
    Ok(outcome(Verdict::Failed(finding), evidence))
}
