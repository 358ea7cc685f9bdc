//! OTLP JSON lines: one `ExportTraceServiceRequest` per line, encoded as OTLP/JSON.
//!
//! This is the format of the OpenTelemetry Collector's `file` exporter and of
//! `parley collect --out`, and what `parley run --traces FILE` and lint read back.
//!
//! The encoding follows <https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>:
//! lowerCamelCase keys in the proto's field order; trace and span ids as lowercase hex;
//! enums (`kind`, `status.code`) as integers; 64-bit integers (`startTimeUnixNano`,
//! `intValue`, …) as decimal strings; `bytesValue` as base64; non-finite doubles as `"NaN"`,
//! `"Infinity"`, `"-Infinity"`; fields at their default value are omitted, except the chosen
//! member of an `AnyValue` (`{"stringValue": ""}` stays a string, and an empty `AnyValue` is
//! `{}`). Lines are read back with the tolerant decoder of `json.rs`, so the round trip is
//! exact for every span (ids, names, kinds, times, attributes of every type, events, links,
//! status, resource and scope).
//!
//! Why not opentelemetry-proto's `with-serde` `Serialize`? Checked against 0.33.1, it gets
//! most of the spec right: lowerCamelCase keys in proto order, hex ids, integer enums, times
//! and `intValue` as strings, base64 `bytesValue`. But a NaN or infinite `doubleValue` comes
//! out as `"doubleValue": null` (serde_json's rendering of a non-finite `f64`), which every
//! reader, its own `Deserialize` included, takes as "no value": the attribute is silently
//! lost. It also writes every default (`"traceState": ""`, `"parentSpanId": ""` on roots,
//! `"flags": 0`, `"droppedAttributesCount": 0`, `"entityRefs": []`, …) and `null` for absent
//! messages (`"status": null`, `"value": null`): valid under the protobuf JSON mapping, but
//! about twice the size and not what other OTLP/JSON writers produce.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, EntityRef, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::json::{JsonDecodeError, decode_export_request};
use super::sink::{DeliveryError, SinkBackend};
use super::store::TraceStore;

/// Errors writing or reading an OTLP JSON lines file; each names the file (and the line).
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        line: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {source}", path.display())]
    Decode {
        path: PathBuf,
        line: usize,
        #[source]
        source: JsonDecodeError,
    },
}

/// Encodes `request` as one line of OTLP/JSON (without the newline).
pub fn encode_export_request(request: &ExportTraceServiceRequest) -> String {
    // Serializing these wrappers into a String cannot fail: every map key is a string and
    // every float is finite or written as a string.
    serde_json::to_string(&Request(request)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Writing

/// Appends requests to an OTLP JSON lines file, one line each. As a [`SinkBackend`] it is
/// what `Sink::spawn(JsonlWriter::create(path)?, …)` drives.
#[derive(Debug)]
pub struct JsonlWriter {
    path: PathBuf,
    out: BufWriter<File>,
    line: Vec<u8>,
    /// A write failed: the file may end in a partial line, so start the next on a new one.
    broken: bool,
}

impl JsonlWriter {
    /// Opens `path` for appending (created if missing; its directory must exist). A file that
    /// does not end in a newline (a writer died mid-line) gets one first, so that the next
    /// line stands on its own.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, JsonlError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| JsonlError::Open {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(open_err)?;
        let len = file.metadata().map_err(open_err)?.len();
        let mut broken = false;
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(open_err)?;
            file.read_exact(&mut last).map_err(open_err)?;
            broken = last[0] != b'\n';
        }
        Ok(Self {
            path,
            out: BufWriter::with_capacity(64 * 1024, file),
            line: Vec::with_capacity(4096),
            broken,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one request as one line (buffered: see [`JsonlWriter::flush`]).
    pub fn write(&mut self, request: &ExportTraceServiceRequest) -> Result<(), JsonlError> {
        self.line.clear();
        if self.broken {
            self.line.push(b'\n');
        }
        // Writing into a Vec cannot fail (see encode_export_request).
        let _ = serde_json::to_writer(&mut self.line, &Request(request));
        self.line.push(b'\n');
        match self.out.write_all(&self.line) {
            Ok(()) => {
                self.broken = false;
                Ok(())
            }
            Err(source) => {
                self.broken = true;
                Err(self.write_error(source))
            }
        }
    }

    /// Writes the buffered lines to the file.
    pub fn flush(&mut self) -> Result<(), JsonlError> {
        self.out.flush().map_err(|source| {
            self.broken = true;
            self.write_error(source)
        })
    }

    fn write_error(&self, source: std::io::Error) -> JsonlError {
        JsonlError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

impl SinkBackend for JsonlWriter {
    fn describe(&self) -> String {
        format!("OTLP JSON lines to {}", self.path.display())
    }

    async fn deliver(&mut self, request: &ExportTraceServiceRequest) -> Result<(), DeliveryError> {
        self.write(request)
            .map_err(|e| DeliveryError::permanent(e.to_string()))
    }

    async fn flush(&mut self) -> Result<(), DeliveryError> {
        JsonlWriter::flush(self).map_err(|e| DeliveryError::permanent(e.to_string()))
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// Reads an OTLP JSON lines file request by request (blank lines are skipped).
pub struct JsonlReader<R = File> {
    path: PathBuf,
    input: BufReader<R>,
    line: usize,
    buf: Vec<u8>,
}

impl JsonlReader<File> {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JsonlError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| JsonlError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Self::new(path, file))
    }
}

impl<R: Read> JsonlReader<R> {
    /// Reads from `input`, naming it `path` in errors.
    pub fn new(path: impl Into<PathBuf>, input: R) -> Self {
        Self {
            path: path.into(),
            input: BufReader::new(input),
            line: 0,
            buf: Vec::new(),
        }
    }
}

impl<R: Read> Iterator for JsonlReader<R> {
    /// The 1-based line number and the request on it.
    type Item = Result<(usize, ExportTraceServiceRequest), JsonlError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(JsonlError::Read {
                        path: self.path.clone(),
                        line: self.line,
                        source,
                    }));
                }
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(
                decode_export_request(&self.buf)
                    .map(|request| (self.line, request))
                    .map_err(|source| JsonlError::Decode {
                        path: self.path.clone(),
                        line: self.line,
                        source,
                    }),
            );
        }
    }
}

/// Every request of an OTLP JSON lines file, in file order.
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<ExportTraceServiceRequest>, JsonlError> {
    JsonlReader::open(path)?
        .map(|item| item.map(|(_, request)| request))
        .collect()
}

/// A store holding every span of an OTLP JSON lines file (invalid spans are rejected and
/// counted, as the receiver does).
pub fn read_jsonl_store(path: impl AsRef<Path>) -> Result<TraceStore, JsonlError> {
    let store = TraceStore::new();
    for item in JsonlReader::open(path)? {
        store.ingest(item?.1);
    }
    Ok(store)
}

// ---------------------------------------------------------------------------------------
// The OTLP/JSON encoding, field by field in proto order, defaults omitted.

struct Request<'a>(&'a ExportTraceServiceRequest);
struct ResourceSpansJ<'a>(&'a ResourceSpans);
struct ResourceJ<'a>(&'a Resource);
struct EntityRefJ<'a>(&'a EntityRef);
struct ScopeSpansJ<'a>(&'a ScopeSpans);
struct ScopeJ<'a>(&'a InstrumentationScope);
struct SpanJ<'a>(&'a Span);
struct EventJ<'a>(&'a span::Event);
struct LinkJ<'a>(&'a span::Link);
struct StatusJ<'a>(&'a Status);
struct KeyValueJ<'a>(&'a KeyValue);
struct AnyValueJ<'a>(&'a AnyValue);
/// A repeated field: `Seq(&items, Wrapper)`.
struct Seq<'a, T, W>(&'a [T], fn(&'a T) -> W);
/// A 64-bit integer as a decimal string.
struct Decimal<T>(T);
/// Bytes as lowercase hex (trace and span ids).
struct Hex<'a>(&'a [u8]);
/// A double, with the non-finite values as strings.
struct Double(f64);

impl<'a, T, W: Serialize> Serialize for Seq<'a, T, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(self.1))
    }
}

impl<T: std::fmt::Display> Serialize for Decimal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        if d.is_finite() {
            serializer.serialize_f64(d)
        } else if d.is_nan() {
            serializer.serialize_str("NaN")
        } else if d > 0.0 {
            serializer.serialize_str("Infinity")
        } else {
            serializer.serialize_str("-Infinity")
        }
    }
}

/// Builds one JSON object, writing each field only when it is not at its default.
struct Fields<M>(M);

impl<M: SerializeMap> Fields<M> {
    fn field<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), M::Error> {
        self.0.serialize_entry(key, value)
    }

    fn string(&mut self, key: &str, value: &str) -> Result<(), M::Error> {
        if value.is_empty() {
            return Ok(());
        }
        self.field(key, value)
    }

    fn number<N: Serialize + Default + PartialEq>(
        &mut self,
        key: &str,
        value: N,
    ) -> Result<(), M::Error> {
        if value == N::default() {
            return Ok(());
        }
        self.field(key, &value)
    }

    fn decimal(&mut self, key: &str, value: u64) -> Result<(), M::Error> {
        if value == 0 {
            return Ok(());
        }
        self.field(key, &Decimal(value))
    }

    fn hex(&mut self, key: &str, value: &[u8]) -> Result<(), M::Error> {
        if value.is_empty() {
            return Ok(());
        }
        self.field(key, &Hex(value))
    }

    fn list<'a, T, W: Serialize>(
        &mut self,
        key: &str,
        items: &'a [T],
        wrap: fn(&'a T) -> W,
    ) -> Result<(), M::Error> {
        if items.is_empty() {
            return Ok(());
        }
        self.field(key, &Seq(items, wrap))
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

fn object<S: Serializer>(serializer: S) -> Result<Fields<S::SerializeMap>, S::Error> {
    serializer.serialize_map(None).map(Fields)
}

impl Serialize for Request<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut o = object(serializer)?;
        o.list("resourceSpans", &self.0.resource_spans, ResourceSpansJ)?;
        o.end()
    }
}

impl Serialize for ResourceSpansJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut o = object(serializer)?;
        if let Some(resource) = &r.resource {
            o.field("resource", &ResourceJ(resource))?;
        }
        o.list("scopeSpans", &r.scope_spans, ScopeSpansJ)?;
        o.string("schemaUrl", &r.schema_url)?;
        o.end()
    }
}

impl Serialize for ResourceJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut o = object(serializer)?;
        o.list("attributes", &r.attributes, KeyValueJ)?;
        o.number("droppedAttributesCount", r.dropped_attributes_count)?;
        o.list("entityRefs", &r.entity_refs, EntityRefJ)?;
        o.end()
    }
}

impl Serialize for EntityRefJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut o = object(serializer)?;
        o.string("schemaUrl", &e.schema_url)?;
        o.string("type", &e.r#type)?;
        o.list("idKeys", &e.id_keys, String::as_str)?;
        o.list("descriptionKeys", &e.description_keys, String::as_str)?;
        o.end()
    }
}

impl Serialize for ScopeSpansJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut o = object(serializer)?;
        if let Some(scope) = &s.scope {
            o.field("scope", &ScopeJ(scope))?;
        }
        o.list("spans", &s.spans, SpanJ)?;
        o.string("schemaUrl", &s.schema_url)?;
        o.end()
    }
}

impl Serialize for ScopeJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut o = object(serializer)?;
        o.string("name", &s.name)?;
        o.string("version", &s.version)?;
        o.list("attributes", &s.attributes, KeyValueJ)?;
        o.number("droppedAttributesCount", s.dropped_attributes_count)?;
        o.end()
    }
}

impl Serialize for SpanJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut o = object(serializer)?;
        o.hex("traceId", &s.trace_id)?;
        o.hex("spanId", &s.span_id)?;
        o.string("traceState", &s.trace_state)?;
        o.hex("parentSpanId", &s.parent_span_id)?;
        o.number("flags", s.flags)?;
        o.string("name", &s.name)?;
        o.number("kind", s.kind)?;
        o.decimal("startTimeUnixNano", s.start_time_unix_nano)?;
        o.decimal("endTimeUnixNano", s.end_time_unix_nano)?;
        o.list("attributes", &s.attributes, KeyValueJ)?;
        o.number("droppedAttributesCount", s.dropped_attributes_count)?;
        o.list("events", &s.events, EventJ)?;
        o.number("droppedEventsCount", s.dropped_events_count)?;
        o.list("links", &s.links, LinkJ)?;
        o.number("droppedLinksCount", s.dropped_links_count)?;
        if let Some(status) = &s.status {
            o.field("status", &StatusJ(status))?;
        }
        o.end()
    }
}

impl Serialize for EventJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut o = object(serializer)?;
        o.decimal("timeUnixNano", e.time_unix_nano)?;
        o.string("name", &e.name)?;
        o.list("attributes", &e.attributes, KeyValueJ)?;
        o.number("droppedAttributesCount", e.dropped_attributes_count)?;
        o.end()
    }
}

impl Serialize for LinkJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let l = self.0;
        let mut o = object(serializer)?;
        o.hex("traceId", &l.trace_id)?;
        o.hex("spanId", &l.span_id)?;
        o.string("traceState", &l.trace_state)?;
        o.list("attributes", &l.attributes, KeyValueJ)?;
        o.number("droppedAttributesCount", l.dropped_attributes_count)?;
        o.number("flags", l.flags)?;
        o.end()
    }
}

impl Serialize for StatusJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut o = object(serializer)?;
        o.string("message", &s.message)?;
        o.number("code", s.code)?;
        o.end()
    }
}

impl Serialize for KeyValueJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kv = self.0;
        let mut o = object(serializer)?;
        // The key is required: written even when empty.
        o.field("key", &kv.key)?;
        if let Some(value) = &kv.value {
            o.field("value", &AnyValueJ(value))?;
        }
        o.end()
    }
}

impl Serialize for AnyValueJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use any_value::Value as V;
        let mut o = object(serializer)?;
        // The member of a oneof is written even at its default value.
        match &self.0.value {
            Some(V::StringValue(s)) => o.field("stringValue", s)?,
            Some(V::BoolValue(b)) => o.field("boolValue", b)?,
            Some(V::IntValue(i)) => o.field("intValue", &Decimal(i))?,
            Some(V::DoubleValue(d)) => o.field("doubleValue", &Double(*d))?,
            Some(V::ArrayValue(array)) => {
                o.field("arrayValue", &ArrayJ(&array.values))?;
            }
            Some(V::KvlistValue(list)) => {
                o.field("kvlistValue", &KvListJ(&list.values))?;
            }
            Some(V::BytesValue(bytes)) => o.field(
                "bytesValue",
                &base64::engine::general_purpose::STANDARD.encode(bytes),
            )?,
            // Profiles-only string table reference: meaningless in traces, written as empty.
            Some(V::StringValueStrindex(_)) | None => {}
        }
        o.end()
    }
}

struct ArrayJ<'a>(&'a [AnyValue]);
struct KvListJ<'a>(&'a [KeyValue]);

impl Serialize for ArrayJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut o = object(serializer)?;
        o.list("values", self.0, AnyValueJ)?;
        o.end()
    }
}

impl Serialize for KvListJ<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut o = object(serializer)?;
        o.list("values", self.0, KeyValueJ)?;
        o.end()
    }
}

#[cfg(test)]
#[path = "jsonl_tests.rs"]
mod tests;
