//! JetStream messaging shared by every service: the topology, traced publishing, and durable
//! pull consumers with explicit ack, backoff, bounded redelivery and a dead-letter queue.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use bytes::Bytes;
use futures::StreamExt;
use opentelemetry::trace::TraceContextExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::propagation::{Outbound, cid, extract_nats, new_correlation_id, with_correlation};

/// The JetStream streams of the samples, and the subjects each holds.
pub const STREAMS: [(&str, &str); 6] = [
    ("ORDERS", "orders.>"),
    ("PAYMENTS", "payments.>"),
    ("INVENTORY", "inventory.>"),
    ("SHIPPING", "shipping.>"),
    ("ORDER_EVENTS", "order-events.>"),
    ("DLQ", "dlq.>"),
];

/// Headers a dead-lettered message carries besides its original ones.
pub const DLQ_ORIGINAL_SUBJECT: &str = "Parley-Original-Subject";
pub const DLQ_DELIVERY_COUNT: &str = "Parley-Delivery-Count";
pub const DLQ_ERROR: &str = "Parley-Error";
pub const DLQ_CONSUMER: &str = "Parley-Consumer";
pub const DLQ_ORIGINAL_SEQUENCE: &str = "Parley-Original-Sequence";
pub const DLQ_ORIGINAL_MSG_ID: &str = "Parley-Original-Msg-Id";

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("JetStream {what}: {detail}")]
    JetStream { what: String, detail: String },
    #[error("{subject} changed since it was read (another writer came first)")]
    Conflict { subject: String },
    #[error("could not encode the message for {subject}: {detail}")]
    Encode { subject: String, detail: String },
}

fn js_err(what: impl Into<String>) -> impl FnOnce(&dyn std::fmt::Display) -> MessagingError {
    let what = what.into();
    move |e| MessagingError::JetStream {
        what,
        detail: e.to_string(),
    }
}

/// Connects and makes sure every stream of [`STREAMS`] exists.
pub async fn connect(url: &str, service: &str) -> Result<jetstream::Context, MessagingError> {
    let client = async_nats::ConnectOptions::new()
        .name(service)
        .connect(url)
        .await
        .map_err(|source| MessagingError::Connect {
            url: url.to_string(),
            source,
        })?;
    let js = jetstream::new(client);
    for (name, subjects) in STREAMS {
        js.get_or_create_stream(stream::Config {
            name: name.to_string(),
            subjects: vec![subjects.to_string()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(24 * 3600),
            duplicate_window: Duration::from_secs(120),
            allow_direct: true,
            ..Default::default()
        })
        .await
        .map_err(|e| js_err(format!("creating stream {name}"))(&e))?;
    }
    Ok(js)
}

/// Publishes events with a producer span, the trace context and correlation ID in the headers,
/// and `Nats-Msg-Id` for JetStream's de-duplication. Waits for the stream's ack.
#[derive(Clone)]
pub struct Publisher {
    js: jetstream::Context,
    outbound: Outbound,
    /// The service publishing and consuming; its consumers carry it as their description.
    service: Option<String>,
}

impl Publisher {
    pub fn new(js: jetstream::Context, outbound: Outbound) -> Self {
        Publisher {
            js,
            outbound,
            service: None,
        }
    }

    /// Names the service: the consumers it creates say so in their `description`, which is how
    /// `parley lint --nats-url` tells whose consumer it sees on the server.
    pub fn for_service(mut self, service: &str) -> Self {
        self.service = Some(service.to_string());
        self
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        msg_id: &str,
        payload: &T,
    ) -> Result<u64, MessagingError> {
        let bytes = serde_json::to_vec(payload).map_err(|e| MessagingError::Encode {
            subject: subject.to_string(),
            detail: e.to_string(),
        })?;
        self.publish_raw(subject, msg_id, HeaderMap::new(), Bytes::from(bytes), true)
            .await
    }

    /// Publishes `payload` under `headers`; with `inject`, the current context and correlation
    /// ID are added (a dead-lettered message keeps its original ones instead).
    pub async fn publish_raw(
        &self,
        subject: &str,
        msg_id: &str,
        mut headers: HeaderMap,
        payload: Bytes,
        inject: bool,
    ) -> Result<u64, MessagingError> {
        let span = tracing::info_span!(
            "messaging.publish",
            otel.name = format!("publish {subject}"),
            otel.kind = "producer",
            otel.status_code = tracing::field::Empty,
            messaging.system = "nats",
            messaging.destination.name = %subject,
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.message.id = %msg_id,
            messaging.message.body.size = payload.len() as i64,
            correlation.id = %cid(),
        );
        if inject {
            self.outbound.inject_nats(&span, &mut headers);
        }
        headers.insert("Nats-Msg-Id", msg_id);
        let result = async {
            let ack = self
                .js
                .publish_with_headers(subject.to_string(), headers, payload)
                .await
                .map_err(|e| js_err(format!("publishing to {subject}"))(&e))?
                .await
                .map_err(|e| js_err(format!("ack for {subject}"))(&e))?;
            Ok(ack.sequence)
        }
        .instrument(span.clone())
        .await;
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            let _enter = span.enter();
            tracing::error!(error = %e, "publish failed");
        }
        result
    }
}

/// A durable pull consumer and what to do with failures.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    pub stream: &'static str,
    pub durable: String,
    pub filter: String,
    /// Deliveries before a failing message is dead-lettered; `-1` is unbounded.
    pub max_deliver: i64,
    /// Redelivery after an unacknowledged delivery.
    pub ack_wait: Duration,
    /// Server-side backoff for unacknowledged redeliveries (shorter than `max_deliver`).
    pub backoff: Vec<Duration>,
    /// Delay of a negative acknowledgement, by delivery attempt (the last repeats).
    pub nak_delays: Vec<Duration>,
    /// Whether failed messages go to the DLQ stream (`dlq.<durable>.<subject>`).
    pub dlq: bool,
    pub concurrency: usize,
}

impl ConsumerSpec {
    /// The samples' standard: three deliveries, failures negatively acknowledged with an
    /// exponential delay (100 ms, then 400 ms), then the DLQ. A delivery left unacknowledged
    /// (a crashed handler) comes back after `ack_wait`.
    ///
    /// Server-side `backoff` stays off: with it, nats-server 2.9 ignores the delay of every NAK
    /// after the first and redelivers on the backoff schedule instead (seen in the poison test).
    pub fn standard(stream: &'static str, durable: &str, filter: &str) -> Self {
        ConsumerSpec {
            stream,
            durable: durable.to_string(),
            filter: filter.to_string(),
            max_deliver: 3,
            ack_wait: Duration::from_secs(10),
            backoff: Vec::new(),
            nak_delays: vec![Duration::from_millis(100), Duration::from_millis(400)],
            dlq: true,
            concurrency: 8,
        }
    }

    /// The `no-dlq` defect: unbounded redelivery and no dead-letter queue.
    pub fn without_dlq(mut self) -> Self {
        self.max_deliver = -1;
        self.backoff.clear();
        self.dlq = false;
        self
    }

    fn nak_delay(&self, delivered: i64) -> Duration {
        let index = usize::try_from(delivered.max(1) - 1).unwrap_or(0);
        self.nak_delays
            .get(index)
            .or(self.nak_delays.last())
            .copied()
            .unwrap_or(Duration::from_millis(100))
    }
}

/// One delivery of a message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subject: String,
    pub payload: Bytes,
    pub headers: Option<HeaderMap>,
    pub delivered: i64,
    pub stream_sequence: u64,
    pub message_id: Option<String>,
}

impl Delivery {
    /// Decodes the JSON payload; an undecodable message is poison.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Outcome> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Outcome::Poison(format!("undecodable payload on {}: {e}", self.subject)))
    }
}

/// What a handler made of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed (or already processed): acknowledge.
    Done,
    /// Failed, perhaps transiently: redeliver with backoff, dead-letter after `max_deliver`.
    Retry(String),
    /// Can never succeed (e.g. undecodable): dead-letter now.
    Poison(String),
}

/// Creates (or binds to) the durable consumer and processes its messages until the process
/// ends. Returns once the consumer exists, so that no message published afterwards is missed.
pub async fn spawn_consumer<H, F>(
    publisher: Publisher,
    spec: ConsumerSpec,
    handler: H,
) -> Result<tokio::task::JoinHandle<()>, MessagingError>
where
    H: Fn(Delivery) -> F + Send + Sync + 'static,
    F: Future<Output = Outcome> + Send,
{
    let stream = publisher
        .js
        .get_stream(spec.stream)
        .await
        .map_err(|e| js_err(format!("stream {}", spec.stream))(&e))?;
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            &spec.durable,
            pull::Config {
                durable_name: Some(spec.durable.clone()),
                description: publisher.service.clone(),
                filter_subject: spec.filter.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: spec.ack_wait,
                max_deliver: spec.max_deliver,
                backoff: spec.backoff.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| js_err(format!("consumer {}", spec.durable))(&e))?;
    let handler = Arc::new(handler);
    let spec = Arc::new(spec);
    Ok(tokio::spawn(async move {
        loop {
            let messages = match consumer.messages().await {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(consumer = %spec.durable, error = %e, "cannot pull; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            messages
                .for_each_concurrent(spec.concurrency, |message| {
                    let handler = Arc::clone(&handler);
                    let spec = Arc::clone(&spec);
                    let publisher = publisher.clone();
                    async move {
                        match message {
                            Ok(message) => {
                                process(&publisher, &spec, handler.as_ref(), message).await
                            }
                            Err(e) => {
                                tracing::warn!(consumer = %spec.durable, error = %e, "pull error")
                            }
                        }
                    }
                })
                .await;
        }
    }))
}

async fn process<H, F>(
    publisher: &Publisher,
    spec: &ConsumerSpec,
    handler: &H,
    message: jetstream::Message,
) where
    H: Fn(Delivery) -> F,
    F: Future<Output = Outcome>,
{
    let (delivered, stream_sequence) = message
        .info()
        .map(|i| (i.delivered, i.stream_sequence))
        .unwrap_or((1, 0));
    let (parent, correlation) = extract_nats(message.headers.as_ref());
    let correlation = correlation.unwrap_or_else(new_correlation_id);
    let message_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_string());
    let subject = message.subject.to_string();
    let span = tracing::info_span!(
        "messaging.process",
        otel.name = format!("process {subject}"),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "nats",
        messaging.destination.name = %subject,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.consumer.group.name = %spec.durable,
        messaging.message.id = message_id.as_deref().unwrap_or_default(),
        messaging.nats.message.delivery_count = delivered,
        messaging.nats.stream.sequence = stream_sequence as i64,
        parley.outcome = tracing::field::Empty,
        correlation.id = %correlation,
    );
    // Parent and link both point at the producer (the link is what the messaging conventions
    // require; the parent keeps the request's trace one tree). Set before the span starts.
    let producer = parent.span().span_context().clone();
    if producer.is_valid() {
        let _ = span.set_parent(parent);
        span.add_link(producer);
    }
    let delivery = Delivery {
        subject: subject.clone(),
        payload: message.payload.clone(),
        headers: message.headers.clone(),
        delivered,
        stream_sequence,
        message_id,
    };
    let outcome = with_correlation(correlation.clone(), handler(delivery.clone()))
        .instrument(span.clone())
        .await;
    let settle = async {
        let (label, result) = match &outcome {
            Outcome::Done => ("done", message.ack().await),
            Outcome::Retry(reason)
                if !spec.dlq || spec.max_deliver < 0 || delivered < spec.max_deliver =>
            {
                tracing::warn!(delivered, %reason, "processing failed; will be redelivered");
                (
                    "retry",
                    message
                        .ack_with(AckKind::Nak(Some(spec.nak_delay(delivered))))
                        .await,
                )
            }
            Outcome::Poison(reason) if !spec.dlq => {
                tracing::warn!(delivered, %reason, "poison message, no DLQ: will be redelivered");
                (
                    "retry",
                    message
                        .ack_with(AckKind::Nak(Some(spec.nak_delay(delivered))))
                        .await,
                )
            }
            Outcome::Retry(reason) | Outcome::Poison(reason) => {
                match dead_letter(publisher, spec, &delivery, reason).await {
                    Ok(()) => ("dead-lettered", message.ack_with(AckKind::Term).await),
                    Err(e) => {
                        tracing::error!(error = %e, "could not dead-letter; will be redelivered");
                        (
                            "retry",
                            message
                                .ack_with(AckKind::Nak(Some(spec.nak_delay(delivered))))
                                .await,
                        )
                    }
                }
            }
        };
        tracing::Span::current().record("parley.outcome", label);
        if label != "done" {
            tracing::Span::current().record("otel.status_code", "ERROR");
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "acknowledgement failed; the server will redeliver");
        }
    };
    with_correlation(correlation, settle).instrument(span).await;
}

/// Moves a failed message to `dlq.<durable>.<subject>` with its original headers and payload,
/// plus where it came from, how often it was delivered and why it failed.
async fn dead_letter(
    publisher: &Publisher,
    spec: &ConsumerSpec,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), MessagingError> {
    let mut headers = delivery.headers.clone().unwrap_or_default();
    headers.insert(DLQ_ORIGINAL_SUBJECT, delivery.subject.as_str());
    headers.insert(DLQ_DELIVERY_COUNT, delivery.delivered.to_string().as_str());
    headers.insert(DLQ_ERROR, reason.replace(['\r', '\n'], " ").as_str());
    headers.insert(DLQ_CONSUMER, spec.durable.as_str());
    headers.insert(
        DLQ_ORIGINAL_SEQUENCE,
        delivery.stream_sequence.to_string().as_str(),
    );
    if let Some(id) = &delivery.message_id {
        headers.insert(DLQ_ORIGINAL_MSG_ID, id.as_str());
    }
    let subject = format!("dlq.{}.{}", spec.durable, delivery.subject);
    let msg_id = format!(
        "dlq-{}-{}-{}",
        spec.stream, spec.durable, delivery.stream_sequence
    );
    tracing::warn!(%subject, delivered = delivery.delivered, %reason, "dead-lettering");
    publisher
        .publish_raw(&subject, &msg_id, headers, delivery.payload.clone(), false)
        .await
        .map(|_| ())
}
