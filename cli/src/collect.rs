//! `parley collect`: the OTLP receiver alone, until SIGINT/SIGTERM.
//!
//! Every export request received over OTLP/gRPC or OTLP/HTTP is appended to `--out FILE` as
//! one line of OTLP/JSON (what `parley run --traces FILE` and lint read back) and/or forwarded
//! to a real collector with `--otlp-forward URL` ([`OtlpForwardArgs`], shared with the verbs
//! that forward too). On a signal it flushes both, says what it wrote, forwarded and lost,
//! and exits 0; 2 for bad arguments or an unwritable file, 3 when a port is taken or the file
//! could not be written to while running.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_harness::otlp::{
    DEFAULT_MAX_REQUEST_BYTES, ForwardConfig, ForwardProtocol, ForwardTarget, Forwarder,
    JsonlWriter, OtlpError, Receiver, ReceiverConfig, Sink, SinkOptions, SinkStats,
};
use tokio::signal::unix::{SignalKind, signal};

use crate::Exit;

/// Spans the receiver's own store keeps (collect writes everything out; the store only
/// validates and counts).
const STORE_SPANS: usize = 10_000;

/// How often lost requests and failing deliveries are reported while running.
const LOSS_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// How long stopping waits for the forward target to take what is still queued.
pub const FORWARD_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Point an OpenTelemetry SDK at it, e.g.
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc
and stop it with Ctrl-C or SIGTERM: it flushes, prints what it wrote, and exits 0.")]
pub struct CollectArgs {
    /// OTLP/gRPC listen address (HOST:PORT, or a port on 127.0.0.1; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317", value_parser = parse_listen_addr)]
    pub grpc: SocketAddr,
    /// OTLP/HTTP listen address (`POST /v1/traces`, protobuf or JSON, gzip or not).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318", value_parser = parse_listen_addr)]
    pub http: SocketAddr,
    /// Append every export request to FILE, one OTLP/JSON line each (created if missing,
    /// with its directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub forward: OtlpForwardArgs,
}

/// `--otlp-forward URL` and its companions: forward every span to a real OpenTelemetry
/// Collector, Jaeger or Tempo. Flatten it into any verb that runs the receiver.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OtlpForwardArgs {
    /// Also forward every span, unchanged, to a real collector, Jaeger or Tempo:
    /// http://HOST:4318 (OTLP/HTTP, POST …/v1/traces) or grpc://HOST:4317 (OTLP/gRPC).
    #[arg(long = "otlp-forward", value_name = "URL")]
    pub url: Option<ForwardTarget>,
    /// Forwarding protocol: grpc, http/protobuf or http/json [default: grpc for grpc://
    /// URLs, http/protobuf for http:// URLs].
    #[arg(
        long = "otlp-forward-protocol",
        value_name = "PROTOCOL",
        requires = "url"
    )]
    pub protocol: Option<ForwardProtocol>,
    /// A header (gRPC metadata) sent with every forwarded request, e.g.
    /// "authorization=Bearer TOKEN"; repeatable.
    #[arg(
        long = "otlp-forward-header",
        value_name = "NAME=VALUE",
        requires = "url",
        value_parser = parse_header
    )]
    pub headers: Vec<(String, String)>,
}

impl OtlpForwardArgs {
    /// The forwarder's configuration, when `--otlp-forward` was given; `Err` is a usage
    /// error to print (exit 2).
    pub fn config(&self) -> Result<Option<ForwardConfig>, String> {
        let Some(url) = self.url.clone() else {
            return Ok(None);
        };
        let target = match self.protocol {
            Some(protocol) => url
                .with_protocol(protocol)
                .map_err(|e| format!("--otlp-forward-protocol: {e}"))?,
            None => url,
        };
        let mut config = ForwardConfig::new(target);
        config.headers = self.headers.clone();
        Ok(Some(config))
    }

    /// The forwarding sink (needs the runtime), when `--otlp-forward` was given: default
    /// queue and retries, and [`FORWARD_FLUSH_TIMEOUT`] to deliver what is queued at the end.
    pub fn sink(&self) -> Result<Option<Sink>, String> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        let forwarder = Forwarder::new(config).map_err(|e| format!("--otlp-forward: {e}"))?;
        let options = SinkOptions {
            flush_timeout: FORWARD_FLUSH_TIMEOUT,
            ..SinkOptions::default()
        };
        Ok(Some(Sink::spawn(forwarder, options)))
    }
}

/// `HOST:PORT` (the first address it resolves to, IPv4 first) or a bare port on 127.0.0.1.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let hint = "expected HOST:PORT, e.g. 127.0.0.1:4317, 0.0.0.0:4317 or localhost:0";
    if !s.contains(':') || s.starts_with(':') {
        return Err(format!("invalid address {s:?}: {hint}"));
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("invalid address {s:?}: {e} ({hint})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?} resolves to no address ({hint})"))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

fn step(message: &str) {
    eprintln!("• {message}");
}

/// Creates FILE's directory and opens FILE for appending.
fn open_out(path: &Path) -> Result<JsonlWriter, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return Err(format!(
            "--out {}: cannot create the directory {}: {e}",
            path.display(),
            dir.display()
        ));
    }
    JsonlWriter::create(path).map_err(|e| format!("--out: {e}"))
}

pub async fn run(args: CollectArgs) -> Exit {
    let forward = match args.forward.config() {
        Ok(forward) => forward,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if args.out.is_none() && forward.is_none() {
        eprintln!(
            "error: nothing to collect into: give --out FILE (OTLP JSON lines) and/or \
             --otlp-forward URL (a real collector)"
        );
        return Exit::BadInput;
    }
    // Handlers first: a signal that arrives once we said we listen must be handled.
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: cannot handle SIGTERM/SIGINT: {e}");
            return Exit::Infrastructure;
        }
    };

    let mut builder = Receiver::builder().config(ReceiverConfig {
        grpc_addr: args.grpc,
        http_addr: args.http,
        max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        max_spans: STORE_SPANS,
    });
    // Sink order: the file first, then the forwarder (the report follows it).
    let out_existed = args.out.as_deref().is_some_and(Path::exists);
    if let Some(path) = &args.out {
        match open_out(path) {
            Ok(writer) => builder = builder.sink(Sink::spawn(writer, SinkOptions::default())),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::BadInput;
            }
        }
    }
    let forward_target = match args.forward.sink() {
        Ok(Some(sink)) => {
            let target = sink.name().trim_start_matches("forward to ").to_string();
            builder = builder.sink(sink);
            Some(target)
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let receiver = match builder.start().await {
        Ok(receiver) => receiver,
        Err(e) => {
            // Leave no empty file behind when nothing could be collected.
            if let Some(path) = args.out.as_deref().filter(|_| !out_existed)
                && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
            {
                let _ = std::fs::remove_file(path);
            }
            return bind_failed(&e);
        }
    };

    step(&format!(
        "listening on grpc {} http {}",
        receiver.grpc_addr(),
        receiver.http_addr()
    ));
    if let Some(path) = &args.out {
        step(&format!("appending OTLP JSON lines to {}", path.display()));
    }
    if let Some(target) = &forward_target {
        step(&format!("forwarding to {target}"));
    }
    step("stop with Ctrl-C or SIGTERM");

    let mut seen: Vec<Seen> = receiver
        .sink_stats()
        .iter()
        .map(|_| Seen::default())
        .collect();
    let mut ticks = tokio::time::interval(LOSS_REPORT_INTERVAL);
    let signal_name = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            _ = ticks.tick() => {
                for (stats, seen) in receiver.sink_stats().iter().zip(seen.iter_mut()) {
                    seen.report(stats);
                }
            }
        }
    };

    match forward_target {
        Some(_) => step(&format!(
            "{signal_name}: flushing (the forward target gets up to {} s)",
            FORWARD_FLUSH_TIMEOUT.as_secs()
        )),
        None => step(&format!("{signal_name}: flushing")),
    }
    let store = receiver.store();
    let report = receiver.close().await;
    let received = store.span_count() as u64 + store.dropped_spans();
    let rejected = store.rejected_spans();
    if rejected > 0 {
        step(&format!(
            "received {} ({rejected} more rejected as invalid)",
            count(received, "span")
        ));
    } else {
        step(&format!("received {}", count(received, "span")));
    }
    let mut exit = Exit::Passed;
    let mut sinks = report.sinks.iter();
    if args.out.is_some()
        && let Some(file) = sinks.next()
    {
        let path = args.out.as_deref().unwrap_or(Path::new("")).display();
        step(&format!(
            "wrote {} ({}) to {path}",
            count(file.delivered_requests, "request"),
            count(file.delivered_spans, "span")
        ));
        if file.lost_requests() > 0 {
            eprintln!("error: {}", loss(file));
            exit = Exit::Infrastructure;
        }
    }
    if let (Some(forward), Some(target)) = (sinks.next(), &forward_target) {
        step(&format!(
            "forwarded {} ({}) to {target}; dropped {} ({})",
            count(forward.delivered_requests, "request"),
            count(forward.delivered_spans, "span"),
            count(forward.lost_requests(), "request"),
            count(forward.lost_spans(), "span")
        ));
        if forward.lost_requests() > 0 {
            eprintln!("warning: {}", loss(forward));
        }
    }
    exit
}

/// What was last reported about one sink while running.
#[derive(Default)]
struct Seen {
    lost: u64,
    retries: u64,
    delivered: u64,
    failing: bool,
}

impl Seen {
    /// Warns about new losses, and once when deliveries start failing (and says when they
    /// work again).
    fn report(&mut self, stats: &SinkStats) {
        let retried = stats.retries > self.retries;
        if stats.lost_requests() > self.lost {
            eprintln!("warning: {}", loss(stats));
        } else if retried && !self.failing {
            eprintln!(
                "warning: {}: delivery failing, retrying: {}",
                stats.name,
                stats.last_error.as_deref().unwrap_or("unknown error")
            );
            self.failing = true;
        } else if self.failing && !retried && stats.delivered_requests > self.delivered {
            step(&format!("{}: delivering again", stats.name));
            self.failing = false;
        }
        self.lost = stats.lost_requests();
        self.retries = stats.retries;
        self.delivered = stats.delivered_requests;
    }
}

/// `1 span`, `2 spans`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `forward to URL: lost 3 requests (6 spans): 2 dropped (queue full), 1 failed; last error: …`
fn loss(stats: &SinkStats) -> String {
    let mut message = format!(
        "{}: lost {} ({})",
        stats.name,
        count(stats.lost_requests(), "request"),
        count(stats.lost_spans(), "span")
    );
    if stats.dropped_requests > 0 {
        message.push_str(&format!(
            "; {} dropped (queue full)",
            stats.dropped_requests
        ));
    }
    if stats.failed_requests > 0 {
        message.push_str(&format!("; {} not delivered", stats.failed_requests));
    }
    if let Some(error) = &stats.last_error {
        message.push_str("; last error: ");
        message.push_str(error);
    }
    message
}

/// A port in use is infrastructure (3, naming the address); an address that cannot be
/// bound at all is bad input (2).
fn bind_failed(error: &OtlpError) -> Exit {
    match error {
        OtlpError::Bind { source, addr, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "error: {error} (another collector on {addr}? pick another port with --grpc/--http, \
                 0 for any free one)"
            );
            Exit::Infrastructure
        }
        OtlpError::Bind { .. } => {
            eprintln!("error: {error}");
            Exit::BadInput
        }
        _ => {
            eprintln!("error: {error}");
            Exit::Infrastructure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen_addr("127.0.0.1:4317"),
            Ok("127.0.0.1:4317".parse().expect("addr"))
        );
        assert_eq!(
            parse_listen_addr("0"),
            Ok("127.0.0.1:0".parse().expect("addr"))
        );
        assert_eq!(
            parse_listen_addr("[::1]:9"),
            Ok("[::1]:9".parse().expect("addr"))
        );
        assert_eq!(
            parse_listen_addr("localhost:4318").map(|a| a.port()),
            Ok(4318)
        );
        for bad in ["", "nonsense", ":4317", "127.0.0.1:99999", "127.0.0.1"] {
            let err = parse_listen_addr(bad).expect_err(bad);
            assert!(err.contains("HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("authorization=Bearer a=b"),
            Ok(("authorization".into(), "Bearer a=b".into()))
        );
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("=x").is_err());
    }

    #[test]
    fn forward_args() {
        let args = OtlpForwardArgs {
            url: Some("grpc://x:4317".parse().expect("url")),
            protocol: Some(ForwardProtocol::HttpProtobuf),
            headers: Vec::new(),
        };
        assert!(args.config().expect_err("conflict").contains("grpc://"));
        let args = OtlpForwardArgs {
            url: Some("http://x:4317".parse().expect("url")),
            protocol: Some(ForwardProtocol::Grpc),
            headers: vec![("a".into(), "b".into())],
        };
        let config = args.config().expect("valid").expect("some");
        assert_eq!(config.target.protocol(), ForwardProtocol::Grpc);
        assert_eq!(config.headers.len(), 1);
        assert_eq!(OtlpForwardArgs::default().config(), Ok(None));
    }
}
