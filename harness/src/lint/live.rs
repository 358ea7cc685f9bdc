//! Linting with a live system: the descriptions, plus the broker's view of the consumers
//! ([`super::broker`]) and the active probes ([`super::probe`]), in one [`LintReport`].

use std::path::PathBuf;

use super::probe::{self, ProbeOptions, ProbeOutcome, ProbeTargets};
use super::{
    Config, ErrorKind, ExternalFinding, GraphSize, InputInfo, LintError, LintReport, Registry,
    ServiceGraph, broker, inputs, lint_with_findings,
};

/// What to ask the live system.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Read the durable consumers of this NATS server (the broker's view).
    pub nats_url: Option<String>,
    /// Run the probes the descriptions declare (needs `nats_url`, and a URL per service whose
    /// state a probe reads).
    pub probe: bool,
    pub services: std::collections::BTreeMap<String, String>,
    pub probe_options: ProbeOptions,
}

/// A lint run with a live system: the report, and every probe's outcome (passed and
/// inconclusive ones included, for the binary to show).
#[derive(Debug)]
pub struct LiveReport {
    pub report: LintReport,
    pub probes: Vec<ProbeOutcome>,
    /// The consumers seen on the server (0 without `nats_url`).
    pub broker_consumers: usize,
}

/// Loads the inputs (none is fine with a NATS URL: the broker's view alone), then
/// [`lint_graph_live`].
pub async fn lint_live(
    paths: &[PathBuf],
    config: &Config,
    live: &Live,
) -> Result<LiveReport, LintError> {
    if paths.is_empty() {
        return lint_graph_live(None, Vec::new(), config, live).await;
    }
    let loaded = inputs::load(paths, &Registry::standard())?;
    lint_graph_live(Some(&loaded.graph), loaded.inputs, config, live).await
}

/// Reads the broker's consumers (with `live.nats_url`), runs the probes `graph` declares (with
/// `live.probe`), and lints the graph with their findings under `config`: what `parley demo`
/// calls with the built-in description (`arch_yaml::parse`, then `ServiceGraph::validate`).
/// Unreachable NATS or services are [`ErrorKind::Unreachable`]; a probe whose service has no
/// URL in `live.services`, [`ErrorKind::Config`].
pub async fn lint_graph_live(
    graph: Option<&ServiceGraph>,
    inputs: Vec<InputInfo>,
    config: &Config,
    live: &Live,
) -> Result<LiveReport, LintError> {
    let started = std::time::Instant::now();
    if graph.is_none() && live.nats_url.is_none() {
        return Err(LintError::new(
            ErrorKind::Config,
            "nothing to lint: give architecture descriptions, or a NATS server (--nats-url)",
        ));
    }
    let mut extra: Vec<ExternalFinding> = Vec::new();
    let mut seen = None;
    if let Some(url) = &live.nats_url {
        let (found_graph, found) = broker::lint_jetstream(url, graph).await?;
        extra.extend(found);
        seen = Some(found_graph);
    }
    let mut probes = Vec::new();
    if live.probe {
        let (Some(url), Some(graph)) = (&live.nats_url, graph) else {
            return Err(LintError::new(
                ErrorKind::Config,
                "probes need a NATS server (--nats-url) and the architecture description that declares them",
            ));
        };
        let targets = ProbeTargets {
            nats_url: url.clone(),
            services: live.services.clone(),
        };
        probes = probe::run(graph, &targets, &live.probe_options).await?;
        extra.extend(probe::findings(&probes));
    }
    let broker_consumers = seen.as_ref().map_or(0, |g| g.consumers.len());
    let mut report = match graph {
        Some(g) => lint_with_findings(g, config, inputs, extra),
        None => {
            let mut r = lint_with_findings(&ServiceGraph::default(), config, inputs, extra);
            r.graph = seen.as_ref().map(GraphSize::of).unwrap_or_default();
            r
        }
    };
    report.duration = started.elapsed();
    Ok(LiveReport {
        report,
        probes,
        broker_consumers,
    })
}
