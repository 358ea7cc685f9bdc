//! Tests for `jsonl.rs`.

use super::*;
use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
use serde_json::{Value, json};

fn kv(key: &str, value: Option<any_value::Value>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value }),
        ..Default::default()
    }
}

/// A request using every field and every attribute type.
pub(crate) fn everything() -> ExportTraceServiceRequest {
    use any_value::Value as V;
    let attributes = vec![
        kv("s", Some(V::StringValue("text \"quoted\" ✓".into()))),
        kv("s.empty", Some(V::StringValue(String::new()))),
        kv("i", Some(V::IntValue(-9_007_199_254_740_993))),
        kv("i.zero", Some(V::IntValue(0))),
        kv("b", Some(V::BoolValue(false))),
        kv("d", Some(V::DoubleValue(0.1))),
        kv("d.whole", Some(V::DoubleValue(2.0))),
        kv("d.nan", Some(V::DoubleValue(f64::NAN))),
        kv("d.inf", Some(V::DoubleValue(f64::INFINITY))),
        kv("d.-inf", Some(V::DoubleValue(f64::NEG_INFINITY))),
        kv(
            "bytes",
            Some(V::BytesValue(vec![0xde, 0xad, 0xbe, 0xef, 0])),
        ),
        kv(
            "array",
            Some(V::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(V::IntValue(1)),
                    },
                    AnyValue {
                        value: Some(V::StringValue("two".into())),
                    },
                    AnyValue { value: None },
                ],
            })),
        ),
        kv("array.empty", Some(V::ArrayValue(ArrayValue::default()))),
        kv(
            "kvlist",
            Some(V::KvlistValue(KeyValueList {
                values: vec![
                    kv("x", Some(V::BoolValue(true))),
                    kv("y", Some(V::DoubleValue(-1.5))),
                ],
            })),
        ),
        kv("empty", None),
        KeyValue {
            key: "absent".into(),
            value: None,
            ..Default::default()
        },
    ];
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Some(V::StringValue("svc".into())))],
                dropped_attributes_count: 1,
                entity_refs: vec![EntityRef {
                    r#type: "service".into(),
                    id_keys: vec!["service.name".into()],
                    ..Default::default()
                }],
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    version: "1.0".into(),
                    attributes: vec![kv("scope.a", Some(V::IntValue(3)))],
                    dropped_attributes_count: 2,
                }),
                spans: vec![
                    Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0xcd; 8],
                        trace_state: "k=v".into(),
                        parent_span_id: vec![0xce; 8],
                        flags: 0x301,
                        name: "GET /orders".into(),
                        kind: 2,
                        start_time_unix_nano: 1_700_000_000_123_456_789,
                        end_time_unix_nano: u64::MAX,
                        attributes,
                        dropped_attributes_count: 3,
                        events: vec![span::Event {
                            time_unix_nano: 1_700_000_000_200_000_000,
                            name: "exception".into(),
                            attributes: vec![kv("e", Some(V::StringValue("x".into())))],
                            dropped_attributes_count: 4,
                        }],
                        dropped_events_count: 5,
                        links: vec![span::Link {
                            trace_id: vec![1; 16],
                            span_id: vec![2; 8],
                            trace_state: "a=b".into(),
                            attributes: vec![kv("l", Some(V::BoolValue(true)))],
                            dropped_attributes_count: 6,
                            flags: 1,
                        }],
                        dropped_links_count: 7,
                        status: Some(Status {
                            message: "boom".into(),
                            code: 2,
                        }),
                    },
                    Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0xcf; 8],
                        status: Some(Status::default()),
                        ..Default::default()
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.29.0".into(),
        }],
    }
}

/// `request` with NaN doubles replaced (NaN != NaN defeats `==`).
fn comparable(mut request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    fn fix(values: &mut [KeyValue]) {
        for kv in values {
            if let Some(AnyValue {
                value: Some(any_value::Value::DoubleValue(d)),
            }) = &mut kv.value
                && d.is_nan()
            {
                *d = 12345.0;
            }
        }
    }
    for r in &mut request.resource_spans {
        for s in &mut r.scope_spans {
            for span in &mut s.spans {
                fix(&mut span.attributes);
            }
        }
    }
    request
}

#[test]
fn round_trips_every_field_exactly() {
    let request = everything();
    let line = encode_export_request(&request);
    assert!(!line.contains('\n'));
    let back = decode_export_request(line.as_bytes()).expect("decodes");
    // Entity references (in development, not part of the span model) are written but
    // not read back by the decoder.
    let mut expected = request;
    for r in &mut expected.resource_spans {
        if let Some(resource) = &mut r.resource {
            resource.entity_refs.clear();
        }
    }
    assert_eq!(comparable(back), comparable(expected));
    assert!(line.contains(r#""entityRefs":[{"type":"service","idKeys":["service.name"]}]"#));
}

#[test]
fn follows_the_otlp_json_encoding() {
    let line = encode_export_request(&everything());
    let v: Value = serde_json::from_str(&line).expect("JSON");
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], json!("abababababababababababababababab"));
    assert_eq!(span["spanId"], json!("cdcdcdcdcdcdcdcd"));
    assert_eq!(span["parentSpanId"], json!("cececececececece"));
    assert_eq!(span["kind"], json!(2));
    assert_eq!(span["flags"], json!(0x301));
    assert_eq!(span["startTimeUnixNano"], json!("1700000000123456789"));
    assert_eq!(span["endTimeUnixNano"], json!("18446744073709551615"));
    assert_eq!(span["status"], json!({"message": "boom", "code": 2}));
    assert_eq!(
        span["links"][0]["traceId"],
        json!("01010101010101010101010101010101")
    );
    let attr = |key: &str| {
        span["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|kv| kv["key"] == json!(key)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(attr("i")["value"], json!({"intValue": "-9007199254740993"}));
    assert_eq!(attr("i.zero")["value"], json!({"intValue": "0"}));
    assert_eq!(attr("s.empty")["value"], json!({"stringValue": ""}));
    assert_eq!(attr("b")["value"], json!({"boolValue": false}));
    assert_eq!(attr("d.nan")["value"], json!({"doubleValue": "NaN"}));
    assert_eq!(attr("d.-inf")["value"], json!({"doubleValue": "-Infinity"}));
    assert_eq!(attr("bytes")["value"], json!({"bytesValue": "3q2+7wA="}));
    assert_eq!(attr("empty"), json!({"key": "empty", "value": {}}));
    assert_eq!(attr("absent"), json!({"key": "absent"}));
    assert_eq!(attr("array.empty")["value"], json!({"arrayValue": {}}));
    // Defaults are omitted; keys come in the proto's order.
    let second = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][1];
    assert_eq!(
        second,
        &json!({"traceId": "abababababababababababababababab", "spanId": "cfcfcfcfcfcfcfcf",
                "status": {}})
    );
    assert!(line.find("\"traceId\"") < line.find("\"spanId\""));
    assert!(line.find("\"name\":\"GET") < line.find("\"kind\""));
}

#[test]
fn writes_and_reads_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("traces.jsonl");
    let mut writer = JsonlWriter::create(&path).expect("creates");
    writer.write(&everything()).expect("writes");
    writer
        .write(&ExportTraceServiceRequest::default())
        .expect("writes");
    writer.flush().expect("flushes");
    drop(writer);
    // Appending to a file whose last line was cut off starts on a new line.
    let mut text = std::fs::read_to_string(&path).expect("reads");
    text.push_str("\n\n   \n{\"resourceSpans\": [");
    std::fs::write(&path, &text).expect("writes");
    let err = read_jsonl(&path).expect_err("the cut-off line is an error");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}:6: invalid OTLP/JSON", path.display())),
        "{message}"
    );
    let mut writer = JsonlWriter::create(&path).expect("appends");
    writer.write(&everything()).expect("writes");
    writer.flush().expect("flushes");
    let lines: Vec<_> = JsonlReader::open(&path)
        .expect("opens")
        .map(|item| item.map(|(line, _)| line))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0].as_ref().ok(), Some(&1));
    assert_eq!(lines[1].as_ref().ok(), Some(&2));
    assert!(matches!(lines[2], Err(JsonlError::Decode { line: 6, .. })));
    assert_eq!(lines[3].as_ref().ok(), Some(&7));
}

#[test]
fn errors_name_the_file() {
    let err = read_jsonl("/nonexistent/traces.jsonl").expect_err("missing");
    assert!(
        err.to_string()
            .starts_with("cannot open /nonexistent/traces.jsonl"),
        "{err}"
    );
    let err = JsonlWriter::create("/nonexistent/dir/traces.jsonl").expect_err("no dir");
    assert!(
        err.to_string().contains("/nonexistent/dir/traces.jsonl"),
        "{err}"
    );
}

#[test]
fn the_store_reads_the_same_spans() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.jsonl");
    let mut writer = JsonlWriter::create(&path).expect("creates");
    writer.write(&everything()).expect("writes");
    writer.flush().expect("flushes");
    let direct = TraceStore::new();
    direct.ingest(everything());
    let from_file = read_jsonl_store(&path).expect("reads");
    let spans = from_file.spans();
    assert_eq!(spans.len(), 2);
    // NaN attributes become the string "NaN" in the model, so spans compare equal.
    assert_eq!(spans, direct.spans());
    assert_eq!(spans[0].attr("d.nan"), Some(&json!("NaN")));
}
