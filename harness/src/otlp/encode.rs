//! Spans of our model back into an OTLP export request, for spans parley records itself (a
//! scenario's own spans) so that they reach the sinks (files, a real collector) like any other.
//!
//! The model keeps attributes as JSON values, so the round trip is exact for strings,
//! booleans, integers, doubles, arrays and maps; bytes come back as the hex string they were
//! stored as.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as proto;
use serde_json::Value;

use super::model::{Attributes, Span};

/// One request holding `spans`, grouped by resource (service and resource attributes) and
/// scope. Spans whose ids are not valid hex are left out.
pub fn spans_to_request(spans: &[Span]) -> ExportTraceServiceRequest {
    let mut resources: BTreeMap<String, (Resource, BTreeMap<String, proto::ScopeSpans>)> =
        BTreeMap::new();
    for span in spans {
        let Some(proto_span) = span_to_proto(span) else {
            continue;
        };
        let resource_key = format!(
            "{}\u{1f}{}",
            span.service_name,
            Value::from(attributes_json(&span.resource_attributes))
        );
        let (_, scopes) = resources.entry(resource_key).or_insert_with(|| {
            let mut attributes = key_values(&span.resource_attributes);
            if !attributes.iter().any(|kv| kv.key == "service.name") {
                attributes.push(kv("service.name", Value::String(span.service_name.clone())));
            }
            (
                Resource {
                    attributes,
                    ..Default::default()
                },
                BTreeMap::new(),
            )
        });
        let scope_key = format!("{}\u{1f}{}", span.scope_name, span.scope_version);
        scopes
            .entry(scope_key)
            .or_insert_with(|| proto::ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: span.scope_name.clone(),
                    version: span.scope_version.clone(),
                    attributes: key_values(&span.scope_attributes),
                    ..Default::default()
                }),
                schema_url: span.scope_schema_url.clone(),
                ..Default::default()
            })
            .spans
            .push(proto_span);
    }
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_values()
            .map(|(resource, scopes)| proto::ResourceSpans {
                resource: Some(resource),
                scope_spans: scopes.into_values().collect(),
                ..Default::default()
            })
            .collect(),
    }
}

fn attributes_json(attributes: &Attributes) -> serde_json::Map<String, Value> {
    attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn span_to_proto(span: &Span) -> Option<proto::Span> {
    let links = span
        .links
        .iter()
        .filter_map(|l| {
            Some(proto::span::Link {
                trace_id: hex::decode(&l.trace_id).ok()?,
                span_id: hex::decode(&l.span_id).ok()?,
                trace_state: l.trace_state.clone(),
                attributes: key_values(&l.attributes),
                ..Default::default()
            })
        })
        .collect();
    Some(proto::Span {
        trace_id: hex::decode(&span.trace_id).ok()?,
        span_id: hex::decode(&span.span_id).ok()?,
        parent_span_id: match &span.parent_span_id {
            Some(p) => hex::decode(p).ok()?,
            None => Vec::new(),
        },
        trace_state: span.trace_state.clone(),
        flags: span.flags,
        name: span.name.clone(),
        kind: span.kind.to_otlp(),
        start_time_unix_nano: span.start_unix_nanos,
        end_time_unix_nano: span.end_unix_nanos,
        attributes: key_values(&span.attributes),
        events: span
            .events
            .iter()
            .map(|e| proto::span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                ..Default::default()
            })
            .collect(),
        links,
        status: Some(proto::Status {
            code: span.status.code.to_otlp(),
            message: span.status.message.clone(),
        }),
        ..Default::default()
    })
}

fn key_values(attributes: &Attributes) -> Vec<KeyValue> {
    attributes.iter().map(|(k, v)| kv(k, v.clone())).collect()
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(any_value(value)),
        ..Default::default()
    }
}

fn any_value(value: Value) -> AnyValue {
    use any_value::Value as V;
    let v = match value {
        Value::Null => None,
        Value::Bool(b) => Some(V::BoolValue(b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(V::IntValue(i)),
            None => n.as_f64().map(V::DoubleValue),
        },
        Value::String(s) => Some(V::StringValue(s)),
        Value::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.into_iter().map(any_value).collect(),
        })),
        Value::Object(map) => Some(V::KvlistValue(KeyValueList {
            values: map.into_iter().map(|(k, v)| kv(&k, v)).collect(),
        })),
    };
    AnyValue { value: v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::TraceStore;

    #[test]
    fn spans_round_trip_through_a_request() {
        let store = TraceStore::new();
        let original = Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            parent_span_id: Some("00f067aa0ba902b7".into()),
            name: "scenario x".into(),
            kind: crate::otlp::SpanKind::Producer,
            service_name: "parley".into(),
            scope_name: "parley-scenario".into(),
            start_unix_nanos: 10,
            end_unix_nanos: 20,
            attributes: [
                ("correlation.id".to_string(), Value::from("c-1")),
                ("n".to_string(), Value::from(3)),
                ("f".to_string(), Value::from(1.5)),
                ("b".to_string(), Value::from(true)),
                ("list".to_string(), serde_json::json!(["a", 1])),
            ]
            .into_iter()
            .collect(),
            ..Span::default()
        };
        let summary = store.ingest(spans_to_request(std::slice::from_ref(&original)));
        assert_eq!(summary.accepted, 1);
        let back = store.spans().remove(0);
        assert_eq!(back.attributes, original.attributes);
        assert_eq!(
            (back.trace_id, back.span_id, back.parent_span_id),
            (original.trace_id, original.span_id, original.parent_span_id)
        );
        assert_eq!(
            (back.name, back.kind, back.service_name),
            (original.name, original.kind, original.service_name)
        );
        assert_eq!((back.start_unix_nanos, back.end_unix_nanos), (10, 20));
    }
}
