//! Scenarios: drive a system (HTTP requests, NATS publishes, waits for a message or a state)
//! under one correlation ID, then assert on the traces it produced, in the spirit of
//! trace-based testing tools.
//!
//! ```yaml
//! name: sync order
//! services: [gateway, order-service, payment-service]   # wait for spans from each
//! steps:
//!   - http:
//!       method: POST
//!       url: ${gateway}/api/orders
//!       headers: { authorization: Bearer ${token} }
//!       body: { customerId: c-42, items: [ { sku: A1, qty: 2 } ] }
//!       expect: { status: 201, json: { "$.status": confirmed } }
//!       save: { orderId: $.orderId }
//!   - wait:
//!       http: { url: "${gateway}/api/orders/${orderId}", headers: { authorization: Bearer ${token} } }
//!       until: { "$.status": completed }
//!       timeout: 10s
//!   - publish: { subject: orders.created, payload: { orderId: o-1 } }
//!   - wait: { message: { subject: "dlq.>" }, timeout: 5s }
//! expect:
//!   - select: { service: payment-service, name: process orders.created, kind: consumer }
//!     count: 1
//!     attributes: { messaging.system: nats }
//!     matches: { correlation.id: "^scn-" }
//!     duration_below: 500ms
//!   - order: [ { name: saga step charge }, { name: saga step reserve } ]
//! checks: [connected, correlated, producers, ended, saga]
//! ```

mod assert;
mod load;
mod run;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

pub use load::{ScenarioError, load_file, load_str, parse_duration};
pub use run::{Context, run};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Default values of variables (`${name}`), overridden by the caller's.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Services whose spans must arrive before the traces are checked.
    #[serde(default)]
    pub services: Vec<String>,
    /// Each step is a one-key map (`- http: {...}`).
    #[serde(with = "serde_norway::with::singleton_map_recursive")]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Vec<Expectation>,
    /// Built-in trace checks to run (default: all).
    #[serde(default = "all_checks")]
    pub checks: Vec<TraceCheck>,
}

fn all_checks() -> Vec<TraceCheck> {
    vec![
        TraceCheck::Connected,
        TraceCheck::Correlated,
        TraceCheck::Producers,
        TraceCheck::Ended,
        TraceCheck::Saga,
    ]
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TraceCheck {
    Connected,
    Correlated,
    Producers,
    Ended,
    Saga,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Http(HttpStep),
    Publish(PublishStep),
    Wait(WaitStep),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub expect: Option<HttpExpect>,
    /// Variables to set from the response's JSON body: `name: $.path`.
    #[serde(default)]
    pub save: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    #[serde(default)]
    pub status: Option<u16>,
    /// Values at paths of the JSON body (`$.a.b`, `$.items[0].sku`, `$.items.length()`).
    #[serde(default)]
    pub json: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishStep {
    pub subject: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON payload; `raw` sends text as is instead.
    #[serde(default)]
    pub payload: Option<Value>,
    #[serde(default)]
    pub raw: Option<String>,
    /// Publish through JetStream (waits for the stream's ack) with this `Nats-Msg-Id`.
    #[serde(default)]
    pub msg_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// Poll this request until `until` holds.
    #[serde(default)]
    pub http: Option<HttpStep>,
    #[serde(default)]
    pub until: BTreeMap<String, Value>,
    /// Wait for messages on a subject (subscribed before the scenario's first step).
    #[serde(default)]
    pub message: Option<MessageWait>,
    #[serde(default = "default_timeout", deserialize_with = "load::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageWait {
    pub subject: String,
    /// How many messages (default 1).
    #[serde(default = "one")]
    pub count: usize,
    /// Only messages with these header values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn one() -> usize {
    1
}

/// An assertion on the spans: a selection and what must hold of it, or an order of selections.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A label for reports (default: the selector).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub select: Option<Selector>,
    /// Exactly this many spans, or `{min, max}`.
    #[serde(default)]
    pub count: Option<Count>,
    /// Attributes equal to these values on every selected span.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Attributes matching these regexes on every selected span.
    #[serde(default)]
    pub matches: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "load::opt_duration")]
    pub duration_below: Option<Duration>,
    /// `ok`, `error` or `unset` on every selected span.
    #[serde(default)]
    pub status: Option<String>,
    /// These selections' first spans start in this order.
    #[serde(default)]
    pub order: Vec<Selector>,
}

/// Which spans an expectation is about. The scenario's own spans (service `parley`: the
/// scenario and one per step) are only selected when `service: parley` is named.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub service: Option<String>,
    /// The span name; `/regex/` for a pattern.
    #[serde(default)]
    pub name: Option<String>,
    /// `server`, `client`, `producer`, `consumer`, `internal`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Count {
    Exactly(usize),
    Range {
        #[serde(default)]
        min: Option<usize>,
        #[serde(default)]
        max: Option<usize>,
    },
}
