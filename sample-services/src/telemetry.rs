//! Tracing for a sample service: `tracing` + `tracing-opentelemetry` + `opentelemetry-otlp`.
//!
//! Honours the standard `OTEL_*` variables: `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` (`grpc`, `http/protobuf`, `http/json`; default
//! `http/protobuf`), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`,
//! `OTEL_BSP_SCHEDULE_DELAY`, … When no endpoint is configured at all, spans are not exported and
//! the service only logs.

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes every pending span.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("unsupported OTLP protocol {0:?} (expected grpc, http/protobuf or http/json)")]
    Protocol(String),
    #[error("could not install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// The resource attribute naming a service's role (`gateway`, `service`).
pub const SERVICE_KIND: &str = "parley.service.kind";

/// The filter on the OpenTelemetry layer: without it the exporter would trace itself.
const OTEL_FILTER: &str = "info,h2=off,hyper=off,hyper_util=off,tonic=off,tower=off,reqwest=off,async_nats=off,opentelemetry=off,opentelemetry_sdk=off";

/// Installs the global subscriber and propagator. `endpoint` (from `--otlp-endpoint`) wins over
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; it is the base URL (`http://host:4318` or `http://host:4317`).
/// `kind` is the service's role, exported as the resource attribute `parley.service.kind`
/// (`gateway` or `service`), which parley's observed service graph reads.
pub fn init(
    default_service_name: &str,
    kind: &'static str,
    endpoint: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));

    let configured = endpoint.is_some()
        || env_set("OTEL_EXPORTER_OTLP_ENDPOINT")
        || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let provider = if configured {
        Some(build_provider(default_service_name, kind, endpoint)?)
    } else {
        None
    };

    let log_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(log_filter);
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("parley-samples"))
            .with_filter(EnvFilter::new(OTEL_FILTER))
    });
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()?;
    if !configured {
        tracing::info!(
            "no OTLP endpoint configured (--otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT): spans are not exported"
        );
    }
    Ok(Telemetry { provider })
}

fn build_provider(
    default_service_name: &str,
    kind: &'static str,
    endpoint: Option<&str>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|_| "http/protobuf".to_string());
    let endpoint = endpoint.map(|e| e.trim_end_matches('/'));
    let exporter = match protocol.to_ascii_lowercase().as_str() {
        "grpc" => {
            let builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
            match endpoint {
                Some(e) => builder.with_endpoint(e).build()?,
                None => builder.build()?,
            }
        }
        p @ ("http/protobuf" | "http/json") => {
            let protocol = if p == "http/json" {
                Protocol::HttpJson
            } else {
                Protocol::HttpBinary
            };
            let builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(protocol);
            match endpoint {
                Some(e) => builder.with_endpoint(format!("{e}/v1/traces")).build()?,
                None => builder.build()?,
            }
        }
        _ => return Err(TelemetryError::Protocol(protocol)),
    };
    let mut resource =
        Resource::builder().with_attribute(opentelemetry::KeyValue::new(SERVICE_KIND, kind));
    if !env_set("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name(default_service_name.to_string());
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

impl Telemetry {
    /// Flushes and stops the exporter. Call once, at the very end.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.force_flush() {
                eprintln!("flushing spans failed: {e}");
            }
            if let Err(e) = provider.shutdown() {
                eprintln!("stopping the span exporter failed: {e}");
            }
        }
    }
}
