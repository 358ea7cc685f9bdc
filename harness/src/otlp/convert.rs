//! OTLP protobuf structs -> parley's [`Span`] model, with per-span validation.
//!
//! A span is rejected (and counted in the export response's `partial_success`) when its
//! trace id is not 16 bytes, its span id is not 8 bytes, either id is all zeros, or its parent
//! span id is neither empty nor 8 bytes. Malformed links are dropped from an accepted span.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1 as proto;
use serde_json::{Map, Number, Value};

use super::model::{Attributes, Span, SpanEvent, SpanKind, SpanLink, SpanStatus, StatusCode};

/// `service.name` used when a resource does not carry one (as the OpenTelemetry SDKs do).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// How many rejection reasons are kept for the response's error message.
const MAX_REASONS: usize = 3;

/// The result of converting one export request.
#[derive(Debug, Default)]
pub struct Conversion {
    /// Accepted spans, in request order.
    pub spans: Vec<Span>,
    /// How many spans were rejected.
    pub rejected: u64,
    /// The first few rejection reasons.
    pub reasons: Vec<String>,
}

impl Conversion {
    /// A human-readable summary of the rejections ("" when nothing was rejected).
    pub fn error_message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        let total = self.rejected + self.spans.len() as u64;
        let mut message = format!("rejected {} of {} spans: ", self.rejected, total);
        message.push_str(&self.reasons.join("; "));
        if self.rejected > self.reasons.len() as u64 {
            message.push_str("; ...");
        }
        message
    }
}

/// Resource and scope information shared by the spans of one `ScopeSpans`.
struct Origin<'a> {
    service_name: &'a str,
    resource_attributes: &'a Arc<Attributes>,
    resource_schema_url: &'a str,
    scope_name: &'a str,
    scope_version: &'a str,
    scope_attributes: &'a Arc<Attributes>,
    scope_schema_url: &'a str,
}

/// Converts every span of `request`, rejecting invalid ones.
pub fn convert_request(request: ExportTraceServiceRequest) -> Conversion {
    let mut out = Conversion::default();
    for resource_spans in request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .map(|r| Arc::new(attributes_into_map(r.attributes)))
            .unwrap_or_default();
        let service_name = match resource_attributes.get("service.name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => UNKNOWN_SERVICE.to_string(),
        };
        for scope_spans in resource_spans.scope_spans {
            let (scope_name, scope_version, scope_attributes) = match scope_spans.scope {
                Some(scope) => (
                    scope.name,
                    scope.version,
                    Arc::new(attributes_into_map(scope.attributes)),
                ),
                None => Default::default(),
            };
            let origin = Origin {
                service_name: &service_name,
                resource_attributes: &resource_attributes,
                resource_schema_url: &resource_spans.schema_url,
                scope_name: &scope_name,
                scope_version: &scope_version,
                scope_attributes: &scope_attributes,
                scope_schema_url: &scope_spans.schema_url,
            };
            for span in scope_spans.spans {
                match convert_span(span, &origin) {
                    Ok(span) => out.spans.push(span),
                    Err(reason) => {
                        out.rejected += 1;
                        if out.reasons.len() < MAX_REASONS {
                            out.reasons.push(reason);
                        }
                    }
                }
            }
        }
    }
    out
}

fn convert_span(span: proto::Span, origin: &Origin<'_>) -> Result<Span, String> {
    let describe = |problem: String| format!("span {:?}: {problem}", span.name);
    let trace_id = hex_id(&span.trace_id, 16, "trace_id").map_err(describe)?;
    let span_id = hex_id(&span.span_id, 8, "span_id").map_err(describe)?;
    let parent_span_id = match span.parent_span_id.len() {
        0 => None,
        8 if span.parent_span_id.iter().all(|b| *b == 0) => None,
        8 => Some(hex::encode(&span.parent_span_id)),
        n => {
            return Err(describe(format!(
                "parent_span_id must be 8 bytes or empty, got {n}"
            )));
        }
    };
    let status = span
        .status
        .map(|s| SpanStatus {
            code: StatusCode::from_otlp(s.code),
            message: s.message,
        })
        .unwrap_or_default();
    let links = span
        .links
        .into_iter()
        .filter_map(|link| {
            Some(SpanLink {
                trace_id: hex_id(&link.trace_id, 16, "trace_id").ok()?,
                span_id: hex_id(&link.span_id, 8, "span_id").ok()?,
                trace_state: link.trace_state,
                attributes: attributes_into_map(link.attributes),
            })
        })
        .collect();
    let events = span
        .events
        .into_iter()
        .map(|event| SpanEvent {
            name: event.name,
            time_unix_nanos: event.time_unix_nano,
            attributes: attributes_into_map(event.attributes),
        })
        .collect();
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name,
        kind: SpanKind::from_otlp(span.kind),
        service_name: origin.service_name.to_string(),
        scope_name: origin.scope_name.to_string(),
        scope_version: origin.scope_version.to_string(),
        start_unix_nanos: span.start_time_unix_nano,
        end_unix_nanos: span.end_time_unix_nano,
        attributes: attributes_into_map(span.attributes),
        resource_attributes: Arc::clone(origin.resource_attributes),
        scope_attributes: Arc::clone(origin.scope_attributes),
        status,
        links,
        events,
        trace_state: span.trace_state,
        flags: span.flags,
        resource_schema_url: origin.resource_schema_url.to_string(),
        scope_schema_url: origin.scope_schema_url.to_string(),
    })
}

/// Lowercase hex of an id of exactly `len` bytes that is not all zeros.
fn hex_id(bytes: &[u8], len: usize, field: &str) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!("{field} must be {len} bytes, got {}", bytes.len()));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("{field} must not be all zeros"));
    }
    Ok(hex::encode(bytes))
}

/// OTLP attributes -> a JSON map (a repeated key keeps its last value).
pub fn attributes_into_map(attributes: Vec<KeyValue>) -> Attributes {
    attributes
        .into_iter()
        .map(|kv| {
            (
                kv.key,
                kv.value.map(any_value_into_json).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Maps an OTLP `AnyValue` to JSON: strings, booleans, integers (i64) and doubles as
/// themselves (non-finite doubles as the strings `NaN`, `Infinity`, `-Infinity`), arrays as
/// arrays, key-value lists as objects, bytes as lowercase hex strings, an empty value as null.
pub fn any_value_to_json(value: &AnyValue) -> Value {
    any_value_into_json(value.clone())
}

fn any_value_into_json(value: AnyValue) -> Value {
    use any_value::Value as V;
    match value.value {
        None | Some(V::StringValueStrindex(_)) => Value::Null,
        Some(V::StringValue(s)) => Value::String(s),
        Some(V::BoolValue(b)) => Value::Bool(b),
        Some(V::IntValue(i)) => Value::from(i),
        Some(V::DoubleValue(d)) => match Number::from_f64(d) {
            Some(n) => Value::Number(n),
            None if d.is_nan() => Value::String("NaN".into()),
            None if d > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        },
        Some(V::ArrayValue(array)) => {
            Value::Array(array.values.into_iter().map(any_value_into_json).collect())
        }
        Some(V::KvlistValue(list)) => {
            let map: Map<String, Value> = list
                .values
                .into_iter()
                .map(|kv| {
                    (
                        kv.key,
                        kv.value.map(any_value_into_json).unwrap_or(Value::Null),
                    )
                })
                .collect();
            Value::Object(map)
        }
        Some(V::BytesValue(bytes)) => Value::String(hex::encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, InstrumentationScope, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use serde_json::json;

    fn any(value: any_value::Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(any(value)),
            ..Default::default()
        }
    }

    #[test]
    fn any_value_mapping() {
        use any_value::Value as V;
        assert_eq!(
            any_value_to_json(&any(V::StringValue("x".into()))),
            json!("x")
        );
        assert_eq!(any_value_to_json(&any(V::BoolValue(true))), json!(true));
        assert_eq!(any_value_to_json(&any(V::IntValue(-7))), json!(-7));
        assert_eq!(any_value_to_json(&any(V::DoubleValue(1.5))), json!(1.5));
        assert_eq!(
            any_value_to_json(&any(V::DoubleValue(f64::NAN))),
            json!("NaN")
        );
        assert_eq!(
            any_value_to_json(&any(V::DoubleValue(f64::NEG_INFINITY))),
            json!("-Infinity")
        );
        assert_eq!(
            any_value_to_json(&any(V::BytesValue(vec![0xde, 0xad]))),
            json!("dead")
        );
        assert_eq!(any_value_to_json(&AnyValue { value: None }), Value::Null);
        let array = V::ArrayValue(ArrayValue {
            values: vec![any(V::IntValue(1)), any(V::StringValue("two".into()))],
        });
        assert_eq!(any_value_to_json(&any(array)), json!([1, "two"]));
        let list = V::KvlistValue(KeyValueList {
            values: vec![kv("a", V::BoolValue(false)), kv("b", V::DoubleValue(2.0))],
        });
        assert_eq!(any_value_to_json(&any(list)), json!({"a": false, "b": 2.0}));
    }

    fn proto_span(trace_id: Vec<u8>, span_id: Vec<u8>, parent: Vec<u8>) -> proto::Span {
        proto::Span {
            trace_id,
            span_id,
            parent_span_id: parent,
            name: "op".into(),
            kind: 3,
            start_time_unix_nano: 5,
            end_time_unix_nano: 9,
            attributes: vec![kv("k", any_value::Value::IntValue(3))],
            status: Some(proto::Status {
                code: 2,
                message: "boom".into(),
            }),
            links: vec![
                proto::span::Link {
                    trace_id: vec![2; 16],
                    span_id: vec![3; 8],
                    ..Default::default()
                },
                proto::span::Link {
                    trace_id: vec![2; 3],
                    span_id: vec![3; 8],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn request(spans: Vec<proto::Span>, resource: Vec<KeyValue>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![proto::ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_spans: vec![proto::ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        version: "1.2".into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn converts_and_validates_spans() {
        let spans = vec![
            proto_span(vec![1; 16], vec![1; 8], vec![]),
            proto_span(vec![1; 16], vec![2; 8], vec![1; 8]),
            proto_span(vec![1; 15], vec![3; 8], vec![]),
            proto_span(vec![1; 16], vec![0; 8], vec![]),
            proto_span(vec![1; 16], vec![4; 8], vec![1; 3]),
            proto_span(vec![1; 16], vec![5; 8], vec![0; 8]),
        ];
        let resource = vec![kv(
            "service.name",
            any_value::Value::StringValue("order".into()),
        )];
        let out = convert_request(request(spans, resource));
        assert_eq!(out.spans.len(), 3);
        assert_eq!(out.rejected, 3);
        let message = out.error_message();
        assert!(message.starts_with("rejected 3 of 6 spans"), "{message}");
        assert!(
            message.contains("trace_id must be 16 bytes, got 15"),
            "{message}"
        );

        let root = &out.spans[0];
        assert_eq!(root.trace_id, "01010101010101010101010101010101");
        assert_eq!(root.span_id, "0101010101010101");
        assert!(root.is_root());
        assert_eq!(root.service_name, "order");
        assert_eq!(root.scope_name, "lib");
        assert_eq!(root.scope_version, "1.2");
        assert_eq!(root.kind, SpanKind::Client);
        assert_eq!(root.status.code, StatusCode::Error);
        assert_eq!(root.status.message, "boom");
        assert_eq!(root.attr_i64("k"), Some(3));
        assert_eq!(root.links.len(), 1, "the malformed link is dropped");
        assert_eq!(root.links[0].span_id, "0303030303030303");
        assert_eq!(
            out.spans[1].parent_span_id.as_deref(),
            Some("0101010101010101")
        );
        assert!(
            out.spans[2].is_root(),
            "an all-zero parent id means no parent"
        );
    }

    #[test]
    fn missing_service_name_is_unknown_service() {
        let out = convert_request(request(
            vec![proto_span(vec![1; 16], vec![1; 8], vec![])],
            vec![],
        ));
        assert_eq!(out.spans[0].service_name, UNKNOWN_SERVICE);
        assert_eq!(out.error_message(), "");
    }
}
