//! A tolerant decoder for OTLP/JSON trace exports (`ExportTraceServiceRequest`, which has the
//! same JSON shape as `TracesData`).
//!
//! It follows <https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding> and the
//! protobuf JSON mapping: trace/span ids are hex strings (either case), enums are integers (the
//! enum value names are accepted too), 64-bit integers may be numbers or strings, `bytesValue`
//! is base64, keys are lowerCamelCase (the original proto field names are accepted too),
//! `null` means "default", and unknown fields are ignored.
//!
//! Why not opentelemetry-proto's `with-serde` derive (checked against 0.33.1)? It does decode
//! the canonical example (hex ids in either case, string or number `startTimeUnixNano`,
//! `intValue` as string, integer `kind`, unknown fields), but it rejects `null` for any field
//! (`"parentSpanId": null`), enum value names (`"kind": "SPAN_KIND_SERVER"`), `"arrayValue": {}`,
//! and 32-bit integers as strings (`"flags": "1"`), all valid under the protobuf JSON mapping;
//! and it silently drops fields sent under their proto names (`trace_id`).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::{Map, Value};

/// Why an OTLP/JSON payload could not be decoded; the message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OTLP/JSON{}: {message}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
pub struct JsonDecodeError {
    /// Where in the document, e.g. `resourceSpans[0].scopeSpans[1].spans[2].traceId`.
    pub path: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, JsonDecodeError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(JsonDecodeError {
        path: String::new(),
        message: message.into(),
    })
}

/// Prefixes the error path with `segment` (errors are built innermost first).
fn at<T>(result: Result<T>, segment: impl FnOnce() -> String) -> Result<T> {
    result.map_err(|mut e| {
        let segment = segment();
        e.path = if e.path.is_empty() {
            segment
        } else if e.path.starts_with('[') {
            format!("{segment}{}", e.path)
        } else {
            format!("{segment}.{}", e.path)
        };
        e
    })
}

/// Decodes an OTLP/JSON trace export request.
pub fn decode_export_request(bytes: &[u8]) -> Result<ExportTraceServiceRequest> {
    let document: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return fail(format!("not JSON: {e}")),
    };
    let Value::Object(root) = document else {
        return fail("the document must be a JSON object");
    };
    let resource_spans = list(&root, "resourceSpans", "resource_spans", resource_spans)?;
    Ok(ExportTraceServiceRequest { resource_spans })
}

/// The field `camel` (or its proto name `snake`); `None` when absent or null.
fn field<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

fn object(value: &Value) -> Result<&Map<String, Value>> {
    match value {
        Value::Object(obj) => Ok(obj),
        other => fail(format!("expected an object, got {}", kind_of(other))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A repeated field: each element decoded by `decode` (absent or null means empty).
fn list<T>(
    obj: &Map<String, Value>,
    camel: &str,
    snake: &str,
    decode: impl Fn(&Value) -> Result<T>,
) -> Result<Vec<T>> {
    let Some(value) = field(obj, camel, snake) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return at(
            fail(format!("expected an array, got {}", kind_of(value))),
            || camel.into(),
        );
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(at(decode(item), || format!("{camel}[{i}]"))?);
    }
    Ok(out)
}

/// An optional scalar or message field decoded by `decode`, default when absent or null.
fn opt<T: Default>(
    obj: &Map<String, Value>,
    camel: &str,
    snake: &str,
    decode: impl FnOnce(&Value) -> Result<T>,
) -> Result<T> {
    match field(obj, camel, snake) {
        Some(value) => at(decode(value), || camel.into()),
        None => Ok(T::default()),
    }
}

fn string(value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => fail(format!("expected a string, got {}", kind_of(other))),
    }
}

fn boolean(value: &Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => fail(format!("expected a boolean, got {}", kind_of(other))),
    }
}

/// An integer given as a JSON number or a decimal string, converted into `T`.
fn integer<T: TryFrom<i128>>(value: &Value) -> Result<T> {
    let wide: Option<i128> = match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                // 1e3 or 5.0: integral floats within range are integers.
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1.8e19)
                    .map(|f| f as i128)
            }),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match wide.map(T::try_from) {
        Some(Ok(v)) => Ok(v),
        Some(Err(_)) => fail(format!("integer {value} out of range")),
        None => fail(format!("expected an integer, got {value}")),
    }
}

/// An enum given as an integer or as its value name (e.g. `SPAN_KIND_SERVER`).
fn enumeration(value: &Value, from_name: fn(&str) -> Option<i32>) -> Result<i32> {
    if let Value::String(s) = value
        && let Some(v) = from_name(s)
    {
        return Ok(v);
    }
    integer(value)
}

fn double(value: &Value) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64().map_or_else(|| fail("not a double"), Ok),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .parse::<f64>()
                .map_or_else(|_| fail(format!("expected a double, got {other:?}")), Ok),
        },
        other => fail(format!("expected a double, got {}", kind_of(other))),
    }
}

/// A trace or span id: hex, either case (OTLP/JSON's deviation from protobuf's base64).
fn hex_id(value: &Value) -> Result<Vec<u8>> {
    let s = string(value)?;
    hex::decode(s.trim()).or_else(|e| fail(format!("expected a hex id, got {s:?} ({e})")))
}

/// Standard or URL-safe base64, padding optional (the protobuf JSON mapping for bytes).
fn base64(value: &Value) -> Result<Vec<u8>> {
    let s = string(value)?;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return fail(format!("invalid base64 character {:?}", char::from(c))),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn resource_spans(value: &Value) -> Result<ResourceSpans> {
    let obj = object(value)?;
    // `instrumentationLibrarySpans` is the pre-1.0 name of `scopeSpans`.
    let mut scope_spans = list(obj, "scopeSpans", "scope_spans", scope_spans)?;
    if scope_spans.is_empty() {
        scope_spans = list(
            obj,
            "instrumentationLibrarySpans",
            "instrumentation_library_spans",
            scope_spans_legacy,
        )?;
    }
    Ok(ResourceSpans {
        resource: opt(obj, "resource", "resource", resource).map(Some)?,
        scope_spans,
        schema_url: opt(obj, "schemaUrl", "schema_url", string)?,
    })
}

fn resource(value: &Value) -> Result<Resource> {
    let obj = object(value)?;
    Ok(Resource {
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: opt(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            integer,
        )?,
        ..Default::default()
    })
}

fn scope_spans(value: &Value) -> Result<ScopeSpans> {
    let obj = object(value)?;
    Ok(ScopeSpans {
        scope: field(obj, "scope", "scope")
            .map(|v| at(scope(v), || "scope".into()))
            .transpose()?,
        spans: list(obj, "spans", "spans", span)?,
        schema_url: opt(obj, "schemaUrl", "schema_url", string)?,
    })
}

fn scope_spans_legacy(value: &Value) -> Result<ScopeSpans> {
    let obj = object(value)?;
    Ok(ScopeSpans {
        scope: field(obj, "instrumentationLibrary", "instrumentation_library")
            .map(|v| at(scope(v), || "instrumentationLibrary".into()))
            .transpose()?,
        spans: list(obj, "spans", "spans", span)?,
        schema_url: opt(obj, "schemaUrl", "schema_url", string)?,
    })
}

fn scope(value: &Value) -> Result<InstrumentationScope> {
    let obj = object(value)?;
    Ok(InstrumentationScope {
        name: opt(obj, "name", "name", string)?,
        version: opt(obj, "version", "version", string)?,
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: opt(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            integer,
        )?,
    })
}

fn span(value: &Value) -> Result<Span> {
    let obj = object(value)?;
    Ok(Span {
        trace_id: opt(obj, "traceId", "trace_id", hex_id)?,
        span_id: opt(obj, "spanId", "span_id", hex_id)?,
        trace_state: opt(obj, "traceState", "trace_state", string)?,
        parent_span_id: opt(obj, "parentSpanId", "parent_span_id", hex_id)?,
        flags: opt(obj, "flags", "flags", integer)?,
        name: opt(obj, "name", "name", string)?,
        kind: opt(obj, "kind", "kind", |v| {
            enumeration(v, |s| span::SpanKind::from_str_name(s).map(|k| k as i32))
        })?,
        start_time_unix_nano: opt(obj, "startTimeUnixNano", "start_time_unix_nano", integer)?,
        end_time_unix_nano: opt(obj, "endTimeUnixNano", "end_time_unix_nano", integer)?,
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: opt(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            integer,
        )?,
        events: list(obj, "events", "events", event)?,
        dropped_events_count: opt(obj, "droppedEventsCount", "dropped_events_count", integer)?,
        links: list(obj, "links", "links", link)?,
        dropped_links_count: opt(obj, "droppedLinksCount", "dropped_links_count", integer)?,
        status: field(obj, "status", "status")
            .map(|v| at(status(v), || "status".into()))
            .transpose()?,
    })
}

fn event(value: &Value) -> Result<span::Event> {
    let obj = object(value)?;
    Ok(span::Event {
        time_unix_nano: opt(obj, "timeUnixNano", "time_unix_nano", integer)?,
        name: opt(obj, "name", "name", string)?,
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: opt(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            integer,
        )?,
    })
}

fn link(value: &Value) -> Result<span::Link> {
    let obj = object(value)?;
    Ok(span::Link {
        trace_id: opt(obj, "traceId", "trace_id", hex_id)?,
        span_id: opt(obj, "spanId", "span_id", hex_id)?,
        trace_state: opt(obj, "traceState", "trace_state", string)?,
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: opt(
            obj,
            "droppedAttributesCount",
            "dropped_attributes_count",
            integer,
        )?,
        flags: opt(obj, "flags", "flags", integer)?,
    })
}

fn status(value: &Value) -> Result<Status> {
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    let obj = object(value)?;
    Ok(Status {
        message: opt(obj, "message", "message", string)?,
        code: opt(obj, "code", "code", |v| {
            enumeration(v, |s| StatusCode::from_str_name(s).map(|c| c as i32))
        })?,
    })
}

fn key_value(value: &Value) -> Result<KeyValue> {
    let obj = object(value)?;
    Ok(KeyValue {
        key: opt(obj, "key", "key", string)?,
        value: field(obj, "value", "value")
            .map(|v| at(any_value(v), || "value".into()))
            .transpose()?,
        ..Default::default()
    })
}

fn any_value(value: &Value) -> Result<AnyValue> {
    use any_value::Value as V;
    let obj = object(value)?;
    let pick = |camel: &str, snake: &str| field(obj, camel, snake).map(|v| (camel.to_string(), v));
    let decoded = if let Some((name, v)) = pick("stringValue", "string_value") {
        Some(at(string(v).map(V::StringValue), || name)?)
    } else if let Some((name, v)) = pick("boolValue", "bool_value") {
        Some(at(boolean(v).map(V::BoolValue), || name)?)
    } else if let Some((name, v)) = pick("intValue", "int_value") {
        Some(at(integer(v).map(V::IntValue), || name)?)
    } else if let Some((name, v)) = pick("doubleValue", "double_value") {
        Some(at(double(v).map(V::DoubleValue), || name)?)
    } else if let Some((name, v)) = pick("arrayValue", "array_value") {
        let values = at(
            object(v).and_then(|o| list(o, "values", "values", any_value)),
            || name,
        )?;
        Some(V::ArrayValue(ArrayValue { values }))
    } else if let Some((name, v)) = pick("kvlistValue", "kvlist_value") {
        let values = at(
            object(v).and_then(|o| list(o, "values", "values", key_value)),
            || name,
        )?;
        Some(V::KvlistValue(KeyValueList { values }))
    } else if let Some((name, v)) = pick("bytesValue", "bytes_value") {
        Some(at(base64(v).map(V::BytesValue), || name)?)
    } else {
        None
    };
    Ok(AnyValue { value: decoded })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(value: Value) -> Result<ExportTraceServiceRequest> {
        decode_export_request(value.to_string().as_bytes())
    }

    #[test]
    fn decodes_the_official_example() {
        let text = include_str!("testdata/trace-example.json");
        let request = decode_export_request(text.as_bytes()).expect("decodes");
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(hex::encode(&span.parent_span_id), "eee19b7ec3c1b173");
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.kind, 2);
        let scope = request.resource_spans[0].scope_spans[0].scope.as_ref();
        assert_eq!(scope.map(|s| s.name.as_str()), Some("my.library"));
    }

    #[test]
    fn tolerates_variants_the_spec_allows() {
        let request = decode(json!({
            "resourceSpans": [{
                "resource": null,
                "unknownField": {"x": 1},
                "scope_spans": [{
                    "spans": [{
                        "traceId": "5b8efff798038103d269b633813fc60c",
                        "span_id": "EEE19B7EC3C1B174",
                        "parentSpanId": null,
                        "startTimeUnixNano": 1544712660000000000u64,
                        "endTimeUnixNano": "1544712661000000000",
                        "kind": "SPAN_KIND_CLIENT",
                        "flags": 1,
                        "status": {"code": 2, "message": "bad"},
                        "attributes": [
                            {"key": "i", "value": {"intValue": "-42"}},
                            {"key": "j", "value": {"intValue": 7}},
                            {"key": "d", "value": {"doubleValue": "NaN"}},
                            {"key": "b", "value": {"bytesValue": "3q2+7w=="}},
                            {"key": "a", "value": {"arrayValue": {}}},
                            {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "x"}]}}},
                            {"key": "empty", "value": {}},
                            {"key": "nothing"}
                        ]
                    }]
                }]
            }]
        }))
        .expect("decodes");
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.kind, 3);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(hex::encode(&span.span_id), "eee19b7ec3c1b174");
        use any_value::Value as V;
        let attr = |i: usize| {
            span.attributes[i]
                .value
                .as_ref()
                .and_then(|v| v.value.clone())
        };
        assert_eq!(attr(0), Some(V::IntValue(-42)));
        assert_eq!(attr(1), Some(V::IntValue(7)));
        assert!(matches!(attr(2), Some(V::DoubleValue(d)) if d.is_nan()));
        assert_eq!(attr(3), Some(V::BytesValue(vec![0xde, 0xad, 0xbe, 0xef])));
        assert_eq!(attr(4), Some(V::ArrayValue(ArrayValue { values: vec![] })));
        assert_eq!(attr(6), None);
        assert!(span.attributes[7].value.is_none());
    }

    #[test]
    fn legacy_instrumentation_library_spans() {
        let request = decode(json!({"resourceSpans": [{"instrumentationLibrarySpans": [
            {"instrumentationLibrary": {"name": "old"}, "spans": [{"name": "s"}]}
        ]}]}))
        .expect("decodes");
        let scope_spans = &request.resource_spans[0].scope_spans[0];
        assert_eq!(
            scope_spans.scope.as_ref().map(|s| s.name.as_str()),
            Some("old")
        );
        assert_eq!(scope_spans.spans[0].name, "s");
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode(json!({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"name": "ok"}, {"traceId": "not hex"}
        ]}]}]}))
        .expect_err("rejects");
        assert_eq!(err.path, "resourceSpans[0].scopeSpans[0].spans[1].traceId");
        let err = decode(json!({"resourceSpans": {"x": 1}})).expect_err("rejects");
        assert_eq!(err.path, "resourceSpans");
        let err = decode(json!({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"startTimeUnixNano": "-1"}
        ]}]}]}))
        .expect_err("rejects");
        assert!(err.message.contains("out of range"), "{err}");
        assert!(decode_export_request(b"{not json").is_err());
        assert!(decode_export_request(b"[]").is_err());
        assert!(
            decode(json!({}))
                .expect("empty is fine")
                .resource_spans
                .is_empty()
        );
    }

    #[test]
    fn base64_variants() {
        assert_eq!(
            base64(&json!("3q2+7w==")).ok(),
            Some(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert_eq!(
            base64(&json!("3q2-7w")).ok(),
            Some(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert_eq!(base64(&json!("")).ok(), Some(vec![]));
        assert!(base64(&json!("a b")).is_err());
    }
}
