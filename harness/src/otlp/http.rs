//! OTLP/HTTP: `POST /v1/traces` with a protobuf or JSON body, optionally gzip-compressed.
//!
//! Responses follow the OTLP/HTTP specification: 200 with an `ExportTraceServiceResponse` in
//! the request's encoding (with `partial_success` when spans were rejected); 400 with a
//! `google.rpc.Status` in the request's encoding for an undecodable body; 413 when the body
//! (compressed or decompressed) exceeds the limit; 415 for an unsupported content type or
//! encoding; 404 for other paths; 405 for other methods.

use std::io::Read;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::json;

use super::grpc::export_response;
use super::json::decode_export_request;
use super::sink::Dispatcher;
use super::store::{IngestSummary, TraceStore};

/// The OTLP/HTTP path for traces.
pub const TRACES_PATH: &str = "/v1/traces";

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// gRPC status codes used in `google.rpc.Status` bodies.
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`, as carried in [`RpcStatus::details`].
#[derive(Clone, PartialEq, Message)]
pub struct ProtoAny {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

#[derive(Clone)]
struct HttpState {
    store: TraceStore,
    sinks: Dispatcher,
    max_request_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => PROTOBUF,
            Self::Json => JSON,
        }
    }
}

/// The router serving `POST /v1/traces`.
pub(crate) fn router(store: TraceStore, sinks: Dispatcher, max_request_bytes: usize) -> Router {
    Router::new()
        .route(TRACES_PATH, post(export_traces))
        .fallback(not_found)
        .with_state(HttpState {
            store,
            sinks,
            max_request_bytes,
        })
}

async fn not_found() -> Response {
    plain(
        StatusCode::NOT_FOUND,
        format!("not found: OTLP/HTTP traces go to POST {TRACES_PATH}"),
    )
}

async fn export_traces(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let Some(encoding) = request_encoding(&headers) else {
        let got = header_str(&headers, CONTENT_TYPE.as_str()).unwrap_or("none");
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content type {got:?}: use {PROTOBUF} or {JSON}"),
        );
    };
    let gzip = match header_str(&headers, CONTENT_ENCODING.as_str()).map(str::trim) {
        None | Some("") => false,
        Some(coding) if coding.eq_ignore_ascii_case("identity") => false,
        Some(coding) if coding.eq_ignore_ascii_case("gzip") => true,
        Some(coding) if coding.eq_ignore_ascii_case("x-gzip") => true,
        Some(coding) => {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content encoding {coding:?}: use gzip or none"),
            );
        }
    };
    let limit = state.max_request_bytes;
    let too_large = |what: &str| {
        status_response(
            encoding,
            StatusCode::PAYLOAD_TOO_LARGE,
            RESOURCE_EXHAUSTED,
            format!("{what} exceeds the limit of {limit} bytes"),
        )
    };
    let declared =
        header_str(&headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return too_large("request body");
    }
    let raw = match read_limited(body, limit).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return too_large("request body"),
        Err(e) => return bad_request(encoding, format!("could not read the request body: {e}")),
    };
    let payload = if gzip {
        match gunzip(&raw, limit) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return too_large("decompressed request body"),
            Err(e) => return bad_request(encoding, format!("invalid gzip body: {e}")),
        }
    } else {
        raw
    };
    let request = match decode(encoding, &payload) {
        Ok(request) => request,
        Err(message) => return bad_request(encoding, message),
    };
    state.sinks.dispatch(&request);
    let summary = state.store.ingest(request);
    if summary.rejected > 0 {
        tracing::debug!(
            rejected = summary.rejected,
            reason = %summary.error_message,
            "OTLP/HTTP export partially rejected"
        );
    }
    success(encoding, &summary)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The body encoding from `Content-Type` (parameters such as `charset` are ignored).
fn request_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let value = header_str(headers, CONTENT_TYPE.as_str())?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(PROTOBUF)
        || essence.eq_ignore_ascii_case("application/protobuf")
    {
        Some(Encoding::Protobuf)
    } else if essence.eq_ignore_ascii_case(JSON) {
        Some(Encoding::Json)
    } else {
        None
    }
}

/// Reads the whole body; `Ok(None)` as soon as it exceeds `limit` bytes.
async fn read_limited(body: Body, limit: usize) -> Result<Option<Vec<u8>>, axum::Error> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf))
}

/// Decompresses gzip (possibly several members); `Ok(None)` when the output would exceed
/// `limit` bytes, so a gzip bomb is cut off after `limit + 1` bytes.
fn gunzip(data: &[u8], limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    if data.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)?;
    Ok((out.len() <= limit).then_some(out))
}

fn decode(encoding: Encoding, payload: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(payload)
            .map_err(|e| format!("invalid OTLP protobuf: {e}")),
        Encoding::Json => decode_export_request(payload).map_err(|e| e.to_string()),
    }
}

fn success(encoding: Encoding, summary: &IngestSummary) -> Response {
    let body = match encoding {
        Encoding::Protobuf => export_response(summary).encode_to_vec(),
        Encoding::Json => {
            // rejectedSpans as a JSON number: OTLP receivers must accept both forms, and the
            // Rust SDK's exporter parses responses with a serde derive that wants a number.
            let value = if summary.rejected > 0 {
                json!({"partialSuccess": {
                    "rejectedSpans": summary.rejected,
                    "errorMessage": summary.error_message,
                }})
            } else {
                json!({})
            };
            value.to_string().into_bytes()
        }
    };
    with_type(StatusCode::OK, encoding.content_type(), body)
}

fn bad_request(encoding: Encoding, message: String) -> Response {
    status_response(encoding, StatusCode::BAD_REQUEST, INVALID_ARGUMENT, message)
}

/// An error response carrying a `google.rpc.Status` in the request's encoding.
fn status_response(encoding: Encoding, http: StatusCode, code: i32, message: String) -> Response {
    let body = match encoding {
        Encoding::Protobuf => RpcStatus {
            code,
            message,
            details: Vec::new(),
        }
        .encode_to_vec(),
        Encoding::Json => json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    };
    with_type(http, encoding.content_type(), body)
}

fn plain(status: StatusCode, message: String) -> Response {
    with_type(status, "text/plain; charset=utf-8", message.into_bytes())
}

fn with_type(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).expect("write");
        encoder.finish().expect("finish")
    }

    #[test]
    fn gunzip_limits_output() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert_eq!(gunzip(&bomb, 1000).expect("valid gzip"), None);
        assert_eq!(
            gunzip(&bomb, 1 << 20).expect("valid gzip").map(|v| v.len()),
            Some(1 << 20)
        );
        assert!(gunzip(b"not gzip", 1000).is_err());
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(
            gunzip(&two, 10).expect("valid gzip").as_deref(),
            Some(&b"abcd"[..])
        );
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        let mut check = |value: &'static str| {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            request_encoding(&headers)
        };
        assert_eq!(check("application/x-protobuf"), Some(Encoding::Protobuf));
        assert_eq!(
            check("Application/JSON; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(check("text/plain"), None);
        assert_eq!(request_encoding(&HeaderMap::new()), None);
    }
}
