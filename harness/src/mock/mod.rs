//! A mock provider built from contracts, so that consumer tests run without the provider.
//!
//! [`MockServer::start`] serves every HTTP interaction of the selected contracts (optionally
//! only one provider's, only one consumer's) over HTTP, and publishes their events to NATS on
//! request.
//!
//! **Answering a request.** The request is matched against every HTTP interaction's request
//! with [`match_request`](parley_contracts::matching::match_request) (provider states play no
//! part). Among the interactions that match without a mismatch, a request header
//! `x-parley-state: NAME` prefers those with that provider state (ignored when none of them
//! has it); then the most specific one wins (the most values stated: query and header values,
//! body leaves; then the fewest matching rules), then the first. The answer is that interaction's response: status, headers and
//! body as the contract's examples, with Pact generators applied ([`generate`]), and a header
//! `x-parley-interaction` naming the interaction. A request that matches nothing gets `500`
//! with a JSON body naming the closest interaction and its mismatches (structured and
//! rendered), and is recorded as unmatched.
//!
//! **Control endpoints** (never matched against the contracts):
//! - `GET /__parley/verify`: `{"ok", "unmatched": [requests], "unexercised": [descriptions],
//!   "unexercised_interactions": [details], "interactions", "matched_requests"}`; status
//!   **200 when ok, 409 otherwise** (so `curl --fail` fails a consumer test run). `ok` means
//!   no unmatched request came in and every interaction was exercised: every HTTP interaction
//!   answered at least once, and, when the mock has NATS, every event published at least once.
//! - `POST /__parley/reset`: forgets what was exercised and the unmatched requests (`204`).
//! - `POST /__parley/publish` with an optional JSON body `{"description", "subject",
//!   "consumer", "correlationId"}` (all optional; the subject may hold NATS wildcards):
//!   publishes the selected events' example payloads (generators applied) with core NATS,
//!   their metadata as headers, and `x-correlation-id` when given (in the body or as a request
//!   header); answers `{"published": [...]}`. `404` when no event matches, `503` when the mock
//!   has no NATS, `400` for a malformed body.
//! - `GET /__parley/interactions`: what the mock serves, and how often each was exercised.

mod datetime;
pub mod generate;
mod publish;
pub mod random;
mod regex_gen;
mod server;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parley_contracts::{Contract, Interaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use server::{EventEntry, HttpEntry};

/// The request header that chooses among several matching interactions by provider state.
pub const STATE_HEADER: &str = "x-parley-state";
/// The response header naming the interaction that answered.
pub const INTERACTION_HEADER: &str = "x-parley-interaction";
/// The header a published event carries its correlation ID in.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// Where the control endpoints live.
pub const CONTROL_PREFIX: &str = "/__parley/";

/// How long stopping waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long connecting to NATS may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to serve and where.
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// Where to listen (port 0: any free port; [`MockServer::addr`] says which).
    pub listen: SocketAddr,
    /// Only contracts with this provider.
    pub provider: Option<String>,
    /// Only contracts with this consumer.
    pub consumer: Option<String>,
    /// NATS to publish events to (`POST /__parley/publish`); without it, events are not
    /// served and do not count as unexercised.
    pub nats_url: Option<String>,
}

impl Default for MockOptions {
    /// Any free port on 127.0.0.1, every contract, no NATS.
    fn default() -> Self {
        MockOptions {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            provider: None,
            consumer: None,
            nats_url: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The filters leave nothing to serve (a usage error).
    #[error("{0}")]
    NothingSelected(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("NATS at {url} is unreachable: {reason}")]
    Nats { url: String, reason: String },
}

/// HTTP interaction or event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Http,
    Event,
}

/// One interaction the mock serves, as reports name it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionRef {
    pub description: String,
    pub consumer: String,
    pub provider: String,
    pub kind: Kind,
    /// `POST /api/charge` or the event's subject.
    pub summary: String,
    /// Its provider states' names.
    pub states: Vec<String>,
    /// Where it was written (`file:line:column`), when known.
    pub location: Option<String>,
    /// How often it was exercised (requests answered, or times published).
    pub exercised: u64,
}

/// One mismatch, as the control endpoints report it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MismatchView {
    pub part: String,
    pub path: String,
    pub rule: Option<String>,
    pub expected: String,
    pub actual: String,
    pub message: String,
}

/// The interaction closest to a request that matched none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Closest {
    pub description: String,
    pub consumer: String,
    pub provider: String,
    pub mismatches: Vec<MismatchView>,
    /// [`render_mismatches`](parley_contracts::matching::render_mismatches): numbered, with
    /// diffs.
    pub report: String,
}

/// A request that matched no interaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnmatchedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// JSON as JSON, text as a string, anything else described.
    pub body: Option<Value>,
    pub closest: Option<Closest>,
}

/// What the mock saw: the verdict of `GET /__parley/verify` and of stopping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MockReport {
    /// No unmatched request, and every interaction exercised.
    pub ok: bool,
    pub unmatched: Vec<UnmatchedRequest>,
    /// Unmatched requests not kept (only the first 1000 are).
    pub unmatched_dropped: u64,
    /// The descriptions of the interactions not exercised.
    pub unexercised: Vec<String>,
    pub unexercised_interactions: Vec<InteractionRef>,
    /// How many interactions count (HTTP, plus events when the mock has NATS).
    pub interactions: usize,
    /// Requests answered from a contract.
    pub matched_requests: u64,
}

/// What `POST /__parley/publish` (or [`MockServer::publish`]) publishes: the events matching
/// every field given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The event's description, exactly.
    pub description: Option<String>,
    /// The subject, or a NATS pattern (`orders.*`, `orders.>`).
    pub subject: Option<String>,
    /// Only this consumer's contracts.
    pub consumer: Option<String>,
    /// Sent as `x-correlation-id` (replacing the example's).
    #[serde(alias = "correlationId", alias = "correlation-id")]
    pub correlation_id: Option<String>,
}

/// One message published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub description: String,
    pub consumer: String,
    pub provider: String,
    pub subject: String,
    pub headers: BTreeMap<String, Vec<String>>,
    /// The payload: JSON, or a string for text.
    pub payload: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the mock has no NATS to publish to (start it with a NATS URL)")]
    NoNats,
    #[error("no event matches {filter}; the events: {}", if .available.is_empty() { "none".to_string() } else { .available.join("; ") })]
    NothingMatches {
        filter: String,
        available: Vec<String>,
    },
    #[error("publishing failed: {0}")]
    Nats(String),
}

/// What happens, as it happens (for a live log).
#[derive(Clone, Debug, PartialEq)]
pub enum MockEvent {
    /// A request answered from the contract.
    Served {
        method: String,
        path: String,
        status: u16,
        description: String,
    },
    /// A request that matched nothing (answered 500).
    Unmatched {
        method: String,
        path: String,
        /// The closest interaction and how many mismatches it had.
        closest: Option<(String, usize)>,
    },
    Published {
        subject: String,
        description: String,
    },
    Reset,
}

/// A running mock. Dropping it stops the server abruptly; [`MockServer::shutdown`] stops it
/// gracefully and returns the final report.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Selects the interactions, binds `options.listen`, connects to NATS when asked, and
    /// serves until [`shutdown`](Self::shutdown). Requests are accepted once this returns.
    pub async fn start(contracts: &[Contract], options: MockOptions) -> Result<Self, MockError> {
        let (http, events) = select(contracts, &options)?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| MockError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: options.listen,
            source,
        })?;
        let nats = match &options.nats_url {
            None => None,
            Some(url) => Some(
                async_nats::ConnectOptions::new()
                    .name("parley-mock")
                    .connection_timeout(NATS_CONNECT_TIMEOUT)
                    .connect(url.as_str())
                    .await
                    .map_err(|e| MockError::Nats {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?,
            ),
        };
        let shared = Arc::new(server::Shared::new(http, events, nats, base_url(addr)));
        let router = server::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "the mock server stopped with an error");
            }
        });
        Ok(MockServer {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (an unspecified address replaced by loopback).
    pub fn url(&self) -> String {
        base_url(self.addr)
    }

    /// The interactions served, with how often each was exercised.
    pub fn interactions(&self) -> Vec<InteractionRef> {
        self.shared.interactions()
    }

    /// What was seen so far.
    pub fn report(&self) -> MockReport {
        self.shared.report()
    }

    /// Forgets what was exercised and the unmatched requests.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Publishes the events `request` selects (as `POST /__parley/publish`).
    pub async fn publish(&self, request: &PublishRequest) -> Result<Vec<Published>, PublishError> {
        publish::publish(&self.shared, request).await
    }

    /// What happens from now on: requests served or unmatched, events published, resets.
    pub fn events(&self) -> broadcast::Receiver<MockEvent> {
        self.shared.subscribe()
    }

    /// Stops accepting, lets requests in flight finish (aborted after a few seconds), and
    /// returns the final report.
    pub async fn shutdown(mut self) -> MockReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            tracing::warn!("the mock did not stop within {SHUTDOWN_GRACE:?}; aborting");
            task.abort();
            let _ = task.await;
        }
        if let Some(nats) = &self.shared.nats {
            let _ = nats.flush().await;
        }
        self.shared.report()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// `http://ADDR`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let set: std::collections::BTreeSet<&str> = items.collect();
    if set.is_empty() {
        "none".into()
    } else {
        set.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// The HTTP interactions and events the options select; an error says why none.
fn select(
    contracts: &[Contract],
    options: &MockOptions,
) -> Result<(Vec<HttpEntry>, Vec<EventEntry>), MockError> {
    if contracts.is_empty() {
        return Err(MockError::NothingSelected("no contracts found".into()));
    }
    let by_provider: Vec<&Contract> = contracts
        .iter()
        .filter(|c| options.provider.as_ref().is_none_or(|p| &c.provider == p))
        .collect();
    if let Some(provider) = &options.provider
        && by_provider.is_empty()
    {
        return Err(MockError::NothingSelected(format!(
            "no contract has the provider \"{provider}\" (the providers: {})",
            names(contracts.iter().map(|c| c.provider.as_str()))
        )));
    }
    let selected: Vec<&Contract> = by_provider
        .iter()
        .copied()
        .filter(|c| options.consumer.as_ref().is_none_or(|p| &c.consumer == p))
        .collect();
    if let Some(consumer) = &options.consumer
        && selected.is_empty()
    {
        return Err(MockError::NothingSelected(format!(
            "no contract{} has the consumer \"{consumer}\" (the consumers: {})",
            options
                .provider
                .as_ref()
                .map(|p| format!(" of \"{p}\""))
                .unwrap_or_default(),
            names(by_provider.iter().map(|c| c.consumer.as_str()))
        )));
    }
    let mut http = Vec::new();
    let mut events = Vec::new();
    for contract in selected {
        for interaction in &contract.interactions {
            match interaction {
                Interaction::Http(h) => http.push(HttpEntry::new(contract, h)),
                Interaction::Message(m) => events.push(EventEntry::new(contract, m)),
                Interaction::SyncMessage(_) => {}
            }
        }
    }
    if http.is_empty() && (events.is_empty() || options.nats_url.is_none()) {
        let what = if events.is_empty() {
            "no HTTP interaction or event to serve".to_string()
        } else {
            format!(
                "only events ({}) and no HTTP interaction: give a NATS URL (--nats-url) to \
                 publish them",
                events.len()
            )
        };
        return Err(MockError::NothingSelected(format!(
            "the selected contracts hold {what}"
        )));
    }
    Ok((http, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_use_loopback_for_unspecified_addresses() {
        assert_eq!(
            base_url("0.0.0.0:80".parse().expect("addr")),
            "http://127.0.0.1:80"
        );
        assert_eq!(base_url("[::]:1".parse().expect("addr")), "http://[::1]:1");
        assert_eq!(
            base_url("10.1.2.3:9".parse().expect("addr")),
            "http://10.1.2.3:9"
        );
    }
}
