//! The poison probe: a message the consumer cannot decode must reach its dead-letter subject
//! within its deliveries, not come back for ever nor vanish.
//!
//! The probe subscribes to the consumer's declared `dlq` subject, publishes an undecodable
//! payload (carrying a fresh UUID) on the probe's subject, and waits up to the probe timeout
//! for a message on the DLQ that carries the UUID (in its payload or a header). When none
//! comes, the consumer's state on the server says what happened instead: still pending and
//! redelivered, or acknowledged (lost). A dead-lettered copy that states its delivery count in a
//! header (`…Delivery-Count`) more than the consumer's `max_deliver` fails too. The poison
//! message is then deleted from its stream, so that a consumer without a DLQ stops receiving
//! it.

use std::time::Instant;

use futures::StreamExt;

use super::{ProbeKind, ProbeOutcome, ProbeSpec, Prober, Verdict, on_server, publish};
use crate::lint::graph::{Consumer, Fact};
use crate::lint::{ExternalFinding, LintError};

pub(crate) async fn run(
    p: &Prober<'_>,
    consumer: &Consumer,
    spec: &ProbeSpec,
) -> Result<ProbeOutcome, LintError> {
    let started = Instant::now();
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut evidence = Vec::new();
    let outcome = |verdict, evidence| ProbeOutcome {
        consumer: consumer.label(),
        kind: ProbeKind::Poison,
        verdict,
        evidence,
        duration: started.elapsed(),
    };
    let Fact::Known(Some(dlq)) = &consumer.dlq else {
        return Ok(outcome(
            Verdict::Inconclusive("the consumer declares no dead-letter subject".into()),
            evidence,
        ));
    };
    let inconclusive = |why: String| Verdict::Inconclusive(why);
    let mut dead_letters = match p.client.subscribe(dlq.clone()).await {
        Ok(s) => s,
        Err(e) => {
            return Ok(outcome(
                inconclusive(format!("subscribing to {dlq}: {e}")),
                evidence,
            ));
        }
    };
    let _ = p.client.flush().await;
    let payload = format!("\u{0}parley poison probe {uuid}: not JSON, not anything {{");
    let mut headers = spec.render(&uuid).headers;
    headers.insert("Nats-Msg-Id".into(), format!("parley-poison-{uuid}"));
    evidence.push(format!(
        "sent: an undecodable message ({} bytes, {:?}) on {}",
        payload.len(),
        payload,
        spec.subject
    ));
    let ack = match publish(
        p,
        &spec.subject,
        &headers,
        payload.clone().into_bytes().into(),
    )
    .await
    {
        Ok(ack) => ack,
        Err(why) => return Ok(outcome(inconclusive(why), evidence)),
    };
    let timeout = p.options.timeout;
    let arrived = tokio::time::timeout(timeout, async {
        while let Some(m) = dead_letters.next().await {
            let in_headers = m.headers.as_ref().is_some_and(|h| {
                h.iter()
                    .any(|(_, values)| values.iter().any(|v| v.as_str().contains(&uuid)))
            });
            if in_headers || String::from_utf8_lossy(&m.payload).contains(&uuid) {
                return Some((m.subject.to_string(), deliveries(m.headers.as_ref())));
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let waited = started.elapsed();
    let info = p.consumer_info(&ack.stream, consumer).await;
    let cleanup = delete(p, &ack.stream, ack.sequence).await;
    let bound = consumer.max_deliver.known().copied().flatten();
    if let Some((subject, count)) = arrived {
        let after = count.map_or_else(String::new, |n| {
            format!(" (delivered {n} time(s), says its header)")
        });
        evidence.push(format!(
            "seen: on the dead-letter subject {subject} after {} ms{after}",
            waited.as_millis()
        ));
        evidence.push(cleanup);
        let (Some(n), Some(max)) = (count, bound) else {
            return Ok(outcome(Verdict::Passed, evidence));
        };
        if n <= max {
            return Ok(outcome(Verdict::Passed, evidence));
        }
        let finding = ExternalFinding {
            rule_id: "PL001",
            element: consumer.label(),
            message: format!(
                "{} dead-lettered a poison message only after {n} deliveries, more than its max_deliver of {max} (poison probe on {})",
                consumer.label(),
                on_server(p)
            ),
            location: consumer.origin.field("max_deliver").cloned(),
            evidence: evidence.clone(),
        };
        return Ok(outcome(Verdict::Failed(finding), evidence));
    }
    let name = consumer
        .durable
        .known()
        .cloned()
        .flatten()
        .unwrap_or_default();
    let (what, seen) = match &info {
        Some(i) => {
            let state = format!(
                "seen: consumer {name} on stream {}: {} message(s) pending acknowledgement, {} redelivered, {} not yet delivered; delivered up to stream sequence {}, acknowledged up to {}; the poison message is sequence {}",
                ack.stream,
                i.num_ack_pending,
                i.num_redelivered,
                i.num_pending,
                i.delivered.stream_sequence,
                i.ack_floor.stream_sequence,
                ack.sequence
            );
            let what = if i.ack_floor.stream_sequence >= ack.sequence {
                "was acknowledged without reaching it: the message is lost".to_string()
            } else if i.delivered.stream_sequence >= ack.sequence && i.num_redelivered > 0 {
                format!(
                    "is still being redelivered after {} ms ({} message(s) redelivered, {} pending acknowledgement)",
                    waited.as_millis(),
                    i.num_redelivered,
                    i.num_ack_pending
                )
            } else if i.delivered.stream_sequence >= ack.sequence {
                format!(
                    "was delivered and is still unacknowledged after {} ms",
                    waited.as_millis()
                )
            } else {
                format!("was not even delivered within {} ms", waited.as_millis())
            };
            (what, state)
        }
        None => (
            format!("did not arrive within {} ms", waited.as_millis()),
            format!(
                "seen: nothing on {dlq}; stream {} holds no durable consumer {name:?} to ask",
                ack.stream
            ),
        ),
    };
    evidence.push(format!(
        "seen: nothing on the dead-letter subject {dlq} within {} ms",
        timeout.as_millis()
    ));
    evidence.push(seen);
    evidence.push(cleanup);
    let bound = match bound {
        Some(n) => format!("within its {n} deliveries"),
        None => "at all".to_string(),
    };
    let finding = ExternalFinding {
        rule_id: "PL001",
        element: consumer.label(),
        message: format!(
            "{} did not dead-letter a poison message {bound}: the message published on {} never reached {dlq} and {what} (poison probe on {})",
            consumer.label(),
            spec.subject,
            on_server(p)
        ),
        location: consumer.origin.field("dlq").cloned(),
        evidence: evidence.clone(),
    };
    Ok(outcome(Verdict::Failed(finding), evidence))
}

/// Deletes the probe's message from its stream (best effort), so that a consumer without a
/// DLQ stops receiving it.
async fn delete(p: &Prober<'_>, stream: &str, sequence: u64) -> String {
    let deleted = match p.js.get_stream_no_info(stream).await {
        Ok(s) => s.delete_message(sequence).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match deleted {
        Ok(_) => {
            format!("cleanup: deleted the probe's message (stream {stream} sequence {sequence})")
        }
        Err(e) => format!(
            "cleanup: could not delete the probe's message (stream {stream} sequence {sequence}): {e}"
        ),
    }
}

/// The delivery count a dead-lettered message states in a header whose name mentions it
/// (`Parley-Delivery-Count`, `X-Delivery-Count`, …), when it does.
fn deliveries(headers: Option<&async_nats::HeaderMap>) -> Option<u64> {
    headers?.iter().find_map(|(name, values)| {
        let name = name.to_string().to_ascii_lowercase();
        (name.contains("delivery-count") || name.contains("deliveries"))
            .then(|| values.first()?.as_str().trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_count_header_is_read_whatever_its_prefix() {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Parley-Delivery-Count", "4");
        assert_eq!(deliveries(Some(&h)), Some(4));
        let mut other = async_nats::HeaderMap::new();
        other.insert("X-Reason", "undecodable");
        assert_eq!(deliveries(Some(&other)), None);
        assert_eq!(deliveries(None), None);
    }
}
