//! Command line of a sample service and its life cycle: telemetry, NATS, listen, serve, stop.

use std::net::SocketAddr;
use std::time::Duration;

use crate::breaker::BreakerConfig;
use crate::defect::{Defect, Defects, Service};
use crate::http_client::{Upstream, UpstreamConfig};
use crate::propagation::Outbound;

/// The line a service prints on stdout once it accepts requests and its consumers exist.
pub const READY_PREFIX: &str = "PARLEY_SAMPLE_READY";

/// `parley sample SERVICE [OPTIONS]` / `parley-samples SERVICE [OPTIONS]`. A flag given twice
/// takes its last value, so a launcher's defaults can be overridden by later arguments.
#[derive(Clone, Debug, clap::Args)]
#[command(args_override_self = true)]
pub struct SampleArgs {
    /// Which service to run.
    #[arg(value_enum)]
    pub service: Service,
    /// Address to listen on (port 0: any free port, printed on the ready line).
    #[arg(long, env = "PARLEY_SAMPLE_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// NATS server (JetStream enabled).
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// OTLP base URL (e.g. http://127.0.0.1:4318); else OTEL_EXPORTER_OTLP_ENDPOINT; else no
    /// export.
    #[arg(long)]
    pub otlp_endpoint: Option<String>,
    /// Break one thing on purpose (repeatable); see the sample-services README.
    #[arg(long = "defect", value_enum)]
    pub defects: Vec<Defect>,
    #[arg(long, env = "PARLEY_ORDER_URL")]
    pub order_url: Option<String>,
    #[arg(long, env = "PARLEY_PAYMENT_URL")]
    pub payment_url: Option<String>,
    #[arg(long, env = "PARLEY_INVENTORY_URL")]
    pub inventory_url: Option<String>,
    #[arg(long, env = "PARLEY_SHIPPING_URL")]
    pub shipping_url: Option<String>,
    #[arg(long, env = "PARLEY_NOTIFICATION_URL")]
    pub notification_url: Option<String>,
    /// Per-attempt timeout of synchronous calls, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// Attempts of a retryable synchronous call, the first included.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// Consecutive failures that open a circuit.
    #[arg(long, default_value_t = 5)]
    pub breaker_threshold: u32,
    /// How long an open circuit waits before a trial call, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub breaker_cooldown_ms: u64,
    /// Gateway: a client and its bearer token, `CLIENT=TOKEN` (repeatable; default demo=demo-token).
    #[arg(long = "token", value_parser = parse_token)]
    pub tokens: Vec<(String, String)>,
    /// Gateway: requests per second each client may make.
    #[arg(long, default_value_t = 50)]
    pub rate_limit: u32,
    /// Serve Pact's provider-state endpoint (`POST /_parley/provider-states`), so that
    /// contract verification can set up the data an interaction needs.
    #[arg(long)]
    pub provider_states: bool,
    /// Gateway: burst a client may make above the rate.
    #[arg(long, default_value_t = 50)]
    pub rate_burst: u32,
}

fn parse_token(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((client, token)) if !client.is_empty() && !token.is_empty() => {
            Ok((client.to_string(), token.to_string()))
        }
        _ => Err(format!("expected CLIENT=TOKEN, got {s:?}")),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    #[error(transparent)]
    Messaging(#[from] crate::messaging::MessagingError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{service} needs --{flag} (or {env})")]
    MissingUpstream {
        service: Service,
        flag: &'static str,
        env: &'static str,
    },
    #[error("serving failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl SampleArgs {
    pub fn defects(&self) -> Defects {
        Defects::new(self.defects.iter().copied())
    }

    /// What this service puts on outbound requests and messages, after its defects.
    pub fn outbound(&self) -> Outbound {
        let defects = self.defects();
        Outbound {
            trace_context: !defects.has(Defect::DropTraceContext),
            correlation: !defects.has(Defect::DropCorrelationId),
        }
    }

    pub fn upstream_config(&self) -> UpstreamConfig {
        UpstreamConfig {
            timeout: Some(Duration::from_millis(self.timeout_ms)),
            max_attempts: self.max_attempts,
            breaker: BreakerConfig {
                failure_threshold: self.breaker_threshold,
                cooldown: Duration::from_millis(self.breaker_cooldown_ms),
            },
            ..UpstreamConfig::default()
        }
    }

    /// A client for the upstream `peer`, whose URL came from the given flag.
    pub fn upstream(&self, peer: Service) -> Result<Upstream, SampleError> {
        let (url, flag, env) = match peer {
            Service::Order => (&self.order_url, "order-url", "PARLEY_ORDER_URL"),
            Service::Payment => (&self.payment_url, "payment-url", "PARLEY_PAYMENT_URL"),
            Service::Inventory => (&self.inventory_url, "inventory-url", "PARLEY_INVENTORY_URL"),
            Service::Shipping => (&self.shipping_url, "shipping-url", "PARLEY_SHIPPING_URL"),
            Service::Notification => (
                &self.notification_url,
                "notification-url",
                "PARLEY_NOTIFICATION_URL",
            ),
            Service::Gateway => (&None, "gateway-url", "PARLEY_GATEWAY_URL"),
        };
        let url = url.as_deref().ok_or(SampleError::MissingUpstream {
            service: self.service,
            flag,
            env,
        })?;
        Ok(Upstream::new(
            peer.service_name(),
            url,
            self.upstream_config(),
            self.outbound(),
        ))
    }
}

/// Runs one service until SIGTERM or Ctrl-C, then flushes its spans.
pub async fn run(args: SampleArgs) -> Result<(), SampleError> {
    let telemetry = crate::telemetry::init(
        args.service.service_name(),
        args.service.kind(),
        args.otlp_endpoint.as_deref(),
    )?;
    let result = serve(&args).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "stopped");
    }
    telemetry.shutdown();
    result
}

async fn serve(args: &SampleArgs) -> Result<(), SampleError> {
    for defect in args.defects.iter() {
        if defect.services().contains(&args.service) {
            tracing::warn!(defect = %defect, "DEFECT ON: {}", defect.breaks());
        } else {
            tracing::info!(defect = %defect, "defect has no effect on this service");
        }
    }
    let router = crate::services::router(args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| SampleError::Listen {
            addr: args.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SampleError::Listen {
            addr: args.listen,
            source,
        })?;
    tracing::info!(%addr, "{} listening", args.service);
    println!(
        "{READY_PREFIX} service={} addr={addr}",
        args.service.service_name()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(SampleError::Serve)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down");
}
