//! parley's own span model: every received OTLP span flattened into one self-contained record.
//!
//! The model keeps what trace checks read (ids, names, kinds, services, attributes, links) and
//! the resource/scope details needed to write the spans back out as OTLP JSON later.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attribute map: OTLP `AnyValue`s mapped to JSON (see [`crate::otlp::any_value_to_json`]).
pub type Attributes = BTreeMap<String, Value>;

/// The span kind, as in OTLP's `Span.SpanKind`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// Maps OTLP's integer kind; unknown values become `Unspecified`.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// OTLP's integer for this kind.
    pub fn to_otlp(self) -> i32 {
        match self {
            Self::Unspecified => 0,
            Self::Internal => 1,
            Self::Server => 2,
            Self::Client => 3,
            Self::Producer => 4,
            Self::Consumer => 5,
        }
    }

    /// Lowercase name: `server`, `client`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// The span status code, as in OTLP's `Status.StatusCode`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// Maps OTLP's integer code; unknown values become `Unset`.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// OTLP's integer for this code.
    pub fn to_otlp(self) -> i32 {
        match self {
            Self::Unset => 0,
            Self::Ok => 1,
            Self::Error => 2,
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanStatus {
    pub code: StatusCode,
    #[serde(default)]
    pub message: String,
}

/// A link from a span to another span (possibly in another trace).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanLink {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    #[serde(default)]
    pub attributes: Attributes,
}

/// A timed event inside a span.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nanos: u64,
    #[serde(default)]
    pub attributes: Attributes,
}

/// One received span, flattened with its resource and instrumentation scope.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Span {
    /// 32 lowercase hex digits, never all zeros.
    pub trace_id: String,
    /// 16 lowercase hex digits, never all zeros.
    pub span_id: String,
    /// 16 lowercase hex digits; `None` for a root span.
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub kind: SpanKind,
    /// The resource's `service.name`, or `unknown_service` when absent.
    pub service_name: String,
    #[serde(default)]
    pub scope_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope_version: String,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub resource_attributes: Arc<Attributes>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub scope_attributes: Arc<Attributes>,
    #[serde(default)]
    pub status: SpanStatus,
    #[serde(default)]
    pub links: Vec<SpanLink>,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    /// W3C `tracestate` of the span, as sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    /// OTLP span flags (W3C trace flags in the low byte).
    #[serde(default)]
    pub flags: u32,
    /// Schema URL of the resource, as sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_schema_url: String,
    /// Schema URL of the instrumentation scope, as sent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope_schema_url: String,
}

impl Span {
    /// The attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// The attribute `key` if it is a string.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// The attribute `key` if it is an integer.
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attributes.get(key).and_then(Value::as_i64)
    }

    /// The resource attribute `key` if it is a string.
    pub fn resource_attr_str(&self, key: &str) -> Option<&str> {
        self.resource_attributes.get(key).and_then(Value::as_str)
    }

    /// End minus start; zero when the end precedes the start.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nanos.saturating_sub(self.start_unix_nanos))
    }

    /// True when the span has no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }
}

/// All spans received for one trace id, in arrival order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

impl Trace {
    /// Spans without a parent. A connected trace has exactly one.
    pub fn roots(&self) -> Vec<&Span> {
        self.spans.iter().filter(|s| s.is_root()).collect()
    }

    /// Spans whose parent is not in this trace (lost or not yet received).
    pub fn orphans(&self) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| {
                s.parent_span_id
                    .as_deref()
                    .is_some_and(|parent| self.span(parent).is_none())
            })
            .collect()
    }

    /// The distinct `service.name`s of the trace's spans.
    pub fn services(&self) -> BTreeSet<String> {
        self.spans.iter().map(|s| s.service_name.clone()).collect()
    }

    /// The first span (in arrival order) named `name`.
    pub fn find(&self, name: &str) -> Option<&Span> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// Every span named `name`, in arrival order.
    pub fn find_all(&self, name: &str) -> Vec<&Span> {
        self.spans.iter().filter(|s| s.name == name).collect()
    }

    /// The span with id `span_id`.
    pub fn span(&self, span_id: &str) -> Option<&Span> {
        self.spans.iter().find(|s| s.span_id == span_id)
    }

    /// Direct children of `span_id`, in arrival order.
    pub fn children(&self, span_id: &str) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(span_id))
            .collect()
    }

    /// The parent of `span`, if it is in this trace.
    pub fn parent(&self, span: &Span) -> Option<&Span> {
        span.parent_span_id.as_deref().and_then(|p| self.span(p))
    }
}

fn is_empty(attributes: &Arc<Attributes>) -> bool {
    attributes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str, service: &str) -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            name: name.into(),
            service_name: service.into(),
            start_unix_nanos: 10,
            end_unix_nanos: 25,
            ..Default::default()
        }
    }

    #[test]
    fn trace_helpers() {
        let trace = Trace {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            spans: vec![
                span("0000000000000001", None, "root", "order"),
                span("0000000000000002", Some("0000000000000001"), "a", "payment"),
                span("0000000000000003", Some("0000000000000001"), "b", "payment"),
                span(
                    "0000000000000004",
                    Some("00000000000000ff"),
                    "lost",
                    "shipping",
                ),
            ],
        };
        assert_eq!(trace.roots().len(), 1);
        assert_eq!(trace.children("0000000000000001").len(), 2);
        assert_eq!(trace.orphans()[0].name, "lost");
        assert_eq!(
            trace.find("b").map(|s| s.span_id.as_str()),
            Some("0000000000000003")
        );
        let services: Vec<_> = trace.services().into_iter().collect();
        assert_eq!(services, ["order", "payment", "shipping"]);
        let child = &trace.spans[1];
        assert_eq!(trace.parent(child).map(|s| s.name.as_str()), Some("root"));
        assert_eq!(child.duration(), Duration::from_nanos(15));
        assert!(trace.spans[0].is_root() && !child.is_root());
    }

    #[test]
    fn kind_and_status_round_trip() {
        for v in 0..=5 {
            assert_eq!(SpanKind::from_otlp(v).to_otlp(), v);
        }
        assert_eq!(SpanKind::from_otlp(42), SpanKind::Unspecified);
        for v in 0..=2 {
            assert_eq!(StatusCode::from_otlp(v).to_otlp(), v);
        }
        assert_eq!(StatusCode::from_otlp(-1), StatusCode::Unset);
    }

    #[test]
    fn span_serde_round_trip() {
        let mut s = span("0000000000000002", Some("0000000000000001"), "a", "payment");
        s.attributes
            .insert("http.response.status_code".into(), 201.into());
        let json = serde_json::to_string(&s).expect("serialize");
        let back: Span = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, s);
        assert_eq!(back.attr_i64("http.response.status_code"), Some(201));
    }
}
