//! What to probe on a consumer: the `probe:` block of an `architecture.yaml` consumer, checked
//! when the description is read, and rendered (placeholders filled) for each run.
//!
//! ```yaml
//! probe:
//!   subject: orders.created            # where to publish; needed when the consumer's is a filter
//!   event: { orderId: "probe-{{uuid}}", total: 999 }   # a valid event, sent twice
//!   headers: { x-correlation-id: "probe-{{uuid}}" }
//!   state: "GET payment-service /api/payments?orderId={{orderId}}"
//!   compare: body                      # or count (the number of items of an array or object)
//!   duplicate: true                    # default: on when event and state are given
//!   poison: true                       # default: on when the consumer declares a dlq
//! ```
//!
//! `{{uuid}}` is one fresh UUID per probe run, the same everywhere in it; `{{name}}` in the
//! headers and the state query is the top-level field `name` of the rendered event.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lint::graph::{has_wildcard, subjects_overlap};

/// How the state before and after a duplicate is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    /// The whole response body, as JSON (or text).
    #[default]
    Body,
    /// The number of items of a JSON array (or keys of an object): for states where fields
    /// change on their own (a status moving on) but the number of records must not.
    Count,
}

/// Where the consumer's observable state is read: `GET <service> <path>`, the base URL of the
/// service coming from the command line (`--service NAME=URL`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateQuery {
    pub service: String,
    /// Path and query, with placeholders.
    pub path: String,
}

/// A consumer's probes, as the description declares them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeSpec {
    /// The subject the probe publishes on (the consumer's own when that is not a filter).
    pub subject: String,
    /// A valid event, with placeholders; `None`: no duplicate probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateQuery>,
    pub compare: Compare,
    /// Deliver the event twice and compare the state.
    pub duplicate: bool,
    /// Publish an undecodable message and look for it on the dead-letter subject.
    pub poison: bool,
}

/// The `probe:` block as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeDoc {
    pub subject: Option<String>,
    pub event: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub state: Option<String>,
    pub compare: Option<Compare>,
    pub duplicate: Option<bool>,
    pub poison: Option<bool>,
}

/// A mistake in a `probe:` block: the field it is in, and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct SpecError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        field,
        message: message.into(),
    }
}

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}").expect("valid regex"));

/// The names of the placeholders in a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    PLACEHOLDER
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
}

/// Every string of a JSON value.
fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            strings(x, out)
        }),
        _ => {}
    }
}

impl ProbeDoc {
    /// Checks the block of a consumer of `consumed` with dead-letter subject `dlq`.
    pub fn build(self, consumed: &str, dlq: Option<&str>) -> Result<ProbeSpec, SpecError> {
        let subject = match self.subject {
            Some(s) if s.is_empty() || has_wildcard(&s) => {
                return Err(err(
                    "subject",
                    format!("`{s}` is not a subject one can publish on (no `*` or `>`)"),
                ));
            }
            Some(s) if !subjects_overlap(&s, consumed) => {
                return Err(err(
                    "subject",
                    format!("the consumer does not receive `{s}`: it consumes `{consumed}`"),
                ));
            }
            Some(s) => s,
            None if has_wildcard(consumed) => {
                return Err(err(
                    "subject",
                    format!(
                        "the consumer reads the filter `{consumed}`: say which subject the probe publishes on (probe.subject)"
                    ),
                ));
            }
            None => consumed.to_string(),
        };
        if let Some(event) = &self.event {
            let mut texts = Vec::new();
            strings(event, &mut texts);
            if let Some(p) = texts
                .iter()
                .flat_map(|t| placeholders(t))
                .find(|p| *p != "uuid")
            {
                return Err(err(
                    "event",
                    format!("`{{{{{p}}}}}`: the event knows only `{{{{uuid}}}}`"),
                ));
            }
        }
        let fields: Vec<String> = match &self.event {
            Some(Value::Object(o)) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let check = |field: &'static str, text: &str| match placeholders(text)
            .find(|p| *p != "uuid" && !fields.iter().any(|f| f == p))
        {
            Some(p) => Err(err(
                field,
                format!(
                    "`{{{{{p}}}}}` is neither `{{{{uuid}}}}` nor a top-level field of the event"
                ),
            )),
            None => Ok(()),
        };
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("Nats-Msg-Id") {
                return Err(err(
                    "headers",
                    "Nats-Msg-Id would make JetStream drop the second copy of the duplicate probe: leave it out (the probe sends both copies without it)",
                ));
            }
            check("headers", value)?;
        }
        let state = match self.state {
            Some(text) => {
                let state = parse_state(&text)?;
                check("state", &state.path)?;
                Some(state)
            }
            None => None,
        };
        let duplicate = match self.duplicate {
            Some(true) if self.event.is_none() || state.is_none() => {
                return Err(err(
                    "duplicate",
                    "the duplicate probe needs an `event` to send and a `state` to compare",
                ));
            }
            Some(d) => d,
            None => self.event.is_some() && state.is_some(),
        };
        let poison = match self.poison {
            Some(true) if dlq.is_none() => {
                return Err(err(
                    "poison",
                    "the poison probe looks for the message on the consumer's dlq, and it declares none",
                ));
            }
            Some(p) => p,
            None => dlq.is_some(),
        };
        Ok(ProbeSpec {
            subject,
            event: self.event,
            headers: self.headers,
            state,
            compare: self.compare.unwrap_or_default(),
            duplicate,
            poison,
        })
    }
}

/// `GET service /path?query`.
fn parse_state(text: &str) -> Result<StateQuery, SpecError> {
    let usage = || {
        err(
            "state",
            format!(
                "`{text}`: write the state query as `GET <service> <path>` (e.g. `GET payment-service /api/payments?orderId={{{{orderId}}}}`)"
            ),
        )
    };
    let mut parts = text.split_whitespace();
    let (Some(method), Some(service), Some(path), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(usage());
    };
    if !method.eq_ignore_ascii_case("GET") {
        return Err(err(
            "state",
            format!("`{method}`: the state is read with GET, which changes nothing"),
        ));
    }
    if !path.starts_with('/') {
        return Err(usage());
    }
    Ok(StateQuery {
        service: service.to_string(),
        path: path.to_string(),
    })
}

/// One run's values of the placeholders.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub event: Option<Value>,
    pub headers: BTreeMap<String, String>,
    /// The state query's path with the placeholders filled.
    pub state_path: Option<String>,
}

impl ProbeSpec {
    /// Fills the placeholders with `uuid` and the rendered event's fields.
    pub fn render(&self, uuid: &str) -> Rendered {
        let event = self.event.as_ref().map(|e| fill_value(e, uuid, None));
        let fill = |text: &str| fill_text(text, uuid, event.as_ref());
        Rendered {
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), fill(v)))
                .collect(),
            state_path: self.state.as_ref().map(|s| fill(&s.path)),
            event,
        }
    }
}

fn fill_text(text: &str, uuid: &str, event: Option<&Value>) -> String {
    PLACEHOLDER
        .replace_all(text, |c: &regex::Captures<'_>| {
            let name = c.get(1).map(|m| m.as_str()).unwrap_or_default();
            if name == "uuid" {
                return uuid.to_string();
            }
            match event.and_then(|e| e.get(name)) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => c.get(0).map(|m| m.as_str()).unwrap_or_default().to_string(),
            }
        })
        .into_owned()
}

fn fill_value(v: &Value, uuid: &str, event: Option<&Value>) -> Value {
    match v {
        Value::String(s) => Value::String(fill_text(s, uuid, event)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_value(x, uuid, event)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (fill_text(k, uuid, event), fill_value(x, uuid, event)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> ProbeDoc {
        serde_json::from_value(v).expect("a probe block")
    }

    #[test]
    fn placeholders_are_filled_from_the_uuid_and_the_event() {
        let spec = doc(json!({
            "event": { "orderId": "probe-{{uuid}}", "total": 5 },
            "headers": { "x-correlation-id": "c-{{ uuid }}" },
            "state": "GET payment-service /api/payments?orderId={{orderId}}&t={{total}}",
        }))
        .build("orders.created", Some("dlq.x.orders.created"))
        .expect("valid");
        assert!(spec.duplicate && spec.poison);
        let r = spec.render("u1");
        assert_eq!(r.event, Some(json!({ "orderId": "probe-u1", "total": 5 })));
        assert_eq!(r.headers["x-correlation-id"], "c-u1");
        assert_eq!(
            r.state_path.as_deref(),
            Some("/api/payments?orderId=probe-u1&t=5")
        );
    }

    #[test]
    fn mistakes_name_their_field() {
        let e = doc(json!({ "event": {} })).build("orders.>", None);
        assert_eq!(e.map_err(|e| e.field), Err("subject"));
        let e = doc(json!({ "subject": "payments.charged" })).build("orders.>", None);
        assert_eq!(e.map_err(|e| e.field), Err("subject"));
        let e = doc(json!({ "event": {"a": 1}, "state": "GET s /x?{{b}}" })).build("o.c", None);
        assert_eq!(e.map_err(|e| e.field), Err("state"));
        let e = doc(json!({ "state": "POST s /x" })).build("o.c", None);
        assert_eq!(e.map_err(|e| e.field), Err("state"));
        let e = doc(json!({ "headers": { "nats-msg-id": "x" } })).build("o.c", None);
        assert_eq!(e.map_err(|e| e.field), Err("headers"));
        let e = doc(json!({ "poison": true })).build("o.c", None);
        assert_eq!(e.map_err(|e| e.field), Err("poison"));
        let e = doc(json!({ "duplicate": true, "event": {} })).build("o.c", None);
        assert_eq!(e.map_err(|e| e.field), Err("duplicate"));
        let ok = doc(json!({ "subject": "orders.confirmed" }))
            .build("orders.>", None)
            .expect("valid");
        assert!(!ok.duplicate && !ok.poison);
    }
}
