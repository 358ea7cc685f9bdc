//! Active probes: what a consumer really does with a duplicate and with a poison message,
//! against running services and a running NATS server.
//!
//! What to probe comes from the description: a consumer's `probe:` block ([`ProbeSpec`], see
//! `ARCHITECTURE_YAML.md`). Where: [`ProbeTargets`], the NATS URL and each service's base URL
//! (the binary's `--nats-url` and `--service NAME=URL`).
//!
//! - [`duplicate`]: publishes a valid event, waits until the consumer has acknowledged it and
//!   its state (read with the block's `GET` query) has settled, publishes the same event again
//!   and compares. A state that changed again is PL002, with both copies and the three states.
//! - [`poison`]: publishes an undecodable message and waits (bounded) for it on the consumer's
//!   dead-letter subject. Not there is PL001, with the consumer's pending and redelivered
//!   counts from the server.
//!
//! Probes change state: they publish real events (with fresh IDs) that the consumer and its
//! downstreams act on. Run them against a test or staging system. A poison message is deleted
//! from its stream once its probe is over, so that a consumer that redelivers it for ever
//! stops.
//!
//! [`run`] returns one [`ProbeOutcome`] per probe; [`findings`] turns the failed ones into
//! [`ExternalFinding`]s for [`crate::lint::lint_with_findings`].

pub mod duplicate;
pub mod poison;
pub mod spec;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;

pub use spec::{Compare, ProbeDoc, ProbeSpec, StateQuery};

use super::graph::{Consumer, Fact, ServiceGraph};
use super::{ErrorKind, ExternalFinding, LintError};

/// Where the probes go.
#[derive(Clone, Debug, Default)]
pub struct ProbeTargets {
    /// `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// Base URLs by service name (`payment-service` → `http://127.0.0.1:8081`).
    pub services: BTreeMap<String, String>,
}

/// How long probes wait.
#[derive(Clone, Copy, Debug)]
pub struct ProbeOptions {
    /// The longest wait of each step: for the consumer to acknowledge, for its state to settle,
    /// for a poison message to reach the dead-letter subject. Choose it above the consumer's
    /// whole redelivery schedule (the samples: 100 ms + 400 ms of NAK delays, so 3 s is ample).
    pub timeout: Duration,
    /// Between two reads of the state (it has settled when two reads agree).
    pub poll: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(200),
        }
    }
}

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Duplicate,
    Poison,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Duplicate => "duplicate delivery",
            ProbeKind::Poison => "poison message",
        }
    }
}

/// What a probe concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The consumer behaved.
    Passed,
    /// It did not: the finding to report.
    Failed(ExternalFinding),
    /// Nothing to conclude (the first delivery changed nothing observable, the copy was
    /// de-duplicated by the server, …): why.
    Inconclusive(String),
}

/// One probe of one consumer.
#[derive(Clone, Debug)]
pub struct ProbeOutcome {
    /// The consumer's label (`payment-service on orders.created (durable …)`).
    pub consumer: String,
    pub kind: ProbeKind,
    pub verdict: Verdict,
    /// What was sent and seen, whatever the verdict.
    pub evidence: Vec<String>,
    pub duration: Duration,
}

impl fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match &self.verdict {
            Verdict::Passed => "passed".to_string(),
            Verdict::Failed(x) => format!("failed ({})", x.rule_id),
            Verdict::Inconclusive(why) => format!("inconclusive: {why}"),
        };
        write!(
            f,
            "{} probe of {}: {verdict} ({} ms)",
            self.kind.as_str(),
            self.consumer,
            self.duration.as_millis()
        )
    }
}

/// The findings of the probes that failed.
pub fn findings(outcomes: &[ProbeOutcome]) -> Vec<ExternalFinding> {
    outcomes
        .iter()
        .filter_map(|o| match &o.verdict {
            Verdict::Failed(x) => Some(x.clone()),
            _ => None,
        })
        .collect()
}

/// The consumers with a probe and the targets they need: a URL for every state query's
/// service. A missing one is a configuration error ([`ErrorKind::Config`]).
fn planned<'g>(
    graph: &'g ServiceGraph,
    targets: &ProbeTargets,
) -> Result<Vec<(&'g Consumer, &'g ProbeSpec)>, LintError> {
    let mut plan = Vec::new();
    for c in &graph.consumers {
        let Some(spec) = &c.probe else { continue };
        if spec.duplicate
            && let Some(state) = &spec.state
            && !targets.services.contains_key(&state.service)
        {
            return Err(LintError::new(
                ErrorKind::Config,
                format!(
                    "the duplicate probe of {} reads its state from {}: give its base URL with --service {}=URL",
                    c.label(),
                    state.service,
                    state.service
                ),
            ));
        }
        if spec.duplicate || spec.poison {
            plan.push((c, spec));
        }
    }
    Ok(plan)
}

/// Runs every probe the graph's consumers declare, one after the other (a duplicate probe,
/// then a poison probe, consumer by consumer). NATS or a service that cannot be reached is an
/// [`ErrorKind::Unreachable`] error; a service with no URL in `targets`, [`ErrorKind::Config`].
pub async fn run(
    graph: &ServiceGraph,
    targets: &ProbeTargets,
    options: &ProbeOptions,
) -> Result<Vec<ProbeOutcome>, LintError> {
    let plan = planned(graph, targets)?;
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let probe = Prober::connect(targets, *options).await?;
    let mut outcomes = Vec::new();
    for (consumer, spec) in plan {
        if spec.duplicate {
            outcomes.push(duplicate::run(&probe, consumer, spec).await?);
        }
        if spec.poison {
            outcomes.push(poison::run(&probe, consumer, spec).await?);
        }
    }
    Ok(outcomes)
}

/// What every probe uses: NATS, HTTP, the targets and the options.
pub(crate) struct Prober<'t> {
    pub nats_url: &'t str,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub http: reqwest::Client,
    pub targets: &'t ProbeTargets,
    pub options: ProbeOptions,
}

/// Connects to NATS with a bounded wait; a failure is [`ErrorKind::Unreachable`].
pub(crate) async fn connect_nats(url: &str) -> Result<async_nats::Client, LintError> {
    async_nats::ConnectOptions::new()
        .name("parley lint")
        .connection_timeout(Duration::from_secs(3))
        .connect(url)
        .await
        .map_err(|e| {
            LintError::new(
                ErrorKind::Unreachable,
                format!("cannot reach the NATS server at {url}: {e}"),
            )
        })
}

impl<'t> Prober<'t> {
    async fn connect(targets: &'t ProbeTargets, options: ProbeOptions) -> Result<Self, LintError> {
        let client = connect_nats(&targets.nats_url).await?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout.max(Duration::from_secs(1)))
            .build()
            .map_err(|e| LintError::new(ErrorKind::Config, format!("HTTP client: {e}")))?;
        Ok(Prober {
            nats_url: &targets.nats_url,
            js: jetstream::new(client.clone()),
            client,
            http,
            targets,
            options,
        })
    }

    /// Reads a state: `GET base + path`, the body as JSON when it is JSON, else as text. A
    /// service that does not answer is unreachable; a status other than 2xx is a state too.
    pub async fn read_state(&self, service: &str, path: &str) -> Result<Value, LintError> {
        let base = self.targets.services.get(service).ok_or_else(|| {
            LintError::new(
                ErrorKind::Config,
                format!("no URL for {service}: give it with --service {service}=URL"),
            )
        })?;
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let response = self.http.get(&url).send().await.map_err(|e| {
            LintError::new(
                ErrorKind::Unreachable,
                format!("cannot read the state of {service} at {url}: {e}"),
            )
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            LintError::new(
                ErrorKind::Unreachable,
                format!("cannot read the state of {service} at {url}: {e}"),
            )
        })?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            Ok(body)
        } else {
            Ok(serde_json::json!({ "status": status.as_u16(), "body": body }))
        }
    }

    /// The server's view of a durable consumer on `stream`, when there is one.
    pub async fn consumer_info(
        &self,
        stream: &str,
        consumer: &Consumer,
    ) -> Option<jetstream::consumer::Info> {
        let Fact::Known(Some(durable)) = &consumer.durable else {
            return None;
        };
        let stream = self.js.get_stream_no_info(stream).await.ok()?;
        stream.consumer_info(durable).await.ok()
    }

    /// Waits until the consumer's acknowledgement floor reaches `sequence` (it has acknowledged
    /// the message and every one before it); `false` when the wait ran out or the consumer is
    /// not known to the server.
    pub async fn wait_acked(&self, stream: &str, consumer: &Consumer, sequence: u64) -> bool {
        let deadline = Instant::now() + self.options.timeout;
        loop {
            match self.consumer_info(stream, consumer).await {
                Some(info) if info.ack_floor.stream_sequence >= sequence => return true,
                Some(_) if Instant::now() < deadline => {}
                _ => return false,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A state for a message: JSON, cut at `limit` characters.
pub(crate) fn show(v: &Value, limit: usize) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= limit {
        text
    } else {
        let cut: String = text.chars().take(limit).collect();
        format!("{cut}… ({} characters)", text.chars().count())
    }
}

/// Where a finding's probe was run, for its message.
pub(crate) fn on_server(p: &Prober<'_>) -> String {
    format!("the NATS server at {}", p.nats_url)
}

/// Publishes to JetStream and waits for the stream's acknowledgement; `Err` says why the
/// message was not stored (no stream captures the subject, …).
pub(crate) async fn publish(
    p: &Prober<'_>,
    subject: &str,
    headers: &BTreeMap<String, String>,
    payload: bytes::Bytes,
) -> Result<jetstream::publish::PublishAck, String> {
    let mut map = async_nats::HeaderMap::new();
    for (k, v) in headers {
        map.insert(k.as_str(), v.as_str());
    }
    let ack =
        p.js.publish_with_headers(subject.to_string(), map, payload)
            .await
            .map_err(|e| format!("publishing on {subject}: {e}"))?;
    tokio::time::timeout(p.options.timeout, ack)
        .await
        .map_err(|_| format!("no stream acknowledged the message on {subject}"))?
        .map_err(|e| format!("no stream stored the message on {subject}: {e}"))
}

/// The headers, for evidence.
pub(crate) fn show_headers(headers: &BTreeMap<String, String>) -> String {
    headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
