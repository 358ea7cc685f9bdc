//! Forwarding: a [`SinkBackend`] that sends every request, unchanged, to a real OpenTelemetry
//! Collector, Jaeger or Tempo, over OTLP/HTTP (protobuf or JSON) or OTLP/gRPC.
//!
//! Targets are URLs ([`ForwardTarget`], what `--otlp-forward URL` parses):
//! - `http://host:4318` (or any path): OTLP/HTTP protobuf, `POST {url}/v1/traces` unless the
//!   URL already ends in `/v1/traces`;
//! - `grpc://host:4317`: OTLP/gRPC; so is `http://host:4317` with
//!   [`ForwardProtocol::Grpc`] (the protocol names are those of
//!   `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc`, `http/protobuf`, `http/json`).
//!
//! Failures are classified as the OTLP specification says: HTTP 429, 502, 503, 504 and gRPC
//! `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`, `ABORTED`, `CANCELLED`,
//! `OUT_OF_RANGE`, `DATA_LOSS`, as well as connection errors and timeouts, are transient
//! (retried by the sink, after `Retry-After` or gRPC `RetryInfo` when given); anything else
//! is permanent (the request is dropped, counted and logged). The sink's queue, retries and
//! counters are in `sink.rs`.
//!
//! TLS is not built in: forward over plain `http://`/`grpc://` (for instance to a local
//! collector that relays with TLS).

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};

use super::http::{RpcStatus, TRACES_PATH};
use super::jsonl::encode_export_request;
use super::sink::{DeliveryError, SinkBackend};

/// The default timeout of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an error response body goes into the error message.
const ERROR_BODY_CHARS: usize = 300;

/// Errors configuring a forwarder (all are usage errors: the URL, protocol or a header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error("invalid OTLP forward URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "unknown OTLP protocol {0:?}: use grpc, http/protobuf or http/json (as in OTEL_EXPORTER_OTLP_PROTOCOL)"
    )]
    Protocol(String),
    #[error("invalid OTLP forward header {header:?}: {reason}")]
    Header { header: String, reason: String },
    #[error("cannot build the HTTP client for {url}: {reason}")]
    Client { url: String, reason: String },
}

/// How requests are sent to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardProtocol {
    /// OTLP/HTTP with a protobuf body (the default for `http://` URLs).
    HttpProtobuf,
    /// OTLP/HTTP with an OTLP/JSON body.
    HttpJson,
    /// OTLP/gRPC (the default for `grpc://` URLs).
    Grpc,
}

impl ForwardProtocol {
    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
            Self::Grpc => "grpc",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "OTLP/HTTP protobuf",
            Self::HttpJson => "OTLP/HTTP JSON",
            Self::Grpc => "OTLP/gRPC",
        }
    }
}

impl fmt::Display for ForwardProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForwardProtocol {
    type Err = ForwardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" | "http" | "http/proto" | "protobuf" => Ok(Self::HttpProtobuf),
            "http/json" | "json" => Ok(Self::HttpJson),
            _ => Err(ForwardError::Protocol(s.to_string())),
        }
    }
}

/// Where to forward to: a validated URL and the protocol to use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardTarget {
    /// The URL as given.
    given: String,
    /// `http://authority` plus the path and query as given (`grpc://` rewritten to `http://`).
    base: Uri,
    protocol: ForwardProtocol,
    /// The URL said `grpc://`: only gRPC makes sense.
    grpc_scheme: bool,
}

impl ForwardTarget {
    /// The protocol in use.
    pub fn protocol(&self) -> ForwardProtocol {
        self.protocol
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.given
    }

    /// The same target with an explicit protocol (`--otlp-forward-protocol`); a `grpc://`
    /// URL only takes `grpc`.
    pub fn with_protocol(mut self, protocol: ForwardProtocol) -> Result<Self, ForwardError> {
        if self.grpc_scheme && protocol != ForwardProtocol::Grpc {
            return Err(ForwardError::Url {
                url: self.given,
                reason: format!(
                    "a grpc:// URL is forwarded over OTLP/gRPC, not {protocol}: \
                     use http://HOST:PORT for OTLP/HTTP"
                ),
            });
        }
        self.protocol = protocol;
        Ok(self)
    }

    /// Where requests go: the `POST` URL for OTLP/HTTP (ending in `/v1/traces`), the
    /// `http://host:port` endpoint for OTLP/gRPC.
    pub fn endpoint(&self) -> String {
        let scheme = self.base.scheme_str().unwrap_or("http");
        let authority = self
            .base
            .authority()
            .map(|a| a.as_str())
            .unwrap_or_default();
        match self.protocol {
            ForwardProtocol::Grpc => format!("{scheme}://{authority}"),
            ForwardProtocol::HttpProtobuf | ForwardProtocol::HttpJson => {
                let path = self.base.path();
                let path = if path.ends_with(TRACES_PATH) {
                    path.to_string()
                } else {
                    format!("{}{TRACES_PATH}", path.trim_end_matches('/'))
                };
                let query = self
                    .base
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                format!("{scheme}://{authority}{path}{query}")
            }
        }
    }
}

impl fmt::Display for ForwardTarget {
    /// `http://collector:4318/v1/traces (OTLP/HTTP protobuf)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.protocol {
            ForwardProtocol::Grpc if self.grpc_scheme => self.given.trim_end_matches('/'),
            _ => &self.endpoint(),
        };
        write!(f, "{shown} ({})", self.protocol.describe())
    }
}

impl FromStr for ForwardTarget {
    type Err = ForwardError;

    /// `http://HOST[:PORT][/PATH]` (OTLP/HTTP protobuf unless told otherwise) or
    /// `grpc://HOST[:PORT]` (OTLP/gRPC, port 4317 by default).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let given = s.trim().to_string();
        let invalid = |reason: &str| ForwardError::Url {
            url: given.clone(),
            reason: reason.to_string(),
        };
        let uri: Uri = given
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let grpc_scheme = match scheme.as_deref() {
            Some("http") => false,
            Some("grpc") => true,
            Some("https" | "grpcs") => {
                return Err(invalid(
                    "TLS is not supported: forward over plain http:// or grpc:// \
                     (e.g. to a local OpenTelemetry Collector that relays with TLS)",
                ));
            }
            Some(other) => {
                return Err(invalid(&format!(
                    "unsupported scheme {other}: use http://HOST:4318 (OTLP/HTTP) or \
                     grpc://HOST:4317 (OTLP/gRPC)"
                )));
            }
            None => {
                return Err(invalid(
                    "missing scheme: use http://HOST:4318 (OTLP/HTTP) or grpc://HOST:4317 \
                     (OTLP/gRPC)",
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(invalid("missing host"));
        };
        if authority.host().is_empty() {
            return Err(invalid("missing host"));
        }
        if authority.as_str().contains('@') {
            return Err(invalid(
                "credentials in the URL are not supported: pass them as a header",
            ));
        }
        let path = uri.path_and_query().map(PathAndQuery::as_str).unwrap_or("");
        if grpc_scheme && !matches!(path, "" | "/") {
            return Err(invalid("a grpc:// URL takes no path"));
        }
        let authority = match (authority.port_u16(), grpc_scheme) {
            (None, true) => format!("{authority}:4317"),
            _ => authority.to_string(),
        };
        let base = Uri::builder()
            .scheme("http")
            .authority(authority)
            .path_and_query(if path.is_empty() { "/" } else { path })
            .build()
            .map_err(|e| invalid(&e.to_string()))?;
        Ok(Self {
            given,
            base,
            protocol: if grpc_scheme {
                ForwardProtocol::Grpc
            } else {
                ForwardProtocol::HttpProtobuf
            },
            grpc_scheme,
        })
    }
}

/// A forwarder's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    pub target: ForwardTarget,
    /// Extra headers (gRPC metadata) on every request, e.g. `authorization`.
    pub headers: Vec<(String, String)>,
    /// Bound on one delivery attempt, connecting included.
    pub timeout: Duration,
    /// Compress request bodies with gzip.
    pub gzip: bool,
}

impl ForwardConfig {
    /// `target` with no extra headers, [`DEFAULT_TIMEOUT`] and no compression.
    pub fn new(target: ForwardTarget) -> Self {
        Self {
            target,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            gzip: false,
        }
    }
}

/// Sends requests to a collector: drive it with `Sink::spawn(Forwarder::new(config)?, …)`.
pub struct Forwarder {
    config: ForwardConfig,
    transport: Transport,
}

enum Transport {
    Http {
        client: reqwest::Client,
        url: String,
        headers: HeaderMap,
    },
    Grpc(Box<GrpcTransport>),
}

struct GrpcTransport {
    endpoint: Endpoint,
    /// Connected lazily, on the first delivery (it needs the runtime).
    client: Option<TraceServiceClient<Channel>>,
    metadata: MetadataMap,
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forwarder")
            .field("target", &self.config.target.to_string())
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Validates the headers and builds the client (no connection is made yet).
    pub fn new(config: ForwardConfig) -> Result<Self, ForwardError> {
        let url = config.target.endpoint();
        let transport = match config.target.protocol() {
            ForwardProtocol::HttpProtobuf | ForwardProtocol::HttpJson => {
                let mut headers = HeaderMap::new();
                for (name, value) in &config.headers {
                    let header_err = |reason: String| ForwardError::Header {
                        header: name.clone(),
                        reason,
                    };
                    let name_v = HeaderName::from_bytes(name.trim().as_bytes())
                        .map_err(|e| header_err(e.to_string()))?;
                    let value_v = HeaderValue::from_str(value.trim())
                        .map_err(|e| header_err(e.to_string()))?;
                    headers.append(name_v, value_v);
                }
                let client = reqwest::Client::builder()
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout)
                    .build()
                    .map_err(|e| ForwardError::Client {
                        url: url.clone(),
                        reason: error_chain(&e),
                    })?;
                Transport::Http {
                    client,
                    url,
                    headers,
                }
            }
            ForwardProtocol::Grpc => {
                let mut metadata = MetadataMap::new();
                for (name, value) in &config.headers {
                    let header_err = |reason: String| ForwardError::Header {
                        header: name.clone(),
                        reason,
                    };
                    let key = AsciiMetadataKey::from_str(&name.trim().to_ascii_lowercase())
                        .map_err(|e| header_err(e.to_string()))?;
                    let value = AsciiMetadataValue::try_from(value.trim())
                        .map_err(|e| header_err(e.to_string()))?;
                    metadata.append(key, value);
                }
                let endpoint = Endpoint::from_shared(url.clone())
                    .map_err(|e| ForwardError::Url {
                        url: config.target.as_str().to_string(),
                        reason: error_chain(&e),
                    })?
                    .connect_timeout(config.timeout)
                    .timeout(config.timeout)
                    .tcp_nodelay(true);
                Transport::Grpc(Box::new(GrpcTransport {
                    endpoint,
                    client: None,
                    metadata,
                }))
            }
        };
        Ok(Self { config, transport })
    }

    /// The target.
    pub fn target(&self) -> &ForwardTarget {
        &self.config.target
    }
}

impl SinkBackend for Forwarder {
    fn describe(&self) -> String {
        format!("forward to {}", self.config.target)
    }

    async fn deliver(&mut self, request: &ExportTraceServiceRequest) -> Result<(), DeliveryError> {
        let protocol = self.config.target.protocol();
        let gzip = self.config.gzip;
        match &mut self.transport {
            Transport::Http {
                client,
                url,
                headers,
            } => {
                let (content_type, body) = match protocol {
                    ForwardProtocol::HttpJson => (
                        "application/json",
                        encode_export_request(request).into_bytes(),
                    ),
                    _ => ("application/x-protobuf", request.encode_to_vec()),
                };
                let mut post = client
                    .post(url.as_str())
                    .headers(headers.clone())
                    .header(CONTENT_TYPE, content_type);
                let body = if gzip {
                    post = post.header(CONTENT_ENCODING, "gzip");
                    gzip_bytes(&body)
                } else {
                    body
                };
                let response = post.body(body).send().await.map_err(|e| {
                    DeliveryError::transient(format!("POST {url}: {}", error_chain(&e)))
                })?;
                check_http_response(url, response).await
            }
            Transport::Grpc(grpc) => {
                let GrpcTransport {
                    endpoint,
                    client,
                    metadata,
                } = grpc.as_mut();
                let client = client.get_or_insert_with(|| {
                    let client = TraceServiceClient::new(endpoint.connect_lazy());
                    if gzip {
                        client.send_compressed(CompressionEncoding::Gzip)
                    } else {
                        client
                    }
                });
                let mut call = tonic::Request::new(request.clone());
                *call.metadata_mut() = metadata.clone();
                call.set_timeout(self.config.timeout);
                match client.export(call).await {
                    Ok(_) => Ok(()),
                    Err(status) => Err(classify_grpc(endpoint.uri(), &status)),
                }
            }
        }
    }
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// An error and its sources, `a: b: c` (reqwest's own message alone says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = e.source();
    }
    message
}

async fn check_http_response(url: &str, response: reqwest::Response) -> Result<(), DeliveryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let is_protobuf = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("protobuf"));
    let body = response.bytes().await.unwrap_or_default();
    let detail = if is_protobuf {
        RpcStatus::decode(body.as_ref())
            .map(|s| s.message)
            .unwrap_or_default()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let detail: String = detail.trim().chars().take(ERROR_BODY_CHARS).collect();
    let message = if detail.is_empty() {
        format!("POST {url} answered {status}")
    } else {
        format!("POST {url} answered {status}: {detail}")
    };
    match status.as_u16() {
        429 | 502 | 503 | 504 => Err(DeliveryError::Transient {
            message,
            retry_after,
        }),
        _ => Err(DeliveryError::permanent(message)),
    }
}

/// `google.rpc.RetryInfo`, carried in a gRPC status's details.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

fn classify_grpc(uri: &Uri, status: &tonic::Status) -> DeliveryError {
    use tonic::Code;
    // Transport failures carry the cause as a source whose chain often repeats the message.
    let detail = match std::error::Error::source(status).map(error_chain) {
        Some(chain) if chain.contains(status.message()) => chain,
        Some(chain) => format!("{}: {chain}", status.message()),
        None => status.message().to_string(),
    };
    let mut message = format!("OTLP/gRPC export to {uri}: {:?}", status.code());
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail);
    }
    match status.code() {
        Code::Unavailable
        | Code::ResourceExhausted
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::Cancelled
        | Code::OutOfRange
        | Code::DataLoss => DeliveryError::Transient {
            message,
            retry_after: grpc_retry_delay(status.details()),
        },
        _ => DeliveryError::permanent(message),
    }
}

/// The delay of a `google.rpc.RetryInfo` in a gRPC status's details, if any.
fn grpc_retry_delay(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    let status = RpcStatus::decode(details).ok()?;
    let info = status
        .details
        .iter()
        .find(|any| any.type_url.ends_with("google.rpc.RetryInfo"))?;
    let delay = RetryInfo::decode(info.value.as_slice()).ok()?.retry_delay?;
    let seconds = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos).ok()?;
    Some(Duration::new(seconds, nanos))
}

/// A `Retry-After` value: delay seconds or an HTTP-date (IMF-fixdate, as
/// `Sun, 06 Nov 1994 08:49:37 GMT`), relative to `now`; a date in the past means no delay.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the Unix epoch of an IMF-fixdate.
fn parse_http_date(value: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split_ascii_whitespace();
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let days = u64::try_from(days).ok()?;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(60))
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
