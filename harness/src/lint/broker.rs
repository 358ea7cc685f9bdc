//! The broker's view: the durable consumers a live NATS server holds (JetStream), as a
//! [`ServiceGraph`], and the findings their configuration shows.
//!
//! Read from the server, per durable consumer of every stream: its durable name, filter
//! subject (the stream's subject when it has no filter and the stream one subject, else `>`),
//! `max_deliver` (`-1`: unbounded, `Known(None)`), ack policy. Ephemeral consumers (ordered
//! readers, tools) are left out: they come and go with their process.
//!
//! Which service a consumer belongs to, in this order:
//! 1. the consumer's `description`, when it is one word: the name of the service (the samples
//!    set it; `ConsumerConfig::description` is the one free field nats-server 2.9 keeps);
//! 2. the service of the consumer with the same durable name in the other inputs;
//! 3. else the durable name itself stands for the service.
//!
//! A dead-letter queue cannot be seen on the server (JetStream has none of its own): `dlq` is
//! `Known(Some("dlq.<durable>.<filter>"))` only when a stream captures `dlq.<durable>.>`, the
//! convention of the samples; otherwise it stays unknown and no rule judges it. Idempotency
//! cannot be seen either. What the server holds wins over what a description says about the
//! same consumer: [`findings`] lints the live graph alone, with the consumer rules only (a
//! consumer's producers are not on the server), and says where each finding was seen.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::AckPolicy};
use futures::TryStreamExt;

use super::graph::{
    Ack, Consumer, Fact, Origin, Service, ServiceGraph, ServiceKind, subjects_overlap,
};
use super::probe::connect_nats;
use super::{Config, ErrorKind, ExternalFinding, LintError};

/// The rules whose facts the server holds (a consumer's deliveries, DLQ, ack).
const CONSUMER_RULES: [&str; 2] = ["PL001", "PL014"];

/// Reads every stream's durable consumers from the NATS server at `url`. `known` (the other
/// inputs' graph) names the services of consumers whose description does not. Each consumer's
/// `description` says where it was seen and how it is configured (`seen on the NATS server at
/// URL, stream S, consumer D; filter …, max_deliver …, ack …, ack_wait …`).
/// A server that cannot be reached, or that has no JetStream, is [`ErrorKind::Unreachable`].
pub async fn graph_from_jetstream(
    url: &str,
    known: Option<&ServiceGraph>,
) -> Result<ServiceGraph, LintError> {
    let client = connect_nats(url).await?;
    let js = jetstream::new(client);
    let unreachable = |what: &str, e: &dyn std::fmt::Display| {
        LintError::new(
            ErrorKind::Unreachable,
            format!("cannot read {what} from the NATS server at {url}: {e}"),
        )
    };
    let streams: Vec<jetstream::stream::Info> =
        tokio::time::timeout(Duration::from_secs(10), js.streams().try_collect())
            .await
            .map_err(|e| unreachable("the JetStream streams", &e))?
            .map_err(|e| unreachable("the JetStream streams", &e))?;
    let mut graph = ServiceGraph::default();
    for stream in &streams {
        let name = &stream.config.name;
        let handle = js
            .get_stream_no_info(name)
            .await
            .map_err(|e| unreachable(&format!("stream {name}"), &e))?;
        let consumers: Vec<jetstream::consumer::Info> = handle
            .consumers()
            .try_collect()
            .await
            .map_err(|e| unreachable(&format!("the consumers of stream {name}"), &e))?;
        for info in consumers {
            let config = &info.config;
            let Some(durable) = config.durable_name.clone().filter(|d| !d.is_empty()) else {
                continue;
            };
            let subject = if !config.filter_subject.is_empty() {
                config.filter_subject.clone()
            } else if let [only] = stream.config.subjects.as_slice() {
                only.clone()
            } else {
                ">".to_string()
            };
            let service = service_of(config.description.as_deref(), &durable, known);
            let dead_letters = format!("dlq.{durable}.>");
            let dlq = streams
                .iter()
                .any(|s| {
                    s.config
                        .subjects
                        .iter()
                        .any(|sub| subjects_overlap(sub, &dead_letters))
                })
                .then(|| format!("dlq.{durable}.{subject}"));
            let max_deliver = (config.max_deliver > 0).then_some(config.max_deliver as u64);
            graph.add_service(Service {
                name: service.clone(),
                kind: ServiceKind::Service,
                ..Service::default()
            });
            graph.consumers.push(Consumer {
                service,
                subject,
                durable: Fact::Known(Some(durable.clone())),
                max_deliver: Fact::Known(max_deliver),
                dlq: dlq.map_or(Fact::Unknown, |d| Fact::Known(Some(d))),
                idempotency_key: Fact::Unknown,
                ack: Fact::Known(match config.ack_policy {
                    AckPolicy::Explicit => Ack::Explicit,
                    AckPolicy::All => Ack::All,
                    AckPolicy::None => Ack::None,
                }),
                description: Some(format!(
                    "seen on the NATS server at {url}, stream {name}, consumer {durable}; filter {}, max_deliver {}, ack {}, ack_wait {} ms",
                    if config.filter_subject.is_empty() { "none" } else { &config.filter_subject },
                    config.max_deliver,
                    format!("{:?}", config.ack_policy).to_lowercase(),
                    config.ack_wait.as_millis()
                )),
                probe: None,
                origin: Origin::default(),
            });
        }
    }
    Ok(graph)
}

/// The service a consumer belongs to (see the module's documentation).
fn service_of(description: Option<&str>, durable: &str, known: Option<&ServiceGraph>) -> String {
    if let Some(d) = description.map(str::trim)
        && !d.is_empty()
        && !d.contains(char::is_whitespace)
    {
        return d.to_string();
    }
    known
        .and_then(|g| {
            g.consumers
                .iter()
                .find(|c| c.durable.known().and_then(|d| d.as_deref()) == Some(durable))
        })
        .map_or_else(|| durable.to_string(), |c| c.service.clone())
}

/// The findings of the consumer rules (PL001, PL014) on the live graph, each saying where it
/// was seen, for [`super::lint_with_findings`] (which applies the configuration).
pub fn findings(live: &ServiceGraph) -> Vec<ExternalFinding> {
    let report = super::lint(live, &Config::default(), Vec::new());
    report
        .findings
        .into_iter()
        .filter(|f| CONSUMER_RULES.contains(&f.rule_id))
        .map(|f| {
            let seen = live
                .consumers
                .iter()
                .find(|c| c.label() == f.element)
                .and_then(|c| c.description.clone())
                .unwrap_or_default();
            let place = seen.split("; ").next().unwrap_or_default().to_string();
            ExternalFinding {
                rule_id: f.rule_id,
                element: f.element,
                message: format!("{} ({place})", f.message),
                location: None,
                evidence: vec![seen],
            }
        })
        .collect()
}

/// [`graph_from_jetstream`] and [`findings`] in one call.
pub async fn lint_jetstream(
    url: &str,
    known: Option<&ServiceGraph>,
) -> Result<(ServiceGraph, Vec<ExternalFinding>), LintError> {
    let live = graph_from_jetstream(url, known).await?;
    let found = findings(&live);
    Ok((live, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_the_service_else_the_durable_name_does() {
        let mut g = ServiceGraph::default();
        let mut c = Consumer::new("payment-service", "orders.created");
        c.durable = Fact::Known(Some("pay".into()));
        g.consumers.push(c);
        assert_eq!(
            service_of(Some("notification-service"), "n", None),
            "notification-service"
        );
        assert_eq!(
            service_of(Some("a free text"), "pay", Some(&g)),
            "payment-service"
        );
        assert_eq!(service_of(None, "other", Some(&g)), "other");
    }

    #[test]
    fn unbounded_redelivery_seen_on_the_server_is_pl001_with_where() {
        let mut live = ServiceGraph::default();
        live.add_service(Service::new("n", ServiceKind::Service));
        let mut c = Consumer::new("n", "orders.>");
        c.durable = Fact::Known(Some("n-orders".into()));
        c.max_deliver = Fact::Known(None);
        c.dlq = Fact::Known(Some("dlq.n-orders.orders.>".into()));
        c.ack = Fact::Known(Ack::Explicit);
        c.description = Some(
            "seen on the NATS server at nats://x:1, stream ORDERS, consumer n-orders; max_deliver -1"
                .into(),
        );
        live.consumers.push(c);
        let found = findings(&live);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule_id, "PL001");
        assert!(
            found[0].message.ends_with(
                "(seen on the NATS server at nats://x:1, stream ORDERS, consumer n-orders)"
            ),
            "{}",
            found[0].message
        );
        assert!(found[0].location.is_none());
    }
}
